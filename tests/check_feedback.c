/*
 * check_feedback.c - the feedback API on a real LMDB store in a temp
 * directory per test: every validation rule, the stored record read back,
 * imports (JSON Lines and CSV) with exact counts and line numbers, stats,
 * the retraining queue with a consumer that dies, retention, the spool
 * (through the test-only fault hook), concurrency and failing
 * allocations. This file has the validation rules, the record, the
 * override and the stats; check_feedback_ids.c the ids and duplicates;
 * check_feedback_import.c the imports;
 * check_feedback_queue.c the queue, retention, the spool, threads and
 * failing allocations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedback_fixture.h"

/* ---- validation: one rule per loop iteration ------------------------------
 */

typedef struct rule {
    const char *json;
    const char *field; /* the message starts with "<field>:" */
    const char *exact; /* or NULL */
} rule;

static const rule rules[] = {
    {"{\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "text", "text: required"},
    {"{\"text\":\"  \\t \",\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "text", "text: empty"},
    {"{\"text\":\"ab\xff\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "text", "text: invalid UTF-8 at byte 2"},
    {"{\"text\":5,\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "text", "text: a number, not a string"},
    {"{\"text\":\"a\\u0000b\",\"original_intent\":\"a\",\"correct_intent\":"
     "\"b\",\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "text", NULL},
    {"{\"text\":\"x\",\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "original_intent", "original_intent: required"},
    {"{\"text\":\"x\",\"original_intent\":\"\",\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "original_intent", "original_intent: empty"},
    {"{\"text\":\"x\",\"original_intent\":null,\"correct_intent\":\"b\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "original_intent", "original_intent: null, not a string"},
    {"{\"text\":\"x\",\"original_intent\":\"a\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "correct_intent", "correct_intent: required"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":[\"b\"],"
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "correct_intent", "correct_intent: an array, not a string"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"feedback_type\":\"correction\"}",
     "original_confidence", "original_confidence: required"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":1.7,\"feedback_type\":\"correction\"}",
     "original_confidence", "original_confidence: 1.7 is not in 0..1"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":-0.1,\"feedback_type\":\"correction\"}",
     "original_confidence", "original_confidence: -0.1 is not in 0..1"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
     "\"original_confidence\":\"0.5\",\"feedback_type\":\"correction\"}",
     "original_confidence", "original_confidence: a string, not a number"},
    {"{" FB_BASE_FIELDS ",\"correct_complexity\":3,"
     "\"feedback_type\":\"correction\"}",
     "correct_complexity", "correct_complexity: a number, not a string"},
    {"{" FB_BASE_FIELDS ",\"correct_complexity\":\" \","
     "\"feedback_type\":\"correction\"}",
     "correct_complexity", "correct_complexity: empty"},
    {"{" FB_BASE_FIELDS ",\"correct_techniques\":\"x\","
     "\"feedback_type\":\"correction\"}",
     "correct_techniques",
     "correct_techniques: a string, not an array of strings"},
    {"{" FB_BASE_FIELDS ",\"correct_techniques\":[\"x\",1],"
     "\"feedback_type\":\"correction\"}",
     "correct_techniques[1]", "correct_techniques[1]: a number, not a string"},
    {"{" FB_BASE_FIELDS ",\"correct_techniques\":[\"x\",\"\"],"
     "\"feedback_type\":\"correction\"}",
     "correct_techniques[1]", "correct_techniques[1]: empty"},
    {"{" FB_BASE_FIELDS ",\"user_id\":true,\"feedback_type\":\"correction\"}",
     "user_id", "user_id: a boolean, not a string"},
    {"{" FB_BASE_FIELDS "}", "feedback_type", "feedback_type: required"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"praise\"}", "feedback_type",
     "feedback_type: \"praise\" is not \"correction\" or \"confirmation\""},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":1}", "feedback_type",
     "feedback_type: a number, not a string"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":\"a\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "correct_intent",
     "correct_intent: equals original_intent (\"a\"); a correction must "
     "change the intent"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"confirmation\"}",
     "correct_intent",
     "correct_intent: differs from original_intent; a confirmation repeats "
     "it"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"yesterday\"}",
     "timestamp", NULL},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2023-02-29T10:00:00Z\"}",
     "timestamp",
     "timestamp: \"2023-02-29T10:00:00Z\" has no such day in its month"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-13-01T10:00:00Z\"}",
     "timestamp", "timestamp: \"2024-13-01T10:00:00Z\" has no such month"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T24:00:00Z\"}",
     "timestamp",
     "timestamp: \"2024-01-01T24:00:00Z\" has no such time of day"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T10:00:00\"}",
     "timestamp", NULL},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T10:00:00+24:00\"}",
     "timestamp",
     "timestamp: \"2024-01-01T10:00:00+24:00\" has no such UTC offset"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T10:00:00.Z\"}",
     "timestamp", NULL},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":1700000000}",
     "timestamp", "timestamp: a number, not a string"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\",\"confidence\":0.5}",
     "confidence", NULL},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\",\"id\":"
     "\"a b\"}",
     "id", "id: \"a b\" is not 1 to 64 characters of A-Z a-z 0-9 . _ : -"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\",\"id\":7}", "id",
     "id: a number, not a string"},
    {"{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\",\"text\":\"again\"}",
     "text", "text: appears twice"},
};

#define NRULES ((int)(sizeof(rules) / sizeof(rules[0])))

static void expect_reject(tc_cache *h, const char *json, const char *field,
                          const char *exact)
{
    char id[TC_FEEDBACK_ID_MAX] = "x";
    const char *msg;
    size_t fl = strlen(field);
    int rc;

    rc = tc_feedback_submit_json(id, NULL, h, json, strlen(json));
    msg = tc_errmsg();
    ck_assert_msg(rc == TC_EINVAL, "%s: rc %d (%s), want TC_EINVAL", json, rc,
                  msg);
    ck_assert_str_eq(id, "");
    ck_assert_msg(strncmp(msg, field, fl) == 0 && msg[fl] == ':',
                  "message \"%s\" does not name %s", msg, field);
    if (exact) {
        ck_assert_str_eq(msg, exact);
    }
}

START_TEST(test_rule)
{
    tc_cache *h = fb_open(NULL);

    expect_reject(h, rules[_i].json, rules[_i].field, rules[_i].exact);
    ck_assert_uint_eq(fb_export_count(h), 0);
    tc_cache_close(h);
}
END_TEST

/* Limits: text of 10,000 bytes passes, 10,001 fails; labels of 256/257. */
START_TEST(test_rule_lengths)
{
    tc_cache *h = fb_open(NULL);
    size_t cap = 12000 + 33 * 8;
    char *json = malloc(cap), *big = malloc(10002);
    char id[TC_FEEDBACK_ID_MAX];
    int rc;

    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', 10001);
    big[10000] = '\0';
    snprintf(json, cap,
             "{\"text\":\"%s\",\"original_intent\":\"a\",\"correct_intent\":"
             "\"b\",\"original_confidence\":0.4,\"feedback_type\":"
             "\"correction\"}",
             big);
    rc = fb_submit(h, json, id);
    ck_assert_msg(rc == TC_OK, "%s", tc_errmsg());
    big[10000] = 'a';
    big[10001] = '\0';
    snprintf(json, cap,
             "{\"text\":\"%s\",\"original_intent\":\"a\",\"correct_intent\":"
             "\"b\",\"original_confidence\":0.4,\"feedback_type\":"
             "\"correction\"}",
             big);
    expect_reject(h, json, "text", "text: 10001 bytes, more than 10000");
    big[257] = '\0';
    snprintf(json, cap,
             "{\"text\":\"x\",\"original_intent\":\"%s\",\"correct_intent\":"
             "\"b\",\"original_confidence\":0.4,\"feedback_type\":"
             "\"correction\"}",
             big);
    expect_reject(h, json, "original_intent",
                  "original_intent: 257 bytes, more than 256");
    big[256] = '\0';
    snprintf(json, cap,
             "{\"text\":\"x\",\"original_intent\":\"%s\",\"correct_intent\":"
             "\"b\",\"original_confidence\":0.4,\"feedback_type\":"
             "\"correction\"}",
             big);
    ck_assert_int_eq(fb_submit(h, json, id), TC_OK);
    /* 33 techniques */
    {
        size_t o = (size_t)snprintf(json, cap,
                                    "{" FB_BASE_FIELDS ",\"feedback_type\":"
                                    "\"correction\",\"correct_techniques\":[");

        for (int i = 0; i < 33; i++) {
            o += (size_t)snprintf(json + o, cap - o, "%s\"t%d\"", i ? "," : "",
                                  i);
        }
        snprintf(json + o, cap - o, "]}");
        expect_reject(h, json, "correct_techniques",
                      "correct_techniques: 33 items, more than 32");
    }
    ck_assert_uint_eq(fb_export_count(h), 2);
    free(json);
    free(big);
    tc_cache_close(h);
}
END_TEST

/* Input that is not a record at all names no field, but says why. */
START_TEST(test_rule_not_json)
{
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX];

    ck_assert_int_eq(fb_submit(h, "{\"text\":", id), TC_EINVAL);
    ck_assert_msg(strstr(tc_errmsg(), "not valid JSON") != NULL, "%s",
                  tc_errmsg());
    ck_assert_int_eq(fb_submit(h, "[1]", id), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "an array, not a JSON object");
    ck_assert_int_eq(fb_submit(h, "{\"text\":\"x\"} x", id), TC_EINVAL);
    ck_assert_msg(strstr(tc_errmsg(), "text after the object") != NULL, "%s",
                  tc_errmsg());
    tc_cache_close(h);
}
END_TEST

/* The struct form: the same rules, and its own (the enum, NULL arrays). */
START_TEST(test_rule_struct)
{
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX];
    tc_feedback fb;

    fb_record(&fb, "hello", "a", "b", 0.5);
    fb.type = (tc_feedback_type)7;
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, &fb), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(),
                     "feedback_type: 7 is not TC_FEEDBACK_CORRECTION or "
                     "TC_FEEDBACK_CONFIRMATION");
    fb.type = TC_FEEDBACK_CORRECTION;
    fb.ncorrect_techniques = 2;
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, &fb), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "correct_techniques: NULL with 2 items");
    fb.ncorrect_techniques = 0;
    fb.text = NULL;
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, &fb), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "text: required");
    fb.text = "hello";
    fb.original_confidence = NAN;
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, &fb), TC_EINVAL);
    ck_assert_msg(strncmp(tc_errmsg(), "original_confidence: ", 21) == 0, "%s",
                  tc_errmsg());
    fb.original_confidence = 1.0;
    {
        int spooled = -1;

        ck_assert_int_eq(tc_feedback_submit(id, &spooled, h, &fb), TC_OK);
        ck_assert_int_eq(spooled, 0); /* stored, not spooled */
    }
    fb_expect_id(id);
    ck_assert_int_eq(tc_feedback_submit(NULL, NULL, h, &fb), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, NULL), TC_EINVAL);
    tc_cache_close(h);
}
END_TEST

/* memory: keeps nothing durable, so feedback is refused. */
START_TEST(test_memory_store)
{
    tc_cache *h = fb_open_url("memory:", NULL);
    char id[TC_FEEDBACK_ID_MAX] = "x";
    char *s = NULL;

    ck_assert_int_eq(fb_submit(h, fb_base_json, id), TC_EINVAL);
    ck_assert_str_eq(id, "");
    ck_assert_msg(strstr(tc_errmsg(), "durable store") != NULL, "%s",
                  tc_errmsg());
    ck_assert_int_eq(tc_feedback_stats_json(&s, h), TC_EINVAL);
    ck_assert_ptr_null(s);
    tc_cache_close(h);
}
END_TEST

/* ---- submit, the record, the override -------------------------------------
 */

START_TEST(test_submit_roundtrip)
{
    static const char *const tech[] = {"recursion", "sorting"};
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX], want[1024];
    tc_feedback fb;
    char **lines;
    size_t n;

    fb_record(&fb, "How do I \"sort\" a list?\n", "general_question",
              "code_generation", 0.25);
    fb.correct_complexity = "beginner";
    fb.correct_techniques = tech;
    fb.ncorrect_techniques = 2;
    fb.user_id = "u-42";
    fb.type = TC_FEEDBACK_CORRECTION;
    fb.timestamp = "2024-02-29T23:30:00.1234-01:30";
    ck_assert_msg(tc_feedback_submit(id, NULL, h, &fb) == TC_OK, "%s",
                  tc_errmsg());
    fb_expect_id(id);
    ck_assert_str_eq(tc_errmsg(), "");
    snprintf(want, sizeof(want),
             "{\"id\":\"%s\",\"text\":\"How do I \\\"sort\\\" a list?\\u000a\","
             "\"original_intent\":\"general_question\","
             "\"correct_intent\":\"code_generation\","
             "\"original_confidence\":0.25,\"correct_complexity\":\"beginner\","
             "\"correct_techniques\":[\"recursion\",\"sorting\"],"
             "\"user_id\":\"u-42\",\"feedback_type\":\"correction\","
             "\"timestamp\":\"2024-03-01T01:00:00.123Z\"}",
             id);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(lines[0], want);
    fb_free_lines(lines, n);
    tc_cache_close(h);
}
END_TEST

/* Without a timestamp, the time of receipt, to the second around the
 * call. */
START_TEST(test_submit_receipt_time)
{
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX], *p;
    time_t before, after, t;
    struct tm tm;
    char **lines;
    size_t n;

    before = time(NULL);
    ck_assert_int_eq(fb_submit(h,
                               "{" FB_BASE_FIELDS
                               ",\"feedback_type\":\"correction\","
                               "\"user_id\":null,\"correct_complexity\":null}",
                               id),
                     TC_OK);
    after = time(NULL);
    fb_expect_id(id);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    p = strstr(lines[0], "\"timestamp\":\"");
    ck_assert_ptr_nonnull(p);
    memset(&tm, 0, sizeof(tm));
    p = strptime(p + 13, "%Y-%m-%dT%H:%M:%S", &tm);
    ck_assert_msg(p && strncmp(p, ".", 1) == 0 && strlen(p) >= 6 &&
                      strncmp(p + 4, "Z\"", 2) == 0,
                  "%s", lines[0]);
    t = timegm(&tm);
    ck_assert_int_ge((long long)t, (long long)before);
    ck_assert_int_le((long long)t, (long long)after);
    ck_assert_ptr_null(strstr(lines[0], "user_id"));
    ck_assert_ptr_null(strstr(lines[0], "correct_complexity"));
    fb_free_lines(lines, n);
    tc_cache_close(h);
}
END_TEST

/* A correction answers for its normalized text, in this handle's L1 and
 * for another handle through L2; a confirmation writes nothing. */
START_TEST(test_override)
{
    static const char want[] =
        "{\"intent\":\"b\",\"confidence\":1,\"top\":[{\"label\":\"b\","
        "\"score\":1}],\"complexity\":\"advanced\",\"techniques\":[\"x\","
        "\"y\"],\"model\":\"feedback\"}";
    tc_cache *h = fb_open(NULL), *h2;
    char key[TC_KEY_MAX], *norm;
    size_t normlen, len;
    void *val;
    tc_tier tier;

    ck_assert_int_eq(
        fb_submit(h,
                  "{\"text\":\"  How do I SORT a list?? \","
                  "\"original_intent\":\"a\",\"correct_intent\":\"b\","
                  "\"original_confidence\":0.4,\"correct_complexity\":"
                  "\"advanced\",\"correct_techniques\":[\"x\",\"y\"],"
                  "\"feedback_type\":\"correction\"}",
                  NULL),
        TC_OK);
    ck_assert_int_eq(
        tc_text_normalize(&norm, &normlen, "how do i sort a list", 20), TC_OK);
    ck_assert_int_eq(
        tc_cache_get(&val, &len, &tier, h, "intent_feedback", norm, normlen),
        TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L1);
    ck_assert_str_eq(val, want);
    tc_free(val);
    h2 = fb_open(NULL);
    ck_assert_int_eq(
        tc_cache_get(&val, &len, &tier, h2, "intent_feedback", norm, normlen),
        TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L2);
    ck_assert_str_eq(val, want);
    tc_free(val);
    ck_assert_int_eq(
        tc_cache_key(key, sizeof(key), h, "intent_feedback", norm, normlen),
        TC_OK);
    /* on the cluster an override sits under feedback's hash tag, in its
     * record's slot, so that one transaction writes both */
    ck_assert_msg(fb_on_cluster() ? strncmp(key, "tc:{tc:fb}:", 11) == 0
                                  : strncmp(key, "tc:intent_fb:", 13) == 0,
                  "key %s", key);
    /* a confirmation of another text overrides nothing */
    ck_assert_int_eq(fb_submit(h,
                               "{\"text\":\"hello there\",\"original_intent\":"
                               "\"greet\",\"correct_intent\":\"greet\","
                               "\"original_confidence\":0.9,\"feedback_type\":"
                               "\"confirmation\"}",
                               NULL),
                     TC_OK);
    ck_assert_int_eq(tc_cache_get(&val, &len, &tier, h2, "intent_feedback",
                                  "hello there", 11),
                     TC_MISS);
    tc_free(norm);
    tc_cache_close(h2);
    tc_cache_close(h);
}
END_TEST

static int fixed_model(char **json, const char *text, size_t len, void *ud)
{
    static const char answer[] =
        "{\"intent\":\"a\",\"confidence\":0.4,\"top\":[{\"label\":\"a\","
        "\"score\":0.4}]}";

    (void)text;
    (void)len;
    (*(int *)ud)++;
    return tt_host_reply(json, answer);
}

/* Classification answers with the correction, from feedback, in this
 * process and in another handle, over an answer cached before. */
START_TEST(test_override_classify)
{
    tc_cache *h = fb_open(NULL), *h2;
    tc_classifier_options co;
    tc_classifier *c, *c2;
    tc_result *r;
    int calls = 0;

    tc_classifier_options_init(&co);
    co.fn = fixed_model;
    co.fn_userdata = &calls;
    co.fn_version = "fixed-1";
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    ck_assert_int_eq(tc_classify(&r, c, "How do I sort a list?", 21), TC_OK);
    ck_assert_str_eq(r->intent, "a");
    ck_assert_int_eq(r->source, TC_SOURCE_MODEL);
    tc_result_free(r);
    ck_assert_int_eq(fb_submit(h, fb_base_json, NULL), TC_OK);
    ck_assert_int_eq(tc_classify(&r, c, "how do i sort a LIST", 20), TC_OK);
    ck_assert_str_eq(r->intent, "b");
    ck_assert_int_eq(r->source, TC_SOURCE_FEEDBACK);
    ck_assert(r->confidence == 1.0);
    tc_result_free(r);
    h2 = fb_open(NULL);
    ck_assert_int_eq(tc_classifier_open(&c2, h2, &co), TC_OK);
    ck_assert_int_eq(tc_classify(&r, c2, "How do I sort a list?", 21), TC_OK);
    ck_assert_str_eq(r->intent, "b");
    ck_assert_int_eq(r->source, TC_SOURCE_FEEDBACK);
    tc_result_free(r);
    ck_assert_int_eq(calls, 1);
    tc_classifier_close(c2);
    tc_classifier_close(c);
    tc_cache_close(h2);
    tc_cache_close(h);
}
END_TEST

/* ---- stats ------------------------------------------------------------------
 */

/* A confirmation of text "t", as the counting tests submit it. */
static const char confirm_t[] = "{\"text\":\"t\",\"original_intent\":\"c\","
                                "\"correct_intent\":\"c\","
                                "\"original_confidence\":1,"
                                "\"feedback_type\":\"confirmation\"}";

START_TEST(test_stats_exact)
{
    tc_cache *h = fb_open(NULL);
    char *s;
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(fb_submit_new(h, fb_base_json, NULL),
                         TC_OK); /* a -> b */
    }
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(
            fb_submit_new(
                h,
                "{\"text\":\"t\",\"original_intent\":\"x\\u00e9\","
                "\"correct_intent\":\"y\\\"q\",\"original_confidence\":0,"
                "\"feedback_type\":\"correction\"}",
                NULL),
            TC_OK);
    }
    ck_assert_int_eq(
        fb_submit_new(h,
                      "{\"text\":\"t\",\"original_intent\":\"c\","
                      "\"correct_intent\":\"d\",\"original_confidence\":"
                      "1,\"feedback_type\":\"correction\"}",
                      NULL),
        TC_OK);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(fb_submit_new(h, confirm_t, NULL), TC_OK);
    }
    /* rejected: 2 corrections, 1 confirmation, 3 without a valid type */
    ck_assert_int_eq(fb_submit_new(h,
                                   "{" FB_BASE_FIELDS
                                   ",\"original_confidence\":2,"
                                   "\"feedback_type\":\"correction\"}",
                                   NULL),
                     TC_EINVAL);
    ck_assert_int_eq(
        fb_submit_new(h, "{\"feedback_type\":\"correction\"}", NULL),
        TC_EINVAL);
    ck_assert_int_eq(
        fb_submit_new(
            h, "{" FB_BASE_FIELDS ",\"feedback_type\":\"confirmation\"}", NULL),
        TC_EINVAL);
    ck_assert_int_eq(fb_submit_new(h, "{" FB_BASE_FIELDS "}", NULL), TC_EINVAL);
    ck_assert_int_eq(
        fb_submit_new(h, "{" FB_BASE_FIELDS ",\"feedback_type\":\"x\"}", NULL),
        TC_EINVAL);
    ck_assert_int_eq(fb_submit_new(h, "nonsense", NULL), TC_EINVAL);
    s = fb_stats(h);
    fb_expect_stats(
        s, "{\"accepted\":{\"correction\":6,\"confirmation\":4},"
           "\"rejected\":{\"correction\":2,\"confirmation\":1,\"invalid\":3},"
           "\"pairs\":[{\"original\":\"a\",\"correct\":\"b\",\"count\":3},"
           "{\"original\":\"x\xc3\xa9\",\"correct\":\"y\\\"q\",\"count\":2},"
           "{\"original\":\"c\",\"correct\":\"d\",\"count\":1}],"
           "\"kept\":10,\"pending\":0,\"queued\":10,\"spooled\":0,");
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/* Only the top 20 pairs are listed, by count. */
START_TEST(test_stats_top_pairs)
{
    tc_cache *h = fb_open(NULL);
    char json[256], *s, *p;
    int listed = 0;

    for (int i = 0; i < 25; i++) {
        for (int k = 0; k <= i % 3; k++) {
            snprintf(json, sizeof(json),
                     "{\"text\":\"t\",\"original_intent\":\"o%02d\","
                     "\"correct_intent\":\"c\",\"original_confidence\":0.1,"
                     "\"feedback_type\":\"correction\"}",
                     i);
            ck_assert_int_eq(fb_submit_new(h, json, NULL), TC_OK);
        }
    }
    s = fb_stats(h);
    for (p = s; (p = strstr(p, "\"original\":")) != NULL; p++) {
        listed++;
    }
    ck_assert_int_eq(listed, 20);
    /* the eight with 3, then the eight with 2, then four of those with 1 */
    ck_assert_ptr_nonnull(strstr(s, "\"pairs\":[{\"original\":\"o02\","));
    ck_assert_ptr_nonnull(strstr(s, "{\"original\":\"o09\",\"correct\":\"c\","
                                    "\"count\":1}]"));
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/* A pair of two 256-byte intents is counted like any other (its counter
 * key is longer than LMDB allows, so the store hashes it). */
START_TEST(test_stats_long_pair)
{
    tc_cache *h = fb_open(NULL);
    char a[257], b[257], json[1024], want[700], *s;

    memset(a, 'a', 256);
    memset(b, 'b', 256);
    a[256] = b[256] = '\0';
    snprintf(json, sizeof(json),
             "{\"text\":\"t\",\"original_intent\":\"%s\","
             "\"correct_intent\":\"%s\",\"original_confidence\":0.1,"
             "\"feedback_type\":\"correction\"}",
             a, b);
    ck_assert_int_eq(fb_submit_new(h, json, NULL), TC_OK);
    ck_assert_int_eq(fb_submit_new(h, json, NULL), TC_OK);
    s = fb_stats(h);
    snprintf(want, sizeof(want),
             "\"pairs\":[{\"original\":\"%s\",\"correct\":\"%s\","
             "\"count\":2}]",
             a, b);
    ck_assert_msg(strstr(s, want) != NULL, "%s", s);
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/* Each submission is counted once in the metrics, by type and status. */
START_TEST(test_metrics)
{
    static const char *const want[] = {
        "intent_feedback_submissions_total{type=\"correction\","
        "status=\"accepted\"} 2\n",
        "intent_feedback_submissions_total{type=\"correction\","
        "status=\"spooled\"} 1\n",
        "intent_feedback_submissions_total{type=\"correction\","
        "status=\"rejected\"} 1\n",
        "intent_feedback_submissions_total{type=\"confirmation\","
        "status=\"accepted\"} 1\n",
        "intent_feedback_submissions_total{type=\"invalid\","
        "status=\"rejected\"} 1\n",
        "intent_feedback_corrections_total{original=\"a\",correct=\"b\"} "
        "3\n",
    };
    tc_cache *h = fb_open(NULL);
    static char buf[1 << 16];
    size_t len;

    ck_assert_int_eq(fb_submit_new(h, fb_base_json, NULL), TC_OK);
    tc__feedback_set_fault(h, 1);
    ck_assert_int_eq(fb_submit_new(h, fb_base_json, NULL), TC_OK); /* spooled */
    ck_assert_int_eq(fb_submit_new(h, fb_base_json, NULL),
                     TC_OK); /* + replay */
    ck_assert_int_eq(fb_submit(h, confirm_t, NULL), TC_OK);
    ck_assert_int_eq(fb_submit(h, "{\"feedback_type\":\"correction\"}", NULL),
                     TC_EINVAL);
    ck_assert_int_eq(fb_submit(h, "[]", NULL), TC_EINVAL);
    ck_assert_uint_eq(fb_export_count(h), 4);
    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_msg(strstr(buf, want[i]) != NULL, "no %s in\n%s", want[i],
                      buf);
    }
    tc_cache_close(h);
}
END_TEST

Suite *suite_feedback(void)
{
    Suite *su = suite_create("feedback");
    TCase *tc = tcase_create("rule");

    tcase_add_checked_fixture(tc, fb_setup, fb_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_rule, 0, NRULES);
    suite_add_tcase(su, tc);
    fb_add(su, "rule_lengths", test_rule_lengths);
    fb_add(su, "rule_not_json", test_rule_not_json);
    fb_add(su, "rule_struct", test_rule_struct);
    fb_add(su, "memory_store", test_memory_store);
    fb_add(su, "submit_roundtrip", test_submit_roundtrip);
    fb_add(su, "submit_receipt_time", test_submit_receipt_time);
    fb_add(su, "override", test_override);
    fb_add(su, "override_classify", test_override_classify);
    fb_add(su, "stats_exact", test_stats_exact);
    fb_add(su, "stats_top_pairs", test_stats_top_pairs);
    fb_add(su, "stats_long_pair", test_stats_long_pair);
    fb_add(su, "metrics", test_metrics);
    suite_feedback_ids(su);
    suite_feedback_import(su);
    suite_feedback_model(su);
    suite_feedback_queue(su);
    return su;
}
