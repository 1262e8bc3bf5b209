/*
 * model_forward.c - the built-in classifier's forward pass: the mean of a
 * text's feature rows, one score per label and each head's calibrated
 * link; the weights' derived tables it reads. Prediction, calibration and
 * the corrections' memory all go through here.
 */
#include <string.h>

#include "model/model.h"

/* hidden += sc * q, over one row; restrict lets the compiler vectorize
 * (int8_t is a character type and could otherwise alias hidden). */
static void add_row(float *restrict hidden, const int8_t *restrict q, float sc,
                    size_t stride)
{
    size_t i;
    int k;

    for (i = 0; i < stride; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            hidden[i + k] += sc * (float)q[i + k];
        }
    }
}

void tc__hidden(const tc_model *m, const uint32_t *feat, size_t nfeat,
                float *hidden)
{
    const tc__weights *w = &m->w;
    size_t stride = m->stride, f;
    float inv;

    memset(hidden, 0, stride * sizeof(float));
    if (nfeat == 0) {
        return;
    }
    inv = 1.0f / (float)nfeat;
    for (f = 0; f < nfeat; f++) {
        /* rows are scattered: ask for later ones while adding this one */
        if (f + 8 < nfeat) {
            __builtin_prefetch(w->in_q + (size_t)feat[f + 8] * stride);
        }
        add_row(hidden, w->in_q + (size_t)feat[f] * stride,
                w->in_scale[feat[f]] * inv, stride);
    }
}

/* hidden += x, over one row of floats. */
static void add_vec(float *restrict hidden, const float *restrict x,
                    size_t stride)
{
    size_t i;
    int k;

    for (i = 0; i < stride; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            hidden[i + k] += x[i + k];
        }
    }
}

float tc__hidden_known(const tc_model *m, const tc__scratch *s, float *hidden)
{
    const tc__weights *w = &m->w;
    size_t stride = m->stride, total = s->nfeat + s->nown, f, reached;
    size_t own = s->nfeat - (s->nfeat > 0 && (m->features & TC__FEATURE_END));
    const uint32_t *feat = s->feat;
    float inv;

    memset(hidden, 0, stride * sizeof(float));
    if (total == 0) {
        return 0;
    }
    inv = 1.0f / (float)total;
    /* the rows are scattered: ask for the first ones while the word
     * vectors are added, and for later ones while rows are */
    for (f = 0; f < s->nfeat && f < 16; f++) {
        __builtin_prefetch(w->in_q + (size_t)feat[f] * stride);
        __builtin_prefetch(&w->in_scale[feat[f]]);
    }
    for (f = 0; f < s->nknown; f++) {
        add_vec(hidden, w->wvec + (size_t)s->known[f] * stride, stride);
    }
    for (f = 0; f < s->nfeat; f++) {
        if (f + 16 < s->nfeat) {
            __builtin_prefetch(w->in_q + (size_t)feat[f + 16] * stride);
            __builtin_prefetch(&w->in_scale[feat[f + 16]]);
        }
        add_row(hidden, w->in_q + (size_t)feat[f] * stride,
                w->in_scale[feat[f]], stride);
    }
    for (f = 0; f < stride; f++) {
        hidden[f] *= inv;
    }
    for (f = 0, reached = s->nown; f < own; f++) {
        reached += w->in_scale[feat[f]] != 0;
    }
    return own + s->nown ? (float)reached / (float)(own + s->nown) : 0;
}

int tc__weights_wvec(tc_model *m)
{
    const tc__vocab *vc = &m->vocab;
    tc__weights *w = &m->w;
    size_t stride = m->stride;
    uint32_t i, f;

    if (vc->n == 0) {
        return TC_OK;
    }
    if (!w->wvec &&
        !(w->wvec = tc__calloc((size_t)vc->n * stride, sizeof(float)))) {
        return TC_ENOMEM;
    }
    for (i = 0; i < vc->n; i++) {
        float *out = w->wvec + (size_t)i * stride;

        memset(out, 0, stride * sizeof(float));
        for (f = vc->off[i]; f < vc->off[i + 1]; f++) {
            add_row(out, w->in_q + (size_t)vc->feat[f] * stride,
                    w->in_scale[vc->feat[f]], stride);
        }
    }
    return TC_OK;
}

void tc__weights_transpose(tc_model *m)
{
    tc__weights *w = &m->w;
    uint32_t o, i;

    for (o = 0; o < m->nout; o++) {
        for (i = 0; i < m->hp.dim; i++) {
            w->out_t[(size_t)i * m->nout_pad + o] =
                w->out[(size_t)o * m->stride + i];
        }
    }
}

void tc__scores(const tc_model *m, const float *hidden, float *scores)
{
    uint32_t i;

    memcpy(scores, m->w.bias, m->nout * sizeof(float));
    memset(scores + m->nout, 0, (m->nout_pad - m->nout) * sizeof(float));
    for (i = 0; i < m->hp.dim; i++) {
        tc__axpy(scores, hidden[i], m->w.out_t + (size_t)i * m->nout_pad,
                 m->nout_pad);
    }
}

void tc__top2(const tc__head *hd, const float *scores, uint32_t *best,
              float *s1, float *s2)
{
    const float *s = scores + hd->first;
    uint32_t l, b = 0;
    float second = 0;
    int have = 0;

    for (l = 1; l < hd->nlabels; l++) {
        if (s[l] > s[b]) {
            second = s[b];
            b = l;
            have = 1;
        } else if (!have || s[l] > second) {
            second = s[l];
            have = 1;
        }
    }
    *best = b;
    *s1 = s[b];
    *s2 = second;
}

void tc__probabilities(const tc_model *m, float *scores, float evidence)
{
    size_t h;
    uint32_t i, best;

    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        float *s = scores + hd->first, s1, s2;

        /* every label's rival is the best, the best's is the second */
        tc__top2(hd, scores, &best, &s1, &s2);
        for (i = 0; i < hd->nlabels; i++) {
            s[i] = tc__link(hd, s[i], i == best ? s2 : s1, evidence);
        }
    }
}

uint32_t tc__best(const tc__head *hd, const float *p)
{
    uint32_t l, best = 0;

    for (l = 1; l < hd->nlabels; l++) {
        best = p[hd->first + l] > p[hd->first + best] ? l : best;
    }
    return best;
}
