/*
 * check_feedback_spool.c - the spool that keeps feedback while the store
 * cannot: replayed once, in order, without duplicates (through the
 * test-only fault hook, and for real: a Redis that refuses, a cluster
 * whose nodes are paused); a spool per store, so that no store's records
 * are replayed into another's. Part of the feedback suite, added by
 * check_feedback_queue.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache_fixture.h"
#include "feedback_fixture.h"

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

/*
 * The cluster itself stops answering (every node paused, longer than the
 * handle's command timeout): the record is spooled, not lost nor an
 * error, as on a single Redis; once the nodes answer again the next call
 * replays it, and it is stored once, also if the paused put ran late.
 */
START_TEST(test_spool_cluster_paused)
{
    tc_options o;
    tc_cache *h = NULL;
    char id[TC_FEEDBACK_ID_MAX], spool[800], **lines, *content;
    int spooled = -1;
    size_t n;

    tc_options_init(&o);
    o.store_url = fb_url();
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.command_timeout_ms = 200;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    free(bk_cluster_cmd("CLIENT PAUSE %s", "1500"));
    ck_assert_msg(tc_feedback_submit_json(id, &spooled, h, fb_base_json,
                                          strlen(fb_base_json)) == TC_OK,
                  "%s", tc_errmsg());
    ck_assert_int_eq(spooled, 1);
    snprintf(spool, sizeof(spool), "%s/feedback.spool", h->fb->cfg->spool_dir);
    content = fb_slurp(spool);
    ck_assert_ptr_nonnull(strstr(content, id));
    free(content);
    tt_sleep_ms(1600);
    free(bk_cluster_cmd("CLIENT UNPAUSE", NULL));
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    fb_free_lines(lines, n);
    content = fb_slurp(spool);
    ck_assert_str_eq(content, "");
    free(content);
    tc_cache_close(h);
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

static int orphan_lines;

static void count_orphans(void *ud, tc_log_level level, const char *json)
{
    (void)ud;
    if (level == TC_LOG_WARN && strstr(json, "\"feedback_spool_orphaned\"") &&
        strstr(json, "feedback import")) {
        orphan_lines++;
    }
}

/*
 * The spool every Redis store shared before each had its own holds a
 * record: a handle on the cluster says so once when it opens, and does
 * not replay it (no one knows the store it was meant for).
 */
START_TEST(test_spool_orphans)
{
    char shared[800], **lines, *content;
    tc_options o;
    tc_cache *h = NULL;
    size_t n;

    ck_assert_int_eq(mkdir(fb_path("state"), 0700), 0);
    ck_assert_int_eq(mkdir(fb_path("state/tutorcache"), 0700), 0);
    ck_assert_int_eq(mkdir(fb_path("state/tutorcache/spool"), 0700), 0);
    snprintf(shared, sizeof(shared), "%s",
             fb_path("state/tutorcache/spool/feedback.spool"));
    tt_write_file(
        shared,
        "{\"id\":\"1699999999999-00000000000000ff\",\"text\":"
        "\"old\",\"original_intent\":\"a\",\"correct_intent\":"
        "\"b\",\"original_confidence\":0.5,\"feedback_type\":"
        "\"correction\",\"timestamp\":\"2023-11-14T22:13:20.000Z\"}\n",
        0600);
    tc_options_init(&o);
    o.store_url = fb_url();
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.log_fn = count_orphans;
    orphan_lines = 0;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    ck_assert_int_eq(orphan_lines, 1);
    ck_assert_int_eq(fb_submit(h, fb_base_json, NULL), TC_OK);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_null(strstr(lines[0], "00000000000000ff"));
    fb_free_lines(lines, n);
    content = fb_slurp(shared);
    ck_assert_ptr_nonnull(strstr(content, "00000000000000ff"));
    free(content);
    tc_cache_close(h);
    /* an empty one is nothing to say */
    tt_write_file(shared, "", 0600);
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    tc_cache_close(h);
    ck_assert_int_eq(orphan_lines, 1);
}
END_TEST

void suite_feedback_spool(Suite *su)
{
    fb_add(su, "spool_replay", test_spool_replay);
    fb_add(su, "spool_duplicates_and_bad_line",
           test_spool_duplicates_and_bad_line);
    fb_add(su, "spool_import", test_spool_import);
    fb_add(su, "spool_unwritable", test_spool_unwritable);
    fb_add(su, "spool_per_store", test_spool_per_store);
    fb_add_cluster(su, "spool_cluster_paused_cluster",
                   test_spool_cluster_paused);
    fb_add_cluster(su, "spool_orphans_cluster", test_spool_orphans);
    /* configurations only: no store is opened */
    fb_add_lmdb(su, "spool_dirs", test_spool_dirs);
    /* LMDB only: its cache is the LMDB, its feedback_store a Redis */
    fb_add_lmdb(su, "spool_of_feedback_store", test_spool_of_feedback_store);
}
