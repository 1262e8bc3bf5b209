/*
 * cluster_bench.c - L2 reads through the library against one store URL,
 * beside raw hiredis to one Redis node: single gets and batches of
 * BATCH keys, one thread, L1 off so that every read is an L2 round trip.
 * bench/cluster.sh runs it against a single server, a one-master and a
 * three-master cluster in the same run.
 *
 * Usage: cluster_bench URL SECONDS            the library on URL
 *        cluster_bench --raw HOST PORT SECONDS  hiredis to one node
 * Prints "get <ops/s>" and "mget<BATCH> <keys/s>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "tutorcache.h"

#define NS "ml_model_predictions"
#define NKEYS 1000
#define BATCH 16

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void key_of(char *buf, size_t n, int i)
{
    snprintf(buf, n, "bench key %d", i);
}

static int run_lib(const char *url, double secs)
{
    tc_options o;
    tc_cache *h = NULL;
    tc_item it[BATCH];
    char keys[BATCH][32], k[32];
    double t0;
    long ops = 0;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.l1_max_bytes = 1; /* L1 off: every read goes to L2 */
    if (tc_cache_open(&h, &o) != TC_OK) {
        fprintf(stderr, "cluster_bench: %s\n", tc_errmsg());
        return 1;
    }
    for (int i = 0; i < NKEYS; i++) {
        key_of(k, sizeof(k), i);
        if (tc_cache_set(h, NS, k, strlen(k),
                         "a cached answer of some "
                         "forty bytes or so",
                         40, 600000) != TC_OK) {
            fprintf(stderr, "cluster_bench: set: %s\n", tc_errmsg());
            return 1;
        }
    }
    for (t0 = now_s(); now_s() - t0 < secs; ops++) {
        void *v = NULL;
        size_t len;
        tc_tier tier;

        key_of(k, sizeof(k), (int)(ops % NKEYS));
        if (tc_cache_get(&v, &len, &tier, h, NS, k, strlen(k)) != TC_OK ||
            tier != TC_TIER_L2) {
            fprintf(stderr, "cluster_bench: not an L2 hit: %s\n", tc_errmsg());
            return 1;
        }
        tc_free(v);
    }
    printf("get %.0f\n", (double)ops / (now_s() - t0));
    ops = 0;
    for (t0 = now_s(); now_s() - t0 < secs; ops += BATCH) {
        memset(it, 0, sizeof(it));
        for (int j = 0; j < BATCH; j++) {
            key_of(keys[j], sizeof(keys[j]), (int)((ops + j) % NKEYS));
            it[j].key = keys[j];
            it[j].keylen = strlen(keys[j]);
        }
        if (tc_cache_mget(h, NS, it, BATCH) != TC_OK) {
            fprintf(stderr, "cluster_bench: mget: %s\n", tc_errmsg());
            return 1;
        }
        for (int j = 0; j < BATCH; j++) {
            if (it[j].status != TC_OK) {
                fprintf(stderr, "cluster_bench: mget item %d: %d\n", j,
                        it[j].status);
                return 1;
            }
            tc_free(it[j].val);
        }
    }
    printf("mget%d %.0f\n", BATCH, (double)ops / (now_s() - t0));
    tc_cache_close(h);
    return 0;
}

/* The same reads as the library makes (GET and PTTL per key), by hand. */
static int run_raw(const char *host, int port, double secs)
{
    redisContext *c = redisConnect(host, port);
    redisReply *r;
    char k[32];
    double t0;
    long ops = 0;

    if (!c || c->err) {
        fprintf(stderr, "cluster_bench: connect %s:%d\n", host, port);
        return 1;
    }
    for (int i = 0; i < NKEYS; i++) {
        key_of(k, sizeof(k), i);
        freeReplyObject(redisCommand(c, "SET %s %s", k, "forty bytes"));
    }
    for (t0 = now_s(); now_s() - t0 < secs; ops++) {
        key_of(k, sizeof(k), (int)(ops % NKEYS));
        redisAppendCommand(c, "GET %s", k);
        redisAppendCommand(c, "PTTL %s", k);
        for (int j = 0; j < 2; j++) {
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                return 1;
            }
            freeReplyObject(r);
        }
    }
    printf("get %.0f\n", (double)ops / (now_s() - t0));
    ops = 0;
    for (t0 = now_s(); now_s() - t0 < secs; ops += BATCH) {
        for (int j = 0; j < BATCH; j++) {
            key_of(k, sizeof(k), (int)((ops + j) % NKEYS));
            redisAppendCommand(c, "GET %s", k);
            redisAppendCommand(c, "PTTL %s", k);
        }
        for (int j = 0; j < 2 * BATCH; j++) {
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                return 1;
            }
            freeReplyObject(r);
        }
    }
    printf("mget%d %.0f\n", BATCH, (double)ops / (now_s() - t0));
    redisFree(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--raw") == 0) {
        return run_raw(argv[2], atoi(argv[3]), atof(argv[4]));
    }
    if (argc == 3) {
        return run_lib(argv[1], atof(argv[2]));
    }
    fprintf(stderr, "usage: cluster_bench URL SECONDS | --raw HOST PORT "
                    "SECONDS\n");
    return 2;
}
