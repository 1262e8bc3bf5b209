/*
 * tt_alloc.c - the suites' counting allocator, installed with
 * tc_set_allocator(): it fails the n-th allocation attempt (or every one
 * from the n-th on) and counts the blocks outstanding, so that a test can
 * prove that each path returns TC_ENOMEM and leaks nothing. The counters
 * are atomic because the library may allocate on threads of its own.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "suites.h"
#include "tutorcache.h"

static _Atomic long calls;   /* allocation attempts since the install */
static _Atomic long live;    /* blocks allocated and not yet freed */
static _Atomic int injected; /* a failure was injected since the install */
static _Atomic int paused;   /* the test's own bookkeeping: never fails */
static long fail_at;         /* 0: never */
static int fail_rest;        /* fail every attempt from fail_at on */

static int should_fail(void)
{
    long c;

    if (atomic_load(&paused)) {
        return 0;
    }
    c = atomic_fetch_add(&calls, 1) + 1;
    if (fail_at > 0 && (c == fail_at || (fail_rest && c > fail_at))) {
        atomic_store(&injected, 1);
        return 1;
    }
    return 0;
}

static void *cnt_malloc(size_t n)
{
    void *p;

    if (should_fail()) {
        return NULL;
    }
    p = malloc(n);
    if (p) {
        atomic_fetch_add(&live, 1);
    }
    return p;
}

static void *cnt_realloc(void *old, size_t n)
{
    void *p;

    if (should_fail()) {
        return NULL;
    }
    p = realloc(old, n);
    if (p && !old) {
        atomic_fetch_add(&live, 1);
    }
    return p;
}

static void cnt_free(void *p)
{
    if (p) {
        atomic_fetch_sub(&live, 1);
        free(p);
    }
}

void tt_alloc_install(long n, int rest)
{
    atomic_store(&calls, 0);
    atomic_store(&live, 0);
    atomic_store(&injected, 0);
    atomic_store(&paused, 0);
    fail_at = n;
    fail_rest = rest;
    tc_set_allocator(cnt_malloc, cnt_realloc, cnt_free);
}

void tt_alloc_restore(void)
{
    tc_set_allocator(NULL, NULL, NULL);
}

void tt_alloc_pause(int on)
{
    atomic_store(&paused, on);
}

long tt_alloc_calls(void)
{
    return atomic_load(&calls);
}

long tt_alloc_live(void)
{
    return atomic_load(&live);
}

int tt_alloc_injected(void)
{
    return atomic_load(&injected);
}

long tt_alloc_fail_each(int (*seq)(void *ctx), void *ctx, const char *what)
{
    long n;

    for (n = 1; n <= TT_ALLOC_MAX_RUNS; n++) {
        int rc;

        tt_alloc_install(n, 0);
        rc = seq(ctx);
        tt_alloc_restore();
        ck_assert_msg(tt_alloc_live() == 0,
                      "%s, allocation %ld failing: %ld blocks leaked", what, n,
                      tt_alloc_live());
        if (!tt_alloc_injected()) {
            ck_assert_msg(rc == TC_OK, "%s: %s without a failure", what,
                          tc_error_name(rc));
            return n;
        }
        ck_assert_msg(rc == TC_ENOMEM, "%s, allocation %ld failing: %s", what,
                      n, tc_error_name(rc));
        ck_assert_msg(tc_errmsg()[0] != '\0',
                      "%s, allocation %ld failing: TC_ENOMEM with no detail",
                      what, n);
    }
    ck_abort_msg("%s: still failing after %d runs", what, TT_ALLOC_MAX_RUNS);
    return 0;
}
