/*
 * instr_redis.c - the hot paths that go to Redis, run N times after a
 * warm-up, for bench/instr_redis.sh to count under callgrind: a feedback
 * submit, an mget of 16 and of 256 keys answered by L2 (L1 off, so that
 * every key goes to Redis), and the floor for a batch: the same GETs as
 * a raw hiredis pipeline. Like bench/hotpath.c, the measured calls run
 * inside ir_measure() alone, and every call is checked: a count for a
 * path other than the one named would mislead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <tutorcache.h>

#include "bench_util.h"
#include "fb_record.h"

const char bench_prog[] = "instr_redis";

/* Keys cycle through NKEYS; values of VLEN bytes. */
#define NKEYS 4096
#define VLEN 200
#define KEYMAX 48
#define NS "ml_model_predictions"

typedef enum scenario {
    S_FB_SUBMIT,
    S_MGET16,
    S_MGET256,
    S_RAW16,
    S_RAW256
} scenario;

static const char *const scenario_names[] = {"fb_submit", "mget16", "mget256",
                                             "raw_pipe16", "raw_pipe256"};
#define NSCENARIOS (sizeof(scenario_names) / sizeof(scenario_names[0]))

typedef struct ir_ctx {
    scenario sc;
    size_t batch; /* keys per call of a batch scenario */
    tc_cache *h;
    redisContext *raw;
    char keys[NKEYS][KEYMAX];
    size_t keylen[NKEYS];
    tc_item items[256];
    char (*texts)[96]; /* fb_submit: one new text per call, made before */
    uint64_t next;     /* the next record, or the next key */
    unsigned sink;
} ir_ctx;

static void open_cache(ir_ctx *c, const char *url)
{
    tc_options opt;
    int rc;

    tc_options_init(&opt);
    opt.store_url = url;
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.l1_max_bytes = 1; /* L1 off: every get of a batch goes to L2 */
    /* under callgrind a call runs some 50 times slower: the default 250
     * ms would turn a large batch into misses */
    opt.connect_timeout_ms = opt.command_timeout_ms = 30000;
    if ((rc = tc_cache_open(&c->h, &opt)) != TC_OK) {
        bench_fail("tc_cache_open %s: %s: %s", url, tc_error_name(rc),
                   tc_errmsg());
    }
}

static void make_keys(ir_ctx *c)
{
    size_t i;
    char val[VLEN];

    for (i = 0; i < NKEYS; i++) {
        /* the raw pipeline GETs the same names: the library's own keys
         * are tc:<namespace>:<hash>, so the two never meet */
        c->keylen[i] =
            (size_t)snprintf(c->keys[i], KEYMAX, "risk-v3:student:%06zu", i);
        memset(val, 'a' + (int)(i % 26), sizeof(val));
        if (c->h) {
            int rc = tc_cache_set(c->h, NS, c->keys[i], c->keylen[i], val, VLEN,
                                  TC_TTL_DEFAULT);

            if (rc != TC_OK) {
                bench_fail("set: %s: %s", tc_error_name(rc), tc_errmsg());
            }
        } else {
            redisReply *r = redisCommand(c->raw, "SET %s %b", c->keys[i], val,
                                         (size_t)VLEN);

            if (!r || r->type != REDIS_REPLY_STATUS) {
                bench_fail("SET %s failed", c->keys[i]);
            }
            freeReplyObject(r);
        }
    }
}

static void fb_submit(ir_ctx *c)
{
    char id[TC_FEEDBACK_ID_MAX];
    tc_feedback fb;
    int outcome, rc;

    bench_fb_record(&fb, c->next, c->texts[c->next], "student-42");
    c->next++;
    rc = tc_feedback_submit(id, &outcome, c->h, &fb);
    if (rc != TC_OK || outcome != TC_FEEDBACK_STORED) {
        bench_fail("submit: %s, outcome %d: %s", tc_error_name(rc), outcome,
                   tc_errmsg());
    }
    c->sink += (unsigned char)id[0];
}

/* The next c->batch keys, each checked to come from L2. */
static void mget(ir_ctx *c)
{
    size_t i;
    int rc;

    for (i = 0; i < c->batch; i++) {
        size_t k = (size_t)(c->next++ % NKEYS);

        memset(&c->items[i], 0, sizeof(c->items[i]));
        c->items[i].key = c->keys[k];
        c->items[i].keylen = c->keylen[k];
    }
    if ((rc = tc_cache_mget(c->h, NS, c->items, c->batch)) != TC_OK) {
        bench_fail("mget: %s: %s", tc_error_name(rc), tc_errmsg());
    }
    for (i = 0; i < c->batch; i++) {
        tc_item *it = &c->items[i];

        if (it->status != TC_OK || it->tier != TC_TIER_L2 || it->len != VLEN) {
            bench_fail("mget item %zu: %s, tier %s, %zu bytes", i,
                       tc_error_name(it->status), tc_tier_name(it->tier),
                       it->len);
        }
        c->sink += (unsigned char)((char *)it->val)[0];
        tc_free(it->val);
    }
}

/* The same GETs as a hiredis pipeline, replies read as redisReply. */
static void raw_pipe(ir_ctx *c)
{
    size_t i;

    for (i = 0; i < c->batch; i++) {
        redisAppendCommand(c->raw, "GET %s", c->keys[(c->next + i) % NKEYS]);
    }
    for (i = 0; i < c->batch; i++) {
        redisReply *r;

        if (redisGetReply(c->raw, (void **)&r) != REDIS_OK || !r ||
            r->type != REDIS_REPLY_STRING || r->len != VLEN) {
            bench_fail("raw GET: %s", c->raw->errstr);
        }
        c->sink += (unsigned char)r->str[0];
        freeReplyObject(r);
    }
    c->next += c->batch;
}

static void run(ir_ctx *c, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        switch (c->sc) {
        case S_FB_SUBMIT:
            fb_submit(c);
            break;
        case S_MGET16:
        case S_MGET256:
            mget(c);
            break;
        case S_RAW16:
        case S_RAW256:
            raw_pipe(c);
            break;
        }
    }
}

/* The measured calls, and only they (--toggle-collect=ir_measure*). */
void ir_measure(ir_ctx *c, size_t n);
__attribute__((noinline)) void ir_measure(ir_ctx *c, size_t n)
{
    run(c, n);
}

int main(int argc, char **argv)
{
    static ir_ctx c;
    unsigned long long n;
    char *end;
    size_t i;

    if (argc != 5) {
        fprintf(stderr, "Usage: instr_redis SCENARIO N URL SOCKET\n"
                        "  URL for the library (tracking off), SOCKET for "
                        "the raw pipeline: one server\n");
        return 2;
    }
    for (i = 0; i < NSCENARIOS; i++) {
        if (strcmp(argv[1], scenario_names[i]) == 0) {
            break;
        }
    }
    if (i == NSCENARIOS) {
        bench_fail("%s: no such scenario", argv[1]);
    }
    c.sc = (scenario)i;
    c.batch = (c.sc == S_MGET256 || c.sc == S_RAW256) ? 256 : 16;
    n = strtoull(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || argv[2][0] == '-') {
        bench_fail("N: not a count: %s", argv[2]);
    }
    if (c.sc == S_RAW16 || c.sc == S_RAW256) {
        c.raw = redisConnectUnix(argv[4]);
        if (!c.raw || c.raw->err) {
            bench_fail("%s: %s", argv[4], c.raw ? c.raw->errstr : "no memory");
        }
    } else {
        open_cache(&c, argv[3]);
    }
    if (c.sc != S_FB_SUBMIT) {
        make_keys(&c);
    } else {
        /* new texts in every run (the pid), or the store keeps them once */
        c.texts = bench_alloc((size_t)n + 64, sizeof(*c.texts));
        for (i = 0; i < (size_t)n + 64; i++) {
            snprintf(
                c.texts[i], sizeof(c.texts[i]),
                "how do I reverse a linked list in place, run %ld take %zu",
                (long)getpid(), i);
        }
    }
    run(&c, 64); /* warm-up: connections, allocator, scripts loaded */
    ir_measure(&c, (size_t)n);
    printf("scenario=%s n=%llu batch=%zu sink=%u\n", argv[1], n,
           c.sc == S_FB_SUBMIT ? (size_t)1 : c.batch, c.sink);
    if (c.raw) {
        redisFree(c.raw);
    }
    tc_cache_close(c.h);
    free(c.texts);
    return 0;
}
