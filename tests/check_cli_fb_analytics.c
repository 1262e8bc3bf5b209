/*
 * check_cli_fb_analytics.c - the "analytics" of `feedback stats --json`
 * on LMDB and on a private Redis: per intent corrections and
 * confirmations, the confusion matrix, counts per day of the retention
 * window (a record of two days ago on its day), and the most corrected
 * texts by key (two spellings of one text are one key, and no key holds
 * the text); an empty store gives empty tallies and a window of zeros.
 * And `feedback report`: its page well-formed (xmllint), a chart per
 * section, users' intent names escaped, nothing fetched or run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "suites.h"

/* The UTC day (YYYY-MM-DD) and timestamp of days_ago days before now. */
static void day_of(int days_ago, char day[16], char ts[32])
{
    time_t t = time(NULL) - (time_t)days_ago * 86400;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(day, 16, "%Y-%m-%d", &tm);
    strftime(ts, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double day_count(const cJSON *a, const char *day, const char *what)
{
    char path[64];

    snprintf(path, sizeof(path), "per_day.%s.%s", day, what);
    return json_num(a, path);
}

START_TEST(test_analytics)
{
    char url[512], today[16], old[16], ts[32], tsnow[32];
    const cJSON *a, *top, *days;
    char *printed;
    how h = {0};
    cJSON *st;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    day_of(0, today, tsnow);
    day_of(2, old, ts);
    cf_submit(&h, "Explain recursion", "code_generation", "explanation",
              NULL);
    cf_submit(&h, "  explain RECURSION!", "code_generation", "explanation",
              NULL);
    cf_submit(&h, "t3", "debugging", "code_generation", NULL);
    cf_submit(&h, "t4", "translation", "translation", NULL);
    cli(&r, &h, "feedback", "submit", "--text", "t2", "--original",
        "code_generation", "--correct", "explanation", "--confidence", "0.5",
        "--timestamp", ts);
    expect(&r, 0, NULL, "");
    run_free(&r);

    st = cf_stats(&h);
    a = cJSON_GetObjectItemCaseSensitive(st, "analytics");
    ck_assert_ptr_nonnull(a);
    ck_assert_double_eq(json_num(a, "intents.code_generation.corrections"), 3);
    ck_assert_double_eq(json_num(a, "intents.code_generation.confirmations"),
                        0);
    ck_assert_double_eq(json_num(a, "intents.debugging.corrections"), 1);
    ck_assert_double_eq(json_num(a, "intents.translation.confirmations"), 1);
    ck_assert_double_eq(json_num(a, "intents.translation.corrections"), 0);
    ck_assert_double_eq(json_num(a, "confusion.code_generation.explanation"),
                        3);
    ck_assert_double_eq(json_num(a, "confusion.debugging.code_generation"), 1);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(
        json_get(a, "confusion"), "translation"));

    days = cJSON_GetObjectItemCaseSensitive(a, "per_day");
    ck_assert_int_eq(cJSON_GetArraySize(days), 30);
    ck_assert_str_eq(cJSON_GetArrayItem(days, 29)->string, today);
    ck_assert_double_eq(day_count(a, today, "corrections"), 3);
    ck_assert_double_eq(day_count(a, today, "confirmations"), 1);
    ck_assert_double_eq(day_count(a, old, "corrections"), 1);
    ck_assert_double_eq(day_count(a, old, "confirmations"), 0);

    top = cJSON_GetObjectItemCaseSensitive(a, "most_corrected");
    ck_assert_int_eq(cJSON_GetArraySize(top), 3);
    ck_assert_double_eq(json_num(cJSON_GetArrayItem(top, 0), "corrections"),
                        2);
    ck_assert_double_eq(json_num(cJSON_GetArrayItem(top, 1), "corrections"),
                        1);
    ck_assert_int_eq(
        strncmp(json_str(cJSON_GetArrayItem(top, 0), "key"), "tc:", 3), 0);
    printed = cJSON_PrintUnformatted(top);
    ck_assert_ptr_nonnull(printed);
    ck_assert_ptr_null(strstr(printed, "ecursion"));
    cJSON_free(printed);
    cJSON_Delete(st);

    /* the table for people leaves them out */
    cli(&r, &h, "feedback", "stats", "--format", "table");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_null(strstr(r.out, "confusion"));
    run_free(&r);
}
END_TEST

START_TEST(test_analytics_empty)
{
    const cJSON *a;
    char url[512];
    how h = {0};
    cJSON *st;
    int i;

    h.url = cli_store_url(_i, url, sizeof(url));
    st = cf_stats(&h);
    a = cJSON_GetObjectItemCaseSensitive(st, "analytics");
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "intents")), 0);
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "confusion")), 0);
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "most_corrected")), 0);
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "per_day")), 30);
    for (i = 0; i < 30; i++) {
        const cJSON *d = cJSON_GetArrayItem(json_get(a, "per_day"), i);

        ck_assert_double_eq(json_num(d, "corrections"), 0);
        ck_assert_double_eq(json_num(d, "confirmations"), 0);
    }
    cJSON_Delete(st);
}
END_TEST

/* Occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (; (hay = strstr(hay, needle)); hay += strlen(needle)) {
        n++;
    }
    return n;
}

/* The HTML page: well-formed (as XML, and to xmllint's HTML parser), one
 * chart per section, names escaped, nothing fetched or run. */
START_TEST(test_report)
{
    char path[512], cmd[1200], url[512];
    how h = {0};
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    cf_submit(&h, "t1", "code_generation", "explanation", NULL);
    cf_submit(&h, "t2", "x<y>&\"z\"", "explanation", NULL);
    cf_submit(&h, "t3", "translation", "translation", NULL);
    snprintf(path, sizeof(path), "%s/report.html", cli_home());
    cli(&r, &h, "feedback", "report", "-o", path);
    expect(&r, 0, "", "");
    run_free(&r);
    snprintf(cmd, sizeof(cmd),
             "xmllint --noout '%s' && xmllint --html --noout '%s' 2>/dev/null",
             path, path);
    ck_assert_int_eq(system(cmd), 0);

    /* the same page on stdout */
    cli(&r, &h, "feedback", "report");
    expect(&r, 0, NULL, "");
    ck_assert_int_eq(count_of(r.out, "<section"), 3);
    ck_assert_int_eq(count_of(r.out, "<svg"), 3);
    ck_assert_ptr_nonnull(strstr(r.out, "x&lt;y&gt;&amp;&quot;z&quot;"));
    ck_assert_ptr_null(strstr(r.out, "x<y>"));
    ck_assert_ptr_null(strstr(r.out, "<script"));
    ck_assert_ptr_null(strstr(r.out, "href="));
    ck_assert_ptr_null(strstr(r.out, "src="));
    run_free(&r);

    /* a FILE that cannot be written: a usage error, nothing half done */
    cli_check_diag(&h, 2, "no-such-dir", "feedback", "report", "-o",
                   "no-such-dir/r.html");
    cli_check_diag(&h, 2, "no arguments", "feedback", "report", "extra");
}
END_TEST

void suite_cli_fb_analytics(Suite *s)
{
    TCase *tc = tcase_create("cli_fb_analytics");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_analytics, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_loop_test(tc, test_analytics_empty, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_loop_test(tc, test_report, CLI_LMDB, CLI_REDIS + 1);
    suite_add_tcase(s, tc);
}
