/*
 * check_classify_ab.c - an A/B rollout: the candidate's share of 10,000
 * texts within a binomial bound, stickiness per text and per user, each
 * answer naming its arm and its model, answers cached per model, the
 * counters per arm (metrics) exact, a failing candidate answered by
 * control with the failure counted, batches, and the options' versions.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tutorcache.h"

static char *dir;

/* What a test opened (open_cache, open_ab), closed by close_all: at the
 * end of every test (teardown), so that a test ends without its own. */
static tc_cache *h;
static tc_classifier *opened[4];
static int nopened;

static void close_all(void)
{
    while (nopened > 0) {
        tc_classifier_close(opened[--nopened]);
    }
    tc_cache_close(h);
    h = NULL;
}

static void setup(void)
{
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    close_all();
    tt_rmtree(dir);
    free(dir);
}

/* Opens h, a cache on LMDB in the test's temp dir; caching as asked. */
static void open_cache(int caching)
{
    char url[600];
    tc_options o;

    snprintf(url, sizeof(url), "lmdb://%s/env", dir);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = url;
    o.lmdb_map_bytes = (size_t)64 << 20;
    o.enable_caching = caching;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
}

/* A host model answering its own intent; fail: every call fails. */
typedef struct host {
    const char *intent;
    int fail;
    _Atomic int calls;
} host;

static int host_fn(char **json, const char *text, size_t len, void *ud)
{
    host *m = ud;
    char buf[128];

    (void)text;
    (void)len;
    atomic_fetch_add(&m->calls, 1);
    if (m->fail) {
        return TC_EIO;
    }
    snprintf(buf, sizeof(buf), "{\"intent\":\"%s\",\"confidence\":0.9}",
             m->intent);
    return tt_host_reply(json, buf);
}

static host control = {"from_control", 0, 0};
static host cand = {"from_candidate", 0, 0};

/* An A/B classifier over h, closed by close_all. */
static tc_classifier *open_ab(double split, int cand_fails)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    control.calls = 0;
    cand.calls = 0;
    cand.fail = cand_fails;
    tc_classifier_options_init(&co);
    ck_assert_uint_ge(co.version, 2); /* 2: the candidate fields */
    co.fn = host_fn;
    co.fn_userdata = &control;
    co.fn_version = "control-v1";
    co.candidate_fn = host_fn;
    co.candidate_fn_userdata = &cand;
    co.candidate_fn_version = "candidate-v2";
    co.split = split;
    ck_assert_msg(tc_classifier_open(&c, h, &co) == TC_OK, "%s", tc_errmsg());
    ck_assert_int_lt(nopened, (int)(sizeof(opened) / sizeof(opened[0])));
    opened[nopened++] = c;
    return c;
}

/* A test's start: h (open_cache) and an A/B classifier over it. */
static tc_classifier *open_test(int caching, double split, int cand_fails)
{
    open_cache(caching);
    return open_ab(split, cand_fails);
}

/* The arm of one answer, checked against its model, intent and JSON. */
static int arm_of(const tc_result *r)
{
    int is_cand;
    char want[64];

    ck_assert_ptr_nonnull(r->arm);
    is_cand = strcmp(r->arm, "candidate") == 0;
    ck_assert_msg(is_cand || strcmp(r->arm, "control") == 0, "arm %s", r->arm);
    ck_assert_str_eq(r->model, is_cand ? "fn:candidate-v2" : "fn:control-v1");
    ck_assert_str_eq(r->intent, is_cand ? "from_candidate" : "from_control");
    snprintf(want, sizeof(want), ",\"arm\":\"%s\"}", r->arm);
    ck_assert_msg(strlen(r->json) > strlen(want) &&
                      strcmp(r->json + strlen(r->json) - strlen(want), want) ==
                          0,
                  "json %s", r->json);
    return is_cand;
}

static int classify_arm(tc_classifier *c, const char *text, const char *user)
{
    tc_result *r = NULL;
    int rc = tc_classify_user(&r, c, text, strlen(text), user);
    int a;

    ck_assert_msg(rc == TC_OK, "\"%s\": %s", text, tc_errmsg());
    a = arm_of(r);
    tc_result_free(r);
    return a;
}

/* A metric's value in the exposition (the sample line name+labels). */
static uint64_t metric(const char *sample)
{
    static char buf[1 << 16];
    size_t len;
    char *p;

    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    p = strstr(buf, sample);
    ck_assert_msg(p, "no %s in the metrics", sample);
    return strtoull(p + strlen(sample), NULL, 10);
}

/* The count of n Bernoulli(p) trials within 3 sigma of n * p. */
static void within_3_sigma(int got, int n, double p)
{
    double mean = n * p, sigma = sqrt(n * p * (1 - p));

    ck_assert_msg(fabs(got - mean) <= 3 * sigma,
                  "%d of %d, expected %.0f +- %.1f", got, n, mean, 3 * sigma);
}

START_TEST(test_split_share)
{
    static const double splits[] = {0.1, 0.5};
    char text[64];

    open_cache(0);
    for (size_t s = 0; s < 2; s++) {
        tc_classifier *c = open_ab(splits[s], 0);
        int n = 0;

        for (int i = 0; i < 10000; i++) {
            snprintf(text, sizeof(text), "question number %d please", i);
            n += classify_arm(c, text, NULL);
        }
        within_3_sigma(n, 10000, splits[s]);
        ck_assert_int_eq(cand.calls, n);
        ck_assert_int_eq(control.calls, 10000 - n);
    }
}
END_TEST

START_TEST(test_split_ends)
{
    tc_classifier *none = open_test(0, 0, 0);
    tc_classifier *all;
    char text[64];

    for (int i = 0; i < 500; i++) {
        snprintf(text, sizeof(text), "text %d", i);
        ck_assert_int_eq(classify_arm(none, text, NULL), 0);
        ck_assert_int_eq(classify_arm(none, text, "some user"), 0);
    }
    all = open_ab(1, 0);
    for (int i = 0; i < 500; i++) {
        snprintf(text, sizeof(text), "text %d", i);
        ck_assert_int_eq(classify_arm(all, text, NULL), 1);
    }
}
END_TEST

START_TEST(test_sticky_per_text)
{
    tc_classifier *c = open_test(0, 0.5, 0);
    tc_classifier *again = open_ab(0.5, 0);
    char text[64], variant[80];
    int seen[2] = {0, 0};

    for (int i = 0; i < 200; i++) {
        int a;

        snprintf(text, sizeof(text), "how do i sort list %d", i);
        /* a form that normalizes to the same text lands in the same arm */
        snprintf(variant, sizeof(variant), "  HOW do I   Sort LIST %d ", i);
        a = classify_arm(c, text, NULL);
        seen[a]++;
        ck_assert_int_eq(classify_arm(c, text, NULL), a);
        ck_assert_int_eq(classify_arm(c, variant, NULL), a);
        ck_assert_int_eq(classify_arm(again, text, NULL), a);
    }
    ck_assert_int_gt(seen[0], 0);
    ck_assert_int_gt(seen[1], 0);
}
END_TEST

START_TEST(test_sticky_per_user)
{
    tc_classifier *c = open_test(0, 0.3, 0);
    char user[32], text[64];
    int n = 0;

    for (int u = 0; u < 2000; u++) {
        int a;

        snprintf(user, sizeof(user), "user-%d", u);
        a = classify_arm(c, "the first question", user);
        n += a;
        if (u < 100) {
            /* every text of this user, in the same arm */
            for (int i = 0; i < 20; i++) {
                snprintf(text, sizeof(text), "question %d of %d", i, u);
                ck_assert_int_eq(classify_arm(c, text, user), a);
            }
        }
    }
    within_3_sigma(n, 2000, 0.3);
}
END_TEST

START_TEST(test_counters_exact)
{
    tc_classifier *c = open_test(1, 0.5, 0);
    char text[64];
    int n[2] = {0, 0};

    for (int i = 0; i < 300; i++) {
        snprintf(text, sizeof(text), "counted text %d", i);
        n[classify_arm(c, text, NULL)]++;
    }
    /* again: every answer now from L1 */
    for (int i = 0; i < 300; i++) {
        snprintf(text, sizeof(text), "counted text %d", i);
        classify_arm(c, text, NULL);
    }
    ck_assert_int_eq(cand.calls, n[1]);
    ck_assert_int_eq(control.calls, n[0]);
    ck_assert_uint_eq(
        metric("intent_ab_classifications_total{arm=\"control\"} "), 2 * n[0]);
    ck_assert_uint_eq(
        metric("intent_ab_classifications_total{arm=\"candidate\"} "),
        2 * n[1]);
    ck_assert_uint_eq(metric("intent_ab_cache_hits_total{arm=\"control\"} "),
                      n[0]);
    ck_assert_uint_eq(metric("intent_ab_cache_hits_total{arm=\"candidate\"} "),
                      n[1]);
    ck_assert_uint_eq(metric("intent_ab_fallbacks_total{arm=\"candidate\"} "),
                      0);
    ck_assert_uint_eq(
        metric("intent_ab_duration_seconds_count{arm=\"candidate\"} "),
        2 * n[1]);
    ck_assert_uint_eq(
        metric(
            "intent_ab_duration_seconds_bucket{arm=\"control\",le=\"+Inf\"} "),
        2 * n[0]);
    ck_assert_uint_eq(
        metric("intent_classification_requests_total{status=\"cache_hit\"} "),
        300);
}
END_TEST

/* A candidate's cached answer is not control's, nor the other way round. */
START_TEST(test_cached_per_model)
{
    tc_classifier *all = open_test(1, 1, 0);
    tc_classifier *none = open_ab(0, 0);
    tc_result *r = NULL;

    ck_assert_int_eq(classify_arm(all, "one shared text", NULL), 1);
    ck_assert_int_eq(tc_classify(&r, none, "one shared text", 15), TC_OK);
    ck_assert_int_eq(r->source, TC_SOURCE_MODEL);
    ck_assert_int_eq(arm_of(r), 0);
    tc_result_free(r);
    ck_assert_int_eq(tc_classify(&r, all, "one shared text", 15), TC_OK);
    ck_assert_int_eq(r->source, TC_SOURCE_L1);
    ck_assert_int_eq(arm_of(r), 1);
    tc_result_free(r);
}
END_TEST

START_TEST(test_failing_candidate_falls_back)
{
    tc_classifier *c = open_test(1, 0.5, 1);
    tc_result *r = NULL;
    char text[64];

    for (int i = 0; i < 400; i++) {
        snprintf(text, sizeof(text), "fallback text %d", i);
        ck_assert_int_eq(classify_arm(c, text, NULL), 0);
        ck_assert_str_eq(tc_errmsg(), "");
    }
    ck_assert_int_gt(cand.calls, 0);
    ck_assert_int_eq(control.calls, 400);
    ck_assert_uint_eq(metric("intent_ab_fallbacks_total{arm=\"candidate\"} "),
                      (uint64_t)cand.calls);
    ck_assert_uint_eq(
        metric("intent_ab_classifications_total{arm=\"control\"} "), 400);
    ck_assert_uint_eq(
        metric("intent_ab_classifications_total{arm=\"candidate\"} "), 0);
    ck_assert_uint_eq(
        metric("intent_classification_requests_total{status=\"error\"} "), 0);
    /* bad input fails in either arm and is no candidate failure */
    ck_assert_int_eq(tc_classify(&r, c, "   ", 3), TC_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(metric("intent_ab_fallbacks_total{arm=\"candidate\"} "),
                      (uint64_t)cand.calls);
}
END_TEST

/* A batch puts each text in the arm tc_classify does, and lets control
 * answer what the candidate failed. */
START_TEST(test_batch_arms)
{
    enum { N = 300 };
    tc_classifier *c = open_test(1, 0.4, 0);
    tc_classifier *failing;
    static char buf[N][48];
    const char *texts[N + 1];
    size_t lens[N + 1];
    tc_result *out[N + 1];
    int status[N + 1], arm[N], fell = 0;

    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof(buf[i]), "batch text %d", i);
        texts[i] = buf[i];
        lens[i] = strlen(buf[i]);
        arm[i] = classify_arm(c, buf[i], NULL);
    }
    texts[N] = "";
    lens[N] = 0;
    close_all();
    c = open_test(0, 0.4, 0);
    ck_assert_int_eq(tc_classify_batch(out, status, c, texts, lens, N + 1),
                     TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        ck_assert_int_eq(arm_of(out[i]), arm[i]);
        tc_result_free(out[i]);
    }
    ck_assert_int_eq(status[N], TC_EINVAL);
    ck_assert_ptr_null(out[N]);
    failing = open_ab(0.4, 1);
    ck_assert_int_eq(tc_classify_batch(out, status, failing, texts, lens, N),
                     TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        ck_assert_int_eq(arm_of(out[i]), 0);
        fell += arm[i];
        tc_result_free(out[i]);
    }
    ck_assert_uint_eq(metric("intent_ab_fallbacks_total{arm=\"candidate\"} "),
                      (uint64_t)fell);
}
END_TEST

START_TEST(test_options)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;
    tc_result *r = NULL;
    char metrics[1 << 16];
    size_t len;

    open_cache(0);
    tc_classifier_options_init(&co);
    co.fn = host_fn;
    co.fn_userdata = &control;
    co.fn_version = "control-v1";
    co.candidate_fn = host_fn;
    co.candidate_fn_version = "candidate-v2";
    co.split = 1.5;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "split"));
    co.split = 0.5;
    co.candidate_model = (tc_model *)&co; /* and a callback: not both */
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_EINVAL);
    co.candidate_model = NULL;
    co.candidate_fn_version = NULL;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "version"));
    /* a version 1 caller's struct ends before the candidate: not read */
    co.version = 1;
    co.candidate_fn_version = "candidate-v2";
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    ck_assert_int_eq(tc_classify(&r, c, "plain text", 10), TC_OK);
    ck_assert_ptr_null(r->arm);
    ck_assert_ptr_null(strstr(r->json, "\"arm\""));
    tc_result_free(r);
    ck_assert_int_eq(tc_classify_user(&r, c, "plain text", 10, "u1"), TC_OK);
    ck_assert_ptr_null(r->arm);
    tc_result_free(r);
    ck_assert_int_eq(tc_metrics_render(metrics, sizeof(metrics), &len, h),
                     TC_OK);
    ck_assert_ptr_null(strstr(metrics, "intent_ab_"));
    tc_classifier_close(c);
}
END_TEST

Suite *suite_classify_ab(void)
{
    Suite *s = suite_create("classify_ab");
    TCase *tc = tcase_create("ab");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_split_share);
    tcase_add_test(tc, test_split_ends);
    tcase_add_test(tc, test_sticky_per_text);
    tcase_add_test(tc, test_sticky_per_user);
    tcase_add_test(tc, test_counters_exact);
    tcase_add_test(tc, test_cached_per_model);
    tcase_add_test(tc, test_failing_candidate_falls_back);
    tcase_add_test(tc, test_batch_arms);
    tcase_add_test(tc, test_options);
    suite_add_tcase(s, tc);
    return s;
}
