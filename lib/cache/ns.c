/*
 * ns.c - reads through a namespace handle: the name is resolved once by
 * tc__cache_ns_find, the key hashed once with a seed remembered per
 * generation, and an L1 hit copied into the caller's buffer under the
 * shard's shared lock, so the hit path compares no string, takes no
 * exclusive lock and allocates nothing. A miss falls back to the common
 * L1-then-L2 lookup of cache.c. Also classify's hit path: a read of L1
 * alone (peek), and the notes that let it skip a lookup whose answer, a
 * remembered absence, cannot have changed.
 */
#include <string.h>

#include "cache/l1_shard.h"
#include "cache/nshash.h"

int tc__cache_ns_find(tc__nsrt **out, tc__cache *h, const char *name)
{
    return tc__cache_ns(h, name, out);
}

/* by address, as integers: pointers into two arrays do not compare */
static int owns(const tc__cache *h, const tc__nsrt *ns)
{
    uintptr_t p = (uintptr_t)ns, first = (uintptr_t)h->ns;

    return p - first < h->ns_bytes;
}

tc__cache *tc__cache_ns_owner(tc__cache *a, tc__cache *b, const tc__nsrt *ns)
{
    if (owns(a, ns)) {
        return a;
    }
    return b && owns(b, ns) ? b : NULL;
}

/*
 * A note (l1.h's tc__l1_note) that says a key is absent: the L1's
 * absence epoch when the absence was read, in the top 24 bits, and until
 * when the absence lasts, in milliseconds since the cache opened, in the
 * other 40 (34 years; a later expiry is cut there, which is only ever
 * earlier). 0 is no note. The epoch would have to move a multiple of
 * 2^24 times within one absence's TTL for an old note to pass.
 */
#define NOTE_TIME_BITS 40
#define NOTE_TIME_MASK ((UINT64_C(1) << NOTE_TIME_BITS) - 1)

static uint64_t absence_note(const tc__cache *h, uint64_t epoch,
                             int64_t until_ms)
{
    int64_t rel = until_ms - h->opened_ms;

    if (rel <= 0) {
        return 0;
    }
    if ((uint64_t)rel > NOTE_TIME_MASK) {
        rel = (int64_t)NOTE_TIME_MASK;
    }
    return epoch << NOTE_TIME_BITS | (uint64_t)rel;
}

int tc__cache_absent_still(tc__cache *h, tc__nsrt *ns, uint64_t note,
                           int64_t now_ms)
{
    uint64_t epoch = tc__l1_absence_epoch(h->l1), gen;

    if (note >> NOTE_TIME_BITS != (epoch & (UINT64_MAX >> NOTE_TIME_BITS)) ||
        now_ms - h->opened_ms >= (int64_t)(note & NOTE_TIME_MASK) ||
        tc__log_on(&h->log, TC_LOG_DEBUG) ||
        !tc__cache_gen_fresh(&gen, h, ns, now_ms)) {
        return 0;
    }
    CNT(ns, misses); /* as the lookup it stands for counts */
    return 1;
}

int tc__cache_peek_use(uint64_t *note, tc__hkey *hk, tc__cache *h, tc__nsrt *ns,
                       const void *key, size_t keylen, int64_t now_ms,
                       tc__l1_use_fn fn, void *arg)
{
    uint64_t gen;
    int rc;

    *note = 0;
    memset(hk, 0, sizeof(*hk));
    if (!h->cfg.enable_caching || tc__log_on(&h->log, TC_LOG_DEBUG) ||
        !tc__cache_gen_fresh(&gen, h, ns, now_ms)) {
        return TC_MISS;
    }
    tc__ns_hash(&hk->hk, ns, gen, key, keylen);
    hk->gen = gen;
    hk->known = 1;
    rc = tc__l1_use_in(h->l1, &hk->hk, now_ms, tc__cache_l1_floor(h, now_ms),
                       fn, arg, note);
    hk->missed = rc == TC_MISS;
    return rc;
}

void tc__cache_peek_used(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                         uint64_t note)
{
    CNT(ns, l1_hits);
    if (note) {
        tc__l1_note(h->l1, hk, note);
    }
}

/* The body of both reads into a buffer, inline in each: the door's, with
 * no hk and no neg, then has none of their tests on its path. */
static TC__INLINE int get_into(size_t *len, tc_tier *tier, tc__hkey *hk,
                               void *buf, size_t cap, tc__cache *h,
                               tc__nsrt *ns, const void *key, size_t keylen,
                               int neg, int64_t now_ms)
{
    int64_t left;
    uint64_t gen, epoch = 0;
    tc__hash own;
    void *val;
    int rc, skip = 0;

    *len = 0;
    *tier = TC_TIER_NONE;
    if (hk && neg) {
        hk->absent = 0;
        /* before the read: an absence that leaves after it moves it */
        epoch = tc__l1_absence_epoch(h->l1);
    }
    if (h->cfg.enable_caching && !tc__log_on(&h->log, TC_LOG_DEBUG) &&
        tc__cache_gen_fresh(&gen, h, ns, now_ms)) {
        if (hk && hk->known && hk->gen == gen) {
            own = hk->hk;
            /* a miss seen at this generation: a value stored since would
             * be a bonus, not a due, and an absence matters only with
             * neg */
            skip = hk->missed && !neg;
        } else {
            tc__ns_hash(&own, ns, gen, key, keylen);
            if (hk) {
                hk->hk = own;
                hk->gen = gen;
                hk->known = 1;
                hk->missed = 0;
            }
        }
        rc = skip ? TC_MISS
                  : tc__l1_read_in(h->l1, &own, now_ms,
                                   tc__cache_l1_floor(h, now_ms), buf, cap,
                                   NULL, len, &left);
        if (rc == TC_OK || rc == TC_ETOOBIG) {
            CNT(ns, l1_hits);
            *tier = TC_TIER_L1;
            return rc == TC_OK
                       ? TC_OK
                       : tc__fail(rc, "value of %zu bytes, buffer of %zu", *len,
                                  cap);
        }
        if (hk && neg && rc == TC__L1_NEGATIVE) {
            hk->absent = absence_note(h, epoch, now_ms + left);
        } else if (hk && neg && rc == TC_MISS && !h->store) {
            hk->absent = absence_note(h, epoch, INT64_MAX / 2);
        }
        if ((rc == TC__L1_NEGATIVE && neg) || (rc == TC_MISS && !h->store)) {
            CNT(ns, misses); /* known absent, or there is no L2 to ask */
            return TC_MISS;
        }
    }
    /* L2, the debug log or no caching: the common path, then a copy */
    rc = tc__cache_get_ns(&val, len, tier, h, ns, key, keylen, neg, now_ms);
    if (rc != TC_OK) {
        return rc;
    }
    if (*len < cap) {
        memcpy(buf, val, *len + 1);
    } else {
        rc = tc__fail(TC_ETOOBIG, "value of %zu bytes, buffer of %zu", *len,
                      cap);
    }
    tc__free(val);
    return rc;
}

int tc__cache_get_into(size_t *len, tc_tier *tier, void *buf, size_t cap,
                       tc__cache *h, tc__nsrt *ns, const void *key,
                       size_t keylen, int64_t now_ms)
{
    return get_into(len, tier, NULL, buf, cap, h, ns, key, keylen, 0, now_ms);
}

int tc__cache_lookup_into(size_t *len, tc_tier *tier, tc__hkey *hk, void *buf,
                          size_t cap, tc__cache *h, tc__nsrt *ns,
                          const void *key, size_t keylen, int neg,
                          int64_t now_ms)
{
    return get_into(len, tier, hk, buf, cap, h, ns, key, keylen, neg, now_ms);
}

int tc__cache_l1_reform(tc__cache *h, tc__nsrt *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        int64_t now_ms)
{
    tc__hash hk;

    if (!h->cfg.enable_caching) {
        return TC_MISS;
    }
    tc__ns_hash(&hk, ns, tc__cache_gen(h, ns, now_ms), key, keylen);
    return tc__l1_reform(h->l1, &hk, val, len, now_ms);
}

int tc__cache_set_split(tc__cache *h, tc__nsrt *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        size_t l1len, const tc__hkey *known, int64_t now_ms)
{
    uint64_t gen;
    tc__hash hk;

    if (!h->cfg.enable_caching) {
        return TC_OK;
    }
    if (l1len > TC__MAX_VALUE_BYTES || len > l1len) {
        return tc__fail(TC_ETOOBIG, "value of %zu bytes (at most %zu)", l1len,
                        TC__MAX_VALUE_BYTES);
    }
    gen = tc__cache_gen(h, ns, now_ms);
    if (known && known->known && known->gen == gen) {
        hk = known->hk;
    } else {
        tc__ns_hash(&hk, ns, gen, key, keylen);
    }
    return tc__cache_store_split(h, ns, &hk, val, len, l1len, ns->def->ttl_ms);
}
