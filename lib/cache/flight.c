/*
 * flight.c - single-flight loads (tc_cache_get_or_load): on a miss, one
 * caller per key per process runs the loader and stores its value; the
 * others that miss on the same key meanwhile wait for that value rather
 * than run the loader again.
 */
#include <string.h>

#include "base/deadline.h"
#include "cache/tiers.h"

static void flight_release(tc__flight *f)
{
    /* called with fl_mu held */
    if (--f->refs == 0) {
        tc__free(f->val);
        tc__free(f);
    }
}

/* The leader's part: load, store, publish. */
static int lead(tc__cache *h, tc__nsrt *ns, const tc__hash *hk, tc__flight *f,
                const void *key, size_t keylen, tc_loader_fn loader, void *ud)
{
    void *v = NULL;
    size_t len = 0;
    int64_t ttl = TC_TTL_DEFAULT;
    int rc, lrc;

    CNT(ns, loads);
    lrc = loader(&v, &len, &ttl, ns->def->name, key, keylen, ud);
    if (lrc != TC_OK) {
        rc = tc__fail(TC_ELOADER, "loader for %s returned %d (%s)",
                      ns->def->name, lrc, tc__error_name(lrc));
    } else if (!v && len) {
        rc = tc__fail(TC_ELOADER, "loader returned NULL with length %zu", len);
    } else if (ttl < 0) {
        rc = tc__fail(TC_ELOADER, "loader returned a negative TTL");
    } else if (len > TC__MAX_VALUE_BYTES) {
        rc = tc__fail(TC_ETOOBIG, "loader value of %zu bytes", len);
    } else if (!h->cfg.enable_caching) {
        rc = TC_OK; /* caching is off: the value is the caller's alone */
    } else {
        int outer = tc__deadline_enter();

        rc = tc__cache_store_one(h, ns, hk, v ? v : "", len,
                                 ttl ? ttl : ns->def->ttl_ms);
        tc__deadline_leave(outer);
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

int tc__cache_get_or_load(void **val, size_t *len, tc_tier *tier, tc__cache *h,
                          const char *ns, const void *key, size_t keylen,
                          tc_loader_fn loader, void *ud)
{
    tc_tier t = TC_TIER_NONE;
    int64_t now;
    tc__flight *f;
    tc__nsrt *n;
    tc__hash hk;
    int rc, leader = 0, outer;

    if ((rc = tc__cache_ns(h, ns, &n)) != TC_OK) {
        return rc;
    }
    now = tc__now_ms();
    if (h->cfg.enable_caching) {
        /* the lookup has one deadline; the loader's time is not in it,
         * and the store after it has one of its own (lead) */
        outer = tc__deadline_enter();
        rc = tc__cache_find(h, n, key, keylen, &hk, (char **)val, len, &t, 0,
                            now);
        tc__deadline_leave(outer);
        if (rc != TC_MISS) {
            if (tier) {
                *tier = t;
            }
            return rc;
        }
    } else {
        /* the flight's key only: no store is asked */
        tc__key_hash(&hk, n->def->prefix, (uint64_t)atomic_load(&n->gen), key,
                     keylen, n->ksec);
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
            return tc__fail(TC_ENOMEM, "out of memory");
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
        /* A tc__flight that ended between our miss and now left its value in
         * L1: take it rather than load a second time. */
        if (h->cfg.enable_caching &&
            tc__l1_get(h->l1, &hk, now, tc__cache_l1_floor(h, now),
                       (char **)val, len, &left) == TC_OK) {
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
        /* unlink: later misses start a new tc__flight */
        tc__flight **pp = &h->flights;

        while (*pp != f) {
            pp = &(*pp)->next;
        }
        *pp = f->next;
        if (rc == TC_OK && t == TC_TIER_LOADER) {
            *val = tc__memdup0(f->val, f->len);
            *len = f->len;
            if (!*val) {
                rc = tc__fail(TC_ENOMEM, "out of memory");
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
            tc__fail(rc, "the load this call waited for failed: %s",
                     tc__strerror(rc));
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
