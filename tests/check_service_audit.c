/*
 * check_service_audit.c - the example service's audit trail and erasure:
 * the X-Actor header names who acts in the audit log's lines, DELETE
 * /api/v1/intents/feedback?user_id=ID erases a student's records (and
 * answers 0 the second time), and after logrotate renamed the log a SIGHUP
 * makes the next lines go to a new file by the old name. Part of the
 * service suite.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_fixture.h"
#include "suites.h"

#define MARK "MarkerSvcText4411"

static void post_record(int n, const char *actor)
{
    char body[512];
    sv_resp r;

    snprintf(body, sizeof(body),
             "{\"text\":\"" MARK " number %d\",\"original_intent\":"
             "\"code_generation\",\"correct_intent\":\"explanation\","
             "\"original_confidence\":0.5,\"feedback_type\":\"correction\","
             "\"user_id\":\"svc-user\"}",
             n);
    sv_http_ex(&r, "POST", SV_FEEDBACK, body, strlen(body), actor);
    ck_assert_msg(r.code == 201, "%d %s", r.code, r.body);
    sv_resp_free(&r);
}

static long purge(const char *query, const char *actor, int want)
{
    char path[256];
    cJSON *o;
    long n;
    sv_resp r;

    snprintf(path, sizeof(path), "%s%s", SV_FEEDBACK, query);
    sv_http_ex(&r, "DELETE", path, NULL, 0, actor);
    ck_assert_msg(r.code == want, "%d %s", r.code, r.body);
    if (want != 200) {
        sv_resp_free(&r);
        return -1;
    }
    o = sv_json(&r);
    n = (long)json_num(o, "removed");
    cJSON_Delete(o);
    sv_resp_free(&r);
    return n;
}

START_TEST(test_audit_purge_sighup)
{
    char log[SV_PATH_LEN], old[SV_PATH_LEN], env[SV_PATH_LEN + 32];
    char *text;
    size_t len;
    int64_t until;
    int n = 10;

    snprintf(log, sizeof(log), "%s/audit.log", sv_tmp);
    snprintf(old, sizeof(old), "%s/audit.log.1", sv_tmp);
    snprintf(env, sizeof(env), "TUTORCACHE_AUDIT_LOG=%s", log);
    sv_env_add(env);
    sv_start(sv_lmdb_url(), NULL);

    post_record(1, "X-Actor: counsellor-1");
    post_record(2, NULL);
    ck_assert_int_eq(purge("?user_id=svc-user", "X-Actor: dpo", 200), 2);
    ck_assert_int_eq(purge("?user_id=svc-user", "X-Actor: dpo", 200), 0);
    purge("", NULL, 400);

    /* logrotate: rename, then SIGHUP; lines go to a new audit.log */
    ck_assert_int_eq(rename(log, old), 0);
    sv_signal(SIGHUP);
    until = sv_now_ms() + sv_slow_ms(10000);
    do {
        post_record(n++, "X-Actor: after-rotate");
        text = sv_slurp(log, &len);
        if (!text) {
            sv_sleep_ms(50);
        }
    } while (!text && sv_now_ms() < until);
    ck_assert_msg(text, "no new audit log after SIGHUP");
    ck_assert_ptr_nonnull(strstr(text, "\"actor\":\"after-rotate\""));
    ck_assert_ptr_null(strstr(text, MARK));
    free(text);

    text = sv_slurp(old, &len);
    ck_assert_ptr_nonnull(text);
    /* the model's load, two submits, two purges (the refused DELETE is
     * no operation), then what came before the signal was seen */
    ck_assert_msg(strstr(text, "\"op\":\"model_load\""), "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\"op\":\"feedback_submit\""));
    ck_assert_ptr_nonnull(strstr(text, "\"actor\":\"counsellor-1\""));
    ck_assert_ptr_nonnull(strstr(text, "\"op\":\"feedback_purge\",\"key\":"
                                       "\"user:"));
    ck_assert_ptr_nonnull(strstr(text, "\"count\":2,\"actor\":\"dpo\""));
    ck_assert_ptr_nonnull(strstr(text, "\"count\":0,\"actor\":\"dpo\""));
    ck_assert_ptr_null(strstr(text, MARK));
    ck_assert_ptr_null(strstr(text, "svc-user"));
    free(text);
    sv_stop(SIGTERM);
}
END_TEST

void suite_service_audit(Suite *s)
{
    TCase *tc = tcase_create("audit");

    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_audit_purge_sighup);
    suite_add_tcase(s, tc);
}
