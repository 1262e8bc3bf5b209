/*
 * cache_internal.h - what the layers above the cache (classify.c,
 * feedback.c) may see of a handle beyond the public API: its store,
 * configuration and logger, and a way to report how the L2 answered.
 */
#ifndef TC_CACHE_INTERNAL_H
#define TC_CACHE_INTERNAL_H

#include "config.h"
#include "l1.h"
#include "metrics.h"
#include "store.h"

/* The L2, or NULL for memory:. */
tc__store *tc__cache_store(tc_cache *h);
const tc__config *tc__cache_config(const tc_cache *h);
const tc__logger *tc__cache_logger(const tc_cache *h);
/* The handle's metrics, or NULL when they are off (TC_OPT_NO_METRICS). */
tc__metrics *tc__cache_metrics(const tc_cache *h);
/* L1 statistics, and the store's health; returns 0 when there is no L2
 * (memory:), and hl is then zeroed. */
int tc__cache_health(tc_cache *h, tc__l1_stats *l1, tc__store_health *hl);

/* Marks the L2 up (rc TC_OK/TC_MISS) or down (unreachable, timeout). */
void tc__cache_l2_state(tc_cache *h, int rc);

/*
 * tc_cache_get at a time the caller read (tc__now_ms()), so that the two
 * lookups of a classification share one clock read. With neg, it also
 * remembers an L2 miss in L1 for the namespace's L1 TTL, so that a key
 * usually absent (a feedback override) costs an L1 lookup, not an L2
 * round trip; a value stored later through tc_cache_set replaces the
 * remembered absence at once in this process, other processes see it
 * within the L1 TTL. tc__cache_mget_neg is tc_cache_mget with neg.
 */
int tc__cache_get_at(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                     const char *ns, const void *key, size_t keylen, int neg,
                     int64_t now_ms);
int tc__cache_mget_neg(tc_cache *h, const char *ns, tc_item *items, size_t n);

/*
 * Stores a value in this process's L1 only (the namespace's L1 TTL), for a
 * caller that has just written the same value to the L2 itself (a
 * feedback override, in the store's own transaction).
 */
int tc__cache_l1_set(tc_cache *h, const char *ns, const void *key,
                     size_t keylen, const void *val, size_t len);

#endif
