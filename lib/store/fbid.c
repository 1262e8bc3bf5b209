/*
 * fbid.c - what a feedback id is, in one place for the stores that key
 * records by it and the feedback layer that checks a caller's: 1 to
 * TC__FB_ID_LEN bytes of [A-Za-z0-9._:-]. The set is safe in a Redis key,
 * an LMDB key, a JSON string, a file name and a shell word, so an id
 * needs no escaping anywhere it goes.
 */
#include <string.h>

#include "store/fbstore.h"

int tc__fb_id_valid(const char *s)
{
    size_t n;

    if (!s) {
        return 0;
    }
    for (n = 0; s[n]; n++) {
        char c = s[n];

        if (n == TC__FB_ID_LEN ||
            !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-')) {
            return 0;
        }
    }
    return n > 0;
}
