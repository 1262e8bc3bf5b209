/*
 * service_fixture.c - the harness of the example service's tests (see
 * service_fixture.h): processes started with a clean environment and
 * killed by their own pid, the service started and stopped, and HTTP
 * through curl. Everything a failed assertion could leak (the service,
 * the temp dirs) is tracked here and released by the fixtures.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "service_fixture.h"
#include "suites.h"

#define TRAIN_DATA "examples/intents.jsonl"
#define MAX_ENV 32

/* ---- state a failed assertion must not leak ----------------------------- */

static char *g_shared; /* the case's dir: the trained model */
char sv_model[SV_PATH_LEN];
char sv_fp[64];                /* the model's fingerprint */
static char g_train_err[1024]; /* why training failed, for every test */

char *sv_tmp; /* the test's dir: HOME, store, request files */
char sv_bin[SV_PATH_LEN];
static char g_env_bufs[MAX_ENV][SV_PATH_LEN];
static char *g_envp[MAX_ENV + 1];
static int g_nenv;

/* The running service: killed by its own pid in teardown and at exit, and
 * by the kernel (PR_SET_PDEATHSIG) if the test process dies first. */
static pid_t g_pid = -1;
int sv_port;
char sv_errlog[SV_PATH_LEN];
char sv_host[64] = "127.0.0.1";

int sv_valgrind_on(void)
{
    const char *v = getenv("TC_SERVICE_VALGRIND");

    return v && *v && strcmp(v, "0") != 0;
}

/* A sanitizer slows the service a little, valgrind a lot. */
int sv_slow_ms(int ms)
{
    return sv_valgrind_on() || getenv("TC_VALGRIND") ? ms * 20 : ms;
}

int64_t sv_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sv_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A whole file, NUL-terminated, malloc'd; NULL when it cannot be read. */
char *sv_slurp(const char *path, size_t *len)
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

void sv_spit(const char *path, const char *data, size_t len)
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

    snprintf(g_env_bufs[n++], SV_PATH_LEN, "PATH=/usr/local/bin:/usr/bin:/bin");
    snprintf(g_env_bufs[n++], SV_PATH_LEN, "HOME=%s", dir);
    snprintf(g_env_bufs[n++], SV_PATH_LEN, "XDG_CACHE_HOME=%s/cache", dir);
    snprintf(g_env_bufs[n++], SV_PATH_LEN, "XDG_STATE_HOME=%s/state", dir);
    snprintf(g_env_bufs[n++], SV_PATH_LEN, "TMPDIR=%s", dir);
    snprintf(g_env_bufs[n++], SV_PATH_LEN, "LC_ALL=C");
    for (i = 0; i < sizeof(passed_env) / sizeof(passed_env[0]); i++) {
        const char *v = getenv(passed_env[i]);

        if (v) {
            snprintf(g_env_bufs[n++], SV_PATH_LEN, "%s=%s", passed_env[i], v);
        }
    }
    for (i = 0; i < (size_t)n; i++) {
        g_envp[i] = g_env_bufs[i];
    }
    g_envp[n] = NULL;
    g_nenv = n;
}

void sv_env_reset(void)
{
    build_env(sv_tmp);
}

void sv_env_add(const char *name_value)
{
    ck_assert_int_lt(g_nenv, MAX_ENV);
    snprintf(g_env_bufs[g_nenv], SV_PATH_LEN, "%s", name_value);
    g_envp[g_nenv] = g_env_bufs[g_nenv];
    g_envp[++g_nenv] = NULL;
}

/*
 * Starts argv (argv[0] looked up on PATH) with stdin from in, stdout to
 * out and stderr to err (NULL: /dev/null). Returns the pid, or -1.
 */
pid_t sv_spawn(char *const *argv, const char *in, const char *out,
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
    closefrom(3); /* every one: a test may hold thousands of sockets */
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], argv, g_envp);
    _exit(127);
}

/* Waits for pid up to timeout_ms; returns the exit status (128 + signal
 * when killed by one), or -1 when it is still running. */
int sv_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = sv_now_ms() + timeout_ms;
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
        if (sv_now_ms() > deadline) {
            return -1;
        }
        sv_sleep_ms(5);
    }
}

/* Runs argv to its end (killed after timeout_ms: -1). */
int sv_run(char *const *argv, const char *in, const char *out, const char *err,
           int timeout_ms)
{
    pid_t pid = sv_spawn(argv, in, out, err);
    int code;

    if (pid < 0) {
        return -1;
    }
    if ((code = sv_wait(pid, timeout_ms)) < 0) {
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
const char *sv_errlog_text(void)
{
    static char *text;

    free(text);
    text = sv_slurp(sv_errlog, NULL);
    return text ? text : "(no stderr)";
}

/*
 * The argv of the service with the given arguments: the binary, under
 * valgrind when asked, with its report in the test dir.
 */
static int service_argv(char **argv, char bufs[][SV_PATH_LEN],
                        char *const *args)
{
    int n = 0, i;

    if (sv_valgrind_on()) {
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
        snprintf(bufs[0], SV_PATH_LEN, "--log-file=%s/valgrind.log", sv_tmp);
        argv[n++] = bufs[0];
    }
    argv[n++] = sv_bin;
    for (i = 0; args[i] && n < SV_MAX_ARGS; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return n;
}

void sv_start_argv(const char *host, char *const *args)
{
    char *argv[SV_MAX_ARGS + 10], bufs[1][SV_PATH_LEN];
    char url[128], out[SV_PATH_LEN], code_file[SV_PATH_LEN],
        err_file[SV_PATH_LEN];
    const char *p;
    int64_t deadline;
    int code;

    snprintf(sv_host, sizeof(sv_host), "%s", host);
    service_argv(argv, bufs, args);
    snprintf(sv_errlog, sizeof(sv_errlog), "%s/service.err", sv_tmp);
    snprintf(out, sizeof(out), "%s/service.out", sv_tmp);
    /* A previous run's log must not be read for this one's: the child
     * truncates it only once it runs. */
    remove(sv_errlog);
    g_pid = sv_spawn(argv, NULL, out, sv_errlog);
    ck_assert_int_gt(g_pid, 0);

    /* The port, from the "listening" line. */
    deadline = sv_now_ms() + sv_slow_ms(10000);
    sv_port = 0;
    while (!sv_port) {
        char *log = sv_slurp(sv_errlog, NULL);

        /* only a whole line: the file may be read mid-write */
        if (log && (p = strstr(log, "\"event\":\"listening\"")) &&
            strchr(p, '\n') && (p = strstr(p, "\"port\":"))) {
            sv_port = atoi(p + 7);
        }
        free(log);
        if (sv_port) {
            break;
        }
        if ((code = sv_wait(g_pid, 0)) >= 0) {
            g_pid = -1;
            ck_abort_msg("the service exited with %d before listening:\n%s",
                         code, sv_errlog_text());
        }
        ck_assert_msg(sv_now_ms() < deadline, "the service did not listen:\n%s",
                      sv_errlog_text());
        sv_sleep_ms(10);
    }
    ck_assert_msg(sv_port > 0 && sv_port < 65536, "port %d", sv_port);

    /* Then until /health answers over HTTP. */
    snprintf(url, sizeof(url), "http://%s:%d/health", sv_host, sv_port);
    snprintf(code_file, sizeof(code_file), "%s/health.code", sv_tmp);
    snprintf(err_file, sizeof(err_file), "%s/health.err", sv_tmp);
    for (;;) {
        char *cargv[] = {"curl",         "-sS",        "-o", "/dev/null", "-w",
                         "%{http_code}", "--max-time", "5",  url,         NULL};
        char *got;

        code = sv_run(cargv, NULL, code_file, err_file, sv_slow_ms(10000));
        got = sv_slurp(code_file, NULL);
        if (code == 0 && got && strcmp(got, "200") == 0) {
            free(got);
            break;
        }
        free(got);
        ck_assert_msg(code != 127, "curl is not installed (apt-get install "
                                   "curl; scripts/deps.sh check does)");
        if (sv_now_ms() >= deadline) {
            got = sv_slurp(err_file, NULL);
            ck_abort_msg("/health did not answer (curl: exit %d, %s); the "
                         "service's stderr:\n%s",
                         code, got ? got : "", sv_errlog_text());
        }
        sv_sleep_ms(20);
    }
}

void sv_start(const char *store, ...)
{
    char *args[SV_MAX_ARGS];
    va_list ap;
    int n = 0;

    args[n++] = "--port";
    args[n++] = "0";
    args[n++] = "--model";
    args[n++] = sv_model;
    args[n++] = "--store";
    args[n++] = (char *)store;
    va_start(ap, store);
    while (n < SV_MAX_ARGS - 1 && (args[n] = va_arg(ap, char *))) {
        n++;
    }
    va_end(ap);
    args[n] = NULL;
    sv_start_argv("127.0.0.1", args);
}

/* Sends sig to the running service (SIGHUP: check the model file). */
void sv_signal(int sig)
{
    ck_assert_int_gt(g_pid, 0);
    ck_assert_int_eq(kill(g_pid, sig), 0);
}

/* Stops the service with sig and expects a clean exit 0 in time. */
void sv_stop(int sig)
{
    int code;

    ck_assert_int_gt(g_pid, 0);
    ck_assert_int_eq(kill(g_pid, sig), 0);
    code = sv_wait(g_pid, sv_slow_ms(5000));
    if (code < 0) {
        kill_service();
        ck_abort_msg("still running after %s:\n%s",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", sv_errlog_text());
    }
    g_pid = -1;
    if (code != 0 && sv_valgrind_on()) {
        char path[SV_PATH_LEN], *vg;

        snprintf(path, sizeof(path), "%s/valgrind.log", sv_tmp);
        vg = sv_slurp(path, NULL);
        ck_abort_msg("exit %d under valgrind:\n%s", code, vg ? vg : "");
    }
    ck_assert_msg(code == 0, "exit %d, expected 0:\n%s", code,
                  sv_errlog_text());
}

/* ---- HTTP through curl --------------------------------------------------- */

void sv_resp_free(sv_resp *r)
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
void sv_http_ex(sv_resp *r, const char *method, const char *path,
                const char *body, size_t len, const char *header)
{
    char url[512], bodyf[SV_PATH_LEN], data[SV_PATH_LEN + 1], outf[SV_PATH_LEN],
        headf[SV_PATH_LEN], codef[SV_PATH_LEN], errf[SV_PATH_LEN];
    char *argv[32], *code;
    int n = 0, rc;

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://%s:%d%s", sv_host, sv_port, path);
    snprintf(bodyf, sizeof(bodyf), "%s/req.body", sv_tmp);
    snprintf(outf, sizeof(outf), "%s/sv_resp.body", sv_tmp);
    snprintf(headf, sizeof(headf), "%s/sv_resp.head", sv_tmp);
    snprintf(codef, sizeof(codef), "%s/sv_resp.code", sv_tmp);
    snprintf(errf, sizeof(errf), "%s/curl.err", sv_tmp);
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
        sv_spit(bodyf, body, len);
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
    rc = sv_run(argv, NULL, codef, errf, sv_slow_ms(30000));
    ck_assert_msg(rc != 127, "curl is not installed (apt-get install curl; "
                             "scripts/deps.sh check does)");
    if (rc != 0) {
        char *e = sv_slurp(errf, NULL);

        ck_abort_msg("curl %s %s: exit %d: %s\nservice:\n%s", method, path, rc,
                     e ? e : "", sv_errlog_text());
    }
    code = sv_slurp(codef, NULL);
    ck_assert_ptr_nonnull(code);
    r->code = atoi(code);
    free(code);
    r->body = sv_slurp(outf, &r->len);
    if (!r->body) {
        r->body = calloc(1, 1); /* HEAD: no body */
        ck_assert_ptr_nonnull(r->body);
    }
    r->headers = sv_slurp(headf, NULL);
    ck_assert_ptr_nonnull(r->headers);
}

void sv_http(sv_resp *r, const char *method, const char *path, const char *body)
{
    sv_http_ex(r, method, path, body, body ? strlen(body) : 0, NULL);
}

/* The value of a response header (case-insensitive name), in buf. */
const char *sv_header(const sv_resp *r, const char *name, char *buf, size_t cap)
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
cJSON *sv_json(const sv_resp *r)
{
    cJSON *o = cJSON_ParseWithLength(r->body, r->len);

    ck_assert_msg(cJSON_IsObject(o), "not a JSON object: %s", r->body);
    return o;
}

/* Expects status code and a JSON error body naming error (and field when
 * not NULL). */
void sv_expect_error(const sv_resp *r, int code, const char *error,
                     const char *field)
{
    char ct[128];
    cJSON *o;

    ck_assert_msg(r->code == code, "HTTP %d, expected %d: %s", r->code, code,
                  r->body);
    ck_assert_msg(sv_header(r, "Content-Type", ct, sizeof(ct)) &&
                      strcmp(ct, "application/json") == 0,
                  "Content-Type of an error: %s", r->headers);
    o = sv_json(r);
    ck_assert_str_eq(json_str(o, "error"), error);
    if (field) {
        ck_assert_str_eq(json_str(o, "field"), field);
    }
    cJSON_Delete(o);
}

void sv_http_error(const char *method, const char *path, const char *body,
                   int code, const char *error, const char *field)
{
    sv_resp r;

    sv_http(&r, method, path, body);
    sv_expect_error(&r, code, error, field);
    sv_resp_free(&r);
}

/* Classifies text, expects 200 from the model whose fingerprint is fp
 * (or from the feedback) and returns the result (caller deletes). */
cJSON *sv_classify_by(const char *text, const char *fp)
{
    char body[1024];
    sv_resp r;
    cJSON *o;
    double c;

    snprintf(body, sizeof(body), "{\"text\": \"%s\"}", text);
    sv_http(&r, "POST", SV_CLASSIFY, body);
    ck_assert_msg(r.code == 200, "classify: HTTP %d: %s", r.code, r.body);
    o = sv_json(&r);
    sv_resp_free(&r);
    ck_assert(json_str(o, "intent")[0] != '\0');
    c = json_num(o, "confidence");
    ck_assert(c >= 0 && c <= 1);
    ck_assert_str_eq(json_str(o, "model"),
                     strcmp(json_str(o, "source"), "feedback") ? fp
                                                               : "feedback");
    return o;
}

cJSON *sv_classify(const char *text)
{
    return sv_classify_by(text, sv_fp);
}

/* An intent other than `not` from the example data's eight. */
const char *sv_other_intent(const char *not_this)
{
    return strcmp(not_this, "summarization") ? "summarization" : "translation";
}

/* The value of one series ("name{labels}") in a metrics text, -1 when it
 * is absent. */
double sv_metric(const char *text, const char *series)
{
    const char *v = tt_metric_at(text, series);

    return v ? strtod(v, NULL) : -1;
}

/* ---- fixtures ------------------------------------------------------------ */

/*
 * Trains a model from data into model with the real CLI (seeded and on
 * one thread, so every run gets the same model) and puts its fingerprint
 * in fp (64 bytes). Unchecked, for the unchecked fixtures: returns 0, or
 * -1 with why in err.
 */
int sv_train(const char *data, const char *model, char *fp, char *err,
             size_t errcap)
{
    char bin[SV_PATH_LEN], out[SV_PATH_LEN + 8], *text;
    cJSON *o, *f;
    int code, rc = -1;

    snprintf(bin, sizeof(bin), "%s/tutorcache", tt_build_dir());
    snprintf(out, sizeof(out), "%s.out", model);
    {
        char *argv[] = {bin,      "train", (char *)data, "-o", (char *)model,
                        "--seed", "7",     "--threads",  "1",  NULL};

        code = sv_run(argv, NULL, out, NULL, sv_slow_ms(120000));
    }
    text = sv_slurp(out, NULL);
    o = text ? cJSON_Parse(text) : NULL;
    f = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
    if (code != 0 || !cJSON_IsString(f) || strlen(f->valuestring) >= 64) {
        snprintf(err, errcap,
                 "%.200s train %.200s: exit %d: %.300s (run from the source "
                 "tree after `make`)",
                 bin, data, code, text ? text : "");
    } else {
        snprintf(fp, 64, "%s", f->valuestring);
        rc = 0;
    }
    cJSON_Delete(o);
    free(text);
    return rc;
}

/*
 * Once per case, in the parent: train the model. A failure is kept for
 * every test to report, since an unchecked fixture cannot fail a test.
 */
void sv_case_setup(void)
{
    g_train_err[0] = '\0';
    if (!(g_shared = tt_mkdtemp())) {
        snprintf(g_train_err, sizeof(g_train_err), "no temp dir");
        return;
    }
    build_env(g_shared);
    snprintf(sv_model, sizeof(sv_model), "%s/m.tcm", g_shared);
    sv_train(TRAIN_DATA, sv_model, sv_fp, g_train_err, sizeof(g_train_err));
}

void sv_case_teardown(void)
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

void sv_setup(void)
{
    static int registered;
    const char *bin = getenv("TC_SERVICE");

    snprintf(sv_bin, sizeof(sv_bin), "%s",
             bin && *bin ? bin : "examples/intent_service");
    ck_assert_msg(access(sv_bin, X_OK) == 0,
                  "%s: not built (%s); `make examples` builds it, and "
                  "`make check` does so before the tests",
                  sv_bin, strerror(errno));
    ck_assert_msg(g_train_err[0] == '\0', "%s", g_train_err);
    sv_tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(sv_tmp);
    build_env(sv_tmp);
    snprintf(sv_host, sizeof(sv_host), "127.0.0.1");
    if (!registered) {
        registered = 1;
        atexit(at_exit_kill);
    }
    signal(SIGPIPE, SIG_IGN);
}

void sv_teardown(void)
{
    kill_service();
    if (sv_tmp) {
        tt_rmtree(sv_tmp);
        free(sv_tmp);
        sv_tmp = NULL;
    }
}

/* lmdb://<test dir>/db */
const char *sv_lmdb_url(void)
{
    static char url[SV_PATH_LEN];

    snprintf(url, sizeof(url), "lmdb://%s/db", sv_tmp);
    return url;
}

/* Builds a feedback record for text, from -> to. */
void sv_feedback_json(char *buf, size_t cap, const char *text, const char *from,
                      const char *to, const char *conf)
{
    snprintf(buf, cap,
             "{\"text\": \"%s\", \"original_intent\": \"%s\", "
             "\"correct_intent\": \"%s\", \"original_confidence\": %s, "
             "\"feedback_type\": \"correction\", \"user_id\": \"u-17\"}",
             text, from, to, conf);
}

/* A free loopback port with nothing listening on it. */
int sv_closed_port(void)
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

/* Its stdout and stderr go to usage.out and usage.err in the test dir. */
int sv_exit_code(char *const *args, char **text)
{
    char *argv[SV_MAX_ARGS + 10], bufs[1][SV_PATH_LEN], errf[SV_PATH_LEN],
        outf[SV_PATH_LEN];
    int code;

    service_argv(argv, bufs, args);
    snprintf(errf, sizeof(errf), "%s/usage.err", sv_tmp);
    snprintf(outf, sizeof(outf), "%s/usage.out", sv_tmp);
    code = sv_run(argv, NULL, outf, errf, sv_slow_ms(20000));
    ck_assert_msg(code >= 0, "still running: %s", args[0]);
    *text = sv_slurp(errf, NULL);
    ck_assert_ptr_nonnull(*text);
    if (code == 0) {
        free(*text);
        *text = sv_slurp(outf, NULL);
        ck_assert_ptr_nonnull(*text);
    }
    return code;
}
