/*
 * feedback.h - what the feedback files share: a record's fields as given
 * (from the public struct, a JSON object or a CSV row), the record built
 * and validated from them, the path that stores records or spools them,
 * the spool, and the fault hook the tests use to make the store look
 * unreachable.
 */
#ifndef TC_FEEDBACK_H
#define TC_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "cache_internal.h"
#include "fbstore.h"

/* Limits of a record, in bytes unless said otherwise. */
#define TC__FB_TEXT_MAX 10000
#define TC__FB_LABEL_MAX 256 /* an intent, complexity, technique, user id */
#define TC__FB_TECH_MAX 32   /* correct_techniques items */
/*
 * Records per store round trip in an import and a replay: on LMDB one
 * transaction and one fsync, which dominate, so larger batches import
 * faster; 1024 records are a few hundred KB, one short Redis pipeline.
 */
#define TC__FB_BATCH 1024
#define TC__FB_NS "intent_feedback"

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
    int type;
    const char *type_given; /* the invalid string, or NULL */
    int type_num;           /* the invalid enum value of the struct form */
    const char *timestamp;  /* NULL: the time of receipt */
    const char *id;         /* a spooled record's own id; NULL: a new one */
} tc__fb_in;

/* A validated record, ready to store: one block holds its strings. */
typedef struct tc__fb_rec {
    char id[TC_FEEDBACK_ID_MAX];
    int type;
    char *block;      /* json, original, correct, normalized text */
    const char *json; /* the canonical record, with its id */
    size_t len;
    const char *original, *correct;
    const char *norm; /* the normalized text (corrections) */
    size_t normlen;
    char *oval; /* a correction's classification; NULL otherwise */
    size_t olen;
    char okey[TC_KEY_MAX]; /* its L2 key */
} tc__fb_rec;

/* "correction", "confirmation", or "invalid" for anything else. */
const char *tc__fb_type_name(int type);

/* Whether s is "<13 digits>-<16 lowercase hex digits>". */
int tc__fb_id_valid(const char *s);

/*
 * Reads a JSON object into in, pointing into *tree (the caller deletes
 * it, also on failure). allow_id accepts the "id" of a stored record.
 * Returns TC_OK; TC_EINVAL with err naming the field; TC_ENOMEM.
 */
int tc__fb_parse_json(tc__fb_in *in, void **tree, const char *json, size_t len,
                      int allow_id, tc__err *err);

/*
 * Validates in and builds the record: canonical JSON (fixed key order,
 * the id, timestamp normalized to UTC with milliseconds), and for a
 * correction its override and key in the intent_feedback namespace of h.
 * h NULL validates only (no id, no override). Returns TC_OK; TC_EINVAL
 * with err naming the field and the reason; TC_ENONS; TC_ENOMEM.
 */
int tc__fb_build(tc__fb_rec *r, tc_cache *h, const tc__fb_in *in, tc__err *err);
void tc__fb_rec_free(tc__fb_rec *r);

/*
 * The feedback operations of h's store. memory: is TC_EINVAL (feedback
 * needs a durable store). Sets the handle's error detail on failure.
 */
int tc__fb_store(tc_cache *h, const tc__fb_ops **ops, tc__store **s);

/*
 * One put of n records (the fault hook applies here), reporting the
 * outcome to the handle's L2 state. items are filled from recs.
 */
int tc__fb_put_recs(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                    tc__fb_rec *recs, size_t n, tc__fb_put *items,
                    tc__err *err);

/*
 * Accepts n validated records: replays an earlier spool first, stores
 * them (one put), or appends them to the spool when the store cannot be
 * reached; then sets corrections in this process's L1. *spooled receives
 * how many went to the spool. Returns TC_OK (all accepted); TC_EIO (the
 * spool could not be written: none accepted); TC_EFULL, TC_ENOMEM...
 */
int tc__fb_accept(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                  tc__fb_rec *recs, size_t n, size_t *spooled, tc__err *err);

/* Counts n rejections of a type (best effort: failures are ignored). */
void tc__fb_count_rejected(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                           int type, uint64_t n);

/* Whether rc means "the store cannot be reached" (spool the record). */
int tc__fb_unreachable(int rc);

/* ---- the spool (spool.c) ---------------------------------------------- */

/*
 * Appends the records as JSON lines to <spool_dir>/feedback.spool in one
 * write, under the spool's lock, fsync'd before it returns.
 * Returns TC_OK; TC_EIO (no spool directory, or it cannot be written).
 */
int tc__spool_append(tc_cache *h, const tc__fb_rec *recs, size_t n,
                     tc__err *err);

/*
 * Replays the spool through put, in order, in batches, then truncates it.
 * Unless force, the file is looked at only when this process spooled
 * something or a second has passed since the last look, so a feedback
 * call with no spool costs one atomic read. Returns TC_OK (no spool left),
 * TC_EUNAVAIL/TC_ETIMEOUT (the store is still down: the spool is kept, and
 * the part replayed is replayed again next time, harmlessly, since put is
 * idempotent by id), or another TC_E* code.
 */
int tc__spool_replay(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                     int force, tc__err *err);

/* Whether this process has appended to a spool not replayed since. */
int tc__spool_pending(void);

/* Lines in the spool (0 when there is none). */
int tc__spool_lines(tc_cache *h, uint64_t *lines, tc__err *err);

/* ---- for tests only ---------------------------------------------------- */

/*
 * Makes the next n feedback puts on h fail as if the store could not be
 * reached (TC_EUNAVAIL); n < 0: every put until called again with 0. One
 * handle at a time (a new call replaces the previous hook). Used by
 * tests/check_feedback.c to exercise the spool on LMDB, whose store is
 * never "unreachable"; nothing in the library calls it.
 */
void tc__feedback_set_fault(tc_cache *h, int n);

#endif
