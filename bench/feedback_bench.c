/*
 * feedback_bench.c - the library side of bench/feedback.sh: the latency of
 * tc_feedback_submit on a store, and what counting for tc_metrics_render
 * costs an L1 hit.
 *
 *   submit   N records through tc_feedback_submit on the store URL, one
 *            thread, each call timed alone (CLOCK_MONOTONIC): p50, p99,
 *            max, mean and calls per second. Three in four records are
 *            corrections (stored, counted, queued, and an override of the
 *            cached answer written in the same transaction), one in four
 *            confirmations; every text is new. --raw FILE writes each
 *            call's latency in microseconds, one a line, for
 *            bench/histogram.sh.
 *   metrics  three memory: handles: one counting (the default), one
 *            opened with TC_OPT_NO_METRICS, and a second counting one, the
 *            control; each has a classifier on the same model and is
 *            filled with the same texts and keys. Then R rounds; in each,
 *            every (handle, call) pair is timed over N L1 hits of
 *            tc_classify and N of tc_cache_get, in the order A B C C B A
 *            (the handles rotated each round), so a slow spell of the
 *            shared machine falls on every side. Per round: ns per call
 *            of each side; reported: the median over the rounds of each
 *            side, and the median of the rounds' own differences and
 *            ratios, on - off and control - on. The control shows what
 *            two handles that differ only in their place in memory
 *            measure apart. Every call is checked to come from the L1.
 *
 * The results are one line of key=value pairs on stdout, for the script.
 * A benchmark that cannot measure what it says stops with a message and
 * exit status 1, rather than report a number for something else.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tutorcache.h>

#include "bench_util.h"
#include "fb_record.h"

static const char usage[] =
    "Usage: feedback_bench COMMAND [options] ARGS\n"
    "  submit [-n N] [--warmup W] [--raw FILE] URL\n"
    "      N tc_feedback_submit calls on the store URL (default 2000,\n"
    "      after W untimed ones, default 50): p50/p99/max/mean in us\n"
    "  metrics [-n N] [--rounds R] [--texts T] [--keys K] [--threads P] MODEL\n"
    "      L1 hits of tc_classify (T texts, default 10000) and\n"
    "      tc_cache_get (K keys of 200 bytes, default 100000) on\n"
    "      memory: handles with metrics, without, and with (a control),\n"
    "      interleaved:\n"
    "      R rounds (default 15) of N calls per thread (default 30000)\n"
    "      on P threads sharing each handle (default 1)\n";

const char bench_prog[] = "feedback_bench";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The value of rank ceil(q * n) of a sorted array (q in (0, 1]). */
static double rank_q(const double *v, size_t n, double q)
{
    size_t r = (size_t)(q * (double)n + 0.999999);

    if (r < 1) {
        r = 1;
    }
    return v[(r > n ? n : r) - 1];
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static tc_cache *open_cache(const char *url, unsigned flags)
{
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    /* The answers must not depend on whoever runs this: no environment,
     * no config file; caching on. */
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG | flags;
    o.store_url = url;
    o.enable_caching = 1;
    if (tc_cache_open(&h, &o) != TC_OK) {
        bench_fail("%s: %s", url, tc_errmsg());
    }
    return h;
}

/* ---- submit ------------------------------------------------------------ */

static void submit_one(tc_cache *h, long i, const char *tag, double *us)
{
    char text[160], id[TC_FEEDBACK_ID_MAX];
    tc_feedback fb;
    int64_t t0;
    int rc;

    snprintf(text, sizeof(text),
             "why does my %s loop print the wrong value (%s %ld)",
             i % 2 ? "python" : "rust", tag, i);
    bench_fb_record(&fb, (uint64_t)i, text, "bench");
    t0 = bench_now_ns();
    rc = tc_feedback_submit(id, NULL, h, &fb);
    if (us) {
        *us = (double)(bench_now_ns() - t0) / 1e3;
    }
    if (rc != TC_OK) {
        bench_fail("tc_feedback_submit: %s: %s", tc_error_name(rc),
                   tc_errmsg());
    }
}

static int cmd_submit(int argc, char **argv)
{
    long n = 2000, warm = 50, i;
    const char *raw = NULL, *url = NULL;
    char tag[32];
    double *us, *sorted, sum = 0;
    int64_t t0, t1;
    tc_cache *h;
    char *stats = NULL;
    int a;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) {
            n = bench_count_arg("-n", argv[++a], 10000000);
        } else if (strcmp(argv[a], "--warmup") == 0 && a + 1 < argc) {
            warm = bench_count_arg("--warmup", argv[++a], 10000000);
        } else if (strcmp(argv[a], "--raw") == 0 && a + 1 < argc) {
            raw = argv[++a];
        } else if (argv[a][0] == '-' || url) {
            bench_fail("submit: bad argument \"%s\"\n%s", argv[a], usage);
        } else {
            url = argv[a];
        }
    }
    if (!url) {
        bench_fail("submit: URL expected\n%s", usage);
    }
    /* Texts new to the store on every run: the records get fresh ids in
     * any case, but the overrides would otherwise replace earlier ones. */
    snprintf(tag, sizeof(tag), "run %llx",
             (unsigned long long)(bench_now_ns() ^ (int64_t)getpid()));
    h = open_cache(url, 0);
    us = bench_alloc((size_t)n, sizeof(*us));
    for (i = 0; i < warm; i++) {
        submit_one(h, 100000000 + i, tag, NULL); /* texts of their own */
    }
    t0 = bench_now_ns();
    for (i = 0; i < n; i++) {
        submit_one(h, i, tag, &us[i]);
    }
    t1 = bench_now_ns();
    /* Every record must have gone to the store itself, not the spool. */
    if (tc_feedback_stats_json(&stats, h) != TC_OK) {
        bench_fail("tc_feedback_stats_json: %s", tc_errmsg());
    }
    if (!strstr(stats, "\"spooled\":0")) {
        bench_fail("records were spooled, the store was not reached: %s",
                   stats);
    }
    tc_free(stats);
    if (raw) {
        FILE *f = fopen(raw, "w");

        if (!f) {
            bench_fail("%s: %s", raw, strerror(errno));
        }
        for (i = 0; i < n; i++) {
            fprintf(f, "%.3f\n", us[i]);
        }
        if (fclose(f) != 0) {
            bench_fail("%s: %s", raw, strerror(errno));
        }
    }
    sorted = bench_alloc((size_t)n, sizeof(*sorted));
    memcpy(sorted, us, (size_t)n * sizeof(*us));
    qsort(sorted, (size_t)n, sizeof(*sorted), cmp_double);
    for (i = 0; i < n; i++) {
        sum += us[i];
    }
    printf("n=%ld p50_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f "
           "per_sec=%.0f\n",
           n, rank_q(sorted, (size_t)n, 0.5), rank_q(sorted, (size_t)n, 0.99),
           sorted[n - 1], sum / (double)n,
           (double)n / ((double)(t1 - t0) / 1e9));
    free(sorted);
    free(us);
    tc_cache_close(h);
    return 0;
}

/* ---- metrics on / off ---------------------------------------------------- */

static const char *const templates[] = {
    "How do I reverse a linked list in Python",
    "Explain the difference between a process and a thread",
    "why does my code throw a null pointer exception here",
    "Write a SQL query that returns the top 5 customers by order value",
    "what is the time complexity of quicksort in the worst case",
    "can u help me debug this segfault in my C program",
    "Generate a bash script that renames every .txt file in a folder",
    "What does the yield keyword do in JavaScript generators",
};
#define NTEMPLATES (sizeof(templates) / sizeof(templates[0]))

/* One side of the comparison: a handle, its classifier, the same data.
 * Three sides: metrics on, off, and on again (the control: what two
 * handles that differ in nothing but their place in memory measure
 * apart). */
#define NSIDES 3
typedef struct side {
    const char *name;
    tc_cache *h;
    tc_classifier *c;
} side;

typedef struct work {
    char **texts;
    size_t *tlen;
    long ntexts;
    char (*keys)[24];
    long nkeys;
    long n; /* calls per thread and slice */
} work;

typedef struct job {
    const work *w;
    const side *s;
    int op; /* 0 classify, 1 cache_get */
    long start;
} job;

static void *run_slice(void *arg)
{
    const job *j = arg;
    const work *w = j->w;
    long i;

    if (j->op == 0) {
        long k = j->start % w->ntexts;

        for (i = 0; i < w->n; i++) {
            tc_result *r = NULL;

            if (tc_classify(&r, j->s->c, w->texts[k], w->tlen[k]) != TC_OK) {
                bench_fail("tc_classify (%s): %s", j->s->name, tc_errmsg());
            }
            if (r->source != TC_SOURCE_L1) {
                bench_fail("tc_classify (%s) answered from %s, not the L1",
                           j->s->name, tc_source_name(r->source));
            }
            tc_result_free(r);
            if (++k == w->ntexts) {
                k = 0;
            }
        }
    } else {
        long k = j->start % w->nkeys;

        for (i = 0; i < w->n; i++) {
            void *v = NULL;
            size_t len = 0;
            tc_tier tier = TC_TIER_NONE;

            if (tc_cache_get(&v, &len, &tier, j->s->h, "ml_model_predictions",
                             w->keys[k], strlen(w->keys[k])) != TC_OK ||
                tier != TC_TIER_L1) {
                bench_fail("tc_cache_get (%s): not an L1 hit: %s", j->s->name,
                           tc_errmsg());
            }
            tc_free(v);
            /* a stride through the keys, so that consecutive gets do not
             * find their entry already in the CPU's cache */
            k = (k + 7919) % w->nkeys;
        }
    }
    return NULL;
}

/* ns per call (per thread) of one slice of nthreads threads. */
static double slice(const work *w, const side *s, int op, int nthreads,
                    long round)
{
    pthread_t tid[64];
    job jobs[64];
    int64_t t0;
    int t;

    for (t = 0; t < nthreads; t++) {
        jobs[t].w = w;
        jobs[t].s = s;
        jobs[t].op = op;
        jobs[t].start =
            round * 1009 + t * (op ? w->nkeys : w->ntexts) / nthreads;
    }
    t0 = bench_now_ns();
    if (nthreads == 1) {
        run_slice(&jobs[0]);
    } else {
        for (t = 0; t < nthreads; t++) {
            if (pthread_create(&tid[t], NULL, run_slice, &jobs[t]) != 0) {
                bench_fail("pthread_create failed");
            }
        }
        for (t = 0; t < nthreads; t++) {
            pthread_join(tid[t], NULL);
        }
    }
    return (double)(bench_now_ns() - t0) / (double)w->n;
}

static int cmd_metrics(int argc, char **argv)
{
    long n = 30000, rounds = 15, ntexts = 10000, nkeys = 100000, k, r;
    int nthreads = 1, a, op;
    const char *model_path = NULL;
    char value[201];
    tc_model *m = NULL;
    tc_classifier_options co;
    side sides[NSIDES] = {{"metrics on", NULL, NULL},
                          {"metrics off", NULL, NULL},
                          {"metrics on (control)", NULL, NULL}};
    work w;
    double *t[NSIDES][2], d[2][128], q[2][128], dc[2][128], qc[2][128];
    static const char *const opname[2] = {"classify", "cache_get"};

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) {
            n = bench_count_arg("-n", argv[++a], 100000000);
        } else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc) {
            rounds = bench_count_arg("--rounds", argv[++a], 128);
        } else if (strcmp(argv[a], "--texts") == 0 && a + 1 < argc) {
            ntexts = bench_count_arg("--texts", argv[++a], 1000000);
        } else if (strcmp(argv[a], "--keys") == 0 && a + 1 < argc) {
            nkeys = bench_count_arg("--keys", argv[++a], 1000000);
        } else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
            nthreads = (int)bench_count_arg("--threads", argv[++a], 64);
        } else if (argv[a][0] == '-' || model_path) {
            bench_fail("metrics: bad argument \"%s\"\n%s", argv[a], usage);
        } else {
            model_path = argv[a];
        }
    }
    if (!model_path) {
        bench_fail("metrics: MODEL expected\n%s", usage);
    }
    if (tc_model_load(&m, model_path) != TC_OK) {
        bench_fail("%s: %s", model_path, tc_errmsg());
    }

    w.n = n;
    w.ntexts = ntexts;
    w.nkeys = nkeys;
    w.texts = bench_alloc((size_t)ntexts, sizeof(*w.texts));
    w.tlen = bench_alloc((size_t)ntexts, sizeof(*w.tlen));
    for (k = 0; k < ntexts; k++) {
        w.texts[k] = bench_alloc(128, 1);
        w.tlen[k] = (size_t)snprintf(w.texts[k], 128, "%s (%ld)",
                                     templates[(size_t)k % NTEMPLATES], k);
    }
    w.keys = bench_alloc((size_t)nkeys, sizeof(*w.keys));
    for (k = 0; k < nkeys; k++) {
        snprintf(w.keys[k], sizeof(w.keys[k]), "key-%ld", k);
    }
    memset(value, 'x', sizeof(value) - 1);
    memcpy(value, "{\"v\":\"", 6);
    memcpy(value + sizeof(value) - 3, "\"}", 2);
    value[sizeof(value) - 1] = '\0';

    tc_classifier_options_init(&co);
    co.model = m;
    for (a = 0; a < NSIDES; a++) {
        sides[a].h = open_cache("memory:", a == 1 ? TC_OPT_NO_METRICS : 0);
        if (tc_classifier_open(&sides[a].c, sides[a].h, &co) != TC_OK) {
            bench_fail("tc_classifier_open: %s", tc_errmsg());
        }
        for (k = 0; k < ntexts; k++) {
            tc_result *res = NULL;

            if (tc_classify(&res, sides[a].c, w.texts[k], w.tlen[k]) != TC_OK) {
                bench_fail("tc_classify: %s", tc_errmsg());
            }
            tc_result_free(res);
        }
        for (k = 0; k < nkeys; k++) {
            if (tc_cache_set(sides[a].h, "ml_model_predictions", w.keys[k],
                             strlen(w.keys[k]), value, strlen(value),
                             TC_TTL_DEFAULT) != TC_OK) {
                bench_fail("tc_cache_set: %s", tc_errmsg());
            }
        }
        /* one untimed pass over every entry of both kinds */
        w.n = ntexts > nkeys ? ntexts : nkeys;
        slice(&w, &sides[a], 0, 1, 0);
        slice(&w, &sides[a], 1, 1, 0);
        w.n = n;
    }

    for (a = 0; a < NSIDES; a++) {
        for (op = 0; op < 2; op++) {
            t[a][op] = bench_alloc((size_t)rounds, sizeof(double));
        }
    }
    for (r = 0; r < rounds; r++) {
        /* A, B, C, C, B, A with A, B, C the three sides rotated by the
         * round: every side sits at positions that sum to the same, so a
         * drift in speed during the round falls on all alike. */
        int order[2 * NSIDES];

        for (a = 0; a < NSIDES; a++) {
            order[a] = (int)((a + r) % NSIDES);
            order[2 * NSIDES - 1 - a] = order[a];
        }
        for (op = 0; op < 2; op++) {
            double sum[NSIDES] = {0};

            for (a = 0; a < 2 * NSIDES; a++) {
                sum[order[a]] += slice(&w, &sides[order[a]], op, nthreads,
                                       r * 2 * NSIDES + a);
            }
            for (a = 0; a < NSIDES; a++) {
                t[a][op][r] = sum[a] / 2;
            }
            d[op][r] = t[0][op][r] - t[1][op][r];
            q[op][r] = t[0][op][r] / t[1][op][r];
            dc[op][r] = t[2][op][r] - t[0][op][r];
            qc[op][r] = t[2][op][r] / t[0][op][r];
        }
    }

    printf("threads=%d rounds=%ld n=%ld texts=%ld keys=%ld", nthreads, rounds,
           n, ntexts, nkeys);
    for (op = 0; op < 2; op++) {
        double dm = median(d[op], (size_t)rounds);
        double qm = median(q[op], (size_t)rounds);
        double dcm = median(dc[op], (size_t)rounds);
        double qcm = median(qc[op], (size_t)rounds);
        double on = median(t[0][op], (size_t)rounds);
        double off = median(t[1][op], (size_t)rounds);
        double ctl = median(t[2][op], (size_t)rounds);
        const char *o = opname[op];

        printf(" %s_on_ns=%.1f %s_off_ns=%.1f %s_ctl_ns=%.1f %s_diff_ns=%.2f"
               " %s_ratio=%.4f %s_ctl_diff_ns=%.2f %s_ctl_ratio=%.4f",
               o, on, o, off, o, ctl, o, dm, o, qm, o, dcm, o, qcm);
    }
    printf("\n");

    for (a = 0; a < NSIDES; a++) {
        for (op = 0; op < 2; op++) {
            free(t[a][op]);
        }
        tc_classifier_close(sides[a].c);
        tc_cache_close(sides[a].h);
    }
    for (k = 0; k < ntexts; k++) {
        free(w.texts[k]);
    }
    free(w.texts);
    free(w.tlen);
    free(w.keys);
    tc_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "submit") == 0) {
        return cmd_submit(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "metrics") == 0) {
        return cmd_metrics(argc - 1, argv + 1);
    }
    fputs(usage, stderr);
    return 2;
}
