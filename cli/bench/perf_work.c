/*
 * perf_work.c - the workload of `bench classify` and `loadtest`: texts
 * (a file's lines, or questions built from templates), the classifier
 * (built-in model or exec backend, through the configured cache), and
 * streams of requests that repeat an exact share of the texts.
 *
 * Every text carries a tag unique to the run. Without it a second run on
 * a persistent store (LMDB, Redis) would find its "new" texts cached by
 * the first, and a cold scenario would measure hits.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_rand.h"
#include "bench/perf_work.h"

/* A line longer than this is not a question; --texts skips it. */
#define MAX_LINE 65536

/* " (run TAG.CYCLE)": the suffix that keeps texts distinct. */
#define SUFFIX_MAX 40

int64_t perf_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void perf_sleep_until(int64_t when)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(when / 1000000000);
    ts.tv_nsec = (long)(when % 1000000000);
    while (perf_now_ns() < when &&
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR) {
    }
}

/* ---- texts -------------------------------------------------------------- */

/*
 * The built-in texts: questions of the kinds the example model knows,
 * 8 templates x 24 tasks x 12 languages = 2,304 distinct questions per
 * cycle, in an order where neighbours differ in template and task.
 */
static const char *const templates[] = {
    "How do I {T} in {L}?",
    "Write a {L} function to {T}.",
    "My {L} code fails when I {T}, how do I fix it?",
    "Can you explain step by step how to {T} in {L}?",
    "What is the fastest way to {T} in {L}?",
    "Explain like I am a beginner how to {T} using {L}.",
    "Give me a {L} exercise where I have to {T}.",
    "Why does my attempt to {T} in {L} return the wrong result?",
};

static const char *const tasks[] = {
    "reverse a list",
    "read a file line by line",
    "sort a dictionary by value",
    "parse a JSON string",
    "merge two sorted lists",
    "remove duplicates from an array",
    "format a date as ISO 8601",
    "split a string on commas",
    "find the largest number in a list",
    "count the words in a sentence",
    "check whether a string is a palindrome",
    "connect to a SQL database",
    "write a unit test",
    "handle a missing key",
    "compute a factorial recursively",
    "catch an exception",
    "make an HTTP request",
    "read command line arguments",
    "convert a string to an integer",
    "iterate over a map",
    "implement a binary search",
    "define a class with a constructor",
    "measure how long a function takes",
    "fix an off-by-one error in a loop",
};

static const char *const langs[] = {
    "Python", "JavaScript", "Java",       "C",      "C++",   "Go",
    "Rust",   "Ruby",       "TypeScript", "Kotlin", "Swift", "PHP",
};

#define NTEMPLATES (sizeof(templates) / sizeof(templates[0]))
#define NTASKS (sizeof(tasks) / sizeof(tasks[0]))
#define NLANGS (sizeof(langs) / sizeof(langs[0]))
#define NBUILTIN (NTEMPLATES * NTASKS * NLANGS)

/* Appends s to buf at *at, never past cap - 1. */
static void put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + n > cap - 1) {
        n = cap - 1 - *at;
    }
    memcpy(buf + *at, s, n);
    *at += n;
}

/* Built-in question number i (i < NBUILTIN) into buf. */
static size_t builtin(size_t i, char *buf, size_t cap)
{
    const char *p = templates[i % NTEMPLATES];
    const char *task = tasks[(i / NTEMPLATES) % NTASKS];
    const char *lang = langs[i / (NTEMPLATES * NTASKS)];
    size_t at = 0;

    for (; *p; p++) {
        if (p[0] == '{' && (p[1] == 'T' || p[1] == 'L') && p[2] == '}') {
            const char *s = p[1] == 'T' ? task : lang;

            put(buf, cap, &at, s, strlen(s));
            p += 2;
        } else {
            put(buf, cap, &at, p, 1);
        }
    }
    return at;
}

size_t perf_text(const perf_texts *t, size_t i, char *buf)
{
    size_t cap = t->max + 1, nbase = t->lines ? t->nlines : NBUILTIN;
    size_t cycle = i / nbase, at;
    char suffix[SUFFIX_MAX + 8];
    int n;

    if (t->lines) {
        at = 0;
        put(buf, cap, &at, t->lines[i % nbase], strlen(t->lines[i % nbase]));
    } else {
        at = builtin(i % nbase, buf, cap);
    }
    if (cycle == 0) {
        n = snprintf(suffix, sizeof(suffix), " (run %s)", t->tag);
    } else {
        n = snprintf(suffix, sizeof(suffix), " (run %s.%zu)", t->tag, cycle);
    }
    put(buf, cap, &at, suffix, (size_t)n);
    buf[at] = '\0';
    return at;
}

typedef struct keyed {
    char *norm;
    size_t line;
} keyed;

static int by_norm(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->norm, y->norm);

    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/*
 * Drops the lines whose normalized form repeats an earlier line's: the
 * same question twice would be a hit in a scenario promised to miss.
 * Keeps the first of each, in file order. Returns 0, or -1 out of memory.
 */
static int dedupe(perf_texts *t, size_t *dropped)
{
    keyed *k = calloc(t->nlines ? t->nlines : 1, sizeof(*k));
    char *keep;
    size_t i, n = 0, len;
    int rc = -1;

    *dropped = 0;
    if (!k || !(keep = calloc(t->nlines ? t->nlines : 1, 1))) {
        free(k);
        return -1;
    }
    for (i = 0; i < t->nlines; i++) {
        if (tc_text_normalize(&k[i].norm, &len, t->lines[i],
                              strlen(t->lines[i])) != TC_OK) {
            goto done;
        }
        k[i].line = i;
    }
    qsort(k, t->nlines, sizeof(*k), by_norm);
    for (i = 0; i < t->nlines; i++) {
        keep[k[i].line] = i == 0 || strcmp(k[i].norm, k[i - 1].norm) != 0;
    }
    for (i = 0; i < t->nlines; i++) {
        if (keep[i]) {
            t->lines[n++] = t->lines[i];
        } else {
            free(t->lines[i]);
            ++*dropped;
        }
    }
    t->nlines = n;
    rc = 0;
done:
    for (i = 0; i < t->nlines + *dropped; i++) {
        tc_free(k[i].norm);
    }
    free(k);
    free(keep);
    return rc;
}

/* Whether a line can be classified: UTF-8, not only white space. */
static int usable(const char *line, size_t len)
{
    char *norm = NULL;
    size_t nlen = 0;
    int rc;

    if (len > MAX_LINE) {
        return 0;
    }
    rc = tc_text_normalize(&norm, &nlen, line, len);
    tc_free(norm);
    return rc == TC_OK && nlen > 0;
}

static int read_lines(perf_texts *t, FILE *fp, const char *who,
                      const char *path, size_t *skipped)
{
    char *line = NULL, **nl;
    size_t cap = 0, room = 0, len;
    ssize_t got;

    *skipped = 0;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (!usable(line, len) || memchr(line, '\0', len)) {
            ++*skipped;
            continue;
        }
        if (t->nlines == room) {
            room = room ? room * 2 : 256;
            if (!(nl = realloc(t->lines, room * sizeof(*nl)))) {
                goto oom;
            }
            t->lines = nl;
        }
        if (!(t->lines[t->nlines] = strdup(line))) {
            goto oom;
        }
        t->nlines++;
        t->max = len > t->max ? len : t->max;
    }
    free(line);
    if (ferror(fp)) {
        cli_err("%s: %s: %s", who, path, strerror(errno));
        return CLI_USAGE;
    }
    return CLI_OK;
oom:
    free(line);
    cli_err("%s: out of memory", who);
    return CLI_FAIL;
}

int perf_texts_init(perf_texts *t, const char *path, const char *who)
{
    size_t skipped = 0, dropped = 0;
    unsigned long long mix;
    FILE *fp;
    int rc;

    memset(t, 0, sizeof(*t));
    /* the time and the pid, mixed (splitmix64's finalizer) */
    mix = (unsigned long long)perf_now_ns() ^
          ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL);
    mix = (mix ^ (mix >> 30)) * 0xbf58476d1ce4e5b9ULL;
    mix = (mix ^ (mix >> 27)) * 0x94d049bb133111ebULL;
    snprintf(t->tag, sizeof(t->tag), "%08llx", (mix ^ (mix >> 31)) >> 32);
    if (!path) {
        char buf[256];
        size_t i, n;

        for (i = 0; i < NBUILTIN; i++) {
            n = builtin(i, buf, sizeof(buf));
            t->max = n > t->max ? n : t->max;
        }
        t->max += SUFFIX_MAX;
        return CLI_OK;
    }
    if (!(fp = fopen(path, "r"))) {
        cli_err("%s: %s: %s", who, path, strerror(errno));
        return CLI_USAGE;
    }
    rc = read_lines(t, fp, who, path, &skipped);
    fclose(fp);
    if (rc == CLI_OK && dedupe(t, &dropped) != 0) {
        cli_err("%s: out of memory", who);
        rc = CLI_FAIL;
    }
    if (rc != CLI_OK) {
        return rc;
    }
    if (skipped || dropped) {
        cli_err("%s: %s: %zu lines skipped (empty, over 64 KiB or not "
                "UTF-8), %zu repeated another after normalization",
                who, path, skipped, dropped);
    }
    if (t->nlines == 0) {
        cli_err("%s: %s: no text to classify", who, path);
        return CLI_BADINPUT;
    }
    t->max += SUFFIX_MAX;
    return CLI_OK;
}

void perf_texts_free(perf_texts *t)
{
    size_t i;

    for (i = 0; i < t->nlines; i++) {
        free(t->lines[i]);
    }
    free(t->lines);
    memset(t, 0, sizeof(*t));
}

/* ---- the classifier ----------------------------------------------------- */

int perf_classifier_open(perf_classifier *pc, cli_ctx *ctx, const char *who,
                         const char *model, const char *backend, int threads,
                         size_t l1_bytes)
{
    tc_classifier_options co;
    tc_options saved = ctx->opt;
    char fp[33];
    int rc;

    memset(pc, 0, sizeof(*pc));
    if (ctx->opt.pool_size <= 0) {
        ctx->opt.pool_size = threads > 8 ? threads : 8;
    }
    if (ctx->opt.l1_max_bytes < l1_bytes) {
        ctx->opt.l1_max_bytes = l1_bytes;
    }
    rc = cli_open(ctx, &pc->h);
    ctx->opt = saved;
    if (rc != CLI_OK) {
        return rc;
    }
    /* measuring a cache whose store is down would measure the model */
    if ((rc = tc_cache_ping(pc->h, NULL)) != TC_OK) {
        return cli_fail(pc->h, rc, who);
    }
    tc_classifier_options_init(&co);
    pc->a.model = model;
    pc->a.backend = backend;
    pc->a.timeout_ms = EXEC_BACKEND_TIMEOUT_MS;
    if ((rc = cli_answerer_open(&pc->a, pc->h, who, &co)) != CLI_OK) {
        return rc;
    }
    if (backend) {
        snprintf(pc->what, sizeof(pc->what), "exec:%s", backend);
    } else {
        tc_model_fingerprint(fp, pc->a.m);
        snprintf(pc->what, sizeof(pc->what), "model %s (%s)", pc->a.model_path,
                 fp);
    }
    if ((rc = tc_classifier_open(&pc->c, pc->h, &co)) != TC_OK) {
        return cli_fail(pc->h, rc, who);
    }
    return CLI_OK;
}

void perf_classifier_close(perf_classifier *pc)
{
    tc_classifier_close(pc->c);
    cli_answerer_close(&pc->a);
    tc_cache_close(pc->h);
    memset(pc, 0, sizeof(*pc));
}

int perf_is_hit(tc_source source)
{
    return source == TC_SOURCE_L1 || source == TC_SOURCE_L2 ||
           source == TC_SOURCE_FEEDBACK;
}

/* ---- the stream of requests --------------------------------------------- */

size_t perf_stream(uint32_t *idx, size_t n, double ratio, size_t first_new,
                   int within, uint64_t seed, size_t *nnew)
{
    uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ULL;
    size_t i, j, k, repeats = 0, fresh = 0, pool;
    uint32_t tmp;

    /*
     * Exactly k repeats, wherever the shuffle puts them: a count drawn
     * per request would only approach the ratio, and the tests could
     * then not check the hits to the unit. idx holds 1 for a repeat
     * until the second pass turns flags into text numbers.
     */
    k = (size_t)llround((double)n * ratio);
    k = k > n ? n : k;
    for (i = 0; i < n; i++) {
        idx[i] = i < k;
    }
    for (i = n; i > 1; i--) {
        j = (size_t)(bench_rand(&s) % i);
        tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
    for (i = 0; i < n; i++) {
        pool = first_new + (within ? fresh : 0);
        if (idx[i] && pool == 0) {
            /* nothing seen yet: trade places with the next new request */
            for (j = i + 1; j < n && idx[j]; j++) {
            }
            if (j < n) {
                idx[j] = 1;
            }
            idx[i] = 0;
        }
        if (idx[i]) {
            idx[i] = (uint32_t)(bench_rand(&s) % pool);
            repeats++;
        } else {
            idx[i] = (uint32_t)(first_new + fresh++);
        }
    }
    *nnew = fresh;
    return repeats;
}
