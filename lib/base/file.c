/*
 * file.c - reading a whole file (a model, a configuration file, a data
 * set) into memory in one go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"

int tc__read_file(const char *path, size_t max, char **data, size_t *len,
                  tc__err *err)
{
    struct stat sb;
    char *buf;
    size_t got = 0;
    int fd;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return tc__errf(err, TC_EIO, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = S_ISDIR(sb.st_mode) ? EISDIR : errno;

        close(fd);
        return tc__errf(err, TC_EIO, "%s: %s", path,
                        e ? strerror(e) : "not a regular file");
    }
    if ((uint64_t)sb.st_size >= SIZE_MAX ||
        (max && (uint64_t)sb.st_size > max)) {
        close(fd);
        return tc__errf(err, TC_ETOOBIG, "%s: too large (%llu bytes)", path,
                        (unsigned long long)sb.st_size);
    }
    buf = tc__malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = errno;

            close(fd);
            tc__free(buf);
            return tc__errf(err, TC_EIO, "%s: %s", path,
                            r < 0 ? strerror(e) : "file shrank while read");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return TC_OK;
}
