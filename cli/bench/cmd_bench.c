/*
 * cmd_bench.c - `tutorcache bench cache`: throughput and latency of the
 * cache against the configured store, and, with Redis, of plain hiredis
 * on the same keys and values (bench_raw.c), so the library's overhead
 * shows as a ratio: the set-up, the command line and the output here, the
 * scenarios' runs in cache_run.c. The command line of `bench classify` is
 * parsed here too; its scenarios live in bench_classify.c.
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

#include "bench/cache_bench.h"
#include "answerer.h"
#include "exec_backend.h"

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
    "  warm         every text classified before: hits (the stream is\n"
    "               classified once, untimed, before the clock starts)\n"
    "  mixed        a share R (--hit-ratio) of the texts repeat earlier ones\n"
    "Each runs on one thread, then at once on N threads sharing one handle\n"
    "(and one classifier): suffix _threadsN, skipped when N is 1. Both runs\n"
    "repeat texts drawn from the same texts seen, so their rates compare.\n"
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
    "\"ops_per_sec\",\"ops_per_cpu_sec\",\"hit_rate\",\"p50_us\","
    "\"p95_us\",\"p99_us\",\n"
    "\"max_us\",\"mean_us\",\"sources\":{\"l1\",\"l2\",\"model\","
    "\"feedback\"}}, then\n"
    "{\"scenario\":\"summary\",\"speedup\"} (warm ops/s over cold's; "
    "speedup_threads\n"
    "on N threads). ops_per_cpu_sec is requests per second of the threads'\n"
    "CPU time, which a busy machine's other work does not lower.\n"
    "Hits are counted from each result's source (l1, l2, feedback), not\n"
    "assumed. The streams are the same on every run (a fixed seed): mixed\n"
    "repeats exactly round(N x R) texts. Texts end with a tag unique to the\n"
    "run, \"(run 1a2b3c4d)\", so cold stays cold on a store earlier runs\n"
    "filled; answers stay in \"intents\" for its TTL.\n"
    "\n"
    "Progress goes to stderr when it is a terminal. On a small VM, pin the\n"
    "client and redis-server to one CPU (taskset -c 0): bench/run.sh does.\n"
    "\n"
    "Examples:\n"
    "  taskset -c 0 tutorcache --store redis://127.0.0.1 bench cache --json\n"
    "  tutorcache --store memory: bench classify --model intents.tcm\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage (also: no model, a model or texts file that cannot be opened)\n"
    "  3  store unreachable, lost or TLS refused\n"
    "  4  a damaged model or a texts file without a usable line\n"
    "  5  other (also: classifications failed; the results are printed "
    "first)\n";

/* ---- setting up --------------------------------------------------------- */

static int make_keys(bench *b)
{
    char tmp[32];
    size_t i;

    if (!(b->keys = malloc(b->nkeys * KEY_LEN)) ||
        !(b->value = malloc(b->value_bytes))) {
        return -1;
    }
    cb_make_value(b->value, b->value_bytes, 0);
    for (i = 0; i < b->nkeys; i++) {
        snprintf(tmp, sizeof(tmp), KEY_FMT, i);
        memcpy(b->keys + i * KEY_LEN, tmp, KEY_LEN);
    }
    snprintf(b->nonce, sizeof(b->nonce), "%ld-%lld", (long)getpid(),
             (long long)cb_now_ns());
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
    cb_progress(b, "filling");
    for (i = 0; i < b->nkeys; i += n) {
        n = b->nkeys - i < FILL_BATCH ? b->nkeys - i : FILL_BATCH;
        memset(items, 0, sizeof(items));
        for (j = 0; j < n; j++) {
            cb_make_value(vals + j * b->value_bytes, b->value_bytes, i + j);
            items[j].key = cb_key_of(b, i + j);
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
                          BENCH_NS, cb_key_of(b, i), KEY_LEN);
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
            cb_scenario_name(name, sizeof(name), s, t ? r->threads : 1);
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
            cb_scenario_name(name, sizeof(name), s, t ? r->threads : 1);
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
        CLI_ANSWERER_LONGS,
        {"texts", required_argument, NULL, OPT_TEXTS},
        {"hit-ratio", required_argument, NULL, OPT_HIT_RATIO},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const cli_ctx *ctx = b->ctx;
    const char *cache_only = NULL, *classify_only = NULL;
    cli_answerer a;
    long long v;
    int opt, rc;

    cli_answerer_init(&a, 0);

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
            if ((rc = cli_opt_int(ctx, "--threads", optarg, 1, MAX_THREADS,
                                  &v)) != CLI_OK) {
                return rc;
            }
            b->threads = (int)v;
            break;
        case OPT_KEYS:
            if ((rc = cli_opt_int(ctx, "--keys", optarg, 1, MAX_KEYS, &v)) !=
                CLI_OK) {
                return rc;
            }
            b->nkeys = (size_t)v;
            cache_only = "--keys";
            break;
        case OPT_VALUE_BYTES:
            if ((rc = cli_opt_int(ctx, "--value-bytes", optarg, 1,
                                  MAX_VALUE_BYTES, &v)) != CLI_OK) {
                return rc;
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
            if ((rc = cli_opt_int(ctx, "--rounds", optarg, 1, 1000, &v)) !=
                CLI_OK) {
                return rc;
            }
            b->rounds = (int)v;
            cache_only = "--rounds";
            break;
        case OPT_TEXTS:
            co->texts = optarg;
            classify_only = "--texts";
            break;
        case OPT_HIT_RATIO:
            if ((rc = cli_opt_share(ctx, "--hit-ratio", optarg,
                                    &co->hit_ratio)) != CLI_OK) {
                return rc;
            }
            classify_only = "--hit-ratio";
            break;
        default: /* -m, --backend; -h: done, successfully */
            if ((rc = cli_answerer_option(ctx, opt, &a)) != CLI_OK) {
                return rc;
            }
            classify_only = opt == 'm' ? "--model" : "--backend";
            break;
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
        if ((rc = cli_answerer_check(ctx, &a)) != CLI_OK) {
            return rc;
        }
        co->model = a.model;
        co->backend = a.backend;
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
    failed |= cb_run_with_peers(b, S_L1_HIT, 0, 0, 0);
    failed |= cb_run_with_peers(b, S_MISS_SET, 0, 0, 0);
    tc_cache_close(b->h);
    b->h = NULL;
    if (strcmp(kind, "memory") != 0) {
        if ((rc = open_handle(b, 1)) != CLI_OK) {
            return rc;
        }
        failed |=
            cb_run_with_peers(b, S_L2_HIT, ran_raw, S_RAW_GET, S_RAW_GET_PTTL);
        failed |= cb_run_with_peers(b, S_L2_BATCH, ran_raw, S_RAW_PIPE,
                                    S_RAW_PIPE_PTTL);
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
