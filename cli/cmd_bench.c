/*
 * cmd_bench.c - `tutorcache bench cache`: throughput and latency of the
 * cache against the configured store, and, with Redis, of plain hiredis
 * on the same keys and values (bench_raw.c), so the library's overhead
 * shows as a ratio. The command line of `bench classify` is parsed here
 * too; its scenarios live in bench_classify.c.
 *
 * Timing reads CLOCK_MONOTONIC once per call (a vDSO read, ~20 ns): the
 * gap between two reads is one call's latency, loop and key choice
 * included, and the same reads give the throughput, so no second clock
 * read per call is paid. Latencies go into a log-linear histogram
 * (perf_hist.c, 1% buckets), so memory stays fixed however long a run is.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_classify.h"
#include "bench_raw.h"
#include "cli.h"
#include "perf_hist.h"

const char cli_help_bench[] =
    "Usage: tutorcache bench cache [options]\n"
    "       tutorcache bench classify [options]\n"
    "\n"
    "Measure the cache against the configured store. bench cache:\n"
    "  l1_hit       random gets of pre-filled keys, answered by the L1\n"
    "  l2_hit       random gets answered by the L2 (an L1 keeping nothing)\n"
    "  l2_batch16   tc_cache_mget of 16 random keys, from the L2\n"
    "  miss_set     a get that misses, then a set of that key\n"
    "  raw_get, raw_pipe16   Redis only: plain hiredis GETs, and pipelines\n"
    "               of 16, on the same keys; with --equal-work also\n"
    "               raw_get_pttl, raw_pipe16_pttl, a PTTL after each GET\n"
    "bench classify, through the cache:\n"
    "  cold         every text new: misses, classified by the model\n"
    "  warm         every text classified before: hits\n"
    "  mixed        a share R (--hit-ratio) of the texts repeat earlier ones\n"
    "Each runs on one thread, then on N threads sharing one handle (and one\n"
    "classifier): suffix _threadsN, skipped when N is 1.\n"
    "\n"
    "Options:\n"
    "  --threads N       threads of the _threadsN runs (default: the cores)\n"
    "  --json            one JSON object per scenario and line\n"
    "  -h, --help        show this help\n"
    "bench cache:\n"
    "  --requests N      calls per thread, scenario and round (an mget of 16\n"
    "                    is one call); default: --seconds per scenario\n"
    "  --seconds S       time per scenario without --requests (default 0.3)\n"
    "  --rounds N        run each scenario in N slices, in turn with its raw\n"
    "                    peers, so that slow spells fall on both (default 1)\n"
    "  --keys N          keys pre-filled (default 100000)\n"
    "  --value-bytes N   size of each value, a JSON object (default 200)\n"
    "  --equal-work      also run raw_get_pttl and raw_pipe16_pttl\n"
    "bench classify:\n"
    "  -m, --model MODEL       default: TUTORCACHE_MODEL, the config's "
    "\"model\"\n"
    "  --backend exec:COMMAND  classify with COMMAND (see help classify)\n"
    "  --texts FILE            texts, one per line (default: built-in)\n"
    "  --requests N            per scenario, shared by its threads (default\n"
    "                          5000, at most 1000000)\n"
    "  --hit-ratio R           share of repeats in mixed (default 0.8)\n"
    "\n"
    "cache --json: {\"scenario\":\"l1_hit\",\"ops_per_sec\",\"p50_us\","
    "\"p99_us\",\"threads\",\n"
    "\"ops\",\"errors\"}; ops counts keys (a batch of 16 is 16), latencies are"
    "\n"
    "per call; l2_hit and l2_batch16 add \"vs_raw\" and \"vs_equal_work\", "
    "their\n"
    "ratios to their raw peers; l1_hit adds \"ops_per_cpu_sec\". Keys go to\n"
    "ml_model_predictions (tcbench:..., TTL 10 min).\n"
    "classify --json: {\"scenario\":\"cold\",\"threads\",\"requests\","
    "\"hits\",\"errors\",\n"
    "\"ops_per_sec\",\"hit_rate\",\"p50_us\",\"p95_us\",\"p99_us\","
    "\"max_us\",\"mean_us\",\n"
    "\"sources\":{\"l1\",\"l2\",\"model\",\"feedback\"}}, then "
    "{\"scenario\":\"summary\",\n"
    "\"speedup\"} (warm ops/s over cold's; speedup_threads on N threads).\n"
    "Hits are counted from each result's source (l1, l2, feedback), not\n"
    "assumed. The streams are the same on every run (a fixed seed): mixed\n"
    "repeats exactly round(N x R) texts. Texts end with a tag unique to the\n"
    "run, \"(run 1a2b3c4d)\", so cold stays cold on a store earlier runs\n"
    "filled; answers stay in \"intents\" for its TTL.\n"
    "\n"
    "Progress goes to stderr when it is a terminal. On a small VM, pin the\n"
    "client and redis-server to one CPU (taskset -c 0): bench/run.sh does.\n"
    "\n"
    "Exit codes: 0 ok, 2 usage (also: no model, a model or texts file that\n"
    "cannot be opened), 3 store unreachable or lost, 4 a damaged model or a\n"
    "texts file without a usable line, 5 other (also: classifications\n"
    "failed; the results are printed first).\n"
    "\n"
    "Examples:\n"
    "  taskset -c 0 tutorcache --store redis://127.0.0.1 bench cache --json\n"
    "  tutorcache --store memory: bench classify --model intents.tcm\n";

#define BENCH_NS "ml_model_predictions"
#define KEY_FMT "tcbench:%010zu"
#define KEY_LEN 18 /* "tcbench:" and ten digits */
#define FILL_TTL_MS 600000
#define MISS_TTL_MS 60000
#define FILL_BATCH 256
#define BATCH 16
#define MAX_THREADS 1024
#define MAX_KEYS 10000000LL
#define MAX_VALUE_BYTES (1LL << 20)

/* ---- scenarios ---------------------------------------------------------- */

enum {
    S_L1_HIT,
    S_L2_HIT,
    S_L2_BATCH,
    S_MISS_SET,
    S_RAW_GET,
    S_RAW_PIPE,
    S_RAW_GET_PTTL,
    S_RAW_PIPE_PTTL,
    NSCEN
};

static const struct {
    const char *name;
    int batch; /* keys per call */
    int raw;   /* a hiredis peer; 2: one sending PTTL too (--equal-work) */
} scen[NSCEN] = {
    {"l1_hit", 1, 0},         {"l2_hit", 1, 0},
    {"l2_batch16", BATCH, 0}, {"miss_set", 1, 0},
    {"raw_get", 1, 1},        {"raw_pipe16", BATCH, 1},
    {"raw_get_pttl", 1, 2},   {"raw_pipe16_pttl", BATCH, 2},
};

/* A scenario's results, summed over its rounds until result_end(). */
typedef struct result {
    int ran, failed;
    int threads;
    uint64_t ops, errors;
    int64_t ns;     /* time the rounds took */
    int64_t cpu_ns; /* CPU time of their threads */
    perf_hist *h;   /* latencies of all rounds */
    double ops_per_sec, ops_per_cpu_sec, p50_us, p99_us;
} result;

typedef struct bench {
    cli_ctx *ctx;
    long long requests; /* calls per thread and round; 0: run for `seconds` */
    double seconds;
    int rounds; /* slices of each scenario, taken in turn with its peers */
    int threads;
    size_t nkeys, value_bytes;
    int json, progress;
    int equal_work; /* also run raw_get_pttl and raw_pipe16_pttl */
    int runs;       /* scenario runs so far; part of miss_set's keys */
    char *keys;     /* nkeys * KEY_LEN bytes of key material */
    char *l2keys;   /* nkeys * TC_KEY_MAX: the L2 keys, for raw_* */
    char *value;    /* what miss_set writes, value_bytes long */
    char nonce[48];
    tc_cache *h; /* the handle of the scenario running */
    int connect_ms, command_ms;
    bench_target rt;
    result res[NSCEN][2]; /* [scenario][0: one thread, 1: threads] */
    pthread_barrier_t barrier;
} bench;

typedef struct worker {
    bench *b;
    int scen, id, run;
    uint64_t rng, seq, calls, errors;
    int64_t start_ns, end_ns, cpu_ns;
    perf_hist *h;
    bench_raw *rc;
    int failed; /* the run cannot go on (connection lost) */
    char err[256];
} worker;

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* xorshift64*: a key choice must cost far less than the call it feeds. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static const char *key_of(const bench *b, size_t i)
{
    return b->keys + i * KEY_LEN;
}

/*
 * A value of exactly n bytes that looks like a cached answer: a JSON
 * object padded through its last field, or for tiny sizes a JSON string.
 */
static void make_value(char *buf, size_t n, size_t id)
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
static void scenario_name(char *buf, size_t n, int s, int threads)
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
    size_t i = next_rand(&w->rng) % b->nkeys;
    tc_tier tier;
    void *val;
    size_t len;
    int rc;

    rc = tc_cache_get(&val, &len, &tier, b->h, BENCH_NS, key_of(b, i), KEY_LEN);
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
        items[i].key = key_of(b, next_rand(&w->rng) % b->nkeys);
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
        keys[i] = b->l2keys + (next_rand(&w->rng) % b->nkeys) * TC_KEY_MAX;
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
    cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    prev = w->start_ns = now_ns();
    deadline = prev + (int64_t)(b->seconds * 1e9 / b->rounds);
    for (i = 0; !w->failed && (b->requests ? i < b->requests : prev < deadline);
         i++) {
        run_op(w);
        t = now_ns();
        perf_hist_add(w->h, (uint64_t)(t - prev));
        prev = t;
        w->calls++;
    }
    w->end_ns = prev;
    w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return NULL;
}

static void progress(const bench *b, const char *name)
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

    scenario_name(name, sizeof(name), s, n);
    progress(b, name);
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
static int run_with_peers(bench *b, int lib, int ran_raw, int peer,
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

/* ---- setting up --------------------------------------------------------- */

static int make_keys(bench *b)
{
    char tmp[32];
    size_t i;

    if (!(b->keys = malloc(b->nkeys * KEY_LEN)) ||
        !(b->value = malloc(b->value_bytes))) {
        return -1;
    }
    make_value(b->value, b->value_bytes, 0);
    for (i = 0; i < b->nkeys; i++) {
        snprintf(tmp, sizeof(tmp), KEY_FMT, i);
        memcpy(b->keys + i * KEY_LEN, tmp, KEY_LEN);
    }
    snprintf(b->nonce, sizeof(b->nonce), "%ld-%lld", (long)getpid(),
             (long long)now_ns());
    return 0;
}

/* Writes every key through the handle: the L2, and the L1 behind it. */
static int prefill(bench *b)
{
    tc_item items[FILL_BATCH];
    char *vals = malloc((size_t)FILL_BATCH * b->value_bytes);
    size_t i, j, n;
    int rc;

    if (!vals) {
        cli_err("bench: out of memory");
        return CLI_FAIL;
    }
    progress(b, "filling");
    for (i = 0; i < b->nkeys; i += n) {
        n = b->nkeys - i < FILL_BATCH ? b->nkeys - i : FILL_BATCH;
        memset(items, 0, sizeof(items));
        for (j = 0; j < n; j++) {
            make_value(vals + j * b->value_bytes, b->value_bytes, i + j);
            items[j].key = key_of(b, i + j);
            items[j].keylen = KEY_LEN;
            items[j].val = vals + j * b->value_bytes;
            items[j].len = b->value_bytes;
            items[j].ttl_ms = FILL_TTL_MS;
        }
        rc = tc_cache_mset(b->h, BENCH_NS, items, n);
        for (j = 0; rc == TC_OK && j < n; j++) {
            rc = items[j].status;
        }
        if (rc != TC_OK) {
            free(vals);
            return cli_fail(b->h, rc, "bench: filling the store");
        }
    }
    free(vals);
    return CLI_OK;
}

static int l2_keys(bench *b)
{
    size_t i;
    int rc;

    if (!(b->l2keys = malloc(b->nkeys * TC_KEY_MAX))) {
        cli_err("bench: out of memory");
        return CLI_FAIL;
    }
    for (i = 0; i < b->nkeys; i++) {
        rc = tc_cache_key(b->l2keys + i * TC_KEY_MAX, TC_KEY_MAX, b->h,
                          BENCH_NS, key_of(b, i), KEY_LEN);
        if (rc != TC_OK) {
            return cli_fail(b->h, rc, "bench");
        }
    }
    return CLI_OK;
}

/* Opens a handle sized for the run; l1_bytes 1 makes an L1 keep nothing. */
static int open_handle(bench *b, size_t l1_bytes)
{
    tc_options saved = b->ctx->opt;
    int rc;

    if (b->ctx->opt.pool_size <= 0) {
        b->ctx->opt.pool_size = b->threads > 8 ? b->threads : 8;
    }
    b->ctx->opt.l1_max_bytes = l1_bytes;
    rc = cli_open(b->ctx, &b->h);
    b->ctx->opt = saved;
    return rc;
}

static int num(const cJSON *o, const char *name, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

/* ---- output ------------------------------------------------------------- */

static double round_to(double v, double unit)
{
    return round(v / unit) * unit;
}

static double ratio(const result *a, const result *raw)
{
    return a->ran && raw->ran && raw->ops_per_sec > 0
               ? a->ops_per_sec / raw->ops_per_sec
               : -1;
}

static int print_json(const bench *b)
{
    int s, t;

    for (s = 0; s < NSCEN; s++) {
        for (t = 0; t < 2; t++) {
            const result *r = &b->res[s][t];
            char name[64];
            double vs = -1, veq = -1;
            cJSON *o;
            int bad;

            if (!r->ran) {
                continue;
            }
            scenario_name(name, sizeof(name), s, t ? r->threads : 1);
            if (s == S_L2_HIT || s == S_L2_BATCH) {
                vs = ratio(r,
                           &b->res[s == S_L2_HIT ? S_RAW_GET : S_RAW_PIPE][t]);
                veq = ratio(r, &b->res[s == S_L2_HIT ? S_RAW_GET_PTTL
                                                     : S_RAW_PIPE_PTTL][t]);
            }
            o = cJSON_CreateObject();
            bad = !o || !cJSON_AddStringToObject(o, "scenario", name) ||
                  !cJSON_AddNumberToObject(o, "ops_per_sec",
                                           round(r->ops_per_sec)) ||
                  !cJSON_AddNumberToObject(o, "p50_us",
                                           round_to(r->p50_us, 0.001)) ||
                  !cJSON_AddNumberToObject(o, "p99_us",
                                           round_to(r->p99_us, 0.001)) ||
                  !cJSON_AddNumberToObject(o, "threads", r->threads) ||
                  !cJSON_AddNumberToObject(o, "ops", (double)r->ops) ||
                  !cJSON_AddNumberToObject(o, "errors", (double)r->errors) ||
                  (scen[s].batch > 1 &&
                   !cJSON_AddNumberToObject(o, "batch", scen[s].batch)) ||
                  (vs >= 0 && !cJSON_AddNumberToObject(o, "vs_raw",
                                                       round_to(vs, 0.001))) ||
                  (veq >= 0 && !cJSON_AddNumberToObject(
                                   o, "vs_equal_work", round_to(veq, 0.001))) ||
                  (s == S_L1_HIT &&
                   !cJSON_AddNumberToObject(o, "ops_per_cpu_sec",
                                            round(r->ops_per_cpu_sec)));
            if (bad || cli_print_json_line(stdout, o) != 0) {
                cJSON_Delete(o);
                cli_err("bench: out of memory");
                return CLI_FAIL;
            }
            cJSON_Delete(o);
        }
    }
    return CLI_OK;
}

static void print_table(const bench *b, const char *kind, const char *store)
{
    static const struct {
        int lib, raw;
        const char *what;
        double target;
    } ratios[] = {
        {S_L2_HIT, S_RAW_GET, "l2_hit / raw_get", 0.9},
        {S_L2_BATCH, S_RAW_PIPE, "l2_batch16 / raw_pipe16", 0.8},
        {S_L2_HIT, S_RAW_GET_PTTL, "l2_hit / raw_get_pttl", 0},
        {S_L2_BATCH, S_RAW_PIPE_PTTL, "l2_batch16 / raw_pipe16_pttl", 0}};
    int s, t, header = 0;
    size_t i;

    printf("store %s (%s), %zu keys of %zu bytes\n\n", store, kind, b->nkeys,
           b->value_bytes);
    printf("%-26s %7s %11s %12s %9s %9s %7s\n", "scenario", "threads", "ops",
           "ops/s", "p50 us", "p99 us", "errors");
    for (s = 0; s < NSCEN; s++) {
        for (t = 0; t < 2; t++) {
            const result *r = &b->res[s][t];
            char name[64];

            if (!r->ran) {
                continue;
            }
            scenario_name(name, sizeof(name), s, t ? r->threads : 1);
            printf("%-26s %7d %11llu %12.0f %9.2f %9.2f %7llu\n", name,
                   r->threads, (unsigned long long)r->ops, r->ops_per_sec,
                   r->p50_us, r->p99_us, (unsigned long long)r->errors);
        }
    }
    for (i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
        for (t = 0; t < 2; t++) {
            double v =
                ratio(&b->res[ratios[i].lib][t], &b->res[ratios[i].raw][t]);

            if (v < 0) {
                continue;
            }
            if (!header) {
                printf("\nratio of ops/s (target)\n");
                header = 1;
            }
            printf("%-29s %-10s %5.2f  ", ratios[i].what,
                   t ? "threads" : "1 thread", v);
            if (ratios[i].target > 0) {
                printf("(>= %.1f)\n", ratios[i].target);
            } else {
                printf("(same protocol work)\n");
            }
        }
    }
}

/* ---- the command -------------------------------------------------------- */

enum {
    OPT_REQUESTS = 256,
    OPT_SECONDS,
    OPT_THREADS,
    OPT_KEYS,
    OPT_VALUE_BYTES,
    OPT_JSON,
    OPT_EQUAL_WORK,
    OPT_ROUNDS,
    OPT_BACKEND,
    OPT_TEXTS,
    OPT_HIT_RATIO
};

/* What to measure: the argument after `bench`. */
enum { SUBJECT_CACHE, SUBJECT_CLASSIFY };

/*
 * The options of both subjects in one table, since they may come before
 * the subject ("bench --json classify"); an option of the other subject
 * is refused once the subject is known. *subject receives the subject.
 */
static int parse_args(bench *b, bench_classify_opts *co, int *subject, int argc,
                      char **argv)
{
    static const struct option longs[] = {
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"value-bytes", required_argument, NULL, OPT_VALUE_BYTES},
        {"json", no_argument, NULL, OPT_JSON},
        {"equal-work", no_argument, NULL, OPT_EQUAL_WORK},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"model", required_argument, NULL, 'm'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"texts", required_argument, NULL, OPT_TEXTS},
        {"hit-ratio", required_argument, NULL, OPT_HIT_RATIO},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const cli_ctx *ctx = b->ctx;
    const char *cache_only = NULL, *classify_only = NULL;
    long long v;
    int opt;

    while ((opt = cli_getopt(ctx, argc, argv, "m:h", longs)) != -1) {
        switch (opt) {
        case OPT_REQUESTS:
            if (cli_parse_int(optarg, 1, 1000000000000LL, &b->requests) != 0) {
                return cli_usage(ctx, "--requests: \"%s\" is not a count > 0",
                                 optarg);
            }
            break;
        case OPT_SECONDS:
            if (cli_parse_number(optarg, &b->seconds) != 0 || b->seconds <= 0 ||
                b->seconds > 3600) {
                return cli_usage(ctx, "--seconds: \"%s\" is not in (0, 3600]",
                                 optarg);
            }
            cache_only = "--seconds";
            break;
        case OPT_THREADS:
            if (cli_parse_int(optarg, 1, MAX_THREADS, &v) != 0) {
                return cli_usage(ctx, "--threads: \"%s\" is not in 1-%d",
                                 optarg, MAX_THREADS);
            }
            b->threads = (int)v;
            break;
        case OPT_KEYS:
            if (cli_parse_int(optarg, 1, MAX_KEYS, &v) != 0) {
                return cli_usage(ctx, "--keys: \"%s\" is not in 1-%lld", optarg,
                                 MAX_KEYS);
            }
            b->nkeys = (size_t)v;
            cache_only = "--keys";
            break;
        case OPT_VALUE_BYTES:
            if (cli_parse_int(optarg, 1, MAX_VALUE_BYTES, &v) != 0) {
                return cli_usage(ctx, "--value-bytes: \"%s\" is not in 1-%lld",
                                 optarg, MAX_VALUE_BYTES);
            }
            b->value_bytes = (size_t)v;
            cache_only = "--value-bytes";
            break;
        case OPT_JSON:
            b->json = 1;
            break;
        case OPT_EQUAL_WORK:
            b->equal_work = 1;
            cache_only = "--equal-work";
            break;
        case OPT_ROUNDS:
            if (cli_parse_int(optarg, 1, 1000, &v) != 0) {
                return cli_usage(ctx, "--rounds: \"%s\" is not in 1-1000",
                                 optarg);
            }
            b->rounds = (int)v;
            cache_only = "--rounds";
            break;
        case 'm':
            co->model = optarg;
            classify_only = "--model";
            break;
        case OPT_BACKEND:
            if (strncmp(optarg, "exec:", 5) != 0 || !optarg[5]) {
                return cli_usage(ctx, "--backend: \"%s\" is not exec:COMMAND",
                                 optarg);
            }
            co->backend = optarg + 5;
            classify_only = "--backend";
            break;
        case OPT_TEXTS:
            co->texts = optarg;
            classify_only = "--texts";
            break;
        case OPT_HIT_RATIO:
            if (cli_parse_number(optarg, &co->hit_ratio) != 0 ||
                co->hit_ratio < 0 || co->hit_ratio > 1) {
                return cli_usage(ctx, "--hit-ratio: \"%s\" is not in 0-1",
                                 optarg);
            }
            classify_only = "--hit-ratio";
            break;
        case 'h':
            cli_help(ctx);
            return -1; /* done, successfully */
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 1) {
        return cli_usage(ctx, "expected what to measure: bench cache or "
                              "bench classify");
    }
    if (strcmp(argv[optind], "cache") == 0) {
        *subject = SUBJECT_CACHE;
        if (classify_only) {
            return cli_usage(ctx, "%s is an option of bench classify",
                             classify_only);
        }
    } else if (strcmp(argv[optind], "classify") == 0) {
        *subject = SUBJECT_CLASSIFY;
        if (cache_only) {
            return cli_usage(ctx, "%s is an option of bench cache", cache_only);
        }
        if (co->model && co->backend) {
            return cli_usage(ctx, "--model and --backend: one or the other");
        }
        if (b->requests > BENCH_CLASSIFY_MAX_REQUESTS) {
            return cli_usage(ctx, "--requests: at most %lld for bench classify",
                             BENCH_CLASSIFY_MAX_REQUESTS);
        }
        co->requests = b->requests ? b->requests : BENCH_CLASSIFY_REQUESTS;
        co->threads = b->threads;
        co->json = b->json;
        co->progress = b->progress;
    } else {
        return cli_usage(ctx, "cannot measure \"%s\" (only: cache, classify)",
                         argv[optind]);
    }
    return CLI_OK;
}

/* Everything after the arguments; b->h is closed by the caller. */
static int run(bench *b)
{
    char err[256], store[512] = "?";
    const char *kind;
    cJSON *cfg, *st;
    size_t l1;
    int rc, ran_raw = 0, failed = 0;

    /*
     * The L1 of the first handle holds every key twice over, so l1_hit
     * measures hits, not evictions; 128 covers an entry's bookkeeping.
     */
    l1 = 2 * b->nkeys * (b->value_bytes + 128);
    l1 = l1 > ((size_t)64 << 20) ? l1 : (size_t)64 << 20;
    l1 = l1 > 256 * (b->value_bytes + 128) ? l1 : 256 * (b->value_bytes + 128);
    if ((rc = open_handle(b, l1)) != CLI_OK) {
        return rc;
    }
    if ((rc = tc_cache_ping(b->h, NULL)) != TC_OK) {
        return cli_fail(b->h, rc, "bench");
    }
    kind = tc_cache_store_kind(b->h);
    if (!(cfg = cli_config_tree(b->h))) {
        return CLI_FAIL;
    }
    st = cJSON_GetObjectItemCaseSensitive(cfg, "store");
    snprintf(store, sizeof(store), "%s",
             cJSON_IsString(st) ? st->valuestring : "?");
    b->connect_ms = num(cfg, "connect_timeout_ms", 250);
    b->command_ms = num(cfg, "command_timeout_ms", 250);
    if (strcmp(kind, "redis") == 0) {
        if (bench_target_resolve(&b->rt, b->ctx, cfg, err, sizeof(err)) == 0) {
            ran_raw = 1;
        } else {
            cli_err("bench: raw_* scenarios skipped: %s", err);
        }
    }
    cJSON_Delete(cfg);

    if (make_keys(b) != 0) {
        cli_err("bench: out of memory");
        return CLI_FAIL;
    }
    if ((rc = prefill(b)) != CLI_OK) {
        return rc;
    }
    if (ran_raw && (rc = l2_keys(b)) != CLI_OK) {
        return rc;
    }
    failed |= run_with_peers(b, S_L1_HIT, 0, 0, 0);
    failed |= run_with_peers(b, S_MISS_SET, 0, 0, 0);
    tc_cache_close(b->h);
    b->h = NULL;
    if (strcmp(kind, "memory") != 0) {
        if ((rc = open_handle(b, 1)) != CLI_OK) {
            return rc;
        }
        failed |=
            run_with_peers(b, S_L2_HIT, ran_raw, S_RAW_GET, S_RAW_GET_PTTL);
        failed |=
            run_with_peers(b, S_L2_BATCH, ran_raw, S_RAW_PIPE, S_RAW_PIPE_PTTL);
    }
    if (b->progress) {
        fputs("\r\033[K", stderr);
    }
    if (b->json) {
        rc = print_json(b);
    } else {
        print_table(b, kind, store);
        rc = CLI_OK;
    }
    /* a scenario that could not run is most often a lost connection */
    return rc == CLI_OK && failed ? CLI_UNAVAIL : rc;
}

int cli_cmd_bench(cli_ctx *ctx, int argc, char **argv)
{
    bench b;
    bench_classify_opts co;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int rc, subject = SUBJECT_CACHE;

    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    b.seconds = 0.3;
    b.rounds = 1;
    b.threads =
        cores > 0 ? (int)(cores < MAX_THREADS ? cores : MAX_THREADS) : 1;
    b.nkeys = 100000;
    b.value_bytes = 200;
    b.progress = isatty(STDERR_FILENO);
    memset(&co, 0, sizeof(co));
    co.hit_ratio = BENCH_CLASSIFY_HIT_RATIO;
    if ((rc = parse_args(&b, &co, &subject, argc, argv)) != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (subject == SUBJECT_CLASSIFY) {
        return bench_classify_run(ctx, &co);
    }
    rc = run(&b);
    if (b.progress) {
        fputs("\r\033[K", stderr);
    }
    tc_cache_close(b.h);
    free(b.keys);
    free(b.l2keys);
    free(b.value);
    bench_target_free(&b.rt);
    return rc;
}
