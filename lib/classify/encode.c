/*
 * encode.c - the canonical JSON of a classification, written once: its
 * numbers by tc__fmt_g (printf's "%.6g", without printf), and, for a
 * fresh answer, the packed form L1 keeps built beside it from what was
 * written, so that nothing just encoded is decoded again. A value in any
 * other shape is read by cJSON and written again canonically.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fmt.h"
#include "base/sbuf.h"
#include "classify/packed.h"

/* Six digits: calibrated scores carry no more, and values stay short. */
#define DIGITS 6

static char *put(char *o, const char *lit, size_t n)
{
    memcpy(o, lit, n);
    return o + n;
}
#define PUT(o, lit) put(o, lit, sizeof(lit) - 1)

/* A number as the JSON has it; *value (may be NULL) gets what its digits
 * denote. *bad is set for NaN or an infinity, which JSON has not. */
static char *put_number(char *o, double x, double *value, int *bad)
{
    size_t n = tc__fmt_g(o, x, DIGITS, value);

    *bad |= n == 0;
    return o + n;
}

/* What the JSON of a classification can take at most: each string six
 * bytes a byte escaped, each number TC__FMT_MAX, punctuation 32 an item. */
static size_t json_room(const char *intent, const tc_label_score *top,
                        size_t ntop, const tc__head_out *heads, size_t nheads,
                        const char *model)
{
    size_t room = 6 * strlen(intent) + 64 + TC__FMT_MAX, i, j;

    for (i = 0; i < ntop; i++) {
        room += 6 * strlen(top[i].label) + 32 + TC__FMT_MAX;
    }
    for (i = 0; i < nheads; i++) {
        room += 6 * strlen(heads[i].name) + 32;
        for (j = 0; j < heads[i].n; j++) {
            room += 6 * strlen(heads[i].labels[j]) + 8;
        }
    }
    return room + (model ? 6 * strlen(model) + 16 : 0);
}

/*
 * The canonical JSON, written into one block sized beforehand: stack
 * (cap bytes) when it fits there, else tc__malloc'd; *out receives
 * either (*outlen bytes). *intent_end receives the offset just after the
 * intent member, *conf and scores[0..ntop) (either may be NULL) the
 * values the digits written denote. Returns TC_OK, TC_ERANGE (a number
 * not finite) or TC_ENOMEM.
 */
static int write_json(char **out, size_t *outlen, char *stack, size_t cap,
                      size_t *intent_end, double *conf, double *scores,
                      const char *intent, double confidence,
                      const tc_label_score *top, size_t ntop,
                      const tc__head_out *heads, size_t nheads,
                      const char *model)
{
    size_t i, j, room;
    char *b, *o;
    int bad = 0;

    *out = NULL;
    if (ntop > TC__PACKED_MAX_ITEMS || nheads > TC__PACKED_MAX_ITEMS) {
        return TC_ERANGE;
    }
    room = json_room(intent, top, ntop, heads, nheads, model);
    if (!(b = room <= cap ? stack : tc__malloc(room))) {
        return TC_ENOMEM;
    }
    o = PUT(b, "{\"intent\":");
    o = tc__json_put_string(o, intent);
    *intent_end = (size_t)(o - b);
    o = PUT(o, ",\"confidence\":");
    o = put_number(o, confidence, conf, &bad);
    if (ntop) {
        o = PUT(o, ",\"top\":[");
        for (i = 0; i < ntop; i++) {
            o = i ? PUT(o, ",{\"label\":") : PUT(o, "{\"label\":");
            o = tc__json_put_string(o, top[i].label);
            o = PUT(o, ",\"score\":");
            o = put_number(o, top[i].score, scores ? &scores[i] : NULL, &bad);
            *o++ = '}';
        }
        *o++ = ']';
    }
    for (i = 0; i < nheads; i++) {
        *o++ = ',';
        o = tc__json_put_string(o, heads[i].name);
        *o++ = ':';
        if (heads[i].multi) {
            *o++ = '[';
            for (j = 0; j < heads[i].n; j++) {
                if (j) {
                    *o++ = ',';
                }
                o = tc__json_put_string(o, heads[i].labels[j]);
            }
            *o++ = ']';
        } else {
            o = tc__json_put_string(o, heads[i].n ? heads[i].labels[0] : "");
        }
    }
    if (model) {
        o = PUT(o, ",\"model\":");
        o = tc__json_put_string(o, model);
    }
    *o++ = '}';
    *o = '\0';
    if (bad) {
        if (b != stack) {
            tc__free(b);
        }
        return TC_ERANGE;
    }
    *out = b;
    *outlen = (size_t)(o - b);
    return TC_OK;
}

int tc__result_encode(char **out, size_t *outlen, const char *intent,
                      double confidence, const tc_label_score *top, size_t ntop,
                      const tc__head_out *heads, size_t nheads,
                      const char *model)
{
    size_t intent_end, n;
    int rc = write_json(out, &n, NULL, 0, &intent_end, NULL, NULL, intent,
                        confidence, top, ntop, heads, nheads, model);

    if (rc == TC_OK && outlen) {
        *outlen = n;
    }
    return rc;
}

/* The head named name of the kind the decoder keeps (a single label for
 * "complexity", a list for "techniques"), or NULL. */
static const tc__head_out *find_head(const tc__head_out *heads, size_t n,
                                     const char *name, int multi)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!heads[i].multi == !multi && strcmp(heads[i].name, name) == 0) {
            return &heads[i];
        }
    }
    return NULL;
}

int tc__result_build(char **out, size_t *outlen, const char *intent,
                     double confidence, const tc_label_score *top, size_t ntop,
                     const tc__head_out *heads, size_t nheads,
                     const char *model, const char *counted)
{
    char stack[2048]; /* a classification's JSON takes a few hundred */
    tc_label_score small[16], *read = small;
    const tc__head_out *cx, *tech;
    double scores[16], *sc = scores;
    size_t intent_end, len, i;
    char *json = NULL;
    double conf;
    int rc;

    *out = NULL;
    *outlen = 0;
    if (ntop > 16) {
        read = tc__calloc(ntop, sizeof(*read));
        sc = tc__calloc(ntop, sizeof(*sc));
        if (!read || !sc) {
            rc = TC_ENOMEM;
            goto done;
        }
    }
    rc = write_json(&json, &len, stack, sizeof(stack), &intent_end, &conf, sc,
                    intent, confidence, top, ntop, heads, nheads, model);
    if (rc != TC_OK) {
        goto done;
    }
    for (i = 0; i < ntop; i++) {
        read[i].label = top[i].label;
        read[i].score = sc[i];
    }
    cx = find_head(heads, nheads, "complexity", 0);
    tech = find_head(heads, nheads, "techniques", 1);
    {
        tc__result_parts p = {
            json,
            len - 1, /* the final '}' */
            intent_end,
            intent,
            conf,
            read,
            ntop,
            cx ? (cx->n ? cx->labels[0] : "") : NULL,
            tech ? tech->labels : NULL,
            tech ? tech->n : 0,
            model,
            counted,
        };

        rc = tc__result_pack(out, outlen, &p);
    }
done:
    if (json != stack) {
        tc__free(json);
    }
    if (read != small) {
        tc__free(read);
        tc__free(sc);
    }
    return rc;
}

/* ---- any other shape, once ------------------------------------------------
 */

int tc__result_canonical(char **out, size_t *outlen, const char *json,
                         const char *model_default)
{
    cJSON *root, *it, *e;
    tc_label_score top[64];
    tc__head_out heads[16];
    const char *labels[16][32];
    const char *intent, *model = model_default;
    size_t ntop = 0, nheads = 0;
    double conf;
    int rc;

    *out = NULL;
    tc__oom_take();
    root = cJSON_Parse(json);
    if (!root) {
        return tc__oom_take() ? TC_ENOMEM : TC_EPROTO;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "intent");
    e = cJSON_GetObjectItemCaseSensitive(root, "confidence");
    if (!cJSON_IsObject(root) || !cJSON_IsString(it) || !*it->valuestring ||
        !cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble <= 1)) {
        cJSON_Delete(root);
        return TC_EPROTO;
    }
    intent = it->valuestring;
    conf = e->valuedouble;
    cJSON_ArrayForEach(it, root)
    {
        if (strcmp(it->string, "top") == 0 && cJSON_IsArray(it)) {
            cJSON_ArrayForEach(e, it)
            {
                cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "label");
                cJSON *sc = cJSON_GetObjectItemCaseSensitive(e, "score");

                if (ntop < 64 && cJSON_IsString(l) && cJSON_IsNumber(sc)) {
                    top[ntop].label = l->valuestring;
                    top[ntop++].score = sc->valuedouble;
                }
            }
        } else if (strcmp(it->string, "model") == 0 && cJSON_IsString(it)) {
            model = it->valuestring;
        } else if (strcmp(it->string, "intent") == 0 ||
                   strcmp(it->string, "confidence") == 0 ||
                   strcmp(it->string, "source") == 0 ||
                   strcmp(it->string, "latency_us") == 0 || nheads >= 16) {
            continue;
        } else if (cJSON_IsString(it)) {
            labels[nheads][0] = it->valuestring;
            heads[nheads] = (tc__head_out){it->string, 0, 1, labels[nheads]};
            nheads++;
        } else if (cJSON_IsArray(it)) {
            size_t n = 0;

            cJSON_ArrayForEach(e, it)
            {
                if (cJSON_IsString(e) && n < 32) {
                    labels[nheads][n++] = e->valuestring;
                }
            }
            heads[nheads] = (tc__head_out){it->string, 1, n, labels[nheads]};
            nheads++;
        }
    }
    rc = tc__result_encode(out, outlen, intent, conf, top, ntop, heads, nheads,
                           model);
    cJSON_Delete(root);
    return rc;
}
