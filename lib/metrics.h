/*
 * metrics.h - the counters and histogram behind tc_metrics_render: what
 * classify.c and feedback.c record, per handle.
 */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stdint.h>

#include "internal.h"

typedef struct tc__metrics tc__metrics;

/* Outcomes of a classification (intent_classification_requests_total). */
typedef enum tc__cls_status {
    TC__CLS_CACHE_HIT = 0,
    TC__CLS_CACHE_MISS,
    TC__CLS_FEEDBACK,
    TC__CLS_ERROR,
    TC__CLS_COUNT
} tc__cls_status;

/* Outcomes of a feedback record (intent_feedback_submissions_total). */
typedef enum tc__fb_status {
    TC__FB_ACCEPTED = 0,
    TC__FB_REJECTED,
    TC__FB_SPOOLED,
    TC__FB_STATUS_COUNT
} tc__fb_status;

int tc__metrics_new(tc__metrics **out);
void tc__metrics_free(tc__metrics *m);

/* Counting; no-ops on a NULL m (metrics off). Any thread, lock-free
 * except the first sighting of a correction pair. */
void tc__metrics_classify(tc__metrics *m, tc__cls_status st,
                          int64_t latency_us);
/* type: 0 correction, 1 confirmation, 2 a record too bad to have one */
void tc__metrics_feedback(tc__metrics *m, int type, tc__fb_status st);
void tc__metrics_correction(tc__metrics *m, const char *original,
                            const char *correct);

#endif
