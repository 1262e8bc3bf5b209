/*
 * linereader.h - lines from a FILE or a file descriptor, of any length up
 * to a bound, with their numbers: the feedback import and the spool
 * replay read their input through it.
 */
#ifndef TC_LINEREADER_H
#define TC_LINEREADER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Lines longer than this are cut (see tc__lines_next). */
#define TC__LINE_MAX ((size_t)1 << 20)

typedef struct tc__lines {
    FILE *f; /* read with fread, or, when NULL, read(fd) */
    int fd;
    char *buf;
    size_t cap, start, end;
    int eof;
    int skipping;    /* the rest of a line that was too long */
    uint64_t lineno; /* number of the line last returned, from 1 */
} tc__lines;

void tc__lines_init_file(tc__lines *r, FILE *f);
void tc__lines_init_fd(tc__lines *r, int fd);

/*
 * The next line, without its '\n' (a '\r' before it stays), valid until
 * the next call. A last line without '\n' is returned too. A line longer
 * than TC__LINE_MAX comes back cut to that length with *toolong set, and
 * its rest is skipped. Returns 1 (a line), 0 (the end), TC_EIO (a read
 * failed; errno says why) or TC_ENOMEM.
 */
int tc__lines_next(tc__lines *r, char **line, size_t *len, int *toolong);
void tc__lines_free(tc__lines *r);

#endif
