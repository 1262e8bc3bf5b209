/*
 * fb_record.h - the records the feedback benchmarks submit, one shape for
 * all of them: three in four are corrections, one in four confirmations,
 * over the four intents of the example set, with confidences spread over
 * 0..1. A header of its own, since bench_util.c is also built without
 * the library.
 */
#ifndef TC_BENCH_FB_RECORD_H
#define TC_BENCH_FB_RECORD_H

#include <stdint.h>
#include <string.h>

#include <tutorcache.h>

/* Fills *fb as record number i, with text and user_id (both borrowed). */
static inline void bench_fb_record(tc_feedback *fb, uint64_t i,
                                   const char *text, const char *user_id)
{
    static const char *const intents[] = {"code_generation", "explanation",
                                          "debugging", "concept_question"};

    memset(fb, 0, sizeof(*fb));
    fb->text = text;
    fb->original_intent = intents[i % 4];
    fb->original_confidence = (double)(i % 1000) / 1000.0;
    fb->user_id = user_id;
    if (i % 4 == 3) {
        fb->type = TC_FEEDBACK_CONFIRMATION;
        fb->correct_intent = fb->original_intent;
    } else {
        fb->type = TC_FEEDBACK_CORRECTION;
        fb->correct_intent = intents[(i + 1) % 4];
    }
}

#endif
