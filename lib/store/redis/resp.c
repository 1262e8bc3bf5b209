/*
 * resp.c - the wire of the Redis store (resp.h): RESP requests written by
 * hand into one buffer, sent with one sendmsg(MSG_NOSIGNAL); replies
 * parsed by hiredis' reader straight into slots of the call; connections
 * opened with their timeouts, AUTH and SELECT.
 *
 * hiredis is used for what it does well, connecting and parsing, and not
 * for formatting or writing: its per-command formatting, its reply
 * objects and the signal-mask system calls a write(2) that may raise
 * SIGPIPE needs are all avoided on the hot path.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "store/redis/resp.h"

#define REQ_IOV 64 /* iovecs per sendmsg */
/* Room for a RESP header "$<n>\r\n" or "*<n>\r\n" of any size_t, or a
 * decimal int64. */
#define NUM_TEXT 24
#define MS_PER_S 1000
#define US_PER_MS 1000

/* ---- requests ----------------------------------------------------------- */

void tc__req_init(tc__req *r)
{
    r->buf = r->stack;
    r->len = 0;
    r->cap = sizeof(r->stack);
    r->seg = r->segstack;
    r->nseg = 0;
    r->segcap = TC__REQ_SEGS;
    r->open = 0;
    r->oom = 0;
}

void tc__req_free(tc__req *r)
{
    if (r->buf != r->stack) {
        tc__free(r->buf);
    }
    if (r->seg != r->segstack) {
        tc__free(r->seg);
    }
}

void tc__req_grow(tc__req *r, size_t n)
{
    size_t cap = r->cap;
    char *nb;

    if (r->oom || n <= r->cap - r->len) {
        return;
    }
    while (n > cap - r->len) {
        if (cap > SIZE_MAX / 2) {
            r->oom = 1;
            return;
        }
        cap *= 2;
    }
    nb = r->buf == r->stack ? tc__malloc(cap) : tc__realloc(r->buf, cap);
    if (!nb) {
        r->oom = 1;
        return;
    }
    if (r->buf == r->stack) {
        memcpy(nb, r->stack, r->len);
    }
    r->buf = nb;
    r->cap = cap;
}

static void req_seg(tc__req *r, const char *ext, size_t off, size_t len)
{
    tc__rseg *ns;

    if (r->oom || len == 0) {
        return;
    }
    if (r->nseg == r->segcap) {
        if (r->segcap > SIZE_MAX / 2 / sizeof(*ns)) {
            r->oom = 1;
            return;
        }
        ns = r->seg == r->segstack
                 ? tc__malloc(2 * r->segcap * sizeof(*ns))
                 : tc__realloc(r->seg, 2 * r->segcap * sizeof(*ns));
        if (!ns) {
            r->oom = 1;
            return;
        }
        if (r->seg == r->segstack) {
            memcpy(ns, r->segstack, sizeof(r->segstack));
        }
        r->seg = ns;
        r->segcap *= 2;
    }
    r->seg[r->nseg].ext = ext;
    r->seg[r->nseg].off = off;
    r->seg[r->nseg].len = len;
    r->nseg++;
}

/* Closes the copied bytes into a segment, before an ext one. */
static void req_cut(tc__req *r)
{
    req_seg(r, NULL, r->open, r->len - r->open);
    r->open = r->len;
}

int tc__req_done(tc__req *r)
{
    req_cut(r);
    return r->oom ? -1 : 0;
}

size_t tc__resp_fmt_len(char *out, char c, size_t n)
{
    char tmp[NUM_TEXT], *p = tmp + sizeof(tmp);
    size_t len;

    *--p = '\n';
    *--p = '\r';
    do {
        *--p = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    *--p = c;
    len = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, len);
    return len;
}

void tc__req_len(tc__req *r, char c, size_t n)
{
    char tmp[NUM_TEXT];

    tc__req_put(r, tmp, tc__resp_fmt_len(tmp, c, n));
}

void tc__req_bulk(tc__req *r, const void *p, size_t n)
{
    tc__req_len(r, '$', n);
    if (n > TC__REQ_COPY_MAX) {
        req_cut(r);
        req_seg(r, p, 0, n);
    } else {
        tc__req_put(r, p, n);
    }
    tc__req_put(r, "\r\n", 2);
}

void tc__req_str(tc__req *r, const char *s)
{
    tc__req_bulk(r, s, strlen(s));
}

void tc__req_i64(tc__req *r, int64_t v)
{
    char num[NUM_TEXT];

    tc__req_bulk(r, num,
                 (size_t)snprintf(num, sizeof(num), "%lld", (long long)v));
}

void tc__req_cmd1(tc__req *r, const char *cmd, const char *key)
{
    tc__req_len(r, '*', key ? 2 : 1);
    tc__req_str(r, cmd);
    if (key) {
        tc__req_str(r, key);
    }
}

void tc__req_argv(tc__req *r, int argc, const char *const *argv)
{
    tc__req_len(r, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        tc__req_str(r, argv[i]);
    }
}

/*
 * The commands are constants and a key's bulk string is formatted once
 * for both: this is the request of every L2 read.
 */
void tc__req_mget(tc__req *r, const tc__store_get *items, size_t n)
{
    static const char get[] = "*2\r\n$3\r\nGET\r\n";
    static const char pttl[] = "*2\r\n$4\r\nPTTL\r\n";
    char kb[NUM_TEXT + TC_KEY_MAX + 2]; /* "$<len>\r\n" key "\r\n" */

    for (size_t i = 0; i < n; i++) {
        const char *key = items[i].key;
        size_t klen = strlen(key), m;

        if (klen > TC_KEY_MAX) { /* not a key of key.c; tests use such */
            tc__req_put(r, get, sizeof(get) - 1);
            tc__req_bulk(r, key, klen);
            tc__req_put(r, pttl, sizeof(pttl) - 1);
            tc__req_bulk(r, key, klen);
            continue;
        }
        m = tc__resp_fmt_len(kb, '$', klen);
        memcpy(kb + m, key, klen);
        memcpy(kb + m + klen, "\r\n", 2);
        m += klen + 2;
        tc__req_put(r, get, sizeof(get) - 1);
        tc__req_put(r, kb, m);
        tc__req_put(r, pttl, sizeof(pttl) - 1);
        tc__req_put(r, kb, m);
    }
}

void tc__req_mset(tc__req *r, const tc__store_set *items, size_t n)
{
    static const char set[] = "*5\r\n$3\r\nSET\r\n";
    static const char px[] = "$2\r\nPX\r\n";

    for (size_t i = 0; i < n; i++) {
        if (items[i].status != TC_OK) {
            continue;
        }
        tc__req_put(r, set, sizeof(set) - 1);
        tc__req_str(r, items[i].key);
        tc__req_bulk(r, items[i].len ? items[i].val : "", items[i].len);
        tc__req_put(r, px, sizeof(px) - 1);
        tc__req_i64(r, items[i].ttl_ms);
    }
}

/*
 * sendmsg(MSG_NOSIGNAL), not hiredis' write(2): a server that went away
 * then gives EPIPE rather than a SIGPIPE that would kill the host, with
 * no signal mask to set and restore around each call. The socket's
 * SO_SNDTIMEO (set by redisSetTimeout) bounds each wait.
 */
int tc__req_send(const tc__req *r, int fd)
{
    struct iovec iov[REQ_IOV];
    struct msghdr mh;
    size_t i = 0, skip = 0, k, j;
    ssize_t sent;

    while (i < r->nseg) {
        for (j = i, k = 0; j < r->nseg && k < REQ_IOV; j++, k++) {
            const tc__rseg *g = &r->seg[j];
            const char *base = g->ext ? g->ext : r->buf + g->off;

            iov[k].iov_base = (void *)(base + (j == i ? skip : 0));
            iov[k].iov_len = g->len - (j == i ? skip : 0);
        }
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = k;
        sent = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno ? errno : EIO;
        }
        while (sent > 0 && i < r->nseg) {
            size_t left = r->seg[i].len - skip;

            if ((size_t)sent >= left) {
                sent -= (ssize_t)left;
                i++;
                skip = 0;
            } else {
                skip += (size_t)sent;
                sent = 0;
            }
        }
    }
    return 0;
}

/* ---- replies ------------------------------------------------------------ */

/* What an element nested in an array becomes when the sink does not keep
 * elements: the array's type and length say enough. */
static char nested_reply;

/* An array's first slots, before any element has arrived. */
#define REP_FIRST 8

/*
 * Makes room in array p for its element at i. The slots double as the
 * elements arrive, up to the announced length: a header alone
 * ("*50000000\r\n", 11 bytes) costs nothing, and a reply of n elements
 * costs at most twice its slots, however large the length it announced.
 */
static int rep_room(tc__rrep *p, size_t i)
{
    size_t cap = p->nalloc ? p->nalloc : REP_FIRST;
    tc__rrep *ne;

    if (i < p->nalloc) {
        return 0;
    }
    while (cap <= i) {
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    }
    if (cap > p->elements) {
        cap = p->elements;
    }
    if (cap > SIZE_MAX / sizeof(*ne) ||
        !(ne = tc__realloc(p->element, cap * sizeof(*ne)))) {
        return -1;
    }
    memset(ne + p->nalloc, 0, (cap - p->nalloc) * sizeof(*ne));
    p->element = ne;
    p->nalloc = cap;
    return 0;
}

static void *rep_new(const redisReadTask *t, int type)
{
    tc__rsink *k = t->privdata;
    tc__rrep *r;

    if (t->parent) {
        tc__rrep *p = t->parent->obj;

        if (!k || !k->nested || (void *)p == &nested_reply) {
            return &nested_reply;
        }
        if (t->idx < 0 || (size_t)t->idx >= p->elements ||
            rep_room(p, (size_t)t->idx) != 0) {
            return NULL; /* out of memory (hiredis counts the elements) */
        }
        r = &p->element[t->idx];
    } else {
        if (!k || k->next == k->n) {
            return NULL; /* cannot happen: a call reads as many as it has */
        }
        r = &k->slot[k->next++];
    }
    r->type = type;
    r->integer = 0;
    r->str = NULL;
    r->len = 0;
    r->element = NULL;
    r->elements = 0;
    r->nalloc = 0;
    return r;
}

static void *rep_string(const redisReadTask *t, char *str, size_t len)
{
    tc__rrep *r = rep_new(t, t->type);

    if (!r || (void *)r == &nested_reply || t->type == REDIS_REPLY_STATUS) {
        return r; /* a status ("OK", "PONG") says all by its type */
    }
    if (!(r->str = tc__memdup0(str, len))) {
        return NULL; /* hiredis reports it as REDIS_ERR_OOM */
    }
    r->len = len;
    return r;
}

/* An array's slots are not made here but as its elements arrive
 * (rep_room), so that no length a server announces sizes an allocation. */
static void *rep_array(const redisReadTask *t, int elements)
{
    tc__rrep *r = rep_new(t, REDIS_REPLY_ARRAY);

    if (r && (void *)r != &nested_reply) {
        r->elements = elements > 0 ? (size_t)elements : 0;
    }
    return r;
}

static void *rep_integer(const redisReadTask *t, long long v)
{
    tc__rrep *r = rep_new(t, REDIS_REPLY_INTEGER);

    if (r && (void *)r != &nested_reply) {
        r->integer = v;
    }
    return r;
}

static void *rep_nil(const redisReadTask *t)
{
    return rep_new(t, REDIS_REPLY_NIL);
}

/*
 * Frees what a slot holds and leaves it empty. It may run twice on one
 * slot (hiredis frees a reply it could not finish, and the call clears
 * its sink afterwards), so it must be idempotent.
 */
static void rep_free(void *obj)
{
    tc__rrep *r = obj;

    if (!obj || obj == &nested_reply) {
        return;
    }
    tc__free(r->str);
    r->str = NULL;
    if (r->element) {
        for (size_t i = 0; i < r->nalloc; i++) {
            rep_free(&r->element[i]);
        }
        tc__free(r->element);
        r->element = NULL;
        r->nalloc = 0;
    }
}

static redisReplyObjectFunctions rep_fns = {rep_string, rep_array, rep_integer,
                                            rep_nil, rep_free};

int tc__sink_init(tc__rsink *k, tc__rrep *stack, size_t n, int nested)
{
    k->next = 0;
    k->n = n;
    k->nested = nested;
    k->slot = n <= TC__REP_STACK ? stack : tc__calloc(n, sizeof(*k->slot));
    return k->slot ? 0 : -1;
}

void tc__sink_clear(tc__rsink *k)
{
    for (size_t i = 0; i < k->next; i++) {
        rep_free(&k->slot[i]);
    }
    k->next = 0;
}

void tc__sink_free(tc__rsink *k, const tc__rrep *stack)
{
    if (!k->slot) {
        return;
    }
    tc__sink_clear(k);
    if (k->slot != stack) {
        tc__free(k->slot);
    }
    k->slot = NULL;
}

const tc__rrep *tc__rrep_at(const tc__rrep *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || !r->element ||
        i >= r->elements || i >= r->nalloc) {
        return NULL;
    }
    return &r->element[i];
}

static int prefixed(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

int tc__resp_error_code(const char *str)
{
    if (prefixed(str, "WRONGPASS") || prefixed(str, "NOAUTH") ||
        prefixed(str, "NOPERM") || prefixed(str, "ERR invalid pass") ||
        prefixed(str, "ERR invalid user") || prefixed(str, "ERR AUTH") ||
        prefixed(str, "ERR Client sent AUTH")) {
        return TC_EAUTH;
    }
    if (prefixed(str, "LOADING") || prefixed(str, "BUSY ") ||
        prefixed(str, "MASTERDOWN") || prefixed(str, "TRYAGAIN")) {
        return TC_EUNAVAIL;
    }
    return prefixed(str, "OOM") ? TC_EFULL : TC_EPROTO;
}

/* ---- connections -------------------------------------------------------- */

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {ms / MS_PER_S, (ms % MS_PER_S) * US_PER_MS};

    return tv;
}

/* Copies a string of the configuration; a NULL source stays NULL. */
static int copy_str(char **dst, const char *src)
{
    *dst = src ? tc__strdup(src) : NULL;
    return src && !*dst ? -1 : 0;
}

int tc__resp_target_init(tc__resp_target *t, const tc__store_config *cfg,
                         tc__err *err)
{
    char where[300];

    memset(t, 0, sizeof(*t));
    if (!cfg || (!cfg->host && !cfg->unix_path) || cfg->db < 0) {
        return tc__errf(err, TC_EINVAL, "redis: no host or socket, or bad db");
    }
    t->port = cfg->port > 0 ? cfg->port : TC__DEFAULT_REDIS_PORT;
    t->db = cfg->db;
    t->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
                                                : TC__DEFAULT_TIMEOUT_MS;
    t->command_ms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms
                                                : TC__DEFAULT_TIMEOUT_MS;
    if (cfg->url_masked) {
        snprintf(where, sizeof(where), "%s", cfg->url_masked);
    } else if (cfg->unix_path) {
        snprintf(where, sizeof(where), "unix://%s", cfg->unix_path);
    } else {
        snprintf(where, sizeof(where), "redis://%s:%d", cfg->host, t->port);
    }
    if (copy_str(&t->host, cfg->host) || copy_str(&t->where, where) ||
        copy_str(&t->unix_path, cfg->unix_path) ||
        copy_str(&t->user, cfg->user) ||
        copy_str(&t->password, cfg->password)) {
        return tc__errf(err, TC_ENOMEM, "redis: out of memory");
    }
    return TC_OK;
}

void tc__resp_target_free(tc__resp_target *t)
{
    if (t->password) {
        explicit_bzero(t->password, strlen(t->password));
    }
    tc__free(t->host);
    tc__free(t->unix_path);
    tc__free(t->user);
    tc__free(t->password);
    tc__free(t->where);
    memset(t, 0, sizeof(*t));
}

/*
 * A failed hiredis call. The blocking context reports an expired
 * SO_RCVTIMEO as an I/O error with errno EAGAIN, which is the timeout.
 */
int tc__resp_io_fail(const redisContext *c, int eno, const char *label,
                     const char *where, int timeout_ms, tc__err *err)
{
    char what[TC__ERR_MAX];
    int rc;

    if (c->err == REDIS_ERR_IO && (eno == EAGAIN || eno == EWOULDBLOCK ||
                                   eno == ETIMEDOUT || eno == EINPROGRESS)) {
        rc = TC_ETIMEOUT;
    } else if (c->err == REDIS_ERR_PROTOCOL) {
        rc = TC_EPROTO;
    } else {
        rc = c->err == REDIS_ERR_OOM ? TC_ENOMEM : TC_EUNAVAIL;
    }
    if (where) {
        snprintf(what, sizeof(what), "%s: connect to %s", label, where);
    } else {
        snprintf(what, sizeof(what), "%s", label);
    }
    if (rc == TC_ETIMEOUT) {
        return tc__errf(err, rc, "%s: timed out after %d ms", what, timeout_ms);
    }
    return tc__errf(err, rc, "%s: %s", what, c->errstr);
}

int tc__resp_stale(const redisContext *c, int eno)
{
    int io = !c || c->err == REDIS_ERR_IO;

    if (c && c->err == REDIS_ERR_EOF) {
        return 1;
    }
    return io && (eno == ECONNRESET || eno == EPIPE || eno == ENOTCONN);
}

/* The reply to AUTH or SELECT, while setting a connection up. */
static int setup_reply(const tc__resp_target *t, const char *label,
                       redisReply *r, int eno, redisContext *c, const char *cmd,
                       tc__err *err)
{
    int rc;

    if (!r) {
        return tc__resp_io_fail(c, eno, label, NULL, t->command_ms, err);
    }
    if (r->type == REDIS_REPLY_STATUS) {
        freeReplyObject(r);
        return TC_OK;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc = tc__resp_error_code(r->str);
        if (rc == TC_EPROTO) {
            rc = TC_ECONFIG; /* such as a db index out of range */
        }
        rc =
            tc__errf(err, rc, "%s: %s on %s: %s", label, cmd, t->where, r->str);
    } else {
        rc = tc__errf(err, TC_EPROTO, "%s: %s: unexpected reply", label, cmd);
    }
    freeReplyObject(r);
    return rc;
}

static int conn_setup(redisContext **out, const tc__resp_target *t,
                      const char *label, tc__err *err)
{
    struct timeval tv = ms_tv(t->connect_ms);
    redisContext *c;
    redisReply *r;
    char dbs[16];
    const char *argv[3];
    size_t lens[3];
    int rc = TC_OK, argc = 0;

    c = t->unix_path ? redisConnectUnixWithTimeout(t->unix_path, tv)
                     : redisConnectWithTimeout(t->host, t->port, tv);
    if (!c) {
        return tc__errf(err, TC_ENOMEM, "%s: connect: out of memory", label);
    }
    if (c->err || redisSetTimeout(c, ms_tv(t->command_ms)) != REDIS_OK) {
        rc = tc__resp_io_fail(c, errno, label, t->where, t->connect_ms, err);
        goto fail;
    }
    if (t->password) {
        argv[argc++] = "AUTH";
        if (t->user) {
            argv[argc++] = t->user;
        }
        argv[argc++] = t->password;
        for (int i = 0; i < argc; i++) {
            lens[i] = strlen(argv[i]);
        }
        r = redisCommandArgv(c, argc, argv, lens);
        rc = setup_reply(t, label, r, errno, c, "AUTH", err);
        if (rc != TC_OK) {
            goto fail;
        }
    }
    if (t->db != 0) {
        snprintf(dbs, sizeof(dbs), "%d", t->db);
        argv[0] = "SELECT";
        argv[1] = dbs;
        lens[0] = strlen(argv[0]);
        lens[1] = strlen(dbs);
        r = redisCommandArgv(c, 2, argv, lens);
        rc = setup_reply(t, label, r, errno, c, "SELECT", err);
        if (rc != TC_OK) {
            goto fail;
        }
    }
    /* From here on, replies are read into the calls' slots. */
    c->reader->fn = &rep_fns;
    c->reader->privdata = NULL;
    *out = c;
    return TC_OK;
fail:
    redisFree(c);
    return rc;
}

/*
 * AUTH and SELECT go through hiredis, which writes with write(2), so
 * SIGPIPE is blocked for this thread meanwhile and a pending one
 * consumed: a library must not kill its host because a server went away.
 * Connecting is rare, so its four extra system calls do not matter; the
 * calls themselves send with MSG_NOSIGNAL instead.
 */
int tc__resp_connect(redisContext **out, const tc__resp_target *t,
                     const char *label, tc__err *err)
{
    sigset_t pipe_set, old, pending;
    struct timespec zero = {0, 0};
    int rc, had_pipe;

    *out = NULL;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    had_pipe = sigismember(&pending, SIGPIPE);
    rc = conn_setup(out, t, label, err);
    if (!had_pipe) {
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            sigtimedwait(&pipe_set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void tc__resp_close(redisContext *c)
{
    if (c) {
        redisFree(c);
    }
}

int tc__resp_fd(const redisContext *c)
{
    return c->fd;
}

/* With nothing left in hiredis' output buffer, redisGetReply only reads:
 * it never writes. */
int tc__resp_read(redisContext *c, tc__rsink *k)
{
    void *got;

    c->reader->privdata = k;
    while (k->next < k->n) {
        if (redisGetReply(c, &got) != REDIS_OK) {
            return -1; /* errno and c->err say why */
        }
    }
    c->reader->privdata = NULL;
    return 0;
}
