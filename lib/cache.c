/*
 * cache.c - the tiered cache: namespaces, L1 then L2, TTLs, single-flight
 * loads, degraded mode and counters. The L2 is reached only through the
 * store.h table, and any failure of it turns into an L1 answer or a miss:
 * a cache must never be the reason a caller fails.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cache_internal.h"
#include "config.h"
#include "key.h"
#include "l1.h"
#include "store.h"

/* Redis' own limit on a bulk string (proto-max-bulk-len). */
#define MAX_VALUE_BYTES ((size_t)512 << 20)

/* A namespace's counters, in the order of tc_ns_stats. */
enum {
    C_l1_hits,
    C_l2_hits,
    C_misses,
    C_loads,
    C_sets,
    C_dels,
    C_l2_errors,
    C_degraded,
    C_COUNT
};

/*
 * Counters are striped: each thread adds to one of STRIPES cache lines
 * and a read sums them. One shared counter would bounce its line between
 * the cores on every L1 hit; with two threads that cost a fifth of the
 * hit rate. Eight 8-byte counters fill exactly one 64-byte line.
 */
#define STRIPES 8
typedef struct stripe {
    _Atomic uint64_t c[C_COUNT];
} stripe;

/* The counters and generation of one namespace. */
typedef struct nsrt {
    const tc__ns_def *def;
    _Atomic int64_t gen;         /* part of every key's hash */
    _Atomic int64_t gen_seen_ms; /* when gen was last read from L2 */
    stripe *st;                  /* STRIPES, 64-byte aligned, in st_mem */
    void *st_mem;
} nsrt;

/* This thread's stripe, handed out in turn on a thread's first count. */
static _Atomic unsigned stripe_next;
static _Thread_local unsigned stripe_mine = STRIPES;

static stripe *my_stripe(const nsrt *ns)
{
    if (stripe_mine == STRIPES) {
        stripe_mine = atomic_fetch_add(&stripe_next, 1) % STRIPES;
    }
    return &ns->st[stripe_mine];
}

static uint64_t cnt_sum(const nsrt *ns, int which)
{
    uint64_t sum = 0;
    int i;

    for (i = 0; i < STRIPES; i++) {
        sum += atomic_load_explicit(&ns->st[i].c[which], memory_order_relaxed);
    }
    return sum;
}

/*
 * A load in progress. Callers that miss on a key with a flight wait on the
 * handle's condition variable until `done`, then copy the result; the last
 * one out frees it.
 */
typedef struct flight {
    tc__hash key;
    struct flight *next;
    int done;
    int rc;
    char *val;
    size_t len;
    int refs;
} flight;

struct tc_cache {
    tc__config cfg;
    tc__logger log;
    tc__store *store; /* NULL for memory: */
    tc__l1 *l1;
    nsrt *ns;
    size_t nns;
    pthread_mutex_t fl_mu;
    pthread_cond_t fl_cv;
    flight *flights;
    tc__ratelimit rl_l2;
    tc__metrics *metrics;       /* NULL: TC_OPT_NO_METRICS */
    _Atomic int64_t l2_down_ms; /* when the L2 became unreachable; 0: up */
};

#define CNT(ns, field)                                                         \
    atomic_fetch_add_explicit(&my_stripe(ns)->c[C_##field], 1,                 \
                              memory_order_relaxed)

static nsrt *find_ns(tc_cache *h, const char *name)
{
    size_t i;

    for (i = 0; i < h->nns; i++) {
        /* the first byte first: on every call, and names rarely share it */
        if (h->ns[i].def->name[0] == name[0] &&
            strcmp(h->ns[i].def->name, name) == 0) {
            return &h->ns[i];
        }
    }
    return NULL;
}

/*
 * A debug line for one cache call: the namespace, the L2 key (a hash, so
 * no caller data leaks into logs), the tier or outcome, and the latency.
 */
static void log_op(tc_cache *h, const nsrt *ns, const tc__hash *hk,
                   const char *event, const char *tier, int rc,
                   int64_t latency_us)
{
    char key[TC_KEY_MAX], lat[24];
    const char *f[] = {"namespace",  ns->def->name, "key",    key,
                       "tier",       tier,          "result", tc_error_name(rc),
                       "latency_us", lat,           NULL};

    tc__key_format(key, ns->def->prefix, hk);
    snprintf(lat, sizeof(lat), "%lld", (long long)latency_us);
    tc__log(&h->log, TC_LOG_DEBUG, event, f);
}

/* Argument checks shared by the public calls; sets the error detail. */
static int check_args(tc_cache *h, const char *ns, const void *key,
                      size_t keylen, nsrt **out)
{
    *out = NULL;
    if (!h) {
        return TC_EINVAL;
    }
    if (!ns) {
        return tc__fail(h, TC_EINVAL, "namespace is NULL");
    }
    if (!key && keylen) {
        return tc__fail(h, TC_EINVAL, "key is NULL with length %zu", keylen);
    }
    if (!(*out = find_ns(h, ns))) {
        return tc__fail(h, TC_ENONS, "unknown namespace \"%s\"", ns);
    }
    return TC_OK;
}

/*
 * Whether the L2 answers. A whole call that fails for want of the server
 * marks it down; any call that succeeds marks it up. The flag is read
 * before it is written, so the hot path does not bounce its cache line.
 */
static void l2_state(tc_cache *h, int rc)
{
    if (rc == TC_OK || rc == TC_MISS) {
        if (atomic_load_explicit(&h->l2_down_ms, memory_order_relaxed)) {
            atomic_store(&h->l2_down_ms, 0);
        }
    } else if (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT || rc == TC_EAUTH) {
        int64_t zero = 0;

        atomic_compare_exchange_strong(&h->l2_down_ms, &zero, tc__now_ms());
    }
}

/*
 * The oldest L1 entry a get may serve. While the L2 is unreachable, no
 * invalidation or replacement made by another process can reach this one,
 * so L1 answers only with entries younger than the degraded cap.
 */
tc__metrics *tc__cache_metrics(const tc_cache *h)
{
    return h->metrics;
}

int tc__cache_health(tc_cache *h, tc__l1_stats *l1, tc__store_health *hl)
{
    tc__l1_stats_get(h->l1, l1);
    memset(hl, 0, sizeof(*hl));
    if (!h->store) {
        return 0;
    }
    h->store->ops->health(h->store, hl);
    return 1;
}

tc__store *tc__cache_store(tc_cache *h)
{
    return h->store;
}

const tc__config *tc__cache_config(const tc_cache *h)
{
    return &h->cfg;
}

const tc__logger *tc__cache_logger(const tc_cache *h)
{
    return &h->log;
}

void tc__cache_l2_state(tc_cache *h, int rc)
{
    l2_state(h, rc);
}

static int64_t l1_min_stored(tc_cache *h, int64_t now)
{
    if (!atomic_load_explicit(&h->l2_down_ms, memory_order_relaxed)) {
        return INT64_MIN;
    }
    return now - h->cfg.degraded_ttl_ms;
}

/* Counts an L2 failure and logs it, at most once per interval. */
static void l2_failed(tc_cache *h, nsrt *ns, int rc, const char *op,
                      const tc__err *err)
{
    const char *fields[] = {
        "namespace", ns->def->name,     "op",    op,
        "store",     h->cfg.url_masked, "error", tc_error_name(rc),
        "detail",    err->msg,          NULL};

    CNT(ns, l2_errors);
    tc__log_limited(&h->log, &h->rl_l2, TC_LOG_WARN, "l2_error", fields);
}

/*
 * The namespace's generation, re-read from L2 at most once per
 * gen_refresh_ms (by one thread; the others use the value they have), so
 * an invalidation made by another process is seen within that interval.
 */
static uint64_t ns_gen(tc_cache *h, nsrt *ns, int64_t now)
{
    int64_t seen;
    char key[TC_KEY_MAX];
    tc__store_get it;
    tc__err err;

    if (!h->store) {
        return (uint64_t)atomic_load(&ns->gen);
    }
    seen = atomic_load_explicit(&ns->gen_seen_ms, memory_order_relaxed);
    if (now - seen < h->cfg.gen_refresh_ms ||
        !atomic_compare_exchange_strong(&ns->gen_seen_ms, &seen, now)) {
        return (uint64_t)atomic_load(&ns->gen);
    }
    snprintf(key, sizeof(key), "tc:%s:gen", ns->def->prefix);
    memset(&it, 0, sizeof(it));
    it.key = key;
    err.msg[0] = '\0';
    if (h->store->ops->mget(h->store, &it, 1, &err) == TC_OK) {
        if (it.status == TC_OK) {
            char *end;
            unsigned long long g = strtoull(it.val, &end, 10);

            if (*end == '\0' && end != it.val) {
                atomic_store(&ns->gen, (int64_t)g);
            }
        } else if (it.status == TC_MISS) {
            atomic_store(&ns->gen, 0);
        }
        tc__free(it.val);
    }
    return (uint64_t)atomic_load(&ns->gen);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* L1 then L2; fills L1 from an L2 answer with the L2 entry's TTL left. */
static int lookup(tc_cache *h, nsrt *ns, const tc__hash *hk, char **val,
                  size_t *len, tc_tier *tier, int neg, int64_t now)
{
    int64_t left;
    char key[TC_KEY_MAX];
    tc__store_get it;
    tc__err err;
    int rc;

    rc = tc__l1_get(h->l1, hk, now, l1_min_stored(h, now), val, len, &left);
    if (rc == TC_OK) {
        CNT(ns, l1_hits);
        *tier = TC_TIER_L1;
        return TC_OK;
    }
    if (rc == TC__L1_NEGATIVE && neg) {
        CNT(ns, misses); /* known absent: no L2 round trip */
        return TC_MISS;
    }
    if (rc != TC_MISS && rc != TC__L1_NEGATIVE) {
        return tc__fail(h, rc, "L1 lookup: %s", tc_strerror(rc));
    }
    if (h->store) {
        tc__key_format(key, ns->def->prefix, hk);
        memset(&it, 0, sizeof(it));
        it.key = key;
        err.msg[0] = '\0';
        rc = h->store->ops->mget(h->store, &it, 1, &err);
        l2_state(h, rc);
        if (rc == TC_OK && it.status == TC_OK) {
            left = it.ttl_ms > 0 ? min64(it.ttl_ms, ns->def->l1_ttl_ms)
                                 : ns->def->l1_ttl_ms;
            rc = tc__l1_set(h->l1, hk, it.val, it.len, now + left, now);
            if (rc != TC_OK) {
                tc__free(it.val);
                return tc__fail(h, rc, "L1 fill: %s", tc_strerror(rc));
            }
            CNT(ns, l2_hits);
            *val = it.val;
            *len = it.len;
            *tier = TC_TIER_L2;
            return TC_OK;
        }
        if (rc == TC_ENOMEM || it.status == TC_ENOMEM) {
            return tc__fail(h, TC_ENOMEM, "GET %s: out of memory", key);
        }
        if (rc != TC_OK || it.status != TC_MISS) {
            l2_failed(h, ns, rc != TC_OK ? rc : it.status, "get", &err);
            CNT(ns, degraded);
        } else if (neg) {
            tc__l1_set_neg(h->l1, hk, now + ns->def->l1_ttl_ms, now);
        }
    }
    CNT(ns, misses);
    return TC_MISS;
}

/* A get whose arguments are checked, at time now; neg: remember a miss. */
static int get_at(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                  nsrt *n, const void *key, size_t keylen, int neg,
                  int64_t now)
{
    tc_tier t = TC_TIER_NONE;
    tc__hash hk;
    int rc;

    tc__key_hash(&hk, n->def->prefix, ns_gen(h, n, now), key, keylen);
    if (tc__log_on(&h->log, TC_LOG_DEBUG)) {
        int64_t t0 = tc__now_us();

        rc = lookup(h, n, &hk, (char **)val, len, &t, neg, now);
        log_op(h, n, &hk, "cache_get", tc_tier_name(t), rc, tc__now_us() - t0);
    } else {
        rc = lookup(h, n, &hk, (char **)val, len, &t, neg, now);
    }
    if (tier) {
        *tier = t;
    }
    return rc;
}

TC_API int tc_cache_get(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                        const char *ns, const void *key, size_t keylen)
{
    nsrt *n;
    int rc;

    if (val) {
        *val = NULL;
    }
    if (len) {
        *len = 0;
    }
    if (tier) {
        *tier = TC_TIER_NONE;
    }
    tc__clear(h);
    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK) {
        return rc;
    }
    if (!val || !len) {
        return tc__fail(h, TC_EINVAL, "val or len is NULL");
    }
    if (!h->cfg.enable_caching) {
        CNT(n, misses);
        return TC_MISS;
    }
    return get_at(val, len, tier, h, n, key, keylen, 0, tc__now_ms());
}

int tc__cache_l1_set(tc_cache *h, const char *ns, const void *key,
                     size_t keylen, const void *val, size_t len)
{
    int64_t now = tc__now_ms();
    tc__hash hk;
    nsrt *n;
    int rc;

    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK) {
        return rc;
    }
    if (!h->cfg.enable_caching) {
        return TC_OK;
    }
    tc__key_hash(&hk, n->def->prefix, ns_gen(h, n, now), key, keylen);
    return tc__l1_set(h->l1, &hk, val, len,
                      now + min64(n->def->ttl_ms, n->def->l1_ttl_ms), now);
}

int tc__cache_get_at(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                     const char *ns, const void *key, size_t keylen, int neg,
                     int64_t now_ms)
{
    nsrt *n;
    int rc;

    *val = NULL;
    *len = 0;
    *tier = TC_TIER_NONE;
    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK) {
        return rc;
    }
    if (!h->cfg.enable_caching) {
        return TC_MISS;
    }
    return get_at(val, len, tier, h, n, key, keylen, neg, now_ms);
}

/* Writes one value to L2 then L1 (see tc_cache_set). */
static int store_one(tc_cache *h, nsrt *ns, const tc__hash *hk, const void *val,
                     size_t len, int64_t ttl)
{
    int64_t now, l1ttl = min64(ttl, ns->def->l1_ttl_ms);
    char key[TC_KEY_MAX];
    tc__store_set it;
    tc__err err;
    int rc;

    if (h->store) {
        tc__key_format(key, ns->def->prefix, hk);
        memset(&it, 0, sizeof(it));
        it.key = key;
        it.val = val;
        it.len = len;
        it.ttl_ms = ttl;
        err.msg[0] = '\0';
        rc = h->store->ops->mset(h->store, &it, 1, &err);
        l2_state(h, rc);
        if (rc == TC_OK) {
            rc = it.status;
        }
        if (rc == TC_EFULL || rc == TC_ETOOBIG || rc == TC_ENOMEM) {
            /* the caller's value cannot be kept: no stale L1 copy either */
            tc__l1_del(h->l1, hk);
            return tc__fail(h, rc, "SET %s: %s", key,
                            rc == TC_ENOMEM ? "out of memory" : err.msg);
        }
        if (rc != TC_OK) {
            l2_failed(h, ns, rc, "set", &err);
            CNT(ns, degraded);
            /* Not in L2, so no other process sees it and nothing can
             * invalidate it: keep it only briefly. */
            l1ttl = min64(l1ttl, h->cfg.degraded_ttl_ms);
        }
    }
    now = tc__now_ms();
    rc = tc__l1_set(h->l1, hk, val, len, now + l1ttl, now);
    if (rc != TC_OK) {
        tc__l1_del(h->l1, hk);
        return tc__fail(h, rc, "L1 set: %s", tc_strerror(rc));
    }
    CNT(ns, sets);
    return TC_OK;
}

static int check_ttl(tc_cache *h, nsrt *ns, int64_t ttl_ms, int64_t *out)
{
    if (ttl_ms < 0) {
        return tc__fail(h, TC_EINVAL, "ttl: %" PRId64 " ms is negative",
                        ttl_ms);
    }
    *out = ttl_ms ? ttl_ms : ns->def->ttl_ms;
    return TC_OK;
}

TC_API int tc_cache_set(tc_cache *h, const char *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        int64_t ttl_ms)
{
    int64_t ttl = 0;
    tc__hash hk;
    nsrt *n;
    int rc;

    tc__clear(h);
    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK ||
        (rc = check_ttl(h, n, ttl_ms, &ttl)) != TC_OK) {
        return rc;
    }
    if (!val && len) {
        return tc__fail(h, TC_EINVAL, "value is NULL with length %zu", len);
    }
    if (len > MAX_VALUE_BYTES) {
        return tc__fail(h, TC_ETOOBIG, "value of %zu bytes (at most %zu)", len,
                        MAX_VALUE_BYTES);
    }
    if (!h->cfg.enable_caching) {
        return TC_OK;
    }
    tc__key_hash(&hk, n->def->prefix, ns_gen(h, n, tc__now_ms()), key, keylen);
    if (tc__log_on(&h->log, TC_LOG_DEBUG)) {
        int64_t t0 = tc__now_us();

        rc = store_one(h, n, &hk, val ? val : "", len, ttl);
        log_op(h, n, &hk, "cache_set", "l2", rc, tc__now_us() - t0);
        return rc;
    }
    return store_one(h, n, &hk, val ? val : "", len, ttl);
}

TC_API int tc_cache_del(tc_cache *h, const char *ns, const void *key,
                        size_t keylen)
{
    char k[TC_KEY_MAX];
    tc__hash hk;
    tc__err err;
    nsrt *n;
    int rc, rc1;

    tc__clear(h);
    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK) {
        return rc;
    }
    if (!h->cfg.enable_caching) {
        return TC_MISS;
    }
    tc__key_hash(&hk, n->def->prefix, ns_gen(h, n, tc__now_ms()), key, keylen);
    rc1 = tc__l1_del(h->l1, &hk);
    CNT(n, dels);
    if (!h->store) {
        return rc1;
    }
    tc__key_format(k, n->def->prefix, &hk);
    err.msg[0] = '\0';
    rc = h->store->ops->del(h->store, k, &err);
    l2_state(h, rc);
    if (rc < 0) {
        l2_failed(h, n, rc, "del", &err);
        return tc__fail(h, rc, "DEL %s: %s", k, err.msg);
    }
    /* an L1 copy removed counts as something removed */
    return rc == TC_MISS && rc1 == TC_OK ? TC_OK : rc;
}

/* ---- single flight ----------------------------------------------------- */

static void flight_release(flight *f)
{
    /* called with fl_mu held */
    if (--f->refs == 0) {
        tc__free(f->val);
        tc__free(f);
    }
}

/* The leader's part: load, store, publish. */
static int lead(tc_cache *h, nsrt *ns, const tc__hash *hk, flight *f,
                const void *key, size_t keylen, tc_loader_fn loader, void *ud)
{
    void *v = NULL;
    size_t len = 0;
    int64_t ttl = TC_TTL_DEFAULT;
    int rc, lrc;

    CNT(ns, loads);
    lrc = loader(&v, &len, &ttl, ns->def->name, key, keylen, ud);
    if (lrc != TC_OK) {
        rc = tc__fail(h, TC_ELOADER, "loader for %s returned %d (%s)",
                      ns->def->name, lrc, tc_error_name(lrc));
    } else if (!v && len) {
        rc = tc__fail(h, TC_ELOADER, "loader returned NULL with length %zu",
                      len);
    } else if (ttl < 0) {
        rc = tc__fail(h, TC_ELOADER, "loader returned a negative TTL");
    } else if (len > MAX_VALUE_BYTES) {
        rc = tc__fail(h, TC_ETOOBIG, "loader value of %zu bytes", len);
    } else if (!h->cfg.enable_caching) {
        rc = TC_OK; /* caching is off: the value is the caller's alone */
    } else {
        rc = store_one(h, ns, hk, v ? v : "", len, ttl ? ttl : ns->def->ttl_ms);
        if (rc == TC_EFULL) {
            rc = TC_OK; /* the value is good; only caching it failed */
        }
    }
    pthread_mutex_lock(&h->fl_mu);
    f->done = 1;
    f->rc = rc;
    if (rc == TC_OK) {
        f->val = v ? v : tc__memdup0("", 0);
        f->len = len;
        if (!f->val) {
            f->rc = TC_ENOMEM;
        }
    }
    pthread_cond_broadcast(&h->fl_cv);
    pthread_mutex_unlock(&h->fl_mu);
    if (rc != TC_OK && v) {
        tc__free(v);
    }
    return rc;
}

TC_API int tc_cache_get_or_load(void **val, size_t *len, tc_tier *tier,
                                tc_cache *h, const char *ns, const void *key,
                                size_t keylen, tc_loader_fn loader, void *ud)
{
    tc_tier t = TC_TIER_NONE;
    int64_t now;
    flight *f;
    nsrt *n;
    tc__hash hk;
    int rc, leader = 0;

    if (val) {
        *val = NULL;
    }
    if (len) {
        *len = 0;
    }
    if (tier) {
        *tier = TC_TIER_NONE;
    }
    tc__clear(h);
    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK) {
        return rc;
    }
    if (!val || !len || !loader) {
        return tc__fail(h, TC_EINVAL, "val, len or loader is NULL");
    }
    now = tc__now_ms();
    tc__key_hash(&hk, n->def->prefix, ns_gen(h, n, now), key, keylen);
    if (h->cfg.enable_caching) {
        rc = lookup(h, n, &hk, (char **)val, len, &t, 0, now);
        if (rc != TC_MISS) {
            if (tier) {
                *tier = t;
            }
            return rc;
        }
    }
    pthread_mutex_lock(&h->fl_mu);
    for (f = h->flights; f; f = f->next) {
        if (f->key.lo == hk.lo && f->key.hi == hk.hi) {
            break;
        }
    }
    if (!f) {
        f = tc__calloc(1, sizeof(*f));
        if (!f) {
            pthread_mutex_unlock(&h->fl_mu);
            return tc__fail(h, TC_ENOMEM, "out of memory");
        }
        f->key = hk;
        f->next = h->flights;
        h->flights = f;
        leader = 1;
    }
    f->refs++;
    pthread_mutex_unlock(&h->fl_mu);

    if (leader) {
        int64_t left;

        now = tc__now_ms(); /* the wait for the lock may have been long */
        /* A flight that ended between our miss and now left its value in
         * L1: take it rather than load a second time. */
        if (h->cfg.enable_caching &&
            tc__l1_get(h->l1, &hk, now, l1_min_stored(h, now), (char **)val,
                       len, &left) == TC_OK) {
            /* counted as the miss that brought us here, not as a hit */
            t = TC_TIER_L1;
            rc = TC_OK;
            pthread_mutex_lock(&h->fl_mu);
            f->done = 1;
            f->rc = TC_OK;
            f->val = tc__memdup0(*val, *len);
            f->len = *len;
            if (!f->val) {
                f->rc = TC_ENOMEM;
            }
            pthread_cond_broadcast(&h->fl_cv);
            pthread_mutex_unlock(&h->fl_mu);
        } else {
            rc = lead(h, n, &hk, f, key, keylen, loader, ud);
            t = TC_TIER_LOADER;
        }
    }
    pthread_mutex_lock(&h->fl_mu);
    while (!f->done) {
        pthread_cond_wait(&h->fl_cv, &h->fl_mu);
    }
    if (leader) {
        /* unlink: later misses start a new flight */
        flight **pp = &h->flights;

        while (*pp != f) {
            pp = &(*pp)->next;
        }
        *pp = f->next;
        if (rc == TC_OK && t == TC_TIER_LOADER) {
            *val = tc__memdup0(f->val, f->len);
            *len = f->len;
            if (!*val) {
                rc = tc__fail(h, TC_ENOMEM, "out of memory");
            }
        }
    } else {
        t = TC_TIER_LOADER;
        rc = f->rc;
        if (rc == TC_OK) {
            *val = tc__memdup0(f->val, f->len);
            *len = f->len;
            if (!*val) {
                rc = TC_ENOMEM;
            }
        }
        if (rc != TC_OK) {
            tc__fail(h, rc, "the load this call waited for failed: %s",
                     tc_strerror(rc));
        }
    }
    flight_release(f);
    pthread_mutex_unlock(&h->fl_mu);
    if (rc != TC_OK) {
        tc__free(*val);
        *val = NULL;
        *len = 0;
        return rc;
    }
    if (tier) {
        *tier = t;
    }
    return TC_OK;
}

/* ---- batches ----------------------------------------------------------- */

static int mget_impl(tc_cache *h, const char *ns, tc_item *items, size_t n,
                     int neg);

TC_API int tc_cache_mget(tc_cache *h, const char *ns, tc_item *items, size_t n)
{
    return mget_impl(h, ns, items, n, 0);
}

int tc__cache_mget_neg(tc_cache *h, const char *ns, tc_item *items, size_t n)
{
    return mget_impl(h, ns, items, n, 1);
}

static int mget_impl(tc_cache *h, const char *ns, tc_item *items, size_t n,
                     int neg)
{
    tc__store_get *gets = NULL;
    tc__hash *hashes = NULL;
    char(*keys)[TC_KEY_MAX] = NULL;
    size_t *idx = NULL, nmiss = 0, i;
    int64_t now;
    uint64_t gen;
    nsrt *nr;
    tc__err err;
    int rc;

    tc__clear(h);
    /* out-fields first, so that no failure below leaves a stale val */
    for (i = 0; items && i < n; i++) {
        items[i].val = NULL;
        items[i].len = 0;
        items[i].tier = TC_TIER_NONE;
        items[i].status = TC_MISS;
    }
    if ((rc = check_args(h, ns, "", 0, &nr)) != TC_OK) {
        return rc;
    }
    if (!items && n) {
        return tc__fail(h, TC_EINVAL, "items is NULL with n %zu", n);
    }
    for (i = 0; i < n; i++) {
        if (!items[i].key && items[i].keylen) {
            return tc__fail(h, TC_EINVAL, "items[%zu].key is NULL", i);
        }
    }
    if (!h->cfg.enable_caching || n == 0) {
        return TC_OK;
    }
    hashes = tc__calloc(n, sizeof(*hashes));
    idx = tc__calloc(n, sizeof(*idx));
    if (!hashes || !idx) {
        rc = tc__fail(h, TC_ENOMEM, "out of memory");
        goto done;
    }
    now = tc__now_ms();
    gen = ns_gen(h, nr, now);
    for (i = 0; i < n; i++) {
        int64_t left;

        tc__key_hash(&hashes[i], nr->def->prefix, gen, items[i].key,
                     items[i].keylen);
        rc = tc__l1_get(h->l1, &hashes[i], now, l1_min_stored(h, now),
                        (char **)&items[i].val, &items[i].len, &left);
        if (rc == TC_OK) {
            items[i].status = TC_OK;
            items[i].tier = TC_TIER_L1;
            CNT(nr, l1_hits);
        } else if (rc == TC__L1_NEGATIVE && neg) {
            CNT(nr, misses); /* known absent: no L2 round trip */
        } else if (rc == TC_MISS || rc == TC__L1_NEGATIVE) {
            idx[nmiss++] = i;
        } else {
            rc = tc__fail(h, rc, "L1 lookup: %s", tc_strerror(rc));
            goto done;
        }
    }
    rc = TC_OK;
    if (nmiss && h->store) {
        gets = tc__calloc(nmiss, sizeof(*gets));
        keys = tc__calloc(nmiss, sizeof(*keys));
        if (!gets || !keys) {
            rc = tc__fail(h, TC_ENOMEM, "out of memory");
            goto done;
        }
        for (i = 0; i < nmiss; i++) {
            tc__key_format(keys[i], nr->def->prefix, &hashes[idx[i]]);
            gets[i].key = keys[i];
        }
        err.msg[0] = '\0';
        rc = h->store->ops->mget(h->store, gets, nmiss, &err);
        l2_state(h, rc);
        if (rc == TC_ENOMEM) {
            rc = tc__fail(h, rc, "MGET: out of memory");
            goto done;
        }
        if (rc != TC_OK) {
            l2_failed(h, nr, rc, "mget", &err);
            for (i = 0; i < nmiss; i++) {
                CNT(nr, degraded);
                CNT(nr, misses);
            }
            rc = TC_OK;
            goto done;
        }
        for (i = 0; i < nmiss; i++) {
            tc_item *it = &items[idx[i]];
            tc__store_get *g = &gets[i];

            if (g->status == TC_OK) {
                int64_t left = g->ttl_ms > 0
                                   ? min64(g->ttl_ms, nr->def->l1_ttl_ms)
                                   : nr->def->l1_ttl_ms;

                if (tc__l1_set(h->l1, &hashes[idx[i]], g->val, g->len,
                               now + left, now) != TC_OK) {
                    rc = tc__fail(h, TC_ENOMEM, "L1 fill: out of memory");
                    goto done;
                }
                it->val = g->val;
                it->len = g->len;
                g->val = NULL;
                it->status = TC_OK;
                it->tier = TC_TIER_L2;
                CNT(nr, l2_hits);
            } else {
                if (g->status != TC_MISS) {
                    l2_failed(h, nr, g->status, "mget", &err);
                    CNT(nr, degraded);
                } else if (neg) {
                    tc__l1_set_neg(h->l1, &hashes[idx[i]],
                                   now + nr->def->l1_ttl_ms, now);
                }
                CNT(nr, misses);
            }
        }
    } else {
        for (i = 0; i < nmiss; i++) {
            CNT(nr, misses);
        }
    }
done:
    if (gets) {
        tc__store_get_release(gets, nmiss);
    }
    tc__free(gets);
    tc__free(keys);
    tc__free(hashes);
    tc__free(idx);
    if (rc != TC_OK) {
        for (i = 0; i < n; i++) {
            tc__free(items[i].val);
            items[i].val = NULL;
            items[i].len = 0;
            items[i].tier = TC_TIER_NONE;
        }
    }
    return rc;
}

TC_API int tc_cache_mset(tc_cache *h, const char *ns, tc_item *items, size_t n)
{
    tc__store_set *sets = NULL;
    tc__hash *hashes = NULL;
    char(*keys)[TC_KEY_MAX] = NULL;
    int64_t *ttls = NULL, now;
    uint64_t gen;
    size_t i;
    nsrt *nr;
    tc__err err;
    int rc, l2rc = TC_OK;

    tc__clear(h);
    if ((rc = check_args(h, ns, "", 0, &nr)) != TC_OK) {
        return rc;
    }
    if (!items && n) {
        return tc__fail(h, TC_EINVAL, "items is NULL with n %zu", n);
    }
    for (i = 0; i < n; i++) {
        items[i].status = TC_EINVAL;
        if ((!items[i].key && items[i].keylen) ||
            (!items[i].val && items[i].len) || items[i].ttl_ms < 0) {
            return tc__fail(h, TC_EINVAL,
                            "items[%zu]: NULL key or value, or negative TTL",
                            i);
        }
        if (items[i].len > MAX_VALUE_BYTES) {
            return tc__fail(h, TC_ETOOBIG, "items[%zu]: %zu bytes", i,
                            items[i].len);
        }
    }
    if (!h->cfg.enable_caching || n == 0) {
        for (i = 0; i < n; i++) {
            items[i].status = TC_OK;
        }
        return TC_OK;
    }
    hashes = tc__calloc(n, sizeof(*hashes));
    ttls = tc__calloc(n, sizeof(*ttls));
    if (!hashes || !ttls) {
        rc = tc__fail(h, TC_ENOMEM, "out of memory");
        goto done;
    }
    gen = ns_gen(h, nr, tc__now_ms());
    for (i = 0; i < n; i++) {
        tc__key_hash(&hashes[i], nr->def->prefix, gen, items[i].key,
                     items[i].keylen);
        ttls[i] = items[i].ttl_ms ? items[i].ttl_ms : nr->def->ttl_ms;
    }
    if (h->store) {
        sets = tc__calloc(n, sizeof(*sets));
        keys = tc__calloc(n, sizeof(*keys));
        if (!sets || !keys) {
            rc = tc__fail(h, TC_ENOMEM, "out of memory");
            goto done;
        }
        for (i = 0; i < n; i++) {
            tc__key_format(keys[i], nr->def->prefix, &hashes[i]);
            sets[i].key = keys[i];
            sets[i].val = items[i].val ? items[i].val : "";
            sets[i].len = items[i].len;
            sets[i].ttl_ms = ttls[i];
        }
        err.msg[0] = '\0';
        l2rc = h->store->ops->mset(h->store, sets, n, &err);
        l2_state(h, l2rc);
        if (l2rc == TC_ENOMEM || l2rc == TC_EFULL) {
            for (i = 0; i < n; i++) {
                tc__l1_del(h->l1, &hashes[i]);
            }
            rc = tc__fail(h, l2rc, "MSET: %s", err.msg);
            goto done;
        }
        if (l2rc != TC_OK) {
            l2_failed(h, nr, l2rc, "mset", &err);
        }
    }
    now = tc__now_ms();
    for (i = 0; i < n; i++) {
        int64_t l1ttl = min64(ttls[i], nr->def->l1_ttl_ms);
        int st = l2rc == TC_OK && sets ? sets[i].status : l2rc;

        if (!h->store) {
            st = TC_OK;
        }
        if (st == TC_EFULL || st == TC_ETOOBIG || st == TC_ENOMEM) {
            tc__l1_del(h->l1, &hashes[i]);
            items[i].status = st;
            continue;
        }
        if (st != TC_OK) {
            if (l2rc == TC_OK) {
                CNT(nr, l2_errors); /* one item failed, not the call */
            }
            CNT(nr, degraded);
            l1ttl = min64(l1ttl, h->cfg.degraded_ttl_ms);
        }
        if (tc__l1_set(h->l1, &hashes[i],
                       sets           ? sets[i].val
                       : items[i].val ? items[i].val
                                      : "",
                       items[i].len, now + l1ttl, now) != TC_OK) {
            tc__l1_del(h->l1, &hashes[i]);
            items[i].status = TC_ENOMEM;
            rc = tc__fail(h, TC_ENOMEM, "L1 set: out of memory");
            continue;
        }
        items[i].status = TC_OK;
        CNT(nr, sets);
    }
done:
    /* items the call never reached share its failure */
    for (i = 0; rc != TC_OK && i < n; i++) {
        if (items[i].status == TC_EINVAL) {
            items[i].status = rc;
        }
    }
    tc__free(sets);
    tc__free(keys);
    tc__free(hashes);
    tc__free(ttls);
    return rc;
}

/* ---- namespaces as a whole --------------------------------------------- */

TC_API int tc_cache_invalidate(tc_cache *h, const char *ns)
{
    char key[TC_KEY_MAX];
    int64_t gen, cur;
    tc__err err;
    nsrt *n;
    int rc;

    tc__clear(h);
    if ((rc = check_args(h, ns, "", 0, &n)) != TC_OK) {
        return rc;
    }
    if (h->store) {
        snprintf(key, sizeof(key), "tc:%s:gen", n->def->prefix);
        err.msg[0] = '\0';
        rc = h->store->ops->incr(h->store, key, &gen, &err);
        l2_state(h, rc);
        if (rc == TC_OK) {
            char g[24];
            const char *f[] = {"namespace", n->def->name, "generation", g,
                               NULL};

            snprintf(g, sizeof(g), "%lld", (long long)gen);
            tc__log(&h->log, TC_LOG_INFO, "cache_invalidate", f);
            atomic_store(&n->gen_seen_ms, tc__now_ms());
            cur = atomic_load(&n->gen);
            while (gen > cur &&
                   !atomic_compare_exchange_weak(&n->gen, &cur, gen)) {
            }
            return TC_OK;
        }
        l2_failed(h, n, rc, "invalidate", &err);
    }
    /*
     * No L2, or none reachable: a local bump still drops this process's
     * L1 entries at once. The L2's generation stays the truth, and the
     * next refresh replaces the local value with it.
     */
    atomic_fetch_add(&n->gen, 1);
    if (h->store) {
        /*
         * The L2 may come back without the generation key (a restarted
         * server), and the refresh would then bring the old generation
         * back: drop L1 itself so no old entry is served again.
         */
        tc__l1_clear(h->l1);
        return tc__fail(h, rc, "INCR %s: %s", key, err.msg);
    }
    return TC_OK;
}

TC_API int tc_cache_key(char *buf, size_t buflen, tc_cache *h, const char *ns,
                        const void *key, size_t keylen)
{
    tc__hash hk;
    nsrt *n;
    int rc;

    if (buf && buflen) {
        buf[0] = '\0';
    }
    tc__clear(h);
    if ((rc = check_args(h, ns, key, keylen, &n)) != TC_OK) {
        return rc;
    }
    if (!buf || buflen < TC_KEY_MAX) {
        return tc__fail(h, TC_EINVAL, "buffer shorter than TC_KEY_MAX");
    }
    tc__key_hash(&hk, n->def->prefix, ns_gen(h, n, tc__now_ms()), key, keylen);
    tc__key_format(buf, n->def->prefix, &hk);
    return TC_OK;
}

/* ---- health, stats, configuration -------------------------------------- */

TC_API int tc_cache_ping(tc_cache *h, int64_t *latency_us)
{
    int64_t t0;
    tc__err err;
    int rc = TC_OK;

    if (latency_us) {
        *latency_us = 0;
    }
    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    t0 = tc__now_us();
    if (h->store) {
        err.msg[0] = '\0';
        rc = h->store->ops->ping(h->store, &err);
        l2_state(h, rc);
    }
    if (latency_us) {
        *latency_us = tc__now_us() - t0;
    }
    if (rc != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    return TC_OK;
}

TC_API int tc_cache_stats(tc_ns_stats *out, tc_cache *h, const char *ns)
{
    nsrt *n;
    int rc;

    if (out) {
        memset(out, 0, sizeof(*out));
    }
    tc__clear(h);
    if ((rc = check_args(h, ns, "", 0, &n)) != TC_OK) {
        return rc;
    }
    if (!out) {
        return tc__fail(h, TC_EINVAL, "out is NULL");
    }
    out->l1_hits = cnt_sum(n, C_l1_hits);
    out->l2_hits = cnt_sum(n, C_l2_hits);
    out->misses = cnt_sum(n, C_misses);
    out->loads = cnt_sum(n, C_loads);
    out->sets = cnt_sum(n, C_sets);
    out->dels = cnt_sum(n, C_dels);
    out->l2_errors = cnt_sum(n, C_l2_errors);
    out->degraded = cnt_sum(n, C_degraded);
    return TC_OK;
}

/* Prints a cJSON tree; NULL with TC_ENOMEM when any part failed. */
static int render(char **out, tc_cache *h, cJSON *root)
{
    if (tc__oom_take() || !root) {
        cJSON_Delete(root);
        return tc__fail(h, TC_ENOMEM, "out of memory");
    }
    *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!*out) {
        return tc__fail(h, TC_ENOMEM, "out of memory");
    }
    return TC_OK;
}

TC_API int tc_cache_stats_json(char **out, tc_cache *h)
{
    cJSON *root, *nss, *o;
    tc__l1_stats l1;
    tc__store_health hl;
    size_t i;

    if (out) {
        *out = NULL;
    }
    tc__clear(h);
    if (!h || !out) {
        return h ? tc__fail(h, TC_EINVAL, "out is NULL") : TC_EINVAL;
    }
    tc__oom_take();
    root = cJSON_CreateObject();
    o = cJSON_AddObjectToObject(root, "l1");
    tc__l1_stats_get(h->l1, &l1);
    cJSON_AddNumberToObject(o, "bytes", (double)l1.bytes);
    cJSON_AddNumberToObject(o, "max_bytes", (double)h->cfg.l1_max_bytes);
    cJSON_AddNumberToObject(o, "entries", (double)l1.entries);
    cJSON_AddNumberToObject(o, "evictions", (double)l1.evictions);
    cJSON_AddNumberToObject(o, "expired", (double)l1.expired);
    o = cJSON_AddObjectToObject(root, "l2");
    cJSON_AddStringToObject(o, "kind", tc_cache_store_kind(h));
    cJSON_AddStringToObject(o, "store", h->cfg.url_masked);
    if (h->store) {
        memset(&hl, 0, sizeof(hl));
        h->store->ops->health(h->store, &hl);
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
    for (i = 0; i < h->nns; i++) {
        tc_ns_stats s;

        tc_cache_stats(&s, h, h->ns[i].def->name);
        o = cJSON_AddObjectToObject(nss, h->ns[i].def->name);
        cJSON_AddNumberToObject(o, "l1_hits", (double)s.l1_hits);
        cJSON_AddNumberToObject(o, "l2_hits", (double)s.l2_hits);
        cJSON_AddNumberToObject(o, "misses", (double)s.misses);
        cJSON_AddNumberToObject(o, "loads", (double)s.loads);
        cJSON_AddNumberToObject(o, "sets", (double)s.sets);
        cJSON_AddNumberToObject(o, "dels", (double)s.dels);
        cJSON_AddNumberToObject(o, "l2_errors", (double)s.l2_errors);
        cJSON_AddNumberToObject(o, "degraded", (double)s.degraded);
    }
    tc__clear(h);
    return render(out, h, root);
}

TC_API int tc_cache_config_json(char **out, tc_cache *h)
{
    cJSON *root, *nss, *o;
    size_t i;

    if (out) {
        *out = NULL;
    }
    tc__clear(h);
    if (!h || !out) {
        return h ? tc__fail(h, TC_EINVAL, "out is NULL") : TC_EINVAL;
    }
    tc__oom_take();
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", tc_version());
    cJSON_AddStringToObject(root, "store", h->cfg.url_masked);
    cJSON_AddStringToObject(root, "store_kind", tc_cache_store_kind(h));
    cJSON_AddStringToObject(root, "store_source", h->cfg.url_source);
    if (h->cfg.config_path) {
        cJSON_AddStringToObject(root, "config_file", h->cfg.config_path);
    } else {
        cJSON_AddNullToObject(root, "config_file");
    }
    if (h->cfg.model_path) {
        cJSON_AddStringToObject(root, "model", h->cfg.model_path);
    } else {
        cJSON_AddNullToObject(root, "model");
    }
    cJSON_AddNumberToObject(root, "feedback_retention",
                            (double)h->cfg.fb_retention_ms / 1000.0);
    if (h->cfg.spool_dir) {
        cJSON_AddStringToObject(root, "spool_dir", h->cfg.spool_dir);
    } else {
        cJSON_AddNullToObject(root, "spool_dir");
    }
    cJSON_AddBoolToObject(root, "enable_caching", h->cfg.enable_caching);
    cJSON_AddNumberToObject(root, "connect_timeout_ms",
                            h->cfg.connect_timeout_ms);
    cJSON_AddNumberToObject(root, "command_timeout_ms",
                            h->cfg.command_timeout_ms);
    cJSON_AddNumberToObject(root, "pool_size", h->cfg.pool_size);
    cJSON_AddNumberToObject(root, "l1_max_bytes", (double)h->cfg.l1_max_bytes);
    cJSON_AddNumberToObject(root, "lmdb_map_bytes",
                            (double)h->cfg.lmdb_map_bytes);
    cJSON_AddNumberToObject(root, "degraded_ttl_ms",
                            (double)h->cfg.degraded_ttl_ms);
    cJSON_AddNumberToObject(root, "generation_refresh_ms",
                            (double)h->cfg.gen_refresh_ms);
    nss = cJSON_AddObjectToObject(root, "namespaces");
    for (i = 0; i < h->nns; i++) {
        const tc__ns_def *d = h->ns[i].def;

        o = cJSON_AddObjectToObject(nss, d->name);
        cJSON_AddStringToObject(o, "prefix", d->prefix);
        cJSON_AddNumberToObject(o, "ttl", (double)d->ttl_ms / 1000.0);
        cJSON_AddNumberToObject(o, "l1_ttl", (double)d->l1_ttl_ms / 1000.0);
    }
    return render(out, h, root);
}

TC_API const char *tc_cache_store_kind(const tc_cache *h)
{
    if (!h || h->cfg.kind == TC__STORE_MEMORY) {
        return "memory";
    }
    return h->cfg.kind == TC__STORE_REDIS ? "redis" : "lmdb";
}

TC_API const char *tc_tier_name(tc_tier tier)
{
    switch (tier) {
    case TC_TIER_L1:
        return "l1";
    case TC_TIER_L2:
        return "l2";
    case TC_TIER_LOADER:
        return "loader";
    default:
        return "miss";
    }
}

TC_API const char *tc_cache_errmsg(const tc_cache *h)
{
    return tc__errmsg(h);
}

/* ---- lifecycle --------------------------------------------------------- */

static int open_store(tc_cache *h, tc__err *err)
{
    tc__store_config sc;
    const tc__config *c = &h->cfg;
    int rc;

    memset(&sc, 0, sizeof(sc));
    sc.host = c->host;
    sc.port = c->port;
    sc.unix_path = c->unix_path;
    sc.user = c->user;
    sc.password = c->password;
    sc.db = c->db;
    sc.connect_timeout_ms = c->connect_timeout_ms;
    sc.command_timeout_ms = c->command_timeout_ms;
    sc.pool_size = c->pool_size;
    sc.dir = c->dir;
    sc.map_bytes = c->lmdb_map_bytes;
    sc.log = &h->log;
    sc.url_masked = c->url_masked;
    if (c->kind == TC__STORE_LMDB) {
        return tc__store_lmdb_open(&h->store, &sc, err);
    }
    if (c->kind != TC__STORE_REDIS) {
        return TC_OK;
    }
    if ((rc = tc__store_redis_open(&h->store, &sc, err)) != TC_OK) {
        return rc;
    }
    /*
     * A server that is down is not an error (the handle degrades and
     * recovers by itself), but a wrong password is a configuration
     * mistake best reported now.
     */
    err->msg[0] = '\0';
    rc = h->store->ops->ping(h->store, err);
    if (rc == TC_EAUTH) {
        return rc;
    }
    /* any other failure was logged by the store */
    return TC_OK;
}

TC_API int tc_cache_open(tc_cache **out, const tc_options *opt, char *errbuf,
                         size_t errlen)
{
    tc_cache *h;
    tc__err err;
    size_t i;
    int rc;

    err.msg[0] = '\0';
    if (out) {
        *out = NULL;
    }
    if (errbuf && errlen) {
        errbuf[0] = '\0';
    }
    if (!out) {
        return TC_EINVAL;
    }
    if (!(h = tc__calloc(1, sizeof(*h)))) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto fail0;
    }
    if (pthread_mutex_init(&h->fl_mu, NULL) != 0) {
        tc__free(h);
        rc = tc__errf(&err, TC_ENOMEM, "pthread_mutex_init failed");
        goto fail0;
    }
    if (pthread_cond_init(&h->fl_cv, NULL) != 0) {
        pthread_mutex_destroy(&h->fl_mu);
        tc__free(h);
        rc = tc__errf(&err, TC_ENOMEM, "pthread_cond_init failed");
        goto fail0;
    }
    if (opt) {
        h->log.fn = opt->log_fn;
        h->log.userdata = opt->log_userdata;
        h->log.level = opt->log_level;
        h->log.log_texts = opt->log_texts;
    } else {
        h->log.level = TC_LOG_WARN;
    }
    h->log.interval_ms = 10000;
    if ((rc = tc__config_load(&h->cfg, opt, &err)) != TC_OK) {
        goto fail;
    }
    h->nns = h->cfg.nns;
    if (!(h->ns = tc__calloc(h->nns, sizeof(*h->ns)))) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < h->nns; i++) {
        nsrt *n = &h->ns[i];

        n->def = &h->cfg.ns[i];
        /* so that the first use reads the generation from L2 */
        atomic_store(&n->gen_seen_ms, INT64_MIN / 2);
        /* aligned by hand: the allocator hook has no aligned variant */
        n->st_mem = tc__calloc(1, STRIPES * sizeof(stripe) + 63);
        if (!n->st_mem) {
            rc = tc__errf(&err, TC_ENOMEM, "out of memory");
            goto fail;
        }
        n->st = (stripe *)(((uintptr_t)n->st_mem + 63) & ~(uintptr_t)63);
    }
    if (!(opt && (opt->flags & TC_OPT_NO_METRICS)) &&
        (rc = tc__metrics_new(&h->metrics)) != TC_OK) {
        tc__errf(&err, rc, "out of memory");
        goto fail;
    }
    if ((rc = tc__l1_new(&h->l1, h->cfg.l1_max_bytes, 0)) != TC_OK) {
        tc__errf(&err, rc, "L1: %s", tc_strerror(rc));
        goto fail;
    }
    if ((rc = open_store(h, &err)) != TC_OK) {
        goto fail;
    }
    *out = h;
    return TC_OK;
fail:
    tc_cache_close(h);
fail0:
    if (errbuf && errlen) {
        snprintf(errbuf, errlen, "%s", err.msg);
    }
    return rc;
}

TC_API void tc_cache_close(tc_cache *h)
{
    size_t i;

    if (!h) {
        return;
    }
    if (h->store) {
        h->store->ops->close(h->store);
    }
    tc__l1_free(h->l1);
    tc__metrics_free(h->metrics);
    for (i = 0; h->ns && i < h->nns; i++) {
        tc__free(h->ns[i].st_mem);
    }
    tc__free(h->ns);
    tc__config_free(&h->cfg);
    pthread_cond_destroy(&h->fl_cv);
    pthread_mutex_destroy(&h->fl_mu);
    tc__free(h);
}

void tc__store_get_release(tc__store_get *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        tc__free(items[i].val);
        items[i].val = NULL;
    }
}
