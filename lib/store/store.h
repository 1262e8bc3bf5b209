/*
 * store.h - the L2 interface. Each store (redis/, lmdb/) fills one table
 * of operations, its feedback part (fbstore.h) included; the layers above
 * see nothing else of it and never ask which kind it is. Keys are the
 * short hashed strings of cache/key.c ("tc:<prefix>:<hex>"), values the
 * caller's bytes, unwrapped.
 *
 * Every operation may be called from many threads at once. Operations
 * return TC_OK, TC_MISS or a negative TC_E* code, and on failure write the
 * detail into err ("GET tc:intent:...: timed out after 250 ms"); a batched
 * call that returns TC_OK with a failed item writes that item's detail.
 * The caller starts err as "". An mset item with ttl_ms <= 0 gets
 * TC_EINVAL alone. health.errors counts failed calls and failed items.
 */
#ifndef TC_STORE_H
#define TC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/internal.h"

/* One key of a batched read. */
typedef struct tc__store_get {
    const char *key; /* NUL-terminated */
    char *val;       /* out: tc__malloc'd, NUL after the last byte */
    size_t len;      /* out */
    int64_t ttl_ms;  /* out: remaining TTL; -1 when the entry has none */
    int status;      /* out: TC_OK, TC_MISS or TC_E* */
} tc__store_get;

/* One key of a batched write. */
typedef struct tc__store_set {
    const char *key;
    const void *val;
    size_t len;
    int64_t ttl_ms; /* > 0 */
    int status;     /* out */
} tc__store_set;

/* What a store reports of its health (tc_cache_stats_json). */
typedef struct tc__store_health {
    int up;              /* last call succeeded */
    const char *breaker; /* "closed", "open", "half_open"; static */
    uint64_t reconnects;
    uint64_t errors;
    int64_t entries; /* -1 when unknown */
    int64_t bytes;   /* bytes used by the store; -1 when unknown */
} tc__store_health;

typedef struct tc__store tc__store;
struct tc__fb_ops;

/*
 * The popularity table (classify/popular.c): texts counted by how often
 * they were asked, kept by the store so that every process adds to one
 * count. An id is the hashed key of a normalized text ("tc:pop:<hex>",
 * under 64 bytes); its text is stored as handed over (sealed by the
 * layer above when encryption at rest is on), the store never reads it.
 */
typedef struct tc__pop_add {
    const char *id;
    const void *text;
    size_t len;
    uint64_t count; /* > 0: added to the id's count */
} tc__pop_add;

/* One text of a pop_top answer; id and text tc__malloc'd (text with a
 * NUL after its len bytes), released by tc__pop_top_free. */
typedef struct tc__pop_top {
    char *id;
    char *text;
    size_t len;
    uint64_t count;
} tc__pop_top;

/* The L2 keys of the table on Redis, one hash tag so that a cluster
 * keeps both in one slot (the script touches both). */
#define TC__POP_RANK_KEY "tc:{pop}:rank"
#define TC__POP_TEXT_KEY "tc:{pop}:text"
/* The table is trimmed to `keep` ids once it holds a quarter more: the
 * slack gives a new text time to gather counts before a trim. */
#define TC__POP_SLACK(keep) ((keep) + (keep) / 4 + 1)

/*
 * A tally (classify/served.c): named counters kept by the store so that
 * every process adds to one count, read back whole. A field is a short
 * byte string (under TC__TALLY_FIELD_MAX bytes) that starts with the
 * UTC day it counts for, "YYYYMMDD", so that fields sort by day.
 */
typedef struct tc__tally {
    char *field; /* NUL-terminated; tc__malloc'd in a tally_read answer */
    uint64_t count;
} tc__tally;

#define TC__TALLY_FIELD_MAX 512
/* The tally's hash on Redis: its own hash tag, one slot on a cluster. */
#define TC__TALLY_KEY "tc:{tally}:served"

/*
 * How a store keeps what it is given, as far as its server says: whether
 * it may evict keys that have no TTL (Redis' allkeys-* policies) and
 * whether a restart keeps them (AOF or RDB save points). Feedback is
 * warned about by it (feedback/risk.c). A store that cannot tell says
 * -1 and "unknown".
 */
typedef struct tc__store_keeping {
    int evictable;        /* 1 allkeys-*, 0 never such keys, -1 unknown */
    int persistent;       /* 1 AOF or save points, 0 neither, -1 unknown */
    char policy[32];      /* maxmemory-policy; "none" (LMDB); "unknown" */
    char persistence[32]; /* "aof", "rdb", "aof+rdb", "none", "disk",
                             "unknown" */
} tc__store_keeping;

/*
 * What a cache asks of a store that can tell it about writes made by
 * other clients (Redis 6 and later: client-side caching). The store
 * calls invalidate from a thread of its own: with the keys of one
 * invalidation (n > 0, each NUL-terminated, at most 64 a call), or with
 * keys NULL when it cannot vouch for anything the cache holds (the
 * connection that tells it was lost or is back, or the server was
 * flushed). A key of TC_KEY_MAX bytes or more may be left out: the
 * cache makes none that long.
 */
typedef struct tc__track_spec {
    const char *const *prefixes; /* the keys to hear about, as "tc:p:" */
    size_t nprefixes;
    void (*invalidate)(void *ud, const char *const *keys, size_t n);
    void *ud;
} tc__track_spec;

typedef struct tc__store_ops {
    const char *kind;            /* "redis", "redis-cluster", "lmdb" */
    const struct tc__fb_ops *fb; /* how it keeps feedback (fbstore.h) */
    /* The hash tag of its feedback keys (a cluster: TC__FB_TAG, which the
     * override namespace's keys must carry too); NULL: none needed. */
    const char *fb_tag;
    /*
     * Looks up n keys in one round trip. Returns TC_OK when every item
     * has its own status (TC_OK/TC_MISS, or an error for that item alone,
     * such as a value of the wrong type), or an error for the whole call
     * (unreachable, timeout) with no value set.
     */
    int (*mget)(tc__store *s, tc__store_get *items, size_t n, tc__err *err);
    /* Writes n keys in one round trip; as mget for the return. */
    int (*mset)(tc__store *s, tc__store_set *items, size_t n, tc__err *err);
    /* Deletes a key: TC_OK when it existed, TC_MISS when not. */
    int (*del)(tc__store *s, const char *key, tc__err *err);
    /*
     * Atomically adds 1 to the integer stored at key (0 when absent;
     * stored as decimal text with no TTL) and returns the new value.
     */
    int (*incr)(tc__store *s, const char *key, int64_t *out, tc__err *err);
    /* A round trip to the store, bypassing any circuit breaker. */
    int (*ping)(tc__store *s, tc__err *err);
    void (*health)(tc__store *s, tc__store_health *out);
    /* Whether calls are held back now (an open circuit breaker): cheap,
     * no call to the store. */
    int (*resting)(tc__store *s);
    /*
     * Optional (NULL: the store cannot). Starts telling spec's callback
     * about writes to keys under its prefixes, until untrack, which the
     * caller runs before close; no callback runs after untrack returns.
     * Returns TC_OK (also while the server is down: it keeps trying),
     * TC_ENOTSUP (the server cannot track: *out NULL), or TC_ENOMEM.
     */
    int (*track)(tc__store *s, const tc__track_spec *spec, void **out,
                 tc__err *err);
    void (*untrack)(void *t);
    /*
     * Optional (NULL: the store keeps everything on disk, as LMDB). Asks
     * the server how it keeps keys (CONFIG GET, else INFO when CONFIG is
     * refused or renamed); what it cannot learn stays -1/"unknown".
     * Returns TC_OK (also with unknowns) or the failure of the call
     * (TC_EUNAVAIL, TC_ETIMEOUT), *out then all unknown.
     */
    int (*keeping)(tc__store *s, tc__store_keeping *out, tc__err *err);
    /*
     * Optional (NULL: the store keeps no popularity, as memory:). pop_add
     * adds each item's count to its id's (a new id starts at 0 and keeps
     * the item's text) in one round trip or transaction, then, past
     * TC__POP_SLACK(keep) ids, drops the least counted down to keep.
     * pop_top gives the n most counted ids, most first, *got of them in
     * *out (tc__pop_top_free). Both return TC_OK or the call's failure.
     */
    int (*pop_add)(tc__store *s, const tc__pop_add *items, size_t n,
                   size_t keep, tc__err *err);
    int (*pop_top)(tc__store *s, size_t n, tc__pop_top **out, size_t *got,
                   tc__err *err);
    /*
     * Optional (NULL: the store keeps no tally, as memory:). tally_add
     * adds each item's count to its field's (a new field starts at 0) in
     * one round trip or transaction; with floor (an 8-byte day, else
     * NULL), it then removes every field whose first 8 bytes sort before
     * floor's. tally_read gives every field, *n of them in *out
     * (tc__tally_free). Both return TC_OK or the call's failure; an add
     * that timed out may have been applied.
     */
    int (*tally_add)(tc__store *s, const tc__tally *items, size_t n,
                     const char *floor, tc__err *err);
    int (*tally_read)(tc__store *s, tc__tally **out, size_t *n, tc__err *err);
    void (*close)(tc__store *s);
} tc__store_ops;

/* Every implementation's struct starts with this. */
struct tc__store {
    const tc__store_ops *ops;
};

/*
 * The check every mset makes of its item i before sending it: a key, a
 * value (or length 0) and a positive TTL. Returns TC_OK, or TC_EINVAL with
 * the message in err.
 */
int tc__store_set_check(const tc__store_set *it, size_t i, tc__err *err);

/*
 * Sets every item of an mget to "no answer yet": no value, ttl_ms -1,
 * status TC_MISS. Does not free a value already there.
 */
void tc__store_get_clear(tc__store_get *items, size_t n);

/*
 * tc__store_get_clear, then the check every networked mget makes before
 * sending: each item has a key. Returns TC_OK, or TC_EINVAL naming the
 * first item without one.
 */
int tc__store_get_check(tc__store_get *items, size_t n, tc__err *err);

/*
 * Opens the store cfg names (cfg->kind; *out NULL for memory:), keeping
 * cfg and log, which must outlive it. A Redis server that is down is not
 * an error (the store recovers by itself); a wrong password is TC_EAUTH.
 * A TLS store (cfg->tls.on) with tls_insecure logs a tls_insecure warning
 * here, once per store.
 * Returns TC_OK; TC_EAUTH; TC_ECONFIG; TC_ETLS (TLS files that cannot be
 * used); TC_EIO (an LMDB directory); TC_ENOMEM.
 */
int tc__store_open(tc__store **out, const tc__store_config *cfg,
                   const tc__logger *log, tc__err *err);

/* The openings of each kind (redis/redis.c, lmdb/lmdb.c,
 * cluster/cluster.c), for tc__store_open and the tests. */
int tc__store_redis_open(tc__store **out, const tc__store_config *cfg,
                         const tc__logger *log, tc__err *err);
int tc__store_lmdb_open(tc__store **out, const tc__store_config *cfg,
                        const tc__logger *log, tc__err *err);
int tc__store_cluster_open(tc__store **out, const tc__store_config *cfg,
                           const tc__logger *log, tc__err *err);

/*
 * Removes the expired entries of an LMDB store as of now_ms (wall clock;
 * <= 0 for now); *removed (may be NULL) counts them. Writes also sweep a
 * bounded batch now and then; this runs until nothing expired is left.
 * TC_EINVAL for a store of another kind.
 */
int tc__store_lmdb_sweep(tc__store *s, int64_t now_ms, uint64_t *removed,
                         tc__err *err);

/* keeping.c: *k as a store that can tell nothing (-1 and "unknown");
 * and acc made the worse of acc and one, node by node of a cluster (a
 * node that evicts makes the whole evictable). */
void tc__store_keeping_unknown(tc__store_keeping *k);
void tc__store_keeping_worse(tc__store_keeping *acc,
                             const tc__store_keeping *one);

/* Frees the values of a batched read (tc__free on each val; release.c). */
void tc__store_get_release(tc__store_get *items, size_t n);

/* Frees a pop_top answer of n texts (release.c); NULL is accepted. */
void tc__pop_top_free(tc__pop_top *top, size_t n);

/* Frees n tally fields and the array (release.c); NULL is accepted. */
void tc__tally_free(tc__tally *t, size_t n);

#endif /* TC_STORE_H */
