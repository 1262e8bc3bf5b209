/*
 * popular.c - the doors of what a handle counts in process and adds to
 * a store: popularity tracking (track_popular; classify/popular.c), the
 * texts read back from the cache's store, and the answers served per
 * day, model and intent (count_intents; classify/served.c), read back
 * from the feedback's store.
 */
#include "api/handle.h"
#include "report/report.h"

TC_API int tc_popular_top(char ***texts, uint64_t **counts, size_t *n,
                          tc_cache *h, size_t max)
{
    TC__RESET(texts, NULL);
    TC__RESET(counts, NULL);
    TC__RESET(n, 0);
    TC__DOOR(h, texts && counts && n && max > 0,
             "texts, counts or n is NULL, or max is 0");
    return tc__done(tc__popular_top(texts, counts, n, h->core, max));
}

TC_API void tc_popular_free(char **texts, uint64_t *counts, size_t n)
{
    tc__popular_free(texts, counts, n);
}

TC_API int tc_popular_flush(tc_cache *h)
{
    TC__DOOR(h, 1, "unreachable");
    return tc__done(tc__popular_flush(h->pop));
}

TC_API int tc_classify_counts_json(char **out, tc_cache *h)
{
    TC__RESET(out, NULL);
    TC__DOOR(h, out, "out is NULL");
    return tc__done(tc__served_json(out, h->served, tc__fb_core(h)));
}

TC_API int tc_classify_counts_flush(tc_cache *h)
{
    TC__DOOR(h, 1, "unreachable");
    return tc__done(tc__served_flush(h->served));
}
