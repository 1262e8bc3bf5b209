/*
 * store_redis.c - the L2 on a Redis server, the only file that includes
 * hiredis. Threads share a small pool of blocking connections, created on
 * first use and re-created after any I/O error; a circuit breaker in front
 * of the pool turns a dead server into an immediate TC_EUNAVAIL instead of
 * a timeout on every call, and probes it with exponential backoff.
 *
 * On the hot path, requests are written as RESP straight into one buffer
 * and sent with one sendmsg(MSG_NOSIGNAL), and hiredis only parses the
 * replies, into slots of the call rather than reply objects. That saves
 * its per-command formatting, all but one allocation per value read, and
 * the four signal-mask system calls a write(2) that may raise SIGPIPE
 * needs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "store.h"

#define BREAKER_FAILURES 3  /* consecutive failures that open it */
#define BACKOFF_MIN_MS 100  /* first wait before a probe */
#define BACKOFF_MAX_MS 5000 /* the wait doubles up to this */
#define LABEL_MAX 160

enum { BR_CLOSED, BR_OPEN, BR_HALF_OPEN };

/* A pool slot: a connection, or NULL until it is (re)created. */
typedef struct rconn {
    redisContext *c;
    int ever; /* it had a connection before: the next one is a reconnect */
} rconn;

typedef struct tc__redis {
    tc__store base;
    char *host, *unix_path, *user, *password, *where;
    int port, db, connect_ms, command_ms;
    tc__logger log; /* a copy: the store does not depend on its caller */
    tc__ratelimit rl_unavail;

    /* One mutex guards the pool and the breaker: both are held briefly. */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    rconn *idle; /* a stack of pool_size slots; live ones on top */
    int nidle;
    int br_state, br_fails;
    int64_t br_backoff_ms, br_retry_ms;
    uint64_t rng;

    _Atomic int up; /* -1 before the first call */
    _Atomic uint64_t reconnects, errors;
} tc__redis;

/*
 * One call: its connection, its breaker role and where its detail goes.
 * The label ("GET tc:intent:... (+15 more)") names the call in error
 * messages only, so it is formatted on the first error, not on every call.
 */
typedef struct rcall {
    rconn conn;
    int have_conn, probe, rejected, local, drop;
    const char *cmd, *key;
    size_t nkeys;
    tc__err *err;
    char label[LABEL_MAX]; /* "" until label() formats it */
    tc__err own;           /* err when the caller gave none */
} rcall;

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    return tv;
}

static int prefixed(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static const char *label(rcall *cl)
{
    if (cl->label[0] == '\0') {
        if (cl->key && cl->nkeys > 1) {
            snprintf(cl->label, LABEL_MAX, "%s %s (+%zu more)", cl->cmd,
                     cl->key, cl->nkeys - 1);
        } else if (cl->key) {
            snprintf(cl->label, LABEL_MAX, "%s %s", cl->cmd, cl->key);
        } else {
            snprintf(cl->label, LABEL_MAX, "%s", cl->cmd);
        }
    }
    return cl->label;
}

/* What a server error reply means for the caller. */
static int reply_code(const char *str)
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

/* ---- replies ------------------------------------------------------------ */

/*
 * A reply, read by the functions below into a slot the call provides:
 * hiredis' own reply objects cost two allocations and a copy per bulk
 * string and one allocation per integer, and the value was then copied
 * once more for the caller. Here a bulk string or error is copied once
 * into a tc__malloc'd buffer, which a GET hands to the caller as it is;
 * integers, nils and statuses allocate nothing.
 */
typedef struct rrep {
    int type; /* REDIS_REPLY_* */
    long long integer;
    char *str; /* bulk strings and errors; NUL-terminated; else NULL */
    size_t len;
} rrep;

/* The slots of one call: the reader's privdata while the call reads. */
typedef struct rsink {
    rrep *slot;
    size_t n, next;
} rsink;

/*
 * What an element nested in an array becomes. No command the store sends
 * answers with an array, so such a reply is only told apart (bad_reply)
 * and its elements are not kept.
 */
static char nested_reply;

static void *rep_new(const redisReadTask *t, int type)
{
    rsink *k = t->privdata;
    rrep *r;

    if (t->parent) {
        return &nested_reply;
    }
    if (!k || k->next == k->n) {
        return NULL; /* cannot happen: the call reads as many as it has */
    }
    r = &k->slot[k->next++];
    r->type = type;
    r->integer = 0;
    r->str = NULL;
    r->len = 0;
    return r;
}

static void *rep_string(const redisReadTask *t, char *str, size_t len)
{
    rrep *r = rep_new(t, t->type);

    if (!r || (void *)r == &nested_reply || t->type == REDIS_REPLY_STATUS) {
        return r; /* a status ("OK", "PONG") says all by its type */
    }
    if (!(r->str = tc__memdup0(str, len))) {
        return NULL; /* hiredis reports it as REDIS_ERR_OOM */
    }
    r->len = len;
    return r;
}

static void *rep_array(const redisReadTask *t, int elements)
{
    (void)elements;
    return rep_new(t, REDIS_REPLY_ARRAY);
}

static void *rep_integer(const redisReadTask *t, long long v)
{
    rrep *r = rep_new(t, REDIS_REPLY_INTEGER);

    if (r && (void *)r != &nested_reply) {
        r->integer = v;
    }
    return r;
}

static void *rep_nil(const redisReadTask *t)
{
    return rep_new(t, REDIS_REPLY_NIL);
}

static void rep_free(void *obj)
{
    rrep *r = obj;

    if (obj && obj != &nested_reply) {
        tc__free(r->str);
        r->str = NULL;
    }
}

static redisReplyObjectFunctions rep_fns = {rep_string, rep_array, rep_integer,
                                            rep_nil, rep_free};

/* Frees what the first k->next slots hold, for a fresh start. */
static void sink_clear(rsink *k)
{
    for (size_t i = 0; i < k->next; i++) {
        rep_free(&k->slot[i]);
    }
    k->next = 0;
}

/*
 * A failed hiredis call. The blocking context reports an expired
 * SO_RCVTIMEO as an I/O error with errno EAGAIN, which is the timeout.
 */
static int ctx_code(const redisContext *c, int eno)
{
    if (c->err == REDIS_ERR_IO && (eno == EAGAIN || eno == EWOULDBLOCK ||
                                   eno == ETIMEDOUT || eno == EINPROGRESS)) {
        return TC_ETIMEOUT;
    }
    if (c->err == REDIS_ERR_PROTOCOL) {
        return TC_EPROTO;
    }
    return c->err == REDIS_ERR_OOM ? TC_ENOMEM : TC_EUNAVAIL;
}

static int ctx_fail(tc__redis *s, rcall *cl, const redisContext *c, int eno,
                    int connecting)
{
    int rc = ctx_code(c, eno);
    char what[LABEL_MAX + 320];

    if (connecting) {
        snprintf(what, sizeof(what), "%s: connect to %s", label(cl), s->where);
    } else {
        snprintf(what, sizeof(what), "%s", label(cl));
    }
    if (rc == TC_ETIMEOUT) {
        return tc__errf(cl->err, rc, "%s: timed out after %d ms", what,
                        connecting ? s->connect_ms : s->command_ms);
    }
    return tc__errf(cl->err, rc, "%s: %s", what, c->errstr);
}

/* An error reply to AUTH or SELECT, while setting a connection up. */
static int setup_reply(tc__redis *s, rcall *cl, redisReply *r, int eno,
                       redisContext *c, const char *cmd)
{
    int rc;

    if (!r) {
        return ctx_fail(s, cl, c, eno, 0);
    }
    if (r->type == REDIS_REPLY_STATUS) {
        freeReplyObject(r);
        return TC_OK;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_code(r->str);
        if (rc == TC_EPROTO) {
            rc = TC_ECONFIG; /* such as a db index out of range */
        }
        rc = tc__errf(cl->err, rc, "%s: %s on %s: %s", label(cl), cmd, s->where,
                      r->str);
    } else {
        rc = tc__errf(cl->err, TC_EPROTO, "%s: %s: unexpected reply", label(cl),
                      cmd);
    }
    freeReplyObject(r);
    return rc;
}

static int conn_setup(tc__redis *s, rcall *cl)
{
    struct timeval tv = ms_tv(s->connect_ms);
    redisContext *c;
    redisReply *r;
    char dbs[16];
    const char *argv[3];
    size_t lens[3];
    int rc = TC_OK, argc = 0;

    c = s->unix_path ? redisConnectUnixWithTimeout(s->unix_path, tv)
                     : redisConnectWithTimeout(s->host, s->port, tv);
    if (!c) {
        return tc__errf(cl->err, TC_ENOMEM, "%s: connect: out of memory",
                        label(cl));
    }
    if (c->err) {
        rc = ctx_fail(s, cl, c, errno, 1);
        goto fail;
    }
    if (redisSetTimeout(c, ms_tv(s->command_ms)) != REDIS_OK) {
        rc = ctx_fail(s, cl, c, errno, 1);
        goto fail;
    }
    if (s->password) {
        argv[argc++] = "AUTH";
        if (s->user) {
            argv[argc++] = s->user;
        }
        argv[argc++] = s->password;
        for (int i = 0; i < argc; i++) {
            lens[i] = strlen(argv[i]);
        }
        r = redisCommandArgv(c, argc, argv, lens);
        rc = setup_reply(s, cl, r, errno, c, "AUTH");
        if (rc != TC_OK) {
            goto fail;
        }
    }
    if (s->db != 0) {
        snprintf(dbs, sizeof(dbs), "%d", s->db);
        argv[0] = "SELECT";
        argv[1] = dbs;
        lens[0] = 6;
        lens[1] = strlen(dbs);
        r = redisCommandArgv(c, 2, argv, lens);
        rc = setup_reply(s, cl, r, errno, c, "SELECT");
        if (rc != TC_OK) {
            goto fail;
        }
    }
    if (cl->conn.ever) {
        atomic_fetch_add(&s->reconnects, 1);
    }
    /* From here on, replies are read into the calls' slots (rrep). */
    c->reader->fn = &rep_fns;
    c->reader->privdata = NULL;
    cl->conn.c = c;
    cl->conn.ever = 1;
    return TC_OK;
fail:
    redisFree(c);
    return rc;
}

/*
 * Opens a connection. AUTH and SELECT go through hiredis, which writes
 * with write(2), so SIGPIPE is blocked for this thread meanwhile and a
 * pending one consumed: a library must not kill its host because a
 * server went away. Connecting is rare, so its four extra system calls do
 * not matter; the calls themselves send with MSG_NOSIGNAL instead.
 */
static int conn_open(tc__redis *s, rcall *cl)
{
    sigset_t pipe_set, old, pending;
    struct timespec zero = {0, 0};
    int rc, had_pipe;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    had_pipe = sigismember(&pending, SIGPIPE);
    rc = conn_setup(s, cl);
    if (!had_pipe) {
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            sigtimedwait(&pipe_set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- breaker ---------------------------------------------------------- */

static int64_t next_backoff(tc__redis *s)
{
    /* Up to 10% of jitter, so that processes restarted together do not
     * probe a recovering server in step. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->br_backoff_ms +
           (int64_t)(s->rng % (uint64_t)(s->br_backoff_ms / 10 + 1));
}

/*
 * With s->mu held: whether the breaker lets a call through. When it does
 * not, *wait is the time left before the next probe (0: one is running).
 */
static int breaker_admit_locked(tc__redis *s, rcall *cl, int64_t *wait)
{
    int64_t now;

    if (s->br_state == BR_CLOSED) {
        return 1;
    }
    now = tc__now_ms();
    if (s->br_state == BR_OPEN && now >= s->br_retry_ms) {
        s->br_state = BR_HALF_OPEN;
        cl->probe = 1;
        return 1;
    }
    *wait = s->br_state == BR_OPEN ? s->br_retry_ms - now : 0;
    return 0;
}

/* Logs a state change of the store; the password is never in `where`. */
static void log_event(tc__redis *s, tc_log_level level, const char *event,
                      int rc, const char *detail, const char *retry_ms)
{
    const char *f[] = {"store",           s->where, "error",
                       tc_error_name(rc), "detail", detail,
                       "retry_in_ms",     retry_ms, NULL};

    if (rc >= 0) {
        f[2] = NULL; /* a recovery: no error to name */
    } else if (!retry_ms) {
        f[6] = NULL;
    }
    if (strcmp(event, "l2_unavailable") == 0) {
        tc__log_limited(&s->log, &s->rl_unavail, level, event, f);
    } else {
        tc__log(&s->log, level, event, f);
    }
}

/*
 * Feeds a call's outcome to the breaker. Only "the server cannot be
 * reached in time" counts against it: an auth failure or a bad reply
 * comes back fast, so stopping calls would protect nothing. Events are
 * logged after the lock is released, since the log callback is the host's.
 */
static void breaker_report(tc__redis *s, rcall *cl, int rc)
{
    int down = (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT) && !cl->local;
    int neutral = !down && rc < 0 && rc != TC_EPROTO;
    int opened = 0, was_up;
    int64_t backoff = 0, now = tc__now_ms();
    char ms[24];

    pthread_mutex_lock(&s->mu);
    if (down) {
        s->br_fails++;
        if (cl->probe && s->br_state == BR_HALF_OPEN) {
            s->br_backoff_ms = s->br_backoff_ms * 2 > BACKOFF_MAX_MS
                                   ? BACKOFF_MAX_MS
                                   : s->br_backoff_ms * 2;
            opened = 1;
        } else if (s->br_state == BR_CLOSED &&
                   s->br_fails >= BREAKER_FAILURES) {
            opened = 1;
        }
        if (opened) {
            backoff = next_backoff(s);
            s->br_state = BR_OPEN;
            s->br_retry_ms = now + backoff;
        }
    } else if (neutral) {
        /* A probe that proved nothing lets the next call probe again. */
        if (cl->probe && s->br_state == BR_HALF_OPEN) {
            s->br_state = BR_OPEN;
            s->br_retry_ms = now;
        }
    } else {
        s->br_fails = 0;
        s->br_state = BR_CLOSED;
        s->br_backoff_ms = BACKOFF_MIN_MS;
    }
    pthread_mutex_unlock(&s->mu);

    if (down || rc == TC_EAUTH || rc == TC_ECONFIG) {
        atomic_store(&s->up, 0);
        log_event(s, TC_LOG_WARN, "l2_unavailable", rc, cl->err->msg, NULL);
    } else if (!neutral) {
        was_up = atomic_exchange(&s->up, 1);
        if (was_up == 0) {
            log_event(s, TC_LOG_INFO, "l2_recovered", rc, "", NULL);
        }
    }
    if (opened) {
        snprintf(ms, sizeof(ms), "%lld", (long long)backoff);
        log_event(s, TC_LOG_WARN, "l2_breaker_open", rc, cl->err->msg, ms);
    }
}

/* ---- calls ------------------------------------------------------------ */

/* Now plus the command timeout, on the monotonic clock of s->freed. */
static void pool_deadline(const tc__redis *s, struct timespec *until)
{
    clock_gettime(CLOCK_MONOTONIC, until);
    until->tv_sec += s->command_ms / 1000;
    until->tv_nsec += (long)(s->command_ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

/*
 * Starts a call: the breaker (unless bypassed), then a pooled connection,
 * waiting at most the command timeout for one to be freed. Both are
 * decided under one hold of the mutex; the clock is read only when the
 * breaker is not closed or the call has to wait.
 */
static int call_begin(tc__redis *s, rcall *cl, int bypass, const char *cmd,
                      const char *key, size_t nkeys, tc__err *err)
{
    struct timespec until;
    int64_t wait = 0;
    int admitted = 1, rc = 0;

    memset(cl, 0, offsetof(rcall, label));
    cl->label[0] = '\0';
    cl->cmd = cmd;
    cl->key = key;
    cl->nkeys = nkeys;
    cl->err = err ? err : &cl->own;
    pthread_mutex_lock(&s->mu);
    if (!bypass) {
        admitted = breaker_admit_locked(s, cl, &wait);
    }
    if (admitted && s->nidle == 0) {
        pool_deadline(s, &until);
        while (s->nidle == 0 && rc == 0) {
            rc = pthread_cond_timedwait(&s->freed, &s->mu, &until);
        }
    }
    if (admitted && s->nidle > 0) {
        cl->conn = s->idle[--s->nidle];
        cl->have_conn = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!admitted) {
        cl->rejected = 1;
        if (wait <= 0) {
            return tc__errf(cl->err, TC_EUNAVAIL,
                            "%s: circuit open (%s unreachable), probing",
                            label(cl), s->where);
        }
        return tc__errf(
            cl->err, TC_EUNAVAIL,
            "%s: circuit open (%s unreachable), next probe in %lld ms",
            label(cl), s->where, (long long)wait);
    }
    if (!cl->have_conn) {
        cl->local = 1;
        return tc__errf(cl->err, TC_ETIMEOUT,
                        "%s: no free connection after %d ms", label(cl),
                        s->command_ms);
    }
    return TC_OK;
}

/*
 * Ends a call: returns the connection and accounts for the outcome. A
 * success while the breaker is closed and has counted no failure changes
 * nothing in it, which is checked under the hold the pool needs anyway,
 * so the usual call takes the mutex twice, not four times.
 */
static int call_end(tc__redis *s, rcall *cl, int rc)
{
    int settled = 0;

    if (cl->have_conn) {
        if (cl->drop && cl->conn.c) {
            redisFree(cl->conn.c);
            cl->conn.c = NULL;
        }
        pthread_mutex_lock(&s->mu);
        if (cl->conn.c) {
            s->idle[s->nidle++] = cl->conn;
        } else {
            /* An empty slot goes to the bottom, so that the next call
             * takes a live connection rather than open one. */
            s->idle[s->nidle++] = s->idle[0];
            s->idle[0] = cl->conn;
        }
        pthread_cond_signal(&s->freed);
        settled = rc >= 0 && s->br_state == BR_CLOSED && s->br_fails == 0;
        pthread_mutex_unlock(&s->mu);
    }
    if (rc < 0) {
        atomic_fetch_add(&s->errors, 1);
    }
    if (cl->rejected) {
        return rc;
    }
    if (!settled || atomic_load_explicit(&s->up, memory_order_relaxed) != 1) {
        breaker_report(s, cl, rc);
    }
    return rc;
}

/* ---- requests ----------------------------------------------------------- */

/*
 * A request in RESP, built before the call takes a connection. Small
 * pieces are copied into one buffer, on the stack up to REQ_STACK bytes
 * (an mget of 16 keys is about 2 KB); a value over REQ_COPY_MAX bytes is
 * sent from the caller's memory through an iovec of its own, so a large
 * SET is never copied. A segment with ext NULL lies in buf at off.
 */
#define REQ_STACK 4096
#define REQ_COPY_MAX 4096
#define REQ_SEGS 8
#define REQ_IOV 64

typedef struct rseg {
    const char *ext;
    size_t off, len;
} rseg;

typedef struct req {
    char *buf;
    size_t len, cap;
    rseg *seg;
    size_t nseg, segcap;
    size_t open; /* start of the copied bytes not yet in a segment */
    int oom;
    char stack[REQ_STACK];
    rseg segstack[REQ_SEGS];
} req;

static void req_init(req *r)
{
    r->buf = r->stack;
    r->len = 0;
    r->cap = sizeof(r->stack);
    r->seg = r->segstack;
    r->nseg = 0;
    r->segcap = REQ_SEGS;
    r->open = 0;
    r->oom = 0;
}

static void req_free(req *r)
{
    if (r->buf != r->stack) {
        tc__free(r->buf);
    }
    if (r->seg != r->segstack) {
        tc__free(r->seg);
    }
}

static void req_put(req *r, const void *p, size_t n)
{
    size_t cap = r->cap;
    char *nb;

    if (r->oom) {
        return;
    }
    if (n > r->cap - r->len) {
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
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static void req_seg(req *r, const char *ext, size_t off, size_t len)
{
    rseg *ns;

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
static void req_cut(req *r)
{
    req_seg(r, NULL, r->open, r->len - r->open);
    r->open = r->len;
}

/* Ends the building of a request; -1 if it ran out of memory. */
static int req_done(req *r)
{
    req_cut(r);
    return r->oom ? -1 : 0;
}

/* Writes "<c><n>\r\n", such as "*2\r\n" or "$43\r\n"; returns its length. */
static size_t fmt_len(char *out, char c, size_t n)
{
    char tmp[24], *p = tmp + sizeof(tmp);
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

static void req_len(req *r, char c, size_t n)
{
    char tmp[24];

    req_put(r, tmp, fmt_len(tmp, c, n));
}

/* A bulk string; copied unless it is large. */
static void req_bulk(req *r, const void *p, size_t n)
{
    req_len(r, '$', n);
    if (n > REQ_COPY_MAX) {
        req_cut(r);
        req_seg(r, p, 0, n);
    } else {
        req_put(r, p, n);
    }
    req_put(r, "\r\n", 2);
}

/* A command of a name and one key, such as GET key. */
static void req_cmd1(req *r, const char *cmd, const char *key)
{
    req_len(r, '*', key ? 2 : 1);
    req_bulk(r, cmd, strlen(cmd));
    if (key) {
        req_bulk(r, key, strlen(key));
    }
}

/*
 * Sends the whole request with sendmsg(MSG_NOSIGNAL), not hiredis'
 * write(2): a server that went away then gives EPIPE rather than a SIGPIPE
 * that would kill the host, with no signal mask to set and restore around
 * each call. The socket's SO_SNDTIMEO (set by redisSetTimeout) bounds each
 * wait. Returns 0, or the errno of the failure.
 */
static int req_send(const req *r, int fd)
{
    struct iovec iov[REQ_IOV];
    struct msghdr mh;
    size_t i = 0, skip = 0, k, j;
    ssize_t sent;

    while (i < r->nseg) {
        for (j = i, k = 0; j < r->nseg && k < REQ_IOV; j++, k++) {
            const rseg *g = &r->seg[j];
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

/* A failed send, worded as hiredis words a failed write. */
static int send_fail(tc__redis *s, rcall *cl, int eno)
{
    char buf[128];

    if (eno == EAGAIN || eno == EWOULDBLOCK) {
        return tc__errf(cl->err, TC_ETIMEOUT, "%s: timed out after %d ms",
                        label(cl), s->command_ms);
    }
    return tc__errf(cl->err, TC_EUNAVAIL, "%s: %s", label(cl),
                    strerror_r(eno, buf, sizeof(buf)));
}

/*
 * A server restart leaves pooled connections that fail on first use; such
 * a failure ("closed by the server", reset, broken pipe) on a connection
 * that was reused is retried once on a new one when the commands can be
 * sent twice. One attempt only: a second failure is the server's.
 */
static int stale_errno(int eno)
{
    return eno == ECONNRESET || eno == EPIPE || eno == ENOTCONN;
}

static int stale(const redisContext *c, int eno)
{
    return c->err == REDIS_ERR_EOF ||
           (c->err == REDIS_ERR_IO && stale_errno(eno));
}

/*
 * Sends the request (req_done) and reads k->n replies into k's slots, in
 * order; on failure the slots hold nothing (k->next is 0).
 */
static int call_io(tc__redis *s, rcall *cl, int idempotent, req *r, rsink *k)
{
    int rc = TC_OK, eno = 0, fresh, retry;
    void *got;

    for (int attempt = 0; attempt < 2; attempt++) {
        fresh = cl->conn.c == NULL;
        retry = 0;
        if (fresh && (rc = conn_open(s, cl)) != TC_OK) {
            break;
        }
        rc = TC_OK;
        if ((eno = req_send(r, cl->conn.c->fd)) != 0) {
            rc = send_fail(s, cl, eno);
            retry = stale_errno(eno);
        }
        /* With nothing left in hiredis' output buffer, redisGetReply
         * only reads: it never writes. */
        cl->conn.c->reader->privdata = k;
        for (size_t i = 0; i < k->n && rc == TC_OK; i++) {
            if (redisGetReply(cl->conn.c, &got) != REDIS_OK) {
                eno = errno;
                rc = ctx_fail(s, cl, cl->conn.c, eno, 0);
                retry = stale(cl->conn.c, eno);
            }
        }
        if (rc == TC_OK) {
            cl->conn.c->reader->privdata = NULL;
            break;
        }
        sink_clear(k);
        retry = retry && !fresh && idempotent;
        redisFree(cl->conn.c);
        cl->conn.c = NULL;
        if (!retry) {
            break;
        }
    }
    return rc;
}

/* A reply of a type the command never returns: the stream is not to be
 * trusted any more, so the connection is dropped. */
static int bad_reply(rcall *cl, const rrep *r)
{
    cl->drop = 1;
    return tc__errf(cl->err, TC_EPROTO, "%s: unexpected reply (type %d)",
                    label(cl), r->type);
}

static int error_reply(rcall *cl, const rrep *r)
{
    return tc__errf(cl->err, reply_code(r->str), "%s: %s", label(cl), r->str);
}

#define CALL_BYPASS 1     /* ping: not stopped by the breaker */
#define CALL_IDEMPOTENT 2 /* may be sent again on a fresh connection */

/*
 * Runs one command of one or two words whose reply must be of type
 * `want`; an integer reply is stored in *num.
 */
static int command(tc__redis *s, int flags, int want, const char *cmd,
                   const char *key, long long *num, tc__err *err)
{
    rrep r;
    rsink k = {&r, 1, 0};
    rcall cl;
    req q;
    int rc;

    req_init(&q);
    req_cmd1(&q, cmd, key);
    if (req_done(&q) != 0) {
        req_free(&q);
        return tc__errf(err, TC_ENOMEM, "%s: out of memory", cmd);
    }
    rc = call_begin(s, &cl, flags & CALL_BYPASS, cmd, key, 1, err);
    if (rc == TC_OK) {
        rc = call_io(s, &cl, flags & CALL_IDEMPOTENT, &q, &k);
    }
    if (rc == TC_OK) {
        if (r.type == REDIS_REPLY_ERROR) {
            rc = error_reply(&cl, &r);
        } else if (r.type != want) {
            rc = bad_reply(&cl, &r);
        } else if (num) {
            *num = r.integer;
        }
    }
    sink_clear(&k);
    req_free(&q);
    return call_end(s, &cl, rc);
}

/* ---- operations ------------------------------------------------------- */

/*
 * GET and PTTL of each key, pipelined. The PTTL is what lets an L1 fill
 * keep the L2 entry's remaining TTL. The commands are constants and a
 * key's bulk string is formatted once for both.
 */
static void req_mget(req *r, const tc__store_get *items, size_t n)
{
    static const char get[] = "*2\r\n$3\r\nGET\r\n";
    static const char pttl[] = "*2\r\n$4\r\nPTTL\r\n";
    char kb[TC_KEY_MAX + 32];

    for (size_t i = 0; i < n; i++) {
        const char *key = items[i].key;
        size_t klen = strlen(key), m;

        if (klen > TC_KEY_MAX) { /* not a key of key.c; tests use such */
            req_put(r, get, sizeof(get) - 1);
            req_bulk(r, key, klen);
            req_put(r, pttl, sizeof(pttl) - 1);
            req_bulk(r, key, klen);
            continue;
        }
        m = fmt_len(kb, '$', klen);
        memcpy(kb + m, key, klen);
        memcpy(kb + m + klen, "\r\n", 2);
        m += klen + 2;
        req_put(r, get, sizeof(get) - 1);
        req_put(r, kb, m);
        req_put(r, pttl, sizeof(pttl) - 1);
        req_put(r, kb, m);
    }
}

/*
 * One item of an mget from its GET and PTTL replies. The value read is
 * handed over as it is (rep_string made it a tc__malloc'd copy).
 */
static int mget_item(tc__redis *s, rcall *cl, tc__store_get *it, rrep *get,
                     const rrep *ttl)
{
    int code;

    if (get->type == REDIS_REPLY_NIL) {
        return TC_OK;
    }
    if (get->type == REDIS_REPLY_ERROR) {
        code = reply_code(get->str);
        if (code == TC_EPROTO || code == TC_EFULL) {
            /* Such as WRONGTYPE: this key's trouble, not the call's. The
             * detail still goes to err, for the caller to log. */
            atomic_fetch_add(&s->errors, 1);
            it->status =
                tc__errf(cl->err, code, "GET %s: %s", it->key, get->str);
            return TC_OK;
        }
        return error_reply(cl, get);
    }
    if (get->type != REDIS_REPLY_STRING || ttl->type != REDIS_REPLY_INTEGER) {
        return bad_reply(cl, get->type != REDIS_REPLY_STRING ? get : ttl);
    }
    if (ttl->integer == -2) {
        return TC_OK; /* expired between the GET and the PTTL */
    }
    it->val = get->str;
    it->len = get->len;
    get->str = NULL;
    it->ttl_ms = ttl->integer < 0 ? -1 : (int64_t)ttl->integer;
    it->status = TC_OK;
    return TC_OK;
}

/* Reply slots kept on the stack: enough for an mget of 16 keys. */
#define REP_STACK 32

/* k->n slots, on the stack when they fit; -1 when out of memory. */
static int sink_init(rsink *k, rrep *stack, size_t n)
{
    k->next = 0;
    k->n = n;
    k->slot = n <= REP_STACK ? stack : tc__calloc(n, sizeof(*k->slot));
    return k->slot ? 0 : -1;
}

static void sink_free(rsink *k, const rrep *stack)
{
    sink_clear(k);
    if (k->slot != stack) {
        tc__free(k->slot);
    }
}

static int redis_mget(tc__store *st, tc__store_get *items, size_t n,
                      tc__err *err)
{
    tc__redis *s = (tc__redis *)st;
    rrep stack[REP_STACK];
    rsink k = {NULL, 0, 0};
    rcall cl;
    req q;
    int rc;

    for (size_t i = 0; i < n; i++) {
        items[i].val = NULL;
        items[i].len = 0;
        items[i].ttl_ms = -1;
        items[i].status = TC_MISS;
        if (!items[i].key) {
            return tc__errf(err, TC_EINVAL, "mget: item %zu has no key", i);
        }
    }
    if (n == 0) {
        return TC_OK;
    }
    req_init(&q);
    req_mget(&q, items, n);
    if (n > SIZE_MAX / 2 || sink_init(&k, stack, 2 * n) != 0 ||
        req_done(&q) != 0) {
        req_free(&q);
        sink_free(&k, stack);
        return tc__errf(err, TC_ENOMEM, "mget of %zu keys: out of memory", n);
    }
    rc = call_begin(s, &cl, 0, "GET", items[0].key, n, err);
    if (rc == TC_OK) {
        rc = call_io(s, &cl, CALL_IDEMPOTENT, &q, &k);
    }
    req_free(&q);
    for (size_t i = 0; i < n && rc == TC_OK; i++) {
        rc = mget_item(s, &cl, &items[i], &k.slot[2 * i], &k.slot[2 * i + 1]);
    }
    sink_free(&k, stack);
    if (rc != TC_OK) {
        for (size_t i = 0; i < n; i++) {
            tc__free(items[i].val);
            items[i].val = NULL;
            items[i].len = 0;
            items[i].status = rc;
        }
    }
    return call_end(s, &cl, rc);
}

/* SET key value PX ttl for each item that is valid (status TC_OK). */
static void req_mset(req *r, const tc__store_set *items, size_t n)
{
    static const char set[] = "*5\r\n$3\r\nSET\r\n";
    static const char px[] = "$2\r\nPX\r\n";
    char ttl[24];

    for (size_t i = 0; i < n; i++) {
        if (items[i].status != TC_OK) {
            continue;
        }
        req_put(r, set, sizeof(set) - 1);
        req_bulk(r, items[i].key, strlen(items[i].key));
        req_bulk(r, items[i].len ? items[i].val : "", items[i].len);
        req_put(r, px, sizeof(px) - 1);
        req_bulk(r, ttl,
                 (size_t)snprintf(ttl, sizeof(ttl), "%lld",
                                  (long long)items[i].ttl_ms));
    }
}

static int redis_mset(tc__store *st, tc__store_set *items, size_t n,
                      tc__err *err)
{
    tc__redis *s = (tc__redis *)st;
    rrep stack[REP_STACK];
    rsink k = {NULL, 0, 0};
    size_t nsend = 0, j = 0;
    rcall cl;
    req q;
    int rc, code;

    for (size_t i = 0; i < n; i++) {
        items[i].status = TC_OK;
        if (!items[i].key || (!items[i].val && items[i].len) ||
            items[i].ttl_ms <= 0) {
            items[i].status = tc__errf(err, TC_EINVAL,
                                       "mset: item %zu: no key, no value "
                                       "or a ttl_ms <= 0",
                                       i);
        } else {
            nsend++;
        }
    }
    if (nsend == 0) {
        return TC_OK;
    }
    req_init(&q);
    req_mset(&q, items, n);
    if (sink_init(&k, stack, nsend) != 0 || req_done(&q) != 0) {
        req_free(&q);
        sink_free(&k, stack);
        return tc__errf(err, TC_ENOMEM, "mset of %zu keys: out of memory", n);
    }
    for (j = 0; items[j].status != TC_OK; j++) {
    }
    rc = call_begin(s, &cl, 0, "SET", items[j].key, nsend, err);
    if (rc == TC_OK) {
        rc = call_io(s, &cl, CALL_IDEMPOTENT, &q, &k);
    }
    req_free(&q);
    for (size_t i = 0, m = 0; i < n && rc == TC_OK; i++) {
        const rrep *r;

        if (items[i].status != TC_OK) {
            continue; /* refused above, never sent */
        }
        r = &k.slot[m++];
        if (r->type == REDIS_REPLY_ERROR) {
            code = reply_code(r->str);
            if (code == TC_EPROTO || code == TC_EFULL) {
                atomic_fetch_add(&s->errors, 1);
                items[i].status =
                    tc__errf(cl.err, code, "SET %s: %s", items[i].key, r->str);
            } else {
                rc = error_reply(&cl, r);
            }
        } else if (r->type != REDIS_REPLY_STATUS) {
            rc = bad_reply(&cl, r);
        }
    }
    sink_free(&k, stack);
    for (size_t i = 0; i < n && rc != TC_OK; i++) {
        if (items[i].status == TC_OK) {
            items[i].status = rc;
        }
    }
    return call_end(s, &cl, rc);
}

static int redis_del(tc__store *st, const char *key, tc__err *err)
{
    long long n = 0;
    int rc;

    rc = command((tc__redis *)st, CALL_IDEMPOTENT, REDIS_REPLY_INTEGER, "DEL",
                 key, &n, err);
    return rc == TC_OK && n == 0 ? TC_MISS : rc;
}

static int redis_incr(tc__store *st, const char *key, int64_t *out,
                      tc__err *err)
{
    long long n = 0;
    int rc;

    /* Not idempotent: a reply lost after the server applied it must not
     * be retried, or the counter would move twice. */
    rc = command((tc__redis *)st, 0, REDIS_REPLY_INTEGER, "INCR", key, &n, err);
    *out = rc == TC_OK ? (int64_t)n : 0;
    return rc;
}

static int redis_ping(tc__store *st, tc__err *err)
{
    return command((tc__redis *)st, CALL_BYPASS | CALL_IDEMPOTENT,
                   REDIS_REPLY_STATUS, "PING", NULL, NULL, err);
}

static void redis_health(tc__store *st, tc__store_health *out)
{
    static const char *const names[] = {"closed", "open", "half_open"};
    tc__redis *s = (tc__redis *)st;

    pthread_mutex_lock(&s->mu);
    out->breaker = names[s->br_state];
    pthread_mutex_unlock(&s->mu);
    out->up = atomic_load(&s->up) == 1;
    out->reconnects = atomic_load(&s->reconnects);
    out->errors = atomic_load(&s->errors);
    out->entries = -1;
    out->bytes = -1;
}

/* Frees what open copied; the password is wiped first. */
static void free_fields(tc__redis *s)
{
    if (s->password) {
        explicit_bzero(s->password, strlen(s->password));
    }
    tc__free(s->idle);
    tc__free(s->host);
    tc__free(s->unix_path);
    tc__free(s->user);
    tc__free(s->password);
    tc__free(s->where);
    tc__free(s);
}

static void redis_close(tc__store *st)
{
    tc__redis *s = (tc__redis *)st;

    if (!s) {
        return;
    }
    for (int i = 0; s->idle && i < s->nidle; i++) {
        if (s->idle[i].c) {
            redisFree(s->idle[i].c);
        }
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->freed);
    free_fields(s);
}

static const tc__store_ops redis_ops = {
    "redis",    redis_mget, redis_mset,   redis_del,
    redis_incr, redis_ping, redis_health, redis_close,
};

/* Copies the configuration; a NULL source stays NULL. */
static int copy_str(char **dst, const char *src)
{
    *dst = src ? tc__strdup(src) : NULL;
    return src && !*dst ? -1 : 0;
}

/*
 * Opens no connection: a server that is down at open time is not an
 * error (the cache opens degraded), so the first call connects.
 */
int tc__store_redis_open(tc__store **out, const tc__store_config *cfg,
                         tc__err *err)
{
    tc__redis *s;
    pthread_condattr_t ca;
    char where[300];
    int pool;

    *out = NULL;
    if (!cfg || (!cfg->host && !cfg->unix_path) || cfg->db < 0) {
        return tc__errf(err, TC_EINVAL, "redis: no host or socket, or bad db");
    }
    pool = cfg->pool_size > 0 ? cfg->pool_size : 8;
    s = tc__calloc(1, sizeof(*s));
    if (!s) {
        return tc__errf(err, TC_ENOMEM, "redis: out of memory");
    }
    if (cfg->url_masked) {
        snprintf(where, sizeof(where), "%s", cfg->url_masked);
    } else if (cfg->unix_path) {
        snprintf(where, sizeof(where), "unix://%s", cfg->unix_path);
    } else {
        snprintf(where, sizeof(where), "redis://%s:%d", cfg->host,
                 cfg->port > 0 ? cfg->port : 6379);
    }
    if (copy_str(&s->host, cfg->host) || copy_str(&s->where, where) ||
        copy_str(&s->unix_path, cfg->unix_path) ||
        copy_str(&s->user, cfg->user) ||
        copy_str(&s->password, cfg->password) ||
        !(s->idle = tc__calloc((size_t)pool, sizeof(*s->idle)))) {
        goto nomem;
    }
    s->base.ops = &redis_ops;
    s->port = cfg->port > 0 ? cfg->port : 6379;
    s->db = cfg->db;
    s->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 250;
    s->command_ms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : 250;
    if (cfg->log) {
        s->log = *cfg->log;
    } else {
        s->log.level = TC_LOG_OFF;
    }
    s->nidle = pool;
    s->br_backoff_ms = BACKOFF_MIN_MS;
    s->rng = (uint64_t)tc__now_us() ^ (uint64_t)(uintptr_t)s;
    s->rng = s->rng ? s->rng : 1;
    atomic_init(&s->up, -1);
    pthread_mutex_init(&s->mu, NULL);
    /* Pool waits are measured on the monotonic clock, so that a change
     * of the wall clock neither shortens nor stretches them. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->freed, &ca);
    pthread_condattr_destroy(&ca);
    *out = &s->base;
    return TC_OK;
nomem:
    free_fields(s);
    return tc__errf(err, TC_ENOMEM, "redis: out of memory");
}
