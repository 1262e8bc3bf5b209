/*
 * check_cli_audit.c - the audit trail, erasure and secrets kept out of
 * sight, through the built binary on real stores (LMDB, and a private
 * redis-server): one audit line per operation with its fields and no
 * value or text; a user's feedback purged with its overrides, the rest
 * left; --before and --text; a config file that shows its password to
 * others refused; a password read from password_file by an ACL user.
 * Part of the cli_feedback suite.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <xxhash.h>

#include "base/internal.h"
#include "cli_feedback_fixture.h"
#include "suites.h"

#define MARK_VALUE "MarkerValue7731"
#define MARK_TEXT "Explain MarkerText9921 recursion"

/* The audit log's lines, parsed; the file must be there. */
static void audit_lines(lines *ls, const char *path, char **text)
{
    size_t len;

    ck_assert_msg(tc__read_file(path, 0, text, &len, NULL) == TC_OK,
                  "no audit log at %s", path);
    lines_parse(ls, *text);
}

/* Submits a record with a user and a timestamp; its id into id (33). */
static void submit_as(const how *h, const char *text, const char *correct,
                      const char *user, const char *ts, char *id)
{
    lines ls;
    run r;

    cli(&r, h, "feedback", "submit", "--text", text, "--original",
        "code_generation", "--correct", correct, "--confidence", "0.6",
        "--user", user, "--timestamp", ts);
    expect(&r, 0, NULL, "");
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    snprintf(id, 33, "%s", json_str(ls.v[0], "id"));
    lines_free(&ls);
    run_free(&r);
}

/* `feedback purge` with the arguments given (NULL-terminated after the
 * subcommand's): the count it printed. */
static long purge(const how *h, const char *a, const char *b)
{
    cJSON *o;
    long n;
    run r;

    cli(&r, h, "feedback", "purge", "--format", "json", a, b);
    expect(&r, 0, NULL, "");
    o = run_json(&r);
    n = (long)json_num(o, "removed");
    cJSON_Delete(o);
    run_free(&r);
    return n;
}

/* Whether the export holds the record id. */
static int exported(const how *h, const char *id)
{
    int found;
    run r;

    cli(&r, h, "feedback", "export");
    expect(&r, 0, NULL, "");
    found = strstr(r.out, id) != NULL;
    run_free(&r);
    return found;
}

/* A timestamp an hour ago plus k minutes: recent enough that an override
 * set then still lives (24 h). */
static void ts_ago(char *buf, size_t n, int minutes_after)
{
    time_t t = time(NULL) - 3600 + 60 * minutes_after;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the audit trail ----------------------------------------------------- */

/*
 * Each state-changing command writes exactly one line (a set, a del, a
 * submit, an export, a purge), with time, op, namespace, the
 * hashed key or record id, the actor of --actor and the outcome; a get
 * writes none until audit_reads is on. No line holds the value or the
 * text. On LMDB and Redis.
 */
START_TEST(test_audit_lines)
{
    static const char *const ops[] = {"set", "del", "feedback_submit",
                                      "feedback_export", "get"};
    char url[256], log[512], cfg[512], id[40], want[40], *text = NULL;
    const char *env[3] = {NULL, NULL, NULL};
    char envbuf[600];
    how h = {0};
    lines ls;
    run r;

    h.url = cli_store_url(_i ? CLI_REDIS : CLI_LMDB, url, sizeof(url));
    snprintf(log, sizeof(log), "%s/audit.log", cli_home());
    snprintf(cfg, sizeof(cfg), "%s/reads.json", cli_home());
    tt_write_file(cfg, "{\"audit_reads\": true}", 0600);
    cli(&r, &h, "--audit-log", log, "--actor", "teacher-7", "set", "intents",
        "some key", MARK_VALUE);
    expect(&r, 0, "", "");
    run_free(&r);
    /* a read is not audited by default */
    cli(&r, &h, "--audit-log", log, "get", "intents", "some key");
    expect(&r, 0, NULL, "");
    run_free(&r);
    cli(&r, &h, "--audit-log", log, "del", "intents", "some key");
    expect(&r, 0, NULL, "");
    run_free(&r);
    /* the environment names the log as well as --audit-log */
    snprintf(envbuf, sizeof(envbuf), "TUTORCACHE_AUDIT_LOG=%s", log);
    env[0] = envbuf;
    h.env = env;
    cli(&r, &h, "--actor", "student-3", "feedback", "submit", "--text",
        MARK_TEXT, "--original", "code_generation", "--correct", "explanation",
        "--confidence", "0.5", "--user", "MarkerUser55");
    expect(&r, 0, NULL, "");
    snprintf(id, sizeof(id), "%.32s", strstr(r.out, "\"id\":\"") + 6);
    run_free(&r);
    cli(&r, &h, "feedback", "export");
    expect(&r, 0, NULL, "");
    run_free(&r);
    h.env = NULL;
    /* without the log: no line */
    ck_assert_int_eq(purge(&h, "--user-id", "MarkerUser55"), 1);
    cli(&r, &h, "--audit-log", log, "--config", cfg, "get", "intents",
        "other key");
    ck_assert_int_eq(r.code, 1); /* the audited read: a miss */
    run_free(&r);

    audit_lines(&ls, log, &text);
    ck_assert_msg(ls.n == 5, "%zu lines:\n%s", ls.n, text);
    for (size_t i = 0; i < ls.n; i++) {
        ck_assert_str_eq(json_str(ls.v[i], "op"), ops[i]);
        ck_assert(strlen(json_str(ls.v[i], "time")) == 24);
        ck_assert_ptr_nonnull(json_str(ls.v[i], "outcome"));
    }
    ck_assert_str_eq(json_str(ls.v[0], "actor"), "teacher-7");
    ck_assert_str_eq(json_str(ls.v[0], "ns"), "intents");
    ck_assert(strncmp(json_str(ls.v[0], "key"), "tc:intent:", 10) == 0);
    ck_assert_str_eq(json_str(ls.v[0], "key"), json_str(ls.v[1], "key"));
    ck_assert_str_eq(json_str(ls.v[0], "outcome"), "ok");
    ck_assert_ptr_null(cJSON_GetObjectItem(ls.v[1], "actor"));
    ck_assert_str_eq(json_str(ls.v[2], "key"), id);
    ck_assert_str_eq(json_str(ls.v[2], "actor"), "student-3");
    ck_assert_str_eq(json_str(ls.v[2], "detail"), "stored");
    ck_assert_int_eq((long)json_num(ls.v[3], "count"), 1);
    ck_assert_str_eq(json_str(ls.v[4], "outcome"), "miss");
    /* never a value, a text or a user's id */
    ck_assert_msg(!strstr(text, "Marker"), "%s", text);
    lines_free(&ls);
    free(text);
    text = NULL;

    /* a purge with the log: one line, the user hashed, the count */
    cli(&r, &h, "--audit-log", log, "--actor", "dpo", "feedback", "purge",
        "--user-id", "MarkerUser55", "--text", MARK_TEXT);
    expect(&r, 0, NULL, "");
    run_free(&r);
    audit_lines(&ls, log, &text);
    ck_assert_uint_eq(ls.n, 6);
    ck_assert_str_eq(json_str(ls.v[5], "op"), "feedback_purge");
    snprintf(want, sizeof(want), "user:%016llx",
             (unsigned long long)XXH3_64bits("MarkerUser55", 12));
    ck_assert_str_eq(json_str(ls.v[5], "key"), want);
    ck_assert_str_eq(json_str(ls.v[5], "detail"), "user_id,text");
    ck_assert_str_eq(json_str(ls.v[5], "actor"), "dpo");
    ck_assert_int_eq((long)json_num(ls.v[5], "count"), 0);
    ck_assert_msg(!strstr(text, "Marker"), "%s", text);
    lines_free(&ls);
    free(text);
}
END_TEST

/* A log the library cannot open fails the command with the path named,
 * rather than running unaudited. */
START_TEST(test_audit_unwritable)
{
    how h = {0};
    run r;

    cli(&r, &h, "--audit-log", "/nonexistent-dir/audit.log", "set", "intents",
        "k", "v");
    ck_assert_int_ne(r.code, 0);
    ck_assert_str_eq(r.out, "");
    ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent-dir/audit.log"));
    run_free(&r);
}
END_TEST

/* ---- erasure ------------------------------------------------------------- */

/*
 * Three users: u1 and u2 correct one text differently (u2 later), u3
 * another. Purging u2 removes exactly u2's record (from the queue too:
 * the stats count it neither kept nor queued), and the shared text's
 * override becomes u1's again; a second purge removes 0; purging u1 drops
 * the override (the model answers again), and u3's record and override
 * stay throughout. On LMDB and Redis.
 */
START_TEST(test_purge_user)
{
    char url[256], t1[32], t2[32], t3[32], id1[40], id2[40], id3[40];
    char intent[64], source[32];
    const char *model = cli_model();
    how h = {0};
    cJSON *st;
    run r;

    h.url = cli_store_url(_i ? CLI_REDIS : CLI_LMDB, url, sizeof(url));
    ts_ago(t1, sizeof(t1), 0);
    ts_ago(t2, sizeof(t2), 10);
    ts_ago(t3, sizeof(t3), 20);
    submit_as(&h, "Explain recursion please", "explanation", "u1", t1, id1);
    submit_as(&h, "Explain recursion please", "debugging", "u2", t2, id2);
    submit_as(&h, "Translate this sentence", "summarization", "u3", t3, id3);
    cf_classify(&h, model, "Explain recursion please", intent, sizeof(intent),
                source, sizeof(source));
    ck_assert_str_eq(intent, "debugging");

    /* u1's record delivered and acknowledged; u2's and u3's queued */
    cli(&r, &h, "feedback", "export", "--consumer", "t", "--max", "1", "--ack");
    expect(&r, 0, NULL, "");
    ck_assert_ptr_nonnull(strstr(r.out, id1));
    run_free(&r);
    ck_assert_int_eq(purge(&h, "--user-id", "u2"), 1);
    st = cf_stats(&h);
    ck_assert_int_eq((long)json_num(st, "kept"), 2);
    ck_assert_int_eq((long)json_num(st, "queued"), 1);
    ck_assert_int_eq((long)json_num(st, "pending"), 0);
    cJSON_Delete(st);
    ck_assert(!exported(&h, id2));
    ck_assert(exported(&h, id1) && exported(&h, id3));
    cf_classify(&h, model, "Explain recursion please", intent, sizeof(intent),
                source, sizeof(source));
    ck_assert_str_eq(intent, "explanation");
    ck_assert_str_eq(source, "feedback");
    /* idempotent */
    ck_assert_int_eq(purge(&h, "--user-id", "u2"), 0);

    ck_assert_int_eq(purge(&h, "--user-id", "u1"), 1);
    cf_classify(&h, model, "Explain recursion please", intent, sizeof(intent),
                source, sizeof(source));
    ck_assert_str_eq(source, "model");
    cf_classify(&h, model, "Translate this sentence", intent, sizeof(intent),
                source, sizeof(source));
    ck_assert_str_eq(intent, "summarization");
    ck_assert_str_eq(source, "feedback");
    ck_assert(exported(&h, id3));

    /* the id was erased with the record: the same record is new again */
    submit_as(&h, "Explain recursion please", "debugging", "u2", t2, id2);
    ck_assert(exported(&h, id2));
}
END_TEST

/* --before and --text, alone and together with --user-id. */
START_TEST(test_purge_before_text)
{
    char url[256], id[4][40];
    how h = {0};

    h.url = cli_store_url(_i ? CLI_REDIS : CLI_LMDB, url, sizeof(url));
    submit_as(&h, "Old question one", "explanation", "u1",
              "2025-01-01T00:00:00Z", id[0]);
    submit_as(&h, "Old question two", "explanation", "u2",
              "2025-02-01T00:00:00Z", id[1]);
    submit_as(&h, "New question", "explanation", "u1", "2026-06-01T00:00:00Z",
              id[2]);
    submit_as(&h, "NEW   Question", "debugging", "u2", "2026-06-02T00:00:00Z",
              id[3]);

    ck_assert_int_eq(purge(&h, "--before", "2025-01-15T00:00:00Z"), 1);
    ck_assert(!exported(&h, id[0]) && exported(&h, id[1]));
    /* the text as normalized: case and spaces do not matter */
    ck_assert_int_eq(purge(&h, "--text", "new question"), 2);
    ck_assert(!exported(&h, id[2]) && !exported(&h, id[3]));
    ck_assert(exported(&h, id[1]));
    ck_assert_int_eq(purge(&h, "--text", "new question"), 0);
}
END_TEST

/* No filter, a bad time, extra arguments: refused, nothing erased. */
START_TEST(test_purge_usage)
{
    char id[40];
    how h = {0};
    run r;

    submit_as(&h, "Keep me", "explanation", "u1", "2026-01-01T00:00:00Z", id);
    cli(&r, &h, "feedback", "purge");
    expect_diag(&r, 2, "--user-id");
    run_free(&r);
    cli(&r, &h, "feedback", "purge", "--before", "yesterday");
    ck_assert_int_ne(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "before"));
    run_free(&r);
    cli(&r, &h, "feedback", "purge", "--user-id", "u1", "extra");
    expect_diag(&r, 2, "no arguments");
    run_free(&r);
    ck_assert(exported(&h, id));
    cli(&r, &h, "feedback", "purge", "--help");
    expect(&r, 0, NULL, "");
    ck_assert(strncmp(r.out, "Usage: tutorcache feedback purge", 32) == 0);
    run_free(&r);
}
END_TEST

/* ---- secrets ------------------------------------------------------------- */

/* Starts the test's redis-server with conf (cli_redis_start); url: its
 * loopback URL with userinfo (":pass@", "user@") before the host. */
static void redis_as(char *url, size_t n, const char *conf,
                     const char *userinfo)
{
    cli_redis_start(conf);
    snprintf(url, n, "redis://%s127.0.0.1:%d", userinfo, trs_port(cli_redis()));
}

/* Writes text to path, the file name in the test's HOME, with mode. */
static void home_file(char *path, size_t n, const char *name, const char *text,
                      int mode)
{
    snprintf(path, n, "%s/%s", cli_home(), name);
    tt_write_file(path, text, mode);
}

/*
 * A config file whose store URL holds a password is refused while group
 * or others may read it, with a message saying so and not the password;
 * at 0600 it is read.
 */
START_TEST(test_config_file_mode)
{
    char url[256], json[400], path[512], env[600];
    const char *envv[2] = {env, NULL};
    how h = {0};
    run r;

    redis_as(url, sizeof(url), "requirepass Pw0rdMarker\n", ":Pw0rdMarker@");
    snprintf(json, sizeof(json), "{\"store\": \"%s\"}", url);
    home_file(path, sizeof(path), "tc.json", json, 0644);
    snprintf(env, sizeof(env), "TUTORCACHE_CONFIG=%s", path);
    h.env = envv;
    h.url = NULL;
    tt_cli.url = NULL;
    cli(&r, &h, "ping");
    expect_diag(&r, 2, "readable by group or others");
    ck_assert_ptr_nonnull(strstr(r.err, "0644"));
    ck_assert_ptr_null(strstr(r.err, "Pw0rdMarker"));
    run_free(&r);
    chmod(path, 0600);
    cli_check(&h, 0, NULL, "", "ping");
    cli_check_out(&h, "\"auth\":\"set\"", "Pw0rdMarker", "config", "--format",
                  "json");
    cli_check_out(&h, NULL, "Pw0rdMarker", "stats", "--format", "json");
}
END_TEST

/*
 * An ACL user's password from --password-file and from
 * TUTORCACHE_PASSWORD_FILE: no password on the command line or in the
 * environment, config says only that one is set; a file others can read
 * is refused, and a wrong password in the file is the server's refusal.
 */
START_TEST(test_password_file)
{
    char url[256], pw[512], bad[512], env[600];
    const char *envv[2] = {env, NULL};
    how h = {0};
    run r;

    redis_as(url, sizeof(url), "user tutor on >AclPassMarker ~* &* +@all\n",
             "tutor@");
    home_file(pw, sizeof(pw), "redis.pw", "AclPassMarker\n", 0600);
    home_file(bad, sizeof(bad), "wrong.pw", "nope\n", 0600);
    h.url = url;

    cli_check(&h, 0, "", "", "--password-file", pw, "set", "intents", "k", "v");
    cli_check_out(&h, "set (password_file)", "AclPassMarker", "--password-file",
                  pw, "config", "--format", "json");
    snprintf(env, sizeof(env), "TUTORCACHE_PASSWORD_FILE=%s", pw);
    h.env = envv;
    cli_check(&h, 0, "v\n", "", "get", "intents", "k");
    h.env = NULL;

    cli(&r, &h, "--password-file", bad, "get", "intents", "k");
    ck_assert_int_eq(r.code, 3);
    run_free(&r);
    chmod(pw, 0640);
    cli(&r, &h, "--password-file", pw, "get", "intents", "k");
    expect_diag(&r, 2, "readable by group or others");
    ck_assert_ptr_null(strstr(r.err, "AclPassMarker"));
    run_free(&r);
}
END_TEST

/* ---- the library's calls ---------------------------------------------- */

#define SETTERS 4
#define SETS 100

typedef struct setter {
    tc_cache *h;
    int n;
} setter;

static void *set_many(void *ud)
{
    setter *st = ud;
    char actor[16], key[32];

    snprintf(actor, sizeof(actor), "thread-%d", st->n);
    tc_audit_actor(actor);
    for (int i = 0; i < SETS; i++) {
        snprintf(key, sizeof(key), "k%d-%d", st->n, i);
        ck_assert_int_eq(tc_cache_set(st->h, "intents", key, strlen(key),
                                      MARK_VALUE, strlen(MARK_VALUE), 0),
                         TC_OK);
    }
    return NULL;
}

/*
 * Through the library: an mset writes a line per key, invalidate and a
 * classifier's open one each, tc_audit_record one for the host's own
 * operation (and refuses a bad op name). After the file is renamed and
 * tc_audit_reopen() called, lines go to a new file by the same name; lines
 * of threads writing at once never mix, each with its thread's actor.
 */
/* An LMDB cache in dir that writes its audit log to dir/audit.log (the
 * path into log), configured by the file cfg (NULL: none). */
static tc_cache *open_audited(const char *dir, const char *cfg, char *log,
                              size_t n)
{
    char url[512];
    tc_options opt;
    tc_cache *h;

    snprintf(log, n, "%s/audit.log", dir);
    snprintf(url, sizeof(url), "lmdb://%s/db", dir);
    tc_options_init(&opt);
    opt.flags = cfg ? TC_OPT_NO_ENV : TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.store_url = url;
    opt.config_path = cfg;
    opt.audit_log = log;
    ck_assert_int_eq(tc_cache_open(&h, &opt), TC_OK);
    return h;
}

/* With keyed keys (key_secret_file) the trail's pseudonym of a purged
 * user is keyed too: not the plain XXH3 of the id, which anyone could
 * compute to confirm a guess. */
START_TEST(test_audit_user_keyed)
{
    char *dir = tt_test_dir(), log[512], cfg[512], key[512];
    char body[1200], plain[40], *text = NULL;
    uint64_t removed = 1;
    tc_cache *h;
    lines ls;

    snprintf(key, sizeof(key), "%s/secret", dir);
    tt_write_file(key,
                  "000102030405060708090a0b0c0d0e0f"
                  "101112131415161718191a1b1c1d1e1f",
                  0600);
    snprintf(cfg, sizeof(cfg), "%s/cfg.json", dir);
    snprintf(body, sizeof(body), "{\"key_secret_file\": \"%s\"}", key);
    tt_write_file(cfg, body, 0600);
    h = open_audited(dir, cfg, log, sizeof(log));
    ck_assert_int_eq(tc_feedback_purge(&removed, h, "MarkerUser55", NULL, NULL),
                     TC_OK);
    ck_assert_uint_eq(removed, 0);
    tc_cache_close(h);
    audit_lines(&ls, log, &text);
    ck_assert_msg(ls.n == 1, "%s", text);
    snprintf(plain, sizeof(plain), "user:%016llx",
             (unsigned long long)XXH3_64bits("MarkerUser55", 12));
    ck_assert(strncmp(json_str(ls.v[0], "key"), "user:", 5) == 0);
    ck_assert_str_ne(json_str(ls.v[0], "key"), plain);
    ck_assert_msg(!strstr(text, "Marker"), "%s", text);
    lines_free(&ls);
    free(text);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_audit_api)
{
    char *dir = tt_test_dir(), log[512], old[512], *text = NULL;
    tc_item items[3];
    tc_classifier_options co;
    tc_classifier *c = NULL;
    pthread_t th[SETTERS];
    setter st[SETTERS];
    tc_cache *h;
    int per[SETTERS] = {0};
    lines ls;

    h = open_audited(dir, NULL, log, sizeof(log));
    snprintf(old, sizeof(old), "%s/audit.log.1", dir);
    memset(items, 0, sizeof(items));
    for (int i = 0; i < 3; i++) {
        items[i].key = i == 0 ? "a" : i == 1 ? "b" : "c";
        items[i].keylen = 1;
        items[i].val = MARK_VALUE;
        items[i].len = strlen(MARK_VALUE);
        items[i].ttl_ms = TC_TTL_DEFAULT;
    }
    ck_assert_int_eq(tc_cache_mset(h, "intents", items, 3), TC_OK);
    ck_assert_int_eq(tc_cache_invalidate(h, "intents"), TC_OK);
    tc_classifier_options_init(&co);
    co.fn = tt_host_explains;
    co.fn_version = "host-model-1";
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    tc_classifier_close(c);
    ck_assert_int_eq(tc_audit_record(h, "model_swap", "intents", "fp-2", TC_OK),
                     TC_OK);
    ck_assert_int_eq(tc_audit_record(h, "Model Swap", NULL, NULL, TC_OK),
                     TC_EINVAL);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "op"));

    audit_lines(&ls, log, &text);
    ck_assert_msg(ls.n == 6, "%s", text);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(json_str(ls.v[i], "op"), "mset");
        ck_assert_str_eq(json_str(ls.v[i], "outcome"), "ok");
    }
    ck_assert_str_ne(json_str(ls.v[0], "key"), json_str(ls.v[1], "key"));
    ck_assert_str_eq(json_str(ls.v[3], "op"), "invalidate");
    ck_assert_str_eq(json_str(ls.v[4], "op"), "model_load");
    ck_assert_str_eq(json_str(ls.v[4], "key"), "host-model-1");
    ck_assert_str_eq(json_str(ls.v[5], "op"), "model_swap");
    lines_free(&ls);
    free(text);

    /* logrotate: renamed, then the host's SIGHUP handler */
    ck_assert_int_eq(rename(log, old), 0);
    tc_audit_reopen();
    for (int i = 0; i < SETTERS; i++) {
        st[i].h = h;
        st[i].n = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, set_many, &st[i]), 0);
    }
    for (int i = 0; i < SETTERS; i++) {
        pthread_join(th[i], NULL);
    }
    tc_cache_close(h);
    ck_assert_int_eq(tt_file_lines(old), 6);
    audit_lines(&ls, log, &text);
    ck_assert_uint_eq(ls.n, SETTERS * SETS);
    for (size_t i = 0; i < ls.n; i++) {
        const char *a = json_str(ls.v[i], "actor");

        ck_assert_str_eq(json_str(ls.v[i], "op"), "set");
        ck_assert(strncmp(a, "thread-", 7) == 0);
        per[a[7] - '0']++;
    }
    for (int i = 0; i < SETTERS; i++) {
        ck_assert_int_eq(per[i], SETS);
    }
    ck_assert_ptr_null(strstr(text, "Marker"));
    lines_free(&ls);
    free(text);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

/* An actor longer than 128 bytes is cut before the character the 129th
 * byte belongs to: 127 ASCII bytes and then "é" (2 bytes) keep the 127,
 * never half of the é; a cut that falls between two characters keeps
 * all 128. */
START_TEST(test_audit_actor_cut)
{
    char *dir = tt_test_dir(), log[512], actor[160], *text = NULL;
    tc_cache *h;
    lines ls;

    memset(actor, 'a', 127);
    snprintf(actor + 127, sizeof(actor) - 127, "\xc3\xa9tail");
    h = open_audited(dir, NULL, log, sizeof(log));
    tc_audit_actor(actor);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, TC_TTL_DEFAULT),
                     TC_OK);
    /* 126 ASCII bytes and "éé": the 129th byte starts the second é,
     * so the cut keeps the first whole: 128 bytes */
    snprintf(actor + 126, sizeof(actor) - 126, "\xc3\xa9\xc3\xa9");
    tc_audit_actor(actor);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, TC_TTL_DEFAULT),
                     TC_OK);
    tc_audit_actor(NULL);
    tc_cache_close(h);
    audit_lines(&ls, log, &text);
    ck_assert_uint_eq(ls.n, 2);
    ck_assert_uint_eq(strlen(json_str(ls.v[0], "actor")), 127);
    ck_assert_uint_eq(strlen(json_str(ls.v[1], "actor")), 128);
    lines_free(&ls);
    free(text);
    tt_rmtree(dir);
    free(dir);
}
END_TEST

void suite_cli_audit(Suite *s)
{
    TCase *tc = tcase_create("cli_audit");
    TCase *api = tcase_create("audit_api");

    tcase_add_unchecked_fixture(api, tt_case_setup, tt_case_teardown);
    tcase_add_test(api, test_audit_api);
    tcase_add_test(api, test_audit_user_keyed);
    tcase_add_test(api, test_audit_actor_cut);
    suite_add_tcase(s, api);

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_loop_test(tc, test_audit_lines, 0, 2);
    tcase_add_test(tc, test_audit_unwritable);
    tcase_add_loop_test(tc, test_purge_user, 0, 2);
    tcase_add_loop_test(tc, test_purge_before_text, 0, 2);
    tcase_add_test(tc, test_purge_usage);
    tcase_add_test(tc, test_config_file_mode);
    tcase_add_test(tc, test_password_file);
    suite_add_tcase(s, tc);
}
