/*
 * linereader.c - a line reader over one growable buffer: lines are found
 * with memchr and returned in place, so reading a line copies its bytes
 * once, from the file into the buffer. The buffer never grows past the
 * line bound plus one read, whatever the input.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/internal.h"
#include "base/linereader.h"

#define READ_CHUNK ((size_t)64 << 10)

void tc__lines_init_file(tc__lines *r, FILE *f)
{
    memset(r, 0, sizeof(*r));
    r->f = f;
    r->fd = -1;
}

void tc__lines_init_fd(tc__lines *r, int fd)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
}

void tc__lines_free(tc__lines *r)
{
    tc__free(r->buf);
    r->buf = NULL;
    r->cap = r->start = r->end = 0;
}

static int fill(tc__lines *r)
{
    size_t n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < READ_CHUNK) {
        size_t cap = r->cap ? r->cap * 2 : READ_CHUNK * 2;
        char *p;

        while (cap - r->end < READ_CHUNK) {
            cap *= 2;
        }
        p = tc__realloc(r->buf, cap);
        if (!p) {
            return TC_ENOMEM;
        }
        r->buf = p;
        r->cap = cap;
    }
    if (r->f) {
        n = fread(r->buf + r->end, 1, READ_CHUNK, r->f);
        if (n == 0) {
            if (ferror(r->f)) {
                return TC_EIO;
            }
            r->eof = 1;
        }
    } else {
        ssize_t k;

        do {
            k = read(r->fd, r->buf + r->end, READ_CHUNK);
        } while (k < 0 && errno == EINTR);
        if (k < 0) {
            return TC_EIO;
        }
        if (k == 0) {
            r->eof = 1;
        }
        n = (size_t)k;
    }
    r->end += n;
    return TC_OK;
}

int tc__lines_next(tc__lines *r, char **line, size_t *len, int *toolong)
{
    *line = NULL;
    *len = 0;
    *toolong = 0;
    for (;;) {
        /* buf is NULL until the first fill, and NULL + 0 is undefined */
        char *p = r->buf ? r->buf + r->start : NULL;
        size_t avail = r->end - r->start;
        char *nl = avail ? memchr(p, '\n', avail) : NULL;
        int rc;

        if (nl) {
            r->start += (size_t)(nl - p) + 1;
            if (r->skipping) {
                r->skipping = 0;
                continue;
            }
            r->lineno++;
            *line = p;
            *len = (size_t)(nl - p);
            return 1;
        }
        if (r->skipping) {
            r->start = r->end = 0;
        } else if (avail >= TC__LINE_MAX) {
            r->start = r->end;
            r->skipping = 1;
            r->lineno++;
            *line = p;
            *len = TC__LINE_MAX;
            *toolong = 1;
            return 1;
        } else if (r->eof) {
            if (avail == 0) {
                r->skipping = 0;
                return 0;
            }
            r->start = r->end;
            r->lineno++;
            *line = p;
            *len = avail;
            return 1;
        }
        if (r->eof) {
            r->skipping = 0;
            return 0;
        }
        if ((rc = fill(r)) != TC_OK) {
            return rc;
        }
    }
}
