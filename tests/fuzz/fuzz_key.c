/*
 * fuzz_key.c - canonical JSON key material (tc_key_canonical) from any
 * text.
 *
 * Properties: the call returns TC_OK or TC_EINVAL; an accepted object's
 * canonical form is itself a JSON object whose canonical form is the same
 * text (a fixed point), with no bucketing and with the same bucketing
 * applied again; the second pass never refuses what the first produced.
 * The buckets are fixed, one per field name, so the corpus can aim at
 * them: "a" by 10, "b" by 0.25 (both exact in binary) and "c" by 0.1
 * (not exact).
 */
#include <stdlib.h>
#include <string.h>

#include "tutorcache.h"

#include "fuzz_common.h"

static const char *const fields[] = {"a", "b", "c"};
static const double sizes[] = {10, 0.25, 0.1};

static void check_fixed_point(const char *json, size_t nb)
{
    char *once = NULL, *twice = NULL;
    int rc;

    rc = tc_key_canonical(&once, json, fields, sizes, nb);
    FZ_CHECK(rc == TC_OK || rc == TC_EINVAL, "rc %d", rc);
    if (rc != TC_OK) {
        FZ_CHECK(once == NULL, "a failure left output");
        return;
    }
    FZ_CHECK(once && once[0] == '{', "not an object: %s", once);
    rc = tc_key_canonical(&twice, once, fields, sizes, nb);
    FZ_CHECK(rc == TC_OK, "the canonical form %s is refused (rc %d, %s)", once,
             rc, tc_errmsg());
    FZ_CHECK(strcmp(once, twice) == 0,
             "not a fixed point with %zu bucket(s):\n  once:  %s\n  twice: %s",
             nb, once, twice);
    tc_free(once);
    tc_free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fz_strdup(data, size);

    check_fixed_point(json, 0);
    check_fixed_point(json, sizeof(fields) / sizeof(fields[0]));
    free(json);
    return 0;
}
