/*
 * check_feedback_redis.c - feedback through the public API on a real
 * Redis: a correction overrides classify in a second handle, and a server
 * killed in the middle of an import and restarted ends with every
 * accepted record stored exactly once (the spool replayed, by id).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

static char *dir;
static trs *srv;

static void setup(void)
{
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    /* appendfsync always: what Redis acknowledged survives a SIGKILL */
    srv = trs_start("appendonly yes\nappendfsync always\n");
    ck_assert_msg(srv != NULL, "redis-server did not start");
}

static void teardown(void)
{
    trs_stop(srv);
    tt_rmtree(dir);
    free(dir);
}

/* A handle on the suite's Redis whose commands time out after cmd_ms. */
static tc_cache *open_redis_ms(int cmd_ms)
{
    char cfg[700];
    tc_options o;
    tc_cache *h = NULL;
    FILE *f;

    snprintf(cfg, sizeof(cfg), "%s/cfg.json", dir);
    f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"spool_dir\":\"%s/spool\"}", dir);
    fclose(f);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = trs_url(srv);
    o.config_path = cfg;
    o.connect_timeout_ms = 100;
    o.command_timeout_ms = cmd_ms;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    return h;
}

static tc_cache *open_redis(void)
{
    return open_redis_ms(200);
}

START_TEST(test_override_across_handles)
{
    tc_cache *a = open_redis(), *b = open_redis();
    tc_classifier *cb;
    char id[TC_FEEDBACK_ID_MAX];
    const char *rec = TT_LOOP_CORRECTION;

    cb = tt_host_classifier(b);
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, a, rec, strlen(rec)),
                     TC_OK);
    ck_assert_uint_eq(strlen(id), 32); /* derived: 128 bits in hex */
    /* b never looked before: it reads the override from Redis */
    tt_expect_loop_corrected(cb);
    tc_classifier_close(cb);
    tc_cache_close(b);
    tc_cache_close(a);
}
END_TEST

/*
 * The same record twice is stored once, the second submission told so;
 * a caller's id names its own record. Submitted while Redis is down, the
 * record is spooled, and replayed once Redis is back: once, however often
 * it was spooled.
 */
START_TEST(test_duplicates_and_spool)
{
    tc_cache *h = open_redis();
    const char *rec =
        "{\"text\":\"What is a closure?\",\"original_intent\":\"a\","
        "\"correct_intent\":\"b\",\"original_confidence\":0.3,"
        "\"feedback_type\":\"correction\"}";
    const char *mine =
        "{\"text\":\"What is a closure?\",\"original_intent\":\"a\","
        "\"correct_intent\":\"b\",\"original_confidence\":0.3,"
        "\"feedback_type\":\"correction\",\"id\":\"ticket:42\"}";
    const char *down = "{\"text\":\"spooled one\",\"original_intent\":\"a\","
                       "\"correct_intent\":\"b\",\"original_confidence\":0.3,"
                       "\"feedback_type\":\"correction\"}";
    char a[TC_FEEDBACK_ID_MAX], b[TC_FEEDBACK_ID_MAX], *len, *stats = NULL;
    int outcome = -1, i;
    uint64_t n = 0;
    FILE *devnull = fopen("/dev/null", "w");

    ck_assert_ptr_nonnull(devnull);
    ck_assert_int_eq(tc_feedback_submit_json(a, &outcome, h, rec, strlen(rec)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    ck_assert_int_eq(tc_feedback_submit_json(b, &outcome, h, rec, strlen(rec)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(
        tc_feedback_submit_json(b, &outcome, h, mine, strlen(mine)), TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    ck_assert_str_eq(b, "ticket:42");
    ck_assert_int_eq(
        tc_feedback_submit_json(b, &outcome, h, mine, strlen(mine)), TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    len = trs_cmd(srv, "XLEN tc:fb:stream");
    ck_assert_str_eq(len, "2");
    free(len);
    /* Redis down: spooled, twice (a client that retried) */
    trs_kill(srv);
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(
            tc_feedback_submit_json(a, &outcome, h, down, strlen(down)), TC_OK);
        ck_assert_int_eq(outcome, TC_FEEDBACK_SPOOLED);
    }
    ck_assert_int_eq(trs_restart(srv), 0);
    for (i = 0; i < 100; i++) {
        if (tc_feedback_stats_json(&stats, h) == TC_OK &&
            strstr(stats, "\"spooled\":0")) {
            break;
        }
        tc_free(stats);
        stats = NULL;
        usleep(100 * 1000);
    }
    ck_assert_msg(stats != NULL, "the spool was not replayed");
    ck_assert_ptr_nonnull(strstr(stats, "\"kept\":3"));
    ck_assert_ptr_nonnull(strstr(stats, "\"correction\":3"));
    tc_free(stats);
    ck_assert_int_eq(tc_feedback_export(h, devnull, &n), TC_OK);
    ck_assert_uint_eq(n, 3);
    /* and once more, now that it is stored: a duplicate */
    ck_assert_int_eq(
        tc_feedback_submit_json(b, &outcome, h, down, strlen(down)), TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    ck_assert_str_eq(a, b);
    fclose(devnull);
    tc_cache_close(h);
}
END_TEST

typedef struct importer {
    tc_cache *h;
    FILE *in;
    tc_import_report *rep;
    int rc;
    int killed;
    int stored_at_kill; /* the stream's length when Redis was killed */
} importer;

/*
 * The import's progress (every 1000 lines, on the import's thread): at
 * line 3000 two batches of 1024 are in Redis and the third is being read,
 * so the kill lands mid-import on any machine, however slow; a kill timed
 * from another thread could come after the last batch.
 */
static void kill_at_3000(void *ud, uint64_t lines)
{
    importer *im = ud;
    char *len;

    if (im->killed || lines < 3000) {
        return;
    }
    len = trs_cmd(srv, "XLEN tc:fb:stream");
    im->stored_at_kill = len ? atoi(len) : -1;
    free(len);
    trs_kill(srv);
    im->killed = 1;
}

static void *run_import(void *arg)
{
    importer *im = arg;

    im->rc = tc_feedback_import(&im->rep, im->h, im->in, TC_IMPORT_JSONL, 0,
                                kill_at_3000, im);
    return NULL;
}

START_TEST(test_killed_mid_import)
{
    enum { N = 10000 };
    /* batches that time out under load would be spooled before the kill,
     * which this test is not about: the kill itself fails them at once */
    tc_cache *h = open_redis_ms(2000);
    importer im;
    pthread_t th;
    char *buf = NULL, *line, *save = NULL, *seen;
    size_t size = 0, n = 0;
    uint64_t exported = 0;
    FILE *out;
    char *stats;
    cJSON *j;
    int i;

    im.in = tmpfile();
    ck_assert_ptr_nonnull(im.in);
    for (i = 0; i < N; i++) {
        fprintf(im.in,
                "{\"text\":\"question %d\",\"original_intent\":\"a\","
                "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                "\"feedback_type\":\"correction\"}\n",
                i);
    }
    rewind(im.in);
    im.h = h;
    im.rep = NULL;
    im.killed = 0;
    im.stored_at_kill = 0;
    /* Redis is killed once two import batches (1024 records each) are in
     * it (kill_at_3000): the later batches go to the spool, to be
     * replayed without duplicates once it is back. */
    ck_assert_int_eq(pthread_create(&th, NULL, run_import, &im), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(trs_restart(srv), 0);
    fclose(im.in);
    ck_assert_int_eq(im.rc, TC_OK);
    ck_assert_msg(im.killed, "the import never reported line 3000");
    ck_assert_int_ge(im.stored_at_kill, 2048);
    ck_assert_ptr_nonnull(im.rep);
    ck_assert_uint_eq(im.rep->accepted, N);
    ck_assert_uint_eq(im.rep->rejected, 0);
    /* the kill landed mid-import, or the test proves nothing */
    ck_assert_uint_gt(im.rep->spooled, 0);
    ck_assert_uint_lt(im.rep->spooled, N);
    tc_import_report_free(im.rep);
    /* the next call replays the spool (retry while Redis warms up) */
    for (i = 0; i < 100; i++) {
        if (tc_feedback_stats_json(&stats, h) == TC_OK) {
            j = cJSON_Parse(stats);
            tc_free(stats);
            ck_assert_ptr_nonnull(j);
            if (cJSON_GetObjectItem(j, "spooled")->valuedouble == 0 &&
                cJSON_GetObjectItem(j, "kept")->valuedouble == N) {
                cJSON_Delete(j);
                break;
            }
            cJSON_Delete(j);
        }
        usleep(100 * 1000);
    }
    ck_assert_msg(i < 100, "the spool was not replayed into Redis");
    /* every record exactly once */
    out = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(tc_feedback_export(h, out, &exported), TC_OK);
    fclose(out);
    ck_assert_uint_eq(exported, N);
    seen = calloc(N, 1);
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *r = cJSON_Parse(line);
        int q;

        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(sscanf(cJSON_GetObjectItem(r, "text")->valuestring,
                                "question %d", &q),
                         1);
        ck_assert_msg(q >= 0 && q < N && !seen[q], "question %d twice", q);
        seen[q] = 1;
        n++;
        cJSON_Delete(r);
    }
    ck_assert_uint_eq(n, N);
    free(seen);
    free(buf);
    tc_cache_close(h);
}
END_TEST

Suite *suite_feedback_redis(void)
{
    Suite *s = suite_create("feedback_redis");
    TCase *tc = tcase_create("feedback_redis");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_override_across_handles);
    tcase_add_test(tc, test_duplicates_and_spool);
    tcase_add_test(tc, test_killed_mid_import);
    suite_add_tcase(s, tc);
    suite_feedback_store(s);
    return s;
}
