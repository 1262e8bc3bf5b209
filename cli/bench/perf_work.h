/*
 * perf_work.h - what `tutorcache bench classify` and `tutorcache loadtest`
 * share: the clock, the texts they classify, the classifier they classify
 * with, and the stream of requests that repeats a chosen share of texts.
 */
#ifndef TC_CLI_PERF_WORK_H
#define TC_CLI_PERF_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "answerer.h"
#include "cli.h"

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t perf_now_ns(void);

/* Sleeps until the CLOCK_MONOTONIC time `when` (ns); returns at once when
 * it has passed. */
void perf_sleep_until(int64_t when);

/* ---- texts -------------------------------------------------------------- */

/*
 * The texts of a run. Text number i (any i) is distinct from every other
 * after normalization, and from the texts of any other run: each carries a
 * tag made of the time and the process id, so that "new" texts are really
 * new to a persistent store that earlier runs filled.
 */
typedef struct perf_texts {
    char **lines; /* the distinct lines of --texts, or NULL: built-in */
    size_t nlines;
    size_t max; /* the longest text perf_text() makes, in bytes */
    char tag[24];
} perf_texts;

/*
 * path: a file of texts, one per line (empty lines, lines that are not
 * UTF-8 and lines that repeat another after normalization are skipped,
 * and counted on stderr), or NULL for the built-in generator. who names
 * the command in messages. Returns CLI_OK, CLI_USAGE for a file that
 * cannot be read, CLI_BADINPUT for one without a usable line, CLI_FAIL.
 */
int perf_texts_init(perf_texts *t, const char *path, const char *who);
void perf_texts_free(perf_texts *t);

/* Text number i into buf (at least t->max + 1 bytes), NUL-terminated;
 * returns its length. */
size_t perf_text(const perf_texts *t, size_t i, char *buf);

/* ---- the classifier ----------------------------------------------------- */

typedef struct perf_classifier {
    tc_cache *h;
    cli_answerer a; /* what answers: the model or the backend */
    tc_classifier *c;
    char what[1200]; /* "model PATH (FINGERPRINT)" or "exec:COMMAND" */
} perf_classifier;

/*
 * Opens the cache with ctx's options (a Redis pool of at least `threads`
 * connections, an L1 of at least l1_bytes), checks that the store answers,
 * and opens a classifier on it: the model file `model`, else the command
 * of `backend` ("exec:COMMAND" already stripped to COMMAND), else the
 * model named by TUTORCACHE_MODEL or the config file's "model". Returns
 * CLI_OK, or an exit code after a message: CLI_USAGE without a model, 3
 * for a store that does not answer, 2 or 4 for a model file (see
 * cli_model_load). The caller closes pc, even after a failure.
 */
int perf_classifier_open(perf_classifier *pc, cli_ctx *ctx, const char *who,
                         const char *model, const char *backend, int threads,
                         size_t l1_bytes);
void perf_classifier_close(perf_classifier *pc);

/* Whether a result came from the cache (L1, L2 or a feedback entry)
 * rather than from the classifier itself. */
int perf_is_hit(tc_source source);

/* ---- the stream of requests --------------------------------------------- */

/*
 * Fills idx[0..n) with the text numbers of n requests of which exactly
 * round(n * ratio) repeat a text already seen, at positions shuffled by
 * a fixed seed, so that the same arguments always give the same stream.
 * New texts are numbered first_new, first_new + 1, ...; a repeat draws
 * uniformly from the texts seen: those numbered below first_new, and
 * with `within` set also the new texts of earlier positions. A repeat
 * with nothing seen yet trades places with the next new request (or
 * becomes new itself when none is left). Returns the number of repeats;
 * *nnew receives the number of new texts used.
 */
size_t perf_stream(uint32_t *idx, size_t n, double ratio, size_t first_new,
                   int within, uint64_t seed, size_t *nnew);

#endif /* TC_CLI_PERF_WORK_H */
