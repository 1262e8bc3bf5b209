/*
 * check_service.c - the example HTTP service's API (examples/
 * intent_service): classification through the cache's tiers, feedback,
 * metrics, health, and the JSON errors of each endpoint, all through
 * curl against the real binary (service_fixture.h says how it is run).
 * Its operation (options, environment, logs, exit codes, the systemd
 * unit) is in check_service_ops.c, its bounds on abusive clients in
 * check_service_abuse.c; all three are the "service" suite.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "service_fixture.h"
#include "suites.h"

/* ---- tests --------------------------------------------------------------- */

/* The first answer comes from the model, the same text again from L1. */
START_TEST(test_classify_tiers)
{
    char ct[128];
    cJSON *a, *b;
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    a = sv_classify(SV_TEXT_A);
    ck_assert_str_eq(json_str(a, "source"), "model");
    ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(a, "top")));
    b = sv_classify(SV_TEXT_A);
    ck_assert_str_eq(json_str(b, "source"), "l1");
    ck_assert_str_eq(json_str(a, "intent"), json_str(b, "intent"));
    cJSON_Delete(a);
    cJSON_Delete(b);

    sv_http(&r, "POST", SV_CLASSIFY, "{\"text\":\"" SV_TEXT_A "\"}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(sv_header(&r, "Content-Type", ct, sizeof(ct)),
                     "application/json");
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

START_TEST(test_bad_json)
{
    static const char *const bad[] = {
        "{\"text\":",              /* cut short */
        "{\"text\": \"a\"} trail", /* garbage after the value */
        "[\"text\"]",              /* not an object */
        "text=hello",              /* a form, not JSON */
        "",                        /* empty */
    };
    size_t i;
    sv_resp r;
    cJSON *o;

    sv_start(sv_lmdb_url(), NULL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sv_http(&r, "POST", SV_CLASSIFY, bad[i]);
        sv_expect_error(&r, 400, "bad_json", NULL);
        o = sv_json(&r);
        ck_assert(json_str(o, "detail")[0] != '\0');
        cJSON_Delete(o);
        sv_resp_free(&r);
    }
    /* The same answer on the feedback endpoint. */
    sv_http_error("POST", SV_FEEDBACK, "{\"text\": ", 400, "bad_json", NULL);
    /* Invalid UTF-8, raw or through an escaped NUL. */
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": \"caf\xe9\"}", 400,
                  "invalid_utf8", NULL);
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": \"a\\u0000b\"}", 400,
                  "bad_json", NULL);
    /* The service is still well after all of that. */
    o = sv_classify(SV_TEXT_A);
    cJSON_Delete(o);
    sv_stop(SIGTERM);
}
END_TEST

START_TEST(test_missing_field)
{
    sv_resp r;
    cJSON *o;

    sv_start(sv_lmdb_url(), NULL);
    sv_http(&r, "POST", SV_CLASSIFY, "{}");
    sv_expect_error(&r, 400, "missing_field", "text");
    o = sv_json(&r);
    ck_assert_ptr_nonnull(strstr(json_str(o, "detail"), "text"));
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": \"\"}", 400, "missing_field",
                  "text");
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": null}", 400, "missing_field",
                  "text");
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": 42}", 400, "invalid_field",
                  "text");
    /* Blank: the library's own check, still named. */
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": \"   \"}", 400,
                  "invalid_text", "text");
    sv_stop(SIGTERM);
}
END_TEST

/*
 * A field /classify does not know is refused and named, as /feedback
 * refuses one: a misspelt "text" is not taken for a missing one, and an
 * extra field is not ignored. "text" twice is refused too.
 */
START_TEST(test_unknown_field)
{
    sv_resp r;
    cJSON *o;

    sv_start(sv_lmdb_url(), NULL);
    sv_http(&r, "POST", SV_CLASSIFY, "{\"txt\": \"" SV_TEXT_A "\"}");
    sv_expect_error(&r, 400, "invalid_field", "txt");
    o = sv_json(&r);
    ck_assert_msg(strstr(json_str(o, "detail"), "unknown field") != NULL, "%s",
                  r.body);
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_http_error("POST", SV_CLASSIFY,
                  "{\"text\": \"" SV_TEXT_A "\", \"lang\": \"en\"}", 400,
                  "invalid_field", "lang");
    sv_http_error("POST", SV_CLASSIFY, "{\"text\": \"a\", \"text\": \"b\"}",
                  400, "invalid_field", "text");
    /* The feedback endpoint names its unknown field the same way. */
    sv_http_error("POST", SV_FEEDBACK,
                  "{\"text\": \"x\", \"original_intent\": \"a\", "
                  "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
                  "\"feedback_type\": \"correction\", \"colour\": \"red\"}",
                  400, "invalid_feedback", "colour");
    cJSON_Delete(sv_classify(SV_TEXT_A));
    sv_stop(SIGTERM);
}
END_TEST

/* Over 1 MiB: refused from Content-Length, and chunked at its end;
 * exactly 1 MiB is read. */
START_TEST(test_too_large)
{
    size_t n = (size_t)1024 * 1024;
    char *big = malloc(n + 1);
    const char *head = "{\"text\": \"" SV_TEXT_A "\"";
    sv_resp r;
    cJSON *o;

    ck_assert_ptr_nonnull(big);
    memset(big, ' ', n + 1);
    big[0] = '{';
    big[n] = '}';
    sv_start(sv_lmdb_url(), NULL);
    sv_http_ex(&r, "POST", SV_CLASSIFY, big, n + 1, NULL);
    sv_expect_error(&r, 413, "too_large", NULL);
    sv_resp_free(&r);
    sv_http_ex(&r, "POST", SV_CLASSIFY, big, n + 1,
               "Transfer-Encoding: chunked");
    sv_expect_error(&r, 413, "too_large", NULL);
    sv_resp_free(&r);
    /* A valid object padded with white space to exactly the limit. */
    memcpy(big, head, strlen(head));
    big[n - 1] = '}';
    sv_http_ex(&r, "POST", SV_CLASSIFY, big, n, NULL);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "source"), "model");
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_http_ex(&r, "POST", SV_CLASSIFY, big, n, "Transfer-Encoding: chunked");
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    sv_resp_free(&r);
    free(big);
    sv_stop(SIGTERM);
}
END_TEST

/*
 * A correction is accepted with an id, then answers the classification of
 * its text; a bad record names its field; the stats count both.
 */
START_TEST(test_feedback)
{
    char body[1024], from[64], to[64];
    const cJSON *pairs, *p0;
    cJSON *o, *st;
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    o = sv_classify(SV_TEXT_B);
    ck_assert_str_eq(json_str(o, "source"), "model");
    snprintf(from, sizeof(from), "%s", json_str(o, "intent"));
    snprintf(to, sizeof(to), "%s", sv_other_intent(from));
    cJSON_Delete(o);

    sv_feedback_json(body, sizeof(body), SV_TEXT_B, from, to, "0.61");
    sv_http(&r, "POST", SV_FEEDBACK, body);
    ck_assert_msg(r.code == 201, "HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "status"), "accepted");
    /* derived from the content: 32 hex digits (tutorcache.h) */
    ck_assert_uint_eq(strlen(json_str(o, "id")), 32);
    cJSON_Delete(o);
    sv_resp_free(&r);
    /* the same record again: stored once, and said so */
    sv_http(&r, "POST", SV_FEEDBACK, body);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "status"), "duplicate");
    cJSON_Delete(o);
    sv_resp_free(&r);

    o = sv_classify(SV_TEXT_B);
    ck_assert_str_eq(json_str(o, "source"), "feedback");
    ck_assert_str_eq(json_str(o, "intent"), to);
    cJSON_Delete(o);

    sv_feedback_json(body, sizeof(body), SV_TEXT_B, from, to, "1.7");
    sv_http(&r, "POST", SV_FEEDBACK, body);
    sv_expect_error(&r, 400, "invalid_feedback", "original_confidence");
    o = sv_json(&r);
    ck_assert_msg(strstr(json_str(o, "detail"), "original_confidence") != NULL,
                  "%s", r.body);
    cJSON_Delete(o);
    sv_resp_free(&r);
    /* An unknown field is named too. */
    sv_http(&r, "POST", SV_FEEDBACK,
            "{\"text\": \"x\", \"original_intent\": \"a\", "
            "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
            "\"feedback_type\": \"correction\", \"colour\": \"red\"}");
    sv_expect_error(&r, 400, "invalid_feedback", "colour");
    ck_assert_msg(strstr(r.body, "colour") != NULL, "%s", r.body);
    sv_resp_free(&r);

    sv_http(&r, "GET", SV_STATS, NULL);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    st = sv_json(&r);
    sv_resp_free(&r);
    o = cJSON_GetObjectItemCaseSensitive(st, "accepted");
    ck_assert_int_eq((int)json_num(o, "correction"), 1);
    ck_assert_int_eq((int)json_num(o, "confirmation"), 0);
    /* The unknown field's record may be rejected before its type is
     * read: it is then counted as "invalid". */
    o = cJSON_GetObjectItemCaseSensitive(st, "rejected");
    ck_assert_int_ge((int)json_num(o, "correction"), 1);
    ck_assert_int_eq((int)(json_num(o, "correction") + json_num(o, "invalid")),
                     2);
    pairs = cJSON_GetObjectItemCaseSensitive(st, "pairs");
    ck_assert_int_eq(cJSON_GetArraySize(pairs), 1);
    p0 = cJSON_GetArrayItem(pairs, 0);
    ck_assert_str_eq(json_str(p0, "original"), from);
    ck_assert_str_eq(json_str(p0, "correct"), to);
    ck_assert_int_eq((int)json_num(p0, "count"), 1);
    ck_assert_int_eq((int)json_num(st, "kept"), 1);
    ck_assert_int_eq((int)json_num(st, "spooled"), 0);
    cJSON_Delete(st);
    sv_stop(SIGTERM);
}
END_TEST

/* Runs promtool check metrics on text; skipped when promtool is absent. */
static void promtool_check(const char *text)
{
    char in[SV_PATH_LEN], out[SV_PATH_LEN];
    char *argv[] = {"promtool", "check", "metrics", NULL};
    int code;

    snprintf(in, sizeof(in), "%s/metrics.txt", sv_tmp);
    snprintf(out, sizeof(out), "%s/promtool.out", sv_tmp);
    sv_spit(in, text, strlen(text));
    code = sv_run(argv, in, out, out, sv_slow_ms(30000));
    if (code == 127) {
        fprintf(stderr, "check_service: promtool not installed; "
                        "`scripts/deps.sh check` installs it\n");
        return;
    }
    if (code != 0) {
        char *o = sv_slurp(out, NULL);

        ck_abort_msg("promtool check metrics: exit %d: %s", code, o ? o : "");
    }
}

/* The counters match what was done, and the text passes promtool. */
START_TEST(test_metrics)
{
    char body[1024], ct[128], series[256], from[64];
    cJSON *o;
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    cJSON_Delete(sv_classify(SV_TEXT_A)); /* miss */
    cJSON_Delete(sv_classify(SV_TEXT_A)); /* hit */
    o = sv_classify(SV_TEXT_B);           /* miss */
    snprintf(from, sizeof(from), "%s", json_str(o, "intent"));
    cJSON_Delete(o);
    sv_feedback_json(body, sizeof(body), SV_TEXT_B, from, sv_other_intent(from),
                     "0.5");
    sv_http(&r, "POST", SV_FEEDBACK, body);
    ck_assert_int_eq(r.code, 201);
    sv_resp_free(&r);
    cJSON_Delete(sv_classify(SV_TEXT_B));                  /* feedback */
    sv_http(&r, "POST", SV_CLASSIFY, "{\"text\": \" \"}"); /* error */
    ck_assert_int_eq(r.code, 400);
    sv_resp_free(&r);

    sv_http(&r, "GET", "/metrics", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(sv_header(&r, "Content-Type", ct, sizeof(ct)),
                     "text/plain; version=0.0.4; charset=utf-8");
#define EXPECT_SERIES(s, v)                                                    \
    ck_assert_msg(sv_metric(r.body, s) == (v), "%s is %g, expected %g", s,     \
                  sv_metric(r.body, s), (double)(v))
    EXPECT_SERIES("intent_classification_requests_total{status=\"cache_miss\"}",
                  2);
    EXPECT_SERIES("intent_classification_requests_total{status=\"cache_hit\"}",
                  1);
    EXPECT_SERIES("intent_classification_requests_total{status=\"feedback\"}",
                  1);
    EXPECT_SERIES("intent_classification_requests_total{status=\"error\"}", 1);
    EXPECT_SERIES("intent_feedback_submissions_total{type=\"correction\","
                  "status=\"accepted\"}",
                  1);
    snprintf(series, sizeof(series),
             "intent_feedback_corrections_total{original=\"%s\","
             "correct=\"%s\"}",
             from, sv_other_intent(from));
    EXPECT_SERIES(series, 1);
    EXPECT_SERIES("intent_service_http_requests_total{route=\"classify\","
                  "code=\"200\"}",
                  4);
    EXPECT_SERIES("intent_service_http_requests_total{route=\"classify\","
                  "code=\"400\"}",
                  1);
    EXPECT_SERIES("intent_service_http_requests_total{route=\"feedback\","
                  "code=\"201\"}",
                  1);
    ck_assert(
        sv_metric(r.body, "intent_classification_duration_seconds_count") ==
        sv_metric(r.body, "intent_classification_duration_seconds_bucket"
                          "{le=\"+Inf\"}"));
    EXPECT_SERIES("intent_service_http_connections_dropped_total{reason="
                  "\"limit\"}",
                  0);
    ck_assert(sv_metric(r.body, "intent_service_http_connections") >= 1);
#undef EXPECT_SERIES
    ck_assert_ptr_nonnull(
        strstr(r.body, "# TYPE intent_classification_requests_total counter"));
    promtool_check(r.body);
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

START_TEST(test_health)
{
    char ct[128];
    cJSON *o;
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    sv_http(&r, "GET", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(sv_header(&r, "Content-Type", ct, sizeof(ct)),
                     "application/json");
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "status"), "ok");
    ck_assert_str_eq(json_str(o, "store"), "lmdb");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "store_up")));
    ck_assert_str_eq(json_str(o, "model"), sv_fp);
    /* LMDB keeps feedback on disk: nothing at risk, nothing to warn */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         o, "feedback_at_risk")),
                     0);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "feedback_warning"));
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_http(&r, "HEAD", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_ptr_nonnull(sv_header(&r, "Content-Type", ct, sizeof(ct)));
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

/* On an LRU Redis, health says feedback may be evicted, and how not. */
START_TEST(test_health_feedback_at_risk)
{
    trs *lru = trs_start("maxmemory 2mb\nmaxmemory-policy allkeys-lru\n");
    const cJSON *risk;
    cJSON *o;
    sv_resp r;

    ck_assert_msg(lru != NULL, "redis-server did not start");
    sv_start(trs_url(lru), NULL);
    sv_http(&r, "GET", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "status"), "ok");
    risk = cJSON_GetObjectItemCaseSensitive(o, "feedback_at_risk");
    ck_assert_int_eq(cJSON_GetArraySize(risk), 1);
    ck_assert_str_eq(cJSON_GetArrayItem(risk, 0)->valuestring, "evictable");
    ck_assert_ptr_nonnull(
        strstr(json_str(o, "feedback_warning"), "noeviction"));
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_stop(SIGTERM);
    trs_stop(lru);
}
END_TEST

/*
 * With its Redis down the service still serves: health says so with 200,
 * classify answers from the model, feedback is spooled, still 201, and
 * its answer says "spooled" (as `tutorcache feedback submit` does).
 */
START_TEST(test_store_down)
{
    char url[64], body[1024];
    cJSON *o;
    sv_resp r;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", sv_closed_port());
    sv_start(url, NULL);
    sv_http(&r, "GET", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "status"), "degraded");
    ck_assert_str_eq(json_str(o, "store"), "redis");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "store_up")));
    cJSON_Delete(o);
    sv_resp_free(&r);

    o = sv_classify(SV_TEXT_A);
    ck_assert_str_eq(json_str(o, "source"), "model");
    cJSON_Delete(o);

    sv_feedback_json(body, sizeof(body), SV_TEXT_A, "debugging",
                     "code_generation", "0.4");
    sv_http(&r, "POST", SV_FEEDBACK, body);
    ck_assert_msg(r.code == 201, "HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    ck_assert_str_eq(json_str(o, "status"), "spooled");
    ck_assert_uint_eq(strlen(json_str(o, "id")), 32);
    cJSON_Delete(o);
    sv_resp_free(&r);
    sv_http(&r, "GET", "/metrics", NULL);
    ck_assert_msg(sv_metric(r.body, "intent_feedback_submissions_total{type="
                                    "\"correction\",status=\"spooled\"}") == 1,
                  "not counted as spooled");
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

START_TEST(test_not_found_and_method)
{
    char allow[64];
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    sv_http_error("GET", "/nope", NULL, 404, "not_found", NULL);
    sv_http_error("POST", "/api/v1/intents", "{}", 404, "not_found", NULL);
    sv_http(&r, "GET", SV_CLASSIFY, NULL);
    sv_expect_error(&r, 405, "method_not_allowed", NULL);
    ck_assert_str_eq(sv_header(&r, "Allow", allow, sizeof(allow)), "POST");
    sv_resp_free(&r);
    sv_http(&r, "PUT", SV_FEEDBACK, "{}");
    sv_expect_error(&r, 405, "method_not_allowed", NULL);
    ck_assert_str_eq(sv_header(&r, "Allow", allow, sizeof(allow)),
                     "POST, DELETE");
    sv_resp_free(&r);
    sv_http(&r, "POST", "/metrics", "{}");
    sv_expect_error(&r, 405, "method_not_allowed", NULL);
    ck_assert_str_eq(sv_header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
    sv_resp_free(&r);
    sv_http_error("DELETE", SV_STATS, NULL, 405, "method_not_allowed", NULL);
    sv_stop(SIGTERM);
}
END_TEST

/*
 * Eight clients at once, 25 keep-alive requests each over 4 texts: every
 * answer is 200, and the library counted each exactly once.
 */
START_TEST(test_concurrent_clients)
{
    static const char *const texts[] = {
        SV_TEXT_A, SV_TEXT_B, "Summarize this article about photosynthesis",
        "Translate good morning into French"};
    enum { CLIENTS = 8, REQS = 25 };
    char url[128], outf[CLIENTS][SV_PATH_LEN], body[256];
    pid_t pids[CLIENTS];
    double hits, misses;
    int i, j, lines;
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sv_port, SV_CLASSIFY);
    for (i = 0; i < CLIENTS; i++) {
        char *argv[16 + REQS], bodyf[SV_PATH_LEN], data[SV_PATH_LEN + 1];
        int n = 0;

        snprintf(bodyf, sizeof(bodyf), "%s/c%d.body", sv_tmp, i);
        snprintf(outf[i], SV_PATH_LEN, "%s/c%d.out", sv_tmp, i);
        snprintf(data, sizeof(data), "@%s", bodyf);
        snprintf(body, sizeof(body), "{\"text\": \"%s\"}", texts[i % 4]);
        sv_spit(bodyf, body, strlen(body));
        argv[n++] = "curl";
        argv[n++] = "-s";
        argv[n++] = "--max-time";
        argv[n++] = "60";
        argv[n++] = "-o";
        argv[n++] = "/dev/null";
        argv[n++] = "-w";
        argv[n++] = "%{http_code}\\n";
        argv[n++] = "--data-binary";
        argv[n++] = data;
        for (j = 0; j < REQS; j++) {
            argv[n++] = url; /* the same POST to each, one connection */
        }
        argv[n] = NULL;
        pids[i] = sv_spawn(argv, NULL, outf[i], NULL);
        ck_assert_int_gt(pids[i], 0);
    }
    for (i = 0; i < CLIENTS; i++) {
        char *out, *p;

        ck_assert_int_eq(sv_wait(pids[i], sv_slow_ms(60000)), 0);
        out = sv_slurp(outf[i], NULL);
        ck_assert_ptr_nonnull(out);
        for (lines = 0, p = out; (p = strstr(p, "200\n")); p += 4) {
            lines++;
        }
        ck_assert_msg(lines == REQS, "client %d: %s", i, out);
        free(out);
    }
    sv_http(&r, "GET", "/metrics", NULL);
    hits = sv_metric(
        r.body, "intent_classification_requests_total{status=\"cache_hit\"}");
    misses = sv_metric(
        r.body, "intent_classification_requests_total{status=\"cache_miss\"}");
    ck_assert_msg(hits + misses == CLIENTS * REQS && misses >= 4 &&
                      misses <= CLIENTS,
                  "hits %g, misses %g", hits, misses);
    ck_assert(sv_metric(r.body,
                        "intent_service_http_requests_total{route="
                        "\"classify\",code=\"200\"}") == CLIENTS * REQS);
    sv_resp_free(&r);
    sv_stop(SIGTERM);
}
END_TEST

/* On memory: there is nothing durable to keep feedback in: 503, named. */
START_TEST(test_memory_store)
{
    char body[1024];
    cJSON *o;

    sv_start("memory:", NULL);
    o = sv_classify(SV_TEXT_A);
    cJSON_Delete(o);
    sv_feedback_json(body, sizeof(body), SV_TEXT_A, "debugging",
                     "code_generation", "0.4");
    sv_http_error("POST", SV_FEEDBACK, body, 503, "feedback_unavailable", NULL);
    sv_http_error("GET", SV_STATS, NULL, 503, "feedback_unavailable", NULL);
    sv_stop(SIGTERM);
}
END_TEST

/* --threshold: a confidence below it is "unknown", the scores kept. */
START_TEST(test_threshold)
{
    cJSON *o;

    /* words the model never saw: no intent is likely */
    sv_start(sv_lmdb_url(), "--threshold", "0.9", NULL);
    o = sv_classify("qwerty zxcv asdf");
    ck_assert_str_eq(json_str(o, "intent"), "unknown");
    ck_assert(json_num(o, "confidence") < 0.9);
    ck_assert_int_gt(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "top")), 0);
    cJSON_Delete(o);
    sv_stop(SIGTERM);
}
END_TEST

Suite *suite_service(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("api");

    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_classify_tiers);
    tcase_add_test(tc, test_bad_json);
    tcase_add_test(tc, test_missing_field);
    tcase_add_test(tc, test_unknown_field);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_feedback);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_health_feedback_at_risk);
    tcase_add_test(tc, test_store_down);
    tcase_add_test(tc, test_not_found_and_method);
    tcase_add_test(tc, test_concurrent_clients);
    tcase_add_test(tc, test_memory_store);
    tcase_add_test(tc, test_threshold);
    suite_add_tcase(s, tc);
    suite_service_ops(s);
    suite_service_abuse(s);
    suite_service_audit(s);
    suite_service_ab(s);
    suite_service_report(s);
    return s;
}
