/*
 * deadline.h - one deadline for one call. A call of the library may make
 * several round trips to the store (a namespace's generation and then a
 * key, the get, set and override lookup of a classification, a connect
 * and then the command), and its caller gave one timeout, not one per
 * trip. So a call opens a scope on its thread; the store's first round
 * trip in it arms the scope's deadline with its timeout, and each later
 * one gets only what is left. Outside a scope every round trip has the
 * whole timeout, as a lone call to the store does.
 *
 * Per thread, like the error slot: a handle is shared by threads, a call
 * runs on one. Scopes nest; the outermost one owns the deadline.
 */
#ifndef TC_DEADLINE_H
#define TC_DEADLINE_H

#include <stdint.h>

/* Opens a scope; returns 1 when this is the outermost one (pass it to
 * tc__deadline_leave), 0 inside another. */
int tc__deadline_enter(void);
/* Closes the scope tc__deadline_enter opened; the outermost one forgets
 * the deadline. */
void tc__deadline_leave(int outer);

/*
 * When (tc__now_ms() clock) a round trip starting now must be done:
 * inside a scope, its deadline, armed at now + budget_ms on the scope's
 * first round trip; outside one, now + budget_ms.
 */
int64_t tc__deadline_until(int64_t budget_ms);
/* The budget the scope was armed with (for messages: "timed out after
 * 250 ms"), or budget_ms outside an armed scope. */
int64_t tc__deadline_budget(int64_t budget_ms);
/* Moves an armed deadline later by ms: time the call spent waiting for
 * something the timeout does not cover (a free pooled connection). */
void tc__deadline_extend(int64_t ms);

/* Waits with poll for fd to be ready for events (POLLIN, POLLOUT) until
 * until_ms (tc__now_ms() clock). Returns 0, or an errno: EAGAIN when the
 * time ran out, else poll's. */
int tc__wait_fd(int fd, short events, int64_t until_ms);

#endif /* TC_DEADLINE_H */
