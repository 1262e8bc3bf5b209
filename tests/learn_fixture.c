/*
 * learn_fixture.c - the `feedback learn` suite's fixture (see
 * learn_fixture.h). Every step runs the built binary through the CLI
 * harness, as a user or cron would. The only state kept here is where the
 * test's files and store are; they all live in the case's dir, so that
 * they are removed even after a failed assertion cut a test short.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cli_harness.h"
#include "learn_fixture.h"
#include "suites.h"

static char *g_shared;     /* the case's dir */
static char g_model[4200]; /* the example model, in it */
static char *g_tmp;        /* the test's HOME, LMDB store and model */
static trs *g_srv;         /* the test's Redis, when it uses one */
static char g_bin[4096];
static char g_url[4200];
static char g_m[4200];

void lf_case_setup(void)
{
    g_shared = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_shared);
    snprintf(g_model, sizeof(g_model), "%s/intents.tcm", g_shared);
}

void lf_case_teardown(void)
{
    if (g_shared) {
        tt_rmtree(g_shared);
        free(g_shared);
        g_shared = NULL;
    }
}

void lf_setup(void)
{
    snprintf(g_bin, sizeof(g_bin), "%s/tutorcache", tt_build_dir());
    ck_assert_msg(access(g_bin, X_OK) == 0, "%s: not built (%s)", g_bin,
                  strerror(errno));
    ck_assert_msg(access(LF_CORRECTIONS, R_OK) == 0,
                  "run from the source tree: %s is needed", LF_CORRECTIONS);
    /* in the case's dir, which the case's teardown removes: a forked test
     * that fails exits at once, without its own teardown */
    g_tmp = malloc(strlen(g_shared) + 16);
    ck_assert_ptr_nonnull(g_tmp);
    sprintf(g_tmp, "%s/test.XXXXXX", g_shared);
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
    snprintf(g_url, sizeof(g_url), "lmdb://%s/db", g_tmp);
    snprintf(g_m, sizeof(g_m), "%s/m.tcm", g_tmp);
    tt_cli.bin = g_bin;
    tt_cli.home = g_tmp;
    tt_cli.url = g_url;
    /* writing the stdin of a child that already exited must not kill us */
    signal(SIGPIPE, SIG_IGN);
}

void lf_teardown(void)
{
    trs_stop(g_srv);
    g_srv = NULL;
    if (g_tmp) {
        tt_rmtree(g_tmp);
        free(g_tmp);
        g_tmp = NULL;
    }
}

void lf_use_store(int k)
{
    if (k == LF_REDIS) {
        char *tmpdir = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;

        /* the server's dir in the case's too (see lf_setup) */
        setenv("TMPDIR", g_shared, 1);
        g_srv = trs_start(NULL);
        if (tmpdir) {
            setenv("TMPDIR", tmpdir, 1);
        } else {
            unsetenv("TMPDIR");
        }
        free(tmpdir);
        ck_assert_msg(g_srv != NULL, "redis-server did not start");
        snprintf(g_url, sizeof(g_url), "%s", trs_url(g_srv));
    }
}

trs *lf_redis(void)
{
    return g_srv;
}

const char *lf_model(void)
{
    return g_m;
}

const char *lf_beside(const char *suffix)
{
    static char path[4300];

    snprintf(path, sizeof(path), "%s%s", g_m, suffix);
    return path;
}

/* ---- the model ----------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t got;

    ck_assert_msg(in && out, "%s -> %s: %s", from, to, strerror(errno));
    while ((got = fread(buf, 1, sizeof(buf), in)) > 0) {
        ck_assert_uint_eq(fwrite(buf, 1, got, out), got);
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* The example model is trained at its first use, as the README trains it. */
void lf_model_copy(void)
{
    how h = {0};
    run r;

    if (access(g_model, R_OK) != 0) {
        cli(&r, &h, "train", LF_TRAIN_DATA, "-o", g_model);
        expect(&r, 0, NULL, "");
        run_free(&r);
    }
    copy_file(g_model, g_m);
}

void lf_fingerprint(const char *path, char fp[64])
{
    how h = {0};
    cJSON *o;
    run r;

    cli(&r, &h, "model", "info", "--format", "json", path);
    expect(&r, 0, NULL, "");
    o = run_json(&r);
    snprintf(fp, 64, "%s", json_str(o, "fingerprint"));
    cJSON_Delete(o);
    run_free(&r);
}

void lf_answers(const char *const *texts, size_t n, char out[][32])
{
    static const char *const nocache[] = {"ENABLE_CACHING=false", NULL};
    char *args[CLI_MAX_ARGS + 1] = {"classify", "--model", g_m};
    how h = {0};
    const char *p, *nl;
    size_t i;
    run r;

    ck_assert_uint_le(n + 3, CLI_MAX_ARGS);
    for (i = 0; i < n; i++) {
        args[3 + i] = (char *)texts[i];
    }
    args[3 + n] = NULL;
    h.env = nocache;
    run_argv(&r, &h, args);
    expect(&r, 0, NULL, "");
    for (i = 0, p = r.out; i < n; i++, p = nl + 1) {
        cJSON *o;

        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "%zu answers to %zu texts: %s", i, n, r.out);
        o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        ck_assert_msg(cJSON_IsObject(o), "not JSON: %s", p);
        ck_assert_str_eq(json_str(o, "source"), "model");
        snprintf(out[i], 32, "%s", json_str(o, "intent"));
        cJSON_Delete(o);
    }
    ck_assert_str_eq(p, "");
    run_free(&r);
}

const char *lf_other(const char *intent, int k)
{
    static const char *const pool[] = {"math_help", "translation",
                                       "study_planning"};
    int i;

    for (i = 0; i < 3; i++) {
        if (strcmp(pool[i], intent) != 0 && k-- == 0) {
            return pool[i];
        }
    }
    return pool[2];
}

/* ---- feedback records ---------------------------------------------------- */

void lf_batch_start(lf_batch *b)
{
    memset(b, 0, sizeof(*b));
    b->fp = open_memstream(&b->text, &b->len);
    ck_assert_ptr_nonnull(b->fp);
}

void lf_add(lf_batch *b, const char *text, const char *original,
            const char *correct, double conf, const char *user, int sec)
{
    fprintf(b->fp,
            "{\"text\": \"%s\", \"original_intent\": \"%s\", "
            "\"correct_intent\": \"%s\", \"original_confidence\": %g, "
            "\"feedback_type\": \"%s\"",
            text, original, correct, conf,
            strcmp(original, correct) ? "correction" : "confirmation");
    if (user) {
        fprintf(b->fp, ", \"user_id\": \"%s\"", user);
    }
    if (sec >= 0) {
        fprintf(b->fp, ", \"timestamp\": \"2025-06-01T12:%02d:%02d.000Z\"",
                sec / 60 % 60, sec % 60);
    }
    fputs("}\n", b->fp);
    b->n++;
}

static void import(const how *h, const char *path, int n)
{
    char want[128];
    run r;

    cli(&r, h, "feedback", "import", path);
    snprintf(want, sizeof(want),
             "{\"accepted\":%d,\"rejected\":0,\"spooled\":0,"
             "\"dry_run\":false}\n",
             n);
    expect(&r, 0, want, "");
    run_free(&r);
}

void lf_import(lf_batch *b)
{
    how h = {0};

    ck_assert_int_eq(fclose(b->fp), 0);
    h.in = b->text;
    import(&h, "-", b->n);
    free(b->text);
    memset(b, 0, sizeof(*b));
}

void lf_import_file(const char *path, int n)
{
    how h = {0};

    import(&h, path, n);
}

cJSON *lf_stats(int with_model)
{
    char *args[] = {"feedback", "stats", "--json", "--model", g_m, NULL};
    how h = {0};
    cJSON *o;
    run r;

    if (!with_model) {
        args[3] = NULL;
    }
    run_argv(&r, &h, args);
    expect(&r, 0, NULL, "");
    o = run_json(&r);
    run_free(&r);
    return o;
}

long lf_unacked(void)
{
    cJSON *st = lf_stats(0);
    long n = (long)(json_num(st, "pending") + json_num(st, "queued"));

    cJSON_Delete(st);
    return n;
}

/* ---- learning ------------------------------------------------------------ */

cJSON *lf_learn(int code, const char *err_part, ...)
{
    char *args[CLI_MAX_ARGS + 1] = {"feedback", "learn", "--model", g_m};
    how h = {0};
    int n = 4;
    cJSON *sum;
    va_list ap;
    run r;

    va_start(ap, err_part);
    while (n < CLI_MAX_ARGS && (args[n] = va_arg(ap, char *))) {
        n++;
    }
    va_end(ap);
    args[n] = NULL;
    run_argv(&r, &h, args);
    expect(&r, code, NULL, err_part);
    sum = run_json(&r);
    ck_assert_str_eq(json_str(sum, "model"), g_m);
    run_free(&r);
    return sum;
}

const char *lf_fates(const cJSON *sum)
{
    static char got[256];

    snprintf(got, sizeof(got),
             "%g records: %g applied, %g agreed, %g overruled, %g capped, "
             "%g held, %g skipped",
             json_num(sum, "records"), json_num(sum, "applied"),
             json_num(sum, "agreed"), json_num(sum, "overruled"),
             json_num(sum, "capped"), json_num(sum, "held"),
             json_num(sum, "skipped"));
    return got;
}
