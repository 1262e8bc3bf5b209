/*
 * service_util.c - the example service's small helpers: a growable
 * buffer, JSON string escaping that always yields valid UTF-8, a strict
 * UTF-8 check, clocks, and JSON log lines on stderr. Log lines are built
 * whole in memory and written with one stdio call under the stream's
 * lock, so the lines of concurrent request threads never interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service.h"

int svc_buf_reserve(svc_buf *b, size_t more)
{
    size_t want, cap;
    char *p;

    if (b->oom) {
        return -1;
    }
    if (more > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return -1;
    }
    want = b->len + more + 1;
    if (want <= b->cap) {
        return 0;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < want) {
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    }
    if (!(p = realloc(b->p, cap))) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void svc_buf_put(svc_buf *b, const void *p, size_t n)
{
    if (svc_buf_reserve(b, n) != 0) {
        return;
    }
    if (n) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

void svc_buf_str(svc_buf *b, const char *s)
{
    svc_buf_put(b, s, strlen(s));
}

static void buf_vprintf(svc_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void buf_vprintf(svc_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || svc_buf_reserve(b, (size_t)n) != 0) {
        b->oom = 1;
        return;
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void svc_buf_printf(svc_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void svc_buf_free(svc_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

size_t svc_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        if (!(k = utf8_seq(u + i, n - i))) {
            return i;
        }
        i += k;
    }
    return n;
}

void svc_buf_json(svc_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k;

    svc_buf_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];

        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};

            svc_buf_put(b, e, 2);
            i++;
        } else if (c < 0x20) {
            svc_buf_printf(b, "\\u%04x", c);
            i++;
        } else if (!(k = utf8_seq(u + i, n - i))) {
            svc_buf_str(b, "\xEF\xBF\xBD"); /* U+FFFD */
            i++;
        } else {
            svc_buf_put(b, u + i, k);
            i += k;
        }
    }
    svc_buf_put(b, "\"", 1);
}

void svc_buf_jstr(svc_buf *b, const char *s)
{
    svc_buf_json(b, s, strlen(s));
}

int64_t svc_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t svc_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 in UTC with milliseconds, as the library's log lines. */
void svc_rfc3339(char *buf, size_t cap, int64_t wall_ms)
{
    time_t sec = (time_t)(wall_ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&sec, &tm);
    n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)(wall_ms % 1000));
}

void svc_log_raw(const char *json)
{
    flockfile(stderr);
    fputs(json, stderr);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void svc_log(const svc *s, tc_log_level level, const char *event,
             const char *fields)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char now[40];

    if (level < s->level || level > TC_LOG_ERROR) {
        return;
    }
    svc_rfc3339(now, sizeof(now), svc_wall_ms());
    flockfile(stderr);
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"%s}\n",
            now, names[level], event, fields);
    funlockfile(stderr);
}

void svc_logf(const svc *s, tc_log_level level, const char *event,
              const char *fmt, ...)
{
    svc_buf b = {0};
    va_list ap;

    if (level < s->level) {
        return;
    }
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!b.oom) {
        svc_log(s, level, event, b.p ? b.p : "");
    }
    svc_buf_free(&b);
}
