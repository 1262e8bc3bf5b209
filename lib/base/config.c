/*
 * config.c - resolves a handle's configuration. Sources are applied from
 * the weakest to the strongest (defaults, config file, environment,
 * options), each overriding what came before, and every value is checked
 * where it is read so that the message names the field that was wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/cfgparse.h"

#define DEFAULT_L1_BYTES ((size_t)64 << 20)
/*
 * An entry lives in L1 at most a minute by default even when its L2 TTL is
 * an hour: L1 copies are private to a process, and this bounds how long a
 * process can serve an entry that another process replaced or invalidated.
 */
#define DEFAULT_L1_TTL_MS 60000
#define DEFAULT_DEGRADED_TTL_MS 5000
#define DEFAULT_GEN_REFRESH_MS 1000
#define DEFAULT_FB_RETENTION_MS ((int64_t)30 * 86400 * 1000)

/* The namespaces of the original services. */
static const struct {
    const char *name, *prefix;
    int64_t ttl_s;
} default_ns[] = {
    {"ml_model_predictions", "ml_pred", 3600},
    {"student_profiles", "profile", 1800},
    {"adaptive_paths", "path", 7200},
    {"diagnostic_results", "diag", 86400},
    {"intents", "intent", 3600},
    /* corrections that override classifications: 24 h, per the original
     * service; the key material is "the normalized text" alone */
    {"intent_feedback", "intent_fb", 86400},
};

/* ---- the environment --------------------------------------------------- */

/* Percent-encodes s for the user-info part of a URL. */
static int env_redis(tc__config *cfg, const char *host, tc__err *err)
{
    const char *port = getenv("REDIS_PORT");
    const char *db = getenv("REDIS_DB");
    const char *pw = getenv("REDIS_PASSWORD");
    char *pwenc = NULL, *url;
    long long v;
    size_t n;
    int rc;

    if (port && *port && tc__cfg_parse_long(port, 1, 65535, &v) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "REDIS_PORT: %s is not a port (1-65535)", port);
    }
    if (db && *db && tc__cfg_parse_long(db, 0, INT_MAX, &v) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "REDIS_DB: %s is not a database number", db);
    }
    if (strpbrk(host, "/@?# ")) {
        return tc__errf(err, TC_ECONFIG, "REDIS_HOST: %s is not a host name",
                        host);
    }
    if (pw && *pw && !(pwenc = tc__cfg_pct_encode(pw))) {
        return tc__cfg_oom(err);
    }
    n = strlen(host) + (pwenc ? strlen(pwenc) : 0) + 64;
    if (!(url = tc__malloc(n))) {
        tc__free(pwenc);
        return tc__cfg_oom(err);
    }
    if (port && *port) {
        snprintf(url, n, "redis://%s%s%s%s%s:%s/%s", pwenc ? ":" : "",
                 pwenc ? pwenc : "", pwenc ? "@" : "",
                 strchr(host, ':') ? "[" : "", host, port,
                 db && *db ? db : "0");
    } else {
        snprintf(url, n, "redis://%s%s%s%s%s:%d/%s", pwenc ? ":" : "",
                 pwenc ? pwenc : "", pwenc ? "@" : "",
                 strchr(host, ':') ? "[" : "", host, TC__DEFAULT_REDIS_PORT,
                 db && *db ? db : "0");
    }
    if (strchr(host, ':')) {
        /* an IPv6 literal: close the bracket before the port */
        char *p = strrchr(url, ':');
        memmove(p + 1, p, strlen(p) + 1);
        *p = ']';
    }
    tc__free(pwenc);
    rc = tc__config_parse_url(cfg, url, err);
    tc__free(url);
    return rc;
}

static const char *env(const char *name, unsigned flags)
{
    const char *v;

    if (flags & TC_OPT_NO_ENV) {
        return NULL;
    }
    v = getenv(name);
    return v && *v ? v : NULL;
}

/*
 * The key files of seal.c: TUTORCACHE_ENCRYPTION_KEY_FILE,
 * TUTORCACHE_KEY_SECRET_FILE and TUTORCACHE_ENCRYPTION_OLD_KEY_FILES
 * (names separated by ':', as in PATH).
 */
static int env_keys(tc__config *cfg, unsigned flags, tc__err *err)
{
    const char *v, *p, *e;
    int rc;

    if ((v = env("TUTORCACHE_ENCRYPTION_KEY_FILE", flags)) &&
        (rc = tc__cfg_set_str(&cfg->enc_key_file, v, err)) != TC_OK) {
        return rc;
    }
    if ((v = env("TUTORCACHE_KEY_SECRET_FILE", flags)) &&
        (rc = tc__cfg_set_str(&cfg->key_secret_file, v, err)) != TC_OK) {
        return rc;
    }
    if (!(v = env("TUTORCACHE_ENCRYPTION_OLD_KEY_FILES", flags))) {
        return TC_OK;
    }
    tc__cfg_clear_old_keys(cfg);
    for (p = v; *p; p = *e ? e + 1 : e) {
        e = strchr(p, ':');
        e = e ? e : p + strlen(p);
        if (e > p &&
            (rc = tc__cfg_add_old_key(cfg, p, (size_t)(e - p), err)) != TC_OK) {
            return rc;
        }
    }
    return TC_OK;
}

static int load_env(tc__config *cfg, unsigned flags, tc__err *err)
{
    const char *v;
    long long n;
    int rc;

    if ((v = env("TUTORCACHE_URL", flags))) {
        if ((rc = tc__config_parse_url(cfg, v, err)) != TC_OK) {
            return rc;
        }
        cfg->url_source = "TUTORCACHE_URL";
    } else if ((v = env("REDIS_HOST", flags))) {
        if ((rc = env_redis(cfg, v, err)) != TC_OK) {
            return rc;
        }
        cfg->url_source = "REDIS_HOST";
    }
    if (!(flags & TC_OPT_NO_ENV) && (rc = tc__cfg_tls_env(cfg, err)) != TC_OK) {
        return rc;
    }
    if ((v = env("TUTORCACHE_FEEDBACK_STORE", flags)) &&
        (rc = tc__cfg_set_fb_store(cfg, v, "TUTORCACHE_FEEDBACK_STORE", err)) !=
            TC_OK) {
        return rc;
    }
    if ((v = env("TUTORCACHE_MODEL", flags)) &&
        (rc = tc__cfg_set_str(&cfg->model_path, v, err)) != TC_OK) {
        return rc;
    }
    if ((v = env("TUTORCACHE_SPOOL_DIR", flags))) {
        if (v[0] != '/') {
            return tc__errf(err, TC_ECONFIG,
                            "TUTORCACHE_SPOOL_DIR: %s is not an absolute "
                            "directory",
                            v);
        }
        if ((rc = tc__cfg_set_str(&cfg->spool_dir, v, err)) != TC_OK) {
            return rc;
        }
    }
    if ((v = env("TUTORCACHE_AUDIT_LOG", flags)) &&
        (rc = tc__cfg_set_str(&cfg->audit_log, v, err)) != TC_OK) {
        return rc;
    }
    if ((v = env("TUTORCACHE_PASSWORD_FILE", flags)) &&
        (rc = tc__cfg_set_str(&cfg->password_file, v, err)) != TC_OK) {
        return rc;
    }
    if ((rc = env_keys(cfg, flags, err)) != TC_OK) {
        return rc;
    }
    if ((v = env("CACHE_TTL", flags))) {
        tc__ns_def *ns = tc__cfg_find_ns(cfg, "intents");

        if (tc__cfg_parse_long(v, 1, 1000000000, &n) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "CACHE_TTL: %s is not a positive number of "
                            "seconds",
                            v);
        }
        if (ns) {
            ns->ttl_ms = n * 1000;
        }
    }
    if ((v = env("ENABLE_CACHING", flags)) &&
        tc__cfg_parse_bool(v, &cfg->enable_caching) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "ENABLE_CACHING: %s is not true or false", v);
    }
    if ((v = env("TUTORCACHE_TRACK_POPULAR", flags)) &&
        tc__cfg_parse_bool(v, &cfg->track_popular) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "TUTORCACHE_TRACK_POPULAR: %s is not true or false", v);
    }
    if ((v = env("TUTORCACHE_COUNT_INTENTS", flags)) &&
        tc__cfg_parse_bool(v, &cfg->count_intents) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "TUTORCACHE_COUNT_INTENTS: %s is not true or false", v);
    }
    if ((v = env("TUTORCACHE_POPULAR_SIZE", flags))) {
        if (tc__cfg_parse_long(v, 1, TC__MAX_POPULAR_SIZE, &n) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "TUTORCACHE_POPULAR_SIZE: %s is not in 1..%d", v,
                            TC__MAX_POPULAR_SIZE);
        }
        cfg->popular_size = (size_t)n;
    }
    return TC_OK;
}

/* ---- putting it together ----------------------------------------------- */

static int default_store(tc__config *cfg, tc__err *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char *url;
    size_t n;
    int rc;

    if (xdg && xdg[0] == '/') {
        n = strlen(xdg) + 32;
        if (!(url = tc__malloc(n))) {
            return tc__cfg_oom(err);
        }
        snprintf(url, n, "lmdb://%s/tutorcache", xdg);
    } else if (home && home[0] == '/') {
        n = strlen(home) + 40;
        if (!(url = tc__malloc(n))) {
            return tc__cfg_oom(err);
        }
        snprintf(url, n, "lmdb://%s/.cache/tutorcache", home);
    } else {
        /* no home: an L1-only cache still works */
        url = tc__strdup("memory:");
        if (!url) {
            return tc__cfg_oom(err);
        }
    }
    rc = tc__config_parse_url(cfg, url, err);
    tc__free(url);
    cfg->url_source = "default";
    return rc;
}

static int apply_options(tc__config *cfg, const tc_options *o, tc__err *err)
{
    int rc;

    if (o->store_url) {
        if ((rc = tc__config_parse_url(cfg, o->store_url, err)) != TC_OK) {
            return rc;
        }
        cfg->url_source = "option";
    }
    if (o->version >= 2 && o->feedback_store &&
        (rc = tc__cfg_set_fb_store(cfg, o->feedback_store, "option", err)) !=
            TC_OK) {
        return rc;
    }
    if (o->connect_timeout_ms > 0) {
        cfg->store.connect_timeout_ms = o->connect_timeout_ms;
    }
    if (o->command_timeout_ms > 0) {
        cfg->store.command_timeout_ms = o->command_timeout_ms;
    }
    if (o->connect_timeout_ms > TC__MAX_TIMEOUT_MS ||
        o->command_timeout_ms > TC__MAX_TIMEOUT_MS) {
        return tc__errf(err, TC_ECONFIG, "timeouts: at most %d ms",
                        TC__MAX_TIMEOUT_MS);
    }
    if (o->pool_size > TC__MAX_POOL) {
        return tc__errf(err, TC_ECONFIG, "pool_size: at most %d", TC__MAX_POOL);
    }
    if (o->pool_size > 0) {
        cfg->store.pool_size = o->pool_size;
    }
    if (o->l1_max_bytes) {
        cfg->l1_max_bytes = o->l1_max_bytes;
    }
    if (o->lmdb_map_bytes) {
        cfg->store.map_bytes = o->lmdb_map_bytes;
    }
    if (o->enable_caching == 0 || o->enable_caching == 1) {
        cfg->enable_caching = o->enable_caching;
    } else if (o->enable_caching != -1) {
        return tc__errf(err, TC_ECONFIG, "enable_caching: -1, 0 or 1");
    }
    if (o->version >= 2 && o->audit_log &&
        (rc = tc__cfg_set_str(&cfg->audit_log, o->audit_log, err)) != TC_OK) {
        return rc;
    }
    if (o->version >= 2 && o->password_file &&
        (rc = tc__cfg_set_str(&cfg->password_file, o->password_file, err)) !=
            TC_OK) {
        return rc;
    }
    if (o->version >= 2 && (o->audit_reads == 0 || o->audit_reads == 1)) {
        cfg->audit_reads = o->audit_reads;
    }
    if (o->intents_ttl_ms > 0) {
        tc__ns_def *ns = tc__cfg_find_ns(cfg, "intents");

        if (ns) {
            ns->ttl_ms = o->intents_ttl_ms;
        }
    } else if (o->intents_ttl_ms < 0) {
        return tc__errf(err, TC_ECONFIG, "intents_ttl_ms: negative");
    }
    return TC_OK;
}

/*
 * REDIS_PASSWORD for a Redis store whose URL carries none, wherever the
 * URL came from (an option, TUTORCACHE_URL, the config file, REDIS_HOST),
 * so that no password need ever be on a command line.
 */
static int env_password(tc__config *cfg, unsigned flags, tc__err *err)
{
    const char *pw;

    if ((cfg->store.kind != TC__STORE_REDIS &&
         cfg->store.kind != TC__STORE_CLUSTER) ||
        cfg->store.password || !(pw = env("REDIS_PASSWORD", flags))) {
        return TC_OK;
    }
    return tc__cfg_set_str(&cfg->store.password, pw, err);
}

int tc__config_load(tc__config *cfg, const tc_options *opt, tc__err *err)
{
    tc_options defaults;
    const char *path;
    size_t i;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (!opt) {
        tc__options_init(&defaults);
        opt = &defaults;
    }
    if (opt->version < 1) {
        return tc__errf(err, TC_EINVAL,
                        "options: version %u (call tc_options_init)",
                        opt->version);
    }
    cfg->store.port = TC__DEFAULT_REDIS_PORT;
    tc__cfg_tls_clear(&cfg->tls);
    cfg->store.connect_timeout_ms = TC__DEFAULT_TIMEOUT_MS;
    cfg->store.command_timeout_ms = TC__DEFAULT_TIMEOUT_MS;
    cfg->store.pool_size = TC__DEFAULT_POOL;
    cfg->l1_max_bytes = DEFAULT_L1_BYTES;
    cfg->store.map_bytes = TC__DEFAULT_MAP_BYTES;
    cfg->enable_caching = 1;
    cfg->popular_size = TC__DEFAULT_POPULAR_SIZE;
    cfg->count_intents = 1;
    cfg->degraded_ttl_ms = DEFAULT_DEGRADED_TTL_MS;
    cfg->gen_refresh_ms = DEFAULT_GEN_REFRESH_MS;
    cfg->fb_retention_ms = DEFAULT_FB_RETENTION_MS;
    for (i = 0; i < sizeof(default_ns) / sizeof(default_ns[0]); i++) {
        if (!tc__cfg_add_ns(cfg, default_ns[i].name, default_ns[i].prefix,
                            default_ns[i].ttl_s * 1000, err)) {
            rc = TC_ENOMEM;
            goto fail;
        }
    }
    if ((rc = default_store(cfg, err)) != TC_OK) {
        goto fail;
    }
    path = opt->config_path;
    if (!path && !(opt->flags & TC_OPT_NO_ENV)) {
        path = env("TUTORCACHE_CONFIG", opt->flags);
    }
    if (path && !(opt->flags & TC_OPT_NO_CONFIG)) {
        if ((rc = tc__cfg_set_str(&cfg->config_path, path, err)) != TC_OK ||
            (rc = tc__cfg_load_file(cfg, path, err)) != TC_OK) {
            goto fail;
        }
    }
    if ((rc = load_env(cfg, opt->flags, err)) != TC_OK ||
        (rc = apply_options(cfg, opt, err)) != TC_OK ||
        (rc = env_password(cfg, opt->flags, err)) != TC_OK ||
        (rc = tc__cfg_apply_password_file(cfg, err)) != TC_OK ||
        (rc = tc__cfg_tls_finish(cfg, err)) != TC_OK) {
        goto fail;
    }
    if (!cfg->spool_dir) {
        cfg->spool_default = 1;
        if ((rc = tc__cfg_default_spool(cfg, err)) != TC_OK) {
            goto fail;
        }
    }
    for (i = 0; i < cfg->nns; i++) {
        tc__ns_def *ns = &cfg->ns[i];
        int64_t l1 = ns->l1_ttl_ms ? ns->l1_ttl_ms : DEFAULT_L1_TTL_MS;

        /* With no L2, L1 is the cache and keeps the namespace's TTL. */
        if (!ns->l1_ttl_ms && cfg->store.kind == TC__STORE_MEMORY) {
            l1 = ns->ttl_ms;
        }
        ns->l1_ttl_ms = l1 < ns->ttl_ms ? l1 : ns->ttl_ms;
    }
    return TC_OK;
fail:
    tc__config_free(cfg);
    return rc;
}

void tc__config_free(tc__config *cfg)
{
    size_t i;

    if (!cfg) {
        return;
    }
    tc__cfg_clear_store(cfg);
    tc__cfg_tls_clear(&cfg->tls);
    for (i = 0; i < cfg->nns; i++) {
        tc__free(cfg->ns[i].name);
        tc__free(cfg->ns[i].prefix);
    }
    tc__free(cfg->ns);
    tc__free(cfg->config_path);
    tc__free(cfg->model_path);
    tc__free(cfg->spool_dir);
    tc__free(cfg->enc_key_file);
    tc__free(cfg->key_secret_file);
    tc__cfg_clear_old_keys(cfg);
    tc__free(cfg->fb_url);
    tc__free(cfg->password_file);
    tc__free(cfg->audit_log);
    memset(cfg, 0, sizeof(*cfg));
}

void tc__options_init(tc_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->version = TC_OPTIONS_VERSION;
    opt->enable_caching = -1;
    opt->log_level = TC_LOG_WARN;
    opt->audit_reads = -1;
}
