/*
 * fuzz_track.c - the invalidation connection's reader
 * (lib/store/redis/track_read.c) on any bytes a server could send.
 *
 * Properties: the bytes fed whole, cut in two at an offset the input
 * picks, and fed one byte at a time give the same keys and flushes in the
 * same order, the same PING answers and the same end (accepted, or
 * refused with a reason); a call hands over 1 to TC__TREAD_KEYS keys of
 * at most TC__TREAD_KEY_MAX bytes, or a flush; what stays buffered
 * between reads is never more than one key element. And against
 * hiredis' own reader: bytes accepted whole, ending between messages,
 * are replies hiredis reads too, without an error and with nothing left
 * over, each a subscription, PING's answer or an invalidation, whose
 * keys (those short enough) and flushes are the ones handed over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/track_read.h"

#include "fuzz_common.h"

/* The longest an element kept between reads can be: "$79\r\n", the key
 * and its CRLF, or a message's opening with its array's header. */
#define KEPT_MAX (TC__TREAD_KEY_MAX + 32)

/* What the reader handed over: "key\nkey\nF\n..." (F: a flush). */
typedef struct heard {
    char *text;
    size_t used, cap;
} heard;

static void add(heard *h, const char *s, size_t n)
{
    if (h->used + n + 2 > h->cap) {
        h->cap = 2 * (h->used + n + 2);
        h->text = realloc(h->text, h->cap);
        FZ_CHECK(h->text != NULL, "out of memory");
    }
    memcpy(h->text + h->used, s, n);
    h->used += n;
    h->text[h->used++] = '\n';
    h->text[h->used] = '\0';
}

static void on_keys(void *ud, const char *const *keys, size_t n)
{
    heard *h = ud;

    if (!keys) {
        FZ_CHECK(n == 0, "a flush with %zu keys", n);
        add(h, "F", 1);
        return;
    }
    FZ_CHECK(n >= 1 && n <= TC__TREAD_KEYS, "%zu keys in one call", n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(keys[i]);

        FZ_CHECK(len <= TC__TREAD_KEY_MAX, "a key of %zu bytes", len);
        add(h, keys[i], len);
    }
}

typedef struct outcome {
    heard h;
    int rc, pongs;
    int between; /* ended between messages, nothing buffered */
} outcome;

/* Feeds data in pieces: the first of first bytes (0: piece), then of
 * piece bytes. */
static void run(const uint8_t *data, size_t size, size_t first, size_t piece,
                outcome *o)
{
    static tc__tread r;
    size_t at = 0;

    memset(o, 0, sizeof(*o));
    tc__tread_init(&r);
    while (at < size && o->rc == 0) {
        size_t take = at == 0 && first ? first : piece;

        take = take < size - at ? take : size - at;
        o->rc =
            tc__tread_feed(&r, (const char *)data + at, take, on_keys, &o->h);
        at += take;
        FZ_CHECK(o->rc != 0 || r.len <= KEPT_MAX, "%zu bytes kept", r.len);
    }
    FZ_CHECK(o->rc == 0 || r.why, "a failure without a reason");
    o->pongs = r.pongs;
    o->between = o->rc == 0 && r.len == 0 && r.left == 0 && r.skip == 0;
}

static void same(const outcome *a, const outcome *b, const char *how)
{
    FZ_CHECK(a->rc == b->rc, "%s: rc %d, whole %d", how, b->rc, a->rc);
    FZ_CHECK(a->pongs == b->pongs, "%s: %d pongs, whole %d", how, b->pongs,
             a->pongs);
    FZ_CHECK(
        a->h.used == b->h.used &&
            (a->h.used == 0 || memcmp(a->h.text, b->h.text, a->h.used) == 0),
        "%s: other keys", how);
}

/* hiredis' reading of bytes the reader took whole. */
static void against_hiredis(const uint8_t *data, size_t size, const outcome *o)
{
    redisReader *ref = redisReaderCreate();
    heard want = {0};
    int pongs = 0;
    void *got;

    FZ_CHECK(ref != NULL, "redisReaderCreate");
    FZ_CHECK(redisReaderFeed(ref, (const char *)data, size) == REDIS_OK,
             "redisReaderFeed");
    for (;;) {
        redisReply *r;

        got = NULL;
        FZ_CHECK(redisReaderGetReply(ref, &got) == REDIS_OK,
                 "taken whole, refused by hiredis: %s", ref->errstr);
        if (!got) {
            break;
        }
        r = got;
        FZ_CHECK(r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
                     r->element[0]->type == REDIS_REPLY_STRING,
                 "not a push message");
        if (strcmp(r->element[0]->str, "pong") == 0) {
            pongs++;
        } else if (strcmp(r->element[0]->str, "message") == 0) {
            const redisReply *body = r->element[2];

            FZ_CHECK(r->elements == 3, "a message of %zu", r->elements);
            if (body->type == REDIS_REPLY_NIL) {
                add(&want, "F", 1);
            }
            for (size_t i = 0;
                 body->type == REDIS_REPLY_ARRAY && i < body->elements; i++) {
                const redisReply *k = body->element[i];

                FZ_CHECK(k->type == REDIS_REPLY_STRING, "a key of type %d",
                         k->type);
                if (k->len <= TC__TREAD_KEY_MAX) {
                    add(&want, k->str, strlen(k->str));
                }
            }
        } else {
            FZ_CHECK(strcmp(r->element[0]->str, "subscribe") == 0,
                     "a %s message", r->element[0]->str);
        }
        freeReplyObject(got);
    }
    FZ_CHECK(ref->pos == ref->len, "bytes hiredis did not take");
    FZ_CHECK(pongs == o->pongs, "%d pongs, hiredis %d", o->pongs, pongs);
    FZ_CHECK(
        want.used == o->h.used &&
            (want.used == 0 || memcmp(want.text, o->h.text, want.used) == 0),
        "other keys than hiredis reads");
    free(want.text);
    redisReaderFree(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome whole, cut, bytes;

    run(data, size, 0, size ? size : 1, &whole);
    run(data, size, size ? (size_t)data[0] % size + 1 : 0, size ? size : 1,
        &cut);
    same(&whole, &cut, "cut in two");
    run(data, size, 0, 1, &bytes);
    same(&whole, &bytes, "a byte at a time");
    if (whole.between) {
        against_hiredis(data, size, &whole);
    }
    free(whole.h.text);
    free(cut.h.text);
    free(bytes.h.text);
    return 0;
}
