/*
 * bench_classify.c - `tutorcache bench classify`: how fast texts are
 * classified through the cache when they are all new (cold), all seen
 * (warm) or a mix, on one thread and on N threads sharing one handle and
 * one classifier.
 *
 * Each scenario's stream of texts is decided before its clock starts
 * (perf_stream: an exact number of repeats, shuffled by a fixed seed), so
 * the timed loop only classifies, and the hits it reports are counted from
 * each result's source, not assumed from the stream: a repeat that the
 * cache failed to answer shows as a miss.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_classify.h"
#include "bench/perf_hist.h"
#include "bench/perf_work.h"

enum { SC_COLD, SC_WARM, SC_MIXED, NSC };

static const char *const sc_names[NSC] = {"cold", "warm", "mixed"};

/* Sources are tc_source values, 1 to 4; slot 0 stays unused. */
#define NSOURCES 5

/* One scenario's results, on one thread or on N. */
typedef struct sc_result {
    int ran;
    int threads;
    uint64_t requests, hits, errors;
    uint64_t src[NSOURCES];
    int first_error; /* the library's code of the first failure */
    int64_t ns;      /* from the first thread's start to the last's end */
    int64_t cpu_ns;  /* the CPU time of its threads, summed */
    perf_hist *h;    /* per-call latencies */
} sc_result;

typedef struct bc {
    cli_ctx *ctx;
    const bench_classify_opts *o;
    perf_classifier pc;
    perf_texts texts;
    /* every text made so far, text number i at arena + off[i] */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *off;
    size_t ntexts, off_cap;
    size_t seen; /* texts numbered below this have been classified */
    sc_result res[NSC][2];
    /* the gate the threads of a run wait at, so they start together */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go; /* 1: run; -1: give up (a thread could not be started) */
} bc;

typedef struct bc_worker {
    bc *b;
    const uint32_t *idx;
    size_t n;
    int id, nthreads;
    uint64_t hits, errors, src[NSOURCES];
    int first_error;
    int64_t start, end, cpu_ns;
    perf_hist *h;
} bc_worker;

/* ---- texts -------------------------------------------------------------- */

/* Makes the texts numbered below `upto` that do not exist yet. */
static int make_texts(bc *b, size_t upto)
{
    size_t max = b->texts.max + 1;

    if (upto > b->off_cap) {
        size_t cap = upto > 2 * b->off_cap ? upto : 2 * b->off_cap;
        size_t *no = realloc(b->off, cap * sizeof(*no));

        if (!no) {
            return -1;
        }
        b->off = no;
        b->off_cap = cap;
    }
    for (; b->ntexts < upto; b->ntexts++) {
        if (b->arena_cap - b->arena_len < max) {
            size_t cap = 2 * b->arena_cap + max + 65536;
            char *na = realloc(b->arena, cap);

            if (!na) {
                return -1;
            }
            b->arena = na;
            b->arena_cap = cap;
        }
        b->off[b->ntexts] = b->arena_len;
        b->arena_len +=
            perf_text(&b->texts, b->ntexts, b->arena + b->arena_len) + 1;
    }
    return 0;
}

/* ---- the timed loop ----------------------------------------------------- */

static void *worker_main(void *arg)
{
    bc_worker *w = arg;
    bc *b = w->b;
    tc_result *r;
    size_t i;
    int64_t t0, t1, cpu0;
    int rc, go;

    pthread_mutex_lock(&b->mu);
    while ((go = b->go) == 0) {
        pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    if (go < 0) {
        return NULL;
    }
    /* CPU time inside the wall-clock span, so that it cannot exceed it */
    w->start = perf_now_ns();
    cpu0 = perf_cpu_ns();
    /* thread t takes requests t, t + N, ...: no shared counter to fight
     * over, and together the threads send the whole stream */
    for (i = (size_t)w->id; i < w->n; i += (size_t)w->nthreads) {
        const char *text = b->arena + b->off[w->idx[i]];
        size_t len = strlen(text);

        t0 = perf_now_ns();
        rc = tc_classify(&r, b->pc.c, text, len);
        t1 = perf_now_ns();
        perf_hist_add(w->h, (uint64_t)(t1 - t0));
        if (rc == TC_OK) {
            w->src[r->source < NSOURCES ? r->source : 0]++;
            w->hits += (uint64_t)perf_is_hit(r->source);
        } else {
            w->errors++;
            w->first_error = w->first_error ? w->first_error : rc;
        }
        tc_result_free(r);
    }
    w->cpu_ns = perf_cpu_ns() - cpu0;
    w->end = perf_now_ns();
    return NULL;
}

/*
 * Classifies the texts of a warm stream once, untimed, before the clock
 * starts, so that the timed pass meets each one's cache entry as a
 * repeated request does: in memory, and noted as having no correction
 * (a first hit since the last L1 insert of a memory: cache looks the
 * correction up and leaves that note). Without it, the run of a warm
 * scenario that came second found the notes the first run had left, and
 * the two did not do the same work. Failures are the timed pass's to
 * count.
 */
static void prime(bc *b, const uint32_t *idx, size_t n)
{
    tc_result *r;
    size_t i;

    for (i = 0; i < n; i++) {
        const char *text = b->arena + b->off[idx[i]];

        if (tc_classify(&r, b->pc.c, text, strlen(text)) == TC_OK) {
            tc_result_free(r);
        }
    }
}

static void progress(const bc *b, const char *name)
{
    if (b->o->progress) {
        fprintf(stderr, "\rtutorcache: bench: %-28s\033[K", name);
    }
}

static void scenario_name(char *buf, size_t n, int s, int threads)
{
    if (threads > 1) {
        snprintf(buf, n, "%s_threads%d", sc_names[s], threads);
    } else {
        snprintf(buf, n, "%s", sc_names[s]);
    }
}

/*
 * Runs scenario s on n threads into res. Returns 0, or -1 after a message
 * (out of memory; threads that cannot be started).
 */
static int run_scenario(bc *b, int s, int n, sc_result *res)
{
    static const double ratio[NSC] = {0, 1, 0};
    size_t count = (size_t)b->o->requests, nnew = 0;
    uint32_t *idx = malloc(count * sizeof(*idx));
    bc_worker *ws = calloc((size_t)n, sizeof(*ws));
    pthread_t *tids = calloc((size_t)n, sizeof(*tids));
    int64_t start = INT64_MAX, end = 0;
    char name[64];
    int i, started, rc = -1;

    scenario_name(name, sizeof(name), s, n);
    progress(b, name);
    res->h = perf_hist_new();
    if (!idx || !ws || !tids || !res->h) {
        goto oom;
    }
    /* the seed depends on the scenario only: every run, the same stream */
    perf_stream(idx, count, s == SC_MIXED ? b->o->hit_ratio : ratio[s], b->seen,
                0, 0x5EED0000ULL + (uint64_t)(s * 2 + (n > 1)), &nnew);
    if (make_texts(b, b->seen + nnew) != 0) {
        goto oom;
    }
    if (s == SC_WARM) {
        prime(b, idx, count);
    }
    for (i = 0; i < n; i++) {
        ws[i] =
            (bc_worker){.b = b, .idx = idx, .n = count, .id = i, .nthreads = n};
        if (!(ws[i].h = perf_hist_new())) {
            goto oom;
        }
    }
    b->go = 0;
    for (started = 0; started < n; started++) {
        if (pthread_create(&tids[started], NULL, worker_main, &ws[started]) !=
            0) {
            break;
        }
    }
    pthread_mutex_lock(&b->mu);
    b->go = started == n ? 1 : -1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
    }
    if (started < n) {
        cli_err("bench: %s: cannot start %d threads", name, n);
        goto done;
    }
    b->seen += nnew;
    for (i = 0; i < n; i++) {
        bc_worker *w = &ws[i];
        int k;

        start = w->start < start ? w->start : start;
        end = w->end > end ? w->end : end;
        res->hits += w->hits;
        res->errors += w->errors;
        res->cpu_ns += w->cpu_ns;
        for (k = 0; k < NSOURCES; k++) {
            res->src[k] += w->src[k];
        }
        if (!res->first_error) {
            res->first_error = w->first_error;
        }
        perf_hist_merge(res->h, w->h);
    }
    res->ran = 1;
    res->threads = n;
    res->requests = count;
    res->ns = end > start ? end - start : 1;
    rc = 0;
    goto done;
oom:
    cli_err("bench: out of memory");
done:
    for (i = 0; ws && i < n; i++) {
        perf_hist_free(ws[i].h);
    }
    free(ws);
    free(tids);
    free(idx);
    return rc;
}

/* ---- output ------------------------------------------------------------- */

static double round_to(double v, double unit)
{
    return round(v / unit) * unit;
}

static double ops_per_sec(const sc_result *r)
{
    return (double)r->requests * 1e9 / (double)r->ns;
}

/* Requests per second of its threads' CPU time: what the threads cost
 * each other, whatever else the machine runs. */
static double ops_per_cpu_sec(const sc_result *r)
{
    return r->cpu_ns > 0 ? (double)r->requests * 1e9 / (double)r->cpu_ns : 0;
}

static double hit_rate(const sc_result *r)
{
    return r->requests ? (double)r->hits / (double)r->requests : 0;
}

static double us(const sc_result *r, double q)
{
    return round_to(perf_hist_quantile(r->h, q) / 1000, 0.01);
}

/* One scenario as a JSON object; full adds what only JSON Lines carry. */
static cJSON *scenario_json(const sc_result *r, const char *name, int full)
{
    cJSON *o = cJSON_CreateObject(), *src;
    int k, bad;

    bad =
        !o || (full && !cJSON_AddStringToObject(o, "scenario", name)) ||
        !cJSON_AddNumberToObject(o, "threads", r->threads) ||
        !cJSON_AddNumberToObject(o, "requests", (double)r->requests) ||
        !cJSON_AddNumberToObject(o, "hits", (double)r->hits) ||
        !cJSON_AddNumberToObject(o, "errors", (double)r->errors) ||
        !cJSON_AddNumberToObject(o, "ops_per_sec", round(ops_per_sec(r))) ||
        !cJSON_AddNumberToObject(o, "ops_per_cpu_sec",
                                 round(ops_per_cpu_sec(r))) ||
        !cJSON_AddNumberToObject(o, "hit_rate", hit_rate(r)) ||
        !cJSON_AddNumberToObject(o, "p50_us", us(r, 0.50)) ||
        !cJSON_AddNumberToObject(o, "p95_us", us(r, 0.95)) ||
        !cJSON_AddNumberToObject(o, "p99_us", us(r, 0.99)) ||
        !cJSON_AddNumberToObject(
            o, "max_us", round_to((double)perf_hist_max(r->h) / 1000, 0.01)) ||
        (full &&
         !cJSON_AddNumberToObject(o, "mean_us",
                                  round_to(perf_hist_mean(r->h) / 1000, 0.01)));
    if (!bad && full) {
        bad = !(src = cJSON_AddObjectToObject(o, "sources"));
        for (k = 1; !bad && k < NSOURCES; k++) {
            bad = !cJSON_AddNumberToObject(src, tc_source_name((tc_source)k),
                                           (double)r->src[k]);
        }
    }
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static double speedup(const bc *b, int t)
{
    const sc_result *cold = &b->res[SC_COLD][t], *warm = &b->res[SC_WARM][t];

    return cold->ran && warm->ran ? ops_per_sec(warm) / ops_per_sec(cold) : 0;
}

/* The summary: the speedups and what was measured. */
static cJSON *summary_json(const bc *b, int full)
{
    const sc_result *cold = &b->res[SC_COLD][0], *warm = &b->res[SC_WARM][0];
    double p50w = perf_hist_quantile(warm->h, 0.5);
    cJSON *o = cJSON_CreateObject();
    int bad;

    bad =
        !o || (full && !cJSON_AddStringToObject(o, "scenario", "summary")) ||
        !cJSON_AddNumberToObject(o, "speedup", round_to(speedup(b, 0), 0.01)) ||
        !cJSON_AddNumberToObject(
            o, "speedup_p50",
            p50w > 0 ? round_to(perf_hist_quantile(cold->h, 0.5) / p50w, 0.01)
                     : 0) ||
        (b->res[SC_COLD][1].ran &&
         !cJSON_AddNumberToObject(o, "speedup_threads",
                                  round_to(speedup(b, 1), 0.01))) ||
        !cJSON_AddNumberToObject(o, "hit_ratio", b->o->hit_ratio) ||
        !cJSON_AddNumberToObject(o, "threads", b->o->threads) ||
        !cJSON_AddStringToObject(o, "store", tc_cache_store_kind(b->pc.h)) ||
        !cJSON_AddStringToObject(o, "classifier", b->pc.what) ||
        !cJSON_AddStringToObject(o, "texts",
                                 b->o->texts ? b->o->texts : "built-in");
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Prints o as one JSON line and deletes it; -1 when o is NULL (out of
 * memory) or the line was not written. */
static int print_line_free(cJSON *o)
{
    int rc = o && cli_print_json_line(stdout, o) == 0 ? 0 : -1;

    cJSON_Delete(o);
    return rc;
}

static int print_json(const bc *b)
{
    char name[64];
    int s, t;

    for (t = 0; t < 2; t++) {
        for (s = 0; s < NSC; s++) {
            const sc_result *r = &b->res[s][t];

            scenario_name(name, sizeof(name), s, r->threads);
            if (r->ran && print_line_free(scenario_json(r, name, 1)) != 0) {
                return -1;
            }
        }
    }
    return print_line_free(summary_json(b, 1));
}

/* The summary's lines, then a row per scenario. */
static int print_table(const bc *b)
{
    cJSON *root = summary_json(b, 0), *rows, *o;
    char name[64];
    int s, t;

    if (!root || !(rows = cJSON_AddObjectToObject(root, "scenario"))) {
        cJSON_Delete(root);
        return -1;
    }
    for (t = 0; t < 2; t++) {
        for (s = 0; s < NSC; s++) {
            const sc_result *r = &b->res[s][t];

            if (!r->ran) {
                continue;
            }
            scenario_name(name, sizeof(name), s, r->threads);
            if (!(o = scenario_json(r, name, 0))) {
                cJSON_Delete(root);
                return -1;
            }
            cJSON_AddItemToObject(rows, name, o);
        }
    }
    cli_print_table(stdout, root);
    cJSON_Delete(root);
    return 0;
}

/* ---- the command -------------------------------------------------------- */

static int run(bc *b)
{
    const bench_classify_opts *o = b->o;
    size_t per_text = 1024; /* an L1 entry of a result, bookkeeping included */
    int s, t, rc;

    if ((rc = perf_texts_init(&b->texts, o->texts, "bench")) != CLI_OK) {
        return rc;
    }
    /* an L1 that keeps every text of the run: warm measures hits, not
     * evictions (each scenario adds at most `requests` new texts) */
    rc = perf_classifier_open(&b->pc, b->ctx, "bench", o->model, o->backend,
                              o->threads,
                              (size_t)o->requests * 2 * NSC * per_text);
    if (rc != CLI_OK) {
        return rc;
    }
    /* a scenario's one-thread and N-thread runs back to back: repeats
     * draw from every text seen, so with the other scenarios between them
     * (cold on N threads adds `requests` texts) the N-thread warm run read
     * from twice as many texts as the one-thread run, missed the CPU's
     * caches more often and seemed to scale worse than it does */
    for (s = 0; s < NSC; s++) {
        for (t = 0; t < (o->threads > 1 ? 2 : 1); t++) {
            if (run_scenario(b, s, t ? o->threads : 1, &b->res[s][t]) != 0) {
                return CLI_FAIL;
            }
        }
    }
    if (o->progress) {
        fputs("\r\033[K", stderr);
    }
    if ((o->json ? print_json(b) : print_table(b)) != 0) {
        cli_err("bench: out of memory");
        return CLI_FAIL;
    }
    for (t = 0; t < 2; t++) {
        for (s = 0; s < NSC; s++) {
            const sc_result *r = &b->res[s][t];

            if (r->errors) {
                /* the numbers are out; the exit code says they are not
                 * the cache's alone */
                cli_err("bench: %llu of %llu classifications failed (%s: "
                        "%s)",
                        (unsigned long long)r->errors,
                        (unsigned long long)r->requests,
                        tc_error_name(r->first_error),
                        tc_strerror(r->first_error));
                return CLI_FAIL;
            }
        }
    }
    return CLI_OK;
}

int bench_classify_run(cli_ctx *ctx, const bench_classify_opts *o)
{
    bc b;
    int rc, s, t;

    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    b.o = o;
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    rc = run(&b);
    if (o->progress) {
        fputs("\r\033[K", stderr);
    }
    for (s = 0; s < NSC; s++) {
        for (t = 0; t < 2; t++) {
            perf_hist_free(b.res[s][t].h);
        }
    }
    perf_classifier_close(&b.pc);
    perf_texts_free(&b.texts);
    free(b.arena);
    free(b.off);
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);
    return rc;
}
