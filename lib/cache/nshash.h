/*
 * nshash.h - a namespace's key hash with its seed remembered, inline in
 * the two files that hash keys on the hot path (cache.c, ns.c), so that
 * a lookup hashes its key once and calls nothing to do it.
 */
#ifndef TC_NSHASH_H
#define TC_NSHASH_H

#include <string.h>

#include <xxhash.h>

#include "cache/tiers.h"

/*
 * The seed tc__key_hash derives from the prefix and the generation: kept
 * for the last generation seen, since it changes only on an
 * invalidation. A writer that loses the race to update it just uses what
 * it computed.
 */
static inline uint64_t tc__ns_seed(tc__nsrt *ns, uint64_t gen)
{
    tc__seedc *c = &ns->seed;
    uint64_t s1 = atomic_load_explicit(&c->seq, memory_order_acquire);
    uint64_t g, seed;
    const char *prefix;

    if (s1 != 0 && !(s1 & 1)) {
        g = atomic_load_explicit(&c->gen, memory_order_relaxed);
        seed = atomic_load_explicit(&c->seed, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (g == gen &&
            atomic_load_explicit(&c->seq, memory_order_relaxed) == s1) {
            return seed;
        }
    }
    prefix = ns->def->prefix;
    seed = XXH3_64bits_withSeed(prefix, strlen(prefix), gen);
    if (!(s1 & 1) && atomic_compare_exchange_strong(&c->seq, &s1, s1 + 1)) {
        atomic_store_explicit(&c->gen, gen, memory_order_relaxed);
        atomic_store_explicit(&c->seed, seed, memory_order_relaxed);
        atomic_store_explicit(&c->seq, s1 + 2, memory_order_release);
    }
    return seed;
}

/* tc__key_hash(ns's prefix, gen, key), with the seed remembered: the
 * same hash (check_cache_ns reads by handle what was set by name). */
static inline void tc__ns_hash(tc__hash *out, tc__nsrt *ns, uint64_t gen,
                               const void *key, size_t keylen)
{
    XXH128_hash_t h;

    if (ns->ksec) {
        tc__key_hash(out, ns->def->prefix, gen, key, keylen, ns->ksec);
        return;
    }
    h = XXH3_128bits_withSeed(key, keylen, tc__ns_seed(ns, gen));
    out->lo = h.low64;
    out->hi = h.high64;
}

#endif
