/*
 * handle.h - what a tc_cache is: the cache and what was set up beside it
 * when it opened, each layer's part handed to that layer once. Only the
 * doors of lib/api/ see it.
 */
#ifndef TC_HANDLE_H
#define TC_HANDLE_H

#include "cache/cache.h"
#include "classify/classify.h"
#include "feedback/feedback.h"

struct tc_cache {
    tc__cache *core;
    tc__cls_counts *cls;  /* NULL: TC_OPT_NO_METRICS */
    tc__fb_counts *fbk;   /* NULL: TC_OPT_NO_METRICS */
    tc__fb *fb;
};

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
#define TC__DOOR(h, args_ok, ...)                                        \
    do {                                                                 \
        tc__clear();                                                     \
        if (!(h)) {                                                      \
            return tc__fail(TC_EINVAL, "the handle is NULL");            \
        }                                                                \
        if (!(args_ok)) {                                                \
            return tc__fail(TC_EINVAL, __VA_ARGS__);                     \
        }                                                                \
    } while (0)

/* Resets an out-parameter a caller may have passed as NULL. */
#define TC__RESET(p, v)                                                  \
    do {                                                                 \
        if (p) {                                                         \
            *(p) = (v);                                                  \
        }                                                                \
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
