/*
 * redis_tally.c - the tally on Redis: one hash (TC__TALLY_KEY) of
 * counters by field, added to and trimmed by one script
 * (lua/tally_add.lua), so that an add and its trim are applied together,
 * and read whole by another (lua/tally_read.lua). The key carries its
 * own hash tag, so the cluster store runs the same scripts on the master
 * of that slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/redis_store.h"

/* Fields per script call: a long ARGV list costs the server one stack. */
#define TALLY_BATCH 1000

typedef struct tally_ctx {
    const tc__tally *items;
    size_t n;
    const char *floor;
    tc__tally *got; /* tally_read's answer */
    size_t ngot;
} tally_ctx;

/* Call i of an add: the floor (the last call's only, so that the trim
 * follows every add), then (field, count) per item of batch i. */
static void build_add(tc__req *q, const tc__scall *sc, size_t i)
{
    const tally_ctx *x = sc->ud;
    size_t from = i * TALLY_BATCH;
    size_t to = from + TALLY_BATCH < x->n ? from + TALLY_BATCH : x->n;

    tc__scall_head(q, sc, 3 + 2 * (to - from));
    tc__req_i64(q, 1);
    tc__req_str(q, TC__TALLY_KEY);
    tc__req_str(q, x->floor && i + 1 == sc->ncalls ? x->floor : "");
    for (size_t j = from; j < to; j++) {
        tc__req_str(q, x->items[j].field);
        tc__req_i64(q, (int64_t)x->items[j].count);
    }
}

static int take_add(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    (void)sc;
    (void)i;
    return tc__redis_reply_is(cl, r, REDIS_REPLY_INTEGER);
}

int tc__redis_tally_add(tc__store *s, const tc__tally *items, size_t n,
                        const char *floor, tc__err *err)
{
    tally_ctx x = {.items = items, .n = n, .floor = floor};
    tc__scall sc = {.which = TC__SCRIPT_TALLY_ADD,
                    .ncalls = n ? (n + TALLY_BATCH - 1) / TALLY_BATCH : 1,
                    .build = build_add,
                    .take = take_add,
                    .ud = &x};

    if (n == 0 && !floor) {
        return TC_OK;
    }
    /* Not idempotent: a script run twice would count twice. */
    return tc__scall_run(s, &sc, 0, TC__TALLY_KEY, 1, err);
}

static void build_read(tc__req *q, const tc__scall *sc, size_t i)
{
    (void)i;
    tc__scall_head(q, sc, 2);
    tc__req_i64(q, 1);
    tc__req_str(q, TC__TALLY_KEY);
}

/* The reply of tally_read.lua: (field, count) per field. */
static int take_read(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    tally_ctx *x = sc->ud;
    int rc = tc__redis_reply_is(cl, r, REDIS_REPLY_ARRAY);
    size_t m;

    (void)i;
    if (rc != TC_OK) {
        return rc;
    }
    if (r->elements % 2 != 0) {
        return tc__redis_bad_reply(cl, r);
    }
    m = r->elements / 2;
    if (m > 0 && !(x->got = tc__calloc(m, sizeof(*x->got)))) {
        return tc__errf(tc__redis_call_err(cl), TC_ENOMEM,
                        "TALLY READ: out of memory");
    }
    for (size_t j = 0; j < m; j++) {
        tc__rrep *f = &r->element[2 * j], *cnt = &r->element[2 * j + 1];

        if (f->type != REDIS_REPLY_STRING || cnt->type != REDIS_REPLY_STRING) {
            return tc__redis_bad_reply(cl, r);
        }
        x->got[x->ngot].count = strtoull(cnt->str, NULL, 10);
        x->got[x->ngot++].field = f->str;
        f->str = NULL;
    }
    return TC_OK;
}

int tc__redis_tally_read(tc__store *s, tc__tally **out, size_t *n, tc__err *err)
{
    tally_ctx x = {0};
    tc__scall sc = {.which = TC__SCRIPT_TALLY_READ,
                    .ncalls = 1,
                    .build = build_read,
                    .take = take_read,
                    .ud = &x};
    int rc;

    *out = NULL;
    *n = 0;
    rc = tc__scall_run(s, &sc, TC__REDIS_IDEMPOTENT, TC__TALLY_KEY, 1, err);
    if (rc != TC_OK) {
        tc__tally_free(x.got, x.ngot);
        return rc;
    }
    *out = x.got;
    *n = x.ngot;
    return TC_OK;
}
