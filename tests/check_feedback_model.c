/*
 * check_feedback_model.c - the model a feedback record is about: "model"
 * in the struct, JSON, CSV and the spool, stored and exported in its
 * canonical place, old records without it, bad values refused naming the
 * field with nothing stored, and records naming an A/B arm's model
 * counted for that arm (intent_ab_corrections_total and
 * intent_ab_confirmations_total), by a host model's version and by a
 * built-in model's fingerprint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback_fixture.h"
#include "model_fixture.h"

#define FP "0123456789abcdef0123456789abcdef"

/* A correction of the base record naming model m (a JSON string), with a
 * type. */
static void rec_json(char *buf, size_t n, const char *m, const char *type)
{
    snprintf(buf, n,
             "{\"text\":\"How do I sort a list?\",\"original_intent\":\"a\","
             "\"correct_intent\":\"%s\",\"original_confidence\":0.4,"
             "\"model\":%s,\"feedback_type\":\"%s\"}",
             strcmp(type, "correction") == 0 ? "b" : "a", m, type);
}

/* Every way in keeps "model" after user_id and before feedback_type. */
START_TEST(test_model_roundtrip)
{
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX], want[512], json[512];
    tc_import_report *rep;
    tc_feedback fb;
    char **lines;
    size_t n;

    fb_record(&fb, "How do I sort a list?", "a", "b", 0.4);
    fb.user_id = "u-1";
    fb.model = FP;
    fb.type = TC_FEEDBACK_CORRECTION;
    fb.timestamp = "2024-03-01T01:00:00Z";
    ck_assert_msg(tc_feedback_submit(id, NULL, h, &fb) == TC_OK, "%s",
                  tc_errmsg());
    snprintf(want, sizeof(want),
             "{\"id\":\"%s\",\"text\":\"How do I sort a list?\","
             "\"original_intent\":\"a\",\"correct_intent\":\"b\","
             "\"original_confidence\":0.4,\"user_id\":\"u-1\","
             "\"model\":\"" FP "\",\"feedback_type\":\"correction\","
             "\"timestamp\":\"2024-03-01T01:00:00.000Z\"}",
             id);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(lines[0], want);
    fb_free_lines(lines, n);
    /* the same record as JSON is the same record: a duplicate */
    snprintf(json, sizeof(json),
             "{\"model\":\"" FP "\",\"text\":\"How do I sort a list?\","
             "\"original_intent\":\"a\",\"correct_intent\":\"b\","
             "\"original_confidence\":0.4,\"user_id\":\"u-1\","
             "\"feedback_type\":\"correction\","
             "\"timestamp\":\"2024-03-01T01:00:00Z\"}");
    {
        char id2[TC_FEEDBACK_ID_MAX];
        int outcome = -1;

        ck_assert_int_eq(
            tc_feedback_submit_json(id2, &outcome, h, json, strlen(json)),
            TC_OK);
        ck_assert_str_eq(id2, id);
        ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    }
    /* another model is another record; null is no model */
    rec_json(json, sizeof(json), "\"host-v2\"", "confirmation");
    ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK);
    rec_json(json, sizeof(json), "null", "confirmation");
    ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK);
    /* CSV: a model column, empty for none */
    rep = fb_import_text(h,
                         "text,original_intent,correct_intent,"
                         "original_confidence,model,feedback_type\n"
                         "Sort it,a,b,0.5,csv-model,correction\n"
                         "Sort it,a,b,0.5,,correction\n",
                         TC_IMPORT_CSV, 0);
    ck_assert_uint_eq(rep->accepted, 2);
    ck_assert_uint_eq(rep->rejected, 0);
    tc_import_report_free(rep);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 5);
    ck_assert_ptr_nonnull(strstr(lines[1], ",\"model\":\"host-v2\","));
    ck_assert_ptr_null(strstr(lines[2], "\"model\""));
    ck_assert_ptr_nonnull(strstr(lines[3], ",\"model\":\"csv-model\","));
    ck_assert_ptr_null(strstr(lines[4], "\"model\""));
    fb_free_lines(lines, n);
    tc_cache_close(h);
}
END_TEST

/* A model too long, with a space, a control character, non-ASCII, empty
 * or not a string: refused naming the field, counted, nothing stored. */
START_TEST(test_model_bad)
{
    static const char *const bad[][2] = {
        {"\"with space\"", "model: \"with space\" has a byte 0x20 at 4"},
        {"\"tab\\there\"", "has a byte 0x09 at 3"},
        {"\"caf\\u00e9\"", "has a byte 0xC3 at 3"},
        {"\"\"", "model: empty"},
        {"42", "model: a number, not a string"},
        {"[\"x\"]", "model: an array, not a string"},
    };
    tc_cache *h = fb_open(NULL);
    char json[1024], longm[200], id[TC_FEEDBACK_ID_MAX];
    tc_import_report *rep;
    tc_feedback fb;
    char *s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rec_json(json, sizeof(json), bad[i][0], "correction");
        ck_assert_int_eq(fb_submit(h, json, NULL), TC_EINVAL);
        ck_assert_msg(strstr(tc_errmsg(), bad[i][1]) != NULL, "%s: %s",
                      bad[i][0], tc_errmsg());
    }
    memset(longm, 'f', 128);
    longm[128] = '\0';
    fb_record(&fb, "How do I sort a list?", "a", "b", 0.4);
    fb.type = TC_FEEDBACK_CORRECTION;
    fb.model = longm;
    ck_assert_int_eq(tc_feedback_submit(id, NULL, h, &fb), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "model: 128 bytes, more than 127");
    ck_assert_str_eq(id, "");
    longm[127] = '\0'; /* 127 is the most */
    ck_assert_msg(tc_feedback_submit(id, NULL, h, &fb) == TC_OK, "%s",
                  tc_errmsg());
    rep = fb_import_text(h,
                         "text,original_intent,correct_intent,"
                         "original_confidence,model,feedback_type\n"
                         "Sort it,a,b,0.5,two words,correction\n",
                         TC_IMPORT_CSV, 0);
    ck_assert_uint_eq(rep->accepted, 0);
    ck_assert_uint_eq(rep->rejected, 1);
    ck_assert_uint_eq(rep->rejections[0].line, 2);
    ck_assert_msg(strstr(rep->rejections[0].reason, "model: ") != NULL, "%s",
                  rep->rejections[0].reason);
    tc_import_report_free(rep);
    ck_assert_uint_eq(fb_export_count(h), 1);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(strstr(s, "\"rejected\""), "correction"), 8);
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/* A spooled record keeps its model through the spool and the replay. */
START_TEST(test_model_spool)
{
    tc_cache *h = fb_open(NULL);
    char json[512], id[TC_FEEDBACK_ID_MAX], *spool;
    int outcome = -1;
    char **lines;
    size_t n;

    rec_json(json, sizeof(json), "\"" FP "\"", "correction");
    tc__feedback_set_fault(h, 1);
    ck_assert_int_eq(
        tc_feedback_submit_json(id, &outcome, h, json, strlen(json)), TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_SPOOLED);
    spool = fb_slurp(fb_spool_file("feedback.spool"));
    ck_assert_ptr_nonnull(strstr(spool, "\"model\":\"" FP "\""));
    free(spool);
    rec_json(json, sizeof(json), "\"other\"", "confirmation");
    ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK); /* replays first */
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(lines[0], "\"id\":\""));
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    ck_assert_ptr_nonnull(strstr(lines[0], ",\"model\":\"" FP "\","));
    fb_free_lines(lines, n);
    tc_cache_close(h);
}
END_TEST

/* Sealed at rest: the model is in the record, and nowhere in the clear
 * in the store's files; the record opens with it. */
START_TEST(test_model_sealed)
{
    char key[1024], cfg[1200], db[1024], json[512];
    char **lines;
    size_t n;

    snprintf(key, sizeof(key), "%s", fb_path("seal.key"));
    tt_write_file(key,
                  "0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef",
                  0600);
    snprintf(cfg, sizeof(cfg), "{\"encryption_key_file\":\"%s\"}", key);
    {
        tc_cache *h = fb_open(cfg);

        rec_json(json, sizeof(json), "\"" FP "\"", "correction");
        ck_assert_msg(fb_submit(h, json, NULL) == TC_OK, "%s", tc_errmsg());
        n = fb_export_all(h, &lines);
        ck_assert_uint_eq(n, 1);
        ck_assert_ptr_nonnull(strstr(lines[0], ",\"model\":\"" FP "\","));
        fb_free_lines(lines, n);
        tc_cache_close(h);
    }
    snprintf(db, sizeof(db), "%s/db/data.mdb", fb_dir());
    {
        FILE *f = fopen(db, "rb");
        long size;
        char *all;

        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        rewind(f);
        all = malloc((size_t)size);
        ck_assert_uint_eq(fread(all, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        ck_assert_ptr_null(memmem(all, (size_t)size, FP, strlen(FP)));
        free(all);
    }
}
END_TEST

/* A host model answering the intent in its userdata. */
static int host_fn(char **json, const char *text, size_t len, void *ud)
{
    char buf[128];

    (void)text;
    (void)len;
    snprintf(buf, sizeof(buf), "{\"intent\":\"%s\",\"confidence\":0.9}",
             (const char *)ud);
    return tt_host_reply(json, buf);
}

static tc_classifier *open_ab(tc_cache *h, tc_model *control, tc_model *cand)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    if (control) {
        co.model = control;
    } else {
        co.fn = host_fn;
        co.fn_userdata = "x";
        co.fn_version = "control-v1";
    }
    if (cand) {
        co.candidate_model = cand;
    } else {
        co.candidate_fn = host_fn;
        co.candidate_fn_userdata = "y";
        co.candidate_fn_version = "candidate-v2";
    }
    co.split = 0.5;
    ck_assert_msg(tc_classifier_open(&c, h, &co) == TC_OK, "%s", tc_errmsg());
    return c;
}

/* The value of a metric's sample (name and labels) in the exposition;
 * -1 when the sample is not there. */
static long long metric(tc_cache *h, const char *sample)
{
    static char buf[1 << 17];
    size_t len;
    char *p;

    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    p = strstr(buf, sample);
    return p ? atoll(p + strlen(sample) + 1) : -1;
}

/* Submits a record naming model m ("..." JSON) of a type, as new. */
static void submit_for(tc_cache *h, const char *m, const char *type)
{
    char json[512];

    rec_json(json, sizeof(json), m, type);
    json[strlen(json) - 1] = '\0'; /* fb_submit_new adds an id */
    strcat(json, "}");
    ck_assert_msg(fb_submit_new(h, json, NULL) == TC_OK, "%s", tc_errmsg());
}

#define CORR(arm) "intent_ab_corrections_total{arm=\"" arm "\"}"
#define CONF(arm) "intent_ab_confirmations_total{arm=\"" arm "\"}"

/* Host models: their version, alone or as "fn:VERSION" as their answers
 * name it; anything else, or after the classifier closed, counts for no
 * arm. */
START_TEST(test_model_arm_counts_host)
{
    tc_cache *h = fb_open(NULL);
    tc_classifier *c = open_ab(h, NULL, NULL);

    submit_for(h, "\"fn:candidate-v2\"", "correction");
    submit_for(h, "\"candidate-v2\"", "correction");
    submit_for(h, "\"fn:candidate-v2\"", "confirmation");
    submit_for(h, "\"fn:control-v1\"", "correction");
    submit_for(h, "\"fn:other-v3\"", "correction");
    submit_for(h, "null", "correction");
    ck_assert_int_eq(metric(h, CORR("candidate")), 2);
    ck_assert_int_eq(metric(h, CONF("candidate")), 1);
    ck_assert_int_eq(metric(h, CORR("control")), 1);
    ck_assert_int_eq(metric(h, CONF("control")), 0);
    tc_classifier_close(c);
    submit_for(h, "\"fn:candidate-v2\"", "correction");
    ck_assert_int_eq(metric(h, CORR("candidate")), 2);
    /* a duplicate is not counted again */
    c = open_ab(h, NULL, NULL);
    {
        char json[512];

        rec_json(json, sizeof(json), "\"candidate-v2\"", "correction");
        ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK);
        ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK);
    }
    ck_assert_int_eq(metric(h, CORR("candidate")), 3);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* Built-in models: the fingerprint they have now; a record naming the
 * control's fingerprint after it learned (a new one) counts nowhere. */
START_TEST(test_model_arm_counts_builtin)
{
    tc_model *m = mf_tiny_model(), *m2 = mf_tiny_model();
    tc_cache *h = fb_open(NULL);
    char fp[TC_FINGERPRINT_LEN + 3], fp2[TC_FINGERPRINT_LEN + 3];
    tc_classifier *c;

    ck_assert_int_eq(tc_model_update(m2, "{\"text\":\"rain in paris\","
                                         "\"intent\":\"weather\"}"),
                     TC_OK);
    fp[0] = fp2[0] = '"';
    tc_model_fingerprint(fp + 1, m);
    tc_model_fingerprint(fp2 + 1, m2);
    strcat(fp, "\"");
    strcat(fp2, "\"");
    ck_assert_str_ne(fp, fp2);
    c = open_ab(h, m, m2);
    submit_for(h, fp, "correction");
    submit_for(h, fp2, "confirmation");
    submit_for(h, fp2, "confirmation");
    ck_assert_int_eq(metric(h, CORR("control")), 1);
    ck_assert_int_eq(metric(h, CONF("candidate")), 2);
    ck_assert_int_eq(tc_model_update(m, "{\"text\":\"rain in rome\","
                                        "\"intent\":\"weather\"}"),
                     TC_OK);
    submit_for(h, fp, "correction"); /* the old fingerprint */
    ck_assert_int_eq(metric(h, CORR("control")), 1);
    tc_model_fingerprint(fp + 1, m);
    strcat(fp, "\"");
    submit_for(h, fp, "correction");
    ck_assert_int_eq(metric(h, CORR("control")), 2);
    tc_classifier_close(c);
    tc_cache_close(h);
    tc_model_free(m);
    tc_model_free(m2);
}
END_TEST

void suite_feedback_model(Suite *su)
{
    fb_add(su, "model_roundtrip", test_model_roundtrip);
    fb_add(su, "model_bad", test_model_bad);
    /* the fault hook is LMDB's: a cluster is made unreachable otherwise */
    fb_add_lmdb(su, "model_spool", test_model_spool);
    /* the store's files are read: LMDB's */
    fb_add_lmdb(su, "model_sealed", test_model_sealed);
    fb_add(su, "model_arm_counts_host", test_model_arm_counts_host);
    fb_add(su, "model_arm_counts_builtin", test_model_arm_counts_builtin);
}
