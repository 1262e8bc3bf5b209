/*
 * model_train.c - training the built-in classifier from JSON Lines. The
 * model is fastText's: hashed feature rows averaged into a hidden vector,
 * one output layer per head, every label trained one-vs-all by SGD with
 * a linearly decaying learning rate and a clipped gradient. Training is
 * deterministic on one thread (the default); more threads share the
 * weights without locks (Hogwild) and give a different model every run.
 *
 * A training is passes over the data: first those of the calibration
 * (model_calib.c), which learn without a held-out part of the data only to
 * fit each head's link on it (a model is always surer of what it learned
 * from), then one on all of the data, which keeps that link. A model whose
 * weights ended out of range is never returned, so it can never be saved.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "model/model_data.h"
#include "model/model_train.h"

/*
 * Defaults: see the sweep summarized in BENCHMARKS.md ("Choosing the
 * defaults"), which picked them for the worst of the sets of
 * bench/suite.sh, on dev splits of their training files.
 */
#define DEF_EPOCHS 8
#define DEF_LR 3.0
#define DEF_DIM 48
#define DEF_BUCKETS 200000
#define DEF_WORD_NGRAMS 2
#define DEF_MINN 4
#define DEF_MAXN 4
#define DEF_SEED 42
#define DEF_THREADS 1

/* ---- options ------------------------------------------------------------ */

void tc__train_options_init(tc_train_options *opt)
{
    if (!opt) {
        return;
    }
    memset(opt, 0, sizeof(*opt));
    opt->version = TC_TRAIN_OPTIONS_VERSION;
    opt->minn = -1;
    opt->maxn = -1;
}

/* Hyper-parameters from options and defaults; message on a bad value. */
static int resolve(tc__hparams *hp, int *threads, const tc_train_options *o,
                   tc__err *err)
{
    tc_train_options def;

    if (!o) {
        tc__train_options_init(&def);
        o = &def;
    }
    if (o->version < 1) {
        return tc__errf(err, TC_EINVAL,
                        "options: version %u (use "
                        "tc_train_options_init)",
                        o->version);
    }
    hp->epochs = o->epochs > 0 ? (uint32_t)o->epochs : DEF_EPOCHS;
    hp->lr = o->lr > 0 ? (float)o->lr : (float)DEF_LR;
    hp->dim = o->dim > 0 ? (uint32_t)o->dim : DEF_DIM;
    hp->buckets = o->buckets ? o->buckets : DEF_BUCKETS;
    hp->word_ngrams =
        o->word_ngrams > 0 ? (uint32_t)o->word_ngrams : DEF_WORD_NGRAMS;
    hp->minn = o->minn < 0 ? DEF_MINN : (uint32_t)o->minn;
    hp->maxn = o->maxn < 0 ? DEF_MAXN : (uint32_t)o->maxn;
    if (hp->minn == 0 || hp->maxn == 0) {
        hp->minn = hp->maxn = 0;
    }
    hp->seed = o->seed ? o->seed : DEF_SEED;
    if (hp->epochs > TC__MAX_EPOCHS || !(o->lr <= 100) ||
        hp->dim > TC__MAX_DIM || hp->buckets > TC__MAX_BUCKETS ||
        hp->word_ngrams > TC__MAX_WORD_NGRAMS || hp->maxn > TC__MAX_CHARN ||
        hp->minn > hp->maxn) {
        return tc__errf(err, TC_EINVAL,
                        "options: out of range (epochs <= %d, lr <= 100, "
                        "dim <= %d, buckets <= %d, word_ngrams <= %d, "
                        "minn <= maxn <= %d)",
                        TC__MAX_EPOCHS, TC__MAX_DIM, TC__MAX_BUCKETS,
                        TC__MAX_WORD_NGRAMS, TC__MAX_CHARN);
    }
    *threads = o->threads > 0 ? o->threads : DEF_THREADS;
    if (*threads > 64) {
        *threads = 64;
    }
    return TC_OK;
}

/* The out-of-scope label named by the options, found among the intents. */
static int resolve_oos(tc_model *m, const tc_train_options *o, tc__err *err)
{
    int l;

    m->oos = -1;
    if (!o || o->version < 2 || !o->oos_label) {
        return TC_OK;
    }
    l = tc__label_find(&m->heads[0], o->oos_label);
    if (l < 0) {
        return tc__errf(err, TC_EINVAL,
                        "oos_label: no example has the intent \"%.100s\"",
                        o->oos_label);
    }
    if (m->heads[0].nlabels < 2) {
        return tc__errf(err, TC_EINVAL,
                        "oos_label: \"%.100s\" is the only intent",
                        o->oos_label);
    }
    m->oos = l;
    return TC_OK;
}

/* ---- training ----------------------------------------------------------- */

/*
 * Gives m the trained float weights, quantized, and checks them: a weight
 * out of range fails the training with TC_ERANGE. Then the first version,
 * with no correction, is published.
 */
static int finish(tc_model *m, const tc__pass *ps, const tc__rows *rw,
                  tc__err *err)
{
    tc__version *v = NULL;
    size_t i, k;
    int rc = TC_OK;

    /* the float rows first: quantizing would hide a NaN; rows no example
     * reaches are zero, in the float matrix and in the weights */
    for (i = 0; i < rw->nused && rc == TC_OK; i++) {
        const float *row = ps->in + (size_t)rw->used[i] * m->stride;

        for (k = 0; k < m->hp.dim && rc == TC_OK; k++) {
            if (!(fabsf(row[k]) <= TC__WEIGHT_MAX)) {
                rc = tc__errf(err, TC_ERANGE, "input row %u holds %g",
                              rw->used[i], (double)row[k]);
            }
        }
    }
    if (rc == TC_OK && tc__weights_alloc(m) != TC_OK) {
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    if (rc == TC_OK) {
        for (i = 0; i < rw->nused; i++) {
            uint32_t r = rw->used[i];

            tc__quantize_row(m, ps->in + (size_t)r * m->stride,
                             m->w.in_q + (size_t)r * m->stride,
                             &m->w.in_scale[r]);
        }
        memcpy(m->w.out, ps->out, (size_t)m->nout * m->stride * sizeof(float));
        memcpy(m->w.bias, ps->bias, m->nout * sizeof(float));
        tc__weights_transpose(m);
        rc = tc__weights_check(m, err);
    }
    if (rc == TC_ERANGE) {
        char why[TC__ERR_MAX / 2];

        snprintf(why, sizeof(why), "%.*s", (int)sizeof(why) - 1, err->msg);
        return tc__errf(err, rc,
                        "training diverged (%s) at learning rate %g: try a "
                        "lower one",
                        why, (double)m->hp.lr);
    }
    if (tc__weights_wvec(m) != TC_OK || !(v = tc__version_new()) ||
        tc__version_fingerprint(m, v) != TC_OK) {
        tc__version_free(v);
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    tc__model_publish(m, v);
    return TC_OK;
}

static int train(tc_model **out, const char *data, size_t len,
                 const tc_train_options *opt, const char *src)
{
    tc__hparams hp;
    tc__dataset d;
    tc__err err;
    tc__pass ps;
    tc__rows rw;
    tc_model *m = NULL;
    uint32_t *all = NULL;
    size_t i;
    int threads = 1, rc;

    memset(&d, 0, sizeof(d));
    memset(&ps, 0, sizeof(ps));
    memset(&rw, 0, sizeof(rw));
    err.msg[0] = '\0';
    rc = resolve(&hp, &threads, opt, &err);
    if (rc != TC_OK) {
        goto done;
    }
    m = tc__model_new(&hp);
    if (!m) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto done;
    }
    m->features = TC__FEATURE_END;
    rc = tc__dataset_parse(&d, m, data, len, src, &err);
    if (rc != TC_OK) {
        goto done;
    }
    if (tc__dataset_take_heads(m, &d) != TC_OK) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto done;
    }
    rc = resolve_oos(m, opt, &err);
    if (rc != TC_OK) {
        goto done;
    }
    if (tc__rows_init(&rw, m, &d) != TC_OK) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto done;
    }
    rc = tc__calibrate(m, &d, threads, opt, &rw, &ps.from);
    if (rc != TC_OK) {
        tc__errf(&err, rc, "out of memory");
        goto done;
    }
    all = tc__calloc(d.n, sizeof(uint32_t));
    if (!all) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < d.n; i++) {
        all[i] = (uint32_t)i;
    }
    ps.progress = opt ? opt->progress : NULL;
    ps.progress_userdata = opt ? opt->progress_userdata : NULL;
    ps.span = 1.0 - ps.from;
    rc = tc__pass_run(&ps, m, &d, all, d.n, threads, &rw);
    if (rc == TC_OK) {
        rc = tc__dataset_take_vocab(m, &d);
    }
    if (rc == TC_OK) {
        rc = tc__dataset_take_refs(m, &d);
    }
    if (rc != TC_OK) {
        tc__errf(&err, rc, "out of memory");
        goto done;
    }
    rc = finish(m, &ps, &rw, &err);
    if (rc == TC_OK && ps.progress) {
        ps.progress(ps.progress_userdata, 1.0, 0);
    }
done:
    tc__pass_free(&ps);
    tc__rows_free(&rw);
    tc__free(all);
    tc__dataset_free(&d);
    if (rc != TC_OK) {
        tc__model_free(m);
        return tc__fail(rc, "%s", err.msg);
    }
    *out = m;
    return TC_OK;
}

int tc__model_train(tc_model **out, const char *data, size_t len,
                    const tc_train_options *opt)
{
    return train(out, data ? data : "", len, opt, NULL);
}

int tc__model_train_file(tc_model **out, const char *path,
                         const tc_train_options *opt)
{
    char *data = NULL;
    size_t len = 0;
    tc__err err;
    int rc;

    if (strcmp(path, "-") == 0) {
        return tc__fail(TC_EINVAL,
                        "path \"-\" is not accepted: read stdin yourself");
    }
    if ((rc = tc__read_file(path, 0, &data, &len, &err)) != TC_OK) {
        return tc__fail(rc, "%s", err.msg);
    }
    rc = train(out, data, len, opt, path);
    tc__free(data);
    return rc;
}
