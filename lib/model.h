/*
 * model.h - the built-in classifier's internals, shared by model.c
 * (predict, update, versions), model_train.c (training) and model_io.c
 * (the file format and the fingerprint). The weights live in immutable
 * versions; the model points at its current version atomically.
 */
#ifndef TC_MODEL_H
#define TC_MODEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Limits of the hyper-parameters, for options and for files. */
#define TC__MAX_EPOCHS 10000
#define TC__MAX_DIM 1024
#define TC__MAX_BUCKETS (1u << 26)
#define TC__MAX_WORD_NGRAMS 8
#define TC__MAX_CHARN 16
#define TC__MAX_HEADS 64

/* Hyper-parameters; kept in the file. */
typedef struct tc__hparams {
    uint32_t dim;         /* embedding width */
    uint32_t buckets;     /* hashed feature rows */
    uint32_t word_ngrams; /* 1: words only, 2: + bigrams, ... */
    uint32_t minn, maxn;  /* character n-gram lengths; 0: none */
    uint32_t epochs;
    float lr;
    uint64_t seed;
} tc__hparams;

/* One output head: "intent", "complexity", "techniques", ... */
typedef struct tc__head {
    char *name;
    int multi; /* one-vs-all (sigmoid) rather than softmax */
    uint32_t nlabels;
    char **labels;  /* in order of first appearance in the data */
    uint32_t first; /* index of its first label among all outputs */
} tc__head;

/*
 * Weight rows are padded to a multiple of TC__LANES values so that every
 * loop over a row is made of blocks the compiler vectorizes at -O2 with
 * no scalar tail (16 int8 values fill one SSE register).
 */
#define TC__LANES 16

/*
 * One immutable version of the weights. Readers reach it through
 * tc_model.cur and never see it change; an update builds a new one.
 *
 * Input rows are stored as int8 with one float scale per row (a row is
 * scale * q[i]): four times smaller than float, which keeps the default
 * model file and memory under 20 MB and the rows of a prediction in
 * cache, with no measurable loss of accuracy (see model_train.c).
 */
typedef struct tc__version {
    int8_t *in_q;    /* buckets x stride, 64-byte aligned */
    void *in_base;   /* the allocation in_q lies in */
    float *in_scale; /* buckets */
    float *out;      /* nout x stride: a row per label, for learning */
    float *out_t;    /* dim x nout_pad: the same, transposed, so that the
                        scores of all labels are one vectorized sweep */
    float *bias;     /* nout */
    float *wvec;     /* vocab.n x stride: each vocabulary word's own rows
                        (see tc__vocab) summed; NULL without a vocabulary */
    char fingerprint[TC_FINGERPRINT_LEN + 1];
} tc__version;

/*
 * The training texts' most frequent words. A word's own features (the
 * word and its character n-grams) are the same wherever it appears, so
 * each version keeps their rows summed per word (wvec), and a prediction
 * adds one vector for a known word instead of a row per n-gram: those
 * rows were most of a prediction's time. Unknown words take the long way;
 * the answer is the same either way, up to float rounding.
 */
#define TC__VOCAB_MAX 32768  /* words kept, the most frequent first */
#define TC__VOCAB_WORD_MAX 64 /* bytes; longer words are never kept */
typedef struct tc__vocab {
    uint32_t n;
    char **words;    /* as the tokenizer returns them */
    uint64_t *hash;  /* XXH3_64bits of each word (its word feature's) */
    uint32_t *off;   /* n + 1 offsets into feat */
    uint32_t *feat;  /* each word's own features: the word, its n-grams */
    uint8_t *len;    /* bytes of each word */
    uint32_t *slots; /* index + 1, 0 empty; nslots is a power of two */
    uint32_t nslots;
} tc__vocab;

/* Stripes of the reader counters, each on its own cache line. */
#define TC__STRIPES 8
typedef struct tc__stripe {
    _Atomic long n;
    char pad[64 - sizeof(long)];
} tc__stripe;

struct tc_model {
    tc__hparams hp;
    uint32_t stride; /* dim rounded up to TC__LANES */
    size_t nheads;
    tc__head *heads;   /* heads[0] is "intent" */
    uint32_t nout;     /* labels of all heads */
    uint32_t nout_pad; /* nout rounded up to TC__LANES */

    tc__vocab vocab; /* set once, before the first version is published */

    _Atomic(tc__version *) cur;
    /* reclamation of replaced versions: see model.c */
    _Atomic unsigned phase;
    tc__stripe readers[2][TC__STRIPES];
    pthread_mutex_t update_mu;
};

/* ---- model.c ---------------------------------------------------------- */

/* An empty model with its hyper-parameters; heads are added by the
 * caller. */
tc_model *tc__model_new(const tc__hparams *hp);
tc__version *tc__version_new(const tc_model *m);
void tc__version_free(tc__version *v);

/*
 * Scratch space for one text: the normalized text, a word buffer for
 * character n-grams, the feature list and extra floats for the caller
 * (hidden vector, scores). Small texts use the inline space, longer ones
 * one allocation; nothing is allocated per feature.
 */
#define TC__SCRATCH_INLINE 16384
typedef struct tc__scratch {
    float *floats; /* extra_floats floats for the caller */
    char *norm;    /* normalized text */
    size_t normlen;
    char *word;     /* "<token>" */
    uint32_t *cpos; /* code point offsets within word */
    uint32_t *feat; /* feature rows */
    size_t nfeat;
    uint32_t *known; /* vocabulary words (tc__featurize_known) */
    size_t nknown, nown;
    void *heap; /* the allocation, when the inline space was short */
    _Alignas(32) unsigned char space[TC__SCRATCH_INLINE];
} tc__scratch;

/*
 * Normalizes text and lists its feature rows into s->feat, with room for
 * extra_floats floats in s->floats. Returns TC_OK, TC_EINVAL (invalid
 * UTF-8; err says where) or TC_ENOMEM. tc__scratch_done releases what it
 * allocated; it is needed only after TC_OK.
 */
int tc__featurize(tc__scratch *s, const tc_model *m, const char *text,
                  size_t len, size_t extra_floats, tc__err *err);
void tc__scratch_done(tc__scratch *s);

/*
 * tc__featurize for a prediction: a vocabulary word's own features are
 * not listed; its index goes to s->known (s->nknown of them) and the
 * number of its features to s->nown, for tc__hidden_known.
 */
int tc__featurize_known(tc__scratch *s, const tc_model *m, const char *text,
                        size_t len, size_t extra_floats, tc__err *err);

/* The mean of the rows of s's features and known words, the same as
 * tc__hidden over all the features up to rounding. */
void tc__hidden_known(const tc_model *m, const tc__version *v,
                      const tc__scratch *s, float *hidden);

/*
 * Gives m its vocabulary: n words, each at most TC__VOCAB_WORD_MAX bytes,
 * the array and the strings from tc__malloc. They are m's from the call
 * on, even when it fails (tc_model_free releases them). Returns TC_OK or
 * TC_ENOMEM.
 */
int tc__vocab_set(tc_model *m, char **words, uint32_t n);

/*
 * Fills v->wvec from v's rows; a model without a vocabulary needs none.
 * With prev, v differs from prev only in the rows listed in changed
 * (nchanged of them, repeats allowed): prev's vectors are copied and only
 * the words that use a changed row are summed again.
 * Returns TC_OK or TC_ENOMEM.
 */
int tc__version_wvec(const tc_model *m, tc__version *v,
                     const tc__version *prev, const uint32_t *changed,
                     size_t nchanged);

/* The mean of the feature rows (hidden has stride floats). */
void tc__hidden(const tc_model *m, const tc__version *v, const uint32_t *feat,
                size_t nfeat, float *hidden);

/* Dot product of two rows of stride floats. */
float tc__dot(const float *restrict a, const float *restrict b, size_t stride);

/* Fills v->out_t from v->out (after training, loading or an update). */
void tc__version_transpose(const tc_model *m, tc__version *v);

/* Raw scores of every output: out[i] = W_i . hidden + b_i; scores has
 * room for nout_pad floats. */
void tc__scores(const tc_model *m, const tc__version *v, const float *hidden,
                float *scores);

/* Turns the raw scores of each head into probabilities in place. */
void tc__probabilities(const tc_model *m, float *scores);

/* Quantizes a float row (dim values) into q (stride) and its scale. */
void tc__quantize_row(const tc_model *m, const float *row, int8_t *q,
                      float *scale);

/*
 * Installs v as the current version and frees the one it replaces once
 * no reader can hold it. The caller holds m->update_mu (or is the only
 * thread that knows m).
 */
void tc__model_publish(tc_model *m, tc__version *v);

/* Looks a head and a label up; -1 when absent. */
int tc__head_find(const tc_model *m, const char *name);
int tc__label_find(const tc__head *h, const char *label);

/*
 * Enters a read-side section: *v is the current version, valid until
 * tc__read_leave with the returned counter. Never blocks.
 */
_Atomic long *tc__read_enter(const tc_model *m, tc__version **v);
void tc__read_leave(_Atomic long *c);

/* ---- model_train.c ---------------------------------------------------- */

/* The most labels one example may name. */
#define TC__MAX_TARGETS 1024

/* One label of one head that an example asks for. A multi-label head
 * present with no label is marked by label UINT32_MAX. */
typedef struct tc__target {
    uint32_t head, label;
} tc__target;

int tc__has_label(const tc__target *t, size_t nt, uint32_t label);

/* What one SGD step works on. */
typedef struct tc__sgd {
    const tc_model *m;
    float *in; /* rows indexed by the features given to sgd_step */
    float *out, *bias;
    float row_scale; /* how much of the hidden gradient each row takes */
    int learn_out;   /* also update the output layer */
    int ova;         /* train single-label heads one-vs-all too */
    float *hidden, *grad, *scores; /* stride, stride, nout */
} tc__sgd;

/*
 * One SGD step on one example (features, targets grouped by head);
 * returns its loss. Heads the targets do not name are not trained.
 */
float tc__sgd_step(tc__sgd *c, const uint32_t *feat, size_t nf,
                   const tc__target *t, size_t nt, float lr);

/* ---- model_io.c ------------------------------------------------------- */

/*
 * Computes v->fingerprint: the XXH3-128 checksum that the saved form of
 * (m, v) carries, so a model and the file it is saved to, or loaded
 * from, have one fingerprint, and equal weights give equal fingerprints
 * in any process. Allocates only a staging buffer.
 */
int tc__model_fingerprint(const tc_model *m, tc__version *v);

/* The size of the model's file. */
size_t tc__model_file_size(const tc_model *m);

/* Reads a whole file in one read; *data is NUL-terminated. */
int tc__read_file(const char *path, char **data, size_t *len, tc__err *err);

#endif
