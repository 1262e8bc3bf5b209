/*
 * check_coherence_read.c - the invalidation connection's messages as
 * its reader parses them (store/redis/track_read.c): the bytes a Redis
 * 7 server sends (recorded from one, a flush and an over-long key
 * included) give the same keys, flushes and PING answers whether they
 * come whole, split at any byte, or a byte at a time; a key longer than
 * the cache's is passed over, however long; anything else fails with a
 * reason and hands nothing more. Then, on a real server, a key longer
 * than the buffer and a FLUSHALL do what they should to a handle's L1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coherence_fixture.h"
#include "store/redis/track_read.h"

#define HEAD "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"

/* What the callback was handed, as text: "key key | F | key" (F: a
 * flush, | between calls), and the largest count of one call. */
typedef struct heard {
    char text[16384];
    size_t used, most;
} heard;

static void on_keys(void *ud, const char *const *keys, size_t n)
{
    heard *h = ud;

    h->most = n > h->most ? n : h->most;
    if (h->used) {
        h->used +=
            (size_t)snprintf(h->text + h->used, sizeof(h->text) - h->used, "|");
    }
    if (!keys) {
        h->used +=
            (size_t)snprintf(h->text + h->used, sizeof(h->text) - h->used, "F");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        h->used +=
            (size_t)snprintf(h->text + h->used, sizeof(h->text) - h->used,
                             "%s%s", i ? " " : "", keys[i]);
    }
}

/* The keys only, in order, flushes as F: what a split must not change
 * (where the calls break depends on where the reads break). */
static void keys_only(const heard *h, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < h->used && o + 1 < cap; i++) {
        out[o++] = h->text[i] == '|' ? ' ' : h->text[i];
    }
    out[o] = '\0';
}

/* A message of n keys named "tc:i:<i>". */
static size_t message(char *buf, size_t cap, int n)
{
    size_t o = (size_t)snprintf(buf, cap, HEAD "*%d\r\n", n);

    for (int i = 0; i < n; i++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "tc:i:%d", i);

        o += (size_t)snprintf(buf + o, cap - o, "$%d\r\n%s\r\n", len, key);
    }
    return o;
}

/* A key element of len bytes of c (a malloc'd "$len\r\n...\r\n"). */
static char *long_key(size_t len, char c, size_t *n)
{
    char *p = malloc(len + 32);
    size_t o;

    ck_assert_ptr_nonnull(p);
    o = (size_t)sprintf(p, "$%zu\r\n", len);
    memset(p + o, c, len);
    memcpy(p + o + len, "\r\n", 2);
    *n = o + len + 2;
    return p;
}

/*
 * The stream of every test below: what a server sent one subscribed
 * connection (the subscription, a flush as Redis 7 writes it, four keys
 * with one over-long among them, PING's answer), then a flush as a null
 * array, an empty message and one of 70 keys (two calls: the cache
 * takes 64 at most).
 */
static size_t stream(char *buf, size_t cap)
{
    char longk[TC__TREAD_KEY_MAX + 2];
    size_t o = 0;

    memset(longk, 'x', sizeof(longk) - 1);
    longk[sizeof(longk) - 1] = '\0';
    o += (size_t)snprintf(buf + o, cap - o,
                          "*3\r\n$9\r\nsubscribe\r\n$20\r\n"
                          "__redis__:invalidate\r\n:1\r\n" HEAD "$-1\r\n" HEAD
                          "*4\r\n$4\r\ntc:a\r\n$%d\r\n%s\r\n$4\r\ntc:b\r\n"
                          "$0\r\n\r\n"
                          "*2\r\n$4\r\npong\r\n$0\r\n\r\n" HEAD "*-1\r\n" HEAD
                          "*0\r\n",
                          (int)strlen(longk), longk);
    o += message(buf + o, cap - o, 70);
    return o;
}

/* Feeds p in pieces of at most piece bytes, the first cut at first. */
static int feed_split(tc__tread *r, const char *p, size_t n, size_t first,
                      size_t piece, heard *h)
{
    size_t at = 0;

    tc__tread_init(r);
    memset(h, 0, sizeof(*h));
    while (at < n) {
        size_t take = at == 0 && first ? first : piece;

        take = take < n - at ? take : n - at;
        if (tc__tread_feed(r, p + at, take, on_keys, h) != 0) {
            return -1;
        }
        at += take;
    }
    return 0;
}

START_TEST(test_whole_stream)
{
    static tc__tread r;
    static char buf[8192];
    heard h;
    size_t n = stream(buf, sizeof(buf));
    char want[2048];

    ck_assert_int_eq(feed_split(&r, buf, n, 0, n, &h), 0);
    ck_assert_ptr_null(r.why);
    ck_assert_int_eq(r.pongs, 1);
    ck_assert_uint_eq(r.len, 0); /* nothing left over */
    message(want, sizeof(want), 0);
    /* the flush, the keys but the over-long one, the null array's flush,
     * then 64 and 6 keys */
    ck_assert_msg(strncmp(h.text, "F|tc:a tc:b |F|tc:i:0 tc:i:1 ", 29) == 0,
                  "heard: %s", h.text);
    ck_assert_ptr_nonnull(strstr(h.text, " tc:i:63|tc:i:64 "));
    ck_assert_uint_eq(h.most, TC__TREAD_KEYS);
    ck_assert_ptr_null(strstr(h.text, "xxx"));
}
END_TEST

START_TEST(test_split_everywhere)
{
    static tc__tread r;
    static char buf[8192];
    heard whole, h;
    char a[16384], b[16384];
    size_t n = stream(buf, sizeof(buf));

    ck_assert_int_eq(feed_split(&r, buf, n, 0, n, &whole), 0);
    keys_only(&whole, a, sizeof(a));
    /* one cut at every offset, the rest in one piece */
    for (size_t cut = 1; cut < n; cut++) {
        ck_assert_int_eq(feed_split(&r, buf, n, cut, n, &h), 0);
        keys_only(&h, b, sizeof(b));
        ck_assert_msg(strcmp(a, b) == 0, "cut at %zu: %s", cut, b);
        ck_assert_int_eq(r.pongs, 1);
        ck_assert_uint_eq(r.len, 0);
    }
    /* a byte at a time, and pieces of every size up to 100 */
    for (size_t piece = 1; piece <= 100; piece++) {
        ck_assert_int_eq(feed_split(&r, buf, n, 0, piece, &h), 0);
        keys_only(&h, b, sizeof(b));
        ck_assert_msg(strcmp(a, b) == 0, "pieces of %zu: %s", piece, b);
        ck_assert_int_eq(r.pongs, 1);
    }
}
END_TEST

START_TEST(test_long_keys)
{
    static tc__tread r;
    heard h;
    size_t n, len = (size_t)_i == 0 ? TC__TREAD_KEY_MAX
                    : _i == 1       ? TC__TREAD_KEY_MAX + 1
                                    : 3 * TC__TREAD_BUF + 7;
    char *k = long_key(len, 'k', &n);
    char head[128];
    size_t hn = (size_t)snprintf(head, sizeof(head), HEAD "*2\r\n");

    /* the key, then tc:z, fed in reads as large as the buffer takes */
    for (size_t piece = 1; piece <= TC__TREAD_BUF; piece *= 16) {
        tc__tread_init(&r);
        memset(&h, 0, sizeof(h));
        ck_assert_int_eq(tc__tread_feed(&r, head, hn, on_keys, &h), 0);
        for (size_t at = 0; at < n; at += piece) {
            ck_assert_int_eq(tc__tread_feed(&r, k + at,
                                            piece < n - at ? piece : n - at,
                                            on_keys, &h),
                             0);
            /* what is buffered stays within one kept key */
            ck_assert_uint_le(r.len, TC__TREAD_KEY_MAX + 32);
        }
        ck_assert_int_eq(tc__tread_feed(&r, "$4\r\ntc:z\r\n", 10, on_keys, &h),
                         0);
        if (len <= TC__TREAD_KEY_MAX) {
            /* the longest key the cache makes is handed over whole */
            ck_assert_uint_eq(strlen(h.text), len + 5);
            ck_assert_ptr_nonnull(strstr(h.text, "tc:z"));
        } else {
            ck_assert_str_eq(h.text, "tc:z");
        }
        ck_assert_uint_eq(r.len, 0);
        ck_assert_ptr_null(r.why);
    }
    /* an over-long key whose CRLF is wrong is still garbage */
    tc__tread_init(&r);
    memset(&h, 0, sizeof(h));
    k[n - 2] = 'x';
    ck_assert_int_eq(tc__tread_feed(&r, head, hn, on_keys, &h), 0);
    ck_assert_int_eq(tc__tread_feed(&r, k, n, on_keys, &h), -1);
    ck_assert_ptr_nonnull(r.why);
    free(k);
}
END_TEST

/* Bytes no subscribed connection gets: each fails, with a reason, at
 * once or once its bytes are all there, and hands nothing after. */
static const char *const garbage[] = {
    "+OK\r\n",
    "-ERR unknown command\r\n",
    ":1\r\n",
    "$5\r\nhello\r\n",
    "*3\r\n$7\r\nmessagX\r\n",
    "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidatX\r\n",
    "*3\r\n$7\r\nmessage\r\n$8\r\nsomeone!\r\n*0\r\n",
    HEAD "$5\r\n",                     /* a flush is a nil, not a string */
    HEAD "*-2\r\n",                    /* no such length */
    HEAD "*1x\r\n",                    /* not a number */
    HEAD "*\r\n",                      /* no digits */
    HEAD "*1234567890123456789\r\n",   /* 19 digits */
    HEAD "*1\r\r",                     /* CR without LF */
    HEAD "*1\r\n:5\r\n",               /* a key that is not a string */
    HEAD "*1\r\n$-1\r\n",              /* a nil key */
    HEAD "*1\r\n$4\r\ntc:ab\r\n",      /* longer than it said */
    HEAD "*2\r\n$4\r\ntc:a\r\n*0\r\n", /* a message inside a message */
    "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n$1\r\n",
    "*2\r\n$4\r\npong\r\n$4\r\nPONG\r\n", /* we send PING bare */
    "*2\r\n$4\r\nPONG\r\n$0\r\n\r\n",
    "\r\n",
    "\0\0\0\0",
};

START_TEST(test_garbage)
{
    static tc__tread r;
    const char *g = garbage[_i];
    size_t n =
        _i == (int)(sizeof(garbage) / sizeof(*garbage)) - 1 ? 4 : strlen(g);
    heard h;

    /* whole, then a byte at a time: the same failure */
    for (size_t piece = n; piece >= 1; piece = piece == n ? 1 : 0) {
        size_t at = 0;
        int rc = 0;

        tc__tread_init(&r);
        memset(&h, 0, sizeof(h));
        for (; at < n && rc == 0; at += piece) {
            rc = tc__tread_feed(&r, g + at, piece, on_keys, &h);
        }
        ck_assert_msg(rc == -1, "accepted: %s (pieces of %zu)", g, piece);
        ck_assert_ptr_nonnull(r.why);
        ck_assert_msg(h.used == 0 || strncmp(g, HEAD "*2", 45) == 0,
                      "%s handed over %s", g, h.text);
        /* and the reader stays failed */
        ck_assert_int_eq(tc__tread_feed(&r, HEAD "*0\r\n", 45, on_keys, &h),
                         -1);
        if (n == 1) {
            break;
        }
    }
}
END_TEST

/*
 * On a real server: a write of a key longer than the reader's buffer,
 * under the cache's prefix, is passed over (no loss of the connection,
 * so A keeps what it holds in L1 and hears the next write), and a
 * FLUSHALL empties A's L1.
 */
START_TEST(test_server_long_key_and_flush)
{
    tc_cache *a, *b;
    size_t len = 2 * TC__TREAD_BUF;
    char *big = malloc(len + 1), *v;
    tc_tier t;
    bk s;

    ck_assert_ptr_nonnull(big);
    memset(big, 'q', len);
    big[len] = '\0';
    bk_start(&s, BK_REDIS);
    a = coh_open_logged(&s);
    b = bk_open(&s);
    SET(b, "k", "v1", TC_TTL_DEFAULT);
    coh_hold(a, "k", "v1");
    /* tc:ml_pred:qqq..., 32 KB long, under NS's prefix (config.c) */
    free(trs_cmd(s.srv, "SET tc:ml_pred:%s 1", big));
    tt_sleep_ms(coh_bound());
    v = coh_get(a, "k", &t);
    ck_assert_str_eq(v, "v1");
    ck_assert_int_eq(t, TC_TIER_L1); /* nothing was dropped */
    free(v);
    ck_assert_msg(cache_log_find("l1_tracking_lost") == NULL,
                  "the long key cost the connection: %s", cache_log_text());
    coh_heard(a, b, "k", "v1", "v2", "set after a long key");

    coh_hold(a, "k", "v2");
    free(trs_cmd(s.srv, "FLUSHALL"));
    coh_heard_in_time(coh_until(a, "k", NULL, tt_now_ms()), "flushall");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
    free(big);
}
END_TEST

void suite_coherence_read(Suite *s)
{
    TCase *tc = tcase_create("track_read");

    tcase_add_test(tc, test_whole_stream);
    tcase_add_test(tc, test_split_everywhere);
    tcase_add_loop_test(tc, test_long_keys, 0, 3);
    tcase_add_loop_test(tc, test_garbage, 0,
                        (int)(sizeof(garbage) / sizeof(*garbage)));
    tcase_add_test(tc, test_server_long_key_and_flush);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
}
