/*
 * fuzz_config.c - the JSON config file (tc__cfg_load_file in
 * lib/base/config_file.c, through tc__config_load with config_path set and the
 * environment ignored) from any bytes. The file is a memfd, so nothing touches
 * a disk and no store is opened.
 *
 * Properties: the load returns TC_OK or TC_ECONFIG (never another code,
 * never a crash or a leak); a failure says why and leaves the
 * configuration empty; a success is coherent: a store URL and its masked
 * form, timeouts and pool within their bounds, every namespace named and
 * prefixed validly and with no reserved prefix (TC__RESERVED_PREFIXES),
 * no two namespaces sharing a prefix, each L1 TTL
 * positive and within its namespace's TTL.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfgparse.h"
#include "base/config.h"
#include "tutorcache.h"

#include "fuzz_common.h"

static int valid_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) {
            return 0;
        }
    }
    return 1;
}

static void check_config(const tc__config *c)
{
    FZ_CHECK(c->url && c->store.url_masked && c->url_source, "no store URL");
    FZ_CHECK(c->store.connect_timeout_ms >= 1 &&
                 c->store.connect_timeout_ms <= 600000 &&
                 c->store.command_timeout_ms >= 1 &&
                 c->store.command_timeout_ms <= 600000,
             "timeouts %d, %d", c->store.connect_timeout_ms,
             c->store.command_timeout_ms);
    FZ_CHECK(c->store.pool_size >= 1 && c->store.pool_size <= 1024,
             "pool_size %d", c->store.pool_size);
    FZ_CHECK(c->degraded_ttl_ms > 0 && c->gen_refresh_ms > 0 &&
                 c->fb_retention_ms > 0,
             "a duration <= 0");
    FZ_CHECK(!c->spool_dir || c->spool_dir[0] == '/', "spool_dir %s",
             c->spool_dir);
    FZ_CHECK(c->config_path, "config_path not kept");
    FZ_CHECK(c->nns >= 6, "%zu namespaces: a default one is gone", c->nns);
    for (size_t i = 0; i < c->nns; i++) {
        const tc__ns_def *ns = &c->ns[i];

        FZ_CHECK(valid_name(ns->name, 64), "namespace name \"%s\"", ns->name);
        FZ_CHECK(valid_name(ns->prefix, 32), "prefix \"%s\" of %s", ns->prefix,
                 ns->name);
        FZ_CHECK(!tc__cfg_prefix_reserved(ns->prefix),
                 "prefix \"%s\" of %s is reserved (%s)", ns->prefix, ns->name,
                 TC__RESERVED_PREFIXES);
        FZ_CHECK(ns->ttl_ms > 0 && ns->l1_ttl_ms > 0 &&
                     ns->l1_ttl_ms <= ns->ttl_ms,
                 "%s: ttl %lld ms, l1_ttl %lld ms", ns->name,
                 (long long)ns->ttl_ms, (long long)ns->l1_ttl_ms);
        for (size_t k = 0; k < i; k++) {
            FZ_CHECK(strcmp(c->ns[k].name, ns->name) != 0, "namespace %s twice",
                     ns->name);
            FZ_CHECK(strcmp(c->ns[k].prefix, ns->prefix) != 0,
                     "prefix %s shared by %s and %s", ns->prefix, c->ns[k].name,
                     ns->name);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_options opt;
    tc__config cfg;
    tc__err err;
    int rc;

    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV;
    opt.config_path = fz_memfile(data, size);
    err.msg[0] = '\0';
    rc = tc__config_load(&cfg, &opt, &err);
    FZ_CHECK(rc == TC_OK || rc == TC_ECONFIG, "rc %d: %s", rc, err.msg);
    if (rc == TC_OK) {
        check_config(&cfg);
    } else {
        FZ_CHECK(err.msg[0], "a failure with no message");
        FZ_CHECK(cfg.nns == 0 && !cfg.ns && !cfg.url,
                 "a failed load left a configuration");
    }
    tc__config_free(&cfg);
    return 0;
}
