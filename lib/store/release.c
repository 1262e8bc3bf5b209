/*
 * release.c - freeing what the operations of every store hand out: the
 * values of a batched read, the strings of a consume and the counters of
 * feedback stats. It sits below every store, which call it on their own
 * failure paths, and calls nothing of them.
 */
#include "store/fbstore.h"
#include "store/store.h"

void tc__store_get_release(tc__store_get *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        tc__free(items[i].val);
        items[i].val = NULL;
    }
}

void tc__fb_strings_free(char **v, size_t n)
{
    size_t i;

    if (!v) {
        return;
    }
    for (i = 0; i < n; i++) {
        tc__free(v[i]);
    }
    tc__free(v);
}

void tc__fb_stats_release(tc__fb_stats *st)
{
    size_t i;

    if (!st) {
        return;
    }
    for (i = 0; i < st->ncounts; i++) {
        tc__free(st->counts[i].name);
    }
    tc__free(st->counts);
    st->counts = NULL;
    st->ncounts = 0;
}

void tc__pop_top_free(tc__pop_top *top, size_t n)
{
    size_t i;

    if (!top) {
        return;
    }
    for (i = 0; i < n; i++) {
        tc__free(top[i].id);
        tc__free(top[i].text);
    }
    tc__free(top);
}

void tc__tally_free(tc__tally *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        tc__free(t[i].field);
    }
    tc__free(t);
}
