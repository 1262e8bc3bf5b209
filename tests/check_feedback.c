/*
 * check_feedback.c - the feedback API on a real LMDB store in a temp
 * directory per test: every validation rule, the stored record read back,
 * imports (JSON Lines and CSV) with exact counts and line numbers, stats,
 * the retraining queue with a consumer that dies, retention, the spool
 * (through the test-only fault hook), concurrency and failing
 * allocations.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/handle.h"
#include "feedback/feedback.h"
#include "suites.h"

static char *tdir;

static void setup(void)
{
    tdir = tt_mkdtemp();
    ck_assert_ptr_nonnull(tdir);
}

static void teardown(void)
{
    tt_rmtree(tdir);
    free(tdir);
    tdir = NULL;
}

static const char *path(const char *name)
{
    static char buf[8][600];
    static int next;
    char *p = buf[next++ % 8];

    snprintf(p, 600, "%s/%s", tdir, name);
    return p;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A handle on lmdb://<tdir>/db; config_json, when given, is its file. */
static tc_cache *open_cache_url(const char *url, const char *config_json)
{
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    o.store_url = url;
    o.flags = TC_OPT_NO_ENV | (config_json ? 0 : TC_OPT_NO_CONFIG);
    o.lmdb_map_bytes = (size_t)64 << 20;
    if (config_json) {
        FILE *f = fopen(path("config.json"), "w");

        ck_assert_ptr_nonnull(f);
        fputs(config_json, f);
        fclose(f);
        o.config_path = path("config.json");
    }
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    return h;
}

static tc_cache *open_cache(const char *config_json)
{
    char url[600];

    snprintf(url, sizeof(url), "lmdb://%s/db", tdir);
    return open_cache_url(url, config_json);
}

#define BASE_FIELDS                                                            \
    "\"text\":\"How do I sort a list?\",\"original_intent\":\"a\","            \
    "\"correct_intent\":\"b\",\"original_confidence\":0.4"

static const char base_json[] =
    "{" BASE_FIELDS ",\"feedback_type\":\"correction\"}";

static int submit(tc_cache *h, const char *json, char *id)
{
    char tmp[TC_FEEDBACK_ID_MAX];

    return tc_feedback_submit_json(id ? id : tmp, NULL, h, json, strlen(json));
}

static void expect_id(const char *id)
{
    ck_assert_msg(tc__fb_id_valid(id), "bad id \"%s\"", id);
}

/* Every exported record, as lines (the caller frees each and the array). */
static size_t export_all(tc_cache *h, char ***lines)
{
    FILE *f = tmpfile();
    char *line = NULL;
    size_t cap = 0, n = 0;
    uint64_t count = 0;
    ssize_t k;
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = tc_feedback_export(h, f, &count);
    ck_assert_msg(rc == TC_OK, "export: %s", tc_errmsg());
    rewind(f);
    *lines = NULL;
    while ((k = getline(&line, &cap, f)) > 0) {
        *lines = realloc(*lines, (n + 1) * sizeof(**lines));
        ck_assert_ptr_nonnull(*lines);
        ck_assert_int_eq(line[k - 1], '\n');
        line[k - 1] = '\0';
        (*lines)[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    ck_assert_uint_eq(count, n);
    return n;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
    }
    free(lines);
}

static size_t export_count(tc_cache *h)
{
    char **lines;
    size_t n = export_all(h, &lines);

    free_lines(lines, n);
    return n;
}

static char *stats(tc_cache *h)
{
    char *s = NULL;

    ck_assert_msg(tc_feedback_stats_json(&s, h) == TC_OK, "stats: %s",
                  tc_errmsg());
    return s;
}

/* The number after "key": in a stats object (first occurrence). */
static long long stat_num(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, json);
    return atoll(p + strlen(pat));
}

static tc_import_report *import_text(tc_cache *h, const char *text,
                                     tc_import_format fmt, int dry)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    tc_import_report *r = NULL;
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = tc_feedback_import(&r, h, f, fmt, dry, NULL, NULL);
    fclose(f);
    ck_assert_msg(rc == TC_OK, "import: %s", tc_errmsg());
    return r;
}

static char *spool_file(const char *name)
{
    static char buf[700];

    snprintf(buf, sizeof(buf), "%s/db/spool/%s", tdir, name);
    return buf;
}

/* The whole content of a file ("" when absent); the caller frees it. */
static char *slurp(const char *p)
{
    FILE *f = fopen(p, "r");
    char *s;
    long n;

    if (!f) {
        return strdup("");
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), n);
    s[n] = '\0';
    fclose(f);
    return s;
}

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
    {"{" BASE_FIELDS ",\"correct_complexity\":3,"
     "\"feedback_type\":\"correction\"}",
     "correct_complexity", "correct_complexity: a number, not a string"},
    {"{" BASE_FIELDS ",\"correct_complexity\":\" \","
     "\"feedback_type\":\"correction\"}",
     "correct_complexity", "correct_complexity: empty"},
    {"{" BASE_FIELDS ",\"correct_techniques\":\"x\","
     "\"feedback_type\":\"correction\"}",
     "correct_techniques",
     "correct_techniques: a string, not an array of strings"},
    {"{" BASE_FIELDS ",\"correct_techniques\":[\"x\",1],"
     "\"feedback_type\":\"correction\"}",
     "correct_techniques[1]", "correct_techniques[1]: a number, not a string"},
    {"{" BASE_FIELDS ",\"correct_techniques\":[\"x\",\"\"],"
     "\"feedback_type\":\"correction\"}",
     "correct_techniques[1]", "correct_techniques[1]: empty"},
    {"{" BASE_FIELDS ",\"user_id\":true,\"feedback_type\":\"correction\"}",
     "user_id", "user_id: a boolean, not a string"},
    {"{" BASE_FIELDS "}", "feedback_type", "feedback_type: required"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"praise\"}", "feedback_type",
     "feedback_type: \"praise\" is not \"correction\" or \"confirmation\""},
    {"{" BASE_FIELDS ",\"feedback_type\":1}", "feedback_type",
     "feedback_type: a number, not a string"},
    {"{\"text\":\"x\",\"original_intent\":\"a\",\"correct_intent\":\"a\","
     "\"original_confidence\":0.4,\"feedback_type\":\"correction\"}",
     "correct_intent",
     "correct_intent: equals original_intent (\"a\"); a correction must "
     "change the intent"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"confirmation\"}", "correct_intent",
     "correct_intent: differs from original_intent; a confirmation repeats "
     "it"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"yesterday\"}",
     "timestamp", NULL},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2023-02-29T10:00:00Z\"}",
     "timestamp",
     "timestamp: \"2023-02-29T10:00:00Z\" has no such day in its month"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-13-01T10:00:00Z\"}",
     "timestamp", "timestamp: \"2024-13-01T10:00:00Z\" has no such month"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T24:00:00Z\"}",
     "timestamp",
     "timestamp: \"2024-01-01T24:00:00Z\" has no such time of day"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T10:00:00\"}",
     "timestamp", NULL},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T10:00:00+24:00\"}",
     "timestamp",
     "timestamp: \"2024-01-01T10:00:00+24:00\" has no such UTC offset"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":\"2024-01-01T10:00:00.Z\"}",
     "timestamp", NULL},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\","
     "\"timestamp\":1700000000}",
     "timestamp", "timestamp: a number, not a string"},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\",\"confidence\":0.5}",
     "confidence", NULL},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\",\"id\":"
     "\"1700000000000-0123456789abcdef\"}",
     "id", NULL},
    {"{" BASE_FIELDS ",\"feedback_type\":\"correction\",\"text\":\"again\"}",
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
    tc_cache *h = open_cache(NULL);

    expect_reject(h, rules[_i].json, rules[_i].field, rules[_i].exact);
    ck_assert_uint_eq(export_count(h), 0);
    tc_cache_close(h);
}
END_TEST

/* Limits: text of 10,000 bytes passes, 10,001 fails; labels of 256/257. */
START_TEST(test_rule_lengths)
{
    tc_cache *h = open_cache(NULL);
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
    rc = submit(h, json, id);
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
    ck_assert_int_eq(submit(h, json, id), TC_OK);
    /* 33 techniques */
    {
        size_t o = (size_t)snprintf(json, cap,
                                    "{" BASE_FIELDS ",\"feedback_type\":"
                                    "\"correction\",\"correct_techniques\":[");

        for (int i = 0; i < 33; i++) {
            o += (size_t)snprintf(json + o, cap - o, "%s\"t%d\"", i ? "," : "",
                                  i);
        }
        snprintf(json + o, cap - o, "]}");
        expect_reject(h, json, "correct_techniques",
                      "correct_techniques: 33 items, more than 32");
    }
    ck_assert_uint_eq(export_count(h), 2);
    free(json);
    free(big);
    tc_cache_close(h);
}
END_TEST

/* Input that is not a record at all names no field, but says why. */
START_TEST(test_rule_not_json)
{
    tc_cache *h = open_cache(NULL);
    char id[TC_FEEDBACK_ID_MAX];

    ck_assert_int_eq(submit(h, "{\"text\":", id), TC_EINVAL);
    ck_assert_msg(strstr(tc_errmsg(), "not valid JSON") != NULL, "%s",
                  tc_errmsg());
    ck_assert_int_eq(submit(h, "[1]", id), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "an array, not a JSON object");
    ck_assert_int_eq(submit(h, "{\"text\":\"x\"} x", id), TC_EINVAL);
    ck_assert_msg(strstr(tc_errmsg(), "text after the object") != NULL, "%s",
                  tc_errmsg());
    tc_cache_close(h);
}
END_TEST

/* The struct form: the same rules, and its own (the enum, NULL arrays). */
START_TEST(test_rule_struct)
{
    tc_cache *h = open_cache(NULL);
    char id[TC_FEEDBACK_ID_MAX];
    tc_feedback fb;

    memset(&fb, 0, sizeof(fb));
    fb.text = "hello";
    fb.original_intent = "a";
    fb.correct_intent = "b";
    fb.original_confidence = 0.5;
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
    expect_id(id);
    ck_assert_int_eq(tc_feedback_submit(NULL, NULL, h, &fb), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, NULL), TC_EINVAL);
    tc_cache_close(h);
}
END_TEST

/* memory: keeps nothing durable, so feedback is refused. */
START_TEST(test_memory_store)
{
    tc_cache *h = open_cache_url("memory:", NULL);
    char id[TC_FEEDBACK_ID_MAX] = "x";
    char *s = NULL;

    ck_assert_int_eq(submit(h, base_json, id), TC_EINVAL);
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
    tc_cache *h = open_cache(NULL);
    char id[TC_FEEDBACK_ID_MAX], want[1024];
    tc_feedback fb;
    char **lines;
    size_t n;

    memset(&fb, 0, sizeof(fb));
    fb.text = "How do I \"sort\" a list?\n";
    fb.original_intent = "general_question";
    fb.correct_intent = "code_generation";
    fb.original_confidence = 0.25;
    fb.correct_complexity = "beginner";
    fb.correct_techniques = tech;
    fb.ncorrect_techniques = 2;
    fb.user_id = "u-42";
    fb.type = TC_FEEDBACK_CORRECTION;
    fb.timestamp = "2024-02-29T23:30:00.1234-01:30";
    ck_assert_msg(tc_feedback_submit(id, NULL, h, &fb) == TC_OK, "%s",
                  tc_errmsg());
    expect_id(id);
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
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(lines[0], want);
    free_lines(lines, n);
    tc_cache_close(h);
}
END_TEST

/* Without a timestamp, the time of receipt: the id's milliseconds. */
START_TEST(test_submit_receipt_time)
{
    tc_cache *h = open_cache(NULL);
    char id[TC_FEEDBACK_ID_MAX], ts[40], *p;
    long long ms;
    time_t secs;
    struct tm tm;
    char **lines;
    size_t n;

    ck_assert_int_eq(submit(h,
                            "{" BASE_FIELDS ",\"feedback_type\":\"correction\","
                            "\"user_id\":null,\"correct_complexity\":null}",
                            id),
                     TC_OK);
    expect_id(id);
    ms = atoll(id);
    secs = (time_t)(ms / 1000);
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03lldZ", ms % 1000);
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    p = strstr(lines[0], "\"timestamp\":\"");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(strncmp(p + 13, ts, strlen(ts)), 0);
    ck_assert_ptr_null(strstr(lines[0], "user_id"));
    ck_assert_ptr_null(strstr(lines[0], "correct_complexity"));
    free_lines(lines, n);
    tc_cache_close(h);
}
END_TEST

/* Ids are distinct and never go back in time. */
START_TEST(test_ids_ordered)
{
    tc_cache *h = open_cache(NULL);
    char prev[TC_FEEDBACK_ID_MAX] = "", id[TC_FEEDBACK_ID_MAX];

    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(submit(h, base_json, id), TC_OK);
        expect_id(id);
        ck_assert_str_ne(id, prev);
        ck_assert_int_le(strncmp(prev, id, 13), 0);
        memcpy(prev, id, sizeof(id));
    }
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
    tc_cache *h = open_cache(NULL), *h2;
    char key[TC_KEY_MAX], *norm;
    size_t normlen, len;
    void *val;
    tc_tier tier;

    ck_assert_int_eq(
        submit(h,
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
    h2 = open_cache(NULL);
    ck_assert_int_eq(
        tc_cache_get(&val, &len, &tier, h2, "intent_feedback", norm, normlen),
        TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L2);
    ck_assert_str_eq(val, want);
    tc_free(val);
    ck_assert_int_eq(
        tc_cache_key(key, sizeof(key), h, "intent_feedback", norm, normlen),
        TC_OK);
    ck_assert_int_eq(strncmp(key, "tc:intent_fb:", 13), 0);
    /* a confirmation of another text overrides nothing */
    ck_assert_int_eq(submit(h,
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
    *json = tc_malloc(sizeof(answer));
    if (!*json) {
        return TC_ENOMEM;
    }
    memcpy(*json, answer, sizeof(answer));
    return TC_OK;
}

/* Classification answers with the correction, from feedback, in this
 * process and in another handle, over an answer cached before. */
START_TEST(test_override_classify)
{
    tc_cache *h = open_cache(NULL), *h2;
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
    ck_assert_int_eq(submit(h, base_json, NULL), TC_OK);
    ck_assert_int_eq(tc_classify(&r, c, "how do i sort a LIST", 20), TC_OK);
    ck_assert_str_eq(r->intent, "b");
    ck_assert_int_eq(r->source, TC_SOURCE_FEEDBACK);
    ck_assert(r->confidence == 1.0);
    tc_result_free(r);
    h2 = open_cache(NULL);
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

START_TEST(test_stats_exact)
{
    tc_cache *h = open_cache(NULL);
    char *s;
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(submit(h, base_json, NULL), TC_OK); /* a -> b */
    }
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(
            submit(h,
                   "{\"text\":\"t\",\"original_intent\":\"x\\u00e9\","
                   "\"correct_intent\":\"y\\\"q\",\"original_confidence\":0,"
                   "\"feedback_type\":\"correction\"}",
                   NULL),
            TC_OK);
    }
    ck_assert_int_eq(submit(h,
                            "{\"text\":\"t\",\"original_intent\":\"c\","
                            "\"correct_intent\":\"d\",\"original_confidence\":"
                            "1,\"feedback_type\":\"correction\"}",
                            NULL),
                     TC_OK);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(submit(h,
                                "{\"text\":\"t\",\"original_intent\":\"c\","
                                "\"correct_intent\":\"c\","
                                "\"original_confidence\":1,"
                                "\"feedback_type\":\"confirmation\"}",
                                NULL),
                         TC_OK);
    }
    /* rejected: 2 corrections, 1 confirmation, 3 without a valid type */
    ck_assert_int_eq(submit(h,
                            "{" BASE_FIELDS ",\"original_confidence\":2,"
                            "\"feedback_type\":\"correction\"}",
                            NULL),
                     TC_EINVAL);
    ck_assert_int_eq(submit(h, "{\"feedback_type\":\"correction\"}", NULL),
                     TC_EINVAL);
    ck_assert_int_eq(
        submit(h, "{" BASE_FIELDS ",\"feedback_type\":\"confirmation\"}", NULL),
        TC_EINVAL);
    ck_assert_int_eq(submit(h, "{" BASE_FIELDS "}", NULL), TC_EINVAL);
    ck_assert_int_eq(
        submit(h, "{" BASE_FIELDS ",\"feedback_type\":\"x\"}", NULL),
        TC_EINVAL);
    ck_assert_int_eq(submit(h, "nonsense", NULL), TC_EINVAL);
    s = stats(h);
    ck_assert_str_eq(
        s, "{\"accepted\":{\"correction\":6,\"confirmation\":4},"
           "\"rejected\":{\"correction\":2,\"confirmation\":1,\"invalid\":3},"
           "\"pairs\":[{\"original\":\"a\",\"correct\":\"b\",\"count\":3},"
           "{\"original\":\"x\xc3\xa9\",\"correct\":\"y\\\"q\",\"count\":2},"
           "{\"original\":\"c\",\"correct\":\"d\",\"count\":1}],"
           "\"kept\":10,\"pending\":0,\"queued\":10,\"spooled\":0}");
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/* Only the top 20 pairs are listed, by count. */
START_TEST(test_stats_top_pairs)
{
    tc_cache *h = open_cache(NULL);
    char json[256], *s, *p;
    int listed = 0;

    for (int i = 0; i < 25; i++) {
        for (int k = 0; k <= i % 3; k++) {
            snprintf(json, sizeof(json),
                     "{\"text\":\"t\",\"original_intent\":\"o%02d\","
                     "\"correct_intent\":\"c\",\"original_confidence\":0.1,"
                     "\"feedback_type\":\"correction\"}",
                     i);
            ck_assert_int_eq(submit(h, json, NULL), TC_OK);
        }
    }
    s = stats(h);
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
    tc_cache *h = open_cache(NULL);
    char a[257], b[257], json[1024], want[700], *s;

    memset(a, 'a', 256);
    memset(b, 'b', 256);
    a[256] = b[256] = '\0';
    snprintf(json, sizeof(json),
             "{\"text\":\"t\",\"original_intent\":\"%s\","
             "\"correct_intent\":\"%s\",\"original_confidence\":0.1,"
             "\"feedback_type\":\"correction\"}",
             a, b);
    ck_assert_int_eq(submit(h, json, NULL), TC_OK);
    ck_assert_int_eq(submit(h, json, NULL), TC_OK);
    s = stats(h);
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
    tc_cache *h = open_cache(NULL);
    static char buf[1 << 16];
    size_t len;

    ck_assert_int_eq(submit(h, base_json, NULL), TC_OK);
    tc__feedback_set_fault(h, 1);
    ck_assert_int_eq(submit(h, base_json, NULL), TC_OK); /* spooled */
    ck_assert_int_eq(submit(h, base_json, NULL), TC_OK); /* + replay */
    ck_assert_int_eq(submit(h,
                            "{\"text\":\"t\",\"original_intent\":\"c\","
                            "\"correct_intent\":\"c\","
                            "\"original_confidence\":1,"
                            "\"feedback_type\":\"confirmation\"}",
                            NULL),
                     TC_OK);
    ck_assert_int_eq(submit(h, "{\"feedback_type\":\"correction\"}", NULL),
                     TC_EINVAL);
    ck_assert_int_eq(submit(h, "[]", NULL), TC_EINVAL);
    ck_assert_uint_eq(export_count(h), 4);
    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_msg(strstr(buf, want[i]) != NULL, "no %s in\n%s", want[i],
                      buf);
    }
    tc_cache_close(h);
}
END_TEST

/* ---- import -----------------------------------------------------------------
 */

/* 10,000 lines, every 97th bad in one of several ways. */
START_TEST(test_import_jsonl_10000)
{
    tc_cache *h = open_cache(NULL);
    size_t cap = 10000 * 200, o = 0, nbad = 0;
    char *text = malloc(cap), *s;
    tc_import_report *r;
    static const char *const bad_kinds[] = {
        "{\"text\":\"t\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
        "\"original_confidence\":1.7,\"feedback_type\":\"correction\"}",
        "{\"text\":\"t\",\"original_intent\":\"a\"",
        "{\"text\":\"t\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
        "\"original_confidence\":0.5,\"feedback_type\":\"praise\"}",
        "{\"text\":\"t\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
        "\"original_confidence\":0.5,\"feedback_typo\":\"correction\"}",
    };
    static const char *const bad_why[] = {
        "original_confidence: 1.7 is not in 0..1", "not valid JSON",
        "feedback_type: \"praise\"", "feedback_typo: unknown field"};

    ck_assert_ptr_nonnull(text);
    for (int i = 1; i <= 10000; i++) {
        if (i % 97 == 0) {
            o += (size_t)snprintf(text + o, cap - o, "%s\n",
                                  bad_kinds[nbad % 4]);
            nbad++;
        } else if (i % 500 == 0) {
            o += (size_t)snprintf(text + o, cap - o, "   \r\n"); /* blank */
        } else {
            o += (size_t)snprintf(
                text + o, cap - o,
                "{\"text\":\"question %d\",\"original_intent\":\"i%d\","
                "\"correct_intent\":\"%s\",\"original_confidence\":0.%d,"
                "\"feedback_type\":\"%s\"}\r\n",
                i, i % 7, i % 2 ? "fix" : "i0", i % 10,
                i % 2 ? "correction" : "confirmation");
        }
    }
    /* even lines are confirmations of i0: those whose original is not i0
     * are rejected too, at known numbers */
    r = import_text(h, text, TC_IMPORT_AUTO, 0);
    {
        uint64_t want_rej = nbad, want_acc = 0, k = 0;
        static uint64_t all_bad[10000];
        size_t nall = 0;

        for (int i = 1; i <= 10000; i++) {
            if (i % 97 == 0) {
                all_bad[nall++] = (uint64_t)i;
            } else if (i % 500 == 0) {
                continue;
            } else if (i % 2 == 0 && i % 7 != 0) {
                all_bad[nall++] = (uint64_t)i; /* confirmation that differs */
                want_rej++;
            } else {
                want_acc++;
            }
        }
        ck_assert_uint_eq(r->accepted, want_acc);
        ck_assert_uint_eq(r->rejected, want_rej);
        ck_assert_uint_eq(r->spooled, 0);
        ck_assert_uint_eq(r->nrejections, want_rej < 1000 ? want_rej : 1000);
        for (size_t i = 0; i < r->nrejections; i++) {
            ck_assert_uint_eq(r->rejections[i].line, all_bad[i]);
        }
        /* the reasons of the deliberately bad lines */
        for (size_t i = 0; i < r->nrejections; i++) {
            if (r->rejections[i].line % 97 == 0) {
                ck_assert_msg(
                    strstr(r->rejections[i].reason, bad_why[k % 4]) != NULL,
                    "line %llu: %s", (unsigned long long)r->rejections[i].line,
                    r->rejections[i].reason);
                k++;
            } else {
                ck_assert_str_eq(r->rejections[i].reason,
                                 "correct_intent: differs from "
                                 "original_intent; a confirmation repeats it");
            }
        }
        ck_assert_uint_eq(export_count(h), want_acc);
        s = stats(h);
        ck_assert_int_eq(stat_num(s, "kept"), (long long)want_acc);
        tc_free(s);
    }
    tc_import_report_free(r);
    free(text);
    tc_cache_close(h);
}
END_TEST

/* Only the first 1000 rejections are kept; all are counted. */
START_TEST(test_import_rejections_capped)
{
    tc_cache *h = open_cache(NULL);
    size_t cap = 1500 * 8, o = 0;
    char *text = malloc(cap);
    tc_import_report *r;

    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 1500; i++) {
        o += (size_t)snprintf(text + o, cap - o, "{}\n");
    }
    r = import_text(h, text, TC_IMPORT_JSONL, 0);
    ck_assert_uint_eq(r->rejected, 1500);
    ck_assert_uint_eq(r->nrejections, 1000);
    ck_assert_uint_eq(r->rejections[999].line, 1000);
    ck_assert_str_eq(r->rejections[0].reason, "text: required");
    tc_import_report_free(r);
    free(text);
    tc_cache_close(h);
}
END_TEST

static void count_progress(void *ud, uint64_t lines)
{
    uint64_t *calls = ud;

    ck_assert_uint_eq(lines, (calls[0] + 1) * 1000);
    calls[0]++;
}

START_TEST(test_import_progress)
{
    tc_cache *h = open_cache(NULL);
    size_t cap = 2500 * 200, o = 0;
    char *text = malloc(cap);
    uint64_t calls = 0;
    tc_import_report *r = NULL;
    FILE *f;

    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 2500; i++) {
        o += (size_t)snprintf(text + o, cap - o, "%s\n", base_json);
    }
    f = fmemopen(text, o, "r");
    ck_assert_int_eq(
        tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, count_progress, &calls),
        TC_OK);
    fclose(f);
    ck_assert_uint_eq(calls, 2);
    ck_assert_uint_eq(r->accepted, 2500);
    tc_import_report_free(r);
    free(text);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_import_csv)
{
    static const char csv[] =
        "\xEF\xBB\xBFtext, original_intent,correct_intent,original_confidence,"
        "feedback_type,correct_techniques,correct_complexity,user_id\r\n"
        "plain text,a,b,0.5,correction,,,\r\n"                 /* 2 */
        "\"with, a comma\",a,b,0.5,correction,x|y,hard,u1\r\n" /* 3 */
        "\"say \"\"hi\"\"\",a,a,1,confirmation,,,\r\n"         /* 4 */
        "\r\n"                                                 /* 5 */
        "\"two\r\nlines\",a,b,0,correction, p | q ,,\r\n"      /* 6-7 */
        "bad,a,b,zero,correction,,,\r\n"                       /* 8 */
        "few,a,b\r\n"                                          /* 9 */
        "bad \"quote\",a,b,0.5,correction,,,\r\n"              /* 10 */
        "x,a,b,0.5,correction,a||b,,\r\n"                      /* 11 */
        "x,a,b,0.5,,,,\r\n"                                    /* 12 */
        "\"open,a,b,0.5,correction,,,\r\n"                     /* 13 */
        "more\r\n";                                            /* 14 */
    tc_cache *h = open_cache(NULL);
    tc_import_report *r;
    char **lines;
    size_t n;

    r = import_text(h, csv, TC_IMPORT_AUTO, 0);
    ck_assert_uint_eq(r->accepted, 4);
    ck_assert_uint_eq(r->rejected, 6);
    ck_assert_uint_eq(r->nrejections, 6);
    ck_assert_uint_eq(r->rejections[0].line, 8);
    ck_assert_str_eq(r->rejections[0].reason,
                     "original_confidence: \"zero\" is not a number");
    ck_assert_uint_eq(r->rejections[1].line, 9);
    ck_assert_str_eq(r->rejections[1].reason, "3 fields, the header has 8");
    ck_assert_uint_eq(r->rejections[2].line, 10);
    ck_assert_msg(strstr(r->rejections[2].reason, "quote") != NULL, "%s",
                  r->rejections[2].reason);
    ck_assert_uint_eq(r->rejections[3].line, 11);
    ck_assert_str_eq(r->rejections[3].reason, "correct_techniques[1]: empty");
    ck_assert_uint_eq(r->rejections[4].line, 12);
    ck_assert_str_eq(r->rejections[4].reason, "feedback_type: required");
    ck_assert_uint_eq(r->rejections[5].line, 13);
    ck_assert_str_eq(r->rejections[5].reason, "a quoted field does not end");
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_nonnull(strstr(lines[0], "\"text\":\"plain text\""));
    ck_assert_ptr_null(strstr(lines[0], "correct_techniques"));
    ck_assert_ptr_nonnull(strstr(lines[1], "\"text\":\"with, a comma\""));
    ck_assert_ptr_nonnull(strstr(lines[1],
                                 "\"correct_complexity\":\"hard\","
                                 "\"correct_techniques\":[\"x\",\"y\"],"
                                 "\"user_id\":\"u1\""));
    ck_assert_ptr_nonnull(strstr(lines[2], "\"text\":\"say \\\"hi\\\"\""));
    ck_assert_ptr_nonnull(
        strstr(lines[3], "\"text\":\"two\\u000d\\u000alines\""));
    ck_assert_ptr_nonnull(
        strstr(lines[3], "\"correct_techniques\":[\"p\",\"q\"]"));
    free_lines(lines, n);
    tc_import_report_free(r);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_import_csv_header)
{
    tc_cache *h = open_cache(NULL);
    tc_import_report *r = NULL;
    FILE *f;
    static const char *const bad[] = {
        "text,original_intent,correct_intent,original_confidence,"
        "feedback_type,confidence\nx,a,b,0.5,correction,1\n",
        "text,original_intent,correct_intent,feedback_type\nx,a,b,correction\n",
        "text,text,original_intent,correct_intent,original_confidence,"
        "feedback_type\n",
    };
    static const char *const why[] = {"unknown column \"confidence\"",
                                      "no \"original_confidence\" column",
                                      "column \"text\" twice"};

    for (int i = 0; i < 3; i++) {
        f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
        ck_assert_int_eq(
            tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, NULL, NULL),
            TC_EINVAL);
        fclose(f);
        ck_assert_ptr_null(r);
        ck_assert_msg(strstr(tc_errmsg(), why[i]) != NULL, "%s", tc_errmsg());
    }
    ck_assert_uint_eq(export_count(h), 0);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_import_dry_run)
{
    tc_cache *h = open_cache(NULL);
    char text[2048], *s;
    tc_import_report *r;

    snprintf(text, sizeof(text), "%s\n{\"text\":\"\"}\n%s\n", base_json,
             base_json);
    r = import_text(h, text, TC_IMPORT_JSONL, 1);
    ck_assert_uint_eq(r->accepted, 2);
    ck_assert_uint_eq(r->rejected, 1);
    ck_assert_uint_eq(r->rejections[0].line, 2);
    tc_import_report_free(r);
    ck_assert_uint_eq(export_count(h), 0);
    s = stats(h);
    ck_assert_str_eq(s, "{\"accepted\":{\"correction\":0,\"confirmation\":0},"
                        "\"rejected\":{\"correction\":0,\"confirmation\":0,"
                        "\"invalid\":0},\"pairs\":[],\"kept\":0,"
                        "\"pending\":0,\"queued\":0,\"spooled\":0}");
    tc_free(s);
    tc_cache_close(h);
    /* a dry run needs no durable store */
    h = open_cache_url("memory:", NULL);
    r = import_text(h, text, TC_IMPORT_AUTO, 1);
    ck_assert_uint_eq(r->accepted, 2);
    tc_import_report_free(r);
    tc_cache_close(h);
}
END_TEST

/* ---- the retraining queue -------------------------------------------------
 */

static void submit_n(tc_cache *h, int n)
{
    char json[256];

    for (int i = 0; i < n; i++) {
        snprintf(json, sizeof(json),
                 "{\"text\":\"q%d\",\"original_intent\":\"a\","
                 "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                 "\"feedback_type\":\"correction\"}",
                 i);
        ck_assert_int_eq(submit(h, json, NULL), TC_OK);
    }
}

static tc_feedback_batch *consume(tc_cache *h, const char *who, size_t max,
                                  int64_t idle)
{
    tc_feedback_batch *b = NULL;

    ck_assert_msg(tc_feedback_consume(&b, h, who, max, idle) == TC_OK,
                  "consume: %s", tc_errmsg());
    ck_assert_ptr_nonnull(b);
    return b;
}

START_TEST(test_consume_ack_claim)
{
    tc_cache *h = open_cache(NULL);
    tc_feedback_batch *a, *b;
    char *s;

    submit_n(h, 5);
    a = consume(h, "A", 10, 50);
    ck_assert_uint_eq(a->n, 5);
    for (size_t i = 0; i < a->n; i++) {
        expect_id(a->ids[i]);
        ck_assert_ptr_nonnull(strstr(a->records[i], a->ids[i]));
        if (i > 0) {
            ck_assert_int_lt(strcmp(a->ids[i - 1], a->ids[i]), 0);
        }
    }
    ck_assert_int_eq(tc_feedback_ack(h, a->ids, 3), TC_OK);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "pending"), 2);
    ck_assert_int_eq(stat_num(s, "queued"), 0);
    ck_assert_int_eq(stat_num(s, "kept"), 5);
    tc_free(s);
    /* within the idle time, nobody else gets A's two */
    b = consume(h, "B", 10, 60000);
    ck_assert_uint_eq(b->n, 0);
    tc_feedback_batch_free(b);
    sleep_ms(80);
    b = consume(h, "B", 10, 50);
    ck_assert_uint_eq(b->n, 2);
    ck_assert_str_eq(b->ids[0], a->ids[3]);
    ck_assert_str_eq(b->ids[1], a->ids[4]);
    ck_assert_str_eq(b->records[0], a->records[3]);
    /* now with B: not with C, nor back with A, within the idle time */
    tc_feedback_batch_free(a);
    a = consume(h, "C", 10, 60000);
    ck_assert_uint_eq(a->n, 0);
    tc_feedback_batch_free(a);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK); /* again */
    tc_feedback_batch_free(b);
    sleep_ms(80);
    b = consume(h, "D", 10, 50);
    ck_assert_uint_eq(b->n, 0);
    tc_feedback_batch_free(b);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "pending"), 0);
    ck_assert_int_eq(stat_num(s, "kept"), 5); /* acked records stay */
    tc_free(s);
    /* new records come after */
    submit_n(h, 3);
    b = consume(h, "D", 2, 50);
    ck_assert_uint_eq(b->n, 2);
    tc_feedback_batch_free(b);
    b = consume(h, "D", 2, 60000);
    ck_assert_uint_eq(b->n, 1);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_consume_args)
{
    tc_cache *h = open_cache(NULL);
    tc_feedback_batch *b = (tc_feedback_batch *)1;
    const char *bad[] = {"not-an-id"};

    ck_assert_int_eq(tc_feedback_consume(&b, h, "", 1, 0), TC_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(tc_feedback_consume(&b, h, "A", 0, 0), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_consume(&b, h, NULL, 1, 0), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_ack(h, bad, 1), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "ids[0]: not a feedback id");
    ck_assert_int_eq(tc_feedback_ack(h, NULL, 1), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_ack(h, NULL, 0), TC_OK);
    tc_feedback_batch_free(NULL);
    tc_import_report_free(NULL);
    tc_cache_close(h);
}
END_TEST

/*
 * A consumer process takes 3 records and dies without acknowledging
 * them: nobody gets them within the idle time, another consumer does
 * after it. The child reports the ids it took through a pipe.
 */
START_TEST(test_consumer_dies)
{
    tc_cache *h = open_cache(NULL);
    tc_feedback_batch *b;
    char ids[3][TC_FEEDBACK_ID_MAX];
    int fds[2], status;
    pid_t pid;

    submit_n(h, 5);
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char url[600];
        tc_options o;
        tc_cache *c = NULL;
        tc_feedback_batch *cb = NULL;
        char out[3][TC_FEEDBACK_ID_MAX];

        memset(out, 0, sizeof(out));
        close(fds[0]);
        snprintf(url, sizeof(url), "lmdb://%s/db", tdir);
        tc_options_init(&o);
        o.store_url = url;
        o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
        o.lmdb_map_bytes = (size_t)64 << 20;
        if (tc_cache_open(&c, &o) == TC_OK &&
            tc_feedback_consume(&cb, c, "doomed", 3, 0) == TC_OK &&
            cb->n == 3) {
            for (int i = 0; i < 3; i++) {
                snprintf(out[i], sizeof(out[i]), "%s", cb->ids[i]);
            }
        }
        /* killed: no ack, no close */
        _exit(write(fds[1], out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 1);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], ids, sizeof(ids)), (ssize_t)sizeof(ids));
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    for (int i = 0; i < 3; i++) {
        expect_id(ids[i]);
    }
    /* the two the child did not take, and nothing of the child's */
    b = consume(h, "survivor", 10, 60000);
    ck_assert_uint_eq(b->n, 2);
    for (size_t i = 0; i < b->n; i++) {
        for (int k = 0; k < 3; k++) {
            ck_assert_str_ne(b->ids[i], ids[k]);
        }
    }
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    sleep_ms(80);
    b = consume(h, "survivor", 10, 50);
    ck_assert_uint_eq(b->n, 3);
    for (int k = 0; k < 3; k++) {
        ck_assert_str_eq(b->ids[k], ids[k]);
    }
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

/* ---- retention --------------------------------------------------------------
 */

START_TEST(test_retention)
{
    tc_cache *h = open_cache("{\"feedback_retention\": 0.5}");
    tc_feedback_batch *b;
    char id[TC_FEEDBACK_ID_MAX], **lines, *s;
    size_t n;

    submit_n(h, 3);
    b = consume(h, "A", 1, 0); /* one of them pending */
    ck_assert_uint_eq(b->n, 1);
    tc_feedback_batch_free(b);
    ck_assert_uint_eq(export_count(h), 3);
    sleep_ms(700);
    /* nothing put since: reading trims all the same */
    ck_assert_uint_eq(export_count(h), 0);
    ck_assert_int_eq(submit(h, base_json, id), TC_OK);
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    free_lines(lines, n);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "kept"), 1);
    ck_assert_int_eq(stat_num(s, "pending"), 0);
    ck_assert_int_eq(stat_num(s, "queued"), 1);
    ck_assert_int_eq(stat_num(s, "correction"), 4); /* counts stay */
    tc_free(s);
    b = consume(h, "A", 10, 1);
    ck_assert_uint_eq(b->n, 1);
    ck_assert_str_eq(b->ids[0], id);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

/* Trimming by puts alone: old records go as new ones arrive. */
START_TEST(test_retention_by_put)
{
    tc_cache *h = open_cache("{\"feedback_retention\": 0.2}");
    tc__store *st = tc__cache_store(h->core);
    tc__fb_stats fs;
    tc__err err;

    submit_n(h, 10);
    sleep_ms(300);
    submit_n(h, 1);
    ck_assert_int_eq(tc__fb_lmdb_ops.stats(st, &fs, &err), TC_OK);
    ck_assert_uint_eq(fs.kept, 1);
    ck_assert_uint_eq(fs.queued, 1);
    tc__fb_stats_release(&fs);
    tc_cache_close(h);
}
END_TEST

/* ---- the spool
 * ---------------------------------------------------------------- */

START_TEST(test_spool_replay)
{
    tc_cache *h = open_cache(NULL);
    char id[TC_FEEDBACK_ID_MAX], id2[TC_FEEDBACK_ID_MAX], **lines, *content;
    char want[1024], *s;
    size_t n;

    tc__feedback_set_fault(h, -1);
    {
        int spooled = -1;

        ck_assert_msg(tc_feedback_submit_json(id, &spooled, h, base_json,
                                              strlen(base_json)) == TC_OK,
                      "%s", tc_errmsg());
        ck_assert_int_eq(spooled, 1); /* the caller learns where it went */
    }
    expect_id(id);
    content = slurp(spool_file("feedback.spool"));
    ck_assert_ptr_nonnull(strstr(content, id));
    ck_assert_ptr_nonnull(strchr(content, '\n'));
    ck_assert_str_eq(strchr(content, '\n'), "\n"); /* one whole line */
    free(content);
    /* still down: the next record joins it, in order */
    ck_assert_int_eq(submit(h,
                            "{\"text\":\"second\",\"original_intent\":\"c\","
                            "\"correct_intent\":\"d\",\"original_confidence\":"
                            "0.5,\"feedback_type\":\"correction\"}",
                            id2),
                     TC_OK);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "spooled"), 2);
    ck_assert_int_eq(stat_num(s, "kept"), 0);
    tc_free(s);
    ck_assert_uint_eq(export_count(h), 0);
    /* back: the next call replays, exactly once */
    tc__feedback_set_fault(h, 0);
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    ck_assert_ptr_nonnull(strstr(lines[1], id2));
    snprintf(want, sizeof(want), "{\"id\":\"%s\",", id);
    ck_assert_int_eq(strncmp(lines[0], want, strlen(want)), 0);
    free_lines(lines, n);
    content = slurp(spool_file("feedback.spool"));
    ck_assert_str_eq(content, "");
    free(content);
    ck_assert_uint_eq(export_count(h), 2);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "correction"), 2);
    ck_assert_int_eq(stat_num(s, "spooled"), 0);
    ck_assert_int_eq(stat_num(s, "queued"), 2);
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/*
 * A replay that stopped half way leaves lines already stored in the
 * spool: replaying them again stores and counts nothing twice. A line
 * that is not a record goes to feedback.spool.bad.
 */
START_TEST(test_spool_duplicates_and_bad_line)
{
    tc_cache *h = open_cache(NULL);
    char id[TC_FEEDBACK_ID_MAX], old[64], **lines, *stored;
    char *content, *s;
    size_t n;
    FILE *f;

    ck_assert_int_eq(submit(h, base_json, id), TC_OK);
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    stored = strdup(lines[0]);
    free_lines(lines, n);
    /* a spooled record (so this process knows of the spool) */
    tc__feedback_set_fault(h, -1);
    ck_assert_int_eq(submit(h,
                            "{\"text\":\"later\",\"original_intent\":\"c\","
                            "\"correct_intent\":\"c\",\"original_confidence\":"
                            "0.5,\"feedback_type\":\"confirmation\"}",
                            NULL),
                     TC_OK);
    f = fopen(spool_file("feedback.spool"), "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n{\"id\":\"garbage\n%s\n", stored, stored);
    /* a record of a minute ago, spooled by some other process */
    snprintf(old, sizeof(old), "%013lld-00000000000000ff",
             (long long)atoll(id) - 60000);
    fprintf(f,
            "{\"id\":\"%s\",\"text\":\"old\","
            "\"original_intent\":\"a\",\"correct_intent\":\"b\","
            "\"original_confidence\":0.5,\"feedback_type\":\"correction\","
            "\"timestamp\":\"2023-11-14T22:13:20.000Z\"}\n",
            old);
    fclose(f);
    tc__feedback_set_fault(h, 0);
    n = export_all(h, &lines);
    /* the old one, the first, the later one: each once, in id order */
    ck_assert_uint_eq(n, 3);
    ck_assert_ptr_nonnull(strstr(lines[0], old));
    ck_assert_str_eq(lines[1], stored);
    ck_assert_ptr_nonnull(strstr(lines[2], "\"later\""));
    free_lines(lines, n);
    content = slurp(spool_file("feedback.spool.bad"));
    ck_assert_str_eq(content, "{\"id\":\"garbage\n");
    free(content);
    content = slurp(spool_file("feedback.spool"));
    ck_assert_str_eq(content, "");
    free(content);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "correction"), 2);
    ck_assert_int_eq(stat_num(s, "confirmation"), 1);
    tc_free(s);
    free(stored);
    tc_cache_close(h);
}
END_TEST

/*
 * The store fails for one batch in the middle of an import: every record
 * is stored afterwards, exactly once, and the report says how many went
 * through the spool.
 */
START_TEST(test_spool_import)
{
    tc_cache *h = open_cache(NULL);
    size_t total = TC__FB_BATCH * 2 + 100, cap = total * 200, o = 0;
    char *text = malloc(cap), **lines, *s;
    tc_import_report *r;
    size_t n;

    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < total; i++) {
        o += (size_t)snprintf(text + o, cap - o,
                              "{\"text\":\"q%zu\",\"original_intent\":\"a\","
                              "\"correct_intent\":\"b\","
                              "\"original_confidence\":0.5,"
                              "\"feedback_type\":\"correction\"}\n",
                              i);
    }
    tc__feedback_set_fault(h, 1);
    r = import_text(h, text, TC_IMPORT_JSONL, 0);
    ck_assert_uint_eq(r->accepted, total);
    ck_assert_uint_eq(r->spooled, TC__FB_BATCH);
    tc_import_report_free(r);
    n = export_all(h, &lines);
    ck_assert_uint_eq(n, total);
    for (size_t i = 1; i < n; i++) {
        ck_assert_int_lt(strcmp(lines[i - 1], lines[i]), 0); /* distinct */
    }
    free_lines(lines, n);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "correction"), (long long)total);
    ck_assert_int_eq(stat_num(s, "queued"), (long long)total);
    ck_assert_int_eq(stat_num(s, "spooled"), 0);
    tc_free(s);
    free(text);
    tc_cache_close(h);
}
END_TEST

/* No spool directory to fall back on: the record is not accepted. */
START_TEST(test_spool_unwritable)
{
    tc_cache *h;
    char cfg[700], id[TC_FEEDBACK_ID_MAX] = "x";
    FILE *f;

    /* a spool_dir below a regular file can never be created */
    f = fopen(path("file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(cfg, sizeof(cfg), "{\"spool_dir\": \"%s/file/spool\"}", tdir);
    h = open_cache(cfg);
    tc__feedback_set_fault(h, -1);
    ck_assert_int_eq(submit(h, base_json, id), TC_EIO);
    ck_assert_str_eq(id, "");
    ck_assert_msg(strstr(tc_errmsg(), "spool") != NULL, "%s", tc_errmsg());
    tc__feedback_set_fault(h, 0);
    ck_assert_uint_eq(export_count(h), 0);
    tc_cache_close(h);
}
END_TEST

/* ---- threads and allocation failures ------------------------------------- */

typedef struct worker {
    tc_cache *h;
    int id;
    int fails;
    char ids[100][TC_FEEDBACK_ID_MAX];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char json[256];

    for (int i = 0; i < 100; i++) {
        snprintf(json, sizeof(json),
                 "{\"text\":\"t%d-%d\",\"original_intent\":\"a\","
                 "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                 "\"feedback_type\":\"correction\"}",
                 w->id, i);
        if (tc_feedback_submit_json(w->ids[i], NULL, w->h, json,
                                    strlen(json)) != TC_OK) {
            w->fails++;
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    tc_cache *h = open_cache(NULL);
    pthread_t th[4];
    worker *w = calloc(4, sizeof(*w));
    char *s;

    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 4; i++) {
        w[i].h = h;
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].fails, 0);
    }
    ck_assert_uint_eq(export_count(h), 400);
    s = stats(h);
    ck_assert_int_eq(stat_num(s, "correction"), 400);
    tc_free(s);
    free(w);
    tc_cache_close(h);
}
END_TEST

static _Atomic long a_calls, a_live;
static long a_fail_at;

static void *f_malloc(size_t n)
{
    void *p;

    if (atomic_fetch_add(&a_calls, 1) + 1 == a_fail_at) {
        return NULL;
    }
    p = malloc(n);
    if (p) {
        atomic_fetch_add(&a_live, 1);
    }
    return p;
}

static void *f_realloc(void *old, size_t n)
{
    void *p;

    if (atomic_fetch_add(&a_calls, 1) + 1 == a_fail_at) {
        return NULL;
    }
    p = realloc(old, n);
    if (p && !old) {
        atomic_fetch_add(&a_live, 1);
    }
    return p;
}

static void f_free(void *p)
{
    if (p) {
        atomic_fetch_sub(&a_live, 1);
        free(p);
    }
}

static int ok_or_nomem(int rc)
{
    return rc == TC_OK || rc == TC_ENOMEM;
}

/*
 * The n-th allocation of a sequence of feedback calls fails, for every n
 * until a run completes: each call returns its result or TC_ENOMEM, and
 * nothing is left allocated once the handle is closed.
 */
START_TEST(test_alloc_failures)
{
    static const char csv[] =
        "text,original_intent,correct_intent,original_confidence,"
        "feedback_type,correct_techniques\n\"a, b\",x,y,0.5,correction,p|q\n"
        "c,x,x,0.5,confirmation,\n";
    long n;
    int done = 0;

    for (n = 1; !done && n < 5000; n++) {
        tc_cache *h = NULL;
        char id[TC_FEEDBACK_ID_MAX], *s = NULL;
        tc_import_report *r = NULL;
        tc_feedback_batch *b = NULL;
        FILE *f;
        uint64_t cnt;
        int rc;

        tc_set_allocator(f_malloc, f_realloc, f_free);
        atomic_store(&a_live, 0);
        a_fail_at = 0;
        h = open_cache(NULL);
        atomic_store(&a_calls, 0);
        a_fail_at = n;
        ck_assert(ok_or_nomem(submit(h, base_json, id)));
        rc = submit(h, "{\"text\":1}", id);
        ck_assert(rc == TC_EINVAL || rc == TC_ENOMEM);
        f = fmemopen((void *)csv, strlen(csv), "r");
        ck_assert(ok_or_nomem(
            tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, NULL, NULL)));
        fclose(f);
        tc_import_report_free(r);
        ck_assert(ok_or_nomem(tc_feedback_stats_json(&s, h)));
        tc_free(s);
        ck_assert(ok_or_nomem(tc_feedback_consume(&b, h, "A", 10, 0)));
        if (b && b->n > 0) {
            ck_assert(ok_or_nomem(tc_feedback_ack(h, b->ids, b->n)));
        }
        tc_feedback_batch_free(b);
        f = tmpfile();
        ck_assert(ok_or_nomem(tc_feedback_export(h, f, &cnt)));
        fclose(f);
        done = atomic_load(&a_calls) < n;
        a_fail_at = 0;
        tc_cache_close(h);
        ck_assert_msg(atomic_load(&a_live) == 0,
                      "failing allocation %ld: %ld blocks leaked", n,
                      atomic_load(&a_live));
        tc_set_allocator(NULL, NULL, NULL);
        tt_rmtree(path("db"));
    }
    ck_assert_msg(done, "never ran without a failure");
}
END_TEST

/* ---- the suite ------------------------------------------------------------
 */

static void add(Suite *su, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120); /* room for valgrind */
    tcase_add_test(tc, test);
    suite_add_tcase(su, tc);
}

Suite *suite_feedback(void)
{
    Suite *su = suite_create("feedback");
    TCase *tc = tcase_create("rule");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_rule, 0, NRULES);
    suite_add_tcase(su, tc);
    add(su, "rule_lengths", test_rule_lengths);
    add(su, "rule_not_json", test_rule_not_json);
    add(su, "rule_struct", test_rule_struct);
    add(su, "memory_store", test_memory_store);
    add(su, "submit_roundtrip", test_submit_roundtrip);
    add(su, "submit_receipt_time", test_submit_receipt_time);
    add(su, "ids_ordered", test_ids_ordered);
    add(su, "override", test_override);
    add(su, "override_classify", test_override_classify);
    add(su, "stats_exact", test_stats_exact);
    add(su, "stats_top_pairs", test_stats_top_pairs);
    add(su, "stats_long_pair", test_stats_long_pair);
    add(su, "metrics", test_metrics);
    add(su, "import_jsonl_10000", test_import_jsonl_10000);
    add(su, "import_rejections_capped", test_import_rejections_capped);
    add(su, "import_progress", test_import_progress);
    add(su, "import_csv", test_import_csv);
    add(su, "import_csv_header", test_import_csv_header);
    add(su, "import_dry_run", test_import_dry_run);
    add(su, "consume_ack_claim", test_consume_ack_claim);
    add(su, "consume_args", test_consume_args);
    add(su, "consumer_dies", test_consumer_dies);
    add(su, "retention", test_retention);
    add(su, "retention_by_put", test_retention_by_put);
    add(su, "spool_replay", test_spool_replay);
    add(su, "spool_duplicates_and_bad_line",
        test_spool_duplicates_and_bad_line);
    add(su, "spool_import", test_spool_import);
    add(su, "spool_unwritable", test_spool_unwritable);
    add(su, "threads", test_threads);
    add(su, "alloc_failures", test_alloc_failures);
    return su;
}
