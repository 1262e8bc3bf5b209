/*
 * check_alloc.c - allocation failures. The suites' counting allocator
 * (tt_alloc.c) fails the n-th allocation (or every one from the n-th on)
 * of a short sequence of public calls, for n = 1, 2, ... until a run
 * completes without a failure. Every call must return its
 * normal result or TC_ENOMEM, nothing may crash, and no allocation may be
 * outstanding once the handle is closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/internal.h"
#include "suites.h"

static void restore_allocator(void)
{
    tt_alloc_restore();
}

/* ---- the sequence ------------------------------------------------------ */

#define NITEMS 4
#define MAX_RUNS TT_ALLOC_MAX_RUNS

static int loader_failed; /* the loader's own tc_malloc failed */

static int alloc_loader(void **val, size_t *len, int64_t *ttl_ms,
                        const char *ns, const void *key, size_t keylen,
                        void *ud)
{
    void *p;

    (void)ttl_ms;
    (void)ns;
    (void)key;
    (void)keylen;
    (void)ud;
    p = tc_malloc(12);
    if (!p) {
        loader_failed = 1;
        return TC_ENOMEM;
    }
    memcpy(p, "loaded-value", 12);
    *val = p;
    *len = 12;
    return TC_OK;
}

typedef struct run_ctx {
    const char *url;
    int prepop; /* p0..p3 and "pk" are in the L2 already */
    long n;     /* the failing allocation, for messages */
    int rest;   /* every allocation from the n-th on fails */
    int all_ok; /* every call returned its normal success */
} run_ctx;

#define WHERE "%s n=%ld%s: "
#define WARGS(c) (c)->url, (c)->n, (c)->rest ? "+" : ""

/* rc is TC_OK, one of the other allowed codes, or TC_ENOMEM with detail
 * (in tc_errmsg(), which every call has, with a handle or without). */
static void expect(run_ctx *c, const char *step, int rc, int ok1, int ok2)
{
    ck_assert_msg(rc == TC_OK || rc == TC_ENOMEM || rc == ok1 || rc == ok2,
                  WHERE "%s returned %s (%s)", WARGS(c), step,
                  tc_error_name(rc), tc_errmsg());
    if (rc == TC_ENOMEM) {
        ck_assert_msg(tc_errmsg()[0] != '\0',
                      WHERE "%s: TC_ENOMEM with no detail", WARGS(c), step);
    }
    if (rc != TC_OK) {
        c->all_ok = 0;
    }
}

/* A JSON text parsed outside the count; its top level has `field`. */
static void expect_json(run_ctx *c, const char *step, const char *text,
                        const char *field)
{
    cJSON *j;

    tt_alloc_pause(1);
    j = cJSON_Parse(text);
    ck_assert_msg(j != NULL && cJSON_GetObjectItem(j, field) != NULL,
                  WHERE "%s gave %s", WARGS(c), step, text);
    cJSON_Delete(j);
    tt_alloc_pause(0);
}

static void expect_value(run_ctx *c, const char *step, const void *v,
                         size_t len, const char *want)
{
    ck_assert_msg(v != NULL && len == strlen(want) &&
                      memcmp(v, want, len) == 0 &&
                      ((const char *)v)[len] == '\0',
                  WHERE "%s: wrong value", WARGS(c), step);
}

static void run_once(run_ctx *c)
{
    static const char *mkeys[NITEMS] = {"m0", "m1", "m2", "m3"};
    static const char *mvals[NITEMS] = {"mv-0", "mv-1", "mv-2", "mv-3"};
    static const char *pkeys[NITEMS] = {"p0", "p1", "p2", "p3"};
    static const char *pvals[NITEMS] = {"pre-0", "pre-1", "pre-2", "pre-3"};
    const char *const bfields[] = {"a"};
    const double bsizes[] = {10};
    tc_item items[NITEMS];
    int mstored[NITEMS];
    tc_options o;
    tc_cache *h = NULL;
    void *v;
    size_t len, i;
    tc_tier tier;
    char *s;
    int rc, stored;

    c->all_ok = 1;
    loader_failed = 0;
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = c->url;
    o.lmdb_map_bytes = (size_t)16 << 20;
    o.l1_max_bytes = (size_t)4 << 20;

    /* pattern keys need no handle */
    s = (char *)"stale";
    rc = tc_key_canonical(&s,
                          "{\"b\":1,\"a\":37,\"n\":{\"y\":[1,2.5,\"s\"],"
                          "\"x\":null}}",
                          bfields, bsizes, 1);
    expect(c, "key_canonical", rc, TC_OK, TC_OK);
    if (rc == TC_OK) {
        ck_assert_str_eq(s, "{\"a\":30,\"b\":1,\"n\":{\"x\":null,\"y\":[1,2.5,"
                            "\"s\"]}}");
    } else {
        ck_assert_ptr_null(s);
    }
    tc_free(s);

    rc = tc_cache_open(&h, &o);
    ck_assert_msg(rc == TC_OK || rc == TC_ENOMEM, WHERE "open returned %s (%s)",
                  WARGS(c), tc_error_name(rc), tc_errmsg());
    if (rc != TC_OK) {
        ck_assert_ptr_null(h);
        ck_assert_msg(tc_errmsg()[0] != '\0', WHERE "open: no message",
                      WARGS(c));
        c->all_ok = 0;
        return;
    }

    /* set, then get */
    rc = tc_cache_set(h, "intents", "k1", 2, "value-1", 7, 0);
    expect(c, "set", rc, TC_OK, TC_OK);
    stored = rc == TC_OK;
    v = NULL;
    rc = tc_cache_get(&v, &len, &tier, h, "intents", "k1", 2);
    expect(c, "get", rc, stored ? TC_OK : TC_MISS, TC_OK);
    if (rc == TC_OK) {
        expect_value(c, "get", v, len, "value-1");
    } else {
        ck_assert_ptr_null(v);
    }
    tc_free(v);

    /* an entry only the L2 has */
    if (c->prepop) {
        v = NULL;
        rc = tc_cache_get(&v, &len, &tier, h, "intents", "pk", 2);
        expect(c, "get from L2", rc, TC_OK, TC_OK);
        if (rc == TC_OK) {
            expect_value(c, "get from L2", v, len, "pre-k");
            ck_assert_int_eq(tier, TC_TIER_L2);
        }
        tc_free(v);
    }

    /* get_or_load with a loader that allocates */
    v = NULL;
    rc = tc_cache_get_or_load(&v, &len, &tier, h, "intents", "k2", 2,
                              alloc_loader, NULL);
    ck_assert_msg(rc != TC_ELOADER || loader_failed,
                  WHERE "get_or_load: TC_ELOADER from a loader that worked",
                  WARGS(c));
    expect(c, "get_or_load", rc, loader_failed ? TC_ELOADER : TC_OK, TC_OK);
    if (rc == TC_OK) {
        expect_value(c, "get_or_load", v, len, "loaded-value");
    } else {
        ck_assert_ptr_null(v);
    }
    tc_free(v);

    /* again: an L1 hit this time, unless the first one failed */
    v = NULL;
    rc = tc_cache_get_or_load(&v, &len, &tier, h, "intents", "k2", 2,
                              alloc_loader, NULL);
    expect(c, "get_or_load again", rc, loader_failed ? TC_ELOADER : TC_OK,
           TC_OK);
    if (rc == TC_OK) {
        expect_value(c, "get_or_load again", v, len, "loaded-value");
    }
    tc_free(v);

    /* mset and mget of four */
    memset(items, 0, sizeof(items));
    for (i = 0; i < NITEMS; i++) {
        items[i].key = mkeys[i];
        items[i].keylen = 2;
        items[i].val = (void *)mvals[i];
        items[i].len = 4;
    }
    rc = tc_cache_mset(h, "student_profiles", items, NITEMS);
    expect(c, "mset", rc, TC_OK, TC_OK);
    for (i = 0; i < NITEMS; i++) {
        ck_assert_msg(items[i].status == TC_OK || items[i].status == TC_ENOMEM,
                      WHERE "mset (%s): items[%zu].status %s", WARGS(c),
                      tc_error_name(rc), i, tc_error_name(items[i].status));
        mstored[i] = rc == TC_OK && items[i].status == TC_OK;
        if (items[i].status != TC_OK) {
            c->all_ok = 0;
        }
    }
    for (i = 0; i < NITEMS; i++) {
        items[i].val = NULL;
        items[i].len = 0;
    }
    rc = tc_cache_mget(h, "student_profiles", items, NITEMS);
    expect(c, "mget", rc, TC_OK, TC_OK);
    for (i = 0; i < NITEMS; i++) {
        if (rc != TC_OK) {
            ck_assert_ptr_null(items[i].val);
            continue;
        }
        ck_assert_msg(items[i].status == TC_OK ||
                          items[i].status == TC_ENOMEM ||
                          (items[i].status == TC_MISS && !mstored[i]),
                      WHERE "mget: items[%zu].status %s", WARGS(c), i,
                      tc_error_name(items[i].status));
        if (items[i].status == TC_OK) {
            expect_value(c, "mget", items[i].val, items[i].len, mvals[i]);
        } else {
            c->all_ok = 0;
        }
        tc_free(items[i].val);
        items[i].val = NULL;
    }
    /* a batch only the L2 has */
    if (c->prepop) {
        memset(items, 0, sizeof(items));
        for (i = 0; i < NITEMS; i++) {
            items[i].key = pkeys[i];
            items[i].keylen = 2;
        }
        rc = tc_cache_mget(h, "student_profiles", items, NITEMS);
        expect(c, "mget from L2", rc, TC_OK, TC_OK);
        for (i = 0; i < NITEMS; i++) {
            if (rc != TC_OK) {
                ck_assert_ptr_null(items[i].val);
                continue;
            }
            ck_assert_msg(items[i].status == TC_OK ||
                              items[i].status == TC_ENOMEM,
                          WHERE "mget from L2: items[%zu].status %s", WARGS(c),
                          i, tc_error_name(items[i].status));
            if (items[i].status == TC_OK) {
                expect_value(c, "mget from L2", items[i].val, items[i].len,
                             pvals[i]);
            }
            tc_free(items[i].val);
        }
    }

    /* statistics and configuration */
    s = NULL;
    rc = tc_cache_stats_json(&s, h);
    expect(c, "stats_json", rc, TC_OK, TC_OK);
    if (rc == TC_OK) {
        expect_json(c, "stats_json", s, "namespaces");
    } else {
        ck_assert_ptr_null(s);
    }
    tc_free(s);
    s = NULL;
    rc = tc_cache_config_json(&s, h);
    expect(c, "config_json", rc, TC_OK, TC_OK);
    if (rc == TC_OK) {
        expect_json(c, "config_json", s, "namespaces");
    } else {
        ck_assert_ptr_null(s);
    }
    tc_free(s);

    /* delete, invalidate, ping */
    rc = tc_cache_del(h, "intents", "k1", 2);
    expect(c, "del", rc, stored ? TC_OK : TC_MISS, TC_OK);
    rc = tc_cache_invalidate(h, "adaptive_paths");
    expect(c, "invalidate", rc, TC_OK, TC_OK);
    rc = tc_cache_ping(h, NULL);
    expect(c, "ping", rc, TC_OK, TC_OK);

    /* an allocation failure is not a store failure */
    {
        tc_ns_stats st;

        ck_assert_int_eq(tc_cache_stats(&st, h, "intents"), TC_OK);
        ck_assert_msg(st.l2_errors == 0 && st.degraded == 0,
                      WHERE "intents: %d L2 errors, %d degraded", WARGS(c),
                      (int)st.l2_errors, (int)st.degraded);
        ck_assert_int_eq(tc_cache_stats(&st, h, "student_profiles"), TC_OK);
        ck_assert_msg(st.l2_errors == 0 && st.degraded == 0,
                      WHERE "student_profiles: %d L2 errors, %d degraded",
                      WARGS(c), (int)st.l2_errors, (int)st.degraded);
        ck_assert_int_eq(tc_cache_stats(&st, h, "adaptive_paths"), TC_OK);
        ck_assert_msg(st.l2_errors == 0, WHERE "adaptive_paths: %d L2 errors",
                      WARGS(c), (int)st.l2_errors);
    }
    tc_cache_close(h);
}

/* Runs the sequence failing allocation 1, 2, ... until none fails. */
static void fail_each(const char *url, int prepop, int rest)
{
    run_ctx c;
    long n;

    memset(&c, 0, sizeof(c));
    c.url = url;
    c.prepop = prepop;
    c.rest = rest;
    for (n = 1; n <= MAX_RUNS; n++) {
        c.n = n;
        tt_alloc_install(n, rest);
        run_once(&c);
        tt_alloc_restore();
        ck_assert_msg(tt_alloc_live() == 0,
                      WHERE "%ld allocations outstanding after close",
                      WARGS(&c), tt_alloc_live());
        if (!tt_alloc_injected()) {
            break;
        }
    }
    ck_assert_msg(n <= MAX_RUNS, "%s: still failing after %d runs", url,
                  MAX_RUNS);
    /* the run with no failure did everything */
    ck_assert_msg(c.all_ok, "%s: the run without failures failed", url);
    ck_assert_int_gt(n, 20); /* the sequence did allocate */
}

/* ---- the tests ------------------------------------------------------------
 */

START_TEST(test_memory_nth)
{
    fail_each("memory:", 0, 0);
}
END_TEST

START_TEST(test_memory_from_nth)
{
    fail_each("memory:", 0, 1);
}
END_TEST

/*
 * A temp LMDB store with entries only its L2 holds. It lives in the case's
 * directory (tt_case_setup(), an unchecked fixture), so a failed test
 * leaves nothing behind; each test gets its own store inside it.
 */
static char lmdb_url[600];
static int lmdb_seq;

static void lmdb_setup(void)
{
    static const char *pkeys[NITEMS] = {"p0", "p1", "p2", "p3"};
    static const char *pvals[NITEMS] = {"pre-0", "pre-1", "pre-2", "pre-3"};
    tc_options o;
    tc_cache *h = NULL;
    size_t i;

    /* the pid (fork mode) and the counter (CK_FORK=no) keep it fresh */
    snprintf(lmdb_url, sizeof(lmdb_url), "lmdb://%s/store%d.%d", tt_case_dir(),
             (int)getpid(), lmdb_seq++);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = lmdb_url;
    o.lmdb_map_bytes = (size_t)16 << 20;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open %s: %s", lmdb_url,
                  tc_errmsg());
    ck_assert_int_eq(tc_cache_set(h, "intents", "pk", 2, "pre-k", 5, 0), TC_OK);
    for (i = 0; i < NITEMS; i++) {
        ck_assert_int_eq(
            tc_cache_set(h, "student_profiles", pkeys[i], 2, pvals[i], 5, 0),
            TC_OK);
    }
    tc_cache_close(h);
}

static void lmdb_teardown(void)
{
    restore_allocator();
}

START_TEST(test_lmdb_nth)
{
    fail_each(lmdb_url, 1, 0);
}
END_TEST

START_TEST(test_lmdb_from_nth)
{
    fail_each(lmdb_url, 1, 1);
}
END_TEST

Suite *suite_alloc(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("memory");

    tcase_add_checked_fixture(tc, NULL, restore_allocator);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_memory_nth);
    tcase_add_test(tc, test_memory_from_nth);
    suite_add_tcase(s, tc);

    tc = tcase_create("lmdb");
    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, lmdb_setup, lmdb_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lmdb_nth);
    tcase_add_test(tc, test_lmdb_from_nth);
    suite_add_tcase(s, tc);
    return s;
}
