/*
 * check_report.c - the doors of the feedback's analytics and report
 * (tc_feedback_analytics_json, tc_feedback_report_html) on LMDB: the
 * tallies of known records, the arms named by the options, the page's
 * sections and escaping, the answers served joined to the records (per
 * intent its corrections / classifications), the shadow checks the
 * store holds per model and this process's own, its audit line; and the
 * failures: bad arguments and options, memory: (no feedback kept), a Redis that
 * does not answer, each allocation failing in turn, each a clear error with
 * nothing returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "feedback_fixture.h"
#include "suites.h"
#include "tt_json.h"

/* A record of text, from -> to, naming model m (NULL: none). */
static void submit(tc_cache *h, const char *text, const char *from,
                   const char *to, const char *m)
{
    char json[512], id[TC_FEEDBACK_ID_MAX];

    snprintf(json, sizeof(json),
             "{\"text\":\"%s\",\"original_intent\":\"%s\","
             "\"correct_intent\":\"%s\",\"original_confidence\":0.5,"
             "\"feedback_type\":\"%s\"%s%s%s}",
             text, from, to,
             strcmp(from, to) == 0 ? "confirmation" : "correction",
             m ? ",\"model\":\"" : "", m ? m : "", m ? "\"" : "");
    ck_assert_msg(fb_submit_new(h, json, id) == TC_OK, "%s", tc_errmsg());
}

/* The analytics of h with the default options, parsed. */
static cJSON *analytics_of(tc_cache *h)
{
    char *s = NULL;
    cJSON *a;

    ck_assert_msg(tc_feedback_analytics_json(&s, h, NULL) == TC_OK, "%s",
                  tc_errmsg());
    a = cJSON_Parse(s);
    tc_free(s);
    ck_assert_ptr_nonnull(a);
    return a;
}

/* The tallies and the arms, as the options name them; a NULL opt is the
 * defaults: no arms. */
START_TEST(test_analytics_json)
{
    tc_cache *h = fb_open(NULL);
    tc_report_options o;
    char *s = (char *)1;
    cJSON *a;

    submit(h, "Explain recursion", "code_generation", "explanation", "m1");
    submit(h, "explain RECURSION!", "code_generation", "explanation", "m1");
    submit(h, "t3", "debugging", "debugging", "m1");
    submit(h, "t4", "debugging", "code_generation", "fn:m2");
    submit(h, "t5", "translation", "translation", NULL);

    tc_report_options_init(&o);
    ck_assert_uint_eq(o.version, TC_REPORT_OPTIONS_VERSION);
    o.control_model = "m1";
    o.candidate_model = "m2";
    ck_assert_int_eq(tc_feedback_analytics_json(&s, h, &o), TC_OK);
    ck_assert_str_eq(tc_errmsg(), "");
    a = cJSON_Parse(s);
    tc_free(s);
    ck_assert_ptr_nonnull(a);
    ck_assert_double_eq(json_num(a, "intents.code_generation.corrections"), 2);
    ck_assert_double_eq(json_num(a, "intents.debugging.corrections"), 1);
    ck_assert_double_eq(json_num(a, "intents.debugging.confirmations"), 1);
    ck_assert_double_eq(json_num(a, "confusion.code_generation.explanation"),
                        2);
    /* two spellings of one text are one key, and the key is no text */
    ck_assert_double_eq(
        json_num(cJSON_GetArrayItem(json_get(a, "most_corrected"), 0),
                 "corrections"),
        2);
    ck_assert_double_eq(json_num(a, "arms.control.corrections"), 2);
    ck_assert_double_eq(json_num(a, "arms.control.confirmations"), 1);
    ck_assert_str_eq(json_str(a, "arms.control.model"), "m1");
    ck_assert_double_eq(json_num(a, "arms.candidate.correction_rate"), 1);
    ck_assert_str_eq(json_str(json_get(a, "models"), "fn:m2.arm"), "candidate");
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "per_day")), 30);
    cJSON_Delete(a);

    /* no options: the same tallies, no arm */
    a = analytics_of(h);
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "arms")), 0);
    ck_assert_double_eq(json_num(a, "intents.code_generation.corrections"), 2);
    cJSON_Delete(a);
    tc_cache_close(h);
}
END_TEST

/* The section of page whose id is id, with its heading h2 (the test
 * fails without either). */
static const char *section_of(const char *page, const char *id, const char *h2)
{
    char open[128];
    const char *sec;

    snprintf(open, sizeof(open), "<section id=\"%s\">\n<h2>%s</h2>", id, h2);
    sec = strstr(page, open);
    ck_assert_msg(sec != NULL, "no %s in\n%s", open, page);
    return sec;
}

/* The page: a section and a chart each, names escaped, the title the
 * caller's, nothing run or fetched; its length is the one returned. */
START_TEST(test_report_html)
{
    tc_cache *h = fb_open(NULL);
    tc_report_options o;
    char *page = NULL;
    const char *sec;
    size_t len = 1;

    submit(h, "t1", "code_generation", "explanation", "m1");
    submit(h, "t2", "x<y>&'z'", "explanation", NULL);
    tc_report_options_init(&o);
    o.control_model = "m1";
    o.candidate_model = "m9"; /* no record names it */
    o.title = "Week <7>";
    ck_assert_int_eq(tc_feedback_report_html(&page, &len, h, &o), TC_OK);
    ck_assert_ptr_nonnull(page);
    ck_assert_uint_eq(len, strlen(page));
    ck_assert_int_eq(tt_count_of(page, "<section"), 6);
    ck_assert_int_eq(tt_count_of(page, "<svg"), 6);
    ck_assert_ptr_nonnull(strstr(page, "<h1>Week &lt;7&gt;</h1>"));
    ck_assert_ptr_nonnull(strstr(page, "x&lt;y&gt;&amp;&#39;z&#39;"));
    ck_assert_ptr_null(strstr(page, "x<y>"));
    ck_assert_ptr_nonnull(strstr(page, ">control m1<"));
    /* an arm no record names yet still has its row */
    ck_assert_ptr_nonnull(strstr(page, ">candidate m9</text>"));
    ck_assert_ptr_nonnull(strstr(strstr(page, ">candidate m9<"), "0% of 0"));
    ck_assert_ptr_null(strstr(page, "<script"));
    ck_assert_ptr_null(strstr(page, "href="));
    ck_assert_ptr_null(strstr(page, "src="));
    /* nothing classified: the rates per classification say so, and no
     * process made a shadow check */
    sec = section_of(page, "per-classification",
                     "Correction rate per classification");
    ck_assert_ptr_nonnull(
        strstr(sec, ">no classification counted (1 corrected)</text>"));
    ck_assert_ptr_nonnull(strstr(sec, "<p>No classification of these"));
    sec = section_of(page, "shadow", "Shadow checks of cached answers");
    ck_assert_ptr_nonnull(strstr(sec, ">no shadow checks counted<"));
    ck_assert_ptr_null(strstr(sec, "this process"));
    tc_free(page);

    /* len may be NULL */
    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    ck_assert_ptr_nonnull(strstr(page, "<h1>Feedback report</h1>"));
    tc_free(page);
    tc_cache_close(h);
}
END_TEST

/* Classifies each of texts once through c; each is a miss. */
static void classify_all(tc_classifier *c, const char *const *texts, int n)
{
    for (int i = 0; i < n; i++) {
        tc_result *r = NULL;

        ck_assert_msg(tc_classify(&r, c, texts[i], strlen(texts[i])) == TC_OK,
                      "%s", tc_errmsg());
        tc_result_free(r);
    }
}

/* The answers served, joined to the records: per intent its
 * classifications and corrections / classifications, in the JSON and
 * in the page's section, from the counts the store holds; an intent
 * never answered has no rate. */
START_TEST(test_report_per_class)
{
    static const char *const texts[] = {"sort a list", "open a file",
                                        "what is a loop", "explain a map"};
    tc_cache *h = fb_open(NULL);
    tc_classifier *c = tt_host_classifier(h);
    char *page = NULL;
    const char *sec;
    cJSON *a;

    classify_all(c, texts, 4); /* four answers of "explanation" */
    tc_classifier_close(c);
    ck_assert_int_eq(tc_classify_counts_flush(h), TC_OK);
    submit(h, "sort a list", "explanation", "code_generation", NULL);
    submit(h, "open a file", "explanation", "explanation", NULL);
    submit(h, "t9", "never_answered", "debugging", NULL);

    a = analytics_of(h);
    ck_assert_double_eq(json_num(a, "intents.explanation.classifications"), 4);
    ck_assert_double_eq(json_num(a, "intents.explanation.correction_rate"),
                        0.25);
    ck_assert_double_eq(json_num(a, "intents.never_answered.classifications"),
                        0);
    ck_assert(cJSON_IsNull(
        json_get(json_get(json_get(a, "intents"), "never_answered"),
                 "correction_rate")));
    /* the model served, with no shadow check */
    ck_assert_int_eq(cJSON_GetArraySize(json_get(a, "shadow")), 1);
    ck_assert_double_eq(json_num(json_get(a, "shadow")->child, "checks"), 0);
    ck_assert(cJSON_IsNull(json_get(json_get(a, "shadow")->child, "rate")));
    cJSON_Delete(a);

    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    sec = section_of(page, "per-classification",
                     "Correction rate per classification");
    ck_assert_ptr_nonnull(strstr(sec, ">25.0%: 1 of 4 classifications</text>"));
    ck_assert_ptr_nonnull(
        strstr(sec, ">no classification counted (1 corrected)</text>"));
    ck_assert_ptr_null(strstr(sec, "<p>No classification"));
    ck_assert_int_eq(tt_count_of(page, "<svg"), 6);
    tc_free(page);
    tc_cache_close(h);
}
END_TEST

/* A host model whose intent is the text's first word. */
static int first_word(char **json, const char *text, size_t len, void *ud)
{
    const char *sp = memchr(text, ' ', len);
    int n = (int)(sp ? (size_t)(sp - text) : len);
    char buf[128];

    (void)ud;
    snprintf(buf, sizeof(buf), "{\"intent\":\"%.*s\",\"confidence\":0.8}",
             n < 64 ? n : 64, text);
    if (!(*json = tc_malloc(strlen(buf) + 1))) {
        return TC_ENOMEM;
    }
    memcpy(*json, buf, strlen(buf) + 1);
    return TC_OK;
}

/*
 * Every intent answered has its row, records or not: "planning",
 * answered twice and never corrected, at rate 0 in the JSON and on the
 * page (and not among the shares of feedback, which it has none of).
 * An intent corrected more often than it was counted, "explanation"
 * (three records, one answer), passes 100%, and the JSON and the page
 * say so rather than clip it; so does one corrected and never answered.
 */
START_TEST(test_report_every_intent)
{
    static const char *const texts[] = {"planning a trip", "planning a day",
                                        "explanation of a loop"};
    tc_cache *h = fb_open(NULL);
    tc_classifier_options co;
    tc_classifier *c = NULL;
    char *page = NULL;
    const char *sec, *end;
    const cJSON *it;
    cJSON *a;

    tc_classifier_options_init(&co);
    co.fn = first_word;
    co.fn_version = "v1";
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    classify_all(c, texts, 3);
    tc_classifier_close(c);
    ck_assert_int_eq(tc_classify_counts_flush(h), TC_OK);
    submit(h, "t1", "explanation", "debugging", NULL);
    submit(h, "t2", "explanation", "debugging", NULL);
    submit(h, "t3", "explanation", "code_generation", NULL);
    submit(h, "t4", "never_answered", "debugging", NULL);

    a = analytics_of(h);
    it = json_get(json_get(a, "intents"), "planning");
    ck_assert_ptr_nonnull(it);
    ck_assert_double_eq(json_num(it, "corrections"), 0);
    ck_assert_double_eq(json_num(it, "confirmations"), 0);
    ck_assert_double_eq(json_num(it, "classifications"), 2);
    ck_assert_double_eq(json_num(it, "correction_rate"), 0);
    ck_assert(
        cJSON_IsFalse(json_get(it, "corrections_exceed_classifications")));
    it = json_get(json_get(a, "intents"), "explanation");
    ck_assert_double_eq(json_num(it, "correction_rate"), 3);
    ck_assert(cJSON_IsTrue(json_get(it, "corrections_exceed_classifications")));
    it = json_get(json_get(a, "intents"), "never_answered");
    ck_assert(cJSON_IsNull(json_get(it, "correction_rate")));
    ck_assert(cJSON_IsTrue(json_get(it, "corrections_exceed_classifications")));
    cJSON_Delete(a);

    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    sec = section_of(page, "per-classification",
                     "Correction rate per classification");
    ck_assert_ptr_nonnull(strstr(sec, ">planning</text>"));
    ck_assert_ptr_nonnull(strstr(sec, ">0.0%: 0 of 2 classifications</text>"));
    /* past 100%: a full bar of its own colour, the number and a note */
    ck_assert_ptr_nonnull(
        strstr(sec, "width=\"400.0\" height=\"18\" fill=\"#c0392b\"/>"));
    ck_assert_ptr_nonnull(strstr(sec, ">300.0%: 3 of 1 classifications (more "
                                      "corrections than classifications "
                                      "counted)</text>"));
    ck_assert_ptr_nonnull(strstr(sec, "<p>A rate past 100%"));
    ck_assert_ptr_nonnull(
        strstr(sec, ">no classification counted (1 corrected)</text>"));
    /* the shares of feedback: the intents with records alone */
    sec = section_of(page, "rates",
                     "Share of each intent&#39;s feedback that corrects it");
    end = strstr(sec, "</section>");
    ck_assert(!strstr(sec, ">planning<") || strstr(sec, ">planning<") > end);
    ck_assert(strstr(sec, ">explanation<") < end);
    tc_free(page);
    tc_cache_close(h);
}
END_TEST

/* The model whose shadow checks a's "shadow" holds (exactly one), as
 * the page names it: ">MODEL</text>". */
static void shadow_label(char *out, size_t size, const char *json)
{
    cJSON *a = cJSON_Parse(json);
    const cJSON *sh = json_get(a, "shadow");

    ck_assert_int_eq(cJSON_GetArraySize(sh), 1);
    ck_assert_double_eq(json_num(sh->child, "checks"), 1);
    ck_assert_double_eq(json_num(sh->child, "disagree"), 0);
    ck_assert_double_eq(json_num(sh->child, "rate"), 0);
    snprintf(out, size, ">%s</text>", sh->child->string);
    cJSON_Delete(a);
}

/* The shadow section: the checks the store holds per model, every
 * process's, and first this process's own line where it made checks,
 * as tc_cache_stats_json counts them; a host model that always answers
 * the same agrees. Another handle on the store, which checked nothing
 * itself, shows the stored line and no line of its own. */
START_TEST(test_report_shadow)
{
    static const char text[] = "How do I reverse a list?";
    tc_cache *h = fb_open(NULL);
    tc_classifier_options co;
    tc_classifier *c = NULL;
    char *page = NULL, *st = NULL, label[256];
    const char *sec, *own;
    tc_result *r;
    cJSON *sj;

    tc_classifier_options_init(&co);
    co.fn = tt_host_explains;
    co.fn_version = "v1";
    co.shadow_rate = 1;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    for (int i = 0; i < 2; i++) { /* a miss, then a hit that is checked */
        ck_assert_int_eq(tc_classify(&r, c, text, strlen(text)), TC_OK);
        tc_result_free(r);
    }
    tc_classifier_close(c); /* finishes the check waiting */
    ck_assert_int_eq(tc_cache_stats_json(&st, h), TC_OK);
    sj = cJSON_Parse(st);
    tc_free(st);
    ck_assert_double_eq(json_num(sj, "shadow.agree"), 1);
    ck_assert_double_eq(json_num(sj, "shadow.disagree"), 0);
    cJSON_Delete(sj);
    ck_assert_int_eq(tc_feedback_analytics_json(&st, h, NULL), TC_OK);
    shadow_label(label, sizeof(label), st);
    tc_free(st);

    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    sec = section_of(page, "shadow", "Shadow checks of cached answers");
    own = strstr(sec, ">this process</text>");
    ck_assert_ptr_nonnull(own);
    ck_assert_ptr_nonnull(strstr(own, "<title>agree: 1</title>"));
    ck_assert_ptr_nonnull(strstr(own, ">0.0% of 1 checks disagree<"));
    /* then the stored line of the model, after this process's */
    ck_assert_msg(strstr(own, label) != NULL, "no %s in\n%s", label, sec);
    ck_assert_ptr_nonnull(
        strstr(strstr(own, label), ">0.0% of 1 checks disagree<"));
    ck_assert_ptr_nonnull(strstr(sec, "agree 1, disagree 0; dropped"));
    ck_assert_int_eq(tt_count_of(sec, "<svg"), 1);
    tc_free(page);
    tc_cache_close(h);

    /* another handle (as another process would be) */
    h = fb_open(NULL);
    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    sec = section_of(page, "shadow", "Shadow checks of cached answers");
    ck_assert_ptr_null(strstr(sec, "this process"));
    ck_assert_ptr_nonnull(strstr(sec, label));
    ck_assert_ptr_nonnull(strstr(sec, ">0.0% of 1 checks disagree<"));
    tc_free(page);
    tc_cache_close(h);
}
END_TEST

/* Caller mistakes: TC_EINVAL at the door, saying which, nothing out. */
START_TEST(test_report_bad_args)
{
    tc_cache *h = fb_open(NULL);
    tc_report_options o;
    char *s = (char *)1;
    size_t len = 7;

    ck_assert_int_eq(tc_feedback_analytics_json(NULL, h, NULL), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_analytics_json(&s, NULL, NULL), TC_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(tc_feedback_report_html(NULL, &len, h, NULL), TC_EINVAL);
    ck_assert_uint_eq(len, 0);
    tc_report_options_init(&o);
    o.version = 0;
    s = (char *)1;
    ck_assert_int_eq(tc_feedback_analytics_json(&s, h, &o), TC_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "unknown version"));
    o.version = TC_REPORT_OPTIONS_VERSION + 1;
    ck_assert_int_eq(tc_feedback_report_html(&s, &len, h, &o), TC_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "unknown version"));
    tc_report_options_init(NULL); /* does nothing */
    tc_cache_close(h);
}
END_TEST

/* memory: keeps no feedback: refused as the other feedback calls are. */
START_TEST(test_report_memory)
{
    tc_cache *h = fb_open_url("memory:", NULL);
    char *s = (char *)1;
    size_t len = 7;

    ck_assert_int_eq(tc_feedback_report_html(&s, &len, h, NULL), TC_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_uint_eq(len, 0);
    ck_assert_msg(strstr(tc_errmsg(), "durable store") != NULL, "%s",
                  tc_errmsg());
    tc_cache_close(h);
}
END_TEST

/* A Redis that does not answer: the store's error, named, nothing out. */
START_TEST(test_report_store_down)
{
    char url[64];
    tc_cache *h;
    char *s = (char *)1;
    int rc;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", tt_free_port());
    h = fb_open_url(url, NULL);
    rc = tc_feedback_analytics_json(&s, h, NULL);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "%d %s", rc,
                  tc_errmsg());
    ck_assert_ptr_null(s);
    ck_assert_msg(tc_errmsg()[0] != '\0', "no detail");
    rc = tc_feedback_report_html(&s, NULL, h, NULL);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "%d %s", rc,
                  tc_errmsg());
    ck_assert_ptr_null(s);
    tc_cache_close(h);
}
END_TEST

/* Reading every record is audited, as an export is: one line a call,
 * with the records' count and no text. */
START_TEST(test_report_audit)
{
    char cfg[1200], *log, *page = NULL;
    tc_cache *h;

    snprintf(cfg, sizeof(cfg), "{\"audit_log\":\"%s\"}", fb_path("audit.log"));
    h = fb_open(cfg);
    submit(h, "secret words", "a", "b", NULL);
    submit(h, "more words", "a", "a", NULL);
    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    tc_free(page);
    tc_cache_close(h);
    log = fb_slurp(fb_path("audit.log"));
    ck_assert_int_eq(tt_count_of(log, "\"op\":\"feedback_report\""), 1);
    ck_assert_ptr_nonnull(strstr(log, "\"count\":2"));
    ck_assert_ptr_null(strstr(log, "words"));
    free(log);
}
END_TEST

static int seq_report(void *ctx)
{
    char *page = NULL;
    size_t len = 0;
    int rc = tc_feedback_report_html(&page, &len, ctx, NULL);

    ck_assert_msg(rc == TC_OK ? page != NULL : page == NULL && len == 0,
                  "%s: page %p", tc_error_name(rc), (void *)page);
    tc_free(page);
    return rc;
}

static int seq_analytics(void *ctx)
{
    char *s = NULL;
    int rc = tc_feedback_analytics_json(&s, ctx, NULL);

    tc_free(s);
    return rc;
}

/* Each allocation failing in turn: TC_ENOMEM with a message, nothing
 * out, nothing leaked; the handle works after. */
START_TEST(test_report_alloc)
{
    tc_cache *h = fb_open(NULL);
    char *page = NULL;

    submit(h, "Explain recursion", "code_generation", "explanation", "m1");
    submit(h, "t2", "debugging", "debugging", NULL);
    ck_assert_int_gt(tt_alloc_fail_each(seq_report, h, "report"), 10);
    ck_assert_int_gt(tt_alloc_fail_each(seq_analytics, h, "analytics"), 10);
    ck_assert_int_eq(tc_feedback_report_html(&page, NULL, h, NULL), TC_OK);
    ck_assert_ptr_nonnull(strstr(page, "debugging"));
    tc_free(page);
    tc_cache_close(h);
}
END_TEST

Suite *suite_report(void)
{
    Suite *su = suite_create("report");

    fb_add_lmdb(su, "analytics_json", test_analytics_json);
    fb_add_lmdb(su, "report_html", test_report_html);
    fb_add_lmdb(su, "report_per_class", test_report_per_class);
    fb_add_lmdb(su, "report_every_intent", test_report_every_intent);
    fb_add_lmdb(su, "report_shadow", test_report_shadow);
    fb_add_lmdb(su, "report_bad_args", test_report_bad_args);
    fb_add_lmdb(su, "report_memory", test_report_memory);
    fb_add_lmdb(su, "report_store_down", test_report_store_down);
    fb_add_lmdb(su, "report_audit", test_report_audit);
    fb_add_lmdb(su, "report_alloc", test_report_alloc);
    return su;
}
