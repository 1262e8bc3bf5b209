/*
 * service_fixture.h - runs the example HTTP service (examples/
 * intent_service) as an operator runs it, for the service's test files:
 * a model trained by the real CLI once per case, a private directory per
 * test, the service on a loopback port it picks itself (read back from
 * its "listening" log line), and curl as the client. A test ends by
 * stopping the service with SIGTERM and expecting exit 0, so a crash, a
 * hang at shutdown or, in a sanitizer or valgrind run, a leak fails the
 * test that caused it.
 *
 * The service is not built here: `make check` builds it first. TC_SERVICE
 * names another binary (an ASan build of it, say); TC_SERVICE_VALGRIND=1
 * runs it under valgrind.
 */
#ifndef TC_SERVICE_FIXTURE_H
#define TC_SERVICE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "tt_json.h"

#define SV_CLASSIFY "/api/v1/intents/classify"
#define SV_FEEDBACK "/api/v1/intents/feedback"
#define SV_STATS "/api/v1/intents/feedback/stats"

#define SV_TEXT_A "How do I write a Python function that reverses a list?"
#define SV_TEXT_B "Can you explain what a closure is in JavaScript"

#define SV_MAX_ARGS 48
#define SV_PATH_LEN 4200

/* Set by the fixtures, read by the tests. */
extern char sv_model[SV_PATH_LEN];  /* the trained model */
extern char sv_fp[64];              /* its fingerprint */
extern char *sv_tmp;                /* the test's dir: HOME, store, files */
extern char sv_bin[SV_PATH_LEN];    /* the service binary */
extern int sv_port;                 /* the running service's port */
extern char sv_host[64];            /* the address the client connects to */
extern char sv_errlog[SV_PATH_LEN]; /* the service's stderr */

/* Fixtures: sv_case_* unchecked (once per case: the model), sv_setup and
 * sv_teardown checked (per test: dir, environment, the service). */
void sv_case_setup(void);
void sv_case_teardown(void);
/* Trains data into model with the CLI, its fingerprint into fp (64
 * bytes), for the unchecked fixtures: 0, or -1 with why in err. */
int sv_train(const char *data, const char *model, char *fp, char *err,
             size_t errcap);
void sv_setup(void);
void sv_teardown(void);

/* ---- time, files, processes ---- */

int sv_valgrind_on(void);
/* Generous bounds that only catch hangs: ms, or 20 times it when the
 * service runs under valgrind. */
int sv_slow_ms(int ms);
int64_t sv_now_ms(void);
void sv_sleep_ms(int ms);
/* A whole file, NUL-terminated, malloc'd; NULL when it cannot be read. */
char *sv_slurp(const char *path, size_t *len);
void sv_spit(const char *path, const char *data, size_t len);
/* One more NAME=value in the environment of what the test starts next
 * (the environment is rebuilt, clean, by sv_setup). */
void sv_env_add(const char *name_value);
/* Back to the clean environment of sv_setup. */
void sv_env_reset(void);
/* Starts argv (argv[0] looked up on PATH) with stdin from in, stdout to
 * out and stderr to err (NULL: /dev/null); returns the pid. */
pid_t sv_spawn(char *const *argv, const char *in, const char *out,
               const char *err);
/* Waits for pid up to timeout_ms; the exit status (128 + signal), or -1
 * when it is still running. */
int sv_wait(pid_t pid, int timeout_ms);
/* Runs argv to its end (killed after timeout_ms: -1; not found: 127). */
int sv_run(char *const *argv, const char *in, const char *out, const char *err,
           int timeout_ms);

/* ---- the service ---- */

/* Starts the service on a port of its choosing with --store store and
 * the extra arguments (NULL-terminated); returns once /health answers. */
void sv_start(const char *store, ...);
/* Starts it with exactly args (NULL-terminated; the binary is added), to
 * be reached at host, and returns once /health answers there. */
void sv_start_argv(const char *host, char *const *args);
/* Sends sig to the running service. */
void sv_signal(int sig);
/* Stops the service with sig and expects a clean exit 0 in time. */
void sv_stop(int sig);
/* The service's stderr so far, for failure messages (borrowed until the
 * next call). */
const char *sv_errlog_text(void);
/* Runs the service with args (NULL-terminated) to its exit and returns
 * the code; *text is its stdout when the code is 0, else its stderr
 * (the caller frees it). */
int sv_exit_code(char *const *args, char **text);
/* lmdb://<test dir>/db */
const char *sv_lmdb_url(void);
/* A free loopback port with nothing listening on it. */
int sv_closed_port(void);

/* ---- HTTP through curl ---- */

typedef struct sv_resp {
    int code;   /* HTTP status */
    char *body; /* NUL-terminated */
    size_t len;
    char *headers; /* the response headers as received */
} sv_resp;

void sv_resp_free(sv_resp *r);
/* One request: a body of len bytes (NULL: none) sent as is; header is
 * one more request header or NULL. */
void sv_http_ex(sv_resp *r, const char *method, const char *path,
                const char *body, size_t len, const char *header);
void sv_http(sv_resp *r, const char *method, const char *path,
             const char *body);
/* The value of a response header (case-insensitive name), in buf. */
const char *sv_header(const sv_resp *r, const char *name, char *buf,
                      size_t cap);
/* The body as a JSON object; the caller deletes it. */
cJSON *sv_json(const sv_resp *r);
/* Expects status code and a JSON error body naming error (and field when
 * not NULL). */
void sv_expect_error(const sv_resp *r, int code, const char *error,
                     const char *field);
/* A request whose answer must be that error: sv_http, sv_expect_error and
 * sv_resp_free in one. */
void sv_http_error(const char *method, const char *path, const char *body,
                   int code, const char *error, const char *field);
/* Classifies text, expects 200 and returns the result (caller deletes). */
cJSON *sv_classify(const char *text);
/* The same from the model whose fingerprint is fp (sv_classify: sv_fp). */
cJSON *sv_classify_by(const char *text, const char *fp);
/* The value of one series ("name{labels}") in a metrics text, -1 when it
 * is absent. */
double sv_metric(const char *text, const char *series);
/* A feedback record for text, from -> to, with confidence conf. */
void sv_feedback_json(char *buf, size_t cap, const char *text, const char *from,
                      const char *to, const char *conf);
/* An intent other than `not` from the example data's eight. */
const char *sv_other_intent(const char *not_this);

/* The reload of the model file, a case of the "service" suite added by
 * suite_service_ops() (check_service_reload.c). */
void suite_service_reload(Suite *s);

#endif
