/*
 * service_api.c - the example service's endpoints: classify, feedback,
 * feedback stats, metrics and health, each a thin layer over one or two
 * libtutorcache calls. A request body is checked once, the same way for
 * every endpoint (valid UTF-8, no NUL, one JSON object), so that a client
 * gets the same 400 for the same mistake wherever it makes it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "service.h"

/* The fields of a feedback record, to name the field of a rejection. The
 * library holds the same list, behind its public boundary, which a host
 * program does not cross; the names are the documented record format
 * (README "Feedback"), stable as the API is, so the service keeps its own
 * copy rather than the library growing a call to list them. */
static const char *const fb_fields[] = {"text",
                                        "original_intent",
                                        "correct_intent",
                                        "original_confidence",
                                        "correct_complexity",
                                        "correct_techniques",
                                        "user_id",
                                        "model",
                                        "feedback_type",
                                        "timestamp"};

/* ---- request bodies ------------------------------------------------------ */

/* Does s[0..n) hold the escape \u0000 (an odd run of backslashes, 'u' and
 * four zeros)? cJSON would end the string there without a word. */
static int has_escaped_nul(const char *s, size_t n)
{
    size_t i, k;

    for (i = 0; i + 6 <= n; i++) {
        if (s[i] != '\\' || s[i + 1] != 'u' || memcmp(s + i + 2, "0000", 4)) {
            continue;
        }
        for (k = 0; k < i && s[i - 1 - k] == '\\'; k++) {
        }
        if (k % 2 == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * The request body as a JSON object, or NULL when it is not one, after
 * queueing the 400 (*ret says how that went). Checked before parsing:
 * valid UTF-8 (RFC 8259 requires it, and the library would refuse the
 * text later with a less precise message) and no NUL character, raw or
 * escaped, which no field can hold.
 */
static cJSON *body_object(struct MHD_Connection *conn, svc_req *r,
                          enum MHD_Result *ret)
{
    const char *p = r->body.p ? r->body.p : "", *end = NULL;
    size_t n = r->body.len, bad;
    char detail[96];
    cJSON *root;

    if (n == 0) {
        *ret = svc_reply_error(conn, r, 400, "bad_json", NULL,
                               "the body is empty; a JSON object is expected",
                               NULL);
        return NULL;
    }
    if ((bad = svc_utf8_valid(p, n)) != n) {
        snprintf(detail, sizeof(detail), "invalid UTF-8 at byte %zu", bad);
        *ret =
            svc_reply_error(conn, r, 400, "invalid_utf8", NULL, detail, NULL);
        return NULL;
    }
    if (memchr(p, '\0', n) || has_escaped_nul(p, n)) {
        *ret = svc_reply_error(
            conn, r, 400, "bad_json", NULL,
            "a NUL character (raw or \\u0000) is not accepted", NULL);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (root && end) {
        /* cJSON stops after the value: what follows must be white space */
        while (end < p + n &&
               (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) {
            end++;
        }
    }
    if (!root || end != p + n) {
        snprintf(detail, sizeof(detail), "not valid JSON (at byte %zu)",
                 end && end >= p ? (size_t)(end - p) : (size_t)0);
        cJSON_Delete(root);
        *ret = svc_reply_error(conn, r, 400, "bad_json", NULL, detail, NULL);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *ret = svc_reply_error(conn, r, 400, "bad_json", NULL,
                               "the body must be a JSON object", NULL);
        return NULL;
    }
    return root;
}

/* The first member of root whose name is not one of the n in known, or
 * NULL. */
static const char *first_unknown(const cJSON *root, const char *const *known,
                                 size_t n)
{
    const cJSON *m;
    size_t i;

    cJSON_ArrayForEach(m, root)
    {
        for (i = 0; i < n && strcmp(m->string, known[i]) != 0; i++) {
        }
        if (i == n) {
            return m->string;
        }
    }
    return NULL;
}

/* 400 invalid_field, naming a member that is no field of the body. */
static enum MHD_Result reply_unknown(struct MHD_Connection *conn, svc_req *r,
                                     const char *name)
{
    svc_buf d = {0};
    enum MHD_Result ret;

    svc_buf_str(&d, name);
    svc_buf_str(&d, ": unknown field (a misspelt field is rejected, never "
                    "dropped)");
    ret = svc_reply_error(conn, r, 400, "invalid_field", name,
                          d.oom ? "unknown field" : d.p, NULL);
    svc_buf_free(&d);
    return ret;
}

/* ---- endpoints ----------------------------------------------------------- */

static const char *const classify_fields[] = {"text", "user_id"};

/* The second member of root named name, or NULL. */
static const cJSON *second(const cJSON *root, const char *name)
{
    const cJSON *m;
    int seen = 0;

    cJSON_ArrayForEach(m, root)
    {
        if (strcmp(m->string, name) == 0 && seen++) {
            return m;
        }
    }
    return NULL;
}

/*
 * The classify request's user_id: absent or null (the arm is chosen by
 * the text), else a string of 1..256 bytes that chooses the arm of an A/B
 * rollout, so that a user always gets the same model. *ok is 0 when it is
 * none of these, after queueing the 400 (*ret).
 */
static const char *classify_user(struct MHD_Connection *conn, svc_req *r,
                                 const cJSON *root, int *ok,
                                 enum MHD_Result *ret)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "user_id");

    *ok = 1;
    if (!u || cJSON_IsNull(u)) {
        return NULL;
    }
    if (second(root, "user_id")) {
        *ok = 0;
        *ret = svc_reply_error(conn, r, 400, "invalid_field", "user_id",
                               "user_id: appears twice", NULL);
        return NULL;
    }
    if (!cJSON_IsString(u) || !u->valuestring[0] ||
        strlen(u->valuestring) > 256) {
        *ok = 0;
        *ret = svc_reply_error(conn, r, 400, "invalid_field", "user_id",
                               "user_id: not a string of 1 to 256 bytes", NULL);
        return NULL;
    }
    return u->valuestring;
}

static enum MHD_Result do_classify(svc *s, struct MHD_Connection *conn,
                                   svc_req *r)
{
    enum MHD_Result ret = MHD_NO;
    const cJSON *text;
    const char *bad, *user;
    tc_result *res = NULL;
    cJSON *root;
    char *body;
    size_t len;
    int rc, ok;

    if (!(root = body_object(conn, r, &ret))) {
        return ret;
    }
    /* As /feedback: a misspelt or extra field is an error, not ignored,
     * so that a client learns of it on its first call. */
    if ((bad = first_unknown(root, classify_fields,
                             sizeof(classify_fields) /
                                 sizeof(classify_fields[0])))) {
        ret = reply_unknown(conn, r, bad);
        cJSON_Delete(root);
        return ret;
    }
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (second(root, "text")) {
        cJSON_Delete(root);
        return svc_reply_error(conn, r, 400, "invalid_field", "text",
                               "text: appears twice", NULL);
    }
    if (!text || cJSON_IsNull(text) ||
        (cJSON_IsString(text) && !text->valuestring[0])) {
        cJSON_Delete(root);
        return svc_reply_error(conn, r, 400, "missing_field", "text",
                               "text: required, a non-empty string", NULL);
    }
    if (!cJSON_IsString(text)) {
        cJSON_Delete(root);
        return svc_reply_error(conn, r, 400, "invalid_field", "text",
                               "text: not a string", NULL);
    }
    user = classify_user(conn, r, root, &ok, &ret);
    if (!ok) {
        cJSON_Delete(root);
        return ret;
    }
    /* The model's read side, held until the result is copied: a reload
     * swaps the classifier only between requests (service_model.c). */
    pthread_rwlock_rdlock(&s->model.lock);
    rc = tc_classify_user(&res, s->model.clf, text->valuestring,
                          strlen(text->valuestring), user);
    if (rc == TC_OK) {
        svc_served_note(s, text->valuestring, strlen(text->valuestring), user,
                        res);
    }
    cJSON_Delete(root);
    if (rc != TC_OK) {
        pthread_rwlock_unlock(&s->model.lock);
        if (rc == TC_EINVAL) {
            return svc_reply_error(conn, r, 400, "invalid_text", "text",
                                   tc_errmsg(), NULL);
        }
        return svc_reply_error(conn, r, 500, "classify_failed", NULL,
                               tc_errmsg()[0] ? tc_errmsg() : tc_strerror(rc),
                               NULL);
    }
    len = strlen(res->json);
    body = malloc(len + 1);
    if (body) {
        memcpy(body, res->json, len + 1);
    }
    tc_result_free(res);
    pthread_rwlock_unlock(&s->model.lock);
    if (!body) {
        return svc_reply_error(conn, r, 500, "internal", NULL, "out of memory",
                               NULL);
    }
    return svc_reply(conn, r, 200, SVC_CT_JSON, body, len, free, NULL);
}

/* The field a rejection of root names: a record field the message
 * starts with ("original_confidence: 1.7 is not in 0..1",
 * "correct_techniques[2]: ..."), or for an unknown field the body's
 * first member that is not a record field (the library checks members
 * in order and stops at the first error); NULL when it names none. */
static const char *rejected_field(const char *msg, const cJSON *root)
{
    size_t i, n, nf = sizeof(fb_fields) / sizeof(fb_fields[0]);

    for (i = 0; i < nf; i++) {
        n = strlen(fb_fields[i]);
        if (strncmp(msg, fb_fields[i], n) == 0 &&
            (msg[n] == ':' || msg[n] == '[')) {
            return fb_fields[i];
        }
    }
    if (strstr(msg, ": unknown field")) {
        return first_unknown(root, fb_fields, nf);
    }
    return NULL;
}

int svc_durable_store(const svc *s)
{
    return strcmp(tc_cache_store_kind(s->cache), "memory") != 0;
}

enum MHD_Result svc_no_feedback_store(struct MHD_Connection *conn, svc_req *r)
{
    return svc_reply_error(
        conn, r, 503, "feedback_unavailable", NULL,
        "feedback needs a durable store (lmdb:// or redis://); "
        "this service runs on memory:",
        NULL);
}

/*
 * A record without "model" (absent or null) is given the model of the
 * answer this service served for its text (and user_id), when it still
 * remembers it (service_ab.c): *json is then the record with it, to be
 * freed; else NULL, and the record goes as the client sent it.
 */
static void fill_model(svc *s, cJSON *root, char **json)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "text");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "user_id");
    char fp[TC_FINGERPRINT_LEN + 1];
    cJSON *v;

    *json = NULL;
    if ((m && !cJSON_IsNull(m)) || !cJSON_IsString(t) ||
        !svc_served_model(s, t->valuestring,
                          cJSON_IsString(u) ? u->valuestring : NULL, fp) ||
        !(v = cJSON_CreateString(fp))) {
        return;
    }
    if (m) {
        cJSON_ReplaceItemInObjectCaseSensitive(root, "model", v);
    } else {
        cJSON_AddItemToObject(root, "model", v);
    }
    *json = cJSON_PrintUnformatted(root);
}

static enum MHD_Result do_feedback(svc *s, struct MHD_Connection *conn,
                                   svc_req *r)
{
    char id[TC_FEEDBACK_ID_MAX], *filled = NULL;
    enum MHD_Result ret = MHD_NO;
    const char *msg;
    cJSON *root;
    svc_buf b = {0};
    int rc, outcome = TC_FEEDBACK_STORED;

    /* Parsed here too, so that bad JSON gets the same answer on every
     * endpoint; the library then reads the body as the record. */
    if (!(root = body_object(conn, r, &ret))) {
        return ret;
    }
    if (!svc_durable_store(s)) {
        cJSON_Delete(root);
        return svc_no_feedback_store(conn, r);
    }
    fill_model(s, root, &filled);
    rc = filled ? tc_feedback_submit_json(id, &outcome, s->cache, filled,
                                          strlen(filled))
                : tc_feedback_submit_json(id, &outcome, s->cache, r->body.p,
                                          r->body.len);
    cJSON_free(filled);
    msg = tc_errmsg();
    if (!msg[0]) {
        msg = tc_strerror(rc);
    }
    switch (rc) {
    case TC_OK:
        /* Stored, or spooled while the store is unreachable: either way
         * the record is durable and will reach the store; or stored
         * before (a duplicate: 200, nothing created). The status says
         * which, as `tutorcache feedback submit` does. */
        svc_buf_str(&b, "{\"id\":");
        svc_buf_jstr(&b, id);
        svc_buf_printf(&b, ",\"status\":\"%s\"}",
                       outcome == TC_FEEDBACK_SPOOLED     ? "spooled"
                       : outcome == TC_FEEDBACK_DUPLICATE ? "duplicate"
                                                          : "accepted");
        ret = svc_reply_buf(
            conn, r, outcome == TC_FEEDBACK_DUPLICATE ? 200 : 201, &b, NULL);
        break;
    case TC_EINVAL:
        ret = svc_reply_error(conn, r, 400, "invalid_feedback",
                              rejected_field(msg, root), msg, NULL);
        break;
    case TC_EIO:
    case TC_EFULL:
    case TC_EUNAVAIL:
    case TC_ETIMEOUT:
        ret =
            svc_reply_error(conn, r, 503, "store_unavailable", NULL, msg, NULL);
        break;
    default:
        ret = svc_reply_error(conn, r, 500, "internal", NULL, msg, NULL);
        break;
    }
    cJSON_Delete(root);
    return ret;
}

/*
 * DELETE /api/v1/intents/feedback?user_id=ID[&before=TIME][&text=TEXT]:
 * a student's feedback erased (tc_feedback_purge), answered with how many
 * records went; the same request again answers 0.
 */
static enum MHD_Result do_purge(svc *s, struct MHD_Connection *conn, svc_req *r)
{
    const char *user, *before, *text, *msg;
    uint64_t removed = 0;
    svc_buf b = {0};
    int rc;

    user = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "user_id");
    before = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "before");
    text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "text");
    if (!user && !before && !text) {
        return svc_reply_error(conn, r, 400, "invalid_request", "user_id",
                               "give user_id (or before, text) in the query: "
                               "nothing is erased without a filter",
                               NULL);
    }
    if (!svc_durable_store(s)) {
        return svc_no_feedback_store(conn, r);
    }
    rc = tc_feedback_purge(&removed, s->cache, user, before, text);
    msg = tc_errmsg();
    if (!msg[0]) {
        msg = tc_strerror(rc);
    }
    switch (rc) {
    case TC_OK:
        svc_buf_printf(&b, "{\"removed\":%" PRIu64 "}", removed);
        return svc_reply_buf(conn, r, 200, &b, NULL);
    case TC_EINVAL:
        return svc_reply_error(conn, r, 400, "invalid_request", NULL, msg,
                               NULL);
    case TC_EUNAVAIL:
    case TC_ETIMEOUT:
        return svc_reply_error(conn, r, 503, "store_unavailable", NULL, msg,
                               NULL);
    default:
        return svc_reply_error(conn, r, 500, "internal", NULL, msg, NULL);
    }
}

/*
 * The feedback stats (json, the library's) with "cache": the cache's
 * configuration as the original service showed it: "ttl" (seconds) and
 * "namespace" of the classifications, "store" (its kind), "l1_max_bytes",
 * "enable_caching" and "track_popular".
 */
static enum MHD_Result stats_with_cache(svc *s, struct MHD_Connection *conn,
                                        svc_req *r, char *json)
{
    const char *ns = s->model.co.ns ? s->model.co.ns : "intents";
    char *cfgtext = NULL, *out = NULL;
    cJSON *root = cJSON_Parse(json), *cfg = NULL, *c, *ttl;

    tc_free(json);
    if (root && tc_cache_config_json(&cfgtext, s->cache) == TC_OK) {
        cfg = cJSON_Parse(cfgtext);
    }
    tc_free(cfgtext);
    ttl = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cfg, "namespaces"), ns),
        "ttl");
    if (cfg && (c = cJSON_AddObjectToObject(root, "cache"))) {
        cJSON_AddNumberToObject(c, "ttl",
                                cJSON_IsNumber(ttl) ? ttl->valuedouble : -1);
        cJSON_AddStringToObject(c, "namespace", ns);
        cJSON_AddStringToObject(c, "store", tc_cache_store_kind(s->cache));
        cJSON_AddItemToObject(
            c, "l1_max_bytes",
            cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(cfg, "l1_max_bytes"), 0));
        cJSON_AddItemToObject(
            c, "enable_caching",
            cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(cfg, "enable_caching"), 0));
        cJSON_AddItemToObject(
            c, "track_popular",
            cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(cfg, "track_popular"), 0));
        out = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(cfg);
    cJSON_Delete(root);
    if (!out) {
        return svc_reply_error(conn, r, 500, "internal", NULL, "out of memory",
                               NULL);
    }
    return svc_reply(conn, r, 200, SVC_CT_JSON, out, strlen(out), cJSON_free,
                     NULL);
}

static enum MHD_Result do_stats(svc *s, struct MHD_Connection *conn, svc_req *r)
{
    char *json = NULL;
    int rc;

    if (!svc_durable_store(s)) {
        return svc_no_feedback_store(conn, r);
    }
    rc = tc_feedback_stats_json(&json, s->cache);
    if (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT) {
        return svc_reply_error(conn, r, 503, "store_unavailable", NULL,
                               tc_errmsg(), NULL);
    }
    if (rc != TC_OK) {
        return svc_reply_error(conn, r, 500, "internal", NULL, tc_errmsg(),
                               NULL);
    }
    return stats_with_cache(s, conn, r, json);
}

/*
 * The library's families, then the service's own: how a host adds its
 * metrics to the library's on one endpoint.
 */
static enum MHD_Result do_metrics(svc *s, struct MHD_Connection *conn,
                                  svc_req *r)
{
    svc_buf b = {0};
    size_t len;
    int rc = TC_ETOOBIG;

    /* The text grows with the correction pairs: retry with the size the
     * library asks for until it fits. */
    for (len = 16384; rc == TC_ETOOBIG;) {
        if (svc_buf_reserve(&b, len + 4096) != 0) {
            break;
        }
        rc = tc_metrics_render(b.p, b.cap, &len, s->cache);
    }
    if (b.oom || rc != TC_OK) {
        svc_buf_free(&b);
        return svc_reply_error(conn, r, 500, "internal", NULL, tc_errmsg(),
                               NULL);
    }
    b.len = len;
    svc_http_metrics(s, &b);
    if (b.oom) {
        svc_buf_free(&b);
        return svc_reply_error(conn, r, 500, "internal", NULL, "out of memory",
                               NULL);
    }
    return svc_reply(conn, r, 200, SVC_CT_METRICS, b.p, b.len, free, NULL);
}

/*
 * What the library says of where feedback is kept (tc_cache_stats_json's
 * "feedback"): "feedback_at_risk", the reasons it may be lost there
 * ("evictable", "not_persistent"), and with any, "feedback_warning", the
 * library's advice. Nothing is added when the stats cannot be had.
 */
static void health_feedback(svc *s, svc_buf *b)
{
    char *text = NULL;
    cJSON *root, *fb, *risk, *e, *w;
    int first = 1;

    if (tc_cache_stats_json(&text, s->cache) != TC_OK) {
        return;
    }
    root = cJSON_Parse(text);
    tc_free(text);
    fb = cJSON_GetObjectItemCaseSensitive(root, "feedback");
    risk = cJSON_GetObjectItemCaseSensitive(fb, "at_risk");
    w = cJSON_GetObjectItemCaseSensitive(fb, "warning");
    if (cJSON_IsArray(risk)) {
        svc_buf_str(b, ",\"feedback_at_risk\":[");
        cJSON_ArrayForEach(e, risk)
        {
            if (cJSON_IsString(e)) {
                svc_buf_str(b, first ? "" : ",");
                svc_buf_json(b, e->valuestring, strlen(e->valuestring));
                first = 0;
            }
        }
        svc_buf_str(b, "]");
    }
    if (cJSON_IsString(w)) {
        svc_buf_str(b, ",\"feedback_warning\":");
        svc_buf_json(b, w->valuestring, strlen(w->valuestring));
    }
    cJSON_Delete(root);
}

/*
 * Always 200 while the service can answer: the library degrades without
 * its store (classify falls back to the model, feedback to the spool), so
 * a down store is reported, as "status": "degraded" and "store_up": false,
 * rather than made a failed probe that would get a working service
 * restarted.
 */
static enum MHD_Result do_health(svc *s, struct MHD_Connection *conn,
                                 svc_req *r)
{
    char fp[TC_FINGERPRINT_LEN + 1], at[40];
    int64_t lat = 0, reloaded_ms;
    svc_buf b = {0};
    int up;

    up = tc_cache_ping(s->cache, &lat) == TC_OK;
    /* Read together, so the two always belong to the same model. */
    pthread_rwlock_rdlock(&s->model.lock);
    memcpy(fp, s->model.fp, sizeof(fp));
    reloaded_ms = s->model.reloaded_ms;
    pthread_rwlock_unlock(&s->model.lock);
    svc_buf_printf(&b,
                   "{\"status\":\"%s\",\"store\":\"%s\",\"store_up\":%s,"
                   "\"model\":\"%s\",\"model_reloaded_at\":",
                   up ? "ok" : "degraded", tc_cache_store_kind(s->cache),
                   up ? "true" : "false", fp);
    if (reloaded_ms) {
        svc_rfc3339(at, sizeof(at), reloaded_ms);
        svc_buf_printf(&b, "\"%s\"", at);
    } else {
        svc_buf_str(&b, "null");
    }
    health_feedback(s, &b);
    svc_buf_printf(&b, ",\"version\":\"%s\"}", tc_version());
    return svc_reply_buf(conn, r, 200, &b, NULL);
}

static const char *const warm_fields[] = {"texts", "popular"};

/* POST /api/v1/intents/warm: the body checked here as every POST's, the
 * warming in service_warm.c. */
static enum MHD_Result do_warm(svc *s, struct MHD_Connection *conn, svc_req *r)
{
    enum MHD_Result ret = MHD_NO;
    const char *bad;
    cJSON *root;

    if (!(root = body_object(conn, r, &ret))) {
        return ret;
    }
    if ((bad = first_unknown(root, warm_fields,
                             sizeof(warm_fields) / sizeof(warm_fields[0])))) {
        ret = reply_unknown(conn, r, bad);
    } else {
        ret = svc_warm(s, conn, r, root);
    }
    cJSON_Delete(root);
    return ret;
}

enum MHD_Result svc_serve(svc *s, struct MHD_Connection *conn, svc_req *r)
{
    /* who acts, for the audit log's lines of this request (the pool
     * thread serves one request at a time; NULL clears the last one's) */
    tc_audit_actor(
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Actor"));
    if (r->route == SVC_FEEDBACK && strcmp(r->method, "DELETE") == 0) {
        return do_purge(s, conn, r);
    }
    switch (r->route) {
    case SVC_CLASSIFY:
        return do_classify(s, conn, r);
    case SVC_FEEDBACK:
        return do_feedback(s, conn, r);
    case SVC_STATS:
        return do_stats(s, conn, r);
    case SVC_METRICS:
        return do_metrics(s, conn, r);
    case SVC_HEALTH:
        return do_health(s, conn, r);
    case SVC_WARM:
        return do_warm(s, conn, r);
    case SVC_REPORT:
        return svc_report(s, conn, r);
    default:
        return MHD_NO;
    }
}
