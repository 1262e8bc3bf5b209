/*
 * model_bench.c - the library side of bench/model.sh: trains, evaluates
 * and times the built-in classifier through the public API, and writes
 * the fastText-format files the yardstick is trained on.
 *
 * Each measurement is its own subcommand, so each runs in a fresh process
 * whose peak RSS (getrusage) belongs to that measurement alone, as
 * /usr/bin/time measures fastText's. The fastText files are tokenized by
 * the library's own normalizer and tokenizer (internal functions, reached
 * by linking build/libtutorcache.a), so both learners see the same words.
 * Results go to stdout as one line of key=value pairs for the script.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <tutorcache.h>

#include "base/normalize.h"
#include "bench_util.h"

static const char usage[] =
    "Usage: model_bench COMMAND [options] ARGS\n"
    "  fasttext [--shuffle SEED] DATA.jsonl   fastText lines on stdout,\n"
    "                                         tokenized as the library does\n"
    "  texts DATA.jsonl                       the texts, one per line\n"
    "  train [--threads N] TRAIN.jsonl MODEL  train with the defaults, save\n"
    "  eval MODEL TEST.jsonl                  accuracy of the intent head\n"
    "  predict [-n N] MODEL TEST.jsonl        tc_model_predict, one thread\n"
    "  classify [-n N] [--misses M] MODEL TEST.jsonl\n"
    "                                         tc_classify on a memory: cache,\n"
    "                                         L1 hits and misses, one thread\n";

const char bench_prog[] = "model_bench";

/* Peak resident set of this process so far, in KiB (Linux units). */
static long peak_rss_kb(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return -1;
    }
    return ru.ru_maxrss;
}

/*
 * fastText lines: "__label__INTENT tok tok ...", the tokens those of the
 * library's normalizer and tokenizer joined by single spaces. Shuffled by
 * a seeded Fisher-Yates of our own rather than shuf or awk's rand(), so
 * the order is the same on every machine: fastText reads its input in
 * order, and both sets come grouped by label.
 */
static int cmd_fasttext(int argc, char **argv)
{
    uint64_t seed = 0;
    int shuffle = 0, i = 1;
    size_t k, *order;
    bench_dataset d;

    if (argc > 2 && strcmp(argv[1], "--shuffle") == 0) {
        seed = strtoull(argv[2], NULL, 10);
        shuffle = 1;
        i = 3;
    }
    if (argc != i + 1) {
        bench_fail("fasttext: one file expected");
    }
    /* fastText would read the rest of a label with a space as words */
    d = bench_dataset_load(argv[i], BENCH_ONE_WORD);
    order = bench_alloc(d.n, sizeof(*order));
    for (k = 0; k < d.n; k++) {
        order[k] = k;
    }
    if (shuffle) {
        bench_shuffle(order, d.n, sizeof(*order), &seed);
    }
    for (k = 0; k < d.n; k++) {
        const bench_example *e = &d.ex[order[k]];
        char *norm = bench_alloc(tc__normalize_bound(e->len) + 1, 1);
        size_t nlen, pos = 0, start, tlen;

        if (tc__normalize_into(norm, tc__normalize_bound(e->len) + 1, &nlen,
                               e->text, e->len, NULL) != TC_OK) {
            bench_fail("%s: invalid UTF-8 in a text", argv[i]);
        }
        printf("__label__%s", e->intent);
        while (tc__token_next(norm, nlen, &pos, &start, &tlen)) {
            printf(" %.*s", (int)tlen, norm + start);
        }
        putchar('\n');
        free(norm);
    }
    free(order);
    bench_dataset_free(&d);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* The raw texts, one per line, for `tutorcache classify`: the line breaks
 * a few texts contain become spaces (the library folds them so anyway). */
static int cmd_texts(int argc, char **argv)
{
    bench_dataset d;
    size_t k, j;

    if (argc != 2) {
        bench_fail("texts: one file expected");
    }
    d = bench_dataset_load(argv[1], 0);
    for (k = 0; k < d.n; k++) {
        for (j = 0; j < d.ex[k].len; j++) {
            char c = d.ex[k].text[j];

            putchar(c == '\n' || c == '\r' ? ' ' : c);
        }
        putchar('\n');
    }
    bench_dataset_free(&d);
    return fflush(stdout) == 0 ? 0 : 1;
}

static tc_model *load_model(const char *path)
{
    tc_model *m = NULL;

    if (tc_model_load(&m, path) != TC_OK) {
        bench_fail("%s", tc_errmsg());
    }
    return m;
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/*
 * Training with the library's defaults; only the thread count is set, to
 * fastText's. The time is tc_model_train_file's (reading and parsing the
 * file included); the save is timed apart.
 */
static int cmd_train(int argc, char **argv)
{
    tc_train_options opt;
    tc_model *m = NULL;
    double t0, t1, t2;
    int i = 1;

    tc_train_options_init(&opt);
    if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
        opt.threads = atoi(argv[2]);
        i = 3;
    }
    if (argc != i + 2) {
        bench_fail("train: TRAIN.jsonl MODEL expected");
    }
    t0 = bench_now();
    if (tc_model_train_file(&m, argv[i], &opt) != TC_OK) {
        bench_fail("%s", tc_errmsg());
    }
    t1 = bench_now();
    if (tc_model_save(m, argv[i + 1]) != TC_OK) {
        bench_fail("%s", tc_errmsg());
    }
    t2 = bench_now();
    printf("train_s=%.3f save_s=%.3f file_bytes=%ld rss_kb=%ld\n", t1 - t0,
           t2 - t1, file_size(argv[i + 1]), peak_rss_kb());
    tc_model_free(m);
    return 0;
}

static const char *top_intent(const tc_prediction *p)
{
    return p->nheads > 0 && p->heads[0].n > 0 ? p->heads[0].labels[0].label
                                              : "";
}

static int cmd_eval(int argc, char **argv)
{
    tc_model *m;
    bench_dataset d;
    size_t k, right = 0;

    if (argc != 3) {
        bench_fail("eval: MODEL TEST.jsonl expected");
    }
    m = load_model(argv[1]);
    d = bench_dataset_load(argv[2], 0);
    for (k = 0; k < d.n; k++) {
        tc_prediction *p = NULL;

        if (tc_model_predict(&p, m, d.ex[k].text, d.ex[k].len, 1) != TC_OK) {
            bench_fail("tc_model_predict failed");
        }
        right += strcmp(top_intent(p), d.ex[k].intent) == 0;
        tc_prediction_free(p);
    }
    printf("accuracy=%.4f n=%zu\n", (double)right / (double)d.n, d.n);
    bench_dataset_free(&d);
    tc_model_free(m);
    return 0;
}

/* "-n N" and "--misses M" before the positional arguments. */
static int counts(int argc, char **argv, long *n, long *misses)
{
    int i = 1;

    while (i + 1 < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-n") == 0) {
            *n = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--misses") == 0 && misses) {
            *misses = atol(argv[i + 1]);
        } else {
            bench_fail("unknown option %s", argv[i]);
        }
        i += 2;
    }
    if (*n <= 0 || (misses && *misses <= 0)) {
        bench_fail("counts must be positive");
    }
    return i;
}

/*
 * Single-thread predictions per second through tc_model_predict (top 1),
 * cycling over the test texts after one untimed pass that faults the
 * model's pages in. Each call normalizes, tokenizes and hashes its text,
 * as `fasttext predict` reads and splits each line.
 */
static int cmd_predict(int argc, char **argv)
{
    long n = 100000, k;
    int i = counts(argc, argv, &n, NULL);
    tc_model *m;
    bench_dataset d;
    double t0 = 0, t1;
    size_t sink = 0;

    if (argc != i + 2) {
        bench_fail("predict: MODEL TEST.jsonl expected");
    }
    m = load_model(argv[i]);
    d = bench_dataset_load(argv[i + 1], 0);
    for (k = -(long)d.n; k < n; k++) {
        const bench_example *e = &d.ex[(size_t)(k + (long)d.n) % d.n];
        tc_prediction *p = NULL;

        if (k == 0) {
            t0 = bench_now();
        }
        if (tc_model_predict(&p, m, e->text, e->len, 1) != TC_OK) {
            bench_fail("tc_model_predict failed");
        }
        sink += strlen(top_intent(p));
        tc_prediction_free(p);
    }
    t1 = bench_now();
    printf("predict_per_s=%.0f n=%ld rss_kb=%ld sink=%zu\n",
           (double)n / (t1 - t0), n, peak_rss_kb(), sink % 10);
    bench_dataset_free(&d);
    tc_model_free(m);
    return 0;
}

/* One tc_classify; fails unless the answer came from the expected tier. */
static void classify_one(tc_classifier *c, const char *text, size_t len,
                         tc_source want)
{
    tc_result *r = NULL;

    if (tc_classify(&r, c, text, len) != TC_OK) {
        bench_fail("tc_classify: %s", tc_errmsg());
    }
    if (r->source != want) {
        bench_fail("tc_classify answered from %s", tc_source_name(r->source));
    }
    tc_result_free(r);
}

/*
 * tc_classify on a memory: cache (L1 only), one thread. Hits: every test
 * text once (answered by the model), then n calls cycling over them, each
 * checked to come from the L1. Misses: texts made unique by a number in
 * front, so each one is a lookup that misses, a prediction and an L1
 * store; the number adds one word and its n-grams to the features.
 */
static int cmd_classify(int argc, char **argv)
{
    long n = 1000000, misses = 50000, k;
    int i = counts(argc, argv, &n, &misses);
    tc_options o;
    tc_classifier_options co;
    tc_cache *cache = NULL;
    tc_classifier *c = NULL;
    tc_model *m;
    bench_dataset d;
    char **uniq;
    size_t *ulen;
    double t0, t1, t2;

    if (argc != i + 2) {
        bench_fail("classify: MODEL TEST.jsonl expected");
    }
    m = load_model(argv[i]);
    d = bench_dataset_load(argv[i + 1], 0);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = "memory:";
    o.enable_caching = 1;
    if (tc_cache_open(&cache, &o) != TC_OK) {
        bench_fail("%s", tc_errmsg());
    }
    tc_classifier_options_init(&co);
    co.model = m;
    if (tc_classifier_open(&c, cache, &co) != TC_OK) {
        bench_fail("tc_classifier_open: %s", tc_errmsg());
    }
    /* Texts equal after normalization share a key: only the first is a
     * model answer, so the warm-up does not check the source. */
    for (k = 0; k < (long)d.n; k++) {
        tc_result *r = NULL;

        if (tc_classify(&r, c, d.ex[k].text, d.ex[k].len) != TC_OK) {
            bench_fail("tc_classify: %s", tc_errmsg());
        }
        tc_result_free(r);
    }
    t0 = bench_now();
    for (k = 0; k < n; k++) {
        const bench_example *e = &d.ex[(size_t)k % d.n];

        classify_one(c, e->text, e->len, TC_SOURCE_L1);
    }
    t1 = bench_now();

    uniq = bench_alloc((size_t)misses, sizeof(*uniq));
    ulen = bench_alloc((size_t)misses, sizeof(*ulen));
    for (k = 0; k < misses; k++) {
        const bench_example *e = &d.ex[(size_t)k % d.n];

        uniq[k] = bench_alloc(e->len + 24, 1);
        ulen[k] = (size_t)sprintf(uniq[k], "%ld %s", k, e->text);
    }
    t2 = bench_now();
    for (k = 0; k < misses; k++) {
        classify_one(c, uniq[k], ulen[k], TC_SOURCE_MODEL);
    }
    printf("l1_hit_per_s=%.0f miss_per_s=%.0f n=%ld misses=%ld rss_kb=%ld\n",
           (double)n / (t1 - t0), (double)misses / (bench_now() - t2), n,
           misses, peak_rss_kb());
    for (k = 0; k < misses; k++) {
        free(uniq[k]);
    }
    free(uniq);
    free(ulen);
    tc_classifier_close(c);
    tc_cache_close(cache);
    bench_dataset_free(&d);
    tc_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"fasttext", cmd_fasttext}, {"texts", cmd_texts},
                {"train", cmd_train},       {"eval", cmd_eval},
                {"predict", cmd_predict},   {"classify", cmd_classify}};
    size_t i;

    if (argc >= 2) {
        for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
            if (strcmp(argv[1], cmds[i].name) == 0) {
                return cmds[i].fn(argc - 1, argv + 1);
            }
        }
    }
    fputs(usage, stderr);
    return 2;
}
