/*
 * cache.h - the tiered cache as the layers above it use it: the doors of
 * lib/api/ call these after checking their arguments (handles and out
 * pointers non-NULL), and classify and feedback are handed a tc__cache
 * once, when they are set up. Every call that fails records why in the
 * calling thread's error slot (tc__fail) and never clears it.
 */
#ifndef TC_CACHE_H
#define TC_CACHE_H

#include "base/config.h"
#include "base/internal.h"
#include "base/seal.h"
#include "cache/l1.h"
#include "store/store.h"

typedef struct tc__cache tc__cache;

/* Reads the configuration (options, file, environment) and opens the
 * store. */
int tc__cache_open(tc__cache **out, const tc_options *opt);
/*
 * The same configuration with feedback's own store (feedback_store) as
 * its L2: the cache of a handle's feedback and of corrections' overrides,
 * apart from an L2 that may evict them. TC_EINVAL when none is
 * configured; else as tc__cache_open.
 */
int tc__cache_open_fb(tc__cache **out, const tc_options *opt);
void tc__cache_close(tc__cache *h);

/* tc_cache_get, at a time the caller read (tc__now_ms()), so that the two
 * lookups of a classification share one clock read. With neg, it also
 * remembers an L2 miss in L1 for the namespace's L1 TTL, so that a key
 * usually absent (a feedback override) costs an L1 lookup, not an L2
 * round trip; a value stored later through tc__cache_set replaces the
 * remembered absence at once in this process, other processes see it
 * within the L1 TTL. */
int tc__cache_get(void **val, size_t *len, tc_tier *tier, tc__cache *h,
                  const char *ns, const void *key, size_t keylen, int neg,
                  int64_t now_ms);
int tc__cache_set(tc__cache *h, const char *ns, const void *key, size_t keylen,
                  const void *val, size_t len, int64_t ttl_ms);
int tc__cache_del(tc__cache *h, const char *ns, const void *key, size_t keylen);
/* flight.c */
int tc__cache_get_or_load(void **val, size_t *len, tc_tier *tier, tc__cache *h,
                          const char *ns, const void *key, size_t keylen,
                          tc_loader_fn loader, void *ud);
/* batch.c; mget with neg as tc__cache_get */
int tc__cache_mget(tc__cache *h, const char *ns, tc_item *items, size_t n,
                   int neg);
int tc__cache_mset(tc__cache *h, const char *ns, tc_item *items, size_t n);
int tc__cache_invalidate(tc__cache *h, const char *ns);
/* The L2 key of key in ns; buf holds TC_KEY_MAX bytes. */
int tc__cache_key(char *buf, tc__cache *h, const char *ns, const void *key,
                  size_t keylen);
int tc__cache_ping(tc__cache *h, int64_t *latency_us);
/* A namespace's counters; TC_ENONS when there is no such namespace. */
int tc__cache_stats(tc_ns_stats *out, tc__cache *h, const char *ns);

/*
 * A value the caller is about to write to the L2 itself (a feedback
 * override, in the store's own transaction), in this process's L1 (the
 * namespace's L1 TTL) by the rule of the cache's own writes (track.c):
 * tc__cache_l1_before stores it before the write is sent, so that the
 * invalidation of any write of the key handled from then on, ours or
 * another process's, finds it held and checks it against the L2;
 * tc__cache_l1_after then says how the write went: TC__L1W_WROTE (in the
 * L2: kept, or stored again as a checked fill when a check dropped it),
 * TC__L1W_KEEP (not in the L2 but kept, as a spooled correction is) or
 * TC__L1W_UNDO (not written: removed). w carries what the second call
 * needs; its ns is NULL when nothing was stored.
 */
typedef struct tc__cache_l1w {
    struct tc_ns *ns;
    tc__hash hk;
    uint64_t seq;
    int64_t exp, now;
} tc__cache_l1w;

enum { TC__L1W_WROTE, TC__L1W_KEEP, TC__L1W_UNDO };

void tc__cache_l1_before(tc__cache *h, tc__cache_l1w *w, const char *ns,
                         const void *key, size_t keylen, const void *val,
                         size_t len);
void tc__cache_l1_after(tc__cache *h, tc__cache_l1w *w, const void *val,
                        size_t len, int how);

/* ---- what the layers above are handed when they are set up ------------ */

const tc__config *tc__cache_config(const tc__cache *h);
const tc__logger *tc__cache_logger(const tc__cache *h);
/* The L2, or NULL for memory:; under the sealing of seal_store.c, so
 * that feedback, which seals its own records, reaches its operations. */
tc__store *tc__cache_store(tc__cache *h);
/* The keys of encryption at rest and keyed hashes; NULL: none set. */
const tc__keyring *tc__cache_keys(const tc__cache *h);
/* Sealed things that did not open, by kind: L2 values (seal_store.c)
 * and feedback records (feedback/fbseal.c). */
enum { TC__SEAL_L2, TC__SEAL_FEEDBACK, TC__SEAL_NKINDS };
uint64_t tc__cache_seal_failures(tc__cache *h, int kind);
void tc__cache_seal_failed(tc__cache *h, int kind);
/* "redis", "lmdb" or "memory". */
const char *tc__cache_store_kind(const tc__cache *h);
/* Marks the L2 up (rc TC_OK/TC_MISS) or down (unreachable, timeout). */
void tc__cache_l2_state(tc__cache *h, int rc);
/* L1 statistics, and the store's health; returns 0 when there is no L2
 * (memory:), and hl is then zeroed. */
int tc__cache_health(tc__cache *h, tc__l1_stats *l1, tc__store_health *hl);

/*
 * L2 writes that failed, by reason: the store was full (Redis' maxmemory
 * under noeviction, an LMDB map), refused the size, or was not reached.
 * Every one is the store's failure, never the caller's: the value stays
 * in L1 for the degraded cap and the call succeeds.
 */
enum {
    TC__WRITE_FULL,
    TC__WRITE_TOOBIG,
    TC__WRITE_UNAVAIL,
    TC__WRITE_NREASONS
};
extern const char *const tc__write_reasons[TC__WRITE_NREASONS];
uint64_t tc__cache_write_errors(const tc__cache *h, int reason);

/* "l1", "l2", "loader" or "miss". */
const char *tc__tier_name(tc_tier tier);

#endif
