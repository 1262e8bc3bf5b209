/*
 * fuzz_common.c - the helpers of fuzz_common.h. A property failure goes
 * through abort() so that libFuzzer and the replay treat it like any
 * sanitizer report: the input is kept and the run fails.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tutorcache.h"

#include "fuzz_common.h"

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\n==FUZZ PROPERTY FAILED== %s:%d: %s\n  ", file, line,
            cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

char *fz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s) {
        abort();
    }
    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

const char *fz_memfile(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    size_t off = 0;

    if (fd < 0) {
        fd = memfd_create("tutorcache-fuzz", MFD_CLOEXEC);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) {
        abort();
    }
    while (off < size) {
        ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);

        if (w <= 0) {
            abort();
        }
        off += (size_t)w;
    }
    return path;
}

tc_cache *fz_memory_cache(void)
{
    static tc_cache *h;
    tc_options opt;

    if (!h) {
        tc_options_init(&opt);
        opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG | TC_OPT_NO_METRICS;
        opt.store_url = "memory:";
        if (tc_cache_open(&h, &opt) != TC_OK) {
            fprintf(stderr, "memory: store: %s\n", tc_errmsg());
            abort();
        }
    }
    return h;
}

static char tmpdir[256];

/* Removes dir and the files in it. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    if (!d) {
        return;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

static void remove_tmpdir(void)
{
    remove_dir(tmpdir);
}

/*
 * A harness that fails ends in abort(), so its atexit() cleanup never
 * runs: each new directory is named after its process, and those of
 * processes that are gone are removed here.
 */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    char p[512];
    int pid;

    if (!d) {
        return;
    }
    while ((e = readdir(d))) {
        if (sscanf(e->d_name, "tutorcache-fuzz-%d-", &pid) == 1 && pid > 0 &&
            kill(pid, 0) != 0 && errno == ESRCH) {
            snprintf(p, sizeof(p), "%s/%s", base, e->d_name);
            remove_dir(p);
        }
    }
    closedir(d);
}

const char *fz_tmpdir(void)
{
    const char *base = getenv("TMPDIR");

    if (tmpdir[0]) {
        return tmpdir;
    }
    /* tmpfs when there is one: the model harness saves a file (with
     * fsync) on every input */
    if (access("/dev/shm", W_OK) == 0) {
        base = "/dev/shm";
    } else if (!base || !*base) {
        base = "/tmp";
    }
    remove_stale(base);
    snprintf(tmpdir, sizeof(tmpdir), "%s/tutorcache-fuzz-%d-XXXXXX", base,
             (int)getpid());
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(remove_tmpdir);
    return tmpdir;
}
