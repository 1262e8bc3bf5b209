/*
 * check_fbstore_redis.c - feedback records in Redis (store_redis_fb.c)
 * against a real, private redis-server per test (redis_fixture.c): puts
 * idempotent by id, exact counters, overrides and their TTL, retention,
 * the retraining queue with two consumers and with one that dies, stats,
 * export order, and the failure paths (a killed server, a paused one, a
 * wrong reply). One test measures put throughput and prints it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "store/fbstore.h"
#include "redis_fixture.h"
#include "store/store.h"
#include "store/redis/redis_store.h"
#include "suites.h"

#define DAY_MS 86400000LL

static trs *g_srv;
static tc__store *g_st;
static const tc__logger g_quiet = {.level = TC_LOG_OFF};

static void setup(void)
{
    g_srv = NULL;
    g_st = NULL;
}

static void teardown(void)
{
    if (g_st) {
        g_st->ops->close(g_st);
        g_st = NULL;
    }
    trs_stop(g_srv);
    g_srv = NULL;
    tc__fb_redis_set_script_batch(0);
}

static tc__store *open_port(int port, int timeout_ms)
{
    tc__store_config cfg;
    tc__err err = {""};

    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.connect_timeout_ms = cfg.command_timeout_ms = timeout_ms;
    cfg.pool_size = 4;
    ck_assert_int_eq(tc__store_redis_open(&g_st, &cfg, &g_quiet, &err), TC_OK);
    return g_st;
}

/* A server and a store on it; timeout_ms 0: 1000 ms. */
static tc__store *start(int timeout_ms)
{
    g_srv = trs_start(NULL);
    ck_assert_msg(g_srv != NULL, "redis-server did not start");
    return open_port(trs_port(g_srv), timeout_ms ? timeout_ms : 1000);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A reply of the private server as text ("(nil)", "42", ...). */
static long long cmd_int(const char *fmt, const char *arg)
{
    char *got = trs_cmd(g_srv, fmt, arg);
    long long v;

    ck_assert_ptr_nonnull(got);
    v = strcmp(got, "(nil)") == 0 ? 0 : atoll(got);
    free(got);
    return v;
}

/*
 * Test records: ids as feedback_record.c makes them, time-ordered; even
 * ones are corrections of "greet" to "ask_help" with an override.
 */
typedef struct recs {
    size_t n;
    char (*id)[TC_FEEDBACK_ID_MAX];
    char (*json)[160];
    char (*okey)[48];
    tc__fb_put *items;
} recs;

static uint64_t g_seq;

static void recs_make(recs *r, size_t n, int64_t ms, int64_t override_ttl)
{
    r->n = n;
    r->id = calloc(n, sizeof(*r->id));
    r->json = calloc(n, sizeof(*r->json));
    r->okey = calloc(n, sizeof(*r->okey));
    r->items = calloc(n, sizeof(*r->items));
    ck_assert(r->id && r->json && r->okey && r->items);
    if (ms <= 0) {
        ms = tc__wall_ms();
    }
    for (size_t i = 0; i < n; i++) {
        tc__fb_put *it = &r->items[i];
        int corr = i % 2 == 0;

        snprintf(r->id[i], sizeof(r->id[i]), "%013lld-%016llx", (long long)ms,
                 (unsigned long long)++g_seq);
        snprintf(r->json[i], sizeof(r->json[i]),
                 "{\"id\":\"%s\",\"text\":\"text %zu\",\"feedback_type\":"
                 "\"%s\"}",
                 r->id[i], i, corr ? "correction" : "confirmation");
        it->id = r->id[i];
        it->json = r->json[i];
        it->len = strlen(r->json[i]);
        it->type = corr ? "correction" : "confirmation";
        it->original = "greet";
        it->correct = corr ? "ask_help" : "greet";
        if (corr && override_ttl > 0) {
            snprintf(r->okey[i], sizeof(r->okey[i]), "tc:ifb:%016llx",
                     (unsigned long long)g_seq);
            it->override_key = r->okey[i];
            it->override_val = "{\"intent\":\"ask_help\"}";
            it->override_len = strlen(it->override_val);
            it->override_ttl_ms = override_ttl;
        }
        it->status = 99;
    }
}

static void recs_free(recs *r)
{
    free(r->id);
    free(r->json);
    free(r->okey);
    free(r->items);
}

static int put(tc__store *st, recs *r, int64_t retention, tc__err *err)
{
    return tc__fb_redis_ops.put(st, r->items, r->n, retention, err);
}

/* Every record's id and JSON, as export gives them. */
typedef struct seen {
    size_t n, cap;
    char (*id)[TC_FEEDBACK_ID_MAX];
    int stop_after; /* 0: never */
} seen;

static int collect(void *ud, const char *id, const char *json, size_t len)
{
    seen *s = ud;

    ck_assert_uint_eq(strlen(json), len);
    ck_assert_ptr_nonnull(strstr(json, id));
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->id = realloc(s->id, s->cap * sizeof(*s->id));
        ck_assert_ptr_nonnull(s->id);
    }
    snprintf(s->id[s->n++], TC_FEEDBACK_ID_MAX, "%s", id);
    return s->stop_after && (int)s->n == s->stop_after ? 42 : 0;
}

static uint64_t count_of(const tc__fb_stats *st, const char *name)
{
    for (size_t i = 0; i < st->ncounts; i++) {
        if (strcmp(st->counts[i].name, name) == 0) {
            return st->counts[i].value;
        }
    }
    return 0;
}

START_TEST(test_put_idempotent)
{
    tc__store *st = start(0);
    tc__err err = {""};
    recs r;

    recs_make(&r, 40, 0, DAY_MS);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_int_eq(r.items[i].status, TC_OK);
    }
    ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 40);
    /* A replayed spool: the same batch again, and once more with the
     * server's script cache gone (the EVAL path). */
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            ck_assert_int_eq(cmd_int("SCRIPT %s", "FLUSH"), 0);
        }
        ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
        for (size_t i = 0; i < r.n; i++) {
            ck_assert_int_eq(r.items[i].status, TC_MISS);
        }
        ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 40);
        ck_assert_int_eq(cmd_int("HGET tc:fb:counts %s", "correction:accepted"),
                         20);
        ck_assert_int_eq(
            cmd_int("HGET tc:fb:counts %s", "confirmation:accepted"), 20);
    }
    /* The seen key maps the record to its entry, for as long as it is
     * kept. */
    {
        char key[64], *sid;

        snprintf(key, sizeof(key), "tc:fb:seen:%s", r.id[0]);
        sid = trs_cmd(g_srv, "GET %s", key);
        ck_assert_ptr_nonnull(sid);
        ck_assert_int_eq(strncmp(sid, r.id[0], 13), 0);
        ck_assert_int_eq(sid[13], '-');
        free(sid);
        ck_assert_int_gt(cmd_int("PTTL %s", key), 29 * DAY_MS);
    }
    recs_free(&r);
}
END_TEST

START_TEST(test_counts_exact)
{
    tc__store *st = start(0);
    tc__err err = {""};
    tc__fb_stats s;
    recs a, b;

    recs_make(&a, 7, 0, 0);
    recs_make(&b, 6, 0, 0);
    b.items[1].correct = "unknown"; /* a confirmation: no pair */
    b.items[2].correct = "farewell";
    ck_assert_int_eq(put(st, &a, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(put(st, &b, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "invalid:rejected", 3, &err),
                     TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "invalid:rejected", 2, &err),
                     TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(count_of(&s, "correction:accepted"), 4 + 3);
    ck_assert_uint_eq(count_of(&s, "confirmation:accepted"), 3 + 3);
    ck_assert_uint_eq(count_of(&s, "pair:greet\x1f"
                                   "ask_help"),
                      4 + 2);
    ck_assert_uint_eq(count_of(&s, "pair:greet\x1f"
                                   "farewell"),
                      1);
    ck_assert_uint_eq(count_of(&s, "pair:greet\x1f"
                                   "unknown"),
                      0);
    ck_assert_uint_eq(count_of(&s, "invalid:rejected"), 5);
    ck_assert_uint_eq(s.ncounts, 5);
    tc__fb_stats_release(&s);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "", 1, &err), TC_EINVAL);
    recs_free(&a);
    recs_free(&b);
}
END_TEST

START_TEST(test_override_ttl)
{
    tc__store *st = start(0);
    tc__err err = {""};
    long long pttl;
    char *val;
    recs r;

    recs_make(&r, 2, 0, 3600000);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    val = trs_cmd(g_srv, "GET %s", r.okey[0]);
    ck_assert_str_eq(val, "{\"intent\":\"ask_help\"}");
    free(val);
    pttl = cmd_int("PTTL %s", r.okey[0]);
    ck_assert_int_gt(pttl, 3600000 - 60000);
    ck_assert_int_le(pttl, 3600000);
    /* A confirmation overrides nothing. */
    ck_assert_ptr_null(r.items[1].override_key);
    ck_assert_int_eq(cmd_int("DBSIZE%s", ""), 2 + 2 + 1);
    recs_free(&r);
}
END_TEST

START_TEST(test_bad_items)
{
    tc__store *st = start(0);
    tc__err err = {""};
    recs r;

    recs_make(&r, 4, 0, DAY_MS);
    r.items[1].id = "not-an-id";
    r.items[2].override_ttl_ms = 0; /* an override that would not expire */
    r.items[3].json = NULL;
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_OK);
    ck_assert_int_eq(r.items[1].status, TC_EINVAL);
    ck_assert_int_eq(r.items[2].status, TC_EINVAL);
    ck_assert_int_eq(r.items[3].status, TC_EINVAL);
    ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 1);
    recs_free(&r);
}
END_TEST

START_TEST(test_retention)
{
    tc__store *st = start(0);
    tc__err err = {""};
    seen s = {0, 0, NULL, 0};
    uint64_t removed = 0;
    recs old, young, ancient;

    recs_make(&old, 300, 0, DAY_MS);
    ck_assert_int_eq(put(st, &old, 400, &err), TC_OK);
    sleep_ms(600);
    recs_make(&young, 1, 0, DAY_MS);
    ck_assert_int_eq(put(st, &young, 400, &err), TC_OK);
    /* The put trimmed whole nodes on the way; trim does the rest. */
    ck_assert_int_lt(cmd_int("XLEN %s", "tc:fb:stream"), 301);
    ck_assert_int_eq(tc__fb_redis_ops.trim(st, 400, &removed, &err), TC_OK);
    ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 1);
    ck_assert_int_eq(tc__fb_redis_ops.export(st, collect, &s, &err), TC_OK);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_str_eq(s.id[0], young.id[0]);
    /* A replayed record already past its retention is counted, and not
     * kept; replayed again, it is a duplicate. */
    recs_make(&ancient, 1, tc__wall_ms() - 5000, DAY_MS);
    ck_assert_int_eq(put(st, &ancient, 400, &err), TC_OK);
    ck_assert_int_eq(ancient.items[0].status, TC_OK);
    ck_assert_int_eq(put(st, &ancient, 400, &err), TC_OK);
    ck_assert_int_eq(ancient.items[0].status, TC_MISS);
    ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 1);
    /* Without retention nothing goes. */
    ck_assert_int_eq(tc__fb_redis_ops.trim(st, 0, &removed, &err), TC_OK);
    ck_assert_uint_eq(removed, 0);
    free(s.id);
    recs_free(&old);
    recs_free(&young);
    recs_free(&ancient);
}
END_TEST

/* Whether every id of a appears in b. */
static int all_in(char **a, size_t na, char **b, size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;

        while (j < nb && strcmp(a[i], b[j]) != 0) {
            j++;
        }
        if (j == nb) {
            return 0;
        }
    }
    return 1;
}

static int none_in(char **a, size_t na, char **b, size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (strcmp(a[i], b[j]) == 0) {
                return 0;
            }
        }
    }
    return 1;
}

START_TEST(test_consume_two_consumers)
{
    tc__store *st = start(0);
    tc__err err = {""};
    char **ia, **ra, **ib, **rb, **ic, **rc_;
    size_t na, nb, nc;
    tc__fb_stats s;
    recs r;

    /* Nothing stored yet: nothing to consume, and no error. */
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "a", 4, 60000, &ia, &ra, &na, &err),
        TC_OK);
    ck_assert_uint_eq(na, 0);
    recs_make(&r, 10, 0, 0);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "a", 4, 60000, &ia, &ra, &na, &err),
        TC_OK);
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "b", 100, 60000, &ib, &rb, &nb, &err),
        TC_OK);
    ck_assert_uint_eq(na, 4);
    ck_assert_uint_eq(nb, 6);
    /* Queue order, record ids (not stream ids) and their records. */
    for (size_t i = 0; i < na; i++) {
        ck_assert_str_eq(ia[i], r.id[i]);
        ck_assert_str_eq(ra[i], r.json[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        ck_assert_str_eq(ib[i], r.id[4 + i]);
    }
    ck_assert(none_in(ia, na, ib, nb));
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.kept, 10);
    ck_assert_uint_eq(s.pending, 10);
    ck_assert_uint_eq(s.queued, 0);
    tc__fb_stats_release(&s);
    ck_assert_int_eq(
        tc__fb_redis_ops.ack(st, (const char *const *)ia, na, &err), TC_OK);
    ck_assert_int_eq(
        tc__fb_redis_ops.ack(st, (const char *const *)ib, nb, &err), TC_OK);
    /* Acknowledged twice, or never delivered: harmless. */
    ck_assert_int_eq(
        tc__fb_redis_ops.ack(st, (const char *const *)ib, nb, &err), TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.pending, 0);
    ck_assert_uint_eq(s.kept, 10);
    tc__fb_stats_release(&s);
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "a", 100, 1, &ic, &rc_, &nc, &err), TC_OK);
    ck_assert_uint_eq(nc, 0);
    tc__fb_strings_free(ia, na);
    tc__fb_strings_free(ra, na);
    tc__fb_strings_free(ib, nb);
    tc__fb_strings_free(rb, nb);
    recs_free(&r);
}
END_TEST

START_TEST(test_claim_idle)
{
    tc__store *st = start(0);
    tc__err err = {""};
    char **ia, **ra, **ib, **rb;
    size_t na, nb;
    tc__fb_stats s;
    recs r;

    recs_make(&r, 5, 0, 0);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    /* "dead" takes them all and never acknowledges. */
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "dead", 10, 300, &ia, &ra, &na, &err),
        TC_OK);
    ck_assert_uint_eq(na, 5);
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "live", 10, 300, &ib, &rb, &nb, &err),
        TC_OK);
    ck_assert_uint_eq(nb, 0); /* with a consumer that may be working */
    sleep_ms(400);
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "live", 10, 300, &ib, &rb, &nb, &err),
        TC_OK);
    ck_assert_uint_eq(nb, 5);
    ck_assert(all_in(ia, na, ib, nb));
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.pending, 5);
    tc__fb_stats_release(&s);
    ck_assert_int_eq(
        tc__fb_redis_ops.ack(st, (const char *const *)ib, nb, &err), TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.pending, 0);
    tc__fb_stats_release(&s);
    tc__fb_strings_free(ia, na);
    tc__fb_strings_free(ra, na);
    tc__fb_strings_free(ib, nb);
    tc__fb_strings_free(rb, nb);
    recs_free(&r);
}
END_TEST

START_TEST(test_stats_fields)
{
    tc__store *st = start(0);
    tc__err err = {""};
    char **ids, **rec;
    size_t n;
    tc__fb_stats s;
    recs r;

    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.kept + s.pending + s.queued + s.ncounts, 0);
    tc__fb_stats_release(&s);
    recs_make(&r, 12, 0, 0);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    /* No consumer yet: everything is queued. */
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.kept, 12);
    ck_assert_uint_eq(s.pending, 0);
    ck_assert_uint_eq(s.queued, 12);
    tc__fb_stats_release(&s);
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "c", 5, 60000, &ids, &rec, &n, &err),
        TC_OK);
    ck_assert_int_eq(
        tc__fb_redis_ops.ack(st, (const char *const *)ids, 2, &err), TC_OK);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.kept, 12);
    ck_assert_uint_eq(s.pending, 3);
    ck_assert_uint_eq(s.queued, 7);
    ck_assert_uint_eq(count_of(&s, "correction:accepted"), 6);
    tc__fb_stats_release(&s);
    tc__fb_strings_free(ids, n);
    tc__fb_strings_free(rec, n);
    recs_free(&r);
}
END_TEST

START_TEST(test_export_order)
{
    tc__store *st = start(0);
    tc__err err = {""};
    seen s = {0, 0, NULL, 0};
    recs r;

    /* More than a page, in several puts. */
    recs_make(&r, 2500, 0, 0);
    for (size_t from = 0; from < r.n; from += 700) {
        size_t m = r.n - from < 700 ? r.n - from : 700;

        ck_assert_int_eq(
            tc__fb_redis_ops.put(st, r.items + from, m, 30 * DAY_MS, &err),
            TC_OK);
    }
    ck_assert_int_eq(tc__fb_redis_ops.export(st, collect, &s, &err), TC_OK);
    ck_assert_uint_eq(s.n, r.n);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_str_eq(s.id[i], r.id[i]);
    }
    /* A record older than the last one stored (a spool replayed late)
     * is kept, and exported where it was stored: streams only append. */
    {
        recs late;

        recs_make(&late, 1, tc__wall_ms() - 60000, 0);
        ck_assert_int_eq(put(st, &late, 30 * DAY_MS, &err), TC_OK);
        ck_assert_int_eq(late.items[0].status, TC_OK);
        s.n = 0;
        ck_assert_int_eq(tc__fb_redis_ops.export(st, collect, &s, &err), TC_OK);
        ck_assert_uint_eq(s.n, r.n + 1);
        ck_assert_str_eq(s.id[r.n], late.id[0]);
        recs_free(&late);
    }
    /* each() stops it, and its value comes back. */
    s.n = 0;
    s.stop_after = 1500;
    ck_assert_int_eq(tc__fb_redis_ops.export(st, collect, &s, &err), 42);
    ck_assert_uint_eq(s.n, 1500);
    free(s.id);
    recs_free(&r);
}
END_TEST

START_TEST(test_killed_server)
{
    tc__store *st = start(200);
    tc__err err = {""};
    char **ids, **rec;
    size_t n;
    tc__fb_stats s;
    seen e = {0, 0, NULL, 0};
    const char *one = "1700000000000-0000000000000001";
    int64_t t0;
    recs r;
    int rc;

    recs_make(&r, 3, 0, DAY_MS);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    trs_kill(g_srv);
    t0 = tc__now_ms();
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_EUNAVAIL);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_int_eq(r.items[i].status, TC_EUNAVAIL);
    }
    /* Fast: refused, not waited for (a bound, not a speed test). */
    ck_assert_int_lt(tc__now_ms() - t0, 1000);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "x", 1, &err), TC_EUNAVAIL);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_EUNAVAIL);
    ck_assert_uint_eq(s.ncounts, 0);
    /* The breaker is open by now: refused without a try. */
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "c", 5, 1000, &ids, &rec, &n, &err),
        TC_EUNAVAIL);
    ck_assert_ptr_null(ids);
    ck_assert_ptr_nonnull(strstr(err.msg, "circuit open"));
    ck_assert_int_eq(tc__fb_redis_ops.ack(st, &one, 1, &err), TC_EUNAVAIL);
    ck_assert_int_eq(tc__fb_redis_ops.export(st, collect, &e, &err),
                     TC_EUNAVAIL);
    ck_assert_int_eq(tc__fb_redis_ops.trim(st, 1000, NULL, &err), TC_EUNAVAIL);
    /* Back: the records are there once, and a replay is a duplicate. */
    ck_assert_int_eq(trs_restart(g_srv), 0);
    for (int i = 0; i < 200; i++) {
        rc = put(st, &r, 30 * DAY_MS, &err);
        if (rc == TC_OK) {
            break;
        }
        sleep_ms(20);
    }
    ck_assert_int_eq(rc, TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_OK); /* a fresh server */
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_MISS);
    free(e.id);
    recs_free(&r);
}
END_TEST

START_TEST(test_paused_server)
{
    tc__store *st = start(100);
    tc__err err = {""};
    char *ok;
    int64_t t0;
    recs r;

    recs_make(&r, 3, 0, DAY_MS);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ok = trs_cmd(g_srv, "CLIENT PAUSE 2000 %s", "ALL");
    ck_assert_str_eq(ok, "OK");
    free(ok);
    t0 = tc__now_ms();
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_ETIMEOUT);
    ck_assert_int_lt(tc__now_ms() - t0, 1000);
    ck_assert_msg(strstr(err.msg, "FEEDBACK PUT") &&
                      strstr(err.msg, "timed out after 100 ms"),
                  "%s", err.msg);
    ck_assert_int_eq(r.items[0].status, TC_ETIMEOUT);
    recs_free(&r);
}
END_TEST

START_TEST(test_wrong_type)
{
    tc__store *st = start(0);
    tc__store_health h;
    tc__err err = {""};
    tc__fb_stats s;
    char *ok;
    recs r;

    ok = trs_cmd(g_srv, "SET tc:fb:stream %s", "not a stream");
    ck_assert_str_eq(ok, "OK");
    free(ok);
    recs_make(&r, 2, 0, DAY_MS);
    /* The records' failure, not the call's: the store answered. */
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_EPROTO);
    ck_assert_int_eq(r.items[1].status, TC_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "WRONGTYPE"));
    st->ops->health(st, &h);
    ck_assert_uint_eq(h.errors, 2); /* the items, not the call */
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_EPROTO);
    recs_free(&r);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

#define NTHREADS 4
#define PER_THREAD 200

typedef struct worker {
    tc__store *st;
    recs r;
    int rc;
    char name[16];
    char **ids[64];
    size_t n[64], rounds;
} worker;

/* Puts its records in small batches, one by one the first time (the
 * scripts' digests are learnt by racing threads). */
static void *put_main(void *arg)
{
    worker *w = arg;
    tc__err err = {""};

    for (size_t from = 0; from < w->r.n && w->rc == TC_OK; from += 25) {
        w->rc = tc__fb_redis_ops.put(w->st, w->r.items + from,
                                     from == 0 ? 1 : 25, 30 * DAY_MS, &err);
        if (from == 0 && w->rc == TC_OK) {
            w->rc = tc__fb_redis_ops.put(w->st, w->r.items + 1, 24, 30 * DAY_MS,
                                         &err);
        }
    }
    return NULL;
}

/* Consumes and acknowledges until the queue is empty. */
static void *consume_main(void *arg)
{
    worker *w = arg;
    tc__err err = {""};
    char **recs_;
    size_t idle = 0;

    while (w->rc == TC_OK && w->rounds < 64 && idle < 3) {
        size_t k = w->rounds;

        w->rc = tc__fb_redis_ops.consume(w->st, w->name, 37, 60000, &w->ids[k],
                                         &recs_, &w->n[k], &err);
        if (w->rc != TC_OK) {
            break;
        }
        tc__fb_strings_free(recs_, w->n[k]);
        w->rc = tc__fb_redis_ops.ack(w->st, (const char *const *)w->ids[k],
                                     w->n[k], &err);
        idle = w->n[k] == 0 ? idle + 1 : 0;
        w->rounds++;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_threads)
{
    tc__store *st = start(0);
    worker w[NTHREADS];
    pthread_t th[NTHREADS];
    char **all = calloc(NTHREADS * PER_THREAD, sizeof(char *));
    size_t nall = 0;
    tc__err err = {""};
    tc__fb_stats s;

    ck_assert_ptr_nonnull(all);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < NTHREADS; i++) {
        w[i].st = st;
        recs_make(&w[i].r, PER_THREAD, 0, DAY_MS);
        snprintf(w[i].name, sizeof(w[i].name), "c%d", i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, put_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].rc, TC_OK);
    }
    ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), NTHREADS * PER_THREAD);
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, consume_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].rc, TC_OK);
        for (size_t k = 0; k < w[i].rounds; k++) {
            for (size_t j = 0; j < w[i].n[k]; j++) {
                all[nall++] = w[i].ids[k][j];
            }
        }
    }
    /* Every record delivered once, to one consumer. */
    ck_assert_uint_eq(nall, NTHREADS * PER_THREAD);
    qsort(all, nall, sizeof(*all), cmp_str);
    for (size_t i = 1; i < nall; i++) {
        ck_assert_str_ne(all[i - 1], all[i]);
    }
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.pending + s.queued, 0);
    ck_assert_uint_eq(count_of(&s, "correction:accepted"),
                      NTHREADS * PER_THREAD / 2);
    tc__fb_stats_release(&s);
    for (int i = 0; i < NTHREADS; i++) {
        for (size_t k = 0; k < w[i].rounds; k++) {
            tc__fb_strings_free(w[i].ids[k], w[i].n[k]);
        }
        recs_free(&w[i].r);
    }
    free(all);
}
END_TEST

/* ---- a server that answers with the wrong type ------------------------ */

typedef struct fake_peer {
    int lfd, stop;
    pthread_t th;
} fake_peer;

/*
 * Answers SCRIPT LOAD with a digest and anything else (EVALSHA) with an
 * integer: a well-formed reply of a type no script of the store returns.
 */
static void *fake_main(void *arg)
{
    fake_peer *f = arg;
    struct pollfd p = {-1, POLLIN, 0};
    static const char sha[] = "$40\r\n"
                              "0123456789012345678901234567890123456789\r\n";
    char buf[65536];
    int fd = accept(f->lfd, NULL, NULL);
    ssize_t got;

    p.fd = fd;
    while (fd >= 0 && poll(&p, 1, 3000) == 1 &&
           (got = read(fd, buf, sizeof(buf) - 1)) > 0) {
        buf[got] = '\0';
        if (strstr(buf, "SCRIPT")) {
            for (char *q = buf; (q = strstr(q, "LOAD")) != NULL; q += 4) {
                if (write(fd, sha, sizeof(sha) - 1) < 0) {
                    break;
                }
            }
        } else if (write(fd, ":5\r\n", 4) < 0) {
            break;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

START_TEST(test_wrong_reply)
{
    fake_peer f = {-1, 0, 0};
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    tc__err err = {""};
    tc__store *st;
    recs r;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f.lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f.lfd, 0);
    ck_assert_int_eq(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(f.lfd, 1), 0);
    ck_assert_int_eq(getsockname(f.lfd, (struct sockaddr *)&sa, &len), 0);
    ck_assert_int_eq(pthread_create(&f.th, NULL, fake_main, &f), 0);
    st = open_port(ntohs(sa.sin_port), 1000);
    recs_make(&r, 2, 0, DAY_MS);
    ck_assert_int_eq(put(st, &r, 30 * DAY_MS, &err), TC_EPROTO);
    ck_assert_msg(strstr(err.msg, "unexpected reply"), "%s", err.msg);
    ck_assert_int_eq(r.items[0].status, TC_EPROTO);
    g_st->ops->close(g_st);
    g_st = NULL;
    pthread_join(f.th, NULL);
    close(f.lfd);
    recs_free(&r);
}
END_TEST

/* ---- failing allocations ---------------------------------------------- */

static _Atomic long g_calls, g_live;
static long g_fail_at;

static void *f_malloc(size_t n)
{
    void *p;

    if (atomic_fetch_add(&g_calls, 1) + 1 == g_fail_at) {
        return NULL;
    }
    if ((p = malloc(n))) {
        atomic_fetch_add(&g_live, 1);
    }
    return p;
}

static void *f_realloc(void *old, size_t n)
{
    void *p;

    if (atomic_fetch_add(&g_calls, 1) + 1 == g_fail_at) {
        return NULL;
    }
    if ((p = realloc(old, n)) && !old) {
        atomic_fetch_add(&g_live, 1);
    }
    return p;
}

static void f_free(void *p)
{
    if (p) {
        atomic_fetch_sub(&g_live, 1);
        free(p);
    }
}

static int ok_or_nomem(int rc)
{
    return rc == TC_OK || rc == TC_ENOMEM;
}

/*
 * Every operation with the n-th allocation failing, for every n until a
 * run needs fewer: each returns TC_OK or TC_ENOMEM and leaks nothing.
 * Records accumulate across runs (puts of the same ids are duplicates).
 */
START_TEST(test_enomem)
{
    tc__store *st = start(0);
    seen e = {0, 0, NULL, 0};
    int done = 0;
    long n;
    recs r;

    recs_make(&r, 40, 0, DAY_MS);
    for (n = 1; !done && n < 2000; n++) {
        tc__err err = {""};
        char **ids = NULL, **rec = NULL;
        size_t k = 0;
        tc__fb_stats fs;
        uint64_t removed;

        free(trs_cmd(g_srv, "SCRIPT FLUSH")); /* the EVAL path too */
        atomic_store(&g_calls, 0);
        atomic_store(&g_live, 0);
        g_fail_at = n;
        tc_set_allocator(f_malloc, f_realloc, f_free);
        ck_assert(ok_or_nomem(put(st, &r, 30 * DAY_MS, &err)));
        ck_assert(ok_or_nomem(tc__fb_redis_ops.count(st, "x", 1, &err)));
        ck_assert(ok_or_nomem(tc__fb_redis_ops.stats(st, &fs, &err)));
        tc__fb_stats_release(&fs);
        ck_assert(ok_or_nomem(
            tc__fb_redis_ops.consume(st, "c", 5, 1, &ids, &rec, &k, &err)));
        ck_assert(ok_or_nomem(
            tc__fb_redis_ops.ack(st, (const char *const *)ids, k, &err)));
        tc__fb_strings_free(ids, k);
        tc__fb_strings_free(rec, k);
        ck_assert(
            ok_or_nomem(tc__fb_redis_ops.trim(st, DAY_MS, &removed, &err)));
        e.n = 0;
        ck_assert(ok_or_nomem(tc__fb_redis_ops.export(st, collect, &e, &err)));
        tc_set_allocator(NULL, NULL, NULL);
        done = atomic_load(&g_calls) < n;
        ck_assert_msg(atomic_load(&g_live) == 0,
                      "allocation %ld failing: %ld blocks leaked", n,
                      atomic_load(&g_live));
    }
    ck_assert_msg(done, "never ran without a failure");
    ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 40);
    free(e.id);
    recs_free(&r);
}
END_TEST

/* ---- throughput --------------------------------------------------------- */

/*
 * 10,000 records in puts of 1024 (TC__FB_BATCH, as an import sends them),
 * for several numbers of records per script call. Printed, not asserted.
 */
START_TEST(test_put_throughput)
{
    static const size_t batches[] = {1, 16, 64, 256, 1024};
    tc__store *st = start(5000);
    tc__err err = {""};

    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        int64_t t0, us;
        recs r;

        ck_assert_int_eq(cmd_int("FLUSHALL%s", ""), 0);
        tc__fb_redis_set_script_batch(batches[b]);
        recs_make(&r, 10000, 0, DAY_MS);
        t0 = tc__now_us();
        for (size_t from = 0; from < r.n; from += 1024) {
            size_t m = r.n - from < 1024 ? r.n - from : 1024;

            ck_assert_int_eq(
                tc__fb_redis_ops.put(st, r.items + from, m, 30 * DAY_MS, &err),
                TC_OK);
        }
        us = tc__now_us() - t0;
        ck_assert_int_eq(cmd_int("XLEN %s", "tc:fb:stream"), 10000);
        printf("fbstore_redis: put 10000 records, %4zu per script call: "
               "%.0f records/s\n",
               batches[b], 10000.0 * 1e6 / (double)(us > 0 ? us : 1));
        recs_free(&r);
    }
    fflush(stdout);
}
END_TEST

Suite *suite_fbstore_redis(void)
{
    Suite *s = suite_create("fbstore_redis");
    TCase *tc = tcase_create("fbstore_redis");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_put_idempotent);
    tcase_add_test(tc, test_counts_exact);
    tcase_add_test(tc, test_override_ttl);
    tcase_add_test(tc, test_bad_items);
    tcase_add_test(tc, test_retention);
    tcase_add_test(tc, test_consume_two_consumers);
    tcase_add_test(tc, test_claim_idle);
    tcase_add_test(tc, test_stats_fields);
    tcase_add_test(tc, test_export_order);
    tcase_add_test(tc, test_killed_server);
    tcase_add_test(tc, test_paused_server);
    tcase_add_test(tc, test_wrong_type);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_enomem);
    tcase_add_test(tc, test_wrong_reply);
    tcase_add_test(tc, test_put_throughput);
    suite_add_tcase(s, tc);
    return s;
}
