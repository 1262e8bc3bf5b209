/*
 * bench_util.c - the helpers every benchmark program in bench/ shares
 * (see bench_util.h). Every failure is fatal: these run in tools whose
 * numbers must mean what they say, never in the library, which returns
 * its errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bench_util.h"

/* ---- failure and memory -------------------------------------------------- */

void bench_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", bench_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* n * size, fatal when it overflows; zero bytes is one, so that a NULL
 * from the allocator always means out of memory. */
static size_t bytes(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        bench_fail("allocation overflow");
    }
    return n * size > 0 ? n * size : 1;
}

void *bench_alloc(size_t n, size_t size)
{
    void *p = malloc(bytes(n, size));

    if (!p) {
        bench_fail("out of memory");
    }
    return p;
}

void *bench_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        bench_fail("out of memory");
    }
    return p;
}

void *bench_realloc(void *p, size_t n, size_t size)
{
    void *q = realloc(p, bytes(n, size));

    if (!q) {
        bench_fail("out of memory");
    }
    return q;
}

char *bench_strdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(bench_alloc(n, 1), s, n);
}

/* ---- arguments ----------------------------------------------------------- */

long bench_count_arg(const char *opt, const char *s, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max) {
        bench_fail("%s: \"%s\" is not a count in 1..%ld", opt, s, max);
    }
    return v;
}

/* ---- time and chance ----------------------------------------------------- */

int64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double bench_now(void)
{
    return (double)bench_now_ns() / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

void bench_sort_doubles(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
}

uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

size_t bench_below(uint64_t *state, size_t n)
{
    return (size_t)(bench_rand(state) % n);
}

void bench_shuffle(void *base, size_t n, size_t size, uint64_t *state)
{
    unsigned char *v = base, *a, *b, t;
    size_t k, j, i;

    for (k = n; k > 1; k--) {
        j = bench_below(state, k);
        a = v + (k - 1) * size;
        b = v + j * size;
        for (i = 0; i < size; i++) {
            t = a[i];
            a[i] = b[i];
            b[i] = t;
        }
    }
}

/* ---- files and data sets ------------------------------------------------- */

char *bench_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0, got;
    char *buf;

    if (!f) {
        bench_fail("%s: cannot open: %s", path, strerror(errno));
    }
    buf = bench_alloc(cap, 1);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n == cap - 1) {
            cap *= 2;
            buf = bench_realloc(buf, cap, 1);
        }
    }
    if (ferror(f)) {
        bench_fail("%s: cannot read", path);
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

void bench_dataset_push(bench_dataset *d, char *text, char *intent)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 1024;
        d->ex = bench_realloc(d->ex, d->cap, sizeof(*d->ex));
    }
    d->ex[d->n].text = text;
    d->ex[d->n].len = strlen(text);
    d->ex[d->n].intent = intent;
    d->n++;
}

void bench_dataset_free(bench_dataset *d)
{
    size_t k;

    for (k = 0; k < d->n; k++) {
        free(d->ex[k].text);
        free(d->ex[k].intent);
    }
    free(d->ex);
    memset(d, 0, sizeof(*d));
}

/* ASCII white space: all a blank line holds, and what a fastText label
 * may not contain. */
static const char spaces[] = " \t\n\r\v\f";

/* Why a parsed line is not an example, or NULL when it is one. */
static const char *invalid(const cJSON *root, const cJSON *text,
                           const cJSON *intent, unsigned flags)
{
    if (!cJSON_IsObject(root)) {
        return "not a JSON object";
    }
    if (!cJSON_IsString(text)) {
        return "\"text\" is missing or not a string";
    }
    if (!cJSON_IsString(intent)) {
        return "\"intent\" is missing or not a string";
    }
    if (intent->valuestring[0] == '\0') {
        return "the intent is empty";
    }
    if ((flags & BENCH_ONE_WORD) && strpbrk(intent->valuestring, spaces)) {
        return "the intent is not one word";
    }
    return NULL;
}

bench_dataset bench_dataset_load(const char *path, unsigned flags)
{
    bench_dataset d = {NULL, 0, 0};
    size_t lineno = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;
    FILE *f = fopen(path, "r");

    if (!f) {
        bench_fail("%s: cannot open: %s", path, strerror(errno));
    }
    while ((len = getline(&line, &lcap, f)) >= 0) {
        cJSON *root;
        const cJSON *text, *intent;
        const char *why;

        lineno++;
        if (line[strspn(line, spaces)] == '\0') {
            continue;
        }
        /* The NUL getline adds is passed too, so that anything after the
         * object is an error rather than ignored. */
        root = cJSON_ParseWithLengthOpts(line, (size_t)len + 1, NULL, 1);
        text = cJSON_GetObjectItemCaseSensitive(root, "text");
        intent = cJSON_GetObjectItemCaseSensitive(root, "intent");
        why = invalid(root, text, intent, flags);
        if (why) {
            bench_fail("%s:%zu: %s", path, lineno, why);
        }
        bench_dataset_push(&d, bench_strdup(text->valuestring),
                           bench_strdup(intent->valuestring));
        cJSON_Delete(root);
    }
    if (ferror(f)) {
        bench_fail("%s: cannot read", path);
    }
    free(line);
    fclose(f);
    if (d.n == 0) {
        bench_fail("%s: no examples", path);
    }
    return d;
}

char *bench_example_json(const char *text, const char *intent)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;

    if (!o || !cJSON_AddStringToObject(o, "text", text) ||
        !cJSON_AddStringToObject(o, "intent", intent) ||
        !(s = cJSON_PrintUnformatted(o))) {
        bench_fail("out of memory");
    }
    cJSON_Delete(o);
    return s;
}
