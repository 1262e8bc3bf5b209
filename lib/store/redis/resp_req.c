/*
 * resp_req.c - the requests of the Redis store (resp.h): RESP written by
 * hand into one buffer, on the stack for the usual call, a large value
 * sent from the caller's memory through an iovec of its own, and the
 * whole sent with one sendmsg(MSG_NOSIGNAL). No hiredis here: its
 * per-command formatting was the most of an L2 get's instructions.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/fmt.h"
#include "store/redis/resp_req.h"

#define REQ_IOV 64 /* iovecs per sendmsg */
/* Room for a RESP header "$<n>\r\n" or "*<n>\r\n" of any size_t. */
#define NUM_TEXT 24

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
    size_t len = tc__fmt_u64(out + 1, n);

    out[0] = c;
    out[len + 1] = '\r';
    out[len + 2] = '\n';
    return len + 3;
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
    char num[TC__FMT_INT_MAX];

    tc__req_bulk(r, num, tc__fmt_i64(num, v));
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
