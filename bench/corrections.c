/*
 * corrections.c - the library side of bench/corrections.sh: what
 * remembered corrections (tc_model_update) do to the built-in classifier,
 * on one set of the classifier suite, and what a full retrain with the
 * same corrections does instead.
 *
 * The model is trained once on fit.jsonl and saved; every measurement
 * starts from a fresh load of that file, so no correction leaks into the
 * next one. The correction pool is the dev texts the model gets wrong,
 * shuffled once with the seed, so the N = 100 corrections include the
 * N = 10 ones and every row grows the one before. Results are lines of
 * key=value pairs on stdout, for the script; anything that keeps a
 * number from meaning what it says stops the tool with exit status 1.
 * The word paraphrases are in corrections_data.c, what every benchmark
 * program needs in bench_util.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <tutorcache.h>

#include "corrections.h"

const char bench_prog[] = "corrections";

static const char usage[] =
    "Usage: corrections [options] SET_DIR\n"
    "  Trains on SET_DIR/fit.jsonl (default options, one thread), takes\n"
    "  the dev texts it gets wrong as corrections and measures\n"
    "  tc_model_update against SET_DIR/test.jsonl; one line of key=value\n"
    "  pairs per set, per N and for the adversarial run on stdout.\n"
    "Options:\n"
    "  --name NAME        the set's name in the output (SET_DIR's last part)\n"
    "  --ns LIST          the numbers of corrections (10,100,300,1000)\n"
    "  --seed N           the shuffles and the paraphrases (1)\n"
    "  --adversarial F    share of the dev texts given a wrong intent (0.05)\n"
    "  --no-retrain       skip the full retrain beside each N\n"
    "  --explain N        on stderr, the test texts the N corrections made\n"
    "                     wrong, with the corrections that may have done it\n";

/* The most Ns one run takes (--ns). */
#define MAX_NS 16

/* The temp model file, removed at exit, also after bench_fail(). */
static char model_path[4096];

static void remove_model(void)
{
    if (model_path[0]) {
        unlink(model_path);
    }
}

static double share(size_t right, size_t n)
{
    return n ? (double)right / (double)n : 0;
}

/* ---- the model ----------------------------------------------------------- */

typedef struct labels {
    char **v; /* sorted, for bsearch */
    size_t n;
} labels;

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The intent head's labels, from tc_model_info_json. */
static labels model_labels(const tc_model *m)
{
    labels l = {NULL, 0};
    char *info = NULL;
    cJSON *root, *heads, *list, *it;

    if (tc_model_info_json(&info, m) != TC_OK) {
        bench_fail("tc_model_info_json failed");
    }
    root = cJSON_Parse(info);
    heads = cJSON_GetObjectItemCaseSensitive(root, "heads");
    list = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(heads, 0),
                                            "labels");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 2) {
        bench_fail("the model's info has no intent labels");
    }
    l.v = bench_alloc((size_t)cJSON_GetArraySize(list), sizeof(*l.v));
    cJSON_ArrayForEach(it, list)
    {
        if (!cJSON_IsString(it)) {
            bench_fail("the model's info: a label is not a string");
        }
        l.v[l.n++] = bench_strdup(it->valuestring);
    }
    qsort(l.v, l.n, sizeof(*l.v), by_string);
    cJSON_Delete(root);
    tc_free(info);
    return l;
}

static int known(const labels *l, const char *intent)
{
    return bsearch(&intent, l->v, l->n, sizeof(*l->v), by_string) != NULL;
}

static void labels_free(labels *l)
{
    size_t k;

    for (k = 0; k < l->n; k++) {
        free(l->v[k]);
    }
    free(l->v);
}

/* Trains with the defaults (one thread: the same model on every run);
 * *secs is the tc_model_train call alone. */
static tc_model *train(const char *data, size_t len, double *secs)
{
    tc_train_options opt;
    tc_model *m = NULL;
    double t0;

    tc_train_options_init(&opt);
    t0 = bench_now();
    if (tc_model_train(&m, data, len, &opt) != TC_OK) {
        bench_fail("tc_model_train: %s", tc_errmsg());
    }
    *secs = bench_now() - t0;
    return m;
}

static tc_model *fresh_copy(void)
{
    tc_model *m = NULL;

    if (tc_model_load(&m, model_path) != TC_OK) {
        bench_fail("%s", tc_errmsg());
    }
    return m;
}

/* The top intent of every text of d, each string the caller's. */
static char **predict_all(const tc_model *m, const bench_dataset *d)
{
    char **out = bench_alloc(d->n, sizeof(*out));
    size_t k;

    for (k = 0; k < d->n; k++) {
        tc_prediction *p = NULL;

        if (tc_model_predict(&p, m, d->ex[k].text, d->ex[k].len, 1) != TC_OK ||
            p->nheads == 0 || p->heads[0].n == 0) {
            bench_fail("tc_model_predict failed on \"%s\"", d->ex[k].text);
        }
        out[k] = bench_strdup(p->heads[0].labels[0].label);
        tc_prediction_free(p);
    }
    return out;
}

static void predictions_free(char **p, size_t n)
{
    size_t k;

    for (k = 0; p && k < n; k++) {
        free(p[k]);
    }
    free(p);
}

static size_t count_right(char **pred, const bench_dataset *d)
{
    size_t k, right = 0;

    for (k = 0; k < d->n; k++) {
        right += strcmp(pred[k], d->ex[k].intent) == 0;
    }
    return right;
}

/* ---- one set ------------------------------------------------------------- */

typedef struct corr_set {
    const char *name;
    bench_dataset fit, dev, test;
    char *fit_raw;
    size_t fit_len;
    labels lab;
    char **dev_pred, **test_pred; /* of the trained weights */
    unsigned char *test_in;       /* 1: the test text's intent is known */
    size_t ntest_in, test_right;
    size_t *pool, npool; /* wrong dev texts, shuffled */
    double train_s;
} corr_set;

/* What one model does on a row's texts. */
typedef struct scores {
    size_t corr_right, word_right, same_right;
    size_t drop_right; /* of word_right, the even variants: a word dropped */
    size_t rest_right, test_right;
} scores;

/* Sets same[t] for the test texts that are wrong the way a correction
 * was: the same gold intent and the same answer of the weights. */
static size_t mark_same(const corr_set *b, const size_t *corr, size_t n,
                        unsigned char *same)
{
    size_t t, k, count = 0;

    for (t = 0; t < b->test.n; t++) {
        const char *gold = b->test.ex[t].intent, *pred = b->test_pred[t];

        same[t] = 0;
        if (!b->test_in[t] || strcmp(gold, pred) == 0) {
            continue;
        }
        for (k = 0; k < n && !same[t]; k++) {
            same[t] = strcmp(b->dev.ex[corr[k]].intent, gold) == 0 &&
                      strcmp(b->dev_pred[corr[k]], pred) == 0;
        }
        count += same[t];
    }
    return count;
}

static scores score(const corr_set *b, const tc_model *m, const size_t *corr,
                    size_t n, const bench_dataset *words,
                    const unsigned char *same, char ***test_after)
{
    scores s = {0, 0, 0, 0, 0, 0};
    bench_dataset c = {NULL, 0, 0};
    char **pc, **pw, **pt;
    size_t k;

    for (k = 0; k < n; k++) {
        const bench_example *e = &b->dev.ex[corr[k]];

        bench_dataset_push(&c, bench_strdup(e->text), bench_strdup(e->intent));
    }
    pc = predict_all(m, &c);
    pw = predict_all(m, words);
    pt = predict_all(m, &b->test);
    s.corr_right = count_right(pc, &c);
    s.word_right = count_right(pw, words);
    for (k = 0; k < words->n; k += 2) {
        s.drop_right += strcmp(pw[k], words->ex[k].intent) == 0;
    }
    for (k = 0; k < b->test.n; k++) {
        int right = strcmp(pt[k], b->test.ex[k].intent) == 0;

        if (!b->test_in[k]) {
            continue;
        }
        s.test_right += right;
        if (same[k]) {
            s.same_right += right;
        } else {
            s.rest_right += right;
        }
    }
    predictions_free(pc, c.n);
    predictions_free(pw, words->n);
    bench_dataset_free(&c);
    if (test_after) {
        *test_after = pt;
    } else {
        predictions_free(pt, b->test.n);
    }
    return s;
}

/* corr[0..n) as JSON Lines, each with its gold intent (or the intent
 * given in wrong[k], when wrong is not NULL). */
static char *corrections_json(const corr_set *b, const size_t *corr, size_t n,
                              char *const *wrong, size_t *len)
{
    size_t k, cap = 1024, used = 0;
    char *out = bench_alloc(cap, 1);

    for (k = 0; k < n; k++) {
        const bench_example *e = &b->dev.ex[corr[k]];
        char *line = bench_example_json(e->text, wrong ? wrong[k] : e->intent);
        size_t ll = strlen(line);

        while (used + ll + 2 > cap) {
            cap *= 2;
            out = bench_realloc(out, cap, 1);
        }
        memcpy(out + used, line, ll);
        used += ll;
        out[used++] = '\n';
        cJSON_free(line);
    }
    out[used] = '\0';
    *len = used;
    return out;
}

/* Applies the lines in ONE tc_model_update; returns its milliseconds.
 * No lines (5% of a tiny dev set) is no update. */
static double update(tc_model *m, const char *json)
{
    double t0 = bench_now();

    if (json[0] == '\0') {
        return 0;
    }
    if (tc_model_update(m, json) != TC_OK) {
        bench_fail("tc_model_update: %s", tc_errmsg());
    }
    return (bench_now() - t0) * 1e3;
}

/* The test texts that were right and the corrections made wrong, and
 * the corrections that may have done it (corrected to that intent, from
 * the answer the text had). */
static void explain(const corr_set *b, const size_t *corr, size_t n,
                    const unsigned char *same, char **after)
{
    size_t t, k;

    fprintf(stderr, "%s, N=%zu: rest texts made wrong\n", b->name, n);
    for (t = 0; t < b->test.n; t++) {
        const bench_example *e = &b->test.ex[t];

        if (!b->test_in[t] || same[t] || strcmp(b->test_pred[t], e->intent) ||
            strcmp(after[t], e->intent) == 0) {
            continue;
        }
        fprintf(stderr, "  \"%s\" %s -> %s\n", e->text, e->intent, after[t]);
        for (k = 0; k < n; k++) {
            const bench_example *c = &b->dev.ex[corr[k]];

            if (strcmp(c->intent, after[t]) == 0 &&
                strcmp(b->dev_pred[corr[k]], e->intent) == 0) {
                fprintf(stderr, "      by? \"%s\" %s -> %s\n", c->text,
                        b->dev_pred[corr[k]], c->intent);
            }
        }
    }
}

static void run_n(const corr_set *b, size_t want, size_t n, uint64_t seed,
                  int retrain, size_t explain_n)
{
    bench_dataset words = corr_word_variants(&b->dev, b->pool, n, seed);
    unsigned char *same = bench_calloc(b->test.n, 1);
    size_t nsame = mark_same(b, b->pool, n, same), nrest, rest_before = 0, k,
           jlen;
    char *json = corrections_json(b, b->pool, n, NULL, &jlen), **after = NULL;
    tc_model *m = fresh_copy();
    double ms = update(m, json);
    scores s = score(b, m, b->pool, n, &words, same, &after), r;

    for (k = 0; k < b->test.n; k++) {
        rest_before += b->test_in[k] && !same[k] &&
                       strcmp(b->test_pred[k], b->test.ex[k].intent) == 0;
    }
    nrest = b->ntest_in - nsame;
    printf("kind=row set=%s n=%zu used=%zu pool=%zu capped=%d "
           "corrected_right=%.4f word_n=%zu word_right=%.4f "
           "drop_right=%.4f swap_right=%.4f same_n=%zu "
           "same_right=%.4f rest_n=%zu rest_before=%.4f rest_after=%.4f "
           "rest_diff_points=%.2f test_before=%.4f test_after=%.4f "
           "update_ms=%.3f",
           b->name, want, n, b->npool, n < want, share(s.corr_right, n),
           words.n, share(s.word_right, words.n),
           share(s.drop_right, words.n / 2),
           share(s.word_right - s.drop_right, words.n / 2), nsame,
           share(s.same_right, nsame), nrest, share(rest_before, nrest),
           share(s.rest_right, nrest),
           100 * (share(s.rest_right, nrest) - share(rest_before, nrest)),
           share(b->test_right, b->ntest_in), share(s.test_right, b->ntest_in),
           ms);
    if (explain_n == n) {
        explain(b, b->pool, n, same, after);
    }
    predictions_free(after, b->test.n);
    tc_model_free(m);
    if (retrain) {
        /* fit.jsonl and the corrections as more lines of it */
        size_t len = b->fit_len + 1 + jlen;
        char *data = bench_alloc(len + 1, 1);
        double secs;

        memcpy(data, b->fit_raw, b->fit_len);
        data[b->fit_len] = '\n';
        memcpy(data + b->fit_len + 1, json, jlen + 1);
        m = train(data, len, &secs);
        r = score(b, m, b->pool, n, &words, same, NULL);
        printf(" retrain_corrected_right=%.4f retrain_word_right=%.4f "
               "retrain_same_right=%.4f retrain_rest=%.4f "
               "retrain_test=%.4f retrain_s=%.3f",
               share(r.corr_right, n), share(r.word_right, words.n),
               share(r.same_right, nsame), share(r.rest_right, nrest),
               share(r.test_right, b->ntest_in), secs);
        tc_model_free(m);
        free(data);
    }
    putchar('\n');
    free(json);
    free(same);
    bench_dataset_free(&words);
}

/*
 * frac of the dev texts (of known intents), drawn with the seed, each
 * corrected to an intent drawn from the others, all in one update: what
 * a user who lies, or a click on the wrong answer, does to the test set.
 */
static void run_adversarial(const corr_set *b, double frac, uint64_t seed)
{
    size_t *idx = bench_alloc(b->dev.n, sizeof(*idx)), n = 0, k, na,
           changed = 0, own = 0, right = 0, jlen;
    uint64_t s = seed ^ 0xAD7E55A1ULL;
    char **wrong, *json, **after, **pa;
    bench_dataset c = {NULL, 0, 0};
    tc_model *m;
    double ms;

    for (k = 0; k < b->dev.n; k++) {
        if (known(&b->lab, b->dev.ex[k].intent)) {
            idx[n++] = k;
        }
    }
    bench_shuffle(idx, n, sizeof(*idx), &s);
    na = (size_t)(frac * (double)n + 0.5);
    wrong = bench_alloc(na, sizeof(*wrong));
    for (k = 0; k < na; k++) {
        const char *gold = b->dev.ex[idx[k]].intent;

        do {
            wrong[k] = b->lab.v[bench_below(&s, b->lab.n)];
        } while (strcmp(wrong[k], gold) == 0);
        bench_dataset_push(&c, bench_strdup(b->dev.ex[idx[k]].text),
                           bench_strdup(wrong[k]));
    }
    json = corrections_json(b, idx, na, wrong, &jlen);
    m = fresh_copy();
    ms = update(m, json);
    after = predict_all(m, &b->test);
    pa = predict_all(m, &c);
    for (k = 0; k < b->test.n; k++) {
        if (b->test_in[k]) {
            right += strcmp(after[k], b->test.ex[k].intent) == 0;
            changed += strcmp(after[k], b->test_pred[k]) != 0;
        }
    }
    own = count_right(pa, &c);
    printf("kind=adversarial set=%s n=%zu dev_n=%zu share=%.4f "
           "taken=%.4f test_before=%.4f test_after=%.4f "
           "test_diff_points=%.2f test_changed=%zu update_ms=%.3f\n",
           b->name, na, n, frac, share(own, na),
           share(b->test_right, b->ntest_in), share(right, b->ntest_in),
           100 *
               (share(right, b->ntest_in) - share(b->test_right, b->ntest_in)),
           changed, ms);
    predictions_free(after, b->test.n);
    predictions_free(pa, c.n);
    bench_dataset_free(&c);
    tc_model_free(m);
    free(json);
    free(wrong);
    free(idx);
}

/* Trains, saves the model to the temp file, predicts dev and test with
 * the weights and draws the pool. */
static void prepare(corr_set *b, const char *dir, uint64_t seed)
{
    char path[4096];
    tc_model *m;
    size_t k, dev_in = 0;
    uint64_t s = seed;
    int fd;

    snprintf(path, sizeof(path), "%s/fit.jsonl", dir);
    b->fit_raw = bench_slurp(path, &b->fit_len);
    b->fit = bench_dataset_load(path, 0);
    snprintf(path, sizeof(path), "%s/dev.jsonl", dir);
    b->dev = bench_dataset_load(path, 0);
    snprintf(path, sizeof(path), "%s/test.jsonl", dir);
    b->test = bench_dataset_load(path, 0);
    m = train(b->fit_raw, b->fit_len, &b->train_s);
    b->lab = model_labels(m);
    snprintf(model_path, sizeof(model_path), "%s/tccorr.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if ((fd = mkstemp(model_path)) < 0) {
        model_path[0] = '\0';
        bench_fail("mkstemp: %s", strerror(errno));
    }
    close(fd);
    if (tc_model_save(m, model_path) != TC_OK) {
        bench_fail("%s", tc_errmsg());
    }
    b->dev_pred = predict_all(m, &b->dev);
    b->test_pred = predict_all(m, &b->test);
    tc_model_free(m);

    /* Texts of an intent the model was never taught (the out-of-scope
     * sets) can be neither corrected to it nor answered right: they are
     * left out, and counted. */
    b->test_in = bench_calloc(b->test.n, 1);
    for (k = 0; k < b->test.n; k++) {
        b->test_in[k] = (unsigned char)known(&b->lab, b->test.ex[k].intent);
        b->ntest_in += b->test_in[k];
        b->test_right +=
            b->test_in[k] && strcmp(b->test_pred[k], b->test.ex[k].intent) == 0;
    }
    b->pool = bench_alloc(b->dev.n, sizeof(*b->pool));
    for (k = 0; k < b->dev.n; k++) {
        if (!known(&b->lab, b->dev.ex[k].intent)) {
            continue;
        }
        dev_in++;
        if (strcmp(b->dev_pred[k], b->dev.ex[k].intent) != 0) {
            b->pool[b->npool++] = k;
        }
    }
    bench_shuffle(b->pool, b->npool, sizeof(*b->pool), &s);
    printf("kind=set set=%s classes=%zu fit=%zu dev=%zu dev_unknown=%zu "
           "dev_accuracy=%.4f pool=%zu test=%zu test_unknown=%zu "
           "test_accuracy=%.4f train_s=%.3f\n",
           b->name, b->lab.n, b->fit.n, b->dev.n, b->dev.n - dev_in,
           share(dev_in - b->npool, dev_in), b->npool, b->test.n,
           b->test.n - b->ntest_in, share(b->test_right, b->ntest_in),
           b->train_s);
}

static void corr_set_free(corr_set *b)
{
    predictions_free(b->dev_pred, b->dev.n);
    predictions_free(b->test_pred, b->test.n);
    bench_dataset_free(&b->fit);
    bench_dataset_free(&b->dev);
    bench_dataset_free(&b->test);
    labels_free(&b->lab);
    free(b->fit_raw);
    free(b->test_in);
    free(b->pool);
}

static unsigned long long number(const char *opt, const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        bench_fail("%s: not a number: %s", opt, s);
    }
    return v;
}

int main(int argc, char **argv)
{
    corr_set b;
    size_t ns[MAX_NS] = {10, 100, 300, 1000}, nns = 4, k, prev = 0,
           explain_n = 0;
    uint64_t seed = 1;
    double frac = 0.05;
    int i, retrain = 1;
    const char *dir, *name = NULL, *slash;

    memset(&b, 0, sizeof(b));
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(opt, "--no-retrain") == 0) {
            retrain = 0;
            continue;
        }
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (!val) {
            fputs(usage, stderr);
            return 2;
        }
        i++;
        if (strcmp(opt, "--name") == 0) {
            name = val;
        } else if (strcmp(opt, "--seed") == 0) {
            seed = number(opt, val);
        } else if (strcmp(opt, "--explain") == 0) {
            explain_n = (size_t)number(opt, val);
        } else if (strcmp(opt, "--adversarial") == 0) {
            char *end;

            frac = strtod(val, &end);
            if (end == val || *end || !(frac >= 0 && frac <= 1)) {
                bench_fail("--adversarial: a share from 0 to 1, not %s", val);
            }
        } else if (strcmp(opt, "--ns") == 0) {
            char *list = bench_strdup(val), *tok, *save = NULL;

            nns = 0;
            for (tok = strtok_r(list, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (nns == MAX_NS) {
                    bench_fail("--ns: at most %d numbers", MAX_NS);
                }
                ns[nns] = (size_t)number(opt, tok);
                if (ns[nns] == 0 || (nns > 0 && ns[nns] <= ns[nns - 1])) {
                    bench_fail("--ns: increasing numbers above 0, not %s", val);
                }
                nns++;
            }
            free(list);
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (i != argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    dir = argv[i];
    slash = strrchr(dir, '/');
    b.name = name ? name : slash && slash[1] ? slash + 1 : dir;
    atexit(remove_model);

    prepare(&b, dir, seed);
    /* Ns above the pool are all the pool: one row for it, not several. */
    for (k = 0; k < nns && prev < b.npool; k++) {
        size_t n = ns[k] < b.npool ? ns[k] : b.npool;

        run_n(&b, ns[k], n, seed, retrain, explain_n);
        prev = n;
    }
    if (frac > 0) {
        run_adversarial(&b, frac, seed);
    }
    corr_set_free(&b);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        bench_fail("stdout: write failed");
    }
    return 0;
}
