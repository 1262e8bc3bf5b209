/*
 * internal.h - helpers shared by every file of the library: allocation,
 * error detail, clocks and logging. Nothing here is installed.
 */
#ifndef TC_INTERNAL_H
#define TC_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tutorcache.h"

#define TC__HIDDEN __attribute__((visibility("hidden")))
#define TC__PRINTF(f, a) __attribute__((format(printf, f, a)))
/* A body written once for two callers that must each get it inlined,
 * constants folded (a hot path that would otherwise pay a call). */
#define TC__INLINE inline __attribute__((always_inline))

/* ---- memory (alloc.c) ------------------------------------------------ */

void *tc__malloc(size_t size);
void *tc__calloc(size_t n, size_t size); /* overflow-checked, zeroed */
void *tc__realloc(void *ptr, size_t size);
void tc__free(void *ptr);
char *tc__strdup(const char *s);
char *tc__strndup(const char *s, size_t n);
/* A copy of n bytes followed by a NUL byte (not counted). */
char *tc__memdup0(const void *p, size_t n);

/* Whether an allocation of this thread failed since the last call; clears
 * the flag. */
int tc__oom_take(void);

/* tc_set_allocator: NULL for any of them restores the C library's. */
void tc__set_allocator(tc_malloc_fn m, tc_realloc_fn r, tc_free_fn f);

/* ---- codes and error detail (error.c) ----------------------------------- */

/* tc_version, tc_strerror, tc_error_name. */
const char *tc__lib_version(void);
const char *tc__strerror(int code);
const char *tc__error_name(int code);

/*
 * A message buffer filled where a failure happens, before the public call
 * copies it into the calling thread's slot. Stores and other layers that
 * have no handle write into one of these.
 */
#define TC__ERR_MAX 512
typedef struct tc__err {
    char msg[TC__ERR_MAX];
} tc__err;

/* Writes the message into err (which may be NULL) and returns code. */
int tc__errf(tc__err *err, int code, const char *fmt, ...) TC__PRINTF(3, 4);

/*
 * The one error channel: the calling thread's detail of its last public
 * call (tc_errmsg). A public door starts with tc__clear(); a failure
 * records why with tc__fail(code, fmt, ...), which returns code. Layers
 * below the doors that fail without setting it hand a tc__err up instead.
 */
void tc__clear(void);
int tc__fail(int code, const char *fmt, ...) TC__PRINTF(2, 3);
const char *tc__errmsg(void);

/* ---- clocks ---------------------------------------------------------- */

/* Milliseconds and microseconds of CLOCK_MONOTONIC. */
int64_t tc__now_ms(void);
int64_t tc__now_us(void);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t tc__wall_ms(void);

/* ---- files (file.c) ------------------------------------------------ */

/*
 * Reads the whole regular file at path, NUL-terminated (*len without the
 * NUL); max > 0 bounds its size. Returns TC_OK; TC_EIO (with why: missing,
 * a directory, a read error); TC_ETOOBIG; TC_ENOMEM.
 */
int tc__read_file(const char *path, size_t max, char **data, size_t *len,
                  tc__err *err);

/* ---- logs (log.c) ---------------------------------------------------- */

typedef struct tc__logger {
    tc_log_fn fn;
    void *userdata;
    tc_log_level level;
    int64_t interval_ms; /* rate limit for tc__log_limited */
    int log_texts;       /* texts may appear in lines (off by default) */
} tc__logger;

/* A rate-limit slot: one per kind of repeated event. */
typedef struct tc__ratelimit {
    _Atomic int64_t last_ms;
    _Atomic uint64_t suppressed;
} tc__ratelimit;

/* Whether a line of this level would be written: callers test it before
 * formatting fields, so a silent logger costs one comparison. */
static inline int tc__log_on(const tc__logger *lg, tc_log_level level)
{
    return lg && lg->fn && level >= lg->level && level < TC_LOG_OFF;
}

/*
 * Logs one event. `fields` is a NULL-terminated list of name/value string
 * pairs, appended to time, level and event; values are JSON-escaped
 * strings, but for a name that starts with '#' (not written), whose value
 * is written as a JSON number when it is one.
 * Nothing is done (and nothing allocated) when the level is filtered out.
 */
void tc__log(const tc__logger *lg, tc_log_level level, const char *event,
             const char *const *fields);
/*
 * One JSON object in line (cap bytes, at least 64): "time" (UTC, ms), the
 * pairs of head, then those of fields, both as tc__log writes them (either
 * may be NULL). A field too long is cut and the object stays valid JSON.
 * Returns its length; line is NUL-terminated. Allocates nothing.
 */
size_t tc__json_line(char *line, size_t cap, const char *const *head,
                     const char *const *fields);
/* As tc__log, at most once per lg->interval_ms for one slot; the next
 * line carries a "suppressed" count. */
void tc__log_limited(const tc__logger *lg, tc__ratelimit *rl,
                     tc_log_level level, const char *event,
                     const char *const *fields);

#endif /* TC_INTERNAL_H */
