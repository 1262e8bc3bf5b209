/*
 * put.c - the feedback context (what the layer is handed once, when a
 * handle opens) and the one put of a batch of records into the store,
 * which the accept path (feedback.c) and the spool's replay (spool.c)
 * share; and the fault hook the tests use to make the store look
 * unreachable.
 */
#include <stdio.h>
#include <string.h>

#include "feedback/feedback.h"

int tc__fb_open(tc__fb **out, tc__cache *cache, tc__fb_counts *counts)
{
    const tc__config *cfg = tc__cache_config(cache);
    tc__fb *fb = tc__calloc(1, sizeof(*fb));

    *out = NULL;
    if (!fb) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if (pthread_mutex_init(&fb->risk_mu, NULL) != 0) {
        tc__free(fb);
        return tc__fail(TC_ENOMEM, "pthread_mutex_init failed");
    }
    fb->cache = cache;
    fb->store = tc__cache_store(cache);
    fb->ops = fb->store ? fb->store->ops->fb : NULL;
    fb->cfg = cfg;
    fb->log = tc__cache_logger(cache);
    fb->counts = counts;
    fb->override_ttl_ms = TC__FB_OVERRIDE_TTL_MS;
    for (size_t i = 0; i < cfg->nns; i++) {
        if (strcmp(cfg->ns[i].name, TC__OVERRIDE_NS) == 0) {
            fb->override_ttl_ms = cfg->ns[i].ttl_ms;
        }
    }
    /* said now, in the log, rather than when the records are gone */
    tc__fb_risk_check(fb);
    tc__fb_risk_orphans(fb);
    *out = fb;
    return TC_OK;
}

void tc__fb_close(tc__fb *fb)
{
    if (fb) {
        pthread_mutex_destroy(&fb->risk_mu);
    }
    tc__free(fb);
}

void tc__fb_set_fault(tc__fb *fb, int n)
{
    atomic_store(&fb->fault_n, n);
}

/* Whether the next put is to fail (the fault hook). */
static int fault_take(tc__fb *fb)
{
    int n = atomic_load_explicit(&fb->fault_n, memory_order_relaxed);

    while (n != 0) {
        if (n < 0) {
            return 1;
        }
        if (atomic_compare_exchange_weak(&fb->fault_n, &n, n - 1)) {
            return 1;
        }
    }
    return 0;
}

int tc__fb_ready(const tc__fb *fb)
{
    if (fb->ops) {
        return TC_OK;
    }
    return tc__fail(TC_EINVAL,
                    "feedback needs a durable store (redis:// or lmdb://), "
                    "not memory:");
}

int tc__fb_unreachable(int rc)
{
    return rc == TC_EUNAVAIL || rc == TC_ETIMEOUT;
}

int tc__fb_put_recs(tc__fb *fb, tc__fb_rec *recs, size_t n, tc__fb_put *items,
                    tc__err *err)
{
    char **sealed = NULL;
    int rc;

    for (size_t i = 0; i < n; i++) {
        tc__fb_put *it = &items[i];

        memset(it, 0, sizeof(*it));
        it->id = recs[i].id;
        it->json = recs[i].json;
        it->len = recs[i].len;
        it->type = tc__fb_type_name(recs[i].type);
        it->original = recs[i].original;
        it->correct = recs[i].correct;
        if (recs[i].oval) {
            it->override_key = recs[i].okey;
            it->override_val = recs[i].oval;
            it->override_len = recs[i].olen;
            it->override_ttl_ms = fb->override_ttl_ms;
        }
    }
    if ((rc = tc__fb_seal_items(fb, items, n, &sealed, err)) != TC_OK) {
        tc__fb_seal_release(sealed, n);
        return rc;
    }
    if (fault_take(fb)) {
        rc = tc__errf(err, TC_EUNAVAIL,
                      "feedback store unreachable (fault injected by "
                      "tc__feedback_set_fault)");
    } else {
        rc = fb->ops->put(fb->store, items, n, fb->cfg->fb_retention_ms, err);
    }
    tc__fb_seal_release(sealed, n);
    tc__cache_l2_state(fb->cache, rc);
    for (size_t i = 0; rc == TC_OK && i < n; i++) {
        if (items[i].status < 0) {
            rc = items[i].status; /* a record the store refused alone */
        }
    }
    return rc;
}

void tc__fb_count_rejected(tc__fb *fb, int type, uint64_t n)
{
    char name[32];
    tc__err err;

    if (n == 0 || !fb->ops) {
        return;
    }
    for (uint64_t i = 0; fb->counts && i < n; i++) {
        tc__fb_counts_add(fb->counts, type, TC__FB_REJECTED);
    }
    snprintf(name, sizeof(name), "%s:rejected", tc__fb_type_name(type));
    err.msg[0] = '\0';
    tc__cache_l2_state(fb->cache, fb->ops->count(fb->store, name, n, &err));
}
