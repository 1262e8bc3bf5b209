/*
 * check_cache.c - the tiered cache through the public API only, against
 * real stores: a private redis-server (TCP and unix socket), a temp LMDB
 * environment and memory:. A second tc_cache on the same store stands in
 * for a second process. Covered: round trips, tiers, TTLs (entry,
 * namespace, L1 fill), the L1 byte budget, loaders, batches,
 * invalidation, deletes, exact counters, ENABLE_CACHING off; on Redis the
 * failure modes: a killed and restarted server (and an invalidation made
 * meanwhile), CLIENT PAUSE against a short timeout, values of the wrong
 * type or of foreign bytes, databases, AUTH; and an unusable LMDB
 * directory. This file has the round trips, tiers, TTLs, the L1 budget
 * and loaders; check_cache_ops.c the batches, invalidation, deletes,
 * counters and caching off; check_cache_failure.c the failure modes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cache_fixture.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

/* ---- round trips ------------------------------------------------------- */

START_TEST(test_round_trip)
{
    static const unsigned char bkey[] = {0, 1, 2, 0xff, 0, 'k'};
    unsigned char bin[256];
    size_t big_len = 100 * 1024, i;
    char *big = malloc(big_len);
    tc_cache *a, *b2 = NULL;
    bk b;

    ck_assert_ptr_nonnull(big);
    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (unsigned char)i;
    }
    for (i = 0; i < big_len; i++) {
        big[i] = (char)('a' + i % 23);
    }
    bk_start(&b, _i);
    a = bk_open(&b);
    ck_assert_str_eq(tc_cache_store_kind(a), bk_kind[_i]);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
    }

    /* text, an empty value, binary key and value, the empty key, 100 KiB */
    SET(a, "what is 2+2", "{\"answer\":4}", TC_TTL_DEFAULT);
    SET(a, "empty", "", TC_TTL_DEFAULT);
    cache_set_at(__LINE__, a, NS, bkey, sizeof(bkey), bin, sizeof(bin), 60000);
    cache_set_at(__LINE__, a, NS, NULL, 0, "for the empty key", 17,
                 TC_TTL_DEFAULT);
    cache_set_at(__LINE__, a, NS, "big", 3, big, big_len, TC_TTL_DEFAULT);

    HIT(a, "what is 2+2", "{\"answer\":4}", TC_TIER_L1);
    HIT(a, "empty", "", TC_TIER_L1);
    cache_hit_at(__LINE__, a, NS, bkey, sizeof(bkey), bin, sizeof(bin),
                 TC_TIER_L1);
    cache_hit_at(__LINE__, a, NS, NULL, 0, "for the empty key", 17, TC_TIER_L1);
    cache_hit_at(__LINE__, a, NS, "big", 3, big, big_len, TC_TIER_L1);
    /* a key that differs by one byte, or by namespace, is another key */
    cache_miss_at(__LINE__, a, NS, bkey, sizeof(bkey) - 1);
    cache_miss_at(__LINE__, a, NS_OTHER, "what is 2+2", 11);

    if (b2) {
        HIT(b2, "what is 2+2", "{\"answer\":4}", TC_TIER_L2);
        HIT(b2, "empty", "", TC_TIER_L2);
        cache_hit_at(__LINE__, b2, NS, bkey, sizeof(bkey), bin, sizeof(bin),
                     TC_TIER_L2);
        cache_hit_at(__LINE__, b2, NS, NULL, 0, "for the empty key", 17,
                     TC_TIER_L2);
        cache_hit_at(__LINE__, b2, NS, "big", 3, big, big_len, TC_TIER_L2);
        HIT(b2, "what is 2+2", "{\"answer\":4}", TC_TIER_L1);
    }

    /* a replaced value replaces in both tiers */
    SET(a, "what is 2+2", "{\"answer\":\"four\"}", TC_TTL_DEFAULT);
    HIT(a, "what is 2+2", "{\"answer\":\"four\"}", TC_TIER_L1);
    if (b2) {
        tc_cache *c = bk_open(&b);

        HIT(c, "what is 2+2", "{\"answer\":\"four\"}", TC_TIER_L2);
        tc_cache_close(c);
    }

    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
    free(big);
}
END_TEST

START_TEST(test_bad_arguments)
{
    tc_cache *h;
    void *v = &v;
    size_t len = 3;
    tc_tier t = TC_TIER_L2;
    bk b;

    bk_start(&b, BK_MEMORY);
    h = bk_open(&b);
    ck_assert_int_eq(tc_cache_set(h, "no_such_ns", "k", 1, "v", 1, 0),
                     TC_ENONS);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "no_such_ns"));
    ck_assert_int_eq(tc_cache_get(&v, &len, &t, h, "no_such_ns", "k", 1),
                     TC_ENONS);
    ck_assert(v == NULL && len == 0 && t == TC_TIER_NONE);
    ck_assert_int_eq(tc_cache_set(h, NS, "k", 1, "v", 1, -1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_set(h, NS, NULL, 3, "v", 1, 0), TC_EINVAL);
    ck_assert_int_eq(tc_cache_set(h, NS, "k", 1, NULL, 3, 0), TC_EINVAL);
    ck_assert_int_eq(tc_cache_get(NULL, &len, NULL, h, NS, "k", 1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, NULL, "k", 1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_del(h, "no_such_ns", "k", 1), TC_ENONS);
    ck_assert_int_eq(tc_cache_invalidate(h, "no_such_ns"), TC_ENONS);
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, h, NS, "k", 1, NULL, NULL),
        TC_EINVAL);
    /* a successful call clears the previous message */
    SET(h, "k", "v", TC_TTL_DEFAULT);
    ck_assert_str_eq(tc_errmsg(), "");
    /* nothing that failed was stored */
    HIT(h, "k", "v", TC_TIER_L1);
    ck_assert_uint_eq(cache_stats_of(h, NS).sets, 1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- tiers ------------------------------------------------------------- */

START_TEST(test_tiers)
{
    int kind = main_kinds[_i];
    tc_cache *a, *b2 = NULL;
    void *v = &v;
    size_t len = 9;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
    }
    SET(a, "q1", "answer-1", TC_TTL_DEFAULT);
    if (b2) {
        /* the first get of another handle comes from L2, then from L1 */
        HIT(b2, "q1", "answer-1", TC_TIER_L2);
        HIT(b2, "q1", "answer-1", TC_TIER_L1);
        HIT(b2, "q1", "answer-1", TC_TIER_L1);
    }
    HIT(a, "q1", "answer-1", TC_TIER_L1);
    MISS(a, "never set");
    if (b2) {
        MISS(b2, "never set");
    }
    /* tier may be NULL */
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, a, NS, "q1", 2), TC_OK);
    ck_assert_uint_eq(len, 8);
    ck_assert_str_eq((char *)v, "answer-1");
    tc_free(v);
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- TTLs -------------------------------------------------------------- */

/*
 * Per-entry TTLs (set, mset, loader), a namespace's TTL from the config
 * file, and a namespace's L1 TTL: each is gone after it ran out, from
 * both tiers, while a long-lived entry stays.
 */
START_TEST(test_ttl)
{
    int kind = main_kinds[_i];
    int64_t ttl = T(100), t0, t1;
    tc_item items[2];
    tc_cache *a, *b2 = NULL;
    char cfg[160];
    bk b;

    /* the namespaces' TTLs stretched as T() stretches the waits: under
     * valgrind an L1 fill and the read after it can be 100 ms apart */
    snprintf(cfg, sizeof(cfg),
             "{\"namespaces\":{"
             "\"quick\":{\"prefix\":\"quick\",\"ttl\":%.3f},"
             "\"l1short\":{\"prefix\":\"l1s\",\"ttl\":30,"
             "\"l1_ttl\":%.3f}}}",
             (double)ttl / 1000, (double)ttl / 1000);
    bk_start(&b, kind);
    a = bk_open_with(&b, NULL, cfg);
    if (bk_shared(&b)) {
        b2 = bk_open_with(&b, NULL, cfg);
    }
    ck_assert_int_eq(tc_cache_set(a, NS, "k", 1, "v", 1, -5), TC_EINVAL);
    t0 = tt_now_ms();
    SET(a, "short", "s", ttl);
    SET(a, "long", "l", TC_TTL_DEFAULT);
    cache_set_at(__LINE__, a, "quick", "q", 1, "nsttl", 5, TC_TTL_DEFAULT);
    cache_set_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TTL_DEFAULT);
    memset(items, 0, sizeof(items));
    items[0].key = "m0";
    items[0].keylen = 2;
    items[0].val = "mv0";
    items[0].len = 3;
    items[0].ttl_ms = ttl;
    items[1] = items[0];
    items[1].key = "m1";
    ck_assert_int_eq(tc_cache_mset(a, NS, items, 2), TC_OK);
    ck_assert_int_eq(items[0].status, TC_OK);
    ck_assert_int_eq(items[1].status, TC_OK);
    /* the last write's TTL runs from here: on a loaded machine the sets
     * above may take longer than the margin after t0 */
    t1 = tt_now_ms();

    HIT(a, "short", "s", TC_TIER_L1);
    cache_hit_at(__LINE__, a, "quick", "q", 1, "nsttl", 5, TC_TIER_L1);
    cache_hit_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TIER_L1);
    cache_hit_at(__LINE__, a, NS, "m0", 2, "mv0", 3, TC_TIER_L1);
    if (b2) {
        HIT(b2, "short", "s", TC_TIER_L2);
        cache_hit_at(__LINE__, b2, "quick", "q", 1, "nsttl", 5, TC_TIER_L2);
    }
    ck_assert_msg(tt_now_ms() - t0 < ttl, "the checks before expiry were slow");

    tt_sleep_ms(t1 + ttl + T(50) - tt_now_ms());
    MISS(a, "short");
    cache_miss_at(__LINE__, a, "quick", "q", 1);
    cache_miss_at(__LINE__, a, NS, "m0", 2);
    cache_miss_at(__LINE__, a, NS, "m1", 2);
    HIT(a, "long", "l", TC_TIER_L1);
    if (b2) {
        MISS(b2, "short");
        cache_miss_at(__LINE__, b2, "quick", "q", 1);
        cache_miss_at(__LINE__, b2, NS, "m1", 2);
        HIT(b2, "long", "l", TC_TIER_L2);
        /* the L1 copy is gone after the namespace's L1 TTL; L2 keeps it */
        cache_hit_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TIER_L2);
        cache_hit_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TIER_L1);
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/*
 * An L1 copy filled from L2 keeps the L2 entry's remaining TTL: set with
 * 900 ms on A; 600 ms later B fills its L1 from L2; 450 ms after that B
 * must miss, which it would not with a fresh 900 ms in its L1. (The fill
 * has 270 ms to happen in: 90 ms was too tight on a loaded machine.)
 */
START_TEST(test_l1_fill_keeps_ttl)
{
    int kind = shared_kinds[_i];
    tc_cache *a, *b2;
    int64_t t0;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    b2 = bk_open(&b);
    t0 = tt_now_ms();
    SET(a, "fill", "remaining", T(900));
    tt_sleep_ms(t0 + T(600) - tt_now_ms());
    HIT(b2, "fill", "remaining", TC_TIER_L2);
    HIT(b2, "fill", "remaining", TC_TIER_L1);
    ck_assert_msg(tt_now_ms() - t0 < T(870), "the fill came too late to judge");
    tt_sleep_ms(t0 + T(1050) - tt_now_ms());
    MISS(b2, "fill");
    MISS(a, "fill");
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- L1 budget --------------------------------------------------------- */

START_TEST(test_l1_budget)
{
    enum { NKEYS = 600, VLEN = 512 };
    const size_t budget = 64 * 1024;
    int kind = main_kinds[_i];
    char key[32], val[VLEN + 1];
    tc_options o;
    tc_cache *h;
    bk b;

    bk_start(&b, kind);
    tc_options_init(&o);
    o.l1_max_bytes = budget;
    h = bk_open_with(&b, &o, NULL);
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof(key), "budget-%04d", i);
        memset(val, 'a' + i % 26, VLEN);
        snprintf(val, sizeof(val), "value-%04d", i);
        val[10] = '|';
        cache_set_at(__LINE__, h, NS, key, strlen(key), val, VLEN,
                     TC_TTL_DEFAULT);
    }
    /* far more was inserted than fits: the budget holds */
    ck_assert_double_eq(cache_stats_num(h, "l1", "max_bytes"), (double)budget);
    ck_assert_double_le(cache_stats_num(h, "l1", "bytes"), (double)budget);
    ck_assert_double_gt(cache_stats_num(h, "l1", "bytes"), 0);
    ck_assert_double_lt(cache_stats_num(h, "l1", "entries"), NKEYS);
    ck_assert_double_gt(cache_stats_num(h, "l1", "evictions"), 0);

    /* the first key left L1; L2, where there is one, still has it */
    snprintf(key, sizeof(key), "budget-%04d", 0);
    memset(val, 'a', VLEN);
    snprintf(val, sizeof(val), "value-%04d", 0);
    val[10] = '|';
    if (bk_shared(&b)) {
        cache_hit_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TIER_L2);
        cache_hit_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TIER_L1);
    } else {
        cache_miss_at(__LINE__, h, NS, key, strlen(key));
    }
    /* the newest one is in L1 */
    snprintf(key, sizeof(key), "budget-%04d", NKEYS - 1);
    memset(val, 'a' + (NKEYS - 1) % 26, VLEN);
    snprintf(val, sizeof(val), "value-%04d", NKEYS - 1);
    val[10] = '|';
    cache_hit_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TIER_L1);
    ck_assert_double_le(cache_stats_num(h, "l1", "bytes"), (double)budget);

    /*
     * A value too big for this L1 (over an eighth of it) replaces one the
     * L1 holds: the old value must not be served any more.
     */
    {
        size_t blen = budget / 4;
        char *bigv = malloc(blen);

        ck_assert_ptr_nonnull(bigv);
        memset(bigv, 'B', blen);
        SET(h, "grows", "small", TC_TTL_DEFAULT);
        HIT(h, "grows", "small", TC_TIER_L1);
        cache_set_at(__LINE__, h, NS, "grows", 5, bigv, blen, TC_TTL_DEFAULT);
        if (bk_shared(&b)) {
            cache_hit_at(__LINE__, h, NS, "grows", 5, bigv, blen, TC_TIER_L2);
        } else {
            MISS(h, "grows");
        }
        free(bigv);
    }
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- get_or_load ------------------------------------------------------- */

START_TEST(test_get_or_load)
{
    int kind = main_kinds[_i];
    loader_ctx ok = {0, 0, 0, 0}, bad = {0, TC_EIO, 0, 0};
    loader_ctx short_ttl = {0, 0, 0, 0}, empty = {0, 0, 0, 1};
    tc_cache *a, *b2 = NULL;
    void *v = &v;
    size_t len = 5;
    tc_tier t = (tc_tier)77;
    tc_ns_stats s;
    int64_t t0;
    bk b;

    short_ttl.ttl_ms = T(100);
    bk_start(&b, kind);
    a = bk_open(&b);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
    }

    /* a miss runs the loader; the next call is answered by L1 */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g1", 2, cache_loader, &ok),
        TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    ck_assert_uint_eq(len, 9);
    ck_assert_str_eq((char *)v, "loaded:g1");
    tc_free(v);
    ck_assert_int_eq(ok.calls, 1);
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g1", 2, cache_loader, &ok),
        TC_OK);
    ck_assert_int_eq(t, TC_TIER_L1);
    ck_assert_str_eq((char *)v, "loaded:g1");
    tc_free(v);
    ck_assert_int_eq(ok.calls, 1);
    HIT(a, "g1", "loaded:g1", TC_TIER_L1);
    if (b2) {
        /* the loaded value went to L2 as well */
        ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &t, b2, NS, "g1", 2,
                                              cache_loader, &ok),
                         TC_OK);
        ck_assert_int_eq(t, TC_TIER_L2);
        ck_assert_str_eq((char *)v, "loaded:g1");
        tc_free(v);
        ck_assert_int_eq(ok.calls, 1);
    }

    /* a failing loader: TC_ELOADER naming its code, and nothing cached */
    v = &v;
    len = 5;
    t = TC_TIER_L2;
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g2", 2, cache_loader, &bad),
        TC_ELOADER);
    ck_assert(v == NULL && len == 0 && t == TC_TIER_NONE);
    ck_assert_msg(strstr(tc_errmsg(), "TC_EIO") != NULL, "message: %s",
                  tc_errmsg());
    ck_assert_int_eq(bad.calls, 1);
    MISS(a, "g2");
    if (b2) {
        MISS(b2, "g2");
    }
    /* and the next call tries again */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g2", 2, cache_loader, &bad),
        TC_ELOADER);
    ck_assert_int_eq(bad.calls, 2);

    /* the loader's TTL is the entry's */
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &t, a, NS, "g3", 2,
                                          cache_loader, &short_ttl),
                     TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    tc_free(v);
    HIT(a, "g3", "loaded:g3", TC_TIER_L1);

    /* an empty value is a value */
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &t, a, NS, "g4", 2,
                                          cache_loader, &empty),
                     TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(((char *)v)[0], '\0');
    tc_free(v);
    HIT(a, "g4", "", TC_TIER_L1);

    tt_sleep_ms(t0 + short_ttl.ttl_ms + T(50) - tt_now_ms());
    MISS(a, "g3");
    if (b2) {
        MISS(b2, "g3");
    }

    s = cache_stats_of(a, NS);
    ck_assert_uint_eq(s.loads, 5); /* g1, g2 twice, g3, g4 */
    ck_assert_uint_eq(s.sets, 3);  /* g1, g3, g4 */
    ck_assert_uint_eq(s.l2_errors, 0);
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

Suite *suite_cache(void)
{
    Suite *s = suite_create("cache");
    TCase *st = tcase_create("cache_stores");

    tcase_set_timeout(st, 60);
    tcase_add_unchecked_fixture(st, bk_cluster_setup, bk_cluster_teardown);
    tcase_add_loop_test(st, test_round_trip, 0, BK_COUNT);
    tcase_add_test(st, test_bad_arguments);
    tcase_add_loop_test(st, test_tiers, 0, NMAIN);
    tcase_add_loop_test(st, test_ttl, 0, NMAIN);
    tcase_add_loop_test(st, test_l1_fill_keeps_ttl, 0, NSHARED);
    tcase_add_loop_test(st, test_l1_budget, 0, NMAIN);
    tcase_add_loop_test(st, test_get_or_load, 0, NMAIN);
    suite_add_tcase(s, st);
    suite_cache_ops(s);
    suite_cache_failure(s);
    suite_cache_timeout(s);
    return s;
}
