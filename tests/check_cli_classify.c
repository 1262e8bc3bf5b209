/*
 * check_cli_classify.c - the classifier commands of the built `tutorcache`
 * binary (train, model info, eval, classify, and classify's exec backend),
 * run as a user runs them: a fork and exec per call with a clean
 * environment in a temp dir, stdin fed, and stdout, stderr and the exit
 * code checked separately. The example model is trained once per run
 * (deterministically: --seed and --threads 1) and shared by the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "suites.h"
#include "tutorcache.h"


#define TRAIN_DATA "examples/intents.jsonl"
#define TEST_DATA "examples/intents_test.jsonl"
#define QUESTION "How do I write a Python function that reverses a list?"

/*
 * The accuracy floor of the example model on the example test set. The
 * model, trained with --seed 7 --threads 1, scores 0.854 (macro-F1 0.845)
 * there; the floor leaves room for changes of the training defaults but
 * not for a broken model (eight intents: chance is 0.125).
 */
#define ACCURACY_FLOOR 0.75

/* ---- state a failed assertion must not leak ----------------------------- */

static char *g_tmp;        /* the test's HOME */
static char *g_shared;     /* the trained model's dir, for the whole case */
static char g_bin[4096];   /* the binary */
static char g_url[4200];   /* the default store: lmdb in g_tmp */
static char g_model[4200]; /* the shared model file */

static void case_setup(void)
{
    g_shared = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_shared);
    snprintf(g_model, sizeof(g_model), "%s/intents.tcm", g_shared);
}

static void case_teardown(void)
{
    if (g_shared) {
        tt_rmtree(g_shared);
        free(g_shared);
        g_shared = NULL;
    }
}

static void setup(void)
{
    snprintf(g_bin, sizeof(g_bin), "%s/tutorcache", tt_build_dir());
    ck_assert_msg(access(g_bin, X_OK) == 0, "%s: not built (%s)", g_bin,
                  strerror(errno));
    ck_assert_msg(access(TRAIN_DATA, R_OK) == 0 && access(TEST_DATA, R_OK) == 0,
                  "run from the source tree: %s and %s are needed", TRAIN_DATA,
                  TEST_DATA);
    g_tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(g_tmp);
    snprintf(g_url, sizeof(g_url), "lmdb://%s/db", g_tmp);
    tt_cli.bin = g_bin;
    tt_cli.home = g_tmp;
    tt_cli.url = g_url; /* runs share an LMDB store in the test's dir */
    /* writing the stdin of a child that already exited must not kill us */
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    if (g_tmp) {
        tt_rmtree(g_tmp);
        free(g_tmp);
        g_tmp = NULL;
    }
}

/* ---- running the binary ------------------------------------------------- */

/* ---- JSON output -------------------------------------------------------- */

/* The lines of stdout, each parsed; the caller frees with lines_free. */
typedef struct lines {
    cJSON *v[64];
    size_t n;
} lines;

static void parse_lines(lines *ls, const char *out)
{
    const char *p = out, *nl;

    memset(ls, 0, sizeof(*ls));
    while (*p) {
        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line without a newline: %s", p);
        ck_assert_uint_lt(ls->n, 64);
        ls->v[ls->n] = cJSON_ParseWithLength(p, (size_t)(nl - p));
        ck_assert_msg(cJSON_IsObject(ls->v[ls->n]), "not a JSON object: %.*s",
                      (int)(nl - p), p);
        ls->n++;
        p = nl + 1;
    }
}

static void lines_free(lines *ls)
{
    size_t i;

    for (i = 0; i < ls->n; i++) {
        cJSON_Delete(ls->v[i]);
    }
    ls->n = 0;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsString(f), "\"%s\" is not a string", name);
    return f->valuestring;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsNumber(f), "\"%s\" is not a number", name);
    return f->valuedouble;
}

/*
 * A classification: intent, confidence in 0..1, top (optional for a
 * backend's answers) sorted, model, latency and source.
 */
static void check_result(const cJSON *o, const char *source)
{
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(o, "top"), *it;
    double last = 2, c = jnum(o, "confidence");

    ck_assert(jstr(o, "intent")[0] != '\0');
    ck_assert(c >= 0 && c <= 1);
    ck_assert(!top || cJSON_IsArray(top));
    cJSON_ArrayForEach(it, top)
    {
        double s = jnum(it, "score");

        ck_assert(jstr(it, "label")[0] != '\0');
        ck_assert_msg(s <= last, "top is not sorted");
        last = s;
    }
    ck_assert(jstr(o, "model")[0] != '\0');
    ck_assert(jnum(o, "latency_us") >= 0);
    if (source) {
        ck_assert_str_eq(jstr(o, "source"), source);
    }
}

/* ---- files -------------------------------------------------------------- */

static void write_file(const char *path, const char *text, int mode)
{
    FILE *fp = fopen(path, "w");

    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, (mode_t)mode), 0);
}

/* The first n bytes of src, as a new file dst. */
static void truncated_copy(const char *src, const char *dst, long n)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[4096];
    size_t got;

    ck_assert(in && out);
    while (n > 0 && (got = fread(buf, 1, sizeof(buf), in)) > 0) {
        got = (long)got > n ? (size_t)n : got;
        ck_assert_uint_eq(fwrite(buf, 1, got, out), got);
        n -= (long)got;
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

static long file_size(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

static long count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    long n = 0;
    int c;

    ck_assert_ptr_nonnull(fp);
    while ((c = fgetc(fp)) != EOF) {
        n += c == '\n';
    }
    fclose(fp);
    return n;
}

/* Trains the shared example model once; the later tests reuse it. */
static const char *model(void)
{
    how h = {0};
    run r;

    if (access(g_model, R_OK) == 0) {
        return g_model;
    }
    cli(&r, &h, "train", TRAIN_DATA, "-o", g_model, "--seed", "7", "--threads",
        "1");
    expect(&r, 0, NULL, "");
    run_free(&r);
    return g_model;
}

/* ---- train and model info ----------------------------------------------- */

START_TEST(test_train)
{
    char out[4200], again[4200], bad[4200], err[4300];
    const cJSON *labels;
    how h = {0};
    lines ls, ls2;
    run r;

    snprintf(out, sizeof(out), "%s/m.tcm", g_tmp);
    cli(&r, &h, "train", TRAIN_DATA, "-o", out, "--seed", "7", "--threads",
        "1");
    /* stderr is not a terminal: no progress */
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert_str_eq(jstr(ls.v[0], "model"), out);
    ck_assert_int_eq((long)jnum(ls.v[0], "examples"), count_lines(TRAIN_DATA));
    labels = cJSON_GetObjectItemCaseSensitive(ls.v[0], "labels");
    ck_assert_int_eq((int)jnum(labels, "intent"), 8);
    ck_assert_int_eq((int)jnum(labels, "complexity"), 3);
    ck_assert_int_gt((int)jnum(labels, "techniques"), 1);
    ck_assert_uint_eq(strlen(jstr(ls.v[0], "fingerprint")), 32);
    ck_assert_int_eq((long)jnum(ls.v[0], "file_bytes"), file_size(out));
    ck_assert(jnum(ls.v[0], "seconds") >= 0);
    run_free(&r);

    /* one thread and a seed: the same model again */
    snprintf(again, sizeof(again), "%s/again.tcm", g_tmp);
    cli(&r, &h, "train", "-o", again, "--seed", "7", "--threads", "1",
        TRAIN_DATA);
    expect(&r, 0, NULL, "");
    parse_lines(&ls2, r.out);
    ck_assert_str_eq(jstr(ls2.v[0], "fingerprint"),
                     jstr(ls.v[0], "fingerprint"));
    lines_free(&ls2);
    run_free(&r);

    /* the data from stdin: the same examples, the same model */
    h.in = "{\"text\": \"write a function\", \"intent\": \"code\"}\n"
           "{\"text\": \"why does it crash\", \"intent\": \"debug\"}\n";
    cli(&r, &h, "train", "-o", again, "--epochs", "2", "-");
    expect(&r, 0, NULL, "");
    parse_lines(&ls2, r.out);
    ck_assert_int_eq((int)jnum(ls2.v[0], "examples"), 2);
    ck_assert_int_eq(
        (int)jnum(cJSON_GetObjectItemCaseSensitive(ls2.v[0], "labels"),
                  "intent"),
        2);
    lines_free(&ls2);
    run_free(&r);
    lines_free(&ls);

    /* a malformed line stops training and is named; no model is written */
    snprintf(bad, sizeof(bad), "%s/bad.jsonl", g_tmp);
    write_file(bad,
               "{\"text\": \"write a function\", \"intent\": \"code\"}\n"
               "{\"text\": \"why does it crash\", \"intent\": 5}\n",
               0644);
    snprintf(out, sizeof(out), "%s/never.tcm", g_tmp);
    cli(&r, &h, "train", bad, "-o", out);
    snprintf(err, sizeof(err), "%s:2", bad);
    expect(&r, 4, "", err);
    ck_assert_int_ne(access(out, F_OK), 0);
    run_free(&r);

    /* usage: no -o, a file that is not there, bad values */
    cli(&r, &h, "train", TRAIN_DATA);
    expect(&r, 2, "", "-o MODEL");
    run_free(&r);
    cli(&r, &h, "train", "no/such.jsonl", "-o", out);
    expect(&r, 2, "", "no/such.jsonl");
    run_free(&r);
    cli(&r, &h, "train", TRAIN_DATA, "-o", out, "--epochs", "0");
    expect(&r, 2, "", "--epochs");
    run_free(&r);
    cli(&r, &h, "train", TRAIN_DATA, "-o", out, "--lr", "fast");
    expect(&r, 2, "", "--lr");
    run_free(&r);
    cli(&r, &h, "train", TRAIN_DATA, "-o", out, "--minn", "5", "--maxn", "3");
    expect(&r, 2, "", "--minn");
    run_free(&r);
    /* the library's bound, refused before any training */
    cli(&r, &h, "train", TRAIN_DATA, "-o", out, "--buckets", "67108865");
    expect(&r, 2, "", "--buckets");
    run_free(&r);
    /* a model file that cannot be written */
    cli(&r, &h, "train", TRAIN_DATA, "-o", "/nonexistent-dir/m.tcm", "--epochs",
        "1");
    expect(&r, 5, "", "tutorcache: ");
    run_free(&r);
}
END_TEST

START_TEST(test_model_info)
{
    const char *m = model();
    char damaged[4200], dir[4200];
    const cJSON *heads, *hp;
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "model", "info", m, "--format", "json");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    heads = cJSON_GetObjectItemCaseSensitive(ls.v[0], "heads");
    ck_assert_int_eq(cJSON_GetArraySize(heads), 3);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(heads, 0), "name"), "intent");
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(heads, 1), "name"), "complexity");
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(heads, 2), "name"), "techniques");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(heads, 2), "multi_label")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetArrayItem(heads, 0), "labels")),
                     8);
    ck_assert_uint_eq(strlen(jstr(ls.v[0], "fingerprint")), 32);
    ck_assert_int_eq((long)jnum(ls.v[0], "file_bytes"), file_size(m));
    hp = cJSON_GetObjectItemCaseSensitive(ls.v[0], "hyperparameters");
    ck_assert_int_eq((int)jnum(hp, "seed"), 7);
    lines_free(&ls);
    run_free(&r);

    cli(&r, &h, "model", "info", "--format", "table", m);
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "fingerprint "));
    ck_assert_ptr_nonnull(strstr(r.out, "head intent: single-label, 8"));
    ck_assert_ptr_nonnull(strstr(r.out, "head techniques: multi-label"));
    ck_assert_ptr_nonnull(strstr(r.out, "code_generation"));
    run_free(&r);

    /* a damaged file (cut in half) fails cleanly as bad input */
    snprintf(damaged, sizeof(damaged), "%s/damaged.tcm", g_tmp);
    truncated_copy(m, damaged, file_size(m) / 2);
    cli(&r, &h, "model", "info", damaged);
    expect(&r, 4, "", damaged);
    run_free(&r);
    /* not a model file at all */
    cli(&r, &h, "model", "info", TRAIN_DATA);
    expect(&r, 4, "", TRAIN_DATA);
    run_free(&r);
    /* missing, or a directory: a wrong argument */
    snprintf(dir, sizeof(dir), "%s/none.tcm", g_tmp);
    cli(&r, &h, "model", "info", dir);
    expect(&r, 2, "", "none.tcm");
    run_free(&r);
    cli(&r, &h, "model", "info", g_tmp);
    expect(&r, 2, "", "directory");
    run_free(&r);
    cli(&r, &h, "model");
    expect(&r, 2, "", "info");
    run_free(&r);
    cli(&r, &h, "model", "frob", m);
    expect(&r, 2, "", "frob");
    run_free(&r);
    cli(&r, &h, "model", "info");
    expect(&r, 2, "", "MODEL");
    run_free(&r);
}
END_TEST

/* ---- eval --------------------------------------------------------------- */

START_TEST(test_eval)
{
    const char *m = model();
    const cJSON *labels, *lab, *conf, *heads, *it;
    char bad[4200], err[4300];
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "eval", m, TEST_DATA, "--json");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert_int_eq((long)jnum(ls.v[0], "n"), count_lines(TEST_DATA));
    ck_assert_msg(jnum(ls.v[0], "accuracy") >= ACCURACY_FLOOR,
                  "accuracy %g below %g", jnum(ls.v[0], "accuracy"),
                  ACCURACY_FLOOR);
    ck_assert(jnum(ls.v[0], "macro_f1") > 0 && jnum(ls.v[0], "macro_f1") <= 1);
    ck_assert_int_eq((int)jnum(ls.v[0], "rejected"), 0);
    labels = cJSON_GetObjectItemCaseSensitive(ls.v[0], "labels");
    ck_assert_int_eq(cJSON_GetArraySize(labels), 8);
    lab = cJSON_GetObjectItemCaseSensitive(labels, "code_generation");
    ck_assert_ptr_nonnull(lab);
    ck_assert(jnum(lab, "precision") >= 0 && jnum(lab, "precision") <= 1);
    ck_assert(jnum(lab, "recall") >= 0 && jnum(lab, "recall") <= 1);
    ck_assert(jnum(lab, "f1") >= 0 && jnum(lab, "f1") <= 1);
    ck_assert_int_gt((int)jnum(lab, "support"), 0);
    conf = cJSON_GetObjectItemCaseSensitive(ls.v[0], "confusions");
    ck_assert(cJSON_IsArray(conf) && cJSON_GetArraySize(conf) <= 10);
    cJSON_ArrayForEach(it, conf)
    {
        ck_assert_str_ne(jstr(it, "gold"), jstr(it, "predicted"));
        ck_assert_int_gt((int)jnum(it, "count"), 0);
    }
    heads = cJSON_GetObjectItemCaseSensitive(ls.v[0], "heads");
    it = cJSON_GetObjectItemCaseSensitive(heads, "complexity");
    ck_assert_ptr_nonnull(it);
    ck_assert(jnum(it, "accuracy") >= 0 && jnum(it, "accuracy") <= 1);
    /* a multi-label head has no accuracy */
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(heads, "techniques"));
    lines_free(&ls);
    run_free(&r);

    /* the table for people */
    cli(&r, &h, "eval", m, TEST_DATA);
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "accuracy  0."));
    ck_assert_ptr_nonnull(strstr(r.out, "macro_f1  0."));
    ck_assert_ptr_nonnull(strstr(r.out, "precision  recall"));
    ck_assert_ptr_nonnull(strstr(r.out, "\ncode_generation "));
    run_free(&r);

    /* bad lines are named and skipped; the others are evaluated */
    snprintf(bad, sizeof(bad), "%s/test.jsonl", g_tmp);
    write_file(bad,
               "{\"text\": \"Write a Python function that sorts a list\", "
               "\"intent\": \"code_generation\"}\n"
               "{\"text\": \"no label here\"}\n"
               "\n"
               "this is not json\n"
               "{\"text\": \"Translate 'good morning' into French\", "
               "\"intent\": \"translation\"}\n",
               0644);
    cli(&r, &h, "eval", "--json", m, bad);
    snprintf(err, sizeof(err), "%s:2: ", bad);
    expect(&r, 4, NULL, err);
    snprintf(err, sizeof(err), "%s:4: ", bad);
    expect(&r, 4, NULL, err);
    parse_lines(&ls, r.out);
    ck_assert_int_eq((int)jnum(ls.v[0], "n"), 2);
    ck_assert_int_eq((int)jnum(ls.v[0], "rejected"), 2);
    lines_free(&ls);
    run_free(&r);

    /* from stdin */
    h.in = "{\"text\": \"Explain how recursion works\", \"intent\": "
           "\"explanation\"}\n";
    cli(&r, &h, "eval", m, "-", "--json");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_int_eq((int)jnum(ls.v[0], "n"), 1);
    lines_free(&ls);
    run_free(&r);
    h.in = NULL;

    cli(&r, &h, "eval", m);
    expect(&r, 2, "", "MODEL TEST.jsonl");
    run_free(&r);
    cli(&r, &h, "eval", m, "no-such.jsonl");
    expect(&r, 2, "", "no-such.jsonl");
    run_free(&r);
    /* nothing usable at all */
    cli(&r, &h, "eval", m, "/dev/null");
    expect(&r, 4, "", "no example");
    run_free(&r);
}
END_TEST

/* ---- classify with the built-in model ----------------------------------- */

START_TEST(test_classify_model_then_l2)
{
    const char *m = model();
    char fp[64];
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "classify", "--model", m, QUESTION);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    check_result(ls.v[0], "model");
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "code_generation");
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ls.v[0], "top")),
        3);
    ck_assert(cJSON_IsString(
        cJSON_GetObjectItemCaseSensitive(ls.v[0], "complexity")));
    ck_assert(
        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ls.v[0], "techniques")));
    snprintf(fp, sizeof(fp), "%s", jstr(ls.v[0], "model"));
    ck_assert_uint_eq(strlen(fp), 32);
    lines_free(&ls);
    run_free(&r);

    /* a second process on the same store: from the L2, the same answer,
     * whatever case and trailing punctuation the text comes with */
    cli(&r, &h, "classify", "--model", m,
        "  how do I write a python function that reverses a list  ");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "l2");
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "code_generation");
    ck_assert_str_eq(jstr(ls.v[0], "model"), fp);
    lines_free(&ls);
    run_free(&r);

    /* another top-k is another key */
    cli(&r, &h, "classify", "--model", m, "--top-k", "2", QUESTION);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "model");
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ls.v[0], "top")),
        2);
    lines_free(&ls);
    run_free(&r);

    /* the table for people */
    cli(&r, &h, "classify", "--model", m, "--format", "table", QUESTION);
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "intent"));
    ck_assert_ptr_nonnull(strstr(r.out, "\ncode_generation "));
    ck_assert_ptr_nonnull(strstr(r.out, " l2 "));
    run_free(&r);
}
END_TEST

/* ENABLE_CACHING=false: the model answers every time. */
START_TEST(test_classify_no_caching)
{
    static const char *const env[] = {"ENABLE_CACHING=false", NULL};
    const char *m = model();
    how h = {0};
    lines ls;
    int i;
    run r;

    h.env = env;
    for (i = 0; i < 2; i++) {
        cli(&r, &h, "classify", "--model", m, QUESTION);
        expect(&r, 0, NULL, "");
        parse_lines(&ls, r.out);
        check_result(ls.v[0], "model");
        lines_free(&ls);
        run_free(&r);
    }
}
END_TEST

/* JSON lines with ids, plain lines, in order, one output line each. */
START_TEST(test_classify_stdin_ids)
{
    const char *m = model();
    how h = {0};
    lines ls;
    run r;

    h.in = "{\"id\": \"q1\", \"text\": \"" QUESTION "\"}\n"
           "Translate 'thank you very much' into Spanish\n"
           "  {\"text\": \"Explain how a hash table works\", \"id\": 42}\n"
           "{\"id\": {\"user\": 7}, \"text\": \"" QUESTION "\"}\n";
    cli(&r, &h, "classify", "--model", m);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 4);
    ck_assert_str_eq(jstr(ls.v[0], "id"), "q1");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(ls.v[1], "id"));
    ck_assert_int_eq((int)jnum(ls.v[2], "id"), 42);
    ck_assert_int_eq(
        (int)jnum(cJSON_GetObjectItemCaseSensitive(ls.v[3], "id"), "user"), 7);
    /* the id comes first, then the result */
    ck_assert(strncmp(r.out, "{\"id\":\"q1\",\"intent\":", 20) == 0);
    check_result(ls.v[0], NULL);
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "code_generation");
    check_result(ls.v[1], NULL);
    ck_assert_str_eq(jstr(ls.v[1], "intent"), "translation");
    check_result(ls.v[2], NULL);
    check_result(ls.v[3], NULL);
    lines_free(&ls);
    run_free(&r);

    /* batches of one: the same answers, from the cache now */
    cli(&r, &h, "classify", "--model", m, "--batch", "1");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 4);
    check_result(ls.v[1], "l2");
    ck_assert_str_eq(jstr(ls.v[1], "intent"), "translation");
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* Bad lines are named on stderr and skipped; the others still answer. */
START_TEST(test_classify_bad_lines)
{
    const char *m = model();
    how h = {0};
    lines ls;
    run r;

    h.in = QUESTION "\n"
                    "caf\xc3 au lait\n"
                    "\n"
                    "{\"id\": 3, \"txt\": \"typo\"}\n"
                    "{\"id\": 4, \"text\": \"unfinished\"\n"
                    "Explain how a hash table works\r\n"
                    "{\"text\": \"   \"}\n"
                    "What is 7 times 8";
    cli(&r, &h, "classify", "--model", m);
    expect(&r, 4, NULL, "tutorcache: stdin:2: ");
    expect(&r, 4, NULL, "tutorcache: stdin:3: empty text");
    expect(&r, 4, NULL, "tutorcache: stdin:4: ");
    expect(&r, 4, NULL, "tutorcache: stdin:5: ");
    expect(&r, 4, NULL, "tutorcache: stdin:7: ");
    ck_assert_ptr_nonnull(strstr(r.err, "UTF-8"));
    ck_assert_ptr_null(strstr(r.err, "stdin:1:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:6:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:8:"));
    /* in the order of the input */
    ck_assert(strstr(r.err, "stdin:2:") < strstr(r.err, "stdin:4:"));
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    check_result(ls.v[0], NULL);
    check_result(ls.v[1], NULL);
    ck_assert_str_eq(jstr(ls.v[1], "intent"), "explanation");
    check_result(ls.v[2], NULL);
    lines_free(&ls);
    run_free(&r);

    /* arguments are numbered too */
    h.in = NULL;
    cli(&r, &h, "classify", "--model", m, QUESTION, "");
    expect(&r, 4, NULL, "argument 2: empty text");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    lines_free(&ls);
    run_free(&r);

    /* a line over 1 MiB is refused whole, and the next one answered */
    {
        size_t n = ((size_t)1 << 20) + 100;
        char *big = malloc(n + 64);

        ck_assert_ptr_nonnull(big);
        memset(big, 'a', n);
        strcpy(big + n, "\nExplain how a hash table works\n");
        h.in = big;
        cli(&r, &h, "classify", "--model", m);
        expect(&r, 4, NULL, "stdin:1: line longer than 1 MiB");
        parse_lines(&ls, r.out);
        ck_assert_uint_eq(ls.n, 1);
        ck_assert_str_eq(jstr(ls.v[0], "intent"), "explanation");
        lines_free(&ls);
        run_free(&r);
        free(big);
    }
}
END_TEST

/* Below the threshold the intent is "unknown", the scores still shown. */
START_TEST(test_classify_threshold)
{
    const char *m = model();
    const cJSON *top;
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "classify", "--model", m, "banana");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_str_ne(jstr(ls.v[0], "intent"), "unknown");
    /* a word the examples never use: the model is not sure */
    ck_assert_msg(jnum(ls.v[0], "confidence") < 0.99, "%s", r.out);
    lines_free(&ls);
    run_free(&r);

    cli(&r, &h, "classify", "--model", m, "--threshold", "0.99", "banana");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "unknown");
    ck_assert(jnum(ls.v[0], "confidence") > 0);
    top = cJSON_GetObjectItemCaseSensitive(ls.v[0], "top");
    ck_assert_int_eq(cJSON_GetArraySize(top), 3);
    ck_assert_str_ne(jstr(cJSON_GetArrayItem(top, 0), "label"), "unknown");
    /* the threshold is applied on the way out: the entry was cached */
    check_result(ls.v[0], "l2");
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* Where the model comes from, and what happens without one. */
START_TEST(test_classify_model_sources)
{
    const char *m = model();
    char env_model[4300], env_cfg[4300], cfg[4200], damaged[4200], bad[4200];
    const char *env[3] = {NULL, NULL, NULL};
    how h = {0};
    lines ls;
    run r;

    /* none: a clear message saying how to get one */
    cli(&r, &h, "classify", QUESTION);
    expect(&r, 2, "", "no model");
    ck_assert_ptr_nonnull(strstr(r.err, "tutorcache train"));
    ck_assert_ptr_nonnull(strstr(r.err, "TUTORCACHE_MODEL"));
    run_free(&r);

    /* TUTORCACHE_MODEL */
    snprintf(env_model, sizeof(env_model), "TUTORCACHE_MODEL=%s", m);
    env[0] = env_model;
    h.env = env;
    cli(&r, &h, "classify", QUESTION);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "model");
    lines_free(&ls);
    run_free(&r);

    /* the config file's "model", and --model above both */
    snprintf(cfg, sizeof(cfg), "%s/tc.json", g_tmp);
    snprintf(damaged, sizeof(damaged), "{\"model\": \"%s\"}", m);
    write_file(cfg, damaged, 0644);
    snprintf(env_cfg, sizeof(env_cfg), "TUTORCACHE_CONFIG=%s", cfg);
    env[0] = env_cfg;
    cli(&r, &h, "classify", QUESTION);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "l2");
    lines_free(&ls);
    run_free(&r);
    snprintf(bad, sizeof(bad), "%s/none.tcm", g_tmp);
    cli(&r, &h, "classify", "--model", bad, QUESTION);
    expect(&r, 2, "", "none.tcm");
    run_free(&r);

    /* a damaged model: a clear error, bad input */
    snprintf(damaged, sizeof(damaged), "%s/damaged.tcm", g_tmp);
    truncated_copy(m, damaged, 100);
    cli(&r, &h, "classify", "--model", damaged, QUESTION);
    expect(&r, 4, "", damaged);
    run_free(&r);
}
END_TEST

START_TEST(test_classify_usage)
{
    const char *m = model();
    how h = {0};
    run r;

    cli(&r, &h, "classify", "--model", m, "--top-k", "0", "x");
    expect(&r, 2, "", "--top-k");
    run_free(&r);
    cli(&r, &h, "classify", "--model", m, "--threshold", "1.5", "x");
    expect(&r, 2, "", "--threshold");
    run_free(&r);
    cli(&r, &h, "classify", "--backend", "python3 x.py", "x");
    expect(&r, 2, "", "exec:COMMAND");
    run_free(&r);
    cli(&r, &h, "classify", "--model", m, "--backend", "exec:cat", "x");
    expect(&r, 2, "", "--model and --backend");
    run_free(&r);
    cli(&r, &h, "classify", "--model", m, "--format", "yaml", "x");
    expect(&r, 2, "", "--format");
    run_free(&r);
    cli(&r, &h, "classify", "--model", m, "--batch", "0", "x");
    expect(&r, 2, "", "--batch");
    run_free(&r);

    /* a full stdout is a failure */
    h.stdout_full = 1;
    cli(&r, &h, "classify", "--model", m, QUESTION);
    expect(&r, 5, NULL, "stdout");
    run_free(&r);
}
END_TEST

/* ---- the exec backend --------------------------------------------------- */

/*
 * A backend in plain sh: counts its starts in a file, answers garbage for
 * texts with "garbage", hangs on "hang", exits after answering "crash",
 * and otherwise answers a fixed classification.
 */
static const char backend_sh[] =
    "echo start >> \"$(dirname \"$0\")/starts\"\n"
    "while IFS= read -r line; do\n"
    "  case \"$line\" in\n"
    "    *garbage*) echo 'this is not json' ;;\n"
    "    *noint*) echo '{\"confidence\": 0.5}' ;;\n"
    "    *hang*) sleep 30 ;;\n"
    "    *crash*) echo '{\"intent\": \"crashed\", \"confidence\": 0.5}'; "
    "exit 3 ;;\n"
    "    *) echo '{\"intent\": \"greeting\", \"confidence\": 0.875, \"top\": "
    "[{\"label\": \"greeting\", \"score\": 0.875}, {\"label\": \"other\", "
    "\"score\": 0.125}]}' ;;\n"
    "  esac\n"
    "done\n";

/* A backend that answers one request and exits. */
static const char once_sh[] =
    "echo start >> \"$(dirname \"$0\")/starts\"\n"
    "IFS= read -r line || exit 0\n"
    "echo '{\"intent\": \"once\", \"confidence\": 0.75}'\n"
    "exit 0\n";

static void backend_spec(char *buf, size_t n, const char *script)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/%s.sh", g_tmp, script);
    write_file(path, strcmp(script, "once") == 0 ? once_sh : backend_sh, 0755);
    snprintf(buf, n, "exec:sh %s", path);
}

static long starts(void)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/starts", g_tmp);
    return access(path, F_OK) == 0 ? count_lines(path) : 0;
}

START_TEST(test_exec_roundtrip)
{
    char spec[4300];
    how h = {0};
    lines ls;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    cli(&r, &h, "classify", "--backend", spec, "Hello there!");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "model");
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "greeting");
    ck_assert(jnum(ls.v[0], "confidence") == 0.875);
    ck_assert_ptr_nonnull(strstr(jstr(ls.v[0], "model"), "exec:sh "));
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 1);

    /* a second process: from the L2, and the backend is not even started */
    cli(&r, &h, "classify", "--backend", spec, "hello there");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "l2");
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "greeting");
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 1);

    /* another version is another model: asked again */
    cli(&r, &h, "classify", "--backend", spec, "--backend-version", "v2",
        "--threshold", "0.9", "hello there");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    check_result(ls.v[0], "model");
    ck_assert_str_eq(jstr(ls.v[0], "intent"), "unknown");
    ck_assert_ptr_nonnull(strstr(jstr(ls.v[0], "model"), "v2"));
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 2);

    /* many lines through one child */
    h.in = "{\"id\": 1, \"text\": \"one\"}\ntwo\nthree\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    ck_assert_int_eq((int)jnum(ls.v[0], "id"), 1);
    check_result(ls.v[2], "model");
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 3);
}
END_TEST

/* A backend that dies is restarted; the request is asked again. */
START_TEST(test_exec_crash)
{
    char spec[4300];
    how h = {0};
    lines ls;
    size_t i;
    run r;

    /* exits after every answer: each request needs a new child */
    backend_spec(spec, sizeof(spec), "once");
    h.in = "first\nsecond\nthird\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    for (i = 0; i < ls.n; i++) {
        check_result(ls.v[i], "model");
        ck_assert_str_eq(jstr(ls.v[i], "intent"), "once");
    }
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 3);

    /* exits after one answer, mid-run: the later lines are answered */
    backend_spec(spec, sizeof(spec), "backend");
    h.in = "alpha\ncrash now\nbeta\ngamma\n";
    cli(&r, &h, "classify", "--backend", spec, "--batch", "1");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 4);
    ck_assert_str_eq(jstr(ls.v[1], "intent"), "crashed");
    ck_assert_str_eq(jstr(ls.v[3], "intent"), "greeting");
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 3 + 2);

    /* a command that never answers: each request fails, the run goes on */
    cli(&r, &h, "classify", "--backend", "exec:exit 7", "a", "b");
    expect(&r, 4, "", "argument 1: ");
    expect(&r, 4, "", "argument 2: ");
    ck_assert_ptr_nonnull(strstr(r.err, "exited with status 7"));
    run_free(&r);
}
END_TEST

/* A malformed answer fails that request only. */
START_TEST(test_exec_garbage)
{
    char spec[4300];
    how h = {0};
    lines ls;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    h.in = "hello\nsome garbage please\nworld\n{\"id\": 9, \"text\": "
           "\"noint\"}\nagain\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect(&r, 4, NULL, "tutorcache: stdin:2: ");
    ck_assert_ptr_nonnull(strstr(r.err, "not a JSON object"));
    expect(&r, 4, NULL, "tutorcache: stdin:4: ");
    ck_assert_ptr_nonnull(strstr(r.err, "\"intent\""));
    ck_assert_ptr_null(strstr(r.err, "stdin:1:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:3:"));
    ck_assert_ptr_null(strstr(r.err, "stdin:5:"));
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    check_result(ls.v[2], "model");
    lines_free(&ls);
    run_free(&r);
    /* no restart was needed: the stream stayed in step */
    ck_assert_int_eq(starts(), 1);

    /* nothing was cached for the bad ones: asked again, failed again */
    h.in = "some garbage please\nhello\n";
    cli(&r, &h, "classify", "--backend", spec);
    expect(&r, 4, NULL, "tutorcache: stdin:1: ");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    check_result(ls.v[0], "l2");
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* A hung backend is killed after the timeout and restarted. */
START_TEST(test_exec_timeout)
{
    char spec[4300];
    how h = {0};
    lines ls;
    run r;

    backend_spec(spec, sizeof(spec), "backend");
    h.in = "please hang\nnext one\n";
    cli(&r, &h, "classify", "--backend", spec, "--backend-timeout", "0.3");
    expect(&r, 4, NULL, "tutorcache: stdin:1: no answer from the backend");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    check_result(ls.v[0], "model");
    lines_free(&ls);
    run_free(&r);
    ck_assert_int_eq(starts(), 2);
}
END_TEST

/* ---- help --------------------------------------------------------------- */

START_TEST(test_help)
{
    static const char *const cmds[] = {"train", "eval", "classify", "model"};
    char want[64];
    how h = {0};
    run main_help, r, r2, r3;
    size_t i;

    cli(&main_help, &h, "--help");
    expect(&main_help, 0, NULL, "");
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        snprintf(want, sizeof(want), "\n  %s ", cmds[i]);
        ck_assert_msg(strstr(main_help.out, want) != NULL, "%s not in --help",
                      cmds[i]);
        cli(&r, &h, cmds[i], "--help");
        expect(&r, 0, NULL, "");
        snprintf(want, sizeof(want), "Usage: tutorcache %s", cmds[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
        cli(&r2, &h, cmds[i], "-h");
        expect(&r2, 0, r.out, "");
        cli(&r3, &h, "help", cmds[i]);
        expect(&r3, 0, r.out, "");
        run_free(&r2);
        run_free(&r3);
        if (strcmp(cmds[i], "model") == 0) {
            cli(&r2, &h, "model", "info", "--help");
            expect(&r2, 0, r.out, "");
            run_free(&r2);
        }
        run_free(&r);
    }
    run_free(&main_help);
}
END_TEST

Suite *suite_cli_classify(void)
{
    Suite *s = suite_create("cli_classify");
    TCase *tc = tcase_create("cli_classify");

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_train);
    tcase_add_test(tc, test_model_info);
    tcase_add_test(tc, test_eval);
    tcase_add_test(tc, test_classify_model_then_l2);
    tcase_add_test(tc, test_classify_no_caching);
    tcase_add_test(tc, test_classify_stdin_ids);
    tcase_add_test(tc, test_classify_bad_lines);
    tcase_add_test(tc, test_classify_threshold);
    tcase_add_test(tc, test_classify_model_sources);
    tcase_add_test(tc, test_classify_usage);
    tcase_add_test(tc, test_exec_roundtrip);
    tcase_add_test(tc, test_exec_crash);
    tcase_add_test(tc, test_exec_garbage);
    tcase_add_test(tc, test_exec_timeout);
    tcase_add_test(tc, test_help);
    suite_add_tcase(s, tc);
    return s;
}
