/*
 * check_cli_fb_analytics.c - the "analytics" of `feedback stats --json`
 * on LMDB and on a private Redis: per intent corrections and
 * confirmations, the confusion matrix, counts per day of the retention
 * window (a record of two days ago on its day), and the most corrected
 * texts by key (two spellings of one text are one key, and no key holds
 * the text); an empty store gives empty tallies and a window of zeros.
 * And `feedback report`: its page well-formed (xmllint), a chart per
 * section (nothing classified: no rate per classification, no shadow
 * check, and none of the command's own), users' intent
 * names escaped, nothing fetched or run. Per
 * model: records naming their model (`feedback submit --model`), their
 * correction rate per model and per A/B arm (control: --model's
 * fingerprint; candidate: --candidate), in JSON, the table and the page;
 * a bad model refused with nothing stored. A store that does not answer:
 * exit 3, no page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "feedback_fixture.h"
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
    cf_submit(&h, "Explain recursion", "code_generation", "explanation", NULL);
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
    ck_assert_double_eq(json_num(cJSON_GetArrayItem(top, 0), "corrections"), 2);
    ck_assert_double_eq(json_num(cJSON_GetArrayItem(top, 1), "corrections"), 1);
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
    /* nothing classified: no rate per classification, no shadow check
     * stored, and no line of the command's own (it checks nothing) */
    ck_assert_int_eq(tt_count_of(r.out, "<section"), 6);
    ck_assert_int_eq(tt_count_of(r.out, "<svg"), 6);
    ck_assert_ptr_nonnull(strstr(r.out, "<p>No classification of these"));
    ck_assert_ptr_nonnull(
        strstr(r.out, "<h2>Shadow checks of cached answers</h2>"));
    ck_assert_ptr_nonnull(strstr(r.out, ">no shadow checks counted<"));
    ck_assert_ptr_null(strstr(r.out, "this process"));
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

/* A record of text naming model m; confirm: a confirmation. */
static void submit_model(how *h, const char *text, const char *m, int confirm)
{
    run r;

    cli(&r, h, "feedback", "submit", "--text", text, "--original", "a",
        "--correct", confirm ? "a" : "b", "--confidence", "0.5", "--model", m);
    expect(&r, 0, NULL, "");
    run_free(&r);
}

static const cJSON *member_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(v != NULL, "no \"%s\"", name);
    return v;
}

#define CAND "exec:./cand.py"

START_TEST(test_models)
{
    const cJSON *a, *m, *arms;
    char url[512], fp[64], path[512];
    how h = {0};
    cJSON *st;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    cli_fingerprint(cli_model(), fp);
    submit_model(&h, "c1", fp, 0);
    submit_model(&h, "c2", fp, 0);
    submit_model(&h, "c3", fp, 1);
    submit_model(&h, "c4", fp, 1);
    submit_model(&h, "d1", "fn:" CAND, 0); /* as a host model's answer */
    submit_model(&h, "d2", "fn:" CAND, 1);
    submit_model(&h, "d3", "fn:" CAND, 1);
    submit_model(&h, "d4", "fn:" CAND, 1);
    submit_model(&h, "e1", "other-v9", 0);
    cf_submit(&h, "f1", "a", "b", NULL); /* no model: counted for none */
    /* a bad model: refused, naming the field, nothing stored */
    cli_check_diag(&h, 4, "model: \"two words\" has a byte 0x20", "feedback",
                   "submit", "--text", "g1", "--original", "a", "--correct",
                   "b", "--confidence", "0.5", "--model", "two words");

    cli(&r, &h, "feedback", "stats", "--json", "--model", cli_model(),
        "--candidate", CAND);
    expect(&r, 0, NULL, "");
    st = run_json(&r);
    run_free(&r);
    ck_assert_double_eq(json_num(st, "kept"), 10);
    a = member_of(st, "analytics");
    m = member_of(member_of(a, "models"), fp);
    ck_assert_double_eq(json_num(m, "corrections"), 2);
    ck_assert_double_eq(json_num(m, "confirmations"), 2);
    ck_assert_double_eq(json_num(m, "correction_rate"), 0.5);
    ck_assert_str_eq(json_str(m, "arm"), "control");
    m = member_of(member_of(a, "models"), "fn:" CAND);
    ck_assert_double_eq(json_num(m, "correction_rate"), 0.25);
    ck_assert_str_eq(json_str(m, "arm"), "candidate");
    m = member_of(member_of(a, "models"), "other-v9");
    ck_assert_double_eq(json_num(m, "correction_rate"), 1);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(m, "arm"));
    ck_assert_int_eq(cJSON_GetArraySize(member_of(a, "models")), 3);
    arms = member_of(a, "arms");
    ck_assert_str_eq(json_str(member_of(arms, "control"), "model"), fp);
    ck_assert_double_eq(json_num(member_of(arms, "control"), "correction_rate"),
                        0.5);
    ck_assert_str_eq(json_str(member_of(arms, "candidate"), "model"), CAND);
    ck_assert_double_eq(
        json_num(member_of(arms, "candidate"), "correction_rate"), 0.25);
    cJSON_Delete(st);

    /* without --candidate: no candidate arm, the models all the same */
    st = cf_stats(&h);
    a = member_of(st, "analytics");
    ck_assert_ptr_null(
        cJSON_GetObjectItemCaseSensitive(member_of(a, "arms"), "candidate"));
    ck_assert_int_eq(cJSON_GetArraySize(member_of(a, "models")), 3);
    cJSON_Delete(st);

    /* the table: a row per model, its arm and rate */
    cli(&r, &h, "feedback", "stats", "--format", "table", "--model",
        cli_model(), "--candidate", CAND);
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "correction_rate"));
    ck_assert_ptr_nonnull(strstr(r.out, "control"));
    {
        const char *row = strstr(r.out, "\nfn:" CAND " ");

        ck_assert_ptr_nonnull(row);
        const char *end = strchr(row + 1, '\n');
        const char *arm = strstr(row, " candidate ");

        ck_assert_ptr_nonnull(end);
        ck_assert_msg(arm && arm < end, "%s", r.out);
        ck_assert_int_eq(strncmp(end - 6, " 0.250", 6), 0);
    }
    run_free(&r);

    /* the page: both arms side by side in the A/B section */
    snprintf(path, sizeof(path), "%s/ab.html", cli_home());
    cli(&r, &h, "feedback", "report", "-o", path, "--model", cli_model(),
        "--candidate", CAND);
    expect(&r, 0, "", "");
    run_free(&r);
    {
        char *page = fb_slurp(path);
        const char *ab = strstr(page, "<section id=\"ab\">");

        ck_assert_ptr_nonnull(ab);
        ck_assert_ptr_nonnull(strstr(ab, ">control "));
        ck_assert_ptr_nonnull(strstr(ab, ">candidate fn:exec:./cand.py<"));
        ck_assert_ptr_nonnull(strstr(ab, "25% of 4"));
        ck_assert_ptr_nonnull(strstr(ab, "50% of 4"));
        free(page);
    }
    /* a candidate that does not load is a usage error */
    cli_check_diag(&h, 2, "no-such.tcm", "feedback", "stats", "--candidate",
                   "no-such.tcm");
}
END_TEST

/* A store that does not answer: exit 3 (unreachable) naming the
 * command, and no page half written. */
START_TEST(test_report_store_down)
{
    char url[64], path[512];
    how h = {0};

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", tt_free_port());
    h.url = url;
    snprintf(path, sizeof(path), "%s/down.html", cli_home());
    cli_check_diag(&h, 3, "feedback report: ", "feedback", "report", "-o",
                   path);
    ck_assert_int_ne(access(path, F_OK), 0);
    cli_check_diag(&h, 3, "feedback stats: ", "feedback", "stats", "--json");
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
    tcase_add_loop_test(tc, test_models, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_test(tc, test_report_store_down);
    suite_add_tcase(s, tc);
}
