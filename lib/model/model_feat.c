/*
 * model_feat.c - what the built-in classifier sees of a text: the
 * normalized text split into tokens, each token's word feature, the word
 * n-grams and the character n-grams of fastText, all hashed into rows;
 * and the vocabulary of frequent words whose rows are kept summed. Every
 * buffer of a text lives in one scratch area, inline for short texts, so
 * that a prediction allocates nothing per feature.
 */
#include <string.h>

#include <xxhash.h>

#include "model/model.h"
#include "base/normalize.h"

/* ---- features -------------------------------------------------------- */

/* Seeds that keep words, word n-grams and character n-grams apart, and
 * the hash of the end-of-text feature. */
#define SEED_CHAR 0x6368617267726d73ULL
#define MIX_NGRAM 0x9E3779B97F4A7C15ULL
#define SEED_END 0x3c2f733e3c2f733eULL

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
 * Lays the scratch buffers out for a normalized text of len bytes (s->norm
 * holds len + 1). The feature count is bounded by the text: at most len
 * tokens, each with word_ngrams word features, and at most 3 * len code
 * points of "<token>" overall, each starting (maxn - minn + 1) character
 * n-grams; and the end-of-text feature (the 1 maxfeat starts from).
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

long tc__vocab_find(const tc__vocab *vc, const char *w, size_t len, uint64_t h)
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

/* What featurize lists: vocabulary words apart (a prediction), and the
 * end-of-text feature (a whole text rather than one word's own). */
#define FEAT_KNOWN 1
#define FEAT_TEXT 2

/* Lists the features of text, as mode says. */
static int featurize(tc__scratch *s, const tc_model *m, const char *text,
                     size_t len, size_t extra_floats, int mode, tc__err *err)
{
    int known = mode & FEAT_KNOWN;
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
        long w = known ? tc__vocab_find(&m->vocab, s->norm + st, tl, hw) : -1;

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
    if ((mode & FEAT_TEXT) && (m->features & TC__FEATURE_END)) {
        s->feat[s->nfeat++] = bucket(SEED_END, hp->buckets);
    }
    return TC_OK;
}

int tc__featurize(tc__scratch *s, const tc_model *m, const char *text,
                  size_t len, size_t extra_floats, tc__err *err)
{
    return featurize(s, m, text, len, extra_floats, FEAT_TEXT, err);
}

int tc__featurize_known(tc__scratch *s, const tc_model *m, const char *text,
                        size_t len, size_t extra_floats, tc__err *err)
{
    return featurize(s, m, text, len, extra_floats, FEAT_TEXT | FEAT_KNOWN,
                     err);
}

/* ---- the vocabulary ---------------------------------------------------- */

int tc__vocab_set(tc_model *m, char **words, uint32_t *df, uint32_t n,
                  uint32_t ndocs)
{
    tc__vocab *vc = &m->vocab;
    size_t cap = 0;
    tc__scratch s;
    tc__err err;
    uint32_t i, j;
    int rc;

    vc->words = words;
    vc->df = df;
    vc->n = n;
    vc->ndocs = ndocs;
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

        /* its own features: what featurize lists for it alone. A token
         * has at least its word's; a word with none (spaces, punctuation
         * that normalizes away) is not one, and no trainer wrote it. */
        rc = featurize(&s, m, words[i], len, 0, 0, &err);
        if (rc != TC_OK || s.nfeat == 0) {
            if (rc == TC_OK) {
                tc__scratch_done(&s);
            }
            return rc == TC_ENOMEM ? TC_ENOMEM : TC_ECORRUPT;
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
