/*
 * classify.c - the doors of classification: a classifier is handed its
 * handle's cache and counters once, when it opens.
 */
#include <string.h>

#include "api/handle.h"
#include "base/deadline.h"
#include "classify/classifier.h"
#include "classify/result.h"
#include "model/model.h"

TC_API void tc_classifier_options_init(tc_classifier_options *opt)
{
    if (opt) {
        tc__classifier_options_init(opt);
    }
}

TC_API int tc_classifier_open(tc_classifier **out, tc_cache *cache,
                              const tc_classifier_options *opt)
{
    int rc;

    TC__RESET(out, NULL);
    TC__DOOR(cache, out && opt && opt->version >= 1,
             "NULL argument or options not initialized");
    rc = tc__classifier_open(out, cache->core, tc__fb_core(cache), cache->cls,
                             opt);
    if (rc == TC_OK && !(opt->version >= 3 && opt->uncounted)) {
        tc__popular_attach(*out, cache->pop);
        tc__served_attach(*out, cache->served);
    }
    if (rc == TC_OK && (*out)->cand) {
        /* so that feedback naming either model is counted for its arm */
        const tc_model *m[TC__ARM_COUNT] = {(*out)->model, (*out)->cand->model};
        const char *v[TC__ARM_COUNT] = {(*out)->fn_version,
                                        (*out)->cand->fn_version};

        tc__cls_arms_add(cache->cls, *out, m, v);
    }
    if (cache->audit) {
        char fp[TC_FINGERPRINT_LEN + 1];

        if (opt->model) {
            tc__model_fingerprint(fp, opt->model);
        }
        tc__audit_op(cache, "model_load", opt->ns ? opt->ns : "intents",
                     opt->model ? fp : opt->fn_version, -1, rc);
    }
    return rc;
}

TC_API void tc_classifier_close(tc_classifier *c)
{
    if (c) {
        tc__cls_arms_drop(c->counts, c);
    }
    tc__classifier_close(c);
}

static int classify(tc_result **out, tc_classifier *c, const char *text,
                    size_t len, const char *user_id)
{
    int rc, outer;

    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!c || !out) {
        return tc__fail(TC_EINVAL, "the classifier or out is NULL");
    }
    /* one deadline for the override, the lookup and the store of the
     * answer (base/deadline.h) */
    outer = tc__deadline_enter();
    rc = c->cand ? tc__ab_classify(out, c, text, len, user_id)
                 : tc__classify(out, c, text, len);
    tc__deadline_leave(outer);
    return tc__done(rc);
}

TC_API int tc_classify(tc_result **out, tc_classifier *c, const char *text,
                       size_t len)
{
    return classify(out, c, text, len, NULL);
}

TC_API int tc_classify_user(tc_result **out, tc_classifier *c, const char *text,
                            size_t len, const char *user_id)
{
    return classify(out, c, text, len, user_id);
}

TC_API int tc_classify_batch(tc_result **out, int *status, tc_classifier *c,
                             const char *const *texts, const size_t *lens,
                             size_t n)
{
    for (size_t i = 0; out && i < n; i++) {
        out[i] = NULL;
        if (status) {
            status[i] = TC_EINVAL;
        }
    }
    tc__clear();
    if (!c) {
        return tc__fail(TC_EINVAL, "the classifier is NULL");
    }
    if (!out || (n && (!texts || !lens))) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    /* no deadline over the whole batch: each of its round trips carries
     * many texts, and has the timeout of its own */
    return tc__done(c->cand
                        ? tc__ab_classify_batch(out, status, c, texts, lens, n)
                        : tc__classify_batch(out, status, c, texts, lens, n));
}

TC_API void tc_result_free(tc_result *r)
{
    tc__free(r); /* one block: the struct, its arrays and strings */
}

TC_API const char *tc_source_name(tc_source source)
{
    return tc__source_name(source);
}
