/*
 * check_cli_feedback.c - the feedback commands of the built `tutorcache`
 * binary (feedback submit, feedback stats, and train --update
 * --from-feedback), run as a user runs them: a fork and exec per call with
 * a clean environment and a fresh LMDB store in a temp dir per test, and
 * stdout, stderr and the exit code checked separately. Every call is its
 * own process, so each test also shows that what one process submits,
 * another sees: a correction overrides the next process's classify. The
 * suite's import and export tests are in check_cli_feedback_io.c.
 */
#include <stdio.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "suites.h"

#define QUESTION "How do I write a Python function that reverses a list?"

/* ---- submit ------------------------------------------------------------- */

START_TEST(test_submit)
{
    char id1[33], id2[33];
    how h = {0};
    lines ls;
    run r;

    cf_submit(&h, "Explain recursion to me", "code_generation", "explanation",
              id1);

    /* every option (--user-id, as purge names it; --user elsewhere), and a
     * confirmation by default when the labels agree */
    cli(&r, &h, "feedback", "submit", "--text", "Fix my segfault", "--original",
        "debugging", "--correct", "debugging", "--confidence", "0.9",
        "--complexity", "advanced", "--techniques", "c, gdb", "--user-id",
        "u42", "--timestamp", "2024-03-01T09:30:00+01:00");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert(cf_is_record_id(json_str(ls.v[0], "id")));
    ck_assert_str_eq(json_str(ls.v[0], "status"), "accepted");
    snprintf(id2, sizeof(id2), "%s", json_str(ls.v[0], "id"));
    lines_run_free(&ls, &r);
    ck_assert_str_ne(id1, id2);

    /* one JSON record on stdin */
    h.in = "{\"text\": \"Translate hello\", \"original_intent\": "
           "\"translation\", \"correct_intent\": \"translation\", "
           "\"original_confidence\": 0.8, \"feedback_type\": "
           "\"confirmation\"}\n";
    cli(&r, &h, "feedback", "submit", "-");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert(cf_is_record_id(json_str(ls.v[0], "id")));
    lines_run_free(&ls, &r);
    h.in = NULL;

    /* the first again: a duplicate, stored and counted once */
    cli(&r, &h, "feedback", "submit", "--text", "Explain recursion to me",
        "--original", "code_generation", "--correct", "explanation",
        "--confidence", "0.5");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert_str_eq(json_str(ls.v[0], "id"), id1);
    ck_assert_str_eq(json_str(ls.v[0], "status"), "duplicate");
    lines_run_free(&ls, &r);

    /* all three are stored, as given */
    cf_expect_stats(&h, "accepted.correction", 1, "accepted.confirmation", 2,
                    "kept", 3, "queued", 3, NULL);
    cli(&r, &h, "feedback", "export");
    expect_lines(&ls, &r, 0, "", 3);
    ck_assert_str_eq(json_str(ls.v[1], "id"), id2);
    ck_assert_str_eq(json_str(ls.v[1], "feedback_type"), "confirmation");
    ck_assert_str_eq(json_str(ls.v[1], "correct_complexity"), "advanced");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         ls.v[1], "correct_techniques")),
                     2);
    ck_assert_str_eq(
        cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(ls.v[1], "correct_techniques"), 1)
            ->valuestring,
        "gdb");
    ck_assert_str_eq(json_str(ls.v[1], "user_id"), "u42");
    ck_assert_str_eq(json_str(ls.v[1], "timestamp"),
                     "2024-03-01T08:30:00.000Z");
    lines_run_free(&ls, &r);
}
END_TEST

START_TEST(test_submit_bad)
{
    how h = {0};

    /* the library's rule, in its words, and exit 4 */
    cli_check(&h, 4, "",
              "tutorcache: original_confidence: 1.7 is not in 0..1\n",
              "feedback", "submit", "--text", "hi", "--original", "a",
              "--correct", "b", "--confidence", "1.7");
    cli_check(&h, 4, "", "tutorcache: text: ", "feedback", "submit", "--text",
              "   ", "--original", "a", "--correct", "b", "--confidence",
              "0.5");
    /* a correction must change the intent */
    cli_check(&h, 4, "", "tutorcache: correct_intent: ", "feedback", "submit",
              "--text", "hi", "--original", "a", "--correct", "a",
              "--confidence", "0.5", "--type", "correction");
    cli_check(&h, 4, "", "tutorcache: timestamp: ", "feedback", "submit",
              "--text", "hi", "--original", "a", "--correct", "b",
              "--confidence", "0.5", "--timestamp", "yesterday");
    /* a misspelt field of a JSON record is named, never dropped */
    h.in = "{\"text\": \"hi\", \"original_intent\": \"a\", \"correct_intent\": "
           "\"b\", \"original_confidence\": 0.5, \"feedback_type\": "
           "\"correction\", \"user\": \"u1\"}";
    cli_check(&h, 4, "", "tutorcache: user: ", "feedback", "submit", "-");
    h.in = "not json";
    cli_check(&h, 4, "", "tutorcache: ", "feedback", "submit", "-");
    h.in = NULL;

    /* usage: the CLI's own options */
    cli_check(&h, 2, "", "--confidence is required", "feedback", "submit",
              "--text", "hi", "--original", "a", "--correct", "b");
    cli_check(&h, 2, "", "--text is required", "feedback", "submit",
              "--original", "a", "--correct", "b", "--confidence", "0.5");
    cli_check(&h, 2, "", "--confidence", "feedback", "submit", "--text", "hi",
              "--original", "a", "--correct", "b", "--confidence", "high");
    cli_check(&h, 2, "", "--type", "feedback", "submit", "--text", "hi",
              "--original", "a", "--correct", "b", "--confidence", "0.5",
              "--type", "praise");
    cli_check(&h, 2, "", "stdin", "feedback", "submit", "-", "--text", "hi");
    /* feedback needs a durable store */
    h.url = "memory:";
    cli_check(&h, 2, "", "durable store", "feedback", "submit", "--text", "hi",
              "--original", "a", "--correct", "b", "--confidence", "0.5");
    h.url = NULL;

    /* nothing was stored; the library's refusals were counted */
    cf_expect_stats(&h, "kept", 0, "accepted.correction", 0,
                    "rejected.correction", 5, "rejected.invalid", 1, NULL);
}
END_TEST

/* ---- the override, seen from other processes ---------------------------- */

START_TEST(test_override_other_process)
{
    const char *m = cli_model();
    char intent[64], source[32], corrected[64];
    how h = {0};

    /* one process classifies with the model, another corrects it, and a
     * third gets the correction, not its model's cached answer */
    cf_correct(&h, m, QUESTION, corrected, sizeof(corrected));
    /* the same text, normalized the same way, is corrected too */
    cf_classify(&h, m,
                "  how do I write a PYTHON function that reverses a list? ",
                intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "feedback");
    ck_assert_str_eq(intent, corrected);
}
END_TEST

START_TEST(test_override_expiry)
{
    const char *m = cli_model();
    char cfg[4200], env[4300], intent[64], source[32], corrected[64];
    const char *envs[] = {env, NULL};
    how h = {0};

    snprintf(cfg, sizeof(cfg), "%s/config.json", cli_home());
    tt_write_file(
        cfg, "{\"namespaces\": {\"intent_feedback\": {\"ttl\": 1}}}\n", 0644);
    snprintf(env, sizeof(env), "TUTORCACHE_CONFIG=%s", cfg);
    h.env = envs;
    cf_correct(&h, m, QUESTION, corrected, sizeof(corrected));
    /* past the override's TTL of 1 s, the cache answers again */
    tt_sleep_ms(1200);
    cf_classify(&h, m, QUESTION, intent, sizeof(intent), source,
                sizeof(source));
    ck_assert_str_ne(source, "feedback");
    ck_assert_str_ne(intent, corrected);
}
END_TEST

/* ---- stats -------------------------------------------------------------- */

START_TEST(test_stats_exact)
{
    const cJSON *pairs, *p;
    how h = {0};
    cJSON *st;
    run r;

    cf_submit(&h, "t1", "code_generation", "explanation", NULL);
    cf_submit(&h, "t2", "code_generation", "explanation", NULL);
    cf_submit(&h, "t3", "code_generation", "explanation", NULL);
    cf_submit(&h, "t4", "debugging", "code_generation", NULL);
    cf_submit(&h, "t5", "translation", "translation", NULL);
    cf_submit(&h, "t6", "translation", "translation", NULL);
    /* one refused correction, one record of no valid type */
    cli_check(&h, 4, "", "original_confidence", "feedback", "submit", "--text",
              "t7", "--original", "a", "--correct", "b", "--confidence", "-1");
    h.in = "{\"text\": \"t8\", \"original_intent\": \"a\", \"correct_intent\": "
           "\"b\", \"original_confidence\": 0.5, \"feedback_type\": \"meh\"}";
    cli_check(&h, 4, "", "feedback_type", "feedback", "submit", "-");
    h.in = NULL;
    /* two records taken by a consumer and not acknowledged */
    cli(&r, &h, "feedback", "export", "--consumer", "c", "--max", "2");
    expect(&r, 0, NULL, "");
    ck_assert_uint_eq(tt_count_lines(r.out), 2);
    run_free(&r);

    st = cf_stats(&h);
    ck_assert_int_eq((long)json_num(st, "accepted.correction"), 4);
    ck_assert_int_eq((long)json_num(st, "accepted.confirmation"), 2);
    ck_assert_int_eq((long)json_num(st, "rejected.correction"), 1);
    ck_assert_int_eq((long)json_num(st, "rejected.confirmation"), 0);
    ck_assert_int_eq((long)json_num(st, "rejected.invalid"), 1);
    ck_assert_int_eq((long)json_num(st, "kept"), 6);
    ck_assert_int_eq((long)json_num(st, "pending"), 2);
    ck_assert_int_eq((long)json_num(st, "queued"), 4);
    ck_assert_int_eq((long)json_num(st, "spooled"), 0);
    pairs = cJSON_GetObjectItemCaseSensitive(st, "pairs");
    ck_assert_int_eq(cJSON_GetArraySize(pairs), 2);
    p = cJSON_GetArrayItem(pairs, 0);
    ck_assert_str_eq(json_str(p, "original"), "code_generation");
    ck_assert_str_eq(json_str(p, "correct"), "explanation");
    ck_assert_int_eq((int)json_num(p, "count"), 3);
    p = cJSON_GetArrayItem(pairs, 1);
    ck_assert_str_eq(json_str(p, "original"), "debugging");
    ck_assert_int_eq((int)json_num(p, "count"), 1);
    cJSON_Delete(st);

    /* --format json is --json; the table is for people */
    cli(&r, &h, "feedback", "stats", "--format", "json");
    expect(&r, 0, NULL, "");
    st = cJSON_Parse(r.out);
    ck_assert_int_eq((long)json_num(st, "kept"), 6);
    cJSON_Delete(st);
    run_free(&r);
    cli(&r, &h, "feedback", "stats", "--format", "table");
    expect(&r, 0, NULL, "");
    expect_out_has(&r, "accepted.correction    4\n",
                   "pending                2\n", NULL);
    ck_assert_ptr_nonnull(
        strstr(r.out, "code_generation  explanation          3\n"));
    run_free(&r);
    cli_check(&h, 2, "", "--format", "feedback", "stats", "--format", "yaml");
}
END_TEST

/* ---- train --update --from-feedback ------------------------------------- */

START_TEST(test_train_update)
{
    char m[4200], url[4300], intent[64], corrected[64];
    char fp0[64], fp1[64];
    how h = {0}, fresh = {0};
    const cJSON *o;
    lines ls;
    run r;

    snprintf(m, sizeof(m), "%s/m.tcm", cli_home());
    tt_copy_file(cli_model(), m);
    cli_fingerprint(m, fp0);
    /* the model's own answer, from a store without overrides */
    snprintf(url, sizeof(url), "lmdb://%s/fresh1", cli_home());
    fresh.url = url;
    cf_model_answer(&fresh, m, QUESTION, intent, sizeof(intent));
    snprintf(corrected, sizeof(corrected), "%s", cf_other_intent(intent));
    /* the correction of every head: intent, complexity, techniques */
    cli_check(&h, 0, NULL, "", "feedback", "submit", "--text", QUESTION,
              "--original", intent, "--correct", corrected, "--confidence",
              "0.5", "--complexity", "advanced", "--techniques",
              "sql,statistics");
    cf_submit(&h, "Translate good night into German", "translation",
              "translation", NULL);
    /* a label the model was never trained with */
    cf_submit(&h, "Write a haiku about autumn", "code_generation", "poetry",
              NULL);

    /* a run whose save fails acknowledges nothing */
    cli_check(&h, 5, "", "stay in the queue", "train", "--update", m,
              "--from-feedback", "-o", "/nonexistent-dir/m.tcm");
    cf_expect_stats(&h, "pending", 3, "queued", 0, NULL);
    cli_fingerprint(m, fp1);
    ck_assert_str_eq(fp1, fp0);

    /* the next run gets them back after the idle time and learns them */
    tt_sleep_ms(100);
    cli(&r, &h, "train", "--update", m, "--from-feedback", "--claim-idle",
        "0.05");
    expect(&r, 0, NULL, "poetry");
    ck_assert_ptr_nonnull(strstr(r.err, "skipped"));
    ck_assert_uint_eq(tt_count_lines(r.err), 1);
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    o = ls.v[0];
    ck_assert_str_eq(json_str(o, "model"), m);
    ck_assert_int_eq((int)json_num(o, "updated"), 2);
    ck_assert_int_eq((int)json_num(o, "skipped"), 1);
    ck_assert_str_eq(json_str(o, "fingerprint_before"), fp0);
    ck_assert_str_ne(json_str(o, "fingerprint_after"), fp0);
    /* MODEL itself was replaced */
    cli_fingerprint(m, fp1);
    ck_assert_str_eq(fp1, json_str(o, "fingerprint_after"));
    lines_run_free(&ls, &r);

    /* the model now answers the correction by itself, every head */
    snprintf(url, sizeof(url), "lmdb://%s/fresh2", cli_home());
    cli(&r, &fresh, "classify", "--model", m, "--format", "json", QUESTION);
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    ck_assert_str_eq(json_str(ls.v[0], "source"), "model");
    ck_assert_str_eq(json_str(ls.v[0], "intent"), corrected);
    ck_assert_str_eq(json_str(ls.v[0], "complexity"), "advanced");
    /* both techniques, in the order of their scores */
    o = cJSON_GetObjectItemCaseSensitive(ls.v[0], "techniques");
    ck_assert_int_eq(cJSON_GetArraySize(o), 2);
    ck_assert(strcmp(cJSON_GetArrayItem(o, 0)->valuestring, "sql") == 0 ||
              strcmp(cJSON_GetArrayItem(o, 1)->valuestring, "sql") == 0);
    ck_assert(strcmp(cJSON_GetArrayItem(o, 0)->valuestring, "statistics") ==
                  0 ||
              strcmp(cJSON_GetArrayItem(o, 1)->valuestring, "statistics") == 0);
    lines_run_free(&ls, &r);

    /* used records left the queue; the skipped one waits, unacknowledged */
    cf_expect_stats(&h, "queued", 0, "pending", 1, NULL);

    /* nothing new: a second run updates nothing */
    cli(&r, &h, "train", "--update", m, "--from-feedback");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    ck_assert_int_eq((int)json_num(ls.v[0], "updated"), 0);
    ck_assert_int_eq((int)json_num(ls.v[0], "skipped"), 0);
    ck_assert_str_eq(json_str(ls.v[0], "fingerprint_before"), fp1);
    ck_assert_str_eq(json_str(ls.v[0], "fingerprint_after"), fp1);
    lines_run_free(&ls, &r);

    /* with a tiny idle time, the skipped record comes back: once */
    tt_sleep_ms(10);
    cli(&r, &h, "train", "--update", m, "--from-feedback", "--claim-idle",
        "0.001");
    expect(&r, 0, NULL, "poetry");
    ck_assert_uint_eq(tt_count_lines(r.err), 1);
    lines_parse(&ls, r.out);
    ck_assert_int_eq((int)json_num(ls.v[0], "updated"), 0);
    ck_assert_int_eq((int)json_num(ls.v[0], "skipped"), 1);
    lines_run_free(&ls, &r);
}
END_TEST

START_TEST(test_train_update_usage)
{
    char m[4200];
    how h = {0};

    snprintf(m, sizeof(m), "%s/m.tcm", cli_home());
    tt_copy_file(cli_model(), m);
    cli_check(&h, 2, "", "--from-feedback", "train", "--update", m);
    cli_check(&h, 2, "", "--update", "train", "--from-feedback", "-o", m,
              CLI_TRAIN_DATA);
    cli_check(&h, 2, "", "--epochs", "train", "--update", m, "--from-feedback",
              "--epochs", "3");
    cli_check(&h, 2, "", "DATA", "train", "--update", m, "--from-feedback",
              CLI_TRAIN_DATA);
    cli_check(&h, 2, "", "no/such.tcm", "train", "--update", "no/such.tcm",
              "--from-feedback");
    cli_check(&h, 4, "", CLI_TRAIN_DATA, "train", "--update", CLI_TRAIN_DATA,
              "--from-feedback");
    h.url = "memory:";
    cli_check(&h, 2, "", "durable store", "train", "--update", m,
              "--from-feedback");
}
END_TEST

/* ---- help and usage ----------------------------------------------------- */

START_TEST(test_help)
{
    static const char *const subs[] = {"submit", "import", "stats", "export",
                                       "purge"};
    char want[64];
    how h = {0};
    run r, r2, r3;
    size_t i;

    cli(&r, &h, "--help");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "\n  feedback "));
    run_free(&r);
    cli(&r, &h, "feedback", "--help");
    expect(&r, 0, NULL, "");
    ck_assert(strncmp(r.out, "Usage: tutorcache feedback", 26) == 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
    cli(&r2, &h, "help", "feedback");
    expect(&r2, 0, r.out, "");
    cli(&r3, &h, "feedback", "-h");
    expect(&r3, 0, r.out, "");
    run_free(&r);
    run_free(&r2);
    run_free(&r3);
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        cli(&r, &h, "feedback", subs[i], "--help");
        expect(&r, 0, NULL, "");
        snprintf(want, sizeof(want), "Usage: tutorcache feedback %s", subs[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
        cli(&r2, &h, "feedback", subs[i], "-h");
        expect(&r2, 0, r.out, "");
        run_free(&r);
        run_free(&r2);
    }
    cli(&r, &h, "train", "--help");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "--from-feedback"));
    run_free(&r);

    cli_check(&h, 2, "", "subcommand", "feedback");
    cli_check(&h, 2, "", "frob", "feedback", "frob");
    cli_check(&h, 2, "", "no arguments", "feedback", "stats", "extra");
}
END_TEST

Suite *suite_cli_feedback(void)
{
    Suite *s = suite_create("cli_feedback");
    TCase *tc = tcase_create("cli_feedback");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_submit);
    tcase_add_test(tc, test_submit_bad);
    tcase_add_test(tc, test_override_other_process);
    tcase_add_test(tc, test_override_expiry);
    tcase_add_test(tc, test_stats_exact);
    tcase_add_test(tc, test_train_update);
    tcase_add_test(tc, test_train_update_usage);
    tcase_add_test(tc, test_help);
    suite_add_tcase(s, tc);
    suite_cli_feedback_io(s);
    suite_cli_fb_analytics(s);
    suite_cli_served(s);
    suite_cli_feedback_kill(s);
    suite_cli_audit(s);
    return s;
}
