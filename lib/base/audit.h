/*
 * audit.h - the audit trail: one JSON line per state-changing operation
 * (and per read when asked), appended to a file the host names
 * (config "audit_log", TUTORCACHE_AUDIT_LOG, tc_options.audit_log).
 */
#ifndef TC_AUDIT_H
#define TC_AUDIT_H

#include <stdint.h>

#include "base/internal.h"

typedef struct tc__audit tc__audit;

/* The longest actor kept, in bytes; a longer one is cut. */
#define TC__AUDIT_ACTOR_MAX 128

/*
 * Opens (creates, mode 0600) path for appending. reads: whether reads are
 * audited too (tc__audit_reads). Returns TC_OK; TC_EIO (err names the
 * path and why); TC_ENOMEM.
 */
int tc__audit_open(tc__audit **out, const char *path, int reads,
                   const tc__logger *lg, tc__err *err);
void tc__audit_close(tc__audit *a);

/* Whether reads are audited (0 for a NULL trail). */
int tc__audit_reads(const tc__audit *a);

/*
 * One operation. Every field but op may be NULL (left out); count < 0 is
 * left out. key is what names the entry without revealing it: the hashed
 * L2 key, a record's id, a model's fingerprint. Never a value or a text.
 */
typedef struct tc__audit_ev {
    const char *op;
    const char *ns;
    const char *key;
    const char *detail; /* a filter or a note, never a caller's text */
    int64_t count;
    int outcome; /* TC_OK, TC_MISS or a TC_E* code */
} tc__audit_ev;

/*
 * Appends the event's line, with time, the calling thread's actor and the
 * outcome's name, in one write(2): lines of concurrent writers (threads or
 * processes) never interleave. Reopens the file first when
 * tc__audit_reopen ran since the last line. A failed write is logged
 * (rate-limited) and otherwise ignored: the operation already happened.
 * A NULL trail does nothing. Thread safety: any thread.
 */
void tc__audit_write(tc__audit *a, const tc__audit_ev *ev);

/* The calling thread's actor for the lines that follow; NULL clears it. */
void tc__audit_actor(const char *actor);

/* Marks every open trail to be reopened before its next line (logrotate);
 * async-signal-safe: one atomic increment. */
void tc__audit_reopen(void);

#endif /* TC_AUDIT_H */
