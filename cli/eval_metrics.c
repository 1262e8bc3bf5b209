/*
 * eval_metrics.c - expected calibration error and out-of-scope detection
 * (AUROC, and recall at the threshold that keeps in-scope accuracy at
 * 0.90) from a list of answers. Pure arithmetic over the list: the
 * callers decide what a text's gold label and answer were.
 */
#include <math.h>
#include <stdlib.h>

#include "eval_metrics.h"

typedef struct scored {
    double s;
    int pos;
} scored;

static int by_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;

    return (x > y) - (x < y);
}

static int by_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x < y) - (x > y);
}

/* The area under the ROC curve of v[0..n) as the Mann-Whitney statistic,
 * tied scores sharing their mean rank; NaN without both classes. */
static double auroc(scored *v, size_t n)
{
    size_t i, j, k, npos = 0;
    double ranks = 0;

    qsort(v, n, sizeof(*v), by_score);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && v[j].s == v[i].s; j++) {
        }
        for (k = i; k < j; k++) {
            if (v[k].pos) {
                npos++;
                ranks += (double)(i + j + 1) / 2;
            }
        }
    }
    if (npos == 0 || npos == n) {
        return NAN;
    }
    return (ranks - (double)npos * (double)(npos + 1) / 2) /
           ((double)npos * (double)(n - npos));
}

int eval_metrics_compute(const eval_answer *a, size_t n, eval_metrics *m)
{
    double bin_n[EVAL_ECE_BINS] = {0}, bin_acc[EVAL_ECE_BINS] = {0};
    double bin_conf[EVAL_ECE_BINS] = {0}, *corr;
    size_t k, right = 0, all = 0, ncorr = 0, need, caught = 0;
    scored *sc;

    m->n = n;
    m->n_in = m->n_oos = 0;
    m->accuracy = m->ece = m->accuracy_all = m->oos_auroc = NAN;
    m->oos_recall_at_90 = m->threshold_at_90 = NAN;
    sc = calloc(n ? n : 1, sizeof(*sc));
    corr = calloc(n ? n : 1, sizeof(*corr));
    if (!sc || !corr) {
        free(sc);
        free(corr);
        return -1;
    }
    for (k = 0; k < n; k++) {
        double c = a[k].conf < 0 ? 0 : a[k].conf > 1 ? 1 : a[k].conf;
        size_t b = (size_t)(c * EVAL_ECE_BINS);

        b = b >= EVAL_ECE_BINS ? EVAL_ECE_BINS - 1 : b;
        if (a[k].in_scope) {
            m->n_in++;
            right += a[k].right;
            bin_n[b]++;
            bin_acc[b] += a[k].right;
            bin_conf[b] += c;
            if (a[k].right && !a[k].rejected) {
                corr[ncorr++] = c;
            }
        } else {
            m->n_oos++;
            caught += a[k].rejected;
        }
        all += a[k].in_scope ? a[k].right && !a[k].rejected : a[k].rejected;
        /* a rejection ranks below every answer, the surest lowest */
        sc[k].s = a[k].rejected ? -c : c;
        sc[k].pos = a[k].in_scope;
    }
    if (m->n_in > 0) {
        m->accuracy = (double)right / (double)m->n_in;
        m->ece = 0;
        for (k = 0; k < EVAL_ECE_BINS; k++) {
            if (bin_n[k] > 0) {
                m->ece += fabs(bin_acc[k] - bin_conf[k]) / (double)m->n_in;
            }
        }
    }
    if (m->n_oos > 0 && n > 0) {
        m->accuracy_all = (double)all / (double)n;
        m->oos_auroc = auroc(sc, n);
        /* the highest threshold that keeps ceil(0.9 * n_in) right
         * answers: the confidence of the need-th surest right answer */
        need = (size_t)ceil(EVAL_OOS_TARGET * (double)m->n_in - 1e-9);
        if (need > 0 && ncorr >= need) {
            qsort(corr, ncorr, sizeof(*corr), by_desc);
            m->threshold_at_90 = corr[need - 1];
            for (k = 0; k < n; k++) {
                caught += !a[k].in_scope && !a[k].rejected &&
                          a[k].conf < m->threshold_at_90;
            }
            m->oos_recall_at_90 = (double)caught / (double)m->n_oos;
        }
    }
    free(sc);
    free(corr);
    return 0;
}
