/*
 * check_fbstore_redis.c - feedback records in Redis (store_redis_fb.c)
 * against a real, private redis-server per test (redis_fixture.c): puts
 * idempotent by id, exact counters, overrides and their TTL, retention,
 * the retraining queue with two consumers and with one that dies, stats,
 * export order, and the failure paths (a killed server, a paused one, a
 * wrong reply). One test measures put throughput and prints it. The
 * failure paths, threads, failing allocations and the throughput are in
 * check_fbstore_redis_faults.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <check.h>

#include "fbstore_fixture.h"

/* The wall clock in ms, as a stream entry's id counts time. */
static long long wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_put_idempotent)
{
    long long t0 = wall_ms();
    tc__store *st = fr_start(0);
    tc__err err = {""};
    recs r;

    fr_put_new(st, &r, 40, DAY_MS);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_int_eq(r.items[i].status, TC_OK);
    }
    ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 40);
    /* A replayed spool: the same batch again, and once more with the
     * server's script cache gone (the EVAL path). */
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            ck_assert_int_eq(fr_cmd_int("SCRIPT %s", "FLUSH"), 0);
        }
        ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_OK);
        for (size_t i = 0; i < r.n; i++) {
            ck_assert_int_eq(r.items[i].status, TC_MISS);
        }
        ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 40);
        ck_assert_int_eq(
            fr_cmd_int("HGET tc:fb:counts %s", "correction:accepted"), 20);
        ck_assert_int_eq(
            fr_cmd_int("HGET tc:fb:counts %s", "confirmation:accepted"), 20);
    }
    /* The seen key maps the record to its entry, for as long as it is
     * kept. */
    {
        char key[64], *sid;

        snprintf(key, sizeof(key), "tc:fb:seen:%s", r.id[0]);
        sid = trs_cmd(fr_srv(), "GET %s", key);
        ck_assert_ptr_nonnull(sid);
        /* a stream entry's id, "<ms>-<seq>", taken when it was stored:
         * not before the test began, not after now */
        ck_assert_int_eq(strspn(sid, "0123456789"), 13);
        ck_assert_int_eq(sid[13], '-');
        ck_assert_int_ge(strtoll(sid, NULL, 10), t0);
        ck_assert_int_le(strtoll(sid, NULL, 10), wall_ms());
        free(sid);
        ck_assert_int_gt(fr_cmd_int("PTTL %s", key), 29 * DAY_MS);
    }
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_counts_exact)
{
    tc__store *st = fr_start(0);
    tc__err err = {""};
    tc__fb_stats s;
    recs a, b;

    fr_recs_make(&a, 7, 0, 0);
    fr_recs_make(&b, 6, 0, 0);
    b.items[1].correct = "unknown"; /* a confirmation: no pair */
    b.items[2].correct = "farewell";
    ck_assert_int_eq(fr_put(st, &a, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(fr_put(st, &b, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "invalid:rejected", 3, &err),
                     TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "invalid:rejected", 2, &err),
                     TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(fr_count_of(&s, "correction:accepted"), 4 + 3);
    ck_assert_uint_eq(fr_count_of(&s, "confirmation:accepted"), 3 + 3);
    ck_assert_uint_eq(fr_count_of(&s, "pair:greet\x1f"
                                      "ask_help"),
                      4 + 2);
    ck_assert_uint_eq(fr_count_of(&s, "pair:greet\x1f"
                                      "farewell"),
                      1);
    ck_assert_uint_eq(fr_count_of(&s, "pair:greet\x1f"
                                      "unknown"),
                      0);
    ck_assert_uint_eq(fr_count_of(&s, "invalid:rejected"), 5);
    ck_assert_uint_eq(s.ncounts, 5);
    tc__fb_stats_release(&s);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "", 1, &err), TC_EINVAL);
    fr_recs_free(&a);
    fr_recs_free(&b);
}
END_TEST

START_TEST(test_override_ttl)
{
    tc__store *st = fr_start(0);
    long long pttl;
    char *val;
    recs r;

    fr_put_new(st, &r, 2, 3600000);
    val = trs_cmd(fr_srv(), "GET %s", r.okey[0]);
    ck_assert_str_eq(val, "{\"intent\":\"ask_help\"}");
    free(val);
    pttl = fr_cmd_int("PTTL %s", r.okey[0]);
    ck_assert_int_gt(pttl, 3600000 - 60000);
    ck_assert_int_le(pttl, 3600000);
    /* A confirmation overrides nothing. */
    ck_assert_ptr_null(r.items[1].override_key);
    ck_assert_int_eq(fr_cmd_int("DBSIZE%s", ""), 2 + 2 + 1);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_bad_items)
{
    tc__store *st = fr_start(0);
    tc__err err = {""};
    recs r;

    fr_recs_make(&r, 4, 0, DAY_MS);
    r.items[1].id = "not an id";
    r.items[2].override_ttl_ms = 0; /* an override that would not expire */
    r.items[3].json = NULL;
    ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_OK);
    ck_assert_int_eq(r.items[1].status, TC_EINVAL);
    ck_assert_int_eq(r.items[2].status, TC_EINVAL);
    ck_assert_int_eq(r.items[3].status, TC_EINVAL);
    ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 1);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_retention)
{
    tc__store *st = fr_start(0);
    tc__err err = {""};
    seen s = {0, 0, NULL, 0};
    uint64_t removed = 0;
    recs old, young, ancient;

    fr_recs_make(&old, 300, 0, DAY_MS);
    ck_assert_int_eq(fr_put(st, &old, 400, &err), TC_OK);
    tt_sleep_ms(600);
    fr_recs_make(&young, 1, 0, DAY_MS);
    ck_assert_int_eq(fr_put(st, &young, 400, &err), TC_OK);
    /* The put trimmed whole nodes on the way; trim does the rest. */
    ck_assert_int_lt(fr_cmd_int("XLEN %s", "tc:fb:stream"), 301);
    ck_assert_int_eq(tc__fb_redis_ops.trim(st, 400, &removed, &err), TC_OK);
    ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 1);
    ck_assert_int_eq(tc__fb_redis_ops.export(st, fr_collect, &s, &err), TC_OK);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_str_eq(s.id[0], young.id[0]);
    /* An id says nothing of time: a record replayed late (its id of an
     * old clock) is kept from when it is stored; replayed again, it is a
     * duplicate. */
    fr_recs_make(&ancient, 1, tc__wall_ms() - 5000, DAY_MS);
    ck_assert_int_eq(fr_put(st, &ancient, 400, &err), TC_OK);
    ck_assert_int_eq(ancient.items[0].status, TC_OK);
    ck_assert_int_eq(fr_put(st, &ancient, 400, &err), TC_OK);
    ck_assert_int_eq(ancient.items[0].status, TC_MISS);
    ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 2);
    /* Without retention nothing goes. */
    ck_assert_int_eq(tc__fb_redis_ops.trim(st, 0, &removed, &err), TC_OK);
    ck_assert_uint_eq(removed, 0);
    free(s.id);
    fr_recs_free(&old);
    fr_recs_free(&young);
    fr_recs_free(&ancient);
}
END_TEST

/* Whether every id of a appears in b. */
static int all_in(char **a, size_t na, char **b, size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;

        while (j < nb && strcmp(a[i], b[j]) != 0) {
            j++;
        }
        if (j == nb) {
            return 0;
        }
    }
    return 1;
}

static int none_in(char **a, size_t na, char **b, size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (strcmp(a[i], b[j]) == 0) {
                return 0;
            }
        }
    }
    return 1;
}

START_TEST(test_consume_two_consumers)
{
    tc__store *st = fr_start(0);
    char **ia, **ra, **ib, **rb, **ic, **rc_;
    size_t na, nb, nc;
    recs r;

    /* Nothing stored yet: nothing to consume, and no error. */
    na = fr_consume(st, "a", 4, 60000, &ia, &ra);
    ck_assert_uint_eq(na, 0);
    fr_put_new(st, &r, 10, 0);
    na = fr_consume(st, "a", 4, 60000, &ia, &ra);
    nb = fr_consume(st, "b", 100, 60000, &ib, &rb);
    ck_assert_uint_eq(na, 4);
    ck_assert_uint_eq(nb, 6);
    /* Queue order, record ids (not stream ids) and their records. */
    for (size_t i = 0; i < na; i++) {
        ck_assert_str_eq(ia[i], r.id[i]);
        ck_assert_str_eq(ra[i], r.json[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        ck_assert_str_eq(ib[i], r.id[4 + i]);
    }
    ck_assert(none_in(ia, na, ib, nb));
    fr_queue_is(st, 10, 10, 0);
    fr_ack(st, ia, na);
    fr_ack(st, ib, nb);
    /* Acknowledged twice, or never delivered: harmless. */
    fr_ack(st, ib, nb);
    fr_queue_is(st, 10, 0, 0);
    nc = fr_consume(st, "a", 100, 1, &ic, &rc_);
    ck_assert_uint_eq(nc, 0);
    fr_batch_free(ia, ra, na);
    fr_batch_free(ib, rb, nb);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_claim_idle)
{
    tc__store *st = fr_start(0);
    char **ia, **ra, **ib, **rb;
    size_t na, nb;
    recs r;

    fr_put_new(st, &r, 5, 0);
    /* "dead" takes them all and never acknowledges. */
    na = fr_consume(st, "dead", 10, 300, &ia, &ra);
    ck_assert_uint_eq(na, 5);
    nb = fr_consume(st, "live", 10, 300, &ib, &rb);
    ck_assert_uint_eq(nb, 0); /* with a consumer that may be working */
    tt_sleep_ms(400);
    nb = fr_consume(st, "live", 10, 300, &ib, &rb);
    ck_assert_uint_eq(nb, 5);
    ck_assert(all_in(ia, na, ib, nb));
    fr_queue_is(st, 5, 5, 0);
    fr_ack(st, ib, nb);
    fr_queue_is(st, 5, 0, 0);
    fr_batch_free(ia, ra, na);
    fr_batch_free(ib, rb, nb);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_stats_fields)
{
    tc__store *st = fr_start(0);
    tc__err err = {""};
    char **ids, **rec;
    size_t n;
    tc__fb_stats s;
    recs r;

    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.kept + s.pending + s.queued + s.ncounts, 0);
    tc__fb_stats_release(&s);
    fr_put_new(st, &r, 12, 0);
    /* No consumer yet: everything is queued. */
    fr_queue_is(st, 12, 0, 12);
    n = fr_consume(st, "c", 5, 60000, &ids, &rec);
    fr_ack(st, ids, 2);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.kept, 12);
    ck_assert_uint_eq(s.pending, 3);
    ck_assert_uint_eq(s.queued, 7);
    ck_assert_uint_eq(fr_count_of(&s, "correction:accepted"), 6);
    tc__fb_stats_release(&s);
    fr_batch_free(ids, rec, n);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_export_order)
{
    tc__store *st = fr_start(0);
    tc__err err = {""};
    seen s = {0, 0, NULL, 0};
    recs r;

    /* More than a page, in several puts. */
    fr_recs_make(&r, 2500, 0, 0);
    for (size_t from = 0; from < r.n; from += 700) {
        size_t m = r.n - from < 700 ? r.n - from : 700;

        ck_assert_int_eq(
            tc__fb_redis_ops.put(st, r.items + from, m, 30 * DAY_MS, &err),
            TC_OK);
    }
    ck_assert_int_eq(tc__fb_redis_ops.export(st, fr_collect, &s, &err), TC_OK);
    ck_assert_uint_eq(s.n, r.n);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_str_eq(s.id[i], r.id[i]);
    }
    /* A record older than the last one stored (a spool replayed late)
     * is kept, and exported where it was stored: streams only append. */
    {
        recs late;

        fr_recs_make(&late, 1, tc__wall_ms() - 60000, 0);
        ck_assert_int_eq(fr_put(st, &late, 30 * DAY_MS, &err), TC_OK);
        ck_assert_int_eq(late.items[0].status, TC_OK);
        s.n = 0;
        ck_assert_int_eq(tc__fb_redis_ops.export(st, fr_collect, &s, &err),
                         TC_OK);
        ck_assert_uint_eq(s.n, r.n + 1);
        ck_assert_str_eq(s.id[r.n], late.id[0]);
        fr_recs_free(&late);
    }
    /* each() stops it, and its value comes back. */
    s.n = 0;
    s.stop_after = 1500;
    ck_assert_int_eq(tc__fb_redis_ops.export(st, fr_collect, &s, &err), 42);
    ck_assert_uint_eq(s.n, 1500);
    free(s.id);
    fr_recs_free(&r);
}
END_TEST

Suite *suite_fbstore_redis(void)
{
    Suite *s = suite_create("fbstore_redis");
    TCase *tc = tcase_create("fbstore_redis");

    tcase_add_checked_fixture(tc, fr_setup, fr_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_put_idempotent);
    tcase_add_test(tc, test_counts_exact);
    tcase_add_test(tc, test_override_ttl);
    tcase_add_test(tc, test_bad_items);
    tcase_add_test(tc, test_retention);
    tcase_add_test(tc, test_consume_two_consumers);
    tcase_add_test(tc, test_claim_idle);
    tcase_add_test(tc, test_stats_fields);
    tcase_add_test(tc, test_export_order);
    suite_add_tcase(s, tc);
    suite_fbstore_redis_faults(s);
    return s;
}
