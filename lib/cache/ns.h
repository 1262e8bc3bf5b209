/*
 * ns.h - namespaces resolved once: the handle (struct tc_ns, tiers.h) a
 * caller looks up by name and then passes on every call, so that a hit
 * compares no strings, and the reads that take it, one of which copies
 * into the caller's buffer so that a hit allocates nothing.
 */
#ifndef TC_NS_H
#define TC_NS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/internal.h"
#include "cache/l1.h"

typedef struct tc__cache tc__cache;
typedef struct tc_ns tc__nsrt;

/*
 * The seed of a namespace's key hash for its current generation, so that
 * a lookup hashes its key once (tc__key_hash hashes the prefix too). A
 * sequence lock keeps generation and seed a pair: odd while written,
 * zero before the first write.
 */
typedef struct tc__seedc {
    _Atomic uint64_t seq;
    _Atomic uint64_t gen;
    _Atomic uint64_t seed;
} tc__seedc;

/* The namespace called name (the handle lives as long as h), or
 * TC_ENONS with the error slot set. */
int tc__cache_ns_find(tc__nsrt **out, tc__cache *h, const char *name);

/* Which of a and b (b may be NULL) ns is a namespace of, or NULL: a
 * handle from another cache, or a pointer that is no handle at all, is a
 * caller's mistake. ns is compared by address and never read. One call
 * for both caches, where a door asked each and then again. */
tc__cache *tc__cache_ns_owner(tc__cache *a, tc__cache *b, const tc__nsrt *ns);

/*
 * What one call learnt of a key in a namespace, so that its later steps
 * do not learn it again: the key's hash for the generation it was made
 * with (known), and whether L1 held no live value of it then (missed).
 * Carried by classify from the L1 peek of a text to its lookup and to
 * the store of the model's answer, which hashed the same key three times
 * and looked it up in L1 twice. Zeroed: nothing known. A lookup also
 * leaves in it a note of the key's absence (tc__cache_get_into), one
 * argument fewer on a path where every one costs a hit instructions.
 */
typedef struct tc__hkey {
    tc__hash hk;
    uint64_t gen;
    uint64_t absent; /* a lookup's note of an absence (with neg), or 0 */
    int known;       /* hk is the key's hash for generation gen */
    int missed;      /* L1 held no live value of the key at gen */
} tc__hkey;

/* tc__cache_get for a resolved namespace (cache.c). */
int tc__cache_get_ns(void **val, size_t *len, tc_tier *tier, tc__cache *h,
                     tc__nsrt *ns, const void *key, size_t keylen, int neg,
                     int64_t now_ms);

/*
 * tc_cache_get_into: the value copied into buf with a NUL after it when
 * cap > its length; else TC_ETOOBIG with *len the length needed (the
 * value is not lost: a larger buffer gets it from L1). *len and *tier are
 * set on entry.
 */
int tc__cache_get_into(size_t *len, tc_tier *tier, void *buf, size_t cap,
                       tc__cache *h, tc__nsrt *ns, const void *key,
                       size_t keylen, int64_t now_ms);

/*
 * tc__cache_get_into for classify's lookups: neg as tc__cache_get; hk
 * (may be NULL) is what the caller learnt of key before (tc__hkey): a
 * hash it knows for the current generation is not computed again, and a
 * miss in L1 it saw then (with neg 0) is not looked up again; else the
 * hash is left in it. With neg, hk->absent gets a note
 * (tc__cache_absent_still) when the miss was one L1 knew of (a
 * remembered absence, or no entry in a cache without L2), else 0.
 */
int tc__cache_lookup_into(size_t *len, tc_tier *tier, tc__hkey *hk, void *buf,
                          size_t cap, tc__cache *h, tc__nsrt *ns,
                          const void *key, size_t keylen, int neg,
                          int64_t now_ms);

/*
 * Whether the lookup a note of tc__cache_lookup_into (hk->absent) stands
 * for
 * would still miss in L1 at now_ms: no absence left L1 since (its
 * absence epoch, l1.h), the absence has not expired, and the generation
 * needs no re-read. Then the miss is counted as that lookup counts it,
 * and 1 returned; else 0, and the caller looks up. Costs a few loads.
 */
int tc__cache_absent_still(tc__cache *h, tc__nsrt *ns, uint64_t note,
                           int64_t now_ms);

/*
 * The L1 part of tc__cache_get_into alone, with nothing copied and
 * nothing counted: fn reads the value in place (tc__l1_use) and its
 * return is this one's, TC_OK also setting the value's note (tc__l1_note,
 * 0: none); TC_MISS when there is no live value in L1, caching is off,
 * the debug log on or the generation due for a re-read, the caller then
 * taking the common path. *hk is zeroed, then gets the key's hash when
 * L1 was asked, and missed when it held no live value. tc__cache_peek_used
 * counts a value the caller answers with as an L1 hit, and leaves note on
 * it when not 0.
 */
int tc__cache_peek_use(uint64_t *note, tc__hkey *hk, tc__cache *h, tc__nsrt *ns,
                       const void *key, size_t keylen, int64_t now_ms,
                       tc__l1_use_fn fn, void *arg);
void tc__cache_peek_used(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                         uint64_t note);

/*
 * tc__cache_set with the namespace's TTL for a value whose first len
 * bytes the L2 gets and all l1len bytes L1 (classify's packed form: its
 * JSON, then the result decoded). The debug log of cache operations does
 * not see it. hk (may be NULL): a hash of key known for the current
 * generation is used as it is. Returns as tc__cache_set.
 */
int tc__cache_set_split(tc__cache *h, tc__nsrt *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        size_t l1len, const tc__hkey *hk, int64_t now_ms);

/*
 * tc__cache_set_split for n values of ns in one store round trip
 * (batch.c): items[i] as tc_cache_mset takes them (ttl_ms 0: the
 * namespace's), its value's first len bytes for the L2 and all l1lens[i]
 * for L1. A write the store fails is kept in L1 for the degraded cap and
 * counted, never returned; each items[i].status says how its write went.
 * Returns TC_OK, TC_EINVAL, TC_ETOOBIG or TC_ENOMEM.
 */
int tc__cache_mset_split(tc__cache *h, tc__nsrt *ns, tc_item *items,
                         const size_t *l1lens, size_t n);

/* tc__cache_store_one (tiers.h) with l1len bytes of val for L1 (cache.c). */
int tc__cache_store_split(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                          const void *val, size_t len, size_t l1len,
                          int64_t ttl);

/*
 * Replaces the L1 value of key with another form of the same answer (a
 * classification decoded once, beside its JSON), keeping the entry's
 * expiry, so that the L1 never keeps it longer than the value it
 * replaces would have been kept. Nothing happens when there is no live
 * entry, or when the entry holds another answer now (an invalidation came
 * since the caller read it). Returns TC_OK, TC_MISS or TC_ENOMEM.
 */
int tc__cache_l1_reform(tc__cache *h, tc__nsrt *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        int64_t now_ms);

#endif
