/*
 * check_cli_learn.c - `tutorcache feedback learn`, the loop that teaches
 * the model what its users corrected, run as cron or an operator runs it:
 * records go in with `feedback import`, a learn run decides, checks and
 * swaps, and other processes then read the model's own answers back with
 * `classify`. Every store (LMDB, and a private Redis) runs the same loop;
 * each test learns on its own copy of the example model (learn_fixture.c).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "learn_fixture.h"
#include "redis_fixture.h"
#include "suites.h"

/* What learn makes of examples/corrections.jsonl on the example model: 5
 * corrections taught (the one of "What is 17 times 23?" for its two
 * voters), that text's second voter and the confirmation of the SQL
 * question agreed, the confirmation of "17 times 23" overruled, and the
 * quicksort correction (confidence 0.997, one voter) held. */
#define EXAMPLE_FATES                                                          \
    "9 records: 5 applied, 2 agreed, 1 overruled, 0 capped, 1 held, "          \
    "0 skipped"

/* Far from every correction of the examples: its answer must not move. */
#define FAR_TEXT "How do I write a Python function that reverses a list?"

/* Wide enough that every timestamp of the tests falls in one window. */
#define ONE_WINDOW "1000000000"

/* Corrections of examples/corrections.jsonl that learn teaches. */
static const char *const taught[] = {
    "Derive the formula for the area of a circle",
    "How many seconds are in a week?",
    "My essay is too long, can you shorten it?",
    "Convert 5 miles to kilometers", "What is 17 times 23?"};
static const char *const taught_intents[] = {
    "math_help", "math_help", "summarization", "math_help", "math_help"};
#define N_EXAMPLE 5

/* Whether the test's model with a suffix is there. */
static int there(const char *suffix)
{
    return access(lf_beside(suffix), F_OK) == 0;
}

/* ---- the README's loop --------------------------------------------------- */

/* The README's corrections (one submitted, the rest imported), a close
 * paraphrase of one, then two texts whose answers must not move. */
static const char *const readme_texts[] = {
    "Why does this print None?",
    "Derive the formula for the area of a circle",
    "How many seconds are in a week?",
    "My essay is too long, can you shorten it?",
    "Convert 5 miles to kilometers",
    "What is 17 times 23?",
    "how many seconds are there in a week",
    "What's the time complexity of quicksort?", /* held */
    FAR_TEXT};
static const char *const readme_intents[] = {
    "debugging", "math_help", "math_help", "summarization",
    "math_help", "math_help", "math_help"};
#define N_TAUGHT 7
#define N_README 9

/* The README's sequence, command for command (the model in a temp dir). */
START_TEST(test_readme)
{
    char before[N_README][32], after[N_README][32];
    char fp_old[64], fp_new[64], fp[64];
    how h = {0};
    cJSON *sum, *st;
    size_t i;
    run r;

    lf_use_store(_i);
    cli_check(&h, 0, NULL, "", "train", LF_TRAIN_DATA, "-o", lf_model());
    cli_fingerprint(lf_model(), fp_old);
    lf_answers(readme_texts, N_README, before);
    for (i = 0; i < N_TAUGHT; i++) {
        ck_assert_msg(strcmp(before[i], readme_intents[i]) != 0,
                      "the example model already answers \"%s\" right",
                      readme_texts[i]);
    }
    cli_check(&h, 0, NULL, "", "feedback", "submit", "--text",
              "Why does this print None?", "--original", "explanation",
              "--correct", "debugging", "--confidence", "0.6");
    lf_import_file(LF_CORRECTIONS, 9);
    cli(&r, &h, "feedback", "stats", "--format", "table");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "queued                 10\n"));
    run_free(&r);

    /* the example's fates, and the submitted correction taught too */
    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, "10 records: 6 applied, 2 agreed, 1 overruled, "
                         "0 capped, 1 held, 0 skipped");
    ck_assert_str_eq(json_str(sum, "mode"), "remember");
    ck_assert(!json_bool(sum, "refused"));
    ck_assert(!json_bool(sum, "dry_run"));
    ck_assert(json_num(sum, "corrections_right") == 1);
    ck_assert(json_num(sum, "reference_accuracy_after") >=
              json_num(sum, "reference_accuracy_before") - 0.005);
    ck_assert_str_eq(json_str(sum, "fingerprint_before"), fp_old);
    cli_fingerprint(lf_model(), fp_new);
    ck_assert_str_ne(fp_new, fp_old);
    ck_assert_str_eq(json_str(sum, "fingerprint_after"), fp_new);
    cJSON_Delete(sum);
    cli_fingerprint(lf_beside(".prev"), fp);
    ck_assert_str_eq(fp, fp_old);

    /* the model answers the corrections and a paraphrase, nothing else */
    lf_answers(readme_texts, N_README, after);
    for (i = 0; i < N_TAUGHT; i++) {
        ck_assert_msg(strcmp(after[i], readme_intents[i]) == 0,
                      "\"%s\": %s, expected %s", readme_texts[i], after[i],
                      readme_intents[i]);
    }
    ck_assert_str_eq(after[N_TAUGHT], before[N_TAUGHT]);
    ck_assert_str_eq(after[N_TAUGHT + 1], before[N_TAUGHT + 1]);

    /* the run is kept beside the model; the held record waits */
    cli(&r, &h, "feedback", "stats", "--model", lf_model(), "--format",
        "table");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "\nlearn\n"));
    run_free(&r);
    st = lf_stats(1);
    ck_assert(json_num(st, "learn.runs") == 1);
    ck_assert(json_num(st, "learn.applied") == 6);
    lf_expect_fates(json_get(st, "learn.last"),
                    "10 records: 6 applied, 2 agreed, 1 overruled, 0 capped, "
                    "1 held, 0 skipped");
    ck_assert_str_eq(json_str(st, "learn.last.fingerprint_after"), fp_new);
    ck_assert(json_num(st, "pending") + json_num(st, "queued") == 1);
    cJSON_Delete(st);

    /* nothing new: the next run teaches nothing and swaps nothing */
    sum = lf_learn(0, "", NULL);
    ck_assert(json_num(sum, "applied") == 0);
    ck_assert_str_eq(json_str(sum, "fingerprint_after"), fp_new);
    cJSON_Delete(sum);
    lf_expect_fingerprints(fp_new, fp_old);

    /* the README's last step undoes the swap */
    cli_check(&h, 0, NULL, "", "feedback", "learn", "--model", lf_model(),
              "--rollback");
    lf_expect_fingerprints(fp_old, NULL);
}
END_TEST

/* The README's other way: a trainer takes the records, learn finds none. */
START_TEST(test_export_instead)
{
    char fp_old[64], line[1024];
    const char *p, *nl;
    cJSON *sum, *o, *want;
    how h = {0};
    FILE *in;
    run r;

    lf_use_store(_i);
    lf_model_copy();
    cli_fingerprint(lf_model(), fp_old);
    lf_import_file(LF_CORRECTIONS, 9);
    cli(&r, &h, "feedback", "export", "--consumer", "trainer", "--ack");
    expect(&r, 0, NULL, "");
    /* the records of the file, in its order */
    in = fopen(LF_CORRECTIONS, "r");
    ck_assert_ptr_nonnull(in);
    for (p = r.out; fgets(line, sizeof(line), in); p = nl + 1) {
        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "fewer records than the file: %s", r.out);
        o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        want = cJSON_Parse(line);
        ck_assert_msg(o && want, "not JSON: %s", p);
        ck_assert_str_eq(json_str(o, "text"), json_str(want, "text"));
        ck_assert_str_eq(json_str(o, "correct_intent"),
                         json_str(want, "correct_intent"));
        ck_assert_str_eq(json_str(o, "user_id"), json_str(want, "user_id"));
        cJSON_Delete(o);
        cJSON_Delete(want);
    }
    fclose(in);
    ck_assert_str_eq(p, "");
    run_free(&r);
    ck_assert_int_eq(lf_unacked(), 0);

    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, "0 records: 0 applied, 0 agreed, 0 overruled, "
                         "0 capped, 0 held, 0 skipped");
    ck_assert_str_eq(json_str(sum, "fingerprint_after"), fp_old);
    cJSON_Delete(sum);
    lf_expect_fingerprints(fp_old, NULL);
    ck_assert(!there(".prev"));
}
END_TEST

START_TEST(test_rollback)
{
    char fp_old[64], fp_new[64];
    how h = {0};
    cJSON *o;
    run r;

    lf_model_copy();
    cli_fingerprint(lf_model(), fp_old);
    /* nothing to go back to: the missing file is named */
    cli_check(&h, 2, "", lf_beside(".prev"), "feedback", "learn", "--model",
              lf_model(), "--rollback");
    lf_expect_fingerprints(fp_old, NULL);

    lf_import_file(LF_CORRECTIONS, 9);
    cJSON_Delete(lf_learn(0, "", NULL));
    cli_fingerprint(lf_model(), fp_new);
    ck_assert_str_ne(fp_new, fp_old);

    /* back, and forth again: the two files trade places */
    cli(&r, &h, "feedback", "learn", "--model", lf_model(), "--rollback");
    expect(&r, 0, NULL, "");
    o = run_json(&r);
    ck_assert_str_eq(json_str(o, "model"), lf_model());
    ck_assert_str_eq(json_str(o, "fingerprint"), fp_old);
    ck_assert_str_eq(json_str(o, "previous"), fp_new);
    cJSON_Delete(o);
    run_free(&r);
    lf_expect_fingerprints(fp_old, fp_new);
    cli_check(&h, 0, NULL, "", "feedback", "learn", "--model", lf_model(),
              "--rollback");
    lf_expect_fingerprints(fp_new, fp_old);

    /* a rollback does nothing else */
    cli_check(&h, 2, "", "--rollback", "feedback", "learn", "--model",
              lf_model(), "--rollback", "--dry-run");
    cli_check(&h, 2, "", "--rollback", "feedback", "learn", "--model",
              lf_model(), "--rollback", "--data", LF_TRAIN_DATA);
}
END_TEST

/* ---- who wins ------------------------------------------------------------ */

/* Three texts, each with a conflict of its own, in one run. */
START_TEST(test_conflicts)
{
    static const char *const texts[] = {
        "Tell me about the history of the printing press",
        "Is a tomato a fruit or a vegetable?",
        "Which planet in our solar system has the most moons?"};
    char a[3][32], now[3][32];
    lf_batch b;
    cJSON *sum;

    lf_use_store(_i);
    lf_model_copy();
    lf_answers(texts, 3, a);
    lf_batch_start(&b);
    /* the majority wins, though the other intent came last */
    lf_add(&b, texts[0], a[0], lf_other(a[0], 0), 0.5, "u1", 1);
    lf_add(&b, texts[0], a[0], lf_other(a[0], 0), 0.5, "u2", 2);
    lf_add(&b, texts[0], a[0], lf_other(a[0], 1), 0.5, "u3", 3);
    /* a tie goes to the latest by timestamp, whatever came in last */
    lf_add(&b, texts[1], a[1], lf_other(a[1], 1), 0.5, "u5", 6);
    lf_add(&b, texts[1], a[1], lf_other(a[1], 0), 0.5, "u4", 5);
    /* u6 twice is one voter: a tie, which u7 came last to win */
    lf_add(&b, texts[2], a[2], lf_other(a[2], 0), 0.5, "u6", 7);
    lf_add(&b, texts[2], a[2], lf_other(a[2], 0), 0.5, "u6", 8);
    lf_add(&b, texts[2], a[2], lf_other(a[2], 1), 0.5, "u7", 9);
    lf_import(&b);

    /* one answer taught per text; u1 agreed with u2; the rest lost */
    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, "8 records: 3 applied, 1 agreed, 4 overruled, "
                         "0 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);
    lf_answers(texts, 3, now);
    ck_assert_str_eq(now[0], lf_other(a[0], 0));
    ck_assert_str_eq(now[1], lf_other(a[1], 1));
    ck_assert_str_eq(now[2], lf_other(a[2], 1));
    ck_assert_int_eq(lf_unacked(), 0);
}
END_TEST

START_TEST(test_user_cap)
{
    static const char *const texts[] = {
        "Give me three facts about octopuses",
        "Which is heavier, a kilo of feathers or a kilo of steel?",
        "Name a famous painting by Vermeer",
        "What do pandas eat in the wild?",
        "Who invented the telephone?",
        "Why do cats purr?",
        "When did the Berlin Wall fall?",
        "What is the tallest mountain in Africa?"};
    static const int order[] = {2, 0, 4, 1, 3}; /* the oldest: 0 and 1 */
    char a[8][32], now[8][32];
    lf_batch b;
    cJSON *sum;
    int i, k;

    lf_use_store(_i);
    lf_model_copy();
    lf_answers(texts, 8, a);
    /* u1 corrects five texts; only its two oldest corrections are taught */
    lf_batch_start(&b);
    for (i = 0; i < 5; i++) {
        k = order[i];
        lf_add(&b, texts[k], a[k], lf_other(a[k], 0), 0.5, "u1", k);
    }
    lf_import(&b);
    sum = lf_learn(0, "", "--user-cap", "2", "--user-window", ONE_WINDOW, NULL);
    lf_expect_fates(sum, "5 records: 2 applied, 0 agreed, 0 overruled, "
                         "3 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);
    ck_assert_int_eq(lf_unacked(), 0); /* capped records are settled too */
    lf_answers(texts, 8, now);
    for (i = 0; i < 5; i++) {
        ck_assert_str_eq(now[i], i < 2 ? lf_other(a[i], 0) : a[i]);
    }

    /* the window spans runs: u1 has used it up, u2 has not */
    lf_batch_start(&b);
    lf_add(&b, texts[5], a[5], lf_other(a[5], 0), 0.5, "u1", 10);
    lf_add(&b, texts[6], a[6], lf_other(a[6], 0), 0.5, "u1", 11);
    lf_add(&b, texts[7], a[7], lf_other(a[7], 0), 0.5, "u2", 12);
    lf_import(&b);
    sum = lf_learn(0, "", "--user-cap", "2", "--user-window", ONE_WINDOW, NULL);
    lf_expect_fates(sum, "3 records: 1 applied, 0 agreed, 0 overruled, "
                         "2 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);
    lf_answers(texts, 8, now);
    ck_assert_str_eq(now[5], a[5]);
    ck_assert_str_eq(now[6], a[6]);
    ck_assert_str_eq(now[7], lf_other(a[7], 0));
}
END_TEST

START_TEST(test_min_votes)
{
    static const char *const texts[] = {"Who painted the Mona Lisa?",
                                        "What is the capital of Australia?"};
    char a[2][32], now[2][32], fp[64];
    lf_batch b;
    cJSON *sum;

    lf_use_store(_i);
    lf_model_copy();
    lf_answers(texts, 2, a);
    /* with --min-votes 1, a confident answer overturned by one user */
    lf_batch_start(&b);
    lf_add(&b, texts[0], a[0], lf_other(a[0], 0), 0.995, "u1", 1);
    lf_import(&b);
    sum = lf_learn(0, "", "--min-votes", "1", NULL);
    lf_expect_fates(sum, "1 records: 1 applied, 0 agreed, 0 overruled, "
                         "0 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);

    /* by default it waits in the queue for a second voter */
    cli_fingerprint(lf_model(), fp);
    lf_batch_start(&b);
    lf_add(&b, texts[1], a[1], lf_other(a[1], 0), 0.995, "u2", 2);
    lf_import(&b);
    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, "1 records: 0 applied, 0 agreed, 0 overruled, "
                         "0 capped, 1 held, 0 skipped");
    ck_assert_str_eq(json_str(sum, "fingerprint_after"), fp);
    cJSON_Delete(sum);
    ck_assert_int_eq(lf_unacked(), 1);
    lf_answers(texts, 2, now);
    ck_assert_str_eq(now[0], lf_other(a[0], 0));
    ck_assert_str_eq(now[1], a[1]);

    /* a second user agrees: the next run teaches it */
    lf_batch_start(&b);
    lf_add(&b, texts[1], a[1], lf_other(a[1], 0), 0.995, "u3", 3);
    lf_import(&b);
    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, "2 records: 1 applied, 1 agreed, 0 overruled, "
                         "0 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);
    lf_answers(texts, 2, now);
    ck_assert_str_eq(now[1], lf_other(a[1], 0));
    ck_assert_int_eq(lf_unacked(), 0);
}
END_TEST

/* ---- the check before the swap ------------------------------------------- */

START_TEST(test_refused)
{
    /* training texts of the example data: references of the model */
    static const char *const refs[] = {
        "Write a Python function that checks whether a string is a "
        "palindrome.",
        "can u write me a js function to debounce an input handler",
        "Generate a SQL query that returns the top 5 customers by total "
        "order value."};
    char fp_old[64], fp[64], now[3][32];
    lf_batch b;
    cJSON *sum;
    int i;

    lf_use_store(_i);
    lf_model_copy();
    cli_fingerprint(lf_model(), fp_old);
    lf_batch_start(&b);
    for (i = 0; i < 3; i++) {
        lf_add(&b, refs[i], "code_generation", "translation", 0.5, "u1", i);
    }
    lf_import(&b);
    sum = lf_learn(5, "tutorcache: learn: refused: on its ", "--tolerance",
                   "0.1", NULL);
    ck_assert(json_bool(sum, "refused"));
    ck_assert_ptr_nonnull(
        strstr(json_str(sum, "reason"), "more than 0.1 points worse"));
    ck_assert(json_num(sum, "reference_accuracy_after") <
              json_num(sum, "reference_accuracy_before") - 0.001);
    ck_assert_str_eq(json_str(sum, "fingerprint_after"), fp_old);
    cJSON_Delete(sum);
    lf_expect_fingerprints(fp_old, NULL);
    ck_assert(!there(".prev"));
    ck_assert_int_eq(lf_unacked(), 3);
    lf_answers(refs, 3, now);
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(now[i], "code_generation");
    }

    /* a later run that tolerates it teaches them; the refused run taught
     * u1 nothing, so it used none of u1's cap */
    sum = lf_learn(0, "", "--tolerance", "5", "--user-cap", "3", NULL);
    lf_expect_fates(sum, "3 records: 3 applied, 0 agreed, 0 overruled, "
                         "0 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);
    lf_answers(refs, 3, now);
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(now[i], "translation");
    }
    cli_fingerprint(lf_beside(".prev"), fp);
    ck_assert_str_eq(fp, fp_old);
}
END_TEST

/* Records sealed by a key the learn run does not hold come out of the
 * queue marked "unopened": they are skipped with a message that names
 * the cause, and stay queued, so that a run given the key as an old one
 * learns them. */
START_TEST(test_unopened)
{
    char k1[600], k2[600], e1[640], e2[640], old1[640];
    const char *with_k1[] = {e1, NULL}, *with_k2[] = {e2, NULL},
               *with_both[] = {e2, old1, NULL};
    lf_batch b;
    cJSON *sum;
    int i;

    snprintf(k1, sizeof(k1), "%s.k1", lf_model());
    snprintf(k2, sizeof(k2), "%s.k2", lf_model());
    tt_write_file(k1,
                  "0101010101010101010101010101010101010101010101010101"
                  "010101010101\n",
                  0600);
    tt_write_file(k2,
                  "0202020202020202020202020202020202020202020202020202"
                  "020202020202\n",
                  0600);
    snprintf(e1, sizeof(e1), "TUTORCACHE_ENCRYPTION_KEY_FILE=%s", k1);
    snprintf(e2, sizeof(e2), "TUTORCACHE_ENCRYPTION_KEY_FILE=%s", k2);
    snprintf(old1, sizeof(old1), "TUTORCACHE_ENCRYPTION_OLD_KEY_FILES=%s", k1);
    lf_use_store(_i);
    lf_model_copy();
    tt_cli.env = with_k1;
    lf_batch_start(&b);
    for (i = 0; i < 3; i++) {
        lf_add(&b, taught[i], "code_generation", taught_intents[i], 0.5,
               i == 0   ? "u1"
               : i == 1 ? "u2"
                        : "u3",
               i);
    }
    lf_import(&b);

    tt_cli.env = with_k2;
    sum = lf_learn(0, "sealed by a key this run does not hold; skipped", NULL);
    lf_expect_fates(sum, "3 records: 0 applied, 0 agreed, 0 overruled, "
                         "0 capped, 0 held, 3 skipped");
    cJSON_Delete(sum);
    tt_cli.env = with_both; /* stats would warn of records not opened */
    ck_assert_int_eq(lf_unacked(), 3);
    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, "3 records: 3 applied, 0 agreed, 0 overruled, "
                         "0 capped, 0 held, 0 skipped");
    cJSON_Delete(sum);
    ck_assert_int_eq(lf_unacked(), 0);
    tt_cli.env = NULL;
}
END_TEST

START_TEST(test_retrain)
{
    char fp_old[64], fp[64], now[N_EXAMPLE][32];
    char *bad[] = {"feedback", "learn",         "--model", (char *)lf_model(),
                   "--data",   "no/such.jsonl", NULL};
    lf_batch b;
    how h = {0};
    cJSON *sum;
    int i;
    run r;

    lf_use_store(_i);
    lf_model_copy();
    cli_fingerprint(lf_model(), fp_old);
    lf_import_file(LF_CORRECTIONS, 9);
    sum = lf_learn(0, "", "--data", LF_TRAIN_DATA, NULL);
    ck_assert_str_eq(json_str(sum, "mode"), "retrain");
    lf_expect_fates(sum, EXAMPLE_FATES);
    ck_assert(json_num(sum, "corrections_right") == 1);
    ck_assert(json_num(sum, "reference_accuracy_before") > 0.9);
    ck_assert(json_num(sum, "reference_accuracy_after") >=
              json_num(sum, "reference_accuracy_before") - 0.005);
    cli_fingerprint(lf_model(), fp);
    ck_assert_str_ne(fp, fp_old);
    ck_assert_str_eq(json_str(sum, "fingerprint_after"), fp);
    cJSON_Delete(sum);
    lf_answers(taught, N_EXAMPLE, now);
    for (i = 0; i < N_EXAMPLE; i++) {
        ck_assert_str_eq(now[i], taught_intents[i]);
    }

    /* a data file that is not there is a usage error; the record waiting
     * stays for the next run */
    lf_batch_start(&b);
    lf_add(&b, FAR_TEXT, "code_generation", "debugging", 0.5, "u1", -1);
    lf_import(&b);
    run_argv(&r, &h, bad);
    expect(&r, 2, "", "no/such.jsonl");
    run_free(&r);
    sum = lf_learn(0, "", NULL);
    ck_assert(json_num(sum, "applied") == 1);
    cJSON_Delete(sum);
}
END_TEST

START_TEST(test_dry_run)
{
    char fp_old[64], now[N_EXAMPLE][32];
    cJSON *sum;
    int i;

    lf_use_store(_i);
    lf_model_copy();
    cli_fingerprint(lf_model(), fp_old);
    lf_import_file(LF_CORRECTIONS, 9);
    sum = lf_learn(0, "", "--dry-run", NULL);
    ck_assert(json_bool(sum, "dry_run"));
    lf_expect_fates(sum, EXAMPLE_FATES);
    ck_assert_str_eq(json_str(sum, "fingerprint_before"), fp_old);
    cJSON_Delete(sum);
    /* nothing swapped, kept or acknowledged */
    lf_expect_fingerprints(fp_old, NULL);
    ck_assert(!there(".prev"));
    ck_assert(!there(".learn.json"));
    ck_assert_int_eq(lf_unacked(), 9);
    lf_answers(taught, N_EXAMPLE, now);
    for (i = 0; i < N_EXAMPLE; i++) {
        ck_assert_str_ne(now[i], taught_intents[i]);
    }

    /* so the run that follows does what the dry run said it would */
    sum = lf_learn(0, "", NULL);
    lf_expect_fates(sum, EXAMPLE_FATES);
    cJSON_Delete(sum);
}
END_TEST

/* ---- bad input and failures ---------------------------------------------- */

START_TEST(test_usage)
{
    const char *m;
    how h = {0};
    run r;

    lf_model_copy();
    m = lf_model();
    cli(&r, &h, "feedback", "learn", "--help");
    expect(&r, 0, NULL, "");
    ck_assert(strncmp(r.out, "Usage: tutorcache feedback learn", 32) == 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
    run_free(&r);
    cli_check(&h, 2, "", "--frob", "feedback", "learn", "--model", m, "--frob");
    cli_check(&h, 2, "", "\"extra\"", "feedback", "learn", "--model", m,
              "extra");
    cli_check(&h, 2, "", "--tolerance", "feedback", "learn", "--model", m,
              "--tolerance", "-1");
    cli_check(&h, 2, "", "--min-votes", "feedback", "learn", "--model", m,
              "--min-votes", "0");
    cli_check(&h, 2, "", "no/such.tcm", "feedback", "learn", "--model",
              "no/such.tcm");
    cli_check(&h, 2, "", "no model", "feedback", "learn");
    /* feedback needs a durable store */
    h.url = "memory:";
    cli_check(&h, 2, "", "durable store", "feedback", "learn", "--model", m);
}
END_TEST

/* A damaged model is refused before any record is taken. */
START_TEST(test_damaged_model)
{
    unsigned char junk[64];
    how h = {0};
    FILE *f;

    lf_model_copy();
    lf_import_file(LF_CORRECTIONS, 9);
    memset(junk, 0xa5, sizeof(junk));
    f = fopen(lf_model(), "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 4096, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    ck_assert_int_eq(fclose(f), 0);
    cli_check(&h, 4, "", "damaged", "feedback", "learn", "--model", lf_model());
    ck_assert(!there(".prev"));
    ck_assert_int_eq(lf_unacked(), 9);
}
END_TEST

START_TEST(test_redis_down)
{
    char fp_old[64];
    how h = {0};

    lf_use_store(LF_REDIS);
    lf_model_copy();
    cli_fingerprint(lf_model(), fp_old);
    lf_import_file(LF_CORRECTIONS, 9);
    trs_kill(lf_redis());
    cli_check(&h, 3, "", "tutorcache: learn: ", "feedback", "learn", "--model",
              lf_model());
    /* nothing listens there at all */
    h.url = "redis://127.0.0.1:1";
    cli_check(&h, 3, "", "tutorcache: learn: ", "feedback", "learn", "--model",
              lf_model());
    lf_expect_fingerprints(fp_old, NULL);
    ck_assert(!there(".prev"));
    ck_assert(!there(".learn.json"));
}
END_TEST

Suite *suite_cli_learn(void)
{
    Suite *s = suite_create("cli_learn");
    TCase *tc = tcase_create("cli_learn");

    tcase_add_unchecked_fixture(tc, lf_case_setup, lf_case_teardown);
    tcase_add_checked_fixture(tc, lf_setup, lf_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_readme, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_export_instead, 0, LF_NSTORES);
    tcase_add_test(tc, test_rollback);
    tcase_add_loop_test(tc, test_conflicts, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_user_cap, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_min_votes, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_refused, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_unopened, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_retrain, 0, LF_NSTORES);
    tcase_add_loop_test(tc, test_dry_run, 0, LF_NSTORES);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_damaged_model);
    tcase_add_test(tc, test_redis_down);
    suite_add_tcase(s, tc);
    return s;
}
