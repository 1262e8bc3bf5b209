/*
 * answerer.h - what answers a classification for a command: a model file
 * or `--backend exec:COMMAND`. classify, warm and the benchmarks take the
 * same options and open the same way, so both live here once.
 */
#ifndef TC_CLI_ANSWERER_H
#define TC_CLI_ANSWERER_H

#include <getopt.h>

#include "cli.h"
#include "exec_backend.h"

/* The option codes of --backend and its two (past any command's own). */
enum {
    CLI_OPT_BACKEND = 0x1000,
    CLI_OPT_BACKEND_VERSION,
    CLI_OPT_BACKEND_TIMEOUT,
    CLI_OPT_BATCH
};

/* --batch's bound: texts sent to tc_classify_batch at once. */
#define CLI_BATCH_MAX 10000

/* One option a line; the formatter would break them apart. */
/* clang-format off */

/* The long options of -m/--model and --backend, for a command's table
 * (the benchmarks). */
#define CLI_ANSWERER_LONGS                                                     \
    {"model", required_argument, NULL, 'm'},                                   \
    {"backend", required_argument, NULL, CLI_OPT_BACKEND}

/* The same with --backend-version, --backend-timeout, -k/--top-k and
 * --batch (classify, warm). */
#define CLI_ANSWERER_LONGS_ALL                                                 \
    CLI_ANSWERER_LONGS,                                                        \
    {"backend-version", required_argument, NULL, CLI_OPT_BACKEND_VERSION},     \
    {"backend-timeout", required_argument, NULL, CLI_OPT_BACKEND_TIMEOUT},     \
    {"top-k", required_argument, NULL, 'k'},                                   \
    {"batch", required_argument, NULL, CLI_OPT_BATCH}

/* clang-format on */

typedef struct cli_answerer {
    /* the options */
    const char *model;   /* -m: a model file, or NULL */
    const char *backend; /* the COMMAND of --backend exec:COMMAND, or NULL */
    const char *version; /* --backend-version, or NULL: from the command */
    int timeout_ms;      /* --backend-timeout */
    int top_k;           /* -k/--top-k, 0: the library's default */
    size_t batch;        /* --batch: the command's default until given */
    /* what cli_answerer_open opened */
    char *model_path;
    tc_model *m;
    exec_backend *be;
    char version_buf[EXEC_BACKEND_VERSION_MAX + 32];
} cli_answerer;

/* Sets the options to their defaults (no model, the backend's timeout,
 * batches of batch texts). */
void cli_answerer_init(cli_answerer *a, size_t batch);

/*
 * One option of a command's cli_getopt loop: -m, --backend,
 * --backend-version, --backend-timeout, -k, --batch are checked and kept
 * in a; any
 * other opt goes to cli_opt_default. Returns CLI_OK or an exit code after
 * a message.
 */
int cli_answerer_option(const cli_ctx *ctx, int opt, cli_answerer *a);

/* Once the options are read: not both --model and --backend, no
 * --backend-version without --backend. CLI_OK, or CLI_USAGE after a
 * message. */
int cli_answerer_check(const cli_ctx *ctx, const cli_answerer *a);

/*
 * Opens what answers and puts it, and top_k, in co: the backend's child process
 * (its version: --backend-version, else named after the command), else the
 * model file (-m, else TUTORCACHE_MODEL or the config's "model", looked
 * up through h). who names the command in messages. Returns CLI_OK, or an
 * exit code after a message (see cli_model_path and cli_model_load).
 * The caller closes a, even after a failure, and after the classifier
 * that uses co.
 */
int cli_answerer_open(cli_answerer *a, tc_cache *h, const char *who,
                      tc_classifier_options *co);

/* Asks the backend's child to exit and reaps it, frees the model. */
void cli_answerer_close(cli_answerer *a);

#endif /* TC_CLI_ANSWERER_H */
