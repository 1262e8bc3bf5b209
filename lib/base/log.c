/*
 * log.c - structured logs: one JSON object per line, handed to the host's
 * callback. The library never prints; with no callback, or a level below
 * the handle's, nothing is formatted at all.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/internal.h"

static const char *level_name(tc_log_level level)
{
    switch (level) {
    case TC_LOG_DEBUG:
        return "debug";
    case TC_LOG_INFO:
        return "info";
    case TC_LOG_WARN:
        return "warn";
    default:
        return "error";
    }
}

/*
 * A line is built in a fixed buffer: log lines are short, and a log call
 * made because memory ran out must not need memory. A field too long for
 * the buffer is cut, and the line stays valid JSON.
 */
#define LOG_LINE_MAX 2048

typedef struct linebuf {
    char *p;
    size_t len;
    size_t cap; /* reserve kept for the closing brace */
} linebuf;

static void put_raw(linebuf *b, const char *s)
{
    size_t n = strlen(s);

    if (n > b->cap - b->len) {
        n = b->cap - b->len;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_str(linebuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;

    put_raw(b, "\"");
    for (; *u; u++) {
        char esc[7];

        if (b->cap - b->len < 8) {
            break; /* room for an escape and the closing quote */
        }
        if (*u == '"' || *u == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*u;
            esc[2] = '\0';
        } else if (*u < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*u >> 4];
            esc[5] = hex[*u & 15];
            esc[6] = '\0';
        } else {
            esc[0] = (char)*u;
            esc[1] = '\0';
        }
        put_raw(b, esc);
    }
    put_raw(b, "\"");
}

/* Whether s is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_number(const char *s)
{
    const char *p = s + (*s == '-');

    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        return 0;
    }
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9')) {
            return 0;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p += (p[1] == '+' || p[1] == '-') ? 2 : 1;
        if (!(*p >= '0' && *p <= '9')) {
            return 0;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    return *p == '\0';
}

static void put_fields(linebuf *b, const char *const *fields)
{
    for (; fields && fields[0] && fields[1]; fields += 2) {
        /* "#name": the value is a number, written as one */
        int num = fields[0][0] == '#' && is_number(fields[1]);

        put_raw(b, ",");
        put_str(b, fields[0] + (fields[0][0] == '#'));
        put_raw(b, ":");
        if (num && strlen(fields[1]) < b->cap - b->len) {
            put_raw(b, fields[1]);
        } else {
            put_str(b, fields[1]);
        }
    }
}

size_t tc__json_line(char *line, size_t cap, const char *const *head,
                     const char *const *fields)
{
    char ts[96];
    linebuf b = {line, 0, cap - 2};
    struct timespec now;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(now.tv_nsec / 1000000) % 1000);
    put_raw(&b, "{\"time\":");
    put_str(&b, ts);
    put_fields(&b, head);
    put_fields(&b, fields);
    line[b.len++] = '}';
    line[b.len] = '\0';
    return b.len;
}

void tc__log(const tc__logger *lg, tc_log_level level, const char *event,
             const char *const *fields)
{
    char line[LOG_LINE_MAX];
    const char *head[5];

    if (!lg || !lg->fn || level < lg->level || level >= TC_LOG_OFF) {
        return;
    }
    head[0] = "level";
    head[1] = level_name(level);
    head[2] = "event";
    head[3] = event;
    head[4] = NULL;
    tc__json_line(line, sizeof(line), head, fields);
    lg->fn(lg->userdata, level, line);
}

void tc__log_limited(const tc__logger *lg, tc__ratelimit *rl,
                     tc_log_level level, const char *event,
                     const char *const *fields)
{
    const char *with[34];
    char count[24];
    int64_t now, last;
    uint64_t suppressed;
    size_t i = 0;

    if (!lg || !lg->fn || level < lg->level) {
        return;
    }
    now = tc__now_ms();
    last = atomic_load_explicit(&rl->last_ms, memory_order_relaxed);
    if (last != 0 && now - last < lg->interval_ms) {
        atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
        return;
    }
    /* One thread wins the slot; the others count as suppressed. */
    if (!atomic_compare_exchange_strong(&rl->last_ms, &last, now)) {
        atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
        return;
    }
    suppressed = atomic_exchange(&rl->suppressed, 0);
    for (; fields && fields[i] && fields[i + 1] && i < 30; i += 2) {
        with[i] = fields[i];
        with[i + 1] = fields[i + 1];
    }
    if (suppressed) {
        snprintf(count, sizeof(count), "%llu", (unsigned long long)suppressed);
        with[i++] = "#suppressed";
        with[i++] = count;
    }
    with[i] = NULL;
    tc__log(lg, level, event, with);
}
