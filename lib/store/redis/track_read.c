/*
 * track_read.c - the invalidation connection's messages (track_read.h),
 * parsed from a buffer of the connection's own: a message's opening is
 * matched as literal bytes once it is all there, then its keys are read
 * one element at a time, each handed over as soon as it is whole.
 *
 * Why not hiredis' reader, as every other reply is read: it built each
 * message as a tree in the reply sink, one allocation per string and its
 * free, and cost the tracking thread about 3,700 instructions per
 * invalidation, as much again as the set that caused it (BENCHMARKS.md,
 * "tracking's cost on the L2 path"). The messages have four shapes, all
 * known in advance, so a match of bytes reads them.
 */
#include <string.h>

#include "store/redis/track_read.h"

#define CHANNEL_HEAD "$20\r\n__redis__:invalidate\r\n"
#define MESSAGE "*3\r\n$7\r\nmessage\r\n" CHANNEL_HEAD
#define SUBSCRIBED "*3\r\n$9\r\nsubscribe\r\n" CHANNEL_HEAD
#define PONG "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
/* The longest number line: a type byte, a sign, 18 digits, CRLF. */
#define LINE_MAX 22

void tc__tread_init(tc__tread *r)
{
    r->left = 0;
    r->skip = 0;
    r->pongs = 0;
    r->why = NULL;
    r->len = 0;
}

char *tc__tread_space(tc__tread *r, size_t *room)
{
    *room = sizeof(r->buf) - r->len;
    return r->buf + r->len;
}

/* Whether lit opens p (n bytes): 1 whole, 0 so far (n is too short to
 * tell), -1 not. */
static int opens(const char *p, size_t n, const char *lit, size_t litlen)
{
    if (n >= litlen) {
        return memcmp(p, lit, litlen) == 0 ? 1 : -1;
    }
    return memcmp(p, lit, n) == 0 ? 0 : -1;
}

/*
 * A line "<type><integer>\r\n" at p (n bytes): its length with the value
 * in *v, 0 when it is not all there yet, -1 when it is not such a line.
 * The integer is -1 or at most 18 digits without a leading zero.
 */
static long line(const char *p, size_t n, char type, long long *v)
{
    size_t i = 1, digits = 0;
    int neg = 0;

    if (n == 0) {
        return 0;
    }
    if (p[0] != type) {
        return -1;
    }
    if (i < n && p[i] == '-') {
        neg = 1;
        i++;
    }
    *v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (++digits > 18) {
            return -1;
        }
        *v = *v * 10 + (p[i] - '0');
    }
    if (i == n) {
        return 0; /* the digits may go on */
    }
    /* as the server writes numbers: no leading zero, -1 the only
     * negative */
    if (digits == 0 || (digits > 1 && p[i - digits] == '0') ||
        (neg && (digits != 1 || *v != 1)) || p[i] != '\r') {
        return -1;
    }
    if (i + 1 == n) {
        return 0;
    }
    if (p[i + 1] != '\n') {
        return -1;
    }
    *v = neg ? -1 : *v;
    return (long)(i + 2);
}

/* What a step of the parse did: consumed bytes (> 0), NEED_MORE, BAD. */
#define NEED_MORE 0
#define BAD (-1)

/*
 * A message, whole, at p: the invalidation's opening with its array's
 * header (left set to its keys, or *flush set), a subscription's
 * confirmation, or PING's answer. The openings differ by their second
 * or seventh byte, so at most one matches.
 */
static long top(tc__tread *r, const char *p, size_t n, int *flush)
{
    int msg = opens(p, n, MESSAGE, sizeof(MESSAGE) - 1),
        sub = opens(p, n, SUBSCRIBED, sizeof(SUBSCRIBED) - 1),
        pong = opens(p, n, PONG, sizeof(PONG) - 1);
    long long v;
    size_t at;
    long got;

    if (msg == 1) {
        at = sizeof(MESSAGE) - 1;
        /* a flush is a nil: the server writes it as $-1 in RESP2 */
        got = line(p + at, n - at, n > at && p[at] == '$' ? '$' : '*', &v);
        if (got > 0 && (p[at] == '$' ? v != -1 : v < -1)) {
            got = BAD;
        }
        if (got < 0) {
            r->why = "an invalidation without its keys";
            return BAD;
        }
        if (got > 0 && v == -1) {
            *flush = 1;
        } else if (got > 0) {
            r->left = v;
        }
        return got == NEED_MORE ? NEED_MORE : (long)at + got;
    }
    if (sub == 1) {
        at = sizeof(SUBSCRIBED) - 1;
        if ((got = line(p + at, n - at, ':', &v)) < 0) {
            r->why = "a subscription without its count";
        }
        return got <= 0 ? got : (long)at + got;
    }
    if (pong == 1) {
        r->pongs++;
        return (long)sizeof(PONG) - 1;
    }
    if (msg == 0 || sub == 0 || pong == 0) {
        return NEED_MORE;
    }
    r->why = "a reply no subscribed connection gets";
    return BAD;
}

int tc__tread_parse(tc__tread *r, size_t added,
                    void (*invalidate)(void *ud, const char *const *keys,
                                       size_t n),
                    void *ud)
{
    const char *keys[TC__TREAD_KEYS];
    size_t nkeys = 0, pos = 0, end;
    int rc = 0;

    if (r->why || added > sizeof(r->buf) - r->len) {
        r->why = r->why ? r->why : "more bytes than the buffer holds";
        return -1;
    }
    end = r->len + added;
    while (pos < end) {
        char *p = r->buf + pos;
        size_t n = end - pos;
        long long v;
        long got;

        if (r->skip > 2) { /* an over-long key's bytes */
            size_t take = (unsigned long long)(r->skip - 2) < n
                              ? (size_t)(r->skip - 2)
                              : n;

            pos += take;
            r->skip -= (long long)take;
            continue;
        }
        if (r->skip > 0) { /* its CRLF */
            if (*p != (r->skip == 2 ? '\r' : '\n')) {
                r->why = "a key not ended by CRLF";
                rc = -1;
                break;
            }
            pos++;
            if (--r->skip == 0) {
                r->left--;
            }
            continue;
        }
        if (r->left == 0) {
            int flush = 0;

            got = top(r, p, n, &flush);
            if (got > 0 && flush) {
                if (nkeys) {
                    invalidate(ud, keys, nkeys);
                    nkeys = 0;
                }
                invalidate(ud, NULL, 0);
            }
        } else if ((got = line(p, n, '$', &v)) > 0) {
            if (v < 0) {
                r->why = "a nil key";
                got = BAD;
            } else if (v > TC__TREAD_KEY_MAX) {
                r->skip = v + 2; /* no key of the cache: passed over */
            } else if (n < (size_t)got + (size_t)v + 2) {
                got = NEED_MORE;
            } else if (p[got + v] != '\r' || p[got + v + 1] != '\n') {
                r->why = "a key not ended by CRLF";
                got = BAD;
            } else {
                p[got + v] = '\0';
                keys[nkeys++] = p + got;
                r->left--;
                got += (long)v + 2;
                if (nkeys == TC__TREAD_KEYS) {
                    invalidate(ud, keys, nkeys);
                    nkeys = 0;
                }
            }
        } else if (got < 0) {
            r->why = "a key that is not a bulk string";
        }
        if (got < 0) {
            r->why = r->why ? r->why : "a malformed message";
            rc = -1;
            break;
        }
        if (got == NEED_MORE) {
            break;
        }
        pos += (size_t)got;
    }
    if (nkeys) {
        invalidate(ud, keys, nkeys);
    }
    memmove(r->buf, r->buf + pos, end - pos);
    r->len = end - pos;
    return rc;
}

int tc__tread_feed(tc__tread *r, const char *p, size_t n,
                   void (*invalidate)(void *ud, const char *const *keys,
                                      size_t n),
                   void *ud)
{
    while (n > 0) {
        size_t room;
        char *at = tc__tread_space(r, &room);
        size_t take = n < room ? n : room;

        if (take == 0) {
            r->why = "a message element longer than the buffer";
            return -1;
        }
        memcpy(at, p, take);
        if (tc__tread_parse(r, take, invalidate, ud) != 0) {
            return -1;
        }
        p += take;
        n -= take;
    }
    return 0;
}
