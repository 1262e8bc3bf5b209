/*
 * check_cache_full.c - a store that cannot take a write (Redis at its
 * maxmemory under noeviction, an LMDB map that is full) fails the store,
 * never the caller: the set succeeds, the value is served from L1 for the
 * degraded cap, the failure is counted by reason and logged once per
 * interval.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <tutorcache.h>

#include "redis_fixture.h"
#include "suites.h"

#define NS "ml_model_predictions"

/* Log lines of event l2_error seen by the handle's logger. */
static int l2_error_lines;

static void count_lines(void *ud, tc_log_level level, const char *json)
{
    (void)ud;
    (void)level;
    if (strstr(json, "\"event\":\"l2_error\"")) {
        l2_error_lines++;
    }
}

/* The value of a sample of the exposition, or -1 when it is absent. */
static double sample(tc_cache *h, const char *name_and_labels)
{
    static char buf[1 << 16];
    size_t len;
    char *p;

    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    p = strstr(buf, name_and_labels);
    return p ? strtod(p + strlen(name_and_labels), NULL) : -1;
}

static void set_many_then_check(tc_cache *h, const char *what)
{
    char key[32], val[4096];
    void *got;
    size_t len;
    tc_tier tier;
    int i;

    memset(val, 'v', sizeof(val));
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert_msg(tc_cache_set(h, NS, key, strlen(key), val, sizeof(val),
                                   TC_TTL_DEFAULT) == TC_OK,
                      "%s: set %d: %s", what, i, tc_errmsg());
        ck_assert_str_eq(tc_errmsg(), "");
    }
    /* the last value is served, from L1 */
    ck_assert_int_eq(tc_cache_get(&got, &len, &tier, h, NS, key, strlen(key)),
                     TC_OK);
    ck_assert_uint_eq(len, sizeof(val));
    ck_assert_int_eq(tier, TC_TIER_L1);
    tc_free(got);
}

START_TEST(test_redis_oom)
{
    trs *srv = trs_start("maxmemory 2mb\nmaxmemory-policy noeviction\n");
    tc_options o;
    tc_cache *h;
    double oom;

    ck_assert_ptr_nonnull(srv);
    tc_options_init(&o);
    o.store_url = trs_url(srv);
    o.log_fn = count_lines;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "%s", tc_errmsg());
    l2_error_lines = 0;
    set_many_then_check(h, "redis");
    oom = sample(h, "tutorcache_l2_write_errors_total{reason=\"oom\"} ");
    ck_assert_msg(oom > 0, "no oom counted: %g", oom);
    /* 1000 writes, most refused: logged once in the interval, not each */
    ck_assert_int_eq(l2_error_lines, 1);
    tc_cache_close(h);
    trs_stop(srv);
}
END_TEST

START_TEST(test_lmdb_full)
{
    char url[4200], *dir = tt_test_dir();
    tc_options o;
    tc_cache *h;

    snprintf(url, sizeof(url), "lmdb://%s/full", dir);
    tc_options_init(&o);
    o.store_url = url;
    o.lmdb_map_bytes = 256 * 1024; /* a few dozen values of 4 KiB */
    o.log_fn = count_lines;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "%s", tc_errmsg());
    l2_error_lines = 0;
    set_many_then_check(h, "lmdb");
    ck_assert(sample(h, "tutorcache_l2_write_errors_total{reason=\"oom\"} ") >
              0);
    ck_assert_int_eq(l2_error_lines, 1);
    tc_cache_close(h);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_cache_full(void)
{
    Suite *s = suite_create("cache_full");
    TCase *tc = tcase_create("full");

    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_test(tc, test_redis_oom);
    tcase_add_test(tc, test_lmdb_full);
    suite_add_tcase(s, tc);
    return s;
}
