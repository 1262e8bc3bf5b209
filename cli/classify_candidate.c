/*
 * classify_candidate.c - classify --candidate (classify_candidate.h).
 */
#include <string.h>

#include "classify_candidate.h"
#include "cli.h"

int candidate_open(candidate *cd, tc_classifier_options *co, const char *spec,
                   int timeout_ms, double split)
{
    char errbuf[512];
    int rc;

    co->split = split;
    if (strncmp(spec, "exec:", 5) == 0) {
        if (!spec[5]) {
            cli_err("classify: --candidate exec: needs a COMMAND");
            return CLI_USAGE;
        }
        if (exec_backend_open(&cd->backend, spec + 5, timeout_ms, errbuf,
                              sizeof(errbuf)) != 0) {
            cli_err("classify: --candidate: %s", errbuf);
            return CLI_FAIL;
        }
        exec_backend_version(cd->version, sizeof(cd->version), spec + 5);
        co->candidate_fn = exec_backend_classify;
        co->candidate_fn_userdata = cd->backend;
        co->candidate_fn_version = cd->version;
        return CLI_OK;
    }
    if ((rc = cli_model_load(spec, &cd->model)) != CLI_OK) {
        return rc;
    }
    co->candidate_model = cd->model;
    return CLI_OK;
}
