#!/bin/sh
# bench/instr_redis.sh - the hot paths that go to Redis, in instructions
# per call counted by callgrind (client side): a feedback submit, an mget
# of 16 and of 256 keys answered by L2, and a raw hiredis pipeline of the
# same GETs. Like bench/hotpath.sh, each scenario runs twice, with N and
# 2N calls, collecting inside the measured calls alone, and the difference
# over N is reported, so that setup and warm-up cancel. A private
# redis-server on a unix socket answers, started here and stopped by its
# pid. The table goes to stdout and BUILD/bench-instr-redis.md; the 2N
# runs' callgrind files stay in BUILD/hotpath-callgrind/.
#
# Usage: bench/instr_redis.sh [build-dir]
# Environment: INSTR_SCENARIOS (by name; all), INSTR_N (calls per run
# of the submit, 2048; a batch runs
# N/8 calls of 16 keys and N/64 of 256), CC, CFLAGS, LDFLAGS.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
n=${INSTR_N:-2048}

bench_name=bench/instr_redis
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

case $n in '' | *[!0-9]* | 0) die "INSTR_N: not a count: $n" ;; esac
[ $((n % 64)) -eq 0 ] || die "INSTR_N: $n is not a multiple of 64"
[ -f "$build/libtutorcache.a" ] || die "$build/libtutorcache.a: absent (make all)"
command -v valgrind >/dev/null ||
	die "valgrind: not found (apt-get install valgrind)"
build=$(cd "$build" && pwd)
bench_clear_env

redis_pid=
pin=""
bench_tmp tcinstr redis_pid
keep=$build/hotpath-callgrind
mkdir -p "$keep" || die "$keep: cannot create"

bench_build_prog "$build/instr_redis" "$top/bench/instr_redis.c" ||
	die "bench/instr_redis.c: does not build against $build"
bench_start_redis "$tmp"

# per_call SCENARIO CALLS: instructions per call, (Ir(2N) - Ir(N)) / N.
per_call() {
	for _k in 1 2; do
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1.$_k" \
			--collect-atstart=no --toggle-collect='ir_measure*' \
			"$build/instr_redis" "$1" $(($2 * _k)) \
			"unix://$redis_sock?tracking=off" "$redis_sock" \
			>"$tmp/out" 2>"$tmp/err" ||
			die "$1: $(grep -v '^==' "$tmp/err" | tail -n 3)"
		eval "_ir$_k=\$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' \"\$tmp/err\")"
	done
	cp "$tmp/cg.$1.2" "$keep/callgrind.out.after.$1" || die "$keep: cannot write"
	# shellcheck disable=SC2154 # _ir1, _ir2 set by eval
	awk -v a="$_ir1" -v b="$_ir2" -v n="$2" 'BEGIN { printf "%.1f\n", (b - a) / n }'
}

for s in ${INSTR_SCENARIOS:-fb_submit mget16 mget256 raw_pipe16 raw_pipe256}; do
	say "$s"
	case $s in
	fb_submit) calls=$n ;;
	*16) calls=$((n / 8)) ;;
	*256) calls=$((n / 64)) ;;
	esac
	ir=$(per_call "$s" "$calls") || exit 1
	echo "$s $ir" >>"$tmp/rows"
done

{
	echo "# Redis hot paths in instructions per call (callgrind, client side)"
	echo
	echo "- $(valgrind --version); redis $redis_version on a unix socket; INSTR_N = $n"
	echo
	echo "| operation | Ir/call | Ir/key |"
	echo "|---|---:|---:|"
	awk '{
		k = ($1 ~ /256$/) ? 256 : ($1 ~ /16$/) ? 16 : 1
		a[$1] = $2 / k
		printf "| %s | %.0f | %.0f |\n", $1, $2, $2 / k
	}
	END {
		print ""
		printf "mget: per key at 256 / at 16: %.2f (target <= 1.2)\n", \
			a["mget256"] / a["mget16"]
		printf "raw pipeline: per key at 256 / at 16: %.2f\n", \
			a["raw_pipe256"] / a["raw_pipe16"]
		printf "mget16 / raw_pipe16 per key: %.2f; mget256 / raw_pipe256: %.2f\n", \
			a["mget16"] / a["raw_pipe16"], a["mget256"] / a["raw_pipe256"]
		printf "feedback submit: %.0f (target <= 20000)\n", a["fb_submit"]
	}' "$tmp/rows"
} >"$tmp/md"
cp "$tmp/md" "$build/bench-instr-redis.md" || die "$build/bench-instr-redis.md: cannot write"
cat "$tmp/md"
