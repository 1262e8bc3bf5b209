/*
 * suite.c - the data side of bench/suite.sh: builds the benchmark's many
 * intent sets from the public SNIPS, BANKING77 and TREC-50 files, and
 * scores a file of predictions (accuracy, calibration, out-of-scope
 * detection) against its gold labels.
 *
 * Every random choice comes from one seed through bench_rand, and every
 * per-class choice from a state derived from the class's name, so the
 * same data always give byte-identical sets, and a class is split the
 * same way in every set that has it. The fastText files are not written
 * here: build/model_bench writes them with the library's own tokenizer.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "bench_util.h"
#include "suite.h"

static const char usage[] =
    "Usage: suite COMMAND [options] ARGS\n"
    "  make [--seed N] [--train-only] DATA_DIR OUT_DIR [SET...]\n"
    "        write OUT_DIR/SET/{train,test,fit,dev}.jsonl for every set\n"
    "        (or the sets named) and one line of counts per set on stdout;\n"
    "        --train-only reads no test file and writes no test.jsonl\n"
    "  texts DATA.jsonl\n"
    "        {\"text\": ...} per line, the input of `tutorcache classify`\n"
    "  score [--oos LABEL] [--json] GOLD.jsonl PRED\n"
    "        accuracy and ECE of PRED (fastText predict-prob lines or\n"
    "        `tutorcache classify` JSON Lines), line by line against GOLD,\n"
    "        and the ECE floor: the mean and 95th percentile of the ECE a\n"
    "        perfectly calibrated classifier with the same confidences\n"
    "        shows on as many texts (sampling noise alone);\n"
    "        with --oos, accuracy and ECE are those of the in-scope texts,\n"
    "        and the out-of-scope detection is scored too\n"
    "Sets: snips banking77 trec50 snips2 merge134 split500 split1000\n"
    "      split2000 snips-10 banking77-10 trec50-10 merge134-10\n"
    "      banking77-oos banking77-oos-taught\n";

/* A sub-intent has at least this many training texts (the smaller
 * k-means clusters are merged into their neighbours). */
#define SPLIT_MIN 3
/* Training texts per class in the low-resource sets. */
#define LOW_MAX 10
/* Intents held out of BANKING77 as out-of-scope (A) and as taught
 * out-of-scope examples (B). */
#define OOS_HELD 10

const char bench_prog[] = "suite";

/* ---- data ---------------------------------------------------------------- */

/* An example as read, or as a set writes it: the text, the label written
 * and the stratum of the fit/dev split (the label, except in the
 * out-of-scope sets, where it is the original intent). */
typedef struct item {
    const char *text;
    const char *label;
    const char *strat;
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

/* Every string made while building sets, freed at the end. */
static char **pool;
static size_t npool, poolcap;

static const char *keep(char *s)
{
    if (npool == poolcap) {
        poolcap = poolcap ? 2 * poolcap : 4096;
        pool = bench_realloc(pool, poolcap, sizeof(*pool));
    }
    return pool[npool++] = s;
}

static const char *joined(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = bench_alloc(la + ls + lb + 1, 1);

    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, b, lb + 1);
    return keep(s);
}

static void push(items *it, const char *text, const char *label,
                 const char *strat)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? 2 * it->cap : 1024;
        it->v = bench_realloc(it->v, it->cap, sizeof(*it->v));
    }
    it->v[it->n].text = text;
    it->v[it->n].label = label;
    it->v[it->n++].strat = strat;
}

/* Appends every example of path to out (see bench_dataset_load: a
 * fastText label is one word); the strings go to the pool. */
static void load(const char *path, items *out)
{
    bench_dataset d = bench_dataset_load(path, BENCH_ONE_WORD);
    size_t i;

    for (i = 0; i < d.n; i++) {
        const char *label = keep(d.ex[i].intent);

        push(out, keep(d.ex[i].text), label, label);
    }
    free(d.ex);
}

static int by_strat(const void *a, const void *b)
{
    const item *x = *(const item *const *)a, *y = *(const item *const *)b;
    int c = strcmp(x->strat, y->strat);

    return c ? c : (x > y) - (x < y);
}

/* The items of it grouped by stratum, ascending, in file order within
 * a stratum. */
static const item **strata(const items *it)
{
    const item **o = bench_alloc(it->n, sizeof(*o));
    size_t i;

    for (i = 0; i < it->n; i++) {
        o[i] = &it->v[i];
    }
    qsort(o, it->n, sizeof(*o), by_strat);
    return o;
}

/* The end of the stratum that starts at o[i]. */
static size_t run_end(const item **o, size_t n, size_t i)
{
    size_t j = i + 1;

    while (j < n && strcmp(o[j]->strat, o[i]->strat) == 0) {
        j++;
    }
    return j;
}

/*
 * Sets mark[i] for the items of it that are chosen: with max > 0, at most
 * max of each stratum (a sample); with max 0, a tenth of each stratum
 * (rounded), at least one of a stratum of two or more (a dev split). Each
 * stratum is shuffled by a state of its own, derived from the seed, its
 * name and the purpose, so a class is chosen alike in every set.
 */
static void choose(const items *it, uint64_t seed, const char *why, size_t max,
                   unsigned char *mark)
{
    const item **o = strata(it);
    size_t i, j, k, n;

    memset(mark, 0, it->n);
    for (i = 0; i < it->n; i = j) {
        uint64_t rng = seed ^ suite_hash(o[i]->strat, strlen(o[i]->strat)) ^
                       suite_hash(why, strlen(why));

        j = run_end(o, it->n, i);
        n = j - i;
        bench_shuffle(o + i, n, sizeof(*o), &rng);
        if (max == 0) {
            n = n < 2 ? 0 : n < 15 ? 1 : (n + 5) / 10;
        } else if (n > max) {
            n = max;
        }
        for (k = 0; k < n; k++) {
            mark[o[i + k] - it->v] = 1;
        }
    }
    free(o);
}

static int by_label(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The number of distinct labels of it, and the size of the smallest. */
static size_t labels(const items *it, size_t *smallest)
{
    const char **l = bench_alloc(it->n, sizeof(*l));
    size_t i, j, n = 0;

    *smallest = 0;
    for (i = 0; i < it->n; i++) {
        l[i] = it->v[i].label;
    }
    qsort(l, it->n, sizeof(*l), by_label);
    for (i = 0; i < it->n; i = j) {
        j = i + 1;
        while (j < it->n && strcmp(l[i], l[j]) == 0) {
            j++;
        }
        if (n++ == 0 || j - i < *smallest) {
            *smallest = j - i;
        }
    }
    free(l);
    return n;
}

/* ---- the sets ------------------------------------------------------------ */

typedef struct set {
    items train, test;
    items dev_only; /* texts that only dev may have (held-out intents) */
} set;

static void set_free(set *s)
{
    free(s->train.v);
    free(s->test.v);
    free(s->dev_only.v);
    memset(s, 0, sizeof(*s));
}

static void write_items(const char *dir, const char *name, const items *it)
{
    char path[4096];
    FILE *f;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s.jsonl", dir, name);
    f = fopen(path, "w");
    if (!f) {
        bench_fail("%s: cannot create: %s", path, strerror(errno));
    }
    for (i = 0; i < it->n; i++) {
        char *s = bench_example_json(it->v[i].text, it->v[i].label);

        fprintf(f, "%s\n", s);
        cJSON_free(s);
    }
    if (ferror(f) | fclose(f)) {
        bench_fail("%s: cannot write", path);
    }
}

/* Writes OUT/NAME/{train,test,fit,dev}.jsonl and prints the counts. */
static void write_set(const char *out, const char *name, const set *s,
                      uint64_t seed, int with_test)
{
    unsigned char *dev = bench_alloc(s->train.n, 1);
    unsigned char *more = bench_alloc(s->dev_only.n, 1);
    items fit = {NULL, 0, 0}, hold = {NULL, 0, 0};
    size_t i, ntr, nte, small, dummy;
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/%s", out, name);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        bench_fail("%s: cannot create: %s", dir, strerror(errno));
    }
    choose(&s->train, seed, "dev", 0, dev);
    choose(&s->dev_only, seed, "dev", 0, more);
    for (i = 0; i < s->train.n; i++) {
        const item *e = &s->train.v[i];

        push(dev[i] ? &hold : &fit, e->text, e->label, e->strat);
    }
    for (i = 0; i < s->dev_only.n; i++) {
        const item *e = &s->dev_only.v[i];

        if (more[i]) {
            push(&hold, e->text, e->label, e->strat);
        }
    }
    write_items(dir, "train", &s->train);
    if (with_test) {
        write_items(dir, "test", &s->test);
    }
    write_items(dir, "fit", &fit);
    write_items(dir, "dev", &hold);
    ntr = labels(&s->train, &small);
    nte = labels(&s->test, &dummy);
    printf("set=%s classes=%zu test_classes=%zu train=%zu test=%zu fit=%zu "
           "dev=%zu smallest_class=%zu\n",
           name, ntr, nte, s->train.n, s->test.n, fit.n, hold.n, small);
    free(fit.v);
    free(hold.v);
    free(dev);
    free(more);
}

/* Appends src to dst, the labels prefixed by "prefix:" when prefix is
 * not NULL. */
static void add_all(items *dst, const items *src, const char *prefix)
{
    size_t i;

    for (i = 0; i < src->n; i++) {
        const char *l = src->v[i].label;

        l = prefix ? joined(prefix, ":", l) : l;
        push(dst, src->v[i].text, l, l);
    }
}

/* The items of src whose label is a or b (the other one NULL). */
static void add_labels(items *dst, const items *src, const char *a,
                       const char *b)
{
    size_t i;

    for (i = 0; i < src->n; i++) {
        const char *l = src->v[i].label;

        if (strcmp(l, a) == 0 || (b && strcmp(l, b) == 0)) {
            push(dst, src->v[i].text, l, l);
        }
    }
}

/* snips2: the two SNIPS intents whose mean TF-IDF vectors are most
 * alike, the hardest pair, so the 2-class set is not trivially easy
 * (SearchCreativeWork and SearchScreeningEvent). Of 7 intents, at most
 * the first 63 are compared. */
static void make_pair(set *s, const items *tr, const items *te)
{
    const char **texts = bench_alloc(tr->n, sizeof(*texts));
    const item **o = strata(tr);
    size_t *rows = bench_alloc(tr->n, sizeof(*rows)), start[64], nc = 0;
    size_t i, a, b, ba = 0, bb = 1;
    double best = -2;
    suite_vectors *v;

    for (i = 0; i < tr->n; i++) {
        texts[i] = tr->v[i].text;
        rows[i] = (size_t)(o[i] - tr->v);
    }
    v = suite_vectors_make(texts, tr->n, tr->n);
    for (i = 0; i < tr->n && nc < 63; i = run_end(o, tr->n, i)) {
        start[nc++] = i;
    }
    start[nc] = tr->n;
    if (nc < 2) {
        bench_fail("snips2: fewer than two intents");
    }
    for (a = 0; a < nc; a++) {
        for (b = a + 1; b < nc; b++) {
            double c =
                suite_class_cosine(v, rows + start[a], start[a + 1] - start[a],
                                   rows + start[b], start[b + 1] - start[b]);
            if (c > best) {
                best = c;
                ba = a;
                bb = b;
            }
        }
    }
    add_labels(&s->train, tr, o[start[ba]]->label, o[start[bb]]->label);
    add_labels(&s->test, te, o[start[ba]]->label, o[start[bb]]->label);
    suite_vectors_free(v);
    free(texts);
    free(rows);
    free(o);
}

/*
 * splitK: each class of the merged set split into sub-intents by
 * clustering its training texts, k per class proportional to its share
 * of the training texts (at least 1, at most one per SPLIT_MIN texts).
 * A test text gets the sub-intent of the nearest centroid of its class.
 */
static void make_split(set *s, const set *m, size_t target, uint64_t seed)
{
    size_t ntr = m->train.n, n = ntr + m->test.n, i, j, t = 0, c;
    const char **texts = bench_alloc(n, sizeof(*texts));
    const item **otr = strata(&m->train), **ote = strata(&m->test);
    size_t *fit = bench_alloc(ntr, sizeof(*fit)),
           *fo = bench_alloc(n, sizeof(*fo));
    size_t *other = bench_alloc(n, sizeof(*other)), *oo = fo + ntr;
    suite_vectors *v;

    for (i = 0; i < n; i++) {
        texts[i] = i < ntr ? m->train.v[i].text : m->test.v[i - ntr].text;
    }
    v = suite_vectors_make(texts, n, ntr);
    add_all(&s->train, &m->train, NULL);
    add_all(&s->test, &m->test, NULL);
    for (i = 0; i < ntr; i = j) {
        const char *label = otr[i]->label, *names[4096];
        size_t nt = 0, nk, k, most;
        uint64_t rng = seed ^ suite_hash(label, strlen(label)) ^ target;

        j = run_end(otr, ntr, i);
        while (t < m->test.n && strcmp(ote[t]->label, label) < 0) {
            t++;
        }
        while (t + nt < m->test.n && strcmp(ote[t + nt]->label, label) == 0) {
            other[nt] = ntr + (size_t)(ote[t + nt] - m->test.v);
            nt++;
        }
        for (c = i; c < j; c++) {
            fit[c - i] = (size_t)(otr[c] - m->train.v);
        }
        k = (size_t)llround((double)target * (double)(j - i) / (double)ntr);
        most = (j - i) / SPLIT_MIN;
        k = k > most ? most : k;
        k = k < 1 ? 1 : k > 4096 ? 4096 : k;
        nk =
            suite_cluster(v, fit, j - i, other, nt, k, SPLIT_MIN, &rng, fo, oo);
        for (c = 0; c < nk; c++) {
            char num[32];

            snprintf(num, sizeof(num), "%zu", c);
            names[c] = joined(label, "#", num);
        }
        for (c = 0; c < j - i; c++) {
            s->train.v[fit[c]].label = s->train.v[fit[c]].strat = names[fo[c]];
        }
        for (c = 0; c < nt; c++) {
            item *e = &s->test.v[other[c] - ntr];

            e->label = e->strat = names[oo[c]];
        }
        t += nt;
    }
    suite_vectors_free(v);
    free(texts);
    free(otr);
    free(ote);
    free(fit);
    free(fo);
    free(other);
}

/* At most LOW_MAX training texts per class, the test set unchanged. */
static void make_low(set *s, const items *tr, const items *te, uint64_t seed)
{
    unsigned char *mark = bench_alloc(tr->n, 1);
    size_t i;

    choose(tr, seed, "sample", LOW_MAX, mark);
    for (i = 0; i < tr->n; i++) {
        if (mark[i]) {
            push(&s->train, tr->v[i].text, tr->v[i].label, tr->v[i].strat);
        }
    }
    add_all(&s->test, te, NULL);
    free(mark);
}

/*
 * banking77-oos: OOS_HELD intents (A) become the out-of-scope test texts,
 * OOS_HELD others (B) leave the set, or, when taught, are the training
 * examples of the label "oos". A's training texts are never trained on;
 * a tenth of them is the out-of-scope part of dev.
 */
static void make_oos(set *s, const items *tr, const items *te, int taught,
                     uint64_t seed)
{
    const item **o = strata(tr);
    const char *names[1024];
    size_t nl = 0, i, k;
    uint64_t rng = seed ^ suite_hash("oos", strlen("oos"));

    for (i = 0; i < tr->n && nl < 1024; i = run_end(o, tr->n, i)) {
        names[nl++] = o[i]->label;
    }
    if (nl < 3 * OOS_HELD) {
        bench_fail("banking77-oos: too few intents (%zu)", nl);
    }
    bench_shuffle(names, nl, sizeof(*names), &rng);
    for (i = 0; i < tr->n + te->n; i++) {
        const item *e = i < tr->n ? &tr->v[i] : &te->v[i - tr->n];
        int held = 0;

        for (k = 0; k < 2 * OOS_HELD && !held; k++) {
            held = strcmp(e->label, names[k]) == 0 ? (k < OOS_HELD ? 1 : 2) : 0;
        }
        if (i >= tr->n) {
            if (held != 2) {
                push(&s->test, e->text, held ? "oos" : e->label, e->strat);
            }
        } else if (held == 1) {
            push(&s->dev_only, e->text, "oos", e->strat);
        } else if (held == 0 || taught) {
            push(&s->train, e->text, held ? "oos" : e->label, e->strat);
        }
    }
    free(o);
}

static const char *const set_names[] = {
    "snips",         "banking77",
    "trec50",        "snips2",
    "merge134",      "split500",
    "split1000",     "split2000",
    "snips-10",      "banking77-10",
    "trec50-10",     "merge134-10",
    "banking77-oos", "banking77-oos-taught"};
#define NSETS (sizeof(set_names) / sizeof(set_names[0]))

static int cmd_make(int argc, char **argv)
{
    static const char *const src[] = {"snips", "banking77", "trec50"};
    uint64_t seed = 1;
    int i = 1, want[NSETS], any = 0, train_only = 0;
    items tr[3], te[3];
    set merged = {{0}, {0}, {0}};
    size_t k;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--train-only") == 0) {
            train_only = 1;
        } else {
            break;
        }
    }
    if (argc < i + 2 || argv[i][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    for (k = 0; k < NSETS; k++) {
        int a;

        want[k] = argc == i + 2;
        for (a = i + 2; a < argc; a++) {
            want[k] |= strcmp(argv[a], set_names[k]) == 0;
        }
        any += want[k];
    }
    if (any < argc - i - 2) {
        fprintf(stderr, "suite: make: unknown set name\n%s", usage);
        return 2;
    }
    if (mkdir(argv[i + 1], 0777) != 0 && errno != EEXIST) {
        bench_fail("%s: cannot create: %s", argv[i + 1], strerror(errno));
    }
    for (k = 0; k < 3; k++) {
        char path[4096];

        memset(&tr[k], 0, sizeof(tr[k]));
        memset(&te[k], 0, sizeof(te[k]));
        snprintf(path, sizeof(path), "%s/%s/train.jsonl", argv[i], src[k]);
        load(path, &tr[k]);
        if (!train_only) {
            snprintf(path, sizeof(path), "%s/%s/test.jsonl", argv[i], src[k]);
            load(path, &te[k]);
        }
        add_all(&merged.train, &tr[k], src[k]);
        add_all(&merged.test, &te[k], src[k]);
    }
    for (k = 0; k < NSETS; k++) {
        const char *name = set_names[k];
        set s = {{0}, {0}, {0}};
        /* the source of a plain or low-resource set; 3 is the merged */
        size_t b = k < 3 ? k : k >= 8 && k < 11 ? k - 8 : 3;
        const items *btr = b < 3 ? &tr[b] : &merged.train;
        const items *bte = b < 3 ? &te[b] : &merged.test;

        if (!want[k]) {
            continue;
        }
        if (k < 3 || k == 4) {
            add_all(&s.train, btr, NULL);
            add_all(&s.test, bte, NULL);
        } else if (k == 3) {
            make_pair(&s, &tr[0], &te[0]);
        } else if (k < 8) {
            make_split(&s, &merged, k == 5 ? 500 : k == 6 ? 1000 : 2000, seed);
        } else if (k < 12) {
            make_low(&s, btr, bte, seed);
        } else {
            make_oos(&s, &tr[1], &te[1], k == 13, seed);
        }
        write_set(argv[i + 1], name, &s, seed, !train_only);
        set_free(&s);
    }
    for (k = 0; k < 3; k++) {
        free(tr[k].v);
        free(te[k].v);
    }
    set_free(&merged);
    while (npool > 0) {
        free(pool[--npool]);
    }
    free(pool);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* {"text": ...} per line: what `tutorcache classify` reads, the text
 * exactly as in the data (a raw line would lose its line breaks, and a
 * text starting with "{" would be read as an object). */
static int cmd_texts(int argc, char **argv)
{
    items it = {NULL, 0, 0};
    size_t i;

    if (argc != 2) {
        fputs(usage, stderr);
        return 2;
    }
    load(argv[1], &it);
    for (i = 0; i < it.n; i++) {
        cJSON *o = cJSON_CreateObject();
        char *s = NULL;

        if (!o || !cJSON_AddStringToObject(o, "text", it.v[i].text) ||
            !(s = cJSON_PrintUnformatted(o))) {
            bench_fail("out of memory");
        }
        printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    }
    free(it.v);
    while (npool > 0) {
        free(pool[--npool]);
    }
    free(pool);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "make") == 0) {
        return cmd_make(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "texts") == 0) {
        return cmd_texts(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "score") == 0) {
        return suite_score(argc - 1, argv + 1);
    }
    fputs(usage, stderr);
    return 2;
}
