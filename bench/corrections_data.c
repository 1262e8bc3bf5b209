/*
 * corrections_data.c - the helpers of bench/corrections: fatal errors and
 * allocation, the seeded PRNG, the reading of a set's JSON Lines, and the
 * paraphrases made by dropping a word or swapping two. Kept apart from
 * the measuring in corrections.c; every choice comes from splitmix64, so
 * a seed gives the same corrections and paraphrases on every machine.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "corrections.h"

/* ---- helpers of a benchmark tool ----------------------------------------- */

void corr_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("corrections: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void *corr_alloc(size_t n, size_t size)
{
    void *p;

    if (size && n > (size_t)-1 / size) {
        corr_fail("allocation overflow");
    }
    p = malloc(n * size > 0 ? n * size : 1);
    if (!p) {
        corr_fail("out of memory");
    }
    return p;
}

void *corr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        corr_fail("out of memory");
    }
    return p;
}

char *corr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(corr_alloc(n, 1), s, n);
}

double corr_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64, so that the choices are the same on every C library. */
uint64_t corr_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

size_t corr_below(uint64_t *s, size_t n)
{
    return (size_t)(corr_rand(s) % n);
}

void corr_shuffle(size_t *v, size_t n, uint64_t *s)
{
    size_t k, j, x;

    for (k = n; k > 1; k--) {
        j = corr_below(s, k);
        x = v[k - 1];
        v[k - 1] = v[j];
        v[j] = x;
    }
}

/* ---- data ---------------------------------------------------------------- */

void corr_push(dataset *d, char *text, char *intent)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->ex = realloc(d->ex, d->cap * sizeof(*d->ex));
        if (!d->ex) {
            corr_fail("out of memory");
        }
    }
    d->ex[d->n].text = text;
    d->ex[d->n].len = strlen(text);
    d->ex[d->n].intent = intent;
    d->n++;
}

void corr_dataset_free(dataset *d)
{
    size_t k;

    for (k = 0; k < d->n; k++) {
        free(d->ex[k].text);
        free(d->ex[k].intent);
    }
    free(d->ex);
    memset(d, 0, sizeof(*d));
}

/* The whole file, NUL-terminated; *len without the NUL. */
char *corr_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0, got;
    char *buf = corr_alloc(cap, 1);

    if (!f) {
        corr_fail("%s: cannot open: %s", path, strerror(errno));
    }
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) {
                corr_fail("out of memory");
            }
        }
    }
    if (ferror(f)) {
        corr_fail("%s: cannot read", path);
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Every {"text", "intent"} line of a file; anything else is fatal, since
 * a benchmark on part of a set would mislead. */
dataset corr_load(const char *dir, const char *name)
{
    dataset d = {NULL, 0, 0};
    char path[4096];
    size_t len, lineno = 0;
    char *buf, *line, *next;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    buf = corr_slurp(path, &len);
    for (line = buf; line < buf + len; line = next) {
        cJSON *root, *text, *intent;
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));

        next = nl ? nl + 1 : buf + len;
        lineno++;
        if (next - line <= 1) {
            continue;
        }
        root = cJSON_ParseWithLength(line, (size_t)(next - line));
        text = cJSON_GetObjectItemCaseSensitive(root, "text");
        intent = cJSON_GetObjectItemCaseSensitive(root, "intent");
        if (!cJSON_IsString(text) || !cJSON_IsString(intent)) {
            corr_fail("%s:%zu: not a {\"text\", \"intent\"} object", path,
                      lineno);
        }
        corr_push(&d, corr_strdup(text->valuestring),
                  corr_strdup(intent->valuestring));
        cJSON_Delete(root);
    }
    free(buf);
    return d;
}

/* One training-format line, without its newline; the caller frees it. */
char *corr_example_json(const char *text, const char *intent)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    if (!o || !cJSON_AddStringToObject(o, "text", text) ||
        !cJSON_AddStringToObject(o, "intent", intent) ||
        !(s = cJSON_PrintUnformatted(o))) {
        corr_fail("out of memory");
    }
    cJSON_Delete(o);
    return s;
}

/* ---- paraphrases by words ------------------------------------------------ */

/* Splits s at ASCII white space into at most cap words (pointers into
 * the copy *store, which the caller frees). */
static size_t split_words(const char *s, char **store, char **w, size_t cap)
{
    char *c = corr_strdup(s), *tok, *save = NULL;
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
    p = s = corr_alloc(len, 1);
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
dataset corr_word_variants(const dataset *dev, const size_t *idx, size_t n,
                           uint64_t seed)
{
    dataset v = {NULL, 0, 0};
    char *w[256], *store, *tmp;
    size_t k, nw, i;

    for (k = 0; k < n; k++) {
        const example *e = &dev->ex[idx[k]];
        uint64_t s = seed * 0x100000001B3ULL + k;

        nw = split_words(e->text, &store, w, sizeof(w) / sizeof(w[0]));
        if (nw >= 3) {
            corr_push(&v, join_words(w, nw, corr_below(&s, nw)),
                      corr_strdup(e->intent));
            i = corr_below(&s, nw - 1);
            tmp = w[i];
            w[i] = w[i + 1];
            w[i + 1] = tmp;
            corr_push(&v, join_words(w, nw, (size_t)-1),
                      corr_strdup(e->intent));
        }
        free(store);
    }
    return v;
}
