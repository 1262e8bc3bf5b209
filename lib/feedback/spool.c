/*
 * spool.c - feedback accepted while the store could not be reached: one
 * line of canonical record JSON per record in <spool_dir>/feedback.spool,
 * appended and fsync'd before the submitting call returns, and replayed
 * in order through the store's put once it answers. With encryption at
 * rest on, a line is the record sealed as the store keeps it
 * (fbseal.c): the spool is at rest on disk too.
 *
 * The file is never renamed or unlinked, only appended to and truncated,
 * and every append and every replay holds flock(LOCK_EX) on it, so
 * processes sharing the directory neither interleave lines nor lose an
 * append made during a replay. A replay that stops half way (the store
 * went down again, the process died) leaves the file whole: put is
 * idempotent by id, so the part already stored is skipped next time, not
 * stored twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "feedback/feedback.h"
#include "base/linereader.h"
#include "base/sbuf.h"

#define SPOOL_NAME TC__SPOOL_NAME
#define BAD_NAME "feedback.spool.bad"
#define CHECK_EVERY_MS 1000

/* This process appended lines that no replay has taken since. */
static _Atomic int spool_hint;
/* When this process last looked at the spool (tc__now_ms). */
static _Atomic int64_t spool_checked_ms = INT64_MIN / 2;

int tc__spool_pending(void)
{
    return atomic_load_explicit(&spool_hint, memory_order_relaxed);
}

static int spool_path(tc__fb *fb, char *buf, size_t n, const char *name)
{
    const char *dir = fb->cfg->spool_dir;

    if (!dir || !*dir) {
        return -1;
    }
    return snprintf(buf, n, "%s/%s", dir, name) < (int)n ? 0 : -1;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/*
 * mkdir -p with mode 0700; each directory created is made durable by an
 * fsync of its parent, so a power loss cannot drop the spool's directory
 * after its first line was acknowledged.
 */
static int mkdirs(const char *dir, tc__err *err)
{
    char p[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p)) {
        return tc__errf(err, TC_EIO, "spool directory: bad path");
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') {
            continue;
        }
        p[i] = '\0';
        if (mkdir(p, 0700) == 0) {
            char *slash = strrchr(p, '/');

            if (slash == p) {
                fsync_dir("/");
            } else if (slash) {
                *slash = '\0';
                fsync_dir(p);
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            return tc__errf(err, TC_EIO, "spool: cannot create %s: %s", p,
                            strerror(errno));
        }
        p[i] = i < n ? '/' : '\0';
    }
    return TC_OK;
}

static int lock_ex(int fd)
{
    int rc;

    do {
        rc = flock(fd, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Opens (creating) a file of the spool directory for appending. */
static int open_append(tc__fb *fb, const char *name, int *created, tc__err *err)
{
    const char *dir = fb->cfg->spool_dir;
    char path[4096];
    int fd, rc;

    *created = 0;
    if (spool_path(fb, path, sizeof(path), name) != 0) {
        tc__errf(err, TC_EIO,
                 "no spool directory (config \"spool_dir\" or "
                 "TUTORCACHE_SPOOL_DIR)");
        return -1;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if ((rc = mkdirs(dir, err)) != TC_OK) {
            return -1;
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
                  0600);
        if (fd >= 0) {
            *created = 1;
        } else if (errno == EEXIST) {
            fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        }
    }
    if (fd < 0) {
        tc__errf(err, TC_EIO, "spool %s: %s", path, strerror(errno));
    }
    return fd;
}

/*
 * Appends buf (whole lines) to a spool file under its lock and fsyncs it.
 * A file left ending in a torn line (a crash mid-write) gets a newline
 * first, so the torn line stays one bad line and never swallows a good
 * one; a failed write is cut back off, leaving no torn line of its own.
 */
static int append_locked(tc__fb *fb, const char *name, const char *buf,
                         size_t len, int set_hint, tc__err *err)
{
    struct stat st;
    char last = '\n';
    int created, fd, rc = TC_OK;

    fd = open_append(fb, name, &created, err);
    if (fd < 0) {
        return TC_EIO;
    }
    if (lock_ex(fd) != 0 || fstat(fd, &st) != 0) {
        rc = tc__errf(err, TC_EIO, "spool %s: %s", name, strerror(errno));
        goto done;
    }
    if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1) {
        last = '\n';
    }
    if ((last != '\n' && write_all(fd, "\n", 1) != 0) ||
        write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        rc = tc__errf(err, TC_EIO, "spool %s: %s", name, strerror(errno));
        if (ftruncate(fd, st.st_size) != 0) {
            /* the torn line will go to feedback.spool.bad on replay */
        }
        goto done;
    }
    if (created && fsync_dir(fb->cfg->spool_dir) != 0) {
        rc = tc__errf(err, TC_EIO, "spool %s: fsync of the directory: %s",
                      fb->cfg->spool_dir, strerror(errno));
        goto done;
    }
    if (set_hint) {
        /* under the lock: a replay that truncates holds it too */
        atomic_store(&spool_hint, 1);
    }
done:
    close(fd); /* releases the lock */
    return rc;
}

int tc__spool_append(tc__fb *fb, const tc__fb_rec *recs, size_t n, tc__err *err)
{
    tc__sb b = {NULL, 0, 0, 0};
    int rc;

    for (size_t i = 0; i < n; i++) {
        char *sealed; /* the record as the store would keep it */
        size_t slen;

        if (tc__fb_seal_rec(fb, &recs[i], &sealed, &slen) != TC_OK) {
            b.oom = 1;
            break;
        }
        tc__sb_put(&b, sealed ? sealed : recs[i].json,
                   sealed ? slen : recs[i].len);
        tc__sb_put(&b, "\n", 1);
        tc__free(sealed);
    }
    if (b.oom) {
        tc__free(b.p);
        return tc__errf(err, TC_ENOMEM, "spool: out of memory");
    }
    rc = append_locked(fb, SPOOL_NAME, b.p, b.len, 1, err);
    tc__free(b.p);
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

/* A spool line that is not a record goes aside, with a log line. */
static int move_bad(tc__fb *fb, const char *line, size_t len, uint64_t lineno,
                    const char *why, tc__err *err)
{
    char *copy = tc__malloc(len + 1);
    char num[24];
    int rc;

    if (!copy) {
        return tc__errf(err, TC_ENOMEM, "spool: out of memory");
    }
    memcpy(copy, line, len);
    copy[len] = '\n';
    rc = append_locked(fb, BAD_NAME, copy, len + 1, 0, err);
    tc__free(copy);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)lineno);
    {
        const char *fields[] = {"spool",    fb->cfg->spool_dir,
                                "#line",    num,
                                "error",    why,
                                "moved_to", rc == TC_OK ? BAD_NAME : "nowhere",
                                NULL};

        tc__log(fb->log, TC_LOG_ERROR, "feedback_spool_bad_line", fields);
    }
    return rc;
}

typedef struct replay {
    tc__fb_rec recs[TC__FB_BATCH];
    tc__fb_put items[TC__FB_BATCH];
    size_t n;
    uint64_t stored, dups;
} replay;

static int replay_flush(tc__fb *fb, replay *r, tc__err *err)
{
    int rc = TC_OK;

    if (r->n > 0) {
        rc = tc__fb_put_recs(fb, r->recs, r->n, r->items, err);
        for (size_t i = 0; rc == TC_OK && i < r->n; i++) {
            if (r->items[i].status == TC_MISS) {
                r->dups++;
            } else {
                r->stored++;
            }
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        tc__fb_rec_free(&r->recs[i]);
    }
    r->n = 0;
    return rc;
}

/* One spool line into the batch, or aside when it is not a record. */
static int replay_line(tc__fb *fb, replay *r, const char *line, size_t len,
                       int toolong, uint64_t lineno, tc__err *err)
{
    tc__fb_in in;
    tc__err why;
    void *tree = NULL;
    char *opened = NULL; /* a sealed line, opened */
    size_t olen = 0;
    int rc;

    why.msg[0] = '\0';
    if (toolong) {
        return move_bad(fb, line, len, lineno,
                        "longer than 1 MiB; its first MiB was moved", err);
    }
    rc = tc__fb_open_line(fb, line, len, &opened, &olen);
    if (rc == TC_ECORRUPT) {
        tc__free(opened);
        return move_bad(fb, line, len, lineno,
                        "sealed, and does not open with the keys held", err);
    }
    if (rc == TC_ENOMEM) {
        return tc__errf(err, rc, "spool line %llu: out of memory",
                        (unsigned long long)lineno);
    }
    rc = tc__fb_parse_json(&in, &tree, opened ? opened : line,
                           opened ? olen : len, 1, &why);
    if (rc == TC_OK) {
        rc = tc__fb_build(&r->recs[r->n], fb, &in, &why);
    }
    cJSON_Delete(tree);
    tc__free(opened);
    if (rc == TC_ENOMEM || rc == TC_ENONS) {
        return tc__errf(err, rc, "spool line %llu: %s",
                        (unsigned long long)lineno, why.msg);
    }
    if (rc != TC_OK) {
        return move_bad(fb, line, len, lineno, why.msg, err);
    }
    r->n++;
    return TC_OK;
}

static int replay_locked(tc__fb *fb, int fd, replay *r, tc__err *err)
{
    tc__lines lr;
    char *line;
    size_t len;
    int toolong, rc = TC_OK, got;

    tc__lines_init_fd(&lr, fd);
    while ((got = tc__lines_next(&lr, &line, &len, &toolong)) == 1) {
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            continue;
        }
        if ((rc = replay_line(fb, r, line, len, toolong, lr.lineno, err)) !=
            TC_OK) {
            break;
        }
        if (r->n == TC__FB_BATCH && (rc = replay_flush(fb, r, err)) != TC_OK) {
            break;
        }
    }
    if (got < 0 && rc == TC_OK) {
        rc = tc__errf(err, got, "reading the spool: %s",
                      got == TC_EIO ? strerror(errno) : "out of memory");
    }
    if (rc == TC_OK) {
        rc = replay_flush(fb, r, err);
    } else {
        for (size_t i = 0; i < r->n; i++) {
            tc__fb_rec_free(&r->recs[i]);
        }
        r->n = 0;
    }
    tc__lines_free(&lr);
    return rc;
}

int tc__spool_replay(tc__fb *fb, int force, tc__err *err)
{
    char path[4096], n1[24], n2[24];
    struct stat st;
    replay *r;
    int fd, rc;

    if (!force && !tc__spool_pending()) {
        int64_t now = tc__now_ms();
        int64_t last =
            atomic_load_explicit(&spool_checked_ms, memory_order_relaxed);

        if (now - last < CHECK_EVERY_MS ||
            !atomic_compare_exchange_strong(&spool_checked_ms, &last, now)) {
            return TC_OK;
        }
    }
    if (spool_path(fb, path, sizeof(path), SPOOL_NAME) != 0) {
        return TC_OK;
    }
    if (stat(path, &st) == 0 ? st.st_size == 0 : errno == ENOENT) {
        return TC_OK; /* the common case: one stat, no lock */
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? TC_OK
                               : tc__errf(err, TC_EIO, "spool %s: %s", path,
                                          strerror(errno));
    }
    if (lock_ex(fd) != 0 || fstat(fd, &st) != 0) {
        rc = tc__errf(err, TC_EIO, "spool %s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (st.st_size == 0) {
        atomic_store(&spool_hint, 0);
        close(fd);
        return TC_OK;
    }
    if (!(r = tc__calloc(1, sizeof(*r)))) {
        close(fd);
        return tc__errf(err, TC_ENOMEM, "spool replay: out of memory");
    }
    rc = replay_locked(fb, fd, r, err);
    if (rc == TC_OK && (ftruncate(fd, 0) != 0 || fsync(fd) != 0)) {
        rc = tc__errf(err, TC_EIO, "spool %s: truncating: %s", path,
                      strerror(errno));
    }
    if (rc == TC_OK) {
        atomic_store(&spool_hint, 0);
    }
    close(fd);
    snprintf(n1, sizeof(n1), "%llu", (unsigned long long)r->stored);
    snprintf(n2, sizeof(n2), "%llu", (unsigned long long)r->dups);
    {
        const char *fields[] = {"spool",
                                fb->cfg->spool_dir,
                                "stored",
                                n1,
                                "duplicates",
                                n2,
                                rc == TC_OK ? NULL : "error",
                                tc__error_name(rc),
                                "detail",
                                err->msg,
                                NULL};

        tc__log(fb->log, rc == TC_OK ? TC_LOG_INFO : TC_LOG_WARN,
                rc == TC_OK ? "feedback_spool_replayed"
                            : "feedback_spool_replay_stopped",
                fields);
    }
    tc__free(r);
    return rc;
}

int tc__spool_lines(tc__fb *fb, uint64_t *lines, tc__err *err)
{
    char path[4096], buf[65536], last = '\n';
    ssize_t k;
    int fd;

    *lines = 0;
    if (spool_path(fb, path, sizeof(path), SPOOL_NAME) != 0) {
        return TC_OK;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? TC_OK
                               : tc__errf(err, TC_EIO, "spool %s: %s", path,
                                          strerror(errno));
    }
    while ((k = read(fd, buf, sizeof(buf))) > 0 || (k < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < k; i++) {
            *lines += buf[i] == '\n';
        }
        if (k > 0) {
            last = buf[k - 1];
        }
    }
    close(fd);
    if (last != '\n') {
        (*lines)++; /* a torn last line */
    }
    return TC_OK;
}
