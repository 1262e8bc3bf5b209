/*
 * store_redis_fb.c - feedback records in Redis (fbstore.h), in the shapes
 * the design names: a stream trimmed by age (tc:fb:stream), the consumer
 * group "retrain" on it as the retraining queue, a hash of counters
 * (tc:fb:counts) and one key per record, tc:fb:seen:<id>, which makes a
 * put idempotent by id and maps the record's id to its stream entry's id
 * (what XACK needs) for as long as the record is kept.
 *
 * Every write is a Lua script, so that a record, its counters, its queue
 * entry and its override are applied together and no other client sees
 * half of them. A put sends one script call per SCRIPT_BATCH records, all
 * pipelined in one round trip. Scripts go as EVALSHA, their digests
 * learnt once per process with SCRIPT LOAD, and as EVAL when the server
 * answers NOSCRIPT (it restarted, or its script cache was flushed).
 * Everything runs on the Redis store's pool, timeouts and breaker
 * (tc__redis_run).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/fbstore.h"
#include "store/redis/redis_store.h"

#define K_STREAM "tc:fb:stream"
#define K_COUNTS "tc:fb:counts"
#define K_SEEN "tc:fb:seen:"
#define GROUP "retrain"
/*
 * Records per script call of a put. A call per record pays the script's
 * entry (arguments, type checks, counters) per record; one call for a
 * whole put holds the server for the whole batch. Server time per record
 * here (INFO commandstats), with the put throughput of client and server
 * on one CPU: 1 per call 14.0 us (62 k records/s), 16 8.7 us (101 k), 64
 * 7.9 us (110 k), 256 7.9 us (115 k), 1024 8.0 us (110 k). 256 keeps each
 * call near 2 ms, so that other clients never wait longer for the server.
 */
#define SCRIPT_BATCH 256
#define CONSUME_MAX 10000 /* records per consume: bounds a script's run */
#define PAGE 1000         /* entries per XRANGE of an export */
#define ID_MAX 64

/* ---- the scripts -------------------------------------------------------- */

/*
 * KEYS: the stream, the counters, then for each record its seen key and,
 * when it has an override, the override's key. ARGV: now (ms), retention
 * (ms, 0: none), then six per record: id, JSON, counter, pair counter (""
 * for none), override value, override TTL (ms, "0" for none).
 *
 * The entry's id is "<the record id's ms>-*", so that MINID trims records
 * by the time of their ids, as fbstore.h says; a record older than the
 * stream's last entry (a spool replayed after newer records) cannot have
 * it and takes "*", the time it is stored. A record already past its
 * retention is counted and its override written, as LMDB does before its
 * sweep, but it does not enter the stream. The seen key lives as long as
 * the record. Counters are added up and written once per name at the end:
 * fewer calls, and a script is not stopped half-way once it has written
 * (types are checked first, and Redis refuses for OOM only a script's
 * first write).
 */
static const char put_lua[] =
    "local stream, counts = KEYS[1], KEYS[2]\n"
    "local now, ret = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "for _, kt in ipairs({{stream, 'stream'}, {counts, 'hash'}}) do\n"
    "  local t = redis.call('TYPE', kt[1]).ok\n"
    "  if t ~= kt[2] and t ~= 'none' then\n"
    "    return redis.error_reply('WRONGTYPE ' .. kt[1] .. ' is a ' .. t)\n"
    "  end\n"
    "end\n"
    "local cut = 0\n"
    "if ret > 0 and ret < now then cut = now - ret end\n"
    "local out, add, k = {}, {}, 3\n"
    "for a = 3, #ARGV, 6 do\n"
    "  local id, seen, okey = ARGV[a], KEYS[k], nil\n"
    "  k = k + 1\n"
    "  if ARGV[a + 5] ~= '0' then okey = KEYS[k]; k = k + 1 end\n"
    "  if redis.call('EXISTS', seen) == 1 then\n"
    "    out[#out + 1] = 0\n"
    "  else\n"
    "    local ms = tonumber(string.sub(id, 1, 13))\n"
    "    local sid, keep = '-', ret\n"
    "    if ms >= cut then\n"
    "      sid = redis.pcall('XADD', stream, 'MINID', '~', cut, ms .. '-*',\n"
    "                        'id', id, 'r', ARGV[a + 1])\n"
    "      if type(sid) == 'table' then\n"
    "        sid = redis.call('XADD', stream, 'MINID', '~', cut, '*',\n"
    "                         'id', id, 'r', ARGV[a + 1])\n"
    "      end\n"
    "      keep = tonumber(string.match(sid, '^%d+')) + ret - now\n"
    "    end\n"
    "    for c = a + 2, a + 3 do\n"
    "      if ARGV[c] ~= '' then add[ARGV[c]] = (add[ARGV[c]] or 0) + 1 end\n"
    "    end\n"
    "    if okey then\n"
    "      redis.call('SET', okey, ARGV[a + 4], 'PX', ARGV[a + 5])\n"
    "    end\n"
    "    if ret > 0 then\n"
    "      redis.call('SET', seen, sid, 'PX', math.max(keep, 1))\n"
    "    else\n"
    "      redis.call('SET', seen, sid)\n"
    "    end\n"
    "    out[#out + 1] = 1\n"
    "  end\n"
    "end\n"
    "for name, n in pairs(add) do redis.call('HINCRBY', counts, name, n) end\n"
    "return out\n";

/*
 * KEYS: the stream. ARGV: group, consumer, max, claim idle (ms). Returns
 * record id, JSON, record id, JSON, ...
 *
 * The group is made here, on first use, from the start of the stream, so
 * that records stored before any consumer existed are queued too. Idle
 * records are claimed first; XAUTOCLAIM looks at 10 x COUNT pending
 * entries per call, so its cursor is followed to the end, or records of a
 * dead consumer could sit behind a live one's forever. An entry that is
 * not a record of ours is acknowledged: there is nothing to deliver.
 */
static const char consume_lua[] =
    "local stream, group, me = KEYS[1], ARGV[1], ARGV[2]\n"
    "local max, idle = tonumber(ARGV[3]), ARGV[4]\n"
    "local idpat = '^' .. string.rep('%d', 13) .. '%-' ..\n"
    "              string.rep('[0-9a-f]', 16) .. '$'\n"
    "if redis.call('EXISTS', stream) == 0 then return {} end\n"
    "local made = redis.pcall('XGROUP', 'CREATE', stream, group, '0')\n"
    "if type(made) == 'table' and made.err and\n"
    "   not string.find(made.err, '^BUSYGROUP') then\n"
    "  return made\n"
    "end\n"
    "local out, n = {}, 0\n"
    "local function take(e)\n"
    "  local f, rid, rec = e[2], nil, nil\n"
    "  for i = 1, #f - 1, 2 do\n"
    "    if f[i] == 'id' then rid = f[i + 1] elseif f[i] == 'r' then\n"
    "      rec = f[i + 1] end\n"
    "  end\n"
    "  if rid and rec and string.find(rid, idpat) then\n"
    "    out[#out + 1] = rid; out[#out + 1] = rec; n = n + 1\n"
    "  else\n"
    "    redis.call('XACK', stream, group, e[1])\n"
    "  end\n"
    "end\n"
    "local cursor = '0-0'\n"
    "repeat\n"
    "  local r = redis.call('XAUTOCLAIM', stream, group, me, idle, cursor,\n"
    "                       'COUNT', max - n)\n"
    "  cursor = r[1]\n"
    "  for _, e in ipairs(r[2]) do if e then take(e) end end\n"
    "until cursor == '0-0' or n >= max\n"
    "if n < max then\n"
    "  local r = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT',\n"
    "                       max - n, 'STREAMS', stream, '>')\n"
    "  if r then for _, e in ipairs(r[1][2]) do take(e) end end\n"
    "end\n"
    "return out\n";

/*
 * KEYS: the stream, then the seen key of each record. ARGV: group.
 * Returns how many were acknowledged. A record whose seen key is gone
 * was trimmed, and its pending entry with it.
 */
static const char ack_lua[] =
    "local sids = {}\n"
    "for i = 2, #KEYS do\n"
    "  local v = redis.call('GET', KEYS[i])\n"
    "  if v and string.find(v, '^%d+%-%d+$') then sids[#sids + 1] = v end\n"
    "end\n"
    "local n = 0\n"
    "for i = 1, #sids, 1000 do\n"
    "  n = n + redis.call('XACK', KEYS[1], ARGV[1],\n"
    "                     unpack(sids, i, math.min(i + 999, #sids)))\n"
    "end\n"
    "return n\n";

/*
 * KEYS: the stream. ARGV: the cutoff (ms), group. Removes the entries
 * older than the cutoff (exactly: a put's MINID ~ trims whole nodes
 * only) and acknowledges their pending entries, which Redis leaves in the
 * group. Returns the entries removed.
 */
static const char trim_lua[] =
    "local stream, group = KEYS[1], ARGV[2]\n"
    "if redis.call('EXISTS', stream) == 0 then return 0 end\n"
    "local n = redis.call('XTRIM', stream, 'MINID', ARGV[1])\n"
    "local stop = '(' .. ARGV[1] .. '-0'\n"
    "while true do\n"
    "  local p = redis.pcall('XPENDING', stream, group, '-', stop, 1000)\n"
    "  if type(p) ~= 'table' or p.err or #p == 0 then break end\n"
    "  local ids = {}\n"
    "  for i, e in ipairs(p) do ids[i] = e[1] end\n"
    "  redis.call('XACK', stream, group, unpack(ids))\n"
    "  if #p < 1000 then break end\n"
    "end\n"
    "return n\n";

/*
 * KEYS: the stream, the counters. ARGV: group. Returns records kept,
 * pending, queued, then counter name, value, name, value, ... One script,
 * so that the numbers are of one moment.
 *
 * Queued records are those after the group's last-delivered id. Redis 7
 * keeps the group's lag (entries added minus entries read), which is that
 * number unless entries after the last delivered one were trimmed away
 * undelivered; then the last delivered id lies before the first entry,
 * and every entry kept is queued. A nil lag (entries deleted from the
 * middle, which this library never does) counts every entry: an upper
 * bound. No group yet: nothing was delivered.
 */
static const char stats_lua[] =
    "local stream, group = KEYS[1], ARGV[1]\n"
    "local len, pending, queued = 0, 0, 0\n"
    "local function before(a, b)\n"
    "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"
    "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"
    "  am, bm = tonumber(am), tonumber(bm)\n"
    "  return am < bm or (am == bm and tonumber(as) < tonumber(bs))\n"
    "end\n"
    "if redis.call('EXISTS', stream) == 1 then\n"
    "  len = redis.call('XLEN', stream)\n"
    "  queued = len\n"
    "  for _, e in ipairs(redis.call('XINFO', 'GROUPS', stream)) do\n"
    "    local g = {}\n"
    "    for i = 1, #e - 1, 2 do g[e[i]] = e[i + 1] end\n"
    "    if g['name'] == group then\n"
    "      pending = g['pending']\n"
    "      local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)\n"
    "      if head[1] and type(g['lag']) == 'number' and\n"
    "         not before(g['last-delivered-id'], head[1][1]) then\n"
    "        queued = math.min(g['lag'], len)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local out = {len, pending, queued}\n"
    "for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do\n"
    "  out[#out + 1] = v\n"
    "end\n"
    "return out\n";

enum { S_PUT, S_CONSUME, S_ACK, S_TRIM, S_STATS, NSCRIPTS };

static const char *const script_src[NSCRIPTS] = {put_lua, consume_lua, ack_lua,
                                                 trim_lua, stats_lua};
static const char *const script_name[NSCRIPTS] = {
    "FEEDBACK PUT", "FEEDBACK CONSUME", "FEEDBACK ACK", "FEEDBACK TRIM",
    "FEEDBACK STATS"};

/* The digests are the server's answer, never computed here: no SHA-1 in
 * the library. Written once under sha_mu, read after shas_known. */
static char script_sha[NSCRIPTS][41];
static _Atomic int shas_known;
static pthread_mutex_t sha_mu = PTHREAD_MUTEX_INITIALIZER;

static _Atomic size_t script_batch = SCRIPT_BATCH;

void tc__fb_redis_set_script_batch(size_t records)
{
    atomic_store(&script_batch, records ? records : SCRIPT_BATCH);
}

static int read_shas(tc__rcall *cl, tc__rsink *k, void *ud)
{
    char(*got)[41] = ud;

    for (size_t i = 0; i < k->n; i++) {
        const tc__rrep *r = &k->slot[i];

        if (r->type == REDIS_REPLY_ERROR) {
            return tc__redis_error_reply(cl, r);
        }
        if (r->type != REDIS_REPLY_STRING || r->len != 40) {
            return tc__redis_bad_reply(cl, r);
        }
        memcpy(got[i], r->str, 41);
    }
    return TC_OK;
}

/*
 * Learns the digests on the first call of the process that needs one;
 * what names the call in messages ("FEEDBACK PUT (SCRIPT LOAD): ...").
 */
static int load_shas(tc__store *s, const char *what, tc__err *err)
{
    char label[64];
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    char got[NSCRIPTS][41];
    tc__req q;
    int rc;

    if (atomic_load_explicit(&shas_known, memory_order_acquire)) {
        return TC_OK;
    }
    tc__req_init(&q);
    for (int i = 0; i < NSCRIPTS; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", script_src[i]};

        tc__req_argv(&q, 3, argv);
    }
    tc__sink_init(&k, stack, NSCRIPTS, 0);
    snprintf(label, sizeof(label), "%s (SCRIPT LOAD)", what);
    rc = tc__redis_run(s, TC__REDIS_IDEMPOTENT, label, NULL, 1, &q, &k,
                       read_shas, got, err);
    tc__sink_free(&k, stack);
    tc__req_free(&q);
    if (rc == TC_OK) {
        pthread_mutex_lock(&sha_mu);
        if (!atomic_load(&shas_known)) {
            memcpy(script_sha, got, sizeof(got));
            atomic_store_explicit(&shas_known, 1, memory_order_release);
        }
        pthread_mutex_unlock(&sha_mu);
    }
    return rc;
}

/*
 * A pipeline of calls of one script. build writes call i after its head
 * (script_head); take reads its reply (an error reply included, but never
 * NOSCRIPT) and returns TC_OK or the call's failure.
 */
typedef struct scall scall;
struct scall {
    int which, eval;
    size_t ncalls, nretry, cur;
    unsigned char *retry; /* call i answered NOSCRIPT to EVALSHA */
    void (*build)(tc__req *q, const scall *sc, size_t i);
    int (*take)(tc__rcall *cl, tc__rrep *r, scall *sc, size_t i);
    void *ud;
    /* build_words: a script's keys and arguments, all short strings */
    const char *const *words;
    size_t nwords, nkeys;
    long long value; /* take_int: the reply of a script */
};

/* "*<2 + nwords>" and EVALSHA <sha>, or EVAL <text>. */
static void script_head(tc__req *q, const scall *sc, size_t nwords)
{
    tc__req_len(q, '*', 2 + nwords);
    if (sc->eval) {
        tc__req_str(q, "EVAL");
        tc__req_str(q, script_src[sc->which]);
    } else {
        tc__req_str(q, "EVALSHA");
        tc__req_bulk(q, script_sha[sc->which], 40);
    }
}

static int read_script(tc__rcall *cl, tc__rsink *k, void *ud)
{
    scall *sc = ud;
    int rc;

    sc->cur = 0;
    for (size_t j = 0; j < k->n; j++) {
        tc__rrep *r = &k->slot[j];
        size_t i = j;

        if (sc->eval) {
            while (!sc->retry[sc->cur]) {
                sc->cur++;
            }
            i = sc->cur++;
        } else if (r->type == REDIS_REPLY_ERROR &&
                   strncmp(r->str, "NOSCRIPT", 8) == 0) {
            sc->retry[i] = 1;
            sc->nretry++;
            continue;
        }
        if ((rc = sc->take(cl, r, sc, i)) != TC_OK) {
            return rc;
        }
    }
    return TC_OK;
}

/*
 * Runs the calls as EVALSHA, then those that met NOSCRIPT as EVAL (which
 * also puts the script back in the server's cache). A NOSCRIPT call ran
 * nothing, so sending it again is safe whatever the script does.
 */
static int run_script(tc__store *s, scall *sc, int flags, const char *key,
                      size_t nkeys, tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k = {NULL, 0, 0, 0};
    unsigned char one = 0;
    tc__req q;
    int rc;

    if ((rc = load_shas(s, script_name[sc->which], err)) != TC_OK) {
        return rc;
    }
    sc->nretry = 0;
    sc->retry = sc->ncalls == 1 ? &one : tc__calloc(sc->ncalls, 1);
    if (!sc->retry) {
        return tc__errf(err, TC_ENOMEM, "%s: out of memory",
                        script_name[sc->which]);
    }
    for (sc->eval = 0; sc->eval < 2; sc->eval++) {
        size_t n = sc->eval ? sc->nretry : sc->ncalls;

        tc__req_init(&q);
        for (size_t i = 0; i < sc->ncalls; i++) {
            if (!sc->eval || sc->retry[i]) {
                sc->build(&q, sc, i);
            }
        }
        if (tc__sink_init(&k, stack, n, 1) != 0) {
            rc = tc__errf(err, TC_ENOMEM, "%s: out of memory",
                          script_name[sc->which]);
        } else {
            rc = tc__redis_run(s, flags, script_name[sc->which], key, nkeys, &q,
                               &k, read_script, sc, err);
        }
        tc__sink_free(&k, stack);
        tc__req_free(&q);
        if (rc != TC_OK || sc->nretry == 0) {
            break;
        }
    }
    if (sc->retry != &one) {
        tc__free(sc->retry);
    }
    sc->retry = NULL;
    return rc;
}

/* ---- helpers ------------------------------------------------------------ */

static int not_redis(tc__store *s, tc__err *err)
{
    return tc__store_is_redis(s)
               ? TC_OK
               : tc__errf(err, TC_EINVAL, "feedback: not a Redis store");
}

/* One bulk string of up to four pieces (NULL: none), with no copy made
 * beforehand: counter names and seen keys. */
static void req_cat(tc__req *q, const char *a, const char *b, const char *c,
                    const char *d)
{
    const char *p[4] = {a, b, c, d};
    size_t len[4], total = 0;

    for (int i = 0; i < 4; i++) {
        len[i] = p[i] ? strlen(p[i]) : 0;
        total += len[i];
    }
    tc__req_len(q, '$', total);
    for (int i = 0; i < 4; i++) {
        tc__req_put(q, p[i] ? p[i] : "", len[i]);
    }
    tc__req_put(q, "\r\n", 2);
}

/* Whether id is "<13 digits>-<hex>" and short: the script takes the
 * first 13 bytes as a time. */
static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n < 15 || n >= ID_MAX || id[13] != '-') {
        return 0;
    }
    for (int i = 0; i < 13; i++) {
        if (id[i] < '0' || id[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* ---- put ---------------------------------------------------------------- */

typedef struct put_ctx {
    tc__fb_put *items;
    size_t *idx; /* the valid items, in order */
    size_t nvalid, batch;
    int64_t now, retention;
    tc__err *err;
} put_ctx;

static int bad_item(const tc__fb_put *it)
{
    return !id_ok(it->id) || !it->json || !it->len || !it->type || !*it->type ||
           strlen(it->type) > 32 ||
           (it->override_key &&
            (!it->override_val || it->override_ttl_ms <= 0));
}

static void build_put(tc__req *q, const scall *sc, size_t c)
{
    const put_ctx *x = sc->ud;
    size_t from = c * x->batch, to = from + x->batch, nkeys = 2, nargs = 2;

    to = to < x->nvalid ? to : x->nvalid;
    for (size_t j = from; j < to; j++) {
        nkeys += x->items[x->idx[j]].override_key ? 2 : 1;
        nargs += 6;
    }
    script_head(q, sc, 1 + nkeys + nargs);
    tc__req_i64(q, (int64_t)nkeys);
    tc__req_str(q, K_STREAM);
    tc__req_str(q, K_COUNTS);
    for (size_t j = from; j < to; j++) {
        const tc__fb_put *it = &x->items[x->idx[j]];

        req_cat(q, K_SEEN, it->id, NULL, NULL);
        if (it->override_key) {
            tc__req_str(q, it->override_key);
        }
    }
    tc__req_i64(q, x->now);
    tc__req_i64(q, x->retention > 0 ? x->retention : 0);
    for (size_t j = from; j < to; j++) {
        const tc__fb_put *it = &x->items[x->idx[j]];
        int pair =
            strcmp(it->type, "correction") == 0 && it->original && it->correct;

        tc__req_str(q, it->id);
        tc__req_bulk(q, it->json, it->len);
        req_cat(q, it->type, ":accepted", NULL, NULL);
        if (pair) {
            req_cat(q, "pair:", it->original, "\x1f", it->correct);
        } else {
            tc__req_bulk(q, "", 0);
        }
        if (it->override_key) {
            tc__req_bulk(q, it->override_val, it->override_len);
            tc__req_i64(q, it->override_ttl_ms);
        } else {
            tc__req_bulk(q, "", 0);
            tc__req_str(q, "0");
        }
    }
}

/*
 * A call's reply: 1 (stored) or 0 (a duplicate) per record. An error
 * reply that is not about reaching the server (OOM, WRONGTYPE) is its
 * records' failure alone: fbstore.h wants the call to fail as a whole
 * only when the store cannot be reached.
 */
static int take_put(tc__rcall *cl, tc__rrep *r, scall *sc, size_t c)
{
    const put_ctx *x = sc->ud;
    size_t from = c * x->batch, to = from + x->batch;
    int code;

    to = to < x->nvalid ? to : x->nvalid;
    if (r->type == REDIS_REPLY_ERROR) {
        code = tc__resp_error_code(r->str);
        if (code == TC_EUNAVAIL || code == TC_EAUTH) {
            return tc__redis_error_reply(cl, r);
        }
        code = tc__errf(x->err, code, "FEEDBACK PUT %s: %s",
                        x->items[x->idx[from]].id, r->str);
        for (size_t j = from; j < to; j++) {
            x->items[x->idx[j]].status = code;
            tc__redis_item_failed(cl);
        }
        return TC_OK;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != to - from) {
        return tc__redis_bad_reply(cl, r);
    }
    for (size_t j = from; j < to; j++) {
        const tc__rrep *e = &r->element[j - from];

        if (e->type != REDIS_REPLY_INTEGER) {
            return tc__redis_bad_reply(cl, e);
        }
        x->items[x->idx[j]].status = e->integer ? TC_OK : TC_MISS;
    }
    return TC_OK;
}

static int rfb_put(tc__store *s, tc__fb_put *items, size_t n,
                   int64_t retention_ms, tc__err *err)
{
    put_ctx x = {items,         NULL,         0,  atomic_load(&script_batch),
                 tc__wall_ms(), retention_ms, err};
    scall sc = {.which = S_PUT, .build = build_put, .take = take_put, .ud = &x};
    int rc;

    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    if (n == 0) {
        return TC_OK;
    }
    if (!(x.idx = tc__calloc(n, sizeof(*x.idx)))) {
        return tc__errf(err, TC_ENOMEM, "FEEDBACK PUT: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        items[i].status = TC_OK;
        if (bad_item(&items[i])) {
            items[i].status = tc__errf(
                err, TC_EINVAL, "FEEDBACK PUT: item %zu is incomplete", i);
        } else {
            x.idx[x.nvalid++] = i;
        }
    }
    if (x.nvalid > 0) {
        sc.ncalls = (x.nvalid + x.batch - 1) / x.batch;
        /* Idempotent: a put sent twice stores nothing twice. */
        rc = run_script(s, &sc, TC__REDIS_IDEMPOTENT, items[x.idx[0]].id,
                        x.nvalid, err);
    }
    for (size_t j = 0; j < x.nvalid && rc != TC_OK; j++) {
        items[x.idx[j]].status = rc;
    }
    tc__free(x.idx);
    return rc;
}

/* ---- trim, count -------------------------------------------------------- */

static void build_words(tc__req *q, const scall *sc, size_t i)
{
    (void)i;
    script_head(q, sc, 1 + sc->nwords);
    tc__req_i64(q, (int64_t)sc->nkeys);
    for (size_t j = 0; j < sc->nwords; j++) {
        tc__req_str(q, sc->words[j]);
    }
}

static int take_int(tc__rcall *cl, tc__rrep *r, scall *sc, size_t i)
{
    (void)i;
    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        return tc__redis_bad_reply(cl, r);
    }
    sc->value = r->integer;
    return TC_OK;
}

static int rfb_trim(tc__store *s, int64_t retention_ms, uint64_t *removed,
                    tc__err *err)
{
    char cut[24];
    const char *w[] = {K_STREAM, cut, GROUP};
    scall sc = {.which = S_TRIM,
                .ncalls = 1,
                .build = build_words,
                .take = take_int,
                .words = w,
                .nwords = 3,
                .nkeys = 1};
    int64_t now = tc__wall_ms();
    int rc;

    if (removed) {
        *removed = 0;
    }
    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    if (retention_ms <= 0 || retention_ms >= now) {
        return TC_OK;
    }
    snprintf(cut, sizeof(cut), "%lld", (long long)(now - retention_ms));
    rc = run_script(s, &sc, TC__REDIS_IDEMPOTENT, K_STREAM, 1, err);
    if (rc == TC_OK && removed) {
        *removed = sc.value > 0 ? (uint64_t)sc.value : 0;
    }
    return rc;
}

/* The reply of HINCRBY: the counter's new value, unused. */
static int read_int(tc__rcall *cl, tc__rsink *k, void *ud)
{
    const tc__rrep *r = &k->slot[0];

    (void)ud;
    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    return r->type == REDIS_REPLY_INTEGER ? TC_OK : tc__redis_bad_reply(cl, r);
}

static int rfb_count(tc__store *s, const char *name, uint64_t n, tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    tc__req q;
    int rc;

    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    if (!name || !*name || n > INT64_MAX) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK COUNT: no name, or %llu",
                        (unsigned long long)n);
    }
    tc__req_init(&q);
    tc__req_len(&q, '*', 4);
    tc__req_str(&q, "HINCRBY");
    tc__req_str(&q, K_COUNTS);
    tc__req_str(&q, name);
    tc__req_i64(&q, (int64_t)n);
    tc__sink_init(&k, stack, 1, 0);
    /* Not idempotent: sent twice, it would count twice. */
    rc = tc__redis_run(s, 0, "HINCRBY " K_COUNTS, name, 1, &q, &k, read_int,
                       NULL, err);
    tc__sink_free(&k, stack);
    tc__req_free(&q);
    return rc;
}

/* ---- consume, ack ------------------------------------------------------- */

typedef struct consume_ctx {
    const char *consumer;
    char cmax[24], cidle[24];
    char **ids, **recs;
    size_t n;
} consume_ctx;

static void build_consume(tc__req *q, const scall *sc, size_t i)
{
    const consume_ctx *x = sc->ud;
    const char *w[] = {K_STREAM, GROUP, x->consumer, x->cmax, x->cidle};

    (void)i;
    script_head(q, sc, 6);
    tc__req_str(q, "1");
    for (int j = 0; j < 5; j++) {
        tc__req_str(q, w[j]);
    }
}

/* The strings are taken from the reply as they are (no copy). */
static int take_consume(tc__rcall *cl, tc__rrep *r, scall *sc, size_t i)
{
    consume_ctx *x = sc->ud;
    size_t m;

    (void)i;
    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        return tc__redis_bad_reply(cl, r);
    }
    for (size_t j = 0; j < r->elements; j++) {
        if (r->element[j].type != REDIS_REPLY_STRING) {
            return tc__redis_bad_reply(cl, &r->element[j]);
        }
    }
    if ((m = r->elements / 2) == 0) {
        return TC_OK;
    }
    x->ids = tc__calloc(m, sizeof(char *));
    x->recs = tc__calloc(m, sizeof(char *));
    if (!x->ids || !x->recs) {
        return tc__errf(tc__redis_call_err(cl), TC_ENOMEM, "%s: out of memory",
                        tc__redis_label(cl));
    }
    for (size_t j = 0; j < m; j++) {
        x->ids[j] = r->element[2 * j].str;
        x->recs[j] = r->element[2 * j + 1].str;
        r->element[2 * j].str = r->element[2 * j + 1].str = NULL;
    }
    x->n = m;
    return TC_OK;
}

static int rfb_consume(tc__store *s, const char *consumer, size_t max,
                       int64_t claim_idle_ms, char ***ids, char ***records,
                       size_t *n, tc__err *err)
{
    consume_ctx x = {consumer, "", "", NULL, NULL, 0};
    scall sc = {.which = S_CONSUME,
                .ncalls = 1,
                .build = build_consume,
                .take = take_consume,
                .ud = &x};
    int rc;

    *ids = *records = NULL;
    *n = 0;
    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    if (!consumer || !*consumer || max == 0) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK CONSUME: no consumer");
    }
    snprintf(x.cmax, sizeof(x.cmax), "%zu",
             max < CONSUME_MAX ? max : CONSUME_MAX);
    snprintf(x.cidle, sizeof(x.cidle), "%lld",
             (long long)(claim_idle_ms > 0 ? claim_idle_ms : 0));
    /* Not idempotent: sent twice, the first answer's records would wait,
     * pending, for claim_idle_ms before anyone got them. */
    rc = run_script(s, &sc, 0, consumer, 1, err);
    if (rc != TC_OK) {
        tc__fb_strings_free(x.ids, x.n);
        tc__fb_strings_free(x.recs, x.n);
        return rc;
    }
    *ids = x.ids;
    *records = x.recs;
    *n = x.n;
    return TC_OK;
}

typedef struct ack_ctx {
    const char *const *ids;
    size_t n, nkeys; /* ids that may be records' are sent */
} ack_ctx;

static void build_ack(tc__req *q, const scall *sc, size_t i)
{
    const ack_ctx *x = sc->ud;

    (void)i;
    script_head(q, sc, 1 + 1 + x->nkeys + 1);
    tc__req_i64(q, (int64_t)(1 + x->nkeys));
    tc__req_str(q, K_STREAM);
    for (size_t j = 0; j < x->n; j++) {
        if (id_ok(x->ids[j])) {
            req_cat(q, K_SEEN, x->ids[j], NULL, NULL);
        }
    }
    tc__req_str(q, GROUP);
}

static int rfb_ack(tc__store *s, const char *const *ids, size_t n, tc__err *err)
{
    ack_ctx x = {ids, n, 0};
    scall sc = {.which = S_ACK,
                .ncalls = 1,
                .build = build_ack,
                .take = take_int,
                .ud = &x};
    int rc;

    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        x.nkeys += id_ok(ids[i]); /* not ours: acknowledged already */
    }
    if (x.nkeys == 0) {
        return TC_OK;
    }
    return run_script(s, &sc, TC__REDIS_IDEMPOTENT, ids[0], n, err);
}

/* ---- stats -------------------------------------------------------------- */

static int take_stats(tc__rcall *cl, tc__rrep *r, scall *sc, size_t i)
{
    tc__fb_stats *out = sc->ud;
    size_t m;

    (void)i;
    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->elements % 2 != 1) {
        return tc__redis_bad_reply(cl, r);
    }
    for (size_t j = 0; j < r->elements; j++) {
        if (r->element[j].type !=
                (j < 3 ? REDIS_REPLY_INTEGER : REDIS_REPLY_STRING) ||
            (j < 3 && r->element[j].integer < 0)) {
            return tc__redis_bad_reply(cl, &r->element[j]);
        }
    }
    out->kept = (uint64_t)r->element[0].integer;
    out->pending = (uint64_t)r->element[1].integer;
    out->queued = (uint64_t)r->element[2].integer;
    if ((m = (r->elements - 3) / 2) == 0) {
        return TC_OK;
    }
    if (!(out->counts = tc__calloc(m, sizeof(*out->counts)))) {
        return tc__errf(tc__redis_call_err(cl), TC_ENOMEM, "%s: out of memory",
                        tc__redis_label(cl));
    }
    for (size_t j = 0; j < m; j++) {
        tc__rrep *name = &r->element[3 + 2 * j];
        const char *val = r->element[4 + 2 * j].str;
        char *end;

        out->counts[j].value = strtoull(val, &end, 10);
        if (end == val || *end != '\0') {
            return tc__errf(tc__redis_call_err(cl), TC_EPROTO,
                            "%s: counter %s is \"%s\", not a number",
                            tc__redis_label(cl), name->str, val);
        }
        out->counts[j].name = name->str;
        name->str = NULL;
        out->ncounts++;
    }
    return TC_OK;
}

static int rfb_stats(tc__store *s, tc__fb_stats *out, tc__err *err)
{
    const char *w[] = {K_STREAM, K_COUNTS, GROUP};
    scall sc = {.which = S_STATS,
                .ncalls = 1,
                .build = build_words,
                .take = take_stats,
                .ud = out,
                .words = w,
                .nwords = 3,
                .nkeys = 2};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    rc = run_script(s, &sc, TC__REDIS_IDEMPOTENT, K_STREAM, 1, err);
    if (rc != TC_OK) {
        tc__fb_stats_release(out);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* ---- export ------------------------------------------------------------- */

/* A page of XRANGE: entries of [id, [field, value, ...]]. */
static int read_page(tc__rcall *cl, tc__rsink *k, void *ud)
{
    const tc__rrep *r = &k->slot[0];

    (void)ud;
    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        return tc__redis_bad_reply(cl, r);
    }
    for (size_t i = 0; i < r->elements; i++) {
        const tc__rrep *e = &r->element[i], *id = tc__rrep_at(e, 0),
                       *f = tc__rrep_at(e, 1);

        if (!id || id->type != REDIS_REPLY_STRING || !f ||
            f->type != REDIS_REPLY_ARRAY) {
            return tc__redis_bad_reply(cl, e);
        }
    }
    return TC_OK;
}

/* The record of an entry: its "id" and "r" fields, or 0 (not ours). */
static int entry_record(const tc__rrep *e, const tc__rrep **id,
                        const tc__rrep **rec)
{
    const tc__rrep *f = tc__rrep_at(e, 1);

    *id = *rec = NULL;
    for (size_t j = 0; j + 1 < f->elements; j += 2) {
        const tc__rrep *name = &f->element[j], *v = &f->element[j + 1];

        if (name->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (strcmp(name->str, "id") == 0) {
            *id = v;
        } else if (strcmp(name->str, "r") == 0) {
            *rec = v;
        }
    }
    return *id && *rec;
}

/*
 * Pages of PAGE entries, each its own round trip, so that an export of a
 * month of records holds neither a connection nor the server for long;
 * each() runs between pages, with no connection held. Entry ids only
 * grow, so a record stored during the export is either in it or not,
 * never twice.
 *
 * Records come in the order they were stored, which is the order of
 * their ids but for a record stored after newer ones (a spool replayed
 * late, another process's clock behind): a stream only appends, so it
 * comes where it was stored, where LMDB, keyed by id, puts it in its
 * id's place.
 */
static int rfb_export(tc__store *s,
                      int (*each)(void *ud, const char *id, const char *json,
                                  size_t len),
                      void *ud, tc__err *err)
{
    char start[48] = "-", page[16];
    const char *argv[] = {"XRANGE", K_STREAM, start, "+", "COUNT", page};
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    int rc, stop = 0;
    size_t got;

    if ((rc = not_redis(s, err)) != TC_OK) {
        return rc;
    }
    snprintf(page, sizeof(page), "%d", PAGE);
    do {
        tc__req q;
        const tc__rrep *r;

        tc__req_init(&q);
        tc__req_argv(&q, 6, argv);
        tc__sink_init(&k, stack, 1, 1);
        rc = tc__redis_run(s, TC__REDIS_IDEMPOTENT, "XRANGE", K_STREAM, 1, &q,
                           &k, read_page, NULL, err);
        tc__req_free(&q);
        r = &k.slot[0];
        got = rc == TC_OK ? r->elements : 0;
        for (size_t i = 0; i < got && !stop; i++) {
            const tc__rrep *id, *rec;

            if (entry_record(&r->element[i], &id, &rec)) {
                stop = each(ud, id->str, rec->str, rec->len);
            }
        }
        if (got > 0) {
            snprintf(start, sizeof(start), "(%s",
                     r->element[got - 1].element[0].str);
        }
        tc__sink_free(&k, stack);
    } while (rc == TC_OK && !stop && got == PAGE);
    return stop ? stop : rc;
}

const tc__fb_ops tc__fb_redis_ops = {
    .put = rfb_put,
    .trim = rfb_trim,
    .count = rfb_count,
    .consume = rfb_consume,
    .ack = rfb_ack,
    .stats = rfb_stats,
    .export = rfb_export,
};
