/*
 * fuzz_resp.c - Redis replies as the store decodes them: bytes from a
 * server, read by tc__resp_read (lib/store/redis/resp.c) into a call's slots,
 * both flat (the cache's commands) and nested (the feedback commands).
 *
 * A connection is opened by tc__resp_connect to a unix socket the harness
 * listens on, so the reader is set up exactly as the store's; the input
 * is handed to that connection's reader and the server's end is closed,
 * so that reading past the input is the end of the stream. Replies are
 * read one slot at a time until the reading fails.
 *
 * Property: the slots say what hiredis' own reader, fed the same bytes,
 * says: the same replies in the same order (type, integer, the bytes of a
 * string or error, an array's length and, nested, its elements), then the
 * same end (a protocol error is TC_EPROTO, running out of bytes is not);
 * every string is NUL-terminated at its length; every error reply maps to
 * one of TC_EAUTH, TC_EUNAVAIL, TC_EFULL and TC_EPROTO; nothing leaks
 * when a reply stops half way.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "store/redis/resp.h"

#include "fuzz_common.h"

#define MAX_REPLIES 64

static int listener = -1;
static char sock_path[300];

static void listen_once(void)
{
    struct sockaddr_un a;

    signal(SIGPIPE, SIG_IGN);
    snprintf(sock_path, sizeof(sock_path), "%s/resp.sock", fz_tmpdir());
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(listener, 4) != 0) {
        perror("resp harness: listen");
        abort();
    }
}

/* Compares a slot with hiredis' reply; nested: elements too. */
static void same(const tc__rrep *t, const redisReply *h, int nested, int depth)
{
    FZ_CHECK(t->type == h->type, "depth %d: type %d, hiredis says %d", depth,
             t->type, h->type);
    switch (h->type) {
    case REDIS_REPLY_INTEGER:
        FZ_CHECK(t->integer == h->integer, "integer %lld, hiredis says %lld",
                 t->integer, h->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_ERROR:
        FZ_CHECK(t->str && t->len == h->len &&
                     memcmp(t->str, h->str, h->len) == 0 &&
                     t->str[t->len] == '\0',
                 "a string of %zu bytes, hiredis says %zu", t->len, h->len);
        if (h->type == REDIS_REPLY_ERROR) {
            int code = tc__resp_error_code(t->str);

            FZ_CHECK(code == TC_EAUTH || code == TC_EUNAVAIL ||
                         code == TC_EFULL || code == TC_EPROTO,
                     "error reply maps to %d", code);
        }
        break;
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_NIL:
        FZ_CHECK(!t->str, "a status or nil holds a string");
        break;
    case REDIS_REPLY_ARRAY:
        FZ_CHECK(t->elements == h->elements, "%zu elements, hiredis says %zu",
                 t->elements, h->elements);
        if (!nested) {
            break; /* flat: an array's elements are not kept */
        }
        FZ_CHECK(t->elements == 0 || t->element,
                 "a nested array of %zu keeps no elements", t->elements);
        for (size_t i = 0; i < h->elements; i++) {
            FZ_CHECK(tc__rrep_at(t, i) == &t->element[i], "tc__rrep_at(%zu)",
                     i);
            same(&t->element[i], h->element[i], nested, depth + 1);
        }
        FZ_CHECK(!tc__rrep_at(t, h->elements), "tc__rrep_at past the end");
        break;
    default:
        fz_fail(__FILE__, __LINE__, "type", "hiredis type %d", h->type);
    }
}

static void run(const uint8_t *data, size_t size, int nested)
{
    tc__resp_target t;
    struct tc__rconn *c = NULL;
    redisReader *ref = redisReaderCreate();
    void *got = NULL;
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    tc__err err;
    int server, rc, ref_rc = REDIS_OK, n = 0;

    memset(&t, 0, sizeof(t));
    t.unix_path = sock_path;
    t.connect_ms = t.command_ms = 5000;
    t.where = "fuzz";
    rc = tc__resp_connect(&c, &t, "fuzz", &err);
    FZ_CHECK(rc == TC_OK, "connect: %s", err.msg);
    server = accept(listener, NULL, NULL);
    FZ_CHECK(server >= 0, "accept: %s", strerror(errno));
    close(server); /* after the input, the end of the stream */
    FZ_CHECK(ref != NULL, "redisReaderCreate");
    if (size) {
        FZ_CHECK(redisReaderFeed(tc__resp_reader(c), (const char *)data,
                                 size) == REDIS_OK &&
                     redisReaderFeed(ref, (const char *)data, size) == REDIS_OK,
                 "redisReaderFeed");
    }
    FZ_CHECK(tc__sink_init(&k, stack, 1, nested) == 0, "tc__sink_init");
    for (; n < MAX_REPLIES; n++) {
        int eno;

        ref_rc = redisReaderGetReply(ref, &got);
        errno = 0;
        rc = tc__resp_read(c, &k);
        eno = errno;
        if (ref_rc != REDIS_OK || !got) {
            /* hiredis has no whole reply: the slot reader must fail too,
             * as a protocol error exactly when hiredis saw one */
            FZ_CHECK(rc != 0, "reply %d: a slot where hiredis has none", n);
            rc = tc__resp_io_fail(c, eno, "fuzz", NULL, 5000, &err);
            FZ_CHECK((rc == TC_EPROTO) == (ref_rc != REDIS_OK),
                     "reply %d: ended with %d (%s); hiredis: %s", n, rc,
                     err.msg, ref_rc != REDIS_OK ? ref->errstr : "no more");
            break;
        }
        FZ_CHECK(rc == 0, "reply %d: hiredis reads one, the slots fail: %s", n,
                 tc__resp_errstr(c));
        FZ_CHECK(k.next == 1, "reply %d filled %zu slots", n, k.next);
        same(&k.slot[0], got, nested, 0);
        freeReplyObject(got);
        got = NULL;
        tc__sink_clear(&k);
    }
    if (got) {
        freeReplyObject(got);
    }
    tc__sink_free(&k, stack);
    redisReaderFree(ref);
    tc__resp_close(c);
}

/*
 * Whether the input declares an array of more than 2^26 elements.
 * hiredis' own reader, the reference here, allocates an array's slots
 * when its header arrives (8 bytes each), before any element:
 * "*2000000000\r\n" asks it for 16 GB, which libFuzzer reports as an
 * out-of-memory at once. The sink allocates as elements arrive (finding
 * 5 of RELIABILITY.md, fixed), so corpus/resp/oom-array-header.resp (50
 * million) is replayed; larger ones are left out so that fuzzing goes
 * past them, unless FUZZ_ALL_INPUTS is set (make fuzz-findings sets it).
 */
static int huge_array(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned long long v = 0;
        size_t j = i + 1, digits = 0;

        if (p[i] != '*') {
            continue;
        }
        while (j < n && p[j] >= '0' && p[j] <= '9' && digits < 19) {
            v = v * 10 + (p[j++] - '0');
            digits++;
        }
        if (v > (1u << 26)) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int all_inputs = -1;

    if (all_inputs < 0) {
        all_inputs = getenv("FUZZ_ALL_INPUTS") != NULL;
    }
    if (!all_inputs && huge_array(data, size)) {
        return 0;
    }
    if (listener < 0) {
        listen_once();
    }
    run(data, size, 0);
    run(data, size, 1);
    return 0;
}
