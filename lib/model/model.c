/*
 * model.c - the built-in classifier as an object: its tables and weights,
 * fixed once it is trained or loaded, and the versions of its memory of
 * corrections, which an update replaces while other threads predict. A
 * replaced version is freed once no reader can hold it (see "reading the
 * current version").
 */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/model.h"

/* ---- models, weights and versions ------------------------------------- */

tc_model *tc__model_new(const tc__hparams *hp)
{
    tc_model *m = tc__calloc(1, sizeof(*m));

    if (!m) {
        return NULL;
    }
    if (pthread_mutex_init(&m->update_mu, NULL) != 0) {
        tc__free(m);
        return NULL;
    }
    m->hp = *hp;
    m->oos = -1;
    m->radius = TC__MEMORY_RADIUS;
    m->stride = (hp->dim + TC__LANES - 1) / TC__LANES * TC__LANES;
    atomic_init(&m->cur, NULL);
    atomic_init(&m->phase, 0);
    return m;
}

int tc__weights_alloc(tc_model *m)
{
    tc__weights *w = &m->w;

    /*
     * Rows of 64 int8 values (dim <= 64) on 64-byte boundaries: reading a
     * feature's row touches exactly one cache line.
     */
    w->in_base = tc__calloc((size_t)m->hp.buckets * m->stride + 63, 1);
    w->in_q = w->in_base
                  ? (int8_t *)(((uintptr_t)w->in_base + 63) & ~(uintptr_t)63)
                  : NULL;
    w->in_scale = tc__calloc(m->hp.buckets, sizeof(float));
    w->out = tc__calloc((size_t)m->nout * m->stride + 1, sizeof(float));
    w->out_t = tc__calloc((size_t)m->nout_pad * m->hp.dim + 1, sizeof(float));
    w->bias = tc__calloc((size_t)m->nout + 1, sizeof(float));
    if (!w->in_q || !w->in_scale || !w->out || !w->out_t || !w->bias) {
        return TC_ENOMEM;
    }
    return TC_OK;
}

static void weights_free(tc__weights *w)
{
    tc__free(w->in_base);
    tc__free(w->in_scale);
    tc__free(w->out);
    tc__free(w->out_t);
    tc__free(w->bias);
    tc__free(w->wvec);
    memset(w, 0, sizeof(*w));
}

int tc__weights_check(const tc_model *m, tc__err *why)
{
    const tc__weights *w = &m->w;
    size_t h, i, n = (size_t)m->nout * m->stride;
    uint32_t r;

    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];

        /* d within [-TC__RIVAL_MAX * a, 0]: the link keeps the order */
        if (!(hd->calib_a > 0 && hd->calib_a <= TC__WEIGHT_MAX) ||
            !(fabsf(hd->calib_b) <= TC__WEIGHT_MAX) ||
            !(fabsf(hd->calib_c) <= TC__WEIGHT_MAX) ||
            !(hd->calib_d <= 0 &&
              hd->calib_d >= -TC__RIVAL_MAX * hd->calib_a)) {
            return tc__errf(why, TC_ERANGE,
                            "head %s: calibration %g, %g, %g, %g", hd->name,
                            (double)hd->calib_a, (double)hd->calib_b,
                            (double)hd->calib_c, (double)hd->calib_d);
        }
    }
    for (r = 0; r < m->hp.buckets; r++) {
        if (!(w->in_scale[r] >= 0 &&
              w->in_scale[r] <= TC__WEIGHT_MAX / 127.0f)) {
            return tc__errf(why, TC_ERANGE, "input row %u: scale %g", r,
                            (double)w->in_scale[r]);
        }
    }
    for (i = 0; i < n; i++) {
        if (!(fabsf(w->out[i]) <= TC__WEIGHT_MAX)) {
            return tc__errf(why, TC_ERANGE, "output weight %zu: %g", i,
                            (double)w->out[i]);
        }
    }
    for (i = 0; i < m->nout; i++) {
        if (!(fabsf(w->bias[i]) <= TC__WEIGHT_MAX)) {
            return tc__errf(why, TC_ERANGE, "bias %zu: %g", i,
                            (double)w->bias[i]);
        }
    }
    return TC_OK;
}

void tc__mem_entry_unref(tc__mem_entry *e)
{
    if (e && --e->refs == 0) {
        tc__free(e->text);
        tc__free(e->t);
        tc__free(e->wh);
        tc__free(e->ww);
        tc__free(e);
    }
}

void tc__memory_free(tc__memory *mem)
{
    size_t i;

    for (i = 0; i < mem->n; i++) {
        tc__mem_entry_unref(mem->e[i]);
    }
    tc__free(mem->e);
    tc__free(mem->by_base);
    tc__free(mem->base_off);
    memset(mem, 0, sizeof(*mem));
}

tc__version *tc__version_new(void)
{
    return tc__calloc(1, sizeof(tc__version));
}

void tc__version_free(tc__version *v)
{
    if (v) {
        tc__memory_free(&v->mem);
        tc__free(v);
    }
}

void tc__model_free(tc_model *m)
{
    size_t i, j;

    if (!m) {
        return;
    }
    tc__version_free(atomic_load(&m->cur));
    weights_free(&m->w);
    for (i = 0; i < m->nheads; i++) {
        for (j = 0; j < m->heads[i].nlabels; j++) {
            tc__free(m->heads[i].labels[j]);
        }
        tc__free(m->heads[i].labels);
        tc__free(m->heads[i].name);
    }
    tc__free(m->heads);
    for (i = 0; i < m->vocab.n; i++) {
        tc__free(m->vocab.words[i]);
    }
    tc__free(m->vocab.words);
    tc__free(m->vocab.hash);
    tc__free(m->vocab.off);
    tc__free(m->vocab.feat);
    tc__free(m->vocab.len);
    tc__free(m->vocab.slots);
    tc__free(m->vocab.df);
    for (i = 0; i < m->nrefs; i++) {
        tc__free(m->ref_text[i]);
    }
    tc__free(m->ref_text);
    tc__free(m->ref_label);
    pthread_mutex_destroy(&m->update_mu);
    tc__free(m);
}

const char *tc__model_oos_label(const tc_model *m)
{
    return m->oos >= 0 ? m->heads[0].labels[m->oos] : NULL;
}

int tc__head_find(const tc_model *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->nheads; i++) {
        if (strcmp(m->heads[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int tc__label_find(const tc__head *h, const char *label)
{
    uint32_t i;

    for (i = 0; i < h->nlabels; i++) {
        if (strcmp(h->labels[i], label) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void tc__quantize_row(const tc_model *m, const float *row, int8_t *q,
                      float *scale)
{
    float mx = 0, inv;
    uint32_t i;

    for (i = 0; i < m->hp.dim; i++) {
        float a = fabsf(row[i]);

        mx = a > mx ? a : mx;
    }
    memset(q, 0, m->stride);
    if (!(mx > 0) || !isfinite(mx)) {
        *scale = 0;
        return;
    }
    *scale = mx / 127.0f;
    inv = 127.0f / mx;
    for (i = 0; i < m->hp.dim; i++) {
        q[i] = (int8_t)lrintf(row[i] * inv);
    }
}

/* ---- reading the current version -------------------------------------- */

/*
 * Reclamation of replaced versions: sleepable-RCU style reader counts.
 * A reader adds itself to the counter of the current phase (one of two),
 * then loads the version; an updater, which runs alone under update_mu,
 * swaps the pointer, then flips the phase twice and after each flip waits
 * for the counter of the phase it left to drain. A reader that loaded the
 * old pointer incremented some phase's counter before the swap (all these
 * operations are sequentially consistent), and the two waits, both after
 * the swap, cover both phases, so the old version is freed only when no
 * reader can hold it. Readers that arrive after a flip count on the
 * other phase, so a steady stream of predictions cannot starve the
 * updater. Readers pay two uncontended atomic adds: the counters are
 * striped per thread, on separate cache lines. Reference counts on the
 * version itself would need a safe way to increment a count of an object
 * that may be freed meanwhile; keeping every retired version until
 * tc_model_free would grow without bound under a stream of corrections.
 */
_Atomic long *tc__read_enter(const tc_model *cm, tc__version **v)
{
    tc_model *m = (tc_model *)cm; /* the counters are not the model's state */
    unsigned ph = atomic_load(&m->phase) & 1;
    unsigned s = tc__stripe_mine;
    _Atomic long *c;

    if (s >= TC__STRIPES) {
        s = tc__stripe_take();
    }
    c = &m->readers[ph][s].n;
    atomic_fetch_add(c, 1);
    *v = atomic_load(&m->cur);
    return c;
}

void tc__read_leave(_Atomic long *c)
{
    atomic_fetch_sub(c, 1);
}

void tc__model_publish(tc_model *m, tc__version *v)
{
    tc__version *old = atomic_exchange(&m->cur, v);
    int flip, i;

    for (flip = 0; flip < 2; flip++) {
        unsigned ph = atomic_fetch_add(&m->phase, 1) & 1;

        for (i = 0; i < TC__STRIPES; i++) {
            while (atomic_load(&m->readers[ph][i].n) != 0) {
                sched_yield();
            }
        }
    }
    tc__version_free(old);
}

/* ---- fingerprint and info -------------------------------------------- */

void tc__model_fingerprint(char *buf, const tc_model *m)
{
    tc__version *v;
    _Atomic long *rd = tc__read_enter(m, &v);

    memcpy(buf, v->fingerprint, TC_FINGERPRINT_LEN + 1);
    tc__read_leave(rd);
}
