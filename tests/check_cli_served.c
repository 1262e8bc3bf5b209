/*
 * check_cli_served.c - `feedback stats --json` joins the answers served
 * (count_intents) to its analytics, on LMDB and on a private Redis: per
 * intent its classifications by every `classify` run and corrections /
 * classifications, null for an intent never answered; and per model its
 * shadow checks. `feedback report`'s page shows the same rate per
 * classification.
 */
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "feedback_fixture.h"
#include "suites.h"

START_TEST(test_stats_served)
{
    char url[512], intent[64], source[32], fp[64], path[256];
    const cJSON *a, *sh;
    const char *sec;
    how h = {0};
    cJSON *st;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    cli_fingerprint(cli_model(), fp);
    /* three runs of classify (three processes): a miss, then two hits */
    cf_model_answer(&h, cli_model(), "Explain recursion", intent,
                    sizeof(intent));
    for (int i = 0; i < 2; i++) {
        cf_classify(&h, cli_model(), "Explain recursion", intent,
                    sizeof(intent), source, sizeof(source));
        ck_assert_str_ne(source, "model");
    }
    /* one correction of that intent, one of an intent never answered */
    cf_submit(&h, "Explain recursion", intent, cf_other_intent(intent), NULL);
    cf_submit(&h, "t3", "no_such_answer", "debugging", NULL);

    st = cf_stats(&h);
    a = cJSON_GetObjectItemCaseSensitive(st, "analytics");
    ck_assert_ptr_nonnull(a);
    snprintf(path, sizeof(path), "intents.%s.classifications", intent);
    ck_assert_double_eq(json_num(a, path), 3);
    snprintf(path, sizeof(path), "intents.%s.correction_rate", intent);
    ck_assert_double_eq_tol(json_num(a, path), 1.0 / 3, 1e-9);
    ck_assert_double_eq(json_num(a, "intents.no_such_answer.classifications"),
                        0);
    ck_assert(cJSON_IsNull(
        json_get(json_get(json_get(a, "intents"), "no_such_answer"),
                 "correction_rate")));
    sh = cJSON_GetObjectItemCaseSensitive(json_get(a, "shadow"), fp);
    ck_assert_msg(sh, "no shadow member for %s", fp);
    ck_assert_double_eq(json_num(sh, "checks"), 0);
    ck_assert_double_eq(json_num(sh, "disagree"), 0);
    ck_assert(cJSON_IsNull(json_get(sh, "rate")));
    cJSON_Delete(st);

    /* the page of `feedback report`, another process again, reads the
     * same counts: the rate per classification of the intent served */
    cli(&r, &h, "feedback", "report");
    expect(&r, 0, NULL, "");
    sec = strstr(r.out, "<section id=\"per-classification\">");
    ck_assert_ptr_nonnull(sec);
    snprintf(path, sizeof(path), ">%s</text>", intent);
    ck_assert_msg(strstr(sec, path) != NULL, "no %s in\n%s", path, sec);
    ck_assert_ptr_nonnull(
        strstr(strstr(sec, path), ">33.3%: 1 of 3 classifications<"));
    run_free(&r);
}
END_TEST

void suite_cli_served(Suite *s)
{
    TCase *tc = tcase_create("cli_served");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_stats_served, CLI_LMDB, CLI_REDIS + 1);
    suite_add_tcase(s, tc);
}
