/*
 * exec_backend.h - `--backend exec:COMMAND`: a long-lived child process
 * that answers one JSON request per line with one JSON result per line,
 * wrapped as a tc_classifier_fn so that its answers are cached like the
 * built-in model's.
 */
#ifndef TC_CLI_EXEC_BACKEND_H
#define TC_CLI_EXEC_BACKEND_H

#include <stddef.h>

#include "tutorcache.h"

typedef struct exec_backend exec_backend;

/* The default time a request may wait for its answer. */
#define EXEC_BACKEND_TIMEOUT_MS 5000

/*
 * Starts `/bin/sh -c COMMAND` with pipes on its stdin and stdout (its
 * stderr is ours) and ignores SIGPIPE in this process, so that a child
 * that died is seen as a failed write rather than killing us.
 * timeout_ms: how long one request may wait for its answer (> 0).
 * Returns 0, or -1 with a message in errbuf.
 */
int exec_backend_open(exec_backend **out, const char *command, int timeout_ms,
                      char *errbuf, size_t errlen);

/*
 * Closes the child's stdin, gives it a moment to exit, then kills its
 * process group, and reaps it. NULL is accepted.
 */
void exec_backend_close(exec_backend *b);

/*
 * The tc_classifier_fn: sends {"text": TEXT} and returns the child's
 * answer, checked to be a JSON object with a non-empty "intent" string and
 * a "confidence" in 0..1 (and, when present, a "top" array of
 * {"label","score"}). A child that exited is restarted once and asked
 * again; one that does not answer within the timeout is killed (and
 * restarted by the next request); a malformed answer fails that request
 * only. Returns TC_OK, or TC_EPROTO, TC_ETIMEOUT, TC_EIO, TC_ENOMEM, with
 * the reason kept for exec_backend_error().
 * Thread safety: any thread; the exchanges are serialized.
 */
int exec_backend_classify(char **json, const char *text, size_t len,
                          void *userdata);

/*
 * Why the last failed request for TEXT (the text the library passed, that
 * is the normalized text) failed, copied into buf; "" when none is known.
 * Failures are remembered from the last exec_backend_forget() on, so that
 * the per-text reasons of a tc_classify_batch() can be told apart.
 */
void exec_backend_error(exec_backend *b, const char *text, size_t len,
                        char *buf, size_t n);
void exec_backend_forget(exec_backend *b);

/* Times the child was started (1 after the first request). */
unsigned exec_backend_starts(exec_backend *b);

/* The COMMAND of a --backend argument "exec:COMMAND", or NULL when the
 * argument is not of that form. */
const char *exec_backend_command(const char *arg);

/* The longest backend version a cache key carries, in bytes. */
#define EXEC_BACKEND_VERSION_MAX 100

/*
 * The version a backend's answers are cached under: "exec:COMMAND", or for
 * a command too long for that its first bytes and a hash of the whole, so
 * that two commands never share entries and every caller (classify, the
 * benchmarks) names one command the same way.  n >= EXEC_BACKEND_VERSION_MAX
 * + 1.
 */
void exec_backend_version(char *buf, size_t n, const char *command);

#endif /* TC_CLI_EXEC_BACKEND_H */
