#!/bin/sh
# bench/chaos.sh - faults, measured: a mixed load against a real Redis while
# the Redis is killed, paused, slept, filled, flushed and restarted; then an
# import that is killed half way and run again, on Redis and on LMDB.
#
#   load     bench/chaos.c: CHAOS_THREADS threads on one handle doing
#            tc_cache_get/set/mget, tc_classify through the cache (the
#            example model, trained here from examples/intents.jsonl) and
#            tc_feedback_submit of unique, known records, while this script
#            applies, one after another with gaps between them:
#              kill      SIGKILL, 1 s down, restart (appendonly yes,
#                        appendfsync $CHAOS_APPENDFSYNC)
#              pause     SIGSTOP for 2 s, SIGCONT
#              sleep     DEBUG SLEEP 2
#              maxmemory CONFIG SET maxmemory a little above the memory in
#                        use, noeviction, until Redis refuses a write; 2 s
#                        full; then no limit again
#              flushall  FLUSHALL (after an export of the feedback stored)
#              restart   SIGTERM, restart
#            It reports calls, caller-visible errors (a return other than
#            the documented outcomes under a failing store), the slowest
#            call against the timeout, per fault the errors and slowest
#            call, and how long after each restart the handle used the L2
#            again (its probe: a tc_cache_del every 20 ms).
#   feedback every record the load submitted against what the store holds
#            (the export before the FLUSHALL and the one at the end):
#            accepted and lost, stored twice. Records whose call overlaps
#            the export and the FLUSHALL are not judged: the flush removes
#            them by design.
#   import   `tutorcache feedback import` of CHAOS_IMPORT_RECORDS (50,000)
#            generated records with explicit timestamps, SIGKILL once the
#            store holds half of them, then the same import again: records
#            stored against the file, lost and duplicated, on Redis (db 1 of
#            the same server) and on LMDB.
#
# The redis-server is this script's own (bench/lib.sh): a temp dir,
# loopback and a unix socket, stopped by its pid on exit, failure or
# interrupt, as is every process the script starts. The spool and LMDB
# directory stay in the temp dir, removed on exit. The report, markdown,
# goes to stdout and to CHAOS_OUT.
#
# Usage: bench/chaos.sh [path/to/tutorcache]
# Environment: CHAOS_SECONDS (60: the load, faults included; at least 20),
# CHAOS_THREADS (2), CHAOS_TIMEOUT_MS (250: connect and command timeout),
# CHAOS_APPENDFSYNC (everysec; always or no), CHAOS_IMPORT_RECORDS (50000),
# CHAOS_OUT (<build>/bench-chaos.md).
set -u

tc=${1:-build/tutorcache}
build=$(dirname "$tc")
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${CHAOS_SECONDS:-60}
threads=${CHAOS_THREADS:-2}
tmo=${CHAOS_TIMEOUT_MS:-250}
fsync=${CHAOS_APPENDFSYNC:-everysec}
nimport=${CHAOS_IMPORT_RECORDS:-50000}
out=${CHAOS_OUT:-$build/bench-chaos.md}

bench_name=bench/chaos
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
# The bench measures the built-in defaults against its own stores.
bench_clear_env

bench_counts "CHAOS_*" "$secs" "$threads" "$tmo" "$nimport"
[ "$secs" -ge 20 ] || die "CHAOS_SECONDS: at least 20 (six faults and their gaps)"
[ "$nimport" -ge 2000 ] || die "CHAOS_IMPORT_RECORDS: at least 2000"
case $fsync in always | everysec | no) ;; *) die "CHAOS_APPENDFSYNC: always, everysec or no" ;; esac
[ -x "$tc" ] || die "$tc: not built (run make first)"
bench_need_lib
for c in redis-server redis-cli timeout; do
	command -v $c >/dev/null || die "$c: not found"
done

drv=$build/chaos
bench_build_prog "$drv" "$top/bench/chaos.c" || die "bench/chaos.c: does not build"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcchaos.XXXXXX") || die "mktemp failed"
pid=""  # the redis-server
dpid="" # the load
cpid="" # an import
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for q in $dpid $cpid; do
		kill "$q" 2>/dev/null
	done
	if [ -n "$pid" ]; then
		kill -CONT "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	fi
	for q in $dpid $cpid $pid; do
		wait "$q" 2>/dev/null
	done
	rm -rf "$tmp"
}
bench_traps cleanup
# The spool (used while the store cannot be reached) stays in the temp dir.
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
spool=$tmp/state/tutorcache/feedback.spool

now_ms() { date +%s%3N; }
rcli() { timeout 10 redis-cli -s "$sock" "$@"; }

# ---- the private redis-server, with persistence ------------------------------

mkdir -p "$tmp/redis" "$tmp/run" || die "mkdir failed"
pin="" # unpinned: the server and the load share the CPUs
# shellcheck disable=SC2034 # read by bench_start_redis
bench_redis_conf="appendonly yes
appendfsync $fsync
enable-debug-command local"
bench_start_redis "$tmp/redis"
pid=$redis_pid port=$redis_port sock=$redis_sock rv=$redis_version
url=redis://127.0.0.1:$port/0
say "redis-server $rv pid $pid, 127.0.0.1:$port, appendfsync $fsync"

# restart: the server again on its own files and port; sets $launch and
# $up (ms: when it was started, when it first answered PING).
restart() {
	launch=$(now_ms)
	redis-server "$tmp/redis/redis.conf" &
	pid=$!
	_i=0
	until [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; do
		kill -0 "$pid" 2>/dev/null ||
			die "redis-server does not restart: $(tail -n 3 "$tmp/redis/redis.log")"
		_i=$((_i + 1))
		[ $_i -lt 300 ] || die "redis-server: no answer 30 s after its restart"
		sleep 0.1
	done
	up=$(now_ms)
}

# ---- the model -------------------------------------------------------------------

"$tc" train --threads 2 --seed 1 -o "$tmp/model.tcm" "$top/examples/intents.jsonl" \
	>/dev/null 2>"$tmp/train.err" || die "train: $(cat "$tmp/train.err")"

# ---- the load and the faults -------------------------------------------------

# Each fault is a line "NAME START END LAUNCH UP" in $tmp/events (ms;
# LAUNCH, UP: when the server was started again and first answered, or -).
# The kill's and the restart's END is UP.
: >"$tmp/events"
event() { printf '%s %s %s %s %s\n' "$1" "$2" "$3" "${4:--}" "${5:--}" >>"$tmp/events"; }
# The faults take about 14 s; the rest is spread before, between and after.
gap=$(((secs - 14) / 7))

"$drv" --threads "$threads" --seconds $((secs * 3)) --timeout-ms "$tmo" \
	--model "$tmp/model.tcm" --texts "$top/examples/intents.jsonl" \
	--out "$tmp/run" "$url" 2>"$tmp/run/stderr" &
dpid=$!
say "load: pid $dpid, $threads threads; faults every ${gap}s"
sleep "$gap"

kill -0 "$dpid" 2>/dev/null || die "the load stopped: $(cat "$tmp/run/stderr")"
t=$(now_ms)
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 1
restart
event kill "$t" "$up" "$launch" "$up"
sleep "$gap"

t=$(now_ms)
kill -STOP "$pid"
sleep 2
kill -CONT "$pid"
event pause "$t" "$(now_ms)"
sleep "$gap"

t=$(now_ms)
rcli debug sleep 2 >/dev/null || die "DEBUG SLEEP refused"
event sleep "$t" "$(now_ms)"
sleep "$gap"

# Full: a little above what is in use, so that the load's own writes fill
# it; a server the load cannot fill within 5 s gets a limit of 1 byte.
t=$(now_ms)
used=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
[ -n "$used" ] || die "INFO memory: no used_memory"
rcli config set maxmemory-policy noeviction >/dev/null || die "CONFIG SET refused"
rcli config set maxmemory $((used + 262144)) >/dev/null || die "CONFIG SET refused"
full=""
i=0
while [ $i -lt 50 ]; do
	case $(rcli set chaos:fill "$i" 2>&1) in *OOM*)
		full=$(now_ms)
		break
		;;
	esac
	i=$((i + 1))
	sleep 0.1
done
if [ -z "$full" ]; then
	rcli config set maxmemory 1 >/dev/null
	full=$(now_ms)
	fill="not filled by the load in 5 s: limit set to 1 byte"
else
	fill="filled by the load in $((full - t)) ms"
fi
sleep 2
rcli config set maxmemory 0 >/dev/null || die "CONFIG SET refused"
event maxmemory "$t" "$(now_ms)"
say "maxmemory: $fill"
sleep "$gap"

# The feedback stored so far, then the flush. The CLI replays any spool
# first, as any process's first feedback call does.
exp1=$(now_ms)
"$tc" --store "$url" feedback export >"$tmp/export1.jsonl" 2>"$tmp/export1.err" ||
	die "export before the flush: $(cat "$tmp/export1.err")"
rcli flushall >/dev/null || die "FLUSHALL refused"
flushed=$(now_ms)
event flushall "$exp1" "$flushed"
sleep "$gap"

t=$(now_ms)
kill -TERM "$pid"
wait "$pid" 2>/dev/null
restart
event restart "$t" "$up" "$launch" "$up"
sleep "$gap"

kill -TERM "$dpid"
wait "$dpid"
st=$?
dpid=""
[ $st -eq 0 ] || die "the load failed ($st): $(cat "$tmp/run/stderr")"
say "load done"

# ---- feedback: submitted against stored ---------------------------------------

spool_left=0
[ -f "$spool" ] && spool_left=$(wc -l <"$spool")
"$tc" --store "$url" feedback export >"$tmp/export2.jsonl" 2>"$tmp/export2.err" ||
	die "final export: $(cat "$tmp/export2.err")"
spool_after=0
[ -f "$spool" ] && spool_after=$(wc -l <"$spool")

# The records' texts are unique and hold no quote or backslash.
cat "$tmp"/run/feedback.* >"$tmp/submitted.tsv"
fbstats=$(awk -F '\t' -v x1="$exp1" -v fl="$flushed" -v kill="$(awk '$1 == "kill" { print $2 }' "$tmp/events")" '
	function text(line) {
		if (match(line, /"text":"[^"]*"/)) return substr(line, RSTART + 8, RLENGTH - 9)
		return ""
	}
	FILENAME ~ /export1/ { c1[text($0)]++; n1++; next }
	FILENAME ~ /export2/ { c2[text($0)]++; n2++; next }
	{
		sub_n++
		n = ($1 in c1 ? c1[$1] : 0) + ($1 in c2 ? c2[$1] : 0)
		if ($2 != "TC_OK") { refused++; if (n > 0) refstored++; next }
		ok++
		spooled += $3
		if ($5 < x1) { before++; if (n == 0) { lost++; if ($5 >= kill - 2000 && $5 < kill) nearkill++ } }
		else if ($4 > fl) { after++; if (!($1 in c2)) lost++ }
		else window++
	}
	END {
		for (t in c1) { if (c1[t] > 1) dup += c1[t] - 1; if (t in c2) dup++ }
		for (t in c2) if (c2[t] > 1) dup += c2[t] - 1
		printf "submitted=%d accepted=%d spooled=%d refused=%d refused_stored=%d judged=%d window=%d lost=%d lost_near_kill=%d dup=%d export1=%d export2=%d\n",
			sub_n, ok, spooled, refused, refstored, before + after, window, lost, nearkill, dup, n1, n2
	}' "$tmp/export1.jsonl" "$tmp/export2.jsonl" "$tmp/submitted.tsv")
say "feedback: $fbstats"
fbv() { printf '%s\n' "$fbstats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# ---- import killed half way, then run again ------------------------------------

awk -v n="$nimport" 'BEGIN {
	split("code_generation explanation debugging concept_question", I, " ")
	for (i = 1; i <= n; i++) {
		o = I[1 + i % 4]
		c = I[1 + (i + 1) % 4]
		printf "{\"text\":\"chaos import record %d of my loop\",\"original_intent\":\"%s\",\"correct_intent\":\"%s\",\"original_confidence\":0.5,\"feedback_type\":\"correction\",\"user_id\":\"chaos\",\"timestamp\":\"2026-01-01T00:00:%02d.%03dZ\"}\n", i, o, c, int(i / 1000) % 60, i % 1000
	}
}' >"$tmp/import.jsonl" || die "cannot write the import file"

# kept URL: the records the store holds within their retention, or "".
kept() {
	"$tc" --store "$1" feedback stats --json 2>/dev/null |
		sed -n 's/.*"kept":\([0-9]*\).*/\1/p'
}

# import_case NAME URL: sets imp_NAME (stored=, lost=, dup=: the export
# against the file) and imp_NAME_at (the records stored at the kill).
import_case() {
	_name=$1 _url=$2
	"$tc" --store "$_url" feedback import "$tmp/import.jsonl" \
		>"$tmp/imp-$_name-1.out" 2>"$tmp/imp-$_name-1.err" &
	cpid=$!
	_half=$((nimport / 2)) _at="" _k=0
	while kill -0 "$cpid" 2>/dev/null; do
		_k=$(kept "$_url")
		if [ "${_k:-0}" -ge "$_half" ]; then
			kill -KILL "$cpid" 2>/dev/null
			_at=$_k
			break
		fi
		sleep 0.02
	done
	wait "$cpid"
	_st=$?
	cpid=""
	if [ -z "$_at" ]; then
		say "import $_name: ended ($_st) before half was stored; rerun all the same"
		_at="$(kept "$_url") (not killed: exit $_st)"
	elif [ "$_st" -ne 137 ]; then
		_at="$(kept "$_url") (ended before the kill: exit $_st)"
	else
		_at=$(kept "$_url")
	fi
	timeout 600 "$tc" --store "$_url" feedback import "$tmp/import.jsonl" \
		>"$tmp/imp-$_name-2.out" 2>"$tmp/imp-$_name-2.err" ||
		die "import $_name, rerun: $(tail -n 3 "$tmp/imp-$_name-2.err")"
	"$tc" --store "$_url" feedback export >"$tmp/imp-$_name.jsonl" 2>"$tmp/imp-$_name.err" ||
		die "export $_name: $(cat "$tmp/imp-$_name.err")"
	_r=$(awk -v n="$nimport" '
		match($0, /"text":"chaos import record [0-9]+ /) {
			t = substr($0, RSTART + 28, RLENGTH - 29); c[t]++; s++ }
		END {
			for (i = 1; i <= n; i++) { if (!(i in c)) lost++; else if (c[i] > 1) dup += c[i] - 1 }
			printf "stored=%d lost=%d dup=%d", s, lost, dup
		}' "$tmp/imp-$_name.jsonl")
	eval "imp_$_name=\$_r imp_${_name}_at=\$_at"
	say "import $_name: killed at $_at stored; after the rerun $_r"
}
import_case redis "redis://127.0.0.1:$port/1"
import_case lmdb "lmdb://$tmp/lmdb"
impv() { eval "printf '%s\n' \"\$imp_$1\"" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# ---- the report ------------------------------------------------------------------

sv() { sed -n "s/^$1=//p" "$tmp/run/summary"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

# Per fault: errors and slowest call from its start to 2 s after its end;
# for a restart, when the server answered and when the probe first reached
# it, both from the server's launch.
faults=$(while read -r name start end launch upt; do
	w=$(awk -v a="$start" -v b=$((end + 2000)) '$1 + 100 > a && $1 <= b {
		c += $2; e += $3; if ($4 > m) m = $4 } END { printf "%d %d %d", c, e, m }' "$tmp/run/timeline")
	# shellcheck disable=SC2086 # three numbers
	set -- $w
	back=- srv=-
	if [ "$upt" != - ]; then
		srv=$((upt - launch))
		back=$(awk -v a="$start" -v l="$launch" '
			$1 < a { st = $2; next }
			{ seen = 1 }
			$2 == 1 { print $1 - l; found = 1; exit }
			END { if (!found) print (!seen && st == 1) ? "not lost" : "never" }' "$tmp/run/probe")
	fi
	printf '| %s | %d ms | %s | %s | %s ms | %s | %s |\n' "$name" $((end - start)) "$1" "$2" "$(ms "$3")" "$srv" "$back"
done <"$tmp/events")
backs=$(printf '%s\n' "$faults" | awk -F '|' '$8 !~ /-/ { gsub(/ /, "", $2); gsub(/^ | $/, "", $8); printf "%s%s %s ms", s, $2, $8; s = ", " }')

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$top" status --porcelain 2>/dev/null | grep -q . && echo ", working tree modified")
{
	printf '# Faults, measured\n\n'
	printf 'bench/chaos.sh at %s%s, %s, %s CPUs (%s), redis-server %s, appendfsync %s; ' \
		"$commit" "$dirty" "$(date -u +%Y-%m-%d)" "$(nproc)" "$cpu" "$rv" "$fsync"
	printf '%s threads for %s s, timeout %s ms (connect and command); maxmemory %s.\n\n' \
		"$(sv threads)" "$(sv seconds)" "$(sv timeout_ms)" "$fill"
	printf '| calls | errors | slowest call | calls over the timeout | L2 used again, ms after launch | feedback lost | feedback duplicated |\n'
	printf '| ---: | ---: | ---: | ---: | --- | ---: | ---: |\n'
	printf '| %s | %s | %s ms (timeout %s ms) | %s | %s | %s of %s | %s |\n\n' \
		"$(sv calls)" "$(sv errors)" "$(ms "$(sv max_us)")" "$(sv timeout_ms)" \
		"$(sv over_timeout)" "$backs" "$(fbv lost)" "$(fbv judged)" "$(fbv dup)"
	printf '| kind | calls | errors | slowest |\n| --- | ---: | ---: | ---: |\n'
	for k in get set mget classify feedback; do
		printf '| %s | %s | %s | %s ms |\n' "$k" "$(sv ${k}_calls)" "$(sv ${k}_errors)" "$(ms "$(sv ${k}_max_us)")"
	done
	printf '\nPer fault, from its start to 2 s after its end. For a restart, in ms from the launch of the new server: when it first answered PING (the script polls every 100 ms) and when the handle first used it (its probe, a tc_cache_del, runs every 20 ms).\n\n'
	printf '| fault | lasted | calls | errors | slowest | server up | L2 used again |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
	printf '%s\n\n' "$faults"
	if [ -s "$tmp/run/errors" ]; then
		printf 'Errors seen (call, code, how many, the first one'"'"'s detail):\n\n'
		sed 's/^/    /' "$tmp/run/errors"
		printf '\n'
	fi
	printf 'Feedback: %s submitted, %s accepted (%s of them spooled), %s refused (%s of those stored all the same); ' \
		"$(fbv submitted)" "$(fbv accepted)" "$(fbv spooled)" "$(fbv refused)" "$(fbv refused_stored)"
	printf '%s judged against the exports (before the flush and at the end), %s not judged (their call overlapped the export and the FLUSHALL); ' \
		"$(fbv judged)" "$(fbv window)"
	printf 'lost %s (%s acknowledged in the 2 s before the SIGKILL), duplicated %s; %s lines left in the spool when the load ended, %s after the final export.\n\n' \
		"$(fbv lost)" "$(fbv lost_near_kill)" "$(fbv dup)" "$spool_left" "$spool_after"
	printf 'Import of %s records, SIGKILL once half were stored, then the whole file again:\n\n' "$nimport"
	printf '| store | stored at the kill | stored after the rerun | lost | duplicated |\n| --- | ---: | ---: | ---: | ---: |\n'
	for s in redis lmdb; do
		printf '| %s | %s | %s | %s | %s |\n' "$s" "$(eval "printf '%s' \"\$imp_${s}_at\"")" "$(impv $s stored)" "$(impv $s lost)" "$(impv $s dup)"
	done
} >"$tmp/report.md"
cp "$tmp/report.md" "$out" || die "$out: cannot write"
cat "$tmp/report.md"
