/*
 * model_info.c - tc_model_info_json: what a model is (heads and labels,
 * hyper-parameters, sizes in memory and on disk, fingerprint).
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/model.h"

/* Bytes the model holds in memory (the current version's corrections
 * counted by their texts and words). */
static size_t model_bytes(const tc_model *m, const tc__version *v)
{
    size_t n = sizeof(*m) + sizeof(tc__version), h, i;

    n += (size_t)m->hp.buckets * (m->stride + sizeof(float)) + 63;
    n += (size_t)m->nout * (m->stride + 1) * sizeof(float);
    n += (size_t)m->nout_pad * m->hp.dim * sizeof(float);
    if (m->vocab.n) {
        n += (size_t)m->vocab.nslots * sizeof(uint32_t) +
             (size_t)m->vocab.off[m->vocab.n] * sizeof(uint32_t);
    }
    for (i = 0; i < m->vocab.n; i++) {
        n += strlen(m->vocab.words[i]) + 1 + sizeof(char *) + sizeof(uint64_t) +
             2 * sizeof(uint32_t) + 1 + m->stride * sizeof(float);
    }
    for (i = 0; i < m->nrefs; i++) {
        n += strlen(m->ref_text[i]) + 1 + sizeof(char *) + sizeof(uint32_t);
    }
    for (i = 0; i < v->mem.n; i++) {
        const tc__mem_entry *e = v->mem.e[i];

        n += sizeof(*e) + 2 * sizeof(uint32_t) + e->len + 1 +
             e->nt * sizeof(tc__target) +
             e->nw * (sizeof(uint64_t) + sizeof(float));
    }
    for (h = 0; h < m->nheads; h++) {
        n += sizeof(tc__head) + strlen(m->heads[h].name) + 1;
        for (i = 0; i < m->heads[h].nlabels; i++) {
            n += sizeof(char *) + strlen(m->heads[h].labels[i]) + 1;
        }
    }
    return n;
}

int tc__model_info_json(char **out, const tc_model *m)
{
    cJSON *root, *heads, *hp;
    char fp[TC_FINGERPRINT_LEN + 1];
    tc__version *v;
    _Atomic long *rd;
    size_t h, i, bytes, corrections;
    int ok = 1;

    rd = tc__read_enter(m, &v);
    memcpy(fp, v->fingerprint, sizeof(fp));
    bytes = model_bytes(m, v);
    corrections = v->mem.n;
    tc__read_leave(rd);
    root = cJSON_CreateObject();
    ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "fingerprint", fp);
    ok = ok && cJSON_AddNumberToObject(root, "memory_bytes", (double)bytes);
    ok = ok && cJSON_AddNumberToObject(root, "file_bytes",
                                       (double)tc__model_file_size(m));
    ok =
        ok && cJSON_AddNumberToObject(root, "corrections", (double)corrections);
    ok = ok && cJSON_AddNumberToObject(root, "references", m->nrefs);
    hp = ok ? cJSON_AddObjectToObject(root, "hyperparameters") : NULL;
    ok = hp != NULL;
    ok = ok && cJSON_AddNumberToObject(hp, "dim", m->hp.dim);
    ok = ok && cJSON_AddNumberToObject(hp, "buckets", m->hp.buckets);
    ok = ok && cJSON_AddNumberToObject(hp, "word_ngrams", m->hp.word_ngrams);
    ok = ok && cJSON_AddNumberToObject(hp, "minn", m->hp.minn);
    ok = ok && cJSON_AddNumberToObject(hp, "maxn", m->hp.maxn);
    ok = ok && cJSON_AddNumberToObject(hp, "epochs", m->hp.epochs);
    ok = ok && cJSON_AddNumberToObject(hp, "lr", m->hp.lr);
    ok = ok && cJSON_AddNumberToObject(hp, "seed", (double)m->hp.seed);
    ok = ok && (m->oos >= 0
                    ? cJSON_AddStringToObject(
                          root, "oos_label", m->heads[0].labels[m->oos]) != NULL
                    : cJSON_AddNullToObject(root, "oos_label") != NULL);
    heads = ok ? cJSON_AddArrayToObject(root, "heads") : NULL;
    ok = heads != NULL;
    for (h = 0; ok && h < m->nheads; h++) {
        cJSON *o = cJSON_CreateObject(), *labels = NULL;

        ok = o && cJSON_AddItemToArray(heads, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "name", m->heads[h].name) &&
             cJSON_AddBoolToObject(o, "multi_label", m->heads[h].multi);
        if (ok && !m->heads[h].multi) {
            cJSON *cal = cJSON_AddObjectToObject(o, "calibration");

            ok = cal &&
                 cJSON_AddNumberToObject(cal, "a", m->heads[h].calib_a) &&
                 cJSON_AddNumberToObject(cal, "b", m->heads[h].calib_b) &&
                 cJSON_AddNumberToObject(cal, "c", m->heads[h].calib_c) &&
                 cJSON_AddNumberToObject(cal, "d", m->heads[h].calib_d);
        }
        labels = ok ? cJSON_AddArrayToObject(o, "labels") : NULL;
        ok = labels != NULL;
        for (i = 0; ok && i < m->heads[h].nlabels; i++) {
            cJSON *s = cJSON_CreateString(m->heads[h].labels[i]);

            ok = s && cJSON_AddItemToArray(labels, s);
            if (!ok) {
                cJSON_Delete(s);
            }
        }
    }
    *out = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!*out) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    return TC_OK;
}
