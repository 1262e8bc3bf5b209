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

bench_counts "COHERENCE_ROUNDS, COHERENCE_N" "$rounds" "$n"
# unpinned: both processes and the server share the CPUs
bench_redis_driver coherence
url=redis://127.0.0.1:$redis_port

"$prog" "$url" -n "$rounds" || die "the driver failed"

if ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts"
	exit 0
fi
for mode in hit-on hit-off; do
	ir=$(bench_ir_per_call "$tmp" hit_loop "$n" "$prog" "$url" \
		--only "$mode") || exit 1
	echo "instructions $mode: $ir per L1 hit"
done
