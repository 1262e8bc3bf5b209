/*
 * model_train.h - what the files of training share: model_sgd.c (the
 * passes of SGD), model_calib.c (the held-out passes that fit each head's
 * link) and model_train.c (the options, the final pass, the result).
 */
#ifndef TC_MODEL_TRAIN_H
#define TC_MODEL_TRAIN_H

#include "model/model.h"
#include "model/model_data.h"

/*
 * The input rows in float while they train, shared by the passes of one
 * training: allocated once (pages of zeros the kernel hands out on first
 * touch, which on some machines cost more than the training of a small
 * set), and between passes only the rows the data reach are zeroed.
 */
typedef struct tc__rows {
    float *in;      /* buckets x stride */
    uint32_t *used; /* the rows some example reaches, ascending */
    size_t nused;
} tc__rows;

/* Float weights being trained, on some of the examples of d. */
typedef struct tc__pass {
    tc_model *m;
    const tc__dataset *d;
    const uint32_t *ex; /* the examples this pass learns from */
    size_t nex;
    float *in; /* the rows' */
    float *out, *bias;
    uint32_t *order;
    uint64_t total;        /* examples over all epochs */
    _Atomic uint64_t done; /* examples processed, updated in batches */
    tc_progress_fn progress;
    void *progress_userdata;
    double from, span; /* the share of the whole training this pass is */
} tc__pass;

/* The float rows for the examples of d: the matrix (zero) and the rows
 * they reach. Returns TC_OK or TC_ENOMEM; tc__rows_free in every case. */
int tc__rows_init(tc__rows *rw, const tc_model *m, const tc__dataset *d);
void tc__rows_free(tc__rows *rw);

/*
 * Trains fresh weights on the examples ex[0..nex) of d, in rw's rows
 * (zeroed first) and ps's own output layer; progress, if ps has it, as
 * the share [ps->from, ps->from + ps->span) of the whole training.
 * Returns TC_OK or TC_ENOMEM; tc__pass_free in every case.
 */
int tc__pass_run(tc__pass *ps, tc_model *m, const tc__dataset *d,
                 const uint32_t *ex, size_t nex, int threads,
                 const tc__rows *rw);
void tc__pass_free(tc__pass *ps);

/* Raw scores of a text with features feat[0..nf) under the float weights
 * of ps; returns its evidence, as tc__hidden_known counts it. */
float tc__pass_scores(const tc__pass *ps, const uint32_t *feat, size_t nf,
                      float *hidden, float *scores);

/*
 * Fits each single-label head's link on examples held out from passes of
 * training (model_calib.c). *share receives the part of the whole
 * training these passes took. Returns TC_OK or TC_ENOMEM.
 */
int tc__calibrate(tc_model *m, const tc__dataset *d, int threads,
                  const tc_train_options *opt, const tc__rows *rw,
                  double *share);

#endif
