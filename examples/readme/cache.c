/*
 * cache.c - README.md "Using the library", run: the first run of the
 * README's lines loads the value (tier "loader"), the second, on a new
 * handle whose L1 is empty, gets it from the store (tier "l2") without
 * calling the loader again.
 *
 * The README's lines are in readme_example() verbatim, at the left margin
 * because the check compares indentation too. Their #include comes again
 * there, where tutorcache.h's include guard leaves it empty. The names
 * they leave to the reader (key, keylen, run_model, model_ctx, use) are
 * defined above them. The README names a Redis on 127.0.0.1:6379, which
 * nothing promises is there, so tc_cache_open() goes through
 * readme_open(): it checks that tc_cache_open() accepts the README's
 * options as written, then opens the store of this run instead.
 */
#include "readme.h"

#include <string.h>
#include <tutorcache.h>

static const char key[] = "{\"student\":42,\"item\":\"fractions-3\"}";
static const size_t keylen = sizeof key - 1;
static const char prediction[] = "{\"p_correct\":0.73}";

static int loads; /* calls of run_model */
static int uses;  /* calls of use */
static void *const model_ctx = &loads;
static const char *store_url; /* the store of this run */

/* The "model": counts its calls and answers a fixed prediction. */
static int run_model(void **val, size_t *len, int64_t *ttl_ms,
                     const char *ns, const void *k, size_t klen,
                     void *userdata)
{
    int *calls = userdata;

    (void)ttl_ms;
    if (strcmp(ns, "ml_model_predictions") != 0 || klen != keylen ||
        memcmp(k, key, klen) != 0) {
        README_FAIL("the loader was given %s and another key", ns);
    }
    ++*calls;
    *val = tc_malloc(sizeof prediction - 1);
    if (*val == NULL) {
        return TC_ENOMEM;
    }
    memcpy(*val, prediction, sizeof prediction - 1);
    *len = sizeof prediction - 1;
    return TC_OK;
}

static void use(const void *val, size_t len)
{
    if (len != sizeof prediction - 1 || memcmp(val, prediction, len) != 0) {
        README_FAIL("use() was given %.*s", (int)len, (const char *)val);
    }
    uses++;
}

static int readme_open(tc_cache **out, const tc_options *opt)
{
    tc_options mine = *opt;
    tc_cache *probe;

    /* A Redis that is down at open time is not an error, so this opens
     * whether or not anything listens at the README's address. */
    if (tc_cache_open(out, opt) != TC_OK) {
        README_FAIL("tc_cache_open refuses the README's store_url %s: %s",
                    opt->store_url, tc_errmsg());
    }
    probe = *out;
    tc_cache_close(probe);
    mine.store_url = store_url;
    if (tc_cache_open(out, &mine) != TC_OK) {
        README_FAIL("tc_cache_open %s: %s", store_url, tc_errmsg());
    }
    return TC_OK;
}
#define tc_cache_open readme_open

static void readme_example(int *rc_out, tc_tier *tier_out)
{
/* clang-format off */
#include <tutorcache.h>

tc_options opt;
tc_cache *cache;

tc_options_init(&opt);
opt.store_url = "redis://127.0.0.1:6379/0";  /* or NULL: environment, then default */
if (tc_cache_open(&cache, &opt) != TC_OK) { /* tc_errmsg() names the field */ }

/* share `cache` among all threads */
void *val; size_t len; tc_tier tier;
int rc = tc_cache_get_or_load(&val, &len, &tier, cache, "ml_model_predictions",
                              key, keylen, run_model, model_ctx);
if (rc == TC_OK) { use(val, len); tc_free(val); }
tc_cache_close(cache);
/* clang-format on */
    *rc_out = rc;
    *tier_out = tier;
}

int main(int argc, char **argv)
{
    int rc;
    tc_tier tier;

    store_url = readme_store(argc, argv);

    readme_example(&rc, &tier);
    if (rc != TC_OK || tier != TC_TIER_LOADER || loads != 1 || uses != 1) {
        README_FAIL("first run on %s: %s, tier %s, %d loads, %d uses; "
                    "expected TC_OK from the loader, once",
                    store_url, tc_error_name(rc), tc_tier_name(tier), loads,
                    uses);
    }
    readme_example(&rc, &tier);
    if (rc != TC_OK || tier != TC_TIER_L2 || loads != 1 || uses != 2) {
        README_FAIL("second run on %s: %s, tier %s, %d loads, %d uses; "
                    "expected TC_OK from l2 with no new load",
                    store_url, tc_error_name(rc), tc_tier_name(tier), loads,
                    uses);
    }
    return 0;
}
