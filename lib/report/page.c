/*
 * page.c - the feedback report (tc_feedback_report_html): the analytics
 * of analytics.c as one self-contained HTML page, for people: corrections
 * per day, a confusion heat map, the share of feedback that corrects, per
 * intent, the correction rate per classification of each intent, the
 * correction rate per model with the A/B arms side by side, and the
 * shadow checks' disagreement rate per model, every process's as the
 * store counts them, with the calling process's own line when it made
 * checks.
 *
 * The charts are inline SVG written here, so the page needs no network,
 * no script and no library to be read; every name in it (intents come
 * from users' records, models and the title from the caller) is escaped.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "report/report.h"

/* s with & < > " ' as entities. */
static void esc(tc__sb *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *e = *s == '&'    ? "&amp;"
                        : *s == '<'  ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '"'  ? "&quot;"
                        : *s == '\'' ? "&#39;"
                                     : NULL;

        if (e) {
            tc__sb_put(b, run, (size_t)(s - run));
            tc__sb_str(b, e);
            run = s + 1;
        }
    }
    tc__sb_put(b, run, (size_t)(s - run));
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The opening of a chart of w x h pixels, named label for readers. */
static void svg_open(tc__sb *b, int w, int h, const char *label)
{
    tc__sb_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
                  w, h, label);
}

/* Bars of corrections per day, oldest left. */
static void chart_days(tc__sb *b, const cJSON *days)
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
    svg_open(b, w, h + 20, "corrections per day");
    cJSON_ArrayForEach(d, days)
    {
        double bw = (double)w / (n > 0 ? n : 1);
        double bh = num(d, "corrections") / max * h;

        tc__sb_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"#c0392b\"><title>",
                      i * bw + 1, h - bh, bw - 2, bh);
        esc(b, d->string);
        tc__sb_printf(b, ": %.0f</title></rect>\n", num(d, "corrections"));
        i++;
    }
    tc__sb_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"12\">", h + 16);
    esc(b, days && days->child ? days->child->string : "");
    tc__sb_printf(b,
                  "</text><text x=\"%d\" y=\"%d\" font-size=\"12\" "
                  "text-anchor=\"end\">",
                  w, h + 16);
    esc(b, n > 0 ? cJSON_GetArrayItem(days, n - 1)->string : "");
    tc__sb_str(b, "</text>\n</svg>\n");
}

/* The confusion matrix: a cell per (original, correct), darker when more. */
static void chart_confusion(tc__sb *b, const cJSON *confusion)
{
    const cJSON *row, *cell;
    cJSON *cols = cJSON_CreateObject(), *c;
    int nrows = cJSON_GetArraySize(confusion), ncols, i, j;
    const int cw = 40, lw = 180, top = 140;
    double max = 1;

    if (!cols) {
        b->oom = 1;
        return;
    }
    cJSON_ArrayForEach(row, confusion)
    {
        cJSON_ArrayForEach(cell, row)
        {
            if (!cJSON_GetObjectItemCaseSensitive(cols, cell->string) &&
                !cJSON_AddNullToObject(cols, cell->string)) {
                b->oom = 1;
            }
            if (cell->valuedouble > max) {
                max = cell->valuedouble;
            }
        }
    }
    ncols = cJSON_GetArraySize(cols);
    svg_open(b, lw + ncols * cw + 10, top + nrows * cw + 10,
             "confusion heat map");
    j = 0;
    cJSON_ArrayForEach(c, cols)
    {
        tc__sb_printf(b,
                      "<text font-size=\"12\" transform=\"translate(%d,%d) "
                      "rotate(-60)\">",
                      lw + j * cw + cw / 2, top - 6);
        esc(b, c->string);
        tc__sb_str(b, "</text>\n");
        j++;
    }
    i = 0;
    cJSON_ArrayForEach(row, confusion)
    {
        tc__sb_printf(b,
                      "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
                      "text-anchor=\"end\">",
                      lw - 6, top + i * cw + cw / 2 + 4);
        esc(b, row->string);
        tc__sb_str(b, "</text>\n");
        j = 0;
        cJSON_ArrayForEach(c, cols)
        {
            double v = num(row, c->string);

            tc__sb_printf(b,
                          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                          "fill=\"#c0392b\" fill-opacity=\"%.3f\" "
                          "stroke=\"#ddd\"><title>",
                          lw + j * cw, top + i * cw, cw, cw, v / max);
            esc(b, row->string);
            tc__sb_str(b, " -&gt; ");
            esc(b, c->string);
            tc__sb_printf(b, ": %.0f</title></rect>\n", v);
            j++;
        }
        i++;
    }
    tc__sb_str(b, "</svg>\n");
    cJSON_Delete(cols);
}

/* Rows of a chart of shares, in pixels. */
#define ROW_H 24

/*
 * One row of a chart of shares: the label (prefix, may be NULL, then
 * name) right-aligned in lw pixels, then the share of counts' feedback
 * that corrects, as a bar of up to bw pixels and as a number.
 */
static void share_row(tc__sb *b, int lw, int bw, int row, const char *prefix,
                      const char *name, const cJSON *counts, const char *fill)
{
    double corr = num(counts, "corrections");
    double conf = num(counts, "confirmations");
    double share = corr + conf > 0 ? corr / (corr + conf) : 0;

    tc__sb_printf(b,
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
                  "text-anchor=\"end\">",
                  lw - 6, row * ROW_H + 16);
    if (prefix) {
        esc(b, prefix);
        tc__sb_str(b, " ");
    }
    esc(b, name);
    tc__sb_printf(b,
                  "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
                  "height=\"%d\" fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" "
                  "font-size=\"12\">%.0f%% of %.0f</text>\n",
                  lw, row * ROW_H + 4, share * bw, ROW_H - 6, fill,
                  lw + share * bw + 4, row * ROW_H + 16, share * 100,
                  corr + conf);
}

/* Whether an intent has feedback records: the intents answered and
 * never corrected nor confirmed have none, and no share of them. */
static int has_records(const cJSON *it)
{
    return num(it, "corrections") + num(it, "confirmations") > 0;
}

/* Per intent with records, the share of its feedback that corrects it. */
static void chart_rates(tc__sb *b, const cJSON *intents)
{
    const int lw = 180, bw = 400;
    const cJSON *it;
    int i = 0, n = 0;

    cJSON_ArrayForEach(it, intents)
    {
        n += has_records(it);
    }
    svg_open(b, lw + bw + 60, n * ROW_H + 4, "correction share per intent");
    cJSON_ArrayForEach(it, intents)
    {
        if (has_records(it)) {
            share_row(b, lw, bw, i++, NULL, it->string, it, "#2c7fb8");
        }
    }
    tc__sb_str(b, "</svg>\n");
}

/* The arm member of a model's counts, or NULL. */
static const char *arm_name(const cJSON *m)
{
    const cJSON *arm = cJSON_GetObjectItemCaseSensitive(m, "arm");

    return cJSON_IsString(arm) ? arm->valuestring : NULL;
}

/* Whether a model that records name is the arm's. */
static int arm_named(const cJSON *models, const char *arm)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, models)
    {
        if (arm_name(m) && strcmp(arm_name(m), arm) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Per model that records name, the share of its feedback that corrects
 * it, the arms first (control, then candidate) and labelled as such, so
 * the two models of a rollout stand side by side; an arm no record names
 * yet still has its row, at 0 of 0, so the page names both models.
 */
static void chart_models(tc__sb *b, const cJSON *models, const cJSON *arms)
{
    static const char *const order[] = {"control", "candidate", NULL};
    const int lw = 320, bw = 300;
    int n = cJSON_GetArraySize(models), i = 0;
    const cJSON *m;

    cJSON_ArrayForEach(m, arms)
    {
        n += !arm_named(models, m->string);
    }
    svg_open(b, lw + bw + 80, n * ROW_H + 4, "correction rate per model");
    for (int pass = 0; pass < 3; pass++) {
        const char *fill = pass == 1 ? "#e67e22" : "#2c7fb8";

        cJSON_ArrayForEach(m, models)
        {
            const char *an = arm_name(m);

            if (order[pass] ? !an || strcmp(an, order[pass]) != 0 : !!an) {
                continue;
            }
            share_row(b, lw, bw, i++, an, m->string, m, fill);
        }
        m = order[pass] ? cJSON_GetObjectItemCaseSensitive(arms, order[pass])
                        : NULL;
        if (m && !arm_named(models, order[pass])) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "model");

            share_row(b, lw, bw, i++, order[pass],
                      cJSON_IsString(id) ? id->valuestring : "", m, fill);
        }
    }
    tc__sb_str(b, "</svg>\n");
}

/*
 * Per intent, its corrections as a share of the answers of that intent
 * served over the window (the classifications every process counted),
 * so that a rate reads as "users corrected this many of the times we
 * said it"; an intent answered and never corrected has its row at 0. An
 * intent never answered in the window has no rate. One corrected more
 * often than it was counted (records about answers the counts do not
 * hold) passes 100%: its bar, which cannot grow past the chart, is
 * drawn full in another colour, and its number and a note below say
 * why, so that it is not read as every answer corrected.
 */
static void chart_per_class(tc__sb *b, const cJSON *intents)
{
    const int lw = 180, bw = 400, n = cJSON_GetArraySize(intents);
    const cJSON *it;
    double all = 0;
    int i = 0, over = 0;

    svg_open(b, lw + bw + 300, (n > 0 ? n : 1) * ROW_H + 4,
             "correction rate per classification");
    cJSON_ArrayForEach(it, intents)
    {
        double corr = num(it, "corrections");
        double k = num(it, "classifications");
        int past = k > 0 && corr > k;
        double w = k > 0 ? (past ? 1 : corr / k) * bw : 0;

        all += k;
        over += past;
        tc__sb_printf(b,
                      "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
                      "text-anchor=\"end\">",
                      lw - 6, i * ROW_H + 16);
        esc(b, it->string);
        tc__sb_printf(b,
                      "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
                      "height=\"%d\" fill=\"%s\"/><text x=\"%.1f\" "
                      "y=\"%d\" font-size=\"12\">",
                      lw, i * ROW_H + 4, w, ROW_H - 6,
                      past ? "#c0392b" : "#8e44ad", lw + w + 4, i * ROW_H + 16);
        if (k > 0) {
            tc__sb_printf(b, "%.1f%%: %.0f of %.0f classifications%s",
                          corr / k * 100, corr, k,
                          past ? " (more corrections than classifications "
                                 "counted)"
                               : "");
        } else {
            tc__sb_printf(b, "no classification counted (%.0f corrected)",
                          corr);
        }
        tc__sb_str(b, "</text>\n");
        i++;
    }
    if (n == 0) {
        tc__sb_str(b, "<text x=\"0\" y=\"16\" font-size=\"12\">no feedback "
                      "records</text>\n");
    }
    tc__sb_str(b, "</svg>\n");
    if (over > 0) {
        tc__sb_str(b, "<p>A rate past 100% (its bar drawn full, in red) is "
                      "not every answer corrected: that intent has more "
                      "corrections than classifications counted, so some "
                      "records are about answers the counts do not hold "
                      "(feedback imported or sent from elsewhere, a "
                      "process that does not count its answers or keeps "
                      "them in memory:, or answers older than the counts "
                      "kept).</p>\n");
    }
    if (all == 0) {
        tc__sb_str(b, "<p>No classification of these intents was counted "
                      "over the window: the processes that classify do "
                      "not count their answers (count_intents off), keep "
                      "them in their own memory (memory:), or answered "
                      "none of them.</p>\n");
    }
}

/* One row of the shadow checks: a bar split into the checks that agreed
 * and those that disagreed, with the disagreement rate. */
static void shadow_row(tc__sb *b, int lw, int bw, int row, const char *label,
                       double agree, double disagree)
{
    double checks = agree + disagree;
    double aw = checks > 0 ? agree / checks * bw : 0;
    double dw = checks > 0 ? disagree / checks * bw : 0;
    int y = row * ROW_H;

    tc__sb_printf(b,
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
                  "text-anchor=\"end\">",
                  lw - 6, y + 16);
    esc(b, label);
    tc__sb_printf(b,
                  "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" "
                  "height=\"%d\" fill=\"#eee\"/>\n"
                  "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                  "fill=\"#2c7fb8\"><title>agree: %.0f</title></rect>\n"
                  "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                  "fill=\"#c0392b\"><title>disagree: %.0f</title></rect>\n"
                  "<text x=\"%d\" y=\"%d\" font-size=\"12\">%.1f%% of %.0f "
                  "checks disagree</text>\n",
                  lw, y + 4, bw, ROW_H - 6, lw, y + 4, aw, ROW_H - 6, agree,
                  lw + aw, y + 4, dw, ROW_H - 6, disagree, lw + bw + 6, y + 16,
                  checks > 0 ? disagree / checks * 100 : 0.0, checks);
}

/*
 * The shadow checks, the number that says whether the cache's TTL is
 * too long: per model, those every process counted in the store over
 * the window (models without checks left out), and first, when the
 * caller gives them (sh not NULL), this process's own, with what only
 * it knows: the checks dropped (queue full) and failed.
 */
static void chart_shadow(tc__sb *b, const cJSON *models,
                         const tc__report_shadow *sh)
{
    const int lw = 320, bw = 300;
    const cJSON *m;
    int rows = sh != NULL, i = 0;

    cJSON_ArrayForEach(m, models)
    {
        rows += num(m, "checks") > 0;
    }
    svg_open(b, lw + bw + 200, (rows > 0 ? rows : 1) * ROW_H + 4,
             "shadow checks");
    if (sh) {
        shadow_row(b, lw, bw, i++, sh->scope, (double)sh->agree,
                   (double)sh->disagree);
    }
    cJSON_ArrayForEach(m, models)
    {
        if (num(m, "checks") > 0) {
            shadow_row(b, lw, bw, i++, m->string, num(m, "agree"),
                       num(m, "disagree"));
        }
    }
    if (rows == 0) {
        tc__sb_str(b, "<text x=\"0\" y=\"16\" font-size=\"12\">no shadow "
                      "checks counted</text>\n");
    }
    tc__sb_str(b, "</svg>\n<p>Per model: the checks of every process "
                  "that counts its answers (count_intents), as the store "
                  "holds them over the window.");
    if (sh) {
        tc__sb_str(b, " Counted by ");
        esc(b, sh->scope);
        tc__sb_printf(
            b,
            " since its handle opened: agree %llu, disagree "
            "%llu; dropped (queue full) %llu, failed %llu.",
            (unsigned long long)sh->agree, (unsigned long long)sh->disagree,
            (unsigned long long)sh->dropped, (unsigned long long)sh->failed);
    }
    tc__sb_str(b, "</p>\n");
}

static void write_page(tc__sb *b, const cJSON *a, const char *title,
                       const tc__report_shadow *sh)
{
    tc__sb_str(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                  "<meta charset=\"utf-8\"/>\n<title>");
    esc(b, title ? title : "tutorcache feedback report");
    tc__sb_str(b, "</title>\n"
                  "<style>body{font-family:sans-serif;margin:2em}"
                  "section{margin-bottom:2em}</style>\n"
                  "</head>\n<body>\n<h1>");
    esc(b, title ? title : "Feedback report");
    tc__sb_str(b, "</h1>\n");
    tc__sb_str(b, "<section id=\"per-day\">\n<h2>Corrections per day</h2>\n");
    chart_days(b, cJSON_GetObjectItemCaseSensitive(a, "per_day"));
    tc__sb_str(b, "</section>\n<section id=\"confusion\">\n"
                  "<h2>Confusion: original (rows) corrected to (columns)"
                  "</h2>\n");
    chart_confusion(b, cJSON_GetObjectItemCaseSensitive(a, "confusion"));
    tc__sb_str(b, "</section>\n<section id=\"rates\">\n"
                  "<h2>Share of each intent&#39;s feedback that corrects it"
                  "</h2>\n");
    chart_rates(b, cJSON_GetObjectItemCaseSensitive(a, "intents"));
    tc__sb_str(b, "</section>\n<section id=\"per-classification\">\n"
                  "<h2>Correction rate per classification</h2>\n");
    chart_per_class(b, cJSON_GetObjectItemCaseSensitive(a, "intents"));
    tc__sb_str(b, "</section>\n<section id=\"ab\">\n"
                  "<h2>A/B: share of each model&#39;s feedback that "
                  "corrects it</h2>\n");
    chart_models(b, cJSON_GetObjectItemCaseSensitive(a, "models"),
                 cJSON_GetObjectItemCaseSensitive(a, "arms"));
    tc__sb_str(b, "</section>\n<section id=\"shadow\">\n"
                  "<h2>Shadow checks of cached answers</h2>\n");
    chart_shadow(b, cJSON_GetObjectItemCaseSensitive(a, "shadow"), sh);
    tc__sb_str(b, "</section>\n</body>\n</html>\n");
}

int tc__fb_report_html(char **out, size_t *len, uint64_t *nrec, tc__cache *h,
                       tc__fb *fb, tc__served *served,
                       const tc_report_options *o, const tc__report_shadow *sh)
{
    tc__sb b = {0};
    cJSON *a = NULL;
    int rc;

    if ((rc = tc__fb_analytics(&a, nrec, h, fb, served, o)) != TC_OK) {
        return rc;
    }
    write_page(&b, a, o->title, sh);
    cJSON_Delete(a);
    if (b.oom || !b.p) {
        tc__free(b.p);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    *out = b.p;
    *len = b.len;
    return TC_OK;
}
