/*
 * redis_fixture.c - a private redis-server per test case. It runs from a
 * generated config in its own temp dir, on a loopback port found free by
 * binding port 0 and on a unix socket in that dir, with no persistence;
 * the kernel kills it if the test process dies before trs_stop().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "redis_fixture.h"
#include "suites.h"

#define START_TRIES 5
#define READY_WAIT_MS 5000

struct trs {
    pid_t pid;
    int port;
    char *dir;
    char *conf;
    char *sock;
    char *password; /* from "requirepass X" in the extra config */
    int tls;        /* the port serves TLS (trs_start_tls) */
    char url[64];
    char *unix_url;
};

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p) {
        snprintf(p, n, "%s/%s", dir, name);
    }
    return p;
}

static char *find_password(const char *conf)
{
    const char *p = conf;
    size_t n;
    char *pw;

    while (p && *p) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (strncmp(p, "requirepass", 11) == 0 &&
            (p[11] == ' ' || p[11] == '\t')) {
            p += 11;
            while (*p == ' ' || *p == '\t') {
                p++;
            }
            n = strcspn(p, " \t\r\n");
            pw = malloc(n + 1);
            if (pw) {
                memcpy(pw, p, n);
                pw[n] = '\0';
            }
            return pw;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

static int write_conf(trs *s, const char *extra)
{
    FILE *f = fopen(s->conf, "w");

    if (!f) {
        return -1;
    }
    fprintf(f, s->tls ? "port 0\ntls-port %d\n" : "port %d\n", s->port);
    fprintf(f,
            "bind 127.0.0.1\nunixsocket %s\nunixsocketperm 700\n"
            "dir %s\nsave 3600 1\nappendonly no\ndaemonize no\n"
            "logfile %s/redis.log\nloglevel warning\n%s\n",
            s->sock, s->dir, s->dir, extra ? extra : "");
    return fclose(f) == 0 ? 0 : -1;
}

static redisContext *connect_unix(const trs *s, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectUnixWithTimeout(s->sock, tv);
    redisReply *r;

    if (!c || c->err) {
        redisFree(c);
        return NULL;
    }
    if (s->password) {
        r = redisCommand(c, "AUTH %s", s->password);
        freeReplyObject(r);
    }
    return c;
}

/* Any reply to PING, even NOAUTH, means the server is serving. */
static int answers(const trs *s)
{
    redisContext *c = connect_unix(s, 500);
    redisReply *r;
    int ok;

    if (!c) {
        return 0;
    }
    r = redisCommand(c, "PING");
    ok = r != NULL;
    freeReplyObject(r);
    redisFree(c);
    return ok;
}

/*
 * Forks and execs redis-server, then waits until it answers. Returns 0
 * when it serves, 1 when it exited (a port clash, usually), -1 otherwise.
 */
static int spawn(trs *s)
{
    long deadline;
    int status, fd;
    pid_t w, parent;

    parent = getpid();
    s->pid = fork();
    if (s->pid < 0) {
        return -1;
    }
    if (s->pid == 0) {
        /* The parent thread is the test; its death takes the server
         * down, so no server outlives a crashed test. A parent that died
         * before the prctl() is caught by the getppid() check. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
            _exit(127);
        }
        fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execlp("redis-server", "redis-server", s->conf, (char *)NULL);
        _exit(127);
    }
    deadline = tt_now_ms() + READY_WAIT_MS;
    while (tt_now_ms() < deadline) {
        w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid) {
            s->pid = -1;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
                fprintf(stderr, "redis fixture: cannot run redis-server\n");
                return -1;
            }
            return 1;
        }
        if (answers(s)) {
            return 0;
        }
        tt_sleep_ms(10);
    }
    trs_kill(s);
    return -1;
}

static void print_log(const trs *s)
{
    char *log = path_join(s->dir, "redis.log");
    char line[512];
    FILE *f = log ? fopen(log, "r") : NULL;

    fprintf(stderr, "redis fixture: redis-server did not start\n");
    while (f && fgets(line, sizeof(line), f)) {
        fprintf(stderr, "  %s", line);
    }
    if (f) {
        fclose(f);
    }
    free(log);
}

static trs *start(const char *extra_conf, int tls)
{
    trs *s = calloc(1, sizeof(*s));
    int rc = -1;
    size_t n;

    if (!s) {
        return NULL;
    }
    s->pid = -1;
    s->tls = tls;
    s->dir = tt_mkdtemp();
    if (!s->dir) {
        fprintf(stderr, "redis fixture: mkdtemp: %s\n", strerror(errno));
        free(s);
        return NULL;
    }
    s->conf = path_join(s->dir, "redis.conf");
    s->sock = path_join(s->dir, "redis.sock");
    n = strlen(s->sock) + 8;
    s->unix_url = malloc(n);
    s->password = find_password(extra_conf);
    if (!s->conf || !s->sock || !s->unix_url) {
        trs_stop(s);
        return NULL;
    }
    snprintf(s->unix_url, n, "unix://%s", s->sock);
    for (int i = 0; i < START_TRIES; i++) {
        s->port = tt_free_port();
        if (s->port <= 0 || write_conf(s, extra_conf) != 0) {
            break;
        }
        rc = spawn(s);
        if (rc != 1) {
            break;
        }
    }
    if (rc != 0) {
        print_log(s);
        trs_stop(s);
        return NULL;
    }
    snprintf(s->url, sizeof(s->url), "redis%s://127.0.0.1:%d", tls ? "s" : "",
             s->port);
    return s;
}

trs *trs_start(const char *extra_conf)
{
    return start(extra_conf, 0);
}

trs *trs_start_tls(const char *extra_conf)
{
    return start(extra_conf, 1);
}

const char *trs_url(const trs *s)
{
    return s->url;
}

const char *trs_unix_url(const trs *s)
{
    return s->unix_url;
}

int trs_port(const trs *s)
{
    return s->port;
}

void trs_kill(trs *s)
{
    if (s && s->pid > 0) {
        kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        s->pid = -1;
    }
}

/*
 * The port was ours a moment ago and the server sets SO_REUSEADDR, so a
 * clash is unlikely; a few attempts cover a slow release of the socket.
 */
int trs_restart(trs *s)
{
    int rc = -1;

    trs_kill(s);
    for (int i = 0; i < START_TRIES && rc != 0; i++) {
        rc = spawn(s);
        if (rc == 1) {
            tt_sleep_ms(50);
        }
    }
    if (rc != 0) {
        print_log(s);
    }
    return rc == 0 ? 0 : -1;
}

static char *reply_text(const redisReply *r)
{
    char buf[32];
    char *out, *el, *grown;
    size_t n = 1;

    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        out = malloc(r->len + 1);
        if (out) {
            memcpy(out, r->str, r->len);
            out[r->len] = '\0';
        }
        return out;
    case REDIS_REPLY_INTEGER:
        snprintf(buf, sizeof(buf), "%lld", r->integer);
        return strdup(buf);
    case REDIS_REPLY_NIL:
        return strdup("(nil)");
    default:
        /* An array: its elements' texts, one a line. */
        out = calloc(1, 1);
        for (size_t i = 0; out && i < r->elements; i++) {
            el = reply_text(r->element[i]);
            n += (el ? strlen(el) : 0) + 1;
            grown = el ? realloc(out, n) : NULL;
            if (grown) {
                out = grown;
                strcat(out, el);
                strcat(out, "\n");
            }
            free(el);
        }
        return out;
    }
}

char *trs_cmd(trs *s, const char *fmt, ...)
{
    redisContext *c = connect_unix(s, 5000);
    redisReply *r;
    char *out = NULL;
    va_list ap;

    if (!c) {
        return NULL;
    }
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r) {
        out = reply_text(r);
        freeReplyObject(r);
    }
    redisFree(c);
    return out;
}

void trs_stop(trs *s)
{
    if (!s) {
        return;
    }
    trs_kill(s);
    if (s->dir) {
        tt_rmtree(s->dir);
    }
    free(s->dir);
    free(s->conf);
    free(s->sock);
    free(s->password);
    free(s->unix_url);
    free(s);
}
