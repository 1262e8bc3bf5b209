/*
 * redis_script.c - the feedback scripts and their calls. Every feedback
 * write is a Lua script, so that a record, its counters, its queue entry
 * and its override are applied together and no other client sees half
 * of them. The scripts live in lua/NAME.lua and are embedded at build
 * time (scripts/lua2c.sh, from the Makefile); their comments stay in
 * those files. A script goes as EVALSHA, its digest learnt once per
 * process with SCRIPT LOAD, and as EVAL when the server answers NOSCRIPT
 * (it restarted, or its script cache was flushed). Each call runs on the
 * Redis store's pool, timeouts and breaker (tc__redis_run).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/redis_store.h"

#include "store/redis/lua/ack.lua.h"
#include "store/redis/lua/consume.lua.h"
#include "store/redis/lua/pop_add.lua.h"
#include "store/redis/lua/pop_top.lua.h"
#include "store/redis/lua/purge.lua.h"
#include "store/redis/lua/put.lua.h"
#include "store/redis/lua/stats.lua.h"
#include "store/redis/lua/tally_add.lua.h"
#include "store/redis/lua/tally_read.lua.h"
#include "store/redis/lua/trim.lua.h"

/* A script's digest: SHA-1 in hex, as SCRIPT LOAD answers it. */
#define SHA_HEX 40

static const char *const script_src[TC__NSCRIPTS] = {
    [TC__SCRIPT_PUT] = put_lua,
    [TC__SCRIPT_CONSUME] = consume_lua,
    [TC__SCRIPT_ACK] = ack_lua,
    [TC__SCRIPT_TRIM] = trim_lua,
    [TC__SCRIPT_STATS] = stats_lua,
    [TC__SCRIPT_PURGE] = purge_lua,
    [TC__SCRIPT_POP_ADD] = pop_add_lua,
    [TC__SCRIPT_POP_TOP] = pop_top_lua,
    [TC__SCRIPT_TALLY_ADD] = tally_add_lua,
    [TC__SCRIPT_TALLY_READ] = tally_read_lua,
};
static const char *const script_name[TC__NSCRIPTS] = {
    [TC__SCRIPT_PUT] = "FEEDBACK PUT",
    [TC__SCRIPT_CONSUME] = "FEEDBACK CONSUME",
    [TC__SCRIPT_ACK] = "FEEDBACK ACK",
    [TC__SCRIPT_TRIM] = "FEEDBACK TRIM",
    [TC__SCRIPT_STATS] = "FEEDBACK STATS",
    [TC__SCRIPT_PURGE] = "FEEDBACK PURGE",
    [TC__SCRIPT_POP_ADD] = "POPULAR ADD",
    [TC__SCRIPT_POP_TOP] = "POPULAR TOP",
    [TC__SCRIPT_TALLY_ADD] = "TALLY ADD",
    [TC__SCRIPT_TALLY_READ] = "TALLY READ",
};

/* The digests are the server's answer, never computed here: no SHA-1 in
 * the library. Written once under sha_mu, read after shas_known. */
static char script_sha[TC__NSCRIPTS][SHA_HEX + 1];
static _Atomic int shas_known;
static pthread_mutex_t sha_mu = PTHREAD_MUTEX_INITIALIZER;

static int read_shas(tc__rcall *cl, tc__rsink *k, void *ud)
{
    char(*got)[SHA_HEX + 1] = ud;

    for (size_t i = 0; i < k->n; i++) {
        const tc__rrep *r = &k->slot[i];

        if (r->type == REDIS_REPLY_ERROR) {
            return tc__redis_error_reply(cl, r);
        }
        if (r->type != REDIS_REPLY_STRING || r->len != SHA_HEX) {
            return tc__redis_bad_reply(cl, r);
        }
        memcpy(got[i], r->str, SHA_HEX + 1);
    }
    return TC_OK;
}

/*
 * Learns the digests on the first call of the process that needs one;
 * what names the call in messages ("FEEDBACK PUT (SCRIPT LOAD): ...").
 */
static int load_shas(tc__store *s, const char *what, tc__err *err)
{
    char label[64];
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    char got[TC__NSCRIPTS][SHA_HEX + 1];
    tc__req q;
    int rc;

    if (atomic_load_explicit(&shas_known, memory_order_acquire)) {
        return TC_OK;
    }
    tc__req_init(&q);
    for (int i = 0; i < TC__NSCRIPTS; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", script_src[i]};

        tc__req_argv(&q, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    }
    tc__sink_init(&k, stack, TC__NSCRIPTS, 0);
    snprintf(label, sizeof(label), "%s (SCRIPT LOAD)", what);
    rc = tc__redis_run(s, TC__REDIS_IDEMPOTENT, label, NULL, 1, &q, &k,
                       read_shas, got, err);
    tc__sink_free(&k, stack);
    tc__req_free(&q);
    if (rc == TC_OK) {
        pthread_mutex_lock(&sha_mu);
        if (!atomic_load(&shas_known)) {
            memcpy(script_sha, got, sizeof(got));
            atomic_store_explicit(&shas_known, 1, memory_order_release);
        }
        pthread_mutex_unlock(&sha_mu);
    }
    return rc;
}

void tc__scall_head(tc__req *q, const tc__scall *sc, size_t nwords)
{
    tc__req_len(q, '*', 2 + nwords);
    if (sc->eval) {
        tc__req_str(q, "EVAL");
        tc__req_str(q, script_src[sc->which]);
    } else {
        tc__req_str(q, "EVALSHA");
        tc__req_bulk(q, script_sha[sc->which], SHA_HEX);
    }
}

static int read_script(tc__rcall *cl, tc__rsink *k, void *ud)
{
    static const char noscript[] = "NOSCRIPT";
    tc__scall *sc = ud;
    int rc;

    sc->cur = 0;
    for (size_t j = 0; j < k->n; j++) {
        tc__rrep *r = &k->slot[j];
        size_t i = j;

        if (sc->wait_replicas > 0 && j == k->n - 1) {
            /* WAIT's count of the replicas that have the calls' writes */
            if (r->type != REDIS_REPLY_INTEGER) {
                return r->type == REDIS_REPLY_ERROR
                           ? tc__redis_error_reply(cl, r)
                           : tc__redis_bad_reply(cl, r);
            }
            sc->acked = r->integer < sc->acked ? r->integer : sc->acked;
            break;
        }
        if (sc->eval) {
            while (!sc->retry[sc->cur]) {
                sc->cur++;
            }
            i = sc->cur++;
        } else if (r->type == REDIS_REPLY_ERROR &&
                   strncmp(r->str, noscript, sizeof(noscript) - 1) == 0) {
            sc->retry[i] = 1;
            sc->nretry++;
            continue;
        }
        if ((rc = sc->take(cl, r, sc, i)) != TC_OK) {
            return rc;
        }
    }
    return TC_OK;
}

/*
 * Runs the calls as EVALSHA, then those that met NOSCRIPT as EVAL (which
 * also puts the script back in the server's cache). A NOSCRIPT call ran
 * nothing, so sending it again is safe whatever the script does.
 */
int tc__scall_run(tc__store *s, tc__scall *sc, int flags, const char *key,
                  size_t nkeys, tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k = {NULL, 0, 0, 0};
    unsigned char one = 0;
    tc__req q;
    int rc;

    if ((rc = load_shas(s, script_name[sc->which], err)) != TC_OK) {
        return rc;
    }
    sc->nretry = 0;
    sc->acked = sc->wait_replicas;
    sc->retry = sc->ncalls == 1 ? &one : tc__calloc(sc->ncalls, 1);
    if (!sc->retry) {
        return tc__errf(err, TC_ENOMEM, "%s: out of memory",
                        script_name[sc->which]);
    }
    for (sc->eval = 0; sc->eval < 2; sc->eval++) {
        size_t n = sc->eval ? sc->nretry : sc->ncalls;

        tc__req_init(&q);
        for (size_t i = 0; i < sc->ncalls; i++) {
            if (!sc->eval || sc->retry[i]) {
                sc->build(&q, sc, i);
            }
        }
        if (sc->wait_replicas > 0) {
            /* on the same connection, in the same round trip: WAIT
             * counts the replicas that have this connection's writes */
            tc__req_len(&q, '*', 3);
            tc__req_str(&q, "WAIT");
            tc__req_i64(&q, sc->wait_replicas);
            tc__req_i64(&q, sc->wait_ms);
            n++;
        }
        if (tc__sink_init(&k, stack, n, 1) != 0) {
            rc = tc__errf(err, TC_ENOMEM, "%s: out of memory",
                          script_name[sc->which]);
        } else {
            rc = tc__redis_run(s, flags, script_name[sc->which], key, nkeys, &q,
                               &k, read_script, sc, err);
        }
        tc__sink_free(&k, stack);
        tc__req_free(&q);
        if (rc != TC_OK || sc->nretry == 0) {
            break;
        }
    }
    if (sc->retry != &one) {
        tc__free(sc->retry);
    }
    sc->retry = NULL;
    return rc;
}
