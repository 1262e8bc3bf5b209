/*
 * feedback_import.c - tc_feedback_import: a stream of JSON Lines or CSV
 * (RFC 4180, with a header row) into feedback records. Each line is
 * validated on its own, exactly as tc_feedback_submit_json would, and a
 * bad one is reported with its number and skipped; good records are
 * accepted TC__FB_BATCH at a time, one store round trip per batch, which
 * is what makes an import fast (the per-record work is a parse, a few
 * checks and a hash).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "feedback/feedback.h"
#include "base/linereader.h"
#include "base/sbuf.h"

#define MAX_REJECTIONS 1000
#define PROGRESS_EVERY 1000

/* The report, as the caller sees it first. */
typedef struct report {
    tc_import_report pub;
    tc_import_rejection *rej;
    size_t cap;
} report;

void tc__import_report_free(tc_import_report *r)
{
    report *x = (report *)r;

    if (!x) {
        return;
    }
    for (size_t i = 0; i < x->pub.nrejections; i++) {
        tc__free((char *)x->rej[i].reason);
    }
    tc__free(x->rej);
    tc__free(x);
}

/* ---- the import's state ---------------------------------------------------
 */

typedef struct imp {
    tc__fb *fb;
    int dry_run;
    report *rep;
    tc__fb_rec recs[TC__FB_BATCH];
    size_t n;
    uint64_t rejected[3]; /* correction, confirmation, invalid */
} imp;

static int reject(imp *im, uint64_t line, int type, const char *why)
{
    report *r = im->rep;
    char *reason;

    r->pub.rejected++;
    im->rejected[type == TC_FEEDBACK_CORRECTION     ? 0
                 : type == TC_FEEDBACK_CONFIRMATION ? 1
                                                    : 2]++;
    if (r->pub.nrejections >= MAX_REJECTIONS) {
        return TC_OK;
    }
    if (r->pub.nrejections == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        tc_import_rejection *p = tc__realloc(r->rej, cap * sizeof(*p));

        if (!p) {
            return TC_ENOMEM;
        }
        r->rej = p;
        r->cap = cap;
        r->pub.rejections = p;
    }
    if (!(reason = tc__strdup(why))) {
        return TC_ENOMEM;
    }
    r->rej[r->pub.nrejections].line = line;
    r->rej[r->pub.nrejections].reason = reason;
    r->pub.nrejections++;
    return TC_OK;
}

static int flush(imp *im, tc__err *err)
{
    size_t spooled = 0, dups = 0;
    int rc = TC_OK;

    if (im->n > 0) {
        rc = tc__fb_accept(im->fb, im->recs, im->n, &spooled, &dups, err);
        if (rc == TC_OK) {
            im->rep->pub.accepted += im->n - dups;
            im->rep->pub.duplicates += dups;
            im->rep->pub.spooled += spooled;
        }
    }
    for (size_t i = 0; i < im->n; i++) {
        tc__fb_rec_free(&im->recs[i]);
    }
    im->n = 0;
    return rc;
}

/*
 * One record's fields: built and queued for the next batch, or rejected.
 * parse_rc/why carry a failure of the input form (JSON, CSV) itself.
 * Returns TC_OK, or an error that ends the import.
 */
static int take(imp *im, uint64_t line, const tc__fb_in *in, int parse_rc,
                tc__err *why, tc__err *err)
{
    tc__fb_rec *r = &im->recs[im->n];
    int rc = parse_rc;

    if (rc == TC_OK) {
        rc = tc__fb_build(r, im->dry_run ? NULL : im->fb, in, why);
    }
    if (rc == TC_EINVAL) {
        return reject(im, line, in->type, why->msg);
    }
    if (rc != TC_OK) {
        return tc__errf(err, rc, "line %llu: %s", (unsigned long long)line,
                        why->msg);
    }
    if (im->dry_run) {
        im->rep->pub.accepted++;
        tc__fb_rec_free(r);
        return TC_OK;
    }
    if (++im->n == TC__FB_BATCH) {
        return flush(im, err);
    }
    return TC_OK;
}

/* ---- JSON Lines ------------------------------------------------------------
 */

static int jsonl_line(imp *im, uint64_t line, const char *p, size_t len,
                      tc__err *err)
{
    tc__fb_in in;
    tc__err why;
    void *tree = NULL;
    int rc;

    why.msg[0] = '\0';
    rc = tc__fb_parse_json(&in, &tree, p, len, 0, &why);
    rc = take(im, line, &in, rc, &why, err);
    cJSON_Delete(tree);
    return rc;
}

/* ---- CSV --------------------------------------------------------------------
 */

/* CSV columns are the fields, "id" (optional) too. */
#define C_N TC__FB_NFIELDS

#define COLUMN_LIST                                                            \
    "text, original_intent, correct_intent, original_confidence, "             \
    "correct_complexity, correct_techniques, user_id, model, feedback_type, "  \
    "timestamp, id"

/* Where the scan of a record is (RFC 4180). */
enum { S_START, S_UNQUOTED, S_QUOTED, S_AFTER_QUOTE };

typedef struct csv {
    int have_header;
    int field_of[C_N * 2]; /* column -> TC__FB_*; at most C_N are valid */
    size_t ncols;
    tc__sb rec;     /* the record being gathered, over lines */
    uint64_t first; /* its first line */
    int state;
    char *scratch; /* unescaped fields */
    size_t scap;
} csv;

static int scan(int state, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        switch (state) {
        case S_START:
            state = c == '"' ? S_QUOTED : c == ',' ? S_START : S_UNQUOTED;
            break;
        case S_UNQUOTED:
            state = c == ',' ? S_START : S_UNQUOTED;
            break;
        case S_QUOTED:
            state = c == '"' ? S_AFTER_QUOTE : S_QUOTED;
            break;
        default: /* after a quote: "" is an escaped quote */
            state = c == '"' ? S_QUOTED : c == ',' ? S_START : S_UNQUOTED;
        }
    }
    return state;
}

/*
 * Splits a whole record into at most maxf fields, unescaped and
 * NUL-terminated in out (len + maxf + 1 bytes). Returns the number of
 * fields, -1 with *why for bad quoting, or -2 for more than maxf.
 */
static long split(const char *p, size_t len, char *out, const char **fields,
                  size_t maxf, const char **why)
{
    size_t i = 0, o = 0, n = 0;

    for (;;) {
        if (n == maxf) {
            *why = "too many fields";
            return -2;
        }
        fields[n++] = out + o;
        if (i < len && p[i] == '"') {
            for (i++;; i++) {
                if (i >= len) {
                    *why = "a quoted field does not end";
                    return -1;
                }
                if (p[i] == '"') {
                    if (i + 1 < len && p[i + 1] == '"') {
                        out[o++] = '"';
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                out[o++] = p[i];
            }
            if (i < len && p[i] != ',') {
                *why = "text after a closing quote (quote it all, with \"\" "
                       "for a quote)";
                return -1;
            }
        } else {
            for (; i < len && p[i] != ','; i++) {
                if (p[i] == '"') {
                    *why = "a quote in an unquoted field (quote the field, "
                           "with \"\" for a quote)";
                    return -1;
                }
                out[o++] = p[i];
            }
        }
        out[o++] = '\0';
        if (i >= len) {
            return (long)n;
        }
        i++;
    }
}

static int csv_fields(csv *c, const char **fields, size_t maxf, long *nf,
                      const char **why)
{
    size_t need = c->rec.len + maxf + 1;

    if (need > c->scap) {
        char *p = tc__realloc(c->scratch, need);

        if (!p) {
            return TC_ENOMEM;
        }
        c->scratch = p;
        c->scap = need;
    }
    *nf = split(c->rec.p ? c->rec.p : "", c->rec.len, c->scratch, fields, maxf,
                why);
    return TC_OK;
}

static void trim_spaces(const char **s)
{
    char *p = (char *)*s;
    size_t n;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        p[--n] = '\0';
    }
    *s = p;
}

static int csv_header(csv *c, tc__err *err)
{
    const char *fields[C_N * 2];
    const char *why = NULL;
    unsigned seen = 0;
    long nf;
    int rc;

    if ((rc = csv_fields(c, fields, C_N * 2, &nf, &why)) != TC_OK) {
        return tc__errf(err, rc, "CSV header: out of memory");
    }
    if (nf == -2) {
        return tc__errf(err, TC_EINVAL,
                        "CSV header (line %llu): more than %d columns",
                        (unsigned long long)c->first, C_N * 2);
    }
    if (nf < 0) {
        return tc__errf(err, TC_EINVAL, "CSV header (line %llu): %s",
                        (unsigned long long)c->first, why);
    }
    for (long i = 0; i < nf; i++) {
        int f;

        trim_spaces(&fields[i]);
        for (f = 0; f < C_N && strcmp(fields[i], tc__fb_fields[f]) != 0; f++) {
        }
        if (f == C_N) {
            return tc__errf(err, TC_EINVAL,
                            "CSV header (line %llu): unknown column \"%.64s\" "
                            "(columns: " COLUMN_LIST ")",
                            (unsigned long long)c->first, fields[i]);
        }
        if (seen & (1u << f)) {
            return tc__errf(err, TC_EINVAL,
                            "CSV header (line %llu): column \"%s\" twice",
                            (unsigned long long)c->first, tc__fb_fields[f]);
        }
        seen |= 1u << f;
        c->field_of[i] = f;
    }
    for (int f = 0; f <= TC__FB_TYPE; f++) {
        if ((f <= TC__FB_CONF || f == TC__FB_TYPE) && !(seen & (1u << f))) {
            return tc__errf(err, TC_EINVAL,
                            "CSV header (line %llu): no \"%s\" column",
                            (unsigned long long)c->first, tc__fb_fields[f]);
        }
    }
    c->ncols = (size_t)nf;
    c->have_header = 1;
    return TC_OK;
}

/* A CSV value into in (which points into the scratch buffer). */
static int csv_value(tc__fb_in *in, int f, const char *v, tc__err *why)
{
    char *end;
    char *p;

    if (*v == '\0' && f != TC__FB_TEXT && f != TC__FB_ORIGINAL &&
        f != TC__FB_CORRECT) {
        return TC_OK; /* an empty optional (or missing required) value */
    }
    switch (f) {
    case TC__FB_TEXT:
        in->text = v;
        in->textlen = strlen(v);
        break;
    case TC__FB_ORIGINAL:
        in->original = v;
        break;
    case TC__FB_CORRECT:
        in->correct = v;
        break;
    case TC__FB_CONF:
        errno = 0;
        in->conf = strtod(v, &end);
        if (end == v || *end != '\0' || errno == ERANGE ||
            !isfinite(in->conf)) {
            return tc__errf(why, TC_EINVAL,
                            "original_confidence: \"%.40s\" is not a number",
                            v);
        }
        in->has_conf = 1;
        break;
    case TC__FB_COMPLEXITY:
        in->complexity = v;
        break;
    case TC__FB_USER:
        in->user_id = v;
        break;
    case TC__FB_MODEL:
        in->model = v;
        break;
    case TC__FB_TS:
        in->timestamp = v;
        break;
    case TC__FB_ID:
        in->id = v;
        break;
    case TC__FB_TYPE:
        break; /* read first, by csv_row */
    default:   /* TC__FB_TECH: "a|b|c", each item trimmed */
        in->has_tech = 1;
        p = (char *)v;
        for (;;) {
            char *bar = strchr(p, '|');
            const char *item = p;

            if (bar) {
                *bar = '\0';
            }
            trim_spaces(&item);
            if (in->ntech < TC__FB_TECH_MAX) {
                in->tech[in->ntech] = item;
            }
            in->ntech++;
            if (!bar) {
                break;
            }
            p = bar + 1;
        }
    }
    return TC_OK;
}

static int csv_row(imp *im, csv *c, tc__err *err)
{
    const char *fields[C_N * 2];
    const char *why = NULL;
    tc__fb_in in;
    tc__err w;
    long nf;
    int rc = TC_OK;

    memset(&in, 0, sizeof(in));
    w.msg[0] = '\0';
    if (c->rec.len > 0 && memchr(c->rec.p, '\0', c->rec.len)) {
        return reject(im, c->first, 0, "a NUL byte");
    }
    if ((rc = csv_fields(c, fields, c->ncols, &nf, &why)) != TC_OK) {
        return tc__errf(err, rc, "line %llu: out of memory",
                        (unsigned long long)c->first);
    }
    if (nf == -2) {
        tc__errf(&w, TC_EINVAL, "more fields than the header's %zu", c->ncols);
        return reject(im, c->first, 0, w.msg);
    }
    if (nf < 0) {
        return reject(im, c->first, 0, why);
    }
    if ((size_t)nf != c->ncols) {
        tc__errf(&w, TC_EINVAL, "%ld fields, the header has %zu", nf, c->ncols);
        return reject(im, c->first, 0, w.msg);
    }
    /* the type first, so that any rejection is counted under it */
    for (size_t i = 0; i < c->ncols; i++) {
        if (c->field_of[i] == TC__FB_TYPE && fields[i][0]) {
            if (strcmp(fields[i], "correction") == 0) {
                in.type = TC_FEEDBACK_CORRECTION;
            } else if (strcmp(fields[i], "confirmation") == 0) {
                in.type = TC_FEEDBACK_CONFIRMATION;
            } else {
                in.type = -1;
                in.type_given = fields[i];
            }
        }
    }
    for (size_t i = 0; rc == TC_OK && i < c->ncols; i++) {
        rc = csv_value(&in, c->field_of[i], fields[i], &w);
    }
    return take(im, c->first, &in, rc, &w, err);
}

/* Whether a line is blank: nothing but spaces, tabs and CRs. */
static int blank_line(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* One physical line of CSV: gathered until its record is whole. */
static int csv_line(imp *im, csv *c, uint64_t lineno, const char *p, size_t len,
                    int toolong, tc__err *err)
{
    size_t body = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
    int rc;

    if (c->state == S_START && c->rec.len == 0) {
        if (!toolong && blank_line(p, len)) {
            /* Before the header or between records, as the detection of
             * the format and JSON Lines skip it: a header or a record of
             * blanks is never meant. */
            return TC_OK;
        }
        c->first = lineno;
    } else {
        tc__sb_put(&c->rec, "\n", 1); /* a line break inside quotes */
    }
    if (toolong || c->rec.len + len > TC__LINE_MAX) {
        c->rec.len = 0;
        c->state = S_START;
        if (!c->have_header) {
            return tc__errf(err, TC_EINVAL,
                            "CSV header (line %llu): longer than 1 MiB",
                            (unsigned long long)c->first);
        }
        return reject(im, c->first, 0,
                      "a record longer than 1 MiB (a quote that never "
                      "closes?)");
    }
    c->state = scan(c->state, p, body);
    if (c->state == S_QUOTED) {
        tc__sb_put(&c->rec, p, len); /* a '\r' here is the field's */
        return c->rec.oom ? tc__errf(err, TC_ENOMEM, "out of memory") : TC_OK;
    }
    tc__sb_put(&c->rec, p, body);
    if (c->rec.oom) {
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    rc = c->have_header ? csv_row(im, c, err) : csv_header(c, err);
    c->rec.len = 0;
    c->state = S_START;
    return rc;
}

/* ---- the import ------------------------------------------------------------
 */

static int run(imp *im, tc__lines *lr, tc_import_format format,
               tc_import_progress_fn progress, void *ud, tc__err *err)
{
    csv c;
    char *line;
    size_t len;
    uint64_t next_progress = PROGRESS_EVERY;
    int toolong, got, rc = TC_OK;

    memset(&c, 0, sizeof(c));
    c.state = S_START;
    while ((got = tc__lines_next(lr, &line, &len, &toolong)) == 1) {
        uint64_t no = lr->lineno;

        if (no == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3; /* a UTF-8 byte order mark */
            len -= 3;
        }
        if (format == TC_IMPORT_AUTO && !blank_line(line, len)) {
            size_t i = 0;

            while (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
                i++;
            }
            format = line[i] == '{' ? TC_IMPORT_JSONL : TC_IMPORT_CSV;
        }
        if (format == TC_IMPORT_CSV) {
            rc = csv_line(im, &c, no, line, len, toolong, err);
        } else if (toolong) {
            rc = reject(im, no, 0, "a line longer than 1 MiB");
        } else {
            rc = blank_line(line, len) ? TC_OK
                                       : jsonl_line(im, no, line, len, err);
        }
        if (rc != TC_OK) {
            break;
        }
        if (progress && no >= next_progress) {
            progress(ud, no);
            next_progress = (no / PROGRESS_EVERY + 1) * PROGRESS_EVERY;
        }
    }
    if (got < 0 && rc == TC_OK) {
        rc = tc__errf(err, got, "reading line %llu: %s",
                      (unsigned long long)lr->lineno + 1,
                      got == TC_EIO ? strerror(errno) : "out of memory");
    }
    if (rc == TC_OK && c.rec.len > 0) {
        rc = reject(im, c.first, 0, "a quoted field does not end");
    }
    if (rc == TC_OK && format == TC_IMPORT_CSV && !c.have_header) {
        rc = tc__errf(err, TC_EINVAL, "CSV: no header row");
    }
    if (rc == TC_OK) {
        rc = flush(im, err);
    }
    tc__free(c.rec.p);
    tc__free(c.scratch);
    return rc;
}

int tc__fb_import(tc_import_report **out, tc__fb *fb, FILE *in,
                  tc_import_format format, int dry_run,
                  tc_import_progress_fn progress, void *progress_userdata)
{
    tc__lines lr;
    tc__err err;
    imp *im;
    int rc;

    if (format != TC_IMPORT_AUTO && format != TC_IMPORT_JSONL &&
        format != TC_IMPORT_CSV) {
        return tc__fail(TC_EINVAL, "format: %d is not a tc_import_format",
                        (int)format);
    }
    if (!(im = tc__calloc(1, sizeof(*im))) ||
        !(im->rep = tc__calloc(1, sizeof(*im->rep)))) {
        tc__free(im);
        return tc__fail(TC_ENOMEM, "feedback import: out of memory");
    }
    im->fb = fb;
    im->dry_run = dry_run;
    /* A dry run touches no store, so it validates files anywhere. */
    if (!dry_run && (rc = tc__fb_ready(fb)) != TC_OK) {
        tc__free(im->rep);
        tc__free(im);
        return rc;
    }
    err.msg[0] = '\0';
    if (!dry_run) {
        tc__spool_replay(fb, 0, &err);
        err.msg[0] = '\0';
    }
    tc__lines_init_file(&lr, in);
    rc = run(im, &lr, format, progress, progress_userdata, &err);
    tc__lines_free(&lr);
    for (size_t i = 0; i < im->n; i++) {
        tc__fb_rec_free(&im->recs[i]);
    }
    if (!dry_run) {
        for (int t = 0; t < 3; t++) {
            tc__fb_count_rejected(fb,
                                  t == 0   ? TC_FEEDBACK_CORRECTION
                                  : t == 1 ? TC_FEEDBACK_CONFIRMATION
                                           : -1,
                                  im->rejected[t]);
        }
    }
    if (rc != TC_OK) {
        uint64_t acc = im->rep->pub.accepted;

        if (!err.msg[0]) {
            tc__errf(&err, rc, "%s", tc__strerror(rc));
        }
        tc__import_report_free(&im->rep->pub);
        tc__free(im);
        return tc__fail(rc, "%s (%llu records accepted before)", err.msg,
                        (unsigned long long)acc);
    }
    *out = &im->rep->pub;
    tc__free(im);
    return TC_OK;
}
