/*
 * classify.c - text classification served through the cache: normalize,
 * build the key from the normalized text and the model's identity, look in
 * L1 and L2, and only then ask the model. The cached value is the model's
 * answer as JSON; the threshold, the source and the latency are applied
 * to each returned copy, so none of them is ever frozen into the cache.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "base/normalize.h"
#include "cache/cache.h"
#include "classify/classify.h"
#include "classify/result.h"
#include "model/model.h"

#define DEFAULT_TOP_K 3
#define DEFAULT_NS "intents"
#define ID_MAX 128

struct tc_classifier {
    tc__cache *cache;
    tc__cls_counts *counts; /* NULL: metrics off */
    const tc__logger *log;
    tc_model *model;
    tc_classifier_fn fn;
    void *fn_userdata;
    char *fn_version;
    char *ns;
    int top_k;
    double threshold;
};

void tc__classifier_options_init(tc_classifier_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->version = TC_CLASSIFIER_OPTIONS_VERSION;
}

int tc__classifier_open(tc_classifier **out, tc__cache *cache,
                        tc__cls_counts *counts,
                        const tc_classifier_options *opt)
{
    const char *ns = opt->ns ? opt->ns : DEFAULT_NS;
    tc_classifier *c;
    int rc;

    if (!opt->model == !opt->fn) {
        return tc__fail(TC_EINVAL,
                        "a classifier needs a model or a callback, not both");
    }
    if (opt->fn && (!opt->fn_version || !*opt->fn_version ||
                    strlen(opt->fn_version) >= ID_MAX)) {
        return tc__fail(TC_EINVAL,
                        "a callback needs a version (1-%d bytes), part of "
                        "the cache key",
                        ID_MAX - 1);
    }
    if (!(opt->threshold >= 0 && opt->threshold <= 1)) {
        return tc__fail(TC_EINVAL, "threshold: not in 0..1");
    }
    /* an unknown namespace is an error now, not at the first call */
    if ((rc = tc__cache_ns_check(cache, ns)) != TC_OK) {
        return rc;
    }
    if (!(c = tc__calloc(1, sizeof(*c)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    c->cache = cache;
    c->counts = counts;
    c->log = tc__cache_logger(cache);
    c->model = opt->model;
    c->fn = opt->fn;
    c->fn_userdata = opt->fn_userdata;
    c->top_k = opt->top_k > 0 ? opt->top_k : DEFAULT_TOP_K;
    c->threshold = opt->threshold;
    c->ns = tc__strdup(ns);
    c->fn_version = opt->fn ? tc__strdup(opt->fn_version) : NULL;
    if (!c->ns || (opt->fn && !c->fn_version)) {
        tc__classifier_close(c);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    *out = c;
    return TC_OK;
}

void tc__classifier_close(tc_classifier *c)
{
    if (c) {
        tc__free(c->ns);
        tc__free(c->fn_version);
        tc__free(c);
    }
}

/* The model's identity: the built-in model's fingerprint, or "fn:" and
 * the callback's version. */
static void model_id(char *buf, const tc_classifier *c)
{
    if (c->model) {
        tc__model_fingerprint(buf, c->model);
    } else {
        snprintf(buf, ID_MAX + 4, "fn:%s", c->fn_version);
    }
}

/*
 * Key material: normalized text, model identity and top_k, NUL-separated
 * (a normalized text holds no NUL), so that a new model never serves an
 * old model's answers. Written into k, which holds key_room() bytes;
 * returns the length (without the last NUL).
 */
static size_t key_room(size_t normlen, const char *id)
{
    return normlen + 1 + strlen(id) + 1 + 11 + 1;
}

static size_t key_write(char *k, const char *norm, size_t normlen,
                        const char *id, int top_k)
{
    size_t idlen = strlen(id), n = normlen;
    char rev[12];
    unsigned v = (unsigned)top_k;
    int d = 0;

    memcpy(k, norm, normlen);
    k[n++] = '\0';
    memcpy(k + n, id, idlen);
    n += idlen;
    k[n++] = '\0';
    /* the digits by hand: snprintf showed in the profile of a hit */
    do {
        rev[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (d) {
        k[n++] = rev[--d];
    }
    k[n] = '\0';
    return n;
}

/* The built-in model's answer in the canonical form that is cached. */
static int model_json(char **out, char *fp, const tc_classifier *c,
                      const char *norm, size_t len)
{
    tc__head_out heads[16];
    const char *labels[16][32];
    const tc_head_prediction *h;
    const char *oos;
    tc_prediction *p;
    size_t i, j, nheads = 0;
    int rc;

    *out = NULL;
    if ((rc = tc__model_predict(&p, c->model, norm, len, c->top_k)) != TC_OK) {
        return rc;
    }
    memcpy(fp, p->fingerprint, sizeof(p->fingerprint));
    if (p->nheads == 0 || p->heads[0].n == 0) {
        tc__free(p);
        return TC_EINTERNAL;
    }
    for (i = 1; i < p->nheads && nheads < 16; i++) {
        size_t n = 0;

        h = &p->heads[i];
        for (j = 0; j < h->n && n < 32; j++) {
            /* a multi-label head lists the labels it believes in */
            if (!h->multi_label || h->labels[j].score >= TC__MULTI_MIN) {
                labels[nheads][n++] = h->labels[j].label;
            }
            if (!h->multi_label) {
                break;
            }
        }
        heads[nheads] =
            (tc__head_out){h->head, h->multi_label, n, labels[nheads]};
        nheads++;
    }
    h = &p->heads[0];
    /* the model's own out-of-scope label is answered as such */
    oos = tc__model_oos_label(c->model);
    rc = tc__result_encode(out, NULL,
                           oos && strcmp(h->labels[0].label, oos) == 0
                               ? TC__UNKNOWN_INTENT
                               : h->labels[0].label,
                           h->labels[0].score, h->labels, h->n, heads, nheads,
                           p->fingerprint);
    tc__free(p);
    return rc;
}

/* Asks the model (built-in or host) for a JSON answer; *cacheable is 0
 * when the model changed under the key. */
static int compute(char **json, int *cacheable, tc_classifier *c,
                   const char *norm, size_t len, const char *id)
{
    char fp[TC_FINGERPRINT_LEN + 1];
    int rc;

    *json = NULL;
    *cacheable = 1;
    if (c->model) {
        rc = model_json(json, fp, c, norm, len);
        if (rc == TC_OK && strcmp(fp, id) != 0) {
            *cacheable = 0; /* answered by a newer version than the key */
        }
        return rc;
    }
    rc = c->fn(json, norm, len, c->fn_userdata);
    if (rc != TC_OK) {
        tc__free(*json);
        *json = NULL;
        return tc__fail(TC_ELOADER, "classifier %s returned %s",
                        c->fn_version, tc__error_name(rc));
    }
    if (!*json) {
        return tc__fail(TC_ELOADER, "classifier %s returned no JSON",
                        c->fn_version);
    }
    {
        char *canon;

        rc = tc__result_canonical(&canon, NULL, *json, id);
        if (rc == TC_EPROTO) {
            rc = tc__fail(TC_ELOADER,
                          "classifier %s answered no JSON object with intent "
                          "and confidence 0..1: %.200s",
                          c->fn_version, *json);
        }
        tc__free(*json);
        *json = rc == TC_OK ? canon : NULL;
    }
    return rc;
}

/* One text whose key is known and whose cache lookup missed. */
static int classify_miss(tc_result **out, tc_classifier *c, const char *norm,
                         size_t normlen, const char *key, size_t keylen,
                         const char *id, int64_t t0)
{
    char *json;
    int cacheable, rc;

    if ((rc = compute(&json, &cacheable, c, norm, normlen, id)) != TC_OK) {
        return rc;
    }
    rc = tc__result_decode(out, json, strlen(json), TC_SOURCE_MODEL,
                           c->threshold, t0);
    if (rc == TC_EPROTO) {
        rc = TC_EINTERNAL; /* the canonical form always decodes */
    } else if (rc == TC_OK && cacheable) {
        /* a cache write never fails the classification: its failure is
         * counted and logged by the cache, and the door clears the slot */
        tc__cache_set(c->cache, c->ns, key, keylen, json, strlen(json),
                      TC_TTL_DEFAULT);
    }
    tc__free(json);
    return rc;
}

static int prepare(char **norm, size_t *normlen, char **key, size_t *keylen,
                   tc_classifier *c, const char *text, size_t len,
                   const char *id)
{
    int rc;

    *key = NULL;
    if (!text && len) {
        return tc__fail(TC_EINVAL, "text is NULL");
    }
    rc = tc__text_normalize(norm, normlen, text ? text : "", len);
    if (rc != TC_OK) {
        return tc__fail(rc, "text: %s",
                        rc == TC_EINVAL ? "not valid UTF-8" : tc__strerror(rc));
    }
    if (*normlen == 0) {
        tc__free(*norm);
        *norm = NULL;
        return tc__fail(TC_EINVAL, "text: empty");
    }
    if (*normlen > SIZE_MAX / 2 || !(*key = tc__malloc(key_room(*normlen, id)))) {
        tc__free(*norm);
        *norm = NULL;
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    *keylen = key_write(*key, *norm, *normlen, id, c->top_k);
    return TC_OK;
}

/*
 * tc_classify's prepare for texts that fit its stack buffers: the same
 * normalized text and key material, written in place, since allocating
 * and freeing them was a sixth of an L1 hit. norm holds SHORT_TEXT bytes,
 * key SHORT_KEY.
 * Returns 1 when the text or its normal form does not fit (the caller
 * then uses prepare()).
 */
#define SHORT_TEXT 1024
#define SHORT_KEY (SHORT_TEXT + ID_MAX + 4 + 16)
static int prepare_short(char *norm, size_t *normlen, char *key, size_t *keylen,
                         tc_classifier *c, const char *text, size_t len,
                         const char *id)
{
    size_t bad;
    int rc;

    if (!text || len >= SHORT_TEXT) {
        return 1;
    }
    rc = tc__normalize_into(norm, SHORT_TEXT, normlen, text, len, &bad);
    if (rc == TC_ETOOBIG) {
        return 1; /* NFKC made it longer than SHORT_TEXT - 1 bytes */
    }
    if (rc != TC_OK) {
        return tc__fail(rc, "text: %s",
                        rc == TC_ENOMEM ? "out of memory"
                        : text[bad]     ? "not valid UTF-8"
                                        : "NUL character");
    }
    if (*normlen == 0) {
        return tc__fail(TC_EINVAL, "text: empty");
    }
    *keylen = key_write(key, norm, *normlen, id, c->top_k);
    return TC_OK;
}

/*
 * A cached value: the canonical form decodes directly; a classification
 * another writer stored in another shape (key order, extra fields) is
 * re-encoded once. TC_EPROTO: not a classification at all.
 */
static int decode_hit(tc_result **out, const tc_classifier *c, const char *val,
                      size_t len, tc_source src, const char *id, int64_t t0)
{
    char *canon;
    size_t clen;
    int rc = tc__result_decode(out, val, len, src, c->threshold, t0);

    if (rc != TC_EPROTO || memchr(val, '\0', len)) {
        return rc;
    }
    if ((rc = tc__result_canonical(&canon, &clen, val, id)) != TC_OK) {
        return rc;
    }
    rc = tc__result_decode(out, canon, clen, src, c->threshold, t0);
    tc__free(canon);
    return rc;
}

/* A debug line per classification; the text only with log_texts. */
static void log_result(const tc_classifier *c, const tc_result *r,
                       const char *text, size_t len)
{
    const tc__logger *lg = c->log;
    char lat[24], conf[24], *t = NULL;
    const char *f[16];
    int i = 0;

    snprintf(lat, sizeof(lat), "%lld", (long long)r->latency_us);
    snprintf(conf, sizeof(conf), "%.4f", r->confidence);
    f[i++] = "namespace";
    f[i++] = c->ns;
    f[i++] = "source";
    f[i++] = tc__source_name(r->source);
    f[i++] = "intent";
    f[i++] = r->intent;
    f[i++] = "#confidence";
    f[i++] = conf;
    f[i++] = "model";
    f[i++] = r->model;
    f[i++] = "#latency_us";
    f[i++] = lat;
    if (lg->log_texts && (t = tc__strndup(text, len))) {
        f[i++] = "text";
        f[i++] = t;
    }
    f[i] = NULL;
    tc__log(lg, TC_LOG_DEBUG, "classify", f);
    tc__free(t);
}

/* One classification for the metrics: its outcome and latency. */
static void count(const tc_classifier *c, const tc_result *r, int64_t t0)
{
    tc__cls_status st = TC__CLS_ERROR;

    if (!c->counts) {
        return;
    }
    if (r) {
        st = r->source == TC_SOURCE_MODEL      ? TC__CLS_CACHE_MISS
             : r->source == TC_SOURCE_FEEDBACK ? TC__CLS_FEEDBACK
                                               : TC__CLS_CACHE_HIT;
    }
    tc__cls_count(c->counts, st, r ? r->latency_us : tc__now_us() - t0);
}

static tc_source tier_source(tc_tier t)
{
    return t == TC_TIER_L1 ? TC_SOURCE_L1 : TC_SOURCE_L2;
}

int tc__classify(tc_result **out, tc_classifier *c, const char *text,
                 size_t len)
{
    char nbuf[SHORT_TEXT], kbuf[SHORT_KEY];
    char id[ID_MAX + 4], *norm = NULL, *key = NULL;
    size_t normlen = 0, keylen = 0, vlen;
    int64_t t0 = tc__now_us();
    void *val;
    tc_tier tier;
    int rc;

    model_id(id, c);
    rc = prepare_short(nbuf, &normlen, kbuf, &keylen, c, text, len, id);
    if (rc == 1) {
        rc = prepare(&norm, &normlen, &key, &keylen, c, text, len, id);
    } else {
        norm = nbuf;
        key = kbuf;
    }
    if (rc != TC_OK) {
        count(c, NULL, t0);
        return rc;
    }
    /* a correction overrides whatever is cached, in every process */
    rc = tc__cache_get(&val, &vlen, &tier, c->cache, TC__OVERRIDE_NS, norm,
                       normlen, 1, t0 / 1000);
    if (rc == TC_OK) {
        rc = decode_hit(out, c, val, vlen, TC_SOURCE_FEEDBACK, "feedback", t0);
        tc__free(val);
        if (rc != TC_EPROTO) {
            goto done;
        }
    } else if (rc != TC_MISS) {
        goto done;
    }
    rc = tc__cache_get(&val, &vlen, &tier, c->cache, c->ns, key, keylen, 0,
                       t0 / 1000);
    if (rc == TC_OK) {
        rc = decode_hit(out, c, val, vlen, tier_source(tier), id, t0);
        tc__free(val);
        if (rc == TC_EPROTO) {
            /* not a classification (another writer, or damage): ask */
            rc = classify_miss(out, c, norm, normlen, key, keylen, id, t0);
        }
    } else if (rc == TC_MISS) {
        rc = classify_miss(out, c, norm, normlen, key, keylen, id, t0);
    }
done:
    if (norm != nbuf) {
        tc__free(norm);
        tc__free(key);
    }
    if (rc == TC_ENOMEM) {
        tc__fail(rc, "out of memory");
    }
    count(c, rc == TC_OK ? *out : NULL, t0);
    if (rc == TC_OK && tc__log_on(c->log, TC_LOG_DEBUG)) {
        log_result(c, *out, text, len);
    }
    return rc;
}

/*
 * The cache part of a batch: one round trip for the overrides of all
 * valid texts, one for the cached classifications of the rest, and the
 * model for what is left. items[i].key is NULL for a text already failed.
 */
static int lookup_batch(tc_result **out, int *status, tc_classifier *c,
                        tc_item *items, char **norms, size_t *normlens,
                        size_t n, const char *id, int64_t t0)
{
    tc_item *fb = tc__calloc(n, sizeof(*fb));
    tc_item *rest = tc__calloc(n, sizeof(*rest));
    size_t *where = tc__calloc(n, sizeof(*where));
    size_t *rwhere = tc__calloc(n, sizeof(*rwhere));
    size_t nvalid = 0, nrest = 0, i, j;
    int64_t shared;
    int rc;

    if (!fb || !rest || !where || !rwhere) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (items[i].key) {
            fb[nvalid].key = norms[i];
            fb[nvalid].keylen = normlens[i];
            where[nvalid++] = i;
        }
    }
    rc = tc__cache_mget(c->cache, TC__OVERRIDE_NS, fb, nvalid, 1);
    for (j = 0; rc == TC_OK && j < nvalid; j++) {
        size_t k = where[j];

        if (fb[j].status == TC_OK &&
            decode_hit(&out[k], c, fb[j].val, fb[j].len, TC_SOURCE_FEEDBACK,
                       "feedback", t0) == TC_OK) {
            if (status) {
                status[k] = TC_OK;
            }
            continue;
        }
        rest[nrest] = items[k];
        rwhere[nrest++] = k;
    }
    for (j = 0; j < nvalid; j++) {
        tc__free(fb[j].val);
    }
    if (rc == TC_OK) {
        rc = tc__cache_mget(c->cache, c->ns, rest, nrest, 0);
    }
    /* each text's latency: the shared lookups plus its own work, not the
     * work done for the texts before it */
    shared = tc__now_us() - t0;
    for (j = 0; rc == TC_OK && j < nrest; j++) {
        tc_item *it = &rest[j];
        size_t k = rwhere[j];
        int st;

        t0 = tc__now_us() - shared;
        if (it->status == TC_OK) {
            st = decode_hit(&out[k], c, it->val, it->len, tier_source(it->tier),
                            id, t0);
            if (st == TC_EPROTO) {
                st = classify_miss(&out[k], c, norms[k], normlens[k], it->key,
                                   it->keylen, id, t0);
            }
        } else {
            st = classify_miss(&out[k], c, norms[k], normlens[k], it->key,
                               it->keylen, id, t0);
        }
        tc__free(it->val);
        it->val = NULL;
        if (status) {
            status[k] = st;
        }
        if (st == TC_ENOMEM) {
            rc = st;
        }
    }
    for (; j < nrest; j++) {
        tc__free(rest[j].val);
    }
done:
    tc__free(fb);
    tc__free(rest);
    tc__free(where);
    tc__free(rwhere);
    return rc;
}

int tc__classify_batch(tc_result **out, int *status, tc_classifier *c,
                       const char *const *texts, const size_t *lens, size_t n)
{
    char id[ID_MAX + 4];
    char **norms = NULL;
    size_t *normlens = NULL;
    tc_item *items = NULL;
    int64_t t0 = tc__now_us();
    size_t i;
    int rc;

    if (n == 0) {
        return TC_OK;
    }
    norms = tc__calloc(n, sizeof(*norms));
    normlens = tc__calloc(n, sizeof(*normlens));
    items = tc__calloc(n, sizeof(*items));
    if (!norms || !normlens || !items) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    model_id(id, c);
    for (i = 0; i < n; i++) {
        char *key = NULL;
        size_t keylen = 0;
        int st = prepare(&norms[i], &normlens[i], &key, &keylen, c, texts[i],
                         lens[i], id);

        if (st == TC_ENOMEM) {
            rc = st;
            goto done;
        }
        items[i].key = key;
        items[i].keylen = keylen;
        items[i].status = st;
        if (status) {
            status[i] = st;
        }
    }
    rc = lookup_batch(out, status, c, items, norms, normlens, n, id, t0);
done:
    for (i = 0; norms && i < n; i++) {
        tc__free(norms[i]);
        if (items) {
            tc__free((void *)items[i].key);
        }
    }
    tc__free(norms);
    tc__free(normlens);
    tc__free(items);
    if (rc != TC_OK) {
        for (i = 0; i < n; i++) {
            tc__free(out[i]);
            out[i] = NULL;
        }
    }
    for (i = 0; i < n; i++) {
        count(c, out[i], t0);
    }
    return rc;
}
