/*
 * check_cli.c - the built `tutorcache` binary, run as a user runs it: a
 * fork and exec per call with a clean environment (HOME and XDG_CACHE_HOME
 * in a temp dir, no REDIS_* inherited), stdin fed, and stdout, stderr and
 * the exit code checked separately. Each call is its own process, so every
 * round trip here also proves that values cross processes through the L2.
 * Here: round trips on every store, TTLs, where the store comes from, and
 * the usage and configuration errors; check_cli_ops.c has the rest of the
 * suite (a Redis that goes away, output, help, bench).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"

/* ---- round trips -------------------------------------------------------- */

/* set, get in a second process (from the L2), del, get and del again */
START_TEST(test_roundtrip)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    cli_check(&h, 0, "", "", "set", NS, "user:42", "{\"level\":3}");

    cli(&r, &h, "get", "--tier", NS, "user:42");
    if (_i == CLI_MEMORY) {
        /* memory: is L1 only, and the L1 died with the first process */
        expect(&r, 1, "", "tutorcache: tier: miss");
        run_free(&r);
        return;
    }
    /* a fresh process has an empty L1: the answer came from the L2 */
    expect(&r, 0, "{\"level\":3}\n", "tutorcache: tier: l2\n");
    run_free(&r);

    cli_check(&h, 0, "{\"level\":3}", "", "get", "-n", NS, "user:42");

    cli_check(&h, 0, "", "", "del", NS, "user:42");
    cli_check(&h, 1, "", "", "get", NS, "user:42");
    cli_check(&h, 1, "", "", "del", NS, "user:42");
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

    h.url = cli_store_url(CLI_REDIS, url, sizeof(url));
    cli_check(&h, 0, "", "", "set", NS, "q1", "answer one");

    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.store_url = url;
    ck_assert_int_eq(tc_cache_open(&c, &opt), TC_OK);
    ck_assert_int_eq(tc_cache_key(key, sizeof(key), c, NS, "q1", 2), TC_OK);
    tc_cache_close(c);
    got = trs_cmd(cli_redis(), "GET %s", key);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "answer one");
    free(got);
}
END_TEST

START_TEST(test_get_miss)
{
    char url[4200];
    how h = {0};

    h.url = cli_store_url(_i, url, sizeof(url));
    cli_check(&h, 1, "", "", "get", NS, "never-set");
    cli_check(&h, 1, "", "tutorcache: tier: miss\n", "get", "-t", NS,
              "never-set");
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
    cli_check(&h, 2, "", "--log-format", "--log-format", "yaml", "get", NS,
              "k");
    /* debug without a format: every line, as text */
    cli_check(&h, 0, "",
              " debug cache_set namespace=" NS " key=tc:", "--log-level",
              "debug", "set", NS, "k", "v");
    cli_check(&h, 0, "", " debug cache_set namespace=" NS " key=tc:", "-v",
              "--log-level", "debug", "set", NS, "k", "v");
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
    h.url = cli_store_url(_i, url, sizeof(url));
    h.in = val;
    h.inlen = sizeof(val);
    cli_check(&h, 0, "", "", "set", NS, "bin", "-");

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
    cli_check(&h, 0, "", "", "set", NS, "empty", "-");
    h.in = NULL;
    cli_check(&h, 0, "\n", "", "get", NS, "empty");

    /* a value that looks like an option goes after -- */
    cli_check(&h, 0, "", "", "set", NS, "neg", "--", "-5");
    cli_check(&h, 0, "-5\n", "", "get", NS, "neg");
}
END_TEST

START_TEST(test_ttl_expiry)
{
    char url[4200];
    how h = {0};
    int64_t t0;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    t0 = tt_now_ms();
    cli_check(&h, 0, "", "", "set", "--ttl", "0.4", NS, "short", "soon gone");
    cli(&r, &h, "get", NS, "short");
    /* only a get that surely ran inside the TTL must hit */
    if (tt_now_ms() - t0 < 300) {
        expect(&r, 0, "soon gone\n", "");
    }
    run_free(&r);
    tt_sleep_ms(t0 + 600 - tt_now_ms());
    cli_check(&h, 1, "", "", "get", NS, "short");

    /* a longer TTL given the same way is kept */
    cli_check(&h, 0, "", "", "set", NS, "long", "stays", "--ttl", "60");
    cli_check(&h, 0, "stays\n", "", "get", NS, "long");
}
END_TEST

/* --store beats TUTORCACHE_URL */
START_TEST(test_option_beats_env)
{
    char a[4200], b[4200];
    how h = {0};

    snprintf(a, sizeof(a), "lmdb://%s/a", cli_home());
    snprintf(b, sizeof(b), "lmdb://%s/b", cli_home());
    h.url = a;
    cli_check(&h, 0, "", "", "--store", b, "set", NS, "k", "in b");
    cli_check(&h, 1, "", "", "get", NS, "k");
    cli_check(&h, 0, "in b\n", "", "--store", b, "get", NS, "k");
}
END_TEST

/* No store configured at all: the default LMDB under XDG_CACHE_HOME. */
START_TEST(test_default_store)
{
    char path[4200];
    struct stat st;

    cli_check(NULL, 0, "", "", "set", NS, "k", "v");
    cli_check(NULL, 0, "v\n", "", "get", NS, "k");
    snprintf(path, sizeof(path), "%s/cache/tutorcache", cli_home());
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
    cli_check_diag(&h, 2, "--ttl", "set", NS, "k", "v", "--ttl", "-5");
    cli_check_diag(&h, 2, "unknown command \"frobnicate\"", "frobnicate");
    cli_check_diag(&h, 2, "global option", "get", NS, "a", "--store",
                   "memory:");
}
END_TEST

START_TEST(test_unknown_namespace)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = cli_store_url(CLI_LMDB, url, sizeof(url));
    cli(&r, &h, "get", "nope", "k");
    expect_diag(&r, 4, "unknown namespace \"nope\"");
    /* the message lists the namespaces there are */
    ck_assert_ptr_nonnull(strstr(r.err, NS));
    run_free(&r);
    cli_check_diag(&h, 4, "unknown namespace \"nope\"", "set", "nope", "k",
                   "v");
    cli_check_diag(&h, 4, "unknown namespace \"nope\"", "del", "nope", "k");
}
END_TEST

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
    /* the part is named, its text not quoted: it may be a password's */
    expect_diag(&r, 2, "store URL: port: not a port (1-65535)");
    run_free(&r);
    h.url = "redis://127.0.0.1:99999";
    cli_check_diag(&h, 2, "port", "get", NS, "k");

    h.url = "foo://somewhere";
    cli_check_diag(&h, 2, "scheme", "get", NS, "k");
    h.url = NULL;

    /* the original services' variables */
    h.env = redis_env;
    cli_check_diag(&h, 2, "REDIS_PORT", "ping");
    h.env = NULL;

    /* a config file that is not JSON: named, with its line */
    snprintf(bad, sizeof(bad), "%s/bad.json", cli_home());
    tt_write_file(bad, "{\n  \"store\": \"memory:\",\n  oops\n}\n", 0644);
    cli(&r, &h, "--config", bad, "config");
    expect_diag(&r, 2, "bad.json");
    ck_assert_ptr_nonnull(strstr(r.err, "malformed"));
    run_free(&r);
    snprintf(env_cfg, sizeof(env_cfg), "TUTORCACHE_CONFIG=%s", bad);
    h.env = cfg_env;
    cli_check_diag(&h, 2, "bad.json", "get", NS, "k");
    h.env = NULL;

    /* a config file with a field of the wrong value */
    snprintf(negttl, sizeof(negttl), "%s/negttl.json", cli_home());
    tt_write_file(negttl, "{\"namespaces\": {\"" NS "\": {\"ttl\": -5}}}\n",
                  0644);
    cli(&r, &h, "--config", negttl, "get", NS, "k");
    expect_diag(&r, 2, "ttl");
    ck_assert_ptr_nonnull(strstr(r.err, NS));
    run_free(&r);

    /* an LMDB directory that cannot be created: the store is unusable */
    snprintf(url, sizeof(url), "lmdb://%s/file/db", cli_home());
    snprintf(bad, sizeof(bad), "%s/file", cli_home());
    tt_write_file(bad, "not a directory\n", 0644);
    h.url = url;
    cli_check_diag(&h, 3, "file", "get", NS, "k");
}
END_TEST

START_TEST(test_namespace_from_config)
{
    char cfg[4200], url[4200];
    how h = {0};

    snprintf(cfg, sizeof(cfg), "%s/ns.json", cli_home());
    tt_write_file(cfg,
                  "{\"namespaces\": {\"quiz\": {\"prefix\": \"quiz\", "
                  "\"ttl\": 30}}}\n",
                  0644);
    h.url = cli_store_url(CLI_LMDB, url, sizeof(url));
    cli_check(&h, 0, "", "", "--config", cfg, "set", "quiz", "q", "a");
    cli_check(&h, 0, "a\n", "", "--config", cfg, "get", "quiz", "q");
    /* without the file the namespace does not exist */
    cli_check_diag(&h, 4, "quiz", "get", "quiz", "q");
}
END_TEST

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup_nostore, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, CLI_NSTORES);
    tcase_add_test(tc, test_redis_value_visible);
    tcase_add_loop_test(tc, test_get_miss, 0, CLI_NSTORES);
    tcase_add_loop_test(tc, test_binary_stdin, CLI_LMDB, CLI_UNIX + 1);
    tcase_add_loop_test(tc, test_ttl_expiry, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_test(tc, test_option_beats_env);
    tcase_add_test(tc, test_default_store);
    tcase_add_test(tc, test_usage_errors);
    tcase_add_test(tc, test_unknown_namespace);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_namespace_from_config);
    tcase_add_test(tc, test_log_formats);
    suite_add_tcase(s, tc);
    suite_cli_ops(s);
    return s;
}
