/*
 * feedback.c - README.md "Feedback", run: the README's lines submit a
 * correction, which must be stored (not spooled) under an id of the
 * documented form; a record with a bad field must be refused with a
 * message naming it; and classifying the corrected text must then answer
 * the corrected intent with source "feedback", at once, in this process.
 * The classifier uses the model the check trained into ./intents.tcm.
 *
 * The README's lines are in readme_example() verbatim, at the left margin
 * because the check compares indentation too; `cache` is defined before
 * them.
 */
#include "readme.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <tutorcache.h>

/* Derived from the content: 32 lowercase hex digits (tutorcache.h). */
static int id_ok(const char *id)
{
    size_t i;

    if (strlen(id) != 32) {
        return 0;
    }
    for (i = 0; i < 32; i++) {
        if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i])) {
            return 0;
        }
    }
    return 1;
}

static void readme_example(tc_cache *cache)
{
/* clang-format off */
char id[TC_FEEDBACK_ID_MAX];
int outcome;   /* TC_FEEDBACK_STORED, _SPOOLED or _DUPLICATE */
const char *rec = "{\"text\":\"How do I fix this segfault?\",\"original_intent\":\"explanation\","
                  "\"correct_intent\":\"debugging\",\"original_confidence\":0.62,"
                  "\"feedback_type\":\"correction\"}";
if (tc_feedback_submit_json(id, &outcome, cache, rec, strlen(rec)) != TC_OK)
    fprintf(stderr, "%s\n", tc_errmsg());   /* names the field at fault */
/* clang-format on */

    if (!id_ok(id) || outcome != TC_FEEDBACK_STORED) {
        README_FAIL("submitted: id \"%s\", outcome %d; expected a stored "
                    "record's id", id, outcome);
    }
}

/* A record the library must refuse, naming the field at fault. */
static void refused(tc_cache *cache)
{
    static const char bad[] =
        "{\"text\":\"How do I fix this segfault?\","
        "\"original_intent\":\"explanation\","
        "\"correct_intent\":\"debugging\",\"original_confidence\":1.7,"
        "\"feedback_type\":\"correction\"}";
    char id[TC_FEEDBACK_ID_MAX];
    int rc = tc_feedback_submit_json(id, NULL, cache, bad, sizeof bad - 1);

    if (rc != TC_EINVAL || strstr(tc_errmsg(), "original_confidence") == NULL) {
        README_FAIL("original_confidence 1.7: %s \"%s\"; expected TC_EINVAL "
                    "naming the field", tc_error_name(rc), tc_errmsg());
    }
}

/* The correction overrides the classification of its text at once. */
static void overridden(tc_cache *cache)
{
    static const char text[] = "How do I fix this segfault?";
    tc_classifier_options co;
    tc_classifier *clf;
    tc_model *model;
    tc_result *r;

    if (tc_model_load(&model, "intents.tcm") != TC_OK) {
        README_FAIL("tc_model_load intents.tcm: %s", tc_errmsg());
    }
    tc_classifier_options_init(&co);
    co.model = model;
    if (tc_classifier_open(&clf, cache, &co) != TC_OK) {
        README_FAIL("tc_classifier_open: %s", tc_errmsg());
    }
    if (tc_classify(&r, clf, text, sizeof text - 1) != TC_OK) {
        README_FAIL("tc_classify: %s", tc_errmsg());
    }
    if (r->source != TC_SOURCE_FEEDBACK || strcmp(r->intent, "debugging")) {
        README_FAIL("after the correction: %s; expected debugging from "
                    "source feedback", r->json);
    }
    readme_classified_free(r, clf, model);
}

int main(int argc, char **argv)
{
    static readme_step *const steps[] = {readme_example, refused, overridden,
                                         NULL};

    return readme_run(argc, argv, steps);
}
