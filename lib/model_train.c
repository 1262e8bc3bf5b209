/*
 * model_train.c - training the built-in classifier from JSON Lines. The
 * model is fastText's: hashed feature rows averaged into a hidden vector,
 * one output layer per head, trained by SGD with a linearly decaying
 * learning rate, the threads sharing the weights without locks (Hogwild).
 * Features are computed once per example, so an epoch is arithmetic only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "model.h"
#include "normalize.h"

/*
 * Defaults, chosen by 3-fold hold-out (3 x 10% of the training files of
 * SNIPS and BANKING77, never their test files), as the cheapest setting
 * whose hold-out accuracy is at least that of the previous, accuracy-first
 * defaults (25 epochs, lr 0.5, dim 50, character n-grams 3-6) on both
 * sets: 0.9855 and 0.9123 against 0.9823 and 0.9067, in a fifth of the
 * training time. Over about 80 settings tried:
 *
 * - Single-label heads are trained one-vs-all (a logistic loss per label)
 *   and answered by a softmax over the same scores: this beat softmax
 *   cross-entropy by 1.2 points on BANKING77 (0.895 -> 0.907) at equal
 *   cost, and the softmax of its scores stays calibrated (expected
 *   calibration error 0.01-0.03).
 * - 8 epochs at lr 2.0 match 25 at lr 0.5; 5 epochs lose 0.8-10 points
 *   on BANKING77 (lr 0.5-1.5).
 * - dim 48 (three blocks of 16, no padding) matches 50 and 64; 32 loses
 *   0.3 points on BANKING77, 16 two points.
 * - Character 4-grams alone did best of 3-3, 3-4, 3-5, 4-5, 4-6 and 4-4
 *   (at dim 48, 8 epochs), with the fewest features; none at all loses 2
 *   points on BANKING77.
 * - Word n-grams up to 3: bigrams alone were 0.1 point lower on BANKING77,
 *   words alone 0.8.
 * - 200000 buckets: 50000-1000000 were within 0.1 point; with int8 rows
 *   the file is 10 MB.
 */
#define DEF_EPOCHS 8
#define DEF_LR 2.0
#define DEF_DIM 48
#define DEF_BUCKETS 200000
#define DEF_WORD_NGRAMS 3
#define DEF_MINN 4
#define DEF_MAXN 4
#define DEF_SEED 42

/*
 * Hogwild: training threads read and write the shared weights without
 * synchronization, as fastText does; a lost update among millions costs
 * nothing measurable and locks would serialize the threads. These are the
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

TC__HOGWILD static float row_dot(const float *restrict a,
                                 const float *restrict b, size_t stride)
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

TC__HOGWILD static void row_axpy(float *restrict y, float a,
                                 const float *restrict x, size_t stride)
{
    size_t i;
    int k;

    for (i = 0; i < stride; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            y[i + k] += a * x[i + k];
        }
    }
}

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

/*
 * One SGD step on one example; returns its loss. Softmax cross-entropy
 * for a single-label head, a binary cross-entropy per label for a
 * multi-label head; heads the example does not name are not trained.
 * The targets come grouped by head.
 */
TC__HOGWILD float tc__sgd_step(tc__sgd *c, const uint32_t *feat, size_t nf,
                               const tc__target *t, size_t nt, float lr)
{
    const tc_model *m = c->m;
    size_t stride = m->stride, f, i = 0, j;
    float loss = 0, inv = nf ? 1.0f / (float)nf : 0;

    memset(c->hidden, 0, stride * sizeof(float));
    memset(c->grad, 0, stride * sizeof(float));
    for (f = 0; f < nf; f++) {
        row_axpy(c->hidden, inv, c->in + (size_t)feat[f] * stride, stride);
    }
    for (; i < nt; i = j) {
        const tc__head *hd = &m->heads[t[i].head];
        float *s = c->scores + hd->first;
        uint32_t l;

        for (j = i; j < nt && t[j].head == t[i].head; j++) {
        }
        for (l = 0; l < hd->nlabels; l++) {
            const float *w = c->out + (size_t)(hd->first + l) * stride;

            s[l] = c->bias[hd->first + l] + row_dot(w, c->hidden, stride);
        }
        if (hd->multi || c->ova) {
            for (l = 0; l < hd->nlabels; l++) {
                float p = 1.0f / (1.0f + expf(-s[l]));
                int y = tc__has_label(t + i, j - i, l);

                loss -= logf(y ? p + 1e-7f : 1.0f - p + 1e-7f);
                s[l] = lr * ((float)y - p);
            }
        } else {
            float mx = s[0], sum = 0;

            for (l = 1; l < hd->nlabels; l++) {
                mx = s[l] > mx ? s[l] : mx;
            }
            for (l = 0; l < hd->nlabels; l++) {
                s[l] = expf(s[l] - mx);
                sum += s[l];
            }
            for (l = 0; l < hd->nlabels; l++) {
                float p = s[l] / sum;

                if (l == t[i].label) {
                    loss -= logf(p + 1e-7f);
                }
                s[l] = lr * ((l == t[i].label ? 1.0f : 0.0f) - p);
            }
        }
        for (l = 0; l < hd->nlabels; l++) {
            float *w = c->out + (size_t)(hd->first + l) * stride;

            row_axpy(c->grad, s[l], w, stride);
            if (c->learn_out) {
                row_axpy(w, s[l], c->hidden, stride);
                c->bias[hd->first + l] += s[l];
            }
        }
    }
    for (f = 0; f < nf; f++) {
        row_axpy(c->in + (size_t)feat[f] * stride, c->row_scale, c->grad,
                 stride);
    }
    return loss;
}

/* ---- string tables ----------------------------------------------------- */

/* Strings and their indices, in order of insertion; open addressing. */
typedef struct strtab {
    char **keys;
    uint32_t n, cap;
    uint32_t *slots; /* index + 1; 0 is empty */
    uint32_t nslots; /* a power of two, at least twice n */
} strtab;

static void strtab_free(strtab *t)
{
    uint32_t i;

    for (i = 0; i < t->n; i++) {
        tc__free(t->keys[i]);
    }
    tc__free(t->keys);
    tc__free(t->slots);
    memset(t, 0, sizeof(*t));
}

static uint32_t *strtab_slot(const strtab *t, const char *k, size_t len)
{
    uint32_t i = (uint32_t)XXH3_64bits(k, len) & (t->nslots - 1);

    while (t->slots[i] && (strncmp(t->keys[t->slots[i] - 1], k, len) != 0 ||
                           t->keys[t->slots[i] - 1][len] != '\0')) {
        i = (i + 1) & (t->nslots - 1);
    }
    return &t->slots[i];
}

/* The index of k, added when new. Returns TC_OK or TC_ENOMEM. */
static int strtab_add(strtab *t, const char *k, uint32_t *idx)
{
    size_t len = strlen(k);
    uint32_t *slot, i;

    if (t->nslots && (slot = strtab_slot(t, k, len)) && *slot) {
        *idx = *slot - 1;
        return TC_OK;
    }
    if (t->n == UINT32_MAX / 4) {
        return TC_ENOMEM;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 8;
        char **keys = tc__realloc(t->keys, cap * sizeof(*keys));

        if (!keys) {
            return TC_ENOMEM;
        }
        t->keys = keys;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->nslots) {
        uint32_t ns = t->nslots ? t->nslots * 2 : 16;
        uint32_t *old = t->slots, on = t->nslots;

        t->slots = tc__calloc(ns, sizeof(uint32_t));
        if (!t->slots) {
            t->slots = old;
            return TC_ENOMEM;
        }
        t->nslots = ns;
        for (i = 0; i < on; i++) {
            if (old[i]) {
                const char *key = t->keys[old[i] - 1];

                *strtab_slot(t, key, strlen(key)) = old[i];
            }
        }
        tc__free(old);
    }
    t->keys[t->n] = tc__memdup0(k, len);
    if (!t->keys[t->n]) {
        return TC_ENOMEM;
    }
    *strtab_slot(t, k, len) = t->n + 1;
    *idx = t->n++;
    return TC_OK;
}

/* ---- the data set ------------------------------------------------------ */

typedef struct bhead {
    char *name;
    int multi;
    size_t line; /* where it was first seen, for messages */
    strtab labels;
} bhead;

typedef struct dataset {
    tc_model *m; /* hyper-parameters, for the features */
    bhead heads[TC__MAX_HEADS];
    size_t nheads;
    size_t n, ncap;      /* examples */
    size_t *foff, *toff; /* n + 1 offsets into feat and tgt */
    uint32_t *feat;
    size_t nfeat, featcap;
    tc__target *tgt;
    size_t ntgt, tgtcap;
    strtab words; /* the texts' tokens, for the vocabulary */
    uint32_t *wcount; /* a count per word of words */
    size_t wcap;
    tc__scratch scratch;
} dataset;

static void dataset_free(dataset *d)
{
    size_t h;

    for (h = 0; h < d->nheads; h++) {
        tc__free(d->heads[h].name);
        strtab_free(&d->heads[h].labels);
    }
    tc__free(d->foff);
    tc__free(d->toff);
    tc__free(d->feat);
    tc__free(d->tgt);
    strtab_free(&d->words);
    tc__free(d->wcount);
}

/* Makes room for `more` elements of size `elem` beyond *len. */
static int grow(void **p, size_t *cap, size_t len, size_t more, size_t elem)
{
    size_t want = *cap ? *cap : 64;
    void *np;

    if (more > SIZE_MAX / elem - len) {
        return TC_ENOMEM;
    }
    if (len + more <= *cap) {
        return TC_OK;
    }
    while (want < len + more) {
        if (want > SIZE_MAX / elem / 2) {
            return TC_ENOMEM;
        }
        want *= 2;
    }
    np = tc__realloc(*p, want * elem);
    if (!np) {
        return TC_ENOMEM;
    }
    *p = np;
    *cap = want;
    return TC_OK;
}

typedef struct parse_ctx {
    dataset *d;
    const char *src; /* file name, or NULL for "line N" */
    size_t line;
    tc__err err;
} parse_ctx;

#define WHERE(pc) (pc)->src ? (pc)->src : "line", (pc)->src ? ":" : " "

static int head_of(parse_ctx *pc, const char *name, int multi, uint32_t *hi)
{
    dataset *d = pc->d;
    size_t h;

    for (h = 0; h < d->nheads; h++) {
        if (strcmp(d->heads[h].name, name) == 0) {
            if (d->heads[h].multi != multi) {
                return tc__errf(
                    &pc->err, TC_EINVAL, "%s%s%zu: %s: %s here, %s on line %zu",
                    WHERE(pc), pc->line, name, multi ? "an array" : "a string",
                    multi ? "a string" : "an array", d->heads[h].line);
            }
            *hi = (uint32_t)h;
            return TC_OK;
        }
    }
    if (d->nheads == TC__MAX_HEADS) {
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: %s: more than %d heads",
                        WHERE(pc), pc->line, name, TC__MAX_HEADS);
    }
    d->heads[h].name = tc__strdup(name);
    if (!d->heads[h].name) {
        return tc__errf(&pc->err, TC_ENOMEM, "out of memory");
    }
    d->heads[h].multi = multi;
    d->heads[h].line = pc->line;
    d->nheads++;
    *hi = (uint32_t)h;
    return TC_OK;
}

/* Appends label to the group of head h that starts at t[g]. */
static int add_target(parse_ctx *pc, uint32_t h, const char *label,
                      tc__target *t, size_t g, size_t *nt)
{
    uint32_t l;

    if (!*label) {
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: %s: empty label",
                        WHERE(pc), pc->line, pc->d->heads[h].name);
    }
    if (!tc__utf8_valid(label, strlen(label))) {
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: %s: invalid UTF-8",
                        WHERE(pc), pc->line, pc->d->heads[h].name);
    }
    if (strtab_add(&pc->d->heads[h].labels, label, &l) != TC_OK) {
        return tc__errf(&pc->err, TC_ENOMEM, "out of memory");
    }
    if (tc__has_label(t + g, *nt - g, l)) {
        return TC_OK; /* ["a", "a"] is ["a"] */
    }
    if (*nt == TC__MAX_TARGETS) {
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: more than %d labels",
                        WHERE(pc), pc->line, TC__MAX_TARGETS);
    }
    t[*nt].head = h;
    t[*nt].label = l;
    (*nt)++;
    return TC_OK;
}

/*
 * Reads one example's labels into t, grouped by head in head order.
 * "text" and "id" are not heads; fields of other types (numbers, objects,
 * null) are ignored, so records may carry extra data.
 */
static int read_targets(parse_ctx *pc, const cJSON *root, tc__target *t,
                        size_t *nt)
{
    const cJSON *fields[TC__MAX_HEADS], *it, *el;
    uint32_t heads[TC__MAX_HEADS], hi = 0;
    size_t nf = 0, i, j, g;
    int rc;

    *nt = 0;
    for (it = root->child; it; it = it->next) {
        int multi = cJSON_IsArray(it);

        if (!it->string || strcmp(it->string, "text") == 0 ||
            strcmp(it->string, "id") == 0 || (!multi && !cJSON_IsString(it))) {
            if (it->string && strcmp(it->string, "intent") == 0) {
                return tc__errf(&pc->err, TC_EINVAL,
                                "%s%s%zu: intent: not a string", WHERE(pc),
                                pc->line);
            }
            continue;
        }
        if (multi && strcmp(it->string, "intent") == 0) {
            return tc__errf(&pc->err, TC_EINVAL,
                            "%s%s%zu: intent: not a string", WHERE(pc),
                            pc->line);
        }
        rc = head_of(pc, it->string, multi, &hi);
        if (rc != TC_OK) {
            return rc;
        }
        for (i = 0; i < nf; i++) {
            if (heads[i] == hi) {
                return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: %s: given twice",
                                WHERE(pc), pc->line, it->string);
            }
        }
        /* insertion in head order */
        for (i = nf; i > 0 && heads[i - 1] > hi; i--) {
            heads[i] = heads[i - 1];
            fields[i] = fields[i - 1];
        }
        heads[i] = hi;
        fields[i] = it;
        nf++;
    }
    if (nf == 0 || heads[0] != 0) {
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: intent: missing",
                        WHERE(pc), pc->line);
    }
    for (j = 0; j < nf; j++) {
        it = fields[j];
        g = *nt;
        if (cJSON_IsString(it)) {
            rc = add_target(pc, heads[j], it->valuestring, t, g, nt);
            if (rc != TC_OK) {
                return rc;
            }
            continue;
        }
        if (*nt == TC__MAX_TARGETS) {
            return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: more than %d labels",
                            WHERE(pc), pc->line, TC__MAX_TARGETS);
        }
        t[*nt].head = heads[j];
        t[*nt].label = UINT32_MAX; /* present, maybe with no label */
        (*nt)++;
        cJSON_ArrayForEach(el, it)
        {
            if (!cJSON_IsString(el)) {
                return tc__errf(&pc->err, TC_EINVAL,
                                "%s%s%zu: %s: not an array of strings",
                                WHERE(pc), pc->line, it->string);
            }
            rc = add_target(pc, heads[j], el->valuestring, t, g, nt);
            if (rc != TC_OK) {
                return rc;
            }
        }
    }
    return TC_OK;
}

/* Counts the tokens of the text just featurized, for the vocabulary. */
static int count_words(dataset *d)
{
    const char *norm = d->scratch.norm;
    size_t pos = 0, st, tl;
    char w[TC__VOCAB_WORD_MAX + 1];
    uint32_t i, before;

    while (tc__token_next(norm, d->scratch.normlen, &pos, &st, &tl)) {
        if (tl > TC__VOCAB_WORD_MAX) {
            continue;
        }
        memcpy(w, norm + st, tl);
        w[tl] = '\0';
        before = d->words.n;
        if (strtab_add(&d->words, w, &i) != TC_OK) {
            return TC_ENOMEM;
        }
        if (d->words.n > before) { /* a new word: its count starts */
            if (grow((void **)&d->wcount, &d->wcap, i, 1, sizeof(uint32_t)) !=
                TC_OK) {
                return TC_ENOMEM;
            }
            d->wcount[i] = 0;
        }
        d->wcount[i]++;
    }
    return TC_OK;
}

/* Parses one line into an example. */
static int parse_line(parse_ctx *pc, const char *line, size_t len)
{
    dataset *d = pc->d;
    tc__target t[TC__MAX_TARGETS];
    const char *end = NULL;
    const cJSON *text;
    cJSON *root;
    size_t nt = 0;
    tc__err ferr;
    int rc;

    tc__oom_take();
    root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!root) {
        if (tc__oom_take()) {
            return tc__errf(&pc->err, TC_ENOMEM, "out of memory");
        }
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: not valid JSON",
                        WHERE(pc), pc->line);
    }
    while (end && end < line + len &&
           (*end == ' ' || *end == '\t' || *end == '\r')) {
        end++;
    }
    if (!cJSON_IsObject(root) || (end && end < line + len)) {
        cJSON_Delete(root);
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: not one JSON object",
                        WHERE(pc), pc->line);
    }
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!cJSON_IsString(text)) {
        cJSON_Delete(root);
        return tc__errf(&pc->err, TC_EINVAL, "%s%s%zu: text: %s", WHERE(pc),
                        pc->line, text ? "not a string" : "missing");
    }
    rc = read_targets(pc, root, t, &nt);
    if (rc == TC_OK) {
        rc = tc__featurize(&d->scratch, d->m, text->valuestring,
                           strlen(text->valuestring), 0, &ferr);
        if (rc != TC_OK) {
            tc__errf(&pc->err, rc, "%s%s%zu: %s", WHERE(pc), pc->line,
                     ferr.msg);
        }
    }
    cJSON_Delete(root);
    if (rc != TC_OK) {
        return rc;
    }
    if (grow((void **)&d->feat, &d->featcap, d->nfeat, d->scratch.nfeat,
             sizeof(uint32_t)) != TC_OK ||
        grow((void **)&d->tgt, &d->tgtcap, d->ntgt, nt, sizeof(*t)) != TC_OK ||
        (d->n + 2 > d->ncap && (grow((void **)&d->toff, &(size_t){d->ncap},
                                     d->n + 1, 1, sizeof(size_t)) != TC_OK ||
                                grow((void **)&d->foff, &d->ncap, d->n + 1, 1,
                                     sizeof(size_t)) != TC_OK))) {
        tc__scratch_done(&d->scratch);
        return tc__errf(&pc->err, TC_ENOMEM, "out of memory");
    }
    if (count_words(d) != TC_OK) {
        tc__scratch_done(&d->scratch);
        return tc__errf(&pc->err, TC_ENOMEM, "out of memory");
    }
    memcpy(d->feat + d->nfeat, d->scratch.feat,
           d->scratch.nfeat * sizeof(uint32_t));
    d->nfeat += d->scratch.nfeat;
    memcpy(d->tgt + d->ntgt, t, nt * sizeof(*t));
    d->ntgt += nt;
    d->n++;
    d->foff[d->n] = d->nfeat;
    d->toff[d->n] = d->ntgt;
    tc__scratch_done(&d->scratch);
    return TC_OK;
}

static int is_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* Reads every line; a malformed line fails the whole data set, since a
 * model silently trained on part of its data is worse than none. */
static int parse_all(parse_ctx *pc, const char *data, size_t len)
{
    dataset *d = pc->d;
    size_t pos = 0;
    int rc;

    d->heads[0].name = tc__strdup("intent");
    d->foff = tc__calloc(64, sizeof(size_t));
    d->toff = tc__calloc(64, sizeof(size_t));
    d->nheads = d->heads[0].name != NULL;
    if (!d->heads[0].name || !d->foff || !d->toff) {
        return tc__errf(&pc->err, TC_ENOMEM, "out of memory");
    }
    d->ncap = 64;
    pc->line = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;

        pc->line++;
        if (!is_blank(data + pos, n)) {
            rc = parse_line(pc, data + pos, n);
            if (rc != TC_OK) {
                return rc;
            }
        }
        pos += n + 1;
    }
    if (d->n == 0) {
        return tc__errf(&pc->err, TC_EINVAL, "%s%sno examples",
                        pc->src ? pc->src : "", pc->src ? ": " : "");
    }
    return TC_OK;
}

/* Moves the heads and labels of the data set into the model. */
static int take_heads(tc_model *m, dataset *d)
{
    size_t h;

    m->heads = tc__calloc(d->nheads, sizeof(tc__head));
    if (!m->heads) {
        return TC_ENOMEM;
    }
    m->nheads = d->nheads;
    m->nout = 0;
    for (h = 0; h < d->nheads; h++) {
        tc__head *hd = &m->heads[h];

        hd->name = d->heads[h].name;
        hd->multi = d->heads[h].multi;
        hd->nlabels = d->heads[h].labels.n;
        hd->labels = d->heads[h].labels.keys;
        hd->first = m->nout;
        m->nout += hd->nlabels;
        m->nout_pad = (m->nout + TC__LANES - 1) / TC__LANES * TC__LANES;
        d->heads[h].name = NULL;
        d->heads[h].labels.keys = NULL;
        d->heads[h].labels.n = 0;
    }
    return TC_OK;
}

/* ---- training ---------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [-a, a). */
static float uniform(uint64_t *s, float a)
{
    return a * (2.0f * (float)(splitmix(s) >> 40) / (float)(1 << 24) - 1.0f);
}

typedef struct trainer {
    tc_model *m;
    const dataset *d;
    float *in, *out, *bias;
    uint32_t *order;
    uint64_t total;        /* examples over all epochs */
    _Atomic uint64_t done; /* examples processed, updated in batches */
    tc_progress_fn progress;
    void *progress_userdata;
} trainer;

typedef struct worker {
    trainer *tr;
    size_t from, to; /* slice of tr->order */
    tc__sgd c;
    int tid;
    double loss;
    size_t nloss;
} worker;

#define BATCH 32

static void *work(void *arg)
{
    worker *w = arg;
    trainer *tr = w->tr;
    const dataset *d = tr->d;
    uint64_t pending = 0, next_report = 0;
    size_t i;

    for (i = w->from; i < w->to; i++) {
        uint32_t e = tr->order[i];
        uint64_t done = atomic_load_explicit(&tr->done, memory_order_relaxed);
        float frac = (float)(done + pending) / (float)tr->total;
        float lr = tr->m->hp.lr * (frac < 1.0f ? 1.0f - frac : 0.0f);
        size_t nf = d->foff[e + 1] - d->foff[e];

        const uint32_t *fe = d->feat + d->foff[e];

        w->c.row_scale = nf ? 1.0f / (float)nf : 0;
        w->loss += tc__sgd_step(&w->c, fe, nf, d->tgt + d->toff[e],
                                d->toff[e + 1] - d->toff[e], lr);
        w->nloss++;
        if (++pending == BATCH) {
            atomic_fetch_add_explicit(&tr->done, pending, memory_order_relaxed);
            pending = 0;
        }
        if (w->tid == 0 && tr->progress && done >= next_report) {
            tr->progress(tr->progress_userdata, (double)frac,
                         w->nloss ? w->loss / (double)w->nloss : 0);
            w->loss = 0;
            w->nloss = 0;
            next_report = done + tr->total / 100 + 1;
        }
    }
    atomic_fetch_add_explicit(&tr->done, pending, memory_order_relaxed);
    return NULL;
}

static int run_epochs(trainer *tr, int nthreads)
{
    const dataset *d = tr->d;
    tc_model *m = tr->m;
    worker *w;
    pthread_t *tids;
    float *buf;
    uint64_t rng = m->hp.seed;
    size_t per = 2 * (size_t)m->stride + m->nout, i, e;
    int t, started, rc = TC_OK;

    w = tc__calloc((size_t)nthreads, sizeof(*w));
    tids = tc__calloc((size_t)nthreads, sizeof(*tids));
    buf = tc__calloc((size_t)nthreads * per, sizeof(float));
    if (!w || !tids || !buf) {
        rc = TC_ENOMEM;
        goto done;
    }
    for (t = 0; t < nthreads; t++) {
        w[t].tr = tr;
        w[t].tid = t;
        w[t].c.m = m;
        w[t].c.in = tr->in;
        w[t].c.out = tr->out;
        w[t].c.bias = tr->bias;
        w[t].c.learn_out = 1;
        w[t].c.ova = 1;
        w[t].c.hidden = buf + (size_t)t * per;
        w[t].c.grad = w[t].c.hidden + m->stride;
        w[t].c.scores = w[t].c.grad + m->stride;
    }
    for (i = 0; i < d->n; i++) {
        tr->order[i] = (uint32_t)i;
    }
    for (e = 0; e < m->hp.epochs; e++) {
        /* a new order every epoch: the data may come grouped by label */
        for (i = d->n - 1; i > 0; i--) {
            size_t j = (size_t)(splitmix(&rng) % (i + 1));
            uint32_t x = tr->order[i];

            tr->order[i] = tr->order[j];
            tr->order[j] = x;
        }
        for (t = 0; t < nthreads; t++) {
            w[t].from = d->n * (size_t)t / (size_t)nthreads;
            w[t].to = d->n * (size_t)(t + 1) / (size_t)nthreads;
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
    if (tr->progress) {
        tr->progress(tr->progress_userdata, 1.0,
                     w[0].nloss ? w[0].loss / (double)w[0].nloss : 0);
    }
done:
    tc__free(w);
    tc__free(tids);
    tc__free(buf);
    return rc;
}

TC_API void tc_train_options_init(tc_train_options *opt)
{
    if (!opt) {
        return;
    }
    memset(opt, 0, sizeof(*opt));
    opt->version = TC_TRAIN_OPTIONS_VERSION;
    opt->minn = -1;
    opt->maxn = -1;
}

/* Hyper-parameters from options and defaults; message on a bad value. */
static int resolve(tc__hparams *hp, int *threads, const tc_train_options *o,
                   tc__err *err)
{
    tc_train_options def;
    long cores;

    if (!o) {
        tc_train_options_init(&def);
        o = &def;
    }
    if (o->version < 1) {
        return tc__errf(err, TC_EINVAL,
                        "options: version %u (use "
                        "tc_train_options_init)",
                        o->version);
    }
    hp->epochs = o->epochs > 0 ? (uint32_t)o->epochs : DEF_EPOCHS;
    hp->lr = o->lr > 0 ? (float)o->lr : (float)DEF_LR;
    hp->dim = o->dim > 0 ? (uint32_t)o->dim : DEF_DIM;
    hp->buckets = o->buckets ? o->buckets : DEF_BUCKETS;
    hp->word_ngrams =
        o->word_ngrams > 0 ? (uint32_t)o->word_ngrams : DEF_WORD_NGRAMS;
    hp->minn = o->minn < 0 ? DEF_MINN : (uint32_t)o->minn;
    hp->maxn = o->maxn < 0 ? DEF_MAXN : (uint32_t)o->maxn;
    if (hp->minn == 0 || hp->maxn == 0) {
        hp->minn = hp->maxn = 0;
    }
    hp->seed = o->seed ? o->seed : DEF_SEED;
    if (hp->epochs > TC__MAX_EPOCHS || !(o->lr <= 100) ||
        hp->dim > TC__MAX_DIM || hp->buckets > TC__MAX_BUCKETS ||
        hp->word_ngrams > TC__MAX_WORD_NGRAMS || hp->maxn > TC__MAX_CHARN ||
        hp->minn > hp->maxn) {
        return tc__errf(err, TC_EINVAL,
                        "options: out of range (epochs <= %d, lr <= 100, "
                        "dim <= %d, buckets <= %d, word_ngrams <= %d, "
                        "minn <= maxn <= %d)",
                        TC__MAX_EPOCHS, TC__MAX_DIM, TC__MAX_BUCKETS,
                        TC__MAX_WORD_NGRAMS, TC__MAX_CHARN);
    }
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    *threads = o->threads > 0 ? o->threads : (cores > 0 ? (int)cores : 1);
    if (*threads > 64) {
        *threads = 64;
    }
    return TC_OK;
}

/* A word's count and index; sorted most frequent first, then by first
 * appearance, so the vocabulary does not depend on the sort. */
typedef struct wcount {
    uint32_t count, idx;
} wcount;

static int by_count(const void *a, const void *b)
{
    const wcount *x = a, *y = b;

    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Gives m the TC__VOCAB_MAX most frequent words of the data. */
static int take_vocab(tc_model *m, dataset *d)
{
    uint32_t n = d->words.n, keep = n < TC__VOCAB_MAX ? n : TC__VOCAB_MAX, i;
    wcount *wc = tc__malloc((n ? n : 1) * sizeof(wcount));
    char **words = tc__calloc(keep ? keep : 1, sizeof(char *));

    if (!wc || !words) {
        tc__free(wc);
        tc__free(words);
        return TC_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        wc[i].count = d->wcount[i];
        wc[i].idx = i;
    }
    if (keep < n) {
        qsort(wc, n, sizeof(wcount), by_count);
    }
    for (i = 0; i < keep; i++) {
        words[i] = d->words.keys[wc[i].idx];
        d->words.keys[wc[i].idx] = NULL; /* now the vocabulary's */
    }
    tc__free(wc);
    return tc__vocab_set(m, words, keep);
}

/* Builds the first version from the trained float weights. */
static int finish(tc_model *m, const float *in, const float *out,
                  const float *bias)
{
    tc__version *v = tc__version_new(m);
    uint32_t r;
    int rc;

    if (!v) {
        return TC_ENOMEM;
    }
    for (r = 0; r < m->hp.buckets; r++) {
        tc__quantize_row(m, in + (size_t)r * m->stride,
                         v->in_q + (size_t)r * m->stride, &v->in_scale[r]);
    }
    memcpy(v->out, out, (size_t)m->nout * m->stride * sizeof(float));
    memcpy(v->bias, bias, m->nout * sizeof(float));
    tc__version_transpose(m, v);
    rc = tc__version_wvec(m, v, NULL, NULL, 0);
    if (rc == TC_OK) {
        rc = tc__model_fingerprint(m, v);
    }
    if (rc != TC_OK) {
        tc__version_free(v);
        return rc;
    }
    tc__model_publish(m, v);
    return TC_OK;
}

static int train(tc_model **out, const char *data, size_t len,
                 const tc_train_options *opt, const char *src, char *errbuf,
                 size_t errlen)
{
    tc__hparams hp;
    dataset d;
    parse_ctx pc;
    trainer tr;
    tc_model *m = NULL;
    uint64_t rng;
    size_t i, n;
    int threads = 1, rc;

    memset(&d, 0, sizeof(d));
    memset(&pc, 0, sizeof(pc));
    memset(&tr, 0, sizeof(tr));
    pc.d = &d;
    pc.src = src;
    rc = resolve(&hp, &threads, opt, &pc.err);
    if (rc != TC_OK) {
        goto done;
    }
    m = tc__model_new(&hp);
    if (!m) {
        rc = tc__errf(&pc.err, TC_ENOMEM, "out of memory");
        goto done;
    }
    d.m = m;
    rc = parse_all(&pc, data, len);
    if (rc != TC_OK) {
        goto done;
    }
    if (take_heads(m, &d) != TC_OK) {
        rc = tc__errf(&pc.err, TC_ENOMEM, "out of memory");
        goto done;
    }
    tr.m = m;
    tr.d = &d;
    tr.total = (uint64_t)d.n * hp.epochs;
    tr.progress = opt ? opt->progress : NULL;
    tr.progress_userdata = opt ? opt->progress_userdata : NULL;
    n = (size_t)hp.buckets * m->stride;
    /*
     * Input rows start at zero, so a row no training text reaches adds
     * nothing to a prediction; the output layer starts small and random,
     * which is what breaks the symmetry.
     */
    tr.in = tc__calloc(n, sizeof(float));
    tr.out = tc__calloc((size_t)m->nout * m->stride, sizeof(float));
    tr.bias = tc__calloc(m->nout ? m->nout : 1, sizeof(float));
    tr.order = tc__calloc(d.n, sizeof(uint32_t));
    if (!tr.in || !tr.out || !tr.bias || !tr.order) {
        rc = tc__errf(&pc.err, TC_ENOMEM, "out of memory");
        goto done;
    }
    rng = hp.seed ^ 0x5DEECE66DULL;
    for (i = 0; i < (size_t)m->nout * m->stride; i++) {
        tr.out[i] = i % m->stride < hp.dim
                        ? uniform(&rng, 1.0f / sqrtf((float)hp.dim))
                        : 0.0f;
    }

    if ((size_t)threads > d.n / 64 + 1) {
        threads = (int)(d.n / 64 + 1); /* tiny sets gain nothing */
    }
    rc = run_epochs(&tr, threads);
    if (rc == TC_OK) {
        rc = take_vocab(m, &d);
    }
    if (rc == TC_OK) {
        rc = finish(m, tr.in, tr.out, tr.bias);
    }
    if (rc != TC_OK) {
        tc__errf(&pc.err, rc, "out of memory");
    }
done:
    tc__free(tr.in);
    tc__free(tr.out);
    tc__free(tr.bias);
    tc__free(tr.order);
    dataset_free(&d);
    if (rc != TC_OK) {
        tc_model_free(m);
        if (errbuf && errlen) {
            snprintf(errbuf, errlen, "%s", pc.err.msg);
        }
        return tc__fail(NULL, rc, "%s", pc.err.msg);
    }
    *out = m;
    return TC_OK;
}

TC_API int tc_model_train(tc_model **out, const char *data, size_t len,
                          const tc_train_options *opt, char *errbuf,
                          size_t errlen)
{
    if (out) {
        *out = NULL;
    }
    if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    tc__clear(NULL);
    if (!out || (!data && len)) {
        return tc__fail(NULL, TC_EINVAL, "NULL argument");
    }
    return train(out, data ? data : "", len, opt, NULL, errbuf, errlen);
}

TC_API int tc_model_train_file(tc_model **out, const char *path,
                               const tc_train_options *opt, char *errbuf,
                               size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    tc__err err;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    tc__clear(NULL);
    if (!out || !path || strcmp(path, "-") == 0) {
        rc = tc__errf(&err, TC_EINVAL, "%s",
                      path ? "path \"-\" is not "
                             "accepted: read stdin yourself"
                           : "NULL argument");
    } else {
        rc = tc__read_file(path, &data, &len, &err);
    }
    if (rc != TC_OK) {
        if (errbuf && errlen) {
            snprintf(errbuf, errlen, "%s", err.msg);
        }
        return tc__fail(NULL, rc, "%s", err.msg);
    }
    rc = train(out, data, len, opt, path, errbuf, errlen);
    tc__free(data);
    return rc;
}
