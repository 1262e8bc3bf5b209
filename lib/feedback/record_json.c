/*
 * record_json.c - a feedback record's fields read from its JSON form (the
 * public submit_json, a line of an import or of the spool): the field
 * names, their types, and what is refused, each refusal naming the field.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "feedback/feedback.h"

const char *const tc__fb_fields[TC__FB_NFIELDS] = {"text",
                                                   "original_intent",
                                                   "correct_intent",
                                                   "original_confidence",
                                                   "correct_complexity",
                                                   "correct_techniques",
                                                   "user_id",
                                                   "model",
                                                   "feedback_type",
                                                   "timestamp",
                                                   "id"};

static const char *json_type(const cJSON *j)
{
    if (cJSON_IsNull(j)) {
        return "null";
    }
    if (cJSON_IsBool(j)) {
        return "a boolean";
    }
    if (cJSON_IsNumber(j)) {
        return "a number";
    }
    if (cJSON_IsString(j)) {
        return "a string";
    }
    if (cJSON_IsArray(j)) {
        return "an array";
    }
    return "an object";
}

/*
 * cJSON turns \u0000 into a NUL that silently ends the string, so the
 * escape is looked for in the raw text, once it parsed as JSON. Outside
 * strings valid JSON has no backslash, so a scan that skips escape pairs
 * is exact; it keeps the last member name of the top-level object, which
 * names the field at fault. Returns 1 and the name (cut to fit) when the
 * escape is there, 0 when not.
 */
static int escaped_nul(const char *s, size_t n, char *field, size_t fsz)
{
    size_t i, start = 0;
    int depth = 0, in_str = 0;

    snprintf(field, fsz, "a member name");
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (in_str) {
            if (c == '\\') {
                if (i + 5 < n && s[i + 1] == 'u' &&
                    memcmp(s + i + 2, "0000", 4) == 0) {
                    return 1;
                }
                i++;
            } else if (c == '"') {
                size_t j = i + 1;

                in_str = 0;
                while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' ||
                                 s[j] == '\n')) {
                    j++;
                }
                if (depth == 1 && j < n && s[j] == ':') {
                    size_t len = i - start < fsz - 1 ? i - start : fsz - 1;

                    memcpy(field, s + start, len);
                    field[len] = '\0';
                }
            }
        } else if (c == '"') {
            in_str = 1;
            start = i + 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

/* One member into in; returns TC_OK or the member's first error. */
static int json_member(tc__fb_in *in, int f, const cJSON *v, tc__err *err)
{
    const char *name = tc__fb_fields[f];
    int optional = f == TC__FB_COMPLEXITY || f == TC__FB_TECH ||
                   f == TC__FB_USER || f == TC__FB_MODEL || f == TC__FB_TS;

    if (optional && cJSON_IsNull(v)) {
        return TC_OK; /* null is absent, as the original service sent it */
    }
    if (f == TC__FB_CONF) {
        if (!cJSON_IsNumber(v)) {
            return tc__errf(err, TC_EINVAL, "%s: %s, not a number", name,
                            json_type(v));
        }
        in->has_conf = 1;
        in->conf = v->valuedouble;
        return TC_OK;
    }
    if (f == TC__FB_TECH) {
        const cJSON *e;
        size_t i = 0;

        if (!cJSON_IsArray(v)) {
            return tc__errf(err, TC_EINVAL, "%s: %s, not an array of strings",
                            name, json_type(v));
        }
        in->has_tech = 1;
        cJSON_ArrayForEach(e, v)
        {
            if (i == TC__FB_TECH_MAX) {
                return tc__errf(err, TC_EINVAL, "%s: %d items, more than %d",
                                name, cJSON_GetArraySize(v), TC__FB_TECH_MAX);
            }
            if (!cJSON_IsString(e)) {
                return tc__errf(err, TC_EINVAL, "%s[%zu]: %s, not a string",
                                name, i, json_type(e));
            }
            in->tech[i++] = e->valuestring;
        }
        in->ntech = i;
        return TC_OK;
    }
    if (!cJSON_IsString(v)) {
        if (f == TC__FB_TYPE) {
            in->type = -1;
        }
        return tc__errf(err, TC_EINVAL, "%s: %s, not a string", name,
                        json_type(v));
    }
    switch (f) {
    case TC__FB_TEXT:
        in->text = v->valuestring;
        in->textlen = strlen(v->valuestring);
        break;
    case TC__FB_ORIGINAL:
        in->original = v->valuestring;
        break;
    case TC__FB_CORRECT:
        in->correct = v->valuestring;
        break;
    case TC__FB_COMPLEXITY:
        in->complexity = v->valuestring;
        break;
    case TC__FB_USER:
        in->user_id = v->valuestring;
        break;
    case TC__FB_MODEL:
        in->model = v->valuestring;
        break;
    case TC__FB_TS:
        in->timestamp = v->valuestring;
        break;
    case TC__FB_ID:
        in->id = v->valuestring;
        break;
    default: /* TC__FB_TYPE */
        if (strcmp(v->valuestring, "correction") == 0) {
            in->type = TC_FEEDBACK_CORRECTION;
        } else if (strcmp(v->valuestring, "confirmation") == 0) {
            in->type = TC_FEEDBACK_CONFIRMATION;
        } else {
            in->type = -1;
            in->type_given = v->valuestring;
        }
    }
    return TC_OK;
}

int tc__fb_parse_json(tc__fb_in *in, void **tree, const char *json, size_t len,
                      int need_id, tc__err *err)
{
    const char *end = NULL;
    unsigned seen = 0;
    cJSON *root, *m;
    char a[48];
    int rc = TC_OK;

    memset(in, 0, sizeof(*in));
    *tree = NULL;
    if (memchr(json, '\0', len)) {
        return tc__errf(err, TC_EINVAL, "not JSON: a NUL byte at byte %zu",
                        (size_t)((const char *)memchr(json, '\0', len) - json));
    }
    tc__oom_take();
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        if (tc__oom_take()) {
            return tc__errf(err, TC_ENOMEM, "JSON: out of memory");
        }
        return tc__errf(err, TC_EINVAL, "not valid JSON (at byte %zu)",
                        end && end >= json ? (size_t)(end - json) : 0);
    }
    *tree = root;
    for (const char *p = end; p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            return tc__errf(err, TC_EINVAL,
                            "not valid JSON: text after the object at byte %zu",
                            (size_t)(p - json));
        }
    }
    if (!cJSON_IsObject(root)) {
        return tc__errf(err, TC_EINVAL, "%s, not a JSON object",
                        json_type(root));
    }
    if (memmem(json, len, "\\u0000", 6) &&
        escaped_nul(json, len, a, sizeof(a))) {
        return tc__errf(err, TC_EINVAL,
                        "%s: holds \\u0000, a NUL character, which no field "
                        "may contain",
                        a);
    }
    /* The type first, so that any rejection is counted under it. */
    cJSON_ArrayForEach(m, root)
    {
        if (m->string && strcmp(m->string, "feedback_type") == 0) {
            tc__err ignored;

            json_member(in, TC__FB_TYPE, m, &ignored);
            break;
        }
    }
    cJSON_ArrayForEach(m, root)
    {
        int f, mrc;

        for (f = 0; f < TC__FB_NFIELDS; f++) {
            if (strcmp(m->string, tc__fb_fields[f]) == 0) {
                break;
            }
        }
        if (f == TC__FB_NFIELDS) {
            mrc = tc__errf(err, TC_EINVAL,
                           "%s: unknown field (a misspelt field is "
                           "rejected, never dropped)",
                           tc__fb_excerpt(a, sizeof(a), m->string));
        } else if (seen & (1u << f)) {
            mrc =
                tc__errf(err, TC_EINVAL, "%s: appears twice", tc__fb_fields[f]);
        } else {
            seen |= 1u << f;
            mrc = json_member(in, f, m, err);
        }
        if (mrc != TC_OK) {
            return mrc;
        }
    }
    if (need_id && !in->id) {
        rc = tc__errf(err, TC_EINVAL, "id: required in a stored record");
    }
    return rc;
}
