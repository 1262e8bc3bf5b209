/*
 * model.c - the built-in classifier's prediction side: features, the
 * forward pass, top-k results, and the versions that let many threads
 * predict while an update swaps in new weights. A prediction takes no
 * lock and allocates only its result: features are hashed into a
 * scratch buffer and the rows read from one immutable version.
 */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "model.h"
#include "normalize.h"

/* ---- models and versions --------------------------------------------- */

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
    m->stride = (hp->dim + TC__LANES - 1) / TC__LANES * TC__LANES;
    atomic_init(&m->cur, NULL);
    atomic_init(&m->phase, 0);
    return m;
}

tc__version *tc__version_new(const tc_model *m)
{
    tc__version *v = tc__calloc(1, sizeof(*v));

    if (!v) {
        return NULL;
    }
    /*
     * Rows of 64 int8 values (dim <= 64) on 64-byte boundaries: reading a
     * feature's row touches exactly one cache line.
     */
    v->in_base = tc__calloc((size_t)m->hp.buckets * m->stride + 63, 1);
    v->in_q = v->in_base
                  ? (int8_t *)(((uintptr_t)v->in_base + 63) & ~(uintptr_t)63)
                  : NULL;
    v->in_scale = tc__calloc(m->hp.buckets, sizeof(float));
    v->out = tc__calloc((size_t)m->nout * m->stride, sizeof(float));
    v->out_t = tc__calloc((size_t)m->nout_pad * m->hp.dim, sizeof(float));
    v->bias = tc__calloc(m->nout, sizeof(float));
    if (!v->in_q || !v->in_scale || !v->out || !v->out_t || !v->bias) {
        tc__version_free(v);
        return NULL;
    }
    return v;
}

void tc__version_free(tc__version *v)
{
    if (v) {
        tc__free(v->in_base);
        tc__free(v->in_scale);
        tc__free(v->out);
        tc__free(v->out_t);
        tc__free(v->bias);
        tc__free(v->wvec);
        tc__free(v);
    }
}

TC_API void tc_model_free(tc_model *m)
{
    size_t i, j;

    if (!m) {
        return;
    }
    tc__version_free(atomic_load(&m->cur));
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
    pthread_mutex_destroy(&m->update_mu);
    tc__free(m);
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
static _Atomic unsigned next_stripe;
static _Thread_local unsigned my_stripe = UINT32_MAX;

_Atomic long *tc__read_enter(const tc_model *cm, tc__version **v)
{
    tc_model *m = (tc_model *)cm; /* the counters are not the model's state */
    unsigned ph = atomic_load(&m->phase) & 1;
    _Atomic long *c;

    if (my_stripe == UINT32_MAX) {
        my_stripe = atomic_fetch_add(&next_stripe, 1) % TC__STRIPES;
    }
    c = &m->readers[ph][my_stripe].n;
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

/* ---- features -------------------------------------------------------- */

/* Seeds that keep words, word n-grams and character n-grams apart. */
#define SEED_CHAR 0x6368617267726d73ULL
#define MIX_NGRAM 0x9E3779B97F4A7C15ULL

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A bucket from a hash: the high half scaled, with no division. */
static uint32_t bucket(uint64_t h, uint32_t buckets)
{
    return (uint32_t)(((h >> 32) * (uint64_t)buckets) >> 32);
}

static int size_add(size_t *acc, size_t n, size_t count)
{
    if (count && n > (SIZE_MAX - *acc) / count) {
        return -1;
    }
    *acc += n * count;
    return 0;
}

void tc__scratch_done(tc__scratch *s)
{
    tc__free(s->heap);
    s->heap = NULL;
}

/*
 * Lays the scratch buffers out for a text of len bytes. The feature count
 * is bounded by the text: at most len tokens, each with word_ngrams word
 * features, and at most 3 * len code points of "<token>" overall, each
 * starting (maxn - minn + 1) character n-grams.
 */
static int scratch_layout(tc__scratch *s, const tc_model *m, size_t len,
                          size_t extra_floats)
{
    const tc__hparams *hp = &m->hp;
    size_t nng = hp->minn ? hp->maxn - hp->minn + 1 : 0;
    size_t maxfeat = 1, need = 0, o_word, o_cpos, o_known, o_feat, o_float;
    unsigned char *base;

    if (size_add(&maxfeat, len, hp->word_ngrams) ||
        size_add(&maxfeat, len, 3 * nng)) {
        return TC_ENOMEM;
    }
    /* floats first, so they are aligned */
    o_float = 0;
    if (size_add(&need, extra_floats, sizeof(float))) {
        return TC_ENOMEM;
    }
    o_feat = need;
    if (size_add(&need, maxfeat, sizeof(uint32_t))) {
        return TC_ENOMEM;
    }
    o_known = need;
    if (size_add(&need, len + 1, sizeof(uint32_t))) {
        return TC_ENOMEM;
    }
    o_cpos = need;
    if (size_add(&need, len + 3, sizeof(uint32_t))) {
        return TC_ENOMEM;
    }
    o_word = need;
    if (size_add(&need, len + 3, 1) || size_add(&need, len + 1, 1)) {
        return TC_ENOMEM;
    }
    s->heap = NULL;
    if (need <= sizeof(s->space)) {
        base = s->space;
    } else {
        s->heap = tc__malloc(need);
        if (!s->heap) {
            return TC_ENOMEM;
        }
        base = s->heap;
    }
    s->floats = (float *)(void *)(base + o_float);
    s->feat = (uint32_t *)(void *)(base + o_feat);
    s->cpos = (uint32_t *)(void *)(base + o_cpos);
    s->known = (uint32_t *)(void *)(base + o_known);
    s->nknown = 0;
    s->nown = 0;
    s->word = (char *)base + o_word;
    s->norm = s->word + len + 3;
    s->nfeat = 0;
    return TC_OK;
}

/* The character n-grams of "<token>", as fastText forms them. */
static void char_ngrams(tc__scratch *s, const tc__hparams *hp, const char *tok,
                        size_t tl)
{
    size_t nc = 0, pos = 0, wl = tl + 2, i, n;
    char *w = s->word;

    w[0] = '<';
    memcpy(w + 1, tok, tl);
    w[tl + 1] = '>';
    while (pos < wl) {
        s->cpos[nc++] = (uint32_t)pos;
        tc__utf8_next(w, &pos);
    }
    s->cpos[nc] = (uint32_t)wl;
    for (i = 0; i < nc; i++) {
        for (n = hp->minn; n <= hp->maxn && i + n <= nc; n++) {
            uint64_t h;

            if (n == 1 && (i == 0 || i + 1 == nc)) {
                continue; /* "<" and ">" alone say nothing */
            }
            h = XXH3_64bits_withSeed(w + s->cpos[i],
                                     s->cpos[i + n] - s->cpos[i], SEED_CHAR);
            s->feat[s->nfeat++] = bucket(h, hp->buckets);
        }
    }
}

/* The vocabulary index of a token, or -1. */
static long vocab_find(const tc__vocab *vc, const char *w, size_t len,
                       uint64_t h)
{
    uint32_t i, k;

    if (vc->n == 0 || len > TC__VOCAB_WORD_MAX) {
        return -1;
    }
    for (i = (uint32_t)h & (vc->nslots - 1); (k = vc->slots[i]) != 0;
         i = (i + 1) & (vc->nslots - 1)) {
        if (vc->hash[k - 1] == h && vc->len[k - 1] == len &&
            memcmp(vc->words[k - 1], w, len) == 0) {
            return (long)k - 1;
        }
    }
    return -1;
}

/* Lists the features of text; with known, vocabulary words apart. */
static int featurize(tc__scratch *s, const tc_model *m, const char *text,
                     size_t len, size_t extra_floats, int known, tc__err *err)
{
    const tc__hparams *hp = &m->hp;
    uint64_t prev[8]; /* hashes of the last word_ngrams - 1 tokens */
    size_t pos = 0, st, tl, ntok = 0, bad, k;
    int rc;

    rc = scratch_layout(s, m, len, extra_floats);
    if (rc != TC_OK) {
        return tc__errf(err, rc, "out of memory");
    }
    rc = tc__normalize_into(s->norm, len + 1, &s->normlen, text, len, &bad);
    if (rc == TC_ETOOBIG) { /* NFKC lengthened it: lay out for its form */
        size_t n = s->normlen;

        tc__scratch_done(s);
        if ((rc = scratch_layout(s, m, n, extra_floats)) != TC_OK) {
            return tc__errf(err, rc, "out of memory");
        }
        rc = tc__normalize_into(s->norm, n + 1, &s->normlen, text, len, &bad);
    }
    if (rc != TC_OK) {
        tc__scratch_done(s);
        if (rc != TC_EINVAL) {
            return tc__errf(err, rc, "out of memory");
        }
        return tc__errf(err, rc, "text: %s at byte %zu",
                        text[bad] ? "invalid UTF-8" : "NUL character", bad);
    }
    while (tc__token_next(s->norm, s->normlen, &pos, &st, &tl)) {
        uint64_t hw = XXH3_64bits(s->norm + st, tl);
        uint64_t h = hw;
        long w = known ? vocab_find(&m->vocab, s->norm + st, tl, hw) : -1;

        if (w >= 0) {
            s->known[s->nknown++] = (uint32_t)w;
            s->nown += m->vocab.off[w + 1] - m->vocab.off[w];
        } else {
            s->feat[s->nfeat++] = bucket(hw, hp->buckets);
        }
        for (k = 1; k < hp->word_ngrams && k <= ntok; k++) {
            h = mix64(h + prev[(ntok - k) % 8] * MIX_NGRAM + k);
            s->feat[s->nfeat++] = bucket(h, hp->buckets);
        }
        prev[ntok % 8] = hw;
        ntok++;
        if (hp->minn && w < 0) {
            char_ngrams(s, hp, s->norm + st, tl);
        }
    }
    return TC_OK;
}

int tc__featurize(tc__scratch *s, const tc_model *m, const char *text,
                  size_t len, size_t extra_floats, tc__err *err)
{
    return featurize(s, m, text, len, extra_floats, 0, err);
}

int tc__featurize_known(tc__scratch *s, const tc_model *m, const char *text,
                        size_t len, size_t extra_floats, tc__err *err)
{
    return featurize(s, m, text, len, extra_floats, 1, err);
}

/* ---- the vocabulary ---------------------------------------------------- */

int tc__vocab_set(tc_model *m, char **words, uint32_t n)
{
    tc__vocab *vc = &m->vocab;
    size_t cap = 0;
    tc__scratch s;
    tc__err err;
    uint32_t i, j;

    vc->words = words;
    vc->n = n;
    if (n == 0) {
        return TC_OK;
    }
    vc->nslots = 16;
    while (vc->nslots < 2 * n) {
        vc->nslots *= 2;
    }
    vc->hash = tc__malloc(n * sizeof(uint64_t));
    vc->off = tc__calloc(n + 1, sizeof(uint32_t));
    vc->len = tc__malloc(n);
    vc->slots = tc__calloc(vc->nslots, sizeof(uint32_t));
    if (!vc->hash || !vc->off || !vc->len || !vc->slots) {
        return TC_ENOMEM; /* tc_model_free releases what is there */
    }
    for (i = 0; i < n; i++) {
        size_t len = strlen(words[i]);

        /* its own features: what featurize lists for it alone (the words
         * are tokens, valid UTF-8, so only memory can fail) */
        if (featurize(&s, m, words[i], len, 0, 0, &err) != TC_OK) {
            return TC_ENOMEM;
        }
        if (vc->off[i] + s.nfeat > cap) {
            size_t want = 2 * (vc->off[i] + s.nfeat) + 64;
            uint32_t *f = want <= UINT32_MAX
                              ? tc__realloc(vc->feat, want * sizeof(uint32_t))
                              : NULL;

            if (!f) {
                tc__scratch_done(&s);
                return TC_ENOMEM;
            }
            vc->feat = f;
            cap = want;
        }
        memcpy(vc->feat + vc->off[i], s.feat, s.nfeat * sizeof(uint32_t));
        vc->off[i + 1] = vc->off[i] + (uint32_t)s.nfeat;
        tc__scratch_done(&s);
        vc->hash[i] = XXH3_64bits(words[i], len);
        vc->len[i] = (uint8_t)len;
        for (j = (uint32_t)vc->hash[i] & (vc->nslots - 1); vc->slots[j];
             j = (j + 1) & (vc->nslots - 1)) {
        }
        vc->slots[j] = i + 1;
    }
    return TC_OK;
}

/* ---- the forward pass ------------------------------------------------ */

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

void tc__hidden(const tc_model *m, const tc__version *v, const uint32_t *feat,
                size_t nfeat, float *hidden)
{
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
            __builtin_prefetch(v->in_q + (size_t)feat[f + 8] * stride);
        }
        add_row(hidden, v->in_q + (size_t)feat[f] * stride,
                v->in_scale[feat[f]] * inv, stride);
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

void tc__hidden_known(const tc_model *m, const tc__version *v,
                      const tc__scratch *s, float *hidden)
{
    size_t stride = m->stride, total = s->nfeat + s->nown, f;
    const uint32_t *feat = s->feat;
    float inv;

    memset(hidden, 0, stride * sizeof(float));
    if (total == 0) {
        return;
    }
    inv = 1.0f / (float)total;
    /* the rows are scattered: ask for the first ones while the word
     * vectors are added, and for later ones while rows are */
    for (f = 0; f < s->nfeat && f < 16; f++) {
        __builtin_prefetch(v->in_q + (size_t)feat[f] * stride);
        __builtin_prefetch(&v->in_scale[feat[f]]);
    }
    for (f = 0; f < s->nknown; f++) {
        add_vec(hidden, v->wvec + (size_t)s->known[f] * stride, stride);
    }
    for (f = 0; f < s->nfeat; f++) {
        if (f + 16 < s->nfeat) {
            __builtin_prefetch(v->in_q + (size_t)feat[f + 16] * stride);
            __builtin_prefetch(&v->in_scale[feat[f + 16]]);
        }
        add_row(hidden, v->in_q + (size_t)feat[f] * stride,
                v->in_scale[feat[f]], stride);
    }
    for (f = 0; f < stride; f++) {
        hidden[f] *= inv;
    }
}

/* One word's vector: the sum of its own rows. */
static void word_vec(const tc_model *m, const tc__version *v, uint32_t w)
{
    const tc__vocab *vc = &m->vocab;
    size_t stride = m->stride;
    float *out = v->wvec + (size_t)w * stride;
    uint32_t f;

    memset(out, 0, stride * sizeof(float));
    for (f = vc->off[w]; f < vc->off[w + 1]; f++) {
        add_row(out, v->in_q + (size_t)vc->feat[f] * stride,
                v->in_scale[vc->feat[f]], stride);
    }
}

int tc__version_wvec(const tc_model *m, tc__version *v,
                     const tc__version *prev, const uint32_t *changed,
                     size_t nchanged)
{
    const tc__vocab *vc = &m->vocab;
    size_t bytes = (size_t)vc->n * m->stride * sizeof(float), i;
    uint8_t *hit;
    uint32_t w, f;

    if (vc->n == 0) {
        return TC_OK;
    }
    if (!v->wvec && !(v->wvec = tc__malloc(bytes))) {
        return TC_ENOMEM;
    }
    if (!prev) {
        for (w = 0; w < vc->n; w++) {
            word_vec(m, v, w);
        }
        return TC_OK;
    }
    /* an update: only the words that use a row it changed */
    if (!(hit = tc__calloc(m->hp.buckets / 8 + 1, 1))) {
        return TC_ENOMEM;
    }
    for (i = 0; i < nchanged; i++) {
        hit[changed[i] / 8] |= (uint8_t)(1u << (changed[i] % 8));
    }
    memcpy(v->wvec, prev->wvec, bytes);
    for (w = 0; w < vc->n; w++) {
        for (f = vc->off[w]; f < vc->off[w + 1]; f++) {
            if (hit[vc->feat[f] / 8] & (1u << (vc->feat[f] % 8))) {
                word_vec(m, v, w);
                break;
            }
        }
    }
    tc__free(hit);
    return TC_OK;
}

float tc__dot(const float *restrict a, const float *restrict b, size_t stride)
{
    float acc[TC__LANES] = {0};
    float sum = 0;
    size_t i;
    int k;

    for (i = 0; i < stride; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            acc[k] += a[i + k] * b[i + k];
        }
    }
    for (k = 0; k < TC__LANES; k++) {
        sum += acc[k];
    }
    return sum;
}

void tc__version_transpose(const tc_model *m, tc__version *v)
{
    uint32_t o, i;

    for (o = 0; o < m->nout; o++) {
        for (i = 0; i < m->hp.dim; i++) {
            v->out_t[(size_t)i * m->nout_pad + o] =
                v->out[(size_t)o * m->stride + i];
        }
    }
}

static void add_scaled(float *restrict y, float a, const float *restrict x,
                       size_t n)
{
    size_t i;
    int k;

    for (i = 0; i < n; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            y[i + k] += a * x[i + k];
        }
    }
}

void tc__scores(const tc_model *m, const tc__version *v, const float *hidden,
                float *scores)
{
    uint32_t i;

    memcpy(scores, v->bias, m->nout * sizeof(float));
    memset(scores + m->nout, 0, (m->nout_pad - m->nout) * sizeof(float));
    for (i = 0; i < m->hp.dim; i++) {
        add_scaled(scores, hidden[i], v->out_t + (size_t)i * m->nout_pad,
                   m->nout_pad);
    }
}

void tc__probabilities(const tc_model *m, float *scores)
{
    size_t h;
    uint32_t i;

    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        float *s = scores + hd->first;

        if (hd->multi) {
            for (i = 0; i < hd->nlabels; i++) {
                s[i] = 1.0f / (1.0f + expf(-s[i]));
            }
        } else if (hd->nlabels > 0) {
            float mx = s[0], sum = 0;

            for (i = 1; i < hd->nlabels; i++) {
                mx = s[i] > mx ? s[i] : mx;
            }
            for (i = 0; i < hd->nlabels; i++) {
                s[i] = expf(s[i] - mx);
                sum += s[i];
            }
            for (i = 0; i < hd->nlabels; i++) {
                s[i] /= sum;
            }
        }
    }
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

/* ---- predict --------------------------------------------------------- */

/* The indices of the k best of n scores, best first (k is small). */
static size_t top_k(const float *p, uint32_t n, size_t k, uint32_t *idx)
{
    size_t have = 0, j;
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (have == k && p[i] <= p[idx[have - 1]]) {
            continue;
        }
        j = have < k ? have++ : have - 1;
        while (j > 0 && p[idx[j - 1]] < p[i]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return have;
}

TC_API int tc_model_predict(tc_prediction **out, const tc_model *m,
                            const char *text, size_t len, int top_k_arg)
{
    tc__scratch s;
    tc__err err;
    tc__version *v;
    _Atomic long *rd;
    tc_prediction *p;
    tc_head_prediction *hp;
    tc_label_score *ls;
    float *hidden, *prob;
    uint32_t *idx, *nsel;
    char fp[TC_FINGERPRINT_LEN + 1];
    size_t need, h, i, total = 0, strbytes = 0;
    char *str;
    int rc;

    if (out) {
        *out = NULL;
    }
    tc__clear(NULL);
    if (!out || !m || (!text && len)) {
        return tc__fail(NULL, TC_EINVAL, "NULL argument");
    }
    rc = tc__featurize_known(&s, m, text ? text : "", len,
                             m->stride + (size_t)m->nout_pad + m->nout +
                                 m->nheads,
                             &err);
    if (rc != TC_OK) {
        return tc__fail(NULL, rc, "%s", err.msg);
    }
    hidden = s.floats;
    prob = hidden + m->stride;
    idx = (uint32_t *)(void *)(prob + m->nout_pad);
    nsel = idx + m->nout;

    rd = tc__read_enter(m, &v);
    tc__hidden_known(m, v, &s, hidden);
    tc__scores(m, v, hidden, prob);
    memcpy(fp, v->fingerprint, sizeof(fp));
    tc__read_leave(rd);
    tc__probabilities(m, prob);

    /* Choose the labels of each head, then size the one allocation. */
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        uint32_t *ix = idx + hd->first;
        const float *ph = prob + hd->first;
        size_t k =
            top_k_arg > 0 ? (size_t)top_k_arg : (hd->multi ? hd->nlabels : 1);

        k = top_k(ph, hd->nlabels, k < hd->nlabels ? k : hd->nlabels, ix);
        if (hd->multi && k > 1) {
            /* the best label always, the others only when they apply */
            for (i = 1; i < k && ph[ix[i]] >= 0.5f; i++) {
            }
            k = i;
        }
        nsel[h] = (uint32_t)k;
        total += k;
        strbytes += strlen(hd->name) + 1;
        for (i = 0; i < k; i++) {
            strbytes += strlen(hd->labels[ix[i]]) + 1;
        }
    }
    need =
        sizeof(*p) + m->nheads * sizeof(*hp) + total * sizeof(*ls) + strbytes;
    p = tc__malloc(need);
    if (!p) {
        tc__scratch_done(&s);
        return tc__fail(NULL, TC_ENOMEM, "out of memory");
    }
    hp = (tc_head_prediction *)(p + 1);
    ls = (tc_label_score *)(hp + m->nheads);
    str = (char *)(ls + total);
    p->nheads = m->nheads;
    p->heads = hp;
    memcpy(p->fingerprint, fp, sizeof(fp));
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        size_t n = strlen(hd->name) + 1;

        memcpy(str, hd->name, n);
        hp[h].head = str;
        str += n;
        hp[h].multi_label = hd->multi;
        hp[h].n = nsel[h];
        hp[h].labels = ls;
        for (i = 0; i < nsel[h]; i++) {
            uint32_t l = idx[hd->first + i];

            n = strlen(hd->labels[l]) + 1;
            memcpy(str, hd->labels[l], n);
            ls->label = str;
            ls->score = prob[hd->first + l];
            str += n;
            ls++;
        }
    }
    tc__scratch_done(&s);
    *out = p;
    return TC_OK;
}

TC_API void tc_prediction_free(tc_prediction *p)
{
    tc__free(p);
}

/* ---- fingerprint and info -------------------------------------------- */

TC_API void tc_model_fingerprint(char *buf, const tc_model *m)
{
    tc__version *v;
    _Atomic long *rd;

    if (!buf) {
        return;
    }
    if (!m) {
        buf[0] = '\0';
        return;
    }
    rd = tc__read_enter(m, &v);
    memcpy(buf, v->fingerprint, TC_FINGERPRINT_LEN + 1);
    tc__read_leave(rd);
}

/* Bytes the model holds in memory (one version). */
static size_t model_bytes(const tc_model *m)
{
    size_t n = sizeof(*m) + sizeof(tc__version), h, i;

    n += (size_t)m->hp.buckets * (m->stride + sizeof(float)) + 63;
    n += (size_t)m->nout * (m->stride + 1) * sizeof(float);
    n += (size_t)m->nout_pad * m->hp.dim * sizeof(float);
    if (m->vocab.n) {
        n += (size_t)m->vocab.nslots * sizeof(uint32_t) +
             (size_t)m->vocab.off[m->vocab.n] * sizeof(uint32_t);
    }
    for (i = 0; i < m->vocab.n; i++) {
        n += strlen(m->vocab.words[i]) + 1 + sizeof(char *) +
             sizeof(uint64_t) + sizeof(uint32_t) + 1 + m->stride * sizeof(float);
    }
    for (h = 0; h < m->nheads; h++) {
        n += sizeof(tc__head) + strlen(m->heads[h].name) + 1;
        for (i = 0; i < m->heads[h].nlabels; i++) {
            n += sizeof(char *) + strlen(m->heads[h].labels[i]) + 1;
        }
    }
    return n;
}

TC_API int tc_model_info_json(char **out, const tc_model *m)
{
    cJSON *root, *heads, *hp;
    char fp[TC_FINGERPRINT_LEN + 1];
    size_t h, i;
    int ok = 1;

    if (out) {
        *out = NULL;
    }
    tc__clear(NULL);
    if (!out || !m) {
        return tc__fail(NULL, TC_EINVAL, "NULL argument");
    }
    tc_model_fingerprint(fp, m);
    root = cJSON_CreateObject();
    ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "fingerprint", fp);
    ok = ok &&
         cJSON_AddNumberToObject(root, "memory_bytes", (double)model_bytes(m));
    ok = ok && cJSON_AddNumberToObject(root, "file_bytes",
                                       (double)tc__model_file_size(m));
    hp = ok ? cJSON_AddObjectToObject(root, "hyperparameters") : NULL;
    ok = hp != NULL;
    ok = ok && cJSON_AddNumberToObject(hp, "dim", m->hp.dim);
    ok = ok && cJSON_AddNumberToObject(hp, "buckets", m->hp.buckets);
    ok = ok && cJSON_AddNumberToObject(hp, "word_ngrams", m->hp.word_ngrams);
    ok = ok && cJSON_AddNumberToObject(hp, "minn", m->hp.minn);
    ok = ok && cJSON_AddNumberToObject(hp, "maxn", m->hp.maxn);
    ok = ok && cJSON_AddNumberToObject(hp, "epochs", m->hp.epochs);
    ok = ok && cJSON_AddNumberToObject(hp, "lr", m->hp.lr);
    ok = ok && cJSON_AddNumberToObject(hp, "seed", (double)m->hp.seed);
    heads = ok ? cJSON_AddArrayToObject(root, "heads") : NULL;
    ok = heads != NULL;
    for (h = 0; ok && h < m->nheads; h++) {
        cJSON *o = cJSON_CreateObject(), *labels = NULL;

        ok = o && cJSON_AddItemToArray(heads, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "name", m->heads[h].name) &&
             cJSON_AddBoolToObject(o, "multi_label", m->heads[h].multi);
        labels = ok ? cJSON_AddArrayToObject(o, "labels") : NULL;
        ok = labels != NULL;
        for (i = 0; ok && i < m->heads[h].nlabels; i++) {
            cJSON *s = cJSON_CreateString(m->heads[h].labels[i]);

            ok = s && cJSON_AddItemToArray(labels, s);
            if (!ok) {
                cJSON_Delete(s);
            }
        }
    }
    *out = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!*out) {
        return tc__fail(NULL, TC_ENOMEM, "out of memory");
    }
    return TC_OK;
}
