/*
 * cli_feedback_fixture.h - what the files of the cli_feedback suite
 * (check_cli_feedback.c, check_cli_feedback_io.c) share: the steps a user
 * takes through the built binary (submit a record, read the stats,
 * classify a text), each failing the test on anything it did not expect.
 */
#ifndef TC_TEST_CLI_FEEDBACK_FIXTURE_H
#define TC_TEST_CLI_FEEDBACK_FIXTURE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cli_harness.h"

/* Whether s is a derived record id: 32 lowercase hex digits. */
int cf_is_record_id(const char *s);

/*
 * Submits a correction (or, when original equals correct, a confirmation)
 * and checks the answer; id (33 bytes; may be NULL) receives the record's
 * id.
 */
void cf_submit(const how *h, const char *text, const char *original,
               const char *correct, char *id);

/* The store's feedback stats, parsed; the caller deletes them. */
cJSON *cf_stats(const how *h);

/* The store's feedback stats hold these values: pairs of a field's path
 * and its whole-number value (an int), then NULL; one run of the CLI. */
void cf_expect_stats(const how *h, ...);

/* The classification of one text: intent and source, through the cache. */
void cf_classify(const how *h, const char *model_path, const char *text,
                 char *intent, size_t ilen, char *source, size_t slen);

/* An intent of the example model other than the given one. */
const char *cf_other_intent(const char *intent);

/* The model's own answer to text (cf_classify, whose source must be the
 * model), in intent (ilen bytes). */
void cf_model_answer(const how *h, const char *model_path, const char *text,
                     char *intent, size_t ilen);

/*
 * Corrects the model's answer to text: cf_model_answer, a correction to
 * another intent (returned in corrected, clen bytes) by cf_submit, and
 * the next classification of text must be that intent, from feedback.
 */
void cf_correct(const how *h, const char *model_path, const char *text,
                char *corrected, size_t clen);

#endif
