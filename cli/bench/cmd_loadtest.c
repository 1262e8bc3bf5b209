/*
 * cmd_loadtest.c - `tutorcache loadtest`: open-loop load at a target rate,
 * in process through the library or against the example HTTP service on
 * this machine, with a live line each second and a final summary.
 *
 * The schedule is fixed before the first request: request i is due at
 * t0 + i / rps, and exactly round(rps * duration) requests are due. Each
 * worker takes the next request, sleeps until it is due if it is early,
 * sends it, and records its latency from the time it was due, not from
 * the time it was sent. A closed-loop tester (send, wait, send) measures
 * from the send, so when the target stalls for a second it simply sends
 * nothing during that second and the stall shows up as one slow request
 * (coordinated omission); here the requests that should have gone out
 * during the stall are late, and each one's lateness is in its latency.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "cli.h"
#include "bench/http_client.h"
#include "bench/perf_hist.h"
#include "bench/perf_work.h"

const char cli_help_loadtest[] =
    "Usage: tutorcache loadtest --rps N --duration S [options]\n"
    "\n"
    "Classify texts at a steady rate, open-loop: request i is due at start\n"
    "+ i/N seconds whether or not earlier ones were answered, and its\n"
    "latency counts from that due time, so a stall shows in every request\n"
    "it delayed (no coordinated omission). Exactly round(N x S) requests\n"
    "are due. By default they go through the library, with the configured\n"
    "store and a model as in 'tutorcache classify'; with --url, to the\n"
    "example HTTP service (POST /api/v1/intents/classify) on this machine,\n"
    "or with --allow-remote on any host.\n"
    "\n"
    "Options:\n"
    "  --rps N                 target requests per second (up to 1000000)\n"
    "  --duration S            seconds of load (up to 3600); N x S is at "
    "most\n"
    "                          5000000 requests\n"
    "  --threads N             workers, each taking the next due request\n"
    "                          (default 8, at most 256); with --url each\n"
    "                          keeps one connection open\n"
    "  --texts FILE            texts, one per line (default: built-in)\n"
    "  --hit-ratio R           share of requests that repeat an earlier "
    "text\n"
    "                          (0-1, default 0.8; fixed seed)\n"
    "  -m, --model MODEL       in process: the model file (default:\n"
    "                          TUTORCACHE_MODEL, the config's \"model\")\n"
    "  --backend exec:COMMAND  in process: classify with COMMAND\n"
    "  --url URL               http://127.0.0.1:PORT, http://[::1]:PORT,\n"
    "                          http://localhost:PORT or unix:/PATH.sock; "
    "other\n"
    "                          hosts are refused without --allow-remote\n"
    "  --allow-remote          let --url name any host (looked up by name):\n"
    "                          a load test sends a flood of requests, so it\n"
    "                          must be asked for by name\n"
    "  --json                  the summary as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Every second a line on stderr: requests sent, answers per second,\n"
    "errors, and the hit rate, p50 and p99 of that second. Then the summary\n"
    "on stdout; with --json:\n"
    "  {\"target\",\"target_rps\",\"achieved_rps\",\"duration_s\","
    "\"elapsed_s\",\"threads\",\n"
    "   \"requests\",\"sent\",\"ok\",\"errors\",\"unsent\",\"hits\","
    "\"hit_rate\",\"p50_ms\",\n"
    "   \"p95_ms\",\"p99_ms\",\"p999_ms\",\"max_ms\",\"mean_ms\","
    "\"service_p50_ms\",\n"
    "   \"service_p99_ms\"}\n"
    "achieved_rps is ok answers over the longer of the duration and the\n"
    "time to the last answer; hit_rate is hits over ok, from each answer's\n"
    "source (l1, l2, feedback). service_* count from the actual send\n"
    "instead of the due time. A request not sent 10 s after the schedule's\n"
    "end is unsent; an HTTP request fails after 5 s. Texts end with a tag\n"
    "unique to the run, so new texts are new to the store.\n"
    "\n"
    "Examples:\n"
    "  tutorcache loadtest --rps 500 --duration 10 --model intents.tcm\n"
    "  tutorcache loadtest --rps 200 --duration 30 --url "
    "http://127.0.0.1:8080 --json\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage (also: a URL not on this machine without --allow-remote, no\n"
    "     model)\n"
    "  3  store unreachable or TLS refused, or no request could connect to\n"
    "     the URL\n"
    "  4  a damaged model or a texts file without a usable line\n"
    "  5  other (also: some requests failed; the summary is printed first)\n";

#define ENDPOINT "/api/v1/intents/classify"
#define DEFAULT_THREADS 8
#define MAX_THREADS 256
#define MAX_RPS 1000000.0
#define MAX_DURATION 3600.0
#define MAX_REQUESTS 5000000LL
#define HTTP_TIMEOUT_MS 5000
/* How late a request may still go out after the schedule's end. */
#define GRACE_NS 10000000000LL
/*
 * The last stretch before a due time is spent polling the clock: a sleep
 * wakes tens of microseconds late, and that lateness would be counted in
 * the latency of a call that itself takes ten.
 */
#define SPIN_NS 50000
#define NS_PER_S 1000000000LL

typedef struct lt_opts {
    double rps, duration, hit_ratio;
    int threads, json, allow_remote;
    const char *texts, *url;
    cli_answerer a; /* in process: --model or --backend */
} lt_opts;

struct lt;

typedef struct lt_worker {
    struct lt *lt;
    pthread_t tid;
    pthread_mutex_t mu; /* guards `tick`, which the live line empties */
    perf_hist *tick;    /* latencies from the due time, since the last line */
    perf_hist *service; /* latencies from the actual send */
    int64_t last_end;   /* when its last answer came */
} lt_worker;

typedef struct lt {
    const lt_opts *o;
    perf_texts texts;
    perf_classifier pc; /* in process */
    http_target target; /* with --url */
    uint32_t *stream;   /* the text number of each request */
    uint64_t total;
    int64_t t0, stop_at;
    atomic_uint_fast64_t next, sent, ok, errors, hits, unsent, refused;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    int go;      /* 1: start; -1: give up */
    int running; /* workers not finished */
    char first_error[1024];
} lt;

/* ---- one request -------------------------------------------------------- */

static void note_error(lt *l, const char *msg)
{
    pthread_mutex_lock(&l->mu);
    if (!l->first_error[0]) {
        snprintf(l->first_error, sizeof(l->first_error), "%s", msg);
    }
    pthread_mutex_unlock(&l->mu);
}

/* text as a JSON string into out (6 * len + 3 bytes at most). */
static size_t json_string(char *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, n = 0;

    out[n++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];

        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch < 0x20) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[ch >> 4];
            out[n + 5] = hex[ch & 15];
            n += 6;
        } else {
            out[n++] = (char)ch;
        }
    }
    out[n++] = '"';
    return n;
}

/* Whether an HTTP answer is a classification and where it came from:
 * 1 a hit, 0 a miss, -1 not a classification (message in err). */
static int answer_source(const char *resp, size_t len, char *err, size_t n)
{
    cJSON *root = cJSON_ParseWithLength(resp, len), *src;
    int rc = -1;

    src = cJSON_GetObjectItemCaseSensitive(root, "source");
    if (!root) {
        snprintf(err, n, "the answer is not JSON");
    } else if (!cJSON_IsString(src)) {
        snprintf(err, n, "the answer has no \"source\"");
    } else {
        rc = strcmp(src->valuestring, "l1") == 0 ||
             strcmp(src->valuestring, "l2") == 0 ||
             strcmp(src->valuestring, "feedback") == 0;
    }
    cJSON_Delete(root);
    return rc;
}

/* Sends one request over c; 1 a hit, 0 a miss, -1 an error (counted). */
static int send_http(lt *l, http_conn *c, const char *body, size_t blen)
{
    char err[1024];
    const char *resp;
    size_t rlen;
    int st, hit;

    st = http_conn_post(c, body, blen, &resp, &rlen, err, sizeof(err));
    if (st == HTTP_ECONNECT) {
        atomic_fetch_add(&l->refused, 1);
    }
    if (st < 0) {
        note_error(l, err);
        return -1;
    }
    if (st != 200) {
        snprintf(err, sizeof(err), "%.300s: HTTP %d: %.200s", l->target.shown,
                 st, resp);
        note_error(l, err);
        return -1;
    }
    if ((hit = answer_source(resp, rlen, err, sizeof(err))) < 0) {
        note_error(l, err);
    }
    return hit;
}

static int classify(lt *l, const char *text, size_t len)
{
    char err[256];
    tc_result *r;
    int rc, hit;

    rc = tc_classify(&r, l->pc.c, text, len);
    if (rc != TC_OK) {
        snprintf(err, sizeof(err), "classify: %s (%s)", tc_strerror(rc),
                 tc_error_name(rc));
        note_error(l, err);
        return -1;
    }
    hit = perf_is_hit(r->source);
    tc_result_free(r);
    return hit;
}

static void wait_until(int64_t due)
{
    perf_sleep_until(due - SPIN_NS);
    while (perf_now_ns() < due) {
    }
}

static void *worker_main(void *arg)
{
    lt_worker *w = arg;
    lt *l = w->lt;
    size_t cap = l->texts.max + 1;
    char *text = malloc(cap), *body = malloc(6 * cap + 16);
    http_conn *c =
        l->o->url ? http_conn_new(&l->target, HTTP_TIMEOUT_MS) : NULL;
    uint64_t i;
    int64_t due, start, end;
    size_t len, blen = 0;
    int hit, go;

#ifdef PR_SET_TIMERSLACK
    /* the kernel may add its default 50 us of timer slack to each sleep:
     * our sleeps must end when asked, or their lateness is measured */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
    pthread_mutex_lock(&l->mu);
    while (!(go = l->go)) {
        pthread_cond_wait(&l->cv, &l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    if (!text || !body || (l->o->url && !c)) {
        note_error(l, "out of memory");
        go = -1;
    }
    while (go > 0 && (i = atomic_fetch_add(&l->next, 1)) < l->total) {
        due = l->t0 + (int64_t)((double)i * 1e9 / l->o->rps);
        /* the text and the body are made before the due time: not timed */
        len = perf_text(&l->texts, l->stream[i], text);
        if (c) {
            memcpy(body, "{\"text\":", 8);
            blen = 8 + json_string(body + 8, text, len);
            body[blen++] = '}';
        }
        wait_until(due);
        start = perf_now_ns();
        if (start > l->stop_at) {
            atomic_fetch_add(&l->unsent, 1);
            continue;
        }
        atomic_fetch_add(&l->sent, 1);
        hit = c ? send_http(l, c, body, blen) : classify(l, text, len);
        end = perf_now_ns();
        if (hit < 0) {
            atomic_fetch_add(&l->errors, 1);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        perf_hist_add(w->tick, (uint64_t)(end - due));
        pthread_mutex_unlock(&w->mu);
        perf_hist_add(w->service, (uint64_t)(end - start));
        w->last_end = end;
        atomic_fetch_add(&l->ok, 1);
        atomic_fetch_add(&l->hits, (uint64_t)hit);
    }
    http_conn_free(c);
    free(text);
    free(body);
    pthread_mutex_lock(&l->mu);
    l->running--;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- the run ------------------------------------------------------------ */

/* Moves what the workers recorded since the last call into sec. */
static void collect(lt_worker *ws, int n, perf_hist *sec)
{
    int i;

    perf_hist_reset(sec);
    for (i = 0; i < n; i++) {
        pthread_mutex_lock(&ws[i].mu);
        perf_hist_merge(sec, ws[i].tick);
        perf_hist_reset(ws[i].tick);
        pthread_mutex_unlock(&ws[i].mu);
    }
}

/* The live line of second k: diagnostics, so on stderr, always. */
static void live_line(lt *l, int k, const perf_hist *sec, uint64_t *ok_before)
{
    uint64_t ok = atomic_load(&l->ok), n = perf_hist_count(sec);

    fprintf(stderr,
            "tutorcache: loadtest: %ds: %llu/%llu sent, %llu ok/s, %llu "
            "errors, hit rate %.2f, p50 %.3f ms, p99 %.3f ms\n",
            k, (unsigned long long)atomic_load(&l->sent),
            (unsigned long long)l->total, (unsigned long long)(ok - *ok_before),
            (unsigned long long)atomic_load(&l->errors),
            ok ? (double)atomic_load(&l->hits) / (double)ok : 0.0,
            n ? perf_hist_quantile(sec, 0.5) / 1e6 : 0.0,
            n ? perf_hist_quantile(sec, 0.99) / 1e6 : 0.0);
    *ok_before = ok;
}

/*
 * Starts the workers, prints a line each second until they are done, and
 * leaves every latency in total and service. Returns 0, or -1 when the
 * threads could not be started.
 */
static int drive(lt *l, lt_worker *ws, int n, perf_hist *total,
                 perf_hist *service)
{
    perf_hist *sec = perf_hist_new();
    int64_t next_line;
    uint64_t ok_before = 0;
    struct timespec ts;
    int i, started, k = 0;

    if (!sec) {
        return -1;
    }
    for (started = 0; started < n; started++) {
        if (pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]) !=
            0) {
            break;
        }
    }
    pthread_mutex_lock(&l->mu);
    l->running = started;
    /* a moment for the threads to reach the gate before the first is due */
    l->t0 = perf_now_ns() + 20000000;
    l->stop_at = l->t0 + (int64_t)(l->o->duration * 1e9) + GRACE_NS;
    l->go = started == n ? 1 : -1;
    pthread_cond_broadcast(&l->cv);
    next_line = l->t0 + NS_PER_S;
    while (l->running > 0) {
        ts.tv_sec = (time_t)(next_line / NS_PER_S);
        ts.tv_nsec = (long)(next_line % NS_PER_S);
        pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        if (l->running > 0 && perf_now_ns() >= next_line) {
            pthread_mutex_unlock(&l->mu);
            collect(ws, n, sec);
            perf_hist_merge(total, sec);
            live_line(l, ++k, sec, &ok_before);
            next_line += NS_PER_S;
            pthread_mutex_lock(&l->mu);
        }
    }
    pthread_mutex_unlock(&l->mu);
    for (i = 0; i < started; i++) {
        pthread_join(ws[i].tid, NULL);
    }
    collect(ws, n, sec);
    perf_hist_merge(total, sec);
    for (i = 0; i < n; i++) {
        perf_hist_merge(service, ws[i].service);
    }
    perf_hist_free(sec);
    if (started < n) {
        cli_err("loadtest: cannot start %d threads", n);
        return -1;
    }
    return 0;
}

static double round_to(double v, double unit)
{
    return round(v / unit) * unit;
}

static double ms(const perf_hist *h, double q)
{
    return round_to(perf_hist_quantile(h, q) / 1e6, 0.001);
}

static cJSON *summary(lt *l, const lt_worker *ws, const perf_hist *total,
                      const perf_hist *service)
{
    uint64_t ok = atomic_load(&l->ok), hits = atomic_load(&l->hits);
    int64_t last = l->t0;
    double elapsed, span;
    cJSON *o = cJSON_CreateObject();
    int i, bad;

    for (i = 0; i < l->o->threads; i++) {
        last = ws[i].last_end > last ? ws[i].last_end : last;
    }
    elapsed = (double)(last - l->t0) / 1e9;
    span = elapsed > l->o->duration ? elapsed : l->o->duration;
    bad = !o ||
          !cJSON_AddStringToObject(
              o, "target", l->o->url ? l->target.shown : "in-process") ||
          !cJSON_AddNumberToObject(o, "target_rps", l->o->rps) ||
          !cJSON_AddNumberToObject(o, "achieved_rps",
                                   round_to((double)ok / span, 0.01)) ||
          !cJSON_AddNumberToObject(o, "duration_s", l->o->duration) ||
          !cJSON_AddNumberToObject(o, "elapsed_s", round_to(elapsed, 0.001)) ||
          !cJSON_AddNumberToObject(o, "threads", l->o->threads) ||
          !cJSON_AddNumberToObject(o, "requests", (double)l->total) ||
          !cJSON_AddNumberToObject(o, "sent", (double)atomic_load(&l->sent)) ||
          !cJSON_AddNumberToObject(o, "ok", (double)ok) ||
          !cJSON_AddNumberToObject(o, "errors",
                                   (double)atomic_load(&l->errors)) ||
          !cJSON_AddNumberToObject(o, "unsent",
                                   (double)atomic_load(&l->unsent)) ||
          !cJSON_AddNumberToObject(o, "hits", (double)hits) ||
          !cJSON_AddNumberToObject(o, "hit_rate",
                                   ok ? (double)hits / (double)ok : 0) ||
          !cJSON_AddNumberToObject(o, "p50_ms", ms(total, 0.50)) ||
          !cJSON_AddNumberToObject(o, "p95_ms", ms(total, 0.95)) ||
          !cJSON_AddNumberToObject(o, "p99_ms", ms(total, 0.99)) ||
          !cJSON_AddNumberToObject(o, "p999_ms", ms(total, 0.999)) ||
          !cJSON_AddNumberToObject(o, "max_ms", ms(total, 1)) ||
          !cJSON_AddNumberToObject(
              o, "mean_ms", round_to(perf_hist_mean(total) / 1e6, 0.001)) ||
          !cJSON_AddNumberToObject(o, "service_p50_ms", ms(service, 0.50)) ||
          !cJSON_AddNumberToObject(o, "service_p99_ms", ms(service, 0.99));
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* What the counts say about the run, after the summary is out. */
static int verdict(lt *l)
{
    uint64_t errors = atomic_load(&l->errors), unsent = atomic_load(&l->unsent);

    if (unsent) {
        cli_err("loadtest: %llu requests not sent: the target fell more "
                "than 10 s behind the schedule",
                (unsigned long long)unsent);
    }
    if (!errors) {
        return CLI_OK;
    }
    cli_err("loadtest: %llu of %llu requests failed; the first: %s",
            (unsigned long long)errors,
            (unsigned long long)atomic_load(&l->sent), l->first_error);
    /* not one request reached the target: it is not there */
    if (atomic_load(&l->ok) == 0 && atomic_load(&l->refused) == errors) {
        return CLI_UNAVAIL;
    }
    return CLI_FAIL;
}

static int run(cli_ctx *ctx, lt *l)
{
    const lt_opts *o = l->o;
    lt_worker *ws = calloc((size_t)o->threads, sizeof(*ws));
    perf_hist *total = perf_hist_new(), *service = perf_hist_new();
    char err[512];
    size_t nnew;
    cJSON *out = NULL;
    int i, rc = CLI_FAIL;

    if (!ws || !total || !service ||
        !(l->stream = malloc(l->total * sizeof(*l->stream)))) {
        cli_err("loadtest: out of memory");
        goto done;
    }
    for (i = 0; i < o->threads; i++) {
        ws[i].lt = l;
        pthread_mutex_init(&ws[i].mu, NULL);
        if (!(ws[i].tick = perf_hist_new()) ||
            !(ws[i].service = perf_hist_new())) {
            cli_err("loadtest: out of memory");
            goto done;
        }
    }
    if (o->url) {
        if (http_target_parse(&l->target, o->url, ENDPOINT, o->allow_remote,
                              err, sizeof(err)) != 0) {
            rc = cli_usage(ctx, "--url: %s", err);
            goto done;
        }
    }
    if ((rc = perf_texts_init(&l->texts, o->texts, "loadtest")) != CLI_OK) {
        goto done;
    }
    if (!o->url &&
        (rc = perf_classifier_open(&l->pc, ctx, "loadtest", o->a.model,
                                   o->a.backend, o->threads, 0)) != CLI_OK) {
        goto done;
    }
    /* repeats draw from the texts of earlier requests: at the start the
     * cache is as cold for this run's texts as it is for a new service */
    perf_stream(l->stream, (size_t)l->total, o->hit_ratio, 0, 1, 0x10AD7E57ULL,
                &nnew);
    if (drive(l, ws, o->threads, total, service) != 0) {
        rc = CLI_FAIL;
        goto done;
    }
    if (!(out = summary(l, ws, total, service))) {
        cli_err("loadtest: out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    if (o->json) {
        cli_print_json_line(stdout, out);
    } else {
        cli_print_table(stdout, out);
    }
    rc = verdict(l);
done:
    cJSON_Delete(out);
    for (i = 0; ws && i < o->threads; i++) {
        perf_hist_free(ws[i].tick);
        perf_hist_free(ws[i].service);
        if (ws[i].lt) {
            pthread_mutex_destroy(&ws[i].mu);
        }
    }
    free(ws);
    perf_hist_free(total);
    perf_hist_free(service);
    return rc;
}

/* ---- the command -------------------------------------------------------- */

enum {
    OPT_RPS = 256,
    OPT_DURATION,
    OPT_THREADS,
    OPT_TEXTS,
    OPT_HIT_RATIO,
    OPT_URL,
    OPT_ALLOW_REMOTE,
    OPT_JSON
};

static int parse_args(cli_ctx *ctx, int argc, char **argv, lt_opts *o)
{
    static const struct option longs[] = {
        {"rps", required_argument, NULL, OPT_RPS},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"texts", required_argument, NULL, OPT_TEXTS},
        {"hit-ratio", required_argument, NULL, OPT_HIT_RATIO},
        CLI_ANSWERER_LONGS,
        {"url", required_argument, NULL, OPT_URL},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long long v;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "m:h", longs)) != -1) {
        switch (opt) {
        case OPT_RPS:
            if (cli_parse_number(optarg, &o->rps) != 0 || o->rps <= 0 ||
                o->rps > MAX_RPS) {
                return cli_usage(ctx, "--rps: \"%s\" is not in (0, %.0f]",
                                 optarg, MAX_RPS);
            }
            break;
        case OPT_DURATION:
            if (cli_parse_number(optarg, &o->duration) != 0 ||
                o->duration <= 0 || o->duration > MAX_DURATION) {
                return cli_usage(ctx,
                                 "--duration: \"%s\" is not a number of "
                                 "seconds in (0, %.0f]",
                                 optarg, MAX_DURATION);
            }
            break;
        case OPT_THREADS:
            if ((rc = cli_opt_int(ctx, "--threads", optarg, 1, MAX_THREADS,
                                  &v)) != CLI_OK) {
                return rc;
            }
            o->threads = (int)v;
            break;
        case OPT_TEXTS:
            o->texts = optarg;
            break;
        case OPT_HIT_RATIO:
            if ((rc = cli_opt_share(ctx, "--hit-ratio", optarg,
                                    &o->hit_ratio)) != CLI_OK) {
                return rc;
            }
            break;
        case OPT_URL:
            o->url = optarg;
            break;
        case OPT_ALLOW_REMOTE:
            o->allow_remote = 1;
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        default:
            if ((rc = cli_answerer_option(ctx, opt, &o->a)) != CLI_OK) {
                return rc;
            }
            break;
        }
    }
    if (optind < argc) {
        return cli_usage(ctx, "takes no arguments (\"%s\")", argv[optind]);
    }
    if (o->rps <= 0 || o->duration <= 0) {
        return cli_usage(ctx, "--rps and --duration are required");
    }
    if ((rc = cli_answerer_check(ctx, &o->a)) != CLI_OK) {
        return rc;
    }
    if (o->allow_remote && !o->url) {
        return cli_usage(ctx, "--allow-remote goes with --url");
    }
    if (o->url && (o->a.model || o->a.backend)) {
        return cli_usage(ctx, "--url: the service has its own model; "
                              "--model and --backend are for runs in process");
    }
    return CLI_OK;
}

int cli_cmd_loadtest(cli_ctx *ctx, int argc, char **argv)
{
    pthread_condattr_t ca;
    lt_opts o;
    lt l;
    double n;
    int rc;

    memset(&o, 0, sizeof(o));
    o.threads = DEFAULT_THREADS;
    o.hit_ratio = 0.8;
    if ((rc = parse_args(ctx, argc, argv, &o)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    n = round(o.rps * o.duration);
    if (n < 1 || n > (double)MAX_REQUESTS) {
        return cli_usage(ctx,
                         "--rps x --duration is %.0f requests; 1 to %lld, "
                         "please",
                         n, MAX_REQUESTS);
    }
    memset(&l, 0, sizeof(l));
    l.o = &o;
    l.total = (uint64_t)n;
    pthread_mutex_init(&l.mu, NULL);
    /* the live line's timed waits count in monotonic time, as t0 does */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l.cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = run(ctx, &l);
    perf_classifier_close(&l.pc);
    perf_texts_free(&l.texts);
    free(l.stream);
    pthread_cond_destroy(&l.cv);
    pthread_mutex_destroy(&l.mu);
    return rc;
}
