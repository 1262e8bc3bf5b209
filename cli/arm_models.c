/*
 * arm_models.c - the identities of the A/B arms' models, as feedback
 * records name them: a model file's fingerprint, or an exec: backend's
 * version, which only the CLI knows how to ask (exec_backend.c). The
 * analytics themselves are the library's (tc_feedback_analytics_json).
 */
#include <string.h>

#include "arm_models.h"
#include "exec_backend.h"

/* A model file's fingerprint into id (128 bytes), or exec:'s version. */
static int arm_id(char *id, const char *spec, int quiet)
{
    const char *cmd = exec_backend_command(spec);
    tc_model *m = NULL;
    int rc;

    if (cmd) {
        exec_backend_version(id, 128, cmd);
        return CLI_OK;
    }
    rc = quiet ? (tc_model_load(&m, spec) == TC_OK ? CLI_OK : CLI_FAIL)
               : cli_model_load(spec, &m);
    if (rc == CLI_OK) {
        tc_model_fingerprint(id, m);
    }
    tc_model_free(m);
    return quiet ? CLI_OK : rc;
}

int cli_arm_models_open(cli_arm_models *am, tc_cache *h, const char *control,
                        const char *candidate)
{
    cJSON *cfg = NULL;
    const cJSON *m;
    int rc = CLI_OK;

    memset(am, 0, sizeof(*am));
    if (control) {
        rc = arm_id(am->id[0], control, 0);
    } else if ((cfg = cli_config_tree(h)) &&
               cJSON_IsString(
                   m = cJSON_GetObjectItemCaseSensitive(cfg, "model")) &&
               *m->valuestring) {
        arm_id(am->id[0], m->valuestring, 1);
    }
    cJSON_Delete(cfg);
    if (rc == CLI_OK && candidate) {
        rc = arm_id(am->id[1], candidate, 0);
    }
    return rc;
}

void cli_arm_models_options(tc_report_options *opt, const cli_arm_models *am)
{
    tc_report_options_init(opt);
    opt->control_model = am->id[0];
    opt->candidate_model = am->id[1];
}
