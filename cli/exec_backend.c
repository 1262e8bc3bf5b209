/*
 * exec_backend.c - an external classifier behind `--backend exec:COMMAND`:
 * one long-lived `/bin/sh -c COMMAND` child, fed one JSON request per line
 * on its stdin and read one JSON answer per line from its stdout. The
 * exchange is a strict lock-step (one request, one answer) under a mutex,
 * with a deadline, so that a dead, hung or chatty child costs at most the
 * request in flight: dead children are restarted once per request, hung
 * ones killed, and stale output is dropped before each request.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "exec_backend.h"

extern char **environ;

/* An answer longer than this is not one line of JSON a classifier sends. */
#define MAX_ANSWER ((size_t)1 << 20)

/* Remembered failures between two exec_backend_forget() calls. */
#define MAX_FAILURES 4096
#define MSG_MAX 320

/* How long close() lets the child exit on its own after EOF. */
#define CLOSE_GRACE_MS 500

typedef struct failure {
    char *text;
    size_t len;
    char msg[MSG_MAX];
} failure;

struct exec_backend {
    pthread_mutex_t mu;
    char *command;
    int timeout_ms;
    pid_t pid;      /* 0: no child running */
    int to_child;   /* its stdin; -1 when not running */
    int from_child; /* its stdout */
    char *rbuf;     /* bytes read from the child, not yet consumed */
    size_t rlen, rcap;
    unsigned starts;
    char status[96]; /* how the last child ended, for messages */
    failure *fail;
    size_t nfail;
};

/* Outcomes of one request/answer exchange. */
enum { XR_OK, XR_DIED, XR_TIMEOUT, XR_TOOLONG, XR_NOMEM };

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

/*
 * A pipe whose ends are above stderr: if this process runs with fd 0, 1
 * or 2 closed, a pipe end could land there and be clobbered by the
 * child's dup2() of the other end.
 */
static int pipe_high(int p[2])
{
    int i;

    if (pipe2(p, O_CLOEXEC) != 0) {
        return -1;
    }
    for (i = 0; i < 2; i++) {
        if (p[i] < 3) {
            int fd = fcntl(p[i], F_DUPFD_CLOEXEC, 3);

            if (fd < 0) {
                close(p[0]);
                close(p[1]);
                return -1;
            }
            close(p[i]);
            p[i] = fd;
        }
    }
    return 0;
}

static void describe_status(exec_backend *b, int st)
{
    if (WIFEXITED(st)) {
        snprintf(b->status, sizeof(b->status), "exited with status %d",
                 WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        snprintf(b->status, sizeof(b->status), "was killed by signal %d",
                 WTERMSIG(st));
    } else {
        snprintf(b->status, sizeof(b->status), "stopped");
    }
}

/*
 * Ends the child: closes our ends, waits up to grace_ms for it to exit on
 * its own, then kills its whole process group (the shell and whatever it
 * started) and reaps it, so that no zombie or orphan is left behind.
 */
static void stop_child(exec_backend *b, int grace_ms)
{
    int64_t until = now_ms() + grace_ms;
    int st = 0, killed = 0;
    pid_t r;

    if (b->to_child >= 0) {
        close(b->to_child);
        b->to_child = -1;
    }
    if (b->from_child >= 0) {
        close(b->from_child);
        b->from_child = -1;
    }
    b->rlen = 0;
    if (b->pid <= 0) {
        return;
    }
    for (;;) {
        r = waitpid(b->pid, &st, killed ? 0 : WNOHANG);
        if (r == b->pid || (r < 0 && errno != EINTR)) {
            break;
        }
        if (r == 0 && now_ms() >= until) {
            /* the group is the child's own, made at fork */
            if (kill(-b->pid, SIGKILL) != 0) {
                kill(b->pid, SIGKILL);
            }
            killed = 1;
        } else if (r == 0) {
            sleep_ms(2);
        }
    }
    if (r == b->pid) {
        describe_status(b, st);
    } else {
        snprintf(b->status, sizeof(b->status), "could not be reaped");
    }
    /*
     * Whatever the shell started and left behind dies with it. The group
     * id cannot have been reused: Linux keeps a PID while a group of that
     * id has members, and an empty group makes this an ESRCH.
     */
    kill(-b->pid, SIGKILL);
    b->pid = 0;
}

static int start_child(exec_backend *b, char *why, size_t n)
{
    int in[2], out[2];
    pid_t pid;

    if (pipe_high(in) != 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe_high(out) != 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(why, n, "fork: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return -1;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        struct sigaction sa;
        sigset_t none;
        char *argv[4];

        /* Its own group, so that a timeout kills what the shell started. */
        setpgid(0, 0);
        /* We ignore SIGPIPE; the command should not inherit that. */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &sa, NULL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0) {
            _exit(127);
        }
        /* The cache's own descriptors (LMDB, Redis) stay with us. */
        if (close_range(3, ~0U, 0) != 0) {
            int fd;

            for (fd = 3; fd < 1024; fd++) {
                close(fd);
            }
        }
        argv[0] = "sh";
        argv[1] = "-c";
        argv[2] = b->command;
        argv[3] = NULL;
        execve("/bin/sh", argv, environ);
        _exit(127);
    }
    /* Both sides set the group, so that no kill can come before it. */
    setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    b->pid = pid;
    b->to_child = in[1];
    b->from_child = out[0];
    b->rlen = 0;
    b->status[0] = '\0';
    b->starts++;
    fcntl(b->to_child, F_SETFL, fcntl(b->to_child, F_GETFL) | O_NONBLOCK);
    fcntl(b->from_child, F_SETFL, fcntl(b->from_child, F_GETFL) | O_NONBLOCK);
    return 0;
}

/*
 * Drops whatever the child wrote that no request asked for (a second
 * line, a banner), so that each answer read is the answer to the request
 * just sent. XR_DIED when the child's stdout is closed.
 */
static int drop_stale(exec_backend *b)
{
    char junk[4096];
    ssize_t r;

    b->rlen = 0;
    for (;;) {
        r = read(b->from_child, junk, sizeof(junk));
        if (r > 0) {
            continue;
        }
        if (r == 0) {
            return XR_DIED;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? XR_OK : XR_DIED;
    }
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {fd, events, 0};
    int64_t left;
    int r;

    for (;;) {
        left = deadline - now_ms();
        if (left <= 0) {
            return 0;
        }
        r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

static int write_all(exec_backend *b, const char *p, size_t n, int64_t deadline)
{
    ssize_t w;

    while (n > 0) {
        w = write(b->to_child, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(b->to_child, POLLOUT, deadline);

            if (r == 0) {
                return XR_TIMEOUT;
            }
            if (r < 0) {
                return XR_DIED;
            }
            continue;
        }
        /* EPIPE: nobody reads the other end any more */
        return XR_DIED;
    }
    return XR_OK;
}

/* Reads up to the first newline; *linelen excludes it. */
static int read_line(exec_backend *b, size_t *linelen, int64_t deadline)
{
    size_t scanned = 0;
    char *nl;
    ssize_t r;

    for (;;) {
        nl = b->rlen > scanned
                 ? memchr(b->rbuf + scanned, '\n', b->rlen - scanned)
                 : NULL;
        if (nl) {
            *linelen = (size_t)(nl - b->rbuf);
            return XR_OK;
        }
        scanned = b->rlen;
        if (b->rlen > MAX_ANSWER) {
            return XR_TOOLONG;
        }
        if (b->rcap - b->rlen < 4096) {
            size_t cap = b->rcap ? b->rcap * 2 : 8192;
            char *nb = realloc(b->rbuf, cap);

            if (!nb) {
                return XR_NOMEM;
            }
            b->rbuf = nb;
            b->rcap = cap;
        }
        r = read(b->from_child, b->rbuf + b->rlen, b->rcap - b->rlen);
        if (r > 0) {
            b->rlen += (size_t)r;
        } else if (r == 0) {
            return XR_DIED;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(b->from_child, POLLIN, deadline);

            if (w == 0) {
                return XR_TIMEOUT;
            }
            if (w < 0) {
                return XR_DIED;
            }
        } else if (errno != EINTR) {
            return XR_DIED;
        }
    }
}

/* One request and its answer line, within the timeout. */
static int exchange(exec_backend *b, const char *req, size_t reqlen,
                    size_t *linelen)
{
    int64_t deadline = now_ms() + b->timeout_ms;
    int rc;

    if ((rc = drop_stale(b)) != XR_OK) {
        return rc;
    }
    if ((rc = write_all(b, req, reqlen, deadline)) != XR_OK) {
        return rc;
    }
    return read_line(b, linelen, deadline);
}

static int failf(char *why, size_t n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int failf(char *why, size_t n, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return code;
}

/*
 * Checks one answer line and turns it into the JSON the library caches:
 * an object with a non-empty "intent" string and a "confidence" in 0..1,
 * "top" (when present) an array of {"label": string, "score": number}.
 * An answer {"error": "..."} is the child's own refusal and says so.
 */
static int check_answer(char **json, const char *line, size_t len, char *why,
                        size_t n)
{
    cJSON *root, *f, *it;
    char *text;
    int rc = TC_EPROTO;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) {
        len--;
    }
    root = cJSON_ParseWithLength(line, len);
    if (!root || !cJSON_IsObject(root)) {
        failf(why, n, 0, "the backend's answer is not a JSON object: %.*s%s",
              (int)(len > 80 ? 80 : len), line, len > 80 ? "..." : "");
        goto done;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsString(f) &&
        !cJSON_GetObjectItemCaseSensitive(root, "intent")) {
        failf(why, n, 0, "the backend answered an error: %.200s",
              f->valuestring);
        goto done;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "intent");
    if (!cJSON_IsString(f) || !f->valuestring[0]) {
        failf(why, n, 0, "the backend's answer has no \"intent\" string");
        goto done;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "confidence");
    if (!cJSON_IsNumber(f) || !(f->valuedouble >= 0 && f->valuedouble <= 1)) {
        failf(why, n, 0,
              "the backend's answer has no \"confidence\" number in 0..1");
        goto done;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "top");
    if (f && !cJSON_IsArray(f)) {
        failf(why, n, 0,
              "the backend's answer has a \"top\" that is not an array");
        goto done;
    }
    cJSON_ArrayForEach(it, f)
    {
        cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "label");
        cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "score");

        if (!cJSON_IsString(l) || !cJSON_IsNumber(s) ||
            !isfinite(s->valuedouble)) {
            failf(
                why, n, 0,
                "the backend's answer has a \"top\" with something other than "
                "{\"label\": string, \"score\": number}");
            goto done;
        }
    }
    /* Printed again: one line, no stray white space, in the cache. */
    if (!(text = cJSON_PrintUnformatted(root))) {
        rc = failf(why, n, TC_ENOMEM, "out of memory");
        goto done;
    }
    if ((*json = tc_malloc(strlen(text) + 1))) {
        memcpy(*json, text, strlen(text) + 1);
        rc = TC_OK;
    } else {
        rc = failf(why, n, TC_ENOMEM, "out of memory");
    }
    cJSON_free(text);
done:
    cJSON_Delete(root);
    return rc;
}

/* Keeps why TEXT failed, for exec_backend_error(). */
static void remember(exec_backend *b, const char *text, size_t len,
                     const char *why)
{
    failure *f;

    if (b->nfail >= MAX_FAILURES) {
        return;
    }
    if (!b->fail && !(b->fail = calloc(MAX_FAILURES, sizeof(*b->fail)))) {
        return;
    }
    f = &b->fail[b->nfail];
    if (!(f->text = malloc(len + 1))) {
        return;
    }
    memcpy(f->text, text, len);
    f->text[len] = '\0';
    f->len = len;
    snprintf(f->msg, sizeof(f->msg), "%s", why);
    b->nfail++;
}

/* The request line: {"text":"..."} and a newline. */
static char *request_line(const char *text, size_t len, size_t *reqlen)
{
    char *copy = malloc(len + 1), *body, *line = NULL;
    cJSON *o;

    if (!copy) {
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "text", copy) &&
        (body = cJSON_PrintUnformatted(o))) {
        *reqlen = strlen(body) + 1;
        if ((line = malloc(*reqlen + 1))) {
            memcpy(line, body, *reqlen - 1);
            line[*reqlen - 1] = '\n';
            line[*reqlen] = '\0';
        }
        cJSON_free(body);
    }
    cJSON_Delete(o);
    free(copy);
    return line;
}

static int classify_locked(exec_backend *b, char **json, const char *text,
                           size_t len, char *why, size_t n)
{
    size_t reqlen = 0, linelen = 0;
    char *req;
    int attempt, x = XR_DIED, rc;

    if (!(req = request_line(text, len, &reqlen))) {
        return failf(why, n, TC_ENOMEM, "out of memory");
    }
    /* A child that died is restarted once and asked again. */
    for (attempt = 0; attempt < 2; attempt++) {
        if (b->pid == 0 && start_child(b, why, n) != 0) {
            free(req);
            return TC_EIO;
        }
        x = exchange(b, req, reqlen, &linelen);
        if (x != XR_DIED) {
            break;
        }
        stop_child(b, 100);
    }
    free(req);
    switch (x) {
    case XR_OK:
        rc = check_answer(json, b->rbuf, linelen, why, n);
        /* the answer is consumed; anything after it is stale */
        b->rlen = 0;
        return rc;
    case XR_DIED:
        return failf(why, n, TC_EIO,
                     "the backend %s without answering, twice in a row",
                     b->status[0] ? b->status : "closed its output");
    case XR_TIMEOUT:
        /* killed now; the next request starts a fresh one */
        stop_child(b, 0);
        return failf(why, n, TC_ETIMEOUT,
                     "no answer from the backend within %d ms; it was "
                     "killed and will be restarted",
                     b->timeout_ms);
    case XR_TOOLONG:
        stop_child(b, 0);
        return failf(why, n, TC_EPROTO,
                     "the backend's answer is longer than %zu bytes without "
                     "a newline; it was killed and will be restarted",
                     MAX_ANSWER);
    default:
        /* a half-read answer: the stream is out of step, so start over */
        stop_child(b, 0);
        return failf(why, n, TC_ENOMEM, "out of memory");
    }
}

int exec_backend_classify(char **json, const char *text, size_t len,
                          void *userdata)
{
    exec_backend *b = userdata;
    char why[MSG_MAX];
    int rc;

    *json = NULL;
    why[0] = '\0';
    pthread_mutex_lock(&b->mu);
    rc = classify_locked(b, json, text, len, why, sizeof(why));
    if (rc != TC_OK) {
        remember(b, text, len, why);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int exec_backend_open(exec_backend **out, const char *command, int timeout_ms,
                      char *errbuf, size_t errlen)
{
    exec_backend *b;

    *out = NULL;
    if (!command || !*command) {
        snprintf(errbuf, errlen, "exec: the command is empty");
        return -1;
    }
    if (timeout_ms <= 0) {
        snprintf(errbuf, errlen, "exec: the timeout must be positive");
        return -1;
    }
    if (!(b = calloc(1, sizeof(*b))) || !(b->command = strdup(command))) {
        free(b);
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->timeout_ms = timeout_ms;
    b->to_child = b->from_child = -1;
    /*
     * A write to a child that died raises SIGPIPE, which would end this
     * process; ignored, it is an EPIPE we can restart from. Started
     * lazily: a run answered from the cache never needs the child.
     */
    signal(SIGPIPE, SIG_IGN);
    *out = b;
    return 0;
}

void exec_backend_forget(exec_backend *b)
{
    size_t i;

    pthread_mutex_lock(&b->mu);
    for (i = 0; i < b->nfail; i++) {
        free(b->fail[i].text);
        b->fail[i].text = NULL;
    }
    b->nfail = 0;
    pthread_mutex_unlock(&b->mu);
}

void exec_backend_error(exec_backend *b, const char *text, size_t len,
                        char *buf, size_t n)
{
    size_t i;

    if (n == 0) {
        return;
    }
    buf[0] = '\0';
    pthread_mutex_lock(&b->mu);
    /* the latest failure of that text is the one that counted */
    for (i = b->nfail; i-- > 0;) {
        if (b->fail[i].len == len && memcmp(b->fail[i].text, text, len) == 0) {
            snprintf(buf, n, "%s", b->fail[i].msg);
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
}

unsigned exec_backend_starts(exec_backend *b)
{
    unsigned n;

    pthread_mutex_lock(&b->mu);
    n = b->starts;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void exec_backend_close(exec_backend *b)
{
    if (!b) {
        return;
    }
    stop_child(b, CLOSE_GRACE_MS);
    exec_backend_forget(b);
    free(b->fail);
    free(b->rbuf);
    free(b->command);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

const char *exec_backend_command(const char *arg)
{
    return strncmp(arg, "exec:", 5) == 0 && arg[5] ? arg + 5 : NULL;
}

/* 64-bit FNV-1a: a short, stable name for a long command. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    }
    return h;
}

void exec_backend_version(char *buf, size_t n, const char *command)
{
    size_t keep = 60;

    if (strlen(command) + 5 <= EXEC_BACKEND_VERSION_MAX) {
        snprintf(buf, n, "exec:%s", command);
        return;
    }
    while (keep > 0 && ((unsigned char)command[keep] & 0xC0) == 0x80) {
        keep--;
    }
    snprintf(buf, n, "exec:%.*s#%016llx", (int)keep, command,
             (unsigned long long)fnv1a(command));
}
