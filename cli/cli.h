/*
 * cli.h - what the files of the tutorcache command line share: the exit
 * codes (one list, also printed by --help), the command table's entry, the
 * run context filled from the global options, and the helpers of util.c.
 * The CLI uses the public API of tutorcache.h only, never lib/ internals.
 */
#ifndef TC_CLI_H
#define TC_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "tutorcache.h"

/*
 * Exit codes: name, value, meaning. The one list the program, its --help
 * text, the README and the tests agree on. The rule between 2 and 4: a
 * command line that cannot be parsed, or a configuration that cannot be
 * loaded, is a usage error (2); a well-formed request whose data the
 * library then refuses (a namespace the configuration does not have, a
 * value too large) is bad input (4). So is a file of lines some of which
 * were rejected (classify, eval; each reported with its line, the others
 * processed) and a damaged model file; a model file that is missing is a
 * bad argument (2).
 */
#define CLI_EXIT_MAP(X)                                                        \
    X(OK, 0, "success")                                                        \
    X(MISS, 1, "no result: get or del found nothing")                          \
    X(USAGE, 2, "usage: bad command, option, argument or configuration")       \
    X(UNAVAIL, 3,                                                              \
      "store unusable: down, timed out, refused the login, its ACL denied a "  \
      "command (TC_EAUTH: \"permission denied for ...\"), or TLS failed "      \
      "(TC_ETLS: unknown CA, expired, name mismatch)")                         \
    X(BADINPUT, 4,                                                             \
      "bad input: rejected lines, bad model, unknown namespace, value too "    \
      "big")                                                                   \
    X(FAIL, 5, "other failure, including a failed write to stdout")

typedef enum cli_exit {
#define CLI__ENUM(name, value, msg) CLI_##name = value,
    CLI_EXIT_MAP(CLI__ENUM)
#undef CLI__ENUM
} cli_exit;

/* Output formats of the commands that print records. */
typedef enum cli_format {
    CLI_FORMAT_AUTO = 0, /* table on a terminal, JSON otherwise */
    CLI_FORMAT_JSON,
    CLI_FORMAT_TABLE
} cli_format;

struct cli_command;

/*
 * The state of one run: the command being run and the library options
 * built from the global options. Unset options stay "unset" so that the
 * environment and the config file still apply (options > environment >
 * config file > defaults, resolved by tc_cache_open()).
 */
typedef struct cli_ctx {
    const struct cli_command *cmd;
    tc_options opt;
    const char *store_url; /* --store, or NULL */
} cli_ctx;

/*
 * A command runs with argv[0] set to its name and returns a cli_exit
 * code. It prints its data on stdout and its diagnostics on stderr; main()
 * checks that stdout was written.
 */
typedef int (*cli_cmd_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for tutorcache --help */
    cli_cmd_fn run;
    const char *help; /* the whole text of `tutorcache help NAME` */
} cli_command;

/* The commands (cmd_<name>.c); main.c puts them in its table. */
int cli_cmd_get(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_set(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_del(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_ping(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_stats(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_config(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_bench(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_train(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_eval(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_classify(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_model(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_loadtest(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_warm(cli_ctx *ctx, int argc, char **argv);

extern const char cli_help_get[];
extern const char cli_help_set[];
extern const char cli_help_del[];
extern const char cli_help_ping[];
extern const char cli_help_stats[];
extern const char cli_help_config[];
extern const char cli_help_bench[];
extern const char cli_help_train[];
extern const char cli_help_eval[];
extern const char cli_help_classify[];
extern const char cli_help_model[];
extern const char cli_help_loadtest[];
extern const char cli_help_warm[];

/* ---- util.c ------------------------------------------------------------- */

/* "tutorcache: " + the message + a newline, on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Usage errors: cli_err() plus a pointer to the command's help; returns
 * CLI_USAGE so that callers can `return cli_usage(ctx, ...)`.
 */
int cli_usage(const cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the running command's help text on stdout; returns CLI_OK. */
int cli_help(const cli_ctx *ctx);

/*
 * getopt_long() for a command (argv[0] is the command's name), restarted
 * for each command. Unknown options and options missing their value are
 * reported (cli_usage) and returned as '?'. Options may follow the
 * arguments, and `--` ends them, so a value such as "-5" can be given.
 */
int cli_getopt(const cli_ctx *ctx, int argc, char **argv, const char *shorts,
               const struct option *longs);

/* Whole decimal integer in [min, max]; 0 on success, -1 otherwise. */
int cli_parse_int(const char *s, long long min, long long max, long long *out);

/* A plain decimal number (fractions allowed, no hex, inf or nan). */
int cli_parse_number(const char *s, double *out);

/* The value s of option name (as "--batch") as a whole number in
 * [min, max] into *out: CLI_OK, or CLI_USAGE after "NAME: "S" is not in
 * MIN-MAX". One message for every count a command takes. */
int cli_opt_int(const cli_ctx *ctx, const char *name, const char *s,
                long long min, long long max, long long *out);

/* The same for a share, a rate or a threshold: a number in 0-1. */
int cli_opt_share(const cli_ctx *ctx, const char *name, const char *s,
                  double *out);

/* The options part of the help of a command whose only option is
 * --format (cli_parse_format_opts): one text, so the commands say it
 * alike. */
#define CLI_HELP_FORMAT_OPTIONS                                                \
    "Options:\n"                                                               \
    "  --format json|table   default: table on a terminal, JSON otherwise\n"   \
    "  -h, --help            show this help\n"

/* --format's value; CLI_USAGE after a message when it is not valid. */
int cli_parse_format(const cli_ctx *ctx, const char *s, cli_format *out);

/* AUTO resolved: a table when stdout is a terminal, JSON otherwise. */
cli_format cli_format_resolve(cli_format f);
/*
 * The options of a command whose only option is --format (and --help):
 * returns CLI_OK with *fmt set and optind at the first operand,
 * CLI_HELP_SHOWN after printing the help (the command then exits 0), or
 * the exit code of a usage error. The operands are the caller's to check.
 */
#define CLI_HELP_SHOWN (-1)
int cli_parse_format_opts(cli_ctx *ctx, int argc, char **argv, cli_format *fmt);
/*
 * The whole command line of such a command when it takes no operands:
 * cli_parse_format_opts, then a usage error for any operand.
 */
int cli_parse_format_only(cli_ctx *ctx, int argc, char **argv, cli_format *fmt);

/*
 * The start of a command that takes only --format and no operands, and
 * reads the store (config, ping, stats): cli_parse_format_only, then
 * cli_open. Returns CLI_OK with *h open (the caller closes it), or the
 * code to exit with and *h NULL: CLI_OK after --help, a usage error, or
 * cli_open's code.
 */
int cli_open_format_only(cli_ctx *ctx, int argc, char **argv, cli_format *fmt,
                         tc_cache **h);

/*
 * The start of a command on one key (get, del): no operands but NS KEY
 * are taken, then the cache is opened. Returns CLI_OK with *h open (the
 * caller closes it) and *ns, *key pointing into argv, or the code to
 * exit with and *h NULL. The caller has parsed its options (optind).
 */
int cli_open_key(cli_ctx *ctx, int argc, char **argv, tc_cache **h,
                 const char **ns, const char **key);

/*
 * What a command's option loop does with an option it has no case for:
 * -h prints the help and returns CLI_HELP_SHOWN, anything else (which
 * cli_getopt has reported) returns CLI_USAGE. One copy, so every command
 * answers -h and mistakes alike.
 */
int cli_opt_default(const cli_ctx *ctx, int opt);

/* --backend's value, exec:COMMAND: sets *command to COMMAND and returns
 * CLI_OK, or returns CLI_USAGE after a message. */
int cli_parse_backend(const cli_ctx *ctx, const char *s, const char **command);

/*
 * Opens the cache with ctx->opt. On failure prints the library's message
 * (which names the field at fault) and returns the exit code: 2 for a
 * configuration error, 3 for a store that cannot be used, 5 otherwise.
 */
int cli_open(cli_ctx *ctx, tc_cache **h);

/* The exit code of a library return code (see CLI_EXIT_MAP). */
int cli_exit_for(int rc);

/*
 * Reports a failed call on h: "tutorcache: WHAT: detail", with the known
 * namespaces listed for TC_ENONS; returns cli_exit_for(rc).
 */
int cli_fail(tc_cache *h, int rc, const char *what);

/* Why the library's last call failed: tc_errmsg(), or the code's message
 * when the library said nothing more. */
const char *cli_why(int rc);

/*
 * The effective configuration as a cJSON tree (tc_cache_config_json),
 * or NULL after a message. The caller deletes it.
 */
cJSON *cli_config_tree(tc_cache *h);

/*
 * Reads a whole stream into a malloc'd buffer (NUL after the last byte,
 * not counted). Returns 0, or -1 with errno set (EFBIG past max bytes).
 */
int cli_read_all(FILE *fp, size_t max, char **buf, size_t *len);

/*
 * The input of a command that reads FILE: stdin for NULL or "-", else the
 * file opened for reading (the caller closes it when it is not stdin).
 * Returns CLI_OK, or CLI_USAGE after a message (a directory, a file that
 * cannot be opened).
 */
int cli_open_input(const char *path, FILE **in);

/*
 * A line of batch input (classify, warm) is a text, or a JSON object when
 * its first character after blanks is '{'. Drops a trailing CR from *len;
 * returns the offset of the '{', or *len when the line is a plain text.
 */
size_t cli_line_json(const char *line, size_t *len);

/*
 * Prints a JSON object for people: scalars as "name  value" lines, an
 * object of scalars as "name.field  value" lines, and an object whose
 * members are all objects (namespaces) as a table with a row per member.
 */
void cli_print_table(FILE *out, const cJSON *root);

/* Prints a cJSON tree as one line of JSON; -1 when out of memory. */
int cli_print_json_line(FILE *out, const cJSON *item);

/* ---- cmd_model.c -------------------------------------------------------- */

/*
 * Loads a model file for a command. On failure prints the library's
 * message and returns the exit code: 2 for a file that cannot be opened
 * (missing, unreadable, a directory), 4 for a damaged or foreign file, 5
 * otherwise.
 */
int cli_model_load(const char *path, tc_model **out);

/*
 * The model file of a command: given (its --model), else TUTORCACHE_MODEL
 * or the config file's "model" (the library resolves both). *out is
 * malloc'd. Returns CLI_OK, or CLI_USAGE after a message naming the
 * command (who), how to give one and the command's other way (or_else,
 * NULL for none).
 */
int cli_model_path(tc_cache *h, const char *given, const char *who,
                   const char *or_else, char **out);

/*
 * Saves m to path through a temporary file that is loaded back and
 * compared first: path is replaced only by a file tc_model_load accepts.
 * Returns 0, or -1 after a message on stderr (path untouched).
 */
int cli_model_save_checked(const tc_model *m, const char *path);

/* CLI_OK when the command has want operands, else a usage error that
 * names them ("expected NS KEY, got 1 argument"). */
int cli_want_args(cli_ctx *ctx, int got, int want, const char *names);

#endif /* TC_CLI_H */
