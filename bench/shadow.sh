#!/bin/sh
# bench/shadow.sh - what shadow checks cost a cache hit (BENCHMARKS.md,
# "Shadow checks"): L1 hits of tc_classify with shadow_rate 0 and with
# SHADOW_RATE (0.01), in alternating rounds of one run, on LMDB (an L1
# hit never reaches the store); and, when valgrind is there, the
# instructions of an L1 hit on the caller's thread at both rates
# (callgrind on hit_loop, N and 2N hits, the difference over N, as
# bench/hotpath.sh does), which leaves out the checks' own thread.
#
# Usage: bench/shadow.sh [build-dir]
# Environment: SHADOW_N (1000000 hits per round), SHADOW_RATE (0.01),
# SHADOW_CG_N (20000 hits under callgrind), CC, CFLAGS, LDFLAGS for the
# driver.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
n=${SHADOW_N:-1000000}
rate=${SHADOW_RATE:-0.01}

bench_name=bench/shadow
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

case $n in *[!0-9]* | "") die "SHADOW_N: a count" ;; esac
bench_tmp tcshadow
bench_clear_env

prog=$build/shadow_bench
bench_build_prog "$prog" "$top/bench/shadow.c" || die "bench/shadow.c: does not build"
"$prog" "lmdb://$tmp/lmdb" -n "$n" --rate "$rate" || die "the driver failed"

if ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts"
	exit 0
fi
cg_n=${SHADOW_CG_N:-20000}
for only in 0 1; do
	ir=$(bench_ir_per_call "$tmp" hit_loop "$cg_n" "$prog" \
		"lmdb://$tmp/cg$only" --rate "$rate" --only "$only") || exit 1
	r=$rate
	[ "$only" = 1 ] || r=0
	echo "instructions per L1 hit on the caller's thread, shadow_rate=$r: $ir"
done
