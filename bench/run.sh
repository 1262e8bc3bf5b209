#!/bin/sh
# bench/run.sh - the benchmarks of `make bench` (see BENCHMARKS.md).
#
# Runs `tutorcache bench cache --json --equal-work` against memory:, a
# fresh LMDB directory, and a private redis-server over TCP and over a
# unix socket, BENCH_RUNS times, collects the JSON lines in
# <build>/bench-cache.jsonl and prints the medians with their spread.
# Each run cuts every scenario into BENCH_ROUNDS slices taken in turn with
# its raw peers (--rounds), so that on a shared, noisy machine a slow
# spell falls on both sides of a ratio.
#
# The redis-server is this script's own: a temp dir, loopback and a unix
# socket only, no persistence, stopped by its pid on exit, failure or
# interrupt. The client and the server are pinned to the same CPU
# (taskset -c $BENCH_CPU): on a small VM a request that wakes a process on
# another CPU pays an inter-processor wake-up each way, which costs more
# than the command and makes the numbers swing with the scheduler.
# memory: and LMDB have no server and run unpinned, so that their
# _threadsN runs get the cores they are named after.
#
# Usage: bench/run.sh [path/to/tutorcache]
# Environment: BENCH_RUNS (3), BENCH_SECONDS per scenario and run (0.6),
# BENCH_ROUNDS (6), BENCH_THREADS (the cores), BENCH_CPU (0),
# BENCH_OUT (<build>/bench-cache.jsonl).
set -u

# The bench measures the built-in defaults against its own stores: no
# configuration of the caller's may change a TTL or turn caching off.
unset TUTORCACHE_URL TUTORCACHE_CONFIG REDIS_HOST REDIS_PORT REDIS_DB \
	REDIS_PASSWORD CACHE_TTL ENABLE_CACHING

tc=${1:-build/tutorcache}
runs=${BENCH_RUNS:-3}
seconds=${BENCH_SECONDS:-0.6}
rounds=${BENCH_ROUNDS:-6}
threads=${BENCH_THREADS:-$(nproc 2>/dev/null || echo 1)}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$(dirname "$tc")/bench-cache.jsonl}
summary=${out%.jsonl}-summary.txt

bench_name=bench
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

[ -x "$tc" ] || die "$tc: not built (run make first)"
bench_counts "BENCH_RUNS, BENCH_ROUNDS, BENCH_THREADS" "$runs" "$rounds" "$threads"
"$top/scripts/deps.sh" bench || die "cannot install what the benchmarks need"
command -v redis-server >/dev/null || die "redis-server: not found"

bench_pin

pid=""  # the redis-server
cpid="" # the run in progress
bench_tmp tcbench cpid pid

# ---- the private redis-server --------------------------------------------

bench_start_redis "$tmp"
pid=$redis_pid port=$redis_port sock=$redis_sock
say "redis-server $redis_version pid $pid, 127.0.0.1:$port and $sock${pin:+, $pin}"

# ---- the runs ---------------------------------------------------------------

: >"$out" || die "$out: cannot write"
failed=0
# One run on one store: one NAME URL PINNED(yes|no). Each Redis run starts
# from an empty server, so that every run does the same work.
one() {
	name=$1 url=$2 p=$3
	if [ "$p" = yes ]; then
		if ! redis-cli -s "$sock" flushall >/dev/null; then
			say "run $r, $name: FLUSHALL failed"
			failed=1
			return 1
		fi
	fi
	# A run takes ~10 s (bench_run: under a timeout, interruptible).
	bench_run "$p" "$tc" --log-level error --store "$url" bench cache \
		--json --seconds "$seconds" --rounds "$rounds" --threads "$threads" \
		--equal-work >"$tmp/run.json" 2>"$tmp/run.err"
	st=$?
	[ "$p" != yes ] || bench_redis_alive "$pid"
	if [ $st -eq 0 ]; then
		sed "s/^{/{\"run\":$r,\"store\":\"$name\",/" "$tmp/run.json" >>"$out"
	else
		say "run $r, $name: failed: $(cat "$tmp/run.err")"
		failed=1
	fi
}

t0=$(date +%s)
r=1
while [ "$r" -le "$runs" ]; do
	say "run $r of $runs"
	one memory memory: no
	one lmdb "lmdb://$tmp/lmdb$r" no
	rm -rf "$tmp/lmdb$r"
	one redis-tcp "redis://127.0.0.1:$port" yes
	one redis-unix "unix://$sock" yes
	r=$((r + 1))
done
say "$runs runs in $(($(date +%s) - t0)) s; JSON lines in $out"

# ---- the summary ------------------------------------------------------------

# Medians and spread per store and scenario, then the ratios against their
# targets. The ratios are each run's own (its vs_raw, vs_equal_work), so
# a slow spell that hit one run hits both sides of its ratio.
# shellcheck disable=SC2016 # an awk program, not shell
summary_awk=$bench_awk_range'
function field(line, name,    re) {
	re = "\"" name "\":(\"[^\"]*\"|[-+0-9.eE]+)"
	if (!match(line, re)) {
		return ""
	}
	line = substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
	gsub(/"/, "", line)
	return line
}
function add(k, v) {
	if (v == "") {
		return
	}
	cnt[k]++
	val[k, cnt[k]] = v + 0
}
function ratio(st, sc, f, what, target,    k, m) {
	k = st SUBSEP sc SUBSEP f
	if (!cnt[k]) {
		return
	}
	m = med(k)
	printf "%-11s %-46s %5.2f  %4.2f..%-5.2f %s\n", st, what, m, lo(k), hi(k),
	    (target == "" ? "(same protocol work)" : \
	    sprintf("(>= %s: %s)", target, (m >= target ? "met" : "MISSED")))
}
{
	st = field($0, "store"); sc = field($0, "scenario")
	if (st == "" || sc == "") {
		next
	}
	if (!(st in seen)) {
		seen[st] = 1; stores[++nst] = st
	}
	if (!((st SUBSEP sc) in seen2)) {
		seen2[st SUBSEP sc] = 1; nsc[st]++; scen[st, nsc[st]] = sc
	}
	add(st SUBSEP sc SUBSEP "ops", field($0, "ops_per_sec"))
	add(st SUBSEP sc SUBSEP "p50", field($0, "p50_us"))
	add(st SUBSEP sc SUBSEP "p99", field($0, "p99_us"))
	add(st SUBSEP sc SUBSEP "raw", field($0, "vs_raw"))
	add(st SUBSEP sc SUBSEP "eq", field($0, "vs_equal_work"))
	add(st SUBSEP sc SUBSEP "cpu", field($0, "ops_per_cpu_sec"))
	errors[st, sc] += field($0, "errors")
}
END {
	for (i = 1; i <= nst; i++) {
		st = stores[i]
		printf "%s: median of %d runs\n", st, cnt[st SUBSEP scen[st, 1] SUBSEP "ops"]
		printf "  %-26s %11s %21s %7s %8s %8s %6s\n", "scenario", "ops/s",
		    "min..max", "spread", "p50 us", "p99 us", "errors"
		for (j = 1; j <= nsc[st]; j++) {
			sc = scen[st, j]; k = st SUBSEP sc SUBSEP "ops"; m = med(k)
			printf "  %-26s %11.0f %10.0f..%-10.0f %6.1f%% %8.2f %8.2f %6d\n",
			    sc, m, lo(k), hi(k), (m > 0 ? 100 * (hi(k) - lo(k)) / m : 0),
			    med(st SUBSEP sc SUBSEP "p50"), med(st SUBSEP sc SUBSEP "p99"),
			    errors[st, sc]
		}
		print ""
	}
	print "ratios of ops/s: median of the runs, min..max"
	for (i = 1; i <= nst; i++) {
		st = stores[i]
		for (t = 0; t < 2; t++) {
			sfx = ""
			for (j = 1; j <= nsc[st]; j++) {
				if (t && scen[st, j] ~ /^l2_hit_threads/) {
					sfx = substr(scen[st, j], 7)
				}
			}
			if (t && sfx == "") {
				continue
			}
			ratio(st, "l2_hit" sfx, "raw", "l2_hit" sfx " / raw_get" sfx, 0.9)
			ratio(st, "l2_batch16" sfx, "raw",
			    "l2_batch16" sfx " / raw_pipe16" sfx, 0.8)
			ratio(st, "l2_hit" sfx, "eq", "l2_hit" sfx " / raw_get_pttl" sfx, "")
			ratio(st, "l2_batch16" sfx, "eq",
			    "l2_batch16" sfx " / raw_pipe16_pttl" sfx, "")
		}
	}
	print ""
	print "l1_hit per thread, 100k entries (target >= 2 M/s): ops per second of"
	print "wall time, and of the CPU time of its threads (time taken by other"
	print "processes left out); median of the runs, min..max"
	for (i = 1; i <= nst; i++) {
		st = stores[i]
		for (j = 1; j <= nsc[st]; j++) {
			sc = scen[st, j]
			if (sc !~ /^l1_hit/) {
				continue
			}
			k = st SUBSEP sc SUBSEP "ops"; c = st SUBSEP sc SUBSEP "cpu"
			th = sc ~ /_threads/ ? substr(sc, 15) + 0 : 1
			m = med(k) / th
			printf "  %-11s %-16s wall %5.2f M/s (%4.2f..%-4.2f)", st, sc,
			    m / 1e6, lo(k) / th / 1e6, hi(k) / th / 1e6
			if (cnt[c]) {
				printf "  CPU %5.2f M/s (%4.2f..%-4.2f) %s", med(c) / 1e6,
				    lo(c) / 1e6, hi(c) / 1e6, (med(c) >= 2e6 ? "met" : "MISSED")
			}
			printf "\n"
		}
	}
}'

{
	printf 'tutorcache bench: %s runs; per run %s s a scenario in %s rounds; %s threads; %s\n' \
		"$runs" "$seconds" "$rounds" "$threads" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf 'host: %s; %s CPUs; kernel %s; redis-server %s; git %s\n' \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		"$(nproc)" "$(uname -r)" \
		"$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" \
		"$(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	printf 'redis runs pinned: %s\n\n' "${pin:-no}"
	awk "$summary_awk" "$out"
} | tee "$summary"
exit $failed
