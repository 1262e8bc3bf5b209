/*
 * tt_util.c - small helpers shared by the suites: temp dirs (per test,
 * and per case so that a failed forked test leaves nothing behind), the
 * build dir, clocks, files and a free port. Each has one home here so
 * that no suite grows its own copy.
 */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
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

static char *case_dir; /* the running case's, made in the parent */

void tt_case_setup(void)
{
    case_dir = tt_mkdtemp();
    ck_assert_msg(case_dir != NULL, "no temp dir: %s", strerror(errno));
}

void tt_case_teardown(void)
{
    tt_rmtree(case_dir);
    free(case_dir);
    case_dir = NULL;
}

const char *tt_case_dir(void)
{
    return case_dir;
}

char *tt_test_dir(void)
{
    char *path;

    if (!case_dir) {
        return tt_mkdtemp();
    }
    path = malloc(strlen(case_dir) + 16);
    if (!path) {
        return NULL;
    }
    sprintf(path, "%s/test.XXXXXX", case_dir);
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

const char *tt_build_dir(void)
{
    const char *b = getenv("TC_BUILD");

    return b && *b ? b : "build";
}

int tt_under_valgrind(void)
{
    return getenv("TC_VALGRIND") != NULL;
}

int64_t tt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tt_sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0) {
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void tt_write_file(const char *path, const char *text, int mode)
{
    FILE *fp = fopen(path, "w");

    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_msg(fputs(text, fp) >= 0, "%s: %s", path, strerror(errno));
    ck_assert_msg(fclose(fp) == 0, "%s: %s", path, strerror(errno));
    ck_assert_msg(chmod(path, (mode_t)mode) == 0, "%s: %s", path,
                  strerror(errno));
}

size_t tt_count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

int tt_count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (; (hay = strstr(hay, needle)); hay += strlen(needle)) {
        n++;
    }
    return n;
}

long tt_file_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    long n = 0;
    int c;

    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    while ((c = fgetc(fp)) != EOF) {
        n += c == '\n';
    }
    fclose(fp);
    return n;
}

void tt_copy_head(const char *from, const char *to, long n)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t got;

    ck_assert_msg(in && out, "%s -> %s: %s", from, to, strerror(errno));
    while (n > 0 && (got = fread(buf, 1, sizeof(buf), in)) > 0) {
        got = (long)got > n ? (size_t)n : got;
        ck_assert_uint_eq(fwrite(buf, 1, got, out), got);
        n -= (long)got;
    }
    ck_assert_msg(!ferror(in), "%s: %s", from, strerror(errno));
    fclose(in);
    ck_assert_msg(fclose(out) == 0, "%s: %s", to, strerror(errno));
}

void tt_copy_file(const char *from, const char *to)
{
    tt_copy_head(from, to, LONG_MAX);
}

const char *tt_metric_at(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return p + n + 1;
        }
        p += n;
    }
    return NULL;
}

tc_cache *tt_open_memory(unsigned flags)
{
    tc_options opt;
    tc_cache *h = NULL;

    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG | flags;
    opt.store_url = "memory:";
    ck_assert_msg(tc_cache_open(&h, &opt) == TC_OK, "open memory: %s",
                  tc_errmsg());
    ck_assert_ptr_nonnull(h);
    return h;
}

int tt_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd, port = -1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

int tt_host_reply(char **json, const char *answer)
{
    size_t n = strlen(answer) + 1;

    *json = tc_malloc(n);
    if (!*json) {
        return TC_ENOMEM;
    }
    memcpy(*json, answer, n);
    return TC_OK;
}

int tt_host_answer(char **json, const char *text, size_t len, void *ud)
{
    (void)text;
    (void)len;
    return tt_host_reply(json, ud);
}

int tt_host_explains(char **json, const char *text, size_t len, void *ud)
{
    static const char a[] = "{\"intent\":\"explanation\",\"confidence\":0.7}";

    (void)ud;
    return tt_host_answer(json, text, len, (void *)a);
}

tc_classifier *tt_host_classifier(tc_cache *c)
{
    tc_classifier_options co;
    tc_classifier *cl = NULL;

    tc_classifier_options_init(&co);
    co.fn = tt_host_explains;
    co.fn_version = "v1";
    ck_assert_msg(tc_classifier_open(&cl, c, &co) == TC_OK, "classifier: %s",
                  tc_errmsg());
    return cl;
}

void tt_expect_loop_corrected(tc_classifier *c)
{
    tc_result *r;

    ck_assert_msg(tc_classify(&r, c, TT_LOOP_TEXT, strlen(TT_LOOP_TEXT)) ==
                      TC_OK,
                  "classify: %s", tc_errmsg());
    ck_assert_int_eq(r->source, TC_SOURCE_FEEDBACK);
    ck_assert_str_eq(r->intent, "debugging");
    tc_result_free(r);
}
