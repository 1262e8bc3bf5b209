/*
 * check_feedback_import.c - feedback imports on a real LMDB store: 10,000
 * JSON Lines with exact counts, rejections capped with their line
 * numbers, progress, CSV with and without its header, and a dry run. Part
 * of the feedback suite (check_feedback.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback_fixture.h"

/* ---- import -----------------------------------------------------------------
 */

/* 10,000 lines, every 97th bad in one of several ways. */
START_TEST(test_import_jsonl_10000)
{
    tc_cache *h = fb_open(NULL);
    size_t cap = 10000 * 200, o = 0, nbad = 0;
    char *text = malloc(cap), *s;
    tc_import_report *r;
    static const char *const bad_kinds[] = {
        "{\"text\":\"t\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
        "\"original_confidence\":1.7,\"feedback_type\":\"correction\"}",
        "{\"text\":\"t\",\"original_intent\":\"a\"",
        "{\"text\":\"t\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
        "\"original_confidence\":0.5,\"feedback_type\":\"praise\"}",
        "{\"text\":\"t\",\"original_intent\":\"a\",\"correct_intent\":\"b\","
        "\"original_confidence\":0.5,\"feedback_typo\":\"correction\"}",
    };
    static const char *const bad_why[] = {
        "original_confidence: 1.7 is not in 0..1", "not valid JSON",
        "feedback_type: \"praise\"", "feedback_typo: unknown field"};

    ck_assert_ptr_nonnull(text);
    for (int i = 1; i <= 10000; i++) {
        if (i % 97 == 0) {
            o += (size_t)snprintf(text + o, cap - o, "%s\n",
                                  bad_kinds[nbad % 4]);
            nbad++;
        } else if (i % 500 == 0) {
            o += (size_t)snprintf(text + o, cap - o, "   \r\n"); /* blank */
        } else {
            o += (size_t)snprintf(
                text + o, cap - o,
                "{\"text\":\"question %d\",\"original_intent\":\"i%d\","
                "\"correct_intent\":\"%s\",\"original_confidence\":0.%d,"
                "\"feedback_type\":\"%s\"}\r\n",
                i, i % 7, i % 2 ? "fix" : "i0", i % 10,
                i % 2 ? "correction" : "confirmation");
        }
    }
    /* even lines are confirmations of i0: those whose original is not i0
     * are rejected too, at known numbers */
    r = fb_import_text(h, text, TC_IMPORT_AUTO, 0);
    {
        uint64_t want_rej = nbad, want_acc = 0, k = 0;
        static uint64_t all_bad[10000];
        size_t nall = 0;

        for (int i = 1; i <= 10000; i++) {
            if (i % 97 == 0) {
                all_bad[nall++] = (uint64_t)i;
            } else if (i % 500 == 0) {
                continue;
            } else if (i % 2 == 0 && i % 7 != 0) {
                all_bad[nall++] = (uint64_t)i; /* confirmation that differs */
                want_rej++;
            } else {
                want_acc++;
            }
        }
        ck_assert_uint_eq(r->accepted, want_acc);
        ck_assert_uint_eq(r->rejected, want_rej);
        ck_assert_uint_eq(r->spooled, 0);
        ck_assert_uint_eq(r->nrejections, want_rej < 1000 ? want_rej : 1000);
        for (size_t i = 0; i < r->nrejections; i++) {
            ck_assert_uint_eq(r->rejections[i].line, all_bad[i]);
        }
        /* the reasons of the deliberately bad lines */
        for (size_t i = 0; i < r->nrejections; i++) {
            if (r->rejections[i].line % 97 == 0) {
                ck_assert_msg(
                    strstr(r->rejections[i].reason, bad_why[k % 4]) != NULL,
                    "line %llu: %s", (unsigned long long)r->rejections[i].line,
                    r->rejections[i].reason);
                k++;
            } else {
                ck_assert_str_eq(r->rejections[i].reason,
                                 "correct_intent: differs from "
                                 "original_intent; a confirmation repeats it");
            }
        }
        ck_assert_uint_eq(fb_export_count(h), want_acc);
        s = fb_stats(h);
        ck_assert_int_eq(fb_stat_num(s, "kept"), (long long)want_acc);
        tc_free(s);
    }
    tc_import_report_free(r);
    free(text);
    tc_cache_close(h);
}
END_TEST

/* Only the first 1000 rejections are kept; all are counted. */
START_TEST(test_import_rejections_capped)
{
    tc_cache *h = fb_open(NULL);
    size_t cap = 1500 * 8, o = 0;
    char *text = malloc(cap);
    tc_import_report *r;

    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 1500; i++) {
        o += (size_t)snprintf(text + o, cap - o, "{}\n");
    }
    r = fb_import_text(h, text, TC_IMPORT_JSONL, 0);
    ck_assert_uint_eq(r->rejected, 1500);
    ck_assert_uint_eq(r->nrejections, 1000);
    ck_assert_uint_eq(r->rejections[999].line, 1000);
    ck_assert_str_eq(r->rejections[0].reason, "text: required");
    tc_import_report_free(r);
    free(text);
    tc_cache_close(h);
}
END_TEST

static void count_progress(void *ud, uint64_t lines)
{
    uint64_t *calls = ud;

    ck_assert_uint_eq(lines, (calls[0] + 1) * 1000);
    calls[0]++;
}

START_TEST(test_import_progress)
{
    tc_cache *h = fb_open(NULL);
    size_t cap = 2500 * 200, o = 0;
    char *text = malloc(cap);
    uint64_t calls = 0;
    tc_import_report *r = NULL;
    FILE *f;

    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 2500; i++) {
        o += (size_t)snprintf(text + o, cap - o, "%s\n", fb_base_json);
    }
    f = fmemopen(text, o, "r");
    ck_assert_int_eq(
        tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, count_progress, &calls),
        TC_OK);
    fclose(f);
    ck_assert_uint_eq(calls, 2);
    /* one record 2500 times, over three batches: stored once */
    ck_assert_uint_eq(r->accepted, 1);
    ck_assert_uint_eq(r->duplicates, 2499);
    ck_assert_uint_eq(fb_export_count(h), 1);
    tc_import_report_free(r);
    free(text);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_import_csv)
{
    static const char csv[] =
        "\xEF\xBB\xBFtext, original_intent,correct_intent,original_confidence,"
        "feedback_type,correct_techniques,correct_complexity,user_id\r\n"
        "plain text,a,b,0.5,correction,,,\r\n"                 /* 2 */
        "\"with, a comma\",a,b,0.5,correction,x|y,hard,u1\r\n" /* 3 */
        "\"say \"\"hi\"\"\",a,a,1,confirmation,,,\r\n"         /* 4 */
        "\r\n"                                                 /* 5 */
        "\"two\r\nlines\",a,b,0,correction, p | q ,,\r\n"      /* 6-7 */
        "bad,a,b,zero,correction,,,\r\n"                       /* 8 */
        "few,a,b\r\n"                                          /* 9 */
        "bad \"quote\",a,b,0.5,correction,,,\r\n"              /* 10 */
        "x,a,b,0.5,correction,a||b,,\r\n"                      /* 11 */
        "x,a,b,0.5,,,,\r\n"                                    /* 12 */
        "\"open,a,b,0.5,correction,,,\r\n"                     /* 13 */
        "more\r\n";                                            /* 14 */
    tc_cache *h = fb_open(NULL);
    tc_import_report *r;
    char **lines;
    size_t n;

    r = fb_import_text(h, csv, TC_IMPORT_AUTO, 0);
    ck_assert_uint_eq(r->accepted, 4);
    ck_assert_uint_eq(r->rejected, 6);
    ck_assert_uint_eq(r->nrejections, 6);
    ck_assert_uint_eq(r->rejections[0].line, 8);
    ck_assert_str_eq(r->rejections[0].reason,
                     "original_confidence: \"zero\" is not a number");
    ck_assert_uint_eq(r->rejections[1].line, 9);
    ck_assert_str_eq(r->rejections[1].reason, "3 fields, the header has 8");
    ck_assert_uint_eq(r->rejections[2].line, 10);
    ck_assert_msg(strstr(r->rejections[2].reason, "quote") != NULL, "%s",
                  r->rejections[2].reason);
    ck_assert_uint_eq(r->rejections[3].line, 11);
    ck_assert_str_eq(r->rejections[3].reason, "correct_techniques[1]: empty");
    ck_assert_uint_eq(r->rejections[4].line, 12);
    ck_assert_str_eq(r->rejections[4].reason, "feedback_type: required");
    ck_assert_uint_eq(r->rejections[5].line, 13);
    ck_assert_str_eq(r->rejections[5].reason, "a quoted field does not end");
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_nonnull(strstr(lines[0], "\"text\":\"plain text\""));
    ck_assert_ptr_null(strstr(lines[0], "correct_techniques"));
    ck_assert_ptr_nonnull(strstr(lines[1], "\"text\":\"with, a comma\""));
    ck_assert_ptr_nonnull(strstr(lines[1],
                                 "\"correct_complexity\":\"hard\","
                                 "\"correct_techniques\":[\"x\",\"y\"],"
                                 "\"user_id\":\"u1\""));
    ck_assert_ptr_nonnull(strstr(lines[2], "\"text\":\"say \\\"hi\\\"\""));
    ck_assert_ptr_nonnull(
        strstr(lines[3], "\"text\":\"two\\u000d\\u000alines\""));
    ck_assert_ptr_nonnull(
        strstr(lines[3], "\"correct_techniques\":[\"p\",\"q\"]"));
    fb_free_lines(lines, n);
    tc_import_report_free(r);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_import_csv_header)
{
    tc_cache *h = fb_open(NULL);
    tc_import_report *r = NULL;
    FILE *f;
    static const char *const bad[] = {
        "text,original_intent,correct_intent,original_confidence,"
        "feedback_type,confidence\nx,a,b,0.5,correction,1\n",
        "text,original_intent,correct_intent,feedback_type\nx,a,b,correction\n",
        "text,text,original_intent,correct_intent,original_confidence,"
        "feedback_type\n",
    };
    static const char *const why[] = {"unknown column \"confidence\"",
                                      "no \"original_confidence\" column",
                                      "column \"text\" twice"};

    for (int i = 0; i < 3; i++) {
        f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
        ck_assert_int_eq(
            tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, NULL, NULL),
            TC_EINVAL);
        fclose(f);
        ck_assert_ptr_null(r);
        ck_assert_msg(strstr(tc_errmsg(), why[i]) != NULL, "%s", tc_errmsg());
    }
    ck_assert_uint_eq(fb_export_count(h), 0);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_import_dry_run)
{
    tc_cache *h = fb_open(NULL);
    char text[2048], *s;
    tc_import_report *r;

    snprintf(text, sizeof(text), "%s\n{\"text\":\"\"}\n%s\n", fb_base_json,
             fb_base_json);
    r = fb_import_text(h, text, TC_IMPORT_JSONL, 1);
    ck_assert_uint_eq(r->accepted, 2);
    ck_assert_uint_eq(r->rejected, 1);
    ck_assert_uint_eq(r->rejections[0].line, 2);
    tc_import_report_free(r);
    ck_assert_uint_eq(fb_export_count(h), 0);
    s = fb_stats(h);
    fb_expect_stats(s, "{\"accepted\":{\"correction\":0,\"confirmation\":0},"
                       "\"rejected\":{\"correction\":0,\"confirmation\":0,"
                       "\"invalid\":0},\"pairs\":[],\"kept\":0,"
                       "\"pending\":0,\"queued\":0,\"spooled\":0,");
    tc_free(s);
    tc_cache_close(h);
    /* a dry run needs no durable store */
    h = fb_open_url("memory:", NULL);
    r = fb_import_text(h, text, TC_IMPORT_AUTO, 1);
    ck_assert_uint_eq(r->accepted, 2);
    tc_import_report_free(r);
    tc_cache_close(h);
}
END_TEST

void suite_feedback_import(Suite *su)
{
    fb_add(su, "import_jsonl_10000", test_import_jsonl_10000);
    fb_add(su, "import_rejections_capped", test_import_rejections_capped);
    fb_add(su, "import_progress", test_import_progress);
    fb_add(su, "import_csv", test_import_csv);
    fb_add(su, "import_csv_header", test_import_csv_header);
    fb_add(su, "import_dry_run", test_import_dry_run);
}
