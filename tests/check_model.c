/*
 * check_model.c - the built-in classifier as its callers see it. A data
 * set generated from templates (model_fixture.c, fixed seed) trains a
 * model that must reach an accuracy floor on its held-out part; every
 * head answers with probabilities in [0, 1], best first, by the rules
 * of the header (top_k, multi-label heads); the model describes itself
 * in JSON; malformed data and bad options are refused with a message
 * naming the fault; and, when the shared data is present, SNIPS. Weights
 * and calibration are in check_model_train.c, files in
 * check_model_file.c, corrections in check_model_memory.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model_fixture.h"

/* ---- training, prediction ------------------------------------------------ */

START_TEST(test_train_accuracy_floor)
{
    mf_corpus *c = mf_corpus_make(1, 600, 0);
    tc_train_options o;
    tc_model *m;
    double acc;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    acc = mf_held_accuracy(m, c);
    ck_assert_msg(acc >= 0.95, "held-out accuracy %.3f < 0.95", acc);
    tc_model_free(m);
    mf_corpus_free(c);
}
END_TEST

/* Scores of one head: probabilities, best first. */
static void check_scores(const tc_head_prediction *h)
{
    size_t i;

    for (i = 0; i < h->n; i++) {
        double s = h->labels[i].score;

        ck_assert_msg(s >= 0 && s <= 1, "%s: %s scores %g", h->head,
                      h->labels[i].label, s);
        ck_assert_msg(i == 0 || s <= h->labels[i - 1].score,
                      "%s: label %zu scores above label %zu", h->head, i,
                      i - 1);
    }
}

static tc_prediction *predict_ok(const tc_model *m, const char *t, int top_k)
{
    tc_prediction *p = NULL;
    size_t h;

    ck_assert_int_eq(tc_model_predict(&p, m, t, strlen(t), top_k), TC_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->nheads, 3);
    for (h = 0; h < p->nheads; h++) {
        ck_assert_uint_ge(p->heads[h].n, 1);
        check_scores(&p->heads[h]);
    }
    return p;
}

static int lists(const tc_head_prediction *h, const char *label)
{
    size_t i;

    for (i = 0; i < h->n; i++) {
        if (strcmp(h->labels[i].label, label) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_heads_and_top_k)
{
    mf_corpus *c = mf_corpus_make(3, 600, 0);
    tc_train_options o;
    tc_prediction *p;
    tc_model *m;
    char fp[TC_FINGERPRINT_LEN + 1];
    const char *t = "calculate 123 divided by 7, explain in detail";
    size_t i;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    tc_model_fingerprint(fp, m);

    p = predict_ok(m, t, 3);
    ck_assert_str_eq(p->fingerprint, fp);
    ck_assert_str_eq(p->heads[0].head, "intent");
    ck_assert_int_eq(p->heads[0].multi_label, 0);
    ck_assert_uint_eq(p->heads[0].n, 3);
    ck_assert_str_eq(p->heads[0].labels[0].label, "math");
    ck_assert(p->heads[0].labels[0].score > 0.5);
    ck_assert_str_eq(p->heads[1].head, "complexity");
    ck_assert_int_eq(p->heads[1].multi_label, 0);
    ck_assert_uint_eq(p->heads[1].n, 2); /* only two labels exist */
    ck_assert_str_eq(p->heads[1].labels[0].label, "detailed");
    ck_assert_str_eq(p->heads[2].head, "techniques");
    ck_assert_int_eq(p->heads[2].multi_label, 1);
    ck_assert_str_eq(p->heads[2].labels[0].label, "numbers");
    ck_assert(p->heads[2].labels[0].score >= 0.5);
    /* beyond the first, a multi-label head lists what applies only */
    for (i = 1; i < p->heads[2].n; i++) {
        ck_assert(p->heads[2].labels[i].score >= 0.5);
    }
    tc_prediction_free(p);

    /* every label of a single-label head, each its own probability */
    p = predict_ok(m, t, 100);
    ck_assert_uint_eq(p->heads[0].n, 6);
    ck_assert_uint_eq(p->heads[1].n, 2);
    ck_assert_uint_le(p->heads[2].n, 2);
    tc_prediction_free(p);

    /* top_k <= 0: one label of a single-label head, and every label of a
     * multi-label head that applies */
    t = "reserve a restaurant in tokyo for tonight";
    p = predict_ok(m, t, 0);
    ck_assert_uint_eq(p->heads[0].n, 1);
    ck_assert_str_eq(p->heads[0].labels[0].label, "booking");
    ck_assert_uint_eq(p->heads[1].n, 1);
    ck_assert_str_eq(p->heads[1].labels[0].label, "simple");
    ck_assert(lists(&p->heads[2], "location"));
    ck_assert(!lists(&p->heads[2], "numbers"));
    tc_prediction_free(p);
    p = predict_ok(m, "Book a table for 4 at luigi's", -3);
    ck_assert_str_eq(p->heads[0].labels[0].label, "booking");
    ck_assert_uint_eq(p->heads[2].n, 1);
    ck_assert_str_eq(p->heads[2].labels[0].label, "numbers");
    tc_prediction_free(p);
    /* the best label alone, however low, when none applies */
    p = predict_ok(m, "translate cat into german", 0);
    ck_assert_str_eq(p->heads[0].labels[0].label, "translation");
    ck_assert_uint_eq(p->heads[2].n, 1);
    ck_assert(p->heads[2].labels[0].score < 0.5);
    tc_prediction_free(p);

    /* bad input */
    p = (tc_prediction *)1;
    ck_assert_int_eq(tc_model_predict(&p, m, "\xff", 1, 1), TC_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(tc_model_predict(NULL, m, "a", 1, 1), TC_EINVAL);
    ck_assert_int_eq(tc_model_predict(&p, NULL, "a", 1, 1), TC_EINVAL);
    ck_assert_int_eq(tc_model_predict(&p, m, NULL, 3, 1), TC_EINVAL);
    /* an empty text still gets an answer */
    p = predict_ok(m, "", 1);
    ck_assert_uint_eq(p->heads[0].n, 1);
    tc_prediction_free(p);
    tc_model_free(m);
    mf_corpus_free(c);
}
END_TEST

/* ---- the model's description --------------------------------------------- */

static cJSON *info_of(const tc_model *m)
{
    char *js = NULL;
    cJSON *root;

    ck_assert_int_eq(tc_model_info_json(&js, m), TC_OK);
    root = cJSON_Parse(js);
    ck_assert_msg(root != NULL, "not JSON: %s", js);
    tc_free(js);
    return root;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsNumber(f), "no number \"%s\"", name);
    return f->valuedouble;
}

START_TEST(test_info_json)
{
    mf_corpus *c = mf_corpus_make(4, 200, 0);
    char *dir = tt_mkdtemp(), path[512], fp[TC_FINGERPRINT_LEN + 1];
    tc_train_options o;
    tc_model *m;
    cJSON *root, *hp, *heads, *h, *cal;
    struct stat st;
    int i;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    root = info_of(m);
    tc_model_fingerprint(fp, m);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(root, "fingerprint")->valuestring, fp);
    ck_assert(num(root, "memory_bytes") > 20000 * 16);
    /* the file's size, which holds only the rows training reached */
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    mf_save_ok(m, path);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(num(root, "file_bytes") == (double)st.st_size);
    /* dense, the rows alone would take buckets x (dim + 4) bytes */
    ck_assert(num(root, "file_bytes") < 20000.0 * (16 + 4) / 4);
    ck_assert(num(root, "corrections") == 0);
    ck_assert(num(root, "references") == 160); /* every training example */
    ck_assert(
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "oos_label")));
    hp = cJSON_GetObjectItemCaseSensitive(root, "hyperparameters");
    ck_assert(num(hp, "dim") == 16);
    ck_assert(num(hp, "buckets") == 20000);
    ck_assert(num(hp, "word_ngrams") == 2);
    ck_assert(num(hp, "minn") == 4 && num(hp, "maxn") == 4);
    ck_assert(num(hp, "epochs") == 10);
    ck_assert(num(hp, "lr") == 3.0);
    ck_assert(num(hp, "seed") == 7);
    heads = cJSON_GetObjectItemCaseSensitive(root, "heads");
    ck_assert_int_eq(cJSON_GetArraySize(heads), 3);
    for (i = 0; i < 3; i++) {
        static const char *const names[] = {"intent", "complexity",
                                            "techniques"};
        static const int nlabels[] = {6, 2, 2};

        h = cJSON_GetArrayItem(heads, i);
        ck_assert_str_eq(
            cJSON_GetObjectItemCaseSensitive(h, "name")->valuestring, names[i]);
        ck_assert_int_eq(
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "labels")),
            nlabels[i]);
        cal = cJSON_GetObjectItemCaseSensitive(h, "calibration");
        if (i == 2) {
            /* a multi-label head keeps the plain sigmoid, unstated */
            ck_assert(cJSON_IsTrue(
                cJSON_GetObjectItemCaseSensitive(h, "multi_label")));
            ck_assert_ptr_null(cal);
            continue;
        }
        ck_assert(
            cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(h, "multi_label")));
        ck_assert(num(cal, "a") > 0 && num(cal, "a") <= 1e4);
        ck_assert(isfinite(num(cal, "b")));
        /* the model's own numbers (floats, printed to 15 digits) */
        ck_assert((float)num(cal, "a") == m->heads[i].calib_a);
        ck_assert((float)num(cal, "b") == m->heads[i].calib_b);
    }
    cJSON_Delete(root);
    tc_model_free(m);
    mf_corpus_free(c);

    /* a larger set keeps a sample of TC__REFS_MAX references */
    c = mf_corpus_make(4, 2600, 0);
    m = mf_train_ok(c->train, c->len, &o);
    root = info_of(m);
    ck_assert(num(root, "references") == TC__REFS_MAX);
    ck_assert_int_eq(tc_model_info_json(NULL, m), TC_EINVAL);
    cJSON_Delete(root);
    tc_model_free(m);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- malformed training data --------------------------------------------- */

static void expect_train_error(const char *data, const char *want)
{
    tc_model *m = (tc_model *)1;
    tc_train_options o;
    int rc;

    mf_small_options(&o);
    rc = tc_model_train(&m, data, strlen(data), &o);
    ck_assert_msg(rc == TC_EINVAL, "%s: got %s", want, tc_error_name(rc));
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(tc_errmsg(), want) != NULL,
                  "error \"%s\", want \"%s\"", tc_errmsg(), want);
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
    char *dir = tt_mkdtemp(), path[512];
    tc_model *m = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/bad.jsonl", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"text\": \"a\", \"intent\": \"x\"}\n{\"text\": 1}\n", f);
    fclose(f);
    ck_assert_int_eq(tc_model_train_file(&m, path, NULL), TC_EINVAL);
    ck_assert_ptr_nonnull(
        strstr(tc_errmsg(), "bad.jsonl:2: text: not a string"));
    snprintf(path, sizeof(path), "%s/missing.jsonl", dir);
    ck_assert_int_eq(tc_model_train_file(&m, path, NULL), TC_EIO);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "missing.jsonl"));
    ck_assert_int_eq(tc_model_train_file(&m, "-", NULL), TC_EINVAL);
    ck_assert_int_eq(tc_model_train_file(&m, dir, NULL), TC_EIO);
    ck_assert_ptr_null(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* Training with options o must fail with TC_EINVAL, naming the options;
 * what says which option is wrong. */
static void expect_bad_option(const tc_train_options *o, const char *what)
{
    const char *d = "{\"text\": \"a\", \"intent\": \"x\"}";
    tc_model *m = (tc_model *)1;
    int rc = tc_model_train(&m, d, strlen(d), o);

    ck_assert_msg(rc == TC_EINVAL, "%s: %s", what, tc_error_name(rc));
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(tc_errmsg(), "options") != NULL, "%s: \"%s\"", what,
                  tc_errmsg());
}

/* The small options, changed by the assignments to o that follow what
 * (which names the case), must be refused. */
#define BAD_OPTION(what, ...)                                                  \
    do {                                                                       \
        mf_small_options(&o);                                                  \
        __VA_ARGS__;                                                           \
        expect_bad_option(&o, what);                                           \
    } while (0)

START_TEST(test_bad_options)
{
    const char *d = "{\"text\": \"a\", \"intent\": \"x\"}";
    tc_train_options o;
    tc_model *m = NULL;

    BAD_OPTION("dim 5000", o.dim = 5000);
    BAD_OPTION("minn above maxn", o.minn = 5, o.maxn = 3);
    BAD_OPTION("maxn 17", o.maxn = 17);
    BAD_OPTION("word_ngrams 9", o.word_ngrams = 9);
    BAD_OPTION("epochs 10001", o.epochs = 10001);
    BAD_OPTION("buckets 2^26 + 1", o.buckets = TC__MAX_BUCKETS + 1);
    BAD_OPTION("lr 100.5", o.lr = 100.5);
    BAD_OPTION("lr NaN", o.lr = NAN);
    BAD_OPTION("version 0", o.version = 0);

    /* character n-grams off, words only: still a model */
    mf_small_options(&o);
    o.minn = 0;
    o.word_ngrams = 1;
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), &o), TC_OK);
    ck_assert_str_eq(mf_top_intent(m, "a", NULL), "x");
    ck_assert_uint_eq(m->hp.minn, 0);
    ck_assert_uint_eq(m->hp.maxn, 0);
    tc_model_free(m);
    /* the highest learning rate accepted, and no options at all */
    mf_small_options(&o);
    o.lr = 100;
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), &o), TC_OK);
    tc_model_free(m);
    ck_assert_int_eq(tc_model_train(&m, d, strlen(d), NULL), TC_OK);
    ck_assert_uint_eq(m->hp.dim, 48);
    ck_assert_uint_eq(m->hp.epochs, 8);
    tc_model_free(m);
    m = (tc_model *)1;
    ck_assert_int_eq(tc_model_train(&m, NULL, 3, NULL), TC_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(tc_model_train(NULL, d, strlen(d), NULL), TC_EINVAL);
}
END_TEST

/* ---- SNIPS, when the shared data is there -------------------------------- */

/* The share of path's lines (JSON Lines) whose top intent is their own. */
static double eval_file(const tc_model *m, const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, ok = 0;

    ck_assert_ptr_nonnull(f);
    *n = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text");
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "intent");

        ck_assert(cJSON_IsString(t) && cJSON_IsString(i));
        ok +=
            strcmp(mf_top_intent(m, t->valuestring, NULL), i->valuestring) == 0;
        (*n)++;
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return *n ? (double)ok / (double)*n : 0;
}

START_TEST(test_snips_accuracy)
{
    const char *dir = getenv("TC_INTENTS_DIR");
    char train[1024], test[1024];
    tc_model *m = NULL;
    size_t n;
    double acc;
    int rc;

    if (!dir || !*dir) {
        dir = "../shared/data/intents";
    }
    snprintf(train, sizeof(train), "%s/snips/train.jsonl", dir);
    snprintf(test, sizeof(test), "%s/snips/test.jsonl", dir);
    if (access(train, R_OK) != 0 || access(test, R_OK) != 0) {
        fprintf(stderr,
                "check_model: SNIPS not found under %s (set TC_INTENTS_DIR): "
                "accuracy test skipped\n",
                dir);
        return;
    }
    if (tt_under_valgrind()) {
        fprintf(stderr, "check_model: SNIPS accuracy test skipped under "
                        "valgrind (too slow)\n");
        return;
    }
    rc = tc_model_train_file(&m, train, NULL);
    ck_assert_msg(rc == TC_OK, "train %s: %s", train, tc_errmsg());
    acc = eval_file(m, test, &n);
    ck_assert_uint_eq(n, 700);
    ck_assert_msg(acc >= 0.95, "SNIPS test accuracy %.4f < 0.95", acc);
    tc_model_free(m);
}
END_TEST

Suite *suite_model(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");

    /* trainings take a second at most, more under sanitizers */
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_train_accuracy_floor);
    tcase_add_test(tc, test_heads_and_top_k);
    tcase_add_test(tc, test_info_json);
    tcase_add_test(tc, test_train_errors);
    tcase_add_test(tc, test_train_file_errors);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_snips_accuracy);
    suite_add_tcase(s, tc);
    return s;
}
