/*
 * lmdb_pop.c - the popularity table on LMDB: the named database
 * "popular", id -> le64 count || text, added to in one write transaction
 * per flush. LMDB has no sorted set, so the trim and the top read walk
 * the whole table and select the k most counted with a heap of k, in
 * O(n log k), sorting only what a top read returns; the table holds at
 * most a quarter more than the ids kept (TC__POP_SLACK) plus one flush,
 * and both run once per flush or warm, never per classification.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/lmdb/lmdb_store.h"

/* An id and its count, for sorting. */
typedef struct pop_rank {
    MDB_val id;
    uint64_t count;
} pop_rank;

/*
 * Most counted first; equal counts by id, bytewise, the larger first (a
 * longer id before its prefix), so the order is total and the one Redis'
 * sorted set gives (ZREVRANGE; ZREMRANGEBYRANK drops a score's smaller
 * members first): a tie at the cut keeps the larger ids, whatever order
 * the table is walked in, on every store.
 */
static int by_count_desc(const void *a, const void *b)
{
    const pop_rank *x = a, *y = b;
    size_t n = x->id.mv_size < y->id.mv_size ? x->id.mv_size : y->id.mv_size;
    int c;

    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    c = memcmp(y->id.mv_data, x->id.mv_data, n);
    return c ? c
             : (y->id.mv_size > x->id.mv_size) -
                   (y->id.mv_size < x->id.mv_size);
}

/* Restores the heap h[0..k) below i: each entry ranks after (is less
 * counted than) its children, so h[0] is the last of those kept. */
static void sift_down(pop_rank *h, size_t k, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, last = i;
        pop_rank t;

        if (l < k && by_count_desc(&h[l], &h[last]) > 0) {
            last = l;
        }
        if (l + 1 < k && by_count_desc(&h[l + 1], &h[last]) > 0) {
            last = l + 1;
        }
        if (last == i) {
            return;
        }
        t = h[i];
        h[i] = h[last];
        h[last] = t;
        i = last;
    }
}

/*
 * The k first of r[0..n) in by_count_desc's order moved to r[0..k), in
 * no order, and the others after them: the first k held as a heap whose
 * root is the last kept, which each later entry either passes (and
 * replaces) or not, one comparison for most of them. The order being
 * total, the k kept are exactly those a full sort puts first.
 */
static void select_first(pop_rank *r, size_t n, size_t k)
{
    if (k == 0 || k >= n) {
        return;
    }
    for (size_t i = k / 2; i-- > 0;) {
        sift_down(r, k, i);
    }
    for (size_t i = k; i < n; i++) {
        if (by_count_desc(&r[i], &r[0]) < 0) {
            pop_rank t = r[0];

            r[0] = r[i];
            r[i] = t;
            sift_down(r, k, 0);
        }
    }
}

/*
 * Every id of the table with its count in *out (tc__malloc'd; the ids
 * point into txn's pages), the `first` most counted first, in no order
 * (select_first). Returns an LMDB code, or ENOMEM.
 */
static int ranked(tc__lmdb_env *e, MDB_txn *txn, size_t first, pop_rank **out,
                  size_t *n)
{
    MDB_cursor *cur = NULL;
    MDB_stat st;
    MDB_val k, d;
    pop_rank *r = NULL;
    size_t m = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = mdb_stat(txn, e->pop, &st)) != 0) {
        return rc;
    }
    if (st.ms_entries == 0) {
        return 0;
    }
    if (!(r = tc__calloc(st.ms_entries, sizeof(*r)))) {
        return ENOMEM;
    }
    if ((rc = mdb_cursor_open(txn, e->pop, &cur)) != 0) {
        tc__free(r);
        return rc;
    }
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
         rc == 0 && m < st.ms_entries;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        r[m].id = k;
        r[m++].count = d.mv_size >= 8 ? tc__get_le64(d.mv_data) : 0;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        tc__free(r);
        return rc;
    }
    select_first(r, m, first);
    *out = r;
    *n = m;
    return 0;
}

/*
 * Adds one item's count inside txn: a new id starts at 0 with the item's
 * text, a known one keeps its own. The value read lives in the
 * transaction's pages, which the write may move, so it is copied first.
 * Returns an LMDB code, or ENOMEM.
 */
static int add_one(tc__lmdb_env *e, MDB_txn *txn, const tc__pop_add *it)
{
    MDB_val k = {strlen(it->id), (void *)it->id}, d, w;
    uint64_t count = it->count;
    const void *text = it->text;
    size_t len = it->len;
    unsigned char *copy = NULL;
    int rc = mdb_get(txn, e->pop, &k, &d);

    if (rc == 0 && d.mv_size >= 8) {
        uint64_t had = tc__get_le64(d.mv_data);

        count = had > UINT64_MAX - count ? UINT64_MAX : had + count;
        len = d.mv_size - 8;
        if (!(copy = tc__malloc(len + 1))) {
            return ENOMEM;
        }
        memcpy(copy, (unsigned char *)d.mv_data + 8, len);
        text = copy;
    } else if (rc != MDB_NOTFOUND && rc != 0) {
        return rc;
    }
    w.mv_size = 8 + len;
    if ((rc = mdb_put(txn, e->pop, &k, &w, MDB_RESERVE)) == 0) {
        tc__put_le64(w.mv_data, count);
        memcpy((unsigned char *)w.mv_data + 8, text, len);
    }
    tc__free(copy);
    return rc;
}

/* An id copied out of the pages: a delete may move what it points into. */
typedef struct pop_id {
    char id[64];
    size_t len;
} pop_id;

/* Past the slack, the least counted ids deleted down to keep. */
static int trim(tc__lmdb_env *e, MDB_txn *txn, size_t keep)
{
    pop_rank *r;
    pop_id *drop;
    MDB_stat st;
    size_t n, m = 0;
    int rc;

    if ((rc = mdb_stat(txn, e->pop, &st)) != 0 ||
        st.ms_entries <= TC__POP_SLACK(keep)) {
        return rc;
    }
    if ((rc = ranked(e, txn, keep, &r, &n)) != 0) {
        return rc;
    }
    if (!(drop = tc__calloc(n - keep, sizeof(*drop)))) {
        tc__free(r);
        return ENOMEM;
    }
    for (size_t i = keep; i < n; i++) {
        if (r[i].id.mv_size <= sizeof(drop[m].id)) {
            memcpy(drop[m].id, r[i].id.mv_data, r[i].id.mv_size);
            drop[m++].len = r[i].id.mv_size;
        }
    }
    tc__free(r);
    for (size_t i = 0; i < m && rc == 0; i++) {
        MDB_val k = {drop[i].len, drop[i].id};

        rc = mdb_del(txn, e->pop, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    tc__free(drop);
    return rc;
}

int tc__lmdb_pop_add(tc__store *base, const tc__pop_add *items, size_t n,
                     size_t keep, tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    MDB_txn *txn = NULL;
    int rc;

    if (n == 0) {
        return TC_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (!items[i].id || strlen(items[i].id) >= 64) {
            return tc__errf(err, TC_EINVAL, "POPULAR ADD: item %zu: bad id", i);
        }
    }
    if ((rc = tc__lmdb_begin(s->e, 0, &txn)) != 0) {
        return tc__lmdb_fail(s, err, rc, "POPULAR ADD", items[0].id);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = add_one(s->e, txn, &items[i]);
    }
    if (rc == 0) {
        rc = trim(s->e, txn, keep);
    }
    if (rc == 0) {
        return (rc = mdb_txn_commit(txn)) == 0
                   ? TC_OK
                   : tc__lmdb_fail(s, err, rc, "POPULAR ADD", items[0].id);
    }
    mdb_txn_abort(txn);
    if (rc == ENOMEM) {
        return tc__errf(err, TC_ENOMEM, "POPULAR ADD: out of memory");
    }
    return tc__lmdb_fail(s, err, rc, "POPULAR ADD", items[0].id);
}

int tc__lmdb_pop_top(tc__store *base, size_t n, tc__pop_top **out, size_t *got,
                     tc__err *err)
{
    tc__lmdb_store *s = (tc__lmdb_store *)base;
    tc__pop_top *top = NULL;
    MDB_txn *txn = NULL;
    pop_rank *r = NULL;
    size_t m = 0, k = 0;
    int rc;

    *out = NULL;
    *got = 0;
    if ((rc = tc__lmdb_begin(s->e, MDB_RDONLY, &txn)) != 0) {
        return tc__lmdb_fail(s, err, rc, "POPULAR TOP", "");
    }
    if ((rc = ranked(s->e, txn, n, &r, &m)) == 0) {
        m = m < n ? m : n;
        if (m > 1) { /* r is NULL for an empty table */
            qsort(r, m, sizeof(*r), by_count_desc);
        }
        if (m > 0 && !(top = tc__calloc(m, sizeof(*top)))) {
            rc = ENOMEM;
        }
    }
    for (size_t i = 0; rc == 0 && i < m; i++) {
        MDB_val d;

        if ((rc = mdb_get(txn, s->e->pop, &r[i].id, &d)) != 0 ||
            d.mv_size < 8) {
            rc = rc ? rc : MDB_CORRUPTED;
            break;
        }
        top[k].id = tc__malloc(r[i].id.mv_size + 1);
        top[k].text = tc__malloc(d.mv_size - 8 + 1);
        if (!top[k].id || !top[k].text) {
            k++;
            rc = ENOMEM;
            break;
        }
        memcpy(top[k].id, r[i].id.mv_data, r[i].id.mv_size);
        top[k].id[r[i].id.mv_size] = '\0';
        memcpy(top[k].text, (unsigned char *)d.mv_data + 8, d.mv_size - 8);
        top[k].text[d.mv_size - 8] = '\0';
        top[k].len = d.mv_size - 8;
        top[k++].count = r[i].count;
    }
    mdb_txn_abort(txn);
    tc__free(r);
    if (rc != 0) {
        tc__pop_top_free(top, k);
        return rc == ENOMEM
                   ? tc__errf(err, TC_ENOMEM, "POPULAR TOP: out of memory")
                   : tc__lmdb_fail(s, err, rc, "POPULAR TOP", "");
    }
    *out = top;
    *got = k;
    return TC_OK;
}
