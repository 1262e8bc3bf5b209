/*
 * store.c - what every store shares: opening the kind a configuration
 * names (so that nothing above the store layer asks which kind it is),
 * and freeing what the operations hand out.
 */
#include <string.h>

#include "store/fbstore.h"
#include "store/store.h"

int tc__store_open(tc__store **out, const tc__store_config *cfg,
                   const tc__logger *log, tc__err *err)
{
    *out = NULL;
    switch (cfg->kind) {
    case TC__STORE_REDIS:
        return tc__store_redis_open(out, cfg, log, err);
    case TC__STORE_LMDB:
        return tc__store_lmdb_open(out, cfg, log, err);
    case TC__STORE_MEMORY:
        return TC_OK;
    }
    return tc__errf(err, TC_EINTERNAL, "store: unknown kind %d",
                    (int)cfg->kind);
}

void tc__store_get_release(tc__store_get *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        tc__free(items[i].val);
        items[i].val = NULL;
    }
}

void tc__fb_strings_free(char **v, size_t n)
{
    size_t i;

    if (!v) {
        return;
    }
    for (i = 0; i < n; i++) {
        tc__free(v[i]);
    }
    tc__free(v);
}

void tc__fb_stats_release(tc__fb_stats *st)
{
    size_t i;

    if (!st) {
        return;
    }
    for (i = 0; i < st->ncounts; i++) {
        tc__free(st->counts[i].name);
    }
    tc__free(st->counts);
    st->counts = NULL;
    st->ncounts = 0;
}
