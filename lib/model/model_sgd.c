/*
 * model_sgd.c - the arithmetic of training: one SGD step (every label
 * one-vs-all, the hidden gradient clipped) and one pass of epochs over
 * some of the examples, on one thread (exact, reproducible) or several
 * sharing the weights without locks (Hogwild).
 */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "model/model_data.h"
#include "model/model_train.h"

/*
 * Hogwild: training threads read and write the shared weights without
 * synchronization, as fastText does; a lost update among millions costs
 * little and locks would serialize the threads, but the order of the
 * updates, and so the model, then changes from run to run. These are the
 * only intentional data races of the library, so ThreadSanitizer is told
 * to leave these functions alone; with one thread training is exact and
 * reproducible.
 */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define TC__HOGWILD __attribute__((no_sanitize("thread")))
#else
#define TC__HOGWILD
#endif

/* ---- the SGD step ------------------------------------------------------ */

int tc__has_label(const tc__target *t, size_t nt, uint32_t label)
{
    size_t i;

    for (i = 0; i < nt; i++) {
        if (t[i].label == label) {
            return 1;
        }
    }
    return 0;
}

TC__HOGWILD float tc__sgd_step(tc__sgd *c, const uint32_t *feat, size_t nf,
                               const tc__target *t, size_t nt, float lr)
{
    const tc_model *m = c->m;
    size_t stride = m->stride, f, i = 0, j;
    float loss = 0, inv = nf ? 1.0f / (float)nf : 0, g2, scale;

    memset(c->hidden, 0, stride * sizeof(float));
    memset(c->grad, 0, stride * sizeof(float));
    for (f = 0; f < nf; f++) {
        tc__axpy(c->hidden, inv, c->in + (size_t)feat[f] * stride, stride);
    }
    for (; i < nt; i = j) {
        const tc__head *hd = &m->heads[t[i].head];
        float *s = c->scores + hd->first;
        uint32_t l;

        for (j = i; j < nt && t[j].head == t[i].head; j++) {
        }
        for (l = 0; l < hd->nlabels; l++) {
            const float *w = c->out + (size_t)(hd->first + l) * stride;
            float p;
            int y = tc__has_label(t + i, j - i, l);

            s[l] = c->bias[hd->first + l] + tc__dot(w, c->hidden, stride);
            p = 1.0f / (1.0f + expf(-s[l]));
            loss -= logf(y ? p + 1e-7f : 1.0f - p + 1e-7f);
            s[l] = lr * ((float)y - p);
        }
        for (l = 0; l < hd->nlabels; l++) {
            float *w = c->out + (size_t)(hd->first + l) * stride;

            tc__axpy(c->grad, s[l], w, stride);
            if (c->learn_out) {
                float *b = &c->bias[hd->first + l];

                tc__axpy(w, s[l], c->hidden, stride);
                *b += s[l];
                *b = *b > TC__BIAS_MAX    ? TC__BIAS_MAX
                     : *b < -TC__BIAS_MAX ? -TC__BIAS_MAX
                                          : *b;
            }
        }
    }
    g2 = tc__dot(c->grad, c->grad, stride);
    scale = c->row_scale;
    if (g2 > TC__GRAD_CLIP * TC__GRAD_CLIP * lr * lr) {
        scale *= TC__GRAD_CLIP * lr / sqrtf(g2);
    }
    for (f = 0; f < nf; f++) {
        tc__axpy(c->in + (size_t)feat[f] * stride, scale, c->grad, stride);
    }
    return loss;
}

/* ---- one pass of training ---------------------------------------------- */

/* Uniform in [-a, a). */
static float uniform(uint64_t *s, float a)
{
    return a *
           (2.0f * (float)(tc__splitmix(s) >> 40) / (float)(1 << 24) - 1.0f);
}

typedef struct worker {
    tc__pass *ps;
    size_t from, to; /* slice of ps->order */
    tc__sgd c;
    int tid;
    double loss;
    size_t nloss;
} worker;

#define BATCH 32

static void *work(void *arg)
{
    worker *w = arg;
    tc__pass *ps = w->ps;
    const tc__dataset *d = ps->d;
    uint64_t pending = 0, next_report = 0;
    size_t i;

    for (i = w->from; i < w->to; i++) {
        uint32_t e = ps->order[i];
        uint64_t done = atomic_load_explicit(&ps->done, memory_order_relaxed);
        float frac = (float)(done + pending) / (float)ps->total;
        float lr = ps->m->hp.lr * (frac < 1.0f ? 1.0f - frac : 0.0f);
        size_t nf = d->foff[e + 1] - d->foff[e];

        w->c.row_scale = nf ? 1.0f / (float)nf : 0;
        w->loss +=
            tc__sgd_step(&w->c, d->feat + d->foff[e], nf, d->tgt + d->toff[e],
                         d->toff[e + 1] - d->toff[e], lr);
        w->nloss++;
        if (++pending == BATCH) {
            atomic_fetch_add_explicit(&ps->done, pending, memory_order_relaxed);
            pending = 0;
        }
        if (w->tid == 0 && ps->progress && done >= next_report) {
            ps->progress(ps->progress_userdata, ps->from + ps->span * frac,
                         w->nloss ? w->loss / (double)w->nloss : 0);
            w->loss = 0;
            w->nloss = 0;
            next_report = done + ps->total / 100 + 1;
        }
    }
    atomic_fetch_add_explicit(&ps->done, pending, memory_order_relaxed);
    return NULL;
}

static int run_epochs(tc__pass *ps, int nthreads)
{
    tc_model *m = ps->m;
    worker *w;
    pthread_t *tids;
    float *buf;
    uint64_t rng = m->hp.seed;
    size_t per = 2 * (size_t)m->stride + m->nout, n = ps->nex, i, e;
    int t, started, rc = TC_OK;

    w = tc__calloc((size_t)nthreads, sizeof(*w));
    tids = tc__calloc((size_t)nthreads, sizeof(*tids));
    buf = tc__calloc((size_t)nthreads * per, sizeof(float));
    if (!w || !tids || !buf) {
        rc = TC_ENOMEM;
        goto done;
    }
    for (t = 0; t < nthreads; t++) {
        w[t].ps = ps;
        w[t].tid = t;
        w[t].c.m = m;
        w[t].c.in = ps->in;
        w[t].c.out = ps->out;
        w[t].c.bias = ps->bias;
        w[t].c.learn_out = 1;
        w[t].c.hidden = buf + (size_t)t * per;
        w[t].c.grad = w[t].c.hidden + m->stride;
        w[t].c.scores = w[t].c.grad + m->stride;
    }
    memcpy(ps->order, ps->ex, n * sizeof(uint32_t));
    for (e = 0; e < m->hp.epochs; e++) {
        /* a new order every epoch: the data may come grouped by label */
        for (i = n - 1; i > 0 && n > 0; i--) {
            size_t j = (size_t)(tc__splitmix(&rng) % (i + 1));
            uint32_t x = ps->order[i];

            ps->order[i] = ps->order[j];
            ps->order[j] = x;
        }
        for (t = 0; t < nthreads; t++) {
            w[t].from = n * (size_t)t / (size_t)nthreads;
            w[t].to = n * (size_t)(t + 1) / (size_t)nthreads;
        }
        for (started = 1; started < nthreads; started++) {
            if (pthread_create(&tids[started], NULL, work, &w[started])) {
                break; /* the slices left run on this thread */
            }
        }
        work(&w[0]);
        for (t = started; t < nthreads; t++) {
            work(&w[t]);
        }
        for (t = 1; t < started; t++) {
            pthread_join(tids[t], NULL);
        }
    }
done:
    tc__free(w);
    tc__free(tids);
    tc__free(buf);
    return rc;
}

void tc__pass_free(tc__pass *ps)
{
    tc__free(ps->out);
    tc__free(ps->bias);
    tc__free(ps->order);
    ps->out = ps->bias = NULL;
    ps->order = NULL;
}

/* The rows of m for d: the float matrix and the list of rows in use. */
int tc__rows_init(tc__rows *rw, const tc_model *m, const tc__dataset *d)
{
    uint8_t *seen = tc__calloc((size_t)m->hp.buckets / 8 + 1, 1);
    size_t i;
    uint32_t r;

    memset(rw, 0, sizeof(*rw));
    rw->in = tc__calloc((size_t)m->hp.buckets * m->stride, sizeof(float));
    if (!seen || !rw->in) {
        tc__free(seen);
        return TC_ENOMEM;
    }
    for (i = 0; i < d->nfeat; i++) {
        r = d->feat[i];
        if (!(seen[r / 8] & (1u << (r % 8)))) {
            seen[r / 8] |= (uint8_t)(1u << (r % 8));
            rw->nused++;
        }
    }
    rw->used = tc__calloc(rw->nused ? rw->nused : 1, sizeof(uint32_t));
    for (r = 0, i = 0; rw->used && r < m->hp.buckets; r++) {
        if (seen[r / 8] & (1u << (r % 8))) {
            rw->used[i++] = r;
        }
    }
    tc__free(seen);
    return rw->used ? TC_OK : TC_ENOMEM;
}

void tc__rows_free(tc__rows *rw)
{
    tc__free(rw->in);
    tc__free(rw->used);
}

/*
 * Trains fresh weights on the examples ex[0..nex). Input rows start at
 * zero, so a row no training text reaches adds nothing to a prediction;
 * the output layer starts small and random, which breaks the symmetry.
 */
int tc__pass_run(tc__pass *ps, tc_model *m, const tc__dataset *d,
                 const uint32_t *ex, size_t nex, int threads,
                 const tc__rows *rw)
{
    uint64_t rng = m->hp.seed ^ 0x5DEECE66DULL;
    size_t nout = (size_t)m->nout * m->stride, i;

    for (i = 0; i < rw->nused; i++) {
        memset(rw->in + (size_t)rw->used[i] * m->stride, 0,
               m->stride * sizeof(float));
    }
    ps->m = m;
    ps->d = d;
    ps->ex = ex;
    ps->nex = nex;
    ps->total = (uint64_t)nex * m->hp.epochs;
    atomic_init(&ps->done, 0);
    ps->in = rw->in;
    ps->out = tc__calloc(nout ? nout : 1, sizeof(float));
    ps->bias = tc__calloc(m->nout ? m->nout : 1, sizeof(float));
    ps->order = tc__calloc(nex ? nex : 1, sizeof(uint32_t));
    if (!ps->out || !ps->bias || !ps->order) {
        return TC_ENOMEM;
    }
    for (i = 0; i < nout; i++) {
        ps->out[i] = i % m->stride < m->hp.dim
                         ? uniform(&rng, 1.0f / sqrtf((float)m->hp.dim))
                         : 0.0f;
    }
    /* tiny sets gain nothing from threads */
    if ((size_t)threads > nex / 64 + 1) {
        threads = (int)(nex / 64 + 1);
    }
    return run_epochs(ps, threads);
}

/* Whether training has reached row r (in float, a row it never moved
 * is all zero). */
static int reached(const tc__pass *ps, uint32_t r)
{
    const float *row = ps->in + (size_t)r * ps->m->stride;
    uint32_t k;

    for (k = 0; k < ps->m->hp.dim; k++) {
        if (row[k] != 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Raw scores of a text with features feat[0..nf) under the float weights
 * of ps; returns its evidence, as tc__hidden_known counts it.
 */
float tc__pass_scores(const tc__pass *ps, const uint32_t *feat, size_t nf,
                      float *hidden, float *scores)
{
    const tc_model *m = ps->m;
    size_t f, stride = m->stride, n = 0;
    size_t own = nf - (nf > 0 && (m->features & TC__FEATURE_END));
    uint32_t o;

    memset(hidden, 0, stride * sizeof(float));
    for (f = 0; f < nf; f++) {
        tc__axpy(hidden, 1.0f / (float)nf, ps->in + (size_t)feat[f] * stride,
                 stride);
    }
    for (o = 0; o < m->nout; o++) {
        scores[o] =
            ps->bias[o] + tc__dot(ps->out + (size_t)o * stride, hidden, stride);
    }
    for (f = 0; f < own; f++) {
        n += reached(ps, feat[f]);
    }
    return own ? (float)n / (float)own : 0;
}
