/*
 * check_classify.c - classification through the cache: sources (model,
 * l1, l2 from a second handle), keys from normalized text and the model's
 * identity, the threshold, host callbacks and their failures, batches,
 * foreign and damaged cache values, and the canonical result form.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cache_fixture.h"
#include "classify/result.h"
#include "suites.h"
#include "tutorcache.h"

static char *dir;
static const char *cluster_url; /* the case on the cluster: its URL */

static void setup(void)
{
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
}

static void setup_cluster(void)
{
    setup();
    cluster_url = bk_cluster_fresh();
}

static void teardown(void)
{
    tt_rmtree(dir);
    free(dir);
    cluster_url = NULL;
}

static tc_cache *open_cache_cfg(int caching, const char *cfg_json);

/* A cache on an LMDB dir in the test's temp dir (shared by handles), or
 * on the cluster in the case "classify_cluster". */
static tc_cache *open_cache(int caching)
{
    return open_cache_cfg(caching, NULL);
}

static tc_cache *open_cache_cfg(int caching, const char *cfg_json)
{
    char cfg[700];
    char url[600];
    tc_options o;
    tc_cache *h = NULL;
    int rc;

    snprintf(url, sizeof(url), "lmdb://%s/env", dir);
    if (cluster_url) {
        snprintf(url, sizeof(url), "%s", cluster_url);
    }
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = url;
    o.lmdb_map_bytes = (size_t)16 << 20;
    o.enable_caching = caching;
    if (cfg_json) {
        FILE *f;

        snprintf(cfg, sizeof(cfg), "%s/cfg.json", dir);
        f = fopen(cfg, "w");
        ck_assert_ptr_nonnull(f);
        fputs(cfg_json, f);
        fclose(f);
        o.config_path = cfg;
    }
    rc = tc_cache_open(&h, &o);
    ck_assert_msg(rc == TC_OK, "open: %s", tc_errmsg());
    return h;
}

/* The host model: answers from a fixed table and counts its calls. */
typedef struct host {
    _Atomic int calls;
    const char *answer; /* NULL: a default good answer */
    int fail;
} host;

static int host_fn(char **json, const char *text, size_t len, void *ud)
{
    host *m = ud;
    const char *a = m->answer;
    char buf[512];

    atomic_fetch_add(&m->calls, 1);
    if (m->fail) {
        return TC_EIO;
    }
    if (!a) {
        snprintf(buf, sizeof(buf),
                 "{\"confidence\":0.875,\"intent\":\"code_generation\","
                 "\"top\":[{\"label\":\"code_generation\",\"score\":0.875},"
                 "{\"label\":\"debugging\",\"score\":0.1}],"
                 "\"complexity\":\"beginner\",\"techniques\":[\"python\"],"
                 "\"echo\":\"%.*s\",\"nested\":{\"x\":1}}",
                 (int)len, text);
        a = buf;
    }
    return tt_host_reply(json, a);
}

static tc_classifier *open_host(tc_cache *h, host *m, const char *version,
                                double threshold)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = host_fn;
    co.fn_userdata = m;
    co.fn_version = version;
    co.threshold = threshold;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    return c;
}

tc_result *cl_classify_ok(tc_classifier *c, const char *text, tc_source want)
{
    tc_result *r = NULL;
    int rc = tc_classify(&r, c, text, strlen(text));

    ck_assert_msg(rc == TC_OK, "classify \"%s\": %s", text, tc_error_name(rc));
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->source == want, "\"%s\": source %s, wanted %s", text,
                  tc_source_name(r->source), tc_source_name(want));
    return r;
}

/* The result's JSON parses and agrees with its fields. */
static void check_json(const tc_result *r)
{
    cJSON *j = cJSON_Parse(r->json);

    ck_assert_msg(j != NULL, "result JSON: %s", r->json);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "intent")->valuestring,
                     r->intent);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring,
                     tc_source_name(r->source));
    ck_assert(
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "latency_us")));
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "model")->valuestring,
                     r->model);
    cJSON_Delete(j);
}

START_TEST(test_host_sources)
{
    host m = {0, NULL, 0};
    tc_cache *h = open_cache(-1), *h2;
    tc_classifier *c = open_host(h, &m, "v1", 0), *c2;
    tc_result *r;

    r = cl_classify_ok(c, "How do I reverse a list?", TC_SOURCE_MODEL);
    ck_assert_str_eq(r->intent, "code_generation");
    ck_assert(r->confidence == 0.875);
    ck_assert_uint_eq(r->ntop, 2);
    ck_assert_str_eq(r->top[1].label, "debugging");
    ck_assert_str_eq(r->complexity, "beginner");
    ck_assert_uint_eq(r->ntechniques, 1);
    ck_assert_str_eq(r->techniques[0], "python");
    ck_assert_str_eq(r->model, "fn:v1");
    /* the host saw the normalized text */
    ck_assert_ptr_nonnull(
        strstr(r->json, "\"echo\":\"how do i reverse a list\""));
    ck_assert_ptr_null(strstr(r->json, "nested")); /* dropped, not cached */
    check_json(r);
    tc_result_free(r);
    /* the same text, differently spelled: one entry */
    r = cl_classify_ok(c, "  how do I   REVERSE a list ", TC_SOURCE_L1);
    check_json(r);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 1);
    /* another handle on the same store, as another process */
    h2 = open_cache(-1);
    c2 = open_host(h2, &m, "v1", 0);
    r = cl_classify_ok(c2, "How do I reverse a list?", TC_SOURCE_L2);
    ck_assert_str_eq(r->complexity, "beginner");
    tc_result_free(r);
    r = cl_classify_ok(c2, "How do I reverse a list?", TC_SOURCE_L1);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 1);
    tc_classifier_close(c2);
    tc_cache_close(h2);
    /* a new model version misses the old entries */
    c2 = open_host(h, &m, "v2", 0);
    r = cl_classify_ok(c2, "How do I reverse a list?", TC_SOURCE_MODEL);
    ck_assert_str_eq(r->model, "fn:v2");
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 2);
    tc_classifier_close(c2);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_threshold)
{
    host m = {0,
              "{\"intent\":\"math_help\",\"confidence\":0.4,\"top\":[{"
              "\"label\":\"math_help\",\"score\":0.4}]}",
              0};
    tc_cache *h = open_cache(-1);
    tc_classifier *c = open_host(h, &m, "v1", 0.5), *c0;
    tc_result *r;
    int i;

    for (i = 0; i < 2; i++) {
        r = cl_classify_ok(c, "what is 2+2",
                           i ? TC_SOURCE_L1 : TC_SOURCE_MODEL);
        ck_assert_str_eq(r->intent, "unknown");
        ck_assert(r->confidence == 0.4);
        ck_assert_uint_eq(r->ntop, 1);
        ck_assert_str_eq(r->top[0].label, "math_help");
        check_json(r);
        tc_result_free(r);
    }
    /* the threshold is not cached: another classifier sees the intent */
    c0 = open_host(h, &m, "v1", 0);
    r = cl_classify_ok(c0, "what is 2+2", TC_SOURCE_L1);
    ck_assert_str_eq(r->intent, "math_help");
    tc_result_free(r);
    tc_classifier_close(c0);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_bad_input_and_failures)
{
    host m = {0, NULL, 0};
    tc_cache *h = open_cache(-1);
    tc_classifier *c = open_host(h, &m, "v1", 0);
    tc_classifier_options co;
    tc_classifier *bad;
    tc_result *r = (tc_result *)&m;

    ck_assert_int_eq(tc_classify(&r, c, "\xff\xfe", 2), TC_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(tc_classify(&r, c, "", 0), TC_EINVAL);
    ck_assert_int_eq(tc_classify(&r, c, " \t\n ", 4), TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "empty"));
    ck_assert_int_eq(atomic_load(&m.calls), 0);
    /* a failing host: an error, nothing cached */
    m.fail = 1;
    ck_assert_int_eq(tc_classify(&r, c, "fix my code", 11), TC_ELOADER);
    ck_assert_ptr_null(r);
    m.fail = 0;
    /* an answer that is not a classification: an error, nothing cached */
    m.answer = "{\"intent\": 3}";
    ck_assert_int_eq(tc_classify(&r, c, "fix my code", 11), TC_ELOADER);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "intent"));
    m.answer = "not json";
    ck_assert_int_eq(tc_classify(&r, c, "fix my code", 11), TC_ELOADER);
    m.answer = "{\"intent\":\"debugging\",\"confidence\":1.5}";
    ck_assert_int_eq(tc_classify(&r, c, "fix my code", 11), TC_ELOADER);
    m.answer = NULL;
    r = cl_classify_ok(c, "fix my code", TC_SOURCE_MODEL);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 5);
    /* options */
    tc_classifier_options_init(&co);
    ck_assert_int_eq(tc_classifier_open(&bad, h, &co), TC_EINVAL);
    co.fn = host_fn;
    ck_assert_int_eq(tc_classifier_open(&bad, h, &co),
                     TC_EINVAL); /* no version */
    co.fn_version = "v";
    co.ns = "no_such_ns";
    ck_assert_int_eq(tc_classifier_open(&bad, h, &co), TC_ENONS);
    co.ns = NULL;
    co.threshold = 1.5;
    ck_assert_int_eq(tc_classifier_open(&bad, h, &co), TC_EINVAL);
    ck_assert_ptr_null(bad);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_caching_off)
{
    host m = {0, NULL, 0};
    tc_cache *h = open_cache(0);
    tc_classifier *c = open_host(h, &m, "v1", 0);
    tc_result *r;
    int i;

    for (i = 0; i < 3; i++) {
        r = cl_classify_ok(c, "explain recursion", TC_SOURCE_MODEL);
        tc_result_free(r);
    }
    ck_assert_int_eq(atomic_load(&m.calls), 3);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_batch)
{
    host m = {0, NULL, 0};
    tc_cache *h = open_cache(-1);
    tc_classifier *c = open_host(h, &m, "v1", 0);
    const char *texts[] = {"one question", "two questions", "\xc3", "",
                           "One question!"};
    size_t lens[5];
    tc_result *out[5];
    int st[5], i;

    for (i = 0; i < 5; i++) {
        lens[i] = strlen(texts[i]);
    }
    ck_assert_int_eq(tc_classify_batch(out, st, c, texts, lens, 5), TC_OK);
    ck_assert_int_eq(st[0], TC_OK);
    ck_assert_int_eq(st[1], TC_OK);
    ck_assert_int_eq(st[2], TC_EINVAL);
    ck_assert_ptr_null(out[2]);
    ck_assert_int_eq(st[3], TC_EINVAL);
    ck_assert_int_eq(st[4], TC_OK);
    ck_assert_int_eq(out[0]->source, TC_SOURCE_MODEL);
    /* "One question!" normalizes to "one question": the first's entry,
     * written by the time the batch reached it, or computed again */
    for (i = 0; i < 5; i++) {
        tc_result_free(out[i]);
    }
    ck_assert_int_eq(tc_classify_batch(out, st, c, texts, lens, 5), TC_OK);
    ck_assert_int_eq(out[0]->source, TC_SOURCE_L1);
    ck_assert_int_eq(out[1]->source, TC_SOURCE_L1);
    ck_assert_int_eq(out[4]->source, TC_SOURCE_L1);
    ck_assert_str_eq(out[4]->intent, "code_generation");
    for (i = 0; i < 5; i++) {
        tc_result_free(out[i]);
    }
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* Values other writers left under a classification's key. */
START_TEST(test_foreign_values)
{
    static const char key[] = "hello world\0fn:v1\0"
                              "3";
    host m = {0, NULL, 0};
    tc_cache *h = open_cache(-1);
    tc_classifier *c = open_host(h, &m, "v1", 0);
    const char *foreign = "{\"confidence\":0.5,\"intent\":\"explanation\","
                          "\"extra\":{\"a\":[1,2]}}";
    tc_result *r;

    /* the same key material classify uses (normalized text, id, top_k) */
    ck_assert_int_eq(tc_cache_set(h, "intents", key, sizeof(key) - 1, foreign,
                                  strlen(foreign), 0),
                     TC_OK);
    r = cl_classify_ok(c, "Hello   world.", TC_SOURCE_L1);
    ck_assert_str_eq(r->intent, "explanation");
    ck_assert_str_eq(r->model, "fn:v1");
    check_json(r);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 0);
    /* garbage: the model answers and replaces it */
    ck_assert_int_eq(
        tc_cache_set(h, "intents", key, sizeof(key) - 1, "\x01garbage", 8, 0),
        TC_OK);
    r = cl_classify_ok(c, "hello world", TC_SOURCE_MODEL);
    tc_result_free(r);
    r = cl_classify_ok(c, "hello world", TC_SOURCE_L1);
    ck_assert_str_eq(r->intent, "code_generation");
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 1);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* The canonical form: escapes and Unicode survive encode -> decode. */
START_TEST(test_result_codec)
{
    static const tc_label_score top[] = {
        {"a\"b\\c", 0.5}, {"caf\xc3\xa9 \xf0\x9f\x98\x80", 0.25}};
    const char *tl[] = {"x", "y\nz"};
    const char *cl[] = {"hard"};
    tc__head_out heads[] = {{"complexity", 0, 1, cl}, {"techniques", 1, 2, tl}};
    char *json;
    size_t len;
    tc_result *r;
    const char *escaped = "{\"intent\":\"\\u00e9\\ud83d\\ude00\","
                          "\"confidence\":1e-1}";

    ck_assert_int_eq(
        tc__result_encode(&json, &len, "q\"a", 0.5, top, 2, heads, 2, "m1"),
        TC_OK);
    ck_assert_int_eq(tc__result_decode(&r, json, len, TC_SOURCE_L2, 0, 0),
                     TC_OK);
    ck_assert_str_eq(r->intent, "q\"a");
    ck_assert_str_eq(r->top[0].label, "a\"b\\c");
    ck_assert_str_eq(r->top[1].label, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    ck_assert_str_eq(r->complexity, "hard");
    ck_assert_str_eq(r->techniques[1], "y\nz");
    ck_assert_str_eq(r->model, "m1");
    check_json(r);
    tc_result_free(r);
    /* below the threshold the JSON says unknown, and still parses */
    ck_assert_int_eq(tc__result_decode(&r, json, len, TC_SOURCE_L1, 0.9, 0),
                     TC_OK);
    ck_assert_str_eq(r->intent, "unknown");
    check_json(r);
    tc_result_free(r);
    tc_free(json);
    ck_assert_int_eq(
        tc__result_decode(&r, escaped, strlen(escaped), TC_SOURCE_L1, 0, 0),
        TC_OK);
    ck_assert_str_eq(r->intent, "\xc3\xa9\xf0\x9f\x98\x80");
    tc_result_free(r);
    /* keys escaped or spaced (not the canonical form) read the same */
    {
        const char *spaced =
            " { \"intent\" : \"a\" , \"\\u0063onfidence\":0.5 ,\n"
            "\"top\" : [ { \"lab\\u0065l\" : \"x\" , \"score\" : 0.5 } ] } ";

        ck_assert_int_eq(
            tc__result_decode(&r, spaced, strlen(spaced), TC_SOURCE_L1, 0, 0),
            TC_OK);
        ck_assert_str_eq(r->intent, "a");
        ck_assert(r->confidence == 0.5);
        ck_assert_uint_eq(r->ntop, 1);
        ck_assert_str_eq(r->top[0].label, "x");
        tc_result_free(r);
    }
    /* numbers read back exactly as strtod reads them, exponents too */
    {
        static const double v[] = {0.1, 1.23457e-05, 0.999999, 3e-12,
                                   0.5, 1,           0,        7.5e-07};
        char txt[128];
        size_t i;

        for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            snprintf(txt, sizeof(txt), "{\"intent\":\"a\",\"confidence\":%.6g}",
                     v[i]);
            ck_assert_int_eq(
                tc__result_decode(&r, txt, strlen(txt), TC_SOURCE_L1, 0, 0),
                TC_OK);
            ck_assert_msg(r->confidence ==
                              strtod(strstr(txt, "ce\":") + 4, NULL),
                          "%s read as %.17g", txt, r->confidence);
            tc_result_free(r);
        }
    }
    /* not canonical or not a classification: refused, never a crash */
    {
        static const char *bad[] = {
            "",
            "{}",
            "{\"intent\":\"a\"}",
            "{\"confidence\":0.5}",
            "{\"confidence\":0.5,\"intent\":\"a\"}",
            "{\"intent\":\"a\",\"confidence\":2}",
            "{\"intent\":\"a\",\"confidence\":0.5,\"top\":[1]}",
            "{\"intent\":\"a\",\"confidence\":0.5,\"top\":[],\"top\":[]}",
            "{\"intent\":\"a\\u0000\",\"confidence\":0.5}",
            "{\"intent\":\"a\",\"confidence\":0.5,\"source\":\"l1\"}",
            "{\"intent\":\"a\",\"confidence\":0.5} x",
            "{\"intent\":\"a\",\"confidence\":0.5",
            "{\"intent\":\"\\ud800\",\"confidence\":0.5}",
            "{\"intent",
            "{\"intent\"",
            "{\"intent\":",
            "{\"intent\":\"a\",\"confidence\"",
            "{\"intent\":\"a\",\"confidence\":0.5,\"top\":[{\"label\"",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            r = (tc_result *)&len;
            ck_assert_msg(tc__result_decode(&r, bad[i], strlen(bad[i]),
                                            TC_SOURCE_L1, 0, 0) == TC_EPROTO,
                          "accepted %s", bad[i]);
            ck_assert_ptr_null(r);
        }
    }
}
END_TEST

/* The built-in model behind the classifier. */
START_TEST(test_model_backend)
{
    tc_train_options to;
    tc_classifier_options co;
    tc_classifier *c;
    tc_model *m;
    tc_cache *h = open_cache(-1);
    tc_result *r;
    char fp1[TC_FINGERPRINT_LEN + 1];
    const char *q = "Write a Python function that reverses a linked list";
    int rc;

    tc_train_options_init(&to);
    to.threads = 1;
    to.seed = 7;
    rc = tc_model_train_file(&m, "examples/intents.jsonl", &to);
    ck_assert_msg(rc == TC_OK, "train: %s", tc_errmsg());
    tc_classifier_options_init(&co);
    co.model = m;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    r = cl_classify_ok(c, q, TC_SOURCE_MODEL);
    ck_assert_str_eq(r->intent, "code_generation");
    ck_assert_uint_eq(r->ntop, 3);
    ck_assert_ptr_nonnull(r->complexity);
    tc_model_fingerprint(fp1, m);
    ck_assert_str_eq(r->model, fp1);
    /* the key takes the fingerprint as TC_FINGERPRINT_LEN bytes */
    ck_assert_uint_eq(strlen(fp1), TC_FINGERPRINT_LEN);
    check_json(r);
    tc_result_free(r);
    r = cl_classify_ok(c, q, TC_SOURCE_L1);
    tc_result_free(r);
    /* a correction changes the weights, hence the key */
    ck_assert_int_eq(
        tc_model_update(m,
                        "{\"text\":\"Write a Python function that reverses a "
                        "linked list\",\"intent\":\"debugging\"}"),
        TC_OK);
    r = cl_classify_ok(c, q, TC_SOURCE_MODEL);
    ck_assert_str_ne(r->model, fp1);
    ck_assert_uint_eq(strlen(r->model), TC_FINGERPRINT_LEN);
    tc_result_free(r);
    /* and the new key is found again */
    r = cl_classify_ok(c, q, TC_SOURCE_L1);
    tc_result_free(r);
    tc_classifier_close(c);
    tc_model_free(m);
    tc_cache_close(h);
}
END_TEST

/* What a correction writes: the canonical form, under the normalized text
 * in intent_feedback (feedback.c does this through the same calls). */
static void correct(tc_cache *h, const char *norm, const char *intent)
{
    char json[256];

    snprintf(json, sizeof(json),
             "{\"intent\":\"%s\",\"confidence\":1,\"top\":[{\"label\":"
             "\"%s\",\"score\":1}],\"model\":\"feedback\"}",
             intent, intent);
    ck_assert_int_eq(tc_cache_set(h, "intent_feedback", norm, strlen(norm),
                                  json, strlen(json), 0),
                     TC_OK);
}

START_TEST(test_override)
{
    host m = {0, NULL, 0};
    tc_cache *h = open_cache_cfg(
        -1, "{\"namespaces\":{\"intent_feedback\":{\"l1_ttl\":0.3}}}");
    tc_cache *h2 = open_cache_cfg(
        -1, "{\"namespaces\":{\"intent_feedback\":{\"l1_ttl\":0.3}}}");
    tc_classifier *c = open_host(h, &m, "v1", 0);
    tc_result *r;
    const char *texts[] = {"Fix my loop!", "another one"};
    size_t lens[] = {12, 11};
    tc_result *out[2];
    int st[2];

    r = cl_classify_ok(c, "Fix my loop!", TC_SOURCE_MODEL);
    tc_result_free(r);
    r = cl_classify_ok(c, "Fix my loop!", TC_SOURCE_L1);
    tc_result_free(r);
    /* another process corrects it: seen here within the L1 TTL (0.3 s);
     * on a cluster within milliseconds, as its writes are heard
     * (check_coherence.c measures that) */
    correct(h2, "fix my loop", "debugging");
    if (!cluster_url) {
        r = cl_classify_ok(c, "fix my loop", TC_SOURCE_L1); /* not yet */
        tc_result_free(r);
    }
    usleep(400 * 1000);
    r = cl_classify_ok(c, "FIX my loop", TC_SOURCE_FEEDBACK);
    ck_assert_str_eq(r->intent, "debugging");
    ck_assert(r->confidence == 1);
    ck_assert_str_eq(r->model, "feedback");
    check_json(r);
    tc_result_free(r);
    /* batches see it too, next to an ordinary text */
    ck_assert_int_eq(tc_classify_batch(out, st, c, texts, lens, 2), TC_OK);
    ck_assert_int_eq(out[0]->source, TC_SOURCE_FEEDBACK);
    ck_assert_int_eq(out[1]->source, TC_SOURCE_MODEL);
    tc_result_free(out[0]);
    tc_result_free(out[1]);
    /* in the correcting process it is immediate */
    r = cl_classify_ok(c, "another one", TC_SOURCE_L1);
    tc_result_free(r);
    correct(h, "another one", "explanation");
    r = cl_classify_ok(c, "another one", TC_SOURCE_FEEDBACK);
    ck_assert_str_eq(r->intent, "explanation");
    tc_result_free(r);
    tc_classifier_close(c);
    tc_cache_close(h2);
    tc_cache_close(h);
}
END_TEST

/* A classification racing a correction never hides it once it is made. */
typedef struct racer {
    tc_classifier *c;
    const char *text;
    _Atomic int stop;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    tc_result *r;

    while (!atomic_load(&x->stop)) {
        if (tc_classify(&r, x->c, x->text, strlen(x->text)) == TC_OK) {
            tc_result_free(r);
        }
    }
    return NULL;
}

START_TEST(test_override_race)
{
    host m = {0, NULL, 0};
    tc_cache *h = open_cache(-1);
    tc_classifier *c = open_host(h, &m, "v1", 0);
    char text[64];
    int i, k;

    for (i = 0; i < 20; i++) {
        racer x;
        pthread_t th[2];
        tc_result *r;

        snprintf(text, sizeof(text), "race text %d", i);
        x.c = c;
        x.text = text;
        atomic_store(&x.stop, 0);
        for (k = 0; k < 2; k++) {
            ck_assert_int_eq(pthread_create(&th[k], NULL, race, &x), 0);
        }
        usleep(1000 * (i % 3));
        correct(h, text, "debugging");
        for (k = 0; k < 5; k++) {
            r = cl_classify_ok(c, text, TC_SOURCE_FEEDBACK);
            tc_result_free(r);
        }
        atomic_store(&x.stop, 1);
        for (k = 0; k < 2; k++) {
            pthread_join(th[k], NULL);
        }
        r = cl_classify_ok(c, text, TC_SOURCE_FEEDBACK);
        tc_result_free(r);
    }
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/*
 * Spellings that normalization folds together (a leading inverted
 * question mark, the typographic apostrophe, fullwidth letters) share one
 * cache entry; so do two spellings of a text whose normal form outgrows
 * tc_classify's stack buffer (300 U+FDFA: 900 bytes, 10199 normalized).
 */
START_TEST(test_normalized_spellings)
{
    host m = {0, NULL, 0};
    host fixed = {0,
                  "{\"intent\":\"other\",\"confidence\":0.5,\"top\":[{"
                  "\"label\":\"other\",\"score\":0.5}]}",
                  0};
    tc_cache *h = open_cache(-1);
    tc_classifier *c = open_host(h, &m, "v1", 0), *c2;
    tc_result *r;
    char big[2 + 300 * 3 + 1];
    size_t i;

    r = cl_classify_ok(c, "\xc2\xbfHow do I reverse a list?", TC_SOURCE_MODEL);
    ck_assert_ptr_nonnull(
        strstr(r->json, "\"echo\":\"how do i reverse a list\""));
    tc_result_free(r);
    r = cl_classify_ok(c, "how do I reverse a list", TC_SOURCE_L1);
    tc_result_free(r);
    r = cl_classify_ok(c, "How do I reverse a list?", TC_SOURCE_L1);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 1);
    r = cl_classify_ok(c, "How do I reverse a list\xe2\x80\x99s order",
                       TC_SOURCE_MODEL);
    ck_assert_ptr_nonnull(
        strstr(r->json, "\"echo\":\"how do i reverse a list's order\""));
    tc_result_free(r);
    r = cl_classify_ok(c, "how do I reverse a list's order?", TC_SOURCE_L1);
    tc_result_free(r);
    r = cl_classify_ok(c,
                       "\xc2\xa1\xef\xbc\xa8\xef\xbc\xaf\xef\xbc\xb7 do I "
                       "reverse a list\xe2\x80\x98s order!",
                       TC_SOURCE_L1);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&m.calls), 2);
    /* the long way: the normal form does not fit the stack buffer */
    c2 = open_host(h, &fixed, "v1", 0);
    memcpy(big, "  ", 2);
    for (i = 0; i < 300; i++) {
        memcpy(big + 2 + 3 * i, "\xef\xb7\xba", 3);
    }
    big[2 + 900] = '\0';
    r = cl_classify_ok(c2, big + 2, TC_SOURCE_MODEL);
    tc_result_free(r);
    r = cl_classify_ok(c2, big, TC_SOURCE_L1);
    tc_result_free(r);
    ck_assert_int_eq(atomic_load(&fixed.calls), 1);
    tc_classifier_close(c2);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* Every test, on LMDB and on the cluster (issue 14). */
static TCase *classify_case(const char *name, void (*fix)(void))
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, fix, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_host_sources);
    tcase_add_test(tc, test_threshold);
    tcase_add_test(tc, test_bad_input_and_failures);
    tcase_add_test(tc, test_caching_off);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_foreign_values);
    tcase_add_test(tc, test_result_codec);
    tcase_add_test(tc, test_model_backend);
    tcase_add_test(tc, test_override);
    tcase_add_test(tc, test_override_race);
    tcase_add_test(tc, test_normalized_spellings);
    return tc;
}

Suite *suite_classify(void)
{
    Suite *s = suite_create("classify");
    TCase *cl = classify_case("classify_cluster", setup_cluster);

    suite_add_tcase(s, classify_case("classify", setup));
    tcase_add_unchecked_fixture(cl, bk_cluster_setup, bk_cluster_teardown);
    suite_add_tcase(s, cl);
    return s;
}
