/*
 * ab.c - a classifier with an A/B rollout's candidate (classifier.h):
 * the arm of each text or user, the candidate's answers with control's
 * behind them, the arm named in each answer and counted. A classifier
 * without a candidate never comes here.
 */
#include <string.h>

#include "base/normalize.h"
#include "classify/classifier.h"
#include "classify/result.h"

static const char *const arm_names[TC__ARM_COUNT] = {"control", "candidate"};

/* FNV-1a, then a finalizer (splitmix64's) so that the top bits, which
 * make the share, depend on every byte. */
static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

tc__cls_arm tc__ab_arm(const char *text, size_t len, const char *user_id,
                       double split)
{
    uint64_t h;

    if (user_id) {
        h = hash(user_id, strlen(user_id));
    } else {
        char *norm;
        size_t nlen;

        /* a text that does not normalize goes to control, which says why */
        if (!text || tc__text_normalize(&norm, &nlen, text, len) != TC_OK) {
            return TC__ARM_CONTROL;
        }
        h = hash(norm, nlen);
        tc__free(norm);
    }
    /* the top 53 bits as a share in [0, 1) */
    return (double)(h >> 11) * (1.0 / 9007199254740992.0) < split
               ? TC__ARM_CANDIDATE
               : TC__ARM_CONTROL;
}

/*
 * Names the arm in r: r->arm, and "arm" appended to its JSON, in the room
 * the result's block keeps after its tail (TC__RESULT_TAIL_MAX).
 */
static void name_arm(tc_result *r, tc__cls_arm arm)
{
    char *end = (char *)r->json + strlen(r->json);

    r->arm = arm_names[arm];
    memcpy(end - 1, ",\"arm\":\"", 8);
    end += 7;
    memcpy(end, r->arm, strlen(r->arm));
    end += strlen(r->arm);
    memcpy(end, "\"}", 3);
}

/* An arm's answer: named and counted. */
static void answered(const tc_classifier *c, tc_result *r, tc__cls_arm arm)
{
    name_arm(r, arm);
    tc__cls_count_arm(c->counts, arm,
                      r->source == TC_SOURCE_L1 || r->source == TC_SOURCE_L2,
                      r->latency_us);
}

/* A candidate's failure that control should answer: not the text's own
 * fault (bad input fails in either arm) and not memory. */
static int falls_back(int rc)
{
    return rc != TC_OK && rc != TC_EINVAL && rc != TC_ENOMEM;
}

/* A candidate's answer (or failure) for the handle's counters, which
 * the candidate does not count itself. */
static void count_candidate(const tc_classifier *c, const tc_result *r,
                            int64_t t0)
{
    tc__cls_count(c->counts, tc__cls_status_of(r),
                  r ? r->latency_us : tc__now_us() - t0);
}

int tc__ab_classify(tc_result **out, tc_classifier *c, const char *text,
                    size_t len, const char *user_id)
{
    tc__cls_arm arm = tc__ab_arm(text, len, user_id, c->split);
    int64_t t0 = tc__now_us();
    int rc;

    if (arm == TC__ARM_CANDIDATE) {
        rc = tc__classify(out, c->cand, text, len);
        if (rc == TC_OK || !falls_back(rc)) {
            count_candidate(c, rc == TC_OK ? *out : NULL, t0);
            if (rc == TC_OK) {
                answered(c, *out, arm);
            }
            return rc;
        }
        tc__cls_count_arm_error(c->counts, arm);
        tc__clear();
        arm = TC__ARM_CONTROL;
        /* the candidate counted the text's popularity: once is enough */
        rc = tc__classify_fallback(out, c, text, len);
    } else {
        rc = tc__classify(out, c, text, len);
    }
    if (rc == TC_OK) {
        answered(c, *out, arm);
    }
    return rc;
}

/* The texts of one arm: their places in the batch, and a batch of them. */
typedef struct arm_batch {
    size_t n;
    size_t *where;
    const char **texts;
    size_t *lens;
    tc_result **out;
    int *status;
} arm_batch;

static int arm_batch_alloc(arm_batch *b, size_t n)
{
    memset(b, 0, sizeof(*b));
    b->where = tc__calloc(n, sizeof(*b->where));
    b->texts = tc__calloc(n, sizeof(*b->texts));
    b->lens = tc__calloc(n, sizeof(*b->lens));
    b->out = tc__calloc(n, sizeof(*b->out));
    b->status = tc__calloc(n, sizeof(*b->status));
    return b->where && b->texts && b->lens && b->out && b->status ? TC_OK
                                                                  : TC_ENOMEM;
}

static void arm_batch_free(arm_batch *b)
{
    tc__free(b->where);
    tc__free(b->texts);
    tc__free(b->lens);
    tc__free(b->out);
    tc__free(b->status);
}

/*
 * Each arm's texts in one batch of its own (one round trip each); a text
 * the candidate failed is then asked of control alone.
 */
int tc__ab_classify_batch(tc_result **out, int *status, tc_classifier *c,
                          const char *const *texts, const size_t *lens,
                          size_t n)
{
    tc_classifier *cls[TC__ARM_COUNT] = {c, c->cand};
    arm_batch b[TC__ARM_COUNT];
    int rc = TC_OK;
    size_t i;
    int a;

    if (arm_batch_alloc(&b[0], n) != TC_OK ||
        arm_batch_alloc(&b[1], n) != TC_OK) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        arm_batch *to = &b[tc__ab_arm(texts[i], lens[i], NULL, c->split)];

        to->where[to->n] = i;
        to->texts[to->n] = texts[i];
        to->lens[to->n++] = lens[i];
    }
    for (a = 0; a < TC__ARM_COUNT && rc == TC_OK; a++) {
        int64_t t0 = tc__now_us();

        rc = tc__classify_batch(b[a].out, b[a].status, cls[a], b[a].texts,
                                b[a].lens, b[a].n);
        for (i = 0; rc == TC_OK && i < b[a].n; i++) {
            size_t k = b[a].where[i];
            int st = b[a].status[i];
            tc__cls_arm arm = (tc__cls_arm)a;

            out[k] = b[a].out[i];
            if (arm == TC__ARM_CANDIDATE && falls_back(st)) {
                tc__cls_count_arm_error(c->counts, arm);
                arm = TC__ARM_CONTROL;
                st = tc__classify_fallback(&out[k], c, texts[k], lens[k]);
            } else if (arm == TC__ARM_CANDIDATE) {
                count_candidate(c, out[k], t0);
            }
            if (st == TC_OK) {
                answered(c, out[k], arm);
            }
            if (status) {
                status[k] = st;
            }
        }
    }
done:
    arm_batch_free(&b[0]);
    arm_batch_free(&b[1]);
    if (rc != TC_OK) {
        for (i = 0; i < n; i++) {
            tc__free(out[i]);
            out[i] = NULL;
        }
    }
    return rc;
}
