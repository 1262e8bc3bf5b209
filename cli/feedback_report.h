/*
 * feedback_report.h - `tutorcache feedback report`, the feedback
 * analytics as one HTML page (feedback_report.c).
 */
#ifndef TC_CLI_FEEDBACK_REPORT_H
#define TC_CLI_FEEDBACK_REPORT_H

#include "cli.h"

int cli_feedback_report(cli_ctx *ctx, int argc, char **argv);
extern const char cli_help_feedback_report[];

#endif /* TC_CLI_FEEDBACK_REPORT_H */
