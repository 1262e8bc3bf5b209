/*
 * tt_util.c - small helpers shared by the suites: temp dirs, build dir.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

char *tt_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path;
    size_t n;

    if (!tmp || !*tmp) {
        tmp = "/tmp";
    }
    n = strlen(tmp) + 32;
    path = malloc(n);
    if (!path) {
        return NULL;
    }
    snprintf(path, n, "%s/tctest.XXXXXX", tmp);
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void tt_rmtree(const char *path)
{
    if (path) {
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *tt_build_dir(void)
{
    const char *b = getenv("TC_BUILD");

    return b && *b ? b : "build";
}
