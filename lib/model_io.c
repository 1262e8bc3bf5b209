/*
 * model_io.c - the model file and the fingerprint. A file is a fixed
 * header (magic, format version, body length), a body (hyper-parameters,
 * head and label tables, weights, all little-endian) and an XXH3-128
 * checksum of both. The checksum doubles as the model's fingerprint: it
 * is computed by streaming the same bytes, without writing them, so a
 * model in memory and its file always agree. Loading is one read, then
 * every length and count is checked against the bytes that remain, so a
 * damaged or hostile file is refused, never trusted.
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

#include "model.h"
#include "normalize.h"

/* "\x89TCM" then CR LF SUB LF, as PNG does: a file mangled by a text-mode
 * transfer or taken for text is refused at once. */
static const unsigned char MAGIC[8] = {0x89, 'T',  'C',  'M',
                                       '\r', '\n', 0x1A, '\n'};
/* 2 added the vocabulary after the bias; files of version 1, without
 * it, are still read */
#define FORMAT_VERSION 2
#define HEADER_BYTES 24
#define SUM_BYTES 16

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

/* The body's size; labels and names are short enough not to overflow. */
static uint64_t body_bytes(const tc_model *m)
{
    uint64_t n = 10 * 4 + 8 + 4; /* hyper-parameters, head count */
    size_t h, i;

    for (h = 0; h < m->nheads; h++) {
        n += 12 + strlen(m->heads[h].name);
        for (i = 0; i < m->heads[h].nlabels; i++) {
            n += 4 + strlen(m->heads[h].labels[i]);
        }
    }
    n += (uint64_t)m->hp.buckets * (4 + m->hp.dim);
    n += (uint64_t)m->nout * (m->hp.dim + 1) * 4;
    n += 4;
    for (i = 0; i < m->vocab.n; i++) {
        n += 4 + strlen(m->vocab.words[i]);
    }
    return n;
}

size_t tc__model_file_size(const tc_model *m)
{
    return (size_t)(HEADER_BYTES + body_bytes(m) + SUM_BYTES);
}

static void serialize(sink *k, const tc_model *m, const tc__version *v)
{
    const tc__hparams *hp = &m->hp;
    size_t h, i;
    uint32_t r, o;

    put(k, MAGIC, 8);
    put_u32(k, FORMAT_VERSION);
    put_u32(k, 0); /* flags: none defined */
    put_u64(k, body_bytes(m));
    put_u32(k, hp->dim);
    put_u32(k, hp->buckets);
    put_u32(k, hp->word_ngrams);
    put_u32(k, hp->minn);
    put_u32(k, hp->maxn);
    put_u32(k, hp->epochs);
    put_f32(k, hp->lr);
    put_u64(k, hp->seed);
    put_u32(k, 0); /* row encoding: int8 with a float scale */
    put_u32(k, 0); /* reserved */
    put_u32(k, 0); /* reserved */
    put_u32(k, (uint32_t)m->nheads);
    for (h = 0; h < m->nheads; h++) {
        put_str(k, m->heads[h].name);
        put_u32(k, (uint32_t)m->heads[h].multi);
        put_u32(k, m->heads[h].nlabels);
        for (i = 0; i < m->heads[h].nlabels; i++) {
            put_str(k, m->heads[h].labels[i]);
        }
    }
    for (r = 0; r < hp->buckets; r++) {
        put_f32(k, v->in_scale[r]);
        put(k, v->in_q + (size_t)r * m->stride, hp->dim);
    }
    for (o = 0; o < m->nout; o++) {
        for (i = 0; i < hp->dim; i++) {
            put_f32(k, v->out[(size_t)o * m->stride + i]);
        }
    }
    for (o = 0; o < m->nout; o++) {
        put_f32(k, v->bias[o]);
    }
    put_u32(k, m->vocab.n);
    for (r = 0; r < m->vocab.n; r++) {
        put_str(k, m->vocab.words[r]);
    }
    flush(k);
}

static void hex128(char *buf, XXH128_hash_t h)
{
    snprintf(buf, TC_FINGERPRINT_LEN + 1, "%016llx%016llx",
             (unsigned long long)h.high64, (unsigned long long)h.low64);
}

int tc__model_fingerprint(const tc_model *m, tc__version *v)
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
    hex128(v->fingerprint, XXH3_128bits_digest(&st));
    return TC_OK;
}

/* Reports a failure of save or load: "path: why" in errbuf and the
 * thread's detail. path may be "" when why says it all. */
static int fail_io(char *errbuf, size_t errlen, int code, const char *path,
                   const char *why)
{
    const char *sep = *path ? ": " : "";

    if (errbuf && errlen) {
        snprintf(errbuf, errlen, "%s%s%s", path, sep, why);
    }
    return tc__fail(NULL, code, "%s%s%s", path, sep, why);
}

TC_API int tc_model_save(const tc_model *m, const char *path, char *errbuf,
                         size_t errlen)
{
    uint64_t total;
    unsigned char *buf;
    XXH128_canonical_t sum;
    _Atomic long *rd;
    tc__version *v;
    char *tmp;
    sink *k;
    size_t n;
    int fd, ok;

    if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    tc__clear(NULL);
    if (!m || !path) {
        return fail_io(errbuf, errlen, TC_EINVAL, "", "NULL argument");
    }
    total = HEADER_BYTES + body_bytes(m) + SUM_BYTES;
    k = tc__malloc(sizeof(*k));
    buf = total <= SIZE_MAX ? tc__malloc((size_t)total) : NULL;
    tmp = tc__malloc(strlen(path) + 8);
    if (!k || !buf || !tmp) {
        tc__free(k);
        tc__free(buf);
        tc__free(tmp);
        return fail_io(errbuf, errlen, TC_ENOMEM, "", "out of memory");
    }
    k->buf = buf;
    k->st = NULL;
    k->len = 0;
    k->fill = 0;
    rd = tc__read_enter(m, &v);
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
        return fail_io(errbuf, errlen, TC_EIO, path, strerror(errno));
    }
    return TC_OK;
}

/* ---- reading ----------------------------------------------------------- */

int tc__read_file(const char *path, char **data, size_t *len, tc__err *err)
{
    struct stat sb;
    char *buf;
    size_t got = 0;
    int fd;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return tc__errf(err, TC_EIO, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = S_ISDIR(sb.st_mode) ? EISDIR : errno;

        close(fd);
        return tc__errf(err, TC_EIO, "%s: %s", path,
                        e ? strerror(e) : "not a regular file");
    }
    if ((uint64_t)sb.st_size >= SIZE_MAX) {
        close(fd);
        return tc__errf(err, TC_ENOMEM, "%s: too large", path);
    }
    buf = tc__malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = errno;

            close(fd);
            tc__free(buf);
            return tc__errf(err, TC_EIO, "%s: %s", path,
                            r < 0 ? strerror(e) : "file shrank while read");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return TC_OK;
}

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

static int read_hparams(src *s, tc__hparams *hp, load_err *e)
{
    hp->dim = get_u32(s);
    hp->buckets = get_u32(s);
    hp->word_ngrams = get_u32(s);
    hp->minn = get_u32(s);
    hp->maxn = get_u32(s);
    hp->epochs = get_u32(s);
    hp->lr = get_f32(s);
    hp->seed = get_u64(s);
    if (get_u32(s) != 0 || get_u32(s) != 0 || get_u32(s) != 0 || s->bad) {
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

static int read_heads(src *s, tc_model *m, load_err *e)
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
    return TC_OK;
}

/* The weights; a vocabulary (version 2) follows them. */
static int read_weights(src *s, tc_model *m, uint32_t version, load_err *e)
{
    uint64_t need = (uint64_t)m->hp.buckets * (4 + m->hp.dim) +
                    (uint64_t)m->nout * (m->hp.dim + 1) * 4;
    uint64_t left = s->len - s->pos;
    tc__version *v;
    uint32_t r, o, i;

    if (version == 1 ? need != left : need + 4 > left) {
        return corrupt(e, "weights do not match the tables");
    }
    v = tc__version_new(m);
    if (!v) {
        e->code = TC_ENOMEM;
        return TC_ENOMEM;
    }
    for (r = 0; r < m->hp.buckets; r++) {
        float sc = get_f32(s);

        if (!(sc >= 0) || !isfinite(sc)) {
            s->bad = 1;
            break;
        }
        v->in_scale[r] = sc;
        memcpy(v->in_q + (size_t)r * m->stride, take(s, m->hp.dim), m->hp.dim);
    }
    for (o = 0; o < m->nout && !s->bad; o++) {
        for (i = 0; i < m->hp.dim; i++) {
            v->out[(size_t)o * m->stride + i] = get_f32(s);
        }
    }
    for (o = 0; o < m->nout && !s->bad; o++) {
        v->bias[o] = get_f32(s);
    }
    for (o = 0; o < m->nout * m->stride && !s->bad; o++) {
        s->bad = !isfinite(v->out[o]) || (o < m->nout && !isfinite(v->bias[o]));
    }
    if (s->bad) {
        tc__version_free(v);
        return corrupt(e, "weights out of range");
    }
    tc__version_transpose(m, v);
    atomic_store(&m->cur, v);
    return TC_OK;
}

/* The vocabulary: a count, then words of 1 to TC__VOCAB_WORD_MAX bytes. */
static int read_vocab(src *s, tc_model *m, load_err *e)
{
    uint32_t n = get_u32(s), i;
    char **words;
    int oom = 0;

    if (s->bad || n > TC__VOCAB_MAX || n > (s->len - s->pos) / 5) {
        return corrupt(e, "bad vocabulary");
    }
    if (!(words = tc__calloc(n ? n : 1, sizeof(char *)))) {
        e->code = TC_ENOMEM;
        return TC_ENOMEM;
    }
    for (i = 0; i < n && !s->bad && !oom; i++) {
        words[i] = get_str(s, &oom);
        if (words[i] && strlen(words[i]) > TC__VOCAB_WORD_MAX) {
            s->bad = 1;
        }
    }
    if (s->bad || oom || s->pos != s->len) {
        for (i = 0; i < n; i++) {
            tc__free(words[i]);
        }
        tc__free(words);
        if (oom) {
            e->code = TC_ENOMEM;
            return TC_ENOMEM;
        }
        return corrupt(e, "bad vocabulary");
    }
    if (tc__vocab_set(m, words, n) != TC_OK ||
        tc__version_wvec(m, atomic_load(&m->cur), NULL, NULL, 0) != TC_OK) {
        e->code = TC_ENOMEM;
        return TC_ENOMEM;
    }
    return TC_OK;
}

/* Checks the frame (size, magic, version, length, checksum) of a file. */
static int check_frame(const unsigned char *b, size_t n, char *fp,
                       uint32_t *version, char *why, size_t whylen)
{
    XXH128_canonical_t sum;
    uint32_t ver;
    uint64_t blen;
    src s = {b, n, 8, 0};

    if (n < 8 || memcmp(b, MAGIC, 8) != 0) {
        snprintf(why, whylen, "%s",
                 n < 8 && memcmp(b, MAGIC, n) == 0
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
    hex128(fp, XXH128_hashFromCanonical(&sum));
    return TC_OK;
}

TC_API int tc_model_load(tc_model **out, const char *path, char *errbuf,
                         size_t errlen)
{
    char *data = NULL, why[128], fp[TC_FINGERPRINT_LEN + 1];
    tc__hparams hp;
    tc__err err;
    tc_model *m = NULL;
    load_err le = {TC_OK, NULL};
    uint32_t version = 0;
    size_t len;
    src s;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    tc__clear(NULL);
    if (!out || !path) {
        return fail_io(errbuf, errlen, TC_EINVAL, "", "NULL argument");
    }
    rc = tc__read_file(path, &data, &len, &err);
    if (rc != TC_OK) {
        return fail_io(errbuf, errlen, rc, "", err.msg);
    }
    rc = check_frame((const unsigned char *)data, len, fp, &version, why,
                     sizeof(why));
    if (rc != TC_OK) {
        tc__free(data);
        return fail_io(errbuf, errlen, rc, path, why);
    }
    s.p = (const unsigned char *)data + HEADER_BYTES;
    s.len = len - HEADER_BYTES - SUM_BYTES;
    s.pos = 0;
    s.bad = 0;
    rc = read_hparams(&s, &hp, &le);
    if (rc == TC_OK) {
        m = tc__model_new(&hp);
        if (!m) {
            le.code = rc = TC_ENOMEM;
        }
    }
    if (rc == TC_OK) {
        rc = read_heads(&s, m, &le);
    }
    if (rc == TC_OK) {
        rc = read_weights(&s, m, version, &le);
    }
    if (rc == TC_OK && version >= 2) {
        rc = read_vocab(&s, m, &le);
    }
    tc__free(data);
    if (rc != TC_OK) {
        tc_model_free(m);
        return fail_io(errbuf, errlen, le.code, path,
                       le.code == TC_ENOMEM ? "out of memory" : le.why);
    }
    memcpy(atomic_load(&m->cur)->fingerprint, fp, sizeof(fp));
    *out = m;
    return TC_OK;
}
