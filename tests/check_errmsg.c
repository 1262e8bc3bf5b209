/*
 * check_errmsg.c - no message says the same thing twice. Each layer puts
 * its word before the message of the layer below ("SET tc:x: ..."), and a
 * layer that adds a word the layer below already wrote doubles it (the
 * issue saw "SET tc:...: SET tc:...: OOM ..."). Every error path reachable
 * at small cost is driven here, a bad config file and URL, a closed Redis
 * port, a Redis at its maxmemory under noeviction, a damaged model file,
 * bad feedback records and import lines, a key buffer too short, and
 * tc_errmsg() and each log line's detail are checked: split at ": ", no
 * part may appear twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <tutorcache.h>

#include "redis_fixture.h"
#include "suites.h"

#define NS "ml_model_predictions"
#define RECORD                                                                 \
    "{\"text\": \"How many seconds are in a week?\", \"original_intent\": "    \
    "\"study_planning\", \"correct_intent\": \"math_help\", "                  \
    "\"original_confidence\": 0.9, \"feedback_type\": \"correction\"}"

/* Fails when msg holds one part twice, the parts being what ": " separates
 * ("SET tc:x: SET tc:x: OOM" holds "SET tc:x" twice). */
static void assert_single(const char *what, const char *msg)
{
    const char *part[64];
    size_t len[64], n = 0, i, j;
    const char *p = msg;

    ck_assert_msg(msg[0] != '\0', "%s: no message", what);
    while (n < 64) {
        const char *e = strstr(p, ": ");

        part[n] = p;
        len[n++] = e ? (size_t)(e - p) : strlen(p);
        if (!e) {
            break;
        }
        p = e + 2;
    }
    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            ck_assert_msg(
                len[i] != len[j] || strncmp(part[i], part[j], len[i]) != 0,
                "%s: \"%.*s\" twice in: %s", what, (int)len[i], part[i], msg);
        }
    }
}

/* The details of the log lines a handle wrote, one per line. */
static char details[1 << 16];
static int ndetails;

static void keep_detail(void *ud, tc_log_level level, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
    size_t n = strlen(details);

    (void)ud;
    (void)level;
    if (cJSON_IsString(d)) {
        snprintf(details + n, sizeof(details) - n, "%s\n", d->valuestring);
        ndetails++;
    }
    cJSON_Delete(j);
}

static void assert_details_single(const char *what)
{
    char *copy = strdup(details), *line, *save = NULL;

    ck_assert_ptr_nonnull(copy);
    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        assert_single(what, line);
    }
    free(copy);
}

/* A handle on url whose feedback spool is spool (NULL: the default),
 * logging every line's detail into details. */
static tc_cache *open_url(const char *url, const char *dir, const char *spool)
{
    char path[700], text[800];
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    if (spool) {
        snprintf(path, sizeof(path), "%s/config.json", dir);
        snprintf(text, sizeof(text), "{\"spool_dir\": \"%s\"}\n", spool);
        tt_write_file(path, text, 0600);
        o.config_path = path;
    } else {
        o.flags |= TC_OPT_NO_CONFIG;
    }
    o.store_url = url;
    o.connect_timeout_ms = 200;
    o.command_timeout_ms = 500;
    o.log_fn = keep_detail;
    o.log_level = TC_LOG_DEBUG;
    details[0] = '\0';
    ndetails = 0;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open %s: %s", url,
                  tc_errmsg());
    return h;
}

/* ---- configuration ------------------------------------------------------- */

START_TEST(test_config_and_url)
{
    static const char *const files[] = {
        "{\"store\": \"memory:\",\n \"pool_size\": ,\n}\n",
        "{\"namespaces\": {\"x\": {\"prefix\": \"fb\", \"ttl\": 5}}}\n",
        "{\"namespaces\": {\"x\": {\"prefix\": \"a:b\", \"ttl\": 5}}}\n",
        "{\"store\": \"redis://h:99999\"}\n",
        "{\"stroe\": \"memory:\"}\n",
    };
    static const char *const urls[] = {
        "redis://h:99999",    "redis://h/x",         "redis://[::1",
        "redis://:p%zz@h",    "unix://relative",     "unix:///s?foo=1",
        "lmdb://relative",    "ftp://example.org/x", "nothing",
        "redis://h/0?db=x&y",
    };
    char *dir = tt_test_dir(), path[600];
    size_t i;

    snprintf(path, sizeof(path), "%s/config.json", dir);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        tc_options o;
        tc_cache *h = NULL;

        tt_write_file(path, files[i], 0600);
        tc_options_init(&o);
        o.flags = TC_OPT_NO_ENV;
        o.config_path = path;
        ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
        assert_single(files[i], tc_errmsg());
    }
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        tc_options o;
        tc_cache *h = NULL;

        tc_options_init(&o);
        o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
        o.store_url = urls[i];
        ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
        assert_single(urls[i], tc_errmsg());
    }
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- Redis: closed, then full ----------------------------------------------
 */

/* The calls that report a store's failure to the caller, and a set, which
 * logs it. */
static void store_calls(tc_cache *h, const char *what, char *spool_file)
{
    char id[TC_FEEDBACK_ID_MAX + 1], big[64 << 10];
    int64_t us;
    int rc, spooled = 0;

    memset(big, 'v', sizeof(big));
    ck_assert_int_eq(tc_cache_set(h, NS, "k", 1, big, sizeof(big), 0), TC_OK);
    rc = tc_cache_del(h, NS, "k", 1);
    if (rc != TC_OK && rc != TC_MISS) {
        assert_single(what, tc_errmsg());
    }
    if (tc_cache_invalidate(h, NS) != TC_OK) {
        assert_single(what, tc_errmsg());
    }
    if (tc_cache_ping(h, &us) != TC_OK) {
        assert_single(what, tc_errmsg());
    }
    /* a spool dir that is a file: the record can be neither stored nor
     * spooled, and is refused */
    tt_write_file(spool_file, "", 0600);
    rc = tc_feedback_submit_json(id, &spooled, h, RECORD, strlen(RECORD));
    if (rc != TC_OK) {
        assert_single(what, tc_errmsg());
    }
    assert_details_single(what);
}

START_TEST(test_redis_closed)
{
    char *dir = tt_test_dir(), url[64], spool[600];
    tc_cache *h;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", tt_free_port());
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    h = open_url(url, dir, spool);
    store_calls(h, "closed port", spool);
    ck_assert_int_gt(ndetails, 0);
    tc_cache_close(h);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_redis_oom)
{
    trs *srv = trs_start("maxmemory 1mb\nmaxmemory-policy noeviction\n");
    char *dir = tt_test_dir(), spool[600], *r = NULL;
    tc_cache *h;
    int i;

    ck_assert_ptr_nonnull(srv);
    /* filled until it refuses a write */
    for (i = 0; i < 200; i++) {
        free(r);
        r = trs_cmd(srv, "SET fill%d %s", i,
                    "................................................"
                    "................................................");
        ck_assert_ptr_nonnull(r);
        if (strncmp(r, "OOM", 3) == 0) {
            break;
        }
        free(r);
        r = trs_cmd(srv, "SETRANGE fill%d 65536 x", i);
        ck_assert_ptr_nonnull(r);
        if (strncmp(r, "OOM", 3) == 0) {
            break;
        }
    }
    ck_assert_msg(r && strncmp(r, "OOM", 3) == 0, "never full: %s", r);
    free(r);
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    h = open_url(trs_url(srv), dir, spool);
    store_calls(h, "OOM", spool);
    ck_assert_msg(strstr(details, "OOM") != NULL, "no OOM logged: %s", details);
    tc_cache_close(h);
    trs_stop(srv);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- model files, feedback, keys -------------------------------------------
 */

START_TEST(test_model_file)
{
    char *dir = tt_test_dir(), path[600];
    tc_model *m = NULL;

    snprintf(path, sizeof(path), "%s/bad.tcm", dir);
    tt_write_file(path, "not a model file at all", 0600);
    ck_assert_int_ne(tc_model_load(&m, path), TC_OK);
    assert_single("bad model", tc_errmsg());
    snprintf(path, sizeof(path), "%s/none.tcm", dir);
    ck_assert_int_ne(tc_model_load(&m, path), TC_OK);
    assert_single("missing model", tc_errmsg());
    snprintf(path, sizeof(path), "%s/no/such/dir/m.tcm", dir);
    ck_assert_int_ne(tc_model_train_file(&m, path, NULL), TC_OK);
    assert_single("missing data", tc_errmsg());
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_feedback_and_keys)
{
    static const char *const records[] = {
        "not json",
        "{\"text\": \"x\"}",
        "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
        "\"b\", \"original_confidence\": 1.7, \"feedback_type\": "
        "\"correction\"}",
        "{\"text\": \"x\", \"original_intent\": \"a\", \"correct_intent\": "
        "\"b\", \"original_confidence\": 0.5, \"feedback_type\": "
        "\"correction\", \"colour\": 1}",
    };
    static const char lines[] = "{\"text\": 5}\nnot json\n\n" RECORD "\n";
    static const char csv[] = "text,nonsense\nx,y\n";
    char *dir = tt_test_dir(), url[600], id[TC_FEEDBACK_ID_MAX + 1];
    char key[16];
    tc_import_report *rep = NULL;
    tc_cache *h;
    FILE *in;
    size_t i;

    snprintf(url, sizeof(url), "lmdb://%s/store", dir);
    h = open_url(url, dir, NULL);
    for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
        ck_assert_int_eq(tc_feedback_submit_json(id, NULL, h, records[i],
                                                 strlen(records[i])),
                         TC_EINVAL);
        assert_single(records[i], tc_errmsg());
    }
    in = fmemopen((void *)lines, strlen(lines), "r");
    ck_assert_int_eq(
        tc_feedback_import(&rep, h, in, TC_IMPORT_JSONL, 1, NULL, NULL), TC_OK);
    fclose(in);
    ck_assert_uint_eq(rep->nrejections, 2);
    for (i = 0; i < rep->nrejections; i++) {
        assert_single("import line", rep->rejections[i].reason);
    }
    tc_import_report_free(rep);
    rep = NULL;
    in = fmemopen((void *)csv, strlen(csv), "r");
    ck_assert_int_eq(
        tc_feedback_import(&rep, h, in, TC_IMPORT_CSV, 1, NULL, NULL),
        TC_EINVAL);
    fclose(in);
    assert_single("CSV header", tc_errmsg());
    /* a key buffer too short, a namespace that is not there */
    ck_assert_int_ne(tc_cache_key(key, sizeof(key), h, NS, "k", 1), TC_OK);
    assert_single("key buffer", tc_errmsg());
    ck_assert_int_eq(tc_cache_set(h, "nowhere", "k", 1, "v", 1, 0), TC_ENONS);
    assert_single("namespace", tc_errmsg());
    assert_details_single("lmdb");
    tc_cache_close(h);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_errmsg(void)
{
    Suite *s = suite_create("errmsg");
    TCase *tc = tcase_create("no_doubled_words");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_config_and_url);
    tcase_add_test(tc, test_redis_closed);
    tcase_add_test(tc, test_redis_oom);
    tcase_add_test(tc, test_model_file);
    tcase_add_test(tc, test_feedback_and_keys);
    suite_add_tcase(s, tc);
    return s;
}
