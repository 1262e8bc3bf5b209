/*
 * cmd_model.c - `tutorcache model info MODEL`: what a model file holds
 * (heads and labels, hyper-parameters, sizes, fingerprint), and the one
 * place that loads a model for every command, so that a missing file, a
 * damaged one and a failed read get the same words and exit codes
 * everywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char cli_help_model[] =
    "Usage: tutorcache model info [options] MODEL\n"
    "\n"
    "Print what the model file MODEL holds: its fingerprint (part of every\n"
    "cache key of its classifications), its size on disk and in memory, the\n"
    "hyper-parameters it was trained with, and each head (intent first)\n"
    "with its kind (single-label or multi-label) and labels.\n"
    "\n" CLI_HELP_FORMAT_OPTIONS "\n"
    "Example:\n"
    "  tutorcache model info intents.tcm --format json | jq '.heads[].name'\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage or a model file that cannot be opened\n"
    "  4  a damaged or foreign model file\n"
    "  5  other\n";

int cli_model_load(const char *path, tc_model **out)
{
    char why[512];
    struct stat st;
    int rc;

    *out = NULL;
    rc = tc_model_load(out, path);
    if (rc == TC_OK) {
        return CLI_OK;
    }
    snprintf(why, sizeof(why), "%s", cli_why(rc));
    /*
     * The library's message names the file; ours only adds what to do.
     * A file that is not there is a wrong argument (2), like a missing
     * --config; one that is there but damaged is bad input (4).
     */
    if (rc == TC_EIO) {
        if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
            cli_err("%s: %s", path, strerror(errno));
            return CLI_USAGE;
        }
        if (S_ISDIR(st.st_mode)) {
            cli_err("%s: is a directory, not a model file", path);
            return CLI_USAGE;
        }
    }
    if (rc == TC_ECORRUPT) {
        cli_err("%s (train it again with 'tutorcache train')", why);
        return CLI_BADINPUT;
    }
    cli_err("%s", why);
    return CLI_FAIL;
}

int cli_model_path(tc_cache *h, const char *given, const char *who,
                   const char *or_else, char **out)
{
    cJSON *cfg, *m;

    *out = NULL;
    if (given) {
        *out = strdup(given);
        return *out ? CLI_OK : CLI_FAIL;
    }
    if (!(cfg = cli_config_tree(h))) {
        return CLI_FAIL;
    }
    m = cJSON_GetObjectItemCaseSensitive(cfg, "model");
    if (cJSON_IsString(m) && m->valuestring[0]) {
        *out = strdup(m->valuestring);
    }
    cJSON_Delete(cfg);
    if (!*out) {
        cli_err("%s: no model: give one with --model MODEL, "
                "TUTORCACHE_MODEL or the config file's \"model\" (train one "
                "with 'tutorcache train examples/intents.jsonl -o "
                "intents.tcm')%s%s",
                who, or_else ? ", or " : "", or_else ? or_else : "");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Appends words to a line that wraps at 80 columns, indented. */
static void print_wrapped(const cJSON *labels, int indent)
{
    const cJSON *it;
    int col = indent, n;

    printf("%*s", indent, "");
    cJSON_ArrayForEach(it, labels)
    {
        if (!cJSON_IsString(it)) {
            continue;
        }
        n = (int)strlen(it->valuestring);
        if (col > indent && col + 1 + n > 79) {
            printf("\n%*s", indent, "");
            col = indent;
        }
        if (col > indent) {
            putchar(' ');
            col++;
        }
        fputs(it->valuestring, stdout);
        col += n;
    }
    putchar('\n');
}

/*
 * The table: the scalar fields and hyper-parameters as name/value lines
 * (cli_print_table), then one paragraph per head with its labels.
 */
static void print_info_table(const cJSON *root)
{
    const cJSON *heads = cJSON_GetObjectItemCaseSensitive(root, "heads");
    const cJSON *h;

    cli_print_table(stdout, root);
    cJSON_ArrayForEach(h, heads)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(h, "labels");

        printf("\nhead %s: %s, %d label%s\n",
               cJSON_IsString(name) ? name->valuestring : "?",
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "multi_label"))
                   ? "multi-label"
                   : "single-label",
               cJSON_GetArraySize(labels),
               cJSON_GetArraySize(labels) == 1 ? "" : "s");
        print_wrapped(labels, 2);
    }
}

int cli_cmd_model(cli_ctx *ctx, int argc, char **argv)
{
    cli_format fmt = CLI_FORMAT_AUTO;
    tc_model *m = NULL;
    char *text = NULL;
    cJSON *root;
    int rc;

    if ((rc = cli_parse_format_opts(ctx, argc, argv, &fmt)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    if (argc - optind == 0) {
        return cli_usage(ctx, "expected a subcommand: info MODEL");
    }
    if (strcmp(argv[optind], "info") != 0) {
        return cli_usage(ctx, "unknown subcommand \"%s\" (info)", argv[optind]);
    }
    if (argc - optind != 2) {
        return cli_usage(ctx, "expected info MODEL, got %d argument%s",
                         argc - optind - 1, argc - optind == 2 ? "" : "s");
    }
    if ((rc = cli_model_load(argv[optind + 1], &m)) != CLI_OK) {
        return rc;
    }
    rc = tc_model_info_json(&text, m);
    tc_model_free(m);
    if (rc != TC_OK) {
        cli_err("model info: %s", tc_strerror(rc));
        return CLI_FAIL;
    }
    if (!(root = cJSON_Parse(text))) {
        cli_err("model info: the library's JSON does not parse");
        tc_free(text);
        return CLI_FAIL;
    }
    if (cli_format_resolve(fmt) == CLI_FORMAT_JSON) {
        rc = puts(text) == EOF ? CLI_FAIL : CLI_OK;
    } else {
        print_info_table(root);
        rc = CLI_OK;
    }
    cJSON_Delete(root);
    tc_free(text);
    return rc;
}
