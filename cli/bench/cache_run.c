/*
 * cache_run.c - the scenarios of `tutorcache bench cache` and their runs:
 * one call of each, worker threads started together at a barrier, rounds
 * taken in turn with their raw hiredis peers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_rand.h"
#include "bench/cache_bench.h"
#include "bench/perf_work.h"

const cb_scen scen[NSCEN] = {
    {"l1_hit", 1, 0},         {"l2_hit", 1, 0},
    {"l2_batch16", BATCH, 0}, {"miss_set", 1, 0},
    {"raw_get", 1, 1},        {"raw_pipe16", BATCH, 1},
    {"raw_get_pttl", 1, 2},   {"raw_pipe16_pttl", BATCH, 2},
};

int64_t cb_now_ns(void)
{
    return perf_now_ns();
}

const char *cb_key_of(const bench *b, size_t i)
{
    return b->keys + i * KEY_LEN;
}

/*
 * A value of exactly n bytes that looks like a cached answer: a JSON
 * object padded through its last field, or for tiny sizes a JSON string.
 */
void cb_make_value(char *buf, size_t n, size_t id)
{
    char head[128];
    int k = snprintf(head, sizeof(head),
                     "{\"id\":%zu,\"intent\":\"explain_concept\","
                     "\"confidence\":0.93,\"pad\":\"",
                     id);

    if (n >= (size_t)k + 2) {
        memcpy(buf, head, (size_t)k);
        memset(buf + k, 'x', n - (size_t)k - 2);
        memcpy(buf + n - 2, "\"}", 2);
    } else if (n >= 2) {
        buf[0] = '"';
        memset(buf + 1, 'x', n - 2);
        buf[n - 1] = '"';
    } else {
        buf[0] = '0';
    }
}

/* "l2_hit", or "l2_hit_threads4" for a run on more than one thread. */
void cb_scenario_name(char *buf, size_t n, int s, int threads)
{
    if (threads > 1) {
        snprintf(buf, n, "%s_threads%d", scen[s].name, threads);
    } else {
        snprintf(buf, n, "%s", scen[s].name);
    }
}

/* ---- one call of each scenario ------------------------------------------ */

static void op_get(worker *w, tc_tier want)
{
    bench *b = w->b;
    size_t i = bench_rand(&w->rng) % b->nkeys;
    tc_tier tier;
    void *val;
    size_t len;
    int rc;

    rc = tc_cache_get(&val, &len, &tier, b->h, BENCH_NS, cb_key_of(b, i),
                      KEY_LEN);
    if (rc != TC_OK || tier != want || len != b->value_bytes) {
        w->errors++;
    }
    tc_free(val);
}

static void op_batch(worker *w)
{
    bench *b = w->b;
    tc_item items[BATCH];
    int i;

    memset(items, 0, sizeof(items));
    for (i = 0; i < BATCH; i++) {
        items[i].key = cb_key_of(b, bench_rand(&w->rng) % b->nkeys);
        items[i].keylen = KEY_LEN;
    }
    if (tc_cache_mget(b->h, BENCH_NS, items, BATCH) != TC_OK) {
        w->errors += BATCH;
        return;
    }
    for (i = 0; i < BATCH; i++) {
        if (items[i].status != TC_OK || items[i].tier != TC_TIER_L2) {
            w->errors++;
        }
        tc_free(items[i].val);
    }
}

static void op_miss_set(worker *w)
{
    bench *b = w->b;
    char key[96];
    void *v;
    size_t len;
    int n;

    /* unique per process (nonce), run and thread: a miss every time */
    n = snprintf(key, sizeof(key), "tcbench-miss:%s:%d:%d:%llu", b->nonce,
                 w->run, w->id, (unsigned long long)w->seq++);
    if (tc_cache_get(&v, &len, NULL, b->h, BENCH_NS, key, (size_t)n) !=
        TC_MISS) {
        w->errors++;
    }
    tc_free(v);
    if (tc_cache_set(b->h, BENCH_NS, key, (size_t)n, b->value, b->value_bytes,
                     MISS_TTL_MS) != TC_OK) {
        w->errors++;
    }
}

/* A raw peer: the same random choice of keys, then plain hiredis. */
static void op_raw(worker *w)
{
    bench *b = w->b;
    const char *keys[BATCH];
    int i, n = scen[w->scen].batch, bad;

    for (i = 0; i < n; i++) {
        keys[i] = b->l2keys + (bench_rand(&w->rng) % b->nkeys) * TC_KEY_MAX;
    }
    bad = bench_raw_call(w->rc, keys, (size_t)n, scen[w->scen].raw == 2,
                         b->value_bytes, w->err, sizeof(w->err));
    if (bad < 0) {
        w->failed = 1;
    } else {
        w->errors += (uint64_t)bad;
    }
}

static void run_op(worker *w)
{
    switch (w->scen) {
    case S_L1_HIT:
        op_get(w, TC_TIER_L1);
        break;
    case S_L2_HIT:
        op_get(w, TC_TIER_L2);
        break;
    case S_L2_BATCH:
        op_batch(w);
        break;
    case S_MISS_SET:
        op_miss_set(w);
        break;
    default:
        op_raw(w);
        break;
    }
}

/* ---- running a scenario ------------------------------------------------- */

static void *worker_main(void *arg)
{
    worker *w = arg;
    bench *b = w->b;
    int64_t prev, t, deadline, cpu0;
    long long i;

    if (scen[w->scen].raw &&
        !(w->rc = bench_raw_connect(&b->rt, b->connect_ms, b->command_ms,
                                    w->err, sizeof(w->err)))) {
        w->failed = 1;
    }
    pthread_barrier_wait(&b->barrier);
    cpu0 = perf_cpu_ns();
    prev = w->start_ns = cb_now_ns();
    deadline = prev + (int64_t)(b->seconds * 1e9 / b->rounds);
    for (i = 0; !w->failed && (b->requests ? i < b->requests : prev < deadline);
         i++) {
        run_op(w);
        t = cb_now_ns();
        perf_hist_add(w->h, (uint64_t)(t - prev));
        prev = t;
        w->calls++;
    }
    w->end_ns = prev;
    w->cpu_ns = perf_cpu_ns() - cpu0;
    return NULL;
}

void cb_progress(const bench *b, const char *name)
{
    if (b->progress) {
        fprintf(stderr, "\rtutorcache: bench: %-28s\033[K", name);
    }
}

/*
 * Runs one round of scenario s on n threads, adding to res; 0, or -1
 * after a message.
 */
static int run_scenario(bench *b, int s, int n, result *res)
{
    char name[64];
    worker *ws = calloc((size_t)n, sizeof(*ws));
    pthread_t *tids = calloc((size_t)n, sizeof(*tids));
    int64_t start = INT64_MAX, end = 0;
    int i, started = 0, rc = 0;

    cb_scenario_name(name, sizeof(name), s, n);
    cb_progress(b, name);
    if (!res->h) {
        res->h = perf_hist_new();
    }
    if (!ws || !tids || !res->h ||
        pthread_barrier_init(&b->barrier, NULL, (unsigned)n) != 0) {
        free(ws);
        free(tids);
        cli_err("bench: out of memory");
        res->failed = 1;
        return -1;
    }
    for (i = 0; i < n; i++) {
        ws[i].b = b;
        ws[i].scen = s;
        ws[i].id = i;
        ws[i].run = b->runs;
        ws[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) + (uint64_t)s;
        if (!(ws[i].h = perf_hist_new())) {
            while (i-- > 0) {
                perf_hist_free(ws[i].h);
            }
            pthread_barrier_destroy(&b->barrier);
            free(ws);
            free(tids);
            cli_err("bench: out of memory");
            res->failed = 1;
            return -1;
        }
    }
    for (started = 0; started < n; started++) {
        if (pthread_create(&tids[started], NULL, worker_main, &ws[started]) !=
            0) {
            /* the started threads wait at the barrier for the others
             * forever: end the process rather than hang */
            cli_err("bench: %s: cannot start %d threads", name, n);
            exit(CLI_FAIL);
        }
    }
    for (i = 0; i < n; i++) {
        pthread_join(tids[i], NULL);
    }
    b->runs++;
    for (i = 0; i < n; i++) {
        worker *w = &ws[i];

        if (w->failed && !rc) {
            cli_err("bench: %s: %s", name, w->err);
            rc = -1;
        }
        start = w->start_ns < start ? w->start_ns : start;
        end = w->end_ns > end ? w->end_ns : end;
        res->ops += w->calls * (uint64_t)scen[s].batch;
        res->errors += w->errors;
        res->cpu_ns += w->cpu_ns;
        perf_hist_merge(res->h, w->h);
        bench_raw_close(w->rc);
        perf_hist_free(w->h);
    }
    pthread_barrier_destroy(&b->barrier);
    res->threads = n;
    res->ns += end > start ? end - start : 0;
    res->failed |= rc != 0;
    free(ws);
    free(tids);
    return rc;
}

/* Throughput and quantiles of a scenario once its rounds are done. */
static void result_end(result *res)
{
    if (res->h && !res->failed) {
        res->ran = 1;
        res->ops_per_sec =
            res->ns > 0 ? (double)res->ops * 1e9 / (double)res->ns : 0;
        res->ops_per_cpu_sec =
            res->cpu_ns > 0 ? (double)res->ops * 1e9 / (double)res->cpu_ns : 0;
        res->p50_us = perf_hist_quantile(res->h, 0.50) / 1000;
        res->p99_us = perf_hist_quantile(res->h, 0.99) / 1000;
    }
    perf_hist_free(res->h);
    res->h = NULL;
}

/*
 * Runs a group of scenarios (a library scenario and its raw peers) on one
 * thread, then on b->threads, each in b->rounds slices taken in turn: a
 * shared machine's slow spells then fall on every scenario of the group
 * alike, and their ratios compare the same moments. -1 if any failed; a
 * scenario that failed is not run again.
 */
static int run_group(bench *b, const int *ss, int count)
{
    int t, r, i, failed = 0;

    for (t = 0; t < (b->threads > 1 ? 2 : 1); t++) {
        for (r = 0; r < b->rounds; r++) {
            for (i = 0; i < count; i++) {
                result *res = &b->res[ss[i]][t];

                if (!res->failed &&
                    run_scenario(b, ss[i], t ? b->threads : 1, res) != 0) {
                    failed = -1;
                }
            }
        }
        for (i = 0; i < count; i++) {
            result_end(&b->res[ss[i]][t]);
        }
    }
    return failed;
}

/* A library scenario and, with Redis, its raw peers. */
int cb_run_with_peers(bench *b, int lib, int ran_raw, int peer,
                      int equal_work_peer)
{
    int ss[3], n = 0;

    ss[n++] = lib;
    if (ran_raw) {
        ss[n++] = peer;
        if (b->equal_work) {
            ss[n++] = equal_work_peer;
        }
    }
    return run_group(b, ss, n);
}
