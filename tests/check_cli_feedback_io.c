/*
 * check_cli_feedback_io.c - records into and out of the store through the
 * built `tutorcache` binary: feedback import (10,000 lines, good and bad
 * ones, stdin, CSV, a dry run) and feedback export (everything, per
 * consumer with acks, redelivery, no repeats, a failed write). Part of the
 * cli_feedback suite (check_cli_feedback.c); every call is its own process,
 * so the queue is shown to hand records from process to process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "suites.h"

/* ---- import ------------------------------------------------------------- */

/* A record line of the import files. */
static void good_line(FILE *fp, int i)
{
    fprintf(fp,
            "{\"text\": \"question number %d\", \"original_intent\": "
            "\"code_generation\", \"correct_intent\": \"%s\", "
            "\"original_confidence\": 0.5, \"feedback_type\": \"%s\"}\n",
            i, i % 3 ? "explanation" : "code_generation",
            i % 3 ? "correction" : "confirmation");
}

START_TEST(test_import_10k)
{
    /* bad lines at known places, each with the field its reason names */
    static const struct {
        int line;
        const char *text;
        const char *reason; /* a part of the reason */
    } bad[] = {
        {1, "{\"text\": \"x\"", "JSON"},
        {777,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"b\", \"original_confidence\": 1.7, \"feedback_type\": "
         "\"correction\"}",
         "original_confidence"},
        {4096,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"b\", \"original_confidence\": 0.5, \"feedback_type\": \"praise\"}",
         "feedback_type"},
        {5000,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"b\", \"original_confidence\": 0.5, \"feedback_type\": "
         "\"correction\", \"color\": \"red\"}",
         "color"},
        {9999, "[1, 2, 3]", ""},
        {10000,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"a\", \"original_confidence\": 0.5, \"feedback_type\": "
         "\"correction\"}",
         "correct_intent"},
    };
    const size_t nbad = sizeof(bad) / sizeof(bad[0]);
    char path[4200], want[4400], summary[128];
    const char *p;
    how h = {0};
    cJSON *st;
    FILE *fp;
    size_t b = 0;
    long good = 0, corrections = 0;
    int i;
    run r;

    snprintf(path, sizeof(path), "%s/feedback.jsonl", cli_home());
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (i = 1; i <= 10000; i++) {
        if (b < nbad && bad[b].line == i) {
            fprintf(fp, "%s\n", bad[b++].text);
        } else if (i == 2500) {
            fputs("\n", fp); /* a blank line: skipped, yet counted */
        } else {
            good_line(fp, i);
            good++;
            corrections += i % 3 != 0;
        }
    }
    ck_assert_int_eq(fclose(fp), 0);

    cli(&r, &h, "feedback", "import", path);
    snprintf(
        summary, sizeof(summary),
        "{\"accepted\":%ld,\"rejected\":%zu,\"spooled\":0,\"duplicates\":0,"
        "\"dry_run\":false}\n",
        good, nbad);
    expect(&r, 4, summary, NULL);
    /* exactly the bad lines, in order, each as FILE:LINE: reason */
    ck_assert_uint_eq(tt_count_lines(r.err), nbad);
    p = r.err;
    for (b = 0; b < nbad; b++) {
        snprintf(want, sizeof(want), "tutorcache: %s:%d: ", path, bad[b].line);
        ck_assert_msg(strncmp(p, want, strlen(want)) == 0,
                      "stderr line %zu: expected \"%s\": %s", b + 1, want, p);
        ck_assert_msg(strstr(p, bad[b].reason) != NULL &&
                          strstr(p, bad[b].reason) < strchr(p, '\n'),
                      "line %d's reason lacks \"%s\": %s", bad[b].line,
                      bad[b].reason, p);
        p = strchr(p, '\n') + 1;
    }
    run_free(&r);

    st = cf_stats(&h);
    ck_assert_int_eq((long)json_num(st, "kept"), good);
    ck_assert_int_eq((long)json_num(st, "accepted.correction"), corrections);
    ck_assert_int_eq((long)json_num(st, "accepted.confirmation"),
                     good - corrections);
    /* rejected by type: two corrections, the rest have none or a bad one */
    ck_assert_int_eq((long)json_num(st, "rejected.correction"), 3);
    ck_assert_int_eq((long)json_num(st, "rejected.invalid"), 3);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_import_good_and_stdin)
{
    char path[4200], *text;
    how h = {0};
    size_t len = 0;
    FILE *fp;
    int i;
    run r;

    snprintf(path, sizeof(path), "%s/good.jsonl", cli_home());
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (i = 1; i <= 1500; i++) {
        good_line(fp, i);
    }
    ck_assert_int_eq(fclose(fp), 0);
    cli_check(&h, 0,
              "{\"accepted\":1500,\"rejected\":0,\"spooled\":0,\"duplicates\":"
              "0,\"dry_run\":false}"
              "\n",
              "", "feedback", "import", path);

    /* stdin, as - and as no FILE; CRLF line ends */
    fp = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(fp);
    fputs("{\"text\": \"from stdin\", \"original_intent\": \"a\", "
          "\"correct_intent\": \"b\", \"original_confidence\": 0.1, "
          "\"feedback_type\": \"correction\"}\r\n",
          fp);
    fputs("{\"text\": \"\", \"original_intent\": \"a\", "
          "\"correct_intent\": \"b\", \"original_confidence\": 0.1, "
          "\"feedback_type\": \"correction\"}\r\n",
          fp);
    ck_assert_int_eq(fclose(fp), 0);
    h.in = text;
    cli(&r, &h, "feedback", "import", "-");
    expect(&r, 4,
           "{\"accepted\":1,\"rejected\":1,\"spooled\":0,\"duplicates\":0,"
           "\"dry_run\":false}\n",
           "tutorcache: stdin:2: text");
    ck_assert_uint_eq(tt_count_lines(r.err), 1);
    run_free(&r);
    /* the same again: its good record is a duplicate, stored once */
    cli_check(&h, 4,
              "{\"accepted\":0,\"rejected\":1,\"spooled\":0,\"duplicates\":1,"
              "\"dry_run\":false}\n",
              "tutorcache: stdin:2: ", "feedback", "import");
    h.in = NULL;
    free(text);

    cf_expect_stats(&h, "kept", 1501, NULL);

    /* a file that is not there, or a directory: usage */
    cli_check(&h, 2, "", "no/such.jsonl", "feedback", "import",
              "no/such.jsonl");
    cli_check(&h, 2, "", "directory", "feedback", "import", cli_home());
    cli_check(&h, 2, "", "--format", "feedback", "import", "--format", "xml",
              path);
}
END_TEST

START_TEST(test_import_csv)
{
    char path[4200], want[4300];
    how h = {0};
    lines ls;
    run r;

    snprintf(path, sizeof(path), "%s/fb.csv", cli_home());
    tt_write_file(path,
                  "original_intent,correct_intent,text,original_confidence,"
                  "feedback_type,correct_techniques\n"
                  "code_generation,explanation,\"Explain this, please\",0.4,"
                  "correction,python|recursion\n"
                  "a,a,plain text,0.9,confirmation,\n"
                  "a,b,bad confidence,2,correction,\n"
                  "a,b,\"a text\nover two lines\",0.3,correction,\n",
                  0644);
    cli(&r, &h, "feedback", "import", path);
    expect(&r, 4,
           "{\"accepted\":3,\"rejected\":1,\"spooled\":0,\"duplicates\":0,"
           "\"dry_run\":false}\n",
           NULL);
    snprintf(want, sizeof(want), "tutorcache: %s:4: original_confidence", path);
    expect(&r, 4, NULL, want);
    ck_assert_uint_eq(tt_count_lines(r.err), 1);
    run_free(&r);

    cli(&r, &h, "feedback", "export");
    expect_lines(&ls, &r, 0, "", 3);
    ck_assert_str_eq(json_str(ls.v[0], "text"), "Explain this, please");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         ls.v[0], "correct_techniques")),
                     2);
    ck_assert_str_eq(json_str(ls.v[2], "text"), "a text\nover two lines");
    lines_run_free(&ls, &r);

    /* --format csv on stdin; a header with an unknown column fails whole */
    h.in = "text,original_intent,correct_intent,original_confidence,"
           "feedback_type\nsome text,a,b,0.5,correction\n";
    cli_check(&h, 0,
              "{\"accepted\":1,\"rejected\":0,\"spooled\":0,\"duplicates\":0,"
              "\"dry_run\":false}\n",
              "", "feedback", "import", "--format", "csv", "-");
    h.in = "text,original_intent,correct_intent,original_confidence,"
           "feedback_type,mood\nsome text,a,b,0.5,correction,ok\n";
    cli_check(&h, 4, "", "mood", "feedback", "import", "--format", "csv");
    h.in = NULL;
}
END_TEST

START_TEST(test_import_dry_run)
{
    char path[4200], *before;
    how h = {0};
    cJSON *st;

    cf_submit(&h, "Explain recursion to me", "code_generation", "explanation",
              NULL);
    st = cf_stats(&h);
    before = cJSON_PrintUnformatted(st);
    cJSON_Delete(st);

    snprintf(path, sizeof(path), "%s/dry.jsonl", cli_home());
    tt_write_file(path,
                  "{\"text\": \"t1\", \"original_intent\": \"a\", "
                  "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
                  "\"feedback_type\": \"correction\"}\n"
                  "{\"text\": \"t2\"}\n"
                  "{\"text\": \"t3\", \"original_intent\": \"a\", "
                  "\"correct_intent\": \"a\", \"original_confidence\": 0.5, "
                  "\"feedback_type\": \"confirmation\"}\n",
                  0644);
    cli_check(&h, 4,
              "{\"accepted\":2,\"rejected\":1,\"spooled\":0,\"duplicates\":0,"
              "\"dry_run\":true}\n",
              ":2: ", "feedback", "import", "--dry-run", path);

    /* nothing stored, nothing counted */
    st = cf_stats(&h);
    {
        char *after = cJSON_PrintUnformatted(st);

        ck_assert_str_eq(after, before);
        cJSON_free(after);
    }
    cJSON_Delete(st);
    cJSON_free(before);

    /* a dry run needs no durable store */
    h.url = "memory:";
    cli_check(&h, 4,
              "{\"accepted\":2,\"rejected\":1,\"spooled\":0,\"duplicates\":0,"
              "\"dry_run\":true}\n",
              ":2: ", "feedback", "import", "--dry-run", path);
    cli_check(&h, 2, "", "durable store", "feedback", "import", path);
}
END_TEST

/* ---- export ------------------------------------------------------------- */

/* Submits n records t1..tn; ids[i] receives their ids. */
static void submit_n(const how *h, int n, char ids[][33])
{
    char text[32];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "text %d", i + 1);
        cf_submit(h, text, "code_generation", "explanation", ids[i]);
    }
}

/* The ids of the JSON lines of out, which must be want[0..n): in that
 * order, or (any_order: records claimed from a dead consumer) in any. */
static void expect_ids_in(const char *out, char want[][33], size_t n,
                          int any_order)
{
    lines ls;
    size_t i, k;

    lines_parse(&ls, out);
    ck_assert_uint_eq(ls.n, n);
    for (i = 0; i < n; i++) {
        for (k = any_order ? 0 : i;
             k < n && any_order && strcmp(json_str(ls.v[i], "id"), want[k]);
             k++) {
        }
        ck_assert_uint_lt(k, n);
        ck_assert_str_eq(json_str(ls.v[i], "id"), want[k]);
        ck_assert_str_eq(json_str(ls.v[i], "correct_intent"), "explanation");
    }
    lines_free(&ls);
}

static void expect_ids(const char *out, char want[][33], size_t n)
{
    expect_ids_in(out, want, n, 0);
}

START_TEST(test_export_all)
{
    char ids[5][33];
    how h = {0};
    run r;

    submit_n(&h, 5, ids);
    cli(&r, &h, "feedback", "export");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 5);
    run_free(&r);
    /* the queue is not touched */
    cf_expect_stats(&h, "queued", 5, "pending", 0, NULL);

    /* usage: queue options without a consumer */
    cli_check(&h, 2, "", "--consumer", "feedback", "export", "--ack");
    cli_check(&h, 2, "", "--max", "feedback", "export", "--consumer", "a",
              "--max", "0");
    cli_check(&h, 2, "", "--claim-idle", "feedback", "export", "--consumer",
              "a", "--claim-idle", "0");
}
END_TEST

START_TEST(test_export_consumers_ack)
{
    char ids[7][33];
    how h = {0};
    run r;

    submit_n(&h, 7, ids);
    cli(&r, &h, "feedback", "export", "--consumer", "A", "--max", "3", "--ack");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 3);
    run_free(&r);
    cli(&r, &h, "feedback", "export", "--consumer", "B", "--ack");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids + 3, 4);
    run_free(&r);
    /* acknowledged: gone from the queue, for any consumer */
    cli_check(&h, 0, "", "", "feedback", "export", "--consumer", "C",
              "--claim-idle", "0.001");
    cf_expect_stats(&h, "queued", 0, "pending", 0, "kept", 7, NULL);
}
END_TEST

START_TEST(test_export_redelivery)
{
    char ids[4][33];
    how h = {0};
    run r;

    submit_n(&h, 4, ids);
    /* A takes everything and "dies" without acknowledging */
    cli(&r, &h, "feedback", "export", "--consumer", "A");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 4);
    run_free(&r);
    /* within the (default) claim idle time, nobody else gets them */
    cli_check(&h, 0, "", "", "feedback", "export", "--consumer", "B");
    cf_expect_stats(&h, "pending", 4, NULL);
    /* after it, B claims the same records */
    tt_sleep_ms(200);
    cli(&r, &h, "feedback", "export", "--consumer", "B", "--claim-idle", "0.1",
        "--ack");
    expect(&r, 0, NULL, "");
    expect_ids_in(r.out, ids, 4, 1);
    run_free(&r);
    cf_expect_stats(&h, "pending", 0, "queued", 0, NULL);
}
END_TEST

/*
 * A consumer that does not acknowledge, with an idle time shorter than its
 * own run, gets its records back while it runs: it prints each once and
 * stops, rather than going round them (up to --max). Big records make the
 * run outlast the idle time.
 */
START_TEST(test_export_no_repeats)
{
    char path[4200], *word;
    const cJSON *id;
    how h = {0};
    lines ls;
    FILE *fp;
    size_t i, j;
    run r;

    snprintf(path, sizeof(path), "%s/big.jsonl", cli_home());
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    word = malloc(8001);
    ck_assert_ptr_nonnull(word);
    for (i = 0; i < 200; i++) {
        memset(word, 'a' + (int)(i % 26), 8000);
        word[8000] = '\0';
        fprintf(fp,
                "{\"text\": \"%zu %s\", \"original_intent\": \"a\", "
                "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
                "\"feedback_type\": \"correction\"}\n",
                i, word);
    }
    free(word);
    ck_assert_int_eq(fclose(fp), 0);
    cli_check(&h, 0, NULL, "", "feedback", "import", path);

    cli(&r, &h, "feedback", "export", "--consumer", "C", "--claim-idle",
        "0.001", "--max", "400");
    expect_lines(&ls, &r, 0, "", 200);
    for (i = 0; i < ls.n; i++) {
        id = cJSON_GetObjectItemCaseSensitive(ls.v[i], "id");
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(
                id->valuestring,
                cJSON_GetObjectItemCaseSensitive(ls.v[j], "id")->valuestring);
        }
    }
    lines_run_free(&ls, &r);
}
END_TEST

/* Records that could not be written to stdout are never acknowledged. */
START_TEST(test_export_failed_write)
{
    char ids[3][33];
    how h = {0};
    run r;

    submit_n(&h, 3, ids);
    h.stdout_full = 1;
    cli_check(&h, 5, "", "not acknowledged", "feedback", "export", "--consumer",
              "A", "--ack");
    cli_check(&h, 5, "", "tutorcache: ", "feedback", "export");
    h.stdout_full = 0;
    tt_sleep_ms(50);
    cli(&r, &h, "feedback", "export", "--consumer", "B", "--claim-idle", "0.01",
        "--ack");
    expect(&r, 0, NULL, "");
    expect_ids_in(r.out, ids, 3, 1);
    run_free(&r);
}
END_TEST

void suite_cli_feedback_io(Suite *s)
{
    TCase *tc = tcase_create("cli_feedback_io");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_import_10k);
    tcase_add_test(tc, test_import_good_and_stdin);
    tcase_add_test(tc, test_import_csv);
    tcase_add_test(tc, test_import_dry_run);
    tcase_add_test(tc, test_export_all);
    tcase_add_test(tc, test_export_consumers_ack);
    tcase_add_test(tc, test_export_redelivery);
    tcase_add_test(tc, test_export_no_repeats);
    tcase_add_test(tc, test_export_failed_write);
    suite_add_tcase(s, tc);
}
