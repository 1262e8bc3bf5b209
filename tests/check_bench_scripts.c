/*
 * check_bench_scripts.c - the benchmark scripts that `make check` can run
 * without their benchmark: bench/warm.sh, bench/report_png.sh and
 * bench/report.sh parse, answer -h and --help, refuse a bad option or
 * too many arguments with exit 2, and fail or skip clearly where what they need
 * is missing (no data set: warm skips with exit 0; no chromium, or a chromium
 * that writes no PNG: report_png fails with exit 1 and writes nothing). The
 * scripts run under /bin/sh through the CLI harness, with its clean
 * environment in the test's temp dir.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cli_harness.h"
#include "suites.h"

static const char *const scripts[] = {"bench/warm.sh", "bench/report_png.sh",
                                      "bench/report.sh"};
#define NSCRIPTS (sizeof(scripts) / sizeof(scripts[0]))

static void setup(void)
{
    cli_setup();
    tt_cli.bin = "/bin/sh";
}

/* The built binary, as the scripts take it. */
static const char *binary(void)
{
    static char path[4096];

    snprintf(path, sizeof(path), "%s/tutorcache", tt_build_dir());
    return path;
}

START_TEST(test_parse)
{
    cli_check(NULL, 0, "", "", "-n", scripts[_i]);
}
END_TEST

START_TEST(test_help)
{
    static const char *const opts[] = {"--help", "-h"};
    char usage[128];
    size_t k;
    run r;

    snprintf(usage, sizeof(usage), "Usage: %s [-h | --help]", scripts[_i]);
    for (k = 0; k < 2; k++) {
        cli(&r, NULL, scripts[_i], opts[k]);
        expect(&r, 0, NULL, "");
        ck_assert_msg(strncmp(r.out, usage, strlen(usage)) == 0, "%s %s: %s",
                      scripts[_i], opts[k], r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "Environment:"));
        run_free(&r);
    }
}
END_TEST

START_TEST(test_usage)
{
    cli_check(NULL, 2, "", "Usage: ", scripts[_i], "--bogus");
    cli_check(NULL, 2, "", "Usage: ", scripts[_i], "a", "b", "c");
}
END_TEST

/* Without the data set the warm benchmark says so and exits 0, before
 * anything is built or started; a bad count is refused. */
START_TEST(test_warm_no_data)
{
    static const char *const nodata[] = {"BENCH_DATA=/nonexistent/intents",
                                         NULL};
    static const char *const zero[] = {"BENCH_RUNS=0", NULL};
    how h = {0};

    h.env = nodata;
    cli_check(&h, 0, "",
              "bench/warm: /nonexistent/intents/banking77/{train,test}.jsonl: "
              "absent; the warm benchmark is skipped\n",
              "bench/warm.sh", binary());
    h.env = zero;
    cli_check(&h, 1, "", "bench/warm: BENCH_*: not a count: 0\n",
              "bench/warm.sh", binary());
}
END_TEST

/* report_png.sh without chromium, with a bad window size, and with a
 * "chromium" that exits 0 and writes nothing: exit 1, said, no PNG. The
 * last one runs the whole history, import and report first. */
START_TEST(test_report_png_fails)
{
    static const char *const nochrome[] = {"CHROMIUM=/nonexistent/chromium",
                                           NULL};
    static const char *const badsize[] = {"REPORT_SIZE=1000x800", NULL};
    static const char *const silent[] = {"CHROMIUM=/bin/true", NULL};
    char png[4200];
    how h = {0};

    snprintf(png, sizeof(png), "%s/report.png", cli_home());
    h.env = nochrome;
    cli_check(&h, 1, "",
              "/nonexistent/chromium: not found; "
              "scripts/deps.sh report installs Debian's chromium",
              "bench/report_png.sh", binary(), png);
    h.env = badsize;
    cli_check(&h, 1, "", "REPORT_SIZE: WIDTH,HEIGHT in pixels, not 1000x800",
              "bench/report_png.sh", binary(), png);
    h.env = silent;
    cli_check(&h, 1, "", "bench/report_png: /bin/true wrote no PNG",
              "bench/report_png.sh", binary(), png);
    ck_assert_int_ne(access(png, F_OK), 0);
}
END_TEST

Suite *suite_bench_scripts(void)
{
    Suite *s = suite_create("bench_scripts");
    TCase *tc = tcase_create("bench_scripts");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_parse, 0, NSCRIPTS);
    tcase_add_loop_test(tc, test_help, 0, NSCRIPTS);
    tcase_add_loop_test(tc, test_usage, 0, NSCRIPTS);
    tcase_add_test(tc, test_warm_no_data);
    tcase_add_test(tc, test_report_png_fails);
    suite_add_tcase(s, tc);
    return s;
}
