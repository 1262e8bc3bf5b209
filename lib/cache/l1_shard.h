/*
 * l1_shard.h - the L1's insides, shared by l1.c (the table, its reads and
 * writes) and l1_track.c (coherence with other processes): an entry, a
 * shard and its locks. Only those two files include it, and ns.c for the
 * reads of a hit inline in its gets (tc__l1_read_in, tc__l1_use_in); the
 * rest of the library sees l1.h. The helpers are inline, as they were
 * static in l1.c, since the hit path runs through them.
 */
#ifndef TC_L1_SHARD_H
#define TC_L1_SHARD_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/counter.h"
#include "base/internal.h"
#include "cache/l1.h"

/*
 * Invalidation sequences per shard (coherence, l1.h): a key's slot is
 * picked by its high word, so that a fill is turned away only by an
 * invalidation of a key sharing one of 64 slots, not of any key of the
 * shard.
 */
#define INVAL_SLOTS 64u

/*
 * One allocation per entry: the header, then the value, then a NUL byte.
 * Keys are fixed 16-byte hashes, so nothing else needs a block of its own:
 * this halves the malloc calls of a set, puts the key, links and the
 * start of the value side by side for the lookup (one or two cache
 * lines), and lets a get copy value and NUL with one memcpy. The price is that
 * a replaced value is a new entry rather than an in-place update, which a cache
 * rarely needs anyway.
 */
struct entry {
    tc__hash key;
    int64_t expires_ms;  /* live while now < this; INT64_MAX: never ends */
    int64_t stored_ms;   /* when it was set, for tc__l1_get's min_stored */
    struct entry *chain; /* next entry of the same hash bucket */
    struct entry *newer; /* FIFO neighbour toward the head (newest) */
    struct entry *older; /* FIFO neighbour toward the tail (oldest) */
    size_t len;
    /* SIEVE: hit since the hand last passed. Atomic because readers set
     * it under the shared lock; relaxed, since it is only a hint. */
    atomic_uchar visited;
    unsigned char kind; /* KIND_VALUE, KIND_ABSENT, KIND_UNCHECKED */
    /* KIND_UNCHECKED: which check may confirm it (tc__l1_confirm): an
     * entry another check stored in its place is not this one's to
     * confirm, since its value may be older than this check's read.
     * KIND_VALUE: the note a reader left on it (tc__l1_note), 0 for none;
     * atomic, since readers write it under the shared lock. */
    _Atomic uint64_t stamp;
    char val[]; /* len bytes, then a NUL */
};

#define ENTRY_HDR offsetof(struct entry, val)

/*
 * What an entry holds: a value; a remembered absence (tc__l1_set_neg); or
 * a value stored before it was checked against the L2
 * (tc__l1_set_unchecked), which reads as a miss until tc__l1_confirm. One
 * byte, so that a hit tests one field for all three, as it tested one
 * for absences before.
 */
enum { KIND_VALUE, KIND_ABSENT, KIND_UNCHECKED };

/*
 * The charge of an entry is exactly what it allocates: header, value and
 * NUL. The bucket arrays (at most two pointers per entry) are not
 * charged; they are small next to any real value.
 */
static inline size_t entry_charge(size_t len)
{
    return ENTRY_HDR + len + 1;
}

/*
 * Readers and writers. Writers (set, delete, evict, clear) hold `lock`
 * against each other and, while they change the table, raise `writing`
 * and wait until `readers` drains to zero. A reader adds itself to
 * `readers`, and reads without any lock unless `writing` is up; then it
 * steps back and reads under `lock`, where it waits as it would have to
 * anyway. Both sides write their flag before reading the other's
 * (sequentially consistent, Dekker's pattern), so a reader never walks a
 * chain a writer is changing and a writer never frees an entry a reader
 * is copying. A hit thus costs two atomic additions and no lock, where a
 * mutex or glibc's reader-writer lock cost four to ten times the
 * instructions; readers hold the shard only for a lookup and a copy, so a
 * writer's wait is short.
 *
 * `readers` is striped by thread (base/counter.h: each thread counts on a
 * cache line of its stripe, and a writer sums the stripes): one count per
 * shard, written by every hit, moved its line from core to core whenever
 * two threads hit the same shard in turn, which with 16 shards is most
 * hits of two busy threads. The count a reader adds on its stripe it
 * takes off the same stripe, so the sum is the readers inside.
 *
 * Fields other than the two counters change only under `lock` with
 * `writing` up (statistics are read under `lock` alone: no reader changes
 * them). The trailing pad keeps the hot fields of two neighbouring shards
 * off one cache line whatever the array's alignment, so threads on
 * different shards do not slow each other down through false sharing.
 */
struct shard {
    pthread_mutex_t lock;
    /* readers inside, lock-free: this shard's column of the L1's striped
     * counts, TC__STRIPES of them rd_stride apart */
    _Atomic uint64_t *readers;
    size_t rd_stride;
    atomic_int writing; /* a writer holds lock and changes the table */
    struct entry **buckets;
    size_t mask;  /* bucket count - 1 */
    size_t count; /* entries */
    size_t bytes; /* charged */
    size_t budget;
    struct entry *head; /* newest */
    struct entry *tail; /* oldest */
    struct entry *hand; /* SIEVE hand; NULL means start at the tail */
    uint64_t evictions;
    uint64_t expired;
    unsigned shift; /* bits of the mixed hash used to pick the shard */
    /* bumped under lock by each invalidation of a key of the slot */
    _Atomic uint64_t inval[INVAL_SLOTS];
    _Atomic uint64_t *absences; /* the L1's absence epoch (l1.h) */
    char pad[64];
};

struct tc__l1 {
    _Atomic uint64_t stamps; /* the last stamp given (struct entry) */
    /* bumped whenever a remembered absence may have left (l1.h) */
    _Atomic uint64_t absences;
    size_t shard_mask;
    size_t max_charge; /* largest entry charge admitted */
    unsigned nshards;
    tc__counters readers; /* a count per shard and stripe (struct shard) */
    struct shard shards[];
};

/*
 * Keys come from XXH3-128 and are already uniform, so the low word is
 * used as it is: the shard takes its low bits and the bucket the bits
 * above them, so the two choices are independent, and the lookup costs
 * no second hash. (Keys made by counting, as in the tests, spread evenly
 * too.)
 */
static inline uint64_t key_word(const tc__hash *k)
{
    return k->lo;
}

static inline int key_eq(const tc__hash *a, const tc__hash *b)
{
    return a->lo == b->lo && a->hi == b->hi;
}

/* The link (bucket slot or chain pointer) that holds key, or the NULL
 * link ending its bucket. */
static inline struct entry **find_link(struct shard *s, const tc__hash *key,
                                       uint64_t mixed)
{
    struct entry **link = &s->buckets[(mixed >> s->shift) & s->mask];

    while (*link && !key_eq(&(*link)->key, key)) {
        link = &(*link)->chain;
    }
    return link;
}

/* Unlinks *link from its bucket and the FIFO queue; the caller frees it. */
static inline struct entry *unlink_entry(struct shard *s, struct entry **link)
{
    struct entry *e = *link;

    if (e->kind == KIND_ABSENT) {
        atomic_fetch_add(s->absences, 1);
    }
    *link = e->chain;
    if (s->hand == e) {
        s->hand = e->newer;
    }
    if (e->newer) {
        e->newer->older = e->older;
    } else {
        s->head = e->older;
    }
    if (e->older) {
        e->older->newer = e->newer;
    } else {
        s->tail = e->newer;
    }
    s->bytes -= entry_charge(e->len);
    s->count--;
    e->chain = NULL;
    return e;
}

/* Excludes other writers and waits for the readers inside to leave. */
static inline void write_lock(struct shard *s)
{
    unsigned spins = 0;

    pthread_mutex_lock(&s->lock);
    atomic_store(&s->writing, 1);
    for (unsigned st = 0; st < TC__STRIPES; st++) {
        /* each stripe's readers leave in turn; none enters, as writing is
         * up (a stripe holds a count of threads, never a negative one) */
        while (atomic_load(&s->readers[st * s->rd_stride]) != 0) {
            /* a reader inside is copying a value: short, unless
             * preempted */
            if (++spins > 64) {
                sched_yield();
            }
        }
    }
}

static inline void write_unlock(struct shard *s)
{
    atomic_store_explicit(&s->writing, 0, memory_order_release);
    pthread_mutex_unlock(&s->lock);
}

/* Enters a read; returns this thread's count of readers inside when it
 * reads lock-free, NULL under lock (a writer was in). */
static inline _Atomic uint64_t *read_lock(struct shard *s)
{
    unsigned st = tc__stripe_mine;
    _Atomic uint64_t *mine;

    if (st >= TC__STRIPES) {
        st = tc__stripe_take();
    }
    mine = &s->readers[st * s->rd_stride];
    atomic_fetch_add(mine, 1);
    if (!atomic_load(&s->writing)) {
        return mine;
    }
    atomic_fetch_sub_explicit(mine, 1, memory_order_release);
    pthread_mutex_lock(&s->lock);
    return NULL;
}

static inline void read_unlock(struct shard *s, _Atomic uint64_t *mine)
{
    if (mine) {
        atomic_fetch_sub_explicit(mine, 1, memory_order_release);
    } else {
        pthread_mutex_unlock(&s->lock);
    }
}

/* A fill's slot of invalidation sequences (INVAL_SLOTS). */
static inline _Atomic uint64_t *inval_slot(struct shard *s, const tc__hash *key)
{
    return &s->inval[key->hi & (INVAL_SLOTS - 1)];
}

/*
 * seq: the slot's sequence read before the L2 read that gave val
 * (tc__l1_seq), or NO_SEQ for a caller that checks nothing. A fill whose
 * slot moved on meanwhile stores nothing and leaves the key's entry as
 * it is: the invalidation that moved it has dealt with that entry.
 */
#define NO_SEQ TC__L1_NOSEQ

/* Whether a (alen bytes) is b alone, or b followed by a NUL and what
 * this process keeps beside it (a classification's packed form). */
static inline int begins_with(const char *a, size_t alen, const char *b,
                              size_t blen)
{
    return alen >= blen && (alen == blen || a[blen] == '\0') &&
           memcmp(a, b, blen) == 0;
}

/* Marks a hit for SIEVE; written only when it changes, to keep the
 * entry's line clean in the other readers' caches. */
static inline void tc__l1_mark_visited(struct entry *e)
{
    if (!atomic_load_explicit(&e->visited, memory_order_relaxed)) {
        atomic_store_explicit(&e->visited, 1, memory_order_relaxed);
    }
}

/*
 * Removes key's entry if it is still there and expired at now_ms (l1.c).
 * A reader finds expired entries under the shared lock, which cannot
 * unlink, so it comes back here with the lock exclusive.
 */
void tc__l1_drop_expired(struct shard *s, const tc__hash *key, uint64_t mixed,
                         int64_t now_ms);

/*
 * The lookup of every get, with readers inside (see struct shard). A live
 * value is copied out while the reader is inside: into buf when cap is enough
 * (cap >= len + 1, the NUL included), else into a tc__malloc'd copy when
 * copy is not NULL, else not at all (TC_ETOOBIG, *len the value's
 * length). Copying under the lock is what lets a reader skip a reference
 * count, whose atomic updates would bounce the entry's line between
 * reader threads; values are small next to that cost.
 */
static TC__INLINE int tc__l1_read_in(tc__l1 *l1, const tc__hash *key,
                                     int64_t now_ms, int64_t min_stored_ms,
                                     void *buf, size_t cap, char **copy,
                                     size_t *len, int64_t *ttl_left_ms)
{
    uint64_t mixed = key_word(key);
    struct shard *s = &l1->shards[mixed & l1->shard_mask];
    struct entry *e;
    _Atomic uint64_t *lock_free = read_lock(s);
    int rc = TC_OK;

    e = *find_link(s, key, mixed);
    if (!e) {
        read_unlock(s, lock_free);
        return TC_MISS;
    }
    if (now_ms >= e->expires_ms) {
        read_unlock(s, lock_free);
        tc__l1_drop_expired(s, key, mixed, now_ms);
        return TC_MISS;
    }
    if (e->kind != KIND_VALUE) {
        int absent = e->kind == KIND_ABSENT;

        if (absent) {
            tc__l1_mark_visited(e);
            *ttl_left_ms = e->expires_ms - now_ms;
        }
        read_unlock(s, lock_free);
        return absent ? TC__L1_NEGATIVE : TC_MISS;
    }
    if (e->stored_ms < min_stored_ms) {
        /* too old for the caller now, but kept: it may be wanted later */
        read_unlock(s, lock_free);
        return TC_MISS;
    }
    if (e->len < cap) {
        memcpy(buf, e->val, e->len + 1);
    } else if (!copy) {
        rc = TC_ETOOBIG;
    } else if ((*copy = tc__malloc(e->len + 1)) != NULL) {
        /* cannot overflow: the entry itself holds more than len + 1 */
        memcpy(*copy, e->val, e->len + 1);
    } else {
        rc = TC_ENOMEM;
    }
    if (rc != TC_ENOMEM) {
        tc__l1_mark_visited(e);
        *len = e->len;
        *ttl_left_ms = e->expires_ms - now_ms;
    }
    read_unlock(s, lock_free);
    return rc;
}

/* l1.h's tc__l1_use, inline in the hit path of classify's peek (ns.c) */
static TC__INLINE int tc__l1_use_in(tc__l1 *l1, const tc__hash *key,
                                    int64_t now_ms, int64_t min_stored_ms,
                                    tc__l1_use_fn fn, void *arg, uint64_t *note)
{
    uint64_t mixed = key_word(key);
    struct shard *s = &l1->shards[mixed & l1->shard_mask];
    _Atomic uint64_t *lock_free = read_lock(s);
    struct entry *e = *find_link(s, key, mixed);
    int rc = TC_MISS;

    /* what is not a live value is left to tc__l1_read, which handles it */
    if (e && now_ms < e->expires_ms && e->kind == KIND_VALUE &&
        e->stored_ms >= min_stored_ms &&
        (rc = fn(e->val, e->len, arg)) == TC_OK) {
        tc__l1_mark_visited(e);
        *note = atomic_load_explicit(&e->stamp, memory_order_relaxed);
    }
    read_unlock(s, lock_free);
    return rc;
}

/*
 * Stores val for key, replacing its entry (l1.c). kind: what the entry
 * holds (KIND_*). seq: see NO_SEQ. reform: replace only a live value
 * that val begins with (tc__l1_reform), keeping its expiry, else store
 * nothing and return TC_MISS. stamp: a KIND_UNCHECKED entry's (struct
 * entry). Returns TC_OK, TC__L1_RACED, TC_MISS, TC_EINVAL or TC_ENOMEM.
 */
int tc__l1_insert(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                  int64_t expires_ms, int64_t now_ms, int kind, uint64_t seq,
                  int reform, uint64_t stamp);

#endif
