/*
 * base.c - the doors of the calls that need no handle: version, codes and
 * the error slot, memory, text normalization, canonical keys.
 */
#include "base/internal.h"
#include "base/normalize.h"
#include "cache/key.h"

TC_API const char *tc_version(void)
{
    return tc__lib_version();
}

TC_API const char *tc_strerror(int code)
{
    return tc__strerror(code);
}

TC_API const char *tc_error_name(int code)
{
    return tc__error_name(code);
}

TC_API const char *tc_errmsg(void)
{
    return tc__errmsg();
}

TC_API void tc_set_allocator(tc_malloc_fn m, tc_realloc_fn r, tc_free_fn f)
{
    tc__set_allocator(m, r, f);
}

TC_API void *tc_malloc(size_t size)
{
    return tc__malloc(size);
}

TC_API void tc_free(void *ptr)
{
    tc__free(ptr);
}

TC_API int tc_text_normalize(char **out, size_t *outlen, const char *text,
                             size_t len)
{
    if (out) {
        *out = NULL;
    }
    if (outlen) {
        *outlen = 0;
    }
    tc__clear();
    if (!out || (!text && len)) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__text_normalize(out, outlen, text, len);
}

TC_API int tc_key_canonical(char **out, const char *json,
                            const char *const *bucket_fields,
                            const double *bucket_sizes, size_t nbuckets)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !json || (nbuckets && (!bucket_fields || !bucket_sizes))) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__key_canonical(out, json, bucket_fields, bucket_sizes, nbuckets);
}
