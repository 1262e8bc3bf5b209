/*
 * redis_store.h - what the files of the Redis store share; only they,
 * and the cluster store (store/cluster/) that runs on their pools,
 * include it. From the bottom up, each file calling only those before it:
 *
 *   resp_req.c      the wire (resp.h): requests
 *   resp.c          the wire: replies, connecting, TLS (store/tls.c)
 *   redis_pool.c    the pool of connections and the circuit breaker in
 *                   front of it: how one call runs (tc__redis_run)
 *   redis_keeping.c how the server keeps keys (eviction, persistence)
 *   redis_store.c   the cache's operations (get, set, del, incr, ping)
 *   redis_script.c  the feedback scripts (lua/NAME.lua, embedded at build
 *                   time) and their calls, EVALSHA first
 *   redis_fb.c      feedback records in streams and hashes
 *   redis_pop.c     the popularity table: a sorted set and a hash
 *   redis_tally.c   the tally: one hash of counters
 *   track_read.c    the invalidation connection's messages, parsed from
 *                   its bytes without hiredis (track_read.h)
 *   redis_track.c   invalidations of other clients' writes, on a
 *                   connection and a thread of their own
 *   redis.c         the table of operations and the opening
 *
 * hiredis is included by resp.c and by the files that read replies'
 * types (redis_store.c, redis_script.c, redis_fb.c); this header
 * exposes no hiredis type, and no file outside this folder sees one.
 */
#ifndef TC_STORE_REDIS_H
#define TC_STORE_REDIS_H

#include <stddef.h>

#include "store/fbstore.h"
#include "store/redis/resp.h"
#include "store/store.h"

/* ---- redis_pool.c ------------------------------------------------------ */

/*
 * A Redis store of the server cfg names, with the table ops: its pool
 * allocated (no connection opened yet) and its breaker closed. Returns
 * TC_OK; TC_EINVAL (no host or socket, a negative db); TC_ENOMEM.
 */
int tc__redis_new(tc__store **out, const tc__store_ops *ops,
                  const tc__store_config *cfg, const tc__logger *log,
                  tc__err *err);
/* Closes the pooled connections and frees the store; NULL is accepted. */
void tc__redis_close(tc__store *s);
/* The breaker's state and the store's counts (store.h). */
void tc__redis_health(tc__store *s, tc__store_health *out);
/* The replicas a feedback write waits for (feedback_wait_replicas; 0:
 * none) and WAIT's timeout in *wait_ms, for redis_fb.c. */
int tc__redis_fb_wait(tc__store *s, int *wait_ms);
/* The server s connects to and its logger, for redis_track.c. */
const tc__resp_target *tc__redis_target(tc__store *s, const tc__logger **log);

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
 * tc__redis_run in two halves, for a caller that talks to several
 * servers in one call (a cluster's batch): tc__redis_send begins the call
 * and sends q, holding the connection; tc__redis_recv reads the k->n
 * replies, checks them with read and ends the call, so that every
 * server's request can be sent before any reply is read. q must live
 * until tc__redis_recv (a stale connection is retried by sending it
 * again). tc__redis_send returns as tc__redis_run (*out NULL on
 * failure, the call then ended); every *out it gave is passed to
 * tc__redis_recv exactly once, which frees it and returns as
 * tc__redis_run.
 */
typedef struct tc__rsent tc__rsent;
int tc__redis_send(tc__rsent **out, tc__store *s, int flags, const char *cmd,
                   const char *key, size_t nkeys, tc__req *q, tc__err *err);
int tc__redis_recv(tc__rsent *t, tc__rsink *k, tc__redis_read_fn read,
                   void *ud);

/*
 * For read functions. tc__redis_error_reply: an error reply, with the code
 * it means (tc__resp_error_code) and the server's text. tc__redis_bad_reply:
 * a reply of a shape the command never returns: TC_EPROTO, and the
 * connection is closed rather than trusted again. Both write the detail
 * into the call's err, naming the call.
 */
int tc__redis_error_reply(tc__rcall *cl, const tc__rrep *r);
int tc__redis_bad_reply(tc__rcall *cl, const tc__rrep *r);
/* TC_OK when r is of the type (a REDIS_REPLY_*), else what
 * tc__redis_error_reply or tc__redis_bad_reply make of it. */
int tc__redis_reply_is(tc__rcall *cl, const tc__rrep *r, int type);
/* The call's name for messages ("FEEDBACK STATS tc:fb:stream"), and its
 * err. */
const char *tc__redis_label(tc__rcall *cl);
tc__err *tc__redis_call_err(tc__rcall *cl);
/* Counts, in the store's health, an item that failed alone (an error
 * reply about one key or record, when the call as a whole succeeds). */
void tc__redis_item_failed(tc__rcall *cl);

/* ---- redis_store.c ----------------------------------------------------- */

/* The cache's operations, for redis.c's table (store.h says what each
 * does). */
int tc__redis_mget(tc__store *s, tc__store_get *items, size_t n, tc__err *err);
int tc__redis_mset(tc__store *s, tc__store_set *items, size_t n, tc__err *err);
int tc__redis_del(tc__store *s, const char *key, tc__err *err);
int tc__redis_incr(tc__store *s, const char *key, int64_t *out, tc__err *err);
int tc__redis_ping(tc__store *s, tc__err *err);
/* One item of an mget from its GET and PTTL replies (the value taken from
 * get); TC_OK, also for an item that failed alone, or the call's failure.
 * For the cluster store, which reads the replies of its own requests. */
int tc__redis_mget_item(tc__rcall *cl, tc__store_get *it, tc__rrep *get,
                        const tc__rrep *ttl);

/* ---- redis_keeping.c --------------------------------------------------- */

/* The store's keeping (store.h): maxmemory-policy and persistence. */
int tc__redis_keeping(tc__store *s, tc__store_keeping *out, tc__err *err);

/* ---- redis_script.c ---------------------------------------------------- */

/* The feedback scripts, one per lua/NAME.lua. */
enum {
    TC__SCRIPT_PUT,
    TC__SCRIPT_CONSUME,
    TC__SCRIPT_ACK,
    TC__SCRIPT_TRIM,
    TC__SCRIPT_STATS,
    TC__SCRIPT_PURGE,
    TC__SCRIPT_POP_ADD, /* the popularity table (redis_pop.c) */
    TC__SCRIPT_POP_TOP,
    TC__SCRIPT_TALLY_ADD, /* the tally (redis_tally.c) */
    TC__SCRIPT_TALLY_READ,
    TC__NSCRIPTS
};

/*
 * A pipeline of calls of one script. build writes call i after its head
 * (tc__scall_head); take reads its reply (an error reply included, but
 * never NOSCRIPT) and returns TC_OK or the call's failure.
 */
typedef struct tc__scall tc__scall;
struct tc__scall {
    int which; /* TC__SCRIPT_* */
    size_t ncalls;
    void (*build)(tc__req *q, const tc__scall *sc, size_t i);
    int (*take)(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i);
    void *ud;
    /* For the caller's build and take: a script's keys and arguments, all
     * short strings, and the integer a script returned. */
    const char *const *words;
    size_t nwords, nkeys;
    long long value;
    /* With wait_replicas > 0, each request ends with WAIT wait_replicas
     * wait_ms on the connection that ran the calls, and acked is the
     * fewest replicas that acknowledged one (tc__scall_run sets it). */
    int wait_replicas, wait_ms;
    long long acked;
    /* tc__scall_run's own */
    int eval;
    size_t nretry, cur;
    unsigned char *retry; /* call i answered NOSCRIPT to EVALSHA */
};

/* A call's first words: "*<2 + nwords>" and EVALSHA <digest>, or EVAL
 * <text> when the server had lost the script. */
void tc__scall_head(tc__req *q, const tc__scall *sc, size_t nwords);
/*
 * Runs sc->ncalls calls of the script as EVALSHA (the digests learnt with
 * SCRIPT LOAD on the first call of the process), then those that met
 * NOSCRIPT as EVAL; flags, key and nkeys as tc__redis_run. Returns as
 * tc__redis_run.
 */
int tc__scall_run(tc__store *s, tc__scall *sc, int flags, const char *key,
                  size_t nkeys, tc__err *err);

/* ---- redis_pop.c ------------------------------------------------------ */

/* The popularity table's operations (store.h), keys TC__POP_RANK_KEY and
 * TC__POP_TEXT_KEY; the cluster store runs them on the master of their
 * slot. */
int tc__redis_pop_add(tc__store *s, const tc__pop_add *items, size_t n,
                      size_t keep, tc__err *err);
int tc__redis_pop_top(tc__store *s, size_t n, tc__pop_top **out, size_t *got,
                      tc__err *err);

/* ---- redis_tally.c ---------------------------------------------------- */

/* The tally's operations (store.h), key TC__TALLY_KEY; the cluster store
 * runs them on the master of its slot. */
int tc__redis_tally_add(tc__store *s, const tc__tally *items, size_t n,
                        const char *floor, tc__err *err);
int tc__redis_tally_read(tc__store *s, tc__tally **out, size_t *n,
                         tc__err *err);

/* ---- redis_track.c ---------------------------------------------------- */

/* The store's track and untrack (store.h). */
int tc__redis_track(tc__store *s, const tc__track_spec *spec, void **out,
                    tc__err *err);
void tc__redis_untrack(void *t);

/* ---- redis_fb.c -------------------------------------------------------- */

/* The prefix of the feedback keys on a single server (stream, counts,
 * seen:<id>), and on a cluster: there under the hash tag TC__FB_TAG, so
 * that each script's keys, the override's included, share one slot. */
#define TC__FB_KEYS "tc:fb:"
#define TC__FB_CLUSTER_KEYS "{" TC__FB_TAG "}:"

/* The feedback operations (fbstore.h) with the keys under pfx: the
 * single server's table passes TC__FB_KEYS, the cluster store
 * TC__FB_CLUSTER_KEYS on the master of their slot. */
int tc__rfb_put(tc__store *s, const char *pfx, tc__fb_put *items, size_t n,
                int64_t retention_ms, tc__err *err);
int tc__rfb_trim(tc__store *s, const char *pfx, int64_t retention_ms,
                 uint64_t *removed, tc__err *err);
int tc__rfb_count(tc__store *s, const char *pfx, const char *name, uint64_t n,
                  tc__err *err);
int tc__rfb_consume(tc__store *s, const char *pfx, const char *consumer,
                    size_t max, int64_t claim_idle_ms, char ***ids,
                    char ***records, size_t *n, tc__err *err);
int tc__rfb_ack(tc__store *s, const char *pfx, const char *const *ids, size_t n,
                tc__err *err);
int tc__rfb_purge(tc__store *s, const char *pfx, const char *const *ids,
                  size_t n, uint64_t *removed, tc__err *err);
int tc__rfb_stats(tc__store *s, const char *pfx, tc__fb_stats *out,
                  tc__err *err);
/* An export resumes after the stream entry named in after ("": from
 * the start) and leaves there the last entry it read, so that the
 * cluster, retrying on a slot's new master after a redirect, hands no
 * record to each() twice. */
#define TC__RFB_AFTER_MAX 48 /* "<ms>-<seq>", two 64-bit numbers */
int tc__rfb_export(tc__store *s, const char *pfx, char *after,
                   int (*each)(void *ud, const char *id, const char *json,
                               size_t len),
                   void *ud, tc__err *err);

/*
 * For tests and benchmarks: records per script call of a feedback put;
 * 0 restores the default. Process-wide.
 */
void tc__fb_redis_set_script_batch(size_t records);

#endif /* TC_STORE_REDIS_H */
