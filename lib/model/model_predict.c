/*
 * model_predict.c - tc_model_predict: the forward pass (model_forward.c),
 * the corrections the current version remembers (model_memory.c), and
 * the top labels of every head. A prediction takes no lock and allocates
 * only its result: the weights never change, and the version with the
 * corrections is held through the read side of model.c.
 */
#include <string.h>

#include "model/model.h"

/* The indices of the k best of n scores, best first (k is small). */
static size_t top_k(const float *p, uint32_t n, size_t k, uint32_t *idx)
{
    size_t have = 0, j;
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (have == k && p[i] <= p[idx[have - 1]]) {
            continue;
        }
        j = have < k ? have++ : have - 1;
        while (j > 0 && p[idx[j - 1]] < p[i]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return have;
}

int tc__model_predict(tc_prediction **out, const tc_model *m, const char *text,
                      size_t len, int top_k_arg)
{
    tc__scratch s;
    tc__err err;
    tc__version *v;
    _Atomic long *rd;
    tc_prediction *p;
    tc_head_prediction *hp;
    tc_label_score *ls;
    float *hidden, *prob, evidence;
    uint32_t *idx, *nsel;
    char fp[TC_FINGERPRINT_LEN + 1];
    size_t need, h, i, total = 0, strbytes = 0;
    char *str;
    int rc;

    rc = tc__featurize_known(
        &s, m, text ? text : "", len,
        m->stride + (size_t)m->nout_pad + m->nout + m->nheads, &err);
    if (rc != TC_OK) {
        return tc__fail(rc, "%s", err.msg);
    }
    hidden = s.floats;
    prob = hidden + m->stride;
    idx = (uint32_t *)(void *)(prob + m->nout_pad);
    nsel = idx + m->nout;

    evidence = tc__hidden_known(m, &s, hidden);
    tc__scores(m, hidden, prob);
    tc__probabilities(m, prob, evidence);
    rd = tc__read_enter(m, &v);
    if (v->mem.n > 0) {
        tc__memory_apply(m, v, &s, prob);
    }
    memcpy(fp, v->fingerprint, sizeof(fp));
    tc__read_leave(rd);

    /* Choose the labels of each head, then size the one allocation. */
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        uint32_t *ix = idx + hd->first;
        const float *ph = prob + hd->first;
        size_t k =
            top_k_arg > 0 ? (size_t)top_k_arg : (hd->multi ? hd->nlabels : 1);

        k = top_k(ph, hd->nlabels, k < hd->nlabels ? k : hd->nlabels, ix);
        if (hd->multi && k > 1) {
            /* the best label always, the others only when they apply */
            for (i = 1; i < k && ph[ix[i]] >= TC__MULTI_MIN; i++) {
            }
            k = i;
        }
        nsel[h] = (uint32_t)k;
        total += k;
        strbytes += strlen(hd->name) + 1;
        for (i = 0; i < k; i++) {
            strbytes += strlen(hd->labels[ix[i]]) + 1;
        }
    }
    need =
        sizeof(*p) + m->nheads * sizeof(*hp) + total * sizeof(*ls) + strbytes;
    p = tc__malloc(need);
    if (!p) {
        tc__scratch_done(&s);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    hp = (tc_head_prediction *)(p + 1);
    ls = (tc_label_score *)(hp + m->nheads);
    str = (char *)(ls + total);
    p->nheads = m->nheads;
    p->heads = hp;
    memcpy(p->fingerprint, fp, sizeof(fp));
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        size_t n = strlen(hd->name) + 1;

        memcpy(str, hd->name, n);
        hp[h].head = str;
        str += n;
        hp[h].multi_label = hd->multi;
        hp[h].n = nsel[h];
        hp[h].labels = ls;
        for (i = 0; i < nsel[h]; i++) {
            uint32_t l = idx[hd->first + i];

            n = strlen(hd->labels[l]) + 1;
            memcpy(str, hd->labels[l], n);
            ls->label = str;
            ls->score = prob[hd->first + l];
            str += n;
            ls++;
        }
    }
    tc__scratch_done(&s);
    *out = p;
    return TC_OK;
}
