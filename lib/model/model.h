/*
 * model.h - the built-in classifier's internals, shared by its files:
 * model.c (the model, its versions and their reclamation), model_feat.c
 * (features and the vocabulary), model_forward.c (the forward pass),
 * model_memory.c (corrections), model_predict.c (tc_model_predict),
 * model_data.c, model_sgd.c and model_train.c (training), model_calib.c
 * (the link's calibration), model_io.c and model_load.c (the file format
 * and the fingerprint) and model_info.c (tc_model_info_json). Each file
 * calls only files before it in this list, but for model_io.c, which
 * model_memory.c and model_train.c call for the fingerprint.
 *
 * A model's weights are fixed once it is trained or loaded. What changes
 * afterwards is its memory of corrections, which lives in immutable
 * versions: the model points at its current version atomically, and an
 * update publishes a new one while predictions finish on the old.
 */
#ifndef TC_MODEL_H
#define TC_MODEL_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/internal.h"
#include "base/counter.h"

/* Limits of the hyper-parameters, for options and for files. */
#define TC__MAX_EPOCHS 10000
#define TC__MAX_DIM 1024
#define TC__MAX_BUCKETS (1u << 26)
#define TC__MAX_WORD_NGRAMS 8
#define TC__MAX_CHARN 16
#define TC__MAX_HEADS 64

/* A multi-label head lists, beyond its best label, the labels it gives at
 * least this probability (tc_model_predict, and the classification). */
#define TC__MULTI_MIN 0.5f

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

/*
 * One output head: "intent", "complexity", "techniques", ... Every label
 * of every head is trained one-vs-all (a logistic loss of its own) and
 * answered through the same link:
 *   p = sigmoid(calib_a * score + calib_d * rival + calib_c * evidence
 *               + calib_b)
 * where rival is the best score among the head's other labels (0 when it
 * has none) and evidence the share of the text's features that training
 * reached (a text of words the model never saw has none). For a
 * single-label head the four numbers are fitted after training, on
 * examples held out from it, so that the best label's probability is the
 * chance that it is right (see model_calib.c); a multi-label head keeps
 * a = 1, b = c = d = 0. d is never above 0 nor below -TC__RIVAL_MAX * a,
 * so the link keeps the order of the raw scores: the best label stays
 * the best, and a close second makes it less sure.
 */
typedef struct tc__head {
    char *name;
    int multi; /* several labels may apply at once */
    uint32_t nlabels;
    char **labels;  /* in order of first appearance in the data */
    uint32_t first; /* index of its first label among all outputs */
    float calib_a, calib_b, calib_c, calib_d;
} tc__head;

/* The most of the link's weight a rival may take: see tc__head. */
#define TC__RIVAL_MAX 0.9f

/* Bounds every stored weight keeps (tc__weights_check): training that
 * ends beyond them failed, and no file holds such a weight. Biases are
 * held within TC__BIAS_MAX while training (a probability of e^-50 says
 * all a bias can say), so that a high learning rate cannot drive them
 * out of range. */
#define TC__WEIGHT_MAX 1e4f
#define TC__BIAS_MAX 50.0f

/*
 * Weight rows are padded to a multiple of TC__LANES values so that every
 * loop over a row is made of blocks the compiler vectorizes at -O2 with
 * no scalar tail (16 int8 values fill one SSE register).
 */
#define TC__LANES 16

/*
 * The trained weights. Input rows are stored as int8 with one float
 * scale per row (a row is scale * q[i]): four times smaller than float,
 * which keeps the model in memory small and the rows of a prediction in
 * cache, with no measurable loss of accuracy. A row training never
 * reached is all zero (scale 0), and the file leaves it out.
 */
typedef struct tc__weights {
    int8_t *in_q;    /* buckets x stride, 64-byte aligned */
    void *in_base;   /* the allocation in_q lies in */
    float *in_scale; /* buckets */
    float *out;      /* nout x stride: a row per label */
    float *out_t;    /* dim x nout_pad: the same, transposed, so that the
                        scores of all labels are one vectorized sweep */
    float *bias;     /* nout */
    float *wvec;     /* vocab.n x stride: each vocabulary word's own rows
                        (see tc__vocab) summed; NULL without a vocabulary */
} tc__weights;

/*
 * The training texts' most frequent words. A word's own features (the
 * word and its character n-grams) are the same wherever it appears, so
 * the weights keep their rows summed per word (wvec), and a prediction
 * adds one vector for a known word instead of a row per n-gram: those
 * rows were most of a prediction's time. Unknown words take the long way;
 * the answer is the same either way, up to float rounding. Each word's
 * document frequency weighs it in the similarity of corrections.
 */
#define TC__VOCAB_MAX 32768   /* words kept, the most frequent first */
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
    uint32_t *df;   /* training texts each word occurs in */
    uint32_t ndocs; /* training texts */
} tc__vocab;

/* The most labels one example may name. */
#define TC__MAX_TARGETS 1024

/* One label of one head that an example asks for. A multi-label head
 * present with no label is marked by label UINT32_MAX. */
typedef struct tc__target {
    uint32_t head, label;
} tc__target;

int tc__has_label(const tc__target *t, size_t nt, uint32_t label);

/*
 * One correction the model remembers (model_memory.c): a normalized
 * text, the labels it was corrected to, the intent the weights give it
 * (its base) and its words as a unit vector of IDF weights, for the
 * similarity of other texts to it. Immutable and shared by the versions
 * that hold it (refs, changed only under update_mu).
 */
typedef struct tc__mem_entry {
    char *text;
    size_t len;
    uint64_t hash; /* of text */
    uint32_t base;
    size_t nt;
    tc__target *t; /* grouped by head */
    size_t nw;
    uint64_t *wh; /* word hashes, ascending */
    float *ww;    /* their weights; sum of squares 1 */
    long refs;
} tc__mem_entry;

/* The corrections of one version: entries in the order they came, and an
 * index of them by base intent. */
typedef struct tc__memory {
    size_t n;
    tc__mem_entry **e;
    uint32_t *by_base;  /* entry indices grouped by base, in order */
    uint32_t *base_off; /* heads[0].nlabels + 1 offsets into by_base */
} tc__memory;

/* Corrections a model holds at most: past it, retrain (the corrections
 * then go into the weights). */
#define TC__MEMORY_MAX 100000

/* How alike a text must be to a correction, as the cosine of their IDF-
 * weighted words, to take its answer (see model_memory.c). */
#define TC__MEMORY_RADIUS 0.75f

/*
 * One immutable version: the corrections and the fingerprint of the
 * weights with them. Readers reach it through tc_model.cur and never see
 * it change; an update builds a new one.
 */
typedef struct tc__version {
    tc__memory mem;
    char fingerprint[TC_FINGERPRINT_LEN + 1];
} tc__version;

/* Training examples the model keeps as a reference for later checks of
 * itself (tc_model_references_json): a seeded sample. */
#define TC__REFS_MAX 2000

/* Stripes of the reader counters (base/counter.h's assignment of
 * threads to stripes), each on its own cache line. */
typedef struct tc__stripe {
    _Atomic long n;
    char pad[64 - sizeof(long)];
} tc__stripe;

/*
 * Features every text has besides its words' (a bit set, in the file):
 * TC__FEATURE_END, one row that every text includes, as fastText's
 * end-of-line token. Its share of the mean is larger the shorter the
 * text, and it learns what no intent's words say: on BANKING77 with ten
 * intents left out it raised the out-of-scope recall at 90% in-scope
 * accuracy from 0.28 to 0.39 (five splits) and accuracy by 0.3 points.
 * Models of file versions 1 and 2 have none.
 */
#define TC__FEATURE_END 1u

struct tc_model {
    tc__hparams hp;
    uint32_t features; /* TC__FEATURE_* */
    uint32_t stride;   /* dim rounded up to TC__LANES */
    size_t nheads;
    tc__head *heads;   /* heads[0] is "intent" */
    uint32_t nout;     /* labels of all heads */
    uint32_t nout_pad; /* nout rounded up to TC__LANES */
    int32_t oos;       /* the out-of-scope label of heads[0], or -1 */
    float radius;      /* of the corrections' similarity */

    /* set once, before the first version is published */
    tc__vocab vocab;
    tc__weights w;
    uint32_t nrefs;
    char **ref_text;
    uint32_t *ref_label; /* intents */

    _Atomic(tc__version *) cur;
    /* reclamation of replaced versions: see model.c */
    _Atomic unsigned phase;
    tc__stripe readers[2][TC__STRIPES];
    pthread_mutex_t update_mu;
};

/* splitmix64: the one random sequence of training (shuffles, folds, the
 * starting weights, the reference sample), so that a seed gives the same
 * model on every machine and C library. */
static inline uint64_t tc__splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ---- model.c ---------------------------------------------------------- */

/* An empty model with its hyper-parameters; heads, vocabulary and
 * weights are added by the caller, then the first version published. */
tc_model *tc__model_new(const tc__hparams *hp);

/* Allocates m->w for m's tables, all zero. Returns TC_OK or TC_ENOMEM. */
int tc__weights_alloc(tc_model *m);

/*
 * Whether every weight is finite and within TC__WEIGHT_MAX, and the heads'
 * calibration sane: what training must end with, what a file may hold.
 * Returns TC_OK, or TC_ERANGE with why naming the first offender.
 */
int tc__weights_check(const tc_model *m, tc__err *why);

/* A version with no correction; NULL when out of memory. */
tc__version *tc__version_new(void);
void tc__version_free(tc__version *v);

/* Releases what a version's memory holds (entries shared with other
 * versions stay); the caller holds update_mu or owns the model alone.
 * An entry goes when its last version does. */
void tc__memory_free(tc__memory *mem);
void tc__mem_entry_unref(tc__mem_entry *e);

/*
 * Installs v as the current version and frees the one it replaces once
 * no reader can hold it. The caller holds m->update_mu (or is the only
 * thread that knows m).
 */
void tc__model_publish(tc_model *m, tc__version *v);

/*
 * Enters a read-side section: *v is the current version, valid until
 * tc__read_leave with the returned counter. Never blocks.
 */
_Atomic long *tc__read_enter(const tc_model *m, tc__version **v);
void tc__read_leave(_Atomic long *c);

/* The intent that marks texts out of scope, or NULL. */
const char *tc__model_oos_label(const tc_model *m);

/* Looks a head and a label up; -1 when absent. */
int tc__head_find(const tc_model *m, const char *name);
int tc__label_find(const tc__head *h, const char *label);

/* Quantizes a float row (dim values) into q (stride) and its scale. */
void tc__quantize_row(const tc_model *m, const float *row, int8_t *q,
                      float *scale);

/* ---- model_feat.c ----------------------------------------------------- */

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

/*
 * Gives m its vocabulary: n words, each at most TC__VOCAB_WORD_MAX bytes,
 * the array and the strings from tc__malloc, with their document
 * frequencies df (n of them, also m's) over ndocs texts. They are m's
 * from the call on, even when it fails (tc_model_free releases them).
 * Returns TC_OK, TC_ENOMEM, or TC_ECORRUPT for a word that is no token
 * (it has no features: a word of spaces, say, read from a damaged file).
 */
int tc__vocab_set(tc_model *m, char **words, uint32_t *df, uint32_t n,
                  uint32_t ndocs);

/* The vocabulary index of a token whose XXH3_64bits is h, or -1. */
long tc__vocab_find(const tc__vocab *vc, const char *w, size_t len, uint64_t h);

/* ---- model_forward.c -------------------------------------------------- */

/* Dot product of two rows of stride floats (stride a multiple of
 * TC__LANES), in lanes the compiler vectorizes. Inline, so that the
 * training threads' copy is as free of sanitizer checks as they are. */
static inline float tc__dot(const float *restrict a, const float *restrict b,
                            size_t stride)
{
    float acc[TC__LANES] = {0};
    float sum = 0;
    size_t i;
    int k;

    for (i = 0; i < stride; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            acc[k] += a[i + k] * b[i + k];
        }
    }
    for (k = 0; k < TC__LANES; k++) {
        sum += acc[k];
    }
    return sum;
}

/* y += a * x over stride floats. */
static inline void tc__axpy(float *restrict y, float a, const float *restrict x,
                            size_t stride)
{
    size_t i;
    int k;

    for (i = 0; i < stride; i += TC__LANES) {
        for (k = 0; k < TC__LANES; k++) {
            y[i + k] += a * x[i + k];
        }
    }
}

/* The mean of the feature rows (hidden has stride floats). */
void tc__hidden(const tc_model *m, const uint32_t *feat, size_t nfeat,
                float *hidden);

/* The mean of the rows of s's features and known words, the same as
 * tc__hidden over all the features up to rounding. Returns the text's
 * evidence: the share of its features (the end-of-text one aside) whose
 * rows training reached, a known word's all counting; 0 for none. */
float tc__hidden_known(const tc_model *m, const tc__scratch *s, float *hidden);

/* Fills m->w.wvec from the rows; a model without a vocabulary needs
 * none. Returns TC_OK or TC_ENOMEM. */
int tc__weights_wvec(tc_model *m);

/* Fills m->w.out_t from m->w.out. */
void tc__weights_transpose(tc_model *m);

/* Raw scores of every output: out[i] = W_i . hidden + b_i; scores has
 * room for nout_pad floats. */
void tc__scores(const tc_model *m, const float *hidden, float *scores);

/* Turns the raw scores of each head into probabilities in place, through
 * each head's calibrated link, for a text of that evidence. */
void tc__probabilities(const tc_model *m, float *scores, float evidence);

/* The probability of one raw score of head hd, whose best rival (the best
 * raw score among the head's other labels) is rival. */
static inline float tc__link(const tc__head *hd, float score, float rival,
                             float evidence)
{
    return 1.0f / (1.0f + expf(-(hd->calib_a * score + hd->calib_d * rival +
                                 hd->calib_c * evidence + hd->calib_b)));
}

/* The best and second best of head hd's raw scores (all outputs'): *best
 * its index, *s1 and *s2 the scores (*s2 = 0 when the head has one
 * label). */
void tc__top2(const tc__head *hd, const float *scores, uint32_t *best,
              float *s1, float *s2);

/* The index of the best label of head hd in probabilities p. */
uint32_t tc__best(const tc__head *hd, const float *p);

/* ---- model_memory.c --------------------------------------------------- */

/*
 * Where the memory of v changes the answer to the text of s (whose
 * probabilities are p, nout of them): the corrected labels take over,
 * with the similarity as their probability (1 for the same text), and
 * every other label of those heads keeps at most the rest. Returns
 * whether a correction answered.
 */
int tc__memory_apply(const tc_model *m, const tc__version *v,
                     const tc__scratch *s, float *p);

/*
 * Adds corrections to a copy of v's memory, into nv: n examples in the
 * training format (cJSON objects, see tc_model_update). A later text
 * replaces an earlier one's labels. Returns TC_OK, TC_EINVAL (err names
 * the example and field), TC_EFULL or TC_ENOMEM.
 */
struct cJSON;
int tc__memory_add(const tc_model *m, const tc__version *v, tc__version *nv,
                   const struct cJSON *const *ex, size_t n, tc__err *err);

/*
 * Rebuilds a memory from its texts and targets (a loaded file): each
 * entry's base and words computed anew. The entries (texts and targets
 * allocated by the caller) become mem's. Returns TC_OK or TC_ENOMEM.
 */
int tc__memory_build(const tc_model *m, tc__memory *mem, tc__mem_entry **e,
                     size_t n);

/* ---- model_train.c ---------------------------------------------------- */

/* What one SGD step works on. */
typedef struct tc__sgd {
    const tc_model *m;
    float *in; /* rows indexed by the features given to sgd_step */
    float *out, *bias;
    float row_scale; /* how much of the hidden gradient each row takes */
    int learn_out;   /* also update the output layer */
    float *hidden, *grad, *scores; /* stride, stride, nout */
} tc__sgd;

/*
 * The longest step the hidden gradient may take, in units of the learning
 * rate: a logistic loss per label sums one term per label into it, so with
 * hundreds of labels and a high rate one example could throw the rows far
 * enough to feed back into ever larger scores (training that diverged, at
 * 150 labels and more). Clipped, every step is bounded and the weights can
 * grow at most linearly.
 */
#define TC__GRAD_CLIP 4.0f

/*
 * One SGD step on one example (features, targets grouped by head), every
 * label one-vs-all; returns its loss. Heads the targets do not name are
 * not trained.
 */
float tc__sgd_step(tc__sgd *c, const uint32_t *feat, size_t nf,
                   const tc__target *t, size_t nt, float lr);

/* ---- model_calib.c ---------------------------------------------------- */

/*
 * Fits a head's link p = sigmoid(a * x + d * r + c * e + b) to n
 * held-out examples: x[i] the best label's raw score, r[i] the second
 * best's, e[i] the text's evidence, y[i] whether the best was right.
 * Leaves a = 1, b = c = d = 0 when there is nothing to fit. Returns TC_OK
 * or TC_ENOMEM.
 */
int tc__calib_fit(const float *x, const float *r, const float *e,
                  const uint8_t *y, size_t n, tc__head *hd);

/* ---- model_io.c ------------------------------------------------------- */

/*
 * Computes v->fingerprint: the XXH3-128 checksum that the saved form of
 * (m, v) carries, so a model and the file it is saved to, or loaded
 * from, have one fingerprint, and equal weights and corrections give
 * equal fingerprints in any process. Allocates only a staging buffer.
 */
int tc__version_fingerprint(const tc_model *m, tc__version *v);

/* The size of the model's file. */
size_t tc__model_file_size(const tc_model *m);

/* ---- what the doors of lib/api/ and the layers above call ---------------
 * Each is its public namesake (tutorcache.h) with the arguments already
 * checked; a failure records why with tc__fail. */

void tc__train_options_init(tc_train_options *opt);
int tc__model_train(tc_model **out, const char *data, size_t len,
                    const tc_train_options *opt);
int tc__model_train_file(tc_model **out, const char *path,
                         const tc_train_options *opt);
int tc__model_save(const tc_model *m, const char *path);
int tc__model_load(tc_model **out, const char *path);
void tc__model_free(tc_model *m);
void tc__model_fingerprint(char *buf, const tc_model *m);
int tc__model_info_json(char **out, const tc_model *m);
int tc__model_predict(tc_prediction **out, const tc_model *m, const char *text,
                      size_t len, int top_k);
int tc__model_update(tc_model *m, const char *example_json);
int tc__model_corrections_json(char **out, const tc_model *m);
int tc__model_references_json(char **out, const tc_model *m);

#endif
