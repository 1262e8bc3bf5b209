/*
 * stats.c - the stats and configuration of a handle as JSON
 * (tc_cache_stats_json, tc_cache_config_json).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "report/report.h"

/* Prints a cJSON tree; NULL with TC_ENOMEM when any part failed. */
static int render(char **out, cJSON *root)
{
    if (tc__oom_take() || !root) {
        cJSON_Delete(root);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!*out) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    return TC_OK;
}

int tc__stats_json(char **out, tc__cache *h)
{
    const tc__config *cfg = tc__cache_config(h);
    cJSON *root, *nss, *o;
    tc__l1_stats l1;
    tc__store_health hl;
    size_t i;
    int has;

    tc__oom_take();
    root = cJSON_CreateObject();
    o = cJSON_AddObjectToObject(root, "l1");
    has = tc__cache_health(h, &l1, &hl);
    cJSON_AddNumberToObject(o, "bytes", (double)l1.bytes);
    cJSON_AddNumberToObject(o, "max_bytes", (double)cfg->l1_max_bytes);
    cJSON_AddNumberToObject(o, "entries", (double)l1.entries);
    cJSON_AddNumberToObject(o, "evictions", (double)l1.evictions);
    cJSON_AddNumberToObject(o, "expired", (double)l1.expired);
    o = cJSON_AddObjectToObject(root, "l2");
    cJSON_AddStringToObject(o, "kind", tc__cache_store_kind(h));
    cJSON_AddStringToObject(o, "store", cfg->store.url_masked);
    if (has) {
        cJSON_AddBoolToObject(o, "up", hl.up);
        cJSON_AddStringToObject(o, "breaker", hl.breaker ? hl.breaker : "");
        cJSON_AddNumberToObject(o, "reconnects", (double)hl.reconnects);
        cJSON_AddNumberToObject(o, "errors", (double)hl.errors);
        if (hl.entries >= 0) {
            cJSON_AddNumberToObject(o, "entries", (double)hl.entries);
        }
        if (hl.bytes >= 0) {
            cJSON_AddNumberToObject(o, "bytes", (double)hl.bytes);
        }
    }
    nss = cJSON_AddObjectToObject(root, "namespaces");
    for (i = 0; i < cfg->nns; i++) {
        tc_ns_stats s;

        tc__cache_stats(&s, h, cfg->ns[i].name);
        o = cJSON_AddObjectToObject(nss, cfg->ns[i].name);
        cJSON_AddNumberToObject(o, "l1_hits", (double)s.l1_hits);
        cJSON_AddNumberToObject(o, "l2_hits", (double)s.l2_hits);
        cJSON_AddNumberToObject(o, "misses", (double)s.misses);
        cJSON_AddNumberToObject(o, "loads", (double)s.loads);
        cJSON_AddNumberToObject(o, "sets", (double)s.sets);
        cJSON_AddNumberToObject(o, "dels", (double)s.dels);
        cJSON_AddNumberToObject(o, "l2_errors", (double)s.l2_errors);
        cJSON_AddNumberToObject(o, "degraded", (double)s.degraded);
    }
    return render(out, root);
}

int tc__config_json(char **out, tc__cache *h)
{
    const tc__config *cfg = tc__cache_config(h);
    cJSON *root, *nss, *o;
    size_t i;

    tc__oom_take();
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", tc__lib_version());
    cJSON_AddStringToObject(root, "store", cfg->store.url_masked);
    cJSON_AddStringToObject(root, "store_kind", tc__cache_store_kind(h));
    cJSON_AddStringToObject(root, "store_source", cfg->url_source);
    if (cfg->config_path) {
        cJSON_AddStringToObject(root, "config_file", cfg->config_path);
    } else {
        cJSON_AddNullToObject(root, "config_file");
    }
    if (cfg->model_path) {
        cJSON_AddStringToObject(root, "model", cfg->model_path);
    } else {
        cJSON_AddNullToObject(root, "model");
    }
    cJSON_AddNumberToObject(root, "feedback_retention",
                            (double)cfg->fb_retention_ms / 1000.0);
    if (cfg->spool_dir) {
        cJSON_AddStringToObject(root, "spool_dir", cfg->spool_dir);
    } else {
        cJSON_AddNullToObject(root, "spool_dir");
    }
    /* that a secret is set, and from where; never the secret */
    cJSON_AddStringToObject(root, "auth",
                            !cfg->store.password ? "none"
                            : cfg->password_file ? "set (password_file)"
                                                 : "set");
    if (cfg->password_file) {
        cJSON_AddStringToObject(root, "password_file", cfg->password_file);
    }
    if (cfg->audit_log) {
        cJSON_AddStringToObject(root, "audit_log", cfg->audit_log);
    } else {
        cJSON_AddNullToObject(root, "audit_log");
    }
    cJSON_AddBoolToObject(root, "audit_reads", cfg->audit_reads);
    cJSON_AddBoolToObject(root, "enable_caching", cfg->enable_caching);
    cJSON_AddNumberToObject(root, "connect_timeout_ms",
                            cfg->store.connect_timeout_ms);
    cJSON_AddNumberToObject(root, "command_timeout_ms",
                            cfg->store.command_timeout_ms);
    cJSON_AddNumberToObject(root, "pool_size", cfg->store.pool_size);
    cJSON_AddNumberToObject(root, "l1_max_bytes", (double)cfg->l1_max_bytes);
    cJSON_AddNumberToObject(root, "lmdb_map_bytes",
                            (double)cfg->store.map_bytes);
    cJSON_AddNumberToObject(root, "degraded_ttl_ms",
                            (double)cfg->degraded_ttl_ms);
    cJSON_AddNumberToObject(root, "generation_refresh_ms",
                            (double)cfg->gen_refresh_ms);
    nss = cJSON_AddObjectToObject(root, "namespaces");
    for (i = 0; i < cfg->nns; i++) {
        const tc__ns_def *d = &cfg->ns[i];

        o = cJSON_AddObjectToObject(nss, d->name);
        cJSON_AddStringToObject(o, "prefix", d->prefix);
        cJSON_AddNumberToObject(o, "ttl", (double)d->ttl_ms / 1000.0);
        cJSON_AddNumberToObject(o, "l1_ttl", (double)d->l1_ttl_ms / 1000.0);
    }
    return render(out, root);
}

