/*
 * redis_track.c - writes of other clients, heard through Redis 6's
 * client-side caching in RESP2 redirect mode: one connection of its own
 * turns on broadcast tracking of the cache's prefixes with its own id as
 * the redirect target (CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX
 * ...) and then subscribes to __redis__:invalidate; a thread reads the
 * messages (track_read.c, from the socket's bytes, no reply objects) and
 * hands their keys to the cache.
 *
 * Broadcast tracking follows prefixes, not the keys a connection read,
 * so the pool's connections need no tracking of their own: the one
 * connection that both asks and listens hears every write under the
 * prefixes, and losing it is one event, seen by the thread that reads it
 * (a closed socket at once; a silent network through a PING unanswered
 * for TRACK_PING_MS). Every loss, and every new connection, tells the
 * cache that nothing it holds is vouched for, since writes made
 * meanwhile were not heard.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "store/redis/redis_store.h"
#include "store/redis/track_read.h"

/* A PING when the connection was quiet this long; a loss when it is not
 * answered within as long again. */
#define TRACK_PING_MS 1000
/* Waits between attempts to connect again: doubling, up to the max. */
#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 2000
#define CHANNEL "__redis__:invalidate"
#define CLIENT_NAME "tutorcache-track"

typedef struct tc__rtrack {
    const tc__resp_target *t;
    const tc__logger *log;
    tc__ratelimit rl;
    tc__track_spec spec;
    char **prefixes;
    struct tc__rconn *c;
    int wake[2]; /* untrack writes a byte to wake[1] */
    pthread_t thread;
    int started;
    int64_t ping_ms; /* when the PING in flight was sent; 0: none */
    /* the messages once subscribed, read by track_read.c: what a message
     * split across reads left is kept here until its next bytes */
    tc__tread rd;
} tc__rtrack;

static void close_conn(tc__rtrack *tr)
{
    tc__resp_close(tr->c);
    tr->c = NULL;
}

static void log_event(tc__rtrack *tr, tc_log_level level, const char *event,
                      const char *detail)
{
    const char *f[] = {"store", tr->t->where, "detail", detail, NULL};

    tc__log_limited(tr->log, &tr->rl, level, event, f);
}

/* ---- the connection --------------------------------------------------- */

/* Sends q and reads its n replies into k (nested); TC_OK or the failure. */
static int roundtrip(tc__rtrack *tr, tc__req *q, tc__rsink *k, tc__err *err)
{
    int eno;

    if (tc__req_done(q) != 0) {
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
    }
    if ((eno = tc__resp_send(tr->c, q)) != 0) {
        return tc__errf(err, TC_EUNAVAIL, "CLIENT TRACKING on %s: %s",
                        tr->t->where, strerror(eno));
    }
    if (tc__resp_read(tr->c, k) != 0) {
        return tc__resp_io_fail(tr->c, errno, "CLIENT TRACKING", tr->t->where,
                                tr->t->command_ms, err);
    }
    return TC_OK;
}

/* An error reply's meaning: refused (an old server, a user without the
 * right) is TC_EPROTO, which tells the caller not to insist. */
static int refused(tc__rtrack *tr, const tc__rrep *r, const char *what,
                   tc__err *err)
{
    return tc__errf(
        err, TC_EPROTO, "%s on %s: %s", what, tr->t->where,
        r->type == REDIS_REPLY_ERROR && r->str ? r->str : "unexpected reply");
}

/*
 * Connects and subscribes: its id first, then tracking redirected to
 * itself and the subscription in one request, so that no write falls
 * between them.
 */
static int track_connect(tc__rtrack *tr, tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    tc__req q;
    long long id;
    int rc;

    if ((rc = tc__resp_connect(&tr->c, tr->t, "CLIENT TRACKING", err)) !=
        TC_OK) {
        return rc;
    }
    tc__req_init(&q);
    tc__sink_init(&k, stack, 2, 1);
    tc__req_argv(&q, 3,
                 (const char *const[]){"CLIENT", "SETNAME", CLIENT_NAME});
    tc__req_argv(&q, 2, (const char *const[]){"CLIENT", "ID"});
    rc = roundtrip(tr, &q, &k, err);
    if (rc == TC_OK && k.slot[1].type != REDIS_REPLY_INTEGER) {
        rc = refused(tr, &k.slot[1], "CLIENT ID", err);
    }
    id = rc == TC_OK ? k.slot[1].integer : 0;
    tc__sink_clear(&k);
    tc__req_free(&q);
    if (rc == TC_OK) {
        tc__req_init(&q);
        tc__req_len(&q, '*', 6 + 2 * tr->spec.nprefixes);
        tc__req_str(&q, "CLIENT");
        tc__req_str(&q, "TRACKING");
        tc__req_str(&q, "on");
        tc__req_str(&q, "REDIRECT");
        tc__req_i64(&q, id);
        tc__req_str(&q, "BCAST");
        for (size_t i = 0; i < tr->spec.nprefixes; i++) {
            tc__req_str(&q, "PREFIX");
            tc__req_str(&q, tr->prefixes[i]);
        }
        tc__req_argv(&q, 2, (const char *const[]){"SUBSCRIBE", CHANNEL});
        rc = roundtrip(tr, &q, &k, err);
        if (rc == TC_OK && k.slot[0].type != REDIS_REPLY_STATUS) {
            rc = refused(tr, &k.slot[0], "CLIENT TRACKING", err);
        } else if (rc == TC_OK && k.slot[1].type != REDIS_REPLY_ARRAY) {
            rc = refused(tr, &k.slot[1], "SUBSCRIBE " CHANNEL, err);
        }
        tc__sink_clear(&k);
        tc__req_free(&q);
    }
    tc__sink_free(&k, stack);
    if (rc != TC_OK) {
        close_conn(tr);
    }
    tr->ping_ms = 0;
    tc__tread_init(&tr->rd);
    return rc;
}

/* Nothing the cache holds is vouched for: a loss, or a new connection
 * (writes made while there was none were not heard). */
static void drop_all(tc__rtrack *tr)
{
    tr->spec.invalidate(tr->spec.ud, NULL, 0);
}

static void lost(tc__rtrack *tr, const char *why)
{
    char said[256];

    /* why may be the connection's own message, freed with it */
    snprintf(said, sizeof(said), "%s", why ? why : "");
    close_conn(tr);
    drop_all(tr);
    log_event(tr, TC_LOG_WARN, "l1_tracking_lost", said);
}

/* ---- messages ---------------------------------------------------------- */

/*
 * Reads what the connection has and hands over every key in it: one read
 * of the socket, then, without a poll, what a poll would not see (the
 * bytes hiredis' reader took with the subscription's reply, a TLS
 * session's decrypted records). Returns 0, or -1 with *why set.
 */
static int read_replies(tc__rtrack *tr, const char **why)
{
    do {
        size_t room;
        char *at = tc__tread_space(&tr->rd, &room);
        ssize_t n = tc__resp_read_raw(tr->c, at, room);

        if (n < 0) {
            *why = tc__resp_errstr(tr->c);
            return -1;
        }
        if (tc__tread_parse(&tr->rd, (size_t)n, tr->spec.invalidate,
                            tr->spec.ud) != 0) {
            *why = tr->rd.why;
            return -1;
        }
        if (tr->rd.pongs) {
            tr->rd.pongs = 0;
            tr->ping_ms = 0;
        }
    } while (tc__resp_buffered(tr->c) > 0);
    return 0;
}

static int send_ping(tc__rtrack *tr)
{
    tc__req q;
    int eno;

    tc__req_init(&q);
    tc__req_cmd1(&q, "PING", NULL);
    eno = tc__req_done(&q) != 0 ? ENOMEM : tc__resp_send(tr->c, &q);
    tc__req_free(&q);
    tr->ping_ms = tc__now_ms();
    return eno;
}

/* Waits ms for the socket (fd -1: none) or a wake-up; 1 when woken. */
static int wait_for(tc__rtrack *tr, int fd, int ms, int *readable)
{
    struct pollfd p[2] = {{tr->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};

    *readable = 0;
    if (poll(p, fd >= 0 ? 2 : 1, ms) < 0) {
        return 0; /* EINTR: the caller loops */
    }
    if (p[0].revents) {
        return 1;
    }
    *readable = fd >= 0 && p[1].revents != 0;
    return 0;
}

static void *track_main(void *arg)
{
    tc__rtrack *tr = arg;
    int backoff = RETRY_MIN_MS, readable;
    tc__err err;

    for (;;) {
        if (!tr->c) {
            err.msg[0] = '\0';
            if (track_connect(tr, &err) != TC_OK) {
                log_event(tr, TC_LOG_WARN, "l1_tracking_down", err.msg);
                if (wait_for(tr, -1, backoff, &readable)) {
                    break;
                }
                backoff =
                    backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
                continue;
            }
            backoff = RETRY_MIN_MS;
            drop_all(tr);
            tc__log(tr->log, TC_LOG_INFO, "l1_tracking_up",
                    (const char *const[]){"store", tr->t->where, NULL});
        }
        readable = tc__resp_buffered(tr->c) > 0;
        if (!readable &&
            wait_for(tr, tc__resp_fd(tr->c), TRACK_PING_MS / 2, &readable)) {
            break;
        }
        if (readable) {
            const char *why = NULL;

            if (read_replies(tr, &why) != 0) {
                lost(tr, why && why[0] ? why : "bad reply");
            }
            continue;
        }
        if (tr->ping_ms && tc__now_ms() - tr->ping_ms > TRACK_PING_MS) {
            lost(tr, "PING unanswered");
        } else if (!tr->ping_ms && send_ping(tr) != 0) {
            lost(tr, "PING not sent");
        }
    }
    return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

static void track_free(tc__rtrack *tr)
{
    for (size_t i = 0; tr->prefixes && i < tr->spec.nprefixes; i++) {
        tc__free(tr->prefixes[i]);
    }
    tc__free(tr->prefixes);
    close_conn(tr);
    if (tr->wake[0] >= 0) {
        close(tr->wake[0]);
        close(tr->wake[1]);
    }
    tc__free(tr);
}

/*
 * The first connection is made here, so that tracking is on when the
 * cache's open returns; a server that is down is retried by the thread,
 * one that refuses tracking is reported and not asked again.
 */
int tc__redis_track(tc__store *s, const tc__track_spec *spec, void **out,
                    tc__err *err)
{
    tc__rtrack *tr;
    int rc;

    *out = NULL;
    if (!(tr = tc__calloc(1, sizeof(*tr)))) {
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
    }
    tr->wake[0] = tr->wake[1] = -1;
    tr->t = tc__redis_target(s, &tr->log);
    tr->spec = *spec;
    if (!(tr->prefixes = tc__calloc(spec->nprefixes + 1, sizeof(char *)))) {
        track_free(tr);
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
    }
    for (size_t i = 0; i < spec->nprefixes; i++) {
        if (!(tr->prefixes[i] = tc__strdup(spec->prefixes[i]))) {
            track_free(tr);
            return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
        }
    }
    if (pipe2(tr->wake, O_CLOEXEC) != 0) {
        tr->wake[0] = tr->wake[1] = -1;
        track_free(tr);
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: pipe: %s",
                        strerror(errno));
    }
    rc = track_connect(tr, err);
    if (rc == TC_EPROTO || rc == TC_EAUTH || rc == TC_ENOMEM) {
        track_free(tr);
        return rc;
    }
    if (pthread_create(&tr->thread, NULL, track_main, tr) != 0) {
        track_free(tr);
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: no thread");
    }
    tr->started = 1;
    *out = tr;
    return TC_OK;
}

void tc__redis_untrack(void *t)
{
    tc__rtrack *tr = t;
    ssize_t w;

    if (!tr) {
        return;
    }
    if (tr->started) {
        do {
            w = write(tr->wake[1], "x", 1);
        } while (w < 0 && errno == EINTR);
        pthread_join(tr->thread, NULL);
    }
    track_free(tr);
}
