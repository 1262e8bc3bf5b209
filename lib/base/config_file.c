/*
 * config_file.c - namespaces, and the JSON configuration file that may add
 * or change them and set the other settings.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/cfgparse.h"

/* A configuration file larger than this is refused. */
#define CONFIG_FILE_MAX ((size_t)16 << 20)
/* The longest degraded TTL or generation refresh a file may set: a day. */
#define INTERVAL_MAX_MS 86400000

static int valid_name(const char *s, size_t max)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > max) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) {
            return 0;
        }
    }
    return 1;
}

tc__ns_def *tc__cfg_find_ns(tc__config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->nns; i++) {
        if (strcmp(cfg->ns[i].name, name) == 0) {
            return &cfg->ns[i];
        }
    }
    return NULL;
}

tc__ns_def *tc__cfg_add_ns(tc__config *cfg, const char *name,
                           const char *prefix, int64_t ttl_ms, tc__err *err)
{
    tc__ns_def *ns = tc__realloc(cfg->ns, (cfg->nns + 1) * sizeof(*ns));

    if (!ns) {
        tc__cfg_oom(err);
        return NULL;
    }
    cfg->ns = ns;
    ns = &cfg->ns[cfg->nns];
    memset(ns, 0, sizeof(*ns));
    ns->name = tc__strdup(name);
    ns->prefix = tc__strdup(prefix);
    if (!ns->name || !ns->prefix) {
        tc__free(ns->name);
        tc__free(ns->prefix);
        tc__cfg_oom(err);
        return NULL;
    }
    ns->ttl_ms = ttl_ms;
    ns->l1_ttl_ms = 0; /* resolved at the end of tc__config_load */
    cfg->nns++;
    return ns;
}

/* A TTL in seconds from JSON: a positive, finite number (fractions ok). */
static int json_ttl(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble <= 0 || v->valuedouble > 1e9) {
        return -1;
    }
    *out = (int64_t)llround(v->valuedouble * 1000.0);
    return *out > 0 ? 0 : -1;
}

static int file_namespaces(tc__config *cfg, const cJSON *obj, const char *path,
                           tc__err *err)
{
    const cJSON *it;

    if (!cJSON_IsObject(obj)) {
        return tc__errf(err, TC_ECONFIG, "%s: namespaces: not an object", path);
    }
    for (it = obj->child; it; it = it->next) {
        tc__ns_def *ns;
        const cJSON *f;
        const char *prefix = NULL;
        int64_t ttl = 0, l1 = 0;
        size_t k;

        if (!valid_name(it->string, 64)) {
            return tc__errf(err, TC_ECONFIG,
                            "%s: namespaces: \"%s\" is not a valid name "
                            "(letters, digits, _ . -; at most 64)",
                            path, it->string);
        }
        if (!cJSON_IsObject(it)) {
            return tc__errf(err, TC_ECONFIG, "%s: namespaces.%s: not an object",
                            path, it->string);
        }
        for (f = it->child; f; f = f->next) {
            if (strcmp(f->string, "prefix") == 0) {
                if (!cJSON_IsString(f) || !valid_name(f->valuestring, 32)) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.prefix: letters, "
                                    "digits, _ . -; at most 32",
                                    path, it->string);
                }
                if (tc__cfg_prefix_reserved(f->valuestring)) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.prefix: \"%s\" is "
                                    "reserved for the library's own keys "
                                    "(reserved: %s)",
                                    path, it->string, f->valuestring,
                                    TC__RESERVED_PREFIXES);
                }
                prefix = f->valuestring;
            } else if (strcmp(f->string, "ttl") == 0) {
                if (json_ttl(f, &ttl) != 0) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.ttl: not a positive "
                                    "number of seconds",
                                    path, it->string);
                }
            } else if (strcmp(f->string, "l1_ttl") == 0) {
                if (json_ttl(f, &l1) != 0) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.l1_ttl: not a "
                                    "positive number of seconds",
                                    path, it->string);
                }
            } else {
                return tc__errf(err, TC_ECONFIG,
                                "%s: namespaces.%s: unknown field \"%s\" "
                                "(prefix, ttl, l1_ttl)",
                                path, it->string, f->string);
            }
        }
        ns = tc__cfg_find_ns(cfg, it->string);
        if (!ns) {
            if (!prefix || !ttl) {
                return tc__errf(err, TC_ECONFIG,
                                "%s: namespaces.%s: a new namespace needs "
                                "prefix and ttl",
                                path, it->string);
            }
            if (!(ns = tc__cfg_add_ns(cfg, it->string, prefix, ttl, err))) {
                return TC_ENOMEM;
            }
        } else {
            if (prefix && tc__cfg_set_str(&ns->prefix, prefix, err) != TC_OK) {
                return TC_ENOMEM;
            }
            if (ttl) {
                ns->ttl_ms = ttl;
            }
        }
        if (l1) {
            ns->l1_ttl_ms = l1;
        }
        /* keys hash the prefix, not the name: a shared prefix would make
         * two namespaces read and overwrite each other's entries */
        for (k = 0; k < cfg->nns; k++) {
            if (&cfg->ns[k] != ns &&
                strcmp(cfg->ns[k].prefix, ns->prefix) == 0) {
                return tc__errf(err, TC_ECONFIG,
                                "%s: namespaces.%s.prefix: \"%s\" is the "
                                "prefix of %s already",
                                path, it->string, ns->prefix, cfg->ns[k].name);
            }
        }
    }
    return TC_OK;
}

/* An integer field of the config file within [min, max]. */
static int file_int(const cJSON *f, long long min, long long max,
                    long long *out)
{
    if (!cJSON_IsNumber(f) || f->valuedouble != floor(f->valuedouble) ||
        f->valuedouble < (double)min || f->valuedouble > (double)max) {
        return -1;
    }
    *out = (long long)f->valuedouble;
    return 0;
}

int tc__cfg_add_old_key(tc__config *cfg, const char *path, size_t n,
                        tc__err *err)
{
    char **v = tc__realloc(cfg->enc_old, (cfg->nenc_old + 1) * sizeof(*v));

    if (!v) {
        return tc__cfg_oom(err);
    }
    cfg->enc_old = v;
    if (!(v[cfg->nenc_old] = tc__malloc(n + 1))) {
        return tc__cfg_oom(err);
    }
    memcpy(v[cfg->nenc_old], path, n);
    v[cfg->nenc_old++][n] = '\0';
    return TC_OK;
}

void tc__cfg_clear_old_keys(tc__config *cfg)
{
    for (size_t i = 0; i < cfg->nenc_old; i++) {
        tc__free(cfg->enc_old[i]);
    }
    tc__free(cfg->enc_old);
    cfg->enc_old = NULL;
    cfg->nenc_old = 0;
}

/* "encryption_old_key_files": an array of file names. */
static int file_old_keys(tc__config *cfg, const cJSON *f, const char *path,
                         tc__err *err)
{
    const cJSON *it;
    int rc = TC_OK;

    if (!cJSON_IsArray(f)) {
        return tc__errf(err, TC_ECONFIG,
                        "%s: encryption_old_key_files: not an array of "
                        "file names",
                        path);
    }
    tc__cfg_clear_old_keys(cfg);
    for (it = f->child; it && rc == TC_OK; it = it->next) {
        if (!cJSON_IsString(it) || !*it->valuestring) {
            return tc__errf(err, TC_ECONFIG,
                            "%s: encryption_old_key_files: not an array of "
                            "file names",
                            path);
        }
        rc = tc__cfg_add_old_key(cfg, it->valuestring, strlen(it->valuestring),
                                 err);
    }
    return rc;
}

/* The setting a field naming a file goes to; NULL for other fields. */
static char **file_name_field(tc__config *cfg, const char *k)
{
    static const char *const names[] = {
        "encryption_key_file", "key_secret_file", "audit_log", "password_file"};
    char **const dst[] = {&cfg->enc_key_file, &cfg->key_secret_file,
                          &cfg->audit_log, &cfg->password_file};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(k, names[i]) == 0) {
            return dst[i];
        }
    }
    return NULL;
}

int tc__cfg_load_file(tc__config *cfg, const char *path, tc__err *err)
{
    const char *at = NULL;
    char **dst;
    cJSON *root, *f;
    char *text;
    size_t len;
    tc__err why;
    int rc;

    rc = tc__read_file(path, CONFIG_FILE_MAX, &text, &len, &why);
    if (rc == TC_ENOMEM) {
        return tc__cfg_oom(err);
    }
    if (rc != TC_OK) {
        /* why names the path already */
        return tc__errf(err, TC_ECONFIG, "config file %s", why.msg);
    }
    tc__oom_take();
    /* one object and nothing after it; the error position comes back
     * through the call (cJSON_GetErrorPtr() is shared by all threads) */
    root = cJSON_ParseWithOpts(text, &at, 1);
    if (!root) {
        int line = 1;
        const char *p;

        if (tc__oom_take()) {
            tc__free(text);
            return tc__cfg_oom(err);
        }
        for (p = text; at && p < at && *p; p++) {
            line += *p == '\n';
        }
        tc__free(text);
        return tc__errf(err, TC_ECONFIG, "config file %s:%d: malformed JSON",
                        path, line);
    }
    tc__free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tc__errf(err, TC_ECONFIG, "config file %s: not a JSON object",
                        path);
    }
    rc = TC_OK;
    for (f = root->child; f && rc == TC_OK; f = f->next) {
        const char *k = f->string;
        long long v = 0;

        if (strcmp(k, "store") == 0) {
            if (!cJSON_IsString(f)) {
                rc = tc__errf(err, TC_ECONFIG, "%s: store: not a string", path);
            } else if ((rc = tc__config_parse_url(cfg, f->valuestring, err)) ==
                       TC_OK) {
                cfg->url_source = "config file";
            }
        } else if (strcmp(k, "connect_timeout_ms") == 0 ||
                   strcmp(k, "command_timeout_ms") == 0) {
            if (file_int(f, 1, TC__MAX_TIMEOUT_MS, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: %s: not a whole number of ms in 1..%d", path,
                              k, TC__MAX_TIMEOUT_MS);
            } else if (k[1] == 'o' && k[2] == 'n') {
                cfg->store.connect_timeout_ms = (int)v;
            } else {
                cfg->store.command_timeout_ms = (int)v;
            }
        } else if (strcmp(k, "pool_size") == 0) {
            if (file_int(f, 1, TC__MAX_POOL, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG, "%s: pool_size: not in 1..%d",
                              path, TC__MAX_POOL);
            }
            cfg->store.pool_size = (int)v;
        } else if (strcmp(k, "l1_max_bytes") == 0 ||
                   strcmp(k, "lmdb_map_bytes") == 0) {
            if (file_int(f, 0, (long long)1 << 50, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG, "%s: %s: not a byte count", path,
                              k);
            } else if (k[0] == 'l' && k[1] == '1') {
                cfg->l1_max_bytes = (size_t)v;
            } else {
                cfg->store.map_bytes = (size_t)v;
            }
        } else if (strcmp(k, "enable_caching") == 0) {
            if (!cJSON_IsBool(f)) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: enable_caching: not true or false", path);
            }
            cfg->enable_caching = cJSON_IsTrue(f);
        } else if (strcmp(k, "degraded_ttl_ms") == 0 ||
                   strcmp(k, "generation_refresh_ms") == 0) {
            if (file_int(f, 1, INTERVAL_MAX_MS, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: %s: not a whole number of ms", path, k);
            } else if (k[0] == 'd') {
                cfg->degraded_ttl_ms = v;
            } else {
                cfg->gen_refresh_ms = v;
            }
        } else if (strcmp(k, "model") == 0) {
            if (!cJSON_IsString(f) || !*f->valuestring) {
                rc = tc__errf(err, TC_ECONFIG, "%s: model: not a file name",
                              path);
            } else {
                rc = tc__cfg_set_str(&cfg->model_path, f->valuestring, err);
            }
        } else if (strcmp(k, "feedback_retention") == 0) {
            int64_t ms;

            if (json_ttl(f, &ms) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: feedback_retention: not a positive "
                              "number of seconds",
                              path);
            } else {
                cfg->fb_retention_ms = ms;
            }
        } else if (strcmp(k, "spool_dir") == 0) {
            if (!cJSON_IsString(f) || f->valuestring[0] != '/') {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: spool_dir: not an absolute directory", path);
            } else {
                rc = tc__cfg_set_str(&cfg->spool_dir, f->valuestring, err);
            }
        } else if ((dst = file_name_field(cfg, k))) {
            if (!cJSON_IsString(f) || !*f->valuestring) {
                rc = tc__errf(err, TC_ECONFIG, "%s: %s: not a file name", path,
                              k);
            } else {
                rc = tc__cfg_set_str(dst, f->valuestring, err);
            }
        } else if (strcmp(k, "encryption_old_key_files") == 0) {
            rc = file_old_keys(cfg, f, path, err);
        } else if (strcmp(k, "feedback_wait_replicas") == 0) {
            if (file_int(f, 0, TC__MAX_WAIT_REPLICAS, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: feedback_wait_replicas: not in 0..%d", path,
                              TC__MAX_WAIT_REPLICAS);
            } else {
                cfg->store.fb_wait_replicas = (int)v;
            }
        } else if (strcmp(k, "feedback_store") == 0) {
            if (!cJSON_IsString(f)) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: feedback_store: not a store URL", path);
            } else {
                rc = tc__cfg_set_fb_store(cfg, f->valuestring, "config file",
                                          err);
            }
        } else if (strcmp(k, "track_popular") == 0) {
            if (!cJSON_IsBool(f)) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: track_popular: not true or false", path);
            }
            cfg->track_popular = cJSON_IsTrue(f);
        } else if (strcmp(k, "count_intents") == 0) {
            if (!cJSON_IsBool(f)) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: count_intents: not true or false", path);
            }
            cfg->count_intents = cJSON_IsTrue(f);
        } else if (strcmp(k, "popular_size") == 0) {
            if (file_int(f, 1, TC__MAX_POPULAR_SIZE, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG, "%s: popular_size: not in 1..%d",
                              path, TC__MAX_POPULAR_SIZE);
            } else {
                cfg->popular_size = (size_t)v;
            }
        } else if (strcmp(k, "audit_reads") == 0) {
            if (!cJSON_IsBool(f)) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: audit_reads: not true or false", path);
            }
            cfg->audit_reads = cJSON_IsTrue(f);
        } else if (strcmp(k, "namespaces") == 0) {
            rc = file_namespaces(cfg, f, path, err);
        } else if ((rc = tc__cfg_tls_file(cfg, k, f, path, err)) != 0) {
            rc = rc > 0 ? TC_OK : rc;
        } else {
            rc = tc__errf(err, TC_ECONFIG,
                          "%s: unknown field \"%s\" (store, "
                          "connect_timeout_ms, command_timeout_ms, pool_size, "
                          "l1_max_bytes, lmdb_map_bytes, enable_caching, "
                          "degraded_ttl_ms, generation_refresh_ms, "
                          "model, feedback_retention, spool_dir, "
                          "encryption_key_file, encryption_old_key_files, "
                          "key_secret_file, feedback_store, "
                          "feedback_wait_replicas, audit_log, audit_reads, "
                          "password_file, namespaces, track_popular, "
                          "popular_size, count_intents, tls_ca, tls_cert, "
                          "tls_key, tls_server_name, tls_insecure)",
                          path, k);
        }
    }
    cJSON_Delete(root);
    /* a password in a file others may read is no secret */
    if (rc == TC_OK && cfg->url_source &&
        strcmp(cfg->url_source, "config file") == 0 && cfg->store.password) {
        rc = tc__cfg_check_private(path, "config file", err);
    }
    return rc;
}
