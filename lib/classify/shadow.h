/*
 * shadow.h - shadow checks of cached answers (shadow.c): a sampled share
 * of a classifier's cache hits is classified again, fresh, on one
 * background thread, and an entry whose fresh answer has another intent
 * is counted, logged and replaced. The hit path pays for the sampling
 * only: with shadow checks off one test of a NULL pointer; with them on
 * a per-thread xorshift and a compare, and a lock and one allocation
 * only for a hit that was sampled.
 */
#ifndef TC_SHADOW_H
#define TC_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "classify/counts.h"

typedef struct tc__shadow tc__shadow;
typedef struct tc_classifier tc_classifier;

/* How many sampled hits may wait for the thread; beyond, dropped. */
#define TC__SHADOW_QUEUE 256
/* The thread wakes for this many waiting checks, or after a nap with
 * fewer: a sampled caller then signals once per batch. */
#define TC__SHADOW_WAKE 16
#define TC__SHADOW_NAP_MS 50
/* How long closing keeps checking what waits before dropping the rest. */
#define TC__SHADOW_DRAIN_MS 2000

/*
 * The fresh answer of a normalized text for the model identity id, as
 * classify.c computes it on a miss: packed (packed.h), *cacheable 0 when
 * the model changed under that identity. Handed down by classify.c, so
 * that this file never calls up into it.
 */
typedef int (*tc__shadow_fresh_fn)(char **packed, size_t *plen, int *cacheable,
                                   tc_classifier *c, const char *norm,
                                   size_t normlen, const char *id);

/*
 * Shadow checks of the hits offered (the caller samples them with
 * tc__shadow_pick), counted in counts (may be NULL). The thread starts
 * at the first offer. Returns TC_OK or TC_ENOMEM.
 */
int tc__shadow_new(tc__shadow **out, tc__cls_counts *counts,
                   tc__shadow_fresh_fn fresh);
/* Stops the thread: the checks waiting are finished for at most
 * TC__SHADOW_DRAIN_MS, the rest dropped (counted); joins it. NULL is
 * accepted. */
void tc__shadow_free(tc__shadow *s);

/* The sampling threshold of a rate: a draw of 53 random bits below it
 * is sampled (rate 1: every draw). */
static inline uint64_t tc__shadow_cut(double rate)
{
    return (uint64_t)(rate * 9007199254740992.0); /* 2^53 */
}

/* This thread's xorshift64 state; 0 until its first draw. */
extern _Thread_local uint64_t tc__shadow_x;
uint64_t tc__shadow_seed(void);

/* Whether this hit is sampled: one xorshift64 step of this thread's
 * state, no lock and no shared cache line. */
static inline int tc__shadow_pick(uint64_t cut)
{
    uint64_t x = tc__shadow_x;

    if (x == 0) {
        x = tc__shadow_seed();
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tc__shadow_x = x;
    return (x >> 11) < cut;
}

/*
 * Queues a check of the hit of key (key material whose first normlen
 * bytes are the normalized text, then a NUL and the model identity, as
 * classify.c builds it) that c answered with intent. Copies what it
 * keeps; drops the check (counted) when the queue is full or memory or
 * the thread cannot be had. Never fails its caller.
 */
void tc__shadow_offer(tc__shadow *s, tc_classifier *c, const char *key,
                      size_t keylen, size_t normlen, const char *intent);

#endif
