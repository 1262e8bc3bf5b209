/*
 * metrics.c - the Prometheus text exposition of a handle: what
 * classification and feedback counted (classify/counts.h,
 * feedback/counts.h), the cache's namespaces and tiers, and the store's
 * health. Names follow the original service where it had them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/sbuf.h"
#include "cache/cache.h"
#include "classify/counts.h"
#include "feedback/counts.h"
#include "feedback/feedback.h"
#include "report/report.h"

static void family(tc__sb *b, const char *name, const char *type,
                   const char *help)
{
    tc__sb_str(b, "# HELP ");
    tc__sb_str(b, name);
    tc__sb_str(b, " ");
    tc__sb_str(b, help);
    tc__sb_str(b, "\n# TYPE ");
    tc__sb_str(b, name);
    tc__sb_str(b, " ");
    tc__sb_str(b, type);
    tc__sb_str(b, "\n");
}

/* A label value: backslash, double quote and newline escaped. */
static void label(tc__sb *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            char e[2] = {'\\', *v};

            tc__sb_put(b, e, 2);
        } else if (*v == '\n') {
            tc__sb_str(b, "\\n");
        } else {
            tc__sb_put(b, v, 1);
        }
    }
}

static void sample(tc__sb *b, const char *name, const char *labels, uint64_t v)
{
    tc__sb_str(b, name);
    if (labels) {
        tc__sb_str(b, labels);
    }
    tc__sb_printf(b, " %" PRIu64 "\n", v);
}

/* An A/B rollout's arms, once a classifier with a candidate answered:
 * answers, cache hits, failures answered by control and feedback
 * records naming the arm's model, per arm, and each arm's latency. */
static void arm_families(tc__sb *b, const tc__cls_counts *m)
{
    static const char *arm[] = {"control", "candidate"};
    static const char *name[] = {
        "intent_ab_classifications_total", "intent_ab_cache_hits_total",
        "intent_ab_fallbacks_total", "intent_ab_corrections_total",
        "intent_ab_confirmations_total"};
    static const char *help[] = {
        "Answers per arm of an A/B rollout.",
        "Answers per arm served from the cache.",
        "Failures per arm answered by control instead.",
        "Feedback corrections naming the model of the arm.",
        "Feedback confirmations naming the model of the arm."};
    char lab[96];
    size_t a, w, i;

    for (w = 0; w < TC__ARM_WHAT_COUNT; w++) {
        family(b, name[w], "counter", help[w]);
        for (a = 0; a < TC__ARM_COUNT; a++) {
            snprintf(lab, sizeof(lab), "{arm=\"%s\"}", arm[a]);
            sample(b, name[w], lab,
                   tc__cls_arm_get(m, (tc__cls_arm)a, (tc__arm_what)w));
        }
    }
    family(b, "intent_ab_duration_seconds", "histogram",
           "Time to classify one text, per arm of an A/B rollout.");
    for (a = 0; a < TC__ARM_COUNT; a++) {
        uint64_t cum = 0;

        for (i = 0; i <= tc__cls_nbounds; i++) {
            cum += tc__cls_arm_bucket(m, (tc__cls_arm)a, i);
            if (i < tc__cls_nbounds) {
                snprintf(lab, sizeof(lab), "{arm=\"%s\",le=\"%g\"}", arm[a],
                         (double)tc__cls_bounds_us[i] / 1e6);
            } else {
                snprintf(lab, sizeof(lab), "{arm=\"%s\",le=\"+Inf\"}", arm[a]);
            }
            sample(b, "intent_ab_duration_seconds_bucket", lab, cum);
        }
        tc__sb_printf(b, "intent_ab_duration_seconds_sum{arm=\"%s\"} %.6f\n",
                      arm[a],
                      (double)tc__cls_arm_sum_us(m, (tc__cls_arm)a) / 1e6);
        snprintf(lab, sizeof(lab), "{arm=\"%s\"}", arm[a]);
        sample(b, "intent_ab_duration_seconds_count", lab, cum);
    }
}

static void classify_families(tc__sb *b, const tc__cls_counts *m,
                              const tc__fb_counts *fb)
{
    static const char *status[] = {"cache_hit", "cache_miss", "feedback",
                                   "error"};
    static const char *types[] = {"correction", "confirmation", "invalid"};
    static const char *fbst[] = {"accepted", "rejected", "spooled"};
    char lab[96];
    uint64_t cum = 0;
    size_t i, j, n;

    family(b, "intent_classification_requests_total", "counter",
           "Classifications by outcome.");
    for (i = 0; i < TC__CLS_COUNT; i++) {
        snprintf(lab, sizeof(lab), "{status=\"%s\"}", status[i]);
        sample(b, "intent_classification_requests_total", lab,
               tc__cls_counts_status(m, (tc__cls_status)i));
    }
    family(b, "intent_classification_duration_seconds", "histogram",
           "Time to classify one text, cache lookups included.");
    for (i = 0; i <= tc__cls_nbounds; i++) {
        cum += tc__cls_counts_bucket(m, i);
        if (i < tc__cls_nbounds) {
            snprintf(lab, sizeof(lab), "{le=\"%g\"}",
                     (double)tc__cls_bounds_us[i] / 1e6);
        } else {
            snprintf(lab, sizeof(lab), "{le=\"+Inf\"}");
        }
        sample(b, "intent_classification_duration_seconds_bucket", lab, cum);
    }
    tc__sb_printf(b, "intent_classification_duration_seconds_sum %.6f\n",
                  (double)tc__cls_counts_sum_us(m) / 1e6);
    sample(b, "intent_classification_duration_seconds_count", NULL, cum);
    if (tc__cls_arms_used(m)) {
        arm_families(b, m);
    }
    family(b, "intent_feedback_submissions_total", "counter",
           "Feedback records by type and status.");
    for (i = 0; i < TC__FB_KINDS; i++) {
        for (j = 0; j < TC__FB_STATUS_COUNT; j++) {
            snprintf(lab, sizeof(lab), "{type=\"%s\",status=\"%s\"}", types[i],
                     fbst[j]);
            sample(b, "intent_feedback_submissions_total", lab,
                   tc__fb_counts_get(fb, (int)i, (tc__fb_status)j));
        }
    }
    family(b, "intent_feedback_corrections_total", "counter",
           "Corrections by (original -> correct) intent; at most 100 "
           "pairs, the rest as other.");
    n = tc__fb_counts_npairs(fb);
    for (i = 0; i < n; i++) {
        const char *o, *c;
        uint64_t v = tc__fb_counts_pair(fb, i, &o, &c);

        tc__sb_str(b, "intent_feedback_corrections_total{original=\"");
        label(b, o);
        tc__sb_str(b, "\",correct=\"");
        label(b, c);
        tc__sb_printf(b, "\"} %" PRIu64 "\n", v);
    }
    if (tc__fb_counts_other(fb)) {
        sample(b, "intent_feedback_corrections_total",
               "{original=\"other\",correct=\"other\"}",
               tc__fb_counts_other(fb));
    }
}

/* Per namespace: one family per counter, a sample per namespace. */
static void cache_families(tc__sb *b, tc__cache *h, const tc__fb *fbx)
{
    const tc__config *cfg = tc__cache_config(h);
    size_t i;

    family(b, "tutorcache_cache_requests_total", "counter",
           "Cache lookups by namespace, tier and result.");
    for (i = 0; i < cfg->nns; i++) {
        static const struct {
            const char *tier, *result;
        } rows[] = {
            {"l1", "hit"}, {"l2", "hit"}, {"none", "miss"}, {"loader", "load"}};
        tc_ns_stats s;
        uint64_t v[4];
        size_t r;

        tc__cache_stats(&s, tc__report_ns_cache(h, fbx, cfg->ns[i].name),
                        cfg->ns[i].name);
        v[0] = s.l1_hits;
        v[1] = s.l2_hits;
        v[2] = s.misses;
        v[3] = s.loads;
        for (r = 0; r < 4; r++) {
            tc__sb_str(b, "tutorcache_cache_requests_total{namespace=\"");
            label(b, cfg->ns[i].name);
            tc__sb_printf(b, "\",tier=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                          rows[r].tier, rows[r].result, v[r]);
        }
    }
    {
        static const char *names[] = {"tutorcache_cache_sets_total",
                                      "tutorcache_cache_deletes_total",
                                      "tutorcache_cache_l2_errors_total",
                                      "tutorcache_cache_degraded_total"};
        static const char *helps[] = {
            "Values stored, by namespace.", "Deletes, by namespace.",
            "L2 calls that failed, by namespace.",
            "Gets and sets answered without the L2, by namespace."};
        size_t f;

        for (f = 0; f < 4; f++) {
            family(b, names[f], "counter", helps[f]);
            for (i = 0; i < cfg->nns; i++) {
                tc_ns_stats s;
                uint64_t v;

                tc__cache_stats(&s,
                                tc__report_ns_cache(h, fbx, cfg->ns[i].name),
                                cfg->ns[i].name);
                v = f == 0   ? s.sets
                    : f == 1 ? s.dels
                    : f == 2 ? s.l2_errors
                             : s.degraded;
                tc__sb_str(b, names[f]);
                tc__sb_str(b, "{namespace=\"");
                label(b, cfg->ns[i].name);
                tc__sb_printf(b, "\"} %" PRIu64 "\n", v);
            }
        }
    }
}

static void store_families(tc__sb *b, tc__cache *h, const tc__fb *fbx)
{
    tc__l1_stats l1;
    tc__store_health hl;
    char lab[64];
    int has = tc__cache_health(h, &l1, &hl);

    family(b, "tutorcache_l1_bytes", "gauge", "Bytes held by the L1.");
    sample(b, "tutorcache_l1_bytes", NULL, l1.bytes);
    family(b, "tutorcache_l1_entries", "gauge", "Entries in the L1.");
    sample(b, "tutorcache_l1_entries", NULL, l1.entries);
    family(b, "tutorcache_l1_max_bytes", "gauge", "The L1's byte budget.");
    sample(b, "tutorcache_l1_max_bytes", NULL,
           (uint64_t)tc__cache_config(h)->l1_max_bytes);
    family(b, "tutorcache_l1_evictions_total", "counter",
           "Live L1 entries evicted to make room.");
    sample(b, "tutorcache_l1_evictions_total", NULL, l1.evictions);
    snprintf(lab, sizeof(lab), "{kind=\"%s\"}", tc__cache_store_kind(h));
    family(b, "tutorcache_l2_up", "gauge",
           "1 when the last L2 call succeeded (always 1 for memory:).");
    sample(b, "tutorcache_l2_up", lab, has ? (uint64_t)hl.up : 1);
    family(b, "tutorcache_l2_breaker_open", "gauge",
           "1 while the circuit breaker keeps calls from the L2.");
    sample(b, "tutorcache_l2_breaker_open", lab,
           has && hl.breaker && strcmp(hl.breaker, "closed") != 0);
    family(b, "tutorcache_l2_reconnects_total", "counter",
           "Connections to the L2 made again after a failure.");
    sample(b, "tutorcache_l2_reconnects_total", lab, has ? hl.reconnects : 0);
    family(b, "tutorcache_l2_errors_total", "counter",
           "L2 calls and items that failed.");
    sample(b, "tutorcache_l2_errors_total", lab, has ? hl.errors : 0);
    family(b, "tutorcache_l2_write_errors_total", "counter",
           "L2 writes that failed, by reason (the value stayed in L1 "
           "briefly and the write succeeded for its caller).");
    for (int r = 0; r < TC__WRITE_NREASONS; r++) {
        snprintf(lab, sizeof(lab), "{reason=\"%s\"}", tc__write_reasons[r]);
        sample(b, "tutorcache_l2_write_errors_total", lab,
               tc__cache_write_errors(h, r));
    }
    family(b, "tutorcache_l2_decrypt_failures_total", "counter",
           "Sealed L2 values that did not open (damaged, moved to another "
           "key, or sealed by a key not held): answered as misses.");
    sample(b, "tutorcache_l2_decrypt_failures_total", NULL,
           tc__cache_seal_failures(h, TC__SEAL_L2));
    family(b, "tutorcache_feedback_decrypt_failures_total", "counter",
           "Sealed feedback records that did not open: handed out marked "
           "unopened.");
    sample(b, "tutorcache_feedback_decrypt_failures_total", NULL,
           tc__cache_seal_failures(fbx->cache, TC__SEAL_FEEDBACK));
}

/* Where feedback is kept, and whether it may be lost there (risk.c). */
static void feedback_families(tc__sb *b, tc__cache *h, tc__fb *fbx)
{
    tc__store_keeping k;
    tc__l1_stats l1;
    tc__store_health hl;
    char lab[64];

    tc__fb_risk(fbx, &k);
    family(b, "tutorcache_feedback_at_risk", "gauge",
           "1 when the feedback store's server may evict feedback "
           "(maxmemory-policy allkeys-*) or loses it on restart (neither "
           "AOF nor save points); see tutorcache feedback stats.");
    sample(b, "tutorcache_feedback_at_risk", "{reason=\"evictable\"}",
           k.evictable == 1);
    sample(b, "tutorcache_feedback_at_risk", "{reason=\"not_persistent\"}",
           k.persistent == 0);
    if (fbx->cache == h || !tc__cache_health(fbx->cache, &l1, &hl)) {
        return;
    }
    snprintf(lab, sizeof(lab), "{kind=\"%s\"}",
             tc__cache_store_kind(fbx->cache));
    family(b, "tutorcache_feedback_store_up", "gauge",
           "1 when the last call to feedback's own store (feedback_store) "
           "succeeded.");
    sample(b, "tutorcache_feedback_store_up", lab, (uint64_t)hl.up);
}

/* Shadow checks of cached answers (classify/shadow.c): their outcomes,
 * the hits sampled but dropped, and the share of checks that disagreed,
 * the number that says whether the cache's TTL is too long. */
static void shadow_families(tc__sb *b, const tc__cls_counts *m)
{
    uint64_t agree = tc__cls_shadow_get(m, TC__SHADOW_AGREE);
    uint64_t disagree = tc__cls_shadow_get(m, TC__SHADOW_DISAGREE);

    family(b, "intent_cache_shadow_checks_total", "counter",
           "Cached answers classified again fresh, by outcome.");
    sample(b, "intent_cache_shadow_checks_total", "{outcome=\"agree\"}", agree);
    sample(b, "intent_cache_shadow_checks_total", "{outcome=\"disagree\"}",
           disagree);
    family(b, "intent_cache_shadow_dropped_total", "counter",
           "Cache hits sampled for a shadow check but dropped: the queue "
           "was full.");
    sample(b, "intent_cache_shadow_dropped_total", NULL,
           tc__cls_shadow_get(m, TC__SHADOW_DROPPED));
    family(b, "intent_cache_shadow_failures_total", "counter",
           "Shadow checks whose fresh classification failed.");
    sample(b, "intent_cache_shadow_failures_total", NULL,
           tc__cls_shadow_get(m, TC__SHADOW_FAILED));
    family(b, "intent_cache_shadow_disagreement_rate", "gauge",
           "Shadow checks that disagreed over all checks (0 before any).");
    tc__sb_printf(
        b, "intent_cache_shadow_disagreement_rate %.6f\n",
        agree + disagree ? (double)disagree / (double)(agree + disagree) : 0.0);
}

int tc__metrics_render(tc__sb *b, tc__cache *h, tc__fb *fbx,
                       const tc__cls_counts *cls, const tc__fb_counts *fb)
{
    classify_families(b, cls, fb);
    shadow_families(b, cls);
    cache_families(b, h, fbx);
    store_families(b, h, fbx);
    feedback_families(b, h, fbx);
    return b->oom ? TC_ENOMEM : TC_OK;
}
