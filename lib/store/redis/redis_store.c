/*
 * redis_store.c - the cache's operations on a Redis server: a batched get
 * is a GET and a PTTL per key (the PTTL lets an L1 fill keep the entry's
 * remaining TTL), a batched set a SET ... PX per item, all pipelined in
 * one round trip on a pooled connection (redis_pool.c). A reply that
 * concerns one key alone (WRONGTYPE, OOM) fails that item, not the call.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/redis_store.h"

/* What PTTL answers for a key that does not exist (-1: no TTL). */
#define PTTL_NO_KEY (-2)

/* The one-reply check of command(): its type, and an integer's value. */
typedef struct want {
    int type;
    long long *num;
} want;

static int read_one(tc__rcall *cl, tc__rsink *k, void *ud)
{
    const want *w = ud;
    const tc__rrep *r = &k->slot[0];
    int rc = tc__redis_reply_is(cl, r, w->type);

    if (rc != TC_OK) {
        return rc;
    }
    if (w->num) {
        *w->num = r->integer;
    }
    return TC_OK;
}

/*
 * Runs one command of one or two words whose reply must be of type
 * `type`; an integer reply is stored in *num.
 */
static int command(tc__store *s, int flags, int type, const char *cmd,
                   const char *key, long long *num, tc__err *err)
{
    tc__rrep r;
    tc__rsink k = {&r, 1, 0, 0};
    want w = {type, num};
    tc__req q;
    int rc;

    tc__req_init(&q);
    tc__req_cmd1(&q, cmd, key);
    rc = tc__redis_run(s, flags, cmd, key, 1, &q, &k, read_one, &w, err);
    tc__sink_clear(&k);
    tc__req_free(&q);
    return rc;
}

/* ---- operations ------------------------------------------------------- */

/*
 * One item of an mget from its GET and PTTL replies. The PTTL is what
 * lets an L1 fill keep the L2 entry's remaining TTL. The value read is
 * handed over as it is (the slot holds a tc__malloc'd copy).
 */
int tc__redis_mget_item(tc__rcall *cl, tc__store_get *it, tc__rrep *get,
                        const tc__rrep *ttl)
{
    int code;

    if (get->type == REDIS_REPLY_NIL) {
        return TC_OK;
    }
    if (get->type == REDIS_REPLY_ERROR) {
        code = tc__resp_error_code(get->str);
        if (code == TC_EPROTO || code == TC_EFULL) {
            /* Such as WRONGTYPE: this key's trouble, not the call's. The
             * detail still goes to err, for the caller to log. */
            tc__redis_item_failed(cl);
            it->status = tc__errf(tc__redis_call_err(cl), code, "GET %s: %s",
                                  it->key, get->str);
            return TC_OK;
        }
        return tc__redis_error_reply(cl, get);
    }
    if (get->type != REDIS_REPLY_STRING || ttl->type != REDIS_REPLY_INTEGER) {
        return tc__redis_bad_reply(cl,
                                   get->type != REDIS_REPLY_STRING ? get : ttl);
    }
    if (ttl->integer == PTTL_NO_KEY) {
        return TC_OK; /* expired between the GET and the PTTL */
    }
    it->val = get->str;
    it->len = get->len;
    get->str = NULL;
    it->ttl_ms = ttl->integer < 0 ? -1 : (int64_t)ttl->integer;
    it->status = TC_OK;
    return TC_OK;
}

/* The replies of an mget: a GET and a PTTL per item (ud). */
static int read_mget(tc__rcall *cl, tc__rsink *k, void *ud)
{
    tc__store_get *items = ud;
    int rc = TC_OK;

    for (size_t i = 0; i < k->n / 2 && rc == TC_OK; i++) {
        rc = tc__redis_mget_item(cl, &items[i], &k->slot[2 * i],
                                 &k->slot[2 * i + 1]);
    }
    return rc;
}

int tc__redis_mget(tc__store *st, tc__store_get *items, size_t n, tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k = {NULL, 0, 0, 0};
    tc__req q;
    int rc;

    rc = tc__store_get_check(items, n, err);
    if (rc != TC_OK) {
        return rc;
    }
    if (n == 0) {
        return TC_OK;
    }
    tc__req_init(&q);
    tc__req_mget(&q, items, n);
    if (n > SIZE_MAX / 2 || tc__sink_init(&k, stack, 2 * n, 0) != 0 ||
        tc__req_done(&q) != 0) {
        tc__req_free(&q);
        tc__sink_free(&k, stack);
        return tc__errf(err, TC_ENOMEM, "mget of %zu keys: out of memory", n);
    }
    rc = tc__redis_run(st, TC__REDIS_IDEMPOTENT, "GET", items[0].key, n, &q, &k,
                       read_mget, items, err);
    tc__req_free(&q);
    tc__sink_free(&k, stack);
    for (size_t i = 0; i < n && rc != TC_OK; i++) {
        tc__free(items[i].val);
        items[i].val = NULL;
        items[i].len = 0;
        items[i].status = rc;
    }
    return rc;
}

/* The replies of an mset: one per item (ud) that was sent. */
static int read_mset(tc__rcall *cl, tc__rsink *k, void *ud)
{
    tc__store_set *it = ud;
    int rc = TC_OK, code;

    for (size_t m = 0; m < k->n && rc == TC_OK; it++) {
        const tc__rrep *r;

        if (it->status != TC_OK) {
            continue; /* refused before, never sent */
        }
        r = &k->slot[m++];
        if (r->type == REDIS_REPLY_ERROR) {
            code = tc__resp_error_code(r->str);
            if (code == TC_EPROTO || code == TC_EFULL) {
                tc__redis_item_failed(cl);
                it->status = tc__errf(tc__redis_call_err(cl), code,
                                      "SET %s: %s", it->key, r->str);
            } else {
                rc = tc__redis_error_reply(cl, r);
            }
        } else if (r->type != REDIS_REPLY_STATUS) {
            rc = tc__redis_bad_reply(cl, r);
        }
    }
    return rc;
}

int tc__redis_mset(tc__store *st, tc__store_set *items, size_t n, tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k = {NULL, 0, 0, 0};
    size_t nsend = 0, j = 0;
    tc__req q;
    int rc;

    for (size_t i = 0; i < n; i++) {
        items[i].status = tc__store_set_check(&items[i], i, err);
        nsend += items[i].status == TC_OK;
    }
    if (nsend == 0) {
        return TC_OK;
    }
    tc__req_init(&q);
    tc__req_mset(&q, items, n);
    if (tc__sink_init(&k, stack, nsend, 0) != 0 || tc__req_done(&q) != 0) {
        tc__req_free(&q);
        tc__sink_free(&k, stack);
        return tc__errf(err, TC_ENOMEM, "mset of %zu keys: out of memory", n);
    }
    for (j = 0; items[j].status != TC_OK; j++) {
    }
    rc = tc__redis_run(st, TC__REDIS_IDEMPOTENT, "SET", items[j].key, nsend, &q,
                       &k, read_mset, items, err);
    tc__req_free(&q);
    tc__sink_free(&k, stack);
    for (size_t i = 0; i < n && rc != TC_OK; i++) {
        if (items[i].status == TC_OK) {
            items[i].status = rc;
        }
    }
    return rc;
}

int tc__redis_del(tc__store *st, const char *key, tc__err *err)
{
    long long n = 0;
    int rc;

    rc = command(st, TC__REDIS_IDEMPOTENT, REDIS_REPLY_INTEGER, "DEL", key, &n,
                 err);
    return rc == TC_OK && n == 0 ? TC_MISS : rc;
}

int tc__redis_incr(tc__store *st, const char *key, int64_t *out, tc__err *err)
{
    long long n = 0;
    int rc;

    /* Not idempotent: a reply lost after the server applied it must not
     * be retried, or the counter would move twice. */
    rc = command(st, 0, REDIS_REPLY_INTEGER, "INCR", key, &n, err);
    *out = rc == TC_OK ? (int64_t)n : 0;
    return rc;
}

int tc__redis_ping(tc__store *st, tc__err *err)
{
    return command(st, TC__REDIS_BYPASS | TC__REDIS_IDEMPOTENT,
                   REDIS_REPLY_STATUS, "PING", NULL, NULL, err);
}
