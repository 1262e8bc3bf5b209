/*
 * store_redis_fixture.c - the store_redis suite's servers, stores, logger
 * and calls (see store_redis_fixture.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "store_redis_fixture.h"
#include "tls_fixture.h"

#define MAX_SERVERS 3
#define MAX_STORES 6

/* Everything a test starts, so teardown can stop it even after a failed
 * assertion (CK_FORK=no runs every test in one process). */
static trs *g_srv[MAX_SERVERS];
static tc__store *g_st[MAX_STORES];
static int g_tls;       /* sr_setup_tls: servers and stores TLS */
static char g_ca[4200]; /* then: the CA file */

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_logs[32768];

static void capture_log(void *userdata, tc_log_level level, const char *json)
{
    size_t have, n;

    (void)userdata;
    (void)level;
    pthread_mutex_lock(&g_log_mu);
    have = strlen(g_logs);
    n = strlen(json);
    if (have + n + 2 < sizeof(g_logs)) {
        memcpy(g_logs + have, json, n);
        g_logs[have + n] = '\n';
        g_logs[have + n + 1] = '\0';
    }
    pthread_mutex_unlock(&g_log_mu);
}

const tc__logger sr_logger = {
    .fn = capture_log, .level = TC_LOG_DEBUG, .interval_ms = 0};

int sr_logged(const char *needle)
{
    int found;

    pthread_mutex_lock(&g_log_mu);
    found = strstr(g_logs, needle) != NULL;
    pthread_mutex_unlock(&g_log_mu);
    return found;
}

void sr_setup(void)
{
    memset(g_srv, 0, sizeof(g_srv));
    memset(g_st, 0, sizeof(g_st));
    g_logs[0] = '\0';
    g_tls = 0;
}

void sr_setup_tls(void)
{
    sr_setup();
    g_tls = 1;
    snprintf(g_ca, sizeof(g_ca), "%s/ca.crt", tls_dir());
}

void sr_teardown(void)
{
    for (int i = 0; i < MAX_STORES; i++) {
        if (g_st[i]) {
            g_st[i]->ops->close(g_st[i]);
            g_st[i] = NULL;
        }
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        trs_stop(g_srv[i]);
        g_srv[i] = NULL;
    }
    tt_alloc_restore();
}

trs *sr_start(const char *extra)
{
    char conf[20000];
    trs *s;

    if (g_tls) {
        tls_conf(conf, sizeof(conf), "server", "optional");
        snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "%s",
                 extra ? extra : "");
    }
    s = g_tls ? trs_start_tls(conf) : trs_start(extra);

    ck_assert_msg(s != NULL, "redis-server did not start");
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (!g_srv[i]) {
            g_srv[i] = s;
            return s;
        }
    }
    ck_abort_msg("too many servers");
    return NULL;
}

int sr_open_store(tc__store **out, trs *srv, const sopt *o)
{
    static const sopt none = {0, NULL, NULL, 0, 0, 0};
    tc__store_config cfg;
    tc__err err = {""};
    int rc;

    o = o ? o : &none;
    memset(&cfg, 0, sizeof(cfg));
    if (o->unix_sock) {
        cfg.unix_path = (char *)trs_unix_url(srv) + strlen("unix://");
    } else {
        cfg.host = "127.0.0.1";
        cfg.port = trs_port(srv);
    }
    cfg.user = (char *)o->user;
    cfg.password = (char *)o->password;
    cfg.db = o->db;
    cfg.connect_timeout_ms = o->timeout_ms ? o->timeout_ms : 500;
    cfg.command_timeout_ms = o->timeout_ms ? o->timeout_ms : 500;
    cfg.pool_size = o->pool ? o->pool : 4;
    cfg.url_masked = o->password ? "redis://127.0.0.1/***" : NULL;
    cfg.tls.on = g_tls;
    cfg.tls.ca = g_tls ? g_ca : NULL;
    if (g_tls && tt_under_valgrind()) {
        /* a handshake's public-key arithmetic under valgrind takes the
         * better part of a second */
        cfg.connect_timeout_ms *= 10;
        cfg.command_timeout_ms *= 10;
    }
    *out = NULL;
    rc = tc__store_redis_open(out, &cfg, &sr_logger, &err);
    if (rc == TC_OK) {
        sr_keep(*out);
    }
    return rc;
}

void sr_keep(tc__store *st)
{
    for (int i = 0; i < MAX_STORES; i++) {
        if (!g_st[i]) {
            g_st[i] = st;
            return;
        }
    }
    ck_abort_msg("too many stores");
}

void sr_forget(tc__store *st)
{
    for (int i = 0; i < MAX_STORES; i++) {
        if (g_st[i] == st) {
            g_st[i] = NULL;
        }
    }
}

tc__store *sr_store(trs *srv, const sopt *o)
{
    tc__store *st;

    ck_assert_int_eq(sr_open_store(&st, srv, o), TC_OK);
    ck_assert_ptr_nonnull(st);
    return st;
}

void sr_release(tc__store_get *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tc__free(g[i].val);
        g[i].val = NULL;
    }
}

int sr_put(tc__store *st, const char *key, const char *val, int64_t ttl)
{
    tc__store_set it = {key, val, strlen(val), ttl, 99};
    int rc = st->ops->mset(st, &it, 1, NULL);

    return rc == TC_OK ? it.status : rc;
}

int sr_get(tc__store *st, const char *key, char **out, tc__err *err)
{
    tc__store_get it = {key, NULL, 0, 0, 99};
    int rc = st->ops->mget(st, &it, 1, err);

    *out = it.val;
    return rc == TC_OK ? it.status : rc;
}

void sr_get_is(tc__store *st, const char *key, const char *want)
{
    tc__err err = {""};
    char *v = NULL;
    int rc = sr_get(st, key, &v, &err);

    ck_assert_msg(rc == TC_OK, "get %s: %d (%s)", key, rc, err.msg);
    ck_assert_str_eq(v, want);
    tc__free(v);
}

void sr_expect_reply(trs *srv, const char *want, const char *fmt,
                     const char *arg)
{
    char *got = trs_cmd(srv, fmt, arg);

    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}
