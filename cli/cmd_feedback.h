/*
 * cmd_feedback.h - the `tutorcache feedback` command group: cmd_feedback.c
 * holds the group, its help, submit and stats, and hands import and export
 * to cmd_feedback_io.c and learn to cmd_learn.c; what they share is in
 * feedback_common.h, below all of them.
 */
#ifndef TC_CMD_FEEDBACK_H
#define TC_CMD_FEEDBACK_H

#include "cli.h"

/* The command of main.c's table and its help (`tutorcache help feedback`). */
int cli_cmd_feedback(cli_ctx *ctx, int argc, char **argv);
extern const char cli_help_feedback[];

/* `feedback purge` (cmd_feedback_purge.c). */
int cli_feedback_purge(cli_ctx *ctx, int argc, char **argv);
extern const char cli_help_feedback_purge[];

#endif /* TC_CMD_FEEDBACK_H */
