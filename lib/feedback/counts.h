/*
 * counts.h - what feedback counts in this process, per handle: records by
 * type and outcome (intent_feedback_submissions_total) and corrections by
 * (original -> correct) pair (intent_feedback_corrections_total), for
 * report/metrics.c. The store keeps its own, shared counts for
 * tc_feedback_stats_json.
 */
#ifndef TC_FB_COUNTS_H
#define TC_FB_COUNTS_H

#include <stddef.h>
#include <stdint.h>

/* Outcomes of a submitted record. */
typedef enum tc__fb_status {
    TC__FB_ACCEPTED = 0,
    TC__FB_REJECTED,
    TC__FB_SPOOLED,
    TC__FB_STATUS_COUNT
} tc__fb_status;

/* Kinds of record as counted: a correction, a confirmation, or a record
 * too bad to have a type. */
#define TC__FB_KINDS 3

/*
 * A correction pair is a label pair of the host's data: their number is
 * bounded so that a stream of odd labels cannot grow the exposition (and
 * the scraper's memory) without end; pairs past the bound are counted as
 * original="other", correct="other".
 */
#define TC__FB_MAX_PAIRS 100

typedef struct tc__fb_counts tc__fb_counts;

int tc__fb_counts_new(tc__fb_counts **out);
void tc__fb_counts_free(tc__fb_counts *k);

/* Counting; no-ops on a NULL k (metrics off). type is a tc_feedback_type
 * or anything else for an invalid record. Lock-free but for the first
 * sighting of a correction pair. */
void tc__fb_counts_add(tc__fb_counts *k, int type, tc__fb_status st);
void tc__fb_counts_pair_add(tc__fb_counts *k, const char *original,
                            const char *correct);

/* Reading (k may be NULL: zeros). kind: 0 correction, 1 confirmation,
 * 2 invalid. */
uint64_t tc__fb_counts_get(const tc__fb_counts *k, int kind, tc__fb_status st);
/* The pairs seen so far; pair i's labels and count, for i < the number
 * returned. */
size_t tc__fb_counts_npairs(const tc__fb_counts *k);
uint64_t tc__fb_counts_pair(const tc__fb_counts *k, size_t i,
                            const char **original, const char **correct);
/* Corrections counted as "other" once the pairs were full. */
uint64_t tc__fb_counts_other(const tc__fb_counts *k);

#endif
