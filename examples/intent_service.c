/*
 * intent_service.c - an HTTP service in C that links libtutorcache and
 * serves the original intent classifier's API (classify, feedback,
 * feedback stats, Prometheus metrics, health) with libmicrohttpd.
 *
 * One tc_cache, one model and one tc_classifier are shared by all of
 * libmicrohttpd's pool threads; the bounds on abusive clients (connection
 * limits, deadlines, throttled logging) are in service_guard.c, and the
 * reload of the model when its file is replaced in service_model.c. The main
 * thread blocks SIGTERM, SIGINT and SIGHUP before any thread exists, so every
 * thread inherits the mask and the signals wait for sigwait() here: shutdown
 * then runs in plain code, not in a signal handler, and in order (stop the
 * daemon, which finishes the requests in flight, then the model's watcher, then
 * close the classifier, the model and the cache); SIGHUP asks the watcher for
 * a check of the model file.
 *
 *   make examples
 *   build/tutorcache train examples/intents.jsonl -o intents.tcm
 *   examples/intent_service --port 8080 --model intents.tcm \
 *       --store lmdb:///tmp/tc
 *   curl -d '{"text":"how do I reverse a list"}' \
 *       localhost:8080/api/v1/intents/classify
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "service.h"

/* Exit codes, as the tutorcache CLI's where they overlap. */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2,
    EXIT_STORE = 3,
    EXIT_MODEL = 4,
    EXIT_OTHER = 5
};

/*
 * libmicrohttpd's idle timeout: a connection on which nothing moves for
 * this many seconds is closed. The header and body deadlines bound the
 * request; this bounds the response, sent to a client that may not read.
 */
#define IDLE_TIMEOUT_S 30

/* Defaults of the bounds on clients (see the usage text). */
#define DEF_MAX_CONNS 1000
#define DEF_MAX_PER_IP 64
#define DEF_HEADER_S 5
#define DEF_BODY_S 15
#define DEF_LOG_INTERVAL_S 10
/* Of the model file's watcher: a stat() every 5 s costs nothing, and a
 * model learned by a cron job is served seconds after it is swapped. */
#define DEF_RELOAD_INTERVAL_S 5

/* A candidate's share of the traffic when --split is not given: a tenth,
 * as `tutorcache classify --candidate` takes. */
#define DEF_SPLIT 0.1

/* Descriptors kept beside the connections: stdio, the listening socket,
 * each pool thread's epoll and wake-up descriptors, the store's files or
 * socket, the model and the spool. */
#define FD_RESERVE(threads) (64 + 2 * (threads))

static const char usage_text[] =
    "Usage: intent_service [--port N] [--model FILE] [options]\n"
    "\n"
    "Serves tutorcache's intent classifier over HTTP, with its cache, its\n"
    "feedback store and its metrics:\n"
    "  POST /api/v1/intents/classify        {\"text\": \"...\", [\"user_id\"]} "
    "-> 200 the\n"
    "                                       classification\n"
    "  POST /api/v1/intents/feedback        a feedback record -> 201 "
    "{\"id\", \"status\"}\n"
    "                                       (status \"accepted\", or "
    "\"spooled\" while\n"
    "                                       the store is unreachable; 200 "
    "\"duplicate\"\n"
    "                                       when it holds the record "
    "already)\n"
    "  GET  /api/v1/intents/feedback/stats  feedback counts\n"
    "  GET  /api/v1/intents/feedback/report the feedback report: one HTML\n"
    "                                       page (text/html), inline SVG\n"
    "                                       charts, the A/B arms' models,\n"
    "                                       this process's shadow checks\n"
    "  GET  /metrics                        Prometheus text format\n"
    "  GET  /health                         {\"status\", \"store\", "
    "\"store_up\", \"model\",\n"
    "                                       \"model_reloaded_at\", "
    "\"feedback_at_risk\",\n"
    "                                       [\"feedback_warning\"], "
    "\"version\"}\n"
    "                                       (feedback_at_risk: evictable,\n"
    "                                       not_persistent: where feedback "
    "is\n"
    "                                       kept may lose it; see "
    "TUTORCACHE_FEEDBACK_STORE)\n"
    "Errors are JSON {\"error\": name, \"field\", \"detail\"}: 400 for a bad\n"
    "body (bad_json, invalid_utf8, missing_field, invalid_field,\n"
    "invalid_text, invalid_feedback), 404, 405 (with Allow), 413 for a\n"
    "body over 1 MiB, 503 when feedback cannot be stored or read.\n";

/* The options: a string of their own, for C's bound on a literal. */
static const char usage_options[] =
    "\n"
    "Options:\n"
    "  --port N        TCP port to listen on (0: any free one; the\n"
    "                  \"listening\" log line names it); default PORT\n"
    "  --model FILE    the classifier's model (tutorcache train); default\n"
    "                  TUTORCACHE_MODEL\n"
    "  --store URL     redis://..., unix://..., lmdb:///dir or memory:;\n"
    "                  default TUTORCACHE_URL, then REDIS_HOST..., then\n"
    "                  lmdb://$XDG_CACHE_HOME/tutorcache\n"
    "  --host ADDR     IPv4 or IPv6 address to listen on; default HOST,\n"
    "                  then 127.0.0.1 (loopback only; 0.0.0.0 or :: for\n"
    "                  every interface)\n"
    "  --threshold T   below this confidence the intent is \"unknown\"\n"
    "                  (0..1, default 0)\n"
    "  --shadow-rate X cache hits (0..1, default 0) checked again, below\n"
    "  --threads N     request threads (default: twice the cores, 4 to\n"
    "                  64: a thread runs its connections' handlers one at\n"
    "                  a time and a handler may wait on the store; a slow\n"
    "                  client holds a connection, never a thread)\n"
    "  --max-connections N  connections open at once (default 1000; past\n"
    "                  it new ones wait in the kernel's listen queue)\n"
    "  --max-per-ip N  connections open at once from one address (default\n"
    "                  64; 0: no limit, e.g. behind a proxy that has one);\n"
    "                  more are closed at once\n"
    "  --header-timeout S  the request line and headers must be in within\n"
    "                  S seconds of the connection's start, or of the\n"
    "                  previous response on a kept-alive one (default 5)\n"
    "  --body-timeout S  the body must be in within S seconds of the\n"
    "                  headers (default 15)\n"
    "  --log-interval S  dropped connections and repeated server messages\n"
    "                  are logged as one line per S seconds with a count\n"
    "                  (default 10)\n"
    "  --reload-interval S  check the model file every S seconds and, when\n"
    "                  it is another file (replaced by `tutorcache train`\n"
    "                  or `tutorcache feedback learn`), load it and swap it\n"
    "                  in; requests in flight finish on the old model\n"
    "                  (default 5; 0: only on SIGHUP)\n"
    "  --candidate FILE  an A/B rollout: this model answers the share\n"
    "                  --split of the traffic, chosen by the classify\n"
    "                  request's \"user_id\" (a user always gets the same\n"
    "                  model) or else by the text; each answer names its\n"
    "                  \"arm\", \"control\" or \"candidate\"\n"
    "  --split X       the candidate's share, 0..1 (default 0.1)\n"
    "  --config FILE   tutorcache's JSON config (default TUTORCACHE_CONFIG)\n"
    "  --log-level L   debug, info, warn, error or off (default info: one\n"
    "                  access line per request)\n"
    "  -h, --help      this text\n"
    "  --version       the versions of the service's libraries\n"
    "\n"
    "An option beats the environment (HOST, PORT, TUTORCACHE_MODEL,\n"
    "TUTORCACHE_URL, ...). Feedback goes to TUTORCACHE_FEEDBACK_STORE (or\n"
    "the config's feedback_store) when set, else to the cache's store.\n";

/* The rest of the usage text: one string literal of it all would be past
 * the 4095 bytes C requires compilers to take. */
static const char usage_notes[] =
    "\n"
    "--shadow-rate: that share of the answers served from the cache is\n"
    "classified again by the model on a background thread, never the\n"
    "request's; an answer that changed under the same model identity is\n"
    "logged as \"shadow_disagree\" (its key, never its text) and replaces\n"
    "the cached one. /metrics: intent_cache_shadow_checks_total{outcome},\n"
    "intent_cache_shadow_dropped_total and the disagreement rate.\n"
    "\n"
    "Logs go to stderr, one JSON object per line: the library's, one\n"
    "\"http_request\" line per request (method, path, status, bytes,\n"
    "latency_us), and at most one \"connections_dropped\" line per log\n"
    "interval (counts of connections refused over a limit or closed at a\n"
    "deadline). SIGTERM or SIGINT stops the service cleanly.\n"
    "\n"
    "With `tutorcache feedback learn --model FILE` on a cron, the service\n"
    "serves what was learned within the reload interval: \"model_reloaded\"\n"
    "logs the old and new fingerprints. A file that cannot be loaded\n"
    "(missing, damaged, half-written) is logged once as a warning,\n"
    "\"model_reload_failed\", with the reason, and the old model goes on\n"
    "serving; it is tried again when it changes, or on SIGHUP, which\n"
    "checks the file at once. /health names the model and when it was\n"
    "last reloaded; /metrics counts the reloads.\n"
    "\n"
    "A feedback record may name the model whose answer it is about\n"
    "(\"model\", the answer's fingerprint). When it does not, the service\n"
    "fills it in with the model of the answer it served for that text (and\n"
    "that user_id, else for the text without one), if it still remembers\n"
    "it: the last answers of up to 65536 texts, in memory, forgotten on a\n"
    "restart. Else the record has no model. /metrics counts the records\n"
    "naming each arm's model (intent_ab_corrections_total{arm}); the\n"
    "control arm is the model as it is now: after a reload, records about\n"
    "the old model's answers count for no arm. The candidate is loaded once\n"
    "and is not reloaded.\n"
    "\n"
    "DELETE /api/v1/intents/feedback?user_id=ID (also before=TIME,\n"
    "text=TEXT) erases a student's feedback and answers {\"removed\": N}.\n"
    "With an audit log (TUTORCACHE_AUDIT_LOG, or \"audit_log\" in the\n"
    "config), each state-changing request appends a JSON line naming the\n"
    "actor of its X-Actor header; SIGHUP also reopens the log (logrotate).\n"
    "\n"
    "Exit codes: 0 stopped by a signal, 2 usage, 3 the store cannot be\n"
    "opened, 4 the model cannot be loaded, 5 another failure (such as an\n"
    "address already in use).\n";

typedef struct args {
    const char *host, *host_from; /* the address, and "--host" or "HOST" */
    const char *port;
    const char *model;
    const char *store;
    const char *config;
    double threshold;
    double shadow_rate;
    int threads;
    int max_conns, max_per_ip;
    int header_s, body_s, log_interval_s;
    int reload_s;          /* the model file's check interval; 0: SIGHUP only */
    const char *candidate; /* an A/B rollout's candidate model, or NULL */
    double split;          /* its share of the traffic */
    int split_given;
    tc_log_level level;
} args;

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("intent_service: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'intent_service --help'.\n", stderr);
    return EXIT_USAGE;
}

static int parse_level(const char *s, tc_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    int i;

    for (i = 0; i <= TC_LOG_OFF; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (tc_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* A whole decimal number in lo..hi, or -1. */
static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        return -1;
    }
    return v;
}

enum {
    OPT_PORT = 256,
    OPT_MODEL,
    OPT_STORE,
    OPT_HOST,
    OPT_THRESHOLD,
    OPT_SHADOW_RATE,
    OPT_THREADS,
    OPT_CONFIG,
    OPT_LOG_LEVEL,
    OPT_MAX_CONNS,
    OPT_MAX_PER_IP,
    OPT_HEADER_TIMEOUT,
    OPT_BODY_TIMEOUT,
    OPT_LOG_INTERVAL,
    OPT_RELOAD_INTERVAL,
    OPT_CANDIDATE,
    OPT_SPLIT,
    OPT_VERSION
};

/* A whole number option in lo..hi into *out, or the usage error's code. */
static int int_option(int *out, const char *name, const char *v, long lo,
                      long hi)
{
    long n = parse_long(v, lo, hi);

    if (n < 0) {
        return usage_error("%s: \"%s\" is not in %ld..%ld", name, v, lo, hi);
    }
    *out = (int)n;
    return -1;
}

/* A share (0..1) from v into *out; -1 to go on, else the exit code. */
static int share_option(double *out, const char *name, const char *v)
{
    char *end;

    errno = 0;
    *out = strtod(v, &end);
    if (errno || end == v || *end || !(*out >= 0) || *out > 1) {
        return usage_error("%s: \"%s\" is not in 0..1", name, v);
    }
    return -1;
}

/* Fills a; returns -1 to go on, or the exit code when the run ends here. */
static int parse_args(args *a, int argc, char **argv)
{
    static const struct option longs[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"model", required_argument, NULL, OPT_MODEL},
        {"store", required_argument, NULL, OPT_STORE},
        {"host", required_argument, NULL, OPT_HOST},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"shadow-rate", required_argument, NULL, OPT_SHADOW_RATE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
        {"max-per-ip", required_argument, NULL, OPT_MAX_PER_IP},
        {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
        {"body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT},
        {"log-interval", required_argument, NULL, OPT_LOG_INTERVAL},
        {"reload-interval", required_argument, NULL, OPT_RELOAD_INTERVAL},
        {"candidate", required_argument, NULL, OPT_CANDIDATE},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env;
    int opt, rc = -1;

    memset(a, 0, sizeof(*a));
    a->host = "127.0.0.1";
    a->host_from = "--host";
    if ((env = getenv("HOST")) && *env) {
        a->host = env;
        a->host_from = "HOST";
    }
    a->model = getenv("TUTORCACHE_MODEL");
    a->level = TC_LOG_INFO;
    a->threads = (int)(cores < 2 ? 4 : cores > 32 ? 64 : 2 * cores);
    a->max_conns = DEF_MAX_CONNS;
    a->max_per_ip = DEF_MAX_PER_IP;
    a->header_s = DEF_HEADER_S;
    a->body_s = DEF_BODY_S;
    a->log_interval_s = DEF_LOG_INTERVAL_S;
    a->reload_s = DEF_RELOAD_INTERVAL_S;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (opt) {
        case OPT_PORT:
            if (parse_long(optarg, 0, 65535) < 0) {
                return usage_error("--port: \"%s\" is not a port (0-65535)",
                                   optarg);
            }
            a->port = optarg;
            break;
        case OPT_MODEL:
            a->model = optarg;
            break;
        case OPT_STORE:
            a->store = optarg;
            break;
        case OPT_HOST:
            a->host = optarg;
            a->host_from = "--host";
            break;
        case OPT_THRESHOLD:
            rc = share_option(&a->threshold, "--threshold", optarg);
            break;
        case OPT_SHADOW_RATE:
            rc = share_option(&a->shadow_rate, "--shadow-rate", optarg);
            break;
        case OPT_THREADS:
            if ((a->threads = (int)parse_long(optarg, 1, 1024)) < 0) {
                return usage_error("--threads: \"%s\" is not in 1..1024",
                                   optarg);
            }
            break;
        case OPT_CONFIG:
            a->config = optarg;
            break;
        case OPT_MAX_CONNS:
            rc = int_option(&a->max_conns, "--max-connections", optarg, 1,
                            1000000);
            break;
        case OPT_MAX_PER_IP:
            rc = int_option(&a->max_per_ip, "--max-per-ip", optarg, 0, 1000000);
            break;
        case OPT_HEADER_TIMEOUT:
            rc = int_option(&a->header_s, "--header-timeout", optarg, 1, 3600);
            break;
        case OPT_BODY_TIMEOUT:
            rc = int_option(&a->body_s, "--body-timeout", optarg, 1, 3600);
            break;
        case OPT_LOG_INTERVAL:
            rc = int_option(&a->log_interval_s, "--log-interval", optarg, 1,
                            3600);
            break;
        case OPT_RELOAD_INTERVAL:
            rc =
                int_option(&a->reload_s, "--reload-interval", optarg, 0, 86400);
            break;
        case OPT_CANDIDATE:
            a->candidate = optarg;
            break;
        case OPT_SPLIT:
            rc = share_option(&a->split, "--split", optarg);
            a->split_given = 1;
            break;
        case OPT_LOG_LEVEL:
            if (parse_level(optarg, &a->level) != 0) {
                return usage_error("--log-level: \"%s\" is not debug, info, "
                                   "warn, error or off",
                                   optarg);
            }
            break;
        case 'h':
            fputs(usage_text, stdout);
            fputs(usage_options, stdout);
            fputs(usage_notes, stdout);
            return fflush(stdout) == 0 ? EXIT_OK : EXIT_OTHER;
        case OPT_VERSION:
            printf("intent_service (libtutorcache %s, libmicrohttpd %s)\n",
                   tc_version(), MHD_get_version());
            return fflush(stdout) == 0 ? EXIT_OK : EXIT_OTHER;
        case ':':
            return usage_error("%s: needs a value", argv[optind - 1]);
        default:
            return usage_error("%s: unknown option", argv[optind - 1]);
        }
        if (rc >= 0) {
            return rc;
        }
    }
    if (optind < argc) {
        return usage_error("\"%s\": unexpected argument", argv[optind]);
    }
    /* The environment's port when no option gave one, as a platform
     * that assigns ports (a PaaS, a container runner) sets it. */
    if (!a->port && (env = getenv("PORT")) && *env) {
        if (parse_long(env, 0, 65535) < 0) {
            return usage_error("PORT=%s (from the environment) is not a port "
                               "(0-65535); --port overrides it",
                               env);
        }
        a->port = env;
    }
    if (!a->port) {
        return usage_error("%s is required (or PORT)", "--port");
    }
    if (a->max_conns < a->threads) {
        return usage_error("--max-connections %d: less than the %d threads, "
                           "which each take a share",
                           a->max_conns, a->threads);
    }
    if (!a->model || !*a->model) {
        return usage_error("%s is required (or TUTORCACHE_MODEL)", "--model");
    }
    if (a->split_given && !a->candidate) {
        return usage_error("--split needs --candidate, the model it splits "
                           "the traffic with");
    }
    if (!a->split_given) {
        a->split = DEF_SPLIT;
    }
    return -1;
}

/* The library's log lines, as they are, one per line on stderr. */
static void log_to_stderr(void *userdata, tc_log_level level, const char *json)
{
    (void)userdata;
    (void)level;
    svc_log_raw(json);
}

/*
 * Room for the connections: the soft descriptor limit is raised to what
 * --max-connections needs (systemd's default soft limit is 1024, its
 * hard one far higher), and where the hard limit is lower the
 * connection limit is lowered to fit, with a warning: accepting past
 * the descriptors would fail in accept() at random instead.
 */
static int fit_fd_limit(const svc *s, args *a)
{
    rlim_t need = (rlim_t)a->max_conns + FD_RESERVE(a->threads);
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return 0;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
                      ? need
                      : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return 0;
    }
    if (rl.rlim_cur < (rlim_t)FD_RESERVE(a->threads) + (rlim_t)a->threads) {
        fprintf(stderr,
                "intent_service: the descriptor limit (%llu) leaves no room "
                "for connections\n",
                (unsigned long long)rl.rlim_cur);
        return -1;
    }
    svc_logf(s, TC_LOG_WARN, "max_connections_lowered",
             ",\"max_connections\":%llu,\"requested\":%d,\"nofile\":%llu",
             (unsigned long long)(rl.rlim_cur - FD_RESERVE(a->threads)),
             a->max_conns, (unsigned long long)rl.rlim_cur);
    a->max_conns = (int)(rl.rlim_cur - FD_RESERVE(a->threads));
    return 0;
}

/* The address to bind; *v6 says whether it is IPv6. Numeric only: a
 * name would make startup wait on DNS, and a name with several
 * addresses would leave which one is bound to chance. */
static struct addrinfo *resolve(const args *a, int *v6)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
        fprintf(stderr,
                "intent_service: %s%s%s: %s (an IPv4 or IPv6 address "
                "is expected)%s\n",
                a->host_from, strcmp(a->host_from, "HOST") ? " " : "=", a->host,
                gai_strerror(rc),
                strcmp(a->host_from, "HOST") ? "" : "; --host overrides HOST");
        return NULL;
    }
    *v6 = res->ai_family == AF_INET6;
    return res;
}

static const char *signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
}

/* Waits for SIGTERM or SIGINT, handing each SIGHUP to the model's
 * watcher meanwhile. Returns the signal, or -1 when sigwait() failed. */
static int wait_for_stop(svc *s, const sigset_t *sigs)
{
    int rc, sig;

    for (;;) {
        if ((rc = sigwait(sigs, &sig)) != 0) {
            if (rc == EINTR) {
                continue;
            }
            fprintf(stderr, "intent_service: sigwait: %s\n", strerror(rc));
            return -1;
        }
        if (sig != SIGHUP) {
            return sig;
        }
        /* logrotate: the audit log (if any) is reopened by name */
        tc_audit_reopen();
        svc_model_poke(s);
    }
}

int main(int argc, char **argv)
{
    struct MHD_OptionItem pool[2] = {{MHD_OPTION_END, 0, NULL},
                                     {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = NULL;
    const union MHD_DaemonInfo *info;
    tc_classifier_options co;
    struct addrinfo *ai = NULL;
    tc_options opt;
    sigset_t sigs;
    svc_buf f = {0};
    svc s;
    args a;
    int rc, sig, v6 = 0, code = EXIT_OTHER;
    unsigned flags;

    /* Before any thread exists, so that every thread inherits the mask
     * and the signals are taken only by sigwait() below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    /* A client that goes away must not kill the service. */
    signal(SIGPIPE, SIG_IGN);

    if ((rc = parse_args(&a, argc, argv)) >= 0) {
        return rc;
    }
    if (!(ai = resolve(&a, &v6))) {
        return EXIT_USAGE;
    }
    memset(&s, 0, sizeof(s));
    s.level = a.level;
    if (fit_fd_limit(&s, &a) != 0) {
        goto done;
    }

    if ((rc = svc_model_load(&s, a.model)) != TC_OK) {
        fprintf(stderr, "intent_service: --model %s: %s\n", a.model,
                tc_errmsg());
        code = EXIT_MODEL;
        goto done;
    }
    tc_options_init(&opt);
    opt.store_url = a.store;
    opt.config_path = a.config;
    opt.log_fn = log_to_stderr;
    opt.log_level = a.level;
    if ((rc = tc_cache_open(&s.cache, &opt)) != TC_OK) {
        fprintf(stderr, "intent_service: store: %s: %s\n", tc_error_name(rc),
                tc_errmsg());
        code = EXIT_STORE;
        goto done;
    }
    tc_classifier_options_init(&co);
    co.threshold = a.threshold;
    if (a.candidate) {
        if ((rc = tc_model_load(&s.candidate, a.candidate)) != TC_OK) {
            fprintf(stderr, "intent_service: --candidate %s: %s\n", a.candidate,
                    tc_errmsg());
            code = EXIT_MODEL;
            goto done;
        }
        co.candidate_model = s.candidate;
        co.split = a.split;
    }
    if (svc_served_init(&s) != 0) {
        fprintf(stderr, "intent_service: out of memory\n");
        goto done;
    }
    co.shadow_rate = a.shadow_rate;
    if ((rc = svc_model_open(&s, &co)) != TC_OK) {
        fprintf(stderr, "intent_service: classifier: %s: %s\n",
                tc_error_name(rc), tc_errmsg());
        goto done;
    }

    /* Before the daemon: its logger and connection callbacks use it. */
    if ((rc = svc_guard_start(&s, a.header_s, a.body_s, a.log_interval_s)) !=
        0) {
        fprintf(stderr, "intent_service: watchdog thread: %s\n", strerror(rc));
        goto done;
    }
    /* A pool of a.threads threads, each polling its share of the
     * connections (epoll, non-blocking: a slow client costs a slot, not
     * a thread) and running their handlers; for one thread, no pool
     * option at all (libmicrohttpd warns about a pool of 0 or 1). Each
     * thread takes a.max_conns / a.threads of the connections. */
    if (a.threads > 1) {
        pool[0].option = MHD_OPTION_THREAD_POOL_SIZE;
        pool[0].value = a.threads;
    }
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
            (v6 ? MHD_USE_IPv6 : 0);
    d = MHD_start_daemon(
        flags, 0, NULL, NULL, svc_handle, &s, MHD_OPTION_EXTERNAL_LOGGER,
        svc_guard_mhd_log, &s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)a.max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)a.max_per_ip, MHD_OPTION_NOTIFY_CONNECTION, svc_guard_notify,
        &s, MHD_OPTION_NOTIFY_COMPLETED, svc_completed, &s, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "intent_service: cannot listen on %s port %s\n", a.host,
                a.port);
        goto done;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    svc_buf_str(&f, ",\"host\":");
    svc_buf_jstr(&f, a.host);
    svc_buf_printf(&f,
                   ",\"port\":%u,\"store\":\"%s\",\"model\":\"%s\","
                   "\"threads\":%d,\"max_connections\":%d,"
                   "\"max_per_ip\":%d,\"header_timeout_s\":%d,"
                   "\"body_timeout_s\":%d,\"reload_interval_s\":%d,"
                   "\"pid\":%ld",
                   info ? (unsigned)info->port : 0u,
                   tc_cache_store_kind(s.cache), s.model.fp, a.threads,
                   a.max_conns, a.max_per_ip, a.header_s, a.body_s, a.reload_s,
                   (long)getpid());
    if (!f.oom) {
        svc_log(&s, TC_LOG_INFO, "listening", f.p);
    }
    svc_buf_free(&f);
    /* After the line naming the model, which reads it unlocked: from
     * here on only the watcher changes it, and logs each change. */
    if ((rc = svc_model_watch(&s, a.reload_s)) != 0) {
        fprintf(stderr, "intent_service: model watcher thread: %s\n",
                strerror(rc));
        goto done;
    }

    if ((sig = wait_for_stop(&s, &sigs)) < 0) {
        goto done;
    }
    svc_logf(&s, TC_LOG_INFO, "stopping", ",\"signal\":\"%s\"",
             signal_name(sig));
    code = EXIT_OK;

done:
    /* The daemon first: it joins its threads, so no request is running
     * when the classifier and the cache go; then the watcher, which
     * opens classifiers on the cache. */
    if (d) {
        MHD_stop_daemon(d);
    }
    svc_guard_stop(&s);
    svc_model_close(&s);
    tc_model_free(s.candidate); /* after the classifiers that held it */
    svc_served_free(&s);
    tc_cache_close(s.cache);
    if (ai) {
        freeaddrinfo(ai);
    }
    if (code == EXIT_OK) {
        svc_log(&s, TC_LOG_INFO, "stopped", "");
    }
    return code;
}
