/*
 * feedback_common.h - what the feedback subcommands share (the group in
 * cmd_feedback.c, import and export, learn, and train --update): opening
 * the cache, the help and exit codes, and a set of record ids.
 * feedback_common.c; it calls none of them.
 */
#ifndef TC_CLI_FEEDBACK_COMMON_H
#define TC_CLI_FEEDBACK_COMMON_H

#include <stddef.h>

#include "cli.h"

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
    "  3  store unreachable or TLS refused\n"                                  \
    "  4  a record refused or lines rejected\n"                                \
    "  5  other, including a failed write to stdout\n"

/* Prints the subcommand's help text on stdout; returns CLI_OK. */
int cli_feedback_help(const char *text);

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

#endif /* TC_CLI_FEEDBACK_COMMON_H */
