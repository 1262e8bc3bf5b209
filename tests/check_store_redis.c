/*
 * check_store_redis.c - the Redis store against a real, private
 * redis-server per test (redis_fixture.c): data round trips, per-item
 * errors, AUTH and ACL users, db selection, and the failure paths (a
 * killed server, a paused one, failing allocations) with the breaker.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "redis_fixture.h"
#include "store/store.h"
#include "suites.h"

#define MAX_SERVERS 3
#define MAX_STORES 6

/* Everything a test starts, so teardown can stop it even after a failed
 * assertion (CK_FORK=no runs every test in one process). */
static trs *g_srv[MAX_SERVERS];
static tc__store *g_st[MAX_STORES];

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

static const tc__logger g_logger = {
    .fn = capture_log, .level = TC_LOG_DEBUG, .interval_ms = 0};

static int logged(const char *needle)
{
    int found;

    pthread_mutex_lock(&g_log_mu);
    found = strstr(g_logs, needle) != NULL;
    pthread_mutex_unlock(&g_log_mu);
    return found;
}

static void setup(void)
{
    memset(g_srv, 0, sizeof(g_srv));
    memset(g_st, 0, sizeof(g_st));
    g_logs[0] = '\0';
}

static void teardown(void)
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
    tc_set_allocator(NULL, NULL, NULL);
}

static trs *start(const char *extra)
{
    trs *s = trs_start(extra);

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

/* How a test wants its store; zeroes mean TCP, no auth, db 0, 500 ms. */
typedef struct sopt {
    int unix_sock;
    const char *user, *password;
    int db, timeout_ms, pool;
} sopt;

static int open_store(tc__store **out, trs *srv, const sopt *o)
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
    *out = NULL;
    rc = tc__store_redis_open(out, &cfg, &g_logger, &err);
    if (rc != TC_OK) {
        return rc;
    }
    for (int i = 0; i < MAX_STORES; i++) {
        if (!g_st[i]) {
            g_st[i] = *out;
            return rc;
        }
    }
    ck_abort_msg("too many stores");
    return rc;
}

static tc__store *store(trs *srv, const sopt *o)
{
    tc__store *st;

    ck_assert_int_eq(open_store(&st, srv, o), TC_OK);
    ck_assert_ptr_nonnull(st);
    return st;
}

static void release(tc__store_get *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tc__free(g[i].val);
        g[i].val = NULL;
    }
}

/* Sets one key through the store. */
static int put(tc__store *st, const char *key, const char *val, int64_t ttl)
{
    tc__store_set it = {key, val, strlen(val), ttl, 99};
    int rc = st->ops->mset(st, &it, 1, NULL);

    return rc == TC_OK ? it.status : rc;
}

/* Gets one key; *out receives the value (caller frees) on TC_OK. */
static int get(tc__store *st, const char *key, char **out, tc__err *err)
{
    tc__store_get it = {key, NULL, 0, 0, 99};
    int rc = st->ops->mget(st, &it, 1, err);

    *out = it.val;
    return rc == TC_OK ? it.status : rc;
}

static void expect_reply(trs *srv, const char *want, const char *fmt,
                         const char *arg)
{
    char *got = trs_cmd(srv, fmt, arg);

    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

START_TEST(test_roundtrip_binary)
{
    static const char bin[] = "a\0b\r\n$3\r\nc\xff";
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__store_set set[2] = {{"tc:t:bin", bin, sizeof(bin) - 1, 60000, 99},
                            {"tc:t:empty", "", 0, 60000, 99}};
    tc__store_get g[3] = {{"tc:t:bin", NULL, 0, 0, 99},
                          {"tc:t:empty", NULL, 0, 0, 99},
                          {"tc:t:plain", NULL, 0, 0, 99}};

    ck_assert_int_eq(st->ops->mset(st, set, 2, NULL), TC_OK);
    ck_assert_int_eq(set[0].status, TC_OK);
    ck_assert_int_eq(set[1].status, TC_OK);
    /* Values are stored unwrapped: other clients see the same bytes. */
    expect_reply(srv, "11", "STRLEN %s", "tc:t:bin");
    expect_reply(srv, "OK", "SET %s plain", "tc:t:plain");

    ck_assert_int_eq(st->ops->mget(st, g, 3, NULL), TC_OK);
    ck_assert_int_eq(g[0].status, TC_OK);
    ck_assert_uint_eq(g[0].len, sizeof(bin) - 1);
    ck_assert_int_eq(memcmp(g[0].val, bin, sizeof(bin) - 1), 0);
    ck_assert_int_eq(g[0].val[g[0].len], '\0');
    ck_assert_int_gt(g[0].ttl_ms, 0);
    ck_assert_int_le(g[0].ttl_ms, 60000);
    ck_assert_int_eq(g[1].status, TC_OK);
    ck_assert_uint_eq(g[1].len, 0);
    ck_assert_ptr_nonnull(g[1].val);
    ck_assert_int_eq(g[1].val[0], '\0');
    ck_assert_int_eq(g[2].status, TC_OK);
    ck_assert_str_eq(g[2].val, "plain");
    ck_assert_int_eq(g[2].ttl_ms, -1);
    release(g, 3);
}
END_TEST

START_TEST(test_mset_bad_item)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__store_set set[3] = {{"tc:t:1", "one", 3, 60000, 99},
                            {"tc:t:2", "two", 3, 0, 99},
                            {NULL, "three", 5, 60000, 99}};
    char *v = NULL;

    /* Items a caller got wrong are refused alone; the others are sent. */
    ck_assert_int_eq(st->ops->mset(st, set, 3, NULL), TC_OK);
    ck_assert_int_eq(set[0].status, TC_OK);
    ck_assert_int_eq(set[1].status, TC_EINVAL);
    ck_assert_int_eq(set[2].status, TC_EINVAL);
    ck_assert_int_eq(get(st, "tc:t:1", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "one");
    tc__free(v);
    ck_assert_int_eq(get(st, "tc:t:2", &v, NULL), TC_MISS);
}
END_TEST

START_TEST(test_miss)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__store_get g = {"tc:t:absent", (char *)"stale", 7, 7, 99};
    tc__store_health h;

    ck_assert_int_eq(st->ops->mget(st, &g, 1, NULL), TC_OK);
    ck_assert_int_eq(g.status, TC_MISS);
    ck_assert_ptr_null(g.val);
    ck_assert_uint_eq(g.len, 0);
    st->ops->health(st, &h);
    ck_assert_int_eq(h.up, 1);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_uint_eq(h.errors, 0);
    ck_assert_int_eq(h.entries, -1);
    ck_assert_int_eq(h.bytes, -1);
}
END_TEST

START_TEST(test_del)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    char *v = NULL;

    ck_assert_int_eq(put(st, "tc:t:d", "x", 60000), TC_OK);
    ck_assert_int_eq(st->ops->del(st, "tc:t:d", NULL), TC_OK);
    ck_assert_int_eq(st->ops->del(st, "tc:t:d", NULL), TC_MISS);
    ck_assert_int_eq(get(st, "tc:t:d", &v, NULL), TC_MISS);
    ck_assert_ptr_null(v);
    expect_reply(srv, "0", "EXISTS %s", "tc:t:d");
}
END_TEST

START_TEST(test_incr)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__err err = {""};
    int64_t n = -5;

    ck_assert_int_eq(st->ops->incr(st, "tc:t:gen", &n, NULL), TC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(st->ops->incr(st, "tc:t:gen", &n, NULL), TC_OK);
    ck_assert_int_eq(n, 2);
    expect_reply(srv, "2", "GET %s", "tc:t:gen");
    expect_reply(srv, "-1", "PTTL %s", "tc:t:gen");

    expect_reply(srv, "OK", "SET %s abc", "tc:t:text");
    n = 7;
    ck_assert_int_eq(st->ops->incr(st, "tc:t:text", &n, &err), TC_EPROTO);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "INCR tc:t:text"));
    /* The connection is still usable after an error reply. */
    ck_assert_int_eq(st->ops->incr(st, "tc:t:gen", &n, NULL), TC_OK);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_mget_16)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__store_set set[8];
    tc__store_get g[16];
    char keys[16][32], vals[16][24];
    char *stats;

    for (int i = 0; i < 16; i++) {
        snprintf(keys[i], sizeof(keys[i]), "tc:t:k%02d", i);
        snprintf(vals[i], sizeof(vals[i]), "value %d", i);
    }
    for (int i = 0; i < 8; i++) {
        set[i] = (tc__store_set){keys[2 * i], vals[2 * i], strlen(vals[2 * i]),
                                 60000, 99};
    }
    ck_assert_int_eq(st->ops->mset(st, set, 8, NULL), TC_OK);
    for (int i = 0; i < 16; i++) {
        g[i] = (tc__store_get){keys[i], NULL, 0, 0, 99};
    }
    ck_assert_int_eq(st->ops->mget(st, g, 16, NULL), TC_OK);
    for (int i = 0; i < 16; i++) {
        if (i % 2 == 0) {
            ck_assert_int_eq(g[i].status, TC_OK);
            ck_assert_str_eq(g[i].val, vals[i]);
        } else {
            ck_assert_int_eq(g[i].status, TC_MISS);
            ck_assert_ptr_null(g[i].val);
        }
    }
    release(g, 16);
    /* One GET and one PTTL per key, nothing else. */
    stats = trs_cmd(srv, "INFO commandstats");
    ck_assert_ptr_nonnull(stats);
    ck_assert_msg(strstr(stats, "cmdstat_get:calls=16,") &&
                      strstr(stats, "cmdstat_pttl:calls=16,"),
                  "commandstats: %s", stats);
    free(stats);
}
END_TEST

START_TEST(test_wrong_type)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__store_get g[3] = {{"tc:t:a", NULL, 0, 0, 99},
                          {"tc:t:list", NULL, 0, 0, 99},
                          {"tc:t:b", NULL, 0, 0, 99}};
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(put(st, "tc:t:a", "A", 60000), TC_OK);
    ck_assert_int_eq(put(st, "tc:t:b", "B", 60000), TC_OK);
    expect_reply(srv, "2", "RPUSH %s x y", "tc:t:list");

    ck_assert_int_eq(st->ops->mget(st, g, 3, &err), TC_OK);
    ck_assert_int_eq(g[0].status, TC_OK);
    ck_assert_str_eq(g[0].val, "A");
    ck_assert_int_eq(g[1].status, TC_EPROTO);
    /* The item's error is explained in err, for the caller's log. */
    ck_assert_msg(strstr(err.msg, "GET tc:t:list: WRONGTYPE"), "%s", err.msg);
    ck_assert_ptr_null(g[1].val);
    ck_assert_int_eq(g[2].status, TC_OK);
    ck_assert_str_eq(g[2].val, "B");
    release(g, 3);
    st->ops->health(st, &h);
    ck_assert_uint_ge(h.errors, 1);
    ck_assert_uint_eq(h.reconnects, 0);
    ck_assert_int_eq(get(st, "tc:t:a", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "A");
    tc__free(v);
}
END_TEST

START_TEST(test_unix_socket)
{
    static const sopt o = {1, NULL, NULL, 0, 0, 0};
    trs *srv = start(NULL);
    tc__store *st = store(srv, &o);
    char *v = NULL;

    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    ck_assert_int_eq(put(st, "tc:t:u", "over the socket", 60000), TC_OK);
    ck_assert_int_eq(get(st, "tc:t:u", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "over the socket");
    tc__free(v);
    expect_reply(srv, "over the socket", "GET %s", "tc:t:u");
}
END_TEST

START_TEST(test_auth)
{
    static const sopt good = {0, NULL, "s3cret", 0, 0, 0};
    static const sopt bad = {0, NULL, "nottheone", 0, 0, 0};
    trs *srv = start("requirepass s3cret\n");
    tc__store *ok = store(srv, &good);
    tc__store *none = store(srv, NULL);
    tc__store *wrong = store(srv, &bad);
    tc__err err = {""};
    tc__store_health h;
    char *v = NULL;

    ck_assert_int_eq(put(ok, "tc:t:p", "secret data", 60000), TC_OK);
    ck_assert_int_eq(get(ok, "tc:t:p", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "secret data");
    tc__free(v);

    ck_assert_int_eq(get(none, "tc:t:p", &v, &err), TC_EAUTH);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(wrong->ops->ping(wrong, &err), TC_EAUTH);
    ck_assert_ptr_null(strstr(err.msg, "nottheone"));
    ck_assert_int_eq(get(wrong, "tc:t:p", &v, &err), TC_EAUTH);
    wrong->ops->health(wrong, &h);
    ck_assert_int_eq(h.up, 0);
    /* Auth failures come back fast: they must not open the breaker. */
    ck_assert_int_eq(get(wrong, "tc:t:p", &v, &err), TC_EAUTH);
    ck_assert_int_eq(get(wrong, "tc:t:p", &v, &err), TC_EAUTH);
    wrong->ops->health(wrong, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert(logged("l2_unavailable"));
    ck_assert(!logged("nottheone"));
    ck_assert(!logged("s3cret"));
}
END_TEST

START_TEST(test_acl_user)
{
    static const sopt alice = {0, "alice", "pw", 0, 0, 0};
    static const sopt mallory = {1, "alice", "guess", 0, 0, 0};
    trs *srv = start("user alice on >pw ~* +@all\n");
    tc__store *ok = store(srv, &alice);
    tc__store *bad = store(srv, &mallory);
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(put(ok, "tc:t:acl", "hers", 60000), TC_OK);
    ck_assert_int_eq(get(ok, "tc:t:acl", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "hers");
    tc__free(v);
    ck_assert_int_eq(get(bad, "tc:t:acl", &v, &err), TC_EAUTH);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(err.msg, "AUTH"));
}
END_TEST

START_TEST(test_select_db)
{
    static const sopt db3 = {0, NULL, NULL, 3, 0, 0};
    static const sopt db99 = {0, NULL, NULL, 99, 0, 0};
    trs *srv = start(NULL);
    tc__store *s3 = store(srv, &db3);
    tc__store *s0 = store(srv, NULL);
    tc__store *s99 = store(srv, &db99);
    char *v = NULL;

    ck_assert_int_eq(put(s3, "tc:t:db", "in three", 60000), TC_OK);
    ck_assert_int_eq(get(s0, "tc:t:db", &v, NULL), TC_MISS);
    ck_assert_int_eq(get(s3, "tc:t:db", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "in three");
    tc__free(v);
    /* trs_cmd talks to db 0. */
    expect_reply(srv, "(nil)", "GET %s", "tc:t:db");
    ck_assert_int_eq(get(s99, "tc:t:db", &v, NULL), TC_ECONFIG);
}
END_TEST

static int probe_wait_ms(const char *msg)
{
    const char *p = strstr(msg, "next probe in ");
    long ms = -1;

    if (p) {
        sscanf(p, "next probe in %ld", &ms);
    }
    return (int)ms;
}

START_TEST(test_breaker)
{
    static const sopt fast = {0, NULL, NULL, 0, 100, 2};
    trs *srv = start(NULL);
    tc__store *st = store(srv, &fast);
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;
    int rc = TC_OK, wait1, wait2;

    ck_assert_int_eq(put(st, "tc:t:br", "before", 60000), TC_OK);
    trs_kill(srv);
    for (int i = 0; i < 3; i++) {
        rc = get(st, "tc:t:br", &v, &err);
        ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "rc %d: %s", rc,
                      err.msg);
        ck_assert_ptr_null(strstr(err.msg, "circuit open"));
    }
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "open");
    ck_assert_int_eq(h.up, 0);
    ck_assert(logged("l2_breaker_open"));
    ck_assert_int_eq(get(st, "tc:t:br", &v, &err), TC_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "circuit open"));
    wait1 = probe_wait_ms(err.msg);
    ck_assert_int_ge(wait1, 0);
    ck_assert_int_le(wait1, 110);

    /* A failed probe reopens it for longer. */
    sleep_ms(wait1 + 20);
    rc = get(st, "tc:t:br", &v, &err);
    ck_assert_ptr_null(strstr(err.msg, "circuit open"));
    ck_assert_int_eq(get(st, "tc:t:br", &v, &err), TC_EUNAVAIL);
    wait2 = probe_wait_ms(err.msg);
    ck_assert_msg(wait2 > 110 && wait2 <= 220, "%s", err.msg);

    ck_assert_int_eq(trs_restart(srv), 0);
    for (int i = 0; i < 500; i++) {
        rc = put(st, "tc:t:br", "after", 60000);
        if (rc == TC_OK) {
            break;
        }
        ck_assert_int_eq(rc, TC_EUNAVAIL);
        sleep_ms(20);
    }
    ck_assert_int_eq(rc, TC_OK);
    ck_assert_int_eq(get(st, "tc:t:br", &v, NULL), TC_OK);
    ck_assert_str_eq(v, "after");
    tc__free(v);
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(h.up, 1);
    ck_assert_uint_ge(h.reconnects, 1);
    ck_assert_uint_ge(h.errors, 3);
    ck_assert(logged("l2_recovered"));
}
END_TEST

START_TEST(test_timeout_paused_server)
{
    static const sopt fast = {0, NULL, NULL, 0, 100, 2};
    trs *srv = start(NULL);
    tc__store *st = store(srv, &fast);
    tc__err err = {""};
    char *v = NULL;
    int64_t t0, elapsed;

    ck_assert_int_eq(put(st, "tc:t:slow", "v", 60000), TC_OK);
    expect_reply(srv, "OK", "CLIENT PAUSE 2000 %s", "ALL");
    t0 = tc__now_ms();
    ck_assert_int_eq(get(st, "tc:t:slow", &v, &err), TC_ETIMEOUT);
    elapsed = tc__now_ms() - t0;
    ck_assert_ptr_null(v);
    /* A bound, not a speed test: it must not wait for the pause. */
    ck_assert_int_lt(elapsed, 1000);
    ck_assert_msg(strstr(err.msg, "GET tc:t:slow") &&
                      strstr(err.msg, "timed out after 100 ms"),
                  "%s", err.msg);
}
END_TEST

START_TEST(test_ping)
{
    static const sopt fast = {0, NULL, NULL, 0, 100, 2};
    trs *srv = start(NULL);
    tc__store *st = store(srv, &fast);
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    trs_kill(srv);
    for (int i = 0; i < 3; i++) {
        (void)get(st, "tc:t:ping", &v, NULL);
    }
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "open");
    /* Ping bypasses the open breaker and reaches for the server. */
    ck_assert_int_eq(st->ops->ping(st, &err), TC_EUNAVAIL);
    ck_assert_ptr_null(strstr(err.msg, "circuit open"));
    ck_assert_int_eq(trs_restart(srv), 0);
    /* ... and its success closes it at once, without the backoff. */
    ck_assert_int_eq(st->ops->ping(st, &err), TC_OK);
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(get(st, "tc:t:ping", &v, NULL), TC_MISS);
}
END_TEST

typedef struct worker {
    tc__store *st;
    int id, failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char key[32], val[32];
    char *v;

    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "tc:t:w%d:%d", w->id, i % 5);
        snprintf(val, sizeof(val), "%d/%d", w->id, i);
        if (put(w->st, key, val, 60000) != TC_OK ||
            get(w->st, key, &v, NULL) != TC_OK) {
            w->failures++;
            continue;
        }
        w->failures += strcmp(v, val) != 0;
        tc__free(v);
    }
    return NULL;
}

START_TEST(test_threads_share_pool)
{
    static const sopt two = {0, NULL, NULL, 0, 2000, 2};
    trs *srv = start(NULL);
    tc__store *st = store(srv, &two);
    pthread_t th[4];
    worker w[4];
    tc__store_health h;
    char *clients;

    for (int i = 0; i < 4; i++) {
        w[i] = (worker){st, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    st->ops->health(st, &h);
    ck_assert_uint_eq(h.errors, 0);
    ck_assert_uint_eq(h.reconnects, 0);
    /* At most pool_size connections, plus trs_cmd's own. */
    clients = trs_cmd(srv, "INFO clients");
    ck_assert_ptr_nonnull(clients);
    ck_assert_msg(strstr(clients, "connected_clients:2\r") ||
                      strstr(clients, "connected_clients:3\r"),
                  "%s", clients);
    free(clients);
}
END_TEST

START_TEST(test_pool_wait_bounded)
{
    static const sopt one = {0, NULL, NULL, 0, 100, 1};
    trs *srv = start(NULL);
    tc__store *st = store(srv, &one);
    pthread_t th[3];
    worker w[3];
    int64_t t0;

    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    expect_reply(srv, "OK", "CLIENT PAUSE 2000 %s", "ALL");
    t0 = tc__now_ms();
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){st, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 50);
    }
    /* 150 calls on one connection to a paused server: each waits for the
     * connection or the server at most the timeout, and the breaker soon
     * stops them altogether, so the whole run stays well under the pause
     * multiplied by the number of calls. */
    ck_assert_int_lt(tc__now_ms() - t0, 2000);
}
END_TEST

START_TEST(test_restart_between_calls)
{
    trs *srv = start(NULL);
    tc__store *st = store(srv, NULL);
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(put(st, "tc:t:r", "v", 60000), TC_OK);
    trs_kill(srv);
    ck_assert_int_eq(trs_restart(srv), 0);
    /* The pooled connection died with the old server; the first call
     * after the restart must not fail because of it. */
    ck_assert_msg(get(st, "tc:t:r", &v, &err) == TC_MISS, "%s", err.msg);
    st->ops->health(st, &h);
    ck_assert_uint_eq(h.reconnects, 1);
    ck_assert_uint_eq(h.errors, 0);
}
END_TEST

START_TEST(test_no_sigpipe)
{
    static const sopt one = {0, NULL, NULL, 0, 0, 1};
    size_t big = 8u << 20;
    trs *srv = start(NULL);
    tc__store *st = store(srv, &one);
    tc__store_set it = {"tc:t:big", NULL, big, 60000, 99};
    char *val = calloc(1, big);
    int rc;

    ck_assert_ptr_nonnull(val);
    it.val = val;
    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    trs_kill(srv);
    /* Writing megabytes to a dead peer raises SIGPIPE, which would kill
     * the test process (and a host) unless the store blocks it. */
    rc = st->ops->mset(st, &it, 1, NULL);
    free(val);
    ck_assert_int_eq(rc, TC_EUNAVAIL);
}
END_TEST

/*
 * A peer that is not Redis: it answers the first request with bytes that
 * are no RESP reply, then reports whether the client hung up on it.
 */
typedef struct garbage_peer {
    int lfd, port, closed;
    pthread_t th;
} garbage_peer;

static void *garbage_main(void *arg)
{
    garbage_peer *g = arg;
    struct pollfd p;
    char buf[4096];
    int fd = accept(g->lfd, NULL, NULL);

    if (fd < 0) {
        return NULL;
    }
    p.fd = fd;
    p.events = POLLIN;
    if (poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof(buf)) > 0 &&
        write(fd, "%garbage\r\n", 10) == 10 && poll(&p, 1, 2000) == 1) {
        g->closed = read(fd, buf, sizeof(buf)) == 0;
    }
    close(fd);
    return NULL;
}

START_TEST(test_garbage_reply)
{
    garbage_peer g = {-1, 0, 0, 0};
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    tc__store_config cfg;
    tc__store_health h;
    tc__err err = {""};
    tc__store *st;
    char *v = NULL;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g.lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(g.lfd, 0);
    ck_assert_int_eq(bind(g.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(g.lfd, 1), 0);
    ck_assert_int_eq(getsockname(g.lfd, (struct sockaddr *)&sa, &len), 0);
    ck_assert_int_eq(pthread_create(&g.th, NULL, garbage_main, &g), 0);

    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = ntohs(sa.sin_port);
    cfg.connect_timeout_ms = cfg.command_timeout_ms = 1000;
    cfg.pool_size = 1;
    ck_assert_int_eq(tc__store_redis_open(&st, &cfg, &g_logger, &err), TC_OK);
    g_st[0] = st;
    ck_assert_int_eq(get(st, "tc:t:g", &v, &err), TC_EPROTO);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(err.msg, "GET tc:t:g"));
    pthread_join(g.th, NULL);
    close(g.lfd);
    /* The stream cannot be trusted after garbage: the store hung up. */
    ck_assert_int_eq(g.closed, 1);
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "closed");
}
END_TEST

/* ---- failing allocator --------------------------------------------- */

static _Atomic long g_allocs_left;

static void *failing_malloc(size_t n)
{
    return atomic_fetch_sub(&g_allocs_left, 1) > 0 ? malloc(n) : NULL;
}

static void *failing_realloc(void *p, size_t n)
{
    return atomic_fetch_sub(&g_allocs_left, 1) > 0 ? realloc(p, n) : NULL;
}

START_TEST(test_enomem)
{
    trs *srv = start(NULL);
    tc__store_set set[2] = {{"tc:t:m1", "one", 3, 60000, 99},
                            {"tc:t:m2", "two", 3, 60000, 99}};
    tc__store_get g[2];
    tc__store *st;
    int rc, saw_enomem = 0, completed = 0;

    for (long budget = 0; budget < 64 && !completed; budget++) {
        atomic_store(&g_allocs_left, budget);
        tc_set_allocator(failing_malloc, failing_realloc, free);
        rc = open_store(&st, srv, NULL);
        if (rc != TC_OK) {
            ck_assert_int_eq(rc, TC_ENOMEM);
            ck_assert_ptr_null(st);
            saw_enomem = 1;
            continue;
        }
        rc = st->ops->mset(st, set, 2, NULL);
        ck_assert(rc == TC_OK || rc == TC_ENOMEM);
        g[0] = (tc__store_get){"tc:t:m1", NULL, 0, 0, 99};
        g[1] = (tc__store_get){"tc:t:m2", NULL, 0, 0, 99};
        rc = st->ops->mget(st, g, 2, NULL);
        if (rc == TC_ENOMEM) {
            ck_assert_ptr_null(g[0].val);
            ck_assert_ptr_null(g[1].val);
            saw_enomem = 1;
        } else {
            ck_assert_int_eq(rc, TC_OK);
            completed = g[0].status == TC_OK && g[1].status == TC_OK;
        }
        release(g, 2);
        for (int i = 0; i < MAX_STORES; i++) {
            if (g_st[i] == st) {
                g_st[i] = NULL;
            }
        }
        st->ops->close(st);
        tc_set_allocator(NULL, NULL, NULL);
    }
    ck_assert(saw_enomem);
    ck_assert(completed);
}
END_TEST

START_TEST(test_open_invalid)
{
    tc__store_config cfg;
    tc__err err = {""};
    tc__store *st = (tc__store *)&cfg;

    memset(&cfg, 0, sizeof(cfg));
    ck_assert_int_eq(tc__store_redis_open(&st, &cfg, &g_logger, &err), TC_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_str_ne(err.msg, "");
}
END_TEST

START_TEST(test_unreachable_at_open)
{
    static const sopt fast = {1, NULL, NULL, 0, 100, 1};
    trs *srv = start(NULL);
    tc__store *st;
    tc__err err = {""};
    char *v = NULL;

    trs_kill(srv);
    /* A server that is down is not an error at open time. */
    st = store(srv, &fast);
    ck_assert_int_eq(get(st, "tc:t:x", &v, &err), TC_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "connect to unix://"));
    ck_assert_int_eq(trs_restart(srv), 0);
    ck_assert_int_eq(get(st, "tc:t:x", &v, &err), TC_MISS);
}
END_TEST

Suite *suite_store_redis(void)
{
    Suite *s = suite_create("store_redis");
    TCase *tc = tcase_create("redis");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_roundtrip_binary);
    tcase_add_test(tc, test_mset_bad_item);
    tcase_add_test(tc, test_miss);
    tcase_add_test(tc, test_del);
    tcase_add_test(tc, test_incr);
    tcase_add_test(tc, test_mget_16);
    tcase_add_test(tc, test_wrong_type);
    tcase_add_test(tc, test_unix_socket);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_acl_user);
    tcase_add_test(tc, test_select_db);
    tcase_add_test(tc, test_breaker);
    tcase_add_test(tc, test_timeout_paused_server);
    tcase_add_test(tc, test_ping);
    tcase_add_test(tc, test_threads_share_pool);
    tcase_add_test(tc, test_pool_wait_bounded);
    tcase_add_test(tc, test_restart_between_calls);
    tcase_add_test(tc, test_no_sigpipe);
    tcase_add_test(tc, test_garbage_reply);
    tcase_add_test(tc, test_enomem);
    tcase_add_test(tc, test_open_invalid);
    tcase_add_test(tc, test_unreachable_at_open);
    suite_add_tcase(s, tc);
    return s;
}
