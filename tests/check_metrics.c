/*
 * check_metrics.c - the Prometheus exposition: every family announced
 * with HELP and TYPE, counters equal to the operations performed, the
 * histogram cumulative with +Inf equal to the count, label values escaped,
 * the pair bound, the buffer contract, and promtool's verdict; and the
 * bucket a latency is counted in, at and around every bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/handle.h"
#include "classify/counts.h"
#include "feedback/counts.h"
#include "suites.h"
#include "tutorcache.h"

static tc_classifier *open_cls(tc_cache *h)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = tt_host_answer;
    co.fn_userdata = (void *)"{\"intent\":\"debugging\",\"confidence\":0.9}";
    co.fn_version = "m1";
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    return c;
}

static void classify(tc_classifier *c, const char *text, int want)
{
    tc_result *r = NULL;

    ck_assert_int_eq(tc_classify(&r, c, text, strlen(text)), want);
    tc_result_free(r);
}

/* The rendered text (malloc'd). */
static char *render(tc_cache *h)
{
    size_t len = 0, len2 = 0;
    char small[16], *buf;

    ck_assert_int_eq(tc_metrics_render(small, sizeof(small), &len, h),
                     TC_ETOOBIG);
    ck_assert_uint_gt(len, sizeof(small));
    buf = malloc(len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(tc_metrics_render(buf, len + 1, &len2, h), TC_OK);
    ck_assert_uint_eq(len2, len);
    ck_assert_uint_eq(strlen(buf), len);
    return buf;
}

/* The value of the sample whose name and labels are exactly `series`. */
static double value_of(const char *text, const char *series)
{
    const char *v = tt_metric_at(text, series);

    ck_assert_msg(v != NULL, "no sample %s in:\n%s", series, text);
    return strtod(v, NULL);
}

/* Every sample's family was announced by # HELP and # TYPE before it. */
static void check_announced(const char *text)
{
    char *copy = strdup(text), *line, *save = NULL;
    char fam[128] = "";

    ck_assert_ptr_nonnull(copy);
    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[128];
        size_t n = strcspn(line, "{ ");

        if (strncmp(line, "# HELP ", 7) == 0) {
            snprintf(fam, sizeof(fam), "%.*s", (int)strcspn(line + 7, " "),
                     line + 7);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            ck_assert_msg(strncmp(line + 7, fam, strlen(fam)) == 0,
                          "TYPE without HELP: %s", line);
            continue;
        }
        snprintf(name, sizeof(name), "%.*s", (int)n, line);
        ck_assert_msg(fam[0] && strncmp(name, fam, strlen(fam)) == 0,
                      "sample %s outside its family %s", name, fam);
    }
    free(copy);
}

START_TEST(test_counts_match)
{
    static const char override[] =
        "{\"intent\":\"explanation\",\"confidence\":1,\"model\":\"feedback\"}";
    tc_cache *h = tt_open_memory(0);
    tc_classifier *c = open_cls(h);
    const char *le[] = {"1e-06",  "2e-06",  "5e-06",   "1e-05",  "2.5e-05",
                        "5e-05",  "0.0001", "0.00025", "0.0005", "0.001",
                        "0.0025", "0.005",  "0.01",    "0.025",  "0.05",
                        "0.1",    "0.25",   "1",       "+Inf"};
    double prev = 0, v;
    char series[128], *t;
    size_t i;

    classify(c, "first text", TC_OK); /* miss */
    classify(c, "first text", TC_OK); /* hit */
    classify(c, "second", TC_OK);     /* miss */
    classify(c, "\xff", TC_EINVAL);   /* error */
    ck_assert_int_eq(tc_cache_set(h, "intent_feedback", "third", 5, override,
                                  strlen(override), 0),
                     TC_OK);
    classify(c, "Third!", TC_OK); /* feedback */
    t = render(h);
    check_announced(t);
    ck_assert(value_of(t, "intent_classification_requests_total{status="
                          "\"cache_hit\"}") == 1);
    ck_assert(value_of(t, "intent_classification_requests_total{status="
                          "\"cache_miss\"}") == 2);
    ck_assert(value_of(t, "intent_classification_requests_total{status="
                          "\"feedback\"}") == 1);
    ck_assert(value_of(t, "intent_classification_requests_total{status="
                          "\"error\"}") == 1);
    for (i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
        snprintf(series, sizeof(series),
                 "intent_classification_duration_seconds_bucket{le=\"%s\"}",
                 le[i]);
        v = value_of(t, series);
        ck_assert_msg(v >= prev, "bucket %s below the one before", le[i]);
        prev = v;
    }
    ck_assert(prev == 5);
    ck_assert(value_of(t, "intent_classification_duration_seconds_count") == 5);
    ck_assert(value_of(t, "tutorcache_cache_requests_total{namespace="
                          "\"intents\",tier=\"l1\",result=\"hit\"}") == 1);
    ck_assert(value_of(t, "tutorcache_cache_requests_total{namespace="
                          "\"intents\",tier=\"none\",result=\"miss\"}") == 2);
    ck_assert(value_of(t, "tutorcache_cache_sets_total{namespace="
                          "\"intents\"}") == 2);
    ck_assert(value_of(t, "tutorcache_cache_sets_total{namespace="
                          "\"intent_feedback\"}") == 1);
    ck_assert(value_of(t, "tutorcache_l1_entries") == 3);
    ck_assert(value_of(t, "tutorcache_l2_up{kind=\"memory\"}") == 1);
    free(t);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_pairs_bounded_and_escaped)
{
    tc_cache *h = tt_open_memory(0);
    tc__fb_counts *k = h->fbk;
    char a[32], *t;
    int i;

    ck_assert_ptr_nonnull(k);
    tc__fb_counts_pair_add(k, "say \"hi\"", "back\\slash\nnew");
    tc__fb_counts_pair_add(k, "say \"hi\"", "back\\slash\nnew");
    for (i = 0; i < 150; i++) {
        snprintf(a, sizeof(a), "label%d", i);
        tc__fb_counts_pair_add(k, a, "x");
    }
    t = render(h);
    check_announced(t);
    ck_assert(value_of(t,
                       "intent_feedback_corrections_total{original="
                       "\"say \\\"hi\\\"\",correct=\"back\\\\slash\\nnew\"}") ==
              2);
    ck_assert(value_of(t, "intent_feedback_corrections_total{original="
                          "\"label98\",correct=\"x\"}") == 1);
    /* 100 pairs kept (the first and 99 labels); 51 counted as other */
    ck_assert(value_of(t, "intent_feedback_corrections_total{original="
                          "\"other\",correct=\"other\"}") == 51);
    ck_assert_ptr_null(strstr(t, "label99\""));
    free(t);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_off_and_write)
{
    tc_cache *h = tt_open_memory(TC_OPT_NO_METRICS);
    tc_classifier *c = open_cls(h);
    char *t, *w;
    FILE *f;
    long n;

    classify(c, "a text", TC_OK);
    t = render(h);
    ck_assert(value_of(t, "intent_classification_requests_total{status="
                          "\"cache_miss\"}") == 0);
    f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tc_metrics_write(h, f), TC_OK);
    n = ftell(f);
    ck_assert_int_eq(n, (long)strlen(t));
    w = malloc((size_t)n + 1);
    rewind(f);
    ck_assert_uint_eq(fread(w, 1, (size_t)n, f), (size_t)n);
    w[n] = '\0';
    ck_assert_str_eq(w, t);
    fclose(f);
    free(w);
    free(t);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* promtool, the reference parser (Debian's prometheus; make check's deps
 * install it). */
START_TEST(test_promtool)
{
    tc_cache *h = tt_open_memory(0);
    tc_classifier *c = open_cls(h);
    char path[] = "/tmp/tcmetricsXXXXXX", cmd[256];
    char *t;
    int fd, rc;

    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "check_metrics: promtool not installed "
                        "(scripts/deps.sh check installs it): skipped\n");
        tc_classifier_close(c);
        tc_cache_close(h);
        return;
    }
    classify(c, "some text", TC_OK);
    classify(c, "some text", TC_OK);
    tc__fb_counts_pair_add(h->fbk, "a\"b", "c");
    t = render(h);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    rc = system(cmd);
    unlink(path);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
                  "promtool rejected:\n%s", t);
    free(t);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* The bucket of latency us by the histogram's definition: the first
 * whose bound it does not pass, tc__cls_nbounds (+Inf) past them all. */
static size_t bucket_by_search(int64_t us)
{
    size_t b = 0;

    while (b < tc__cls_nbounds && us > tc__cls_bounds_us[b]) {
        b++;
    }
    return b;
}

/* Counts us, for the status and for an arm, and checks that exactly the
 * bucket bucket_by_search names grew by one in both histograms. */
static void expect_bucket(tc__cls_counts *k, int64_t us)
{
    size_t want = bucket_by_search(us);
    uint64_t before[64], arm_before[64];

    ck_assert_uint_lt(tc__cls_nbounds + 1, 64);
    for (size_t i = 0; i <= tc__cls_nbounds; i++) {
        before[i] = tc__cls_counts_bucket(k, i);
        arm_before[i] = tc__cls_arm_bucket(k, TC__ARM_CANDIDATE, i);
    }
    tc__cls_count(k, TC__CLS_CACHE_HIT, us);
    tc__cls_count_arm(k, TC__ARM_CANDIDATE, 1, us);
    for (size_t i = 0; i <= tc__cls_nbounds; i++) {
        uint64_t grew = tc__cls_counts_bucket(k, i) - before[i];
        uint64_t arm_grew =
            tc__cls_arm_bucket(k, TC__ARM_CANDIDATE, i) - arm_before[i];

        ck_assert_msg(grew == (i == want) && arm_grew == (i == want),
                      "latency %lld: bucket %zu grew by %llu (arm %llu); "
                      "want bucket %zu",
                      (long long)us, i, (unsigned long long)grew,
                      (unsigned long long)arm_grew, want);
    }
}

/*
 * The latency histogram's bucket, found in constant time, is the one the
 * bounds define: at, one below and one above every bound, 0 and
 * negative latencies (bucket 0), the largest latency (+Inf), and both
 * ends of every bit length.
 */
START_TEST(test_latency_buckets)
{
    tc__cls_counts *k = NULL;

    ck_assert_int_eq(tc__cls_counts_new(&k), TC_OK);
    for (size_t i = 0; i < tc__cls_nbounds; i++) {
        expect_bucket(k, tc__cls_bounds_us[i] - 1);
        expect_bucket(k, tc__cls_bounds_us[i]);
        expect_bucket(k, tc__cls_bounds_us[i] + 1);
    }
    expect_bucket(k, 0);
    expect_bucket(k, -1);
    expect_bucket(k, INT64_MIN);
    expect_bucket(k, INT64_MAX);
    expect_bucket(k, INT64_MAX - 1);
    for (int bit = 0; bit < 63; bit++) {
        expect_bucket(k, (int64_t)1 << bit);
        expect_bucket(k, ((int64_t)1 << bit) - 1);
        expect_bucket(k, ((int64_t)1 << bit) | (((int64_t)1 << bit) - 1));
    }
    tc__cls_counts_free(k);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_counts_match);
    tcase_add_test(tc, test_pairs_bounded_and_escaped);
    tcase_add_test(tc, test_off_and_write);
    tcase_add_test(tc, test_promtool);
    tcase_add_test(tc, test_latency_buckets);
    suite_add_tcase(s, tc);
    return s;
}
