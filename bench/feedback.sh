#!/bin/sh
# bench/feedback.sh - the feedback benchmarks of `make bench` (issue 4) and
# the cost of counting for the metrics (issue 5):
#
#   import   `tutorcache feedback import` of a generated file of
#            BENCH_RECORDS (100,000) JSON Lines, 3 in 4 corrections, into
#            a private redis-server over TCP and over a unix socket (also
#            with its append-only file on), and into a fresh LMDB directory: records per second of the whole
#            command (start-up included), every record checked to be in
#            the store afterwards. Target: >= 50,000 records/s into Redis.
#   submit   latency of tc_feedback_submit, one call at a time
#            (bench/feedback_bench.c): p50, p99, max, on the same stores.
#   metrics  an L1 hit of tc_classify and of tc_cache_get on a memory:
#            handle counting for tc_metrics_render, one opened with
#            TC_OPT_NO_METRICS, and a second counting one (the control),
#            interleaved in one process, on 1 and on 2 threads.
#
# Every measurement is taken BENCH_RUNS times, the runs interleaved (run 1
# of every store, then run 2, ...), so that a slow spell of the shared
# machine falls on all; the report gives the median and min-max.
#
# The redis-server is this script's own: a temp dir, loopback and a unix
# socket only, no persistence (but for the runs named -aof, with
# appendfsync everysec), emptied (FLUSHALL) before every run, stopped
# by its pid on exit, failure or interrupt. It and its clients run on one
# CPU (taskset -c $BENCH_CPU), as in bench/run.sh: on a small VM, a request
# that wakes a process on the other CPU pays an inter-processor wake-up each
# way. LMDB and the metrics runs have no server and run unpinned.
# Everything else (the input file, LMDB directories, spool, model) lives in
# a temp dir removed on exit; nothing is written outside it but the report.
#
# Usage: bench/feedback.sh [path/to/tutorcache]
# Environment: BENCH_RUNS (3), BENCH_RECORDS (100000), BENCH_SUBMITS
# (10000 on Redis), BENCH_SUBMITS_LMDB (3000: each one is an fsync),
# BENCH_CPU (0), BENCH_FEEDBACK_OUT (<build>/bench-feedback.md).
set -u

tc=${1:-build/tutorcache}
build=$(dirname "$tc")
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-3}
records=${BENCH_RECORDS:-100000}
nsub=${BENCH_SUBMITS:-10000}
nsub_lmdb=${BENCH_SUBMITS_LMDB:-3000}
out=${BENCH_FEEDBACK_OUT:-$build/bench-feedback.md}

bench_name=bench/feedback
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
# The bench measures the built-in defaults against its own stores.
bench_clear_env

bench_counts "BENCH_*" "$runs" "$records" "$nsub" "$nsub_lmdb"
[ -x "$tc" ] || die "$tc: not built (run make first)"
"$tc" help feedback >/dev/null 2>&1 || die "$tc: no feedback command"
bench_need_lib
"$top/scripts/deps.sh" check || die "cannot install what the benchmarks need"
command -v redis-server >/dev/null || die "redis-server: not found"

bench_pin

fb=$build/feedback_bench
bench_build_prog "$fb" "$top/bench/feedback_bench.c" ||
	die "bench/feedback_bench.c: does not build"

pid=""  # the redis-server
cpid="" # the command in progress
bench_tmp tcfeedback cpid pid
# A spool (used only if a store cannot be reached) or a default LMDB
# directory stays in the temp dir.
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"

# ---- the private redis-server ------------------------------------------------

bench_start_redis "$tmp"
pid=$redis_pid port=$redis_port sock=$redis_sock rv=$redis_version
say "redis-server $rv pid $pid, 127.0.0.1:$port and $sock${pin:+, $pin}"

# ---- the input and the model -------------------------------------------------

# Deterministic records: 3 in 4 corrections over 4 intents, confidences
# spread over 0..1, a complexity on every third, techniques on every fifth,
# 100 users; every text distinct (an override per correction).
awk -v n="$records" 'BEGIN {
	split("code_generation explanation debugging concept_question", I, " ")
	split("beginner intermediate advanced", C, " ")
	split("python rust sql javascript", L, " ")
	for (i = 1; i <= n; i++) {
		o = I[1 + i % 4]
		c = i % 4 == 0 ? o : I[1 + (i + 1 + int(i / 4)) % 4]
		if (c == o && i % 4) c = I[1 + (i + 2) % 4]
		t = c == o ? "confirmation" : "correction"
		x = i % 3 == 0 ? sprintf(",\"correct_complexity\":\"%s\"", C[1 + int(i / 3) % 3]) : ""
		y = i % 5 == 0 ? sprintf(",\"correct_techniques\":[\"%s\",\"algorithms\"]", L[1 + i % 4]) : ""
		printf "{\"text\":\"why does my %s code print the wrong value in step %d\",\"original_intent\":\"%s\",\"correct_intent\":\"%s\",\"original_confidence\":%.3f,\"feedback_type\":\"%s\"%s%s,\"user_id\":\"user%d\"}\n", L[1 + i % 4], i, o, c, (i * 37 % 1000) / 1000, t, x, y, i % 100
	}
}' >"$tmp/feedback.jsonl" || die "cannot write the input"
bytes=$(wc -c <"$tmp/feedback.jsonl")
ncorr=$(grep -c '"correction"' "$tmp/feedback.jsonl")
"$tc" --store memory: feedback import --dry-run "$tmp/feedback.jsonl" \
	>"$tmp/dry.json" 2>"$tmp/dry.err" ||
	die "the generated input does not validate: $(head -n 3 "$tmp/dry.err")"
grep -q "\"accepted\":$records," "$tmp/dry.json" ||
	die "dry run: $(cat "$tmp/dry.json")"

"$tc" train --threads 2 --seed 1 -o "$tmp/model.tcm" "$top/examples/intents.jsonl" \
	>/dev/null 2>"$tmp/train.err" || die "train: $(cat "$tmp/train.err")"

# ---- measuring -------------------------------------------------------------------

# Each result is a line "NAME RUN KEY VALUE" in $tmp/results.
: >"$tmp/results"
failed=0
record() { printf '%s %s %s %s\n' "$1" "$r" "$2" "$3" >>"$tmp/results"; }

flush() {
	redis-cli -s "$sock" flushall >/dev/null || die "FLUSHALL failed"
}

# aof yes|no: the append-only file on (appendfsync everysec, the usual
# setting of a Redis that must not lose acknowledged writes) or off; the
# rewrite that turning it on starts is let finish first.
aof() {
	if [ "$1" = yes ]; then
		if ! redis-cli -s "$sock" config set appendfsync everysec >/dev/null ||
			! redis-cli -s "$sock" config set appendonly yes >/dev/null; then
			die "CONFIG SET appendonly yes failed"
		fi
		i=0
		while redis-cli -s "$sock" info persistence |
			grep -Eq '^(aof_rewrite_in_progress|aof_rewrite_scheduled):1'; do
			i=$((i + 1))
			[ $i -lt 100 ] || die "the AOF rewrite does not end"
			sleep 0.05
		done
	else
		redis-cli -s "$sock" config set appendonly no >/dev/null ||
			die "CONFIG SET appendonly no failed"
	fi
}

# import NAME URL PINNED(yes|no)
import() {
	name=$1 url=$2 p=$3
	if [ "$p" = yes ]; then
		flush
		case $name in *-aof) aof yes ;; esac
	fi
	t0=$(date +%s%N)
	bench_run "$p" "$tc" --log-level error --store "$url" feedback import \
		"$tmp/feedback.jsonl" >"$tmp/import.json" 2>"$tmp/import.err"
	st=$?
	t1=$(date +%s%N)
	case $name in *-aof) aof no ;; esac
	if [ $st -ne 0 ]; then
		say "run $r, import $name: failed: $(head -n 3 "$tmp/import.err")"
		failed=1
		return 1
	fi
	if ! grep -q "\"accepted\":$records,\"rejected\":0,\"spooled\":0" "$tmp/import.json"; then
		say "run $r, import $name: $(cat "$tmp/import.json")"
		failed=1
		return 1
	fi
	# Every record is in the store: the stream's length on Redis, the
	# records kept on LMDB.
	if [ "$p" = yes ]; then
		got=$(redis-cli -s "$sock" xlen tc:fb:stream)
	else
		got=$("$tc" --store "$url" feedback stats --json |
			sed -n 's/.*"kept":\([0-9]*\).*/\1/p')
	fi
	if [ "$got" != "$records" ]; then
		say "run $r, import $name: $got records in the store, not $records"
		failed=1
		return 1
	fi
	record "import_$name" per_s "$(awk -v n="$records" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')"
	record "import_$name" s "$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }')"
}

# fb_record ST WHAT NAME: the end of a feedback_bench run that exited
# with ST, its key=value words in $tmp/fb.out, its messages in
# $tmp/fb.err: the words recorded under NAME; or the failure said (WHAT
# names the run) and 1 returned.
fb_record() {
	if [ "$1" -ne 0 ]; then
		say "run $r, $2: failed: $(head -n 3 "$tmp/fb.err")"
		failed=1
		return 1
	fi
	tr ' ' '\n' <"$tmp/fb.out" | while IFS= read -r kv; do
		[ -z "$kv" ] || record "$3" "${kv%%=*}" "${kv#*=}"
	done
}

# submit NAME URL PINNED N
submit() {
	name=$1 url=$2 p=$3 n=$4
	if [ "$p" = yes ]; then
		flush
		case $name in *-aof) aof yes ;; esac
	fi
	bench_run "$p" "$fb" submit -n "$n" --raw "$tmp/raw_$name.$r" "$url" \
		>"$tmp/fb.out" 2>"$tmp/fb.err"
	st=$?
	case $name in *-aof) aof no ;; esac
	fb_record $st "submit $name" "submit_$name"
}

metrics() {
	th=$1
	bench_run no "$fb" metrics --threads "$th" "$tmp/model.tcm" \
		>"$tmp/fb.out" 2>"$tmp/fb.err"
	fb_record $? "metrics on $th threads" "metrics_t$th"
}

bench_clock_start
r=1
while [ "$r" -le "$runs" ]; do
	say "run $r of $runs"
	import redis-tcp "redis://127.0.0.1:$port" yes
	import redis-unix "unix://$sock" yes
	import redis-aof "unix://$sock" yes
	import lmdb "lmdb://$tmp/lmdb$r" no
	rm -rf "$tmp/lmdb$r"
	submit redis-tcp "redis://127.0.0.1:$port" yes "$nsub"
	submit redis-unix "unix://$sock" yes "$nsub"
	submit redis-aof "unix://$sock" yes "$nsub"
	submit lmdb "lmdb://$tmp/lmdbs$r" no "$nsub_lmdb"
	rm -rf "$tmp/lmdbs$r"
	metrics 1
	metrics 2
	bench_redis_alive "$pid"
	r=$((r + 1))
done
bench_clock_stop
say "$runs runs in $elapsed s"

# The latency histogram of the submits of all runs, Redis over TCP and LMDB.
hist_redis="" hist_lmdb=""
if [ -x "$top/bench/histogram.sh" ]; then
	cat "$tmp"/raw_redis-tcp.* >"$tmp/all_redis" 2>/dev/null &&
		hist_redis=$("$top/bench/histogram.sh" values --unit us "$tmp/all_redis" 2>/dev/null)
	cat "$tmp"/raw_lmdb.* >"$tmp/all_lmdb" 2>/dev/null &&
		hist_lmdb=$("$top/bench/histogram.sh" values --unit us "$tmp/all_lmdb" 2>/dev/null)
fi

# ---- the report -------------------------------------------------------------------

# shellcheck disable=SC2016 # an awk program, not shell
report_awk=$bench_awk_range'
function add(k, v) { cnt[k]++; val[k, cnt[k]] = v + 0 }
# median (min-max) in format f; signed ones as (min..max)
function cell(k, f,    sep) {
	if (!cnt[k]) return "-"
	if (cnt[k] == 1) return sprintf(f, med(k))
	sep = index(f, "+") ? ".." : "-"
	return sprintf(f " (" f sep f ")", med(k), lo(k), hi(k))
}
{ add($1 SUBSEP $3, $4) }
END {
	name["redis-tcp"] = "Redis, TCP 127.0.0.1 (pinned)"
	name["redis-unix"] = "Redis, unix socket (pinned)"
	name["redis-aof"] = "Redis, unix socket, AOF everysec (pinned)"
	name["lmdb"] = "LMDB, fresh directory"
	n = split("redis-tcp redis-unix redis-aof lmdb", S, " ")

	printf "### Import: `tutorcache feedback import` of %d records\n\n", records
	print "| store | records/s | seconds | target >= 50,000/s |"
	print "|---|---:|---:|---|"
	for (i = 1; i <= n; i++) {
		k = "import_" S[i]
		if (!cnt[k SUBSEP "per_s"]) continue
		m = med(k SUBSEP "per_s")
		printf "| %s | %s | %s | %s |\n", name[S[i]], cell(k SUBSEP "per_s", "%.0f"),
		    cell(k SUBSEP "s", "%.2f"),
		    (S[i] ~ /^redis/ ? (m >= 50000 ? "**met**" : "**missed**") : "(no target)")
	}
	print ""
	printf "### Submit: `tc_feedback_submit`, one call at a time (%d calls on Redis, %d on LMDB, per run)\n\n", nsub, nsub_lmdb
	print "| store | p50 µs | p99 µs | max µs | mean µs | calls/s |"
	print "|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		k = "submit_" S[i]
		if (!cnt[k SUBSEP "p50_us"]) continue
		printf "| %s | %s | %s | %s | %s | %s |\n", name[S[i]],
		    cell(k SUBSEP "p50_us", "%.1f"), cell(k SUBSEP "p99_us", "%.1f"),
		    cell(k SUBSEP "max_us", "%.0f"), cell(k SUBSEP "mean_us", "%.1f"),
		    cell(k SUBSEP "per_sec", "%.0f")
	}
	print ""
	print "### Counting for the metrics: an L1 hit with metrics on and off\n"
	print "ns per call (per thread), memory: store, the three handles interleaved in one"
	print "process; `diff` and `ratio` are each round'\''s own (on - off, on / off), their"
	print "median over the rounds; `control` is a second handle with metrics on, against"
	print "the first (on2 - on): what two identical handles measure apart.\n"
	print "| call, threads | metrics on | metrics off | on - off | on / off | control: on2 - on |"
	print "|---|---:|---:|---:|---:|---:|"
	split("classify cache_get", O, " ")
	for (t = 1; t <= 2; t++) {
		for (j = 1; j <= 2; j++) {
			k = "metrics_t" t; o = O[j]
			if (!cnt[k SUBSEP o "_on_ns"]) continue
			printf "| `tc_%s`, %d | %s | %s | %s | %s | %s |\n", o, t,
			    cell(k SUBSEP o "_on_ns", "%.0f"), cell(k SUBSEP o "_off_ns", "%.0f"),
			    cell(k SUBSEP o "_diff_ns", "%+.1f"), cell(k SUBSEP o "_ratio", "%.3f"),
			    cell(k SUBSEP o "_ctl_diff_ns", "%+.1f")
		}
	}
	print ""
}'

rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')
{
	echo "## Feedback: import throughput and submit latency; the cost of metrics"
	echo
	echo "Written by \`bench/feedback.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $rev;"
	echo "$runs runs (interleaved), median (min-max); $elapsed s in all."
	echo
	awk -v records="$records" -v nsub="$nsub" -v nsub_lmdb="$nsub_lmdb" \
		"$report_awk" "$tmp/results"
	fence='```'
	if [ -n "$hist_redis" ]; then
		printf '### Submit latency, Redis over TCP, all %s runs\n\n%s\n%s\n%s\n\n' \
			"$runs" "$fence" "$hist_redis" "$fence"
	fi
	if [ -n "$hist_lmdb" ]; then
		printf '### Submit latency, LMDB, all %s runs\n\n%s\n%s\n%s\n\n' \
			"$runs" "$fence" "$hist_lmdb" "$fence"
	fi
	cat <<EOF
### How it was measured

- Input: $records JSON Lines ($bytes bytes), generated by the script: $ncorr
  corrections and $((records - ncorr)) confirmations over 4 intents, every text
  distinct, a complexity on every third record, techniques on every fifth.
  It validates in full (\`feedback import --dry-run\`) before any run.
- Import: the wall time of the whole command (process start, store connection,
  reading, validating, storing 1024 records per round trip, exit), by the
  nanosecond clock. After each run the store holds every record: \`XLEN
  tc:fb:stream\` on Redis, \`"kept"\` of \`feedback stats --json\` on LMDB, equal to
  $records; the import reports 0 rejected and 0 spooled. Redis is emptied
  (FLUSHALL) before every run, LMDB is a new directory each run. A correction
  also writes its override of the cached answer, in the same transaction.
- Submit: \`feedback_bench submit\` (bench/feedback_bench.c, linked against
  $build/libtutorcache.a) times each \`tc_feedback_submit\` call alone after 50
  untimed ones; 3 in 4 corrections; every record checked to reach the store,
  not the spool. On LMDB each call commits and flushes its own transaction.
- Metrics: \`feedback_bench metrics\`: three memory: handles (metrics on,
  \`TC_OPT_NO_METRICS\`, on again) with a classifier each on one model (trained
  on examples/intents.jsonl), 10,000 texts classified and 100,000 keys of
  200 bytes stored in each; then 15 rounds, each timing 30,000 L1 hits per
  thread of \`tc_classify\` and of \`tc_cache_get\` on every handle, in the order
  A B C C B A, rotated each round. Every call is checked to come from the L1.
  \`tc_cache_get\` has no metrics hook of its own (its counts come from the
  per-namespace counters that \`tc_cache_stats\` reads, on in every handle), so
  its on/off difference is a second control.
- Redis: $rv, loopback and a unix socket, no persistence (\`save ""\`,
  \`appendonly no\`), except the AOF rows: \`appendonly yes\`,
  \`appendfsync everysec\` (set by CONFIG SET for that run, its first rewrite
  let finish before the clock starts; the AOF on the same disk as LMDB). The
  server and its client pinned together (\`${pin:-not pinned}\`).
  LMDB on $(df -T "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }') (\`$tmp\`).

### Commands

\`\`\`sh
tutorcache --store redis://127.0.0.1:PORT feedback import feedback.jsonl  # taskset -c $cpu
tutorcache --store unix://DIR/redis.sock feedback import feedback.jsonl   # taskset -c $cpu
tutorcache --store lmdb://DIR/lmdb feedback import feedback.jsonl
feedback_bench submit -n $nsub redis://127.0.0.1:PORT                   # taskset -c $cpu
feedback_bench submit -n $nsub_lmdb lmdb://DIR/lmdb
feedback_bench metrics --threads 1 model.tcm     # and --threads 2
\`\`\`

### Machine

- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs online; kernel $(uname -r)
- Load average (1, 5, 15 min) at the start: $load0; at the end: $load1 (a shared VM)
- Compiler: $(${CC:-cc} --version | head -n 1); CFLAGS ${CFLAGS:--O2 -g}
- $("$tc" --version 2>/dev/null | head -n 1)
EOF
} >"$tmp/report" || die "cannot write the report"
mv "$tmp/report" "$out" 2>/dev/null || cp "$tmp/report" "$out" || die "$out: cannot write"
say "report in $out"
cat "$out"
exit $failed
