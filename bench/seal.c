/*
 * seal.c - what encryption at rest costs on the L2 path (BENCHMARKS.md,
 * "Encryption at rest"): an L2 get and an L2 set of a 200-byte value with
 * sealing on and off, on the same store in the same run. Each mode runs
 * in alternating rounds and the medians are compared, so that a machine
 * busy in one stretch weighs on both. L1 holds one byte: every get is an
 * L2 read, opened (or not) on the way.
 *
 * Usage: seal URL KEYFILE [-n OPS] [--only get-on|get-off|set-on|set-off]
 * (--only runs that loop alone, for callgrind's toggle on bench_get_loop
 * or bench_set_loop)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cache.h"
#include "bench_util.h"
#include "tutorcache.h"

const char bench_prog[] = "seal";

#define NS "ml_model_predictions"
#define VALUE_BYTES 200
#define KEYS 64
#define ROUNDS 7

static char value[VALUE_BYTES + 1];

static tc_cache *open_mode(const char *url, const char *keyfile, int sealed)
{
    tc_options o;
    tc_cache *h = NULL;

    if (sealed) {
        setenv("TUTORCACHE_ENCRYPTION_KEY_FILE", keyfile, 1);
    } else {
        unsetenv("TUTORCACHE_ENCRYPTION_KEY_FILE");
    }
    tc_options_init(&o);
    o.store_url = url;
    o.l1_max_bytes = 1;
    if (tc_cache_open(&h, &o) != TC_OK) {
        bench_fail("open %s: %s", url, tc_errmsg());
    }
    return h;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url, *keyfile, *only = NULL;
    double get_us[2][ROUNDS], set_us[2][ROUNDS];
    tc_cache *h[2];
    long n = 20000;

    if (argc < 3) {
        bench_fail("usage: seal URL KEYFILE [-n OPS] [--only MODE]");
    }
    url = argv[1];
    keyfile = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0) {
            n = bench_count_arg("-n", argv[i + 1], 100000000);
        } else if (strcmp(argv[i], "--only") == 0) {
            only = argv[i + 1];
        } else {
            bench_fail("unknown option %s", argv[i]);
        }
    }
    memset(value, 'v', VALUE_BYTES);
    h[0] = open_mode(url, keyfile, 0);
    h[1] = open_mode(url, keyfile, 1);
    if (only) {
        int m = strstr(only, "-on") != NULL;

        bench_set_loop(h[m], NS, KEYS, value, VALUE_BYTES, KEYS);
        if (strncmp(only, "get", 3) == 0) {
            bench_get_loop(h[m], NS, KEYS, VALUE_BYTES, n);
        } else {
            bench_set_loop(h[m], NS, KEYS, value, VALUE_BYTES, n);
        }
    } else {
        for (int r = 0; r < ROUNDS; r++) {
            for (int m = 0; m < 2; m++) {
                int64_t t0, t1;

                /* each mode reads its own values */
                bench_set_loop(h[m], NS, KEYS, value, VALUE_BYTES, KEYS);
                t0 = bench_now_ns();
                bench_get_loop(h[m], NS, KEYS, VALUE_BYTES, n);
                t1 = bench_now_ns();
                bench_set_loop(h[m], NS, KEYS, value, VALUE_BYTES, n);
                get_us[m][r] = (double)(t1 - t0) / 1e3 / (double)n;
                set_us[m][r] = (double)(bench_now_ns() - t1) / 1e3 / (double)n;
            }
        }
        for (int m = 0; m < 2; m++) {
            qsort(get_us[m], ROUNDS, sizeof(double), cmp_d);
            qsort(set_us[m], ROUNDS, sizeof(double), cmp_d);
        }
        for (int m = 0; m < 2; m++) {
            printf("sealing=%s value_bytes=%d ops=%ld get_us=%.2f "
                   "set_us=%.2f\n",
                   m ? "on" : "off", VALUE_BYTES, n, get_us[m][ROUNDS / 2],
                   set_us[m][ROUNDS / 2]);
        }
        printf("ratio get=%.3f set=%.3f\n",
               get_us[1][ROUNDS / 2] / get_us[0][ROUNDS / 2],
               set_us[1][ROUNDS / 2] / set_us[0][ROUNDS / 2]);
    }
    tc_cache_close(h[1]);
    tc_cache_close(h[0]);
    return 0;
}
