/*
 * check_seal.c - encryption at rest and keyed keys on a real Redis and a
 * real LMDB: a marker in values and feedback texts is nowhere in the
 * store's bytes (and is, with sealing off, so the scan can fail); values
 * open after a key rotation, and a flipped byte, a value copied to
 * another key or a key not held is a miss that the metric counts; key
 * files others can read are refused; keyed keys differ from XXH3's, are
 * the same in two processes, and corrections still override.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "cli_harness.h"
#include "cluster_fixture.h"
#include "feedback_fixture.h"
#include "model_fixture.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

#define MARKER "ZEBRA-MARKER-7f3a"

static char *dir;
static trs *srv;

static void setup(void)
{
    dir = tt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    srv = trs_start(NULL);
    ck_assert_msg(srv != NULL, "redis-server did not start");
}

static void teardown(void)
{
    trs_stop(srv);
    tt_rmtree(dir);
    free(dir);
}

/* A key file in dir: 32 bytes, as 64 hex digits of seed (raw with raw). */
static const char *key_file(const char *name, int seed, int mode, int raw)
{
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    unsigned char key[32];
    char hex[66]; /* and a newline */
    FILE *f;

    for (int i = 0; i < 32; i++) {
        key[i] = (unsigned char)(seed * 31 + i * 7 + 1);
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    snprintf(p, 512, "%s/%s", dir, name);
    if (raw) {
        f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(key, 1, 32, f), 32);
        fclose(f);
        chmod(p, (mode_t)mode);
    } else {
        strcat(hex, "\n");
        tt_write_file(p, hex, mode);
    }
    return p;
}

/*
 * Opens a handle on url with a config file of the key options given
 * (NULL: not set; old: a JSON array or NULL); TC_OK or the code, with
 * *h NULL on failure.
 */
static int open_with(tc_cache **h, const char *url, const char *key,
                     const char *old, const char *secret)
{
    char cfg[700], body[4096];
    size_t n;
    tc_options o;

    snprintf(cfg, sizeof(cfg), "%s/cfg.json", dir);
    n = (size_t)snprintf(body, sizeof(body), "{\"spool_dir\":\"%s/spool\"",
                         dir);
    if (key) {
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              ",\"encryption_key_file\":\"%s\"", key);
    }
    if (old) {
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              ",\"encryption_old_key_files\":%s", old);
    }
    if (secret) {
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              ",\"key_secret_file\":\"%s\"", secret);
    }
    snprintf(body + n, sizeof(body) - n, "}");
    tt_write_file(cfg, body, 0600);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV;
    o.store_url = url;
    o.config_path = cfg;
    o.command_timeout_ms = 2000;
    *h = NULL;
    return tc_cache_open(h, &o);
}

static tc_cache *open_ok(const char *url, const char *key, const char *old,
                         const char *secret)
{
    tc_cache *h;
    int rc = open_with(&h, url, key, old, secret);

    ck_assert_msg(rc == TC_OK, "open: %s: %s", tc_strerror(rc), tc_errmsg());
    return h;
}

/* A field of the "seal" object of the handle's stats. */
static double seal_stat(tc_cache *h, const char *field)
{
    char *text = NULL, path[64];
    cJSON *o;
    double v;

    ck_assert_int_eq(tc_cache_stats_json(&text, h), TC_OK);
    o = cJSON_Parse(text);
    ck_assert_ptr_nonnull(o);
    snprintf(path, sizeof(path), "seal.%s", field);
    v = json_num(o, path);
    /* only whether a key is set, in stats as in config */
    ck_assert_str_eq(json_str(o, "seal.encryption_key"), "set");
    cJSON_Delete(o);
    tc_free(text);
    return v;
}

/* Every record h exports, as its text (the caller frees it); *count the
 * records. */
static char *export_text(tc_cache *h, uint64_t *count)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/export.jsonl", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tc_feedback_export(h, f, count), TC_OK);
    ck_assert_int_eq(fclose(f), 0);
    return fb_slurp(path);
}

/* ---- what is in the store, byte for byte -------------------------------- */

static int reply_has(const redisReply *r, const char *needle)
{
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        return memmem(r->str, r->len, needle, strlen(needle)) != NULL;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (reply_has(r->element[i], needle)) {
            return 1;
        }
    }
    return 0;
}

/* How many of the server's keys hold needle in their values (SCAN, then
 * GET, XRANGE, HGETALL, SMEMBERS, LRANGE or ZRANGE as each key's type
 * says); *nkeys counts the keys scanned. */
static int redis_holding_at(int port, const char *needle, int *nkeys)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    char cursor[32] = "0";
    int found = 0;

    ck_assert_msg(c && !c->err, "connect to the test's redis");
    *nkeys = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %s COUNT 1000", cursor);

        ck_assert_msg(r && r->type == REDIS_REPLY_ARRAY, "SCAN");
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str;
            redisReply *t = redisCommand(c, "TYPE %s", k), *v;
            const char *ty = t->str;

            v = strcmp(ty, "string") == 0 ? redisCommand(c, "GET %s", k)
                : strcmp(ty, "stream") == 0
                    ? redisCommand(c, "XRANGE %s - +", k)
                : strcmp(ty, "hash") == 0 ? redisCommand(c, "HGETALL %s", k)
                : strcmp(ty, "set") == 0  ? redisCommand(c, "SMEMBERS %s", k)
                : strcmp(ty, "list") == 0
                    ? redisCommand(c, "LRANGE %s 0 -1", k)
                    : redisCommand(c, "ZRANGE %s 0 -1", k);
            ck_assert_ptr_nonnull(v);
            found += reply_has(v, needle);
            (*nkeys)++;
            freeReplyObject(v);
            freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(c);
    return found;
}

static int redis_holding(const char *needle, int *nkeys)
{
    return redis_holding_at(trs_port(srv), needle, nkeys);
}

/* Whether needle is anywhere in the bytes of LMDB's data file in d. */
static int lmdb_holds(const char *d, const char *needle)
{
    char path[600];
    unsigned char *buf;
    size_t n;
    int found;

    snprintf(path, sizeof(path), "%s/data.mdb", d);
    buf = mf_slurp(path, &n);
    ck_assert_ptr_nonnull(buf);
    found = memmem(buf, n, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* Values, a batch and a correction, each with the marker in it. */
static void write_marked(tc_cache *h)
{
    static const char rec[] =
        "{\"text\":\"why " MARKER " loops\",\"original_intent\":"
        "\"explanation\",\"correct_intent\":\"debugging\","
        "\"original_confidence\":0.7,\"user_id\":\"student-" MARKER
        "\",\"feedback_type\":\"correction\"}";
    tc_item items[2];
    char id[TC_FEEDBACK_ID_MAX];
    static const char profile[] = "{\"name\":\"" MARKER "\"}";

    ck_assert_int_eq(tc_cache_set(h, "student_profiles", "u1", 2, profile,
                                  strlen(profile), 0),
                     TC_OK);
    memset(items, 0, sizeof(items));
    items[0].key = "a";
    items[0].keylen = 1;
    items[0].val = "batch " MARKER;
    items[0].len = strlen(items[0].val);
    items[1].key = "b";
    items[1].keylen = 1;
    items[1].val = MARKER;
    items[1].len = strlen(MARKER);
    ck_assert_int_eq(tc_cache_mset(h, "intents", items, 2), TC_OK);
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, h, rec, strlen(rec)),
                     TC_OK);
}

/* The marked values read back by a handle with a fresh L1: from the L2. */
static void read_marked(tc_cache *h)
{
    void *v = NULL;
    size_t len;
    tc_tier tier;

    ck_assert_int_eq(
        tc_cache_get(&v, &len, &tier, h, "student_profiles", "u1", 2), TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L2);
    ck_assert_str_eq(v, "{\"name\":\"" MARKER "\"}");
    tc_free(v);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, h, "intents", "b", 1),
                     TC_OK);
    ck_assert_str_eq(v, MARKER);
    tc_free(v);
}

START_TEST(test_marker_absent_redis)
{
    const char *k = key_file("k1", 1, 0600, 0);
    tc_cache *h = open_ok(trs_url(srv), k, NULL, NULL), *r;
    uint64_t count = 0;
    char *text;
    int nkeys;

    write_marked(h);
    ck_assert_int_eq(redis_holding(MARKER, &nkeys), 0);
    ck_assert_int_ge(nkeys, 5); /* values, override, stream, seen, counts */
    r = open_ok(trs_url(srv), k, NULL, NULL);
    read_marked(r);
    /* the export opens the record: the text is there again */
    text = export_text(r, &count);
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_nonnull(strstr(text, "why " MARKER " loops"));
    ck_assert_ptr_nonnull(strstr(text, "\"user_id\":\"student-" MARKER));
    free(text);
    tc_cache_close(r);
    tc_cache_close(h);
    /* the same writes unsealed leave the marker in clear: the scan finds */
    free(trs_cmd(srv, "FLUSHALL"));
    h = open_ok(trs_url(srv), NULL, NULL, NULL);
    write_marked(h);
    ck_assert_int_ge(redis_holding(MARKER, &nkeys), 4);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_marker_absent_lmdb)
{
    const char *k = key_file("k1", 1, 0600, 1);
    char url[700], url2[700], d1[600], d2[600];
    tc_cache *h, *r;

    snprintf(d1, sizeof(d1), "%s/sealed", dir);
    snprintf(d2, sizeof(d2), "%s/clear", dir);
    snprintf(url, sizeof(url), "lmdb://%s", d1);
    snprintf(url2, sizeof(url2), "lmdb://%s", d2);
    h = open_ok(url, k, NULL, NULL);
    write_marked(h);
    tc_cache_close(h);
    ck_assert_int_eq(lmdb_holds(d1, MARKER), 0);
    r = open_ok(url, k, NULL, NULL);
    read_marked(r);
    tc_cache_close(r);
    h = open_ok(url2, NULL, NULL, NULL);
    write_marked(h);
    tc_cache_close(h);
    ck_assert_int_eq(lmdb_holds(d2, MARKER), 1);
}
END_TEST

START_TEST(test_rotation)
{
    const char *k1 = key_file("k1", 1, 0600, 0);
    const char *k2 = key_file("k2", 2, 0400, 1);
    char old[700];
    tc_cache *a = open_ok(trs_url(srv), k1, NULL, NULL), *b, *c;
    void *v = NULL;
    size_t len;
    tc_tier tier;

    ck_assert_int_eq(tc_cache_set(a, "intents", "q", 1, "old value", 9, 0),
                     TC_OK);
    snprintf(old, sizeof(old), "[\"%s\"]", k1);
    b = open_ok(trs_url(srv), k2, old, NULL);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, b, "intents", "q", 1),
                     TC_OK);
    ck_assert_str_eq(v, "old value");
    tc_free(v);
    ck_assert_int_eq(seal_stat(b, "encryption_old_keys"), 1);
    /* a value written now is sealed with k2 alone */
    ck_assert_int_eq(tc_cache_set(b, "intents", "r", 1, "new value", 9, 0),
                     TC_OK);
    c = open_ok(trs_url(srv), k2, NULL, NULL);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, c, "intents", "r", 1),
                     TC_OK);
    ck_assert_str_eq(v, "new value");
    tc_free(v);
    /* k1 dropped: its values are misses, counted, never their bytes */
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, c, "intents", "q", 1),
                     TC_MISS);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(seal_stat(c, "l2_decrypt_failures"), 1);
    tc_cache_close(c);
    tc_cache_close(b);
    tc_cache_close(a);
}
END_TEST

/* The L2 key of key in "intents" (buf: TC_KEY_MAX bytes). */
static void key_of(char *buf, tc_cache *h, const char *key)
{
    ck_assert_int_eq(
        tc_cache_key(buf, TC_KEY_MAX, h, "intents", key, strlen(key)), TC_OK);
}

/* The Prometheus line of the decrypt failures. */
static int metric_failures(tc_cache *h)
{
    char buf[1 << 16];
    size_t len;
    const char *p;

    ck_assert_int_eq(tc_metrics_render(buf, sizeof(buf), &len, h), TC_OK);
    p = strstr(buf, "\ntutorcache_l2_decrypt_failures_total ");
    ck_assert_ptr_nonnull(p);
    return atoi(p + strlen("\ntutorcache_l2_decrypt_failures_total "));
}

START_TEST(test_tampered_and_moved)
{
    const char *k = key_file("k1", 1, 0600, 0);
    tc_cache *a = open_ok(trs_url(srv), k, NULL, NULL), *b;
    char ka[TC_KEY_MAX], kb[TC_KEY_MAX], kc[TC_KEY_MAX], flipped;
    void *v = NULL;
    size_t len;
    tc_tier tier;
    char *rep;

    ck_assert_int_eq(tc_cache_set(a, "intents", "x", 1, "value x", 7, 0),
                     TC_OK);
    ck_assert_int_eq(tc_cache_set(a, "intents", "y", 1, "value y", 7, 0),
                     TC_OK);
    key_of(ka, a, "x");
    key_of(kb, a, "y");
    key_of(kc, a, "z");
    /* one byte of x's cipher text flipped (its bits inverted: a byte
     * written over it could be the one already there); y copied over z's
     * key */
    rep = trs_cmd(srv, "GETRANGE %s 40 40", ka);
    ck_assert_ptr_nonnull(rep);
    flipped = (char)~rep[0]; /* an empty string here is the byte 0 */
    free(rep);
    rep = trs_cmd(srv, "SETRANGE %s 40 %b", ka, &flipped, (size_t)1);
    free(rep);
    rep = trs_cmd(srv, "COPY %s %s", kb, kc);
    ck_assert_str_eq(rep, "1");
    free(rep);
    b = open_ok(trs_url(srv), k, NULL, NULL);
    ck_assert_int_eq(metric_failures(b), 0);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, b, "intents", "x", 1),
                     TC_MISS);
    ck_assert_int_eq(metric_failures(b), 1);
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, b, "intents", "z", 1),
                     TC_MISS);
    ck_assert_int_eq(metric_failures(b), 2);
    ck_assert_str_eq(tc_errmsg(), ""); /* a miss, not an error */
    /* the original at its own key still opens */
    ck_assert_int_eq(tc_cache_get(&v, &len, &tier, b, "intents", "y", 1),
                     TC_OK);
    ck_assert_str_eq(v, "value y");
    tc_free(v);
    tc_cache_close(b);
    tc_cache_close(a);
}
END_TEST

START_TEST(test_key_file_refused)
{
    const char *loose = key_file("loose", 1, 0644, 0);
    const char *group = key_file("group", 1, 0640, 1);
    char shortk[600];
    tc_cache *h;

    ck_assert_int_eq(open_with(&h, trs_url(srv), loose, NULL, NULL),
                     TC_ECONFIG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "mode 0644"));
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "group or others"));
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), loose));
    ck_assert_int_eq(open_with(&h, trs_url(srv), NULL, NULL, group),
                     TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "key_secret_file"));
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "mode 0640"));
    snprintf(shortk, sizeof(shortk), "%s/short", dir);
    tt_write_file(shortk, "0123abcd\n", 0600);
    ck_assert_int_eq(open_with(&h, trs_url(srv), shortk, NULL, NULL),
                     TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "not a key"));
    ck_assert_int_eq(
        open_with(&h, trs_url(srv), NULL, "[\"/nonexistent\"]", NULL),
        TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "without encryption_key_file"));
    ck_assert_int_eq(
        open_with(&h, trs_url(srv), "/nonexistent/key", NULL, NULL),
        TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "/nonexistent/key"));
}
END_TEST

START_TEST(test_feedback_unopened)
{
    const char *k1 = key_file("k1", 1, 0600, 0);
    const char *k2 = key_file("k2", 2, 0600, 0);
    tc_cache *a = open_ok(trs_url(srv), k1, NULL, NULL), *b;
    uint64_t count = 0;
    char *text;

    write_marked(a);
    b = open_ok(trs_url(srv), k2, NULL, NULL);
    text = export_text(b, &count);
    /* reported, not dropped, and still not in clear */
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_nonnull(strstr(text, "\"unopened\":true"));
    ck_assert_ptr_null(strstr(text, MARKER));
    free(text);
    ck_assert_int_eq(seal_stat(b, "feedback_decrypt_failures"), 1);
    tc_cache_close(b);
    tc_cache_close(a);
}
END_TEST

START_TEST(test_spool_sealed)
{
    static const char rec[] =
        "{\"text\":\"spooled " MARKER "\",\"original_intent\":"
        "\"explanation\",\"correct_intent\":\"debugging\","
        "\"original_confidence\":0.7,\"feedback_type\":\"correction\"}";
    const char *k = key_file("k1", 1, 0600, 0);
    tc_cache *h = open_ok(trs_url(srv), k, NULL, NULL);
    char id[TC_FEEDBACK_ID_MAX], path[600], *text;
    uint64_t count = 0;
    int outcome = -1;
    int64_t t0;

    trs_kill(srv);
    ck_assert_int_eq(tc_feedback_submit_json(id, &outcome, h, rec, strlen(rec)),
                     TC_OK);
    ck_assert_int_eq(outcome, TC_FEEDBACK_SPOOLED);
    snprintf(path, sizeof(path), "%s/spool/feedback.spool", dir);
    text = fb_slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "\"sealed\":"));
    ck_assert_ptr_null(strstr(text, MARKER));
    free(text);
    /* back up: the spool is opened, replayed and exported in clear, once
     * the breaker lets calls through to the restarted server again */
    ck_assert_int_eq(trs_restart(srv), 0);
    for (t0 = tt_now_ms(); tc_cache_ping(h, NULL) != TC_OK;) {
        ck_assert_msg(tt_now_ms() - t0 < 8000, "store not back in 8 s");
        tt_sleep_ms(50);
    }
    text = export_text(h, &count);
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_nonnull(strstr(text, "spooled " MARKER));
    free(text);
    tc_cache_close(h);
}
END_TEST

/* Erasure sees into sealed records: a purge by user removes that user's
 * record and leaves the other's (the store holds user ids sealed). */
START_TEST(test_purge_sealed)
{
    static const char other[] =
        "{\"text\":\"what is a pointer\",\"original_intent\":"
        "\"debugging\",\"correct_intent\":\"explanation\","
        "\"original_confidence\":0.6,\"user_id\":\"student-b\","
        "\"feedback_type\":\"correction\"}";
    const char *k = key_file("k1", 1, 0600, 0);
    tc_cache *h = open_ok(trs_url(srv), k, NULL, NULL);
    char id[TC_FEEDBACK_ID_MAX], *text;
    uint64_t removed = 0, count = 0;

    write_marked(h);
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, h, other, strlen(other)),
                     TC_OK);
    ck_assert_int_eq(
        tc_feedback_purge(&removed, h, "student-" MARKER, NULL, NULL), TC_OK);
    ck_assert_uint_eq(removed, 1);
    text = export_text(h, &count);
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_nonnull(strstr(text, "student-b"));
    ck_assert_ptr_null(strstr(text, MARKER));
    free(text);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_keyed_keys)
{
    const char *s = key_file("secret", 3, 0600, 0);
    const char *k = key_file("k1", 1, 0600, 0);
    tc_cache *plain = open_ok(trs_url(srv), NULL, NULL, NULL);
    tc_cache *a = open_ok(trs_url(srv), k, NULL, s);
    tc_cache *b = open_ok(trs_url(srv), NULL, NULL, s), *d;
    char kp[TC_KEY_MAX], ka[TC_KEY_MAX], kb[TC_KEY_MAX], id[TC_FEEDBACK_ID_MAX];
    char idp[TC_FEEDBACK_ID_MAX];
    static const char rec[] = TT_LOOP_CORRECTION;
    tc_classifier *c = NULL;

    key_of(kp, plain, "q");
    key_of(ka, a, "q");
    key_of(kb, b, "q");
    ck_assert_str_ne(kp, ka);
    ck_assert_str_eq(ka, kb); /* the secret, not the sealing key, decides */
    ck_assert_uint_eq(strlen(ka), strlen(kp));
    ck_assert_int_eq(strncmp(ka, "tc:intent:", 10), 0);
    /* the correction's id is keyed too, and its override still corrects */
    ck_assert_int_eq(
        tc_feedback_submit_json(idp, NULL, plain, rec, strlen(rec)), TC_OK);
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, a, rec, strlen(rec)),
                     TC_OK);
    ck_assert_str_ne(id, idp);
    ck_assert_uint_eq(strlen(id), 32);
    /* a fresh handle with both keys reads the sealed override from Redis */
    d = open_ok(trs_url(srv), k, NULL, s);
    c = tt_host_classifier(d);
    tt_expect_loop_corrected(c);
    tc_classifier_close(c);
    tc_cache_close(d);
    tc_cache_close(b);
    tc_cache_close(a);
    tc_cache_close(plain);
}
END_TEST

/* ---- a Redis Cluster ------------------------------------------------------
 */

static tcl *cluster;

static void cluster_up(void)
{
    cluster = tcl_start(5000);
}

static void cluster_down(void)
{
    tcl_stop(cluster);
}

START_TEST(test_marker_absent_cluster)
{
    const char *k = key_file("k1", 1, 0600, 0);
    tc_cache *h, *r;
    int found = 0, nkeys = 0;

    ck_assert_msg(cluster != NULL, "the cluster did not start");
    h = open_ok(tcl_url(cluster), k, NULL, NULL);
    write_marked(h);
    for (int i = 0; i < TCL_NODES; i++) {
        int n = 0;

        found += redis_holding_at(trs_port(tcl_node(cluster, i)), MARKER, &n);
        nkeys += n;
    }
    ck_assert_int_eq(found, 0);
    ck_assert_int_ge(nkeys, 5);
    r = open_ok(tcl_url(cluster), k, NULL, NULL);
    read_marked(r);
    tc_cache_close(r);
    tc_cache_close(h);
}
END_TEST

/* ---- the CLI: two processes, one secret ---------------------------------- */

START_TEST(test_cli_keyed_across_processes)
{
    char url[256], envs[2][700], kf[600], sf[600], lk[600];
    const char *env[3];
    char keyed[TC_KEY_MAX], plain[TC_KEY_MAX], *rep;
    how h = {0};
    tc_cache *c;
    run r;

    cli_store_url(CLI_REDIS, url, sizeof(url));
    snprintf(sf, sizeof(sf), "%s/secret", cli_home());
    snprintf(kf, sizeof(kf), "%s/key", cli_home());
    tt_write_file(sf,
                  "00112233445566778899aabbccddeeff"
                  "00112233445566778899aabbccddeeff\n",
                  0600);
    tt_write_file(kf,
                  "ffeeddccbbaa99887766554433221100"
                  "ffeeddccbbaa99887766554433221100\n",
                  0600);
    snprintf(envs[0], sizeof(envs[0]), "TUTORCACHE_KEY_SECRET_FILE=%s", sf);
    snprintf(envs[1], sizeof(envs[1]), "TUTORCACHE_ENCRYPTION_KEY_FILE=%s", kf);
    env[0] = envs[0];
    env[1] = envs[1];
    env[2] = NULL;
    h.url = url;
    h.env = env;
    cli_check(&h, 0, "", "", "set", "intents", "what is a monad",
              "an answer " MARKER);
    /* a second process derives the same key and opens the value */
    cli_check(&h, 0, "an answer " MARKER "\n", "", "get", "intents",
              "what is a monad");
    /* config and stats say a key is set, and print no key */
    cli_check_out(&h, "\"hash_key\":\"set\"", "00112233", "config");
    cli_check_out(&h, "\"encryption_key\":\"set\"", "ffeeddcc", "stats",
                  "--format", "json");
    /* with no secret the key is another: a miss, and no value in clear */
    h.env = NULL;
    cli(&r, &h, "get", "intents", "what is a monad");
    expect(&r, 1, "", NULL);
    run_free(&r);
    /* the key in Redis is the keyed one the library computes, not XXH3's */
    {
        tc_options o;

        tc_options_init(&o);
        o.flags = TC_OPT_NO_ENV;
        o.store_url = url;
        ck_assert_int_eq(tc_cache_open(&c, &o), TC_OK);
        ck_assert_int_eq(tc_cache_key(plain, sizeof(plain), c, "intents",
                                      "what is a monad", 15),
                         TC_OK);
        tc_cache_close(c);
        setenv("TUTORCACHE_KEY_SECRET_FILE", sf, 1);
        tc_options_init(&o);
        o.store_url = url;
        ck_assert_int_eq(tc_cache_open(&c, &o), TC_OK);
        unsetenv("TUTORCACHE_KEY_SECRET_FILE");
        ck_assert_int_eq(tc_cache_key(keyed, sizeof(keyed), c, "intents",
                                      "what is a monad", 15),
                         TC_OK);
        tc_cache_close(c);
    }
    rep = trs_cmd(cli_redis(), "EXISTS %s", keyed);
    ck_assert_str_eq(rep, "1");
    free(rep);
    rep = trs_cmd(cli_redis(), "EXISTS %s", plain);
    ck_assert_str_eq(rep, "0");
    free(rep);
    /* a key file others can read: refused, with why */
    snprintf(lk, sizeof(lk), "%s/loose", cli_home());
    tt_write_file(lk,
                  "00112233445566778899aabbccddeeff"
                  "00112233445566778899aabbccddeeff\n",
                  0644);
    snprintf(envs[0], sizeof(envs[0]), "TUTORCACHE_ENCRYPTION_KEY_FILE=%s", lk);
    env[1] = NULL;
    h.env = env;
    cli(&r, &h, "get", "intents", "what is a monad");
    expect_diag(&r, 2, "lets group or others read it");
    run_free(&r);
}
END_TEST

static void suite_cli_seal(Suite *s)
{
    TCase *tc = tcase_create("cli_seal");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_keyed_across_processes);
    suite_add_tcase(s, tc);
}

Suite *suite_seal(void)
{
    Suite *s = suite_create("seal");
    TCase *tc = tcase_create("seal");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_marker_absent_redis);
    tcase_add_test(tc, test_marker_absent_lmdb);
    tcase_add_test(tc, test_rotation);
    tcase_add_test(tc, test_tampered_and_moved);
    tcase_add_test(tc, test_key_file_refused);
    tcase_add_test(tc, test_feedback_unopened);
    tcase_add_test(tc, test_keyed_keys);
    tcase_add_test(tc, test_spool_sealed);
    tcase_add_test(tc, test_purge_sealed);
    suite_add_tcase(s, tc);
    tc = tcase_create("seal_cluster");
    tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_marker_absent_cluster);
    suite_add_tcase(s, tc);
    suite_cli_seal(s);
    return s;
}
