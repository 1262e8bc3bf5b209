/*
 * deadline.c - the calling thread's deadline (deadline.h): a depth and an
 * absolute time in thread-local storage, so that the layers a call goes
 * through need not pass it down their signatures, and a round trip costs
 * one clock read more only when it is the scope's first.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>

#include "base/deadline.h"
#include "base/internal.h"

static _Thread_local int depth;
static _Thread_local int64_t until_ms; /* 0: not armed */
static _Thread_local int64_t budget;

int tc__deadline_enter(void)
{
    return depth++ == 0;
}

void tc__deadline_leave(int outer)
{
    if (depth > 0) {
        depth--;
    }
    if (outer) {
        depth = 0;
        until_ms = 0;
        budget = 0;
    }
}

int64_t tc__deadline_until(int64_t budget_ms)
{
    int64_t now = tc__now_ms();

    if (depth == 0) {
        return now + budget_ms;
    }
    if (until_ms == 0) {
        until_ms = now + budget_ms;
        budget = budget_ms;
    }
    return until_ms;
}

int64_t tc__deadline_budget(int64_t budget_ms)
{
    return depth > 0 && until_ms != 0 ? budget : budget_ms;
}

void tc__deadline_extend(int64_t ms)
{
    if (depth > 0 && until_ms != 0 && ms > 0) {
        until_ms += ms;
    }
}

int tc__wait_fd(int fd, short events, int64_t by_ms)
{
    struct pollfd p = {fd, events, 0};
    int64_t left;
    int n;

    do {
        left = by_ms - tc__now_ms();
        n = left <= 0 ? 0 : poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        return 0;
    }
    return n == 0 ? EAGAIN : errno;
}
