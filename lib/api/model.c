/*
 * model.c - the doors of the built-in classifier's model: training,
 * files, prediction and corrections.
 */
#include "model/model.h"

TC_API void tc_train_options_init(tc_train_options *opt)
{
    if (opt) {
        tc__train_options_init(opt);
    }
}

TC_API int tc_model_train(tc_model **out, const char *data, size_t len,
                          const tc_train_options *opt)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || (!data && len)) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_train(out, data, len, opt);
}

TC_API int tc_model_train_file(tc_model **out, const char *path,
                               const tc_train_options *opt)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !path) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_train_file(out, path, opt);
}

TC_API int tc_model_save(const tc_model *m, const char *path)
{
    tc__clear();
    if (!m || !path) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_save(m, path);
}

TC_API int tc_model_load(tc_model **out, const char *path)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !path) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_load(out, path);
}

TC_API void tc_model_free(tc_model *m)
{
    tc__model_free(m);
}

TC_API void tc_model_fingerprint(char *buf, const tc_model *m)
{
    if (!buf) {
        return;
    }
    if (!m) {
        buf[0] = '\0';
        return;
    }
    tc__model_fingerprint(buf, m);
}

TC_API int tc_model_info_json(char **out, const tc_model *m)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !m) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_info_json(out, m);
}

TC_API int tc_model_predict(tc_prediction **out, const tc_model *m,
                            const char *text, size_t len, int top_k)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !m || (!text && len)) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_predict(out, m, text, len, top_k);
}

TC_API void tc_prediction_free(tc_prediction *p)
{
    tc__free(p); /* one block */
}

TC_API int tc_model_update(tc_model *m, const char *example_json)
{
    tc__clear();
    if (!m || !example_json) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_update(m, example_json);
}

TC_API int tc_model_corrections_json(char **out, const tc_model *m)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !m) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_corrections_json(out, m);
}

TC_API int tc_model_references_json(char **out, const tc_model *m)
{
    if (out) {
        *out = NULL;
    }
    tc__clear();
    if (!out || !m) {
        return tc__fail(TC_EINVAL, "NULL argument");
    }
    return tc__model_references_json(out, m);
}
