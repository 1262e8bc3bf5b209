/*
 * l1.h - the in-process cache: sharded, bounded by bytes, TTL-aware.
 * Keys are fixed 16-byte hashes (key.c), so an entry is one allocation
 * holding its key, bookkeeping and value.
 */
#ifndef TC_L1_H
#define TC_L1_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc__hash {
    uint64_t lo, hi; /* XXH3-128 of the namespace-scoped key material */
} tc__hash;

typedef struct tc__l1 tc__l1;

typedef struct tc__l1_stats {
    uint64_t bytes; /* bytes charged: values plus per-entry overhead */
    uint64_t entries;
    uint64_t evictions;
    uint64_t expired;
} tc__l1_stats;

/*
 * Creates an L1 holding at most max_bytes (values plus per-entry
 * overhead), split evenly among nshards shards (a power of two; 0 picks a
 * default). Returns TC_OK, TC_EINVAL or TC_ENOMEM.
 */
int tc__l1_new(tc__l1 **out, size_t max_bytes, unsigned nshards);
void tc__l1_free(tc__l1 *l1);

/*
 * Copies the value of a live entry (tc__malloc'd, NUL after the last
 * byte) and its remaining TTL in ms. Returns TC_OK, TC_MISS (absent or
 * expired) or TC_ENOMEM. now_ms is tc__now_ms().
 */
int tc__l1_get(tc__l1 *l1, const tc__hash *key, int64_t now_ms, char **val,
               size_t *len, int64_t *ttl_left_ms);

/*
 * Stores a copy of the value until expires_ms (a tc__now_ms() time),
 * replacing any entry of that key and evicting others to stay within the
 * budget. A value larger than a shard's budget is not stored (TC_OK: the
 * L1 is a cache). Returns TC_OK or TC_ENOMEM.
 */
int tc__l1_set(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
               int64_t expires_ms, int64_t now_ms);

/* Removes an entry; TC_OK when it was there, TC_MISS when not. */
int tc__l1_del(tc__l1 *l1, const tc__hash *key);

/* Removes every entry. */
void tc__l1_clear(tc__l1 *l1);

void tc__l1_stats_get(tc__l1 *l1, tc__l1_stats *out);

#endif /* TC_L1_H */
