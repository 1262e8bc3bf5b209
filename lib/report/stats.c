/*
 * stats.c - the stats and configuration of a handle as JSON
 * (tc_cache_stats_json, tc_cache_config_json).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "report/report.h"

int tc__report_render(char **out, cJSON *root)
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

/*
 * "seal": whether encryption at rest and keyed keys are on, and in stats
 * how many sealed values and records this process could not open. Only
 * that a key is set: never a key, nor anything derived from one. Feedback
 * records are opened by feedback's cache (its own store, when it has one).
 */
static void seal_json(cJSON *root, tc__cache *h, tc__fb *fb, int counts)
{
    const tc__keyring *k = tc__cache_keys(h);
    cJSON *o = cJSON_AddObjectToObject(root, "seal");

    cJSON_AddStringToObject(o, "encryption_key",
                            k && k->nkeys ? "set" : "unset");
    cJSON_AddNumberToObject(o, "encryption_old_keys",
                            k && k->nkeys ? k->nkeys - 1 : 0);
    cJSON_AddStringToObject(o, "hash_key",
                            k && k->has_secret ? "set" : "unset");
    if (counts) {
        cJSON_AddNumberToObject(
            o, "l2_decrypt_failures",
            (double)tc__cache_seal_failures(h, TC__SEAL_L2));
        cJSON_AddNumberToObject(
            o, "feedback_decrypt_failures",
            (double)tc__cache_seal_failures(fb->cache, TC__SEAL_FEEDBACK));
    }
}

/*
 * Where feedback is kept: its store (the cache's own, or feedback_store),
 * how that server keeps keys, and a warning when feedback may be evicted
 * or lost on restart there.
 */
static void feedback_json(cJSON *root, tc__cache *h, tc__fb *fb)
{
    char text[TC__FB_RISK_TEXT];
    tc__store_keeping k;
    tc__l1_stats l1;
    tc__store_health hl;
    cJSON *o, *risk;

    tc__fb_risk(fb, &k);
    o = cJSON_AddObjectToObject(root, "feedback");
    cJSON_AddStringToObject(o, "kind", tc__cache_store_kind(fb->cache));
    cJSON_AddStringToObject(o, "store",
                            tc__cache_config(fb->cache)->store.url_masked);
    cJSON_AddBoolToObject(o, "separate", fb->cache != h);
    if (fb->cache != h && tc__cache_health(fb->cache, &l1, &hl)) {
        cJSON_AddBoolToObject(o, "up", hl.up);
        cJSON_AddStringToObject(o, "breaker", hl.breaker ? hl.breaker : "");
    }
    cJSON_AddStringToObject(o, "maxmemory_policy", k.policy);
    cJSON_AddStringToObject(o, "persistence", k.persistence);
    risk = cJSON_AddArrayToObject(o, "at_risk");
    if (k.evictable == 1) {
        cJSON_AddItemToArray(risk, cJSON_CreateString("evictable"));
    }
    if (k.persistent == 0) {
        cJSON_AddItemToArray(risk, cJSON_CreateString("not_persistent"));
    }
    if (tc__fb_risk_text(&k, text, sizeof(text))[0]) {
        cJSON_AddStringToObject(o, "warning", text);
    }
}

void tc__report_shadow_read(tc__report_shadow *s, const tc__cls_counts *cls)
{
    s->scope = "this process";
    s->agree = tc__cls_shadow_get(cls, TC__SHADOW_AGREE);
    s->disagree = tc__cls_shadow_get(cls, TC__SHADOW_DISAGREE);
    s->dropped = tc__cls_shadow_get(cls, TC__SHADOW_DROPPED);
    s->failed = tc__cls_shadow_get(cls, TC__SHADOW_FAILED);
}

/* What the shadow checks of cached answers counted (classify/shadow.c),
 * and the share of checks that disagreed. */
static void shadow_json(cJSON *root, const tc__cls_counts *cls)
{
    tc__report_shadow sh;
    double agree, disagree;
    cJSON *o = cJSON_AddObjectToObject(root, "shadow");

    tc__report_shadow_read(&sh, cls);
    agree = (double)sh.agree;
    disagree = (double)sh.disagree;
    cJSON_AddNumberToObject(o, "checks", agree + disagree);
    cJSON_AddNumberToObject(o, "agree", agree);
    cJSON_AddNumberToObject(o, "disagree", disagree);
    cJSON_AddNumberToObject(o, "dropped", (double)sh.dropped);
    cJSON_AddNumberToObject(o, "failed", (double)sh.failed);
    cJSON_AddNumberToObject(o, "disagreement_rate",
                            agree + disagree ? disagree / (agree + disagree)
                                             : 0);
}

int tc__stats_json(char **out, tc__cache *h, tc__fb *fb,
                   const tc__cls_counts *cls)
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
    seal_json(root, h, fb, 1);
    nss = cJSON_AddObjectToObject(root, "namespaces");
    for (i = 0; i < cfg->nns; i++) {
        tc_ns_stats s;

        tc__cache_stats(&s, tc__report_ns_cache(h, fb, cfg->ns[i].name),
                        cfg->ns[i].name);
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
    feedback_json(root, h, fb);
    shadow_json(root, cls);
    return tc__report_render(out, root);
}

int tc__config_json(char **out, tc__cache *h, tc__fb *fb)
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
    if (fb->cache != h) {
        const tc__config *fc = tc__cache_config(fb->cache);

        cJSON_AddStringToObject(root, "feedback_store", fc->store.url_masked);
        cJSON_AddStringToObject(root, "feedback_store_source", fc->url_source);
    } else {
        cJSON_AddNullToObject(root, "feedback_store");
    }
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
    /* feedback's: with a feedback_store, that store's spool */
    if (fb->cfg->spool_dir) {
        cJSON_AddStringToObject(root, "spool_dir", fb->cfg->spool_dir);
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
    cJSON_AddBoolToObject(root, "track_popular", cfg->track_popular);
    cJSON_AddNumberToObject(root, "popular_size", (double)cfg->popular_size);
    cJSON_AddBoolToObject(root, "count_intents", cfg->count_intents);
    cJSON_AddNumberToObject(root, "connect_timeout_ms",
                            cfg->store.connect_timeout_ms);
    cJSON_AddNumberToObject(root, "command_timeout_ms",
                            cfg->store.command_timeout_ms);
    cJSON_AddNumberToObject(root, "pool_size", cfg->store.pool_size);
    cJSON_AddNumberToObject(root, "feedback_wait_replicas",
                            cfg->store.fb_wait_replicas);
    if (cfg->store.tls.on) {
        const tc__tls_config *t = &cfg->store.tls;
        const char *const v[] = {t->ca, t->cert, t->key, t->server_name};
        const char *const k[] = {"ca", "cert", "key", "server_name"};

        /* file names and a host name: none of them a secret */
        o = cJSON_AddObjectToObject(root, "tls");
        for (i = 0; i < 4; i++) {
            if (v[i]) {
                cJSON_AddStringToObject(o, k[i], v[i]);
            } else {
                cJSON_AddNullToObject(o, k[i]);
            }
        }
        cJSON_AddBoolToObject(o, "insecure", t->insecure > 0);
    }
    cJSON_AddNumberToObject(root, "l1_max_bytes", (double)cfg->l1_max_bytes);
    cJSON_AddNumberToObject(root, "lmdb_map_bytes",
                            (double)cfg->store.map_bytes);
    cJSON_AddNumberToObject(root, "degraded_ttl_ms",
                            (double)cfg->degraded_ttl_ms);
    cJSON_AddNumberToObject(root, "generation_refresh_ms",
                            (double)cfg->gen_refresh_ms);
    seal_json(root, h, fb, 0);
    nss = cJSON_AddObjectToObject(root, "namespaces");
    for (i = 0; i < cfg->nns; i++) {
        const tc__ns_def *d = &cfg->ns[i];

        o = cJSON_AddObjectToObject(nss, d->name);
        cJSON_AddStringToObject(o, "prefix", d->prefix);
        cJSON_AddNumberToObject(o, "ttl", (double)d->ttl_ms / 1000.0);
        cJSON_AddNumberToObject(o, "l1_ttl", (double)d->l1_ttl_ms / 1000.0);
    }
    return tc__report_render(out, root);
}
