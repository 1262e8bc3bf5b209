/*
 * classifier.h - the classifier itself, shared by the two files of
 * lib/classify that serve it: classify.c answers with one model, ab.c
 * (which holds tc__classify and tc__classify_batch) chooses between
 * control and an A/B rollout's candidate, and counts.
 */
#ifndef TC_CLASSIFIER_H
#define TC_CLASSIFIER_H

#include "base/internal.h"
#include "cache/cache.h"
#include "cache/ns.h"
#include "classify/classify.h"

/* A host model's version, with its NUL, at most. */
#define ID_MAX 128

struct tc_classifier {
    tc__cache *cache;
    tc__cache *ocache; /* the overrides' (feedback's store), or cache */
    tc__nsrt *nsh; /* ns and the overrides' namespace, resolved once */
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
    tc_classifier *cand; /* an A/B rollout's candidate, or NULL */
    double split;        /* the candidate's share */
};

/* One classifier's own answers, counted by none (classify.c); t0 is when
 * the call began. */
int tc__classify_one(tc_result **out, tc_classifier *c, const char *text,
                     size_t len, int64_t t0);
int tc__classify_batch_one(tc_result **out, int *status, tc_classifier *c,
                           const char *const *texts, const size_t *lens,
                           size_t n, int64_t t0);

/* The arm of a text (user_id NULL) or of a user: a hash of the user_id or
 * of the normalized text, as a share in [0, 1), below split (ab.c). */
tc__cls_arm tc__ab_arm(const char *text, size_t len, const char *user_id,
                       double split);

#endif
