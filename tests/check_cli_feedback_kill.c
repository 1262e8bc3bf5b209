/*
 * check_cli_feedback_kill.c - `tutorcache feedback import` killed with
 * SIGKILL half way through a file of 20,000 records, then run again on
 * the whole file, on LMDB and on Redis: every record is stored exactly
 * once, the rerun counting what the first run stored as duplicates.
 *
 * The first run reads the file through a pipe (stdin, "-") that the test
 * fills: it writes half the file, waits until the store holds the batches
 * of it, writes more and kills the importer by its pid at once, so the
 * kill always lands mid-import, whatever the machine's speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_feedback_fixture.h"
#include "cli_harness.h"
#include "suites.h"

#define N 20000
#define FIRST 10000 /* records written before the store is watched */
#define MORE 5000   /* written just before the kill */
#define BATCH 1024  /* an import's records per store round trip */

static const int kinds[] = {CLI_LMDB, CLI_REDIS};

static long kept(const how *h)
{
    cJSON *st = cf_stats(h);
    long n = (long)json_num(st, "kept");

    cJSON_Delete(st);
    return n;
}

static size_t record(char *buf, size_t n, int i)
{
    return (size_t)snprintf(buf, n,
                            "{\"text\":\"question %d\",\"original_intent\":"
                            "\"a\",\"correct_intent\":\"b\","
                            "\"original_confidence\":0.5,\"feedback_type\":"
                            "\"correction\"}\n",
                            i);
}

static void write_records(int fd, int from, int to)
{
    char line[256];

    for (int i = from; i < to; i++) {
        size_t len = record(line, sizeof(line), i), off = 0;

        while (off < len) {
            ssize_t k = write(fd, line + off, len - off);

            if (k < 0 && errno == EINTR) {
                continue;
            }
            ck_assert_msg(k > 0, "writing the importer's stdin: %s",
                          strerror(errno));
            off += (size_t)k;
        }
    }
}

/* `tutorcache feedback import -` on the store url, stdin from fd. */
static pid_t start_import(const char *url, int fd)
{
    char env[5][4200];
    char *envp[6],
        *argv[] = {(char *)tt_cli.bin, "feedback", "import", "-", NULL};
    pid_t pid;

    snprintf(env[0], sizeof(env[0]), "PATH=/usr/bin:/bin");
    snprintf(env[1], sizeof(env[1]), "HOME=%s", cli_home());
    snprintf(env[2], sizeof(env[2]), "XDG_STATE_HOME=%s/state", cli_home());
    snprintf(env[3], sizeof(env[3]), "TUTORCACHE_URL=%s", url);
    snprintf(env[4], sizeof(env[4]), "LC_ALL=C");
    for (int i = 0; i < 5; i++) {
        envp[i] = env[i];
    }
    envp[5] = NULL;
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(fd, 0);
        dup2(null, 1);
        dup2(null, 2);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    return pid;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(test_import_killed_and_rerun)
{
    static const char *ids[N];
    char url[600], path[4200], line[256], want[200], *seen;
    how h = {0};
    lines ls;
    long before;
    int fds[2], status;
    pid_t pid;
    FILE *f;
    run r;

    h.url = cli_store_url(kinds[_i], url, sizeof(url));
    snprintf(path, sizeof(path), "%s/records.jsonl", cli_home());
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < N; i++) {
        record(line, sizeof(line), i);
        fputs(line, f);
    }
    ck_assert_int_eq(fclose(f), 0);

    /* The first run: half the file, then more, then SIGKILL. */
    ck_assert_int_eq(pipe(fds), 0);
    pid = start_import(h.url, fds[0]);
    close(fds[0]);
    write_records(fds[1], 0, FIRST);
    for (int t = 0; kept(&h) < FIRST / BATCH * BATCH; t++) {
        ck_assert_msg(t < 600, "the importer stored only %ld records in 60 s",
                      kept(&h));
        tt_sleep_ms(100);
    }
    write_records(fds[1], FIRST, FIRST + MORE);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    close(fds[1]);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    before = kept(&h);
    ck_assert_int_ge(before, FIRST / BATCH * BATCH);
    ck_assert_int_lt(before, N); /* killed midway */

    /* The rerun, on the whole file: the rest is stored, nothing twice
     * (with time enough for a batch on a loaded machine: a batch that
     * timed out would be spooled, which is not what this test is about) */
    cli(&r, &h, "--timeout", "5000", "feedback", "import", path);
    snprintf(want, sizeof(want),
             "{\"accepted\":%ld,\"rejected\":0,\"spooled\":0,"
             "\"duplicates\":%ld,\"dry_run\":false}\n",
             N - before, before);
    expect(&r, 0, want, "");
    run_free(&r);
    ck_assert_int_eq(kept(&h), N);

    /* The export: N records, each question once, each id once. */
    cli(&r, &h, "feedback", "export");
    expect_lines(&ls, &r, 0, "", N);
    seen = calloc(N, 1);
    ck_assert_ptr_nonnull(seen);
    for (size_t i = 0; i < ls.n; i++) {
        int q = -1;

        ck_assert_int_eq(sscanf(json_str(ls.v[i], "text"), "question %d", &q),
                         1);
        ck_assert_msg(q >= 0 && q < N && !seen[q], "question %d twice", q);
        seen[q] = 1;
        ck_assert(cf_is_record_id(json_str(ls.v[i], "id")));
        ids[i] = json_str(ls.v[i], "id");
    }
    qsort(ids, ls.n, sizeof(ids[0]), cmp_str);
    for (size_t i = 1; i < ls.n; i++) {
        ck_assert_str_ne(ids[i - 1], ids[i]);
    }
    free(seen);
    lines_run_free(&ls, &r);
}
END_TEST

void suite_cli_feedback_kill(Suite *s)
{
    TCase *tc = tcase_create("cli_feedback_kill");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_import_killed_and_rerun, 0,
                        (int)(sizeof(kinds) / sizeof(kinds[0])));
    suite_add_tcase(s, tc);
}
