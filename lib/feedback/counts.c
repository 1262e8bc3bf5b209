/*
 * counts.c - feedback counters of this process (counts.h). Records are
 * counted striped (base/counter.h); pairs are appended under a lock and
 * published with a release store of their number, so a reader needs none.
 */
#include <pthread.h>
#include <string.h>

#include "base/counter.h"
#include "base/internal.h"
#include "feedback/counts.h"

typedef struct pair {
    char *original, *correct;
    _Atomic uint64_t n;
} pair;

struct tc__fb_counts {
    tc__counters c;     /* TC__FB_KINDS x TC__FB_STATUS_COUNT */
    pthread_mutex_t mu; /* guards adding pairs */
    pair pairs[TC__FB_MAX_PAIRS];
    _Atomic size_t npairs;
    _Atomic uint64_t other_pairs;
};

int tc__fb_counts_new(tc__fb_counts **out)
{
    tc__fb_counts *k = tc__calloc(1, sizeof(*k));

    *out = NULL;
    if (!k) {
        return TC_ENOMEM;
    }
    if (tc__counters_init(&k->c, TC__FB_KINDS * TC__FB_STATUS_COUNT) != TC_OK) {
        tc__free(k);
        return TC_ENOMEM;
    }
    if (pthread_mutex_init(&k->mu, NULL) != 0) {
        tc__counters_free(&k->c);
        tc__free(k);
        return TC_ENOMEM;
    }
    *out = k;
    return TC_OK;
}

void tc__fb_counts_free(tc__fb_counts *k)
{
    if (!k) {
        return;
    }
    for (size_t i = 0; i < atomic_load(&k->npairs); i++) {
        tc__free(k->pairs[i].original);
        tc__free(k->pairs[i].correct);
    }
    pthread_mutex_destroy(&k->mu);
    tc__counters_free(&k->c);
    tc__free(k);
}

static int fb_kind(int type)
{
    return type == TC_FEEDBACK_CORRECTION     ? 0
           : type == TC_FEEDBACK_CONFIRMATION ? 1
                                              : 2;
}

void tc__fb_counts_add(tc__fb_counts *k, int type, tc__fb_status st)
{
    if (k && st < TC__FB_STATUS_COUNT) {
        tc__counters_add(&k->c,
                         (size_t)fb_kind(type) * TC__FB_STATUS_COUNT + st, 1);
    }
}

static size_t find_pair(tc__fb_counts *k, size_t n, const char *original,
                        const char *correct)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(k->pairs[i].original, original) == 0 &&
            strcmp(k->pairs[i].correct, correct) == 0) {
            break;
        }
    }
    return i;
}

void tc__fb_counts_pair_add(tc__fb_counts *k, const char *original,
                            const char *correct)
{
    size_t i, n;

    if (!k || !original || !correct) {
        return;
    }
    /* pairs are only appended, and npairs is published after the pair */
    n = atomic_load_explicit(&k->npairs, memory_order_acquire);
    if ((i = find_pair(k, n, original, correct)) < n) {
        atomic_fetch_add_explicit(&k->pairs[i].n, 1, memory_order_relaxed);
        return;
    }
    pthread_mutex_lock(&k->mu);
    n = atomic_load(&k->npairs);
    i = find_pair(k, n, original, correct);
    if (i == n && n < TC__FB_MAX_PAIRS) {
        k->pairs[n].original = tc__strdup(original);
        k->pairs[n].correct = tc__strdup(correct);
        if (k->pairs[n].original && k->pairs[n].correct) {
            atomic_store(&k->pairs[n].n, 0);
            atomic_store_explicit(&k->npairs, n + 1, memory_order_release);
        } else {
            tc__free(k->pairs[n].original);
            tc__free(k->pairs[n].correct);
            k->pairs[n].original = k->pairs[n].correct = NULL;
            i = TC__FB_MAX_PAIRS; /* no memory: counted as other */
        }
    }
    if (i < TC__FB_MAX_PAIRS && k->pairs[i].original) {
        atomic_fetch_add_explicit(&k->pairs[i].n, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&k->other_pairs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&k->mu);
}

uint64_t tc__fb_counts_get(const tc__fb_counts *k, int kind, tc__fb_status st)
{
    if (!k || kind < 0 || kind >= TC__FB_KINDS || st >= TC__FB_STATUS_COUNT) {
        return 0;
    }
    return tc__counters_sum(&k->c, (size_t)kind * TC__FB_STATUS_COUNT + st);
}

size_t tc__fb_counts_npairs(const tc__fb_counts *k)
{
    return k ? atomic_load_explicit(&k->npairs, memory_order_acquire) : 0;
}

uint64_t tc__fb_counts_pair(const tc__fb_counts *k, size_t i,
                            const char **original, const char **correct)
{
    *original = k->pairs[i].original;
    *correct = k->pairs[i].correct;
    return atomic_load_explicit(&k->pairs[i].n, memory_order_relaxed);
}

uint64_t tc__fb_counts_other(const tc__fb_counts *k)
{
    return k ? atomic_load(&k->other_pairs) : 0;
}
