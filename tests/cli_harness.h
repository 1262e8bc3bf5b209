/*
 * cli_harness.h - runs the built `tutorcache` binary as a user would, for
 * the CLI suites: a fork and exec per call with a clean environment in the
 * test's temp dir, stdin fed, and stdout, stderr and the exit code kept
 * apart for the checks; and the fields of a command's JSON answer.
 */
#ifndef TC_CLI_HARNESS_H
#define TC_CLI_HARNESS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define CLI_MAX_ARGS 40
#define CLI_MAX_ENV 32

/* What a suite's setup sets before running anything. */
typedef struct cli_target {
    const char *bin;  /* the binary */
    const char *home; /* HOME, TMPDIR; XDG_CACHE_HOME and XDG_STATE_HOME in
                         it */
    const char *url;  /* TUTORCACHE_URL when a run names none; NULL: unset */
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

/* Exit code, exact stdout (NULL: anything) and a part of stderr (NULL:
 * anything, "": empty), with the run's output in the failure message. */
void expect(const run *r, int code, const char *out, const char *err_part);

/*
 * A command's stdout when it is one line of one JSON object, parsed (the
 * test fails otherwise); the caller deletes it.
 */
cJSON *run_json(const run *r);

/* The field at a dotted path of o ("learn.last.applied"), which must be
 * there (and of the type asked for); what comes back is borrowed from o. */
const cJSON *json_get(const cJSON *o, const char *path);
const char *json_str(const cJSON *o, const char *path);
double json_num(const cJSON *o, const char *path);
int json_bool(const cJSON *o, const char *path);

#endif
