/*
 * tt_json.c - a JSON answer's fields for the suites (see tt_json.h).
 */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "tt_json.h"

const cJSON *json_get(const cJSON *o, const char *path)
{
    const char *p = path, *dot;
    char part[128];

    for (;;) {
        dot = strchr(p, '.');
        snprintf(part, sizeof(part), "%.*s",
                 (int)(dot ? (size_t)(dot - p) : strlen(p)), p);
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        ck_assert_msg(o != NULL, "no \"%s\" (of \"%s\")", part, path);
        if (!dot) {
            return o;
        }
        p = dot + 1;
    }
}

const char *json_str(const cJSON *o, const char *path)
{
    const cJSON *f = json_get(o, path);

    ck_assert_msg(cJSON_IsString(f), "\"%s\" is not a string", path);
    return f->valuestring;
}

double json_num(const cJSON *o, const char *path)
{
    const cJSON *f = json_get(o, path);

    ck_assert_msg(cJSON_IsNumber(f), "\"%s\" is not a number", path);
    return f->valuedouble;
}

int json_bool(const cJSON *o, const char *path)
{
    const cJSON *f = json_get(o, path);

    ck_assert_msg(cJSON_IsBool(f), "\"%s\" is not a boolean", path);
    return cJSON_IsTrue(f);
}
