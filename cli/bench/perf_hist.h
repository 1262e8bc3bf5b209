/*
 * perf_hist.h - the latency histogram of the performance commands (bench,
 * loadtest): HDR-style log-linear buckets in nanoseconds, good to better
 * than 1% from 1 ns to past 100 s, in fixed memory, mergeable across
 * threads. One histogram belongs to one thread at a time; merge them when
 * the threads are done (or under the caller's own lock).
 */
#ifndef TC_CLI_PERF_HIST_H
#define TC_CLI_PERF_HIST_H

#include <stdint.h>

typedef struct perf_hist perf_hist;

/* The largest value kept apart from the others, about 137 s; larger ones
 * share the last bucket (their exact maximum is still kept). */
#define PERF_HIST_MAX_NS ((uint64_t)1 << 37)

/* An empty histogram, or NULL when out of memory. */
perf_hist *perf_hist_new(void);
void perf_hist_free(perf_hist *h); /* NULL is accepted */
void perf_hist_reset(perf_hist *h);

/* Records one value, in nanoseconds. */
void perf_hist_add(perf_hist *h, uint64_t ns);

/* Adds every value of `from` to `into`. */
void perf_hist_merge(perf_hist *into, const perf_hist *from);

uint64_t perf_hist_count(const perf_hist *h);
uint64_t perf_hist_min(const perf_hist *h); /* exact; 0 when empty */
uint64_t perf_hist_max(const perf_hist *h); /* exact; 0 when empty */
double perf_hist_mean(const perf_hist *h);  /* exact; 0 when empty */

/*
 * The q-quantile (0 < q <= 1) in nanoseconds: the value of rank
 * ceil(q * count), as the middle of its bucket (within 0.4% of the
 * recorded value), clamped to the exact minimum and maximum so that
 * quantiles never pass the max; the first and last ranks are the exact
 * minimum and maximum. 0 when empty.
 */
double perf_hist_quantile(const perf_hist *h, double q);

#endif /* TC_CLI_PERF_HIST_H */
