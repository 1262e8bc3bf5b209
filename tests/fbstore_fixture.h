/*
 * fbstore_fixture.h - what the files of the fbstore_redis suite
 * (check_fbstore_redis.c, check_fbstore_redis_faults.c) share: a private
 * redis-server and a feedback store on it per test, test records as the
 * library makes them, and an export collector.
 */
#ifndef TC_TEST_FBSTORE_FIXTURE_H
#define TC_TEST_FBSTORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "redis_fixture.h"
#include "store/fbstore.h"
#include "store/redis/redis_store.h"
#include "store/store.h"
#include "suites.h"

#define DAY_MS 86400000LL

/* The checked fixture: stops the test's store and server. */
void fr_setup(void);
void fr_teardown(void);

/* A server and a store on it (timeout_ms 0: 1000 ms), or a store on a
 * port; both are the test's, closed by fr_teardown(). */
tc__store *fr_start(int timeout_ms);
tc__store *fr_open_port(int port, int timeout_ms);
trs *fr_srv(void);

/* Closes the test's store before the test ends. */
void fr_close(void);

/* A reply of the private server as a number ("(nil)" is 0). */
long long fr_cmd_int(const char *fmt, const char *arg);

/*
 * Test records: ids as feedback_record.c makes them, time-ordered; even
 * ones are corrections of "greet" to "ask_help" with an override.
 */
typedef struct recs {
    size_t n;
    char (*id)[TC_FEEDBACK_ID_MAX];
    char (*json)[160];
    char (*okey)[48];
    tc__fb_put *items;
} recs;

/* n records stamped ms (<= 0: now), their overrides living
 * override_ttl ms (<= 0: none). */
void fr_recs_make(recs *r, size_t n, int64_t ms, int64_t override_ttl);
void fr_recs_free(recs *r);
int fr_put(tc__store *st, recs *r, int64_t retention, tc__err *err);

/* fr_recs_make(r, n, 0, override_ttl), then fr_put with 30 days'
 * retention, which must succeed: a test's records in place. */
void fr_put_new(tc__store *st, recs *r, size_t n, int64_t override_ttl);

/* Every record's id and JSON, as export gives them. */
typedef struct seen {
    size_t n, cap;
    char (*id)[TC_FEEDBACK_ID_MAX];
    int stop_after; /* 0: never */
} seen;

/* An export callback filling a seen (ud); stops at its stop_after. */
int fr_collect(void *ud, const char *id, const char *json, size_t len);

/* A counter of the stats by name, 0 when absent. */
uint64_t fr_count_of(const tc__fb_stats *st, const char *name);

/* Asserts the store's stats succeed with these record counts. */
void fr_queue_is(tc__store *st, uint64_t kept, uint64_t pending,
                 uint64_t queued);

/* Consumes up to max records as consumer who (claiming those another
 * consumer left idle for claim_idle_ms), asserting TC_OK: how many came,
 * their ids and records in *ids and *rec (fr_batch_free). */
size_t fr_consume(tc__store *st, const char *who, size_t max,
                  int64_t claim_idle_ms, char ***ids, char ***rec);

/* Acknowledges the first n of ids, asserting TC_OK. */
void fr_ack(tc__store *st, char **ids, size_t n);

/* Frees a consumed batch: its n ids and n records. */
void fr_batch_free(char **ids, char **rec, size_t n);

#endif
