/*
 * ns.c - reads through a namespace handle: the name is resolved once by
 * tc__cache_ns_find, the key hashed once with a seed remembered per
 * generation, and an L1 hit copied into the caller's buffer under the
 * shard's shared lock, so the hit path compares no string, takes no
 * exclusive lock and allocates nothing. A miss falls back to the common
 * L1-then-L2 lookup of cache.c.
 */
#include <string.h>

#include "cache/nshash.h"

int tc__cache_ns_find(tc__nsrt **out, tc__cache *h, const char *name)
{
    return tc__cache_ns(h, name, out);
}

int tc__cache_ns_owns(const tc__cache *h, const tc__nsrt *ns)
{
    /* by address, as integers: pointers into two arrays do not compare */
    uintptr_t p = (uintptr_t)ns, first = (uintptr_t)h->ns;

    return p >= first && p < first + h->nns * sizeof(*h->ns);
}

int tc__cache_get_into(size_t *len, tc_tier *tier, void *buf, size_t cap,
                       tc__cache *h, tc__nsrt *ns, const void *key,
                       size_t keylen, int neg, int64_t now_ms)
{
    int64_t left;
    uint64_t gen;
    tc__hash hk;
    void *val;
    int rc;

    *len = 0;
    *tier = TC_TIER_NONE;
    if (h->cfg.enable_caching && !tc__log_on(&h->log, TC_LOG_DEBUG) &&
        tc__cache_gen_fresh(&gen, h, ns, now_ms)) {
        tc__ns_hash(&hk, ns, gen, key, keylen);
        rc = tc__l1_read(h->l1, &hk, now_ms, tc__cache_l1_floor(h, now_ms),
                         buf, cap, NULL, len, &left);
        if (rc == TC_OK || rc == TC_ETOOBIG) {
            CNT(ns, l1_hits);
            *tier = TC_TIER_L1;
            return rc == TC_OK
                       ? TC_OK
                       : tc__fail(rc, "value of %zu bytes, buffer of %zu",
                                  *len, cap);
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
                        size_t l1len, int64_t now_ms)
{
    tc__hash hk;

    if (!h->cfg.enable_caching) {
        return TC_OK;
    }
    if (l1len > TC__MAX_VALUE_BYTES || len > l1len) {
        return tc__fail(TC_ETOOBIG, "value of %zu bytes (at most %zu)", l1len,
                        TC__MAX_VALUE_BYTES);
    }
    tc__ns_hash(&hk, ns, tc__cache_gen(h, ns, now_ms), key, keylen);
    return tc__cache_store_split(h, ns, &hk, val, len, l1len, ns->def->ttl_ms);
}
