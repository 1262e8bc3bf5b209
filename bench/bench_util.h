/*
 * bench_util.h - what every benchmark program in bench/ shares: fatal
 * errors, allocation that cannot fail, the monotonic clock, the seeded
 * PRNG, whole files, and the labelled examples of a JSON Lines data set.
 *
 * These are tools, not the library: a benchmark that cannot measure what
 * it says stops with a message and exit status 1 rather than report a
 * number for something else, so nothing here returns an error.
 */
#ifndef TC_BENCH_UTIL_H
#define TC_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The program's name, which starts every message of bench_fail; each
 * program defines it (`const char bench_prog[] = "suite";`). */
extern const char bench_prog[];

/* Prints "PROG: MESSAGE" on stderr and exits 1. */
__attribute__((format(printf, 1, 2), noreturn)) void bench_fail(const char *fmt,
                                                                ...);

/* malloc, calloc and realloc of n items of size bytes, and strdup, that
 * never return NULL (they call bench_fail); the counts are
 * overflow-checked, and zero bytes is one. */
void *bench_alloc(size_t n, size_t size);
void *bench_calloc(size_t n, size_t size);
void *bench_realloc(void *p, size_t n, size_t size);
char *bench_strdup(const char *s);

/* The count an option was given, s, in 1..max; anything else is fatal,
 * naming the option. */
long bench_count_arg(const char *opt, const char *s, long max);

/* The monotonic clock, in nanoseconds and in seconds. */
int64_t bench_now_ns(void);
double bench_now(void);

/* Sorts n doubles ascending (the rounds of a run, for their median). */
void bench_sort_doubles(double *v, size_t n);

/*
 * splitmix64, the one PRNG of the benchmarks, so that a seed gives the
 * same sets, shuffles and paraphrases on every machine and C library.
 * bench_below: a uniform integer in [0, n), n > 0 (the modulo's bias is
 * below 2^-40 for the sizes used here, and changing it would change
 * every published set). bench_shuffle: a Fisher-Yates shuffle of the n
 * items of size bytes at base, drawing bench_below(k) for k = n .. 2.
 */
uint64_t bench_rand(uint64_t *state);
size_t bench_below(uint64_t *state, size_t n);
void bench_shuffle(void *base, size_t n, size_t size, uint64_t *state);

/* The whole file, NUL-terminated; *len without the NUL. */
char *bench_slurp(const char *path, size_t *len);

/* One labelled text; both strings are the example's own. */
typedef struct bench_example {
    char *text;
    size_t len; /* strlen(text) */
    char *intent;
} bench_example;

typedef struct bench_dataset {
    bench_example *ex;
    size_t n, cap;
} bench_dataset;

/* Appends an example; text and intent (malloc'd) become the dataset's. */
void bench_dataset_push(bench_dataset *d, char *text, char *intent);
void bench_dataset_free(bench_dataset *d);

/* For bench_dataset_load: every intent must be one word, as a fastText
 * label must be. */
#define BENCH_ONE_WORD 1u

/*
 * Every {"text": ..., "intent": ...} line of path, in file order; blank
 * lines are skipped. Anything else is fatal with "PATH:LINE: reason" (a
 * line that is not one JSON object, a text or intent that is not a
 * string, an empty intent, with BENCH_ONE_WORD an intent with white
 * space), and so is a file without examples, since a benchmark on part
 * of a data set would mislead.
 */
bench_dataset bench_dataset_load(const char *path, unsigned flags);

/* {"text":..., "intent":...}, one line of the data sets' format without
 * its newline; free with cJSON_free. */
char *bench_example_json(const char *text, const char *intent);

#endif
