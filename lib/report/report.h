/*
 * report.h - what a person or a scraper reads of a handle, rendered from
 * the layers below: the Prometheus exposition (metrics.c), the stats
 * and configuration JSON (stats.c), and the feedback's analytics
 * (analytics.c) and their HTML page (page.c). Counters stay with what
 * they count; this layer only reads them.
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

struct cJSON;

/*
 * tc_feedback_analytics_json's tree (analytics.c), from every stored
 * record of fb read through the store's export, joined to the answers
 * served and shadow checks of fb's store's tally (served, this handle's
 * counts, may be NULL; flushed first); h's configuration gives the
 * retention window. o: not NULL. *nrec (may be NULL) receives the
 * records read. Returns TC_OK or the failure, recorded with tc__fail.
 */
int tc__fb_analytics(struct cJSON **out, uint64_t *nrec, tc__cache *h,
                     tc__fb *fb, tc__served *served,
                     const tc_report_options *o);

/*
 * What the report's shadow section shows: the outcomes of the shadow
 * checks of cached answers (classify/shadow.c) and whose checks they are
 * (scope, a phrase for readers: "this process" for a handle's own
 * counters). Counts of other scopes, such as several processes', fill
 * the same struct.
 */
typedef struct tc__report_shadow {
    const char *scope;
    uint64_t agree, disagree, dropped, failed;
} tc__report_shadow;

/* The shadow checks counted by cls (may be NULL: zeros), this process's
 * (stats.c). */
void tc__report_shadow_read(tc__report_shadow *s, const tc__cls_counts *cls);

/* tc_feedback_report_html (page.c): the page, tc__malloc'd, of *len
 * bytes, its shadow section the stored checks per model and, first, sh's
 * (may be NULL: no such line). As tc__fb_analytics otherwise. */
int tc__fb_report_html(char **out, size_t *len, uint64_t *nrec, tc__cache *h,
                       tc__fb *fb, tc__served *served,
                       const tc_report_options *o, const tc__report_shadow *sh);

/* tc_classify_counts_json (served_json.c): the tally of fbcache's store
 * over the feedback retention window, s's counts flushed first (s may be
 * NULL). */
int tc__served_json(char **out, tc__served *s, tc__cache *fbcache);
/* The same as a tree, *out the caller's (cJSON_Delete); the analytics
 * join it to the records' tallies. TC_OK or the failure, recorded. */
int tc__served_tree(struct cJSON **out, tc__served *s, tc__cache *fbcache);

/* Prints a cJSON tree into *out (stats.c); TC_ENOMEM, *out NULL, when
 * any part of it failed. The tree is freed either way. */
int tc__report_render(char **out, struct cJSON *root);

/* The cache that holds namespace ns: the overrides' lives with the
 * feedback, whose store may be apart from h's. */
static inline tc__cache *tc__report_ns_cache(tc__cache *h, const tc__fb *fb,
                                             const char *ns)
{
    return strcmp(ns, TC__OVERRIDE_NS) == 0 ? fb->cache : h;
}

#endif
