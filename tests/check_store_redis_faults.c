/*
 * check_store_redis_faults.c - the Redis store when the server fails it:
 * the breaker, a paused server against the timeout, ping, the pool shared
 * by threads and its bounded wait, a restart between calls, no SIGPIPE, a
 * garbage reply, failing allocations, and configurations that cannot
 * open. Part of the store_redis suite (check_store_redis.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "store_redis_fixture.h"

static int probe_wait_ms(const char *msg)
{
    const char *p = strstr(msg, "next probe in ");
    long ms = -1;

    if (p) {
        sscanf(p, "next probe in %ld", &ms);
    }
    return (int)ms;
}

/* The faults' store: a 100 ms timeout and two connections. */
static const sopt fast = {0, NULL, NULL, 0, 100, 2};

/* Fails three reads of key on a dead server (none refused by the breaker
 * yet), which opens the breaker. */
static void trip(tc__store *st, const char *key)
{
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;
    int rc;

    for (int i = 0; i < 3; i++) {
        rc = sr_get(st, key, &v, &err);
        ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "rc %d: %s", rc,
                      err.msg);
        ck_assert_ptr_null(strstr(err.msg, "circuit open"));
    }
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "open");
    ck_assert_int_eq(h.up, 0);
}

START_TEST(test_breaker)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &fast);
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;
    int rc = TC_OK, wait1, wait2;

    ck_assert_int_eq(sr_put(st, "tc:t:br", "before", 60000), TC_OK);
    trs_kill(srv);
    trip(st, "tc:t:br");
    ck_assert(sr_logged("l2_breaker_open"));
    ck_assert_int_eq(sr_get(st, "tc:t:br", &v, &err), TC_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "circuit open"));
    wait1 = probe_wait_ms(err.msg);
    ck_assert_int_ge(wait1, 0);
    ck_assert_int_le(wait1, 110);

    /* A failed probe reopens it for longer. */
    tt_sleep_ms(wait1 + 20);
    rc = sr_get(st, "tc:t:br", &v, &err);
    ck_assert_ptr_null(strstr(err.msg, "circuit open"));
    ck_assert_int_eq(sr_get(st, "tc:t:br", &v, &err), TC_EUNAVAIL);
    wait2 = probe_wait_ms(err.msg);
    ck_assert_msg(wait2 > 110 && wait2 <= 220, "%s", err.msg);

    ck_assert_int_eq(trs_restart(srv), 0);
    for (int i = 0; i < 500; i++) {
        rc = sr_put(st, "tc:t:br", "after", 60000);
        if (rc == TC_OK) {
            break;
        }
        ck_assert_int_eq(rc, TC_EUNAVAIL);
        tt_sleep_ms(20);
    }
    ck_assert_int_eq(rc, TC_OK);
    sr_get_is(st, "tc:t:br", "after");
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(h.up, 1);
    ck_assert_uint_ge(h.reconnects, 1);
    ck_assert_uint_ge(h.errors, 3);
    ck_assert(sr_logged("l2_recovered"));
}
END_TEST

START_TEST(test_timeout_paused_server)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &fast);
    tc__err err = {""};
    char *v = NULL;
    int64_t t0, elapsed;

    ck_assert_int_eq(sr_put(st, "tc:t:slow", "v", 60000), TC_OK);
    sr_expect_reply(srv, "OK", "CLIENT PAUSE 2000 %s", "ALL");
    t0 = tc__now_ms();
    ck_assert_int_eq(sr_get(st, "tc:t:slow", &v, &err), TC_ETIMEOUT);
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
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &fast);
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    trs_kill(srv);
    trip(st, "tc:t:ping");
    /* Ping bypasses the open breaker and reaches for the server. */
    ck_assert_int_eq(st->ops->ping(st, &err), TC_EUNAVAIL);
    ck_assert_ptr_null(strstr(err.msg, "circuit open"));
    ck_assert_int_eq(trs_restart(srv), 0);
    /* ... and its success closes it at once, without the backoff. */
    ck_assert_int_eq(st->ops->ping(st, &err), TC_OK);
    st->ops->health(st, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(sr_get(st, "tc:t:ping", &v, NULL), TC_MISS);
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
        if (sr_put(w->st, key, val, 60000) != TC_OK ||
            sr_get(w->st, key, &v, NULL) != TC_OK) {
            w->failures++;
            continue;
        }
        w->failures += strcmp(v, val) != 0;
        tc__free(v);
    }
    return NULL;
}

/* n workers (at most 4) at once on st, waited for; each must count want
 * failures. */
static void run_workers(tc__store *st, int n, int want)
{
    pthread_t th[4];
    worker w[4];

    ck_assert_int_le(n, 4);
    for (int i = 0; i < n; i++) {
        w[i] = (worker){st, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, want);
    }
}

START_TEST(test_threads_share_pool)
{
    static const sopt two = {0, NULL, NULL, 0, 2000, 2};
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &two);
    tc__store_health h;
    char *clients;

    run_workers(st, 4, 0);
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
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &one);
    int64_t t0;

    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    sr_expect_reply(srv, "OK", "CLIENT PAUSE 2000 %s", "ALL");
    t0 = tc__now_ms();
    run_workers(st, 3, 50);
    /* 150 calls on one connection to a paused server: each waits for the
     * connection or the server at most the timeout, and the breaker soon
     * stops them altogether, so the whole run stays well under the pause
     * multiplied by the number of calls. */
    ck_assert_int_lt(tc__now_ms() - t0, 2000);
}
END_TEST

START_TEST(test_restart_between_calls)
{
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, NULL);
    tc__store_health h;
    tc__err err = {""};
    char *v = NULL;

    ck_assert_int_eq(sr_put(st, "tc:t:r", "v", 60000), TC_OK);
    trs_kill(srv);
    ck_assert_int_eq(trs_restart(srv), 0);
    /* The pooled connection died with the old server; the first call
     * after the restart must not fail because of it. */
    ck_assert_msg(sr_get(st, "tc:t:r", &v, &err) == TC_MISS, "%s", err.msg);
    st->ops->health(st, &h);
    ck_assert_uint_eq(h.reconnects, 1);
    ck_assert_uint_eq(h.errors, 0);
}
END_TEST

START_TEST(test_no_sigpipe)
{
    static const sopt one = {0, NULL, NULL, 0, 0, 1};
    size_t big = 8u << 20;
    trs *srv = sr_start(NULL);
    tc__store *st = sr_store(srv, &one);
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
    ck_assert_int_eq(tc__store_redis_open(&st, &cfg, &sr_logger, &err), TC_OK);
    sr_keep(st);
    ck_assert_int_eq(sr_get(st, "tc:t:g", &v, &err), TC_EPROTO);
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

/* A budget of allocations that succeed, then every later one fails: the
 * suites' counting allocator (tt_alloc.c). */

START_TEST(test_enomem)
{
    trs *srv = sr_start(NULL);
    tc__store_set set[2] = {{"tc:t:m1", "one", 3, 60000, 99},
                            {"tc:t:m2", "two", 3, 60000, 99}};
    tc__store_get g[2];
    tc__store *st;
    int rc, saw_enomem = 0, completed = 0;

    for (long budget = 0; budget < 64 && !completed; budget++) {
        tt_alloc_install(budget + 1, 1);
        rc = sr_open_store(&st, srv, NULL);
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
        sr_release(g, 2);
        sr_forget(st);
        st->ops->close(st);
        tt_alloc_restore();
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
    ck_assert_int_eq(tc__store_redis_open(&st, &cfg, &sr_logger, &err),
                     TC_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_str_ne(err.msg, "");
}
END_TEST

START_TEST(test_unreachable_at_open)
{
    static const sopt unix_one = {1, NULL, NULL, 0, 100, 1};
    trs *srv = sr_start(NULL);
    tc__store *st;
    tc__err err = {""};
    char *v = NULL;

    trs_kill(srv);
    /* A server that is down is not an error at open time. */
    st = sr_store(srv, &unix_one);
    ck_assert_int_eq(sr_get(st, "tc:t:x", &v, &err), TC_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "connect to unix://"));
    ck_assert_int_eq(trs_restart(srv), 0);
    ck_assert_int_eq(sr_get(st, "tc:t:x", &v, &err), TC_MISS);
}
END_TEST

void suite_store_redis_faults(Suite *s)
{
    TCase *tc = tcase_create("redis_faults");

    tcase_add_checked_fixture(tc, sr_setup, sr_teardown);
    tcase_set_timeout(tc, 30);
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
}
