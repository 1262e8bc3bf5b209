/*
 * tiers.h - what the files of the cache layer share and nothing above it
 * sees: the handle, a namespace's run-time state, and the steps of a
 * lookup and a store that cache.c, flight.c and batch.c are built from.
 */
#ifndef TC_TIERS_H
#define TC_TIERS_H

#include <pthread.h>
#include <string.h>

#include "base/config.h"
#include "base/counter.h"
#include "base/internal.h"
#include "base/seal.h"
#include "cache/cache.h"
#include "cache/key.h"
#include "cache/l1.h"
#include "cache/ns.h"
#include "store/store.h"

/* Redis' own limit on a bulk string (proto-max-bulk-len). */
#define TC__MAX_VALUE_BYTES ((size_t)512 << 20)

/* A namespace's counters, in the order of tc_ns_stats. */
enum {
    C_l1_hits,
    C_l2_hits,
    C_misses,
    C_loads,
    C_sets,
    C_dels,
    C_l2_errors,
    C_degraded,
    C_COUNT
};

/* The counters and generation of one namespace; the public tc_ns. */
typedef struct tc_ns {
    const tc__ns_def *def;
    _Atomic int64_t gen;         /* part of every key's hash */
    _Atomic int64_t gen_seen_ms; /* when gen was last read from L2 */
    tc__counters cnt;            /* C_COUNT, striped */
    tc__seedc seed;              /* the key hash's seed (ns.c) */
    const unsigned char *ksec;   /* key secret: keyed hashes; NULL: XXH3 */
    /* invalidations of the generation key heard (track.c): a re-read
     * that overlaps one reads again */
    _Atomic uint64_t gen_inval;
    /* without an L2, a value stored here ends an absence that ns.c's
     * notes may stand for (the overrides' namespace, open.c), so its
     * stores move the L1's absence epoch (tc__cache_l1_arrived) */
    int ends_absences;
} tc__nsrt;

#define CNT(ns, field) tc__counters_add(&(ns)->cnt, C_##field, 1)

/*
 * A load in progress (flight.c). Callers that miss on a key with a flight
 * wait on the handle's condition variable until `done`, then copy the
 * result; the last one out frees it.
 */
typedef struct tc__flight {
    tc__hash key;
    struct tc__flight *next;
    int done;
    int rc;
    char *val;
    size_t len;
    int refs;
} tc__flight;

struct tc__cache {
    tc__config cfg;
    tc__logger log;
    tc__store *store; /* NULL for memory: */
    tc__l1 *l1;
    tc__nsrt *ns;
    size_t nns;
    size_t ns_bytes; /* nns * sizeof(*ns): ns.c's test of ownership needs
                      * no multiply by a size that is not a power of two */
    pthread_mutex_t fl_mu;
    pthread_cond_t fl_cv;
    tc__flight *flights;
    tc__ratelimit rl_l2;
    _Atomic int64_t l2_down_ms; /* when the L2 became unreachable; 0: up */
    tc__counters wr;            /* L2 writes failed, by TC__WRITE_* reason */
    void *tracker;     /* the store's invalidations (track.c); NULL: none */
    tc__keyring *keys; /* seal.c's keys; NULL: none set */
    tc__store *l2raw;  /* the store under the sealing (seal_store.c), or
                          store itself when nothing is sealed */
    _Atomic uint64_t seal_failures[TC__SEAL_NKINDS];
    int64_t opened_ms; /* the time base of ns.c's absence notes */
};

static inline int64_t tc__min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/*
 * Called after a value of ns entered L1 (a set, a batch's, a feedback
 * override's): when it may end an absence a note stands for, the notes
 * are voided, after the value is there, so that a note read before it
 * was stored is void by the time the store returns. A value of any other
 * namespace voids nothing: a new answer leaves the hit path's notes
 * standing. Fills come only from an L2, and a re-formed entry replaces a
 * live value, so neither ends an absence.
 */
static inline void tc__cache_l1_arrived(tc__cache *h, const tc__nsrt *ns)
{
    if (ns->ends_absences) {
        tc__l1_absence_bump(h->l1);
    }
}

/* The namespace called name, or TC_ENONS (the error slot set). Inline:
 * every call on a key starts here. The doors have checked the key. */
static inline int tc__cache_ns(tc__cache *h, const char *name, tc__nsrt **out)
{
    for (size_t i = 0; i < h->nns; i++) {
        /* the first byte first: on every call, and names rarely share it */
        if (h->ns[i].def->name[0] == name[0] &&
            strcmp(h->ns[i].def->name, name) == 0) {
            *out = &h->ns[i];
            return TC_OK;
        }
    }
    *out = NULL;
    return tc__fail(TC_ENONS, "unknown namespace \"%s\"", name);
}

/* The namespace's generation, re-read from L2 at most once per
 * gen_refresh_ms. */
uint64_t tc__cache_gen(tc__cache *h, tc__nsrt *ns, int64_t now);

/*
 * The generation in hand, when it needs no re-read from L2 (1); 0 when a
 * re-read is due: the caller then takes the path that reads it in the same
 * round trip as its key, under the call's one deadline. Inline, as the
 * next one: every L1 hit asks both.
 */
static inline int tc__cache_gen_fresh(uint64_t *gen, const tc__cache *h,
                                      tc__nsrt *ns, int64_t now)
{
    if (h->store &&
        now - atomic_load_explicit(&ns->gen_seen_ms, memory_order_relaxed) >=
            h->cfg.gen_refresh_ms) {
        return 0;
    }
    *gen = (uint64_t)atomic_load(&ns->gen);
    return 1;
}

/*
 * The oldest L1 entry a get may serve at now. While the L2 is
 * unreachable, no invalidation or replacement made by another process can
 * reach this one, so L1 answers only with entries younger than the
 * degraded cap.
 */
static inline int64_t tc__cache_l1_floor(tc__cache *h, int64_t now)
{
    if (!atomic_load_explicit(&h->l2_down_ms, memory_order_relaxed)) {
        return INT64_MIN;
    }
    return now - h->cfg.degraded_ttl_ms;
}

/* Counts an L2 failure and logs it, at most once per interval. */
void tc__cache_l2_failed(tc__cache *h, tc__nsrt *ns, int rc, const char *op,
                         const tc__err *err);
/* The same for a write, counted by its reason too (rc: the store's). */
void tc__cache_write_failed(tc__cache *h, tc__nsrt *ns, int rc, const char *op,
                            const tc__err *err);

/*
 * Hashes key with the namespace's generation into *hk and looks it up: L1,
 * then L2, filling L1 from an L2 answer with the L2 entry's TTL left (neg:
 * an L2 miss is remembered in L1). When the generation is due to be
 * re-read, it goes in the same round trip as the key, so that a first get
 * is one round trip; two when the generation moved since it was last
 * read (the key is then hashed and looked up again).
 */
int tc__cache_find(tc__cache *h, tc__nsrt *ns, const void *key, size_t keylen,
                   tc__hash *hk, char **val, size_t *len, tc_tier *tier,
                   int neg, int64_t now);

/* ---- track.c: L1 coherent with the writes of other processes ---------- */

/* Starts hearing the store's invalidations (Redis 6+, tracking on). */
void tc__cache_track_start(tc__cache *h);
void tc__cache_track_stop(tc__cache *h);
/*
 * After this process wrote val (len bytes in L1) to the L2, having stored
 * it in L1 before the write and read seq before that store: nothing when
 * L1 still holds it; else stored again unless an invalidation of its
 * slot came since seq was read, and then tc__cache_keep_checked (track.c). exp,
 * now: the entry's expiry and the time.
 */
void tc__cache_wrote(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                     const void *val, size_t len, int64_t exp, int64_t now,
                     uint64_t seq);
/*
 * For a value whose store in L1 raced an invalidation of its slot: stores
 * it unchecked (served by no read), reads key hk back from the L2, and
 * serves it from then on only if the L2 holds it; a failed read removes
 * it. exp, now: the entry's expiry and the time.
 */
void tc__cache_keep_checked(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                            const void *val, size_t len, int64_t exp,
                            int64_t now);

/* ---- seal_store.c: encryption at rest ------------------------------- */

/*
 * *out becomes a store that seals every value written to inner and opens
 * every value read from it with keys (which must have a key), and closes
 * inner when closed. On TC_ENOMEM *out is inner, unwrapped.
 */
int tc__seal_store_wrap(tc__store **out, tc__store *inner,
                        const tc__keyring *keys, const tc__logger *log,
                        _Atomic uint64_t *failures);

/* Writes one value to L2 then L1 (see tc_cache_set). */
int tc__cache_store_one(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                        const void *val, size_t len, int64_t ttl);

#endif
