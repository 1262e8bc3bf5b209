/*
 * lmdb.c - the LMDB store as the layers above see it: its table of
 * operations, and its opening and closing. A handle is small and its own;
 * the environment under it is shared by every handle of the process on
 * the same directory (lmdb_env.c). The table is what makes a tc__store
 * an LMDB one, so the files below trust the kind they are handed.
 */
#include "store/fbstore.h"
#include "store/lmdb/lmdb_store.h"

static void lm_close(tc__store *base)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;

    if (!s) {
        return;
    }
    tc__lmdb_env_put(s->e);
    tc__free(s);
}

/* LMDB has no breaker: it is always there to call. */
static int lm_resting(tc__store *base)
{
    (void)base;
    return 0;
}

static const tc__store_ops lm_ops = {
    .kind = "lmdb",
    .fb = &tc__fb_lmdb_ops,
    .mget = tc__lmdb_mget,
    .mset = tc__lmdb_mset,
    .del = tc__lmdb_del,
    .incr = tc__lmdb_incr,
    .ping = tc__lmdb_ping,
    .health = tc__lmdb_health,
    .resting = lm_resting,
    .pop_add = tc__lmdb_pop_add,
    .pop_top = tc__lmdb_pop_top,
    .tally_add = tc__lmdb_tally_add,
    .tally_read = tc__lmdb_tally_read,
    .close = lm_close,
};

int tc__store_lmdb_open(tc__store **out, const tc__store_config *cfg,
                        const tc__logger *log, tc__err *err)
{
    tc__lmdb_store *s;
    int rc;

    *out = NULL;
    if (!cfg || !cfg->dir || !*cfg->dir) {
        return tc__errf(err, TC_EINVAL, "lmdb: no directory given");
    }
    s = tc__calloc(1, sizeof(*s));
    if (!s) {
        return tc__errf(err, TC_ENOMEM, "lmdb %s: out of memory", cfg->dir);
    }
    rc = tc__lmdb_env_get(&s->e, cfg, log, err);
    if (rc != TC_OK) {
        tc__free(s);
        return rc;
    }
    s->base.ops = &lm_ops;
    s->log = log;
    *out = &s->base;
    return TC_OK;
}

int tc__store_lmdb_sweep(tc__store *base, int64_t now_ms, uint64_t *removed,
                         tc__err *err)
{
    if (removed) {
        *removed = 0;
    }
    /* The one entry point reached with a store of any kind. */
    if (!base || base->ops != &lm_ops) {
        return tc__errf(err, TC_EINVAL, "SWEEP: not an LMDB store");
    }
    if (now_ms <= 0) {
        now_ms = tc__wall_ms();
    }
    return tc__lmdb_sweep_all((tc__lmdb_store *)base, (uint64_t)now_ms, removed,
                              err);
}
