/*
 * model_update.c - online learning of one labelled example (a user's
 * correction). The update copies the current version, takes SGD steps on
 * the rows the text reaches until the corrected labels win with a margin
 * (and the heads the correction does not name keep their answers), and
 * swaps the new version in; predictions running meanwhile finish on the
 * old one.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model.h"

/* What an update must reach: the corrected label wins with room to spare,
 * so that close paraphrases of the text flip with it. */
#define UPDATE_TARGET_P 0.95f
#define UPDATE_MAX_STEPS 200
#define UPDATE_LR 0.2f

/* Reads the labels of a correction; heads absent from it are left alone. */
static int update_targets(const tc_model *m, const cJSON *root, tc__target *t,
                          size_t *nt, tc__err *err)
{
    size_t h, g;
    const cJSON *f, *el;

    *nt = 0;
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        int l;

        f = cJSON_GetObjectItemCaseSensitive(root, hd->name);
        if (!f) {
            continue;
        }
        if (!hd->multi) {
            if (!cJSON_IsString(f)) {
                return tc__errf(err, TC_EINVAL, "%s: not a string", hd->name);
            }
            l = tc__label_find(hd, f->valuestring);
            if (l < 0) {
                return tc__errf(err, TC_EINVAL, "%s: unknown label \"%.100s\"",
                                hd->name, f->valuestring);
            }
            t[*nt].head = (uint32_t)h;
            t[(*nt)++].label = (uint32_t)l;
            continue;
        }
        if (!cJSON_IsArray(f)) {
            return tc__errf(err, TC_EINVAL, "%s: not an array", hd->name);
        }
        if (*nt == TC__MAX_TARGETS) {
            return tc__errf(err, TC_EINVAL, "%s: too many labels", hd->name);
        }
        g = *nt;
        t[*nt].head = (uint32_t)h;
        t[(*nt)++].label = UINT32_MAX;
        cJSON_ArrayForEach(el, f)
        {
            if (!cJSON_IsString(el)) {
                return tc__errf(err, TC_EINVAL, "%s: not an array of strings",
                                hd->name);
            }
            l = tc__label_find(hd, el->valuestring);
            if (l < 0) {
                return tc__errf(err, TC_EINVAL, "%s: unknown label \"%.100s\"",
                                hd->name, el->valuestring);
            }
            if (*nt == TC__MAX_TARGETS) {
                return tc__errf(err, TC_EINVAL, "%s: too many labels",
                                hd->name);
            }
            if (!tc__has_label(t + g, *nt - g, (uint32_t)l)) {
                t[*nt].head = (uint32_t)h;
                t[(*nt)++].label = (uint32_t)l;
            }
        }
    }
    if (*nt == 0) {
        return tc__errf(err, TC_EINVAL, "no head of the model in the example");
    }
    return TC_OK;
}

/*
 * Whether the probabilities p meet the targets: a corrected label at
 * UPDATE_TARGET_P at least, and no label of a corrected multi-label head
 * that the correction leaves out at 0.5 or more. Heads in `anchored` were
 * not named by the correction; their targets are what the model predicted
 * before, and they need only keep it (same best label; same labels at
 * 0.5 or more).
 */
static int update_reached(const tc_model *m, const tc__target *t, size_t nt,
                          uint64_t anchored, const float *p)
{
    size_t i, j;
    uint32_t l;

    for (i = 0; i < nt; i++) {
        const tc__head *hd = &m->heads[t[i].head];
        const float *ph = p + hd->first;
        int anchor = (anchored >> t[i].head) & 1;

        if (!hd->multi) {
            for (l = 0; anchor && l < hd->nlabels; l++) {
                if (ph[l] > ph[t[i].label]) {
                    return 0;
                }
            }
            if (!anchor && ph[t[i].label] < UPDATE_TARGET_P) {
                return 0;
            }
            continue;
        }
        if (t[i].label != UINT32_MAX) {
            if (ph[t[i].label] < (anchor ? 0.5f : UPDATE_TARGET_P)) {
                return 0;
            }
            continue;
        }
        for (l = 0; l < hd->nlabels; l++) {
            int y = 0;

            for (j = i + 1; j < nt && t[j].head == t[i].head; j++) {
                y |= t[j].label == l;
            }
            if (!y && ph[l] >= 0.5f) {
                return 0; /* a label the correction leaves out */
            }
        }
    }
    return 1;
}

/*
 * Adds the heads a correction does not name to its targets, with what
 * the version predicts for the text now, so that correcting one head
 * leaves the others' answers as they were. Returns the anchored heads.
 */
static uint64_t anchor_heads(const tc_model *m, const tc__version *v,
                             const uint32_t *feat, size_t nf, tc__target *t,
                             size_t *nt, float *work)
{
    tc__target all[TC__MAX_TARGETS];
    float *hidden = work, *p = work + m->stride;
    uint64_t anchored = 0;
    size_t h, i = 0, n = 0;
    uint32_t l;

    tc__hidden(m, v, feat, nf, hidden);
    tc__scores(m, v, hidden, p);
    tc__probabilities(m, p);
    for (h = 0; h < m->nheads; h++) {
        const tc__head *hd = &m->heads[h];
        const float *ph = p + hd->first;

        if (i < *nt && t[i].head == h) {
            for (; i < *nt && t[i].head == h && n < TC__MAX_TARGETS; i++) {
                all[n++] = t[i];
            }
            continue;
        }
        if (n + 1 + hd->nlabels > TC__MAX_TARGETS || hd->nlabels == 0) {
            continue;
        }
        anchored |= 1ULL << h;
        if (!hd->multi) {
            uint32_t best = 0;

            for (l = 1; l < hd->nlabels; l++) {
                best = ph[l] > ph[best] ? l : best;
            }
            all[n].head = (uint32_t)h;
            all[n++].label = best;
            continue;
        }
        all[n].head = (uint32_t)h;
        all[n++].label = UINT32_MAX;
        for (l = 0; l < hd->nlabels; l++) {
            if (ph[l] >= 0.5f) {
                all[n].head = (uint32_t)h;
                all[n++].label = l;
            }
        }
    }
    memcpy(t, all, n * sizeof(*t));
    *nt = n;
    return anchored;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * SGD steps on a copy of the rows the text reaches (dequantized), each
 * step moving every row by the whole hidden gradient so the text's own
 * prediction moves quickly; the output layer is left alone at first, since
 * it is shared by every text, and joins only if the rows alone do not get
 * there. Rows are quantized back after every step, so what is checked is
 * exactly what will be served.
 */
static int update_version(const tc_model *m, tc__version *v,
                          const uint32_t *feat, size_t nf, tc__target *t,
                          size_t nt)
{
    uint64_t anchored;
    uint32_t *rows = NULL, *local = NULL;
    float *in = NULL, *work = NULL;
    size_t nrows = 0, i, stride = m->stride;
    tc__sgd c;
    int step, rc = TC_ENOMEM;

    rows = tc__calloc(nf ? nf : 1, sizeof(uint32_t));
    local = tc__calloc(nf ? nf : 1, sizeof(uint32_t));
    work = tc__calloc(2 * stride + m->nout_pad, sizeof(float));
    if (!rows || !local || !work) {
        goto done;
    }
    memcpy(rows, feat, nf * sizeof(uint32_t));
    qsort(rows, nf, sizeof(uint32_t), cmp_u32);
    for (i = 0; i < nf; i++) {
        if (nrows == 0 || rows[nrows - 1] != rows[i]) {
            rows[nrows++] = rows[i];
        }
    }
    in = tc__calloc(nrows ? nrows * stride : 1, sizeof(float));
    if (!in) {
        goto done;
    }
    for (i = 0; i < nf; i++) {
        uint32_t *r = bsearch(&feat[i], rows, nrows, sizeof(uint32_t), cmp_u32);

        local[i] = (uint32_t)(r - rows);
    }
    for (i = 0; i < nrows; i++) {
        const int8_t *q = v->in_q + (size_t)rows[i] * stride;
        uint32_t k;

        for (k = 0; k < m->hp.dim; k++) {
            in[i * stride + k] = v->in_scale[rows[i]] * (float)q[k];
        }
    }
    c.m = m;
    c.in = in;
    c.out = v->out;
    c.bias = v->bias;
    c.row_scale = 1.0f;
    c.ova = 0; /* the softmax probability is what must reach the target */
    c.hidden = work;
    c.grad = work + stride;
    c.scores = work + 2 * stride;
    anchored = anchor_heads(m, v, feat, nf, t, &nt, work);
    for (step = 0; step < UPDATE_MAX_STEPS; step++) {
        tc__hidden(m, v, feat, nf, c.hidden);
        tc__scores(m, v, c.hidden, c.scores);
        tc__probabilities(m, c.scores);
        if (update_reached(m, t, nt, anchored, c.scores)) {
            break;
        }
        c.learn_out = step >= UPDATE_MAX_STEPS / 4;
        tc__sgd_step(&c, local, nf, t, nt, UPDATE_LR);
        if (c.learn_out) {
            tc__version_transpose(m, v);
        }
        for (i = 0; i < nrows; i++) {
            tc__quantize_row(m, in + i * stride,
                             v->in_q + (size_t)rows[i] * stride,
                             &v->in_scale[rows[i]]);
        }
    }
    rc = TC_OK;
done:
    tc__free(rows);
    tc__free(local);
    tc__free(in);
    tc__free(work);
    return rc;
}

TC_API int tc_model_update(tc_model *m, const char *example_json, char *errbuf,
                           size_t errlen)
{
    tc__target t[TC__MAX_TARGETS];
    tc__scratch s;
    tc__err err;
    tc__version *cur, *v = NULL;
    const cJSON *text;
    cJSON *root = NULL;
    size_t nt = 0;
    int rc, locked = 0;

    if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    tc__clear(NULL);
    if (!m || !example_json) {
        rc = tc__errf(&err, TC_EINVAL, "NULL argument");
        goto fail;
    }
    tc__oom_take();
    root = cJSON_Parse(example_json);
    if (!root || !cJSON_IsObject(root)) {
        rc = !root && tc__oom_take()
                 ? tc__errf(&err, TC_ENOMEM, "out of memory")
                 : tc__errf(&err, TC_EINVAL, "not a JSON object");
        goto fail;
    }
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!cJSON_IsString(text)) {
        rc = tc__errf(&err, TC_EINVAL, "text: %s",
                      text ? "not a string" : "missing");
        goto fail;
    }
    rc = update_targets(m, root, t, &nt, &err);
    if (rc != TC_OK) {
        goto fail;
    }
    rc = tc__featurize(&s, m, text->valuestring, strlen(text->valuestring), 0,
                       &err);
    if (rc != TC_OK) {
        goto fail;
    }
    pthread_mutex_lock(&m->update_mu);
    locked = 1;
    cur = atomic_load(&m->cur); /* updaters are serialized: it stays */
    v = tc__version_new(m);
    if (v) {
        memcpy(v->in_q, cur->in_q, (size_t)m->hp.buckets * m->stride);
        memcpy(v->in_scale, cur->in_scale, m->hp.buckets * sizeof(float));
        memcpy(v->out, cur->out, (size_t)m->nout * m->stride * sizeof(float));
        memcpy(v->out_t, cur->out_t,
               (size_t)m->nout_pad * m->hp.dim * sizeof(float));
        memcpy(v->bias, cur->bias, m->nout * sizeof(float));
        rc = update_version(m, v, s.feat, s.nfeat, t, nt);
        if (rc == TC_OK) {
            rc = tc__version_wvec(m, v, cur, s.feat, s.nfeat);
        }
    } else {
        rc = TC_ENOMEM;
    }
    tc__scratch_done(&s);
    if (rc == TC_OK) {
        rc = tc__model_fingerprint(m, v);
    }
    if (rc != TC_OK) {
        rc = tc__errf(&err, rc, "out of memory");
        goto fail;
    }
    tc__model_publish(m, v);
    pthread_mutex_unlock(&m->update_mu);
    cJSON_Delete(root);
    return TC_OK;
fail:
    if (locked) {
        pthread_mutex_unlock(&m->update_mu);
    }
    tc__version_free(v);
    cJSON_Delete(root);
    if (errbuf && errlen) {
        snprintf(errbuf, errlen, "%s", err.msg);
    }
    return tc__fail(NULL, rc, "%s", err.msg);
}
