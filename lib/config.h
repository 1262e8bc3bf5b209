/*
 * config.h - the effective configuration of a handle: options, then the
 * environment, then the JSON config file, then the built-in defaults.
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef enum tc__store_kind {
    TC__STORE_MEMORY = 0,
    TC__STORE_REDIS,
    TC__STORE_LMDB
} tc__store_kind;

/* A namespace: its name, key prefix and TTLs. */
typedef struct tc__ns_def {
    char *name;
    char *prefix;
    int64_t ttl_ms;
    int64_t l1_ttl_ms; /* bound on an entry's life in L1 */
} tc__ns_def;

typedef struct tc__config {
    /* the store */
    tc__store_kind kind;
    char *url;              /* as resolved, password included */
    char *url_masked;       /* password as *** */
    const char *url_source; /* "option", "TUTORCACHE_URL", "REDIS_HOST",
                               "config file", "default" */
    char *host;
    int port;
    char *unix_path;
    char *user;
    char *password;
    int db;
    char *dir;
    /* limits */
    int connect_timeout_ms;
    int command_timeout_ms;
    int pool_size;
    size_t l1_max_bytes;
    size_t lmdb_map_bytes;
    int enable_caching;
    int64_t degraded_ttl_ms; /* L1 life of an entry the L2 did not take */
    int64_t gen_refresh_ms;  /* how often a namespace generation is re-read */
    char *config_path;       /* the file read, or NULL */
    char *model_path;        /* TUTORCACHE_MODEL or "model": for the CLI */
    int64_t fb_retention_ms; /* feedback records kept; default 30 days */
    char *spool_dir;         /* feedback spool when the L2 is down */
    /* namespaces */
    tc__ns_def *ns;
    size_t nns;
} tc__config;

/* Resolves the configuration; on failure err names the field at fault. */
int tc__config_load(tc__config *cfg, const tc_options *opt, tc__err *err);
void tc__config_free(tc__config *cfg);

/*
 * Parses a store URL into cfg (kind, host, port, unix_path, user,
 * password, db, dir) and sets url/url_masked. Used by config_load and
 * tests.
 */
int tc__config_parse_url(tc__config *cfg, const char *url, tc__err *err);

#endif
