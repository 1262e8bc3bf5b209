/*
 * check_cache.c - the tiered cache through the public API only, against
 * real stores: a private redis-server (TCP and unix socket), a temp LMDB
 * environment and memory:. A second tc_cache on the same store stands in
 * for a second process. Covered: round trips, tiers, TTLs (entry,
 * namespace, L1 fill), the L1 byte budget, loaders, batches,
 * invalidation, deletes, exact counters, ENABLE_CACHING off; on Redis the
 * failure modes: a killed and restarted server (and an invalidation made
 * meanwhile), CLIENT PAUSE against a short timeout, values of the wrong
 * type or of foreign bytes, databases, AUTH; and an unusable LMDB
 * directory.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"
#define NS_OTHER "student_profiles"
#define TIER_ANY ((tc_tier)-1)

/* ---- clocks ------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0) {
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/*
 * Durations of TTL tests, stretched under valgrind (make valgrind sets
 * TC_VALGRIND), where one call can take milliseconds: the windows between
 * "still there" and "gone" must stay wider than a call.
 */
static int64_t T(int64_t ms)
{
    return getenv("TC_VALGRIND") ? ms * 4 : ms;
}

/* ---- stores ------------------------------------------------------------ */

enum { BK_REDIS, BK_UNIX, BK_LMDB, BK_MEMORY, BK_COUNT };
static const char *const bk_name[] = {"redis", "unix", "lmdb", "memory"};
static const char *const bk_kind[] = {"redis", "redis", "lmdb", "memory"};

/* The stores another handle can share: what a second process would see. */
static const int shared_kinds[] = {BK_REDIS, BK_LMDB};
#define NSHARED ((int)(sizeof(shared_kinds) / sizeof(shared_kinds[0])))

/* The three kinds of store, for tests that run on each once. */
static const int main_kinds[] = {BK_REDIS, BK_LMDB, BK_MEMORY};
#define NMAIN ((int)(sizeof(main_kinds) / sizeof(main_kinds[0])))

typedef struct bk {
    int kind;
    trs *srv;  /* Redis kinds */
    char *tmp; /* private dir: the LMDB environment and config files */
    char url[4200];
    int ncfg;
} bk;

static void bk_start(bk *b, int kind)
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
    default:
        snprintf(b->url, sizeof(b->url), "memory:");
        break;
    }
}

static void bk_stop(bk *b)
{
    trs_stop(b->srv);
    b->srv = NULL;
    tt_rmtree(b->tmp);
    free(b->tmp);
    b->tmp = NULL;
}

/* Whether a second handle sees the first one's writes. */
static int shared(const bk *b)
{
    return b->kind != BK_MEMORY;
}

/* Writes a JSON config file into the store's temp dir; caller frees. */
static char *write_cfg(bk *b, const char *json)
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
static tc_cache *bk_open_with(bk *b, tc_options *o, const char *cfg_json)
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
        path = write_cfg(b, cfg_json);
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

static tc_cache *bk_open(bk *b)
{
    return bk_open_with(b, NULL, NULL);
}

/* ---- calls with their checks ------------------------------------------ */

static void set_at(int line, tc_cache *h, const char *ns, const void *key,
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
static void hit_at(int line, tc_cache *h, const char *ns, const void *key,
                   size_t klen, const void *want, size_t wlen,
                   tc_tier want_tier)
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

static void miss_at(int line, tc_cache *h, const char *ns, const void *key,
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

#define SET(h, k, v, ttl)                                                      \
    set_at(__LINE__, h, NS, k, strlen(k), v, strlen(v), ttl)
#define HIT(h, k, v, tier)                                                     \
    hit_at(__LINE__, h, NS, k, strlen(k), v, strlen(v), tier)
#define MISS(h, k) miss_at(__LINE__, h, NS, k, strlen(k))

static tc_ns_stats stats_of(tc_cache *h, const char *ns)
{
    tc_ns_stats s;

    ck_assert_int_eq(tc_cache_stats(&s, h, ns), TC_OK);
    return s;
}

/* A field of tc_cache_stats_json: obj.field, or -1 when absent. */
static double stats_json_num(tc_cache *h, const char *obj, const char *field)
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
static void l2_key(char buf[TC_KEY_MAX], tc_cache *h, const char *key)
{
    ck_assert_int_eq(tc_cache_key(buf, TC_KEY_MAX, h, NS, key, strlen(key)),
                     TC_OK);
    ck_assert(strncmp(buf, "tc:ml_pred:", 11) == 0);
}

/* trs_cmd's reply compared with want; the reply is freed. */
static void redis_says(int line, char *reply, const char *want)
{
    ck_assert_msg(reply != NULL, "line %d: redis did not answer", line);
    ck_assert_msg(strcmp(reply, want) == 0,
                  "line %d: redis said \"%s\", "
                  "wanted \"%s\"",
                  line, reply, want);
    free(reply);
}
#define REDIS_SAYS(reply, want) redis_says(__LINE__, reply, want)

/* ---- loaders ----------------------------------------------------------- */

typedef struct loader_ctx {
    int calls;
    int fail;       /* return this instead of a value when non-zero */
    int64_t ttl_ms; /* handed back when non-zero */
    int empty;      /* a NULL value of length 0 */
} loader_ctx;

/* Answers "loaded:<key>". */
static int loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
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

static void log_reset(void)
{
    pthread_mutex_lock(&log_mu);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_mu);
}

static void log_cb(void *ud, tc_log_level level, const char *json)
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

/* The first logged line whose "event" is `event`, parsed; NULL if none. */
static cJSON *log_find(const char *event)
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

/* ---- round trips ------------------------------------------------------- */

START_TEST(test_round_trip)
{
    static const unsigned char bkey[] = {0, 1, 2, 0xff, 0, 'k'};
    unsigned char bin[256];
    size_t big_len = 100 * 1024, i;
    char *big = malloc(big_len);
    tc_cache *a, *b2 = NULL;
    bk b;

    ck_assert_ptr_nonnull(big);
    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (unsigned char)i;
    }
    for (i = 0; i < big_len; i++) {
        big[i] = (char)('a' + i % 23);
    }
    bk_start(&b, _i);
    a = bk_open(&b);
    ck_assert_str_eq(tc_cache_store_kind(a), bk_kind[_i]);
    if (shared(&b)) {
        b2 = bk_open(&b);
    }

    /* text, an empty value, binary key and value, the empty key, 100 KiB */
    SET(a, "what is 2+2", "{\"answer\":4}", TC_TTL_DEFAULT);
    SET(a, "empty", "", TC_TTL_DEFAULT);
    set_at(__LINE__, a, NS, bkey, sizeof(bkey), bin, sizeof(bin), 60000);
    set_at(__LINE__, a, NS, NULL, 0, "for the empty key", 17, TC_TTL_DEFAULT);
    set_at(__LINE__, a, NS, "big", 3, big, big_len, TC_TTL_DEFAULT);

    HIT(a, "what is 2+2", "{\"answer\":4}", TC_TIER_L1);
    HIT(a, "empty", "", TC_TIER_L1);
    hit_at(__LINE__, a, NS, bkey, sizeof(bkey), bin, sizeof(bin), TC_TIER_L1);
    hit_at(__LINE__, a, NS, NULL, 0, "for the empty key", 17, TC_TIER_L1);
    hit_at(__LINE__, a, NS, "big", 3, big, big_len, TC_TIER_L1);
    /* a key that differs by one byte, or by namespace, is another key */
    miss_at(__LINE__, a, NS, bkey, sizeof(bkey) - 1);
    miss_at(__LINE__, a, NS_OTHER, "what is 2+2", 11);

    if (b2) {
        HIT(b2, "what is 2+2", "{\"answer\":4}", TC_TIER_L2);
        HIT(b2, "empty", "", TC_TIER_L2);
        hit_at(__LINE__, b2, NS, bkey, sizeof(bkey), bin, sizeof(bin),
               TC_TIER_L2);
        hit_at(__LINE__, b2, NS, NULL, 0, "for the empty key", 17, TC_TIER_L2);
        hit_at(__LINE__, b2, NS, "big", 3, big, big_len, TC_TIER_L2);
        HIT(b2, "what is 2+2", "{\"answer\":4}", TC_TIER_L1);
    }

    /* a replaced value replaces in both tiers */
    SET(a, "what is 2+2", "{\"answer\":\"four\"}", TC_TTL_DEFAULT);
    HIT(a, "what is 2+2", "{\"answer\":\"four\"}", TC_TIER_L1);
    if (b2) {
        tc_cache *c = bk_open(&b);

        HIT(c, "what is 2+2", "{\"answer\":\"four\"}", TC_TIER_L2);
        tc_cache_close(c);
    }

    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
    free(big);
}
END_TEST

START_TEST(test_bad_arguments)
{
    tc_cache *h;
    void *v = &v;
    size_t len = 3;
    tc_tier t = TC_TIER_L2;
    bk b;

    bk_start(&b, BK_MEMORY);
    h = bk_open(&b);
    ck_assert_int_eq(tc_cache_set(h, "no_such_ns", "k", 1, "v", 1, 0),
                     TC_ENONS);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "no_such_ns"));
    ck_assert_int_eq(tc_cache_get(&v, &len, &t, h, "no_such_ns", "k", 1),
                     TC_ENONS);
    ck_assert(v == NULL && len == 0 && t == TC_TIER_NONE);
    ck_assert_int_eq(tc_cache_set(h, NS, "k", 1, "v", 1, -1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_set(h, NS, NULL, 3, "v", 1, 0), TC_EINVAL);
    ck_assert_int_eq(tc_cache_set(h, NS, "k", 1, NULL, 3, 0), TC_EINVAL);
    ck_assert_int_eq(tc_cache_get(NULL, &len, NULL, h, NS, "k", 1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, NULL, "k", 1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_del(h, "no_such_ns", "k", 1), TC_ENONS);
    ck_assert_int_eq(tc_cache_invalidate(h, "no_such_ns"), TC_ENONS);
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, h, NS, "k", 1, NULL, NULL),
        TC_EINVAL);
    /* a successful call clears the previous message */
    SET(h, "k", "v", TC_TTL_DEFAULT);
    ck_assert_str_eq(tc_errmsg(), "");
    /* nothing that failed was stored */
    HIT(h, "k", "v", TC_TIER_L1);
    ck_assert_uint_eq(stats_of(h, NS).sets, 1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- tiers ------------------------------------------------------------- */

START_TEST(test_tiers)
{
    int kind = main_kinds[_i];
    tc_cache *a, *b2 = NULL;
    void *v = &v;
    size_t len = 9;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (shared(&b)) {
        b2 = bk_open(&b);
    }
    SET(a, "q1", "answer-1", TC_TTL_DEFAULT);
    if (b2) {
        /* the first get of another handle comes from L2, then from L1 */
        HIT(b2, "q1", "answer-1", TC_TIER_L2);
        HIT(b2, "q1", "answer-1", TC_TIER_L1);
        HIT(b2, "q1", "answer-1", TC_TIER_L1);
    }
    HIT(a, "q1", "answer-1", TC_TIER_L1);
    MISS(a, "never set");
    if (b2) {
        MISS(b2, "never set");
    }
    /* tier may be NULL */
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, a, NS, "q1", 2), TC_OK);
    ck_assert_uint_eq(len, 8);
    ck_assert_str_eq((char *)v, "answer-1");
    tc_free(v);
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- TTLs -------------------------------------------------------------- */

/*
 * Per-entry TTLs (set, mset, loader), a namespace's TTL from the config
 * file, and a namespace's L1 TTL: each is gone after it ran out, from
 * both tiers, while a long-lived entry stays.
 */
START_TEST(test_ttl)
{
    static const char cfg[] =
        "{\"namespaces\":{"
        "\"quick\":{\"prefix\":\"quick\",\"ttl\":0.1},"
        "\"l1short\":{\"prefix\":\"l1s\",\"ttl\":30,\"l1_ttl\":0.1}}}";
    int kind = main_kinds[_i];
    int64_t ttl = T(100), t0;
    tc_item items[2];
    tc_cache *a, *b2 = NULL;
    bk b;

    bk_start(&b, kind);
    a = bk_open_with(&b, NULL, cfg);
    if (shared(&b)) {
        b2 = bk_open_with(&b, NULL, cfg);
    }
    ck_assert_int_eq(tc_cache_set(a, NS, "k", 1, "v", 1, -5), TC_EINVAL);
    t0 = now_ms();
    SET(a, "short", "s", ttl);
    SET(a, "long", "l", TC_TTL_DEFAULT);
    set_at(__LINE__, a, "quick", "q", 1, "nsttl", 5, TC_TTL_DEFAULT);
    set_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TTL_DEFAULT);
    memset(items, 0, sizeof(items));
    items[0].key = "m0";
    items[0].keylen = 2;
    items[0].val = "mv0";
    items[0].len = 3;
    items[0].ttl_ms = ttl;
    items[1] = items[0];
    items[1].key = "m1";
    ck_assert_int_eq(tc_cache_mset(a, NS, items, 2), TC_OK);
    ck_assert_int_eq(items[0].status, TC_OK);
    ck_assert_int_eq(items[1].status, TC_OK);

    HIT(a, "short", "s", TC_TIER_L1);
    hit_at(__LINE__, a, "quick", "q", 1, "nsttl", 5, TC_TIER_L1);
    hit_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TIER_L1);
    hit_at(__LINE__, a, NS, "m0", 2, "mv0", 3, TC_TIER_L1);
    if (b2) {
        HIT(b2, "short", "s", TC_TIER_L2);
        hit_at(__LINE__, b2, "quick", "q", 1, "nsttl", 5, TC_TIER_L2);
    }
    ck_assert_msg(now_ms() - t0 < ttl, "the checks before expiry were slow");

    sleep_ms(t0 + ttl + T(50) - now_ms());
    MISS(a, "short");
    miss_at(__LINE__, a, "quick", "q", 1);
    miss_at(__LINE__, a, NS, "m0", 2);
    miss_at(__LINE__, a, NS, "m1", 2);
    HIT(a, "long", "l", TC_TIER_L1);
    if (b2) {
        MISS(b2, "short");
        miss_at(__LINE__, b2, "quick", "q", 1);
        miss_at(__LINE__, b2, NS, "m1", 2);
        HIT(b2, "long", "l", TC_TIER_L2);
        /* the L1 copy is gone after the namespace's L1 TTL; L2 keeps it */
        hit_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TIER_L2);
        hit_at(__LINE__, a, "l1short", "x", 1, "l1ttl", 5, TC_TIER_L1);
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/*
 * An L1 copy filled from L2 keeps the L2 entry's remaining TTL: set with
 * 300 ms on A; 200 ms later B fills its L1 from L2; 150 ms after that B
 * must miss, which it would not with a fresh 300 ms in its L1.
 */
START_TEST(test_l1_fill_keeps_ttl)
{
    int kind = shared_kinds[_i];
    tc_cache *a, *b2;
    int64_t t0;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    b2 = bk_open(&b);
    t0 = now_ms();
    SET(a, "fill", "remaining", T(300));
    sleep_ms(t0 + T(200) - now_ms());
    HIT(b2, "fill", "remaining", TC_TIER_L2);
    HIT(b2, "fill", "remaining", TC_TIER_L1);
    ck_assert_msg(now_ms() - t0 < T(290), "the fill came too late to judge");
    sleep_ms(t0 + T(350) - now_ms());
    MISS(b2, "fill");
    MISS(a, "fill");
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- L1 budget --------------------------------------------------------- */

START_TEST(test_l1_budget)
{
    enum { NKEYS = 600, VLEN = 512 };
    const size_t budget = 64 * 1024;
    int kind = main_kinds[_i];
    char key[32], val[VLEN + 1];
    tc_options o;
    tc_cache *h;
    bk b;

    bk_start(&b, kind);
    tc_options_init(&o);
    o.l1_max_bytes = budget;
    h = bk_open_with(&b, &o, NULL);
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof(key), "budget-%04d", i);
        memset(val, 'a' + i % 26, VLEN);
        snprintf(val, sizeof(val), "value-%04d", i);
        val[10] = '|';
        set_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TTL_DEFAULT);
    }
    /* far more was inserted than fits: the budget holds */
    ck_assert_double_eq(stats_json_num(h, "l1", "max_bytes"), (double)budget);
    ck_assert_double_le(stats_json_num(h, "l1", "bytes"), (double)budget);
    ck_assert_double_gt(stats_json_num(h, "l1", "bytes"), 0);
    ck_assert_double_lt(stats_json_num(h, "l1", "entries"), NKEYS);
    ck_assert_double_gt(stats_json_num(h, "l1", "evictions"), 0);

    /* the first key left L1; L2, where there is one, still has it */
    snprintf(key, sizeof(key), "budget-%04d", 0);
    memset(val, 'a', VLEN);
    snprintf(val, sizeof(val), "value-%04d", 0);
    val[10] = '|';
    if (shared(&b)) {
        hit_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TIER_L2);
        hit_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TIER_L1);
    } else {
        miss_at(__LINE__, h, NS, key, strlen(key));
    }
    /* the newest one is in L1 */
    snprintf(key, sizeof(key), "budget-%04d", NKEYS - 1);
    memset(val, 'a' + (NKEYS - 1) % 26, VLEN);
    snprintf(val, sizeof(val), "value-%04d", NKEYS - 1);
    val[10] = '|';
    hit_at(__LINE__, h, NS, key, strlen(key), val, VLEN, TC_TIER_L1);
    ck_assert_double_le(stats_json_num(h, "l1", "bytes"), (double)budget);

    /*
     * A value too big for this L1 (over an eighth of it) replaces one the
     * L1 holds: the old value must not be served any more.
     */
    {
        size_t blen = budget / 4;
        char *bigv = malloc(blen);

        ck_assert_ptr_nonnull(bigv);
        memset(bigv, 'B', blen);
        SET(h, "grows", "small", TC_TTL_DEFAULT);
        HIT(h, "grows", "small", TC_TIER_L1);
        set_at(__LINE__, h, NS, "grows", 5, bigv, blen, TC_TTL_DEFAULT);
        if (shared(&b)) {
            hit_at(__LINE__, h, NS, "grows", 5, bigv, blen, TC_TIER_L2);
        } else {
            MISS(h, "grows");
        }
        free(bigv);
    }
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- get_or_load ------------------------------------------------------- */

START_TEST(test_get_or_load)
{
    int kind = main_kinds[_i];
    loader_ctx ok = {0, 0, 0, 0}, bad = {0, TC_EIO, 0, 0};
    loader_ctx short_ttl = {0, 0, 0, 0}, empty = {0, 0, 0, 1};
    tc_cache *a, *b2 = NULL;
    void *v = &v;
    size_t len = 5;
    tc_tier t = (tc_tier)77;
    tc_ns_stats s;
    int64_t t0;
    bk b;

    short_ttl.ttl_ms = T(100);
    bk_start(&b, kind);
    a = bk_open(&b);
    if (shared(&b)) {
        b2 = bk_open(&b);
    }

    /* a miss runs the loader; the next call is answered by L1 */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g1", 2, loader, &ok), TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    ck_assert_uint_eq(len, 9);
    ck_assert_str_eq((char *)v, "loaded:g1");
    tc_free(v);
    ck_assert_int_eq(ok.calls, 1);
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g1", 2, loader, &ok), TC_OK);
    ck_assert_int_eq(t, TC_TIER_L1);
    ck_assert_str_eq((char *)v, "loaded:g1");
    tc_free(v);
    ck_assert_int_eq(ok.calls, 1);
    HIT(a, "g1", "loaded:g1", TC_TIER_L1);
    if (b2) {
        /* the loaded value went to L2 as well */
        ck_assert_int_eq(
            tc_cache_get_or_load(&v, &len, &t, b2, NS, "g1", 2, loader, &ok),
            TC_OK);
        ck_assert_int_eq(t, TC_TIER_L2);
        ck_assert_str_eq((char *)v, "loaded:g1");
        tc_free(v);
        ck_assert_int_eq(ok.calls, 1);
    }

    /* a failing loader: TC_ELOADER naming its code, and nothing cached */
    v = &v;
    len = 5;
    t = TC_TIER_L2;
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g2", 2, loader, &bad),
        TC_ELOADER);
    ck_assert(v == NULL && len == 0 && t == TC_TIER_NONE);
    ck_assert_msg(strstr(tc_errmsg(), "TC_EIO") != NULL, "message: %s",
                  tc_errmsg());
    ck_assert_int_eq(bad.calls, 1);
    MISS(a, "g2");
    if (b2) {
        MISS(b2, "g2");
    }
    /* and the next call tries again */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g2", 2, loader, &bad),
        TC_ELOADER);
    ck_assert_int_eq(bad.calls, 2);

    /* the loader's TTL is the entry's */
    t0 = now_ms();
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g3", 2, loader, &short_ttl),
        TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    tc_free(v);
    HIT(a, "g3", "loaded:g3", TC_TIER_L1);

    /* an empty value is a value */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "g4", 2, loader, &empty),
        TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(((char *)v)[0], '\0');
    tc_free(v);
    HIT(a, "g4", "", TC_TIER_L1);

    sleep_ms(t0 + short_ttl.ttl_ms + T(50) - now_ms());
    MISS(a, "g3");
    if (b2) {
        MISS(b2, "g3");
    }

    s = stats_of(a, NS);
    ck_assert_uint_eq(s.loads, 5); /* g1, g2 twice, g3, g4 */
    ck_assert_uint_eq(s.sets, 3);  /* g1, g3, g4 */
    ck_assert_uint_eq(s.l2_errors, 0);
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- batches ----------------------------------------------------------- */

START_TEST(test_batch)
{
    enum { N = 16 };
    int kind = main_kinds[_i];
    char keys[N][16], vals[N][24];
    tc_item it[N];
    tc_cache *a, *b2 = NULL, *c = NULL;
    tc_ns_stats s;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (shared(&b)) {
        b2 = bk_open(&b);
        c = bk_open(&b);
    }
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "b%02d", i);
    }
    /* 0..7 in A's L1; 8..11 only in L2 (set by another handle); the rest
     * nowhere */
    for (int i = 0; i < 8; i++) {
        snprintf(vals[i], sizeof(vals[i]), "A-v%02d", i);
        SET(a, keys[i], vals[i], TC_TTL_DEFAULT);
    }
    for (int i = 8; b2 && i < 12; i++) {
        snprintf(vals[i], sizeof(vals[i]), "B-v%02d", i);
        SET(b2, keys[i], vals[i], TC_TTL_DEFAULT);
    }
    memset(it, 0, sizeof(it));
    for (int i = 0; i < N; i++) {
        it[i].key = keys[i];
        it[i].keylen = 3;
        it[i].val = &it[i]; /* must be overwritten */
        it[i].len = 99;
        it[i].status = 99;
        it[i].tier = (tc_tier)77;
    }
    ck_assert_int_eq(tc_cache_mget(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        int hit = i < 8 || (b2 && i < 12);

        if (hit) {
            ck_assert_msg(it[i].status == TC_OK, "item %d: %s", i,
                          tc_error_name(it[i].status));
            ck_assert_int_eq(it[i].tier, i < 8 ? TC_TIER_L1 : TC_TIER_L2);
            ck_assert_uint_eq(it[i].len, strlen(vals[i]));
            ck_assert_str_eq((char *)it[i].val, vals[i]);
        } else {
            ck_assert_msg(it[i].status == TC_MISS, "item %d: %s", i,
                          tc_error_name(it[i].status));
            ck_assert_int_eq(it[i].tier, TC_TIER_NONE);
            ck_assert_ptr_null(it[i].val);
            ck_assert_uint_eq(it[i].len, 0);
        }
        tc_free(it[i].val);
    }
    s = stats_of(a, NS);
    ck_assert_uint_eq(s.l1_hits, 8);
    ck_assert_uint_eq(s.l2_hits, b2 ? 4 : 0);
    ck_assert_uint_eq(s.misses, b2 ? 4 : 8);

    /* mset of 16, one with its own TTL: all stored in both tiers */
    memset(it, 0, sizeof(it));
    for (int i = 0; i < N; i++) {
        snprintf(vals[i], sizeof(vals[i]), "M-value-%02d", i);
        it[i].key = keys[i];
        it[i].keylen = 3;
        it[i].val = vals[i];
        it[i].len = strlen(vals[i]);
        it[i].status = 99;
    }
    it[3].ttl_ms = 60000;
    ck_assert_int_eq(tc_cache_mset(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(it[i].status == TC_OK, "mset item %d: %s", i,
                      tc_error_name(it[i].status));
    }
    for (int i = 0; i < N; i++) {
        it[i].val = NULL;
    }
    ck_assert_int_eq(tc_cache_mget(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(it[i].status, TC_OK);
        ck_assert_int_eq(it[i].tier, TC_TIER_L1);
        ck_assert_str_eq((char *)it[i].val, vals[i]);
        tc_free(it[i].val);
        it[i].val = NULL;
    }
    if (c) {
        ck_assert_int_eq(tc_cache_mget(c, NS, it, N), TC_OK);
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(it[i].status, TC_OK);
            ck_assert_int_eq(it[i].tier, TC_TIER_L2);
            ck_assert_str_eq((char *)it[i].val, vals[i]);
            tc_free(it[i].val);
            it[i].val = NULL;
        }
    }
    s = stats_of(a, NS);
    ck_assert_uint_eq(s.sets, 8 + N);
    ck_assert_uint_eq(s.l1_hits, 8 + N);

    /* an empty batch; a bad item rejects the whole batch before any write */
    ck_assert_int_eq(tc_cache_mget(a, NS, NULL, 0), TC_OK);
    ck_assert_int_eq(tc_cache_mset(a, NS, NULL, 0), TC_OK);
    ck_assert_int_eq(tc_cache_mget(a, NS, NULL, 2), TC_EINVAL);
    memset(it, 0, sizeof(it));
    it[0].key = "fresh0";
    it[0].keylen = 6;
    it[0].val = "x";
    it[0].len = 1;
    it[1] = it[0];
    it[1].key = "fresh1";
    it[1].ttl_ms = -1;
    ck_assert_int_eq(tc_cache_mset(a, NS, it, 2), TC_EINVAL);
    MISS(a, "fresh0");
    ck_assert_int_eq(tc_cache_mget(a, "no_such_ns", it, 2), TC_ENONS);

    tc_cache_close(c);
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- invalidation ------------------------------------------------------ */

/*
 * After tc_cache_invalidate on A, A misses at once; B, which holds the
 * entry in its L1, misses within the generation refresh interval (1 s by
 * default, so within ~1.2 s); other namespaces are untouched.
 */
START_TEST(test_invalidate)
{
    int kind = main_kinds[_i];
    tc_cache *a, *b2 = NULL;
    int64_t t0, took = -1;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (shared(&b)) {
        b2 = bk_open(&b);
    }
    SET(a, "inv", "old", TC_TTL_DEFAULT);
    SET(a, "inv2", "old2", TC_TTL_DEFAULT);
    set_at(__LINE__, a, NS_OTHER, "keep", 4, "kept", 4, TC_TTL_DEFAULT);
    if (b2) {
        HIT(b2, "inv", "old", TC_TIER_L2);
        HIT(b2, "inv", "old", TC_TIER_L1);
    }
    t0 = now_ms();
    ck_assert_int_eq(tc_cache_invalidate(a, NS), TC_OK);
    MISS(a, "inv");
    MISS(a, "inv2");
    hit_at(__LINE__, a, NS_OTHER, "keep", 4, "kept", 4, TC_TIER_L1);
    if (b2) {
        while (now_ms() - t0 < T(3000)) {
            void *v = NULL;
            size_t len = 0;
            int rc = tc_cache_get(&v, &len, NULL, b2, NS, "inv", 3);

            if (rc == TC_MISS) {
                took = now_ms() - t0;
                break;
            }
            ck_assert_int_eq(rc, TC_OK);
            ck_assert_str_eq((char *)v, "old");
            tc_free(v);
            sleep_ms(20);
        }
        ck_assert_msg(took >= 0, "B still hits 3 s after the invalidation");
        ck_assert_msg(took <= T(1300), "B missed only after %lld ms",
                      (long long)took);
        MISS(b2, "inv2");
        hit_at(__LINE__, b2, NS_OTHER, "keep", 4, "kept", 4, TC_TIER_L2);
    }
    /* the namespace works as before, in both handles */
    SET(a, "inv", "new", TC_TTL_DEFAULT);
    HIT(a, "inv", "new", TC_TIER_L1);
    if (b2) {
        HIT(b2, "inv", "new", TC_TIER_L2);
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- delete ------------------------------------------------------------ */

START_TEST(test_del)
{
    int kind = main_kinds[_i];
    tc_cache *a, *b2 = NULL;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (shared(&b)) {
        b2 = bk_open(&b);
    }
    SET(a, "d1", "gone soon", TC_TTL_DEFAULT);
    SET(a, "d-other", "stays", TC_TTL_DEFAULT);
    ck_assert_int_eq(tc_cache_del(a, NS, "d1", 2), TC_OK);
    MISS(a, "d1");
    if (b2) {
        MISS(b2, "d1");
    }
    ck_assert_int_eq(tc_cache_del(a, NS, "d1", 2), TC_MISS);
    ck_assert_int_eq(tc_cache_del(a, NS, "never", 5), TC_MISS);
    HIT(a, "d-other", "stays", TC_TIER_L1);

    if (b2) {
        /*
         * B holds a copy in its L1 when A deletes the entry from L2. B's
         * own delete then removes that copy: "TC_OK (something was
         * removed)", says the header.
         */
        SET(a, "d2", "two copies", TC_TTL_DEFAULT);
        HIT(b2, "d2", "two copies", TC_TIER_L2);
        ck_assert_int_eq(tc_cache_del(a, NS, "d2", 2), TC_OK);
        MISS(a, "d2");
        ck_assert_int_eq(tc_cache_del(b2, NS, "d2", 2), TC_OK);
        MISS(b2, "d2");
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- counters ---------------------------------------------------------- */

START_TEST(test_counters)
{
    int kind = main_kinds[_i];
    loader_ctx lc = {0, 0, 0, 0};
    tc_cache *a, *b2 = NULL;
    tc_ns_stats s, zero;
    tc_item it[3];
    void *v;
    size_t len;
    tc_tier t;
    bk b;

    bk_start(&b, kind);
    a = bk_open(&b);
    if (shared(&b)) {
        b2 = bk_open(&b);
    }
    memset(&zero, 0, sizeof(zero));
    s = stats_of(a, NS);
    ck_assert_mem_eq(&s, &zero, sizeof(s));

    SET(a, "c1", "v1", TC_TTL_DEFAULT);                    /* sets 1 */
    SET(a, "c2", "v2", TC_TTL_DEFAULT);                    /* sets 2 */
    HIT(a, "c1", "v1", TC_TIER_L1);                        /* l1_hits 1 */
    HIT(a, "c1", "v1", TC_TIER_L1);                        /* l1_hits 2 */
    MISS(a, "absent");                                     /* misses 1 */
    ck_assert_int_eq(tc_cache_del(a, NS, "c1", 2), TC_OK); /* dels 1 */
    MISS(a, "c1");                                         /* misses 2 */
    memset(it, 0, sizeof(it));
    it[0].key = "c2";
    it[0].keylen = 2;
    it[1].key = "absent2";
    it[1].keylen = 7;
    ck_assert_int_eq(tc_cache_mget(a, NS, it, 2), TC_OK); /* l1 3, miss 3 */
    tc_free(it[0].val);
    memset(it, 0, sizeof(it));
    for (int i = 0; i < 3; i++) {
        it[i].key = i == 0 ? "m0" : i == 1 ? "m1" : "m2";
        it[i].keylen = 2;
        it[i].val = "mv";
        it[i].len = 2;
    }
    ck_assert_int_eq(tc_cache_mset(a, NS, it, 3), TC_OK); /* sets 5 */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "c3", 2, loader, &lc),
        TC_OK); /* misses 4, loads 1, sets 6 */
    tc_free(v);
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, a, NS, "c3", 2, loader, &lc),
        TC_OK); /* l1_hits 4 */
    tc_free(v);

    s = stats_of(a, NS);
    ck_assert_uint_eq(s.l1_hits, 4);
    ck_assert_uint_eq(s.l2_hits, 0);
    ck_assert_uint_eq(s.misses, 4);
    ck_assert_uint_eq(s.loads, 1);
    ck_assert_uint_eq(s.sets, 6);
    ck_assert_uint_eq(s.dels, 1);
    ck_assert_uint_eq(s.l2_errors, 0);
    ck_assert_uint_eq(s.degraded, 0);
    /* another namespace saw nothing */
    s = stats_of(a, NS_OTHER);
    ck_assert_mem_eq(&s, &zero, sizeof(s));

    if (b2) {
        HIT(b2, "c2", "v2", TC_TIER_L2); /* l2_hits 1 */
        HIT(b2, "c2", "v2", TC_TIER_L1); /* l1_hits 1 */
        MISS(b2, "c1");                  /* misses 1 */
        s = stats_of(b2, NS);
        ck_assert_uint_eq(s.l1_hits, 1);
        ck_assert_uint_eq(s.l2_hits, 1);
        ck_assert_uint_eq(s.misses, 1);
        ck_assert_uint_eq(s.loads + s.sets + s.dels + s.l2_errors + s.degraded,
                          0);
    }
    /* the JSON form agrees */
    {
        char *json = NULL;
        cJSON *root, *n;

        ck_assert_int_eq(tc_cache_stats_json(&json, a), TC_OK);
        root = cJSON_Parse(json);
        ck_assert_ptr_nonnull(root);
        n = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "namespaces"), NS);
        ck_assert_ptr_nonnull(n);
        ck_assert_double_eq(
            cJSON_GetObjectItemCaseSensitive(n, "l1_hits")->valuedouble, 4);
        ck_assert_double_eq(
            cJSON_GetObjectItemCaseSensitive(n, "sets")->valuedouble, 6);
        ck_assert_double_eq(
            cJSON_GetObjectItemCaseSensitive(n, "misses")->valuedouble, 4);
        cJSON_Delete(root);
        tc_free(json);
    }
    tc_cache_close(b2);
    tc_cache_close(a);
    bk_stop(&b);
}
END_TEST

/* ---- ENABLE_CACHING off ------------------------------------------------ */

START_TEST(test_caching_off)
{
    int kind = main_kinds[_i];
    loader_ctx lc = {0, 0, 0, 0};
    tc_options o;
    tc_cache *off, *on = NULL;
    tc_item it[2];
    void *v;
    size_t len;
    tc_tier t;
    bk b;

    bk_start(&b, kind);
    tc_options_init(&o);
    o.enable_caching = 0;
    off = bk_open_with(&b, &o, NULL);
    if (shared(&b)) {
        on = bk_open(&b);
    }
    SET(off, "k", "v", TC_TTL_DEFAULT);
    MISS(off, "k");
    memset(it, 0, sizeof(it));
    it[0].key = "m0";
    it[0].keylen = 2;
    it[0].val = "mv";
    it[0].len = 2;
    it[1] = it[0];
    it[1].key = "m1";
    ck_assert_int_eq(tc_cache_mset(off, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_OK);
    it[0].val = it[1].val = NULL;
    ck_assert_int_eq(tc_cache_mget(off, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_MISS);
    ck_assert_int_eq(it[1].status, TC_MISS);
    ck_assert_ptr_null(it[0].val);
    /* the loader answers every time, and its value is not kept */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(
            tc_cache_get_or_load(&v, &len, &t, off, NS, "g", 1, loader, &lc),
            TC_OK);
        ck_assert_int_eq(t, TC_TIER_LOADER);
        ck_assert_str_eq((char *)v, "loaded:g");
        tc_free(v);
    }
    ck_assert_int_eq(lc.calls, 2);
    MISS(off, "g");
    if (on) {
        /* nothing reached the shared store either */
        MISS(on, "k");
        miss_at(__LINE__, on, NS, "m0", 2);
        MISS(on, "g");
    }
    tc_cache_close(on);
    tc_cache_close(off);
    bk_stop(&b);
}
END_TEST

/* ---- Redis: degraded mode and recovery --------------------------------- */

/*
 * Sets until one reaches Redis (seen with EXISTS), for at most limit_ms.
 * Returns how long it took, or -1.
 */
static int64_t poll_until_stored(tc_cache *h, trs *srv, const char *prefix,
                                 int64_t limit_ms)
{
    int64_t t0 = now_ms();
    char key[64], l2[TC_KEY_MAX];

    for (int i = 0; now_ms() - t0 < limit_ms; i++) {
        char *r;
        int found;

        snprintf(key, sizeof(key), "%s-%d", prefix, i);
        SET(h, key, "back", TC_TTL_DEFAULT);
        l2_key(l2, h, key);
        r = trs_cmd(srv, "EXISTS %s", l2);
        found = r && strcmp(r, "1") == 0;
        free(r);
        if (found) {
            return now_ms() - t0;
        }
        sleep_ms(50);
    }
    return -1;
}

/*
 * Redis killed under a handle with values in L1: gets answer from L1 or
 * miss, sets succeed, failures are counted; a value set meanwhile lives
 * in L1 only for the degraded cap; after a restart the same handle uses
 * Redis again within the breaker's backoff.
 */
START_TEST(test_degraded)
{
    char key[16], l2[TC_KEY_MAX], l2_down[TC_KEY_MAX];
    loader_ctx lc = {0, 0, 0, 0};
    tc_cache *h;
    tc_ns_stats s;
    tc_item it[2];
    int64_t t_set, took;
    void *v;
    size_t len;
    tc_tier t;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    h = bk_open_with(&b, NULL, "{\"degraded_ttl_ms\": 400}");
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "deg%d", i);
        SET(h, key, key, TC_TTL_DEFAULT);
        HIT(h, key, key, TC_TIER_L1);
    }
    l2_key(l2_down, h, "while-down");
    ck_assert_double_eq(stats_json_num(h, "l2", "up"), 1);

    trs_kill(b.srv);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++) {
            v = NULL;
            len = 0;
            t = TC_TIER_NONE;
            snprintf(key, sizeof(key), "deg%d", i);
            rc = tc_cache_get(&v, &len, &t, h, NS, key, strlen(key));
            ck_assert_msg(rc == TC_OK || rc == TC_MISS, "get %s: %s: %s", key,
                          tc_error_name(rc), tc_errmsg());
            if (rc == TC_OK) {
                ck_assert_int_eq(t, TC_TIER_L1);
                ck_assert_str_eq((char *)v, key);
            }
            tc_free(v);
        }
    }
    MISS(h, "never-set");
    /* a delete cannot reach L2: an error, and the L1 copy is gone anyway */
    rc = tc_cache_del(h, NS, "deg3", 4);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "del: %s",
                  tc_error_name(rc));
    ck_assert_str_ne(tc_errmsg(), "");
    MISS(h, "deg3");
    /* a loader's answer is still an answer */
    ck_assert_int_eq(
        tc_cache_get_or_load(&v, &len, &t, h, NS, "gol-down", 8, loader, &lc),
        TC_OK);
    ck_assert_int_eq(t, TC_TIER_LOADER);
    ck_assert_str_eq((char *)v, "loaded:gol-down");
    tc_free(v);
    t_set = now_ms();
    SET(h, "while-down", "wd", TC_TTL_DEFAULT);
    HIT(h, "while-down", "wd", TC_TIER_L1);
    memset(it, 0, sizeof(it));
    it[0].key = "md0";
    it[0].keylen = 3;
    it[0].val = "x";
    it[0].len = 1;
    it[1] = it[0];
    it[1].key = "md1";
    ck_assert_int_eq(tc_cache_mset(h, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_OK);
    ck_assert_int_eq(it[1].status, TC_OK);
    it[0].val = it[1].val = NULL;
    ck_assert_int_eq(tc_cache_mget(h, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_OK);
    tc_free(it[0].val);
    tc_free(it[1].val);
    ck_assert_int_lt(tc_cache_ping(h, NULL), 0);

    s = stats_of(h, NS);
    ck_assert_uint_gt(s.l2_errors, 0);
    ck_assert_uint_gt(s.degraded, 0);
    ck_assert_double_eq(stats_json_num(h, "l2", "up"), 0);

    /* the degraded cap (400 ms here) bounds the L1-only copy */
    sleep_ms(t_set + T(400) + T(150) - now_ms());
    MISS(h, "while-down");
    miss_at(__LINE__, h, NS, "md0", 3);

    ck_assert_int_eq(trs_restart(b.srv), 0);
    took = poll_until_stored(h, b.srv, "after", 8000);
    ck_assert_msg(took >= 0, "sets did not reach the restarted Redis in 8 s");
    /* what was set while Redis was down never reached it */
    REDIS_SAYS(trs_cmd(b.srv, "EXISTS %s", l2_down), "0");
    /* gets reach it too */
    l2_key(l2, h, "from-redis");
    REDIS_SAYS(trs_cmd(b.srv, "SET %s %s", l2, "R"), "OK");
    HIT(h, "from-redis", "R", TC_TIER_L2);
    SET(h, "written", "W", TC_TTL_DEFAULT);
    l2_key(l2, h, "written");
    REDIS_SAYS(trs_cmd(b.srv, "GET %s", l2), "W");
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    ck_assert_double_eq(stats_json_num(h, "l2", "up"), 1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * While Redis is unreachable, L1 serves only entries younger than the
 * degraded cap, whenever they were stored; once Redis answers again, the
 * older ones are served again (they were kept, not dropped).
 */
START_TEST(test_degraded_age_cap)
{
    tc_cache *h;
    bk b;

    bk_start(&b, BK_REDIS);
    h = bk_open_with(&b, NULL, "{\"degraded_ttl_ms\": 300}");
    SET(h, "old", "O", TC_TTL_DEFAULT);
    HIT(h, "old", "O", TC_TIER_L1);
    trs_kill(b.srv);
    sleep_ms(T(400));
    HIT(h, "old", "O", TC_TIER_L1); /* no L2 call yet: nothing known */
    MISS(h, "probe");               /* this one finds Redis down */
    MISS(h, "old");
    SET(h, "young", "Y", TC_TTL_DEFAULT);
    HIT(h, "young", "Y", TC_TIER_L1);
    ck_assert_int_eq(trs_restart(b.srv), 0);
    ck_assert_msg(poll_until_stored(h, b.srv, "back", 8000) >= 0,
                  "sets did not reach the restarted Redis in 8 s");
    HIT(h, "old", "O", TC_TIER_L1);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * An invalidation Redis cannot record returns an error, and "this
 * process's L1 is dropped all the same" (the header): the dropped value
 * must not come back when Redis does, here a restarted Redis that lost
 * everything, generation included.
 */
START_TEST(test_invalidate_while_down)
{
    tc_cache *h;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    h = bk_open_with(&b, NULL, "{\"generation_refresh_ms\": 100}");
    SET(h, "dropped", "stale", TC_TTL_DEFAULT);
    HIT(h, "dropped", "stale", TC_TIER_L1);
    trs_kill(b.srv);
    rc = tc_cache_invalidate(h, NS);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "invalidate: %s",
                  tc_error_name(rc));
    MISS(h, "dropped");
    ck_assert_int_eq(trs_restart(b.srv), 0);
    ck_assert_msg(poll_until_stored(h, b.srv, "back", 8000) >= 0,
                  "sets did not reach the restarted Redis in 8 s");
    /* past a generation refresh, which reads the restarted server's */
    sleep_ms(250);
    MISS(h, "dropped");
    sleep_ms(150);
    MISS(h, "dropped");
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* A server that is down when the handle opens: not an error. */
START_TEST(test_open_while_down)
{
    tc_cache *h;
    bk b;

    bk_start(&b, BK_REDIS);
    trs_kill(b.srv);
    h = bk_open(&b);
    MISS(h, "k");
    SET(h, "k", "v", TC_TTL_DEFAULT);
    HIT(h, "k", "v", TC_TIER_L1);
    ck_assert_uint_gt(stats_of(h, NS).l2_errors, 0);
    ck_assert_int_eq(trs_restart(b.srv), 0);
    ck_assert_msg(poll_until_stored(h, b.srv, "up", 8000) >= 0,
                  "sets did not reach Redis in 8 s after it came up");
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * CLIENT PAUSE makes Redis accept and not answer: with a 100 ms command
 * timeout a get of a key not in L1 misses within a bounded time (the
 * bound only catches a hang), and once the pause ends the same handle
 * reads the right values again (no reply of a timed-out call leaks into
 * a later one).
 */
START_TEST(test_client_pause)
{
    char l2[TC_KEY_MAX];
    tc_options o;
    tc_cache *h, *h2;
    int64_t t0, paused, el;
    int rc = TC_MISS;
    bk b;

    bk_start(&b, BK_REDIS);
    tc_options_init(&o);
    o.command_timeout_ms = 100;
    o.connect_timeout_ms = 100;
    h = bk_open_with(&b, &o, NULL);
    SET(h, "in-l1", "l1v", TC_TTL_DEFAULT);
    l2_key(l2, h, "only-l2");
    REDIS_SAYS(trs_cmd(b.srv, "SET %s %s", l2, "l2v"), "OK");

    paused = now_ms();
    REDIS_SAYS(trs_cmd(b.srv, "CLIENT PAUSE 1500 ALL"), "OK");
    t0 = now_ms();
    MISS(h, "only-l2");
    el = now_ms() - t0;
    ck_assert_msg(el < 1000, "a get took %lld ms with a 100 ms timeout",
                  (long long)el);
    t0 = now_ms();
    HIT(h, "in-l1", "l1v", TC_TIER_L1);
    SET(h, "during", "d", TC_TTL_DEFAULT);
    MISS(h, "only-l2");
    el = now_ms() - t0;
    ck_assert_msg(el < 1000, "three calls took %lld ms", (long long)el);
    ck_assert_uint_gt(stats_of(h, NS).l2_errors, 0);
    /* a handle opened now opens (degraded), in bounded time */
    t0 = now_ms();
    h2 = bk_open_with(&b, &o, NULL);
    el = now_ms() - t0;
    ck_assert_msg(el < 1000, "open took %lld ms", (long long)el);
    tc_cache_close(h2);

    /* after the pause */
    sleep_ms(paused + 1600 - now_ms());
    t0 = now_ms();
    while (now_ms() - t0 < 8000) {
        void *v = NULL;
        size_t len = 0;
        tc_tier t = TC_TIER_NONE;

        rc = tc_cache_get(&v, &len, &t, h, NS, "only-l2", 7);
        ck_assert_msg(rc == TC_OK || rc == TC_MISS, "%s", tc_error_name(rc));
        if (rc == TC_OK) {
            ck_assert_int_eq(t, TC_TIER_L2);
            ck_assert_uint_eq(len, 3);
            ck_assert_str_eq((char *)v, "l2v");
            tc_free(v);
            break;
        }
        sleep_ms(50);
    }
    ck_assert_msg(rc == TC_OK, "Redis not used again 8 s after the pause");
    h2 = bk_open(&b);
    HIT(h2, "in-l1", "l1v", TC_TIER_L2);
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * A key whose slot holds a list (WRONGTYPE) is a counted, logged miss;
 * bytes another program wrote come back as they are; a generation key
 * holding garbage does not break the namespace.
 */
START_TEST(test_wrong_type_and_garbage)
{
    static const unsigned char garbage[] = {0x00, 0xff, 0xfe, '\r', '\n',
                                            '$',  '-',  '1',  0x00, 0x80};
    char l2[TC_KEY_MAX];
    tc_options o;
    tc_cache *h, *h2;
    tc_ns_stats s;
    tc_item it[2];
    cJSON *line;
    const cJSON *f;
    int rc;
    bk b;

    bk_start(&b, BK_REDIS);
    log_reset();
    tc_options_init(&o);
    o.log_fn = log_cb;
    o.log_level = TC_LOG_WARN;
    h = bk_open_with(&b, &o, NULL);
    h2 = bk_open(&b);

    l2_key(l2, h, "wt");
    REDIS_SAYS(trs_cmd(b.srv, "RPUSH %s x", l2), "1");
    MISS(h, "wt");
    s = stats_of(h, NS);
    ck_assert_uint_eq(s.l2_errors, 1);
    ck_assert_uint_eq(s.misses, 1);
    line = log_find("l2_error");
    ck_assert_msg(line != NULL, "no l2_error logged; log: %s", log_text);
    f = cJSON_GetObjectItemCaseSensitive(line, "error");
    ck_assert(cJSON_IsString(f));
    ck_assert_str_eq(f->valuestring, "TC_EPROTO");
    f = cJSON_GetObjectItemCaseSensitive(line, "detail");
    ck_assert(cJSON_IsString(f));
    ck_assert_msg(strstr(f->valuestring, "WRONGTYPE") != NULL,
                  "the logged detail does not say why: \"%s\"", f->valuestring);
    cJSON_Delete(line);

    /* in a batch, only that item misses */
    SET(h2, "fine", "ok", TC_TTL_DEFAULT);
    memset(it, 0, sizeof(it));
    it[0].key = "wt";
    it[0].keylen = 2;
    it[1].key = "fine";
    it[1].keylen = 4;
    ck_assert_int_eq(tc_cache_mget(h, NS, it, 2), TC_OK);
    ck_assert_int_eq(it[0].status, TC_MISS);
    ck_assert_ptr_null(it[0].val);
    ck_assert_int_eq(it[1].status, TC_OK);
    ck_assert_int_eq(it[1].tier, TC_TIER_L2);
    ck_assert_str_eq((char *)it[1].val, "ok");
    tc_free(it[1].val);
    ck_assert_uint_eq(stats_of(h, NS).l2_errors, 2);

    /* a set replaces the list; the key works again */
    SET(h, "wt", "fixed", TC_TTL_DEFAULT);
    HIT(h2, "wt", "fixed", TC_TIER_L2);

    /* foreign bytes are returned as bytes */
    l2_key(l2, h, "bin");
    REDIS_SAYS(trs_cmd(b.srv, "SET %s %b", l2, garbage, sizeof(garbage)), "OK");
    hit_at(__LINE__, h, NS, "bin", 3, garbage, sizeof(garbage), TC_TIER_L2);
    /* a value with no TTL is served, and kept in L1 */
    hit_at(__LINE__, h, NS, "bin", 3, garbage, sizeof(garbage), TC_TIER_L1);
    tc_cache_close(h2);

    /* garbage in the generation key: the namespace still works */
    REDIS_SAYS(trs_cmd(b.srv, "SET tc:ml_pred:gen %s", "not-a-number"), "OK");
    h2 = bk_open(&b);
    SET(h2, "after-garbage-gen", "g", TC_TTL_DEFAULT);
    HIT(h2, "after-garbage-gen", "g", TC_TIER_L1);
    tc_cache_close(h2);
    REDIS_SAYS(trs_cmd(b.srv, "DEL tc:ml_pred:gen"), "1");
    REDIS_SAYS(trs_cmd(b.srv, "RPUSH tc:ml_pred:gen x"), "1");
    h2 = bk_open(&b);
    SET(h2, "gen-list", "g", TC_TTL_DEFAULT);
    HIT(h2, "gen-list", "g", TC_TIER_L1);
    /* INCR on a list cannot record a generation: an error, not a crash,
     * and this handle's old entries are unreachable all the same */
    rc = tc_cache_invalidate(h2, NS);
    ck_assert_msg(rc < 0, "invalidate returned %s", tc_error_name(rc));
    ck_assert_str_ne(tc_errmsg(), "");
    MISS(h2, "gen-list");
    tc_cache_close(h2);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* ---- Redis: databases ------------------------------------------------- */

static int open_url(tc_cache **h, const char *url);

/* redis://host:port/N and unix://path?db=N write to database N only. */
START_TEST(test_redis_db)
{
    char url[4300];
    tc_cache *h = NULL, *h0 = NULL;
    char *info;
    bk b;

    bk_start(&b, BK_REDIS);
    snprintf(url, sizeof(url), "%s/3", trs_url(b.srv));
    ck_assert_int_eq(open_url(&h, url), TC_OK);
    SET(h, "in-db3", "three", TC_TTL_DEFAULT);
    tc_cache_close(h);
    snprintf(url, sizeof(url), "%s?db=5", trs_unix_url(b.srv));
    ck_assert_msg(open_url(&h, url) == TC_OK, "%s", tc_errmsg());
    SET(h, "in-db5", "five", TC_TTL_DEFAULT);
    miss_at(__LINE__, h, NS, "in-db3", 6);
    tc_cache_close(h);
    info = trs_cmd(b.srv, "INFO keyspace");
    ck_assert_ptr_nonnull(info);
    ck_assert_msg(strstr(info, "db3:keys=1,") && strstr(info, "db5:keys=1,") &&
                      !strstr(info, "db0:"),
                  "INFO keyspace: %s", info);
    free(info);
    /* database 0 has neither */
    ck_assert_int_eq(open_url(&h0, trs_url(b.srv)), TC_OK);
    miss_at(__LINE__, h0, NS, "in-db3", 6);
    miss_at(__LINE__, h0, NS, "in-db5", 6);
    tc_cache_close(h0);
    bk_stop(&b);
}
END_TEST

/* ---- Redis: AUTH ------------------------------------------------------- */

static int open_url(tc_cache **h, const char *url)
{
    tc_options o;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = url;
    return tc_cache_open(h, &o);
}

START_TEST(test_auth)
{
    trs *srv = trs_start("requirepass s3cret-pw\n"
                         "user alice on >alice-pw ~* &* +@all\n");
    char url[128];
    tc_cache *h = NULL, *h2 = NULL;
    int port, rc;

    ck_assert_msg(srv != NULL, "redis-server did not start");
    port = trs_port(srv);

    /* the right password: values reach the server */
    snprintf(url, sizeof(url), "redis://:s3cret-pw@127.0.0.1:%d", port);
    ck_assert_int_eq(open_url(&h, url), TC_OK);
    ck_assert_int_eq(open_url(&h2, url), TC_OK);
    SET(h, "auth", "yes", TC_TTL_DEFAULT);
    HIT(h2, "auth", "yes", TC_TIER_L2);
    ck_assert_uint_eq(stats_of(h, NS).l2_errors, 0);
    ck_assert_int_eq(tc_cache_ping(h, NULL), TC_OK);
    tc_cache_close(h2);
    tc_cache_close(h);

    /* an ACL user */
    snprintf(url, sizeof(url), "redis://alice:alice-pw@127.0.0.1:%d", port);
    ck_assert_int_eq(open_url(&h, url), TC_OK);
    HIT(h, "auth", "yes", TC_TIER_L2);
    tc_cache_close(h);

    /* a wrong password, a wrong user password, none: TC_EAUTH at open,
     * and the message never shows the password */
    snprintf(url, sizeof(url), "redis://:badpw-7731@127.0.0.1:%d", port);
    h = (tc_cache *)&rc;
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EAUTH, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    ck_assert_str_ne(tc_errmsg(), "");
    ck_assert_ptr_null(strstr(tc_errmsg(), "badpw-7731"));
    snprintf(url, sizeof(url), "redis://alice:nope-8812@127.0.0.1:%d", port);
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EAUTH, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(strstr(tc_errmsg(), "nope-8812"));
    rc = open_url(&h, trs_url(srv));
    ck_assert_msg(rc == TC_EAUTH, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    trs_stop(srv);
}
END_TEST

/* ---- LMDB: a directory that cannot be used ----------------------------- */

START_TEST(test_lmdb_unusable_dir)
{
    char *dir = tt_mkdtemp();
    char file[4200], url[4300];
    tc_cache *h = NULL;
    FILE *f;
    int rc;

    ck_assert_ptr_nonnull(dir);
    snprintf(file, sizeof(file), "%s/plain-file", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a directory\n", f);
    ck_assert_int_eq(fclose(f), 0);

    /* below a regular file: no permission bits involved, so root too */
    snprintf(url, sizeof(url), "lmdb://%s/cache", file);
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EIO, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(tc_errmsg(), file) != NULL, "message: %s",
                  tc_errmsg());
    /* the regular file itself */
    snprintf(url, sizeof(url), "lmdb://%s", file);
    rc = open_url(&h, url);
    ck_assert_msg(rc == TC_EIO, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_msg(strstr(tc_errmsg(), file) != NULL, "message: %s",
                  tc_errmsg());
    tt_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_cache(void)
{
    Suite *s = suite_create("cache");
    TCase *st = tcase_create("cache_stores");
    TCase *rd = tcase_create("cache_redis");
    TCase *lm = tcase_create("cache_lmdb");

    tcase_set_timeout(st, 60);
    tcase_add_loop_test(st, test_round_trip, 0, BK_COUNT);
    tcase_add_test(st, test_bad_arguments);
    tcase_add_loop_test(st, test_tiers, 0, NMAIN);
    tcase_add_loop_test(st, test_ttl, 0, NMAIN);
    tcase_add_loop_test(st, test_l1_fill_keeps_ttl, 0, NSHARED);
    tcase_add_loop_test(st, test_l1_budget, 0, NMAIN);
    tcase_add_loop_test(st, test_get_or_load, 0, NMAIN);
    tcase_add_loop_test(st, test_batch, 0, NMAIN);
    tcase_add_loop_test(st, test_invalidate, 0, NMAIN);
    tcase_add_loop_test(st, test_del, 0, NMAIN);
    tcase_add_loop_test(st, test_counters, 0, NMAIN);
    tcase_add_loop_test(st, test_caching_off, 0, NMAIN);
    suite_add_tcase(s, st);

    tcase_set_timeout(rd, 60);
    tcase_add_test(rd, test_degraded);
    tcase_add_test(rd, test_degraded_age_cap);
    tcase_add_test(rd, test_invalidate_while_down);
    tcase_add_test(rd, test_open_while_down);
    tcase_add_test(rd, test_client_pause);
    tcase_add_test(rd, test_wrong_type_and_garbage);
    tcase_add_test(rd, test_redis_db);
    tcase_add_test(rd, test_auth);
    suite_add_tcase(s, rd);

    tcase_set_timeout(lm, 60);
    tcase_add_test(lm, test_lmdb_unusable_dir);
    suite_add_tcase(s, lm);
    return s;
}
