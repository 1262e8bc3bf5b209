/*
 * store_lmdb.c - the L2 on an embedded LMDB environment, shared by the
 * processes of one host through LMDB's own locks. Each value carries its
 * absolute wall-clock expiry in front of the caller's bytes, so a TTL means
 * the same in every process: expired entries read as misses, and a sweep
 * walking a second DB ordered by expiry removes them in small batches
 * piggybacked on writes. The same environment holds feedback's named
 * databases, which store_lmdb_fb.c reaches through store_lmdb.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <lmdb.h>

#include "store/fbstore.h"
#include "store/lmdb/lmdb_store.h"

/* Bytes in front of each value: the expiry, ms since the epoch, LE. */
#define LM_HDR 8
/*
 * LMDB's key limit (511 in Debian's build). The expiry index prefixes the
 * key with 8 bytes, so a key may have 8 bytes less than this.
 */
#define LM_KEY_MAX 511
/* LMDB stores a value of at most 4 GiB - 1 bytes. */
#define LM_VAL_MAX (UINT32_MAX - LM_HDR)
/*
 * Every concurrent read transaction of every process on the host takes a
 * slot; a full table turns reads into errors. A slot costs 64 bytes of
 * lock file and nothing at run time (LMDB scans only the used ones).
 */
#define LM_MAX_READERS 510
/* data and expiry, the five of feedback, and room to grow. */
#define LM_MAX_DBS 12
/*
 * The sweep runs one batch of at most LM_SWEEP_BATCH deletions after every
 * LM_SWEEP_EVERY written entries, and after LM_SWEEP_MS of quiet. Each
 * written entry adds at most one index entry, so the count trigger alone
 * removes expired entries at least as fast as writes can create them; the
 * timer catches up when writes are rare.
 */
#define LM_SWEEP_BATCH 1000
#define LM_SWEEP_EVERY 1000
#define LM_SWEEP_MS 1000

/*
 * One open environment, shared by every store handle of this process on
 * the same directory. LMDB forbids opening one environment twice in a
 * process: POSIX record locks are per process, so the second open would
 * re-initialize the lock file under the first, and closing either would
 * drop the other's locks. Handles therefore share this, refcounted.
 */
typedef struct lm_env {
    struct lm_env *next;
    dev_t dev;
    ino_t ino;
    pid_t pid;     /* the opener; a forked child must not touch it */
    unsigned refs; /* under lm_registry_mu */
    MDB_env *env;
    MDB_dbi data;    /* key -> le64 expiry || value */
    MDB_dbi index;   /* be64 expiry || key -> "", entries with an expiry */
    tc__lmdb_dbs fb; /* feedback's named databases (store_lmdb_fb.c) */
    size_t map_bytes;
    size_t max_key;
    char *dir;
    _Atomic uint64_t writes;
    _Atomic int64_t last_sweep_ms; /* tc__now_ms() */
    atomic_flag sweeping;
} lm_env;

typedef struct lm_store {
    tc__store base;
    lm_env *e;
    const tc__logger *log;
    tc__ratelimit sweep_rl;
    _Atomic uint64_t errors;
} lm_store;

static pthread_mutex_t lm_registry_mu = PTHREAD_MUTEX_INITIALIZER;
static lm_env *lm_registry;

/* ---- encoding -------------------------------------------------------- */

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Big-endian in the index, so byte order is expiry order. */
static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (56 - 8 * i));
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint64_t lm_expiry(int64_t now_ms, int64_t ttl_ms)
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
    if (i == n || n > 20) {
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

/* ---- errors and transactions ----------------------------------------- */

static int lm_fail(const lm_env *e, tc__err *err, int rc, const char *op,
                   const char *key)
{
    if (rc == MDB_MAP_FULL) {
        return tc__errf(err, TC_EFULL,
                        "%s %s: the LMDB map of %s is full (map size %zu "
                        "bytes); entries expire to make room, or raise "
                        "lmdb_map_bytes",
                        op, key, e->dir, e->map_bytes);
    }
    if (rc == MDB_MAP_RESIZED) {
        return tc__errf(err, TC_EIO,
                        "%s %s: another process grew the LMDB map of %s "
                        "beyond this one's %zu bytes; use one lmdb_map_bytes "
                        "for every process",
                        op, key, e->dir, e->map_bytes);
    }
    if (rc == ENOMEM) {
        return tc__errf(err, TC_ENOMEM, "%s %s: out of memory", op, key);
    }
    return tc__errf(err, TC_EIO, "%s %s: LMDB %s: %s", op, key, e->dir,
                    mdb_strerror(rc));
}

/*
 * A full reader table is usually the doing of crashed processes, whose
 * slots only mdb_reader_check() frees; try that once.
 */
static int lm_begin(lm_env *e, unsigned flags, MDB_txn **txn)
{
    int dead = 0;
    int rc;

    rc = mdb_txn_begin(e->env, NULL, flags, txn);
    if (rc == MDB_READERS_FULL && mdb_reader_check(e->env, &dead) == 0 &&
        dead > 0) {
        rc = mdb_txn_begin(e->env, NULL, flags, txn);
    }
    return rc;
}

static int lm_key(const lm_env *e, const char *op, const char *key, MDB_val *k,
                  tc__err *err)
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
static int lm_unindex(const lm_env *e, MDB_txn *txn, const MDB_val *k,
                      int *found, uint64_t *old_exp)
{
    unsigned char buf[LM_KEY_MAX];
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
    if (d.mv_size >= LM_HDR) {
        *old_exp = get_le64(d.mv_data);
    }
    if (*old_exp == 0) {
        return 0;
    }
    put_be64(buf, *old_exp);
    memcpy(buf + LM_HDR, k->mv_data, k->mv_size);
    ik.mv_size = LM_HDR + k->mv_size;
    ik.mv_data = buf;
    rc = mdb_del(txn, e->index, &ik, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Writes header and value straight into the map (MDB_RESERVE), so a write
 * copies the value once and allocates nothing.
 */
static int lm_put(const lm_env *e, MDB_txn *txn, const MDB_val *k, uint64_t exp,
                  const void *val, size_t len)
{
    unsigned char buf[LM_KEY_MAX];
    MDB_val d, ik, empty = {0, NULL};
    int rc;

    d.mv_size = LM_HDR + len;
    d.mv_data = NULL;
    rc = mdb_put(txn, e->data, (MDB_val *)k, &d, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }
    put_le64(d.mv_data, exp);
    if (len > 0) {
        memcpy((unsigned char *)d.mv_data + LM_HDR, val, len);
    }
    if (exp == 0) {
        return 0;
    }
    put_be64(buf, exp);
    memcpy(buf + LM_HDR, k->mv_data, k->mv_size);
    ik.mv_size = LM_HDR + k->mv_size;
    ik.mv_data = buf;
    return mdb_put(txn, e->index, &ik, &empty, 0);
}

/* ---- sweep ----------------------------------------------------------- */

/*
 * Removes at most max expired entries in one write transaction, so a sweep
 * never holds LMDB's single writer lock for long. Restarting from the
 * first index entry after each deletion is O(log n) and sidesteps cursor
 * positioning after a delete.
 */
static int lm_sweep_batch(lm_env *e, uint64_t now_ms, size_t max,
                          size_t *removed, tc__err *err)
{
    unsigned char key[LM_KEY_MAX];
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val ik, iv, k, d;
    int rc;

    *removed = 0;
    rc = lm_begin(e, 0, &txn);
    if (rc != 0) {
        return lm_fail(e, err, rc, "SWEEP", e->dir);
    }
    rc = mdb_cursor_open(txn, e->index, &cur);
    while (rc == 0 && *removed < max) {
        uint64_t exp;

        rc = mdb_cursor_get(cur, &ik, &iv, MDB_FIRST);
        if (rc != 0) {
            break;
        }
        exp = ik.mv_size >= LM_HDR ? get_be64(ik.mv_data) : 0;
        if (exp > now_ms) {
            break;
        }
        k.mv_size = ik.mv_size > LM_HDR ? ik.mv_size - LM_HDR : 0;
        if (k.mv_size > 0) {
            memcpy(key, (unsigned char *)ik.mv_data + LM_HDR, k.mv_size);
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
        if (rc == 0 && d.mv_size >= LM_HDR && get_le64(d.mv_data) == exp) {
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
        return lm_fail(e, err, rc, "SWEEP", e->dir);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        *removed = 0;
        return lm_fail(e, err, rc, "SWEEP", e->dir);
    }
    return TC_OK;
}

/*
 * Called after a successful write of n entries. Costs two atomic reads
 * when no sweep is due; when one is, the first writer to notice runs one
 * batch and the others go on.
 */
static void lm_maybe_sweep(lm_store *s, size_t n)
{
    lm_env *e = s->e;
    uint64_t before = atomic_fetch_add(&e->writes, n);
    int64_t now = tc__now_ms();
    size_t removed;
    tc__err err;
    int rc;

    if (before / LM_SWEEP_EVERY == (before + n) / LM_SWEEP_EVERY &&
        now - atomic_load(&e->last_sweep_ms) < LM_SWEEP_MS) {
        return;
    }
    if (atomic_flag_test_and_set(&e->sweeping)) {
        return;
    }
    atomic_store(&e->last_sweep_ms, now);
    rc = lm_sweep_batch(e, (uint64_t)tc__wall_ms(), LM_SWEEP_BATCH, &removed,
                        &err);
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

/* ---- operations ------------------------------------------------------ */

/* A failed mget leaves no value set. */
static void lm_release(tc__store_get *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tc__free(items[i].val);
        items[i].val = NULL;
        items[i].len = 0;
        items[i].ttl_ms = -1;
    }
}

static int lm_mget(tc__store *base, tc__store_get *items, size_t n,
                   tc__err *err)
{
    lm_store *s = (lm_store *)base;
    lm_env *e = s->e;
    MDB_txn *txn;
    MDB_val k, d;
    uint64_t exp, now;
    int rc;

    for (size_t i = 0; i < n; i++) {
        items[i].val = NULL;
        items[i].len = 0;
        items[i].ttl_ms = -1;
        items[i].status = TC_MISS;
    }
    rc = lm_begin(e, MDB_RDONLY, &txn);
    if (rc != 0) {
        atomic_fetch_add(&s->errors, 1);
        return lm_fail(e, err, rc, "GET", n > 0 ? items[0].key : "");
    }
    now = (uint64_t)tc__wall_ms();
    for (size_t i = 0; i < n; i++) {
        tc__store_get *it = &items[i];

        it->status = lm_key(e, "GET", it->key, &k, err);
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
            lm_release(items, n);
            atomic_fetch_add(&s->errors, 1);
            return lm_fail(e, err, rc, "GET", it->key);
        }
        if (d.mv_size < LM_HDR) {
            it->status = tc__errf(err, TC_ECORRUPT,
                                  "GET %s: LMDB value of %zu bytes has no "
                                  "expiry header",
                                  it->key, d.mv_size);
            continue;
        }
        exp = get_le64(d.mv_data);
        if (exp != 0 && exp <= now) {
            /* Expired: a miss now, removed by the next sweep. */
            it->status = TC_MISS;
            continue;
        }
        it->val = tc__memdup0((unsigned char *)d.mv_data + LM_HDR,
                              d.mv_size - LM_HDR);
        if (!it->val) {
            mdb_txn_abort(txn);
            lm_release(items, n);
            return tc__errf(err, TC_ENOMEM, "GET %s: out of memory", it->key);
        }
        it->len = d.mv_size - LM_HDR;
        it->ttl_ms = exp == 0 ? -1 : (int64_t)(exp - now);
        it->status = TC_OK;
    }
    mdb_txn_abort(txn);
    return TC_OK;
}

/* One write transaction for all items: all are written or none. */
static int lm_mset_txn(lm_env *e, tc__store_set *items, size_t n, tc__err *err)
{
    MDB_txn *txn;
    MDB_val k;
    uint64_t old_exp;
    int64_t now;
    int found;
    int rc;

    rc = lm_begin(e, 0, &txn);
    if (rc != 0) {
        return lm_fail(e, err, rc, "SET", n > 0 ? items[0].key : "");
    }
    now = tc__wall_ms();
    for (size_t i = 0; i < n; i++) {
        tc__store_set *it = &items[i];

        it->status = lm_key(e, "SET", it->key, &k, err);
        if (it->status != TC_OK) {
            continue;
        }
        if (it->ttl_ms <= 0 || (!it->val && it->len > 0)) {
            it->status =
                tc__errf(err, TC_EINVAL, "SET %s: bad value or TTL (%lld ms)",
                         it->key, (long long)it->ttl_ms);
            continue;
        }
        if (it->len > LM_VAL_MAX) {
            it->status = tc__errf(err, TC_ETOOBIG,
                                  "SET %s: value of %zu bytes is over "
                                  "LMDB's limit",
                                  it->key, it->len);
            continue;
        }
        /* Overwriting must drop the old expiry's index entry. */
        rc = lm_unindex(e, txn, &k, &found, &old_exp);
        if (rc == 0) {
            rc = lm_put(e, txn, &k, lm_expiry(now, it->ttl_ms), it->val,
                        it->len);
        }
        if (rc != 0) {
            mdb_txn_abort(txn);
            return lm_fail(e, err, rc, n > 1 ? "MSET" : "SET", it->key);
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return lm_fail(e, err, rc, n > 1 ? "MSET" : "SET",
                       n > 0 ? items[0].key : "");
    }
    return TC_OK;
}

static int lm_mset(tc__store *base, tc__store_set *items, size_t n,
                   tc__err *err)
{
    lm_store *s = (lm_store *)base;
    size_t removed = 0;
    tc__err ignored;
    int rc;

    rc = lm_mset_txn(s->e, items, n, err);
    if (rc == TC_EFULL &&
        lm_sweep_batch(s->e, (uint64_t)tc__wall_ms(), LM_SWEEP_BATCH, &removed,
                       &ignored) == TC_OK &&
        removed > 0) {
        /* Expired entries were taking the room; try once more. */
        rc = lm_mset_txn(s->e, items, n, err);
    }
    if (rc != TC_OK) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = rc;
        }
        atomic_fetch_add(&s->errors, 1);
        return rc;
    }
    lm_maybe_sweep(s, n);
    return TC_OK;
}

static int lm_del(tc__store *base, const char *key, tc__err *err)
{
    lm_store *s = (lm_store *)base;
    lm_env *e = s->e;
    MDB_txn *txn = NULL;
    MDB_val k;
    uint64_t exp = 0;
    int found = 0;
    int rc;

    rc = lm_key(e, "DEL", key, &k, err);
    if (rc != TC_OK) {
        return rc;
    }
    rc = lm_begin(e, 0, &txn);
    if (rc != 0) {
        txn = NULL;
    } else {
        rc = lm_unindex(e, txn, &k, &found, &exp);
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
        atomic_fetch_add(&s->errors, 1);
        return lm_fail(e, err, rc, "DEL", key);
    }
    /* An expired entry was already gone for readers. */
    return exp != 0 && exp <= (uint64_t)tc__wall_ms() ? TC_MISS : TC_OK;
}

/*
 * A live counter keeps its expiry, as Redis' INCR does; a new one (or one
 * replacing an expired entry) has none.
 */
static int lm_incr(tc__store *base, const char *key, int64_t *out, tc__err *err)
{
    lm_store *s = (lm_store *)base;
    lm_env *e = s->e;
    char text[24];
    MDB_txn *txn = NULL;
    MDB_val k, d;
    uint64_t exp = 0;
    int64_t v = 0;
    int found = 0;
    int rc, n;

    *out = 0;
    rc = lm_key(e, "INCR", key, &k, err);
    if (rc != TC_OK) {
        return rc;
    }
    rc = lm_begin(e, 0, &txn);
    if (rc != 0) {
        txn = NULL;
        goto fail;
    }
    rc = mdb_get(txn, e->data, &k, &d);
    if (rc == 0) {
        exp = d.mv_size >= LM_HDR ? get_le64(d.mv_data) : 0;
        if (exp != 0 && exp <= (uint64_t)tc__wall_ms()) {
            /* Expired: it counts as absent, and its index entry goes. */
            rc = lm_unindex(e, txn, &k, &found, &exp);
            exp = 0;
        } else if (d.mv_size < LM_HDR ||
                   parse_i64((unsigned char *)d.mv_data + LM_HDR,
                             d.mv_size - LM_HDR, &v) != 0) {
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
    d.mv_size = LM_HDR + (size_t)n;
    d.mv_data = NULL;
    rc = mdb_put(txn, e->data, &k, &d, MDB_RESERVE);
    if (rc != 0) {
        goto fail;
    }
    put_le64(d.mv_data, exp);
    memcpy((unsigned char *)d.mv_data + LM_HDR, text, (size_t)n);
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        goto fail;
    }
    *out = v;
    lm_maybe_sweep(s, 1);
    return TC_OK;

fail:
    if (txn) {
        mdb_txn_abort(txn);
    }
    atomic_fetch_add(&s->errors, 1);
    return lm_fail(e, err, rc, "INCR", key);
}

static int lm_ping(tc__store *base, tc__err *err)
{
    lm_store *s = (lm_store *)base;
    MDB_txn *txn;
    int rc;

    rc = lm_begin(s->e, MDB_RDONLY, &txn);
    if (rc != 0) {
        atomic_fetch_add(&s->errors, 1);
        return lm_fail(s->e, err, rc, "PING", s->e->dir);
    }
    mdb_txn_abort(txn);
    return TC_OK;
}

/*
 * entries counts the data DB, so expired entries not yet swept are in it;
 * bytes counts the pages of both DBs, not LMDB's free pages, which it
 * reuses.
 */
static void lm_health(tc__store *base, tc__store_health *out)
{
    lm_store *s = (lm_store *)base;
    MDB_stat sd, si;
    MDB_txn *txn;

    memset(out, 0, sizeof(*out));
    out->breaker = "closed";
    out->errors = atomic_load(&s->errors);
    out->entries = -1;
    out->bytes = -1;
    if (lm_begin(s->e, MDB_RDONLY, &txn) != 0) {
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

static void lm_close(tc__store *base)
{
    lm_store *s = (lm_store *)base;
    lm_env *e;

    if (!s) {
        return;
    }
    e = s->e;
    pthread_mutex_lock(&lm_registry_mu);
    /*
     * In a forked child the environment is the parent's: closing it would
     * clear the parent's reader slots, so it is left alone.
     */
    if (e->pid == getpid() && --e->refs == 0) {
        for (lm_env **pp = &lm_registry; *pp; pp = &(*pp)->next) {
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        }
        /* Commits skip fsync (MDB_NOSYNC); make a closed store durable. */
        mdb_env_sync(e->env, 1);
        mdb_env_close(e->env);
        tc__free(e->dir);
        tc__free(e);
    }
    pthread_mutex_unlock(&lm_registry_mu);
    tc__free(s);
}

/* LMDB has no breaker: it is always there to call. */
static int lm_resting(tc__store *base)
{
    (void)base;
    return 0;
}

static const tc__store_ops lm_ops = {
    .kind = "lmdb",
    .fb = &tc__fb_lmdb_ops,
    .mget = lm_mget,
    .mset = lm_mset,
    .del = lm_del,
    .incr = lm_incr,
    .ping = lm_ping,
    .health = lm_health,
    .resting = lm_resting,
    .close = lm_close,
};

/* ---- open ------------------------------------------------------------ */

/* mkdir -p: missing components are created with mode 0700. */
static int lm_mkdirs(const char *dir, tc__err *err)
{
    struct stat st;
    char *p, *c;
    char saved;

    p = tc__strdup(dir);
    if (!p) {
        return tc__errf(err, TC_ENOMEM, "lmdb %s: out of memory", dir);
    }
    for (c = p + 1;; c++) {
        if (*c != '/' && *c != '\0') {
            continue;
        }
        saved = *c;
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int rc = saved == '\0'
                         ? tc__errf(err, TC_EIO,
                                    "lmdb: cannot create directory %s: %s", dir,
                                    strerror(errno))
                         : tc__errf(err, TC_EIO,
                                    "lmdb: cannot create directory %s "
                                    "(for %s): %s",
                                    p, dir, strerror(errno));
            tc__free(p);
            return rc;
        }
        *c = saved;
        if (saved == '\0') {
            break;
        }
    }
    tc__free(p);
    if (stat(dir, &st) != 0) {
        return tc__errf(err, TC_EIO, "lmdb: cannot use directory %s: %s", dir,
                        strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return tc__errf(err, TC_EIO, "lmdb: %s: %s", dir, strerror(ENOTDIR));
    }
    return TC_OK;
}

static void lm_env_free(lm_env *e)
{
    if (e->env) {
        mdb_env_close(e->env);
    }
    tc__free(e->dir);
    tc__free(e);
}

/*
 * Sync policy: MDB_NOSYNC. Commits do not fsync: LMDB keeps atomicity,
 * consistency and isolation (it writes pages in order, without
 * MDB_WRITEMAP), and a crashed process loses nothing, since its writes are
 * in the page cache. Only an OS crash or power loss can undo the last
 * transactions. A cache can afford that, and an fsync per write would
 * cost more than the lookup it saves. Closing the last handle syncs.
 */
static int lm_env_open(lm_env **out, const tc__store_config *cfg,
                       const struct stat *st, const tc__logger *log,
                       tc__err *err)
{
    MDB_txn *txn = NULL;
    MDB_envinfo info;
    lm_env *e;
    int dead = 0;
    int rc;

    *out = NULL;
    e = tc__calloc(1, sizeof(*e));
    if (!e || !(e->dir = tc__strdup(cfg->dir))) {
        tc__free(e);
        return tc__errf(err, TC_ENOMEM, "lmdb %s: out of memory", cfg->dir);
    }
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->pid = getpid();
    e->refs = 1;
    atomic_flag_clear(&e->sweeping);
    atomic_store(&e->last_sweep_ms, tc__now_ms());
    rc = mdb_env_create(&e->env);
    if (rc != 0) {
        e->env = NULL;
        lm_env_free(e);
        return tc__errf(err, rc == ENOMEM ? TC_ENOMEM : TC_EIO, "lmdb %s: %s",
                        cfg->dir, mdb_strerror(rc));
    }
    e->map_bytes = cfg->map_bytes ? cfg->map_bytes : TC__DEFAULT_MAP_BYTES;
    if ((rc = mdb_env_set_maxreaders(e->env, LM_MAX_READERS)) != 0 ||
        (rc = mdb_env_set_maxdbs(e->env, LM_MAX_DBS)) != 0 ||
        (rc = mdb_env_set_mapsize(e->env, e->map_bytes)) != 0) {
        goto fail;
    }
    /* MDB_NOTLS: a read transaction may begin on one pool thread and the
     * slot is released at abort, not pinned to the thread. */
    rc = mdb_env_open(e->env, cfg->dir, MDB_NOTLS | MDB_NOSYNC, 0600);
    if (rc != 0) {
        rc = tc__errf(err, rc == ENOMEM ? TC_ENOMEM : TC_EIO,
                      "lmdb: cannot open an environment in %s: %s", cfg->dir,
                      mdb_strerror(rc));
        lm_env_free(e);
        return rc;
    }
    /* Reader slots of crashed processes would pin old pages forever. */
    if (mdb_reader_check(e->env, &dead) == 0 && dead > 0 && log) {
        char n[24];
        const char *fields[] = {"dir", cfg->dir, "readers", n, NULL};

        snprintf(n, sizeof(n), "%d", dead);
        tc__log(log, TC_LOG_INFO, "lmdb_stale_readers_cleared", fields);
    }
    if (mdb_env_info(e->env, &info) == 0) {
        /* LMDB grows the map to fit a larger existing file. */
        e->map_bytes = info.me_mapsize;
    }
    e->fb.env = e->env;
    e->max_key = (size_t)mdb_env_get_maxkeysize(e->env);
    e->max_key = (e->max_key < LM_KEY_MAX ? e->max_key : LM_KEY_MAX) - LM_HDR;
    rc = mdb_txn_begin(e->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "data", MDB_CREATE, &e->data);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &e->index);
    }
    /*
     * Feedback's databases are opened with the cache's, once per
     * environment: a DBI handle opened in one transaction is only usable
     * by others after it commits, and opening them later, lazily, would
     * race between threads.
     */
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "fb_records", MDB_CREATE, &e->fb.rec);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "fb_queue", MDB_CREATE, &e->fb.queue);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "fb_pending", MDB_CREATE, &e->fb.pend);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "fb_counters", MDB_CREATE, &e->fb.cnt);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "fb_meta", MDB_CREATE, &e->fb.meta);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        goto fail;
    }
    *out = e;
    return TC_OK;

fail:
    if (txn) {
        mdb_txn_abort(txn);
    }
    rc = lm_fail(e, err, rc, "OPEN", cfg->dir);
    lm_env_free(e);
    return rc;
}

int tc__store_lmdb_open(tc__store **out, const tc__store_config *cfg,
                        const tc__logger *log, tc__err *err)
{
    struct stat st;
    lm_store *s;
    lm_env *e;
    int rc = TC_OK;

    *out = NULL;
    if (!cfg || !cfg->dir || !*cfg->dir) {
        return tc__errf(err, TC_EINVAL, "lmdb: no directory given");
    }
    rc = lm_mkdirs(cfg->dir, err);
    if (rc != TC_OK) {
        return rc;
    }
    if (stat(cfg->dir, &st) != 0) {
        return tc__errf(err, TC_EIO, "lmdb: cannot use directory %s: %s",
                        cfg->dir, strerror(errno));
    }
    s = tc__calloc(1, sizeof(*s));
    if (!s) {
        return tc__errf(err, TC_ENOMEM, "lmdb %s: out of memory", cfg->dir);
    }
    pthread_mutex_lock(&lm_registry_mu);
    for (e = lm_registry; e; e = e->next) {
        if (e->dev == st.st_dev && e->ino == st.st_ino && e->pid == getpid()) {
            break;
        }
    }
    if (e) {
        e->refs++;
    } else {
        rc = lm_env_open(&e, cfg, &st, log, err);
        if (rc == TC_OK) {
            e->next = lm_registry;
            lm_registry = e;
        }
    }
    pthread_mutex_unlock(&lm_registry_mu);
    if (rc != TC_OK) {
        tc__free(s);
        return rc;
    }
    s->base.ops = &lm_ops;
    s->e = e;
    s->log = log;
    *out = &s->base;
    return TC_OK;
}

int tc__store_lmdb_sweep(tc__store *base, int64_t now_ms, uint64_t *removed,
                         tc__err *err)
{
    lm_store *s = (lm_store *)base;
    size_t n;
    int rc;

    if (removed) {
        *removed = 0;
    }
    if (!s || s->base.ops != &lm_ops) {
        return tc__errf(err, TC_EINVAL, "SWEEP: not an LMDB store");
    }
    if (now_ms <= 0) {
        now_ms = tc__wall_ms();
    }
    do {
        rc = lm_sweep_batch(s->e, (uint64_t)now_ms, LM_SWEEP_BATCH, &n, err);
        if (rc != TC_OK) {
            atomic_fetch_add(&s->errors, 1);
            return rc;
        }
        if (removed) {
            *removed += n;
        }
    } while (n == LM_SWEEP_BATCH);
    return TC_OK;
}

/* ---- for store_lmdb_fb.c --------------------------------------------- */

int tc__lmdb_get_dbs(tc__store *base, tc__lmdb_dbs *out)
{
    lm_store *s = (lm_store *)base;

    if (!s || s->base.ops != &lm_ops) {
        return TC_EINVAL;
    }
    *out = s->e->fb;
    return TC_OK;
}

const char *tc__lmdb_dir(tc__store *base)
{
    return ((lm_store *)base)->e->dir;
}

int tc__lmdb_begin(tc__store *base, unsigned flags, MDB_txn **txn)
{
    return lm_begin(((lm_store *)base)->e, flags, txn);
}

int tc__lmdb_fail(tc__store *base, tc__err *err, int rc, const char *op,
                  const char *what)
{
    lm_store *s = (lm_store *)base;

    atomic_fetch_add(&s->errors, 1);
    return lm_fail(s->e, err, rc, op, what);
}

int tc__lmdb_txn_set(tc__store *base, MDB_txn *txn, const char *key,
                     const void *val, size_t len, int64_t ttl_ms, tc__err *err)
{
    lm_env *e = ((lm_store *)base)->e;
    uint64_t old_exp;
    MDB_val k;
    int found;
    int rc;

    rc = lm_key(e, "SET", key, &k, err);
    if (rc != TC_OK) {
        return rc;
    }
    if (ttl_ms <= 0 || len > LM_VAL_MAX || (!val && len > 0)) {
        return tc__errf(err, TC_EINVAL, "SET %s: bad value or TTL (%lld ms)",
                        key, (long long)ttl_ms);
    }
    rc = lm_unindex(e, txn, &k, &found, &old_exp);
    if (rc == 0) {
        rc = lm_put(e, txn, &k, lm_expiry(tc__wall_ms(), ttl_ms), val, len);
    }
    return rc == 0 ? TC_OK : lm_fail(e, err, rc, "SET", key);
}

void tc__lmdb_wrote(tc__store *base, size_t n)
{
    lm_maybe_sweep((lm_store *)base, n);
}

size_t tc__lmdb_sweep_some(tc__store *base)
{
    lm_store *s = (lm_store *)base;
    size_t removed = 0;
    tc__err ignored;

    if (lm_sweep_batch(s->e, (uint64_t)tc__wall_ms(), LM_SWEEP_BATCH, &removed,
                       &ignored) != TC_OK) {
        return 0;
    }
    return removed;
}

int tc__lmdb_sync(tc__store *base, tc__err *err)
{
    lm_store *s = (lm_store *)base;
    int rc = mdb_env_sync(s->e->env, 1);

    if (rc != 0) {
        atomic_fetch_add(&s->errors, 1);
        return lm_fail(s->e, err, rc, "SYNC", s->e->dir);
    }
    return TC_OK;
}
