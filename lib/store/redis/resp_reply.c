/*
 * resp_reply.c - replies of the Redis store's wire (resp.h): hiredis'
 * reader builds each reply straight into a slot of the call's sink
 * (tc__rep_fns), nested elements only when the sink keeps them; and the
 * error codes a reply's error text maps to.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/resp.h"

/* ---- replies ------------------------------------------------------------ */

/* What an element nested in an array becomes when the sink does not keep
 * elements: the array's type and length say enough. */
static char nested_reply;

/* An array's first slots, before any element has arrived. */
#define REP_FIRST 8

/*
 * Makes room in array p for its element at i. The slots double as the
 * elements arrive, up to the announced length: a header alone
 * ("*50000000\r\n", 11 bytes) costs nothing, and a reply of n elements
 * costs at most twice its slots, however large the length it announced.
 */
static int rep_room(tc__rrep *p, size_t i)
{
    size_t cap = p->nalloc ? p->nalloc : REP_FIRST;
    tc__rrep *ne;

    if (i < p->nalloc) {
        return 0;
    }
    while (cap <= i) {
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    }
    if (cap > p->elements) {
        cap = p->elements;
    }
    if (cap > SIZE_MAX / sizeof(*ne) ||
        !(ne = tc__realloc(p->element, cap * sizeof(*ne)))) {
        return -1;
    }
    memset(ne + p->nalloc, 0, (cap - p->nalloc) * sizeof(*ne));
    p->element = ne;
    p->nalloc = cap;
    return 0;
}

static void *rep_new(const redisReadTask *t, int type)
{
    tc__rsink *k = t->privdata;
    tc__rrep *r;

    if (t->parent) {
        tc__rrep *p = t->parent->obj;

        if (!k || !k->nested || (void *)p == &nested_reply) {
            return &nested_reply;
        }
        if (t->idx < 0 || (size_t)t->idx >= p->elements ||
            rep_room(p, (size_t)t->idx) != 0) {
            return NULL; /* out of memory (hiredis counts the elements) */
        }
        r = &p->element[t->idx];
    } else {
        if (!k || k->next == k->n) {
            return NULL; /* cannot happen: a call reads as many as it has */
        }
        r = &k->slot[k->next++];
    }
    r->type = type;
    r->integer = 0;
    r->str = NULL;
    r->len = 0;
    r->element = NULL;
    r->elements = 0;
    r->nalloc = 0;
    return r;
}

static void *rep_string(const redisReadTask *t, char *str, size_t len)
{
    tc__rrep *r = rep_new(t, t->type);

    if (!r || (void *)r == &nested_reply || t->type == REDIS_REPLY_STATUS) {
        return r; /* a status ("OK", "PONG") says all by its type */
    }
    if (!(r->str = tc__memdup0(str, len))) {
        return NULL; /* hiredis reports it as REDIS_ERR_OOM */
    }
    r->len = len;
    return r;
}

/* An array's slots are not made here but as its elements arrive
 * (rep_room), so that no length a server announces sizes an allocation. */
static void *rep_array(const redisReadTask *t, int elements)
{
    tc__rrep *r = rep_new(t, REDIS_REPLY_ARRAY);

    if (r && (void *)r != &nested_reply) {
        r->elements = elements > 0 ? (size_t)elements : 0;
    }
    return r;
}

static void *rep_integer(const redisReadTask *t, long long v)
{
    tc__rrep *r = rep_new(t, REDIS_REPLY_INTEGER);

    if (r && (void *)r != &nested_reply) {
        r->integer = v;
    }
    return r;
}

static void *rep_nil(const redisReadTask *t)
{
    return rep_new(t, REDIS_REPLY_NIL);
}

/*
 * Frees what a slot holds and leaves it empty. It may run twice on one
 * slot (hiredis frees a reply it could not finish, and the call clears
 * its sink afterwards), so it must be idempotent.
 */
static void rep_free(void *obj)
{
    tc__rrep *r = obj;

    if (!obj || obj == &nested_reply) {
        return;
    }
    tc__free(r->str);
    r->str = NULL;
    if (r->element) {
        for (size_t i = 0; i < r->nalloc; i++) {
            rep_free(&r->element[i]);
        }
        tc__free(r->element);
        r->element = NULL;
        r->nalloc = 0;
    }
}

redisReplyObjectFunctions tc__rep_fns = {rep_string, rep_array, rep_integer,
                                         rep_nil, rep_free};

int tc__sink_init(tc__rsink *k, tc__rrep *stack, size_t n, int nested)
{
    k->next = 0;
    k->n = n;
    k->nested = nested;
    k->slot = n <= TC__REP_STACK ? stack : tc__calloc(n, sizeof(*k->slot));
    return k->slot ? 0 : -1;
}

void tc__sink_clear(tc__rsink *k)
{
    for (size_t i = 0; i < k->next; i++) {
        rep_free(&k->slot[i]);
    }
    k->next = 0;
}

void tc__sink_free(tc__rsink *k, const tc__rrep *stack)
{
    if (!k->slot) {
        return;
    }
    tc__sink_clear(k);
    if (k->slot != stack) {
        tc__free(k->slot);
    }
    k->slot = NULL;
}

const tc__rrep *tc__rrep_at(const tc__rrep *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || !r->element || i >= r->elements ||
        i >= r->nalloc) {
        return NULL;
    }
    return &r->element[i];
}

static int prefixed(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

int tc__resp_error_code(const char *str)
{
    if (prefixed(str, "WRONGPASS") || prefixed(str, "NOAUTH") ||
        prefixed(str, "NOPERM") || prefixed(str, "ERR invalid pass") ||
        prefixed(str, "ERR invalid user") || prefixed(str, "ERR AUTH") ||
        prefixed(str, "ERR Client sent AUTH")) {
        return TC_EAUTH;
    }
    if (prefixed(str, "LOADING") || prefixed(str, "BUSY ") ||
        prefixed(str, "MASTERDOWN") || prefixed(str, "TRYAGAIN")) {
        return TC_EUNAVAIL;
    }
    return prefixed(str, "OOM") ? TC_EFULL : TC_EPROTO;
}
