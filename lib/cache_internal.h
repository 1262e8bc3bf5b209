/*
 * cache_internal.h - what the layers above the cache (classify.c,
 * feedback.c) may see of a handle beyond the public API: its store,
 * configuration and logger, and a way to report how the L2 answered.
 */
#ifndef TC_CACHE_INTERNAL_H
#define TC_CACHE_INTERNAL_H

#include "config.h"
#include "store.h"

/* The L2, or NULL for memory:. */
tc__store *tc__cache_store(tc_cache *h);
const tc__config *tc__cache_config(const tc_cache *h);
const tc__logger *tc__cache_logger(const tc_cache *h);
/* Marks the L2 up (rc TC_OK/TC_MISS) or down (unreachable, timeout). */
void tc__cache_l2_state(tc_cache *h, int rc);

#endif
