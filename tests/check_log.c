/*
 * check_log.c - the library's log lines: one valid JSON object each, with
 * an RFC 3339 time in ms, a level and an event; never a password, never a
 * caller's text unless asked; repeated failures rate-limited.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "suites.h"
#include "tutorcache.h"

#define MAXLINES 4096

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *lines[MAXLINES];
static int nlines;

static void collect(void *ud, tc_log_level level, const char *json)
{
    (void)ud;
    (void)level;
    pthread_mutex_lock(&mu);
    if (nlines < MAXLINES) {
        lines[nlines++] = strdup(json);
    }
    pthread_mutex_unlock(&mu);
}

static void reset(void)
{
    int i;

    for (i = 0; i < nlines; i++) {
        free(lines[i]);
    }
    nlines = 0;
}

static int count_event(const char *event)
{
    char want[64];
    int i, n = 0;

    snprintf(want, sizeof(want), "\"event\":\"%s\"", event);
    for (i = 0; i < nlines; i++) {
        n += strstr(lines[i], want) != NULL;
    }
    return n;
}

/* Every line is one JSON object with time, level and event. */
static void check_lines(void)
{
    int i;

    for (i = 0; i < nlines; i++) {
        cJSON *j = cJSON_Parse(lines[i]);
        cJSON *t;
        int y, mo, d, hh, mm, ss, ms;
        char z;

        ck_assert_msg(cJSON_IsObject(j), "not JSON: %s", lines[i]);
        t = cJSON_GetObjectItemCaseSensitive(j, "time");
        ck_assert_msg(cJSON_IsString(t) && strlen(t->valuestring) == 24 &&
                          sscanf(t->valuestring,
                                 "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d,
                                 &hh, &mm, &ss, &ms, &z) == 8 &&
                          z == 'Z',
                      "time: %s", lines[i]);
        ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "level")));
        ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "event")));
        cJSON_Delete(j);
    }
}

static tc_cache *open_with(const char *url, int level, int texts)
{
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.connect_timeout_ms = 50;
    o.command_timeout_ms = 50;
    o.log_fn = collect;
    o.log_level = (tc_log_level)level;
    o.log_texts = texts;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    return h;
}

START_TEST(test_no_password_rate_limited)
{
    /* port 1 on loopback: nothing listens, connections are refused */
    tc_cache *h = open_with("redis://:s3cretpw@127.0.0.1:1/0", TC_LOG_DEBUG, 0);
    void *v;
    size_t len;
    int i;

    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "intents", "k", 1),
                         TC_MISS);
    }
    tc_cache_close(h);
    check_lines();
    for (i = 0; i < nlines; i++) {
        ck_assert_msg(!strstr(lines[i], "s3cretpw"), "password in %s",
                      lines[i]);
    }
    ck_assert_int_eq(count_event("cache_get"), 50);
    ck_assert_int_ge(count_event("l2_error"), 1);
    ck_assert_int_le(count_event("l2_error"), 2); /* one per 10 s */
    reset();
}
END_TEST

static void classify_once(int texts)
{
    tc_cache *h = open_with("memory:", TC_LOG_DEBUG, texts);
    tc_classifier_options co;
    tc_classifier *c;
    tc_result *r;
    const char *secret = "my private question about grades";

    tc_classifier_options_init(&co);
    co.fn = tt_host_answer;
    co.fn_userdata = (void *)"{\"intent\":\"debugging\",\"confidence\":0.9}";
    co.fn_version = "v";
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    ck_assert_int_eq(tc_classify(&r, c, secret, strlen(secret)), TC_OK);
    tc_result_free(r);
    tc_classifier_close(c);
    tc_cache_close(h);
    check_lines();
}

START_TEST(test_texts_only_when_asked)
{
    int i, seen = 0;

    classify_once(0);
    ck_assert_int_eq(count_event("classify"), 1);
    for (i = 0; i < nlines; i++) {
        ck_assert_msg(!strstr(lines[i], "private question"), "text in %s",
                      lines[i]);
        if (strstr(lines[i], "\"event\":\"cache_get\"")) {
            ck_assert_ptr_nonnull(strstr(lines[i], "\"key\":\"tc:intent"));
            ck_assert_ptr_nonnull(strstr(lines[i], "\"latency_us\":"));
        }
    }
    reset();
    classify_once(1);
    for (i = 0; i < nlines; i++) {
        seen += strstr(lines[i], "private question") != NULL;
    }
    ck_assert_int_eq(seen, 1);
    reset();
}
END_TEST

START_TEST(test_level_filters)
{
    tc_cache *h = open_with("memory:", TC_LOG_WARN, 0);
    void *v;
    size_t len;

    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "intents", "k", 1),
                     TC_MISS);
    ck_assert_int_eq(tc_cache_invalidate(h, "intents"), TC_OK);
    tc_cache_close(h);
    ck_assert_int_eq(nlines, 0);
}
END_TEST

Suite *suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");

    tcase_add_test(tc, test_no_password_rate_limited);
    tcase_add_test(tc, test_texts_only_when_asked);
    tcase_add_test(tc, test_level_filters);
    suite_add_tcase(s, tc);
    return s;
}
