/*
 * check_service.c - the example HTTP service (examples/intent_service),
 * run as an operator runs it: a model trained by the real CLI, a private
 * LMDB store per test, a loopback port the service picks itself (--port 0,
 * read back from its "listening" log line, so no two runs race for a
 * port), and curl as the client. Every test ends by stopping the service
 * with SIGTERM and expecting exit 0, so a crash, a hang at shutdown or, in
 * a sanitizer or valgrind run, a leak fails the test that caused it.
 *
 * The service is not built here: `make check` builds it first. TC_SERVICE
 * names another binary (an ASan build of it, say); TC_SERVICE_VALGRIND=1
 * runs it under valgrind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "suites.h"

#define TRAIN_DATA "examples/intents.jsonl"
#define CLASSIFY "/api/v1/intents/classify"
#define FEEDBACK "/api/v1/intents/feedback"
#define STATS "/api/v1/intents/feedback/stats"

#define TEXT_A "How do I write a Python function that reverses a list?"
#define TEXT_B "Can you explain what a closure is in JavaScript"

#define MAX_ARGS 48
#define MAX_ENV 24
#define PATH_LEN 4200

/* ---- state a failed assertion must not leak ----------------------------- */

static char *g_shared; /* the case's dir: the trained model */
static char g_model[PATH_LEN];
static char g_fp[64];          /* the model's fingerprint */
static char g_train_err[1024]; /* why training failed, for every test */

static char *g_tmp; /* the test's dir: HOME, store, request files */
static char g_bin[PATH_LEN];
static char g_env_bufs[MAX_ENV][PATH_LEN];
static char *g_envp[MAX_ENV + 1];

/* The running service: killed by its own pid in teardown and at exit, and
 * by the kernel (PR_SET_PDEATHSIG) if the test process dies first. */
static pid_t g_pid = -1;
static int g_port;
static char g_errlog[PATH_LEN];

static int valgrind_on(void)
{
    const char *v = getenv("TC_SERVICE_VALGRIND");

    return v && *v && strcmp(v, "0") != 0;
}

/* Generous bounds that only catch hangs; no test measures speed. */
static int slow_ms(int ms)
{
    return valgrind_on() || getenv("TC_VALGRIND") ? ms * 20 : ms;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A whole file, NUL-terminated, malloc'd; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t n = 0, cap = 0, got;

    if (!f) {
        return NULL;
    }
    do {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            if (!(nb = realloc(buf, cap + 1))) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    if (len) {
        *len = n;
    }
    return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- processes ----------------------------------------------------------- */

/* Sanitizer settings must reach the service and the CLI. */
static const char *const passed_env[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS",
                                         "LSAN_OPTIONS", "TSAN_OPTIONS"};

/* A clean environment rooted in dir: nothing of the caller's store or
 * Redis settings can reach the service. */
static void build_env(const char *dir)
{
    int n = 0;
    size_t i;

    snprintf(g_env_bufs[n++], PATH_LEN, "PATH=/usr/local/bin:/usr/bin:/bin");
    snprintf(g_env_bufs[n++], PATH_LEN, "HOME=%s", dir);
    snprintf(g_env_bufs[n++], PATH_LEN, "XDG_CACHE_HOME=%s/cache", dir);
    snprintf(g_env_bufs[n++], PATH_LEN, "XDG_STATE_HOME=%s/state", dir);
    snprintf(g_env_bufs[n++], PATH_LEN, "TMPDIR=%s", dir);
    snprintf(g_env_bufs[n++], PATH_LEN, "LC_ALL=C");
    for (i = 0; i < sizeof(passed_env) / sizeof(passed_env[0]); i++) {
        const char *v = getenv(passed_env[i]);

        if (v) {
            snprintf(g_env_bufs[n++], PATH_LEN, "%s=%s", passed_env[i], v);
        }
    }
    for (i = 0; i < (size_t)n; i++) {
        g_envp[i] = g_env_bufs[i];
    }
    g_envp[n] = NULL;
}

/*
 * Starts argv (argv[0] looked up on PATH) with stdin from in, stdout to
 * out and stderr to err (NULL: /dev/null). Returns the pid, or -1.
 */
static pid_t spawn(char *const *argv, const char *in, const char *out,
                   const char *err)
{
    pid_t parent = getpid(), pid = fork();
    int fd;

    if (pid != 0) {
        return pid;
    }
    /* No child outlives the test: the kernel kills it when the test
     * (the thread that forked) dies, and a parent that died before the
     * prctl() is caught by the getppid() check. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(127);
    }
    if ((fd = open(in ? in : "/dev/null", O_RDONLY)) < 0 ||
        dup2(fd, STDIN_FILENO) < 0) {
        _exit(127);
    }
    if ((fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                   0600)) < 0 ||
        dup2(fd, STDOUT_FILENO) < 0) {
        _exit(127);
    }
    if ((fd = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                   0600)) < 0 ||
        dup2(fd, STDERR_FILENO) < 0) {
        _exit(127);
    }
    for (fd = 3; fd < 1024; fd++) {
        close(fd);
    }
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], argv, g_envp);
    _exit(127);
}

/* Waits for pid up to timeout_ms; returns the exit status (128 + signal
 * when killed by one), or -1 when it is still running. */
static int wait_for(pid_t pid, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status;
    pid_t w;

    for (;;) {
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        }
        if (w < 0 && errno != EINTR) {
            return -1;
        }
        if (now_ms() > deadline) {
            return -1;
        }
        sleep_ms(5);
    }
}

/* Runs argv to its end (killed after timeout_ms: -1). */
static int run(char *const *argv, const char *in, const char *out,
               const char *err, int timeout_ms)
{
    pid_t pid = spawn(argv, in, out, err);
    int code;

    if (pid < 0) {
        return -1;
    }
    if ((code = wait_for(pid, timeout_ms)) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return code;
}

/* ---- the service --------------------------------------------------------- */

static void kill_service(void)
{
    if (g_pid > 0) {
        kill(g_pid, SIGKILL);
        waitpid(g_pid, NULL, 0);
        g_pid = -1;
    }
}

/* The service's stderr, for failure messages. */
static const char *errlog_text(void)
{
    static char *text;

    free(text);
    text = slurp(g_errlog, NULL);
    return text ? text : "(no stderr)";
}

/*
 * The argv of the service with the given arguments: the binary, under
 * valgrind when asked, with its report in the test dir.
 */
static int service_argv(char **argv, char bufs[][PATH_LEN], char *const *args)
{
    int n = 0, i;

    if (valgrind_on()) {
        static const char *const vg[] = {
            "valgrind",
            "-q",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect"};

        for (i = 0; i < (int)(sizeof(vg) / sizeof(vg[0])); i++) {
            argv[n++] = (char *)vg[i];
        }
        snprintf(bufs[0], PATH_LEN, "--log-file=%s/valgrind.log", g_tmp);
        argv[n++] = bufs[0];
    }
    argv[n++] = g_bin;
    for (i = 0; args[i] && n < MAX_ARGS; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return n;
}

/*
 * Starts the service on a port of its choosing with the given store and
 * extra arguments (NULL-terminated), and returns once /health answers.
 */
static void start_service(const char *store, ...)
{
    char *args[MAX_ARGS], *argv[MAX_ARGS + 10], bufs[1][PATH_LEN];
    char url[128], out[PATH_LEN], code_file[PATH_LEN];
    const char *p;
    int64_t deadline;
    va_list ap;
    int n = 0, code;

    args[n++] = "--port";
    args[n++] = "0";
    args[n++] = "--model";
    args[n++] = g_model;
    args[n++] = "--store";
    args[n++] = (char *)store;
    va_start(ap, store);
    while (n < MAX_ARGS - 1 && (args[n] = va_arg(ap, char *))) {
        n++;
    }
    va_end(ap);
    args[n] = NULL;
    service_argv(argv, bufs, args);
    snprintf(g_errlog, sizeof(g_errlog), "%s/service.err", g_tmp);
    snprintf(out, sizeof(out), "%s/service.out", g_tmp);
    g_pid = spawn(argv, NULL, out, g_errlog);
    ck_assert_int_gt(g_pid, 0);

    /* The port, from the "listening" line. */
    deadline = now_ms() + slow_ms(10000);
    g_port = 0;
    while (!g_port) {
        char *log = slurp(g_errlog, NULL);

        /* only a whole line: the file may be read mid-write */
        if (log && (p = strstr(log, "\"event\":\"listening\"")) &&
            strchr(p, '\n') && (p = strstr(p, "\"port\":"))) {
            g_port = atoi(p + 7);
        }
        free(log);
        if (g_port) {
            break;
        }
        if ((code = wait_for(g_pid, 0)) >= 0) {
            g_pid = -1;
            ck_abort_msg("the service exited with %d before listening:\n%s",
                         code, errlog_text());
        }
        ck_assert_msg(now_ms() < deadline, "the service did not listen:\n%s",
                      errlog_text());
        sleep_ms(10);
    }
    ck_assert_msg(g_port > 0 && g_port < 65536, "port %d", g_port);

    /* Then until /health answers over HTTP. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", g_port);
    snprintf(code_file, sizeof(code_file), "%s/health.code", g_tmp);
    for (;;) {
        char *cargv[] = {"curl",         "-s",         "-o", "/dev/null", "-w",
                         "%{http_code}", "--max-time", "5",  url,         NULL};
        char *got;

        code = run(cargv, NULL, code_file, NULL, slow_ms(10000));
        got = slurp(code_file, NULL);
        if (code == 0 && got && strcmp(got, "200") == 0) {
            free(got);
            break;
        }
        free(got);
        ck_assert_msg(code != 127, "curl is not installed (apt-get install "
                                   "curl; scripts/deps.sh check does)");
        ck_assert_msg(now_ms() < deadline, "/health did not answer:\n%s",
                      errlog_text());
        sleep_ms(20);
    }
}

/* Stops the service with sig and expects a clean exit 0 in time. */
static void stop_service(int sig)
{
    int code;

    ck_assert_int_gt(g_pid, 0);
    ck_assert_int_eq(kill(g_pid, sig), 0);
    code = wait_for(g_pid, slow_ms(5000));
    if (code < 0) {
        kill_service();
        ck_abort_msg("still running after %s:\n%s",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", errlog_text());
    }
    g_pid = -1;
    if (code != 0 && valgrind_on()) {
        char path[PATH_LEN], *vg;

        snprintf(path, sizeof(path), "%s/valgrind.log", g_tmp);
        vg = slurp(path, NULL);
        ck_abort_msg("exit %d under valgrind:\n%s", code, vg ? vg : "");
    }
    ck_assert_msg(code == 0, "exit %d, expected 0:\n%s", code, errlog_text());
}

/* ---- HTTP through curl --------------------------------------------------- */

typedef struct resp {
    int code;   /* HTTP status */
    char *body; /* NUL-terminated */
    size_t len;
    char *headers; /* the response headers as received */
} resp;

static void resp_free(resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

/*
 * One request: method, path, and a body of len bytes (NULL: none) sent as
 * is; header is one more request header or NULL. HEAD uses curl -I, which
 * writes the headers where the body would go.
 */
static void http_ex(resp *r, const char *method, const char *path,
                    const char *body, size_t len, const char *header)
{
    char url[512], bodyf[PATH_LEN], data[PATH_LEN + 1], outf[PATH_LEN],
        headf[PATH_LEN], codef[PATH_LEN], errf[PATH_LEN];
    char *argv[32], *code;
    int n = 0, rc;

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g_port, path);
    snprintf(bodyf, sizeof(bodyf), "%s/req.body", g_tmp);
    snprintf(outf, sizeof(outf), "%s/resp.body", g_tmp);
    snprintf(headf, sizeof(headf), "%s/resp.head", g_tmp);
    snprintf(codef, sizeof(codef), "%s/resp.code", g_tmp);
    snprintf(errf, sizeof(errf), "%s/curl.err", g_tmp);
    remove(outf);
    argv[n++] = "curl";
    argv[n++] = "-sS";
    argv[n++] = "--max-time";
    argv[n++] = "30";
    argv[n++] = "-o";
    argv[n++] = outf;
    argv[n++] = "-D";
    argv[n++] = headf;
    argv[n++] = "-w";
    argv[n++] = "%{http_code}";
    if (strcmp(method, "HEAD") == 0) {
        argv[n++] = "-I";
    } else {
        argv[n++] = "-X";
        argv[n++] = (char *)method;
    }
    if (body) {
        spit(bodyf, body, len);
        snprintf(data, sizeof(data), "@%s", bodyf);
        argv[n++] = "-H";
        argv[n++] = "Content-Type: application/json";
        argv[n++] = "--data-binary";
        argv[n++] = data;
    }
    if (header) {
        argv[n++] = "-H";
        argv[n++] = (char *)header;
    }
    argv[n++] = url;
    argv[n] = NULL;
    rc = run(argv, NULL, codef, errf, slow_ms(30000));
    ck_assert_msg(rc != 127, "curl is not installed (apt-get install curl; "
                             "scripts/deps.sh check does)");
    if (rc != 0) {
        char *e = slurp(errf, NULL);

        ck_abort_msg("curl %s %s: exit %d: %s\nservice:\n%s", method, path, rc,
                     e ? e : "", errlog_text());
    }
    code = slurp(codef, NULL);
    ck_assert_ptr_nonnull(code);
    r->code = atoi(code);
    free(code);
    r->body = slurp(outf, &r->len);
    if (!r->body) {
        r->body = calloc(1, 1); /* HEAD: no body */
        ck_assert_ptr_nonnull(r->body);
    }
    r->headers = slurp(headf, NULL);
    ck_assert_ptr_nonnull(r->headers);
}

static void http(resp *r, const char *method, const char *path,
                 const char *body)
{
    http_ex(r, method, path, body, body ? strlen(body) : 0, NULL);
}

/* The value of a response header (case-insensitive name), in buf. */
static const char *header_value(const resp *r, const char *name, char *buf,
                                size_t cap)
{
    const char *p = r->headers;
    size_t n = strlen(name);

    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);

        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;

            while (*v == ' ') {
                v++;
            }
            len -= (size_t)(v - p);
            while (len && (v[len - 1] == '\r' || v[len - 1] == ' ')) {
                len--;
            }
            snprintf(buf, cap, "%.*s", (int)len, v);
            return buf;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

/* The body as a JSON object; the caller deletes it. */
static cJSON *json_of(const resp *r)
{
    cJSON *o = cJSON_ParseWithLength(r->body, r->len);

    ck_assert_msg(cJSON_IsObject(o), "not a JSON object: %s", r->body);
    return o;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsString(f), "\"%s\" is not a string", name);
    return f->valuestring;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsNumber(f), "\"%s\" is not a number", name);
    return f->valuedouble;
}

/* Expects status code and a JSON error body naming error (and field when
 * not NULL). */
static void expect_error(const resp *r, int code, const char *error,
                         const char *field)
{
    char ct[128];
    cJSON *o;

    ck_assert_msg(r->code == code, "HTTP %d, expected %d: %s", r->code, code,
                  r->body);
    ck_assert_msg(header_value(r, "Content-Type", ct, sizeof(ct)) &&
                      strcmp(ct, "application/json") == 0,
                  "Content-Type of an error: %s", r->headers);
    o = json_of(r);
    ck_assert_str_eq(jstr(o, "error"), error);
    if (field) {
        ck_assert_str_eq(jstr(o, "field"), field);
    }
    cJSON_Delete(o);
}

/* Classifies text, expects 200 and returns the result (caller deletes). */
static cJSON *classify(const char *text)
{
    char body[1024];
    resp r;
    cJSON *o;
    double c;

    snprintf(body, sizeof(body), "{\"text\": \"%s\"}", text);
    http(&r, "POST", CLASSIFY, body);
    ck_assert_msg(r.code == 200, "classify: HTTP %d: %s", r.code, r.body);
    o = json_of(&r);
    resp_free(&r);
    ck_assert(jstr(o, "intent")[0] != '\0');
    c = jnum(o, "confidence");
    ck_assert(c >= 0 && c <= 1);
    ck_assert_str_eq(jstr(o, "model"),
                     strcmp(jstr(o, "source"), "feedback") ? g_fp : "feedback");
    return o;
}

/* An intent other than `not` from the example data's eight. */
static const char *other_intent(const char * not )
{
    return strcmp(not, "summarization") ? "summarization" : "translation";
}

/* The value of one series ("name{labels}") in a metrics text, -1 when it
 * is absent. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return -1;
}

/* ---- fixtures ------------------------------------------------------------ */

/*
 * Once per case, in the parent: train the model with the real CLI (seeded
 * and on one thread, so every run gets the same model). A failure is kept
 * for every test to report, since an unchecked fixture cannot fail a test.
 */
static void case_setup(void)
{
    char bin[PATH_LEN], out[PATH_LEN], *text;
    cJSON *o, *fp;
    int code;

    g_train_err[0] = '\0';
    if (!(g_shared = tt_mkdtemp())) {
        snprintf(g_train_err, sizeof(g_train_err), "no temp dir");
        return;
    }
    build_env(g_shared);
    snprintf(bin, sizeof(bin), "%s/tutorcache", tt_build_dir());
    snprintf(g_model, sizeof(g_model), "%s/m.tcm", g_shared);
    snprintf(out, sizeof(out), "%s/train.out", g_shared);
    {
        char *argv[] = {bin,      "train", TRAIN_DATA,  "-o", g_model,
                        "--seed", "7",     "--threads", "1",  NULL};

        code = run(argv, NULL, out, NULL, slow_ms(120000));
    }
    text = slurp(out, NULL);
    o = text ? cJSON_Parse(text) : NULL;
    fp = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
    if (code != 0 || !cJSON_IsString(fp) ||
        strlen(fp->valuestring) >= sizeof(g_fp)) {
        snprintf(g_train_err, sizeof(g_train_err),
                 "%.200s train %s: exit %d: %.300s (run from the source tree "
                 "after `make`)",
                 bin, TRAIN_DATA, code, text ? text : "");
    } else {
        snprintf(g_fp, sizeof(g_fp), "%s", fp->valuestring);
    }
    cJSON_Delete(o);
    free(text);
}

static void case_teardown(void)
{
    if (g_shared) {
        tt_rmtree(g_shared);
        free(g_shared);
        g_shared = NULL;
    }
}

/* A failed assertion in a forked test exits the process without running
 * the teardown: the service goes with it, by its pid. */
static void at_exit_kill(void)
{
    kill_service();
}

static void setup(void)
{
    static int registered;
    const char *bin = getenv("TC_SERVICE");

    snprintf(g_bin, sizeof(g_bin), "%s",
             bin && *bin ? bin : "examples/intent_service");
    ck_assert_msg(access(g_bin, X_OK) == 0,
                  "%s: not built (%s); `make examples` builds it, and "
                  "`make check` does so before the tests",
                  g_bin, strerror(errno));
    ck_assert_msg(g_train_err[0] == '\0', "%s", g_train_err);
    g_tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_tmp);
    build_env(g_tmp);
    if (!registered) {
        registered = 1;
        atexit(at_exit_kill);
    }
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    kill_service();
    if (g_tmp) {
        tt_rmtree(g_tmp);
        free(g_tmp);
        g_tmp = NULL;
    }
}

/* lmdb://<test dir>/db */
static const char *lmdb_url(void)
{
    static char url[PATH_LEN];

    snprintf(url, sizeof(url), "lmdb://%s/db", g_tmp);
    return url;
}

/* ---- tests --------------------------------------------------------------- */

/* The first answer comes from the model, the same text again from L1. */
START_TEST(test_classify_tiers)
{
    char ct[128];
    cJSON *a, *b;
    resp r;

    start_service(lmdb_url(), NULL);
    a = classify(TEXT_A);
    ck_assert_str_eq(jstr(a, "source"), "model");
    ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(a, "top")));
    b = classify(TEXT_A);
    ck_assert_str_eq(jstr(b, "source"), "l1");
    ck_assert_str_eq(jstr(a, "intent"), jstr(b, "intent"));
    cJSON_Delete(a);
    cJSON_Delete(b);

    http(&r, "POST", CLASSIFY, "{\"text\":\"" TEXT_A "\"}");
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header_value(&r, "Content-Type", ct, sizeof(ct)),
                     "application/json");
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

START_TEST(test_bad_json)
{
    static const char *const bad[] = {
        "{\"text\":",              /* cut short */
        "{\"text\": \"a\"} trail", /* garbage after the value */
        "[\"text\"]",              /* not an object */
        "text=hello",              /* a form, not JSON */
        "",                        /* empty */
    };
    size_t i;
    resp r;
    cJSON *o;

    start_service(lmdb_url(), NULL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http(&r, "POST", CLASSIFY, bad[i]);
        expect_error(&r, 400, "bad_json", NULL);
        o = json_of(&r);
        ck_assert(jstr(o, "detail")[0] != '\0');
        cJSON_Delete(o);
        resp_free(&r);
    }
    /* The same answer on the feedback endpoint. */
    http(&r, "POST", FEEDBACK, "{\"text\": ");
    expect_error(&r, 400, "bad_json", NULL);
    resp_free(&r);
    /* Invalid UTF-8, raw or through an escaped NUL. */
    http(&r, "POST", CLASSIFY, "{\"text\": \"caf\xe9\"}");
    expect_error(&r, 400, "invalid_utf8", NULL);
    resp_free(&r);
    http(&r, "POST", CLASSIFY, "{\"text\": \"a\\u0000b\"}");
    expect_error(&r, 400, "bad_json", NULL);
    resp_free(&r);
    /* The service is still well after all of that. */
    o = classify(TEXT_A);
    cJSON_Delete(o);
    stop_service(SIGTERM);
}
END_TEST

START_TEST(test_missing_field)
{
    resp r;
    cJSON *o;

    start_service(lmdb_url(), NULL);
    http(&r, "POST", CLASSIFY, "{\"txt\": \"" TEXT_A "\"}");
    expect_error(&r, 400, "missing_field", "text");
    o = json_of(&r);
    ck_assert_ptr_nonnull(strstr(jstr(o, "detail"), "text"));
    cJSON_Delete(o);
    resp_free(&r);
    http(&r, "POST", CLASSIFY, "{\"text\": \"\"}");
    expect_error(&r, 400, "missing_field", "text");
    resp_free(&r);
    http(&r, "POST", CLASSIFY, "{\"text\": null}");
    expect_error(&r, 400, "missing_field", "text");
    resp_free(&r);
    http(&r, "POST", CLASSIFY, "{\"text\": 42}");
    expect_error(&r, 400, "invalid_field", "text");
    resp_free(&r);
    /* Blank: the library's own check, still named. */
    http(&r, "POST", CLASSIFY, "{\"text\": \"   \"}");
    expect_error(&r, 400, "invalid_text", "text");
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

/* Over 1 MiB: refused from Content-Length, and chunked at its end;
 * exactly 1 MiB is read. */
START_TEST(test_too_large)
{
    size_t n = (size_t)1024 * 1024;
    char *big = malloc(n + 1);
    const char *head = "{\"text\": \"" TEXT_A "\"";
    resp r;
    cJSON *o;

    ck_assert_ptr_nonnull(big);
    memset(big, ' ', n + 1);
    big[0] = '{';
    big[n] = '}';
    start_service(lmdb_url(), NULL);
    http_ex(&r, "POST", CLASSIFY, big, n + 1, NULL);
    expect_error(&r, 413, "too_large", NULL);
    resp_free(&r);
    http_ex(&r, "POST", CLASSIFY, big, n + 1, "Transfer-Encoding: chunked");
    expect_error(&r, 413, "too_large", NULL);
    resp_free(&r);
    /* A valid object padded with white space to exactly the limit. */
    memcpy(big, head, strlen(head));
    big[n - 1] = '}';
    http_ex(&r, "POST", CLASSIFY, big, n, NULL);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    o = json_of(&r);
    ck_assert_str_eq(jstr(o, "source"), "model");
    cJSON_Delete(o);
    resp_free(&r);
    http_ex(&r, "POST", CLASSIFY, big, n, "Transfer-Encoding: chunked");
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    resp_free(&r);
    free(big);
    stop_service(SIGTERM);
}
END_TEST

/* Builds a feedback record for text, from -> to. */
static void feedback_json(char *buf, size_t cap, const char *text,
                          const char *from, const char *to, const char *conf)
{
    snprintf(buf, cap,
             "{\"text\": \"%s\", \"original_intent\": \"%s\", "
             "\"correct_intent\": \"%s\", \"original_confidence\": %s, "
             "\"feedback_type\": \"correction\", \"user_id\": \"u-17\"}",
             text, from, to, conf);
}

/*
 * A correction is accepted with an id, then answers the classification of
 * its text; a bad record names its field; the stats count both.
 */
START_TEST(test_feedback)
{
    char body[1024], from[64], to[64];
    const cJSON *pairs, *p0;
    cJSON *o, *st;
    resp r;

    start_service(lmdb_url(), NULL);
    o = classify(TEXT_B);
    ck_assert_str_eq(jstr(o, "source"), "model");
    snprintf(from, sizeof(from), "%s", jstr(o, "intent"));
    snprintf(to, sizeof(to), "%s", other_intent(from));
    cJSON_Delete(o);

    feedback_json(body, sizeof(body), TEXT_B, from, to, "0.61");
    http(&r, "POST", FEEDBACK, body);
    ck_assert_msg(r.code == 201, "HTTP %d: %s", r.code, r.body);
    o = json_of(&r);
    ck_assert_str_eq(jstr(o, "status"), "accepted");
    /* 13 digits of ms, '-', 16 hex digits (tutorcache.h) */
    ck_assert_uint_eq(strlen(jstr(o, "id")), 30);
    ck_assert_int_eq(jstr(o, "id")[13], '-');
    cJSON_Delete(o);
    resp_free(&r);

    o = classify(TEXT_B);
    ck_assert_str_eq(jstr(o, "source"), "feedback");
    ck_assert_str_eq(jstr(o, "intent"), to);
    cJSON_Delete(o);

    feedback_json(body, sizeof(body), TEXT_B, from, to, "1.7");
    http(&r, "POST", FEEDBACK, body);
    expect_error(&r, 400, "invalid_feedback", "original_confidence");
    o = json_of(&r);
    ck_assert_msg(strstr(jstr(o, "detail"), "original_confidence") != NULL,
                  "%s", r.body);
    cJSON_Delete(o);
    resp_free(&r);
    /* An unknown field is named too, though not as a record field. */
    http(&r, "POST", FEEDBACK,
         "{\"text\": \"x\", \"original_intent\": \"a\", "
         "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
         "\"feedback_type\": \"correction\", \"colour\": \"red\"}");
    expect_error(&r, 400, "invalid_feedback", NULL);
    ck_assert_msg(strstr(r.body, "colour") != NULL, "%s", r.body);
    resp_free(&r);

    http(&r, "GET", STATS, NULL);
    ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
    st = json_of(&r);
    resp_free(&r);
    o = cJSON_GetObjectItemCaseSensitive(st, "accepted");
    ck_assert_int_eq((int)jnum(o, "correction"), 1);
    ck_assert_int_eq((int)jnum(o, "confirmation"), 0);
    /* The unknown field's record may be rejected before its type is
     * read: it is then counted as "invalid". */
    o = cJSON_GetObjectItemCaseSensitive(st, "rejected");
    ck_assert_int_ge((int)jnum(o, "correction"), 1);
    ck_assert_int_eq((int)(jnum(o, "correction") + jnum(o, "invalid")), 2);
    pairs = cJSON_GetObjectItemCaseSensitive(st, "pairs");
    ck_assert_int_eq(cJSON_GetArraySize(pairs), 1);
    p0 = cJSON_GetArrayItem(pairs, 0);
    ck_assert_str_eq(jstr(p0, "original"), from);
    ck_assert_str_eq(jstr(p0, "correct"), to);
    ck_assert_int_eq((int)jnum(p0, "count"), 1);
    ck_assert_int_eq((int)jnum(st, "kept"), 1);
    ck_assert_int_eq((int)jnum(st, "spooled"), 0);
    cJSON_Delete(st);
    stop_service(SIGTERM);
}
END_TEST

/* Runs promtool check metrics on text; skipped when promtool is absent. */
static void promtool_check(const char *text)
{
    char in[PATH_LEN], out[PATH_LEN];
    char *argv[] = {"promtool", "check", "metrics", NULL};
    int code;

    snprintf(in, sizeof(in), "%s/metrics.txt", g_tmp);
    snprintf(out, sizeof(out), "%s/promtool.out", g_tmp);
    spit(in, text, strlen(text));
    code = run(argv, in, out, out, slow_ms(30000));
    if (code == 127) {
        fprintf(stderr, "check_service: promtool not installed; "
                        "`scripts/deps.sh check` installs it\n");
        return;
    }
    if (code != 0) {
        char *o = slurp(out, NULL);

        ck_abort_msg("promtool check metrics: exit %d: %s", code, o ? o : "");
    }
}

/* The counters match what was done, and the text passes promtool. */
START_TEST(test_metrics)
{
    char body[1024], ct[128], series[256], from[64];
    cJSON *o;
    resp r;

    start_service(lmdb_url(), NULL);
    cJSON_Delete(classify(TEXT_A)); /* miss */
    cJSON_Delete(classify(TEXT_A)); /* hit */
    o = classify(TEXT_B);           /* miss */
    snprintf(from, sizeof(from), "%s", jstr(o, "intent"));
    cJSON_Delete(o);
    feedback_json(body, sizeof(body), TEXT_B, from, other_intent(from), "0.5");
    http(&r, "POST", FEEDBACK, body);
    ck_assert_int_eq(r.code, 201);
    resp_free(&r);
    cJSON_Delete(classify(TEXT_B));                  /* feedback */
    http(&r, "POST", CLASSIFY, "{\"text\": \" \"}"); /* error */
    ck_assert_int_eq(r.code, 400);
    resp_free(&r);

    http(&r, "GET", "/metrics", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header_value(&r, "Content-Type", ct, sizeof(ct)),
                     "text/plain; version=0.0.4; charset=utf-8");
#define EXPECT_SERIES(s, v)                                                    \
    ck_assert_msg(metric(r.body, s) == (v), "%s is %g, expected %g", s,        \
                  metric(r.body, s), (double)(v))
    EXPECT_SERIES("intent_classification_requests_total{status=\"cache_miss\"}",
                  2);
    EXPECT_SERIES("intent_classification_requests_total{status=\"cache_hit\"}",
                  1);
    EXPECT_SERIES("intent_classification_requests_total{status=\"feedback\"}",
                  1);
    EXPECT_SERIES("intent_classification_requests_total{status=\"error\"}", 1);
    EXPECT_SERIES("intent_feedback_submissions_total{type=\"correction\","
                  "status=\"accepted\"}",
                  1);
    snprintf(series, sizeof(series),
             "intent_feedback_corrections_total{original=\"%s\","
             "correct=\"%s\"}",
             from, other_intent(from));
    EXPECT_SERIES(series, 1);
    EXPECT_SERIES("intent_service_http_requests_total{route=\"classify\","
                  "code=\"200\"}",
                  4);
    EXPECT_SERIES("intent_service_http_requests_total{route=\"classify\","
                  "code=\"400\"}",
                  1);
    EXPECT_SERIES("intent_service_http_requests_total{route=\"feedback\","
                  "code=\"201\"}",
                  1);
    ck_assert(metric(r.body, "intent_classification_duration_seconds_count") ==
              metric(r.body, "intent_classification_duration_seconds_bucket"
                             "{le=\"+Inf\"}"));
#undef EXPECT_SERIES
    ck_assert_ptr_nonnull(
        strstr(r.body, "# TYPE intent_classification_requests_total counter"));
    promtool_check(r.body);
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

START_TEST(test_health)
{
    char ct[128];
    cJSON *o;
    resp r;

    start_service(lmdb_url(), NULL);
    http(&r, "GET", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_str_eq(header_value(&r, "Content-Type", ct, sizeof(ct)),
                     "application/json");
    o = json_of(&r);
    ck_assert_str_eq(jstr(o, "status"), "ok");
    ck_assert_str_eq(jstr(o, "store"), "lmdb");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "store_up")));
    ck_assert_str_eq(jstr(o, "model"), g_fp);
    cJSON_Delete(o);
    resp_free(&r);
    http(&r, "HEAD", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    ck_assert_ptr_nonnull(header_value(&r, "Content-Type", ct, sizeof(ct)));
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

/* A free loopback port with nothing listening on it. */
static int closed_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/*
 * With its Redis down the service still serves: health says so with 200,
 * classify answers from the model, feedback is spooled and still 201.
 */
START_TEST(test_store_down)
{
    char url[64], body[1024];
    cJSON *o;
    resp r;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", closed_port());
    start_service(url, NULL);
    http(&r, "GET", "/health", NULL);
    ck_assert_int_eq(r.code, 200);
    o = json_of(&r);
    ck_assert_str_eq(jstr(o, "status"), "degraded");
    ck_assert_str_eq(jstr(o, "store"), "redis");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "store_up")));
    cJSON_Delete(o);
    resp_free(&r);

    o = classify(TEXT_A);
    ck_assert_str_eq(jstr(o, "source"), "model");
    cJSON_Delete(o);

    feedback_json(body, sizeof(body), TEXT_A, "debugging", "code_generation",
                  "0.4");
    http(&r, "POST", FEEDBACK, body);
    ck_assert_msg(r.code == 201, "HTTP %d: %s", r.code, r.body);
    o = json_of(&r);
    ck_assert_str_eq(jstr(o, "status"), "accepted");
    cJSON_Delete(o);
    resp_free(&r);
    http(&r, "GET", "/metrics", NULL);
    ck_assert_msg(metric(r.body, "intent_feedback_submissions_total{type="
                                 "\"correction\",status=\"spooled\"}") == 1,
                  "not counted as spooled");
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

START_TEST(test_not_found_and_method)
{
    char allow[64];
    resp r;

    start_service(lmdb_url(), NULL);
    http(&r, "GET", "/nope", NULL);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    http(&r, "POST", "/api/v1/intents", "{}");
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    http(&r, "GET", CLASSIFY, NULL);
    expect_error(&r, 405, "method_not_allowed", NULL);
    ck_assert_str_eq(header_value(&r, "Allow", allow, sizeof(allow)), "POST");
    resp_free(&r);
    http(&r, "PUT", FEEDBACK, "{}");
    expect_error(&r, 405, "method_not_allowed", NULL);
    ck_assert_str_eq(header_value(&r, "Allow", allow, sizeof(allow)), "POST");
    resp_free(&r);
    http(&r, "POST", "/metrics", "{}");
    expect_error(&r, 405, "method_not_allowed", NULL);
    ck_assert_str_eq(header_value(&r, "Allow", allow, sizeof(allow)),
                     "GET, HEAD");
    resp_free(&r);
    http(&r, "DELETE", STATS, NULL);
    expect_error(&r, 405, "method_not_allowed", NULL);
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

/*
 * Eight clients at once, 25 keep-alive requests each over 4 texts: every
 * answer is 200, and the library counted each exactly once.
 */
START_TEST(test_concurrent_clients)
{
    static const char *const texts[] = {
        TEXT_A, TEXT_B, "Summarize this article about photosynthesis",
        "Translate good morning into French"};
    enum { CLIENTS = 8, REQS = 25 };
    char url[128], outf[CLIENTS][PATH_LEN], body[256];
    pid_t pids[CLIENTS];
    double hits, misses;
    int i, j, lines;
    resp r;

    start_service(lmdb_url(), NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g_port, CLASSIFY);
    for (i = 0; i < CLIENTS; i++) {
        char *argv[16 + REQS], bodyf[PATH_LEN], data[PATH_LEN + 1];
        int n = 0;

        snprintf(bodyf, sizeof(bodyf), "%s/c%d.body", g_tmp, i);
        snprintf(outf[i], PATH_LEN, "%s/c%d.out", g_tmp, i);
        snprintf(data, sizeof(data), "@%s", bodyf);
        snprintf(body, sizeof(body), "{\"text\": \"%s\"}", texts[i % 4]);
        spit(bodyf, body, strlen(body));
        argv[n++] = "curl";
        argv[n++] = "-s";
        argv[n++] = "--max-time";
        argv[n++] = "60";
        argv[n++] = "-o";
        argv[n++] = "/dev/null";
        argv[n++] = "-w";
        argv[n++] = "%{http_code}\\n";
        argv[n++] = "--data-binary";
        argv[n++] = data;
        for (j = 0; j < REQS; j++) {
            argv[n++] = url; /* the same POST to each, one connection */
        }
        argv[n] = NULL;
        pids[i] = spawn(argv, NULL, outf[i], NULL);
        ck_assert_int_gt(pids[i], 0);
    }
    for (i = 0; i < CLIENTS; i++) {
        char *out, *p;

        ck_assert_int_eq(wait_for(pids[i], slow_ms(60000)), 0);
        out = slurp(outf[i], NULL);
        ck_assert_ptr_nonnull(out);
        for (lines = 0, p = out; (p = strstr(p, "200\n")); p += 4) {
            lines++;
        }
        ck_assert_msg(lines == REQS, "client %d: %s", i, out);
        free(out);
    }
    http(&r, "GET", "/metrics", NULL);
    hits = metric(r.body,
                  "intent_classification_requests_total{status=\"cache_hit\"}");
    misses = metric(
        r.body, "intent_classification_requests_total{status=\"cache_miss\"}");
    ck_assert_msg(hits + misses == CLIENTS * REQS && misses >= 4 &&
                      misses <= CLIENTS,
                  "hits %g, misses %g", hits, misses);
    ck_assert(metric(r.body, "intent_service_http_requests_total{route="
                             "\"classify\",code=\"200\"}") == CLIENTS * REQS);
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

/*
 * stderr holds only JSON lines: the service's, the library's, and one
 * access line per request.
 */
START_TEST(test_logs)
{
    char *log, *line, *save = NULL;
    int access = 0, listening = 0, stopped = 0;
    cJSON *o;
    resp r;

    start_service(lmdb_url(), NULL);
    cJSON_Delete(classify(TEXT_A));
    http(&r, "GET", "/nope?x=1", NULL);
    resp_free(&r);
    stop_service(SIGINT);
    log = slurp(g_errlog, NULL);
    ck_assert_ptr_nonnull(log);
    for (line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        o = cJSON_Parse(line);
        ck_assert_msg(cJSON_IsObject(o), "not a JSON line: %s", line);
        jstr(o, "time");
        jstr(o, "level");
        if (strcmp(jstr(o, "event"), "http_request") == 0) {
            jnum(o, "latency_us");
            jstr(o, "remote");
            if (strcmp(jstr(o, "path"), CLASSIFY) == 0) {
                ck_assert_str_eq(jstr(o, "method"), "POST");
                ck_assert_int_eq((int)jnum(o, "status"), 200);
                access++;
            } else if (strcmp(jstr(o, "path"), "/nope") == 0) {
                ck_assert_int_eq((int)jnum(o, "status"), 404);
                ck_assert_str_eq(jstr(o, "error"), "not_found");
                access++;
            }
        } else if (strcmp(jstr(o, "event"), "listening") == 0) {
            listening++;
        } else if (strcmp(jstr(o, "event"), "stopped") == 0) {
            stopped++;
        }
        cJSON_Delete(o);
    }
    free(log);
    ck_assert_int_eq(access, 2);
    ck_assert_int_eq(listening, 1);
    ck_assert_int_eq(stopped, 1);
}
END_TEST

/* Runs the service with args to its exit; returns the code, stderr in
 * the test dir's usage.err. */
static int service_exit(char *const *args, char **err)
{
    char *argv[MAX_ARGS + 10], bufs[1][PATH_LEN], errf[PATH_LEN],
        outf[PATH_LEN];
    int code;

    service_argv(argv, bufs, args);
    snprintf(errf, sizeof(errf), "%s/usage.err", g_tmp);
    snprintf(outf, sizeof(outf), "%s/usage.out", g_tmp);
    code = run(argv, NULL, outf, errf, slow_ms(20000));
    ck_assert_msg(code >= 0, "still running: %s", args[0]);
    *err = slurp(errf, NULL);
    ck_assert_ptr_nonnull(*err);
    if (code == 0) {
        free(*err);
        *err = slurp(outf, NULL);
        ck_assert_ptr_nonnull(*err);
    }
    return code;
}

#define EXPECT_EXIT(want, part, ...)                                           \
    do {                                                                       \
        char *args_[] = {__VA_ARGS__, NULL}, *err_;                            \
        int code_ = service_exit(args_, &err_);                                \
                                                                               \
        ck_assert_msg(code_ == (want), "exit %d, expected %d: %s", code_,      \
                      (want), err_);                                           \
        ck_assert_msg(strstr(err_, (part)) != NULL, "\"%s\" not in: %s",       \
                      (part), err_);                                           \
        free(err_);                                                            \
    } while (0)

/* Usage errors exit 2, a bad model 4, a bad store 3, a busy port 5. */
START_TEST(test_exit_codes)
{
    char damaged[PATH_LEN], afile[PATH_LEN], url[PATH_LEN + 16], port[16];

    EXPECT_EXIT(0, "Usage: intent_service", "--help");
    EXPECT_EXIT(2, "--port is required", "--model", g_model);
    EXPECT_EXIT(2, "--model is required", "--port", "0");
    EXPECT_EXIT(2, "--port", "--port", "http", "--model", g_model);
    EXPECT_EXIT(2, "--port", "--port", "70000", "--model", g_model);
    EXPECT_EXIT(2, "--threshold", "--port", "0", "--model", g_model,
                "--threshold", "1.5");
    EXPECT_EXIT(2, "--bogus", "--port", "0", "--model", g_model, "--bogus");
    EXPECT_EXIT(2, "unexpected", "--port", "0", "--model", g_model, "extra");
    EXPECT_EXIT(2, "--host", "--port", "0", "--model", g_model, "--host",
                "localhost.invalid");

    snprintf(damaged, sizeof(damaged), "%s/damaged.tcm", g_tmp);
    spit(damaged, "TCMODEL not really", 18);
    EXPECT_EXIT(4, "--model", "--port", "0", "--model", damaged, "--store",
                "memory:");
    EXPECT_EXIT(4, "--model", "--port", "0", "--model", "/nonexistent.tcm",
                "--store", "memory:");

    EXPECT_EXIT(3, "store", "--port", "0", "--model", g_model, "--store",
                "ftp://example.com");
    snprintf(afile, sizeof(afile), "%s/afile", g_tmp);
    spit(afile, "x", 1);
    snprintf(url, sizeof(url), "lmdb://%s/db", afile);
    EXPECT_EXIT(3, "store", "--port", "0", "--model", g_model, "--store", url);

    start_service(lmdb_url(), NULL);
    snprintf(port, sizeof(port), "%d", g_port);
    EXPECT_EXIT(5, "cannot listen", "--port", port, "--model", g_model,
                "--store", "memory:");
    stop_service(SIGTERM);
}
END_TEST

/* On memory: there is nothing durable to keep feedback in: 503, named. */
START_TEST(test_memory_store)
{
    char body[1024];
    cJSON *o;
    resp r;

    start_service("memory:", NULL);
    o = classify(TEXT_A);
    cJSON_Delete(o);
    feedback_json(body, sizeof(body), TEXT_A, "debugging", "code_generation",
                  "0.4");
    http(&r, "POST", FEEDBACK, body);
    expect_error(&r, 503, "feedback_unavailable", NULL);
    resp_free(&r);
    http(&r, "GET", STATS, NULL);
    expect_error(&r, 503, "feedback_unavailable", NULL);
    resp_free(&r);
    stop_service(SIGTERM);
}
END_TEST

/* --threshold: a confidence below it is "unknown", the scores kept. */
START_TEST(test_threshold)
{
    cJSON *o;

    /* words the model never saw: no intent is likely */
    start_service(lmdb_url(), "--threshold", "0.9", NULL);
    o = classify("qwerty zxcv asdf");
    ck_assert_str_eq(jstr(o, "intent"), "unknown");
    ck_assert(jnum(o, "confidence") < 0.9);
    ck_assert_int_gt(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "top")), 0);
    cJSON_Delete(o);
    stop_service(SIGTERM);
}
END_TEST

Suite *suite_service(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase_create("service");

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_classify_tiers);
    tcase_add_test(tc, test_bad_json);
    tcase_add_test(tc, test_missing_field);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_feedback);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_store_down);
    tcase_add_test(tc, test_not_found_and_method);
    tcase_add_test(tc, test_concurrent_clients);
    tcase_add_test(tc, test_logs);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_memory_store);
    tcase_add_test(tc, test_threshold);
    suite_add_tcase(s, tc);
    return s;
}
