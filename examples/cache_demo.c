/*
 * cache_demo.c - a host service's view of libtutorcache: one handle shared
 * by several threads, a "model" behind tc_cache_get_or_load, and the tier
 * that answered each call. Build with `make examples`, or after
 * `make install`:  cc cache_demo.c $(pkg-config --cflags --libs tutorcache)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <tutorcache.h>

static tc_cache *cache;

/* Stands in for an expensive model call. */
static int predict(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                   const void *key, size_t keylen, void *userdata)
{
    char buf[128];
    int n;

    (void)ns;
    (void)ttl_ms; /* the namespace's TTL */
    (void)userdata;
    n = snprintf(buf, sizeof(buf), "{\"student\":\"%.*s\",\"mastery\":0.8}",
                 (int)keylen, (const char *)key);
    if (n < 0 || !(*val = tc_malloc((size_t)n))) {
        return TC_ENOMEM;
    }
    memcpy(*val, buf, (size_t)n);
    *len = (size_t)n;
    return TC_OK;
}

static void *worker(void *arg)
{
    const char *student = arg;
    void *val;
    size_t len;
    tc_tier tier;
    int i, rc;

    for (i = 0; i < 2; i++) {
        rc = tc_cache_get_or_load(&val, &len, &tier, cache,
                                  "ml_model_predictions", student,
                                  strlen(student), predict, NULL);
        if (rc != TC_OK) {
            fprintf(stderr, "cache_demo: %s: %s\n", tc_error_name(rc),
                    tc_cache_errmsg(cache));
            return NULL;
        }
        printf("%-8s %-6s %.*s\n", student, tc_tier_name(tier), (int)len,
               (const char *)val);
        tc_free(val);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static char *students[] = {"ada", "grace", "alan", "ada"};
    pthread_t th[4];
    tc_options opt;
    char err[256];
    int i, rc;

    tc_options_init(&opt);
    opt.store_url = argc > 1 ? argv[1] : NULL; /* NULL: env, then default */
    rc = tc_cache_open(&cache, &opt, err, sizeof(err));
    if (rc != TC_OK) {
        fprintf(stderr, "cache_demo: %s: %s\n", tc_error_name(rc), err);
        return 1;
    }
    printf("libtutorcache %s, store %s\n", tc_version(),
           tc_cache_store_kind(cache));
    for (i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, worker, students[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    tc_cache_close(cache);
    return 0;
}
