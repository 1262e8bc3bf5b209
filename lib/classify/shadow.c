/*
 * shadow.c - shadow checks of cached answers (shadow.h). A cached answer
 * goes stale wherever the model's identity in the key does not change
 * with its answers (a host model or exec: backend replaced behind one
 * version string), and nothing else would notice. So a sampled hit is
 * queued, one thread per classifier classifies its text again through
 * the model alone, and compares the intents; a different one replaces
 * the entry in L1 and L2. The queue is a fixed ring that drops when
 * full: a check is worth less than the caller's latency or memory.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/deadline.h"
#include "classify/classifier.h"
#include "classify/packed.h"
#include "classify/served.h"
#include "classify/shadow.h"

_Thread_local uint64_t tc__shadow_x;

/* One sampled hit: its key material, then a NUL, then the intent the
 * cache answered with, in one allocation. */
typedef struct job {
    tc_classifier *c;
    size_t keylen, normlen;
    const char *intent; /* in data, after the key */
    char data[];
} job;

struct tc__shadow {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;  /* the thread runs (or ran) */
    int stopping; /* closing: finish by drain_until, then stop */
    int64_t drain_until;
    job *ring[TC__SHADOW_QUEUE];
    size_t head, n;
    tc__cls_counts *counts;
    tc__shadow_fresh_fn fresh;
};

uint64_t tc__shadow_seed(void)
{
    static _Atomic uint64_t next = 0x9e3779b97f4a7c15u;
    /* each thread its own sequence: a golden-ratio step per thread,
     * mixed with where its state lives, and never 0 */
    uint64_t x = atomic_fetch_add(&next, 0x9e3779b97f4a7c15u) ^
                 (uint64_t)(uintptr_t)&tc__shadow_x;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    return x ? x : 1;
}

/* The L2 key of a job, for the log: a hash, never the text. */
static void log_disagree(const job *j, const char *fresh)
{
    const tc_classifier *c = j->c;
    char key[TC_KEY_MAX], *text = NULL;
    const char *f[12];
    int i = 0;

    if (!tc__log_on(c->log, TC_LOG_WARN)) {
        return;
    }
    if (tc__cache_key(key, c->cache, c->ns, j->data, j->keylen) != TC_OK) {
        snprintf(key, sizeof(key), "?");
    }
    f[i++] = "namespace";
    f[i++] = c->ns;
    f[i++] = "key";
    f[i++] = key;
    f[i++] = "cached_intent";
    f[i++] = j->intent;
    f[i++] = "fresh_intent";
    f[i++] = fresh;
    if (c->log->log_texts && (text = tc__strndup(j->data, j->normlen))) {
        f[i++] = "text";
        f[i++] = text;
    }
    f[i] = NULL;
    tc__log(c->log, TC_LOG_WARN, "shadow_disagree", f);
    tc__free(text);
}

/* One check: the fresh answer, compared, and stored when it differs. */
static void check(tc__shadow *s, job *j)
{
    tc_classifier *c = j->c;
    const char *id = j->data + j->normlen + 1;
    size_t idlen = j->keylen - j->normlen - 1 - c->topk_len;
    char *packed = NULL;
    size_t plen = 0;
    tc_result *r = NULL;
    int cacheable = 0, outer = tc__deadline_enter();
    int rc = s->fresh(&packed, &plen, &cacheable, c, j->data, j->normlen, id);

    if (rc == TC_OK) {
        rc = tc__result_unpack(&r, packed, plen, TC_SOURCE_MODEL, c->threshold,
                               0, NULL);
    }
    if (rc != TC_OK || !cacheable) {
        /* a failure, or a model that changed under the key meanwhile:
         * its answer belongs to another key, checked by that one's hits */
        tc__cls_count_shadow(s->counts, TC__SHADOW_FAILED);
    } else if (strcmp(r->intent, j->intent) == 0) {
        tc__cls_count_shadow(s->counts, TC__SHADOW_AGREE);
        tc__served_count(c->served, id, idlen, "", TC__SERVED_AGREE);
    } else {
        tc__cls_count_shadow(s->counts, TC__SHADOW_DISAGREE);
        tc__served_count(c->served, id, idlen, "", TC__SERVED_DISAGREE);
        log_disagree(j, r->intent);
        /* L2 and L1 at once, as a miss stores it; a write that fails is
         * counted by the cache, and the next check finds it again */
        tc__cache_set_split(c->cache, c->nsh, j->data, j->keylen, packed,
                            tc__packed_json_len(packed, plen), plen, NULL,
                            tc__now_ms());
    }
    tc__deadline_leave(outer);
    tc__free(r);
    tc__free(packed);
    tc__clear(); /* the slot of this thread answers to no caller */
}

static void *run(void *arg)
{
    tc__shadow *s = arg;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        job *j;

        while (s->n == 0 && !s->stopping) {
            struct timespec ts;

            /* woken by a batch (TC__SHADOW_WAKE) or closing, else after
             * a nap: a signal per sample would cost each sampled caller
             * a futex call while this thread sleeps */
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += TC__SHADOW_NAP_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        if (s->n == 0 || (s->stopping && tc__now_ms() >= s->drain_until)) {
            break; /* what is left is dropped by tc__shadow_free */
        }
        j = s->ring[s->head];
        s->head = (s->head + 1) % TC__SHADOW_QUEUE;
        s->n--;
        pthread_mutex_unlock(&s->mu);
        check(s, j);
        tc__free(j);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* A condition variable on the monotonic clock, which no one sets. */
static int cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);

    if (rc == 0) {
        rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        rc = rc ? rc : pthread_cond_init(cv, &a);
        pthread_condattr_destroy(&a);
    }
    return rc;
}

int tc__shadow_new(tc__shadow **out, tc__cls_counts *counts,
                   tc__shadow_fresh_fn fresh)
{
    tc__shadow *s = tc__calloc(1, sizeof(*s));

    *out = NULL;
    if (!s) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        tc__free(s);
        return tc__fail(TC_ENOMEM, "shadow checks: no mutex");
    }
    if (cond_init(&s->cv) != 0) {
        pthread_mutex_destroy(&s->mu);
        tc__free(s);
        return tc__fail(TC_ENOMEM, "shadow checks: no condition variable");
    }
    s->counts = counts;
    s->fresh = fresh;
    *out = s;
    return TC_OK;
}

void tc__shadow_offer(tc__shadow *s, tc_classifier *c, const char *key,
                      size_t keylen, size_t normlen, const char *intent)
{
    size_t ilen = strlen(intent);
    job *j = tc__malloc(sizeof(*j) + keylen + ilen + 2);
    int queued = 0;

    if (j) {
        j->c = c;
        j->keylen = keylen;
        j->normlen = normlen;
        memcpy(j->data, key, keylen);
        j->data[keylen] = '\0';
        memcpy(j->data + keylen + 1, intent, ilen + 1);
        j->intent = j->data + keylen + 1;
        pthread_mutex_lock(&s->mu);
        if (!s->stopping && s->n < TC__SHADOW_QUEUE &&
            (s->started ||
             (s->started = pthread_create(&s->thread, NULL, run, s) == 0))) {
            s->ring[(s->head + s->n) % TC__SHADOW_QUEUE] = j;
            s->n++;
            queued = 1;
            if (s->n == TC__SHADOW_WAKE) {
                pthread_cond_signal(&s->cv);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (!queued) {
        tc__free(j);
        tc__cls_count_shadow(s->counts, TC__SHADOW_DROPPED);
    }
}

void tc__shadow_free(tc__shadow *s)
{
    if (!s) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    s->drain_until = tc__now_ms() + TC__SHADOW_DRAIN_MS;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started) {
        pthread_join(s->thread, NULL);
    }
    /* the checks the drain had no time for */
    for (; s->n > 0; s->n--) {
        tc__free(s->ring[s->head]);
        s->head = (s->head + 1) % TC__SHADOW_QUEUE;
        tc__cls_count_shadow(s->counts, TC__SHADOW_DROPPED);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    tc__free(s);
}
