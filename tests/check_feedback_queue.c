/*
 * check_feedback_queue.c - what happens to feedback once stored: the
 * retraining queue (consume, ack, claim, a consumer that dies), retention,
 * the spool that keeps records while the store cannot (through the
 * test-only fault hook), threads submitting at once, and failing
 * allocations. Part of the feedback suite (check_feedback.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "feedback_fixture.h"

/* ---- the retraining queue -------------------------------------------------
 */

/* n records of their own: "q0", "q1", ... on from the last call's. */
static void submit_n(tc_cache *h, int n)
{
    static int next;
    char json[256];

    for (int i = 0; i < n; i++) {
        snprintf(json, sizeof(json),
                 "{\"text\":\"q%d\",\"original_intent\":\"a\","
                 "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                 "\"feedback_type\":\"correction\"}",
                 next++);
        ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK);
    }
}

static tc_feedback_batch *consume(tc_cache *h, const char *who, size_t max,
                                  int64_t idle)
{
    tc_feedback_batch *b = NULL;

    ck_assert_msg(tc_feedback_consume(&b, h, who, max, idle) == TC_OK,
                  "consume: %s", tc_errmsg());
    ck_assert_ptr_nonnull(b);
    return b;
}

START_TEST(test_consume_ack_claim)
{
    tc_cache *h = fb_open(NULL);
    tc_feedback_batch *a, *b;
    char *s;

    submit_n(h, 5);
    a = consume(h, "A", 10, 50);
    ck_assert_uint_eq(a->n, 5);
    for (size_t i = 0; i < a->n; i++) {
        char text[32];

        fb_expect_id(a->ids[i]);
        ck_assert_ptr_nonnull(strstr(a->records[i], a->ids[i]));
        /* in the order they were stored */
        snprintf(text, sizeof(text), "\"text\":\"q%zu\"", i);
        ck_assert_ptr_nonnull(strstr(a->records[i], text));
    }
    ck_assert_int_eq(tc_feedback_ack(h, a->ids, 3), TC_OK);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "pending"), 2);
    ck_assert_int_eq(fb_stat_num(s, "queued"), 0);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 5);
    tc_free(s);
    /* within the idle time, nobody else gets A's two */
    b = consume(h, "B", 10, 60000);
    ck_assert_uint_eq(b->n, 0);
    tc_feedback_batch_free(b);
    tt_sleep_ms(80);
    b = consume(h, "B", 10, 50);
    ck_assert_uint_eq(b->n, 2);
    ck_assert_str_eq(b->ids[0], a->ids[3]);
    ck_assert_str_eq(b->ids[1], a->ids[4]);
    ck_assert_str_eq(b->records[0], a->records[3]);
    /* now with B: not with C, nor back with A, within the idle time */
    tc_feedback_batch_free(a);
    a = consume(h, "C", 10, 60000);
    ck_assert_uint_eq(a->n, 0);
    tc_feedback_batch_free(a);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK); /* again */
    tc_feedback_batch_free(b);
    tt_sleep_ms(80);
    b = consume(h, "D", 10, 50);
    ck_assert_uint_eq(b->n, 0);
    tc_feedback_batch_free(b);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "pending"), 0);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 5); /* acked records stay */
    tc_free(s);
    /* new records come after */
    submit_n(h, 3);
    b = consume(h, "D", 2, 50);
    ck_assert_uint_eq(b->n, 2);
    tc_feedback_batch_free(b);
    b = consume(h, "D", 2, 60000);
    ck_assert_uint_eq(b->n, 1);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_consume_args)
{
    tc_cache *h = fb_open(NULL);
    tc_feedback_batch *b = (tc_feedback_batch *)1;
    const char *bad[] = {"not an id"};

    ck_assert_int_eq(tc_feedback_consume(&b, h, "", 1, 0), TC_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(tc_feedback_consume(&b, h, "A", 0, 0), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_consume(&b, h, NULL, 1, 0), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_ack(h, bad, 1), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "ids[0]: not a feedback id");
    ck_assert_int_eq(tc_feedback_ack(h, NULL, 1), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_ack(h, NULL, 0), TC_OK);
    tc_feedback_batch_free(NULL);
    tc_import_report_free(NULL);
    tc_cache_close(h);
}
END_TEST

/*
 * A consumer process takes 3 records and dies without acknowledging
 * them: nobody gets them within the idle time, another consumer does
 * after it. The child reports the ids it took through a pipe.
 */
START_TEST(test_consumer_dies)
{
    tc_cache *h = fb_open(NULL);
    tc_feedback_batch *b;
    char ids[3][TC_FEEDBACK_ID_MAX];
    int fds[2], status;
    pid_t pid;

    submit_n(h, 5);
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char url[600];
        tc_options o;
        tc_cache *c = NULL;
        tc_feedback_batch *cb = NULL;
        char out[3][TC_FEEDBACK_ID_MAX];

        memset(out, 0, sizeof(out));
        close(fds[0]);
        snprintf(url, sizeof(url), "%s", fb_url());
        tc_options_init(&o);
        o.store_url = url;
        o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
        o.lmdb_map_bytes = (size_t)64 << 20;
        if (tc_cache_open(&c, &o) == TC_OK &&
            tc_feedback_consume(&cb, c, "doomed", 3, 0) == TC_OK &&
            cb->n == 3) {
            for (int i = 0; i < 3; i++) {
                snprintf(out[i], sizeof(out[i]), "%s", cb->ids[i]);
            }
        }
        /* killed: no ack, no close */
        _exit(write(fds[1], out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 1);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], ids, sizeof(ids)), (ssize_t)sizeof(ids));
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    for (int i = 0; i < 3; i++) {
        fb_expect_id(ids[i]);
    }
    /* the two the child did not take, and nothing of the child's */
    b = consume(h, "survivor", 10, 60000);
    ck_assert_uint_eq(b->n, 2);
    for (size_t i = 0; i < b->n; i++) {
        for (int k = 0; k < 3; k++) {
            ck_assert_str_ne(b->ids[i], ids[k]);
        }
    }
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    tt_sleep_ms(80);
    b = consume(h, "survivor", 10, 50);
    ck_assert_uint_eq(b->n, 3);
    for (int k = 0; k < 3; k++) {
        int found = 0;

        for (size_t i = 0; i < b->n; i++) {
            found += strcmp(b->ids[i], ids[k]) == 0;
        }
        ck_assert_msg(found == 1, "%s claimed %d times", ids[k], found);
    }
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

/* ---- retention --------------------------------------------------------------
 */

START_TEST(test_retention)
{
    tc_cache *h = fb_open("{\"feedback_retention\": 0.5}");
    tc_feedback_batch *b;
    char id[TC_FEEDBACK_ID_MAX], **lines, *s;
    size_t n;

    submit_n(h, 3);
    b = consume(h, "A", 1, 0); /* one of them pending */
    ck_assert_uint_eq(b->n, 1);
    tc_feedback_batch_free(b);
    ck_assert_uint_eq(fb_export_count(h), 3);
    tt_sleep_ms(700);
    /* nothing put since: reading trims all the same */
    ck_assert_uint_eq(fb_export_count(h), 0);
    ck_assert_int_eq(fb_submit(h, fb_base_json, id), TC_OK);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    fb_free_lines(lines, n);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 1);
    ck_assert_int_eq(fb_stat_num(s, "pending"), 0);
    ck_assert_int_eq(fb_stat_num(s, "queued"), 1);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 4); /* counts stay */
    tc_free(s);
    b = consume(h, "A", 10, 1);
    ck_assert_uint_eq(b->n, 1);
    ck_assert_str_eq(b->ids[0], id);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

/* Trimming by puts alone: old records go as new ones arrive. */
START_TEST(test_retention_by_put)
{
    tc_cache *h = fb_open("{\"feedback_retention\": 0.2}");
    tc__store *st = tc__cache_store(h->core);
    tc__fb_stats fs;
    tc__err err;

    submit_n(h, 10);
    tt_sleep_ms(300);
    submit_n(h, 1);
    ck_assert_int_eq(tc__fb_lmdb_ops.stats(st, &fs, &err), TC_OK);
    ck_assert_uint_eq(fs.kept, 1);
    ck_assert_uint_eq(fs.queued, 1);
    tc__fb_stats_release(&fs);
    tc_cache_close(h);
}
END_TEST

/* ---- the spool
 * ---------------------------------------------------------------- */

START_TEST(test_spool_replay)
{
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX], id2[TC_FEEDBACK_ID_MAX], **lines, *content;
    char want[1024], *s;
    size_t n;

    tc__feedback_set_fault(h, -1);
    {
        int spooled = -1;

        ck_assert_msg(tc_feedback_submit_json(id, &spooled, h, fb_base_json,
                                              strlen(fb_base_json)) == TC_OK,
                      "%s", tc_errmsg());
        ck_assert_int_eq(spooled, 1); /* the caller learns where it went */
    }
    fb_expect_id(id);
    content = fb_slurp(fb_spool_file("feedback.spool"));
    ck_assert_ptr_nonnull(strstr(content, id));
    ck_assert_ptr_nonnull(strchr(content, '\n'));
    ck_assert_str_eq(strchr(content, '\n'), "\n"); /* one whole line */
    free(content);
    /* still down: the next record joins it, in order */
    ck_assert_int_eq(
        fb_submit(h,
                  "{\"text\":\"second\",\"original_intent\":\"c\","
                  "\"correct_intent\":\"d\",\"original_confidence\":"
                  "0.5,\"feedback_type\":\"correction\"}",
                  id2),
        TC_OK);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "spooled"), 2);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 0);
    tc_free(s);
    ck_assert_uint_eq(fb_export_count(h), 0);
    /* back: the next call replays, exactly once */
    tc__feedback_set_fault(h, 0);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    ck_assert_ptr_nonnull(strstr(lines[1], id2));
    snprintf(want, sizeof(want), "{\"id\":\"%s\",", id);
    ck_assert_int_eq(strncmp(lines[0], want, strlen(want)), 0);
    fb_free_lines(lines, n);
    content = fb_slurp(fb_spool_file("feedback.spool"));
    ck_assert_str_eq(content, "");
    free(content);
    ck_assert_uint_eq(fb_export_count(h), 2);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 2);
    ck_assert_int_eq(fb_stat_num(s, "spooled"), 0);
    ck_assert_int_eq(fb_stat_num(s, "queued"), 2);
    tc_free(s);
    tc_cache_close(h);
}
END_TEST

/*
 * A replay that stopped half way leaves lines already stored in the
 * spool: replaying them again stores and counts nothing twice. A line
 * that is not a record goes to feedback.spool.bad.
 */
START_TEST(test_spool_duplicates_and_bad_line)
{
    tc_cache *h = fb_open(NULL);
    char id[TC_FEEDBACK_ID_MAX], old[64], **lines, *stored;
    char *content, *s;
    size_t n;
    FILE *f;

    ck_assert_int_eq(fb_submit(h, fb_base_json, id), TC_OK);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    stored = strdup(lines[0]);
    fb_free_lines(lines, n);
    /* a spooled record (so this process knows of the spool) */
    tc__feedback_set_fault(h, -1);
    ck_assert_int_eq(
        fb_submit(h,
                  "{\"text\":\"later\",\"original_intent\":\"c\","
                  "\"correct_intent\":\"c\",\"original_confidence\":"
                  "0.5,\"feedback_type\":\"confirmation\"}",
                  NULL),
        TC_OK);
    f = fopen(fb_spool_file("feedback.spool"), "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n{\"id\":\"garbage\n%s\n", stored, stored);
    /* a record spooled by some other process, with an id of before 0.2.0 */
    snprintf(old, sizeof(old), "1699999999999-00000000000000ff");
    fprintf(f,
            "{\"id\":\"%s\",\"text\":\"old\","
            "\"original_intent\":\"a\",\"correct_intent\":\"b\","
            "\"original_confidence\":0.5,\"feedback_type\":\"correction\","
            "\"timestamp\":\"2023-11-14T22:13:20.000Z\"}\n",
            old);
    fclose(f);
    tc__feedback_set_fault(h, 0);
    n = fb_export_all(h, &lines);
    /* each once, in the order they were stored */
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(lines[0], stored);
    ck_assert_ptr_nonnull(strstr(lines[1], "\"later\""));
    ck_assert_ptr_nonnull(strstr(lines[2], old));
    fb_free_lines(lines, n);
    content = fb_slurp(fb_spool_file("feedback.spool.bad"));
    ck_assert_str_eq(content, "{\"id\":\"garbage\n");
    free(content);
    content = fb_slurp(fb_spool_file("feedback.spool"));
    ck_assert_str_eq(content, "");
    free(content);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 2);
    ck_assert_int_eq(fb_stat_num(s, "confirmation"), 1);
    tc_free(s);
    free(stored);
    tc_cache_close(h);
}
END_TEST

/*
 * The store fails for one batch in the middle of an import: every record
 * is stored afterwards, exactly once, and the report says how many went
 * through the spool.
 */
START_TEST(test_spool_import)
{
    tc_cache *h = fb_open(NULL);
    size_t total = TC__FB_BATCH * 2 + 100, cap = total * 200, o = 0;
    char *text = malloc(cap), **lines, *s;
    tc_import_report *r;
    size_t n;

    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < total; i++) {
        o += (size_t)snprintf(text + o, cap - o,
                              "{\"text\":\"q%zu\",\"original_intent\":\"a\","
                              "\"correct_intent\":\"b\","
                              "\"original_confidence\":0.5,"
                              "\"feedback_type\":\"correction\"}\n",
                              i);
    }
    tc__feedback_set_fault(h, 1);
    r = fb_import_text(h, text, TC_IMPORT_JSONL, 0);
    ck_assert_uint_eq(r->accepted, total);
    ck_assert_uint_eq(r->spooled, TC__FB_BATCH);
    tc_import_report_free(r);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, total);
    {
        char *seen = calloc(total, 1);

        ck_assert_ptr_nonnull(seen);
        for (size_t i = 0; i < n; i++) {
            size_t q = total;

            ck_assert_int_eq(
                sscanf(strstr(lines[i], "\"text\":\"q"), "\"text\":\"q%zu", &q),
                1);
            ck_assert_msg(q < total && !seen[q], "q%zu twice", q);
            seen[q] = 1;
        }
        free(seen);
    }
    fb_free_lines(lines, n);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), (long long)total);
    ck_assert_int_eq(fb_stat_num(s, "queued"), (long long)total);
    ck_assert_int_eq(fb_stat_num(s, "spooled"), 0);
    tc_free(s);
    free(text);
    tc_cache_close(h);
}
END_TEST

/* No spool directory to fall back on: the record is not accepted. */
START_TEST(test_spool_unwritable)
{
    tc_cache *h;
    char cfg[700], id[TC_FEEDBACK_ID_MAX] = "x";
    FILE *f;

    /* a spool_dir below a regular file can never be created */
    f = fopen(fb_path("file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(cfg, sizeof(cfg), "{\"spool_dir\": \"%s/file/spool\"}", fb_dir());
    h = fb_open(cfg);
    tc__feedback_set_fault(h, -1);
    ck_assert_int_eq(fb_submit(h, fb_base_json, id), TC_EIO);
    ck_assert_str_eq(id, "");
    ck_assert_msg(strstr(tc_errmsg(), "spool") != NULL, "%s", tc_errmsg());
    tc__feedback_set_fault(h, 0);
    ck_assert_uint_eq(fb_export_count(h), 0);
    tc_cache_close(h);
}
END_TEST

/* Submits fb_base_json to h, whose store is down: it is spooled; id
 * (TC_FEEDBACK_ID_MAX) receives its id, spool (800) the spool file. */
static void spool_one(tc_cache *h, char *id, char *spool)
{
    int spooled = -1;

    ck_assert_msg(tc_feedback_submit_json(id, &spooled, h, fb_base_json,
                                          strlen(fb_base_json)) == TC_OK,
                  "%s", tc_errmsg());
    ck_assert_int_eq(spooled, 1);
    snprintf(spool, 800, "%s", fb_spool_file("feedback.spool"));
}

/* A record submitted to h is the only one h's store holds: the record
 * id, spooled for another store in the file other, is not replayed into
 * it, and still waits there. */
static void only_own_record(tc_cache *h, const char *id, const char *other)
{
    char mine[TC_FEEDBACK_ID_MAX], **lines, *content;
    size_t n;

    ck_assert_int_eq(
        fb_submit(h,
                  "{\"text\":\"mine\",\"original_intent\":\"c\","
                  "\"correct_intent\":\"d\",\"original_confidence\":"
                  "0.5,\"feedback_type\":\"correction\"}",
                  mine),
        TC_OK);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], mine));
    fb_free_lines(lines, n);
    content = fb_slurp(other);
    ck_assert_ptr_nonnull(strstr(content, id));
    free(content);
    ck_assert_str_ne(fb_spool_file("feedback.spool"), other);
}

/*
 * A spool is its store's (issue 14): a record spooled while another store
 * was down (a Redis on a port nobody listens on: refused, for real) waits
 * in that store's spool. A handle on this store neither replays it into
 * its own store nor takes it from the other's. With one default spool for
 * every network store, the cluster stored it: the export held 401 records
 * of the 400 a test had submitted.
 */
START_TEST(test_spool_per_store)
{
    char url[64], id[TC_FEEDBACK_ID_MAX], down_spool[800];
    tc_cache *down, *h;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", tt_free_port());
    down = fb_open_url(url, NULL);
    spool_one(down, id, down_spool);
    h = fb_open(NULL);
    only_own_record(h, id, down_spool);
    /* under the state directory, in a directory of the store's own */
    ck_assert_msg(strncmp(down_spool, fb_path("state/tutorcache/spool/redis-"),
                          strlen(fb_path("state/tutorcache/spool/redis-"))) ==
                      0,
                  "%s", down_spool);
    tc_cache_close(h);
    tc_cache_close(down);
}
END_TEST

/* The default spool dir of url ("" for none; a static buffer). */
static const char *spool_of(const char *url)
{
    static char dir[800];
    tc_options o;
    tc__config c;
    tc__err err;

    tc_options_init(&o);
    o.store_url = url;
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    ck_assert_msg(tc__config_load(&c, &o, &err) == TC_OK, "%s: %s", url,
                  err.msg);
    snprintf(dir, sizeof(dir), "%s", c.spool_dir ? c.spool_dir : "");
    tc__config_free(&c);
    return dir;
}

static void expect_prefix(const char *s, const char *prefix)
{
    ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0, "%s is not in %s", s,
                  prefix);
}

/* One default spool per store: its address, not its credentials or
 * options, and a cluster's seeds in any order. */
START_TEST(test_spool_dirs)
{
    char a[800], *home;

    snprintf(a, sizeof(a), "%s", spool_of("redis://127.0.0.1:6379/0"));
    ck_assert_str_eq(spool_of("redis://u:pw@127.0.0.1:6379/0?tracking=off"), a);
    ck_assert_str_ne(spool_of("redis://127.0.0.1:6380/0"), a);
    ck_assert_str_ne(spool_of("redis://127.0.0.1:6379/1"), a);
    ck_assert_str_ne(spool_of("redis://127.0.0.2:6379/0"), a);
    ck_assert_str_ne(spool_of("unix:///tmp/r.sock"), a);
    snprintf(a, sizeof(a), "%s", spool_of("unix:///tmp/r.sock"));
    ck_assert_str_ne(spool_of("unix:///tmp/s.sock"), a);
    snprintf(a, sizeof(a), "%s",
             spool_of("redis-cluster://127.0.0.1:7000,127.0.0.1:7001"));
    ck_assert_str_eq(spool_of("redis-cluster://127.0.0.1:7001,127.0.0.1:7000"),
                     a);
    ck_assert_str_ne(spool_of("redis-cluster://127.0.0.1:7000"), a);
    expect_prefix(a, fb_path("state/tutorcache/spool/redis-cluster-"));
    expect_prefix(spool_of("unix:///tmp/r.sock"),
                  fb_path("state/tutorcache/spool/unix-"));
    snprintf(a, sizeof(a), "lmdb://%s/x", fb_dir());
    ck_assert_str_eq(spool_of(a), fb_path("x/spool"));
    /* no state directory: under the home's; neither: none */
    home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    unsetenv("XDG_STATE_HOME");
    ck_assert_int_eq(setenv("HOME", fb_path("home"), 1), 0);
    expect_prefix(spool_of("redis://127.0.0.1:6379/0"),
                  fb_path("home/.local/state/tutorcache/spool/redis-"));
    unsetenv("HOME");
    ck_assert_str_eq(spool_of("redis://127.0.0.1:6379/0"), "");
    if (home) {
        setenv("HOME", home, 1);
    }
    free(home);
}
END_TEST

/*
 * With a feedback_store, the spool is that store's, not the cache's: a
 * record spooled for it is not replayed into the cache's LMDB by the
 * next handle on that LMDB alone, which used to share its spool.
 */
START_TEST(test_spool_of_feedback_store)
{
    char cfg[128], id[TC_FEEDBACK_ID_MAX], fb_spool[800];
    tc_cache *h;

    snprintf(cfg, sizeof(cfg), "{\"feedback_store\": \"redis://127.0.0.1:%d\"}",
             tt_free_port());
    h = fb_open(cfg);
    spool_one(h, id, fb_spool);
    tc_cache_close(h);
    h = fb_open(NULL); /* the same LMDB, feedback kept there */
    only_own_record(h, id, fb_spool);
    tc_cache_close(h);
}
END_TEST

/* ---- threads and allocation failures ------------------------------------- */

typedef struct worker {
    tc_cache *h;
    int id;
    int fails;
    char ids[100][TC_FEEDBACK_ID_MAX];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char json[256];

    for (int i = 0; i < 100; i++) {
        snprintf(json, sizeof(json),
                 "{\"text\":\"t%d-%d\",\"original_intent\":\"a\","
                 "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                 "\"feedback_type\":\"correction\"}",
                 w->id, i);
        if (tc_feedback_submit_json(w->ids[i], NULL, w->h, json,
                                    strlen(json)) != TC_OK) {
            w->fails++;
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    tc_cache *h = fb_open(NULL);
    pthread_t th[4];
    worker *w = calloc(4, sizeof(*w));
    char *s;

    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 4; i++) {
        w[i].h = h;
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].fails, 0);
    }
    ck_assert_uint_eq(fb_export_count(h), 400);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 400);
    tc_free(s);
    free(w);
    tc_cache_close(h);
}
END_TEST

static int ok_or_nomem(int rc)
{
    return rc == TC_OK || rc == TC_ENOMEM;
}

/*
 * The n-th allocation of a sequence of feedback calls fails, for every n
 * until a run completes: each call returns its result or TC_ENOMEM, and
 * nothing is left allocated once the handle is closed.
 */
START_TEST(test_alloc_failures)
{
    static const char csv[] =
        "text,original_intent,correct_intent,original_confidence,"
        "feedback_type,correct_techniques\n\"a, b\",x,y,0.5,correction,p|q\n"
        "c,x,x,0.5,confirmation,\n";
    long n;
    int done = 0;

    for (n = 1; !done && n < 5000; n++) {
        tc_cache *h = NULL;
        char id[TC_FEEDBACK_ID_MAX], *s = NULL;
        tc_import_report *r = NULL;
        tc_feedback_batch *b = NULL;
        FILE *f;
        uint64_t cnt;
        int rc;

        /* the suites' counting allocator (tt_alloc.c): opening and
         * closing the handle never fail, the calls between do */
        tt_alloc_install(n, 0);
        tt_alloc_pause(1);
        h = fb_open(NULL);
        tt_alloc_pause(0);
        ck_assert(ok_or_nomem(fb_submit(h, fb_base_json, id)));
        rc = fb_submit(h, "{\"text\":1}", id);
        ck_assert(rc == TC_EINVAL || rc == TC_ENOMEM);
        f = fmemopen((void *)csv, strlen(csv), "r");
        ck_assert(ok_or_nomem(
            tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, NULL, NULL)));
        fclose(f);
        tc_import_report_free(r);
        ck_assert(ok_or_nomem(tc_feedback_stats_json(&s, h)));
        tc_free(s);
        ck_assert(ok_or_nomem(tc_feedback_consume(&b, h, "A", 10, 0)));
        if (b && b->n > 0) {
            ck_assert(ok_or_nomem(tc_feedback_ack(h, b->ids, b->n)));
        }
        tc_feedback_batch_free(b);
        f = tmpfile();
        ck_assert(ok_or_nomem(tc_feedback_export(h, f, &cnt)));
        fclose(f);
        done = !tt_alloc_injected();
        tt_alloc_pause(1);
        tc_cache_close(h);
        ck_assert_msg(tt_alloc_live() == 0,
                      "failing allocation %ld: %ld blocks leaked", n,
                      tt_alloc_live());
        tt_alloc_restore();
        tt_rmtree(fb_path("db"));
    }
    ck_assert_msg(done, "never ran without a failure");
}
END_TEST

void suite_feedback_queue(Suite *su)
{
    fb_add(su, "consume_ack_claim", test_consume_ack_claim);
    fb_add(su, "consume_args", test_consume_args);
    fb_add(su, "consumer_dies", test_consumer_dies);
    fb_add(su, "retention", test_retention);
    /* LMDB only: it reads the LMDB store's own stats (tc__fb_lmdb_ops) */
    fb_add_lmdb(su, "retention_by_put", test_retention_by_put);
    fb_add(su, "spool_replay", test_spool_replay);
    fb_add(su, "spool_duplicates_and_bad_line",
           test_spool_duplicates_and_bad_line);
    fb_add(su, "spool_import", test_spool_import);
    fb_add(su, "spool_unwritable", test_spool_unwritable);
    fb_add(su, "spool_per_store", test_spool_per_store);
    /* configurations only: no store is opened */
    fb_add_lmdb(su, "spool_dirs", test_spool_dirs);
    /* LMDB only: its cache is the LMDB, its feedback_store a Redis */
    fb_add_lmdb(su, "spool_of_feedback_store", test_spool_of_feedback_store);
    fb_add(su, "threads", test_threads);
    fb_add(su, "alloc_failures", test_alloc_failures);
}
