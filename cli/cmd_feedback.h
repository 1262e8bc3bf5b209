/*
 * cmd_feedback.h - the `tutorcache feedback` command group (submit,
 * import, stats, export), split over cmd_feedback.c (the group, its help,
 * submit and stats) and cmd_feedback_io.c (the bulk commands, import and
 * export), and the feedback side of `train` (train_update.c), which share
 * what is declared here.
 */
#ifndef TC_CMD_FEEDBACK_H
#define TC_CMD_FEEDBACK_H

#include <stdint.h>

#include "cli.h"

/* The command of main.c's table and its help (`tutorcache help feedback`). */
int cli_cmd_feedback(cli_ctx *ctx, int argc, char **argv);
extern const char cli_help_feedback[];

/* ---- shared by cmd_feedback.c and cmd_feedback_io.c --------------------- */

/*
 * A subcommand runs with argv[0] set to its name ("import") and returns a
 * cli_exit code; help is its own --help text.
 */
int cli_feedback_import(cli_ctx *ctx, int argc, char **argv);
int cli_feedback_export(cli_ctx *ctx, int argc, char **argv);
int cli_feedback_learn(cli_ctx *ctx, int argc, char **argv); /* cmd_learn.c */
extern const char cli_help_feedback_import[];
extern const char cli_help_feedback_export[];
extern const char cli_help_feedback_learn[];

/* What `feedback learn` kept of its runs on model (MODEL.learn.json):
 * totals and the last run's summary; NULL when it never ran. */
cJSON *cli_learn_stats(const char *model);

/*
 * Opens the cache for a feedback subcommand. Feedback needs a durable
 * store, so unless memory_ok (a dry-run import stores nothing) a memory:
 * store is refused as a usage error, before the library would refuse it
 * as bad input. Returns CLI_OK or the exit code after a message.
 */
int cli_feedback_open(cli_ctx *ctx, tc_cache **h, int memory_ok);

/* The exit codes, as every feedback subcommand's help words them. */
#define CLI_FEEDBACK_EXIT_CODES                                                \
    "Exit codes:\n"                                                            \
    "  0  ok\n"                                                                \
    "  2  usage (also an input file that cannot be opened, or a memory:\n"     \
    "     store)\n"                                                            \
    "  3  store unreachable\n"                                                 \
    "  4  a record refused or lines rejected\n"                                \
    "  5  other, including a failed write to stdout\n"

/* Prints the subcommand's help text on stdout; returns CLI_OK. */
int cli_feedback_help(const char *text);

/*
 * train_update.c: `train --update MODEL --from-feedback` once its options
 * are parsed. out NULL: MODEL itself; claim_idle_ms 0: the library's
 * default. Returns a cli_exit code.
 */
int cli_train_update(cli_ctx *ctx, const char *model, const char *out,
                     const char *consumer, int64_t claim_idle_ms);

/*
 * A set of record ids (copies). A consumer that has not acknowledged what
 * it took gets its own records back once the claim idle time has passed;
 * export and train --update use the set to notice that and stop, instead
 * of going round the same records again. Zero-initialize; free with
 * cli_idset_free().
 */
typedef struct cli_idset {
    char **slots;
    size_t cap, n;
} cli_idset;

/* Adds id: 1 when it was new, 0 when it was there, -1 out of memory. */
int cli_idset_add(cli_idset *s, const char *id);
void cli_idset_free(cli_idset *s);

#endif /* TC_CMD_FEEDBACK_H */
