/*
 * lmdb_fb.c - feedback records kept in the cache's LMDB environment
 * (fbstore.h): put, trim, count, stats and export, and the table of
 * feedback operations (consume and ack are lmdb_fbqueue.c's). Each
 * operation is one transaction: a record, its counters, its queue entry
 * and its override commit together or not at all. Records stay in
 * "fb_records", keyed by id (so a put of an id already there is a
 * duplicate), and "fb_order" lists them by the time they were stored,
 * until their retention ends (lmdb_store.h).
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
/* An id of before 0.2.0 starts with the 13 decimal digits of its time in
 * ms: what an environment of then is ordered by (legacy_order). */
#define ID_MS_DIGITS 13
/* The longest record type ("correction", "confirmation") with room. */
#define TYPE_MAX 32
/* Counter names up to this many bytes are their own key; longer ones (a
 * pair of two long intents) are keyed by their hash, since LMDB keys stop
 * at TC__LMDB_KEY_MAX bytes. The name is also kept in the value, so stats
 * reads names from values alone. */
#define CNT_KEY_MAX 400
/* A counter's value: the count (LE), then its name. */
#define CNT_HDR TC__U64_BYTES
/* A queue key: the record's sequence number (BE, so byte order is queue
 * order). */
#define SEQ_BYTES TC__U64_BYTES
/* An order key: when the record was stored (ms, BE), then its sequence
 * number (BE): byte order is storing order, and every key is unique. */
#define ORDER_KEY (TC__U64_BYTES + SEQ_BYTES)
/* Counters stats has room for at first; it doubles. */
#define COUNTS_CAP0 16

/* The milliseconds of an old id ("<13 digits>-..."), or -1 when it has
 * none. */
static int64_t id_ms(const MDB_val *k)
{
    const char *p = k->mv_data;
    int64_t v = 0;

    if (k->mv_size < ID_MS_DIGITS) {
        return -1;
    }
    for (int i = 0; i < ID_MS_DIGITS; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* ---- counters --------------------------------------------------------- */

static int cnt_add(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t n)
{
    char hk[40]; /* "#" and 32 hex digits */
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
    if (rc == 0 && d.mv_size >= CNT_HDR) {
        v = tc__get_le64(d.mv_data);
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    v += n;
    d.mv_size = CNT_HDR + len;
    d.mv_data = NULL;
    rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }
    tc__put_le64(d.mv_data, v);
    memcpy((unsigned char *)d.mv_data + CNT_HDR, name, len);
    return 0;
}

/* ---- retention -------------------------------------------------------- */

/* A record's entry in fb_order. */
static int order_put(MDB_txn *txn, const tc__lmdb_dbs *db, int64_t ms,
                     uint64_t seq, MDB_val *id)
{
    unsigned char ok[ORDER_KEY];
    MDB_val k = {sizeof(ok), ok};

    tc__put_be64(ok, (uint64_t)(ms > 0 ? ms : 0));
    tc__put_be64(ok + TC__U64_BYTES, seq);
    return mdb_put(txn, db->order, &k, id, 0);
}

/* Whether records exist that fb_order does not list: an environment
 * written before there was fb_order. */
static int legacy(MDB_txn *txn, const tc__lmdb_dbs *db)
{
    MDB_stat ord, rec;

    return mdb_stat(txn, db->order, &ord) == 0 && ord.ms_entries == 0 &&
           mdb_stat(txn, db->rec, &rec) == 0 && rec.ms_entries > 0;
}

/*
 * Lists the records of an environment written before fb_order existed,
 * once, in the first write transaction that finds them: their ids were
 * then "<13 digits of ms>-<hex>", the time they were made, which is a
 * fair stand-in for when they were stored.
 */
static int legacy_order(MDB_txn *txn, const tc__lmdb_dbs *db)
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc;

    if (!legacy(txn, db)) {
        return 0;
    }
    if ((rc = mdb_cursor_open(txn, db->rec, &cur)) != 0) {
        return rc;
    }
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        int64_t ms;

        rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
        if (rc != 0 || d.mv_size < TC__LMDB_REC_HDR) {
            continue; /* damaged: its sequence number is gone */
        }
        ms = id_ms(&k);
        rc = order_put(txn, db, ms >= 0 ? ms : tc__wall_ms(),
                       tc__get_be64(d.mv_data), &k);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Removes at most max records stored before cutoff_ms, front first, with
 * their queue and pending entries. An order entry that is damaged goes
 * too; a record goes only when its sequence number is the entry's.
 */
static int trim_txn(MDB_txn *txn, const tc__lmdb_dbs *db, int64_t cutoff_ms,
                    size_t max, size_t *removed)
{
    char id[TC__LMDB_ID_MAX];
    MDB_cursor *cur = NULL;
    MDB_val k, d, r;
    int rc;

    *removed = 0;
    if ((rc = mdb_cursor_open(txn, db->order, &cur)) != 0) {
        return rc;
    }
    while (rc == 0 && *removed < max) {
        unsigned char qk[SEQ_BYTES];
        size_t idlen;
        int whole;

        rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
        if (rc != 0) {
            break;
        }
        whole = k.mv_size == ORDER_KEY && d.mv_size > 0 &&
                d.mv_size < TC__LMDB_ID_MAX;
        if (whole && (int64_t)tc__get_be64(k.mv_data) >= cutoff_ms) {
            break;
        }
        idlen = whole ? d.mv_size : 0;
        memcpy(id, d.mv_data, idlen);
        if (whole) {
            memcpy(qk, (unsigned char *)k.mv_data + TC__U64_BYTES, SEQ_BYTES);
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0 || !whole) {
            continue;
        }
        k.mv_size = SEQ_BYTES;
        k.mv_data = qk;
        rc = mdb_del(txn, db->queue, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        k.mv_size = idlen;
        k.mv_data = id;
        if (rc == 0 && (rc = mdb_get(txn, db->rec, &k, &r)) == 0 &&
            r.mv_size >= TC__LMDB_REC_HDR &&
            memcmp(r.mv_data, qk, SEQ_BYTES) == 0) {
            rc = mdb_del(txn, db->rec, &k, NULL);
            if (rc == 0) {
                rc = mdb_del(txn, db->pend, &k, NULL);
            }
        }
        rc = rc == MDB_NOTFOUND ? 0 : rc;
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

/* Whether the oldest record is past its retention, or records are not
 * listed in fb_order yet (a read transaction, so an idle trim never
 * takes the writer lock). */
static int trim_due(tc__lmdb_env *e, const tc__lmdb_dbs *db, int64_t cut)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, d;
    int due = 1;

    if (tc__lmdb_begin(e, MDB_RDONLY, &txn) != 0) {
        return 1; /* the write transaction will report the failure */
    }
    if (mdb_cursor_open(txn, db->order, &cur) == 0) {
        due = mdb_cursor_get(cur, &k, &d, MDB_FIRST) == 0
                  ? k.mv_size != ORDER_KEY ||
                        (int64_t)tc__get_be64(k.mv_data) < cut
                  : legacy(txn, db);
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return due;
}

static int lmfb_trim(tc__store *base, int64_t retention_ms, uint64_t *removed,
                     tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    const tc__lmdb_dbs *db = &s->e->fb;
    int64_t cut = cutoff(retention_ms);
    size_t n;
    int rc;

    if (removed) {
        *removed = 0;
    }
    if (cut == INT64_MIN || !trim_due(s->e, db, cut)) {
        return TC_OK;
    }
    do {
        MDB_txn *txn;

        rc = tc__lmdb_begin(s->e, 0, &txn);
        if (rc != 0) {
            return tc__lmdb_fail(s, err, rc, "FEEDBACK TRIM", s->e->dir);
        }
        n = 0;
        rc = legacy_order(txn, db);
        if (rc == 0) {
            rc = trim_txn(txn, db, cut, TRIM_BATCH, &n);
        }
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc != 0) {
            return tc__lmdb_fail(s, err, rc, "FEEDBACK TRIM", s->e->dir);
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
    return !tc__fb_id_valid(it->id) || !it->json || !it->len || !it->type ||
           !*it->type || strlen(it->type) > TYPE_MAX ||
           (it->override_key && !it->override_val);
}

/*
 * One transaction for the whole batch. Returns TC_OK or a TC_E* code for
 * the whole call (the transaction was aborted); *overrides counts the
 * cache entries written.
 */
static int put_txn(tc__lmdb_store *s, const tc__lmdb_dbs *db, tc__fb_put *items,
                   size_t n, int64_t retention_ms, size_t *overrides,
                   tc__err *err)
{
    static const char seqkey[] = "seq";
    static const char accepted[] = ":accepted";
    static const char pair_pfx[] = "pair:";
    unsigned char qk[SEQ_BYTES];
    char name[TYPE_MAX + sizeof(accepted)];
    MDB_txn *txn;
    MDB_val k, d, mk = {sizeof(seqkey) - 1, (void *)seqkey};
    uint64_t seq = 1;
    size_t trimmed;
    const char *what = n > 0 ? items[0].id : "";
    int64_t now = tc__wall_ms();
    int rc;

    *overrides = 0;
    rc = tc__lmdb_begin(s->e, 0, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK PUT", what);
    }
    rc = mdb_get(txn, db->meta, &mk, &d);
    if (rc == 0 && d.mv_size == TC__U64_BYTES) {
        seq = tc__get_le64(d.mv_data);
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    if (rc == 0) {
        rc = legacy_order(txn, db);
    }
    /* Trimmed first, so that an id past its retention is free again. */
    if (rc == 0 && retention_ms > 0) {
        rc = trim_txn(txn, db, cutoff(retention_ms), TRIM_BATCH, &trimmed);
    }
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
        d.mv_size = TC__LMDB_REC_HDR + it->len;
        d.mv_data = NULL;
        rc = mdb_put(txn, db->rec, &k, &d, MDB_NOOVERWRITE | MDB_RESERVE);
        if (rc == MDB_KEYEXIST) {
            /* Held already (a replayed spool line, a rerun import, the
             * same record twice in this batch): nothing twice. */
            it->status = TC_MISS;
            rc = 0;
            continue;
        }
        if (rc != 0) {
            break;
        }
        tc__put_be64(d.mv_data, seq);
        memcpy((unsigned char *)d.mv_data + TC__LMDB_REC_HDR, it->json,
               it->len);
        rc = order_put(txn, db, now, seq, &k);
        tc__put_be64(qk, seq++);
        d.mv_size = SEQ_BYTES;
        d.mv_data = qk;
        if (rc == 0) {
            rc = mdb_put(txn, db->queue, &d, &k, 0);
        }
        if (rc == 0) {
            snprintf(name, sizeof(name), "%s%s", it->type, accepted);
            rc = cnt_add(txn, db->cnt, name, 1);
        }
        if (rc == 0 && strcmp(it->type, "correction") == 0 && it->original &&
            it->correct) {
            size_t p = sizeof(pair_pfx) - 1, a = strlen(it->original),
                   b = strlen(it->correct);
            /* "pair:<original>\x1f<correct>" and its NUL */
            char *pair = tc__malloc(p + a + 1 + b + 1);

            if (!pair) {
                rc = ENOMEM;
                break;
            }
            memcpy(pair, pair_pfx, p);
            memcpy(pair + p, it->original, a);
            pair[p + a] = '\x1f';
            memcpy(pair + p + a + 1, it->correct, b + 1);
            rc = cnt_add(txn, db->cnt, pair, 1);
            tc__free(pair);
        }
        if (rc == 0 && it->override_key) {
            int trc =
                tc__lmdb_txn_set(s->e, txn, it->override_key, it->override_val,
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
        d.mv_size = TC__U64_BYTES;
        d.mv_data = NULL;
        rc = mdb_put(txn, db->meta, &mk, &d, MDB_RESERVE);
        if (rc == 0) {
            tc__put_le64(d.mv_data, seq);
        }
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

static int lmfb_put(tc__store *base, tc__fb_put *items, size_t n,
                    int64_t retention_ms, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    const tc__lmdb_dbs *db = &s->e->fb;
    tc__err ignored;
    size_t overrides = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        items[i].status = TC_EINVAL;
    }
    rc = put_txn(s, db, items, n, retention_ms, &overrides, err);
    if (rc == TC_EFULL && tc__lmdb_sweep_some(s->e) > 0) {
        /* Expired cache entries were taking the room; once more. */
        rc = put_txn(s, db, items, n, retention_ms, &overrides, err);
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

/* ---- count ------------------------------------------------------------ */

static int lmfb_count(tc__store *base, const char *name, uint64_t n,
                      tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_txn *txn;
    int rc;

    if (!name || !*name) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK COUNT: no name");
    }
    rc = tc__lmdb_begin(s->e, 0, &txn);
    if (rc == 0) {
        rc = cnt_add(txn, s->e->fb.cnt, name, n);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
    return rc == 0 ? TC_OK : tc__lmdb_fail(s, err, rc, "FEEDBACK COUNT", name);
}

/* ---- stats and export ------------------------------------------------- */

static int lmfb_stats(tc__store *base, tc__fb_stats *out, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    const tc__lmdb_dbs *db = &s->e->fb;
    MDB_stat st;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = tc__lmdb_begin(s->e, MDB_RDONLY, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK STATS", s->e->dir);
    }
    if ((rc = mdb_stat(txn, db->rec, &st)) == 0) {
        out->kept = st.ms_entries;
    }
    if (rc == 0 && (rc = mdb_stat(txn, db->pend, &st)) == 0) {
        out->pending = st.ms_entries;
    }
    if (rc == 0 && (rc = mdb_stat(txn, db->queue, &st)) == 0) {
        out->queued = st.ms_entries;
    }
    if (rc == 0 && (rc = mdb_cursor_open(txn, db->cnt, &cur)) != 0) {
        cur = NULL;
    }
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        tc__fb_count *c;

        rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
        if (rc != 0 || d.mv_size < CNT_HDR) {
            continue;
        }
        if (out->ncounts == cap) {
            size_t ncap = cap ? cap * 2 : COUNTS_CAP0;

            c = tc__realloc(out->counts, ncap * sizeof(*c));
            if (!c) {
                rc = ENOMEM;
                break;
            }
            out->counts = c;
            cap = ncap;
        }
        c = &out->counts[out->ncounts];
        c->name =
            tc__memdup0((const char *)d.mv_data + CNT_HDR, d.mv_size - CNT_HDR);
        if (!c->name) {
            rc = ENOMEM;
            break;
        }
        c->value = tc__get_le64(d.mv_data);
        out->ncounts++;
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND) {
        tc__fb_stats_release(out);
        return tc__lmdb_fail(s, err, rc, "FEEDBACK STATS", s->e->dir);
    }
    return TC_OK;
}

/*
 * One read transaction for the whole export: a consistent snapshot, and
 * LMDB readers block no writer, so a long export delays nobody. Records
 * come in fb_order's order; an environment no write has listed there yet
 * (legacy_order) in fb_records', which was by time then.
 */
static int lmfb_export(tc__store *base,
                       int (*each)(void *ud, const char *id, const char *json,
                                   size_t len),
                       void *ud, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    const tc__lmdb_dbs *db = &s->e->fb;
    char id[TC__LMDB_ID_MAX];
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, d, r;
    int rc, stop = 0, old;

    rc = tc__lmdb_begin(s->e, MDB_RDONLY, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK EXPORT", s->e->dir);
    }
    old = legacy(txn, db);
    if ((rc = mdb_cursor_open(txn, old ? db->rec : db->order, &cur)) != 0) {
        cur = NULL;
    }
    for (int op = MDB_FIRST; rc == 0 && !stop; op = MDB_NEXT) {
        int found;

        rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
        if (rc != 0) {
            continue;
        }
        /* an order entry's value is its record's key */
        found = old || mdb_get(txn, db->rec, &d, &r) == 0;
        if (!old) {
            k = d;
            d = r;
        }
        if (!found || k.mv_size == 0 || k.mv_size >= TC__LMDB_ID_MAX ||
            d.mv_size <= TC__LMDB_REC_HDR) {
            continue;
        }
        memcpy(id, k.mv_data, k.mv_size);
        id[k.mv_size] = '\0';
        stop = each(ud, id, (const char *)d.mv_data + TC__LMDB_REC_HDR,
                    d.mv_size - TC__LMDB_REC_HDR);
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (stop) {
        return stop;
    }
    if (rc != MDB_NOTFOUND) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK EXPORT", s->e->dir);
    }
    return TC_OK;
}

/* ---- purge ------------------------------------------------------------ */

/* Drops the order entries whose record is gone: those of the records
 * purge just removed (an order entry names its record's id). */
static int order_sweep(MDB_txn *txn, const tc__lmdb_dbs *db)
{
    MDB_cursor *cur;
    MDB_val k, d, r;
    int rc;

    if ((rc = mdb_cursor_open(txn, db->order, &cur)) != 0) {
        return rc;
    }
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op)) != 0) {
            break;
        }
        if ((rc = mdb_get(txn, db->rec, &d, &r)) == MDB_NOTFOUND) {
            rc = mdb_cursor_del(cur, 0);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int lmfb_purge(tc__store *base, const char *const *ids, size_t n,
                      uint64_t *removed, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    const tc__lmdb_dbs *db = &s->e->fb;
    uint64_t gone = 0;
    MDB_txn *txn;
    MDB_val k, r;
    int rc;

    if (removed) {
        *removed = 0;
    }
    if ((rc = tc__lmdb_begin(s->e, 0, &txn)) != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK PURGE", s->e->dir);
    }
    rc = legacy_order(txn, db);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char qk[SEQ_BYTES];

        k.mv_size = strlen(ids[i]);
        k.mv_data = (void *)ids[i];
        if (k.mv_size == 0 || k.mv_size >= TC__LMDB_ID_MAX ||
            (rc = mdb_get(txn, db->rec, &k, &r)) == MDB_NOTFOUND) {
            rc = 0;
            continue; /* not held: erased before, or trimmed */
        }
        if (rc != 0 || r.mv_size < TC__LMDB_REC_HDR) {
            break;
        }
        memcpy(qk, r.mv_data, SEQ_BYTES);
        if ((rc = mdb_del(txn, db->rec, &k, NULL)) != 0) {
            break;
        }
        rc = mdb_del(txn, db->pend, &k, NULL);
        if (rc == 0 || rc == MDB_NOTFOUND) {
            MDB_val q = {SEQ_BYTES, qk};

            rc = mdb_del(txn, db->queue, &q, NULL);
            rc = rc == MDB_NOTFOUND ? 0 : rc;
        }
        gone++;
    }
    if (rc == 0 && gone > 0) {
        rc = order_sweep(txn, db);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK PURGE", n > 0 ? ids[0] : "");
    }
    /* flushed like a put: an erasure must not come back after a crash */
    err->msg[0] = '\0';
    tc__lmdb_sync(s, err);
    err->msg[0] = '\0';
    if (removed) {
        *removed = gone;
    }
    return TC_OK;
}

const tc__fb_ops tc__fb_lmdb_ops = {
    .put = lmfb_put,
    .trim = lmfb_trim,
    .count = lmfb_count,
    .consume = tc__lmdb_fb_consume,
    .ack = tc__lmdb_fb_ack,
    .stats = lmfb_stats,
    .export = lmfb_export,
    .purge = lmfb_purge,
};
