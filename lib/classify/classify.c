/*
 * classify.c - text classification served through the cache: normalize,
 * build the key from the normalized text and the model's identity, look in
 * L1 and L2, and only then ask the model (compute.c). The L2 keeps the
 * model's answer as JSON; L1 keeps it packed (packed.c: the same JSON,
 * then the result decoded), so that a hit copies instead of parsing,
 * straight out of the L1 entry; and a hit skips the lookup of the text's
 * correction while the L1 still remembers that there is none
 * (cached_hit). The threshold, the source and the latency are applied to
 * each returned copy, so none of them is ever frozen into the cache.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "base/normalize.h"
#include "cache/cache.h"
#include "cache/ns.h"
#include "classify/classifier.h"
#include "classify/packed.h"
#include "classify/popular.h"
#include "classify/result.h"
#include "classify/served.h"
#include "model/model.h"

/*
 * Key material: normalized text, model identity (the built-in model's
 * fingerprint, or "fn:" and the callback's version) and top_k,
 * NUL-separated (a normalized text holds no NUL), so that a new model
 * never serves an old model's answers. The text is normalized straight
 * into the key's buffer, which holds normlen + KEY_TAIL bytes, and the
 * rest is written after it; *id points at the identity there. Returns
 * the length (without the last NUL).
 */
#define KEY_TAIL (1 + ID_MAX + 4 + sizeof(((tc_classifier *)0)->topk))
static size_t key_finish(char *k, size_t normlen, const tc_classifier *c,
                         const char **id)
{
    size_t n = normlen;

    k[n++] = '\0';
    *id = k + n;
    if (c->model) {
        tc__model_fingerprint(k + n, c->model);
        /* always TC_FINGERPRINT_LEN hex digits (tc__model_hex128), so
         * not measured: a strlen was a hundredth of an L1 hit */
        n += TC_FINGERPRINT_LEN;
    } else {
        memcpy(k + n, "fn:", 3);
        memcpy(k + n + 3, c->fn_version, c->fn_vlen);
        n += 3 + c->fn_vlen;
    }
    memcpy(k + n, c->topk, c->topk_len + 1);
    return n + c->topk_len;
}

/*
 * The result of a cached value: a packed one is copied out; JSON is
 * packed once and, when ns is given, the L1 entry of key replaced by the
 * packed form (expiry kept), so that the next hit parses nothing. Only
 * classifications are re-formed so: a concurrent writer of the same key
 * writes the same model's answer to it, which an override is not.
 * Returns TC_OK, TC_EPROTO (not a classification) or TC_ENOMEM.
 */
static int answer(tc_result **out, tc_classifier *c, const char *val,
                  size_t len, tc_source src, const char *id, tc__nsrt *ns,
                  const char *key, size_t keylen, int64_t t0)
{
    char *packed;
    size_t plen;
    int rc = tc__result_unpack(out, val, len, src, c->threshold, t0, NULL);

    if (rc != TC_EPROTO) {
        return rc;
    }
    if ((rc = tc__classify_pack_json(&packed, &plen, val, len, id)) != TC_OK) {
        return rc;
    }
    if (ns) {
        tc__cache_l1_reform(c->cache, ns, key, keylen, packed, plen, t0 / 1000);
    }
    rc = tc__result_unpack(out, packed, plen, src, c->threshold, t0, NULL);
    tc__free(packed);
    return rc;
}

/*
 * A computed answer (packed, plen bytes) written to the cache under key.
 * A cache write never fails the classification: its failure is counted
 * and logged by the cache, and the door clears the slot. The L2 gets the
 * JSON, the packed form's first bytes; L1 the whole. hk as
 * tc__cache_set_split's (may be NULL).
 */
static void store_answer(tc_classifier *c, const char *key, size_t keylen,
                         const char *packed, size_t plen, const tc__hkey *hk,
                         int64_t now_ms)
{
    if (!tc__log_on(c->log, TC_LOG_DEBUG)) {
        tc__cache_set_split(c->cache, c->nsh, key, keylen, packed,
                            tc__packed_json_len(packed, plen), plen, hk,
                            now_ms);
    } else if (tc__cache_set(c->cache, c->ns, key, keylen, packed,
                             tc__packed_json_len(packed, plen),
                             TC_TTL_DEFAULT) == TC_OK) {
        /* the same in two writes, the first logged as a cache_set */
        tc__cache_l1_reform(c->cache, c->nsh, key, keylen, packed, plen,
                            tc__now_ms());
    }
}

/*
 * One text whose key is known and whose cache lookup missed; hk: what
 * the lookup learnt of the key (its hash). *sh (sh may be NULL) gets the
 * answer's served hash (count_served), of the key's identity as every
 * packed form's is; 0 below the threshold. With keep (may be NULL), a
 * cacheable answer is not written but handed over in *keep
 * (tc__malloc'd, *keeplen bytes; else NULL), for the caller to write
 * with others.
 */
static int classify_miss(tc_result **out, uint64_t *sh, char **keep,
                         size_t *keeplen, tc_classifier *c, const char *norm,
                         size_t normlen, const char *key, size_t keylen,
                         const char *id, const tc__hkey *hk, int64_t t0)
{
    char *packed;
    size_t plen;
    int cacheable, rc;

    if (keep) {
        *keep = NULL;
    }
    rc = tc__classify_compute(&packed, &plen, &cacheable, c, norm, normlen, id);
    if (rc != TC_OK) {
        return rc;
    }
    if (cacheable && !keep) {
        store_answer(c, key, keylen, packed, plen, hk, t0 / 1000);
    }
    rc = tc__result_unpack(out, packed, plen, TC_SOURCE_MODEL, c->threshold, t0,
                           sh);
    if (cacheable && keep) {
        *keep = packed;
        *keeplen = plen;
    } else {
        tc__free(packed);
    }
    return rc == TC_EPROTO ? TC_EINTERNAL : rc;
}

/* The key material of a text of any length, tc__malloc'd into *key; the
 * normalized text is its first *normlen bytes. */
static int prepare(char **key, size_t *normlen, size_t *keylen, const char **id,
                   tc_classifier *c, const char *text, size_t len)
{
    char *norm;
    int rc;

    *key = NULL;
    if (!text && len) {
        return tc__fail(TC_EINVAL, "text is NULL");
    }
    rc = tc__text_normalize(&norm, normlen, text ? text : "", len);
    if (rc != TC_OK) {
        return tc__fail(rc, "text: %s",
                        rc == TC_EINVAL ? "not valid UTF-8" : tc__strerror(rc));
    }
    if (*normlen == 0) {
        tc__free(norm);
        return tc__fail(TC_EINVAL, "text: empty");
    }
    if (*normlen > SIZE_MAX / 2 || !(*key = tc__malloc(*normlen + KEY_TAIL))) {
        tc__free(norm);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    memcpy(*key, norm, *normlen);
    tc__free(norm);
    *keylen = key_finish(*key, *normlen, c, id);
    return TC_OK;
}

/*
 * tc_classify's prepare for texts that fit its stack buffer: the same key
 * material, the text normalized in place at its start, since allocating
 * and freeing it was a sixth of an L1 hit. key holds SHORT_KEY bytes.
 * Returns 1 when the text or its normal form does not fit (the caller
 * then uses prepare()).
 */
#define SHORT_TEXT 1024
#define SHORT_KEY (SHORT_TEXT + KEY_TAIL)
static int prepare_short(char *key, size_t *normlen, size_t *keylen,
                         const char **id, tc_classifier *c, const char *text,
                         size_t len)
{
    size_t bad;
    int rc;

    if (!text || len >= SHORT_TEXT) {
        return 1;
    }
    rc = tc__normalize_into(key, SHORT_TEXT, normlen, text, len, &bad);
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
    *keylen = key_finish(key, *normlen, c, id);
    return TC_OK;
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
    if (c->counts) {
        tc__cls_count(c->counts, tc__cls_status_of(r),
                      r ? r->latency_us : tc__now_us() - t0);
    }
}

/* How an answer from source counts (served.h). */
static char served_how(tc_source source)
{
    return source == TC_SOURCE_MODEL      ? TC__SERVED_MISS
           : source == TC_SOURCE_FEEDBACK ? TC__SERVED_FEEDBACK
                                          : TC__SERVED_HIT;
}

/* A packed form's served hash (0: none) and how its answer counts, as
 * count_served takes them. */
static inline uint64_t served_key(uint64_t served, char how)
{
    return served ? served + TC__SERVED_HOW(how) : 0;
}

/*
 * An answer for count_intents (served.c), under the model identity of
 * the key material, which follows the normalized text: the classifier's
 * own (served.h), whatever model a host's JSON names, so that its hits
 * and misses count as one. An L1 hit's or a model's answer's packed
 * form gave the pair's hash plus TC__SERVED_HOW(how) (sk, from
 * served_key; else 0), hashed from the key's identity when it was
 * packed, unless the threshold made its intent "unknown": then the
 * strings are hashed here. The common case, a pair this thread counted
 * before, is count_served's alone; the rest is apart, so that the hit
 * path inlines the one and pays no call frame for the other.
 */
static __attribute__((noinline)) void
count_served_new(const tc_classifier *c, const tc_result *r, const char *key,
                 size_t normlen, size_t keylen, uint64_t sk)
{
    const char *id = key + normlen + 1;
    size_t idlen = keylen - normlen - 1 - c->topk_len;
    char how = served_how(r->source);

    if (sk) {
        /* the pair's first count in this thread's stripe */
        tc__served_count_h(c->served, sk - TC__SERVED_HOW(how), id, idlen,
                           r->intent, how);
        return;
    }
    tc__served_count(c->served, id, idlen, r->intent, how);
}

static inline void count_served(const tc_classifier *c, const tc_result *r,
                                const char *key, size_t normlen, size_t keylen,
                                uint64_t sk)
{
    if (!c->served || !r || (sk && tc__served_bump(c->served, sk))) {
        return;
    }
    count_served_new(c, r, key, normlen, keylen, sk);
}

static tc_source tier_source(tc_tier t)
{
    return t == TC_TIER_L1 ? TC_SOURCE_L1 : TC_SOURCE_L2;
}

/* Values up to this size are read into the stack; longer ones are copied
 * to the heap (a classification takes a few hundred bytes). */
#define VAL_BUF 2048

/*
 * The value of key in ns: into buf (VAL_BUF bytes), or into a tc__malloc'd
 * *big when it is longer; *val points at it either way, *tier says where
 * it was found. hk as tc__cache_lookup_into's (may be NULL).
 */
static int lookup(const char **val, size_t *len, char **big, tc_tier *tier,
                  tc__hkey *hk, char *buf, tc_classifier *c, tc__nsrt *ns,
                  const char *key, size_t keylen, int neg, int64_t now_ms)
{
    tc__cache *h = ns == c->fbh ? c->ocache : c->cache;
    int rc = tc__cache_lookup_into(len, tier, hk, buf, VAL_BUF, h, ns, key,
                                   keylen, neg, now_ms);

    *big = NULL;
    *val = buf;
    if (rc == TC_ETOOBIG) {
        /* the first read left it in L1 when it came from L2 */
        tc_tier first = *tier;

        rc = tc__cache_get_ns((void **)big, len, tier, h, ns, key, keylen, neg,
                              now_ms);
        *val = *big;
        if (rc == TC_OK) {
            *tier = first;
        }
    }
    return rc;
}

/* The unpacking of a classification read in place in L1 (tc__l1_use). */
typedef struct hit_ctx {
    tc_result *r;
    double threshold;
    int64_t t0;
    uint64_t served; /* the packed form's served hash, or 0 */
} hit_ctx;

static int unpack_hit(const char *val, size_t len, void *arg)
{
    hit_ctx *x = arg;

    return tc__result_unpack(&x->r, val, len, TC_SOURCE_L1, x->threshold, x->t0,
                             &x->served);
}

/*
 * The hit path: the packed classification of key, unpacked in place in
 * L1, when its note says that the text had no correction at its last
 * lookup and that none can have come since (cache/ns.c: no remembered
 * absence has left the corrections' L1 meanwhile), so that the
 * correction's lookup, a third of a hit, is skipped. Returns 1 with the
 * result in *hit when it answers; else 0, with *hit the result all the
 * same when L1 had one, NULL when not, and in *hk what the peek learnt
 * of the key (its hash; a miss). *sh: the result's served hash, or 0.
 */
static int cached_hit(tc_result **hit, tc__hkey *hk, uint64_t *sh,
                      tc_classifier *c, const char *key, size_t keylen,
                      int64_t t0)
{
    hit_ctx x = {NULL, c->threshold, t0, 0};
    uint64_t note;

    if (tc__cache_peek_use(&note, hk, c->cache, c->nsh, key, keylen, t0 / 1000,
                           unpack_hit, &x) != TC_OK) {
        *hit = NULL;
        return 0;
    }
    *hit = x.r;
    *sh = x.served;
    if (note && tc__cache_absent_still(c->ocache, c->fbh, note, t0 / 1000)) {
        tc__cache_peek_used(c->cache, c->nsh, &hk->hk, 0);
        return 1;
    }
    return 0;
}

/* A cache hit served: a sampled share is checked fresh, off this path. */
static void shadow_maybe(tc_classifier *c, const char *key, size_t keylen,
                         size_t normlen, const tc_result *served)
{
    if (c->shadow && tc__shadow_pick(c->shadow_cut)) {
        tc__shadow_offer(c->shadow, c, key, keylen, normlen, served->intent);
    }
}

/*
 * tc__classify and tc__classify_fallback, one body for both: pop is where
 * the text's request is counted (NULL: nowhere). Not inline in each: two
 * copies made the compiler stop inlining the hit path's helpers into
 * either (84 more instructions a hit).
 */
static int classify_one(tc_result **out, tc_classifier *c, const char *text,
                        size_t len, tc__popular *pop)
{
    char kbuf[SHORT_KEY], vbuf[VAL_BUF], *key = kbuf, *big;
    const char *id = NULL, *val;
    size_t normlen = 0, keylen = 0, vlen;
    int64_t t0 = tc__now_us();
    tc_result *hit;
    tc__hkey hk, fix = {0};
    /* count_served's key; the served hashes of hit and of a miss */
    uint64_t sk = 0, hit_sh = 0, miss_sh = 0;
    tc_tier tier;
    int rc;

    rc = prepare_short(kbuf, &normlen, &keylen, &id, c, text, len);
    if (rc == 1) {
        rc = prepare(&key, &normlen, &keylen, &id, c, text, len);
    }
    if (rc != TC_OK) {
        count(c, NULL, t0);
        return rc;
    }
    tc__popular_count(pop, key, normlen);
    if (cached_hit(&hit, &hk, &hit_sh, c, key, keylen, t0)) {
        *out = hit;
        sk = served_key(hit_sh, TC__SERVED_HIT);
        shadow_maybe(c, key, keylen, normlen, hit);
        goto done;
    }
    /* a correction overrides whatever is cached, in every process; its
     * key material is the normalized text, the key's first bytes */
    rc = lookup(&val, &vlen, &big, &tier, &fix, vbuf, c, c->fbh, key, normlen,
                1, t0 / 1000);
    if (rc == TC_OK) {
        rc = answer(out, c, val, vlen, TC_SOURCE_FEEDBACK, "feedback", NULL,
                    NULL, 0, t0);
        tc__free(big);
        if (rc != TC_EPROTO) {
            tc__free(hit);
            goto done;
        }
    } else if (rc != TC_MISS) {
        tc__free(hit);
        goto done;
    }
    if (hit) {
        /* read before the correction's lookup; noted for the next hit */
        tc__cache_peek_used(c->cache, c->nsh, &hk.hk, fix.absent);
        *out = hit;
        sk = served_key(hit_sh, TC__SERVED_HIT);
        shadow_maybe(c, key, keylen, normlen, hit);
        rc = TC_OK;
        goto done;
    }
    /* the peek's hash, and its miss in L1, stand for this lookup's */
    rc = lookup(&val, &vlen, &big, &tier, &hk, vbuf, c, c->nsh, key, keylen, 0,
                t0 / 1000);
    if (rc == TC_OK) {
        rc = answer(out, c, val, vlen, tier_source(tier), id, c->nsh, key,
                    keylen, t0);
        tc__free(big);
        if (rc == TC_EPROTO) {
            /* not a classification (another writer, or damage): ask */
            rc = classify_miss(out, &miss_sh, NULL, NULL, c, key, normlen, key,
                               keylen, id, &hk, t0);
            sk = served_key(miss_sh, TC__SERVED_MISS);
        } else if (rc == TC_OK) {
            shadow_maybe(c, key, keylen, normlen, *out);
        }
    } else if (rc == TC_MISS) {
        rc = classify_miss(out, &miss_sh, NULL, NULL, c, key, normlen, key,
                           keylen, id, &hk, t0);
        sk = served_key(miss_sh, TC__SERVED_MISS);
    }
done:
    if (rc == TC_OK) {
        count_served(c, *out, key, normlen, keylen, sk);
    }
    if (key != kbuf) {
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

int tc__classify(tc_result **out, tc_classifier *c, const char *text,
                 size_t len)
{
    return classify_one(out, c, text, len, c->pop);
}

int tc__classify_fallback(tc_result **out, tc_classifier *c, const char *text,
                          size_t len)
{
    return classify_one(out, c, text, len, NULL);
}

/*
 * A batch's computed answers (wr[i].val packed, l1lens[i] bytes, its
 * JSON wr[i].len of them) written to the cache in one store round trip,
 * then freed. With the debug log on, one write each, so that each is
 * logged as a cache_set.
 */
static void store_answers(tc_classifier *c, tc_item *wr, size_t *l1lens,
                          size_t n)
{
    size_t i;

    if (!tc__log_on(c->log, TC_LOG_DEBUG)) {
        tc__cache_mset_split(c->cache, c->nsh, wr, l1lens, n);
    }
    for (i = 0; i < n; i++) {
        if (tc__log_on(c->log, TC_LOG_DEBUG)) {
            store_answer(c, wr[i].key, wr[i].keylen, wr[i].val, l1lens[i], NULL,
                         tc__now_ms());
        }
        tc__free(wr[i].val);
    }
}

/*
 * The cache part of a batch: one round trip for the overrides of all
 * valid texts, one for the cached classifications of the rest, the model
 * for what is left, and one for the answers it computed. A text with a
 * correction never reaches the model, so no answer is written beside its
 * correction (whose override, a key of its own, wins every lookup
 * anyway). items[i].key is NULL for a text already failed, else key
 * material (key_finish) whose first normlens[i] bytes are the normalized
 * text.
 */
static int lookup_batch(tc_result **out, int *status, tc_classifier *c,
                        tc_item *items, const size_t *normlens, size_t n,
                        int64_t t0)
{
    tc_item *fb = tc__calloc(n, sizeof(*fb));
    tc_item *rest = tc__calloc(n, sizeof(*rest));
    tc_item *wr = tc__calloc(n, sizeof(*wr)); /* computed: to write */
    size_t *where = tc__calloc(n, sizeof(*where));
    size_t *rwhere = tc__calloc(n, sizeof(*rwhere));
    size_t *l1lens = tc__calloc(n, sizeof(*l1lens));
    size_t nvalid = 0, nrest = 0, nwr = 0, i, j;
    int64_t shared;
    int rc;

    if (!fb || !rest || !wr || !where || !rwhere || !l1lens) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (items[i].key) {
            fb[nvalid].key = items[i].key;
            fb[nvalid].keylen = normlens[i];
            where[nvalid++] = i;
        }
    }
    rc = tc__cache_mget(c->ocache, TC__OVERRIDE_NS, fb, nvalid, 1);
    for (j = 0; rc == TC_OK && j < nvalid; j++) {
        size_t k = where[j];

        if (fb[j].status == TC_OK &&
            answer(&out[k], c, fb[j].val, fb[j].len, TC_SOURCE_FEEDBACK,
                   "feedback", NULL, NULL, 0, t0) == TC_OK) {
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
        /* the model's identity, in the key material after the text */
        const char *id = (const char *)it->key + normlens[k] + 1;
        int st = TC_EPROTO;

        t0 = tc__now_us() - shared;
        if (it->status == TC_OK) {
            st = answer(&out[k], c, it->val, it->len, tier_source(it->tier), id,
                        c->nsh, it->key, it->keylen, t0);
            if (st == TC_OK) {
                shadow_maybe(c, it->key, it->keylen, normlens[k], out[k]);
            }
        }
        if (st == TC_EPROTO) {
            /* a miss, or not a classification (another writer, damage) */
            char *packed;

            st = classify_miss(&out[k], NULL, &packed, &l1lens[nwr], c, it->key,
                               normlens[k], it->key, it->keylen, id, NULL, t0);
            if (packed) {
                wr[nwr].val = packed;
                wr[nwr].key = it->key;
                wr[nwr].keylen = it->keylen;
                wr[nwr].len = tc__packed_json_len(wr[nwr].val, l1lens[nwr]);
                nwr++;
            }
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
    store_answers(c, wr, l1lens, nwr);
done:
    tc__free(fb);
    tc__free(rest);
    tc__free(wr);
    tc__free(where);
    tc__free(rwhere);
    tc__free(l1lens);
    return rc;
}

int tc__classify_batch(tc_result **out, int *status, tc_classifier *c,
                       const char *const *texts, const size_t *lens, size_t n)
{
    size_t *normlens = NULL;
    tc_item *items = NULL;
    int64_t t0 = tc__now_us();
    size_t i;
    int rc;

    if (n == 0) {
        return TC_OK;
    }
    normlens = tc__calloc(n, sizeof(*normlens));
    items = tc__calloc(n, sizeof(*items));
    if (!normlens || !items) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        char *key = NULL;
        size_t keylen = 0;
        const char *kid;
        int st =
            prepare(&key, &normlens[i], &keylen, &kid, c, texts[i], lens[i]);

        if (st == TC_ENOMEM) {
            rc = st;
            goto done;
        }
        if (st == TC_OK) {
            tc__popular_count(c->pop, key, normlens[i]);
        }
        items[i].key = key;
        items[i].keylen = keylen;
        items[i].status = st;
        if (status) {
            status[i] = st;
        }
    }
    rc = lookup_batch(out, status, c, items, normlens, n, t0);
done:
    for (i = 0; items && i < n; i++) {
        if (rc == TC_OK && items[i].key) {
            count_served(c, out[i], items[i].key, normlens[i], items[i].keylen,
                         0);
        }
        tc__free((void *)items[i].key);
    }
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
