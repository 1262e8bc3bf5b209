/*
 * result.h - classifications as JSON: the one canonical form written to
 * the cache, and tc_result built from it.
 */
#ifndef TC_RESULT_H
#define TC_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "base/internal.h"

/* The intent of an answer out of scope: below the threshold, or the
 * model's own out-of-scope label. */
#define TC__UNKNOWN_INTENT "unknown"

/* A head other than intent: one label, or a set of labels. */
typedef struct tc__head_out {
    const char *name;
    int multi;
    size_t n;
    const char *const *labels;
} tc__head_out;

/*
 * Writes the canonical JSON of a classification:
 *   {"intent":"...","confidence":0.93,"top":[{"label":"...","score":...}],
 *    "<head>":"...","<multi head>":["...",...],"model":"..."}
 * intent first, so a threshold can replace it without parsing the rest.
 * *out is tc__malloc'd. Returns TC_OK or TC_ENOMEM.
 */
int tc__result_encode(char **out, size_t *outlen, const char *intent,
                      double confidence, const tc_label_score *top, size_t ntop,
                      const tc__head_out *heads, size_t nheads,
                      const char *model);

/*
 * Re-encodes any JSON object with "intent" (string) and "confidence"
 * (number 0..1) canonically: "top" is kept when it is an array of
 * {"label","score"}, string members become single-label heads, arrays of
 * strings multi-label heads, "model" is kept or set to model_default;
 * everything else is dropped. Returns TC_OK, TC_EPROTO (not such an
 * object) or TC_ENOMEM.
 */
int tc__result_canonical(char **out, size_t *outlen, const char *json,
                         const char *model_default);

/*
 * Builds a result from a canonical JSON value (a cache hit or a fresh
 * answer): fields point into the result's own block, intent becomes
 * "unknown" below threshold, and the JSON gains "source" and "latency_us".
 * Returns TC_OK, TC_EPROTO (not canonical) or TC_ENOMEM.
 */
int tc__result_decode(tc_result **out, const char *json, size_t len,
                      tc_source source, double threshold, int64_t t0_us);

/* tc__result_decode, and where in json the intent member ends and the
 * final '}' is (for tc__result_pack). */
int tc__result_decode_at(tc_result **out, size_t *intent_end, size_t *close,
                         const char *json, size_t len, tc_source source,
                         double threshold, int64_t t0_us);

/* The most tc__result_tail writes, its NUL included (at most 56 bytes),
 * with room after it for an A/B arm's ,"arm":"candidate" (ab.c). */
#define TC__RESULT_TAIL_MAX 96

/* Writes ,"source":"...","latency_us":N} and a NUL at o; returns a
 * pointer to the NUL. */
char *tc__result_tail(char *o, tc_source source, int64_t latency_us);

/* tc_source_name: "l1", "l2", "feedback" or "model". */
const char *tc__source_name(tc_source source);

#endif
