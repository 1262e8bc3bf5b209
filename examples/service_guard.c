/*
 * service_guard.c - the example service's bounds on abusive clients:
 * deadlines for a request's headers and body, and log lines that stay
 * few however many connections are dropped. libmicrohttpd's own timeout
 * is an idle timeout, which a client trickling a byte every few seconds
 * never reaches; so every connection is tracked from libmicrohttpd's
 * connection notification, and a watchdog thread closes (shutdown()) the
 * ones whose current phase outlived its deadline. The connection limits
 * themselves are libmicrohttpd's; its per-connection complaints about
 * them are counted here and written as one line per interval.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "service.h"

/* How often the watchdog looks: a deadline is kept to within this. The
 * walk is over every open connection, bounded by --max-connections: a
 * few thousand list nodes five times a second cost nothing measurable,
 * and need no ordering kept up on every phase change. */
#define TICK_MS 200

struct svc_conn {
    svc_conn *prev, *next;
    MHD_socket fd;
    enum svc_phase phase;
    int64_t since_us; /* when the phase began */
    int served;       /* requests completed on this connection */
    _Atomic int dropped;
};

static const char *const drop_names[SVC_NDROPS] = {
    [SVC_DROP_LIMIT] = "limit",
    [SVC_DROP_HEADERS] = "header_deadline",
    [SVC_DROP_BODY] = "body_deadline",
    [SVC_DROP_KEEPALIVE] = "keepalive_idle",
};

static void count_drop(svc_guard *g, enum svc_drop why)
{
    atomic_fetch_add_explicit(&g->dropped[why], 1, memory_order_relaxed);
    g->window[why]++;
}

/* ---- log lines ----------------------------------------------------------- */

/*
 * libmicrohttpd's messages that describe what a client did (went away
 * mid-request) rather than what went wrong in the server; the watchdog's
 * own shutdown() looks like this to libmicrohttpd too. Debug level.
 */
static const char *const client_msgs[] = {
    "Connection was closed by remote side",
    "Socket has been disconnected when reading request",
    "Connection socket is closed when reading request",
};

/* libmicrohttpd's words for a connection refused over
 * MHD_OPTION_CONNECTION_LIMIT or MHD_OPTION_PER_IP_CONNECTION_LIMIT
 * (0.9.x, one line per connection): there is no callback for it. */
#define REFUSED_MSG "Server reached connection limit"

static void log_mhd_line(const svc *s, tc_log_level level, const char *msg,
                         uint64_t repeated, int64_t interval_us)
{
    svc_buf f = {0};

    svc_buf_str(&f, ",\"detail\":");
    svc_buf_jstr(&f, msg);
    if (repeated) {
        svc_buf_printf(&f, ",\"repeated\":%" PRIu64 ",\"interval_s\":%.1f",
                       repeated, (double)interval_us / 1e6);
    }
    if (!f.oom) {
        svc_log(s, level, "http_server", f.p);
    }
    svc_buf_free(&f);
}

void svc_guard_mhd_log(void *cls, const char *fmt, va_list ap)
{
    svc *s = cls;
    svc_guard *g = &s->guard;
    tc_log_level level = TC_LOG_WARN;
    svc_throttle *t = NULL;
    char msg[256];
    size_t i, n;

    if (strncmp(fmt, REFUSED_MSG, strlen(REFUSED_MSG)) == 0) {
        pthread_mutex_lock(&g->mu);
        count_drop(g, SVC_DROP_LIMIT);
        pthread_mutex_unlock(&g->mu);
        return;
    }
    for (i = 0; i < sizeof(client_msgs) / sizeof(client_msgs[0]); i++) {
        if (strncmp(fmt, client_msgs[i], strlen(client_msgs[i])) == 0) {
            level = TC_LOG_DEBUG;
        }
    }
    if (level < s->level) {
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        msg[--n] = '\0';
    }
    /* One slot per format string, the last one shared when all are
     * taken: the first message of a kind in an interval is written at
     * once, the others counted for the interval's end. */
    pthread_mutex_lock(&g->mu);
    for (i = 0; i < SVC_THROTTLE_SLOTS && !t; i++) {
        if (g->msgs[i].fmt == fmt || !g->msgs[i].fmt ||
            i == SVC_THROTTLE_SLOTS - 1) {
            t = &g->msgs[i];
        }
    }
    if (!t->fmt) {
        t->fmt = fmt;
    }
    if (t->logged) {
        t->repeated++;
        t->level = level;
        snprintf(t->last, sizeof(t->last), "%s", msg);
        pthread_mutex_unlock(&g->mu);
        return;
    }
    t->logged = 1;
    pthread_mutex_unlock(&g->mu);
    log_mhd_line(s, level, msg, 0, 0);
}

/* What an interval's end writes, taken under the lock, written after. */
typedef struct window {
    uint64_t drops[SVC_NDROPS];
    svc_throttle msgs[SVC_THROTTLE_SLOTS];
} window;

static void take_window(svc_guard *g, window *w)
{
    size_t i;

    memcpy(w->drops, g->window, sizeof(w->drops));
    memset(g->window, 0, sizeof(g->window));
    for (i = 0; i < SVC_THROTTLE_SLOTS; i++) {
        w->msgs[i] = g->msgs[i];
        g->msgs[i].logged = 0;
        g->msgs[i].repeated = 0;
    }
}

/*
 * One "connections_dropped" line for the interval when any connection
 * was refused or cut off, and one line per kind of message that was
 * repeated: whatever a flood of clients does, a few lines per interval.
 * Kept-alive connections closed while idle are normal and not logged.
 */
static void write_window(const svc *s, const window *w, int64_t interval_us)
{
    size_t i;

    if (w->drops[SVC_DROP_LIMIT] || w->drops[SVC_DROP_HEADERS] ||
        w->drops[SVC_DROP_BODY]) {
        svc_logf(s, TC_LOG_WARN, "connections_dropped",
                 ",\"limit\":%" PRIu64 ",\"header_deadline\":%" PRIu64
                 ",\"body_deadline\":%" PRIu64 ",\"interval_s\":%.1f",
                 w->drops[SVC_DROP_LIMIT], w->drops[SVC_DROP_HEADERS],
                 w->drops[SVC_DROP_BODY], (double)interval_us / 1e6);
    }
    for (i = 0; i < SVC_THROTTLE_SLOTS; i++) {
        if (w->msgs[i].repeated) {
            log_mhd_line(s, w->msgs[i].level, w->msgs[i].last,
                         w->msgs[i].repeated, interval_us);
        }
    }
}

/* ---- the watchdog -------------------------------------------------------- */

/*
 * Closes every connection past its phase's deadline. shutdown(), not
 * close(): the descriptor stays libmicrohttpd's, which sees the end of
 * the stream on its next read and closes the connection in its own
 * thread. The descriptor cannot have been reused: a connection leaves
 * the list in libmicrohttpd's "closed" notification, which comes before
 * it closes the descriptor, and both run under mu.
 */
static void close_late(svc_guard *g, int64_t now)
{
    svc_conn *c;

    for (c = g->conns; c; c = c->next) {
        enum svc_drop why;
        int64_t limit;

        if (c->phase == SVC_PHASE_BUSY || atomic_load(&c->dropped)) {
            continue;
        }
        limit = c->phase == SVC_PHASE_HEADERS ? g->header_us : g->body_us;
        if (now - c->since_us < limit) {
            continue;
        }
        why = c->phase == SVC_PHASE_BODY ? SVC_DROP_BODY
              : c->served                ? SVC_DROP_KEEPALIVE
                                         : SVC_DROP_HEADERS;
        atomic_store(&c->dropped, 1);
        count_drop(g, why);
        shutdown(c->fd, SHUT_RDWR);
    }
}

static void *watchdog(void *arg)
{
    svc *s = arg;
    svc_guard *g = &s->guard;
    struct timespec ts;
    window w;
    int64_t now;

    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        now = svc_now_us();
        close_late(g, now);
        if (now - g->flushed_us >= g->interval_us) {
            g->flushed_us = now;
            take_window(g, &w);
            pthread_mutex_unlock(&g->mu);
            write_window(s, &w, g->interval_us);
            pthread_mutex_lock(&g->mu);
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int svc_guard_start(svc *s, int header_s, int body_s, int interval_s)
{
    svc_guard *g = &s->guard;
    pthread_condattr_t ca;
    int rc;

    g->header_us = (int64_t)header_s * 1000000;
    g->body_us = (int64_t)body_s * 1000000;
    g->interval_us = (int64_t)interval_s * 1000000;
    g->flushed_us = svc_now_us();
    if ((rc = pthread_mutex_init(&g->mu, NULL)) != 0) {
        return rc;
    }
    /* The watchdog's waits on the monotonic clock, as svc_now_us(). */
    if ((rc = pthread_condattr_init(&ca)) != 0) {
        pthread_mutex_destroy(&g->mu);
        return rc;
    }
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(&g->cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_destroy(&g->mu);
        return rc;
    }
    if ((rc = pthread_create(&g->thread, NULL, watchdog, s)) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        return rc;
    }
    g->started = 1;
    return 0;
}

void svc_guard_stop(svc *s)
{
    svc_guard *g = &s->guard;
    window w;

    if (!g->started) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    take_window(g, &w);
    write_window(s, &w, svc_now_us() - g->flushed_us);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    g->started = 0;
}

/* ---- connections --------------------------------------------------------- */

void svc_guard_notify(void *cls, struct MHD_Connection *conn,
                      void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    svc *s = cls;
    svc_guard *g = &s->guard;
    svc_conn *c = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        /* Without memory the connection goes unwatched, as it would
         * without this file: still bounded by the idle timeout. */
        if (!ci || !(c = calloc(1, sizeof(*c)))) {
            return;
        }
        c->fd = ci->connect_fd;
        c->phase = SVC_PHASE_HEADERS;
        c->since_us = svc_now_us();
        pthread_mutex_lock(&g->mu);
        c->next = g->conns;
        if (g->conns) {
            g->conns->prev = c;
        }
        g->conns = c;
        pthread_mutex_unlock(&g->mu);
        atomic_fetch_add_explicit(&g->open, 1, memory_order_relaxed);
        *socket_context = c;
        return;
    }
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || !c) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        g->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_sub_explicit(&g->open, 1, memory_order_relaxed);
    *socket_context = NULL;
    free(c);
}

svc_conn *svc_guard_conn(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

void svc_guard_enter(svc *s, svc_conn *c, enum svc_phase phase)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&s->guard.mu);
    /* Back to the headers phase means a request was completed: the
     * connection waits, kept alive, for its next one. */
    if (phase == SVC_PHASE_HEADERS && c->phase != SVC_PHASE_HEADERS) {
        c->served++;
    }
    c->phase = phase;
    c->since_us = svc_now_us();
    pthread_mutex_unlock(&s->guard.mu);
}

int svc_guard_dropped(const svc_conn *c)
{
    return c && atomic_load(&c->dropped);
}

void svc_guard_metrics(const svc *s, svc_buf *b)
{
    size_t i;

    svc_buf_printf(
        b,
        "# HELP intent_service_http_connections HTTP connections open now.\n"
        "# TYPE intent_service_http_connections gauge\n"
        "intent_service_http_connections %" PRIu64 "\n"
        "# HELP intent_service_http_connections_dropped_total Connections "
        "the service refused (over a connection limit) or closed (a "
        "deadline passed), by reason.\n"
        "# TYPE intent_service_http_connections_dropped_total counter\n",
        atomic_load_explicit(&s->guard.open, memory_order_relaxed));
    for (i = 0; i < SVC_NDROPS; i++) {
        svc_buf_printf(
            b,
            "intent_service_http_connections_dropped_total"
            "{reason=\"%s\"} %" PRIu64 "\n",
            drop_names[i],
            atomic_load_explicit(&s->guard.dropped[i], memory_order_relaxed));
    }
}
