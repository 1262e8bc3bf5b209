/*
 * packed.c - the form of a classification that L1 keeps: its canonical
 * JSON, then the result already decoded (confidence, scores, the offsets
 * of its unescaped strings), so that a hit copies and relocates instead
 * of parsing. The JSON comes first and ends in a NUL, so a reader that
 * takes the value as a C string still sees the JSON the L2 stores; the
 * last four bytes say the rest is there. The form never leaves the
 * process: the L2 gets the JSON alone.
 *
 *   json '}' NUL | head | ntop x {score, label} | ntech x offset | strings
 *   | json length (4 bytes) | "TCp1"
 *
 * Fields are copied in and out with memcpy: the value sits at any
 * alignment in an L1 entry or a caller's buffer.
 */
#include <stddef.h>
#include <string.h>

#include "classify/packed.h"
#include "classify/served.h"

#define MAGIC "TCp1"
#define NONE UINT32_MAX
#define FOOT (4 + 4)
/* "{"intent":"unknown"" replaces the intent member below the threshold */
#define UNKNOWN_HEAD "{\"intent\":\"" TC__UNKNOWN_INTENT "\""

typedef struct pk_head {
    double confidence;
    uint64_t served; /* tc__served_hash of the counted identity and intent */
    uint32_t ntop, ntech, slen, intent_end;
    uint32_t intent, complexity, model; /* offsets in the strings */
} pk_head;

typedef struct pk_top {
    double score;
    uint32_t label, pad;
} pk_top;

/* Appends s and its NUL to the strings at *at; returns its offset. */
static uint32_t put_str(char *strs, size_t *at, const char *s)
{
    size_t o = *at;

    *at = (size_t)(stpcpy(strs + o, s) - strs) + 1;
    return (uint32_t)o;
}

int tc__result_pack(char **out, size_t *outlen, const tc__result_parts *p)
{
    size_t slen = 0, i, jlen = p->body + 1, size, at = 0;
    char *b, *strs;
    pk_head h;

    *out = NULL;
    *outlen = 0;
    if (p->ntop > TC__PACKED_MAX_ITEMS ||
        p->ntechniques > TC__PACKED_MAX_ITEMS ||
        p->body > TC__PACKED_MAX_JSON || p->intent_end > p->body) {
        return TC_ETOOBIG;
    }
    slen = strlen(p->intent) + 1 + strlen(p->model ? p->model : "") + 1 +
           (p->complexity ? strlen(p->complexity) + 1 : 0);
    for (i = 0; i < p->ntop; i++) {
        slen += strlen(p->top[i].label) + 1;
    }
    for (i = 0; i < p->ntechniques; i++) {
        slen += strlen(p->techniques[i]) + 1;
    }
    if (slen > TC__PACKED_MAX_JSON) {
        return TC_ETOOBIG;
    }
    size = jlen + 1 + sizeof(h) + p->ntop * sizeof(pk_top) +
           p->ntechniques * 4 + slen + FOOT;
    if (!(b = tc__malloc(size))) {
        return TC_ENOMEM;
    }
    memcpy(b, p->json, p->body);
    b[p->body] = '}';
    b[jlen] = '\0';
    strs = b + size - FOOT - slen;
    memset(&h, 0, sizeof(h));
    h.confidence = p->confidence;
    h.ntop = (uint32_t)p->ntop;
    h.ntech = (uint32_t)p->ntechniques;
    h.slen = (uint32_t)slen;
    h.intent_end = (uint32_t)p->intent_end;
    h.intent = put_str(strs, &at, p->intent);
    h.model = put_str(strs, &at, p->model ? p->model : "");
    /* hashed once here, so that counting an answer unpacked from this
     * hashes nothing; put_str measured the intent and the model */
    h.served = p->counted ? tc__served_hash(p->counted, strlen(p->counted),
                                            p->intent, h.model - h.intent - 1)
                          : tc__served_hash(strs + h.model, at - h.model - 1,
                                            p->intent, h.model - h.intent - 1);
    h.complexity = p->complexity ? put_str(strs, &at, p->complexity) : NONE;
    memcpy(b + jlen + 1, &h, sizeof(h));
    for (i = 0; i < p->ntop; i++) {
        pk_top t = {p->top[i].score, put_str(strs, &at, p->top[i].label), 0};

        memcpy(b + jlen + 1 + sizeof(h) + i * sizeof(t), &t, sizeof(t));
    }
    for (i = 0; i < p->ntechniques; i++) {
        uint32_t o = put_str(strs, &at, p->techniques[i]);

        memcpy(b + jlen + 1 + sizeof(h) + p->ntop * sizeof(pk_top) + i * 4, &o,
               4);
    }
    {
        uint32_t j = (uint32_t)jlen;

        memcpy(b + size - FOOT, &j, 4);
        memcpy(b + size - 4, MAGIC, 4);
    }
    *out = b;
    *outlen = size;
    return TC_OK;
}

/*
 * The head of a packed value after its checks: the sizes add up to len
 * exactly and every string offset falls inside the strings, whose last
 * byte is a NUL, so that a damaged value (or another writer's bytes that
 * happen to end in the magic) cannot make unpack read out of bounds.
 * Returns the JSON's length (without its NUL), or 0.
 */
static size_t check(pk_head *h, const char *val, size_t len)
{
    uint32_t j;
    size_t jlen, need;

    if (len < FOOT + sizeof(*h) + 3 || memcmp(val + len - 4, MAGIC, 4) != 0) {
        return 0;
    }
    memcpy(&j, val + len - FOOT, 4);
    jlen = j;
    if (jlen < 2 || jlen > len - FOOT - sizeof(*h) - 1 || val[jlen] != '\0' ||
        val[jlen - 1] != '}') {
        return 0;
    }
    memcpy(h, val + jlen + 1, sizeof(*h));
    if (h->ntop > TC__PACKED_MAX_ITEMS || h->ntech > TC__PACKED_MAX_ITEMS ||
        h->slen == 0 || h->slen > TC__PACKED_MAX_JSON) {
        return 0;
    }
    need = jlen + 1 + sizeof(*h) + (size_t)h->ntop * sizeof(pk_top) +
           (size_t)h->ntech * 4 + h->slen + FOOT;
    if (need != len || val[len - FOOT - 1] != '\0' || h->intent >= h->slen ||
        h->model >= h->slen ||
        (h->complexity != NONE && h->complexity >= h->slen) ||
        h->intent_end >= jlen) {
        return 0;
    }
    return jlen;
}

int tc__result_is_packed(const char *val, size_t len)
{
    pk_head h;

    return check(&h, val, len) != 0;
}

size_t tc__packed_json_len(const char *val, size_t len)
{
    uint32_t j;

    if (len < FOOT || memcmp(val + len - 4, MAGIC, 4) != 0) {
        return strlen(val);
    }
    memcpy(&j, val + len - FOOT, 4);
    return j < len ? j : strlen(val);
}

int tc__result_unpack(tc_result **out, const char *val, size_t len,
                      tc_source source, double threshold, int64_t t0_us,
                      uint64_t *served)
{
    const char *pt, *pe, *strs;
    tc_label_score *top;
    const char **tech;
    size_t jlen, body, size, i, head;
    char *block, *s, *o;
    tc_result *r;
    pk_head h;
    int below;

    *out = NULL;
    if (!(jlen = check(&h, val, len))) {
        return TC_EPROTO;
    }
    pt = val + jlen + 1 + sizeof(h);
    pe = pt + h.ntop * sizeof(pk_top);
    strs = val + len - FOOT - h.slen;
    below = h.confidence < threshold;
    head = below ? sizeof(UNKNOWN_HEAD) - 1 : 0;
    body = below ? jlen - 1 - h.intent_end : jlen - 1;
    size = sizeof(*r) + h.ntop * sizeof(*top) + h.ntech * sizeof(*tech) +
           h.slen + head + body + TC__RESULT_TAIL_MAX;
    if (!(block = tc__malloc(size))) {
        return TC_ENOMEM;
    }
    r = (tc_result *)block;
    top = (tc_label_score *)(block + sizeof(*r));
    tech = (const char **)(top + h.ntop);
    s = (char *)(tech + h.ntech);
    memcpy(s, strs, h.slen);
    for (i = 0; i < h.ntop; i++) {
        pk_top t;

        memcpy(&t, pt + i * sizeof(t), sizeof(t));
        if (t.label >= h.slen) {
            tc__free(block);
            return TC_EPROTO;
        }
        top[i].label = s + t.label;
        top[i].score = t.score;
    }
    for (i = 0; i < h.ntech; i++) {
        uint32_t off;

        memcpy(&off, pe + i * 4, 4);
        if (off >= h.slen) {
            tc__free(block);
            return TC_EPROTO;
        }
        tech[i] = s + off;
    }
    memset(r, 0, sizeof(*r));
    r->confidence = h.confidence;
    r->intent = below ? TC__UNKNOWN_INTENT : s + h.intent;
    r->ntop = h.ntop;
    r->top = top;
    r->complexity = h.complexity == NONE ? NULL : s + h.complexity;
    r->ntechniques = h.ntech;
    r->techniques = tech;
    r->source = source;
    r->model = s + h.model;
    r->latency_us = tc__now_us() - t0_us;
    o = s + h.slen;
    r->json = o;
    if (below) {
        memcpy(o, UNKNOWN_HEAD, head);
        memcpy(o + head, val + h.intent_end, body);
    } else {
        memcpy(o, val, body);
    }
    tc__result_tail(o + head + body, source, r->latency_us);
    if (served) {
        *served = below ? 0 : h.served;
    }
    *out = r;
    return TC_OK;
}
