/*
 * service_warm.c - POST /api/v1/intents/warm: fills the cache with the
 * answers of the model serving to texts given in the body ({"texts":
 * [...]}) or to the most requested ones ({"popular": N}, track_popular),
 * as `tutorcache warm` does, and answers its summary: {"texts",
 * "computed", "already_cached", "rejected", "seconds"}. Texts that
 * normalize alike are classified once; the warm classifier is uncounted,
 * so warming never makes a text popular.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "service.h"

/* Distinct texts per tc_classify_batch: their lookups share a round
 * trip. */
#define WARM_BATCH 256
/* {"popular": N}: N in 1..WARM_MAX_POPULAR (the largest popular_size). */
#define WARM_MAX_POPULAR 1000000

typedef struct warm_run {
    char **norm; /* normalized, tc_malloc'd; sorted, then unique */
    size_t n;
    uint64_t texts, computed, cached, rejected;
} warm_run;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Takes one text, normalized; a text that is no text is rejected. */
static int take(warm_run *w, const char *text)
{
    char *norm = NULL;
    size_t len = 0;
    int rc;

    w->texts++;
    rc = text ? tc_text_normalize(&norm, &len, text, strlen(text)) : TC_EINVAL;
    if (rc == TC_ENOMEM) {
        return -1;
    }
    if (rc != TC_OK || len == 0) {
        tc_free(norm);
        w->rejected++;
        return 0;
    }
    w->norm[w->n++] = norm;
    return 0;
}

/* Sorts the texts and drops repeats, so each is classified once. */
static void unique(warm_run *w)
{
    size_t i, k = 0;

    qsort(w->norm, w->n, sizeof(*w->norm), cmp_str);
    for (i = 0; i < w->n; i++) {
        if (k > 0 && strcmp(w->norm[k - 1], w->norm[i]) == 0) {
            tc_free(w->norm[i]);
        } else {
            w->norm[k++] = w->norm[i];
        }
    }
    w->n = k;
}

/* Classifies the distinct texts with an uncounted classifier of the
 * model serving. Returns TC_OK or the failure of a whole batch. */
static int classify_all(svc *s, warm_run *w)
{
    tc_result *res[WARM_BATCH];
    size_t lens[WARM_BATCH];
    int status[WARM_BATCH];
    tc_classifier_options co;
    tc_classifier *c = NULL;
    int rc;

    pthread_rwlock_rdlock(&s->model.lock);
    co = s->model.co;
    co.model = co.fn ? NULL : s->model.model;
    co.uncounted = 1;
    rc = tc_classifier_open(&c, s->cache, &co);
    for (size_t at = 0; rc == TC_OK && at < w->n; at += WARM_BATCH) {
        size_t m = w->n - at < WARM_BATCH ? w->n - at : WARM_BATCH;

        for (size_t i = 0; i < m; i++) {
            lens[i] = strlen(w->norm[at + i]);
        }
        rc = tc_classify_batch(res, status, c,
                               (const char *const *)w->norm + at, lens, m);
        for (size_t i = 0; rc == TC_OK && i < m; i++) {
            if (status[i] != TC_OK) {
                w->rejected++;
            } else if (res[i]->source == TC_SOURCE_MODEL) {
                w->computed++;
            } else {
                w->cached++;
            }
            tc_result_free(res[i]);
        }
    }
    tc_classifier_close(c);
    pthread_rwlock_unlock(&s->model.lock);
    return rc;
}

static void warm_free(warm_run *w)
{
    for (size_t i = 0; w->norm && i < w->n; i++) {
        tc_free(w->norm[i]);
    }
    free(w->norm);
}

/*
 * The texts of the body into w: "texts", an array (an element that is
 * not a non-empty string is rejected, as a bad line of the CLI's), or
 * "popular", the store's N most requested. Returns 0, or the error of a
 * reply already made (*ret).
 */
static int gather(svc *s, struct MHD_Connection *conn, svc_req *r,
                  const cJSON *texts, const cJSON *pop, warm_run *w,
                  enum MHD_Result *ret)
{
    char **top = NULL;
    uint64_t *counts = NULL;
    size_t n = 0;
    const cJSON *e;
    int rc = 0;

    if (texts) {
        n = (size_t)cJSON_GetArraySize(texts);
        if (!(w->norm = calloc(n ? n : 1, sizeof(*w->norm)))) {
            rc = -1;
        }
        cJSON_ArrayForEach(e, texts)
        {
            if (rc == 0) {
                rc = take(w, cJSON_IsString(e) ? e->valuestring : NULL);
            }
        }
    } else {
        rc = tc_popular_top(&top, &counts, &n, s->cache,
                            (size_t)pop->valuedouble);
        if (rc == TC_ECONFIG) {
            *ret = svc_reply_error(conn, r, 400, "invalid_field", "popular",
                                   tc_errmsg(), NULL);
            return -1;
        }
        if (rc != TC_OK) {
            *ret = svc_reply_error(conn, r, 503, "store_unavailable", NULL,
                                   tc_errmsg(), NULL);
            return -1;
        }
        if (!(w->norm = calloc(n ? n : 1, sizeof(*w->norm)))) {
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = take(w, top[i]);
        }
        tc_popular_free(top, counts, n);
    }
    if (rc != 0) {
        *ret = svc_reply_error(conn, r, 500, "internal", NULL, "out of memory",
                               NULL);
        return -1;
    }
    unique(w);
    return 0;
}

enum MHD_Result svc_warm(svc *s, struct MHD_Connection *conn, svc_req *r,
                         const cJSON *root)
{
    const cJSON *texts = cJSON_GetObjectItemCaseSensitive(root, "texts");
    const cJSON *pop = cJSON_GetObjectItemCaseSensitive(root, "popular");
    enum MHD_Result ret = MHD_NO;
    struct timespec t0, t1;
    warm_run w = {0};
    svc_buf b = {0};
    int rc;

    if (!texts == !pop) {
        return svc_reply_error(conn, r, 400, "missing_field", "texts",
                               "texts (an array of strings) or popular (a "
                               "number of texts): one of them",
                               NULL);
    }
    if (texts && !cJSON_IsArray(texts)) {
        return svc_reply_error(conn, r, 400, "invalid_field", "texts",
                               "texts: not an array of strings", NULL);
    }
    if (pop && (!cJSON_IsNumber(pop) || pop->valuedouble < 1 ||
                pop->valuedouble > WARM_MAX_POPULAR ||
                (double)(long)pop->valuedouble != pop->valuedouble)) {
        return svc_reply_error(conn, r, 400, "invalid_field", "popular",
                               "popular: not a whole number in 1..1000000",
                               NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (gather(s, conn, r, texts, pop, &w, &ret) != 0) {
        warm_free(&w);
        return ret;
    }
    rc = classify_all(s, &w);
    warm_free(&w);
    if (rc != TC_OK) {
        return svc_reply_error(
            conn, r, rc == TC_EUNAVAIL || rc == TC_ETIMEOUT ? 503 : 500,
            "warm_failed", NULL, tc_errmsg(), NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    svc_buf_printf(&b,
                   "{\"texts\":%llu,\"computed\":%llu,\"already_cached\":%llu,"
                   "\"rejected\":%llu,\"seconds\":%.3f}",
                   (unsigned long long)w.texts, (unsigned long long)w.computed,
                   (unsigned long long)w.cached, (unsigned long long)w.rejected,
                   (double)(t1.tv_sec - t0.tv_sec) +
                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return svc_reply_buf(conn, r, 200, &b, NULL);
}
