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

#include "base/internal.h"

const char *tc__lib_version(void)
{
#define TC__STR2(x) #x
#define TC__STR(x) TC__STR2(x)
    return TC__STR(TC_VERSION_MAJOR) "." TC__STR(TC_VERSION_MINOR) "." TC__STR(
        TC_VERSION_PATCH);
}

const char *tc__strerror(int code)
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

const char *tc__error_name(int code)
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

/* One slot per thread: the message of the thread's last failed call.
 * A handle is shared by all threads of a service, so the detail is the
 * thread's, whichever handle (or none, for the model calls) it used. */
static _Thread_local char tls_err[TC__ERR_MAX];

void tc__clear(void)
{
    tls_err[0] = '\0';
}

int tc__fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tls_err, sizeof(tls_err), fmt, ap);
    va_end(ap);
    return code;
}

const char *tc__errmsg(void)
{
    return tls_err;
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
