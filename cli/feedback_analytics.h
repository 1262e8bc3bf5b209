/*
 * feedback_analytics.h - the analytics of `feedback stats --json`
 * (feedback_analytics.c), computed from the stored records.
 */
#ifndef TC_CLI_FEEDBACK_ANALYTICS_H
#define TC_CLI_FEEDBACK_ANALYTICS_H

#include "cli.h"

/*
 * Reads every stored record of h and sets *out to
 *   {"intents":{INTENT:{"corrections":N,"confirmations":N}},
 *    "confusion":{ORIGINAL:{CORRECT:N}},
 *    "per_day":{"YYYY-MM-DD":{"corrections":N,"confirmations":N}},
 *    "most_corrected":[{"key":KEY,"corrections":N}]}
 * intents counts the records by the intent they answer about (the
 * original, the one users corrected or confirmed); per_day has a member
 * for each UTC day of the retention window (the configuration's
 * feedback_retention, at most 400 days), oldest first, zeros included;
 * most_corrected the 10 texts
 * corrected most often, by their key in the "intent_feedback" namespace.
 * Returns CLI_OK, or the exit code after a message (*out NULL).
 * Ownership: *out is the caller's (cJSON_Delete).
 */
int cli_feedback_analytics(tc_cache *h, cJSON **out);

#endif /* TC_CLI_FEEDBACK_ANALYTICS_H */
