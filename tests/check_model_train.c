/*
 * check_model_train.c - what training promises about the weights it
 * ends with. A set of 320 classes trains at the defaults and at the
 * highest learning rate into a model whose weights are in range (the
 * clipped gradient and bounded biases); a training is reproducible byte
 * for byte; option sets sampled from the ranges the CLI accepts all train,
 * save and load to the same model; a model poked out of range is never
 * saved, and such a file never loaded; the calibrated link's confidence
 * is the chance of being right; and an out-of-scope label teaches
 * rejection, answered "unknown" through the cache.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model_fixture.h"

/* ---- helpers ------------------------------------------------------------- */

/* Checks the weights of m with the predicate every file satisfies. */
static void weights_ok(const tc_model *m, const char *what)
{
    tc__err why;

    ck_assert_msg(tc__weights_check(m, &why) == TC_OK, "%s: %s", what, why.msg);
}

/* Saves m, loads the file back and checks that the two are one model:
 * weights in range, the same fingerprint, the same answers. */
static void round_trip(const tc_model *m, const char *dir,
                       const char *const *texts, size_t n, const char *what)
{
    char path[512], fa[TC_FINGERPRINT_LEN + 1], fb[TC_FINGERPRINT_LEN + 1];
    tc_model *l = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/rt.tcm", dir);
    weights_ok(m, what);
    mf_save_ok(m, path);
    rc = tc_model_load(&l, path);
    ck_assert_msg(rc == TC_OK, "%s: load: %s", what, tc_errmsg());
    weights_ok(l, what);
    tc_model_fingerprint(fa, m);
    tc_model_fingerprint(fb, l);
    ck_assert_msg(strcmp(fa, fb) == 0, "%s: fingerprint %s, loaded %s", what,
                  fa, fb);
    mf_same_predictions(m, l, texts, n, 3);
    tc_model_free(l);
}

/* The number of entries of a directory, . and .. left out. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* ---- many classes, any learning rate ------------------------------------- */

#define MANY_CLASSES 320
#define MANY_PER 4

/*
 * MANY_CLASSES intents of MANY_PER examples each: every class has four
 * made-up words of its own, and each example two of them between two
 * random ones. One-vs-all with hundreds of labels sums hundreds of terms
 * into the hidden gradient: what drove training out of range before the
 * gradient was clipped. texts[i] receives each example's text.
 */
static char *many_classes(char (*texts)[64], size_t *len)
{
    static char own[MANY_CLASSES][4][16];
    size_t cap = (size_t)MANY_CLASSES * MANY_PER * 128, n = 0;
    char *b = malloc(cap);
    uint64_t s = 31;
    int c, e, k;

    ck_assert_ptr_nonnull(b);
    for (c = 0; c < MANY_CLASSES; c++) {
        for (k = 0; k < 4; k++) {
            mf_pseudo_word(&s, own[c][k]);
        }
    }
    for (c = 0; c < MANY_CLASSES; c++) {
        for (e = 0; e < MANY_PER; e++) {
            char w1[16], w2[16], *t = texts[c * MANY_PER + e];

            mf_pseudo_word(&s, w1);
            mf_pseudo_word(&s, w2);
            snprintf(t, 64, "%s %s %s %s", own[c][mf_lcg(&s) % 4], w1,
                     own[c][mf_lcg(&s) % 4], w2);
            n += (size_t)snprintf(b + n, cap - n,
                                  "{\"text\":\"%s\",\"intent\":\"c%03d\"}\n", t,
                                  c);
        }
    }
    ck_assert_uint_lt(n, cap);
    *len = n;
    return b;
}

START_TEST(test_many_classes_any_rate)
{
    static char texts[MANY_CLASSES * MANY_PER][64];
    const char *probe[MANY_CLASSES * MANY_PER];
    char *dir = tt_mkdtemp();
    size_t len, i, ok = 0;
    char *data = many_classes(texts, &len);
    tc_train_options o;
    tc_model *m;

    for (i = 0; i < MANY_CLASSES * MANY_PER; i++) {
        probe[i] = texts[i];
    }
    /* the defaults: the model learns every class */
    tc_train_options_init(&o);
    m = mf_train_ok(data, len, &o);
    ck_assert_uint_eq(m->heads[0].nlabels, MANY_CLASSES);
    for (i = 0; i < MANY_CLASSES * MANY_PER; i++) {
        char want[8];

        snprintf(want, sizeof(want), "c%03zu", i / MANY_PER);
        ok += strcmp(mf_top_intent(m, texts[i], NULL), want) == 0;
    }
    ck_assert_msg(ok >= MANY_CLASSES * MANY_PER * 9 / 10,
                  "%zu of %d training texts right", ok,
                  MANY_CLASSES * MANY_PER);
    round_trip(m, dir, probe, 200, "defaults");
    tc_model_free(m);

    /* the highest rate accepted: no accuracy is promised, only a model
     * within range that saves and loads */
    o.lr = 100;
    m = mf_train_ok(data, len, &o);
    round_trip(m, dir, probe, 200, "lr 100");
    tc_model_free(m);
    free(data);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- reproducible -------------------------------------------------------- */

/* Trains on c with o and saves the model to dir/name; returns the file. */
static unsigned char *train_to_file(const mf_corpus *c,
                                    const tc_train_options *o, const char *dir,
                                    const char *name, size_t *n)
{
    char path[512];
    tc_model *m = mf_train_ok(c->train, c->len, o);
    unsigned char *b;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mf_save_ok(m, path);
    tc_model_free(m);
    b = mf_slurp(path, n);
    return b;
}

START_TEST(test_reproducible_files)
{
    mf_corpus *c = mf_corpus_make(2, 600, 0);
    char *dir = tt_mkdtemp();
    tc_train_options o;
    unsigned char *a, *b, *d, *e;
    size_t na, nb, nd, ne;

    tc_train_options_init(&o); /* the defaults: one thread */
    a = train_to_file(c, &o, dir, "a.tcm", &na);
    b = train_to_file(c, &o, dir, "b.tcm", &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(a, b, na) == 0, "two trainings, two files");
    o.seed = 8;
    d = train_to_file(c, &o, dir, "d.tcm", &nd);
    e = train_to_file(c, &o, dir, "e.tcm", &ne);
    ck_assert_uint_eq(nd, ne);
    ck_assert_msg(memcmp(d, e, nd) == 0, "two trainings (seed 8), two files");
    /* and the seed matters */
    ck_assert(na != nd || memcmp(a, d, na) != 0);
    free(a);
    free(b);
    free(d);
    free(e);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- any options --------------------------------------------------------- */

#define NSETS 25

/*
 * Options drawn from the ranges the CLI accepts (dim and buckets kept
 * small so that 25 trainings take a moment): every set must train, and
 * save and load into the same model.
 */
static void draw_options(uint64_t *s, int i, tc_train_options *o)
{
    tc_train_options_init(o);
    o->dim = 1 + (int)(mf_lcg(s) % 64);
    /* log-uniform in (0.01, 100], and the extremes of the range */
    o->lr = 100 * pow(10, -4.0 * (double)(mf_lcg(s) % 10000) / 10000);
    o->lr = i == 0 ? 100 : i == 1 ? 1e-3 : o->lr;
    o->epochs = 1 + (int)(mf_lcg(s) % 20);
    o->word_ngrams = 1 + (int)(mf_lcg(s) % 4);
    switch (mf_lcg(s) % 4) {
    case 0: /* off */
        o->minn = 0;
        o->maxn = (int)(mf_lcg(s) % 5);
        break;
    case 1: /* off by maxn */
        o->minn = 1 + (int)(mf_lcg(s) % 5);
        o->maxn = 0;
        break;
    case 2: /* the defaults */
        break;
    default:
        o->minn = 1 + (int)(mf_lcg(s) % 6);
        o->maxn = o->minn + (int)(mf_lcg(s) % 3);
        break;
    }
    /* log-uniform in 1..2^16 */
    o->buckets = 1 + (uint32_t)(mf_lcg(s) % (1u << (mf_lcg(s) % 17)));
    o->buckets = i == 2 ? 1 : i == 3 ? 1u << 16 : o->buckets;
    o->seed = mf_lcg(s);
}

START_TEST(test_any_options_round_trip)
{
    mf_corpus *c = mf_corpus_make(12, 120, 0);
    const char **held = mf_held_texts(c);
    char *dir = tt_mkdtemp(), what[256];
    uint64_t s = 2024;
    int i;

    for (i = 0; i < NSETS; i++) {
        tc_train_options o;
        tc_model *m;

        draw_options(&s, i, &o);
        snprintf(what, sizeof(what),
                 "set %d: dim %d lr %g epochs %d word_ngrams %d minn %d "
                 "maxn %d buckets %u",
                 i, o.dim, o.lr, o.epochs, o.word_ngrams, o.minn, o.maxn,
                 o.buckets);
        m = mf_train_ok(c->train, c->len, &o);
        ck_assert_msg(m->hp.buckets == o.buckets &&
                          m->hp.dim == (uint32_t)o.dim,
                      "%s: trained with other options", what);
        round_trip(m, dir, held, c->nheld, what);
        tc_model_free(m);
    }
    free(held);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- out of range -------------------------------------------------------- */

/* Saving m to path must fail with TC_ERANGE naming why, and write
 * nothing: dir keeps the `files` entries it had. */
static void save_refused(const tc_model *m, const char *dir, const char *path,
                         int files, const char *why)
{
    int rc = tc_model_save(m, path);

    ck_assert_msg(rc == TC_ERANGE, "%s: save gave %s", why, tc_error_name(rc));
    ck_assert_msg(strstr(tc_errmsg(), why) != NULL, "\"%s\", want \"%s\"",
                  tc_errmsg(), why);
    ck_assert_int_eq(dir_entries(dir), files);
}

START_TEST(test_save_refuses_out_of_range)
{
    mf_corpus *c = mf_corpus_make(13, 300, 0);
    char *dir = tt_mkdtemp(), path[512], kept[512];
    tc_train_options o;
    tc_model *m;
    unsigned char *before, *after;
    size_t nb, na;
    uint32_t r;
    float w;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(kept, sizeof(kept), "%s/kept.tcm", dir);

    /* nothing at the path, no temporary file left */
    w = m->w.out[0];
    m->w.out[0] = NAN;
    save_refused(m, dir, path, 0, "output weight 0");
    ck_assert_int_ne(access(path, F_OK), 0);
    m->w.out[0] = w;
    w = m->w.bias[0];
    m->w.bias[0] = 1e9f;
    save_refused(m, dir, path, 0, "bias 0");
    m->w.bias[0] = w;
    for (r = 0; m->w.in_scale[r] == 0; r++) {
    }
    w = m->w.in_scale[r];
    m->w.in_scale[r] = INFINITY;
    save_refused(m, dir, path, 0, "input row");
    m->w.in_scale[r] = w;
    w = m->heads[0].calib_a;
    m->heads[0].calib_a = 0;
    save_refused(m, dir, path, 0, "calibration");
    m->heads[0].calib_a = w;

    /* a file already at the path stays as it was */
    mf_save_ok(m, kept);
    before = mf_slurp(kept, &nb);
    m->w.out[1] = -2e4f;
    save_refused(m, dir, kept, 1, "output weight 1");
    after = mf_slurp(kept, &na);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(before, after, na) == 0);
    free(before);
    free(after);
    tc_model_free(m);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_load_refuses_out_of_range)
{
    mf_corpus *c = mf_corpus_make(13, 300, 0);
    char *dir = tt_mkdtemp(), path[512], bad[512];
    tc_train_options o;
    tc_model *m;
    unsigned char *b;
    mf_layout l;
    size_t n;
    int i;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);
    mf_layout_of(&l, b, n);
    for (i = 0; i < 4; i++) {
        /* an output weight, a bias, a row's scale just past the bound, NaN */
        static const float vals[] = {2e4f, -1e9f, 1e4f / 127 * 1.01f, NAN};
        size_t at = i == 0   ? l.out + 4 * 5
                    : i == 1 ? l.bias + 4
                    : i == 2 ? l.rows
                             : l.out;
        unsigned char *w = malloc(n);

        memcpy(w, b, n);
        mf_put_f32(w + at, vals[i]);
        mf_reseal(w, n);
        mf_spit(bad, w, n);
        ck_assert_msg(mf_load_rc(bad) == TC_ECORRUPT,
                      "weight %g at %zu: accepted", (double)vals[i], at);
        ck_assert_msg(strstr(tc_errmsg(), "weights out of range") != NULL, "%s",
                      tc_errmsg());
        free(w);
    }
    /* the file as saved loads */
    mf_spit(bad, b, n);
    ck_assert_int_eq(mf_load_rc(bad), TC_OK);
    free(b);
    tc_model_free(m);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- calibration --------------------------------------------------------- */

/*
 * The expected calibration error of the top intent on c's held-out texts:
 * answers in 15 bins of confidence, and the gap between each bin's mean
 * confidence and its accuracy, weighted by the bin's share. mean receives
 * the mean confidence.
 */
#define ECE_BINS 15

static double ece(const tc_model *m, const mf_corpus *c, double *mean)
{
    double conf[ECE_BINS] = {0}, right[ECE_BINS] = {0}, n[ECE_BINS] = {0};
    double e = 0, sum = 0;
    size_t i;
    int b;

    for (i = 0; i < c->nheld; i++) {
        double s;
        const char *l = mf_top_intent(m, c->text[i], &s);

        b = s >= 1 ? ECE_BINS - 1 : (int)(s * ECE_BINS);
        conf[b] += s;
        right[b] += strcmp(l, c->intent[i]) == 0;
        n[b]++;
        sum += s;
    }
    /* each bin's |accuracy - confidence| weighted by its share n / N,
     * which is |right - conf| / N */
    for (b = 0; b < ECE_BINS; b++) {
        e += fabs(right[b] - conf[b]) / (double)c->nheld;
    }
    *mean = sum / (double)c->nheld;
    return e;
}

/*
 * A fifth of the labels are wrong (another intent at random, in training
 * and in the held-out part alike), so the best a model can do is right
 * about four times in five, and a calibrated confidence says so. Bound:
 * ECE < 0.07 on 400 held-out answers. Measured on seeds 1 to 8, the
 * calibrated link gives 0.007 to 0.046 (0.020, 0.020 and 0.040 on the
 * three seeds tested); the plain sigmoid of the same weights gives 0.073
 * to 0.120. The bound tells the two apart, with room on both sides.
 */
#define ECE_BOUND 0.07

START_TEST(test_calibration)
{
    static const uint64_t seeds[] = {1, 2, 3};
    tc_train_options o;
    size_t i;

    mf_small_options(&o);
    for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        mf_corpus *c = mf_corpus_make(seeds[i], 2000, 0.2);
        tc_model *m = mf_train_ok(c->train, c->len, &o);
        double mean, cal, plain;
        tc__head saved = m->heads[0];

        cal = ece(m, c, &mean);
        ck_assert_msg(cal < ECE_BOUND, "seed %d: ECE %.4f >= %.2f",
                      (int)seeds[i], cal, ECE_BOUND);
        /* the link is what calibrates: without it, the same weights are
         * further off */
        m->heads[0].calib_a = 1;
        m->heads[0].calib_b = 0;
        m->heads[0].calib_c = 0;
        m->heads[0].calib_d = 0;
        plain = ece(m, c, &mean);
        ck_assert_msg(plain > cal, "seed %d: ECE %.4f, plain sigmoid %.4f",
                      (int)seeds[i], cal, plain);
        m->heads[0] = saved;
        tc_model_free(m);
        mf_corpus_free(c);
    }
}
END_TEST

/*
 * Few examples per intent (60 texts over 6 intents, 10 each): the link is
 * cross-fitted in folds that each train on nine tenths of the texts, as
 * the low-resource sets of bench/suite.sh are. Bound: ECE < 0.15 on 400
 * held-out answers of a model right about half the time, on seeds 1 to 8
 * (a failure prints the seed and its ECE). The bound is loose on purpose:
 * 400 answers in 15 bins are a noisy estimate; bench/suite.sh measures
 * calibration on real sets. The mean over the eight seeds is tighter:
 * 0.093 now; 0.117 when each of the ten folds added its own ten made-up
 * texts (a link pulled under the truth, every seed worse).
 */
#define ECE_FEW_BOUND 0.15
#define ECE_FEW_MEAN_BOUND 0.105

/* The length of the first n lines of s. */
static size_t line_end(const char *s, int n)
{
    const char *p = s;

    while (n-- > 0 && (p = strchr(p, '\n')) != NULL) {
        p++;
    }
    ck_assert_ptr_nonnull(p);
    return (size_t)(p - s);
}

START_TEST(test_calibration_few)
{
    static const uint64_t seeds[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);
    tc_train_options o;
    double sum = 0;
    size_t i;

    mf_small_options(&o);
    for (i = 0; i < nseeds; i++) {
        mf_corpus *c = mf_corpus_make(seeds[i], 4000, 0.2);
        tc_model *m;
        double mean, cal;

        /* the first 60 training lines, the 400 held-out texts as ever */
        c->len = line_end(c->train, 60);
        m = mf_train_ok(c->train, c->len, &o);
        ck_assert(m->heads[0].calib_a != 1 || m->heads[0].calib_b != 0);
        cal = ece(m, c, &mean);
        ck_assert_msg(cal < ECE_FEW_BOUND, "seed %d: ECE %.4f >= %.2f",
                      (int)seeds[i], cal, ECE_FEW_BOUND);
        sum += cal;
        tc_model_free(m);
        mf_corpus_free(c);
    }
    ck_assert_msg(sum / (double)nseeds < ECE_FEW_MEAN_BOUND,
                  "mean ECE %.4f >= %.3f", sum / (double)nseeds,
                  ECE_FEW_MEAN_BOUND);
}
END_TEST

/*
 * The rival's weight: a close second makes the best label less sure, and
 * the link never reorders the labels, even at the largest weight a file
 * may hold.
 */
START_TEST(test_rival)
{
    mf_corpus *c = mf_corpus_make(7, 2000, 0.2);
    const char **held = mf_held_texts(c);
    tc_train_options o;
    tc_model *m, *same;
    tc__head *hd;
    float *sc;
    double close, far;
    uint32_t l;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    hd = &m->heads[0];
    /* fitted within the bound tc__head states (this corpus has few texts
     * two intents claim: 0 here), then set to half of it */
    ck_assert_msg(hd->calib_d <= 0 &&
                      hd->calib_d >= -TC__RIVAL_MAX * hd->calib_a,
                  "a = %g, d = %g", (double)hd->calib_a, (double)hd->calib_d);
    hd->calib_d = -0.5f * hd->calib_a;
    sc = calloc(m->nout_pad, sizeof(float));
    ck_assert_ptr_nonnull(sc);
    for (l = 0; l < hd->nlabels; l++) {
        sc[hd->first + l] = l == 0 ? 2.0f : l == 1 ? 1.9f : -3.0f;
    }
    tc__probabilities(m, sc, 1.0f);
    close = sc[hd->first];
    ck_assert(sc[hd->first] > sc[hd->first + 1]);
    for (l = 0; l < hd->nlabels; l++) {
        sc[hd->first + l] = l == 0 ? 2.0f : -3.0f;
    }
    tc__probabilities(m, sc, 1.0f);
    far = sc[hd->first];
    ck_assert_msg(close < far, "best %.4f with a close second, %.4f without",
                  close, far);
    free(sc);
    /* the same order of labels at d = 0 and at d = -TC__RIVAL_MAX * a */
    same = mf_train_ok(c->train, c->len, &o);
    same->heads[0].calib_d = 0;
    m->heads[0].calib_d = -TC__RIVAL_MAX * m->heads[0].calib_a;
    for (l = 0; l < c->nheld; l++) {
        tc_prediction *p = NULL, *q = NULL;
        size_t k;

        ck_assert_int_eq(tc_model_predict(&p, m, held[l], strlen(held[l]), 3),
                         TC_OK);
        ck_assert_int_eq(
            tc_model_predict(&q, same, held[l], strlen(held[l]), 3), TC_OK);
        for (k = 0; k < p->heads[0].n; k++) {
            ck_assert_str_eq(p->heads[0].labels[k].label,
                             q->heads[0].labels[k].label);
        }
        tc_prediction_free(p);
        tc_prediction_free(q);
    }
    tc_model_free(same);
    tc_model_free(m);
    free(held);
    mf_corpus_free(c);
}
END_TEST

/* On clean data the model is right and says so. */
START_TEST(test_clean_confident)
{
    mf_corpus *c = mf_corpus_make(1, 600, 0);
    tc_train_options o;
    tc_model *m;
    double mean, e;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    e = ece(m, c, &mean);
    ck_assert_msg(mean > 0.8, "mean confidence %.3f on clean data", mean);
    ck_assert_msg(e < ECE_BOUND, "ECE %.4f on clean data", e);
    tc_model_free(m);
    mf_corpus_free(c);
}
END_TEST

/* ---- out of scope -------------------------------------------------------- */

/* A text of 3 to 8 made-up words: what no intent of the set is about. */
static void filler(uint64_t *s, char *t, size_t n)
{
    int k, nw = 3 + (int)(mf_lcg(s) % 6);
    size_t at = 0;

    for (k = 0; k < nw; k++) {
        char w[16];

        mf_pseudo_word(s, w);
        at += (size_t)snprintf(t + at, n - at, "%s%s", k ? " " : "", w);
    }
}

/* The template set and 100 examples of filler labelled "oos". */
static char *with_oos(const mf_corpus *c, uint64_t *s, size_t *len)
{
    size_t cap = c->len + 100 * 160;
    char *d = malloc(cap);
    int i;

    ck_assert_ptr_nonnull(d);
    memcpy(d, c->train, c->len);
    *len = c->len;
    for (i = 0; i < 100; i++) {
        char t[128];

        filler(s, t, sizeof(t));
        *len += (size_t)snprintf(d + *len, cap - *len,
                                 "{\"text\":\"%s\",\"intent\":\"oos\"}\n", t);
    }
    ck_assert_uint_lt(*len, cap);
    return d;
}

static tc_result *classify_ok(tc_classifier *cl, const char *text)
{
    tc_result *r = NULL;
    int rc = tc_classify(&r, cl, text, strlen(text));

    ck_assert_msg(rc == TC_OK, "classify \"%s\": %s", text, tc_error_name(rc));
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_oos_label)
{
    mf_corpus *c = mf_corpus_make(11, 600, 0);
    uint64_t s = 5;
    size_t len;
    char *data = with_oos(c, &s, &len), *js = NULL;
    tc_train_options o;
    tc_classifier_options clo;
    tc_classifier *cl = NULL;
    tc_cache *h = NULL;
    tc_model *m, *plain;
    tc_result *r;
    cJSON *info;
    int i, rejected = 0;

    mf_small_options(&o);
    o.oos_label = "oos";
    m = mf_train_ok(data, len, &o);
    ck_assert_int_eq(tc_model_info_json(&js, m), TC_OK);
    info = cJSON_Parse(js);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(info, "oos_label")->valuestring,
        "oos");
    cJSON_Delete(info);
    tc_free(js);
    /* the model keeps its intents ... */
    ck_assert(mf_held_accuracy(m, c) >= 0.95);
    /* ... and says "oos" for new filler: at least 45 of 50 */
    for (i = 0; i < 50; i++) {
        char t[128];

        filler(&s, t, sizeof(t));
        rejected += strcmp(mf_top_intent(m, t, NULL), "oos") == 0;
    }
    ck_assert_msg(rejected >= 45, "%d of 50 filler texts out of scope",
                  rejected);

    /* through the cache, a text the model gives "oos" is "unknown" */
    h = tt_open_memory(0);
    tc_classifier_options_init(&clo);
    clo.model = m;
    ck_assert_int_eq(tc_classifier_open(&cl, h, &clo), TC_OK);
    for (i = 0; i < 10; i++) {
        char t[128];

        filler(&s, t, sizeof(t));
        if (strcmp(mf_top_intent(m, t, NULL), "oos") != 0) {
            continue;
        }
        r = classify_ok(cl, t);
        ck_assert_str_eq(r->intent, "unknown");
        ck_assert_ptr_nonnull(strstr(r->json, "\"intent\":\"unknown\""));
        tc_result_free(r);
    }
    r = classify_ok(cl, "What is the weather in Paris tomorrow?");
    ck_assert_str_eq(r->intent, "weather");
    tc_result_free(r);
    tc_classifier_close(cl);

    /* without the option, "oos" is an intent like the others */
    o.oos_label = NULL;
    plain = mf_train_ok(data, len, &o);
    ck_assert_int_eq(plain->oos, -1);
    clo.model = plain;
    ck_assert_int_eq(tc_classifier_open(&cl, h, &clo), TC_OK);
    for (i = 0; i < 5; i++) {
        char t[128];

        filler(&s, t, sizeof(t));
        r = classify_ok(cl, t);
        ck_assert_str_eq(r->intent, mf_top_intent(plain, t, NULL));
        ck_assert_str_ne(r->intent, "unknown");
        tc_result_free(r);
    }
    tc_classifier_close(cl);
    tc_cache_close(h);
    tc_model_free(plain);

    /* options of version 1 have no such field: it is not read */
    o.version = 1;
    o.oos_label = "oos";
    plain = mf_train_ok(data, len, &o);
    ck_assert_int_eq(plain->oos, -1);
    tc_model_free(plain);
    tc_model_free(m);
    free(data);
    mf_corpus_free(c);
}
END_TEST

START_TEST(test_oos_label_unknown)
{
    const char *one = "{\"text\": \"a b\", \"intent\": \"x\"}\n";
    mf_corpus *c = mf_corpus_make(11, 100, 0);
    tc_train_options o;
    tc_model *m = (tc_model *)1;

    mf_small_options(&o);
    o.oos_label = "out_of_scope";
    ck_assert_int_eq(tc_model_train(&m, c->train, c->len, &o), TC_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(tc_errmsg(), "oos_label") != NULL &&
                      strstr(tc_errmsg(), "\"out_of_scope\"") != NULL,
                  "%s", tc_errmsg());
    /* a label of another head is not an intent */
    o.oos_label = "simple";
    ck_assert_int_eq(tc_model_train(&m, c->train, c->len, &o), TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "\"simple\""));
    /* nor may it be the only intent */
    o.oos_label = "x";
    ck_assert_int_eq(tc_model_train(&m, one, strlen(one), &o), TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "\"x\""));
    mf_corpus_free(c);
}
END_TEST

Suite *suite_model_train(void)
{
    Suite *s = suite_create("model_train");
    TCase *tc = tcase_create("model_train");

    /* 320 classes train in seconds, more under sanitizers */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_many_classes_any_rate);
    tcase_add_test(tc, test_reproducible_files);
    tcase_add_test(tc, test_any_options_round_trip);
    tcase_add_test(tc, test_save_refuses_out_of_range);
    tcase_add_test(tc, test_load_refuses_out_of_range);
    tcase_add_test(tc, test_calibration);
    tcase_add_test(tc, test_calibration_few);
    tcase_add_test(tc, test_rival);
    tcase_add_test(tc, test_clean_confident);
    tcase_add_test(tc, test_oos_label);
    tcase_add_test(tc, test_oos_label_unknown);
    suite_add_tcase(s, tc);
    return s;
}
