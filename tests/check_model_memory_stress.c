/*
 * check_model_memory_stress.c - the cases of suite model_memory that put
 * corrections under stress: predictions, saves and loads on other threads
 * while corrections are applied (the case `make tsan` runs), and a failing
 * allocator under every call of a model's life, each of which must return
 * TC_ENOMEM and leak nothing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"

/* ---- threads ------------------------------------------------------------- */

/*
 * Predictors run while the main thread corrects one text back and forth
 * and a saver saves the model and loads it back. Each prediction's
 * answer and fingerprint must come from one version: every fingerprint
 * a predictor sees with the toggled text is recorded with its answer, and
 * checked against the versions the main thread made.
 */
#define TOGGLED "play some jazz music"
#define NPRED 3
#define SEEN_MAX 8

typedef struct seen {
    char fp[TC_FINGERPRINT_LEN + 1];
    char label[16];
    double score;
} seen;

typedef struct shared {
    tc_model *m;
    const mf_corpus *c;
    const char *path;
    _Atomic int stop;
    _Atomic long predictions, saves;
    _Atomic int bad;
    seen seen[NPRED][SEEN_MAX]; /* row i: predictor i's alone */
    int nseen[NPRED];
    char loaded[SEEN_MAX][TC_FINGERPRINT_LEN + 1]; /* the saver's alone */
    int nloaded;
} shared;

typedef struct predictor_arg {
    shared *sh;
    int id;
} predictor_arg;

static int sane(const tc_prediction *p, size_t k)
{
    size_t h, i;

    if (p->nheads != 3 || p->heads[0].n != k ||
        strlen(p->fingerprint) != TC_FINGERPRINT_LEN) {
        return 0;
    }
    for (h = 0; h < p->nheads; h++) {
        for (i = 0; i < p->heads[h].n; i++) {
            double s = p->heads[h].labels[i].score;

            if (!(s >= 0 && s <= 1) ||
                (i > 0 && s > p->heads[h].labels[i - 1].score)) {
                return 0;
            }
        }
    }
    return 1;
}

static void *predictor(void *arg)
{
    predictor_arg *pa = arg;
    shared *sh = pa->sh;
    size_t i = 0;
    int k;

    while (!atomic_load(&sh->stop) || i < 50) {
        int toggled = i % 4 == 0;
        const char *t = toggled ? TOGGLED : sh->c->text[i % sh->c->nheld];
        tc_prediction *p = NULL;

        i++;
        if (tc_model_predict(&p, sh->m, t, strlen(t), 3) != TC_OK ||
            !sane(p, 3)) {
            atomic_store(&sh->bad, 1);
            tc_prediction_free(p);
            break;
        }
        if (toggled) {
            seen *row = sh->seen[pa->id];

            for (k = 0; k < sh->nseen[pa->id]; k++) {
                if (strcmp(row[k].fp, p->fingerprint) == 0) {
                    break;
                }
            }
            if (k == sh->nseen[pa->id] && k < SEEN_MAX) {
                strcpy(row[k].fp, p->fingerprint);
                snprintf(row[k].label, sizeof(row[k].label), "%s",
                         p->heads[0].labels[0].label);
                row[k].score = p->heads[0].labels[0].score;
                sh->nseen[pa->id]++;
            } else if (k < sh->nseen[pa->id] &&
                       (strcmp(row[k].label, p->heads[0].labels[0].label) ||
                        row[k].score != p->heads[0].labels[0].score)) {
                atomic_store(&sh->bad, 2); /* one version, two answers */
            }
        }
        tc_prediction_free(p);
        atomic_fetch_add(&sh->predictions, 1);
    }
    return NULL;
}

static void *saver(void *arg)
{
    shared *sh = arg;
    char fp[TC_FINGERPRINT_LEN + 1];
    int k;

    do {
        tc_model *l = NULL;

        if (tc_model_save(sh->m, sh->path) != TC_OK ||
            tc_model_load(&l, sh->path) != TC_OK) {
            atomic_store(&sh->bad, 3);
            break;
        }
        tc_model_fingerprint(fp, l);
        tc_model_free(l);
        for (k = 0; k < sh->nloaded && strcmp(sh->loaded[k], fp); k++) {
        }
        if (k == sh->nloaded && k < SEEN_MAX) {
            strcpy(sh->loaded[sh->nloaded++], fp);
        }
        atomic_fetch_add(&sh->saves, 1);
    } while (!atomic_load(&sh->stop));
    return NULL;
}

START_TEST(test_concurrent_predict_update)
{
    mf_corpus *c = mf_corpus_make(10, 300, 0);
    char *dir = tt_mkdtemp(), path[512];
    char fps[3][TC_FINGERPRINT_LEN + 1]; /* the weights', math, music */
    const char *label[3];
    predictor_arg pa[NPRED];
    pthread_t th[NPRED + 1];
    tc_train_options o;
    shared *sh = calloc(1, sizeof(*sh));
    double score;
    int i, u, k;

    ck_assert_ptr_nonnull(sh);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    mf_small_options(&o);
    sh->m = mf_train_ok(c->train, c->len, &o);
    sh->c = c;
    sh->path = path;
    tc_model_fingerprint(fps[0], sh->m);
    label[0] = "music";
    ck_assert_str_eq(mf_top_intent(sh->m, TOGGLED, NULL), "music");
    for (i = 0; i < NPRED; i++) {
        pa[i].sh = sh;
        pa[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, predictor, &pa[i]), 0);
    }
    ck_assert_int_eq(pthread_create(&th[NPRED], NULL, saver, sh), 0);
    /* 20 corrections at least, and more while the saver has not saved
     * (and loaded) a few times meanwhile */
    for (u = 0; u < 20 || (atomic_load(&sh->saves) < 3 && u < 100000); u++) {
        char fp[TC_FINGERPRINT_LEN + 1];
        const char *to = u % 2 ? "music" : "math";

        mf_correct(sh->m, TOGGLED, to);
        ck_assert_str_eq(mf_top_intent(sh->m, TOGGLED, &score), to);
        ck_assert(score == 1.0);
        tc_model_fingerprint(fp, sh->m);
        if (u < 2) {
            strcpy(fps[1 + u], fp);
            label[1 + u] = to;
        }
        /* the memory holds one correction, the latest */
        ck_assert_str_eq(fp, fps[1 + u % 2]);
        ck_assert_str_ne(fp, fps[0]);
    }
    atomic_store(&sh->stop, 1);
    for (i = 0; i <= NPRED; i++) {
        pthread_join(th[i], NULL);
    }
    ck_assert_int_eq(atomic_load(&sh->bad), 0);
    ck_assert_int_ge(atomic_load(&sh->predictions), NPRED * 50);
    ck_assert_int_ge(atomic_load(&sh->saves), 3);
    for (i = 0; i < NPRED; i++) {
        for (k = 0; k < sh->nseen[i]; k++) {
            const seen *s = &sh->seen[i][k];
            int v;

            for (v = 0; v < 3 && strcmp(fps[v], s->fp) != 0; v++) {
            }
            ck_assert_msg(v < 3, "a fingerprint the model never had: %s",
                          s->fp);
            ck_assert_msg(strcmp(s->label, label[v]) == 0 &&
                              (v == 0 || s->score == 1.0),
                          "version %d answered %s (%g)", v, s->label, s->score);
        }
    }
    for (k = 0; k < sh->nloaded; k++) {
        int v;

        for (v = 0; v < 3 && strcmp(fps[v], sh->loaded[k]) != 0; v++) {
        }
        ck_assert_msg(v < 3, "a saved fingerprint the model never had: %s",
                      sh->loaded[k]);
    }
    tc_model_free(sh->m);
    free(sh);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- allocation failures ------------------------------------------------- */

static const char tiny_data[] =
    "{\"text\": \"what is 2 plus 2\", \"intent\": \"math\", "
    "\"complexity\": \"simple\", \"techniques\": [\"numbers\"]}\n"
    "{\"text\": \"play some jazz\", \"intent\": \"music\", "
    "\"techniques\": []}\n"
    "{\"text\": \"weather in paris\", \"intent\": \"weather\", "
    "\"complexity\": \"simple\", \"techniques\": [\"location\"]}\n"
    "{\"text\": \"how much is 7 times 9\", \"intent\": \"math\"}\n";

typedef struct train_ctx {
    const char *data;
    size_t len;
    const char *oos;
} train_ctx;

static int seq_train(void *ctx)
{
    train_ctx *t = ctx;
    tc_train_options o;
    tc_model *m = NULL;
    int rc;

    mf_small_options(&o);
    o.buckets = 64;
    o.dim = 4;
    o.epochs = 2;
    o.oos_label = t->oos;
    rc = tc_model_train(&m, t->data, t->len, &o);
    ck_assert(rc == TC_OK ? m != NULL : m == NULL);
    tc_model_free(m);
    return rc;
}

/* Four examples, one of them out of scope: the calibration's folds are
 * trained, but too few answers come back to fit the link to them. */
START_TEST(test_alloc_train)
{
    train_ctx t = {tiny_data, sizeof(tiny_data) - 1, "weather"};

    ck_assert_int_gt(tt_alloc_fail_each(seq_train, &t, "train"), 100);
}
END_TEST

/* Enough examples (24) for the calibration to be fitted, on held-out
 * folds: the passes, the fit and its scratch space. */
START_TEST(test_alloc_train_calibrated)
{
    mf_corpus *c = mf_corpus_make(3, 30, 0);
    train_ctx t = {c->train, c->len, NULL};

    ck_assert_int_gt(tt_alloc_fail_each(seq_train, &t, "calibrated train"),
                     100);
    mf_corpus_free(c);
}
END_TEST

static int seq_load(void *path)
{
    tc_model *m = NULL;
    int rc = tc_model_load(&m, path);

    ck_assert(rc == TC_OK ? m != NULL : m == NULL);
    tc_model_free(m);
    return rc;
}

typedef struct predict_ctx {
    const tc_model *m;
    const char *text;
} predict_ctx;

static int seq_predict(void *ctx)
{
    predict_ctx *pc = ctx;
    tc_prediction *p = NULL;
    int rc = tc_model_predict(&p, pc->m, pc->text, strlen(pc->text), 3);
    char *js = NULL;

    ck_assert(rc == TC_OK ? p != NULL : p == NULL);
    tc_prediction_free(p);
    if (rc == TC_OK) {
        rc = tc_model_info_json(&js, pc->m);
        tc_free(js);
    }
    return rc;
}

static int seq_save(void *ctx)
{
    void **a = ctx;

    return tc_model_save(a[0], a[1]);
}

/* A model with corrections (whose similarity a prediction computes),
 * saved, loaded, predicting, described, saved again. */
START_TEST(test_alloc_load_predict_save)
{
    char *dir = tt_mkdtemp(), path[512], base[64];
    tc_model *m = mf_tiny_model(), *l = NULL;
    predict_ctx pc;
    void *save_ctx[2];

    /* the text predicted below has the base of the first correction, so
     * that the prediction computes its similarity to it */
    pc.text = "what is 3 plus 2";
    snprintf(base, sizeof(base), "%s", mf_top_intent(m, pc.text, NULL));
    ck_assert_str_eq(mf_top_intent(m, "what is 2 plus 2", NULL), base);
    mf_update_ok(m, "{\"text\": \"what is 2 plus 2\", \"intent\": "
                    "\"music\", \"techniques\": [\"location\"]}\n"
                    "{\"text\": \"translate cat into french\", \"complexity\": "
                    "\"detailed\"}");
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    mf_save_ok(m, path);
    ck_assert_int_gt(tt_alloc_fail_each(seq_load, path, "load"), 50);
    /* the models under test are allocated by the C library's malloc, so
     * the counts see the calls' own allocations only */
    ck_assert_int_eq(tc_model_load(&l, path), TC_OK);
    pc.m = l;
    tt_alloc_fail_each(seq_predict, &pc, "predict");
    save_ctx[0] = l;
    save_ctx[1] = path;
    tt_alloc_fail_each(seq_save, save_ctx, "save");
    tc_model_free(l);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* A text too long for the words the similarity keeps on the stack: they
 * are allocated, and a failure must be TC_ENOMEM, not an answer that
 * ignores the corrections. */
START_TEST(test_alloc_predict_long_text)
{
    tc_model *m = mf_tiny_model();
    predict_ctx pc;

    mf_update_ok(m,
                 "{\"text\": \"what is the weather in paris tomorrow and will "
                 "it rain in london this weekend please\", \"intent\": "
                 "\"music\"}");
    pc.m = m;
    pc.text = "what is the weather in paris tomorrow and will it rain in "
              "london this weekend please tell me";
    ck_assert_str_eq(mf_top_intent(m, pc.text, NULL), "music");
    tt_alloc_fail_each(seq_predict, &pc, "predict a long text");
    tc_model_free(m);
}
END_TEST

#define TWO_CORRECTIONS                                                        \
    "{\"text\": \"play some jazz\", \"intent\": \"math\", \"techniques\": "    \
    "[\"numbers\"]}\n"                                                         \
    "{\"text\": \"what is 2 plus 2 and then many more words, enough for the "  \
    "words to be allocated\", \"intent\": \"music\"}"

/*
 * Loads the model at path (its blocks counted, but never failed), applies
 * two corrections and frees the model: what the update allocated is then
 * freed too, unless it leaked. A failed update leaves the model as it
 * was: the same fingerprint, which covers the corrections (and reading
 * it leaves the thread's detail of the failure for the caller).
 */
static int seq_update(void *path)
{
    char before[TC_FINGERPRINT_LEN + 1], after[TC_FINGERPRINT_LEN + 1];
    tc_model *m = NULL;
    int rc;

    tt_alloc_pause(1);
    ck_assert_int_eq(tc_model_load(&m, path), TC_OK);
    tt_alloc_pause(0);
    tc_model_fingerprint(before, m);
    rc = tc_model_update(m, TWO_CORRECTIONS);
    tc_model_fingerprint(after, m);
    if (rc == TC_OK) {
        tt_alloc_pause(1);
        ck_assert(mf_corrections(m) == 2);
        ck_assert_str_eq(mf_top_intent(m, "play some jazz", NULL), "math");
        tt_alloc_pause(0);
    } else {
        ck_assert_str_eq(before, after);
    }
    tc_model_free(m);
    return rc;
}

START_TEST(test_alloc_update)
{
    char *dir = tt_mkdtemp(), none[512], two[512];
    tc_model *m = mf_tiny_model();

    snprintf(none, sizeof(none), "%s/none.tcm", dir);
    snprintf(two, sizeof(two), "%s/two.tcm", dir);
    mf_save_ok(m, none);
    mf_update_ok(m, TWO_CORRECTIONS);
    mf_save_ok(m, two);
    /* corrections added; then the same, replacing the ones it holds */
    ck_assert_int_gt(tt_alloc_fail_each(seq_update, none, "update"), 10);
    ck_assert_int_gt(tt_alloc_fail_each(seq_update, two, "update again"), 10);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

void suite_model_memory_stress(Suite *s)
{
    TCase *tc = tcase_create("concurrency");

    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_concurrent_predict_update);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_add_checked_fixture(tc, NULL, tt_alloc_restore);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_alloc_train);
    tcase_add_test(tc, test_alloc_train_calibrated);
    tcase_add_test(tc, test_alloc_load_predict_save);
    tcase_add_test(tc, test_alloc_predict_long_text);
    tcase_add_test(tc, test_alloc_update);
    suite_add_tcase(s, tc);
}
