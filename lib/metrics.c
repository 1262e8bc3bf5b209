/*
 * metrics.c - counters and a latency histogram per handle, rendered in
 * the Prometheus text format. Counting is on the hot path of every
 * classification, so counters are striped over cache lines by thread and
 * summed only when rendered; only a never-seen correction pair takes a
 * lock. Names follow the original service where it had them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"
#include "l1.h"
#include "metrics.h"
#include "sbuf.h"

/*
 * Bucket bounds in microseconds: an L1 hit takes about 1 us, a model
 * about 10 us, an L2 round trip 50 us to a few ms, a remote model more.
 */
static const int64_t bounds_us[] = {
    1,    2,    5,    10,    25,    50,    100,    250,    500,
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
#define NBOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))

/*
 * A correction pair is a label pair of the host's data: their number is
 * bounded so that a stream of odd labels cannot grow the exposition (and
 * the scraper's memory) without end; pairs past the bound are counted as
 * original="other", correct="other".
 */
#define MAX_PAIRS 100

#define STRIPES 8

typedef struct mstripe {
    _Atomic uint64_t cls[TC__CLS_COUNT];
    _Atomic uint64_t bucket[NBOUNDS + 1]; /* the last one is +Inf */
    _Atomic uint64_t sum_us;
    _Atomic uint64_t fb[3][TC__FB_STATUS_COUNT];
    char pad[64];
} mstripe;

typedef struct pair {
    char *original, *correct;
    _Atomic uint64_t n;
} pair;

struct tc__metrics {
    mstripe *st; /* STRIPES, 64-byte aligned in st_mem */
    void *st_mem;
    pthread_mutex_t mu; /* guards adding pairs */
    pair pairs[MAX_PAIRS];
    _Atomic size_t npairs;
    _Atomic uint64_t other_pairs;
};

static _Atomic unsigned stripe_next;
static _Thread_local unsigned stripe_mine = STRIPES;

static mstripe *mine(tc__metrics *m)
{
    if (stripe_mine == STRIPES) {
        stripe_mine = atomic_fetch_add(&stripe_next, 1) % STRIPES;
    }
    return &m->st[stripe_mine];
}

#define ADD(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)

int tc__metrics_new(tc__metrics **out)
{
    tc__metrics *m = tc__calloc(1, sizeof(*m));

    *out = NULL;
    if (!m) {
        return TC_ENOMEM;
    }
    m->st_mem = tc__calloc(1, STRIPES * sizeof(mstripe) + 63);
    if (!m->st_mem || pthread_mutex_init(&m->mu, NULL) != 0) {
        tc__free(m->st_mem);
        tc__free(m);
        return TC_ENOMEM;
    }
    m->st = (mstripe *)(((uintptr_t)m->st_mem + 63) & ~(uintptr_t)63);
    *out = m;
    return TC_OK;
}

void tc__metrics_free(tc__metrics *m)
{
    size_t i;

    if (!m) {
        return;
    }
    for (i = 0; i < atomic_load(&m->npairs); i++) {
        tc__free(m->pairs[i].original);
        tc__free(m->pairs[i].correct);
    }
    pthread_mutex_destroy(&m->mu);
    tc__free(m->st_mem);
    tc__free(m);
}

void tc__metrics_classify(tc__metrics *m, tc__cls_status st, int64_t latency_us)
{
    mstripe *s;
    size_t b = 0;

    if (!m || st >= TC__CLS_COUNT) {
        return;
    }
    s = mine(m);
    ADD(s->cls[st]);
    while (b < NBOUNDS && latency_us > bounds_us[b]) {
        b++;
    }
    ADD(s->bucket[b]);
    atomic_fetch_add_explicit(&s->sum_us,
                              latency_us > 0 ? (uint64_t)latency_us : 0,
                              memory_order_relaxed);
}

void tc__metrics_feedback(tc__metrics *m, int type, tc__fb_status st)
{
    if (m && type >= 0 && type < 3 && st < TC__FB_STATUS_COUNT) {
        ADD(mine(m)->fb[type][st]);
    }
}

void tc__metrics_correction(tc__metrics *m, const char *original,
                            const char *correct)
{
    size_t i, n;

    if (!m || !original || !correct) {
        return;
    }
    /* pairs are only appended, and npairs is published after the pair */
    n = atomic_load_explicit(&m->npairs, memory_order_acquire);
    for (i = 0; i < n; i++) {
        if (strcmp(m->pairs[i].original, original) == 0 &&
            strcmp(m->pairs[i].correct, correct) == 0) {
            ADD(m->pairs[i].n);
            return;
        }
    }
    pthread_mutex_lock(&m->mu);
    n = atomic_load(&m->npairs);
    for (i = 0; i < n; i++) {
        if (strcmp(m->pairs[i].original, original) == 0 &&
            strcmp(m->pairs[i].correct, correct) == 0) {
            break;
        }
    }
    if (i == n && n < MAX_PAIRS) {
        m->pairs[n].original = tc__strdup(original);
        m->pairs[n].correct = tc__strdup(correct);
        if (m->pairs[n].original && m->pairs[n].correct) {
            atomic_store(&m->pairs[n].n, 0);
            atomic_store_explicit(&m->npairs, n + 1, memory_order_release);
        } else {
            tc__free(m->pairs[n].original);
            tc__free(m->pairs[n].correct);
            m->pairs[n].original = m->pairs[n].correct = NULL;
            i = MAX_PAIRS; /* no memory: counted as other */
        }
    }
    if (i < MAX_PAIRS && i <= n && m->pairs[i].original) {
        ADD(m->pairs[i].n);
    } else {
        ADD(m->other_pairs);
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---------------------------------------------------------- */

static uint64_t sum(const tc__metrics *m, size_t off)
{
    uint64_t t = 0;
    int i;

    for (i = 0; i < STRIPES; i++) {
        t += atomic_load_explicit((_Atomic uint64_t *)((char *)&m->st[i] + off),
                                  memory_order_relaxed);
    }
    return t;
}

#define SUM(m, field) sum((m), offsetof(mstripe, field))

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

static void classify_families(tc__sb *b, const tc__metrics *m)
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
               m ? SUM(m, cls[i]) : 0);
    }
    family(b, "intent_classification_duration_seconds", "histogram",
           "Time to classify one text, cache lookups included.");
    for (i = 0; i <= NBOUNDS; i++) {
        cum += m ? SUM(m, bucket[i]) : 0;
        if (i < NBOUNDS) {
            snprintf(lab, sizeof(lab), "{le=\"%g\"}",
                     (double)bounds_us[i] / 1e6);
        } else {
            snprintf(lab, sizeof(lab), "{le=\"+Inf\"}");
        }
        sample(b, "intent_classification_duration_seconds_bucket", lab, cum);
    }
    tc__sb_printf(b, "intent_classification_duration_seconds_sum %.6f\n",
                  m ? (double)SUM(m, sum_us) / 1e6 : 0.0);
    sample(b, "intent_classification_duration_seconds_count", NULL, cum);
    family(b, "intent_feedback_submissions_total", "counter",
           "Feedback records by type and status.");
    for (i = 0; i < 3; i++) {
        for (j = 0; j < TC__FB_STATUS_COUNT; j++) {
            snprintf(lab, sizeof(lab), "{type=\"%s\",status=\"%s\"}", types[i],
                     fbst[j]);
            sample(b, "intent_feedback_submissions_total", lab,
                   m ? SUM(m, fb[i][j]) : 0);
        }
    }
    family(b, "intent_feedback_corrections_total", "counter",
           "Corrections by (original -> correct) intent; at most 100 "
           "pairs, the rest as other.");
    n = m ? atomic_load_explicit(&m->npairs, memory_order_acquire) : 0;
    for (i = 0; i < n; i++) {
        tc__sb_str(b, "intent_feedback_corrections_total{original=\"");
        label(b, m->pairs[i].original);
        tc__sb_str(b, "\",correct=\"");
        label(b, m->pairs[i].correct);
        tc__sb_printf(b, "\"} %" PRIu64 "\n", atomic_load(&m->pairs[i].n));
    }
    if (m && atomic_load(&m->other_pairs)) {
        sample(b, "intent_feedback_corrections_total",
               "{original=\"other\",correct=\"other\"}",
               atomic_load(&m->other_pairs));
    }
}

/* Per namespace: one family per counter, a sample per namespace. */
static void cache_families(tc__sb *b, tc_cache *h)
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

        tc_cache_stats(&s, h, cfg->ns[i].name);
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

                tc_cache_stats(&s, h, cfg->ns[i].name);
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

static void store_families(tc__sb *b, tc_cache *h)
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
    snprintf(lab, sizeof(lab), "{kind=\"%s\"}", tc_cache_store_kind(h));
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
}

static int render(tc__sb *b, tc_cache *h)
{
    classify_families(b, tc__cache_metrics(h));
    cache_families(b, h);
    store_families(b, h);
    return b->oom ? TC_ENOMEM : TC_OK;
}

TC_API int tc_metrics_render(char *buf, size_t cap, size_t *len, tc_cache *h)
{
    tc__sb b = {NULL, 0, 0, 0};
    int rc;

    if (len) {
        *len = 0;
    }
    if (cap && buf) {
        buf[0] = '\0';
    }
    tc__clear(h);
    if (!h || !len || (cap && !buf)) {
        return h ? tc__fail(h, TC_EINVAL, "NULL argument") : TC_EINVAL;
    }
    if ((rc = render(&b, h)) != TC_OK) {
        tc__free(b.p);
        return tc__fail(h, rc, "out of memory");
    }
    *len = b.len;
    if (b.len >= cap) {
        tc__free(b.p);
        return tc__fail(h, TC_ETOOBIG, "the exposition needs %zu bytes",
                        b.len + 1);
    }
    memcpy(buf, b.p, b.len + 1);
    tc__free(b.p);
    return TC_OK;
}

TC_API int tc_metrics_write(tc_cache *h, FILE *out)
{
    tc__sb b = {NULL, 0, 0, 0};
    int rc;

    tc__clear(h);
    if (!h || !out) {
        return h ? tc__fail(h, TC_EINVAL, "NULL argument") : TC_EINVAL;
    }
    if ((rc = render(&b, h)) != TC_OK) {
        tc__free(b.p);
        return tc__fail(h, rc, "out of memory");
    }
    rc = fwrite(b.p, 1, b.len, out) == b.len ? TC_OK : TC_EIO;
    tc__free(b.p);
    return rc == TC_OK ? TC_OK : tc__fail(h, TC_EIO, "write failed");
}
