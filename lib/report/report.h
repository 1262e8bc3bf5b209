/*
 * report.h - what a person or a scraper reads of a handle, rendered from
 * the layers below: the Prometheus exposition (metrics.c) and the stats
 * and configuration JSON (stats.c). Counters stay with what they count;
 * this layer only reads them.
 */
#ifndef TC_REPORT_H
#define TC_REPORT_H

#include "base/sbuf.h"
#include "cache/cache.h"
#include "classify/counts.h"
#include "feedback/counts.h"

/* Appends the exposition to b (b->oom on failure: TC_ENOMEM). cls and fb
 * may be NULL (metrics off: zeros). */
int tc__metrics_render(tc__sb *b, tc__cache *h, const tc__cls_counts *cls,
                       const tc__fb_counts *fb);

/* tc_cache_stats_json and tc_cache_config_json; *out is tc__malloc'd
 * (cJSON's allocator is the library's). */
int tc__stats_json(char **out, tc__cache *h);
int tc__config_json(char **out, tc__cache *h);

#endif
