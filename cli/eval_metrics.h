/*
 * eval_metrics.h - how sure a classifier was against how right it was:
 * calibration error and out-of-scope detection, from a list of answers.
 * One home for these formulas: `tutorcache eval` and the benchmark suite
 * (bench/suite, which scores fastText's answers too) both use it.
 */
#ifndef TC_CLI_EVAL_METRICS_H
#define TC_CLI_EVAL_METRICS_H

#include <stddef.h>

/* Bins of the expected calibration error: 15 of equal width over the
 * best answer's confidence, as is usual. */
#define EVAL_ECE_BINS 15

/* The in-scope accuracy at which out-of-scope recall is read. */
#define EVAL_OOS_TARGET 0.90

/* One answer to one test text. */
typedef struct eval_answer {
    double conf;  /* the best label's confidence, 0..1 */
    int in_scope; /* the gold label is an intent, not out of scope */
    int right;    /* the best label is the gold one */
    int rejected; /* answered out of scope (unknown, or the oos label) */
} eval_answer;

typedef struct eval_metrics {
    size_t n, n_in, n_oos;
    double accuracy; /* of the in-scope texts */
    double ece;      /* over the in-scope texts */
    /* with out-of-scope texts (NaN otherwise): */
    double accuracy_all;     /* right, or rightly rejected, over all */
    double oos_auroc;        /* in-scope vs out-of-scope by confidence,
                                a rejection ranking below every answer */
    double oos_recall_at_90; /* out-of-scope texts below the threshold */
    double threshold_at_90;  /* the highest confidence threshold that
                                keeps in-scope accuracy (a rejected or
                                thresholded text counting as wrong) at
                                EVAL_OOS_TARGET; NaN if none does */
} eval_metrics;

/* Computes m from a[0..n). Returns 0, or -1 when out of memory. */
int eval_metrics_compute(const eval_answer *a, size_t n, eval_metrics *m);

#endif
