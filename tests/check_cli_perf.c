/*
 * check_cli_perf.c - `bench classify` of the built `tutorcache` binary, run
 * as a user runs it (a fork and exec per call, a clean environment in a
 * temp dir) with stdout, stderr and the exit code checked apart. Only its
 * counting is checked, never its speed: the scenarios and streams are
 * deterministic, so hit counts, request counts and error counts are
 * asserted to the unit. The latency histogram that bench and loadtest use
 * is checked for its precision; loadtest's tests are in
 * check_cli_loadtest.c, of the same suite.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "suites.h"

/*
 * The histogram is the CLI's, not the library's, and the test binary links
 * only the library: compiled in here, its precision is checked directly.
 */
#include "../cli/bench/perf_hist.c"

/* Runs go to a memory: store unless a test names another. */
static void setup(void)
{
    cli_setup();
    tt_cli.url = "memory:";
}

/* ---- bench classify ----------------------------------------------------- */

/*
 * One scenario line of bench classify: its name, request count, and the
 * counts adding up: hits are the l1, l2 and feedback sources, the model
 * answered the rest but the errors, and hit_rate is hits over requests.
 * Latencies are ordered. Returns the hits.
 */
static long check_scenario(const cJSON *o, const char *name, long requests,
                           int threads)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "sources");
    long hits = (long)json_num(o, "hits"), errors = (long)json_num(o, "errors");
    double rate = json_num(o, "hit_rate");

    ck_assert_str_eq(json_str(o, "scenario"), name);
    ck_assert_int_eq((long)json_num(o, "requests"), requests);
    ck_assert_int_eq((long)json_num(o, "threads"), threads);
    ck_assert_int_eq(errors, 0);
    ck_assert(cJSON_IsObject(src));
    ck_assert_int_eq((long)(json_num(src, "l1") + json_num(src, "l2") +
                            json_num(src, "feedback")),
                     hits);
    ck_assert_int_eq(hits + (long)json_num(src, "model") + errors, requests);
    ck_assert_msg(rate >= 0 && rate <= 1, "%s: hit_rate %g", name, rate);
    ck_assert_msg(fabs(rate - (double)hits / (double)requests) < 1e-9,
                  "%s: hit_rate %g for %ld hits of %ld", name, rate, hits,
                  requests);
    ck_assert(json_num(o, "ops_per_sec") > 0);
    ck_assert(json_num(o, "p50_us") > 0);
    ck_assert(json_num(o, "p50_us") <= json_num(o, "p95_us"));
    ck_assert(json_num(o, "p95_us") <= json_num(o, "p99_us"));
    ck_assert(json_num(o, "p99_us") <= json_num(o, "max_us"));
    return hits;
}

START_TEST(test_bench_classify_json)
{
    static const char *const names[] = {"cold",          "warm",
                                        "mixed",         "cold_threads2",
                                        "warm_threads2", "mixed_threads2"};
    const char *m = cli_model();
    how h = {0};
    lines ls;
    size_t i;
    run r;

    cli(&r, &h, "bench", "classify", "--model", m, "--requests", "200",
        "--threads", "2", "--json");
    expect_lines(&ls, &r, 0, "", 7);
    for (i = 0; i < 6; i++) {
        long hits = check_scenario(ls.v[i], names[i], 200, i < 3 ? 1 : 2);

        /* cold: all misses; warm: all hits; mixed: exactly 0.8 x 200 */
        ck_assert_int_eq(hits, i % 3 == 0 ? 0 : i % 3 == 1 ? 200 : 160);
    }
    ck_assert_double_eq(json_num(ls.v[0], "hit_rate"), 0.0);
    ck_assert_double_eq(json_num(ls.v[1], "hit_rate"), 1.0);
    ck_assert_double_eq(json_num(ls.v[2], "hit_rate"), 0.8);
    ck_assert_str_eq(json_str(ls.v[6], "scenario"), "summary");
    ck_assert(json_num(ls.v[6], "speedup") > 0);
    ck_assert(json_num(ls.v[6], "speedup_threads") > 0);
    ck_assert_int_eq((int)json_num(ls.v[6], "threads"), 2);
    ck_assert_str_eq(json_str(ls.v[6], "store"), "memory");
    ck_assert_ptr_nonnull(strstr(json_str(ls.v[6], "classifier"), m));
    lines_run_free(&ls, &r);
}
END_TEST

/* The mixed stream repeats exactly round(requests x ratio) texts. */
START_TEST(test_bench_classify_hit_ratio)
{
    static const struct {
        const char *ratio, *requests;
        long hits;
    } cases[] = {{"0.5", "200", 100},
                 {"0.25", "200", 50},
                 {"0", "100", 0},
                 {"1", "100", 100},
                 {"0.333", "50", 17}};
    const char *m = cli_model();
    how h = {0};
    lines ls;
    size_t i;
    run r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long n = atol(cases[i].requests);

        cli(&r, &h, "bench", "classify", "--model", m, "--requests",
            cases[i].requests, "--hit-ratio", cases[i].ratio, "--threads", "1",
            "--json");
        expect_lines(&ls, &r, 0, "", 4);
        check_scenario(ls.v[0], "cold", n, 1);
        check_scenario(ls.v[1], "warm", n, 1);
        ck_assert_msg(check_scenario(ls.v[2], "mixed", n, 1) == cases[i].hits,
                      "--hit-ratio %s: %s", cases[i].ratio, r.out);
        ck_assert_double_eq_tol(json_num(ls.v[3], "hit_ratio"),
                                atof(cases[i].ratio), 1e-9);
        lines_run_free(&ls, &r);
    }
}
END_TEST

/*
 * On a store that outlives the process, a second run's cold texts are
 * still new (each run tags its texts), and --texts lines that repeat after
 * normalization are dropped, so cold stays all misses.
 */
START_TEST(test_bench_classify_persistent_texts)
{
    char url[4200], texts[4200];
    const char *m = cli_model();
    how h = {0};
    lines ls;
    int i;
    run r;

    snprintf(url, sizeof(url), "lmdb://%s/db", cli_home());
    snprintf(texts, sizeof(texts), "%s/texts.txt", cli_home());
    tt_write_file(texts,
                  "How do I reverse a list in Python?\n"
                  "how  do i REVERSE a list in python\n"
                  "\n"
                  "   \n"
                  "Explain recursion like I am five.\r\n"
                  "Fix my segfault in C\n",
                  0644);
    h.url = url;
    for (i = 0; i < 2; i++) {
        cli(&r, &h, "bench", "classify", "--model", m, "--requests", "30",
            "--threads", "1", "--texts", texts, "--json");
        expect(&r, 0, NULL, "1 repeated another");
        ck_assert_ptr_nonnull(strstr(r.err, "2 lines skipped"));
        expect_diagnostics(&r);
        lines_parse(&ls, r.out);
        ck_assert_uint_eq(ls.n, 4);
        ck_assert_int_eq(check_scenario(ls.v[0], "cold", 30, 1), 0);
        ck_assert_int_eq(check_scenario(ls.v[1], "warm", 30, 1), 30);
        ck_assert_int_eq(check_scenario(ls.v[2], "mixed", 30, 1), 24);
        ck_assert_str_eq(json_str(ls.v[3], "store"), "lmdb");
        ck_assert_str_eq(json_str(ls.v[3], "texts"), texts);
        lines_run_free(&ls, &r);
    }
}
END_TEST

/* The table for people, and the model found through TUTORCACHE_MODEL. */
START_TEST(test_bench_classify_table)
{
    char env[4300];
    const char *envs[] = {env, NULL};
    how h = {.env = envs};
    run r;

    snprintf(env, sizeof(env), "TUTORCACHE_MODEL=%s", cli_model());
    cli(&r, &h, "bench", "classify", "--requests", "40", "--threads", "1");
    expect(&r, 0, NULL, "");
    ck_assert_int_eq(strncmp(r.out, "speedup ", 8), 0);
    expect_out_has(&r, "\nscenario ", "\ncold ", "\nwarm ", "\nmixed ", NULL);
    ck_assert_ptr_null(strstr(r.out, "_threads"));
    run_free(&r);
}
END_TEST

/* An exec backend's answers are cached too; a broken one fails the run. */
START_TEST(test_bench_classify_backend)
{
    char good[4200], bad[4200], spec[4300];
    how h = {0};
    lines ls;
    run r;

    snprintf(good, sizeof(good), "%s/good.sh", cli_home());
    snprintf(bad, sizeof(bad), "%s/bad.sh", cli_home());
    tt_write_file(good,
                  "while IFS= read -r line; do\n"
                  "  echo '{\"intent\": \"greeting\", \"confidence\": 0.875}'\n"
                  "done\n",
                  0755);
    tt_write_file(bad, "while IFS= read -r line; do echo 'not json'; done\n",
                  0755);
    snprintf(spec, sizeof(spec), "exec:sh %s", good);
    cli(&r, &h, "bench", "classify", "--backend", spec, "--requests", "20",
        "--threads", "2", "--json");
    expect_lines(&ls, &r, 0, "", 7);
    ck_assert_int_eq(check_scenario(ls.v[0], "cold", 20, 1), 0);
    ck_assert_int_eq(check_scenario(ls.v[1], "warm", 20, 1), 20);
    ck_assert_int_eq(check_scenario(ls.v[5], "mixed_threads2", 20, 2), 16);
    ck_assert_ptr_nonnull(strstr(json_str(ls.v[6], "classifier"), "exec:sh "));
    lines_run_free(&ls, &r);

    /* every answer is garbage: the numbers come out, then exit 5 */
    snprintf(spec, sizeof(spec), "exec:sh %s", bad);
    cli(&r, &h, "bench", "classify", "--backend", spec, "--requests", "10",
        "--threads", "1", "--json");
    expect_lines(&ls, &r, 5, "10 of 10 classifications failed (TC_ELOADER", 4);
    ck_assert_int_eq((long)json_num(ls.v[0], "errors"), 10);
    ck_assert_int_eq((long)json_num(ls.v[0], "hits"), 0);
    lines_run_free(&ls, &r);
}
END_TEST

START_TEST(test_bench_classify_usage)
{
    char m[4200], empty[4200], missing[4200];
    const char *const cases[][12] = {
        {"bench", "classify", "--model", m, "--hit-ratio", "1.5", NULL},
        {"bench", "classify", "--model", m, "--hit-ratio", "half", NULL},
        {"bench", "classify", "--model", m, "--requests", "0", NULL},
        {"bench", "classify", "--model", m, "--requests", "2000000", NULL},
        {"bench", "classify", "--model", m, "--threads", "0", NULL},
        {"bench", "classify", "--model", m, "--backend", "exec:cat", NULL},
        {"bench", "classify", "--model", m, "--backend", "cat", NULL},
        {"bench", "classify", "--model", m, "--keys", "5", NULL},
        {"bench", "classify", "--model", m, "--seconds", "1", NULL},
        {"bench", "cache", "--hit-ratio", "0.5", NULL},
        {"bench", "cache", "--model", m, NULL},
        {"bench", "classify", "cache", "--model", m, NULL},
        {"bench", "classify", "--model", missing, "--requests", "5", NULL},
        {"bench", "classify", "--model", m, "--texts", missing, NULL},
        {"bench", "classify", "--requests", "5", NULL},
    };
    how h = {0};
    size_t i;

    snprintf(m, sizeof(m), "%s", cli_model());
    snprintf(missing, sizeof(missing), "%s/missing", cli_home());
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_usage(&h, cases[i], i);
    }
    cli_check(&h, 2, "", "no model", "bench", "classify", "--requests", "5");
    cli_check(&h, 2, "", "--keys is an option of bench cache", "bench",
              "classify", "--model", m, "--keys", "5");
    cli_check(&h, 2, "", "only: cache, classify", "bench", "nope");
    /* a texts file without one usable line is bad input */
    snprintf(empty, sizeof(empty), "%s/empty.txt", cli_home());
    tt_write_file(empty, "\n  \n\t\n", 0644);
    cli_check(&h, 4, "", "no text to classify", "bench", "classify", "--model",
              m, "--texts", empty);
}
END_TEST

/* ---- the latency histogram ---------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/*
 * Quantiles within 1% of the exact ones from 100 ns to 100 s, exact count,
 * min and max, and two halves merged equal to the whole.
 */
START_TEST(test_hist_precision)
{
    enum { N = 20000 };
    static const double qs[] = {0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1};
    static uint64_t v[N];
    perf_hist *all = perf_hist_new(), *a = perf_hist_new(),
              *b = perf_hist_new();
    uint64_t s = 12345;
    size_t i, k, rank;

    ck_assert(all && a && b);
    ck_assert_double_eq(perf_hist_quantile(all, 0.5), 0);
    ck_assert_uint_eq(perf_hist_max(all), 0);
    for (i = 0; i < N; i++) {
        /* log-uniform over 100 ns .. 100 s: nine decades */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v[i] = (uint64_t)(100 * pow(10, 9.0 * (double)(s % 1000000) / 1e6));
        perf_hist_add(all, v[i]);
        perf_hist_add(i % 2 ? a : b, v[i]);
    }
    perf_hist_merge(a, b);
    qsort(v, N, sizeof(v[0]), cmp_u64);
    ck_assert_uint_eq(perf_hist_count(all), N);
    ck_assert_uint_eq(perf_hist_count(a), N);
    ck_assert_uint_eq(perf_hist_min(all), v[0]);
    ck_assert_uint_eq(perf_hist_max(all), v[N - 1]);
    for (k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        double got = perf_hist_quantile(all, qs[k]), want;

        rank = (size_t)ceil(qs[k] * N - 1e-9);
        want = (double)v[rank - 1];
        ck_assert_msg(fabs(got - want) <= 0.01 * want,
                      "q %g: %.0f ns, exact %.0f ns", qs[k], got, want);
        ck_assert_double_eq(perf_hist_quantile(a, qs[k]), got);
    }
    /* small values are exact; huge ones clamp but keep their max */
    perf_hist_reset(b);
    perf_hist_add(b, 7);
    perf_hist_add(b, 200 * PERF_HIST_MAX_NS);
    ck_assert_double_eq(perf_hist_quantile(b, 0.5), 7);
    ck_assert_double_eq(perf_hist_quantile(b, 1), 200.0 * PERF_HIST_MAX_NS);
    perf_hist_free(all);
    perf_hist_free(a);
    perf_hist_free(b);
}
END_TEST

/* ---- help --------------------------------------------------------------- */

START_TEST(test_help)
{
    static const char *const cmds[] = {"bench", "loadtest"};
    how h = {0};
    run r;

    expect_helps(&h, cmds, sizeof(cmds) / sizeof(cmds[0]));
    cli(&r, &h, "bench", "classify", "--help");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "--hit-ratio"));
    run_free(&r);
}
END_TEST

Suite *suite_cli_perf(void)
{
    Suite *s = suite_create("cli_perf");
    TCase *tc = tcase_create("cli_perf");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, setup, cli_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_bench_classify_json);
    tcase_add_test(tc, test_bench_classify_hit_ratio);
    tcase_add_test(tc, test_bench_classify_persistent_texts);
    tcase_add_test(tc, test_bench_classify_table);
    tcase_add_test(tc, test_bench_classify_backend);
    tcase_add_test(tc, test_bench_classify_usage);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_hist_precision);
    suite_add_tcase(s, tc);
    suite_cli_loadtest(s);
    return s;
}
