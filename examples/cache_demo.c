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

/* Exit codes, as the tutorcache CLI's where they overlap. */
enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_STORE = 3, EXIT_OTHER = 5 };

static const char usage_text[] =
    "Usage: cache_demo [STORE_URL]\n"
    "\n"
    "Four threads share one tutorcache handle and ask it twice each for a\n"
    "student's prediction; a stand-in model computes the misses. Each line\n"
    "on stdout is: student, the tier that answered (loader: the model ran;\n"
    "l1: this process's memory; l2: the store), the value.\n"
    "\n"
    "STORE_URL is redis://..., unix://..., lmdb:///dir or memory:; without\n"
    "it the store comes from TUTORCACHE_URL, then REDIS_HOST..., then\n"
    "lmdb://$XDG_CACHE_HOME/tutorcache.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit codes: 0 ok, 2 usage, 3 the store cannot be opened, 5 another\n"
    "failure (a call that failed, or stdout that could not be written).\n";

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

/* Returns arg's student on success, NULL when a call failed. */
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
                    tc_errmsg());
            return NULL;
        }
        printf("%-8s %-6s %.*s\n", student, tc_tier_name(tier), (int)len,
               (const char *)val);
        tc_free(val);
    }
    return arg;
}

int main(int argc, char **argv)
{
    static char *students[] = {"ada", "grace", "alan", "ada"};
    pthread_t th[4];
    tc_options opt;
    void *ok;
    int i, n, rc, code = EXIT_OK;

    if (argc > 1 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage_text, stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_OTHER;
    }
    /* A store URL never starts with '-': that is a mistyped option. */
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr,
                "cache_demo: %s: unexpected argument\n"
                "Try 'cache_demo --help'.\n",
                argv[argc > 2 ? 2 : 1]);
        return EXIT_USAGE;
    }
    tc_options_init(&opt);
    opt.store_url = argc > 1 ? argv[1] : NULL; /* NULL: env, then default */
    rc = tc_cache_open(&cache, &opt);
    if (rc != TC_OK) {
        fprintf(stderr, "cache_demo: %s: %s\n", tc_error_name(rc), tc_errmsg());
        return EXIT_STORE;
    }
    printf("libtutorcache %s, store %s\n", tc_version(),
           tc_cache_store_kind(cache));
    for (n = 0; n < 4; n++) {
        if (pthread_create(&th[n], NULL, worker, students[n]) != 0) {
            fprintf(stderr, "cache_demo: cannot start a thread\n");
            code = EXIT_OTHER;
            break;
        }
    }
    for (i = 0; i < n; i++) {
        pthread_join(th[i], &ok);
        if (!ok) {
            code = EXIT_OTHER;
        }
    }
    tc_cache_close(cache);
    if (fclose(stdout) != 0) {
        return EXIT_OTHER;
    }
    return code;
}
