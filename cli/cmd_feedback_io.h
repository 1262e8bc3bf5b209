/*
 * cmd_feedback_io.h - `tutorcache feedback import` and `feedback export`,
 * the bulk subcommands of the feedback group (cmd_feedback_io.c).
 */
#ifndef TC_CMD_FEEDBACK_IO_H
#define TC_CMD_FEEDBACK_IO_H

#include "cli.h"

/*
 * A subcommand runs with argv[0] set to its name ("import") and returns a
 * cli_exit code; help is its own --help text.
 */
int cli_feedback_import(cli_ctx *ctx, int argc, char **argv);
int cli_feedback_export(cli_ctx *ctx, int argc, char **argv);
extern const char cli_help_feedback_import[];
extern const char cli_help_feedback_export[];

#endif /* TC_CMD_FEEDBACK_IO_H */
