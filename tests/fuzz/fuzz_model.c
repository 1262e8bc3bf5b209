/*
 * fuzz_model.c - model files (tc_model_load, lib/model/model_load.c) from any
 * bytes, read from a memfd.
 *
 * A mutated file would nearly always stop at the checksum, so the harness
 * reseals what it is given: when the input starts with the magic and is
 * long enough for a header and a checksum, the header's body length and
 * the XXH3-128 checksum at the end are recomputed, and mutations reach the
 * body. An input whose flags word has bit 31 set is left unsealed (the
 * bit is cleared), so the frame's own checks stay in reach.
 *
 * Properties: the load returns TC_OK, TC_ECORRUPT (with a message and no
 * model) or TC_ENOMEM; a loaded model predicts on a few texts, with
 * probabilities in [0, 1], labels best first and the model's fingerprint,
 * describes itself as JSON, and saves; the saved file loads, predicts the
 * same labels with the same scores, and saves again to the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "model/model_file.h"
#include "tutorcache.h"

#include "fuzz_common.h"

static const char *const probes[] = {
    "how do I sort a list in python",
    "What's the weather like tomorrow?",
    "x",
    "\xc2\xbf Qu\xc3\xa9 tal ma\xc3\xb1\x61na ?",
    "debug my segfault in C++ please",
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static void put_u64(unsigned char *b, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(x >> (8 * i));
    }
}

/* The input, resealed unless it asks not to be (see above). */
static unsigned char *reseal(const uint8_t *data, size_t size)
{
    unsigned char *b = malloc(size ? size : 1);
    const size_t frame = TC__MODEL_HEADER_BYTES + TC__MODEL_SUM_BYTES;
    XXH128_canonical_t sum;

    if (!b) {
        abort();
    }
    if (size) {
        memcpy(b, data, size);
    }
    if (size < frame ||
        memcmp(b, TC__MODEL_MAGIC, TC__MODEL_MAGIC_BYTES) != 0) {
        return b;
    }
    if (b[15] & 0x80) {
        b[15] &= 0x7f;
        return b;
    }
    put_u64(b + 16, size - frame);
    XXH128_canonicalFromHash(&sum, XXH3_128bits(b, size - TC__MODEL_SUM_BYTES));
    memcpy(b + size - TC__MODEL_SUM_BYTES, sum.digest, TC__MODEL_SUM_BYTES);
    return b;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long len;

    FZ_CHECK(f != NULL, "cannot read back %s", path);
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || !(b = malloc((size_t)len + 1)) ||
        fread(b, 1, (size_t)len, f) != (size_t)len) {
        abort();
    }
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void check_prediction(const tc_prediction *p, const tc_model *m)
{
    char fp[TC_FINGERPRINT_LEN + 1];

    tc_model_fingerprint(fp, m);
    FZ_CHECK(p->nheads >= 1 && p->heads, "no heads");
    FZ_CHECK(strcmp(p->heads[0].head, "intent") == 0, "heads[0] is %s",
             p->heads[0].head);
    FZ_CHECK(strcmp(p->fingerprint, fp) == 0, "fingerprint %s, model's %s",
             p->fingerprint, fp);
    for (size_t h = 0; h < p->nheads; h++) {
        const tc_head_prediction *hp = &p->heads[h];

        FZ_CHECK(hp->n >= 1 && hp->labels, "head %s: no label", hp->head);
        for (size_t i = 0; i < hp->n; i++) {
            double s = hp->labels[i].score;

            FZ_CHECK(hp->labels[i].label && hp->labels[i].label[0],
                     "head %s: an empty label", hp->head);
            FZ_CHECK(isfinite(s) && s >= 0 && s <= 1, "head %s: score %g",
                     hp->head, s);
            FZ_CHECK(i == 0 || s <= hp->labels[i - 1].score,
                     "head %s: label %zu scores %g after %g", hp->head, i, s,
                     hp->labels[i - 1].score);
        }
    }
}

static tc_prediction *predict(const tc_model *m, const char *text)
{
    tc_prediction *p = NULL;
    int rc = tc_model_predict(&p, m, text, strlen(text), 3);

    FZ_CHECK(rc == TC_OK, "predict \"%s\": rc %d (%s)", text, rc, tc_errmsg());
    check_prediction(p, m);
    return p;
}

static void same_predictions(const tc_prediction *a, const tc_prediction *b,
                             const char *text)
{
    FZ_CHECK(a->nheads == b->nheads, "\"%s\": %zu heads, then %zu", text,
             a->nheads, b->nheads);
    for (size_t h = 0; h < a->nheads; h++) {
        const tc_head_prediction *x = &a->heads[h], *y = &b->heads[h];

        FZ_CHECK(strcmp(x->head, y->head) == 0 && x->n == y->n &&
                     x->multi_label == y->multi_label,
                 "\"%s\": head %s of %zu labels, then %s of %zu", text, x->head,
                 x->n, y->head, y->n);
        for (size_t i = 0; i < x->n; i++) {
            FZ_CHECK(strcmp(x->labels[i].label, y->labels[i].label) == 0 &&
                         x->labels[i].score == y->labels[i].score,
                     "\"%s\": head %s label %zu: %s %.17g, then %s %.17g", text,
                     x->head, i, x->labels[i].label, x->labels[i].score,
                     y->labels[i].label, y->labels[i].score);
        }
    }
}

static void save(const tc_model *m, const char *path)
{
    int rc = tc_model_save(m, path);

    FZ_CHECK(rc == TC_OK, "a loaded model does not save: rc %d: %s", rc,
             tc_errmsg());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path1[300], path2[300];
    unsigned char *file = reseal(data, size), *b1, *b2;
    tc_model *m = NULL, *m2 = NULL;
    char *info = NULL;
    size_t n1, n2;
    int rc;

    if (!path1[0]) {
        snprintf(path1, sizeof(path1), "%s/once.tcm", fz_tmpdir());
        snprintf(path2, sizeof(path2), "%s/twice.tcm", fz_tmpdir());
    }
    rc = tc_model_load(&m, fz_memfile(file, size));
    free(file);
    FZ_CHECK(rc == TC_OK || rc == TC_ECORRUPT || rc == TC_ENOMEM, "rc %d: %s",
             rc, tc_errmsg());
    if (rc != TC_OK) {
        FZ_CHECK(!m && tc_errmsg()[0],
                 "a failed load left a model or no message");
        return 0;
    }

    FZ_CHECK(tc_model_info_json(&info, m) == TC_OK && info && info[0] == '{',
             "tc_model_info_json failed");
    tc_free(info);

    /* save, load back, compare, save again */
    save(m, path1);
    rc = tc_model_load(&m2, path1);
    FZ_CHECK(rc == TC_OK, "a saved model does not load: rc %d: %s", rc,
             tc_errmsg());
    for (size_t i = 0; i < NPROBES; i++) {
        tc_prediction *a = predict(m, probes[i]);
        tc_prediction *b = predict(m2, probes[i]);

        same_predictions(a, b, probes[i]);
        tc_prediction_free(a);
        tc_prediction_free(b);
    }
    save(m2, path2);
    b1 = slurp(path1, &n1);
    b2 = slurp(path2, &n2);
    FZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0,
             "saving a saved model changes it (%zu bytes, then %zu)", n1, n2);
    free(b1);
    free(b2);
    tc_model_free(m);
    tc_model_free(m2);
    return 0;
}
