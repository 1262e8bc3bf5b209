/*
 * corrections_data.c - the paraphrases of bench/corrections, made by
 * dropping a word or swapping two, kept apart from the measuring in
 * corrections.c. Every choice comes from bench_rand, so a seed gives the
 * same paraphrases on every machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrections.h"

/* Splits s at ASCII white space into at most cap words (pointers into
 * the copy *store, which the caller frees). */
static size_t split_words(const char *s, char **store, char **w, size_t cap)
{
    char *c = bench_strdup(s), *tok, *save = NULL;
    size_t n = 0;

    for (tok = strtok_r(c, " \t\n\r\v\f", &save); tok && n < cap;
         tok = strtok_r(NULL, " \t\n\r\v\f", &save)) {
        w[n++] = tok;
    }
    *store = c;
    return n;
}

static char *join_words(char **w, size_t n, size_t skip)
{
    size_t k, len = 1;
    char *s, *p;

    for (k = 0; k < n; k++) {
        len += strlen(w[k]) + 1;
    }
    p = s = bench_alloc(len, 1);
    for (k = 0; k < n; k++) {
        if (k == skip) {
            continue;
        }
        p += sprintf(p, "%s%s", p == s ? "" : " ", w[k]);
    }
    *p = '\0';
    return s;
}

/* The variants alternate, the dropped word first: the caller tells the
 * two kinds apart by their place. */
bench_dataset corr_word_variants(const bench_dataset *dev, const size_t *idx,
                                 size_t n, uint64_t seed)
{
    bench_dataset v = {NULL, 0, 0};
    char *w[256], *store, *tmp;
    size_t k, nw, i;

    for (k = 0; k < n; k++) {
        const bench_example *e = &dev->ex[idx[k]];
        uint64_t s = seed * 0x100000001B3ULL + k;

        nw = split_words(e->text, &store, w, sizeof(w) / sizeof(w[0]));
        if (nw >= 3) {
            bench_dataset_push(&v, join_words(w, nw, bench_below(&s, nw)),
                               bench_strdup(e->intent));
            i = bench_below(&s, nw - 1);
            tmp = w[i];
            w[i] = w[i + 1];
            w[i + 1] = tmp;
            bench_dataset_push(&v, join_words(w, nw, (size_t)-1),
                               bench_strdup(e->intent));
        }
        free(store);
    }
    return v;
}
