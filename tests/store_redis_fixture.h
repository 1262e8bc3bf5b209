/*
 * store_redis_fixture.h - what the store_redis suite's files
 * (check_store_redis.c, check_store_redis_faults.c) share: private
 * redis-servers and Redis stores on them, all stopped by the teardown even
 * after a failed assertion (CK_FORK=no runs every test in one process), a
 * logger that keeps what it is told, and single-key calls.
 */
#ifndef TC_TEST_STORE_REDIS_FIXTURE_H
#define TC_TEST_STORE_REDIS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "redis_fixture.h"
#include "store/store.h"
#include "suites.h"

/* The checked fixture; sr_setup_tls makes the test's servers serve TLS
 * and its stores speak it (after tls_case_setup, tls_fixture.h). */
void sr_setup(void);
void sr_setup_tls(void);
void sr_teardown(void);

/* A logger at debug level that keeps every line, and whether a kept line
 * holds needle. */
extern const tc__logger sr_logger;
int sr_logged(const char *needle);

/* A server with extra config lines (may be NULL); the test's. */
trs *sr_start(const char *extra);

/* How a test wants its store; zeroes mean TCP, no auth, db 0, 500 ms. */
typedef struct sopt {
    int unix_sock;
    const char *user, *password;
    int db, timeout_ms, pool;
} sopt;

/* Opens a store on srv (o may be NULL), kept for the teardown; sr_store
 * fails the test when it does not open. */
int sr_open_store(tc__store **out, trs *srv, const sopt *o);
tc__store *sr_store(trs *srv, const sopt *o);

/* Keeps a store the test opened itself for the teardown, or forgets one
 * the test closed. */
void sr_keep(tc__store *st);
void sr_forget(tc__store *st);

/* Frees the values of n gets. */
void sr_release(tc__store_get *g, size_t n);

/* Sets one key through the store; gets one (*out receives the value, the
 * caller's, on TC_OK). */
int sr_put(tc__store *st, const char *key, const char *val, int64_t ttl);
int sr_get(tc__store *st, const char *key, char **out, tc__err *err);

/* The value of key through the store is want (the test fails on a miss,
 * an error or another value, naming the key). */
void sr_get_is(tc__store *st, const char *key, const char *want);

/* The server's reply to fmt (with arg) is want. */
void sr_expect_reply(trs *srv, const char *want, const char *fmt,
                     const char *arg);

#endif
