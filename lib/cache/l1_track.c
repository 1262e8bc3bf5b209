/*
 * l1_track.c - the L1's side of coherence with other processes (l1.h):
 * per-slot invalidation sequences that refuse a fill older than an
 * invalidation, entries that an invalidation finds are checked and
 * dropped unless the L2 holds the same, and unchecked entries that no
 * read is served until a read of the L2 sent after them confirms them.
 * cache/track.c says why these keep an old value out of L1.
 */
#include "cache/l1_shard.h"

int tc__l1_set_unchecked(tc__l1 *l1, const tc__hash *key, const void *val,
                         size_t len, int64_t expires_ms, int64_t now_ms,
                         uint64_t *stamp)
{
    *stamp = atomic_fetch_add(&l1->stamps, 1) + 1;
    return tc__l1_insert(l1, key, val, len, expires_ms, now_ms, KIND_UNCHECKED,
                         NO_SEQ, 0, *stamp);
}

uint64_t tc__l1_seq(tc__l1 *l1, const tc__hash *key)
{
    struct shard *s = &l1->shards[key_word(key) & l1->shard_mask];

    return atomic_load(inval_slot(s, key));
}

int tc__l1_fill(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                int64_t expires_ms, int64_t now_ms, uint64_t seq, int neg)
{
    return tc__l1_insert(l1, key, neg ? "" : val, neg ? 0 : len, expires_ms,
                         now_ms, neg ? KIND_ABSENT : KIND_VALUE, seq, 0, 0);
}

int tc__l1_reform(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                  int64_t now_ms)
{
    /* INT64_MAX: not expired on entry; the old entry's expiry is kept */
    return tc__l1_insert(l1, key, val, len, INT64_MAX, now_ms, KIND_VALUE,
                         NO_SEQ, 1, 0);
}

int tc__l1_invalidate(tc__l1 *l1, const tc__hash *key)
{
    uint64_t mixed = key_word(key);
    struct shard *s = &l1->shards[mixed & l1->shard_mask];
    struct entry **link, *e = NULL;
    int held = 0;

    write_lock(s);
    atomic_fetch_add(inval_slot(s, key), 1);
    link = find_link(s, key, mixed);
    if (*link && (*link)->kind == KIND_ABSENT) {
        e = unlink_entry(s, link);
    } else {
        held = *link != NULL;
    }
    write_unlock(s);
    tc__free(e);
    return held;
}

int tc__l1_holds(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                 int64_t now_ms)
{
    uint64_t mixed = key_word(key);
    struct shard *s = &l1->shards[mixed & l1->shard_mask];
    const struct entry *e;
    _Atomic uint64_t *lock_free = read_lock(s);
    int same;

    e = *find_link(s, key, mixed);
    same = e && e->kind == KIND_VALUE && now_ms < e->expires_ms &&
           e->len == len && memcmp(e->val, val, len) == 0;
    read_unlock(s, lock_free);
    return same;
}

/*
 * Settles key's entry against val, the L2's value (NULL: unknown): one
 * that does not hold it goes; with stamp, only the unchecked entry of
 * that stamp is looked at, and one that holds val is served from now on.
 */
static void settle(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                   uint64_t stamp)
{
    uint64_t mixed = key_word(key);
    struct shard *s = &l1->shards[mixed & l1->shard_mask];
    struct entry **link, *e = NULL, *o;

    write_lock(s);
    link = find_link(s, key, mixed);
    o = *link;
    if (o && stamp && (o->kind != KIND_UNCHECKED || o->stamp != stamp)) {
        o = NULL; /* not this check's entry */
    }
    if (o && (o->kind == KIND_ABSENT || !val ||
              !begins_with(o->val, o->len, val, len))) {
        e = unlink_entry(s, link);
    } else if (o && stamp) {
        o->kind = KIND_VALUE;
        atomic_store_explicit(&o->stamp, 0, memory_order_relaxed);
    }
    write_unlock(s);
    tc__free(e);
}

void tc__l1_drop_unless(tc__l1 *l1, const tc__hash *key, const void *val,
                        size_t len)
{
    settle(l1, key, val, len, 0);
}

void tc__l1_confirm(tc__l1 *l1, const tc__hash *key, uint64_t stamp,
                    const void *val, size_t len)
{
    settle(l1, key, val, len, stamp);
}

void tc__l1_invalidate_all(tc__l1 *l1)
{
    unsigned i, j;

    /* Slots first, so that no fill that read L2 before this call lands
     * after the clear. */
    for (i = 0; i < l1->nshards; i++) {
        struct shard *s = &l1->shards[i];

        write_lock(s);
        for (j = 0; j < INVAL_SLOTS; j++) {
            atomic_fetch_add(&s->inval[j], 1);
        }
        write_unlock(s);
    }
    tc__l1_clear(l1);
}

uint64_t tc__l1_absence_epoch(tc__l1 *l1)
{
    return atomic_load(&l1->absences);
}

void tc__l1_absence_bump(tc__l1 *l1)
{
    atomic_fetch_add(&l1->absences, 1);
}

void tc__l1_note(tc__l1 *l1, const tc__hash *key, uint64_t note)
{
    uint64_t mixed = key_word(key);
    struct shard *s = &l1->shards[mixed & l1->shard_mask];
    _Atomic uint64_t *lock_free = read_lock(s);
    struct entry *e = *find_link(s, key, mixed);

    /* written only when it changes, like `visited` */
    if (e && e->kind == KIND_VALUE &&
        atomic_load_explicit(&e->stamp, memory_order_relaxed) != note) {
        atomic_store_explicit(&e->stamp, note, memory_order_relaxed);
    }
    read_unlock(s, lock_free);
}
