/*
 * bench_rand.h - the benchmarks' random numbers: xorshift64*, cheap beside
 * the call it feeds, and the same sequence on every machine for one seed.
 */
#ifndef TC_CLI_BENCH_RAND_H
#define TC_CLI_BENCH_RAND_H

#include <stdint.h>

static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
