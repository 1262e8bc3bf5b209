/*
 * model_file.h - the layout of a model file, shared by its writer
 * (model_io.c) and its reader (model_load.c). All numbers little-endian.
 *
 *   header   magic (8), format version (u32), flags (u32, 0), body
 *            length (u64)
 *   body     hyper-parameters; heads (name, multi, labels, and from
 *            version 3 the link's calibration a, b, c, from version 4
 *            also d, the rival's weight); from version 3 the
 *            out-of-scope label (u32, or none) and the corrections'
 *            radius (f32); the input rows (version 3: a bitmap of the
 *            rows kept, then those rows; before: every row), each a float
 *            scale and dim int8; the output rows and biases (floats); from
 *            version 2 the vocabulary's words; from version 3 their
 *            document frequencies and the number of training texts, the
 *            reference examples (text, intent) and the corrections (text,
 *            then (head, label) pairs)
 *   sum      XXH3-128 of header and body, which is also the fingerprint
 */
#ifndef TC_MODEL_FILE_H
#define TC_MODEL_FILE_H

#include <stdio.h>

#include <xxhash.h>

#include "model/model.h"

/* "\x89TCM" then CR LF SUB LF, as PNG does: a file mangled by a text-mode
 * transfer or taken for text is refused at once. */
#define TC__MODEL_MAGIC "\x89TCM\r\n\x1a\n"
#define TC__MODEL_MAGIC_BYTES 8

/*
 * 2 added the vocabulary after the bias. 3 added each head's calibration,
 * the out-of-scope label, the corrections and the reference examples, and
 * keeps only the input rows training reached: a model's file is as big
 * as what it learned, not as its hash table. Files of versions 1 and 2
 * are still read (their heads keep the plain sigmoid, and their words
 * count as rare in the similarity of corrections). 4 added the rival's
 * weight d to each head's calibration; a file of version 3 loads with
 * d = 0, the link it was fitted with.
 */
#define TC__MODEL_FORMAT 4
#define TC__MODEL_NO_LABEL UINT32_MAX
#define TC__MODEL_HEADER_BYTES 24
#define TC__MODEL_SUM_BYTES 16

/* Reports a failure of save or load: "path: why" in errbuf and the
 * thread's detail. path may be "" when why says it all. */
int tc__model_fail_io(int code, const char *path, const char *why);

/* The fingerprint's text: 32 hex digits of the checksum. */
static inline void tc__model_hex128(char *buf, XXH128_hash_t h)
{
    snprintf(buf, TC_FINGERPRINT_LEN + 1, "%016llx%016llx",
             (unsigned long long)h.high64, (unsigned long long)h.low64);
}

#endif
