/*
 * train_update.h - the feedback side of `tutorcache train`
 * (train_update.c).
 */
#ifndef TC_CLI_TRAIN_UPDATE_H
#define TC_CLI_TRAIN_UPDATE_H

#include <stdint.h>

#include "cli.h"

/*
 * `train --update MODEL --from-feedback` once its options
 * are parsed. out NULL: MODEL itself; claim_idle_ms 0: the library's
 * default. Returns a cli_exit code.
 */
int cli_train_update(cli_ctx *ctx, const char *model, const char *out,
                     const char *consumer, int64_t claim_idle_ms);

#endif /* TC_CLI_TRAIN_UPDATE_H */
