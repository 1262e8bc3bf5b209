/*
 * lmdb_store.h - what the files of the LMDB store share; only they
 * include it, and nothing else sees an LMDB type. From the bottom up,
 * each file calling only those before it:
 *
 *   lmdb_env.c      the environment: opened once per directory and
 *                   process, shared by handles; transactions; errors
 *   lmdb_sweep.c    removal of expired cache entries, in small batches
 *   lmdb_store.c    the cache's operations (get, set, del, incr, ...)
 *   lmdb_fbqueue.c  feedback's retraining queue: consume, ack
 *   lmdb_fb.c       feedback records: put, trim, count, stats, export
 *   lmdb_pop.c      the popularity table: counts and texts by id
 *   lmdb_tally.c    the tally: counters by field
 *   lmdb.c          the table of operations, opening and closing
 */
#ifndef TC_STORE_LMDB_H
#define TC_STORE_LMDB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>

#include "base/bytes.h"
#include "store/fbstore.h"
#include "store/store.h"

/* Bytes in front of each cache value: its expiry, ms since the epoch, LE
 * (0: none). */
#define TC__LMDB_HDR TC__U64_BYTES
/*
 * LMDB's key limit (511 in Debian's build). The expiry index prefixes the
 * key with TC__LMDB_HDR bytes, so a cache key may have that many less.
 */
#define TC__LMDB_KEY_MAX 511

/*
 * Feedback's named databases, opened with the environment. Records are
 * keyed by id, which makes the id index and the put's duplicate check one
 * lookup; an id says nothing of time, so "fb_order" keeps them in the
 * order they were stored (the time, then a sequence number taken inside
 * the write transaction), which retention sweeps from the front and
 * export walks. The queue is keyed by the same sequence number, so it
 * follows commit order.
 */
/* A feedback id of this many bytes or more is not ours. */
#define TC__LMDB_ID_MAX (TC__FB_ID_LEN + 1)
/* The sequence number in front of a record's JSON. */
#define TC__LMDB_REC_HDR TC__U64_BYTES

typedef struct tc__lmdb_dbs {
    MDB_dbi rec;   /* id -> be64 seq || record JSON */
    MDB_dbi queue; /* be64 seq -> id: accepted, never delivered */
    MDB_dbi pend;  /* id -> le64 delivery ms || consumer: not acked */
    MDB_dbi cnt;   /* counter name (or "#" hash) -> le64 count || name */
    MDB_dbi meta;  /* "seq" -> le64 next sequence number */
    MDB_dbi order; /* be64 stored ms || be64 seq -> id, every record */
} tc__lmdb_dbs;

/*
 * One open environment, shared by every store handle of this process on
 * the same directory. LMDB forbids opening one environment twice in a
 * process: POSIX record locks are per process, so the second open would
 * re-initialize the lock file under the first, and closing either would
 * drop the other's locks. Handles therefore share this, refcounted.
 */
typedef struct tc__lmdb_env {
    struct tc__lmdb_env *next;
    dev_t dev;
    ino_t ino;
    pid_t pid;     /* the opener; a forked child must not touch it */
    unsigned refs; /* under the registry's mutex (lmdb_env.c) */
    MDB_env *env;
    MDB_dbi data;    /* key -> le64 expiry || value */
    MDB_dbi index;   /* be64 expiry || key -> "", entries with an expiry */
    tc__lmdb_dbs fb; /* feedback's named databases */
    MDB_dbi pop;     /* popularity: id -> le64 count || text (lmdb_pop.c) */
    MDB_dbi tally;   /* the tally: field -> le64 count (lmdb_tally.c) */
    size_t map_bytes;
    size_t max_key;
    char *dir;
    /* The sweep's state (lmdb_sweep.c), shared by the handles. */
    _Atomic uint64_t writes;
    _Atomic int64_t last_sweep_ms; /* tc__now_ms() */
    atomic_flag sweeping;
} tc__lmdb_env;

/* A store handle: the tc__store of lmdb.c's table. */
typedef struct tc__lmdb_store {
    tc__store base;
    tc__lmdb_env *e;
    const tc__logger *log;
    tc__ratelimit sweep_rl;
    _Atomic uint64_t errors;
} tc__lmdb_store;

/* ---- lmdb_env.c -------------------------------------------------------- */

/*
 * The environment of cfg->dir, created with its parents when missing,
 * opened on first use in this process and shared after that (one more
 * reference). Returns TC_OK; TC_EIO (the directory or the environment);
 * TC_EFULL; TC_ENOMEM.
 */
int tc__lmdb_env_get(tc__lmdb_env **out, const tc__store_config *cfg,
                     const tc__logger *log, tc__err *err);
/* Drops a reference; the last one syncs and closes the environment. */
void tc__lmdb_env_put(tc__lmdb_env *e);
/* mdb_txn_begin, retried once after clearing dead readers; an LMDB code. */
int tc__lmdb_begin(tc__lmdb_env *e, unsigned flags, MDB_txn **txn);
/* Maps an LMDB code to TC_E* with a message "op what: ...". */
int tc__lmdb_error(const tc__lmdb_env *e, tc__err *err, int rc, const char *op,
                   const char *what);

/* ---- lmdb_sweep.c ------------------------------------------------------ */

/* After n cache entries were written: one batch now and then. */
void tc__lmdb_wrote(tc__lmdb_store *s, size_t n);
/* One batch of expired cache entries removed now (for a full map);
 * returns how many. */
size_t tc__lmdb_sweep_some(tc__lmdb_env *e);
/* Batches until nothing expired as of now_ms is left (store.h's
 * tc__store_lmdb_sweep). */
int tc__lmdb_sweep_all(tc__lmdb_store *s, uint64_t now_ms, uint64_t *removed,
                       tc__err *err);

/* ---- lmdb_store.c ------------------------------------------------------ */

/* The cache's operations, for lmdb.c's table (store.h says what each
 * does). */
int tc__lmdb_mget(tc__store *s, tc__store_get *items, size_t n, tc__err *err);
int tc__lmdb_mset(tc__store *s, tc__store_set *items, size_t n, tc__err *err);
int tc__lmdb_del(tc__store *s, const char *key, tc__err *err);
int tc__lmdb_incr(tc__store *s, const char *key, int64_t *out, tc__err *err);
int tc__lmdb_ping(tc__store *s, tc__err *err);
void tc__lmdb_health(tc__store *s, tc__store_health *out);

/* tc__lmdb_error, counted in the store's health. */
int tc__lmdb_fail(tc__lmdb_store *s, tc__err *err, int rc, const char *op,
                  const char *what);
/* A cache entry written (with its expiry index) inside txn, so that a
 * feedback record and its override commit together. */
int tc__lmdb_txn_set(tc__lmdb_env *e, MDB_txn *txn, const char *key,
                     const void *val, size_t len, int64_t ttl_ms, tc__err *err);
/* Flushes committed transactions to disk (the store runs MDB_NOSYNC). */
int tc__lmdb_sync(tc__lmdb_store *s, tc__err *err);

/* ---- lmdb_fbqueue.c ---------------------------------------------------- */

/* fbstore.h's consume and ack, for lmdb_fb.c's table. */
int tc__lmdb_fb_consume(tc__store *s, const char *consumer, size_t max,
                        int64_t claim_idle_ms, char ***ids, char ***records,
                        size_t *n, tc__err *err);
int tc__lmdb_fb_ack(tc__store *s, const char *const *ids, size_t n,
                    tc__err *err);

/* ---- lmdb_pop.c -------------------------------------------------------- */

/* The popularity table's operations (store.h). */
int tc__lmdb_pop_add(tc__store *s, const tc__pop_add *items, size_t n,
                     size_t keep, tc__err *err);
int tc__lmdb_pop_top(tc__store *s, size_t n, tc__pop_top **out, size_t *got,
                     tc__err *err);

/* ---- lmdb_tally.c ------------------------------------------------------ */

/* The tally's operations (store.h). */
int tc__lmdb_tally_add(tc__store *s, const tc__tally *items, size_t n,
                       const char *floor, tc__err *err);
int tc__lmdb_tally_read(tc__store *s, tc__tally **out, size_t *n, tc__err *err);
#endif /* TC_STORE_LMDB_H */
