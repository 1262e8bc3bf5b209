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

/*
 * This thread's stripe, handed out in turn on its first count. Initial
 * exec: read at a fixed offset from the thread pointer, where the
 * default model of -fPIC code calls __tls_get_addr on every count, and a
 * call makes its caller save registers around it. It takes four bytes
 * of the static TLS block, which glibc keeps spare room in for a library
 * loaded by dlopen.
 */
#define TC__STRIPE_TLS __attribute__((tls_model("initial-exec")))
extern _Thread_local unsigned tc__stripe_mine TC__STRIPE_TLS;
unsigned tc__stripe_take(void);

/* Zeroed counters; TC_OK or TC_ENOMEM. Free with tc__counters_free. */
int tc__counters_init(tc__counters *k, size_t n);
void tc__counters_free(tc__counters *k);

/* This thread's row of k: its stripe found once for several adds. */
static inline _Atomic uint64_t *tc__counters_row(tc__counters *k)
{
    unsigned s = tc__stripe_mine;

    if (s >= TC__STRIPES) {
        s = tc__stripe_take();
    }
    return &k->c[s * k->stride];
}

/* Adds v to counter i of a row (tc__counters_row). */
static inline void tc__counters_row_add(_Atomic uint64_t *row, size_t i,
                                        uint64_t v)
{
    atomic_fetch_add_explicit(&row[i], v, memory_order_relaxed);
}

static inline void tc__counters_add(tc__counters *k, size_t i, uint64_t v)
{
    tc__counters_row_add(tc__counters_row(k), i, v);
}

/* The sum of counter i over the stripes (relaxed: a moment's view). */
uint64_t tc__counters_sum(const tc__counters *k, size_t i);

#endif
