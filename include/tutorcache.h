/*
 * tutorcache.h - the public API of libtutorcache.
 *
 * This header is the whole API: nothing declared outside it is stable or
 * supported, and no hiredis, LMDB or cJSON type appears in it.
 *
 * Overview
 * --------
 * libtutorcache caches the results of machine-learning calls in two tiers:
 * an in-process L1 (sharded, bounded by bytes, TTL-aware) and a shared L2
 * chosen by one URL:
 *
 *   redis://[user:password@]host[:port][/db]   a Redis server
 *   unix:///path/to/redis.sock[?db=N]          a Redis server on a socket
 *   redis-cluster://[user:password@]host:port[,host:port...][?read_from=
 *     master|replica]                          a Redis Cluster: keys routed
 *     by slot ({hash tags} honoured), one pool and breaker per master,
 *     redirects and failovers followed; replica reads may be stale; no
 *     feedback (TC_EINVAL)
 *   rediss://... and rediss-cluster://...     the same over TLS (OpenSSL):
 *     the server's certificate verified against ?tls_ca=FILE (else the
 *     system's CAs) and for the URL's host or ?tls_server_name=NAME;
 *     ?tls_cert=FILE&tls_key=FILE a client certificate; ?tls_insecure=1
 *     no verification (logged as a warning). Also from the config file
 *     (tls_ca, ...) and TUTORCACHE_TLS_CA, _CERT, _KEY, _SERVER_NAME,
 *     _INSECURE, for a URL that names none. A certificate refused fails
 *     tc_cache_open with TC_ETLS saying why (unknown CA, certificate
 *     expired, name mismatch); the handshake counts against the connect
 *     timeout.
 *   redis://, unix:// or redis-cluster:// with ?tracking=off (or
 *     &tracking=off): L1 not kept coherent across processes (see
 *     Coherence below)
 *   lmdb:///path/to/dir                        an embedded LMDB environment
 *   memory:                                    L1 only
 *
 * Both Redis forms take ?db=N&user=U&password=P (percent-encoded). The user
 * info ends at the URL's last '@', so a password may hold '/', ':' and '@'
 * as they are; a query value may not hold '@' or '&' (write %40, %26).
 * Messages about a bad URL name the part at fault and quote none of its
 * text, and the URL is shown (config JSON, logs) with every password as ***.
 *
 * Coherence: on Redis 6 or later (redis://, unix:// and redis-cluster://),
 * each handle keeps one more connection
 * and a thread that hear, through Redis' client-side caching (broadcast
 * tracking of the namespaces' prefixes, RESP2 redirect mode), every write
 * any client makes under them; the L1 copies those writes replace are
 * dropped, so a set, delete, namespace invalidation or feedback
 * correction made by another process is served here within milliseconds
 * (about one network round trip), instead of after the L1 TTL. What is
 * guaranteed, and when the L1 TTL is the bound again:
 *  - no race between an L1 fill and a write's invalidation leaves an
 *    old value in L1, whatever the order in which the two connections'
 *    messages arrive: a fill read from Redis before a write is checked
 *    against Redis (one GET, on the tracking thread; dropped when it
 *    differs or the GET fails) when that write's invalidation came after
 *    it, and when the invalidation came first it is served to no one
 *    until one more GET (on the filling call) finds Redis holds it;
 *  - this process's own writes stay in its L1: each is stored there
 *    before it is sent, and the invalidation that comes back for it is
 *    checked the same way, keeping the copy while Redis holds that value;
 *    it leaves L1 only when another process wrote the key meanwhile,
 *    when Redis could not be read for the check, or when this process
 *    wrote the key twice in quick succession and the check of the first
 *    write read Redis before the second ran (then the next read comes
 *    from L2);
 *  - when the tracking connection is lost (closed, killed, or a PING
 *    unanswered for 1 s), every L1 entry is dropped as soon as the loss
 *    is seen, and again when it is back, since the writes made meanwhile
 *    were not heard; a loss that is silent is seen within 2 s;
 *  - on a Redis Cluster, each node that reads go to (the masters, or the
 *    replicas read with ?read_from=replica) has its own such connection
 *    and thread, and the loss of any one drops every L1 entry as above; a
 *    node that starts serving reads (a replica promoted by a failover, a
 *    MOVED to a new master, a node added) drops every L1 entry as soon as
 *    the slot map names it and again once its connection listens;
 *  - while it is down (Redis unreachable: then the degraded cap of 5 s
 *    applies too), on Redis older than 6, for a user not allowed CLIENT
 *    or SUBSCRIBE (logged once as l1_tracking_unavailable), or with
 *    ?tracking=off in the URL, L1 copies are bound by the L1 TTL alone
 *    (60 s by default), as without coherence.
 * The L1 TTL stays in force with coherence on: it is the bound when
 * tracking is not there.
 *
 * Entries live in namespaces. Each namespace has a key prefix, a TTL and an
 * optional L1 TTL; the defaults are ml_model_predictions, student_profiles,
 * adaptive_paths, diagnostic_results and intents, and a JSON config file may
 * add or change them. An unknown namespace is an error (TC_ENONS).
 *
 * Lifecycle: fill a tc_options with tc_options_init(), set what you need,
 * call tc_cache_open(), share the handle among all threads of the process,
 * and release it with tc_cache_close() once no other call is running.
 *
 * Ownership: what a call returns through an out-parameter (`**out`) belongs
 * to the caller and is released with the matching free function (tc_free()
 * for bytes and strings). A returned `const char *` is borrowed and stays
 * valid until the event named in the function's comment. Inputs are copied
 * when the library keeps them. Every free function accepts NULL.
 *
 * Threads: every tc_cache_* call may run on any thread concurrently with
 * any other, except tc_cache_open() and tc_cache_close(). The library
 * keeps a few bytes of thread-local state in the initial-exec model (a
 * thread's counter stripe, read on every hit without a call): a program
 * that loads libtutorcache.so with dlopen() draws them from the C
 * library's spare static TLS, which glibc reserves for this.
 *
 * Errors: functions return TC_OK (0), a positive outcome that is not an
 * error (TC_MISS), or a negative TC_E* code. Out-parameters are set to
 * NULL/0 on entry, so a failed call never leaves a stale value. One error
 * channel serves every call: tc_errmsg() is the calling thread's detail
 * of its last call into the library ("" when it succeeded), such as
 * "REDIS_PORT: 99999 is not a port" or "data.jsonl:17: intent: not a
 * string". Every call that can fail clears it on entry, so read it
 * before the next; the calls that cannot fail (tc_version, tc_strerror,
 * tc_error_name, tc_errmsg, tc_malloc, tc_free and the other free
 * functions, the *_name and *_init calls) leave it alone, so that
 * fprintf(stderr, "%s: %s\n", tc_strerror(rc), tc_errmsg()) prints it.
 *
 * Changes in 0.2.0: tc_errmsg() replaces tc_cache_errmsg(h), and
 * tc_cache_open() and the tc_model_* calls lost their errbuf/errlen
 * parameters: their detail is in tc_errmsg() like every other call's.
 * Feedback ids are derived from a record's content (or given, in
 * tc_feedback.id), up to 64 characters (TC_FEEDBACK_ID_MAX is 65), and
 * tc_feedback_submit's spooled became outcome, which also tells a
 * duplicate; tc_import_report gained duplicates.
 */
#ifndef TUTORCACHE_H
#define TUTORCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TC_API
#elif defined(__GNUC__)
#define TC_API __attribute__((visibility("default")))
#else
#define TC_API
#endif

#define TC_VERSION_MAJOR 0
#define TC_VERSION_MINOR 2
#define TC_VERSION_PATCH 0

/*
 * tc_version - the library's version as "MAJOR.MINOR.PATCH".
 * Ownership: static string. Thread safety: any thread.
 */
TC_API const char *tc_version(void);

/* ---------------------------------------------------------------------
 * Return codes
 *
 * One table: name, value, message. It generates the enum, tc_strerror()
 * and tc_error_name(). Codes are stable once released.
 */
#define TC_ERRNO_MAP(X)                                                        \
    X(OK, 0, "success")                                                        \
    X(MISS, 1, "no entry for that key")                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(ENONS, -3, "unknown namespace")                                          \
    X(ECONFIG, -4, "invalid configuration")                                    \
    X(ETIMEOUT, -5, "operation timed out")                                     \
    X(EUNAVAIL, -6, "store unreachable")                                       \
    X(EAUTH, -7, "authentication failed")                                      \
    X(EPROTO, -8, "unexpected reply from the store")                           \
    X(EIO, -9, "input/output error")                                           \
    X(EFULL, -10, "store is full")                                             \
    X(ETOOBIG, -11, "value or key too large")                                  \
    X(ELOADER, -12, "loader failed")                                           \
    X(ECORRUPT, -13, "damaged data")                                           \
    X(EINTERNAL, -14, "internal error")                                        \
    X(ERANGE, -15, "value out of range")                                       \
    X(ETLS, -16, "TLS to the store failed")

typedef enum tc_status {
#define TC__ENUM(name, value, msg) TC_##name = value,
    TC_ERRNO_MAP(TC__ENUM)
#undef TC__ENUM
        TC__STATUS_END_ = -16
} tc_status;

/*
 * tc_strerror - a one-line English message for a return code.
 * tc_error_name - the code's name, such as "TC_ETIMEOUT"; "TC_UNKNOWN"
 * for a value not in the table.
 * Ownership: static strings. Thread safety: any thread.
 */
TC_API const char *tc_strerror(int code);
TC_API const char *tc_error_name(int code);

/*
 * tc_errmsg - the detail of this thread's last call into the library,
 * such as "GET tc:intent:3f...: timed out after 250 ms"; "" when that
 * call succeeded. Every call that can fail clears it on entry.
 * Ownership: borrowed until this thread's next call into the library.
 * Thread safety: any thread; each thread sees its own message.
 */
TC_API const char *tc_errmsg(void);

/* ---------------------------------------------------------------------
 * Memory
 */

/*
 * tc_set_allocator - route every allocation of the library (and of the
 * cJSON calls it makes) through the given functions. Call it before any
 * other call, or never; pass NULLs to restore the C library's functions.
 * Used by tests to inject failures: every path then returns TC_ENOMEM.
 * hiredis 0.14 and LMDB have no allocator hook, so their own buffers
 * (connections, replies, environments, transactions) still use malloc.
 * Thread safety: not thread-safe; call it while no other call runs.
 */
typedef void *(*tc_malloc_fn)(size_t size);
typedef void *(*tc_realloc_fn)(void *ptr, size_t size);
typedef void (*tc_free_fn)(void *ptr);
TC_API void tc_set_allocator(tc_malloc_fn m, tc_realloc_fn r, tc_free_fn f);

/*
 * tc_malloc / tc_free - allocate and release through the library's
 * allocator. Values the library returns are released with tc_free();
 * values a loader hands to the library are allocated with tc_malloc().
 * tc_free(NULL) does nothing. Thread safety: any thread.
 */
TC_API void *tc_malloc(size_t size);
TC_API void tc_free(void *ptr);

/* ---------------------------------------------------------------------
 * Logs
 *
 * The library is silent unless a log callback is set. Each call receives
 * one complete JSON object (no trailing newline), for example
 *   {"time":"2026-11-21T14:03:05.120Z","level":"warn",
 *    "event":"l2_unavailable","store":"redis://127.0.0.1:6379",
 *    "error":"TC_EUNAVAIL","detail":"connect: Connection refused"}
 * Repeats of one event are rate-limited (at most one per 10 s, the next
 * line saying how many were suppressed). Passwords never appear in logs,
 * nor a caller's text unless tc_options.log_texts is set; keys appear as
 * their hashed L2 form. Events: debug cache_get, cache_set (namespace,
 * key, tier, result, latency_us) and classify (also source, intent);
 * info cache_invalidate; warn l2_error, l2_unavailable, l2_denied (an ACL
 * refused a command: the server stays up), l2_breaker_open;
 * info l2_recovered; feedback_* for feedback.
 */
typedef enum tc_log_level {
    TC_LOG_DEBUG = 0,
    TC_LOG_INFO = 1,
    TC_LOG_WARN = 2,
    TC_LOG_ERROR = 3,
    TC_LOG_OFF = 4
} tc_log_level;

/*
 * tc_log_fn - receives one log line. `json` is borrowed for the duration
 * of the call. Called from whichever thread logs, possibly concurrently.
 */
typedef void (*tc_log_fn)(void *userdata, tc_log_level level, const char *json);

/* ---------------------------------------------------------------------
 * Options
 *
 * A versioned struct: tc_options_init() fills every field with "unset",
 * and the library reads only the fields that existed in the version the
 * caller was compiled against. Unset fields take their value from the
 * environment, then the JSON config file, then the built-in default.
 */
#define TC_OPTIONS_VERSION 2 /* 2: feedback_store, audit_*, password_file */

/* flags */
#define TC_OPT_NO_ENV 0x1     /* ignore the environment variables */
#define TC_OPT_NO_CONFIG 0x2  /* ignore TUTORCACHE_CONFIG and config_path */
#define TC_OPT_NO_METRICS 0x4 /* count nothing for tc_metrics_render */

typedef struct tc_options {
    unsigned version;        /* TC_OPTIONS_VERSION; set by tc_options_init */
    unsigned flags;          /* TC_OPT_* */
    const char *store_url;   /* NULL: TUTORCACHE_URL, REDIS_HOST..., file */
    const char *config_path; /* NULL: TUTORCACHE_CONFIG, or no file */
    int connect_timeout_ms;  /* <= 0: default 250 (see below) */
    int command_timeout_ms;  /* <= 0: default 250 (see below) */
    int pool_size;           /* Redis connections; <= 0: default 8 */
    size_t l1_max_bytes;     /* 0: default 64 MiB; a value is not kept in
                                L1 when it needs over 1/8 of a shard, so a
                                budget of 1 byte turns L1 off */
    int enable_caching;      /* -1 unset, 0 off (ENABLE_CACHING=false), 1 on */
    int64_t intents_ttl_ms;  /* <= 0: CACHE_TTL (seconds), else 1 h */
    size_t lmdb_map_bytes;   /* 0: default 1 GiB */
    tc_log_fn log_fn;        /* NULL: silent */
    void *log_userdata;
    tc_log_level log_level; /* default TC_LOG_WARN */
    int log_texts;          /* 1: debug lines of classify carry the text;
                               0 (default): never a caller's text */
    /* Version 2. The store of feedback (records, corrections' overrides,
     * the ids seen, the retraining queue) when it should not share the
     * cache's: a Redis server that never evicts (noeviction or
     * volatile-*), a cluster or an LMDB directory, as a store URL. NULL:
     * TUTORCACHE_FEEDBACK_STORE, the config file's feedback_store, else
     * the cache's own store. */
    const char *feedback_store;
    const char *audit_log;     /* NULL: TUTORCACHE_AUDIT_LOG, config
                                  "audit_log", or no audit trail */
    int audit_reads;           /* -1 unset, 0 off (default), 1: reads too */
    const char *password_file; /* NULL: TUTORCACHE_PASSWORD_FILE, config
                                "password_file", or none: a file (mode
                                0600 or stricter, one line) whose content
                                is the Redis password, replacing one in
                                the URL or REDIS_PASSWORD */
} tc_options;

/*
 * Timeouts: one call has one deadline, the larger of the two timeouts
 * from its first round trip, whatever it needs on the way: a connect
 * (itself bounded by the connect timeout), AUTH and SELECT, the
 * namespace's generation and the key (read in one round trip), the
 * override, lookup and store of a classification. So a call returns
 * within about its timeout plus the wait for a free pooled connection
 * (at most the command timeout), and tc_cache_open within its timeout.
 * A server that timed out on a handle's first call (the open's ping)
 * is taken as down at once: later calls answer degraded without waiting
 * until the breaker's first probe, 100 ms on. tc_cache_mget and
 * tc_cache_mset have one deadline per call; tc_classify_batch one per
 * batch it sends to the store (its lookups, its stores). A
 * host name is resolved by getaddrinfo(), which no timeout bounds: use
 * an address where that matters.
 *
 * A Redis user whose ACL denies a command or key gets TC_EAUTH with
 * "permission denied for <command> on <key prefix>" (tc_cache_del, and
 * in the logs and the l2_errors count of the calls that degrade).
 */

/*
 * tc_options_init - set every field of *opt to "unset" and `version` to
 * TC_OPTIONS_VERSION. opt must not be NULL.
 * Thread safety: any thread.
 */
TC_API void tc_options_init(tc_options *opt);

/* ---------------------------------------------------------------------
 * The cache handle
 */
typedef struct tc_cache tc_cache;

/*
 * tc_cache_open - resolve the configuration (options > environment >
 * config file > defaults), connect to the L2 and return a handle.
 *
 * out: receives the handle; set to NULL on entry; must not be NULL.
 * opt: options, or NULL for all defaults.
 * On failure tc_errmsg() names the field or resource at fault
 * ("REDIS_PORT: 99999 is not a port").
 *
 * A Redis server that is down at open time is not an error: the handle
 * opens degraded and uses the server when it comes up. An LMDB directory
 * that cannot be created or opened is an error.
 *
 * Encryption at rest and keyed keys (README "Encryption at rest"): with
 * a key file (config "encryption_key_file" or
 * TUTORCACHE_ENCRYPTION_KEY_FILE; 32 bytes, or 64 hex digits) every value
 * the handle writes to the L2 and every feedback record is sealed with
 * XChaCha20-Poly1305, bound to its store key; the files of
 * "encryption_old_key_files" (TUTORCACHE_ENCRYPTION_OLD_KEY_FILES, names
 * separated by ':') still open what they sealed. A value that does not
 * open is a miss (tutorcache_l2_decrypt_failures_total), never an error
 * (a handle without a key file opens nothing: it reads values as stored,
 * sealed bytes included);
 * L1 holds plaintext in this process's memory. With "key_secret_file"
 * (TUTORCACHE_KEY_SECRET_FILE) keys and feedback ids are keyed BLAKE2b
 * instead of XXH3, of the same form. The files are read once, here: one
 * that group or others may read is TC_ECONFIG, and so is one that holds
 * no key.
 *
 * Returns TC_OK; TC_ECONFIG for a bad value or key file; TC_EIO for an
 * LMDB directory that cannot be used; TC_EAUTH for a password refused;
 * TC_ETLS for a TLS server whose certificate is refused, or TLS files that
 * cannot be used; TC_ENOMEM.
 * Ownership: the handle is the caller's, released with tc_cache_close().
 * Thread safety: any thread; the handle may then be shared.
 */
TC_API int tc_cache_open(tc_cache **out, const tc_options *opt);

/*
 * tc_cache_close - release the handle and everything it holds. NULL is
 * accepted. Thread safety: no other call on h may be running or follow.
 */
TC_API void tc_cache_close(tc_cache *h);

/* Which tier answered a get. */
typedef enum tc_tier {
    TC_TIER_NONE = 0, /* a miss */
    TC_TIER_L1 = 1,
    TC_TIER_L2 = 2,
    TC_TIER_LOADER = 3
} tc_tier;

/* tc_tier_name - "miss", "l1", "l2", "loader". Static string. */
TC_API const char *tc_tier_name(tc_tier tier);

/* Use the namespace's TTL. */
#define TC_TTL_DEFAULT 0

/*
 * tc_cache_get - look a key up in L1, then L2. An L2 answer fills L1 with
 * the L2 entry's remaining TTL (capped by the namespace's L1 TTL).
 *
 * val/len: receive a copy of the value and its length; set to NULL/0 on
 *   entry; must not be NULL. The copy has a NUL byte after its last byte,
 *   not counted in len, so text values can be used as C strings.
 * tier: may be NULL; receives the tier that answered (TC_TIER_NONE on a
 *   miss).
 * ns: a namespace name; key/keylen: any bytes (they are hashed).
 *
 * An L2 failure never fails a get: it is counted, logged, and the answer
 * comes from L1 or is a miss. While the L2 is unreachable, L1 serves only
 * entries stored within the degraded cap (5 s; config "degraded_ttl_ms"),
 * since no other process's change can reach this one; when the L2
 * answers again, it is used again with no action from the caller.
 *
 * Returns TC_OK; TC_MISS; TC_ENONS; TC_EINVAL; TC_ENOMEM.
 * Ownership: *val is the caller's; release it with tc_free().
 * Thread safety: any thread.
 * Cost: an L1 hit resolves the name, hashes the key and allocates the
 * copy: about 915 instructions for a 200-byte value, the caller's
 * tc_free() included; tc_cache_get_ns()
 * and tc_cache_get_into() below are the cheaper reads.
 */
TC_API int tc_cache_get(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                        const char *ns, const void *key, size_t keylen);

/*
 * tc_ns - a namespace resolved once. A call given a tc_ns instead of a
 * name skips the lookup of the name: on the hot path of a service, find
 * the handle when it starts and keep it.
 */
typedef struct tc_ns tc_ns;

/*
 * tc_ns_find - the handle of the namespace called name.
 *
 * out: receives the handle; set to NULL on entry; must not be NULL.
 * Returns TC_OK; TC_ENONS (no such namespace); TC_EINVAL (a NULL
 * argument).
 * Ownership: the handle belongs to h and stays valid until
 * tc_cache_close(h), through invalidations; there is nothing to free.
 * Thread safety: any thread; the handle may be shared by threads.
 */
TC_API int tc_ns_find(tc_ns **out, tc_cache *h, const char *name);

/*
 * tc_cache_get_ns - tc_cache_get() with a namespace handle: the same
 * answer, without resolving the name.
 *
 * ns: from tc_ns_find() on this h; another cache's is TC_EINVAL.
 * Returns as tc_cache_get(). Ownership: as tc_cache_get().
 * Thread safety: any thread.
 * Cost: an L1 hit hashes the key once (XXH3-128), takes no lock (readers
 * never wait for each other, only for a write to the same L1 shard) and
 * copies the value into one allocation the caller frees: about 820
 * instructions for a 200-byte value, against 915 for tc_cache_get()
 * (the caller's tc_free() included in both; BENCHMARKS.md "Hot paths in
 * instructions").
 */
TC_API int tc_cache_get_ns(void **val, size_t *len, tc_tier *tier, tc_cache *h,
                           tc_ns *ns, const void *key, size_t keylen);

/*
 * tc_cache_get_into - tc_cache_get_ns() into the caller's buffer: the
 * cheapest read, with no allocation on an L1 hit.
 *
 * buf/cap: receives the value and a NUL after its last byte, so it needs
 *   cap >= length + 1; buf may be NULL when cap is 0 (to ask the length).
 * len: receives the value's length; set to 0 on entry; must not be NULL.
 *   With TC_ETOOBIG it is the length the value needs (cap must exceed
 *   it); nothing is written to buf then, and the entry stays cached, so
 *   a second call with a larger buffer is an L1 hit.
 * tier: may be NULL; as tc_cache_get().
 *
 * Returns TC_OK; TC_MISS; TC_ETOOBIG (buf too small); TC_EINVAL (a NULL
 * argument, another cache's ns); TC_ENOMEM (an L2 answer).
 * Ownership: buf is the caller's; nothing is retained.
 * Thread safety: any thread.
 * Cost: an L1 hit is one XXH3-128 of the key, two atomic additions on
 * its L1 shard's reader count (striped by thread: eight threads count
 * on eight cache lines), the copy and a striped counter: no string
 * comparison, no allocation, no lock; about 490 instructions for a
 * 200-byte value (BENCHMARKS.md "Hot paths in instructions"). An L2
 * answer costs what tc_cache_get() does plus one copy.
 */
TC_API int tc_cache_get_into(void *buf, size_t cap, size_t *len, tc_tier *tier,
                             tc_cache *h, tc_ns *ns, const void *key,
                             size_t keylen);

/*
 * tc_cache_set - store a value in L2, then L1.
 *
 * ttl_ms: the entry's TTL in milliseconds, or TC_TTL_DEFAULT for the
 *   namespace's; negative is TC_EINVAL.
 *
 * When the L2 cannot take the value (unreachable, full: Redis' maxmemory
 * under noeviction or an LMDB map, or refusing its size), the value is
 * kept in L1 only, for at most the degraded cap (5 s), the failure is
 * counted (tutorcache_l2_write_errors_total{reason}) and logged at most
 * once per interval, and the call still returns TC_OK: a cache write
 * never fails the caller for the store's sake.
 *
 * Returns TC_OK; TC_ENONS; TC_EINVAL; TC_ETOOBIG (over 512 MiB);
 * TC_ENOMEM.
 * Ownership: val is copied. Thread safety: any thread.
 */
TC_API int tc_cache_set(tc_cache *h, const char *ns, const void *key,
                        size_t keylen, const void *val, size_t len,
                        int64_t ttl_ms);

/*
 * tc_cache_del - remove a key from L1 and L2.
 * Returns TC_OK (something was removed), TC_MISS (nothing was there),
 * TC_ENONS, TC_EUNAVAIL or TC_ETIMEOUT (the L2 could not be reached: the
 * L1 copy is gone, the L2 copy may remain), TC_EAUTH (the server's ACL
 * denies the DEL: "permission denied for DEL on tc:<prefix>:").
 * Thread safety: any thread.
 */
TC_API int tc_cache_del(tc_cache *h, const char *ns, const void *key,
                        size_t keylen);

/*
 * tc_loader_fn - computes a value on a miss. On success it returns TC_OK
 * and sets *val and *len to a buffer allocated with tc_malloc(), which the
 * library then owns, and may set *ttl_ms (left at TC_TTL_DEFAULT for the
 * namespace's). Any other return is passed to the caller as TC_ELOADER,
 * nothing is cached, and a buffer left in *val is freed by the library.
 * Runs on the calling thread.
 */
typedef int (*tc_loader_fn)(void **val, size_t *len, int64_t *ttl_ms,
                            const char *ns, const void *key, size_t keylen,
                            void *userdata);

/*
 * tc_cache_get_or_load - tc_cache_get(), and on a miss run the loader,
 * store its value (as tc_cache_set) and return it. Concurrent misses on
 * one key within the process run the loader once: the other callers wait
 * for its result and report TC_TIER_LOADER too.
 *
 * Returns TC_OK; TC_ELOADER (the loader failed; the message says its
 * code); TC_ENONS; TC_EINVAL; TC_ENOMEM.
 * Ownership: as tc_cache_get(). Thread safety: any thread; the loader may
 * call the cache itself, but not get_or_load on the same key.
 */
TC_API int tc_cache_get_or_load(void **val, size_t *len, tc_tier *tier,
                                tc_cache *h, const char *ns, const void *key,
                                size_t keylen, tc_loader_fn loader,
                                void *userdata);

/*
 * One key of a batched call. The caller fills key/keylen (and, for mset,
 * val/len/ttl_ms); the library fills the rest.
 */
typedef struct tc_item {
    const void *key;
    size_t keylen;
    void *val;      /* mget: out, the caller's, tc_free(); mset: in */
    size_t len;     /* mget: out; mset: in */
    int64_t ttl_ms; /* mset: in, TC_TTL_DEFAULT for the namespace's */
    int status;     /* out: TC_OK, TC_MISS or a TC_E* code */
    tc_tier tier;   /* mget: out */
} tc_item;

/*
 * tc_cache_mget - tc_cache_get() for n keys of one namespace, looking up
 * the L1 misses in L2 in one round trip (a Redis pipeline, one LMDB read
 * transaction). Each item's status says its outcome.
 * Returns TC_OK when every item was looked up (hits and misses alike);
 * TC_EINVAL, TC_ENONS, TC_ENOMEM otherwise, with every val NULL.
 * Ownership: each items[i].val is the caller's (tc_free()).
 * Thread safety: any thread.
 */
TC_API int tc_cache_mget(tc_cache *h, const char *ns, tc_item *items, size_t n);

/*
 * tc_cache_mset - tc_cache_set() for n keys of one namespace in one L2
 * round trip. Returns as tc_cache_set(); items[i].status is per item.
 * Ownership: values are copied. Thread safety: any thread.
 */
TC_API int tc_cache_mset(tc_cache *h, const char *ns, tc_item *items, size_t n);

/*
 * tc_cache_invalidate - drop every entry of a namespace, at once for this
 * process and, for other processes sharing the L2, within milliseconds
 * with coherence (see the overview), else within one second.
 * It bumps the namespace's generation (stored in L2 as tc:<prefix>:gen),
 * which is part of every key's hash, so no keyspace scan is needed: the
 * old entries are unreachable and expire by their TTL.
 * Returns TC_OK; TC_ENONS; TC_EUNAVAIL/TC_ETIMEOUT when the L2 could not
 * record the new generation (this process's L1 is dropped all the same).
 * Thread safety: any thread.
 */
TC_API int tc_cache_invalidate(tc_cache *h, const char *ns);

/*
 * tc_cache_key - the L2 key of a key, "tc:<prefix>:<32 hex digits>",
 * written to buf (at least TC_KEY_MAX bytes, NUL-terminated). The digits
 * are XXH3-128's, or keyed BLAKE2b's when a key secret is set.
 * Returns TC_OK; TC_ENONS; TC_EINVAL. Thread safety: any thread.
 */
#define TC_KEY_MAX 80
TC_API int tc_cache_key(char *buf, size_t buflen, tc_cache *h, const char *ns,
                        const void *key, size_t keylen);

/* ---------------------------------------------------------------------
 * Pattern keys
 */

/*
 * tc_key_canonical - canonical key material from a JSON object: keys
 * sorted, no white space, numbers in one form (shortest round-trip), and
 * each field named in `bucket_fields` rounded down to a multiple of the
 * matching `bucket_sizes` entry. {"b":1,"a":37} and {"a":31,"b":1} with
 * bucket 10 on "a" both give {"a":30,"b":1}. A multiple is written with
 * the size's decimals and is its own bucket: by 0.1, 4.35 and 4.3 give
 * 4.3 (not 4.2 or 4.300000000000001), so a canonical form is its own.
 *
 * out: receives a NUL-terminated string; set to NULL on entry.
 * json: the object's text; nbuckets may be 0 (the arrays may then be
 *   NULL). Nested objects are canonicalized too; bucketing applies to
 *   top-level numeric fields.
 * Returns TC_OK; TC_EINVAL (not a JSON object, bad bucket size, a bucket
 *   field that is not a number); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_key_canonical(char **out, const char *json,
                            const char *const *bucket_fields,
                            const double *bucket_sizes, size_t nbuckets);

/* ---------------------------------------------------------------------
 * Health, statistics and configuration
 */

/*
 * tc_cache_ping - round trip to the L2 (PING for Redis, a read
 * transaction for LMDB, nothing for memory:), bypassing the circuit
 * breaker; with a feedback_store, to that store too (the first failure
 * is returned). latency_us: may be NULL; receives the L2's round-trip
 * time.
 * Returns TC_OK; TC_EUNAVAIL; TC_ETIMEOUT; TC_EAUTH.
 * Thread safety: any thread.
 */
TC_API int tc_cache_ping(tc_cache *h, int64_t *latency_us);

/* Counters of one namespace since the handle was opened. */
typedef struct tc_ns_stats {
    uint64_t l1_hits;
    uint64_t l2_hits;
    uint64_t misses; /* answered by neither tier */
    uint64_t loads;  /* loader runs */
    uint64_t sets;
    uint64_t dels;
    uint64_t l2_errors; /* L2 calls that failed (timeouts, refused...) */
    uint64_t degraded;  /* gets or sets answered without the L2 */
} tc_ns_stats;

/*
 * tc_cache_stats - the counters of one namespace.
 * out: must not be NULL; zeroed on entry.
 * Returns TC_OK; TC_ENONS. Thread safety: any thread; counters are read
 * one by one, not as one snapshot.
 */
TC_API int tc_cache_stats(tc_ns_stats *out, tc_cache *h, const char *ns);

/*
 * tc_cache_stats_json - every namespace's counters, L1 bytes and entries,
 * and the L2's state (kind, up, breaker state, reconnects) as one JSON
 * object; and "feedback", where feedback is kept:
 *   {"kind":"redis","store":URL,"separate":false,
 *    "maxmemory_policy":"allkeys-lru","persistence":"none",
 *    "at_risk":["evictable","not_persistent"],"warning":"..."}
 * separate: a feedback_store apart from the L2 (then also its "up" and
 * "breaker"); maxmemory_policy and persistence ("aof", "rdb", "aof+rdb",
 * "none"; "disk" for LMDB) as the server said when the handle opened,
 * "unknown" when it refused both CONFIG and INFO or did not answer;
 * at_risk: "evictable" when the policy is allkeys-* (the server drops
 * keys without a TTL, feedback's, when memory is full), "not_persistent"
 * with neither AOF nor save points; warning, only then: how to avoid the
 * loss. The same once in the log (event feedback_at_risk, warn), and in
 * tc_metrics_render as tutorcache_feedback_at_risk{reason=...}. And
 * "shadow", what the shadow checks of this handle's classifiers counted
 * (tc_classifier_options.shadow_rate): {"checks","agree","disagree",
 * "dropped","failed","disagreement_rate"} (disagree / checks, 0 before
 * any check).
 * Returns TC_OK; TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_cache_stats_json(char **out, tc_cache *h);

/*
 * tc_cache_config_json - the effective configuration (store URL with the
 * password masked as "***" and where it came from, timeouts, sizes, the
 * model file named by TUTORCACHE_MODEL or the config file's "model" (for
 * the CLI; null when none), "auth": whether a password is set ("none",
 * "set", "set (password_file)"; never the password), "password_file",
 * "audit_log" and "audit_reads", namespaces with their prefix, TTL and L1
 * TTL) as one JSON object.
 * Returns TC_OK; TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_cache_config_json(char **out, tc_cache *h);

/*
 * tc_cache_store_kind - "redis", "lmdb" or "memory".
 * Ownership: static string. Thread safety: any thread.
 */
TC_API const char *tc_cache_store_kind(const tc_cache *h);

/* ---------------------------------------------------------------------
 * Metrics
 */

/*
 * tc_metrics_render - the handle's metrics in the Prometheus text
 * exposition format (# HELP and # TYPE for every family):
 * intent_classification_requests_total{status}, the histogram
 * intent_classification_duration_seconds, intent_feedback_submissions_total
 * {type,status}, once a classifier with a candidate answered (A/B)
 * intent_ab_classifications_total{arm}, intent_ab_cache_hits_total{arm},
 * intent_ab_fallbacks_total{arm}, intent_ab_corrections_total{arm} and
 * intent_ab_confirmations_total{arm} (feedback records naming the
 * arm's model; see tc_feedback) and the histogram
 * intent_ab_duration_seconds{arm},
 * intent_feedback_corrections_total{original,correct} (at
 * most 100 pairs; later pairs count as original="other",correct="other"),
 * the shadow checks' intent_cache_shadow_checks_total{outcome="agree"|
 * "disagree"}, intent_cache_shadow_dropped_total,
 * intent_cache_shadow_failures_total and the gauge
 * intent_cache_shadow_disagreement_rate (disagree / checks),
 * tutorcache_cache_requests_total{namespace,tier,result} and the other
 * per-namespace counters, L1 bytes and entries, L2 health. Counters start
 * at zero when the handle opens and count this process only.
 * buf/cap: the caller's buffer; *len receives the text's length without
 * the NUL, or, with TC_ETOOBIG, the length needed.
 * tc_metrics_write writes the same text to out.
 * Returns TC_OK; TC_ETOOBIG; TC_EINVAL; TC_ENOMEM; TC_EIO (write).
 * Thread safety: any thread; counters are read one by one.
 */
TC_API int tc_metrics_render(char *buf, size_t cap, size_t *len, tc_cache *h);
TC_API int tc_metrics_write(tc_cache *h, FILE *out);

/* ---------------------------------------------------------------------
 * Text normalization
 */

/*
 * tc_text_normalize - the normalized form of a text, used for cache keys
 * of classifications and by the built-in classifier's tokenizer. In order:
 * 1. Unicode NFKC with full case folding (utf8proc): fullwidth "A" is
 *    "a", the ligature U+FB01 is "fi", sharp s is "ss", U+00BD (one half)
 *    is "1" U+2044 "2", U+2026 is "...". Accents and other marks stay:
 *    words that an accent tells apart stay apart.
 * 2. Typographic quotes, apostrophes and dashes as ASCII: U+2018 U+2019
 *    U+201A U+201B U+2032 (prime) and the single guillemets U+2039 U+203A
 *    as "'"; U+201C U+201D U+201E U+201F and the guillemets U+00AB U+00BB
 *    as '"'; U+2010 U+2011 U+2012 U+2013 U+2014 U+2015 U+2212 as "-".
 * 3. Leading and trailing white space trimmed, runs of it (any Unicode
 *    White_Space) collapsed to one space.
 * 4. A trailing run of . ! ? , ; : dropped, and a leading run of the
 *    inverted U+00BF and U+00A1, each unless nothing else would be left.
 *    Other punctuation, leading or not ("-5", "(a)", "c++"), stays.
 * Nothing else changes, so no two texts of different meaning share a
 * form, and normalizing a normalized text changes nothing. The form can
 * be longer than the text (NFKC expands some characters). Invalid UTF-8,
 * or a NUL character, is TC_EINVAL.
 * out/outlen: receive a NUL-terminated string and its length; set to
 *   NULL/0 on entry; outlen may be NULL.
 * Returns TC_OK; TC_EINVAL; TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_text_normalize(char **out, size_t *outlen, const char *text,
                             size_t len);

/* ---------------------------------------------------------------------
 * The built-in classifier
 *
 * A linear text classifier over hashed features (words, word n-grams,
 * character n-grams), trained from JSON Lines such as
 *   {"text": "How do I implement a REST API?", "intent": "code_generation",
 *    "complexity": "intermediate", "techniques": ["rest", "http"]}
 * Every string field other than "text" and "id" is a single-label head,
 * every array-of-strings field a multi-label head (labels are trained
 * one-vs-all in both);
 * fields of other types are ignored; "intent" is required on every line.
 * A model is immutable to its readers: tc_model_predict may run on many
 * threads while tc_model_update builds a new version and swaps it in.
 */
typedef struct tc_model tc_model;

/* Called during training, on the thread that called tc_model_train, with
 * the fraction done (0..1) and the recent mean loss. */
typedef void (*tc_progress_fn)(void *userdata, double fraction, double loss);

#define TC_TRAIN_OPTIONS_VERSION 2

typedef struct tc_train_options {
    unsigned version; /* TC_TRAIN_OPTIONS_VERSION, by _init */
    int epochs;       /* <= 0: default 8 */
    double lr;        /* <= 0: default 3.0 */
    int dim;          /* <= 0: default 48 */
    uint32_t buckets; /* hashed feature rows; 0: default 200000 */
    int word_ngrams;  /* longest word n-gram; <= 0: default 2 */
    int minn, maxn;   /* character n-gram lengths; < 0: default 4 and
                         4, 0 off */
    uint64_t seed;    /* 0: default 42 */
    int threads;      /* <= 0: default 1, which gives the same model,
                         byte for byte, on every run; more threads
                         train faster but not reproducibly (they
                         share the weights without locks) */
    tc_progress_fn progress;
    void *progress_userdata;
    /* version 2: */
    const char *oos_label; /* NULL, or the intent that marks examples out
                              of scope: they teach rejection, and a text
                              the model gives that label is answered
                              "unknown" by tc_classify */
} tc_train_options;

/* tc_train_options_init - all defaults. Thread safety: any thread. */
TC_API void tc_train_options_init(tc_train_options *opt);

/*
 * tc_model_train - train a model from JSON Lines in memory (data, len) or
 * in a file (tc_model_train_file; path "-" is not accepted).
 * On failure tc_errmsg() names the line and field at fault
 * ("data.jsonl:17: intent: not a string"). One
 * malformed line fails the whole training: a model silently trained on
 * part of its data would be worse than none. Blank lines are skipped.
 * Returns TC_OK; TC_EINVAL (no examples, a malformed line, bad options);
 * TC_EIO (the file); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_model_free()). Thread safety: any
 * thread; training uses opt->threads threads of its own.
 */
TC_API int tc_model_train(tc_model **out, const char *data, size_t len,
                          const tc_train_options *opt);
TC_API int tc_model_train_file(tc_model **out, const char *path,
                               const tc_train_options *opt);

/*
 * tc_model_save / tc_model_load - a model file: magic, format version,
 * hyper-parameters, head and label tables, weights, checksum. Loading a
 * truncated, damaged or foreign file fails cleanly with TC_ECORRUPT and a
 * message saying what was wrong; it never crashes.
 * Returns TC_OK; TC_EIO; TC_ECORRUPT; TC_ENOMEM.
 * Ownership: *out is the caller's (tc_model_free()). Thread safety: any
 * thread; save may run while other threads predict or update.
 */
TC_API int tc_model_save(const tc_model *m, const char *path);
TC_API int tc_model_load(tc_model **out, const char *path);

/* tc_model_free - release a model; NULL is accepted. No other call on m
 * may be running. */
TC_API void tc_model_free(tc_model *m);

/*
 * tc_model_fingerprint - 32 hex digits identifying the model's current
 * weights (a new version after each update), written to buf (at least 33
 * bytes): the XXH3-128 checksum of the model's file, so a model, its file
 * and any process that loads it or applies the same updates agree. Part
 * of every classification's cache key.
 * Thread safety: any thread.
 */
#define TC_FINGERPRINT_LEN 32
TC_API void tc_model_fingerprint(char *buf, const tc_model *m);

/*
 * tc_model_info_json - heads and labels, hyper-parameters, size in memory
 * and on disk, fingerprint, as one JSON object.
 * Returns TC_OK; TC_ENOMEM. Ownership: *out is the caller's (tc_free()).
 */
TC_API int tc_model_info_json(char **out, const tc_model *m);

/* One label and its probability. */
typedef struct tc_label_score {
    const char *label;
    double score;
} tc_label_score;

/* The top labels of one head, best first. */
typedef struct tc_head_prediction {
    const char *head; /* "intent", "complexity", "techniques", ... */
    int multi_label;  /* 1: scores are independent (one-vs-all) */
    size_t n;         /* labels below */
    const tc_label_score *labels;
} tc_head_prediction;

/* A prediction: read-only to the caller, one allocation. */
typedef struct tc_prediction {
    size_t nheads;
    const tc_head_prediction *heads;          /* heads[0] is "intent" */
    char fingerprint[TC_FINGERPRINT_LEN + 1]; /* of the model version used */
} tc_prediction;

/*
 * tc_model_predict - the top_k labels of every head, best first, each
 * with its probability: every label is scored one-vs-all and the score
 * put through its head's calibrated link (fitted at training on held-out
 * examples, from the score and the share of the text's words the model
 * knows), so a head's probabilities need not sum to 1 and a text of
 * unknown words comes out unsure. A multi-label head lists, beyond its
 * first, only labels with probability >= 0.5. top_k <= 0 means 1 for
 * single-label heads.
 * Returns TC_OK; TC_EINVAL (invalid UTF-8); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_prediction_free()); label strings
 * live as long as *out. Thread safety: any thread, without locks, also
 * while another thread updates the model.
 */
TC_API int tc_model_predict(tc_prediction **out, const tc_model *m,
                            const char *text, size_t len, int top_k);
TC_API void tc_prediction_free(tc_prediction *p);

/*
 * tc_model_update - remember corrections: example_json is one JSON object
 * of the training format ({"text": ..., "intent": ..., other heads}), or
 * several, one per line. The weights do not change. A text afterwards
 * takes a correction's labels when the weights give it the intent they
 * give the corrected text, and it is that text (probability 1) or close
 * to it: the cosine of their words, each weighted by its rarity in the
 * training texts, at least 0.75 (the probability is that cosine, and the
 * other labels of the corrected heads keep at most what is left). So a
 * correction fixes its text and its close paraphrases, and leaves every
 * other answer as it was. Heads absent from a correction are left alone;
 * a later correction of the same text replaces the earlier one. All the
 * examples take effect together in a new version of the model, swapped
 * in atomically: predictions already running finish on the old one. The
 * fingerprint changes. A model holds at most 100000 corrections; train it
 * again with them (see `tutorcache feedback learn`) to fold them into
 * the weights.
 * Returns TC_OK; TC_EINVAL (not JSON, no text, a label the model does not
 * know: nothing changed, the message names the example); TC_EFULL;
 * TC_ENOMEM.
 * Thread safety: any thread; updates are serialized among themselves.
 */
TC_API int tc_model_update(tc_model *m, const char *example_json);

/*
 * tc_model_references_json - the training examples the model keeps as a
 * reference (a seeded sample of at most 2000), as JSON Lines
 * {"text": normalized text, "intent": ...}: what a later check of the
 * model against itself, or a retrained successor, measures on.
 * tc_model_corrections_json - the corrections the model remembers, oldest
 * first, as JSON Lines of the training format (normalized texts).
 * Returns TC_OK; TC_EINVAL; TC_ENOMEM. Ownership: *out is the caller's
 * (tc_free()); "" when there are none. Thread safety: any thread.
 */
TC_API int tc_model_references_json(char **out, const tc_model *m);
TC_API int tc_model_corrections_json(char **out, const tc_model *m);

/* ---------------------------------------------------------------------
 * Classification through the cache
 *
 * text -> normalize -> key (normalized text + model fingerprint + top_k)
 *      -> L1 -> L2 -> model -> stored in the "intents" namespace.
 * The cached value is the model's answer as one JSON object, so other
 * languages can read it; the threshold is applied when a result is
 * returned, so changing it needs no new cache entries.
 */

/*
 * tc_classifier_fn - a host's own model. Given the normalized text, set
 * *json to a tc_malloc'd, NUL-terminated JSON object with at least
 * "intent" (string) and "confidence" (0..1), and optionally "top"
 * ([{"label":..., "score":...}]) and further heads ("complexity":
 * "...", "techniques": [...]), and return TC_OK. Any other return fails
 * that classification with TC_ELOADER. Called on the classifying thread,
 * possibly from many threads at once, and on the classifier's shadow
 * thread when shadow_rate is set.
 */
typedef int (*tc_classifier_fn)(char **json, const char *text, size_t len,
                                void *userdata);

#define TC_CLASSIFIER_OPTIONS_VERSION                                          \
    3 /* 2: candidate_*, split;                                                \
         3: uncounted, shadow_rate */

typedef struct tc_classifier_options {
    unsigned version;    /* TC_CLASSIFIER_OPTIONS_VERSION, by _init */
    tc_model *model;     /* the built-in model (borrowed), or NULL */
    tc_classifier_fn fn; /* or a host callback ... */
    void *fn_userdata;
    const char *fn_version; /* ... and its version (1-127 bytes), part of
                               the key */
    const char *ns;         /* namespace; NULL: "intents" */
    int top_k;              /* labels in "top"; <= 0: 3 */
    double threshold;       /* below it the intent is "unknown"; default 0 */
    /* version 2: an A/B rollout. A candidate model (candidate_model, or
     * candidate_fn with its version) answers the share `split` (0..1) of
     * the traffic, chosen by a hash of the user_id (tc_classify_user) or
     * else of the normalized text, so a user or a text always lands in the
     * same arm. Answers are cached per model (the key holds its identity),
     * and each names its arm. A candidate that fails (not for bad input)
     * is answered by the control model instead, and the error counted.
     * No candidate (the default): no arms, the path of version 1. */
    tc_model *candidate_model;     /* borrowed, or NULL */
    tc_classifier_fn candidate_fn; /* or a host callback ... */
    void *candidate_fn_userdata;
    const char *candidate_fn_version; /* ... and its version (1-127) */
    double split;                     /* the candidate's share, 0..1 */
    /* version 3: 1 leaves this classifier's texts out of popularity
     * tracking (track_popular; tc_popular_top) and its answers out of
     * the answers served (count_intents; tc_classify_counts_json), as
     * warming does: it asks for texts, it does not make them popular
     * nor serve anyone. Default 0. */
    int uncounted;
    /* version 3: shadow checks. The share (0..1; default 0, off) of
     * cache hits (L1 or L2, never a correction's override) whose text is
     * classified again, fresh, on one background thread of the
     * classifier, never on the caller's: an answer that changed under
     * the same model identity (a host model or exec: backend replaced
     * behind one version) is counted (intent_cache_shadow_checks_total
     * {outcome="agree"|"disagree"}), logged at warn as event
     * "shadow_disagree" with the L2 key and both intents (the text only
     * with log_texts), and the cached entry (L1 and L2) replaced by the
     * fresh answer. At most 256 checks wait; a hit sampled beyond that
     * is dropped (intent_cache_shadow_dropped_total). Closing the
     * classifier finishes the checks waiting for at most 2 s and drops
     * the rest. With a host callback, it is called on that thread too. */
    double shadow_rate;
} tc_classifier_options;

/* tc_classifier_options_init - defaults. Thread safety: any thread. */
TC_API void tc_classifier_options_init(tc_classifier_options *opt);

typedef struct tc_classifier tc_classifier;

/*
 * tc_classifier_open - a classifier serving through cache (borrowed; it
 * must outlive the classifier). Exactly one of opt->model and opt->fn.
 * Returns TC_OK; TC_EINVAL (also a threshold, split or shadow_rate not
 * in 0..1, NaN included); TC_ENONS; TC_ENOMEM.
 * Ownership: *out is the caller's (tc_classifier_close(), which joins
 * its shadow thread; the model, callback and cache must outlive it).
 * Thread safety: any thread; the classifier may be shared by all threads.
 */
TC_API int tc_classifier_open(tc_classifier **out, tc_cache *cache,
                              const tc_classifier_options *opt);
TC_API void tc_classifier_close(tc_classifier *c);

/* Where a classification came from. */
typedef enum tc_source {
    TC_SOURCE_L1 = 1,
    TC_SOURCE_L2 = 2,
    TC_SOURCE_MODEL = 3,
    TC_SOURCE_FEEDBACK = 4
} tc_source;

/* A classification: read-only to the caller. */
typedef struct tc_result {
    const char *intent; /* "unknown" below the threshold */
    double confidence;  /* of the model's best intent */
    size_t ntop;
    const tc_label_score *top; /* best first */
    const char *complexity;    /* NULL when the model has no such head */
    size_t ntechniques;
    const char *const *techniques;
    tc_source source;
    const char *model; /* fingerprint or host model version */
    int64_t latency_us;
    const char *json; /* all of the above as one JSON object */
    const char *arm;  /* "control" or "candidate" when the
                         classifier has a candidate (also in
                         json as "arm"), else NULL */
} tc_result;

/*
 * tc_classify - classify one text through the cache. ENABLE_CACHING=false
 * classifies without caching. An L2 failure is never an error here: the
 * model answers. The L2 keeps the answer as JSON; this process's L1
 * keeps the JSON, a NUL and the result decoded, so that a hit parses
 * nothing (about 1,900 instructions): tc_cache_get on the classifier's
 * namespace reads it there as a C string whose len counts both. A hit
 * skips the lookup of the text's correction while this process's L1
 * still remembers that there is none (no correction stored or heard of,
 * no eviction of what it remembers, since), so a correction wins as
 * before: at once in this process, within the coherence bound above in
 * another.
 * Returns TC_OK; TC_EINVAL (invalid UTF-8, empty text); TC_ELOADER (the
 * host callback failed or answered malformed JSON); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_result_free()).
 * Thread safety: any thread.
 */
TC_API int tc_classify(tc_result **out, tc_classifier *c, const char *text,
                       size_t len);

/*
 * tc_classify_user - tc_classify for a user: with a candidate model, the
 * arm is chosen by user_id (NULL: by the text), so that one user always
 * gets the same model. Without a candidate, tc_classify.
 */
TC_API int tc_classify_user(tc_result **out, tc_classifier *c, const char *text,
                            size_t len, const char *user_id);

/*
 * tc_classify_batch - n texts, with the L2 lookups of the L1 misses in one
 * round trip, and the answers the model computed stored in one more (the
 * store's failure, as for tc_classify, fails no text; a text a correction
 * answers is never computed nor stored). out[i] receives each result, or
 * NULL with status[i] set to the error of that text alone (status may be
 * NULL). With a candidate model, each text's arm is chosen by its
 * normalized text.
 * Returns TC_OK when every text was attempted; TC_EINVAL; TC_ENOMEM.
 * Ownership: each out[i] is the caller's. Thread safety: any thread.
 */
TC_API int tc_classify_batch(tc_result **out, int *status, tc_classifier *c,
                             const char *const *texts, const size_t *lens,
                             size_t n);

/* tc_source_name - "l1", "l2", "model", "feedback". Static string. */
TC_API const char *tc_source_name(tc_source source);

/* tc_result_free - NULL is accepted. */
TC_API void tc_result_free(tc_result *r);

/* ---------------------------------------------------------------------
 * Popularity tracking (for cache warming)
 *
 * Off by default, since it stores texts: with "track_popular": true in
 * the config file (or TUTORCACHE_TRACK_POPULAR=true), every
 * classification (hit or miss) of a handle's classifiers counts its
 * normalized text, and the store keeps the "popular_size" (default
 * 10,000; TUTORCACHE_POPULAR_SIZE) most counted texts of all processes:
 * on Redis a sorted set and a hash (tc:{pop}:rank, tc:{pop}:text, one
 * slot on a cluster), on LMDB the database "popular". Counting costs no
 * round trip: a process counts in memory and a thread of the handle
 * adds its counts to the store every second (or sooner, once 1,024
 * distinct texts wait) and when the handle closes; a crash loses at most
 * the last second's counts. With encryption at rest the stored texts
 * are sealed as any stored value; texts are filed under their hashed key
 * (keyed with a key secret). The table is trimmed to popular_size once
 * it holds a quarter more, dropping the least counted. A classifier
 * opened with uncounted (version 3) counts nothing. memory: keeps no
 * table (logged once, popular_unsupported).
 */

/*
 * tc_popular_top - the max (>= 1) most requested normalized texts, most
 * first, with their counts, as the store holds them now (this process's
 * counts not yet sent are not in it: tc_popular_flush first).
 * texts, counts, n: out, NULL/0 on entry; not NULL.
 * Returns TC_OK (*n may be 0); TC_EINVAL; TC_ECONFIG (track_popular is
 * off, or the store is memory:); TC_EUNAVAIL, TC_ETIMEOUT.
 * Ownership: the caller's, released with tc_popular_free. Thread safety:
 * any thread.
 */
TC_API int tc_popular_top(char ***texts, uint64_t **counts, size_t *n,
                          tc_cache *h, size_t max);

/* tc_popular_free - what tc_popular_top gave; NULLs are accepted. */
TC_API void tc_popular_free(char **texts, uint64_t *counts, size_t n);

/*
 * tc_popular_flush - adds this process's counts to the store now.
 * Returns TC_OK (also when tracking is off: nothing to send);
 * TC_EUNAVAIL, TC_ETIMEOUT (the counts sent are lost). Thread safety:
 * any thread.
 */
TC_API int tc_popular_flush(tc_cache *h);

/* ---------------------------------------------------------------------
 * Answers served per intent (for feedback analytics)
 *
 * On by default, since no text is kept ("count_intents": false in the
 * config file, or TUTORCACHE_COUNT_INTENTS=false, turns it off): every
 * answer of a handle's classifiers is counted per UTC day, model
 * identity (the classifier's, as its cache key holds it: the built-in
 * model's fingerprint, or "fn:" and fn_version; not a "model" that a
 * host's JSON answer names, so that a classifier's hits and misses are
 * one model's) and intent answered, as a cache hit (L1 or L2), a miss
 * (the model answered) or a correction's override; and every shadow check
 * (shadow_rate) per day and model, as agree or disagree. Counting costs
 * no round trip and no lock call: a process counts in memory, striped
 * by thread, and a thread of the handle adds its counts to the store
 * that keeps feedback (the feedback_store when one is set) every second
 * and when the handle closes, filed under the UTC day of that flush. On
 * Redis they are one hash (tc:{tally}:served, one slot on a cluster),
 * on LMDB the database "tally"; days older than the feedback retention
 * (30 days by default) are removed by the first flush of each day.
 * memory: keeps them in this process only. A store that cannot be
 * reached keeps the counts in this process, sent by a later flush (up
 * to 65,536 distinct day, model, intent and outcome fields; past that a
 * count is dropped and logged, served_not_counted); a flush that timed
 * out after the server applied it counts twice, and a crash loses at
 * most the last second's counts. Classifiers opened with uncounted
 * (version 3), as warming's, count nothing.
 */

/*
 * tc_classify_counts_json - the answers served and shadow checks
 * counted by every process over the feedback retention window, as the
 * store holds them after this handle's counts are flushed:
 *   {"since":"YYYY-MM-DD","counting":BOOL,
 *    "models":{MODEL:{"classifications":N,"hits":N,"misses":N,
 *                     "feedback":N,
 *                     "intents":{INTENT:{"classifications":N,"hits":N,
 *                                        "misses":N,"feedback":N}},
 *                     "shadow":{"checks":N,"agree":N,"disagree":N,
 *                               "rate":R|null}}},
 *    "intents":{INTENT:{"classifications":N,...}}}
 * "since" is the first UTC day counted; "counting" whether this handle
 * counts (count_intents); classifications = hits + misses + feedback
 * (answers of a correction's override); "intents" sums every model's;
 * a shadow "rate" is disagree / checks, null without checks. The store
 * is read whether this handle counts or not. Costs one round trip or
 * read transaction (two when this handle has counts to send) and a walk
 * of the whole tally (days x models x intents fields).
 * out: NULL on entry; not NULL.
 * Returns TC_OK; TC_EINVAL; TC_EUNAVAIL, TC_ETIMEOUT (the store; the
 * counts not sent stay for a later flush); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free). Thread safety: any thread.
 */
TC_API int tc_classify_counts_json(char **out, tc_cache *h);

/*
 * tc_classify_counts_flush - adds this handle's counts of answers served
 * to the store now (a thread does so every second anyway).
 * Returns TC_OK (also when count_intents is off, or on memory:);
 * TC_EUNAVAIL, TC_ETIMEOUT (the counts stay for a later flush).
 * Thread safety: any thread.
 */
TC_API int tc_classify_counts_flush(tc_cache *h);

/* ---------------------------------------------------------------------
 * Feedback
 *
 * Users' corrections and confirmations of classifications. An accepted
 * record is stored with a retention (30 days by default; config
 * "feedback_retention", in seconds), counted, and queued for retraining;
 * on LMDB it is flushed to disk before the call returns. A correction
 * also overrides the cached classification of its text: the corrected
 * answer ({"intent": correct_intent, "confidence": 1, "top": [...],
 * "complexity", "techniques", "model": "feedback"}) is stored under the
 * normalized text in the "intent_feedback" namespace, in the same store
 * transaction as the record, for that namespace's TTL (24 h; config
 * "namespaces": {"intent_feedback": {"ttl": ...}}). The submitting
 * process's L1 has it at once; another process that holds an older copy
 * in its L1 serves that copy for at most the namespace's L1 TTL.
 *
 * Idempotence: every record has an id, the caller's ("id", 1..64
 * characters of A-Z a-z 0-9 . _ : -) or else derived from its content:
 * 32 hex digits of a 128-bit hash (XXH3) of its canonical JSON without
 * the id, with the timestamp only when the caller gave one. The store
 * keeps one record per id for as long as it keeps the record (the
 * retention, 30 days): storing an id it holds is a no-op (nothing
 * stored, counted, queued or overridden) that the caller is told about
 * (TC_FEEDBACK_DUPLICATE; an import's "duplicates"). So a retried submit,
 * a spool replayed twice and an import run again after a crash store
 * each record once. The other side: the same record submitted twice on
 * purpose (same text, intents, confidence, type and optional fields, no
 * timestamp) is one record; give each submission its own timestamp or
 * id to keep both. Records are kept, exported and queued in the order
 * the store received them, and their retention runs from then.
 *
 * When the store is unreachable (or its circuit breaker is open) the
 * record goes to <spool_dir>/feedback.spool (one JSON line per record;
 * config "spool_dir" or TUTORCACHE_SPOOL_DIR, by default the store's own:
 * beside the LMDB directory, or for Redis
 * $XDG_STATE_HOME/tutorcache/spool/<kind>-<hash of host, port and db, or
 * of a cluster's seed nodes in any order>; feedback_store's, when one is
 * set), fsync'd before the call returns, and the call returns TC_OK and
 * the id. The spool is replayed in order, without duplicates (records are
 * stored idempotently by id), by the next feedback call of the process
 * that spooled, and by any other process at its first feedback call after
 * its last look, which it takes at most once a second; processes sharing
 * the spool take turns through a lock on the file. A spool line that is
 * not a record is moved to feedback.spool.bad and logged, never dropped.
 * Each process replays a spool into its own store: handles on different
 * stores must not be given the same spool_dir. The one default spool that
 * every Redis store shared before, $XDG_STATE_HOME/tutorcache/spool/
 * feedback.spool, is replayed into none; while it holds lines, a handle
 * on Redis logs feedback_spool_orphaned (warn) when it opens: import the
 * file on the store it was meant for (tutorcache feedback import).
 *
 * Feedback needs a durable store: with memory: it is TC_EINVAL (except
 * for a dry-run import, which stores nothing).
 *
 * Where it is kept: in the cache's store, unless a store of its own is
 * given (tc_options.feedback_store, TUTORCACHE_FEEDBACK_STORE, the config
 * file's "feedback_store": a redis://, unix://, redis-cluster:// or
 * lmdb:// URL, which carries its own password: REDIS_PASSWORD is the
 * cache's). Then records, counters, ids, the retraining queue and the
 * "intent_feedback" namespace (the overrides, which classification reads
 * there) live in that store, and the rest of the cache in the other: a
 * cache Redis with maxmemory-policy allkeys-lru, as caches often run,
 * evicts keys without a TTL when it fills, feedback's among them, and
 * the records are lost without an error. When the handle opens, the
 * feedback store's server is asked how it keeps keys (CONFIG GET, else
 * INFO); a policy of allkeys-* or neither AOF nor save points is logged
 * once (feedback_at_risk, warn) and reported by tc_feedback_stats_json,
 * tc_cache_stats_json and the metrics. The fix is maxmemory-policy
 * volatile-lru or noeviction and appendonly yes on that server, or a
 * feedback store apart from the cache's. With the config file's
 * "feedback_wait_replicas": N, a feedback write on Redis also waits
 * (WAIT, up to half the command timeout) for N replicas to have it;
 * when fewer do, the records are spooled (outcome
 * TC_FEEDBACK_SPOOLED) and stored, once, by a later call.
 *
 * The record (the JSON field names; the same in CSV headers):
 *   text                 required, 1..10000 bytes of UTF-8, not blank
 *   original_intent      required string, 1..256 bytes, not blank
 *   correct_intent       required string, 1..256 bytes; differs from
 *                        original_intent in a correction, equals it in a
 *                        confirmation
 *   original_confidence  required number, 0..1
 *   correct_complexity   optional string, 1..256 bytes
 *   correct_techniques   optional array of at most 32 strings (1..256
 *                        bytes each)
 *   user_id              optional string, 1..256 bytes
 *   model                optional string, 1..127 characters of printable
 *                        ASCII without spaces (0x21..0x7E): the identity
 *                        of the model whose answer the record is about,
 *                        as tc_result.model gives it (32 hex digits of a
 *                        fingerprint, or a host model's version). When it
 *                        names the control or the candidate of an A/B
 *                        rollout of a classifier open on the handle (its
 *                        current identity; the first 16 such classifiers
 *                        of a handle), the record is counted for
 *                        that arm (intent_ab_corrections_total or
 *                        intent_ab_confirmations_total, {arm=...}).
 *                        Records stored before the field existed have
 *                        none and read as before.
 *   feedback_type        required, "correction" or "confirmation"
 *   timestamp            optional ISO 8601 (RFC 3339): YYYY-MM-DDTHH:MM:SS,
 *                        an optional fraction, then Z or +hh:mm/-hh:mm,
 *                        each part range-checked; stored as UTC with
 *                        milliseconds ("2024-03-01T01:00:00.123Z"); the
 *                        time of receipt when absent
 *   id                   optional, 1..64 characters of A-Z a-z 0-9 . _ :
 *                        -; derived from the content when absent (see
 *                        Idempotence above)
 * In JSON, null for an optional field means absent; a field of the wrong
 * JSON type, a field given twice or an unknown field is rejected, naming
 * the field. The stored record is canonical JSON: "id" first, then the
 * fields above in that order, optional ones only when present.
 */

typedef enum tc_feedback_type {
    TC_FEEDBACK_CORRECTION = 1,
    TC_FEEDBACK_CONFIRMATION = 2
} tc_feedback_type;

/* A record to submit. Strings are UTF-8 and NUL-terminated. */
typedef struct tc_feedback {
    const char *text;               /* required, 1..10000 bytes */
    const char *original_intent;    /* required */
    const char *correct_intent;     /* required; differs for a correction,
                                       equals original for a confirmation */
    double original_confidence;     /* required, 0..1 */
    const char *correct_complexity; /* NULL: none */
    const char *const *correct_techniques; /* NULL: none */
    size_t ncorrect_techniques;
    const char *user_id; /* NULL: none */
    tc_feedback_type type;
    const char *timestamp; /* ISO 8601; NULL: the time of receipt */
    const char *id;        /* 1..64 of [A-Za-z0-9._:-]; NULL:
                              derived from the content */
    /* Added in 0.2.0, before its release (no soname change): the
     * identity of the model whose answer the record corrects or confirms
     * (tc_result.model: a fingerprint, or a host model's version); NULL:
     * not known. A struct zeroed with memset or "= {0}" leaves it NULL. */
    const char *model;
} tc_feedback;

/* Bytes of a record id with its NUL: the longest id is 64 characters (a
 * derived one is 32 hex digits). */
#define TC_FEEDBACK_ID_MAX 65

/* What became of a submitted record: tc_feedback_submit's *outcome. */
enum {
    TC_FEEDBACK_STORED = 0,   /* stored now */
    TC_FEEDBACK_SPOOLED = 1,  /* in the spool: the store was unreachable */
    TC_FEEDBACK_DUPLICATE = 2 /* the store holds its id already: nothing
                                 was stored, counted or overridden again */
};

/*
 * tc_feedback_submit - validate, store, count, queue and (for a
 * correction) override. id (at least TC_FEEDBACK_ID_MAX bytes) receives
 * the record's id, also when the record went to the spool or was a
 * duplicate; outcome (may be NULL) receives TC_FEEDBACK_STORED,
 * TC_FEEDBACK_SPOOLED (the store was unreachable; a duplicate in the
 * spool is found, and skipped, when it is replayed) or
 * TC_FEEDBACK_DUPLICATE (the store held the id already).
 * tc_feedback_submit_json takes the record as one JSON object with the
 * field names of tc_feedback ("feedback_type": "correction" or
 * "confirmation"); an unknown field is rejected, so a misspelt field
 * never goes unnoticed. A rejected record is counted ("rejected" in
 * tc_feedback_stats_json, under its type, or "invalid" when the type
 * itself is missing or bad).
 * Returns TC_OK (stored, spooled while the store is unreachable, or a
 * duplicate); TC_EINVAL with tc_errmsg() naming the field and the reason
 * ("original_confidence: 1.7 is not in 0..1"), or for memory:; TC_EIO
 * (the store was unreachable and the spool could not be written: the
 * record was not accepted); TC_EFULL (an LMDB map that is full, or a
 * Redis at maxmemory that refuses writes: the record was neither stored
 * nor spooled, and the caller submits it again once there is room);
 * TC_ENOMEM.
 * Thread safety: any thread.
 */
TC_API int tc_feedback_submit(char *id, int *outcome, tc_cache *h,
                              const tc_feedback *fb);
TC_API int tc_feedback_submit_json(char *id, int *outcome, tc_cache *h,
                                   const char *json, size_t len);

/* Input formats of tc_feedback_import. */
typedef enum tc_import_format {
    TC_IMPORT_AUTO = 0, /* JSONL when the first non-blank line starts with
                           '{', else CSV */
    TC_IMPORT_JSONL = 1,
    TC_IMPORT_CSV = 2 /* a header row naming the fields, RFC 4180 */
} tc_import_format;

/* One rejected line of an import. */
typedef struct tc_import_rejection {
    uint64_t line;
    const char *reason;
} tc_import_rejection;

/* What an import did: each record read is accepted, a duplicate or
 * rejected. */
typedef struct tc_import_report {
    uint64_t accepted; /* stored now, or spooled */
    uint64_t rejected;
    uint64_t spooled;   /* accepted while the store was down */
    size_t nrejections; /* the first 1000 rejections */
    const tc_import_rejection *rejections;
    uint64_t duplicates; /* valid, but their ids were stored already (a
                            rerun import): not stored again */
} tc_import_report;

/* Called every 1000 lines with the lines read so far. */
typedef void (*tc_import_progress_fn)(void *userdata, uint64_t lines);

/*
 * tc_feedback_import - submit every record of a stream of JSON Lines or
 * CSV. A bad line is counted and reported with its number (from 1) and
 * reason, and the good lines are imported all the same, 1024 records per
 * store round trip. Blank lines are skipped; a UTF-8 byte order mark is
 * ignored; lines may end in LF or CRLF; a line longer than 1 MiB is
 * rejected.
 * CSV: RFC 4180 (fields separated by ',', quoted with '"' where they hold
 * a ',', a '"' (doubled) or a line break). The header row names the
 * columns, in any order, with the field names of the JSON form; text,
 * original_intent, correct_intent, original_confidence and feedback_type
 * are required columns, an unknown or repeated column fails the whole
 * import (TC_EINVAL). An empty value means absent for optional fields.
 * correct_techniques is one field of items separated by '|' ("a|b|c",
 * spaces around items ignored): '|' appears in no technique name, and
 * unlike ';' it is never a spreadsheet's field separator. A rejected
 * record spanning several lines is reported at its first line. A line
 * of nothing but spaces, tabs and CRs is blank, in CSV and JSON Lines,
 * before the header too.
 * A record whose id the store holds already (derived from the content
 * unless the record gives one) is counted in duplicates, not accepted:
 * an import run again, whole or after a crash, stores each record once
 * (see Idempotence above). A dry run counts no duplicates.
 * dry_run validates only, storing and counting nothing (and needs no
 * durable store). progress, which may be NULL, is called every 1000 lines.
 * Returns TC_OK (even when lines were rejected: see the report); TC_EINVAL
 * (a bad format, a bad CSV header); TC_EIO (reading in, or the spool; the
 * message says how many records were accepted before); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_import_report_free()).
 * Thread safety: any thread.
 */
TC_API int tc_feedback_import(tc_import_report **out, tc_cache *h, FILE *in,
                              tc_import_format format, int dry_run,
                              tc_import_progress_fn progress,
                              void *progress_userdata);
TC_API void tc_import_report_free(tc_import_report *r);

/*
 * tc_feedback_stats_json - counts by type and status, by (original ->
 * correct) pair (top 20), records kept, pending in the retraining queue,
 * records in the spool, as one JSON object:
 *   {"accepted":{"correction":N,"confirmation":N},
 *    "rejected":{"correction":N,"confirmation":N,"invalid":N},
 *    "pairs":[{"original":"a","correct":"b","count":N},...],
 *    "kept":N,"pending":N,"queued":N,"spooled":N,
 *    "store":{"kind":"redis","maxmemory_policy":P,"persistence":P,
 *             "at_risk":[...]},"warning":"..."}
 * pairs: corrections by count, most first (ties by name); kept: records
 * within their retention; pending: delivered to a consumer and not yet
 * acknowledged; queued: never delivered; spooled: lines in this host's
 * spool, not yet in the store; store and warning: where the records are
 * kept and whether they may be lost there, as tc_cache_stats_json's
 * "feedback" says (the server is asked again when it had not answered).
 * Returns TC_OK; TC_EUNAVAIL/TC_ETIMEOUT; TC_EINVAL (memory:); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_feedback_stats_json(char **out, tc_cache *h);

/* Records handed to a consumer: ids and JSON objects. */
typedef struct tc_feedback_batch {
    size_t n;
    const char *const *ids;
    const char *const *records; /* one JSON object each */
} tc_feedback_batch;

/*
 * tc_feedback_consume - up to max records of the retraining queue for
 * this consumer: first those another consumer took but did not
 * acknowledge for claim_idle_ms (<= 0: 60 s), then new ones in the order
 * they were stored. A record is with one live consumer at a time until
 * acknowledged; a consumer that dies before acknowledging leaves its
 * records to be claimed by another after claim_idle_ms, so a consumer
 * must acknowledge well within that time. Records past their retention
 * are never delivered.
 * consumer: a name of 1..128 bytes of UTF-8; max > 0.
 * Returns TC_OK (n may be 0); TC_EUNAVAIL/TC_ETIMEOUT; TC_EINVAL; TC_ENOMEM.
 * Ownership: *out is the caller's (tc_feedback_batch_free()).
 * Thread safety: any thread.
 */
TC_API int tc_feedback_consume(tc_feedback_batch **out, tc_cache *h,
                               const char *consumer, size_t max,
                               int64_t claim_idle_ms);
TC_API void tc_feedback_batch_free(tc_feedback_batch *b);

/*
 * tc_feedback_ack - acknowledge records, which leave the queue (they stay
 * stored until their retention ends). Acknowledging an id twice, or one
 * that was never delivered, does nothing. ids may be NULL when n is 0.
 * Returns TC_OK; TC_EUNAVAIL/TC_ETIMEOUT; TC_EINVAL (an id that is not a
 * feedback id).
 * Thread safety: any thread.
 */
TC_API int tc_feedback_ack(tc_cache *h, const char *const *ids, size_t n);

/*
 * tc_feedback_export - every stored record (within its retention), in
 * the order the store received them, as JSON Lines on out, without
 * touching the queue. count (may be NULL) receives the number written.
 * Returns TC_OK; TC_EUNAVAIL/TC_ETIMEOUT; TC_EIO (writing out); TC_EINVAL.
 * Thread safety: any thread.
 */
TC_API int tc_feedback_export(tc_cache *h, FILE *out, uint64_t *count);

/*
 * tc_feedback_purge - erases the records that match every filter given
 * (at least one; NULL: not a filter): user_id, the user's id exactly;
 * before, an ISO 8601 time, records whose timestamp is earlier; text,
 * records of this text once normalized (as classification keys it). Each
 * record leaves the store (the Redis stream, or LMDB), the retraining
 * queue (delivered or not) and the de-duplication set, so the same record
 * could be submitted again; counters stay, as they hold no record. A
 * spool this process left is replayed first. An override a purged
 * correction set is recomputed from the corrections of its text that
 * remain (the latest stored whose TTL from its timestamp has not run
 * out, for the time it has left), and deleted when none remains. On LMDB
 * the freed pages keep the bytes until LMDB reuses them.
 * removed (may be NULL) receives how many records went; a second purge
 * with the same filters removes 0. Audited as "feedback_purge" with the
 * user id's 64-bit hash (XXH3, or keyed BLAKE2b with key_secret_file),
 * never the id or the text.
 * Returns TC_OK; TC_EINVAL (no filter, a bad time, memory:);
 * TC_EUNAVAIL/TC_ETIMEOUT. Thread safety: any thread.
 */
TC_API int tc_feedback_purge(uint64_t *removed, tc_cache *h,
                             const char *user_id, const char *before,
                             const char *text);

/* ---------------------------------------------------------------------
 * Feedback analytics and the report
 *
 * Computed from the stored records themselves (every record within its
 * retention, read as tc_feedback_export reads them), not from counters,
 * so purges and expiry are always accounted for. A text is named by its
 * key in the "intent_feedback" namespace, never by its words.
 */

#define TC_REPORT_OPTIONS_VERSION 1

typedef struct tc_report_options {
    unsigned version; /* TC_REPORT_OPTIONS_VERSION, by _init */
    /* The models of an A/B rollout as records name them ("model"): a
     * model's fingerprint (tc_model_fingerprint) or a host model's
     * version; a record naming "fn:VERSION" is the model VERSION. NULL or
     * "": not known, no such arm. Copied into the output, not kept. */
    const char *control_model;
    const char *candidate_model;
    /* The page's title and heading; NULL: "Feedback report". */
    const char *title;
} tc_report_options;

/* tc_report_options_init - defaults: no arms, the default title.
 * Thread safety: any thread. */
TC_API void tc_report_options_init(tc_report_options *opt);

/*
 * tc_feedback_analytics_json - the feedback's analytics as one JSON
 * object:
 *   {"intents":{INTENT:{"corrections":N,"confirmations":N,
 *                       "classifications":N,"correction_rate":R|null,
 *                       "corrections_exceed_classifications":BOOL}},
 *    "confusion":{ORIGINAL:{CORRECT:N}},
 *    "per_day":{"YYYY-MM-DD":{"corrections":N,"confirmations":N}},
 *    "most_corrected":[{"key":KEY,"corrections":N}],
 *    "models":{MODEL:{"corrections":N,"confirmations":N,
 *                     "correction_rate":R|null[,"arm":ARM]}},
 *    "arms":{ARM:{"model":MODEL,"corrections":N,"confirmations":N,
 *                 "correction_rate":R|null}},
 *    "shadow":{MODEL:{"checks":N,"agree":N,"disagree":N,"rate":R|null}}}
 * intents counts the records by the intent they answer about (the
 * original, the one users corrected or confirmed), and beside them
 * "classifications", the answers of that intent every process served
 * over the window as the feedback store counts them (count_intents;
 * tc_classify_counts_json's "intents", this handle's counts flushed
 * first), and "correction_rate", corrections / classifications, null
 * when none was counted; an intent answered that no record names has
 * its member too, at 0 records and rate 0. An intent's rate passes 1
 * when records come from elsewhere than the answers counted (imported,
 * from a process that does not count or counts in memory:, or about
 * answers older than the counts): "corrections_exceed_classifications"
 * (BOOL, on every intent) is then true, as it is for an intent
 * corrected that no answer counted (rate null); shadow is the shadow
 * checks per model from the same counts, rate = disagree / checks, null
 * without checks; per_day has a member for each UTC day of the
 * retention window (feedback_retention, at most 400 days), oldest
 * first, zeros included; most_corrected the 10 texts corrected most
 * often, by their key in "intent_feedback"; models the
 * records that name the model they are about, per model, with
 * corrections / (corrections + confirmations), null without either, and
 * the arm ("control" or "candidate") when opt names the model; arms the
 * same for each arm opt names, zeros when no record names it.
 * opt: may be NULL (defaults). Reading the records is audited as
 * "feedback_report" with their count. Costs the records' export and one
 * read of the store's tally (two round trips when this handle has counts
 * to send).
 * Returns TC_OK; TC_EUNAVAIL/TC_ETIMEOUT (the store); TC_EINVAL (memory:,
 * which keeps no feedback; an opt of an unknown version); TC_ENOMEM.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_feedback_analytics_json(char **out, tc_cache *h,
                                      const tc_report_options *opt);

/*
 * tc_feedback_report_html - the same analytics as one self-contained
 * HTML page (UTF-8, len bytes, NUL-terminated): a section and an inline
 * SVG chart each for corrections per day, the confusion matrix as a heat
 * map, the share of each intent's feedback that corrects it, the
 * correction rate per classification (each intent's corrections /
 * classifications, a row for every intent answered, saying when no
 * classification was counted, and when a rate passes 100%, why), the
 * correction rate per model with the A/B arms side by side, and the
 * shadow checks' disagreement rate per model, every process's as the
 * store counts them; when this handle's classifiers made shadow checks,
 * that section opens with a line of their own, "this process"
 * (tc_cache_stats_json's "shadow": agree, disagree, and also the
 * checks dropped or failed, which only the process knows). No script,
 * nothing fetched; every name in it is escaped. opt and the codes as for
 * tc_feedback_analytics_json; len may be NULL.
 * Ownership: *out is the caller's (tc_free()). Thread safety: any thread.
 */
TC_API int tc_feedback_report_html(char **out, size_t *len, tc_cache *h,
                                   const tc_report_options *opt);

/* ---------------------------------------------------------------------
 * Audit trail
 *
 * With an audit log (tc_options.audit_log, TUTORCACHE_AUDIT_LOG, config
 * "audit_log"), every call that changes state appends one JSON line:
 * {"time", "op", "ns", "key", "detail", "count", "actor", "outcome"}
 * (fields that do not apply are left out). "key" names an entry without
 * revealing it: the hashed L2 key of a cache entry, a feedback record's
 * id, a model's fingerprint. A line never holds a value, a text, or a
 * user's id. ops: set, mset (one line per key), del, invalidate,
 * feedback_submit (one per record), feedback_import, feedback_export,
 * feedback_report (tc_feedback_analytics_json, tc_feedback_report_html:
 * they read every record), feedback_ack and feedback_purge (one per
 * call, with "count"),
 * model_load (tc_classifier_open), and what the host records with
 * tc_audit_record (the CLI's train_update, the service's model_swap).
 * With audit_reads also get, get_or_load and mget (one per key). Calls
 * refused for bad arguments (TC_EINVAL at the door) are not operations
 * and are not audited; failed operations are, with their outcome
 * ("ok", "miss" or the error's name, e.g. "TC_EUNAVAIL").
 *
 * The file is opened with O_APPEND (created 0600) and each line written
 * with one write(2), so it is in the file when the call returns, and
 * lines of threads and processes sharing it never mix. For logrotate,
 * the host calls tc_audit_reopen() from its SIGHUP handler (the library
 * installs no signal handler): the next line goes to a file opened anew
 * under the same name. A line that cannot be written is logged as
 * audit_write_failed (error) and the operation's result stands.
 */

/*
 * tc_audit_actor - names who acts in the calling thread's audit lines
 * from now on (the CLI's --actor, the service's X-Actor header), copied,
 * cut at 128 bytes (at the start of the UTF-8 character the 129th byte
 * belongs to, so no character is split); NULL or "" leaves "actor" out. It is
 * per thread: a server sets it per request on the thread that serves it. Thread
 * safety: any thread; async-signal-unsafe.
 */
TC_API void tc_audit_actor(const char *actor);

/*
 * tc_audit_reopen - every audit log of the process is reopened by name
 * before its next line (after logrotate renamed it). Async-signal-safe:
 * it only bumps an atomic counter, so call it from a SIGHUP handler.
 */
TC_API void tc_audit_reopen(void);

/*
 * tc_audit_record - appends a line for an operation of the host's own:
 * op ([a-z_], 1-32 characters), ns and key (may be NULL; never a text or
 * a value), outcome (TC_OK or a TC_E* code). Does nothing when h has no
 * audit log. Returns TC_OK; TC_EINVAL (h or op). Thread safety: any
 * thread.
 */
TC_API int tc_audit_record(tc_cache *h, const char *op, const char *ns,
                           const char *key, int outcome);

#ifdef __cplusplus
}
#endif

#endif /* TUTORCACHE_H */
