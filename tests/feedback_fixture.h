/*
 * feedback_fixture.h - what the feedback suite's files (check_feedback.c,
 * check_feedback_import.c, check_feedback_queue.c) share: a temp dir per
 * test with a handle on an LMDB store in it (or on the run's cluster, in
 * the "_cluster" cases), and the calls a test makes
 * often (submit, export, stats, import), each failing the test on an
 * error it did not expect.
 */
#ifndef TC_TEST_FEEDBACK_FIXTURE_H
#define TC_TEST_FEEDBACK_FIXTURE_H

#include <stddef.h>

#include <check.h>

#include "api/handle.h"
#include "feedback/feedback.h"
#include "suites.h"

/* The checked fixture: the test's dir; fb_dir() is it, fb_path() a file
 * in it (in one of eight rotating buffers). XDG_STATE_HOME is
 * <dir>/state while the case runs (a network store's spool lies there). */
void fb_setup(void);
void fb_teardown(void);
const char *fb_dir(void);
const char *fb_path(const char *name);

/* Adds test as a case of its own, named name, with the fixture and room
 * for valgrind; and again as "<name>_cluster", where fb_open opens the
 * run's Redis Cluster (cache_fixture.h: flushed first) instead of LMDB
 * (issue 14). fb_on_cluster() says which one runs, for a test that looks
 * at what only LMDB does and skips the cluster, saying why. */
void fb_add(Suite *su, const char *name, const TTest *test);
int fb_on_cluster(void);
/* Adds test on LMDB only: the caller says there why not the cluster. */
void fb_add_lmdb(Suite *su, const char *name, const TTest *test);
/* Adds test on the cluster only, named name (give it "_cluster"). */
void fb_add_cluster(Suite *su, const char *name, const TTest *test);
/* The URL fb_open opens, for a handle opened another way. */
const char *fb_url(void);
/* What feedback stats say of fb_open's store (FB_LMDB_STORE, or the
 * cluster's: no eviction, RDB snapshots). */
const char *fb_store_json(void);
/* Checks that feedback stats s are head, then fb_store_json(), then "}". */
void fb_expect_stats(const char *s, const char *head);

/* A handle on url (fb_open: lmdb://<dir>/db, or the cluster); config_json,
 * when given, is its config file. */
tc_cache *fb_open_url(const char *url, const char *config_json);
tc_cache *fb_open(const char *config_json);

/* A correction's fields, and the whole record. */
/* What feedback stats say of an LMDB store: on disk, nothing at risk. */
#define FB_LMDB_STORE                                                          \
    "\"store\":{\"kind\":\"lmdb\",\"maxmemory_policy\":\"none\","              \
    "\"persistence\":\"disk\",\"at_risk\":[]}"

#define FB_BASE_FIELDS                                                         \
    "\"text\":\"How do I sort a list?\",\"original_intent\":\"a\","            \
    "\"correct_intent\":\"b\",\"original_confidence\":0.4"
extern const char fb_base_json[];

/* Submits json; id (TC_FEEDBACK_ID_MAX; may be NULL) receives the id. */
int fb_submit(tc_cache *h, const char *json, char *id);

/* A record of the struct form with its required fields, the rest zero. */
void fb_record(tc_feedback *fb, const char *text, const char *original,
               const char *correct, double confidence);
/* Submits json (an object without "id") as a record of its own: with an
 * id ("r<n>") that no other call of this process gave, so that the same
 * fields submitted again are not a duplicate. Text that does not end in
 * '}' goes as it is (to be rejected). */
int fb_submit_new(tc_cache *h, const char *json, char *id);
void fb_expect_id(const char *id);

/* Every exported record, as lines (the caller frees them with
 * fb_free_lines), or only their count. */
size_t fb_export_all(tc_cache *h, char ***lines);
void fb_free_lines(char **lines, size_t n);
size_t fb_export_count(tc_cache *h);

/* The stats as JSON (tc_free it), and the number after "key": in it
 * (first occurrence). */
char *fb_stats(tc_cache *h);
long long fb_stat_num(const char *json, const char *key);

/* Imports text; the report is the caller's. */
tc_import_report *fb_import_text(tc_cache *h, const char *text,
                                 tc_import_format fmt, int dry);

/* A file of the spool of the handle fb_open (or fb_open_url) opened
 * last, or of <dir>/db/spool before any (a static buffer); and the whole
 * content of a file ("" when absent; the caller frees it). */
char *fb_spool_file(const char *name);
char *fb_slurp(const char *p);

#endif
