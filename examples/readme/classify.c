/*
 * classify.c - README.md "Classification", run with the model the check
 * trained from examples/intents.jsonl into ./intents.tcm: the README's
 * lines classify a text and print the result; then the same text again
 * must come from the cache (source "l1") with every field the README's
 * comment shows, "unknown" only below the threshold.
 *
 * The README's lines are in readme_example() verbatim, at the left margin
 * because the check compares indentation too; the names they take from
 * the reader (cache, text, len) are defined before them.
 */
#include "readme.h"

#include <string.h>
#include <tutorcache.h>

static const char text[] = "How do I fix this segfault?";
static const size_t len = sizeof text - 1;

static void readme_example(tc_cache *cache)
{
    tc_result *again;
    static const char *const fields[] = {
        "intent", "confidence", "top",    "complexity",
        "techniques", "model", "source", "latency_us"};
    size_t i;

/* clang-format off */
tc_model *model;
tc_classifier_options co;
tc_classifier *clf;
tc_result *r;

if (tc_model_load(&model, "intents.tcm") != TC_OK) { /* tc_errmsg() says why */ }
tc_classifier_options_init(&co);
co.model = model;                      /* or co.fn/co.fn_version: the host's model */
co.threshold = 0.4;                    /* below it the intent is "unknown" */
tc_classifier_open(&clf, cache, &co);
if (tc_classify(&r, clf, text, len) == TC_OK) {
    puts(r->json);  /* {"intent":"debugging","confidence":0.92,"top":[...],
                        "complexity":"beginner","techniques":["python"],
                        "model":"<fingerprint>","source":"l1","latency_us":1} */
    tc_result_free(r);
}
/* clang-format on */

    if (model == NULL) {
        /* The README's lines leave the reason unread and later calls have
         * cleared it: the same load again says why. */
        tc_model_load(&model, "intents.tcm");
        README_FAIL("tc_model_load intents.tcm: %s", tc_errmsg());
    }
    if (clf == NULL) {
        README_FAIL("tc_classifier_open failed");
    }
    if (tc_classify(&again, clf, text, len) != TC_OK) {
        README_FAIL("tc_classify: %s", tc_errmsg());
    }
    /* The README's call stored its answer: this one is a cache hit. */
    if (again->source != TC_SOURCE_L1) {
        README_FAIL("classifying again: source %s, expected l1",
                    tc_source_name(again->source));
    }
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char quoted[32];

        snprintf(quoted, sizeof quoted, "\"%s\":", fields[i]);
        if (strstr(again->json, quoted) == NULL) {
            README_FAIL("no %s in %s", quoted, again->json);
        }
    }
    /* The threshold: below it "unknown", else the best label. */
    if (again->ntop == 0 ||
        strcmp(again->intent, again->confidence < co.threshold
                                  ? "unknown"
                                  : again->top[0].label) != 0) {
        README_FAIL("intent %s at confidence %g, threshold %g: %s",
                    again->intent, again->confidence, co.threshold,
                    again->json);
    }
    /* What the README's comment shows, and a reader expects. */
    if (strcmp(again->intent, "debugging") != 0) {
        README_FAIL("\"%s\" answered %s, not debugging: %s", text,
                    again->intent, again->json);
    }
    readme_classified_free(again, clf, model);
}

int main(int argc, char **argv)
{
    static readme_step *const steps[] = {readme_example, NULL};

    return readme_run(argc, argv, steps);
}
