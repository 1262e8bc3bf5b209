/*
 * shadow.c - what shadow checks cost a cache hit (BENCHMARKS.md, "Shadow
 * checks"): tc_classify of texts held in L1 by one classifier with
 * shadow_rate 0 and one with the rate given (0.01 by default), on the
 * same store in the same run, in alternating rounds whose medians are
 * compared, so that a machine busy in one stretch weighs on both. The
 * model is a host callback answering at once, so a check costs its
 * thread little and the difference is the hit path's: the sampling, and
 * for a sampled hit the copy and the queue.
 *
 * Usage: shadow URL [-n HITS] [--rate X] [--only 0|1]
 * (--only runs one round of the classifier with rate 0, or with X, alone,
 * for callgrind's toggle on hit_loop: the caller's instructions only, as
 * the checks run on another thread)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "tutorcache.h"

const char bench_prog[] = "shadow";

#define TEXTS 64
#define ROUNDS 7

static char texts[TEXTS][48];

static int answer(char **json, const char *text, size_t len, void *ud)
{
    static const char a[] = "{\"intent\":\"explanation\",\"confidence\":0.7}";

    (void)text;
    (void)len;
    (void)ud;
    if (!(*json = tc_malloc(sizeof(a)))) {
        return TC_ENOMEM;
    }
    memcpy(*json, a, sizeof(a));
    return TC_OK;
}

static tc_classifier *open_cls(tc_cache *h, double rate)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = answer;
    co.fn_version = "bench-v1";
    co.shadow_rate = rate;
    if (tc_classifier_open(&c, h, &co) != TC_OK) {
        bench_fail("classifier: %s", tc_errmsg());
    }
    return c;
}

__attribute__((noinline)) static void hit_loop(tc_classifier *c, long n)
{
    for (long i = 0; i < n; i++) {
        const char *t = texts[i % TEXTS];
        tc_result *r;

        if (tc_classify(&r, c, t, strlen(t)) != TC_OK) {
            bench_fail("classify: %s", tc_errmsg());
        }
        tc_result_free(r);
    }
}

int main(int argc, char **argv)
{
    double ns[2][ROUNDS], rate = 0.01, rates[2];
    tc_options o;
    tc_cache *h = NULL;
    tc_classifier *c[2];
    char *stats = NULL;
    long n = 1000000;
    int only = -1;

    if (argc < 2) {
        bench_fail("usage: shadow URL [-n HITS] [--rate X] [--only 0|1]");
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0) {
            n = bench_count_arg("-n", argv[i + 1], 1000000000);
        } else if (strcmp(argv[i], "--rate") == 0) {
            rate = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--only") == 0) {
            only = atoi(argv[i + 1]) != 0;
        } else {
            bench_fail("unknown option %s", argv[i]);
        }
    }
    for (int i = 0; i < TEXTS; i++) {
        snprintf(texts[i], sizeof(texts[i]), "what is a closure, case %d", i);
    }
    tc_options_init(&o);
    o.store_url = argv[1];
    if (tc_cache_open(&h, &o) != TC_OK) {
        bench_fail("open %s: %s", argv[1], tc_errmsg());
    }
    rates[0] = 0;
    rates[1] = rate;
    for (int m = 0; m < 2; m++) {
        c[m] = open_cls(h, rates[m]);
        hit_loop(c[m], TEXTS); /* the first round trip fills L1 */
    }
    if (only >= 0) {
        hit_loop(c[only], n);
        tc_classifier_close(c[0]);
        tc_classifier_close(c[1]);
        tc_cache_close(h);
        return 0;
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int m = 0; m < 2; m++) {
            int64_t t0 = bench_now_ns();

            hit_loop(c[m], n);
            ns[m][r] = (double)(bench_now_ns() - t0) / (double)n;
        }
    }
    for (int m = 0; m < 2; m++) {
        bench_sort_doubles(ns[m], ROUNDS);
        tc_classifier_close(c[m]);
    }
    for (int m = 0; m < 2; m++) {
        printf("shadow_rate=%g hits=%ld hit_ns=%.1f (rounds %.1f..%.1f)\n",
               rates[m], n, ns[m][ROUNDS / 2], ns[m][0], ns[m][ROUNDS - 1]);
    }
    if (tc_cache_stats_json(&stats, h) == TC_OK) {
        const char *s = strstr(stats, "\"shadow\":");

        printf("%s\n", s ? s : stats);
    }
    tc_free(stats);
    tc_cache_close(h);
    return 0;
}
