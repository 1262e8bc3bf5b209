/*
 * check_cli_perf.c - the performance commands of the built `tutorcache`
 * binary, `bench classify` and `loadtest`, run as a user runs them (a fork
 * and exec per call, a clean environment in a temp dir) with stdout,
 * stderr and the exit code checked apart. Only their counting is checked,
 * never their speed: the scenarios and streams are deterministic, so hit
 * counts, request counts and error counts are asserted to the unit.
 * loadtest --url is driven against a small HTTP server forked here, which
 * also exercises keep-alive, chunked answers and dropped connections. The
 * latency histogram both commands use is checked for its precision.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "suites.h"

/*
 * The histogram is the CLI's, not the library's, and the test binary links
 * only the library: compiled in here, its precision is checked directly.
 */
#include "../cli/bench/perf_hist.c"

#define TRAIN_DATA "examples/intents.jsonl"
#define ENDPOINT "/api/v1/intents/classify"

/* ---- state a failed assertion must not leak ----------------------------- */

static char *g_tmp;        /* the test's HOME */
static char *g_shared;     /* the trained model's dir, for the whole case */
static char g_bin[4096];   /* the binary */
static char g_model[4200]; /* the shared model file */
static pid_t g_server;     /* the HTTP server's pid, or 0 */

static void case_setup(void)
{
    g_shared = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_shared);
    snprintf(g_model, sizeof(g_model), "%s/intents.tcm", g_shared);
}

static void case_teardown(void)
{
    if (g_shared) {
        tt_rmtree(g_shared);
        free(g_shared);
        g_shared = NULL;
    }
}

static void setup(void)
{
    snprintf(g_bin, sizeof(g_bin), "%s/tutorcache", tt_build_dir());
    ck_assert_msg(access(g_bin, X_OK) == 0, "%s: not built (%s)", g_bin,
                  strerror(errno));
    ck_assert_msg(access(TRAIN_DATA, R_OK) == 0,
                  "run from the source tree: %s is needed", TRAIN_DATA);
    g_tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_tmp);
    tt_cli.bin = g_bin;
    tt_cli.home = g_tmp;
    tt_cli.url = "memory:";
    signal(SIGPIPE, SIG_IGN);
}

static void server_stop(void)
{
    if (g_server > 0) {
        kill(g_server, SIGKILL);
        waitpid(g_server, NULL, 0);
        g_server = 0;
    }
}

static void teardown(void)
{
    server_stop();
    if (g_tmp) {
        tt_rmtree(g_tmp);
        free(g_tmp);
        g_tmp = NULL;
    }
}

/* ---- running the binary ------------------------------------------------- */

/* Every line of stderr is a diagnostic: "tutorcache: ...". */
static void expect_diagnostics_only(const run *r)
{
    const char *p = r->err;

    while (*p) {
        ck_assert_msg(strncmp(p, "tutorcache: ", 12) == 0,
                      "stderr line without the prefix: %s", p);
        p = strchr(p, '\n');
        ck_assert_ptr_nonnull(p);
        p++;
    }
}

/* ---- JSON output -------------------------------------------------------- */

typedef struct lines {
    cJSON *v[32];
    size_t n;
} lines;

static void parse_lines(lines *ls, const char *out)
{
    const char *p = out, *nl;

    memset(ls, 0, sizeof(*ls));
    while (*p) {
        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line without a newline: %s", p);
        ck_assert_uint_lt(ls->n, 32);
        ls->v[ls->n] = cJSON_ParseWithLength(p, (size_t)(nl - p));
        ck_assert_msg(cJSON_IsObject(ls->v[ls->n]), "not a JSON object: %.*s",
                      (int)(nl - p), p);
        ls->n++;
        p = nl + 1;
    }
}

static void lines_free(lines *ls)
{
    size_t i;

    for (i = 0; i < ls->n; i++) {
        cJSON_Delete(ls->v[i]);
    }
    ls->n = 0;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsNumber(f), "\"%s\" is not a number", name);
    return f->valuedouble;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsString(f), "\"%s\" is not a string", name);
    return f->valuestring;
}

/* ---- files -------------------------------------------------------------- */

static void write_file(const char *path, const char *text, int mode)
{
    FILE *fp = fopen(path, "w");

    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, (mode_t)mode), 0);
}

/* Trains the shared example model once; the later tests reuse it. */
static const char *model(void)
{
    how h = {0};
    run r;

    if (access(g_model, R_OK) == 0) {
        return g_model;
    }
    cli(&r, &h, "train", TRAIN_DATA, "-o", g_model, "--seed", "7", "--threads",
        "1");
    expect(&r, 0, NULL, "");
    run_free(&r);
    return g_model;
}

/* ---- bench classify ----------------------------------------------------- */

/*
 * One scenario line of bench classify: its name, request count, and the
 * counts adding up: hits are the l1, l2 and feedback sources, the model
 * answered the rest but the errors, and hit_rate is hits over requests.
 * Latencies are ordered. Returns the hits.
 */
static long check_scenario(const cJSON *o, const char *name, long requests,
                           int threads)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "sources");
    long hits = (long)jnum(o, "hits"), errors = (long)jnum(o, "errors");
    double rate = jnum(o, "hit_rate");

    ck_assert_str_eq(jstr(o, "scenario"), name);
    ck_assert_int_eq((long)jnum(o, "requests"), requests);
    ck_assert_int_eq((long)jnum(o, "threads"), threads);
    ck_assert_int_eq(errors, 0);
    ck_assert(cJSON_IsObject(src));
    ck_assert_int_eq(
        (long)(jnum(src, "l1") + jnum(src, "l2") + jnum(src, "feedback")),
        hits);
    ck_assert_int_eq(hits + (long)jnum(src, "model") + errors, requests);
    ck_assert_msg(rate >= 0 && rate <= 1, "%s: hit_rate %g", name, rate);
    ck_assert_msg(fabs(rate - (double)hits / (double)requests) < 1e-9,
                  "%s: hit_rate %g for %ld hits of %ld", name, rate, hits,
                  requests);
    ck_assert(jnum(o, "ops_per_sec") > 0);
    ck_assert(jnum(o, "p50_us") > 0);
    ck_assert(jnum(o, "p50_us") <= jnum(o, "p95_us"));
    ck_assert(jnum(o, "p95_us") <= jnum(o, "p99_us"));
    ck_assert(jnum(o, "p99_us") <= jnum(o, "max_us"));
    return hits;
}

START_TEST(test_bench_classify_json)
{
    static const char *const names[] = {"cold",          "warm",
                                        "mixed",         "cold_threads2",
                                        "warm_threads2", "mixed_threads2"};
    const char *m = model();
    how h = {0};
    lines ls;
    size_t i;
    run r;

    cli(&r, &h, "bench", "classify", "--model", m, "--requests", "200",
        "--threads", "2", "--json");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 7);
    for (i = 0; i < 6; i++) {
        long hits = check_scenario(ls.v[i], names[i], 200, i < 3 ? 1 : 2);

        /* cold: all misses; warm: all hits; mixed: exactly 0.8 x 200 */
        ck_assert_int_eq(hits, i % 3 == 0 ? 0 : i % 3 == 1 ? 200 : 160);
    }
    ck_assert_double_eq(jnum(ls.v[0], "hit_rate"), 0.0);
    ck_assert_double_eq(jnum(ls.v[1], "hit_rate"), 1.0);
    ck_assert_double_eq(jnum(ls.v[2], "hit_rate"), 0.8);
    ck_assert_str_eq(jstr(ls.v[6], "scenario"), "summary");
    ck_assert(jnum(ls.v[6], "speedup") > 0);
    ck_assert(jnum(ls.v[6], "speedup_threads") > 0);
    ck_assert_int_eq((int)jnum(ls.v[6], "threads"), 2);
    ck_assert_str_eq(jstr(ls.v[6], "store"), "memory");
    ck_assert_ptr_nonnull(strstr(jstr(ls.v[6], "classifier"), m));
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* The mixed stream repeats exactly round(requests x ratio) texts. */
START_TEST(test_bench_classify_hit_ratio)
{
    static const struct {
        const char *ratio, *requests;
        long hits;
    } cases[] = {{"0.5", "200", 100},
                 {"0.25", "200", 50},
                 {"0", "100", 0},
                 {"1", "100", 100},
                 {"0.333", "50", 17}};
    const char *m = model();
    how h = {0};
    lines ls;
    size_t i;
    run r;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long n = atol(cases[i].requests);

        cli(&r, &h, "bench", "classify", "--model", m, "--requests",
            cases[i].requests, "--hit-ratio", cases[i].ratio, "--threads", "1",
            "--json");
        expect(&r, 0, NULL, "");
        parse_lines(&ls, r.out);
        ck_assert_uint_eq(ls.n, 4);
        check_scenario(ls.v[0], "cold", n, 1);
        check_scenario(ls.v[1], "warm", n, 1);
        ck_assert_msg(check_scenario(ls.v[2], "mixed", n, 1) == cases[i].hits,
                      "--hit-ratio %s: %s", cases[i].ratio, r.out);
        ck_assert_double_eq_tol(jnum(ls.v[3], "hit_ratio"),
                                atof(cases[i].ratio), 1e-9);
        lines_free(&ls);
        run_free(&r);
    }
}
END_TEST

/*
 * On a store that outlives the process, a second run's cold texts are
 * still new (each run tags its texts), and --texts lines that repeat after
 * normalization are dropped, so cold stays all misses.
 */
START_TEST(test_bench_classify_persistent_texts)
{
    char url[4200], texts[4200];
    const char *m = model();
    how h = {0};
    lines ls;
    int i;
    run r;

    snprintf(url, sizeof(url), "lmdb://%s/db", g_tmp);
    snprintf(texts, sizeof(texts), "%s/texts.txt", g_tmp);
    write_file(texts,
               "How do I reverse a list in Python?\n"
               "how  do i REVERSE a list in python\n"
               "\n"
               "   \n"
               "Explain recursion like I am five.\r\n"
               "Fix my segfault in C\n",
               0644);
    h.url = url;
    for (i = 0; i < 2; i++) {
        cli(&r, &h, "bench", "classify", "--model", m, "--requests", "30",
            "--threads", "1", "--texts", texts, "--json");
        expect(&r, 0, NULL, "1 repeated another");
        ck_assert_ptr_nonnull(strstr(r.err, "2 lines skipped"));
        expect_diagnostics_only(&r);
        parse_lines(&ls, r.out);
        ck_assert_uint_eq(ls.n, 4);
        ck_assert_int_eq(check_scenario(ls.v[0], "cold", 30, 1), 0);
        ck_assert_int_eq(check_scenario(ls.v[1], "warm", 30, 1), 30);
        ck_assert_int_eq(check_scenario(ls.v[2], "mixed", 30, 1), 24);
        ck_assert_str_eq(jstr(ls.v[3], "store"), "lmdb");
        ck_assert_str_eq(jstr(ls.v[3], "texts"), texts);
        lines_free(&ls);
        run_free(&r);
    }
}
END_TEST

/* The table for people, and the model found through TUTORCACHE_MODEL. */
START_TEST(test_bench_classify_table)
{
    char env[4300];
    const char *envs[] = {env, NULL};
    how h = {.env = envs};
    run r;

    snprintf(env, sizeof(env), "TUTORCACHE_MODEL=%s", model());
    cli(&r, &h, "bench", "classify", "--requests", "40", "--threads", "1");
    expect(&r, 0, NULL, "");
    ck_assert_int_eq(strncmp(r.out, "speedup ", 8), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\nscenario "));
    ck_assert_ptr_nonnull(strstr(r.out, "\ncold "));
    ck_assert_ptr_nonnull(strstr(r.out, "\nwarm "));
    ck_assert_ptr_nonnull(strstr(r.out, "\nmixed "));
    ck_assert_ptr_null(strstr(r.out, "_threads"));
    run_free(&r);
}
END_TEST

/* An exec backend's answers are cached too; a broken one fails the run. */
START_TEST(test_bench_classify_backend)
{
    char good[4200], bad[4200], spec[4300];
    how h = {0};
    lines ls;
    run r;

    snprintf(good, sizeof(good), "%s/good.sh", g_tmp);
    snprintf(bad, sizeof(bad), "%s/bad.sh", g_tmp);
    write_file(good,
               "while IFS= read -r line; do\n"
               "  echo '{\"intent\": \"greeting\", \"confidence\": 0.875}'\n"
               "done\n",
               0755);
    write_file(bad, "while IFS= read -r line; do echo 'not json'; done\n",
               0755);
    snprintf(spec, sizeof(spec), "exec:sh %s", good);
    cli(&r, &h, "bench", "classify", "--backend", spec, "--requests", "20",
        "--threads", "2", "--json");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 7);
    ck_assert_int_eq(check_scenario(ls.v[0], "cold", 20, 1), 0);
    ck_assert_int_eq(check_scenario(ls.v[1], "warm", 20, 1), 20);
    ck_assert_int_eq(check_scenario(ls.v[5], "mixed_threads2", 20, 2), 16);
    ck_assert_ptr_nonnull(strstr(jstr(ls.v[6], "classifier"), "exec:sh "));
    lines_free(&ls);
    run_free(&r);

    /* every answer is garbage: the numbers come out, then exit 5 */
    snprintf(spec, sizeof(spec), "exec:sh %s", bad);
    cli(&r, &h, "bench", "classify", "--backend", spec, "--requests", "10",
        "--threads", "1", "--json");
    expect(&r, 5, NULL, "10 of 10 classifications failed (TC_ELOADER");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 4);
    ck_assert_int_eq((long)jnum(ls.v[0], "errors"), 10);
    ck_assert_int_eq((long)jnum(ls.v[0], "hits"), 0);
    lines_free(&ls);
    run_free(&r);
}
END_TEST

START_TEST(test_bench_classify_usage)
{
    char m[4200], empty[4200], missing[4200];
    const char *const cases[][12] = {
        {"bench", "classify", "--model", m, "--hit-ratio", "1.5", NULL},
        {"bench", "classify", "--model", m, "--hit-ratio", "half", NULL},
        {"bench", "classify", "--model", m, "--requests", "0", NULL},
        {"bench", "classify", "--model", m, "--requests", "2000000", NULL},
        {"bench", "classify", "--model", m, "--threads", "0", NULL},
        {"bench", "classify", "--model", m, "--backend", "exec:cat", NULL},
        {"bench", "classify", "--model", m, "--backend", "cat", NULL},
        {"bench", "classify", "--model", m, "--keys", "5", NULL},
        {"bench", "classify", "--model", m, "--seconds", "1", NULL},
        {"bench", "cache", "--hit-ratio", "0.5", NULL},
        {"bench", "cache", "--model", m, NULL},
        {"bench", "classify", "cache", "--model", m, NULL},
        {"bench", "classify", "--model", missing, "--requests", "5", NULL},
        {"bench", "classify", "--model", m, "--texts", missing, NULL},
        {"bench", "classify", "--requests", "5", NULL},
    };
    how h = {0};
    size_t i;
    run r;

    snprintf(m, sizeof(m), "%s", model());
    snprintf(missing, sizeof(missing), "%s/missing", g_tmp);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_argv(&r, &h, (char *const *)cases[i]);
        ck_assert_msg(r.code == 2 && r.outlen == 0 &&
                          strncmp(r.err, "tutorcache: ", 12) == 0,
                      "case %zu: exit %d, stdout \"%s\", stderr %s", i, r.code,
                      r.out, r.err);
        run_free(&r);
    }
    cli(&r, &h, "bench", "classify", "--requests", "5");
    expect(&r, 2, "", "no model");
    run_free(&r);
    cli(&r, &h, "bench", "classify", "--model", m, "--keys", "5");
    expect(&r, 2, "", "--keys is an option of bench cache");
    run_free(&r);
    cli(&r, &h, "bench", "nope");
    expect(&r, 2, "", "only: cache, classify");
    run_free(&r);
    /* a texts file without one usable line is bad input */
    snprintf(empty, sizeof(empty), "%s/empty.txt", g_tmp);
    write_file(empty, "\n  \n\t\n", 0644);
    cli(&r, &h, "bench", "classify", "--model", m, "--texts", empty);
    expect(&r, 4, "", "no text to classify");
    run_free(&r);
}
END_TEST

/* ---- loadtest ----------------------------------------------------------- */

/*
 * The summary of a loadtest: the schedule's exact request count, every one
 * sent and answered (minus the expected errors), counts adding up, and
 * ordered latencies. Returns the hits.
 */
static long check_summary(const cJSON *o, long requests, long errors)
{
    long ok = (long)jnum(o, "ok"), hits = (long)jnum(o, "hits");

    ck_assert_int_eq((long)jnum(o, "requests"), requests);
    ck_assert_int_eq((long)jnum(o, "sent"), requests);
    ck_assert_int_eq((long)jnum(o, "unsent"), 0);
    ck_assert_int_eq((long)jnum(o, "errors"), errors);
    ck_assert_int_eq(ok, requests - errors);
    ck_assert(hits >= 0 && hits <= ok);
    /* JSON carries 15 digits: the same number, not the same bits */
    ck_assert_msg(
        fabs(jnum(o, "hit_rate") - (ok ? (double)hits / (double)ok : 0)) < 1e-9,
        "hit_rate %.17g for %ld hits of %ld", jnum(o, "hit_rate"), hits, ok);
    /* at most the target: answers over at least the duration */
    ck_assert(jnum(o, "achieved_rps") <= jnum(o, "target_rps"));
    ck_assert(jnum(o, "achieved_rps") > 0 || ok == 0);
    ck_assert(jnum(o, "p50_ms") <= jnum(o, "p95_ms"));
    ck_assert(jnum(o, "p95_ms") <= jnum(o, "p99_ms"));
    ck_assert(jnum(o, "p99_ms") <= jnum(o, "p999_ms"));
    ck_assert(jnum(o, "p999_ms") <= jnum(o, "max_ms"));
    ck_assert(jnum(o, "service_p50_ms") <= jnum(o, "service_p99_ms"));
    ck_assert(ok == 0 || jnum(o, "max_ms") > 0);
    return hits;
}

START_TEST(test_loadtest_in_process)
{
    const char *m = model();
    how h = {0};
    lines ls;
    long hits;
    run r;

    cli(&r, &h, "loadtest", "--rps", "200", "--duration", "1", "--model", m,
        "--json");
    expect(&r, 0, NULL, NULL);
    expect_diagnostics_only(&r);
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert_str_eq(jstr(ls.v[0], "target"), "in-process");
    ck_assert_double_eq(jnum(ls.v[0], "target_rps"), 200);
    ck_assert_double_eq(jnum(ls.v[0], "duration_s"), 1);
    ck_assert_int_eq((int)jnum(ls.v[0], "threads"), 8);
    hits = check_summary(ls.v[0], 200, 0);
    /* 160 requests repeat an earlier text; one still being classified
     * when its repeat is due would be a miss */
    ck_assert_msg(hits >= 120 && hits <= 160, "hits %ld", hits);
    lines_free(&ls);
    run_free(&r);

    /* the table, a fractional rate, one thread, no repeats */
    cli(&r, &h, "loadtest", "--rps", "12.5", "--duration", "0.8", "--model", m,
        "--threads", "1", "--hit-ratio", "0");
    expect(&r, 0, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r.out, "\nrequests "));
    ck_assert_ptr_nonnull(strstr(r.out, "\np999_ms "));
    ck_assert_ptr_nonnull(strstr(r.out, "\nhits            0\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\nrequests        10\n"));
    run_free(&r);
}
END_TEST

/* ---- a small HTTP server ------------------------------------------------ */

enum {
    SRV_CHUNKED = 1, /* odd answers chunked */
    SRV_CLOSE = 2,   /* every 5th answer says Connection: close */
    SRV_DROP = 4,    /* every 7th answer's connection closed silently */
    SRV_500 = 8      /* every 10th request answered 500 */
};

typedef struct sconn {
    int fd;
    char buf[65536];
    size_t len;
} sconn;

static int write_all(int fd, const char *p, size_t n)
{
    ssize_t k;

    while (n > 0) {
        k = write(fd, p, n);
        if (k <= 0 && errno != EINTR) {
            return -1;
        }
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
    return 0;
}

/*
 * Answers one request if a whole one is buffered: 1 done (the connection
 * goes on), 0 not yet, -1 close the connection. A text seen before is
 * answered "source": "l1", a new one "model".
 */
static int answer(sconn *c, unsigned flags, long *served, char **seen,
                  size_t *nseen)
{
    char head[512], out[1024], body[256];
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl, *line_end;
    size_t hlen, blen, n, i;
    int status = 200, hit = 0, close_after = 0, chunked;
    cJSON *req, *text;

    if (!end) {
        return 0;
    }
    hlen = (size_t)(end - c->buf) + 4;
    c->buf[hlen - 1] = '\0';
    cl = strcasestr(c->buf, "\r\nContent-Length:");
    blen = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    c->buf[hlen - 1] = '\n';
    if (c->len < hlen + blen) {
        return 0;
    }
    ++*served;
    line_end = memchr(c->buf, '\r', hlen);
    if (!line_end || strncmp(c->buf, "POST " ENDPOINT " HTTP/1.1",
                             (size_t)(line_end - c->buf)) != 0) {
        status = 404;
    }
    req = cJSON_ParseWithLength(c->buf + hlen, blen);
    text = cJSON_GetObjectItemCaseSensitive(req, "text");
    if (!cJSON_IsString(text)) {
        status = 400;
    } else {
        for (i = 0; i < *nseen && !hit; i++) {
            hit = strcmp(seen[i], text->valuestring) == 0;
        }
        if (!hit && *nseen < 4096) {
            seen[(*nseen)++] = strdup(text->valuestring);
        }
    }
    cJSON_Delete(req);
    if ((flags & SRV_500) && *served % 10 == 0) {
        status = 500;
    }
    snprintf(body, sizeof(body),
             "{\"intent\":\"debugging\",\"confidence\":0.9,\"source\":\"%s\"}",
             status == 200 ? (hit ? "l1" : "model") : "none");
    chunked = (flags & SRV_CHUNKED) && *served % 2;
    close_after = (flags & SRV_CLOSE) && *served % 5 == 0;
    snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%s%s\r\n", status,
             close_after ? "Connection: close\r\n" : "",
             chunked ? "Transfer-Encoding: chunked\r\n" : "");
    if (!chunked) {
        snprintf(head + strlen(head) - 2, sizeof(head) - strlen(head) + 2,
                 "Content-Length: %zu\r\n\r\n", strlen(body));
        n = (size_t)snprintf(out, sizeof(out), "%s%s", head, body);
    } else {
        size_t half = strlen(body) / 2;

        n = (size_t)snprintf(
            out, sizeof(out), "%s%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n", head,
            half, (int)half, body, strlen(body) - half, body + half);
    }
    /* the whole answer in one write, as a real server corks it */
    if (write_all(c->fd, out, n) != 0 || close_after ||
        ((flags & SRV_DROP) && *served % 7 == 0)) {
        return -1;
    }
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return 1;
}

/* The server's loop, in the forked child: never returns. */
static void serve(int lfd, unsigned flags)
{
    static sconn conns[64];
    static char *seen[4096];
    struct pollfd fds[65];
    size_t nseen = 0;
    long served = 0;
    int i, k;

    for (i = 0; i < 64; i++) {
        conns[i].fd = -1;
    }
    for (;;) {
        fds[0].fd = lfd;
        fds[0].events = POLLIN;
        for (i = 0; i < 64; i++) {
            fds[i + 1].fd = conns[i].fd;
            fds[i + 1].events = POLLIN;
        }
        if (poll(fds, 65, -1) < 0) {
            continue;
        }
        if (fds[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);

            for (i = 0; fd >= 0 && i < 64 && conns[i].fd >= 0; i++) {
            }
            if (fd >= 0 && i < 64) {
                conns[i].fd = fd;
                conns[i].len = 0;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (i = 0; i < 64; i++) {
            sconn *c = &conns[i];
            ssize_t got;

            if (c->fd < 0 || !(fds[i + 1].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
            if (got <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->len += (size_t)got;
            while ((k = answer(c, flags, &served, seen, &nseen)) > 0) {
            }
            if (k < 0 || c->len >= sizeof(c->buf) - 1) {
                close(c->fd);
                c->fd = -1;
            }
        }
    }
}

/*
 * Starts the server on a free loopback port (unix_path NULL) or on a unix
 * socket; returns the port (0 for a socket). Teardown kills it by pid.
 */
static int server_start(unsigned flags, const char *unix_path)
{
    struct sockaddr_in in4;
    struct sockaddr_un un;
    socklen_t sl = sizeof(in4);
    int lfd, port = 0;

    if (unix_path) {
        lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(&un, 0, sizeof(un));
        un.sun_family = AF_UNIX;
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", unix_path);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *)&un, sizeof(un)), 0);
    } else {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&in4, 0, sizeof(in4));
        in4.sin_family = AF_INET;
        in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *)&in4, sizeof(in4)), 0);
        ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&in4, &sl), 0);
        port = ntohs(in4.sin_port);
    }
    ck_assert_int_eq(listen(lfd, 64), 0);
    g_server = fork();
    ck_assert_int_ge(g_server, 0);
    if (g_server == 0) {
        signal(SIGPIPE, SIG_IGN);
        serve(lfd, flags);
        _exit(0);
    }
    close(lfd);
    return port;
}

/* A loopback port nothing listens on (bound, then released). */
static int closed_port(void)
{
    struct sockaddr_in in4;
    socklen_t sl = sizeof(in4);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&in4, 0, sizeof(in4));
    in4.sin_family = AF_INET;
    in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&in4, sizeof(in4)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&in4, &sl), 0);
    port = ntohs(in4.sin_port);
    close(fd);
    return port;
}

/*
 * Against the server: keep-alive connections, chunked and plain answers,
 * connections the server closes with and without notice (the request is
 * sent again on a new one), and no error in the end.
 */
START_TEST(test_loadtest_http)
{
    char url[128], want[160];
    how h = {0};
    lines ls;
    long hits;
    run r;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d",
             server_start(SRV_CHUNKED | SRV_CLOSE | SRV_DROP, NULL));
    cli(&r, &h, "loadtest", "--rps", "200", "--duration", "1", "--threads", "4",
        "--url", url, "--json");
    expect(&r, 0, NULL, NULL);
    expect_diagnostics_only(&r);
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    snprintf(want, sizeof(want), "%s%s", url, ENDPOINT);
    ck_assert_str_eq(jstr(ls.v[0], "target"), want);
    hits = check_summary(ls.v[0], 200, 0);
    /* the server says l1 for a text it saw: the repeats of the stream */
    ck_assert_msg(hits >= 120 && hits <= 160, "hits %ld", hits);
    lines_free(&ls);
    run_free(&r);
}
END_TEST

START_TEST(test_loadtest_http_unix)
{
    char path[4200], url[4300];
    how h = {0};
    lines ls;
    run r;

    snprintf(path, sizeof(path), "%s/service.sock", g_tmp);
    server_start(SRV_CHUNKED, path);
    snprintf(url, sizeof(url), "unix:%s", path);
    cli(&r, &h, "loadtest", "--rps", "100", "--duration", "0.5", "--url", url,
        "--hit-ratio", "0", "--json");
    expect(&r, 0, NULL, NULL);
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert_int_eq(check_summary(ls.v[0], 50, 0), 0);
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* Errors are counted and the run still reports: exit 5 after the summary. */
START_TEST(test_loadtest_http_errors)
{
    char url[128];
    how h = {0};
    lines ls;
    run r;

    snprintf(url, sizeof(url), "http://localhost:%d/",
             server_start(SRV_500, NULL));
    cli(&r, &h, "loadtest", "--rps", "100", "--duration", "1", "--threads", "2",
        "--url", url, "--json");
    expect(&r, 5, NULL, "10 of 100 requests failed");
    ck_assert_ptr_nonnull(strstr(r.err, "HTTP 500"));
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    check_summary(ls.v[0], 100, 10);
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* Nothing listening: every request an error, exit 3 (unreachable). */
START_TEST(test_loadtest_refused)
{
    char url[128];
    how h = {0};
    lines ls;
    run r;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    cli(&r, &h, "loadtest", "--rps", "50", "--duration", "0.4", "--url", url,
        "--json");
    expect(&r, 3, NULL, "Connection refused");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    check_summary(ls.v[0], 20, 20);
    ck_assert_double_eq(jnum(ls.v[0], "achieved_rps"), 0);
    lines_free(&ls);
    run_free(&r);
}
END_TEST

START_TEST(test_loadtest_usage)
{
    char m[4200];
    const char *const cases[][12] = {
        {"loadtest", NULL},
        {"loadtest", "--rps", "10", NULL},
        {"loadtest", "--duration", "1", NULL},
        {"loadtest", "--rps", "0", "--duration", "1", NULL},
        {"loadtest", "--rps", "-5", "--duration", "1", NULL},
        {"loadtest", "--rps", "fast", "--duration", "1", NULL},
        {"loadtest", "--rps", "10", "--duration", "0", NULL},
        {"loadtest", "--rps", "10", "--duration", "3601", NULL},
        {"loadtest", "--rps", "1000000", "--duration", "3600", NULL},
        {"loadtest", "--rps", "0.1", "--duration", "1", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--threads", "0", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--hit-ratio", "2",
         NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "extra", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--model", m,
         "--backend", "exec:cat", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--model", m, "--url",
         "http://127.0.0.1:1", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", NULL},
    };
    static const char *const urls[] = {
        "http://10.0.0.1:8080",   "http://192.168.1.1",
        "http://example.com:80",  "http://127.0.0.1.example.com",
        "https://127.0.0.1:8443", "ftp://127.0.0.1",
        "http://[::2]:80",        "http://127.0.0.1:0",
        "http://127.0.0.1:70000", "http://user@127.0.0.1:80",
        "127.0.0.1:8080",         "http://:80"};
    how h = {0};
    size_t i;
    run r;

    snprintf(m, sizeof(m), "%s", model());
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_argv(&r, &h, (char *const *)cases[i]);
        ck_assert_msg(r.code == 2 && r.outlen == 0 &&
                          strncmp(r.err, "tutorcache: ", 12) == 0,
                      "case %zu: exit %d, stdout \"%s\", stderr %s", i, r.code,
                      r.out, r.err);
        run_free(&r);
    }
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        cli(&r, &h, "loadtest", "--rps", "10", "--duration", "1", "--url",
            urls[i]);
        ck_assert_msg(r.code == 2 && r.outlen == 0 &&
                          strstr(r.err, "tutorcache: loadtest: --url: "),
                      "%s: exit %d, stdout \"%s\", stderr %s", urls[i], r.code,
                      r.out, r.err);
        run_free(&r);
    }
    cli(&r, &h, "loadtest", "--rps", "10", "--duration", "1", "--url",
        "http://10.1.2.3:80");
    expect(&r, 2, "", "may only target this machine");
    run_free(&r);
    cli(&r, &h, "loadtest", "--rps", "10", "--duration", "1");
    expect(&r, 2, "", "no model");
    run_free(&r);
}
END_TEST

/* ---- the latency histogram ---------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/*
 * Quantiles within 1% of the exact ones from 100 ns to 100 s, exact count,
 * min and max, and two halves merged equal to the whole.
 */
START_TEST(test_hist_precision)
{
    enum { N = 20000 };
    static const double qs[] = {0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1};
    static uint64_t v[N];
    perf_hist *all = perf_hist_new(), *a = perf_hist_new(),
              *b = perf_hist_new();
    uint64_t s = 12345;
    size_t i, k, rank;

    ck_assert(all && a && b);
    ck_assert_double_eq(perf_hist_quantile(all, 0.5), 0);
    ck_assert_uint_eq(perf_hist_max(all), 0);
    for (i = 0; i < N; i++) {
        /* log-uniform over 100 ns .. 100 s: nine decades */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v[i] = (uint64_t)(100 * pow(10, 9.0 * (double)(s % 1000000) / 1e6));
        perf_hist_add(all, v[i]);
        perf_hist_add(i % 2 ? a : b, v[i]);
    }
    perf_hist_merge(a, b);
    qsort(v, N, sizeof(v[0]), cmp_u64);
    ck_assert_uint_eq(perf_hist_count(all), N);
    ck_assert_uint_eq(perf_hist_count(a), N);
    ck_assert_uint_eq(perf_hist_min(all), v[0]);
    ck_assert_uint_eq(perf_hist_max(all), v[N - 1]);
    for (k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        double got = perf_hist_quantile(all, qs[k]), want;

        rank = (size_t)ceil(qs[k] * N - 1e-9);
        want = (double)v[rank - 1];
        ck_assert_msg(fabs(got - want) <= 0.01 * want,
                      "q %g: %.0f ns, exact %.0f ns", qs[k], got, want);
        ck_assert_double_eq(perf_hist_quantile(a, qs[k]), got);
    }
    /* small values are exact; huge ones clamp but keep their max */
    perf_hist_reset(b);
    perf_hist_add(b, 7);
    perf_hist_add(b, 200 * PERF_HIST_MAX_NS);
    ck_assert_double_eq(perf_hist_quantile(b, 0.5), 7);
    ck_assert_double_eq(perf_hist_quantile(b, 1), 200.0 * PERF_HIST_MAX_NS);
    perf_hist_free(all);
    perf_hist_free(a);
    perf_hist_free(b);
}
END_TEST

/* ---- help --------------------------------------------------------------- */

START_TEST(test_help)
{
    static const char *const cmds[] = {"bench", "loadtest"};
    char want[64];
    how h = {0};
    run main_help, r, r2, r3;
    size_t i;

    cli(&main_help, &h, "--help");
    expect(&main_help, 0, NULL, "");
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        snprintf(want, sizeof(want), "\n  %s ", cmds[i]);
        ck_assert_msg(strstr(main_help.out, want) != NULL, "%s not in --help",
                      cmds[i]);
        cli(&r, &h, cmds[i], "--help");
        expect(&r, 0, NULL, "");
        snprintf(want, sizeof(want), "Usage: tutorcache %s", cmds[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
        cli(&r2, &h, cmds[i], "-h");
        expect(&r2, 0, r.out, "");
        cli(&r3, &h, "help", cmds[i]);
        expect(&r3, 0, r.out, "");
        run_free(&r2);
        run_free(&r3);
        run_free(&r);
    }
    cli(&r, &h, "bench", "classify", "--help");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "--hit-ratio"));
    run_free(&r);
    run_free(&main_help);
}
END_TEST

Suite *suite_cli_perf(void)
{
    Suite *s = suite_create("cli_perf");
    TCase *tc = tcase_create("cli_perf");

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_bench_classify_json);
    tcase_add_test(tc, test_bench_classify_hit_ratio);
    tcase_add_test(tc, test_bench_classify_persistent_texts);
    tcase_add_test(tc, test_bench_classify_table);
    tcase_add_test(tc, test_bench_classify_backend);
    tcase_add_test(tc, test_bench_classify_usage);
    tcase_add_test(tc, test_loadtest_in_process);
    tcase_add_test(tc, test_loadtest_http);
    tcase_add_test(tc, test_loadtest_http_unix);
    tcase_add_test(tc, test_loadtest_http_errors);
    tcase_add_test(tc, test_loadtest_refused);
    tcase_add_test(tc, test_loadtest_usage);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_hist_precision);
    suite_add_tcase(s, tc);
    return s;
}
