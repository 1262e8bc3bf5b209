/*
 * cache_fixture.h - what the cache suite's files (check_cache.c,
 * check_cache_ops.c, check_cache_failure.c) share: a store of every kind
 * (a private redis-server by TCP or unix socket, a temp LMDB environment,
 * memory:, a six-node Redis Cluster) and handles on it, calls with their checks
 * (the line of the test in every failure), a loader, a logger that keeps what
 * it is told, and durations stretched under valgrind. The tests use the public
 * API only.
 */
#ifndef TC_TEST_CACHE_FIXTURE_H
#define TC_TEST_CACHE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"
#define NS_OTHER "student_profiles"
#define TIER_ANY ((tc_tier)-1)

/*
 * Durations of TTL tests, stretched under valgrind (make valgrind sets
 * TC_VALGRIND), where one call can take milliseconds: the windows between
 * "still there" and "gone" must stay wider than a call.
 */
int64_t cache_T(int64_t ms);
#define T(ms) cache_T(ms)

/* ---- stores ------------------------------------------------------------ */

enum { BK_REDIS, BK_UNIX, BK_LMDB, BK_MEMORY, BK_CLUSTER, BK_COUNT };
/* A store's name in messages, and its kind as the config reports it. */
extern const char *const bk_name[BK_COUNT];
extern const char *const bk_kind[BK_COUNT];

/* The stores another handle can share: what a second process would see;
 * and the four kinds of store, for tests that run on each once. A loop
 * test's _i indexes one of these. */
#define NSHARED 3
#define NMAIN 4
extern const int shared_kinds[NSHARED];
extern const int main_kinds[NMAIN];

typedef struct bk {
    int kind;
    trs *srv;  /* Redis kinds */
    char *tmp; /* private dir: the LMDB environment and config files */
    char url[4200];
    int ncfg;
} bk;

/*
 * BK_CLUSTER is one cluster (cluster_fixture.h) for the whole run, since
 * six nodes take seconds to join: a test case whose tests use it adds
 * bk_cluster_setup as its unchecked fixture, which starts it once in the
 * process that forks the tests (and stops it when that process exits);
 * bk_start flushes it (FLUSHALL on every master) and bk_stop leaves it
 * running. b->srv is then NULL: a test that reads keys with trs_cmd
 * skips the cluster or asks every master (bk_cluster_cmd).
 */
void bk_cluster_setup(void);
void bk_cluster_teardown(void);
/* For suites with their own store helpers: the cluster's URL, after
 * FLUSHALL on every master. */
const char *bk_cluster_fresh(void);
void bk_start(bk *b, int kind);
void bk_stop(bk *b);
/* fmt sent to every node of the cluster (trs_cmd); the replies of the
 * masters, each followed by a newline, in one string (caller frees). */
char *bk_cluster_cmd(const char *fmt, const char *arg);

/* Whether a second handle sees the first one's writes. */
int bk_shared(const bk *b);

/* Writes a JSON config file into the store's temp dir; caller frees. */
char *bk_write_cfg(bk *b, const char *json);

/*
 * Opens a handle on b's store. o may be NULL (defaults) and cfg_json
 * NULL (no config file); the environment is ignored so that a developer's
 * REDIS_HOST or TUTORCACHE_CONFIG cannot change what a test means.
 */
tc_cache *bk_open_with(bk *b, tc_options *o, const char *cfg_json);
tc_cache *bk_open(bk *b);
/* For a test that stops b's Redis: a handle without the tracking
 * connection (its loss is not what such a test is about) whose
 * warnings go to the kept log (cache_log_find), which starts empty. */
tc_cache *bk_open_logged(bk *b, const char *cfg_json);

/* ---- calls with their checks ------------------------------------------ */

void cache_set_at(int line, tc_cache *h, const char *ns, const void *key,
                  size_t klen, const void *val, size_t vlen, int64_t ttl);
/* A hit with exactly these bytes, from want_tier (TIER_ANY: L1 or L2). */
void cache_hit_at(int line, tc_cache *h, const char *ns, const void *key,
                  size_t klen, const void *want, size_t wlen,
                  tc_tier want_tier);
void cache_miss_at(int line, tc_cache *h, const char *ns, const void *key,
                   size_t klen);

#define SET(h, k, v, ttl)                                                      \
    cache_set_at(__LINE__, h, NS, k, strlen(k), v, strlen(v), ttl)
#define HIT(h, k, v, tier)                                                     \
    cache_hit_at(__LINE__, h, NS, k, strlen(k), v, strlen(v), tier)
#define MISS(h, k) cache_miss_at(__LINE__, h, NS, k, strlen(k))

tc_ns_stats cache_stats_of(tc_cache *h, const char *ns);

/* A field of tc_cache_stats_json: obj.field, or -1 when absent. */
double cache_stats_num(tc_cache *h, const char *obj, const char *field);

/* The L2 key of a key, for looking at it with redis-cli's eyes. */
void cache_l2_key(char buf[TC_KEY_MAX], tc_cache *h, const char *key);

/* trs_cmd's reply compared with want; the reply is freed. */
void cache_redis_says(int line, char *reply, const char *want);
#define REDIS_SAYS(reply, want) cache_redis_says(__LINE__, reply, want)

/* ---- loaders ----------------------------------------------------------- */

typedef struct loader_ctx {
    int calls;
    int fail;       /* return this instead of a value when non-zero */
    int64_t ttl_ms; /* handed back when non-zero */
    int empty;      /* a NULL value of length 0 */
} loader_ctx;

/* Answers "loaded:<key>"; ud is a loader_ctx. */
int cache_loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                 const void *key, size_t keylen, void *ud);

/* ---- logs -------------------------------------------------------------- */

/* A logger (ud unused) that keeps every line; what it kept, and the first
 * line whose "event" is event, parsed (NULL if none; cJSON_Delete it). */
void cache_log_reset(void);
void cache_log_cb(void *ud, tc_log_level level, const char *json);
const char *cache_log_text(void);
cJSON *cache_log_find(const char *event);

#endif
