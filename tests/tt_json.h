/*
 * tt_json.h - reading the suites' JSON answers (the CLI's lines, the
 * service's bodies): a field by its dotted path, of the type asked for,
 * or the test fails naming it.
 */
#ifndef TC_TT_JSON_H
#define TC_TT_JSON_H

#include <cjson/cJSON.h>

/* The field at a dotted path of o ("learn.last.applied"), which must be
 * there (and of the type asked for); what comes back is borrowed from o. */
const cJSON *json_get(const cJSON *o, const char *path);
const char *json_str(const cJSON *o, const char *path);
double json_num(const cJSON *o, const char *path);
int json_bool(const cJSON *o, const char *path);

#endif
