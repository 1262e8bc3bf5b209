/*
 * suite_score.c - `suite score`: the accuracy, the calibration and the
 * out-of-scope detection of a file of predictions, lined up with its gold
 * file line by line, and the ECE that sampling noise alone gives with
 * those confidences (ece_floor), for telling a miscalibrated link from
 * a small test set.
 *
 * One reader takes both prediction formats, detected per line: fastText's
 * `predict-prob` ("__label__X 0.93") and `tutorcache classify`'s JSON
 * Lines ({"intent", "confidence", ...}). A prediction that abstains, the
 * intent "unknown" of a threshold, the out-of-scope label itself, or an
 * empty line (fastText on a text without words), counts as a rejection.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eval_metrics.h" /* the formulas `tutorcache eval` uses too */
#include "bench_util.h"
#include "suite.h"

static const char usage[] =
    "Usage: suite score [--oos LABEL] [--json] GOLD.jsonl PRED\n";

/* One line of either file: the gold or the predicted label (NULL: no
 * prediction) and the top confidence, clamped to [0, 1]. */
typedef struct line {
    char *label;
    double conf;
} line;

typedef struct lines {
    line *v;
    size_t n, cap;
} lines;

static char *dup_n(const char *s, size_t n)
{
    char *d = bench_alloc(n + 1, 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Parses one line of a gold file (gold set) or of predictions. */
static line parse(const char *path, size_t lineno, const char *s, int gold)
{
    line l = {NULL, 0};
    cJSON *root;
    const cJSON *label, *conf;
    const char *sp;
    char *end;

    if (*s == '{') {
        root = cJSON_Parse(s);
        label = cJSON_GetObjectItemCaseSensitive(root, "intent");
        conf = cJSON_GetObjectItemCaseSensitive(root, "confidence");
        if (!cJSON_IsString(label) || (!gold && !cJSON_IsNumber(conf))) {
            bench_fail("%s:%zu: no \"intent\"%s", path, lineno,
                       gold ? "" : " and \"confidence\"");
        }
        l.label = dup_n(label->valuestring, strlen(label->valuestring));
        l.conf = gold ? 1 : conf->valuedouble;
        cJSON_Delete(root);
    } else if (!gold && *s == '\0') {
        return l;
    } else if (!gold && strncmp(s, "__label__", 9) == 0) {
        sp = strchr(s, ' ');
        if (!sp) {
            bench_fail("%s:%zu: a label without a probability (use "
                       "fasttext predict-prob)",
                       path, lineno);
        }
        l.conf = strtod(sp + 1, &end);
        if (end == sp + 1) {
            bench_fail("%s:%zu: no probability after the label", path, lineno);
        }
        l.label = dup_n(s + 9, (size_t)(sp - s - 9));
    } else {
        bench_fail("%s:%zu: %s", path, lineno,
                   gold ? "not a JSON object"
                        : "neither fastText predict-prob nor tutorcache JSON");
    }
    l.conf = l.conf < 0 ? 0 : l.conf > 1 ? 1 : l.conf;
    return l;
}

/* Every line of path, none skipped, since the two files line up. */
static void read_lines(const char *path, int gold, lines *out)
{
    size_t cap = 0;
    char *buf = NULL;
    ssize_t len;
    FILE *f = fopen(path, "r");

    if (!f) {
        bench_fail("%s: cannot open: %s", path, strerror(errno));
    }
    while ((len = getline(&buf, &cap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
            buf[--len] = '\0';
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 1024;
            out->v = bench_realloc(out->v, out->cap, sizeof(*out->v));
        }
        out->v[out->n] = parse(path, out->n + 1, buf, gold);
        out->n++;
    }
    free(buf);
    if (ferror(f) | fclose(f)) {
        bench_fail("%s: cannot read", path);
    }
}

static void lines_free(lines *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i].label);
    }
    free(l->v);
}

/*
 * The ECE a perfectly calibrated classifier would show with the same
 * confidences on as many texts: each in-scope answer drawn right with
 * the probability of its confidence, FLOOR_DRAWS times from a fixed
 * seed, scored with the same formula. *mean receives the mean, *p95 the
 * 95th percentile; an ECE under them is sampling noise, not a fault of
 * the link.
 */
#define FLOOR_DRAWS 1000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void ece_floor(const eval_answer *ans, size_t n, double *mean,
                      double *p95)
{
    eval_answer *sim = bench_alloc(n ? n : 1, sizeof(*sim));
    double *e = bench_alloc(FLOOR_DRAWS, sizeof(double)), sum = 0;
    uint64_t rng = 0x5eedf100dULL;
    size_t k, m = 0, d;
    eval_metrics mt;

    for (k = 0; k < n; k++) {
        if (ans[k].in_scope) {
            sim[m] = ans[k];
            sim[m++].rejected = 0;
        }
    }
    for (d = 0; d < FLOOR_DRAWS; d++) {
        for (k = 0; k < m; k++) {
            uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            z ^= z >> 31;
            sim[k].right = (double)(z >> 11) * 0x1.0p-53 < sim[k].conf;
        }
        if (eval_metrics_compute(sim, m, &mt) != 0) {
            bench_fail("out of memory");
        }
        e[d] = mt.ece;
        sum += mt.ece;
    }
    qsort(e, FLOOR_DRAWS, sizeof(double), cmp_double);
    *mean = m ? sum / FLOOR_DRAWS : NAN;
    *p95 = m ? e[FLOOR_DRAWS * 95 / 100] : NAN;
    free(sim);
    free(e);
}

static void put(cJSON *o, const char *key, double v)
{
    if ((isnan(v) ? cJSON_AddNullToObject(o, key)
                  : cJSON_AddNumberToObject(o, key, v)) == NULL) {
        bench_fail("out of memory");
    }
}

int suite_score(int argc, char **argv)
{
    const char *oos = NULL;
    int json = 0, i = 1;
    lines gold = {NULL, 0, 0}, pred = {NULL, 0, 0};
    size_t k, n;
    eval_answer *ans;
    eval_metrics mt;
    double floor_mean, floor_p95;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--oos") == 0 && i + 1 < argc) {
            oos = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (argc != i + 2) {
        fputs(usage, stderr);
        return 2;
    }
    read_lines(argv[i], 1, &gold);
    read_lines(argv[i + 1], 0, &pred);
    if (gold.n == 0) {
        bench_fail("%s: no lines to score", argv[i]);
    }
    if (gold.n != pred.n) {
        bench_fail("%s has %zu lines, %s %zu: the predictions do not line up",
                   argv[i], gold.n, argv[i + 1], pred.n);
    }
    n = gold.n;
    ans = bench_alloc(n, sizeof(*ans));
    for (k = 0; k < n; k++) {
        const line *g = &gold.v[k], *p = &pred.v[k];

        ans[k].conf = p->conf;
        ans[k].rejected = !p->label || strcmp(p->label, "unknown") == 0 ||
                          (oos && strcmp(p->label, oos) == 0);
        ans[k].right = p->label && strcmp(p->label, g->label) == 0;
        ans[k].in_scope = !oos || strcmp(g->label, oos) != 0;
    }
    if (eval_metrics_compute(ans, n, &mt) != 0) {
        bench_fail("out of memory");
    }
    ece_floor(ans, n, &floor_mean, &floor_p95);
    free(ans);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        char *s;

        if (!o) {
            bench_fail("out of memory");
        }
        put(o, "n", (double)n);
        put(o, "accuracy", mt.accuracy);
        put(o, "ece", mt.ece);
        put(o, "ece_floor", floor_mean);
        put(o, "ece_floor_p95", floor_p95);
        if (oos) {
            put(o, "n_oos", (double)mt.n_oos);
            put(o, "accuracy_all", mt.accuracy_all);
            put(o, "oos_auroc", mt.oos_auroc);
            put(o, "oos_recall_at_90", mt.oos_recall_at_90);
            put(o, "threshold_at_90", mt.threshold_at_90);
        }
        s = cJSON_PrintUnformatted(o);
        if (!s) {
            bench_fail("out of memory");
        }
        printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        printf("n=%zu accuracy=%.4f ece=%.4f ece_floor=%.4f "
               "ece_floor_p95=%.4f",
               n, mt.accuracy, mt.ece, floor_mean, floor_p95);
        if (oos) {
            printf(" n_oos=%zu accuracy_all=%.4f oos_auroc=%.4f "
                   "oos_recall_at_90=%.4f threshold_at_90=%.4f",
                   mt.n_oos, mt.accuracy_all, mt.oos_auroc, mt.oos_recall_at_90,
                   mt.threshold_at_90);
        }
        putchar('\n');
    }
    lines_free(&gold);
    lines_free(&pred);
    return fflush(stdout) == 0 ? 0 : 1;
}
