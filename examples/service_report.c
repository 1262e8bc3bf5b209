/*
 * service_report.c - GET /api/v1/intents/feedback/report: the library's
 * feedback report (tc_feedback_report_html) as the service's page. The
 * service adds what only it knows: the models of its A/B arms, the model
 * serving now and --candidate's, by fingerprint, as feedback records
 * name them. The page's shadow section holds every process's checks per
 * model, as the store counts them, and first this process's own line
 * (--shadow-rate), dropped and failed checks included.
 */
#include <string.h>

#include "service.h"

#define SVC_CT_HTML "text/html; charset=utf-8"

enum MHD_Result svc_report(svc *s, struct MHD_Connection *conn, svc_req *r)
{
    char control[TC_FINGERPRINT_LEN + 1], cand[TC_FINGERPRINT_LEN + 1] = "";
    tc_report_options o;
    char *page = NULL;
    size_t len = 0;
    int rc;

    if (!svc_durable_store(s)) {
        return svc_no_feedback_store(conn, r);
    }
    /* the control is the model serving now, as the metrics' arms are */
    pthread_rwlock_rdlock(&s->model.lock);
    memcpy(control, s->model.fp, sizeof(control));
    pthread_rwlock_unlock(&s->model.lock);
    if (s->candidate) {
        tc_model_fingerprint(cand, s->candidate);
    }
    tc_report_options_init(&o);
    o.control_model = control;
    o.candidate_model = cand;
    o.title = "intent_service feedback report";
    rc = tc_feedback_report_html(&page, &len, s->cache, &o);
    switch (rc) {
    case TC_OK:
        return svc_reply(conn, r, 200, SVC_CT_HTML, page, len, tc_free, NULL);
    case TC_EUNAVAIL:
    case TC_ETIMEOUT:
        return svc_reply_error(conn, r, 503, "store_unavailable", NULL,
                               tc_errmsg(), NULL);
    default:
        return svc_reply_error(conn, r, 500, "internal", NULL, tc_errmsg(),
                               NULL);
    }
}
