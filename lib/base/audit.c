/*
 * audit.c - the audit trail's writer. Each line is formatted on the stack
 * (tc__json_line) and appended with one write(2) on an O_APPEND
 * descriptor, so it is on its way to disk when the call returns, and lines
 * of threads and processes sharing the file never mix. Rotation does not
 * use a signal handler of the library's: the host's handler calls
 * tc_audit_reopen(), which only bumps a generation, and the next line
 * reopens the file by name under the trail's lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/audit.h"

#define AUDIT_LINE_MAX 1024

struct tc__audit {
    pthread_mutex_t lock; /* the descriptor, across a reopen */
    int fd;
    unsigned gen; /* reopen_gen when fd was opened */
    int reads;
    char *path;
    const tc__logger *lg;
    tc__ratelimit failed;
};

static atomic_uint reopen_gen;
static _Thread_local char actor_tls[TC__AUDIT_ACTOR_MAX + 1];

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

int tc__audit_open(tc__audit **out, const char *path, int reads,
                   const tc__logger *lg, tc__err *err)
{
    tc__audit *a;

    *out = NULL;
    if (!(a = tc__calloc(1, sizeof(*a))) || !(a->path = tc__strdup(path))) {
        tc__free(a);
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    a->gen = atomic_load(&reopen_gen);
    if ((a->fd = open_log(path)) < 0) {
        int e = errno;

        tc__free(a->path);
        tc__free(a);
        return tc__errf(err, TC_EIO, "audit_log %s: %s", path, strerror(e));
    }
    pthread_mutex_init(&a->lock, NULL);
    a->reads = reads;
    a->lg = lg;
    *out = a;
    return TC_OK;
}

void tc__audit_close(tc__audit *a)
{
    if (!a) {
        return;
    }
    close(a->fd);
    pthread_mutex_destroy(&a->lock);
    tc__free(a->path);
    tc__free(a);
}

int tc__audit_reads(const tc__audit *a)
{
    return a && a->reads;
}

void tc__audit_actor(const char *actor)
{
    size_t n = actor ? strlen(actor) : 0;

    if (n > TC__AUDIT_ACTOR_MAX) {
        /* cut where a UTF-8 character starts, never inside one: a
         * continuation byte (10xxxxxx) at the cut moves it back */
        n = TC__AUDIT_ACTOR_MAX;
        while (n > 0 && ((unsigned char)actor[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(actor_tls, actor ? actor : "", n);
    actor_tls[n] = '\0';
}

void tc__audit_reopen(void)
{
    atomic_fetch_add(&reopen_gen, 1);
}

static const char *outcome_name(int rc)
{
    if (rc == TC_OK) {
        return "ok";
    }
    if (rc == TC_MISS) {
        return "miss";
    }
    return tc__error_name(rc);
}

/* Under the lock: a new descriptor on the path when a reopen was asked.
 * Should the open fail, the old descriptor stays (its file was renamed,
 * not lost) and the next line tries again. */
static int reopen_if_asked(tc__audit *a)
{
    unsigned g = atomic_load(&reopen_gen);
    int fd;

    if (g == a->gen) {
        return 0;
    }
    if ((fd = open_log(a->path)) < 0) {
        return errno;
    }
    close(a->fd);
    a->fd = fd;
    a->gen = g;
    return 0;
}

void tc__audit_write(tc__audit *a, const tc__audit_ev *ev)
{
    char line[AUDIT_LINE_MAX], count[24];
    const char *f[16];
    size_t i = 0, n, len;
    ssize_t w;
    int e;

    if (!a) {
        return;
    }
    f[i++] = "op";
    f[i++] = ev->op;
    if (ev->ns) {
        f[i++] = "ns";
        f[i++] = ev->ns;
    }
    if (ev->key) {
        f[i++] = "key";
        f[i++] = ev->key;
    }
    if (ev->detail) {
        f[i++] = "detail";
        f[i++] = ev->detail;
    }
    if (ev->count >= 0) {
        snprintf(count, sizeof(count), "%lld", (long long)ev->count);
        f[i++] = "#count";
        f[i++] = count;
    }
    if (actor_tls[0]) {
        f[i++] = "actor";
        f[i++] = actor_tls;
    }
    f[i++] = "outcome";
    f[i++] = outcome_name(ev->outcome);
    f[i] = NULL;
    n = tc__json_line(line, sizeof(line) - 1, NULL, f);
    line[n++] = '\n';
    pthread_mutex_lock(&a->lock);
    e = reopen_if_asked(a);
    for (len = 0; len < n && !e; len += (size_t)w) {
        /* one write in practice: a regular file takes it whole */
        if ((w = write(a->fd, line + len, n - len)) < 0) {
            e = errno == EINTR ? 0 : errno;
            w = 0;
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (e) {
        const char *lf[] = {"path", a->path, "error", strerror(e), NULL};

        tc__log_limited(a->lg, &a->failed, TC_LOG_ERROR, "audit_write_failed",
                        lf);
    }
}
