/*
 * model_fixture.h - what the model suites (check_model*.c) share: a data
 * set generated from templates with a fixed seed, training and prediction
 * helpers that fail the test on an error, whole files read, written and
 * resealed, a walk of a format version 3 file that finds its sections, and
 * a writer of the files of versions 1 and 2, so that reading them stays
 * tested after the writer moved on.
 */
#ifndef TC_TEST_MODEL_FIXTURE_H
#define TC_TEST_MODEL_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "suites.h"
#include "tutorcache.h"

/* ---- random numbers ---------------------------------------------------- */

/* A 31-bit draw of a linear congruential generator (state s). */
uint64_t mf_lcg(uint64_t *s);

/* A pronounceable made-up word of 2 to 4 syllables into buf (16 bytes),
 * from a pool large enough that two draws rarely repeat. */
void mf_pseudo_word(uint64_t *s, char *buf);

/* ---- the generated data set -------------------------------------------- */

/*
 * Examples from templates: six intents (weather, music, booking, math,
 * translation, debugging), a single-label head "complexity" (simple or
 * detailed, from a marker phrase) and a multi-label head "techniques"
 * ("numbers" and "location", from what the text holds). Every
 * MF_HELD-th example is held out of the training data.
 */
#define MF_HELD 5
#define MF_TEXT_MAX 300

typedef struct mf_corpus {
    char *train; /* JSON Lines */
    size_t len;
    size_t nheld;
    char (*text)[MF_TEXT_MAX]; /* the held-out texts ... */
    const char **intent;       /* ... and their intents (as labelled) */
} mf_corpus;

/* n examples from seed; with noise > 0 that share of them (held-out ones
 * too) is labelled with another intent, drawn at random. */
mf_corpus *mf_corpus_make(uint64_t seed, int n, double noise);
void mf_corpus_free(mf_corpus *c);

/* Options for a small model that trains in milliseconds: 20000 buckets,
 * dim 16, 10 epochs, seed 7, one thread. */
void mf_small_options(tc_train_options *o);

/* A model of every kind of table (three heads, one multi-label) small
 * enough that a test can try every truncation of its file. */
tc_model *mf_tiny_model(void);

/* ---- training and prediction ------------------------------------------- */

/* Trains, failing the test with the message on an error. */
tc_model *mf_train_ok(const char *data, size_t len, const tc_train_options *o);

/* The top intent of text (a per-thread buffer) and its score (score may
 * be NULL). */
const char *mf_top_intent(const tc_model *m, const char *text, double *score);

/* The share of the held-out examples whose top intent is their label. */
double mf_held_accuracy(const tc_model *m, const mf_corpus *c);

/* Asserts that a and b give every text the same labels of every head
 * with the same scores, to the bit. */
void mf_same_predictions(const tc_model *a, const tc_model *b,
                         const char *const *texts, size_t n, int top_k);

/* Applies corrections (tc_model_update), failing the test on an error;
 * mf_correct corrects one text to intent. */
void mf_update_ok(tc_model *m, const char *json);
void mf_correct(tc_model *m, const char *text, const char *intent);

/* The corrections m holds, as its description says. */
double mf_corrections(const tc_model *m);

/* The held-out texts of c as an array of pointers (the caller frees the
 * array, not the texts). */
const char **mf_held_texts(const mf_corpus *c);

/* ---- files --------------------------------------------------------------- */

void mf_save_ok(const tc_model *m, const char *path);

/* Loads path; returns the code, and checks that a failure says why and
 * leaves no model. The detail stays in tc_errmsg() for the caller. */
int mf_load_rc(const char *path);

/* A whole file (the caller frees it), and a whole file written. */
unsigned char *mf_slurp(const char *path, size_t *n);
void mf_spit(const char *path, const unsigned char *b, size_t n);

/* Makes the checksum at the end of a file right after a deliberate change. */
void mf_reseal(unsigned char *b, size_t n);

/* Little-endian numbers in a file. */
uint32_t mf_get_u32(const unsigned char *b);
void mf_put_u32(unsigned char *b, uint32_t x);
void mf_put_f32(unsigned char *b, float f);

/* Where the sections of a file of the current format begin (offsets into
 * it), found by walking it as lib/model_file.h describes it. */
#define MF_HEADS_MAX 8
typedef struct mf_layout {
    uint32_t dim, buckets, nheads, nout;
    size_t calib[MF_HEADS_MAX]; /* each head's calibration: a, b, c, d */
    size_t bitmap;              /* the bitmap of kept rows */
    size_t rows;                /* the first kept row: its scale */
    uint32_t nrows;             /* kept rows */
    size_t out, bias;           /* the first output weight, the first bias */
    size_t vocab;               /* the word count */
    uint32_t nwords;
    size_t df;    /* the first word's document frequency */
    size_t ndocs; /* the number of training texts */
    size_t refs;  /* the reference count */
    uint32_t nrefs;
    size_t ref_label; /* the first reference's intent */
    size_t mem;       /* the correction count */
    uint32_t nmem;
    size_t mem_target; /* the first correction's first (head, label) */
} mf_layout;

void mf_layout_of(mf_layout *l, const unsigned char *b, size_t n);

/*
 * A copy of the file b (n bytes, the current format) as format version 3
 * wrote it: each head's calibration without d, resealed. *len receives
 * its size; the caller frees it.
 */
unsigned char *mf_as_v3(const unsigned char *b, size_t n, size_t *len);

/*
 * Writes m's weights as a file of format version 1 (dense rows, no
 * vocabulary) or 2 (and the vocabulary's words): what those versions of
 * the library wrote, with no calibration, out-of-scope label, document
 * frequencies, references or corrections. Their models had no feature
 * but a text's own: m must have none (mf_as_old).
 */
void mf_write_old(const tc_model *m, const char *path, unsigned version);

/* Makes m a model the library of versions 1 and 2 could have held: the
 * same weights, without the end-of-text feature of later trainings. */
void mf_as_old(tc_model *m);

#endif
