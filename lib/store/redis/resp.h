/*
 * resp.h - the wire of the Redis store: requests written as RESP by hand
 * into one buffer and sent with one sendmsg, replies parsed by hiredis'
 * reader into slots of the call, and the opening of a connection (connect,
 * TLS for rediss://, timeouts, AUTH, SELECT). Internal to the files of
 * redis/ (their map is redis_store.h). It exposes no hiredis type (a
 * connection is a `struct tc__rconn *`, declared only: hiredis' context
 * and, over TLS, its session), so that the pool holds connections without
 * including hiredis.
 *
 * Nothing here knows about pools, breakers or operations: a failure is
 * returned as a TC_E* code with the detail, and the caller decides what
 * it means for the connection and the server.
 */
#ifndef TC_RESP_H
#define TC_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "store/redis/resp_req.h"
#include "store/store.h"
#include "store/tls.h"

struct tc__rconn;
struct redisReader;

/* ---- replies ------------------------------------------------------------ */

/*
 * A reply, read into a slot the call provides: hiredis' own reply
 * objects cost two allocations and a copy per bulk string and one
 * allocation per integer, and the value was then copied once more for
 * the caller. Here a bulk string or error is copied once into a
 * tc__malloc'd buffer, which a GET hands to the caller as it is;
 * integers, nils and statuses allocate nothing. type is one of hiredis'
 * REDIS_REPLY_* values (the files that read slots include hiredis).
 */
typedef struct tc__rrep {
    int type;
    long long integer;
    char *str; /* bulk strings and errors; NUL-terminated; else NULL */
    size_t len;
    /* An array's elements, when the sink keeps them (nested); else NULL
     * with elements still the array's length. The slots grow as the
     * elements arrive (nalloc of them so far), never by the length the
     * header announces: a complete reply has all `elements` of them. */
    struct tc__rrep *element;
    size_t elements, nalloc;
} tc__rrep;

/*
 * The slots of one call. The cache's own commands never answer with an
 * array, so by default an array reply is only told apart (its type) and
 * its elements are not kept; nested keeps them, for the feedback
 * commands (streams, hashes), in tc__calloc'd arrays.
 */
typedef struct tc__rsink {
    tc__rrep *slot;
    size_t n, next;
    int nested;
} tc__rsink;

/* Slots kept on the stack by a caller: enough for an mget of 16 keys. */
#define TC__REP_STACK 32

/* n slots, in stack (TC__REP_STACK of them) when they fit; -1 when out of
 * memory. */
int tc__sink_init(tc__rsink *k, tc__rrep *stack, size_t n, int nested);
/* Frees what the slots hold (k->next is 0 afterwards), not the slots. */
void tc__sink_clear(tc__rsink *k);
/* tc__sink_clear, then the slots unless they are stack. */
void tc__sink_free(tc__rsink *k, const tc__rrep *stack);

/*
 * The element of an array reply at i, or NULL when r is not an array
 * (or not kept) or is shorter: one test for "the shape I expect".
 */
const tc__rrep *tc__rrep_at(const tc__rrep *r, size_t i);

/* What a server error reply means for the caller: TC_EAUTH, TC_EUNAVAIL
 * (LOADING, BUSY...), TC_EFULL (OOM) or TC_EPROTO (anything else). */
int tc__resp_error_code(const char *str);
/* The reader's reply functions that fill a sink's slots (resp_reply.c);
 * a connection's reader takes them with the sink as its privdata. */
extern struct redisReplyObjectFunctions tc__rep_fns;

/* ---- connections -------------------------------------------------------- */

/* Where and how to connect: copies of the configuration, owned. */
typedef struct tc__resp_target {
    char *host, *unix_path; /* one of them */
    int port;
    char *user, *password; /* NULL: no AUTH */
    int db;                /* 0: no SELECT */
    int connect_ms, command_ms;
    char *where;      /* the server as messages name it, without password */
    tc__tls_ctx *tls; /* rediss://: every connection is TLS; else NULL */
} tc__resp_target;

/*
 * Copies what cfg says of the server (defaults: port 6379, timeouts of
 * 250 ms) into t, and loads its TLS files. Returns TC_OK; TC_EINVAL (no
 * host or socket, a negative db); TC_ETLS (a TLS file, named); TC_ENOMEM.
 * tc__resp_target_free releases the copies, wiping the password first, also
 * after a failed init.
 */
int tc__resp_target_init(tc__resp_target *t, const tc__store_config *cfg,
                         tc__err *err);
void tc__resp_target_free(tc__resp_target *t);

/*
 * Opens a connection with the connect timeout (the TLS handshake
 * included), sets the command timeout on its socket, authenticates and
 * selects the db, and makes its replies go to sinks (tc__resp_read).
 * label names the call in err.
 * Returns TC_OK; TC_EUNAVAIL/TC_ETIMEOUT (unreachable); TC_ETLS (the
 * server's certificate rejected, saying why); TC_EAUTH; TC_ECONFIG
 * (SELECT refused); TC_ENOMEM.
 */
int tc__resp_connect(struct tc__rconn **out, const tc__resp_target *t,
                     const char *label, tc__err *err);
/*
 * The same within a call's deadline (until_ms, tc__now_ms() clock): the
 * connect, AUTH and SELECT together end by then, each wait bounded by
 * what is left; a timeout's message names budget_ms, the call's timeout.
 * tc__resp_connect is this with the larger timeout of t from now.
 */
int tc__resp_connect_until(struct tc__rconn **out, const tc__resp_target *t,
                           const char *label, int64_t until_ms, int budget_ms,
                           tc__err *err);
void tc__resp_close(struct tc__rconn *c);
int tc__resp_fd(const struct tc__rconn *c);

/*
 * Sends a request (tc__req_done'd): tc__req_send on a plain socket, the
 * TLS session's writes otherwise, each wait at most the command timeout.
 * Returns 0, or the errno of the failure (EAGAIN: timed out).
 */
int tc__resp_send(struct tc__rconn *c, const tc__req *q);
/* The connection's reply reader, and what its last failure was. */
struct redisReader *tc__resp_reader(struct tc__rconn *c);
const char *tc__resp_errstr(const struct tc__rconn *c);

/*
 * For a connection whose replies the caller parses itself (the tracking
 * connection, track_read.h), once every reply read through its reader
 * was whole: tc__resp_read_raw moves up to cap bytes into buf, first
 * those the reader was given but did not parse, else one read of the
 * socket (a wait at most the command timeout: poll tc__resp_fd first)
 * or of the TLS session. Returns the count, 0 when a signal came first,
 * or -1 with errno and the connection's error set (the server closed it:
 * "Server closed the connection"). tc__resp_buffered counts what the
 * connection holds that a poll of its socket does not see; read it
 * before the next poll while it is not 0.
 */
ssize_t tc__resp_read_raw(struct tc__rconn *c, char *buf, size_t cap);
size_t tc__resp_buffered(const struct tc__rconn *c);

/*
 * Reads replies into k's free slots until it is full. Returns 0, or -1
 * with errno and the connection's error kept for tc__resp_io_fail; the
 * connection is then unusable.
 */
int tc__resp_read(struct tc__rconn *c, tc__rsink *k);
/*
 * The same, done by until_ms (tc__now_ms() clock) give or take a tenth
 * of sock_ms, the command timeout the connection's socket has: a read
 * that would wait past it fails as a timeout (errno EAGAIN).
 */
int tc__resp_read_until(struct tc__rconn *c, tc__rsink *k, int64_t until_ms,
                        int sock_ms);

/*
 * Writes the detail of a failed read (or connect, with where non-NULL)
 * into err and returns its code: TC_ETIMEOUT (after timeout_ms),
 * TC_EPROTO, TC_ETLS (eno EPROTO over TLS), TC_ENOMEM or TC_EUNAVAIL.
 */
int tc__resp_io_fail(const struct tc__rconn *c, int eno, const char *label,
                     const char *where, int timeout_ms, tc__err *err);

/*
 * Whether a failure looks like a connection the server closed while it
 * sat in a pool (EOF, reset, broken pipe): worth one more try on a new
 * connection. c may be NULL (a failed send: eno alone).
 */
int tc__resp_stale(const struct tc__rconn *c, int eno);

#endif /* TC_RESP_H */
