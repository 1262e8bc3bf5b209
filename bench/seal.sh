#!/bin/sh
# bench/seal.sh - the cost of encryption at rest on the L2 path
# (BENCHMARKS.md, "Encryption at rest"): an L2 get and set of a 200-byte
# value with sealing on and off, in alternating rounds of one run, on a
# private redis-server and on LMDB; and, when valgrind is there, the
# instructions of an L2 get and set with sealing on and off, on the
# client's side of Redis (callgrind, N and 2N calls, the difference over
# N, as bench/hotpath.sh does).
#
# Usage: bench/seal.sh [build-dir]
# Environment: SEAL_N (20000 ops per round), SEAL_CG_N (2000 gets under
# callgrind), CC, CFLAGS, LDFLAGS for the driver.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
n=${SEAL_N:-20000}
cg_n=${SEAL_CG_N:-2000}

bench_name=bench/seal
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

bench_counts "SEAL_N, SEAL_CG_N" "$n" "$cg_n"
bench_redis_driver seal # unpinned: client and server share the CPUs
(umask 077 && head -c 32 /dev/urandom >"$tmp/key") || die "no key file"

for url in "redis://127.0.0.1:$redis_port" "lmdb://$tmp/lmdb"; do
	echo "store ${url%%:*}"
	"$prog" "$url" "$tmp/key" -n "$n" || die "the driver failed on $url"
done

if ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts"
	exit 0
fi
for mode in get-off get-on set-off set-on; do
	ir=$(bench_ir_per_call "$tmp" "bench_${mode%%-*}_loop" "$cg_n" "$prog" \
		"redis://127.0.0.1:$redis_port" "$tmp/key" --only "$mode") || exit 1
	echo "instructions $mode (redis, client side): $ir per L2 ${mode%%-*} of 200 bytes"
done
