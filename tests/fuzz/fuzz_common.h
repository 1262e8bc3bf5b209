/*
 * fuzz_common.h - what the libFuzzer harnesses of tests/fuzz/ share: a
 * property check that reports what broke and aborts (libFuzzer then keeps
 * the input as a crash, as it does for a sanitizer's report), inputs as
 * NUL-terminated copies, and files in memory for the parsers that read
 * a path.
 */
#ifndef TC_FUZZ_COMMON_H
#define TC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer calls with each input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails the run when cond is false, saying which property broke. */
#define FZ_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                   \
        }                                                                      \
    } while (0)

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* data[0..size) followed by a NUL byte, from malloc (free it); aborts
 * when out of memory, which a harness cannot tell from a finding. */
char *fz_strdup(const uint8_t *data, size_t size);

/*
 * A path whose file holds exactly data[0..size): one memfd per process,
 * rewritten on each call, named /proc/self/fd/N so that code that opens
 * a path reads it without touching a disk.
 */
const char *fz_memfile(const uint8_t *data, size_t size);

/* A handle on the memory: store (environment and config file ignored),
 * opened on the first call and kept for the process. */
struct tc_cache;
struct tc_cache *fz_memory_cache(void);

/* A private directory for files that must have a name of their own
 * (under /dev/shm when it is writable, else $TMPDIR or /tmp), made on
 * the first call and removed with its files at exit, or by a later run
 * when this one ends in a failure. */
const char *fz_tmpdir(void);

#endif
