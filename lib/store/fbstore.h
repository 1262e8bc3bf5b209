/*
 * fbstore.h - how feedback records are kept by an L2: the feedback part
 * of a store's operations (tc__store_ops.fb). The feedback layer
 * validates and builds records; a store keeps them (lmdb/lmdb_fb.c and
 * lmdb_fbqueue.c; redis/redis_fb.c with the scripts of redis/lua/).
 *
 * In Redis the natural shapes are a stream trimmed by age (XADD ... MINID),
 * a consumer group for the retraining queue, a hash of counters and a
 * "seen" key per id for idempotence; LMDB keeps the same data in named
 * databases. Every operation may run on many threads at once and returns
 * TC_OK or a negative TC_E* code with the detail in err.
 *
 * An id names a record and nothing more: the feedback layer derives it
 * from the record's content (or takes the caller's), so it says nothing
 * of time. A store keeps its records in the order it stored them and
 * times their retention from then, by a key of its own (the stream
 * entry's id; LMDB's "fb_order"), and holds each id for as long as its
 * record, so that a put of an id it holds is a no-op.
 */
#ifndef TC_FBSTORE_H
#define TC_FBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * On a Redis Cluster a script may name keys of one slot only, so the
 * feedback keys carry this hash tag there, and so do the keys of the
 * namespace that holds corrections' overrides (the cache gives that
 * namespace the prefix "{" TC__FB_TAG "}" on a store whose ops->fb_tag is
 * set): a record and its override are still written by one script.
 */
#define TC__FB_TAG "tc:fb"
/* The namespace of corrections' overrides (classify's TC__OVERRIDE_NS). */
#define TC__FB_OVERRIDE_NS "intent_feedback"

/* The longest id, in bytes; TC_FEEDBACK_ID_MAX has room for its NUL. */
#define TC__FB_ID_LEN 64

/* Whether s is an id: 1 to TC__FB_ID_LEN bytes of [A-Za-z0-9._:-]. */
int tc__fb_id_valid(const char *s);

/* One record to keep. */
typedef struct tc__fb_put {
    const char *id;   /* tc__fb_id_valid(); one record per id */
    const char *json; /* the validated record, one JSON object */
    size_t len;
    const char *type;     /* "correction" or "confirmation" */
    const char *original; /* original_intent, for the pair counter */
    const char *correct;  /* correct_intent */
    /* A correction's override of the cached classification: written in
     * the same transaction (script) as the record; NULL for none. */
    const char *override_key;
    const char *override_val;
    size_t override_len;
    int64_t override_ttl_ms;
    int status; /* out: TC_OK stored now, TC_MISS already stored (a
                   replayed duplicate: nothing counted twice), or TC_E* */
} tc__fb_put;

/* A name and a count, as kept by the store's counters. */
typedef struct tc__fb_count {
    char *name; /* "correction:accepted", "pair:<orig>\x1f<correct>", ... */
    uint64_t value;
} tc__fb_count;

typedef struct tc__fb_stats {
    tc__fb_count *counts; /* every counter; tc__fb_stats_release frees */
    size_t ncounts;
    uint64_t kept;    /* records within retention */
    uint64_t pending; /* delivered to a consumer, not acknowledged */
    uint64_t queued;  /* not yet delivered to any consumer */
} tc__fb_stats;

typedef struct tc__fb_ops {
    /*
     * Keeps n records in one round trip (one transaction): each is stored
     * only if its id is not held already (idempotent, so a spool replay or
     * a rerun import never duplicates; an id is held as long as its
     * record, and a second one of the same id in the batch is a
     * duplicate too), counted under "<type>:accepted" and, for a
     * correction, "pair:<original>\x1f<correct>", appended to the
     * retraining queue, and its override written. Records older than
     * retention_ms are trimmed on the way. Item statuses say what happened;
     * the call fails as a whole only when the store could not be reached.
     */
    int (*put)(tc__store *s, tc__fb_put *items, size_t n, int64_t retention_ms,
               tc__err *err);
    /*
     * Removes every record stored more than retention_ms ago with
     * its queue and pending entries; *removed (may be NULL) counts them.
     * put trims only a bounded batch on the way, and nothing is put while
     * nobody submits, so feedback.c calls this before stats, consume and
     * export: nothing past its retention is ever read back.
     */
    int (*trim)(tc__store *s, int64_t retention_ms, uint64_t *removed,
                tc__err *err);
    /* Adds n to the counter `name` ("correction:rejected", ...). */
    int (*count)(tc__store *s, const char *name, uint64_t n, tc__err *err);
    /*
     * Up to max records for `consumer` of the one retraining group: first
     * records delivered to any consumer more than claim_idle_ms ago and
     * not acknowledged (claimed for this one), then records never
     * delivered. ids/records are tc__malloc'd arrays of tc__malloc'd
     * strings (tc__fb_strings_free).
     */
    int (*consume)(tc__store *s, const char *consumer, size_t max,
                   int64_t claim_idle_ms, char ***ids, char ***records,
                   size_t *n, tc__err *err);
    /* Acknowledges delivered records: they leave the queue. */
    int (*ack)(tc__store *s, const char *const *ids, size_t n, tc__err *err);
    int (*stats)(tc__store *s, tc__fb_stats *out, tc__err *err);
    /* Calls each() on every kept record, in the order they were stored,
     * until it returns non-zero (then returns that value). */
    int (*export)(tc__store *s,
                  int (*each)(void *ud, const char *id, const char *json,
                              size_t len),
                  void *ud, tc__err *err);
    /*
     * Erases the records of these ids: the record, its queue or pending
     * entry and the id it holds (so the same record may be put again),
     * in one transaction (script). Counters stay: they hold no record.
     * *removed counts the records that were there; ids not held are
     * skipped, so a second purge removes 0. Overrides are the cache's
     * entries, rewritten or deleted by the caller (feedback/purge.c).
     */
    int (*purge)(tc__store *s, const char *const *ids, size_t n,
                 uint64_t *removed, tc__err *err);
} tc__fb_ops;

extern const tc__fb_ops tc__fb_lmdb_ops;
extern const tc__fb_ops tc__fb_redis_ops;

/* Frees what consume and stats hand out (release.c). */
void tc__fb_strings_free(char **v, size_t n);
void tc__fb_stats_release(tc__fb_stats *st);

#endif /* TC_FBSTORE_H */
