/*
 * perf_hist.c - a log-linear latency histogram in the manner of HdrHistogram:
 * values below 256 ns have a bucket each, and every power of two above is
 * cut into 128 buckets, so a bucket is at most 1/128 of its values wide
 * and its middle is within 0.4% of anything in it. 3,968 buckets cover
 * 1 ns to 137 s in 31 KiB, whatever the number of values, and two
 * histograms merge by adding their buckets, which is how the threads of
 * a run are combined.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/perf_hist.h"

#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define LINEAR (2 * SUB)
#define MAX_EXP 37 /* PERF_HIST_MAX_NS is 1 << MAX_EXP */
#define NBUCKETS (LINEAR + (MAX_EXP - SUB_BITS - 1) * SUB)

struct perf_hist {
    uint64_t n[NBUCKETS];
    uint64_t count;
    uint64_t sum; /* 2^64 ns is five centuries: it does not wrap */
    uint64_t min, max;
};

perf_hist *perf_hist_new(void)
{
    perf_hist *h = malloc(sizeof(*h));

    if (h) {
        perf_hist_reset(h);
    }
    return h;
}

void perf_hist_free(perf_hist *h)
{
    free(h);
}

void perf_hist_reset(perf_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static int index_of(uint64_t v)
{
    int e;

    if (v < LINEAR) {
        return (int)v;
    }
    if (v >= PERF_HIST_MAX_NS) {
        return NBUCKETS - 1;
    }
    e = 63 - __builtin_clzll(v);
    return LINEAR + (e - SUB_BITS - 1) * SUB +
           (int)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* The middle of bucket i: the mean of the smallest and largest value in
 * it, so that the error is at most half a bucket either way. */
static double middle_of(int i)
{
    uint64_t low, width;
    int e;

    if (i < LINEAR) {
        return i;
    }
    e = (i - LINEAR) / SUB + SUB_BITS + 1;
    width = (uint64_t)1 << (e - SUB_BITS);
    low = (uint64_t)(SUB + (i - LINEAR) % SUB) * width;
    return (double)low + (double)(width - 1) / 2;
}

void perf_hist_add(perf_hist *h, uint64_t ns)
{
    h->n[index_of(ns)]++;
    h->count++;
    h->sum += ns;
    if (ns < h->min) {
        h->min = ns;
    }
    if (ns > h->max) {
        h->max = ns;
    }
}

void perf_hist_merge(perf_hist *into, const perf_hist *from)
{
    int i;

    for (i = 0; i < NBUCKETS; i++) {
        into->n[i] += from->n[i];
    }
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min) {
        into->min = from->min;
    }
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t perf_hist_count(const perf_hist *h)
{
    return h->count;
}

uint64_t perf_hist_min(const perf_hist *h)
{
    return h->count ? h->min : 0;
}

uint64_t perf_hist_max(const perf_hist *h)
{
    return h->max;
}

double perf_hist_mean(const perf_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0;
}

double perf_hist_quantile(const perf_hist *h, double q)
{
    uint64_t want, seen = 0;
    double v = 0;
    int i;

    if (h->count == 0) {
        return 0;
    }
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    /* the rank ceil(q * count), where a product a hair above a whole
     * number through rounding (0.95 * 200 = 190.00000000000003) is that
     * number */
    want = (uint64_t)ceil(q * (double)h->count * (1 - 1e-12));
    want = want < 1 ? 1 : want > h->count ? h->count : want;
    /* the first and last ranks are known exactly */
    if (want == h->count) {
        return (double)h->max;
    }
    if (want == 1) {
        return (double)h->min;
    }
    for (i = 0; i < NBUCKETS; i++) {
        seen += h->n[i];
        if (seen >= want) {
            v = middle_of(i);
            break;
        }
    }
    if (v < (double)h->min) {
        v = (double)h->min;
    }
    if (v > (double)h->max) {
        v = (double)h->max;
    }
    return v;
}
