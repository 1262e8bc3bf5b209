/*
 * check_service_ab.c - the example service's A/B rollout: --candidate
 * and --split, each answer naming its arm and that arm's model, arms
 * sticky per user_id of the classify request; a feedback record without
 * "model" given the model of the answer the service served for its text
 * and user, counted for that arm in /metrics and stored with it; a record
 * naming a model keeps it; bad input (a bad user_id, a bad model, --split
 * without --candidate) refused; the feedback report naming both models.
 * Part of the service suite.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_fixture.h"
#include "suites.h"

/* The candidate: trained on the first 200 examples, so another model
 * with another fingerprint; once per case. */
static char cand_dir_path[SV_PATH_LEN];
static char cand_model[SV_PATH_LEN + 16];
static char cand_fp[64];
static char cand_err[1024];

static void ab_case_setup(void)
{
    char data[SV_PATH_LEN + 16], *all;
    char *tmp;
    size_t len, cut = 0;
    int lines = 0;

    sv_case_setup();
    cand_err[0] = '\0';
    if (!(tmp = tt_mkdtemp())) {
        snprintf(cand_err, sizeof(cand_err), "no temp dir");
        return;
    }
    snprintf(cand_dir_path, sizeof(cand_dir_path), "%s", tmp);
    free(tmp);
    snprintf(data, sizeof(data), "%s/part.jsonl", cand_dir_path);
    snprintf(cand_model, sizeof(cand_model), "%s/cand.tcm", cand_dir_path);
    if (!(all = sv_slurp("examples/intents.jsonl", &len))) {
        snprintf(cand_err, sizeof(cand_err), "no examples/intents.jsonl");
        return;
    }
    while (cut < len && lines < 200) {
        lines += all[cut++] == '\n';
    }
    sv_spit(data, all, cut);
    free(all);
    sv_train(data, cand_model, cand_fp, cand_err, sizeof(cand_err));
}

static void ab_case_teardown(void)
{
    if (cand_dir_path[0]) {
        tt_rmtree(cand_dir_path);
        cand_dir_path[0] = '\0';
    }
    sv_case_teardown();
}

/* POSTs body to path, expecting code; the JSON answer (to delete). */
static cJSON *post(const char *path, const char *body, int code)
{
    cJSON *o;
    sv_resp r;

    sv_http(&r, "POST", path, body);
    ck_assert_msg(r.code == code, "%s %s: %d %s", path, body, r.code, r.body);
    o = sv_json(&r);
    sv_resp_free(&r);
    return o;
}

/* Classifies text for user (NULL: none): 1 when the candidate answered,
 * 0 control, the answer's model checked against the arm's. */
static int arm_of(const char *text, const char *user)
{
    char body[512];
    cJSON *o;
    int cand;

    if (user) {
        snprintf(body, sizeof(body), "{\"text\":\"%s\",\"user_id\":\"%s\"}",
                 text, user);
    } else {
        snprintf(body, sizeof(body), "{\"text\":\"%s\"}", text);
    }
    o = post(SV_CLASSIFY, body, 200);
    cand = strcmp(json_str(o, "arm"), "candidate") == 0;
    ck_assert_msg(cand || strcmp(json_str(o, "arm"), "control") == 0, "%s",
                  json_str(o, "arm"));
    ck_assert_str_eq(json_str(o, "model"), cand ? cand_fp : sv_fp);
    cJSON_Delete(o);
    return cand;
}

/* The value of a sample of /metrics; -1 when absent. */
static long long metric(const char *sample)
{
    long long v = -1;
    const char *p;
    sv_resp r;

    sv_http(&r, "GET", "/metrics", NULL);
    ck_assert_int_eq(r.code, 200);
    if ((p = strstr(r.body, sample))) {
        v = atoll(p + strlen(sample) + 1);
    }
    sv_resp_free(&r);
    return v;
}

#define CLS(arm) "intent_ab_classifications_total{arm=\"" arm "\"}"

START_TEST(test_ab_arms)
{
    char text[64], user[32];
    int n[2] = {0, 0}, first;

    ck_assert_msg(!cand_err[0], "%s", cand_err);
    ck_assert_str_ne(cand_fp, sv_fp);
    sv_start(sv_lmdb_url(), "--candidate", cand_model, "--split", "0.5", NULL);
    /* one user, many texts: always the same arm */
    first = arm_of("how do I sort a list in python", "student-1");
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "explain closures number %d", i);
        ck_assert_int_eq(arm_of(text, "student-1"), first);
    }
    /* many users, one text: both arms (all 40 in one: 2^-39) */
    for (int i = 0; i < 40; i++) {
        snprintf(user, sizeof(user), "student-%d", 100 + i);
        n[arm_of("how do I sort a list in python", user)]++;
    }
    ck_assert_msg(n[0] > 0 && n[1] > 0, "control %d, candidate %d", n[0], n[1]);
    /* without a user, the text chooses: the same text, the same arm */
    first = arm_of(SV_TEXT_A, NULL);
    ck_assert_int_eq(arm_of(SV_TEXT_A, NULL), first);
    ck_assert_int_eq(metric(CLS("control")) + metric(CLS("candidate")), 63);
    sv_stop(SIGTERM);
}
END_TEST

/* A record of text for user (NULL: none) with model_json ("" for none,
 * else ,"model":...). */
static void feedback(const char *text, const char *user, const char *model_json,
                     int code)
{
    char body[768];
    cJSON *o;

    snprintf(body, sizeof(body),
             "{\"text\":\"%s\",\"original_intent\":\"code_generation\","
             "\"correct_intent\":\"explanation\",\"original_confidence\":0.5,"
             "\"feedback_type\":\"correction\"%s%s%s%s}",
             text, user ? ",\"user_id\":\"" : "", user ? user : "",
             user ? "\"" : "", model_json);
    o = post(SV_FEEDBACK, body, code);
    cJSON_Delete(o);
}

#define CORR(arm) "intent_ab_corrections_total{arm=\"" arm "\"}"

/* The stored records as the CLI exports them, into a string to free. */
static char *exported(void)
{
    char bin[SV_PATH_LEN], out[SV_PATH_LEN + 16], *text;
    char *argv[] = {bin,        "--store", (char *)sv_lmdb_url(),
                    "feedback", "export",  NULL};

    snprintf(bin, sizeof(bin), "%s/tutorcache", tt_build_dir());
    snprintf(out, sizeof(out), "%s/export.jsonl", sv_tmp);
    ck_assert_int_eq(sv_run(argv, NULL, out, NULL, sv_slow_ms(30000)), 0);
    text = sv_slurp(out, NULL);
    ck_assert_ptr_nonnull(text);
    return text;
}

START_TEST(test_ab_feedback_model)
{
    char user[32], *text;
    int a = -1, i;
    long long before;

    ck_assert_msg(!cand_err[0], "%s", cand_err);
    sv_start(sv_lmdb_url(), "--candidate", cand_model, "--split", "0.5", NULL);
    /* a user the candidate answers */
    for (i = 0; a != 1 && i < 200; i++) {
        snprintf(user, sizeof(user), "learner-%d", i);
        a = arm_of("what is a closure in javascript", user);
    }
    ck_assert_int_eq(a, 1);
    /* without "model": the candidate's, from the answer served */
    feedback("What is a closure in JavaScript?", user, "", 201);
    ck_assert_int_eq(metric(CORR("candidate")), 1);
    ck_assert_int_eq(metric(CORR("control")), 0);
    /* the answer to a text without a user: its arm's model */
    a = arm_of("svc ab control text", NULL);
    feedback("svc ab control text", NULL, ",\"model\":null", 201);
    ck_assert_int_eq(metric(a ? CORR("candidate") : CORR("control")),
                     a ? 2 : 1);
    /* a text never answered: no model, no arm */
    before = metric(CORR("control")) + metric(CORR("candidate"));
    feedback("a text this service never classified", NULL, "", 201);
    /* a model given is kept, and counts for no arm when it is neither */
    feedback("svc ab other model", NULL, ",\"model\":\"other-v1\"", 201);
    ck_assert_int_eq(metric(CORR("control")) + metric(CORR("candidate")),
                     before);
    /* a bad model: refused, naming the field, nothing stored */
    {
        sv_resp r;
        const char *bad =
            "{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":"
            "\"b\",\"original_confidence\":0.5,\"feedback_type\":"
            "\"correction\",\"model\":\"two words\"}";

        sv_http(&r, "POST", SV_FEEDBACK, bad);
        sv_expect_error(&r, 400, "invalid_feedback", "model");
        sv_resp_free(&r);
    }
    sv_stop(SIGTERM);
    text = exported();
    ck_assert_int_eq(tt_count_lines(text), 4);
    ck_assert_msg(strstr(text, "\"user_id\":\"learner-") &&
                      strstr(text, cand_fp),
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\"model\":\"other-v1\""));
    {
        const char *never = strstr(text, "never classified");

        ck_assert_ptr_nonnull(never);
        ck_assert_ptr_null(memmem(never, strcspn(never, "\n"), "\"model\"", 7));
    }
    free(text);
}
END_TEST

/* The feedback report's A/B section: both models, the one serving as
 * control and --candidate's, side by side; before any record names the
 * candidate, its row is there at 0 of 0. */
START_TEST(test_ab_report)
{
    char model[128], want[128];
    const char *ab, *end;
    sv_resp r;

    ck_assert_msg(!cand_err[0], "%s", cand_err);
    sv_start(sv_lmdb_url(), "--candidate", cand_model, "--split", "0.5", NULL);
    snprintf(model, sizeof(model), ",\"model\":\"%s\"", sv_fp);
    feedback("svc ab report one", NULL, model, 201);
    for (int pass = 0; pass < 2; pass++) {
        sv_http(&r, "GET", "/api/v1/intents/feedback/report", NULL);
        ck_assert_msg(r.code == 200, "%d %s", r.code, r.body);
        ab = strstr(r.body, "<section id=\"ab\">");
        ck_assert_ptr_nonnull(ab);
        end = strstr(ab, "</section>");
        ck_assert_ptr_nonnull(end);
        snprintf(want, sizeof(want), ">control %s</text>", sv_fp);
        ck_assert_msg(strstr(ab, want) && strstr(ab, want) < end, "%s", ab);
        snprintf(want, sizeof(want), ">candidate %s</text>", cand_fp);
        ck_assert_msg(strstr(ab, want) && strstr(ab, want) < end, "%s", ab);
        ck_assert_ptr_nonnull(
            strstr(strstr(ab, want), pass ? "100% of 1<" : "0% of 0<"));
        sv_resp_free(&r);
        if (pass == 0) {
            snprintf(model, sizeof(model), ",\"model\":\"%s\"", cand_fp);
            feedback("svc ab report two", NULL, model, 201);
        }
    }
    sv_stop(SIGTERM);
}
END_TEST

/* A bad user_id on classify; --split without --candidate, out of range;
 * a candidate that does not load. */
START_TEST(test_ab_bad_input)
{
    static const char *const bad_users[] = {
        "{\"text\":\"x\",\"user_id\":42}",
        "{\"text\":\"x\",\"user_id\":\"\"}",
        "{\"text\":\"x\",\"user_id\":\"a\",\"user_id\":\"b\"}",
    };
    char *out;

    sv_start(sv_lmdb_url(), NULL);
    for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
        sv_http_error("POST", SV_CLASSIFY, bad_users[i], 400, "invalid_field",
                      "user_id");
    }
    /* no candidate: answers name no arm, a user_id is fine */
    {
        cJSON *o = post(SV_CLASSIFY, "{\"text\":\"x\",\"user_id\":\"u\"}", 200);

        ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "arm"));
        cJSON_Delete(o);
    }
    sv_stop(SIGTERM);
    {
        char *args[] = {"--port",  "0",   "--model", sv_model,
                        "--split", "0.5", NULL};

        ck_assert_int_eq(sv_exit_code(args, &out), 2);
        ck_assert_msg(strstr(out, "--split needs --candidate"), "%s", out);
        free(out);
    }
    {
        char *args[] = {"--port", "0",       "--model", sv_model, "--candidate",
                        sv_model, "--split", "1.5",     NULL};

        ck_assert_int_eq(sv_exit_code(args, &out), 2);
        ck_assert_msg(strstr(out, "--split: \"1.5\" is not in 0..1"), "%s",
                      out);
        free(out);
    }
    {
        char *args[] = {"--port",  "0",           "--model",
                        sv_model,  "--candidate", "/nonexistent.tcm",
                        "--store", "memory:",     NULL};

        ck_assert_int_eq(sv_exit_code(args, &out), 4);
        ck_assert_msg(strstr(out, "--candidate /nonexistent.tcm"), "%s", out);
        free(out);
    }
}
END_TEST

void suite_service_ab(Suite *s)
{
    TCase *tc = tcase_create("service_ab");

    tcase_add_unchecked_fixture(tc, ab_case_setup, ab_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 180);
    tcase_add_test(tc, test_ab_arms);
    tcase_add_test(tc, test_ab_feedback_model);
    tcase_add_test(tc, test_ab_bad_input);
    tcase_add_test(tc, test_ab_report);
    suite_add_tcase(s, tc);
}
