/*
 * cache_bench.h - what the two files of `tutorcache bench cache` share:
 * the scenarios, the run's state and its results (cache_run.c runs the
 * scenarios, cmd_bench.c sets up, parses and prints).
 */
#ifndef TC_CLI_CACHE_BENCH_H
#define TC_CLI_CACHE_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "bench/bench_classify.h"
#include "bench/bench_raw.h"
#include "bench/perf_hist.h"
#include "cli.h"

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

typedef struct cb_scen {
    const char *name;
    int batch; /* keys per call */
    int raw;   /* a hiredis peer; 2: one sending PTTL too (--equal-work) */
} cb_scen;
extern const cb_scen scen[NSCEN];

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

/* The monotonic clock in ns. */
int64_t cb_now_ns(void);
/* Key material of key i (KEY_LEN bytes, not NUL-terminated). */
const char *cb_key_of(const bench *b, size_t i);
/* A JSON object of n bytes (NUL included) that differs by id. */
void cb_make_value(char *buf, size_t n, size_t id);
/* "l1_hit" or "l1_hit_threads4". */
void cb_scenario_name(char *buf, size_t n, int s, int threads);
/* A progress line on stderr (a terminal only). */
void cb_progress(const bench *b, const char *name);
/*
 * Runs scenario lib, on one thread then on b->threads, each round in turn
 * with its raw peers (peer, and equal when --equal-work) when ran_raw.
 * Returns nonzero when a scenario could not run.
 */
int cb_run_with_peers(bench *b, int lib, int ran_raw, int peer, int equal);

#endif
