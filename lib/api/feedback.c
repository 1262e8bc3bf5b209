/*
 * feedback.c - the doors of feedback, over the context the handle set up
 * for the feedback layer when it opened.
 */
#include "api/handle.h"

TC_API int tc_feedback_submit(char *id, int *outcome, tc_cache *h,
                              const tc_feedback *fb)
{
    if (id) {
        id[0] = '\0';
    }
    TC__RESET(outcome, TC_FEEDBACK_STORED);
    TC__DOOR(h, id && fb, "id or fb is NULL");
    return tc__done(tc__fb_submit(id, outcome, h->fb, fb));
}

TC_API int tc_feedback_submit_json(char *id, int *outcome, tc_cache *h,
                                   const char *json, size_t len)
{
    if (id) {
        id[0] = '\0';
    }
    TC__RESET(outcome, TC_FEEDBACK_STORED);
    TC__DOOR(h, id && json, "id or json is NULL");
    return tc__done(tc__fb_submit_json(id, outcome, h->fb, json, len));
}

TC_API int tc_feedback_stats_json(char **out, tc_cache *h)
{
    TC__RESET(out, NULL);
    TC__DOOR(h, out, "out is NULL");
    return tc__done(tc__fb_stats_json(out, h->fb));
}

TC_API int tc_feedback_consume(tc_feedback_batch **out, tc_cache *h,
                               const char *consumer, size_t max,
                               int64_t claim_idle_ms)
{
    TC__RESET(out, NULL);
    TC__DOOR(h, out && consumer, "out or consumer is NULL");
    return tc__done(tc__fb_consume(out, h->fb, consumer, max, claim_idle_ms));
}

TC_API void tc_feedback_batch_free(tc_feedback_batch *b)
{
    tc__fb_batch_free(b);
}

TC_API int tc_feedback_ack(tc_cache *h, const char *const *ids, size_t n)
{
    TC__DOOR(h, ids || n == 0, "ids is NULL with n %zu", n);
    return tc__done(tc__fb_ack(h->fb, ids, n));
}

TC_API int tc_feedback_export(tc_cache *h, FILE *out, uint64_t *count)
{
    TC__RESET(count, 0);
    TC__DOOR(h, out, "out is NULL");
    return tc__done(tc__fb_export(h->fb, out, count));
}

TC_API int tc_feedback_import(tc_import_report **out, tc_cache *h, FILE *in,
                              tc_import_format format, int dry_run,
                              tc_import_progress_fn progress,
                              void *progress_userdata)
{
    TC__RESET(out, NULL);
    TC__DOOR(h, out && in, "out or in is NULL");
    return tc__done(tc__fb_import(out, h->fb, in, format, dry_run, progress,
                                  progress_userdata));
}

TC_API void tc_import_report_free(tc_import_report *r)
{
    tc__import_report_free(r);
}
