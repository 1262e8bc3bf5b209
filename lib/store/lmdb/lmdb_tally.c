/*
 * lmdb_tally.c - the tally on LMDB: the named database "tally", field ->
 * le64 count, added to in one write transaction per flush. Fields start
 * with their day, and LMDB keeps keys in byte order, so the trim is a
 * cursor from the first key that stops at the first day it keeps.
 */
#include <errno.h>
#include <string.h>

#include "store/lmdb/lmdb_store.h"

/* Adds one item's count inside txn. Returns an LMDB code. */
static int add_one(tc__lmdb_env *e, MDB_txn *txn, const tc__tally *it)
{
    MDB_val k = {strlen(it->field), it->field}, d, w = {8, NULL};
    uint64_t count = it->count;
    int rc = mdb_get(txn, e->tally, &k, &d);

    if (rc == 0 && d.mv_size == 8) {
        uint64_t had = tc__get_le64(d.mv_data);

        count = had > UINT64_MAX - count ? UINT64_MAX : had + count;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    if ((rc = mdb_put(txn, e->tally, &k, &w, MDB_RESERVE)) == 0) {
        tc__put_le64(w.mv_data, count);
    }
    return rc;
}

/* Deletes the fields whose day sorts before floor's, oldest first. */
static int trim(tc__lmdb_env *e, MDB_txn *txn, const char *floor)
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc = mdb_cursor_open(txn, e->tally, &cur);

    if (rc != 0) {
        return rc;
    }
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        size_t n = k.mv_size < 8 ? k.mv_size : 8;

        if (memcmp(k.mv_data, floor, n) > 0 ||
            (memcmp(k.mv_data, floor, n) == 0 && n == 8)) {
            break;
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int tc__lmdb_tally_add(tc__store *base, const tc__tally *items, size_t n,
                       const char *floor, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_txn *txn = NULL;
    int rc;

    if (n == 0 && !floor) {
        return TC_OK;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = items[i].field ? strlen(items[i].field) : 0;

        if (len == 0 || len >= TC__TALLY_FIELD_MAX || len > s->e->max_key) {
            return tc__errf(err, TC_EINVAL, "TALLY ADD: item %zu: bad field",
                            i);
        }
    }
    if ((rc = tc__lmdb_begin(s->e, 0, &txn)) != 0) {
        return tc__lmdb_fail(s, err, rc, "TALLY ADD", "");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = add_one(s->e, txn, &items[i]);
    }
    if (rc == 0 && floor) {
        rc = trim(s->e, txn, floor);
    }
    if (rc == 0 && (rc = mdb_txn_commit(txn)) == 0) {
        return TC_OK;
    }
    if (rc != 0 && txn) {
        mdb_txn_abort(txn);
    }
    return tc__lmdb_fail(s, err, rc, "TALLY ADD", "");
}

int tc__lmdb_tally_read(tc__store *base, tc__tally **out, size_t *n,
                        tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_stat st;
    MDB_val k, d;
    tc__tally *t = NULL;
    size_t m = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = tc__lmdb_begin(s->e, MDB_RDONLY, &txn)) != 0) {
        return tc__lmdb_fail(s, err, rc, "TALLY READ", "");
    }
    if ((rc = mdb_stat(txn, s->e->tally, &st)) == 0 && st.ms_entries > 0 &&
        !(t = tc__calloc(st.ms_entries, sizeof(*t)))) {
        rc = ENOMEM;
    }
    if (rc == 0 && t) {
        rc = mdb_cursor_open(txn, s->e->tally, &cur);
    }
    for (rc = rc == 0 && cur ? mdb_cursor_get(cur, &k, &d, MDB_FIRST) : rc;
         rc == 0 && m < st.ms_entries;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (d.mv_size != 8) {
            continue; /* not a count: left out */
        }
        if (!(t[m].field = tc__malloc(k.mv_size + 1))) {
            rc = ENOMEM;
            break;
        }
        memcpy(t[m].field, k.mv_data, k.mv_size);
        t[m].field[k.mv_size] = '\0';
        t[m++].count = tc__get_le64(d.mv_data);
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        tc__tally_free(t, m);
        return rc == ENOMEM
                   ? tc__errf(err, TC_ENOMEM, "TALLY READ: out of memory")
                   : tc__lmdb_fail(s, err, rc, "TALLY READ", "");
    }
    *out = t;
    *n = m;
    return TC_OK;
}
