/*
 * fuzz_feedback_csv.c - feedback records as CSV (tc_feedback_import,
 * TC_IMPORT_CSV, dry run, on the memory: store), from any bytes read
 * through fmemopen.
 *
 * Properties: the import returns TC_OK, or TC_EINVAL for a header it
 * cannot use (with a message naming the header); the report is coherent:
 * no more records than lines, every rejection listed (up to 1000) with a
 * reason and the line its record starts on, in increasing order. The
 * same bytes through TC_IMPORT_AUTO, when their first non-blank byte is
 * not '{', give the same report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tutorcache.h"

#include "fuzz_common.h"

static int import(tc_import_report **rep, const char *p, size_t n,
                  tc_import_format format)
{
    FILE *f = fmemopen((void *)p, n, "r");
    int rc;

    FZ_CHECK(f != NULL, "fmemopen");
    rc = tc_feedback_import(rep, fz_memory_cache(), f, format, 1, NULL, NULL);
    fclose(f);
    return rc;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;

    for (size_t i = 0; i < n; i++) {
        lines += p[i] == '\n';
    }
    return lines + (n > 0 && p[n - 1] != '\n');
}

/* Whether TC_IMPORT_AUTO reads these bytes as CSV. */
static int auto_is_csv(const char *p, size_t n)
{
    size_t i = n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

    for (; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            return p[i] != '{';
        }
    }
    return 0; /* nothing but blanks: no format is chosen */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    uint64_t lines = count_lines(p, size);
    tc_import_report *rep = NULL, *rep2 = NULL;
    char msg[512];
    int rc, rc2;

    rc = import(&rep, p, size, TC_IMPORT_CSV);
    snprintf(msg, sizeof(msg), "%s", tc_errmsg());
    FZ_CHECK(rc == TC_OK || rc == TC_EINVAL, "rc %d: %s", rc, msg);
    if (rc != TC_OK) {
        FZ_CHECK(!rep && strstr(msg, "CSV"), "a failure: %s", msg);
    } else {
        FZ_CHECK(rep->accepted + rep->rejected <= lines,
                 "%llu accepted + %llu rejected from %llu lines",
                 (unsigned long long)rep->accepted,
                 (unsigned long long)rep->rejected, (unsigned long long)lines);
        FZ_CHECK(rep->nrejections ==
                     (rep->rejected < 1000 ? rep->rejected : 1000),
                 "%zu rejections listed of %llu", rep->nrejections,
                 (unsigned long long)rep->rejected);
        for (size_t i = 0; i < rep->nrejections; i++) {
            FZ_CHECK(rep->rejections[i].line >= 2 &&
                         rep->rejections[i].line <= lines &&
                         (i == 0 || rep->rejections[i].line >
                                        rep->rejections[i - 1].line),
                     "rejection %zu at line %llu of %llu", i,
                     (unsigned long long)rep->rejections[i].line,
                     (unsigned long long)lines);
            FZ_CHECK(rep->rejections[i].reason && rep->rejections[i].reason[0],
                     "rejection %zu has no reason", i);
        }
    }
    if (auto_is_csv(p, size)) {
        rc2 = import(&rep2, p, size, TC_IMPORT_AUTO);
        FZ_CHECK(rc2 == rc, "TC_IMPORT_AUTO: rc %d, TC_IMPORT_CSV: %d", rc2,
                 rc);
        FZ_CHECK(!rep || (rep2->accepted == rep->accepted &&
                          rep2->rejected == rep->rejected),
                 "TC_IMPORT_AUTO counts differ");
    }
    tc_import_report_free(rep);
    tc_import_report_free(rep2);
    return 0;
}
