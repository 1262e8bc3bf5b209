/*
 * packed.h - the form of a classification kept in L1: the canonical JSON
 * the L2 stores, followed by the result already decoded, so that an L1
 * hit builds its tc_result without parsing (packed.c).
 */
#ifndef TC_PACKED_H
#define TC_PACKED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classify/result.h"

/* Bounds a packed value is checked against, as the decoder's. */
#define TC__PACKED_MAX_ITEMS 1024
#define TC__PACKED_MAX_JSON ((size_t)1 << 24)

/* A classification as parts: its canonical JSON and its decoded fields,
 * the strings unescaped. */
typedef struct tc__result_parts {
    const char *json;  /* the canonical JSON ... */
    size_t body;       /* ... up to its final '}', excluded */
    size_t intent_end; /* the offset just after the intent member */
    const char *intent;
    double confidence; /* as the JSON's digits read back */
    const tc_label_score *top;
    size_t ntop;
    const char *complexity; /* NULL: none */
    const char *const *techniques;
    size_t ntechniques;
    const char *model; /* NULL: "" */
    /* the model identity its answers are counted under (served.h): the
     * classifier's, which the key holds, whatever model the JSON names;
     * NULL: model */
    const char *counted;
} tc__result_parts;

/*
 * The packed form of p, tc__malloc'd into *out (*outlen bytes); its first
 * p->body + 1 bytes are the JSON, then a NUL. Returns TC_OK, TC_ETOOBIG
 * (past the bounds above) or TC_ENOMEM.
 */
int tc__result_pack(char **out, size_t *outlen, const tc__result_parts *p);

/*
 * The packed form of a fresh answer, its JSON written as
 * tc__result_encode writes it and its fields taken from what was written
 * (the scores as their digits read back), so that it unpacks to what
 * decoding that JSON gives; counted as tc__result_parts' (NULL: model).
 * Returns TC_OK, TC_ERANGE (a score not finite), TC_ETOOBIG or
 * TC_ENOMEM.
 */
int tc__result_build(char **out, size_t *outlen, const char *intent,
                     double confidence, const tc_label_score *top, size_t ntop,
                     const tc__head_out *heads, size_t nheads,
                     const char *model, const char *counted);

/* Whether val[0..len) is a packed form, whole and consistent. */
int tc__result_is_packed(const char *val, size_t len);

/* The length of the JSON a packed form of len bytes begins with, read
 * from its foot: what the L2 gets of a value just packed, without a scan
 * of the JSON for its NUL (strlen, when val has no foot). */
size_t tc__packed_json_len(const char *val, size_t len);

/*
 * The result of a packed value, as tc__result_decode would build it from
 * the JSON: intent "unknown" below threshold, "source" and "latency_us"
 * appended to the JSON. On TC_OK *served (served may be NULL) gets the
 * served hash (classify/served.h) of the identity the value is counted
 * under (tc__result_parts' counted) and its intent, hashed once when it
 * was packed, so that counting the answer hashes no string; 0 when the
 * intent is "unknown" by the threshold (the caller then hashes what it
 * answers). Returns TC_OK, TC_EPROTO (not a
 * packed form, or damaged) or TC_ENOMEM.
 */
int tc__result_unpack(tc_result **out, const char *val, size_t len,
                      tc_source source, double threshold, int64_t t0_us,
                      uint64_t *served);

#endif
