/*
 * check_config.c - how a handle's configuration is resolved: explicit
 * options > environment > config file > defaults, the original services'
 * variables (REDIS_*, CACHE_TTL, ENABLE_CACHING), store URLs of every
 * kind, and bad values rejected with a message naming the field. Results
 * are read back through tc_cache_config_json(). Redis URLs point at
 * loopback ports where nothing listens: the handle opens degraded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "suites.h"

/* Every variable the library reads; cleared before each test. */
static const char *const env_names[] = {"TUTORCACHE_URL", "TUTORCACHE_CONFIG",
                                        "REDIS_HOST",     "REDIS_PORT",
                                        "REDIS_DB",       "REDIS_PASSWORD",
                                        "CACHE_TTL",      "ENABLE_CACHING",
                                        "XDG_CACHE_HOME", "HOME",
                                        "TUTORCACHE_MODEL"};
#define NENV (sizeof(env_names) / sizeof(env_names[0]))

static char *saved_env[NENV];
static char *base; /* the test case's directory, made in the parent */
static char *tmp;  /* this test's directory, inside base */
static int dead;   /* a loopback port where nothing listens */
static char xdg[512], home[512];

/* A port the kernel hands out for port 0, closed again at once. */
static int dead_port(void)
{
    struct sockaddr_in a;
    socklen_t n = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void setup(void)
{
    size_t i;

    for (i = 0; i < NENV; i++) {
        const char *v = getenv(env_names[i]);

        saved_env[i] = v ? strdup(v) : NULL;
        unsetenv(env_names[i]);
    }
    tmp = malloc(strlen(base) + 16);
    ck_assert_ptr_nonnull(tmp);
    sprintf(tmp, "%s/t.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(xdg, sizeof(xdg), "%s/xdg", tmp);
    snprintf(home, sizeof(home), "%s/home", tmp);
    ck_assert_int_eq(mkdir(xdg, 0700), 0);
    ck_assert_int_eq(mkdir(home, 0700), 0);
    /* so that no default store is ever made in the real home */
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", home, 1);
    dead = dead_port();
}

/*
 * The test case's directory is made and removed by the parent process
 * (an unchecked fixture), so a test that fails, whose checked teardown
 * does not run, leaves nothing behind.
 */
static void case_setup(void)
{
    base = tt_mkdtemp();
    if (!base) {
        perror("tt_mkdtemp");
        abort();
    }
}

static void case_teardown(void)
{
    tt_rmtree(base);
    free(base);
    base = NULL;
}

static void teardown(void)
{
    size_t i;

    for (i = 0; i < NENV; i++) {
        if (saved_env[i]) {
            setenv(env_names[i], saved_env[i], 1);
            free(saved_env[i]);
            saved_env[i] = NULL;
        } else {
            unsetenv(env_names[i]);
        }
    }
    tt_rmtree(tmp);
    free(tmp);
    tmp = NULL;
}

/* ---- helpers ----------------------------------------------------------- */

/* Options that keep Redis calls short. */
static void opts(tc_options *o, unsigned flags, const char *url)
{
    tc_options_init(o);
    o->flags = flags;
    o->store_url = url;
    o->connect_timeout_ms = 100;
    o->command_timeout_ms = 100;
}

static tc_cache *open_ok(const tc_options *o)
{
    tc_cache *h = NULL;
    int rc = tc_cache_open(&h, o);

    ck_assert_msg(rc == TC_OK, "open: %s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_nonnull(h);
    return h;
}

static char *config_text(tc_cache *h)
{
    char *s = NULL;

    ck_assert_int_eq(tc_cache_config_json(&s, h), TC_OK);
    ck_assert_ptr_nonnull(s);
    return s;
}

static cJSON *config_of(tc_cache *h)
{
    char *s = config_text(h);
    cJSON *j = cJSON_Parse(s);

    ck_assert_msg(j != NULL, "config_json is not JSON: %s", s);
    tc_free(s);
    return j;
}

static const char *jstr(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

    ck_assert_msg(cJSON_IsString(v), "config_json: %s is not a string", name);
    return v->valuestring;
}

static double jnum(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

    ck_assert_msg(cJSON_IsNumber(v), "config_json: %s is not a number", name);
    return v->valuedouble;
}

static const cJSON *jns(const cJSON *j, const char *ns)
{
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "namespaces");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(all, ns);

    ck_assert_msg(cJSON_IsObject(n), "config_json: no namespace %s", ns);
    return n;
}

static double ns_ttl(const cJSON *j, const char *ns)
{
    return jnum(jns(j, ns), "ttl");
}

/* The store URL and its source, checked in one go. */
static void assert_store(const tc_options *o, const char *url,
                         const char *source, const char *kind)
{
    tc_cache *h = open_ok(o);
    cJSON *j = config_of(h);

    ck_assert_str_eq(jstr(j, "store"), url);
    ck_assert_str_eq(jstr(j, "store_source"), source);
    ck_assert_str_eq(jstr(j, "store_kind"), kind);
    ck_assert_str_eq(tc_cache_store_kind(h), kind);
    cJSON_Delete(j);
    tc_cache_close(h);
}

static double intents_ttl(const tc_options *o)
{
    tc_cache *h = open_ok(o);
    cJSON *j = config_of(h);
    double t = ns_ttl(j, "intents");

    cJSON_Delete(j);
    tc_cache_close(h);
    return t;
}

/* Writes a file in the test's directory; returns its path (static). */
static const char *write_file(const char *name, const char *text)
{
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];
    FILE *fp;

    snprintf(p, sizeof(path[0]), "%s/%s", tmp, name);
    fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
    return p;
}

static int is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

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
    h = open_ok(&o);
    j = config_of(h);
    ck_assert_str_eq(jstr(j, "version"), tc_version());
    ck_assert_str_eq(jstr(j, "store"), "memory:");
    ck_assert_str_eq(jstr(j, "store_source"), "option");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "config_file")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "enable_caching")));
    ck_assert_int_eq((int)jnum(j, "connect_timeout_ms"), 250);
    ck_assert_int_eq((int)jnum(j, "command_timeout_ms"), 250);
    ck_assert_int_eq((int)jnum(j, "pool_size"), 8);
    ck_assert(jnum(j, "l1_max_bytes") == 64.0 * 1024 * 1024);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "namespaces")),
                     6);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const cJSON *n = jns(j, want[i].name);

        ck_assert_str_eq(jstr(n, "prefix"), want[i].prefix);
        ck_assert(jnum(n, "ttl") == want[i].ttl);
        /* with no L2, L1 keeps the namespace's TTL */
        ck_assert(jnum(n, "l1_ttl") == want[i].ttl);
    }
    cJSON_Delete(j);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_default_store_xdg)
{
    char url[700], dir[600];

    snprintf(url, sizeof(url), "lmdb://%s/tutorcache", xdg);
    snprintf(dir, sizeof(dir), "%s/tutorcache", xdg);
    assert_store(NULL, url, "default", "lmdb");
    ck_assert_msg(is_dir(dir), "%s was not created", dir);
}
END_TEST

START_TEST(test_default_store_home)
{
    char url[700], dir[600];

    unsetenv("XDG_CACHE_HOME");
    snprintf(url, sizeof(url), "lmdb://%s/.cache/tutorcache", home);
    snprintf(dir, sizeof(dir), "%s/.cache/tutorcache", home);
    assert_store(NULL, url, "default", "lmdb");
    ck_assert_msg(is_dir(dir), "%s was not created", dir);
    /* a relative XDG_CACHE_HOME is ignored, as the XDG spec says */
    setenv("XDG_CACHE_HOME", "relative/cache", 1);
    assert_store(NULL, url, "default", "lmdb");
}
END_TEST

/* ---- precedence -------------------------------------------------------- */

START_TEST(test_precedence_store)
{
    char file_url[700], env_url[700], redis_url[128], port[16], body[800];
    const char *path;
    tc_options o;

    snprintf(file_url, sizeof(file_url), "lmdb://%s/from-file", tmp);
    snprintf(env_url, sizeof(env_url), "lmdb://%s/from-env", tmp);
    snprintf(body, sizeof(body), "{\"store\": \"%s\"}\n", file_url);
    path = write_file("tc.json", body);

    /* config file over the default */
    setenv("TUTORCACHE_CONFIG", path, 1);
    assert_store(NULL, file_url, "config file", "lmdb");
    {
        tc_cache *h = open_ok(NULL);
        cJSON *j = config_of(h);

        ck_assert_str_eq(jstr(j, "config_file"), path);
        cJSON_Delete(j);
        tc_cache_close(h);
    }
    /* REDIS_HOST over the config file */
    snprintf(port, sizeof(port), "%d", dead);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", port, 1);
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d/0", dead);
    opts(&o, 0, NULL);
    assert_store(&o, redis_url, "REDIS_HOST", "redis");
    /* TUTORCACHE_URL over REDIS_HOST and the file */
    setenv("TUTORCACHE_URL", env_url, 1);
    assert_store(NULL, env_url, "TUTORCACHE_URL", "lmdb");
    /* the option over everything */
    opts(&o, 0, "memory:");
    assert_store(&o, "memory:", "option", "memory");
    /* without the environment, the file given as an option rules */
    opts(&o, TC_OPT_NO_ENV, NULL);
    o.config_path = path;
    assert_store(&o, file_url, "config file", "lmdb");
}
END_TEST

START_TEST(test_precedence_intents_ttl)
{
    const char *path = write_file(
        "tc.json", "{\"store\":\"memory:\",\n"
                   " \"namespaces\": {\"intents\": {\"ttl\": 100}}}\n");
    tc_options o;

    opts(&o, 0, NULL);
    ck_assert(intents_ttl(&o) == 3600);
    setenv("TUTORCACHE_CONFIG", path, 1);
    ck_assert(intents_ttl(&o) == 100);
    setenv("CACHE_TTL", "200", 1);
    ck_assert(intents_ttl(&o) == 200);
    o.intents_ttl_ms = 300000;
    ck_assert(intents_ttl(&o) == 300);
    /* no environment: the file's */
    opts(&o, TC_OPT_NO_ENV, NULL);
    o.config_path = path;
    ck_assert(intents_ttl(&o) == 100);
    /* neither: the default */
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, "memory:");
    o.config_path = path;
    ck_assert(intents_ttl(&o) == 3600);
    /* CACHE_TTL is the intents' TTL and nobody else's */
    opts(&o, 0, "memory:");
    {
        tc_cache *h = open_ok(&o);
        cJSON *j = config_of(h);

        ck_assert(ns_ttl(j, "intents") == 200);
        ck_assert(ns_ttl(j, "ml_model_predictions") == 3600);
        ck_assert(ns_ttl(j, "diagnostic_results") == 86400);
        cJSON_Delete(j);
        tc_cache_close(h);
    }
}
END_TEST

START_TEST(test_precedence_config_path)
{
    const char *a =
        write_file("a.json", "{\"namespaces\":{\"intents\":{\"ttl\":10}}}");
    const char *b =
        write_file("b.json", "{\"namespaces\":{\"intents\":{\"ttl\":20}}}");
    tc_options o;

    setenv("TUTORCACHE_CONFIG", a, 1);
    opts(&o, 0, "memory:");
    ck_assert(intents_ttl(&o) == 10);
    o.config_path = b;
    ck_assert(intents_ttl(&o) == 20);
    o.flags = TC_OPT_NO_CONFIG;
    ck_assert(intents_ttl(&o) == 3600);
}
END_TEST

/* The model file of the CLI: environment over config file, else null. */
START_TEST(test_model_path)
{
    const char *f = write_file("m.json", "{\"model\":\"/srv/file.tcm\"}");
    const char *bad = write_file("bad.json", "{\"model\":7}");
    tc_options o;
    tc_cache *h;
    cJSON *j;

    opts(&o, 0, "memory:");
    h = open_ok(&o);
    j = config_of(h);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "model")));
    cJSON_Delete(j);
    tc_cache_close(h);
    o.config_path = f;
    h = open_ok(&o);
    j = config_of(h);
    ck_assert_str_eq(jstr(j, "model"), "/srv/file.tcm");
    cJSON_Delete(j);
    tc_cache_close(h);
    setenv("TUTORCACHE_MODEL", "/env/m.tcm", 1);
    h = open_ok(&o);
    j = config_of(h);
    ck_assert_str_eq(jstr(j, "model"), "/env/m.tcm");
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
    opts(&o, 0, NULL);
    o.connect_timeout_ms = 123;
    o.command_timeout_ms = 45;
    o.pool_size = 3;
    o.enable_caching = 1;
    h = open_ok(&o);
    j = config_of(h);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "enable_caching")));
    ck_assert_int_eq((int)jnum(j, "connect_timeout_ms"), 123);
    ck_assert_int_eq((int)jnum(j, "command_timeout_ms"), 45);
    ck_assert_int_eq((int)jnum(j, "pool_size"), 3);
    cJSON_Delete(j);
    tc_cache_close(h);
}
END_TEST

/* TC_OPT_NO_ENV: nothing of the environment leaks in, not even bad values. */
START_TEST(test_no_env)
{
    const char *path = write_file("tc.json", "{\"pool_size\": 5}");
    tc_options o;
    tc_cache *h;
    cJSON *j;

    setenv("TUTORCACHE_URL", "ftp://nowhere/", 1);
    setenv("TUTORCACHE_CONFIG", path, 1);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", "99999", 1);
    setenv("CACHE_TTL", "abc", 1);
    setenv("ENABLE_CACHING", "maybe", 1);
    opts(&o, TC_OPT_NO_ENV, "memory:");
    h = open_ok(&o);
    j = config_of(h);
    ck_assert_str_eq(jstr(j, "store"), "memory:");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "config_file")));
    ck_assert_int_eq((int)jnum(j, "pool_size"), 8);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "enable_caching")));
    ck_assert(ns_ttl(j, "intents") == 3600);
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

    snprintf(port, sizeof(port), "%d", dead);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", port, 1);
    setenv("REDIS_DB", "5", 1);
    setenv("REDIS_PASSWORD", pw, 1);
    logbuf[0] = '\0';
    opts(&o, 0, NULL);
    o.log_fn = log_collect;
    o.log_level = TC_LOG_DEBUG;
    h = open_ok(&o);
    cfg = config_text(h);
    ck_assert_int_eq(tc_cache_stats_json(&stats, h), TC_OK);
    j = cJSON_Parse(cfg);
    ck_assert_ptr_nonnull(j);
    snprintf(want, sizeof(want), "redis://:***@127.0.0.1:%d/5", dead);
    ck_assert_str_eq(jstr(j, "store"), want);
    ck_assert_str_eq(jstr(j, "store_source"), "REDIS_HOST");
    ck_assert_str_eq(jstr(j, "store_kind"), "redis");
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
        ck_assert_int_eq(c.store.port, dead);
        ck_assert_int_eq(c.store.db, 5);
        tc__config_free(&c);
    }

    /* no REDIS_DB: database 0; no password: nothing to mask */
    unsetenv("REDIS_DB");
    unsetenv("REDIS_PASSWORD");
    snprintf(want, sizeof(want), "redis://127.0.0.1:%d/0", dead);
    assert_store(&o, want, "REDIS_HOST", "redis");
    /* an IPv6 host gets its brackets */
    setenv("REDIS_HOST", "::1", 1);
    snprintf(want, sizeof(want), "redis://[::1]:%d/0", dead);
    assert_store(&o, want, "REDIS_HOST", "redis");
}
END_TEST

START_TEST(test_tutorcache_url_beats_redis_host)
{
    char port[16];

    snprintf(port, sizeof(port), "%d", dead);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", port, 1);
    setenv("REDIS_PASSWORD", "secret", 1);
    setenv("TUTORCACHE_URL", "memory:", 1);
    assert_store(NULL, "memory:", "TUTORCACHE_URL", "memory");
}
END_TEST

static int loads;

static int count_loader(void **val, size_t *len, int64_t *ttl_ms,
                        const char *ns, const void *key, size_t keylen,
                        void *ud)
{
    (void)ttl_ms;
    (void)ns;
    (void)key;
    (void)keylen;
    (void)ud;
    loads++;
    *val = tc_malloc(6);
    if (!*val) {
        return TC_ENOMEM;
    }
    memcpy(*val, "loaded", 6);
    *len = 6;
    return TC_OK;
}

static int l1_entries(tc_cache *h)
{
    char *s = NULL;
    cJSON *j;
    int n;

    ck_assert_int_eq(tc_cache_stats_json(&s, h), TC_OK);
    j = cJSON_Parse(s);
    ck_assert_ptr_nonnull(j);
    n = (int)jnum(cJSON_GetObjectItem(j, "l1"), "entries");
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
        h = open_ok(NULL);
        j = config_of(h);
        ck_assert_msg(cJSON_IsFalse(cJSON_GetObjectItem(j, "enable_caching")),
                      "ENABLE_CACHING=%s", offs[i]);
        cJSON_Delete(j);
        ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
        ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "k", 1),
                         TC_MISS);
        ck_assert_ptr_null(v);
        ck_assert_int_eq(tier, TC_TIER_NONE);
        /* the loader answers every time; nothing is kept */
        loads = 0;
        ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents",
                                              "g", 1, count_loader, NULL),
                         TC_OK);
        ck_assert_str_eq(v, "loaded");
        tc_free(v);
        ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents",
                                              "g", 1, count_loader, NULL),
                         TC_OK);
        tc_free(v);
        ck_assert_int_eq(loads, 2);
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
        tc_cache *h = open_ok(NULL);
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

    snprintf(url, sizeof(url), "lmdb://%s/shared", tmp);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    o.enable_caching = 0;
    h = open_ok(&o);
    ck_assert_int_eq(tc_cache_set(h, "intents", "s", 1, "v", 1, 0), TC_OK);
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, &tier, h, "intents", "g", 1,
                                          count_loader, NULL),
                     TC_OK);
    tc_free(v);
    tc_cache_close(h);

    o.enable_caching = 1;
    h = open_ok(&o);
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

/* ---- bad values ---------------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    const char *env[3][2]; /* name, value */
    const char *url;       /* option */
    const char *file;      /* config file text */
    const char *want[2];   /* substrings of the message; "@PATH" the file */
    int64_t intents_ttl_ms;
    int enable_caching;
} bad_case;

/* clang-format off */
static const bad_case bad_cases[] = {
    /* the environment */
    {"REDIS_PORT=99999", {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", "99999"}},
     NULL, NULL, {"REDIS_PORT", "99999"}, 0, -1},
    {"REDIS_PORT=0", {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", "0"}},
     NULL, NULL, {"REDIS_PORT", NULL}, 0, -1},
    {"REDIS_PORT=http", {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", "http"}},
     NULL, NULL, {"REDIS_PORT", NULL}, 0, -1},
    {"REDIS_DB=-1", {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_DB", "-1"}},
     NULL, NULL, {"REDIS_DB", NULL}, 0, -1},
    {"TUTORCACHE_URL redis://h:99999", {{"TUTORCACHE_URL", "redis://h:99999"}},
     NULL, NULL, {"port", "99999"}, 0, -1},
    {"TUTORCACHE_URL ftp://", {{"TUTORCACHE_URL", "ftp://example.org/x"}},
     NULL, NULL, {"scheme", "ftp"}, 0, -1},
    {"CACHE_TTL=-5", {{"CACHE_TTL", "-5"}},
     "memory:", NULL, {"CACHE_TTL", "-5"}, 0, -1},
    {"CACHE_TTL=abc", {{"CACHE_TTL", "abc"}},
     "memory:", NULL, {"CACHE_TTL", "abc"}, 0, -1},
    {"CACHE_TTL=0", {{"CACHE_TTL", "0"}},
     "memory:", NULL, {"CACHE_TTL", NULL}, 0, -1},
    {"CACHE_TTL=10s", {{"CACHE_TTL", "10s"}},
     "memory:", NULL, {"CACHE_TTL", NULL}, 0, -1},
    {"ENABLE_CACHING=maybe", {{"ENABLE_CACHING", "maybe"}},
     "memory:", NULL, {"ENABLE_CACHING", "maybe"}, 0, -1},

    /* store URLs given as options */
    {"redis://h:99999", {{NULL, NULL}},
     "redis://h:99999", NULL, {"port", "99999"}, 0, -1},
    {"redis://h:0", {{NULL, NULL}},
     "redis://h:0", NULL, {"port", NULL}, 0, -1},
    {"redis://h:", {{NULL, NULL}},
     "redis://h:", NULL, {"port", NULL}, 0, -1},
    {"redis://h/abc", {{NULL, NULL}},
     "redis://h/abc", NULL, {"db", "abc"}, 0, -1},
    {"redis://[::1", {{NULL, NULL}},
     "redis://[::1", NULL, {"[", NULL}, 0, -1},
    {"redis://u:p%4@h", {{NULL, NULL}},
     "redis://u:p%4@h", NULL, {"password", NULL}, 0, -1},
    {"ftp://", {{NULL, NULL}},
     "ftp://example.org/x", NULL, {"scheme", "ftp"}, 0, -1},
    {"lmdb://relative", {{NULL, NULL}},
     "lmdb://relative/dir", NULL, {"lmdb://relative/dir", "absolute"}, 0, -1},
    {"lmdb://", {{NULL, NULL}},
     "lmdb://", NULL, {"absolute", NULL}, 0, -1},
    {"unix://relative", {{NULL, NULL}},
     "unix://run/redis.sock", NULL, {"absolute", NULL}, 0, -1},
    {"unix:///s?foo=1", {{NULL, NULL}},
     "unix:///run/redis.sock?foo=1", NULL, {"foo", NULL}, 0, -1},
    {"unix:///s?db=x", {{NULL, NULL}},
     "unix:///run/redis.sock?db=x", NULL, {"db", NULL}, 0, -1},

    /* other options */
    {"option intents_ttl_ms=-5", {{NULL, NULL}},
     "memory:", NULL, {"intents_ttl_ms", NULL}, -5, -1},
    {"option enable_caching=7", {{NULL, NULL}},
     "memory:", NULL, {"enable_caching", NULL}, 0, 7},

    /* the config file */
    {"malformed JSON", {{NULL, NULL}}, NULL,
     "{\n  \"store\": \"memory:\",\n  \"pool_size\": ,\n  \"x\": 1\n}\n",
     {"@PATH", ":3"}, 0, -1},
    {"malformed JSON, line 1", {{NULL, NULL}}, NULL,
     "store = memory:\n", {"@PATH", ":1"}, 0, -1},
    {"JSON with trailing garbage", {{NULL, NULL}}, NULL,
     "{\"store\": \"memory:\"}\n}\n", {"@PATH", ":2"}, 0, -1},
    {"config file not an object", {{NULL, NULL}}, NULL,
     "[1, 2]\n", {"@PATH", "object"}, 0, -1},
    {"unknown field", {{NULL, NULL}}, NULL,
     "{\"stroe\": \"memory:\"}\n", {"@PATH", "stroe"}, 0, -1},
    {"store not a string", {{NULL, NULL}}, NULL,
     "{\"store\": 5}\n", {"store", NULL}, 0, -1},
    {"store in the file: unknown scheme", {{NULL, NULL}}, NULL,
     "{\"store\": \"ftp://x\"}\n", {"scheme", "ftp"}, 0, -1},
    {"pool_size 0", {{NULL, NULL}}, NULL,
     "{\"pool_size\": 0}\n", {"pool_size", NULL}, 0, -1},
    {"enable_caching \"yes\"", {{NULL, NULL}}, NULL,
     "{\"enable_caching\": \"yes\"}\n", {"enable_caching", NULL}, 0, -1},
    {"connect_timeout_ms 1.5", {{NULL, NULL}}, NULL,
     "{\"connect_timeout_ms\": 1.5}\n", {"connect_timeout_ms", NULL}, 0, -1},
    {"namespaces.intents.ttl -5", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"intents\": {\"ttl\": -5}}}\n",
     {"namespaces.intents.ttl", NULL}, 0, -1},
    {"namespaces.x.ttl -5", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"x\": {\"prefix\": \"x\", \"ttl\": -5}}}\n",
     {"namespaces.x.ttl", NULL}, 0, -1},
    {"namespaces.x.ttl \"60\"", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"x\": {\"prefix\": \"x\", \"ttl\": \"60\"}}}\n",
     {"namespaces.x.ttl", NULL}, 0, -1},
    {"new namespace without prefix", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"lessons\": {\"ttl\": 60}}}\n",
     {"namespaces.lessons", "prefix"}, 0, -1},
    {"new namespace without ttl", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"lessons\": {\"prefix\": \"lesson\"}}}\n",
     {"namespaces.lessons", "ttl"}, 0, -1},
    {"namespace unknown field", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"intents\": {\"tll\": 5}}}\n",
     {"namespaces.intents", "tll"}, 0, -1},
    {"namespace prefix with a colon", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"x\": {\"prefix\": \"a:b\", \"ttl\": 5}}}\n",
     {"namespaces.x.prefix", NULL}, 0, -1},
    /*
     * Keys are tc:<prefix>:<hash of prefix and key>, so two namespaces with
     * one prefix would read and overwrite each other's entries.
     */
    {"new namespace with a prefix already used", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"x\": {\"prefix\": \"intent\", \"ttl\": 5}}}\n",
     {"namespaces.x.prefix", NULL}, 0, -1},
    {"namespace renamed onto another's prefix", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"adaptive_paths\": {\"prefix\": \"diag\"}}}\n",
     {"namespaces.adaptive_paths.prefix", NULL}, 0, -1},
};
/* clang-format on */

START_TEST(test_bad_values)
{
    const bad_case *c = &bad_cases[_i];
    const char *path = NULL;
    char msg[512];
    tc_cache *h = (tc_cache *)msg;
    tc_options o;
    size_t k;
    int rc;

    for (k = 0; k < 3 && c->env[k][0]; k++) {
        setenv(c->env[k][0], c->env[k][1], 1);
    }
    opts(&o, 0, c->url);
    o.intents_ttl_ms = c->intents_ttl_ms;
    o.enable_caching = c->enable_caching;
    if (c->file) {
        path = write_file("bad.json", c->file);
        o.config_path = path;
    }
    rc = tc_cache_open(&h, &o);
    ck_assert_msg(rc == TC_ECONFIG, "%s: open returned %s (%s)", c->what,
                  tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(h);
    for (k = 0; k < 2 && c->want[k]; k++) {
        const char *w = strcmp(c->want[k], "@PATH") == 0 ? path : c->want[k];

        ck_assert_msg(strstr(tc_errmsg(), w) != NULL,
                      "%s: message \"%s\" does not name \"%s\"", c->what,
                      tc_errmsg(), w);
    }
    /* the same open again: the same message, not one added to the last */
    ck_assert_uint_lt(strlen(tc_errmsg()), sizeof(msg));
    snprintf(msg, sizeof(msg), "%s", tc_errmsg());
    h = (tc_cache *)msg;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_null(h);
    ck_assert_str_eq(tc_errmsg(), msg);
}
END_TEST

/* A URL that is wrong is reported without the password it carries. */
START_TEST(test_bad_url_hides_password)
{
    static const char *urls[] = {
        "redis://u:hunter2@[::1:6379/0",      "redis://u:hunter2@[::1]x:6379/0",
        "redis://u:hunter2@h:99999/0",        "redis://u:hunter2@h:6379/abc",
        "user:hunter2@127.0.0.1:6379",        "rediss://u:hunter2@h:6379",
        "unix:///s.sock?password=hunter2&x=1"};
    size_t i;

    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        tc_cache *h = NULL;
        tc_options o;
        int rc;

        opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, urls[i]);
        rc = tc_cache_open(&h, &o);
        ck_assert_msg(rc == TC_ECONFIG, "%s: %s", urls[i], tc_error_name(rc));
        ck_assert_msg(strstr(tc_errmsg(), "hunter2") == NULL,
                      "%s: the message shows the password: %s", urls[i],
                      tc_errmsg());
        ck_assert_msg(tc_errmsg()[0] != '\0', "%s: no message", urls[i]);
    }
}
END_TEST

START_TEST(test_missing_config_file)
{
    char path[600];
    tc_cache *h = NULL;
    tc_options o;

    snprintf(path, sizeof(path), "%s/does-not-exist.json", tmp);
    opts(&o, 0, "memory:");
    o.config_path = path;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(tc_errmsg(), path) != NULL, "message \"%s\"",
                  tc_errmsg());
    /* the same through TUTORCACHE_CONFIG */
    setenv("TUTORCACHE_CONFIG", path, 1);
    opts(&o, 0, "memory:");
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_msg(strstr(tc_errmsg(), path) != NULL, "message \"%s\"",
                  tc_errmsg());
}
END_TEST

/* ---- namespaces ---------------------------------------------------------- */

START_TEST(test_file_namespaces)
{
    const char *path = write_file(
        "ns.json", "{\n"
                   "  \"store\": \"memory:\",\n"
                   "  \"namespaces\": {\n"
                   "    \"lessons\": {\"prefix\": \"lesson\", \"ttl\": 60,\n"
                   "                \"l1_ttl\": 30},\n"
                   "    \"intents\": {\"ttl\": 90}\n"
                   "  }\n"
                   "}\n");
    char key[TC_KEY_MAX];
    tc_ns_stats st;
    tc_options o;
    tc_cache *h;
    tc_tier tier;
    void *v = NULL;
    size_t len = 0;
    cJSON *j;

    opts(&o, TC_OPT_NO_ENV, NULL);
    o.config_path = path;
    h = open_ok(&o);
    j = config_of(h);
    ck_assert_str_eq(jstr(j, "config_file"), path);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "namespaces")),
                     7);
    ck_assert_str_eq(jstr(jns(j, "lessons"), "prefix"), "lesson");
    ck_assert(ns_ttl(j, "lessons") == 60);
    ck_assert(jnum(jns(j, "lessons"), "l1_ttl") == 30);
    ck_assert_str_eq(jstr(jns(j, "intents"), "prefix"), "intent");
    ck_assert(ns_ttl(j, "intents") == 90);
    ck_assert(ns_ttl(j, "student_profiles") == 1800);
    cJSON_Delete(j);

    /* the new namespace works like the others */
    ck_assert_int_eq(tc_cache_set(h, "lessons", "l1", 2, "algebra", 7, 0),
                     TC_OK);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "lessons", "l1", 2),
                     TC_OK);
    ck_assert_uint_eq(len, 7);
    ck_assert_str_eq(v, "algebra");
    ck_assert_int_eq(tier, TC_TIER_L1);
    tc_free(v);
    ck_assert_int_eq(tc_cache_key(key, sizeof(key), h, "lessons", "l1", 2),
                     TC_OK);
    ck_assert_msg(strncmp(key, "tc:lesson:", 10) == 0, "key %s", key);
    ck_assert_int_eq(tc_cache_stats(&st, h, "lessons"), TC_OK);
    ck_assert_uint_eq(st.sets, 1);
    ck_assert_uint_eq(st.l1_hits, 1);
    /* the same key in another namespace is another entry */
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "l1", 2),
                     TC_MISS);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_unknown_namespace)
{
    tc_options o;
    tc_cache *h;
    void *v = NULL;
    size_t len = 0;
    tc_item it;
    tc_ns_stats st;
    char key[TC_KEY_MAX];

    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, "memory:");
    h = open_ok(&o);
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "lesson", "k", 1),
                     TC_ENONS);
    ck_assert_msg(strstr(tc_errmsg(), "lesson") != NULL, "message \"%s\"",
                  tc_errmsg());
    ck_assert_int_eq(tc_cache_set(h, "lesson", "k", 1, "v", 1, 0), TC_ENONS);
    ck_assert_msg(strstr(tc_errmsg(), "lesson") != NULL, "message \"%s\"",
                  tc_errmsg());
    /* a prefix is not a namespace name, nor is a different case */
    ck_assert_int_eq(tc_cache_set(h, "intent", "k", 1, "v", 1, 0), TC_ENONS);
    ck_assert_int_eq(tc_cache_set(h, "Intents", "k", 1, "v", 1, 0), TC_ENONS);
    ck_assert_int_eq(tc_cache_set(h, "", "k", 1, "v", 1, 0), TC_ENONS);
    ck_assert_int_eq(tc_cache_del(h, "lesson", "k", 1), TC_ENONS);
    ck_assert_int_eq(tc_cache_get_or_load(&v, &len, NULL, h, "lesson", "k", 1,
                                          count_loader, NULL),
                     TC_ENONS);
    memset(&it, 0, sizeof(it));
    it.key = "k";
    it.keylen = 1;
    ck_assert_int_eq(tc_cache_mget(h, "lesson", &it, 1), TC_ENONS);
    it.val = "v";
    it.len = 1;
    ck_assert_int_eq(tc_cache_mset(h, "lesson", &it, 1), TC_ENONS);
    ck_assert_int_eq(tc_cache_stats(&st, h, "lesson"), TC_ENONS);
    ck_assert_int_eq(tc_cache_invalidate(h, "lesson"), TC_ENONS);
    ck_assert_int_eq(tc_cache_key(key, sizeof(key), h, "lesson", "k", 1),
                     TC_ENONS);
    tc_cache_close(h);
}
END_TEST

/* ---- store URLs ---------------------------------------------------------- */

/* Parses url into a fresh config; the caller frees it. */
static void parse(tc__config *c, const char *url)
{
    tc__err err;
    int rc;

    memset(c, 0, sizeof(*c));
    err.msg[0] = '\0';
    rc = tc__config_parse_url(c, url, &err);
    ck_assert_msg(rc == TC_OK, "%s: %s", url, err.msg);
}

START_TEST(test_url_ipv6)
{
    char url[128];
    tc__config c;
    tc_options o;

    parse(&c, "redis://[::1]:6380/2");
    ck_assert_int_eq(c.store.kind, TC__STORE_REDIS);
    ck_assert_str_eq(c.store.host, "::1");
    ck_assert_int_eq(c.store.port, 6380);
    ck_assert_int_eq(c.store.db, 2);
    ck_assert_ptr_null(c.store.password);
    ck_assert_str_eq(c.store.url_masked, "redis://[::1]:6380/2");
    tc__config_free(&c);
    parse(&c, "redis://:pw@[2001:db8::1]/4");
    ck_assert_str_eq(c.store.host, "2001:db8::1");
    ck_assert_int_eq(c.store.port, 6379);
    ck_assert_int_eq(c.store.db, 4);
    ck_assert_str_eq(c.store.password, "pw");
    ck_assert_str_eq(c.store.url_masked, "redis://:***@[2001:db8::1]/4");
    tc__config_free(&c);

    snprintf(url, sizeof(url), "redis://[::1]:%d/2", dead);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    assert_store(&o, url, "option", "redis");
}
END_TEST

START_TEST(test_url_redis_forms)
{
    tc__config c;

    parse(&c, "redis://");
    ck_assert_str_eq(c.store.host, "127.0.0.1");
    ck_assert_int_eq(c.store.port, 6379);
    ck_assert_int_eq(c.store.db, 0);
    tc__config_free(&c);
    parse(&c, "redis://cache.example:7000");
    ck_assert_str_eq(c.store.host, "cache.example");
    ck_assert_int_eq(c.store.port, 7000);
    tc__config_free(&c);
    /* an ACL user with a password */
    parse(&c, "redis://alice:wonder@h:6390/7");
    ck_assert_str_eq(c.store.user, "alice");
    ck_assert_str_eq(c.store.password, "wonder");
    ck_assert_str_eq(c.store.host, "h");
    ck_assert_int_eq(c.store.port, 6390);
    ck_assert_int_eq(c.store.db, 7);
    ck_assert_str_eq(c.store.url_masked, "redis://alice:***@h:6390/7");
    tc__config_free(&c);
    /* a user and no password: nothing to mask */
    parse(&c, "redis://bob@h");
    ck_assert_str_eq(c.store.user, "bob");
    ck_assert_ptr_null(c.store.password);
    ck_assert_str_eq(c.store.url_masked, "redis://bob@h");
    tc__config_free(&c);
    /* LMDB and memory */
    parse(&c, "lmdb:///var/cache/tc");
    ck_assert_int_eq(c.store.kind, TC__STORE_LMDB);
    ck_assert_str_eq(c.store.dir, "/var/cache/tc");
    tc__config_free(&c);
    parse(&c, "memory:");
    ck_assert_int_eq(c.store.kind, TC__STORE_MEMORY);
    tc__config_free(&c);
}
END_TEST

START_TEST(test_url_percent_password)
{
    char url[160], want[160];
    char *text;
    tc__config c;
    tc_options o;
    tc_cache *h;
    cJSON *j;

    parse(&c, "redis://us%65r:p%40ss%3Aw0rd%2F@127.0.0.1:6390/3");
    ck_assert_str_eq(c.store.user, "user");
    ck_assert_str_eq(c.store.password, "p@ss:w0rd/");
    ck_assert_str_eq(c.store.host, "127.0.0.1");
    ck_assert_int_eq(c.store.port, 6390);
    ck_assert_int_eq(c.store.db, 3);
    ck_assert_str_eq(c.store.url_masked, "redis://us%65r:***@127.0.0.1:6390/3");
    tc__config_free(&c);

    snprintf(url, sizeof(url), "redis://user:p%%40ss%%3Aw0rd@127.0.0.1:%d/3",
             dead);
    snprintf(want, sizeof(want), "redis://user:***@127.0.0.1:%d/3", dead);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = open_ok(&o);
    text = config_text(h);
    j = cJSON_Parse(text);
    ck_assert_str_eq(jstr(j, "store"), want);
    ck_assert_msg(!strstr(text, "w0rd") && !strstr(text, "p%40ss"),
                  "password leaked: %s", text);
    cJSON_Delete(j);
    tc_free(text);
    tc_cache_close(h);
}
END_TEST

/*
 * The parser takes the last '@' as the end of the user info, so an
 * unencoded '@' in a password works; the mask must hide all of it.
 */
START_TEST(test_url_password_with_at)
{
    char url[160], want[160];
    char *text;
    tc__config c;
    tc_options o;
    tc_cache *h;

    parse(&c, "redis://u:sec@ret@127.0.0.1:6390/1");
    ck_assert_str_eq(c.store.user, "u");
    ck_assert_str_eq(c.store.password, "sec@ret");
    ck_assert_str_eq(c.store.host, "127.0.0.1");
    ck_assert_msg(strstr(c.store.url_masked, "ret") == NULL,
                  "masked URL %s shows part of the password", c.store.url_masked);
    ck_assert_str_eq(c.store.url_masked, "redis://u:***@127.0.0.1:6390/1");
    tc__config_free(&c);

    snprintf(url, sizeof(url), "redis://u:sec@ret@127.0.0.1:%d/1", dead);
    snprintf(want, sizeof(want), "redis://u:***@127.0.0.1:%d/1", dead);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = open_ok(&o);
    text = config_text(h);
    ck_assert_msg(strstr(text, "ret@") == NULL, "password leaked: %s", text);
    tc_free(text);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_url_unix)
{
    char url[700];
    char *text;
    tc__config c;
    tc_options o;
    tc_cache *h;

    parse(&c, "unix:///run/redis/redis.sock?db=3");
    ck_assert_int_eq(c.store.kind, TC__STORE_REDIS);
    ck_assert_str_eq(c.store.unix_path, "/run/redis/redis.sock");
    ck_assert_int_eq(c.store.db, 3);
    ck_assert_ptr_null(c.store.password);
    ck_assert_str_eq(c.store.url_masked, "unix:///run/redis/redis.sock?db=3");
    tc__config_free(&c);
    parse(&c, "unix:///run/redis.sock");
    ck_assert_str_eq(c.store.unix_path, "/run/redis.sock");
    ck_assert_int_eq(c.store.db, 0);
    tc__config_free(&c);
    parse(&c, "unix:///run/r.sock?db=3&user=al&password=s3cr%21t");
    ck_assert_str_eq(c.store.unix_path, "/run/r.sock");
    ck_assert_int_eq(c.store.db, 3);
    ck_assert_str_eq(c.store.user, "al");
    ck_assert_str_eq(c.store.password, "s3cr!t");
    ck_assert_msg(strstr(c.store.url_masked, "s3cr") == NULL, "masked %s",
                  c.store.url_masked);
    ck_assert_str_eq(c.store.url_masked,
                     "unix:///run/r.sock?db=3&user=al&password=***");
    tc__config_free(&c);

    /* a socket nobody listens on: the handle opens degraded */
    snprintf(url, sizeof(url), "unix://%s/nobody.sock?db=3", tmp);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    assert_store(&o, url, "option", "redis");
    snprintf(url, sizeof(url), "unix://%s/nobody.sock?password=hush", tmp);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = open_ok(&o);
    text = config_text(h);
    ck_assert_msg(strstr(text, "hush") == NULL, "password leaked: %s", text);
    tc_free(text);
    tc_cache_close(h);
}
END_TEST

/* A Redis store that is down opens degraded and still answers. */
START_TEST(test_redis_down_opens_degraded)
{
    char url[64];
    tc_options o;
    tc_cache *h;
    void *v = NULL;
    size_t len = 0;
    tc_tier tier;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", dead);
    opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = open_ok(&o);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "k", 1),
                     TC_MISS);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "k", 1),
                     TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L1);
    tc_free(v);
    tc_cache_close(h);
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("resolve");

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
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

    tc = tcase_create("errors");
    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_bad_values, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_bad_url_hides_password);
    tcase_add_test(tc, test_missing_config_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("namespaces");
    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_file_namespaces);
    tcase_add_test(tc, test_unknown_namespace);
    suite_add_tcase(s, tc);

    tc = tcase_create("urls");
    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_url_ipv6);
    tcase_add_test(tc, test_url_redis_forms);
    tcase_add_test(tc, test_url_percent_password);
    tcase_add_test(tc, test_url_password_with_at);
    tcase_add_test(tc, test_url_unix);
    tcase_add_test(tc, test_redis_down_opens_degraded);
    suite_add_tcase(s, tc);
    return s;
}
