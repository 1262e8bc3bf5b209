/*
 * util.c - helpers shared by the commands: diagnostics on stderr, option
 * parsing, opening the cache, mapping library codes to exit codes, and
 * printing JSON for people. Keeping these in one place is what makes every
 * command word its errors and pick its exit codes the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "exec_backend.h"

void cli_err(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One call, so that lines of concurrent writers do not interleave. */
    fprintf(stderr, "tutorcache: %s\n", msg);
}

int cli_usage(const cli_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ctx && ctx->cmd) {
        fprintf(stderr, "tutorcache: %s: %s (see 'tutorcache help %s')\n",
                ctx->cmd->name, msg, ctx->cmd->name);
    } else {
        fprintf(stderr, "tutorcache: %s (see 'tutorcache --help')\n", msg);
    }
    return CLI_USAGE;
}

int cli_help(const cli_ctx *ctx)
{
    fputs(ctx->cmd->help, stdout);
    return CLI_OK;
}

int cli_getopt(const cli_ctx *ctx, int argc, char **argv, const char *shorts,
               const struct option *longs)
{
    char spec[64];
    const char *arg;
    int c;

    /*
     * A ':' makes a missing value ':' rather than '?'; glibc wants it
     * after a leading '+' (stop at the first argument), not before.
     */
    if (shorts[0] == '+') {
        snprintf(spec, sizeof(spec), "+:%s", shorts + 1);
    } else {
        snprintf(spec, sizeof(spec), ":%s", shorts);
    }
    opterr = 0;
    c = getopt_long(argc, argv, spec, longs, NULL);
    if (c != '?' && c != ':') {
        return c;
    }
    arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    if (c == ':') {
        if (strncmp(arg, "--", 2) == 0) {
            cli_usage(ctx, "option %s needs a value", arg);
        } else {
            cli_usage(ctx, "option -%c needs a value", optopt);
        }
    } else if (optopt == 0) {
        /* glibc leaves optopt at 0 for an unknown long option */
        static const char *const globals[] = {"--store", "--config",
                                              "--log-level", "--timeout"};
        size_t i, n = strcspn(arg, "=");

        for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
            if (ctx && ctx->cmd && strlen(globals[i]) == n &&
                strncmp(arg, globals[i], n) == 0) {
                cli_usage(ctx,
                          "%.*s is a global option: it goes before the "
                          "command",
                          (int)n, arg);
                return '?';
            }
        }
        cli_usage(ctx, "unknown option %s", arg);
    } else if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=')) {
        cli_usage(ctx, "option %.*s takes no value",
                  (int)(strchr(arg, '=') - arg), arg);
    } else {
        cli_usage(ctx, "unknown option -%c", optopt);
    }
    return '?';
}

/*
 * The CLI's one copy of the whole-integer rule that the library applies
 * to its configuration (tc__cfg_parse_long, lib/base/cfgparse.c). The CLI
 * builds against include/ only, and parsing a command line's numbers is
 * not the cache's business to export, so each side of the public
 * boundary keeps its own copy, and each only one.
 */
int cli_parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s)) {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_number(const char *s, double *out)
{
    const char *p;
    char *end;
    double v;

    if (!s || !*s) {
        return -1;
    }
    /* strtod also takes hex, "inf" and "nan"; people mean plain decimals */
    for (p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p)) {
            return -1;
        }
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

int cli_opt_int(const cli_ctx *ctx, const char *name, const char *s,
                long long min, long long max, long long *out)
{
    if (cli_parse_int(s, min, max, out) != 0) {
        return cli_usage(ctx, "%s: \"%s\" is not in %lld-%lld", name, s, min,
                         max);
    }
    return CLI_OK;
}

int cli_opt_share(const cli_ctx *ctx, const char *name, const char *s,
                  double *out)
{
    double d;

    if (cli_parse_number(s, &d) != 0 || !(d >= 0 && d <= 1)) {
        return cli_usage(ctx, "%s: \"%s\" is not in 0-1", name, s);
    }
    *out = d;
    return CLI_OK;
}

int cli_parse_format(const cli_ctx *ctx, const char *s, cli_format *out)
{
    if (strcmp(s, "json") == 0) {
        *out = CLI_FORMAT_JSON;
    } else if (strcmp(s, "table") == 0) {
        *out = CLI_FORMAT_TABLE;
    } else {
        return cli_usage(ctx, "--format: \"%s\" is not json or table", s);
    }
    return CLI_OK;
}

int cli_parse_format_opts(cli_ctx *ctx, int argc, char **argv, cli_format *fmt)
{
    static const struct option longs[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt, rc;

    *fmt = CLI_FORMAT_AUTO;
    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        switch (opt) {
        case 'f':
            if ((rc = cli_parse_format(ctx, optarg, fmt)) != CLI_OK) {
                return rc;
            }
            break;
        default:
            return cli_opt_default(ctx, opt);
        }
    }
    return CLI_OK;
}

int cli_parse_format_only(cli_ctx *ctx, int argc, char **argv, cli_format *fmt)
{
    int rc;

    if ((rc = cli_parse_format_opts(ctx, argc, argv, fmt)) != CLI_OK) {
        return rc;
    }
    if (argc - optind != 0) {
        return cli_usage(ctx, "takes no arguments");
    }
    return CLI_OK;
}

int cli_open_format_only(cli_ctx *ctx, int argc, char **argv, cli_format *fmt,
                         tc_cache **h)
{
    int rc;

    *h = NULL;
    if ((rc = cli_parse_format_only(ctx, argc, argv, fmt)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    return cli_open(ctx, h);
}

int cli_open_key(cli_ctx *ctx, int argc, char **argv, tc_cache **h,
                 const char **ns, const char **key)
{
    int rc;

    *h = NULL;
    if ((rc = cli_want_args(ctx, argc - optind, 2, "NS KEY")) != CLI_OK) {
        return rc;
    }
    *ns = argv[optind];
    *key = argv[optind + 1];
    return cli_open(ctx, h);
}

int cli_opt_default(const cli_ctx *ctx, int opt)
{
    if (opt == 'h') {
        cli_help(ctx);
        return CLI_HELP_SHOWN;
    }
    return CLI_USAGE;
}

int cli_parse_backend(const cli_ctx *ctx, const char *s, const char **command)
{
    if (!(*command = exec_backend_command(s))) {
        return cli_usage(ctx, "--backend: \"%s\" is not exec:COMMAND", s);
    }
    return CLI_OK;
}

cli_format cli_format_resolve(cli_format f)
{
    if (f != CLI_FORMAT_AUTO) {
        return f;
    }
    return isatty(STDOUT_FILENO) ? CLI_FORMAT_TABLE : CLI_FORMAT_JSON;
}

int cli_exit_for(int rc)
{
    switch (rc) {
    case TC_OK:
        return CLI_OK;
    case TC_MISS:
        return CLI_MISS;
    case TC_ECONFIG:
        return CLI_USAGE;
    case TC_EUNAVAIL:
    case TC_ETIMEOUT:
    case TC_EAUTH:
    case TC_ETLS:
    case TC_EIO:
        /* EIO: an LMDB directory that cannot be used is a store that
         * cannot be reached, as far as a script is concerned */
        return CLI_UNAVAIL;
    case TC_ENONS:
    case TC_EINVAL:
    case TC_ETOOBIG:
        return CLI_BADINPUT;
    default:
        return CLI_FAIL;
    }
}

int cli_open(cli_ctx *ctx, tc_cache **h)
{
    int rc = tc_cache_open(h, &ctx->opt);

    if (rc == TC_OK) {
        return CLI_OK;
    }
    cli_err("%s", cli_why(rc));
    /* EINVAL from open means an option value the library refused */
    return rc == TC_EINVAL ? CLI_USAGE : cli_exit_for(rc);
}

cJSON *cli_config_tree(tc_cache *h)
{
    char *text = NULL;
    cJSON *root;
    int rc;

    if ((rc = tc_cache_config_json(&text, h)) != TC_OK) {
        cli_err("config: %s", tc_strerror(rc));
        return NULL;
    }
    root = cJSON_Parse(text);
    tc_free(text);
    if (!root) {
        cli_err("config: the library's JSON does not parse");
    }
    return root;
}

/* "a, b, c": the namespace names of the configuration, or NULL. */
static char *namespace_list(tc_cache *h)
{
    cJSON *root = cli_config_tree(h), *ns, *it;
    size_t n = 1;
    char *out;

    if (!root) {
        return NULL;
    }
    ns = cJSON_GetObjectItemCaseSensitive(root, "namespaces");
    cJSON_ArrayForEach(it, ns)
    {
        n += strlen(it->string) + 2;
    }
    if ((out = malloc(n))) {
        out[0] = '\0';
        cJSON_ArrayForEach(it, ns)
        {
            if (out[0]) {
                strcat(out, ", ");
            }
            strcat(out, it->string);
        }
    }
    cJSON_Delete(root);
    return out;
}

const char *cli_why(int rc)
{
    const char *m = tc_errmsg();

    return *m ? m : tc_strerror(rc);
}

int cli_fail(tc_cache *h, int rc, const char *what)
{
    char detail[512];
    /* copied: the message is borrowed until our next call */
    snprintf(detail, sizeof(detail), "%s", cli_why(rc));
    if (rc == TC_ENONS) {
        char *known = namespace_list(h);

        cli_err("%s (namespaces: %s)", detail, known ? known : "?");
        free(known);
    } else if (what) {
        cli_err("%s: %s", what, detail);
    } else {
        cli_err("%s", detail);
    }
    return cli_exit_for(rc);
}

int cli_read_all(FILE *fp, size_t max, char **buf, size_t *len)
{
    size_t cap = 65536, n = 0, got;
    char *b = malloc(cap + 1), *nb;

    *buf = NULL;
    *len = 0;
    if (!b) {
        return -1;
    }
    while ((got = fread(b + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n > max) {
            free(b);
            errno = EFBIG;
            return -1;
        }
        if (n == cap) {
            if (cap > SIZE_MAX / 2 - 1 || !(nb = realloc(b, cap * 2 + 1))) {
                free(b);
                errno = ENOMEM;
                return -1;
            }
            b = nb;
            cap *= 2;
        }
    }
    if (ferror(fp)) {
        int e = errno;

        free(b);
        errno = e ? e : EIO;
        return -1;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* ---- tables ------------------------------------------------------------- */

/* A scalar as people read it: whole numbers without a fraction. */
static void scalar_text(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsString(v)) {
        snprintf(buf, n, "%s", v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (d == floor(d) && fabs(d) < 1e15) {
            snprintf(buf, n, "%.0f", d);
        } else {
            snprintf(buf, n, "%g", d);
        }
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, n, "-");
    } else {
        char *t = cJSON_PrintUnformatted(v);

        snprintf(buf, n, "%s", t ? t : "?");
        cJSON_free(t);
    }
}

static int is_scalar(const cJSON *v)
{
    return !cJSON_IsObject(v) && !cJSON_IsArray(v);
}

/* An object every member of which is an object: a table of records. */
static int is_record_map(const cJSON *v)
{
    const cJSON *it;

    if (!cJSON_IsObject(v) || !v->child) {
        return 0;
    }
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsObject(it)) {
            return 0;
        }
    }
    return 1;
}

static int name_width(const cJSON *root)
{
    const cJSON *it, *f;
    int w = 0, n;

    cJSON_ArrayForEach(it, root)
    {
        if (is_scalar(it)) {
            n = (int)strlen(it->string);
            w = n > w ? n : w;
        } else if (cJSON_IsObject(it) && !is_record_map(it)) {
            cJSON_ArrayForEach(f, it)
            {
                n = (int)(strlen(it->string) + 1 + strlen(f->string));
                w = n > w ? n : w;
            }
        }
    }
    return w;
}

static void print_records(FILE *out, const cJSON *map)
{
    const cJSON *row, *f, *first = map->child;
    char cell[512];
    int wname = (int)strlen(map->string), ncol = 0, i;
    int *w, *numeric;

    cJSON_ArrayForEach(f, first)
    {
        ncol++;
    }
    w = calloc((size_t)ncol + 1, sizeof(*w));
    numeric = calloc((size_t)ncol + 1, sizeof(*numeric));
    if (!w || !numeric) {
        free(w);
        free(numeric);
        return;
    }
    /* numbers are right-aligned, everything else left-aligned */
    for (i = 0; i < ncol; i++) {
        numeric[i] = 1;
    }
    /* column widths: the header and every row's cell */
    cJSON_ArrayForEach(row, map)
    {
        int n = (int)strlen(row->string);

        wname = n > wname ? n : wname;
        i = 0;
        cJSON_ArrayForEach(f, first)
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, f->string);

            scalar_text(v, cell, sizeof(cell));
            numeric[i] &= cJSON_IsNumber(v);
            n = (int)strlen(cell);
            w[i] = n > w[i] ? n : w[i];
            n = (int)strlen(f->string);
            w[i] = n > w[i] ? n : w[i];
            i++;
        }
    }
    fprintf(out, "%-*s", wname, map->string);
    i = 0;
    cJSON_ArrayForEach(f, first)
    {
        fprintf(out, "  %*s", numeric[i] ? w[i] : -w[i], f->string);
        i++;
    }
    fputc('\n', out);
    cJSON_ArrayForEach(row, map)
    {
        fprintf(out, "%-*s", wname, row->string);
        i = 0;
        cJSON_ArrayForEach(f, first)
        {
            scalar_text(cJSON_GetObjectItemCaseSensitive(row, f->string), cell,
                        sizeof(cell));
            fprintf(out, "  %*s", numeric[i] ? w[i] : -w[i], cell);
            i++;
        }
        fputc('\n', out);
    }
    free(w);
    free(numeric);
}

void cli_print_table(FILE *out, const cJSON *root)
{
    const cJSON *it, *f;
    char cell[1024], name[256];
    int w = name_width(root);

    cJSON_ArrayForEach(it, root)
    {
        if (is_scalar(it)) {
            scalar_text(it, cell, sizeof(cell));
            fprintf(out, "%-*s  %s\n", w, it->string, cell);
        } else if (cJSON_IsObject(it) && !is_record_map(it)) {
            cJSON_ArrayForEach(f, it)
            {
                snprintf(name, sizeof(name), "%s.%s", it->string, f->string);
                scalar_text(f, cell, sizeof(cell));
                fprintf(out, "%-*s  %s\n", w, name, cell);
            }
        }
    }
    cJSON_ArrayForEach(it, root)
    {
        if (is_record_map(it)) {
            fputc('\n', out);
            print_records(out, it);
        }
    }
}

int cli_print_json_line(FILE *out, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);

    if (!text) {
        return -1;
    }
    fputs(text, out);
    fputc('\n', out);
    cJSON_free(text);
    return 0;
}

/*
 * Saves m to path through a temporary file that is loaded back and
 * compared before it is renamed over path: nothing is left at path that
 * tc_model_load would refuse. Returns 0, or -1 after a message.
 */
int cli_model_save_checked(const tc_model *m, const char *path)
{
    char fp[TC_FINGERPRINT_LEN + 1], back[TC_FINGERPRINT_LEN + 1];
    char errbuf[512], *tmp;
    tc_model *re = NULL;
    size_t n = strlen(path) + 16;
    int rc;

    if (!(tmp = malloc(n))) {
        cli_err("%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, n, "%s.new.%ld", path, (long)getpid());
    errbuf[0] = '\0';
    rc = tc_model_save(m, tmp);
    if (rc == TC_OK) {
        rc = tc_model_load(&re, tmp);
    }
    if (rc != TC_OK) {
        snprintf(errbuf, sizeof(errbuf), "%s", cli_why(rc));
    }
    tc_model_fingerprint(fp, m);
    tc_model_fingerprint(back, re);
    tc_model_free(re);
    if (rc == TC_OK && strcmp(fp, back) != 0) {
        snprintf(errbuf, sizeof(errbuf), "%s: read back as %s, written as %s",
                 tmp, back, fp);
        rc = TC_ECORRUPT;
    }
    if (rc == TC_OK && rename(tmp, path) != 0) {
        snprintf(errbuf, sizeof(errbuf), "%s: %s", path, strerror(errno));
        rc = TC_EIO;
    }
    if (rc != TC_OK) {
        unlink(tmp);
        cli_err("%s", errbuf);
    }
    free(tmp);
    return rc == TC_OK ? 0 : -1;
}

int cli_want_args(cli_ctx *ctx, int got, int want, const char *names)
{
    if (got == want) {
        return CLI_OK;
    }
    return cli_usage(ctx, "expected %s, got %d argument%s", names, got,
                     got == 1 ? "" : "s");
}

int cli_open_input(const char *path, FILE **in)
{
    struct stat st;

    *in = stdin;
    if (!path || strcmp(path, "-") == 0) {
        return CLI_OK;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_err("%s: is a directory", path);
        return CLI_USAGE;
    }
    if (!(*in = fopen(path, "rb"))) {
        cli_err("%s: %s", path, strerror(errno));
        return CLI_USAGE;
    }
    return CLI_OK;
}

size_t cli_line_json(const char *line, size_t *len)
{
    size_t i;

    if (*len > 0 && line[*len - 1] == '\r') {
        (*len)--;
    }
    for (i = 0; i < *len && (line[i] == ' ' || line[i] == '\t'); i++) {
    }
    return i < *len && line[i] == '{' ? i : *len;
}
