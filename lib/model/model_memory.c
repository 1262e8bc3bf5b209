/*
 * model_memory.c - corrections the model remembers. A correction fixes
 * the answer to its text and to close paraphrases of it, and leaves the
 * rest alone: it is kept as an entry beside the weights (which never
 * change), and a text takes a correction's labels when the weights give
 * it the same intent they gave the corrected text (its base) and its
 * words are alike, as the cosine of their IDF-weighted words, by at least
 * the model's radius. Teaching the weights instead moved rows that every
 * other text shares, and undid answers far from the correction; the
 * weights learn corrections when the model is retrained with them.
 *
 * Entries are immutable and shared between versions; a new version is a
 * new list of them and an index by base intent, built under update_mu.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "model/model.h"
#include "base/normalize.h"

/* A text's words past this many do not count in its similarity. */
#define MAX_WORDS 512

/* ---- words ------------------------------------------------------------- */

typedef struct wpair {
    uint64_t h;
    float w;
} wpair;

static int by_hash(const void *a, const void *b)
{
    uint64_t x = ((const wpair *)a)->h, y = ((const wpair *)b)->h;

    return (x > y) - (x < y);
}

/*
 * The words of a normalized text as (hash, weight) pairs, ascending by
 * hash, a repeated word adding up, scaled to unit length: the weight of
 * a word is its inverse document frequency in the training texts (a word
 * the vocabulary does not hold counts as the rarest), so "the" weighs
 * little and a word that names a thing weighs much. Returns the count
 * (at most MAX_WORDS, and at most what w holds).
 */
static size_t words_of(const tc_model *m, const char *norm, size_t len,
                       wpair *w, size_t cap)
{
    const tc__vocab *vc = &m->vocab;
    size_t pos = 0, st, tl, n = 0, i, k;
    double nd = (double)vc->ndocs + 1, sum = 0;

    cap = cap < MAX_WORDS ? cap : MAX_WORDS;
    while (n < cap && tc__token_next(norm, len, &pos, &st, &tl)) {
        uint64_t h = XXH3_64bits(norm + st, tl);
        long v = tc__vocab_find(vc, norm + st, tl, h);
        double df = v >= 0 ? (double)vc->df[v] : 0;

        w[n].h = h;
        w[n++].w = (float)(log(nd / (df + 1)) + 1);
    }
    qsort(w, n, sizeof(*w), by_hash);
    for (i = k = 0; i < n; i++) {
        if (k > 0 && w[k - 1].h == w[i].h) {
            w[k - 1].w += w[i].w;
        } else {
            w[k++] = w[i];
        }
    }
    for (i = 0; i < k; i++) {
        sum += (double)w[i].w * w[i].w;
    }
    for (i = 0; i < k && sum > 0; i++) {
        w[i].w = (float)(w[i].w / sqrt(sum));
    }
    return k;
}

/* The cosine of a text's words (unit length) and an entry's. */
static float similarity(const wpair *q, size_t nq, const tc__mem_entry *e)
{
    size_t i = 0, j = 0;
    float dot = 0;

    while (i < nq && j < e->nw) {
        if (q[i].h < e->wh[j]) {
            i++;
        } else if (q[i].h > e->wh[j]) {
            j++;
        } else {
            dot += q[i++].w * e->ww[j++];
        }
    }
    return dot;
}

/* ---- answering --------------------------------------------------------- */

/* The corrected labels of e take p over, at probability conf. */
static void take_over(const tc_model *m, const tc__mem_entry *e, float conf,
                      float *p)
{
    size_t i = 0, j;
    uint32_t l;

    for (; i < e->nt; i = j) {
        const tc__head *hd = &m->heads[e->t[i].head];
        float *ph = p + hd->first;

        for (j = i; j < e->nt && e->t[j].head == e->t[i].head; j++) {
        }
        for (l = 0; l < hd->nlabels; l++) {
            if (tc__has_label(e->t + i, j - i, l)) {
                ph[l] = conf;
            } else if (ph[l] > 1 - conf) {
                ph[l] = 1 - conf;
            }
        }
    }
}

int tc__memory_apply(const tc_model *m, const tc__version *v,
                     const tc__scratch *s, float *p)
{
    const tc__memory *mem = &v->mem;
    uint32_t base = tc__best(&m->heads[0], p), a, b, i;
    uint64_t h;
    wpair q[MAX_WORDS]; /* 8 KiB: no allocation on the way, none to fail */
    size_t nq;
    const tc__mem_entry *best = NULL;
    float bsim = -1;

    a = mem->base_off[base];
    b = mem->base_off[base + 1];
    if (a == b) {
        return 0; /* no correction of a text the weights answer so */
    }
    h = XXH3_64bits(s->norm, s->normlen);
    for (i = a; i < b; i++) {
        const tc__mem_entry *e = mem->e[mem->by_base[i]];

        if (e->hash == h && e->len == s->normlen &&
            memcmp(e->text, s->norm, e->len) == 0) {
            take_over(m, e, 1.0f, p); /* the corrected text itself */
            return 1;
        }
    }
    nq = words_of(m, s->norm, s->normlen, q, MAX_WORDS);
    for (i = a; i < b; i++) {
        const tc__mem_entry *e = mem->e[mem->by_base[i]];
        float sim = similarity(q, nq, e);

        if (sim > bsim) {
            bsim = sim;
            best = e;
        }
    }
    if (!best || !(bsim >= m->radius)) {
        return 0;
    }
    take_over(m, best, bsim > 1 ? 1 : bsim, p);
    return 1;
}

/* ---- building versions ------------------------------------------------- */

/* The index by base intent: a counting sort of the entries, stable. */
static int index_by_base(const tc_model *m, tc__memory *mem)
{
    uint32_t nl = m->heads[0].nlabels, l;
    size_t i;

    mem->base_off = tc__calloc((size_t)nl + 2, sizeof(uint32_t));
    mem->by_base = tc__calloc(mem->n ? mem->n : 1, sizeof(uint32_t));
    if (!mem->base_off || !mem->by_base) {
        return TC_ENOMEM;
    }
    for (i = 0; i < mem->n; i++) {
        mem->base_off[mem->e[i]->base + 2]++;
    }
    for (l = 0; l < nl; l++) {
        mem->base_off[l + 2] += mem->base_off[l + 1];
    }
    for (i = 0; i < mem->n; i++) {
        mem->by_base[mem->base_off[mem->e[i]->base + 1]++] = (uint32_t)i;
    }
    return TC_OK;
}

/* Fills e's base, hash and words from its text, under the weights. */
static int entry_derive(const tc_model *m, tc__mem_entry *e)
{
    tc__scratch s;
    tc__err err;
    float evidence;
    wpair *w;
    size_t i;
    int rc;

    rc = tc__featurize_known(&s, m, e->text, e->len,
                             m->stride + (size_t)m->nout_pad, &err);
    if (rc != TC_OK) {
        return rc;
    }
    evidence = tc__hidden_known(m, &s, s.floats);
    tc__scores(m, s.floats, s.floats + m->stride);
    tc__probabilities(m, s.floats + m->stride, evidence);
    e->base = tc__best(&m->heads[0], s.floats + m->stride);
    e->hash = XXH3_64bits(s.norm, s.normlen);
    w = tc__calloc(s.normlen ? s.normlen : 1, sizeof(*w));
    rc = w ? TC_OK : TC_ENOMEM;
    if (w) {
        e->nw = words_of(m, s.norm, s.normlen, w, s.normlen);
        e->wh = tc__calloc(e->nw ? e->nw : 1, sizeof(uint64_t));
        e->ww = tc__calloc(e->nw ? e->nw : 1, sizeof(float));
        if (!e->wh || !e->ww) {
            rc = TC_ENOMEM;
        }
        for (i = 0; rc == TC_OK && i < e->nw; i++) {
            e->wh[i] = w[i].h;
            e->ww[i] = w[i].w;
        }
    }
    tc__free(w);
    tc__scratch_done(&s);
    return rc;
}

int tc__memory_build(const tc_model *m, tc__memory *mem, tc__mem_entry **e,
                     size_t n)
{
    size_t i;
    int rc = TC_OK;

    mem->e = e;
    mem->n = n;
    for (i = 0; i < n; i++) {
        e[i]->refs = 1;
    }
    for (i = 0; i < n && rc == TC_OK; i++) {
        rc = entry_derive(m, e[i]);
    }
    return rc == TC_OK ? index_by_base(m, mem) : rc;
}

/* Reads the labels of a correction; heads absent from it are left alone. */
static int read_targets(const tc_model *m, const cJSON *root, tc__target *t,
                        size_t *nt, tc__err *err)
{
    size_t h, g;
    const cJSON *f, *el;

    *nt = 0;
    for (f = root->child; f; f = f->next) {
        for (el = f->next; el; el = el->next) {
            if (f->string && el->string && strcmp(f->string, el->string) == 0) {
                return tc__errf(err, TC_EINVAL, "%.100s: given twice",
                                f->string);
            }
        }
    }
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        int l;

        f = cJSON_GetObjectItemCaseSensitive(root, hd->name);
        if (!f) {
            continue;
        }
        if (!hd->multi) {
            if (!cJSON_IsString(f)) {
                return tc__errf(err, TC_EINVAL, "%s: not a string", hd->name);
            }
            l = tc__label_find(hd, f->valuestring);
            if (l < 0) {
                return tc__errf(err, TC_EINVAL, "%s: unknown label \"%.100s\"",
                                hd->name, f->valuestring);
            }
            t[*nt].head = (uint32_t)h;
            t[(*nt)++].label = (uint32_t)l;
            continue;
        }
        if (!cJSON_IsArray(f)) {
            return tc__errf(err, TC_EINVAL, "%s: not an array", hd->name);
        }
        if (*nt == TC__MAX_TARGETS) {
            return tc__errf(err, TC_EINVAL, "%s: too many labels", hd->name);
        }
        g = *nt;
        t[*nt].head = (uint32_t)h;
        t[(*nt)++].label = UINT32_MAX;
        cJSON_ArrayForEach(el, f)
        {
            if (!cJSON_IsString(el)) {
                return tc__errf(err, TC_EINVAL, "%s: not an array of strings",
                                hd->name);
            }
            l = tc__label_find(hd, el->valuestring);
            if (l < 0) {
                return tc__errf(err, TC_EINVAL, "%s: unknown label \"%.100s\"",
                                hd->name, el->valuestring);
            }
            if (*nt == TC__MAX_TARGETS) {
                return tc__errf(err, TC_EINVAL, "%s: too many labels",
                                hd->name);
            }
            if (!tc__has_label(t + g, *nt - g, (uint32_t)l)) {
                t[*nt].head = (uint32_t)h;
                t[(*nt)++].label = (uint32_t)l;
            }
        }
    }
    if (*nt == 0) {
        return tc__errf(err, TC_EINVAL, "no head of the model in the example");
    }
    return TC_OK;
}

/* A new entry from one example: its normalized text and labels. */
static int entry_new(const tc_model *m, const cJSON *ex, tc__mem_entry **out,
                     tc__err *err)
{
    tc__target t[TC__MAX_TARGETS];
    const cJSON *text;
    tc__mem_entry *e;
    char *norm;
    size_t nt, len, bad = 0, need;
    int rc;

    *out = NULL;
    text = cJSON_GetObjectItemCaseSensitive(ex, "text");
    if (!cJSON_IsObject(ex) || !cJSON_IsString(text)) {
        return tc__errf(err, TC_EINVAL, "text: %s",
                        !cJSON_IsObject(ex) ? "not a JSON object"
                        : text              ? "not a string"
                                            : "missing");
    }
    rc = read_targets(m, ex, t, &nt, err);
    if (rc != TC_OK) {
        return rc;
    }
    len = strlen(text->valuestring);
    rc = tc__normalize_into(NULL, 0, &need, text->valuestring, len, &bad);
    if (rc == TC_ETOOBIG || rc == TC_OK) {
        norm = tc__malloc(need + 1);
        rc = norm ? tc__normalize_into(norm, need + 1, &need, text->valuestring,
                                       len, &bad)
                  : TC_ENOMEM;
    } else {
        norm = NULL;
    }
    if (rc != TC_OK || need == 0) {
        tc__free(norm);
        if (rc == TC_ENOMEM) {
            return tc__errf(err, rc, "out of memory");
        }
        if (rc == TC_OK) {
            return tc__errf(err, TC_EINVAL, "text: empty");
        }
        return tc__errf(err, TC_EINVAL, "text: invalid UTF-8 at byte %zu", bad);
    }
    e = tc__calloc(1, sizeof(*e));
    if (e) {
        e->text = norm;
        e->len = need;
        e->refs = 1;
        e->nt = nt;
        e->t = tc__calloc(nt, sizeof(*t));
    }
    if (!e || !e->t) {
        if (e) {
            tc__mem_entry_unref(e); /* e->text is norm */
        } else {
            tc__free(norm);
        }
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    memcpy(e->t, t, nt * sizeof(*t));
    rc = entry_derive(m, e);
    if (rc != TC_OK) {
        tc__mem_entry_unref(e);
        return tc__errf(err, rc, "out of memory");
    }
    *out = e;
    return TC_OK;
}

/*
 * Keeps the latest entry of each text: walking from the newest, an entry
 * whose text a newer one has is dropped; the others keep their order.
 * One pass, with an open-addressing set of the texts seen.
 */
static int dedupe(tc__memory *mem)
{
    size_t ns = 16, i, k, j;
    uint32_t *slots;

    while (ns < 2 * mem->n) {
        ns *= 2;
    }
    if (!(slots = tc__calloc(ns, sizeof(uint32_t)))) {
        return TC_ENOMEM;
    }
    for (i = mem->n; i-- > 0;) {
        tc__mem_entry *e = mem->e[i];
        int dup = 0;

        for (j = e->hash & (ns - 1); slots[j]; j = (j + 1) & (ns - 1)) {
            const tc__mem_entry *x = mem->e[slots[j] - 1];

            if (x->hash == e->hash && x->len == e->len &&
                memcmp(x->text, e->text, e->len) == 0) {
                dup = 1;
                break;
            }
        }
        if (dup) {
            tc__mem_entry_unref(e);
            mem->e[i] = NULL;
        } else {
            slots[j] = (uint32_t)i + 1;
        }
    }
    tc__free(slots);
    for (i = k = 0; i < mem->n; i++) {
        if (mem->e[i]) {
            mem->e[k++] = mem->e[i];
        }
    }
    mem->n = k;
    return TC_OK;
}

int tc__memory_add(const tc_model *m, const tc__version *v, tc__version *nv,
                   const cJSON *const *ex, size_t n, tc__err *err)
{
    tc__memory *mem = &nv->mem;
    size_t i, cap = v->mem.n + n;
    int rc = TC_OK;

    mem->e = tc__calloc(cap ? cap : 1, sizeof(*mem->e));
    if (!mem->e) {
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    for (i = 0; i < v->mem.n; i++) {
        mem->e[mem->n++] = v->mem.e[i];
        v->mem.e[i]->refs++;
    }
    for (i = 0; i < n && rc == TC_OK; i++) {
        rc = entry_new(m, ex[i], &mem->e[mem->n], err);
        if (rc != TC_OK && n > 1) { /* say which */
            char why[TC__ERR_MAX / 2];

            snprintf(why, sizeof(why), "%.*s", (int)sizeof(why) - 1, err->msg);
            tc__errf(err, rc, "example %zu: %s", i + 1, why);
        }
        mem->n += rc == TC_OK;
    }
    /* the latest correction of a text is the one that counts */
    if (rc == TC_OK && dedupe(mem) != TC_OK) {
        rc = tc__errf(err, TC_ENOMEM, "out of memory");
    }
    if (rc == TC_OK && mem->n > TC__MEMORY_MAX) {
        rc = tc__errf(err, TC_EFULL,
                      "the model would hold %zu corrections, more than its "
                      "%d: retrain it with them",
                      mem->n, TC__MEMORY_MAX);
    }
    if (rc == TC_OK && index_by_base(m, mem) != TC_OK) {
        rc = tc__errf(err, TC_ENOMEM, "out of memory");
    }
    return rc;
}

/* ---- the public door --------------------------------------------------- */

/* The examples of text: one JSON object, or several, one per line. */
static int parse_examples(const char *text, cJSON ***ex, size_t *n,
                          tc__err *err)
{
    const char *p = text, *end;
    size_t cap = 0, line = 0;
    cJSON *o;

    *ex = NULL;
    *n = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        line++;
        end = p;
        while (end < p + len && strchr(" \t\r", *end)) {
            end++;
        }
        if (end < p + len) {
            const char *stop = NULL;

            tc__oom_take();
            o = cJSON_ParseWithLengthOpts(p, len, &stop, 0);
            while (o && stop && stop < p + len && strchr(" \t\r", *stop)) {
                stop++;
            }
            if (!o || !cJSON_IsObject(o) || (stop && stop < p + len)) {
                int oom = !o && tc__oom_take();

                cJSON_Delete(o);
                return oom ? tc__errf(err, TC_ENOMEM, "out of memory")
                           : tc__errf(err, TC_EINVAL,
                                      "line %zu: not a JSON object", line);
            }
            if (*n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                cJSON **g = tc__realloc(*ex, nc * sizeof(*g));

                if (!g) {
                    cJSON_Delete(o);
                    return tc__errf(err, TC_ENOMEM, "out of memory");
                }
                *ex = g;
                cap = nc;
            }
            (*ex)[(*n)++] = o;
        }
        p += len + (nl != NULL);
    }
    if (*n == 0) {
        return tc__errf(err, TC_EINVAL, "not a JSON object");
    }
    return TC_OK;
}

int tc__model_update(tc_model *m, const char *example_json)
{
    tc__version *cur, *nv = NULL;
    cJSON **ex = NULL;
    size_t n = 0, i;
    tc__err err;
    int rc;

    rc = parse_examples(example_json, &ex, &n, &err);
    if (rc != TC_OK) {
        goto done;
    }
    pthread_mutex_lock(&m->update_mu);
    cur = atomic_load(&m->cur); /* updaters are serialized: it stays */
    nv = tc__version_new();
    rc = nv ? tc__memory_add(m, cur, nv, (const cJSON *const *)ex, n, &err)
            : tc__errf(&err, TC_ENOMEM, "out of memory");
    if (rc == TC_OK && (rc = tc__version_fingerprint(m, nv)) != TC_OK) {
        tc__errf(&err, rc, "out of memory");
    }
    if (rc == TC_OK) {
        tc__model_publish(m, nv);
        nv = NULL;
    }
    tc__version_free(nv);
    pthread_mutex_unlock(&m->update_mu);
done:
    for (i = 0; i < n; i++) {
        cJSON_Delete(ex[i]);
    }
    tc__free(ex);
    return rc == TC_OK ? TC_OK : tc__fail(rc, "%s", err.msg);
}

/* ---- listing ----------------------------------------------------------- */

/* Appends one line, a cJSON object's text and a newline, to *buf. */
static int append_line(char **buf, size_t *len, size_t *cap, cJSON *o)
{
    char *line = o ? cJSON_PrintUnformatted(o) : NULL;
    size_t n;

    cJSON_Delete(o);
    if (!line) {
        return TC_ENOMEM;
    }
    n = strlen(line);
    if (*len + n + 2 > *cap) {
        size_t nc = (*len + n + 2) * 2;
        char *g = tc__realloc(*buf, nc);

        if (!g) {
            cJSON_free(line);
            return TC_ENOMEM;
        }
        *buf = g;
        *cap = nc;
    }
    memcpy(*buf + *len, line, n);
    (*buf)[*len + n] = '\n';
    *len += n + 1;
    (*buf)[*len] = '\0';
    cJSON_free(line);
    return TC_OK;
}

/* A correction as a training example: text, then its heads. */
static cJSON *entry_json(const tc_model *m, const tc__mem_entry *e)
{
    cJSON *o = cJSON_CreateObject(), *arr = NULL;
    size_t i;
    int ok = o && cJSON_AddStringToObject(o, "text", e->text);

    for (i = 0; ok && i < e->nt; i++) {
        const tc__head *hd = &m->heads[e->t[i].head];

        if (!hd->multi) {
            ok = cJSON_AddStringToObject(o, hd->name,
                                         hd->labels[e->t[i].label]) != NULL;
        } else if (e->t[i].label == UINT32_MAX) {
            ok = (arr = cJSON_AddArrayToObject(o, hd->name)) != NULL;
        } else {
            cJSON *s = cJSON_CreateString(hd->labels[e->t[i].label]);

            ok = s && cJSON_AddItemToArray(arr, s);
            if (!ok) {
                cJSON_Delete(s);
            }
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A reference example as a training example: text and intent. */
static cJSON *ref_json(const tc_model *m, uint32_t i)
{
    cJSON *o = cJSON_CreateObject();

    if (o && (!cJSON_AddStringToObject(o, "text", m->ref_text[i]) ||
              !cJSON_AddStringToObject(o, "intent",
                                       m->heads[0].labels[m->ref_label[i]]))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The corrections of the current version (corrections) or the reference
 * examples as JSON Lines into *out. */
static int listing(char **out, const tc_model *m, int corrections)
{
    size_t len = 0, cap = 1, i;
    tc__version *v;
    _Atomic long *rd;
    int rc = TC_OK;

    if (out) {
        *out = NULL;
    }
    if (!(*out = tc__calloc(1, 1))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    rd = tc__read_enter(m, &v);
    for (i = 0; i < (corrections ? v->mem.n : m->nrefs) && rc == TC_OK; i++) {
        rc = append_line(out, &len, &cap,
                         corrections ? entry_json(m, v->mem.e[i])
                                     : ref_json(m, (uint32_t)i));
    }
    tc__read_leave(rd);
    if (rc != TC_OK) {
        tc__free(*out);
        *out = NULL;
        return tc__fail(rc, "out of memory");
    }
    return TC_OK;
}

int tc__model_corrections_json(char **out, const tc_model *m)
{
    return listing(out, m, 1);
}

int tc__model_references_json(char **out, const tc_model *m)
{
    return listing(out, m, 0);
}
