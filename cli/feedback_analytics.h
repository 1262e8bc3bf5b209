/*
 * feedback_analytics.h - the analytics of `feedback stats --json`
 * (feedback_analytics.c), computed from the stored records.
 */
#ifndef TC_CLI_FEEDBACK_ANALYTICS_H
#define TC_CLI_FEEDBACK_ANALYTICS_H

#include "cli.h"

/*
 * The models of an A/B rollout as records name them (a record's
 * "model"): the control's and the candidate's identity, "" when not
 * known. A model file's fingerprint; an exec: backend's version.
 */
typedef struct cli_arm_models {
    char id[2][128];
} cli_arm_models;

/*
 * Fills am from the control model file (control: --model, else the
 * configuration's "model", else none) and the candidate (a model file or
 * exec:COMMAND; NULL: none). A control from the configuration that does
 * not load is left unknown; a model given on the command line that does
 * not load is an error. Returns CLI_OK or the exit code after a message.
 */
int cli_arm_models_open(cli_arm_models *am, tc_cache *h, const char *control,
                        const char *candidate);

/*
 * Reads every stored record of h and sets *out to
 *   {"intents":{INTENT:{"corrections":N,"confirmations":N}},
 *    "confusion":{ORIGINAL:{CORRECT:N}},
 *    "per_day":{"YYYY-MM-DD":{"corrections":N,"confirmations":N}},
 *    "most_corrected":[{"key":KEY,"corrections":N}],
 *    "models":{MODEL:{"corrections":N,"confirmations":N,
 *                     "correction_rate":R|null[,"arm":ARM]}},
 *    "arms":{ARM:{"model":MODEL,"corrections":N,"confirmations":N,
 *                 "correction_rate":R|null}}}
 * intents counts the records by the intent they answer about (the
 * original, the one users corrected or confirmed); per_day has a member
 * for each UTC day of the retention window (the configuration's
 * feedback_retention, at most 400 days), oldest first, zeros included;
 * most_corrected the 10 texts
 * corrected most often, by their key in the "intent_feedback" namespace;
 * models the records that name the model they are about, per model, with
 * corrections / (corrections + confirmations), null without either, and
 * the arm when am (may be NULL) knows the model; arms the same for each
 * arm am knows, zeros when no record names it. A record naming a host
 * model "fn:VERSION" is the model VERSION.
 * Returns CLI_OK, or the exit code after a message (*out NULL).
 * Ownership: *out is the caller's (cJSON_Delete).
 */
int cli_feedback_analytics(tc_cache *h, const cli_arm_models *am, cJSON **out);

#endif /* TC_CLI_FEEDBACK_ANALYTICS_H */
