/*
 * cluster_call.c - the cache's operations on a Redis Cluster. A call's
 * keys are grouped by the node serving their slot, and each group's
 * commands are pipelined on that node's pool, every node's request sent
 * before any node's replies are read (tc__redis_send, tc__redis_recv):
 * a batch over three masters takes one round trip, not three. A key
 * whose reply is a redirect goes round again: MOVED updates the map and
 * goes to the new owner, ASK goes to the node named, each command
 * preceded by ASKING; TRYAGAIN and CLUSTERDOWN (a slot moving, a
 * failover under way) are retried after a short pause while the call's
 * time lasts.
 *
 * A node that cannot be reached fails its own keys only (its breaker
 * opens as a single server's would) and asks for a new map, which is how
 * a promoted replica is found; the other nodes' keys are answered.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/cluster/cluster.h"
#include "store/redis/redis_store.h"

/* Redirects a key may follow in one call: a MOVED, then an ASK while its
 * slot migrates, and one more for a map that changed meanwhile. */
#define MAX_REDIRECTS 3
/* Rounds of a call; each sends every key still pending. */
#define MAX_ROUNDS 12
/* The first pause before a TRYAGAIN or CLUSTERDOWN is retried, doubled
 * up to WAIT_MAX_MS, always within the call's command timeout. */
#define WAIT_MIN_MS 5
#define WAIT_MAX_MS 50
#define NS_PER_MS 1000000L
/* Groups (nodes) of a call kept on the stack: a key or two, or a batch
 * over a small cluster; each holds its request's first 4 KB. */
#define GROUPS_STACK 3

enum { OP_GET, OP_SET, OP_DEL, OP_INCR };
enum { ST_PENDING, ST_QUEUED, ST_DONE, ST_WAIT, ST_FAILED };

/* A key of a call, and where it stands. */
typedef struct citem {
    const char *key;
    unsigned slot;
    int node;  /* the node of this round */
    int ask;   /* the node of an ASK; -1 none */
    int state; /* ST_* */
    int redirects;
    int rc; /* why it failed (ST_FAILED) */
} citem;

/* A call: its kind, the caller's items, and each key's state. */
typedef struct ccall {
    tc__cluster *c;
    int op, flags;
    const char *cmd;
    void *items;
    citem *it;
    size_t n;
    long long num; /* DEL's and INCR's integer */
    tc__err *err;
} ccall;

/*
 * A node's part of a round: its items in the order sent, its request
 * and its replies. Every group of a round is sent before any is read,
 * so a batch over three masters costs one round trip, not three.
 */
typedef struct cgroup {
    ccall *x;
    int node;
    size_t *grp, ngrp;
    int prefix; /* replies before the items' (READONLY) */
    tc__req q;
    tc__rsink k;
    tc__rsent *sent; /* NULL: not sent (rc says why) */
    int rc;
    tc__rrep stack[TC__REP_STACK];
} cgroup;

/* ---- requests --------------------------------------------------------- */

/* The commands of item i, each after ASKING when it follows an ASK. */
static void build_item(tc__req *q, const ccall *x, size_t i)
{
    const citem *ci = &x->it[i];
    int ask = ci->ask >= 0;

    switch (x->op) {
    case OP_GET:
        if (ask) {
            tc__req_cmd1(q, "ASKING", NULL);
        }
        tc__req_cmd1(q, "GET", ci->key);
        if (ask) {
            tc__req_cmd1(q, "ASKING", NULL);
        }
        tc__req_cmd1(q, "PTTL", ci->key);
        break;
    case OP_SET:
        if (ask) {
            tc__req_cmd1(q, "ASKING", NULL);
        }
        tc__req_mset(q, (tc__store_set *)x->items + i, 1);
        break;
    default:
        if (ask) {
            tc__req_cmd1(q, "ASKING", NULL);
        }
        tc__req_cmd1(q, x->op == OP_DEL ? "DEL" : "INCR", ci->key);
        break;
    }
}

/* Replies of item i: its commands', and an ASKING's before each. */
static size_t item_replies(const ccall *x, size_t i)
{
    return (size_t)(x->op == OP_GET ? 2 : 1) * (x->it[i].ask >= 0 ? 2 : 1);
}

/* ---- replies ---------------------------------------------------------- */

static int prefixed(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

/*
 * A redirect error ("MOVED 3999 127.0.0.1:7001", "ASK ...") for item i:
 * the node named, added when new, becomes the item's next target.
 * Returns 1 when the reply was a redirect (also one that cannot be
 * followed, which fails the item), 0 when it is not one.
 */
static int redirect(ccall *x, size_t i, const tc__rrep *r)
{
    citem *ci = &x->it[i];
    int moved = prefixed(r->str, "MOVED "), node = -1;
    const char *addr, *colon;
    long port;

    if (!moved && !prefixed(r->str, "ASK ")) {
        if (!prefixed(r->str, "TRYAGAIN") && !prefixed(r->str, "CLUSTERDOWN")) {
            return 0;
        }
        if (prefixed(r->str, "CLUSTERDOWN")) {
            tc__cmap_want_refresh(x->c);
        }
        ci->state = ST_WAIT;
        ci->rc =
            tc__errf(x->err, TC_EUNAVAIL, "%s %s: %s", x->cmd, ci->key, r->str);
        return 1;
    }
    addr = strchr(strchr(r->str, ' ') + 1, ' ');
    colon = addr ? strrchr(addr, ':') : NULL;
    port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (colon && port > 0 && port <= 65535) {
        node = tc__cmap_node(x->c, addr + 1, (size_t)(colon - addr - 1),
                             (int)port);
    }
    if (node < 0 || ++ci->redirects > MAX_REDIRECTS) {
        ci->state = ST_FAILED;
        ci->rc = tc__errf(
            x->err, TC_EPROTO, "%s %s: %s (%s)", x->cmd, ci->key, r->str,
            node < 0 ? "a node that cannot be added" : "too many redirects");
        return 1;
    }
    if (moved) {
        tc__cmap_moved(x->c, ci->slot, node);
        ci->ask = -1;
    } else {
        ci->ask = node;
    }
    ci->state = ST_PENDING;
    return 1;
}

/* A SET's, DEL's or INCR's one reply: what the item's own error or the
 * call's means, as the single-server store reads it. */
static int take_one(tc__rcall *cl, ccall *x, size_t i, const tc__rrep *r)
{
    int want = x->op == OP_SET ? REDIS_REPLY_STATUS : REDIS_REPLY_INTEGER;
    int code;

    if (r->type == REDIS_REPLY_ERROR) {
        code = tc__resp_error_code(r->str);
        if (x->op == OP_SET && (code == TC_EPROTO || code == TC_EFULL)) {
            tc__redis_item_failed(cl);
            ((tc__store_set *)x->items)[i].status =
                tc__errf(x->err, code, "SET %s: %s", x->it[i].key, r->str);
            return TC_OK;
        }
        return tc__redis_error_reply(cl, r);
    }
    if (r->type != want) {
        return tc__redis_bad_reply(cl, r);
    }
    x->num = r->integer;
    return TC_OK;
}

/* The replies of a group, item by item in the order sent: an item
 * answered with a redirect goes round again, any other is read as on a
 * single server. */
static int read_group(tc__rcall *cl, tc__rsink *k, void *ud)
{
    cgroup *gp = ud;
    ccall *x = gp->x;
    size_t at = (size_t)gp->prefix, per = x->op == OP_GET ? 2 : 1;
    int rc = TC_OK;

    for (size_t g = 0; g < gp->ngrp && rc == TC_OK; g++) {
        size_t i = gp->grp[g], nr = item_replies(x, i), w = nr / per;
        const tc__rrep *e;
        int redirected = 0;

        for (size_t j = w - 1; j < nr && !redirected; j += w) {
            e = &k->slot[at + j];
            redirected = e->type == REDIS_REPLY_ERROR && redirect(x, i, e);
        }
        if (!redirected) {
            x->it[i].state = ST_DONE;
            if (x->op == OP_GET) {
                rc = tc__redis_mget_item(cl, (tc__store_get *)x->items + i,
                                         &k->slot[at + w - 1],
                                         &k->slot[at + nr - 1]);
            } else {
                rc = take_one(cl, x, i, &k->slot[at + w - 1]);
            }
        }
        at += nr;
    }
    return rc;
}

/* ---- rounds ----------------------------------------------------------- */

/* Sends the group's items to its node; the replies wait for
 * group_recv. */
static void group_send(cgroup *g)
{
    ccall *x = g->x;
    size_t nrep = 0;

    g->prefix = x->op == OP_GET && x->c->read_replica;
    tc__req_init(&g->q);
    if (g->prefix) {
        /* Reads may be served by a replica only on a READONLY
         * connection; a master answers OK and serves as always. */
        tc__req_cmd1(&g->q, "READONLY", NULL);
    }
    for (size_t i = 0; i < g->ngrp; i++) {
        build_item(&g->q, x, g->grp[i]);
        nrep += item_replies(x, g->grp[i]);
    }
    if (tc__sink_init(&g->k, g->stack, nrep + (size_t)g->prefix, 0) != 0) {
        g->k.slot = NULL;
        g->rc = tc__errf(x->err, TC_ENOMEM, "%s of %zu keys: out of memory",
                         x->cmd, g->ngrp);
        return;
    }
    g->rc = tc__redis_send(&g->sent, x->c->node[g->node]->st, x->flags, x->cmd,
                           x->it[g->grp[0]].key, g->ngrp, &g->q, x->err);
}

/* Reads the replies of a group sent, and frees what it holds. */
static void group_recv(cgroup *g)
{
    if (g->sent) {
        g->rc = tc__redis_recv(g->sent, &g->k, read_group, g);
    }
    tc__req_free(&g->q);
    tc__sink_free(&g->k, g->stack);
}

/* Fails every item of a group not settled yet with rc. */
static void fail_group(ccall *x, const size_t *grp, size_t ngrp, int rc)
{
    for (size_t g = 0; g < ngrp; g++) {
        citem *ci = &x->it[grp[g]];

        if (ci->state != ST_DONE) {
            ci->state = ST_FAILED;
            ci->rc = rc;
        }
    }
}

/*
 * One round: each pending item's node (the ASK's, or the map's), then
 * one request per node, every node's sent before any node's replies are
 * read. An item whose slot has no node fails; a node that fails as a
 * whole fails its items and asks for a new map. gs has room for a group
 * per node. Items
 * redirected during the round wait for the next. Returns how many items
 * are left for another round.
 */
static int round_once(ccall *x, size_t *grp, cgroup *gs)
{
    size_t ng = 0, used = 0;
    int left = 0;

    for (size_t i = 0; i < x->n; i++) {
        citem *ci = &x->it[i];

        if (ci->state != ST_PENDING && ci->state != ST_WAIT) {
            continue;
        }
        ci->state = ST_QUEUED;
        ci->node = ci->ask >= 0
                       ? ci->ask
                       : tc__cmap_route(x->c, ci->slot, x->op == OP_GET);
        if (ci->node < 0) {
            tc__cmap_want_refresh(x->c);
            ci->state = ST_FAILED;
            ci->rc = tc__errf(x->err, TC_EUNAVAIL,
                              "%s %s: no node serves slot %u (the cluster's "
                              "map is not known yet)",
                              x->cmd, ci->key, ci->slot);
        }
    }
    /* the queued items by node, each node's a slice of grp */
    for (size_t i = 0; i < x->n; i++) {
        int node = x->it[i].node;

        if (x->it[i].state != ST_QUEUED) {
            continue;
        }
        gs[ng].x = x;
        gs[ng].node = node;
        gs[ng].grp = grp + used;
        gs[ng].ngrp = 0;
        gs[ng].sent = NULL;
        for (size_t j = i; j < x->n; j++) {
            if (x->it[j].state == ST_QUEUED && x->it[j].node == node) {
                x->it[j].state = ST_PENDING;
                gs[ng].grp[gs[ng].ngrp++] = j;
            }
        }
        used += gs[ng++].ngrp;
    }
    /*
     * In the order of the nodes' indexes: a call holds one node's
     * connection while it takes the next node's (waiting when that pool
     * is busy), and calls that all take them in one order never wait on
     * each other in a circle.
     */
    for (int nd = 0, nsent = 0; (size_t)nsent < ng; nd++) {
        for (size_t g = 0; g < ng; g++) {
            if (gs[g].node == nd) {
                group_send(&gs[g]);
                nsent++;
            }
        }
    }
    for (size_t g = 0; g < ng; g++) {
        group_recv(&gs[g]);
        if (gs[g].rc != TC_OK) {
            fail_group(x, gs[g].grp, gs[g].ngrp, gs[g].rc);
            if (gs[g].rc == TC_EUNAVAIL || gs[g].rc == TC_ETIMEOUT) {
                tc__cmap_want_refresh(x->c);
            }
        }
    }
    for (size_t i = 0; i < x->n; i++) {
        left += x->it[i].state == ST_PENDING || x->it[i].state == ST_WAIT;
    }
    return left;
}

/* ---- calls ------------------------------------------------------------ */

static void pause_ms(int64_t ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * NS_PER_MS};

    nanosleep(&t, NULL);
}

/*
 * Runs a call's rounds until every item is settled, a redirect bound is
 * met, or the command timeout has passed: a TRYAGAIN or CLUSTERDOWN item
 * waits a little before the next round, never past the deadline. Then
 * the items still waiting fail with what the cluster last said.
 */
static void run_call(ccall *x, size_t *grp, cgroup *gs)
{
    int64_t deadline = tc__now_ms() + x->c->cfg->command_timeout_ms;
    int64_t wait = WAIT_MIN_MS, now;
    int waiting;

    for (int r = 0; r < MAX_ROUNDS && round_once(x, grp, gs) > 0; r++) {
        waiting = 0;
        for (size_t i = 0; i < x->n; i++) {
            waiting |= x->it[i].state == ST_WAIT;
        }
        now = tc__now_ms();
        if (waiting && now + wait >= deadline) {
            break;
        }
        if (waiting) {
            pause_ms(wait);
            wait = wait * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : wait * 2;
        }
    }
    for (size_t i = 0; i < x->n; i++) {
        citem *ci = &x->it[i];

        if (ci->state == ST_PENDING || ci->state == ST_WAIT) {
            if (ci->state == ST_PENDING) {
                ci->rc = tc__errf(x->err, TC_EUNAVAIL,
                                  "%s %s: still redirected after %d rounds",
                                  x->cmd, ci->key, MAX_ROUNDS);
            }
            ci->state = ST_FAILED;
        }
        if (ci->state == ST_FAILED) {
            atomic_fetch_add(&x->c->errors, 1);
        }
    }
}

/*
 * Starts a call of n keys (the key of item i at keys + i * stride; an
 * mset item refused before is not sent), runs it and returns the failure of the
 * whole call: the first item's when every item sent failed (what a single
 * server's call that could not run returns), else TC_OK with the items' own.
 */
static int call(ccall *x, const char *const *keys, size_t stride, size_t n)
{
    citem stack_it[TC__REP_STACK];
    size_t stack_grp[TC__REP_STACK], *grp = stack_grp;
    cgroup stack_gs[GROUPS_STACK], *gs = stack_gs;
    /* a group per node a round sends to: at most one per key */
    size_t maxg = n < TC__CLUSTER_MAX_NODES ? n : TC__CLUSTER_MAX_NODES;
    size_t sent = 0, failed = 0;
    int first = TC_OK;

    x->n = n;
    x->it = stack_it;
    if (n > TC__REP_STACK) {
        x->it = tc__calloc(n, sizeof(*x->it));
        grp = tc__calloc(n, sizeof(*grp));
    }
    if (maxg > GROUPS_STACK) {
        gs = tc__calloc(maxg, sizeof(*gs));
    }
    if (!x->it || !grp || !gs) {
        if (x->it != stack_it) {
            tc__free(x->it);
            tc__free(grp);
        }
        if (gs != stack_gs) {
            tc__free(gs);
        }
        return tc__errf(x->err, TC_ENOMEM, "%s of %zu keys: out of memory",
                        x->cmd, n);
    }
    for (size_t i = 0; i < n; i++) {
        const char *key =
            *(const char *const *)((const char *)keys + i * stride);
        citem *ci = &x->it[i];

        memset(ci, 0, sizeof(*ci));
        ci->key = key;
        ci->ask = -1;
        if (x->op == OP_SET && ((tc__store_set *)x->items)[i].status) {
            key = NULL; /* refused before: not sent */
        }
        ci->state = key ? ST_PENDING : ST_DONE;
        ci->slot = key ? tc__cluster_slot(key, strlen(key)) : 0;
        sent += key != NULL;
    }
    run_call(x, grp, gs);
    for (size_t i = 0; i < n; i++) {
        if (x->it[i].state != ST_FAILED) {
            continue;
        }
        first = failed++ ? first : x->it[i].rc;
        if (x->op == OP_GET) {
            ((tc__store_get *)x->items)[i].status = x->it[i].rc;
        } else if (x->op == OP_SET) {
            ((tc__store_set *)x->items)[i].status = x->it[i].rc;
        }
    }
    if (x->it != stack_it) {
        tc__free(x->it);
        tc__free(grp);
    }
    if (gs != stack_gs) {
        tc__free(gs);
    }
    return sent > 0 && failed == sent ? first : TC_OK;
}

int tc__cluster_mget(tc__store *s, tc__store_get *items, size_t n, tc__err *err)
{
    ccall x = {.c = (tc__cluster *)s,
               .op = OP_GET,
               .flags = TC__REDIS_IDEMPOTENT,
               .cmd = "GET",
               .items = items,
               .err = err};
    int rc;

    rc = tc__store_get_check(items, n, err);
    if (rc != TC_OK) {
        return rc;
    }
    rc = call(&x, &items[0].key, sizeof(*items), n);
    for (size_t i = 0; i < n; i++) {
        if (rc != TC_OK || items[i].status < 0) {
            /* a failed item keeps its own error when others answered */
            tc__free(items[i].val);
            items[i].val = NULL;
            items[i].len = 0;
            items[i].status = rc != TC_OK ? rc : items[i].status;
        }
    }
    return rc;
}

int tc__cluster_mset(tc__store *s, tc__store_set *items, size_t n, tc__err *err)
{
    ccall x = {.c = (tc__cluster *)s,
               .op = OP_SET,
               .flags = TC__REDIS_IDEMPOTENT,
               .cmd = "SET",
               .items = items,
               .err = err};
    int rc;

    for (size_t i = 0; i < n; i++) {
        items[i].status = tc__store_set_check(&items[i], i, err);
    }
    rc = call(&x, &items[0].key, sizeof(*items), n);
    for (size_t i = 0; i < n && rc != TC_OK; i++) {
        if (items[i].status == TC_OK) {
            items[i].status = rc;
        }
    }
    return rc;
}

int tc__cluster_del(tc__store *s, const char *key, tc__err *err)
{
    ccall x = {.c = (tc__cluster *)s,
               .op = OP_DEL,
               .flags = TC__REDIS_IDEMPOTENT,
               .cmd = "DEL",
               .items = NULL,
               .err = err};
    int rc;

    rc = call(&x, &key, 0, 1);
    return rc == TC_OK && x.num == 0 ? TC_MISS : rc;
}

int tc__cluster_incr(tc__store *s, const char *key, int64_t *out, tc__err *err)
{
    /* Not idempotent: a reply lost after the server applied it must not
     * be retried, or the counter would move twice. A redirect is safe to
     * follow: the node that redirects did not apply it. */
    ccall x = {.c = (tc__cluster *)s,
               .op = OP_INCR,
               .flags = 0,
               .cmd = "INCR",
               .items = NULL,
               .err = err};
    int rc;

    rc = call(&x, &key, 0, 1);
    *out = rc == TC_OK ? (int64_t)x.num : 0;
    return rc;
}
