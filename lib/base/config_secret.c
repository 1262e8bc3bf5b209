/*
 * config_secret.c - secrets kept out of sight: a password read from a
 * file (password_file) rather than a command line, which ps shows, or the
 * environment, which /proc shows to the same user and children inherit;
 * and files that hold a secret refused while others may read them, as
 * ssh refuses a private key that others can read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cfgparse.h"

/* A password file larger than this is not a password file. */
#define SECRET_MAX 4096

/* Whether group or others may read the file of mode m. */
static int loose(mode_t m)
{
    return (m & (S_IRGRP | S_IROTH)) != 0;
}

int tc__cfg_check_private(const char *path, const char *what, tc__err *err)
{
    struct stat sb;

    if (stat(path, &sb) != 0) {
        return tc__errf(err, TC_ECONFIG, "%s %s: %s", what, path,
                        strerror(errno));
    }
    if (loose(sb.st_mode)) {
        return tc__errf(err, TC_ECONFIG,
                        "%s %s holds a password and is readable by group or "
                        "others (mode %04o): chmod 600 it, or keep the "
                        "password in a password_file",
                        what, path, (unsigned)(sb.st_mode & 07777));
    }
    return TC_OK;
}

int tc__cfg_secret_file(char **out, const char *path, const char *what,
                        tc__err *err)
{
    char buf[SECRET_MAX + 1];
    struct stat sb;
    size_t n = 0;
    ssize_t got;
    int fd, e;

    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return tc__errf(err, TC_ECONFIG, "%s %s: %s", what, path,
                        strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        e = errno;
        close(fd);
        return tc__errf(err, TC_ECONFIG, "%s %s: %s", what, path,
                        e ? strerror(e) : "not a regular file");
    }
    if (loose(sb.st_mode)) {
        close(fd);
        return tc__errf(err, TC_ECONFIG,
                        "%s %s is readable by group or others (mode %04o): "
                        "chmod 600 it",
                        what, path, (unsigned)(sb.st_mode & 07777));
    }
    while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
        if (got < 0 && errno != EINTR) {
            e = errno;
            close(fd);
            return tc__errf(err, TC_ECONFIG, "%s %s: %s", what, path,
                            strerror(e));
        }
        n += got > 0 ? (size_t)got : 0;
    }
    close(fd);
    if (n > SECRET_MAX) {
        explicit_bzero(buf, sizeof(buf));
        return tc__errf(err, TC_ECONFIG, "%s %s: longer than %d bytes", what,
                        path, SECRET_MAX);
    }
    /* one line: the newline an editor or echo leaves is not the secret's */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    if (n == 0 || memchr(buf, '\0', n) || memchr(buf, '\n', n)) {
        explicit_bzero(buf, sizeof(buf));
        return tc__errf(err, TC_ECONFIG,
                        "%s %s: not one line of text (empty, or more than "
                        "one line)",
                        what, path);
    }
    *out = tc__memdup0(buf, n);
    explicit_bzero(buf, sizeof(buf));
    return *out ? TC_OK : tc__cfg_oom(err);
}

int tc__cfg_apply_password_file(tc__config *cfg, tc__err *err)
{
    char *pw;
    int rc;

    if (!cfg->password_file || (cfg->store.kind != TC__STORE_REDIS &&
                                cfg->store.kind != TC__STORE_CLUSTER)) {
        return TC_OK;
    }
    if ((rc = tc__cfg_secret_file(&pw, cfg->password_file, "password_file",
                                  err)) != TC_OK) {
        return rc;
    }
    if (cfg->store.password) {
        explicit_bzero(cfg->store.password, strlen(cfg->store.password));
        tc__free(cfg->store.password);
    }
    cfg->store.password = pw;
    return TC_OK;
}
