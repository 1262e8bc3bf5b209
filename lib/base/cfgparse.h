/*
 * cfgparse.h - what the configuration's files share (config.c,
 * config_url.c, config_file.c): small parsers, and the namespace table.
 */
#ifndef TC_CFGPARSE_H
#define TC_CFGPARSE_H

#include "base/config.h"

/* TC_ENOMEM with "out of memory" in err. */
int tc__cfg_oom(tc__err *err);
/* *dst becomes a copy of src (NULL: none), the old string freed. */
int tc__cfg_set_str(char **dst, const char *src, tc__err *err);
/* A whole decimal integer in [min, max], nothing else; 0 or -1. */
int tc__cfg_parse_long(const char *s, long long min, long long max,
                       long long *out);
/* 1/true/yes/on or 0/false/no/off, any case; 0 or -1. */
int tc__cfg_parse_bool(const char *s, int *out);
/* The n bytes at s, percent-decoded (tc__malloc'd); *bad set on a bad
 * escape or a decoded NUL. NULL when out of memory. */
char *tc__cfg_pct_decode(const char *s, size_t n, int *bad);
/* s percent-encoded for a URL's user info; NULL when out of memory. */
char *tc__cfg_pct_encode(const char *s);

/* Whether prefix is one of TC__RESERVED_PREFIXES. */
int tc__cfg_prefix_reserved(const char *prefix);

/* config_spool.c: cfg->spool_dir becomes the default for cfg->store:
 * "spool" in an LMDB directory; for a network store a directory of its
 * own under $XDG_STATE_HOME/tutorcache/spool (~/.local/state), named by
 * its kind and a hash of its address; NULL with neither variable set. */
int tc__cfg_default_spool(tc__config *cfg, tc__err *err);

/* config_url.c: the store part of cfg emptied. */
void tc__cfg_clear_store(tc__config *cfg);

/* config_cluster.c: what follows "redis-cluster://" parsed into
 * cfg->store (kind, seeds, host and port of the first, user, password,
 * read_replica); and those fields emptied. */
#define TC__CLUSTER_SCHEME "redis-cluster://"
#define TC__CLUSTER_TLS_SCHEME "rediss-cluster://"
int tc__cfg_parse_cluster(tc__config *cfg, const char *rest, tc__err *err);
void tc__cfg_clear_cluster(tc__config *cfg);

/* config_tls.c: a tls_* parameter of a store URL's query (the klen
 * bytes at k, "tls_ca=..."): 1 when k is one and was taken, 0 when it is
 * none, or an error (a URL that is not rediss://, a bad value). */
int tc__cfg_tls_param(tc__config *cfg, const char *k, size_t klen,
                      tc__err *err);
/* A tls_* field of the config file (1 taken, 0 none, or an error). */
int tc__cfg_tls_file(tc__config *cfg, const char *k, const void *json,
                     const char *path, tc__err *err);
/* TUTORCACHE_TLS_*, over the config file's. */
int tc__cfg_tls_env(tc__config *cfg, tc__err *err);
/* The file's and environment's settings for a TLS store whose URL named
 * none, then checked (a cert needs its key). */
int tc__cfg_tls_finish(tc__config *cfg, tc__err *err);
void tc__cfg_tls_clear(tc__tls_config *t);

/* config_file.c: the namespace called name, or NULL; a new one (NULL
 * after err when out of memory); the JSON configuration file read. */
tc__ns_def *tc__cfg_find_ns(tc__config *cfg, const char *name);
tc__ns_def *tc__cfg_add_ns(tc__config *cfg, const char *name,
                           const char *prefix, int64_t ttl_ms, tc__err *err);
int tc__cfg_load_file(tc__config *cfg, const char *path, tc__err *err);
/* config_file.c: the key files of seal.c. One more old key file (n bytes
 * of path); the old key files forgotten. */
int tc__cfg_add_old_key(tc__config *cfg, const char *path, size_t n,
                        tc__err *err);
void tc__cfg_clear_old_keys(tc__config *cfg);

/* config_fb.c: url, given by source ("option", "TUTORCACHE_FEEDBACK_STORE",
 * "config file"), checked and kept as the feedback store's; err names
 * source. */
int tc__cfg_set_fb_store(tc__config *cfg, const char *url, const char *source,
                         tc__err *err);

/* config_secret.c: TC_ECONFIG, naming what and path, when group or others
 * may read the file at path, which holds a password. */
int tc__cfg_check_private(const char *path, const char *what, tc__err *err);
/* The one line of a secret file, refused when group or others may read
 * it (TC_ECONFIG); *out is tc__malloc'd. */
int tc__cfg_secret_file(char **out, const char *path, const char *what,
                        tc__err *err);
/* cfg->password_file, if any, read into a Redis store's password (it
 * replaces one the URL carries). */
int tc__cfg_apply_password_file(tc__config *cfg, tc__err *err);

#endif
