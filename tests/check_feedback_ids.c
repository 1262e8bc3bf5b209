/*
 * check_feedback_ids.c - feedback ids on LMDB (the suite and fixture of
 * check_feedback.c): derived from the content, so the same record is
 * stored once and the caller is told; given by the caller, within the
 * rules; the same through the import and the spool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feedback_fixture.h"

/*
 * An id is derived from the content: the same record twice is one record
 * (the second submission says so, and changes no count), whatever the
 * time of receipt; a timestamp, another field or an id of the caller's
 * makes another record.
 */
START_TEST(test_ids_derived)
{
    tc_cache *h = fb_open(NULL);
    char a[TC_FEEDBACK_ID_MAX], b[TC_FEEDBACK_ID_MAX], *s;
    const char *ts = "{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
                     "\"timestamp\":\"2024-03-01T01:00:00+01:00\"}";
    const char *utc = "{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
                      "\"timestamp\":\"2024-03-01T00:00:00.000Z\"}";
    int outcome = -1;

    ck_assert_int_eq(tc_feedback_submit_json(a, &outcome, h, fb_base_json,
                                             strlen(fb_base_json)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    ck_assert_uint_eq(strlen(a), 32);
    fb_expect_id(a);
    usleep(20 * 1000); /* another time of receipt */
    ck_assert_int_eq(tc_feedback_submit_json(b, &outcome, h, fb_base_json,
                                             strlen(fb_base_json)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(fb_export_count(h), 1);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 1);
    ck_assert_int_eq(fb_stat_num(s, "queued"), 1);
    tc_free(s);
    /* a timestamp is content: the same instant written two ways, once */
    ck_assert_int_eq(tc_feedback_submit_json(b, &outcome, h, ts, strlen(ts)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(tc_feedback_submit_json(a, &outcome, h, utc, strlen(utc)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    ck_assert_str_eq(a, b);
    /* the caller's id names another record, and is kept as given */
    ck_assert_int_eq(fb_submit_new(h, fb_base_json, a), TC_OK);
    ck_assert_int_eq(a[0], 'r');
    ck_assert_uint_eq(fb_export_count(h), 3);
    tc_cache_close(h);
}
END_TEST

/* Caller ids: 1 to 64 of [A-Za-z0-9._:-], else refused naming the id;
 * the struct form takes them too. */
START_TEST(test_ids_given)
{
    static const char *const good[] = {
        "x", "A.b_c:d-9",
        "0123456789012345678901234567890123456789012345678901234567890123"};
    static const char *const bad[] = {
        "",
        "a b",
        "a/b",
        "caf\u00e9",
        "a\\u0001",
        "01234567890123456789012345678901234567890123456789012345678901234"};
    tc_cache *h = fb_open(NULL);
    char json[512], id[TC_FEEDBACK_ID_MAX], *s;
    tc_feedback fb;
    int outcome;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(json, sizeof(json),
                 "{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
                 "\"id\":\"%s\"}",
                 good[i]);
        ck_assert_msg(fb_submit(h, json, id) == TC_OK, "%s: %s", good[i],
                      tc_errmsg());
        ck_assert_str_eq(id, good[i]);
        ck_assert_int_eq(fb_submit(h, json, id), TC_OK); /* a duplicate */
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(json, sizeof(json),
                 "{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\","
                 "\"id\":\"%s\"}",
                 bad[i]);
        ck_assert_msg(fb_submit(h, json, id) == TC_EINVAL, "%s accepted",
                      bad[i]);
        ck_assert_msg(strncmp(tc_errmsg(), "id: ", 4) == 0, "%s: %s", bad[i],
                      tc_errmsg());
        ck_assert_str_eq(id, "");
    }
    fb_record(&fb, "How do I sort a list?", "a", "b", 0.4);
    fb.type = TC_FEEDBACK_CORRECTION;
    fb.id = "struct:1";
    ck_assert_int_eq(tc_feedback_submit(id, &outcome, h, &fb), TC_OK);
    ck_assert_str_eq(id, "struct:1");
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    fb.id = "struct 1";
    ck_assert_int_eq(tc_feedback_submit(id, &outcome, h, &fb), TC_EINVAL);
    ck_assert_uint_eq(fb_export_count(h), 4);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 4);
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/*
 * CSV takes an "id" column (empty: derived), and a line of blanks before
 * the header is skipped as format detection skips it; imported again, the
 * file's records are all duplicates.
 */
START_TEST(test_ids_import_csv)
{
    static const char csv[] =
        " \t\r\n"
        "text,original_intent,correct_intent,original_confidence,"
        "feedback_type,id\n"
        "How do I sort?,a,b,0.5,correction,csv:1\n"
        "  \n"
        "How do I sort?,a,b,0.5,correction,\n"
        "How do I sort?,a,b,0.5,correction,bad id\n";
    tc_import_report *r;
    tc_cache *h = fb_open(NULL);

    for (int run = 0; run < 2; run++) {
        tc_import_format fmt = run ? TC_IMPORT_AUTO : TC_IMPORT_CSV;

        r = fb_import_text(h, csv, fmt, 0);
        ck_assert_uint_eq(r->accepted, run ? 0 : 2);
        ck_assert_uint_eq(r->duplicates, run ? 2 : 0);
        ck_assert_uint_eq(r->rejected, 1);
        ck_assert_uint_eq(r->rejections[0].line, 6);
        ck_assert_msg(strncmp(r->rejections[0].reason, "id: ", 4) == 0, "%s",
                      r->rejections[0].reason);
        tc_import_report_free(r);
    }
    ck_assert_uint_eq(fb_export_count(h), 2);
    tc_cache_close(h);
}
END_TEST

void suite_feedback_ids(Suite *su)
{
    fb_add(su, "ids_import_csv", test_ids_import_csv);
    fb_add(su, "ids_derived", test_ids_derived);
    fb_add(su, "ids_given", test_ids_given);
}
