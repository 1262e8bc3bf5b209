/*
 * arm_models.h - the models of an A/B rollout as feedback records name
 * them (arm_models.c), for the analytics of `feedback stats` and
 * `feedback report` (tc_report_options).
 */
#ifndef TC_CLI_ARM_MODELS_H
#define TC_CLI_ARM_MODELS_H

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

/* The report's options naming am's models (opt borrows am's strings). */
void cli_arm_models_options(tc_report_options *opt, const cli_arm_models *am);

#endif /* TC_CLI_ARM_MODELS_H */
