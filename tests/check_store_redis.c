/*
 * check_store_redis.c - the Redis store against a real, private
 * redis-server per test (redis_fixture.c): data round trips, per-item
 * errors, batches of 256 and 1000 values of mixed sizes (replies split
 * across reads), AUTH and ACL users, db selection, and the failure paths (a
 * killed server, a paused one, failing allocations) with the breaker.
 * The failure paths, the pool and threads are in
 * check_store_redis_faults.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "store_redis_fixture.h"
#include "tls_fixture.h"

START_TEST(test_roundtrip_binary)
{
    static const char bin[] = "a\0b\r\n$3\r\nc\xff";
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__store_set set[2] = {{"tc:t:bin", bin, sizeof(bin) - 1, 60000, 99},
                            {"tc:t:empty", "", 0, 60000, 99}};
    tc__store_get g[3] = {{"tc:t:bin", NULL, 0, 0, 99},
                          {"tc:t:empty", NULL, 0, 0, 99},
                          {"tc:t:plain", NULL, 0, 0, 99}};

    ck_assert_int_eq(st->ops->mset(st, set, 2, NULL), TC_OK);
    ck_assert_int_eq(set[0].status, TC_OK);
    ck_assert_int_eq(set[1].status, TC_OK);
    /* Values are stored unwrapped: other clients see the same bytes. */
    sr_expect_reply(srv, "11", "STRLEN %s", "tc:t:bin");
    sr_expect_reply(srv, "OK", "SET %s plain", "tc:t:plain");

    ck_assert_int_eq(st->ops->mget(st, g, 3, NULL), TC_OK);
    ck_assert_int_eq(g[0].status, TC_OK);
    ck_assert_uint_eq(g[0].len, sizeof(bin) - 1);
    ck_assert_int_eq(memcmp(g[0].val, bin, sizeof(bin) - 1), 0);
    ck_assert_int_eq(g[0].val[g[0].len], '\0');
    ck_assert_int_gt(g[0].ttl_ms, 0);
    ck_assert_int_le(g[0].ttl_ms, 60000);
    ck_assert_int_eq(g[1].status, TC_OK);
    ck_assert_uint_eq(g[1].len, 0);
    ck_assert_ptr_nonnull(g[1].val);
    ck_assert_int_eq(g[1].val[0], '\0');
    ck_assert_int_eq(g[2].status, TC_OK);
    ck_assert_str_eq(g[2].val, "plain");
    ck_assert_int_eq(g[2].ttl_ms, -1);
    sr_release(g, 3);
}
END_TEST

START_TEST(test_mset_bad_item)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__store_set set[3] = {{"tc:t:1", "one", 3, 60000, 99},
                            {"tc:t:2", "two", 3, 0, 99},
                            {NULL, "three", 5, 60000, 99}};
    char *v = NULL;

    /* Items a caller got wrong are refused alone; the others are sent. */
    ck_assert_int_eq(st->ops->mset(st, set, 3, NULL), TC_OK);
    ck_assert_int_eq(set[0].status, TC_OK);
    ck_assert_int_eq(set[1].status, TC_EINVAL);
    ck_assert_int_eq(set[2].status, TC_EINVAL);
    sr_get_is(st, "tc:t:1", "one");
    ck_assert_int_eq(sr_get(st, "tc:t:2", &v, NULL), TC_MISS);
}
END_TEST

START_TEST(test_miss)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__store_get g = {"tc:t:absent", (char *)"stale", 7, 7, 99};
    tc__store_health h;

    ck_assert_int_eq(st->ops->mget(st, &g, 1, NULL), TC_OK);
    ck_assert_int_eq(g.status, TC_MISS);
    ck_assert_ptr_null(g.val);
    ck_assert_uint_eq(g.len, 0);
    st->ops->health(st, &h);
    ck_assert_int_eq(h.up, 1);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_uint_eq(h.errors, 0);
    ck_assert_int_eq(h.entries, -1);
    ck_assert_int_eq(h.bytes, -1);
}
END_TEST

START_TEST(test_del)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    char *v = NULL;

    ck_assert_int_eq(sr_put(st, "tc:t:d", "x", 60000), TC_OK);
    ck_assert_int_eq(st->ops->del(st, "tc:t:d", NULL), TC_OK);
    ck_assert_int_eq(st->ops->del(st, "tc:t:d", NULL), TC_MISS);
    ck_assert_int_eq(sr_get(st, "tc:t:d", &v, NULL), TC_MISS);
    ck_assert_ptr_null(v);
    sr_expect_reply(srv, "0", "EXISTS %s", "tc:t:d");
}
END_TEST

START_TEST(test_incr)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__err err = {""};
    int64_t n = -5;

    ck_assert_int_eq(st->ops->incr(st, "tc:t:gen", &n, NULL), TC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(st->ops->incr(st, "tc:t:gen", &n, NULL), TC_OK);
    ck_assert_int_eq(n, 2);
    sr_expect_reply(srv, "2", "GET %s", "tc:t:gen");
    sr_expect_reply(srv, "-1", "PTTL %s", "tc:t:gen");

    sr_expect_reply(srv, "OK", "SET %s abc", "tc:t:text");
    n = 7;
    ck_assert_int_eq(st->ops->incr(st, "tc:t:text", &n, &err), TC_EPROTO);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "INCR tc:t:text"));
    /* The connection is still usable after an error reply. */
    ck_assert_int_eq(st->ops->incr(st, "tc:t:gen", &n, NULL), TC_OK);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_mget_16)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__store_set set[8];
    tc__store_get g[16];
    char keys[16][32], vals[16][24];
    char *stats;

    for (int i = 0; i < 16; i++) {
        snprintf(keys[i], sizeof(keys[i]), "tc:t:k%02d", i);
        snprintf(vals[i], sizeof(vals[i]), "value %d", i);
    }
    for (int i = 0; i < 8; i++) {
        set[i] = (tc__store_set){keys[2 * i], vals[2 * i], strlen(vals[2 * i]),
                                 60000, 99};
    }
    ck_assert_int_eq(st->ops->mset(st, set, 8, NULL), TC_OK);
    for (int i = 0; i < 16; i++) {
        g[i] = (tc__store_get){keys[i], NULL, 0, 0, 99};
    }
    ck_assert_int_eq(st->ops->mget(st, g, 16, NULL), TC_OK);
    for (int i = 0; i < 16; i++) {
        if (i % 2 == 0) {
            ck_assert_int_eq(g[i].status, TC_OK);
            ck_assert_str_eq(g[i].val, vals[i]);
        } else {
            ck_assert_int_eq(g[i].status, TC_MISS);
            ck_assert_ptr_null(g[i].val);
        }
    }
    sr_release(g, 16);
    /* One GET and one PTTL per key, nothing else. */
    stats = trs_cmd(srv, "INFO commandstats");
    ck_assert_ptr_nonnull(stats);
    ck_assert_msg(strstr(stats, "cmdstat_get:calls=16,") &&
                      strstr(stats, "cmdstat_pttl:calls=16,"),
                  "commandstats: %s", stats);
    free(stats);
}
END_TEST

/* The size of key i's value in test_mget_large: none (a miss), empty,
 * about the size of the reader's pieces and reads, and past them; one of
 * a megabyte. */
static size_t large_size(int i)
{
    static const size_t sizes[] = {0,    1,     200,   1023,  1024, 1025,
                                   4093, 16383, 16384, 16385, 70001};

    if (i == 500) {
        return 1 << 20;
    }
    return sizes[i % 11];
}

/* Byte j of key i's value: every byte value, RESP's own among them. */
static char large_byte(int i, size_t j)
{
    static const char resp[] = "\r\n$*-+:";

    return j % 7 == 3 ? resp[(size_t)i % 8] : (char)(i * 31 + (int)j);
}

/*
 * Batches of 256 and 1000 keys whose values, of mixed sizes, put replies
 * across the reads and the pieces the reader is fed in every way (split
 * in a header, in a value, between a GET and its PTTL): each value comes
 * back whole and in its place, a miss as a miss.
 */
START_TEST(test_mget_large)
{
    enum { N = 1000 };
    /* 15 MB each way: a timeout no loaded machine reaches */
    sopt o = {.timeout_ms = 30000};
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &o);
    static tc__store_set set[N];
    static tc__store_get g[N];
    static char keys[N][32];
    int i, nset = 0;

    for (i = 0; i < N; i++) {
        size_t len = large_size(i);

        snprintf(keys[i], sizeof(keys[i]), "tc:t:big%04d", i);
        if (i % 11 == 0 && i != 500) {
            continue; /* a miss */
        }
        char *v = malloc(len + 1);

        ck_assert_ptr_nonnull(v);
        for (size_t j = 0; j < len; j++) {
            v[j] = large_byte(i, j);
        }
        set[nset++] = (tc__store_set){keys[i], v, len, 60000, 99};
    }
    ck_assert_int_eq(st->ops->mset(st, set, (size_t)nset, NULL), TC_OK);
    for (i = 0; i < nset; i++) {
        ck_assert_int_eq(set[i].status, TC_OK);
        free((void *)set[i].val);
    }
    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? 256 : N;

        for (i = 0; i < n; i++) {
            g[i] = (tc__store_get){keys[i], NULL, 0, 0, 99};
        }
        ck_assert_int_eq(st->ops->mget(st, g, (size_t)n, NULL), TC_OK);
        for (i = 0; i < n; i++) {
            size_t len = large_size(i);

            if (i % 11 == 0 && i != 500) {
                ck_assert_int_eq(g[i].status, TC_MISS);
                ck_assert_ptr_null(g[i].val);
                continue;
            }
            ck_assert_msg(g[i].status == TC_OK && g[i].len == len,
                          "key %d: status %d, %zu bytes of %zu", i, g[i].status,
                          g[i].len, len);
            for (size_t j = 0; j < len; j++) {
                if (g[i].val[j] != large_byte(i, j)) {
                    ck_abort_msg("key %d: byte %zu differs", i, j);
                }
            }
            ck_assert_int_eq(g[i].val[len], '\0');
            ck_assert_int_gt(g[i].ttl_ms, 0);
        }
        sr_release(g, (size_t)n);
    }
    /* the connection is left in step: a lone get after the batches */
    sr_expect_reply(srv, "OK", "SET %s after", "tc:t:after");
    sr_get_is(st, "tc:t:after", "after");
}
END_TEST

START_TEST(test_wrong_type)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__store_get g[3] = {{"tc:t:a", NULL, 0, 0, 99},
                          {"tc:t:list", NULL, 0, 0, 99},
                          {"tc:t:b", NULL, 0, 0, 99}};
    tc__store_health h;
    tc__err err = {""};

    ck_assert_int_eq(sr_put(st, "tc:t:a", "A", 60000), TC_OK);
    ck_assert_int_eq(sr_put(st, "tc:t:b", "B", 60000), TC_OK);
    sr_expect_reply(srv, "2", "RPUSH %s x y", "tc:t:list");

    ck_assert_int_eq(st->ops->mget(st, g, 3, &err), TC_OK);
    ck_assert_int_eq(g[0].status, TC_OK);
    ck_assert_str_eq(g[0].val, "A");
    ck_assert_int_eq(g[1].status, TC_EPROTO);
    /* The item's error is explained in err, for the caller's log. */
    ck_assert_msg(strstr(err.msg, "GET tc:t:list: WRONGTYPE"), "%s", err.msg);
    ck_assert_ptr_null(g[1].val);
    ck_assert_int_eq(g[2].status, TC_OK);
    ck_assert_str_eq(g[2].val, "B");
    sr_release(g, 3);
    st->ops->health(st, &h);
    ck_assert_uint_ge(h.errors, 1);
    ck_assert_uint_eq(h.reconnects, 0);
    sr_get_is(st, "tc:t:a", "A");
}
END_TEST

START_TEST(test_unix_socket)
{
    static const sopt o = {1, NULL, NULL, 0, 0, 0};
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &o);

    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    ck_assert_int_eq(sr_put(st, "tc:t:u", "over the socket", 60000), TC_OK);
    sr_get_is(st, "tc:t:u", "over the socket");
    sr_expect_reply(srv, "over the socket", "GET %s", "tc:t:u");
}
END_TEST

START_TEST(test_auth)
{
    static const sopt good = {0, NULL, "s3cret", 0, 0, 0};
    static const sopt bad = {0, NULL, "nottheone", 0, 0, 0};
    trs *srv = sr_start("requirepass s3cret\n");
    tc__store *ok = sr_store(srv, &good);
    tc__store *none = sr_store(srv, NULL);
    tc__store *wrong = sr_store(srv, &bad);
    tc__err err = {""};
    tc__store_health h;
    char *v = NULL;

    ck_assert_int_eq(sr_put(ok, "tc:t:p", "secret data", 60000), TC_OK);
    sr_get_is(ok, "tc:t:p", "secret data");

    ck_assert_int_eq(sr_get(none, "tc:t:p", &v, &err), TC_EAUTH);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(wrong->ops->ping(wrong, &err), TC_EAUTH);
    ck_assert_ptr_null(strstr(err.msg, "nottheone"));
    ck_assert_int_eq(sr_get(wrong, "tc:t:p", &v, &err), TC_EAUTH);
    wrong->ops->health(wrong, &h);
    ck_assert_int_eq(h.up, 0);
    /* Auth failures come back fast: they must not open the breaker. */
    ck_assert_int_eq(sr_get(wrong, "tc:t:p", &v, &err), TC_EAUTH);
    ck_assert_int_eq(sr_get(wrong, "tc:t:p", &v, &err), TC_EAUTH);
    wrong->ops->health(wrong, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert(sr_logged("l2_unavailable"));
    ck_assert(!sr_logged("nottheone"));
    ck_assert(!sr_logged("s3cret"));
}
END_TEST

START_TEST(test_acl_user)
{
    static const sopt alice = {0, "alice", "pw", 0, 0, 0};
    static const sopt mallory = {1, "alice", "guess", 0, 0, 0};
    trs *srv = sr_start("user alice on >pw ~* +@all\n");
    tc__store *ok = sr_store(srv, &alice);
    tc__store *bad = sr_store(srv, &mallory);
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(sr_put(ok, "tc:t:acl", "hers", 60000), TC_OK);
    sr_get_is(ok, "tc:t:acl", "hers");
    ck_assert_int_eq(sr_get(bad, "tc:t:acl", &v, &err), TC_EAUTH);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(err.msg, "AUTH"));
}
END_TEST

START_TEST(test_select_db)
{
    static const sopt db3 = {0, NULL, NULL, 3, 0, 0};
    static const sopt db99 = {0, NULL, NULL, 99, 0, 0};
    trs *srv = sr_start(NULL);
    tc__store *s3 = sr_store(srv, &db3);
    tc__store *s0 = sr_store(srv, NULL);
    tc__store *s99 = sr_store(srv, &db99);
    char *v = NULL;

    ck_assert_int_eq(sr_put(s3, "tc:t:db", "in three", 60000), TC_OK);
    ck_assert_int_eq(sr_get(s0, "tc:t:db", &v, NULL), TC_MISS);
    sr_get_is(s3, "tc:t:db", "in three");
    /* trs_cmd talks to db 0. */
    sr_expect_reply(srv, "(nil)", "GET %s", "tc:t:db");
    ck_assert_int_eq(sr_get(s99, "tc:t:db", &v, NULL), TC_ECONFIG);
}
END_TEST

/* The cases that run over plain TCP and again over TLS. */
static void add_cases(TCase *tc)
{
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_roundtrip_binary);
    tcase_add_test(tc, test_mset_bad_item);
    tcase_add_test(tc, test_miss);
    tcase_add_test(tc, test_del);
    tcase_add_test(tc, test_incr);
    tcase_add_test(tc, test_mget_16);
    tcase_add_test(tc, test_mget_large);
    tcase_add_test(tc, test_wrong_type);
    tcase_add_test(tc, test_unix_socket);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_acl_user);
    tcase_add_test(tc, test_select_db);
}

Suite *suite_store_redis(void)
{
    Suite *s = suite_create("store_redis");
    TCase *tc = tcase_create("redis");
    TCase *tls = tcase_create("redis_tls");

    tcase_add_checked_fixture(tc, sr_setup, sr_teardown);
    add_cases(tc);
    suite_add_tcase(s, tc);
    tcase_add_unchecked_fixture(tls, tls_case_setup, tls_case_teardown);
    tcase_add_checked_fixture(tls, sr_setup_tls, sr_teardown);
    add_cases(tls);
    suite_add_tcase(s, tls);
    suite_store_redis_faults(s);
    return s;
}
