/*
 * check_feedback_store.c - feedback kept apart from what may be evicted:
 * a Redis whose maxmemory-policy evicts any key (allkeys-lru) or that
 * keeps nothing across a restart is warned about, once in the log and in
 * every report; a server that refuses CONFIG is asked with INFO; and with
 * a store of feedback's own (feedback_store), a cache filled past its
 * maxmemory keeps every record and every correction's override. Real
 * redis-servers, started per test (redis_fixture.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

/* A cache Redis as the original deployment notes advise, and small. */
#define LRU_CONF "maxmemory 2mb\nmaxmemory-policy allkeys-lru\nsave \"\"\n"
/* A Redis fit for feedback. */
#define SAFE_CONF "maxmemory-policy noeviction\nappendonly yes\n"

static char *dir;
static trs *lru, *safe;
/* The config file's extra fields (",\"name\":value..."), for the next
 * open_on. */
static const char *extra_cfg = "";
/* The handles' command timeout: WAIT waits up to half of it. */
static int cmd_ms;

/* The log lines a handle wrote, for the count of feedback_at_risk. */
static _Atomic int at_risk_lines;

static void count_lines(void *ud, tc_log_level level, const char *json)
{
    (void)ud;
    if (level == TC_LOG_WARN && strstr(json, "\"feedback_at_risk\"")) {
        atomic_fetch_add(&at_risk_lines, 1);
    }
}

static void setup(void)
{
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    lru = safe = NULL;
    extra_cfg = "";
    cmd_ms = 2000;
    atomic_store(&at_risk_lines, 0);
}

static void teardown(void)
{
    trs_stop(lru);
    trs_stop(safe);
    tt_rmtree(dir);
    free(dir);
}

static trs *start(const char *conf)
{
    trs *s = trs_start(conf);

    ck_assert_msg(s != NULL, "redis-server did not start");
    return s;
}

/* A handle on url, feedback on fb_url (NULL: url's), logging to
 * count_lines; the spool in the test's dir. */
static int open_on(tc_cache **h, const char *url, const char *fb_url)
{
    char cfg[600];
    tc_options o;

    snprintf(cfg, sizeof(cfg), "%s/cfg.json", dir);
    {
        char body[700];

        snprintf(body, sizeof(body), "{\"spool_dir\":\"%s/spool\"%s}", dir,
                 extra_cfg);
        tt_write_file(cfg, body, 0600);
    }
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = url;
    o.feedback_store = fb_url;
    o.config_path = cfg;
    o.log_fn = count_lines;
    o.command_timeout_ms = cmd_ms;
    o.connect_timeout_ms = 2000;
    return tc_cache_open(h, &o);
}

static tc_cache *open_ok(const char *url, const char *fb_url)
{
    tc_cache *h = NULL;

    ck_assert_msg(open_on(&h, url, fb_url) == TC_OK, "open: %s", tc_errmsg());
    return h;
}

/* The handle's feedback stats, parsed. */
static cJSON *fb_stats(tc_cache *h)
{
    char *text = NULL;
    cJSON *root;

    ck_assert_msg(tc_feedback_stats_json(&text, h) == TC_OK, "%s", tc_errmsg());
    root = cJSON_Parse(text);
    ck_assert_msg(root != NULL, "not JSON: %s", text);
    tc_free(text);
    return root;
}

/* Whether the array at path of o holds the string s. */
static int has_reason(const cJSON *o, const char *path, const char *s)
{
    const cJSON *a = json_get(o, path), *e;

    ck_assert(cJSON_IsArray(a));
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The metrics exposition holds line. */
static int metrics_have(tc_cache *h, const char *line)
{
    static char buf[1 << 18];
    size_t len = 0;

    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    return strstr(buf, line) != NULL;
}

/*
 * An LRU Redis with no persistence: the log says so once per handle,
 * however often the reports are read, and each report carries it.
 */
START_TEST(test_lru_warned)
{
    tc_cache *h;
    cJSON *st, *hs;
    char *text = NULL;

    lru = start(LRU_CONF);
    h = open_ok(trs_url(lru), NULL);
    ck_assert_int_eq(atomic_load(&at_risk_lines), 1);
    st = fb_stats(h);
    ck_assert_str_eq(json_str(st, "store.maxmemory_policy"), "allkeys-lru");
    ck_assert_str_eq(json_str(st, "store.persistence"), "none");
    ck_assert(has_reason(st, "store.at_risk", "evictable"));
    ck_assert(has_reason(st, "store.at_risk", "not_persistent"));
    ck_assert_ptr_nonnull(strstr(json_str(st, "warning"), "evicted"));
    ck_assert_ptr_nonnull(strstr(json_str(st, "warning"), "volatile-lru"));
    ck_assert_ptr_nonnull(strstr(json_str(st, "warning"), "feedback_store"));
    cJSON_Delete(st);
    ck_assert_int_eq(tc_cache_stats_json(&text, h), TC_OK);
    hs = cJSON_Parse(text);
    tc_free(text);
    ck_assert_ptr_nonnull(hs);
    ck_assert(has_reason(hs, "feedback.at_risk", "evictable"));
    ck_assert_int_eq(json_bool(hs, "feedback.separate"), 0);
    cJSON_Delete(hs);
    ck_assert(metrics_have(
        h, "tutorcache_feedback_at_risk{reason=\"evictable\"} 1\n"));
    ck_assert(metrics_have(
        h, "tutorcache_feedback_at_risk{reason=\"not_persistent\"} 1\n"));
    ck_assert_int_eq(atomic_load(&at_risk_lines), 1); /* said once */
    tc_cache_close(h);
}
END_TEST

/* noeviction and AOF: nothing to warn about, anywhere. */
START_TEST(test_safe_not_warned)
{
    tc_cache *h;
    cJSON *st;

    safe = start(SAFE_CONF);
    h = open_ok(trs_url(safe), NULL);
    st = fb_stats(h);
    ck_assert_str_eq(json_str(st, "store.maxmemory_policy"), "noeviction");
    ck_assert_str_eq(json_str(st, "store.persistence"), "aof+rdb");
    ck_assert_int_eq(cJSON_GetArraySize(json_get(st, "store.at_risk")), 0);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(st, "warning"));
    cJSON_Delete(st);
    ck_assert(metrics_have(
        h, "tutorcache_feedback_at_risk{reason=\"evictable\"} 0\n"));
    ck_assert(metrics_have(
        h, "tutorcache_feedback_at_risk{reason=\"not_persistent\"} 0\n"));
    ck_assert_int_eq(atomic_load(&at_risk_lines), 0);
    tc_cache_close(h);
}
END_TEST

/*
 * CONFIG refused by an ACL: INFO still tells the policy and that AOF is
 * off, but not the save points, so persistence is "unknown", never
 * guessed. With INFO refused too, everything is unknown and nothing is
 * claimed.
 */
START_TEST(test_config_refused)
{
    static const char *const acls[] = {
        "user default on nopass ~* &* +@all -config\n",
        "user default on nopass ~* &* +@all -config -info\n"};
    char conf[300];
    tc_cache *h;
    cJSON *st;

    for (int i = 0; i < 2; i++) {
        snprintf(conf, sizeof(conf), "%s%s", LRU_CONF, acls[i]);
        lru = start(conf);
        atomic_store(&at_risk_lines, 0);
        h = open_ok(trs_url(lru), NULL);
        st = fb_stats(h);
        ck_assert_str_eq(json_str(st, "store.persistence"), "unknown");
        ck_assert(!has_reason(st, "store.at_risk", "not_persistent"));
        if (i == 0) {
            ck_assert_str_eq(json_str(st, "store.maxmemory_policy"),
                             "allkeys-lru");
            ck_assert(has_reason(st, "store.at_risk", "evictable"));
            ck_assert_int_eq(atomic_load(&at_risk_lines), 1);
        } else {
            ck_assert_str_eq(json_str(st, "store.maxmemory_policy"), "unknown");
            ck_assert_int_eq(cJSON_GetArraySize(json_get(st, "store.at_risk")),
                             0);
            ck_assert_int_eq(atomic_load(&at_risk_lines), 0);
        }
        cJSON_Delete(st);
        tc_cache_close(h);
        trs_stop(lru);
        lru = NULL;
    }
}
END_TEST

#define NFB 40

static void correction(char *buf, size_t n, int i)
{
    snprintf(buf, n,
             "{\"text\":\"what is a pointer number %d\",\"original_intent\":"
             "\"explanation\",\"correct_intent\":\"debugging\","
             "\"original_confidence\":0.6,\"feedback_type\":\"correction\"}",
             i);
}

/* Whether the server evicted anything (INFO stats: evicted_keys). */
static long evicted(trs *s)
{
    char *info = trs_cmd(s, "INFO stats");
    const char *p = info ? strstr(info, "evicted_keys:") : NULL;
    long n = p ? atol(p + 13) : -1;

    free(info);
    return n;
}

/*
 * The cache on the LRU Redis, feedback on its own: no warning, and a
 * cache filled past maxmemory (keys evicted) keeps every record and every
 * override, which a new handle's classifier still serves.
 */
START_TEST(test_separate_store_survives)
{
    tc_cache *h, *h2;
    tc_classifier *c;
    tc_result *r;
    char rec[300], text[64], id[TC_FEEDBACK_ID_MAX], *val, *ex;
    cJSON *st;

    lru = start(LRU_CONF);
    safe = start(SAFE_CONF);
    h = open_ok(trs_url(lru), trs_url(safe));
    ck_assert_int_eq(atomic_load(&at_risk_lines), 0);
    for (int i = 0; i < NFB; i++) {
        correction(rec, sizeof(rec), i);
        ck_assert_msg(tc_feedback_submit_json(id, NULL, h, rec, strlen(rec)) ==
                          TC_OK,
                      "%s", tc_errmsg());
    }
    /* 6 MB of cache into a 2 MB server */
    ck_assert_ptr_nonnull(val = malloc(16384));
    memset(val, 'v', 16384);
    for (int i = 0; i < 400; i++) {
        snprintf(text, sizeof(text), "filler %d", i);
        ck_assert_int_eq(
            tc_cache_set(h, "intents", text, strlen(text), val, 16384, 600000),
            TC_OK);
    }
    free(val);
    ck_assert_int_gt(evicted(lru), 0);
    /* nothing of feedback ever went to the cache's server */
    ex = trs_cmd(lru, "EXISTS tc:fb:stream");
    ck_assert_str_eq(ex, "0");
    free(ex);
    tc_cache_close(h);

    h2 = open_ok(trs_url(lru), trs_url(safe));
    st = fb_stats(h2);
    ck_assert_int_eq((int)json_num(st, "kept"), NFB);
    ck_assert_int_eq((int)json_num(st, "accepted.correction"), NFB);
    ck_assert_int_eq(cJSON_GetArraySize(json_get(st, "store.at_risk")), 0);
    cJSON_Delete(st);
    c = tt_host_classifier(h2);
    for (int i = 0; i < NFB; i++) {
        snprintf(text, sizeof(text), "what is a pointer number %d", i);
        ck_assert_int_eq(tc_classify(&r, c, text, strlen(text)), TC_OK);
        ck_assert_msg(r->source == TC_SOURCE_FEEDBACK, "override %d lost", i);
        ck_assert_str_eq(r->intent, "debugging");
        tc_result_free(r);
    }
    tc_classifier_close(c);
    tc_cache_close(h2);
}
END_TEST

/* Without a store of its own, the same cache warns (eviction itself
 * need not be shown: the policy says it may happen). */
START_TEST(test_shared_store_warned_in_cli)
{
    char fb[300];
    run r;
    how hw;

    memset(&hw, 0, sizeof(hw));
    lru = start(LRU_CONF);
    hw.url = trs_url(lru);
    cli(&r, &hw, "feedback", "stats", "--json");
    expect(&r, 0, NULL, "may be evicted");
    ck_assert_ptr_nonnull(strstr(r.err, "noeviction"));
    run_free(&r);
    /* a store of feedback's own, given on the command line */
    snprintf(fb, sizeof(fb), "lmdb://%s/fb", cli_home());
    cli(&r, &hw, "--feedback-store", fb, "feedback", "stats", "--json");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "\"persistence\":\"disk\""));
    run_free(&r);
}
END_TEST

/*
 * LMDB as feedback's store, from the environment and from the config
 * file; memory: and a bad URL refused where they were given.
 */
START_TEST(test_fb_store_sources)
{
    char url[300], cfg[400], body[600], *text = NULL;
    tc_options o;
    tc_cache *h = NULL;
    cJSON *root;

    lru = start(LRU_CONF);
    snprintf(url, sizeof(url), "lmdb://%s/fb", dir);
    setenv("TUTORCACHE_FEEDBACK_STORE", url, 1);
    tc_options_init(&o);
    o.store_url = trs_url(lru);
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "%s", tc_errmsg());
    ck_assert_int_eq(tc_cache_config_json(&text, h), TC_OK);
    root = cJSON_Parse(text);
    tc_free(text);
    ck_assert_str_eq(json_str(root, "feedback_store"), url);
    ck_assert_str_eq(json_str(root, "feedback_store_source"),
                     "TUTORCACHE_FEEDBACK_STORE");
    cJSON_Delete(root);
    tc_cache_close(h);
    unsetenv("TUTORCACHE_FEEDBACK_STORE");

    snprintf(cfg, sizeof(cfg), "%s/fb.json", dir);
    snprintf(body, sizeof(body), "{\"feedback_store\":\"%s\"}", url);
    tt_write_file(cfg, body, 0600);
    o.config_path = cfg;
    o.flags = TC_OPT_NO_ENV;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    ck_assert_int_eq(tc_cache_config_json(&text, h), TC_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"feedback_store_source\":"
                                       "\"config file\""));
    tc_free(text);
    tc_cache_close(h);

    o.config_path = NULL;
    o.feedback_store = "memory:";
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "feedback store"));
    o.feedback_store = "mongodb://x";
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "option: feedback store"));
}
END_TEST

/* Whether the replica has synced with its primary, within 20 s. */
static int synced(trs *replica)
{
    for (int i = 0; i < 400; i++) {
        char *info = trs_cmd(replica, "INFO replication");
        int up = info && strstr(info, "master_link_status:up");

        free(info);
        if (up) {
            return 1;
        }
        tt_sleep_ms(50);
    }
    return 0;
}

/*
 * feedback_wait_replicas: with one replica, a write that waits for one
 * is stored; waiting for two it cannot be had in time, so the record is
 * spooled (it is on the primary, not yet safe from a failover), and
 * stored once when replayed. A value out of range is refused.
 */
/* The outcome of correction i submitted by a new handle on s's primary
 * with the config's extra fields cfg. */
static int submit_outcome(const char *cfg, int i)
{
    char rec[300], id[TC_FEEDBACK_ID_MAX];
    tc_cache *h;
    int outcome = -1;

    extra_cfg = cfg;
    h = open_ok(trs_url(safe), NULL);
    correction(rec, sizeof(rec), i);
    ck_assert_int_eq(tc_feedback_submit_json(id, &outcome, h, rec, strlen(rec)),
                     TC_OK);
    tc_cache_close(h);
    return outcome;
}

START_TEST(test_wait_replicas)
{
    char conf[64];
    tc_cache *h = NULL;
    trs *replica;
    cJSON *st;

    /* a loaded machine may take a while to have the replica answer */
    cmd_ms = 8000;
    safe = start(SAFE_CONF);
    snprintf(conf, sizeof(conf), "replicaof 127.0.0.1 %d\n", trs_port(safe));
    replica = start(conf);
    ck_assert_msg(synced(replica), "the replica did not sync");
    ck_assert_int_eq(submit_outcome(",\"feedback_wait_replicas\":1", 1),
                     TC_FEEDBACK_STORED);
    ck_assert_int_eq(submit_outcome(",\"feedback_wait_replicas\":2", 2),
                     TC_FEEDBACK_SPOOLED);
    extra_cfg = ",\"feedback_wait_replicas\":0";
    h = open_ok(trs_url(safe), NULL);
    st = fb_stats(h); /* replays the spool first */
    ck_assert_int_eq((int)json_num(st, "kept"), 2);
    ck_assert_int_eq((int)json_num(st, "spooled"), 0);
    cJSON_Delete(st);
    tc_cache_close(h);

    extra_cfg = ",\"feedback_wait_replicas\":-1";
    ck_assert_int_eq(open_on(&h, trs_url(safe), NULL), TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "feedback_wait_replicas"));
    trs_stop(replica);
}
END_TEST

void suite_feedback_store(Suite *s)
{
    TCase *tc = tcase_create("feedback_store");
    TCase *cl = tcase_create("feedback_store_cli");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lru_warned);
    tcase_add_test(tc, test_safe_not_warned);
    tcase_add_test(tc, test_config_refused);
    tcase_add_test(tc, test_separate_store_survives);
    tcase_add_test(tc, test_fb_store_sources);
    tcase_add_test(tc, test_wait_replicas);
    suite_add_tcase(s, tc);
    tcase_add_unchecked_fixture(cl, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(cl, cli_setup_nostore, cli_teardown);
    tcase_add_checked_fixture(cl, setup, teardown);
    tcase_set_timeout(cl, 120);
    tcase_add_test(cl, test_shared_store_warned_in_cli);
    suite_add_tcase(s, cl);
}
