/*
 * ticker.h - a thread that runs one function every period, or sooner
 * when poked, until stopped: how what a handle counts in process reaches
 * the store without a round trip on the caller's path (the popularity
 * table, classify/popular.c; the answers served, classify/served.c).
 */
#ifndef TC_TICKER_H
#define TC_TICKER_H

#include <stdint.h>

typedef struct tc__ticker tc__ticker;

/*
 * Starts a thread that calls fn(ud) every period_ms, and at once after
 * tc__ticker_poke; fn runs with no lock of the ticker held, and clears
 * the thread's error slot after it (it answers to no caller). Returns
 * TC_OK; TC_ENOMEM; TC_EINTERNAL (no thread), recorded with tc__fail.
 */
int tc__ticker_start(tc__ticker **out, int64_t period_ms, void (*fn)(void *),
                     void *ud);
/* Asks for a run now (from any thread; cheap when one is asked for). */
void tc__ticker_poke(tc__ticker *t);
/* Stops and joins the thread (a run under way ends first) and frees t;
 * fn is not called again. NULL is accepted. */
void tc__ticker_stop(tc__ticker *t);

#endif
