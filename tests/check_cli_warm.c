/*
 * check_cli_warm.c - the warm command of the built `tutorcache` binary on
 * LMDB and on a private Redis: exact counts with duplicates (texts that
 * normalize alike are computed once, in one batch or across batches), a
 * second warm finding everything cached and classify then answering from
 * the L2, bad lines reported with their line numbers (exit 4, the other
 * lines warmed all the same), stdin by "-" or no FILE, and usage errors;
 * warm --popular after a workload classified with track_popular (the
 * counts' order, another key computed, warming itself not counted, the
 * refusals), and warm through an exec: backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "suites.h"

/* Four lines of one text, as classification keys it, and two others. */
#define DUPS                                                                   \
    "How do I sort a list in Python?\n"                                        \
    "how do I sort a list in python\n"                                         \
    "  HOW DO I SORT A LIST IN PYTHON!!  \n"                                   \
    "{\"text\": \"How do I sort a list in Python?\", \"count\": 12}\n"         \
    "Explain how a hash table works\r\n"                                       \
    "{\"text\": \"What is 7 times 8\"}\n"

/* Writes text to NAME in the test's HOME; the path goes into buf. */
static const char *write_input(char *buf, size_t n, const char *name,
                               const char *text)
{
    FILE *f;

    snprintf(buf, n, "%s/%s", cli_home(), name);
    f = fopen(buf, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* The summary, the one line of a warm's stdout, against the counts. */
static void expect_summary(const run *r, int code, double texts,
                           double computed, double cached, double rejected)
{
    cJSON *o;

    expect(r, code, NULL, code == 0 ? "" : NULL);
    o = run_json(r);
    ck_assert_double_eq(json_num(o, "texts"), texts);
    ck_assert_double_eq(json_num(o, "computed"), computed);
    ck_assert_double_eq(json_num(o, "already_cached"), cached);
    ck_assert_double_eq(json_num(o, "rejected"), rejected);
    ck_assert(json_num(o, "seconds") >= 0);
    cJSON_Delete(o);
}

/* Duplicates computed once; a second warm finds all of them cached. */
START_TEST(test_warm_counts)
{
    const char *m = cli_model();
    char url[512], path[512];
    how h = {0};
    lines ls;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    write_input(path, sizeof(path), "texts.txt", DUPS);
    cli(&r, &h, "warm", "--model", m, path);
    expect_summary(&r, 0, 6, 3, 0, 0);
    run_free(&r);

    cli(&r, &h, "warm", "--model", m, path);
    expect_summary(&r, 0, 6, 0, 3, 0);
    run_free(&r);

    /* classify now gets the warmed answer from the store */
    cli(&r, &h, "classify", "--model", m, "explain how a hash table works");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert_str_eq(json_str(ls.v[0], "source"), "l2");
    lines_run_free(&ls, &r);

    /* another --top-k is another key: computed again */
    cli(&r, &h, "warm", "--model", m, "--top-k", "2", path);
    expect_summary(&r, 0, 6, 3, 0, 0);
    run_free(&r);
}
END_TEST

/* The classifications' TTL of test_warm_writes (CACHE_TTL), seconds. */
#define WARM_TTL 1234

/*
 * What warm writes, in one batch per --batch texts: every answer the
 * model computed (classify then finds each in the L2), on Redis under
 * CACHE_TTL (each key's PTTL), and none for a text a correction answers
 * (counted as cached; on Redis no key for it), which classify still
 * answers from the correction. With Redis down, warm still answers every
 * text and reports, exit 0.
 */
START_TEST(test_warm_writes)
{
    static const char *const env[] = {"CACHE_TTL=1234", NULL};
    const char *m = cli_model();
    char url[512], path[512], intent[64], source[32];
    how h = {0};
    cJSON *o;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    h.env = env;
    write_input(path, sizeof(path), "texts.txt", DUPS);
    cf_submit(&h, "how do I sort a list in python", "greeting", "debugging",
              NULL);
    cli(&r, &h, "warm", "--model", m, "--batch", "2", path);
    expect_summary(&r, 0, 6, 2, 1, 0);
    run_free(&r);
    cf_classify(&h, m, "How do I sort a list in Python?", intent,
                sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "feedback");
    ck_assert_str_eq(intent, "debugging");
    cf_classify(&h, m, "explain how a hash table works", intent, sizeof(intent),
                source, sizeof(source));
    ck_assert_str_eq(source, "l2");
    cf_classify(&h, m, "What is 7 times 8", intent, sizeof(intent), source,
                sizeof(source));
    ck_assert_str_eq(source, "l2");
    if (_i != CLI_REDIS) {
        return;
    }
    {
        char *keys = trs_cmd(cli_redis(), "KEYS tc:intent:*");
        char *k, *save = NULL;
        int n = 0;

        ck_assert_ptr_nonnull(keys);
        for (k = strtok_r(keys, "\n", &save); k;
             k = strtok_r(NULL, "\n", &save), n++) {
            char *p = trs_cmd(cli_redis(), "PTTL %s", k);
            long long ms = p ? atoll(p) : 0;

            ck_assert_msg(ms > (WARM_TTL - 600) * 1000LL &&
                              ms <= WARM_TTL * 1000LL,
                          "%s: PTTL %s", k, p ? p : "(none)");
            free(p);
        }
        free(keys);
        ck_assert_int_eq(n, 2);
    }
    trs_kill(cli_redis());
    cli(&r, &h, "warm", "--model", m, path);
    expect(&r, 0, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r.err, "l2_unavailable"));
    o = run_json(&r);
    ck_assert_double_eq(json_num(o, "texts"), 6);
    ck_assert_double_eq(json_num(o, "computed"), 3);
    cJSON_Delete(o);
    run_free(&r);
}
END_TEST

/* Four identical lines run the model once, in one batch or in four. */
START_TEST(test_warm_identical)
{
    static const char four[] = "What is a closure?\nWhat is a closure?\n"
                               "What is a closure?\nWhat is a closure?\n";
    const char *m = cli_model();
    char url[512];
    how h = {0};
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    h.in = four;
    cli(&r, &h, "warm", "--model", m, "--batch", "1", "-");
    expect_summary(&r, 0, 4, 1, 0, 0);
    run_free(&r);

    h.in = "What is a generator?\nWhat is a generator?\n"
           "What is a generator?\nWhat is a generator?\n";
    cli(&r, &h, "warm", "--model", m);
    expect_summary(&r, 0, 4, 1, 0, 0);
    run_free(&r);

    h.in = four;
    cli(&r, &h, "warm", "--model", m);
    expect_summary(&r, 0, 4, 0, 1, 0);
    run_free(&r);
}
END_TEST

/* Bad lines: FILE:LINE: reason each, exit 4, the other lines warmed. */
START_TEST(test_warm_bad_lines)
{
    static const char text[] = "How do I reverse a string?\n"        /* 1 */
                               "caf\xc3 au lait\n"                   /* 2 */
                               "\n"                                  /* 3 */
                               "{\"txt\": \"typo\"}\n"               /* 4 */
                               "{\"text\": \"unfinished\"\n"         /* 5 */
                               "{\"text\": \"x\", \"count\": 0}\n"   /* 6 */
                               "{\"text\": \"y\", \"count\": 1.5}\n" /* 7 */
                               "[1, 2]\n"                            /* 8 */
                               "{\"text\": \"   \"}\n"               /* 9 */
                               "How do I reverse a string\n"         /* 10 */
                               "What is 7 times 8";                  /* 11 */
    const char *m = cli_model();
    char path[512], want[600];
    how h = {0};
    run r;
    int i;

    write_input(path, sizeof(path), "bad.txt", text);
    cli(&r, &h, "warm", "--model", m, path);
    /* "[1, 2]" is a text: only a line starting with { is JSON */
    expect_summary(&r, 4, 11, 3, 0, 7);
    expect_diagnostics(&r);
    for (i = 2; i <= 9; i++) {
        snprintf(want, sizeof(want), "tutorcache: %s:%d: ", path, i);
        if (i == 8) {
            ck_assert_ptr_null(strstr(r.err, want));
        } else {
            ck_assert_msg(strstr(r.err, want), "no \"%s\" in %s", want, r.err);
        }
    }
    ck_assert_ptr_nonnull(strstr(r.err, ":2: not valid UTF-8"));
    ck_assert_ptr_nonnull(strstr(r.err, ":3: empty text"));
    ck_assert_ptr_nonnull(strstr(r.err, ":4: \"text\": missing"));
    ck_assert_ptr_nonnull(strstr(r.err, ":6: \"count\": not a whole number"));
    ck_assert_ptr_nonnull(strstr(r.err, ":7: \"count\": not a whole number"));
    ck_assert_ptr_nonnull(strstr(r.err, ":9: empty text"));
    ck_assert_ptr_null(strstr(r.err, ":1: "));
    ck_assert_ptr_null(strstr(r.err, ":10: "));
    ck_assert_ptr_null(strstr(r.err, ":11: "));
    run_free(&r);

    /* from stdin, the lines are stdin's */
    h.in = text;
    cli(&r, &h, "warm", "--model", m, "-");
    expect_summary(&r, 4, 11, 0, 3, 7);
    ck_assert_ptr_nonnull(strstr(r.err, "tutorcache: stdin:5: "));
    run_free(&r);
}
END_TEST

START_TEST(test_warm_usage)
{
    static const char *const cmds[] = {"warm"};
    const char *m = cli_model();
    char path[512];
    how h = {0};

    expect_helps(NULL, cmds, 1);
    write_input(path, sizeof(path), "one.txt", "hello\n");
    cli_check_diag(&h, 2, "one FILE", "warm", "--model", m, path, path);
    cli_check_diag(&h, 2, "--batch", "warm", "--model", m, "--batch", "0",
                   path);
    cli_check_diag(&h, 2, "--top-k", "warm", "--model", m, "-k", "101", path);
    cli_check_diag(&h, 2, "no-such.txt", "warm", "--model", m, "no-such.txt");
    cli_check_diag(&h, 2, "is a directory", "warm", "--model", m, cli_home());
    cli_check_diag(&h, 2, "--model", "warm", path);
}
END_TEST

/* The environment of a workload counted by track_popular. */
static const char *const track_env[] = {"TUTORCACHE_TRACK_POPULAR=true", NULL};

/* A backend (exec:sh FILE) that counts its starts and answers "greeting",
 * but fails a text with "garbage" in it. */
static const char backend_sh[] =
    "echo start >> \"$(dirname \"$0\")/starts\"\n"
    "while IFS= read -r line; do\n"
    "  case \"$line\" in\n"
    "    *garbage*) echo 'this is not json' ;;\n"
    "    *) echo '{\"intent\": \"greeting\", \"confidence\": 0.875}' ;;\n"
    "  esac\n"
    "done\n";

static const char *backend(char *buf, size_t n)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/backend.sh", cli_home());
    tt_write_file(path, backend_sh, 0755);
    snprintf(buf, n, "exec:sh %s", path);
    return buf;
}

static long backend_starts(void)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/starts", cli_home());
    return access(path, F_OK) == 0 ? tt_file_lines(path) : 0;
}

/* A workload, then warm --popular N: the N most asked, under the same
 * model (cached), another key (computed) and another backend. */
START_TEST(test_warm_popular)
{
    static const char workload[] =
        "How do I sort a list?\nhow do i sort a list?\n"
        "HOW DO I SORT A LIST?\nWhat is a closure?\nwhat is a closure?\n"
        "Explain recursion\n";
    const char *m = cli_model();
    char url[512], path[512], spec[700];
    how h = {0};
    lines ls;
    run r;

    h.url = cli_store_url(_i, url, sizeof(url));
    h.env = track_env;
    h.in = workload;
    cli(&r, &h, "classify", "--model", m);
    expect_lines(&ls, &r, 0, "", 6);
    lines_run_free(&ls, &r);

    /* the two most asked, cached by the workload itself */
    h.in = NULL;
    cli(&r, &h, "warm", "--popular", "2", "--model", m);
    expect_summary(&r, 0, 2, 0, 2, 0);
    run_free(&r);
    /* another key (a new model's, here --top-k's): computed */
    cli(&r, &h, "warm", "--popular", "2", "--model", m, "--top-k", "2");
    expect_summary(&r, 0, 2, 2, 0, 0);
    run_free(&r);
    /* warming a file counts nothing: still three texts */
    write_input(path, sizeof(path), "new.txt", "never asked by a user\n");
    cli(&r, &h, "warm", "--model", m, path);
    expect_summary(&r, 0, 1, 1, 0, 0);
    run_free(&r);
    cli(&r, &h, "warm", "--popular", "100", "--model", m);
    expect_summary(&r, 0, 3, 0, 3, 0);
    run_free(&r);

    /* an exec: backend, warmed before its first user: no start then */
    cli(&r, &h, "warm", "--popular", "3", "--backend",
        backend(spec, sizeof(spec)), "--backend-version", "b1");
    expect_summary(&r, 0, 3, 3, 0, 0);
    run_free(&r);
    ck_assert_int_eq(backend_starts(), 1);
    cli(&r, &h, "classify", "--backend", spec, "--backend-version", "b1",
        "how do I sort a list");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert_str_eq(json_str(ls.v[0], "source"), "l2");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), "greeting");
    lines_run_free(&ls, &r);
    ck_assert_int_eq(backend_starts(), 1);
}
END_TEST

/* warm FILE through an exec: backend: a text it fails is a bad line. */
START_TEST(test_warm_exec)
{
    char path[512], spec[700];
    how h = {0};
    run r;

    backend(spec, sizeof(spec));
    write_input(path, sizeof(path), "q.txt",
                "hello there\nthis is garbage\nHello there!\ngood bye\n");
    cli(&r, &h, "warm", "--backend", spec, path);
    expect_summary(&r, 4, 4, 2, 0, 1);
    ck_assert_msg(strstr(r.err, ":2: "), "%s", r.err);
    ck_assert_ptr_null(strstr(r.err, ":1: "));
    run_free(&r);
    cli(&r, &h, "warm", "--backend", spec, path);
    expect_summary(&r, 4, 4, 0, 2, 1);
    run_free(&r);
}
END_TEST

/* --popular's refusals: a bad N, with a FILE, tracking off, memory:. */
START_TEST(test_warm_popular_refused)
{
    const char *m = cli_model();
    char mem[64], path[512];
    how h = {0}, t = {0};

    write_input(path, sizeof(path), "one.txt", "hello\n");
    cli_check_diag(&h, 2, "--popular", "warm", "--model", m, "--popular", "0");
    cli_check_diag(&h, 2, "--popular", "warm", "--model", m, "--popular", "-3");
    cli_check_diag(&h, 2, "--popular", "warm", "--model", m, "--popular",
                   "many");
    cli_check_diag(&h, 2, "not both", "warm", "--model", m, "--popular", "5",
                   path);
    cli_check_diag(&h, 2, "track_popular is off", "warm", "--model", m,
                   "--popular", "5");
    cli_check_diag(&h, 2, "--model and --backend", "warm", "--model", m,
                   "--backend", "exec:cat", path);
    cli_check_diag(&h, 2, "--backend-version goes with", "warm", "--model", m,
                   "--backend-version", "v", path);
    t.env = track_env;
    t.url = cli_store_url(CLI_MEMORY, mem, sizeof(mem));
    cli_check_run(&t, 0, 2, "", "keeps no popularity", "warm", "--model", m,
                  "--popular", "5", (char *)NULL);
}
END_TEST

Suite *suite_cli_warm(void)
{
    Suite *s = suite_create("cli_warm");
    TCase *tc = tcase_create("cli_warm");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_warm_counts, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_loop_test(tc, test_warm_identical, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_loop_test(tc, test_warm_writes, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_test(tc, test_warm_bad_lines);
    tcase_add_test(tc, test_warm_usage);
    tcase_add_loop_test(tc, test_warm_popular, CLI_LMDB, CLI_REDIS + 1);
    tcase_add_test(tc, test_warm_exec);
    tcase_add_test(tc, test_warm_popular_refused);
    suite_add_tcase(s, tc);
    return s;
}
