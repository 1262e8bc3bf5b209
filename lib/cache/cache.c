/*
 * cache.c - the tiered cache: namespaces, L1 then L2, TTLs, degraded mode
 * and counters; single-flight loads are in flight.c, batches in batch.c,
 * opening and closing in open.c.
 * The L2 is reached only through the store.h table, and any failure of it
 * turns into an L1 answer or a miss: a cache must never be the reason a
 * caller fails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/deadline.h"
#include "cache/nshash.h"
#include "cache/tiers.h"

/*
 * A debug line for one cache call: the namespace, the L2 key (a hash, so
 * no caller data leaks into logs), the tier or outcome, and the latency.
 */
static void log_op(tc__cache *h, const tc__nsrt *ns, const tc__hash *hk,
                   const char *event, const char *tier, int rc,
                   int64_t latency_us)
{
    char key[TC_KEY_MAX], lat[24];
    const char *f[] = {
        "namespace", ns->def->name,      "key",         key, "tier", tier,
        "result",    tc__error_name(rc), "#latency_us", lat, NULL};

    tc__key_format(key, ns->def->prefix, hk);
    snprintf(lat, sizeof(lat), "%lld", (long long)latency_us);
    tc__log(&h->log, TC_LOG_DEBUG, event, f);
}

/*
 * Whether the L2 answers. A whole call that fails for want of the server
 * marks it down; any call that succeeds marks it up. The flag is read
 * before it is written, so the hot path does not bounce its cache line.
 */
void tc__cache_l2_state(tc__cache *h, int rc)
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

int tc__cache_health(tc__cache *h, tc__l1_stats *l1, tc__store_health *hl)
{
    tc__l1_stats_get(h->l1, l1);
    memset(hl, 0, sizeof(*hl));
    if (!h->store) {
        return 0;
    }
    h->store->ops->health(h->store, hl);
    return 1;
}

tc__store *tc__cache_store(tc__cache *h)
{
    return h->l2raw;
}

const tc__keyring *tc__cache_keys(const tc__cache *h)
{
    return h->keys;
}

uint64_t tc__cache_seal_failures(tc__cache *h, int kind)
{
    return atomic_load_explicit(&h->seal_failures[kind], memory_order_relaxed);
}

void tc__cache_seal_failed(tc__cache *h, int kind)
{
    atomic_fetch_add_explicit(&h->seal_failures[kind], 1, memory_order_relaxed);
}

const tc__config *tc__cache_config(const tc__cache *h)
{
    return &h->cfg;
}

const tc__logger *tc__cache_logger(const tc__cache *h)
{
    return &h->log;
}

const char *tc__cache_store_kind(const tc__cache *h)
{
    return h->store ? h->store->ops->kind : "memory";
}

const char *tc__tier_name(tc_tier tier)
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

const char *const tc__write_reasons[TC__WRITE_NREASONS] = {"oom", "too_big",
                                                           "unavailable"};

uint64_t tc__cache_write_errors(const tc__cache *h, int reason)
{
    return tc__counters_sum(&h->wr, (size_t)reason);
}

void tc__cache_write_failed(tc__cache *h, tc__nsrt *ns, int rc, const char *op,
                            const tc__err *err)
{
    int reason = rc == TC_EFULL     ? TC__WRITE_FULL
                 : rc == TC_ETOOBIG ? TC__WRITE_TOOBIG
                                    : TC__WRITE_UNAVAIL;

    tc__counters_add(&h->wr, (size_t)reason, 1);
    tc__cache_l2_failed(h, ns, rc, op, err);
}

void tc__cache_l2_failed(tc__cache *h, tc__nsrt *ns, int rc, const char *op,
                         const tc__err *err)
{
    const char *fields[] = {"namespace", ns->def->name,
                            "op",        op,
                            "store",     h->cfg.store.url_masked,
                            "error",     tc__error_name(rc),
                            "detail",    err->msg,
                            NULL};

    CNT(ns, l2_errors);
    tc__log_limited(&h->log, &h->rl_l2, TC_LOG_WARN, "l2_error", fields);
}

/*
 * A store's failure as the caller sees it. The store's message names the
 * command and key already ("DEL tc:x:...: timed out after 250 ms"), so it
 * goes on as it is: adding them again doubled them. Only a failure that
 * came without a message gets them here.
 */
static int store_fail(int rc, const char *cmd, const char *key,
                      const tc__err *err)
{
    if (err->msg[0]) {
        return tc__fail(rc, "%s", err->msg);
    }
    return tc__fail(rc, "%s %s: %s", cmd, key, tc__strerror(rc));
}

/*
 * Whether this call is the one to re-read the namespace's generation from
 * L2: at most once per gen_refresh_ms, by one thread (the others use the
 * value they have), so an invalidation made by another process is seen
 * within that interval.
 */
static int gen_claim(tc__cache *h, tc__nsrt *ns, int64_t now)
{
    int64_t seen;

    if (!h->store) {
        return 0;
    }
    seen = atomic_load_explicit(&ns->gen_seen_ms, memory_order_relaxed);
    return now - seen >= h->cfg.gen_refresh_ms &&
           atomic_compare_exchange_strong(&ns->gen_seen_ms, &seen, now);
}

/* The L2 key of a namespace's generation ("tc:intent:gen"). */
static void gen_key(char *key, const tc__nsrt *ns)
{
    snprintf(key, TC_KEY_MAX, "tc:%s:gen", ns->def->prefix);
}

/*
 * Takes the generation an L2 read brought (rc: the read's, it: the
 * generation's item; a missing key is generation 0); on a failed read
 * the value in hand stays. Returns whether it moved from was.
 */
static int gen_take(tc__cache *h, tc__nsrt *ns, int rc, const tc__store_get *it,
                    uint64_t was)
{
    int64_t before = atomic_load(&ns->gen);

    if (rc == TC_OK && it->status == TC_OK) {
        char *end;
        unsigned long long g = strtoull(it->val, &end, 10);

        if (*end == '\0' && end != it->val) {
            atomic_store(&ns->gen, (int64_t)g);
        }
    } else if (rc == TC_OK && it->status == TC_MISS) {
        atomic_store(&ns->gen, 0);
    }
    if (atomic_load(&ns->gen) != before) {
        /* every absence L1 remembers in ns is another key's now */
        tc__l1_absence_bump(h->l1);
    }
    return (uint64_t)atomic_load(&ns->gen) != was;
}

/* A generation read that an invalidation of the generation key overlapped
 * (heard by track.c) may have read the old one: the next call reads again. */
static void gen_recheck(tc__nsrt *ns, uint64_t inval)
{
    if (atomic_load(&ns->gen_inval) != inval) {
        atomic_store(&ns->gen_seen_ms, INT64_MIN / 2);
    }
}

uint64_t tc__cache_gen(tc__cache *h, tc__nsrt *ns, int64_t now)
{
    uint64_t was = (uint64_t)atomic_load(&ns->gen);
    char key[TC_KEY_MAX];
    tc__store_get it;
    uint64_t inval;
    tc__err err;
    int rc;

    if (!gen_claim(h, ns, now)) {
        return was;
    }
    gen_key(key, ns);
    memset(&it, 0, sizeof(it));
    it.key = key;
    err.msg[0] = '\0';
    inval = atomic_load(&ns->gen_inval);
    rc = h->store->ops->mget(h->store, &it, 1, &err);
    gen_take(h, ns, rc, &it, was);
    tc__free(it.val);
    gen_recheck(ns, inval);
    return (uint64_t)atomic_load(&ns->gen);
}

/* tc__cache_gen within a deadline of its own, for a call whose only
 * round trip it may be. */
static uint64_t gen_within(tc__cache *h, tc__nsrt *ns, int64_t now)
{
    int outer = tc__deadline_enter();
    uint64_t gen = tc__cache_gen(h, ns, now);

    tc__deadline_leave(outer);
    return gen;
}

/* What lookup returns when the generation it read with the key
 * is not the one the key was hashed with: hash again and look again. */
#define GEN_MOVED 3

/*
 * L1 then L2 for the hashed key; an L2 answer fills L1 with the L2
 * entry's TTL left. neg: an L2 miss is remembered in L1. With gen (the
 * generation hk was hashed with) non-NULL, the namespace's generation is
 * due and read in the same round trip as the key (alone on an L1 hit):
 * one round trip, not two; GEN_MOVED when it is not *gen.
 */
static int lookup(tc__cache *h, tc__nsrt *ns, const tc__hash *hk, char **val,
                  size_t *len, tc_tier *tier, int neg, int64_t now,
                  const uint64_t *gen)
{
    int64_t left;
    char key[TC_KEY_MAX], gkey[TC_KEY_MAX];
    tc__store_get its[2], *it = &its[gen ? 1 : 0];
    uint64_t seq, inval;
    tc__err err;
    int rc, l1;

    rc =
        tc__l1_get(h->l1, hk, now, tc__cache_l1_floor(h, now), val, len, &left);
    if (rc == TC_OK && !gen) {
        CNT(ns, l1_hits);
        *tier = TC_TIER_L1;
        return TC_OK;
    }
    if (rc == TC__L1_NEGATIVE && neg && !gen) {
        CNT(ns, misses); /* known absent: no L2 round trip */
        return TC_MISS;
    }
    if (rc != TC_OK && rc != TC_MISS && rc != TC__L1_NEGATIVE) {
        return tc__fail(rc, "L1 lookup: %s", tc__strerror(rc));
    }
    l1 = rc;
    if (h->store) {
        /* with gen, L1 may have answered: the generation alone then */
        int answered = l1 == TC_OK || (l1 == TC__L1_NEGATIVE && neg);

        tc__key_format(key, ns->def->prefix, hk);
        memset(its, 0, sizeof(its));
        its[0].key = gkey;
        it->key = key;
        if (gen) {
            gen_key(gkey, ns);
        }
        err.msg[0] = '\0';
        seq = tc__l1_seq(h->l1, hk); /* an invalidation meanwhile wins */
        inval = atomic_load(&ns->gen_inval);
        /* the generation first; the key unless L1 answered it */
        rc = h->store->ops->mget(h->store, its, gen ? (answered ? 1 : 2) : 1,
                                 &err);
        tc__cache_l2_state(h, rc);
        if (gen) {
            gen_recheck(ns, inval);
        }
        if (gen && gen_take(h, ns, rc, &its[0], *gen)) {
            tc__free(its[0].val);
            tc__free(it->val);
            if (l1 == TC_OK) {
                tc__free(*val);
                *val = NULL;
                *len = 0;
            }
            return GEN_MOVED;
        }
        if (gen) {
            tc__free(its[0].val);
        }
        if (answered) {
            if (l1 == TC_OK) {
                CNT(ns, l1_hits);
                *tier = TC_TIER_L1;
                return TC_OK;
            }
            CNT(ns, misses);
            return TC_MISS;
        }
        if (rc == TC_OK && it->status == TC_OK) {
            left = it->ttl_ms > 0 ? tc__min64(it->ttl_ms, ns->def->l1_ttl_ms)
                                  : ns->def->l1_ttl_ms;
            rc = tc__l1_fill(h->l1, hk, it->val, it->len, now + left, now, seq,
                             0);
            if (rc == TC__L1_RACED) {
                /* kept only once the L2 is read again: track.c */
                tc__cache_keep_checked(h, ns, hk, it->val, it->len, now + left,
                                       now);
                rc = TC_OK;
            }
            if (rc != TC_OK) {
                tc__free(it->val);
                return tc__fail(rc, "L1 fill: %s", tc__strerror(rc));
            }
            CNT(ns, l2_hits);
            *val = it->val;
            *len = it->len;
            *tier = TC_TIER_L2;
            return TC_OK;
        }
        tc__free(it->val);
        if (rc == TC_ENOMEM || it->status == TC_ENOMEM) {
            return tc__fail(TC_ENOMEM, "GET %s: out of memory", key);
        }
        if (rc != TC_OK || it->status != TC_MISS) {
            tc__cache_l2_failed(h, ns, rc != TC_OK ? rc : it->status, "get",
                                &err);
            CNT(ns, degraded);
        } else if (neg) {
            tc__l1_fill(h->l1, hk, NULL, 0, now + ns->def->l1_ttl_ms, now, seq,
                        1);
        }
    }
    CNT(ns, misses);
    return TC_MISS;
}

int tc__cache_find(tc__cache *h, tc__nsrt *ns, const void *key, size_t keylen,
                   tc__hash *hk, char **val, size_t *len, tc_tier *tier,
                   int neg, int64_t now)
{
    int due = gen_claim(h, ns, now);
    uint64_t gen = (uint64_t)atomic_load(&ns->gen);
    int rc;

    tc__ns_hash(hk, ns, gen, key, keylen);
    rc = lookup(h, ns, hk, val, len, tier, neg, now, due ? &gen : NULL);
    if (rc == GEN_MOVED) {
        /* invalidated since this process last looked: the key again,
         * within the same deadline */
        gen = (uint64_t)atomic_load(&ns->gen);
        tc__ns_hash(hk, ns, gen, key, keylen);
        rc = lookup(h, ns, hk, val, len, tier, neg, now, NULL);
    }
    return rc;
}

int tc__cache_get(void **val, size_t *len, tc_tier *tier, tc__cache *h,
                  const char *ns, const void *key, size_t keylen, int neg,
                  int64_t now)
{
    tc__nsrt *n;
    int rc;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    return tc__cache_get_ns(val, len, tier, h, n, key, keylen, neg, now);
}

int tc__cache_get_ns(void **val, size_t *len, tc_tier *tier, tc__cache *h,
                     tc__nsrt *n, const void *key, size_t keylen, int neg,
                     int64_t now)
{
    tc_tier t = TC_TIER_NONE;
    tc__hash hk;
    int rc, outer;

    if (!h->cfg.enable_caching) {
        CNT(n, misses);
        return TC_MISS;
    }
    outer = tc__deadline_enter();
    if (tc__log_on(&h->log, TC_LOG_DEBUG)) {
        int64_t t0 = tc__now_us();

        rc = tc__cache_find(h, n, key, keylen, &hk, (char **)val, len, &t, neg,
                            now);
        log_op(h, n, &hk, "cache_get", tc__tier_name(t), rc, tc__now_us() - t0);
    } else {
        rc = tc__cache_find(h, n, key, keylen, &hk, (char **)val, len, &t, neg,
                            now);
    }
    tc__deadline_leave(outer);
    if (tier) {
        *tier = t;
    }
    return rc;
}

void tc__cache_l1_before(tc__cache *h, tc__cache_l1w *w, const char *ns,
                         const void *key, size_t keylen, const void *val,
                         size_t len)
{
    tc__nsrt *n;

    memset(w, 0, sizeof(*w));
    if (tc__cache_ns(h, ns, &n) != TC_OK || !h->cfg.enable_caching) {
        return;
    }
    w->now = tc__now_ms();
    w->exp = w->now + tc__min64(n->def->ttl_ms, n->def->l1_ttl_ms);
    tc__key_hash(&w->hk, n->def->prefix, gen_within(h, n, w->now), key, keylen,
                 n->ksec);
    w->seq = tc__l1_seq(h->l1, &w->hk);
    if (tc__l1_set(h->l1, &w->hk, val, len, w->exp, w->now) == TC_OK) {
        w->ns = n;
        tc__cache_l1_arrived(h, n);
    } else {
        tc__l1_del(h->l1, &w->hk);
    }
}

void tc__cache_l1_after(tc__cache *h, tc__cache_l1w *w, const void *val,
                        size_t len, int how)
{
    if (!w->ns) {
        return;
    }
    if (how == TC__L1W_WROTE) {
        tc__cache_wrote(h, w->ns, &w->hk, val, len, w->exp, w->now, w->seq);
    } else if (how == TC__L1W_KEEP) {
        /* not in the L2, so nothing invalidates it: as it was stored */
        tc__l1_set(h->l1, &w->hk, val, len, w->exp, w->now);
        tc__cache_l1_arrived(h, w->ns);
    } else {
        tc__l1_del(h->l1, &w->hk);
    }
    w->ns = NULL;
}

int tc__cache_store_one(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                        const void *val, size_t len, int64_t ttl)
{
    return tc__cache_store_split(h, ns, hk, val, len, len, ttl);
}

int tc__cache_store_split(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                          const void *val, size_t len, size_t l1len,
                          int64_t ttl)
{
    int64_t now = tc__now_ms(), l1ttl = tc__min64(ttl, ns->def->l1_ttl_ms);
    char key[TC_KEY_MAX];
    tc__store_set it;
    uint64_t seq = tc__l1_seq(h->l1, hk);
    tc__err err;
    int rc, l1rc;

    /* L1 before L2: the invalidation of this write then comes after the
     * value is in L1, and checks it (track.c) */
    l1rc = tc__l1_set(h->l1, hk, val, l1len, now + l1ttl, now);
    tc__cache_l1_arrived(h, ns);
    if (h->store) {
        tc__key_format(key, ns->def->prefix, hk);
        memset(&it, 0, sizeof(it));
        it.key = key;
        it.val = val;
        it.len = len;
        it.ttl_ms = ttl;
        err.msg[0] = '\0';
        rc = h->store->ops->mset(h->store, &it, 1, &err);
        tc__cache_l2_state(h, rc);
        if (rc == TC_OK) {
            rc = it.status;
        }
        if (rc == TC_ENOMEM) {
            /* ours, not the store's: no stale L1 copy either */
            tc__l1_del(h->l1, hk);
            return tc__fail(rc, "SET %s: out of memory", key);
        }
        if (rc == TC_OK && l1rc == TC_OK) {
            tc__cache_wrote(h, ns, hk, val, l1len, now + l1ttl, now, seq);
        } else if (rc != TC_OK) {
            /* the store's failure (down, full, refusing the size): a
             * cache write never fails the caller for it */
            tc__cache_write_failed(h, ns, rc, "set", &err);
            CNT(ns, degraded);
            /* Not in L2, so no other process sees it and nothing can
             * invalidate it: keep it only briefly. */
            if (l1rc == TC_OK) {
                l1rc = tc__l1_set(
                    h->l1, hk, val, l1len,
                    now + tc__min64(l1ttl, h->cfg.degraded_ttl_ms), now);
            }
        }
    }
    if (l1rc != TC_OK) {
        tc__l1_del(h->l1, hk);
        return tc__fail(l1rc, "L1 set: %s", tc__strerror(l1rc));
    }
    CNT(ns, sets);
    return TC_OK;
}

int tc__cache_set(tc__cache *h, const char *ns, const void *key, size_t keylen,
                  const void *val, size_t len, int64_t ttl_ms)
{
    tc__hash hk;
    tc__nsrt *n;
    int rc, outer;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    if (ttl_ms < 0) {
        return tc__fail(TC_EINVAL, "ttl: %" PRId64 " ms is negative", ttl_ms);
    }
    if (!val && len) {
        return tc__fail(TC_EINVAL, "value is NULL with length %zu", len);
    }
    if (len > TC__MAX_VALUE_BYTES) {
        return tc__fail(TC_ETOOBIG, "value of %zu bytes (at most %zu)", len,
                        TC__MAX_VALUE_BYTES);
    }
    if (!h->cfg.enable_caching) {
        return TC_OK;
    }
    if (ttl_ms == 0) {
        ttl_ms = n->def->ttl_ms;
    }
    /* the generation and the write share one deadline */
    outer = tc__deadline_enter();
    tc__key_hash(&hk, n->def->prefix, tc__cache_gen(h, n, tc__now_ms()), key,
                 keylen, n->ksec);
    if (tc__log_on(&h->log, TC_LOG_DEBUG)) {
        int64_t t0 = tc__now_us();

        rc = tc__cache_store_one(h, n, &hk, val ? val : "", len, ttl_ms);
        log_op(h, n, &hk, "cache_set", "l2", rc, tc__now_us() - t0);
    } else {
        rc = tc__cache_store_one(h, n, &hk, val ? val : "", len, ttl_ms);
    }
    tc__deadline_leave(outer);
    return rc;
}

int tc__cache_del(tc__cache *h, const char *ns, const void *key, size_t keylen)
{
    char k[TC_KEY_MAX];
    tc__hash hk;
    tc__err err;
    tc__nsrt *n;
    int rc, rc1, outer;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    if (!h->cfg.enable_caching) {
        return TC_MISS;
    }
    outer = tc__deadline_enter();
    tc__key_hash(&hk, n->def->prefix, tc__cache_gen(h, n, tc__now_ms()), key,
                 keylen, n->ksec);
    rc1 = tc__l1_del(h->l1, &hk);
    CNT(n, dels);
    if (!h->store) {
        tc__deadline_leave(outer);
        return rc1;
    }
    tc__key_format(k, n->def->prefix, &hk);
    err.msg[0] = '\0';
    rc = h->store->ops->del(h->store, k, &err);
    tc__deadline_leave(outer);
    tc__cache_l2_state(h, rc);
    if (rc < 0) {
        tc__cache_l2_failed(h, n, rc, "del", &err);
        return store_fail(rc, "DEL", k, &err);
    }
    /* an L1 copy removed counts as something removed */
    return rc == TC_MISS && rc1 == TC_OK ? TC_OK : rc;
}

/* ---- namespaces as a whole --------------------------------------------- */

int tc__cache_invalidate(tc__cache *h, const char *ns)
{
    char key[TC_KEY_MAX];
    int64_t gen, cur;
    tc__err err;
    tc__nsrt *n;
    int rc, outer;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    if (h->store) {
        snprintf(key, sizeof(key), "tc:%s:gen", n->def->prefix);
        err.msg[0] = '\0';
        outer = tc__deadline_enter();
        rc = h->store->ops->incr(h->store, key, &gen, &err);
        tc__deadline_leave(outer);
        tc__cache_l2_state(h, rc);
        if (rc == TC_OK) {
            char g[24];
            const char *f[] = {"namespace", n->def->name, "#generation", g,
                               NULL};

            snprintf(g, sizeof(g), "%lld", (long long)gen);
            tc__log(&h->log, TC_LOG_INFO, "cache_invalidate", f);
            atomic_store(&n->gen_seen_ms, tc__now_ms());
            cur = atomic_load(&n->gen);
            while (gen > cur &&
                   !atomic_compare_exchange_weak(&n->gen, &cur, gen)) {
            }
            tc__l1_absence_bump(h->l1);
            return TC_OK;
        }
        tc__cache_l2_failed(h, n, rc, "invalidate", &err);
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
        return store_fail(rc, "INCR", key, &err);
    }
    return TC_OK;
}

int tc__cache_key(char *buf, tc__cache *h, const char *ns, const void *key,
                  size_t keylen)
{
    tc__hash hk;
    tc__nsrt *n;
    int rc;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    tc__key_hash(&hk, n->def->prefix, gen_within(h, n, tc__now_ms()), key,
                 keylen, n->ksec);
    tc__key_format(buf, n->def->prefix, &hk);
    return TC_OK;
}

/* ---- health and counters ------------------------------------------------ */

int tc__cache_ping(tc__cache *h, int64_t *latency_us)
{
    int64_t t0 = tc__now_us();
    tc__err err;
    int rc = TC_OK;

    if (h->store) {
        int outer = tc__deadline_enter();

        err.msg[0] = '\0';
        rc = h->store->ops->ping(h->store, &err);
        tc__deadline_leave(outer);
        tc__cache_l2_state(h, rc);
    }
    if (latency_us) {
        *latency_us = tc__now_us() - t0;
    }
    return rc == TC_OK ? TC_OK : tc__fail(rc, "%s", err.msg);
}

int tc__cache_stats(tc_ns_stats *out, tc__cache *h, const char *ns)
{
    tc__nsrt *n;
    int rc;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    out->l1_hits = tc__counters_sum(&n->cnt, C_l1_hits);
    out->l2_hits = tc__counters_sum(&n->cnt, C_l2_hits);
    out->misses = tc__counters_sum(&n->cnt, C_misses);
    out->loads = tc__counters_sum(&n->cnt, C_loads);
    out->sets = tc__counters_sum(&n->cnt, C_sets);
    out->dels = tc__counters_sum(&n->cnt, C_dels);
    out->l2_errors = tc__counters_sum(&n->cnt, C_l2_errors);
    out->degraded = tc__counters_sum(&n->cnt, C_degraded);
    return TC_OK;
}
