/*
 * config.h - the effective configuration of a handle: options, then the
 * environment, then the JSON config file, then the built-in defaults.
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/internal.h"

typedef enum tc__store_kind {
    TC__STORE_MEMORY = 0,
    TC__STORE_REDIS,
    TC__STORE_LMDB,
    TC__STORE_CLUSTER /* redis-cluster:// (config_cluster.c) */
} tc__store_kind;

/* The defaults of the settings below, each in one place. */
#define TC__DEFAULT_REDIS_PORT 6379
#define TC__DEFAULT_TIMEOUT_MS 250 /* connect and command */
#define TC__MAX_TIMEOUT_MS 600000
#define TC__DEFAULT_POOL 8
#define TC__MAX_POOL 1024
#define TC__DEFAULT_MAP_BYTES ((size_t)1 << 30) /* LMDB */
#define TC__MAX_WAIT_REPLICAS 64
/* track_popular: the texts kept in the store's popularity table */
#define TC__DEFAULT_POPULAR_SIZE 10000
#define TC__MAX_POPULAR_SIZE 1000000

/*
 * TLS to a Redis store (rediss://, rediss-cluster://; store/tls.c). The
 * files are PEM; a NULL ca means the system's CAs, a NULL server_name
 * the URL's host. insecure -1 is unset (off).
 */
typedef struct tc__tls_config {
    int on;
    int insecure; /* tls_insecure=1: no verification, logged */
    char *ca, *cert, *key, *server_name;
} tc__tls_config;

/* A node of a redis-cluster:// URL, where the slot map is first asked. */
typedef struct tc__seed {
    char *host;
    int port;
} tc__seed;

/*
 * The store, as its URL and the options say, with every default applied:
 * parsed once (config.c, config_url.c) and read by the store that opens
 * (store/), which keeps a pointer to it for its life.
 */
typedef struct tc__store_config {
    tc__store_kind kind;
    /* redis */
    char *host;      /* NULL with unix_path */
    int port;        /* TC__DEFAULT_REDIS_PORT when the URL names none */
    char *unix_path; /* unix:///path */
    char *user;      /* ACL user; NULL for the default user */
    char *password;  /* NULL: no AUTH */
    int db;          /* SELECT; 0 by default */
    int connect_timeout_ms;
    int command_timeout_ms;
    int pool_size;
    /* redis-cluster: the URL's nodes (host and port above are the first)
     * and whether reads may go to replicas (?read_from=replica) */
    tc__seed *seeds;
    size_t nseeds;
    int read_replica;
    /* L1 kept coherent through the server's invalidations (Redis 6+);
     * 1 unless the URL says tracking=off */
    int tracking;
    /* feedback_wait_replicas: a feedback write on Redis waits (WAIT) for
     * this many replicas to have it before it returns; 0: no wait */
    int fb_wait_replicas;
    /* rediss:// and rediss-cluster://: the URL's query, else the config
     * file's and the environment's (tc__config.tls) */
    tc__tls_config tls;
    /* lmdb */
    char *dir;
    size_t map_bytes;
    /* both */
    char *url_masked; /* the URL with the password as *** */
} tc__store_config;

/*
 * Key prefixes no namespace may take: the library keeps keys of its own
 * under them in the L2, and a namespace's entries there would share their
 * space (the feedback stream, counters and per-record keys are
 * tc:fb:stream, tc:fb:counts and tc:fb:seen:<id>, store/redis/redis_fb.c).
 * A namespace's own keys, tc:<prefix>:<hash> and its generation
 * tc:<prefix>:gen, cannot meet another's, since a prefix holds no ':'.
 * A key the library adds outside the namespaces gets its prefix here.
 */
#define TC__RESERVED_PREFIXES "fb"

/* A namespace: its name, key prefix and TTLs. */
typedef struct tc__ns_def {
    char *name;
    char *prefix;
    int64_t ttl_ms;
    int64_t l1_ttl_ms; /* bound on an entry's life in L1 */
} tc__ns_def;

typedef struct tc__config {
    tc__store_config store;
    char *url;              /* as resolved, password included */
    const char *url_source; /* "option", "TUTORCACHE_URL", "REDIS_HOST",
                               "config file", "default" */
    size_t l1_max_bytes;
    int enable_caching;
    int64_t degraded_ttl_ms; /* L1 life of an entry the L2 did not take */
    int64_t gen_refresh_ms;  /* how often a namespace generation is re-read */
    char *config_path;       /* the file read, or NULL */
    char *model_path;        /* TUTORCACHE_MODEL or "model": for the CLI */
    int64_t fb_retention_ms; /* feedback records kept; default 30 days */
    char *spool_dir;         /* feedback spool when the L2 is down */
    int spool_default;       /* spool_dir is the store's own: it follows a
                                feedback_store (config_spool.c) */
    /* encryption at rest and keyed key hashes (seal.c): files, or NULL */
    char *enc_key_file; /* seals what is written to the L2 */
    char **enc_old;     /* old keys, still accepted for reading */
    size_t nenc_old;
    char *key_secret_file; /* keys by keyed BLAKE2b instead of XXH3 */
    /* feedback_store: the URL of a store of feedback's own, apart from
     * the cache's (config_fb.c), and where it was given; NULL: none */
    char *fb_url;
    const char *fb_url_source;
    /* tls_* of the config file, then TUTORCACHE_TLS_*: what a rediss://
     * URL whose query names none of them uses (config_tls.c) */
    tc__tls_config tls;
    char *password_file; /* the store's password, read from it */
    char *audit_log;     /* the audit trail's file, or NULL */
    int audit_reads;     /* reads are audited too */
    /* track_popular: classified texts counted in the store's popularity
     * table (classify/popular.c), which keeps popular_size of them;
     * stores texts, so off by default */
    int track_popular;
    size_t popular_size;
    /* count_intents: the answers served per day, model and intent, and
     * the shadow checks' outcomes, added to the feedback store
     * (classify/served.c); no texts, so on by default */
    int count_intents;
    /* namespaces */
    tc__ns_def *ns;
    size_t nns;
} tc__config;

/* Resolves the configuration; on failure err names the field at fault. */
/* tc_options_init: every field "unset". */
void tc__options_init(tc_options *opt);
int tc__config_load(tc__config *cfg, const tc_options *opt, tc__err *err);
void tc__config_free(tc__config *cfg);

/*
 * Parses a store URL into cfg->store (kind, host, port, unix_path, user,
 * password, db, dir, url_masked) and sets cfg->url. Used by config_load
 * and tests.
 */
int tc__config_parse_url(tc__config *cfg, const char *url, tc__err *err);

/*
 * Makes cfg the configuration of feedback's own store (config_fb.c): its
 * store becomes fb_url's, every other setting kept. Returns TC_OK,
 * TC_EINVAL (cfg names no feedback store), TC_ECONFIG, TC_ENOMEM.
 */
int tc__config_use_fb_store(tc__config *cfg, tc__err *err);

#endif
