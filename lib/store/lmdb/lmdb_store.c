/*
 * lmdb_store.c - the cache's operations on an embedded LMDB environment,
 * shared by the processes of one host through LMDB's own locks. Each
 * value carries its absolute wall-clock expiry in front of the caller's
 * bytes, so a TTL means the same in every process: expired entries read
 * as misses until lmdb_sweep.c reclaims them. It also lends feedback
 * (lmdb_fb.c) a cache write inside the feedback's own transaction.
 */
#include <stdio.h>
#include <string.h>

#include <lmdb.h>

#include "store/lmdb/lmdb_store.h"

/* LMDB stores a value of at most 4 GiB - 1 bytes. */
#define VAL_MAX (UINT32_MAX - TC__LMDB_HDR)
/* The longest decimal int64, "-9223372036854775808", and a buffer with
 * room for it and its NUL (the text of a counter). */
#define I64_DIGITS 20
#define I64_TEXT 24

/* A failure of a call counts in the store's health (errors). */
int tc__lmdb_fail(tc__lmdb_store *s, tc__err *err, int rc, const char *op,
                  const char *what)
{
    atomic_fetch_add(&s->errors, 1);
    return tc__lmdb_error(s->e, err, rc, op, what);
}

/* ---- entries -------------------------------------------------------- */

/* now + ttl, saturated: the expiry of an entry written now. */
static uint64_t expiry_at(int64_t now_ms, int64_t ttl_ms)
{
    if (ttl_ms > INT64_MAX - now_ms) {
        return INT64_MAX;
    }
    return (uint64_t)(now_ms + ttl_ms);
}

/* Parses decimal text strictly, as Redis does for INCR. */
static int parse_i64(const unsigned char *p, size_t n, int64_t *out)
{
    uint64_t v = 0;
    uint64_t lim = INT64_MAX;
    size_t i = 0;
    int neg = 0;

    if (n > 0 && p[0] == '-') {
        neg = 1;
        lim = (uint64_t)INT64_MAX + 1;
        i = 1;
    }
    if (i == n || n > I64_DIGITS) {
        return -1;
    }
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        if (v > (lim - (uint64_t)(p[i] - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* The key of an entry, checked against LMDB's limit. */
static int entry_key(const tc__lmdb_env *e, const char *op, const char *key,
                     MDB_val *k, tc__err *err)
{
    size_t n;

    if (!key || !*key) {
        return tc__errf(err, TC_EINVAL, "%s: empty key", op);
    }
    n = strlen(key);
    if (n > e->max_key) {
        return tc__errf(err, TC_ETOOBIG,
                        "%s %.32s...: key of %zu bytes is over LMDB's "
                        "limit of %zu",
                        op, key, n, e->max_key);
    }
    k->mv_size = n;
    k->mv_data = (void *)key;
    return TC_OK;
}

/* Removes the index entry of key k, if it has one; reports its expiry. */
static int unindex(const tc__lmdb_env *e, MDB_txn *txn, const MDB_val *k,
                   int *found, uint64_t *old_exp)
{
    unsigned char buf[TC__LMDB_KEY_MAX];
    MDB_val d, ik;
    int rc;

    *found = 0;
    *old_exp = 0;
    rc = mdb_get(txn, e->data, (MDB_val *)k, &d);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    *found = 1;
    if (d.mv_size >= TC__LMDB_HDR) {
        *old_exp = tc__get_le64(d.mv_data);
    }
    if (*old_exp == 0) {
        return 0;
    }
    tc__put_be64(buf, *old_exp);
    memcpy(buf + TC__LMDB_HDR, k->mv_data, k->mv_size);
    ik.mv_size = TC__LMDB_HDR + k->mv_size;
    ik.mv_data = buf;
    rc = mdb_del(txn, e->index, &ik, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Writes header and value straight into the map (MDB_RESERVE), so a write
 * copies the value once and allocates nothing.
 */
static int entry_put(const tc__lmdb_env *e, MDB_txn *txn, const MDB_val *k,
                     uint64_t exp, const void *val, size_t len)
{
    unsigned char buf[TC__LMDB_KEY_MAX];
    MDB_val d, ik, empty = {0, NULL};
    int rc;

    d.mv_size = TC__LMDB_HDR + len;
    d.mv_data = NULL;
    rc = mdb_put(txn, e->data, (MDB_val *)k, &d, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }
    tc__put_le64(d.mv_data, exp);
    if (len > 0) {
        memcpy((unsigned char *)d.mv_data + TC__LMDB_HDR, val, len);
    }
    if (exp == 0) {
        return 0;
    }
    tc__put_be64(buf, exp);
    memcpy(buf + TC__LMDB_HDR, k->mv_data, k->mv_size);
    ik.mv_size = TC__LMDB_HDR + k->mv_size;
    ik.mv_data = buf;
    return mdb_put(txn, e->index, &ik, &empty, 0);
}

/* ---- operations ------------------------------------------------------ */

/* A failed mget leaves no value set. */
static void mget_release(tc__store_get *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tc__free(items[i].val);
        items[i].val = NULL;
        items[i].len = 0;
        items[i].ttl_ms = -1;
    }
}

int tc__lmdb_mget(tc__store *base, tc__store_get *items, size_t n, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    tc__lmdb_env *e = s->e;
    MDB_txn *txn;
    MDB_val k, d;
    uint64_t exp, now;
    int rc;

    tc__store_get_clear(items, n);
    rc = tc__lmdb_begin(e, MDB_RDONLY, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "GET", n > 0 ? items[0].key : "");
    }
    now = (uint64_t)tc__wall_ms();
    for (size_t i = 0; i < n; i++) {
        tc__store_get *it = &items[i];

        it->status = entry_key(e, "GET", it->key, &k, err);
        if (it->status != TC_OK) {
            continue;
        }
        rc = mdb_get(txn, e->data, &k, &d);
        if (rc == MDB_NOTFOUND) {
            it->status = TC_MISS;
            continue;
        }
        if (rc != 0) {
            mdb_txn_abort(txn);
            mget_release(items, n);
            return tc__lmdb_fail(s, err, rc, "GET", it->key);
        }
        if (d.mv_size < TC__LMDB_HDR) {
            it->status = tc__errf(err, TC_ECORRUPT,
                                  "GET %s: LMDB value of %zu bytes has no "
                                  "expiry header",
                                  it->key, d.mv_size);
            continue;
        }
        exp = tc__get_le64(d.mv_data);
        if (exp != 0 && exp <= now) {
            /* Expired: a miss now, removed by the next sweep. */
            it->status = TC_MISS;
            continue;
        }
        it->val = tc__memdup0((unsigned char *)d.mv_data + TC__LMDB_HDR,
                              d.mv_size - TC__LMDB_HDR);
        if (!it->val) {
            mdb_txn_abort(txn);
            mget_release(items, n);
            return tc__errf(err, TC_ENOMEM, "GET %s: out of memory", it->key);
        }
        it->len = d.mv_size - TC__LMDB_HDR;
        it->ttl_ms = exp == 0 ? -1 : (int64_t)(exp - now);
        it->status = TC_OK;
    }
    mdb_txn_abort(txn);
    return TC_OK;
}

/* One write transaction for all items: all are written or none. */
static int mset_txn(tc__lmdb_env *e, tc__store_set *items, size_t n,
                    tc__err *err)
{
    MDB_txn *txn;
    MDB_val k;
    uint64_t old_exp;
    int64_t now;
    int found;
    int rc;

    rc = tc__lmdb_begin(e, 0, &txn);
    if (rc != 0) {
        return tc__lmdb_error(e, err, rc, "SET", n > 0 ? items[0].key : "");
    }
    now = tc__wall_ms();
    for (size_t i = 0; i < n; i++) {
        tc__store_set *it = &items[i];

        it->status = entry_key(e, "SET", it->key, &k, err);
        if (it->status != TC_OK) {
            continue;
        }
        if (it->ttl_ms <= 0 || (!it->val && it->len > 0)) {
            it->status =
                tc__errf(err, TC_EINVAL, "SET %s: bad value or TTL (%lld ms)",
                         it->key, (long long)it->ttl_ms);
            continue;
        }
        if (it->len > VAL_MAX) {
            it->status = tc__errf(err, TC_ETOOBIG,
                                  "SET %s: value of %zu bytes is over "
                                  "LMDB's limit",
                                  it->key, it->len);
            continue;
        }
        /* Overwriting must drop the old expiry's index entry. */
        rc = unindex(e, txn, &k, &found, &old_exp);
        if (rc == 0) {
            rc = entry_put(e, txn, &k, expiry_at(now, it->ttl_ms), it->val,
                           it->len);
        }
        if (rc != 0) {
            mdb_txn_abort(txn);
            return tc__lmdb_error(e, err, rc, n > 1 ? "MSET" : "SET", it->key);
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return tc__lmdb_error(e, err, rc, n > 1 ? "MSET" : "SET",
                              n > 0 ? items[0].key : "");
    }
    return TC_OK;
}

int tc__lmdb_mset(tc__store *base, tc__store_set *items, size_t n, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    int rc;

    rc = mset_txn(s->e, items, n, err);
    if (rc == TC_EFULL && tc__lmdb_sweep_some(s->e) > 0) {
        /* Expired entries were taking the room; try once more. */
        rc = mset_txn(s->e, items, n, err);
    }
    if (rc != TC_OK) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = rc;
        }
        atomic_fetch_add(&s->errors, 1);
        return rc;
    }
    tc__lmdb_wrote(s, n);
    return TC_OK;
}

int tc__lmdb_del(tc__store *base, const char *key, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    tc__lmdb_env *e = s->e;
    MDB_txn *txn = NULL;
    MDB_val k;
    uint64_t exp = 0;
    int found = 0;
    int rc;

    rc = entry_key(e, "DEL", key, &k, err);
    if (rc != TC_OK) {
        return rc;
    }
    rc = tc__lmdb_begin(e, 0, &txn);
    if (rc != 0) {
        txn = NULL;
    } else {
        rc = unindex(e, txn, &k, &found, &exp);
    }
    if (rc == 0 && !found) {
        mdb_txn_abort(txn);
        return TC_MISS;
    }
    if (rc == 0) {
        rc = mdb_del(txn, e->data, &k, NULL);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "DEL", key);
    }
    /* An expired entry was already gone for readers. */
    return exp != 0 && exp <= (uint64_t)tc__wall_ms() ? TC_MISS : TC_OK;
}

/*
 * A live counter keeps its expiry, as Redis' INCR does; a new one (or one
 * replacing an expired entry) has none.
 */
int tc__lmdb_incr(tc__store *base, const char *key, int64_t *out, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    tc__lmdb_env *e = s->e;
    char text[I64_TEXT];
    MDB_txn *txn = NULL;
    MDB_val k, d;
    uint64_t exp = 0;
    int64_t v = 0;
    int found = 0;
    int rc, n;

    *out = 0;
    rc = entry_key(e, "INCR", key, &k, err);
    if (rc != TC_OK) {
        return rc;
    }
    rc = tc__lmdb_begin(e, 0, &txn);
    if (rc != 0) {
        txn = NULL;
        goto fail;
    }
    rc = mdb_get(txn, e->data, &k, &d);
    if (rc == 0) {
        exp = d.mv_size >= TC__LMDB_HDR ? tc__get_le64(d.mv_data) : 0;
        if (exp != 0 && exp <= (uint64_t)tc__wall_ms()) {
            /* Expired: it counts as absent, and its index entry goes. */
            rc = unindex(e, txn, &k, &found, &exp);
            exp = 0;
        } else if (d.mv_size < TC__LMDB_HDR ||
                   parse_i64((unsigned char *)d.mv_data + TC__LMDB_HDR,
                             d.mv_size - TC__LMDB_HDR, &v) != 0) {
            mdb_txn_abort(txn);
            return tc__errf(err, TC_EPROTO,
                            "INCR %s: the value is not a decimal integer", key);
        }
    } else if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (rc != 0) {
        goto fail;
    }
    if (v == INT64_MAX) {
        mdb_txn_abort(txn);
        return tc__errf(err, TC_EPROTO, "INCR %s: the counter would overflow",
                        key);
    }
    v++;
    n = snprintf(text, sizeof(text), "%lld", (long long)v);
    /* The index entry, if any, already names (exp, key). */
    d.mv_size = TC__LMDB_HDR + (size_t)n;
    d.mv_data = NULL;
    rc = mdb_put(txn, e->data, &k, &d, MDB_RESERVE);
    if (rc != 0) {
        goto fail;
    }
    tc__put_le64(d.mv_data, exp);
    memcpy((unsigned char *)d.mv_data + TC__LMDB_HDR, text, (size_t)n);
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        goto fail;
    }
    *out = v;
    tc__lmdb_wrote(s, 1);
    return TC_OK;

fail:
    if (txn) {
        mdb_txn_abort(txn);
    }
    return tc__lmdb_fail(s, err, rc, "INCR", key);
}

int tc__lmdb_ping(tc__store *base, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_txn *txn;
    int rc;

    rc = tc__lmdb_begin(s->e, MDB_RDONLY, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "PING", s->e->dir);
    }
    mdb_txn_abort(txn);
    return TC_OK;
}

/*
 * entries counts the data DB, so expired entries not yet swept are in it;
 * bytes counts the pages of both DBs, not LMDB's free pages, which it
 * reuses.
 */
void tc__lmdb_health(tc__store *base, tc__store_health *out)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_stat sd, si;
    MDB_txn *txn;

    memset(out, 0, sizeof(*out));
    out->breaker = "closed";
    out->errors = atomic_load(&s->errors);
    out->entries = -1;
    out->bytes = -1;
    if (tc__lmdb_begin(s->e, MDB_RDONLY, &txn) != 0) {
        return;
    }
    if (mdb_stat(txn, s->e->data, &sd) == 0 &&
        mdb_stat(txn, s->e->index, &si) == 0) {
        out->up = 1;
        out->entries = (int64_t)sd.ms_entries;
        out->bytes = (int64_t)(sd.ms_branch_pages + sd.ms_leaf_pages +
                               sd.ms_overflow_pages + si.ms_branch_pages +
                               si.ms_leaf_pages + si.ms_overflow_pages) *
                     (int64_t)sd.ms_psize;
    }
    mdb_txn_abort(txn);
}

/* ---- for feedback (lmdb_fb.c) --------------------------------------- */

int tc__lmdb_txn_set(tc__lmdb_env *e, MDB_txn *txn, const char *key,
                     const void *val, size_t len, int64_t ttl_ms, tc__err *err)
{
    uint64_t old_exp;
    MDB_val k;
    int found;
    int rc;

    rc = entry_key(e, "SET", key, &k, err);
    if (rc != TC_OK) {
        return rc;
    }
    if (ttl_ms <= 0 || len > VAL_MAX || (!val && len > 0)) {
        return tc__errf(err, TC_EINVAL, "SET %s: bad value or TTL (%lld ms)",
                        key, (long long)ttl_ms);
    }
    rc = unindex(e, txn, &k, &found, &old_exp);
    if (rc == 0) {
        rc = entry_put(e, txn, &k, expiry_at(tc__wall_ms(), ttl_ms), val, len);
    }
    return rc == 0 ? TC_OK : tc__lmdb_error(e, err, rc, "SET", key);
}

int tc__lmdb_sync(tc__lmdb_store *s, tc__err *err)
{
    int rc = mdb_env_sync(s->e->env, 1);

    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "SYNC", s->e->dir);
    }
    return TC_OK;
}
