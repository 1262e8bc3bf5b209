/*
 * check_cli_classify.c - the classify command of the built `tutorcache`
 * binary, with its built-in model (then the L2, with caching off, from
 * stdin with ids, bad lines, a threshold, the model's other sources) and
 * with the exec backend (a round trip, a crash, garbage, a timeout), run
 * through the CLI harness: a fork and exec per call, stdout, stderr and
 * the exit code checked apart. The example model is trained once per case
 * (deterministically: --seed and --threads 1) and shared by the tests. The
 * suite's train, model info and eval tests are in check_cli_train.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "suites.h"
#include "tutorcache.h"

#define QUESTION "How do I write a Python function that reverses a list?"

/*
 * A classification: intent, confidence in 0..1, top (optional for a
 * backend's answers) sorted, model, latency and source.
 */
static void check_result(const cJSON *o, const char *source)
{
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(o, "top"), *it;
    double last = 2, c = json_num(o, "confidence");

    ck_assert(json_str(o, "intent")[0] != '\0');
    ck_assert(c >= 0 && c <= 1);
    ck_assert(!top || cJSON_IsArray(top));
    cJSON_ArrayForEach(it, top)
    {
        double s = json_num(it, "score");

        ck_assert(json_str(it, "label")[0] != '\0');
        ck_assert_msg(s <= last, "top is not sorted");
        last = s;
    }
    ck_assert(json_str(o, "model")[0] != '\0');
    ck_assert(json_num(o, "latency_us") >= 0);
    if (source) {
        ck_assert_str_eq(json_str(o, "source"), source);
    }
}

/* ---- classify with the built-in model ----------------------------------- */

START_TEST(test_classify_model_then_l2)
{
    const char *m = cli_model();
    char fp[64];
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "classify", "--model", m, QUESTION);
    expect_lines(&ls, &r, 0, "", 1);
    check_result(ls.v[0], "model");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "code_generation");
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ls.v[0], "top")),
        3);
    ck_assert(cJSON_IsString(
        cJSON_GetObjectItemCaseSensitive(ls.v[0], "complexity")));
    ck_assert(
        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ls.v[0], "techniques")));
    snprintf(fp, sizeof(fp), "%s", json_str(ls.v[0], "model"));
    ck_assert_uint_eq(strlen(fp), 32);
    lines_run_free(&ls, &r);

    /* a second process on the same store: from the L2, the same answer,
     * whatever case and trailing punctuation the text comes with */
    cli(&r, &h, "classify", "--model", m,
        "  how do I write a python function that reverses a list  ");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "l2");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "code_generation");
    ck_assert_str_eq(json_str(ls.v[0], "model"), fp);
    lines_run_free(&ls, &r);

    /* another top-k is another key */
    cli(&r, &h, "classify", "--model", m, "--top-k", "2", QUESTION);
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "model");
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ls.v[0], "top")),
        2);
    lines_run_free(&ls, &r);

    /* the table for people */
    cli(&r, &h, "classify", "--model", m, "--format", "table", QUESTION);
    expect(&r, 0, NULL, "");
    expect_out_has(&r, "intent", "\ncode_generation ", " l2 ", NULL);
    run_free(&r);
}
END_TEST

/* ENABLE_CACHING=false: the model answers every time. */
START_TEST(test_classify_no_caching)
{
    static const char *const env[] = {"ENABLE_CACHING=false", NULL};
    const char *m = cli_model();
    how h = {0};
    lines ls;
    int i;
    run r;

    h.env = env;
    for (i = 0; i < 2; i++) {
        cli(&r, &h, "classify", "--model", m, QUESTION);
        expect_lines(&ls, &r, 0, "", LINES_ANY);
        check_result(ls.v[0], "model");
        lines_run_free(&ls, &r);
    }
}
END_TEST

/* JSON lines with ids, plain lines, in order, one output line each. */
START_TEST(test_classify_stdin_ids)
{
    const char *m = cli_model();
    how h = {0};
    lines ls;
    run r;

    h.in = "{\"id\": \"q1\", \"text\": \"" QUESTION "\"}\n"
           "Translate 'thank you very much' into Spanish\n"
           "  {\"text\": \"Explain how a hash table works\", \"id\": 42}\n"
           "{\"id\": {\"user\": 7}, \"text\": \"" QUESTION "\"}\n";
    cli(&r, &h, "classify", "--model", m);
    expect_lines(&ls, &r, 0, "", 4);
    ck_assert_str_eq(json_str(ls.v[0], "id"), "q1");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(ls.v[1], "id"));
    ck_assert_int_eq((int)json_num(ls.v[2], "id"), 42);
    ck_assert_int_eq(
        (int)json_num(cJSON_GetObjectItemCaseSensitive(ls.v[3], "id"), "user"),
        7);
    /* the id comes first, then the result */
    ck_assert(strncmp(r.out, "{\"id\":\"q1\",\"intent\":", 20) == 0);
    check_result(ls.v[0], NULL);
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "code_generation");
    check_result(ls.v[1], NULL);
    ck_assert_str_eq(json_str(ls.v[1], "intent"), "translation");
    check_result(ls.v[2], NULL);
    check_result(ls.v[3], NULL);
    lines_run_free(&ls, &r);

    /* batches of one: the same answers, from the cache now */
    cli(&r, &h, "classify", "--model", m, "--batch", "1");
    expect_lines(&ls, &r, 0, "", 4);
    check_result(ls.v[1], "l2");
    ck_assert_str_eq(json_str(ls.v[1], "intent"), "translation");
    lines_run_free(&ls, &r);
}
END_TEST

/* Bad lines are named on stderr and skipped; the others still answer. */
START_TEST(test_classify_bad_lines)
{
    const char *m = cli_model();
    how h = {0};
    lines ls;
    run r;

    h.in = QUESTION "\n"
                    "caf\xc3 au lait\n"
                    "\n"
                    "{\"id\": 3, \"txt\": \"typo\"}\n"
                    "{\"id\": 4, \"text\": \"unfinished\"\n"
                    "Explain how a hash table works\r\n"
                    "{\"text\": \"   \"}\n"
                    "What is 7 times 8";
    cli(&r, &h, "classify", "--model", m);
    expect(&r, 4, NULL, "tutorcache: stdin:2: ");
    expect(&r, 4, NULL, "tutorcache: stdin:3: empty text");
    expect(&r, 4, NULL, "tutorcache: stdin:4: ");
    expect(&r, 4, NULL, "tutorcache: stdin:5: ");
    expect(&r, 4, NULL, "tutorcache: stdin:7: ");
    ck_assert_ptr_nonnull(strstr(r.err, "UTF-8"));
    ck_assert_ptr_null(strstr(r.err, "stdin:1:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:6:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:8:"));
    /* in the order of the input */
    ck_assert(strstr(r.err, "stdin:2:") < strstr(r.err, "stdin:4:"));
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    check_result(ls.v[0], NULL);
    check_result(ls.v[1], NULL);
    ck_assert_str_eq(json_str(ls.v[1], "intent"), "explanation");
    check_result(ls.v[2], NULL);
    lines_run_free(&ls, &r);

    /* arguments are numbered too */
    h.in = NULL;
    cli(&r, &h, "classify", "--model", m, QUESTION, "");
    expect_lines(&ls, &r, 4, "argument 2: empty text", 1);
    lines_run_free(&ls, &r);

    /* a line over 1 MiB is refused whole, and the next one answered */
    {
        size_t n = ((size_t)1 << 20) + 100;
        char *big = malloc(n + 64);

        ck_assert_ptr_nonnull(big);
        memset(big, 'a', n);
        strcpy(big + n, "\nExplain how a hash table works\n");
        h.in = big;
        cli(&r, &h, "classify", "--model", m);
        expect_lines(&ls, &r, 4, "stdin:1: line longer than 1 MiB", 1);
        ck_assert_str_eq(json_str(ls.v[0], "intent"), "explanation");
        lines_run_free(&ls, &r);
        free(big);
    }
}
END_TEST

/* Below the threshold the intent is "unknown", the scores still shown. */
START_TEST(test_classify_threshold)
{
    const char *m = cli_model();
    const cJSON *top;
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "classify", "--model", m, "banana");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    ck_assert_str_ne(json_str(ls.v[0], "intent"), "unknown");
    /* a word the examples never use: the model is not sure */
    ck_assert_msg(json_num(ls.v[0], "confidence") < 0.99, "%s", r.out);
    lines_run_free(&ls, &r);

    cli(&r, &h, "classify", "--model", m, "--threshold", "0.99", "banana");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "unknown");
    ck_assert(json_num(ls.v[0], "confidence") > 0);
    top = cJSON_GetObjectItemCaseSensitive(ls.v[0], "top");
    ck_assert_int_eq(cJSON_GetArraySize(top), 3);
    ck_assert_str_ne(json_str(cJSON_GetArrayItem(top, 0), "label"), "unknown");
    /* the threshold is applied on the way out: the entry was cached */
    check_result(ls.v[0], "l2");
    lines_run_free(&ls, &r);
}
END_TEST

/* Where the model comes from, and what happens without one. */
START_TEST(test_classify_model_sources)
{
    const char *m = cli_model();
    char env_model[4300], env_cfg[4300], cfg[4200], damaged[4200], bad[4200];
    const char *env[3] = {NULL, NULL, NULL};
    how h = {0};
    lines ls;
    run r;

    /* none: a clear message saying how to get one */
    cli(&r, &h, "classify", QUESTION);
    expect(&r, 2, "", "no model");
    ck_assert_ptr_nonnull(strstr(r.err, "tutorcache train"));
    ck_assert_ptr_nonnull(strstr(r.err, "TUTORCACHE_MODEL"));
    run_free(&r);

    /* TUTORCACHE_MODEL */
    snprintf(env_model, sizeof(env_model), "TUTORCACHE_MODEL=%s", m);
    env[0] = env_model;
    h.env = env;
    cli(&r, &h, "classify", QUESTION);
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "model");
    lines_run_free(&ls, &r);

    /* the config file's "model", and --model above both */
    snprintf(cfg, sizeof(cfg), "%s/tc.json", cli_home());
    snprintf(damaged, sizeof(damaged), "{\"model\": \"%s\"}", m);
    tt_write_file(cfg, damaged, 0644);
    snprintf(env_cfg, sizeof(env_cfg), "TUTORCACHE_CONFIG=%s", cfg);
    env[0] = env_cfg;
    cli(&r, &h, "classify", QUESTION);
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "l2");
    lines_run_free(&ls, &r);
    snprintf(bad, sizeof(bad), "%s/none.tcm", cli_home());
    cli_check(&h, 2, "", "none.tcm", "classify", "--model", bad, QUESTION);

    /* a damaged model: a clear error, bad input */
    snprintf(damaged, sizeof(damaged), "%s/damaged.tcm", cli_home());
    tt_copy_head(m, damaged, 100);
    cli_check(&h, 4, "", damaged, "classify", "--model", damaged, QUESTION);
}
END_TEST

START_TEST(test_classify_usage)
{
    const char *m = cli_model();
    how h = {0};

    cli_check(&h, 2, "", "--top-k", "classify", "--model", m, "--top-k", "0",
              "x");
    cli_check(&h, 2, "", "--threshold", "classify", "--model", m, "--threshold",
              "1.5", "x");
    cli_check(&h, 2, "", "exec:COMMAND", "classify", "--backend",
              "python3 x.py", "x");
    cli_check(&h, 2, "", "--model and --backend", "classify", "--model", m,
              "--backend", "exec:cat", "x");
    cli_check(&h, 2, "", "--backend-version goes with", "classify", "--model",
              m, "--backend-version", "v2", "x");
    cli_check(&h, 2, "", "--backend-version: 1 to 100", "classify", "--backend",
              "exec:cat", "--backend-version", "", "x");
    cli_check(&h, 2, "", "--backend-timeout", "classify", "--backend",
              "exec:cat", "--backend-timeout", "0", "x");
    /* the benchmarks read --model and --backend the same way */
    cli_check(&h, 2, "", "--model and --backend", "loadtest", "--rps", "1",
              "--duration", "1", "--model", m, "--backend", "exec:cat");
    cli_check(&h, 2, "", "--model and --backend", "bench", "classify",
              "--model", m, "--backend", "exec:cat");
    cli_check(&h, 2, "", "exec:COMMAND", "bench", "classify", "--backend",
              "cat");
    cli_check(&h, 2, "", "--format", "classify", "--model", m, "--format",
              "yaml", "x");
    cli_check(&h, 2, "", "--batch", "classify", "--model", m, "--batch", "0",
              "x");

    /* a full stdout is a failure */
    h.stdout_full = 1;
    cli_check(&h, 5, NULL, "stdout", "classify", "--model", m, QUESTION);
}
END_TEST

/* ---- the exec backend --------------------------------------------------- */

/*
 * A backend in plain sh: counts its starts in a file, answers garbage for
 * texts with "garbage", hangs on "hang", exits after answering "crash",
 * and otherwise answers a fixed classification.
 */
static const char backend_sh[] =
    "echo start >> \"$(dirname \"$0\")/starts\"\n"
    "while IFS= read -r line; do\n"
    "  case \"$line\" in\n"
    "    *garbage*) echo 'this is not json' ;;\n"
    "    *noint*) echo '{\"confidence\": 0.5}' ;;\n"
    "    *hang*) sleep 30 ;;\n"
    "    *crash*) echo '{\"intent\": \"crashed\", \"confidence\": 0.5}'; "
    "exit 3 ;;\n"
    "    *) echo '{\"intent\": \"greeting\", \"confidence\": 0.875, \"top\": "
    "[{\"label\": \"greeting\", \"score\": 0.875}, {\"label\": \"other\", "
    "\"score\": 0.125}]}' ;;\n"
    "  esac\n"
    "done\n";

/* A backend that answers one request and exits. */
static const char once_sh[] =
    "echo start >> \"$(dirname \"$0\")/starts\"\n"
    "IFS= read -r line || exit 0\n"
    "echo '{\"intent\": \"once\", \"confidence\": 0.75}'\n"
    "exit 0\n";

static void backend_spec(char *buf, size_t n, const char *script)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/%s.sh", cli_home(), script);
    tt_write_file(path, strcmp(script, "once") == 0 ? once_sh : backend_sh,
                  0755);
    snprintf(buf, n, "exec:sh %s", path);
}

static long starts(void)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/starts", cli_home());
    return access(path, F_OK) == 0 ? tt_file_lines(path) : 0;
}

START_TEST(test_exec_roundtrip)
{
    char spec[4300];
    how h = {0};
    lines ls;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    cli(&r, &h, "classify", "--backend", spec, "Hello there!");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "model");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "greeting");
    ck_assert(json_num(ls.v[0], "confidence") == 0.875);
    ck_assert_ptr_nonnull(strstr(json_str(ls.v[0], "model"), "exec:sh "));
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 1);

    /* a second process: from the L2, and the backend is not even started */
    cli(&r, &h, "classify", "--backend", spec, "hello there");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "l2");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "greeting");
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 1);

    /* another version is another model: asked again */
    cli(&r, &h, "classify", "--backend", spec, "--backend-version", "v2",
        "--threshold", "0.9", "hello there");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    check_result(ls.v[0], "model");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "unknown");
    ck_assert_ptr_nonnull(strstr(json_str(ls.v[0], "model"), "v2"));
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 2);

    /* many lines through one child */
    h.in = "{\"id\": 1, \"text\": \"one\"}\ntwo\nthree\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect_lines(&ls, &r, 0, "", 3);
    ck_assert_int_eq((int)json_num(ls.v[0], "id"), 1);
    check_result(ls.v[2], "model");
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 3);
}
END_TEST

/* A backend that dies is restarted; the request is asked again. */
START_TEST(test_exec_crash)
{
    char spec[4300];
    how h = {0};
    lines ls;
    size_t i;
    run r;

    /* exits after every answer: each request needs a new child */
    backend_spec(spec, sizeof(spec), "once");
    h.in = "first\nsecond\nthird\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect_lines(&ls, &r, 0, "", 3);
    for (i = 0; i < ls.n; i++) {
        check_result(ls.v[i], "model");
        ck_assert_str_eq(json_str(ls.v[i], "intent"), "once");
    }
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 3);

    /* exits after one answer, mid-run: the later lines are answered */
    backend_spec(spec, sizeof(spec), "backend");
    h.in = "alpha\ncrash now\nbeta\ngamma\n";
    cli(&r, &h, "classify", "--backend", spec, "--batch", "1");
    expect_lines(&ls, &r, 0, "", 4);
    ck_assert_str_eq(json_str(ls.v[1], "intent"), "crashed");
    ck_assert_str_eq(json_str(ls.v[3], "intent"), "greeting");
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 3 + 2);

    /* a command that never answers: each request fails, the run goes on */
    cli(&r, &h, "classify", "--backend", "exec:exit 7", "a", "b");
    expect(&r, 4, "", "argument 1: ");
    expect(&r, 4, "", "argument 2: ");
    ck_assert_ptr_nonnull(strstr(r.err, "exited with status 7"));
    run_free(&r);
}
END_TEST

/* --candidate: an A/B rollout, each answer naming its arm; a candidate
 * that fails is answered by the model. */
START_TEST(test_classify_candidate)
{
    const char *m = cli_model();
    char spec[4300];
    how h = {0};
    lines ls;
    size_t i;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    h.in = "Hello there!\nhello again\nhi\n";
    cli(&r, &h, "classify", "--model", m, "--candidate", spec, "--split", "1");
    expect_lines(&ls, &r, 0, "", 3);
    for (i = 0; i < ls.n; i++) {
        check_result(ls.v[i], "model");
        ck_assert_str_eq(json_str(ls.v[i], "arm"), "candidate");
        ck_assert_str_eq(json_str(ls.v[i], "intent"), "greeting");
        ck_assert_ptr_nonnull(strstr(json_str(ls.v[i], "model"), "exec:sh "));
    }
    lines_run_free(&ls, &r);

    /* split 0: the model answers all; its own answers, not the candidate's
     * cached ones */
    cli(&r, &h, "classify", "--model", m, "--candidate", spec, "--split", "0");
    expect_lines(&ls, &r, 0, "", 3);
    for (i = 0; i < ls.n; i++) {
        check_result(ls.v[i], "model");
        ck_assert_str_eq(json_str(ls.v[i], "arm"), "control");
        ck_assert_uint_eq(strlen(json_str(ls.v[i], "model")), 32);
    }
    lines_run_free(&ls, &r);

    /* a candidate that exits non-zero: the model answers, exit 0 */
    h.in = NULL;
    cli(&r, &h, "classify", "--model", m, "--candidate", "exec:exit 7",
        "--split", "1", QUESTION);
    expect_lines(&ls, &r, 0, NULL, 1);
    ck_assert_str_eq(json_str(ls.v[0], "arm"), "control");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "code_generation");
    lines_run_free(&ls, &r);

    cli_check(&h, 2, "", "--split goes with --candidate", "classify", "--model",
              m, "--split", "0.5", "x");
    cli_check(&h, 2, "", "--split", "classify", "--model", m, "--candidate",
              spec, "--split", "1.5", "x");
    cli_check(&h, 2, "", "/nonexistent/model.tcm", "classify", "--model", m,
              "--candidate", "/nonexistent/model.tcm", "x");
}
END_TEST

/* A malformed answer fails that request only. */
START_TEST(test_exec_garbage)
{
    char spec[4300];
    how h = {0};
    lines ls;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    h.in = "hello\nsome garbage please\nworld\n{\"id\": 9, \"text\": "
           "\"noint\"}\nagain\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect(&r, 4, NULL, "tutorcache: stdin:2: ");
    ck_assert_ptr_nonnull(strstr(r.err, "not a JSON object"));
    expect(&r, 4, NULL, "tutorcache: stdin:4: ");
    ck_assert_ptr_nonnull(strstr(r.err, "\"intent\""));
    ck_assert_ptr_null(strstr(r.err, "stdin:1:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:3:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:5:"));
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    check_result(ls.v[2], "model");
    lines_run_free(&ls, &r);
    /* no restart was needed: the stream stayed in step */
    ck_assert_int_eq(starts(), 1);

    /* nothing was cached for the bad ones: asked again, failed again */
    h.in = "some garbage please\nhello\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect_lines(&ls, &r, 4, "tutorcache: stdin:1: ", 1);
    check_result(ls.v[0], "l2");
    lines_run_free(&ls, &r);
}
END_TEST

/* A hung backend is killed after the timeout and restarted. */
START_TEST(test_exec_timeout)
{
    char spec[4300];
    how h = {0};
    lines ls;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    h.in = "please hang\nnext one\n";
    cli(&r, &h, "classify", "--backend", spec, "--backend-timeout", "0.3");
    expect_lines(&ls, &r, 4, "tutorcache: stdin:1: no answer from the backend",
                 1);
    check_result(ls.v[0], "model");
    lines_run_free(&ls, &r);
    ck_assert_int_eq(starts(), 2);
}
END_TEST

/* ---- help --------------------------------------------------------------- */

START_TEST(test_help)
{
    static const char *const cmds[] = {"train", "eval", "classify", "model"};
    how h = {0};
    run r;

    expect_helps(&h, cmds, sizeof(cmds) / sizeof(cmds[0]));
    cli(&r, &h, "model", "--help");
    expect(&r, 0, NULL, "");
    cli_check(&h, 0, r.out, "", "model", "info", "--help");
    run_free(&r);
}
END_TEST

Suite *suite_cli_classify(void)
{
    Suite *s = suite_create("cli_classify");
    TCase *tc = tcase_create("cli_classify");

    suite_cli_train(s);
    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_classify_model_then_l2);
    tcase_add_test(tc, test_classify_no_caching);
    tcase_add_test(tc, test_classify_stdin_ids);
    tcase_add_test(tc, test_classify_bad_lines);
    tcase_add_test(tc, test_classify_threshold);
    tcase_add_test(tc, test_classify_model_sources);
    tcase_add_test(tc, test_classify_usage);
    tcase_add_test(tc, test_exec_roundtrip);
    tcase_add_test(tc, test_exec_crash);
    tcase_add_test(tc, test_exec_garbage);
    tcase_add_test(tc, test_classify_candidate);
    tcase_add_test(tc, test_exec_timeout);
    tcase_add_test(tc, test_help);
    suite_add_tcase(s, tc);
    return s;
}
