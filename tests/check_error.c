/*
 * check_error.c - return codes and error detail: every code of the one
 * TC_ERRNO_MAP table has its name and message, the version string matches
 * the header, tc_errmsg() is per thread and cleared by a successful
 * call, and a failed call leaves no stale value in its out-parameters.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/internal.h"
#include "suites.h"

/* A pointer no call may hand back: out-parameters start as this. */
static char stale_byte;
#define STALE ((void *)&stale_byte)

/* ---- the table --------------------------------------------------------- */

static const struct {
    int code;
    const char *name;
    const char *msg;
} table[] = {
#define ROW(name, value, msg) {value, "TC_" #name, msg},
    TC_ERRNO_MAP(ROW)
#undef ROW
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

START_TEST(test_every_code_named)
{
    size_t i, j;

    ck_assert_uint_ge(NTABLE, 16);
    for (i = 0; i < NTABLE; i++) {
        ck_assert_str_eq(tc_error_name(table[i].code), table[i].name);
        ck_assert_str_eq(tc_strerror(table[i].code), table[i].msg);
        ck_assert_uint_gt(strlen(table[i].msg), 0);
        for (j = 0; j < i; j++) {
            ck_assert_int_ne(table[i].code, table[j].code);
            ck_assert_str_ne(table[i].name, table[j].name);
        }
    }
    /* the names the JSON output and the logs rely on */
    ck_assert_str_eq(tc_error_name(TC_OK), "TC_OK");
    ck_assert_str_eq(tc_error_name(TC_MISS), "TC_MISS");
    ck_assert_str_eq(tc_error_name(TC_ETIMEOUT), "TC_ETIMEOUT");
    ck_assert_str_eq(tc_error_name(TC_ENOMEM), "TC_ENOMEM");
    ck_assert_str_eq(tc_error_name(TC_EINTERNAL), "TC_EINTERNAL");
    ck_assert_int_eq(TC_OK, 0);
    ck_assert_int_gt(TC_MISS, 0);
}
END_TEST

START_TEST(test_unknown_code)
{
    static const int unknown[] = {2, 42, -17, -18, -1000, INT_MIN, INT_MAX};
    size_t i;

    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        const char *m = tc_strerror(unknown[i]);

        ck_assert_str_eq(tc_error_name(unknown[i]), "TC_UNKNOWN");
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_gt(strlen(m), 0);
    }
}
END_TEST

START_TEST(test_version)
{
    char want[64];

    snprintf(want, sizeof(want), "%d.%d.%d", TC_VERSION_MAJOR, TC_VERSION_MINOR,
             TC_VERSION_PATCH);
    ck_assert_str_eq(tc_version(), want);
}
END_TEST

/* ---- per-thread detail --------------------------------------------------- */

typedef struct errthread {
    tc_cache *h;
    pthread_barrier_t *bar;
    int which; /* 0: unknown namespace; 1: negative TTL */
    int rc_fail, rc_ok;
    char after_fail[TC__ERR_MAX];    /* read after both threads failed */
    char after_other[TC__ERR_MAX];   /* after the other thread succeeded */
    char after_success[TC__ERR_MAX]; /* after this thread succeeded */
} errthread;

static void copy_msg(char *dst)
{
    snprintf(dst, TC__ERR_MAX, "%s", tc_errmsg());
}

static void *err_worker(void *arg)
{
    errthread *t = arg;
    void *v = NULL;
    size_t len = 0;

    if (t->which == 0) {
        t->rc_fail =
            tc_cache_get(&v, &len, NULL, t->h, "no_such_namespace_A", "k", 1);
    } else {
        t->rc_fail = tc_cache_set(t->h, "intents", "k", 1, "v", 1, -7);
    }
    pthread_barrier_wait(t->bar); /* both have failed */
    copy_msg(t->after_fail);
    pthread_barrier_wait(t->bar);
    if (t->which == 0) {
        /* thread 0 succeeds while thread 1 keeps its failure */
        t->rc_ok = tc_cache_set(t->h, "intents", "k", 1, "v", 1, 0);
    }
    pthread_barrier_wait(t->bar);
    if (t->which == 1) {
        copy_msg(t->after_other);
        t->rc_ok = tc_cache_get(&v, &len, NULL, t->h, "intents", "k", 1);
        tc_free(v);
        copy_msg(t->after_success);
    } else {
        copy_msg(t->after_success);
    }
    return NULL;
}

START_TEST(test_errmsg_per_thread)
{
    tc_cache *h = tt_open_memory(0);
    pthread_barrier_t bar;
    pthread_t th[2];
    errthread t[2];
    int i;

    pthread_barrier_init(&bar, NULL, 2);
    memset(t, 0, sizeof(t));
    for (i = 0; i < 2; i++) {
        t[i].h = h;
        t[i].bar = &bar;
        t[i].which = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, err_worker, &t[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&bar);

    ck_assert_int_eq(t[0].rc_fail, TC_ENONS);
    ck_assert_int_eq(t[1].rc_fail, TC_EINVAL);
    /* each thread sees its own failure, not the other's */
    ck_assert_msg(strstr(t[0].after_fail, "no_such_namespace_A") != NULL,
                  "thread 0 sees \"%s\"", t[0].after_fail);
    ck_assert_msg(strstr(t[1].after_fail, "ttl") != NULL &&
                      strstr(t[1].after_fail, "no_such_namespace_A") == NULL,
                  "thread 1 sees \"%s\"", t[1].after_fail);
    /* thread 0's success does not clear thread 1's message */
    ck_assert_int_eq(t[0].rc_ok, TC_OK);
    ck_assert_str_eq(t[0].after_success, "");
    ck_assert_str_eq(t[1].after_other, t[1].after_fail);
    /* and thread 1's own success does */
    ck_assert_int_eq(t[1].rc_ok, TC_OK);
    ck_assert_str_eq(t[1].after_success, "");
    /* this (third) thread made no call: it has no message */
    ck_assert_str_eq(tc_errmsg(), "");
    tc_cache_close(h);
}
END_TEST

START_TEST(test_errmsg_cleared_by_success)
{
    tc_cache *h = tt_open_memory(0);
    void *v = NULL;
    size_t len = 0;

    ck_assert_str_eq(tc_errmsg(), "");
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "nope", "k", 1), TC_ENONS);
    ck_assert_msg(strstr(tc_errmsg(), "nope") != NULL,
                  "message \"%s\" names the namespace", tc_errmsg());
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
    ck_assert_str_eq(tc_errmsg(), "");

    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, -1), TC_EINVAL);
    ck_assert_str_ne(tc_errmsg(), "");
    /* a miss is an outcome, not a failure: no message */
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "intents", "absent", 6),
                     TC_MISS);
    ck_assert_str_eq(tc_errmsg(), "");
    tc_cache_close(h);
}
END_TEST

/* The 0.2.0 contract of the one channel: the model calls, which take no
 * handle, leave their detail in tc_errmsg() like every other call; the
 * next call that can fail clears it (a success leaves ""); the calls that
 * cannot fail, such as tc_strerror(), leave it alone so that a caller can
 * print both. */
START_TEST(test_errmsg_model_then_success)
{
    static const char path[] = "/nonexistent-tutorcache-dir/m.tcm";
    tc_cache *h = tt_open_memory(0);
    tc_model *m = (tc_model *)STALE;
    char msg[TC__ERR_MAX];
    int rc;

    rc = tc_model_load(&m, path);
    ck_assert_int_eq(rc, TC_EIO);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(tc_errmsg(), path) != NULL,
                  "tc_model_load's detail \"%s\" names the file", tc_errmsg());
    snprintf(msg, sizeof(msg), "%s", tc_errmsg());
    /* the calls that cannot fail do not touch the slot */
    ck_assert_str_eq(tc_strerror(rc), "input/output error");
    ck_assert_str_eq(tc_error_name(rc), "TC_EIO");
    ck_assert_str_eq(tc_errmsg(), msg);
    /* a following successful call leaves "" */
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    ck_assert_str_eq(tc_errmsg(), "");
    ck_assert_str_eq(tc_strerror(rc), "input/output error");
    ck_assert_str_eq(tc_errmsg(), "");
    tc_cache_close(h);
}
END_TEST

/* ---- out-parameters ------------------------------------------------------ */

static int failing_loader(void **val, size_t *len, int64_t *ttl_ms,
                          const char *ns, const void *key, size_t keylen,
                          void *ud)
{
    (void)ttl_ms;
    (void)ns;
    (void)key;
    (void)keylen;
    (void)ud;
    *val = NULL;
    *len = 0;
    return TC_EIO;
}

/* What a get that found nothing leaves: no value, length or tier. */
static void assert_get_cleared(const void *v, size_t len, tc_tier tier)
{
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tier, TC_TIER_NONE);
}

START_TEST(test_out_params_cleared)
{
    tc_cache *h = tt_open_memory(0);
    tc_cache *h2 = (tc_cache *)STALE;
    tc_options opt;
    void *v;
    size_t len;
    tc_tier tier;
    char *s;
    char keybuf[TC_KEY_MAX];
    tc_ns_stats st;

    /* get: unknown namespace, NULL handle */
    v = STALE, len = 7, tier = TC_TIER_L2;
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "nope", "k", 1),
                     TC_ENONS);
    assert_get_cleared(v, len, tier);
    v = STALE, len = 7, tier = TC_TIER_L2;
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, NULL, "intents", "k", 1),
                     TC_EINVAL);
    assert_get_cleared(v, len, tier);
    /* get: a miss clears them too */
    v = STALE, len = 7, tier = TC_TIER_L2;
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "x", 1),
                     TC_MISS);
    assert_get_cleared(v, len, tier);

    /* get_or_load: unknown namespace; a loader that fails */
    v = STALE, len = 7, tier = TC_TIER_L2;
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "nope", "k", 1,
                                          failing_loader, NULL),
                     TC_ENONS);
    assert_get_cleared(v, len, tier);
    v = STALE, len = 7, tier = TC_TIER_L2;
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents", "lk",
                                          2, failing_loader, NULL),
                     TC_ELOADER);
    assert_get_cleared(v, len, tier);
    ck_assert_msg(strstr(tc_errmsg(), "TC_EIO") != NULL,
                  "loader failure message \"%s\" names its code", tc_errmsg());

    /* open: a bad URL, and no out */
    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.store_url = "ftp://example.org/";
    ck_assert_int_eq(tc_cache_open(&h2, &opt), TC_ECONFIG);
    ck_assert_ptr_null(h2);
    ck_assert_str_ne(tc_errmsg(), "");
    ck_assert_int_eq(tc_cache_open(NULL, &opt), TC_EINVAL);

    /* canonical keys, stats and configuration */
    s = STALE;
    ck_assert_int_eq(tc_key_canonical(&s, "[1]", NULL, NULL, 0), TC_EINVAL);
    ck_assert_ptr_null(s);
    s = STALE;
    ck_assert_int_eq(tc_cache_stats_json(&s, NULL), TC_EINVAL);
    ck_assert_ptr_null(s);
    s = STALE;
    ck_assert_int_eq(tc_cache_config_json(&s, NULL), TC_EINVAL);
    ck_assert_ptr_null(s);
    memset(&st, 0xff, sizeof(st));
    ck_assert_int_eq(tc_cache_stats(&st, h, "nope"), TC_ENONS);
    ck_assert_uint_eq(st.l1_hits + st.l2_hits + st.misses + st.loads + st.sets +
                          st.dels + st.l2_errors + st.degraded,
                      0);

    /* a key buffer holds no stale key after a failure */
    ck_assert_int_eq(tc_cache_key(keybuf, sizeof(keybuf), h, "intents", "k", 1),
                     TC_OK);
    ck_assert_int_eq(tc_cache_key(keybuf, sizeof(keybuf), h, "nope", "k", 1),
                     TC_ENONS);
    ck_assert_msg(keybuf[0] == '\0', "stale key \"%s\" left in the buffer",
                  keybuf);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_mget_vals_cleared_on_failure)
{
    tc_cache *h = tt_open_memory(0);
    tc_item items[3];
    size_t i;

    /* The caller fills key/keylen only; val may hold anything. */
    memset(items, 0, sizeof(items));
    for (i = 0; i < 3; i++) {
        items[i].key = "k";
        items[i].keylen = 1;
        items[i].val = STALE;
        items[i].len = 99;
    }
    ck_assert_int_eq(tc_cache_mget(h, "nope", items, 3), TC_ENONS);
    for (i = 0; i < 3; i++) {
        ck_assert_msg(items[i].val == NULL,
                      "items[%zu].val left stale after TC_ENONS", i);
        ck_assert_uint_eq(items[i].len, 0);
    }

    for (i = 0; i < 3; i++) {
        items[i].val = STALE;
        items[i].len = 99;
    }
    items[1].key = NULL; /* a caller mistake in the middle of the batch */
    ck_assert_int_eq(tc_cache_mget(h, "intents", items, 3), TC_EINVAL);
    for (i = 0; i < 3; i++) {
        ck_assert_msg(items[i].val == NULL,
                      "items[%zu].val left stale after TC_EINVAL", i);
        ck_assert_uint_eq(items[i].len, 0);
    }
    tc_cache_close(h);
}
END_TEST

/* ---- the allocator hook ------------------------------------------------ */

/*
 * The counting allocator (tt_alloc.c), failing nothing, sees every block
 * the library allocates, its own and cJSON's, and every one freed again.
 */
START_TEST(test_allocator_routes)
{
    char *s = NULL;
    long calls;
    void *p;

    tt_alloc_install(0, 0);
    p = tc_malloc(10);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(tt_alloc_calls(), 1);
    ck_assert_int_eq(tt_alloc_live(), 1);
    tc_free(p);
    tc_free(NULL);
    ck_assert_int_eq(tt_alloc_live(), 0);
    /* cJSON, used by tc_key_canonical, goes through the same hook */
    ck_assert_int_eq(
        tc_key_canonical(&s, "{\"b\":[1,2],\"a\":\"x\"}", NULL, NULL, 0),
        TC_OK);
    ck_assert_str_eq(s, "{\"a\":\"x\",\"b\":[1,2]}");
    tc_free(s);
    ck_assert_int_gt(tt_alloc_calls(), 3);
    ck_assert_int_eq(tt_alloc_live(), 0);
    calls = tt_alloc_calls();
    tt_alloc_restore();
    p = tc_malloc(0); /* a zero-byte request still gives a pointer */
    ck_assert_ptr_nonnull(p);
    tc_free(p);
    ck_assert_int_eq(tt_alloc_calls(), calls); /* the hook is gone */
}
END_TEST

Suite *suite_error(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("codes");

    tcase_add_test(tc, test_every_code_named);
    tcase_add_test(tc, test_unknown_code);
    tcase_add_test(tc, test_version);
    suite_add_tcase(s, tc);

    tc = tcase_create("detail");
    tcase_add_test(tc, test_errmsg_per_thread);
    tcase_add_test(tc, test_errmsg_cleared_by_success);
    tcase_add_test(tc, test_errmsg_model_then_success);
    tcase_add_test(tc, test_out_params_cleared);
    tcase_add_test(tc, test_mget_vals_cleared_on_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocator");
    tcase_add_test(tc, test_allocator_routes);
    suite_add_tcase(s, tc);
    return s;
}
