/*
 * check_cli_feedback.c - the feedback commands of the built `tutorcache`
 * binary (feedback submit, import, stats, export, and train --update
 * --from-feedback), run as a user runs them: a fork and exec per call with
 * a clean environment and a fresh LMDB store in a temp dir per test, and
 * stdout, stderr and the exit code checked separately. Every call is its
 * own process, so each test also shows that what one process submits,
 * another sees: a correction overrides the next process's classify, and
 * the queue hands records from process to process.
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
#define QUESTION "How do I write a Python function that reverses a list?"

/* ---- state a failed assertion must not leak ----------------------------- */

static char *g_tmp;        /* the test's HOME, and its LMDB store */
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
    ck_assert_msg(access(TRAIN_DATA, R_OK) == 0,
                  "run from the source tree: %s is needed", TRAIN_DATA);
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

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- running the binary ------------------------------------------------- */

/* ---- JSON output -------------------------------------------------------- */

/* The lines of stdout, each parsed; the caller frees with lines_free. */
typedef struct lines {
    cJSON **v;
    size_t n;
} lines;

static void parse_lines(lines *ls, const char *out)
{
    const char *p = out, *nl;
    size_t cap = 0;

    memset(ls, 0, sizeof(*ls));
    while (*p) {
        nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line without a newline: %s", p);
        if (ls->n == cap) {
            cap = cap ? cap * 2 : 16;
            ls->v = realloc(ls->v, cap * sizeof(*ls->v));
            ck_assert_ptr_nonnull(ls->v);
        }
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
    free(ls->v);
    memset(ls, 0, sizeof(*ls));
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

/* A number at a dotted path of one object: "accepted.correction". */
static long jpath(const cJSON *o, const char *path)
{
    char part[64];
    const char *dot;

    while ((dot = strchr(path, '.'))) {
        snprintf(part, sizeof(part), "%.*s", (int)(dot - path), path);
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        ck_assert_msg(cJSON_IsObject(o), "no object \"%s\"", part);
        path = dot + 1;
    }
    return (long)jnum(o, path);
}

/* Whether s is a record id: 13 digits, '-', 16 lowercase hex digits. */
static int is_record_id(const char *s)
{
    int i;

    for (i = 0; i < 13; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    if (s[13] != '-') {
        return 0;
    }
    for (i = 14; i < 30; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return s[30] == '\0';
}

/* ---- files and common steps --------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
}

/* Lines of a string. */
static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
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

/*
 * Submits a correction (or, when original equals correct, a confirmation)
 * and checks the answer; id (31 bytes) receives the record's id.
 */
static void submit(const how *h, const char *text, const char *original,
                   const char *correct, char *id)
{
    lines ls;
    run r;

    cli(&r, h, "feedback", "submit", "--text", text, "--original", original,
        "--correct", correct, "--confidence", "0.5");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert_str_eq(jstr(ls.v[0], "status"), "accepted");
    ck_assert_msg(is_record_id(jstr(ls.v[0], "id")), "id \"%s\"",
                  jstr(ls.v[0], "id"));
    if (id) {
        snprintf(id, 31, "%s", jstr(ls.v[0], "id"));
    }
    lines_free(&ls);
    run_free(&r);
}

/* The store's feedback stats, parsed; the caller deletes them. */
static cJSON *stats(const how *h)
{
    cJSON *st;
    run r;

    cli(&r, h, "feedback", "stats", "--json");
    expect(&r, 0, NULL, "");
    ck_assert_uint_eq(count_lines(r.out), 1);
    st = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsObject(st), "stats: %s", r.out);
    run_free(&r);
    return st;
}

/* The classification of one text: intent and source, through the cache. */
static void classify(const how *h, const char *model_path, const char *text,
                     char *intent, size_t ilen, char *source, size_t slen)
{
    lines ls;
    run r;

    cli(&r, h, "classify", "--model", model_path, "--format", "json", text);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    snprintf(intent, ilen, "%s", jstr(ls.v[0], "intent"));
    snprintf(source, slen, "%s", jstr(ls.v[0], "source"));
    lines_free(&ls);
    run_free(&r);
}

/* An intent of the example model other than the given one. */
static const char *other_intent(const char *intent)
{
    return strcmp(intent, "translation") != 0 ? "translation" : "debugging";
}

/* ---- submit ------------------------------------------------------------- */

START_TEST(test_submit)
{
    char id1[32], id2[32];
    how h = {0};
    cJSON *st;
    lines ls;
    run r;

    submit(&h, "Explain recursion to me", "code_generation", "explanation",
           id1);

    /* every option, and a confirmation by default when the labels agree */
    cli(&r, &h, "feedback", "submit", "--text", "Fix my segfault", "--original",
        "debugging", "--correct", "debugging", "--confidence", "0.9",
        "--complexity", "advanced", "--techniques", "c, gdb", "--user", "u42",
        "--timestamp", "2024-03-01T09:30:00+01:00");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert(is_record_id(jstr(ls.v[0], "id")));
    ck_assert_str_eq(jstr(ls.v[0], "status"), "accepted");
    snprintf(id2, sizeof(id2), "%s", jstr(ls.v[0], "id"));
    lines_free(&ls);
    run_free(&r);
    ck_assert_str_ne(id1, id2);

    /* one JSON record on stdin */
    h.in = "{\"text\": \"Translate hello\", \"original_intent\": "
           "\"translation\", \"correct_intent\": \"translation\", "
           "\"original_confidence\": 0.8, \"feedback_type\": "
           "\"confirmation\"}\n";
    cli(&r, &h, "feedback", "submit", "-");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert(is_record_id(jstr(ls.v[0], "id")));
    lines_free(&ls);
    run_free(&r);
    h.in = NULL;

    /* all three are stored, as given */
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "accepted.correction"), 1);
    ck_assert_int_eq(jpath(st, "accepted.confirmation"), 2);
    ck_assert_int_eq(jpath(st, "kept"), 3);
    ck_assert_int_eq(jpath(st, "queued"), 3);
    cJSON_Delete(st);
    cli(&r, &h, "feedback", "export");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    ck_assert_str_eq(jstr(ls.v[1], "id"), id2);
    ck_assert_str_eq(jstr(ls.v[1], "feedback_type"), "confirmation");
    ck_assert_str_eq(jstr(ls.v[1], "correct_complexity"), "advanced");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         ls.v[1], "correct_techniques")),
                     2);
    ck_assert_str_eq(
        cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(ls.v[1], "correct_techniques"), 1)
            ->valuestring,
        "gdb");
    ck_assert_str_eq(jstr(ls.v[1], "user_id"), "u42");
    ck_assert_str_eq(jstr(ls.v[1], "timestamp"), "2024-03-01T08:30:00.000Z");
    lines_free(&ls);
    run_free(&r);
}
END_TEST

START_TEST(test_submit_bad)
{
    how h = {0};
    cJSON *st;
    run r;

    /* the library's rule, in its words, and exit 4 */
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "b", "--confidence", "1.7");
    expect(&r, 4, "", "tutorcache: original_confidence: 1.7 is not in 0..1\n");
    run_free(&r);
    cli(&r, &h, "feedback", "submit", "--text", "   ", "--original", "a",
        "--correct", "b", "--confidence", "0.5");
    expect(&r, 4, "", "tutorcache: text: ");
    run_free(&r);
    /* a correction must change the intent */
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "a", "--confidence", "0.5", "--type", "correction");
    expect(&r, 4, "", "tutorcache: correct_intent: ");
    run_free(&r);
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "b", "--confidence", "0.5", "--timestamp", "yesterday");
    expect(&r, 4, "", "tutorcache: timestamp: ");
    run_free(&r);
    /* a misspelt field of a JSON record is named, never dropped */
    h.in = "{\"text\": \"hi\", \"original_intent\": \"a\", \"correct_intent\": "
           "\"b\", \"original_confidence\": 0.5, \"feedback_type\": "
           "\"correction\", \"user\": \"u1\"}";
    cli(&r, &h, "feedback", "submit", "-");
    expect(&r, 4, "", "tutorcache: user: ");
    run_free(&r);
    h.in = "not json";
    cli(&r, &h, "feedback", "submit", "-");
    expect(&r, 4, "", "tutorcache: ");
    run_free(&r);
    h.in = NULL;

    /* usage: the CLI's own options */
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "b");
    expect(&r, 2, "", "--confidence is required");
    run_free(&r);
    cli(&r, &h, "feedback", "submit", "--original", "a", "--correct", "b",
        "--confidence", "0.5");
    expect(&r, 2, "", "--text is required");
    run_free(&r);
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "b", "--confidence", "high");
    expect(&r, 2, "", "--confidence");
    run_free(&r);
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "b", "--confidence", "0.5", "--type", "praise");
    expect(&r, 2, "", "--type");
    run_free(&r);
    cli(&r, &h, "feedback", "submit", "-", "--text", "hi");
    expect(&r, 2, "", "stdin");
    run_free(&r);
    /* feedback needs a durable store */
    h.url = "memory:";
    cli(&r, &h, "feedback", "submit", "--text", "hi", "--original", "a",
        "--correct", "b", "--confidence", "0.5");
    expect(&r, 2, "", "durable store");
    run_free(&r);
    h.url = NULL;

    /* nothing was stored; the library's refusals were counted */
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "kept"), 0);
    ck_assert_int_eq(jpath(st, "accepted.correction"), 0);
    ck_assert_int_eq(jpath(st, "rejected.correction"), 5);
    ck_assert_int_eq(jpath(st, "rejected.invalid"), 1);
    cJSON_Delete(st);
}
END_TEST

/* ---- the override, seen from other processes ---------------------------- */

START_TEST(test_override_other_process)
{
    const char *m = model();
    char intent[64], source[32], corrected[64];
    how h = {0};

    /* one process classifies with the model ... */
    classify(&h, m, QUESTION, intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "model");
    snprintf(corrected, sizeof(corrected), "%s", other_intent(intent));
    /* ... another corrects it ... */
    submit(&h, QUESTION, intent, corrected, NULL);
    /* ... and a third gets the correction, not its model's cached answer */
    classify(&h, m, QUESTION, intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "feedback");
    ck_assert_str_eq(intent, corrected);
    /* the same text, normalized the same way, is corrected too */
    classify(&h, m, "  how do I write a PYTHON function that reverses a list? ",
             intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "feedback");
    ck_assert_str_eq(intent, corrected);
}
END_TEST

START_TEST(test_override_expiry)
{
    const char *m = model();
    char cfg[4200], env[4300], intent[64], source[32], corrected[64];
    const char *envs[] = {env, NULL};
    how h = {0};

    snprintf(cfg, sizeof(cfg), "%s/config.json", g_tmp);
    write_file(cfg, "{\"namespaces\": {\"intent_feedback\": {\"ttl\": 1}}}\n");
    snprintf(env, sizeof(env), "TUTORCACHE_CONFIG=%s", cfg);
    h.env = envs;
    classify(&h, m, QUESTION, intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "model");
    snprintf(corrected, sizeof(corrected), "%s", other_intent(intent));
    submit(&h, QUESTION, intent, corrected, NULL);
    classify(&h, m, QUESTION, intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_eq(source, "feedback");
    ck_assert_str_eq(intent, corrected);
    /* past the override's TTL of 1 s, the cache answers again */
    sleep_ms(1200);
    classify(&h, m, QUESTION, intent, sizeof(intent), source, sizeof(source));
    ck_assert_str_ne(source, "feedback");
    ck_assert_str_ne(intent, corrected);
}
END_TEST

/* ---- import ------------------------------------------------------------- */

/* A record line of the import files. */
static void good_line(FILE *fp, int i)
{
    fprintf(fp,
            "{\"text\": \"question number %d\", \"original_intent\": "
            "\"code_generation\", \"correct_intent\": \"%s\", "
            "\"original_confidence\": 0.5, \"feedback_type\": \"%s\"}\n",
            i, i % 3 ? "explanation" : "code_generation",
            i % 3 ? "correction" : "confirmation");
}

START_TEST(test_import_10k)
{
    /* bad lines at known places, each with the field its reason names */
    static const struct {
        int line;
        const char *text;
        const char *reason; /* a part of the reason */
    } bad[] = {
        {1, "{\"text\": \"x\"", "JSON"},
        {777,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"b\", \"original_confidence\": 1.7, \"feedback_type\": "
         "\"correction\"}",
         "original_confidence"},
        {4096,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"b\", \"original_confidence\": 0.5, \"feedback_type\": \"praise\"}",
         "feedback_type"},
        {5000,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"b\", \"original_confidence\": 0.5, \"feedback_type\": "
         "\"correction\", \"color\": \"red\"}",
         "color"},
        {9999, "[1, 2, 3]", ""},
        {10000,
         "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
         "\"a\", \"original_confidence\": 0.5, \"feedback_type\": "
         "\"correction\"}",
         "correct_intent"},
    };
    const size_t nbad = sizeof(bad) / sizeof(bad[0]);
    char path[4200], want[4400], summary[128];
    const char *p;
    how h = {0};
    cJSON *st;
    FILE *fp;
    size_t b = 0;
    long good = 0, corrections = 0;
    int i;
    run r;

    snprintf(path, sizeof(path), "%s/feedback.jsonl", g_tmp);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (i = 1; i <= 10000; i++) {
        if (b < nbad && bad[b].line == i) {
            fprintf(fp, "%s\n", bad[b++].text);
        } else if (i == 2500) {
            fputs("\n", fp); /* a blank line: skipped, yet counted */
        } else {
            good_line(fp, i);
            good++;
            corrections += i % 3 != 0;
        }
    }
    ck_assert_int_eq(fclose(fp), 0);

    cli(&r, &h, "feedback", "import", path);
    snprintf(summary, sizeof(summary),
             "{\"accepted\":%ld,\"rejected\":%zu,\"spooled\":0,"
             "\"dry_run\":false}\n",
             good, nbad);
    expect(&r, 4, summary, NULL);
    /* exactly the bad lines, in order, each as FILE:LINE: reason */
    ck_assert_uint_eq(count_lines(r.err), nbad);
    p = r.err;
    for (b = 0; b < nbad; b++) {
        snprintf(want, sizeof(want), "tutorcache: %s:%d: ", path, bad[b].line);
        ck_assert_msg(strncmp(p, want, strlen(want)) == 0,
                      "stderr line %zu: expected \"%s\": %s", b + 1, want, p);
        ck_assert_msg(strstr(p, bad[b].reason) != NULL &&
                          strstr(p, bad[b].reason) < strchr(p, '\n'),
                      "line %d's reason lacks \"%s\": %s", bad[b].line,
                      bad[b].reason, p);
        p = strchr(p, '\n') + 1;
    }
    run_free(&r);

    st = stats(&h);
    ck_assert_int_eq(jpath(st, "kept"), good);
    ck_assert_int_eq(jpath(st, "accepted.correction"), corrections);
    ck_assert_int_eq(jpath(st, "accepted.confirmation"), good - corrections);
    /* rejected by type: two corrections, the rest have none or a bad one */
    ck_assert_int_eq(jpath(st, "rejected.correction"), 3);
    ck_assert_int_eq(jpath(st, "rejected.invalid"), 3);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_import_good_and_stdin)
{
    char path[4200], *text;
    how h = {0};
    size_t len = 0;
    FILE *fp;
    cJSON *st;
    int i;
    run r;

    snprintf(path, sizeof(path), "%s/good.jsonl", g_tmp);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (i = 1; i <= 1500; i++) {
        good_line(fp, i);
    }
    ck_assert_int_eq(fclose(fp), 0);
    cli(&r, &h, "feedback", "import", path);
    expect(&r, 0,
           "{\"accepted\":1500,\"rejected\":0,\"spooled\":0,\"dry_run\":false}"
           "\n",
           "");
    run_free(&r);

    /* stdin, as - and as no FILE; CRLF line ends */
    fp = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(fp);
    fputs("{\"text\": \"from stdin\", \"original_intent\": \"a\", "
          "\"correct_intent\": \"b\", \"original_confidence\": 0.1, "
          "\"feedback_type\": \"correction\"}\r\n",
          fp);
    fputs("{\"text\": \"\", \"original_intent\": \"a\", "
          "\"correct_intent\": \"b\", \"original_confidence\": 0.1, "
          "\"feedback_type\": \"correction\"}\r\n",
          fp);
    ck_assert_int_eq(fclose(fp), 0);
    h.in = text;
    cli(&r, &h, "feedback", "import", "-");
    expect(&r, 4,
           "{\"accepted\":1,\"rejected\":1,\"spooled\":0,\"dry_run\":false}\n",
           "tutorcache: stdin:2: text");
    ck_assert_uint_eq(count_lines(r.err), 1);
    run_free(&r);
    cli(&r, &h, "feedback", "import");
    expect(&r, 4, NULL, "tutorcache: stdin:2: ");
    run_free(&r);
    h.in = NULL;
    free(text);

    st = stats(&h);
    ck_assert_int_eq(jpath(st, "kept"), 1502);
    cJSON_Delete(st);

    /* a file that is not there, or a directory: usage */
    cli(&r, &h, "feedback", "import", "no/such.jsonl");
    expect(&r, 2, "", "no/such.jsonl");
    run_free(&r);
    cli(&r, &h, "feedback", "import", g_tmp);
    expect(&r, 2, "", "directory");
    run_free(&r);
    cli(&r, &h, "feedback", "import", "--format", "xml", path);
    expect(&r, 2, "", "--format");
    run_free(&r);
}
END_TEST

START_TEST(test_import_csv)
{
    char path[4200], want[4300];
    how h = {0};
    lines ls;
    run r;

    snprintf(path, sizeof(path), "%s/fb.csv", g_tmp);
    write_file(path, "original_intent,correct_intent,text,original_confidence,"
                     "feedback_type,correct_techniques\n"
                     "code_generation,explanation,\"Explain this, please\",0.4,"
                     "correction,python|recursion\n"
                     "a,a,plain text,0.9,confirmation,\n"
                     "a,b,bad confidence,2,correction,\n"
                     "a,b,\"a text\nover two lines\",0.3,correction,\n");
    cli(&r, &h, "feedback", "import", path);
    expect(&r, 4,
           "{\"accepted\":3,\"rejected\":1,\"spooled\":0,\"dry_run\":false}\n",
           NULL);
    snprintf(want, sizeof(want), "tutorcache: %s:4: original_confidence", path);
    expect(&r, 4, NULL, want);
    ck_assert_uint_eq(count_lines(r.err), 1);
    run_free(&r);

    cli(&r, &h, "feedback", "export");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 3);
    ck_assert_str_eq(jstr(ls.v[0], "text"), "Explain this, please");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         ls.v[0], "correct_techniques")),
                     2);
    ck_assert_str_eq(jstr(ls.v[2], "text"), "a text\nover two lines");
    lines_free(&ls);
    run_free(&r);

    /* --format csv on stdin; a header with an unknown column fails whole */
    h.in = "text,original_intent,correct_intent,original_confidence,"
           "feedback_type\nsome text,a,b,0.5,correction\n";
    cli(&r, &h, "feedback", "import", "--format", "csv", "-");
    expect(&r, 0,
           "{\"accepted\":1,\"rejected\":0,\"spooled\":0,\"dry_run\":false}\n",
           "");
    run_free(&r);
    h.in = "text,original_intent,correct_intent,original_confidence,"
           "feedback_type,mood\nsome text,a,b,0.5,correction,ok\n";
    cli(&r, &h, "feedback", "import", "--format", "csv");
    expect(&r, 4, "", "mood");
    run_free(&r);
    h.in = NULL;
}
END_TEST

START_TEST(test_import_dry_run)
{
    char path[4200], *before;
    how h = {0};
    cJSON *st;
    run r;

    submit(&h, "Explain recursion to me", "code_generation", "explanation",
           NULL);
    st = stats(&h);
    before = cJSON_PrintUnformatted(st);
    cJSON_Delete(st);

    snprintf(path, sizeof(path), "%s/dry.jsonl", g_tmp);
    write_file(path, "{\"text\": \"t1\", \"original_intent\": \"a\", "
                     "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
                     "\"feedback_type\": \"correction\"}\n"
                     "{\"text\": \"t2\"}\n"
                     "{\"text\": \"t3\", \"original_intent\": \"a\", "
                     "\"correct_intent\": \"a\", \"original_confidence\": 0.5, "
                     "\"feedback_type\": \"confirmation\"}\n");
    cli(&r, &h, "feedback", "import", "--dry-run", path);
    expect(&r, 4,
           "{\"accepted\":2,\"rejected\":1,\"spooled\":0,\"dry_run\":true}\n",
           ":2: ");
    run_free(&r);

    /* nothing stored, nothing counted */
    st = stats(&h);
    {
        char *after = cJSON_PrintUnformatted(st);

        ck_assert_str_eq(after, before);
        cJSON_free(after);
    }
    cJSON_Delete(st);
    cJSON_free(before);

    /* a dry run needs no durable store */
    h.url = "memory:";
    cli(&r, &h, "feedback", "import", "--dry-run", path);
    expect(&r, 4,
           "{\"accepted\":2,\"rejected\":1,\"spooled\":0,\"dry_run\":true}\n",
           ":2: ");
    run_free(&r);
    cli(&r, &h, "feedback", "import", path);
    expect(&r, 2, "", "durable store");
    run_free(&r);
}
END_TEST

/* ---- stats -------------------------------------------------------------- */

START_TEST(test_stats_exact)
{
    const cJSON *pairs, *p;
    how h = {0};
    cJSON *st;
    run r;

    submit(&h, "t1", "code_generation", "explanation", NULL);
    submit(&h, "t2", "code_generation", "explanation", NULL);
    submit(&h, "t3", "code_generation", "explanation", NULL);
    submit(&h, "t4", "debugging", "code_generation", NULL);
    submit(&h, "t5", "translation", "translation", NULL);
    submit(&h, "t6", "translation", "translation", NULL);
    /* one refused correction, one record of no valid type */
    cli(&r, &h, "feedback", "submit", "--text", "t7", "--original", "a",
        "--correct", "b", "--confidence", "-1");
    expect(&r, 4, "", "original_confidence");
    run_free(&r);
    h.in = "{\"text\": \"t8\", \"original_intent\": \"a\", \"correct_intent\": "
           "\"b\", \"original_confidence\": 0.5, \"feedback_type\": \"meh\"}";
    cli(&r, &h, "feedback", "submit", "-");
    expect(&r, 4, "", "feedback_type");
    run_free(&r);
    h.in = NULL;
    /* two records taken by a consumer and not acknowledged */
    cli(&r, &h, "feedback", "export", "--consumer", "c", "--max", "2");
    expect(&r, 0, NULL, "");
    ck_assert_uint_eq(count_lines(r.out), 2);
    run_free(&r);

    st = stats(&h);
    ck_assert_int_eq(jpath(st, "accepted.correction"), 4);
    ck_assert_int_eq(jpath(st, "accepted.confirmation"), 2);
    ck_assert_int_eq(jpath(st, "rejected.correction"), 1);
    ck_assert_int_eq(jpath(st, "rejected.confirmation"), 0);
    ck_assert_int_eq(jpath(st, "rejected.invalid"), 1);
    ck_assert_int_eq(jpath(st, "kept"), 6);
    ck_assert_int_eq(jpath(st, "pending"), 2);
    ck_assert_int_eq(jpath(st, "queued"), 4);
    ck_assert_int_eq(jpath(st, "spooled"), 0);
    pairs = cJSON_GetObjectItemCaseSensitive(st, "pairs");
    ck_assert_int_eq(cJSON_GetArraySize(pairs), 2);
    p = cJSON_GetArrayItem(pairs, 0);
    ck_assert_str_eq(jstr(p, "original"), "code_generation");
    ck_assert_str_eq(jstr(p, "correct"), "explanation");
    ck_assert_int_eq((int)jnum(p, "count"), 3);
    p = cJSON_GetArrayItem(pairs, 1);
    ck_assert_str_eq(jstr(p, "original"), "debugging");
    ck_assert_int_eq((int)jnum(p, "count"), 1);
    cJSON_Delete(st);

    /* --format json is --json; the table is for people */
    cli(&r, &h, "feedback", "stats", "--format", "json");
    expect(&r, 0, NULL, "");
    st = cJSON_Parse(r.out);
    ck_assert_int_eq(jpath(st, "kept"), 6);
    cJSON_Delete(st);
    run_free(&r);
    cli(&r, &h, "feedback", "stats", "--format", "table");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "accepted.correction    4\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "pending                2\n"));
    ck_assert_ptr_nonnull(
        strstr(r.out, "code_generation  explanation          3\n"));
    run_free(&r);
    cli(&r, &h, "feedback", "stats", "--format", "yaml");
    expect(&r, 2, "", "--format");
    run_free(&r);
}
END_TEST

/* ---- export ------------------------------------------------------------- */

/* Submits n records t1..tn; ids[i] receives their ids. */
static void submit_n(const how *h, int n, char ids[][32])
{
    char text[32];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "text %d", i + 1);
        submit(h, text, "code_generation", "explanation", ids[i]);
    }
}

/* The ids of the JSON lines of out, which must be want[0..n). */
static void expect_ids(const char *out, char want[][32], size_t n)
{
    lines ls;
    size_t i;

    parse_lines(&ls, out);
    ck_assert_uint_eq(ls.n, n);
    for (i = 0; i < n; i++) {
        ck_assert_str_eq(jstr(ls.v[i], "id"), want[i]);
        ck_assert_str_eq(jstr(ls.v[i], "correct_intent"), "explanation");
    }
    lines_free(&ls);
}

START_TEST(test_export_all)
{
    char ids[5][32];
    how h = {0};
    cJSON *st;
    run r;

    submit_n(&h, 5, ids);
    cli(&r, &h, "feedback", "export");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 5);
    run_free(&r);
    /* the queue is not touched */
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "queued"), 5);
    ck_assert_int_eq(jpath(st, "pending"), 0);
    cJSON_Delete(st);

    /* usage: queue options without a consumer */
    cli(&r, &h, "feedback", "export", "--ack");
    expect(&r, 2, "", "--consumer");
    run_free(&r);
    cli(&r, &h, "feedback", "export", "--consumer", "a", "--max", "0");
    expect(&r, 2, "", "--max");
    run_free(&r);
    cli(&r, &h, "feedback", "export", "--consumer", "a", "--claim-idle", "0");
    expect(&r, 2, "", "--claim-idle");
    run_free(&r);
}
END_TEST

START_TEST(test_export_consumers_ack)
{
    char ids[7][32];
    how h = {0};
    cJSON *st;
    run r;

    submit_n(&h, 7, ids);
    cli(&r, &h, "feedback", "export", "--consumer", "A", "--max", "3", "--ack");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 3);
    run_free(&r);
    cli(&r, &h, "feedback", "export", "--consumer", "B", "--ack");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids + 3, 4);
    run_free(&r);
    /* acknowledged: gone from the queue, for any consumer */
    cli(&r, &h, "feedback", "export", "--consumer", "C", "--claim-idle",
        "0.001");
    expect(&r, 0, "", "");
    run_free(&r);
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "queued"), 0);
    ck_assert_int_eq(jpath(st, "pending"), 0);
    ck_assert_int_eq(jpath(st, "kept"), 7);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_export_redelivery)
{
    char ids[4][32];
    how h = {0};
    cJSON *st;
    run r;

    submit_n(&h, 4, ids);
    /* A takes everything and "dies" without acknowledging */
    cli(&r, &h, "feedback", "export", "--consumer", "A");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 4);
    run_free(&r);
    /* within the (default) claim idle time, nobody else gets them */
    cli(&r, &h, "feedback", "export", "--consumer", "B");
    expect(&r, 0, "", "");
    run_free(&r);
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "pending"), 4);
    cJSON_Delete(st);
    /* after it, B claims the same records */
    sleep_ms(200);
    cli(&r, &h, "feedback", "export", "--consumer", "B", "--claim-idle", "0.1",
        "--ack");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 4);
    run_free(&r);
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "pending"), 0);
    ck_assert_int_eq(jpath(st, "queued"), 0);
    cJSON_Delete(st);
}
END_TEST

/*
 * A consumer that does not acknowledge, with an idle time shorter than its
 * own run, gets its records back while it runs: it prints each once and
 * stops, rather than going round them (up to --max). Big records make the
 * run outlast the idle time.
 */
START_TEST(test_export_no_repeats)
{
    char path[4200], *word;
    const cJSON *id;
    how h = {0};
    lines ls;
    FILE *fp;
    size_t i, j;
    run r;

    snprintf(path, sizeof(path), "%s/big.jsonl", g_tmp);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    word = malloc(8001);
    ck_assert_ptr_nonnull(word);
    for (i = 0; i < 200; i++) {
        memset(word, 'a' + (int)(i % 26), 8000);
        word[8000] = '\0';
        fprintf(fp,
                "{\"text\": \"%zu %s\", \"original_intent\": \"a\", "
                "\"correct_intent\": \"b\", \"original_confidence\": 0.5, "
                "\"feedback_type\": \"correction\"}\n",
                i, word);
    }
    free(word);
    ck_assert_int_eq(fclose(fp), 0);
    cli(&r, &h, "feedback", "import", path);
    expect(&r, 0, NULL, "");
    run_free(&r);

    cli(&r, &h, "feedback", "export", "--consumer", "C", "--claim-idle",
        "0.001", "--max", "400");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 200);
    for (i = 0; i < ls.n; i++) {
        id = cJSON_GetObjectItemCaseSensitive(ls.v[i], "id");
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(
                id->valuestring,
                cJSON_GetObjectItemCaseSensitive(ls.v[j], "id")->valuestring);
        }
    }
    lines_free(&ls);
    run_free(&r);
}
END_TEST

/* Records that could not be written to stdout are never acknowledged. */
START_TEST(test_export_failed_write)
{
    char ids[3][32];
    how h = {0};
    run r;

    submit_n(&h, 3, ids);
    h.stdout_full = 1;
    cli(&r, &h, "feedback", "export", "--consumer", "A", "--ack");
    expect(&r, 5, "", "not acknowledged");
    run_free(&r);
    cli(&r, &h, "feedback", "export");
    expect(&r, 5, "", "tutorcache: ");
    run_free(&r);
    h.stdout_full = 0;
    sleep_ms(50);
    cli(&r, &h, "feedback", "export", "--consumer", "B", "--claim-idle", "0.01",
        "--ack");
    expect(&r, 0, NULL, "");
    expect_ids(r.out, ids, 3);
    run_free(&r);
}
END_TEST

/* ---- train --update --from-feedback ------------------------------------- */

/* A copy of the shared model, to be updated in place. */
static void copy_model(const char *dst)
{
    FILE *in = fopen(model(), "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t got;

    ck_assert(in && out);
    while ((got = fread(buf, 1, sizeof(buf), in)) > 0) {
        ck_assert_uint_eq(fwrite(buf, 1, got, out), got);
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* The fingerprint of a model file (model info). */
static void fingerprint_of(const char *path, char *fp, size_t n)
{
    how h = {0};
    lines ls;
    run r;

    cli(&r, &h, "model", "info", "--format", "json", path);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    snprintf(fp, n, "%s", jstr(ls.v[0], "fingerprint"));
    lines_free(&ls);
    run_free(&r);
}

START_TEST(test_train_update)
{
    char m[4200], url[4300], intent[64], source[32], corrected[64];
    char fp0[64], fp1[64];
    how h = {0}, fresh = {0};
    const cJSON *o;
    lines ls;
    cJSON *st;
    run r;

    snprintf(m, sizeof(m), "%s/m.tcm", g_tmp);
    copy_model(m);
    fingerprint_of(m, fp0, sizeof(fp0));
    /* the model's own answer, from a store without overrides */
    snprintf(url, sizeof(url), "lmdb://%s/fresh1", g_tmp);
    fresh.url = url;
    classify(&fresh, m, QUESTION, intent, sizeof(intent), source,
             sizeof(source));
    ck_assert_str_eq(source, "model");
    snprintf(corrected, sizeof(corrected), "%s", other_intent(intent));
    /* the correction of every head: intent, complexity, techniques */
    cli(&r, &h, "feedback", "submit", "--text", QUESTION, "--original", intent,
        "--correct", corrected, "--confidence", "0.5", "--complexity",
        "advanced", "--techniques", "sql,statistics");
    expect(&r, 0, NULL, "");
    run_free(&r);
    submit(&h, "Translate good night into German", "translation", "translation",
           NULL);
    /* a label the model was never trained with */
    submit(&h, "Write a haiku about autumn", "code_generation", "poetry", NULL);

    /* a run whose save fails acknowledges nothing */
    cli(&r, &h, "train", "--update", m, "--from-feedback", "-o",
        "/nonexistent-dir/m.tcm");
    expect(&r, 5, "", "stay in the queue");
    run_free(&r);
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "pending"), 3);
    ck_assert_int_eq(jpath(st, "queued"), 0);
    cJSON_Delete(st);
    fingerprint_of(m, fp1, sizeof(fp1));
    ck_assert_str_eq(fp1, fp0);

    /* the next run gets them back after the idle time and learns them */
    sleep_ms(100);
    cli(&r, &h, "train", "--update", m, "--from-feedback", "--claim-idle",
        "0.05");
    expect(&r, 0, NULL, "poetry");
    ck_assert_ptr_nonnull(strstr(r.err, "skipped"));
    ck_assert_uint_eq(count_lines(r.err), 1);
    parse_lines(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    o = ls.v[0];
    ck_assert_str_eq(jstr(o, "model"), m);
    ck_assert_int_eq((int)jnum(o, "updated"), 2);
    ck_assert_int_eq((int)jnum(o, "skipped"), 1);
    ck_assert_str_eq(jstr(o, "fingerprint_before"), fp0);
    ck_assert_str_ne(jstr(o, "fingerprint_after"), fp0);
    /* MODEL itself was replaced */
    fingerprint_of(m, fp1, sizeof(fp1));
    ck_assert_str_eq(fp1, jstr(o, "fingerprint_after"));
    lines_free(&ls);
    run_free(&r);

    /* the model now answers the correction by itself, every head */
    snprintf(url, sizeof(url), "lmdb://%s/fresh2", g_tmp);
    cli(&r, &fresh, "classify", "--model", m, "--format", "json", QUESTION);
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_str_eq(jstr(ls.v[0], "source"), "model");
    ck_assert_str_eq(jstr(ls.v[0], "intent"), corrected);
    ck_assert_str_eq(jstr(ls.v[0], "complexity"), "advanced");
    /* both techniques, in the order of their scores */
    o = cJSON_GetObjectItemCaseSensitive(ls.v[0], "techniques");
    ck_assert_int_eq(cJSON_GetArraySize(o), 2);
    ck_assert(strcmp(cJSON_GetArrayItem(o, 0)->valuestring, "sql") == 0 ||
              strcmp(cJSON_GetArrayItem(o, 1)->valuestring, "sql") == 0);
    ck_assert(strcmp(cJSON_GetArrayItem(o, 0)->valuestring, "statistics") ==
                  0 ||
              strcmp(cJSON_GetArrayItem(o, 1)->valuestring, "statistics") == 0);
    lines_free(&ls);
    run_free(&r);

    /* used records left the queue; the skipped one waits, unacknowledged */
    st = stats(&h);
    ck_assert_int_eq(jpath(st, "queued"), 0);
    ck_assert_int_eq(jpath(st, "pending"), 1);
    cJSON_Delete(st);

    /* nothing new: a second run updates nothing */
    cli(&r, &h, "train", "--update", m, "--from-feedback");
    expect(&r, 0, NULL, "");
    parse_lines(&ls, r.out);
    ck_assert_int_eq((int)jnum(ls.v[0], "updated"), 0);
    ck_assert_int_eq((int)jnum(ls.v[0], "skipped"), 0);
    ck_assert_str_eq(jstr(ls.v[0], "fingerprint_before"), fp1);
    ck_assert_str_eq(jstr(ls.v[0], "fingerprint_after"), fp1);
    lines_free(&ls);
    run_free(&r);

    /* with a tiny idle time, the skipped record comes back: once */
    sleep_ms(10);
    cli(&r, &h, "train", "--update", m, "--from-feedback", "--claim-idle",
        "0.001");
    expect(&r, 0, NULL, "poetry");
    ck_assert_uint_eq(count_lines(r.err), 1);
    parse_lines(&ls, r.out);
    ck_assert_int_eq((int)jnum(ls.v[0], "updated"), 0);
    ck_assert_int_eq((int)jnum(ls.v[0], "skipped"), 1);
    lines_free(&ls);
    run_free(&r);
}
END_TEST

START_TEST(test_train_update_usage)
{
    char m[4200];
    how h = {0};
    run r;

    snprintf(m, sizeof(m), "%s/m.tcm", g_tmp);
    copy_model(m);
    cli(&r, &h, "train", "--update", m);
    expect(&r, 2, "", "--from-feedback");
    run_free(&r);
    cli(&r, &h, "train", "--from-feedback", "-o", m, TRAIN_DATA);
    expect(&r, 2, "", "--update");
    run_free(&r);
    cli(&r, &h, "train", "--update", m, "--from-feedback", "--epochs", "3");
    expect(&r, 2, "", "--epochs");
    run_free(&r);
    cli(&r, &h, "train", "--update", m, "--from-feedback", TRAIN_DATA);
    expect(&r, 2, "", "DATA");
    run_free(&r);
    cli(&r, &h, "train", "--update", "no/such.tcm", "--from-feedback");
    expect(&r, 2, "", "no/such.tcm");
    run_free(&r);
    cli(&r, &h, "train", "--update", TRAIN_DATA, "--from-feedback");
    expect(&r, 4, "", TRAIN_DATA);
    run_free(&r);
    h.url = "memory:";
    cli(&r, &h, "train", "--update", m, "--from-feedback");
    expect(&r, 2, "", "durable store");
    run_free(&r);
}
END_TEST

/* ---- help and usage ----------------------------------------------------- */

START_TEST(test_help)
{
    static const char *const subs[] = {"submit", "import", "stats", "export"};
    char want[64];
    how h = {0};
    run r, r2, r3;
    size_t i;

    cli(&r, &h, "--help");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "\n  feedback "));
    run_free(&r);
    cli(&r, &h, "feedback", "--help");
    expect(&r, 0, NULL, "");
    ck_assert(strncmp(r.out, "Usage: tutorcache feedback", 26) == 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
    cli(&r2, &h, "help", "feedback");
    expect(&r2, 0, r.out, "");
    cli(&r3, &h, "feedback", "-h");
    expect(&r3, 0, r.out, "");
    run_free(&r);
    run_free(&r2);
    run_free(&r3);
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        cli(&r, &h, "feedback", subs[i], "--help");
        expect(&r, 0, NULL, "");
        snprintf(want, sizeof(want), "Usage: tutorcache feedback %s", subs[i]);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "Exit codes:"));
        cli(&r2, &h, "feedback", subs[i], "-h");
        expect(&r2, 0, r.out, "");
        run_free(&r);
        run_free(&r2);
    }
    cli(&r, &h, "train", "--help");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, "--from-feedback"));
    run_free(&r);

    cli(&r, &h, "feedback");
    expect(&r, 2, "", "subcommand");
    run_free(&r);
    cli(&r, &h, "feedback", "frob");
    expect(&r, 2, "", "frob");
    run_free(&r);
    cli(&r, &h, "feedback", "stats", "extra");
    expect(&r, 2, "", "no arguments");
    run_free(&r);
}
END_TEST

Suite *suite_cli_feedback(void)
{
    Suite *s = suite_create("cli_feedback");
    TCase *tc = tcase_create("cli_feedback");

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_submit);
    tcase_add_test(tc, test_submit_bad);
    tcase_add_test(tc, test_override_other_process);
    tcase_add_test(tc, test_override_expiry);
    tcase_add_test(tc, test_import_10k);
    tcase_add_test(tc, test_import_good_and_stdin);
    tcase_add_test(tc, test_import_csv);
    tcase_add_test(tc, test_import_dry_run);
    tcase_add_test(tc, test_stats_exact);
    tcase_add_test(tc, test_export_all);
    tcase_add_test(tc, test_export_consumers_ack);
    tcase_add_test(tc, test_export_redelivery);
    tcase_add_test(tc, test_export_no_repeats);
    tcase_add_test(tc, test_export_failed_write);
    tcase_add_test(tc, test_train_update);
    tcase_add_test(tc, test_train_update_usage);
    tcase_add_test(tc, test_help);
    suite_add_tcase(s, tc);
    return s;
}
