/*
 * check_config_secrets.c - store URLs keep their secrets: the issue's two
 * URLs, whose passwords hold '/', parse with the password whole; each
 * malformed part of a URL gets a message that names the part and quotes
 * no text of the URL; the masked form and the log lines of a handle whose
 * store is down show no password, wherever the URL carried it. Part of
 * the config suite (check_config.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "config_fixture.h"

/*
 * Whether text holds w consecutive bytes of secret (any longer echo holds
 * such a window). A window that the program's own words spell cannot be
 * told from an echo ("ail" of "SecretTail" in "detail"), so messages are
 * compared whole too, and log lines, full of words, in wider windows.
 */
static int holds_window(const char *text, const char *secret, size_t w)
{
    size_t n = strlen(secret), i;

    for (i = 0; i + w <= n; i++) {
        if (memmem(text, strlen(text), secret + i, w)) {
            return 1;
        }
    }
    return 0;
}

/* ---- parsed URLs and their masked forms -----------------------------------
 */

/*
 * The user info ends at the URL's last '@': a '/' in a password no longer
 * cuts it into a host, a port and a db (the issue's two URLs, first), and
 * the masked form hides the password wherever the URL carries it, in the
 * user info or in the query. Parsed only: no host is looked up.
 */
START_TEST(test_urls_parse_whole)
{
    static const struct {
        const char *url, *host, *password, *masked;
        int db;
    } cases[] = {
        {"redis://:6379/SecretTail@host/0", "host", "6379/SecretTail",
         "redis://:***@host/0", 0},
        {"redis://:Xy7/Qp9zSecret@host/0", "host", "Xy7/Qp9zSecret",
         "redis://:***@host/0", 0},
        {"redis://u:a/b@c:d?e@host/5", "host", "a/b@c:d?e",
         "redis://u:***@host/5", 5},
        {"redis://cache.internal?password=Secret123", "cache.internal",
         "Secret123", "redis://cache.internal?password=***", 0},
        {"redis://u@h:7000/3?password=Sec%2Fret&db=4", "h", "Sec/ret",
         "redis://u@h:7000/3?password=***&db=4", 4},
        {"redis://:first@h?password=Secret123", "h", "Secret123",
         "redis://:***@h?password=***", 0},
        /* an empty password is masked too, once */
        {"redis://:@h/0", "h", "", "redis://:***@h/0", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tc__config c;
        tc__err err;

        memset(&c, 0, sizeof(c));
        err.msg[0] = '\0';
        ck_assert_msg(tc__config_parse_url(&c, cases[i].url, &err) == TC_OK,
                      "%s: %s", cases[i].url, err.msg);
        ck_assert_str_eq(c.store.host, cases[i].host);
        ck_assert_str_eq(c.store.password, cases[i].password);
        ck_assert_int_eq(c.store.db, cases[i].db);
        ck_assert_str_eq(c.store.url_masked, cases[i].masked);
        ck_assert(!holds_window(c.store.url_masked, cases[i].password, 3));
        tc__config_free(&c);
    }
}
END_TEST

/* ---- messages and logs --------------------------------------------------- */

/*
 * Every malformed part, with a secret in the URL: the exact message names
 * the part, and no 3 bytes of the secret are in it.
 */
START_TEST(test_bad_part_names_field)
{
    static const struct {
        const char *url, *secret, *msg;
    } cases[] = {
        /* the issue's URLs with a bad db and a bad port after the '@' */
        {"redis://:6379/SecretTail@host/x", "6379/SecretTail",
         "store URL: db: not a database number (0 or more)"},
        {"redis://:Xy7/Qp9zSecret@host:Xy7/0", "Xy7/Qp9zSecret",
         "store URL: port: not a port (1-65535)"},
        /* a password with no '@' after it: read as a port, not quoted */
        {"redis://:Qp9zSecret/0", "Qp9zSecret",
         "store URL: port: not a port (1-65535)"},
        {"redis://:Sec%zzret@host/0", "Sec%zzret",
         "store URL: password: bad %-escape"},
        {"redis://:Sec%00ret@host/0", "Sec%00ret",
         "store URL: password: bad %-escape"},
        {"redis://:Secret123@[::1/0", "Secret123",
         "store URL: host: unclosed [ of an IPv6 address"},
        {"redis://:Secret123@[::1]x/0", "Secret123",
         "store URL: host: junk after ] of an IPv6 address"},
        /* an '@' in a query value swallows the host into the user name */
        {"redis://host/0?password=Secret@123", "Secret@123",
         "store URL: user: holds '/' or '?' (the user info ends at the last "
         "'@'; write an '@' of a query value as %40)"},
        /* an unencoded '&' in a password makes a parameter of its tail */
        {"redis://host/0?password=Secret&Tail=1", "Secret&Tail",
         "store URL: query: parameter 2 is none of db, user, password, "
         "tls_ca, tls_cert, tls_key, tls_server_name, tls_insecure"},
        {"redis://host/0?password=Secret&db=Tail", "Secret&db=Tail",
         "store URL: db: not a database number (0 or more)"},
        {"redis://host/0?password=Sec%zret", "Sec%zret",
         "store URL: password: bad %-escape"},
        {"unix:///s.sock?password=Secret&Tail", "Secret&Tail",
         "store URL: query: parameter 2 is none of db, user, password, "
         "tls_ca, tls_cert, tls_key, tls_server_name, tls_insecure"},
        {"unix://u:Secret123@/s.sock", "Secret123",
         "store URL: unix:// needs an absolute socket path, as "
         "unix:///run/redis.sock"},
        {"lmdb://user:Secret123@host/var/cache", "Secret123",
         "store URL: lmdb:// needs an absolute directory, as "
         "lmdb:///var/cache/tutorcache"},
        {"cache.internal/0?password=Secret123", "Secret123",
         "store URL: no known scheme (redis://, rediss://, redis-cluster://, "
         "rediss-cluster://, unix://, lmdb://, memory:)"},
        {"user:Secret123@cache.internal", "Secret123",
         "store URL: no known scheme (redis://, rediss://, redis-cluster://, "
         "rediss-cluster://, unix://, lmdb://, memory:)"},
        /* a scheme is named: it holds no secret */
        {"rediz://u:Secret123@host", "Secret123",
         "store URL: unknown scheme \"rediz\" (redis://, rediss://, "
         "redis-cluster://, rediss-cluster://, unix://, lmdb://, memory:)"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tc_cache *h = NULL;
        tc_options o;
        int rc;

        cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, cases[i].url);
        rc = tc_cache_open(&h, &o);
        ck_assert_msg(rc == TC_ECONFIG, "%s: %s", cases[i].url,
                      tc_error_name(rc));
        ck_assert_ptr_null(h);
        ck_assert_msg(strcmp(tc_errmsg(), cases[i].msg) == 0,
                      "%s:\n  message %s\n  wanted  %s", cases[i].url,
                      tc_errmsg(), cases[i].msg);
        ck_assert_msg(!holds_window(tc_errmsg(), cases[i].secret, 3),
                      "%s: the message shows the secret: %s", cases[i].url,
                      tc_errmsg());
    }
}
END_TEST

static char log_text[16384];

static void keep_log(void *ud, tc_log_level level, const char *json)
{
    size_t n = strlen(log_text);

    (void)ud;
    (void)level;
    snprintf(log_text + n, sizeof(log_text) - n, "%s\n", json);
}

/*
 * A store that is down: the handle opens degraded, and neither its log
 * lines (the failed connection names the store) nor its configuration
 * show the password, in the user info or in the query.
 */
START_TEST(test_down_store_logs_no_password)
{
    static const struct {
        const char *before, *after, *secret; /* around 127.0.0.1:port */
    } cases[] = {
        {"redis://:6379/SecretTail@", "/0", "6379/SecretTail"},
        {"redis://:Xy7/Qp9zSecret@", "/0", "Xy7/Qp9zSecret"},
        {"redis://", "/0?password=Secret123", "Secret123"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char url[160], *text;
        tc_options o;
        tc_cache *h;
        void *v = NULL;
        size_t len = 0;
        tc_tier tier;

        snprintf(url, sizeof(url), "%s127.0.0.1:%d%s", cases[i].before,
                 cfg_dead, cases[i].after);
        cfg_opts(&o, TC_OPT_NO_ENV | TC_OPT_NO_CONFIG, url);
        o.log_fn = keep_log;
        o.log_level = TC_LOG_DEBUG;
        log_text[0] = '\0';
        h = cfg_open(&o);
        ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "k", 1),
                         TC_MISS);
        ck_assert_msg(strstr(log_text, "127.0.0.1") != NULL,
                      "%s: no log line names the store: %s", url, log_text);
        ck_assert_msg(!holds_window(log_text, cases[i].secret, 5),
                      "%s: a log line shows the password: %s", url, log_text);
        text = cfg_text(h);
        ck_assert_msg(!holds_window(text, cases[i].secret, 5),
                      "%s: the configuration shows the password: %s", url,
                      text);
        tc_free(text);
        tc_cache_close(h);
    }
}
END_TEST

/*
 * REDIS_PASSWORD gives the password of any Redis URL that has none, so a
 * --store URL needs none: the URL's own password wins, TC_OPT_NO_ENV and
 * other stores ignore it, and the masked URL never shows it.
 */
START_TEST(test_redis_password_env)
{
    static const struct {
        const char *url;
        unsigned flags;
        const char *want; /* the password, NULL: none */
    } cases[] = {
        {"redis://127.0.0.1:6379/0", 0, "EnvSecret9"},
        {"unix:///tmp/r.sock", 0, "EnvSecret9"},
        {"redis-cluster://127.0.0.1:7000,127.0.0.1:7001", 0, "EnvSecret9"},
        {"redis://:UrlPass@127.0.0.1:6379/0", 0, "UrlPass"},
        {"redis://127.0.0.1:6379/0", TC_OPT_NO_ENV, NULL},
        {"memory:", 0, NULL},
    };
    size_t i;

    setenv("REDIS_PASSWORD", "EnvSecret9", 1);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tc_options o;
        tc__config c;
        tc__err err = {""};

        tc_options_init(&o);
        o.flags = cases[i].flags | TC_OPT_NO_CONFIG;
        o.store_url = cases[i].url;
        ck_assert_msg(tc__config_load(&c, &o, &err) == TC_OK, "%s: %s",
                      cases[i].url, err.msg);
        if (cases[i].want) {
            ck_assert_ptr_nonnull(c.store.password);
            ck_assert_str_eq(c.store.password, cases[i].want);
        } else {
            ck_assert_ptr_null(c.store.password);
        }
        ck_assert_msg(!c.store.url_masked ||
                          !strstr(c.store.url_masked, "EnvSecret9"),
                      "masked: %s", c.store.url_masked);
        tc__config_free(&c);
    }
}
END_TEST

void suite_config_secrets(Suite *s)
{
    TCase *tc = tcase_create("secrets");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
    tcase_add_test(tc, test_urls_parse_whole);
    tcase_add_test(tc, test_bad_part_names_field);
    tcase_add_test(tc, test_down_store_logs_no_password);
    tcase_add_test(tc, test_redis_password_env);
    suite_add_tcase(s, tc);
}
