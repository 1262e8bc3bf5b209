/*
 * check_model.c - the built-in classifier. A data set generated here from
 * templates (fixed seed) trains a model that must reach an accuracy floor
 * on its held-out part; training is reproducible with one thread; save and
 * load keep predictions and fingerprint; every truncation and thousands of
 * bit flips of a small model file are refused; online updates flip a
 * prediction while other threads predict; allocation failures return
 * TC_ENOMEM without leaks; and, when the shared data is present, SNIPS.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "internal.h"
#include "model.h"
#include "suites.h"

/* ---- a generated data set ---------------------------------------------- */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static const char *pick(uint64_t *s, const char *const *v, size_t n)
{
    return v[lcg(s) % n];
}

#define PICK(s, v) pick(s, v, sizeof(v) / sizeof(v[0]))

static const char *const cities[] = {"paris",  "london", "tokyo", "berlin",
                                     "madrid", "boston", "cairo", "lima"};
static const char *const whens[] = {"today", "tomorrow", "this weekend",
                                    "tonight", "next week"};
static const char *const genres[] = {"jazz",    "rock",  "classical",
                                     "hip hop", "blues", "folk"};
static const char *const artists[] = {"miles davis", "the beatles",
                                      "nina simone", "daft punk", "adele"};
static const char *const places[] = {"luigi's", "the blue door", "sushi palace",
                                     "le petit bistro"};
static const char *const langs[] = {"french", "german", "spanish", "japanese",
                                    "italian"};
static const char *const words[] = {"hello", "thank you", "good morning",
                                    "cat",   "library",   "bicycle"};
static const char *const progs[] = {"python", "c", "java", "rust", "go"};

/*
 * One example: intent from six, complexity from a marker phrase, and
 * techniques (multi-label) from what the text holds: digits, a city.
 * Writes a JSON line into buf and the plain text into text.
 */
static void example(uint64_t *s, char *buf, size_t n, char *text, size_t tn,
                    const char **intent)
{
    static const char *const intents[] = {
        "weather", "music", "booking", "math", "translation", "debugging"};
    int which = (int)(lcg(s) % 6), form = (int)(lcg(s) % 3);
    int a = (int)(lcg(s) % 900) + 10, b = (int)(lcg(s) % 90) + 2;
    int detailed = (int)(lcg(s) % 2), digits = 0, city = 0;
    const char *c = PICK(s, cities);
    char t[256];

    switch (which) {
    case 0:
        city = 1;
        snprintf(t, sizeof(t),
                 form == 0   ? "What is the weather in %s %s?"
                 : form == 1 ? "Will it rain in %s %s"
                             : "forecast for %s %s please",
                 c, PICK(s, whens));
        break;
    case 1:
        snprintf(t, sizeof(t),
                 form == 0   ? "Play some %s music"
                 : form == 1 ? "put on %s"
                             : "I want to hear %s songs",
                 form == 1 ? PICK(s, artists) : PICK(s, genres));
        break;
    case 2:
        digits = form != 1;
        city = form == 1;
        if (form == 1) {
            snprintf(t, sizeof(t), "reserve a restaurant in %s for tonight", c);
        } else {
            snprintf(t, sizeof(t), "Book a table for %d at %s", b % 9 + 2,
                     PICK(s, places));
        }
        break;
    case 3:
        digits = 1;
        snprintf(t, sizeof(t),
                 form == 0   ? "what is %d plus %d"
                 : form == 1 ? "how much is %d times %d"
                             : "calculate %d divided by %d",
                 a, b);
        break;
    case 4:
        snprintf(t, sizeof(t),
                 form == 0 ? "translate %s into %s" : "how do you say %s in %s",
                 PICK(s, words), PICK(s, langs));
        break;
    default:
        snprintf(t, sizeof(t),
                 form == 0   ? "my %s program crashes with a segfault"
                 : form == 1 ? "why does my %s code throw an exception"
                             : "fix the bug in my %s function",
                 PICK(s, progs));
        break;
    }
    snprintf(text, tn, "%s%s", t, detailed ? ", explain in detail" : "");
    snprintf(buf, n,
             "{\"text\": \"%s\", \"intent\": \"%s\", \"complexity\": \"%s\", "
             "\"techniques\": [%s%s%s], \"id\": %d}\n",
             text, intents[which], detailed ? "detailed" : "simple",
             digits ? "\"numbers\"" : "", digits && city ? ", " : "",
             city ? "\"location\"" : "", which);
    *intent = intents[which];
}

#define NEX 600
#define HELD 5 /* every 5th example is held out */

typedef struct corpus {
    char *train; /* JSON Lines */
    size_t len;
    char text[NEX / HELD][300];
    const char *intent[NEX / HELD];
    size_t nheld;
} corpus;

static corpus *make_corpus(uint64_t seed, int n)
{
    corpus *c = calloc(1, sizeof(*c));
    size_t cap = (size_t)n * 400, i;
    uint64_t s = seed;

    ck_assert_ptr_nonnull(c);
    c->train = malloc(cap);
    ck_assert_ptr_nonnull(c->train);
    for (i = 0; i < (size_t)n; i++) {
        char line[512], text[300];
        const char *intent;

        example(&s, line, sizeof(line), text, sizeof(text), &intent);
        if (i % HELD == HELD - 1) {
            strcpy(c->text[c->nheld], text);
            c->intent[c->nheld++] = intent;
            continue;
        }
        memcpy(c->train + c->len, line, strlen(line));
        c->len += strlen(line);
    }
    return c;
}

static void free_corpus(corpus *c)
{
    free(c->train);
    free(c);
}

static void small_options(tc_train_options *o)
{
    tc_train_options_init(o);
    o->buckets = 20000;
    o->dim = 16;
    o->epochs = 10;
    o->threads = 1;
    o->seed = 7;
}

static tc_model *train_ok(const char *data, size_t len,
                          const tc_train_options *o)
{
    tc_model *m = NULL;
    char err[256];
    int rc = tc_model_train(&m, data, len, o, err, sizeof(err));

    ck_assert_msg(rc == TC_OK, "train: %s: %s", tc_error_name(rc), err);
    ck_assert_ptr_nonnull(m);
    return m;
}

static const char *top_intent(const tc_model *m, const char *text,
                              double *score)
{
    static _Thread_local char label[64];
    tc_prediction *p = NULL;

    ck_assert_int_eq(tc_model_predict(&p, m, text, strlen(text), 1), TC_OK);
    ck_assert_str_eq(p->heads[0].head, "intent");
    ck_assert_uint_eq(p->heads[0].n, 1);
    snprintf(label, sizeof(label), "%s", p->heads[0].labels[0].label);
    if (score) {
        *score = p->heads[0].labels[0].score;
    }
    tc_prediction_free(p);
    return label;
}

/* Accuracy on the held-out examples, leaving those of one intent out
 * when `except` is not NULL. */
static double held_accuracy(const tc_model *m, const corpus *c,
                            const char *except)
{
    size_t i, ok = 0, n = 0;

    for (i = 0; i < c->nheld; i++) {
        if (except && strcmp(c->intent[i], except) == 0) {
            continue;
        }
        ok += strcmp(top_intent(m, c->text[i], NULL), c->intent[i]) == 0;
        n++;
    }
    return (double)ok / (double)n;
}

/* ---- training, prediction ---------------------------------------------- */

START_TEST(test_train_accuracy_floor)
{
    corpus *c = make_corpus(1, NEX);
    tc_train_options o;
    tc_model *m;
    double acc;

    small_options(&o);
    m = train_ok(c->train, c->len, &o);
    acc = held_accuracy(m, c, NULL);
    ck_assert_msg(acc >= 0.95, "held-out accuracy %.3f < 0.95", acc);
    tc_model_free(m);
    free_corpus(c);
}
END_TEST

START_TEST(test_reproducible)
{
    corpus *c = make_corpus(2, 300);
    tc_train_options o;
    tc_model *a, *b, *d;
    char fa[33], fb[33], fd[33];

    small_options(&o);
    a = train_ok(c->train, c->len, &o);
    b = train_ok(c->train, c->len, &o);
    o.seed = 8;
    d = train_ok(c->train, c->len, &o);
    tc_model_fingerprint(fa, a);
    tc_model_fingerprint(fb, b);
    tc_model_fingerprint(fd, d);
    ck_assert_uint_eq(strlen(fa), TC_FINGERPRINT_LEN);
    ck_assert_str_eq(fa, fb);
    ck_assert_str_ne(fa, fd);
    tc_model_free(a);
    tc_model_free(b);
    tc_model_free(d);
    free_corpus(c);
}
END_TEST

START_TEST(test_heads_and_top_k)
{
    corpus *c = make_corpus(3, NEX);
    tc_train_options o;
    tc_prediction *p = NULL;
    tc_model *m;
    const char *t = "calculate 123 divided by 7, explain in detail";
    int multi_ok = 0;
    size_t i;

    small_options(&o);
    m = train_ok(c->train, c->len, &o);
    ck_assert_int_eq(tc_model_predict(&p, m, t, strlen(t), 3), TC_OK);
    ck_assert_uint_eq(p->nheads, 3);
    ck_assert_str_eq(p->heads[0].head, "intent");
    ck_assert_int_eq(p->heads[0].multi_label, 0);
    ck_assert_uint_eq(p->heads[0].n, 3);
    ck_assert_str_eq(p->heads[0].labels[0].label, "math");
    ck_assert(p->heads[0].labels[0].score >= p->heads[0].labels[1].score);
    ck_assert(p->heads[0].labels[1].score >= p->heads[0].labels[2].score);
    ck_assert(p->heads[0].labels[0].score + p->heads[0].labels[1].score +
                  p->heads[0].labels[2].score <=
              1.0 + 1e-6);
    ck_assert_str_eq(p->heads[1].head, "complexity");
    ck_assert_uint_eq(p->heads[1].n, 2); /* only two labels exist */
    ck_assert_str_eq(p->heads[1].labels[0].label, "detailed");
    ck_assert_str_eq(p->heads[2].head, "techniques");
    ck_assert_int_eq(p->heads[2].multi_label, 1);
    ck_assert_str_eq(p->heads[2].labels[0].label, "numbers");
    ck_assert(p->heads[2].labels[0].score >= 0.5);
    for (i = 1; i < p->heads[2].n; i++) {
        ck_assert(p->heads[2].labels[i].score >= 0.5);
    }
    ck_assert_uint_eq(strlen(p->fingerprint), TC_FINGERPRINT_LEN);
    tc_prediction_free(p);

    /* both multi labels for a booking in a city... */
    t = "reserve a restaurant in tokyo for tonight";
    ck_assert_int_eq(tc_model_predict(&p, m, t, strlen(t), 0), TC_OK);
    ck_assert_uint_eq(p->heads[0].n, 1);
    ck_assert_str_eq(p->heads[0].labels[0].label, "booking");
    for (i = 0; i < p->heads[2].n; i++) {
        multi_ok += strcmp(p->heads[2].labels[i].label, "location") == 0;
    }
    ck_assert_int_eq(multi_ok, 1);
    tc_prediction_free(p);
    /* ...and the best label only, however low, when none applies */
    t = "translate cat into german";
    ck_assert_int_eq(tc_model_predict(&p, m, t, strlen(t), 0), TC_OK);
    ck_assert_uint_eq(p->heads[2].n, 1);
    ck_assert(p->heads[2].labels[0].score < 0.5);
    tc_prediction_free(p);

    /* bad input */
    ck_assert_int_eq(tc_model_predict(&p, m, "\xff", 1, 1), TC_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(tc_model_predict(NULL, m, "a", 1, 1), TC_EINVAL);
    ck_assert_int_eq(tc_model_predict(&p, NULL, "a", 1, 1), TC_EINVAL);
    /* an empty text still gets an answer */
    ck_assert_int_eq(tc_model_predict(&p, m, "", 0, 1), TC_OK);
    ck_assert_uint_eq(p->heads[0].n, 1);
    tc_prediction_free(p);
    tc_model_free(m);
    free_corpus(c);
}
END_TEST

START_TEST(test_info_json)
{
    corpus *c = make_corpus(4, 200);
    tc_train_options o;
    tc_model *m;
    char *js = NULL, fp[33];
    cJSON *root, *heads;

    small_options(&o);
    m = train_ok(c->train, c->len, &o);
    ck_assert_int_eq(tc_model_info_json(&js, m), TC_OK);
    root = cJSON_Parse(js);
    ck_assert_ptr_nonnull(root);
    tc_model_fingerprint(fp, m);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "fingerprint")->valuestring, fp);
    ck_assert(cJSON_GetObjectItem(root, "memory_bytes")->valuedouble >
              20000 * 16);
    ck_assert(cJSON_GetObjectItem(root, "file_bytes")->valuedouble >
              20000 * 16);
    ck_assert_int_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "hyperparameters"),
                            "buckets")
            ->valueint,
        20000);
    heads = cJSON_GetObjectItem(root, "heads");
    ck_assert_int_eq(cJSON_GetArraySize(heads), 3);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(heads, 0), "name")->valuestring,
        "intent");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(heads, 0), "labels")),
                     6);
    ck_assert(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(heads, 2), "multi_label")));
    cJSON_Delete(root);
    tc_free(js);
    tc_model_free(m);
    free_corpus(c);
}
END_TEST

/* ---- malformed training data -------------------------------------------- */

static void expect_train_error(const char *data, const char *want)
{
    tc_model *m = (tc_model *)1;
    char err[256];
    tc_train_options o;
    int rc;

    small_options(&o);
    rc = tc_model_train(&m, data, strlen(data), &o, err, sizeof(err));
    ck_assert_msg(rc == TC_EINVAL, "%s: got %s", want, tc_error_name(rc));
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", want \"%s\"", err,
                  want);
}

START_TEST(test_train_errors)
{
    const char *ok = "{\"text\": \"a b\", \"intent\": \"x\"}\n";
    char buf[512];

    expect_train_error("", "no examples");
    expect_train_error("\n  \n", "no examples");
    snprintf(buf, sizeof(buf), "%s%s{not json\n", ok, ok);
    expect_train_error(buf, "line 3: not valid JSON");
    snprintf(buf, sizeof(buf), "%s[1, 2]\n", ok);
    expect_train_error(buf, "line 2: not one JSON object");
    snprintf(buf, sizeof(buf), "%s{\"text\": \"a\", \"intent\": \"x\"} 5\n",
             ok);
    expect_train_error(buf, "line 2: not one JSON object");
    snprintf(buf, sizeof(buf), "%s\n{\"intent\": \"x\"}\n", ok);
    expect_train_error(buf, "line 3: text: missing");
    expect_train_error("{\"text\": 5, \"intent\": \"x\"}", "line 1: text: not");
    expect_train_error("{\"text\": \"a\"}", "line 1: intent: missing");
    expect_train_error("{\"text\": \"a\", \"intent\": 3}",
                       "line 1: intent: not a string");
    expect_train_error("{\"text\": \"a\", \"intent\": [\"x\"]}",
                       "line 1: intent: not a string");
    expect_train_error("{\"text\": \"a\", \"intent\": \"\"}",
                       "line 1: intent: empty label");
    expect_train_error("{\"text\": \"a\", \"intent\": \"x\", "
                       "\"techniques\": [\"a\", 3]}",
                       "line 1: techniques: not an array of strings");
    snprintf(buf, sizeof(buf),
             "{\"text\": \"a\", \"intent\": \"x\", \"level\": \"hi\"}\n"
             "{\"text\": \"b\", \"intent\": \"y\", \"level\": [\"lo\"]}\n");
    expect_train_error(buf, "line 2: level: an array here, a string on line 1");
    expect_train_error("{\"text\": \"a\xff\", \"intent\": \"x\"}",
                       "line 1: text: invalid UTF-8 at byte 1");
    expect_train_error("{\"text\": \"a\", \"intent\": \"x\", \"intent\": "
                       "\"y\"}",
                       "line 1: intent: given twice");
}
END_TEST

START_TEST(test_train_file_errors)
{
    char *dir = tt_mkdtemp(), path[512], err[256];
    tc_model *m = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/bad.jsonl", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"text\": \"a\", \"intent\": \"x\"}\n{\"text\": 1}\n", f);
    fclose(f);
    ck_assert_int_eq(tc_model_train_file(&m, path, NULL, err, sizeof(err)),
                     TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "bad.jsonl:2: text: not a string"));
    snprintf(path, sizeof(path), "%s/missing.jsonl", dir);
    ck_assert_int_eq(tc_model_train_file(&m, path, NULL, err, sizeof(err)),
                     TC_EIO);
    ck_assert_ptr_nonnull(strstr(err, "missing.jsonl"));
    ck_assert_int_eq(tc_model_train_file(&m, "-", NULL, err, sizeof(err)),
                     TC_EINVAL);
    ck_assert_ptr_null(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_bad_options)
{
    const char *d = "{\"text\": \"a\", \"intent\": \"x\"}";
    tc_train_options o;
    tc_model *m = NULL;
    char err[256];

    small_options(&o);
    o.dim = 5000;
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), &o, err, sizeof(err)),
                     TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "options"));
    small_options(&o);
    o.minn = 5;
    o.maxn = 3;
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), &o, err, sizeof(err)),
                     TC_EINVAL);
    small_options(&o);
    o.word_ngrams = 9;
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), &o, err, sizeof(err)),
                     TC_EINVAL);
    /* character n-grams off, words only: still a model */
    small_options(&o);
    o.minn = 0;
    o.word_ngrams = 1;
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), &o, err, sizeof(err)),
                     TC_OK);
    ck_assert_str_eq(top_intent(m, "a", NULL), "x");
    tc_model_free(m);
}
END_TEST

/* ---- files -------------------------------------------------------------- */

static void save_ok(const tc_model *m, const char *path)
{
    char err[256];
    int rc = tc_model_save(m, path, err, sizeof(err));

    ck_assert_msg(rc == TC_OK, "save: %s", err);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long sz;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Makes the checksum right again after a deliberate change. */
static void reseal(unsigned char *b, size_t n)
{
    XXH128_canonical_t c;

    XXH128_canonicalFromHash(&c, XXH3_128bits(b, n - 16));
    memcpy(b + n - 16, c.digest, 16);
}

static int load_rc(const char *path, char *err, size_t errlen)
{
    tc_model *m = (tc_model *)1;
    int rc = tc_model_load(&m, path, err, errlen);

    if (rc == TC_OK) {
        ck_assert_ptr_nonnull(m);
        tc_model_free(m);
    } else {
        ck_assert_ptr_null(m);
        ck_assert_msg(err[0] != '\0', "no message for %s", tc_error_name(rc));
    }
    return rc;
}

START_TEST(test_save_load_identical)
{
    corpus *c = make_corpus(5, NEX);
    char *dir = tt_mkdtemp(), path[512], err[256], fa[33], fb[33];
    tc_train_options o;
    tc_model *m, *l = NULL;
    size_t i, h, k;

    small_options(&o);
    m = train_ok(c->train, c->len, &o);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    save_ok(m, path);
    ck_assert_int_eq(tc_model_load(&l, path, err, sizeof(err)), TC_OK);
    tc_model_fingerprint(fa, m);
    tc_model_fingerprint(fb, l);
    ck_assert_str_eq(fa, fb);
    for (i = 0; i < c->nheld; i++) {
        tc_prediction *p = NULL, *q = NULL;

        ck_assert_int_eq(
            tc_model_predict(&p, m, c->text[i], strlen(c->text[i]), 4), TC_OK);
        ck_assert_int_eq(
            tc_model_predict(&q, l, c->text[i], strlen(c->text[i]), 4), TC_OK);
        ck_assert_uint_eq(p->nheads, q->nheads);
        ck_assert_str_eq(p->fingerprint, q->fingerprint);
        for (h = 0; h < p->nheads; h++) {
            ck_assert_str_eq(p->heads[h].head, q->heads[h].head);
            ck_assert_uint_eq(p->heads[h].n, q->heads[h].n);
            for (k = 0; k < p->heads[h].n; k++) {
                ck_assert_str_eq(p->heads[h].labels[k].label,
                                 q->heads[h].labels[k].label);
                ck_assert(p->heads[h].labels[k].score ==
                          q->heads[h].labels[k].score);
            }
        }
        tc_prediction_free(p);
        tc_prediction_free(q);
    }
    /* saving the loaded model gives the same bytes */
    {
        char path2[512];
        unsigned char *a, *b;
        size_t na, nb;

        snprintf(path2, sizeof(path2), "%s/m2.tcm", dir);
        save_ok(l, path2);
        a = slurp(path, &na);
        b = slurp(path2, &nb);
        ck_assert_uint_eq(na, nb);
        ck_assert(memcmp(a, b, na) == 0);
        free(a);
        free(b);
    }
    tc_model_free(m);
    tc_model_free(l);
    free_corpus(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * The vocabulary: a prediction adds each known word's summed rows instead
 * of the rows of its n-grams, and must give what the rows give. Compared
 * on the hidden vector (the model's internals), for texts of known words,
 * of unknown ones and of both; then through the public calls, against a
 * file of format version 1 (no vocabulary) made from the same model.
 */
static void hidden_both(const tc_model *m, const char *text, float *full,
                        float *known, size_t *nknown)
{
    tc__scratch a, b;
    tc__err err;
    tc__version *v;
    _Atomic long *rd;

    ck_assert_int_eq(tc__featurize(&a, m, text, strlen(text), 0, &err), TC_OK);
    ck_assert_int_eq(tc__featurize_known(&b, m, text, strlen(text), 0, &err),
                     TC_OK);
    ck_assert_uint_eq(b.nfeat + b.nown, a.nfeat); /* the same features */
    *nknown = b.nknown;
    rd = tc__read_enter(m, &v);
    tc__hidden(m, v, a.feat, a.nfeat, full);
    tc__hidden_known(m, v, &b, known);
    tc__read_leave(rd);
    tc__scratch_done(&a);
    tc__scratch_done(&b);
}

START_TEST(test_vocabulary_same_answers)
{
    static const char *const texts[] = {
        "play some jazz by miles davis", "zyxwv qqq frobnicate",
        "play zyxwv jazz frobnicate in paris", "PARIS,   Tokyo!!",
        "\xc3\xa9t\xc3\xa9 caf\xc3\xa9 jazz"};
    corpus *c = make_corpus(5, NEX);
    char *dir = tt_mkdtemp(), path[512], v1[512], err[256];
    tc_train_options o;
    tc_model *m, *l = NULL;
    float full[64], known[64];
    size_t i, k, nknown, used = 0, vbytes = 4;
    unsigned char *b;
    size_t n;
    uint64_t blen;

    small_options(&o);
    m = train_ok(c->train, c->len, &o);
    ck_assert_uint_gt(m->vocab.n, 20);
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]) + c->nheld; i++) {
        const char *t = i < sizeof(texts) / sizeof(texts[0])
                            ? texts[i]
                            : c->text[i - sizeof(texts) / sizeof(texts[0])];

        hidden_both(m, t, full, known, &nknown);
        used += nknown > 0;
        for (k = 0; k < m->hp.dim; k++) {
            ck_assert_msg(fabsf(full[k] - known[k]) <=
                              1e-5f * (1 + fabsf(full[k])),
                          "%s: %g vs %g", t, (double)full[k], (double)known[k]);
        }
    }
    ck_assert_uint_gt(used, c->nheld / 2); /* the fast path was taken */
    hidden_both(m, texts[1], full, known, &nknown);
    ck_assert_uint_eq(nknown, 0); /* made-up words: the long way */
    /* an update re-sums the words whose rows it moved, and only those
     * need it: the two paths still agree on every text */
    {
        char ex[512];

        snprintf(ex, sizeof(ex), "{\"text\":\"%s\",\"intent\":\"%s\"}",
                 c->text[0], strcmp(c->intent[0], "weather") == 0 ? "music"
                                                                  : "weather");
        ck_assert_int_eq(tc_model_update(m, ex, err, sizeof(err)), TC_OK);
        for (i = 0; i < c->nheld; i++) {
            hidden_both(m, c->text[i], full, known, &nknown);
            for (k = 0; k < m->hp.dim; k++) {
                ck_assert(fabsf(full[k] - known[k]) <=
                          1e-5f * (1 + fabsf(full[k])));
            }
        }
    }

    /* version 1: the same bytes without the vocabulary, resealed */
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(v1, sizeof(v1), "%s/v1.tcm", dir);
    save_ok(m, path);
    b = slurp(path, &n);
    for (i = 0; i < m->vocab.n; i++) {
        vbytes += 4 + strlen(m->vocab.words[i]);
    }
    ck_assert_uint_gt(n, vbytes + 40);
    n -= vbytes;
    b[8] = 1;
    memcpy(&blen, b + 16, 8); /* little-endian on the machines we test */
    blen -= vbytes;
    memcpy(b + 16, &blen, 8);
    reseal(b, n);
    spit(v1, b, n);
    ck_assert_int_eq(tc_model_load(&l, v1, err, sizeof(err)), TC_OK);
    ck_assert_uint_eq(l->vocab.n, 0);
    for (i = 0; i < c->nheld; i++) {
        tc_prediction *p = NULL, *q = NULL;

        ck_assert_int_eq(
            tc_model_predict(&p, m, c->text[i], strlen(c->text[i]), 3), TC_OK);
        ck_assert_int_eq(
            tc_model_predict(&q, l, c->text[i], strlen(c->text[i]), 3), TC_OK);
        for (k = 0; k < p->heads[0].n; k++) {
            ck_assert(fabs(p->heads[0].labels[k].score -
                           q->heads[0].labels[k].score) < 1e-4);
        }
        ck_assert_str_eq(p->heads[0].labels[0].label,
                         q->heads[0].labels[0].label);
        tc_prediction_free(p);
        tc_prediction_free(q);
    }
    free(b);
    tc_model_free(m);
    tc_model_free(l);
    free_corpus(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* A small model with every kind of table: three heads, multi-label. */
static tc_model *tiny_model(void)
{
    corpus *c = make_corpus(6, 60);
    tc_train_options o;
    tc_model *m;

    small_options(&o);
    o.buckets = 128;
    o.dim = 4;
    o.epochs = 3;
    m = train_ok(c->train, c->len, &o);
    free_corpus(c);
    return m;
}

START_TEST(test_load_every_truncation)
{
    char *dir = tt_mkdtemp(), path[512], cut[512], err[256];
    tc_model *m = tiny_model();
    unsigned char *b;
    size_t n, len;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(cut, sizeof(cut), "%s/cut.tcm", dir);
    save_ok(m, path);
    b = slurp(path, &n);
    ck_assert_uint_lt(n, 8192); /* small enough to try every length */
    for (len = 0; len < n; len++) {
        spit(cut, b, len);
        err[0] = '\0';
        ck_assert_msg(load_rc(cut, err, sizeof(err)) == TC_ECORRUPT,
                      "truncated to %zu of %zu bytes: accepted", len, n);
    }
    spit(cut, b, n);
    ck_assert_int_eq(load_rc(cut, err, sizeof(err)), TC_OK);
    /* a byte too many is damage too */
    {
        unsigned char *longer = malloc(n + 1);

        memcpy(longer, b, n);
        longer[n] = 0;
        spit(cut, longer, n + 1);
        ck_assert_int_eq(load_rc(cut, err, sizeof(err)), TC_ECORRUPT);
        free(longer);
    }
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_load_bit_flips)
{
    char *dir = tt_mkdtemp(), path[512], bad[512], err[256];
    tc_model *m = tiny_model();
    uint64_t s = 99;
    unsigned char *b;
    size_t n;
    int i;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    save_ok(m, path);
    b = slurp(path, &n);
    for (i = 0; i < 2000; i++) {
        size_t at = (size_t)(lcg(&s) % n);
        unsigned bit = (unsigned)(lcg(&s) % 8);

        b[at] ^= (unsigned char)(1u << bit);
        spit(bad, b, n);
        err[0] = '\0';
        ck_assert_msg(load_rc(bad, err, sizeof(err)) == TC_ECORRUPT,
                      "flip of bit %u of byte %zu: accepted", bit, at);
        b[at] ^= (unsigned char)(1u << bit);
    }
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * Damage behind a valid checksum (what a hostile file can do): random
 * bytes of the header and tables changed and the checksum recomputed.
 * Each load either fails with TC_ECORRUPT or gives a model that
 * predicts; none may crash or read out of bounds (see the asan run).
 */
START_TEST(test_load_resealed_damage)
{
    char *dir = tt_mkdtemp(), path[512], bad[512], err[256];
    tc_model *m = tiny_model();
    uint64_t s = 7;
    unsigned char *b, *w;
    size_t n;
    int i, corrupt = 0;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    save_ok(m, path);
    b = slurp(path, &n);
    w = malloc(n);
    for (i = 0; i < 2000; i++) {
        int k, changes = 1 + (int)(lcg(&s) % 3);
        tc_model *l = NULL;
        int rc;

        memcpy(w, b, n);
        for (k = 0; k < changes; k++) {
            /* mostly the first 400 bytes: header, hyper-parameters,
             * tables; sometimes anywhere */
            size_t at = lcg(&s) % 4 ? 8 + (size_t)(lcg(&s) % 392)
                                    : (size_t)(lcg(&s) % (n - 16));

            w[at] = (unsigned char)lcg(&s);
        }
        reseal(w, n);
        spit(bad, w, n);
        rc = tc_model_load(&l, bad, err, sizeof(err));
        ck_assert(rc == TC_OK || rc == TC_ECORRUPT);
        if (rc == TC_OK) {
            tc_prediction *p = NULL;

            ck_assert_int_eq(tc_model_predict(&p, l, "what is 2 plus 2", 16, 3),
                             TC_OK);
            tc_prediction_free(p);
            tc_model_free(l);
        } else {
            corrupt++;
        }
    }
    ck_assert_int_gt(corrupt, 100); /* the tables were really hit */
    free(w);
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_load_wrong_version_magic)
{
    char *dir = tt_mkdtemp(), path[512], bad[512], err[256];
    tc_model *m = tiny_model(), *l = NULL;
    unsigned char *b;
    size_t n;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    save_ok(m, path);
    b = slurp(path, &n);

    b[8] = 3; /* format version 3, checksum made right */
    reseal(b, n);
    spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_ECORRUPT);
    ck_assert_msg(strstr(err, "format version 3") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(tc_cache_errmsg(NULL), "format version 3"));
    b[8] = 0;
    reseal(b, n);
    spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_ECORRUPT);
    ck_assert_msg(strstr(err, "format version 0") != NULL, "%s", err);
    b[8] = 2;

    b[1] = 'X'; /* magic */
    reseal(b, n);
    spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_ECORRUPT);
    ck_assert_msg(strstr(err, "not a tutorcache model") != NULL, "%s", err);
    b[1] = 'T';
    reseal(b, n);

    spit(bad, (const unsigned char *)"{\"text\": \"hello\"}\n", 18);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_ECORRUPT);
    spit(bad, b, 0);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_ECORRUPT);
    ck_assert_int_eq(tc_model_load(&l, dir, err, sizeof(err)), TC_EIO);
    snprintf(bad, sizeof(bad), "%s/none.tcm", dir);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_EIO);
    ck_assert_ptr_nonnull(strstr(err, "none.tcm"));
    ck_assert_ptr_null(l);
    /* the original is still fine */
    spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad, err, sizeof(err)), TC_OK);
    tc_model_free(l);
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- online updates ------------------------------------------------------ */

START_TEST(test_update_flips)
{
    corpus *c = make_corpus(9, NEX);
    tc_train_options o;
    tc_model *m;
    char f0[33], f1[33], f2[33], err[256];
    const char *t = "What is the weather in Paris tomorrow?";
    double score, acc;

    small_options(&o);
    m = train_ok(c->train, c->len, &o);
    ck_assert_str_eq(top_intent(m, t, NULL), "weather");
    tc_model_fingerprint(f0, m);
    ck_assert_int_eq(
        tc_model_update(m,
                        "{\"text\": \"What is the weather in Paris "
                        "tomorrow?\", \"intent\": \"music\", \"user\": 3}",
                        err, sizeof(err)),
        TC_OK);
    ck_assert_str_eq(top_intent(m, t, &score), "music");
    ck_assert(score >= 0.9);
    /* the same text, spelled otherwise, and a close paraphrase */
    ck_assert_str_eq(
        top_intent(m, "what is the weather in paris tomorrow", NULL), "music");
    ck_assert_str_eq(
        top_intent(m, "what's the weather in Paris tomorrow", NULL), "music");
    tc_model_fingerprint(f1, m);
    ck_assert_str_ne(f0, f1);
    /*
     * The rest of the model still works. Held-out weather questions are
     * paraphrases of the corrected one, and may rightly follow it; the
     * other intents must not move.
     */
    acc = held_accuracy(m, c, "weather");
    ck_assert_msg(acc >= 0.95, "held-out accuracy %.3f after an update", acc);

    /* a multi-label head alone */
    ck_assert_int_eq(tc_model_update(m,
                                     "{\"text\": \"play some jazz music\", "
                                     "\"techniques\": [\"location\"]}",
                                     err, sizeof(err)),
                     TC_OK);
    {
        tc_prediction *p = NULL;

        ck_assert_int_eq(tc_model_predict(&p, m, "play some jazz music", 20, 0),
                         TC_OK);
        ck_assert_str_eq(p->heads[0].labels[0].label, "music");
        ck_assert_str_eq(p->heads[2].labels[0].label, "location");
        ck_assert(p->heads[2].labels[0].score >= 0.9);
        tc_prediction_free(p);
    }

    /* refused updates leave the model alone */
    tc_model_fingerprint(f1, m);
    ck_assert_int_eq(tc_model_update(m,
                                     "{\"text\": \"a\", \"intent\": \"nope\"}",
                                     err, sizeof(err)),
                     TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "intent: unknown label"));
    ck_assert_int_eq(
        tc_model_update(m, "{\"intent\": \"math\"}", err, sizeof(err)),
        TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "text"));
    ck_assert_int_eq(
        tc_model_update(m, "{\"text\": \"a\", \"x\": \"y\"}", err, sizeof(err)),
        TC_EINVAL);
    ck_assert_int_eq(tc_model_update(m, "[1]", err, sizeof(err)), TC_EINVAL);
    ck_assert_int_eq(tc_model_update(m,
                                     "{\"text\": \"\xff\", \"intent\": "
                                     "\"math\"}",
                                     err, sizeof(err)),
                     TC_EINVAL);
    ck_assert_int_eq(tc_model_update(m,
                                     "{\"text\": \"a\", \"techniques\": "
                                     "\"numbers\"}",
                                     err, sizeof(err)),
                     TC_EINVAL);
    tc_model_fingerprint(f2, m);
    ck_assert_str_eq(f1, f2);
    tc_model_free(m);
    free_corpus(c);
}
END_TEST

/* An update survives save and load: the fingerprint is of the weights. */
START_TEST(test_update_save_load)
{
    char *dir = tt_mkdtemp(), path[512], err[256], fa[33], fb[33];
    tc_model *m = tiny_model(), *l = NULL;

    ck_assert_int_eq(tc_model_update(m,
                                     "{\"text\": \"translate cat into french\""
                                     ", \"intent\": \"debugging\"}",
                                     err, sizeof(err)),
                     TC_OK);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    save_ok(m, path);
    ck_assert_int_eq(tc_model_load(&l, path, err, sizeof(err)), TC_OK);
    tc_model_fingerprint(fa, m);
    tc_model_fingerprint(fb, l);
    ck_assert_str_eq(fa, fb);
    ck_assert_str_eq(top_intent(l, "translate cat into french", NULL),
                     "debugging");
    tc_model_free(m);
    tc_model_free(l);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

#define NFP 64

typedef struct shared {
    tc_model *m;
    corpus *c;
    _Atomic int stop;
    _Atomic long predictions;
    char fps[NFP][33]; /* every fingerprint the model had */
    _Atomic int nfp;
    _Atomic int bad;
} shared;

static void *predictor(void *arg)
{
    shared *sh = arg;
    size_t i = 0;

    while (!atomic_load(&sh->stop) || i < 50) {
        const char *t = sh->c->text[i++ % sh->c->nheld];
        tc_prediction *p = NULL;
        double sum = 0;
        size_t k;

        if (tc_model_predict(&p, sh->m, t, strlen(t), 3) != TC_OK ||
            p->nheads != 3 || p->heads[0].n != 3 ||
            strlen(p->fingerprint) != TC_FINGERPRINT_LEN) {
            atomic_store(&sh->bad, 1);
            tc_prediction_free(p);
            break;
        }
        for (k = 0; k < 3; k++) {
            double sc = p->heads[0].labels[k].score;

            sum += sc;
            if (!(sc >= 0 && sc <= 1)) {
                atomic_store(&sh->bad, 1);
            }
        }
        if (sum > 1.0 + 1e-6) {
            atomic_store(&sh->bad, 1);
        }
        tc_prediction_free(p);
        atomic_fetch_add(&sh->predictions, 1);
    }
    return NULL;
}

START_TEST(test_concurrent_predict_update)
{
    corpus *c = make_corpus(10, 300);
    tc_train_options o;
    pthread_t th[4];
    shared sh;
    char err[256], fp[33];
    int i, u;

    memset(&sh, 0, sizeof(sh));
    small_options(&o);
    sh.m = train_ok(c->train, c->len, &o);
    sh.c = c;
    tc_model_fingerprint(sh.fps[0], sh.m);
    sh.nfp = 1;
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, predictor, &sh), 0);
    }
    for (u = 0; u < 20; u++) {
        char js[256];

        snprintf(js, sizeof(js),
                 "{\"text\": \"play some jazz music\", \"intent\": \"%s\"}",
                 u % 2 ? "music" : "math");
        ck_assert_int_eq(tc_model_update(sh.m, js, err, sizeof(err)), TC_OK);
        tc_model_fingerprint(fp, sh.m);
        ck_assert_str_eq(top_intent(sh.m, "play some jazz music", NULL),
                         u % 2 ? "music" : "math");
        ck_assert_str_ne(fp, sh.fps[sh.nfp - 1]);
        strcpy(sh.fps[sh.nfp], fp);
        atomic_fetch_add(&sh.nfp, 1);
    }
    atomic_store(&sh.stop, 1);
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    ck_assert_int_eq(atomic_load(&sh.bad), 0);
    ck_assert_int_ge(atomic_load(&sh.predictions), 200);
    tc_model_free(sh.m);
    free_corpus(c);
}
END_TEST

/* ---- allocation failures ------------------------------------------------ */

static _Atomic long a_calls, a_live;
static _Atomic int a_injected;
static long a_fail_at;

static int a_should_fail(void)
{
    long c = atomic_fetch_add(&a_calls, 1) + 1;

    if (a_fail_at > 0 && c == a_fail_at) {
        atomic_store(&a_injected, 1);
        return 1;
    }
    return 0;
}

static void *a_malloc(size_t n)
{
    void *p = a_should_fail() ? NULL : malloc(n);

    if (p) {
        atomic_fetch_add(&a_live, 1);
    }
    return p;
}

static void *a_realloc(void *old, size_t n)
{
    void *p;

    if (a_should_fail()) {
        return NULL;
    }
    p = realloc(old, n);
    if (p && !old) {
        atomic_fetch_add(&a_live, 1);
    }
    return p;
}

static void a_free(void *p)
{
    if (p) {
        atomic_fetch_sub(&a_live, 1);
        free(p);
    }
}

typedef int (*alloc_seq)(void *ctx);

/*
 * Runs seq with the n-th allocation failing, for n = 1, 2, ... until a
 * run sees no failure. Each run must return TC_ENOMEM when an allocation
 * failed (TC_OK otherwise) and leave nothing allocated.
 */
static void fail_each_allocation(alloc_seq seq, void *ctx, const char *what)
{
    long n;

    for (n = 1; n < 100000; n++) {
        int rc;

        atomic_store(&a_calls, 0);
        atomic_store(&a_live, 0);
        atomic_store(&a_injected, 0);
        a_fail_at = n;
        tc_set_allocator(a_malloc, a_realloc, a_free);
        rc = seq(ctx);
        tc_set_allocator(NULL, NULL, NULL);
        ck_assert_msg(atomic_load(&a_live) == 0,
                      "%s, allocation %ld failing: %ld blocks leaked", what, n,
                      atomic_load(&a_live));
        if (!atomic_load(&a_injected)) {
            ck_assert_msg(rc == TC_OK, "%s: %s without a failure", what,
                          tc_error_name(rc));
            return;
        }
        ck_assert_msg(rc == TC_ENOMEM, "%s, allocation %ld failing: %s", what,
                      n, tc_error_name(rc));
    }
    ck_abort_msg("%s: never completed", what);
}

static const char tiny_data[] =
    "{\"text\": \"what is 2 plus 2\", \"intent\": \"math\", "
    "\"complexity\": \"simple\", \"techniques\": [\"numbers\"]}\n"
    "{\"text\": \"play some jazz\", \"intent\": \"music\", "
    "\"techniques\": []}\n"
    "{\"text\": \"weather in paris\", \"intent\": \"weather\", "
    "\"complexity\": \"simple\", \"techniques\": [\"location\"]}\n"
    "{\"text\": \"how much is 7 times 9\", \"intent\": \"math\"}\n";

static void tiny_options(tc_train_options *o)
{
    small_options(o);
    o->buckets = 64;
    o->dim = 4;
    o->epochs = 2;
}

static int seq_train(void *ctx)
{
    tc_train_options o;
    tc_model *m = NULL;
    char err[128];
    int rc;

    (void)ctx;
    tiny_options(&o);
    rc = tc_model_train(&m, tiny_data, strlen(tiny_data), &o, err, sizeof(err));
    ck_assert(rc == TC_OK ? m != NULL : m == NULL);
    tc_model_free(m);
    return rc;
}

static int seq_load(void *path)
{
    tc_model *m = NULL;
    char err[128];
    int rc = tc_model_load(&m, path, err, sizeof(err));

    tc_model_free(m);
    return rc;
}

static int seq_predict(void *m)
{
    tc_prediction *p = NULL;
    int rc = tc_model_predict(&p, m, "what is 3 plus 4", 16, 3);
    char *js = NULL;

    tc_prediction_free(p);
    if (rc == TC_OK) {
        rc = tc_model_info_json(&js, m);
        tc_free(js);
    }
    return rc;
}

static int seq_update(void *m)
{
    char err[128], before[33], after[33];
    int rc;

    tc_model_fingerprint(before, m);
    rc = tc_model_update(m,
                         "{\"text\": \"play some jazz\", \"intent\": "
                         "\"math\", \"techniques\": [\"numbers\"]}",
                         err, sizeof(err));
    tc_model_fingerprint(after, m);
    ck_assert(rc == TC_OK || strcmp(before, after) == 0);
    return rc;
}

static int seq_save(void *ctx)
{
    void **a = ctx;
    char err[128];

    return tc_model_save(a[0], a[1], err, sizeof(err));
}

START_TEST(test_allocation_failures)
{
    char *dir = tt_mkdtemp(), path[512], err[128];
    tc_train_options o;
    tc_model *m = NULL, *u = NULL;
    void *save_ctx[2];

    fail_each_allocation(seq_train, NULL, "train");
    tiny_options(&o);
    ck_assert_int_eq(
        tc_model_train(&m, tiny_data, strlen(tiny_data), &o, err, sizeof(err)),
        TC_OK);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    save_ok(m, path);
    fail_each_allocation(seq_load, path, "load");
    fail_each_allocation(seq_predict, m, "predict");
    save_ctx[0] = m;
    save_ctx[1] = path;
    fail_each_allocation(seq_save, save_ctx, "save");
    /* the model the updates run on was allocated by malloc too */
    ck_assert_int_eq(tc_model_load(&u, path, err, sizeof(err)), TC_OK);
    fail_each_allocation(seq_update, u, "update");
    tc_model_free(u);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- SNIPS, when the shared data is there ------------------------------- */

typedef struct snips_eval {
    size_t n, ok;
} snips_eval;

static void eval_file(const tc_model *m, const char *path, snips_eval *ev)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;

    ck_assert_ptr_nonnull(f);
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        const char *t = cJSON_GetObjectItem(o, "text")->valuestring;

        ev->ok += strcmp(top_intent(m, t, NULL),
                         cJSON_GetObjectItem(o, "intent")->valuestring) == 0;
        ev->n++;
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
}

START_TEST(test_snips_accuracy)
{
    const char *dir = getenv("TC_INTENTS_DIR");
    char train[1024], test[1024], err[256];
    tc_model *m = NULL;
    snips_eval ev = {0, 0};
    int rc;

    if (!dir || !*dir) {
        dir = "../shared/data/intents";
    }
    snprintf(train, sizeof(train), "%s/snips/train.jsonl", dir);
    snprintf(test, sizeof(test), "%s/snips/test.jsonl", dir);
    if (access(train, R_OK) != 0 || access(test, R_OK) != 0) {
        fprintf(stderr,
                "check_model: SNIPS not found under %s "
                "(TC_INTENTS_DIR): accuracy test skipped\n",
                dir);
        return;
    }
    if (getenv("TC_VALGRIND")) {
        fprintf(stderr, "check_model: SNIPS accuracy test skipped under "
                        "valgrind (too slow)\n");
        return;
    }
    rc = tc_model_train_file(&m, train, NULL, err, sizeof(err));
    ck_assert_msg(rc == TC_OK, "train %s: %s", train, err);
    eval_file(m, test, &ev);
    ck_assert_uint_eq(ev.n, 700);
    ck_assert_msg((double)ev.ok / (double)ev.n >= 0.95,
                  "SNIPS test accuracy %.4f < 0.95",
                  (double)ev.ok / (double)ev.n);
    tc_model_free(m);
}
END_TEST

Suite *suite_model(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");

    /* training and damage loops take seconds, more under sanitizers */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_train_accuracy_floor);
    tcase_add_test(tc, test_reproducible);
    tcase_add_test(tc, test_heads_and_top_k);
    tcase_add_test(tc, test_info_json);
    tcase_add_test(tc, test_train_errors);
    tcase_add_test(tc, test_train_file_errors);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_save_load_identical);
    tcase_add_test(tc, test_vocabulary_same_answers);
    tcase_add_test(tc, test_load_every_truncation);
    tcase_add_test(tc, test_load_bit_flips);
    tcase_add_test(tc, test_load_resealed_damage);
    tcase_add_test(tc, test_load_wrong_version_magic);
    tcase_add_test(tc, test_update_flips);
    tcase_add_test(tc, test_update_save_load);
    tcase_add_test(tc, test_concurrent_predict_update);
    tcase_add_test(tc, test_allocation_failures);
    tcase_add_test(tc, test_snips_accuracy);
    suite_add_tcase(s, tc);
    return s;
}
