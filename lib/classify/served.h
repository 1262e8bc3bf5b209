/*
 * served.h - the answers served, counted per (UTC day, model identity,
 * intent, how: a cache hit, the model, a correction), and the shadow
 * checks' outcomes per (day, model): count_intents, on by default (no
 * texts are kept). The model identity is the classifier's own, the one
 * its cache keys hold: the built-in model's fingerprint, or "fn:" and a
 * host callback's version. Never the "model" a host's JSON answer
 * names: an answer counted under that name on a hit and under the
 * classifier's on a miss made one classifier two models to a reader,
 * and the key's identity is the one every path (a hit, a miss, a
 * correction's override, a shadow check) knows.
 *
 * A handle counts in process, striped by thread, at no round trip on
 * the caller's path; a thread of the handle's adds the counts to the
 * feedback store's tally (store.h's tally_add) every TC__SERVED_FLUSH_MS
 * and at close, so that `feedback stats`, in another process, can set
 * the corrections of an intent beside the answers of that intent.
 * memory: keeps them in this process only.
 */
#ifndef TC_SERVED_H
#define TC_SERVED_H

#include "cache/cache.h"
#include "store/store.h"

typedef struct tc__served tc__served;
typedef struct tc_classifier tc_classifier;

#define TC__SERVED_FLUSH_MS 1000

/* How an answer was served, or a shadow check's outcome: the field's
 * second part. */
#define TC__SERVED_HIT 'h'      /* from L1 or L2 */
#define TC__SERVED_MISS 'm'     /* the model answered */
#define TC__SERVED_FEEDBACK 'f' /* a correction's override answered */
#define TC__SERVED_AGREE 'a'    /* a shadow check agreed (no intent) */
#define TC__SERVED_DISAGREE 'd' /* ... disagreed */

/*
 * Starts the counting of a handle whose feedback is kept by fbcache,
 * which must outlive it: *out NULL (and TC_OK) when count_intents is
 * off. Returns TC_OK; TC_ENOMEM; TC_EINTERNAL (no thread).
 */
int tc__served_open(tc__served **out, tc__cache *fbcache);
/* Sends what is counted (a failure is logged) and frees s; NULL is
 * accepted. */
void tc__served_close(tc__served *s);
/* Makes c and its candidate count their answers in s (NULL: not). */
void tc__served_attach(tc_classifier *c, tc__served *s);

/*
 * The hash a (model identity, intent) pair is counted under. The packed
 * form of an answer keeps its own (classify/packed.c), computed once, so
 * that counting an L1 hit or the built-in model's answer hashes nothing
 * (tc__served_bump).
 */
uint64_t tc__served_hash(const char *model, size_t mlen, const char *intent,
                         size_t ilen);

/*
 * Counts one answer of the model identity model (mlen bytes) with
 * intent (NUL-terminated; "" for a shadow check) and how (TC__SERVED_*).
 * s may be NULL. Lock-free of other threads but for a moment's spin on
 * the thread's stripe while a flush reads it; a count that finds its
 * stripe's table full is dropped and logged at the next flush.
 */
void tc__served_count(tc__served *s, const char *model, size_t mlen,
                      const char *intent, char how);
/* The same with h = tc__served_hash(model, mlen, intent, ...); mlen
 * TC__SERVED_NUL: model is NUL-terminated, measured only when its pair
 * is new to the thread's stripe. */
#define TC__SERVED_NUL ((size_t)-1)
/*
 * The common path of a count, for a caller that holds the hash: adds one
 * to the slot of h + TC__SERVED_HOW(how) in the thread's stripe and
 * returns 1, or returns 0 when the stripe has no such slot yet (the
 * caller then counts with tc__served_count_h). s not NULL. Apart from
 * the strings, so that it keeps few registers.
 */
#define TC__SERVED_HOW(how)                                                    \
    ((uint64_t)(unsigned char)(how)*0x9E3779B97F4A7C15ULL)
int tc__served_bump(tc__served *s, uint64_t h);
void tc__served_count_h(tc__served *s, uint64_t h, const char *model,
                        size_t mlen, const char *intent, char how);

/*
 * Adds what is counted to the store now. A store that fails keeps the
 * counts in this process, for the next flush, up to
 * TC__SERVED_MAX_PENDING distinct fields (past them a count is dropped
 * and logged). memory: nothing to send. Returns TC_OK (also for a NULL
 * s) or the store's failure, recorded with tc__fail.
 */
#define TC__SERVED_MAX_PENDING 65536
int tc__served_flush(tc__served *s);

/*
 * Every field of fbcache's tally (this handle's counts flushed first, s
 * may be NULL), *n of them in *out (tc__tally_free), and in floor the
 * first day ("YYYYMMDD") of the feedback retention window, which the
 * caller keeps to. memory: this process's counts. Returns TC_OK; the
 * store's failure; TC_ENOMEM.
 */
int tc__served_read(tc__tally **out, size_t *n, char floor[9], tc__served *s,
                    tc__cache *fbcache);

/*
 * The parts of a tally field "YYYYMMDD:H:MLEN:<model><intent>": day (8
 * bytes), how, the model (mlen bytes, not NUL-terminated) and the
 * intent (the rest). Returns 0, or -1 for a field of another form.
 */
typedef struct tc__served_field {
    const char *day;
    char how;
    const char *model;
    size_t mlen;
    const char *intent;
} tc__served_field;
int tc__served_parse(tc__served_field *f, const char *field);

#endif
