/*
 * cli_harness.h - runs the built `tutorcache` binary as a user would, for
 * the CLI suites: a fork and exec per call with a clean environment in the
 * test's temp dir, stdin fed, and stdout, stderr and the exit code kept
 * apart for the checks; the checks every CLI suite makes (help, usage
 * errors, diagnostics), the fields of a command's JSON answer and its JSON
 * Lines; and the CLI suites' common fixture (a HOME per test in the case's
 * dir, a store of each kind, the example model trained once per case).
 */
#ifndef TC_CLI_HARNESS_H
#define TC_CLI_HARNESS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "redis_fixture.h"
#include "tt_json.h"

#define CLI_MAX_ARGS 40
#define CLI_MAX_ENV 32

/* What a suite's setup sets before running anything. */
typedef struct cli_target {
    const char *bin;  /* the binary */
    const char *home; /* HOME, TMPDIR; XDG_CACHE_HOME and XDG_STATE_HOME in
                         it */
    const char *url;  /* TUTORCACHE_URL when a run names none; NULL: unset */
    const char *const *env; /* NAME=value given to every run (before a
                               run's own), NULL-terminated; may be NULL */
} cli_target;

extern cli_target tt_cli;

/* One run's outcome; stdout and stderr are NUL-terminated. */
typedef struct run {
    int code; /* exit status; 128 + signal when killed */
    char *out;
    size_t outlen;
    char *err;
    size_t errlen;
} run;

/* How to run: everything may be left zero. */
typedef struct how {
    const char *url;        /* TUTORCACHE_URL; NULL: tt_cli.url */
    const char *const *env; /* more NAME=value, NULL-terminated; may be NULL */
    const void *in;         /* stdin; NULL for /dev/null */
    size_t inlen;           /* 0: strlen(in) */
    int stdout_full;        /* stdout on /dev/full */
} how;

void run_free(run *r);
/* Runs the binary with the NULL-terminated arguments and waits for it
 * (at most 90 s: a hang fails the test). */
void run_argv(run *r, const how *h, char *const *args);
void cli_run(run *r, const how *h, ...);
#define cli(r, h, ...) cli_run(r, h, __VA_ARGS__, (char *)NULL)

/*
 * A run whose outcome expect() (or, with diag set, expect_diag()) checks
 * in full, freed after: cli(), expect(), run_free() in one. The message
 * of a failure names the command line.
 */
void cli_check_run(const how *h, int diag, int code, const char *out,
                   const char *err_part, ...);
#define cli_check(h, code, out, err_part, ...)                                 \
    cli_check_run(h, 0, code, out, err_part, __VA_ARGS__, (char *)NULL)
#define cli_check_diag(h, code, part, ...)                                     \
    cli_check_run(h, 1, code, "", part, __VA_ARGS__, (char *)NULL)

/*
 * A run that succeeds, stderr empty, whose stdout holds has and not hides
 * (either NULL: not checked), freed after: how a suite checks that a
 * command says a secret is set without printing it.
 */
void cli_check_out_run(const how *h, const char *has, const char *hides, ...);
#define cli_check_out(h, has, hides, ...)                                      \
    cli_check_out_run(h, has, hides, __VA_ARGS__, (char *)NULL)

/* Exit code, exact stdout (NULL: anything) and a part of stderr (NULL:
 * anything, "": empty), with the run's output in the failure message. */
void expect(const run *r, int code, const char *out, const char *err_part);

/* Asserts that the run's stdout holds each of the strings (a list ended
 * by NULL), naming the first one missing with the output. */
void expect_out_has(const run *r, ...);

/* A usage-style failure: the code, nothing on stdout, and one
 * "tutorcache: " diagnostic mentioning part (NULL: anything). */
void expect_diag(const run *r, int code, const char *part);

/*
 * The help of command cmd: main_help (the stdout of `tutorcache --help`)
 * lists it, `cmd --help` says "Usage: tutorcache cmd", and `cmd -h` and
 * `help cmd` print the same, each run as h says (may be NULL). r receives
 * the run of `cmd --help`, for more checks; the caller frees it.
 */
void expect_help(run *r, const how *h, const char *main_help, const char *cmd);

/* expect_help() for each of the n commands, against the main --help, and
 * each help lists the exit codes. */
void expect_helps(const how *h, const char *const *cmds, size_t n);

/* The run of args (NULL-terminated), the n-th case of a test, is a usage
 * error: exit 2, nothing on stdout, stderr starting "tutorcache: ". */
void expect_usage(const how *h, const char *const *args, size_t n);

/* Every line of stderr is a diagnostic: "tutorcache: ...". */
void expect_diagnostics(const run *r);

/*
 * A command's stdout when it is one line of one JSON object, parsed (the
 * test fails otherwise); the caller deletes it.
 */
cJSON *run_json(const run *r);

/* JSON Lines: every line of a command's stdout one JSON object. */
typedef struct lines {
    cJSON **v;
    size_t n;
} lines;

/* Parses text (NUL-terminated; a command's r.out) line by line; the test
 * fails on a line that is not an object or lacks its newline. Free with
 * lines_free(). */
void lines_parse(lines *ls, const char *text);
void lines_free(lines *ls);

/* Any number of lines, for expect_lines. */
#define LINES_ANY ((size_t)-1)

/* A run that prints JSON lines: expect(r, code, NULL, err_part), then its
 * stdout parsed into ls, which must hold n lines unless n is LINES_ANY. */
void expect_lines(lines *ls, const run *r, int code, const char *err_part,
                  size_t n);

/* lines_free(ls), then run_free(r): the end of a checked run. */
void lines_run_free(lines *ls, run *r);

/* ---- the CLI suites' fixture --------------------------------------------- */

/* The example data the suites train the example model from. */
#define CLI_TRAIN_DATA "examples/intents.jsonl"

/*
 * A checked fixture for a CLI suite, whose case runs tt_case_setup() and
 * tt_case_teardown() as its unchecked fixture: the built binary (the test
 * fails when it is not there), a fresh HOME for the test inside the case's
 * dir, and TUTORCACHE_URL an LMDB store in it (a suite that wants another
 * default sets tt_cli.url after cli_setup()). SIGPIPE is ignored, so that
 * writing the stdin of a child that already exited does not kill the test.
 */
void cli_setup(void);
void cli_teardown(void);

/* cli_setup() with no default store: each run names its own, or none. */
void cli_setup_nostore(void);

/* The test's HOME, until cli_teardown(). */
const char *cli_home(void);

/* The stores a CLI test runs on; a loop test's _i is often one of these. */
enum { CLI_LMDB, CLI_REDIS, CLI_UNIX, CLI_MEMORY, CLI_NSTORES };

/*
 * The test's private Redis, started (with extra config lines; may be NULL)
 * with its dir in the case's, so that a failed forked test leaves nothing
 * behind; the test fails when it does not start. cli_teardown() stops it.
 * cli_redis() is that server, or NULL before it started.
 */
trs *cli_redis_start(const char *extra_conf);
trs *cli_redis(void);

/* The URL of store kind k, into buf: LMDB in the test's HOME, memory:, or
 * the test's Redis by TCP or unix socket (started when it is not yet). */
const char *cli_store_url(int k, char *buf, size_t n);

/* The example model trained from CLI_TRAIN_DATA with --seed 7 --threads 1
 * on its first use in a case, and the same file for the case's later
 * tests (it lives in the case's dir); its path. */
const char *cli_model(void);

/* The fingerprint of a model file, as `model info` prints it. */
void cli_fingerprint(const char *path, char fp[64]);

#endif
