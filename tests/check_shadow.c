/*
 * check_shadow.c - shadow checks of cached answers (classify/shadow.c)
 * on real stores: a host model whose answers change under one version
 * string makes cached answers stale; with shadow_rate 1 each stale hit
 * is found, counted, logged by its key (never its text) and replaced in
 * L1 and L2, and an answer that still holds is counted as agreeing. Rate
 * 0 samples nothing, a correction is never checked, a full queue drops
 * and counts, closing with a full queue and a slow model returns, and a
 * rate outside 0..1 is refused.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_fixture.h"
#include "cli_harness.h"
#include "redis_fixture.h"
#include "service_fixture.h"
#include "suites.h"
#include "tt_json.h"
#include "tutorcache.h"

/* A host model answering "alpha", or "beta" for the texts that start
 * with "change" once changed is set; it can be held at its entry (the
 * test then knows the thread is busy) and slowed down. */
typedef struct host {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int changed, hold, entered;
    int delay_ms;
    _Atomic int calls;
} host;

static host hm;

static int host_fn(char **json, const char *text, size_t len, void *ud)
{
    host *m = ud;
    char buf[128];
    int beta, delay;

    atomic_fetch_add(&m->calls, 1);
    pthread_mutex_lock(&m->mu);
    m->entered++;
    pthread_cond_broadcast(&m->cv);
    while (m->hold) {
        pthread_cond_wait(&m->cv, &m->mu);
    }
    beta = m->changed && len >= 6 && memcmp(text, "change", 6) == 0;
    delay = m->delay_ms;
    pthread_mutex_unlock(&m->mu);
    if (delay) {
        tt_sleep_ms(delay);
    }
    snprintf(buf, sizeof(buf), "{\"intent\":\"%s\",\"confidence\":0.9}",
             beta ? "beta" : "alpha");
    return tt_host_reply(json, buf);
}

static char *dir;
static trs *redis;

static void setup(void)
{
    memset(&hm, 0, sizeof(hm));
    pthread_mutex_init(&hm.mu, NULL);
    pthread_cond_init(&hm.cv, NULL);
    cache_log_reset();
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    redis = NULL;
}

static void teardown(void)
{
    trs_stop(redis);
    tt_rmtree(dir);
    free(dir);
    pthread_cond_destroy(&hm.cv);
    pthread_mutex_destroy(&hm.mu);
}

/* A handle on the case's LMDB, or on its Redis when one runs. */
static tc_cache *open_cache(int log_texts)
{
    char url[600];
    tc_options o;
    tc_cache *h = NULL;

    if (redis) {
        snprintf(url, sizeof(url), "%s", trs_url(redis));
    } else {
        snprintf(url, sizeof(url), "lmdb://%s/env", dir);
    }
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.lmdb_map_bytes = (size_t)16 << 20;
    o.log_fn = cache_log_cb;
    o.log_texts = log_texts;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    return h;
}

static tc_classifier *open_cls(tc_cache *h, double rate)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = host_fn;
    co.fn_userdata = &hm;
    co.fn_version = "v1";
    co.shadow_rate = rate;
    ck_assert_msg(tc_classifier_open(&c, h, &co) == TC_OK, "classifier: %s",
                  tc_errmsg());
    return c;
}

/* text classified by c: its intent and source must be these. */
static void expect_cls(tc_classifier *c, const char *text, const char *intent,
                       tc_source src)
{
    tc_result *r = NULL;

    ck_assert_int_eq(tc_classify(&r, c, text, strlen(text)), TC_OK);
    ck_assert_str_eq(r->intent, intent);
    ck_assert_msg(r->source == src, "%s: source %s, not %s", text,
                  tc_source_name(r->source), tc_source_name(src));
    tc_result_free(r);
}

/* The handle's "shadow" stats. */
static cJSON *shadow_stats(tc_cache *h)
{
    char *text = NULL;
    cJSON *root;

    ck_assert_int_eq(tc_cache_stats_json(&text, h), TC_OK);
    root = cJSON_Parse(text);
    tc_free(text);
    ck_assert_ptr_nonnull(root);
    return root;
}

static double stat_of(tc_cache *h, const char *what)
{
    char path[64];
    cJSON *root = shadow_stats(h);
    double v;

    snprintf(path, sizeof(path), "shadow.%s", what);
    v = json_num(root, path);
    cJSON_Delete(root);
    return v;
}

/* The L2 key of a host text as classify builds its key material. */
static void key_of(char *buf, tc_cache *h, const char *text)
{
    char k[256], *norm;
    size_t n;

    ck_assert_int_eq(tc_text_normalize(&norm, &n, text, strlen(text)), TC_OK);
    memcpy(k, norm, n);
    tc_free(norm);
    memcpy(k + n, "\0fn:v1\0003", 8); /* identity, then top_k */
    ck_assert_int_eq(tc_cache_key(buf, TC_KEY_MAX, h, "intents", k, n + 8),
                     TC_OK);
}

static const char *const texts[] = {"change me please", "change this too",
                                    "keep this one"};

/*
 * Three answers cached, two of them made stale: the second round, as a
 * batch, answers from the cache and checks each hit; the two stale ones
 * disagree, are logged and replaced in L1 and L2, the third agrees.
 */
static void stale_replaced(void)
{
    tc_cache *h = open_cache(0), *h2;
    tc_classifier *c = open_cls(h, 1);
    const char *bt[3];
    size_t bl[3], i;
    tc_result *out[3];
    int status[3];
    char key[TC_KEY_MAX], want[TC_KEY_MAX + 16], *m;
    size_t mlen;

    for (i = 0; i < 3; i++) {
        expect_cls(c, texts[i], "alpha", TC_SOURCE_MODEL);
        bt[i] = texts[i];
        bl[i] = strlen(texts[i]);
    }
    hm.changed = 1;
    ck_assert_int_eq(tc_classify_batch(out, status, c, bt, bl, 3), TC_OK);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        /* the caller gets the cached answer: the check is not its path */
        ck_assert_str_eq(out[i]->intent, "alpha");
        ck_assert(out[i]->source == TC_SOURCE_L1);
        tc_result_free(out[i]);
    }
    tc_classifier_close(c); /* finishes the checks waiting */
    ck_assert_int_eq(atomic_load(&hm.calls), 6);
    ck_assert_int_eq((int)stat_of(h, "checks"), 3);
    ck_assert_int_eq((int)stat_of(h, "agree"), 1);
    ck_assert_int_eq((int)stat_of(h, "disagree"), 2);
    ck_assert_int_eq((int)stat_of(h, "dropped"), 0);
    ck_assert(fabs(stat_of(h, "disagreement_rate") - 2.0 / 3) < 1e-9);
    ck_assert_int_eq(tc_metrics_render(NULL, 0, &mlen, h), TC_ETOOBIG);
    m = malloc(mlen + 1);
    ck_assert_int_eq(tc_metrics_render(m, mlen + 1, &mlen, h), TC_OK);
    ck_assert(strncmp(tt_metric_at(m, "intent_cache_shadow_checks_total"
                                      "{outcome=\"disagree\"}"),
                      "2\n", 2) == 0);
    ck_assert(strncmp(tt_metric_at(m, "intent_cache_shadow_checks_total"
                                      "{outcome=\"agree\"}"),
                      "1\n", 2) == 0);
    ck_assert(strncmp(tt_metric_at(m, "intent_cache_shadow_disagreement_rate"),
                      "0.666667\n", 9) == 0);
    free(m);

    /* logged by key, both intents, never the text */
    for (i = 0; i < 2; i++) {
        key_of(key, h, texts[i]);
        snprintf(want, sizeof(want), "\"key\":\"%s\"", key);
        ck_assert_msg(strstr(cache_log_text(), want), "no line for %s in:\n%s",
                      key, cache_log_text());
    }
    ck_assert_int_eq((int)tt_count_lines(cache_log_text()), 2);
    ck_assert_ptr_nonnull(
        strstr(cache_log_text(), "\"event\":\"shadow_disagree\""));
    ck_assert_ptr_nonnull(
        strstr(cache_log_text(), "\"cached_intent\":\"alpha\""));
    ck_assert_ptr_nonnull(
        strstr(cache_log_text(), "\"fresh_intent\":\"beta\""));
    ck_assert_ptr_null(strstr(cache_log_text(), "change"));

    /* replaced in this process's L1 and in the L2 another one reads */
    c = open_cls(h, 0);
    expect_cls(c, texts[0], "beta", TC_SOURCE_L1);
    expect_cls(c, texts[2], "alpha", TC_SOURCE_L1);
    tc_classifier_close(c);
    h2 = open_cache(0);
    c = open_cls(h2, 0);
    expect_cls(c, texts[1], "beta", TC_SOURCE_L2);
    tc_classifier_close(c);
    tc_cache_close(h2);
    ck_assert_int_eq(atomic_load(&hm.calls), 6);
    tc_cache_close(h);
}

START_TEST(test_stale_replaced_lmdb)
{
    stale_replaced();
}
END_TEST

START_TEST(test_stale_replaced_redis)
{
    redis = trs_start(NULL);
    ck_assert_ptr_nonnull(redis);
    stale_replaced();
}
END_TEST

/* With log_texts the line carries the normalized text. */
START_TEST(test_text_logged_when_asked)
{
    tc_cache *h = open_cache(1);
    tc_classifier *c = open_cls(h, 1);

    expect_cls(c, "Change me, please", "alpha", TC_SOURCE_MODEL);
    hm.changed = 1;
    expect_cls(c, "Change me, please", "alpha", TC_SOURCE_L1);
    tc_classifier_close(c);
    ck_assert_ptr_nonnull(
        strstr(cache_log_text(), "\"text\":\"change me, please\""));
    tc_cache_close(h);
}
END_TEST

/* Rate 0 samples nothing: the stale answer stays, the model is asked
 * once per miss only. */
START_TEST(test_rate_zero_never_samples)
{
    tc_cache *h = open_cache(0);
    tc_classifier *c = open_cls(h, 0);
    int i;

    expect_cls(c, texts[0], "alpha", TC_SOURCE_MODEL);
    hm.changed = 1;
    for (i = 0; i < 1000; i++) {
        expect_cls(c, texts[0], "alpha", TC_SOURCE_L1);
    }
    tc_classifier_close(c);
    ck_assert_int_eq(atomic_load(&hm.calls), 1);
    ck_assert_int_eq((int)stat_of(h, "checks"), 0);
    ck_assert_int_eq((int)stat_of(h, "dropped"), 0);
    ck_assert_str_eq(cache_log_text(), "");
    tc_cache_close(h);
}
END_TEST

/* A correction is the user's answer: its hits are never checked. */
START_TEST(test_correction_not_checked)
{
    tc_cache *h = open_cache(0);
    tc_classifier_options co;
    tc_classifier *c = NULL;
    char id[TC_FEEDBACK_ID_MAX];
    int i;

    tc_classifier_options_init(&co);
    co.fn = tt_host_explains;
    co.fn_version = "v1";
    co.shadow_rate = 1;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, h, TT_LOOP_CORRECTION,
                                             strlen(TT_LOOP_CORRECTION)),
                     TC_OK);
    for (i = 0; i < 3; i++) {
        tt_expect_loop_corrected(c);
    }
    tc_classifier_close(c);
    ck_assert_int_eq((int)stat_of(h, "checks"), 0);
    ck_assert_int_eq((int)stat_of(h, "dropped"), 0);
    tc_cache_close(h);
}
END_TEST

/*
 * The thread held in the model: the queue fills (TC__SHADOW_QUEUE, 256)
 * and the hits beyond are dropped and counted. Then the model is slowed
 * and let go, and closing, with a full queue, returns: what it had no
 * time for is dropped, and every sampled hit is counted once.
 */
START_TEST(test_full_queue_drops_and_close_returns)
{
    tc_cache *h = open_cache(0);
    tc_classifier *c = open_cls(h, 1);
    int i, extra = 10;
    double agree, dropped, failed;

    expect_cls(c, texts[2], "alpha", TC_SOURCE_MODEL);
    pthread_mutex_lock(&hm.mu);
    hm.hold = 1;
    hm.entered = 0;
    pthread_mutex_unlock(&hm.mu);
    expect_cls(c, texts[2], "alpha", TC_SOURCE_L1); /* the thread takes it */
    pthread_mutex_lock(&hm.mu);
    while (hm.entered == 0) {
        pthread_cond_wait(&hm.cv, &hm.mu);
    }
    pthread_mutex_unlock(&hm.mu);
    for (i = 0; i < 256 + extra; i++) {
        expect_cls(c, texts[2], "alpha", TC_SOURCE_L1);
    }
    ck_assert_int_eq((int)stat_of(h, "dropped"), extra);
    ck_assert_int_eq((int)stat_of(h, "checks"), 0);
    pthread_mutex_lock(&hm.mu);
    hm.delay_ms = 50; /* 256 checks: far longer than closing waits */
    hm.hold = 0;
    pthread_cond_broadcast(&hm.cv);
    pthread_mutex_unlock(&hm.mu);
    tc_classifier_close(c);
    agree = stat_of(h, "agree");
    dropped = stat_of(h, "dropped");
    failed = stat_of(h, "failed");
    ck_assert_int_eq((int)stat_of(h, "disagree"), 0);
    ck_assert_int_eq((int)failed, 0);
    ck_assert_int_eq((int)(agree + dropped), 1 + 256 + extra);
    ck_assert_msg(dropped > extra, "closing checked all %d", (int)agree);
    ck_assert_int_eq(atomic_load(&hm.calls), 1 + (int)agree);
    tc_cache_close(h);
}
END_TEST

/* A rate outside 0..1 or NaN is refused by name; an options struct of
 * version 2 has no such field, and its garbage is never read. */
START_TEST(test_bad_rate_refused)
{
    static const double bad[] = {-0.01, 1.5, NAN, INFINITY};
    tc_cache *h = open_cache(0);
    tc_classifier_options co;
    tc_classifier *c;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tc_classifier_options_init(&co);
        co.fn = host_fn;
        co.fn_userdata = &hm;
        co.fn_version = "v1";
        co.shadow_rate = bad[i];
        c = (tc_classifier *)&co;
        ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_str_eq(tc_errmsg(), "shadow_rate: not in 0..1");
    }
    co.version = 2;
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    expect_cls(c, texts[0], "alpha", TC_SOURCE_MODEL);
    expect_cls(c, texts[0], "alpha", TC_SOURCE_L1);
    tc_classifier_close(c);
    ck_assert_int_eq((int)stat_of(h, "checks"), 0);
    tc_cache_close(h);
}
END_TEST

/* A classifier whose every text goes to its A/B candidate (split 1). */
static tc_classifier *open_ab(tc_cache *h, double rate)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = tt_host_explains;
    co.fn_version = "control";
    co.candidate_fn = host_fn;
    co.candidate_fn_userdata = &hm;
    co.candidate_fn_version = "v2";
    co.split = 1;
    co.shadow_rate = rate;
    ck_assert_msg(tc_classifier_open(&c, h, &co) == TC_OK, "classifier: %s",
                  tc_errmsg());
    return c;
}

/* The candidate's hits are checked by the candidate's model, through its
 * control's thread and counters, and its entry replaced. */
START_TEST(test_candidate_checked)
{
    tc_cache *h = open_cache(0);
    tc_classifier *c = open_ab(h, 1);

    expect_cls(c, texts[0], "alpha", TC_SOURCE_MODEL);
    hm.changed = 1;
    expect_cls(c, texts[0], "alpha", TC_SOURCE_L1);
    tc_classifier_close(c);
    ck_assert_int_eq((int)stat_of(h, "disagree"), 1);
    ck_assert_int_eq((int)stat_of(h, "agree"), 0);
    c = open_ab(h, 0);
    expect_cls(c, texts[0], "beta", TC_SOURCE_L1);
    tc_classifier_close(c);
    tc_cache_close(h);
}
END_TEST

/* An exec: backend answering "alpha", or for a text with "change" in it
 * what the file "intent" beside it says. */
static const char backend_sh[] =
    "d=$(dirname \"$0\")\n"
    "while IFS= read -r line; do\n"
    "  case \"$line\" in\n"
    "    *change*) i=$(cat \"$d/intent\") ;;\n"
    "    *) i=alpha ;;\n"
    "  esac\n"
    "  echo \"{\\\"intent\\\": \\\"$i\\\", \\\"confidence\\\": 0.9}\"\n"
    "done\n";

/* The intents of a classify run's lines, each from source src. */
static void expect_run(const run *r, const char *const *want, const char *src)
{
    lines ls;
    size_t i;

    lines_parse(&ls, r->out);
    ck_assert_int_eq((int)ls.n, 5);
    for (i = 0; i < ls.n; i++) {
        ck_assert_str_eq(json_str(ls.v[i], "intent"), want[i]);
        ck_assert_str_eq(json_str(ls.v[i], "source"), src);
    }
    lines_free(&ls);
}

/*
 * The case through the CLI: an exec: backend whose answers change
 * under a warm cache while --backend-version stays: with --shadow-rate 1
 * the disagreements logged are the changed answers, and the next run
 * reads the fresh ones from the L2.
 */
START_TEST(test_cli_exec_backend_changed)
{
    static const char in[] = "change one\nkeep two\nchange three\n"
                             "keep four\nchange five\n";
    static const char *const before[] = {"alpha", "alpha", "alpha", "alpha",
                                         "alpha"};
    static const char *const after[] = {"beta", "alpha", "beta", "alpha",
                                        "beta"};
    char path[4200], spec[4300];
    how h = {0};
    run r;

    h.in = in;
    snprintf(path, sizeof(path), "%s/backend.sh", cli_home());
    tt_write_file(path, backend_sh, 0755);
    snprintf(spec, sizeof(spec), "exec:sh %s", path);
    snprintf(path, sizeof(path), "%s/intent", cli_home());
    tt_write_file(path, "alpha\n", 0644);
    cli(&r, &h, "classify", "--backend", spec, "--backend-version", "v1");
    expect(&r, 0, NULL, "");
    expect_run(&r, before, "model");
    run_free(&r);

    tt_write_file(path, "beta\n", 0644);
    cli(&r, &h, "--log-format", "json", "classify", "--backend", spec,
        "--backend-version", "v1", "--shadow-rate", "1");
    expect(&r, 0, NULL, NULL);
    expect_run(&r, before, "l2"); /* the caller still gets the cache's */
    ck_assert_int_eq((int)tt_count_lines(r.err), 3);
    ck_assert_ptr_nonnull(strstr(r.err, "\"event\":\"shadow_disagree\""));
    ck_assert_ptr_null(strstr(r.err, "change"));
    run_free(&r);

    cli(&r, &h, "classify", "--backend", spec, "--backend-version", "v1");
    expect(&r, 0, NULL, "");
    expect_run(&r, after, "l2");
    run_free(&r);

    cli(&r, &h, "classify", "--shadow-rate", "1.5", "x");
    expect_diag(&r, 2, "--shadow-rate");
    run_free(&r);
}
END_TEST

/*
 * The service's flag: hits are checked (a model file's answers agree
 * with themselves) and /metrics counts them; a bad rate is a usage
 * error. The check runs behind the request, so /metrics is read until
 * it is counted, within a bound that only catches a check never made.
 */
START_TEST(test_service_shadow_rate)
{
    const char *agree = "intent_cache_shadow_checks_total{outcome=\"agree\"}";
    char *args[] = {"--shadow-rate", "1.01", "--model", sv_model, NULL};
    char *err = NULL;
    int64_t until;
    cJSON *o;
    sv_resp r;
    int i;

    sv_start(sv_lmdb_url(), "--model", sv_model, "--shadow-rate", "1", NULL);
    for (i = 0; i < 2; i++) {
        o = sv_classify(SV_TEXT_A);
        ck_assert_str_eq(json_str(o, "source"), i ? "l1" : "model");
        cJSON_Delete(o);
    }
    until = sv_now_ms() + sv_slow_ms(30000);
    for (;;) {
        double n;

        sv_http(&r, "GET", "/metrics", NULL);
        ck_assert_int_eq(r.code, 200);
        n = sv_metric(r.body, agree);
        if (n == 1 || sv_now_ms() > until) {
            ck_assert_msg(n == 1, "agree %g:\n%s", n, r.body);
            ck_assert(sv_metric(r.body, "intent_cache_shadow_checks_total"
                                        "{outcome=\"disagree\"}") == 0);
            ck_assert(sv_metric(r.body, "intent_cache_shadow_dropped_total") ==
                      0);
            sv_resp_free(&r);
            break;
        }
        sv_resp_free(&r);
        sv_sleep_ms(20);
    }
    sv_stop(SIGTERM);
    ck_assert_int_eq(sv_exit_code(args, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--shadow-rate"));
    free(err);
}
END_TEST

Suite *suite_shadow(void)
{
    Suite *s = suite_create("shadow");
    TCase *tc = tcase_create("shadow");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stale_replaced_lmdb);
    tcase_add_test(tc, test_stale_replaced_redis);
    tcase_add_test(tc, test_text_logged_when_asked);
    tcase_add_test(tc, test_rate_zero_never_samples);
    tcase_add_test(tc, test_correction_not_checked);
    tcase_add_test(tc, test_full_queue_drops_and_close_returns);
    tcase_add_test(tc, test_bad_rate_refused);
    tcase_add_test(tc, test_candidate_checked);
    suite_add_tcase(s, tc);
    tc = tcase_create("shadow_cli");
    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_exec_backend_changed);
    suite_add_tcase(s, tc);
    tc = tcase_create("shadow_service");
    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_service_shadow_rate);
    suite_add_tcase(s, tc);
    return s;
}
