/*
 * check_cli_train.c - the commands that make and judge a model, of the
 * built `tutorcache` binary: train (its output, a damaged data set, the
 * same seed giving the same file), model info (of a good and of a
 * truncated file) and eval against the example test set. Part of the
 * cli_classify suite (check_cli_classify.c), run through the CLI harness.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "suites.h"

#define TEST_DATA "examples/intents_test.jsonl"

/*
 * The accuracy floor of the example model on the example test set. The
 * model, trained with --seed 7 --threads 1, scores 0.854 (macro-F1 0.845)
 * there; the floor leaves room for changes of the training defaults but
 * not for a broken model (eight intents: chance is 0.125).
 */
#define ACCURACY_FLOOR 0.75

static void setup(void)
{
    cli_setup();
    ck_assert_msg(access(TEST_DATA, R_OK) == 0,
                  "run from the source tree: %s is needed", TEST_DATA);
}

/* ---- files -------------------------------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

/* ---- train and model info ----------------------------------------------- */

START_TEST(test_train)
{
    char out[4200], again[4200], bad[4200], err[4300];
    const cJSON *labels;
    how h = {0};
    lines ls, ls2;
    run r;

    snprintf(out, sizeof(out), "%s/m.tcm", cli_home());
    cli(&r, &h, "train", CLI_TRAIN_DATA, "-o", out, "--seed", "7", "--threads",
        "1");
    /* stderr is not a terminal: no progress */
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert_str_eq(json_str(ls.v[0], "model"), out);
    ck_assert_int_eq((long)json_num(ls.v[0], "examples"),
                     tt_file_lines(CLI_TRAIN_DATA));
    labels = cJSON_GetObjectItemCaseSensitive(ls.v[0], "labels");
    ck_assert_int_eq((int)json_num(labels, "intent"), 8);
    ck_assert_int_eq((int)json_num(labels, "complexity"), 3);
    ck_assert_int_gt((int)json_num(labels, "techniques"), 1);
    ck_assert_uint_eq(strlen(json_str(ls.v[0], "fingerprint")), 32);
    ck_assert_int_eq((long)json_num(ls.v[0], "file_bytes"), file_size(out));
    ck_assert(json_num(ls.v[0], "seconds") >= 0);
    run_free(&r);

    /* one thread and a seed: the same model again */
    snprintf(again, sizeof(again), "%s/again.tcm", cli_home());
    cli(&r, &h, "train", "-o", again, "--seed", "7", "--threads", "1",
        CLI_TRAIN_DATA);
    expect_lines(&ls2, &r, 0, "", LINES_ANY);
    ck_assert_str_eq(json_str(ls2.v[0], "fingerprint"),
                     json_str(ls.v[0], "fingerprint"));
    lines_run_free(&ls2, &r);

    /* the data from stdin: the same examples, the same model */
    h.in = "{\"text\": \"write a function\", \"intent\": \"code\"}\n"
           "{\"text\": \"why does it crash\", \"intent\": \"debug\"}\n";
    cli(&r, &h, "train", "-o", again, "--epochs", "2", "-");
    expect_lines(&ls2, &r, 0, "", LINES_ANY);
    ck_assert_int_eq((int)json_num(ls2.v[0], "examples"), 2);
    ck_assert_int_eq(
        (int)json_num(cJSON_GetObjectItemCaseSensitive(ls2.v[0], "labels"),
                      "intent"),
        2);
    lines_run_free(&ls2, &r);
    lines_free(&ls);

    /* a malformed line stops training and is named; no model is written */
    snprintf(bad, sizeof(bad), "%s/bad.jsonl", cli_home());
    tt_write_file(bad,
                  "{\"text\": \"write a function\", \"intent\": \"code\"}\n"
                  "{\"text\": \"why does it crash\", \"intent\": 5}\n",
                  0644);
    snprintf(out, sizeof(out), "%s/never.tcm", cli_home());
    cli(&r, &h, "train", bad, "-o", out);
    snprintf(err, sizeof(err), "%s:2", bad);
    expect(&r, 4, "", err);
    ck_assert_int_ne(access(out, F_OK), 0);
    run_free(&r);

    /* usage: no -o, a file that is not there, bad values */
    cli_check(&h, 2, "", "-o MODEL", "train", CLI_TRAIN_DATA);
    cli_check(&h, 2, "", "no/such.jsonl", "train", "no/such.jsonl", "-o", out);
    cli_check(&h, 2, "", "--epochs", "train", CLI_TRAIN_DATA, "-o", out,
              "--epochs", "0");
    cli_check(&h, 2, "", "--lr", "train", CLI_TRAIN_DATA, "-o", out, "--lr",
              "fast");
    cli_check(&h, 2, "", "--minn", "train", CLI_TRAIN_DATA, "-o", out, "--minn",
              "5", "--maxn", "3");
    /* the library's bound, refused before any training */
    cli_check(&h, 2, "", "--buckets", "train", CLI_TRAIN_DATA, "-o", out,
              "--buckets", "67108865");
    /* a model file that cannot be written */
    cli_check(&h, 5, "", "tutorcache: ", "train", CLI_TRAIN_DATA, "-o",
              "/nonexistent-dir/m.tcm", "--epochs", "1");
}
END_TEST

START_TEST(test_model_info)
{
    const char *m = cli_model();
    char damaged[4200], dir[4200];
    const cJSON *heads, *hp;
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "model", "info", m, "--format", "json");
    expect_lines(&ls, &r, 0, "", 1);
    heads = cJSON_GetObjectItemCaseSensitive(ls.v[0], "heads");
    ck_assert_int_eq(cJSON_GetArraySize(heads), 3);
    ck_assert_str_eq(json_str(cJSON_GetArrayItem(heads, 0), "name"), "intent");
    ck_assert_str_eq(json_str(cJSON_GetArrayItem(heads, 1), "name"),
                     "complexity");
    ck_assert_str_eq(json_str(cJSON_GetArrayItem(heads, 2), "name"),
                     "techniques");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(heads, 2), "multi_label")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetArrayItem(heads, 0), "labels")),
                     8);
    ck_assert_uint_eq(strlen(json_str(ls.v[0], "fingerprint")), 32);
    ck_assert_int_eq((long)json_num(ls.v[0], "file_bytes"), file_size(m));
    hp = cJSON_GetObjectItemCaseSensitive(ls.v[0], "hyperparameters");
    ck_assert_int_eq((int)json_num(hp, "seed"), 7);
    lines_run_free(&ls, &r);

    cli(&r, &h, "model", "info", "--format", "table", m);
    expect(&r, 0, NULL, "");
    expect_out_has(&r, "fingerprint ", "head intent: single-label, 8",
                   "head techniques: multi-label", "code_generation", NULL);
    run_free(&r);

    /* a damaged file (cut in half) fails cleanly as bad input */
    snprintf(damaged, sizeof(damaged), "%s/damaged.tcm", cli_home());
    tt_copy_head(m, damaged, file_size(m) / 2);
    cli_check(&h, 4, "", damaged, "model", "info", damaged);
    /* not a model file at all */
    cli_check(&h, 4, "", CLI_TRAIN_DATA, "model", "info", CLI_TRAIN_DATA);
    /* missing, or a directory: a wrong argument */
    snprintf(dir, sizeof(dir), "%s/none.tcm", cli_home());
    cli_check(&h, 2, "", "none.tcm", "model", "info", dir);
    cli_check(&h, 2, "", "directory", "model", "info", cli_home());
    cli_check(&h, 2, "", "info", "model");
    cli_check(&h, 2, "", "frob", "model", "frob", m);
    cli_check(&h, 2, "", "MODEL", "model", "info");
}
END_TEST

/* ---- eval --------------------------------------------------------------- */

START_TEST(test_eval)
{
    const char *m = cli_model();
    const cJSON *labels, *lab, *conf, *heads, *it;
    char bad[4200], err[4300];
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "eval", m, TEST_DATA, "--json");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert_int_eq((long)json_num(ls.v[0], "n"), tt_file_lines(TEST_DATA));
    ck_assert_msg(json_num(ls.v[0], "accuracy") >= ACCURACY_FLOOR,
                  "accuracy %g below %g", json_num(ls.v[0], "accuracy"),
                  ACCURACY_FLOOR);
    ck_assert(json_num(ls.v[0], "macro_f1") > 0 &&
              json_num(ls.v[0], "macro_f1") <= 1);
    ck_assert_int_eq((int)json_num(ls.v[0], "rejected"), 0);
    labels = cJSON_GetObjectItemCaseSensitive(ls.v[0], "labels");
    ck_assert_int_eq(cJSON_GetArraySize(labels), 8);
    lab = cJSON_GetObjectItemCaseSensitive(labels, "code_generation");
    ck_assert_ptr_nonnull(lab);
    ck_assert(json_num(lab, "precision") >= 0 &&
              json_num(lab, "precision") <= 1);
    ck_assert(json_num(lab, "recall") >= 0 && json_num(lab, "recall") <= 1);
    ck_assert(json_num(lab, "f1") >= 0 && json_num(lab, "f1") <= 1);
    ck_assert_int_gt((int)json_num(lab, "support"), 0);
    conf = cJSON_GetObjectItemCaseSensitive(ls.v[0], "confusions");
    ck_assert(cJSON_IsArray(conf) && cJSON_GetArraySize(conf) <= 10);
    cJSON_ArrayForEach(it, conf)
    {
        ck_assert_str_ne(json_str(it, "gold"), json_str(it, "predicted"));
        ck_assert_int_gt((int)json_num(it, "count"), 0);
    }
    heads = cJSON_GetObjectItemCaseSensitive(ls.v[0], "heads");
    it = cJSON_GetObjectItemCaseSensitive(heads, "complexity");
    ck_assert_ptr_nonnull(it);
    ck_assert(json_num(it, "accuracy") >= 0 && json_num(it, "accuracy") <= 1);
    /* a multi-label head has no accuracy */
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(heads, "techniques"));
    lines_run_free(&ls, &r);

    /* the table for people */
    cli(&r, &h, "eval", m, TEST_DATA);
    expect(&r, 0, NULL, "");
    expect_out_has(&r, "accuracy  0.", "macro_f1  0.", "precision  recall",
                   "\ncode_generation ", NULL);
    run_free(&r);

    /* bad lines are named and skipped; the others are evaluated */
    snprintf(bad, sizeof(bad), "%s/test.jsonl", cli_home());
    tt_write_file(bad,
                  "{\"text\": \"Write a Python function that sorts a list\", "
                  "\"intent\": \"code_generation\"}\n"
                  "{\"text\": \"no label here\"}\n"
                  "\n"
                  "this is not json\n"
                  "{\"text\": \"Translate 'good morning' into French\", "
                  "\"intent\": \"translation\"}\n",
                  0644);
    cli(&r, &h, "eval", "--json", m, bad);
    snprintf(err, sizeof(err), "%s:2: ", bad);
    expect(&r, 4, NULL, err);
    snprintf(err, sizeof(err), "%s:4: ", bad);
    expect_lines(&ls, &r, 4, err, LINES_ANY);
    ck_assert_int_eq((int)json_num(ls.v[0], "n"), 2);
    ck_assert_int_eq((int)json_num(ls.v[0], "rejected"), 2);
    lines_run_free(&ls, &r);

    /* from stdin */
    h.in = "{\"text\": \"Explain how recursion works\", \"intent\": "
           "\"explanation\"}\n";
    cli(&r, &h, "eval", m, "-", "--json");
    expect_lines(&ls, &r, 0, "", LINES_ANY);
    ck_assert_int_eq((int)json_num(ls.v[0], "n"), 1);
    lines_run_free(&ls, &r);
    h.in = NULL;

    cli_check(&h, 2, "", "MODEL TEST.jsonl", "eval", m);
    cli_check(&h, 2, "", "no-such.jsonl", "eval", m, "no-such.jsonl");
    /* nothing usable at all */
    cli_check(&h, 4, "", "no example", "eval", m, "/dev/null");
}
END_TEST

void suite_cli_train(Suite *s)
{
    TCase *tc = tcase_create("cli_train");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_train);
    tcase_add_test(tc, test_model_info);
    tcase_add_test(tc, test_eval);
    suite_add_tcase(s, tc);
}
