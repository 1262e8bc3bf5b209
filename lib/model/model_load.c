/*
 * model_load.c - reading a model file (model_file.h has its layout).
 * Loading is one read, then every length and count is checked against
 * the bytes that remain, and every weight against the bounds a save
 * keeps, so a damaged or hostile file is refused, never trusted; the
 * checksum that ends the file becomes the model's fingerprint.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "model/model.h"
#include "model/model_file.h"
#include "base/normalize.h"

#define MAGIC TC__MODEL_MAGIC
#define FORMAT_VERSION TC__MODEL_FORMAT
#define NO_LABEL TC__MODEL_NO_LABEL
#define HEADER_BYTES TC__MODEL_HEADER_BYTES
#define SUM_BYTES TC__MODEL_SUM_BYTES

/* A bounds-checked reader over the body: past the end, everything reads
 * as zero and `bad` is set, so the checks can come once, at the end. */
typedef struct src {
    const unsigned char *p;
    size_t len, pos;
    int bad;
} src;

static const unsigned char *take(src *s, size_t n)
{
    const unsigned char *p;

    if (s->bad || n > s->len - s->pos) {
        s->bad = 1;
        return NULL;
    }
    p = s->p + s->pos;
    s->pos += n;
    return p;
}

static uint32_t get_u32(src *s)
{
    const unsigned char *b = take(s, 4);

    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                   (uint32_t)b[3] << 24
             : 0;
}

static uint64_t get_u64(src *s)
{
    uint64_t lo = get_u32(s);

    return lo | (uint64_t)get_u32(s) << 32;
}

static float get_f32(src *s)
{
    uint32_t x = get_u32(s);
    float f;

    memcpy(&f, &x, 4);
    return f;
}

/* A non-empty UTF-8 string of the body, copied; NULL when bad. */
static char *get_str(src *s, int *oom)
{
    uint32_t n = get_u32(s);
    const unsigned char *b = n ? take(s, n) : NULL;
    char *c;

    if (!b || !tc__utf8_valid((const char *)b, n) ||
        memchr(b, '\0', n) != NULL) {
        s->bad = 1;
        return NULL;
    }
    c = tc__memdup0(b, n);
    if (!c) {
        *oom = 1;
    }
    return c;
}

typedef struct load_err {
    int code;
    const char *why;
} load_err;

static int corrupt(load_err *e, const char *why)
{
    e->code = TC_ECORRUPT;
    e->why = why;
    return TC_ECORRUPT;
}

static int read_hparams(src *s, tc__hparams *hp, uint32_t *features,
                        uint32_t version, load_err *e)
{
    hp->dim = get_u32(s);
    hp->buckets = get_u32(s);
    hp->word_ngrams = get_u32(s);
    hp->minn = get_u32(s);
    hp->maxn = get_u32(s);
    hp->epochs = get_u32(s);
    hp->lr = get_f32(s);
    hp->seed = get_u64(s);
    /* the row encoding: dense in versions 1 and 2, kept rows after; then
     * the features every text has (version 3) */
    if (get_u32(s) != (version >= 3)) {
        return corrupt(e, "unknown row encoding or flags");
    }
    *features = get_u32(s);
    if ((*features & ~TC__FEATURE_END) != 0 || (version < 3 && *features) ||
        get_u32(s) != 0 || s->bad) {
        return corrupt(e, "unknown row encoding or flags");
    }
    if (hp->dim < 1 || hp->dim > TC__MAX_DIM || hp->buckets < 1 ||
        hp->buckets > TC__MAX_BUCKETS || hp->word_ngrams < 1 ||
        hp->word_ngrams > TC__MAX_WORD_NGRAMS || hp->maxn > TC__MAX_CHARN ||
        hp->minn > hp->maxn || (hp->minn == 0) != (hp->maxn == 0) ||
        hp->epochs > TC__MAX_EPOCHS || !(hp->lr > 0) || !(hp->lr <= 100)) {
        return corrupt(e, "hyper-parameters out of range");
    }
    return TC_OK;
}

static int read_heads(src *s, tc_model *m, uint32_t version, load_err *e)
{
    uint32_t nheads = get_u32(s), h, i;
    int oom = 0;

    if (s->bad || nheads < 1 || nheads > TC__MAX_HEADS) {
        return corrupt(e, "bad head count");
    }
    m->heads = tc__calloc(nheads, sizeof(tc__head));
    if (!m->heads) {
        e->code = TC_ENOMEM;
        return TC_ENOMEM;
    }
    m->nheads = nheads;
    for (h = 0; h < nheads; h++) {
        tc__head *hd = &m->heads[h];
        uint32_t multi, n;

        hd->name = get_str(s, &oom);
        multi = get_u32(s);
        n = get_u32(s);
        /* each label takes at least 5 bytes: no huge table from a lie */
        if (oom || s->bad || multi > 1 || n > (s->len - s->pos) / 5 ||
            (!multi && n == 0)) {
            break;
        }
        hd->multi = (int)multi;
        hd->labels = tc__calloc(n ? n : 1, sizeof(char *));
        if (!hd->labels) {
            oom = 1;
            break;
        }
        hd->nlabels = n;
        hd->first = m->nout;
        for (i = 0; i < n && !s->bad && !oom; i++) {
            hd->labels[i] = get_str(s, &oom);
        }
        hd->calib_a = version >= 3 ? get_f32(s) : 1.0f;
        hd->calib_b = version >= 3 ? get_f32(s) : 0.0f;
        hd->calib_c = version >= 3 ? get_f32(s) : 0.0f;
        hd->calib_d = version >= 4 ? get_f32(s) : 0.0f;
        if (s->bad || oom) {
            break;
        }
        m->nout += n;
        m->nout_pad = (m->nout + TC__LANES - 1) / TC__LANES * TC__LANES;
        for (i = 0; i < h; i++) {
            if (strcmp(m->heads[i].name, hd->name) == 0) {
                return corrupt(e, "a head named twice");
            }
        }
    }
    if (oom) {
        e->code = TC_ENOMEM;
        return TC_ENOMEM;
    }
    if (h < nheads || strcmp(m->heads[0].name, "intent") != 0 ||
        m->heads[0].multi) {
        return corrupt(e, "bad head or label table");
    }
    if (version >= 3) {
        uint32_t oos = get_u32(s);

        if (s->bad || (oos != NO_LABEL && oos >= m->heads[0].nlabels)) {
            return corrupt(e, "bad out-of-scope label");
        }
        m->oos = oos == NO_LABEL ? -1 : (int32_t)oos;
        m->radius = get_f32(s);
        if (s->bad || !(m->radius > 0 && m->radius <= 1)) {
            return corrupt(e, "bad radius of corrections");
        }
    }
    return TC_OK;
}

/*
 * The weights, into m->w. Version 3 keeps a bitmap of the rows training
 * reached and only those rows; the others are zero, as in the version 1
 * and 2 files that hold them all.
 */
static int read_weights(src *s, tc_model *m, uint32_t version, load_err *e)
{
    uint64_t rows = m->hp.buckets, need, left = s->len - s->pos;
    const unsigned char *bits = NULL;
    tc__weights *w = &m->w;
    tc__err why;
    uint32_t r, o, i;

    if (version >= 3) {
        bits = take(s, (m->hp.buckets + 7) / 8);
        for (rows = 0, r = 0; bits && r < m->hp.buckets; r++) {
            rows += (bits[r / 8] >> (r % 8)) & 1;
        }
        if (!bits || (m->hp.buckets % 8 &&
                      bits[m->hp.buckets / 8] >> (m->hp.buckets % 8))) {
            return corrupt(e, "bad row bitmap");
        }
        left = s->len - s->pos;
    }
    need = rows * (4 + m->hp.dim) + (uint64_t)m->nout * (m->hp.dim + 1) * 4;
    if (version == 1 ? need != left : need + 4 > left) {
        return corrupt(e, "weights do not match the tables");
    }
    if (tc__weights_alloc(m) != TC_OK) {
        e->code = TC_ENOMEM;
        return TC_ENOMEM;
    }
    for (r = 0; r < m->hp.buckets && !s->bad; r++) {
        if (bits && !((bits[r / 8] >> (r % 8)) & 1)) {
            continue;
        }
        w->in_scale[r] = get_f32(s);
        memcpy(w->in_q + (size_t)r * m->stride, take(s, m->hp.dim), m->hp.dim);
        /* a kept row is one training moved */
        s->bad |= bits && w->in_scale[r] == 0;
    }
    for (o = 0; o < m->nout && !s->bad; o++) {
        for (i = 0; i < m->hp.dim; i++) {
            w->out[(size_t)o * m->stride + i] = get_f32(s);
        }
    }
    for (o = 0; o < m->nout && !s->bad; o++) {
        w->bias[o] = get_f32(s);
    }
    if (s->bad || tc__weights_check(m, &why) != TC_OK) {
        return corrupt(e, "weights out of range");
    }
    tc__weights_transpose(m);
    return TC_OK;
}

static int oom(load_err *e)
{
    e->code = TC_ENOMEM;
    return TC_ENOMEM;
}

/*
 * The vocabulary: a count, then words of 1 to TC__VOCAB_WORD_MAX bytes;
 * from version 3 their document frequencies and the number of texts.
 */
static int read_vocab(src *s, tc_model *m, uint32_t version, load_err *e)
{
    uint32_t n = get_u32(s), i, ndocs = 0;
    uint32_t *df = NULL;
    char **words;
    int no_mem = 0;

    if (s->bad || n > TC__VOCAB_MAX || n > (s->len - s->pos) / 5) {
        return corrupt(e, "bad vocabulary");
    }
    words = tc__calloc(n ? n : 1, sizeof(char *));
    df = tc__calloc(n ? n : 1, sizeof(uint32_t));
    if (!words || !df) {
        tc__free(words);
        tc__free(df);
        return oom(e);
    }
    for (i = 0; i < n && !s->bad && !no_mem; i++) {
        words[i] = get_str(s, &no_mem);
        if (words[i] && strlen(words[i]) > TC__VOCAB_WORD_MAX) {
            s->bad = 1;
        }
    }
    if (version >= 3) {
        for (i = 0; i < n && !s->bad; i++) {
            df[i] = get_u32(s);
        }
        ndocs = get_u32(s);
        for (i = 0; i < n && !s->bad; i++) {
            s->bad = df[i] > ndocs;
        }
    }
    if (s->bad || no_mem) {
        for (i = 0; i < n; i++) {
            tc__free(words[i]);
        }
        tc__free(words);
        tc__free(df);
        return no_mem ? oom(e) : corrupt(e, "bad vocabulary");
    }
    switch (tc__vocab_set(m, words, df, n, ndocs)) {
    case TC_OK:
        break;
    case TC_ECORRUPT:
        return corrupt(e, "bad vocabulary: a word that is no token");
    default:
        return oom(e);
    }
    return tc__weights_wvec(m) == TC_OK ? TC_OK : oom(e);
}

/* The reference examples: a count, then (text, intent) pairs. */
static int read_refs(src *s, tc_model *m, load_err *e)
{
    uint32_t n = get_u32(s), i;
    int no_mem = 0;

    if (s->bad || n > TC__REFS_MAX || n > (s->len - s->pos) / 9) {
        return corrupt(e, "bad reference examples");
    }
    m->ref_text = tc__calloc(n ? n : 1, sizeof(char *));
    m->ref_label = tc__calloc(n ? n : 1, sizeof(uint32_t));
    if (!m->ref_text || !m->ref_label) {
        return oom(e);
    }
    for (i = 0; i < n && !s->bad && !no_mem; i++) {
        m->ref_text[i] = get_str(s, &no_mem);
        m->ref_label[i] = get_u32(s);
        m->nrefs = i + 1;
        s->bad |= m->ref_label[i] >= m->heads[0].nlabels;
    }
    if (no_mem) {
        return oom(e);
    }
    return s->bad ? corrupt(e, "bad reference examples") : TC_OK;
}

/* The corrections: a count, then (text, targets) entries; their bases
 * and words are derived again from the weights. */
static int read_memory(src *s, tc_model *m, tc__version *v, load_err *e)
{
    uint32_t n = get_u32(s), i, j, nt, prev;
    tc__mem_entry **es;
    int no_mem = 0, rc;

    if (s->bad || n > TC__MEMORY_MAX || n > (s->len - s->pos) / 13) {
        return corrupt(e, "bad corrections");
    }
    if (!(es = tc__calloc(n ? n : 1, sizeof(*es)))) {
        return oom(e);
    }
    for (i = 0; i < n && !s->bad && !no_mem; i++) {
        tc__mem_entry *x = es[i] = tc__calloc(1, sizeof(**es));

        if (!x) {
            no_mem = 1;
            break;
        }
        x->refs = 1;
        x->text = get_str(s, &no_mem);
        x->len = x->text ? strlen(x->text) : 0;
        nt = get_u32(s);
        if (s->bad || nt == 0 || nt > TC__MAX_TARGETS ||
            nt > (s->len - s->pos) / 8) {
            s->bad = 1;
            break;
        }
        if (!(x->t = tc__calloc(nt, sizeof(tc__target)))) {
            no_mem = 1;
            break;
        }
        x->nt = nt;
        for (j = 0, prev = 0; j < nt && !s->bad; j++) {
            x->t[j].head = get_u32(s);
            x->t[j].label = get_u32(s);
            /* grouped by head, in order; a known label, or the marker of
             * a multi-label head that leads its group */
            s->bad |= x->t[j].head >= m->nheads || x->t[j].head < prev;
            if (!s->bad) {
                const tc__head *hd = &m->heads[x->t[j].head];

                s->bad |= x->t[j].label >= hd->nlabels &&
                          !(hd->multi && x->t[j].label == UINT32_MAX);
            }
            prev = x->t[j].head;
        }
    }
    rc = !s->bad && !no_mem && s->pos == s->len ? TC_OK : TC_ECORRUPT;
    if (rc == TC_OK) {
        rc = tc__memory_build(m, &v->mem, es, n);
        return rc == TC_OK ? TC_OK : oom(e);
    }
    for (i = 0; i < n; i++) {
        if (es[i]) {
            tc__free(es[i]->text);
            tc__free(es[i]->t);
            tc__free(es[i]);
        }
    }
    tc__free(es);
    return no_mem ? oom(e) : corrupt(e, "bad corrections");
}

/* Checks the frame (size, magic, version, length, checksum) of a file. */
static int check_frame(const unsigned char *b, size_t n, char *fp,
                       uint32_t *version, char *why, size_t whylen)
{
    XXH128_canonical_t sum;
    uint32_t ver;
    uint64_t blen;
    src s = {b, n, TC__MODEL_MAGIC_BYTES, 0};

    if (n < TC__MODEL_MAGIC_BYTES ||
        memcmp(b, MAGIC, TC__MODEL_MAGIC_BYTES) != 0) {
        snprintf(why, whylen, "%s",
                 n < TC__MODEL_MAGIC_BYTES && memcmp(b, MAGIC, n) == 0
                     ? "truncated"
                     : "not a tutorcache model file");
        return TC_ECORRUPT;
    }
    if (n < HEADER_BYTES + SUM_BYTES) {
        snprintf(why, whylen, "truncated (%zu bytes)", n);
        return TC_ECORRUPT;
    }
    ver = get_u32(&s);
    if (ver < 1 || ver > FORMAT_VERSION) {
        snprintf(why, whylen,
                 "format version %u (this library reads "
                 "versions 1 to %d)",
                 ver, FORMAT_VERSION);
        return TC_ECORRUPT;
    }
    *version = ver;
    if (get_u32(&s) != 0) {
        snprintf(why, whylen, "unknown flags");
        return TC_ECORRUPT;
    }
    blen = get_u64(&s);
    if (blen != n - HEADER_BYTES - SUM_BYTES) {
        snprintf(why, whylen, "%s (%zu bytes, the header says %llu)",
                 blen > n - HEADER_BYTES - SUM_BYTES ? "truncated"
                                                     : "wrong length",
                 n, (unsigned long long)(blen + HEADER_BYTES + SUM_BYTES));
        return TC_ECORRUPT;
    }
    XXH128_canonicalFromHash(&sum, XXH3_128bits(b, n - SUM_BYTES));
    if (memcmp(sum.digest, b + n - SUM_BYTES, SUM_BYTES) != 0) {
        snprintf(why, whylen, "checksum mismatch (damaged file)");
        return TC_ECORRUPT;
    }
    tc__model_hex128(fp, XXH128_hashFromCanonical(&sum));
    return TC_OK;
}

int tc__model_load(tc_model **out, const char *path)
{
    char *data = NULL, why[128], fp[TC_FINGERPRINT_LEN + 1];
    tc__hparams hp;
    tc__err err;
    tc_model *m = NULL;
    tc__version *v = NULL;
    load_err le = {TC_OK, NULL};
    uint32_t version = 0, features = 0;
    size_t len;
    src s;
    int rc;

    rc = tc__read_file(path, 0, &data, &len, &err);
    if (rc != TC_OK) {
        return tc__model_fail_io(rc, "", err.msg);
    }
    rc = check_frame((const unsigned char *)data, len, fp, &version, why,
                     sizeof(why));
    if (rc != TC_OK) {
        tc__free(data);
        return tc__model_fail_io(rc, path, why);
    }
    s.p = (const unsigned char *)data + HEADER_BYTES;
    s.len = len - HEADER_BYTES - SUM_BYTES;
    s.pos = 0;
    s.bad = 0;
    rc = read_hparams(&s, &hp, &features, version, &le);
    if (rc == TC_OK) {
        m = tc__model_new(&hp);
        if (!m) {
            le.code = rc = TC_ENOMEM;
        } else {
            m->features = features;
        }
    }
    if (rc == TC_OK) {
        rc = read_heads(&s, m, version, &le);
    }
    if (rc == TC_OK) {
        rc = read_weights(&s, m, version, &le);
    }
    if (rc == TC_OK && version >= 2) {
        rc = read_vocab(&s, m, version, &le);
    }
    if (rc == TC_OK && version == 2 && s.pos != s.len) {
        rc = corrupt(&le, "bad vocabulary");
    }
    if (rc == TC_OK && version >= 3) {
        rc = read_refs(&s, m, &le);
    }
    if (rc == TC_OK && !(v = tc__version_new())) {
        rc = oom(&le);
    }
    if (rc == TC_OK && version >= 3) {
        rc = read_memory(&s, m, v, &le);
    }
    tc__free(data);
    if (rc != TC_OK) {
        tc__version_free(v);
        tc__model_free(m);
        return tc__model_fail_io(
            le.code, path, le.code == TC_ENOMEM ? "out of memory" : le.why);
    }
    memcpy(v->fingerprint, fp, sizeof(fp));
    tc__model_publish(m, v);
    *out = m;
    return TC_OK;
}
