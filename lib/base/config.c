/*
 * config.c - resolves a handle's configuration. Sources are applied from
 * the weakest to the strongest (defaults, config file, environment,
 * options), each overriding what came before, and every value is checked
 * where it is read so that the message names the field that was wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/config.h"

#define DEFAULT_L1_BYTES ((size_t)64 << 20)
/*
 * An entry lives in L1 at most a minute by default even when its L2 TTL is
 * an hour: L1 copies are private to a process, and this bounds how long a
 * process can serve an entry that another process replaced or invalidated.
 */
#define DEFAULT_L1_TTL_MS 60000
#define DEFAULT_DEGRADED_TTL_MS 5000
#define DEFAULT_GEN_REFRESH_MS 1000
#define DEFAULT_FB_RETENTION_MS ((int64_t)30 * 86400 * 1000)

/* The namespaces of the original services. */
static const struct {
    const char *name, *prefix;
    int64_t ttl_s;
} default_ns[] = {
    {"ml_model_predictions", "ml_pred", 3600},
    {"student_profiles", "profile", 1800},
    {"adaptive_paths", "path", 7200},
    {"diagnostic_results", "diag", 86400},
    {"intents", "intent", 3600},
    /* corrections that override classifications: 24 h, per the original
     * service; the key material is "the normalized text" alone */
    {"intent_feedback", "intent_fb", 86400},
};

static int oom(tc__err *err)
{
    return tc__errf(err, TC_ENOMEM, "out of memory");
}

static int set_str(char **dst, const char *src, tc__err *err)
{
    char *c = NULL;

    if (src && !(c = tc__strdup(src))) {
        return oom(err);
    }
    tc__free(*dst);
    *dst = c;
    return TC_OK;
}

/* Whole decimal integer in [min, max], nothing else on the line. */
static int parse_long(const char *s, long long min, long long max,
                      long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s)) {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* ---- store URLs -------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A percent-decoded copy of s[0..n); NULL on a bad escape or no memory. */
static char *pct_decode(const char *s, size_t n, int *bad)
{
    char *out = tc__malloc(n + 1);
    size_t i, j = 0;

    *bad = 0;
    if (!out) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                tc__free(out);
                *bad = 1;
                return NULL;
            }
            out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static void clear_store(tc__config *cfg)
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
    cfg->store.kind = TC__STORE_MEMORY;
}

/* url_masked: the URL with the password replaced by "***". */
static int mask_url(tc__config *cfg, const char *url, tc__err *err)
{
    const char *at = NULL, *colon, *p, *auth = strstr(url, "://");
    size_t n = strlen(url) + 8;

    cfg->store.url_masked = tc__malloc(n);
    if (!cfg->store.url_masked) {
        return oom(err);
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
            !(cfg->store.user = pct_decode(rest, (size_t)(ue - rest), &bad))) {
            return bad ? tc__errf(err, TC_ECONFIG,
                                  "store URL: bad %%-escape "
                                  "in the user name")
                       : oom(err);
        }
        if (colon && !(cfg->store.password = pct_decode(
                           colon + 1, (size_t)(at - colon - 1), &bad))) {
            return bad ? tc__errf(err, TC_ECONFIG,
                                  "store URL: bad %%-escape "
                                  "in the password")
                       : oom(err);
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
        return oom(err);
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
        if (parse_long(tmp, 1, 65535, &v) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "store URL: port: %s is not a port (1-65535)", tmp);
        }
        cfg->store.port = (int)v;
    }
    if (slash && slash[1]) {
        long long v;

        if (parse_long(slash + 1, 0, INT_MAX, &v) != 0) {
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
        return oom(err);
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
            if (parse_long(tmp, 0, INT_MAX, &v) != 0) {
                return tc__errf(err, TC_ECONFIG,
                                "store URL: db: %s is not a database number",
                                tmp);
            }
            cfg->store.db = (int)v;
        } else if (strncmp(k, "password=", 9) == 0) {
            tc__free(cfg->store.password);
            if (!(cfg->store.password = pct_decode(k + 9, klen - 9, &bad))) {
                return bad ? tc__errf(err, TC_ECONFIG,
                                      "store URL: bad %%-escape in password")
                           : oom(err);
            }
        } else if (strncmp(k, "user=", 5) == 0) {
            tc__free(cfg->store.user);
            if (!(cfg->store.user = pct_decode(k + 5, klen - 5, &bad))) {
                return bad ? tc__errf(err, TC_ECONFIG,
                                      "store URL: bad %%-escape in user")
                           : oom(err);
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

int tc__config_parse_url(tc__config *cfg, const char *url, tc__err *err)
{
    int rc;

    clear_store(cfg);
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
            rc = cfg->store.dir ? TC_OK : oom(err);
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
    if (rc == TC_OK && !(cfg->url = tc__strdup(url))) {
        rc = oom(err);
    }
    if (rc == TC_OK) {
        rc = mask_url(cfg, url, err);
    }
    return rc;
}

/* ---- namespaces -------------------------------------------------------- */

static int valid_name(const char *s, size_t max)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > max) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) {
            return 0;
        }
    }
    return 1;
}

static tc__ns_def *find_ns(tc__config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->nns; i++) {
        if (strcmp(cfg->ns[i].name, name) == 0) {
            return &cfg->ns[i];
        }
    }
    return NULL;
}

static tc__ns_def *add_ns(tc__config *cfg, const char *name, const char *prefix,
                          int64_t ttl_ms, tc__err *err)
{
    tc__ns_def *ns = tc__realloc(cfg->ns, (cfg->nns + 1) * sizeof(*ns));

    if (!ns) {
        oom(err);
        return NULL;
    }
    cfg->ns = ns;
    ns = &cfg->ns[cfg->nns];
    memset(ns, 0, sizeof(*ns));
    ns->name = tc__strdup(name);
    ns->prefix = tc__strdup(prefix);
    if (!ns->name || !ns->prefix) {
        tc__free(ns->name);
        tc__free(ns->prefix);
        oom(err);
        return NULL;
    }
    ns->ttl_ms = ttl_ms;
    ns->l1_ttl_ms = 0; /* resolved at the end of tc__config_load */
    cfg->nns++;
    return ns;
}

/* A TTL in seconds from JSON: a positive, finite number (fractions ok). */
static int json_ttl(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble <= 0 || v->valuedouble > 1e9) {
        return -1;
    }
    *out = (int64_t)llround(v->valuedouble * 1000.0);
    return *out > 0 ? 0 : -1;
}

static int file_namespaces(tc__config *cfg, const cJSON *obj, const char *path,
                           tc__err *err)
{
    const cJSON *it;

    if (!cJSON_IsObject(obj)) {
        return tc__errf(err, TC_ECONFIG, "%s: namespaces: not an object", path);
    }
    for (it = obj->child; it; it = it->next) {
        tc__ns_def *ns;
        const cJSON *f;
        const char *prefix = NULL;
        int64_t ttl = 0, l1 = 0;
        size_t k;

        if (!valid_name(it->string, 64)) {
            return tc__errf(err, TC_ECONFIG,
                            "%s: namespaces: \"%s\" is not a valid name "
                            "(letters, digits, _ . -; at most 64)",
                            path, it->string);
        }
        if (!cJSON_IsObject(it)) {
            return tc__errf(err, TC_ECONFIG, "%s: namespaces.%s: not an object",
                            path, it->string);
        }
        for (f = it->child; f; f = f->next) {
            if (strcmp(f->string, "prefix") == 0) {
                if (!cJSON_IsString(f) || !valid_name(f->valuestring, 32)) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.prefix: letters, "
                                    "digits, _ . -; at most 32",
                                    path, it->string);
                }
                prefix = f->valuestring;
            } else if (strcmp(f->string, "ttl") == 0) {
                if (json_ttl(f, &ttl) != 0) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.ttl: not a positive "
                                    "number of seconds",
                                    path, it->string);
                }
            } else if (strcmp(f->string, "l1_ttl") == 0) {
                if (json_ttl(f, &l1) != 0) {
                    return tc__errf(err, TC_ECONFIG,
                                    "%s: namespaces.%s.l1_ttl: not a "
                                    "positive number of seconds",
                                    path, it->string);
                }
            } else {
                return tc__errf(err, TC_ECONFIG,
                                "%s: namespaces.%s: unknown field \"%s\" "
                                "(prefix, ttl, l1_ttl)",
                                path, it->string, f->string);
            }
        }
        ns = find_ns(cfg, it->string);
        if (!ns) {
            if (!prefix || !ttl) {
                return tc__errf(err, TC_ECONFIG,
                                "%s: namespaces.%s: a new namespace needs "
                                "prefix and ttl",
                                path, it->string);
            }
            if (!(ns = add_ns(cfg, it->string, prefix, ttl, err))) {
                return TC_ENOMEM;
            }
        } else {
            if (prefix && set_str(&ns->prefix, prefix, err) != TC_OK) {
                return TC_ENOMEM;
            }
            if (ttl) {
                ns->ttl_ms = ttl;
            }
        }
        if (l1) {
            ns->l1_ttl_ms = l1;
        }
        /* keys hash the prefix, not the name: a shared prefix would make
         * two namespaces read and overwrite each other's entries */
        for (k = 0; k < cfg->nns; k++) {
            if (&cfg->ns[k] != ns &&
                strcmp(cfg->ns[k].prefix, ns->prefix) == 0) {
                return tc__errf(err, TC_ECONFIG,
                                "%s: namespaces.%s.prefix: \"%s\" is the "
                                "prefix of %s already",
                                path, it->string, ns->prefix,
                                cfg->ns[k].name);
            }
        }
    }
    return TC_OK;
}

/* An integer field of the config file within [min, max]. */
static int file_int(const cJSON *f, long long min, long long max,
                    long long *out)
{
    if (!cJSON_IsNumber(f) || f->valuedouble != floor(f->valuedouble) ||
        f->valuedouble < (double)min || f->valuedouble > (double)max) {
        return -1;
    }
    *out = (long long)f->valuedouble;
    return 0;
}

static char *read_file(const char *path, tc__err *err, int *rc)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!fp) {
        *rc = tc__errf(err, TC_ECONFIG, "config file %s: %s", path,
                       strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0 || n > (1L << 24)) {
        *rc = tc__errf(err, TC_ECONFIG,
                       "config file %s: unreadable or over 16 MiB", path);
    } else if (!(buf = tc__malloc((size_t)n + 1))) {
        *rc = oom(err);
    } else if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        *rc = tc__errf(err, TC_ECONFIG, "config file %s: read error", path);
        tc__free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *rc = TC_OK;
    }
    fclose(fp);
    return buf;
}

static int load_file(tc__config *cfg, const char *path, tc__err *err)
{
    const char *at = NULL;
    cJSON *root, *f;
    char *text;
    int rc;

    if (!(text = read_file(path, err, &rc))) {
        return rc;
    }
    tc__oom_take();
    /* one object and nothing after it; the error position comes back
     * through the call (cJSON_GetErrorPtr() is shared by all threads) */
    root = cJSON_ParseWithOpts(text, &at, 1);
    if (!root) {
        int line = 1;
        const char *p;

        if (tc__oom_take()) {
            tc__free(text);
            return oom(err);
        }
        for (p = text; at && p < at && *p; p++) {
            line += *p == '\n';
        }
        tc__free(text);
        return tc__errf(err, TC_ECONFIG, "config file %s:%d: malformed JSON",
                        path, line);
    }
    tc__free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tc__errf(err, TC_ECONFIG, "config file %s: not a JSON object",
                        path);
    }
    rc = TC_OK;
    for (f = root->child; f && rc == TC_OK; f = f->next) {
        const char *k = f->string;
        long long v = 0;

        if (strcmp(k, "store") == 0) {
            if (!cJSON_IsString(f)) {
                rc = tc__errf(err, TC_ECONFIG, "%s: store: not a string", path);
            } else if ((rc = tc__config_parse_url(cfg, f->valuestring, err)) ==
                       TC_OK) {
                cfg->url_source = "config file";
            }
        } else if (strcmp(k, "connect_timeout_ms") == 0 ||
                   strcmp(k, "command_timeout_ms") == 0) {
            if (file_int(f, 1, TC__MAX_TIMEOUT_MS, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: %s: not a whole number of ms in 1..%d", path,
                              k, TC__MAX_TIMEOUT_MS);
            } else if (k[1] == 'o' && k[2] == 'n') {
                cfg->store.connect_timeout_ms = (int)v;
            } else {
                cfg->store.command_timeout_ms = (int)v;
            }
        } else if (strcmp(k, "pool_size") == 0) {
            if (file_int(f, 1, TC__MAX_POOL, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG, "%s: pool_size: not in 1..%d",
                              path, TC__MAX_POOL);
            }
            cfg->store.pool_size = (int)v;
        } else if (strcmp(k, "l1_max_bytes") == 0 ||
                   strcmp(k, "lmdb_map_bytes") == 0) {
            if (file_int(f, 0, (long long)1 << 50, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG, "%s: %s: not a byte count", path,
                              k);
            } else if (k[0] == 'l' && k[1] == '1') {
                cfg->l1_max_bytes = (size_t)v;
            } else {
                cfg->store.map_bytes = (size_t)v;
            }
        } else if (strcmp(k, "enable_caching") == 0) {
            if (!cJSON_IsBool(f)) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: enable_caching: not true or false", path);
            }
            cfg->enable_caching = cJSON_IsTrue(f);
        } else if (strcmp(k, "degraded_ttl_ms") == 0 ||
                   strcmp(k, "generation_refresh_ms") == 0) {
            if (file_int(f, 1, 86400000, &v) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: %s: not a whole number of ms", path, k);
            } else if (k[0] == 'd') {
                cfg->degraded_ttl_ms = v;
            } else {
                cfg->gen_refresh_ms = v;
            }
        } else if (strcmp(k, "model") == 0) {
            if (!cJSON_IsString(f) || !*f->valuestring) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: model: not a file name", path);
            } else {
                rc = set_str(&cfg->model_path, f->valuestring, err);
            }
        } else if (strcmp(k, "feedback_retention") == 0) {
            int64_t ms;

            if (json_ttl(f, &ms) != 0) {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: feedback_retention: not a positive "
                              "number of seconds",
                              path);
            } else {
                cfg->fb_retention_ms = ms;
            }
        } else if (strcmp(k, "spool_dir") == 0) {
            if (!cJSON_IsString(f) || f->valuestring[0] != '/') {
                rc = tc__errf(err, TC_ECONFIG,
                              "%s: spool_dir: not an absolute directory",
                              path);
            } else {
                rc = set_str(&cfg->spool_dir, f->valuestring, err);
            }
        } else if (strcmp(k, "namespaces") == 0) {
            rc = file_namespaces(cfg, f, path, err);
        } else {
            rc = tc__errf(err, TC_ECONFIG,
                          "%s: unknown field \"%s\" (store, "
                          "connect_timeout_ms, command_timeout_ms, pool_size, "
                          "l1_max_bytes, lmdb_map_bytes, enable_caching, "
                          "degraded_ttl_ms, generation_refresh_ms, "
                          "model, feedback_retention, spool_dir, "
                          "namespaces)",
                          path, k);
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- the environment --------------------------------------------------- */

/* Percent-encodes s for the user-info part of a URL. */
static char *pct_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = n <= SIZE_MAX / 3 - 1 ? tc__malloc(n * 3 + 1) : NULL;
    char *o = out;

    if (!out) {
        return NULL;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || strchr("-._~", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* redis:// built from REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD */
static int env_redis(tc__config *cfg, const char *host, tc__err *err)
{
    const char *port = getenv("REDIS_PORT");
    const char *db = getenv("REDIS_DB");
    const char *pw = getenv("REDIS_PASSWORD");
    char *pwenc = NULL, *url;
    long long v;
    size_t n;
    int rc;

    if (port && *port && parse_long(port, 1, 65535, &v) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "REDIS_PORT: %s is not a port (1-65535)", port);
    }
    if (db && *db && parse_long(db, 0, INT_MAX, &v) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "REDIS_DB: %s is not a database number", db);
    }
    if (strpbrk(host, "/@?# ")) {
        return tc__errf(err, TC_ECONFIG, "REDIS_HOST: %s is not a host name",
                        host);
    }
    if (pw && *pw && !(pwenc = pct_encode(pw))) {
        return oom(err);
    }
    n = strlen(host) + (pwenc ? strlen(pwenc) : 0) + 64;
    if (!(url = tc__malloc(n))) {
        tc__free(pwenc);
        return oom(err);
    }
    if (port && *port) {
        snprintf(url, n, "redis://%s%s%s%s%s:%s/%s", pwenc ? ":" : "",
                 pwenc ? pwenc : "", pwenc ? "@" : "",
                 strchr(host, ':') ? "[" : "", host, port, db && *db ? db : "0");
    } else {
        snprintf(url, n, "redis://%s%s%s%s%s:%d/%s", pwenc ? ":" : "",
                 pwenc ? pwenc : "", pwenc ? "@" : "",
                 strchr(host, ':') ? "[" : "", host, TC__DEFAULT_REDIS_PORT,
                 db && *db ? db : "0");
    }
    if (strchr(host, ':')) {
        /* an IPv6 literal: close the bracket before the port */
        char *p = strrchr(url, ':');
        memmove(p + 1, p, strlen(p) + 1);
        *p = ']';
    }
    tc__free(pwenc);
    rc = tc__config_parse_url(cfg, url, err);
    tc__free(url);
    return rc;
}

static const char *env(const char *name, unsigned flags)
{
    const char *v;

    if (flags & TC_OPT_NO_ENV) {
        return NULL;
    }
    v = getenv(name);
    return v && *v ? v : NULL;
}

static int load_env(tc__config *cfg, unsigned flags, tc__err *err)
{
    const char *v;
    long long n;
    int rc;

    if ((v = env("TUTORCACHE_URL", flags))) {
        if ((rc = tc__config_parse_url(cfg, v, err)) != TC_OK) {
            return rc;
        }
        cfg->url_source = "TUTORCACHE_URL";
    } else if ((v = env("REDIS_HOST", flags))) {
        if ((rc = env_redis(cfg, v, err)) != TC_OK) {
            return rc;
        }
        cfg->url_source = "REDIS_HOST";
    }
    if ((v = env("TUTORCACHE_MODEL", flags)) &&
        (rc = set_str(&cfg->model_path, v, err)) != TC_OK) {
        return rc;
    }
    if ((v = env("TUTORCACHE_SPOOL_DIR", flags))) {
        if (v[0] != '/') {
            return tc__errf(err, TC_ECONFIG,
                            "TUTORCACHE_SPOOL_DIR: %s is not an absolute "
                            "directory",
                            v);
        }
        if ((rc = set_str(&cfg->spool_dir, v, err)) != TC_OK) {
            return rc;
        }
    }
    if ((v = env("CACHE_TTL", flags))) {
        tc__ns_def *ns = find_ns(cfg, "intents");

        if (parse_long(v, 1, 1000000000, &n) != 0) {
            return tc__errf(err, TC_ECONFIG,
                            "CACHE_TTL: %s is not a positive number of "
                            "seconds",
                            v);
        }
        if (ns) {
            ns->ttl_ms = n * 1000;
        }
    }
    if ((v = env("ENABLE_CACHING", flags)) &&
        parse_bool(v, &cfg->enable_caching) != 0) {
        return tc__errf(err, TC_ECONFIG,
                        "ENABLE_CACHING: %s is not true or false", v);
    }
    return TC_OK;
}

/* ---- putting it together ----------------------------------------------- */

static int default_store(tc__config *cfg, tc__err *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char *url;
    size_t n;
    int rc;

    if (xdg && xdg[0] == '/') {
        n = strlen(xdg) + 32;
        if (!(url = tc__malloc(n))) {
            return oom(err);
        }
        snprintf(url, n, "lmdb://%s/tutorcache", xdg);
    } else if (home && home[0] == '/') {
        n = strlen(home) + 40;
        if (!(url = tc__malloc(n))) {
            return oom(err);
        }
        snprintf(url, n, "lmdb://%s/.cache/tutorcache", home);
    } else {
        /* no home: an L1-only cache still works */
        url = tc__strdup("memory:");
        if (!url) {
            return oom(err);
        }
    }
    rc = tc__config_parse_url(cfg, url, err);
    tc__free(url);
    cfg->url_source = "default";
    return rc;
}

/*
 * The spool keeps feedback the L2 could not take: beside the LMDB
 * directory, or under $XDG_STATE_HOME/tutorcache (~/.local/state) for
 * Redis, since it is state to keep, not cache to lose.
 */
static int default_spool(tc__config *cfg, tc__err *err)
{
    const char *st = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    size_t n;

    if (cfg->store.kind == TC__STORE_LMDB) {
        n = strlen(cfg->store.dir) + 16;
        if (!(cfg->spool_dir = tc__malloc(n))) {
            return oom(err);
        }
        snprintf(cfg->spool_dir, n, "%s/spool", cfg->store.dir);
    } else if (st && st[0] == '/') {
        n = strlen(st) + 32;
        if (!(cfg->spool_dir = tc__malloc(n))) {
            return oom(err);
        }
        snprintf(cfg->spool_dir, n, "%s/tutorcache/spool", st);
    } else if (home && home[0] == '/') {
        n = strlen(home) + 40;
        if (!(cfg->spool_dir = tc__malloc(n))) {
            return oom(err);
        }
        snprintf(cfg->spool_dir, n, "%s/.local/state/tutorcache/spool", home);
    }
    return TC_OK; /* no home: no spool, and feedback fails when L2 is down */
}

static int apply_options(tc__config *cfg, const tc_options *o, tc__err *err)
{
    int rc;

    if (o->store_url) {
        if ((rc = tc__config_parse_url(cfg, o->store_url, err)) != TC_OK) {
            return rc;
        }
        cfg->url_source = "option";
    }
    if (o->connect_timeout_ms > 0) {
        cfg->store.connect_timeout_ms = o->connect_timeout_ms;
    }
    if (o->command_timeout_ms > 0) {
        cfg->store.command_timeout_ms = o->command_timeout_ms;
    }
    if (o->connect_timeout_ms > TC__MAX_TIMEOUT_MS ||
        o->command_timeout_ms > TC__MAX_TIMEOUT_MS) {
        return tc__errf(err, TC_ECONFIG, "timeouts: at most %d ms",
                        TC__MAX_TIMEOUT_MS);
    }
    if (o->pool_size > TC__MAX_POOL) {
        return tc__errf(err, TC_ECONFIG, "pool_size: at most %d",
                        TC__MAX_POOL);
    }
    if (o->pool_size > 0) {
        cfg->store.pool_size = o->pool_size;
    }
    if (o->l1_max_bytes) {
        cfg->l1_max_bytes = o->l1_max_bytes;
    }
    if (o->lmdb_map_bytes) {
        cfg->store.map_bytes = o->lmdb_map_bytes;
    }
    if (o->enable_caching == 0 || o->enable_caching == 1) {
        cfg->enable_caching = o->enable_caching;
    } else if (o->enable_caching != -1) {
        return tc__errf(err, TC_ECONFIG, "enable_caching: -1, 0 or 1");
    }
    if (o->intents_ttl_ms > 0) {
        tc__ns_def *ns = find_ns(cfg, "intents");

        if (ns) {
            ns->ttl_ms = o->intents_ttl_ms;
        }
    } else if (o->intents_ttl_ms < 0) {
        return tc__errf(err, TC_ECONFIG, "intents_ttl_ms: negative");
    }
    return TC_OK;
}

int tc__config_load(tc__config *cfg, const tc_options *opt, tc__err *err)
{
    tc_options defaults;
    const char *path;
    size_t i;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (!opt) {
        tc__options_init(&defaults);
        opt = &defaults;
    }
    if (opt->version < 1) {
        return tc__errf(err, TC_EINVAL,
                        "options: version %u (call tc_options_init)",
                        opt->version);
    }
    cfg->store.port = TC__DEFAULT_REDIS_PORT;
    cfg->store.connect_timeout_ms = TC__DEFAULT_TIMEOUT_MS;
    cfg->store.command_timeout_ms = TC__DEFAULT_TIMEOUT_MS;
    cfg->store.pool_size = TC__DEFAULT_POOL;
    cfg->l1_max_bytes = DEFAULT_L1_BYTES;
    cfg->store.map_bytes = TC__DEFAULT_MAP_BYTES;
    cfg->enable_caching = 1;
    cfg->degraded_ttl_ms = DEFAULT_DEGRADED_TTL_MS;
    cfg->gen_refresh_ms = DEFAULT_GEN_REFRESH_MS;
    cfg->fb_retention_ms = DEFAULT_FB_RETENTION_MS;
    for (i = 0; i < sizeof(default_ns) / sizeof(default_ns[0]); i++) {
        if (!add_ns(cfg, default_ns[i].name, default_ns[i].prefix,
                    default_ns[i].ttl_s * 1000, err)) {
            rc = TC_ENOMEM;
            goto fail;
        }
    }
    if ((rc = default_store(cfg, err)) != TC_OK) {
        goto fail;
    }
    path = opt->config_path;
    if (!path && !(opt->flags & TC_OPT_NO_ENV)) {
        path = env("TUTORCACHE_CONFIG", opt->flags);
    }
    if (path && !(opt->flags & TC_OPT_NO_CONFIG)) {
        if ((rc = set_str(&cfg->config_path, path, err)) != TC_OK ||
            (rc = load_file(cfg, path, err)) != TC_OK) {
            goto fail;
        }
    }
    if ((rc = load_env(cfg, opt->flags, err)) != TC_OK ||
        (rc = apply_options(cfg, opt, err)) != TC_OK) {
        goto fail;
    }
    if (!cfg->spool_dir && (rc = default_spool(cfg, err)) != TC_OK) {
        goto fail;
    }
    for (i = 0; i < cfg->nns; i++) {
        tc__ns_def *ns = &cfg->ns[i];
        int64_t l1 = ns->l1_ttl_ms ? ns->l1_ttl_ms : DEFAULT_L1_TTL_MS;

        /* With no L2, L1 is the cache and keeps the namespace's TTL. */
        if (!ns->l1_ttl_ms && cfg->store.kind == TC__STORE_MEMORY) {
            l1 = ns->ttl_ms;
        }
        ns->l1_ttl_ms = l1 < ns->ttl_ms ? l1 : ns->ttl_ms;
    }
    return TC_OK;
fail:
    tc__config_free(cfg);
    return rc;
}

void tc__config_free(tc__config *cfg)
{
    size_t i;

    if (!cfg) {
        return;
    }
    clear_store(cfg);
    for (i = 0; i < cfg->nns; i++) {
        tc__free(cfg->ns[i].name);
        tc__free(cfg->ns[i].prefix);
    }
    tc__free(cfg->ns);
    tc__free(cfg->config_path);
    tc__free(cfg->model_path);
    tc__free(cfg->spool_dir);
    memset(cfg, 0, sizeof(*cfg));
}

void tc__options_init(tc_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->version = TC_OPTIONS_VERSION;
    opt->enable_caching = -1;
    opt->log_level = TC_LOG_WARN;
}
