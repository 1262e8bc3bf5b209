/*
 * feedback_report.c - `tutorcache feedback report [-o FILE]`: the
 * library's page of the feedback analytics (tc_feedback_report_html),
 * written to FILE or stdout, with the answers and shadow checks every
 * process counted in the store. The CLI adds what only it knows: the
 * identities of the A/B arms' models given as files or exec: backends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_models.h"
#include "feedback_common.h"
#include "feedback_report.h"

const char cli_help_feedback_report[] =
    "Usage: tutorcache feedback report [-o FILE] [--model MODEL]\n"
    "                                  [--candidate MODEL]\n"
    "\n"
    "Write the analytics of 'feedback stats --json' as one HTML page (to\n"
    "FILE, else stdout): corrections per day over the retention window, a\n"
    "heat map of the confusion matrix (original -> correct), the share\n"
    "of each intent's feedback that corrects it, the correction rate per\n"
    "classification (each intent's corrections / the answers of that\n"
    "intent every process served over the window, count_intents), the\n"
    "A/B models: the correction rate of each model that records name,\n"
    "the control (the model: --model, TUTORCACHE_MODEL, the config's\n"
    "\"model\") and the candidate (--candidate) side by side; and the\n"
    "shadow checks of cached answers per model, every process's as the\n"
    "store counts them (the example service's\n"
    "/api/v1/intents/feedback/report adds a line of its own checks).\n"
    "The page is self-contained: inline SVG, no script, nothing fetched.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write the page to FILE (replaced)\n"
    "  -m, --model MODEL   the control model, to name its arm\n"
    "  --candidate MODEL   the candidate (a model file or exec:COMMAND)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache feedback report -o report.html\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

int cli_feedback_report(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"candidate", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL, *control = NULL, *cand = NULL;
    tc_report_options o;
    cli_arm_models am;
    char *page = NULL;
    size_t len = 0;
    tc_cache *h = NULL;
    FILE *out = stdout;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "o:m:h", longs)) != -1) {
        switch (opt) {
        case 'o':
            path = optarg;
            break;
        case 'm':
            control = optarg;
            break;
        case 'c':
            cand = optarg;
            break;
        case 'h':
            return cli_feedback_help(cli_help_feedback_report);
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 0) {
        return cli_usage(ctx, "report: takes no arguments");
    }
    if ((rc = cli_feedback_open(ctx, &h, 0)) != CLI_OK) {
        return rc;
    }
    if ((rc = cli_arm_models_open(&am, h, control, cand)) == CLI_OK) {
        cli_arm_models_options(&o, &am);
        if ((rc = tc_feedback_report_html(&page, &len, h, &o)) != TC_OK) {
            rc = cli_fail(h, rc, "feedback report");
        }
    }
    tc_cache_close(h);
    if (rc != CLI_OK) {
        return rc;
    }
    if (path && !(out = fopen(path, "w"))) {
        cli_err("feedback report: %s: %s", path, strerror(errno));
        tc_free(page);
        return CLI_USAGE;
    }
    rc = fwrite(page, 1, len, out) == len ? CLI_OK : CLI_FAIL;
    tc_free(page);
    if (out != stdout && ((ferror(out) | fclose(out)) != 0 || rc != CLI_OK)) {
        cli_err("feedback report: writing %s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    return rc;
}
