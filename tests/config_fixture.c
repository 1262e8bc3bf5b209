/*
 * config_fixture.c - the config suite's fixture and helpers (see
 * config_fixture.h). The environment is cleared before each test so that
 * a developer's REDIS_HOST or TUTORCACHE_URL cannot change what a test
 * means, and put back after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_fixture.h"

/* Every variable the library reads; cleared before each test. */
static const char *const env_names[] = {
    "TUTORCACHE_URL", "TUTORCACHE_CONFIG", "REDIS_HOST",
    "REDIS_PORT",     "REDIS_DB",          "REDIS_PASSWORD",
    "CACHE_TTL",      "ENABLE_CACHING",    "XDG_CACHE_HOME",
    "HOME",           "TUTORCACHE_MODEL"};
#define NENV (sizeof(env_names) / sizeof(env_names[0]))

static char *saved_env[NENV];
static char *tmp; /* this test's directory, inside the case's */
char cfg_xdg[512], cfg_home[512];
int cfg_dead;
int cfg_loads;

void cfg_setup(void)
{
    size_t i;

    for (i = 0; i < NENV; i++) {
        const char *v = getenv(env_names[i]);

        saved_env[i] = v ? strdup(v) : NULL;
        unsetenv(env_names[i]);
    }
    tmp = tt_test_dir();
    ck_assert_ptr_nonnull(tmp);
    snprintf(cfg_xdg, sizeof(cfg_xdg), "%s/xdg", tmp);
    snprintf(cfg_home, sizeof(cfg_home), "%s/home", tmp);
    ck_assert_int_eq(mkdir(cfg_xdg, 0700), 0);
    ck_assert_int_eq(mkdir(cfg_home, 0700), 0);
    /* so that no default store is ever made in the real home */
    setenv("XDG_CACHE_HOME", cfg_xdg, 1);
    setenv("HOME", cfg_home, 1);
    cfg_dead = tt_free_port();
    ck_assert_int_gt(cfg_dead, 0);
}

void cfg_teardown(void)
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

const char *cfg_dir(void)
{
    return tmp;
}

void cfg_opts(tc_options *o, unsigned flags, const char *url)
{
    tc_options_init(o);
    o->flags = flags;
    o->store_url = url;
    o->connect_timeout_ms = 100;
    o->command_timeout_ms = 100;
}

tc_cache *cfg_open(const tc_options *o)
{
    tc_cache *h = NULL;
    int rc = tc_cache_open(&h, o);

    ck_assert_msg(rc == TC_OK, "open: %s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_nonnull(h);
    return h;
}

char *cfg_text(tc_cache *h)
{
    char *s = NULL;

    ck_assert_int_eq(tc_cache_config_json(&s, h), TC_OK);
    ck_assert_ptr_nonnull(s);
    return s;
}

cJSON *cfg_json(tc_cache *h)
{
    char *s = cfg_text(h);
    cJSON *j = cJSON_Parse(s);

    ck_assert_msg(j != NULL, "config_json is not JSON: %s", s);
    tc_free(s);
    return j;
}

const cJSON *cfg_ns(const cJSON *j, const char *ns)
{
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "namespaces");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(all, ns);

    ck_assert_msg(cJSON_IsObject(n), "config_json: no namespace %s", ns);
    return n;
}

double cfg_ns_ttl(const cJSON *j, const char *ns)
{
    return json_num(cfg_ns(j, ns), "ttl");
}

void cfg_assert_store(const tc_options *o, const char *url, const char *source,
                      const char *kind)
{
    tc_cache *h = cfg_open(o);
    cJSON *j = cfg_json(h);

    ck_assert_str_eq(json_str(j, "store"), url);
    ck_assert_str_eq(json_str(j, "store_source"), source);
    ck_assert_str_eq(json_str(j, "store_kind"), kind);
    ck_assert_str_eq(tc_cache_store_kind(h), kind);
    cJSON_Delete(j);
    tc_cache_close(h);
}

double cfg_intents_ttl(const tc_options *o)
{
    tc_cache *h = cfg_open(o);
    cJSON *j = cfg_json(h);
    double t = cfg_ns_ttl(j, "intents");

    cJSON_Delete(j);
    tc_cache_close(h);
    return t;
}

const char *cfg_write(const char *name, const char *text)
{
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof(path[0]), "%s/%s", tmp, name);
    tt_write_file(p, text, 0644);
    return p;
}

int cfg_is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cfg_count_loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                     const void *key, size_t keylen, void *ud)
{
    (void)ttl_ms;
    (void)ns;
    (void)key;
    (void)keylen;
    (void)ud;
    cfg_loads++;
    *val = tc_malloc(6);
    if (!*val) {
        return TC_ENOMEM;
    }
    memcpy(*val, "loaded", 6);
    *len = 6;
    return TC_OK;
}
