/*
 * model_calib.c - the calibration of a head's link: a logistic regression
 * of "the best label was right" on the best label's raw score, on its
 * best rival's (the second best) and on the text's evidence (the share of
 * its features training reached), fitted on examples held out from
 * training. Platt's method with more inputs: four numbers per head, found
 * by Newton's method with a line search, as Lin, Lin and Weng's note on
 * Platt's method does it; the targets are smoothed (Platt's prior) so
 * that a held-out set the model got all right does not send the fit to
 * infinity.
 *
 * The evidence is what makes a text of words the model never saw come
 * out unsure: its raw score rests on little but the end-of-text row, and
 * the score alone would call it as sure as a typical text of the class
 * that row leans to. The rival is what makes a text that two labels
 * claim come out unsure: one-vs-all scores are each label's alone, and a
 * text of an intent training never saw often scores high on two or three
 * neighbours at once (out-of-scope detection gains most from it).
 */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "model/model_data.h"
#include "model/model_train.h"

/* Bounds on the fit: a must stay positive (a higher score never means a
 * lower probability) and none may run off on degenerate data. */
#define A_MIN 0.02
#define A_MAX 50.0
#define BC_MAX 50.0

/* The inputs of the link: best score, rival score, evidence, 1. */
#define NW 4
#define MAX_ITER 100
#define MIN_STEP 1e-10
#define HESS_EPS 1e-12
#define GRAD_EPS 1e-5

/*
 * Calibration (see calibrate()): a set whose tenth has CALIB_ONCE examples
 * or more holds that tenth out once, at most CALIB_MAX of them; a smaller
 * one is cross-fitted in CALIB_FOLDS folds: ten, so that each fold trains
 * on nine tenths of the set and is nearly as sure as the model trained on
 * all of it (with five, a set of 10 texts per intent fitted its link on
 * models trained on 8 and came out unsure: ECE 0.060 on the BANKING77
 * training texts outside banking77-10, 0.03 to 0.04 with ten). Fewer than
 * CALIB_MIN held-out
 * answers fit nothing worth trusting: the link stays the plain sigmoid.
 */
#define CALIB_SHARE 0.1
#define CALIB_ONCE 500
#define CALIB_MAX 5000
#define CALIB_FOLDS 10
#define CALIB_MIN 20

/* Made-up texts added to the calibration: one per CALIB_JUNK held-out
 * examples, and CALIB_JUNK_MIN at least over all folds (each fold takes
 * its share of the minimum, rounded up). A minimum per fold gave a set
 * of 10 texts per intent, cross-fitted in ten folds, one made-up text to
 * every 3.4 real ones, which pulled its link under the truth: ECE on the
 * training texts trec50-10 leaves out 0.030, with the minimum over all
 * folds 0.017 (BENCHMARKS.md, "Made-up texts over all folds"). */
#define CALIB_JUNK 20
#define CALIB_JUNK_MIN 10

/* What a fit works on: the examples, and how the rival enters. */
typedef struct fitset {
    const float *x, *r, *e;
    const double *t; /* smoothed targets */
    size_t n;
    int free_d;   /* d is fitted; else d = share * a, and in[1] is 0 */
    double share; /* of the rival in in[0] when d is not free */
} fitset;

/* The link's input of example i: x[i], r[i], e[i] and 1. */
static void inputs(const fitset *fs, size_t i, double in[NW])
{
    in[0] = fs->x[i] + (fs->free_d ? 0 : fs->share * fs->r[i]);
    in[1] = fs->free_d ? fs->r[i] : 0;
    in[2] = fs->e[i];
    in[3] = 1;
}

/* -log likelihood of smoothed targets t under p = sigmoid(w . in),
 * computed so that large |z| neither overflows nor loses it. */
static double nll(const fitset *fs, const double *w)
{
    double f = 0, in[NW];
    const double *t = fs->t;
    size_t i;

    for (i = 0; i < fs->n; i++) {
        double z = 0;
        int j;

        inputs(fs, i, in);
        for (j = 0; j < NW; j++) {
            z += w[j] * in[j];
        }
        f += z >= 0 ? (1 - t[i]) * z + log1p(exp(-z))
                    : -t[i] * z + log1p(exp(z));
    }
    return f;
}

/* Solves h d = -g (h symmetric positive definite) by Cholesky; returns 0,
 * or -1 when h is not positive definite. */
static int solve(const double h[NW][NW], const double g[NW], double d[NW])
{
    double l[NW][NW] = {{0}}, y[NW];
    int i, j, k;

    for (i = 0; i < NW; i++) {
        for (j = 0; j <= i; j++) {
            double sum = h[i][j];

            for (k = 0; k < j; k++) {
                sum -= l[i][k] * l[j][k];
            }
            if (i == j) {
                if (!(sum > 0)) {
                    return -1;
                }
                l[i][i] = sqrt(sum);
            } else {
                l[i][j] = sum / l[j][j];
            }
        }
    }
    for (i = 0; i < NW; i++) {
        y[i] = -g[i];
        for (k = 0; k < i; k++) {
            y[i] -= l[i][k] * y[k];
        }
        y[i] /= l[i][i];
    }
    for (i = NW - 1; i >= 0; i--) {
        d[i] = y[i];
        for (k = i + 1; k < NW; k++) {
            d[i] -= l[k][i] * d[k];
        }
        d[i] /= l[i][i];
    }
    return 0;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Newton's method with a line search from w = (1, 0, 0, 0); w receives
 * the minimum of nll. */
static void newton(const fitset *fs, double w[NW])
{
    double f;
    size_t i;
    int it, j, k;

    memset(w, 0, NW * sizeof(double));
    w[0] = 1;
    f = nll(fs, w);
    for (it = 0; it < MAX_ITER; it++) {
        double h[NW][NW] = {{0}}, g[NW] = {0}, d[NW], gd = 0, gsum = 0, step;

        for (j = 0; j < NW; j++) {
            h[j][j] = HESS_EPS;
        }
        for (i = 0; i < fs->n; i++) {
            double in[NW], z = 0, p, d1, d2;

            inputs(fs, i, in);
            for (j = 0; j < NW; j++) {
                z += w[j] * in[j];
            }
            p = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
            d1 = p - fs->t[i];
            d2 = p * (1 - p);
            for (j = 0; j < NW; j++) {
                g[j] += in[j] * d1;
                for (k = 0; k < NW; k++) {
                    h[j][k] += in[j] * in[k] * d2;
                }
            }
        }
        for (j = 0; j < NW; j++) {
            gsum += fabs(g[j]);
        }
        if (gsum < GRAD_EPS * (double)fs->n ||
            solve((const double(*)[NW])h, g, d) != 0) {
            break;
        }
        for (j = 0; j < NW; j++) {
            gd += g[j] * d[j];
        }
        for (step = 1; step >= MIN_STEP; step /= 2) {
            double nw[NW], nf;

            for (j = 0; j < NW; j++) {
                nw[j] = w[j] + step * d[j];
            }
            nf = nll(fs, nw);
            if (nf < f + 1e-4 * step * gd) {
                memcpy(w, nw, sizeof(nw));
                f = nf;
                break;
            }
        }
        if (step < MIN_STEP) {
            break;
        }
    }
}

int tc__calib_fit(const float *x, const float *r, const float *e,
                  const uint8_t *y, size_t n, tc__head *hd)
{
    double npos = 0, nneg, hi, lo, w[NW], *t, a;
    fitset fs;
    size_t i;
    int j;

    hd->calib_a = 1;
    hd->calib_b = 0;
    hd->calib_c = 0;
    hd->calib_d = 0;
    if (n == 0) {
        return TC_OK; /* nothing to fit: the plain sigmoid */
    }
    if (!(t = tc__calloc(n, sizeof(double)))) {
        return TC_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        npos += y[i] != 0;
    }
    nneg = (double)n - npos;
    hi = (npos + 1) / (npos + 2);
    lo = 1 / (nneg + 2);
    for (i = 0; i < n; i++) {
        t[i] = y[i] ? hi : lo;
    }
    fs.x = x;
    fs.r = r;
    fs.e = e;
    fs.t = t;
    fs.n = n;
    fs.free_d = 1;
    fs.share = 0;
    newton(&fs, w);
    /* a rival's weight out of [-TC__RIVAL_MAX * a, 0] would reorder the
     * labels (see tc__head): fitted again with d at the bound it passed,
     * so that a, b and c fit that d rather than the one cut off */
    if (isfinite(w[0]) && isfinite(w[1]) &&
        (w[1] > 0 || w[1] < -(double)TC__RIVAL_MAX * w[0])) {
        fs.free_d = 0;
        fs.share = w[1] > 0 ? 0 : -(double)TC__RIVAL_MAX;
        newton(&fs, w);
        w[1] = fs.share * w[0];
    }
    tc__free(t);
    for (j = 0; j < NW; j++) {
        if (!isfinite(w[j])) {
            return TC_OK; /* a degenerate set: the plain sigmoid */
        }
    }
    a = clamp(w[0], A_MIN, A_MAX);
    hd->calib_a = (float)a;
    /* the bound in float, as tc__weights_check computes it */
    hd->calib_d = (float)clamp(w[1], -TC__RIVAL_MAX * hd->calib_a, 0);
    hd->calib_c = (float)clamp(w[2], -BC_MAX, BC_MAX);
    hd->calib_b = (float)clamp(w[3], -BC_MAX, BC_MAX);
    return TC_OK;
}

/* ---- the held-out passes ------------------------------------------------ */

/*
 * A text of made-up words (one to six of three to nine letters, drawn
 * from rng): what a model sees of input unlike any of its training, for
 * calibration to learn that such a text's best label is not to be
 * trusted. Writes it NUL-terminated into buf (at least 64 bytes).
 */
static void junk_text(char *buf, uint64_t *rng)
{
    size_t words = 1 + (size_t)(tc__splitmix(rng) % 6), w, k, n = 0;

    for (w = 0; w < words; w++) {
        size_t len = 3 + (size_t)(tc__splitmix(rng) % 7);

        for (k = 0; k < len; k++) {
            buf[n++] = (char)('a' + tc__splitmix(rng) % 26);
        }
        buf[n++] = ' ';
    }
    buf[n - 1] = '\0';
}

/* The raw scores of head hd's best label and of its rival in scores (all
 * outputs'), into x and r; *right receives whether the best is gold. */
static void best_raw(const tc__head *hd, const float *scores, float *x,
                     float *r, uint8_t *right, uint32_t gold)
{
    uint32_t best;

    tc__top2(hd, scores, &best, x, r);
    *right = best == gold;
}

/* The intent label of example e: the first target, heads[0] being first. */
static uint32_t intent_of(const tc__dataset *d, size_t e)
{
    return d->tgt[d->toff[e]].label;
}

/*
 * Assigns each example a fold for the calibration passes, stratified by
 * intent and drawn from the seed. With nfolds > 1 every example lands in
 * one fold, each label's examples dealt round-robin from a rotating start
 * (so that labels with one example do not all fall in the same fold).
 * With nfolds == 1, fold 0 takes about `share` of each label's examples,
 * at least one of any label that has two, and the rest get fold 1.
 */
static int assign_folds(const tc__dataset *d, const tc_model *m,
                        unsigned nfolds, double share, uint8_t *fold)
{
    const tc__head *hd = &m->heads[0];
    uint32_t *start, *perm, l;
    uint64_t rng = m->hp.seed ^ 0xCA11B8A7EULL;
    size_t i, rot = 0;

    start = tc__calloc((size_t)hd->nlabels + 2, sizeof(uint32_t));
    perm = tc__calloc(d->n ? d->n : 1, sizeof(uint32_t));
    if (!start || !perm) {
        tc__free(start);
        tc__free(perm);
        return TC_ENOMEM;
    }
    /* the examples grouped by label: a counting sort */
    for (i = 0; i < d->n; i++) {
        start[intent_of(d, i) + 2]++;
    }
    for (l = 0; l < hd->nlabels; l++) {
        start[l + 2] += start[l + 1];
    }
    for (i = 0; i < d->n; i++) {
        perm[start[intent_of(d, i) + 1]++] = (uint32_t)i;
    }
    for (l = 0; l < hd->nlabels; l++) {
        size_t a = start[l], n = start[l + 1] - a, take, k;

        for (k = n; k > 1; k--) { /* Fisher-Yates within the label */
            size_t j = (size_t)(tc__splitmix(&rng) % k);
            uint32_t x = perm[a + k - 1];

            perm[a + k - 1] = perm[a + j];
            perm[a + j] = x;
        }
        take = (size_t)floor((double)n * share + 0.5);
        take = take == 0 && n >= 2 ? 1 : take;
        for (k = 0; k < n; k++) {
            fold[perm[a + k]] =
                (uint8_t)(nfolds > 1 ? (k + rot) % nfolds : (k < take ? 0 : 1));
        }
        rot += n;
    }
    tc__free(start);
    tc__free(perm);
    return TC_OK;
}

/*
 * Fits each single-label head's link on held-out examples: the best
 * label's raw score against whether it was the right one, under weights
 * trained without them. Large sets hold out one tenth once (at most
 * CALIB_MAX examples); smaller ones are cross-fitted in CALIB_FOLDS folds,
 * so that every example is held out once and the fit has enough points.
 * *share receives the part of the whole training these passes take.
 */
int tc__calibrate(tc_model *m, const tc__dataset *d, int threads,
                  const tc_train_options *opt, const tc__rows *rw,
                  double *share)
{
    size_t n = d->n, nh = m->nheads, nfit, nheld, njunk, i, h, total = 0;
    unsigned nfolds = (double)n * CALIB_SHARE >= CALIB_ONCE ? 1 : CALIB_FOLDS;
    double part = nfolds > 1 ? 1.0 : CALIB_SHARE, done = 0;
    uint8_t *fold = tc__calloc(n ? n : 1, 1), *y;
    uint32_t *fit = tc__calloc(n ? n : 1, sizeof(uint32_t)), *held;
    float *x, *rv, *ev, *work;
    size_t cap = n + n / CALIB_JUNK + CALIB_JUNK_MIN + CALIB_FOLDS;
    uint64_t rng = m->hp.seed ^ 0x6a756e6bULL;
    size_t *nxy = tc__calloc(nh, sizeof(size_t));
    unsigned f;
    tc__pass ps;
    int rc = TC_ENOMEM;

    memset(&ps, 0, sizeof(ps));
    *share = 0;
    held = tc__calloc(n ? n : 1, sizeof(uint32_t));
    x = tc__calloc(cap * nh, sizeof(float));
    rv = tc__calloc(cap * nh, sizeof(float));
    ev = tc__calloc(cap * nh, sizeof(float));
    y = tc__calloc(cap * nh, 1);
    work = tc__calloc((size_t)m->stride + m->nout_pad, sizeof(float));
    if (!fold || !fit || !held || !x || !rv || !ev || !y || !work || !nxy) {
        goto done;
    }
    if ((double)n * part > CALIB_MAX) {
        part = (double)CALIB_MAX / (double)n;
    }
    if (assign_folds(d, m, nfolds, part, fold) != TC_OK) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        total += nfolds > 1 ? nfolds - 1 : fold[i] != 0;
    }
    rc = TC_OK;
    if (n < CALIB_MIN || total == 0) {
        goto done; /* the plain sigmoid stays */
    }
    *share = (double)total / (double)(total + n);
    ps.progress = opt ? opt->progress : NULL;
    ps.progress_userdata = opt ? opt->progress_userdata : NULL;
    for (f = 0; f < nfolds && rc == TC_OK; f++) {
        for (i = nfit = nheld = 0; i < n; i++) {
            if (fold[i] == f) {
                held[nheld++] = (uint32_t)i;
            } else {
                fit[nfit++] = (uint32_t)i;
            }
        }
        if (nheld == 0 || nfit == 0) {
            continue;
        }
        tc__pass_free(&ps);
        ps.from = *share * done / (double)total;
        ps.span = *share * (double)nfit / (double)total;
        done += (double)nfit;
        rc = tc__pass_run(&ps, m, d, fit, nfit, threads, rw);
        for (i = 0; i < nheld && rc == TC_OK; i++) {
            const tc__target *t = d->tgt + d->toff[held[i]];
            size_t nt = d->toff[held[i] + 1] - d->toff[held[i]], k;
            float e = tc__pass_scores(&ps, d->feat + d->foff[held[i]],
                                      d->foff[held[i] + 1] - d->foff[held[i]],
                                      work, work + m->stride);

            for (k = 0; k < nt; k++) {
                const tc__head *hd = &m->heads[t[k].head];

                if (!hd->multi) {
                    h = t[k].head;
                    best_raw(hd, work + m->stride, &x[h * cap + nxy[h]],
                             &rv[h * cap + nxy[h]], &y[h * cap + nxy[h]],
                             t[k].label);
                    ev[h * cap + nxy[h]++] = e;
                }
            }
        }
        /* made-up texts, whose best label is never right */
        njunk = nheld / CALIB_JUNK + (CALIB_JUNK_MIN + nfolds - 1) / nfolds;
        for (i = 0; rc == TC_OK && i < njunk; i++) {
            char text[64];
            tc__scratch sc;
            tc__err err;
            float e;

            junk_text(text, &rng);
            if ((rc = tc__featurize(&sc, m, text, strlen(text), 0, &err)) !=
                TC_OK) {
                break;
            }
            e = tc__pass_scores(&ps, sc.feat, sc.nfeat, work, work + m->stride);
            tc__scratch_done(&sc);
            for (h = 0; h < nh; h++) {
                if (!m->heads[h].multi) {
                    best_raw(&m->heads[h], work + m->stride,
                             &x[h * cap + nxy[h]], &rv[h * cap + nxy[h]],
                             &y[h * cap + nxy[h]], UINT32_MAX);
                    ev[h * cap + nxy[h]++] = e;
                }
            }
        }
    }
    for (h = 0; h < nh && rc == TC_OK; h++) {
        if (nxy[h] >= CALIB_MIN) {
            rc = tc__calib_fit(x + h * cap, rv + h * cap, ev + h * cap,
                               y + h * cap, nxy[h], &m->heads[h]);
        }
    }
done:
    tc__pass_free(&ps);
    tc__free(fold);
    tc__free(fit);
    tc__free(held);
    tc__free(x);
    tc__free(rv);
    tc__free(ev);
    tc__free(y);
    tc__free(work);
    tc__free(nxy);
    return rc;
}
