/*
 * coherence.c - what keeping L1 coherent across processes costs and
 * buys (BENCHMARKS.md, "L1 coherence"): the time from a set in one
 * process to another process serving the new value, and the cost of an
 * L1 hit, an L2 read and a set (kept in L1 or not) with tracking on and
 * off, on one Redis or a Redis Cluster.
 *
 * The latency is taken between two real processes (a forked child
 * opens its own handle): the child reads the monotonic clock, which the
 * whole host shares, and sets a value carrying it; the parent, which
 * held the old value in L1, reads until it sees the new one.
 *
 * Usage: coherence URL [-n ROUNDS]
 *        [--only latency|hit-on|hit-off|l2-on|l2-off|kept-on|kept-off|
 *                l2get-on|l2get-off|l2set-on|l2set-off]
 * The l2get and l2set modes run only with --only: n gets or sets on the
 * L2 path, for callgrind. URL may be a redis-cluster:// one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench_cache.h"
#include "bench_util.h"
#include "tutorcache.h"

const char bench_prog[] = "coherence";

#define NS "ml_model_predictions"
#define OPS 200000
#define L2_OPS 20000
#define KEYS 64

static tc_cache *open_at(const char *url, int tracking, size_t l1_bytes)
{
    char u[512];
    tc_options o;
    tc_cache *h = NULL;

    snprintf(u, sizeof(u), "%s%s", url, tracking ? "" : "?tracking=off");
    tc_options_init(&o);
    o.flags |= TC_OPT_NO_ENV;
    o.store_url = u;
    o.l1_max_bytes = l1_bytes;
    if (tc_cache_open(&h, &o) != TC_OK) {
        bench_fail("open %s: %s", u, tc_errmsg());
    }
    return h;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The child: one set per byte read from in, each carrying its round and
 * the clock; it answers on out when done. */
static void writer(const char *url, int in, int out)
{
    tc_cache *b = open_at(url, 1, 0);
    char v[64], c;
    long round = 0;

    while (read(in, &c, 1) == 1) {
        int n = snprintf(v, sizeof(v), "%ld:%lld", ++round,
                         (long long)bench_now_ns());

        if (tc_cache_set(b, NS, "lat", 3, v, (size_t)n, 0) != TC_OK ||
            write(out, "k", 1) != 1) {
            _exit(1);
        }
    }
    tc_cache_close(b);
    _exit(0);
}

static void latency(const char *url, long rounds)
{
    int down[2], up[2], status;
    int64_t *lat = bench_calloc((size_t)rounds, sizeof(*lat));
    tc_cache *a = open_at(url, 1, 0);
    tc_ns *ns;
    char buf[64], want[24], c;
    size_t len;
    pid_t pid;

    if (tc_ns_find(&ns, a, NS) != TC_OK || pipe(down) || pipe(up)) {
        bench_fail("setup: %s", tc_errmsg());
    }
    tc_cache_set(a, NS, "lat", 3, "0:0", 3, 0);
    if ((pid = fork()) < 0) {
        bench_fail("fork failed");
    }
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        writer(url, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    for (long r = 0; r < rounds; r++) {
        int64_t t0 = bench_now_ns();

        /* hold the old value in L1 */
        while (tc_cache_get_into(buf, sizeof(buf), &len, NULL, a, ns, "lat",
                                 3) != TC_OK) {
        }
        if (write(down[1], "s", 1) != 1 || read(up[0], &c, 1) != 1) {
            bench_fail("the writer died");
        }
        snprintf(want, sizeof(want), "%ld:", r + 1);
        for (;;) {
            if (tc_cache_get_into(buf, sizeof(buf), &len, NULL, a, ns, "lat",
                                  3) == TC_OK &&
                strncmp(buf, want, strlen(want)) == 0) {
                lat[r] = bench_now_ns() - atoll(strchr(buf, ':') + 1);
                break;
            }
            if (bench_now_ns() - t0 > 10 * 1000000000LL) {
                bench_fail("round %ld: no invalidation within 10 s", r);
            }
        }
    }
    close(down[1]);
    waitpid(pid, &status, 0);
    qsort(lat, (size_t)rounds, sizeof(*lat), cmp_i64);
    printf("latency rounds=%ld p50_us=%.1f p99_us=%.1f max_us=%.1f\n", rounds,
           lat[rounds / 2] / 1e3, lat[rounds * 99 / 100] / 1e3,
           lat[rounds - 1] / 1e3);
    free(lat);
    tc_cache_close(a);
}

/* Named, so that callgrind can count it alone (--toggle-collect). */
__attribute__((noinline)) static void hit_loop(tc_cache *h, tc_ns *ns, long n)
{
    char buf[64];
    size_t len;

    for (long i = 0; i < n; i++) {
        if (tc_cache_get_into(buf, sizeof(buf), &len, NULL, h, ns, "hot", 3) !=
            TC_OK) {
            bench_fail("hit: %s", tc_errmsg());
        }
    }
}

static void hits(const char *url, int tracking, long n)
{
    tc_cache *h = open_at(url, tracking, 0);
    tc_ns *ns;
    int64_t t0;

    if (tc_ns_find(&ns, h, NS) != TC_OK ||
        tc_cache_set(h, NS, "hot", 3, "value", 5, 0) != TC_OK) {
        bench_fail("setup: %s", tc_errmsg());
    }
    hit_loop(h, ns, n / 10);
    t0 = bench_now_ns();
    hit_loop(h, ns, n);
    printf("hit tracking=%s ops=%ld ns_per_op=%.1f\n", tracking ? "on" : "off",
           n, (double)(bench_now_ns() - t0) / (double)n);
    tc_cache_close(h);
}

/* L1 of one byte holds nothing: every get is an L2 round trip, and every
 * set a write whose invalidation comes back (tracking on). */
static void l2(const char *url, int tracking, long n)
{
    tc_cache *h = open_at(url, tracking, 1);
    int64_t t0, t1;

    bench_set_loop(h, NS, KEYS, "value", 5, KEYS);
    bench_get_loop(h, NS, KEYS, BENCH_ANY_LEN, n / 10);
    t0 = bench_now_ns();
    bench_get_loop(h, NS, KEYS, BENCH_ANY_LEN, n);
    t1 = bench_now_ns();
    bench_set_loop(h, NS, KEYS, "value", 5, n);
    printf("l2 tracking=%s ops=%ld get_us=%.2f set_us=%.2f\n",
           tracking ? "on" : "off", n, (double)(t1 - t0) / 1e3 / (double)n,
           (double)(bench_now_ns() - t1) / 1e3 / (double)n);
    tc_cache_close(h);
}

/* The L2 path alone, for callgrind's count of the whole process (the
 * tracking thread's work included): n gets, or n sets, through an L1 of
 * one byte, so that every call is a round trip and, with tracking on,
 * every set's invalidation comes back to be read. */
static void l2_only(const char *url, int tracking, int sets, long n)
{
    tc_cache *h = open_at(url, tracking, 1);

    bench_set_loop(h, NS, KEYS, "value", 5, KEYS);
    if (sets) {
        bench_set_loop(h, NS, KEYS, "value", 5, n);
    } else {
        bench_get_loop(h, NS, KEYS, BENCH_ANY_LEN, n);
    }
    tc_cache_close(h);
}

/*
 * GETs the server ran since the last call (INFO commandstats, then
 * CONFIG RESETSTAT), on a connection of its own to url's host and port:
 * the round trips a set adds, counted rather than timed.
 */
static long server_gets(const char *url)
{
    char host[256];
    int port = 0;
    long calls = 0;
    redisContext *c;
    redisReply *r;
    const char *p;

    if (sscanf(url, "redis://%255[^:/]:%d", host, &port) != 2) {
        return -1;
    }
    if (!(c = redisConnect(host, port)) || c->err) {
        bench_fail("connect %s: %s", url, c ? c->errstr : "no memory");
    }
    r = redisCommand(c, "INFO commandstats");
    if (r && r->type == REDIS_REPLY_STRING &&
        (p = strstr(r->str, "cmdstat_get:calls="))) {
        calls = atol(p + strlen("cmdstat_get:calls="));
    }
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "CONFIG RESETSTAT"));
    redisFree(c);
    return calls;
}

/* A default L1: every set is kept in L1, and with tracking on its own
 * invalidation comes back and finds it there (checked by the tracking
 * thread with one GET). */
static void kept(const char *url, int tracking, long n)
{
    tc_cache *h = open_at(url, tracking, 0);
    int64_t t0;
    long gets;

    bench_set_loop(h, NS, KEYS, "value", 5, n / 10);
    usleep(300 * 1000); /* the tracking thread's checks of those */
    server_gets(url);
    t0 = bench_now_ns();
    bench_set_loop(h, NS, KEYS, "value", 5, n);
    t0 = bench_now_ns() - t0;
    usleep(300 * 1000);
    gets = server_gets(url);
    printf("kept tracking=%s ops=%ld set_us=%.2f gets_per_set=%.2f\n",
           tracking ? "on" : "off", n, (double)t0 / 1e3 / (double)n,
           gets < 0 ? -1.0 : (double)gets / (double)n);
    tc_cache_close(h);
}

int main(int argc, char **argv)
{
    const char *url = NULL, *only = NULL;
    long rounds = 1000;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            rounds = bench_count_arg("-n", argv[++i], 1000000);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (!url && argv[i][0] != '-') {
            url = argv[i];
        } else {
            bench_fail("usage: coherence URL [-n ROUNDS] [--only "
                       "latency|hit-on|hit-off|l2-on|l2-off|kept-on|"
                       "kept-off|l2get-on|l2get-off|l2set-on|l2set-off]");
        }
    }
    if (!url) {
        bench_fail("usage: coherence URL [-n ROUNDS] [--only WHAT]");
    }
#define RUN(name) (!only || strcmp(only, name) == 0)
    if (RUN("latency")) {
        latency(url, rounds);
    }
    /* on and off alternate, twice, so that a neighbour's load falls on
     * both */
    for (int pass = 0; pass < (only ? 1 : 2); pass++) {
        if (RUN("hit-on")) {
            hits(url, 1, only ? rounds : OPS);
        }
        if (RUN("hit-off")) {
            hits(url, 0, only ? rounds : OPS);
        }
        if (RUN("l2-on")) {
            l2(url, 1, only ? rounds : L2_OPS);
        }
        if (RUN("l2-off")) {
            l2(url, 0, only ? rounds : L2_OPS);
        }
        if (only && strncmp(only, "l2", 2) == 0 && only[2] &&
            strchr("gs", only[2])) {
            l2_only(url, strstr(only, "-on") != NULL, only[2] == 's', rounds);
            break;
        }
        if (RUN("kept-on")) {
            kept(url, 1, only ? rounds : L2_OPS);
        }
        if (RUN("kept-off")) {
            kept(url, 0, only ? rounds : L2_OPS);
        }
    }
    return 0;
}
