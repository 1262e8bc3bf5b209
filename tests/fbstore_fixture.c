/*
 * fbstore_fixture.c - the fbstore_redis suite's server, store, records and
 * collector (see fbstore_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbstore_fixture.h"

static trs *g_srv;
static tc__store *g_st;
static const tc__logger g_quiet = {.level = TC_LOG_OFF};

void fr_setup(void)
{
    g_srv = NULL;
    g_st = NULL;
}

trs *fr_srv(void)
{
    return g_srv;
}

void fr_close(void)
{
    if (g_st) {
        g_st->ops->close(g_st);
        g_st = NULL;
    }
}

void fr_teardown(void)
{
    fr_close();
    trs_stop(g_srv);
    g_srv = NULL;
    tc__fb_redis_set_script_batch(0);
}

tc__store *fr_open_port(int port, int timeout_ms)
{
    tc__store_config cfg;
    tc__err err = {""};

    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.connect_timeout_ms = cfg.command_timeout_ms = timeout_ms;
    cfg.pool_size = 4;
    ck_assert_int_eq(tc__store_redis_open(&g_st, &cfg, &g_quiet, &err), TC_OK);
    return g_st;
}

tc__store *fr_start(int timeout_ms)
{
    g_srv = trs_start(NULL);
    ck_assert_msg(g_srv != NULL, "redis-server did not start");
    return fr_open_port(trs_port(g_srv), timeout_ms ? timeout_ms : 1000);
}

long long fr_cmd_int(const char *fmt, const char *arg)
{
    char *got = trs_cmd(g_srv, fmt, arg);
    long long v;

    ck_assert_ptr_nonnull(got);
    v = strcmp(got, "(nil)") == 0 ? 0 : atoll(got);
    free(got);
    return v;
}

static uint64_t g_seq;

void fr_recs_make(recs *r, size_t n, int64_t ms, int64_t override_ttl)
{
    r->n = n;
    r->id = calloc(n, sizeof(*r->id));
    r->json = calloc(n, sizeof(*r->json));
    r->okey = calloc(n, sizeof(*r->okey));
    r->items = calloc(n, sizeof(*r->items));
    ck_assert(r->id && r->json && r->okey && r->items);
    if (ms <= 0) {
        ms = tc__wall_ms();
    }
    for (size_t i = 0; i < n; i++) {
        tc__fb_put *it = &r->items[i];
        int corr = i % 2 == 0;

        snprintf(r->id[i], sizeof(r->id[i]), "%013lld-%016llx", (long long)ms,
                 (unsigned long long)++g_seq);
        snprintf(r->json[i], sizeof(r->json[i]),
                 "{\"id\":\"%s\",\"text\":\"text %zu\",\"feedback_type\":"
                 "\"%s\"}",
                 r->id[i], i, corr ? "correction" : "confirmation");
        it->id = r->id[i];
        it->json = r->json[i];
        it->len = strlen(r->json[i]);
        it->type = corr ? "correction" : "confirmation";
        it->original = "greet";
        it->correct = corr ? "ask_help" : "greet";
        if (corr && override_ttl > 0) {
            snprintf(r->okey[i], sizeof(r->okey[i]), "tc:ifb:%016llx",
                     (unsigned long long)g_seq);
            it->override_key = r->okey[i];
            it->override_val = "{\"intent\":\"ask_help\"}";
            it->override_len = strlen(it->override_val);
            it->override_ttl_ms = override_ttl;
        }
        it->status = 99;
    }
}

void fr_recs_free(recs *r)
{
    free(r->id);
    free(r->json);
    free(r->okey);
    free(r->items);
}

int fr_put(tc__store *st, recs *r, int64_t retention, tc__err *err)
{
    return tc__fb_redis_ops.put(st, r->items, r->n, retention, err);
}

void fr_put_new(tc__store *st, recs *r, size_t n, int64_t override_ttl)
{
    tc__err err = {""};
    int rc;

    fr_recs_make(r, n, 0, override_ttl);
    rc = fr_put(st, r, 30 * DAY_MS, &err);
    ck_assert_msg(rc == TC_OK, "put %zu records: %d (%s)", n, rc, err.msg);
}

int fr_collect(void *ud, const char *id, const char *json, size_t len)
{
    seen *s = ud;

    ck_assert_uint_eq(strlen(json), len);
    ck_assert_ptr_nonnull(strstr(json, id));
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->id = realloc(s->id, s->cap * sizeof(*s->id));
        ck_assert_ptr_nonnull(s->id);
    }
    snprintf(s->id[s->n++], TC_FEEDBACK_ID_MAX, "%s", id);
    return s->stop_after && (int)s->n == s->stop_after ? 42 : 0;
}

uint64_t fr_count_of(const tc__fb_stats *st, const char *name)
{
    for (size_t i = 0; i < st->ncounts; i++) {
        if (strcmp(st->counts[i].name, name) == 0) {
            return st->counts[i].value;
        }
    }
    return 0;
}

void fr_queue_is(tc__store *st, uint64_t kept, uint64_t pending,
                 uint64_t queued)
{
    tc__err err = {""};
    tc__fb_stats s;

    ck_assert_msg(tc__fb_redis_ops.stats(st, &s, &err) == TC_OK, "stats: %s",
                  err.msg);
    ck_assert_msg(s.kept == kept && s.pending == pending && s.queued == queued,
                  "kept %llu pending %llu queued %llu, want %llu %llu %llu",
                  (unsigned long long)s.kept, (unsigned long long)s.pending,
                  (unsigned long long)s.queued, (unsigned long long)kept,
                  (unsigned long long)pending, (unsigned long long)queued);
    tc__fb_stats_release(&s);
}

size_t fr_consume(tc__store *st, const char *who, size_t max,
                  int64_t claim_idle_ms, char ***ids, char ***rec)
{
    tc__err err = {""};
    size_t n = 0;

    ck_assert_msg(tc__fb_redis_ops.consume(st, who, max, claim_idle_ms, ids,
                                           rec, &n, &err) == TC_OK,
                  "consume as %s: %s", who, err.msg);
    return n;
}

void fr_ack(tc__store *st, char **ids, size_t n)
{
    tc__err err = {""};

    ck_assert_msg(tc__fb_redis_ops.ack(st, (const char *const *)ids, n, &err) ==
                      TC_OK,
                  "ack: %s", err.msg);
}

void fr_batch_free(char **ids, char **rec, size_t n)
{
    tc__fb_strings_free(ids, n);
    tc__fb_strings_free(rec, n);
}
