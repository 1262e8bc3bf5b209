/*
 * check_cache_ns.c - namespace handles and the reads that take one
 * (tc_ns_find, tc_cache_get_ns, tc_cache_get_into) through the public
 * API: a buffer too small, an exact fit, the length asked with no
 * buffer, an L2 answer copied in, a handle kept across invalidations and
 * refused by another cache, bad arguments, and readers racing writers on
 * one handle (run under ThreadSanitizer by make tsan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cache_fixture.h"
#include "suites.h"
#include "tutorcache.h"

/* A handle on memory: and the handle of NS. */
static tc_cache *open_mem(bk *b, tc_ns **ns)
{
    tc_cache *h;

    bk_start(b, BK_MEMORY);
    h = bk_open(b);
    ck_assert_int_eq(tc_ns_find(ns, h, NS), TC_OK);
    return h;
}

static tc_ns *find(tc_cache *h, const char *name)
{
    tc_ns *ns = (tc_ns *)&ns; /* not NULL, to see the reset */

    ck_assert_int_eq(tc_ns_find(&ns, h, name), TC_OK);
    ck_assert_ptr_nonnull(ns);
    return ns;
}

/* The buffer's size against the value's length: short, exact, none. */
START_TEST(test_into_sizes)
{
    char buf[16];
    size_t len = 99;
    tc_tier tier = TC_TIER_L2;
    tc_cache *h;
    tc_ns *ns;
    bk b;

    h = open_mem(&b, &ns);
    SET(h, "k", "0123456789", TC_TTL_DEFAULT); /* 10 bytes */

    /* exact fit: ten bytes and the NUL */
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(tc_cache_get_into(buf, 11, &len, &tier, h, ns, "k", 1),
                     TC_OK);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(tier, TC_TIER_L1);
    ck_assert_str_eq(buf, "0123456789");
    ck_assert_int_eq(buf[11], 'x'); /* nothing written past cap */
    ck_assert_str_eq(tc_errmsg(), "");

    /* one byte short: nothing written, the length needed reported */
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(tc_cache_get_into(buf, 10, &len, &tier, h, ns, "k", 1),
                     TC_ETOOBIG);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "10 bytes"));

    /* no buffer at all: the way to ask the length */
    ck_assert_int_eq(tc_cache_get_into(NULL, 0, &len, NULL, h, ns, "k", 1),
                     TC_ETOOBIG);
    ck_assert_uint_eq(len, 10);

    /* the entry stayed: a larger buffer gets it from L1 */
    ck_assert_int_eq(
        tc_cache_get_into(buf, sizeof(buf), &len, &tier, h, ns, "k", 1), TC_OK);
    ck_assert_str_eq(buf, "0123456789");
    ck_assert_int_eq(tier, TC_TIER_L1);

    /* the empty value fits a buffer of one byte */
    SET(h, "e", "", TC_TTL_DEFAULT);
    ck_assert_int_eq(tc_cache_get_into(buf, 1, &len, &tier, h, ns, "e", 1),
                     TC_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(buf[0], '\0');

    /* a miss leaves len 0 and the tier none */
    ck_assert_int_eq(
        tc_cache_get_into(buf, sizeof(buf), &len, &tier, h, ns, "nope", 4),
        TC_MISS);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tier, TC_TIER_NONE);

    /* every hit and the miss counted, as tc_cache_get counts them */
    ck_assert_uint_eq(cache_stats_of(h, NS).l1_hits, 5);
    ck_assert_uint_eq(cache_stats_of(h, NS).misses, 1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* tc_cache_get_ns answers what tc_cache_get answers, a copy to free. */
START_TEST(test_get_ns)
{
    tc_cache *h;
    tc_tier tier;
    size_t len;
    void *v;
    tc_ns *ns;
    bk b;

    h = open_mem(&b, &ns);
    SET(h, "k", "value", TC_TTL_DEFAULT);
    ck_assert_int_eq(tc_cache_get_ns(&v, &len, &tier, h, ns, "k", 1), TC_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq(v, "value");
    ck_assert_int_eq(tier, TC_TIER_L1);
    tc_free(v);
    ck_assert_int_eq(tc_cache_get_ns(&v, &len, &tier, h, ns, "x", 1), TC_MISS);
    ck_assert_ptr_null(v);
    /* another namespace's handle does not see the key */
    ck_assert_int_eq(
        tc_cache_get_ns(&v, &len, &tier, h, find(h, NS_OTHER), "k", 1),
        TC_MISS);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * A handle lives as long as its cache: it keeps working across
 * invalidations (the key's hash changes with the generation, and a
 * handle remembers the seed of the last one), and another cache, even
 * on the same store, refuses it.
 */
START_TEST(test_handle_lifetime)
{
    char buf[64];
    size_t len;
    tc_tier tier;
    tc_cache *h, *h2;
    tc_ns *ns, *ns2;
    bk b;

    bk_start(&b, BK_REDIS);
    h = bk_open(&b);
    h2 = bk_open(&b);
    ns = find(h, NS);
    ns2 = find(h2, NS);
    ck_assert_ptr_ne(ns, ns2);
    ck_assert_ptr_eq(find(h, NS), ns); /* one handle per namespace */

    SET(h, "k", "one", TC_TTL_DEFAULT);
    ck_assert_int_eq(
        tc_cache_get_into(buf, sizeof(buf), &len, &tier, h, ns, "k", 1), TC_OK);
    ck_assert_str_eq(buf, "one");
    ck_assert_int_eq(tc_cache_invalidate(h, NS), TC_OK);
    ck_assert_int_eq(
        tc_cache_get_into(buf, sizeof(buf), &len, &tier, h, ns, "k", 1),
        TC_MISS);
    /* written by name after the invalidation, read by the handle */
    SET(h, "k", "two", TC_TTL_DEFAULT);
    ck_assert_int_eq(
        tc_cache_get_into(buf, sizeof(buf), &len, &tier, h, ns, "k", 1), TC_OK);
    ck_assert_str_eq(buf, "two");
    ck_assert_int_eq(tier, TC_TIER_L1);

    /* the other handle, with an empty L1, copies the L2's answer */
    ck_assert_int_eq(tc_cache_get_into(buf, 3, &len, &tier, h2, ns2, "k", 1),
                     TC_ETOOBIG);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(tier, TC_TIER_L2);
    ck_assert_int_eq(tc_cache_get_into(buf, 4, &len, &tier, h2, ns2, "k", 1),
                     TC_OK);
    ck_assert_str_eq(buf, "two");
    ck_assert_int_eq(tier, TC_TIER_L1); /* the L2 answer filled L1 */

    /* a handle of another cache is a mistake, not a miss */
    ck_assert_int_eq(
        tc_cache_get_into(buf, sizeof(buf), &len, &tier, h2, ns, "k", 1),
        TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "not this cache's"));
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

START_TEST(test_bad_args)
{
    char buf[8];
    size_t len = 7;
    tc_tier tier = TC_TIER_L1;
    void *v = buf;
    tc_cache *h;
    tc_ns *ns = (tc_ns *)buf;
    bk b;

    bk_start(&b, BK_MEMORY);
    h = bk_open(&b);
    ck_assert_int_eq(tc_ns_find(&ns, h, "no_such_namespace"), TC_ENONS);
    ck_assert_ptr_null(ns);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "no_such_namespace"));
    ck_assert_int_eq(tc_ns_find(NULL, h, NS), TC_EINVAL);
    ck_assert_int_eq(tc_ns_find(&ns, NULL, NS), TC_EINVAL);
    ck_assert_int_eq(tc_ns_find(&ns, h, NULL), TC_EINVAL);
    ns = find(h, NS);
    ck_assert_int_eq(tc_cache_get_into(buf, 8, &len, &tier, NULL, ns, "k", 1),
                     TC_EINVAL);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tier, TC_TIER_NONE);
    ck_assert_int_eq(tc_cache_get_into(buf, 8, &len, NULL, h, NULL, "k", 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_get_into(buf, 8, NULL, NULL, h, ns, "k", 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_get_into(NULL, 8, &len, NULL, h, ns, "k", 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_get_into(buf, 8, &len, NULL, h, ns, NULL, 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_get_ns(&v, &len, NULL, h, ns, NULL, 1),
                     TC_EINVAL);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(tc_cache_get_ns(NULL, &len, NULL, h, ns, "k", 1),
                     TC_EINVAL);
    /* a pointer that is not a handle at all */
    ck_assert_int_eq(
        tc_cache_get_into(buf, 8, &len, NULL, h, (tc_ns *)buf, "k", 1),
        TC_EINVAL);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- readers and writers on one handle --------------------------------- */

#define RW_KEYS 64
#define RW_THREADS 4

static tc_cache *rw_h;
static tc_ns *rw_ns;
static long rw_iters;
static atomic_long rw_bad;

/* A value names its key and its length, as check_l1's do. */
static size_t rw_make(char *buf, unsigned key, unsigned salt)
{
    size_t len = 12 + (salt * 31 + key) % 200;

    memset(buf, 'a' + (int)(key % 26), len);
    snprintf(buf, 12, "%04u:%03zu|", key, len);
    buf[9] = '|';
    return len;
}

static int rw_valid(const char *v, size_t len, unsigned key)
{
    char head[12];

    snprintf(head, sizeof(head), "%04u:%03zu", key, len);
    return len >= 12 && memcmp(v, head, 8) == 0 && v[9] == '|' &&
           v[len - 1] == 'a' + (int)(key % 26) && v[len] == '\0';
}

static void *rw_run(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 7;
    char key[8], val[256], buf[128];
    long i;

    for (i = 0; i < rw_iters; i++) {
        unsigned k, op;
        size_t len;
        int rc;

        seed = seed * 1103515245u + 12345u;
        k = (seed >> 8) % RW_KEYS;
        op = (seed >> 20) % 8;
        snprintf(key, sizeof(key), "k%u", k);
        if (op < 5) {
            /* a buffer shorter than some values: both outcomes */
            rc = tc_cache_get_into(buf, sizeof(buf), &len, NULL, rw_h, rw_ns,
                                   key, strlen(key));
            if ((rc == TC_OK && !rw_valid(buf, len, k)) ||
                (rc == TC_ETOOBIG && len < sizeof(buf)) ||
                (rc != TC_OK && rc != TC_ETOOBIG && rc != TC_MISS)) {
                atomic_fetch_add(&rw_bad, 1);
            }
        } else if (op < 7) {
            len = rw_make(val, k, seed >> 4);
            if (tc_cache_set(rw_h, NS, key, strlen(key), val, len,
                             TC_TTL_DEFAULT) != TC_OK) {
                atomic_fetch_add(&rw_bad, 1);
            }
        } else {
            rc = tc_cache_del(rw_h, NS, key, strlen(key));
            if (rc != TC_OK && rc != TC_MISS) {
                atomic_fetch_add(&rw_bad, 1);
            }
        }
    }
    return NULL;
}

START_TEST(test_readers_and_writers)
{
    pthread_t t[RW_THREADS];
    tc_options o;
    uintptr_t i;
    bk b;

    bk_start(&b, BK_MEMORY);
    tc_options_init(&o);
    o.l1_max_bytes = 16 * 1024; /* small: sets evict all the time */
    rw_h = bk_open_with(&b, &o, NULL);
    rw_ns = find(rw_h, NS);
    atomic_store(&rw_bad, 0);
    rw_iters = tt_under_valgrind() ? 3000 : 30000;
    for (i = 0; i < RW_THREADS; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, rw_run, (void *)i), 0);
    }
    for (i = 0; i < RW_THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    ck_assert_int_eq(atomic_load(&rw_bad), 0);
    ck_assert_uint_gt(cache_stats_of(rw_h, NS).l1_hits, 0);
    tc_cache_close(rw_h);
    rw_h = NULL;
    bk_stop(&b);
}
END_TEST

Suite *suite_cache_ns(void)
{
    Suite *s = suite_create("cache_ns");
    TCase *tc = tcase_create("cache_ns");
    TCase *th = tcase_create("cache_ns_threads");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_into_sizes);
    tcase_add_test(tc, test_get_ns);
    tcase_add_test(tc, test_handle_lifetime);
    tcase_add_test(tc, test_bad_args);
    suite_add_tcase(s, tc);
    tcase_set_timeout(th, 300);
    tcase_add_test(th, test_readers_and_writers);
    suite_add_tcase(s, th);
    return s;
}
