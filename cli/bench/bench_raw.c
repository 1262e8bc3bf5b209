/*
 * bench_raw.c - the yardstick of `tutorcache bench cache`: plain hiredis
 * loops on the keys and values the library's scenarios read, written as
 * a hiredis user would write them (redisCommand, redisAppendCommand), so
 * that a ratio to them is the library's overhead. They must not go
 * through the code they measure, which is why this is the one CLI file
 * that includes hiredis.
 *
 * raw_get and raw_pipe16 are the peers the targets name; raw_get_pttl and
 * raw_pipe16_pttl also send the PTTL the library needs with every GET (so
 * that an L1 fill keeps the entry's remaining TTL), so a ratio to them
 * separates the library's own cost from the cost of that second command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "bench/bench_raw.h"

struct bench_raw {
    redisContext *c;
};

/* ---- one call ----------------------------------------------------------- */

static int lost(const bench_raw *rc, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s",
             rc->c->errstr[0] ? rc->c->errstr : "connection lost");
    return -1;
}

/*
 * 0 for the reply expected, 1 for another one (counted), -1 for an error
 * reply (NOAUTH, a server that is loading), which ends the run: every
 * reply after it would be the same and the numbers would measure nothing.
 */
static int check(const redisReply *r, int is_pttl, size_t value_bytes,
                 char *err, size_t errlen)
{
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: %s", is_pttl ? "PTTL" : "GET", r->str);
        return -1;
    }
    if (is_pttl) {
        return r->type == REDIS_REPLY_INTEGER && r->integer >= 0 ? 0 : 1;
    }
    return r->type == REDIS_REPLY_STRING && (size_t)r->len == value_bytes ? 0
                                                                          : 1;
}

int bench_raw_call(bench_raw *rc, const char *const *keys, size_t n, int pttl,
                   size_t value_bytes, char *err, size_t errlen)
{
    size_t i, nrep = pttl ? 2 * n : n;
    int bad = 0, k;
    void *rep;

    if (n == 1 && !pttl) {
        redisReply *r = redisCommand(rc->c, "GET %s", keys[0]);

        if (!r) {
            return lost(rc, err, errlen);
        }
        k = check(r, 0, value_bytes, err, errlen);
        freeReplyObject(r);
        return k;
    }
    for (i = 0; i < n; i++) {
        if (redisAppendCommand(rc->c, "GET %s", keys[i]) != REDIS_OK ||
            (pttl &&
             redisAppendCommand(rc->c, "PTTL %s", keys[i]) != REDIS_OK)) {
            return lost(rc, err, errlen);
        }
    }
    for (i = 0; i < nrep; i++) {
        if (redisGetReply(rc->c, &rep) != REDIS_OK) {
            return lost(rc, err, errlen);
        }
        k = check(rep, pttl && i % 2 == 1, value_bytes, err, errlen);
        freeReplyObject(rep);
        if (k < 0) {
            return -1;
        }
        bad += k;
    }
    return bad;
}

/* ---- connections -------------------------------------------------------- */

bench_raw *bench_raw_connect(const bench_target *t, int connect_ms,
                             int command_ms, char *err, size_t errlen)
{
    struct timeval ct = {connect_ms / 1000, (connect_ms % 1000) * 1000};
    struct timeval rt = {command_ms / 1000, (command_ms % 1000) * 1000};
    bench_raw *rc = malloc(sizeof(*rc));
    redisContext *c;
    redisReply *r = NULL;

    if (!rc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c = t->path ? redisConnectUnixWithTimeout(t->path, ct)
                : redisConnectWithTimeout(t->host, t->port, ct);
    if (!c || c->err) {
        snprintf(err, errlen, "connect: %s", c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, rt);
    if (t->password) {
        r = t->user ? redisCommand(c, "AUTH %s %s", t->user, t->password)
                    : redisCommand(c, "AUTH %s", t->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "AUTH: %s",
                     r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (t->db) {
        r = redisCommand(c, "SELECT %d", t->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "SELECT %d: %s", t->db,
                     r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
            goto fail;
        }
        freeReplyObject(r);
    }
    rc->c = c;
    return rc;
fail:
    freeReplyObject(r);
    if (c) {
        redisFree(c);
    }
    free(rc);
    return NULL;
}

void bench_raw_close(bench_raw *rc)
{
    if (rc) {
        redisFree(rc->c);
        free(rc);
    }
}

/* ---- the store's URL ---------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* A percent-decoded, malloc'd copy of s[0..n); NULL on a bad escape.
 * The library decodes store URLs too (tc__cfg_pct_decode, stricter), but
 * behind the public boundary the CLI does not cross: the raw benchmark
 * speaks RESP itself and so parses its target URL itself. */
static char *pct_dup(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t i, j = 0;

    if (!out) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
            hexval(s[i + 2]) >= 0) {
            out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

void bench_target_free(bench_target *t)
{
    free(t->host);
    free(t->path);
    free(t->user);
    free(t->password);
    memset(t, 0, sizeof(*t));
}

/* The query of a URL from its '?': db, user and password. */
static void parse_query(bench_target *t, const char *q)
{
    while (q && *q) {
        const char *k = q + 1, *amp = strchr(k, '&');
        size_t n = amp ? (size_t)(amp - k) : strlen(k);

        if (strncmp(k, "db=", 3) == 0) {
            t->db = atoi(k + 3);
        } else if (strncmp(k, "user=", 5) == 0) {
            free(t->user);
            t->user = pct_dup(k + 5, n - 5);
        } else if (strncmp(k, "password=", 9) == 0) {
            free(t->password);
            t->password = pct_dup(k + 9, n - 9);
        }
        q = amp;
    }
}

/*
 * The URL forms of the library (redis://[user:password@]host[:port][/db]
 * [?query], unix:///path[?db=N&user=U&password=P]), read as it reads them:
 * the user info ends at the URL's last '@'. The library has already
 * accepted the URL, so only what a connection needs is extracted here.
 */
static int parse_target(bench_target *t, const char *url)
{
    memset(t, 0, sizeof(*t));
    t->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7, *q = strchr(p, '?');

        t->path = q ? pct_dup(p, (size_t)(q - p)) : strdup(p);
        parse_query(t, q);
        return t->path ? 0 : -1;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        const char *p = url + 8, *at = strrchr(p, '@'), *end, *c;
        const char *hb, *he;

        if (at) {
            const char *colon = memchr(p, ':', (size_t)(at - p));

            if ((colon ? colon : at) > p) {
                t->user = pct_dup(p, (size_t)((colon ? colon : at) - p));
            }
            if (colon) {
                t->password = pct_dup(colon + 1, (size_t)(at - colon - 1));
            }
            p = at + 1;
        }
        end = p + strcspn(p, "/?");
        if (*p == '[') {
            hb = p + 1;
            he = memchr(hb, ']', (size_t)(end - hb));
            if (!he) {
                return -1;
            }
            c = he + 1;
        } else {
            hb = p;
            he = memchr(p, ':', (size_t)(end - p));
            he = he ? he : end;
            c = he;
        }
        if (c < end && *c == ':') {
            t->port = atoi(c + 1);
        }
        t->host =
            he > hb ? strndup(hb, (size_t)(he - hb)) : strdup("127.0.0.1");
        if (*end == '/' && end[1] && end[1] != '?') {
            t->db = atoi(end + 1);
        }
        parse_query(t, strchr(end, '?'));
        return t->host ? 0 : -1;
    }
    return -1;
}

/* The "store" of a JSON config file, malloc'd. */
static char *store_from_file(const char *path)
{
    cJSON *root, *s;
    char *text, *url = NULL;
    size_t len;
    FILE *fp = fopen(path, "rb");

    if (!fp) {
        return NULL;
    }
    if (cli_read_all(fp, (size_t)1 << 24, &text, &len) != 0) {
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    root = cJSON_Parse(text);
    free(text);
    s = cJSON_GetObjectItemCaseSensitive(root, "store");
    if (cJSON_IsString(s)) {
        url = strdup(s->valuestring);
    }
    cJSON_Delete(root);
    return url;
}

/*
 * The public API shows the store URL only with its password masked, as it
 * should; the raw loops need the real one. It is found where the library
 * found it (config's "store_source"): the --store option, TUTORCACHE_URL,
 * the config file, or the REDIS_* variables.
 */
int bench_target_resolve(bench_target *t, const cli_ctx *ctx, const cJSON *cfg,
                         char *err, size_t n)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(cfg, "store_source");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(cfg, "config_file");
    const char *s = cJSON_IsString(src) ? src->valuestring : "";
    char *url = NULL;
    int rc;

    if (strcmp(s, "REDIS_HOST") == 0) {
        const char *port = getenv("REDIS_PORT"), *db = getenv("REDIS_DB");
        const char *pw = getenv("REDIS_PASSWORD");

        memset(t, 0, sizeof(*t));
        t->host = strdup(getenv("REDIS_HOST"));
        t->port = port && *port ? atoi(port) : 6379;
        t->db = db && *db ? atoi(db) : 0;
        t->password = pw && *pw ? strdup(pw) : NULL;
        if (!t->host || (pw && *pw && !t->password)) {
            snprintf(err, n, "out of memory");
            return -1;
        }
        return 0;
    }
    if (strcmp(s, "option") == 0 && ctx->store_url) {
        url = strdup(ctx->store_url);
    } else if (strcmp(s, "TUTORCACHE_URL") == 0 && getenv("TUTORCACHE_URL")) {
        url = strdup(getenv("TUTORCACHE_URL"));
    } else if (strcmp(s, "config file") == 0 && cJSON_IsString(file)) {
        url = store_from_file(file->valuestring);
    }
    if (!url) {
        snprintf(err, n, "cannot tell the store's URL (source \"%s\")", s);
        return -1;
    }
    rc = parse_target(t, url);
    free(url);
    if (rc != 0) {
        snprintf(err, n, "cannot parse the store's URL");
    }
    return rc;
}
