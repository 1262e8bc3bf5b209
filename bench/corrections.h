/*
 * corrections.h - what the two halves of bench/corrections share: the
 * measuring in corrections.c, and in corrections_data.c the helpers of a
 * benchmark tool, the reading of a set's JSON Lines and the paraphrases
 * made by dropping and swapping words.
 */
#ifndef TC_BENCH_CORRECTIONS_H
#define TC_BENCH_CORRECTIONS_H

#include <stddef.h>
#include <stdint.h>

/* Prints "corrections: MESSAGE" on stderr and exits 1: a benchmark that
 * cannot measure what it says stops rather than report a number for
 * something else. */
__attribute__((format(printf, 1, 2), noreturn)) void corr_fail(const char *fmt,
                                                               ...);

/* malloc, calloc and strdup that never return NULL (they call
 * corr_fail); the counts are overflow-checked. */
void *corr_alloc(size_t n, size_t size);
void *corr_calloc(size_t n, size_t size);
char *corr_strdup(const char *s);

/* Seconds on the monotonic clock. */
double corr_now(void);

/* splitmix64, so that the choices are the same on every C library; a
 * uniform integer in [0, n), n > 0; a Fisher-Yates shuffle of v[0..n). */
uint64_t corr_rand(uint64_t *state);
size_t corr_below(uint64_t *state, size_t n);
void corr_shuffle(size_t *v, size_t n, uint64_t *state);

/* One labelled text; both strings are the example's own. */
typedef struct example {
    char *text;
    size_t len;
    char *intent;
} example;

typedef struct dataset {
    example *ex;
    size_t n, cap;
} dataset;

/* Appends an example; text and intent become the dataset's. */
void corr_push(dataset *d, char *text, char *intent);
void corr_dataset_free(dataset *d);

/* The whole file, NUL-terminated; *len without the NUL. */
char *corr_slurp(const char *path, size_t *len);

/* Every {"text", "intent"} line of dir/name; anything else is fatal. */
dataset corr_load(const char *dir, const char *name);

/* One training-format line, without its newline; free with cJSON_free. */
char *corr_example_json(const char *text, const char *intent);

/*
 * Two variants of each text dev[idx[k]], k < n, of three words or more:
 * one word dropped, then two adjacent words swapped (so the variants
 * alternate, the dropped word first), with the text's gold intent. The
 * positions come from a state derived from the seed and k, so a text has
 * the same variants however many follow it.
 */
dataset corr_word_variants(const dataset *dev, const size_t *idx, size_t n,
                           uint64_t seed);

#endif
