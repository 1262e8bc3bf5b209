/*
 * batch.c - many keys of one namespace in one call (tc_cache_mget,
 * tc_cache_mset, and classify's batch of computed answers): L1 first,
 * then the rest in one store round trip (one Redis pipeline, one LMDB
 * transaction).
 */
#include <string.h>

#include "base/deadline.h"
#include "cache/tiers.h"

static int mget_in(tc__cache *h, const char *ns, tc_item *items, size_t n,
                   int neg)
{
    tc__store_get *gets = NULL;
    tc__hash *hashes = NULL;
    char(*keys)[TC_KEY_MAX] = NULL;
    size_t *idx = NULL, nmiss = 0, i;
    uint64_t gen, *seqs = NULL; /* of the keys read from L2 (l1.h) */
    int64_t now;
    int l1;
    tc__nsrt *nr;
    tc__err err;
    int rc;

    /* out-fields first, so that no failure below leaves a stale val */
    for (i = 0; items && i < n; i++) {
        items[i].val = NULL;
        items[i].len = 0;
        items[i].tier = TC_TIER_NONE;
        items[i].status = TC_MISS;
    }
    if ((rc = tc__cache_ns(h, ns, &nr)) != TC_OK) {
        return rc;
    }
    if (!items && n) {
        return tc__fail(TC_EINVAL, "items is NULL with n %zu", n);
    }
    for (i = 0; i < n; i++) {
        if (!items[i].key && items[i].keylen) {
            return tc__fail(TC_EINVAL, "items[%zu].key is NULL", i);
        }
    }
    if (!h->cfg.enable_caching || n == 0) {
        return TC_OK;
    }
    hashes = tc__calloc(n, sizeof(*hashes));
    idx = tc__calloc(n, sizeof(*idx));
    if (!hashes || !idx) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    now = tc__now_ms();
    gen = tc__cache_gen(h, nr, now);
    /* an L1 turned off (l1_max_bytes too small for any entry) holds
     * nothing: neither read nor filled, each key goes to the L2 */
    l1 = !tc__l1_stores_nothing(h->l1);
    for (i = 0; i < n; i++) {
        int64_t left;

        tc__key_hash(&hashes[i], nr->def->prefix, gen, items[i].key,
                     items[i].keylen, nr->ksec);
        rc =
            !l1 ? TC_MISS
                : tc__l1_get(h->l1, &hashes[i], now, tc__cache_l1_floor(h, now),
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
            rc = tc__fail(rc, "L1 lookup: %s", tc__strerror(rc));
            goto done;
        }
    }
    rc = TC_OK;
    if (nmiss && h->store) {
        gets = tc__calloc(nmiss, sizeof(*gets));
        keys = tc__calloc(nmiss, sizeof(*keys));
        seqs = tc__calloc(nmiss, sizeof(*seqs));
        if (!gets || !keys || !seqs) {
            rc = tc__fail(TC_ENOMEM, "out of memory");
            goto done;
        }
        for (i = 0; i < nmiss; i++) {
            tc__key_format(keys[i], nr->def->prefix, &hashes[idx[i]]);
            gets[i].key = keys[i];
            seqs[i] = l1 ? tc__l1_seq(h->l1, &hashes[idx[i]]) : 0;
        }
        err.msg[0] = '\0';
        rc = h->store->ops->mget(h->store, gets, nmiss, &err);
        tc__cache_l2_state(h, rc);
        if (rc == TC_ENOMEM) {
            rc = tc__fail(rc, "MGET: out of memory");
            goto done;
        }
        if (rc != TC_OK) {
            tc__cache_l2_failed(h, nr, rc, "mget", &err);
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
                                   ? tc__min64(g->ttl_ms, nr->def->l1_ttl_ms)
                                   : nr->def->l1_ttl_ms;

                rc = !l1 ? TC_OK
                         : tc__l1_fill(h->l1, &hashes[idx[i]], g->val, g->len,
                                       now + left, now, seqs[i], 0);
                if (rc == TC__L1_RACED) {
                    /* kept only once the L2 is read again: track.c */
                    tc__cache_keep_checked(h, nr, &hashes[idx[i]], g->val,
                                           g->len, now + left, now);
                } else if (rc != TC_OK) {
                    rc = tc__fail(TC_ENOMEM, "L1 fill: out of memory");
                    goto done;
                }
                rc = TC_OK;
                it->val = g->val;
                it->len = g->len;
                g->val = NULL;
                it->status = TC_OK;
                it->tier = TC_TIER_L2;
                CNT(nr, l2_hits);
            } else {
                if (g->status != TC_MISS) {
                    tc__cache_l2_failed(h, nr, g->status, "mget", &err);
                    CNT(nr, degraded);
                } else if (neg && l1) {
                    tc__l1_fill(h->l1, &hashes[idx[i]], NULL, 0,
                                now + nr->def->l1_ttl_ms, now, seqs[i], 1);
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
    tc__free(seqs);
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

/* The bytes of item i that L1 keeps: l1lens[i], or all of them. */
#define L1LEN(i) (l1lens ? l1lens[i] : items[i].len)

/*
 * The items of namespace nr, each value's first len bytes to the L2 and
 * L1LEN of them to L1 (l1lens NULL: all len). The L2 writes share one
 * call of the store, so a failure of the store is one L2 error and one
 * write error, and a degraded write for each item.
 */
static int mset_in(tc__cache *h, tc__nsrt *nr, tc_item *items,
                   const size_t *l1lens, size_t n)
{
    tc__store_set *sets = NULL;
    tc__hash *hashes = NULL;
    char(*keys)[TC_KEY_MAX] = NULL;
    int64_t *ttls = NULL, now;
    int *l1rc = NULL; /* of each item's L1 store, made before the L2's */
    uint64_t gen, *seqs = NULL; /* read before those stores (l1.h) */
    size_t i;
    tc__err err;
    int rc = TC_OK, l2rc = TC_OK;

    if (!items && n) {
        return tc__fail(TC_EINVAL, "items is NULL with n %zu", n);
    }
    for (i = 0; i < n; i++) {
        items[i].status = TC_EINVAL;
        if ((!items[i].key && items[i].keylen) || (!items[i].val && L1LEN(i)) ||
            items[i].ttl_ms < 0) {
            return tc__fail(
                TC_EINVAL, "items[%zu]: NULL key or value, or negative TTL", i);
        }
        if (L1LEN(i) > TC__MAX_VALUE_BYTES || items[i].len > L1LEN(i)) {
            return tc__fail(TC_ETOOBIG, "items[%zu]: %zu bytes", i, L1LEN(i));
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
    l1rc = tc__calloc(n, sizeof(*l1rc));
    seqs = tc__calloc(n, sizeof(*seqs));
    if (h->store) {
        sets = tc__calloc(n, sizeof(*sets));
        keys = tc__calloc(n, sizeof(*keys));
    }
    if (!hashes || !ttls || !l1rc || !seqs || (h->store && (!sets || !keys))) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    now = tc__now_ms();
    gen = tc__cache_gen(h, nr, now);
    /* L1 before L2, as tc__cache_store_split does (track.c) */
    for (i = 0; i < n; i++) {
        tc__key_hash(&hashes[i], nr->def->prefix, gen, items[i].key,
                     items[i].keylen, nr->ksec);
        ttls[i] = items[i].ttl_ms ? items[i].ttl_ms : nr->def->ttl_ms;
        seqs[i] = tc__l1_seq(h->l1, &hashes[i]);
        l1rc[i] = tc__l1_set(h->l1, &hashes[i],
                             items[i].val ? items[i].val : "", L1LEN(i),
                             now + tc__min64(ttls[i], nr->def->l1_ttl_ms), now);
    }
    tc__cache_l1_arrived(h, nr);
    if (h->store) {
        for (i = 0; i < n; i++) {
            tc__key_format(keys[i], nr->def->prefix, &hashes[i]);
            sets[i].key = keys[i];
            sets[i].val = items[i].val ? items[i].val : "";
            sets[i].len = items[i].len;
            sets[i].ttl_ms = ttls[i];
        }
        err.msg[0] = '\0';
        l2rc = h->store->ops->mset(h->store, sets, n, &err);
        tc__cache_l2_state(h, l2rc);
        if (l2rc == TC_ENOMEM) {
            for (i = 0; i < n; i++) {
                tc__l1_del(h->l1, &hashes[i]);
            }
            rc = tc__fail(l2rc, "MSET: out of memory");
            goto done;
        }
        if (l2rc != TC_OK) {
            tc__cache_write_failed(h, nr, l2rc, "mset", &err);
        }
    }
    for (i = 0; i < n; i++) {
        int64_t l1ttl = tc__min64(ttls[i], nr->def->l1_ttl_ms);
        int st = l2rc == TC_OK && sets ? sets[i].status : l2rc;

        if (!h->store) {
            st = TC_OK;
        }
        if (st == TC_ENOMEM) {
            tc__l1_del(h->l1, &hashes[i]);
            items[i].status = st;
            continue;
        }
        if (st != TC_OK) {
            if (l2rc == TC_OK) {
                /* one item failed, not the call: counted, not logged */
                tc__counters_add(&h->wr,
                                 st == TC_EFULL     ? TC__WRITE_FULL
                                 : st == TC_ETOOBIG ? TC__WRITE_TOOBIG
                                                    : TC__WRITE_UNAVAIL,
                                 1);
                CNT(nr, l2_errors);
            }
            CNT(nr, degraded);
            /* not in L2: kept only briefly (as tc__cache_store_split) */
            if (l1rc[i] == TC_OK) {
                l1rc[i] = tc__l1_set(
                    h->l1, &hashes[i], items[i].val ? items[i].val : "",
                    L1LEN(i), now + tc__min64(l1ttl, h->cfg.degraded_ttl_ms),
                    now);
            }
        }
        if (l1rc[i] != TC_OK) {
            tc__l1_del(h->l1, &hashes[i]);
            items[i].status = TC_ENOMEM;
            rc = tc__fail(TC_ENOMEM, "L1 set: out of memory");
            continue;
        }
        if (st == TC_OK && h->store) {
            tc__cache_wrote(h, nr, &hashes[i], items[i].val ? items[i].val : "",
                            L1LEN(i), now + l1ttl, now, seqs[i]);
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
    tc__free(l1rc);
    tc__free(seqs);
    tc__free(hashes);
    tc__free(ttls);
    return rc;
}

/* A batch's round trips (the generation, then the keys) share one
 * deadline. */
int tc__cache_mget(tc__cache *h, const char *ns, tc_item *items, size_t n,
                   int neg)
{
    int outer = tc__deadline_enter();
    int rc = mget_in(h, ns, items, n, neg);

    tc__deadline_leave(outer);
    return rc;
}

int tc__cache_mset(tc__cache *h, const char *ns, tc_item *items, size_t n)
{
    tc__nsrt *nr;
    int outer, rc;

    if ((rc = tc__cache_ns(h, ns, &nr)) != TC_OK) {
        return rc;
    }
    outer = tc__deadline_enter();
    rc = mset_in(h, nr, items, NULL, n);
    tc__deadline_leave(outer);
    return rc;
}

int tc__cache_mset_split(tc__cache *h, tc__nsrt *ns, tc_item *items,
                         const size_t *l1lens, size_t n)
{
    int outer = tc__deadline_enter();
    int rc = mset_in(h, ns, items, l1lens, n);

    tc__deadline_leave(outer);
    return rc;
}
