/*
 * model_data.c - the training data of the built-in classifier: JSON Lines
 * parsed into examples (feature rows and labels, computed once, so that
 * an epoch is arithmetic only), the label tables of each head, and the
 * word counts the vocabulary is chosen from. A malformed line fails the
 * whole data set, with its line and field named.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "model/model.h"
#include "model/model_data.h"
#include "base/normalize.h"

/* ---- string tables ----------------------------------------------------- */

static void strtab_free(tc__strtab *t)
{
    uint32_t i;

    for (i = 0; i < t->n; i++) {
        tc__free(t->keys[i]);
    }
    tc__free(t->keys);
    tc__free(t->slots);
    memset(t, 0, sizeof(*t));
}

static uint32_t *strtab_slot(const tc__strtab *t, const char *k, size_t len)
{
    uint32_t i = (uint32_t)XXH3_64bits(k, len) & (t->nslots - 1);

    while (t->slots[i] && (strncmp(t->keys[t->slots[i] - 1], k, len) != 0 ||
                           t->keys[t->slots[i] - 1][len] != '\0')) {
        i = (i + 1) & (t->nslots - 1);
    }
    return &t->slots[i];
}

/* The index of k, added when new. Returns TC_OK or TC_ENOMEM. */
static int strtab_add(tc__strtab *t, const char *k, uint32_t *idx)
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

void tc__dataset_free(tc__dataset *d)
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
    tc__free(d->wstat);
    for (h = 0; h < d->nrefs; h++) {
        tc__free(d->ref_text[h]);
    }
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
    tc__dataset *d;
    const char *src; /* file name, or NULL for "line N" */
    size_t line;
    tc__err err;
} parse_ctx;

#define WHERE(pc) (pc)->src ? (pc)->src : "line", (pc)->src ? ":" : " "

static int head_of(parse_ctx *pc, const char *name, int multi, uint32_t *hi)
{
    tc__dataset *d = pc->d;
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
static int count_words(tc__dataset *d)
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
        if (d->words.n > before) { /* a new word: its counts start */
            if (grow((void **)&d->wstat, &d->wcap, i, 1, sizeof(tc__wstat)) !=
                TC_OK) {
                return TC_ENOMEM;
            }
            memset(&d->wstat[i], 0, sizeof(tc__wstat));
        }
        d->wstat[i].count++;
        if (d->wstat[i].last != d->n + 1) {
            d->wstat[i].last = (uint32_t)d->n + 1;
            d->wstat[i].df++;
        }
    }
    return TC_OK;
}

/* Offers the example just parsed (its normalized text in the scratch) to
 * the sample of references: the first TC__REFS_MAX fill it, each later
 * one replaces a random one with the chance that keeps the sample
 * uniform. */
static int sample_ref(tc__dataset *d, uint32_t intent)
{
    size_t slot = d->n < TC__REFS_MAX
                      ? d->n
                      : (size_t)(tc__splitmix(&d->ref_rng) % (d->n + 1));
    char *t;

    if (slot >= TC__REFS_MAX) {
        return TC_OK;
    }
    if (!(t = tc__memdup0(d->scratch.norm, d->scratch.normlen))) {
        return TC_ENOMEM;
    }
    if (slot < d->nrefs) {
        tc__free(d->ref_text[slot]);
    } else {
        d->nrefs++;
    }
    d->ref_text[slot] = t;
    d->ref_label[slot] = intent;
    return TC_OK;
}

/* Parses one line into an example. */
static int parse_line(parse_ctx *pc, const char *line, size_t len)
{
    tc__dataset *d = pc->d;
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
    if (count_words(d) != TC_OK || sample_ref(d, t[0].label) != TC_OK) {
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
    tc__dataset *d = pc->d;
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

int tc__dataset_take_heads(tc_model *m, tc__dataset *d)
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
        hd->calib_a = 1;
        hd->calib_b = 0;
        hd->calib_c = 0;
        hd->calib_d = 0;
        m->nout += hd->nlabels;
        m->nout_pad = (m->nout + TC__LANES - 1) / TC__LANES * TC__LANES;
        d->heads[h].name = NULL;
        d->heads[h].labels.keys = NULL;
        d->heads[h].labels.n = 0;
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

int tc__dataset_take_vocab(tc_model *m, tc__dataset *d)
{
    uint32_t n = d->words.n, keep = n < TC__VOCAB_MAX ? n : TC__VOCAB_MAX, i;
    wcount *wc = tc__malloc((n ? n : 1) * sizeof(wcount));
    char **words = tc__calloc(keep ? keep : 1, sizeof(char *));
    uint32_t *df = tc__calloc(keep ? keep : 1, sizeof(uint32_t));

    if (!wc || !words || !df) {
        tc__free(wc);
        tc__free(words);
        tc__free(df);
        return TC_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        wc[i].count = d->wstat[i].count;
        wc[i].idx = i;
    }
    if (keep < n) {
        qsort(wc, n, sizeof(wcount), by_count);
    }
    for (i = 0; i < keep; i++) {
        words[i] = d->words.keys[wc[i].idx];
        df[i] = d->wstat[wc[i].idx].df;
        d->words.keys[wc[i].idx] = NULL; /* now the vocabulary's */
    }
    tc__free(wc);
    return tc__vocab_set(m, words, df, keep, (uint32_t)d->n);
}

int tc__dataset_take_refs(tc_model *m, tc__dataset *d)
{
    m->ref_text = tc__calloc(d->nrefs ? d->nrefs : 1, sizeof(char *));
    m->ref_label = tc__calloc(d->nrefs ? d->nrefs : 1, sizeof(uint32_t));
    if (!m->ref_text || !m->ref_label) {
        return TC_ENOMEM;
    }
    memcpy(m->ref_text, d->ref_text, d->nrefs * sizeof(char *));
    memcpy(m->ref_label, d->ref_label, d->nrefs * sizeof(uint32_t));
    m->nrefs = d->nrefs;
    d->nrefs = 0;
    return TC_OK;
}

int tc__dataset_parse(tc__dataset *d, tc_model *m, const char *data, size_t len,
                      const char *src, tc__err *err)
{
    parse_ctx pc;
    int rc;

    memset(d, 0, sizeof(*d));
    memset(&pc, 0, sizeof(pc));
    d->m = m;
    d->ref_rng = m->hp.seed ^ 0x5EFE5EFEULL;
    pc.d = d;
    pc.src = src;
    rc = parse_all(&pc, data, len);
    if (rc != TC_OK) {
        memcpy(err, &pc.err, sizeof(*err));
    }
    return rc;
}
