/*
 * counter.c - striped counters (counter.h).
 */
#include "base/counter.h"
#include "base/internal.h"

#define LINE 64

_Thread_local unsigned tc__stripe_mine TC__STRIPE_TLS = TC__STRIPES;
static _Atomic unsigned stripe_next;

unsigned tc__stripe_take(void)
{
    tc__stripe_mine = atomic_fetch_add(&stripe_next, 1) % TC__STRIPES;
    return tc__stripe_mine;
}

int tc__counters_init(tc__counters *k, size_t n)
{
    size_t per_line = LINE / sizeof(uint64_t);

    k->n = n;
    k->stride = (n + per_line - 1) / per_line * per_line;
    /* aligned by hand: the allocator hook has no aligned variant */
    k->mem =
        tc__calloc(1, TC__STRIPES * k->stride * sizeof(uint64_t) + LINE - 1);
    if (!k->mem) {
        k->c = NULL;
        return TC_ENOMEM;
    }
    k->c = (_Atomic uint64_t *)(((uintptr_t)k->mem + LINE - 1) &
                                ~(uintptr_t)(LINE - 1));
    return TC_OK;
}

void tc__counters_free(tc__counters *k)
{
    if (k) {
        tc__free(k->mem);
        k->mem = NULL;
        k->c = NULL;
    }
}

uint64_t tc__counters_sum(const tc__counters *k, size_t i)
{
    uint64_t sum = 0;

    for (unsigned s = 0; s < TC__STRIPES; s++) {
        sum += atomic_load_explicit(&k->c[s * k->stride + i],
                                    memory_order_relaxed);
    }
    return sum;
}
