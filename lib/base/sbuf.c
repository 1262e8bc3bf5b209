/*
 * sbuf.c - the growable buffer and JSON writers of sbuf.h. The buffer
 * doubles, so n appends cost O(n) amortized, and it stays NUL-terminated
 * so a finished buffer is a C string without a final copy.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fmt.h"
#include "base/sbuf.h"

/* Room for n more bytes and the NUL; 0, or -1 (b->oom set). */
static int reserve(tc__sb *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 64;
    char *p;

    if (b->oom) {
        return -1;
    }
    if (b->cap != 0 && n < b->cap - b->len) {
        return 0;
    }
    while (n >= cap - b->len) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    p = tc__realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void tc__sb_put(tc__sb *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0) {
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void tc__sb_str(tc__sb *b, const char *s)
{
    tc__sb_put(b, s, strlen(s));
}

void tc__sb_printf(tc__sb *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        tc__sb_put(b, tmp, (size_t)n);
        return;
    }
    /* longer (a chart's element, say): formatted again in place, once
     * there is room */
    if (reserve(b, (size_t)n) != 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Bytes a JSON string holds as they are: not '"', '\\' or a control. */
#define P4 1, 1, 1, 1
#define P16 P4, P4, P4, P4
/* clang-format off */
static const unsigned char plain[256] = {
    0,   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* controls */
    0,   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* controls */
    1,   1,   0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
    P16, P16,                                           /* 0x30-0x4f */
    1,   1,   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    P16, P16, P16, P16, P16, P16, P16, P16, P16, P16,   /* 0x60-0xff */
};
/* clang-format on */

char *tc__json_put_string(char *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;

    *o++ = '"';
    for (;;) {
        const unsigned char *run = u;

        /* a run of plain bytes is copied at once: most strings have no
         * escape at all */
        while (plain[*u]) {
            u++;
        }
        memcpy(o, run, (size_t)(u - run));
        o += u - run;
        if (!*u) {
            break;
        }
        *o++ = '\\';
        if (*u == '"' || *u == '\\') {
            *o++ = (char)*u;
        } else {
            memcpy(o, "u00", 3);
            o[3] = hex[*u >> 4];
            o[4] = hex[*u & 15];
            o += 5;
        }
        u++;
    }
    *o++ = '"';
    return o;
}

void tc__sb_json_string(tc__sb *b, const char *s)
{
    size_t n = strlen(s);

    if (n > (SIZE_MAX - 2) / 6) {
        b->oom = 1;
        return;
    }
    if (reserve(b, TC__JSON_ROOM(n)) != 0) {
        return;
    }
    b->len = (size_t)(tc__json_put_string(b->p + b->len, s) - b->p);
    b->p[b->len] = '\0';
}

void tc__sb_json_number(tc__sb *b, double d)
{
    char tmp[TC__FMT_MAX];

    tc__sb_put(b, tmp, tc__fmt_shortest(tmp, d));
}
