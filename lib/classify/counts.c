/*
 * counts.c - classification counters and latency histogram (counts.h).
 * Every classification adds to them, so a latency finds its bucket in
 * constant time: by its bit length, through a table made once per
 * handle, and one comparison (add_latency).
 */
#include <pthread.h>
#include <string.h>

#include "base/internal.h"
#include "classify/counts.h"
#include "model/model.h"

/*
 * Bucket bounds in microseconds: an L1 hit takes about 1 us, a model
 * about 10 us, an L2 round trip 50 us to a few ms, a remote model more.
 * Each bound is at least twice the one before, which add_latency's
 * search relies on; the last element, INT64_MAX, is no bound (the
 * readers stop at tc__cls_nbounds) but the search's sentinel.
 */
const int64_t tc__cls_bounds_us[] = {
    1,    2,    5,     10,    25,    50,     100,    250,     500,      1000,
    2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, INT64_MAX};
#define NBOUNDS (sizeof(tc__cls_bounds_us) / sizeof(tc__cls_bounds_us[0]) - 1)
const size_t tc__cls_nbounds = NBOUNDS;

/* The counters of a block, in this order. */
#define K_STATUS 0
#define K_BUCKET (K_STATUS + TC__CLS_COUNT)
#define K_SUM (K_BUCKET + NBOUNDS + 1)
/* then, per arm: what it counts, its buckets and its sum */
#define A_BUCKET TC__ARM_WHAT_COUNT
#define A_SUM (A_BUCKET + NBOUNDS + 1)
#define A_SIZE (A_SUM + 1)
#define K_ARM (K_SUM + 1)
#define K_SHADOW (K_ARM + TC__ARM_COUNT * A_SIZE)
#define K_COUNT (K_SHADOW + TC__SHADOW_COUNT)

/* One classifier's arms (tc__cls_arms_add). */
typedef struct arm_models {
    const void *owner; /* NULL: a free slot */
    const tc_model *model[TC__ARM_COUNT];
    const char *version[TC__ARM_COUNT];
} arm_models;

struct tc__cls_counts {
    tc__counters c;
    /* per bit length of a latency, the first bucket whose bound is at
     * least the smallest latency of that length (add_latency) */
    uint8_t first[64];
    /* read only by a feedback record naming a model, never on the
     * classification path, so a mutex is cheap enough */
    pthread_mutex_t arms_mu;
    arm_models arms[TC__ARMS_MAX];
};

int tc__cls_counts_new(tc__cls_counts **out)
{
    tc__cls_counts *k = tc__calloc(1, sizeof(*k));

    *out = NULL;
    if (!k || tc__counters_init(&k->c, K_COUNT) != TC_OK) {
        tc__free(k);
        return TC_ENOMEM;
    }
    for (size_t len = 1; len < 64; len++) {
        size_t b = 0;

        while (tc__cls_bounds_us[b] < (int64_t)1 << (len - 1)) {
            b++; /* the sentinel stops it at NBOUNDS */
        }
        k->first[len] = (uint8_t)b;
    }
    pthread_mutex_init(&k->arms_mu, NULL);
    *out = k;
    return TC_OK;
}

void tc__cls_counts_free(tc__cls_counts *k)
{
    if (k) {
        tc__counters_free(&k->c);
        pthread_mutex_destroy(&k->arms_mu);
        tc__free(k);
    }
}

/*
 * A latency into the histogram of this thread's row whose buckets start
 * at bucket and whose sum follows them. Its bucket is the first whose
 * bound it does not pass. The latencies of one bit length lie in
 * [2^(len-1), 2^len), where no two bounds fit, each being at least
 * twice the one before: so the bucket is first[len], or the next one
 * when the latency passes first[len]'s bound (never past NBOUNDS, whose
 * sentinel nothing passes). A search through the bounds took as many
 * steps as buckets below the latency: its cost moved with the latency,
 * which under callgrind made a cached classification's count vary.
 */
static void add_latency(const tc__cls_counts *k, _Atomic uint64_t *row,
                        size_t bucket, int64_t latency_us)
{
    uint64_t us = latency_us > 0 ? (uint64_t)latency_us : 0;
    size_t b = k->first[64 - __builtin_clzll(us | 1)];

    b += us > (uint64_t)tc__cls_bounds_us[b];
    tc__counters_row_add(row, bucket + b, 1);
    tc__counters_row_add(row, bucket + NBOUNDS + 1, us);
}

void tc__cls_count(tc__cls_counts *k, tc__cls_status st, int64_t latency_us)
{
    _Atomic uint64_t *row;

    if (!k || st >= TC__CLS_COUNT) {
        return;
    }
    row = tc__counters_row(&k->c);
    tc__counters_row_add(row, K_STATUS + (size_t)st, 1);
    add_latency(k, row, K_BUCKET, latency_us);
}

void tc__cls_count_arm(tc__cls_counts *k, tc__cls_arm arm, int hit,
                       int64_t latency_us)
{
    size_t a = K_ARM + (size_t)arm * A_SIZE;
    _Atomic uint64_t *row;

    if (!k || arm >= TC__ARM_COUNT) {
        return;
    }
    row = tc__counters_row(&k->c);
    tc__counters_row_add(row, a + TC__ARM_CLASSIFICATIONS, 1);
    if (hit) {
        tc__counters_row_add(row, a + TC__ARM_HITS, 1);
    }
    add_latency(k, row, a + A_BUCKET, latency_us);
}

void tc__cls_count_arm_error(tc__cls_counts *k, tc__cls_arm arm)
{
    if (k && arm < TC__ARM_COUNT) {
        tc__counters_add(&k->c, K_ARM + (size_t)arm * A_SIZE + TC__ARM_ERRORS,
                         1);
    }
}

uint64_t tc__cls_counts_status(const tc__cls_counts *k, tc__cls_status st)
{
    return k && st < TC__CLS_COUNT ? tc__counters_sum(&k->c, K_STATUS + st) : 0;
}

uint64_t tc__cls_counts_bucket(const tc__cls_counts *k, size_t i)
{
    return k && i <= NBOUNDS ? tc__counters_sum(&k->c, K_BUCKET + i) : 0;
}

uint64_t tc__cls_counts_sum_us(const tc__cls_counts *k)
{
    return k ? tc__counters_sum(&k->c, K_SUM) : 0;
}

uint64_t tc__cls_arm_get(const tc__cls_counts *k, tc__cls_arm arm,
                         tc__arm_what what)
{
    return k && arm < TC__ARM_COUNT && what < TC__ARM_WHAT_COUNT
               ? tc__counters_sum(&k->c, K_ARM + (size_t)arm * A_SIZE + what)
               : 0;
}

uint64_t tc__cls_arm_bucket(const tc__cls_counts *k, tc__cls_arm arm, size_t i)
{
    return k && arm < TC__ARM_COUNT && i <= NBOUNDS
               ? tc__counters_sum(&k->c,
                                  K_ARM + (size_t)arm * A_SIZE + A_BUCKET + i)
               : 0;
}

uint64_t tc__cls_arm_sum_us(const tc__cls_counts *k, tc__cls_arm arm)
{
    return k && arm < TC__ARM_COUNT
               ? tc__counters_sum(&k->c, K_ARM + (size_t)arm * A_SIZE + A_SUM)
               : 0;
}

int tc__cls_arms_used(const tc__cls_counts *k)
{
    for (int a = 0; a < TC__ARM_COUNT; a++) {
        for (int w = 0; w < TC__ARM_WHAT_COUNT; w++) {
            if (tc__cls_arm_get(k, (tc__cls_arm)a, (tc__arm_what)w)) {
                return 1;
            }
        }
    }
    return 0;
}

/* ---- the arms' models, for feedback -------------------------------------- */

void tc__cls_arms_add(tc__cls_counts *k, const void *owner,
                      const tc_model *const model[TC__ARM_COUNT],
                      const char *const version[TC__ARM_COUNT])
{
    if (!k) {
        return;
    }
    pthread_mutex_lock(&k->arms_mu);
    for (size_t i = 0; i < TC__ARMS_MAX; i++) {
        if (!k->arms[i].owner) {
            k->arms[i].owner = owner;
            for (int a = 0; a < TC__ARM_COUNT; a++) {
                k->arms[i].model[a] = model[a];
                k->arms[i].version[a] = version[a];
            }
            break;
        }
    }
    pthread_mutex_unlock(&k->arms_mu);
}

void tc__cls_arms_drop(tc__cls_counts *k, const void *owner)
{
    if (!k) {
        return;
    }
    pthread_mutex_lock(&k->arms_mu);
    for (size_t i = 0; i < TC__ARMS_MAX; i++) {
        if (k->arms[i].owner == owner) {
            memset(&k->arms[i], 0, sizeof(k->arms[i]));
        }
    }
    pthread_mutex_unlock(&k->arms_mu);
}

int tc__cls_arm_of(tc__cls_counts *k, const char *model)
{
    char fp[TC_FINGERPRINT_LEN + 1];
    int arm = -1;

    if (!k || !model) {
        return -1;
    }
    pthread_mutex_lock(&k->arms_mu);
    for (size_t i = 0; arm < 0 && i < TC__ARMS_MAX; i++) {
        for (int a = 0; k->arms[i].owner && arm < 0 && a < TC__ARM_COUNT; a++) {
            const char *id = k->arms[i].version[a], *m = model;

            if (k->arms[i].model[a]) {
                tc__model_fingerprint(fp, k->arms[i].model[a]);
                id = fp;
            } else if (strncmp(m, "fn:", 3) == 0) {
                m += 3; /* a host model's answers name it "fn:VERSION" */
            }
            if (id && strcmp(id, m) == 0) {
                arm = a;
            }
        }
    }
    pthread_mutex_unlock(&k->arms_mu);
    return arm;
}

void tc__cls_count_arm_feedback(tc__cls_counts *k, tc__cls_arm arm,
                                int correction)
{
    if (k && arm < TC__ARM_COUNT) {
        tc__counters_add(
            &k->c,
            K_ARM + (size_t)arm * A_SIZE +
                (correction ? TC__ARM_CORRECTIONS : TC__ARM_CONFIRMATIONS),
            1);
    }
}

void tc__cls_count_shadow(tc__cls_counts *k, tc__shadow_what what)
{
    if (k && what < TC__SHADOW_COUNT) {
        tc__counters_add(&k->c, K_SHADOW + (size_t)what, 1);
    }
}

uint64_t tc__cls_shadow_get(const tc__cls_counts *k, tc__shadow_what what)
{
    return k && what < TC__SHADOW_COUNT
               ? tc__counters_sum(&k->c, K_SHADOW + (size_t)what)
               : 0;
}
