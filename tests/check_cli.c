/*
 * check_cli.c - the built `tutorcache` binary, run as a user runs it: a
 * fork and exec per call with a clean environment (HOME and XDG_CACHE_HOME
 * in a temp dir, no REDIS_* inherited), stdin fed, and stdout, stderr and
 * the exit code checked separately. Each call is its own process, so every
 * round trip here also proves that values cross processes through the L2.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "cli_harness.h"
#include "suites.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"

/* ---- state a failed assertion must not leak ----------------------------- */

/* Teardown stops and removes these even after a failed assertion
 * (CK_FORK=no runs every test in one process). */
static char *g_tmp; /* the test's HOME */
static trs *g_srv;
static char g_bin[4096];

static void setup(void)
{
    snprintf(g_bin, sizeof(g_bin), "%s/tutorcache", tt_build_dir());
    ck_assert_msg(access(g_bin, X_OK) == 0, "%s: not built (%s)", g_bin,
                  strerror(errno));
    g_tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_tmp);
    tt_cli.bin = g_bin;
    tt_cli.home = g_tmp;
    tt_cli.url = NULL; /* each run names its store, or none */
    /* writing the stdin of a child that already exited must not kill us */
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    trs_stop(g_srv);
    g_srv = NULL;
    if (g_tmp) {
        tt_rmtree(g_tmp);
        free(g_tmp);
        g_tmp = NULL;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- running the binary ------------------------------------------------- */

/* A usage-style failure: the code, nothing on stdout, and one
 * "tutorcache: " diagnostic mentioning `part`. */
static void expect_diag(const run *r, int code, const char *part)
{
    expect(r, code, "", part);
    /* the library's JSON log lines may come first */
    ck_assert_msg(strncmp(r->err, "tutorcache: ", 12) == 0 ||
                      strstr(r->err, "\ntutorcache: ") != NULL,
                  "no line starts with \"tutorcache: \": %s", r->err);
}

/* ---- stores ------------------------------------------------------------- */

/* The stores of the loop tests; _i is one of these. */
enum { ST_LMDB, ST_REDIS, ST_UNIX, ST_MEMORY, ST_COUNT };

/* The URL of store kind k, starting a private server when needed. */
static const char *store_url(int k, char *buf, size_t n)
{
    if (k == ST_LMDB) {
        snprintf(buf, n, "lmdb://%s/db", g_tmp);
        return buf;
    }
    if (k == ST_MEMORY) {
        return "memory:";
    }
    if (!g_srv) {
        g_srv = trs_start(NULL);
        ck_assert_msg(g_srv != NULL, "redis-server did not start");
    }
    snprintf(buf, n, "%s",
             k == ST_REDIS ? trs_url(g_srv) : trs_unix_url(g_srv));
    return buf;
}

/* ---- round trips -------------------------------------------------------- */

/* set, get in a second process (from the L2), del, get and del again */
START_TEST(test_roundtrip)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = store_url(_i, url, sizeof(url));
    cli(&r, &h, "set", NS, "user:42", "{\"level\":3}");
    expect(&r, 0, "", "");
    run_free(&r);

    cli(&r, &h, "get", "--tier", NS, "user:42");
    if (_i == ST_MEMORY) {
        /* memory: is L1 only, and the L1 died with the first process */
        expect(&r, 1, "", "tutorcache: tier: miss");
        run_free(&r);
        return;
    }
    /* a fresh process has an empty L1: the answer came from the L2 */
    expect(&r, 0, "{\"level\":3}\n", "tutorcache: tier: l2\n");
    run_free(&r);

    cli(&r, &h, "get", "-n", NS, "user:42");
    expect(&r, 0, "{\"level\":3}", "");
    run_free(&r);

    cli(&r, &h, "del", NS, "user:42");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "user:42");
    expect(&r, 1, "", "");
    run_free(&r);
    cli(&r, &h, "del", NS, "user:42");
    expect(&r, 1, "", "");
    run_free(&r);
}
END_TEST

/* The value sits in Redis unwrapped, under the key the library names. */
START_TEST(test_redis_value_visible)
{
    char url[4200], key[TC_KEY_MAX];
    tc_options opt;
    tc_cache *c = NULL;
    how h = {0};
    char *got;
    run r;

    h.url = store_url(ST_REDIS, url, sizeof(url));
    cli(&r, &h, "set", NS, "q1", "answer one");
    expect(&r, 0, "", "");
    run_free(&r);

    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.store_url = url;
    ck_assert_int_eq(tc_cache_open(&c, &opt), TC_OK);
    ck_assert_int_eq(tc_cache_key(key, sizeof(key), c, NS, "q1", 2), TC_OK);
    tc_cache_close(c);
    got = trs_cmd(g_srv, "GET %s", key);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "answer one");
    free(got);
}
END_TEST

START_TEST(test_get_miss)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = store_url(_i, url, sizeof(url));
    cli(&r, &h, "get", NS, "never-set");
    expect(&r, 1, "", "");
    run_free(&r);
    cli(&r, &h, "get", "-t", NS, "never-set");
    expect(&r, 1, "", "tutorcache: tier: miss\n");
    run_free(&r);
}
END_TEST

/* --log-format text and json, and texts kept out of logs unless asked. */
START_TEST(test_log_formats)
{
    how h = {0};
    run r;
    cJSON *j;

    h.url = "memory:";
    cli(&r, &h, "--log-level", "debug", "--log-format", "text", "set", NS, "k",
        "v");
    expect(&r, 0, "", " debug cache_set namespace=" NS " key=tc:");
    ck_assert_msg(r.err[0] == '2' && r.err[23] == 'Z', "no time: %s", r.err);
    run_free(&r);
    cli(&r, &h, "--log-level", "debug", "--log-format", "json", "set", NS, "k",
        "v");
    expect(&r, 0, "", "\"event\":\"cache_set\"");
    j = cJSON_Parse(r.err);
    ck_assert_msg(j != NULL, "not JSON: %s", r.err);
    cJSON_Delete(j);
    run_free(&r);
    cli(&r, &h, "--log-format", "yaml", "get", NS, "k");
    expect(&r, 2, "", "--log-format");
    run_free(&r);
    /* debug without a format: every line, as text */
    cli(&r, &h, "--log-level", "debug", "set", NS, "k", "v");
    expect(&r, 0, "", " debug cache_set namespace=" NS " key=tc:");
    run_free(&r);
    cli(&r, &h, "-v", "--log-level", "debug", "set", NS, "k", "v");
    expect(&r, 0, "", " debug cache_set namespace=" NS " key=tc:");
    run_free(&r);
}
END_TEST

/* Every byte value, NULs and newlines included, through stdin and back. */
START_TEST(test_binary_stdin)
{
    char url[4200], val[1024 + 3];
    how h = {0};
    size_t i;
    run r;

    for (i = 0; i < 1024; i++) {
        val[i] = (char)(i * 7 % 256);
    }
    memcpy(val + 1024, "\n\0x", 3);
    h.url = store_url(_i, url, sizeof(url));
    h.in = val;
    h.inlen = sizeof(val);
    cli(&r, &h, "set", NS, "bin", "-");
    expect(&r, 0, "", "");
    run_free(&r);

    h.in = NULL;
    cli(&r, &h, "get", NS, "bin");
    expect(&r, 0, NULL, "");
    ck_assert_uint_eq(r.outlen, sizeof(val) + 1);
    ck_assert(memcmp(r.out, val, sizeof(val)) == 0);
    ck_assert_int_eq(r.out[sizeof(val)], '\n');
    run_free(&r);

    cli(&r, &h, "get", "--no-newline", NS, "bin");
    expect(&r, 0, NULL, "");
    ck_assert_uint_eq(r.outlen, sizeof(val));
    ck_assert(memcmp(r.out, val, sizeof(val)) == 0);
    run_free(&r);

    /* an empty stdin is an empty value, not a miss */
    h.in = "";
    h.inlen = 0;
    cli(&r, &h, "set", NS, "empty", "-");
    expect(&r, 0, "", "");
    run_free(&r);
    h.in = NULL;
    cli(&r, &h, "get", NS, "empty");
    expect(&r, 0, "\n", "");
    run_free(&r);

    /* a value that looks like an option goes after -- */
    cli(&r, &h, "set", NS, "neg", "--", "-5");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "neg");
    expect(&r, 0, "-5\n", "");
    run_free(&r);
}
END_TEST

START_TEST(test_ttl_expiry)
{
    char url[4200];
    how h = {0};
    int64_t t0;
    run r;

    h.url = store_url(_i, url, sizeof(url));
    t0 = now_ms();
    cli(&r, &h, "set", "--ttl", "0.4", NS, "short", "soon gone");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "short");
    /* only a get that surely ran inside the TTL must hit */
    if (now_ms() - t0 < 300) {
        expect(&r, 0, "soon gone\n", "");
    }
    run_free(&r);
    sleep_ms(t0 + 600 - now_ms());
    cli(&r, &h, "get", NS, "short");
    expect(&r, 1, "", "");
    run_free(&r);

    /* a longer TTL given the same way is kept */
    cli(&r, &h, "set", NS, "long", "stays", "--ttl", "60");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "long");
    expect(&r, 0, "stays\n", "");
    run_free(&r);
}
END_TEST

/* --store beats TUTORCACHE_URL */
START_TEST(test_option_beats_env)
{
    char a[4200], b[4200];
    how h = {0};
    run r;

    snprintf(a, sizeof(a), "lmdb://%s/a", g_tmp);
    snprintf(b, sizeof(b), "lmdb://%s/b", g_tmp);
    h.url = a;
    cli(&r, &h, "--store", b, "set", NS, "k", "in b");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "k");
    expect(&r, 1, "", "");
    run_free(&r);
    cli(&r, &h, "--store", b, "get", NS, "k");
    expect(&r, 0, "in b\n", "");
    run_free(&r);
}
END_TEST

/* No store configured at all: the default LMDB under XDG_CACHE_HOME. */
START_TEST(test_default_store)
{
    char path[4200];
    struct stat st;
    run r;

    cli(&r, NULL, "set", NS, "k", "v");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, NULL, "get", NS, "k");
    expect(&r, 0, "v\n", "");
    run_free(&r);
    snprintf(path, sizeof(path), "%s/cache/tutorcache", g_tmp);
    ck_assert_msg(stat(path, &st) == 0 && S_ISDIR(st.st_mode),
                  "%s was not created", path);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_usage_errors)
{
    static const char *const cases[][8] = {
        {NULL},
        {"frobnicate", NULL},
        {"get", NULL},
        {"get", NS, NULL},
        {"get", NS, "a", "b", NULL},
        {"get", "--bogus", NS, "a", NULL},
        {"get", "-x", NS, "a", NULL},
        {"get", NS, "a", "--store", "memory:", NULL},
        {"set", NS, "k", NULL},
        {"set", NS, "k", "v", "--ttl", NULL},
        {"set", NS, "k", "v", "--ttl", "-5", NULL},
        {"set", NS, "k", "v", "--ttl", "abc", NULL},
        {"set", NS, "k", "v", "--ttl", "0", NULL},
        {"set", NS, "k", "v", "--ttl", "1e99", NULL},
        {"set", NS, "k", "v", "--ttl", "nan", NULL},
        {"del", NS, NULL},
        {"ping", "extra", NULL},
        {"stats", "--format", "xml", NULL},
        {"config", "--format", NULL},
        {"help", "nope", NULL},
        {"--store", NULL},
        {"--log-level", "loud", "ping", NULL},
        {"--timeout", "abc", "ping", NULL},
        {"--timeout", "0", "ping", NULL},
        {"--bogus", "ping", NULL},
        {"bench", NULL},
        {"bench", "nope", NULL},
        {"bench", "cache", "--requests", "0", NULL},
        {"bench", "cache", "--threads", "0", NULL},
        {"bench", "cache", "--value-bytes", "x", NULL},
    };
    how h = {"memory:", NULL, NULL, 0, 0};
    size_t i;
    run r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_argv(&r, &h, (char *const *)cases[i]);
        ck_assert_msg(r.code == 2 && r.outlen == 0 &&
                          strncmp(r.err, "tutorcache: ", 12) == 0,
                      "case %zu (%s %s): exit %d, stdout \"%s\", stderr %s", i,
                      cases[i][0] ? cases[i][0] : "",
                      cases[i][0] && cases[i][1] ? cases[i][1] : "", r.code,
                      r.out, r.err);
        run_free(&r);
    }
    /* the message says what was wrong */
    cli(&r, &h, "set", NS, "k", "v", "--ttl", "-5");
    expect_diag(&r, 2, "--ttl");
    run_free(&r);
    cli(&r, &h, "frobnicate");
    expect_diag(&r, 2, "unknown command \"frobnicate\"");
    run_free(&r);
    cli(&r, &h, "get", NS, "a", "--store", "memory:");
    expect_diag(&r, 2, "global option");
    run_free(&r);
}
END_TEST

START_TEST(test_unknown_namespace)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = store_url(ST_LMDB, url, sizeof(url));
    cli(&r, &h, "get", "nope", "k");
    expect_diag(&r, 4, "unknown namespace \"nope\"");
    /* the message lists the namespaces there are */
    ck_assert_ptr_nonnull(strstr(r.err, NS));
    run_free(&r);
    cli(&r, &h, "set", "nope", "k", "v");
    expect_diag(&r, 4, "unknown namespace \"nope\"");
    run_free(&r);
    cli(&r, &h, "del", "nope", "k");
    expect_diag(&r, 4, "unknown namespace \"nope\"");
    run_free(&r);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_bad_config)
{
    char bad[4200], negttl[4200], env_cfg[4300], url[4200];
    const char *redis_env[] = {"REDIS_HOST=127.0.0.1", "REDIS_PORT=99999",
                               NULL};
    const char *cfg_env[] = {env_cfg, NULL};
    how h = {0};
    run r;

    /* a port out of range, in the option and in TUTORCACHE_URL */
    cli(&r, &h, "--store", "redis://127.0.0.1:99999", "ping");
    expect_diag(&r, 2, "port");
    ck_assert_ptr_nonnull(strstr(r.err, "99999"));
    run_free(&r);
    h.url = "redis://127.0.0.1:99999";
    cli(&r, &h, "get", NS, "k");
    expect_diag(&r, 2, "port");
    run_free(&r);

    h.url = "foo://somewhere";
    cli(&r, &h, "get", NS, "k");
    expect_diag(&r, 2, "scheme");
    run_free(&r);
    h.url = NULL;

    /* the original services' variables */
    h.env = redis_env;
    cli(&r, &h, "ping");
    expect_diag(&r, 2, "REDIS_PORT");
    run_free(&r);
    h.env = NULL;

    /* a config file that is not JSON: named, with its line */
    snprintf(bad, sizeof(bad), "%s/bad.json", g_tmp);
    write_file(bad, "{\n  \"store\": \"memory:\",\n  oops\n}\n");
    cli(&r, &h, "--config", bad, "config");
    expect_diag(&r, 2, "bad.json");
    ck_assert_ptr_nonnull(strstr(r.err, "malformed"));
    run_free(&r);
    snprintf(env_cfg, sizeof(env_cfg), "TUTORCACHE_CONFIG=%s", bad);
    h.env = cfg_env;
    cli(&r, &h, "get", NS, "k");
    expect_diag(&r, 2, "bad.json");
    run_free(&r);
    h.env = NULL;

    /* a config file with a field of the wrong value */
    snprintf(negttl, sizeof(negttl), "%s/negttl.json", g_tmp);
    write_file(negttl, "{\"namespaces\": {\"" NS "\": {\"ttl\": -5}}}\n");
    cli(&r, &h, "--config", negttl, "get", NS, "k");
    expect_diag(&r, 2, "ttl");
    ck_assert_ptr_nonnull(strstr(r.err, NS));
    run_free(&r);

    /* an LMDB directory that cannot be created: the store is unusable */
    snprintf(url, sizeof(url), "lmdb://%s/file/db", g_tmp);
    snprintf(bad, sizeof(bad), "%s/file", g_tmp);
    write_file(bad, "not a directory\n");
    h.url = url;
    cli(&r, &h, "get", NS, "k");
    expect_diag(&r, 3, "file");
    run_free(&r);
}
END_TEST

START_TEST(test_namespace_from_config)
{
    char cfg[4200], url[4200];
    how h = {0};
    run r;

    snprintf(cfg, sizeof(cfg), "%s/ns.json", g_tmp);
    write_file(cfg, "{\"namespaces\": {\"quiz\": {\"prefix\": \"quiz\", "
                    "\"ttl\": 30}}}\n");
    h.url = store_url(ST_LMDB, url, sizeof(url));
    cli(&r, &h, "--config", cfg, "set", "quiz", "q", "a");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "--config", cfg, "get", "quiz", "q");
    expect(&r, 0, "a\n", "");
    run_free(&r);
    /* without the file the namespace does not exist */
    cli(&r, &h, "get", "quiz", "q");
    expect_diag(&r, 4, "quiz");
    run_free(&r);
}
END_TEST

/* ---- a Redis that goes away --------------------------------------------- */

START_TEST(test_redis_down)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = store_url(ST_REDIS, url, sizeof(url));
    cli(&r, &h, "ping", "--format", "json");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "\"up\":true"));
    run_free(&r);
    cli(&r, &h, "set", NS, "k", "v");
    expect(&r, 0, "", "");
    run_free(&r);

    trs_kill(g_srv);
    /* the record still goes to stdout, for monitors; the code says down */
    cli(&r, &h, "--timeout", "200", "ping", "--format", "json");
    expect(&r, 3, NULL, "tutorcache: ping: ");
    ck_assert_ptr_nonnull(strstr(r.out, "\"up\":false"));
    run_free(&r);
    cli(&r, &h, "ping", "--format", "table");
    expect(&r, 3, NULL, "tutorcache: ");
    run_free(&r);

    /* a get degrades to a miss, with one warning line for people and a
     * count of the rest; every line with -v, or as JSON */
    cli(&r, &h, "get", NS, "k");
    expect(&r, 1, "", "tutorcache: warning: ");
    ck_assert_msg(strstr(r.err, "\n") == strrchr(r.err, '\n') ||
                      strstr(strstr(r.err, "\n") + 1, "more log lines; -v"),
                  "more than one warning line: %s", r.err);
    ck_assert_ptr_null(strstr(r.err, "{\""));
    run_free(&r);
    cli(&r, &h, "-v", "get", NS, "k");
    expect(&r, 1, "", " warn l2_");
    run_free(&r);
    cli(&r, &h, "--log-format", "json", "get", NS, "k");
    expect(&r, 1, "", "\"level\":\"warn\"");
    run_free(&r);
    cli(&r, &h, "--log-level", "off", "get", NS, "k");
    expect(&r, 1, "", "");
    run_free(&r);

    /* a set that reached only this process's L1 stored nothing */
    cli(&r, &h, "--log-level", "off", "set", NS, "k2", "v");
    expect_diag(&r, 3, "unreachable");
    run_free(&r);
    cli(&r, &h, "--log-level", "off", "del", NS, "k");
    expect_diag(&r, 3, NULL);
    run_free(&r);

    /* and when it is back, so is everything */
    ck_assert_int_eq(trs_restart(g_srv), 0);
    cli(&r, &h, "ping");
    expect(&r, 0, NULL, "");
    run_free(&r);
    cli(&r, &h, "set", NS, "k3", "back");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "k3");
    expect(&r, 0, "back\n", "");
    run_free(&r);
}
END_TEST

/* Nothing listens there: ping says so, quickly, with exit 3. */
START_TEST(test_ping_nothing_listening)
{
    how h = {"redis://127.0.0.1:1", NULL, NULL, 0, 0};
    run r;

    cli(&r, &h, "--log-level", "off", "ping", "--format", "json");
    expect(&r, 3, NULL, "tutorcache: ping: ");
    ck_assert_ptr_nonnull(strstr(r.out, "\"up\":false"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"kind\":\"redis\""));
    run_free(&r);
}
END_TEST

START_TEST(test_password_masked)
{
    char url[4200], bad[4200], port[32];
    const char *env[] = {"REDIS_HOST=127.0.0.1", port, "REDIS_PASSWORD=s3cret",
                         NULL};
    static const char *const cmds[][4] = {
        {"config", "--format", "json", NULL},
        {"config", "--format", "table", NULL},
        {"ping", "--format", "json", NULL},
        {"ping", "--format", "table", NULL},
        {"stats", "--format", "json", NULL},
        {"stats", "--format", "table", NULL},
    };
    how h = {0};
    cJSON *root, *store;
    size_t i;
    run r;

    g_srv = trs_start("requirepass s3cret\n");
    ck_assert_ptr_nonnull(g_srv);
    snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d", trs_port(g_srv));
    h.url = url;
    /* each command with the URL in TUTORCACHE_URL, then in --store */
    for (i = 0; i < 2 * sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *const *c = cmds[i / 2];
        char *args[6] = {"--store", url};

        if (i % 2 == 0) {
            run_argv(&r, &h, (char *const *)c);
        } else {
            memcpy(args + 2, c, 4 * sizeof(*c));
            run_argv(&r, &h, args);
        }
        ck_assert_msg(r.code == 0, "%s %s: exit %d: %s", c[0], c[2], r.code,
                      r.err);
        ck_assert_msg(!strstr(r.out, "s3cret") && !strstr(r.err, "s3cret"),
                      "%s %s shows the password: %s%s", c[0], c[2], r.out,
                      r.err);
        ck_assert_msg(strstr(r.out, "***") != NULL, "%s %s: no mask: %s", c[0],
                      c[2], r.out);
        run_free(&r);
    }
    cli(&r, &h, "config");
    expect(&r, 0, NULL, "");
    root = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(root);
    store = cJSON_GetObjectItemCaseSensitive(root, "store");
    ck_assert(cJSON_IsString(store));
    ck_assert(strncmp(store->valuestring, "redis://:***@127.0.0.1:", 23) == 0);
    cJSON_Delete(root);
    run_free(&r);

    /* the password works: data goes through */
    cli(&r, &h, "set", NS, "k", "v");
    expect(&r, 0, "", "");
    run_free(&r);
    cli(&r, &h, "get", NS, "k");
    expect(&r, 0, "v\n", "");
    run_free(&r);

    /* the same through REDIS_HOST, REDIS_PORT, REDIS_PASSWORD */
    snprintf(port, sizeof(port), "REDIS_PORT=%d", trs_port(g_srv));
    h.url = NULL;
    h.env = env;
    cli(&r, &h, "config");
    expect(&r, 0, NULL, "");
    ck_assert_msg(!strstr(r.out, "s3cret") && !strstr(r.err, "s3cret"), "%s%s",
                  r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "\"store_source\":\"REDIS_HOST\""));
    run_free(&r);
    cli(&r, &h, "get", NS, "k");
    expect(&r, 0, "v\n", "");
    run_free(&r);

    /* a wrong password: refused, exit 3, and still not shown */
    snprintf(bad, sizeof(bad), "redis://:wr0ng@127.0.0.1:%d", trs_port(g_srv));
    h.env = NULL;
    h.url = bad;
    cli(&r, &h, "ping");
    expect_diag(&r, 3, NULL);
    ck_assert_msg(!strstr(r.out, "wr0ng") && !strstr(r.err, "wr0ng"), "%s%s",
                  r.out, r.err);
    run_free(&r);
}
END_TEST

/* ---- output ------------------------------------------------------------- */

START_TEST(test_stats_and_config)
{
    char url[4200];
    cJSON *root, *o;
    how h = {0};
    run r;

    h.url = store_url(ST_LMDB, url, sizeof(url));
    /* JSON by default when stdout is not a terminal */
    cli(&r, &h, "stats");
    expect(&r, 0, NULL, "");
    ck_assert_int_eq(r.out[r.outlen - 1], '\n');
    root = cJSON_Parse(r.out);
    ck_assert_msg(root != NULL, "not JSON: %s", r.out);
    o = cJSON_GetObjectItemCaseSensitive(root, "namespaces");
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(o, NS));
    o = cJSON_GetObjectItemCaseSensitive(root, "l2");
    o = cJSON_GetObjectItemCaseSensitive(o, "kind");
    ck_assert(cJSON_IsString(o));
    ck_assert_str_eq(o->valuestring, "lmdb");
    cJSON_Delete(root);
    run_free(&r);

    cli(&r, &h, "stats", "--format", "table");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, NS));
    ck_assert_ptr_nonnull(strstr(r.out, "l2.kind"));
    ck_assert_ptr_null(strchr(r.out, '{'));
    run_free(&r);

    cli(&r, &h, "config");
    expect(&r, 0, NULL, "");
    root = cJSON_Parse(r.out);
    ck_assert_msg(root != NULL, "not JSON: %s", r.out);
    o = cJSON_GetObjectItemCaseSensitive(root, "store_source");
    ck_assert(cJSON_IsString(o));
    ck_assert_str_eq(o->valuestring, "TUTORCACHE_URL");
    o = cJSON_GetObjectItemCaseSensitive(root, "store");
    ck_assert(cJSON_IsString(o));
    ck_assert_str_eq(o->valuestring, url);
    cJSON_Delete(root);
    run_free(&r);

    cli(&r, &h, "config", "--format", "table");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "ml_pred"));
    run_free(&r);

    cli(&r, &h, "ping");
    expect(&r, 0, NULL, "");
    root = cJSON_Parse(r.out);
    ck_assert_msg(root != NULL, "not JSON: %s", r.out);
    o = cJSON_GetObjectItemCaseSensitive(root, "kind");
    ck_assert_str_eq(o->valuestring, "lmdb");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "up")));
    ck_assert(
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "latency_us")));
    cJSON_Delete(root);
    run_free(&r);
}
END_TEST

static const char *const all_commands[] = {"get",   "set",    "del",   "ping",
                                           "stats", "config", "bench", "help"};

START_TEST(test_help)
{
    char want[64];
    how h = {"memory:", NULL, NULL, 0, 0};
    run main_help, r, r2, r3;
    size_t i;

    cli(&main_help, &h, "--help");
    expect(&main_help, 0, NULL, "");
    ck_assert(strncmp(main_help.out, "Usage: tutorcache ", 18) == 0);
    ck_assert_ptr_nonnull(strstr(main_help.out, "Exit codes:"));
    ck_assert_ptr_nonnull(strstr(main_help.out, "--store URL"));
    ck_assert_ptr_nonnull(strstr(main_help.out, "--timeout MS"));
    for (i = 0; i <= 5; i++) {
        snprintf(want, sizeof(want), "\n  %zu  ", i);
        ck_assert_msg(strstr(main_help.out, want) != NULL,
                      "exit code %zu not in --help", i);
    }
    for (i = 0; i < sizeof(all_commands) / sizeof(all_commands[0]); i++) {
        snprintf(want, sizeof(want), "\n  %s ", all_commands[i]);
        ck_assert_msg(strstr(main_help.out, want) != NULL, "%s not in --help",
                      all_commands[i]);

        cli(&r, &h, all_commands[i], "--help");
        expect(&r, 0, NULL, "");
        snprintf(want, sizeof(want), "Usage: tutorcache %s", all_commands[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
        cli(&r2, &h, all_commands[i], "-h");
        expect(&r2, 0, r.out, "");
        cli(&r3, &h, "help", all_commands[i]);
        expect(&r3, 0, r.out, "");
        run_free(&r);
        run_free(&r2);
        run_free(&r3);
    }
    cli(&r, &h, "help");
    expect(&r, 0, main_help.out, "");
    run_free(&r);
    cli(&r, &h, "-h");
    expect(&r, 0, main_help.out, "");
    run_free(&r);
    run_free(&main_help);

    snprintf(want, sizeof(want), "tutorcache %s\n", tc_version());
    cli(&r, &h, "--version");
    expect(&r, 0, want, "");
    run_free(&r);
}
END_TEST

/* A full disk (or a closed pipe) on stdout is a failure, not a success. */
START_TEST(test_stdout_full)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = store_url(ST_LMDB, url, sizeof(url));
    cli(&r, &h, "set", NS, "k", "some value");
    expect(&r, 0, "", "");
    run_free(&r);

    h.stdout_full = 1;
    cli(&r, &h, "get", NS, "k");
    expect(&r, 5, NULL, "tutorcache: write error on stdout");
    run_free(&r);
    cli(&r, &h, "config");
    expect(&r, 5, NULL, "stdout");
    run_free(&r);
    cli(&r, &h, "--help");
    expect(&r, 5, NULL, "stdout");
    run_free(&r);
    /* nothing written, nothing failed: a miss stays a miss */
    cli(&r, &h, "get", NS, "absent");
    expect(&r, 1, NULL, "");
    run_free(&r);
}
END_TEST

/* ---- bench -------------------------------------------------------------- */

/* Checks the JSON lines of a bench run against the expected scenarios. */
static void check_bench_lines(const char *out, const char *const *want,
                              size_t nwant, int threads, int requests)
{
    char *copy = strdup(out), *line, *save = NULL;
    int seen[16] = {0};
    size_t nlines = 0, i;

    ck_assert_ptr_nonnull(copy);
    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line), *f;
        const char *name;
        double p50;
        int batch, th;

        ck_assert_msg(o != NULL && cJSON_IsObject(o), "not JSON: %s", line);
        f = cJSON_GetObjectItemCaseSensitive(o, "scenario");
        ck_assert_msg(cJSON_IsString(f), "no scenario: %s", line);
        name = f->valuestring;
        for (i = 0; i < nwant && strcmp(want[i], name) != 0; i++) {
        }
        ck_assert_msg(i < nwant, "unexpected scenario %s", name);
        ck_assert_msg(!seen[i]++, "scenario %s twice", name);
        f = cJSON_GetObjectItemCaseSensitive(o, "ops_per_sec");
        ck_assert_msg(cJSON_IsNumber(f) && f->valuedouble > 0, "%s", line);
        f = cJSON_GetObjectItemCaseSensitive(o, "p50_us");
        ck_assert_msg(cJSON_IsNumber(f) && f->valuedouble >= 0, "%s", line);
        p50 = f->valuedouble;
        f = cJSON_GetObjectItemCaseSensitive(o, "p99_us");
        ck_assert_msg(cJSON_IsNumber(f) && f->valuedouble >= p50, "%s", line);
        f = cJSON_GetObjectItemCaseSensitive(o, "errors");
        ck_assert_msg(cJSON_IsNumber(f) && f->valuedouble == 0, "errors: %s",
                      line);
        f = cJSON_GetObjectItemCaseSensitive(o, "batch");
        batch = cJSON_IsNumber(f) ? (int)f->valuedouble : 1;
        ck_assert_int_eq(batch, strstr(name, "16") ? 16 : 1);
        th = strstr(name, "_threads") ? threads : 1;
        f = cJSON_GetObjectItemCaseSensitive(o, "threads");
        ck_assert_msg(cJSON_IsNumber(f) && (int)f->valuedouble == th, "%s",
                      line);
        f = cJSON_GetObjectItemCaseSensitive(o, "ops");
        ck_assert_msg(cJSON_IsNumber(f) &&
                          f->valuedouble == (double)requests * th * batch,
                      "ops: %s", line);
        cJSON_Delete(o);
        nlines++;
    }
    free(copy);
    ck_assert_uint_eq(nlines, nwant);
}

START_TEST(test_bench)
{
    static const char *const memory[] = {"l1_hit", "l1_hit_threads2",
                                         "miss_set", "miss_set_threads2"};
    static const char *const lmdb[] = {
        "l1_hit",     "l1_hit_threads2",     "l2_hit",   "l2_hit_threads2",
        "l2_batch16", "l2_batch16_threads2", "miss_set", "miss_set_threads2"};
    static const char *const redis[] = {
        "l1_hit",           "l1_hit_threads2",   "l2_hit",
        "l2_hit_threads2",  "l2_batch16",        "l2_batch16_threads2",
        "miss_set",         "miss_set_threads2", "raw_get",
        "raw_get_threads2", "raw_pipe16",        "raw_pipe16_threads2"};
    char url[4200];
    how h = {0};
    run r;

    h.url = store_url(_i, url, sizeof(url));
    cli(&r, &h, "bench", "cache", "--requests", "200", "--keys", "500",
        "--threads", "2", "--json");
    expect(&r, 0, NULL, "");
    if (_i == ST_MEMORY) {
        check_bench_lines(r.out, memory, 4, 2, 200);
    } else if (_i == ST_LMDB) {
        check_bench_lines(r.out, lmdb, 8, 2, 200);
    } else {
        check_bench_lines(r.out, redis, 12, 2, 200);
        /* the library's scenarios are compared with raw hiredis */
        ck_assert_ptr_nonnull(strstr(r.out, "\"vs_raw\":"));
    }
    run_free(&r);

    /* the table for people, one thread: no _threads rows */
    cli(&r, &h, "bench", "cache", "--requests", "50", "--keys", "100",
        "--threads", "1");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "l1_hit"));
    ck_assert_ptr_null(strstr(r.out, "_threads"));
    if (_i == ST_REDIS || _i == ST_UNIX) {
        ck_assert_ptr_nonnull(strstr(r.out, "l2_hit / raw_get"));
    }
    run_free(&r);
}
END_TEST

/* raw_* authenticate with the password of the URL the library used */
START_TEST(test_bench_redis_auth)
{
    static const char *const one_thread[] = {
        "l1_hit", "l2_hit", "l2_batch16", "miss_set", "raw_get", "raw_pipe16"};
    char url[4200];
    how h = {0};
    run r;

    g_srv = trs_start("requirepass s3cret\n");
    ck_assert_ptr_nonnull(g_srv);
    snprintf(url, sizeof(url), "%s?password=s3cret", trs_unix_url(g_srv));
    h.url = url;
    cli(&r, &h, "bench", "cache", "--requests", "20", "--keys", "50",
        "--threads", "1", "--json");
    expect(&r, 0, NULL, "");
    /* every scenario ran, without a single unexpected answer */
    check_bench_lines(r.out, one_thread, 6, 1, 20);
    ck_assert_ptr_null(strstr(r.out, "s3cret"));
    run_free(&r);

    /* a store that is down: nothing to measure */
    trs_kill(g_srv);
    cli(&r, &h, "--log-level", "off", "bench", "cache", "--requests", "20",
        "--keys", "50");
    expect_diag(&r, 3, NULL);
    run_free(&r);
}
END_TEST

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, ST_COUNT);
    tcase_add_test(tc, test_redis_value_visible);
    tcase_add_loop_test(tc, test_get_miss, 0, ST_COUNT);
    tcase_add_loop_test(tc, test_binary_stdin, ST_LMDB, ST_UNIX + 1);
    tcase_add_loop_test(tc, test_ttl_expiry, ST_LMDB, ST_REDIS + 1);
    tcase_add_test(tc, test_option_beats_env);
    tcase_add_test(tc, test_default_store);
    tcase_add_test(tc, test_usage_errors);
    tcase_add_test(tc, test_unknown_namespace);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_namespace_from_config);
    tcase_add_test(tc, test_redis_down);
    tcase_add_test(tc, test_ping_nothing_listening);
    tcase_add_test(tc, test_password_masked);
    tcase_add_test(tc, test_stats_and_config);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_log_formats);
    tcase_add_test(tc, test_stdout_full);
    tcase_add_loop_test(tc, test_bench, ST_LMDB, ST_MEMORY + 1);
    tcase_add_test(tc, test_bench_redis_auth);
    suite_add_tcase(s, tc);
    return s;
}
