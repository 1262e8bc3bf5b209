/*
 * alloc.c - the library's allocator hook. Every allocation goes through
 * three function pointers so a host can account for memory and tests can
 * make the n-th allocation fail; cJSON is routed through the same hook.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/internal.h"

static tc_malloc_fn alloc_malloc = malloc;
static tc_realloc_fn alloc_realloc = realloc;
static tc_free_fn alloc_free = free;

/*
 * Set when an allocation of this thread failed. cJSON reports a failed
 * allocation and a syntax error alike (NULL); this flag tells them apart.
 */
static _Thread_local int alloc_failed;

int tc__oom_take(void)
{
    int failed = alloc_failed;

    alloc_failed = 0;
    return failed;
}

static void *note(void *p)
{
    if (!p) {
        alloc_failed = 1;
    }
    return p;
}

static void *hook_malloc(size_t size)
{
    return note(alloc_malloc(size));
}

void tc__set_allocator(tc_malloc_fn m, tc_realloc_fn r, tc_free_fn f)
{
    cJSON_Hooks hooks;

    alloc_malloc = m ? m : malloc;
    alloc_realloc = r ? r : realloc;
    alloc_free = f ? f : free;
    hooks.malloc_fn = hook_malloc;
    hooks.free_fn = alloc_free;
    cJSON_InitHooks(&hooks);
}

void *tc__malloc(size_t size)
{
    return note(alloc_malloc(size ? size : 1));
}

void *tc__calloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    if (alloc_malloc == malloc) {
        /* the C library's own: a large block comes from fresh pages that
         * are zero already, and only the pages used are ever touched (a
         * model's hashed rows are mostly never used) */
        return note(calloc(n ? n : 1, size ? size : 1));
    }
    p = tc__malloc(n * size);
    if (p) {
        memset(p, 0, n * size);
    }
    return p;
}

void *tc__realloc(void *ptr, size_t size)
{
    return note(alloc_realloc(ptr, size ? size : 1));
}

void tc__free(void *ptr)
{
    if (ptr) {
        alloc_free(ptr);
    }
}

char *tc__strndup(const char *s, size_t n)
{
    return tc__memdup0(s, n);
}

char *tc__strdup(const char *s)
{
    return s ? tc__memdup0(s, strlen(s)) : NULL;
}

char *tc__memdup0(const void *p, size_t n)
{
    char *c;

    if (n == SIZE_MAX) {
        return NULL;
    }
    c = tc__malloc(n + 1);
    if (c) {
        if (n) {
            memcpy(c, p, n);
        }
        c[n] = '\0';
    }
    return c;
}
