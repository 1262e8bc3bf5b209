/*
 * check_config_values.c - configuration that must be refused, with a
 * message naming the field (and never a password), the namespaces of a
 * config file, and store URLs of every form (IPv6, percent-encoded and
 * '@' passwords, unix sockets). Part of the config suite (check_config.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "config_fixture.h"
#include "suites.h"

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
     NULL, NULL, {"port: not a port", NULL}, 0, -1},
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
     "redis://h:99999", NULL, {"port: not a port (1-65535)", NULL}, 0, -1},
    {"redis://h:0", {{NULL, NULL}},
     "redis://h:0", NULL, {"port", NULL}, 0, -1},
    {"redis://h:", {{NULL, NULL}},
     "redis://h:", NULL, {"port", NULL}, 0, -1},
    {"redis://h/abc", {{NULL, NULL}},
     "redis://h/abc", NULL, {"db: not a database number", NULL}, 0, -1},
    {"redis://h/0?foo=1", {{NULL, NULL}},
     "redis://h/0?foo=1", NULL, {"parameter 1 is none of", NULL}, 0, -1},
    {"redis://h/0?db=x", {{NULL, NULL}},
     "redis://h/0?db=x", NULL, {"db: not a database number", NULL}, 0, -1},
    {"no scheme", {{NULL, NULL}},
     "cache.internal:6379", NULL, {"no known scheme", NULL}, 0, -1},
    {"redis://[::1", {{NULL, NULL}},
     "redis://[::1", NULL, {"[", NULL}, 0, -1},
    {"redis://u:p%4@h", {{NULL, NULL}},
     "redis://u:p%4@h", NULL, {"password", NULL}, 0, -1},
    {"ftp://", {{NULL, NULL}},
     "ftp://example.org/x", NULL, {"scheme", "ftp"}, 0, -1},
    {"lmdb://relative", {{NULL, NULL}},
     "lmdb://relative/dir", NULL, {"lmdb://", "absolute"}, 0, -1},
    {"lmdb://", {{NULL, NULL}},
     "lmdb://", NULL, {"absolute", NULL}, 0, -1},
    {"unix://relative", {{NULL, NULL}},
     "unix://run/redis.sock", NULL, {"absolute", NULL}, 0, -1},
    {"unix:///s?foo=1", {{NULL, NULL}},
     "unix:///run/redis.sock?db=1&foo=1", NULL,
     {"parameter 2 is none of db, user, password", NULL}, 0, -1},
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
    /* the library's own keys are tc:fb:stream, tc:fb:counts, tc:fb:seen:<id> */
    {"new namespace with a reserved prefix", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"x\": {\"prefix\": \"fb\", \"ttl\": 5}}}\n",
     {"namespaces.x.prefix: \"fb\" is reserved", "(reserved: fb)"}, 0, -1},
    {"namespace renamed onto a reserved prefix", {{NULL, NULL}}, NULL,
     "{\"namespaces\": {\"intents\": {\"prefix\": \"fb\"}}}\n",
     {"namespaces.intents.prefix", "reserved"}, 0, -1},
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
    cfg_opts(&o, 0, c->url);
    o.intents_ttl_ms = c->intents_ttl_ms;
    o.enable_caching = c->enable_caching;
    if (c->file) {
        path = cfg_write("bad.json", c->file);
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
        "user:hunter2@127.0.0.1:6379",        "rediz://u:hunter2@h:6379",
        "unix:///s.sock?password=hunter2&x=1"};
    size_t i;

    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        tc_cache *h = NULL;
        tc_options o;
        int rc;

        cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, urls[i]);
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

    snprintf(path, sizeof(path), "%s/does-not-exist.json", cfg_dir());
    cfg_opts(&o, 0, "memory:");
    o.config_path = path;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(tc_errmsg(), path) != NULL, "message \"%s\"",
                  tc_errmsg());
    /* the same through TUTORCACHE_CONFIG */
    setenv("TUTORCACHE_CONFIG", path, 1);
    cfg_opts(&o, 0, "memory:");
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_msg(strstr(tc_errmsg(), path) != NULL, "message \"%s\"",
                  tc_errmsg());
}
END_TEST

/* ---- namespaces ---------------------------------------------------------- */

START_TEST(test_file_namespaces)
{
    const char *path = cfg_write(
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

    cfg_opts(&o, TC_OPT_NO_ENV, NULL);
    o.config_path = path;
    h = cfg_open(&o);
    j = cfg_json(h);
    ck_assert_str_eq(json_str(j, "config_file"), path);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "namespaces")),
                     7);
    ck_assert_str_eq(json_str(cfg_ns(j, "lessons"), "prefix"), "lesson");
    ck_assert(cfg_ns_ttl(j, "lessons") == 60);
    ck_assert(json_num(cfg_ns(j, "lessons"), "l1_ttl") == 30);
    ck_assert_str_eq(json_str(cfg_ns(j, "intents"), "prefix"), "intent");
    ck_assert(cfg_ns_ttl(j, "intents") == 90);
    ck_assert(cfg_ns_ttl(j, "student_profiles") == 1800);
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

/* Only the reserved prefixes themselves are refused: keys are
 * tc:<prefix>:..., so "fbx" or "FB" meet no key of the library. */
START_TEST(test_prefix_near_reserved)
{
    const char *path = cfg_write(
        "ns.json", "{\"namespaces\": {\"x\": {\"prefix\": \"fbx\", "
                   "\"ttl\": 60}, \"y\": {\"prefix\": \"FB\", \"ttl\": 60},"
                   " \"z\": {\"prefix\": \"fb.z\", \"ttl\": 60}}}\n");
    char key[TC_KEY_MAX];
    tc_options o;
    tc_cache *h;

    cfg_opts(&o, TC_OPT_NO_ENV, "memory:");
    o.config_path = path;
    h = cfg_open(&o);
    ck_assert_int_eq(tc_cache_key(key, sizeof(key), h, "x", "k", 1), TC_OK);
    ck_assert_msg(strncmp(key, "tc:fbx:", 7) == 0, "key %s", key);
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

    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, "memory:");
    h = cfg_open(&o);
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
                                          cfg_count_loader, NULL),
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

    snprintf(url, sizeof(url), "redis://[::1]:%d/2", cfg_dead);
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    cfg_assert_store(&o, url, "option", "redis");
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
             cfg_dead);
    snprintf(want, sizeof(want), "redis://user:***@127.0.0.1:%d/3", cfg_dead);
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = cfg_open(&o);
    text = cfg_text(h);
    j = cJSON_Parse(text);
    ck_assert_str_eq(json_str(j, "store"), want);
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
                  "masked URL %s shows part of the password",
                  c.store.url_masked);
    ck_assert_str_eq(c.store.url_masked, "redis://u:***@127.0.0.1:6390/1");
    tc__config_free(&c);

    snprintf(url, sizeof(url), "redis://u:sec@ret@127.0.0.1:%d/1", cfg_dead);
    snprintf(want, sizeof(want), "redis://u:***@127.0.0.1:%d/1", cfg_dead);
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = cfg_open(&o);
    text = cfg_text(h);
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
    snprintf(url, sizeof(url), "unix://%s/nobody.sock?db=3", cfg_dir());
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    cfg_assert_store(&o, url, "option", "redis");
    snprintf(url, sizeof(url), "unix://%s/nobody.sock?password=hush",
             cfg_dir());
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = cfg_open(&o);
    text = cfg_text(h);
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

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", cfg_dead);
    cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
    h = cfg_open(&o);
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

void suite_config_values(Suite *s)
{
    TCase *tc = tcase_create("errors");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
    tcase_add_loop_test(tc, test_bad_values, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_bad_url_hides_password);
    tcase_add_test(tc, test_missing_config_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("namespaces");
    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
    tcase_add_test(tc, test_file_namespaces);
    tcase_add_test(tc, test_unknown_namespace);
    tcase_add_test(tc, test_prefix_near_reserved);
    suite_add_tcase(s, tc);

    tc = tcase_create("urls");
    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
    tcase_add_test(tc, test_url_ipv6);
    tcase_add_test(tc, test_url_redis_forms);
    tcase_add_test(tc, test_url_percent_password);
    tcase_add_test(tc, test_url_password_with_at);
    tcase_add_test(tc, test_url_unix);
    tcase_add_test(tc, test_redis_down_opens_degraded);
    suite_add_tcase(s, tc);
}
