/*
 * service.h - what the files of the example intent service share: the
 * state every request thread reads, the HTTP entry points given to
 * libmicrohttpd, and the small JSON and logging helpers. Nothing here is
 * part of libtutorcache; a host service has its own versions of these.
 */
#ifndef INTENT_SERVICE_H
#define INTENT_SERVICE_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <microhttpd.h>
#include <tutorcache.h>

/*
 * The largest request body accepted, as in the original service: a text
 * to classify or a feedback record is a few KiB at most, so 1 MiB leaves
 * room for any real request and bounds what one connection can pin.
 */
#define SVC_MAX_BODY (1024 * 1024)

#define SVC_CT_JSON "application/json"
#define SVC_CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* The routes served; SVC_UNKNOWN is every other path. */
enum svc_route {
    SVC_CLASSIFY,
    SVC_FEEDBACK,
    SVC_STATS,
    SVC_METRICS,
    SVC_HEALTH,
    SVC_WARM,
    SVC_REPORT,
    SVC_UNKNOWN,
    SVC_NROUTES
};

/* The status codes the service answers with, plus one slot for others. */
#define SVC_NCODES 9

/*
 * A growable byte buffer, always NUL-terminated. A failed allocation sets
 * oom and makes later appends do nothing, so a sequence of appends needs
 * one check at its end.
 */
typedef struct svc_buf {
    char *p;
    size_t len, cap;
    int oom;
} svc_buf;

/* Why the service dropped a connection: refused over --max-connections
 * or --max-per-ip, its headers or its body late, or a kept-alive
 * connection idle past the header deadline (normal, not logged). */
enum svc_drop {
    SVC_DROP_LIMIT,
    SVC_DROP_HEADERS,
    SVC_DROP_BODY,
    SVC_DROP_KEEPALIVE,
    SVC_NDROPS
};

/* Where a connection is in its request, for the deadlines: receiving
 * the request line and headers, receiving the body, or in the service's
 * hands (handler running, response being sent), where none applies. */
enum svc_phase { SVC_PHASE_HEADERS, SVC_PHASE_BODY, SVC_PHASE_BUSY };

typedef struct svc_conn svc_conn; /* service_guard.c */

/* One kind of libmicrohttpd message (its format string) in the current
 * log interval: the first is logged, the rest counted. */
#define SVC_THROTTLE_SLOTS 16
typedef struct svc_throttle {
    const char *fmt;
    uint64_t repeated;
    int logged;
    tc_log_level level;
    char last[256];
} svc_throttle;

/*
 * The bounds on abusive clients (service_guard.c): every open
 * connection in a list that a watchdog thread walks to close the late
 * ones, and the counts behind the throttled log lines. mu guards the
 * list, each connection's phase and the window counts.
 */
typedef struct svc_guard {
    int64_t header_us, body_us, interval_us; /* deadlines, log interval */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started, stop;
    svc_conn *conns;
    uint64_t window[SVC_NDROPS]; /* drops since the last log line */
    int64_t flushed_us;          /* when that line was due */
    svc_throttle msgs[SVC_THROTTLE_SLOTS];
    _Atomic uint64_t open;                /* connections open now */
    _Atomic uint64_t dropped[SVC_NDROPS]; /* since the start, for metrics */
} svc_guard;

/* What a reload did, the label of its counter. */
enum svc_reload { SVC_RELOAD_OK, SVC_RELOAD_FAILED, SVC_NRELOADS };

/*
 * The model the service answers with, and the thread that watches its
 * file (service_model.c). A request holds lock's read side while it uses
 * clf or reads fp and reloaded_ms; a reload loads the new file and opens
 * its classifier with no lock held, then takes the write side only to
 * swap the pointers. So a request in flight finishes on the model it
 * started with, and the old model is freed once the swap has had the
 * lock, when no request can still hold it.
 */
typedef struct svc_model {
    pthread_rwlock_t lock;
    tc_model *model;
    tc_classifier *clf;
    char fp[TC_FINGERPRINT_LEN + 1]; /* the model's fingerprint */
    int64_t reloaded_ms; /* wall clock of the last reload; 0: none yet */

    /* Set before the watcher starts, then the watcher's alone. */
    const char *path;
    tc_classifier_options co; /* co.model is set per classifier */
    int interval_s;           /* 0: no watching, SIGHUP only */
    struct stat seen;         /* the file last tried, loaded or not */
    int seen_ok;              /* and whether it loaded */
    int stat_err; /* the errno of a failed stat() already warned about */

    /* The main thread's: set up, started, stopped. */
    int inited, started;
    pthread_t thread;

    /* mu guards the watcher's wake-ups: stop, and the pokes of SIGHUP. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, poked;
    _Atomic uint64_t reloads[SVC_NRELOADS]; /* for metrics */
} svc_model;

/*
 * Which model answered which text (service_ab.c): a fixed table of
 * (hash of the normalized text and user_id, model fingerprint), so that
 * a feedback record without "model" is given the model of the answer it
 * is about. Bounded: an answer is forgotten when a newer one takes its
 * slot.
 */
#define SVC_SERVED_SLOTS 65536
#define SVC_SERVED_LOCKS 16
typedef struct svc_served_slot {
    uint64_t key; /* 0: empty */
    char model[TC_FINGERPRINT_LEN + 1];
} svc_served_slot;
typedef struct svc_served {
    pthread_mutex_t mu[SVC_SERVED_LOCKS]; /* slot i: mu[i % LOCKS] */
    svc_served_slot *slots;
} svc_served;

/*
 * The service: created by main before the daemon starts and read by every
 * request thread. The library handle, model and classifier may be shared
 * by threads (tutorcache.h says so for each); the counters are atomic.
 */
typedef struct svc {
    tc_cache *cache;
    svc_model model;
    tc_model *candidate; /* --candidate's model (an A/B rollout), or NULL */
    svc_served served;
    tc_log_level level; /* of the service's own lines and the library's */
    _Atomic uint64_t requests[SVC_NROUTES][SVC_NCODES];
    svc_guard guard;
} svc;

/* ---- HTTP (service_http.c) ---- */

/* libmicrohttpd callbacks; cls is the svc. */
enum MHD_Result svc_handle(void *cls, struct MHD_Connection *conn,
                           const char *url, const char *method,
                           const char *version, const char *upload_data,
                           size_t *upload_data_size, void **req_cls);
void svc_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                   enum MHD_RequestTerminationCode toe);

/* Paths are copied for the access log up to this length. */
#define SVC_LOG_PATH_MAX 256

/* One request, from its headers to its completion callback. */
typedef struct svc_req {
    enum svc_route route;
    int64_t start_us;
    char method[16];
    char path[SVC_LOG_PATH_MAX];
    char remote[INET6_ADDRSTRLEN];
    svc_buf body;      /* complete when svc_serve() is called */
    uint64_t bytes_in; /* all body bytes received, also past the limit */
    int keep_body;     /* a POST route: the body is the request */
    int too_big;
    svc_conn *conn;  /* its connection's deadline state (may be NULL) */
    unsigned status; /* 0 until a response is queued */
    size_t bytes_out;
    const char *error; /* the "error" of a JSON error body, for the log */
} svc_req;

/*
 * Queues body (len bytes, released by free_fn once sent, or at once when
 * no response can be made) with status and Content-Type (and Allow when
 * not NULL), and records both in r for the access log.
 */
enum MHD_Result svc_reply(struct MHD_Connection *conn, svc_req *r,
                          unsigned status, const char *ctype, char *body,
                          size_t len, void (*free_fn)(void *),
                          const char *allow);
/* The JSON in b, whose memory it takes; a b whose building ran out of
 * memory becomes a 500 with a fixed body. */
enum MHD_Result svc_reply_buf(struct MHD_Connection *conn, svc_req *r,
                              unsigned status, svc_buf *b, const char *allow);
/* A JSON error body {"error": error, "field": field, "detail": detail};
 * field and detail may be NULL; error is a fixed name a client can test. */
enum MHD_Result svc_reply_error(struct MHD_Connection *conn, svc_req *r,
                                unsigned status, const char *error,
                                const char *field, const char *detail,
                                const char *allow);
/* Appends the service's own metric family to b. */
void svc_http_metrics(const svc *s, svc_buf *b);

/* ---- endpoints (service_api.c) ---- */

/* Answers r, whose route is known and whose body is complete. */
enum MHD_Result svc_serve(svc *s, struct MHD_Connection *conn, svc_req *r);

/* Whether the store keeps feedback (not memory:), and the 503 that says
 * it does not. */
int svc_durable_store(const svc *s);
enum MHD_Result svc_no_feedback_store(struct MHD_Connection *conn, svc_req *r);

/* ---- the feedback report (service_report.c) ---- */

/* GET /api/v1/intents/feedback/report: the page, naming the A/B arms'
 * models; 503 when the store cannot be read or keeps no feedback. */
enum MHD_Result svc_report(svc *s, struct MHD_Connection *conn, svc_req *r);

/* ---- cache warming (service_warm.c) ---- */

struct cJSON;
/* POST /api/v1/intents/warm with its body root, an object whose members
 * service_api.c checked are known: answers r. */
enum MHD_Result svc_warm(svc *s, struct MHD_Connection *conn, svc_req *r,
                         const struct cJSON *root);

/* ---- bounds on abusive clients (service_guard.c) ---- */

/*
 * Starts the watchdog that closes connections past their deadlines
 * (header_s, body_s seconds) and writes the throttled log lines every
 * interval_s seconds. Called before the daemon starts, since the
 * callbacks below use the guard. Returns 0, or an errno value.
 */
int svc_guard_start(svc *s, int header_s, int body_s, int interval_s);
/* Stops the watchdog (after the daemon, so that no connection is left)
 * and writes the last counts. Does nothing when it did not start. */
void svc_guard_stop(svc *s);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback; cls is the svc. */
void svc_guard_notify(void *cls, struct MHD_Connection *conn,
                      void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its messages as log lines,
 * throttled; refused connections counted instead of logged. */
void svc_guard_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The deadline state of conn, or NULL. */
svc_conn *svc_guard_conn(struct MHD_Connection *conn);
/* Moves c (may be NULL) to phase, whose deadline counts from now. */
void svc_guard_enter(svc *s, svc_conn *c, enum svc_phase phase);
/* Did the watchdog close c (may be NULL)? Its request is then counted,
 * not logged one line each. */
int svc_guard_dropped(const svc_conn *c);
/* Appends the connection gauge and drop counters to b. */
void svc_guard_metrics(const svc *s, svc_buf *b);

/* ---- the model and its reloads (service_model.c) ---- */

/*
 * Loads the model at path (kept, not copied) for the start, and readies
 * the lock and the watcher's state. Returns TC_OK, or the library's code
 * with its detail in tc_errmsg(). svc_model_close() undoes it, whatever
 * it returned.
 */
int svc_model_load(svc *s, const char *path);
/* Opens the loaded model's classifier on s->cache with co (copied: each
 * reload opens the new model's with the same options). Returns TC_OK or
 * the library's code, with its detail in tc_errmsg(). */
int svc_model_open(svc *s, const tc_classifier_options *co);
/* Starts the watcher: a stat() of the file every interval_s seconds (0:
 * none) and at each svc_model_poke(). Returns 0, or an errno value. */
int svc_model_watch(svc *s, int interval_s);
/* A check at once (SIGHUP): the file is reloaded when it is another one,
 * or when the last try of it failed; a line is logged either way. */
void svc_model_poke(svc *s);
/* Stops the watcher, which finishes a reload in progress, then frees
 * the classifier and the model. After the daemon, before the cache. */
void svc_model_close(svc *s);
/* Appends the reload counters to b. */
void svc_model_metrics(const svc *s, svc_buf *b);

/* ---- which model answered (service_ab.c) ---- */

/* Allocates the table; returns 0, or -1 out of memory. */
int svc_served_init(svc *s);
void svc_served_free(svc *s);
/* Remembers the model of res, the answer to text for user (may be NULL);
 * an answer from a correction (source "feedback") is not a model's. */
void svc_served_note(svc *s, const char *text, size_t len, const char *user,
                     const tc_result *res);
/* The model of the last answer to text for user (may be NULL), else to
 * text without a user, into out (TC_FINGERPRINT_LEN + 1 bytes); returns
 * 1 when one is remembered, else 0. */
int svc_served_model(svc *s, const char *text, const char *user, char *out);

/* ---- helpers (service_util.c) ---- */

int svc_buf_reserve(svc_buf *b, size_t more);
void svc_buf_put(svc_buf *b, const void *p, size_t n);
void svc_buf_str(svc_buf *b, const char *s);
void svc_buf_printf(svc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s[0..n): quoted, escaped, and with every byte
 * that is not valid UTF-8 replaced by U+FFFD, so the output is always
 * valid JSON whatever the input. */
void svc_buf_json(svc_buf *b, const char *s, size_t n);
void svc_buf_jstr(svc_buf *b, const char *s); /* NUL-terminated s */
void svc_buf_free(svc_buf *b);

/* The length of the longest valid UTF-8 prefix of s[0..n): n when all of
 * it is valid. Overlong forms, surrogates and values past U+10FFFF are
 * invalid, as RFC 3629 says. */
size_t svc_utf8_valid(const char *s, size_t n);

/* Microseconds of the monotonic clock. */
int64_t svc_now_us(void);
/* Milliseconds of the wall clock (since the Unix epoch). */
int64_t svc_wall_ms(void);
/* A wall-clock time in ms as RFC 3339 in UTC with milliseconds
 * ("2025-01-31T12:00:00.123Z"), as the log lines' times. */
void svc_rfc3339(char *buf, size_t cap, int64_t wall_ms);

/*
 * Writes one log line {"time":..., "level":..., "event":...<fields>} to
 * stderr when level is at or above s->level. fields is a JSON fragment
 * starting with a comma, or "". Lines of concurrent threads do not
 * interleave.
 */
void svc_log(const svc *s, tc_log_level level, const char *event,
             const char *fields);
/* The same with the fields formatted; string values must be escaped by
 * the caller (svc_buf_json), so this is for numbers and fixed names. */
void svc_logf(const svc *s, tc_log_level level, const char *event,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Writes an already complete JSON line (the library's) to stderr. */
void svc_log_raw(const char *json);

#endif
