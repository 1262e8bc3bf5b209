/*
 * feedback.c - the doors of feedback, over the context the handle set up
 * for the feedback layer when it opened.
 */
#include <stdio.h>

#include "api/handle.h"

/* A submit's line: the record's id (no text), and whether it was stored,
 * spooled or a duplicate. */
static int audit_submit(tc_cache *h, const char *id, const int *outcome, int rc)
{
    static const char *const how[] = {"stored", "spooled", "duplicate"};
    int o = outcome ? *outcome : 0;
    tc__audit_ev ev = {"feedback_submit",
                       NULL,
                       id[0] ? id : NULL,
                       rc == TC_OK && outcome && o >= 0 && o <= 2 ? how[o]
                                                                  : NULL,
                       -1,
                       rc};

    tc__audit_write(h->audit, &ev);
    return tc__done(rc);
}

TC_API int tc_feedback_submit(char *id, int *outcome, tc_cache *h,
                              const tc_feedback *fb)
{
    if (id) {
        id[0] = '\0';
    }
    TC__RESET(outcome, TC_FEEDBACK_STORED);
    TC__DOOR(h, id && fb, "id or fb is NULL");
    return audit_submit(h, id, outcome, tc__fb_submit(id, outcome, h->fb, fb));
}

TC_API int tc_feedback_submit_json(char *id, int *outcome, tc_cache *h,
                                   const char *json, size_t len)
{
    if (id) {
        id[0] = '\0';
    }
    TC__RESET(outcome, TC_FEEDBACK_STORED);
    TC__DOOR(h, id && json, "id or json is NULL");
    return audit_submit(h, id, outcome,
                        tc__fb_submit_json(id, outcome, h->fb, json, len));
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
    int rc;

    TC__DOOR(h, ids || n == 0, "ids is NULL with n %zu", n);
    rc = tc__fb_ack(h->fb, ids, n);
    tc__audit_op(h, "feedback_ack", NULL, NULL, (int64_t)n, rc);
    return tc__done(rc);
}

TC_API int tc_feedback_export(tc_cache *h, FILE *out, uint64_t *count)
{
    uint64_t n = 0;
    int rc;

    TC__RESET(count, 0);
    TC__DOOR(h, out, "out is NULL");
    rc = tc__fb_export(h->fb, out, &n);
    if (count) {
        *count = n;
    }
    tc__audit_op(h, "feedback_export", NULL, NULL, (int64_t)n, rc);
    return tc__done(rc);
}

TC_API int tc_feedback_import(tc_import_report **out, tc_cache *h, FILE *in,
                              tc_import_format format, int dry_run,
                              tc_import_progress_fn progress,
                              void *progress_userdata)
{
    int rc;

    TC__RESET(out, NULL);
    TC__DOOR(h, out && in, "out or in is NULL");
    rc = tc__fb_import(out, h->fb, in, format, dry_run, progress,
                       progress_userdata);
    if (!dry_run) {
        tc__audit_op(h, "feedback_import", NULL, NULL,
                     *out ? (int64_t)(*out)->accepted : 0, rc);
    }
    return tc__done(rc);
}

TC_API int tc_feedback_purge(uint64_t *removed, tc_cache *h,
                             const char *user_id, const char *before,
                             const char *text)
{
    tc__fb_filter f = {user_id, before, text};
    char detail[64];
    uint64_t n = 0;
    int rc;

    TC__RESET(removed, 0);
    /* the filters are checked below, so that a refused purge is audited */
    tc__clear();
    if (!h) {
        return tc__fail(TC_EINVAL, "the handle is NULL");
    }
    rc = tc__fb_purge(&n, h->fb, &f);
    if (removed) {
        *removed = n;
    }
    /* which filters, not their values: a text or a time may say who */
    snprintf(detail, sizeof(detail), "%s%s%s%s%s", user_id ? "user_id" : "",
             user_id && (before || text) ? "," : "", before ? "before" : "",
             before && text ? "," : "", text ? "text" : "");
    tc__audit_user(h, "feedback_purge", user_id, detail, (int64_t)n, rc);
    return tc__done(rc);
}

TC_API void tc_import_report_free(tc_import_report *r)
{
    tc__import_report_free(r);
}
