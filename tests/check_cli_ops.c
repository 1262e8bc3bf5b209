/*
 * check_cli_ops.c - what an operator of the built `tutorcache` binary
 * sees: a Redis that goes away (and comes back), ping with nothing
 * listening, a password never shown, stats and config, help, a stdout that
 * cannot be written, and bench cache on every store. Part of the cli suite
 * (check_cli.c), run through the CLI harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"

/* ---- a Redis that goes away --------------------------------------------- */

START_TEST(test_redis_down)
{
    char url[4200];
    how h = {0};
    run r;

    h.url = cli_store_url(CLI_REDIS, url, sizeof(url));
    cli(&r, &h, "ping", "--format", "json");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "\"up\":true"));
    run_free(&r);
    cli_check(&h, 0, "", "", "set", NS, "k", "v");

    trs_kill(cli_redis());
    /* the record still goes to stdout, for monitors; the code says down */
    cli(&r, &h, "--timeout", "200", "ping", "--format", "json");
    expect(&r, 3, NULL, "tutorcache: ping: ");
    ck_assert_ptr_nonnull(strstr(r.out, "\"up\":false"));
    run_free(&r);
    cli_check(&h, 3, NULL, "tutorcache: ", "ping", "--format", "table");

    /* a get degrades to a miss, with one warning line for people and a
     * count of the rest; every line with -v, or as JSON */
    cli(&r, &h, "get", NS, "k");
    expect(&r, 1, "", "tutorcache: warning: ");
    ck_assert_msg(strstr(r.err, "\n") == strrchr(r.err, '\n') ||
                      strstr(strstr(r.err, "\n") + 1, "more log lines; -v"),
                  "more than one warning line: %s", r.err);
    ck_assert_ptr_null(strstr(r.err, "{\""));
    run_free(&r);
    cli_check(&h, 1, "", " warn l2_", "-v", "get", NS, "k");
    cli_check(&h, 1, "", "\"level\":\"warn\"", "--log-format", "json", "get",
              NS, "k");
    cli_check(&h, 1, "", "", "--log-level", "off", "get", NS, "k");

    /* a set that reached only this process's L1 stored nothing */
    cli_check_diag(&h, 3, "unreachable", "--log-level", "off", "set", NS, "k2",
                   "v");
    cli_check_diag(&h, 3, NULL, "--log-level", "off", "del", NS, "k");

    /* and when it is back, so is everything */
    ck_assert_int_eq(trs_restart(cli_redis()), 0);
    cli_check(&h, 0, NULL, "", "ping");
    cli_check(&h, 0, "", "", "set", NS, "k3", "back");
    cli_check(&h, 0, "back\n", "", "get", NS, "k3");
}
END_TEST

/* Nothing listens there: ping says so, quickly, with exit 3. */
START_TEST(test_ping_nothing_listening)
{
    how h = {"redis://127.0.0.1:1", NULL, NULL, 0, 0};
    run r;

    cli(&r, &h, "--log-level", "off", "ping", "--format", "json");
    expect(&r, 3, NULL, "tutorcache: ping: ");
    expect_out_has(&r, "\"up\":false", "\"kind\":\"redis\"", NULL);
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

    cli_redis_start("requirepass s3cret\n");
    snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d",
             trs_port(cli_redis()));
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
    cli_check(&h, 0, "", "", "set", NS, "k", "v");
    cli_check(&h, 0, "v\n", "", "get", NS, "k");

    /* the same through REDIS_HOST, REDIS_PORT, REDIS_PASSWORD */
    snprintf(port, sizeof(port), "REDIS_PORT=%d", trs_port(cli_redis()));
    h.url = NULL;
    h.env = env;
    cli(&r, &h, "config");
    expect(&r, 0, NULL, "");
    ck_assert_msg(!strstr(r.out, "s3cret") && !strstr(r.err, "s3cret"), "%s%s",
                  r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "\"store_source\":\"REDIS_HOST\""));
    run_free(&r);
    cli_check(&h, 0, "v\n", "", "get", NS, "k");

    /* a wrong password: refused, exit 3, and still not shown */
    snprintf(bad, sizeof(bad), "redis://:wr0ng@127.0.0.1:%d",
             trs_port(cli_redis()));
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

    h.url = cli_store_url(CLI_LMDB, url, sizeof(url));
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
    expect_out_has(&r, NS, "l2.kind", NULL);
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
    run main_help;
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
    expect_helps(&h, all_commands,
                 sizeof(all_commands) / sizeof(all_commands[0]));
    cli_check(&h, 0, main_help.out, "", "help");
    cli_check(&h, 0, main_help.out, "", "-h");
    run_free(&main_help);

    snprintf(want, sizeof(want), "tutorcache %s\n", tc_version());
    cli_check(&h, 0, want, "", "--version");
}
END_TEST

/*
 * Every help ends as the top-level one does: with an "Exit codes:" list,
 * one "  N  meaning" line per code (longer meanings go on, indented), and
 * only codes of the top-level list. what names the help in messages.
 */
static void expect_exit_list(const char *what, const char *help,
                             const char *main_help)
{
    const char *p = NULL, *q, *line;
    char code[8];
    int codes = 0;

    for (q = help; (q = strstr(q, "\nExit codes:\n")); q++) {
        p = q;
    }
    ck_assert_msg(p != NULL, "%s: no \"Exit codes:\" list:\n%s", what, help);
    line = p + strlen("\nExit codes:\n");
    while (*line) {
        const char *nl = strchr(line, '\n');

        ck_assert_msg(nl != NULL, "%s: the help does not end with a newline",
                      what);
        if (line[0] == ' ' && line[1] == ' ' && line[2] >= '0' &&
            line[2] <= '9' && line[3] == ' ' && line[4] == ' ') {
            snprintf(code, sizeof(code), "\n  %c  ", line[2]);
            ck_assert_msg(strstr(main_help, code) != NULL,
                          "%s: exit code %c is not in tutorcache --help", what,
                          line[2]);
            codes++;
        } else {
            ck_assert_msg(codes > 0 && strncmp(line, "     ", 5) == 0,
                          "%s: after \"Exit codes:\", a line that is no code "
                          "of the list: \"%.*s\"",
                          what, (int)(nl - line), line);
        }
        line = nl + 1;
    }
    ck_assert_msg(codes > 0, "%s: an empty \"Exit codes:\" list", what);
}

/* The commands of the top-level help ("  NAME  summary" after
 * "Commands:"), and the subcommands, each --help ends with its exit codes,
 * as the top-level help and 'help --help' do. */
START_TEST(test_help_exit_codes)
{
    static const char *const subs[][2] = {
        {"feedback", "submit"}, {"feedback", "import"}, {"feedback", "stats"},
        {"feedback", "export"}, {"feedback", "learn"},  {"model", "info"},
        {"bench", "cache"},     {"bench", "classify"}};
    how h = {"memory:", NULL, NULL, 0, 0};
    char name[32], what[80];
    const char *p;
    run main_help, r;
    size_t i;
    int n = 0;

    cli(&main_help, &h, "--help");
    expect(&main_help, 0, NULL, "");
    expect_exit_list("tutorcache --help", main_help.out, main_help.out);
    p = strstr(main_help.out, "\nCommands:\n");
    ck_assert_ptr_nonnull(p);
    for (p = strchr(p + 1, '\n') + 1; strncmp(p, "  ", 2) == 0;
         p = strchr(p, '\n') + 1) {
        ck_assert_int_eq(sscanf(p, " %31s", name), 1);
        snprintf(what, sizeof(what), "tutorcache %s --help", name);
        cli(&r, &h, name, "--help");
        expect(&r, 0, NULL, "");
        expect_exit_list(what, r.out, main_help.out);
        run_free(&r);
        n++;
    }
    ck_assert_int_ge(n, 13);
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(what, sizeof(what), "tutorcache %s %s --help", subs[i][0],
                 subs[i][1]);
        cli(&r, &h, subs[i][0], subs[i][1], "--help");
        expect(&r, 0, NULL, "");
        expect_exit_list(what, r.out, main_help.out);
        run_free(&r);
    }
    run_free(&main_help);
}
END_TEST

/* A full disk (or a closed pipe) on stdout is a failure, not a success. */
START_TEST(test_stdout_full)
{
    char url[4200];
    how h = {0};

    h.url = cli_store_url(CLI_LMDB, url, sizeof(url));
    cli_check(&h, 0, "", "", "set", NS, "k", "some value");

    h.stdout_full = 1;
    cli_check(&h, 5, NULL, "tutorcache: write error on stdout", "get", NS, "k");
    cli_check(&h, 5, NULL, "stdout", "config");
    cli_check(&h, 5, NULL, "stdout", "--help");
    /* nothing written, nothing failed: a miss stays a miss */
    cli_check(&h, 1, NULL, "", "get", NS, "absent");
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

    h.url = cli_store_url(_i, url, sizeof(url));
    /* a store timeout of 2 s: under load the default 250 ms counted
     * errors in scenarios that have none */
    cli(&r, &h, "--timeout", "2000", "bench", "cache", "--requests", "200",
        "--keys", "500", "--threads", "2", "--json");
    expect(&r, 0, NULL, "");
    if (_i == CLI_MEMORY) {
        check_bench_lines(r.out, memory, 4, 2, 200);
    } else if (_i == CLI_LMDB) {
        check_bench_lines(r.out, lmdb, 8, 2, 200);
    } else {
        check_bench_lines(r.out, redis, 12, 2, 200);
        /* the library's scenarios are compared with raw hiredis */
        ck_assert_ptr_nonnull(strstr(r.out, "\"vs_raw\":"));
    }
    run_free(&r);

    /* the table for people, one thread: no _threads rows */
    cli(&r, &h, "--timeout", "2000", "bench", "cache", "--requests", "50",
        "--keys", "100", "--threads", "1");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "l1_hit"));
    ck_assert_ptr_null(strstr(r.out, "_threads"));
    if (_i == CLI_REDIS || _i == CLI_UNIX) {
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

    cli_redis_start("requirepass s3cret\n");
    snprintf(url, sizeof(url), "%s?password=s3cret", trs_unix_url(cli_redis()));
    h.url = url;
    cli(&r, &h, "--timeout", "2000", "bench", "cache", "--requests", "20",
        "--keys", "50", "--threads", "1", "--json");
    expect(&r, 0, NULL, "");
    /* every scenario ran, without a single unexpected answer */
    check_bench_lines(r.out, one_thread, 6, 1, 20);
    ck_assert_ptr_null(strstr(r.out, "s3cret"));
    run_free(&r);

    /* a store that is down: nothing to measure */
    trs_kill(cli_redis());
    cli_check_diag(&h, 3, NULL, "--log-level", "off", "bench", "cache",
                   "--requests", "20", "--keys", "50");
}
END_TEST

/* A set the server's ACL refuses is not called unreachable: the warning
 * says permission denied, the line after it says the store refused the
 * value, and the exit code is the store's (3). */
START_TEST(test_set_denied)
{
    char url[128];
    how h = {0};
    char *ok;
    run r;

    cli_store_url(CLI_REDIS, url, sizeof(url)); /* the server, started */
    ok = trs_cmd(cli_redis(),
                 "ACL SETUSER limited on >pw ~other:* +@all -client");
    ck_assert_ptr_nonnull(ok);
    free(ok);
    snprintf(url, sizeof(url), "redis://limited:pw@127.0.0.1:%d",
             trs_port(cli_redis()));
    h.url = url;
    cli(&r, &h, "--log-level", "warn", "set", NS, "k", "v");
    expect_diag(&r, 3, "refused the value");
    ck_assert_msg(strstr(r.err, "permission denied") != NULL, "stderr: %s",
                  r.err);
    ck_assert_ptr_null(strstr(r.err, "unreachable"));
    run_free(&r);
    free(trs_cmd(cli_redis(), "ACL DELUSER limited"));
}
END_TEST

void suite_cli_ops(Suite *s)
{
    TCase *tc = tcase_create("cli_ops");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup_nostore, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_redis_down);
    tcase_add_test(tc, test_set_denied);
    tcase_add_test(tc, test_ping_nothing_listening);
    tcase_add_test(tc, test_password_masked);
    tcase_add_test(tc, test_stats_and_config);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_help_exit_codes);
    tcase_add_test(tc, test_stdout_full);
    tcase_add_loop_test(tc, test_bench, CLI_LMDB, CLI_MEMORY + 1);
    tcase_add_test(tc, test_bench_redis_auth);
    suite_add_tcase(s, tc);
}
