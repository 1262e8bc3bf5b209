/*
 * classifier.h - the classifier itself, shared by the files that set it
 * up and serve it: classifier.c opens and closes it, classify.c answers
 * with one model (tc__classify) and compute.c asks that model; ab.c, for
 * a classifier with an A/B rollout's candidate, chooses the arm and asks
 * classify.c. The doors (lib/api/classify.c) send a classifier with a
 * candidate to ab.c and any other straight to classify.c, so the path
 * without a candidate is what it was.
 */
#ifndef TC_CLASSIFIER_H
#define TC_CLASSIFIER_H

#include "base/internal.h"
#include "cache/cache.h"
#include "cache/ns.h"
#include "classify/classify.h"
#include "classify/shadow.h"

/* A host model's version, with its NUL, at most. */
#define ID_MAX 128

struct tc_classifier {
    tc__cache *cache;
    tc__cache *ocache; /* the overrides' (feedback's store), or cache */
    tc__nsrt *nsh;     /* ns and the overrides' namespace, resolved once */
    tc__nsrt *fbh;
    tc__cls_counts *counts; /* NULL: metrics off */
    const tc__logger *log;
    tc_model *model;
    tc_classifier_fn fn;
    void *fn_userdata;
    char *fn_version;
    size_t fn_vlen;
    char *ns;
    int top_k;
    char topk[16];   /* the key's tail: a NUL, top_k's digits, a NUL */
    size_t topk_len; /* without the last NUL */
    double threshold;
    struct tc__popular *pop;   /* track_popular's counting, or NULL */
    struct tc__served *served; /* count_intents' counting, or NULL */
    tc_classifier *cand;       /* an A/B rollout's candidate, or NULL */
    double split;              /* the candidate's share */
    tc__shadow *shadow;        /* shadow checks (shadow.h), or NULL: off; a
                                  candidate shares its control's */
    uint64_t shadow_cut;       /* tc__shadow_cut(shadow_rate) */
};

/* Asks the model (built-in or host) of c for its answer to the
 * normalized text, packed (packed.h); *cacheable is 0 when the model
 * changed under the key's identity id (classify.c). Also what the shadow
 * checks recompute with. */
int tc__classify_compute(char **packed, size_t *plen, int *cacheable,
                         tc_classifier *c, const char *norm, size_t len,
                         const char *id);

/*
 * A JSON classification (a fresh answer, an L2 hit, another writer's
 * value) in the packed form L1 keeps (compute.c), counted under the
 * key's identity id (served.h) whatever model the JSON names: the
 * canonical form is decoded directly; another shape (key order, extra
 * fields) is re-encoded once, with "model" defaulting to id. *out is
 * tc__malloc'd.
 * Returns TC_OK, TC_EPROTO (not a classification at all) or TC_ENOMEM.
 */
int tc__classify_pack_json(char **out, size_t *outlen, const char *val,
                           size_t len, const char *id);

/* The outcome of a classification for the counters: r NULL, an error. */
static inline tc__cls_status tc__cls_status_of(const tc_result *r)
{
    return !r                                ? TC__CLS_ERROR
           : r->source == TC_SOURCE_MODEL    ? TC__CLS_CACHE_MISS
           : r->source == TC_SOURCE_FEEDBACK ? TC__CLS_FEEDBACK
                                             : TC__CLS_CACHE_HIT;
}

/* tc__classify and tc__classify_batch for a classifier with a candidate
 * (ab.c); user_id chooses the arm (NULL: the normalized text). The
 * candidate counts nothing itself (its counts are NULL): its answers are
 * counted here, control's by tc__classify. */
int tc__ab_classify(tc_result **out, tc_classifier *c, const char *text,
                    size_t len, const char *user_id);
int tc__ab_classify_batch(tc_result **out, int *status, tc_classifier *c,
                          const char *const *texts, const size_t *lens,
                          size_t n);

/* The arm of a text (user_id NULL) or of a user: a hash of the user_id or
 * of the normalized text, as a share in [0, 1), below split (ab.c). */
tc__cls_arm tc__ab_arm(const char *text, size_t len, const char *user_id,
                       double split);

#endif
