/*
 * feedback_counts.h - the answers served per intent, as every process
 * counted them (tc_classify_counts_json), joined to the analytics of
 * `feedback stats --json` (feedback_counts.c).
 */
#ifndef TC_CLI_FEEDBACK_COUNTS_H
#define TC_CLI_FEEDBACK_COUNTS_H

#include "cli.h"

/*
 * Adds to analytics (cli_feedback_analytics' object) what h's store
 * counted of the answers served over the feedback retention window:
 * to each member of "intents", "classifications" (the answers of that
 * intent, every model's) and "correction_rate", corrections /
 * classifications, null when none was counted; and "shadow", per model,
 * its shadow checks {"checks":N,"agree":N,"disagree":N,"rate":R|null}.
 * Returns CLI_OK, or the exit code after a message.
 */
int cli_feedback_counts_join(tc_cache *h, cJSON *analytics);

#endif /* TC_CLI_FEEDBACK_COUNTS_H */
