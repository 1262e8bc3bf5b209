/*
 * config_cluster.c - redis-cluster:// URLs:
 * redis-cluster://[user:password@]host:port[,host:port...][?read_from=...]
 * parsed into the seed nodes the cluster store asks for its slot map.
 * A cluster serves database 0 only, so a "/db" is refused rather than
 * ignored; messages quote the nodes or the option at fault, never the
 * user info, which may hold a password.
 */
#include <stdio.h>
#include <string.h>

#include "base/cfgparse.h"

/* Seeds a URL may name: a few are enough to find the cluster, and a
 * bound keeps a pasted host list from growing without end. */
#define MAX_SEEDS 32

void tc__cfg_clear_cluster(tc__config *cfg)
{
    for (size_t i = 0; i < cfg->store.nseeds; i++) {
        tc__free(cfg->store.seeds[i].host);
    }
    tc__free(cfg->store.seeds);
    cfg->store.seeds = NULL;
    cfg->store.nseeds = 0;
    cfg->store.read_replica = 0;
}

/* The user info before the last '@' of [b, e): user and password,
 * percent-decoded. */
static int parse_userinfo(tc__config *cfg, const char *b, const char *e,
                          tc__err *err)
{
    const char *colon = memchr(b, ':', (size_t)(e - b));
    const char *ue = colon ? colon : e;
    int bad = 0;

    if (ue > b &&
        !(cfg->store.user = tc__cfg_pct_decode(b, (size_t)(ue - b), &bad))) {
        return bad ? tc__errf(err, TC_ECONFIG,
                              "store URL: redis-cluster: bad %%-escape in "
                              "the user name")
                   : tc__cfg_oom(err);
    }
    if (colon && !(cfg->store.password = tc__cfg_pct_decode(
                       colon + 1, (size_t)(e - colon - 1), &bad))) {
        return bad ? tc__errf(err, TC_ECONFIG,
                              "store URL: redis-cluster: bad %%-escape in "
                              "the password")
                   : tc__cfg_oom(err);
    }
    return TC_OK;
}

/* One node, "host:port", "[v6]:port" or a host alone (port 6379). */
static int parse_seed(tc__seed *sd, const char *b, const char *e, tc__err *err)
{
    const char *he, *port = NULL;
    char tmp[8];
    long long v;
    size_t n;

    if (b == e) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: redis-cluster: an empty node in the "
                        "list (host:port,host:port...)");
    }
    if (*b == '[') {
        he = memchr(b, ']', (size_t)(e - b));
        if (!he || (he + 1 < e && he[1] != ':')) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: redis-cluster: node %.*s: bad IPv6 "
                            "address (as [::1]:7000)",
                            (int)(e - b), b);
        }
        port = he + 1 < e ? he + 2 : NULL;
        b++;
    } else {
        he = memchr(b, ':', (size_t)(e - b));
        port = he ? he + 1 : NULL;
        he = he ? he : e;
    }
    sd->port = TC__DEFAULT_REDIS_PORT;
    if (port) {
        n = (size_t)(e - port);
        if (n > 0 && n < sizeof(tmp)) {
            memcpy(tmp, port, n);
            tmp[n] = '\0';
        }
        if (n == 0 || n >= sizeof(tmp) ||
            tc__cfg_parse_long(tmp, 1, 65535, &v) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: redis-cluster: node %.*s: %.*s is "
                            "not a port (1-65535)",
                            (int)(e - b), b, (int)n, port);
        }
        sd->port = (int)v;
    }
    if (he == b) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: redis-cluster: node %.*s has no host",
                        (int)(e - b), b);
    }
    sd->host = tc__strndup(b, (size_t)(he - b));
    return sd->host ? TC_OK : tc__cfg_oom(err);
}

/* ?read_from=master|replica, and the tls_* of rediss-cluster://. */
static int parse_options(tc__config *cfg, const char *q, tc__err *err)
{
    while (q && *q) {
        const char *k = q + 1, *amp = strchr(k, '&');
        int klen = (int)(amp ? (size_t)(amp - k) : strlen(k));
        int tls = tc__cfg_tls_param(cfg, k, (size_t)klen, err);

        if (tls < 0) {
            return tls;
        } else if (tls) {
            /* taken */
        } else if (klen == 17 && strncmp(k, "read_from=replica", 17) == 0) {
            cfg->store.read_replica = 1;
        } else if (klen == 16 && strncmp(k, "read_from=master", 16) == 0) {
            cfg->store.read_replica = 0;
        } else if (strncmp(k, "read_from=", 10) == 0) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: redis-cluster: read_from: %.*s is "
                            "neither master nor replica",
                            klen - 10, k + 10);
        } else {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: redis-cluster: unknown option %.*s "
                            "(read_from=master|replica, tls_*)",
                            klen, k);
        }
        q = amp;
    }
    return TC_OK;
}

int tc__cfg_parse_cluster(tc__config *cfg, const char *rest, tc__err *err)
{
    const char *q = strchr(rest, '?');
    const char *end = q ? q : rest + strlen(rest);
    const char *at = NULL, *b, *comma;
    size_t n = 1;
    int rc;

    cfg->store.kind = TC__STORE_CLUSTER;
    for (const char *p = rest; p < end; p++) {
        if (*p == '@') {
            at = p; /* the last '@' ends the user info */
        }
    }
    if (at && (rc = parse_userinfo(cfg, rest, at, err)) != TC_OK) {
        return rc;
    }
    b = at ? at + 1 : rest;
    if (strcspn(b, "/?") < strcspn(b, "?")) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: redis-cluster: a cluster has database 0 "
                        "only: no /db after the nodes");
    }
    for (const char *p = b; p < end; p++) {
        n += *p == ',';
    }
    if (b == end) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: redis-cluster: no node (as "
                        "redis-cluster://10.0.0.1:7000,10.0.0.2:7000)");
    }
    if (n > MAX_SEEDS) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: redis-cluster: %zu nodes, at most %d", n,
                        MAX_SEEDS);
    }
    if (!(cfg->store.seeds = tc__calloc(n, sizeof(*cfg->store.seeds)))) {
        return tc__cfg_oom(err);
    }
    for (; cfg->store.nseeds < n; b = comma + 1) {
        comma = memchr(b, ',', (size_t)(end - b));
        comma = comma ? comma : end;
        rc = parse_seed(&cfg->store.seeds[cfg->store.nseeds], b, comma, err);
        if (rc != TC_OK) {
            return rc;
        }
        cfg->store.nseeds++;
    }
    if (!(cfg->store.host = tc__strdup(cfg->store.seeds[0].host))) {
        return tc__cfg_oom(err);
    }
    cfg->store.port = cfg->store.seeds[0].port;
    return parse_options(cfg, q, err);
}
