#!/bin/sh
# bench/normalize.sh - the cost of text normalization, which is on the
# cache-hit path of every classification: instructions per text, counted
# by callgrind (the machine is shared, so seconds would be noise), for
# the ASCII texts of SNIPS' test set and for bench/normalize_bench.c's
# own non-ASCII texts (accented French, Spanish and German, typographic
# quotes and dashes, CJK, Korean, compatibility characters). Without
# valgrind it prints the driver's nanoseconds per text only; without the
# data it says so and exits 0.
#
# Usage: bench/normalize.sh [build-dir]
# Environment: BENCH_DATA (../shared/data/intents), BENCH_ROUNDS (20
# passes over each set under callgrind).
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA:-$top/../shared/data/intents}
rounds=${BENCH_ROUNDS:-20}
test=$data/snips/test.jsonl

bench_name=bench/normalize
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

bench_counts BENCH_ROUNDS "$rounds"
if [ ! -f "$test" ]; then
	say "$test: absent; the normalization benchmark is skipped"
	exit 0
fi
bench_tmp tcnormalize

nb=$build/normalize_bench
bench_build_prog "$nb" "$top/bench/normalize_bench.c" ||
	die "bench/normalize_bench.c: does not build"

"$nb" -n 200 "$test" || die "normalize_bench failed"
if ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts"
	exit 0
fi
for set in ascii unicode; do
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$set" \
		--collect-atstart=no --toggle-collect=run \
		"$nb" -n "$rounds" --only "$set" "$test" >"$tmp/out.$set" \
		2>"$tmp/err.$set" || die "callgrind $set: $(tail -n 3 "$tmp/err.$set")"
	ir=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/err.$set")
	texts=$(sed -n "s/^$set texts=\([0-9]*\) .*/\1/p" "$tmp/out.$set")
	if [ -z "$ir" ] || [ -z "$texts" ]; then
		die "callgrind $set: no count"
	fi
	awk -v s="$set" -v ir="$ir" -v t="$texts" -v r="$rounds" 'BEGIN {
		printf "%s: %d texts x %d rounds, %.0f instructions per text\n",
			s, t, r, ir / (t * r) }'
done
