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
    uint64_t evictions; /* live entries removed to make room */
    uint64_t expired;   /* expired entries removed by a get or the hand */
} tc__l1_stats;

/*
 * Creates an L1 holding at most max_bytes (values plus per-entry
 * overhead; the bucket arrays are not charged), split evenly among nshards
 * shards (a power of two up to 4096; 0 picks 16, halved while a shard
 * would hold less than 256 KiB). Returns TC_OK, TC_EINVAL (max_bytes 0, a
 * bad shard count) or TC_ENOMEM.
 */
int tc__l1_new(tc__l1 **out, size_t max_bytes, unsigned nshards);
void tc__l1_free(tc__l1 *l1);

/*
 * Copies the value of a live entry (tc__malloc'd, NUL after the last
 * byte) and its remaining TTL in ms; len and ttl_left_ms may be NULL. An
 * entry is live while now_ms < expires_ms. Returns TC_OK, TC_MISS (absent
 * or expired), TC_EINVAL (NULL l1, key or val) or TC_ENOMEM. now_ms is
 * tc__now_ms(). An entry set before min_stored_ms reads as TC_MISS but is
 * kept (INT64_MIN: any age); the cache uses it to cap the age of what it
 * serves while the L2 is unreachable.
 */
int tc__l1_get(tc__l1 *l1, const tc__hash *key, int64_t now_ms,
               int64_t min_stored_ms, char **val, size_t *len,
               int64_t *ttl_left_ms);

/*
 * tc__l1_get without an allocation when buf is big enough: a live value
 * is copied into buf with its NUL when cap > its length; else into a
 * tc__malloc'd *copy when copy is not NULL; else TC_ETOOBIG with *len the
 * value's length, nothing copied. Returns TC_OK, TC_MISS,
 * TC__L1_NEGATIVE, TC_ETOOBIG or TC_ENOMEM; *len and *ttl_left_ms are
 * set only with TC_OK and TC_ETOOBIG, *ttl_left_ms also with
 * TC__L1_NEGATIVE (the absence's time left). For the hot path it checks
 * nothing: l1, key, len and ttl_left_ms must not be NULL, nor buf unless
 * cap is 0. Costs two atomic additions and the copy: no lock, no
 * allocation. (An entry's note is read with its value by tc__l1_use.)
 */
int tc__l1_read(tc__l1 *l1, const tc__hash *key, int64_t now_ms,
                int64_t min_stored_ms, void *buf, size_t cap, char **copy,
                size_t *len, int64_t *ttl_left_ms);

/*
 * tc__l1_read without the copy: fn reads key's live value (len bytes, then
 * a NUL) in place, while the reader is inside, and its return is
 * tc__l1_use's; TC_OK also marks the hit and sets *note (tc__l1_note).
 * Anything but a live value is TC_MISS, left to tc__l1_read. fn must be
 * short (writers of the shard wait for it) and must not call the L1.
 */
typedef int (*tc__l1_use_fn)(const char *val, size_t len, void *arg);
int tc__l1_use(tc__l1 *l1, const tc__hash *key, int64_t now_ms,
               int64_t min_stored_ms, tc__l1_use_fn fn, void *arg,
               uint64_t *note);

/*
 * Whether the L1 is too small to admit any entry (l1_max_bytes below an
 * eighth of one entry's header): it then never holds one, so a caller may
 * skip its reads and fills (batches, with the L1 turned off so).
 */
int tc__l1_stores_nothing(const tc__l1 *l1);

/*
 * Stores a copy of the value until expires_ms (a tc__now_ms() time;
 * INT64_MAX for never), replacing any entry of that key and evicting
 * others (SIEVE) to stay within the budget. A value charged more than an
 * eighth of a shard's budget is not stored (TC_OK: the L1 is a cache). A
 * set that is not stored, or fails, still removes the key's old entry, so
 * L1 never serves a value older than the caller's last write. Returns
 * TC_OK, TC_EINVAL or TC_ENOMEM.
 */
int tc__l1_set(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
               int64_t expires_ms, int64_t now_ms);

/*
 * Remembers that the L2 has no entry for key until expires_ms, so that
 * repeated lookups of an absent key stay in L1. It never replaces a live
 * value: an absence seen before a value was stored must not hide it.
 * tc__l1_get then returns TC__L1_NEGATIVE (val NULL). Returns TC_OK,
 * TC_EINVAL or TC_ENOMEM.
 */
#define TC__L1_NEGATIVE 2
int tc__l1_set_neg(tc__l1 *l1, const tc__hash *key, int64_t expires_ms,
                   int64_t now_ms);

/* Removes an entry; TC_OK when it was there (even expired), TC_MISS when
 * not. */
int tc__l1_del(tc__l1 *l1, const tc__hash *key);

/* Removes every entry. */
void tc__l1_clear(tc__l1 *l1);

void tc__l1_stats_get(tc__l1 *l1, tc__l1_stats *out);

/*
 * Coherence with other processes (cache/track.c). An invalidation of a
 * key, or of everything, moves a sequence that a fill read before its L2
 * read, so that a value read from the L2 before a write elsewhere is not
 * stored after that write's invalidation, which would leave it in L1 for
 * good. Sequences live in 64 slots per shard: an invalidation also turns
 * away the fills of the few other keys of its slot, which then simply
 * read the L2 again.
 */

/* The sequence a fill of key reads before its L2 read. */
uint64_t tc__l1_seq(tc__l1 *l1, const tc__hash *key);

/*
 * tc__l1_set (neg: tc__l1_set_neg, val unused), unless an invalidation
 * of key's slot came after seq was read: then nothing is stored and
 * TC__L1_RACED is returned. Returns TC_OK, TC__L1_RACED, TC_EINVAL or
 * TC_ENOMEM.
 */
#define TC__L1_RACED 3
#define TC__L1_NOSEQ UINT64_MAX /* a seq that checks nothing */
int tc__l1_fill(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                int64_t expires_ms, int64_t now_ms, uint64_t seq, int neg);

/*
 * Another process changed key: moves its slot's sequence and removes a
 * remembered absence. A value is kept and 1 returned: the caller checks
 * it against the L2 and calls tc__l1_drop_unless, so that this process's
 * own write, whose invalidation comes back too, stays in L1. Returns 0
 * when no value is held.
 */
int tc__l1_invalidate(tc__l1 *l1, const tc__hash *key);

/*
 * Replaces key's live value with val (len bytes) when val is that value
 * followed by a NUL and more (a classification's packed form beside it),
 * keeping the entry's expiry; checked and done under the shard's lock, so
 * that an entry an invalidation dropped or checked after the caller read
 * it is not brought back. Returns TC_OK, TC_MISS (no such entry, or
 * another value now) or TC_ENOMEM.
 */
int tc__l1_reform(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                  int64_t now_ms);

/*
 * Stores val for key as tc__l1_set does, but unchecked: a read finds a
 * miss until tc__l1_confirm, so that a value that may be older than an
 * invalidation already handled is never served. Returns TC_OK,
 * TC_EINVAL or TC_ENOMEM.
 */
int tc__l1_set_unchecked(tc__l1 *l1, const tc__hash *key, const void *val,
                         size_t len, int64_t expires_ms, int64_t now_ms,
                         uint64_t *stamp);

/* Ends the check of the unchecked entry *stamp named: served from now on
 * when it holds val (as tc__l1_drop_unless matches), else removed (val
 * NULL: the L2 read failed). Any other entry of key is left alone. */
void tc__l1_confirm(tc__l1 *l1, const tc__hash *key, uint64_t stamp,
                    const void *val, size_t len);

/* Whether key's live, checked entry holds exactly val (len bytes). */
int tc__l1_holds(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                 int64_t now_ms);

/* Removes key's entry unless it holds val, alone or followed by a NUL and
 * what this process keeps beside it (NULL: removes it). */
void tc__l1_drop_unless(tc__l1 *l1, const tc__hash *key, const void *val,
                        size_t len);

/* Moves every sequence, then removes every entry. */
void tc__l1_invalidate_all(tc__l1 *l1);

/*
 * The absence epoch: a count that moves whenever a remembered absence
 * (tc__l1_set_neg, a negative fill) may have left the table (removed,
 * replaced, evicted, expired, cleared), and when the owner bumps it. An
 * absence read while the epoch was E is therefore still in the table,
 * until its expiry, for as long as the epoch reads E: a caller may then
 * skip the lookup (classify's corrections, cache/ns.c).
 */
uint64_t tc__l1_absence_epoch(tc__l1 *l1);
void tc__l1_absence_bump(tc__l1 *l1);

/*
 * Leaves note on key's live value (none for an absence, or no entry),
 * which tc__l1_read hands back with the value until the entry is
 * replaced. A reader's call: the shared lock, one store when it changes.
 */
void tc__l1_note(tc__l1 *l1, const tc__hash *key, uint64_t note);

#endif /* TC_L1_H */
