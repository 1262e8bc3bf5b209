/*
 * handle.h - what a tc_cache is: the cache and what was set up beside it
 * when it opened, each layer's part handed to that layer once. Only the
 * doors of lib/api/ see it.
 */
#ifndef TC_HANDLE_H
#define TC_HANDLE_H

#include <string.h>

#include "base/audit.h"
#include "cache/cache.h"
#include "classify/classify.h"
#include "classify/popular.h"
#include "classify/served.h"
#include "feedback/feedback.h"

struct tc_cache {
    tc__cache *core;
    /* With a feedback_store: a cache of its own over that store, which
     * holds the feedback and corrections' overrides (the namespace
     * classify reads them from); NULL: core keeps both. */
    tc__cache *fbcore;
    tc__cls_counts *cls; /* NULL: TC_OPT_NO_METRICS */
    tc__fb_counts *fbk;  /* NULL: TC_OPT_NO_METRICS */
    tc__fb *fb;
    tc__audit *audit;   /* NULL: no audit log */
    tc__popular *pop;   /* track_popular's counting; NULL: off */
    tc__served *served; /* count_intents' counting; NULL: off */
};

/* The cache that keeps feedback and corrections' overrides. */
static inline tc__cache *tc__fb_core(const tc_cache *h)
{
    return h->fbcore ? h->fbcore : h->core;
}

/* The cache that holds namespace ns: overrides live with the feedback. */
static inline tc__cache *tc__core_of(const tc_cache *h, const char *ns)
{
    return h->fbcore && strcmp(ns, TC__OVERRIDE_NS) == 0 ? h->fbcore : h->core;
}

/* ---- audit.c: the audit trail's lines, written by the doors ---------- */

/* Opens the trail the configuration names, if any. */
int tc__audit_start(tc_cache *h);
/* A line: key as given (never a text), count < 0 left out. */
void tc__audit_op(tc_cache *h, const char *op, const char *ns, const char *key,
                  int64_t count, int rc);
/* A line naming a caller's key by its hashed L2 form; the calling
 * thread's error detail is kept. */
void tc__audit_key(tc_cache *h, const char *op, const char *ns, const void *key,
                   size_t keylen, int rc);
/* A line naming a user by a hash of the id (feedback_purge). */
void tc__audit_user(tc_cache *h, const char *op, const char *user_id,
                    const char *detail, int64_t count, int rc);

/* Returns rc; a call that succeeded leaves no message behind it, also
 * when a layer below met and settled a failure of its own on the way
 * (a cache write that classify shrugged off). */
static inline int tc__done(int rc)
{
    if (rc >= 0) {
        tc__clear();
    }
    return rc;
}

/* How a door on a handle opens: it clears the calling thread's error
 * slot, then refuses a NULL handle, and arguments for which args_ok is
 * false with the message that follows (a printf format and its values),
 * by returning TC_EINVAL from the door itself. A macro, because the
 * refusal returns from the caller; one copy, because every door opens
 * the same way. */
#define TC__DOOR(h, args_ok, ...)                                              \
    do {                                                                       \
        tc__clear();                                                           \
        if (!(h)) {                                                            \
            return tc__fail(TC_EINVAL, "the handle is NULL");                  \
        }                                                                      \
        if (!(args_ok)) {                                                      \
            return tc__fail(TC_EINVAL, __VA_ARGS__);                           \
        }                                                                      \
    } while (0)

/* Resets an out-parameter a caller may have passed as NULL. */
#define TC__RESET(p, v)                                                        \
    do {                                                                       \
        if (p) {                                                               \
            *(p) = (v);                                                        \
        }                                                                      \
    } while (0)

/* The out-parameters of a get, reset. */
static inline void tc__get_reset(void **val, size_t *len, tc_tier *tier)
{
    if (val) {
        *val = NULL;
    }
    if (len) {
        *len = 0;
    }
    if (tier) {
        *tier = TC_TIER_NONE;
    }
}

/* For tests: see tc__fb_set_fault (feedback/feedback.h). */
void tc__feedback_set_fault(tc_cache *h, int n);

#endif
