/*
 * cli_harness.c - the CLI suites' way of running the built binary, reading
 * its JSON answers, and their common fixture (see cli_harness.h). stdout
 * and stderr are read through poll() while stdin is written, so no pipe
 * fills up and stalls either side.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "cli_harness.h"
#include "suites.h"

/* Long enough for a valgrind run of the slowest command, short enough
 * that a hang fails the test instead of the whole suite. */
#define RUN_TIMEOUT_MS 90000

cli_target tt_cli;

void run_free(run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);

    ck_assert_ptr_nonnull(b);
    memcpy(b + *len, p, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
}

/* Sanitizer settings of `make asan` must reach the binary too. */
static const char *const passed_env[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS",
                                         "LSAN_OPTIONS", "TSAN_OPTIONS"};

static void build_env(char **envp, char bufs[][4200], const how *h)
{
    int n = 0;
    size_t i;

    snprintf(bufs[n++], 4200, "PATH=/usr/local/bin:/usr/bin:/bin");
    snprintf(bufs[n++], 4200, "HOME=%s", tt_cli.home);
    snprintf(bufs[n++], 4200, "XDG_CACHE_HOME=%s/cache", tt_cli.home);
    snprintf(bufs[n++], 4200, "XDG_STATE_HOME=%s/state", tt_cli.home);
    snprintf(bufs[n++], 4200, "TMPDIR=%s", tt_cli.home);
    snprintf(bufs[n++], 4200, "LC_ALL=C");
    if ((h && h->url) || tt_cli.url) {
        snprintf(bufs[n++], 4200, "TUTORCACHE_URL=%s",
                 h && h->url ? h->url : tt_cli.url);
    }
    for (i = 0; i < sizeof(passed_env) / sizeof(passed_env[0]); i++) {
        const char *v = getenv(passed_env[i]);

        if (i == 0) {
            /* a sanitizer report must not pass for an expected exit code */
            snprintf(bufs[n++], 4200, "ASAN_OPTIONS=%s%sexitcode=86",
                     v ? v : "", v && *v ? ":" : "");
        } else if (v) {
            snprintf(bufs[n++], 4200, "%s=%s", passed_env[i], v);
        }
    }
    for (i = 0; i < (size_t)n; i++) {
        envp[i] = bufs[i];
    }
    for (i = 0; tt_cli.env && tt_cli.env[i] && n < CLI_MAX_ENV - 1; i++) {
        envp[n++] = (char *)tt_cli.env[i];
    }
    for (i = 0; h && h->env && h->env[i] && n < CLI_MAX_ENV - 1; i++) {
        envp[n++] = (char *)h->env[i];
    }
    envp[n] = NULL;
}

/*
 * Runs the binary with the NULL-terminated arguments and waits for it.
 * stdout and stderr are read through poll() while stdin is written, so no
 * pipe fills up and stalls either side.
 */
void run_argv(run *r, const how *h, char *const *args)
{
    static char envbufs[CLI_MAX_ENV][4200];
    char *envp[CLI_MAX_ENV], *argv[CLI_MAX_ARGS + 2];
    const char *in = h ? (const char *)h->in : NULL;
    size_t inlen = in ? (h->inlen ? h->inlen : strlen(in)) : 0, inoff = 0;
    int pin[2], pout[2], perr[2], status, i;
    int64_t deadline = tt_now_ms() + RUN_TIMEOUT_MS;
    struct pollfd fds[3];
    pid_t pid;

    memset(r, 0, sizeof(*r));
    r->out = calloc(1, 1);
    r->err = calloc(1, 1);
    ck_assert(r->out && r->err);
    argv[0] = (char *)tt_cli.bin;
    for (i = 0; i < CLI_MAX_ARGS && args[i]; i++) {
        argv[i + 1] = args[i];
    }
    argv[i + 1] = NULL;
    build_env(envp, envbufs, h);
    ck_assert_int_eq(pipe(pin), 0);
    ck_assert_int_eq(pipe(pout), 0);
    ck_assert_int_eq(pipe(perr), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd;

        if (in) {
            dup2(pin[0], STDIN_FILENO);
        } else if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
            dup2(fd, STDIN_FILENO);
        }
        if (h && h->stdout_full) {
            if ((fd = open("/dev/full", O_WRONLY)) < 0) {
                _exit(126);
            }
            dup2(fd, STDOUT_FILENO);
        } else {
            dup2(pout[1], STDOUT_FILENO);
        }
        dup2(perr[1], STDERR_FILENO);
        for (fd = 3; fd < 1024; fd++) {
            close(fd);
        }
        signal(SIGPIPE, SIG_DFL);
        execve(tt_cli.bin, argv, envp);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (inlen == 0) {
        close(pin[1]);
        pin[1] = -1;
    }
    fds[0].fd = pout[0];
    fds[1].fd = perr[0];
    fds[2].fd = pin[1];
    fds[0].events = fds[1].events = POLLIN;
    fds[2].events = POLLOUT;
    while (fds[0].fd >= 0 || fds[1].fd >= 0 || fds[2].fd >= 0) {
        if (tt_now_ms() > deadline) {
            kill(pid, SIGKILL);
            ck_abort_msg("tutorcache %s: still running after %d ms",
                         args[0] ? args[0] : "", RUN_TIMEOUT_MS);
        }
        if (poll(fds, 3, 200) < 0) {
            ck_assert_int_eq(errno, EINTR);
            continue;
        }
        for (i = 0; i < 2; i++) {
            char buf[65536];
            ssize_t n;

            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            n = read(fds[i].fd, buf, sizeof(buf));
            if (n > 0) {
                if (i == 0) {
                    append(&r->out, &r->outlen, buf, (size_t)n);
                } else {
                    append(&r->err, &r->errlen, buf, (size_t)n);
                }
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
        if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR))) {
            ssize_t n = write(fds[2].fd, in + inoff, inlen - inoff);

            if (n > 0) {
                inoff += (size_t)n;
            }
            if ((n < 0 && errno != EINTR) || inoff == inlen) {
                close(fds[2].fd);
                fds[2].fd = -1;
            }
        }
    }
    while (waitpid(pid, &status, 0) < 0) {
        ck_assert_int_eq(errno, EINTR);
    }
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The NULL-terminated arguments of ap in args (CLI_MAX_ARGS at most). */
static void args_of(char **args, va_list ap)
{
    int n = 0;

    while (n < CLI_MAX_ARGS && (args[n] = va_arg(ap, char *))) {
        n++;
    }
    args[n] = NULL;
}

void cli_run(run *r, const how *h, ...)
{
    char *args[CLI_MAX_ARGS + 1];
    va_list ap;

    va_start(ap, h);
    args_of(args, ap);
    va_end(ap);
    run_argv(r, h, args);
}

void cli_check_run(const how *h, int diag, int code, const char *out,
                   const char *err_part, ...)
{
    char *args[CLI_MAX_ARGS + 1], line[512] = "";
    size_t i, n = 0;
    va_list ap;
    run r;

    va_start(ap, err_part);
    args_of(args, ap);
    va_end(ap);
    for (i = 0; args[i] && n < sizeof(line); i++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", args[i]);
    }
    run_argv(&r, h, args);
    ck_assert_msg(r.code == code,
                  "tutorcache%s: exit %d, expected %d\nstdout: %s\nstderr: %s",
                  line, r.code, code, r.out, r.err);
    if (diag) {
        expect_diag(&r, code, err_part);
    } else {
        expect(&r, code, out, err_part);
    }
    run_free(&r);
}

void cli_check_out_run(const how *h, const char *has, const char *hides, ...)
{
    char *args[CLI_MAX_ARGS + 1];
    va_list ap;
    run r;

    va_start(ap, hides);
    args_of(args, ap);
    va_end(ap);
    run_argv(&r, h, args);
    expect(&r, 0, NULL, "");
    ck_assert_msg(!has || strstr(r.out, has), "stdout lacks \"%s\": %s", has,
                  r.out);
    ck_assert_msg(!hides || !strstr(r.out, hides), "stdout shows \"%s\": %s",
                  hides, r.out);
    run_free(&r);
}

void expect_out_has(const run *r, ...)
{
    const char *part;
    va_list ap;

    va_start(ap, r);
    while ((part = va_arg(ap, const char *)) != NULL) {
        ck_assert_msg(strstr(r->out, part), "stdout lacks \"%s\": %s", part,
                      r->out);
    }
    va_end(ap);
}

void expect(const run *r, int code, const char *out, const char *err_part)
{
    ck_assert_msg(r->code == code,
                  "exit %d, expected %d\nstdout: %s\nstderr: %s", r->code, code,
                  r->out, r->err);
    if (out) {
        ck_assert_msg(
            r->outlen == strlen(out) && memcmp(r->out, out, r->outlen) == 0,
            "stdout \"%s\", expected \"%s\"\nstderr: %s", r->out, out, r->err);
    }
    if (err_part && !*err_part) {
        ck_assert_msg(r->errlen == 0, "stderr not empty: %s", r->err);
    } else if (err_part) {
        ck_assert_msg(strstr(r->err, err_part) != NULL,
                      "stderr lacks \"%s\": %s", err_part, r->err);
    }
}

void expect_diag(const run *r, int code, const char *part)
{
    expect(r, code, "", part);
    /* the library's JSON log lines may come first */
    ck_assert_msg(strncmp(r->err, "tutorcache: ", 12) == 0 ||
                      strstr(r->err, "\ntutorcache: ") != NULL,
                  "no line starts with \"tutorcache: \": %s", r->err);
}

void expect_help(run *r, const how *h, const char *main_help, const char *cmd)
{
    char want[64];
    run r2;

    snprintf(want, sizeof(want), "\n  %s ", cmd);
    ck_assert_msg(strstr(main_help, want) != NULL, "%s not in --help", cmd);
    cli(r, h, cmd, "--help");
    expect(r, 0, NULL, "");
    snprintf(want, sizeof(want), "Usage: tutorcache %s", cmd);
    ck_assert_msg(strncmp(r->out, want, strlen(want)) == 0, "%s", r->out);
    cli(&r2, h, cmd, "-h");
    expect(&r2, 0, r->out, "");
    run_free(&r2);
    cli(&r2, h, "help", cmd);
    expect(&r2, 0, r->out, "");
    run_free(&r2);
}

void expect_helps(const how *h, const char *const *cmds, size_t n)
{
    run main_help, r;
    size_t i;

    cli(&main_help, h, "--help");
    expect(&main_help, 0, NULL, "");
    for (i = 0; i < n; i++) {
        expect_help(&r, h, main_help.out, cmds[i]);
        ck_assert_msg(strstr(r.out, "Exit codes:") != NULL,
                      "no exit codes in the help of %s", cmds[i]);
        run_free(&r);
    }
    run_free(&main_help);
}

void expect_usage(const how *h, const char *const *args, size_t n)
{
    run r;

    run_argv(&r, h, (char *const *)args);
    ck_assert_msg(
        r.code == 2 && r.outlen == 0 && strncmp(r.err, "tutorcache: ", 12) == 0,
        "case %zu: exit %d, stdout \"%s\", stderr %s", n, r.code, r.out, r.err);
    run_free(&r);
}

void expect_diagnostics(const run *r)
{
    const char *p = r->err;

    while (*p) {
        ck_assert_msg(strncmp(p, "tutorcache: ", 12) == 0,
                      "stderr line without the prefix: %s", p);
        p = strchr(p, '\n');
        ck_assert_ptr_nonnull(p);
        p++;
    }
}

cJSON *run_json(const run *r)
{
    const char *nl = memchr(r->out, '\n', r->outlen);
    cJSON *o;

    ck_assert_msg(nl != NULL && (size_t)(nl - r->out) + 1 == r->outlen,
                  "stdout is not one line: \"%s\"", r->out);
    o = cJSON_ParseWithLength(r->out, (size_t)(nl - r->out));
    ck_assert_msg(cJSON_IsObject(o), "stdout is not a JSON object: %s", r->out);
    return o;
}

void lines_parse(lines *ls, const char *text)
{
    const char *p = text, *nl;
    size_t cap = 0;

    memset(ls, 0, sizeof(*ls));
    while (*p) {
        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line without a newline: %s", p);
        if (ls->n == cap) {
            cap = cap ? cap * 2 : 16;
            ls->v = realloc(ls->v, cap * sizeof(*ls->v));
            ck_assert_ptr_nonnull(ls->v);
        }
        ls->v[ls->n] = cJSON_ParseWithLength(p, (size_t)(nl - p));
        ck_assert_msg(cJSON_IsObject(ls->v[ls->n]), "not a JSON object: %.*s",
                      (int)(nl - p), p);
        ls->n++;
        p = nl + 1;
    }
}

void lines_free(lines *ls)
{
    size_t i;

    for (i = 0; i < ls->n; i++) {
        cJSON_Delete(ls->v[i]);
    }
    free(ls->v);
    memset(ls, 0, sizeof(*ls));
}

void expect_lines(lines *ls, const run *r, int code, const char *err_part,
                  size_t n)
{
    expect(r, code, NULL, err_part);
    lines_parse(ls, r->out);
    if (n != LINES_ANY) {
        ck_assert_uint_eq(ls->n, n);
    }
}

void lines_run_free(lines *ls, run *r)
{
    lines_free(ls);
    run_free(r);
}

/* ---- the CLI suites' fixture --------------------------------------------- */

static char *g_home;       /* the test's HOME */
static char g_bin[4096];   /* the binary */
static char g_url[4200];   /* the default store: LMDB in g_home */
static char g_model[4200]; /* the case's example model */
static trs *g_srv;         /* the test's Redis, when it uses one */

void cli_setup(void)
{
    snprintf(g_bin, sizeof(g_bin), "%s/tutorcache", tt_build_dir());
    ck_assert_msg(access(g_bin, X_OK) == 0, "%s: not built (%s)", g_bin,
                  strerror(errno));
    ck_assert_msg(access(CLI_TRAIN_DATA, R_OK) == 0,
                  "run from the source tree: %s is needed", CLI_TRAIN_DATA);
    g_home = tt_test_dir();
    ck_assert_ptr_nonnull(g_home);
    snprintf(g_url, sizeof(g_url), "lmdb://%s/db", g_home);
    tt_cli.bin = g_bin;
    tt_cli.home = g_home;
    tt_cli.url = g_url;
    signal(SIGPIPE, SIG_IGN);
}

void cli_setup_nostore(void)
{
    cli_setup();
    tt_cli.url = NULL;
}

void cli_teardown(void)
{
    trs_stop(g_srv);
    g_srv = NULL;
    tt_cli.env = NULL; /* a test's own, gone with it */
    if (g_home) {
        tt_rmtree(g_home);
        free(g_home);
        g_home = NULL;
    }
}

const char *cli_home(void)
{
    return g_home;
}

trs *cli_redis_start(const char *extra_conf)
{
    const char *was = getenv("TMPDIR");
    char *tmpdir = was ? strdup(was) : NULL;

    ck_assert_msg(g_srv == NULL, "the test's Redis runs already");
    if (tt_case_dir()) {
        setenv("TMPDIR", tt_case_dir(), 1);
    }
    g_srv = trs_start(extra_conf);
    if (tmpdir) {
        setenv("TMPDIR", tmpdir, 1);
    } else {
        unsetenv("TMPDIR");
    }
    free(tmpdir);
    ck_assert_msg(g_srv != NULL, "redis-server did not start");
    return g_srv;
}

trs *cli_redis(void)
{
    return g_srv;
}

const char *cli_store_url(int k, char *buf, size_t n)
{
    switch (k) {
    case CLI_LMDB:
        snprintf(buf, n, "lmdb://%s/db", g_home);
        break;
    case CLI_MEMORY:
        snprintf(buf, n, "memory:");
        break;
    default:
        if (!g_srv) {
            cli_redis_start(NULL);
        }
        snprintf(buf, n, "%s",
                 k == CLI_REDIS ? trs_url(g_srv) : trs_unix_url(g_srv));
        break;
    }
    return buf;
}

const char *cli_model(void)
{
    how h = {0};
    run r;

    ck_assert_msg(tt_case_dir() != NULL, "cli_model() needs tt_case_setup()");
    snprintf(g_model, sizeof(g_model), "%s/intents.tcm", tt_case_dir());
    if (access(g_model, R_OK) == 0) {
        return g_model;
    }
    cli(&r, &h, "train", CLI_TRAIN_DATA, "-o", g_model, "--seed", "7",
        "--threads", "1");
    expect(&r, 0, NULL, "");
    run_free(&r);
    return g_model;
}

void cli_fingerprint(const char *path, char fp[64])
{
    how h = {0};
    cJSON *o;
    run r;

    cli(&r, &h, "model", "info", "--format", "json", path);
    expect(&r, 0, NULL, "");
    o = run_json(&r);
    snprintf(fp, 64, "%s", json_str(o, "fingerprint"));
    cJSON_Delete(o);
    run_free(&r);
}
