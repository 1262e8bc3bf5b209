/*
 * store.c - opening the kind of store a configuration names, so that
 * nothing above the store layer asks which kind it is: from here on the
 * caller holds a tc__store and calls through its table of operations.
 */
#include "store/store.h"

int tc__store_open(tc__store **out, const tc__store_config *cfg,
                   const tc__logger *log, tc__err *err)
{
    *out = NULL;
    if (cfg->tls.on && cfg->tls.insecure > 0) {
        /* once per store, however many nodes or connections it has */
        tc__log(log, TC_LOG_WARN, "tls_insecure",
                (const char *const[]){"store", cfg->url_masked, "detail",
                                      "tls_insecure=1: the server's "
                                      "certificate is not verified",
                                      NULL});
    }
    switch (cfg->kind) {
    case TC__STORE_REDIS:
        return tc__store_redis_open(out, cfg, log, err);
    case TC__STORE_LMDB:
        return tc__store_lmdb_open(out, cfg, log, err);
    case TC__STORE_CLUSTER:
        return tc__store_cluster_open(out, cfg, log, err);
    case TC__STORE_MEMORY:
        return TC_OK;
    }
    return tc__errf(err, TC_EINTERNAL, "store: unknown kind %d",
                    (int)cfg->kind);
}
