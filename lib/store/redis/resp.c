/*
 * resp.c - the wire of the Redis store (resp.h), but for the requests
 * (resp_req.c) and the replies' slots (resp_reply.c): replies read within
 * the call's deadline; connections opened with
 * their timeouts, TLS (store/tls.c) for rediss://, AUTH and SELECT.
 *
 * hiredis is used for what it does well, connecting and parsing, and not
 * for formatting or writing: its per-command formatting, its reply
 * objects and the signal-mask system calls a write(2) that may raise
 * SIGPIPE needs are all avoided. Over TLS the reader is fed the bytes
 * the session decrypted, and hiredis touches the socket only to connect.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "base/deadline.h"
#include "store/redis/resp.h"

#define MS_PER_S 1000
#define US_PER_MS 1000

/* ---- connections -------------------------------------------------------- */

/*
 * A connection: hiredis' context (its socket and reader) and, over TLS,
 * the session on that socket, with the command timeout that bounds each
 * of its waits (a plain socket has it as SO_RCVTIMEO/SO_SNDTIMEO). It is
 * allocated as hiredis allocates its context, with malloc, not
 * tc__malloc: a pooled connection outlives the call that opened it, and
 * the library's allocator counts what calls leave behind.
 */
struct tc__rconn {
    redisContext *rc;
    tc__tls *tls;
    int sock_ms;
};

/* The size of one read from a TLS session: a whole record. */
#define TLS_READ 16384

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
        snprintf(where, sizeof(where), "redis%s://%s:%d",
                 cfg->tls.on ? "s" : "", cfg->host, t->port);
    }
    if (copy_str(&t->host, cfg->host) || copy_str(&t->where, where) ||
        copy_str(&t->unix_path, cfg->unix_path) ||
        copy_str(&t->user, cfg->user) ||
        copy_str(&t->password, cfg->password)) {
        return tc__errf(err, TC_ENOMEM, "redis: out of memory");
    }
    if (cfg->tls.on && !t->unix_path) {
        return tc__tls_ctx_new(&t->tls, &cfg->tls, t->host, t->where, err);
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
    tc__tls_ctx_free(t->tls);
    memset(t, 0, sizeof(*t));
}

/*
 * A failed read or send. The blocking context reports an expired
 * SO_RCVTIMEO as an I/O error with errno EAGAIN, which is the timeout,
 * and so does a TLS session whose wait ran out.
 */
int tc__resp_io_fail(const struct tc__rconn *conn, int eno, const char *label,
                     const char *where, int timeout_ms, tc__err *err)
{
    const redisContext *c = conn->rc;
    char what[TC__ERR_MAX];
    int rc;

    if (c->err == REDIS_ERR_IO && (eno == EAGAIN || eno == EWOULDBLOCK ||
                                   eno == ETIMEDOUT || eno == EINPROGRESS)) {
        rc = TC_ETIMEOUT;
    } else if (c->err == REDIS_ERR_IO && conn->tls && eno == EPROTO) {
        rc = TC_ETLS;
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
    return tc__errf(err, rc, "%s: %s%s", what, rc == TC_ETLS ? "TLS: " : "",
                    c->errstr);
}

int tc__resp_stale(const struct tc__rconn *conn, int eno)
{
    const redisContext *c = conn ? conn->rc : NULL;
    int io = !c || c->err == REDIS_ERR_IO;

    if (c && c->err == REDIS_ERR_EOF) {
        return 1;
    }
    return io && (eno == ECONNRESET || eno == EPIPE || eno == ENOTCONN);
}

/* The smaller of want and what is left before until_ms, at least 1 ms
 * (a timeout of 0 would mean none); 0 when nothing is left. */
static int ms_left(int want, int64_t until_ms)
{
    int64_t left = until_ms - tc__now_ms();

    if (left <= 0) {
        return 0;
    }
    return left < want ? (int)left : want;
}

/* The replies to AUTH, SELECT and PING, in k's slots, while setting up;
 * cmd names each. */
static int setup_replies(const tc__resp_target *t, const char *label,
                         const tc__rsink *k, const char *const *cmd,
                         tc__err *err)
{
    for (size_t i = 0; i < k->next; i++) {
        const tc__rrep *r = &k->slot[i];
        int rc;

        if (r->type == REDIS_REPLY_STATUS) {
            continue;
        }
        if (r->type != REDIS_REPLY_ERROR || !r->str) {
            return tc__errf(err, TC_EPROTO, "%s: %s: unexpected reply", label,
                            cmd[i]);
        }
        rc = tc__resp_error_code(r->str);
        if (rc == TC_EPROTO) {
            rc = TC_ECONFIG; /* such as a db index out of range */
        }
        return tc__errf(err, rc, "%s: %s on %s: %s", label, cmd[i], t->where,
                        r->str);
    }
    return TC_OK;
}

/*
 * A TLS connection the server dropped on its first round trip. In TLS
 * 1.3 the server judges the client's certificate after the client has
 * finished its handshake, so its refusal comes as an alert on the first
 * read, or, when the reset outruns the alert, as a closed connection.
 */
static int tls_dropped(const tc__resp_target *t, const char *label,
                       tc__err *err)
{
    return tc__errf(err, TC_ETLS,
                    "%s: connect to %s: TLS: the server closed the connection "
                    "after the handshake (does it require a client "
                    "certificate? tls_cert, tls_key)",
                    label, t->where);
}

/*
 * AUTH and SELECT, sent together and answered in order, the way every
 * later call goes (tc__resp_send, tc__resp_read_until): over TLS too,
 * and within the call's deadline. Over TLS a PING follows, so that a
 * server refusing the session says so now, as the open's failure, and
 * not on the first call that borrows the connection.
 */
static int conn_login(struct tc__rconn *conn, const tc__resp_target *t,
                      const char *label, int64_t until_ms, int budget_ms,
                      tc__err *err)
{
    tc__rrep stack[3];
    tc__rsink k;
    tc__req q;
    char dbs[16];
    const char *argv[3], *cmd[3];
    int argc = 0, rc = TC_OK, eno, n = 0;

    tc__req_init(&q);
    if (t->password) {
        argv[argc++] = "AUTH";
        if (t->user) {
            argv[argc++] = t->user;
        }
        argv[argc++] = t->password;
        tc__req_argv(&q, argc, argv);
        cmd[n++] = "AUTH";
    }
    if (t->db != 0) {
        snprintf(dbs, sizeof(dbs), "%d", t->db);
        tc__req_argv(&q, 2, (const char *const[]){"SELECT", dbs});
        cmd[n++] = "SELECT";
    }
    if (conn->tls) {
        tc__req_cmd1(&q, "PING", NULL);
        cmd[n++] = "PING";
    }
    tc__sink_init(&k, stack, (size_t)n, 0);
    if (tc__req_done(&q) != 0) {
        rc = tc__errf(err, TC_ENOMEM, "%s: connect: out of memory", label);
    } else if ((eno = tc__resp_send(conn, &q)) != 0) {
        rc = conn->tls && tc__resp_stale(NULL, eno)
                 ? tls_dropped(t, label, err)
                 : tc__errf(err, eno == EAGAIN ? TC_ETIMEOUT : TC_EUNAVAIL,
                            "%s: connect to %s: %s", label, t->where,
                            eno == EAGAIN ? "timed out" : strerror(eno));
    } else if (tc__resp_read_until(conn, &k, until_ms, t->command_ms) != 0) {
        eno = errno;
        rc = conn->tls && tc__resp_stale(conn, eno)
                 ? tls_dropped(t, label, err)
                 : tc__resp_io_fail(conn, eno, label, NULL, budget_ms, err);
    } else {
        rc = setup_replies(t, label, &k, cmd, err);
    }
    /* the password in the request's buffer */
    explicit_bzero(q.buf, q.len);
    tc__req_free(&q);
    tc__sink_free(&k, stack);
    return rc;
}

/*
 * Opens the connection and sets it up within the call's deadline: the
 * connect and the TLS handshake get the connect timeout or what is left,
 * AUTH and SELECT what is left then; the socket is left with the command
 * timeout, which bounds each wait of the calls that use it
 * (tc__resp_read_until).
 */
static int conn_setup(struct tc__rconn **out, const tc__resp_target *t,
                      const char *label, int64_t until_ms, int budget_ms,
                      tc__err *err)
{
    int cms = ms_left(t->connect_ms, until_ms);
    int64_t connect_until = tc__now_ms() + cms;
    struct tc__rconn *conn;
    redisContext *c;
    int rc = TC_OK;

    if (cms == 0) {
        return tc__errf(err, TC_ETIMEOUT,
                        "%s: connect to %s: timed out after %d ms", label,
                        t->where, budget_ms);
    }
    if (!(conn = calloc(1, sizeof(*conn)))) {
        return tc__errf(err, TC_ENOMEM, "%s: connect: out of memory", label);
    }
    conn->sock_ms = t->command_ms;
    c = conn->rc = t->unix_path
                       ? redisConnectUnixWithTimeout(t->unix_path, ms_tv(cms))
                       : redisConnectWithTimeout(t->host, t->port, ms_tv(cms));
    if (!c) {
        free(conn);
        return tc__errf(err, TC_ENOMEM, "%s: connect: out of memory", label);
    }
    if (c->err || redisSetTimeout(c, ms_tv(t->command_ms)) != REDIS_OK) {
        rc = tc__resp_io_fail(conn, errno, label, t->where,
                              cms < t->connect_ms ? budget_ms : cms, err);
        goto fail;
    }
    /* From here on, replies are read into the calls' slots. */
    c->reader->fn = &tc__rep_fns;
    c->reader->privdata = NULL;
    if (t->tls && (rc = tc__tls_open(
                       &conn->tls, t->tls, c->fd, label, connect_until,
                       cms < t->connect_ms ? budget_ms : cms, err)) != TC_OK) {
        goto fail;
    }
    if ((t->password || t->db != 0 || conn->tls) &&
        (rc = conn_login(conn, t, label, until_ms, budget_ms, err)) != TC_OK) {
        goto fail;
    }
    *out = conn;
    return TC_OK;
fail:
    tc__resp_close(conn);
    return rc;
}

int tc__resp_connect(struct tc__rconn **out, const tc__resp_target *t,
                     const char *label, tc__err *err)
{
    int budget = t->connect_ms > t->command_ms ? t->connect_ms : t->command_ms;

    return tc__resp_connect_until(out, t, label, tc__now_ms() + budget, budget,
                                  err);
}

/* Nothing of hiredis writes (AUTH and SELECT go as every call does, with
 * MSG_NOSIGNAL or through the TLS session's own BIO), so no SIGPIPE can
 * come of opening a connection. */
int tc__resp_connect_until(struct tc__rconn **out, const tc__resp_target *t,
                           const char *label, int64_t until_ms, int budget_ms,
                           tc__err *err)
{
    *out = NULL;
    return conn_setup(out, t, label, until_ms, budget_ms, err);
}

void tc__resp_close(struct tc__rconn *c)
{
    if (c) {
        tc__tls_close(c->tls);
        if (c->rc) {
            redisFree(c->rc);
        }
        free(c);
    }
}

int tc__resp_fd(const struct tc__rconn *c)
{
    return c->rc->fd;
}

struct redisReader *tc__resp_reader(struct tc__rconn *c)
{
    return c->rc->reader;
}

const char *tc__resp_errstr(const struct tc__rconn *c)
{
    return c->rc->errstr;
}

/* ---- sending and reading ---------------------------------------------------
 */

/*
 * A request through the TLS session: the pieces copied into records of
 * up to TLS_READ bytes (one SSL_write per small piece would be a record
 * each), a large value written from the caller's memory as it is.
 */
static int tls_send(struct tc__rconn *c, const tc__req *q)
{
    char buf[TLS_READ];
    size_t used = 0;
    int eno = 0;

    for (size_t i = 0; i < q->nseg && eno == 0; i++) {
        const tc__rseg *g = &q->seg[i];
        const char *p = g->ext ? g->ext : q->buf + g->off;

        if (used + g->len <= sizeof(buf)) {
            memcpy(buf + used, p, g->len);
            used += g->len;
            continue;
        }
        if (used) {
            eno = tc__tls_write(c->tls, buf, used, c->sock_ms);
            used = 0;
        }
        if (eno == 0) {
            eno = tc__tls_write(c->tls, p, g->len, c->sock_ms);
        }
    }
    if (eno == 0 && used) {
        eno = tc__tls_write(c->tls, buf, used, c->sock_ms);
    }
    return eno;
}

int tc__resp_send(struct tc__rconn *c, const tc__req *q)
{
    return c->tls ? tls_send(c, q) : tc__req_send(q, c->rc->fd);
}

/* A failure of the connection, as hiredis keeps it, with errno kept. */
static int conn_err(redisContext *c, int type, const char *why, int eno)
{
    c->err = type;
    snprintf(c->errstr, sizeof(c->errstr), "%s", why);
    errno = eno;
    return -1;
}

/*
 * What redisBufferRead does, through the TLS session: one read, waiting
 * until until_ms or the command timeout, then what the session already
 * decrypted. The socket is non-blocking: its poll is the only wait.
 */
static int tls_fill(struct tc__rconn *c, int64_t until_ms)
{
    char buf[TLS_READ];
    int64_t by = tc__now_ms() + c->sock_ms;
    ssize_t n;
    int first = 1;

    do {
        n = tc__tls_read(c->tls, buf, sizeof(buf),
                         !first          ? 0
                         : until_ms < by ? until_ms
                                         : by);
        if (n == 0) {
            return conn_err(c->rc, REDIS_ERR_EOF,
                            "Server closed the connection", ECONNRESET);
        }
        if (n < 0 && !first && errno == EAGAIN) {
            break; /* the rest of a record is still on its way */
        }
        if (n < 0) {
            int eno = errno;

            return conn_err(c->rc, REDIS_ERR_IO,
                            eno == EPROTO ? tc__tls_why(c->tls) : strerror(eno),
                            eno);
        }
        if (redisReaderFeed(c->rc->reader, buf, (size_t)n) != REDIS_OK) {
            return conn_err(c->rc, c->rc->reader->err, c->rc->reader->errstr,
                            EPROTO);
        }
        first = 0;
    } while (tc__tls_pending(c->tls) > 0);
    return 0;
}

int tc__resp_read(struct tc__rconn *c, tc__rsink *k)
{
    return tc__resp_read_until(c, k, INT64_MAX, 0);
}

/* Waits for c's socket to be readable until until_ms; -1 with the
 * connection's error set as an expired SO_RCVTIMEO sets it (EAGAIN). */
static int wait_readable(redisContext *c, int64_t until_ms)
{
    int eno = tc__wait_fd(c->fd, POLLIN, until_ms);

    return eno == 0 ? 0 : conn_err(c, REDIS_ERR_IO, strerror(eno), eno);
}

/* ---- feeding the reader ---------------------------------------------- */

/* What one read(2) takes from the socket, as hiredis' own reads do. */
#define FEED_READ (16 * 1024)
/* The first piece handed to the reader, and the piece after each reply:
 * about what hiredis consumes before it compacts its buffer. */
#define FEED_MIN 1024
/* What is left of a read up to this size goes in one piece: moving it a
 * few times costs less than the pieces (an mget of 16 keys). */
#define FEED_WHOLE 4096

/*
 * Bytes read from the socket, handed to hiredis' reader a piece at a
 * time. The reader moves what it holds unread to the front of its buffer
 * each time it has consumed 1 KB of replies (sdsrange): fed a whole 16 KB
 * read, it moved up to 16 KB every 1 KB of a large batch's replies, which
 * made an mget of 256 keys cost 1.5 times per key what one of 16 did.
 * Fed pieces of 1 KB, it moves at most about that much; a reply longer
 * than a piece doubles the piece until it is whole, so that a large value
 * costs a few pieces, not one per kilobyte.
 */
typedef struct feed {
    char buf[FEED_READ];
    size_t pos, len, piece;
} feed;

/* The connection's error as redisBufferRead sets it. */
static int feed_fail(redisContext *c, int type, const char *why)
{
    c->err = type;
    snprintf(c->errstr, sizeof(c->errstr), "%s", why);
    return -1;
}

/* Hands the reader n bytes at p; -1 with the connection's error set. */
static int feed_reader(redisContext *c, const char *p, size_t n)
{
    if (n && redisReaderFeed(c->reader, p, n) != REDIS_OK) {
        return feed_fail(c, c->reader->err, c->reader->errstr);
    }
    return 0;
}

/* The next piece of what was read; 1 when nothing is left of it. */
static int feed_piece(redisContext *c, feed *f)
{
    size_t n = f->len - f->pos;

    if (n == 0) {
        return 1;
    }
    n = n <= FEED_WHOLE || n < f->piece ? n : f->piece;
    f->piece = f->piece < FEED_READ / 2 ? 2 * f->piece : FEED_READ;
    f->pos += n;
    return feed_reader(c, f->buf + f->pos - n, n);
}

/* One read(2) of what the socket has (it blocks up to its SO_RCVTIMEO);
 * -1 with errno and the connection's error set as redisBufferRead sets
 * them. An interrupted read reads nothing and succeeds. */
static int feed_read(redisContext *c, feed *f)
{
    ssize_t n = read(c->fd, f->buf, sizeof(f->buf));

    f->pos = f->len = 0;
    if (n < 0) {
        return errno == EINTR ? 0 : feed_fail(c, REDIS_ERR_IO, strerror(errno));
    }
    if (n == 0) {
        return feed_fail(c, REDIS_ERR_EOF, "Server closed the connection");
    }
    f->len = (size_t)n;
    return 0;
}

/*
 * The reading of redisGetReply (its writing has nothing to do here: the
 * request went by tc__resp_send), with the call's deadline: when less is
 * left than the socket's own timeout, less a tenth of it, the socket is
 * polled for what is left before each read. The usual call, which starts
 * with its whole timeout, reads with no poll: its read then ends at most
 * a tenth of the timeout after the deadline. A TLS session waits in
 * tls_fill, for what is left or the command timeout, whichever is less.
 * What was read past the call's last reply stays with the reader, for
 * the next call.
 */
int tc__resp_read_until(struct tc__rconn *conn, tc__rsink *k, int64_t until_ms,
                        int sock_ms)
{
    redisContext *c = conn->rc;
    feed *f = tc__malloc(sizeof(*f));
    void *got;
    int rc = 0;

    if (!f) {
        return feed_fail(c, REDIS_ERR_OOM, "Out of memory");
    }
    f->pos = f->len = 0;
    f->piece = FEED_MIN;
    c->reader->privdata = k;
    while (rc == 0 && k->next < k->n) {
        /* one whole reply: its slot is taken when it starts, so k->next
         * alone does not say it is complete */
        for (;;) {
            if (redisGetReplyFromReader(c, &got) != REDIS_OK) {
                rc = -1; /* errno and c->err say why */
                break;
            }
            if (got) {
                f->piece = FEED_MIN;
                break;
            }
            if ((rc = feed_piece(c, f)) <= 0) {
                if (rc < 0) {
                    break;
                }
                continue;
            }
            rc = 0;
            if (conn->tls) {
                if ((rc = tls_fill(conn, until_ms)) != 0) {
                    break;
                }
                continue;
            }
            if (until_ms != INT64_MAX &&
                until_ms - tc__now_ms() < sock_ms - sock_ms / 10 &&
                wait_readable(c, until_ms) != 0) {
                rc = -1;
                break;
            }
            if ((rc = feed_read(c, f)) != 0) {
                break;
            }
        }
    }
    if (rc == 0) {
        c->reader->privdata = NULL;
        rc = feed_reader(c, f->buf + f->pos, f->len - f->pos);
    }
    tc__free(f);
    return rc;
}

/* ---- bytes for a parser of the caller's --------------------------------- */

size_t tc__resp_buffered(const struct tc__rconn *c)
{
    const redisReader *r = c->rc->reader;

    return r->len - r->pos + (c->tls ? (size_t)tc__tls_pending(c->tls) : 0);
}

ssize_t tc__resp_read_raw(struct tc__rconn *c, char *buf, size_t cap)
{
    redisReader *r = c->rc->reader;
    ssize_t n;

    if (r->len > r->pos) {
        size_t take = r->len - r->pos < cap ? r->len - r->pos : cap;

        memcpy(buf, r->buf + r->pos, take);
        r->pos += take;
        return (ssize_t)take;
    }
    n = c->tls ? tc__tls_read(c->tls, buf, cap, tc__now_ms() + c->sock_ms)
               : read(c->rc->fd, buf, cap);
    if (n == 0) {
        return conn_err(c->rc, REDIS_ERR_EOF, "Server closed the connection",
                        ECONNRESET);
    }
    if (n < 0 && !c->tls && errno == EINTR) {
        return 0;
    }
    if (n < 0) {
        int eno = errno;

        return conn_err(
            c->rc, REDIS_ERR_IO,
            c->tls && eno == EPROTO ? tc__tls_why(c->tls) : strerror(eno), eno);
    }
    return n;
}
