/*
 * config_url.c - store URLs parsed into the store configuration:
 * redis://, unix://, lmdb:// and memory:, the password masked for logs.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfgparse.h"

void tc__cfg_clear_store(tc__config *cfg)
{
    tc__free(cfg->url);
    tc__free(cfg->store.url_masked);
    tc__free(cfg->store.host);
    tc__free(cfg->store.unix_path);
    tc__free(cfg->store.user);
    tc__free(cfg->store.password);
    tc__free(cfg->store.dir);
    cfg->url = cfg->store.url_masked = cfg->store.host = cfg->store.unix_path = NULL;
    cfg->store.user = cfg->store.password = cfg->store.dir = NULL;
    cfg->store.port = TC__DEFAULT_REDIS_PORT;
    cfg->store.db = 0;
    cfg->store.tracking = 1;
    cfg->store.kind = TC__STORE_MEMORY;
}

/*
 * tracking=on|off among the URL's parameters, of any scheme: read here
 * and taken out of *rest (a tc__malloc'd copy, NULL when the URL has no
 * such parameter), which the scheme's own parser then reads.
 */
static int take_tracking(tc__config *cfg, const char *url, char **rest,
                         tc__err *err)
{
    const char *q = strchr(url, '?'), *p, *v;
    size_t n, vlen;
    char *out;

    *rest = NULL;
    for (p = q; p && !(strncmp(p + 1, "tracking=", 9) == 0);
         p = strchr(p + 1, '&')) {
    }
    if (!p) {
        return TC_OK;
    }
    v = p + 10;
    vlen = strcspn(v, "&");
    if (vlen == 2 && strncmp(v, "on", 2) == 0) {
        cfg->store.tracking = 1;
    } else if (vlen == 3 && strncmp(v, "off", 3) == 0) {
        cfg->store.tracking = 0;
    } else {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: tracking: %.*s is not on or off",
                        (int)vlen, v);
    }
    if (!(out = tc__malloc(strlen(url) + 1))) {
        return tc__cfg_oom(err);
    }
    /* keep what precedes the parameter, and what follows it with the
     * separator the parameter had ('?' or '&') */
    n = (size_t)(p - url);
    memcpy(out, url, n);
    if (v[vlen] == '&') {
        out[n] = *p;
        strcpy(out + n + 1, v + vlen + 1);
    } else {
        out[n] = '\0';
    }
    *rest = out;
    return TC_OK;
}

/* url_masked: the URL with the password replaced by "***". */
static int mask_url(tc__config *cfg, const char *url, tc__err *err)
{
    const char *at = NULL, *colon, *p, *auth = strstr(url, "://");
    size_t n = strlen(url) + 8;

    cfg->store.url_masked = tc__malloc(n);
    if (!cfg->store.url_masked) {
        return tc__cfg_oom(err);
    }
    auth = auth ? auth + 3 : url;
    /* the user info ends at the last '@' before the path, as parse_redis
     * reads it */
    for (p = auth; *p && *p != '/'; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        snprintf(cfg->store.url_masked, n, "%.*s***%s", (int)(colon + 1 - url), url,
                 at);
    } else if (cfg->store.password) {
        /* a password given apart from the URL (REDIS_PASSWORD, ?password=) */
        const char *q = strstr(url, "password=");

        if (q) {
            snprintf(cfg->store.url_masked, n, "%.*s***", (int)(q + 9 - url), url);
        } else {
            snprintf(cfg->store.url_masked, n, "%s", url);
        }
    } else {
        snprintf(cfg->store.url_masked, n, "%s", url);
    }
    return TC_OK;
}

static int parse_redis(tc__config *cfg, const char *rest, tc__err *err)
{
    const char *slash = strchr(rest, '/');
    const char *end = slash ? slash : rest + strlen(rest);
    const char *at = NULL, *p, *hostb, *hoste, *portb = NULL;
    int bad = 0;

    for (p = rest; p < end; p++) {
        if (*p == '@') {
            at = p; /* the last '@' ends the user info */
        }
    }
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *ue = colon ? colon : at;

        if (ue > rest &&
            !(cfg->store.user = tc__cfg_pct_decode(rest, (size_t)(ue - rest), &bad))) {
            return bad ? tc__errf(err, TC_ECONFIG,
                                  "store URL: bad %%-escape "
                                  "in the user name")
                       : tc__cfg_oom(err);
        }
        if (colon && !(cfg->store.password = tc__cfg_pct_decode(
                           colon + 1, (size_t)(at - colon - 1), &bad))) {
            return bad ? tc__errf(err, TC_ECONFIG,
                                  "store URL: bad %%-escape "
                                  "in the password")
                       : tc__cfg_oom(err);
        }
        hostb = at + 1;
    } else {
        hostb = rest;
    }
    if (*hostb == '[') {
        hoste = memchr(hostb, ']', (size_t)(end - hostb));
        if (!hoste) {
            /* not the URL itself: it may hold a password */
            return tc__errf(err, TC_ECONFIG,
                            "store URL: host: unclosed [ of an IPv6 address");
        }
        portb = hoste + 1 < end && hoste[1] == ':' ? hoste + 2 : NULL;
        if (hoste + 1 < end && hoste[1] != ':') {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: host: junk after ] of an IPv6 "
                            "address");
        }
        hostb++;
    } else {
        hoste = memchr(hostb, ':', (size_t)(end - hostb));
        if (hoste) {
            portb = hoste + 1;
        } else {
            hoste = end;
        }
    }
    cfg->store.host = hoste > hostb ? tc__strndup(hostb, (size_t)(hoste - hostb))
                              : tc__strdup("127.0.0.1");
    if (!cfg->store.host) {
        return tc__cfg_oom(err);
    }
    if (portb) {
        char tmp[16];
        long long v;
        size_t n = (size_t)(end - portb);

        if (n == 0 || n >= sizeof(tmp)) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: port: %.*s is not a "
                            "port (1-65535)",
                            (int)n, portb);
        }
        memcpy(tmp, portb, n);
        tmp[n] = '\0';
        if (tc__cfg_parse_long(tmp, 1, 65535, &v) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: port: %s is not a port (1-65535)", tmp);
        }
        cfg->store.port = (int)v;
    }
    if (slash && slash[1]) {
        long long v;

        if (tc__cfg_parse_long(slash + 1, 0, INT_MAX, &v) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: db: %s is not a database number",
                            slash + 1);
        }
        cfg->store.db = (int)v;
    }
    return TC_OK;
}

/* unix:///path[?db=N][&password=P] */
static int parse_unix(tc__config *cfg, const char *rest, tc__err *err)
{
    const char *q = strchr(rest, '?');
    size_t n = q ? (size_t)(q - rest) : strlen(rest);

    if (n == 0 || rest[0] != '/') {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: unix:// needs an absolute socket path, "
                        "as unix:///run/redis.sock");
    }
    if (!(cfg->store.unix_path = tc__strndup(rest, n))) {
        return tc__cfg_oom(err);
    }
    while (q && *q) {
        const char *k = q + 1, *amp = strchr(k, '&');
        size_t klen = amp ? (size_t)(amp - k) : strlen(k);
        int bad = 0;

        if (strncmp(k, "db=", 3) == 0) {
            char tmp[16];
            long long v;

            if (klen - 3 >= sizeof(tmp)) {
                return tc__errf(err, TC_ECONFIG, "store URL: db: too long");
            }
            memcpy(tmp, k + 3, klen - 3);
            tmp[klen - 3] = '\0';
            if (tc__cfg_parse_long(tmp, 0, INT_MAX, &v) != 0) {
                return tc__errf(err, TC_ECONFIG,
                                "store URL: db: %s is not a database number",
                                tmp);
            }
            cfg->store.db = (int)v;
        } else if (strncmp(k, "password=", 9) == 0) {
            tc__free(cfg->store.password);
            if (!(cfg->store.password = tc__cfg_pct_decode(k + 9, klen - 9, &bad))) {
                return bad ? tc__errf(err, TC_ECONFIG,
                                      "store URL: bad %%-escape in password")
                           : tc__cfg_oom(err);
            }
        } else if (strncmp(k, "user=", 5) == 0) {
            tc__free(cfg->store.user);
            if (!(cfg->store.user = tc__cfg_pct_decode(k + 5, klen - 5, &bad))) {
                return bad ? tc__errf(err, TC_ECONFIG,
                                      "store URL: bad %%-escape in user")
                           : tc__cfg_oom(err);
            }
        } else {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: unknown parameter %.*s (db, user, "
                            "password)",
                            (int)klen, k);
        }
        q = amp;
    }
    return TC_OK;
}

int tc__config_parse_url(tc__config *cfg, const char *whole, tc__err *err)
{
    const char *url = whole;
    char *rest;
    int rc;

    tc__cfg_clear_store(cfg);
    if ((rc = take_tracking(cfg, whole, &rest, err)) != TC_OK) {
        return rc;
    }
    url = rest ? rest : whole;
    if (strncmp(url, "redis://", 8) == 0) {
        cfg->store.kind = TC__STORE_REDIS;
        rc = parse_redis(cfg, url + 8, err);
    } else if (strncmp(url, "unix://", 7) == 0) {
        cfg->store.kind = TC__STORE_REDIS;
        rc = parse_unix(cfg, url + 7, err);
    } else if (strncmp(url, "lmdb://", 7) == 0) {
        cfg->store.kind = TC__STORE_LMDB;
        if (url[7] != '/' || url[8] == '\0') {
            rc = tc__errf(err, TC_ECONFIG,
                          "store URL %s: lmdb:// needs an absolute directory, "
                          "as lmdb:///var/cache/tutorcache",
                          url);
        } else {
            cfg->store.dir = tc__strdup(url + 7);
            rc = cfg->store.dir ? TC_OK : tc__cfg_oom(err);
        }
    } else if (strcmp(url, "memory:") == 0 || strcmp(url, "memory://") == 0) {
        cfg->store.kind = TC__STORE_MEMORY;
        rc = TC_OK;
    } else {
        /* the scheme alone: "user:password@host" has no scheme but a
         * password after its first ':' */
        rc = tc__errf(err, TC_ECONFIG,
                      "store URL: unknown scheme \"%.*s\" (redis://, unix://, "
                      "lmdb://, memory:)",
                      (int)strcspn(url, ":"), url);
    }
    if (rc == TC_OK && !(cfg->url = tc__strdup(whole))) {
        rc = tc__cfg_oom(err);
    }
    if (rc == TC_OK) {
        rc = mask_url(cfg, whole, err);
    }
    tc__free(rest);
    return rc;
}
