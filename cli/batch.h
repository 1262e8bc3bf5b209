/*
 * batch.h - the arrays of one tc_classify_batch call, shared by the
 * commands that classify in batches (classify, warm): the texts sent and
 * their lengths, the results and statuses that come back, and for each
 * slot an index of the caller's (classify: the line's place in its batch;
 * warm: the text's line).
 */
#ifndef TC_CLI_BATCH_H
#define TC_CLI_BATCH_H

#include <stddef.h>

#include "tutorcache.h"

typedef struct cli_batch {
    size_t max;         /* slots */
    const char **texts; /* the caller owns what they point to */
    size_t *lens;
    tc_result **res;
    int *status;
    size_t *at; /* the caller's index per slot */
} cli_batch;

/* max slots, zeroed. Returns 0, or -1 when out of memory (b is then
 * still freed by cli_batch_free). */
int cli_batch_alloc(cli_batch *b, size_t max);
/* Frees the arrays (not the texts or results); a zeroed b is accepted. */
void cli_batch_free(cli_batch *b);

#endif /* TC_CLI_BATCH_H */
