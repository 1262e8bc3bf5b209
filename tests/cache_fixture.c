/*
 * cache_fixture.c - the cache suite's stores, checked calls, loader and
 * logger (see cache_fixture.h). Every check names the test's line, since
 * the same helper runs from many tests and loop iterations.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cache_fixture.h"
#include "cluster_fixture.h"

int64_t cache_T(int64_t ms)
{
    return tt_under_valgrind() ? ms * 4 : ms;
}

/* ---- stores ------------------------------------------------------------ */

const char *const bk_name[BK_COUNT] = {"redis", "unix", "lmdb", "memory",
                                       "cluster"};
const char *const bk_kind[BK_COUNT] = {"redis", "redis", "lmdb", "memory",
                                       "redis-cluster"};

/* The stores another handle can share: what a second process would see. */
const int shared_kinds[NSHARED] = {BK_REDIS, BK_LMDB, BK_CLUSTER};

/* The four kinds of store, for tests that run on each once. */
const int main_kinds[NMAIN] = {BK_REDIS, BK_LMDB, BK_MEMORY, BK_CLUSTER};

static tcl *bk_cl;      /* the run's cluster */
static pid_t bk_cl_pid; /* the process that started it */

static void bk_cluster_exit(void)
{
    /* a forked test exits too: only the starter stops the nodes */
    if (bk_cl && getpid() == bk_cl_pid) {
        tcl_stop(bk_cl);
        bk_cl = NULL;
    }
}

void bk_cluster_setup(void)
{
    if (bk_cl) {
        return;
    }
    bk_cl = tcl_start(5000);
    if (bk_cl) {
        bk_cl_pid = getpid();
        atexit(bk_cluster_exit);
    }
}

void bk_cluster_teardown(void)
{
    /* the cluster stays for the next test case (bk_cluster_exit) */
}

const char *bk_cluster_fresh(void)
{
    ck_assert_msg(bk_cl != NULL, "the cluster did not start (is "
                                 "bk_cluster_setup the case's fixture?)");
    free(bk_cluster_cmd("FLUSHALL", NULL));
    return tcl_url(bk_cl);
}

char *bk_cluster_cmd(const char *fmt, const char *arg)
{
    size_t cap = 64, used = 0;
    char *all = calloc(1, cap);

    ck_assert_ptr_nonnull(all);
    for (int i = 0; i < TCL_NODES; i++) {
        char *r;
        size_t n;

        r = trs_cmd(tcl_node(bk_cl, i), fmt, arg);
        if (!r) {
            continue;
        }
        if (strncmp(r, "MOVED", 5) == 0 || strstr(r, "READONLY")) {
            free(r);
            continue;
        }
        n = strlen(r);
        if (used + n + 2 > cap) {
            cap = (used + n + 2) * 2;
            all = realloc(all, cap);
            ck_assert_ptr_nonnull(all);
        }
        memcpy(all + used, r, n);
        used += n;
        all[used++] = '\n';
        all[used] = '\0';
        free(r);
    }
    return all;
}

void bk_start(bk *b, int kind)
{
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    b->tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(b->tmp);
    switch (kind) {
    case BK_REDIS:
    case BK_UNIX:
        b->srv = trs_start(NULL);
        ck_assert_msg(b->srv != NULL, "redis-server did not start");
        snprintf(b->url, sizeof(b->url), "%s",
                 kind == BK_REDIS ? trs_url(b->srv) : trs_unix_url(b->srv));
        break;
    case BK_LMDB:
        snprintf(b->url, sizeof(b->url), "lmdb://%s/env", b->tmp);
        break;
    case BK_CLUSTER:
        snprintf(b->url, sizeof(b->url), "%s", bk_cluster_fresh());
        break;
    default:
        snprintf(b->url, sizeof(b->url), "memory:");
        break;
    }
}

void bk_stop(bk *b)
{
    trs_stop(b->srv);
    b->srv = NULL;
    tt_rmtree(b->tmp);
    free(b->tmp);
    b->tmp = NULL;
}

/* Whether a second handle sees the first one's writes. */
int bk_shared(const bk *b)
{
    return b->kind != BK_MEMORY;
}

/* Writes a JSON config file into the store's temp dir; caller frees. */
char *bk_write_cfg(bk *b, const char *json)
{
    size_t n = strlen(b->tmp) + 32;
    char *path = malloc(n);
    FILE *f;

    ck_assert_ptr_nonnull(path);
    snprintf(path, n, "%s/cfg%d.json", b->tmp, b->ncfg++);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(json, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/*
 * Opens a handle on b's store. o may be NULL (defaults) and cfg_json
 * NULL (no config file); the environment is ignored so that a developer's
 * REDIS_HOST or TUTORCACHE_CONFIG cannot change what a test means.
 */
tc_cache *bk_open_with(bk *b, tc_options *o, const char *cfg_json)
{
    tc_options d;
    tc_cache *h = (tc_cache *)&d;
    char *path = NULL;
    int rc;

    if (!o) {
        tc_options_init(&d);
        o = &d;
    }
    o->store_url = b->url;
    o->flags |= TC_OPT_NO_ENV;
    if (!o->lmdb_map_bytes) {
        o->lmdb_map_bytes = (size_t)64 << 20;
    }
    if (cfg_json) {
        path = bk_write_cfg(b, cfg_json);
        o->config_path = path;
    }
    rc = tc_cache_open(&h, o);
    o->config_path = NULL;
    free(path);
    ck_assert_msg(rc == TC_OK, "tc_cache_open(%s) [%s]: %s: %s", b->url,
                  bk_name[b->kind], tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_nonnull(h);
    return h;
}

tc_cache *bk_open_logged(bk *b, const char *cfg_json)
{
    tc_options o;

    strcat(b->url, "?tracking=off");
    cache_log_reset();
    tc_options_init(&o);
    o.log_fn = cache_log_cb;
    o.log_level = TC_LOG_WARN;
    return bk_open_with(b, &o, cfg_json);
}

tc_cache *bk_open(bk *b)
{
    return bk_open_with(b, NULL, NULL);
}

/* ---- calls with their checks ------------------------------------------ */

void cache_set_at(int line, tc_cache *h, const char *ns, const void *key,
                  size_t klen, const void *val, size_t vlen, int64_t ttl)
{
    int rc = tc_cache_set(h, ns, key, klen, val, vlen, ttl);

    ck_assert_msg(rc == TC_OK, "line %d: set: %s: %s", line, tc_error_name(rc),
                  tc_errmsg());
    ck_assert_msg(tc_errmsg()[0] == '\0',
                  "line %d: set succeeded with a message: %s", line,
                  tc_errmsg());
}

/* A hit with exactly these bytes, from want_tier (TIER_ANY: L1 or L2). */
void cache_hit_at(int line, tc_cache *h, const char *ns, const void *key,
                  size_t klen, const void *want, size_t wlen, tc_tier want_tier)
{
    void *v = &v; /* each out-parameter must be overwritten */
    size_t len = 12345;
    tc_tier t = (tc_tier)77;
    int rc = tc_cache_get(&v, &len, &t, h, ns, key, klen);

    ck_assert_msg(rc == TC_OK, "line %d: get: %s (%s), wanted a hit", line,
                  tc_error_name(rc), tc_errmsg());
    ck_assert_msg(v != NULL, "line %d: hit with a NULL value", line);
    ck_assert_msg(want_tier == TIER_ANY ? t == TC_TIER_L1 || t == TC_TIER_L2
                                        : t == want_tier,
                  "line %d: tier %s, wanted %s", line, tc_tier_name(t),
                  want_tier == TIER_ANY ? "l1 or l2" : tc_tier_name(want_tier));
    ck_assert_msg(len == wlen, "line %d: %zu bytes, wanted %zu", line, len,
                  wlen);
    ck_assert_msg(memcmp(v, want, wlen) == 0, "line %d: value \"%.*s\"", line,
                  (int)(len > 60 ? 60 : len), (const char *)v);
    ck_assert_msg(((const char *)v)[len] == '\0',
                  "line %d: no NUL after the value", line);
    tc_free(v);
}

void cache_miss_at(int line, tc_cache *h, const char *ns, const void *key,
                   size_t klen)
{
    void *v = &v;
    size_t len = 12345;
    tc_tier t = (tc_tier)77;
    int rc = tc_cache_get(&v, &len, &t, h, ns, key, klen);

    ck_assert_msg(rc == TC_MISS,
                  "line %d: get: %s (tier %s, \"%.*s\"), "
                  "wanted TC_MISS",
                  line, tc_error_name(rc), tc_tier_name(t),
                  rc == TC_OK ? (int)len : 0,
                  rc == TC_OK ? (const char *)v : "");
    ck_assert_msg(v == NULL && len == 0 && t == TC_TIER_NONE,
                  "line %d: a miss left val %p, len %zu, tier %d", line, v, len,
                  (int)t);
}

tc_ns_stats cache_stats_of(tc_cache *h, const char *ns)
{
    tc_ns_stats s;

    ck_assert_int_eq(tc_cache_stats(&s, h, ns), TC_OK);
    return s;
}

/* A field of tc_cache_stats_json: obj.field, or -1 when absent. */
double cache_stats_num(tc_cache *h, const char *obj, const char *field)
{
    char *json = NULL;
    cJSON *root, *o, *f;
    double v = -1;

    ck_assert_int_eq(tc_cache_stats_json(&json, h), TC_OK);
    ck_assert_ptr_nonnull(json);
    root = cJSON_Parse(json);
    ck_assert_msg(root != NULL, "stats_json is not JSON: %s", json);
    o = cJSON_GetObjectItemCaseSensitive(root, obj);
    f = o ? cJSON_GetObjectItemCaseSensitive(o, field) : NULL;
    if (cJSON_IsNumber(f)) {
        v = f->valuedouble;
    } else if (cJSON_IsBool(f)) {
        v = cJSON_IsTrue(f) ? 1 : 0;
    }
    cJSON_Delete(root);
    tc_free(json);
    return v;
}

/* The L2 key of a key, for looking at it with redis-cli's eyes. */
void cache_l2_key(char buf[TC_KEY_MAX], tc_cache *h, const char *key)
{
    ck_assert_int_eq(tc_cache_key(buf, TC_KEY_MAX, h, NS, key, strlen(key)),
                     TC_OK);
    ck_assert(strncmp(buf, "tc:ml_pred:", 11) == 0);
}

/* trs_cmd's reply compared with want; the reply is freed. */
void cache_redis_says(int line, char *reply, const char *want)
{
    ck_assert_msg(reply != NULL, "line %d: redis did not answer", line);
    ck_assert_msg(strcmp(reply, want) == 0,
                  "line %d: redis said \"%s\", "
                  "wanted \"%s\"",
                  line, reply, want);
    free(reply);
}

/* ---- loaders ----------------------------------------------------------- */

/* Answers "loaded:<key>". */
int cache_loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                 const void *key, size_t keylen, void *ud)
{
    loader_ctx *c = ud;
    char *v;

    (void)ns;
    c->calls++;
    if (c->fail) {
        return c->fail;
    }
    if (c->ttl_ms) {
        *ttl_ms = c->ttl_ms;
    }
    if (c->empty) {
        *val = NULL;
        *len = 0;
        return TC_OK;
    }
    v = tc_malloc(keylen + 7);
    if (!v) {
        return TC_ENOMEM;
    }
    memcpy(v, "loaded:", 7);
    memcpy(v + 7, key, keylen);
    *val = v;
    *len = keylen + 7;
    return TC_OK;
}

/* ---- logs -------------------------------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[32768];
static size_t log_len;

void cache_log_reset(void)
{
    pthread_mutex_lock(&log_mu);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_mu);
}

void cache_log_cb(void *ud, tc_log_level level, const char *json)
{
    size_t n = strlen(json);

    (void)ud;
    (void)level;
    pthread_mutex_lock(&log_mu);
    if (log_len + n + 2 < sizeof(log_text)) {
        memcpy(log_text + log_len, json, n);
        log_len += n;
        log_text[log_len++] = '\n';
        log_text[log_len] = '\0';
    }
    pthread_mutex_unlock(&log_mu);
}

const char *cache_log_text(void)
{
    return log_text;
}

/* The first logged line whose "event" is `event`, parsed; NULL if none. */
cJSON *cache_log_find(const char *event)
{
    cJSON *found = NULL;
    char *copy, *line, *save = NULL;

    pthread_mutex_lock(&log_mu);
    copy = strdup(log_text);
    pthread_mutex_unlock(&log_mu);
    ck_assert_ptr_nonnull(copy);
    for (line = strtok_r(copy, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *e;

        ck_assert_msg(j != NULL, "a log line is not JSON: %s", line);
        e = cJSON_GetObjectItemCaseSensitive(j, "event");
        if (cJSON_IsString(e) && strcmp(e->valuestring, event) == 0) {
            found = j;
        } else {
            cJSON_Delete(j);
        }
    }
    free(copy);
    return found;
}
