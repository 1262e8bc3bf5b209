/*
 * lmdb_fbqueue.c - feedback's retraining queue in the LMDB store
 * (fbstore.h's consume and ack). The "fb_queue" database, keyed by a
 * sequence number in commit order, holds the records never delivered; its
 * head is the durable cursor. Delivering a record moves it from there to
 * "fb_pending" (id -> delivery time and consumer) in one transaction, and
 * an acknowledgement removes it from there. LMDB's single writer
 * serializes deliveries across threads and processes, which is what keeps
 * a record with one consumer at a time.
 */
#include <errno.h>
#include <string.h>

#include "store/fbstore.h"
#include "store/lmdb/lmdb_store.h"

/* A pending entry's value: the delivery time, ms since the epoch (LE),
 * then the consumer's name. */
#define PEND_HDR TC__U64_BYTES
/* Records a consume's output has room for at first; it doubles. */
#define OUT_CAP0 16

/* Growable output of consume. */
typedef struct outv {
    char **ids, **recs;
    size_t n, cap;
} outv;

static int out_add(outv *o, const MDB_val *id, const MDB_val *rec)
{
    char *a, *b;

    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : OUT_CAP0;
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
    b = tc__memdup0((const char *)rec->mv_data + TC__LMDB_REC_HDR,
                    rec->mv_size - TC__LMDB_REC_HDR);
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

    d.mv_size = PEND_HDR + clen;
    d.mv_data = NULL;
    rc = mdb_put(txn, db->pend, id, &d, MDB_RESERVE);
    if (rc == 0) {
        tc__put_le64(d.mv_data, (uint64_t)now);
        memcpy((unsigned char *)d.mv_data + PEND_HDR, consumer, clen);
    }
    return rc;
}

/* Record id, with its record rec, is pending for consumer and handed out. */
static int hand_out(MDB_txn *txn, const tc__lmdb_dbs *db, MDB_val *id,
                    const MDB_val *rec, const char *consumer, int64_t now,
                    outv *o)
{
    int rc = pend_put(txn, db, id, consumer, now);

    return rc == 0 ? out_add(o, id, rec) : rc;
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
    char last[TC__LMDB_ID_MAX];
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
        lastlen = k.mv_size < TC__LMDB_ID_MAX ? k.mv_size : TC__LMDB_ID_MAX;
        memcpy(last, k.mv_data, lastlen);
        if (d.mv_size >= PEND_HDR &&
            now - (int64_t)tc__get_le64(d.mv_data) < idle_ms) {
            continue; /* with a consumer that may still be working */
        }
        k.mv_size = lastlen;
        k.mv_data = last;
        rc = mdb_get(txn, db->rec, &k, &r);
        if (rc == MDB_NOTFOUND || (rc == 0 && r.mv_size < TC__LMDB_REC_HDR)) {
            rc = mdb_del(txn, db->pend, &k, NULL); /* trimmed meanwhile */
            continue;
        }
        if (rc == 0) {
            rc = hand_out(txn, db, &k, &r, consumer, now, o);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* New records, from the head of the queue. */
static int take_new(MDB_txn *txn, const tc__lmdb_dbs *db, const char *consumer,
                    size_t max, int64_t now, outv *o)
{
    char id[TC__LMDB_ID_MAX];
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
        if (d.mv_size == 0 || d.mv_size >= TC__LMDB_ID_MAX) {
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
        if (rc == MDB_NOTFOUND || (rc == 0 && r.mv_size < TC__LMDB_REC_HDR)) {
            rc = 0;
            continue;
        }
        if (rc == 0) {
            rc = hand_out(txn, db, &k, &r, consumer, now, o);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int tc__lmdb_fb_consume(tc__store *base, const char *consumer, size_t max,
                        int64_t claim_idle_ms, char ***ids, char ***records,
                        size_t *n, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    const tc__lmdb_dbs *db = &s->e->fb;
    outv o = {NULL, NULL, 0, 0};
    MDB_txn *txn;
    int64_t now;
    int rc;

    *ids = *records = NULL;
    *n = 0;
    if (!consumer || !*consumer) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK CONSUME: no consumer");
    }
    rc = tc__lmdb_begin(s->e, 0, &txn);
    if (rc != 0) {
        return tc__lmdb_fail(s, err, rc, "FEEDBACK CONSUME", consumer);
    }
    now = tc__wall_ms();
    rc = claim(txn, db, consumer, max, now, claim_idle_ms, &o);
    if (rc == 0) {
        rc = take_new(txn, db, consumer, max, now, &o);
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

int tc__lmdb_fb_ack(tc__store *base, const char *const *ids, size_t n,
                    tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_txn *txn = NULL;
    MDB_val k;
    int rc;

    rc = tc__lmdb_begin(s->e, 0, &txn);
    if (rc != 0) {
        txn = NULL;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        k.mv_size = strlen(ids[i]);
        k.mv_data = (void *)ids[i];
        if (k.mv_size == 0 || k.mv_size >= TC__LMDB_ID_MAX) {
            continue;
        }
        rc = mdb_del(txn, s->e->fb.pend, &k, NULL);
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
