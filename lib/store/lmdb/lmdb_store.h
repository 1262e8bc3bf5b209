/*
 * store_lmdb.h - what store_lmdb_fb.c (feedback records in the same LMDB
 * environment as the cache) needs of store_lmdb.c: the named databases,
 * transactions, error mapping, and a cache write inside a transaction of
 * its own, so that a record and its override commit together. Only the
 * two LMDB files include it; nothing else sees an LMDB type.
 */
#ifndef TC_STORE_LMDB_H
#define TC_STORE_LMDB_H

#include <lmdb.h>

#include "store/store.h"

/*
 * Feedback's named databases, opened with the environment. Records are
 * keyed by id, which sorts by time, so retention sweeps from the front;
 * the queue is keyed by a sequence number taken inside the write
 * transaction, so it follows commit order even when ids (taken before
 * the transaction) do not.
 */
typedef struct tc__lmdb_dbs {
    MDB_env *env;
    MDB_dbi rec;   /* id -> be64 seq || record JSON */
    MDB_dbi queue; /* be64 seq -> id: accepted, never delivered */
    MDB_dbi pend;  /* id -> le64 delivery ms || consumer: not acked */
    MDB_dbi cnt;   /* counter name -> le64 count */
    MDB_dbi meta;  /* "seq" -> le64 next sequence number */
} tc__lmdb_dbs;

/* The databases of an LMDB store; TC_EINVAL for any other store. */
int tc__lmdb_get_dbs(tc__store *s, tc__lmdb_dbs *out);
/* The environment's directory, for messages. */
const char *tc__lmdb_dir(tc__store *s);
/* mdb_txn_begin, retried once after clearing dead readers; an LMDB code. */
int tc__lmdb_begin(tc__store *s, unsigned flags, MDB_txn **txn);
/* Maps an LMDB code to TC_E* with a message "op what: ...", and counts
 * it in the store's health. */
int tc__lmdb_fail(tc__store *s, tc__err *err, int rc, const char *op,
                  const char *what);
/* A cache entry written (with its expiry index) inside txn. */
int tc__lmdb_txn_set(tc__store *s, MDB_txn *txn, const char *key,
                     const void *val, size_t len, int64_t ttl_ms, tc__err *err);
/* After n cache entries were written: the store's periodic sweep. */
void tc__lmdb_wrote(tc__store *s, size_t n);
/* One batch of expired cache entries removed now (for a full map);
 * returns how many. */
size_t tc__lmdb_sweep_some(tc__store *s);
/* Flushes committed transactions to disk (the store runs MDB_NOSYNC). */
int tc__lmdb_sync(tc__store *s, tc__err *err);

#endif
