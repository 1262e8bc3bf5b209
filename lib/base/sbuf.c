/*
 * sbuf.c - the growable buffer and JSON writers of sbuf.h. The buffer
 * doubles, so n appends cost O(n) amortized, and it stays NUL-terminated
 * so a finished buffer is a C string without a final copy.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"

void tc__sb_put(tc__sb *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (n >= b->cap - b->len || b->cap == 0) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;

        while (n >= cap - b->len) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        p = tc__realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
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
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = 1; /* only short, fixed formats are written this way */
        return;
    }
    tc__sb_put(b, tmp, (size_t)n);
}

void tc__sb_json_string(tc__sb *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    const unsigned char *run = u;

    tc__sb_put(b, "\"", 1);
    for (; *u; u++) {
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};

        if (*u != '"' && *u != '\\' && *u >= 0x20) {
            continue;
        }
        tc__sb_put(b, (const char *)run, (size_t)(u - run));
        if (*u == '"' || *u == '\\') {
            esc[1] = (char)*u;
            tc__sb_put(b, esc, 2);
        } else {
            esc[4] = hex[*u >> 4];
            esc[5] = hex[*u & 15];
            tc__sb_put(b, esc, 6);
        }
        run = u + 1;
    }
    tc__sb_put(b, (const char *)run, (size_t)(u - run));
    tc__sb_put(b, "\"", 1);
}

void tc__sb_json_number(tc__sb *b, double d)
{
    char tmp[40];
    int prec;

    if (d == 0) {
        d = 0;
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(tmp, sizeof(tmp), "%.0f", d);
        tc__sb_str(b, tmp);
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    tc__sb_str(b, tmp);
}
