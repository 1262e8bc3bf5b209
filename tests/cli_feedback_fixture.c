/*
 * cli_feedback_fixture.c - the steps of the cli_feedback suite (see
 * cli_feedback_fixture.h), each one run of the built binary through the
 * CLI harness.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "cli_feedback_fixture.h"
#include "suites.h"

int cf_is_record_id(const char *s)
{
    int i;

    for (i = 0; i < 32; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return s[32] == '\0';
}

void cf_submit(const how *h, const char *text, const char *original,
               const char *correct, char *id)
{
    lines ls;
    run r;

    cli(&r, h, "feedback", "submit", "--text", text, "--original", original,
        "--correct", correct, "--confidence", "0.5");
    expect_lines(&ls, &r, 0, "", 1);
    ck_assert_str_eq(json_str(ls.v[0], "status"), "accepted");
    ck_assert_msg(cf_is_record_id(json_str(ls.v[0], "id")), "id \"%s\"",
                  json_str(ls.v[0], "id"));
    if (id) {
        snprintf(id, 33, "%s", json_str(ls.v[0], "id"));
    }
    lines_run_free(&ls, &r);
}

cJSON *cf_stats(const how *h)
{
    cJSON *st;
    run r;

    cli(&r, h, "feedback", "stats", "--json");
    expect(&r, 0, NULL, "");
    st = run_json(&r); /* one line, one object */
    run_free(&r);
    return st;
}

void cf_classify(const how *h, const char *model_path, const char *text,
                 char *intent, size_t ilen, char *source, size_t slen)
{
    lines ls;
    run r;

    cli(&r, h, "classify", "--model", model_path, "--format", "json", text);
    expect_lines(&ls, &r, 0, "", 1);
    snprintf(intent, ilen, "%s", json_str(ls.v[0], "intent"));
    snprintf(source, slen, "%s", json_str(ls.v[0], "source"));
    lines_run_free(&ls, &r);
}

void cf_expect_stats(const how *h, ...)
{
    cJSON *st = cf_stats(h);
    const char *field;
    va_list ap;
    int want;

    va_start(ap, h);
    while ((field = va_arg(ap, const char *))) {
        want = va_arg(ap, int);
        ck_assert_msg((long)json_num(st, field) == want,
                      "feedback stats: %s is %g, expected %d", field,
                      json_num(st, field), want);
    }
    va_end(ap);
    cJSON_Delete(st);
}

const char *cf_other_intent(const char *intent)
{
    return strcmp(intent, "translation") != 0 ? "translation" : "debugging";
}

void cf_model_answer(const how *h, const char *model_path, const char *text,
                     char *intent, size_t ilen)
{
    char source[32];

    cf_classify(h, model_path, text, intent, ilen, source, sizeof(source));
    ck_assert_str_eq(source, "model");
}

void cf_correct(const how *h, const char *model_path, const char *text,
                char *corrected, size_t clen)
{
    char intent[64], source[32];

    cf_model_answer(h, model_path, text, intent, sizeof(intent));
    snprintf(corrected, clen, "%s", cf_other_intent(intent));
    cf_submit(h, text, intent, corrected, NULL);
    cf_classify(h, model_path, text, intent, sizeof(intent), source,
                sizeof(source));
    ck_assert_str_eq(source, "feedback");
    ck_assert_str_eq(intent, corrected);
}
