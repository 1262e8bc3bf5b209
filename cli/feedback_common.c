/*
 * feedback_common.c - what the feedback subcommands share: opening the
 * cache for them, printing their help, and the set of record ids that
 * export and train --update keep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback_common.h"

int cli_feedback_help(const char *text)
{
    fputs(text, stdout);
    return CLI_OK;
}

int cli_feedback_open(cli_ctx *ctx, tc_cache **h, int memory_ok)
{
    int rc;

    *h = NULL;
    if ((rc = cli_open(ctx, h)) != CLI_OK) {
        return rc;
    }
    if (!memory_ok && strcmp(tc_cache_store_kind(*h), "memory") == 0) {
        cli_err("feedback needs a durable store (--store lmdb:///DIR or "
                "redis://...): memory: keeps nothing");
        tc_cache_close(*h);
        *h = NULL;
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- the id set ----------------------------------------------------------
 *
 * Open addressing with linear probing over copies of the ids, grown at
 * half full: a consumer's run holds one entry per record it printed.
 */

static uint64_t id_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*s) {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h;
}

static int idset_grow(cli_idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024, i, j;
    char **slots;

    if (cap > SIZE_MAX / sizeof(*slots) ||
        !(slots = calloc(cap, sizeof(*slots)))) {
        return -1;
    }
    for (i = 0; i < s->cap; i++) {
        if (!s->slots[i]) {
            continue;
        }
        for (j = id_hash(s->slots[i]) & (cap - 1); slots[j];
             j = (j + 1) & (cap - 1)) {
        }
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

int cli_idset_add(cli_idset *s, const char *id)
{
    size_t j;

    if (s->n + 1 > s->cap / 2 && idset_grow(s) != 0) {
        return -1;
    }
    for (j = id_hash(id) & (s->cap - 1); s->slots[j];
         j = (j + 1) & (s->cap - 1)) {
        if (strcmp(s->slots[j], id) == 0) {
            return 0;
        }
    }
    if (!(s->slots[j] = strdup(id))) {
        return -1;
    }
    s->n++;
    return 1;
}

void cli_idset_free(cli_idset *s)
{
    size_t i;

    for (i = 0; i < s->cap; i++) {
        free(s->slots[i]);
    }
    free(s->slots);
    memset(s, 0, sizeof(*s));
}
