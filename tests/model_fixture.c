/*
 * model_fixture.c - the model suites' shared fixture (model_fixture.h):
 * a data set from templates, training and prediction that fail the test
 * on an error, file helpers, and the test's own reading and writing of
 * the file format, independent of lib/model_io.c and lib/model_load.c,
 * so that the library is checked against the layout it documents.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "model/model_file.h"
#include "model_fixture.h"

/* ---- random numbers ------------------------------------------------------ */

uint64_t mf_lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static const char *pick(uint64_t *s, const char *const *v, size_t n)
{
    return v[mf_lcg(s) % n];
}

#define PICK(s, v) pick(s, v, sizeof(v) / sizeof(v[0]))

void mf_pseudo_word(uint64_t *s, char *buf)
{
    static const char *const on[] = {"b",  "d",  "f",  "g",  "k",  "l", "m",
                                     "n",  "p",  "r",  "s",  "t",  "v", "z",
                                     "ch", "sh", "tr", "pl", "gr", "st"};
    static const char *const nu[] = {"a", "e", "i", "o", "u", "ai", "ou"};
    int k, n = 2 + (int)(mf_lcg(s) % 3);

    buf[0] = '\0';
    for (k = 0; k < n; k++) {
        strcat(buf, PICK(s, on));
        strcat(buf, PICK(s, nu));
    }
}

/* ---- the generated data set ---------------------------------------------- */

static const char *const intents[6] = {"weather", "music",       "booking",
                                       "math",    "translation", "debugging"};

static const char *const cities[] = {"paris",  "london", "tokyo", "berlin",
                                     "madrid", "boston", "cairo", "lima"};
static const char *const whens[] = {"today", "tomorrow", "this weekend",
                                    "tonight", "next week"};
static const char *const genres[] = {"jazz",    "rock",  "classical",
                                     "hip hop", "blues", "folk"};
static const char *const artists[] = {"miles davis", "the beatles",
                                      "nina simone", "daft punk", "adele"};
static const char *const places[] = {"luigi's", "the blue door", "sushi palace",
                                     "le petit bistro"};
static const char *const langs[] = {"french", "german", "spanish", "japanese",
                                    "italian"};
static const char *const words[] = {"hello", "thank you", "good morning",
                                    "cat",   "library",   "bicycle"};
static const char *const progs[] = {"python", "c", "java", "rust", "go"};

/*
 * One example: intent from six, complexity from a marker phrase, and
 * techniques (multi-label) from what the text holds: digits, a city.
 * Writes the plain text into text and returns the intent's index.
 */
static int example(uint64_t *s, char *text, size_t tn, int *digits, int *city,
                   int *detailed)
{
    int which = (int)(mf_lcg(s) % 6), form = (int)(mf_lcg(s) % 3);
    int a = (int)(mf_lcg(s) % 900) + 10, b = (int)(mf_lcg(s) % 90) + 2;
    const char *c = PICK(s, cities);
    char t[256];

    *detailed = (int)(mf_lcg(s) % 2);
    *digits = *city = 0;
    switch (which) {
    case 0:
        *city = 1;
        snprintf(t, sizeof(t),
                 form == 0   ? "What is the weather in %s %s?"
                 : form == 1 ? "Will it rain in %s %s"
                             : "forecast for %s %s please",
                 c, PICK(s, whens));
        break;
    case 1:
        snprintf(t, sizeof(t),
                 form == 0   ? "Play some %s music"
                 : form == 1 ? "put on %s"
                             : "I want to hear %s songs",
                 form == 1 ? PICK(s, artists) : PICK(s, genres));
        break;
    case 2:
        *digits = form != 1;
        *city = form == 1;
        if (form == 1) {
            snprintf(t, sizeof(t), "reserve a restaurant in %s for tonight", c);
        } else {
            snprintf(t, sizeof(t), "Book a table for %d at %s", b % 9 + 2,
                     PICK(s, places));
        }
        break;
    case 3:
        *digits = 1;
        snprintf(t, sizeof(t),
                 form == 0   ? "what is %d plus %d"
                 : form == 1 ? "how much is %d times %d"
                             : "calculate %d divided by %d",
                 a, b);
        break;
    case 4:
        snprintf(t, sizeof(t),
                 form == 0 ? "translate %s into %s" : "how do you say %s in %s",
                 PICK(s, words), PICK(s, langs));
        break;
    default:
        snprintf(t, sizeof(t),
                 form == 0   ? "my %s program crashes with a segfault"
                 : form == 1 ? "why does my %s code throw an exception"
                             : "fix the bug in my %s function",
                 PICK(s, progs));
        break;
    }
    snprintf(text, tn, "%s%s", t, *detailed ? ", explain in detail" : "");
    return which;
}

mf_corpus *mf_corpus_make(uint64_t seed, int n, double noise)
{
    mf_corpus *c = calloc(1, sizeof(*c));
    size_t cap = (size_t)n * 400 + 1, i, nheld = (size_t)n / MF_HELD;
    uint64_t s = seed;

    ck_assert_ptr_nonnull(c);
    c->train = malloc(cap);
    c->text = calloc(nheld ? nheld : 1, sizeof(*c->text));
    c->intent = calloc(nheld ? nheld : 1, sizeof(*c->intent));
    ck_assert(c->train && c->text && c->intent);
    for (i = 0; i < (size_t)n; i++) {
        char text[MF_TEXT_MAX];
        int digits, city, detailed, which, len;

        which = example(&s, text, sizeof(text), &digits, &city, &detailed);
        /* the draw happens for every example, so that the texts of a seed
         * are the same at every noise level */
        if ((double)(mf_lcg(&s) % 10000) < noise * 10000) {
            which = (which + 1 + (int)(mf_lcg(&s) % 5)) % 6;
        }
        if (i % MF_HELD == MF_HELD - 1) {
            strcpy(c->text[c->nheld], text);
            c->intent[c->nheld++] = intents[which];
            continue;
        }
        len = snprintf(c->train + c->len, cap - c->len,
                       "{\"text\": \"%s\", \"intent\": \"%s\", "
                       "\"complexity\": \"%s\", \"techniques\": [%s%s%s], "
                       "\"id\": %d}\n",
                       text, intents[which], detailed ? "detailed" : "simple",
                       digits ? "\"numbers\"" : "", digits && city ? ", " : "",
                       city ? "\"location\"" : "", which);
        ck_assert(len > 0 && (size_t)len < cap - c->len);
        c->len += (size_t)len;
    }
    return c;
}

void mf_corpus_free(mf_corpus *c)
{
    if (c) {
        free(c->train);
        free(c->text);
        free(c->intent);
        free(c);
    }
}

const char **mf_held_texts(const mf_corpus *c)
{
    const char **t = calloc(c->nheld ? c->nheld : 1, sizeof(*t));
    size_t i;

    ck_assert_ptr_nonnull(t);
    for (i = 0; i < c->nheld; i++) {
        t[i] = c->text[i];
    }
    return t;
}

void mf_small_options(tc_train_options *o)
{
    tc_train_options_init(o);
    o->buckets = 20000;
    o->dim = 16;
    o->epochs = 10;
    o->threads = 1;
    o->seed = 7;
}

tc_model *mf_tiny_model(void)
{
    mf_corpus *c = mf_corpus_make(6, 60, 0);
    tc_train_options o;
    tc_model *m;

    mf_small_options(&o);
    /* not a multiple of 8 (the bitmap has bits to spare), and more rows
     * than 60 texts reach under any compiler (some are left unused) */
    o.buckets = 1019;
    o.dim = 4;
    o.epochs = 3;
    m = mf_train_ok(c->train, c->len, &o);
    mf_corpus_free(c);
    return m;
}

/* ---- training and prediction --------------------------------------------- */

tc_model *mf_train_ok(const char *data, size_t len, const tc_train_options *o)
{
    tc_model *m = NULL;
    int rc = tc_model_train(&m, data, len, o);

    ck_assert_msg(rc == TC_OK, "train: %s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_nonnull(m);
    return m;
}

const char *mf_top_intent(const tc_model *m, const char *text, double *score)
{
    static _Thread_local char label[64];
    tc_prediction *p = NULL;

    ck_assert_int_eq(tc_model_predict(&p, m, text, strlen(text), 1), TC_OK);
    ck_assert_str_eq(p->heads[0].head, "intent");
    ck_assert_uint_eq(p->heads[0].n, 1);
    snprintf(label, sizeof(label), "%s", p->heads[0].labels[0].label);
    if (score) {
        *score = p->heads[0].labels[0].score;
    }
    tc_prediction_free(p);
    return label;
}

double mf_held_accuracy(const tc_model *m, const mf_corpus *c)
{
    size_t i, ok = 0;

    ck_assert_uint_gt(c->nheld, 0);
    for (i = 0; i < c->nheld; i++) {
        ok += strcmp(mf_top_intent(m, c->text[i], NULL), c->intent[i]) == 0;
    }
    return (double)ok / (double)c->nheld;
}

void mf_same_predictions(const tc_model *a, const tc_model *b,
                         const char *const *texts, size_t n, int top_k)
{
    size_t i, h, k;

    for (i = 0; i < n; i++) {
        tc_prediction *p = NULL, *q = NULL;

        ck_assert_int_eq(
            tc_model_predict(&p, a, texts[i], strlen(texts[i]), top_k), TC_OK);
        ck_assert_int_eq(
            tc_model_predict(&q, b, texts[i], strlen(texts[i]), top_k), TC_OK);
        ck_assert_uint_eq(p->nheads, q->nheads);
        for (h = 0; h < p->nheads; h++) {
            ck_assert_str_eq(p->heads[h].head, q->heads[h].head);
            ck_assert_msg(p->heads[h].n == q->heads[h].n,
                          "\"%s\", head %s: %zu labels against %zu", texts[i],
                          p->heads[h].head, p->heads[h].n, q->heads[h].n);
            for (k = 0; k < p->heads[h].n; k++) {
                double x = p->heads[h].labels[k].score,
                       y = q->heads[h].labels[k].score;

                ck_assert_msg(strcmp(p->heads[h].labels[k].label,
                                     q->heads[h].labels[k].label) == 0 &&
                                  x == y,
                              "\"%s\", head %s, label %zu: %s %.9g against "
                              "%s %.9g",
                              texts[i], p->heads[h].head, k,
                              p->heads[h].labels[k].label, x,
                              q->heads[h].labels[k].label, y);
            }
        }
        tc_prediction_free(p);
        tc_prediction_free(q);
    }
}

void mf_update_ok(tc_model *m, const char *json)
{
    int rc = tc_model_update(m, json);

    ck_assert_msg(rc == TC_OK, "update %s: %s: %s", json, tc_error_name(rc),
                  tc_errmsg());
}

void mf_correct(tc_model *m, const char *text, const char *intent)
{
    char js[512];

    ck_assert_uint_lt(strlen(text) + strlen(intent), sizeof(js) - 32);
    snprintf(js, sizeof(js), "{\"text\":\"%s\",\"intent\":\"%s\"}", text,
             intent);
    mf_update_ok(m, js);
}

double mf_corrections(const tc_model *m)
{
    char *js = NULL;
    const cJSON *f;
    cJSON *o;
    double n;

    ck_assert_int_eq(tc_model_info_json(&js, m), TC_OK);
    o = cJSON_Parse(js);
    f = cJSON_GetObjectItemCaseSensitive(o, "corrections");
    ck_assert_msg(cJSON_IsNumber(f), "no corrections in %s", js);
    n = f->valuedouble;
    cJSON_Delete(o);
    tc_free(js);
    return n;
}

/* ---- files --------------------------------------------------------------- */

void mf_save_ok(const tc_model *m, const char *path)
{
    int rc = tc_model_save(m, path);

    ck_assert_msg(rc == TC_OK, "save: %s: %s", tc_error_name(rc), tc_errmsg());
}

int mf_load_rc(const char *path)
{
    tc_model *m = (tc_model *)1;
    int rc = tc_model_load(&m, path);

    if (rc == TC_OK) {
        ck_assert_ptr_nonnull(m);
        tc_model_free(m);
    } else {
        ck_assert_ptr_null(m);
        ck_assert_msg(tc_errmsg()[0] != '\0', "no message for %s",
                      tc_error_name(rc));
    }
    return rc;
}

unsigned char *mf_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long sz;

    ck_assert_msg(f != NULL, "open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    sz = ftell(f);
    ck_assert_int_ge(sz, 0);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    b = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/*
 * Written in place and cut to length, not truncated first: ext4 flushes
 * a file truncated to zero and written again when it is closed (its
 * auto_da_alloc), which makes the damage loops, thousands of files each,
 * wait for the disk.
 */
void mf_spit(const char *path, const unsigned char *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    size_t at = 0;

    ck_assert_msg(fd >= 0, "create %s", path);
    while (at < n) {
        ssize_t w = write(fd, b + at, n - at);

        ck_assert_msg(w > 0, "write %s", path);
        at += (size_t)w;
    }
    ck_assert_int_eq(ftruncate(fd, (off_t)n), 0);
    ck_assert_int_eq(close(fd), 0);
}

void mf_reseal(unsigned char *b, size_t n)
{
    XXH128_canonical_t c;

    ck_assert_uint_ge(n, TC__MODEL_SUM_BYTES);
    XXH128_canonicalFromHash(&c, XXH3_128bits(b, n - TC__MODEL_SUM_BYTES));
    memcpy(b + n - TC__MODEL_SUM_BYTES, c.digest, TC__MODEL_SUM_BYTES);
}

uint32_t mf_get_u32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

void mf_put_u32(unsigned char *b, uint32_t x)
{
    b[0] = (unsigned char)x;
    b[1] = (unsigned char)(x >> 8);
    b[2] = (unsigned char)(x >> 16);
    b[3] = (unsigned char)(x >> 24);
}

void mf_put_f32(unsigned char *b, float f)
{
    uint32_t x;

    memcpy(&x, &f, 4);
    mf_put_u32(b, x);
}

/* ---- walking a version 3 file -------------------------------------------- */

/* A cursor that fails the test when the file ends early. */
typedef struct walk {
    const unsigned char *b;
    size_t n, pos;
} walk;

static size_t skip(walk *w, size_t k)
{
    size_t at = w->pos;

    ck_assert_msg(k <= w->n - w->pos, "the walk ran past the end at %zu",
                  w->pos);
    w->pos += k;
    return at;
}

static uint32_t u32(walk *w)
{
    return mf_get_u32(w->b + skip(w, 4));
}

static void str(walk *w)
{
    skip(w, u32(w));
}

void mf_layout_of(mf_layout *l, const unsigned char *b, size_t n)
{
    walk w = {b, n - TC__MODEL_SUM_BYTES, TC__MODEL_MAGIC_BYTES};
    uint32_t h, i, k, nlabels, nt;

    memset(l, 0, sizeof(*l));
    ck_assert_uint_ge(n, TC__MODEL_HEADER_BYTES + TC__MODEL_SUM_BYTES);
    ck_assert_int_eq(memcmp(b, TC__MODEL_MAGIC, TC__MODEL_MAGIC_BYTES), 0);
    ck_assert_uint_eq(u32(&w), TC__MODEL_FORMAT);
    ck_assert_uint_eq(u32(&w), 0); /* flags */
    skip(&w, 8);                   /* body length */
    l->dim = u32(&w);
    l->buckets = u32(&w);
    skip(&w, 4 * 4 + 4 + 8);                     /* ... lr, seed */
    ck_assert_uint_eq(u32(&w), 1);               /* kept rows */
    ck_assert_uint_le(u32(&w), TC__FEATURE_END); /* features */
    ck_assert_uint_eq(u32(&w), 0);               /* reserved */
    l->nheads = u32(&w);
    for (h = 0; h < l->nheads; h++) {
        str(&w);
        skip(&w, 4); /* multi */
        nlabels = u32(&w);
        for (i = 0; i < nlabels; i++) {
            str(&w);
        }
        ck_assert_uint_lt(h, MF_HEADS_MAX);
        l->calib[h] = skip(&w, 16); /* calibration: a, b, c, d */
        l->nout += nlabels;
    }
    skip(&w, 8); /* oos, radius */
    l->bitmap = skip(&w, (l->buckets + 7) / 8);
    for (i = 0; i < l->buckets; i++) {
        l->nrows += (b[l->bitmap + i / 8] >> (i % 8)) & 1;
    }
    l->rows = skip(&w, (size_t)l->nrows * (4 + l->dim));
    l->out = skip(&w, (size_t)l->nout * l->dim * 4);
    l->bias = skip(&w, (size_t)l->nout * 4);
    l->vocab = w.pos;
    l->nwords = u32(&w);
    for (i = 0; i < l->nwords; i++) {
        str(&w);
    }
    l->df = skip(&w, (size_t)l->nwords * 4);
    l->ndocs = skip(&w, 4);
    l->refs = w.pos;
    l->nrefs = u32(&w);
    for (i = 0; i < l->nrefs; i++) {
        str(&w);
        k = (uint32_t)skip(&w, 4);
        l->ref_label = i == 0 ? k : l->ref_label;
    }
    l->mem = w.pos;
    l->nmem = u32(&w);
    for (i = 0; i < l->nmem; i++) {
        str(&w);
        nt = u32(&w);
        k = (uint32_t)skip(&w, (size_t)nt * 8);
        l->mem_target = i == 0 ? k : l->mem_target;
    }
    ck_assert_msg(w.pos == w.n, "the walk ended at %zu of %zu", w.pos, w.n);
}

unsigned char *mf_as_v3(const unsigned char *b, size_t n, size_t *len)
{
    unsigned char *o = malloc(n);
    size_t from = 0, at = 0;
    mf_layout l;
    uint32_t h;

    ck_assert_ptr_nonnull(o);
    mf_layout_of(&l, b, n);
    for (h = 0; h < l.nheads; h++) {
        size_t d = l.calib[h] + 12; /* d, the rival's weight */

        memcpy(o + at, b + from, d - from);
        at += d - from;
        from = d + 4;
    }
    memcpy(o + at, b + from, n - from);
    at += n - from;
    mf_put_u32(o + TC__MODEL_MAGIC_BYTES, 3);
    /* the body's length, then the checksum */
    mf_put_u32(o + 16, mf_get_u32(b + 16) - 4 * l.nheads);
    mf_reseal(o, at);
    *len = at;
    return o;
}

/* ---- files of versions 1 and 2 ------------------------------------------- */

/* A growing buffer of a file being written. */
typedef struct obuf {
    unsigned char *b;
    size_t n, cap;
} obuf;

static void put(obuf *o, const void *p, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->b = realloc(o->b, o->cap);
        ck_assert_ptr_nonnull(o->b);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_u32(obuf *o, uint32_t x)
{
    unsigned char b[4];

    mf_put_u32(b, x);
    put(o, b, 4);
}

static void put_f32(obuf *o, float f)
{
    unsigned char b[4];

    mf_put_f32(b, f);
    put(o, b, 4);
}

static void put_str(obuf *o, const char *s)
{
    put_u32(o, (uint32_t)strlen(s));
    put(o, s, strlen(s));
}

void mf_as_old(tc_model *m)
{
    /* its row stays in the weights, unread */
    m->features = 0;
}

void mf_write_old(const tc_model *m, const char *path, unsigned version)
{
    obuf o = {NULL, 0, 0};
    uint64_t blen;
    uint32_t r, i, h, k;

    ck_assert(version == 1 || version == 2);
    ck_assert_uint_eq(m->features, 0);
    put(&o, TC__MODEL_MAGIC, TC__MODEL_MAGIC_BYTES);
    put_u32(&o, version);
    put_u32(&o, 0); /* flags */
    put_u32(&o, 0); /* body length, filled in below */
    put_u32(&o, 0);
    put_u32(&o, m->hp.dim);
    put_u32(&o, m->hp.buckets);
    put_u32(&o, m->hp.word_ngrams);
    put_u32(&o, m->hp.minn);
    put_u32(&o, m->hp.maxn);
    put_u32(&o, m->hp.epochs);
    put_f32(&o, m->hp.lr);
    put_u32(&o, (uint32_t)m->hp.seed);
    put_u32(&o, (uint32_t)(m->hp.seed >> 32));
    put_u32(&o, 0); /* rows: every one, int8 with a scale */
    put_u32(&o, 0); /* reserved */
    put_u32(&o, 0);
    put_u32(&o, (uint32_t)m->nheads);
    for (h = 0; h < m->nheads; h++) {
        put_str(&o, m->heads[h].name);
        put_u32(&o, (uint32_t)m->heads[h].multi);
        put_u32(&o, m->heads[h].nlabels);
        for (k = 0; k < m->heads[h].nlabels; k++) {
            put_str(&o, m->heads[h].labels[k]);
        }
    }
    for (r = 0; r < m->hp.buckets; r++) {
        put_f32(&o, m->w.in_scale[r]);
        put(&o, m->w.in_q + (size_t)r * m->stride, m->hp.dim);
    }
    for (r = 0; r < m->nout; r++) {
        for (i = 0; i < m->hp.dim; i++) {
            put_f32(&o, m->w.out[(size_t)r * m->stride + i]);
        }
    }
    for (r = 0; r < m->nout; r++) {
        put_f32(&o, m->w.bias[r]);
    }
    if (version == 2) {
        put_u32(&o, m->vocab.n);
        for (r = 0; r < m->vocab.n; r++) {
            put_str(&o, m->vocab.words[r]);
        }
    }
    blen = o.n - TC__MODEL_HEADER_BYTES;
    mf_put_u32(o.b + 16, (uint32_t)blen);
    mf_put_u32(o.b + 20, (uint32_t)(blen >> 32));
    put(&o, "0123456789abcdef", TC__MODEL_SUM_BYTES);
    mf_reseal(o.b, o.n);
    mf_spit(path, o.b, o.n);
    free(o.b);
}
