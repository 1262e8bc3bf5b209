/*
 * counts.h - what classification counts, per handle: outcomes and a
 * latency histogram (intent_classification_requests_total and
 * intent_classification_duration_seconds, rendered by report/metrics.c).
 * Counting is on the hot path of every classification, so the counters
 * are striped (base/counter.h) and summed only when read.
 */
#ifndef TC_CLS_COUNTS_H
#define TC_CLS_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/counter.h"

/* Outcomes of a classification. */
typedef enum tc__cls_status {
    TC__CLS_CACHE_HIT = 0,
    TC__CLS_CACHE_MISS,
    TC__CLS_FEEDBACK,
    TC__CLS_ERROR,
    TC__CLS_COUNT
} tc__cls_status;

/* The histogram's bucket bounds in microseconds; the last bucket, past
 * them, is +Inf. */
extern const int64_t tc__cls_bounds_us[];
extern const size_t tc__cls_nbounds;

typedef struct tc__cls_counts tc__cls_counts;

int tc__cls_counts_new(tc__cls_counts **out);
void tc__cls_counts_free(tc__cls_counts *k);

/* Counts one classification; a no-op on a NULL k (metrics off). */
void tc__cls_count(tc__cls_counts *k, tc__cls_status st, int64_t latency_us);

/* Reading (k may be NULL: zeros). Bucket i of tc__cls_nbounds + 1. */
uint64_t tc__cls_counts_status(const tc__cls_counts *k, tc__cls_status st);
uint64_t tc__cls_counts_bucket(const tc__cls_counts *k, size_t i);
uint64_t tc__cls_counts_sum_us(const tc__cls_counts *k);

#endif
