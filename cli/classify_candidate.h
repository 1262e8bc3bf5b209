/*
 * classify_candidate.h - classify --candidate: an A/B rollout's candidate
 * model, a model file or an exec: backend, put into classifier options.
 */
#ifndef TC_CLI_CLASSIFY_CANDIDATE_H
#define TC_CLI_CLASSIFY_CANDIDATE_H

#include "exec_backend.h"
#include "tutorcache.h"

/* --split when not given. */
#define DEFAULT_SPLIT 0.1

typedef struct candidate {
    tc_model *model;       /* owned, or NULL */
    exec_backend *backend; /* owned, or NULL */
    char version[EXEC_BACKEND_VERSION_MAX + 32];
} candidate;

/*
 * Opens spec (a model file, or exec:COMMAND whose version is the
 * default exec:COMMAND) into *cd and sets co's candidate and split.
 * Returns CLI_OK, or a CLI exit code after a message. The caller frees
 * cd->model and cd->backend either way.
 */
int candidate_open(candidate *cd, tc_classifier_options *co, const char *spec,
                   int timeout_ms, double split);

#endif
