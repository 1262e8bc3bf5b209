/*
 * check_service_report.c - the example service's feedback report, GET
 * /api/v1/intents/feedback/report: the library's page as text/html,
 * well-formed to xmllint's HTML parser, one chart in each section, the
 * model serving named as the control arm, the correction rate per
 * classification of the intent it answered, the shadow section holding
 * this process's checks (--shadow-rate 1) and the model's as the store
 * holds them; and its failures: 503 with a
 * JSON error on memory: and when the store stops answering. The A/B
 * arms side by side, with --candidate, are in check_service_ab.c. Part
 * of the service suite.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "service_fixture.h"
#include "suites.h"

#define SV_REPORT "/api/v1/intents/feedback/report"

/* Each <section> of page holds exactly one <svg>. */
static void one_chart_each(const char *page, int sections)
{
    const char *at = page;
    int n = 0;

    while ((at = strstr(at, "<section"))) {
        const char *end = strstr(at, "</section>");
        int svgs = 0;

        ck_assert_ptr_nonnull(end);
        for (const char *p = at; (p = strstr(p, "<svg")) && p < end; p++) {
            svgs++;
        }
        ck_assert_msg(svgs == 1, "section %d: %d charts", n, svgs);
        at = end;
        n++;
    }
    ck_assert_int_eq(n, sections);
}

/* The page as a file of the test's dir, parsed by xmllint's HTML parser
 * (and as XML, which it also is). */
static void well_formed(const sv_resp *r)
{
    char path[SV_PATH_LEN + 16], cmd[3 * SV_PATH_LEN];

    snprintf(path, sizeof(path), "%s/report.html", sv_tmp);
    sv_spit(path, r->body, r->len);
    snprintf(cmd, sizeof(cmd),
             "xmllint --noout '%s' && xmllint --html --noout '%s' 2>/dev/null",
             path, path);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_report_page)
{
    char body[1024], ct[128], want[128], intent[64];
    const char *sec, *own;
    cJSON *o;
    sv_resp r;
    int64_t until;

    sv_start(sv_lmdb_url(), "--shadow-rate", "1", NULL);
    /* a miss, then a hit that is checked behind the request: two
     * answers of one intent */
    for (int i = 0; i < 2; i++) {
        o = sv_classify(SV_TEXT_A);
        snprintf(intent, sizeof(intent), "%s", json_str(o, "intent"));
        cJSON_Delete(o);
    }
    /* a record without "model": the service names the model serving */
    sv_feedback_json(body, sizeof(body), SV_TEXT_A, intent, "x<y>", "0.5");
    sv_http(&r, "POST", SV_FEEDBACK, body);
    ck_assert_msg(r.code == 201, "%d %s", r.code, r.body);
    sv_resp_free(&r);

    /* the check is counted behind the request: asked again until it is,
     * within a bound that only catches one never made */
    until = sv_now_ms() + sv_slow_ms(30000);
    for (;;) {
        sv_http(&r, "GET", SV_REPORT, NULL);
        ck_assert_msg(r.code == 200, "%d %s", r.code, r.body);
        /* this process's line and the stored one of its model */
        if (tt_count_of(r.body, ">0.0% of 1 checks disagree<") == 2 ||
            sv_now_ms() > until) {
            break;
        }
        sv_resp_free(&r);
        sv_sleep_ms(20);
    }
    ck_assert_str_eq(sv_header(&r, "Content-Type", ct, sizeof(ct)),
                     "text/html; charset=utf-8");
    well_formed(&r);
    one_chart_each(r.body, 6);
    ck_assert_ptr_nonnull(strstr(r.body, "x&lt;y&gt;"));
    ck_assert_ptr_null(strstr(r.body, "x<y>"));
    ck_assert_ptr_null(strstr(r.body, "<script"));
    sec = strstr(r.body, "<section id=\"ab\">");
    ck_assert_ptr_nonnull(sec);
    snprintf(want, sizeof(want), ">control %s<", sv_fp);
    ck_assert_msg(strstr(sec, want) != NULL, "no %s in\n%s", want, sec);
    /* the answers it served, counted in the store: 1 correction of 2 */
    sec = strstr(r.body, "<section id=\"per-classification\">");
    ck_assert_ptr_nonnull(sec);
    snprintf(want, sizeof(want), ">%s</text>", intent);
    ck_assert_msg(strstr(sec, want) != NULL, "no %s in\n%s", want, sec);
    ck_assert_msg(
        strstr(strstr(sec, want), ">50.0%: 1 of 2 classifications<") != NULL,
        "%s", sec);
    /* its own shadow line, then the model's as the store holds it */
    sec = strstr(r.body, "<section id=\"shadow\">");
    ck_assert_ptr_nonnull(sec);
    own = strstr(sec, ">this process</text>");
    ck_assert_msg(own != NULL, "%s", sec);
    ck_assert_msg(strstr(own, ">0.0% of 1 checks disagree<") != NULL, "%s",
                  sec);
    snprintf(want, sizeof(want), ">%s</text>", sv_fp);
    ck_assert_msg(strstr(own, want) != NULL, "no %s in\n%s", want, sec);
    ck_assert_msg(strstr(strstr(own, want), ">0.0% of 1 checks disagree<") !=
                      NULL,
                  "%s", sec);
    sv_resp_free(&r);

    /* HEAD answers as GET does, without the page; other methods 405 */
    sv_http(&r, "HEAD", SV_REPORT, NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(sv_header(&r, "Content-Type", ct, sizeof(ct)),
                     "text/html; charset=utf-8");
    ck_assert_ptr_null(strstr(r.body, "<html"));
    sv_resp_free(&r);
    sv_http_error("POST", SV_REPORT, "{}", 405, "method_not_allowed", NULL);
    sv_stop(SIGTERM);
}
END_TEST

/* memory: keeps no feedback: 503 as the other feedback routes answer. */
START_TEST(test_report_memory)
{
    sv_start("memory:", NULL);
    sv_http_error("GET", SV_REPORT, NULL, 503, "feedback_unavailable", NULL);
    sv_stop(SIGTERM);
}
END_TEST

/* A store that stopped answering: 503 store_unavailable, with the
 * library's detail of the failure. */
START_TEST(test_report_store_down)
{
    trs *srv = trs_start(NULL);
    cJSON *e;
    sv_resp r;

    ck_assert_ptr_nonnull(srv);
    sv_start(trs_url(srv), NULL);
    sv_http(&r, "GET", SV_REPORT, NULL);
    ck_assert_int_eq(r.code, 200);
    sv_resp_free(&r);
    trs_stop(srv);
    sv_http(&r, "GET", SV_REPORT, NULL);
    sv_expect_error(&r, 503, "store_unavailable", NULL);
    e = sv_json(&r);
    ck_assert_msg(strlen(json_str(e, "detail")) > 0, "%s", r.body);
    cJSON_Delete(e);
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

void suite_service_report(Suite *s)
{
    TCase *tc = tcase_create("service_report");

    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_report_page);
    tcase_add_test(tc, test_report_memory);
    tcase_add_test(tc, test_report_store_down);
    suite_add_tcase(s, tc);
}
