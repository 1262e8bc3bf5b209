/*
 * batch.c - the arrays of a tc_classify_batch call (batch.h), one
 * allocation per array, so that classify and warm size them alike.
 */
#include <stdlib.h>

#include "batch.h"

int cli_batch_alloc(cli_batch *b, size_t max)
{
    b->max = max;
    b->texts = calloc(max, sizeof(*b->texts));
    b->lens = calloc(max, sizeof(*b->lens));
    b->res = calloc(max, sizeof(*b->res));
    b->status = calloc(max, sizeof(*b->status));
    b->at = calloc(max, sizeof(*b->at));
    return b->texts && b->lens && b->res && b->status && b->at ? 0 : -1;
}

void cli_batch_free(cli_batch *b)
{
    free(b->texts);
    free(b->lens);
    free(b->res);
    free(b->status);
    free(b->at);
}
