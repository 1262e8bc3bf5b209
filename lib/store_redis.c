/*
 * store_redis.c - the L2 on a Redis server, the only file that includes
 * hiredis. Threads share a small pool of blocking connections, created on
 * first use and re-created after any I/O error; a circuit breaker in front
 * of the pool turns a dead server into an immediate TC_EUNAVAIL instead of
 * a timeout on every call, and probes it with exponential backoff.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

/* One call: its connection, its breaker role and where its detail goes. */
typedef struct rcall {
    rconn conn;
    int have_conn, probe, rejected, local, drop;
    const char *label;
    tc__err *err;
    tc__err own;
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

/* What a server error reply means for the caller. */
static int reply_code(const redisReply *r)
{
    if (prefixed(r->str, "WRONGPASS") || prefixed(r->str, "NOAUTH") ||
        prefixed(r->str, "NOPERM") || prefixed(r->str, "ERR invalid pass") ||
        prefixed(r->str, "ERR invalid user") || prefixed(r->str, "ERR AUTH") ||
        prefixed(r->str, "ERR Client sent AUTH")) {
        return TC_EAUTH;
    }
    if (prefixed(r->str, "LOADING") || prefixed(r->str, "BUSY ") ||
        prefixed(r->str, "MASTERDOWN") || prefixed(r->str, "TRYAGAIN")) {
        return TC_EUNAVAIL;
    }
    return prefixed(r->str, "OOM") ? TC_EFULL : TC_EPROTO;
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
        snprintf(what, sizeof(what), "%s: connect to %s", cl->label, s->where);
    } else {
        snprintf(what, sizeof(what), "%s", cl->label);
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
        rc = reply_code(r);
        if (rc == TC_EPROTO) {
            rc = TC_ECONFIG; /* such as a db index out of range */
        }
        rc = tc__errf(cl->err, rc, "%s: %s on %s: %s", cl->label, cmd, s->where,
                      r->str);
    } else {
        rc = tc__errf(cl->err, TC_EPROTO, "%s: %s: unexpected reply", cl->label,
                      cmd);
    }
    freeReplyObject(r);
    return rc;
}

static int conn_open(tc__redis *s, rcall *cl)
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
                        cl->label);
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
    cl->conn.c = c;
    cl->conn.ever = 1;
    return TC_OK;
fail:
    redisFree(c);
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

static int breaker_admit(tc__redis *s, rcall *cl)
{
    int64_t now = tc__now_ms(), wait = 0;
    int ok = 1;

    pthread_mutex_lock(&s->mu);
    if (s->br_state == BR_OPEN && now >= s->br_retry_ms) {
        s->br_state = BR_HALF_OPEN;
        cl->probe = 1;
    } else if (s->br_state != BR_CLOSED) {
        ok = 0;
        wait = s->br_state == BR_OPEN ? s->br_retry_ms - now : 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (ok) {
        return TC_OK;
    }
    cl->rejected = 1;
    if (wait <= 0) {
        return tc__errf(cl->err, TC_EUNAVAIL,
                        "%s: circuit open (%s unreachable), probing", cl->label,
                        s->where);
    }
    return tc__errf(cl->err, TC_EUNAVAIL,
                    "%s: circuit open (%s unreachable), next probe in %lld ms",
                    cl->label, s->where, (long long)wait);
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

/*
 * Starts a call: the breaker (unless bypassed), then a pooled connection,
 * waiting at most the command timeout for one to be freed.
 */
static int call_begin(tc__redis *s, rcall *cl, int bypass, const char *label,
                      tc__err *err)
{
    struct timespec until;
    int rc = 0;

    memset(cl, 0, sizeof(*cl));
    cl->label = label;
    cl->err = err ? err : &cl->own;
    if (!bypass && breaker_admit(s, cl) != TC_OK) {
        return TC_EUNAVAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += s->command_ms / 1000;
    until.tv_nsec += (long)(s->command_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->nidle == 0 && rc == 0) {
        rc = pthread_cond_timedwait(&s->freed, &s->mu, &until);
    }
    if (s->nidle > 0) {
        cl->conn = s->idle[--s->nidle];
        cl->have_conn = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!cl->have_conn) {
        cl->local = 1;
        return tc__errf(cl->err, TC_ETIMEOUT,
                        "%s: no free connection after %d ms", cl->label,
                        s->command_ms);
    }
    return TC_OK;
}

/* Ends a call: returns the connection and accounts for the outcome. */
static int call_end(tc__redis *s, rcall *cl, int rc)
{
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
        pthread_mutex_unlock(&s->mu);
    }
    if (rc < 0) {
        atomic_fetch_add(&s->errors, 1);
    }
    if (!cl->rejected) {
        breaker_report(s, cl, rc);
    }
    return rc;
}

typedef int (*append_fn)(redisContext *c, const void *arg);

/*
 * A server restart leaves pooled connections that fail on first use; such
 * a failure ("closed by the server", reset, broken pipe) on a connection
 * that was reused is retried once on a new one when the commands can be
 * sent twice. One attempt only: a second failure is the server's.
 */
static int stale(const redisContext *c, int eno)
{
    return c->err == REDIS_ERR_EOF ||
           (c->err == REDIS_ERR_IO &&
            (eno == ECONNRESET || eno == EPIPE || eno == ENOTCONN));
}

/*
 * Sends what fn appends and reads nrep replies into rep. hiredis writes
 * with write(2), so SIGPIPE is blocked for this thread meanwhile and a
 * pending one consumed: a library must not kill its host because a server
 * went away.
 */
static int call_io(tc__redis *s, rcall *cl, int idempotent, append_fn fn,
                   const void *arg, redisReply **rep, size_t nrep)
{
    sigset_t pipe_set, old, pending;
    struct timespec zero = {0, 0};
    int rc = TC_OK, eno = 0, fresh, had_pipe, retry;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    had_pipe = sigismember(&pending, SIGPIPE);
    for (int attempt = 0; attempt < 2; attempt++) {
        fresh = cl->conn.c == NULL;
        if (fresh && (rc = conn_open(s, cl)) != TC_OK) {
            break;
        }
        rc = TC_OK;
        if (fn(cl->conn.c, arg) != REDIS_OK) {
            eno = errno;
            rc = ctx_fail(s, cl, cl->conn.c, eno, 0);
        }
        for (size_t i = 0; i < nrep && rc == TC_OK; i++) {
            if (redisGetReply(cl->conn.c, (void **)&rep[i]) != REDIS_OK) {
                eno = errno;
                rc = ctx_fail(s, cl, cl->conn.c, eno, 0);
            }
        }
        if (rc == TC_OK) {
            break;
        }
        for (size_t i = 0; i < nrep; i++) {
            freeReplyObject(rep[i]);
            rep[i] = NULL;
        }
        retry = !fresh && idempotent && stale(cl->conn.c, eno);
        redisFree(cl->conn.c);
        cl->conn.c = NULL;
        if (!retry) {
            break;
        }
    }
    if (!had_pipe) {
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            sigtimedwait(&pipe_set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* A reply of a type the command never returns: the stream is not to be
 * trusted any more, so the connection is dropped. */
static int bad_reply(rcall *cl, const redisReply *r)
{
    cl->drop = 1;
    return tc__errf(cl->err, TC_EPROTO, "%s: unexpected reply (type %d)",
                    cl->label, r->type);
}

static int error_reply(rcall *cl, const redisReply *r)
{
    return tc__errf(cl->err, reply_code(r), "%s: %s", cl->label, r->str);
}

typedef struct argv_cmd {
    int argc;
    const char **argv;
    size_t lens[2];
} argv_cmd;

static int append_argv(redisContext *c, const void *arg)
{
    const argv_cmd *a = arg;

    return redisAppendCommandArgv(c, a->argc, a->argv, a->lens);
}

#define CALL_BYPASS 1     /* ping: not stopped by the breaker */
#define CALL_IDEMPOTENT 2 /* may be sent again on a fresh connection */

/*
 * Runs one command of one or two words whose reply must be of type
 * `want`; an integer reply is stored in *num.
 */
static int command(tc__redis *s, int flags, const char *label, int want,
                   const char *cmd, const char *key, long long *num,
                   tc__err *err)
{
    const char *argv[2] = {cmd, key};
    argv_cmd a = {key ? 2 : 1, argv, {strlen(cmd), key ? strlen(key) : 0}};
    redisReply *r = NULL;
    rcall cl;
    int rc;

    rc = call_begin(s, &cl, flags & CALL_BYPASS, label, err);
    if (rc == TC_OK) {
        rc = call_io(s, &cl, flags & CALL_IDEMPOTENT, append_argv, &a, &r, 1);
    }
    if (rc == TC_OK) {
        if (r->type == REDIS_REPLY_ERROR) {
            rc = error_reply(&cl, r);
        } else if (r->type != want) {
            rc = bad_reply(&cl, r);
        } else if (num) {
            *num = r->integer;
        }
    }
    freeReplyObject(r);
    return call_end(s, &cl, rc);
}

static void key_label(char *buf, const char *cmd, const char *key, size_t n)
{
    if (n > 1) {
        snprintf(buf, LABEL_MAX, "%s %s (+%zu more)", cmd, key, n - 1);
    } else {
        snprintf(buf, LABEL_MAX, "%s %s", cmd, key);
    }
}

/* ---- operations ------------------------------------------------------- */

typedef struct mget_arg {
    const tc__store_get *items;
    size_t n;
} mget_arg;

static int append_mget(redisContext *c, const void *arg)
{
    const mget_arg *a = arg;
    const char *argv[2];
    size_t lens[2];

    for (size_t i = 0; i < a->n; i++) {
        argv[1] = a->items[i].key;
        lens[1] = strlen(argv[1]);
        argv[0] = "GET";
        lens[0] = 3;
        if (redisAppendCommandArgv(c, 2, argv, lens) != REDIS_OK) {
            return REDIS_ERR;
        }
        argv[0] = "PTTL";
        lens[0] = 4;
        if (redisAppendCommandArgv(c, 2, argv, lens) != REDIS_OK) {
            return REDIS_ERR;
        }
    }
    return REDIS_OK;
}

/* One item of an mget from its GET and PTTL replies. */
static int mget_item(tc__redis *s, rcall *cl, tc__store_get *it,
                     const redisReply *get, const redisReply *ttl)
{
    int code;

    if (get->type == REDIS_REPLY_NIL) {
        return TC_OK;
    }
    if (get->type == REDIS_REPLY_ERROR) {
        code = reply_code(get);
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
    it->val = tc__memdup0(get->str, get->len);
    if (!it->val) {
        return tc__errf(cl->err, TC_ENOMEM, "%s: out of memory", cl->label);
    }
    it->len = get->len;
    it->ttl_ms = ttl->integer < 0 ? -1 : (int64_t)ttl->integer;
    it->status = TC_OK;
    return TC_OK;
}

static int redis_mget(tc__store *st, tc__store_get *items, size_t n,
                      tc__err *err)
{
    tc__redis *s = (tc__redis *)st;
    mget_arg a = {items, n};
    redisReply **rep;
    char label[LABEL_MAX];
    rcall cl;
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
    rep = n <= SIZE_MAX / 2 ? tc__calloc(2 * n, sizeof(*rep)) : NULL;
    if (!rep) {
        return tc__errf(err, TC_ENOMEM, "mget of %zu keys: out of memory", n);
    }
    key_label(label, "GET", items[0].key, n);
    rc = call_begin(s, &cl, 0, label, err);
    if (rc == TC_OK) {
        rc = call_io(s, &cl, CALL_IDEMPOTENT, append_mget, &a, rep, 2 * n);
    }
    for (size_t i = 0; i < n && rc == TC_OK; i++) {
        rc = mget_item(s, &cl, &items[i], rep[2 * i], rep[2 * i + 1]);
    }
    for (size_t i = 0; i < 2 * n; i++) {
        freeReplyObject(rep[i]);
    }
    tc__free(rep);
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

typedef struct mset_arg {
    const tc__store_set *items;
    size_t n;
} mset_arg;

static int append_mset(redisContext *c, const void *arg)
{
    const mset_arg *a = arg;
    const char *argv[5];
    size_t lens[5];
    char ttl[24];

    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].status != TC_OK) {
            continue;
        }
        snprintf(ttl, sizeof(ttl), "%lld", (long long)a->items[i].ttl_ms);
        argv[0] = "SET";
        argv[1] = a->items[i].key;
        argv[2] = a->items[i].len ? a->items[i].val : "";
        argv[3] = "PX";
        argv[4] = ttl;
        lens[0] = 3;
        lens[1] = strlen(argv[1]);
        lens[2] = a->items[i].len;
        lens[3] = 2;
        lens[4] = strlen(ttl);
        if (redisAppendCommandArgv(c, 5, argv, lens) != REDIS_OK) {
            return REDIS_ERR;
        }
    }
    return REDIS_OK;
}

static int redis_mset(tc__store *st, tc__store_set *items, size_t n,
                      tc__err *err)
{
    tc__redis *s = (tc__redis *)st;
    mset_arg a = {items, n};
    redisReply **rep;
    char label[LABEL_MAX];
    size_t nsend = 0, j = 0;
    rcall cl;
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
    rep = tc__calloc(nsend, sizeof(*rep));
    if (!rep) {
        return tc__errf(err, TC_ENOMEM, "mset of %zu keys: out of memory", n);
    }
    for (j = 0; items[j].status != TC_OK; j++) {
    }
    key_label(label, "SET", items[j].key, nsend);
    rc = call_begin(s, &cl, 0, label, err);
    if (rc == TC_OK) {
        rc = call_io(s, &cl, CALL_IDEMPOTENT, append_mset, &a, rep, nsend);
    }
    for (size_t i = 0, k = 0; i < n && rc == TC_OK; i++) {
        const redisReply *r;

        if (items[i].status != TC_OK) {
            continue; /* refused above, never sent */
        }
        r = rep[k++];
        if (r->type == REDIS_REPLY_ERROR) {
            code = reply_code(r);
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
    for (size_t i = 0; i < nsend; i++) {
        freeReplyObject(rep[i]);
    }
    tc__free(rep);
    for (size_t i = 0; i < n && rc != TC_OK; i++) {
        if (items[i].status == TC_OK) {
            items[i].status = rc;
        }
    }
    return call_end(s, &cl, rc);
}

static int redis_del(tc__store *st, const char *key, tc__err *err)
{
    char label[LABEL_MAX];
    long long n = 0;
    int rc;

    key_label(label, "DEL", key, 1);
    rc = command((tc__redis *)st, CALL_IDEMPOTENT, label, REDIS_REPLY_INTEGER,
                 "DEL", key, &n, err);
    return rc == TC_OK && n == 0 ? TC_MISS : rc;
}

static int redis_incr(tc__store *st, const char *key, int64_t *out,
                      tc__err *err)
{
    char label[LABEL_MAX];
    long long n = 0;
    int rc;

    key_label(label, "INCR", key, 1);
    /* Not idempotent: a reply lost after the server applied it must not
     * be retried, or the counter would move twice. */
    rc = command((tc__redis *)st, 0, label, REDIS_REPLY_INTEGER, "INCR", key,
                 &n, err);
    *out = rc == TC_OK ? (int64_t)n : 0;
    return rc;
}

static int redis_ping(tc__store *st, tc__err *err)
{
    return command((tc__redis *)st, CALL_BYPASS | CALL_IDEMPOTENT, "PING",
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
