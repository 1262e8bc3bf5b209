/*
 * store_lmdb_fb.c - feedback records kept in the cache's LMDB environment
 * (fbstore.h). Each operation is one transaction: a record, its counters,
 * its queue entry and its override commit together or not at all, and
 * LMDB's single writer serializes deliveries across threads and
 * processes, which is what keeps a record with one consumer at a time.
 *
 * The retraining queue is the "fb_queue" database, whose head is the
 * durable cursor: delivering a record moves it from the queue to
 * "fb_pending" (id -> delivery time and consumer) in one transaction, and
 * an acknowledgement removes it from there. Records stay in "fb_records"
 * until their retention ends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "store/fbstore.h"
#include "store/lmdb/lmdb_store.h"

/* Records swept by one put: bounded, so a put never holds the writer
 * lock for long; trim() finishes what puts leave. */
#define TRIM_BATCH 1024
/* Longer ids are not ours (TC_FEEDBACK_ID_MAX with room). */
#define ID_MAX 64
/* Counter names up to this many bytes are their own key; longer ones (a
 * pair of two long intents) are keyed by their hash, since LMDB keys stop
 * at 511 bytes. The name is also kept in the value, so stats reads names
 * from values alone. */
#define CNT_KEY_MAX 400

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_le64(const void *q)
{
    const unsigned char *p = q;
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Big-endian sequence numbers: byte order is queue order. */
static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (56 - 8 * i));
    }
}

static uint64_t get_be64(const void *q)
{
    const unsigned char *p = q;
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* The milliseconds of an id ("<13 digits>-..."), or -1 when it has none. */
static int64_t id_ms(const MDB_val *k)
{
    const char *p = k->mv_data;
    int64_t v = 0;

    if (k->mv_size < 13) {
        return -1;
    }
    for (int i = 0; i < 13; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int dbs(tc__store *s, tc__lmdb_dbs *db, tc__err *err)
{
    if (tc__lmdb_get_dbs(s, db) != TC_OK) {
        return tc__errf(err, TC_EINVAL, "feedback: not an LMDB store");
    }
    return TC_OK;
}

/* ---- counters --------------------------------------------------------- */

static int cnt_add(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t n)
{
    char hk[40];
    size_t len = strlen(name);
    MDB_val k, d;
    uint64_t v = 0;
    int rc;

    if (len <= CNT_KEY_MAX) {
        k.mv_size = len;
        k.mv_data = (void *)name;
    } else {
        XXH128_hash_t h = XXH3_128bits(name, len);

        snprintf(hk, sizeof(hk), "#%016llx%016llx",
                 (unsigned long long)h.high64, (unsigned long long)h.low64);
        k.mv_size = strlen(hk);
        k.mv_data = hk;
    }
    rc = mdb_get(txn, dbi, &k, &d);
    if (rc == 0 && d.mv_size >= 8) {
        v = get_le64(d.mv_data);
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    v += n;
    d.mv_size = 8 + len;
    d.mv_data = NULL;
    rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }
    put_le64(d.mv_data, v);
    memcpy((unsigned char *)d.mv_data + 8, name, len);
    return 0;
}

/* ---- retention -------------------------------------------------------- */

/*
 * Removes at most max records older than cutoff_ms, front first (ids sort
 * by time), with their queue and pending entries. A key that is not an
 * id is damage and goes too.
 */
static int trim_txn(MDB_txn *txn, const tc__lmdb_dbs *db, int64_t cutoff_ms,
                    size_t max, size_t *removed)
{
    unsigned char qk[8];
    char id[ID_MAX];
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    int rc;

    *removed = 0;
    if ((rc = mdb_cursor_open(txn, db->rec, &cur)) != 0) {
        return rc;
    }
    while (rc == 0 && *removed < max) {
        uint64_t seq = 0;
        int has_seq;
        size_t idlen;
        int64_t ms;

        rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
        if (rc != 0) {
            break;
        }
        ms = id_ms(&k);
        if (ms >= cutoff_ms) {
            break;
        }
        idlen = k.mv_size < ID_MAX ? k.mv_size : ID_MAX;
        memcpy(id, k.mv_data, idlen);
        has_seq = d.mv_size >= 8;
        if (has_seq) {
            seq = get_be64(d.mv_data);
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0 && has_seq) {
            put_be64(qk, seq);
            k.mv_size = 8;
            k.mv_data = qk;
            rc = mdb_del(txn, db->queue, &k, NULL);
            rc = rc == MDB_NOTFOUND ? 0 : rc;
        }
        if (rc == 0) {
            k.mv_size = idlen;
            k.mv_data = id;
            rc = mdb_del(txn, db->pend, &k, NULL);
            rc = rc == MDB_NOTFOUND ? 0 : rc;
        }
        if (rc == 0) {
            (*removed)++;
        }
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int64_t cutoff(int64_t retention_ms)
{
    int64_t now = tc__wall_ms();

    return retention_ms > 0 && retention_ms < now ? now - retention_ms
                                                  : INT64_MIN;
}

/* Whether the oldest record is past its retention (a read transaction,
 * so an idle trim never takes the writer lock). */
static int trim_due(tc__store *s, const tc__lmdb_dbs *db, int64_t cut)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, d;
    int due = 1;

    if (tc__lmdb_begin(s, MDB_RDONLY, &txn) != 0) {
        return 1; /* the write transaction will report the failure */
    }
    if (mdb_cursor_open(txn, db->rec, &cur) == 0) {
        due = mdb_cursor_get(cur, &k, &d, MDB_FIRST) == 0 && id_ms(&k) < cut;
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return due;
}

static int lmfb_trim(tc__store *s, int64_t retention_ms, uint64_t *removed,
                     tc__err *err)
{
    tc__lmdb_dbs db;
    int64_t cut = cutoff(retention_ms);
    size_t n;
    int rc;

    if (removed) {
        *removed = 0;
    }
    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    if (cut == INT64_MIN || !trim_due(s, &db, cut)) {
        return TC_OK;
    }
    do {
        MDB_txn *txn;

        rc = tc__lmdb_begin(s, 0, &txn);
        if (rc != 0) {
            return tc__lmdb_fail(s, err, rc, "FEEDBACK TRIM", tc__lmdb_dir(s));
        }
        rc = trim_txn(txn, &db, cut, TRIM_BATCH, &n);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc != 0) {
            return tc__lmdb_fail(s, err, rc, "FEEDBACK TRIM", tc__lmdb_dir(s));
        }
        if (removed) {
            *removed += n;
        }
    } while (n == TRIM_BATCH);
    return TC_OK;
}

/* ---- put -------------------------------------------------------------- */

static int bad_item(const tc__fb_put *it)
{
    return !it->id || !*it->id || strlen(it->id) >= ID_MAX || !it->json ||
           !it->len || !it->type || !*it->type || strlen(it->type) > 32 ||
           (it->override_key && !it->override_val);
}

/*
 * One transaction for the whole batch. Returns TC_OK or a TC_E* code for
 * the whole call (the transaction was aborted); *overrides counts the
 * cache entries written.
 */
static int put_txn(tc__store *s, const tc__lmdb_dbs *db, tc__fb_put *items,
                   size_t n, int64_t retention_ms, size_t *overrides,
                   tc__err *err)
{
    static const char seqkey[] = "seq";
    unsigned char qk[8];
    char name[48];
    MDB_txn *txn;
    MDB_val k, d, mk = {sizeof(seqkey) - 1, (void *)seqkey};
    uint64_t seq = 1;
    size_t trimmed;
    const char *what = n > 0 ? items[0].id : "";
    int rc;

    *overrides = 0;
    rc = tc__lmdb_begin(s, 0, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK PUT", what);
    }
    rc = mdb_get(txn, db->meta, &mk, &d);
    if (rc == 0 && d.mv_size == 8) {
        seq = get_le64(d.mv_data);
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tc__fb_put *it = &items[i];

        if (bad_item(it)) {
            it->status = tc__errf(err, TC_EINVAL,
                                  "FEEDBACK PUT: item %zu is incomplete", i);
            continue;
        }
        what = it->id;
        k.mv_size = strlen(it->id);
        k.mv_data = (void *)it->id;
        d.mv_size = 8 + it->len;
        d.mv_data = NULL;
        rc = mdb_put(txn, db->rec, &k, &d, MDB_NOOVERWRITE | MDB_RESERVE);
        if (rc == MDB_KEYEXIST) {
            /* Stored before (a replayed spool line): nothing twice. */
            it->status = TC_MISS;
            rc = 0;
            continue;
        }
        if (rc != 0) {
            break;
        }
        put_be64(d.mv_data, seq);
        memcpy((unsigned char *)d.mv_data + 8, it->json, it->len);
        put_be64(qk, seq++);
        d.mv_size = 8;
        d.mv_data = qk;
        rc = mdb_put(txn, db->queue, &d, &k, 0);
        if (rc == 0) {
            snprintf(name, sizeof(name), "%s:accepted", it->type);
            rc = cnt_add(txn, db->cnt, name, 1);
        }
        if (rc == 0 && strcmp(it->type, "correction") == 0 && it->original &&
            it->correct) {
            size_t a = strlen(it->original), b = strlen(it->correct);
            char *pair = tc__malloc(a + b + 7);

            if (!pair) {
                rc = ENOMEM;
                break;
            }
            memcpy(pair, "pair:", 5);
            memcpy(pair + 5, it->original, a);
            pair[5 + a] = '\x1f';
            memcpy(pair + 6 + a, it->correct, b + 1);
            rc = cnt_add(txn, db->cnt, pair, 1);
            tc__free(pair);
        }
        if (rc == 0 && it->override_key) {
            int trc =
                tc__lmdb_txn_set(s, txn, it->override_key, it->override_val,
                                 it->override_len, it->override_ttl_ms, err);
            if (trc != TC_OK) {
                mdb_txn_abort(txn);
                return trc;
            }
            (*overrides)++;
        }
        if (rc == 0) {
            it->status = TC_OK;
        }
    }
    if (rc == 0) {
        d.mv_size = 8;
        d.mv_data = NULL;
        rc = mdb_put(txn, db->meta, &mk, &d, MDB_RESERVE);
        if (rc == 0) {
            put_le64(d.mv_data, seq);
        }
    }
    if (rc == 0 && retention_ms > 0) {
        rc = trim_txn(txn, db, cutoff(retention_ms), TRIM_BATCH, &trimmed);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return tc__lmdb_fail(s, err, rc, "FEEDBACK PUT", what);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK PUT", what);
    }
    return TC_OK;
}

static int lmfb_put(tc__store *s, tc__fb_put *items, size_t n,
                    int64_t retention_ms, tc__err *err)
{
    tc__lmdb_dbs db;
    tc__err ignored;
    size_t overrides = 0;
    int rc;

    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].status = TC_EINVAL;
    }
    rc = put_txn(s, &db, items, n, retention_ms, &overrides, err);
    if (rc == TC_EFULL && tc__lmdb_sweep_some(s) > 0) {
        /* Expired cache entries were taking the room; once more. */
        rc = put_txn(s, &db, items, n, retention_ms, &overrides, err);
    }
    if (rc != TC_OK) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = rc;
        }
        return rc;
    }
    /*
     * The store commits without fsync (MDB_NOSYNC), which suits a cache;
     * accepted feedback must survive a power loss as the spool does, so
     * its transaction is flushed before the call returns. A failed flush
     * leaves the records committed and visible, and the next flush (or
     * the close) writes them: it is counted in the store's health, not
     * reported as a failed put, which would make the caller submit twice.
     */
    ignored.msg[0] = '\0';
    tc__lmdb_sync(s, &ignored);
    if (overrides > 0) {
        tc__lmdb_wrote(s, overrides);
    }
    return TC_OK;
}

/* ---- counters, consume, ack ------------------------------------------- */

static int lmfb_count(tc__store *s, const char *name, uint64_t n, tc__err *err)
{
    tc__lmdb_dbs db;
    MDB_txn *txn;
    int rc;

    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    if (!name || !*name) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK COUNT: no name");
    }
    rc = tc__lmdb_begin(s, 0, &txn);
    if (rc == 0) {
        rc = cnt_add(txn, db.cnt, name, n);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
    return rc == 0 ? TC_OK : tc__lmdb_fail(s, err, rc, "FEEDBACK COUNT", name);
}

/* Growable output of consume. */
typedef struct outv {
    char **ids, **recs;
    size_t n, cap;
} outv;

static int out_add(outv *o, const MDB_val *id, const MDB_val *rec)
{
    char *a, *b;

    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        char **x = tc__realloc(o->ids, cap * sizeof(*x));

        if (!x) {
            return ENOMEM;
        }
        o->ids = x;
        x = tc__realloc(o->recs, cap * sizeof(*x));
        if (!x) {
            return ENOMEM;
        }
        o->recs = x;
        o->cap = cap;
    }
    a = tc__memdup0(id->mv_data, id->mv_size);
    b = tc__memdup0((const char *)rec->mv_data + 8, rec->mv_size - 8);
    if (!a || !b) {
        tc__free(a);
        tc__free(b);
        return ENOMEM;
    }
    o->ids[o->n] = a;
    o->recs[o->n] = b;
    o->n++;
    return 0;
}

static void out_free(outv *o)
{
    tc__fb_strings_free(o->ids, o->n);
    tc__fb_strings_free(o->recs, o->n);
    o->ids = o->recs = NULL;
    o->n = o->cap = 0;
}

/* Marks id delivered to consumer now (a pending entry). */
static int pend_put(MDB_txn *txn, const tc__lmdb_dbs *db, MDB_val *id,
                    const char *consumer, int64_t now)
{
    size_t clen = strlen(consumer);
    MDB_val d;
    int rc;

    d.mv_size = 8 + clen;
    d.mv_data = NULL;
    rc = mdb_put(txn, db->pend, id, &d, MDB_RESERVE);
    if (rc == 0) {
        put_le64(d.mv_data, (uint64_t)now);
        memcpy((unsigned char *)d.mv_data + 8, consumer, clen);
    }
    return rc;
}

/*
 * Pending entries delivered at least idle_ms ago are given to this
 * consumer. The scan is over every pending entry: pending records are the
 * unacknowledged ones, few when consumers work, and an index by delivery
 * time would cost a second write per delivery. Each step re-seeks by key,
 * since the loop writes to the database it walks.
 */
static int claim(MDB_txn *txn, const tc__lmdb_dbs *db, const char *consumer,
                 size_t max, int64_t now, int64_t idle_ms, outv *o)
{
    char last[ID_MAX];
    size_t lastlen = 0;
    MDB_cursor *cur;
    MDB_val k, d, r;
    int rc, first = 1;

    if ((rc = mdb_cursor_open(txn, db->pend, &cur)) != 0) {
        return rc;
    }
    while (rc == 0 && o->n < max) {
        if (first) {
            rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
            first = 0;
        } else {
            k.mv_size = lastlen;
            k.mv_data = last;
            rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
            if (rc == 0 && k.mv_size == lastlen &&
                memcmp(k.mv_data, last, lastlen) == 0) {
                rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
            }
        }
        if (rc != 0) {
            break;
        }
        lastlen = k.mv_size < ID_MAX ? k.mv_size : ID_MAX;
        memcpy(last, k.mv_data, lastlen);
        if (d.mv_size >= 8 && now - (int64_t)get_le64(d.mv_data) < idle_ms) {
            continue; /* with a consumer that may still be working */
        }
        k.mv_size = lastlen;
        k.mv_data = last;
        rc = mdb_get(txn, db->rec, &k, &r);
        if (rc == MDB_NOTFOUND || (rc == 0 && r.mv_size < 8)) {
            rc = mdb_del(txn, db->pend, &k, NULL); /* trimmed meanwhile */
            continue;
        }
        if (rc == 0) {
            rc = pend_put(txn, db, &k, consumer, now);
        }
        if (rc == 0) {
            rc = out_add(o, &k, &r);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* New records, from the head of the queue. */
static int take_new(MDB_txn *txn, const tc__lmdb_dbs *db, const char *consumer,
                    size_t max, int64_t now, outv *o)
{
    char id[ID_MAX];
    MDB_cursor *cur;
    MDB_val k, d, r;
    int rc;

    if ((rc = mdb_cursor_open(txn, db->queue, &cur)) != 0) {
        return rc;
    }
    while (rc == 0 && o->n < max) {
        rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
        if (rc != 0) {
            break;
        }
        if (d.mv_size == 0 || d.mv_size >= ID_MAX) {
            rc = mdb_cursor_del(cur, 0); /* damaged: nothing to deliver */
            continue;
        }
        memcpy(id, d.mv_data, d.mv_size);
        k.mv_size = d.mv_size;
        k.mv_data = id;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }
        rc = mdb_get(txn, db->rec, &k, &r);
        if (rc == MDB_NOTFOUND || (rc == 0 && r.mv_size < 8)) {
            rc = 0;
            continue;
        }
        if (rc == 0) {
            rc = pend_put(txn, db, &k, consumer, now);
        }
        if (rc == 0) {
            rc = out_add(o, &k, &r);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int lmfb_consume(tc__store *s, const char *consumer, size_t max,
                        int64_t claim_idle_ms, char ***ids, char ***records,
                        size_t *n, tc__err *err)
{
    tc__lmdb_dbs db;
    outv o = {NULL, NULL, 0, 0};
    MDB_txn *txn;
    int64_t now;
    int rc;

    *ids = *records = NULL;
    *n = 0;
    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    if (!consumer || !*consumer) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK CONSUME: no consumer");
    }
    rc = tc__lmdb_begin(s, 0, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK CONSUME", consumer);
    }
    now = tc__wall_ms();
    rc = claim(txn, &db, consumer, max, now, claim_idle_ms, &o);
    if (rc == 0) {
        rc = take_new(txn, &db, consumer, max, now, &o);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        out_free(&o);
        return tc__lmdb_fail(s, err, rc, "FEEDBACK CONSUME", consumer);
    }
    *ids = o.ids;
    *records = o.recs;
    *n = o.n;
    return TC_OK;
}

static int lmfb_ack(tc__store *s, const char *const *ids, size_t n,
                    tc__err *err)
{
    tc__lmdb_dbs db;
    MDB_txn *txn = NULL;
    MDB_val k;
    int rc;

    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    rc = tc__lmdb_begin(s, 0, &txn);
    if (rc != 0) {
        txn = NULL;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        k.mv_size = strlen(ids[i]);
        k.mv_data = (void *)ids[i];
        if (k.mv_size == 0 || k.mv_size >= ID_MAX) {
            continue;
        }
        rc = mdb_del(txn, db.pend, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc; /* acked before, or trimmed */
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    return rc == 0
               ? TC_OK
               : tc__lmdb_fail(s, err, rc, "FEEDBACK ACK", n > 0 ? ids[0] : "");
}

/* ---- stats and export ------------------------------------------------- */

static int lmfb_stats(tc__store *s, tc__fb_stats *out, tc__err *err)
{
    tc__lmdb_dbs db;
    MDB_stat st;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    rc = tc__lmdb_begin(s, MDB_RDONLY, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK STATS", tc__lmdb_dir(s));
    }
    if ((rc = mdb_stat(txn, db.rec, &st)) == 0) {
        out->kept = st.ms_entries;
    }
    if (rc == 0 && (rc = mdb_stat(txn, db.pend, &st)) == 0) {
        out->pending = st.ms_entries;
    }
    if (rc == 0 && (rc = mdb_stat(txn, db.queue, &st)) == 0) {
        out->queued = st.ms_entries;
    }
    if (rc == 0 && (rc = mdb_cursor_open(txn, db.cnt, &cur)) != 0) {
        cur = NULL;
    }
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        tc__fb_count *c;

        rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
        if (rc != 0 || d.mv_size < 8) {
            continue;
        }
        if (out->ncounts == cap) {
            size_t ncap = cap ? cap * 2 : 16;

            c = tc__realloc(out->counts, ncap * sizeof(*c));
            if (!c) {
                rc = ENOMEM;
                break;
            }
            out->counts = c;
            cap = ncap;
        }
        c = &out->counts[out->ncounts];
        c->name = tc__memdup0((const char *)d.mv_data + 8, d.mv_size - 8);
        if (!c->name) {
            rc = ENOMEM;
            break;
        }
        c->value = get_le64(d.mv_data);
        out->ncounts++;
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND) {
        tc__fb_stats_release(out);
        return tc__lmdb_fail(s, err, rc, "FEEDBACK STATS", tc__lmdb_dir(s));
    }
    return TC_OK;
}

/*
 * One read transaction for the whole export: a consistent snapshot, and
 * LMDB readers block no writer, so a long export delays nobody.
 */
static int lmfb_export(tc__store *s,
                       int (*each)(void *ud, const char *id, const char *json,
                                   size_t len),
                       void *ud, tc__err *err)
{
    char id[ID_MAX];
    tc__lmdb_dbs db;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    int rc, stop = 0;

    if ((rc = dbs(s, &db, err)) != TC_OK) {
        return rc;
    }
    rc = tc__lmdb_begin(s, MDB_RDONLY, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK EXPORT", tc__lmdb_dir(s));
    }
    if ((rc = mdb_cursor_open(txn, db.rec, &cur)) != 0) {
        cur = NULL;
    }
    for (int op = MDB_FIRST; rc == 0 && !stop; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
        if (rc != 0 || k.mv_size >= ID_MAX || d.mv_size <= 8) {
            continue;
        }
        memcpy(id, k.mv_data, k.mv_size);
        id[k.mv_size] = '\0';
        stop = each(ud, id, (const char *)d.mv_data + 8, d.mv_size - 8);
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (stop) {
        return stop;
    }
    if (rc != MDB_NOTFOUND) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK EXPORT", tc__lmdb_dir(s));
    }
    return TC_OK;
}

const tc__fb_ops tc__fb_lmdb_ops = {
    .put = lmfb_put,
    .trim = lmfb_trim,
    .count = lmfb_count,
    .consume = lmfb_consume,
    .ack = lmfb_ack,
    .stats = lmfb_stats,
    .export = lmfb_export,
};
