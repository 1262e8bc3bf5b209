/*
 * model_data.h - the training data of the built-in classifier, parsed
 * once into examples (model_data.c) for the trainer (model_train.c).
 */
#ifndef TC_MODEL_DATA_H
#define TC_MODEL_DATA_H

#include "model/model.h"

/* Strings and their indices, in order of insertion; open addressing. */
typedef struct tc__strtab {
    char **keys;
    uint32_t n, cap;
    uint32_t *slots; /* index + 1; 0 is empty */
    uint32_t nslots; /* a power of two, at least twice n */
} tc__strtab;

/* A head as the data name it, before the model takes it. */
typedef struct tc__dhead {
    char *name;
    int multi;
    size_t line; /* where it was first seen, for messages */
    tc__strtab labels;
} tc__dhead;

/* A word's occurrences, the texts it occurs in, and the last text (index
 * + 1) that counted it. */
typedef struct tc__wstat {
    uint32_t count, df, last;
} tc__wstat;

/* The examples: example i has the feature rows feat[foff[i]..foff[i+1])
 * and the targets tgt[toff[i]..toff[i+1]), grouped by head. */
typedef struct tc__dataset {
    tc_model *m; /* hyper-parameters, for the features */
    tc__dhead heads[TC__MAX_HEADS];
    size_t nheads;
    size_t n, ncap;
    size_t *foff, *toff;
    uint32_t *feat;
    size_t nfeat, featcap;
    tc__target *tgt;
    size_t ntgt, tgtcap;
    tc__strtab words; /* the texts' tokens, for the vocabulary */
    tc__wstat *wstat; /* per word of words */
    size_t wcap;
    /* a seeded sample of the examples (normalized text, intent), kept as
     * the model's references: reservoir sampling, so one pass decides */
    char *ref_text[TC__REFS_MAX];
    uint32_t ref_label[TC__REFS_MAX];
    uint32_t nrefs;
    uint64_t ref_rng;
    tc__scratch scratch;
} tc__dataset;

/*
 * Parses JSON Lines data[0..len) into d, with m's hyper-parameters for
 * the features. src names the data in messages ("FILE:LINE: ..."), or is
 * NULL ("line N: ..."). Returns TC_OK, TC_EINVAL (err names the line and
 * field) or TC_ENOMEM. d is released by tc__dataset_free in every case.
 */
int tc__dataset_parse(tc__dataset *d, tc_model *m, const char *data, size_t len,
                      const char *src, tc__err *err);
void tc__dataset_free(tc__dataset *d);

/* Moves the heads and labels of d into m. Returns TC_OK or TC_ENOMEM. */
int tc__dataset_take_heads(tc_model *m, tc__dataset *d);

/* Gives m the TC__VOCAB_MAX most frequent words of d, with their
 * document frequencies. Returns TC_OK or TC_ENOMEM. */
int tc__dataset_take_vocab(tc_model *m, tc__dataset *d);

/* Moves d's sample of examples into m's references. Returns TC_OK or
 * TC_ENOMEM. */
int tc__dataset_take_refs(tc_model *m, tc__dataset *d);

#endif
