/*
 * suite_cluster.c - the text vectors and the clustering with which
 * bench/suite splits each intent into sub-intents: TF-IDF bags of words
 * (tokens are lowercase alphanumeric runs), L2-normalized, grouped by
 * spherical k-means.
 *
 * The vectors are sparse rows of one matrix; a class's centroids are
 * dense, but only over the words that class's texts use, so a class of
 * 2,000 texts and 135 clusters needs a few hundred thousand doubles
 * rather than 135 times the whole vocabulary.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "suite.h"

/* Lloyd iterations at most; stopping earlier when no text moves gives
 * the same result, since such a state is a fixed point. */
#define KMEANS_ITERATIONS 25

struct suite_vectors {
    size_t n;       /* texts */
    size_t nterms;  /* vocabulary size */
    size_t *off;    /* row i is [off[i], off[i + 1]) */
    uint32_t *term; /* word ids, ascending within a row */
    double *w;      /* weights */
};

/* The vocabulary: an open-addressing table of word ids over the words,
 * which are kept in order of first occurrence. */
typedef struct vocab {
    char **words;
    size_t n, cap;
    uint32_t *slot; /* word id + 1; 0 is empty */
    size_t nslot;   /* a power of two, at most half full */
} vocab;

uint64_t suite_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    }
    return h;
}

static void vocab_grow(vocab *vo)
{
    size_t i, nslot = vo->nslot ? 2 * vo->nslot : 1024;
    uint32_t *slot = bench_calloc(nslot, sizeof(*slot));

    for (i = 0; i < vo->n; i++) {
        size_t j = suite_hash(vo->words[i], strlen(vo->words[i])) & (nslot - 1);

        while (slot[j]) {
            j = (j + 1) & (nslot - 1);
        }
        slot[j] = (uint32_t)i + 1;
    }
    free(vo->slot);
    vo->slot = slot;
    vo->nslot = nslot;
}

/* The id of word s[0..len), added when add is set; -1 when absent. */
static long vocab_id(vocab *vo, const char *s, size_t len, int add)
{
    size_t j;

    if (2 * (vo->n + 1) > vo->nslot) {
        vocab_grow(vo);
    }
    j = suite_hash(s, len) & (vo->nslot - 1);
    while (vo->slot[j]) {
        const char *w = vo->words[vo->slot[j] - 1];

        if (strncmp(w, s, len) == 0 && w[len] == '\0') {
            return (long)vo->slot[j] - 1;
        }
        j = (j + 1) & (vo->nslot - 1);
    }
    if (!add) {
        return -1;
    }
    if (vo->n == vo->cap) {
        vo->cap = vo->cap ? 2 * vo->cap : 1024;
        vo->words = bench_realloc(vo->words, vo->cap, sizeof(*vo->words));
    }
    vo->words[vo->n] = memcpy(bench_alloc(len + 1, 1), s, len);
    vo->words[vo->n][len] = '\0';
    vo->slot[j] = (uint32_t)++vo->n;
    return (long)vo->n - 1;
}

static void vocab_free(vocab *vo)
{
    size_t i;

    for (i = 0; i < vo->n; i++) {
        free(vo->words[i]);
    }
    free(vo->words);
    free(vo->slot);
}

/* Bytes of a word: ASCII letters and digits, and every byte of a
 * non-ASCII character, so that "café" stays one word. */
static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* The sorted word ids of one text into *ids (grown as needed); returns
 * how many, a word repeated as often as it occurs. */
static size_t text_ids(vocab *vo, const char *text, int add, uint32_t **ids,
                       size_t *cap, char **buf, size_t *bufcap)
{
    size_t n = 0, i = 0, len = strlen(text);

    if (len + 1 > *bufcap) {
        free(*buf);
        *bufcap = len + 1;
        *buf = bench_alloc(*bufcap, 1);
    }
    while (i < len) {
        size_t start, wl = 0;
        long id;

        while (i < len && !word_byte((unsigned char)text[i])) {
            i++;
        }
        for (start = i; i < len && word_byte((unsigned char)text[i]); i++) {
            char c = text[i];

            (*buf)[wl++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        if (i == start || (id = vocab_id(vo, *buf, wl, add)) < 0) {
            continue;
        }
        if (n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            *ids = bench_realloc(*ids, *cap, sizeof(**ids));
        }
        (*ids)[n++] = (uint32_t)id;
    }
    qsort(*ids, n, sizeof(**ids), cmp_u32);
    return n;
}

/*
 * Two passes: the first builds the vocabulary and counts, the second
 * weighs. Term frequency is the raw count, the inverse document
 * frequency the smoothed log((1 + N) / (1 + df)) + 1 over the nfit
 * texts, so that a word every text has still weighs something.
 */
suite_vectors *suite_vectors_make(const char *const *texts, size_t n,
                                  size_t nfit)
{
    suite_vectors *v = bench_calloc(1, sizeof(*v));
    vocab vo = {NULL, 0, 0, NULL, 0};
    uint32_t *ids = NULL, *df;
    size_t i, j, cap = 0, bufcap = 0, nnz = 0, nnzcap = 1024;
    char *buf = NULL;

    v->n = n;
    v->off = bench_alloc(n + 1, sizeof(*v->off));
    v->term = bench_alloc(nnzcap, sizeof(*v->term));
    v->w = bench_alloc(nnzcap, sizeof(*v->w));
    for (i = 0; i < n; i++) {
        size_t k = text_ids(&vo, texts[i], i < nfit, &ids, &cap, &buf, &bufcap);

        v->off[i] = nnz;
        for (j = 0; j < k; j++) {
            if (nnz > 0 && nnz > v->off[i] && v->term[nnz - 1] == ids[j]) {
                v->w[nnz - 1] += 1.0;
                continue;
            }
            if (nnz == nnzcap) {
                nnzcap *= 2;
                v->term = bench_realloc(v->term, nnzcap, sizeof(*v->term));
                v->w = bench_realloc(v->w, nnzcap, sizeof(*v->w));
            }
            v->term[nnz] = ids[j];
            v->w[nnz++] = 1.0;
        }
    }
    v->off[n] = nnz;
    v->nterms = vo.n;
    df = bench_calloc(vo.n + 1, sizeof(*df));
    for (j = 0; j < v->off[nfit]; j++) {
        df[v->term[j]]++;
    }
    for (i = 0; i < n; i++) {
        double norm = 0;

        for (j = v->off[i]; j < v->off[i + 1]; j++) {
            v->w[j] *= log((1.0 + (double)nfit) / (1.0 + df[v->term[j]])) + 1;
            norm += v->w[j] * v->w[j];
        }
        for (j = v->off[i]; j < v->off[i + 1] && norm > 0; j++) {
            v->w[j] /= sqrt(norm);
        }
    }
    free(df);
    free(ids);
    free(buf);
    vocab_free(&vo);
    return v;
}

void suite_vectors_free(suite_vectors *v)
{
    if (v) {
        free(v->off);
        free(v->term);
        free(v->w);
        free(v);
    }
}

/* Adds row i of v into the dense vector out (of nterms doubles). */
static void add_row(const suite_vectors *v, size_t i, double *out)
{
    size_t j;

    for (j = v->off[i]; j < v->off[i + 1]; j++) {
        out[v->term[j]] += v->w[j];
    }
}

double suite_class_cosine(const suite_vectors *v, const size_t *a, size_t na,
                          const size_t *b, size_t nb)
{
    double *ma = bench_calloc(v->nterms + 1, sizeof(*ma));
    double *mb = bench_calloc(v->nterms + 1, sizeof(*mb));
    double dot = 0, qa = 0, qb = 0;
    size_t i;

    for (i = 0; i < na; i++) {
        add_row(v, a[i], ma);
    }
    for (i = 0; i < nb; i++) {
        add_row(v, b[i], mb);
    }
    for (i = 0; i < v->nterms; i++) {
        dot += ma[i] * mb[i];
        qa += ma[i] * ma[i];
        qb += mb[i] * mb[i];
    }
    free(ma);
    free(mb);
    return qa > 0 && qb > 0 ? dot / sqrt(qa * qb) : 0;
}

/* One class being clustered: centroids c (k rows of d doubles) over the
 * class's own words, loc mapping a word id to its column or -1. */
typedef struct kmeans {
    const suite_vectors *v;
    const size_t *fit;
    size_t nfit, k, d;
    long *loc;
    double *c;
    size_t *assign, *size;
    unsigned char *live;
} kmeans;

static double dot(const kmeans *m, size_t row, size_t cluster)
{
    const double *c = m->c + cluster * m->d;
    double s = 0;
    size_t j;

    for (j = m->v->off[row]; j < m->v->off[row + 1]; j++) {
        long col = m->loc[m->v->term[j]];

        if (col >= 0) {
            s += m->v->w[j] * c[col];
        }
    }
    return s;
}

/* The live cluster most like row; on a tie the larger, then the first,
 * so that a text with no known word goes to the biggest sub-intent. */
static size_t nearest(const kmeans *m, size_t row)
{
    size_t best = m->k, c;
    double bs = 0;

    for (c = 0; c < m->k; c++) {
        double s;

        if (!m->live[c]) {
            continue;
        }
        s = dot(m, row, c);
        if (best == m->k || s > bs || (s == bs && m->size[c] > m->size[best])) {
            best = c;
            bs = s;
        }
    }
    return best;
}

/* The centroid of every cluster that has members: the normalized sum of
 * its vectors. An empty cluster keeps its old centroid. */
static void recenter(kmeans *m)
{
    size_t i, j, c;

    memset(m->size, 0, m->k * sizeof(*m->size));
    for (i = 0; i < m->nfit; i++) {
        m->size[m->assign[i]]++;
    }
    for (c = 0; c < m->k; c++) {
        if (m->size[c] > 0) {
            memset(m->c + c * m->d, 0, m->d * sizeof(*m->c));
        }
    }
    for (i = 0; i < m->nfit; i++) {
        double *row = m->c + m->assign[i] * m->d;

        for (j = m->v->off[m->fit[i]]; j < m->v->off[m->fit[i] + 1]; j++) {
            row[m->loc[m->v->term[j]]] += m->v->w[j];
        }
    }
    for (c = 0; c < m->k; c++) {
        double norm = 0, *row = m->c + c * m->d;

        for (j = 0; m->size[c] > 0 && j < m->d; j++) {
            norm += row[j] * row[j];
        }
        for (j = 0; m->size[c] > 0 && norm > 0 && j < m->d; j++) {
            row[j] /= sqrt(norm);
        }
    }
}

static void set_center(kmeans *m, size_t cluster, size_t row)
{
    double *c = m->c + cluster * m->d;
    size_t j;

    memset(c, 0, m->d * sizeof(*c));
    for (j = m->v->off[row]; j < m->v->off[row + 1]; j++) {
        c[m->loc[m->v->term[j]]] = m->v->w[j];
    }
}

/* k-means++ seeding with distance 1 - cosine; fewer centers when the
 * texts run out of distinct ones. Returns how many were chosen. */
static size_t seed_centers(kmeans *m, uint64_t *rng)
{
    double *dist = bench_alloc(m->nfit, sizeof(*dist));
    size_t i, c;

    set_center(m, 0, m->fit[bench_below(rng, m->nfit)]);
    for (i = 0; i < m->nfit; i++) {
        dist[i] = fmax(0, 1 - dot(m, m->fit[i], 0));
    }
    for (c = 1; c < m->k; c++) {
        double total = 0, u;

        for (i = 0; i < m->nfit; i++) {
            total += dist[i];
        }
        if (total <= 1e-9) {
            break;
        }
        u = (double)(bench_rand(rng) >> 11) * 0x1p-53 * total;
        i = 0;
        while (i + 1 < m->nfit && u >= dist[i]) {
            u -= dist[i++];
        }
        set_center(m, c, m->fit[i]);
        for (i = 0; i < m->nfit; i++) {
            dist[i] = fmin(dist[i], fmax(0, 1 - dot(m, m->fit[i], c)));
        }
    }
    free(dist);
    return c;
}

/* Dissolves the smallest cluster under minsize into its nearest ones,
 * member by member, until none is left or one cluster remains. */
static void merge_small(kmeans *m, size_t minsize)
{
    for (;;) {
        size_t c, small = m->k, nlive = 0, i;

        for (c = 0; c < m->k; c++) {
            m->live[c] = m->size[c] > 0;
            nlive += m->live[c];
            if (m->live[c] && m->size[c] < minsize &&
                (small == m->k || m->size[c] < m->size[small])) {
                small = c;
            }
        }
        if (small == m->k || nlive <= 1) {
            return;
        }
        m->live[small] = 0;
        for (i = 0; i < m->nfit; i++) {
            if (m->assign[i] == small) {
                m->assign[i] = nearest(m, m->fit[i]);
            }
        }
        recenter(m);
    }
}

size_t suite_cluster(const suite_vectors *v, const size_t *fit, size_t nfit,
                     const size_t *other, size_t nother, size_t k,
                     size_t minsize, uint64_t *rng, size_t *fit_out,
                     size_t *other_out)
{
    kmeans m = {.v = v, .fit = fit, .nfit = nfit, .k = k < nfit ? k : nfit};
    size_t i, j, c, it, nk = 0, *renum;

    if (m.k <= 1) {
        memset(fit_out, 0, nfit * sizeof(*fit_out));
        memset(other_out, 0, nother * sizeof(*other_out));
        return 1;
    }
    m.loc = bench_alloc(v->nterms + 1, sizeof(*m.loc));
    for (j = 0; j < v->nterms; j++) {
        m.loc[j] = -1;
    }
    for (i = 0; i < nfit; i++) {
        for (j = v->off[fit[i]]; j < v->off[fit[i] + 1]; j++) {
            if (m.loc[v->term[j]] < 0) {
                m.loc[v->term[j]] = (long)m.d++;
            }
        }
    }
    m.c = bench_calloc(m.k * (m.d + 1), sizeof(*m.c));
    m.assign = bench_calloc(nfit, sizeof(*m.assign));
    m.size = bench_calloc(m.k, sizeof(*m.size));
    m.live = bench_calloc(m.k, 1);
    m.k = seed_centers(&m, rng);
    memset(m.live, 1, m.k);
    for (it = 0; it < KMEANS_ITERATIONS; it++) {
        size_t moved = 0;

        for (i = 0; i < nfit; i++) {
            size_t a = nearest(&m, fit[i]);

            moved += it == 0 || a != m.assign[i];
            m.assign[i] = a;
        }
        recenter(&m);
        if (moved == 0) {
            break;
        }
    }
    merge_small(&m, minsize);
    /* Numbered by first member, so the names do not depend on the seed
     * order of the centers. */
    renum = bench_alloc(m.k, sizeof(*renum));
    for (c = 0; c < m.k; c++) {
        renum[c] = m.k;
    }
    for (i = 0; i < nfit; i++) {
        if (renum[m.assign[i]] == m.k) {
            renum[m.assign[i]] = nk++;
        }
        fit_out[i] = renum[m.assign[i]];
    }
    for (i = 0; i < nother; i++) {
        other_out[i] = renum[nearest(&m, other[i])];
    }
    free(renum);
    free(m.loc);
    free(m.c);
    free(m.assign);
    free(m.size);
    free(m.live);
    return nk;
}
