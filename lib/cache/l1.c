/*
 * l1.c - the in-process cache: a power-of-two number of shards, each a
 * chained hash table, bounded by a byte budget and evicting with SIEVE.
 * An entry is one allocation holding its key, bookkeeping and value, so a
 * hit costs one lookup and one copy. Readers take no lock: they announce
 * themselves in a counter that writers wait to drain (see struct shard).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/internal.h"
#include "cache/l1_shard.h"

/*
 * Sixteen shards keep lock contention low for the few dozen threads of a
 * typical service; more buys little because critical sections are short.
 * A shard is not made smaller than MIN_SHARD_BYTES when the shard count is
 * the default, since tiny shards would refuse all but tiny values.
 */
#define DEFAULT_SHARDS 16u
#define MAX_SHARDS 4096u
#define MIN_SHARD_BYTES ((size_t)256 * 1024)
#define INITIAL_BUCKETS 64u

/*
 * A value whose charge is above an eighth of its shard's budget is not
 * stored. Admitting one that fills the whole shard would flush every hot
 * entry of that shard for a single value; an eighth bounds that damage
 * while still taking values up to 512 KiB with the default 64 MiB L1.
 */
#define MAX_ENTRY_SHARE 8u

/* Pushes e on a list threaded through `chain`, freed after unlocking. */
static void defer_free(struct entry **list, struct entry *e)
{
    e->chain = *list;
    *list = e;
}

static void free_list(struct entry *e)
{
    while (e) {
        struct entry *next = e->chain;

        tc__free(e);
        e = next;
    }
}

/*
 * SIEVE (Zhang et al., NSDI '24): entries sit in insertion order, a hit
 * only sets `visited`, and a hand walks from the oldest entry toward the
 * newest, clearing visited bits and evicting the first entry it finds
 * unvisited. A hit therefore never moves anything, which keeps the hit
 * path to a lookup and a copy, unlike LRU's list surgery on every hit;
 * and one-hit wonders, common in cache traffic, leave within one pass of
 * the hand, where LRU lets them push popular entries out. The paper finds
 * a lower miss ratio than LRU (and often ARC) on most of its traces.
 *
 * An expired entry the hand meets goes first, visited or not: it can
 * never be served again.
 */
static struct entry *sieve_evict(struct shard *s, int64_t now_ms)
{
    struct entry *e = s->hand ? s->hand : s->tail;

    for (;;) {
        if (now_ms >= e->expires_ms) {
            s->expired++;
            break;
        }
        if (!atomic_load_explicit(&e->visited, memory_order_relaxed)) {
            s->evictions++;
            break;
        }
        atomic_store_explicit(&e->visited, 0, memory_order_relaxed);
        e = e->newer ? e->newer : s->tail;
    }
    /* unlink_entry moves the hand on to the next newer entry. */
    s->hand = e;
    return unlink_entry(s, find_link(s, &e->key, key_word(&e->key)));
}

/*
 * Doubles the bucket array once the table averages one entry per bucket,
 * keeping chains short. It runs under the shard lock, but only log2(n)
 * times in a shard's life. When the allocation fails the old array stays:
 * chains get longer, nothing is lost.
 */
static void maybe_grow(struct shard *s)
{
    struct entry **nb;
    size_t n = s->mask + 1, i;

    if (s->count < n || n > SIZE_MAX / 2 / sizeof(*nb)) {
        return;
    }
    nb = tc__calloc(n * 2, sizeof(*nb));
    if (!nb) {
        return;
    }
    for (i = 0; i < n; i++) {
        struct entry *e = s->buckets[i];

        while (e) {
            struct entry *next = e->chain;
            size_t b = (key_word(&e->key) >> s->shift) & (n * 2 - 1);

            e->chain = nb[b];
            nb[b] = e;
            e = next;
        }
    }
    tc__free(s->buckets);
    s->buckets = nb;
    s->mask = n * 2 - 1;
}

int tc__l1_new(tc__l1 **out, size_t max_bytes, unsigned nshards)
{
    tc__l1 *l1;
    unsigned i, shift = 0;

    if (out) {
        *out = NULL;
    }
    if (!out || max_bytes == 0 || nshards > MAX_SHARDS ||
        (nshards & (nshards - 1)) != 0) {
        return TC_EINVAL;
    }
    if (nshards == 0) {
        nshards = DEFAULT_SHARDS;
        while (nshards > 1 && max_bytes / nshards < MIN_SHARD_BYTES) {
            nshards /= 2;
        }
    }
    while ((1u << shift) < nshards) {
        shift++;
    }
    /* Zeroed, so a partly built L1 can be released by tc__l1_free(). */
    l1 = tc__calloc(1, sizeof(*l1) + (size_t)nshards * sizeof(struct shard));
    if (!l1) {
        return TC_ENOMEM;
    }
    if (tc__counters_init(&l1->readers, nshards) != TC_OK) {
        tc__free(l1);
        return TC_ENOMEM;
    }
    l1->nshards = nshards;
    l1->shard_mask = nshards - 1;
    l1->max_charge = max_bytes / nshards / MAX_ENTRY_SHARE;
    for (i = 0; i < nshards; i++) {
        struct shard *s = &l1->shards[i];

        s->buckets = tc__calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
        if (!s->buckets || pthread_mutex_init(&s->lock, NULL) != 0) {
            tc__free(s->buckets);
            s->buckets = NULL;
            l1->nshards = i;
            tc__l1_free(l1);
            return TC_ENOMEM;
        }
        s->readers = &l1->readers.c[i];
        s->absences = &l1->absences;
        s->rd_stride = l1->readers.stride;
        s->mask = INITIAL_BUCKETS - 1;
        s->budget = max_bytes / nshards;
        s->shift = shift;
    }
    *out = l1;
    return TC_OK;
}

void tc__l1_free(tc__l1 *l1)
{
    unsigned i;

    if (!l1) {
        return;
    }
    for (i = 0; i < l1->nshards; i++) {
        struct shard *s = &l1->shards[i];
        struct entry *e = s->head;

        while (e) {
            struct entry *older = e->older;

            tc__free(e);
            e = older;
        }
        tc__free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    tc__counters_free(&l1->readers);
    tc__free(l1);
}

/* l1_shard.h: the exclusive half of a read that found an expired entry */
void tc__l1_drop_expired(struct shard *s, const tc__hash *key, uint64_t mixed,
                         int64_t now_ms)
{
    struct entry **link, *e = NULL;

    write_lock(s);
    link = find_link(s, key, mixed);
    if (*link && now_ms >= (*link)->expires_ms) {
        e = unlink_entry(s, link);
        s->expired++;
    }
    write_unlock(s);
    tc__free(e);
}

/* l1_shard.h's tc__l1_read_in, for the callers off the hit path */
int tc__l1_read(tc__l1 *l1, const tc__hash *key, int64_t now_ms,
                int64_t min_stored_ms, void *buf, size_t cap, char **copy,
                size_t *len, int64_t *ttl_left_ms)
{
    return tc__l1_read_in(l1, key, now_ms, min_stored_ms, buf, cap, copy, len,
                          ttl_left_ms);
}

/* l1_shard.h's tc__l1_use_in, out of line */
int tc__l1_use(tc__l1 *l1, const tc__hash *key, int64_t now_ms,
               int64_t min_stored_ms, tc__l1_use_fn fn, void *arg,
               uint64_t *note)
{
    return tc__l1_use_in(l1, key, now_ms, min_stored_ms, fn, arg, note);
}

int tc__l1_get(tc__l1 *l1, const tc__hash *key, int64_t now_ms,
               int64_t min_stored_ms, char **val, size_t *len,
               int64_t *ttl_left_ms)
{
    size_t n = 0;
    int64_t left = 0;
    int rc;

    if (val) {
        *val = NULL;
    }
    if (len) {
        *len = 0;
    }
    if (ttl_left_ms) {
        *ttl_left_ms = 0;
    }
    if (!l1 || !key || !val) {
        return TC_EINVAL;
    }
    rc = tc__l1_read(l1, key, now_ms, min_stored_ms, NULL, 0, val, &n, &left);
    if (rc == TC_OK) {
        if (len) {
            *len = n;
        }
        if (ttl_left_ms) {
            *ttl_left_ms = left;
        }
    }
    return rc;
}

int tc__l1_insert(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
                  int64_t expires_ms, int64_t now_ms, int kind, uint64_t seq,
                  int reform, uint64_t stamp)
{
    struct shard *s;
    struct entry **link, *e, *dead = NULL;
    unsigned char visited = 0;
    uint64_t mixed;
    size_t charge;

    if (!l1 || !key || (!val && len)) {
        return TC_EINVAL;
    }
    if (tc__l1_stores_nothing(l1)) {
        return reform ? TC_MISS : TC_OK; /* and holds nothing to remove */
    }
    /*
     * A value that will not be stored (too big, already expired) or
     * cannot be (no memory) still removes the key's old entry: the caller
     * has just written a newer value to the L2, and the L1 must not keep
     * serving the old one.
     */
    if (len > SIZE_MAX - ENTRY_HDR - 1 || entry_charge(len) > l1->max_charge ||
        now_ms >= expires_ms) {
        if (reform) {
            return TC_MISS;
        }
        if (kind != KIND_ABSENT) {
            tc__l1_del(l1, key);
        }
        return TC_OK;
    }
    charge = entry_charge(len);
    /* Allocate and copy before taking the lock, to keep it short. */
    e = tc__malloc(charge);
    if (!e) {
        if (kind != KIND_ABSENT && !reform) {
            tc__l1_del(l1, key);
        }
        return TC_ENOMEM;
    }
    e->key = *key;
    e->expires_ms = expires_ms;
    e->stored_ms = now_ms;
    e->kind = (unsigned char)kind;
    /* a value starts without a note */
    atomic_init(&e->stamp, kind == KIND_UNCHECKED ? stamp : 0);
    e->chain = NULL;
    e->len = len;
    if (len) {
        memcpy(e->val, val, len);
    }
    e->val[len] = '\0';

    mixed = key_word(key);
    s = &l1->shards[mixed & l1->shard_mask];
    write_lock(s);
    if (seq != NO_SEQ && atomic_load(inval_slot(s, key)) != seq) {
        write_unlock(s);
        tc__free(e);
        return TC__L1_RACED;
    }
    link = find_link(s, key, mixed);
    if (reform) {
        const struct entry *o = *link;

        if (!o || o->kind != KIND_VALUE || now_ms >= o->expires_ms ||
            !begins_with(val, len, o->val, o->len)) {
            /* gone, or changed since the caller read it */
            write_unlock(s);
            tc__free(e);
            return TC_MISS;
        }
        e->expires_ms = o->expires_ms;
    }
    if (kind == KIND_ABSENT && *link && (*link)->kind == KIND_VALUE &&
        now_ms < (*link)->expires_ms) {
        /* an absence seen before a value arrived must not hide it */
        write_unlock(s);
        tc__free(e);
        return TC_OK;
    }
    if (*link) {
        /* A rewrite of a key in use keeps its claim to stay. */
        visited = atomic_load_explicit(&(*link)->visited, memory_order_relaxed);
        defer_free(&dead, unlink_entry(s, link));
    }
    while (s->tail && s->bytes + charge > s->budget) {
        defer_free(&dead, sieve_evict(s, now_ms));
    }
    maybe_grow(s);
    /* New entries enter at the head of the queue, as SIEVE wants. */
    atomic_store_explicit(&e->visited, visited, memory_order_relaxed);
    link = &s->buckets[(mixed >> s->shift) & s->mask];
    e->chain = *link;
    *link = e;
    e->newer = NULL;
    e->older = s->head;
    if (s->head) {
        s->head->newer = e;
    } else {
        s->tail = e;
    }
    s->head = e;
    s->bytes += charge;
    s->count++;
    write_unlock(s);
    free_list(dead);
    return TC_OK;
}

int tc__l1_stores_nothing(const tc__l1 *l1)
{
    return l1->max_charge < entry_charge(0);
}

int tc__l1_set(tc__l1 *l1, const tc__hash *key, const void *val, size_t len,
               int64_t expires_ms, int64_t now_ms)
{
    return tc__l1_insert(l1, key, val, len, expires_ms, now_ms, KIND_VALUE,
                         NO_SEQ, 0, 0);
}

int tc__l1_set_neg(tc__l1 *l1, const tc__hash *key, int64_t expires_ms,
                   int64_t now_ms)
{
    return tc__l1_insert(l1, key, "", 0, expires_ms, now_ms, KIND_ABSENT,
                         NO_SEQ, 0, 0);
}

int tc__l1_del(tc__l1 *l1, const tc__hash *key)
{
    struct shard *s;
    struct entry **link, *e = NULL;
    uint64_t mixed;

    if (!l1 || !key) {
        return TC_EINVAL;
    }
    mixed = key_word(key);
    s = &l1->shards[mixed & l1->shard_mask];
    write_lock(s);
    link = find_link(s, key, mixed);
    if (*link) {
        e = unlink_entry(s, link);
    }
    write_unlock(s);
    tc__free(e);
    return e ? TC_OK : TC_MISS;
}

void tc__l1_clear(tc__l1 *l1)
{
    unsigned i;

    if (!l1) {
        return;
    }
    for (i = 0; i < l1->nshards; i++) {
        struct shard *s = &l1->shards[i];
        struct entry *e;

        /* Detach the whole queue under the lock, free it outside. */
        write_lock(s);
        atomic_fetch_add(&l1->absences, 1);
        e = s->head;
        memset(s->buckets, 0, (s->mask + 1) * sizeof(*s->buckets));
        s->head = s->tail = s->hand = NULL;
        s->count = 0;
        s->bytes = 0;
        write_unlock(s);
        while (e) {
            struct entry *older = e->older;

            tc__free(e);
            e = older;
        }
    }
}

void tc__l1_stats_get(tc__l1 *l1, tc__l1_stats *out)
{
    unsigned i;

    if (!out) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (!l1) {
        return;
    }
    /* Shard by shard: a sum of consistent parts, not one snapshot. */
    for (i = 0; i < l1->nshards; i++) {
        struct shard *s = &l1->shards[i];

        pthread_mutex_lock(&s->lock);
        out->bytes += s->bytes;
        out->entries += s->count;
        out->evictions += s->evictions;
        out->expired += s->expired;
        pthread_mutex_unlock(&s->lock);
    }
}
