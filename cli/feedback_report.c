/*
 * feedback_report.c - `tutorcache feedback report [-o FILE]`: the
 * analytics of `feedback stats --json` as one self-contained HTML page,
 * for people: corrections per day, a confusion heat map, the share of
 * feedback that corrects, per intent, and per model with the A/B arms
 * side by side.
 *
 * The charts are inline SVG written here, so the page needs no network,
 * no script and no library to be read; every name in it (intents come
 * from users' records) is escaped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback_analytics.h"
#include "feedback_common.h"
#include "feedback_report.h"

const char cli_help_feedback_report[] =
    "Usage: tutorcache feedback report [-o FILE] [--model MODEL]\n"
    "                                  [--candidate MODEL]\n"
    "\n"
    "Write the analytics of 'feedback stats --json' as one HTML page (to\n"
    "FILE, else stdout): corrections per day over the retention window, a\n"
    "heat map of the confusion matrix (original -> correct), the share\n"
    "of each intent's feedback that corrects it, and the A/B models: the\n"
    "correction rate of each model that records name, the control (the\n"
    "model: --model, TUTORCACHE_MODEL, the config's \"model\") and the\n"
    "candidate (--candidate) side by side. The page is self-contained:\n"
    "inline SVG, no script, nothing fetched.\n"
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

/* s with & < > " ' as entities. */
static void esc(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Bars of corrections per day, oldest left. */
static void chart_days(FILE *out, const cJSON *days)
{
    const int w = 720, h = 200, n = cJSON_GetArraySize(days);
    const cJSON *d;
    double max = 1;
    int i = 0;

    cJSON_ArrayForEach(d, days)
    {
        if (num(d, "corrections") > max) {
            max = num(d, "corrections");
        }
    }
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"corrections per day\">\n",
            w, h + 20);
    cJSON_ArrayForEach(d, days)
    {
        double bw = (double)w / (n > 0 ? n : 1);
        double bh = num(d, "corrections") / max * h;

        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#c0392b\"><title>",
                i * bw + 1, h - bh, bw - 2, bh);
        esc(out, d->string);
        fprintf(out, ": %.0f</title></rect>\n", num(d, "corrections"));
        i++;
    }
    fprintf(out,
            "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>"
            "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">"
            "%s</text>\n</svg>\n",
            h + 16, days && days->child ? days->child->string : "", w, h + 16,
            n > 0 ? cJSON_GetArrayItem(days, n - 1)->string : "");
}

/* The confusion matrix: a cell per (original, correct), darker when more. */
static void chart_confusion(FILE *out, const cJSON *confusion)
{
    const cJSON *row, *cell;
    cJSON *cols = cJSON_CreateObject(), *c;
    int nrows = cJSON_GetArraySize(confusion), ncols, i, j;
    const int cw = 40, lw = 180, top = 140;
    double max = 1;

    cJSON_ArrayForEach(row, confusion)
    {
        cJSON_ArrayForEach(cell, row)
        {
            if (cols && !cJSON_GetObjectItemCaseSensitive(cols, cell->string)) {
                cJSON_AddNullToObject(cols, cell->string);
            }
            if (cell->valuedouble > max) {
                max = cell->valuedouble;
            }
        }
    }
    ncols = cJSON_GetArraySize(cols);
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"confusion heat map\">\n",
            lw + ncols * cw + 10, top + nrows * cw + 10);
    j = 0;
    cJSON_ArrayForEach(c, cols)
    {
        fprintf(out,
                "<text font-size=\"12\" transform=\"translate(%d,%d) "
                "rotate(-60)\">",
                lw + j * cw + cw / 2, top - 6);
        esc(out, c->string);
        fputs("</text>\n", out);
        j++;
    }
    i = 0;
    cJSON_ArrayForEach(row, confusion)
    {
        fprintf(out,
                "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
                "text-anchor=\"end\">",
                lw - 6, top + i * cw + cw / 2 + 4);
        esc(out, row->string);
        fputs("</text>\n", out);
        j = 0;
        cJSON_ArrayForEach(c, cols)
        {
            double v = num(row, c->string);

            fprintf(out,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"#c0392b\" fill-opacity=\"%.3f\" "
                    "stroke=\"#ddd\"><title>",
                    lw + j * cw, top + i * cw, cw, cw, v / max);
            esc(out, row->string);
            fputs(" -&gt; ", out);
            esc(out, c->string);
            fprintf(out, ": %.0f</title></rect>\n", v);
            j++;
        }
        i++;
    }
    fputs("</svg>\n", out);
    cJSON_Delete(cols);
}

/* The opening of a chart of w x h pixels, named label for readers. */
static void svg_open(FILE *out, int w, int h, const char *label)
{
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
            w, h, label);
}

/* Rows of a chart of shares, in pixels. */
#define ROW_H 24

/*
 * One row of a chart of shares: the label (prefix, may be NULL, then
 * name) right-aligned in lw pixels, then the share of counts' feedback
 * that corrects, as a bar of up to bw pixels and as a number.
 */
static void share_row(FILE *out, int lw, int bw, int row, const char *prefix,
                      const char *name, const cJSON *counts, const char *fill)
{
    double corr = num(counts, "corrections");
    double conf = num(counts, "confirmations");
    double share = corr + conf > 0 ? corr / (corr + conf) : 0;

    fprintf(out,
            "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
            "text-anchor=\"end\">",
            lw - 6, row * ROW_H + 16);
    if (prefix) {
        fprintf(out, "%s ", prefix);
    }
    esc(out, name);
    fprintf(out,
            "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
            "fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" "
            "font-size=\"12\">%.0f%% of %.0f</text>\n",
            lw, row * ROW_H + 4, share * bw, ROW_H - 6, fill,
            lw + share * bw + 4, row * ROW_H + 16, share * 100, corr + conf);
}

/* Per intent, the share of its feedback that corrects it. */
static void chart_rates(FILE *out, const cJSON *intents)
{
    const int lw = 180, bw = 400, n = cJSON_GetArraySize(intents);
    const cJSON *it;
    int i = 0;

    svg_open(out, lw + bw + 60, n * ROW_H + 4, "correction share per intent");
    cJSON_ArrayForEach(it, intents)
    {
        share_row(out, lw, bw, i++, NULL, it->string, it, "#2c7fb8");
    }
    fputs("</svg>\n", out);
}

/*
 * Per model that records name, the share of its feedback that corrects
 * it, the arms first (control, then candidate) and labelled as such, so
 * the two models of a rollout stand side by side.
 */
static void chart_models(FILE *out, const cJSON *models)
{
    static const char *const order[] = {"control", "candidate", NULL};
    const int lw = 320, bw = 300, n = cJSON_GetArraySize(models);
    const cJSON *m;
    int i = 0;

    svg_open(out, lw + bw + 80, n * ROW_H + 4, "correction rate per model");
    for (int pass = 0; pass < 3; pass++) {
        cJSON_ArrayForEach(m, models)
        {
            const cJSON *arm = cJSON_GetObjectItemCaseSensitive(m, "arm");
            const char *an = cJSON_IsString(arm) ? arm->valuestring : NULL;

            if (order[pass] ? !an || strcmp(an, order[pass]) != 0 : !!an) {
                continue;
            }
            share_row(out, lw, bw, i++, an, m->string, m,
                      an && strcmp(an, "candidate") == 0 ? "#e67e22"
                                                         : "#2c7fb8");
        }
    }
    fputs("</svg>\n", out);
}

static void write_page(FILE *out, const cJSON *a)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n"
          "<title>tutorcache feedback report</title>\n"
          "<style>body{font-family:sans-serif;margin:2em}"
          "section{margin-bottom:2em}</style>\n"
          "</head>\n<body>\n<h1>Feedback report</h1>\n",
          out);
    fputs("<section id=\"per-day\">\n<h2>Corrections per day</h2>\n", out);
    chart_days(out, cJSON_GetObjectItemCaseSensitive(a, "per_day"));
    fputs("</section>\n<section id=\"confusion\">\n"
          "<h2>Confusion: original (rows) corrected to (columns)</h2>\n",
          out);
    chart_confusion(out, cJSON_GetObjectItemCaseSensitive(a, "confusion"));
    fputs("</section>\n<section id=\"rates\">\n"
          "<h2>Share of each intent&#39;s feedback that corrects it</h2>\n",
          out);
    chart_rates(out, cJSON_GetObjectItemCaseSensitive(a, "intents"));
    fputs("</section>\n<section id=\"ab\">\n"
          "<h2>A/B: share of each model&#39;s feedback that corrects it</h2>\n",
          out);
    chart_models(out, cJSON_GetObjectItemCaseSensitive(a, "models"));
    fputs("</section>\n</body>\n</html>\n", out);
}

int cli_feedback_report(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"candidate", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL, *control = NULL, *cand = NULL;
    cli_arm_models am;
    cJSON *a = NULL;
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
        rc = cli_feedback_analytics(h, &am, &a);
    }
    tc_cache_close(h);
    if (rc != CLI_OK) {
        return rc;
    }
    if (path && !(out = fopen(path, "w"))) {
        cli_err("feedback report: %s: %s", path, strerror(errno));
        cJSON_Delete(a);
        return CLI_USAGE;
    }
    write_page(out, a);
    cJSON_Delete(a);
    if (out != stdout && (ferror(out) | fclose(out)) != 0) {
        cli_err("feedback report: writing %s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}
