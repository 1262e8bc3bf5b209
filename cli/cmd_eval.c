/*
 * cmd_eval.c - `tutorcache eval MODEL TEST.jsonl`: how well a model does
 * on labelled examples it was not trained on. It calls tc_model_predict
 * directly, never the cache, so a score is the model's own. The intent
 * head gets the full report (accuracy, macro-F1, precision/recall/F1 per
 * label, the most confused pairs); other single-label heads their
 * accuracy. A malformed line is reported with its line number and skipped.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval_metrics.h"

/* The most confused (gold, predicted) pairs listed. */
#define TOP_CONFUSIONS 10

const char cli_help_eval[] =
    "Usage: tutorcache eval [options] MODEL TEST.jsonl\n"
    "\n"
    "Evaluate the model file MODEL on the labelled examples of TEST.jsonl\n"
    "(- for stdin), lines of the training format. The intent head gets its\n"
    "accuracy, macro-F1 (the mean F1 of the labels that occur in the test\n"
    "set or in the predictions), precision, recall, F1 and support per\n"
    "label, and the 10 most confused (gold -> predicted) pairs; every other\n"
    "single-label head of the model that the test lines carry gets its\n"
    "accuracy. Predictions come from the model itself, not the cache.\n"
    "\n"
    "Out of scope: a text the model answers with its out-of-scope label is\n"
    "rejected. oos_auroc is how well the best intent's confidence tells\n"
    "in-scope texts from out-of-scope ones (a rejection ranks lowest);\n"
    "threshold_at_90 is the highest confidence threshold at which 90% of\n"
    "the in-scope texts are still answered right (a text below it counts\n"
    "as wrong), and oos_recall_at_90 the share of out-of-scope texts that\n"
    "threshold, or the model's own label, turns away.\n"
    "\n"
    "A malformed line is reported on stderr as FILE:LINE: reason and\n"
    "skipped; the others are evaluated, and the exit code is then 4.\n"
    "\n"
    "Options:\n"
    "  --json                 print one JSON object: {\"n\", \"accuracy\",\n"
    "                         \"macro_f1\", \"labels\": {label: "
    "{\"precision\",\n"
    "                         \"recall\", \"f1\", \"support\"}}, "
    "\"confusions\":\n"
    "                         [{\"gold\", \"predicted\", \"count\"}], "
    "\"heads\":\n"
    "                         {head: {\"accuracy\", \"n\"}}, \"rejected\"}\n"
    "                         plus \"ece\" (expected calibration error,\n"
    "                         15 equal-width bins over the best intent's\n"
    "                         confidence, over the in-scope texts) and,\n"
    "                         when the test file has out-of-scope texts,\n"
    "                         \"oos_label\", \"n_oos\", "
    "\"in_scope_accuracy\",\n"
    "                         \"oos_auroc\", \"oos_recall_at_90\" and\n"
    "                         \"threshold_at_90\" (see below)\n"
    "  --oos-label NAME       the intent that marks out-of-scope texts in\n"
    "                         TEST.jsonl; default: the model's own (train\n"
    "                         --oos-label), if it has one\n"
    "  --format json|table    the same choice; default: table\n"
    "  -h, --help             show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache eval intents.tcm examples/intents_test.jsonl --json | jq "
    ".accuracy\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage or a file that cannot be opened\n"
    "  4  some lines were rejected (or none was usable), or the model file is\n"
    "     damaged\n"
    "  5  other\n";

/* A growing table of label names; an index per name. */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

/* A single-label head other than intent, and how it did. */
typedef struct head_score {
    char *name;
    long correct, n;
} head_score;

typedef struct pair {
    int gold, pred;
    long count;
} pair;

typedef struct eval {
    const char *file; /* for messages: the path or "stdin" */
    tc_model *m;
    names labels;
    int *gold, *pred; /* per evaluated example */
    double *conf;     /* the best intent's confidence, per example */
    size_t n, cap;
    char *model_oos; /* the model's out-of-scope label, or NULL */
    const char *oos; /* the test file's, or NULL */
    head_score *heads;
    size_t nheads;
    long rejected;
} eval;

static int names_index(names *t, const char *s)
{
    size_t i;
    char **nv;

    for (i = 0; i < t->n; i++) {
        if (strcmp(t->v[i], s) == 0) {
            return (int)i;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;

        if (!(nv = realloc(t->v, cap * sizeof(*nv)))) {
            return -1;
        }
        t->v = nv;
        t->cap = cap;
    }
    if (!(t->v[t->n] = strdup(s))) {
        return -1;
    }
    return (int)t->n++;
}

static void eval_free(eval *e)
{
    size_t i;

    for (i = 0; i < e->labels.n; i++) {
        free(e->labels.v[i]);
    }
    free(e->labels.v);
    for (i = 0; i < e->nheads; i++) {
        free(e->heads[i].name);
    }
    free(e->heads);
    free(e->gold);
    free(e->pred);
    free(e->conf);
    free(e->model_oos);
    tc_model_free(e->m);
}

/*
 * The model's intent labels come first, in its order, so that the table
 * lists labels the test set never uses too; and its other single-label
 * heads are the ones scored.
 */
static int eval_init(eval *e)
{
    char *text = NULL;
    cJSON *root, *h, *l;
    int first = 1, ok = 1;

    if (tc_model_info_json(&text, e->m) != TC_OK ||
        !(root = cJSON_Parse(text))) {
        tc_free(text);
        return -1;
    }
    tc_free(text);
    l = cJSON_GetObjectItemCaseSensitive(root, "oos_label");
    if (cJSON_IsString(l) && !(e->model_oos = strdup(l->valuestring))) {
        ok = 0;
    }
    e->heads =
        ok ? calloc((size_t)cJSON_GetArraySize(
                        cJSON_GetObjectItemCaseSensitive(root, "heads")) +
                        1,
                    sizeof(*e->heads))
           : NULL;
    ok = e->heads != NULL;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(root, "heads"))
    {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");

        if (!ok || !cJSON_IsString(name)) {
            continue;
        }
        if (first) {
            /* heads[0] is intent */
            cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(h, "labels"))
            {
                if (cJSON_IsString(l) &&
                    names_index(&e->labels, l->valuestring) < 0) {
                    ok = 0;
                }
            }
            first = 0;
        } else if (!cJSON_IsTrue(
                       cJSON_GetObjectItemCaseSensitive(h, "multi_label"))) {
            if (!(e->heads[e->nheads].name = strdup(name->valuestring))) {
                ok = 0;
            } else {
                e->nheads++;
            }
        }
    }
    cJSON_Delete(root);
    return ok ? 0 : -1;
}

static void reject(eval *e, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(eval *e, long line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cli_err("%s:%ld: %s", e->file, line, msg);
    e->rejected++;
}

/* The top label of a head of p, or NULL; its score in *score. */
static const char *top_label(const tc_prediction *p, const char *head,
                             double *score)
{
    size_t i;

    for (i = 0; i < p->nheads; i++) {
        if (strcmp(p->heads[i].head, head) == 0 && p->heads[i].n > 0) {
            *score = p->heads[i].labels[0].score;
            return p->heads[i].labels[0].label;
        }
    }
    return NULL;
}

/* One line of the test file; -1 only when out of memory. */
static int eval_line(eval *e, const char *line, size_t len, long lineno)
{
    const cJSON *text, *intent, *f;
    tc_prediction *p = NULL;
    const char *got;
    double score = 0, ignored;
    cJSON *root;
    size_t i;
    int g, q, rc;

    root = cJSON_ParseWithLength(line, len);
    if (!root || !cJSON_IsObject(root)) {
        reject(e, lineno, root ? "not a JSON object" : "not valid JSON");
        cJSON_Delete(root);
        return 0;
    }
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    intent = cJSON_GetObjectItemCaseSensitive(root, "intent");
    if (!cJSON_IsString(text)) {
        reject(e, lineno, "text: missing or not a string");
        cJSON_Delete(root);
        return 0;
    }
    if (!cJSON_IsString(intent) || !intent->valuestring[0]) {
        reject(e, lineno, "intent: missing or not a non-empty string");
        cJSON_Delete(root);
        return 0;
    }
    rc = tc_model_predict(&p, e->m, text->valuestring,
                          strlen(text->valuestring), 1);
    if (rc == TC_EINVAL) {
        reject(e, lineno, "text: not valid UTF-8");
        cJSON_Delete(root);
        return 0;
    }
    if (rc != TC_OK || !(got = top_label(p, "intent", &score))) {
        cJSON_Delete(root);
        tc_prediction_free(p);
        return -1;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1024;
        int *ng = realloc(e->gold, cap * sizeof(int));
        int *np = NULL;
        double *nc = NULL;

        if (ng) {
            e->gold = ng;
            np = realloc(e->pred, cap * sizeof(int));
        }
        if (np) {
            e->pred = np;
            nc = realloc(e->conf, cap * sizeof(double));
        }
        if (!nc) {
            cJSON_Delete(root);
            tc_prediction_free(p);
            return -1;
        }
        e->conf = nc;
        e->cap = cap;
    }
    g = names_index(&e->labels, intent->valuestring);
    q = names_index(&e->labels, got);
    if (g < 0 || q < 0) {
        cJSON_Delete(root);
        tc_prediction_free(p);
        return -1;
    }
    e->gold[e->n] = g;
    e->pred[e->n] = q;
    e->conf[e->n] = score;
    e->n++;
    for (i = 0; i < e->nheads; i++) {
        f = cJSON_GetObjectItemCaseSensitive(root, e->heads[i].name);
        if (cJSON_IsString(f) &&
            (got = top_label(p, e->heads[i].name, &ignored))) {
            e->heads[i].n++;
            e->heads[i].correct += strcmp(f->valuestring, got) == 0;
        }
    }
    tc_prediction_free(p);
    cJSON_Delete(root);
    return 0;
}

/* Reads the test file; an exit code when it cannot be read at all. */
static int eval_file(eval *e, FILE *fp)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int rc = CLI_OK;

    while ((got = getline(&line, &cap, fp)) >= 0) {
        size_t len = (size_t)got, i;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        for (i = 0; i < len && strchr(" \t\r", line[i]); i++) {
        }
        if (i == len) {
            continue; /* blank lines separate nothing in JSON Lines */
        }
        if (eval_line(e, line, len, lineno) != 0) {
            cli_err("eval: out of memory");
            rc = CLI_FAIL;
            break;
        }
    }
    if (rc == CLI_OK && ferror(fp)) {
        cli_err("%s: %s", e->file, strerror(errno));
        rc = CLI_FAIL;
    }
    free(line);
    return rc;
}

static double r6(double x)
{
    return round(x * 1e6) / 1e6;
}

/* Per-label counts, computed once from the (gold, predicted) list. */
typedef struct label_stat {
    long tp, support, predicted;
    double precision, recall, f1;
} label_stat;

static int cmp_pair(const void *a, const void *b, void *names_v)
{
    const pair *x = a, *y = b;
    char **v = names_v;
    int c;

    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    if ((c = strcmp(v[x->gold], v[y->gold])) != 0) {
        return c;
    }
    return strcmp(v[x->pred], v[y->pred]);
}

static int cmp_name(const void *a, const void *b, void *names_v)
{
    char **v = names_v;

    return strcmp(v[*(const int *)a], v[*(const int *)b]);
}

typedef struct report {
    eval_metrics cal; /* calibration and out of scope */
    label_stat *st;
    int *order; /* labels shown, sorted by name */
    size_t nshown;
    pair *pairs; /* confusions, most frequent first */
    size_t npairs;
    long correct;
    double macro_f1;
} report;

/* The answers as eval_metrics sees them: out of scope are the texts
 * labelled e->oos, rejected the answers with the model's own label. */
static int calibration(report *r, const eval *e)
{
    int oos = -1, mine = -1;
    eval_answer *a;
    size_t i;
    int rc;

    for (i = 0; i < e->labels.n; i++) {
        if (e->oos && strcmp(e->labels.v[i], e->oos) == 0) {
            oos = (int)i;
        }
        if (e->model_oos && strcmp(e->labels.v[i], e->model_oos) == 0) {
            mine = (int)i;
        }
    }
    if (!(a = calloc(e->n ? e->n : 1, sizeof(*a)))) {
        return -1;
    }
    for (i = 0; i < e->n; i++) {
        a[i].conf = e->conf[i];
        a[i].in_scope = e->gold[i] != oos;
        a[i].right = e->gold[i] == e->pred[i];
        a[i].rejected = e->pred[i] == mine;
    }
    rc = eval_metrics_compute(a, e->n, &r->cal);
    free(a);
    return rc;
}

/* A number, or null where there is none (NaN). */
static void add_num(cJSON *o, const char *key, double v)
{
    if (isnan(v)) {
        cJSON_AddNullToObject(o, key);
    } else {
        cJSON_AddNumberToObject(o, key, r6(v));
    }
}

static int build_report(report *r, const eval *e)
{
    size_t L = e->labels.n, cells, i, j;
    long *matrix;

    memset(r, 0, sizeof(*r));
    /* e->n > 0, so there is at least one label */
    cells = L * L;
    r->st = calloc(L, sizeof(*r->st));
    r->order = calloc(L, sizeof(*r->order));
    r->pairs = calloc(cells, sizeof(*r->pairs));
    matrix = calloc(cells, sizeof(*matrix));
    if (!r->st || !r->order || !r->pairs || !matrix) {
        free(matrix);
        return -1;
    }
    for (i = 0; i < e->n; i++) {
        matrix[(size_t)e->gold[i] * L + (size_t)e->pred[i]]++;
        r->st[e->gold[i]].support++;
        r->st[e->pred[i]].predicted++;
        if (e->gold[i] == e->pred[i]) {
            r->st[e->gold[i]].tp++;
            r->correct++;
        }
    }
    for (i = 0; i < L; i++) {
        label_stat *s = &r->st[i];

        if (s->support == 0 && s->predicted == 0) {
            continue; /* a label of the model this test never touches */
        }
        s->precision = s->predicted ? (double)s->tp / s->predicted : 0;
        s->recall = s->support ? (double)s->tp / s->support : 0;
        s->f1 = s->precision + s->recall > 0
                    ? 2 * s->precision * s->recall / (s->precision + s->recall)
                    : 0;
        r->macro_f1 += s->f1;
        r->order[r->nshown++] = (int)i;
        for (j = 0; j < L; j++) {
            if (j != i && matrix[i * L + j] > 0) {
                r->pairs[r->npairs].gold = (int)i;
                r->pairs[r->npairs].pred = (int)j;
                r->pairs[r->npairs].count = matrix[i * L + j];
                r->npairs++;
            }
        }
    }
    free(matrix);
    if (calibration(r, e) != 0) {
        return -1;
    }
    r->macro_f1 = r->nshown ? r->macro_f1 / (double)r->nshown : 0;
    qsort_r(r->order, r->nshown, sizeof(*r->order), cmp_name, e->labels.v);
    qsort_r(r->pairs, r->npairs, sizeof(*r->pairs), cmp_pair, e->labels.v);
    if (r->npairs > TOP_CONFUSIONS) {
        r->npairs = TOP_CONFUSIONS;
    }
    return 0;
}

static void report_free(report *r)
{
    free(r->st);
    free(r->order);
    free(r->pairs);
}

static int print_json(const eval *e, const report *r)
{
    cJSON *root = cJSON_CreateObject(), *labels, *conf, *heads, *o;
    size_t i;
    int rc;

    if (!root) {
        return -1;
    }
    cJSON_AddNumberToObject(root, "n", (double)e->n);
    cJSON_AddNumberToObject(root, "accuracy",
                            r6((double)r->correct / (double)e->n));
    cJSON_AddNumberToObject(root, "macro_f1", r6(r->macro_f1));
    add_num(root, "ece", r->cal.ece);
    if (r->cal.n_oos > 0) {
        cJSON_AddStringToObject(root, "oos_label", e->oos);
        cJSON_AddNumberToObject(root, "n_oos", (double)r->cal.n_oos);
        add_num(root, "in_scope_accuracy", r->cal.accuracy);
        add_num(root, "oos_auroc", r->cal.oos_auroc);
        add_num(root, "oos_recall_at_90", r->cal.oos_recall_at_90);
        add_num(root, "threshold_at_90", r->cal.threshold_at_90);
    }
    labels = cJSON_AddObjectToObject(root, "labels");
    for (i = 0; labels && i < r->nshown; i++) {
        const label_stat *s = &r->st[r->order[i]];

        if ((o = cJSON_AddObjectToObject(labels, e->labels.v[r->order[i]]))) {
            cJSON_AddNumberToObject(o, "precision", r6(s->precision));
            cJSON_AddNumberToObject(o, "recall", r6(s->recall));
            cJSON_AddNumberToObject(o, "f1", r6(s->f1));
            cJSON_AddNumberToObject(o, "support", (double)s->support);
        }
    }
    conf = cJSON_AddArrayToObject(root, "confusions");
    for (i = 0; conf && i < r->npairs; i++) {
        if ((o = cJSON_CreateObject())) {
            cJSON_AddStringToObject(o, "gold", e->labels.v[r->pairs[i].gold]);
            cJSON_AddStringToObject(o, "predicted",
                                    e->labels.v[r->pairs[i].pred]);
            cJSON_AddNumberToObject(o, "count", (double)r->pairs[i].count);
            cJSON_AddItemToArray(conf, o);
        }
    }
    heads = cJSON_AddObjectToObject(root, "heads");
    for (i = 0; heads && i < e->nheads; i++) {
        const head_score *h = &e->heads[i];

        if (h->n > 0 && (o = cJSON_AddObjectToObject(heads, h->name))) {
            cJSON_AddNumberToObject(o, "accuracy",
                                    r6((double)h->correct / (double)h->n));
            cJSON_AddNumberToObject(o, "n", (double)h->n);
        }
    }
    cJSON_AddNumberToObject(root, "rejected", (double)e->rejected);
    rc = cli_print_json_line(stdout, root);
    cJSON_Delete(root);
    return rc;
}

static void print_table(const eval *e, const report *r)
{
    int w = (int)strlen("label"), cw = (int)strlen("gold -> predicted"), n;
    char buf[1024];
    size_t i;

    printf("examples  %zu\n", e->n);
    printf("accuracy  %.4f\n", (double)r->correct / (double)e->n);
    printf("macro_f1  %.4f\n", r->macro_f1);
    printf("ece       %.4f\n", r->cal.ece);
    if (r->cal.n_oos > 0) {
        printf("out of scope (%s)  %zu texts; in-scope accuracy %.4f, "
               "AUROC %.4f, recall at 90%% in-scope accuracy %.4f "
               "(threshold %.4f)\n",
               e->oos, r->cal.n_oos, r->cal.accuracy, r->cal.oos_auroc,
               r->cal.oos_recall_at_90, r->cal.threshold_at_90);
    }
    for (i = 0; i < e->nheads; i++) {
        if (e->heads[i].n > 0) {
            printf("%s accuracy  %.4f  (%ld examples)\n", e->heads[i].name,
                   (double)e->heads[i].correct / (double)e->heads[i].n,
                   e->heads[i].n);
        }
    }
    if (e->rejected) {
        printf("rejected  %ld lines\n", e->rejected);
    }
    for (i = 0; i < r->nshown; i++) {
        n = (int)strlen(e->labels.v[r->order[i]]);
        w = n > w ? n : w;
    }
    printf("\n%-*s  precision  recall      f1  support\n", w, "label");
    for (i = 0; i < r->nshown; i++) {
        const label_stat *s = &r->st[r->order[i]];

        printf("%-*s  %9.3f  %6.3f  %6.3f  %7ld\n", w, e->labels.v[r->order[i]],
               s->precision, s->recall, s->f1, s->support);
    }
    if (r->npairs == 0) {
        return;
    }
    for (i = 0; i < r->npairs; i++) {
        n = snprintf(buf, sizeof(buf), "%s -> %s",
                     e->labels.v[r->pairs[i].gold],
                     e->labels.v[r->pairs[i].pred]);
        cw = n > cw ? n : cw;
    }
    printf("\nmost confused\n%-*s  count\n", cw, "gold -> predicted");
    for (i = 0; i < r->npairs; i++) {
        snprintf(buf, sizeof(buf), "%s -> %s", e->labels.v[r->pairs[i].gold],
                 e->labels.v[r->pairs[i].pred]);
        printf("%-*s  %5ld\n", cw, buf, r->pairs[i].count);
    }
}

int cli_cmd_eval(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"json", no_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"oos-label", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_format fmt = CLI_FORMAT_TABLE;
    const char *path, *oos = NULL;
    eval e;
    report r;
    FILE *fp;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        switch (opt) {
        case 'j':
            fmt = CLI_FORMAT_JSON;
            break;
        case 'f':
            if ((rc = cli_parse_format(ctx, optarg, &fmt)) != CLI_OK) {
                return rc;
            }
            break;
        case 'o':
            if (optarg[0] == '\0') {
                return cli_usage(ctx, "--oos-label: an empty name");
            }
            oos = optarg;
            break;
        case 'h':
            return cli_help(ctx);
        default:
            return CLI_USAGE;
        }
    }
    if ((rc = cli_want_args(ctx, argc - optind, 2, "MODEL TEST.jsonl")) !=
        CLI_OK) {
        return rc;
    }
    memset(&e, 0, sizeof(e));
    path = argv[optind + 1];
    if (strcmp(path, "-") == 0) {
        fp = stdin;
        e.file = "stdin";
    } else if (!(fp = fopen(path, "r"))) {
        cli_err("%s: %s", path, strerror(errno));
        return CLI_USAGE;
    } else {
        e.file = path;
    }
    if ((rc = cli_model_load(argv[optind], &e.m)) != CLI_OK) {
        goto done;
    }
    if (eval_init(&e) != 0) {
        cli_err("eval: out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    e.oos = oos ? oos : e.model_oos;
    if ((rc = eval_file(&e, fp)) != CLI_OK) {
        goto done;
    }
    if (e.n == 0) {
        cli_err("%s: no example to evaluate", e.file);
        rc = CLI_BADINPUT;
        goto done;
    }
    if (build_report(&r, &e) != 0) {
        cli_err("eval: out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    if (fmt == CLI_FORMAT_JSON) {
        rc = print_json(&e, &r) == 0 ? CLI_OK : CLI_FAIL;
    } else {
        print_table(&e, &r);
        rc = CLI_OK;
    }
    report_free(&r);
    if (rc == CLI_OK && e.rejected > 0) {
        rc = CLI_BADINPUT;
    }
done:
    if (fp != stdin) {
        fclose(fp);
    }
    eval_free(&e);
    return rc;
}
