#!/bin/sh
# bench/coherence.sh - L1 coherence across processes, measured on a
# private redis-server (BENCHMARKS.md, "L1 coherence"): the time from a
# set in one process to another process serving the new value (p50, p99,
# max), seconds per L1 hit, L2 read and set with tracking on and off,
# the GETs the server runs per set kept in L1, and, when valgrind is
# there, the instructions of an L1 hit with
# tracking on and off (callgrind, N and 2N calls, the difference over N,
# as bench/hotpath.sh does).
#
# Usage: bench/coherence.sh [build-dir]
# Environment: COHERENCE_ROUNDS (1000 latency rounds), COHERENCE_N (10000
# hits under callgrind), CC, CFLAGS, LDFLAGS for the driver.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${COHERENCE_ROUNDS:-1000}
n=${COHERENCE_N:-10000}

bench_name=bench/coherence
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

case $rounds$n in *[!0-9]*) die "COHERENCE_ROUNDS, COHERENCE_N: counts" ;; esac
redis_pid=
bench_tmp tccoherence redis_pid
pin="" # unpinned: both processes and the server share the CPUs

prog=$build/coherence_bench
bench_build_prog "$prog" "$top/bench/coherence.c" ||
	die "bench/coherence.c: does not build"
bench_start_redis "$tmp"
url=redis://127.0.0.1:$redis_port
say "redis $redis_version on port $redis_port"

"$prog" "$url" -n "$rounds" || die "the driver failed"

if ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts"
	exit 0
fi
for mode in hit-on hit-off; do
	for k in 1 2; do
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
			--collect-atstart=no --toggle-collect=hit_loop \
			"$prog" "$url" --only "$mode" -n $((n * k)) >/dev/null \
			2>"$tmp/err" || die "callgrind $mode: $(tail -n 3 "$tmp/err")"
		eval "ir$k=\$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' \"\$tmp/err\")"
	done
	# shellcheck disable=SC2154 # ir1, ir2 set by eval
	awk -v m="$mode" -v a="$ir1" -v b="$ir2" -v n="$n" 'BEGIN {
		printf "instructions %s: %.1f per L1 hit\n", m, (b - a) / n }'
done
