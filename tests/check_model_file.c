/*
 * check_model_file.c - the model file. A saved model loads into the same
 * model (answers, fingerprint, description, bytes when saved again);
 * every truncation, thousands of bit flips and damage behind a valid
 * checksum are refused or, at worst, give a model that still answers;
 * damage the checksum cannot see is caught section by section (found by
 * the fixture's own walk of the layout); files of versions 1 and 2,
 * written by the fixture as those versions did, still load; and the
 * vocabulary's fast path gives the hidden vector of the full path.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "model/model_file.h"
#include "model_fixture.h"

/* The tiny model with a correction, so that its file has every section. */
static tc_model *tiny_corrected(void)
{
    tc_model *m = mf_tiny_model();

    ck_assert_int_eq(tc_model_update(m,
                                     "{\"text\": \"translate cat into french\","
                                     " \"intent\": \"math\", \"techniques\": "
                                     "[\"numbers\"]}"),
                     TC_OK);
    return m;
}

static char *info_of(const tc_model *m)
{
    char *js = NULL;

    ck_assert_int_eq(tc_model_info_json(&js, m), TC_OK);
    return js;
}

/* ---- save and load ------------------------------------------------------- */

START_TEST(test_save_load_identical)
{
    mf_corpus *c = mf_corpus_make(5, 600, 0);
    const char **held = mf_held_texts(c);
    char *dir = tt_mkdtemp(), path[512], path2[512];
    char fa[TC_FINGERPRINT_LEN + 1], fb[TC_FINGERPRINT_LEN + 1], *ia, *ib;
    tc_train_options o;
    tc_model *m, *l = NULL;
    unsigned char *a, *b;
    size_t na, nb;
    mf_layout lay;
    uint32_t r, kept = 0;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(path2, sizeof(path2), "%s/m2.tcm", dir);
    mf_save_ok(m, path);
    ck_assert_int_eq(tc_model_load(&l, path), TC_OK);
    tc_model_fingerprint(fa, m);
    tc_model_fingerprint(fb, l);
    ck_assert_str_eq(fa, fb);
    mf_same_predictions(m, l, held, c->nheld, 4);
    ia = info_of(m);
    ib = info_of(l);
    ck_assert_str_eq(ia, ib);
    tc_free(ia);
    tc_free(ib);

    /* the file holds what the layout says: the rows training reached,
     * the vocabulary, the references */
    a = mf_slurp(path, &na);
    mf_layout_of(&lay, a, na);
    for (r = 0; r < m->hp.buckets; r++) {
        kept += m->w.in_scale[r] != 0;
    }
    ck_assert_uint_eq(lay.nrows, kept);
    ck_assert_uint_lt(kept, m->hp.buckets / 2);
    ck_assert_uint_eq(lay.nwords, m->vocab.n);
    ck_assert_uint_eq(lay.nrefs, m->nrefs);
    ck_assert_uint_eq(lay.nmem, 0);
    ck_assert_uint_eq(na, tc__model_file_size(m));
    /* saving the loaded model gives the same bytes */
    mf_save_ok(l, path2);
    b = mf_slurp(path2, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(a, b, na) == 0);
    free(a);
    free(b);
    tc_model_free(m);
    tc_model_free(l);
    free(held);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_save_load_errors)
{
    char *dir = tt_mkdtemp(), path[512];
    tc_model *m = mf_tiny_model(), *l = (tc_model *)1;

    snprintf(path, sizeof(path), "%s/no/such/dir/m.tcm", dir);
    ck_assert_int_eq(tc_model_save(m, path), TC_EIO);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "no/such/dir/m.tcm"));
    ck_assert_int_eq(tc_model_save(NULL, path), TC_EINVAL);
    ck_assert_int_eq(tc_model_save(m, NULL), TC_EINVAL);
    ck_assert_int_eq(tc_model_load(&l, NULL), TC_EINVAL);
    ck_assert_ptr_null(l);
    ck_assert_int_eq(tc_model_load(NULL, path), TC_EINVAL);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * The vocabulary: a prediction adds each known word's summed rows instead
 * of the rows of its n-grams, and must give what the rows give. Compared
 * on the hidden vector (the model's internals), for texts of known words,
 * of unknown ones and of both; then against a file of format version 1
 * (no vocabulary) written from the same weights.
 */
static void hidden_both(const tc_model *m, const char *text, float *full,
                        float *known, size_t *nknown)
{
    tc__scratch a, b;
    tc__err err;

    ck_assert_int_eq(tc__featurize(&a, m, text, strlen(text), 0, &err), TC_OK);
    ck_assert_int_eq(tc__featurize_known(&b, m, text, strlen(text), 0, &err),
                     TC_OK);
    ck_assert_uint_eq(b.nfeat + b.nown, a.nfeat); /* the same features */
    *nknown = b.nknown;
    tc__hidden(m, a.feat, a.nfeat, full);
    tc__hidden_known(m, &b, known);
    tc__scratch_done(&a);
    tc__scratch_done(&b);
}

static void same_vector(const float *x, const float *y, uint32_t dim,
                        const char *text)
{
    uint32_t k;

    for (k = 0; k < dim; k++) {
        ck_assert_msg(fabsf(x[k] - y[k]) <= 1e-5f * (1 + fabsf(x[k])),
                      "%s: %g against %g", text, (double)x[k], (double)y[k]);
    }
}

START_TEST(test_vocabulary_same_answers)
{
    static const char *const texts[] = {
        "play some jazz by miles davis", "zyxwv qqq frobnicate",
        "play zyxwv jazz frobnicate in paris", "PARIS,   Tokyo!!",
        "\xc3\xa9t\xc3\xa9 caf\xc3\xa9 jazz"};
    const size_t nt = sizeof(texts) / sizeof(texts[0]);
    mf_corpus *c = mf_corpus_make(5, 600, 0);
    char *dir = tt_mkdtemp(), v1[512], want[64];
    tc_train_options o;
    tc_model *m, *l = NULL;
    static float full[TC__MAX_DIM], known[TC__MAX_DIM], old[TC__MAX_DIM];
    size_t i, nknown, used = 0;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    ck_assert_uint_gt(m->vocab.n, 20);
    for (i = 0; i < nt + c->nheld; i++) {
        const char *t = i < nt ? texts[i] : c->text[i - nt];

        hidden_both(m, t, full, known, &nknown);
        used += nknown > 0;
        same_vector(full, known, m->hp.dim, t);
    }
    ck_assert_uint_gt(used, c->nheld / 2); /* the fast path was taken */
    hidden_both(m, texts[1], full, known, &nknown);
    ck_assert_uint_eq(nknown, 0); /* made-up words: the long way */

    /* version 1: the same weights without the vocabulary */
    snprintf(v1, sizeof(v1), "%s/v1.tcm", dir);
    mf_as_old(m);
    mf_write_old(m, v1, 1);
    ck_assert_int_eq(tc_model_load(&l, v1), TC_OK);
    ck_assert_uint_eq(l->vocab.n, 0);
    for (i = 0; i < c->nheld; i++) {
        hidden_both(m, c->text[i], full, known, &nknown);
        hidden_both(l, c->text[i], full, old, &nknown);
        ck_assert_uint_eq(nknown, 0);
        same_vector(known, old, m->hp.dim, c->text[i]);
        snprintf(want, sizeof(want), "%s", mf_top_intent(m, c->text[i], NULL));
        ck_assert_str_eq(mf_top_intent(l, c->text[i], NULL), want);
    }
    tc_model_free(m);
    tc_model_free(l);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- damage -------------------------------------------------------------- */

/* Every length short of the whole file is refused, and so is a byte too
 * many. */
static void every_truncation(const char *dir, const unsigned char *b, size_t n)
{
    char cut[512];
    unsigned char *longer = malloc(n + 1);
    size_t len;

    snprintf(cut, sizeof(cut), "%s/cut.tcm", dir);
    ck_assert_uint_lt(n, 16384); /* small enough to try every length */
    for (len = 0; len < n; len++) {
        mf_spit(cut, b, len);
        ck_assert_msg(mf_load_rc(cut) == TC_ECORRUPT,
                      "truncated to %zu of %zu bytes: accepted", len, n);
    }
    mf_spit(cut, b, n);
    ck_assert_int_eq(mf_load_rc(cut), TC_OK);
    memcpy(longer, b, n);
    longer[n] = 0;
    mf_spit(cut, longer, n + 1);
    ck_assert_int_eq(mf_load_rc(cut), TC_ECORRUPT);
    free(longer);
}

START_TEST(test_load_every_truncation)
{
    char *dir = tt_mkdtemp(), path[512];
    tc_model *m = tiny_corrected();
    unsigned char *b;
    size_t n;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);
    every_truncation(dir, b, n);
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_load_bit_flips)
{
    char *dir = tt_mkdtemp(), path[512], bad[512];
    tc_model *m = tiny_corrected();
    uint64_t s = 99;
    unsigned char *b;
    size_t n;
    int i;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);
    for (i = 0; i < 2000; i++) {
        size_t at = (size_t)(mf_lcg(&s) % n);
        unsigned bit = (unsigned)(mf_lcg(&s) % 8);

        b[at] ^= (unsigned char)(1u << bit);
        mf_spit(bad, b, n);
        ck_assert_msg(mf_load_rc(bad) == TC_ECORRUPT,
                      "flip of bit %u of byte %zu: accepted", bit, at);
        b[at] ^= (unsigned char)(1u << bit);
    }
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * Damage behind a valid checksum (what a hostile file can do): random
 * bytes changed and the checksum recomputed. Each load either fails with
 * TC_ECORRUPT or gives a model that predicts, updates and saves; none may
 * crash or read out of bounds (see the asan run).
 */
START_TEST(test_load_resealed_damage)
{
    char *dir = tt_mkdtemp(), path[512], bad[512];
    tc_model *m = tiny_corrected();
    uint64_t s = 7;
    unsigned char *b, *w;
    size_t n;
    int i, corrupt = 0, saved = 0;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);
    w = malloc(n);
    for (i = 0; i < 2000; i++) {
        int k, changes = 1 + (int)(mf_lcg(&s) % 3);
        tc_model *l = NULL;
        int rc;

        memcpy(w, b, n);
        for (k = 0; k < changes; k++) {
            /* mostly the first 400 bytes: header, hyper-parameters,
             * tables; sometimes anywhere */
            size_t at = mf_lcg(&s) % 4 ? 8 + (size_t)(mf_lcg(&s) % 392)
                                       : (size_t)(mf_lcg(&s) % (n - 16));

            w[at] = (unsigned char)mf_lcg(&s);
        }
        mf_reseal(w, n);
        mf_spit(bad, w, n);
        rc = tc_model_load(&l, bad);
        ck_assert(rc == TC_OK || rc == TC_ECORRUPT);
        if (rc == TC_OK) {
            tc_prediction *p = NULL;

            ck_assert_int_eq(tc_model_predict(&p, l, "what is 2 plus 2", 16, 3),
                             TC_OK);
            tc_prediction_free(p);
            rc = tc_model_update(l, "{\"text\": \"a b c\", \"intent\": "
                                    "\"math\"}");
            ck_assert(rc == TC_OK || rc == TC_EINVAL);
            /* a save syncs the disk: the first 100 are enough */
            if (saved++ < 100) {
                mf_save_ok(l, bad);
            }
            tc_model_free(l);
        } else {
            corrupt++;
        }
    }
    ck_assert_int_gt(corrupt, 100); /* the tables were really hit */
    free(w);
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* One targeted change to a sound file: 4 bytes at `at` set to u32 x. */
typedef struct damage {
    const char *what;
    size_t at;
    uint32_t x;
    const char *why; /* in the message */
} damage;

static uint32_t f32_bits(float f)
{
    uint32_t x;

    memcpy(&x, &f, 4);
    return x;
}

/* The float stored at b. */
static float f32_at(const unsigned char *b)
{
    uint32_t x = mf_get_u32(b);
    float f;

    memcpy(&f, &x, 4);
    return f;
}

START_TEST(test_load_resealed_targeted)
{
    char *dir = tt_mkdtemp(), path[512], bad[512];
    tc_model *m = tiny_corrected();
    unsigned char *b, *w;
    mf_layout l;
    size_t n, i, last, zero_bit;
    uint32_t ndocs;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);
    mf_layout_of(&l, b, n);
    ck_assert_uint_ne(l.buckets % 8, 0); /* the bitmap has bits to spare */
    ck_assert_uint_gt(l.nrefs, 0);
    ck_assert_uint_eq(l.nmem, 1);
    ndocs = mf_get_u32(b + l.ndocs);
    last = l.bitmap + (l.buckets + 7) / 8 - 1;
    for (zero_bit = 0; (b[l.bitmap + zero_bit / 8] >> (zero_bit % 8)) & 1;
         zero_bit++) {
    }
    ck_assert_uint_lt(zero_bit, l.buckets);
    {
        const damage d[] = {
            {"row encoding of version 2", TC__MODEL_HEADER_BYTES + 36, 0,
             "row encoding"},
            {"an unknown feature", TC__MODEL_HEADER_BYTES + 40,
             TC__FEATURE_END << 1, "row encoding or flags"},
            {"the reserved word", TC__MODEL_HEADER_BYTES + 44, 1,
             "row encoding or flags"},
            {"calibration a = 0", l.bitmap - 24, 0, "weights out of range"},
            {"calibration b = inf", l.bitmap - 20, f32_bits(INFINITY),
             "weights out of range"},
            {"calibration c = NaN", l.bitmap - 16, f32_bits(NAN),
             "weights out of range"},
            {"calibration d > 0", l.bitmap - 12, f32_bits(0.5f),
             "weights out of range"},
            /* a rival's weight as large as a could reorder the labels */
            {"calibration d = -a", l.bitmap - 12,
             f32_bits(-f32_at(b + l.bitmap - 24)), "weights out of range"},
            {"out-of-scope label out of range", l.bitmap - 8, 6,
             "out-of-scope"},
            {"radius 0", l.bitmap - 4, 0, "radius"},
            {"radius 1.5", l.bitmap - 4, f32_bits(1.5f), "radius"},
            {"a bitmap bit past the buckets", last - 3,
             mf_get_u32(b + last - 3) | 0x80000000u, "bitmap"},
            {"a row the bitmap does not keep", l.bitmap + zero_bit / 8 / 4 * 4,
             mf_get_u32(b + l.bitmap + zero_bit / 8 / 4 * 4) |
                 1u << (zero_bit % 32),
             ""},
            {"a kept row of scale 0", l.rows, 0, "weights out of range"},
            {"a negative scale", l.rows, f32_bits(-0.5f),
             "weights out of range"},
            {"too many words", l.vocab, TC__VOCAB_MAX + 1, "vocabulary"},
            {"df above the number of texts", l.df, ndocs + 1, "vocabulary"},
            {"no texts", l.ndocs, 0, "vocabulary"},
            {"too many references", l.refs, TC__REFS_MAX + 1, "reference"},
            {"a reference intent out of range", l.ref_label, 6, "reference"},
            {"too many corrections", l.mem, TC__MEMORY_MAX + 1, "corrections"},
            {"a correction of no label", l.mem_target - 4, 0, "corrections"},
            {"a correction head out of range", l.mem_target, 3, "corrections"},
            {"a correction label out of range", l.mem_target + 4, 6,
             "corrections"},
        };

        w = malloc(n);
        for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
            memcpy(w, b, n);
            ck_assert_msg(mf_get_u32(w + d[i].at) != d[i].x,
                          "%s: nothing to change", d[i].what);
            mf_put_u32(w + d[i].at, d[i].x);
            mf_reseal(w, n);
            mf_spit(bad, w, n);
            ck_assert_msg(mf_load_rc(bad) == TC_ECORRUPT, "%s: accepted",
                          d[i].what);
            ck_assert_msg(strstr(tc_errmsg(), d[i].why) != NULL,
                          "%s: \"%s\", want \"%s\"", d[i].what, tc_errmsg(),
                          d[i].why);
        }
        free(w);
    }
    /* the file as saved is sound */
    mf_spit(bad, b, n);
    ck_assert_int_eq(mf_load_rc(bad), TC_OK);
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_load_wrong_version_magic)
{
    char *dir = tt_mkdtemp(), path[512], bad[512];
    tc_model *m = mf_tiny_model(), *l = NULL;
    unsigned char *b;
    size_t n;

    snprintf(path, sizeof(path), "%s/m.tcm", dir);
    snprintf(bad, sizeof(bad), "%s/bad.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);

    b[8] = 5; /* format version 5, checksum made right */
    mf_reseal(b, n);
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    ck_assert_msg(strstr(tc_errmsg(), "format version 5 (this library reads "
                                      "versions 1 to 4)") != NULL,
                  "%s", tc_errmsg());
    b[8] = 0;
    mf_reseal(b, n);
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    ck_assert_msg(strstr(tc_errmsg(), "format version 0") != NULL, "%s",
                  tc_errmsg());
    /* a file of version 4 said to be of version 2 or 3 */
    b[8] = 2;
    mf_reseal(b, n);
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    b[8] = 3;
    mf_reseal(b, n);
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    b[8] = 4;
    b[12] = 1; /* flags */
    mf_reseal(b, n);
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    ck_assert_msg(strstr(tc_errmsg(), "flags") != NULL, "%s", tc_errmsg());
    b[12] = 0;

    b[1] = 'X'; /* magic */
    mf_reseal(b, n);
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    ck_assert_msg(strstr(tc_errmsg(), "not a tutorcache model") != NULL, "%s",
                  tc_errmsg());
    b[1] = 'T';
    mf_reseal(b, n);

    mf_spit(bad, (const unsigned char *)"{\"text\": \"hello\"}\n", 18);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    mf_spit(bad, b, 0);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_ECORRUPT);
    ck_assert_int_eq(tc_model_load(&l, dir), TC_EIO);
    snprintf(bad, sizeof(bad), "%s/none.tcm", dir);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_EIO);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "none.tcm"));
    ck_assert_ptr_null(l);
    /* the original is still fine */
    mf_spit(bad, b, n);
    ck_assert_int_eq(tc_model_load(&l, bad), TC_OK);
    tc_model_free(l);
    free(b);
    tc_model_free(m);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- versions 1 and 2 ---------------------------------------------------- */

/* The top label of every head of m for text, one line. */
static void top_labels(const tc_model *m, const char *text, char *buf, size_t n)
{
    tc_prediction *p = NULL;
    size_t h, at = 0;

    ck_assert_int_eq(tc_model_predict(&p, m, text, strlen(text), 1), TC_OK);
    buf[0] = '\0';
    for (h = 0; h < p->nheads; h++) {
        at += (size_t)snprintf(buf + at, n - at, "%s=%s ", p->heads[h].head,
                               p->heads[h].labels[0].label);
    }
    tc_prediction_free(p);
}

/* An old file: loads, answers as the model it came from, and describes
 * itself as what it holds (no calibration, references or corrections). */
static void check_old(const tc_model *m, const mf_corpus *c, const char *dir,
                      unsigned version)
{
    char path[512], again[512], want[256], got[256];
    char fp[TC_FINGERPRINT_LEN + 1], sum[TC_FINGERPRINT_LEN + 1];
    const char **held = mf_held_texts(c);
    tc_model *l = NULL, *l2 = NULL;
    XXH128_canonical_t cs;
    unsigned char *b;
    cJSON *info, *h;
    char *js;
    size_t n, i;

    snprintf(path, sizeof(path), "%s/v%u.tcm", dir, version);
    snprintf(again, sizeof(again), "%s/v%u-again.tcm", dir, version);
    mf_write_old(m, path, version);
    ck_assert_msg(tc_model_load(&l, path) == TC_OK, "version %u: %s", version,
                  tc_errmsg());
    for (i = 0; i < c->nheld; i++) {
        top_labels(m, c->text[i], want, sizeof(want));
        top_labels(l, c->text[i], got, sizeof(got));
        ck_assert_msg(strcmp(want, got) == 0, "version %u, \"%s\": %s, not %s",
                      version, c->text[i], got, want);
    }
    ck_assert_uint_eq(l->vocab.n, version == 1 ? 0 : m->vocab.n);
    for (i = 0; i < l->vocab.n; i++) {
        ck_assert_str_eq(l->vocab.words[i], m->vocab.words[i]);
    }
    /* the fingerprint is the file's checksum */
    b = mf_slurp(path, &n);
    memcpy(&cs, b + n - TC__MODEL_SUM_BYTES, TC__MODEL_SUM_BYTES);
    tc__model_hex128(sum, XXH128_hashFromCanonical(&cs));
    tc_model_fingerprint(fp, l);
    ck_assert_str_eq(fp, sum);
    free(b);
    js = info_of(l);
    info = cJSON_Parse(js);
    ck_assert(
        cJSON_GetObjectItemCaseSensitive(info, "corrections")->valuedouble ==
        0);
    ck_assert(
        cJSON_GetObjectItemCaseSensitive(info, "references")->valuedouble == 0);
    ck_assert(
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(info, "oos_label")));
    h = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(info, "heads"), 0),
        "calibration");
    ck_assert(cJSON_GetObjectItemCaseSensitive(h, "a")->valuedouble == 1);
    ck_assert(cJSON_GetObjectItemCaseSensitive(h, "b")->valuedouble == 0);
    cJSON_Delete(info);
    tc_free(js);
    /* saved again, as version 3, it is the same model */
    mf_save_ok(l, again);
    ck_assert_int_eq(tc_model_load(&l2, again), TC_OK);
    mf_same_predictions(l, l2, held, c->nheld, 3);
    /* and it takes corrections */
    {
        char ex[512];
        double score;
        const char *to =
            strcmp(c->intent[0], "music") == 0 ? "weather" : "music";

        snprintf(ex, sizeof(ex), "{\"text\": \"%s\", \"intent\": \"%s\"}",
                 c->text[0], to);
        ck_assert_int_eq(tc_model_update(l, ex), TC_OK);
        ck_assert_str_eq(mf_top_intent(l, c->text[0], &score), to);
        ck_assert(score == 1.0);
    }
    tc_model_free(l);
    tc_model_free(l2);
    free(held);
}

START_TEST(test_load_old_versions)
{
    mf_corpus *c = mf_corpus_make(5, 600, 0);
    char *dir = tt_mkdtemp(), path[512];
    tc_train_options o;
    tc_model *m, *t;
    unsigned char *b;
    size_t n;
    unsigned v;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    mf_as_old(m);
    check_old(m, c, dir, 1);
    check_old(m, c, dir, 2);
    /* their damage is refused too */
    t = mf_tiny_model();
    mf_as_old(t);
    for (v = 1; v <= 2; v++) {
        snprintf(path, sizeof(path), "%s/tiny-v%u.tcm", dir, v);
        mf_write_old(t, path, v);
        b = mf_slurp(path, &n);
        every_truncation(dir, b, n);
        free(b);
    }
    tc_model_free(t);
    tc_model_free(m);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* A file of version 3 (no rival's weight) loads with d = 0: the link it
 * was fitted with, and so the answers of its model without the rival. */
START_TEST(test_load_version_3)
{
    mf_corpus *c = mf_corpus_make(6, 600, 0.2);
    char *dir = tt_mkdtemp(), path[512], old[512];
    const char **held = mf_held_texts(c);
    tc_train_options o;
    tc_model *m, *l = NULL;
    unsigned char *b, *v3;
    size_t n, n3, h;

    mf_small_options(&o);
    m = mf_train_ok(c->train, c->len, &o);
    /* a rival's weight to drop, whatever this corpus fitted */
    m->heads[0].calib_d = -0.5f * m->heads[0].calib_a;
    snprintf(path, sizeof(path), "%s/v4.tcm", dir);
    snprintf(old, sizeof(old), "%s/v3.tcm", dir);
    mf_save_ok(m, path);
    b = mf_slurp(path, &n);
    v3 = mf_as_v3(b, n, &n3);
    ck_assert_uint_eq(n3, n - 4 * m->nheads);
    mf_spit(old, v3, n3);
    ck_assert_msg(tc_model_load(&l, old) == TC_OK, "%s", tc_errmsg());
    for (h = 0; h < m->nheads; h++) {
        ck_assert(l->heads[h].calib_a == m->heads[h].calib_a);
        ck_assert(l->heads[h].calib_b == m->heads[h].calib_b);
        ck_assert(l->heads[h].calib_c == m->heads[h].calib_c);
        ck_assert(l->heads[h].calib_d == 0);
        m->heads[h].calib_d = 0;
    }
    mf_same_predictions(m, l, held, c->nheld, 3);
    free(b);
    free(v3);
    free(held);
    tc_model_free(l);
    tc_model_free(m);
    mf_corpus_free(c);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * A vocabulary word that is no token (three spaces, in a file whose
 * checksum is right) has no features: refused as a damaged vocabulary,
 * where it once copied no features to a NULL array (RELIABILITY.md,
 * finding 3). The file is the fuzz corpus's.
 */
START_TEST(test_load_word_without_features)
{
    tc_model *m = (tc_model *)&m;
    int rc = tc_model_load(&m, "tests/fuzz/corpus/model/"
                               "ub-vocab-word-without-features.tcm");

    ck_assert_msg(rc == TC_ECORRUPT, "%s: %s", tc_error_name(rc), tc_errmsg());
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(tc_errmsg(), "a word that is no token") != NULL,
                  "message: %s", tc_errmsg());
}
END_TEST

Suite *suite_model_file(void)
{
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("model_file");

    /* the damage loops load thousands of files, slower under sanitizers */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_save_load_identical);
    tcase_add_test(tc, test_save_load_errors);
    tcase_add_test(tc, test_vocabulary_same_answers);
    tcase_add_test(tc, test_load_every_truncation);
    tcase_add_test(tc, test_load_bit_flips);
    tcase_add_test(tc, test_load_resealed_damage);
    tcase_add_test(tc, test_load_resealed_targeted);
    tcase_add_test(tc, test_load_wrong_version_magic);
    tcase_add_test(tc, test_load_old_versions);
    tcase_add_test(tc, test_load_version_3);
    tcase_add_test(tc, test_load_word_without_features);
    suite_add_tcase(s, tc);
    return s;
}
