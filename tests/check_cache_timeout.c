/*
 * check_cache_timeout.c - one timeout is one timeout: against a Redis
 * that accepts and does not answer (CLIENT PAUSE from a second
 * connection), each call returns within its timeout plus a margin, with
 * the answer it documents for a store that fails (a miss, TC_OK on a
 * set); the CLI too, run as a process; and a first get on a fresh handle
 * reads the namespace's generation and the key in one round trip. Also a
 * Redis user whose ACL denies the keys: TC_EAUTH, said as such.
 *
 * The bounds are the issue's, generous for a loaded machine: a call with
 * a 250 ms timeout and a free pool returns within 250 ms + 2 x 250 ms.
 * Before the timeout became one deadline per call, a classification took
 * three timeouts (the override, the lookup, the store of the answer) and
 * a CLI command three to four (the open's connect and ping, the
 * generation, the command).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cache_fixture.h"
#include "cli_harness.h"
#include "suites.h"

#define TIMEOUT_MS 250
/* timeout + pool wait (none: the pool is free) + a margin of 2 timeouts,
 * 4 under valgrind (whose slower clock took tc_cache_open to 757 ms on a
 * loaded machine): far below the pause either way, which is what a call
 * that waited on the paused server would take */
#define BOUND_MS (TIMEOUT_MS + (tt_under_valgrind() ? 4 : 2) * TIMEOUT_MS)
/* a CLI run: twice the timeout plus a process start, on a loaded machine */
#define CLI_BOUND_MS 1500
#define PAUSE_MS 4000

static void timeouts(tc_options *o)
{
    tc_options_init(o);
    o->command_timeout_ms = TIMEOUT_MS;
    o->connect_timeout_ms = TIMEOUT_MS;
}

#define WITHIN(what, t0, bound)                                                \
    do {                                                                       \
        int64_t el_ = tt_now_ms() - (t0);                                      \
        ck_assert_msg(el_ <= (bound),                                          \
                      "%s took %lld ms; the bound is %d ms (timeout %d ms)",   \
                      what, (long long)el_, (int)(bound), TIMEOUT_MS);         \
    } while (0)

/* A host classifier whose intent is the text itself. */
static int echo_fn(char **json, const char *text, size_t len, void *ud)
{
    size_t cap = len + 64;

    (void)ud;
    if ((*json = tc_malloc(cap)) != NULL) {
        snprintf(*json, cap, "{\"intent\":\"%.*s\",\"confidence\":0.9}",
                 (int)len, text);
    }
    return *json ? TC_OK : TC_ENOMEM;
}

/*
 * Handles opened while Redis answers (so that their breakers are closed
 * and each call really waits on the server), then Redis paused: a first
 * get (the generation and the key), a set, an mget and a classification
 * each end within the bound with their degraded answer; a handle opened
 * during the pause opens within it too.
 */
START_TEST(test_paused_calls_bounded)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;
    tc_cache *hg, *hs, *hm, *hc, *ho = NULL;
    tc_item items[3];
    tc_result *r = NULL;
    tc_options o;
    void *v = NULL;
    size_t len = 0;
    int64_t t0;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    timeouts(&o);
    hg = bk_open_with(&b, &o, NULL);
    hs = bk_open_with(&b, &o, NULL);
    hm = bk_open_with(&b, &o, NULL);
    hc = bk_open_with(&b, &o, NULL);
    tc_classifier_options_init(&co);
    co.fn = echo_fn;
    co.fn_version = "echo-1";
    ck_assert_int_eq(tc_classifier_open(&c, hc, &co), TC_OK);

    REDIS_SAYS(trs_cmd(b.srv, "CLIENT PAUSE %d ALL", PAUSE_MS), "OK");
    t0 = tt_now_ms();
    rc = tc_cache_get(&v, &len, NULL, hg, NS, "k", 1);
    WITHIN("a first get", t0, BOUND_MS);
    ck_assert_msg(rc == TC_MISS, "get: %s", tc_error_name(rc));
    ck_assert_ptr_null(v);

    t0 = tt_now_ms();
    rc = tc_cache_set(hs, NS, "k", 1, "v", 1, TC_TTL_DEFAULT);
    WITHIN("a set", t0, BOUND_MS);
    ck_assert_msg(rc == TC_OK, "set: %s: %s", tc_error_name(rc), tc_errmsg());

    memset(items, 0, sizeof(items));
    for (int i = 0; i < 3; i++) {
        items[i].key = i == 0 ? "a" : i == 1 ? "b" : "c";
        items[i].keylen = 1;
    }
    t0 = tt_now_ms();
    rc = tc_cache_mget(hm, NS, items, 3);
    WITHIN("an mget of 3 keys", t0, BOUND_MS);
    ck_assert_msg(rc == TC_OK, "mget: %s", tc_error_name(rc));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(items[i].status, TC_MISS);
    }

    t0 = tt_now_ms();
    rc = tc_classify(&r, c, "greeting", 8);
    WITHIN("a classification through the cache", t0, BOUND_MS);
    ck_assert_msg(rc == TC_OK, "classify: %s: %s", tc_error_name(rc),
                  tc_errmsg());
    ck_assert_str_eq(r->intent, "greeting");
    tc_result_free(r);

    t0 = tt_now_ms();
    rc = tc_cache_open(&ho, &o);
    WITHIN("tc_cache_open", t0, BOUND_MS);
    ck_assert_msg(rc == TC_OK, "open: %s: %s", tc_error_name(rc), tc_errmsg());
    tc_cache_close(ho);

    tc_classifier_close(c);
    tc_cache_close(hg);
    tc_cache_close(hs);
    tc_cache_close(hm);
    tc_cache_close(hc);
    bk_stop(&b);
}
END_TEST

/* The server's count of read events (INFO stats), asked on c, one
 * connection kept open: each ask is one read more, and no connection's
 * close is counted between two asks. */
static long long reads_of(redisContext *c)
{
    redisReply *info = redisCommand(c, "INFO stats");
    const char *p;
    long long n;

    ck_assert_msg(info && info->type == REDIS_REPLY_STRING, "INFO stats");
    p = strstr(info->str, "total_reads_processed:");
    ck_assert_msg(p != NULL, "INFO stats has no total_reads_processed");
    n = atoll(p + strlen("total_reads_processed:"));
    freeReplyObject(info);
    return n;
}

/* The calls of one command so far (INFO commandstats). */
static long long calls_of(trs *srv, const char *cmd)
{
    char *info = trs_cmd(srv, "INFO commandstats"), want[64], *p;
    long long n = 0;

    ck_assert_ptr_nonnull(info);
    snprintf(want, sizeof(want), "cmdstat_%s:calls=", cmd);
    if ((p = strstr(info, want)) != NULL) {
        n = atoll(p + strlen(want));
    }
    free(info);
    return n;
}

/*
 * A fresh handle's first get reads the generation and the key: two GETs,
 * in one round trip (one read event on the server; the request is a few
 * hundred bytes on loopback). A namespace invalidated before the handle
 * opened costs one more, and still answers from the new generation.
 */
START_TEST(test_first_get_one_round_trip)
{
    long long r0, g0;
    redisContext *rc;
    tc_cache *h, *h2;
    void *v = NULL;
    size_t len = 0;
    tc_tier t;
    bk b;

    bk_start(&b, BK_REDIS);
    rc = redisConnect("127.0.0.1", trs_port(b.srv));
    ck_assert_msg(rc && !rc->err, "connect to the fixture");
    h = bk_open(&b); /* its PING comes before the counts */
    g0 = calls_of(b.srv, "get");
    r0 = reads_of(rc);
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, NS, "k", 1), TC_MISS);
    /* the reads since: the get's one, and the INFO's own */
    ck_assert_int_eq(reads_of(rc) - r0, 1 + 1);
    ck_assert_int_eq(calls_of(b.srv, "get") - g0, 2);
    redisFree(rc);

    SET(h, "k", "v1", TC_TTL_DEFAULT);
    ck_assert_int_eq(tc_cache_invalidate(h, NS), TC_OK);
    SET(h, "k", "v2", TC_TTL_DEFAULT);
    h2 = bk_open(&b);
    t = TC_TIER_NONE;
    ck_assert_int_eq(tc_cache_get(&v, &len, &t, h2, NS, "k", 1), TC_OK);
    ck_assert_str_eq((char *)v, "v2");
    ck_assert_int_eq(t, TC_TIER_L2);
    tc_free(v);
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * `tutorcache --timeout 250 get` against the paused server, run as a
 * process: a miss (exit 1) within CLI_BOUND_MS (1.5 s: twice the timeout
 * plus the start of a process on a loaded machine).
 */
START_TEST(test_cli_paused_bounded)
{
    int64_t t0;
    run r;
    how hw;
    bk b;

    cli_setup();
    bk_start(&b, BK_REDIS);
    memset(&hw, 0, sizeof(hw));
    hw.url = b.url;
    REDIS_SAYS(trs_cmd(b.srv, "CLIENT PAUSE %d ALL", PAUSE_MS), "OK");
    t0 = tt_now_ms();
    cli(&r, &hw, "--timeout", "250", "get", NS, "user:42");
    WITHIN("tutorcache --timeout 250 get", t0, CLI_BOUND_MS);
    expect(&r, 1, "", NULL);
    run_free(&r);
    bk_stop(&b);
    cli_teardown();
}
END_TEST

/*
 * A user the server's ACL keeps off the cache's keys: a get misses (the
 * store's failure, counted as an L2 error), a del fails with TC_EAUTH,
 * and the message says permission denied, names the command and the
 * key's prefix, and never the password.
 */
START_TEST(test_acl_noperm)
{
    char url[200];
    tc_cache *h;
    void *v = NULL;
    size_t len = 0;
    const char *m;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    REDIS_SAYS(trs_cmd(b.srv, "ACL SETUSER limited on >Pw-s3cret ~other:* "
                              "+@all"),
               "OK");
    snprintf(url, sizeof(url), "redis://limited:Pw-s3cret@127.0.0.1:%d",
             trs_port(b.srv));
    snprintf(b.url, sizeof(b.url), "%s", url);
    h = bk_open(&b); /* PING touches no key: allowed */

    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, NS, "k", 1), TC_MISS);
    ck_assert_uint_gt(cache_stats_of(h, NS).l2_errors, 0);

    rc = tc_cache_del(h, NS, "k", 1);
    ck_assert_msg(rc == TC_EAUTH, "del: %s: %s", tc_error_name(rc),
                  tc_errmsg());
    m = tc_errmsg();
    ck_assert_msg(strstr(m, "permission denied for DEL on tc:") != NULL,
                  "message: %s", m);
    ck_assert_msg(strstr(m, "s3cret") == NULL, "the password: %s", m);
    ck_assert_int_eq(tc_cache_set(h, NS, "k", 1, "v", 1, 0), TC_OK);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

void suite_cache_timeout(Suite *s)
{
    TCase *tc = tcase_create("timeout");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_paused_calls_bounded);
    tcase_add_test(tc, test_first_get_one_round_trip);
    tcase_add_test(tc, test_cli_paused_bounded);
    tcase_add_test(tc, test_acl_noperm);
    suite_add_tcase(s, tc);
}
