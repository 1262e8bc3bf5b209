/*
 * check_service_warm.c - the example service's POST /api/v1/intents/warm
 * ({"texts": [...]} and {"popular": N}, the CLI's summary) and the cache
 * configuration in /api/v1/intents/feedback/stats, through curl against
 * the real binary on LMDB and on a private Redis.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "service_fixture.h"
#include "suites.h"

#define SV_WARM "/api/v1/intents/warm"

/* A warm's answer against the counts. */
static void expect_warm(const char *body, double texts, double computed,
                        double cached, double rejected)
{
    sv_resp r;
    cJSON *o;

    sv_http(&r, "POST", SV_WARM, body);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    ck_assert_msg(
        json_num(o, "texts") == texts && json_num(o, "computed") == computed &&
            json_num(o, "already_cached") == cached &&
            json_num(o, "rejected") == rejected && json_num(o, "seconds") >= 0,
        "%s for %s", r.body, body);
    cJSON_Delete(o);
    sv_resp_free(&r);
}

/* {"texts": [...]}: duplicates once, bad elements rejected; then the
 * answers are cached, and classify finds them. */
START_TEST(test_warm_texts)
{
    trs *srv = NULL;
    cJSON *o;

    if (_i == 1) {
        srv = trs_start(NULL);
        ck_assert_ptr_nonnull(srv);
    }
    sv_start(srv ? trs_url(srv) : sv_lmdb_url(), NULL);
    expect_warm("{\"texts\":[\"" SV_TEXT_A "\",\"" SV_TEXT_B "\","
                "\"how do I write a python function that reverses a list\","
                "\"   \",7,\"\"]}",
                6, 2, 0, 3);
    expect_warm("{\"texts\":[\"" SV_TEXT_A "\",\"" SV_TEXT_B "\"]}", 2, 0, 2,
                0);
    expect_warm("{\"texts\":[]}", 0, 0, 0, 0);
    o = sv_classify(SV_TEXT_B);
    ck_assert_str_ne(json_str(o, "source"), "model");
    cJSON_Delete(o);
    sv_stop(SIGTERM);
    trs_stop(srv);
}
END_TEST

/* {"popular": N} after traffic counted with track_popular; the warm
 * itself is not counted. */
START_TEST(test_warm_popular)
{
    cJSON *o;

    sv_env_add("TUTORCACHE_TRACK_POPULAR=true");
    sv_start(sv_lmdb_url(), NULL);
    for (int i = 0; i < 3; i++) {
        cJSON_Delete(sv_classify(SV_TEXT_A));
    }
    cJSON_Delete(sv_classify(SV_TEXT_B));
    /* counts reach the store within a second or so; wait for both */
    for (int i = 0; i < sv_slow_ms(20000) / 100; i++) {
        sv_resp r;
        int done;

        sv_http(&r, "POST", SV_WARM, "{\"popular\":10}");
        o = sv_json(&r);
        done = json_num(o, "texts") == 2;
        cJSON_Delete(o);
        sv_resp_free(&r);
        if (done) {
            break;
        }
        sv_sleep_ms(100);
    }
    expect_warm("{\"popular\":10}", 2, 0, 2, 0);
    expect_warm("{\"popular\":1}", 1, 0, 1, 0);
    expect_warm("{\"texts\":[\"warmed, never asked\"]}", 1, 1, 0, 0);
    sv_sleep_ms(1500); /* a flush of the warm's counts would be in */
    expect_warm("{\"popular\":10}", 2, 0, 2, 0);
    sv_stop(SIGTERM);
}
END_TEST

/* Bad bodies name their field; tracking off is said so. */
START_TEST(test_warm_refused)
{
    sv_start(sv_lmdb_url(), NULL);
    sv_http_error("POST", SV_WARM, "{}", 400, "missing_field", "texts");
    sv_http_error("POST", SV_WARM, "{\"texts\":[],\"popular\":3}", 400,
                  "missing_field", "texts");
    sv_http_error("POST", SV_WARM, "{\"texts\":\"a\"}", 400, "invalid_field",
                  "texts");
    sv_http_error("POST", SV_WARM, "{\"popular\":0}", 400, "invalid_field",
                  "popular");
    sv_http_error("POST", SV_WARM, "{\"popular\":2.5}", 400, "invalid_field",
                  "popular");
    sv_http_error("POST", SV_WARM, "{\"popular\":\"5\"}", 400, "invalid_field",
                  "popular");
    sv_http_error("POST", SV_WARM, "{\"popular\":5,\"extra\":1}", 400,
                  "invalid_field", "extra");
    sv_http_error("POST", SV_WARM, "[1]", 400, "bad_json", NULL);
    sv_http_error("GET", SV_WARM, NULL, 405, "method_not_allowed", NULL);
    {
        sv_resp r;

        sv_http(&r, "POST", SV_WARM, "{\"popular\":5}");
        sv_expect_error(&r, 400, "invalid_field", "popular");
        ck_assert_msg(strstr(r.body, "track_popular is off"), "%s", r.body);
        sv_resp_free(&r);
    }
    sv_stop(SIGTERM);
}
END_TEST

/* The stats carry the cache's configuration. */
START_TEST(test_stats_cache_config)
{
    sv_resp r;
    cJSON *o;

    sv_env_add("CACHE_TTL=120");
    sv_start(sv_lmdb_url(), NULL);
    sv_http(&r, "GET", "/api/v1/intents/feedback/stats", NULL);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    ck_assert_double_eq(json_num(o, "cache.ttl"), 120);
    ck_assert_str_eq(json_str(o, "cache.namespace"), "intents");
    ck_assert_str_eq(json_str(o, "cache.store"), "lmdb");
    ck_assert(json_num(o, "cache.l1_max_bytes") > 0);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "cache"), "enable_caching")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "cache"), "track_popular")));
    /* the feedback counts are still there */
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(o, "accepted"));
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

Suite *suite_service_warm(void)
{
    Suite *s = suite_create("service_warm");
    TCase *tc = tcase_create("warm");

    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_loop_test(tc, test_warm_texts, 0, 2);
    tcase_add_test(tc, test_warm_popular);
    tcase_add_test(tc, test_warm_refused);
    tcase_add_test(tc, test_stats_cache_config);
    suite_add_tcase(s, tc);
    return s;
}
