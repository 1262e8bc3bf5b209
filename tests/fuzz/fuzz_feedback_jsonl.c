/*
 * fuzz_feedback_jsonl.c - feedback records as JSON Lines
 * (tc_feedback_import, TC_IMPORT_JSONL, dry run, on the memory: store),
 * from any bytes read through fmemopen.
 *
 * Properties: the import returns TC_OK with a coherent report (at most as
 * many records as lines, each rejection with a reason and a line number
 * of the input, in increasing order, nothing spooled); and what a line
 * gets depends on that line alone: the record parser (tc__fb_parse_json,
 * then tc__fb_build, which the import runs line by line) given each line
 * by itself accepts and rejects the same lines, for the same reasons.
 * The lines are checked through the parser rather than through an import
 * each, because an import allocates a batch of 1024 records, which under
 * ASan costs an mmap and a munmap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "feedback/feedback.h"
#include "tutorcache.h"

#include "fuzz_common.h"

static tc_import_report *import(const char *p, size_t n)
{
    tc_import_report *rep = NULL;
    FILE *f = fmemopen((void *)p, n, "r");
    int rc;

    FZ_CHECK(f != NULL, "fmemopen");
    rc = tc_feedback_import(&rep, fz_memory_cache(), f, TC_IMPORT_JSONL, 1,
                            NULL, NULL);
    fclose(f);
    FZ_CHECK(rc == TC_OK && rep, "rc %d: %s", rc, tc_errmsg());
    return rep;
}

/* The verdict on one line alone: 0 blank, 1 accepted, -1 rejected with
 * why. */
static int verdict(const char *p, size_t n, tc__err *why)
{
    tc__fb_in in;
    tc__fb_rec r;
    void *tree = NULL;
    size_t i = 0;
    int rc;

    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) {
        i++;
    }
    if (i == n) {
        return 0;
    }
    why->msg[0] = '\0';
    rc = tc__fb_parse_json(&in, &tree, p, n, 0, why);
    if (rc == TC_OK) {
        rc = tc__fb_build(&r, NULL, &in, why);
        if (rc == TC_OK) {
            tc__fb_rec_free(&r);
        }
    }
    cJSON_Delete(tree);
    FZ_CHECK(rc == TC_OK || rc == TC_EINVAL, "the parser returns %d: %s", rc,
             why->msg);
    return rc == TC_OK ? 1 : -1;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;

    for (size_t i = 0; i < n; i++) {
        lines += p[i] == '\n';
    }
    return lines + (n > 0 && p[n - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    uint64_t lines = count_lines(p, size), accepted = 0, rejected = 0;
    uint64_t lineno = 0;
    size_t r = 0;
    tc_import_report *all = import(p, size);
    tc__err why;

    FZ_CHECK(all->accepted + all->rejected <= lines,
             "%llu accepted + %llu rejected from %llu lines",
             (unsigned long long)all->accepted,
             (unsigned long long)all->rejected, (unsigned long long)lines);
    FZ_CHECK(all->spooled == 0, "a dry run spooled");
    FZ_CHECK(all->nrejections == (all->rejected < 1000 ? all->rejected : 1000),
             "%zu rejections listed of %llu", all->nrejections,
             (unsigned long long)all->rejected);
    for (size_t i = 0; i < all->nrejections; i++) {
        FZ_CHECK(all->rejections[i].line >= 1 &&
                     all->rejections[i].line <= lines &&
                     (i == 0 ||
                      all->rejections[i].line > all->rejections[i - 1].line),
                 "rejection %zu at line %llu", i,
                 (unsigned long long)all->rejections[i].line);
        FZ_CHECK(all->rejections[i].reason && all->rejections[i].reason[0],
                 "rejection %zu has no reason", i);
    }

    for (size_t at = 0; at < size && r < 1000;) {
        const char *nl = memchr(p + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (p + at)) : size - at;
        size_t skip = 0;
        int v;

        lineno++;
        if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            skip = 3; /* a byte order mark, on the first line only */
        }
        v = verdict(p + at + skip, len - skip, &why);
        accepted += v > 0;
        rejected += v < 0;
        if (v < 0) {
            FZ_CHECK(r < all->nrejections &&
                         all->rejections[r].line == lineno &&
                         strcmp(all->rejections[r].reason, why.msg) == 0,
                     "line %llu alone is rejected (%s); in the file: %s",
                     (unsigned long long)lineno, why.msg,
                     r < all->nrejections && all->rejections[r].line == lineno
                         ? all->rejections[r].reason
                         : "not rejected");
            r++;
        } else {
            FZ_CHECK(r >= all->nrejections || all->rejections[r].line != lineno,
                     "line %llu alone is %s; in the file it is rejected: %s",
                     (unsigned long long)lineno, v ? "accepted" : "blank",
                     all->rejections[r].reason);
        }
        at += len + 1;
    }
    FZ_CHECK(
        r == 1000 || (accepted == all->accepted && rejected == all->rejected),
        "line by line %llu accepted, %llu rejected; in one file %llu, "
        "%llu",
        (unsigned long long)accepted, (unsigned long long)rejected,
        (unsigned long long)all->accepted, (unsigned long long)all->rejected);
    tc_import_report_free(all);
    return 0;
}
