/*
 * track_read.h - the messages of the invalidation connection
 * (redis_track.c), read straight from its bytes: no reply objects, no
 * allocation, keys handed to the cache as pointers into the buffer.
 * Internal to redis/ (and to the tests and the fuzz harness of it).
 *
 * A subscribed RESP2 connection gets three kinds of message, each
 * spelled by the server exactly one way, so the parser matches their
 * openings as literal bytes and reads only the numbers:
 *
 *   *3 $7 message $20 __redis__:invalidate *N $len key ...   (keys)
 *   *3 $7 message $20 __redis__:invalidate $-1 (or *-1)      (a flush)
 *   *3 $9 subscribe $20 __redis__:invalidate :N              (subscribed)
 *   *2 $4 pong $0 ""                                         (PING's answer)
 *
 * (a flush's nil is $-1 from Redis 7.0, a null array in Redis' own
 * description of the protocol: both are taken). Anything else is a
 * failure, which the connection's owner takes for a lost connection.
 *
 * The keys of a message are handed over as each one
 * arrives, not once the message is whole, so that what is buffered is
 * bounded by one key, not by the message: a write of many keys is one
 * message of as many. A key longer than TC__TREAD_KEY_MAX is passed over
 * without being kept, since no key the cache makes is that long (it
 * writes them into TC_KEY_MAX bytes, the NUL included).
 */
#ifndef TC_STORE_TRACK_READ_H
#define TC_STORE_TRACK_READ_H

#include <stddef.h>

#include "store/store.h"

/* The longest key handed over; a longer one is skipped. */
#define TC__TREAD_KEY_MAX (TC_KEY_MAX - 1)
/* What one read of the socket may fill; at least a whole key element. */
#define TC__TREAD_BUF 16384
/* Keys per call of the callback (the cache takes at most 64 a call). */
#define TC__TREAD_KEYS 64

typedef struct tc__tread {
    /* keys of the message under way not read yet; 0: between messages */
    long long left;
    /* bytes of an over-long key still to pass over, its CRLF included */
    long long skip;
    /* PING answers read since the caller last set this to 0 */
    int pongs;
    /* what was wrong, once tc__tread_parse failed (a static string) */
    const char *why;
    size_t len; /* buf[0..len): bytes not parsed yet */
    char buf[TC__TREAD_BUF];
} tc__tread;

/* Between messages, nothing buffered. */
void tc__tread_init(tc__tread *r);

/* Where the next bytes go, and how many fit (always at least one key
 * element's worth after a successful parse). */
char *tc__tread_space(tc__tread *r, size_t *room);

/*
 * Parses the added bytes just written at tc__tread_space, after what was
 * left of earlier ones: hands every key read to invalidate (n keys, each
 * NUL-terminated, at most TC__TREAD_KEYS a call; keys NULL, n 0 for a
 * flush) and counts PING answers in pongs. What ends in the middle of an
 * element waits for the next bytes. Returns 0, or -1 with why set for
 * bytes no subscribed connection gets (the reader is then unusable until
 * tc__tread_init).
 */
int tc__tread_parse(tc__tread *r, size_t added,
                    void (*invalidate)(void *ud, const char *const *keys,
                                       size_t n),
                    void *ud);

/* tc__tread_parse of n bytes copied from p, as much as fits at a time. */
int tc__tread_feed(tc__tread *r, const char *p, size_t n,
                   void (*invalidate)(void *ud, const char *const *keys,
                                      size_t n),
                   void *ud);

#endif /* TC_STORE_TRACK_READ_H */
