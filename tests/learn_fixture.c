/*
 * learn_fixture.c - the `feedback learn` suite's fixture (see
 * learn_fixture.h). Every step runs the built binary through the CLI
 * harness, as a user or cron would. The only state kept here is where the
 * test's files and store are; they all live in the case's dir, so that
 * they are removed even after a failed assertion cut a test short.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cli_harness.h"
#include "learn_fixture.h"
#include "suites.h"

static char g_model[4200]; /* the example model, in the case's dir */
static char g_url[4200];
static char g_m[4200];

void lf_case_setup(void)
{
    tt_case_setup();
    snprintf(g_model, sizeof(g_model), "%s/intents.tcm", tt_case_dir());
}

void lf_case_teardown(void)
{
    tt_case_teardown();
}

/* The CLI suites' fixture (cli_harness.c) keeps the test's dir in the
 * case's, which the case's teardown removes: a forked test that fails
 * exits at once, without its own teardown. */
void lf_setup(void)
{
    cli_setup();
    ck_assert_msg(access(LF_CORRECTIONS, R_OK) == 0,
                  "run from the source tree: %s is needed", LF_CORRECTIONS);
    snprintf(g_url, sizeof(g_url), "%s", tt_cli.url);
    snprintf(g_m, sizeof(g_m), "%s/m.tcm", cli_home());
    tt_cli.url = g_url;
}

void lf_teardown(void)
{
    cli_teardown();
}

void lf_use_store(int k)
{
    if (k == LF_REDIS) {
        cli_store_url(CLI_REDIS, g_url, sizeof(g_url));
    }
}

trs *lf_redis(void)
{
    return cli_redis();
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

/* The example model is trained at its first use, as the README trains it. */
void lf_model_copy(void)
{
    how h = {0};

    if (access(g_model, R_OK) != 0) {
        cli_check(&h, 0, NULL, "", "train", LF_TRAIN_DATA, "-o", g_model);
    }
    tt_copy_file(g_model, g_m);
}

void lf_expect_fingerprints(const char *fp, const char *prev_fp)
{
    char got[64];

    cli_fingerprint(lf_model(), got);
    ck_assert_str_eq(got, fp);
    if (prev_fp) {
        cli_fingerprint(lf_beside(".prev"), got);
        ck_assert_str_eq(got, prev_fp);
    }
}

void lf_answers(const char *const *texts, size_t n, char out[][32])
{
    static const char *const nocache[] = {"ENABLE_CACHING=false", NULL};
    char *args[CLI_MAX_ARGS + 1] = {"classify", "--model", g_m};
    how h = {0};
    lines ls;
    size_t i;
    run r;

    ck_assert_uint_le(n + 3, CLI_MAX_ARGS);
    for (i = 0; i < n; i++) {
        args[3 + i] = (char *)texts[i];
    }
    args[3 + n] = NULL;
    h.env = nocache;
    run_argv(&r, &h, args);
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    ck_assert_msg(ls.n == n, "%zu answers to %zu texts: %s", ls.n, n, r.out);
    for (i = 0; i < n; i++) {
        ck_assert_str_eq(json_str(ls.v[i], "source"), "model");
        snprintf(out[i], 32, "%s", json_str(ls.v[i], "intent"));
    }
    lines_run_free(&ls, &r);
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
             "{\"accepted\":%d,\"rejected\":0,\"spooled\":0,\"duplicates\":0,"
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
