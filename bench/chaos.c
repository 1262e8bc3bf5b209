/*
 * chaos.c - the library side of bench/chaos.sh: a mixed load on one handle
 * for as long as the script applies its faults to the store, and a record
 * of what the callers saw.
 *
 * P threads share one handle and a classifier on the example model. Each
 * loops over a mix drawn from its own seeded PRNG: 45 in 100 calls are
 * tc_cache_get, 20 tc_cache_set, 10 tc_cache_mget of 8 keys, 20 tc_classify
 * (one text in four new, so the model and the L2 write run too) and 5
 * tc_feedback_submit of a record whose text is unique and known. Each call
 * is timed alone; a return other than a documented outcome under a failing
 * store (a hit or a miss; TC_OK for set, mget, classify and a feedback that
 * was stored or spooled) is a caller-visible error, counted and its first
 * messages kept. A probe thread calls tc_cache_del on the same handle every
 * PROBE_MS: TC_OK or TC_MISS means the L2 answered (a delete has no other
 * tier to fall back on), so its changes of state say when the handle stopped
 * and started using the L2 again, through its own breaker and pool.
 *
 * Times the script compares with its faults are wall-clock milliseconds
 * (CLOCK_REALTIME); latencies are monotonic. The driver stops at SIGTERM or
 * after --seconds, whichever comes first, and writes into DIR:
 *   summary       key=value lines: calls, errors and slowest call per kind
 *   errors        per kind of call and code: "call NAME count detail",
 *                 the detail of the first such error
 *   timeline      per SLOT_MS of wall time: start, calls, errors, slowest
 *   probe         "ms 1|0 NAME" at start and at every change of state
 *   feedback.N    thread N's records: "text<TAB>rc<TAB>spooled<TAB>start
 *                 ms<TAB>end ms<TAB>id"
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tutorcache.h>

#include "bench_util.h"
#include "fb_record.h"

const char bench_prog[] = "chaos";

static const char usage[] =
    "Usage: chaos [--threads P] [--seconds S] [--timeout-ms T] --model FILE\n"
    "             --texts FILE --out DIR URL\n"
    "  a mixed load of P threads (default 2) on the store URL until SIGTERM\n"
    "  or S seconds (default 600), with connect and command timeouts of T\n"
    "  ms (default 250); tc_classify uses the model FILE and the texts of\n"
    "  the JSON Lines FILE; the results go to DIR\n";

#define SLOT_MS 100 /* the timeline's resolution */
#define PROBE_MS 20 /* how often the probe asks the L2 */
#define NKEYS 20000 /* keys of get, set and mget */
#define MGET_KEYS 8
#define VAL_BYTES 200
#define MAX_ERRS 16 /* kinds of error (call, code) told apart */
#define MAX_THREADS 64

enum { OP_GET, OP_SET, OP_MGET, OP_CLASSIFY, OP_FEEDBACK, NOPS };
static const char *const op_names[NOPS] = {"get", "set", "mget", "classify",
                                           "feedback"};

typedef struct slot {
    uint32_t calls, errors;
    uint32_t max_us;
} slot;

/* Errors of one kind of call with one code: how many, the first detail. */
typedef struct errkind {
    int op, rc;
    uint64_t n;
    char msg[200];
} errkind;

typedef struct worker {
    pthread_t tid;
    unsigned idx;
    uint64_t rng;
    uint64_t calls[NOPS], errors[NOPS], max_us[NOPS];
    uint64_t over_timeout, fb_spooled;
    errkind errs[MAX_ERRS];
    size_t nerrs;
    FILE *fb;
} worker;

static struct {
    tc_cache *h;
    tc_classifier *cls;
    bench_dataset texts;
    int64_t start_ms, end_ms; /* wall clock */
    int64_t timeout_us;
    size_t nslots;
    slot *slots; /* nslots per thread */
} g;

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int done(void)
{
    return stopping || wall_ms() >= g.end_ms;
}

/* Counts a caller-visible error under its kind of call and code; the
 * first of each keeps its detail (later ones differ only in keys and
 * ids). */
static void note_error(worker *w, int op, int rc)
{
    errkind *k;

    w->errors[op]++;
    for (size_t i = 0; i < w->nerrs; i++) {
        if (w->errs[i].op == op && w->errs[i].rc == rc) {
            w->errs[i].n++;
            return;
        }
    }
    if (w->nerrs < MAX_ERRS) {
        k = &w->errs[w->nerrs++];
        k->op = op;
        k->rc = rc;
        k->n = 1;
        snprintf(k->msg, sizeof(k->msg), "%s", tc_errmsg());
    }
}

/* The errors of every thread, one line per kind: "call NAME count
 * detail". */
static void write_errors(FILE *f, const worker *ws, unsigned nthreads)
{
    for (unsigned i = 0; i < nthreads; i++) {
        for (size_t k = 0; k < ws[i].nerrs; k++) {
            const errkind *e = &ws[i].errs[k];
            uint64_t n = 0;
            int seen = 0;

            for (unsigned j = 0; j < nthreads && !seen; j++) {
                for (size_t l = 0; l < ws[j].nerrs; l++) {
                    if (ws[j].errs[l].op == e->op &&
                        ws[j].errs[l].rc == e->rc) {
                        seen = j < i;
                        n += ws[j].errs[l].n;
                    }
                }
            }
            if (!seen) {
                fprintf(f, "%s %s %llu %s\n", op_names[e->op],
                        tc_error_name(e->rc), (unsigned long long)n, e->msg);
            }
        }
    }
}

static void note_call(worker *w, int op, int64_t t0_ns, int ok)
{
    uint64_t us = (uint64_t)((bench_now_ns() - t0_ns) / 1000);
    int64_t now = wall_ms();
    slot *s;
    size_t k;

    w->calls[op]++;
    if (us > w->max_us[op]) {
        w->max_us[op] = us;
    }
    if ((int64_t)us > g.timeout_us) {
        w->over_timeout++;
    }
    k = now > g.start_ms ? (size_t)(now - g.start_ms) / SLOT_MS : 0;
    if (k >= g.nslots) {
        k = g.nslots - 1;
    }
    s = &g.slots[w->idx * g.nslots + k];
    s->calls++;
    s->errors += !ok;
    if (us > s->max_us) {
        s->max_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
}

static void key_of(char *buf, size_t cap, uint64_t k)
{
    snprintf(buf, cap, "chaos:key:%llu", (unsigned long long)k);
}

static void do_get(worker *w)
{
    char key[40];
    void *val;
    size_t len;
    int64_t t0;
    int rc;

    key_of(key, sizeof(key), bench_below(&w->rng, NKEYS));
    t0 = bench_now_ns();
    rc = tc_cache_get(&val, &len, NULL, g.h, "intents", key, strlen(key));
    note_call(w, OP_GET, t0, rc == TC_OK || rc == TC_MISS);
    if (rc != TC_OK && rc != TC_MISS) {
        note_error(w, OP_GET, rc);
    }
    tc_free(val);
}

static void do_set(worker *w)
{
    char key[40], val[VAL_BYTES];
    int64_t t0;
    int rc;

    key_of(key, sizeof(key), bench_below(&w->rng, NKEYS));
    memset(val, 'a' + (int)(w->rng % 26), sizeof(val));
    t0 = bench_now_ns();
    rc = tc_cache_set(g.h, "intents", key, strlen(key), val, sizeof(val),
                      TC_TTL_DEFAULT);
    note_call(w, OP_SET, t0, rc == TC_OK);
    if (rc != TC_OK) {
        note_error(w, OP_SET, rc);
    }
}

static void do_mget(worker *w)
{
    char keys[MGET_KEYS][40];
    tc_item it[MGET_KEYS];
    int64_t t0;
    int rc, bad = TC_OK;

    memset(it, 0, sizeof(it));
    for (int i = 0; i < MGET_KEYS; i++) {
        key_of(keys[i], sizeof(keys[i]), bench_below(&w->rng, NKEYS));
        it[i].key = keys[i];
        it[i].keylen = strlen(keys[i]);
    }
    t0 = bench_now_ns();
    rc = tc_cache_mget(g.h, "intents", it, MGET_KEYS);
    for (int i = 0; i < MGET_KEYS; i++) {
        if (rc == TC_OK && it[i].status != TC_OK && it[i].status != TC_MISS) {
            bad = it[i].status;
        }
        tc_free(it[i].val);
    }
    if (rc != TC_OK) {
        bad = rc;
    }
    note_call(w, OP_MGET, t0, bad == TC_OK);
    if (bad != TC_OK) {
        note_error(w, OP_MGET, bad);
    }
}

static void do_classify(worker *w)
{
    const bench_example *ex = &g.texts.ex[bench_below(&w->rng, g.texts.n)];
    char text[600];
    tc_result *r;
    int64_t t0;
    int rc;

    /* One in four a text no call has seen: the model answers and the
     * answer is written to the L2. */
    if (bench_below(&w->rng, 4) == 0) {
        snprintf(text, sizeof(text), "%.500s (%u %llu)", ex->text, w->idx,
                 (unsigned long long)w->calls[OP_CLASSIFY]);
    } else {
        snprintf(text, sizeof(text), "%.500s", ex->text);
    }
    t0 = bench_now_ns();
    rc = tc_classify(&r, g.cls, text, strlen(text));
    note_call(w, OP_CLASSIFY, t0, rc == TC_OK);
    if (rc != TC_OK) {
        note_error(w, OP_CLASSIFY, rc);
    }
    tc_result_free(r);
}

static void do_feedback(worker *w)
{
    uint64_t n = w->calls[OP_FEEDBACK];
    char text[120], id[TC_FEEDBACK_ID_MAX] = "";
    tc_feedback fb;
    int64_t t0, s_ms, e_ms;
    int rc, spooled = 0;

    snprintf(text, sizeof(text), "chaos record t%u n%llu why does my loop stop",
             w->idx, (unsigned long long)n);
    bench_fb_record(&fb, n, text, "chaos");
    s_ms = wall_ms();
    t0 = bench_now_ns();
    rc = tc_feedback_submit(id, &spooled, g.h, &fb);
    e_ms = wall_ms();
    note_call(w, OP_FEEDBACK, t0, rc == TC_OK);
    if (rc != TC_OK) {
        note_error(w, OP_FEEDBACK, rc);
    }
    w->fb_spooled += rc == TC_OK && spooled;
    fprintf(w->fb, "%s\t%s\t%d\t%lld\t%lld\t%s\n", text, tc_error_name(rc),
            spooled, (long long)s_ms, (long long)e_ms, rc == TC_OK ? id : "-");
}

static void *work(void *arg)
{
    worker *w = arg;

    while (!done()) {
        unsigned r = (unsigned)bench_below(&w->rng, 100);

        if (r < 45) {
            do_get(w);
        } else if (r < 65) {
            do_set(w);
        } else if (r < 75) {
            do_mget(w);
        } else if (r < 95) {
            do_classify(w);
        } else {
            do_feedback(w);
        }
    }
    return NULL;
}

/* The probe: whether a delete reaches the L2, at start and at each change. */
static void *probe(void *arg)
{
    FILE *f = arg;
    int last = -1;

    while (!done()) {
        int rc = tc_cache_del(g.h, "intents", "chaos:probe", 11);
        int up = rc == TC_OK || rc == TC_MISS;
        struct timespec ts = {0, PROBE_MS * 1000000L};

        if (up != last) {
            fprintf(f, "%lld %d %s\n", (long long)wall_ms(), up,
                    tc_error_name(rc));
            fflush(f);
            last = up;
        }
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static FILE *out_file(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "w"))) {
        bench_fail("%s: %s", path, strerror(errno));
    }
    return f;
}

static void close_file(FILE *f, const char *what)
{
    if (fclose(f) != 0) {
        bench_fail("%s: %s", what, strerror(errno));
    }
}

static void open_all(const char *url, const char *model, long timeout_ms,
                     tc_model **m)
{
    tc_classifier_options co;
    tc_options o;
    int rc;

    tc_options_init(&o);
    /* What the script configures, nothing from whoever runs it. */
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.enable_caching = 1;
    o.connect_timeout_ms = (int)timeout_ms;
    o.command_timeout_ms = (int)timeout_ms;
    if (tc_cache_open(&g.h, &o) != TC_OK) {
        bench_fail("%s: %s", url, tc_errmsg());
    }
    if ((rc = tc_model_load(m, model)) != TC_OK) {
        bench_fail("%s: %s: %s", model, tc_error_name(rc), tc_errmsg());
    }
    tc_classifier_options_init(&co);
    co.model = *m;
    if (tc_classifier_open(&g.cls, g.h, &co) != TC_OK) {
        bench_fail("tc_classifier_open: %s", tc_errmsg());
    }
}

static void write_results(const char *dir, worker *ws, unsigned nthreads)
{
    uint64_t calls[NOPS] = {0}, errors[NOPS] = {0}, max_us[NOPS] = {0};
    uint64_t over = 0, spooled = 0, all_calls = 0, all_err = 0, all_max = 0;
    FILE *f = out_file(dir, "summary");
    FILE *e = out_file(dir, "errors");
    FILE *t = out_file(dir, "timeline");

    for (unsigned i = 0; i < nthreads; i++) {
        for (int op = 0; op < NOPS; op++) {
            calls[op] += ws[i].calls[op];
            errors[op] += ws[i].errors[op];
            if (ws[i].max_us[op] > max_us[op]) {
                max_us[op] = ws[i].max_us[op];
            }
        }
        over += ws[i].over_timeout;
        spooled += ws[i].fb_spooled;
    }
    write_errors(e, ws, nthreads);
    fprintf(f, "threads=%u\nseconds=%.1f\ntimeout_ms=%lld\n", nthreads,
            (double)(wall_ms() - g.start_ms) / 1000.0,
            (long long)(g.timeout_us / 1000));
    for (int op = 0; op < NOPS; op++) {
        fprintf(f, "%s_calls=%llu\n%s_errors=%llu\n%s_max_us=%llu\n",
                op_names[op], (unsigned long long)calls[op], op_names[op],
                (unsigned long long)errors[op], op_names[op],
                (unsigned long long)max_us[op]);
        all_calls += calls[op];
        all_err += errors[op];
        all_max = max_us[op] > all_max ? max_us[op] : all_max;
    }
    fprintf(f,
            "calls=%llu\nerrors=%llu\nmax_us=%llu\nover_timeout=%llu\n"
            "feedback_spooled=%llu\n",
            (unsigned long long)all_calls, (unsigned long long)all_err,
            (unsigned long long)all_max, (unsigned long long)over,
            (unsigned long long)spooled);
    for (size_t k = 0; k < g.nslots; k++) {
        slot s = {0, 0, 0};

        for (unsigned i = 0; i < nthreads; i++) {
            const slot *x = &g.slots[i * g.nslots + k];

            s.calls += x->calls;
            s.errors += x->errors;
            s.max_us = x->max_us > s.max_us ? x->max_us : s.max_us;
        }
        if (s.calls) {
            fprintf(t, "%lld %u %u %u\n",
                    (long long)(g.start_ms + (int64_t)k * SLOT_MS), s.calls,
                    s.errors, s.max_us);
        }
    }
    close_file(f, "summary");
    close_file(e, "errors");
    close_file(t, "timeline");
}

int main(int argc, char **argv)
{
    long nthreads = 2, seconds = 600, timeout_ms = 250;
    const char *model = NULL, *texts = NULL, *dir = NULL, *url = NULL;
    struct sigaction sa;
    pthread_t ptid;
    FILE *pf;
    worker *ws;
    tc_model *m = NULL;

    for (int a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;

        if (strcmp(argv[a], "--threads") == 0 && v) {
            nthreads = bench_count_arg(argv[a++], v, MAX_THREADS);
        } else if (strcmp(argv[a], "--seconds") == 0 && v) {
            seconds = bench_count_arg(argv[a++], v, 86400);
        } else if (strcmp(argv[a], "--timeout-ms") == 0 && v) {
            timeout_ms = bench_count_arg(argv[a++], v, 600000);
        } else if (strcmp(argv[a], "--model") == 0 && v) {
            model = argv[++a];
        } else if (strcmp(argv[a], "--texts") == 0 && v) {
            texts = argv[++a];
        } else if (strcmp(argv[a], "--out") == 0 && v) {
            dir = argv[++a];
        } else if (argv[a][0] == '-' || url) {
            bench_fail("bad argument \"%s\"\n%s", argv[a], usage);
        } else {
            url = argv[a];
        }
    }
    if (!url || !model || !texts || !dir) {
        bench_fail("URL, --model, --texts and --out are needed\n%s", usage);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    g.texts = bench_dataset_load(texts, 0);
    open_all(url, model, timeout_ms, &m);
    g.timeout_us = (int64_t)timeout_ms * 1000;
    g.start_ms = wall_ms();
    g.end_ms = g.start_ms + (int64_t)seconds * 1000;
    g.nslots = (size_t)seconds * 1000 / SLOT_MS + 1;
    g.slots = bench_calloc(g.nslots * (size_t)nthreads, sizeof(slot));
    ws = bench_calloc((size_t)nthreads, sizeof(*ws));

    pf = out_file(dir, "probe");
    if (pthread_create(&ptid, NULL, probe, pf) != 0) {
        bench_fail("pthread_create failed");
    }
    for (long i = 0; i < nthreads; i++) {
        char name[32];

        snprintf(name, sizeof(name), "feedback.%ld", i);
        ws[i].idx = (unsigned)i;
        ws[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        ws[i].fb = out_file(dir, name);
        if (pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0) {
            bench_fail("pthread_create failed");
        }
    }
    for (long i = 0; i < nthreads; i++) {
        pthread_join(ws[i].tid, NULL);
        close_file(ws[i].fb, "feedback records");
    }
    pthread_join(ptid, NULL);
    close_file(pf, "probe");
    write_results(dir, ws, (unsigned)nthreads);

    free(ws);
    free(g.slots);
    tc_classifier_close(g.cls);
    tc_model_free(m);
    tc_cache_close(g.h);
    bench_dataset_free(&g.texts);
    return 0;
}
