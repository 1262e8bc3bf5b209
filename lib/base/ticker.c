/*
 * ticker.c - a thread that runs a function every period or when poked
 * (ticker.h). The wait is a condition variable's timed wait on the
 * wall clock, the only clock pthread_cond_timedwait takes by default;
 * a clock step makes one period longer or shorter, never lost.
 */
#include <pthread.h>
#include <time.h>

#include "base/internal.h"
#include "base/ticker.h"

struct tc__ticker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int want, stop;
    int64_t period_ms;
    void (*fn)(void *);
    void *ud;
    pthread_t thread;
};

static void *run(void *arg)
{
    tc__ticker *t = arg;
    struct timespec until;

    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(t->period_ms / 1000);
        until.tv_nsec += (long)(t->period_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!t->stop && !t->want &&
               pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0) {
        }
        if (t->stop) {
            break;
        }
        t->want = 0;
        pthread_mutex_unlock(&t->mu);
        t->fn(t->ud);
        tc__clear();
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void ticker_free(tc__ticker *t)
{
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    tc__free(t);
}

int tc__ticker_start(tc__ticker **out, int64_t period_ms, void (*fn)(void *),
                     void *ud)
{
    tc__ticker *t;

    *out = NULL;
    if (!(t = tc__calloc(1, sizeof(*t)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->period_ms = period_ms > 0 ? period_ms : 1;
    t->fn = fn;
    t->ud = ud;
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        ticker_free(t);
        return tc__fail(TC_EINTERNAL, "no thread for the counts' flush");
    }
    *out = t;
    return TC_OK;
}

void tc__ticker_poke(tc__ticker *t)
{
    pthread_mutex_lock(&t->mu);
    if (!t->want) {
        t->want = 1;
        pthread_cond_signal(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
}

void tc__ticker_stop(tc__ticker *t)
{
    if (!t) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    ticker_free(t);
}
