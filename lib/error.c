/*
 * error.c - return codes and per-thread error detail. The messages come
 * from the one TC_ERRNO_MAP table of the header. Detail is kept per thread
 * because one handle is shared by all threads of a service: a thread only
 * ever sees the message of its own last call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

TC_API const char *tc_version(void)
{
#define TC__STR2(x) #x
#define TC__STR(x) TC__STR2(x)
    return TC__STR(TC_VERSION_MAJOR) "." TC__STR(TC_VERSION_MINOR) "." TC__STR(
        TC_VERSION_PATCH);
}

TC_API const char *tc_strerror(int code)
{
    switch (code) {
#define TC__MSG(name, value, msg)                                              \
    case value:                                                                \
        return msg;
        TC_ERRNO_MAP(TC__MSG)
#undef TC__MSG
    default:
        return "unknown error";
    }
}

TC_API const char *tc_error_name(int code)
{
    switch (code) {
#define TC__NAME(name, value, msg)                                             \
    case value:                                                                \
        return "TC_" #name;
        TC_ERRNO_MAP(TC__NAME)
#undef TC__NAME
    default:
        return "TC_UNKNOWN";
    }
}

int tc__errf(tc__err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * One slot per thread: the handle of the thread's last call and its
 * message. A handle's message is "" for a thread whose last call was on
 * another handle, which is what the caller of that handle should see.
 */
static _Thread_local struct {
    const void *h;
    char msg[TC__ERR_MAX];
} tls_err;

void tc__clear(const void *h)
{
    tls_err.h = h;
    tls_err.msg[0] = '\0';
}

int tc__fail(const void *h, int code, const char *fmt, ...)
{
    va_list ap;

    tls_err.h = h;
    va_start(ap, fmt);
    vsnprintf(tls_err.msg, sizeof(tls_err.msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *tc__errmsg(const void *h)
{
    return tls_err.h == h ? tls_err.msg : "";
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tc__now_ms(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t tc__now_us(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000;
}

int64_t tc__wall_ms(void)
{
    return clock_ns(CLOCK_REALTIME) / 1000000;
}
