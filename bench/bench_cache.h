/*
 * bench_cache.h - the loops of L2 sets and gets that the benchmark
 * programs measuring the cache share (bench/seal.c, bench/coherence.c).
 * Unlike bench_util.h these call the library, so a program that uses
 * them is built against it (bench_build_prog in bench/lib.sh).
 */
#ifndef TC_BENCH_CACHE_H
#define TC_BENCH_CACHE_H

#include <stddef.h>

#include "tutorcache.h"

/* Accepts a value of any length (bench_get_loop's want). */
#define BENCH_ANY_LEN ((size_t)-1)

/*
 * n sets in namespace ns of the keys "k0" .. "k<keys - 1>" in turn, each
 * to the len bytes at value, with the namespace's TTL. A failed set is
 * fatal. Not inlined, so that callgrind can count it alone
 * (--toggle-collect=bench_set_loop).
 */
void bench_set_loop(tc_cache *h, const char *ns, long keys, const void *value,
                    size_t len, long n);

/*
 * n gets of the same keys; a miss, a failure or a value whose length is
 * not want (unless want is BENCH_ANY_LEN) is fatal. Not inlined, for
 * callgrind (--toggle-collect=bench_get_loop).
 */
void bench_get_loop(tc_cache *h, const char *ns, long keys, size_t want,
                    long n);

#endif
