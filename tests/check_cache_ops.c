/*
 * check_cache_ops.c - the cache's operations on many keys and on its own
 * state, through the public API on every kind of store: batches (mget,
 * mset), invalidation (one handle's seen by another), deletes, exact
 * counters, and ENABLE_CACHING off. Part of the cache suite
 * (check_cache.c).
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cache_fixture.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

/* ---- batches ----------------------------------------------------------- */

START_TEST(test_batch)
{
    enum { N = 16 };
    int kind = main_kinds[_i];
    char keys[N][16], vals[N][24];
    tc_item it[N];
    tc_cache *a, *b2 = NULL, *c = NULL;
    tc_ns_stats s;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
        c = bk_open(&b);
    }
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "b%02d", i);
    }
    /* 0..7 in A's L1; 8..11 only in L2 (set by another handle); the rest
     * nowhere */
    for (int i = 0; i < 8; i++) {
        snprintf(vals[i], sizeof(vals[i]), "A-v%02d", i);
        SET(a, keys[i], vals[i], TC_TTL_DEFAULT);
    }
    for (int i = 8; b2 && i < 12; i++) {
        snprintf(vals[i], sizeof(vals[i]), "B-v%02d", i);
        SET(b2, keys[i], vals[i], TC_TTL_DEFAULT);
    }
    memset(it, 0, sizeof(it));
    for (int i = 0; i < N; i++) {
        it[i].key = keys[i];
        it[i].keylen = 3;
        it[i].val = &it[i]; /* must be overwritten */
        it[i].len = 99;
        it[i].status = 99;
        it[i].tier = (tc_tier)77;
    }
    ck_assert_int_eq(tc_cache_mget(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        int hit = i < 8 || (b2 && i < 12);

        if (hit) {
            ck_assert_msg(it[i].status == TC_OK, "item %d: %s", i,
                          tc_error_name(it[i].status));
            ck_assert_int_eq(it[i].tier, i < 8 ? TC_TIER_L1 : TC_TIER_L2);
            ck_assert_uint_eq(it[i].len, strlen(vals[i]));
            ck_assert_str_eq((char *)it[i].val, vals[i]);
        } else {
            ck_assert_msg(it[i].status == TC_MISS, "item %d: %s", i,
                          tc_error_name(it[i].status));
            ck_assert_int_eq(it[i].tier, TC_TIER_NONE);
            ck_assert_ptr_null(it[i].val);
            ck_assert_uint_eq(it[i].len, 0);
        }
        tc_free(it[i].val);
    }
    s = cache_stats_of(a, NS);
    ck_assert_uint_eq(s.l1_hits, 8);
    ck_assert_uint_eq(s.l2_hits, b2 ? 4 : 0);
    ck_assert_uint_eq(s.misses, b2 ? 4 : 8);

    /* mset of 16, one with its own TTL: all stored in both tiers */
    memset(it, 0, sizeof(it));
    for (int i = 0; i < N; i++) {
        snprintf(vals[i], sizeof(vals[i]), "M-value-%02d", i);
        it[i].key = keys[i];
        it[i].keylen = 3;
        it[i].val = vals[i];
        it[i].len = strlen(vals[i]);
        it[i].status = 99;
    }
    it[3].ttl_ms = 60000;
    ck_assert_int_eq(tc_cache_mset(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(it[i].status == TC_OK, "mset item %d: %s", i,
                      tc_error_name(it[i].status));
    }
    for (int i = 0; i < N; i++) {
        it[i].val = NULL;
    }
    ck_assert_int_eq(tc_cache_mget(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(it[i].status, TC_OK);
        ck_assert_int_eq(it[i].tier, TC_TIER_L1);
        ck_assert_str_eq((char *)it[i].val, vals[i]);
        tc_free(it[i].val);
        it[i].val = NULL;
    }
    if (c) {
        ck_assert_int_eq(tc_cache_mget(c, NS, it, N), TC_OK);
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(it[i].status, TC_OK);
            ck_assert_int_eq(it[i].tier, TC_TIER_L2);
            ck_assert_str_eq((char *)it[i].val, vals[i]);
            tc_free(it[i].val);
            it[i].val = NULL;
        }
    }
    s = cache_stats_of(a, NS);
    ck_assert_uint_eq(s.sets, 8 + N);
    ck_assert_uint_eq(s.l1_hits, 8 + N);

    /* an empty batch; a bad item rejects the whole batch before any write */
    ck_assert_int_eq(tc_cache_mget(a, NS, NULL, 0), TC_OK);
    ck_assert_int_eq(tc_cache_mset(a, NS, NULL, 0), TC_OK);
    ck_assert_int_eq(tc_cache_mget(a, NS, NULL, 2), TC_EINVAL);
    memset(it, 0, sizeof(it));
    it[0].key = "fresh0";
    it[0].keylen = 6;
    it[0].val = "x";
    it[0].len = 1;
    it[1] = it[0];
    it[1].key = "fresh1";
    it[1].ttl_ms = -1;
    ck_assert_int_eq(tc_cache_mset(a, NS, it, 2), TC_EINVAL);
    MISS(a, "fresh0");
    ck_assert_int_eq(tc_cache_mget(a, "no_such_ns", it, 2), TC_ENONS);

    tc_cache_close(c);
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- invalidation ------------------------------------------------------ */

/*
 * After tc_cache_invalidate on A, A misses at once; B, which holds the
 * entry in its L1, misses within the generation refresh interval (1 s by
 * default, so within ~1.2 s); other namespaces are untouched.
 */
START_TEST(test_invalidate)
{
    int kind = main_kinds[_i];
    tc_cache *a, *b2 = NULL;
    int64_t t0, took = -1;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
    }
    SET(a, "inv", "old", TC_TTL_DEFAULT);
    SET(a, "inv2", "old2", TC_TTL_DEFAULT);
    cache_set_at(__LINE__, a, NS_OTHER, "keep", 4, "kept", 4, TC_TTL_DEFAULT);
    if (b2) {
        HIT(b2, "inv", "old", TC_TIER_L2);
        HIT(b2, "inv", "old", TC_TIER_L1);
    }
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_invalidate(a, NS), TC_OK);
    MISS(a, "inv");
    MISS(a, "inv2");
    cache_hit_at(__LINE__, a, NS_OTHER, "keep", 4, "kept", 4, TC_TIER_L1);
    if (b2) {
        while (tt_now_ms() - t0 < T(3000)) {
            void *v = NULL;
            size_t len = 0;
            int rc = tc_cache_get(&v, &len, NULL, b2, NS, "inv", 3);

            if (rc == TC_MISS) {
                took = tt_now_ms() - t0;
                break;
            }
            ck_assert_int_eq(rc, TC_OK);
            ck_assert_str_eq((char *)v, "old");
            tc_free(v);
            tt_sleep_ms(20);
        }
        ck_assert_msg(took >= 0, "B still hits 3 s after the invalidation");
        ck_assert_msg(took <= T(1300), "B missed only after %lld ms",
                      (long long)took);
        MISS(b2, "inv2");
        cache_hit_at(__LINE__, b2, NS_OTHER, "keep", 4, "kept", 4, TC_TIER_L2);
    }
    /* the namespace works as before, in both handles */
    SET(a, "inv", "new", TC_TTL_DEFAULT);
    HIT(a, "inv", "new", TC_TIER_L1);
    if (b2) {
        HIT(b2, "inv", "new", TC_TIER_L2);
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- delete ------------------------------------------------------------ */

START_TEST(test_del)
{
    int kind = main_kinds[_i];
    tc_cache *a, *b2 = NULL;
    int rc;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
    }
    SET(a, "d1", "gone soon", TC_TTL_DEFAULT);
    SET(a, "d-other", "stays", TC_TTL_DEFAULT);
    ck_assert_int_eq(tc_cache_del(a, NS, "d1", 2), TC_OK);
    MISS(a, "d1");
    if (b2) {
        MISS(b2, "d1");
    }
    ck_assert_int_eq(tc_cache_del(a, NS, "d1", 2), TC_MISS);
    ck_assert_int_eq(tc_cache_del(a, NS, "never", 5), TC_MISS);
    HIT(a, "d-other", "stays", TC_TIER_L1);

    if (b2) {
        /*
         * B holds a copy in its L1 when A deletes the entry from L2. B's
         * own delete then removes that copy: "TC_OK (something was
         * removed)", says the header.
         */
        SET(a, "d2", "two copies", TC_TTL_DEFAULT);
        HIT(b2, "d2", "two copies", TC_TIER_L2);
        ck_assert_int_eq(tc_cache_del(a, NS, "d2", 2), TC_OK);
        MISS(a, "d2");
        /* on Redis 6+ (coherence) A's delete may have dropped B's copy
         * already, and B's delete then removes nothing */
        rc = tc_cache_del(b2, NS, "d2", 2);
        ck_assert_msg(rc == TC_OK || (rc == TC_MISS && b.kind != BK_LMDB),
                      "B's delete: %s", tc_error_name(rc));
        MISS(b2, "d2");
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- counters ---------------------------------------------------------- */

START_TEST(test_counters)
{
    int kind = main_kinds[_i];
    loader_ctx lc = {0, 0, 0, 0};
    tc_cache *a, *b2 = NULL;
    tc_ns_stats s, zero;
    tc_item it[3];
    void *v;
    size_t len;
    tc_tier t;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (bk_shared(&b)) {
        b2 = bk_open(&b);
    }
    memset(&zero, 0, sizeof(zero));
    s = cache_stats_of(a, NS);
    ck_assert_mem_eq(&s, &zero, sizeof(s));

    SET(a, "c1", "v1", TC_TTL_DEFAULT);                    /* sets 1 */
    SET(a, "c2", "v2", TC_TTL_DEFAULT);                    /* sets 2 */
    HIT(a, "c1", "v1", TC_TIER_L1);                        /* l1_hits 1 */
    HIT(a, "c1", "v1", TC_TIER_L1);                        /* l1_hits 2 */
    MISS(a, "absent");                                     /* misses 1 */
    ck_assert_int_eq(tc_cache_del(a, NS, "c1", 2), TC_OK); /* dels 1 */
    MISS(a, "c1");                                         /* misses 2 */
    memset(it, 0, sizeof(it));
    it[0].key = "c2";
    it[0].keylen = 2;
    it[1].key = "absent2";
    it[1].keylen = 7;
    ck_assert_int_eq(tc_cache_mget(a, NS, it, 2), TC_OK); /* l1 3, miss 3 */
    tc_free(it[0].val);
    memset(it, 0, sizeof(it));
    for (int i = 0; i < 3; i++) {
        it[i].key = i == 0 ? "m0" : i == 1 ? "m1" : "m2";
        it[i].keylen = 2;
        it[i].val = "mv";
        it[i].len = 2;
    }
    ck_assert_int_eq(tc_cache_mset(a, NS, it, 3), TC_OK); /* sets 5 */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "c3", 2, cache_loader, &lc),
        TC_OK); /* misses 4, loads 1, sets 6 */
    tc_free(v);
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "c3", 2, cache_loader, &lc),
        TC_OK); /* l1_hits 4 */
    tc_free(v);

    s = cache_stats_of(a, NS);
    ck_assert_uint_eq(s.l1_hits, 4);
    ck_assert_uint_eq(s.l2_hits, 0);
    ck_assert_uint_eq(s.misses, 4);
    ck_assert_uint_eq(s.loads, 1);
    ck_assert_uint_eq(s.sets, 6);
    ck_assert_uint_eq(s.dels, 1);
    ck_assert_uint_eq(s.l2_errors, 0);
    ck_assert_uint_eq(s.degraded, 0);
    /* another namespace saw nothing */
    s = cache_stats_of(a, NS_OTHER);
    ck_assert_mem_eq(&s, &zero, sizeof(s));

    if (b2) {
        HIT(b2, "c2", "v2", TC_TIER_L2); /* l2_hits 1 */
        HIT(b2, "c2", "v2", TC_TIER_L1); /* l1_hits 1 */
        MISS(b2, "c1");                  /* misses 1 */
        s = cache_stats_of(b2, NS);
        ck_assert_uint_eq(s.l1_hits, 1);
        ck_assert_uint_eq(s.l2_hits, 1);
        ck_assert_uint_eq(s.misses, 1);
        ck_assert_uint_eq(s.loads + s.sets + s.dels + s.l2_errors + s.degraded,
                          0);
    }
    /* the JSON form agrees */
    {
        char *json = NULL;
        cJSON *root, *n;

        ck_assert_int_eq(tc_cache_stats_json(&json, a), TC_OK);
        root = cJSON_Parse(json);
        ck_assert_ptr_nonnull(root);
        n = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "namespaces"), NS);
        ck_assert_ptr_nonnull(n);
        ck_assert_double_eq(
            cJSON_GetObjectItemCaseSensitive(n, "l1_hits")->valuedouble, 4);
        ck_assert_double_eq(
            cJSON_GetObjectItemCaseSensitive(n, "sets")->valuedouble, 6);
        ck_assert_double_eq(
            cJSON_GetObjectItemCaseSensitive(n, "misses")->valuedouble, 4);
        cJSON_Delete(root);
        tc_free(json);
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* Two items of 2-byte keys k0 and k1, both with the 2-byte value v. */
static void two_items(tc_item it[2], const char *k0, const char *k1, char *v)
{
    memset(it, 0, 2 * sizeof(*it));
    it[0].key = k0;
    it[0].keylen = 2;
    it[0].val = v;
    it[0].len = 2;
    it[1] = it[0];
    it[1].key = k1;
}

/* ---- L1 off ------------------------------------------------------------ */

/* With an L1 too small for any entry, a batch reads every key from the L2
 * each time, and a store without one has nowhere to keep them. */
START_TEST(test_l1_off)
{
    int kind = main_kinds[_i];
    tc_options o;
    tc_cache *h;
    tc_item it[2];
    bk b;

    bk_start(&b, kind);
    tc_options_init(&o);
    o.l1_max_bytes = 1;
    h = bk_open_with(&b, &o, NULL);
    two_items(it, "o0", "o1", "ov");
    ck_assert_int_eq(tc_cache_mset(h, NS, it, 2), TC_OK);
    for (int round = 0; round < 2; round++) {
        it[0].val = it[1].val = NULL;
        ck_assert_int_eq(tc_cache_mget(h, NS, it, 2), TC_OK);
        for (int i = 0; i < 2; i++) {
            if (!bk_shared(&b)) {
                ck_assert_int_eq(it[i].status, TC_MISS);
                continue;
            }
            ck_assert_int_eq(it[i].status, TC_OK);
            ck_assert_int_eq(it[i].tier, TC_TIER_L2);
            ck_assert_uint_eq(it[i].len, 2);
            ck_assert_mem_eq(it[i].val, "ov", 2);
            tc_free(it[i].val);
        }
    }
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- ENABLE_CACHING off ------------------------------------------------ */

START_TEST(test_caching_off)
{
    int kind = main_kinds[_i];
    loader_ctx lc = {0, 0, 0, 0};
    tc_options o;
    tc_cache *off, *on = NULL;
    tc_item it[2];
    void *v;
    size_t len;
    tc_tier t;
    bk b;

    bk_start(&b, kind);
    tc_options_init(&o);
    o.enable_caching = 0;
    off = bk_open_with(&b, &o, NULL);
    if (bk_shared(&b)) {
        on = bk_open(&b);
    }
    SET(off, "k", "v", TC_TTL_DEFAULT);
    MISS(off, "k");
    two_items(it, "m0", "m1", "mv");
    ck_assert_int_eq(tc_cache_mset(off, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_OK);
    it[0].val = it[1].val = NULL;
    ck_assert_int_eq(tc_cache_mget(off, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_MISS);
    ck_assert_int_eq(it[1].status, TC_MISS);
    ck_assert_ptr_null(it[0].val);
    /* the loader answers every time, and its value is not kept */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &t, off, NS, "g", 1,
                                              cache_loader, &lc),
                         TC_OK);
        ck_assert_int_eq(t, TC_TIER_LOADER);
        ck_assert_str_eq((char *)v, "loaded:g");
        tc_free(v);
    }
    ck_assert_int_eq(lc.calls, 2);
    MISS(off, "g");
    if (on) {
        /* nothing reached the shared store either */
        MISS(on, "k");
        cache_miss_at(__LINE__, on, NS, "m0", 2);
        MISS(on, "g");
    }
    tc_cache_close(on);
    tc_cache_close(off);
    bk_stop(&b);
}
END_TEST

void suite_cache_ops(Suite *s)
{
    TCase *tc = tcase_create("cache_ops");

    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_add_loop_test(tc, test_batch, 0, NMAIN);
    tcase_add_loop_test(tc, test_invalidate, 0, NMAIN);
    tcase_add_loop_test(tc, test_del, 0, NMAIN);
    tcase_add_loop_test(tc, test_counters, 0, NMAIN);
    tcase_add_loop_test(tc, test_caching_off, 0, NMAIN);
    tcase_add_loop_test(tc, test_l1_off, 0, NMAIN);
    suite_add_tcase(s, tc);
}
