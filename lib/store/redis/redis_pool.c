/*
 * redis_pool.c - how one call to the Redis server runs. Threads share a
 * small pool of blocking connections, created on first use and re-created
 * after any I/O error; a circuit breaker in front of the pool turns a dead
 * server into an immediate TC_EUNAVAIL instead of a timeout on every
 * call, and probes it with exponential backoff.
 *
 * The wire is resp.c's: requests written as RESP into one buffer and sent
 * with one sendmsg, replies parsed into slots of the call. This file owns
 * the policy (which call may run, on which connection, whether a failure
 * is retried and what it tells the breaker); tc__redis_run (redis_store.h)
 * lends it to the cache's operations (redis_store.c) and the feedback
 * scripts (redis_script.c, redis_fb.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "base/deadline.h"
#include "store/redis/redis_store.h"

#define BREAKER_FAILURES 3  /* consecutive failures that open it */
#define BACKOFF_MIN_MS 100  /* first wait before a probe */
#define BACKOFF_MAX_MS 5000 /* the wait doubles up to this */
/* A probe waits up to 1/BACKOFF_JITTER more than the backoff. */
#define BACKOFF_JITTER 10
#define LABEL_MAX 160
#define MS_PER_S 1000
#define NS_PER_MS 1000000L
#define NS_PER_S 1000000000L

enum { BR_CLOSED, BR_OPEN, BR_HALF_OPEN };

/* A pool slot: a connection, or NULL until it is (re)created. */
typedef struct rconn {
    struct tc__rconn *c;
    int ever; /* it had a connection before: the next one is a reconnect */
} rconn;

typedef struct tc__redis {
    tc__store base;
    tc__resp_target target; /* the server, and the timeouts */
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

    int fb_wait;    /* feedback_wait_replicas (redis_script.c) */
    _Atomic int up; /* -1 before the first call */
    _Atomic uint64_t reconnects, errors;
} tc__redis;

/*
 * One call: its connection, its breaker role and where its detail goes.
 * The label ("GET tc:intent:... (+15 more)") names the call in error
 * messages only, so it is formatted on the first error (or connect), not
 * on every call.
 */
typedef struct tc__rcall {
    tc__redis *s;
    rconn conn;
    int have_conn, probe, rejected, local, drop;
    int denied;    /* an ACL refused the command (NOPERM): the server is up */
    int budget;    /* the call's timeout, for messages */
    int64_t until; /* its deadline (deadline.h), tc__now_ms() clock */
    const char *cmd, *key;
    size_t nkeys;
    tc__err *err;
    char label[LABEL_MAX]; /* "" until label() formats it */
    tc__err own;           /* err when the caller gave none */
} rcall;

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

/* Opens the call's connection (resp.c); a second one is a reconnect. */
static int conn_open(tc__redis *s, rcall *cl)
{
    int rc = tc__resp_connect_until(&cl->conn.c, &s->target, label(cl),
                                    cl->until, cl->budget, cl->err);

    if (rc == TC_OK) {
        if (cl->conn.ever) {
            atomic_fetch_add(&s->reconnects, 1);
        }
        cl->conn.ever = 1;
    }
    return rc;
}

/* ---- breaker ---------------------------------------------------------- */

static int64_t next_backoff(tc__redis *s)
{
    /* Up to 1/BACKOFF_JITTER of jitter, so that processes restarted
     * together do not probe a recovering server in step. xorshift64. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->br_backoff_ms +
           (int64_t)(s->rng %
                     (uint64_t)(s->br_backoff_ms / BACKOFF_JITTER + 1));
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
    const char *f[] = {
        "store",  s->target.where, "error",        tc__error_name(rc),
        "detail", detail,          "#retry_in_ms", retry_ms,
        NULL};

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
    /* A server that timed out on this store's first call (such as the
     * ping of tc_cache_open) and never answered is taken as down at once,
     * not after BREAKER_FAILURES timeouts: a short-lived process (the
     * CLI) then spends one timeout on it, not one per call. A refused
     * connection costs no wait, so it counts as any failure does. */
    int never = rc == TC_ETIMEOUT &&
                atomic_load_explicit(&s->up, memory_order_relaxed) == -1;
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
                   (s->br_fails >= BREAKER_FAILURES || never)) {
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

    if (cl->denied) {
        /* one command refused, on a server that answers: not down */
        log_event(s, TC_LOG_WARN, "l2_denied", rc, cl->err->msg, NULL);
    } else if (down || rc == TC_EAUTH || rc == TC_ECONFIG || rc == TC_ETLS) {
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
    until->tv_sec += s->target.command_ms / MS_PER_S;
    until->tv_nsec += (long)(s->target.command_ms % MS_PER_S) * NS_PER_MS;
    if (until->tv_nsec >= NS_PER_S) {
        until->tv_sec++;
        until->tv_nsec -= NS_PER_S;
    }
}

/*
 * Starts a call: the breaker (unless bypassed), then a pooled connection,
 * waiting at most the command timeout for one to be freed. Both are
 * decided under one hold of the mutex; the clock is read only when the
 * breaker is not closed or the call has to wait. Then the call's
 * deadline: the calling scope's (deadline.h), armed now if this is its
 * first round trip, and moved by the time waited for the pool, which the
 * timeout does not cover. Its budget is the larger of the two timeouts:
 * a call that has to connect first connects and runs within it.
 */
static int call_begin(tc__redis *s, rcall *cl, int bypass, const char *cmd,
                      const char *key, size_t nkeys, tc__err *err)
{
    struct timespec until;
    int64_t wait = 0, waited = 0;
    int admitted = 1, rc = 0;
    int budget = s->target.connect_ms > s->target.command_ms
                     ? s->target.connect_ms
                     : s->target.command_ms;

    memset(cl, 0, offsetof(rcall, label));
    cl->label[0] = '\0';
    cl->s = s;
    cl->cmd = cmd;
    cl->key = key;
    cl->nkeys = nkeys;
    cl->err = err ? err : &cl->own;
    pthread_mutex_lock(&s->mu);
    if (!bypass) {
        admitted = breaker_admit_locked(s, cl, &wait);
    }
    if (admitted && s->nidle == 0) {
        waited = tc__now_ms();
        pool_deadline(s, &until);
        while (s->nidle == 0 && rc == 0) {
            rc = pthread_cond_timedwait(&s->freed, &s->mu, &until);
        }
        waited = tc__now_ms() - waited;
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
                            label(cl), s->target.where);
        }
        return tc__errf(
            cl->err, TC_EUNAVAIL,
            "%s: circuit open (%s unreachable), next probe in %lld ms",
            label(cl), s->target.where, (long long)wait);
    }
    if (!cl->have_conn) {
        cl->local = 1;
        return tc__errf(cl->err, TC_ETIMEOUT,
                        "%s: no free connection after %d ms", label(cl),
                        s->target.command_ms);
    }
    tc__deadline_extend(waited);
    cl->until = tc__deadline_until(budget);
    cl->budget = (int)tc__deadline_budget(budget);
    if (cl->until <= tc__now_ms()) {
        /* an earlier round trip of the call used its time up */
        cl->local = 1;
        return tc__errf(cl->err, TC_ETIMEOUT, "%s: timed out after %d ms",
                        label(cl), cl->budget);
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
            tc__resp_close(cl->conn.c);
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

/* A failed send, worded as hiredis words a failed write. */
static int send_fail(rcall *cl, int eno)
{
    char buf[128];

    if (eno == EAGAIN || eno == EWOULDBLOCK) {
        return tc__errf(cl->err, TC_ETIMEOUT, "%s: timed out after %d ms",
                        label(cl), cl->budget);
    }
    return tc__errf(cl->err, TC_EUNAVAIL, "%s: %s", label(cl),
                    strerror_r(eno, buf, sizeof(buf)));
}

/*
 * A call whose request went and whose replies are still to be read
 * (tc__redis_send, tc__redis_recv; tc__redis_run is both at once). The
 * request stays the caller's until the replies are read: a stale pooled
 * connection is retried by sending it again.
 */
struct tc__rsent {
    rcall cl;
    tc__req *q;
    int idempotent;
    int fresh; /* the connection was opened for this call */
};

/*
 * Sends the request (tc__req_done'd), opening a connection first when
 * the call has none. A server restart leaves pooled connections that fail
 * on first use; such a failure ("closed by the server", reset, broken
 * pipe) on a connection that was reused is retried once on a new one
 * when the commands can be sent twice. One attempt only: a second
 * failure is the server's.
 */
static int sent_send(tc__redis *s, tc__rsent *t)
{
    rcall *cl = &t->cl;
    int rc, eno;

    for (;;) {
        t->fresh = cl->conn.c == NULL;
        if (t->fresh && (rc = conn_open(s, cl)) != TC_OK) {
            return rc;
        }
        if ((eno = tc__resp_send(cl->conn.c, t->q)) == 0) {
            return TC_OK;
        }
        rc = send_fail(cl, eno);
        tc__resp_close(cl->conn.c);
        cl->conn.c = NULL;
        if (t->fresh || !t->idempotent || !tc__resp_stale(NULL, eno)) {
            return rc;
        }
    }
}

/*
 * Reads k->n replies into k's slots, in order; on failure the slots hold
 * nothing (k->next is 0). A reused connection found stale only now is
 * retried as above: the request goes again on a new one, read there.
 */
static int sent_read(tc__redis *s, tc__rsent *t, tc__rsink *k)
{
    rcall *cl = &t->cl;
    int rc, eno, retry;

    for (;;) {
        if (tc__resp_read_until(cl->conn.c, k, cl->until,
                                s->target.command_ms) == 0) {
            return TC_OK;
        }
        eno = errno;
        rc = tc__resp_io_fail(cl->conn.c, eno, label(cl), NULL, cl->budget,
                              cl->err);
        retry = !t->fresh && t->idempotent && tc__resp_stale(cl->conn.c, eno);
        tc__sink_clear(k);
        tc__resp_close(cl->conn.c);
        cl->conn.c = NULL;
        if (!retry || (rc = sent_send(s, t)) != TC_OK) {
            return rc;
        }
    }
}

/* The call begun (breaker, connection) and its request sent; on failure
 * the caller still ends it (call_end). */
static int sent_begin(tc__redis *s, tc__rsent *t, int flags, const char *cmd,
                      const char *key, size_t nkeys, tc__req *q, tc__err *err)
{
    int rc =
        call_begin(s, &t->cl, flags & TC__REDIS_BYPASS, cmd, key, nkeys, err);

    t->q = q;
    t->idempotent = flags & TC__REDIS_IDEMPOTENT;
    t->fresh = 0;
    return rc == TC_OK ? sent_send(s, t) : rc;
}

/* A reply of a type the command never returns: the stream is not to be
 * trusted any more, so the connection is dropped. */
int tc__redis_bad_reply(rcall *cl, const tc__rrep *r)
{
    cl->drop = 1;
    return tc__errf(cl->err, TC_EPROTO, "%s: unexpected reply (type %d)",
                    label(cl), r->type);
}

int tc__redis_reply_is(rcall *cl, const tc__rrep *r, int type)
{
    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    return r->type == type ? TC_OK : tc__redis_bad_reply(cl, r);
}

/*
 * An ACL refusal (NOPERM) is said as such, naming the command and the
 * key's prefix (up to its last ':', "tc:intent:"), which is what an
 * operator grants: not "unreachable", and never the credentials.
 */
int tc__redis_error_reply(rcall *cl, const tc__rrep *r)
{
    const char *colon = cl->key ? strrchr(cl->key, ':') : NULL;

    if (strncmp(r->str, "NOPERM", 6) == 0) {
        cl->denied = 1;
        return tc__errf(cl->err, TC_EAUTH,
                        "%s: permission denied for %s on %.*s (%s)", label(cl),
                        cl->cmd, colon ? (int)(colon + 1 - cl->key) : 1,
                        colon ? cl->key : "-", r->str);
    }
    return tc__errf(cl->err, tc__resp_error_code(r->str), "%s: %s", label(cl),
                    r->str);
}

const char *tc__redis_label(rcall *cl)
{
    return label(cl);
}

tc__err *tc__redis_call_err(rcall *cl)
{
    return cl->err;
}

void tc__redis_item_failed(rcall *cl)
{
    atomic_fetch_add(&cl->s->errors, 1);
}

int tc__redis_run(tc__store *st, int flags, const char *cmd, const char *key,
                  size_t nkeys, tc__req *q, tc__rsink *k,
                  tc__redis_read_fn read, void *ud, tc__err *err)
{
    tc__redis *s = (tc__redis *)st;
    tc__rsent t; /* on the stack: the usual call allocates nothing */
    int rc;

    if (tc__req_done(q) != 0) {
        return tc__errf(err, TC_ENOMEM, "%s: out of memory", cmd);
    }
    rc = sent_begin(s, &t, flags, cmd, key, nkeys, q, err);
    if (rc == TC_OK) {
        rc = sent_read(s, &t, k);
    }
    if (rc == TC_OK && read) {
        rc = read(&t.cl, k, ud);
    }
    return call_end(s, &t.cl, rc);
}

int tc__redis_send(tc__rsent **out, tc__store *st, int flags, const char *cmd,
                   const char *key, size_t nkeys, tc__req *q, tc__err *err)
{
    tc__redis *s = (tc__redis *)st;
    tc__rsent *t;
    int rc;

    *out = NULL;
    if (tc__req_done(q) != 0 || !(t = tc__malloc(sizeof(*t)))) {
        return tc__errf(err, TC_ENOMEM, "%s: out of memory", cmd);
    }
    if ((rc = sent_begin(s, t, flags, cmd, key, nkeys, q, err)) != TC_OK) {
        rc = call_end(s, &t->cl, rc);
        tc__free(t);
        return rc;
    }
    *out = t;
    return TC_OK;
}

int tc__redis_recv(tc__rsent *t, tc__rsink *k, tc__redis_read_fn read, void *ud)
{
    tc__redis *s = t->cl.s;
    int rc = sent_read(s, t, k);

    if (rc == TC_OK && read) {
        rc = read(&t->cl, k, ud);
    }
    rc = call_end(s, &t->cl, rc);
    tc__free(t);
    return rc;
}

/* ---- the store -------------------------------------------------------- */

/* Frees what tc__redis_new made; the password is wiped first. */
static void free_fields(tc__redis *s)
{
    tc__resp_target_free(&s->target);
    tc__free(s->idle);
    tc__free(s);
}

int tc__redis_new(tc__store **out, const tc__store_ops *ops,
                  const tc__store_config *cfg, const tc__logger *log,
                  tc__err *err)
{
    tc__redis *s;
    pthread_condattr_t ca;
    int pool, rc;

    *out = NULL;
    if (!(s = tc__calloc(1, sizeof(*s)))) {
        return tc__errf(err, TC_ENOMEM, "redis: out of memory");
    }
    if ((rc = tc__resp_target_init(&s->target, cfg, err)) != TC_OK) {
        free_fields(s);
        return rc;
    }
    pool = cfg->pool_size > 0 ? cfg->pool_size : TC__DEFAULT_POOL;
    if (!(s->idle = tc__calloc((size_t)pool, sizeof(*s->idle)))) {
        free_fields(s);
        return tc__errf(err, TC_ENOMEM, "redis: out of memory");
    }
    s->base.ops = ops;
    if (log) {
        s->log = *log;
    } else {
        s->log.level = TC_LOG_OFF;
    }
    s->nidle = pool;
    s->fb_wait = cfg->fb_wait_replicas;
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
}

void tc__redis_close(tc__store *st)
{
    tc__redis *s = (tc__redis *)st;

    if (!s) {
        return;
    }
    for (int i = 0; s->idle && i < s->nidle; i++) {
        tc__resp_close(s->idle[i].c);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->freed);
    free_fields(s);
}

void tc__redis_health(tc__store *st, tc__store_health *out)
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

int tc__redis_fb_wait(tc__store *st, int *wait_ms)
{
    tc__redis *s = (tc__redis *)st;

    /* half the command timeout, so that WAIT's own answer comes back
     * within the call's deadline */
    *wait_ms = s->target.command_ms / 2 > 0 ? s->target.command_ms / 2 : 1;
    return s->fb_wait;
}

const tc__resp_target *tc__redis_target(tc__store *st, const tc__logger **log)
{
    tc__redis *s = (tc__redis *)st;

    *log = &s->log;
    return &s->target;
}
