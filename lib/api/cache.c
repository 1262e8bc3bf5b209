/*
 * cache.c - the doors of the handle and its cache: each resets its
 * out-parameters, clears the error slot, checks its arguments and calls
 * the layer that does the work. Opening a handle sets up every layer's
 * part once: the cache, the counters of classification and feedback,
 * and the feedback context.
 */
#include <string.h>

#include "api/handle.h"
#include "report/report.h"

TC_API void tc_options_init(tc_options *opt)
{
    if (opt) {
        tc__options_init(opt);
    }
}

TC_API void tc_cache_close(tc_cache *h)
{
    if (!h) {
        return;
    }
    tc__popular_close(h->pop);
    tc__served_close(h->served);
    tc__fb_close(h->fb);
    tc__cache_close(h->fbcore);
    tc__audit_close(h->audit);
    tc__cache_close(h->core);
    tc__cls_counts_free(h->cls);
    tc__fb_counts_free(h->fbk);
    tc__free(h);
}

TC_API int tc_cache_open(tc_cache **out, const tc_options *opt)
{
    tc_cache *h;
    int rc;

    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out) {
        return tc__fail(TC_EINVAL, "out is NULL");
    }
    if (!(h = tc__calloc(1, sizeof(*h)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if ((rc = tc__cache_open(&h->core, opt)) != TC_OK) {
        tc__free(h);
        return rc;
    }
    if (tc__cache_config(h->core)->fb_url &&
        (rc = tc__cache_open_fb(&h->fbcore, opt)) != TC_OK) {
        tc_cache_close(h);
        return rc;
    }
    if (!(opt && (opt->flags & TC_OPT_NO_METRICS)) &&
        (tc__cls_counts_new(&h->cls) != TC_OK ||
         tc__fb_counts_new(&h->fbk) != TC_OK)) {
        tc_cache_close(h);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if ((rc = tc__fb_open(&h->fb, tc__fb_core(h), h->fbk)) != TC_OK ||
        (rc = tc__popular_open(&h->pop, h->core)) != TC_OK ||
        (rc = tc__served_open(&h->served, tc__fb_core(h))) != TC_OK ||
        (rc = tc__audit_start(h)) != TC_OK) {
        tc_cache_close(h);
        return rc;
    }
    h->fb->cls = h->cls; /* records naming an A/B arm's model count there */
    *out = h;
    return TC_OK;
}

/* The arguments every call on one key checks. */
static int key_args(const tc_cache *h, const char *ns, const void *key,
                    size_t keylen)
{
    if (!h) {
        return tc__fail(TC_EINVAL, "the handle is NULL");
    }
    if (!ns) {
        return tc__fail(TC_EINVAL, "namespace is NULL");
    }
    if (!key && keylen) {
        return tc__fail(TC_EINVAL, "key is NULL with length %zu", keylen);
    }
    return TC_OK;
}

TC_API int tc_cache_get(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                        const char *ns, const void *key, size_t keylen)
{
    int rc;

    tc__get_reset(val, len, tier);
    tc__clear();
    if ((rc = key_args(h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    if (!val || !len) {
        return tc__fail(TC_EINVAL, "val or len is NULL");
    }
    rc = tc__cache_get(val, len, tier, tc__core_of(h, ns), ns, key, keylen, 0,
                       tc__now_ms());
    if (tc__audit_reads(h->audit)) {
        tc__audit_key(h, "get", ns, key, keylen, rc);
    }
    return rc;
}

TC_API int tc_cache_set(tc_cache *h, const char *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        int64_t ttl_ms)
{
    int rc;

    tc__clear();
    if ((rc = key_args(h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    rc = tc__cache_set(tc__core_of(h, ns), ns, key, keylen, val, len, ttl_ms);
    tc__audit_key(h, "set", ns, key, keylen, rc);
    return rc;
}

TC_API int tc_cache_del(tc_cache *h, const char *ns, const void *key,
                        size_t keylen)
{
    int rc;

    tc__clear();
    if ((rc = key_args(h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    rc = tc__cache_del(tc__core_of(h, ns), ns, key, keylen);
    tc__audit_key(h, "del", ns, key, keylen, rc);
    return rc;
}

TC_API int tc_cache_get_or_load(void **val, size_t *len, tc_tier *tier,
                                tc_cache *h, const char *ns, const void *key,
                                size_t keylen, tc_loader_fn loader, void *ud)
{
    int rc;

    tc__get_reset(val, len, tier);
    tc__clear();
    if ((rc = key_args(h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    if (!val || !len || !loader) {
        return tc__fail(TC_EINVAL, "val, len or loader is NULL");
    }
    rc = tc__cache_get_or_load(val, len, tier, tc__core_of(h, ns), ns, key,
                               keylen, loader, ud);
    if (tc__audit_reads(h->audit)) {
        tc__audit_key(h, "get_or_load", ns, key, keylen, rc);
    }
    return rc;
}

/* A batch's lines, one per key with its own outcome (mget only with
 * audit_reads); a batch that failed as a whole before its items, one. */
static int audit_items(tc_cache *h, const char *op, const char *ns,
                       const tc_item *items, size_t n, int rc)
{
    if (!h->audit || (op[1] == 'g' && !tc__audit_reads(h->audit))) {
        return rc;
    }
    if (rc < 0 && rc != TC_EUNAVAIL && rc != TC_ETIMEOUT) {
        tc__audit_op(h, op, ns, NULL, (int64_t)n, rc);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        tc__audit_key(h, op, ns, items[i].key, items[i].keylen,
                      items[i].status);
    }
    return rc;
}

TC_API int tc_cache_mget(tc_cache *h, const char *ns, tc_item *items, size_t n)
{
    TC__DOOR(h, ns, "namespace is NULL");
    return audit_items(h, "mget", ns, items, n,
                       tc__cache_mget(tc__core_of(h, ns), ns, items, n, 0));
}

TC_API int tc_cache_mset(tc_cache *h, const char *ns, tc_item *items, size_t n)
{
    TC__DOOR(h, ns, "namespace is NULL");
    return audit_items(h, "mset", ns, items, n,
                       tc__cache_mset(tc__core_of(h, ns), ns, items, n));
}

TC_API int tc_cache_invalidate(tc_cache *h, const char *ns)
{
    int rc;

    TC__DOOR(h, ns, "namespace is NULL");
    rc = tc__cache_invalidate(tc__core_of(h, ns), ns);
    tc__audit_op(h, "invalidate", ns, NULL, -1, rc);
    return rc;
}

TC_API int tc_cache_key(char *buf, size_t buflen, tc_cache *h, const char *ns,
                        const void *key, size_t keylen)
{
    int rc;

    if (buf && buflen) {
        buf[0] = '\0';
    }
    tc__clear();
    if ((rc = key_args(h, ns, key, keylen)) != TC_OK) {
        return rc;
    }
    if (!buf || buflen < TC_KEY_MAX) {
        return tc__fail(TC_EINVAL, "buffer shorter than TC_KEY_MAX");
    }
    return tc__cache_key(buf, tc__core_of(h, ns), ns, key, keylen);
}

TC_API int tc_cache_ping(tc_cache *h, int64_t *latency_us)
{
    int rc;

    if (latency_us) {
        *latency_us = 0;
    }
    tc__clear();
    if (!h) {
        return tc__fail(TC_EINVAL, "the handle is NULL");
    }
    rc = tc__cache_ping(h->core, latency_us);
    if (rc == TC_OK && h->fbcore) {
        int64_t fb_us;

        /* the feedback store answers too, or the handle is not whole */
        rc = tc__cache_ping(h->fbcore, &fb_us);
    }
    return rc;
}

TC_API int tc_cache_stats(tc_ns_stats *out, tc_cache *h, const char *ns)
{
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    TC__DOOR(h, ns && out, "namespace or out is NULL");
    return tc__cache_stats(out, tc__core_of(h, ns), ns);
}

TC_API const char *tc_cache_store_kind(const tc_cache *h)
{
    return h ? tc__cache_store_kind(h->core) : "memory";
}

TC_API const char *tc_tier_name(tc_tier tier)
{
    return tc__tier_name(tier);
}

/* ---- what the report layer renders ------------------------------------ */

TC_API int tc_cache_stats_json(char **out, tc_cache *h)
{
    TC__RESET(out, NULL);
    TC__DOOR(h, out, "out is NULL");
    return tc__stats_json(out, h->core, h->fb, h->cls);
}

TC_API int tc_cache_config_json(char **out, tc_cache *h)
{
    TC__RESET(out, NULL);
    TC__DOOR(h, out, "out is NULL");
    return tc__config_json(out, h->core, h->fb);
}

TC_API int tc_metrics_render(char *buf, size_t cap, size_t *len, tc_cache *h)
{
    tc__sb b = {NULL, 0, 0, 0};

    if (len) {
        *len = 0;
    }
    if (cap && buf) {
        buf[0] = '\0';
    }
    TC__DOOR(h, len && (buf || !cap), "NULL argument");
    if (tc__metrics_render(&b, h->core, h->fb, h->cls, h->fbk) != TC_OK) {
        tc__free(b.p);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    *len = b.len;
    if (b.len >= cap) {
        tc__free(b.p);
        return tc__fail(TC_ETOOBIG, "the exposition needs %zu bytes",
                        b.len + 1);
    }
    memcpy(buf, b.p, b.len + 1);
    tc__free(b.p);
    return TC_OK;
}

TC_API int tc_metrics_write(tc_cache *h, FILE *out)
{
    tc__sb b = {NULL, 0, 0, 0};
    int ok;

    TC__DOOR(h, out, "NULL argument");
    if (tc__metrics_render(&b, h->core, h->fb, h->cls, h->fbk) != TC_OK) {
        tc__free(b.p);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    ok = fwrite(b.p, 1, b.len, out) == b.len;
    tc__free(b.p);
    return ok ? TC_OK : tc__fail(TC_EIO, "write failed");
}

/* ---- for tests only ------------------------------------------------------ */

void tc__feedback_set_fault(tc_cache *h, int n)
{
    tc__fb_set_fault(h->fb, n);
}
