/*
 * resp_req.h - requests of the Redis store's wire, written as RESP by
 * hand into one buffer and sent with one sendmsg (resp_req.c). Replies
 * and connections are resp.h's.
 */
#ifndef TC_RESP_REQ_H
#define TC_RESP_REQ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"

/* ---- requests ----------------------------------------------------------- */

/*
 * A request in RESP, built before the call takes a connection. Small
 * pieces are copied into one buffer, on the stack up to TC__REQ_STACK
 * bytes (an mget of 16 keys is about 2 KB); a value over TC__REQ_COPY_MAX
 * bytes is sent from the caller's memory through an iovec of its own, so
 * a large SET is never copied: such memory must live until the request is
 * sent. A segment with ext NULL lies in buf at off.
 */
#define TC__REQ_STACK 4096
#define TC__REQ_COPY_MAX 4096
#define TC__REQ_SEGS 8

typedef struct tc__rseg {
    const char *ext;
    size_t off, len;
} tc__rseg;

typedef struct tc__req {
    char *buf;
    size_t len, cap;
    tc__rseg *seg;
    size_t nseg, segcap;
    size_t open; /* start of the copied bytes not yet in a segment */
    int oom;
    char stack[TC__REQ_STACK];
    tc__rseg segstack[TC__REQ_SEGS];
} tc__req;

void tc__req_init(tc__req *r);
void tc__req_free(tc__req *r);
/* Makes room for n more bytes; sets r->oom when it cannot. */
void tc__req_grow(tc__req *r, size_t n);

/*
 * Appends bytes. Inline because the hot path (an mget, a SET) calls it a
 * few times per key and the copy nearly always fits: the growth is the
 * out-of-line part. Running out of memory is remembered, not returned, so
 * a request is built without a check per piece; tc__req_done reports it.
 */
static inline void tc__req_put(tc__req *r, const void *p, size_t n)
{
    if (n > r->cap - r->len) {
        tc__req_grow(r, n);
    }
    if (r->oom) {
        return;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

/* Writes "<c><n>\r\n", such as "*2\r\n" or "$43\r\n", into out (at least
 * 24 bytes); returns its length. */
size_t tc__resp_fmt_len(char *out, char c, size_t n);
/* An array or bulk header: "*<n>\r\n" or "$<n>\r\n". */
void tc__req_len(tc__req *r, char c, size_t n);
/* A bulk string; copied unless it is large. */
void tc__req_bulk(tc__req *r, const void *p, size_t n);
void tc__req_str(tc__req *r, const char *s);
void tc__req_i64(tc__req *r, int64_t v);
/* A command of a name and an optional key, such as GET key or PING. */
void tc__req_cmd1(tc__req *r, const char *cmd, const char *key);
/* A command of argc NUL-terminated words. */
void tc__req_argv(tc__req *r, int argc, const char *const *argv);
/* GET and PTTL of each key; SET key value PX ttl of each item whose
 * status is TC_OK. */
void tc__req_mget(tc__req *r, const tc__store_get *items, size_t n);
void tc__req_mset(tc__req *r, const tc__store_set *items, size_t n);
/* Ends the building of a request; -1 if it ran out of memory. */
int tc__req_done(tc__req *r);
/*
 * Sends the whole request with sendmsg(MSG_NOSIGNAL). Returns 0, or the
 * errno of the failure (EAGAIN: the socket's send timeout expired).
 */
int tc__req_send(const tc__req *r, int fd);

#endif /* TC_RESP_REQ_H */
