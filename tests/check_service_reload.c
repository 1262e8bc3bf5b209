/*
 * check_service_reload.c - the example service picks up a new model file:
 * model A (the fixture's) is served, model B (trained here on the same
 * data with every intent moved to the next one, so that it answers each
 * text differently) is renamed over the file as `tutorcache feedback
 * learn` does, and the service answers with B within its reload interval,
 * or at once on SIGHUP. A damaged or missing file keeps A serving with
 * one warning; clients hammering the service while the models swap back
 * and forth all get whole answers. Part of the "service" suite (added by
 * suite_service_ops()); service_fixture.h runs the service.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "service_fixture.h"
#include "suites.h"

#define TRAIN_DATA "examples/intents.jsonl"
#define RELOADS "intent_service_model_reloads_total"

/* The example data's eight intents; B's intent is the next one's. */
static const char *const intents[] = {
    "code_generation",    "debugging",      "explanation",   "math_help",
    "question_answering", "study_planning", "summarization", "translation"};
#define NINTENTS (sizeof(intents) / sizeof(intents[0]))

/* ---- the case: model B --------------------------------------------------- */

static char *g_dir; /* B's data and model */
static char g_model_b[SV_PATH_LEN];
static char g_fp_b[64];
static char g_err[1024]; /* why B could not be made, for every test */

/* TRAIN_DATA with each intent moved to the next, into path; 0 or -1. */
static int write_rotated(const char *path)
{
    FILE *in = fopen(TRAIN_DATA, "r"), *out = fopen(path, "w");
    char *line = NULL, *text;
    size_t cap = 0, i;
    int rc = in && out ? 0 : -1;

    while (rc == 0 && getline(&line, &cap, in) > 0) {
        cJSON *o = cJSON_Parse(line), *it;

        it = cJSON_GetObjectItemCaseSensitive(o, "intent");
        for (i = 0; cJSON_IsString(it) && i < NINTENTS &&
                    strcmp(it->valuestring, intents[i]) != 0;
             i++) {
        }
        if (!cJSON_IsString(it) || i == NINTENTS ||
            !cJSON_ReplaceItemInObjectCaseSensitive(
                o, "intent", cJSON_CreateString(intents[(i + 1) % NINTENTS]))) {
            rc = -1;
        } else if (!(text = cJSON_PrintUnformatted(o)) ||
                   fprintf(out, "%s\n", text) < 0) {
            free(text);
            rc = -1;
        } else {
            free(text);
        }
        cJSON_Delete(o);
    }
    free(line);
    if (in) {
        fclose(in);
    }
    if (out && fclose(out) != 0) {
        rc = -1;
    }
    return rc;
}

static void case_setup(void)
{
    char data[SV_PATH_LEN];

    sv_case_setup();
    g_err[0] = '\0';
    if (!(g_dir = tt_mkdtemp())) {
        snprintf(g_err, sizeof(g_err), "no temp dir");
        return;
    }
    snprintf(data, sizeof(data), "%s/b.jsonl", g_dir);
    snprintf(g_model_b, sizeof(g_model_b), "%s/b.tcm", g_dir);
    if (write_rotated(data) != 0) {
        snprintf(g_err, sizeof(g_err), "%.900s: cannot write it from %s", data,
                 TRAIN_DATA);
        return;
    }
    sv_train(data, g_model_b, g_fp_b, g_err, sizeof(g_err));
}

static void case_teardown(void)
{
    if (g_dir) {
        tt_rmtree(g_dir);
        free(g_dir);
        g_dir = NULL;
    }
    sv_case_teardown();
}

static void setup(void)
{
    sv_setup();
    ck_assert_msg(g_err[0] == '\0', "%s", g_err);
}

/* ---- helpers ------------------------------------------------------------- */

/* The file the service serves: a copy of A or B in the test's dir. */
static const char *served(void)
{
    static char path[SV_PATH_LEN];

    snprintf(path, sizeof(path), "%s/served.tcm", sv_tmp);
    return path;
}

/* Puts len bytes of data in place of the served file as a model's
 * writer does: a temporary file renamed over it, never a partial file. */
static void put_bytes(const char *data, size_t len)
{
    char tmp[SV_PATH_LEN + 8];

    snprintf(tmp, sizeof(tmp), "%s.tmp", served());
    sv_spit(tmp, data, len);
    ck_assert_msg(rename(tmp, served()) == 0, "rename: %s", strerror(errno));
}

/* The same with the contents of the file src. */
static void put_file(const char *src)
{
    size_t len;
    char *data = sv_slurp(src, &len);

    ck_assert_msg(data != NULL, "%s: %s", src, strerror(errno));
    put_bytes(data, len);
    free(data);
}

/* Starts the service on a copy of A, checking it every interval. */
static void start(const char *interval)
{
    char *args[] = {"--port",
                    "0",
                    "--model",
                    (char *)served(),
                    "--store",
                    (char *)sv_lmdb_url(),
                    "--reload-interval",
                    (char *)interval,
                    NULL};

    put_file(sv_model);
    sv_start_argv("127.0.0.1", args);
}

/* /health, as a JSON object (the caller deletes it). */
static cJSON *health(void)
{
    sv_resp r;
    cJSON *o;

    sv_http(&r, "GET", "/health", NULL);
    ck_assert_msg(r.code == 200, "/health: HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    sv_resp_free(&r);
    return o;
}

/* Is the fingerprint /health names fp? */
static int serving(const char *fp)
{
    cJSON *o = health();
    int yes = strcmp(json_str(o, "model"), fp) == 0;

    cJSON_Delete(o);
    return yes;
}

/* Waits until /health names the model fp, up to ms (a bound that
 * catches a reload that never comes, not a speed test). */
static void wait_serving(const char *fp, int ms)
{
    int64_t deadline = sv_now_ms() + ms;

    while (!serving(fp)) {
        ck_assert_msg(sv_now_ms() < deadline,
                      "model %s not served after %d ms:\n%s", fp, ms,
                      sv_errlog_text());
        sv_sleep_ms(50);
    }
}

/* The reload counter of result ("ok" or "failed"). */
static double reloads(const char *result)
{
    char series[128];
    sv_resp r;
    double v;

    snprintf(series, sizeof(series), RELOADS "{result=\"%s\"}", result);
    sv_http(&r, "GET", "/metrics", NULL);
    ck_assert_int_eq(r.code, 200);
    v = sv_metric(r.body, series);
    sv_resp_free(&r);
    ck_assert_msg(v >= 0, "%s is missing from /metrics", series);
    return v;
}

static void wait_reloads(const char *result, double n, int ms)
{
    int64_t deadline = sv_now_ms() + ms;

    while (reloads(result) < n) {
        ck_assert_msg(sv_now_ms() < deadline,
                      "fewer than %g %s reloads after %d ms:\n%s", n, result,
                      ms, sv_errlog_text());
        sv_sleep_ms(50);
    }
}

/* The log lines of event so far; the last one in *last when not NULL
 * (the caller deletes it). */
static int events(const char *event, cJSON **last)
{
    char *log = sv_slurp(sv_errlog, NULL), *line, *save = NULL;
    int n = 0;

    if (last) {
        *last = NULL;
    }
    ck_assert_ptr_nonnull(log);
    for (line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "event");

        if (cJSON_IsString(e) && strcmp(e->valuestring, event) == 0) {
            n++;
            if (last) {
                cJSON_Delete(*last);
                *last = o;
                o = NULL;
            }
        }
        cJSON_Delete(o);
    }
    free(log);
    return n;
}

/* Waits until the log has n lines of event (they follow what they
 * report by a moment), up to ms. */
static void wait_events(const char *event, int n, int ms)
{
    int64_t deadline = sv_now_ms() + ms;

    while (events(event, NULL) < n) {
        ck_assert_msg(sv_now_ms() < deadline, "fewer than %d %s lines:\n%s", n,
                      event, sv_errlog_text());
        sv_sleep_ms(50);
    }
}

/* The intent the service answers for text, from the model fp; the
 * caller frees it. */
static char *intent_of(const char *text, const char *fp)
{
    cJSON *o = sv_classify_by(text, fp);
    char *intent = strdup(json_str(o, "intent"));

    ck_assert_ptr_nonnull(intent);
    cJSON_Delete(o);
    return intent;
}

/* ---- tests --------------------------------------------------------------- */

/*
 * A new file renamed over the model: served within the interval (1 s)
 * plus 2 s, its answers B's (the cache key holds the fingerprint, so A's
 * cached answer is not served), logged with both fingerprints, counted,
 * and its time in /health.
 */
START_TEST(test_reload_on_change)
{
    const cJSON *at;
    char *intent_a, *intent_b;
    cJSON *o;

    start("1");
    intent_a = intent_of(SV_TEXT_A, sv_fp);
    o = health();
    ck_assert(
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "model_reloaded_at")));
    cJSON_Delete(o);

    put_file(g_model_b);
    wait_serving(g_fp_b, sv_slow_ms(3000));
    intent_b = intent_of(SV_TEXT_A, g_fp_b);
    ck_assert_msg(strcmp(intent_a, intent_b) != 0, "A and B both answer %s",
                  intent_a);
    o = health();
    at = cJSON_GetObjectItemCaseSensitive(o, "model_reloaded_at");
    ck_assert_msg(cJSON_IsString(at) && strlen(at->valuestring) == 24,
                  "model_reloaded_at: not an RFC 3339 time");
    cJSON_Delete(o);
    ck_assert(reloads("ok") == 1);
    ck_assert(reloads("failed") == 0);

    wait_events("model_reloaded", 1, sv_slow_ms(2000));
    ck_assert_int_eq(events("model_reloaded", &o), 1);
    ck_assert_str_eq(json_str(o, "old_model"), sv_fp);
    ck_assert_str_eq(json_str(o, "new_model"), g_fp_b);
    ck_assert_str_eq(json_str(o, "path"), served());
    ck_assert_str_eq(json_str(o, "trigger"), "interval");
    ck_assert_str_eq(json_str(o, "level"), "info");
    cJSON_Delete(o);
    free(intent_a);
    free(intent_b);
    sv_stop(SIGTERM);
}
END_TEST

/* --reload-interval 0: no watching, but SIGHUP checks at once; a SIGHUP
 * that finds the same file says so. */
START_TEST(test_reload_sighup)
{
    char *intent_b;

    start("0");
    put_file(g_model_b);
    sv_sleep_ms(1500); /* past a tick, were there ticks */
    ck_assert_msg(serving(sv_fp), "reloaded with --reload-interval 0");

    sv_signal(SIGHUP);
    wait_serving(g_fp_b, sv_slow_ms(2000));
    intent_b = intent_of(SV_TEXT_A, g_fp_b);
    free(intent_b);
    ck_assert(reloads("ok") == 1);

    sv_signal(SIGHUP);
    wait_events("model_unchanged", 1, sv_slow_ms(2000));
    ck_assert(reloads("ok") == 1);
    ck_assert(reloads("failed") == 0);
    sv_stop(SIGTERM);
}
END_TEST

/*
 * A half-written file, then one of another format: each is refused with
 * one warning naming the file and the library's reason, and not tried
 * again at the next ticks; A keeps answering. A good file afterwards is
 * picked up.
 */
START_TEST(test_reload_damaged)
{
    char *b, *intent_a, *intent;
    size_t len;
    cJSON *o;

    start("1");
    intent_a = intent_of(SV_TEXT_A, sv_fp);
    b = sv_slurp(g_model_b, &len);
    ck_assert_ptr_nonnull(b);
    put_bytes(b, len / 2);
    free(b);
    wait_reloads("failed", 1, sv_slow_ms(3000));
    sv_sleep_ms(2500); /* two more ticks */
    ck_assert(reloads("failed") == 1);
    ck_assert(reloads("ok") == 0);
    ck_assert_int_eq(events("model_reload_failed", &o), 1);
    ck_assert_str_eq(json_str(o, "level"), "warn");
    ck_assert_str_eq(json_str(o, "path"), served());
    ck_assert_str_eq(json_str(o, "model"), sv_fp);
    ck_assert_msg(json_str(o, "reason")[0] != '\0', "no reason");
    cJSON_Delete(o);
    ck_assert(serving(sv_fp));
    intent = intent_of(SV_TEXT_A, sv_fp);
    ck_assert_str_eq(intent, intent_a);
    free(intent);

    put_file(TRAIN_DATA); /* not a model at all */
    wait_reloads("failed", 2, sv_slow_ms(3000));
    sv_sleep_ms(1500);
    ck_assert(reloads("failed") == 2);
    ck_assert_int_eq(events("model_reload_failed", NULL), 2);
    ck_assert(serving(sv_fp));

    put_file(g_model_b);
    wait_serving(g_fp_b, sv_slow_ms(3000));
    intent = intent_of(SV_TEXT_A, g_fp_b);
    ck_assert_str_ne(intent, intent_a);
    free(intent);
    ck_assert(reloads("ok") == 1);
    free(intent_a);
    sv_stop(SIGTERM);
}
END_TEST

/* The file gone (deleted, or between the steps of a swap): A keeps
 * serving, one warning; the file back is picked up. */
START_TEST(test_reload_missing)
{
    char *intent_a, *intent;

    start("1");
    intent_a = intent_of(SV_TEXT_A, sv_fp);
    ck_assert_int_eq(remove(served()), 0);
    wait_reloads("failed", 1, sv_slow_ms(3000));
    sv_sleep_ms(2500);
    ck_assert(reloads("failed") == 1);
    ck_assert_int_eq(events("model_reload_failed", NULL), 1);
    intent = intent_of(SV_TEXT_A, sv_fp);
    ck_assert_str_eq(intent, intent_a);
    free(intent);

    put_file(g_model_b);
    wait_serving(g_fp_b, sv_slow_ms(3000));
    ck_assert(reloads("ok") == 1);
    free(intent_a);
    sv_stop(SIGTERM);
}
END_TEST

/* ---- under load ---------------------------------------------------------- */

enum { CLIENTS = 4, REQS = 40, SWAPS = 12 };

/* What each client asks: texts[k] to classify, or /health for -1. */
static const char *const texts[2] = {SV_TEXT_A, SV_TEXT_B};
static const int client_text[CLIENTS] = {0, 1, 0, -1};

/* The intent of each text (A, B) from each model (A, B). */
static char *g_expect[2][2];

/* Starts client i: REQS requests on one kept-alive connection, each
 * response's body and status on a line each in its output file. */
static pid_t spawn_client(int i, const char *outf)
{
    char url[128], bodyf[SV_PATH_LEN], data[SV_PATH_LEN + 1], body[256];
    char *argv[16 + REQS];
    int n = 0, j;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sv_port,
             client_text[i] >= 0 ? SV_CLASSIFY : "/health");
    argv[n++] = "curl";
    argv[n++] = "-s";
    argv[n++] = "--max-time";
    argv[n++] = "60";
    argv[n++] = "-w";
    argv[n++] = "\\n%{http_code}\\n";
    if (client_text[i] >= 0) {
        snprintf(bodyf, sizeof(bodyf), "%s/h%d.body", sv_tmp, i);
        snprintf(data, sizeof(data), "@%s", bodyf);
        snprintf(body, sizeof(body), "{\"text\": \"%s\"}",
                 texts[client_text[i]]);
        sv_spit(bodyf, body, strlen(body));
        argv[n++] = "-H";
        argv[n++] = "Content-Type: application/json";
        argv[n++] = "--data-binary";
        argv[n++] = data;
    }
    for (j = 0; j < REQS; j++) {
        argv[n++] = url;
    }
    argv[n] = NULL;
    return sv_spawn(argv, NULL, outf, NULL);
}

/* Every answer of client i is a 200 and whole: the model it names is A
 * or B, and a classification's intent is that model's for the text. */
static void check_client(int i, const char *outf)
{
    char *out = sv_slurp(outf, NULL), *p, *body, *eol;
    int n = 0, m, t = client_text[i];

    ck_assert_ptr_nonnull(out);
    for (p = out; *p; n++) {
        cJSON *o;
        const char *model;

        body = p;
        ck_assert_msg((eol = strchr(p, '\n')) != NULL, "client %d: %s", i, out);
        *eol = '\0';
        p = eol + 1;
        ck_assert_msg((eol = strchr(p, '\n')) != NULL, "client %d: %s", i, out);
        *eol = '\0';
        ck_assert_msg(strcmp(p, "200") == 0, "client %d: HTTP %s: %s", i, p,
                      body);
        p = eol + 1;
        o = cJSON_Parse(body);
        ck_assert_msg(cJSON_IsObject(o), "client %d: %s", i, body);
        model = json_str(o, "model");
        m = strcmp(model, sv_fp) == 0 ? 0 : strcmp(model, g_fp_b) == 0 ? 1 : -1;
        ck_assert_msg(m >= 0, "client %d: model %s is neither A nor B", i,
                      model);
        if (t >= 0) {
            ck_assert_msg(strcmp(json_str(o, "intent"), g_expect[t][m]) == 0,
                          "client %d: %s from model %s, expected %s", i,
                          json_str(o, "intent"), model, g_expect[t][m]);
        }
        cJSON_Delete(o);
    }
    ck_assert_msg(n == REQS, "client %d: %d answers of %d", i, n, REQS);
    free(out);
}

/*
 * Clients classify and ask /health without a pause while A and B are
 * swapped SWAPS times (rename, then SIGHUP): every request answers 200
 * with a whole answer of one model, none of a torn state, and the
 * service stops cleanly (no leak under ASan or valgrind).
 */
START_TEST(test_reload_under_load)
{
    char outf[CLIENTS][SV_PATH_LEN];
    pid_t pids[CLIENTS];
    int i, k, batches = 0;

    start("1");
    g_expect[0][0] = intent_of(SV_TEXT_A, sv_fp);
    g_expect[1][0] = intent_of(SV_TEXT_B, sv_fp);
    put_file(g_model_b);
    sv_signal(SIGHUP);
    wait_serving(g_fp_b, sv_slow_ms(3000));
    g_expect[0][1] = intent_of(SV_TEXT_A, g_fp_b);
    g_expect[1][1] = intent_of(SV_TEXT_B, g_fp_b);

    for (i = 0; i < CLIENTS; i++) {
        snprintf(outf[i], SV_PATH_LEN, "%s/h%d.out", sv_tmp, i);
        pids[i] = spawn_client(i, outf[i]);
        ck_assert_int_gt(pids[i], 0);
    }
    for (k = 0; k < SWAPS; k++) {
        /* a client that is done is checked and started again, so
         * that requests run through every swap */
        for (i = 0; i < CLIENTS; i++) {
            int code = sv_wait(pids[i], 0);

            if (code >= 0) {
                ck_assert_msg(code == 0, "client %d: curl exit %d", i, code);
                check_client(i, outf[i]);
                batches++;
                pids[i] = spawn_client(i, outf[i]);
                ck_assert_int_gt(pids[i], 0);
            }
        }
        put_file(k % 2 ? g_model_b : sv_model);
        sv_signal(SIGHUP);
        wait_serving(k % 2 ? g_fp_b : sv_fp, sv_slow_ms(5000));
    }
    for (i = 0; i < CLIENTS; i++) {
        ck_assert_int_eq(sv_wait(pids[i], sv_slow_ms(60000)), 0);
        check_client(i, outf[i]);
        batches++;
    }
    ck_assert(reloads("ok") == SWAPS + 1);
    ck_assert(reloads("failed") == 0);
    for (k = 0; k < 4; k++) {
        free(g_expect[k / 2][k % 2]);
        g_expect[k / 2][k % 2] = NULL;
    }
    sv_stop(SIGTERM);
    ck_assert_int_ge(batches, CLIENTS);
}
END_TEST

void suite_service_reload(Suite *s)
{
    TCase *tc = tcase_create("reload");

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_reload_on_change);
    tcase_add_test(tc, test_reload_sighup);
    tcase_add_test(tc, test_reload_damaged);
    tcase_add_test(tc, test_reload_missing);
    tcase_add_test(tc, test_reload_under_load);
    suite_add_tcase(s, tc);
}
