/*
 * main.c - the tutorcache command line: global options, the table of
 * commands, help and the final check that stdout was really written. The
 * commands live one per file (cmd_<name>.c); this file only dispatches, so
 * adding a command is one table row and one file.
 */
#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cmd_feedback.h"

static int cmd_help(cli_ctx *ctx, int argc, char **argv);

static const char help_help[] =
    "Usage: tutorcache help [COMMAND]\n"
    "\n"
    "Print the help of COMMAND, the same text as 'tutorcache COMMAND --help',\n"
    "or without COMMAND the overview of 'tutorcache --help'.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage: an unknown command\n"
    "  5  other, including a failed write to stdout\n";

/* The commands, in the order --help lists them. */
static const cli_command commands[] = {
    {"get", "print a cached value", cli_cmd_get, cli_help_get},
    {"set", "store a value", cli_cmd_set, cli_help_set},
    {"del", "delete a value", cli_cmd_del, cli_help_del},
    {"ping", "check that the store answers, and how fast", cli_cmd_ping,
     cli_help_ping},
    {"stats", "counters of the cache and health of the store", cli_cmd_stats,
     cli_help_stats},
    {"config", "the effective configuration, password masked", cli_cmd_config,
     cli_help_config},
    {"bench", "measure the cache or classification against the store",
     cli_cmd_bench, cli_help_bench},
    {"loadtest", "classify at a target rate, open-loop, and report latency",
     cli_cmd_loadtest, cli_help_loadtest},
    {"classify", "classify texts through the cache", cli_cmd_classify,
     cli_help_classify},
    {"warm", "classify a file of texts into the cache", cli_cmd_warm,
     cli_help_warm},
    {"train", "train the built-in classifier", cli_cmd_train, cli_help_train},
    {"eval", "measure a model on labelled examples", cli_cmd_eval,
     cli_help_eval},
    {"model", "what a model file holds (model info MODEL)", cli_cmd_model,
     cli_help_model},
    {"feedback",
     "corrections: submit, import, export, stats, report, learn, purge",
     cli_cmd_feedback, cli_help_feedback},
    {"help", "show the help of a command", cmd_help, help_help},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const cli_command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

static void print_main_help(FILE *out)
{
    size_t i;

    fputs("Usage: tutorcache [global options] <command> [options] [args]\n"
          "\n"
          "Caches machine-learning answers in an in-process L1 and a shared "
          "L2\n"
          "(Redis or LMDB), and classifies texts through that cache. stdout\n"
          "carries data only; diagnostics go to stderr.\n"
          "\n"
          "Commands:\n",
          out);
    for (i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fputs(
        "\n"
        "Global options (before the command):\n"
        "  --store URL        the L2: redis://host[:port][/db],\n"
        "                     redis-cluster://host:port[,host:port...],\n"
        "                     unix:///path/redis.sock[?db=N], lmdb:///dir or "
        "memory:\n"
        "                     (rediss://, rediss-cluster:// over TLS:\n"
        "                     "
        "?tls_ca=FILE&tls_server_name=NAME&tls_cert=FILE&\n"
        "                     tls_key=FILE; tls_insecure=1 skips verifying)\n"
        "                     (a password goes in REDIS_PASSWORD, never "
        "here:\n"
        "                     ps shows every command line)\n"
        "  --feedback-store URL  feedback (records, corrections' overrides,\n"
        "                     the retraining queue) in a store of its own,\n"
        "                     apart from a cache Redis that may evict it:\n"
        "                     a URL as --store takes, but not memory:\n"
        "  --config FILE      JSON config file (instead of "
        "TUTORCACHE_CONFIG)\n"
        "  --log-level LEVEL  debug, info, warn (default), error or off;\n"
        "                     debug and info show every line, as text\n"
        "  --log-format F     the library's log lines on stderr, every one:\n"
        "                     json (one object per line) or text (time level\n"
        "                     event k=v); by default a run shows its first\n"
        "                     warning or error as one line and counts the "
        "rest\n"
        "  -v, --verbose      every log line from info up, as text\n"
        "  --log-texts        let debug lines carry the classified texts\n"
        "                     (off by default: texts may be private)\n"
        "  --timeout MS       connect and command timeout of the store, in "
        "ms\n"
        "                     (1-600000; default 250)\n"
        "  --password-file F  the Redis password, read from F (mode 0600;\n"
        "                     instead of TUTORCACHE_PASSWORD_FILE)\n"
        "  --audit-log FILE   append a JSON line per state-changing operation\n"
        "                     to FILE (instead of TUTORCACHE_AUDIT_LOG)\n"
        "  --actor NAME       who acts, in the audit log's lines\n"
        "  -h, --help         show this help\n"
        "  --version          print the version\n"
        "\n"
        "Options beat the environment, which beats the config file:\n"
        "TUTORCACHE_URL, TUTORCACHE_CONFIG, REDIS_HOST, REDIS_PORT, "
        "REDIS_DB,\n"
        "REDIS_PASSWORD, CACHE_TTL, ENABLE_CACHING, TUTORCACHE_MODEL,\n"
        "TUTORCACHE_FEEDBACK_STORE, TUTORCACHE_PASSWORD_FILE,\n"
        "TUTORCACHE_AUDIT_LOG. With no store set, the L2 is\n"
        "lmdb://$XDG_CACHE_HOME/tutorcache (default ~/.cache/tutorcache).\n"
        "Key files (mode 600, 32 random bytes), each off by default:\n"
        "TUTORCACHE_ENCRYPTION_KEY_FILE seals every value and feedback record\n"
        "in the store (TUTORCACHE_ENCRYPTION_OLD_KEY_FILES, separated by ':',\n"
        "still open what older keys sealed); TUTORCACHE_KEY_SECRET_FILE makes\n"
        "keys a keyed hash, so the store cannot confirm a guessed text.\n"
        "\n"
        "Run 'tutorcache help <command>' for the options of a command.\n"
        "\n"
        "Exit codes:\n",
        out);
#define CLI__HELP(name, value, msg) fprintf(out, "  %d  %s\n", value, msg);
    CLI_EXIT_MAP(CLI__HELP)
#undef CLI__HELP
}

static int cmd_help(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const cli_command *c;
    int opt;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        if (opt == 'h') {
            return cli_help(ctx);
        }
        return CLI_USAGE;
    }
    if (argc - optind > 2) {
        return cli_usage(ctx, "one command at a time");
    }
    if (argc - optind == 0) {
        print_main_help(stdout);
        return CLI_OK;
    }
    if (!(c = find_command(argv[optind]))) {
        return cli_usage(ctx, "unknown command \"%s\"", argv[optind]);
    }
    if (argc - optind == 2) {
        /* a subcommand's help is its own --help: `help feedback learn` */
        char *sub[] = {argv[optind], argv[optind + 1], "--help", NULL};

        ctx->cmd = c;
        optind = 0;
        return c->run(ctx, 3, sub);
    }
    fputs(c->help, stdout);
    return CLI_OK;
}

/*
 * The library's log lines go to stderr as they are, one JSON object per
 * line and without the "tutorcache:" prefix, so that `2>` into jq works.
 * One fprintf per line: stdio locks the stream, so the lines of the
 * threads of `bench` do not interleave.
 */
static void log_to_stderr(void *userdata, tc_log_level level, const char *json)
{
    (void)userdata;
    (void)level;
    fprintf(stderr, "%s\n", json);
}

/*
 * --log-format text: the same line for people, "time level event
 * key=value ...", a value quoted when it holds a space, a quote or '='.
 */
static void log_to_stderr_text(void *userdata, tc_log_level level,
                               const char *json)
{
    cJSON *root = cJSON_Parse(json), *it;
    char line[2048];
    size_t n = 0;

    (void)userdata;
    (void)level;
    if (!root) {
        fprintf(stderr, "%s\n", json); /* cannot happen; never lose it */
        return;
    }
    cJSON_ArrayForEach(it, root)
    {
        char num[32];
        const char *v = cJSON_IsString(it) ? it->valuestring : "";
        int quote, w;

        if (cJSON_IsNumber(it)) {
            snprintf(num, sizeof(num), "%.17g", it->valuedouble);
            v = num;
        }
        quote = strpbrk(v, " \"=") != NULL || !*v;

        if (strcmp(it->string, "time") == 0 ||
            strcmp(it->string, "level") == 0 ||
            strcmp(it->string, "event") == 0) {
            w = snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", v);
        } else {
            w = snprintf(line + n, sizeof(line) - n, " %s=%s%s%s", it->string,
                         quote ? "\"" : "", v, quote ? "\"" : "");
        }
        if (w < 0 || (size_t)w >= sizeof(line) - n) {
            break;
        }
        n += (size_t)w;
    }
    cJSON_Delete(root);
    fprintf(stderr, "%s\n", line);
}

/*
 * The default: people read stderr, so a run prints the first warning or
 * error of the library as one line, "tutorcache: warning: EVENT: DETAIL
 * (STORE)", and counts the rest, which finish() mentions once. -v, or an
 * explicit --log-format, shows every line.
 */
static _Atomic unsigned long human_more;
static _Atomic int human_said;

static const char *field(const cJSON *root, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, name);

    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static void log_to_stderr_human(void *userdata, tc_log_level level,
                                const char *json)
{
    cJSON *root;
    const char *detail, *store, *event;

    (void)userdata;
    if (atomic_exchange(&human_said, 1)) {
        atomic_fetch_add(&human_more, 1);
        return;
    }
    if (!(root = cJSON_Parse(json))) {
        fprintf(stderr, "tutorcache: %s\n", json); /* never lose it */
        return;
    }
    event = field(root, "event");
    detail = field(root, "detail");
    detail = detail ? detail : field(root, "error");
    store = field(root, "store");
    fprintf(stderr, "tutorcache: %s: %s%s%s%s%s%s\n",
            level >= TC_LOG_ERROR ? "error" : "warning", event ? event : "?",
            detail ? ": " : "", detail ? detail : "", store ? " (" : "",
            store ? store : "", store ? ")" : "");
    cJSON_Delete(root);
}

static int parse_log_level(const char *s, tc_log_level *out)
{
    static const struct {
        const char *name;
        tc_log_level level;
    } levels[] = {{"debug", TC_LOG_DEBUG},
                  {"info", TC_LOG_INFO},
                  {"warn", TC_LOG_WARN},
                  {"error", TC_LOG_ERROR},
                  {"off", TC_LOG_OFF}};
    size_t i;

    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return -1;
}

enum {
    OPT_STORE = 256,
    OPT_FB_STORE,
    OPT_CONFIG,
    OPT_LOG_LEVEL,
    OPT_LOG_FORMAT,
    OPT_LOG_TEXTS,
    OPT_TIMEOUT,
    OPT_VERSION,
    OPT_VERBOSE,
    OPT_AUDIT_LOG,
    OPT_ACTOR,
    OPT_PASSWORD_FILE
};

/*
 * Global options, up to the command name ('+': stop at the first
 * argument). Returns -1 to go on with the command at argv[optind], or an
 * exit code when the run ends here (help, version, usage error).
 */
static int parse_globals(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"feedback-store", required_argument, NULL, OPT_FB_STORE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"log-texts", no_argument, NULL, OPT_LOG_TEXTS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
        {NULL, 0, NULL, 0}};
    long long v;
    int opt;

    while ((opt = cli_getopt(ctx, argc, argv, "+hv", longs)) != -1) {
        switch (opt) {
        case OPT_STORE:
            ctx->store_url = optarg;
            ctx->opt.store_url = optarg;
            break;
        case OPT_FB_STORE:
            ctx->opt.feedback_store = optarg;
            break;
        case OPT_CONFIG:
            ctx->opt.config_path = optarg;
            break;
        case OPT_LOG_LEVEL:
            if (parse_log_level(optarg, &ctx->opt.log_level) != 0) {
                return cli_usage(ctx,
                                 "--log-level: \"%s\" is not debug, info, "
                                 "warn, error or off",
                                 optarg);
            }
            break;
        case OPT_LOG_FORMAT:
            if (strcmp(optarg, "json") == 0) {
                ctx->opt.log_fn = log_to_stderr;
            } else if (strcmp(optarg, "text") == 0) {
                ctx->opt.log_fn = log_to_stderr_text;
            } else {
                return cli_usage(ctx,
                                 "--log-format: \"%s\" is not json or "
                                 "text",
                                 optarg);
            }
            break;
        case OPT_LOG_TEXTS:
            ctx->opt.log_texts = 1;
            break;
        case 'v':
            ctx->opt.log_fn = log_to_stderr_text;
            if (ctx->opt.log_level > TC_LOG_INFO) {
                ctx->opt.log_level = TC_LOG_INFO;
            }
            break;
        case OPT_TIMEOUT:
            if (cli_parse_int(optarg, 1, 600000, &v) != 0) {
                return cli_usage(ctx,
                                 "--timeout: \"%s\" is not a number of "
                                 "milliseconds (1-600000)",
                                 optarg);
            }
            ctx->opt.connect_timeout_ms = (int)v;
            ctx->opt.command_timeout_ms = (int)v;
            break;
        case OPT_AUDIT_LOG:
            ctx->opt.audit_log = optarg;
            break;
        case OPT_ACTOR:
            tc_audit_actor(optarg);
            break;
        case OPT_PASSWORD_FILE:
            ctx->opt.password_file = optarg;
            break;
        case 'h':
            print_main_help(stdout);
            return CLI_OK;
        case OPT_VERSION:
            printf("tutorcache %s\n", tc_version());
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        return cli_usage(ctx, "no command given");
    }
    return -1;
}

/*
 * Everything written to stdout must have reached it: a full disk or a
 * closed pipe turns a success into exit 5, as in jq and git. An earlier
 * failure keeps its own, more specific code.
 */
static int finish(int rc)
{
    int bad = 0, e = 0;

    if (fflush(stdout) != 0) {
        bad = 1;
        e = errno;
    }
    if (ferror(stdout)) {
        bad = 1;
    }
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        cli_err("write error on stdout: %s", e ? strerror(e) : "output error");
        if (rc == CLI_OK || rc == CLI_MISS) {
            rc = CLI_FAIL;
        }
    }
    if (atomic_load(&human_more) > 0) {
        fprintf(stderr, "tutorcache: (and %lu more log lines; -v shows them)\n",
                atomic_load(&human_more));
    }
    return rc;
}

/* logrotate renamed the audit log: the next line opens it anew. Only
 * while an audit log is named (--audit-log, TUTORCACHE_AUDIT_LOG): other
 * runs keep SIGHUP's default, a hang-up ends them. */
static void on_sighup(int sig)
{
    (void)sig;
    tc_audit_reopen();
}

int main(int argc, char **argv)
{
    const cli_command *cmd;
    cli_ctx ctx;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    tc_options_init(&ctx.opt);
    ctx.opt.log_fn = log_to_stderr_human;
    ctx.opt.log_level = TC_LOG_WARN;

    if ((rc = parse_globals(&ctx, argc, argv)) >= 0) {
        return finish(rc);
    }
    if (ctx.opt.audit_log || getenv("TUTORCACHE_AUDIT_LOG")) {
        signal(SIGHUP, on_sighup);
    }
    if (ctx.opt.log_fn == log_to_stderr_human &&
        ctx.opt.log_level < TC_LOG_WARN) {
        /* info or debug asked for: every line, not just the first */
        ctx.opt.log_fn = log_to_stderr_text;
    }
    if (!(cmd = find_command(argv[optind]))) {
        const char *name = argv[optind];

        if (name[0] == '-') {
            return finish(cli_usage(&ctx,
                                    "unknown option %s (global options go "
                                    "before the command)",
                                    name));
        }
        return finish(cli_usage(&ctx, "unknown command \"%s\"", name));
    }
    ctx.cmd = cmd;
    argc -= optind;
    argv += optind;
    /* each command parses its own options from scratch */
    optind = 0;
    return finish(cmd->run(&ctx, argc, argv));
}
