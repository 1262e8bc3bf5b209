/*
 * check_served.c - the answers served per day, model and intent, and the
 * shadow checks' outcomes per model (count_intents), through the public
 * API on real stores (LMDB, a private Redis, the test cluster): exact
 * counts of hits, misses and corrections' answers from two handles,
 * across a flush and a close; threads counting while flushes run;
 * shadow outcomes; days past the feedback
 * retention trimmed by a flush; the option off; memory: keeping them in
 * process; a Redis that is down keeping the counts for a later flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "cache_fixture.h"
#include "raw_store_fixture.h"
#include "store/store.h"
#include "suites.h"
#include "tt_json.h"

static const int kinds[] = {BK_LMDB, BK_REDIS, BK_CLUSTER};

/* A host model: a text that starts with "hello" is a greeting, any other
 * a question; after flip is set, a text that starts with "flip" is a
 * greeting too. */
static int flip;

static int host(char **json, const char *text, size_t len, void *ud)
{
    const char *intent =
        (len >= 5 && memcmp(text, "hello", 5) == 0) ||
                (flip && len >= 4 && memcmp(text, "flip", 4) == 0)
            ? "greeting"
            : "question";
    char buf[96];

    (void)ud;
    snprintf(buf, sizeof(buf), "{\"intent\":\"%s\",\"confidence\":0.9}",
             intent);
    if (!(*json = tc_malloc(strlen(buf) + 1))) {
        return TC_ENOMEM;
    }
    strcpy(*json, buf);
    return TC_OK;
}

/* A host model whose intent is the text itself: as many intents as
 * texts. */
static int echo(char **json, const char *text, size_t len, void *ud)
{
    char buf[96];

    (void)ud;
    snprintf(buf, sizeof(buf), "{\"intent\":\"%.*s\",\"confidence\":0.9}",
             (int)(len < 40 ? len : 40), text);
    if (!(*json = tc_malloc(strlen(buf) + 1))) {
        return TC_ENOMEM;
    }
    strcpy(*json, buf);
    return TC_OK;
}

/* A host model that names itself in its answers: "model":"x". */
static int named(char **json, const char *text, size_t len, void *ud)
{
    static const char answer[] =
        "{\"intent\":\"question\",\"confidence\":0.9,\"model\":\"x\"}";

    (void)text;
    (void)len;
    (void)ud;
    if (!(*json = tc_malloc(sizeof(answer)))) {
        return TC_ENOMEM;
    }
    memcpy(*json, answer, sizeof(answer));
    return TC_OK;
}

/* A classifier of the host model fn, version v1. */
static tc_classifier *open_fn(tc_cache *h, tc_classifier_fn fn, double shadow,
                              int uncounted, double threshold)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = fn;
    co.fn_version = "v1";
    co.shadow_rate = shadow;
    co.uncounted = uncounted;
    co.threshold = threshold;
    ck_assert_msg(tc_classifier_open(&c, h, &co) == TC_OK, "%s", tc_errmsg());
    return c;
}

static tc_classifier *open_cls(tc_cache *h, double shadow, int uncounted)
{
    return open_fn(h, host, shadow, uncounted, 0);
}

/* Classifies text n times; each answer must come from src. */
static void served_n(tc_classifier *c, const char *text, int n, tc_source src)
{
    for (int i = 0; i < n; i++) {
        tc_result *r = NULL;

        ck_assert_msg(tc_classify(&r, c, text, strlen(text)) == TC_OK, "%s",
                      tc_errmsg());
        ck_assert_msg(r->source == src, "%s: %s", text,
                      tc_source_name(r->source));
        tc_result_free(r);
    }
}

static cJSON *counts_of(tc_cache *h)
{
    char *text = NULL;
    cJSON *root;
    int rc = tc_classify_counts_json(&text, h);

    ck_assert_msg(rc == TC_OK, "%s: %s", tc_error_name(rc), tc_errmsg());
    root = cJSON_Parse(text);
    tc_free(text);
    ck_assert_ptr_nonnull(root);
    return root;
}

/* One count of model fn:v1 ("models.fn:v1..." cannot be a path: the
 * colon is fine, the dots are json_num's). */
static double v1(const cJSON *root, const char *path)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "models"), "fn:v1");

    ck_assert_msg(m, "no model fn:v1");
    return json_num(m, path);
}

#define EXPECT(root, path, want)                                               \
    ck_assert_msg(v1(root, path) == (want), "%s: %g, want %g", path,           \
                  v1(root, path), (double)(want))

/*
 * Two handles on one store, each with a classifier: hits, misses, a
 * batch and a correction's answer, counted exactly; the second handle's
 * counts arrive when it closes, the first's at a flush and then again
 * at the next one, added to what is there.
 */
START_TEST(test_served_counts)
{
    static const char *const batch[] = {"hello there", "what is a list"};
    static const char fb[] =
        "{\"text\":\"what is a tuple\",\"original_intent\":\"question\","
        "\"correct_intent\":\"greeting\",\"original_confidence\":0.9,"
        "\"feedback_type\":\"correction\"}";
    char id[TC_FEEDBACK_ID_MAX];
    size_t lens[2] = {11, 14};
    tc_result *res[2];
    int status[2];
    tc_cache *h, *h2;
    tc_classifier *c, *c2, *warm;
    cJSON *root;
    bk b;

    bk_start(&b, kinds[_i]);
    h = bk_open(&b);
    h2 = bk_open(&b);
    c = open_cls(h, 0, 0);
    c2 = open_cls(h2, 0, 0);
    warm = open_cls(h, 0, 1);
    served_n(warm, "hello warm", 1, TC_SOURCE_MODEL); /* uncounted */
    served_n(warm, "hello warm", 2, TC_SOURCE_L1);
    served_n(c, "hello warm", 1, TC_SOURCE_L1);
    served_n(c, "hello there", 1, TC_SOURCE_MODEL);
    served_n(c, "hello there", 2, TC_SOURCE_L1);
    served_n(c, "what is a list", 1, TC_SOURCE_MODEL);
    ck_assert_int_eq(tc_classify_batch(res, status, c, batch, lens, 2), TC_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        tc_result_free(res[i]);
    }
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, h, fb, strlen(fb)),
                     TC_OK);
    served_n(c, "what is a tuple", 1, TC_SOURCE_FEEDBACK);
    served_n(c2, "hello there", 1, TC_SOURCE_L2);
    served_n(c2, "hello there", 1, TC_SOURCE_L1);
    ck_assert_int_eq(tc_classify_counts_flush(h), TC_OK);
    tc_classifier_close(c2);
    tc_cache_close(h2); /* its counts go with it */

    root = counts_of(h);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(root, "counting")));
    /* greeting: hello warm 1 hit; hello there 1 miss, 2 + 1 hits here and
     * 2 in h2; what is a tuple, corrected: 1 feedback */
    EXPECT(root, "intents.greeting.classifications", 8);
    EXPECT(root, "intents.greeting.hits", 6);
    EXPECT(root, "intents.greeting.misses", 1);
    EXPECT(root, "intents.greeting.feedback", 1);
    EXPECT(root, "intents.question.classifications", 2);
    EXPECT(root, "intents.question.misses", 1);
    EXPECT(root, "intents.question.hits", 1);
    EXPECT(root, "classifications", 10);
    EXPECT(root, "shadow.checks", 0);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(root, "models"), "fn:v1"),
            "shadow"),
        "rate")));
    ck_assert_double_eq(json_num(root, "intents.greeting.classifications"), 8);
    cJSON_Delete(root);

    /* after a flush, more: added to the store's, not put in their place */
    served_n(c, "what is a list", 3, TC_SOURCE_L1);
    root = counts_of(h);
    EXPECT(root, "intents.question.classifications", 5);
    EXPECT(root, "intents.question.hits", 4);
    cJSON_Delete(root);

    tc_classifier_close(warm);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* Below the classifier's threshold the intent answered is "unknown",
 * and so it is counted, the hits' as the miss's. */
START_TEST(test_served_threshold)
{
    tc_classifier *c;
    tc_cache *h;
    cJSON *root;
    bk b;

    bk_start(&b, BK_LMDB);
    h = bk_open(&b);
    c = open_fn(h, host, 0, 0, 0.95); /* the host answers 0.9 */
    served_n(c, "hello below", 1, TC_SOURCE_MODEL);
    served_n(c, "hello below", 3, TC_SOURCE_L1);
    root = counts_of(h);
    EXPECT(root, "intents.unknown.classifications", 4);
    EXPECT(root, "intents.unknown.hits", 3);
    ck_assert_ptr_null(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "intents"), "greeting"));
    cJSON_Delete(root);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * A host model whose answers name a model of their own ("x") is counted
 * under the classifier's identity, fn:v1, on a hit as on a miss: one
 * model with both answers in the store, none named x.
 */
START_TEST(test_served_named_model)
{
    tc_classifier *c;
    tc_result *r = NULL;
    tc_cache *h;
    cJSON *root;
    bk b;

    bk_start(&b, BK_LMDB);
    h = bk_open(&b);
    c = open_fn(h, named, 0, 0, 0);
    ck_assert_int_eq(tc_classify(&r, c, "what is x", 9), TC_OK);
    ck_assert_int_eq(r->source, TC_SOURCE_MODEL);
    ck_assert_str_eq(r->model, "x"); /* the answer still names it */
    tc_result_free(r);
    served_n(c, "what is x", 1, TC_SOURCE_L1);
    ck_assert_int_eq(tc_classify_counts_flush(h), TC_OK);
    root = counts_of(h);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "models")),
                     1);
    EXPECT(root, "classifications", 2);
    EXPECT(root, "misses", 1);
    EXPECT(root, "hits", 1);
    EXPECT(root, "intents.question.classifications", 2);
    cJSON_Delete(root);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* One count of the model fp's intent (NULL: the model's own count). */
static double of_model(const cJSON *root, const char *fp, const char *intent,
                       const char *what)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "models"), fp);

    ck_assert_msg(m, "no model %s", fp);
    if (intent) {
        m = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "intents"), intent);
        ck_assert_msg(m, "model %s: no intent %s", fp, intent);
    }
    return json_num(m, what);
}

/*
 * The built-in model: a miss is counted from its answer's packed form,
 * a hit from the L1 entry's, a batch's miss from the strings, all under
 * the model's fingerprint and its intent; below the threshold as
 * "unknown", from the strings.
 */
START_TEST(test_served_model)
{
    static const char q[] = "Write a Python function that reverses a list";
    static const char *const batch[] = {q, "Why does my loop never end"};
    size_t lens[2] = {sizeof(q) - 1, strlen(batch[1])};
    char fp[TC_FINGERPRINT_LEN + 1];
    tc_classifier_options co;
    tc_train_options to;
    tc_classifier *c, *strict;
    tc_result *res[2];
    int status[2];
    tc_model *m;
    tc_cache *h;
    cJSON *root;
    bk b;

    tc_train_options_init(&to);
    to.threads = 1;
    to.seed = 7;
    ck_assert_msg(tc_model_train_file(&m, "examples/intents.jsonl", &to) ==
                      TC_OK,
                  "train: %s", tc_errmsg());
    tc_model_fingerprint(fp, m);
    bk_start(&b, BK_LMDB);
    h = bk_open(&b);
    tc_classifier_options_init(&co);
    co.model = m;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    co.threshold = 1; /* every answer "unknown" (the model is not sure) */
    ck_assert_msg(tc_classifier_open(&strict, h, &co) == TC_OK, "%s",
                  tc_errmsg());
    served_n(c, q, 1, TC_SOURCE_MODEL);
    served_n(c, q, 2, TC_SOURCE_L1);
    served_n(strict, "Explain what a closure is", 1, TC_SOURCE_MODEL);
    served_n(strict, "Explain what a closure is", 2, TC_SOURCE_L1);
    /* a batch: q from L1, the other text the model's */
    ck_assert_int_eq(tc_classify_batch(res, status, c, batch, lens, 2), TC_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        ck_assert_int_eq(res[i]->source, i ? TC_SOURCE_MODEL : TC_SOURCE_L1);
    }
    root = counts_of(h);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "models")),
                     1);
    ck_assert_double_eq(of_model(root, fp, res[0]->intent, "misses"), 1);
    ck_assert_double_eq(of_model(root, fp, res[0]->intent, "hits"), 3);
    ck_assert_double_eq(of_model(root, fp, res[1]->intent, "misses"), 1);
    ck_assert_double_eq(of_model(root, fp, "unknown", "misses"), 1);
    ck_assert_double_eq(of_model(root, fp, "unknown", "hits"), 2);
    ck_assert_double_eq(of_model(root, fp, NULL, "classifications"), 8);
    cJSON_Delete(root);
    tc_result_free(res[0]);
    tc_result_free(res[1]);
    tc_classifier_close(strict);
    tc_classifier_close(c);
    tc_cache_close(h);
    tc_model_free(m);
    bk_stop(&b);
}
END_TEST

/* Threads counting while flushes take their stripes: none lost. */
#define THREADS 4
#define PER_THREAD 2000

static void *count_thread(void *arg)
{
    tc_classifier *c = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        tc_result *r = NULL;
        const char *text = i % 2 ? "hello again" : "a question";

        if (tc_classify(&r, c, text, strlen(text)) != TC_OK) {
            return arg;
        }
        tc_result_free(r);
    }
    return NULL;
}

START_TEST(test_served_threads)
{
    pthread_t t[THREADS];
    void *failed = NULL;
    tc_cache *h;
    tc_classifier *c;
    cJSON *root;
    bk b;

    bk_start(&b, BK_LMDB);
    h = bk_open(&b);
    c = open_cls(h, 0, 0);
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, count_thread, c), 0);
    }
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(tc_classify_counts_flush(h), TC_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        void *r;

        pthread_join(t[i], &r);
        failed = r ? r : failed;
    }
    ck_assert_ptr_null(failed);
    root = counts_of(h);
    EXPECT(root, "classifications", THREADS * PER_THREAD);
    EXPECT(root, "intents.greeting.classifications", THREADS * PER_THREAD / 2);
    /* two texts: a miss each, unless threads met both misses at once */
    ck_assert(v1(root, "misses") >= 2);
    ck_assert(v1(root, "hits") + v1(root, "misses") == THREADS * PER_THREAD);
    cJSON_Delete(root);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* Shadow checks: two cached answers made stale disagree, one agrees. */
START_TEST(test_served_shadow)
{
    static const char *const texts[] = {"flip one", "flip two", "plain"};
    tc_cache *h;
    tc_classifier *c;
    cJSON *root = NULL;
    bk b;

    flip = 0;
    bk_start(&b, BK_LMDB);
    h = bk_open(&b);
    c = open_cls(h, 1, 0);
    for (int i = 0; i < 3; i++) {
        served_n(c, texts[i], 1, TC_SOURCE_MODEL);
    }
    flip = 1;
    for (int i = 0; i < 3; i++) {
        served_n(c, texts[i], 1, TC_SOURCE_L1);
    }
    /* the checks run on the classifier's thread: a generous bound */
    for (int i = 0; i < 300; i++) {
        cJSON_Delete(root);
        root = counts_of(h);
        if (v1(root, "shadow.checks") >= 3) {
            break;
        }
        usleep(100 * 1000);
    }
    EXPECT(root, "shadow.checks", 3);
    EXPECT(root, "shadow.agree", 1);
    EXPECT(root, "shadow.disagree", 2);
    ck_assert_double_eq_tol(v1(root, "shadow.rate"), 2.0 / 3, 1e-9);
    /* the answers served: 3 misses, 3 hits of the stale entries */
    EXPECT(root, "misses", 3);
    EXPECT(root, "hits", 3);
    cJSON_Delete(root);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
    flip = 0;
}
END_TEST

/* Whether the store's tally holds field (read past the API, which counts
 * only the retention's window), and its count. */
static int raw_has(tc__store *st, const char *field, uint64_t *count)
{
    tc__tally *t = NULL;
    size_t n = 0;
    tc__err err = {""};
    int found = 0;

    ck_assert_msg(st->ops->tally_read(st, &t, &n, &err) == TC_OK, "%s",
                  err.msg);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].field, field) == 0) {
            found = 1;
            *count = t[i].count;
        }
    }
    tc__tally_free(t, n);
    return found;
}

/*
 * A day past the retention (a year ago), and one within it (yesterday),
 * written straight to the tally: the handle's first flush removes the
 * first, keeps the second, and the JSON counts only the window.
 */
START_TEST(test_served_trim)
{
    char old[64], kept[64], today[9], cfgjson[64];
    time_t now = time(NULL), then = now - 365 * 86400, yday = now - 86400;
    tc__tally items[2] = {{old, 7}, {kept, 5}};
    tc__err err = {""};
    tc__config cfg;
    tc__store *st;
    tc_cache *h;
    tc_classifier *c;
    uint64_t n = 0;
    cJSON *root;
    bk b;

    strftime(today, sizeof(today), "%Y%m%d", gmtime(&now));
    strftime(old, 9, "%Y%m%d", gmtime(&then));
    strcat(old, ":h:5:fn:v1greeting");
    strftime(kept, 9, "%Y%m%d", gmtime(&yday));
    strcat(kept, ":m:5:fn:v1greeting");
    bk_start(&b, kinds[_i]);
    st = raw_store_open(&b, &cfg);
    ck_assert_msg(st->ops->tally_add(st, items, 2, NULL, &err) == TC_OK, "%s",
                  err.msg);
    ck_assert(raw_has(st, old, &n) && n == 7);

    /* a retention of 30 days (the default), said out loud */
    snprintf(cfgjson, sizeof(cfgjson), "{\"feedback_retention\": %d}",
             30 * 86400);
    h = bk_open_with(&b, NULL, cfgjson);
    c = open_cls(h, 0, 0);
    served_n(c, "hello today", 1, TC_SOURCE_MODEL);
    root = counts_of(h); /* flushes first */
    EXPECT(root, "intents.greeting.classifications", 6);
    EXPECT(root, "intents.greeting.misses", 6);
    EXPECT(root, "intents.greeting.hits", 0);
    cJSON_Delete(root);
    ck_assert(!raw_has(st, old, &n));
    ck_assert(raw_has(st, kept, &n) && n == 5);
    snprintf(old, sizeof(old), "%s:m:5:fn:v1greeting", today);
    ck_assert(raw_has(st, old, &n) && n == 1);
    tc_classifier_close(c);
    tc_cache_close(h);
    st->ops->close(st);
    tc__config_free(&cfg);
    bk_stop(&b);
}
END_TEST

/* count_intents off (config or environment): nothing counted, the
 * store still read. */
START_TEST(test_served_off)
{
    tc_cache *h, *on;
    tc_classifier *c;
    tc_options o;
    cJSON *root;
    bk b;

    bk_start(&b, BK_LMDB);
    h = bk_open_with(&b, NULL, "{\"count_intents\": false}");
    c = open_cls(h, 0, 0);
    served_n(c, "hello off", 1, TC_SOURCE_MODEL);
    served_n(c, "hello off", 1, TC_SOURCE_L1);
    tc_classifier_close(c);
    ck_assert_int_eq(tc_classify_counts_flush(h), TC_OK);
    root = counts_of(h);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(root, "counting")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "models")),
                     0);
    cJSON_Delete(root);
    /* a handle that counts: the one that does not reads its counts */
    on = bk_open(&b);
    c = open_cls(on, 0, 0);
    served_n(c, "hello on", 1, TC_SOURCE_MODEL);
    tc_classifier_close(c);
    tc_cache_close(on);
    root = counts_of(h);
    EXPECT(root, "classifications", 1);
    EXPECT(root, "intents.greeting.misses", 1);
    cJSON_Delete(root);
    tc_cache_close(h);

    /* the environment's switch, and a value it does not take */
    tc_options_init(&o);
    o.flags = TC_OPT_NO_CONFIG;
    o.store_url = b.url;
    o.lmdb_map_bytes = (size_t)64 << 20;
    setenv("TUTORCACHE_COUNT_INTENTS", "false", 1);
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    root = counts_of(h);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(root, "counting")));
    cJSON_Delete(root);
    tc_cache_close(h);
    setenv("TUTORCACHE_COUNT_INTENTS", "maybe", 1);
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_str_eq(tc_errmsg(),
                     "TUTORCACHE_COUNT_INTENTS: maybe is not true or false");
    unsetenv("TUTORCACHE_COUNT_INTENTS");
    bk_stop(&b);
}
END_TEST

/* memory: the counts stay in the handle that counted them. */
START_TEST(test_served_memory)
{
    tc_cache *h, *h2;
    tc_classifier *c;
    cJSON *root;
    bk b;

    bk_start(&b, BK_MEMORY);
    h = bk_open(&b);
    h2 = bk_open(&b);
    c = open_cls(h, 0, 0);
    served_n(c, "hello mem", 1, TC_SOURCE_MODEL);
    served_n(c, "hello mem", 2, TC_SOURCE_L1);
    root = counts_of(h);
    EXPECT(root, "intents.greeting.classifications", 3);
    EXPECT(root, "intents.greeting.hits", 2);
    cJSON_Delete(root);
    served_n(c, "what now", 1, TC_SOURCE_MODEL);
    root = counts_of(h);
    EXPECT(root, "classifications", 4);
    cJSON_Delete(root);
    root = counts_of(h2);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "models")),
                     0);
    cJSON_Delete(root);
    tc_classifier_close(c);
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* memory: keeps many pairs over several reads, each counted once. */
START_TEST(test_served_memory_many)
{
    tc_classifier *c;
    tc_cache *h;
    cJSON *root;
    char text[32];
    bk b;

    bk_start(&b, BK_MEMORY);
    h = bk_open(&b);
    c = open_fn(h, echo, 0, 0, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 600; i++) {
            snprintf(text, sizeof(text), "i%d", i);
            served_n(c, text, 1, round ? TC_SOURCE_L1 : TC_SOURCE_MODEL);
        }
        root = counts_of(h);
        EXPECT(root, "classifications", 600 * (round + 1));
        EXPECT(root, "misses", 600);
        ck_assert_int_eq(
            cJSON_GetArraySize(cJSON_GetObjectItem(root, "intents")), 600);
        cJSON_Delete(root);
    }
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * A Redis that is down: a flush and a read fail as unreachable and the
 * log says so, the counts stay in the process; back up, a flush sends
 * them all, each once.
 */
START_TEST(test_served_store_down)
{
    tc_cache *h;
    tc_classifier *c;
    cJSON *root, *line;
    char *text = NULL;
    bk b;
    int rc;

    bk_start(&b, BK_REDIS);
    h = bk_open_logged(&b, NULL);
    c = open_cls(h, 0, 0);
    /* the restarted server keeps nothing of before: it starts down */
    trs_kill(b.srv);
    served_n(c, "hello during", 1, TC_SOURCE_MODEL);
    served_n(c, "hello during", 2, TC_SOURCE_L1);
    rc = tc_classify_counts_flush(h);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "%s: %s",
                  tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "TALLY ADD"));
    line = cache_log_find("served_flush_failed");
    ck_assert_msg(line, "no served_flush_failed in %s", cache_log_text());
    cJSON_Delete(line);
    rc = tc_classify_counts_json(&text, h);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "%s",
                  tc_error_name(rc));
    ck_assert_ptr_null(text);
    ck_assert_int_eq(trs_restart(b.srv), 0);
    /* the breaker may hold calls back for a moment after the restart */
    for (int i = 0; i < 100; i++) {
        served_n(c, "what after", 1, i ? TC_SOURCE_L1 : TC_SOURCE_MODEL);
        if (tc_classify_counts_flush(h) == TC_OK) {
            break;
        }
        usleep(100 * 1000);
    }
    root = counts_of(h);
    /* 3 while down (a miss, then L1), none lost or sent twice */
    EXPECT(root, "intents.greeting.misses", 1);
    EXPECT(root, "intents.greeting.hits", 2);
    EXPECT(root, "intents.greeting.classifications", 3);
    ck_assert(v1(root, "intents.question.classifications") >= 1);
    cJSON_Delete(root);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

Suite *suite_served(void)
{
    Suite *s = suite_create("served");
    TCase *tc = tcase_create("served");
    int nk = (int)(sizeof(kinds) / sizeof(kinds[0]));

    tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_served_counts, 0, nk);
    tcase_add_test(tc, test_served_threshold);
    tcase_add_test(tc, test_served_named_model);
    tcase_add_test(tc, test_served_model);
    tcase_add_test(tc, test_served_threads);
    tcase_add_test(tc, test_served_shadow);
    tcase_add_loop_test(tc, test_served_trim, 0, nk);
    tcase_add_test(tc, test_served_off);
    tcase_add_test(tc, test_served_memory);
    tcase_add_test(tc, test_served_memory_many);
    tcase_add_test(tc, test_served_store_down);
    suite_add_tcase(s, tc);
    return s;
}
