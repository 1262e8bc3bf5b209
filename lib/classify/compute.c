/*
 * compute.c - a classification's answer from the model, in the packed
 * form the cache keeps (packed.h: the canonical JSON the L2 gets, then
 * the result decoded for L1): the built-in model's prediction, a host
 * callback's JSON made canonical, and any JSON classification packed.
 * Apart from classify.c's lookups, since only a miss comes here.
 */
#include <string.h>

#include "classify/classifier.h"
#include "classify/packed.h"
#include "classify/result.h"
#include "model/model.h"

/* The built-in model's answer packed (packed.h): its canonical JSON,
 * which the L2 gets, and the result decoded, which L1 keeps; counted
 * under the key's identity id. */
static int model_packed(char **out, size_t *outlen, char *fp,
                        const tc_classifier *c, const char *norm, size_t len,
                        const char *id)
{
    tc__head_out heads[16];
    const char *labels[16][32];
    const tc_head_prediction *h;
    const char *oos;
    tc_prediction *p;
    size_t i, j, nheads = 0;
    int rc;

    *out = NULL;
    if ((rc = tc__model_predict(&p, c->model, norm, len, c->top_k)) != TC_OK) {
        return rc;
    }
    memcpy(fp, p->fingerprint, sizeof(p->fingerprint));
    if (p->nheads == 0 || p->heads[0].n == 0) {
        tc__free(p);
        return TC_EINTERNAL;
    }
    for (i = 1; i < p->nheads && nheads < 16; i++) {
        size_t n = 0;

        h = &p->heads[i];
        for (j = 0; j < h->n && n < 32; j++) {
            /* a multi-label head lists the labels it believes in */
            if (!h->multi_label || h->labels[j].score >= TC__MULTI_MIN) {
                labels[nheads][n++] = h->labels[j].label;
            }
            if (!h->multi_label) {
                break;
            }
        }
        heads[nheads] =
            (tc__head_out){h->head, h->multi_label, n, labels[nheads]};
        nheads++;
    }
    h = &p->heads[0];
    /* the model's own out-of-scope label is answered as such */
    oos = tc__model_oos_label(c->model);
    rc = tc__result_build(
        out, outlen,
        oos && strcmp(h->labels[0].label, oos) == 0 ? TC__UNKNOWN_INTENT
                                                    : h->labels[0].label,
        h->labels[0].score, h->labels, h->n, heads, nheads, p->fingerprint, id);
    tc__free(p);
    return rc;
}

int tc__classify_pack_json(char **out, size_t *outlen, const char *val,
                           size_t len, const char *id)
{
    char *canon = NULL;
    size_t clen, intent_end, close;
    tc_result *r;
    int rc = tc__result_decode_at(&r, &intent_end, &close, val, len,
                                  TC_SOURCE_MODEL, 0, 0);

    if (rc == TC_EPROTO && !memchr(val, '\0', len)) {
        if ((rc = tc__result_canonical(&canon, &clen, val, id)) != TC_OK) {
            return rc;
        }
        val = canon;
        rc = tc__result_decode_at(&r, &intent_end, &close, val, clen,
                                  TC_SOURCE_MODEL, 0, 0);
    }
    if (rc == TC_OK) {
        tc__result_parts p = {
            val,           close,          intent_end, r->intent,
            r->confidence, r->top,         r->ntop,    r->complexity,
            r->techniques, r->ntechniques, r->model,   id};

        rc = tc__result_pack(out, outlen, &p);
        tc__free(r);
    }
    tc__free(canon);
    return rc == TC_ETOOBIG ? TC_EPROTO : rc;
}

int tc__classify_compute(char **packed, size_t *plen, int *cacheable,
                         tc_classifier *c, const char *norm, size_t len,
                         const char *id)
{
    char fp[TC_FINGERPRINT_LEN + 1], *json, *canon;
    size_t clen;
    int rc;

    *packed = NULL;
    *cacheable = 1;
    if (c->model) {
        rc = model_packed(packed, plen, fp, c, norm, len, id);
        if (rc == TC_OK && strcmp(fp, id) != 0) {
            *cacheable = 0; /* answered by a newer version than the key */
        }
        return rc == TC_ETOOBIG || rc == TC_ERANGE ? TC_EINTERNAL : rc;
    }
    json = NULL;
    rc = c->fn(&json, norm, len, c->fn_userdata);
    if (rc != TC_OK) {
        tc__free(json);
        return tc__fail(TC_ELOADER, "classifier %s returned %s", c->fn_version,
                        tc__error_name(rc));
    }
    if (!json) {
        return tc__fail(TC_ELOADER, "classifier %s returned no JSON",
                        c->fn_version);
    }
    /* always the canonical form, with "model" defaulting to the id */
    rc = tc__result_canonical(&canon, &clen, json, id);
    if (rc == TC_EPROTO) {
        rc = tc__fail(TC_ELOADER,
                      "classifier %s answered no JSON object with intent "
                      "and confidence 0..1: %.200s",
                      c->fn_version, json);
    }
    tc__free(json);
    if (rc == TC_OK) {
        rc = tc__classify_pack_json(packed, plen, canon, clen, id);
        tc__free(canon);
    }
    return rc == TC_EPROTO ? TC_EINTERNAL : rc;
}
