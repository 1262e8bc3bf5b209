/*
 * report.h - what a person or a scraper reads of a handle, rendered from
 * the layers below: the Prometheus exposition (metrics.c) and the stats
 * and configuration JSON (stats.c). Counters stay with what they count;
 * this layer only reads them.
 */
#ifndef TC_REPORT_H
#define TC_REPORT_H

#include <string.h>

#include "base/sbuf.h"
#include "cache/cache.h"
#include "classify/counts.h"
#include "classify/served.h"
#include "feedback/counts.h"
#include "feedback/feedback.h"

/*
 * Appends the exposition to b (b->oom on failure: TC_ENOMEM). fbx is the
 * handle's feedback context (its store, which may be apart from h's, and
 * whether feedback is at risk there). cls and fb may be NULL (metrics
 * off: zeros).
 */
int tc__metrics_render(tc__sb *b, tc__cache *h, tc__fb *fbx,
                       const tc__cls_counts *cls, const tc__fb_counts *fb);

/* tc_cache_stats_json and tc_cache_config_json; *out is tc__malloc'd
 * (cJSON's allocator is the library's). fb as fbx above; cls, the
 * handle's classification counters, may be NULL. */
int tc__stats_json(char **out, tc__cache *h, tc__fb *fb,
                   const tc__cls_counts *cls);
int tc__config_json(char **out, tc__cache *h, tc__fb *fb);

/* tc_classify_counts_json (served_json.c): the tally of fbcache's store
 * over the feedback retention window, s's counts flushed first (s may be
 * NULL). */
int tc__served_json(char **out, tc__served *s, tc__cache *fbcache);

/* Prints a cJSON tree into *out (stats.c); TC_ENOMEM, *out NULL, when
 * any part of it failed. The tree is freed either way. */
struct cJSON;
int tc__report_render(char **out, struct cJSON *root);

/* The cache that holds namespace ns: the overrides' lives with the
 * feedback, whose store may be apart from h's. */
static inline tc__cache *tc__report_ns_cache(tc__cache *h, const tc__fb *fb,
                                             const char *ns)
{
    return strcmp(ns, TC__OVERRIDE_NS) == 0 ? fb->cache : h;
}

#endif
