/*
 * config_fb.c - feedback's own store (feedback_store): a URL checked when
 * it is read, as the cache's is, and turned into a store configuration
 * only by the cache that opens it. Feedback is kept for 30 days and a
 * cache is not: an LRU Redis is right for the one and loses the other,
 * so the two may live apart.
 */
#include <string.h>

#include "base/cfgparse.h"

int tc__cfg_set_fb_store(tc__config *cfg, const char *url, const char *source,
                         tc__err *err)
{
    tc__config probe;
    tc__err why;
    int rc;

    /* Parsed once into a scratch configuration, so that a bad URL is
     * reported where it was given, not when a store opens. */
    memset(&probe, 0, sizeof(probe));
    why.msg[0] = '\0';
    rc = tc__config_parse_url(&probe, url, &why);
    if (rc == TC_OK && probe.store.kind == TC__STORE_MEMORY) {
        rc = tc__errf(&why, TC_ECONFIG,
                      "memory: keeps nothing; feedback needs redis://, "
                      "redis-cluster://, unix:// or lmdb://");
    }
    tc__cfg_clear_store(&probe);
    if (rc == TC_ENOMEM) {
        return tc__cfg_oom(err);
    }
    if (rc != TC_OK) {
        return tc__errf(err, TC_ECONFIG, "%s: feedback store: %s", source,
                        why.msg);
    }
    if ((rc = tc__cfg_set_str(&cfg->fb_url, url, err)) != TC_OK) {
        return rc;
    }
    cfg->fb_url_source = source;
    return TC_OK;
}

int tc__config_use_fb_store(tc__config *cfg, tc__err *err)
{
    if (!cfg->fb_url) {
        return tc__errf(err, TC_EINVAL, "no feedback store configured");
    }
    /* the connection settings (timeouts, pool, map size) stay: they are
     * not part of a URL */
    int rc = tc__config_parse_url(cfg, cfg->fb_url, err);

    if (rc == TC_OK) {
        cfg->url_source = cfg->fb_url_source;
    }
    /* the spool is the store's: records waiting for feedback's store
     * must not be replayed into the cache's, nor the other way round */
    if (rc == TC_OK && cfg->spool_default) {
        rc = tc__cfg_default_spool(cfg, err);
    }
    return rc;
}
