/*
 * model_io.c - writing the model file (model_file.h has its layout) and
 * the fingerprint. The checksum that ends the file doubles as the model's
 * fingerprint: it is computed by streaming the same bytes, without
 * writing them, so a model in memory and its file always agree. A save
 * checks the weights first: what it writes, tc_model_load accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "model/model.h"
#include "model/model_file.h"

#define MAGIC TC__MODEL_MAGIC
#define FORMAT_VERSION TC__MODEL_FORMAT
#define NO_LABEL TC__MODEL_NO_LABEL
#define HEADER_BYTES TC__MODEL_HEADER_BYTES
#define SUM_BYTES TC__MODEL_SUM_BYTES

/* ---- writing ----------------------------------------------------------- */

/* Bytes go to a buffer, to a running hash, or both, through a stage that
 * keeps the hash fed in large pieces. */
typedef struct sink {
    unsigned char *buf;
    XXH3_state_t *st;
    size_t len;
    size_t fill;
    unsigned char stage[8192];
} sink;

static void flush(sink *k)
{
    if (k->fill == 0) {
        return;
    }
    if (k->buf) {
        memcpy(k->buf + k->len - k->fill, k->stage, k->fill);
    }
    if (k->st) {
        XXH3_128bits_update(k->st, k->stage, k->fill);
    }
    k->fill = 0;
}

static void put(sink *k, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n > 0) {
        size_t take = sizeof(k->stage) - k->fill;

        if (take > n) {
            take = n;
        }
        memcpy(k->stage + k->fill, b, take);
        k->fill += take;
        k->len += take;
        b += take;
        n -= take;
        if (k->fill == sizeof(k->stage)) {
            flush(k);
        }
    }
}

static void put_u32(sink *k, uint32_t x)
{
    unsigned char b[4] = {(unsigned char)x, (unsigned char)(x >> 8),
                          (unsigned char)(x >> 16), (unsigned char)(x >> 24)};

    put(k, b, 4);
}

static void put_u64(sink *k, uint64_t x)
{
    put_u32(k, (uint32_t)x);
    put_u32(k, (uint32_t)(x >> 32));
}

static void put_f32(sink *k, float f)
{
    uint32_t x;

    memcpy(&x, &f, 4);
    put_u32(k, x);
}

static void put_str(sink *k, const char *s)
{
    size_t n = strlen(s);

    put_u32(k, (uint32_t)n);
    put(k, s, n);
}

/* The bytes of the bitmap of rows kept. */
static uint64_t bitmap_bytes(const tc_model *m)
{
    return ((uint64_t)m->hp.buckets + 7) / 8;
}

/* Rows that training reached: a row it never moved is all zero, and its
 * scale is 0. */
static uint32_t used_rows(const tc_model *m)
{
    uint32_t r, n = 0;

    for (r = 0; r < m->hp.buckets; r++) {
        n += m->w.in_scale[r] != 0;
    }
    return n;
}

/* The body's size; labels, names and texts are short enough, and their
 * counts small enough, not to overflow. */
static uint64_t body_bytes(const tc_model *m, const tc__version *v)
{
    uint64_t n = 10 * 4 + 8 + 4; /* hyper-parameters, head count */
    size_t h, i;

    for (h = 0; h < m->nheads; h++) {
        n += 12 + strlen(m->heads[h].name) + 16; /* ..., calibration */
        for (i = 0; i < m->heads[h].nlabels; i++) {
            n += 4 + strlen(m->heads[h].labels[i]);
        }
    }
    n += 4 + 4; /* the out-of-scope label, the radius */
    n += bitmap_bytes(m) + (uint64_t)used_rows(m) * (4 + m->hp.dim);
    n += (uint64_t)m->nout * (m->hp.dim + 1) * 4;
    n += 4 + 4; /* the vocabulary's count and texts */
    for (i = 0; i < m->vocab.n; i++) {
        n += 4 + strlen(m->vocab.words[i]) + 4;
    }
    n += 4;
    for (i = 0; i < m->nrefs; i++) {
        n += 4 + strlen(m->ref_text[i]) + 4;
    }
    n += 4;
    for (i = 0; i < v->mem.n; i++) {
        n += 4 + v->mem.e[i]->len + 4 + 8 * (uint64_t)v->mem.e[i]->nt;
    }
    return n;
}

size_t tc__model_file_size(const tc_model *m)
{
    _Atomic long *rd;
    tc__version *v;
    uint64_t n;

    rd = tc__read_enter(m, &v);
    n = HEADER_BYTES + body_bytes(m, v) + SUM_BYTES;
    tc__read_leave(rd);
    return (size_t)n;
}

static void serialize(sink *k, const tc_model *m, const tc__version *v)
{
    const tc__hparams *hp = &m->hp;
    const tc__weights *w = &m->w;
    size_t h, i, j;
    uint32_t r, o;

    put(k, MAGIC, TC__MODEL_MAGIC_BYTES);
    put_u32(k, FORMAT_VERSION);
    put_u32(k, 0); /* flags: none defined */
    put_u64(k, body_bytes(m, v));
    put_u32(k, hp->dim);
    put_u32(k, hp->buckets);
    put_u32(k, hp->word_ngrams);
    put_u32(k, hp->minn);
    put_u32(k, hp->maxn);
    put_u32(k, hp->epochs);
    put_f32(k, hp->lr);
    put_u64(k, hp->seed);
    put_u32(k, 1); /* rows: int8 with a float scale, kept rows only */
    put_u32(k, m->features);
    put_u32(k, 0); /* reserved */
    put_u32(k, (uint32_t)m->nheads);
    for (h = 0; h < m->nheads; h++) {
        put_str(k, m->heads[h].name);
        put_u32(k, (uint32_t)m->heads[h].multi);
        put_u32(k, m->heads[h].nlabels);
        for (i = 0; i < m->heads[h].nlabels; i++) {
            put_str(k, m->heads[h].labels[i]);
        }
        put_f32(k, m->heads[h].calib_a);
        put_f32(k, m->heads[h].calib_b);
        put_f32(k, m->heads[h].calib_c);
        put_f32(k, m->heads[h].calib_d);
    }
    put_u32(k, m->oos >= 0 ? (uint32_t)m->oos : NO_LABEL);
    put_f32(k, m->radius);
    for (r = 0; r < hp->buckets; r += 8) {
        unsigned char bits = 0;
        uint32_t b;

        for (b = 0; b < 8 && r + b < hp->buckets; b++) {
            bits |= (unsigned char)((w->in_scale[r + b] != 0) << b);
        }
        put(k, &bits, 1);
    }
    for (r = 0; r < hp->buckets; r++) {
        if (w->in_scale[r] != 0) {
            put_f32(k, w->in_scale[r]);
            put(k, w->in_q + (size_t)r * m->stride, hp->dim);
        }
    }
    for (o = 0; o < m->nout; o++) {
        for (i = 0; i < hp->dim; i++) {
            put_f32(k, w->out[(size_t)o * m->stride + i]);
        }
    }
    for (o = 0; o < m->nout; o++) {
        put_f32(k, w->bias[o]);
    }
    put_u32(k, m->vocab.n);
    for (r = 0; r < m->vocab.n; r++) {
        put_str(k, m->vocab.words[r]);
    }
    for (r = 0; r < m->vocab.n; r++) {
        put_u32(k, m->vocab.df[r]);
    }
    put_u32(k, m->vocab.ndocs);
    put_u32(k, m->nrefs);
    for (r = 0; r < m->nrefs; r++) {
        put_str(k, m->ref_text[r]);
        put_u32(k, m->ref_label[r]);
    }
    put_u32(k, (uint32_t)v->mem.n);
    for (i = 0; i < v->mem.n; i++) {
        const tc__mem_entry *e = v->mem.e[i];

        put_str(k, e->text);
        put_u32(k, (uint32_t)e->nt);
        for (j = 0; j < e->nt; j++) {
            put_u32(k, e->t[j].head);
            put_u32(k, e->t[j].label);
        }
    }
    flush(k);
}

int tc__version_fingerprint(const tc_model *m, tc__version *v)
{
    XXH3_state_t st;
    sink *k = tc__malloc(sizeof(*k));

    if (!k) {
        return TC_ENOMEM;
    }
    XXH3_128bits_reset(&st);
    k->buf = NULL;
    k->st = &st;
    k->len = 0;
    k->fill = 0;
    serialize(k, m, v);
    tc__free(k);
    tc__model_hex128(v->fingerprint, XXH3_128bits_digest(&st));
    return TC_OK;
}

int tc__model_fail_io(int code, const char *path, const char *why)
{
    return tc__fail(code, "%s%s%s", path, *path ? ": " : "", why);
}

int tc__model_save(const tc_model *m, const char *path)
{
    uint64_t total;
    unsigned char *buf;
    XXH128_canonical_t sum;
    _Atomic long *rd;
    tc__version *v;
    tc__err err;
    char *tmp;
    sink *k;
    size_t n;
    int fd, ok;

    /* one version from the size to the last byte, checked first: what
     * this writes, tc_model_load accepts */
    rd = tc__read_enter(m, &v);
    if (tc__weights_check(m, &err) != TC_OK) {
        tc__read_leave(rd);
        return tc__model_fail_io(TC_ERANGE, path, err.msg);
    }
    total = HEADER_BYTES + body_bytes(m, v) + SUM_BYTES;
    k = tc__malloc(sizeof(*k));
    buf = total <= SIZE_MAX ? tc__malloc((size_t)total) : NULL;
    tmp = tc__malloc(strlen(path) + 8);
    if (!k || !buf || !tmp) {
        tc__read_leave(rd);
        tc__free(k);
        tc__free(buf);
        tc__free(tmp);
        return tc__model_fail_io(TC_ENOMEM, "", "out of memory");
    }
    k->buf = buf;
    k->st = NULL;
    k->len = 0;
    k->fill = 0;
    serialize(k, m, v);
    tc__read_leave(rd);
    n = k->len;
    tc__free(k);
    XXH128_canonicalFromHash(&sum, XXH3_128bits(buf, n));
    memcpy(buf + n, sum.digest, SUM_BYTES);
    n += SUM_BYTES;

    /* A new file renamed over the old one: a reader sees either. */
    sprintf(tmp, "%s.XXXXXX", path);
    fd = mkstemp(tmp);
    ok = fd >= 0;
    if (ok) {
        const unsigned char *p = buf;
        size_t left = n;

        ok = fchmod(fd, 0644) == 0;
        while (ok && left > 0) {
            ssize_t w = write(fd, p, left);

            if (w < 0 && errno == EINTR) {
                continue;
            }
            ok = w > 0;
            p += ok ? (size_t)w : 0;
            left -= ok ? (size_t)w : 0;
        }
        ok = ok && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok) {
            int e = errno;

            unlink(tmp);
            errno = e;
        }
    }
    tc__free(buf);
    tc__free(tmp);
    if (!ok) {
        return tc__model_fail_io(TC_EIO, path, strerror(errno));
    }
    return TC_OK;
}
