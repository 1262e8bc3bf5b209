/*
 * popular.h - popularity tracking (track_popular): each classified text,
 * normalized, counted in process and added in batches to the store's
 * popularity table (store.h's pop_add), which keeps the popular_size most
 * counted; tc_popular_top reads them back, for `tutorcache warm
 * --popular`. The counting is one hash and one mutex on the caller's
 * path; the store is written by a thread of its own.
 */
#ifndef TC_POPULAR_H
#define TC_POPULAR_H

#include "cache/cache.h"

typedef struct tc__popular tc__popular;

/* A flush is sent after this many ms, or sooner once this many distinct
 * texts wait; a text met when twice as many wait is not counted (logged
 * at the next send as popular_not_counted). */
#define TC__POP_FLUSH_MS 1000
#define TC__POP_FLUSH_AT 1024

/*
 * Starts the counting for cache, which must outlive it: *out NULL (and
 * TC_OK) when track_popular is off, or when the store keeps no table
 * (memory:, logged once as popular_unsupported). Returns TC_OK; TC_ENOMEM;
 * TC_EINTERNAL (no thread).
 */
int tc__popular_open(tc__popular **out, tc__cache *cache);
/* Sends what is counted and stops the thread; NULL is accepted. */
void tc__popular_close(tc__popular *p);
/* Counts one request of a normalized text (len > 0); p may be NULL. */
void tc__popular_count(tc__popular *p, const char *norm, size_t len);
/* Sends what is counted now. Returns TC_OK or the store's failure (the
 * counts sent are then lost), recorded with tc__fail. */
int tc__popular_flush(tc__popular *p);

/*
 * The max most counted texts of cache's store, most first: *texts (each
 * NUL-terminated) and *counts, n of them, tc__malloc'd (tc__popular_free).
 * A text sealed with a key not held is left out and counted as a seal
 * failure. Returns TC_OK; TC_ECONFIG (track_popular is off, or the
 * store keeps no table: memory:); the store's failure; TC_ENOMEM.
 */
int tc__popular_top(char ***texts, uint64_t **counts, size_t *n,
                    tc__cache *cache, size_t max);
void tc__popular_free(char **texts, uint64_t *counts, size_t n);

/* Makes c and its candidate count their texts in p (NULL: not). */
void tc__popular_attach(tc_classifier *c, tc__popular *p);

#endif
