/*
 * check_cache_failure.c - the cache when its store fails: Redis killed and
 * restarted (and an invalidation made meanwhile), opened while down,
 * paused against a short timeout, holding values of the wrong type or of
 * foreign bytes; Redis databases and AUTH; and an LMDB directory that
 * cannot be used. Part of the cache suite (check_cache.c).
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

/* ---- Redis: degraded mode and recovery --------------------------------- */

/*
 * Sets until one reaches Redis (seen with EXISTS), for at most limit_ms.
 * Returns how long it took, or -1.
 */
static int64_t poll_until_stored(tc_cache *h, trs *srv, const char *prefix,
                                 int64_t limit_ms)
{
    int64_t t0 = tt_now_ms();
    char key[64], l2[TC_KEY_MAX];

    for (int i = 0; tt_now_ms() - t0 < limit_ms; i++) {
        char *r;
        int found;

        snprintf(key, sizeof(key), "%s-%d", prefix, i);
        SET(h, key, "back", TC_TTL_DEFAULT);
        cache_l2_key(l2, h, key);
        r = trs_cmd(srv, "EXISTS %s", l2);
        found = r && strcmp(r, "1") == 0;
        free(r);
        if (found) {
            return tt_now_ms() - t0;
        }
        tt_sleep_ms(50);
    }
    return -1;
}

/*
 * Redis killed under a handle with values in L1: gets answer from L1 or
 * miss, sets succeed, failures are counted; a value set meanwhile lives
 * in L1 only for the degraded cap; after a restart the same handle uses
 * Redis again within the breaker's backoff.
 */
START_TEST(test_degraded)
{
    char key[16], l2[TC_KEY_MAX], l2_down[TC_KEY_MAX];
    loader_ctx lc = {0, 0, 0, 0};
    tc_cache *h;
    tc_ns_stats s;
    tc_item it[2];
    int64_t t_set, took;
    void *v;
    size_t len;
    tc_tier t;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    h = bk_open_with(&b, NULL, "{\"degraded_ttl_ms\": 400}");
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "deg%d", i);
        SET(h, key, key, TC_TTL_DEFAULT);
        HIT(h, key, key, TC_TIER_L1);
    }
    cache_l2_key(l2_down, h, "while-down");
    ck_assert_double_eq(cache_stats_num(h, "l2", "up"), 1);

    trs_kill(b.srv);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++) {
            v = NULL;
            len = 0;
            t = TC_TIER_NONE;
            snprintf(key, sizeof(key), "deg%d", i);
            rc = tc_cache_get(&v, &len, &t, h, NS, key, strlen(key));
            ck_assert_msg(rc == TC_OK || rc == TC_MISS, "get %s: %s: %s", key,
                          tc_error_name(rc), tc_errmsg());
            if (rc == TC_OK) {
                ck_assert_int_eq(t, TC_TIER_L1);
                ck_assert_str_eq((char *)v, key);
            }
            tc_free(v);
        }
    }
    MISS(h, "never-set");
    /* a delete cannot reach L2: an error, and the L1 copy is gone anyway */
    rc = tc_cache_del(h, NS, "deg3", 4);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "del: %s",
                  tc_error_name(rc));
    ck_assert_str_ne(tc_errmsg(), "");
    MISS(h, "deg3");
    /* a loader's answer is still an answer */
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &t, h, NS, "gol-down", 8,
                                          cache_loader, &lc),
                     TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    ck_assert_str_eq((char *)v, "loaded:gol-down");
    tc_free(v);
    t_set = tt_now_ms();
    SET(h, "while-down", "wd", TC_TTL_DEFAULT);
    HIT(h, "while-down", "wd", TC_TIER_L1);
    memset(it, 0, sizeof(it));
    it[0].key = "md0";
    it[0].keylen = 3;
    it[0].val = "x";
    it[0].len = 1;
    it[1] = it[0];
    it[1].key = "md1";
    ck_assert_int_eq(tc_cache_mset(h, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_OK);
    ck_assert_int_eq(it[1].status, TC_OK);
    it[0].val = it[1].val = NULL;
    ck_assert_int_eq(tc_cache_mget(h, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_OK);
    tc_free(it[0].val);
    tc_free(it[1].val);
    ck_assert_int_lt(tc_cache_ping(h, NULL), 0);

    s = cache_stats_of(h, NS);
    ck_assert_uint_gt(s.l2_errors, 0);
    ck_assert_uint_gt(s.degraded, 0);
    ck_assert_double_eq(cache_stats_num(h, "l2", "up"), 0);

    /* the degraded cap (400 ms here) bounds the L1-only copy */
    tt_sleep_ms(t_set + T(400) + T(150) - tt_now_ms());
    MISS(h, "while-down");
    cache_miss_at(__LINE__, h, NS, "md0", 3);

    ck_assert_int_eq(trs_restart(b.srv), 0);
    took = poll_until_stored(h, b.srv, "after", 8000);
    ck_assert_msg(took >= 0, "sets did not reach the restarted Redis in 8 s");
    /* what was set while Redis was down never reached it */
    REDIS_SAYS(trs_cmd(b.srv, "EXISTS %s", l2_down), "0");
    /* gets reach it too */
    cache_l2_key(l2, h, "from-redis");
    REDIS_SAYS(trs_cmd(b.srv, "SET %s %s", l2, "R"), "OK");
    HIT(h, "from-redis", "R", TC_TIER_L2);
    SET(h, "written", "W", TC_TTL_DEFAULT);
    cache_l2_key(l2, h, "written");
    REDIS_SAYS(trs_cmd(b.srv, "GET %s", l2), "W");
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    ck_assert_double_eq(cache_stats_num(h, "l2", "up"), 1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * While Redis is unreachable, L1 serves only entries younger than the
 * degraded cap, whenever they were stored; once Redis answers again, the
 * older ones are served again (they were kept, not dropped).
 */
START_TEST(test_degraded_age_cap)
{
    tc_cache *h;
    bk b;

    bk_start(&b, BK_REDIS);
    /* without coherence: a lost tracking connection drops L1 */
    strcat(b.url, "?tracking=off");
    h = bk_open_with(&b, NULL, "{\"degraded_ttl_ms\": 300}");
    SET(h, "old", "O", TC_TTL_DEFAULT);
    HIT(h, "old", "O", TC_TIER_L1);
    trs_kill(b.srv);
    tt_sleep_ms(T(400));
    HIT(h, "old", "O", TC_TIER_L1); /* no L2 call yet: nothing known */
    MISS(h, "probe");               /* this one finds Redis down */
    MISS(h, "old");
    SET(h, "young", "Y", TC_TTL_DEFAULT);
    HIT(h, "young", "Y", TC_TIER_L1);
    ck_assert_int_eq(trs_restart(b.srv), 0);
    ck_assert_msg(poll_until_stored(h, b.srv, "back", 8000) >= 0,
                  "sets did not reach the restarted Redis in 8 s");
    HIT(h, "old", "O", TC_TIER_L1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * An invalidation Redis cannot record returns an error, and "this
 * process's L1 is dropped all the same" (the header): the dropped value
 * must not come back when Redis does, here a restarted Redis that lost
 * everything, generation included.
 */
START_TEST(test_invalidate_while_down)
{
    tc_cache *h;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    h = bk_open_with(&b, NULL, "{\"generation_refresh_ms\": 100}");
    SET(h, "dropped", "stale", TC_TTL_DEFAULT);
    HIT(h, "dropped", "stale", TC_TIER_L1);
    trs_kill(b.srv);
    rc = tc_cache_invalidate(h, NS);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "invalidate: %s",
                  tc_error_name(rc));
    MISS(h, "dropped");
    ck_assert_int_eq(trs_restart(b.srv), 0);
    ck_assert_msg(poll_until_stored(h, b.srv, "back", 8000) >= 0,
                  "sets did not reach the restarted Redis in 8 s");
    /* past a generation refresh, which reads the restarted server's */
    tt_sleep_ms(250);
    MISS(h, "dropped");
    tt_sleep_ms(150);
    MISS(h, "dropped");
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* A server that is down when the handle opens: not an error. */
START_TEST(test_open_while_down)
{
    tc_cache *h;
    bk b;

    bk_start(&b, BK_REDIS);
    trs_kill(b.srv);
    h = bk_open(&b);
    MISS(h, "k");
    SET(h, "k", "v", TC_TTL_DEFAULT);
    HIT(h, "k", "v", TC_TIER_L1);
    ck_assert_uint_gt(cache_stats_of(h, NS).l2_errors, 0);
    ck_assert_int_eq(trs_restart(b.srv), 0);
    ck_assert_msg(poll_until_stored(h, b.srv, "up", 8000) >= 0,
                  "sets did not reach Redis in 8 s after it came up");
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * CLIENT PAUSE makes Redis accept and not answer: with a 100 ms command
 * timeout a get of a key not in L1 misses within a bounded time (the
 * bound only catches a hang), and once the pause ends the same handle
 * reads the right values again (no reply of a timed-out call leaks into
 * a later one).
 */
START_TEST(test_client_pause)
{
    char l2[TC_KEY_MAX];
    tc_options o;
    tc_cache *h, *h2;
    int64_t t0, paused, el;
    int rc = TC_MISS;
    bk b;

    bk_start(&b, BK_REDIS);
    /* without coherence: a pause longer than the tracking connection's
     * PING wait (1 s) is a silent loss, which drops L1 by design */
    strcat(b.url, "?tracking=off");
    tc_options_init(&o);
    o.command_timeout_ms = 100;
    o.connect_timeout_ms = 100;
    h = bk_open_with(&b, &o, NULL);
    SET(h, "in-l1", "l1v", TC_TTL_DEFAULT);
    cache_l2_key(l2, h, "only-l2");
    REDIS_SAYS(trs_cmd(b.srv, "SET %s %s", l2, "l2v"), "OK");

    paused = tt_now_ms();
    REDIS_SAYS(trs_cmd(b.srv, "CLIENT PAUSE 1500 ALL"), "OK");
    t0 = tt_now_ms();
    MISS(h, "only-l2");
    el = tt_now_ms() - t0;
    ck_assert_msg(el < 1000, "a get took %lld ms with a 100 ms timeout",
                  (long long)el);
    t0 = tt_now_ms();
    HIT(h, "in-l1", "l1v", TC_TIER_L1);
    SET(h, "during", "d", TC_TTL_DEFAULT);
    MISS(h, "only-l2");
    el = tt_now_ms() - t0;
    ck_assert_msg(el < 1000, "three calls took %lld ms", (long long)el);
    ck_assert_uint_gt(cache_stats_of(h, NS).l2_errors, 0);
    /* a handle opened now opens (degraded), in bounded time */
    t0 = tt_now_ms();
    h2 = bk_open_with(&b, &o, NULL);
    el = tt_now_ms() - t0;
    ck_assert_msg(el < 1000, "open took %lld ms", (long long)el);
    tc_cache_close(h2);

    /* after the pause */
    tt_sleep_ms(paused + 1600 - tt_now_ms());
    t0 = tt_now_ms();
    while (tt_now_ms() - t0 < 8000) {
        void *v = NULL;
        size_t len = 0;
        tc_tier t = TC_TIER_NONE;

        rc = tc_cache_get(&v, &len, &t, h, NS, "only-l2", 7);
        ck_assert_msg(rc == TC_OK || rc == TC_MISS, "%s", tc_error_name(rc));
        if (rc == TC_OK) {
            ck_assert_int_eq(t, TC_TIER_L2);
            ck_assert_uint_eq(len, 3);
            ck_assert_str_eq((char *)v, "l2v");
            tc_free(v);
            break;
        }
        tt_sleep_ms(50);
    }
    ck_assert_msg(rc == TC_OK, "Redis not used again 8 s after the pause");
    h2 = bk_open(&b);
    HIT(h2, "in-l1", "l1v", TC_TIER_L2);
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * A key whose slot holds a list (WRONGTYPE) is a counted, logged miss;
 * bytes another program wrote come back as they are; a generation key
 * holding garbage does not break the namespace.
 */
START_TEST(test_wrong_type_and_garbage)
{
    static const unsigned char garbage[] = {0x00, 0xff, 0xfe, '\r', '\n',
                                            '$',  '-',  '1',  0x00, 0x80};
    char l2[TC_KEY_MAX];
    tc_options o;
    tc_cache *h, *h2;
    tc_ns_stats s;
    tc_item it[2];
    cJSON *line;
    const cJSON *f;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    cache_log_reset();
    tc_options_init(&o);
    o.log_fn = cache_log_cb;
    o.log_level = TC_LOG_WARN;
    h = bk_open_with(&b, &o, NULL);
    h2 = bk_open(&b);

    cache_l2_key(l2, h, "wt");
    REDIS_SAYS(trs_cmd(b.srv, "RPUSH %s x", l2), "1");
    MISS(h, "wt");
    s = cache_stats_of(h, NS);
    ck_assert_uint_eq(s.l2_errors, 1);
    ck_assert_uint_eq(s.misses, 1);
    line = cache_log_find("l2_error");
    ck_assert_msg(line != NULL, "no l2_error logged; log: %s",
                  cache_log_text());
    f = cJSON_GetObjectItemCaseSensitive(line, "error");
    ck_assert(cJSON_IsString(f));
    ck_assert_str_eq(f->valuestring, "TC_EPROTO");
    f = cJSON_GetObjectItemCaseSensitive(line, "detail");
    ck_assert(cJSON_IsString(f));
    ck_assert_msg(strstr(f->valuestring, "WRONGTYPE") != NULL,
                  "the logged detail does not say why: \"%s\"", f->valuestring);
    cJSON_Delete(line);

    /* in a batch, only that item misses */
    SET(h2, "fine", "ok", TC_TTL_DEFAULT);
    memset(it, 0, sizeof(it));
    it[0].key = "wt";
    it[0].keylen = 2;
    it[1].key = "fine";
    it[1].keylen = 4;
    ck_assert_int_eq(tc_cache_mget(h, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_MISS);
    ck_assert_ptr_null(it[0].val);
    ck_assert_int_eq(it[1].status, TC_OK);
    ck_assert_int_eq(it[1].tier, TC_TIER_L2);
    ck_assert_str_eq((char *)it[1].val, "ok");
    tc_free(it[1].val);
    ck_assert_uint_eq(cache_stats_of(h, NS).l2_errors, 2);

    /* a set replaces the list; the key works again */
    SET(h, "wt", "fixed", TC_TTL_DEFAULT);
    HIT(h2, "wt", "fixed", TC_TIER_L2);

    /* foreign bytes are returned as bytes */
    cache_l2_key(l2, h, "bin");
    REDIS_SAYS(trs_cmd(b.srv, "SET %s %b", l2, garbage, sizeof(garbage)), "OK");
    cache_hit_at(__LINE__, h, NS, "bin", 3, garbage, sizeof(garbage),
                 TC_TIER_L2);
    /* a value with no TTL is served, and kept in L1 */
    cache_hit_at(__LINE__, h, NS, "bin", 3, garbage, sizeof(garbage),
                 TC_TIER_L1);
    tc_cache_close(h2);

    /* garbage in the generation key: the namespace still works */
    REDIS_SAYS(trs_cmd(b.srv, "SET tc:ml_pred:gen %s", "not-a-number"), "OK");
    h2 = bk_open(&b);
    SET(h2, "after-garbage-gen", "g", TC_TTL_DEFAULT);
    HIT(h2, "after-garbage-gen", "g", TC_TIER_L1);
    tc_cache_close(h2);
    REDIS_SAYS(trs_cmd(b.srv, "DEL tc:ml_pred:gen"), "1");
    REDIS_SAYS(trs_cmd(b.srv, "RPUSH tc:ml_pred:gen x"), "1");
    h2 = bk_open(&b);
    SET(h2, "gen-list", "g", TC_TTL_DEFAULT);
    HIT(h2, "gen-list", "g", TC_TIER_L1);
    /* INCR on a list cannot record a generation: an error, not a crash,
     * and this handle's old entries are unreachable all the same */
    rc = tc_cache_invalidate(h2, NS);
    ck_assert_msg(rc < 0, "invalidate returned %s", tc_error_name(rc));
    ck_assert_str_ne(tc_errmsg(), "");
    MISS(h2, "gen-list");
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- Redis: databases ------------------------------------------------- */

static int open_url(tc_cache **h, const char *url);

/* redis://host:port/N and unix://path?db=N write to database N only. */
START_TEST(test_redis_db)
{
    char url[4300];
    tc_cache *h = NULL, *h0 = NULL;
    char *info;
    bk b;

    bk_start(&b, BK_REDIS);
    snprintf(url, sizeof(url), "%s/3", trs_url(b.srv));
    ck_assert_int_eq(open_url(&h, url), TC_OK);
    SET(h, "in-db3", "three", TC_TTL_DEFAULT);
    tc_cache_close(h);
    snprintf(url, sizeof(url), "%s?db=5", trs_unix_url(b.srv));
    ck_assert_msg(open_url(&h, url) == TC_OK, "%s", tc_errmsg());
    SET(h, "in-db5", "five", TC_TTL_DEFAULT);
    cache_miss_at(__LINE__, h, NS, "in-db3", 6);
    tc_cache_close(h);
    info = trs_cmd(b.srv, "INFO keyspace");
    ck_assert_ptr_nonnull(info);
    ck_assert_msg(strstr(info, "db3:keys=1,") && strstr(info, "db5:keys=1,") &&
                      !strstr(info, "db0:"),
                  "INFO keyspace: %s", info);
    free(info);
    /* database 0 has neither */
    ck_assert_int_eq(open_url(&h0, trs_url(b.srv)), TC_OK);
    cache_miss_at(__LINE__, h0, NS, "in-db3", 6);
    cache_miss_at(__LINE__, h0, NS, "in-db5", 6);
    tc_cache_close(h0);
    bk_stop(&b);
}
END_TEST

/* ---- Redis: AUTH ------------------------------------------------------- */

static int open_url(tc_cache **h, const char *url)
{
    tc_options o;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = url;
    return tc_cache_open(h, &o);
}

START_TEST(test_auth)
{
    trs *srv = trs_start("requirepass s3cret-pw\n"
                         "user alice on >alice-pw ~* &* +@all\n");
    char url[128];
    tc_cache *h = NULL, *h2 = NULL;
    int port, rc;

    ck_assert_msg(srv != NULL, "redis-server did not start");
    port = trs_port(srv);

    /* the right password: values reach the server */
    snprintf(url, sizeof(url), "redis://:s3cret-pw@127.0.0.1:%d", port);
    ck_assert_int_eq(open_url(&h, url), TC_OK);
    ck_assert_int_eq(open_url(&h2, url), TC_OK);
    SET(h, "auth", "yes", TC_TTL_DEFAULT);
    HIT(h2, "auth", "yes", TC_TIER_L2);
    ck_assert_uint_eq(cache_stats_of(h, NS).l2_errors, 0);
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    tc_cache_close(h2);
    tc_cache_close(h);

    /* an ACL user */
    snprintf(url, sizeof(url), "redis://alice:alice-pw@127.0.0.1:%d", port);
    ck_assert_int_eq(open_url(&h, url), TC_OK);
    HIT(h, "auth", "yes", TC_TIER_L2);
    tc_cache_close(h);

    /* a wrong password, a wrong user password, none: TC_EAUTH at open,
     * and the message never shows the password */
    snprintf(url, sizeof(url), "redis://:badpw-7731@127.0.0.1:%d", port);
    h = (tc_cache *)&rc;
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EAUTH, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    ck_assert_str_ne(tc_errmsg(), "");
    ck_assert_ptr_null(strstr(tc_errmsg(), "badpw-7731"));
    snprintf(url, sizeof(url), "redis://alice:nope-8812@127.0.0.1:%d", port);
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EAUTH, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(strstr(tc_errmsg(), "nope-8812"));
    rc = open_url(&h, trs_url(srv));
    ck_assert_msg(rc == TC_EAUTH, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    trs_stop(srv);
}
END_TEST

/* ---- LMDB: a directory that cannot be used ----------------------------- */

START_TEST(test_lmdb_unusable_dir)
{
    char *dir = tt_mkdtemp();
    char file[4200], url[4300];
    tc_cache *h = NULL;
    FILE *f;
    int rc;

    ck_assert_ptr_nonnull(dir);
    snprintf(file, sizeof(file), "%s/plain-file", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a directory\n", f);
    ck_assert_int_eq(fclose(f), 0);

    /* below a regular file: no permission bits involved, so root too */
    snprintf(url, sizeof(url), "lmdb://%s/cache", file);
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EIO, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(tc_errmsg(), file) != NULL, "message: %s",
                  tc_errmsg());
    /* the regular file itself */
    snprintf(url, sizeof(url), "lmdb://%s", file);
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EIO, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_msg(strstr(tc_errmsg(), file) != NULL, "message: %s",
                  tc_errmsg());
    tt_rmtree(dir);
    free(dir);
}
END_TEST

void suite_cache_failure(Suite *s)
{
    TCase *rd = tcase_create("cache_redis");
    TCase *lm = tcase_create("cache_lmdb");

    tcase_set_timeout(rd, 60);
    tcase_add_test(rd, test_degraded);
    tcase_add_test(rd, test_degraded_age_cap);
    tcase_add_test(rd, test_invalidate_while_down);
    tcase_add_test(rd, test_open_while_down);
    tcase_add_test(rd, test_client_pause);
    tcase_add_test(rd, test_wrong_type_and_garbage);
    tcase_add_test(rd, test_redis_db);
    tcase_add_test(rd, test_auth);
    suite_add_tcase(s, rd);

    tcase_set_timeout(lm, 60);
    tcase_add_test(lm, test_lmdb_unusable_dir);
    suite_add_tcase(s, lm);
}
