/*
 * check_cluster_fb.c - feedback on a Redis Cluster, through the public
 * API: a correction submitted by one handle overrides another handle's
 * classification, an import with a duplicate stores each record once,
 * and export, consume, ack and stats read what was stored; the keys are
 * checked on the master of the {tc:fb} slot itself. Part of the cluster
 * suite (check_cluster_ops.c adds these to its case and cluster).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <hiredis/hiredis.h>

#include "check_cluster.h"
#include "tutorcache.h"

#define TIMEOUT_MS 250

static tc_cache *open_cluster(void)
{
    tc_options o;
    tc_cache *h = NULL;

    ck_assert_ptr_nonnull(ccl);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = tcl_url(ccl);
    o.command_timeout_ms = o.connect_timeout_ms = TIMEOUT_MS;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    return h;
}

/* What the master of the feedback slot answers to a command. */
static char *on_fb_master(const char *cmd, const char *key)
{
    int m = tcl_master_of(ccl, (unsigned)tcl_keyslot(ccl, "{tc:fb}:stream"));

    ck_assert_int_ge(m, 0);
    return trs_cmd(tcl_node(ccl, m), "%s %s", cmd, key);
}

START_TEST(test_fb_override)
{
    tc_cache *a = open_cluster(), *b = open_cluster();
    tc_classifier *cb;
    char id[TC_FEEDBACK_ID_MAX], key[128], *v;
    int outcome = -1;
    static const char rec[] = TT_LOOP_CORRECTION;

    cb = tt_host_classifier(b);
    ck_assert_msg(
        tc_feedback_submit_json(id, &outcome, a, rec, sizeof(rec) - 1) == TC_OK,
        "submit: %s", tc_errmsg());
    ck_assert_int_eq(outcome, TC_FEEDBACK_STORED);
    /* b never looked before: it reads the override from the cluster */
    tt_expect_loop_corrected(cb);
    /* the same record again is a duplicate, told so */
    ck_assert_int_eq(
        tc_feedback_submit_json(id, &outcome, a, rec, sizeof(rec) - 1), TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_DUPLICATE);
    /* on the slot's master, under the hash tag */
    snprintf(key, sizeof(key), "{tc:fb}:seen:%s", id);
    v = on_fb_master("EXISTS", key);
    ck_assert_str_eq(v, "1");
    free(v);
    tc_classifier_close(cb);
    tc_cache_close(b);
    tc_cache_close(a);
}
END_TEST

typedef struct tally {
    size_t n;
    char first[TC_FEEDBACK_ID_MAX];
} tally;

START_TEST(test_fb_import_export)
{
    static const char lines[] =
        "{\"id\":\"cl-1\",\"text\":\"what is a pointer\",\"original_intent\":"
        "\"definition\",\"correct_intent\":\"explanation\","
        "\"original_confidence\":0.6,\"feedback_type\":\"correction\"}\n"
        "{\"id\":\"cl-2\",\"text\":\"my code segfaults\",\"original_intent\":"
        "\"debugging\",\"correct_intent\":\"debugging\","
        "\"original_confidence\":0.9,\"feedback_type\":\"confirmation\"}\n"
        "{\"id\":\"cl-1\",\"text\":\"what is a pointer\",\"original_intent\":"
        "\"definition\",\"correct_intent\":\"explanation\","
        "\"original_confidence\":0.6,\"feedback_type\":\"correction\"}\n"
        "not json\n";
    tc_cache *h = open_cluster();
    tc_import_report *rep = NULL;
    tc_feedback_batch *bt = NULL;
    char *stats = NULL, *out = NULL, *v;
    size_t outlen = 0;
    uint64_t count = 0;
    FILE *in = fmemopen((void *)lines, sizeof(lines) - 1, "r"), *ex;

    ck_assert_ptr_nonnull(in);
    ck_assert_msg(tc_feedback_import(&rep, h, in, TC_IMPORT_JSONL, 0, NULL,
                                     NULL) == TC_OK,
                  "import: %s", tc_errmsg());
    fclose(in);
    ck_assert_uint_eq(rep->accepted, 2);
    ck_assert_uint_eq(rep->duplicates, 1);
    ck_assert_uint_eq(rep->rejected, 1);
    ck_assert_uint_eq(rep->spooled, 0);
    tc_import_report_free(rep);
    v = on_fb_master("XLEN", "{tc:fb}:stream");
    ck_assert_int_ge(atoi(v), 2);
    free(v);

    ex = open_memstream(&out, &outlen);
    ck_assert_int_eq(tc_feedback_export(h, ex, &count), TC_OK);
    fclose(ex);
    ck_assert_uint_ge(count, 2);
    ck_assert_ptr_nonnull(strstr(out, "cl-1"));
    ck_assert_ptr_nonnull(strstr(out, "cl-2"));
    ck_assert_ptr_null(strstr(strstr(out, "cl-1") + 1, "\"cl-1\""));
    free(out);

    ck_assert_int_eq(tc_feedback_consume(&bt, h, "trainer", 100, 0), TC_OK);
    ck_assert_uint_ge(bt->n, 2);
    ck_assert_int_eq(tc_feedback_ack(h, bt->ids, bt->n), TC_OK);
    tc_feedback_batch_free(bt);
    ck_assert_int_eq(tc_feedback_stats_json(&stats, h), TC_OK);
    ck_assert_ptr_nonnull(strstr(stats, "\"pending\":0"));
    ck_assert_ptr_nonnull(strstr(stats, "\"queued\":0"));
    ck_assert_ptr_nonnull(strstr(stats, "\"original\":\"definition\""));
    tc_free(stats);
    tc_cache_close(h);
}
END_TEST

/*
 * A purge on the cluster: the user's record leaves the {tc:fb} stream, its
 * seen key and the group's pending list (it was delivered, not acked), and
 * its override goes; the other user's record and override stay; a second
 * purge removes 0.
 */
START_TEST(test_fb_purge)
{
    static const char rec1[] =
        "{\"id\":\"cp-1\",\"text\":\"purge me please\",\"original_intent\":"
        "\"explanation\",\"correct_intent\":\"debugging\",\"user_id\":\"cpu1\","
        "\"original_confidence\":0.7,\"feedback_type\":\"correction\"}";
    static const char rec2[] =
        "{\"id\":\"cp-2\",\"text\":\"keep me please\",\"original_intent\":"
        "\"explanation\",\"correct_intent\":\"debugging\",\"user_id\":\"cpu2\","
        "\"original_confidence\":0.7,\"feedback_type\":\"correction\"}";
    tc_cache *h = open_cluster();
    tc_classifier *c;
    tc_feedback_batch *bt = NULL;
    tc_result *r;
    char id[TC_FEEDBACK_ID_MAX], *v;
    uint64_t removed = 9;
    int outcome;

    ck_assert_int_eq(
        tc_feedback_submit_json(id, &outcome, h, rec1, sizeof(rec1) - 1),
        TC_OK);
    ck_assert_int_eq(
        tc_feedback_submit_json(id, &outcome, h, rec2, sizeof(rec2) - 1),
        TC_OK);
    ck_assert_int_eq(tc_feedback_consume(&bt, h, "purger", 1000, 0), TC_OK);
    for (size_t i = 0; i < bt->n; i++) {
        if (strcmp(bt->ids[i], "cp-1") != 0) {
            ck_assert_int_eq(tc_feedback_ack(h, &bt->ids[i], 1), TC_OK);
        }
    }
    tc_feedback_batch_free(bt);
    ck_assert_msg(tc_feedback_purge(&removed, h, "cpu1", NULL, NULL) == TC_OK,
                  "purge: %s", tc_errmsg());
    ck_assert_uint_eq(removed, 1);
    /* cp-1 was delivered and not acknowledged: its pending entry went */
    ck_assert_int_eq(tc_feedback_stats_json(&v, h), TC_OK);
    ck_assert_msg(strstr(v, "\"pending\":0"), "%s", v);
    tc_free(v);
    v = on_fb_master("EXISTS", "{tc:fb}:seen:cp-1");
    ck_assert_str_eq(v, "0");
    free(v);
    v = on_fb_master("EXISTS", "{tc:fb}:seen:cp-2");
    ck_assert_str_eq(v, "1");
    free(v);
    c = tt_host_classifier(h);
    ck_assert_int_eq(tc_classify(&r, c, "purge me please", 15), TC_OK);
    ck_assert_int_ne(r->source, TC_SOURCE_FEEDBACK);
    tc_result_free(r);
    ck_assert_int_eq(tc_classify(&r, c, "keep me please", 14), TC_OK);
    ck_assert_int_eq(r->source, TC_SOURCE_FEEDBACK);
    tc_result_free(r);
    tc_classifier_close(c);
    ck_assert_int_eq(tc_feedback_purge(&removed, h, "cpu1", NULL, NULL), TC_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(tc_feedback_purge(&removed, h, NULL, NULL, NULL),
                     TC_EINVAL);
    tc_cache_close(h);
}
END_TEST

/*
 * Moves every key of slot from master src to master dst, as a reshard
 * does (IMPORTING, MIGRATING, MIGRATE in batches, then the slot given to
 * dst on every node), and waits for the cluster to settle.
 */
static void move_slot(int slot, int src, int dst)
{
    char *src_id = trs_cmd(tcl_node(ccl, src), "CLUSTER MYID");
    char *dst_id = trs_cmd(tcl_node(ccl, dst), "CLUSTER MYID");
    redisContext *c = redisConnect("127.0.0.1", trs_port(tcl_node(ccl, src)));
    redisReply *keys, *r;
    char port[16];

    ck_assert_ptr_nonnull(src_id);
    ck_assert_ptr_nonnull(dst_id);
    ck_assert_msg(c && !c->err, "connect to node %d", src);
    free(trs_cmd(tcl_node(ccl, dst), "CLUSTER SETSLOT %d IMPORTING %s", slot,
                 src_id));
    free(trs_cmd(tcl_node(ccl, src), "CLUSTER SETSLOT %d MIGRATING %s", slot,
                 dst_id));
    snprintf(port, sizeof(port), "%d", trs_port(tcl_node(ccl, dst)));
    while ((keys = redisCommand(c, "CLUSTER GETKEYSINSLOT %d 500", slot)) &&
           keys->type == REDIS_REPLY_ARRAY && keys->elements > 0) {
        size_t n = 8 + keys->elements;
        const char **argv = calloc(n, sizeof(*argv));
        const char *head[] = {"MIGRATE", "127.0.0.1", port,      "",
                              "0",       "5000",      "REPLACE", "KEYS"};

        ck_assert_ptr_nonnull(argv);
        memcpy(argv, head, sizeof(head));
        for (size_t i = 0; i < keys->elements; i++) {
            argv[8 + i] = keys->element[i]->str;
        }
        r = redisCommandArgv(c, (int)n, argv, NULL);
        ck_assert_msg(r && r->type == REDIS_REPLY_STATUS, "MIGRATE: %s",
                      r && r->str ? r->str : "no reply");
        freeReplyObject(r);
        free(argv);
        freeReplyObject(keys);
    }
    freeReplyObject(keys);
    redisFree(c);
    for (int i = 0; i < TCL_NODES; i++) {
        /* replicas may refuse; the masters matter */
        free(trs_cmd(tcl_node(ccl, i), "CLUSTER SETSLOT %d NODE %s", slot,
                     dst_id));
    }
    ck_assert_int_eq(tcl_wait_ok(ccl, 10000), 0);
    free(src_id);
    free(dst_id);
}

/* An export's FILE that moves the feedback slot once the first page of
 * records (1000, redis_fb.c's PAGE) has been written to it. */
typedef struct mover {
    int lines, moved;
} mover;

static ssize_t mover_write(void *cookie, const char *buf, size_t n)
{
    mover *m = cookie;

    for (size_t i = 0; i < n; i++) {
        m->lines += buf[i] == '\n';
    }
    if (!m->moved && m->lines >= 1000) {
        int slot = tcl_keyslot(ccl, "{tc:fb}:stream");
        int src = tcl_master_of(ccl, (unsigned)slot);

        ck_assert_int_ge(src, 0);
        move_slot(slot, src, ccl_other_master(src));
        m->moved = 1;
    }
    return (ssize_t)n;
}

/*
 * The feedback slot moves to another master between two pages of an
 * export: the export follows MOVED and goes on where it was, each record
 * written once. Retried from the start, it wrote the first page twice.
 */
START_TEST(test_fb_export_slot_moved)
{
    size_t total = 1200, len = 0;
    char *text = NULL;
    tc_cache *h = open_cluster();
    tc_import_report *rep = NULL;
    cookie_io_functions_t io = {.write = mover_write};
    mover m = {0, 0};
    uint64_t count = 0;
    FILE *in, *out;

    /* confirmations: records with no override, one key each */
    in = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < total; i++) {
        fprintf(in,
                "{\"id\":\"mv-%zu\",\"text\":\"moved %zu\",\"original_intent\":"
                "\"a\",\"correct_intent\":\"a\",\"original_confidence\":0.5,"
                "\"feedback_type\":\"confirmation\"}\n",
                i, i);
    }
    fclose(in);
    in = fmemopen(text, len, "r");
    ck_assert_ptr_nonnull(in);
    ck_assert_msg(tc_feedback_import(&rep, h, in, TC_IMPORT_JSONL, 0, NULL,
                                     NULL) == TC_OK,
                  "import: %s", tc_errmsg());
    fclose(in);
    ck_assert_uint_eq(rep->accepted, total);
    ck_assert_uint_eq(rep->spooled, 0);
    tc_import_report_free(rep);
    /* what the other tests stored before: the export holds it too */
    {
        char *v = on_fb_master("XLEN", "{tc:fb}:stream");

        total = (size_t)atoll(v);
        free(v);
    }
    ck_assert_uint_gt(total, 1000);
    out = fopencookie(&m, "w", io);
    ck_assert_ptr_nonnull(out);
    setvbuf(out, NULL, _IONBF, 0);
    ck_assert_msg(tc_feedback_export(h, out, &count) == TC_OK, "export: %s",
                  tc_errmsg());
    fclose(out);
    ck_assert_int_eq(m.moved, 1);
    ck_assert_uint_eq(count, total);
    ck_assert_int_eq(m.lines, (int)total);
    free(text);
    tc_cache_close(h);
}
END_TEST

void cluster_fb_tests(TCase *tc)
{
    tcase_add_test(tc, test_fb_purge);
    tcase_add_test(tc, test_fb_override);
    tcase_add_test(tc, test_fb_import_export);
    tcase_add_test(tc, test_fb_export_slot_moved);
}
