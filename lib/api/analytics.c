/*
 * analytics.c - the doors of the feedback's analytics and its HTML page
 * (report/analytics.c, report/page.c). Both read every stored record,
 * as an export does, so each call is audited, with the records' count.
 */
#include <cjson/cJSON.h>

#include "api/handle.h"
#include "report/report.h"

TC_API void tc_report_options_init(tc_report_options *opt)
{
    if (opt) {
        memset(opt, 0, sizeof(*opt));
        opt->version = TC_REPORT_OPTIONS_VERSION;
    }
}

/* The options a door works with: the caller's, or the defaults. */
static const tc_report_options *options(const tc_report_options *opt,
                                        tc_report_options *def)
{
    if (opt) {
        return opt;
    }
    tc_report_options_init(def);
    return def;
}

static int options_ok(const tc_report_options *opt)
{
    return !opt ||
           (opt->version >= 1 && opt->version <= TC_REPORT_OPTIONS_VERSION);
}

TC_API int tc_feedback_analytics_json(char **out, tc_cache *h,
                                      const tc_report_options *opt)
{
    tc_report_options def;
    uint64_t n = 0;
    cJSON *a = NULL;
    int rc;

    TC__RESET(out, NULL);
    TC__DOOR(h, out, "out is NULL");
    if (!options_ok(opt)) {
        return tc__fail(TC_EINVAL, "opt: unknown version %u", opt->version);
    }
    rc =
        tc__fb_analytics(&a, &n, h->core, h->fb, h->served, options(opt, &def));
    if (rc == TC_OK && !(*out = cJSON_PrintUnformatted(a))) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
    }
    cJSON_Delete(a);
    tc__audit_op(h, "feedback_report", NULL, NULL, (int64_t)n, rc);
    return tc__done(rc);
}

TC_API int tc_feedback_report_html(char **out, size_t *len, tc_cache *h,
                                   const tc_report_options *opt)
{
    tc_report_options def;
    tc__report_shadow sh;
    uint64_t n = 0;
    size_t l = 0;
    int rc, own;

    TC__RESET(out, NULL);
    TC__RESET(len, 0);
    TC__DOOR(h, out, "out is NULL");
    if (!options_ok(opt)) {
        return tc__fail(TC_EINVAL, "opt: unknown version %u", opt->version);
    }
    /* this process's own line, where its classifiers made checks */
    tc__report_shadow_read(&sh, h->cls);
    own = sh.agree || sh.disagree || sh.dropped || sh.failed;
    rc = tc__fb_report_html(out, &l, &n, h->core, h->fb, h->served,
                            options(opt, &def), own ? &sh : NULL);
    if (len) {
        *len = l;
    }
    tc__audit_op(h, "feedback_report", NULL, NULL, (int64_t)n, rc);
    return tc__done(rc);
}
