/*
 * counter.h - striped counters: each thread adds to one of TC__STRIPES
 * cache lines and a read sums them. One shared counter would bounce its
 * line between the cores on every cache hit; with two threads that cost a
 * fifth of the hit rate. A block holds n counters per stripe, each stripe
 * a whole number of 64-byte lines, so two stripes never share a line.
 */
#ifndef TC_COUNTER_H
#define TC_COUNTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TC__STRIPES 8

typedef struct tc__counters {
    _Atomic uint64_t *c; /* TC__STRIPES rows of `stride` counters */
    size_t n, stride;
    void *mem; /* what was allocated; c is its first 64-byte boundary */
} tc__counters;

/* This thread's stripe, handed out in turn on its first count. */
extern _Thread_local unsigned tc__stripe_mine;
unsigned tc__stripe_take(void);

/* Zeroed counters; TC_OK or TC_ENOMEM. Free with tc__counters_free. */
int tc__counters_init(tc__counters *k, size_t n);
void tc__counters_free(tc__counters *k);

static inline void tc__counters_add(tc__counters *k, size_t i, uint64_t v)
{
    unsigned s = tc__stripe_mine;

    if (s >= TC__STRIPES) {
        s = tc__stripe_take();
    }
    atomic_fetch_add_explicit(&k->c[s * k->stride + i], v,
                              memory_order_relaxed);
}

/* The sum of counter i over the stripes (relaxed: a moment's view). */
uint64_t tc__counters_sum(const tc__counters *k, size_t i);

#endif
