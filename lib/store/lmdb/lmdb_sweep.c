/*
 * lmdb_sweep.c - removal of expired cache entries. An expired entry
 * already reads as a miss; the sweep only reclaims its room, walking the
 * expiry index (big-endian expiry || key, so byte order is expiry order)
 * from the front in small batches piggybacked on writes, so that no
 * writer ever waits long behind it.
 */
#include <string.h>

#include "store/lmdb/lmdb_store.h"

/*
 * The sweep runs one batch of at most SWEEP_BATCH deletions after every
 * SWEEP_EVERY written entries, and after SWEEP_MS of quiet. Each written
 * entry adds at most one index entry, so the count trigger alone removes
 * expired entries at least as fast as writes can create them; the timer
 * catches up when writes are rare.
 */
#define SWEEP_BATCH 1000
#define SWEEP_EVERY 1000
#define SWEEP_MS 1000

/*
 * Removes at most max expired entries in one write transaction, so a sweep
 * never holds LMDB's single writer lock for long. Restarting from the
 * first index entry after each deletion is O(log n) and sidesteps cursor
 * positioning after a delete.
 */
static int sweep_batch(tc__lmdb_env *e, uint64_t now_ms, size_t max,
                       size_t *removed, tc__err *err)
{
    unsigned char key[TC__LMDB_KEY_MAX];
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val ik, iv, k, d;
    int rc;

    *removed = 0;
    rc = tc__lmdb_begin(e, 0, &txn);
    if (rc != 0) {
        return tc__lmdb_error(e, err, rc, "SWEEP", e->dir);
    }
    rc = mdb_cursor_open(txn, e->index, &cur);
    while (rc == 0 && *removed < max) {
        uint64_t exp;

        rc = mdb_cursor_get(cur, &ik, &iv, MDB_FIRST);
        if (rc != 0) {
            break;
        }
        exp = ik.mv_size >= TC__LMDB_HDR ? tc__get_be64(ik.mv_data) : 0;
        if (exp > now_ms) {
            break;
        }
        k.mv_size = ik.mv_size > TC__LMDB_HDR ? ik.mv_size - TC__LMDB_HDR : 0;
        if (k.mv_size > 0) {
            memcpy(key, (unsigned char *)ik.mv_data + TC__LMDB_HDR, k.mv_size);
        }
        k.mv_data = key;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }
        if (k.mv_size == 0) {
            continue; /* a damaged index entry, now dropped */
        }
        (*removed)++;
        /* Only the entry the index names: a newer write has its own. */
        rc = mdb_get(txn, e->data, &k, &d);
        if (rc == 0 && d.mv_size >= TC__LMDB_HDR &&
            tc__get_le64(d.mv_data) == exp) {
            rc = mdb_del(txn, e->data, &k, NULL);
        } else if (rc == MDB_NOTFOUND) {
            rc = 0;
        }
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        *removed = 0;
        return tc__lmdb_error(e, err, rc, "SWEEP", e->dir);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        *removed = 0;
        return tc__lmdb_error(e, err, rc, "SWEEP", e->dir);
    }
    return TC_OK;
}

/*
 * Called after a successful write of n entries. Costs two atomic reads
 * when no sweep is due; when one is, the first writer to notice runs one
 * batch and the others go on.
 */
void tc__lmdb_wrote(tc__lmdb_store *s, size_t n)
{
    tc__lmdb_env *e = s->e;
    uint64_t before = atomic_fetch_add(&e->writes, n);
    int64_t now = tc__now_ms();
    size_t removed;
    tc__err err;
    int rc;

    if (before / SWEEP_EVERY == (before + n) / SWEEP_EVERY &&
        now - atomic_load(&e->last_sweep_ms) < SWEEP_MS) {
        return;
    }
    if (atomic_flag_test_and_set(&e->sweeping)) {
        return;
    }
    atomic_store(&e->last_sweep_ms, now);
    rc = sweep_batch(e, (uint64_t)tc__wall_ms(), SWEEP_BATCH, &removed, &err);
    atomic_flag_clear(&e->sweeping);
    if (rc != TC_OK) {
        /* The write succeeded; a failed sweep only delays reclaiming. */
        atomic_fetch_add(&s->errors, 1);
        if (s->log) {
            const char *fields[] = {
                "dir",    e->dir,  "error", tc__error_name(rc),
                "detail", err.msg, NULL,
            };
            tc__log_limited(s->log, &s->sweep_rl, TC_LOG_WARN,
                            "lmdb_sweep_failed", fields);
        }
    }
}

size_t tc__lmdb_sweep_some(tc__lmdb_env *e)
{
    size_t removed = 0;
    tc__err ignored;

    if (sweep_batch(e, (uint64_t)tc__wall_ms(), SWEEP_BATCH, &removed,
                    &ignored) != TC_OK) {
        return 0;
    }
    return removed;
}

int tc__lmdb_sweep_all(tc__lmdb_store *s, uint64_t now_ms, uint64_t *removed,
                       tc__err *err)
{
    size_t n;
    int rc;

    do {
        rc = sweep_batch(s->e, now_ms, SWEEP_BATCH, &n, err);
        if (rc != TC_OK) {
            atomic_fetch_add(&s->errors, 1);
            return rc;
        }
        if (removed) {
            *removed += n;
        }
    } while (n == SWEEP_BATCH);
    return TC_OK;
}
