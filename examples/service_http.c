/*
 * service_http.c - the example service's HTTP side: routing, request
 * bodies gathered across libmicrohttpd's upload calls, responses and JSON
 * error bodies, and one access-log line and one counter per request. The
 * handlers run on libmicrohttpd's pool threads and call the shared
 * tc_cache and tc_classifier directly: both are made for that, so the
 * service needs no lock of its own.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "service.h"

static const struct route {
    const char *path;
    const char *method; /* the one method served; GET also answers HEAD */
    const char *allow;  /* the Allow header of a 405 */
    const char *name;   /* the route label of the service's metric */
} routes[SVC_NROUTES] = {
    [SVC_CLASSIFY] = {"/api/v1/intents/classify", "POST", "POST", "classify"},
    [SVC_FEEDBACK] = {"/api/v1/intents/feedback", "POST", "POST, DELETE",
                      "feedback"},
    [SVC_STATS] = {"/api/v1/intents/feedback/stats", "GET", "GET, HEAD",
                   "feedback_stats"},
    [SVC_METRICS] = {"/metrics", "GET", "GET, HEAD", "metrics"},
    [SVC_HEALTH] = {"/health", "GET", "GET, HEAD", "health"},
    [SVC_WARM] = {"/api/v1/intents/warm", "POST", "POST", "warm"},
    [SVC_REPORT] = {"/api/v1/intents/feedback/report", "GET", "GET, HEAD",
                    "feedback_report"},
    [SVC_UNKNOWN] = {NULL, NULL, NULL, "other"},
};

static const unsigned codes[SVC_NCODES - 1] = {200, 201, 400, 404,
                                               405, 413, 500, 503};

/* ---- responses ----------------------------------------------------------- */

enum MHD_Result svc_reply(struct MHD_Connection *conn, svc_req *r,
                          unsigned status, const char *ctype, char *body,
                          size_t len, void (*free_fn)(void *),
                          const char *allow)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp =
        MHD_create_response_from_buffer_with_free_callback(len, body, free_fn);
    if (!resp) {
        free_fn(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) !=
            MHD_YES ||
        (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) !=
                      MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        r->status = status;
        r->bytes_out = len;
    }
    return ret;
}

enum MHD_Result svc_reply_buf(struct MHD_Connection *conn, svc_req *r,
                              unsigned status, svc_buf *b, const char *allow)
{
    static const char oom[] = "{\"error\":\"internal\",\"detail\":\"out of "
                              "memory\"}";
    char *body;

    if (b->oom || !b->p) {
        svc_buf_free(b);
        if (!(body = strdup(oom))) {
            return MHD_NO;
        }
        r->error = "internal";
        return svc_reply(conn, r, 500, SVC_CT_JSON, body, sizeof(oom) - 1, free,
                         NULL);
    }
    body = b->p;
    return svc_reply(conn, r, status, SVC_CT_JSON, body, b->len, free, allow);
}

enum MHD_Result svc_reply_error(struct MHD_Connection *conn, svc_req *r,
                                unsigned status, const char *error,
                                const char *field, const char *detail,
                                const char *allow)
{
    svc_buf b = {0};

    svc_buf_str(&b, "{\"error\":");
    svc_buf_jstr(&b, error);
    if (field) {
        svc_buf_str(&b, ",\"field\":");
        svc_buf_jstr(&b, field);
    }
    if (detail) {
        svc_buf_str(&b, ",\"detail\":");
        svc_buf_jstr(&b, detail);
    }
    svc_buf_str(&b, "}");
    r->error = error;
    return svc_reply_buf(conn, r, status, &b, allow);
}

static enum MHD_Result reply_too_big(struct MHD_Connection *conn, svc_req *r)
{
    char detail[64];

    snprintf(detail, sizeof(detail), "the body is over %d bytes", SVC_MAX_BODY);
    return svc_reply_error(conn, r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                           NULL, detail, NULL);
}

/* ---- routing ------------------------------------------------------------- */

static enum svc_route find_route(const char *url)
{
    int i;

    for (i = 0; i < SVC_UNKNOWN; i++) {
        if (strcmp(url, routes[i].path) == 0) {
            return (enum svc_route)i;
        }
    }
    return SVC_UNKNOWN;
}

static svc_req *req_new(struct MHD_Connection *conn, const char *url,
                        const char *method)
{
    const union MHD_ConnectionInfo *ci;
    svc_req *r = calloc(1, sizeof(*r));

    if (!r) {
        return NULL;
    }
    r->start_us = svc_now_us();
    r->route = find_route(url);
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(r->path, sizeof(r->path), "%s", url);
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;

        if (sa->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                      r->remote, sizeof(r->remote));
        } else if (sa->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                      r->remote, sizeof(r->remote));
        }
    }
    return r;
}

/* The request's Content-Length, or -1 when it has none (chunked). */
static long long content_length(struct MHD_Connection *conn)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    long long n;

    if (!v) {
        return -1;
    }
    n = strtoll(v, &end, 10);
    return end != v && n >= 0 ? n : -1;
}

/*
 * libmicrohttpd calls this once when the headers are in, then once per
 * piece of the body (upload_data_size > 0; we take all of it, so we set
 * it to 0), then once more with no data. The endpoints answer on that
 * last call; the errors known from the headers alone (404, 405, a
 * Content-Length over the limit) on the first, without reading a body
 * that would be thrown away.
 */
static enum MHD_Result handle(svc *s, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
    svc_req *r = *req_cls;
    int get;

    if (!r) {
        if (!(r = req_new(conn, url, method))) {
            return MHD_NO;
        }
        *req_cls = r;
        /* The headers are in: from now on the body's deadline runs. */
        r->conn = svc_guard_conn(conn);
        svc_guard_enter(s, r->conn, SVC_PHASE_BODY);
        if (r->route == SVC_UNKNOWN) {
            svc_buf d = {0};
            enum MHD_Result ret;

            svc_buf_str(&d, "no such path: ");
            svc_buf_str(&d, r->path);
            ret = svc_reply_error(conn, r, 404, "not_found", NULL,
                                  d.oom ? "no such path" : d.p, NULL);
            svc_buf_free(&d);
            return ret;
        }
        get = strcmp(routes[r->route].method, "GET") == 0;
        if (strcmp(method, routes[r->route].method) != 0 &&
            !(get && strcmp(method, "HEAD") == 0) &&
            !(r->route == SVC_FEEDBACK && strcmp(method, "DELETE") == 0)) {
            char detail[64];

            snprintf(detail, sizeof(detail), "use %s", routes[r->route].allow);
            return svc_reply_error(conn, r, 405, "method_not_allowed", NULL,
                                   detail, routes[r->route].allow);
        }
        r->keep_body = !get;
        /* Refused before the body is read when its length says so. */
        if (r->keep_body && content_length(conn) > SVC_MAX_BODY) {
            return reply_too_big(conn, r);
        }
        /* Everything else is answered on the last call: a response
         * queued before the request is read in full makes
         * libmicrohttpd close the connection instead of keeping it. */
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        r->bytes_in += n;
        /* A chunked body has no length up front: past the limit it is
         * read and dropped, and answered with 413 at its end; a client
         * that goes on and on is cut off. */
        if (r->bytes_in > (uint64_t)SVC_MAX_BODY * 8) {
            return MHD_NO;
        }
        if (r->status || !r->keep_body) {
            return MHD_YES; /* answered, or a GET: the body is dropped */
        }
        if (!r->too_big && r->body.len + n > SVC_MAX_BODY) {
            r->too_big = 1;
            svc_buf_free(&r->body);
        }
        if (!r->too_big) {
            svc_buf_put(&r->body, upload_data, n);
        }
        return MHD_YES;
    }
    if (r->status) {
        return MHD_YES;
    }
    /* The request is in: what follows is the service's time (a store
     * call may take up to its timeout), not the client's. */
    svc_guard_enter(s, r->conn, SVC_PHASE_BUSY);
    if (r->too_big) {
        return reply_too_big(conn, r);
    }
    if (r->body.oom) {
        return svc_reply_error(conn, r, 500, "internal", NULL, "out of memory",
                               NULL);
    }
    return svc_serve(s, conn, r);
}

enum MHD_Result svc_handle(void *cls, struct MHD_Connection *conn,
                           const char *url, const char *method,
                           const char *version, const char *upload_data,
                           size_t *upload_data_size, void **req_cls)
{
    svc *s = cls;
    svc_req *r;
    enum MHD_Result ret;
    int answered = *req_cls && ((svc_req *)*req_cls)->status;

    (void)version;
    ret = handle(s, conn, url, method, upload_data, upload_data_size, req_cls);
    /* A response queued early (404, 405, 413) is being sent: no body
     * deadline for it, though the client may still be sending one. */
    r = *req_cls;
    if (r && r->status && !answered) {
        svc_guard_enter(s, r->conn, SVC_PHASE_BUSY);
    }
    return ret;
}

static size_t code_index(unsigned status)
{
    size_t i;

    for (i = 0; i < SVC_NCODES - 1; i++) {
        if (codes[i] == status) {
            return i;
        }
    }
    return SVC_NCODES - 1;
}

/*
 * The service's own family. Only non-zero series are shown, so the
 * exposition grows with what was asked, not with the table.
 */
void svc_http_metrics(const svc *s, svc_buf *b)
{
    size_t i, j;

    svc_buf_str(b, "# HELP intent_service_http_requests_total HTTP requests "
                   "answered by the example service, by route and code.\n"
                   "# TYPE intent_service_http_requests_total counter\n");
    for (i = 0; i < SVC_NROUTES; i++) {
        for (j = 0; j < SVC_NCODES; j++) {
            uint64_t n =
                atomic_load_explicit(&s->requests[i][j], memory_order_relaxed);
            char code[16];

            if (!n) {
                continue;
            }
            if (j < SVC_NCODES - 1) {
                snprintf(code, sizeof(code), "%u", codes[j]);
            } else {
                snprintf(code, sizeof(code), "other");
            }
            svc_buf_printf(b,
                           "intent_service_http_requests_total{route=\"%s\","
                           "code=\"%s\"} %" PRIu64 "\n",
                           routes[i].name, code, n);
        }
    }
    svc_guard_metrics(s, b);
    svc_model_metrics(s, b);
}

/* Called by libmicrohttpd when a request is over, answered or not: counts
 * it, writes its access-log line and frees it. */
void svc_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                   enum MHD_RequestTerminationCode toe)
{
    static const char *ends[] = {"completed", "error",      "timeout",
                                 "shutdown",  "read_error", "client_abort"};
    svc *s = cls;
    svc_req *r = *req_cls;
    svc_buf f = {0};
    tc_log_level level;
    int dropped;

    (void)conn;
    if (!r) {
        return;
    }
    *req_cls = NULL;
    atomic_fetch_add_explicit(&s->requests[r->route][code_index(r->status)], 1,
                              memory_order_relaxed);
    /* A request left unanswered (status 0) is the client's doing or a
     * shutdown's, not the service failing. One cut off at its body's
     * deadline is in the throttled "connections_dropped" count instead:
     * a flood of them must not be a flood of lines. */
    level = r->status >= 500 ? TC_LOG_ERROR
            : r->status == 0 ? TC_LOG_WARN
                             : TC_LOG_INFO;
    dropped = svc_guard_dropped(r->conn);
    if (level >= s->level && !dropped) {
        svc_buf_str(&f, ",\"method\":");
        svc_buf_jstr(&f, r->method);
        svc_buf_str(&f, ",\"path\":");
        svc_buf_jstr(&f, r->path);
        svc_buf_printf(&f,
                       ",\"status\":%u,\"bytes_in\":%" PRIu64
                       ",\"bytes_out\":%zu,\"latency_us\":%" PRId64,
                       r->status, r->bytes_in, r->bytes_out,
                       svc_now_us() - r->start_us);
        if (r->remote[0]) {
            svc_buf_printf(&f, ",\"remote\":\"%s\"", r->remote);
        }
        if (r->error) {
            svc_buf_printf(&f, ",\"error\":\"%s\"", r->error);
        }
        if ((unsigned)toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
            svc_buf_printf(&f, ",\"end\":\"%s\"",
                           (unsigned)toe < sizeof(ends) / sizeof(ends[0])
                               ? ends[toe]
                               : "other");
        }
        if (!f.oom) {
            svc_log(s, level, "http_request", f.p);
        }
        svc_buf_free(&f);
    }
    /* Kept alive, the connection's next request must have its headers
     * in by the header deadline, counted from now. */
    svc_guard_enter(s, r->conn, SVC_PHASE_HEADERS);
    svc_buf_free(&r->body);
    free(r);
}
