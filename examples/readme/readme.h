/*
 * readme.h - what the programs of examples/readme/ share. Each of them runs
 * one C example of README.md, whose lines it holds verbatim (tests/readme.sh
 * finds them there, builds the program against the built library and runs
 * it); this header gives them a failure that names the program's line, the
 * store a run uses, and a cache opened on it.
 *
 * The store is argv[1] (tests/readme.sh passes an LMDB directory and, when
 * redis-server is installed, a private Redis), or else a fresh LMDB
 * directory that is removed at exit. The functions are static inline so
 * that a program that needs only some of them still builds with -Werror.
 */
#ifndef README_H
#define README_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#endif

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tutorcache.h>

/* Fails the example: "examples/readme/x.c:42: what was wrong", exit 1. */
#define README_FAIL(...) readme_fail(__FILE__, __LINE__, __VA_ARGS__)

static char readme_dir[] = "/tmp/tc-readme-XXXXXX";
static char readme_url[sizeof readme_dir + 16];

static inline void readme_fail(const char *file, int line, const char *fmt,
                               ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static inline int readme_rm(const char *path, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void readme_cleanup(void)
{
    nftw(readme_dir, readme_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The store URL of this run: argv[1], or an LMDB directory of our own
 * (removed at exit, with the feedback spool the library keeps beside it).
 */
static inline const char *readme_store(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [STORE_URL]\n", argv[0]);
        exit(2);
    }
    if (argc == 2) {
        return argv[1];
    }
    if (mkdtemp(readme_dir) == NULL) {
        README_FAIL("mkdtemp %s failed", readme_dir);
    }
    atexit(readme_cleanup);
    snprintf(readme_url, sizeof readme_url, "lmdb://%s/store", readme_dir);
    return readme_url;
}

/*
 * A cache on url that neither the environment nor a config file can
 * change, so that the example means the same on every machine.
 */
static inline tc_cache *readme_cache(const char *url)
{
    tc_options opt;
    tc_cache *cache;

    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.store_url = url;
    if (tc_cache_open(&cache, &opt) != TC_OK) {
        README_FAIL("tc_cache_open %s: %s", url, tc_errmsg());
    }
    return cache;
}

typedef void readme_step(tc_cache *cache);

/*
 * The main() of a program on a cache: opens it on the run's store, runs
 * each step of the NULL-terminated list on it in order (a step that fails
 * exits), closes it and returns 0.
 */
static inline int readme_run(int argc, char **argv, readme_step *const *steps)
{
    tc_cache *cache = readme_cache(readme_store(argc, argv));

    for (; *steps; steps++) {
        (*steps)(cache);
    }
    tc_cache_close(cache);
    return 0;
}

/* Frees what a classification took: its result, classifier and model. */
static inline void readme_classified_free(tc_result *r, tc_classifier *clf,
                                          tc_model *model)
{
    tc_result_free(r);
    tc_classifier_close(clf);
    tc_model_free(model);
}

#endif
