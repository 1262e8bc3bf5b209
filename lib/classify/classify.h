/*
 * classify.h - classification through the cache, as the doors of lib/api/
 * call it: a classifier is handed the cache and the counters of its
 * handle once, when it opens. Each call is its public namesake with the
 * pointers already checked; a failure records why with tc__fail.
 */
#ifndef TC_CLASSIFY_H
#define TC_CLASSIFY_H

#include "cache/cache.h"
#include "classify/counts.h"

/* The namespace where a correction overrides the cached answer to its
 * text (key material: the normalized text); feedback writes it. */
#define TC__OVERRIDE_NS "intent_feedback"

void tc__classifier_options_init(tc_classifier_options *opt);
/* overrides: the cache that holds corrections' overrides (the feedback
 * store's, or cache itself). */
int tc__classifier_open(tc_classifier **out, tc__cache *cache,
                        tc__cache *overrides, tc__cls_counts *counts,
                        const tc_classifier_options *opt);
void tc__classifier_close(tc_classifier *c);
int tc__classify(tc_result **out, tc_classifier *c, const char *text,
                 size_t len);
int tc__classify_batch(tc_result **out, int *status, tc_classifier *c,
                       const char *const *texts, const size_t *lens, size_t n);
/* tc__classify for a text whose request an A/B candidate already counted
 * in popularity before it failed (ab.c's fallback to control): counted
 * again, one request would show twice. */
int tc__classify_fallback(tc_result **out, tc_classifier *c, const char *text,
                          size_t len);

#endif
