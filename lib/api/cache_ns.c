/*
 * cache_ns.c - the doors of the namespace handle and of the reads that
 * take one: the name is resolved once, and a get copies into the
 * caller's buffer, so a hit in L1 compares no string and allocates
 * nothing.
 */
#include "api/handle.h"
#include "cache/ns.h"

TC_API int tc_ns_find(tc_ns **out, tc_cache *h, const char *name)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !h || !name) {
        return tc__fail(TC_EINVAL, "out, the handle or name is NULL");
    }
    return tc__cache_ns_find(out, tc__core_of(h, name), name);
}

/* The arguments both reads check, and the cache that owns ns into
 * *core (tc_ns_find gave the overrides' from the feedback store's
 * cache). */
static inline int ns_args(tc__cache **core, const tc_cache *h, const tc_ns *ns,
                          const void *key, size_t keylen)
{
    if (!h || !ns) {
        return tc__fail(TC_EINVAL, "the handle or namespace is NULL");
    }
    if (!key && keylen) {
        return tc__fail(TC_EINVAL, "key is NULL with length %zu", keylen);
    }
    if (!(*core = tc__cache_ns_owner(h->core, h->fbcore, ns))) {
        return tc__fail(TC_EINVAL, "the namespace is not this cache's");
    }
    return TC_OK;
}

TC_API int tc_cache_get_ns(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                           tc_ns *ns, const void *key, size_t keylen)
{
    tc__cache *core = NULL;
    int rc;

    tc__get_reset(val, len, tier);
    tc__clear();
    if ((rc = ns_args(&core, h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    if (!val || !len) {
        return tc__fail(TC_EINVAL, "val or len is NULL");
    }
    return tc__cache_get_ns(val, len, tier, core, ns, key, keylen, 0,
                            tc__now_ms());
}

TC_API int tc_cache_get_into(void *buf, size_t cap, size_t *len, tc_tier *tier,
                             tc_cache *h, tc_ns *ns, const void *key,
                             size_t keylen)
{
    tc__cache *core = NULL;
    tc_tier t;
    int rc;

    if (!tier) {
        tier = &t;
    }
    if (len) {
        *len = 0;
    }
    *tier = TC_TIER_NONE;
    tc__clear();
    if ((rc = ns_args(&core, h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    if (!len || (!buf && cap)) {
        return tc__fail(TC_EINVAL, "len is NULL, or buf is NULL with cap %zu",
                        cap);
    }
    return tc__cache_get_into(len, tier, buf, cap, core, ns, key, keylen,
                              tc__now_ms());
}
