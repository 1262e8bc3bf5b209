/*
 * redis_pop.c - the popularity table on Redis: a sorted set of counts by
 * id (TC__POP_RANK_KEY) and a hash of each id's text (TC__POP_TEXT_KEY),
 * written and read by two scripts (lua/pop_add.lua, lua/pop_top.lua), so
 * that an id's count and its text come and go together and the trim
 * sees no half-applied add. Both keys carry one hash tag, so the cluster
 * store runs the same scripts on the master of that slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/redis_store.h"

/* Ids per script call: a long ARGV list costs the server one stack. */
#define POP_BATCH 1000

typedef struct pop_ctx {
    const tc__pop_add *items;
    size_t n;
    char keep[24];
    tc__pop_top *top; /* pop_top's answer */
    size_t got;
} pop_ctx;

/* Call i of an add: keep, then (id, count, text) per item of batch i. */
static void build_add(tc__req *q, const tc__scall *sc, size_t i)
{
    const pop_ctx *x = sc->ud;
    size_t from = i * POP_BATCH;
    size_t to = from + POP_BATCH < x->n ? from + POP_BATCH : x->n;

    tc__scall_head(q, sc, 4 + 3 * (to - from));
    tc__req_i64(q, 2);
    tc__req_str(q, TC__POP_RANK_KEY);
    tc__req_str(q, TC__POP_TEXT_KEY);
    tc__req_str(q, x->keep);
    for (size_t j = from; j < to; j++) {
        tc__req_str(q, x->items[j].id);
        tc__req_i64(q, (int64_t)x->items[j].count);
        tc__req_bulk(q, x->items[j].text, x->items[j].len);
    }
}

static int take_add(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    (void)sc;
    (void)i;
    return tc__redis_reply_is(cl, r, REDIS_REPLY_INTEGER);
}

int tc__redis_pop_add(tc__store *s, const tc__pop_add *items, size_t n,
                      size_t keep, tc__err *err)
{
    pop_ctx x = {.items = items, .n = n};
    tc__scall sc = {.which = TC__SCRIPT_POP_ADD,
                    .ncalls = (n + POP_BATCH - 1) / POP_BATCH,
                    .build = build_add,
                    .take = take_add,
                    .ud = &x};

    if (n == 0) {
        return TC_OK;
    }
    snprintf(x.keep, sizeof(x.keep), "%zu", keep);
    /* Not idempotent: a script run twice would count twice. */
    return tc__scall_run(s, &sc, 0, TC__POP_RANK_KEY, 1, err);
}

static void build_top(tc__req *q, const tc__scall *sc, size_t i)
{
    const pop_ctx *x = sc->ud;

    (void)i;
    tc__scall_head(q, sc, 4);
    tc__req_i64(q, 2);
    tc__req_str(q, TC__POP_RANK_KEY);
    tc__req_str(q, TC__POP_TEXT_KEY);
    tc__req_str(q, x->keep);
}

/* The reply of pop_top.lua: (id, count, text) per id. */
static int take_top(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    pop_ctx *x = sc->ud;
    int rc = tc__redis_reply_is(cl, r, REDIS_REPLY_ARRAY);
    size_t m;

    (void)i;
    if (rc != TC_OK) {
        return rc;
    }
    if (r->elements % 3 != 0) {
        return tc__redis_bad_reply(cl, r);
    }
    m = r->elements / 3;
    if (m > 0 && !(x->top = tc__calloc(m, sizeof(*x->top)))) {
        return tc__errf(tc__redis_call_err(cl), TC_ENOMEM,
                        "POPULAR TOP: out of memory");
    }
    for (size_t j = 0; j < m; j++) {
        tc__rrep *id = &r->element[3 * j], *cnt = &r->element[3 * j + 1],
                 *text = &r->element[3 * j + 2];
        tc__pop_top *t = &x->top[x->got];

        if (id->type != REDIS_REPLY_STRING || cnt->type != REDIS_REPLY_STRING ||
            text->type != REDIS_REPLY_STRING) {
            return tc__redis_bad_reply(cl, r);
        }
        /* a score is a double's text; counts stay exact up to 2^53 */
        t->count = (uint64_t)strtod(cnt->str, NULL);
        t->id = id->str;
        t->text = text->str;
        t->len = text->len;
        id->str = text->str = NULL;
        x->got++;
    }
    return TC_OK;
}

int tc__redis_pop_top(tc__store *s, size_t n, tc__pop_top **out, size_t *got,
                      tc__err *err)
{
    pop_ctx x = {0};
    tc__scall sc = {.which = TC__SCRIPT_POP_TOP,
                    .ncalls = 1,
                    .build = build_top,
                    .take = take_top,
                    .ud = &x};
    int rc;

    *out = NULL;
    *got = 0;
    if (n == 0) {
        return TC_OK;
    }
    snprintf(x.keep, sizeof(x.keep), "%zu", n);
    rc = tc__scall_run(s, &sc, TC__REDIS_IDEMPOTENT, TC__POP_RANK_KEY, 1, err);
    if (rc != TC_OK) {
        tc__pop_top_free(x.top, x.got);
        return rc;
    }
    *out = x.top;
    *got = x.got;
    return TC_OK;
}
