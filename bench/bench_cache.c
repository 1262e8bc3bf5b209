/*
 * bench_cache.c - the L2 set and get loops of the cache benchmarks. The
 * key is formatted into a stack buffer on each turn, as a caller would,
 * so that both sides of a comparison pay the same for it.
 */
#include "bench_cache.h"

#include <stdio.h>

#include "bench_util.h"

__attribute__((noinline)) void bench_set_loop(tc_cache *h, const char *ns,
                                              long keys, const void *value,
                                              size_t len, long n)
{
    char key[24];

    for (long i = 0; i < n; i++) {
        int k = snprintf(key, sizeof(key), "k%ld", i % keys);

        if (tc_cache_set(h, ns, key, (size_t)k, value, len, 0) != TC_OK) {
            bench_fail("set: %s", tc_errmsg());
        }
    }
}

__attribute__((noinline)) void bench_get_loop(tc_cache *h, const char *ns,
                                              long keys, size_t want, long n)
{
    char key[24];

    for (long i = 0; i < n; i++) {
        void *v;
        size_t len;
        int k = snprintf(key, sizeof(key), "k%ld", i % keys);

        if (tc_cache_get(&v, &len, NULL, h, ns, key, (size_t)k) != TC_OK) {
            bench_fail("get: %s", tc_errmsg());
        }
        tc_free(v);
        if (want != BENCH_ANY_LEN && len != want) {
            bench_fail("get: %zu bytes, not %zu", len, want);
        }
    }
}
