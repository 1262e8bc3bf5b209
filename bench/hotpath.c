/*
 * hotpath.c - one hot path of the library, run N times after a warm-up,
 * for bench/hotpath.sh to count under callgrind: a get that L1 answers,
 * the same work on a bare hash table (the floor a cache lookup cannot
 * beat), the same get through a namespace handle, with a copy or into a
 * buffer of the caller's (beside a bare table copying into one), a
 * classification the cache answers, one it misses (a text of its own
 * for each call: one of the others and a number), a prediction, a
 * normalization and a set, all on the memory: store.
 *
 * It builds against the 0.1 API as well as 0.2 (the calls whose
 * signature changed are behind TC_VERSION_MINOR), so that one driver
 * measures a library before and after a change. Every call is checked,
 * tier and source included: a number for a path other than the one named
 * would mislead, so any surprise is fatal (bench_fail). The N measured
 * calls run inside hp_measure() alone, which the script collects with
 * --toggle-collect; it also subtracts a run of N from a run of 2N, so
 * that setup and warm-up cancel either way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include <tutorcache.h>

#include "bench_util.h"

const char bench_prog[] = "hotpath";

#if TC_VERSION_MAJOR > 0 || TC_VERSION_MINOR >= 2
#define HP_API2 1
#else
#define HP_API2 0
#endif

/* bench/hotpath.sh defines HP_NO_NS for a library without namespace
 * handles (tc_ns_find, tc_cache_get_into); its scenarios then fail. */
#if !defined(HP_NO_NS) && HP_API2
#define HP_NS 1
#else
#define HP_NS 0
#endif

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADER_VERSION                                                         \
    STR(TC_VERSION_MAJOR) "." STR(TC_VERSION_MINOR) "." STR(TC_VERSION_PATCH)

/* 1000 keys of 200-byte values; 50 texts. bench/hotpath.sh measures
 * multiples of 1000 calls, so that every key and text counts alike. */
#define NKEYS 1000
#define VLEN 200
#define NTEXTS 50
#define KEYMAX 64
#define TOP_K 3
#define NS "ml_model_predictions"

typedef enum scenario {
    S_L1_GET,
    S_L1_GET_BASELINE,
    S_CLASSIFY_HIT,
    S_PREDICT,
    S_NORMALIZE,
    S_SET,
    S_L1_GET_NS,
    S_L1_GET_INTO,
    S_L1_GET_INTO_BASELINE,
    S_CLASSIFY_MISS,
    S_PREDICT_FRESH
} scenario;

static const char *const scenario_names[] = {
    "l1_get",        "l1_get_baseline", "classify_hit",
    "predict",       "normalize",       "set",
    "l1_get_ns",     "l1_get_into",     "l1_get_into_baseline",
    "classify_miss", "predict_fresh",
};
#define NSCENARIOS (sizeof(scenario_names) / sizeof(scenario_names[0]))

/* ---- the floor: a bare hash table ---------------------------------------- */

/*
 * Open addressing with linear probing at a load of at most 1/2, keyed by
 * the XXH3-128 of the key as the library's L1 is (it keeps the hash, not
 * the key), the value and its NUL in one allocation. No lock, no TTL, no
 * eviction, no counters: what is left is the work no cache can skip.
 */
typedef struct bl_slot {
    uint64_t lo, hi;
    char *val; /* NULL: empty */
    size_t len;
} bl_slot;

typedef struct bl_table {
    bl_slot *slot;
    size_t mask;
} bl_table;

static void bl_init(bl_table *t, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n) {
        cap *= 2;
    }
    t->slot = bench_calloc(cap, sizeof(*t->slot));
    t->mask = cap - 1;
}

static void bl_put(bl_table *t, const char *key, size_t keylen, const char *val,
                   size_t len)
{
    XXH128_hash_t h = XXH3_128bits(key, keylen);
    size_t i = (size_t)h.low64 & t->mask;

    while (t->slot[i].val &&
           (t->slot[i].lo != h.low64 || t->slot[i].hi != h.high64)) {
        i = (i + 1) & t->mask;
    }
    free(t->slot[i].val);
    t->slot[i].lo = h.low64;
    t->slot[i].hi = h.high64;
    t->slot[i].val = bench_alloc(len + 1, 1);
    memcpy(t->slot[i].val, val, len);
    t->slot[i].val[len] = '\0';
    t->slot[i].len = len;
}

/* A copy of the value, as tc_cache_get returns one, or NULL. Kept out of
 * line so that the compiler cannot pair its malloc with the caller's
 * free and drop both. */
__attribute__((noinline)) static char *bl_get(size_t *len, const bl_table *t,
                                              const char *key, size_t keylen)
{
    XXH128_hash_t h = XXH3_128bits(key, keylen);
    size_t i = (size_t)h.low64 & t->mask;
    const bl_slot *s;
    char *copy;

    for (s = &t->slot[i]; s->val; s = &t->slot[i]) {
        if (s->lo == h.low64 && s->hi == h.high64) {
            if (!(copy = malloc(s->len + 1))) {
                return NULL;
            }
            memcpy(copy, s->val, s->len + 1);
            *len = s->len;
            return copy;
        }
        i = (i + 1) & t->mask;
    }
    return NULL;
}

/* The value copied into buf (cap bytes, NUL included), as
 * tc_cache_get_into does; its length, or (size_t)-1 when absent or too
 * long. */
__attribute__((noinline)) static size_t bl_get_into(char *buf, size_t cap,
                                                    const bl_table *t,
                                                    const char *key,
                                                    size_t keylen)
{
    XXH128_hash_t h = XXH3_128bits(key, keylen);
    size_t i = (size_t)h.low64 & t->mask;
    const bl_slot *s;

    for (s = &t->slot[i]; s->val; s = &t->slot[i]) {
        if (s->lo == h.low64 && s->hi == h.high64) {
            if (s->len >= cap) {
                return (size_t)-1;
            }
            memcpy(buf, s->val, s->len + 1);
            return s->len;
        }
        i = (i + 1) & t->mask;
    }
    return (size_t)-1;
}

static void bl_free(bl_table *t)
{
    size_t i;

    for (i = 0; i <= t->mask; i++) {
        free(t->slot[i].val);
    }
    free(t->slot);
}

/* ---- the scenario's state ------------------------------------------------ */

typedef struct hp_ctx {
    scenario sc;
    tc_cache *h;
    tc_model *m;
    tc_classifier *cls;
#if HP_NS
    tc_ns *ns;
#endif
    bl_table bl;
    char keys[NKEYS][KEYMAX];
    size_t keylen[NKEYS];
    char *vals; /* NKEYS values of VLEN bytes */
    char *texts[NTEXTS];
    size_t textlen[NTEXTS];
    char **fresh; /* classify_miss: a text never classified, per call */
    size_t nfresh, next_fresh;
    unsigned sink; /* a byte of each answer, so none is dead */
} hp_ctx;

/* The detail of the last failed call on this thread. */
static const char *errmsg(const tc_cache *h)
{
#if HP_API2
    (void)h;
    return tc_errmsg();
#else
    return tc_cache_errmsg(h);
#endif
}

static void open_cache(hp_ctx *c)
{
    tc_options opt;
    int rc;

    tc_options_init(&opt);
    opt.store_url = "memory:";
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
#if HP_API2
    rc = tc_cache_open(&c->h, &opt);
    if (rc != TC_OK) {
        bench_fail("tc_cache_open: %s: %s", tc_error_name(rc), errmsg(NULL));
    }
#else
    {
        char err[256] = "";

        rc = tc_cache_open(&c->h, &opt, err, sizeof(err));
        if (rc != TC_OK) {
            bench_fail("tc_cache_open: %s: %s", tc_error_name(rc), err);
        }
    }
#endif
    if (strcmp(tc_cache_store_kind(c->h), "memory") != 0) {
        bench_fail("store: %s, not memory", tc_cache_store_kind(c->h));
    }
}

/* The model at path, or one trained from examples/intents.jsonl. */
static void open_model(hp_ctx *c, const char *dir, const char *path)
{
    char train[4096];
    int rc;

    if ((size_t)snprintf(train, sizeof(train), "%s/intents.jsonl", dir) >=
        sizeof(train)) {
        bench_fail("%s: path too long", dir);
    }
#if HP_API2
    if (path) {
        rc = tc_model_load(&c->m, path);
    } else {
        tc_train_options to;

        tc_train_options_init(&to);
        rc = tc_model_train_file(&c->m, train, &to);
    }
    if (rc != TC_OK) {
        bench_fail("%s: %s: %s", path ? path : train, tc_error_name(rc),
                   tc_errmsg());
    }
#else
    {
        char err[256] = "";

        if (path) {
            rc = tc_model_load(&c->m, path, err, sizeof(err));
        } else {
            tc_train_options to;

            tc_train_options_init(&to);
            rc = tc_model_train_file(&c->m, train, &to, err, sizeof(err));
        }
        if (rc != TC_OK) {
            bench_fail("%s: %s: %s", path ? path : train, tc_error_name(rc),
                       err);
        }
    }
#endif
}

static void open_classifier(hp_ctx *c)
{
    tc_classifier_options co;
    int rc;

    tc_classifier_options_init(&co);
    co.model = c->m;
    co.top_k = TOP_K;
    if ((rc = tc_classifier_open(&c->cls, c->h, &co)) != TC_OK) {
        bench_fail("tc_classifier_open: %s: %s", tc_error_name(rc),
                   errmsg(c->h));
    }
}

/* Keys shaped like a prediction's key material, values of VLEN bytes
 * that differ by key. */
static void make_keys(hp_ctx *c)
{
    size_t i, j;

    c->vals = bench_alloc(NKEYS, VLEN);
    for (i = 0; i < NKEYS; i++) {
        int n = snprintf(c->keys[i], KEYMAX,
                         "{\"model\":\"risk-v3\",\"student\":%06zu}", i);

        if (n < 0 || n >= KEYMAX) {
            bench_fail("key %zu too long", i);
        }
        c->keylen[i] = (size_t)n;
        for (j = 0; j < VLEN; j++) {
            c->vals[i * VLEN + j] = (char)('a' + (i + j) % 26);
        }
    }
}

/* The first NTEXTS texts of examples/intents_test.jsonl. */
static void load_texts(hp_ctx *c, const char *dir)
{
    char path[4096];
    bench_dataset d;
    size_t i;

    if ((size_t)snprintf(path, sizeof(path), "%s/intents_test.jsonl", dir) >=
        sizeof(path)) {
        bench_fail("%s: path too long", dir);
    }
    d = bench_dataset_load(path, 0);
    if (d.n < NTEXTS) {
        bench_fail("%s: %zu texts, %d needed", path, d.n, NTEXTS);
    }
    for (i = 0; i < NTEXTS; i++) {
        c->texts[i] = bench_strdup(d.ex[i].text);
        c->textlen[i] = d.ex[i].len;
    }
    bench_dataset_free(&d);
}

static void set_one(hp_ctx *c, size_t k)
{
    int rc = tc_cache_set(c->h, NS, c->keys[k], c->keylen[k],
                          c->vals + k * VLEN, VLEN, TC_TTL_DEFAULT);

    if (rc != TC_OK) {
        bench_fail("tc_cache_set: %s: %s", tc_error_name(rc), errmsg(c->h));
    }
}

/* ---- the calls ----------------------------------------------------------- */

/* Key k from L1, checked (tier, length, one byte) and freed. */
static void l1_get(hp_ctx *c, size_t k)
{
    void *val;
    size_t len;
    tc_tier tier;
    int rc =
        tc_cache_get(&val, &len, &tier, c->h, NS, c->keys[k], c->keylen[k]);

    if (rc != TC_OK || tier != TC_TIER_L1 || len != VLEN ||
        ((char *)val)[VLEN - 1] != c->vals[k * VLEN + VLEN - 1]) {
        bench_fail("get %s: %s, tier %s, %zu bytes: %s", c->keys[k],
                   tc_error_name(rc), tc_tier_name(tier), len, errmsg(c->h));
    }
    c->sink += (unsigned char)((char *)val)[0];
    tc_free(val);
}

/* Key k from L1 through the namespace handle: a copy to free, or into a
 * buffer of the caller's (into). */
static void l1_get_ns(hp_ctx *c, size_t k, int into)
{
#if HP_NS
    char buf[VLEN + 1], *val = buf;
    size_t len;
    tc_tier tier;
    int rc;

    if (into) {
        rc = tc_cache_get_into(buf, sizeof(buf), &len, &tier, c->h, c->ns,
                               c->keys[k], c->keylen[k]);
    } else {
        rc = tc_cache_get_ns((void **)&val, &len, &tier, c->h, c->ns,
                             c->keys[k], c->keylen[k]);
    }
    if (rc != TC_OK || tier != TC_TIER_L1 || len != VLEN ||
        val[VLEN - 1] != c->vals[k * VLEN + VLEN - 1]) {
        bench_fail("get %s: %s, tier %s, %zu bytes: %s", c->keys[k],
                   tc_error_name(rc), tc_tier_name(tier), len, errmsg(c->h));
    }
    c->sink += (unsigned char)val[0];
    if (!into) {
        tc_free(val);
    }
#else
    (void)c;
    (void)k;
    (void)into;
    bench_fail("this library has no namespace handles");
#endif
}

static void l1_get_into_baseline(hp_ctx *c, size_t k)
{
    char buf[VLEN + 1];
    size_t len =
        bl_get_into(buf, sizeof(buf), &c->bl, c->keys[k], c->keylen[k]);

    if (len != VLEN || buf[VLEN - 1] != c->vals[k * VLEN + VLEN - 1]) {
        bench_fail("baseline get %s: %s", c->keys[k],
                   len == (size_t)-1 ? "not found" : "wrong value");
    }
    c->sink += (unsigned char)buf[0];
}

static void l1_get_baseline(hp_ctx *c, size_t k)
{
    size_t len = 0;
    char *val = bl_get(&len, &c->bl, c->keys[k], c->keylen[k]);

    if (!val || len != VLEN || val[VLEN - 1] != c->vals[k * VLEN + VLEN - 1]) {
        bench_fail("baseline get %s: %s", c->keys[k],
                   val ? "wrong value" : "not found");
    }
    c->sink += (unsigned char)val[0];
    free(val);
}

/* Text t classified; want is its source (0: any). */
static void classify(hp_ctx *c, size_t t, int want)
{
    tc_result *r;
    int rc = tc_classify(&r, c->cls, c->texts[t], c->textlen[t]);

    if (rc != TC_OK) {
        bench_fail("classify \"%s\": %s: %s", c->texts[t], tc_error_name(rc),
                   errmsg(c->h));
    }
    if (want && r->source != (tc_source)want) {
        bench_fail("classify \"%s\": source %s, not %s", c->texts[t],
                   tc_source_name(r->source), tc_source_name((tc_source)want));
    }
    c->sink += (unsigned char)r->intent[0];
    tc_result_free(r);
}

/* The next text of make_fresh's. */
static const char *fresh(hp_ctx *c)
{
    if (c->next_fresh == c->nfresh) {
        bench_fail("out of fresh texts");
    }
    return c->fresh[c->next_fresh++];
}

/* A text never classified before, answered by the model. */
static void classify_miss(hp_ctx *c)
{
    const char *text = fresh(c);
    tc_result *r;
    int rc;

    rc = tc_classify(&r, c->cls, text, strlen(text));
    if (rc != TC_OK || r->source != TC_SOURCE_MODEL) {
        bench_fail("classify \"%s\": %s, source %s: %s", text,
                   tc_error_name(rc), rc ? "-" : tc_source_name(r->source),
                   errmsg(c->h));
    }
    c->sink += (unsigned char)r->intent[0];
    tc_result_free(r);
}

/* n texts for classify_miss: the texts in turn, each with a number. */
static void make_fresh(hp_ctx *c, size_t n)
{
    size_t i;

    c->fresh = bench_alloc(n, sizeof(*c->fresh));
    for (i = 0; i < n; i++) {
        const char *t = c->texts[i % NTEXTS];
        size_t len = strlen(t) + 24;

        c->fresh[i] = bench_alloc(len, 1);
        snprintf(c->fresh[i], len, "%s %zu", t, i);
    }
    c->nfresh = n;
}

/* Text t predicted, or with fresh, classify_miss's next text. */
static void predict(hp_ctx *c, size_t t, int with_fresh)
{
    const char *text = with_fresh ? fresh(c) : c->texts[t];
    size_t len = with_fresh ? strlen(text) : c->textlen[t];
    tc_prediction *p;
    int rc = tc_model_predict(&p, c->m, text, len, TOP_K);

    if (rc != TC_OK || p->nheads < 1 || p->heads[0].n < 1) {
        bench_fail("predict \"%s\": %s: %s", text, tc_error_name(rc),
                   errmsg(c->h));
    }
    c->sink += (unsigned char)p->heads[0].labels[0].label[0];
    tc_prediction_free(p);
}

static void normalize(hp_ctx *c, size_t t)
{
    char *out;
    size_t len;
    int rc = tc_text_normalize(&out, &len, c->texts[t], c->textlen[t]);

    if (rc != TC_OK || len == 0) {
        bench_fail("normalize \"%s\": %s: %s", c->texts[t], tc_error_name(rc),
                   errmsg(c->h));
    }
    c->sink += (unsigned char)out[0];
    tc_free(out);
}

/* n calls of the scenario, keys and texts cycled from the first. */
static void run(hp_ctx *c, size_t n)
{
    size_t i, k = 0, t = 0;

    for (i = 0; i < n; i++) {
        switch (c->sc) {
        case S_L1_GET:
            l1_get(c, k);
            break;
        case S_L1_GET_BASELINE:
            l1_get_baseline(c, k);
            break;
        case S_CLASSIFY_HIT:
            classify(c, t, TC_SOURCE_L1);
            break;
        case S_CLASSIFY_MISS:
            classify_miss(c);
            break;
        case S_PREDICT:
        case S_PREDICT_FRESH:
            predict(c, t, c->sc == S_PREDICT_FRESH);
            break;
        case S_NORMALIZE:
            normalize(c, t);
            break;
        case S_SET:
            set_one(c, k);
            break;
        case S_L1_GET_NS:
        case S_L1_GET_INTO:
            l1_get_ns(c, k, c->sc == S_L1_GET_INTO);
            break;
        case S_L1_GET_INTO_BASELINE:
            l1_get_into_baseline(c, k);
            break;
        }
        if (++k == NKEYS) {
            k = 0;
        }
        if (++t == NTEXTS) {
            t = 0;
        }
    }
}

/* The measured calls, and only they: bench/hotpath.sh collects inside
 * this function (--toggle-collect=hp_measure*). */
void hp_measure(hp_ctx *c, size_t n);
__attribute__((noinline)) void hp_measure(hp_ctx *c, size_t n)
{
    run(c, n);
}

/* ---- setup, warm-up, checks ---------------------------------------------- */

static void setup(hp_ctx *c, const char *dir, const char *model)
{
    size_t i;

    switch (c->sc) {
    case S_L1_GET:
    case S_L1_GET_NS:
    case S_L1_GET_INTO:
    case S_SET:
        make_keys(c);
        open_cache(c);
#if HP_NS
        if (tc_ns_find(&c->ns, c->h, NS) != TC_OK) {
            bench_fail("tc_ns_find %s: %s", NS, errmsg(c->h));
        }
#endif
        if (c->sc != S_SET) {
            for (i = 0; i < NKEYS; i++) {
                set_one(c, i);
            }
        }
        break;
    case S_L1_GET_BASELINE:
    case S_L1_GET_INTO_BASELINE:
        make_keys(c);
        bl_init(&c->bl, NKEYS);
        for (i = 0; i < NKEYS; i++) {
            bl_put(&c->bl, c->keys[i], c->keylen[i], c->vals + i * VLEN, VLEN);
        }
        break;
    case S_CLASSIFY_HIT:
    case S_CLASSIFY_MISS:
        load_texts(c, dir);
        open_cache(c);
        open_model(c, dir, model);
        open_classifier(c);
        /* The first pass asks the model and fills L1; every later
         * call must be answered by L1. */
        for (i = 0; i < NTEXTS; i++) {
            classify(c, i, 0);
        }
        break;
    case S_PREDICT:
    case S_PREDICT_FRESH:
        load_texts(c, dir);
        open_model(c, dir, model);
        break;
    case S_NORMALIZE:
        load_texts(c, dir);
        break;
    }
}

/* After the measured calls: a set must have left the last values in L1. */
static void check_after(hp_ctx *c)
{
    size_t k;

    if (c->sc != S_SET) {
        return;
    }
    for (k = 0; k < NKEYS; k++) {
        l1_get(c, k);
    }
}

static void teardown(hp_ctx *c)
{
    size_t i;

    tc_classifier_close(c->cls);
    tc_model_free(c->m);
    tc_cache_close(c->h);
    if (c->sc == S_L1_GET_BASELINE || c->sc == S_L1_GET_INTO_BASELINE) {
        bl_free(&c->bl);
    }
    for (i = 0; i < NTEXTS; i++) {
        free(c->texts[i]);
    }
    for (i = 0; i < c->nfresh; i++) {
        free(c->fresh[i]);
    }
    free(c->fresh);
    free(c->vals);
}

static void usage(void)
{
    size_t i;

    fprintf(stderr, "Usage: hotpath SCENARIO N [MODEL]\nScenarios:");
    for (i = 0; i < NSCENARIOS; i++) {
        fprintf(stderr, " %s", scenario_names[i]);
    }
    fprintf(stderr, "\nEnvironment: HOTPATH_EXAMPLES (the directory of "
                    "intents.jsonl and intents_test.jsonl; examples)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static hp_ctx c; /* 64 KiB of keys: not on the stack */
    const char *dir = getenv("HOTPATH_EXAMPLES");
    char *end;
    unsigned long long n;
    size_t i;

    if (argc < 3 || argc > 4) {
        usage();
    }
    for (i = 0; i < NSCENARIOS; i++) {
        if (strcmp(argv[1], scenario_names[i]) == 0) {
            break;
        }
    }
    if (i == NSCENARIOS) {
        usage();
    }
    c.sc = (scenario)i;
    n = strtoull(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || argv[2][0] == '-' ||
        n > (unsigned long long)SIZE_MAX) {
        bench_fail("N: not a count: %s", argv[2]);
    }
    if (strcmp(tc_version(), HEADER_VERSION) != 0) {
        bench_fail("built with the header of %s, linked with libtutorcache %s",
                   HEADER_VERSION, tc_version());
    }
    setup(&c, dir && *dir ? dir : "examples", argc == 4 ? argv[3] : NULL);
    if (c.sc == S_CLASSIFY_MISS || c.sc == S_PREDICT_FRESH) {
        make_fresh(&c, NKEYS + (size_t)n); /* the warm-up's and ours */
    }
    /* Warm-up: a whole cycle of keys, which also turns every set of the
     * measured calls into a replacement. */
    run(&c, NKEYS);
    hp_measure(&c, (size_t)n);
    check_after(&c);
    printf("scenario=%s n=%llu version=%s sink=%u\n", argv[1], n, tc_version(),
           c.sink);
    teardown(&c);
    return 0;
}
