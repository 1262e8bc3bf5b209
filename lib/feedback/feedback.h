/*
 * feedback.h - the feedback layer: its context, handed what it needs once
 * when a handle opens; a record's fields as given (from the public
 * struct, a JSON object or a CSV row) and the record built and validated
 * from them (record.c); the one put of records (put.c); the spool
 * (spool.c); the path every accepted record takes and the calls behind
 * the public feedback API (feedback.c, import.c).
 */
#ifndef TC_FEEDBACK_H
#define TC_FEEDBACK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "classify/classify.h"
#include "feedback/counts.h"
#include "store/fbstore.h"

/* Limits of a record, in bytes unless said otherwise. */
#define TC__FB_TEXT_MAX 10000
#define TC__FB_LABEL_MAX 256 /* an intent, complexity, technique, user id */
#define TC__FB_TECH_MAX 32   /* correct_techniques items */
/* A model's identity: a fingerprint or a host model's version, which
 * classify takes up to 127 bytes long. */
#define TC__FB_MODEL_MAX 127
/*
 * Records per store round trip in an import and a replay: on LMDB one
 * transaction and one fsync, which dominate, so larger batches import
 * faster; 1024 records are a few hundred KB, one short Redis pipeline.
 */
#define TC__FB_BATCH 1024
/* Where a correction's override goes: classify reads it there. */
#define TC__FB_NS TC__OVERRIDE_NS
/* An override's TTL when the configuration has no such namespace. */
#define TC__FB_OVERRIDE_TTL_MS 86400000

/* What the layer works with: borrowed from the handle, which outlives it. */
typedef struct tc__fb {
    tc__cache *cache;
    tc__store *store;      /* NULL for memory: */
    const tc__fb_ops *ops; /* the store's feedback operations; NULL: none */
    const tc__config *cfg;
    const tc__logger *log;
    tc__fb_counts *counts; /* NULL: metrics off */
    /* classification's counters, whose A/B arms a record naming an arm's
     * model is counted for; NULL: metrics off */
    tc__cls_counts *cls;
    int64_t override_ttl_ms;
    _Atomic int fault_n; /* see tc__fb_set_fault */
    tc__ratelimit spool_rl;
    tc__ratelimit seal_rl; /* records that did not open (fbseal.c) */
    /* how the store keeps keys, once it answered (risk.c) */
    pthread_mutex_t risk_mu;
    tc__store_keeping keep;
    int keep_known;
} tc__fb;

int tc__fb_open(tc__fb **out, tc__cache *cache, tc__fb_counts *counts);
void tc__fb_close(tc__fb *fb);

/* The fields of a record in their canonical order (the stored JSON puts
 * "id" first); CSV columns are all but "id". */
enum {
    TC__FB_TEXT,
    TC__FB_ORIGINAL,
    TC__FB_CORRECT,
    TC__FB_CONF,
    TC__FB_COMPLEXITY,
    TC__FB_TECH,
    TC__FB_USER,
    TC__FB_MODEL,
    TC__FB_TYPE,
    TC__FB_TS,
    TC__FB_ID,
    TC__FB_NFIELDS
};
extern const char *const tc__fb_fields[TC__FB_NFIELDS];

/*
 * A record's fields as given, borrowed from the input. A parser sets
 * type as soon as it knows it, even when another field fails, so the
 * rejection is counted under the right type: 0 absent, -1 not a valid
 * type, else a tc_feedback_type.
 */
typedef struct tc__fb_in {
    const char *text; /* NULL: absent */
    size_t textlen;
    const char *original;
    const char *correct;
    int has_conf;
    double conf;
    const char *complexity; /* NULL: absent */
    const char *tech[TC__FB_TECH_MAX];
    size_t ntech;
    int has_tech;
    const char *user_id;
    const char *model; /* NULL: absent */
    int type;
    const char *type_given; /* the invalid string, or NULL */
    int type_num;           /* the invalid enum value of the struct form */
    const char *timestamp;  /* NULL: the time of receipt */
    const char *id;         /* the caller's or a spooled record's id; NULL:
                               derived from the content */
} tc__fb_in;

/* A validated record, ready to store: one block holds its strings. */
typedef struct tc__fb_rec {
    char id[TC_FEEDBACK_ID_MAX];
    int type;
    int duplicate;    /* set by tc__fb_accept: the store held the id already */
    char *block;      /* json, original, correct, normalized text, model */
    const char *json; /* the canonical record, with its id */
    size_t len;
    const char *original, *correct;
    const char *norm; /* the normalized text (corrections) */
    size_t normlen;
    const char *model; /* the model the record is about; NULL: none */
    char *oval;        /* a correction's classification; NULL otherwise */
    size_t olen;
    char okey[TC_KEY_MAX]; /* its L2 key */
    tc__cache_l1w l1w;     /* its override in L1 (tc__fb_accept) */
} tc__fb_rec;

/* "correction", "confirmation", or "invalid" for anything else. */
const char *tc__fb_type_name(int type);

/* A short, printable excerpt of s for a message, in buf (n bytes). */
const char *tc__fb_excerpt(char *buf, size_t n, const char *s);

/*
 * Reads a JSON object into in, pointing into *tree (the caller deletes
 * it, also on failure). "id" is optional, but required with need_id (a
 * spooled line, which is a stored record).
 * Returns TC_OK; TC_EINVAL with err naming the field; TC_ENOMEM.
 */
int tc__fb_parse_json(tc__fb_in *in, void **tree, const char *json, size_t len,
                      int need_id, tc__err *err);

/*
 * Validates in and builds the record: canonical JSON (fixed key order,
 * the id, timestamp normalized to UTC with milliseconds), and for a
 * correction its override and key in the intent_feedback namespace.
 * The id is the caller's (in->id, checked by tc__fb_id_valid), else 32
 * hex digits of XXH3-128 (keyed BLAKE2b with a key secret) over the
 * canonical fields but the id, with the timestamp only when one was
 * given: the same record always gets the same id, which is what makes a
 * rerun import or a retried submit store it once. fb NULL validates only (no
 * override). Returns TC_OK; TC_EINVAL with err naming the field and the reason;
 * TC_ENONS; TC_ENOMEM.
 */
int tc__fb_build(tc__fb_rec *r, tc__fb *fb, const tc__fb_in *in, tc__err *err);
void tc__fb_rec_free(tc__fb_rec *r);

/* ---- risk.c -------------------------------------------------------------- */

/* Room for tc__fb_risk_text's warning. */
#define TC__FB_RISK_TEXT 512

/*
 * Asks the store how it keeps keys (tc__store_keeping), unless it
 * answered before, and logs feedback_at_risk (warn) the first time it
 * says feedback may be evicted or lost on restart. A store that does not
 * answer is asked again on the next call. Cheap once answered.
 */
void tc__fb_risk_check(tc__fb *fb);
/* What is known of it: unknown until it answered; LMDB is on disk. */
void tc__fb_risk(tc__fb *fb, tc__store_keeping *out);
/* The warning for k, with how to avoid the loss, in buf (n bytes,
 * TC__FB_RISK_TEXT is enough); "" when feedback is not known at risk. */
const char *tc__fb_risk_text(const tc__store_keeping *k, char *buf, size_t n);
/* Logs feedback_spool_orphaned (warn) when the spool that every Redis
 * store shared by default, before each had its own, holds lines: no
 * store replays them. Called once, when the handle opens. */
void tc__fb_risk_orphans(tc__fb *fb);
/* An ISO 8601 timestamp as a record's "timestamp" takes it, in ms since
 * the epoch. Returns TC_OK; TC_EINVAL with err saying why. */
int tc__fb_ts_ms(const char *s, int64_t *ms, tc__err *err);

/* ---- put.c --------------------------------------------------------------- */

/* TC_OK when the store keeps feedback; TC_EINVAL (memory:) otherwise. */
int tc__fb_ready(const tc__fb *fb);

/* Whether rc means "the store cannot be reached" (spool the record). */
int tc__fb_unreachable(int rc);

/*
 * One put of n records (the fault hook applies here), reporting the
 * outcome to the cache's L2 state. items are filled from recs; after
 * the call only their statuses may be read (with encryption at rest
 * their JSON and overrides pointed at sealed copies, freed by then).
 */
int tc__fb_put_recs(tc__fb *fb, tc__fb_rec *recs, size_t n, tc__fb_put *items,
                    tc__err *err);

/* Counts n rejections of a type (best effort: failures are ignored). */
void tc__fb_count_rejected(tc__fb *fb, int type, uint64_t n);

/*
 * For tests: makes the next n puts fail as if the store could not be
 * reached (TC_EUNAVAIL); n < 0: every put until called again with 0.
 * Used by tests/check_feedback.c (through tc__feedback_set_fault) to
 * exercise the spool on LMDB, whose store is never "unreachable".
 */
void tc__fb_set_fault(tc__fb *fb, int n);

/* ---- sealing (fbseal.c) ------------------------------------------------ */

/*
 * With encryption at rest on, points each item's JSON and override at a
 * sealed copy; *hold keeps the copies for tc__fb_seal_release(hold, n)
 * after the put (NULL when sealing is off). Returns TC_OK; TC_ENOMEM.
 */
int tc__fb_seal_items(tc__fb *fb, tc__fb_put *items, size_t n, char ***hold,
                      tc__err *err);
void tc__fb_seal_release(char **hold, size_t n);
/* A record's JSON sealed as the store keeps it, for the spool: *out
 * (tc__malloc'd) NULL when sealing is off. TC_OK; TC_ENOMEM. */
int tc__fb_seal_rec(tc__fb *fb, const tc__fb_rec *r, char **out,
                    size_t *outlen);
/* A spool line opened, as tc__fb_open_stored (TC_MISS: in clear). */
int tc__fb_open_line(tc__fb *fb, const char *line, size_t len, char **out,
                     size_t *outlen);

/*
 * A stored record of id opened: TC_OK with *out the record (tc__malloc'd);
 * TC_MISS when it is not sealed (*out NULL: use it as it is);
 * TC_ECORRUPT when it does not open, with *out the stored record marked
 * "unopened":true (counted and logged); TC_ENOMEM.
 */
int tc__fb_open_stored(tc__fb *fb, const char *id, const char *json, size_t len,
                       char **out, size_t *outlen);
/* Opens n consumed records in place (each recs[i] tc__malloc'd). */
int tc__fb_open_records(tc__fb *fb, char **ids, char **recs, size_t n);

/* An export callback behind one that opens each record first. */
typedef struct tc__fb_opener {
    tc__fb *fb;
    int (*each)(void *ud, const char *id, const char *json, size_t len);
    void *ud;
} tc__fb_opener;
int tc__fb_open_each(void *ud, const char *id, const char *json, size_t len);

/* ---- the spool (spool.c) ---------------------------------------------- */

#define TC__SPOOL_NAME "feedback.spool" /* in the spool directory */

/*
 * Appends the records as JSON lines to <spool_dir>/feedback.spool in one
 * write, under the spool's lock, fsync'd before it returns.
 * Returns TC_OK; TC_EIO (no spool directory, or it cannot be written).
 */
int tc__spool_append(tc__fb *fb, const tc__fb_rec *recs, size_t n,
                     tc__err *err);

/*
 * Replays the spool through put, in order, in batches, then truncates it.
 * Unless force, the file is looked at only when this process spooled
 * something or a second has passed since the last look, so a feedback
 * call with no spool costs one atomic read. Returns TC_OK (no spool left),
 * TC_EUNAVAIL/TC_ETIMEOUT (the store is still down: the spool is kept, and
 * the part replayed is replayed again next time, harmlessly, since put is
 * idempotent by id and a spooled line keeps its id), or another TC_E*
 * code.
 */
int tc__spool_replay(tc__fb *fb, int force, tc__err *err);

/* Whether this process has appended to a spool not replayed since. */
int tc__spool_pending(void);

/* Lines in the spool (0 when there is none). */
int tc__spool_lines(tc__fb *fb, uint64_t *lines, tc__err *err);

/* ---- feedback.c and import.c ------------------------------------------ */

/*
 * Accepts n validated records: replays an earlier spool first, stores
 * them (one put), or appends them to the spool when the store cannot be
 * reached; then sets corrections in this process's L1. *spooled receives
 * how many went to the spool, *dups how many the store held already
 * (each marked duplicate: not counted, its override not set). Returns TC_OK
 * (all accepted); TC_EIO (the spool could not be written: none accepted);
 * TC_EFULL, TC_ENOMEM...
 */
int tc__fb_accept(tc__fb *fb, tc__fb_rec *recs, size_t n, size_t *spooled,
                  size_t *dups, tc__err *err);

/* The calls behind the public ones of the same names; the doors have
 * checked the pointers. */
int tc__fb_submit(char *id, int *outcome, tc__fb *fb, const tc_feedback *r);
int tc__fb_submit_json(char *id, int *outcome, tc__fb *fb, const char *json,
                       size_t len);
int tc__fb_stats_json(char **out, tc__fb *fb);
int tc__fb_consume(tc_feedback_batch **out, tc__fb *fb, const char *consumer,
                   size_t max, int64_t claim_idle_ms);
void tc__fb_batch_free(tc_feedback_batch *b);
int tc__fb_ack(tc__fb *fb, const char *const *ids, size_t n);
int tc__fb_export(tc__fb *fb, FILE *out, uint64_t *count);
int tc__fb_import(tc_import_report **out, tc__fb *fb, FILE *in,
                  tc_import_format format, int dry_run,
                  tc_import_progress_fn progress, void *progress_userdata);
void tc__import_report_free(tc_import_report *r);

/* What the feedback calls do first (feedback.c): the store must keep
 * feedback; a spool that is due is replayed, records past retention
 * trimmed. Returns TC_OK or the failure, recorded with tc__fail. */
int tc__fb_start(tc__fb *fb, tc__err *err);

/* ---- purge.c ------------------------------------------------------------ */

/* Which records a purge erases: every one that matches all the filters
 * given (at least one; NULL: not a filter). */
typedef struct tc__fb_filter {
    const char *user_id;
    const char *before; /* records whose timestamp is earlier */
    const char *text;   /* records of this text, once normalized */
} tc__fb_filter;

/* tc_feedback_purge: the door has checked the pointers. */
int tc__fb_purge(uint64_t *removed, tc__fb *fb, const tc__fb_filter *f);

#endif
