/*
 * classifier.c - a classifier's set-up and its end: the options checked,
 * the namespaces resolved once, an A/B rollout's candidate opened as a
 * classifier of its own, and the shadow checks' thread started. What it
 * serves is in classify.c (one model) and ab.c (a candidate beside it).
 */
#include <stdio.h>
#include <string.h>

#include "base/internal.h"
#include "cache/cache.h"
#include "cache/ns.h"
#include "classify/classifier.h"

#define DEFAULT_TOP_K 3
#define DEFAULT_NS "intents"

void tc__classifier_options_init(tc_classifier_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->version = TC_CLASSIFIER_OPTIONS_VERSION;
}

int tc__classifier_open(tc_classifier **out, tc__cache *cache,
                        tc__cache *overrides, tc__cls_counts *counts,
                        const tc_classifier_options *opt)
{
    const char *ns = opt->ns ? opt->ns : DEFAULT_NS;
    tc__nsrt *nsh, *fbh;
    tc_classifier *c;
    int rc;

    if (!opt->model == !opt->fn) {
        return tc__fail(TC_EINVAL,
                        "a classifier needs a model or a callback, not both");
    }
    if (opt->fn && (!opt->fn_version || !*opt->fn_version ||
                    strlen(opt->fn_version) >= ID_MAX)) {
        return tc__fail(TC_EINVAL,
                        "a callback needs a version (1-%d bytes), part of "
                        "the cache key",
                        ID_MAX - 1);
    }
    if (!(opt->threshold >= 0 && opt->threshold <= 1)) {
        return tc__fail(TC_EINVAL, "threshold: not in 0..1");
    }
    /* an unknown namespace is an error now, not at the first call */
    if ((rc = tc__cache_ns_find(&nsh, cache, ns)) != TC_OK ||
        (rc = tc__cache_ns_find(&fbh, overrides, TC__OVERRIDE_NS)) != TC_OK) {
        return rc;
    }
    if (opt->version >= 2 && (opt->candidate_model || opt->candidate_fn) &&
        !(opt->split >= 0 && opt->split <= 1)) {
        return tc__fail(TC_EINVAL, "split: not in 0..1");
    }
    if (opt->version >= 3 &&
        !(opt->shadow_rate >= 0 && opt->shadow_rate <= 1)) {
        return tc__fail(TC_EINVAL, "shadow_rate: not in 0..1");
    }
    if (!(c = tc__calloc(1, sizeof(*c)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    c->cache = cache;
    c->ocache = overrides;
    c->nsh = nsh;
    c->fbh = fbh;
    c->counts = counts;
    c->log = tc__cache_logger(cache);
    c->model = opt->model;
    c->fn = opt->fn;
    c->fn_userdata = opt->fn_userdata;
    c->top_k = opt->top_k > 0 ? opt->top_k : DEFAULT_TOP_K;
    c->threshold = opt->threshold;
    c->ns = tc__strdup(ns);
    c->fn_version = opt->fn ? tc__strdup(opt->fn_version) : NULL;
    if (!c->ns || (opt->fn && !c->fn_version)) {
        tc__classifier_close(c);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    c->fn_vlen = c->fn_version ? strlen(c->fn_version) : 0;
    c->topk[0] = '\0';
    c->topk_len =
        1 + (size_t)snprintf(c->topk + 1, sizeof(c->topk) - 1, "%d", c->top_k);
    if (opt->version >= 2 && (opt->candidate_model || opt->candidate_fn)) {
        /* the candidate: the same cache and namespace, its own identity
         * in the key; counted by this classifier, not by itself */
        tc_classifier_options co = *opt;

        co.version = 1;
        co.model = opt->candidate_model;
        co.fn = opt->candidate_fn;
        co.fn_userdata = opt->candidate_fn_userdata;
        co.fn_version = opt->candidate_fn_version;
        c->split = opt->split;
        if ((rc = tc__classifier_open(&c->cand, cache, overrides, NULL, &co)) !=
            TC_OK) {
            char why[256];

            snprintf(why, sizeof(why), "%s", tc__errmsg());
            tc__classifier_close(c);
            return tc__fail(rc, "candidate: %s", why);
        }
    }
    if (opt->version >= 3 && opt->shadow_rate > 0) {
        if ((rc = tc__shadow_new(&c->shadow, counts, tc__classify_compute)) !=
            TC_OK) {
            tc__classifier_close(c);
            return rc;
        }
        c->shadow_cut = tc__shadow_cut(opt->shadow_rate);
        if (c->cand) {
            c->cand->shadow = c->shadow;
            c->cand->shadow_cut = c->shadow_cut;
        }
    }
    *out = c;
    return TC_OK;
}

void tc__classifier_close(tc_classifier *c)
{
    if (c) {
        /* the thread first: it may be checking this one's hit or a
         * candidate's */
        tc__shadow_free(c->shadow);
        if (c->cand) {
            c->cand->shadow = NULL;
        }
        tc__free(c->ns);
        tc__free(c->fn_version);
        tc__classifier_close(c->cand);
        tc__free(c);
    }
}
