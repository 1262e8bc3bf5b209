/*
 * config_url.c - store URLs parsed into the store configuration:
 * redis://, rediss:// (TLS), unix://, lmdb:// and memory:, the password
 * masked for logs.
 *
 * A URL often carries a password, and generated passwords hold '/', '@',
 * ':' or '?'. So the user info ends at the URL's last '@' (a password may
 * hold '@' and '/' unencoded; a query value may not hold '@'), and no
 * message quotes text of the URL: a malformed part may be a piece of a
 * password cut where the parser could not know it ended. Each message
 * names the part and what it should be instead.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfgparse.h"

/* Where the secrets of a parsed URL are, for its masked form. */
typedef struct url_parts {
    const char *pw_begin, *pw_end; /* the user info's password, or NULL */
    const char *query;             /* the '?' of the query, or NULL */
} url_parts;

void tc__cfg_clear_store(tc__config *cfg)
{
    tc__free(cfg->url);
    tc__free(cfg->store.url_masked);
    tc__free(cfg->store.host);
    tc__free(cfg->store.unix_path);
    tc__free(cfg->store.user);
    tc__free(cfg->store.password);
    tc__free(cfg->store.dir);
    tc__cfg_clear_cluster(cfg);
    tc__cfg_tls_clear(&cfg->store.tls);
    cfg->url = cfg->store.url_masked = cfg->store.host = cfg->store.unix_path =
        NULL;
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
        return tc__errf(err, TC_ECONFIG, "store URL: tracking: not on or off");
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

/*
 * url_masked: the URL with the user info's password and every password=
 * value of its query replaced by "***". The URL is at most 3 bytes longer
 * per masked part than its original, and a part masked is at least
 * "password=" or ":@" long, so twice the length is room enough.
 */
static int mask_url(tc__config *cfg, const char *url, const url_parts *u,
                    tc__err *err)
{
    size_t n = strlen(url);
    const char *p = url, *pw = u->pw_begin;
    char *o;

    if (!(o = cfg->store.url_masked = tc__malloc(2 * n + 8))) {
        return tc__cfg_oom(err);
    }
    while (*p) {
        if (p == pw) {
            /* once: an empty password ends where it begins */
            memcpy(o, "***", 3);
            o += 3;
            p = u->pw_end;
            pw = NULL;
        } else if (u->query && p > u->query && (p[-1] == '?' || p[-1] == '&') &&
                   strncmp(p, "password=", 9) == 0) {
            memcpy(o, "password=***", 12);
            o += 12;
            p += 9 + strcspn(p + 9, "&");
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return TC_OK;
}

/* A whole number in [min, max] from the n bytes at s, or -1. */
static int parse_num(const char *s, size_t n, long long min, long long max,
                     int *out)
{
    char tmp[16];
    long long v;

    if (n == 0 || n >= sizeof(tmp)) {
        return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (tc__cfg_parse_long(tmp, min, max, &v) != 0) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int bad_db(tc__err *err)
{
    return tc__errf(err, TC_ECONFIG,
                    "store URL: db: not a database number (0 or more)");
}

/*
 * The query, "?db=N&user=U&password=P" from its '?': each value is
 * percent-decoded and holds no '&'. A value's text is never quoted: an
 * unencoded '&' in a password would put the rest of it in the next name.
 */
static int parse_query(tc__config *cfg, const char *q, tc__err *err)
{
    int nth = 0;

    while (q && *q) {
        const char *k = q + 1, *amp = strchr(k, '&');
        size_t klen = amp ? (size_t)(amp - k) : strlen(k);
        char **dst = NULL;
        int bad = 0, tls = tc__cfg_tls_param(cfg, k, klen, err);

        nth++;
        if (tls < 0) {
            return tls;
        } else if (tls) {
            /* taken */
        } else if (strncmp(k, "db=", 3) == 0) {
            if (parse_num(k + 3, klen - 3, 0, INT_MAX, &cfg->store.db) != 0) {
                return bad_db(err);
            }
        } else if (strncmp(k, "password=", 9) == 0) {
            dst = &cfg->store.password;
            k += 9, klen -= 9;
        } else if (strncmp(k, "user=", 5) == 0) {
            dst = &cfg->store.user;
            k += 5, klen -= 5;
        } else {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: query: parameter %d is none of db, "
                            "user, password, tls_ca, tls_cert, tls_key, "
                            "tls_server_name, tls_insecure",
                            nth);
        }
        if (dst) {
            tc__free(*dst);
            if (!(*dst = tc__cfg_pct_decode(k, klen, &bad))) {
                return bad ? tc__errf(err, TC_ECONFIG,
                                      "store URL: %s: bad %%-escape",
                                      dst == &cfg->store.user ? "user"
                                                              : "password")
                           : tc__cfg_oom(err);
            }
        }
        q = amp;
    }
    return TC_OK;
}

/* [user[:password]@] up to at, the URL's last '@'. */
static int parse_userinfo(tc__config *cfg, const char *rest, const char *at,
                          url_parts *u, tc__err *err)
{
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    const char *ue = colon ? colon : at;
    int bad = 0;

    /*
     * A user name cannot hold '/' or '?': such a one is a host, a db or a
     * query swallowed because a query value held an unencoded '@'.
     */
    if (memchr(rest, '/', (size_t)(ue - rest)) ||
        memchr(rest, '?', (size_t)(ue - rest))) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: user: holds '/' or '?' (the user info "
                        "ends at the last '@'; write an '@' of a query "
                        "value as %%40)");
    }
    if (ue > rest && !(cfg->store.user = tc__cfg_pct_decode(
                           rest, (size_t)(ue - rest), &bad))) {
        return bad ? tc__errf(err, TC_ECONFIG, "store URL: user: bad %%-escape")
                   : tc__cfg_oom(err);
    }
    if (colon) {
        u->pw_begin = colon + 1;
        u->pw_end = at;
        if (!(cfg->store.password = tc__cfg_pct_decode(
                  colon + 1, (size_t)(at - colon - 1), &bad))) {
            return bad ? tc__errf(err, TC_ECONFIG,
                                  "store URL: password: bad %%-escape")
                       : tc__cfg_oom(err);
        }
    }
    return TC_OK;
}

/* redis[s]://[user[:password]@]host[:port][/db][?query] */
static int parse_redis(tc__config *cfg, const char *rest, url_parts *u,
                       tc__err *err)
{
    const char *at = strrchr(rest, '@');
    const char *hostb = at ? at + 1 : rest;
    const char *end = hostb + strcspn(hostb, "/?");
    const char *hoste, *portb = NULL;
    int rc;

    if (at && (rc = parse_userinfo(cfg, rest, at, u, err)) != TC_OK) {
        return rc;
    }
    if (*hostb == '[') {
        hoste = memchr(hostb, ']', (size_t)(end - hostb));
        if (!hoste) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: host: unclosed [ of an IPv6 address");
        }
        if (hoste + 1 < end && hoste[1] != ':') {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: host: junk after ] of an IPv6 "
                            "address");
        }
        portb = hoste + 1 < end ? hoste + 2 : NULL;
        hostb++;
    } else {
        hoste = memchr(hostb, ':', (size_t)(end - hostb));
        if (hoste) {
            portb = hoste + 1;
        } else {
            hoste = end;
        }
    }
    cfg->store.host = hoste > hostb
                          ? tc__strndup(hostb, (size_t)(hoste - hostb))
                          : tc__strdup("127.0.0.1");
    if (!cfg->store.host) {
        return tc__cfg_oom(err);
    }
    if (portb && parse_num(portb, (size_t)(end - portb), 1, 65535,
                           &cfg->store.port) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: port: not a port (1-65535)");
    }
    if (*end == '/') {
        size_t n = strcspn(end + 1, "?");

        if (n > 0 && parse_num(end + 1, n, 0, INT_MAX, &cfg->store.db) != 0) {
            return bad_db(err);
        }
        end += 1 + n;
    }
    u->query = *end == '?' ? end : NULL;
    return parse_query(cfg, u->query, err);
}

/* unix:///path[?db=N][&user=U][&password=P] */
static int parse_unix(tc__config *cfg, const char *rest, url_parts *u,
                      tc__err *err)
{
    size_t n = strcspn(rest, "?");

    if (n == 0 || rest[0] != '/') {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: unix:// needs an absolute socket path, "
                        "as unix:///run/redis.sock");
    }
    if (!(cfg->store.unix_path = tc__strndup(rest, n))) {
        return tc__cfg_oom(err);
    }
    u->query = rest[n] ? rest + n : NULL;
    return parse_query(cfg, u->query, err);
}

/*
 * The unknown scheme named when it is one by RFC 3986 (a letter, then
 * letters, digits, '+', '-', '.') and followed by "://": text with no
 * "://" may be "user:password@host", whose first part is no scheme.
 */
/* Where a redis-cluster:// URL's password and query are, for the mask:
 * the user info ends at the last '@' before the query, as for redis://. */
static void cluster_parts(url_parts *u, const char *rest)
{
    const char *q = strchr(rest, '?'), *end = q ? q : rest + strlen(rest);
    const char *at = NULL, *colon;

    for (const char *p = rest; p < end; p++) {
        at = *p == '@' ? p : at;
    }
    u->query = q;
    if (at && (colon = memchr(rest, ':', (size_t)(at - rest))) != NULL) {
        u->pw_begin = colon + 1;
        u->pw_end = at;
    }
}

static int bad_scheme(const char *url, tc__err *err)
{
    size_t n =
        strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789+-.");

    if (n > 0 && n <= 16 && isalpha((unsigned char)url[0]) &&
        strncmp(url + n, "://", 3) == 0) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: unknown scheme \"%.*s\" (redis://, "
                        "rediss://, redis-cluster://, rediss-cluster://, "
                        "unix://, lmdb://, memory:)",
                        (int)n, url);
    }
    return tc__errf(err, TC_ECONFIG,
                    "store URL: no known scheme (redis://, rediss://, "
                    "redis-cluster://, rediss-cluster://, unix://, lmdb://, "
                    "memory:)");
}

/* The masked URL was made without the tracking parameter: put it back
 * (at the end: the parameters' order means nothing). */
static int unmask_tracking(tc__config *cfg, tc__err *err)
{
    char *m = cfg->store.url_masked;
    size_t n = strlen(m);
    char *o = tc__realloc(m, n + 16);

    if (!o) {
        return tc__cfg_oom(err);
    }
    snprintf(o + n, 16, "%ctracking=%s", strchr(o, '?') ? '&' : '?',
             cfg->store.tracking ? "on" : "off");
    cfg->store.url_masked = o;
    return TC_OK;
}

int tc__config_parse_url(tc__config *cfg, const char *whole, tc__err *err)
{
    url_parts u = {NULL, NULL, NULL};
    const char *url = whole;
    char *rest;
    int rc;

    tc__cfg_clear_store(cfg);
    if ((rc = take_tracking(cfg, whole, &rest, err)) != TC_OK) {
        return rc;
    }
    url = rest ? rest : whole;
    if (strncmp(url, "redis://", 8) == 0 || strncmp(url, "rediss://", 9) == 0) {
        cfg->store.kind = TC__STORE_REDIS;
        cfg->store.tls.on = url[5] == 's';
        rc = parse_redis(cfg, url + 8 + cfg->store.tls.on, &u, err);
    } else if (strncmp(url, TC__CLUSTER_SCHEME, strlen(TC__CLUSTER_SCHEME)) ==
                   0 ||
               strncmp(url, TC__CLUSTER_TLS_SCHEME,
                       strlen(TC__CLUSTER_TLS_SCHEME)) == 0) {
        const char *nodes = strstr(url, "://") + 3;

        cfg->store.tls.on = url[5] == 's';
        cluster_parts(&u, nodes);
        rc = tc__cfg_parse_cluster(cfg, nodes, err);
    } else if (strncmp(url, "unix://", 7) == 0) {
        cfg->store.kind = TC__STORE_REDIS;
        rc = parse_unix(cfg, url + 7, &u, err);
    } else if (strncmp(url, "lmdb://", 7) == 0) {
        cfg->store.kind = TC__STORE_LMDB;
        if (url[7] != '/' || url[8] == '\0') {
            rc = tc__errf(err, TC_ECONFIG,
                          "store URL: lmdb:// needs an absolute directory, "
                          "as lmdb:///var/cache/tutorcache");
        } else {
            /* a dir holds no query, but mask what looks like one */
            u.query = strchr(url, '?');
            cfg->store.dir = tc__strdup(url + 7);
            rc = cfg->store.dir ? TC_OK : tc__cfg_oom(err);
        }
    } else if (strcmp(url, "memory:") == 0 || strcmp(url, "memory://") == 0) {
        cfg->store.kind = TC__STORE_MEMORY;
        rc = TC_OK;
    } else {
        rc = bad_scheme(url, err);
    }
    if (rc == TC_OK && !(cfg->url = tc__strdup(whole))) {
        rc = tc__cfg_oom(err);
    }
    if (rc == TC_OK) {
        rc = mask_url(cfg, url, &u, err);
    }
    if (rc == TC_OK && rest) {
        rc = unmask_tracking(cfg, err);
    }
    tc__free(rest);
    return rc;
}
