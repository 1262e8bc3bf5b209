/*
 * check_classify_hit.c - the packed form L1 keeps of a classification:
 * every way to the same answer (the model, an L1 hit, an L2 hit in
 * another process, the JSON decoded as before) gives the same result;
 * the L2 still gets the JSON alone; damaged packed values are refused,
 * never read out of bounds; corrections still win, also on memory:,
 * where new answers leave the hit path's notes of no correction
 * standing and a correction voids them in every thread; threads agree.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handle.h"
#include "cache/tiers.h"
#include "classify/packed.h"
#include "classify/result.h"
#include "suites.h"
#include "tutorcache.h"

#define NTEXTS 24
#define TOP_K 3

static char *dir;
static tc_model *model;
static char texts[NTEXTS][256];

/* The first NTEXTS texts of examples/intents_test.jsonl. */
static void load_texts(void)
{
    FILE *f = fopen("examples/intents_test.jsonl", "r");
    char line[1024];
    int i = 0;

    ck_assert_ptr_nonnull(f);
    while (i < NTEXTS && fgets(line, sizeof(line), f)) {
        char *p = strstr(line, "\"text\": \""), *e;

        ck_assert_ptr_nonnull(p);
        p += 9;
        e = strstr(p, "\", ");
        ck_assert_ptr_nonnull(e);
        snprintf(texts[i++], sizeof(texts[0]), "%.*s", (int)(e - p), p);
    }
    fclose(f);
    ck_assert_int_eq(i, NTEXTS);
}

static void setup(void)
{
    tc_train_options to;

    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    tc_train_options_init(&to);
    to.threads = 1;
    to.seed = 7;
    ck_assert_int_eq(tc_model_train_file(&model, "examples/intents.jsonl", &to),
                     TC_OK);
    load_texts();
}

static void teardown(void)
{
    tc_model_free(model);
    tt_rmtree(dir);
    free(dir);
}

/* A handle on the LMDB dir every handle of the test shares, as processes
 * share an L2. */
static tc_cache *open_cache(void)
{
    char url[600];
    tc_options o;
    tc_cache *h = NULL;

    snprintf(url, sizeof(url), "lmdb://%s/env", dir);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.lmdb_map_bytes = (size_t)16 << 20;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    return h;
}

static tc_classifier *open_cls(tc_cache *h, double threshold)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.model = model;
    co.top_k = TOP_K;
    co.threshold = threshold;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    return c;
}

/* The key material of text, as classify builds it. */
static size_t key_of(char *k, const char *text)
{
    char *norm;
    size_t n, len;

    ck_assert_int_eq(tc_text_normalize(&norm, &n, text, strlen(text)), TC_OK);
    memcpy(k, norm, n);
    k[n] = '\0';
    len = n + 1;
    tc_model_fingerprint(k + len, model);
    len += strlen(k + len) + 1;
    len += (size_t)sprintf(k + len, "%d", TOP_K);
    tc_free(norm);
    return len;
}

/* The JSON of a result without what each answer appends. */
static size_t body_len(const tc_result *r)
{
    const char *t = strstr(r->json, ",\"source\":\"");

    ck_assert_ptr_nonnull(t);
    return (size_t)(t - r->json);
}

/* a and b are the same answer, field by field; sources may differ. */
static void same(const tc_result *a, const tc_result *b, const char *text)
{
    size_t i;

    ck_assert_msg(strcmp(a->intent, b->intent) == 0, "\"%s\": %s vs %s", text,
                  a->intent, b->intent);
    ck_assert_msg(a->confidence == b->confidence, "\"%s\": %.17g vs %.17g",
                  text, a->confidence, b->confidence);
    ck_assert_uint_eq(a->ntop, b->ntop);
    for (i = 0; i < a->ntop; i++) {
        ck_assert_str_eq(a->top[i].label, b->top[i].label);
        ck_assert(a->top[i].score == b->top[i].score);
    }
    ck_assert_int_eq(!a->complexity, !b->complexity);
    if (a->complexity) {
        ck_assert_str_eq(a->complexity, b->complexity);
    }
    ck_assert_uint_eq(a->ntechniques, b->ntechniques);
    for (i = 0; i < a->ntechniques; i++) {
        ck_assert_str_eq(a->techniques[i], b->techniques[i]);
    }
    ck_assert_str_eq(a->model, b->model);
    ck_assert_uint_eq(body_len(a), body_len(b));
    ck_assert_msg(memcmp(a->json, b->json, body_len(a)) == 0, "%s\nvs\n%s",
                  a->json, b->json);
}

/*
 * The model's answer, the L1 hit, another process's L2 hit and the hit
 * after it, and the L2's JSON decoded the old way: one answer, and again
 * under a threshold that turns some of them "unknown". The L2 holds the JSON
 * alone; this process's L1 the JSON, a NUL and the packed rest.
 */
START_TEST(test_every_path_agrees)
{
    tc_cache *h = open_cache(), *h2 = open_cache();
    double thresholds[] = {0, 0};
    int t, i, below = 0, above = 0;

    for (t = 0; t < 2; t++) {
        tc_classifier *c = open_cls(h, thresholds[t]);
        tc_classifier *c2 = open_cls(h2, thresholds[t]);

        for (i = 0; i < NTEXTS; i++) {
            const char *text = texts[i];
            tc_result *miss, *l1, *l2, *l2l1, *ref;
            char key[1024];
            size_t klen = key_of(key, text), len;
            tc_cache *h3 = open_cache(); /* its L1 is empty */
            void *val, *l1val;
            tc_tier tier;

            /* the second round finds them all in L1: a threshold is no
             * part of the key */
            miss = cl_classify_ok(c, text, t ? TC_SOURCE_L1 : TC_SOURCE_MODEL);
            l1 = cl_classify_ok(c, text, TC_SOURCE_L1);
            l2 = cl_classify_ok(c2, text, t ? TC_SOURCE_L1 : TC_SOURCE_L2);
            l2l1 = cl_classify_ok(c2, text, TC_SOURCE_L1);
            ck_assert_int_eq(
                tc_cache_get(&val, &len, &tier, h3, "intents", key, klen),
                TC_OK);
            tc_cache_close(h3);
            ck_assert_int_eq(tier, TC_TIER_L2);
            ck_assert_uint_eq(strlen(val), len); /* JSON, nothing after */
            ck_assert(!tc__result_is_packed(val, len));
            ck_assert_int_eq(tc__result_decode(&ref, val, len, TC_SOURCE_L2,
                                               thresholds[t], 0),
                             TC_OK);
            /* this process's L1: the same JSON as a C string, packed */
            ck_assert_int_eq(
                tc_cache_get(&l1val, &len, &tier, h, "intents", key, klen),
                TC_OK);
            ck_assert_int_eq(tier, TC_TIER_L1);
            ck_assert_str_eq(l1val, val);
            ck_assert(tc__result_is_packed(l1val, len));
            same(ref, miss, text);
            same(ref, l1, text);
            same(ref, l2, text);
            same(ref, l2l1, text);
            if (t == 0 && miss->confidence > thresholds[1]) {
                thresholds[1] = miss->confidence;
            }
            if (t == 1) {
                below += strcmp(l1->intent, "unknown") == 0;
                above += strcmp(l1->intent, "unknown") != 0;
            }
            tc_free(val);
            tc_free(l1val);
            tc_result_free(ref);
            tc_result_free(miss);
            tc_result_free(l1);
            tc_result_free(l2);
            tc_result_free(l2l1);
        }
        tc_classifier_close(c);
        tc_classifier_close(c2);
    }
    /* the threshold (the best confidence) split the texts */
    ck_assert_int_gt(below, 0);
    ck_assert_int_gt(above, 0);
    tc_cache_close(h);
    tc_cache_close(h2);
}
END_TEST

/* A packed value of text's answer, built from its JSON. */
static void packed_of(char **out, size_t *len)
{
    static const char json[] =
        "{\"intent\":\"code_generation\",\"confidence\":0.875,\"top\":["
        "{\"label\":\"code_generation\",\"score\":0.875},{\"label\":"
        "\"debug\\u00e9\",\"score\":0.1}],\"complexity\":\"beginner\","
        "\"techniques\":[\"python\",\"sql\"],\"model\":\"m1\"}";
    size_t intent_end, close;
    tc_result *r;

    ck_assert_int_eq(tc__result_decode_at(&r, &intent_end, &close, json,
                                          strlen(json), TC_SOURCE_L1, 0, 0),
                     TC_OK);
    {
        tc__result_parts p = {json,           close,         intent_end,
                              r->intent,      r->confidence, r->top,
                              r->ntop,        r->complexity, r->techniques,
                              r->ntechniques, r->model,      NULL};

        ck_assert_int_eq(tc__result_pack(out, len, &p), TC_OK);
    }
    tc_result_free(r);
}

/*
 * Unpacked, a packed value is its JSON decoded; cut short anywhere, or
 * with any byte of its binary part changed, it is refused or at worst
 * answers within its own bytes (AddressSanitizer watches), never more.
 */
START_TEST(test_packed_damage)
{
    char *p, *copy;
    size_t len, n, jlen;
    tc_result *r, *ref;

    packed_of(&p, &len);
    jlen = strlen(p);
    ck_assert(tc__result_is_packed(p, len));
    /* the JSON's length from the foot; JSON with no foot is measured */
    ck_assert_uint_eq(tc__packed_json_len(p, len), jlen);
    ck_assert_uint_eq(tc__packed_json_len(p, jlen + 1), jlen);
    ck_assert_uint_eq(tc__packed_json_len("{\"intent\":\"a\"}", 14), 14);
    ck_assert_uint_eq(tc__packed_json_len("{}", 2), 2);
    ck_assert_int_eq(tc__result_unpack(&r, p, len, TC_SOURCE_L1, 0.9, 0, NULL),
                     TC_OK);
    ck_assert_int_eq(tc__result_decode(&ref, p, jlen, TC_SOURCE_L1, 0.9, 0),
                     TC_OK);
    ck_assert_str_eq(r->intent, "unknown");
    ck_assert_str_eq(r->top[1].label, "debug\xc3\xa9");
    ck_assert_uint_eq(r->ntechniques, 2);
    ck_assert_str_eq(r->techniques[1], "sql");
    ck_assert_uint_eq(body_len(r), body_len(ref));
    ck_assert(memcmp(r->json, ref->json, body_len(r)) == 0);
    tc_result_free(r);
    tc_result_free(ref);
    for (n = 0; n < len; n++) {
        copy = malloc(n ? n : 1);
        memcpy(copy, p, n);
        ck_assert_msg(tc__result_unpack(&r, copy, n, TC_SOURCE_L1, 0, 0,
                                        NULL) == TC_EPROTO,
                      "%zu of %zu bytes", n, len);
        ck_assert_ptr_null(r);
        free(copy);
    }
    for (n = jlen; n < len - 4; n++) {
        int b;

        for (b = 0; b < 8; b++) {
            copy = malloc(len);
            memcpy(copy, p, len);
            copy[n] ^= (char)(1 << b);
            if (tc__result_unpack(&r, copy, len, TC_SOURCE_L1, 0.9, 0, NULL) ==
                TC_OK) {
                /* a score or an offset still in range: strings stay C
                 * strings inside the block */
                ck_assert_uint_lt(strlen(r->intent), len);
                ck_assert_uint_lt(strlen(r->model), len);
                tc_result_free(r);
            }
            free(copy);
        }
    }
    tc_free(p);
}
END_TEST

/*
 * A damaged packed value in L1 (another writer's bytes under the key) is
 * not an answer: the model answers and its answer replaces it.
 */
START_TEST(test_damaged_value_asks_the_model)
{
    tc_cache *h = open_cache();
    tc_classifier *c = open_cls(h, 0);
    const char *text = texts[0];
    char key[1024], *p;
    size_t klen = key_of(key, text), len;
    tc_result *r;

    packed_of(&p, &len);
    p[len - 9] ^= 0x40; /* the strings' last NUL */
    ck_assert_int_eq(tc_cache_set(h, "intents", key, klen, p, len, 0), TC_OK);
    r = cl_classify_ok(c, text, TC_SOURCE_MODEL);
    tc_result_free(r);
    r = cl_classify_ok(c, text, TC_SOURCE_L1);
    ck_assert_str_ne(r->model, "m1");
    tc_result_free(r);
    tc_free(p);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* A correction's override, as feedback writes it. */
static const char json[] =
    "{\"intent\":\"debugging\",\"confidence\":1,\"top\":[{\"label\":"
    "\"debugging\",\"score\":1}],\"model\":\"feedback\"}";

/* Stores the correction (json) of text, as feedback would; key: room for
 * its key material (the normalized text), left in it. */
static void set_fix(tc_cache *h, char *key, const char *text)
{
    key_of(key, text);
    ck_assert_int_eq(tc_cache_set(h, "intent_feedback", key, strlen(key), json,
                                  strlen(json), 0),
                     TC_OK);
}

/* c answers text with its correction. */
static void expect_fix(tc_classifier *c, const char *text)
{
    tc_result *r = cl_classify_ok(c, text, TC_SOURCE_FEEDBACK);

    ck_assert_str_eq(r->intent, "debugging");
    ck_assert(r->confidence == 1);
    tc_result_free(r);
}

/* A correction wins over a packed L1 hit, at once in this process. */
START_TEST(test_correction_beats_packed)
{
    tc_cache *h = open_cache();
    tc_classifier *c = open_cls(h, 0);
    char key[1024];
    tc_result *r;

    r = cl_classify_ok(c, texts[1], TC_SOURCE_MODEL);
    tc_result_free(r);
    /* the second hit and after: the correction's lookup skipped, its
     * absence noted on the classification's entry (cache/ns.c) */
    for (int i = 0; i < 3; i++) {
        r = cl_classify_ok(c, texts[1], TC_SOURCE_L1);
        ck_assert_str_ne(r->intent, "debugging");
        tc_result_free(r);
    }
    set_fix(h, key, texts[1]);
    expect_fix(c, texts[1]);
    /* and keeps winning: the override is never packed over */
    expect_fix(c, texts[1]);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* A handle on memory:, L1 alone, where a key without an entry is absent. */
static tc_cache *open_memory(void)
{
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = "memory:";
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    return h;
}

/* The absence epoch of the L1 that holds h's overrides: each move voids
 * every note of the hit path that a text had no correction (ns.c). */
static uint64_t fix_epoch(tc_cache *h)
{
    return tc__l1_absence_epoch(tc__fb_core(h)->l1);
}

/*
 * On memory:, new answers (misses stored in L1) leave a hit's note that
 * its text has no correction standing, so the hit keeps skipping the
 * correction's lookup; a correction stored, singly or in a batch, voids
 * it at once and is served; deleted, the packed answer is back.
 */
START_TEST(test_memory_notes_outlive_answers)
{
    tc_cache *h = open_memory();
    tc_classifier *c = open_cls(h, 0);
    char key[1024];
    tc_item it;
    uint64_t e;
    tc_result *r;

    tc_result_free(cl_classify_ok(c, texts[1], TC_SOURCE_MODEL));
    /* the first hit looks the correction up and notes its absence */
    tc_result_free(cl_classify_ok(c, texts[1], TC_SOURCE_L1));
    e = fix_epoch(h);
    for (int i = 2; i < NTEXTS; i++) {
        tc_result_free(cl_classify_ok(c, texts[i], TC_SOURCE_MODEL));
        r = cl_classify_ok(c, texts[1], TC_SOURCE_L1);
        ck_assert_str_ne(r->intent, "debugging");
        tc_result_free(r);
    }
    ck_assert_uint_eq(fix_epoch(h), e); /* every note still stands */

    set_fix(h, key, texts[1]);
    ck_assert_uint_gt(fix_epoch(h), e);
    expect_fix(c, texts[1]);
    ck_assert_int_eq(tc_cache_del(h, "intent_feedback", key, strlen(key)),
                     TC_OK);
    r = cl_classify_ok(c, texts[1], TC_SOURCE_L1);
    ck_assert_str_ne(r->intent, "debugging");
    tc_result_free(r);
    tc_result_free(cl_classify_ok(c, texts[1], TC_SOURCE_L1)); /* noted */

    memset(&it, 0, sizeof(it));
    it.key = key;
    it.keylen = strlen(key);
    it.val = (char *)json;
    it.len = strlen(json);
    ck_assert_int_eq(tc_cache_mset(h, "intent_feedback", &it, 1), TC_OK);
    expect_fix(c, texts[1]);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* A thread holding a hit's note, and another that stores a correction:
 * the first one's next classification, once the store returned, serves
 * the correction. */
typedef struct holder {
    tc_classifier *c;
    const char *text;
    _Atomic int go;   /* the round asked of the thread */
    _Atomic int done; /* the last round done */
    tc_source source[3];
} holder;

static void *hold(void *arg)
{
    holder *w = arg;

    for (int round = 1; round < 3; round++) {
        tc_result *r = NULL;

        while (atomic_load(&w->go) < round) {
            sched_yield();
        }
        w->source[round] =
            tc_classify(&r, w->c, w->text, strlen(w->text)) == TC_OK
                ? r->source
                : (tc_source)-1;
        tc_result_free(r);
        atomic_store(&w->done, round);
    }
    return NULL;
}

START_TEST(test_memory_correction_every_thread)
{
    tc_cache *h = open_memory();
    holder w = {open_cls(h, 0), texts[3], 0, 0, {0}};
    char key[1024];
    pthread_t th;

    tc_result_free(cl_classify_ok(w.c, texts[3], TC_SOURCE_MODEL));
    tc_result_free(cl_classify_ok(w.c, texts[3], TC_SOURCE_L1));
    ck_assert_int_eq(pthread_create(&th, NULL, hold, &w), 0);
    atomic_store(&w.go, 1);
    while (atomic_load(&w.done) < 1) {
        sched_yield();
    }
    set_fix(h, key, texts[3]);
    atomic_store(&w.go, 2);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.source[1], TC_SOURCE_L1);
    ck_assert_int_eq(w.source[2], TC_SOURCE_FEEDBACK);
    tc_classifier_close(w.c);
    tc_cache_close(h);
}
END_TEST

/* Threads classifying the same texts, hits and first hits after another
 * handle's misses (the L1 re-formed under readers), agree with the
 * answers of one thread. */
typedef struct worker {
    tc_classifier *c;
    tc_result **want;
    int seed;
    _Atomic int bad;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    int i;

    for (i = 0; i < 400; i++) {
        int k = (i * 7 + w->seed) % NTEXTS;
        tc_result *r;

        if (tc_classify(&r, w->c, texts[k], strlen(texts[k])) != TC_OK) {
            atomic_fetch_add(&w->bad, 1);
            continue;
        }
        if (strcmp(r->intent, w->want[k]->intent) != 0 ||
            r->confidence != w->want[k]->confidence ||
            strcmp(r->model, w->want[k]->model) != 0) {
            atomic_fetch_add(&w->bad, 1);
        }
        tc_result_free(r);
    }
    return NULL;
}

START_TEST(test_threads_agree)
{
    tc_cache *h = open_cache(), *h2 = open_cache();
    tc_classifier *c = open_cls(h, 0), *c2 = open_cls(h2, 0);
    tc_result *want[NTEXTS];
    worker w[3];
    pthread_t th[3];
    int i;

    for (i = 0; i < NTEXTS; i++) {
        want[i] = cl_classify_ok(c2, texts[i], TC_SOURCE_MODEL);
    }
    for (i = 0; i < 3; i++) {
        w[i].c = c;
        w[i].want = want;
        w[i].seed = i * 5;
        atomic_store(&w[i].bad, 0);
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(atomic_load(&w[i].bad), 0);
    }
    for (i = 0; i < NTEXTS; i++) {
        tc_result_free(want[i]);
    }
    tc_classifier_close(c);
    tc_classifier_close(c2);
    tc_cache_close(h);
    tc_cache_close(h2);
}
END_TEST

Suite *suite_classify_hit(void)
{
    Suite *s = suite_create("classify_hit");
    TCase *tc = tcase_create("packed");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_path_agrees);
    tcase_add_test(tc, test_packed_damage);
    tcase_add_test(tc, test_damaged_value_asks_the_model);
    tcase_add_test(tc, test_correction_beats_packed);
    tcase_add_test(tc, test_memory_notes_outlive_answers);
    tcase_add_test(tc, test_memory_correction_every_thread);
    tcase_add_test(tc, test_threads_agree);
    suite_add_tcase(s, tc);
    return s;
}
