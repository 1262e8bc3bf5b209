/*
 * store_redis.h - what the Redis store (store_redis.c) shares with the
 * files built on it: running a pipeline of commands on one of its pooled
 * connections, under its timeouts, its one-reconnect retry and its
 * circuit breaker, with the replies read into slots (resp.h).
 *
 * hiredis is included by three files only: store_redis.c (the pool, the
 * breaker and the cache's operations), resp.c (requests, replies and
 * connecting) and store_redis_fb.c (feedback in streams and hashes).
 * Every other file sees a Redis store through store.h and fbstore.h, and
 * this header exposes no hiredis type.
 */
#ifndef TC_STORE_REDIS_H
#define TC_STORE_REDIS_H

#include <stddef.h>

#include "store/redis/resp.h"
#include "store/store.h"

/* Flags of tc__redis_run. */
#define TC__REDIS_BYPASS 1 /* not stopped by an open breaker (ping) */
/* The commands may be sent twice: after a failure on a pooled connection
 * the server may have closed while it sat idle, the request goes once
 * more on a new one. Leave it out when a second run could count twice. */
#define TC__REDIS_IDEMPOTENT 2

/* One call in progress, handed to a read function (opaque). */
typedef struct tc__rcall tc__rcall;

/*
 * Reads the replies of a call, all in k's slots (k->next == k->n), while
 * the call still holds its connection; returns TC_OK, or the failure the
 * replies mean (tc__redis_error_reply, tc__redis_bad_reply), which the
 * breaker and the store's error count then see as the call's outcome.
 */
typedef int (*tc__redis_read_fn)(tc__rcall *cl, tc__rsink *k, void *ud);

/*
 * Runs request q, of k->n commands, on a pooled connection of the Redis
 * store s: the breaker admits the call (unless TC__REDIS_BYPASS), a
 * connection is taken (waiting at most the command timeout for one), the
 * request is sent and the k->n replies read into k, then read (may be
 * NULL) checks them. cmd, key (may be NULL) and nkeys name the call in
 * error messages ("FEEDBACK PUT 1718000000000-... (+99 more): timed out
 * after 250 ms").
 * Returns TC_OK with every reply in k; TC_EUNAVAIL (unreachable, or the
 * breaker is open) and TC_ETIMEOUT with no reply kept; TC_EPROTO; or what
 * read returned (the replies are then kept). The caller frees k's replies
 * (tc__sink_clear/tc__sink_free) in every case.
 */
int tc__redis_run(tc__store *s, int flags, const char *cmd, const char *key,
                  size_t nkeys, tc__req *q, tc__rsink *k,
                  tc__redis_read_fn read, void *ud, tc__err *err);

/*
 * For read functions. tc__redis_error_reply: an error reply, with the code
 * it means (tc__resp_error_code) and the server's text. tc__redis_bad_reply:
 * a reply of a shape the command never returns: TC_EPROTO, and the
 * connection is closed rather than trusted again. Both write the detail
 * into the call's err, naming the call.
 */
int tc__redis_error_reply(tc__rcall *cl, const tc__rrep *r);
int tc__redis_bad_reply(tc__rcall *cl, const tc__rrep *r);
/* The call's name for messages ("FEEDBACK STATS tc:fb:stream"), and its
 * err. */
const char *tc__redis_label(tc__rcall *cl);
tc__err *tc__redis_call_err(tc__rcall *cl);
/* Counts, in the store's health, an item that failed alone (an error
 * reply about one key or record, when the call as a whole succeeds). */
void tc__redis_item_failed(tc__rcall *cl);

/* Whether s is a Redis store (its operations are store_redis.c's). */
int tc__store_is_redis(const tc__store *s);

/*
 * For tests and benchmarks (store_redis_fb.c): records per script call of
 * a feedback put; 0 restores the default. Process-wide.
 */
void tc__fb_redis_set_script_batch(size_t records);

#endif /* TC_STORE_REDIS_H */
