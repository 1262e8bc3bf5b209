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

/* The histogram's bucket bounds in microseconds, tc__cls_nbounds of
 * them (an element more follows: counts.c's sentinel, no bound); the
 * last bucket, past them, is +Inf. */
extern const int64_t tc__cls_bounds_us[];
extern const size_t tc__cls_nbounds;

typedef struct tc__cls_counts tc__cls_counts;

int tc__cls_counts_new(tc__cls_counts **out);
void tc__cls_counts_free(tc__cls_counts *k);

/* Counts one classification; a no-op on a NULL k (metrics off). */
void tc__cls_count(tc__cls_counts *k, tc__cls_status st, int64_t latency_us);

/* The arms of an A/B rollout (a classifier with a candidate model). */
typedef enum tc__cls_arm {
    TC__ARM_CONTROL = 0,
    TC__ARM_CANDIDATE,
    TC__ARM_COUNT
} tc__cls_arm;

/* What is counted per arm. */
typedef enum tc__arm_what {
    TC__ARM_CLASSIFICATIONS = 0, /* answers the arm gave */
    TC__ARM_HITS,                /* of them, from L1 or L2 */
    TC__ARM_ERRORS,              /* failures answered by control instead */
    TC__ARM_CORRECTIONS,         /* feedback records naming the arm's model */
    TC__ARM_CONFIRMATIONS,       /* ... as corrections or as confirmations */
    TC__ARM_WHAT_COUNT
} tc__arm_what;

/* Counts one answer of an arm and its latency; a no-op on a NULL k. */
void tc__cls_count_arm(tc__cls_counts *k, tc__cls_arm arm, int hit,
                       int64_t latency_us);
/* Counts a failure of an arm that control answered instead. */
void tc__cls_count_arm_error(tc__cls_counts *k, tc__cls_arm arm);

/*
 * The arms' models, so that a feedback record naming a model can be
 * counted for its arm. A classifier with a candidate registers its two
 * models (owner is the classifier; each arm's model, else its host
 * version, borrowed until it is dropped) when it opens, and drops them
 * before it closes; up to TC__ARMS_MAX classifiers per handle are known,
 * later ones are not (their records are counted nowhere by arm).
 * tc__cls_arm_of gives the arm whose current identity is model (a
 * built-in model's fingerprint now, which changes when the model
 * learns, or the host version, alone or as "fn:VERSION" as its answers
 * name it), the first registered first; -1 when none is. No-ops and -1
 * on a NULL k.
 */
#define TC__ARMS_MAX 16
void tc__cls_arms_add(tc__cls_counts *k, const void *owner,
                      const tc_model *const model[TC__ARM_COUNT],
                      const char *const version[TC__ARM_COUNT]);
void tc__cls_arms_drop(tc__cls_counts *k, const void *owner);
int tc__cls_arm_of(tc__cls_counts *k, const char *model);
/* Counts a feedback record for an arm: correction 1, else confirmation. */
void tc__cls_count_arm_feedback(tc__cls_counts *k, tc__cls_arm arm,
                                int correction);

/* Reading (k may be NULL: zeros). Bucket i of tc__cls_nbounds + 1. */
uint64_t tc__cls_counts_status(const tc__cls_counts *k, tc__cls_status st);
uint64_t tc__cls_counts_bucket(const tc__cls_counts *k, size_t i);
uint64_t tc__cls_counts_sum_us(const tc__cls_counts *k);
uint64_t tc__cls_arm_get(const tc__cls_counts *k, tc__cls_arm arm,
                         tc__arm_what what);
uint64_t tc__cls_arm_bucket(const tc__cls_counts *k, tc__cls_arm arm, size_t i);
uint64_t tc__cls_arm_sum_us(const tc__cls_counts *k, tc__cls_arm arm);
/* 1 once any arm counted anything: a classifier had a candidate (an
 * answer, or a feedback record naming one of its models). */
int tc__cls_arms_used(const tc__cls_counts *k);

/* What the shadow checks of cached answers count (shadow.c). */
typedef enum tc__shadow_what {
    TC__SHADOW_AGREE = 0, /* the fresh answer had the cached intent */
    TC__SHADOW_DISAGREE,  /* it had another: the entry was replaced */
    TC__SHADOW_DROPPED,   /* sampled, not checked: the queue was full */
    TC__SHADOW_FAILED,    /* the fresh classification failed, or its
                             model changed under the key meanwhile */
    TC__SHADOW_COUNT
} tc__shadow_what;

/* Counts one shadow check's outcome; a no-op on a NULL k. */
void tc__cls_count_shadow(tc__cls_counts *k, tc__shadow_what what);
uint64_t tc__cls_shadow_get(const tc__cls_counts *k, tc__shadow_what what);

#endif
