/*
 * check_tls.c - the Redis store over TLS (rediss://), against a real
 * redis-server serving TLS with certificates made for the case
 * (tls_fixture.c): round trips, each reason a certificate is rejected and
 * how it is said, client certificates, a connection the server killed,
 * the explicit opt-out, where the settings come from, and the CLI.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "cli_harness.h"
#include "cluster_fixture.h"
#include "suites.h"
#include "tls_fixture.h"
#include "tutorcache.h"

/* Generous: a handshake under valgrind on a loaded machine is slow. */
#define TIMEOUT_MS 5000
#define BIG (200 * 1024)

static char logbuf[32768];

static void log_collect(void *ud, tc_log_level level, const char *json)
{
    size_t n = strlen(logbuf);

    (void)ud, (void)level;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", json);
}

static int open_url(tc_cache **h, const char *url, unsigned flags)
{
    tc_options o;

    tc_options_init(&o);
    o.flags = flags;
    o.store_url = url;
    o.log_fn = log_collect;
    o.log_level = TC_LOG_INFO;
    o.connect_timeout_ms = TIMEOUT_MS;
    o.command_timeout_ms = TIMEOUT_MS;
    logbuf[0] = '\0';
    return tc_cache_open(h, &o);
}

static tc_cache *open_ok(const char *url)
{
    tc_cache *h = NULL;
    int rc = open_url(&h, url, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG);

    ck_assert_msg(rc == TC_OK, "%s: %s: %s", url, tc_error_name(rc),
                  tc_errmsg());
    return h;
}

/* Opening url fails with code, and the message holds part. */
static void open_fails(const char *url, int code, const char *part)
{
    tc_cache *h = NULL;
    int rc = open_url(&h, url, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG);

    ck_assert_msg(rc == code, "%s: %s, wanted %s: %s", url, tc_error_name(rc),
                  tc_error_name(code), tc_errmsg());
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(tc_errmsg(), part) != NULL,
                  "%s: the message does not say %s: %s", url, part,
                  tc_errmsg());
}

/* The reply of a command on the server's plain unix socket. */
static void server_says(trs *s, const char *cmd, const char *want)
{
    char *got = trs_cmd(s, cmd);

    ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s, wanted %s", cmd,
                  got ? got : "(no reply)", want);
    free(got);
}

START_TEST(test_roundtrip)
{
    trs *s = tls_server("server", "optional");
    char url[8192], id[TC_FEEDBACK_ID_MAX], *big = malloc(BIG);
    tc_cache *a, *b;
    tc_item items[2] = {{0}};
    void *val = NULL;
    size_t len = 0;
    tc_tier tier;
    int outcome = -1;
    const char *rec =
        "{\"text\":\"What is a tuple?\",\"original_intent\":\"debugging\","
        "\"correct_intent\":\"explanation\",\"original_confidence\":0.6,"
        "\"feedback_type\":\"correction\"}";

    tls_url(url, sizeof(url), s, NULL);
    a = open_ok(url);
    b = open_ok(url);
    ck_assert_int_eq(tc_cache_ping(a, NULL), TC_OK);
    ck_assert_int_eq(tc_cache_set(a, "intents", "k1", 2, "v1", 2, 60000),
                     TC_OK);
    /* a value larger than a TLS record, sent from the caller's memory */
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < BIG; i++) {
        big[i] = (char)('a' + i % 26);
    }
    ck_assert_int_eq(tc_cache_set(a, "intents", "k2", 2, big, BIG, 60000),
                     TC_OK);
    /* b has nothing in L1: both come from the server, in one round trip */
    items[0].key = "k1";
    items[0].keylen = 2;
    items[1].key = "k2";
    items[1].keylen = 2;
    ck_assert_int_eq(tc_cache_mget(b, "intents", items, 2), TC_OK);
    ck_assert_int_eq(items[0].status, TC_OK);
    ck_assert_int_eq(items[0].tier, TC_TIER_L2);
    ck_assert_int_eq((int)items[0].len, 2);
    ck_assert(memcmp(items[0].val, "v1", 2) == 0);
    ck_assert_int_eq(items[1].status, TC_OK);
    ck_assert_uint_eq(items[1].len, BIG);
    ck_assert(memcmp(items[1].val, big, BIG) == 0);
    tc_free(items[0].val);
    tc_free(items[1].val);
    /* b holds k1 in L1 now; a's delete reaches it through b's tracking
     * connection, which is TLS too */
    ck_assert_int_eq(tc_cache_del(a, "intents", "k1", 2), TC_OK);
    for (int64_t end = tt_now_ms() + 10000;; tt_sleep_ms(10)) {
        int rc = tc_cache_get(&val, &len, &tier, b, "intents", "k1", 2);

        tc_free(val);
        val = NULL;
        if (rc == TC_MISS) {
            break;
        }
        ck_assert_msg(tt_now_ms() < end, "b still serves the deleted k1");
    }
    ck_assert_int_eq(tc_feedback_submit_json(id, &outcome, a, rec, strlen(rec)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    server_says(s, "XLEN tc:fb:stream", "1");
    tc_cache_close(a);
    tc_cache_close(b);
    free(big);
    trs_stop(s);
}
END_TEST

/* Each reason a server's certificate is refused, as open says it. */
static const struct {
    const char *cert, *more, *cause;
} rejected[] = {
    {"other", NULL, "TLS: unknown CA"},
    {"expired", NULL, "TLS: certificate expired"},
    {"server", "tls_server_name=elsewhere.example", "TLS: name mismatch"},
};

START_TEST(test_rejected)
{
    trs *s = tls_server(rejected[_i].cert, "optional");
    char url[8192];

    tls_url(url, sizeof(url), s, rejected[_i].more);
    open_fails(url, TC_ETLS, rejected[_i].cause);
    /* and which server it was */
    open_fails(url, TC_ETLS, trs_url(s));
    trs_stop(s);
}
END_TEST

/* A server that requires a client certificate: refused without one,
 * served with tls_cert and tls_key. */
START_TEST(test_client_cert)
{
    trs *s = tls_server("server", "yes");
    char url[8192], more[4400];
    tc_cache *h;

    tls_url(url, sizeof(url), s, NULL);
    open_fails(url, TC_ETLS, "certificate");
    snprintf(more, sizeof(more), "tls_cert=%s/client.crt&tls_key=%s/client.key",
             tls_dir(), tls_dir());
    tls_url(url, sizeof(url), s, more);
    h = open_ok(url);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 60000), TC_OK);
    server_says(s, "DBSIZE", "1");
    tc_cache_close(h);
    trs_stop(s);
}
END_TEST

/* A certificate file that does not hold what it should is named. */
START_TEST(test_bad_files)
{
    trs *s = tls_server("server", "optional");
    char url[8192], more[4400];

    /* a key that is not the certificate's */
    snprintf(more, sizeof(more), "tls_cert=%s/client.crt&tls_key=%s/server.key",
             tls_dir(), tls_dir());
    tls_url(url, sizeof(url), s, more);
    open_fails(url, TC_ETLS, "tls_key");
    /* a CA file that is not there */
    snprintf(url, sizeof(url), "%s?tls_ca=%s/nowhere.crt", trs_url(s),
             tls_dir());
    open_fails(url, TC_ETLS, "nowhere.crt");
    /* a certificate without its key */
    snprintf(more, sizeof(more), "tls_cert=%s/client.crt", tls_dir());
    tls_url(url, sizeof(url), s, more);
    open_fails(url, TC_ECONFIG, "one without the other");
    /* TLS settings on a URL that is not TLS */
    snprintf(url, sizeof(url), "redis://127.0.0.1:1?tls_ca=%s/ca.crt",
             tls_dir());
    open_fails(url, TC_ECONFIG, "only with rediss://");
    trs_stop(s);
}
END_TEST

/*
 * A handshake that never ends counts against the connect timeout: with a
 * server that takes the connection and never answers (_i 0), and with a
 * plain Redis named by rediss:// (_i 1), which waits for the end of a
 * command line that a ClientHello never brings. The open, which does not
 * fail on a server that is down, leaves the store degraded, and a call
 * says what timed out.
 */
START_TEST(test_handshake_timeout)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    trs *plain = NULL;
    char url[8192];
    tc_options o;
    tc_cache *h = NULL;
    int64_t t0;
    int rc, port;

    if (_i == 0) {
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                  listen(fd, 8) == 0 &&
                  getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
        port = ntohs(a.sin_port);
    } else {
        ck_assert_ptr_nonnull(plain = trs_start(NULL));
        port = trs_port(plain);
    }
    snprintf(url, sizeof(url), "rediss://127.0.0.1:%d?tls_ca=%s/ca.crt", port,
             tls_dir());
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.connect_timeout_ms = 300;
    o.command_timeout_ms = 300;
    t0 = tt_now_ms();
    rc = tc_cache_open(&h, &o);
    ck_assert_msg(rc == TC_OK, "%s: %s", tc_error_name(rc), tc_errmsg());
    rc = tc_cache_ping(h, NULL);
    ck_assert_msg(rc == TC_ETIMEOUT, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_msg(strstr(tc_errmsg(), "TLS handshake timed out") != NULL, "%s",
                  tc_errmsg());
    /* a bound, not a measure: the handshake did not wait forever */
    ck_assert_msg(tt_now_ms() - t0 < 20000, "took %lld ms",
                  (long long)(tt_now_ms() - t0));
    tc_cache_close(h);
    close(fd);
    trs_stop(plain);
}
END_TEST

/* A TLS connection the server closes is replaced on the next call. */
START_TEST(test_killed_connection)
{
    trs *s = tls_server("server", "optional");
    char url[8192], *killed, *stats;
    tc_cache *h;

    tls_url(url, sizeof(url), s, "tracking=off");
    h = open_ok(url);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 60000), TC_OK);
    killed = trs_cmd(s, "CLIENT KILL TYPE normal");
    ck_assert_msg(killed && atoi(killed) >= 1, "CLIENT KILL: %s",
                  killed ? killed : "(no reply)");
    free(killed);
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k2", 2, "v2", 2, 60000),
                     TC_OK);
    server_says(s, "DBSIZE", "2");
    ck_assert_int_eq(tc_cache_stats_json(&stats, h), TC_OK);
    ck_assert_msg(strstr(stats, "\"reconnects\":0") == NULL,
                  "no reconnect counted: %s", stats);
    tc_free(stats);
    tc_cache_close(h);
    trs_stop(s);
}
END_TEST

/* tls_insecure=1 reaches a server no CA vouches for, and says so. */
START_TEST(test_insecure)
{
    trs *s = tls_server("other", "optional");
    char url[8192];
    tc_cache *h;

    tls_url(url, sizeof(url), s, "tls_insecure=1");
    h = open_ok(url);
    ck_assert_msg(strstr(logbuf, "\"tls_insecure\"") != NULL,
                  "no warning logged: %s", logbuf);
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    tc_cache_close(h);
    trs_stop(s);
}
END_TEST

/* The settings from the environment and the config file, for a URL that
 * names none; the URL's own win. */
START_TEST(test_settings_sources)
{
    trs *s = tls_server("server", "optional");
    char ca[4200], cfgpath[4200], text[16384], want[4300], *json;
    tc_cache *h = NULL;
    tc_options o;
    int rc;

    snprintf(ca, sizeof(ca), "%s/ca.crt", tls_dir());
    /* the environment */
    setenv("TUTORCACHE_TLS_CA", ca, 1);
    rc = open_url(&h, trs_url(s), TC_OPT_NO_CONFIG);
    ck_assert_msg(rc == TC_OK, "%s: %s", tc_error_name(rc), tc_errmsg());
    /* the configuration says what it uses */
    ck_assert_int_eq(tc_cache_config_json(&json, h), TC_OK);
    snprintf(want, sizeof(want), "\"tls\":{\"ca\":\"%s\",\"cert\":null", ca);
    ck_assert_msg(strstr(json, want) != NULL, "%s", json);
    tc_free(json);
    tc_cache_close(h);
    /* with the environment off, no CA: the system's do not know ours */
    rc = open_url(&h, trs_url(s), TC_OPT_NO_ENV | TC_OPT_NO_CONFIG);
    ck_assert_msg(rc == TC_ETLS, "%s: %s", tc_error_name(rc), tc_errmsg());
    unsetenv("TUTORCACHE_TLS_CA");
    /* the config file */
    snprintf(cfgpath, sizeof(cfgpath), "%s/tls.json", tls_dir());
    snprintf(text, sizeof(text), "{\"store\":\"%s\",\"tls_ca\":\"%s\"}",
             trs_url(s), ca);
    tt_write_file(cfgpath, text, 0600);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.config_path = cfgpath;
    o.connect_timeout_ms = o.command_timeout_ms = TIMEOUT_MS;
    rc = tc_cache_open(&h, &o);
    ck_assert_msg(rc == TC_OK, "%s: %s", tc_error_name(rc), tc_errmsg());
    tc_cache_close(h);
    trs_stop(s);
}
END_TEST

/* The CLI: ping over TLS, and a refused certificate's exit code. */
START_TEST(test_cli_ping)
{
    trs *good = tls_server("server", "optional");
    trs *bad = tls_server("other", "optional");
    char url[8192];
    run r;

    tls_url(url, sizeof(url), good, NULL);
    cli(&r, NULL, "--store", url, "ping");
    expect(&r, 0, NULL, "");
    ck_assert_msg(strstr(r.out, "\"up\":true") != NULL, "%s", r.out);
    run_free(&r);
    tls_url(url, sizeof(url), bad, NULL);
    cli(&r, NULL, "--store", url, "ping");
    expect_diag(&r, 3, "unknown CA");
    run_free(&r);
    trs_stop(good);
    trs_stop(bad);
}
END_TEST

/* ---- a cluster over TLS ---------------------------------------------------
 */

static tcl *g_cl;

static void cluster_setup(void)
{
    char conf[16384];

    tls_case_setup();
    tls_conf(conf, sizeof(conf), "server", "optional");
    g_cl = tcl_start_tls(5000, conf);
}

static void cluster_teardown(void)
{
    tcl_stop(g_cl);
    g_cl = NULL;
    tls_case_teardown();
}

/* rediss-cluster://: keys routed to every master, each over TLS, and
 * read back by a handle that holds none of them. */
START_TEST(test_cluster)
{
    char url[8192], key[16], val[16], buf[64], *n;
    tc_cache *a, *b;
    long long total = 0;
    int masters = 0;

    ck_assert_msg(g_cl != NULL, "the TLS cluster did not start");
    snprintf(url, sizeof(url), "%s?tls_ca=%s/ca.crt", tcl_url(g_cl), tls_dir());
    a = open_ok(url);
    b = open_ok(url);
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert_int_eq(tc_cache_set(a, "intents", key, strlen(key), key,
                                      strlen(key), 60000),
                         TC_OK);
    }
    for (int i = 0; i < 30; i++) {
        void *v = NULL;
        size_t len = 0;
        tc_tier tier;

        snprintf(key, sizeof(key), "k%d", i);
        ck_assert_int_eq(
            tc_cache_get(&v, &len, &tier, b, "intents", key, strlen(key)),
            TC_OK);
        snprintf(val, sizeof(val), "%.*s", (int)len, (char *)v);
        ck_assert_str_eq(val, key);
        ck_assert_int_eq(tier, TC_TIER_L2);
        tc_free(v);
    }
    /* the masters hold them all between them */
    for (int i = 0; i < TCL_NODES; i++) {
        tcl_key_on(g_cl, i, "x", buf, sizeof(buf));
        if (buf[0] && (n = trs_cmd(tcl_node(g_cl, i), "DBSIZE"))) {
            masters += atoll(n) > 0;
            total += atoll(n);
            free(n);
        }
    }
    ck_assert_int_eq(total, 30);
    ck_assert_int_ge(masters, 2);
    tc_cache_close(a);
    tc_cache_close(b);
}
END_TEST

Suite *suite_tls(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    TCase *cl = tcase_create("tls_cli");
    TCase *cc = tcase_create("tls_cluster");

    tcase_add_unchecked_fixture(tc, tls_case_setup, tls_case_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_loop_test(tc, test_rejected, 0,
                        sizeof(rejected) / sizeof(rejected[0]));
    tcase_add_test(tc, test_client_cert);
    tcase_add_test(tc, test_bad_files);
    tcase_add_loop_test(tc, test_handshake_timeout, 0, 2);
    tcase_add_test(tc, test_killed_connection);
    tcase_add_test(tc, test_insecure);
    tcase_add_test(tc, test_settings_sources);
    suite_add_tcase(s, tc);
    tcase_add_unchecked_fixture(cl, tls_case_setup, tls_case_teardown);
    tcase_add_checked_fixture(cl, cli_setup_nostore, cli_teardown);
    tcase_set_timeout(cl, 120);
    tcase_add_test(cl, test_cli_ping);
    suite_add_tcase(s, cl);
    tcase_add_unchecked_fixture(cc, cluster_setup, cluster_teardown);
    tcase_set_timeout(cc, 120);
    tcase_add_test(cc, test_cluster);
    suite_add_tcase(s, cc);
    return s;
}
