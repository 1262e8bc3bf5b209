/*
 * check_config.c - how a handle's configuration is resolved: explicit
 * options > environment > config file > defaults, the original services'
 * variables (REDIS_*, CACHE_TTL, ENABLE_CACHING), store URLs of every
 * kind, and bad values rejected with a message naming the field. Results
 * are read back through tc_cache_config_json(). Redis URLs point at
 * loopback ports where nothing listens: the handle opens degraded. Here:
 * defaults, precedence and the original services' variables; bad values,
 * namespaces and store URLs are in check_config_values.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "config_fixture.h"
#include "suites.h"

/* ---- defaults ------------------------------------------------------------ */

START_TEST(test_defaults)
{
    static const struct {
        const char *name, *prefix;
        double ttl;
    } want[] = {{"ml_model_predictions", "ml_pred", 3600},
                {"student_profiles", "profile", 1800},
                {"adaptive_paths", "path", 7200},
                {"diagnostic_results", "diag", 86400},
                {"intents", "intent", 3600},
                {"intent_feedback", "intent_fb", 86400}};
    tc_options o;
    tc_cache *h;
    cJSON *j;
    size_t i;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = "memory:";
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert_str_eq(json_str(j, "version"), tc_version());
    ck_assert_str_eq(json_str(j, "store"), "memory:");
    ck_assert_str_eq(json_str(j, "store_source"), "option");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "config_file")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "enable_caching")));
    ck_assert_int_eq((int)json_num(j, "connect_timeout_ms"), 250);
    ck_assert_int_eq((int)json_num(j, "command_timeout_ms"), 250);
    ck_assert_int_eq((int)json_num(j, "pool_size"), 8);
    ck_assert(json_num(j, "l1_max_bytes") == 64.0 * 1024 * 1024);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "namespaces")),
                     6);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const cJSON *n = cfg_ns(j, want[i].name);

        ck_assert_str_eq(json_str(n, "prefix"), want[i].prefix);
        ck_assert(json_num(n, "ttl") == want[i].ttl);
        /* with no L2, L1 keeps the namespace's TTL */
        ck_assert(json_num(n, "l1_ttl") == want[i].ttl);
    }
    cJSON_Delete(j);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_default_store_xdg)
{
    char url[700], dir[600];

    snprintf(url, sizeof(url), "lmdb://%s/tutorcache", cfg_xdg);
    snprintf(dir, sizeof(dir), "%s/tutorcache", cfg_xdg);
    cfg_assert_store(NULL, url, "default", "lmdb");
    ck_assert_msg(cfg_is_dir(dir), "%s was not created", dir);
}
END_TEST

START_TEST(test_default_store_home)
{
    char url[700], dir[600];

    unsetenv("XDG_CACHE_HOME");
    snprintf(url, sizeof(url), "lmdb://%s/.cache/tutorcache", cfg_home);
    snprintf(dir, sizeof(dir), "%s/.cache/tutorcache", cfg_home);
    cfg_assert_store(NULL, url, "default", "lmdb");
    ck_assert_msg(cfg_is_dir(dir), "%s was not created", dir);
    /* a relative XDG_CACHE_HOME is ignored, as the XDG spec says */
    setenv("XDG_CACHE_HOME", "relative/cache", 1);
    cfg_assert_store(NULL, url, "default", "lmdb");
}
END_TEST

/* ---- precedence -------------------------------------------------------- */

START_TEST(test_precedence_store)
{
    char file_url[700], env_url[700], redis_url[128], port[16], body[800];
    const char *path;
    tc_options o;

    snprintf(file_url, sizeof(file_url), "lmdb://%s/from-file", cfg_dir());
    snprintf(env_url, sizeof(env_url), "lmdb://%s/from-env", cfg_dir());
    snprintf(body, sizeof(body), "{\"store\": \"%s\"}\n", file_url);
    path = cfg_write("tc.json", body);

    /* config file over the default */
    setenv("TUTORCACHE_CONFIG", path, 1);
    cfg_assert_store(NULL, file_url, "config file", "lmdb");
    {
        tc_cache *h = cfg_open(NULL);
        cJSON *j = cfg_json(h);

        ck_assert_str_eq(json_str(j, "config_file"), path);
        cJSON_Delete(j);
        tc_cache_close(h);
    }
    /* REDIS_HOST over the config file */
    snprintf(port, sizeof(port), "%d", cfg_dead);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", port, 1);
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d/0", cfg_dead);
    cfg_opts(&o, 0, NULL);
    cfg_assert_store(&o, redis_url, "REDIS_HOST", "redis");
    /* TUTORCACHE_URL over REDIS_HOST and the file */
    setenv("TUTORCACHE_URL", env_url, 1);
    cfg_assert_store(NULL, env_url, "TUTORCACHE_URL", "lmdb");
    /* the option over everything */
    cfg_opts(&o, 0, "memory:");
    cfg_assert_store(&o, "memory:", "option", "memory");
    /* without the environment, the file given as an option rules */
    cfg_opts(&o, TC_OPT_NO_ENV, NULL);
    o.config_path = path;
    cfg_assert_store(&o, file_url, "config file", "lmdb");
}
END_TEST

START_TEST(test_precedence_intents_ttl)
{
    const char *path = cfg_write(
        "tc.json", "{\"store\":\"memory:\",\n"
                   " \"namespaces\": {\"intents\": {\"ttl\": 100}}}\n");
    tc_options o;

    cfg_opts(&o, 0, NULL);
    ck_assert(cfg_intents_ttl(&o) == 3600);
    setenv("TUTORCACHE_CONFIG", path, 1);
    ck_assert(cfg_intents_ttl(&o) == 100);
    setenv("CACHE_TTL", "200", 1);
    ck_assert(cfg_intents_ttl(&o) == 200);
    o.intents_ttl_ms = 300000;
    ck_assert(cfg_intents_ttl(&o) == 300);
    /* no environment: the file's */
    cfg_opts(&o, TC_OPT_NO_ENV, NULL);
    o.config_path = path;
    ck_assert(cfg_intents_ttl(&o) == 100);
    /* neither: the default */
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, "memory:");
    o.config_path = path;
    ck_assert(cfg_intents_ttl(&o) == 3600);
    /* CACHE_TTL is the intents' TTL and nobody else's */
    cfg_opts(&o, 0, "memory:");
    {
        tc_cache *h = cfg_open(&o);
        cJSON *j = cfg_json(h);

        ck_assert(cfg_ns_ttl(j, "intents") == 200);
        ck_assert(cfg_ns_ttl(j, "ml_model_predictions") == 3600);
        ck_assert(cfg_ns_ttl(j, "diagnostic_results") == 86400);
        cJSON_Delete(j);
        tc_cache_close(h);
    }
}
END_TEST

START_TEST(test_precedence_config_path)
{
    const char *a =
        cfg_write("a.json", "{\"namespaces\":{\"intents\":{\"ttl\":10}}}");
    const char *b =
        cfg_write("b.json", "{\"namespaces\":{\"intents\":{\"ttl\":20}}}");
    tc_options o;

    setenv("TUTORCACHE_CONFIG", a, 1);
    cfg_opts(&o, 0, "memory:");
    ck_assert(cfg_intents_ttl(&o) == 10);
    o.config_path = b;
    ck_assert(cfg_intents_ttl(&o) == 20);
    o.flags = TC_OPT_NO_CONFIG;
    ck_assert(cfg_intents_ttl(&o) == 3600);
}
END_TEST

/* The model file of the CLI: environment over config file, else null. */
START_TEST(test_model_path)
{
    const char *f = cfg_write("m.json", "{\"model\":\"/srv/file.tcm\"}");
    const char *bad = cfg_write("bad.json", "{\"model\":7}");
    tc_options o;
    tc_cache *h;
    cJSON *j;

    cfg_opts(&o, 0, "memory:");
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "model")));
    cJSON_Delete(j);
    tc_cache_close(h);
    o.config_path = f;
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert_str_eq(json_str(j, "model"), "/srv/file.tcm");
    cJSON_Delete(j);
    tc_cache_close(h);
    setenv("TUTORCACHE_MODEL", "/env/m.tcm", 1);
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert_str_eq(json_str(j, "model"), "/env/m.tcm");
    cJSON_Delete(j);
    tc_cache_close(h);
    o.config_path = bad;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "model"));
}
END_TEST

START_TEST(test_options_over_env)
{
    tc_options o;
    tc_cache *h;
    cJSON *j;

    setenv("TUTORCACHE_URL", "memory:", 1);
    setenv("ENABLE_CACHING", "false", 1);
    cfg_opts(&o, 0, NULL);
    o.connect_timeout_ms = 123;
    o.command_timeout_ms = 45;
    o.pool_size = 3;
    o.enable_caching = 1;
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "enable_caching")));
    ck_assert_int_eq((int)json_num(j, "connect_timeout_ms"), 123);
    ck_assert_int_eq((int)json_num(j, "command_timeout_ms"), 45);
    ck_assert_int_eq((int)json_num(j, "pool_size"), 3);
    cJSON_Delete(j);
    tc_cache_close(h);
}
END_TEST

/* TC_OPT_NO_ENV: nothing of the environment leaks in, not even bad values. */
START_TEST(test_no_env)
{
    const char *path = cfg_write("tc.json", "{\"pool_size\": 5}");
    tc_options o;
    tc_cache *h;
    cJSON *j;

    setenv("TUTORCACHE_URL", "ftp://nowhere/", 1);
    setenv("TUTORCACHE_CONFIG", path, 1);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", "99999", 1);
    setenv("CACHE_TTL", "abc", 1);
    setenv("ENABLE_CACHING", "maybe", 1);
    cfg_opts(&o, TC_OPT_NO_ENV, "memory:");
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert_str_eq(json_str(j, "store"), "memory:");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "config_file")));
    ck_assert_int_eq((int)json_num(j, "pool_size"), 8);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "enable_caching")));
    ck_assert(cfg_ns_ttl(j, "intents") == 3600);
    cJSON_Delete(j);
    tc_cache_close(h);
}
END_TEST

/* ---- the original services' variables ------------------------------------ */

static char logbuf[16384];

static void log_collect(void *ud, tc_log_level level, const char *json)
{
    size_t n = strlen(logbuf);

    (void)ud;
    (void)level;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", json);
}

START_TEST(test_redis_env)
{
    /* a password with every character a URL cares about */
    static const char pw[] = "Pa@ss:w/rd?#%41 x";
    char port[16], want[128];
    char *cfg, *stats;
    tc_options o;
    tc_cache *h;
    cJSON *j;

    snprintf(port, sizeof(port), "%d", cfg_dead);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", port, 1);
    setenv("REDIS_DB", "5", 1);
    setenv("REDIS_PASSWORD", pw, 1);
    logbuf[0] = '\0';
    cfg_opts(&o, 0, NULL);
    o.log_fn = log_collect;
    o.log_level = TC_LOG_DEBUG;
    h = cfg_open(&o);
    cfg = cfg_text(h);
    ck_assert_int_eq(tc_cache_stats_json(&stats, h), TC_OK);
    j = cJSON_Parse(cfg);
    ck_assert_ptr_nonnull(j);
    snprintf(want, sizeof(want), "redis://:***@127.0.0.1:%d/5", cfg_dead);
    ck_assert_str_eq(json_str(j, "store"), want);
    ck_assert_str_eq(json_str(j, "store_source"), "REDIS_HOST");
    ck_assert_str_eq(json_str(j, "store_kind"), "redis");
    /* no piece of the password anywhere the library writes */
    ck_assert_msg(!strstr(cfg, "Pa") && !strstr(cfg, "rd") &&
                      !strstr(cfg, "%40"),
                  "password leaked into config_json: %s", cfg);
    ck_assert_msg(!strstr(stats, "Pa") && !strstr(stats, "%40"),
                  "password leaked into stats_json: %s", stats);
    ck_assert_msg(!strstr(logbuf, "Pa@") && !strstr(logbuf, "Pa%40"),
                  "password leaked into the log: %s", logbuf);
    cJSON_Delete(j);
    tc_free(cfg);
    tc_free(stats);
    tc_cache_close(h);

    /* and it is the password the store gets */
    {
        tc__config c;
        tc__err err;

        ck_assert_int_eq(tc__config_load(&c, &o, &err), TC_OK);
        ck_assert_str_eq(c.store.password, pw);
        ck_assert_ptr_null(c.store.user);
        ck_assert_str_eq(c.store.host, "127.0.0.1");
        ck_assert_int_eq(c.store.port, cfg_dead);
        ck_assert_int_eq(c.store.db, 5);
        tc__config_free(&c);
    }

    /* no REDIS_DB: database 0; no password: nothing to mask */
    unsetenv("REDIS_DB");
    unsetenv("REDIS_PASSWORD");
    snprintf(want, sizeof(want), "redis://127.0.0.1:%d/0", cfg_dead);
    cfg_assert_store(&o, want, "REDIS_HOST", "redis");
    /* an IPv6 host gets its brackets */
    setenv("REDIS_HOST", "::1", 1);
    snprintf(want, sizeof(want), "redis://[::1]:%d/0", cfg_dead);
    cfg_assert_store(&o, want, "REDIS_HOST", "redis");
}
END_TEST

START_TEST(test_tutorcache_url_beats_redis_host)
{
    char port[16];

    snprintf(port, sizeof(port), "%d", cfg_dead);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", port, 1);
    setenv("REDIS_PASSWORD", "secret", 1);
    setenv("TUTORCACHE_URL", "memory:", 1);
    cfg_assert_store(NULL, "memory:", "TUTORCACHE_URL", "memory");
}
END_TEST

static int l1_entries(tc_cache *h)
{
    char *s = NULL;
    cJSON *j;
    int n;

    ck_assert_int_eq(tc_cache_stats_json(&s, h), TC_OK);
    j = cJSON_Parse(s);
    ck_assert_ptr_nonnull(j);
    n = (int)json_num(cJSON_GetObjectItem(j, "l1"), "entries");
    cJSON_Delete(j);
    tc_free(s);
    return n;
}

START_TEST(test_enable_caching_false)
{
    static const char *offs[] = {"false", "FALSE", "0", "no", "off"};
    size_t i;

    setenv("TUTORCACHE_URL", "memory:", 1);
    for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        tc_cache *h;
        cJSON *j;
        void *v = NULL;
        size_t len = 0;
        tc_tier tier;
        tc_item it[2];
        tc_ns_stats st;

        setenv("ENABLE_CACHING", offs[i], 1);
        h = cfg_open(NULL);
        j = cfg_json(h);
        ck_assert_msg(cJSON_IsFalse(cJSON_GetObjectItem(j, "enable_caching")),
                      "ENABLE_CACHING=%s", offs[i]);
        cJSON_Delete(j);
        ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
        ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "k", 1),
                         TC_MISS);
        ck_assert_ptr_null(v);
        ck_assert_int_eq(tier, TC_TIER_NONE);
        /* the loader answers every time; nothing is kept */
        cfg_loads = 0;
        ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents",
                                              "g", 1, cfg_count_loader, NULL),
                         TC_OK);
        ck_assert_str_eq(v, "loaded");
        tc_free(v);
        ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents",
                                              "g", 1, cfg_count_loader, NULL),
                         TC_OK);
        tc_free(v);
        ck_assert_int_eq(cfg_loads, 2);
        memset(it, 0, sizeof(it));
        it[0].key = "k";
        it[0].keylen = 1;
        it[0].val = "v";
        it[0].len = 1;
        it[1] = it[0];
        it[1].key = "k2";
        it[1].keylen = 2;
        ck_assert_int_eq(tc_cache_mset(h, "intents", it, 2), TC_OK);
        ck_assert_int_eq(tc_cache_mget(h, "intents", it, 2), TC_OK);
        ck_assert_int_eq(it[0].status, TC_MISS);
        ck_assert_int_eq(it[1].status, TC_MISS);
        ck_assert_int_eq(tc_cache_stats(&st, h, "intents"), TC_OK);
        ck_assert_uint_eq(st.l1_hits, 0);
        ck_assert_msg(st.sets == 0 && l1_entries(h) == 0,
                      "ENABLE_CACHING=%s: %d sets, %d entries in L1", offs[i],
                      (int)st.sets, l1_entries(h));
        tc_cache_close(h);
    }
    /* and "true" caches */
    setenv("ENABLE_CACHING", "true", 1);
    {
        tc_cache *h = cfg_open(NULL);
        void *v = NULL;
        size_t len = 0;

        ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
        ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "intents", "k", 1),
                         TC_OK);
        tc_free(v);
        tc_cache_close(h);
    }
}
END_TEST

/* With caching off, nothing reaches a shared store either. */
START_TEST(test_enable_caching_false_lmdb)
{
    char url[700];
    tc_options o;
    tc_cache *h;
    void *v = NULL;
    size_t len = 0;
    tc_tier tier;

    snprintf(url, sizeof(url), "lmdb://%s/shared", cfg_dir());
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    o.enable_caching = 0;
    h = cfg_open(&o);
    ck_assert_int_eq(tc_cache_set(h, "intents", "s", 1, "v", 1, 0), TC_OK);
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents", "g", 1,
                                          cfg_count_loader, NULL),
                     TC_OK);
    tc_free(v);
    tc_cache_close(h);

    o.enable_caching = 1;
    h = cfg_open(&o);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "s", 1),
                     TC_MISS);
    ck_assert_msg(tc_cache_get(&v, &len, &tier, h, "intents", "g", 1) ==
                      TC_MISS,
                  "get_or_load stored its value with caching off (tier %s)",
                  tc_tier_name(tier));
    tc_free(v);
    tc_cache_close(h);
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("resolve");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_default_store_xdg);
    tcase_add_test(tc, test_default_store_home);
    tcase_add_test(tc, test_precedence_store);
    tcase_add_test(tc, test_precedence_intents_ttl);
    tcase_add_test(tc, test_model_path);
    tcase_add_test(tc, test_precedence_config_path);
    tcase_add_test(tc, test_options_over_env);
    tcase_add_test(tc, test_no_env);
    tcase_add_test(tc, test_redis_env);
    tcase_add_test(tc, test_tutorcache_url_beats_redis_host);
    tcase_add_test(tc, test_enable_caching_false);
    tcase_add_test(tc, test_enable_caching_false_lmdb);
    suite_add_tcase(s, tc);

    suite_config_values(s);
    suite_config_secrets(s);
    return s;
}
