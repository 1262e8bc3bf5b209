#!/bin/sh
# bench/hotpath.sh - the library's hot paths in instructions per call,
# counted by callgrind: seconds on this shared machine move 5-50 % from
# run to run, instruction counts do not. For each scenario of
# bench/hotpath.c (an L1 get by name, by namespace handle and into a
# caller's buffer, the same work on a bare hash table with a copy or into
# a buffer, a classification the cache answers, one it misses, a
# prediction of the texts of either, a normalization, a set) it runs the
# driver twice, with N and 2N calls, collecting inside the measured calls
# alone, and reports the difference divided by N, so that setup and
# warm-up cancel. A second table sets
# each operation beside its bare baseline (make bench-instr).
#
# With HOTPATH_BEFORE=DIR, a build directory of another version of the
# library (such as one built from main, API 0.1), the same driver is
# built against that library too, and the table has both columns and
# their ratio. The table goes to stdout and to BUILD/bench-hotpath.md;
# the callgrind files of the 2N runs stay in BUILD/hotpath-callgrind/, for
# callgrind_annotate.
#
# Usage: bench/hotpath.sh [build-dir]
# Environment:
#   HOTPATH_N            calls per run, a multiple of 1000 (10000)
#   HOTPATH_SCENARIOS    the scenarios, by name (all)
#   HOTPATH_BEFORE       a build directory holding libtutorcache.a
#   HOTPATH_BEFORE_SRC   the checkout it was built from, whose header and
#                        Makefile go with it (DIR/.. when that has one)
#   HOTPATH_MODEL, HOTPATH_BEFORE_MODEL
#                        model files to load instead of training one from
#                        examples/intents.jsonl (the formats may differ
#                        between versions, hence one for each)
#   CC, CFLAGS, LDFLAGS  for the driver (the library keeps its own)
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
n=${HOTPATH_N:-10000}
scenarios=${HOTPATH_SCENARIOS:-l1_get l1_get_ns l1_get_into l1_get_baseline l1_get_into_baseline classify_hit classify_miss predict predict_fresh normalize set}
# the scenarios a library without namespace handles cannot run
ns_scenarios="l1_get_ns l1_get_into"
before=${HOTPATH_BEFORE:-}

bench_name=bench/hotpath
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

case $n in '' | *[!0-9]* | 0) die "HOTPATH_N: not a count: $n" ;; esac
[ $((n % 1000)) -eq 0 ] ||
	die "HOTPATH_N: $n is not a multiple of 1000 (keys and texts cycle by 1000 and 50)"
[ -f "$build/libtutorcache.a" ] || die "$build/libtutorcache.a: absent (make all)"
command -v valgrind >/dev/null ||
	die "valgrind: not found (apt-get install valgrind)"
build=$(cd "$build" && pwd)
if [ -n "$before" ]; then
	[ -f "$before/libtutorcache.a" ] || die "$before/libtutorcache.a: absent"
	before=$(cd "$before" && pwd)
	before_src=${HOTPATH_BEFORE_SRC:-$before/..}
	if [ ! -f "$before_src/include/tutorcache.h" ] || [ ! -f "$before_src/Makefile" ]; then
		die "$before_src: no include/tutorcache.h and Makefile (set HOTPATH_BEFORE_SRC)"
	fi
	before_src=$(cd "$before_src" && pwd)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tchotpath.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
keep=$build/hotpath-callgrind
mkdir -p "$keep" || die "$keep: cannot create"

bench_build_prog "$build/hotpath" "$top/bench/hotpath.c" ||
	die "bench/hotpath.c: does not build against $build"
if [ -n "$before" ]; then
	# Into the after build directory: the before one is left as it was.
	after=$build
	build=$before
	# shellcheck disable=SC2034 # read by bench_build_prog
	bench_lib_top=$before_src
	before_ns=1
	if ! grep -q tc_cache_get_into "$before_src/include/tutorcache.h"; then
		before_ns=0
	fi
	_cf=${CFLAGS:--O2 -g}
	[ "$before_ns" = 1 ] || _cf="$_cf -DHP_NO_NS"
	CFLAGS=$_cf bench_build_prog "$after/hotpath-before" "$top/bench/hotpath.c" ||
		die "bench/hotpath.c: does not build against $before"
	build=$after
fi

# ir LABEL DRIVER SCENARIO CALLS MODEL: the instructions callgrind counts
# inside the measured calls of one run; the driver's line of output is
# left in $tmp/out.
ir() {
	_f=$tmp/cg.$1.$3.$4
	# shellcheck disable=SC2086 # MODEL: empty or one path without spaces
	HOTPATH_EXAMPLES=$top/examples valgrind --tool=callgrind \
		--callgrind-out-file="$_f" --collect-atstart=no \
		--toggle-collect='hp_measure*' "$2" "$3" "$4" $5 \
		>"$tmp/out" 2>"$tmp/err" || {
		grep -q dwarf "$tmp/err" &&
			say "valgrind cannot read this compiler's DWARF 5: CFLAGS='-O2 -g -gdwarf-4'"
		die "$1 $3 $4: $(grep -v '^==' "$tmp/err" | tail -n 3)"
	}
	_ir=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/err")
	[ -n "$_ir" ] || die "$1 $3 $4: callgrind gave no count"
	if [ "$4" = $((2 * n)) ]; then
		cp "$_f" "$keep/callgrind.out.$1.$3" || die "$keep: cannot write"
	fi
	echo "$_ir"
}

# per_call LABEL DRIVER SCENARIO MODEL: instructions per call.
per_call() {
	_a=$(ir "$1" "$2" "$3" "$n" "$4") || exit 1
	_b=$(ir "$1" "$2" "$3" $((2 * n)) "$4") || exit 1
	awk -v a="$_a" -v b="$_b" -v n="$n" 'BEGIN { printf "%.1f\n", (b - a) / n }'
}

# version DRIVER: the library's version, as the driver reports it.
version() {
	HOTPATH_EXAMPLES=$top/examples "$1" normalize 0 2>"$tmp/err" |
		sed -n 's/.* version=\([^ ]*\) .*/\1/p'
}

# producer LIB: the compiler and flags the library was built with, from
# its debug information.
producer() {
	_p=$(readelf --debug-dump=info "$1" 2>/dev/null |
		sed -n 's/.*DW_AT_producer[^:]*:.*): //p; s/.*DW_AT_producer *: //p' |
		head -n 1)
	echo "${_p:-unknown (no debug information)}"
}

# commit DIR: " at COMMIT" when DIR is a git checkout ("-dirty" with
# changes), else nothing.
commit() {
	_c=$(git -C "$1" describe --always --dirty 2>/dev/null) && echo " at $_c"
}

model_after=${HOTPATH_MODEL:-}
model_before=${HOTPATH_BEFORE_MODEL:-}
for s in $scenarios; do
	say "$s"
	a=$(per_call after "$build/hotpath" "$s" "$model_after") || exit 1
	b=-
	before_skip=
	case " $ns_scenarios " in
	*" $s "*) [ "${before_ns:-1}" = 1 ] || before_skip=1 ;;
	esac
	if [ -n "$before" ] && [ -z "${before_skip:-}" ]; then
		b=$(per_call before "$build/hotpath-before" "$s" "$model_before") ||
			exit 1
	fi
	echo "$s $a $b" >>"$tmp/rows"
done

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
vafter=$(version "$build/hotpath")
{
	echo "# Hot paths in instructions per call (callgrind)"
	echo
	echo "- CPU: ${cpu:-unknown} (counts do not depend on its speed)"
	echo "- $(valgrind --version); N = $n calls, Ir/call = (Ir(2N) - Ir(N)) / N"
	echo "- driver: $(${CC:-cc} --version | head -n 1), CFLAGS ${CFLAGS:--O2 -g}"
	echo "- after: libtutorcache $vafter, $build (from $top$(commit "$top")),"
	echo "  built by $(producer "$build/libtutorcache.a")"
	if [ -n "$before" ]; then
		echo "- before: libtutorcache $(version "$build/hotpath-before"), $before" \
			"(from $before_src$(commit "$before_src")),"
		echo "  built by $(producer "$before/libtutorcache.a")"
	fi
	echo
	echo "| scenario | Ir/call (after) | Ir/call (before) | after/before |"
	echo "|---|---:|---:|---:|"
	awk '{
		r = ($3 == "-" || $3 == 0) ? "-" : sprintf("%.3f", $2 / $3)
		printf "| %s | %.0f | %s | %s |\n", $1, $2,
			$3 == "-" ? "-" : sprintf("%.0f", $3), r
	}' "$tmp/rows"
	echo
	echo "Each operation against its floor (after):"
	echo
	echo "| operation | library Ir/call | baseline | baseline Ir/call | ratio |"
	echo "|---|---:|---|---:|---:|"
	awk '
	{ a[$1] = $2 }
	function row(op, what, base, bwhat) {
		if (!(op in a) || !(base in a) || a[base] == 0) {
			return
		}
		printf "| %s | %.0f | %s | %.0f | %.2f |\n", what, a[op], bwhat,
			a[base], a[op] / a[base]
	}
	END {
		row("l1_get_into", "L1 hit into a buffer (`tc_cache_get_into`)",
			"l1_get_into_baseline", "bare table, copy into a buffer")
		row("l1_get_into", "L1 hit into a buffer (`tc_cache_get_into`)",
			"l1_get_baseline", "bare table, malloc and copy")
		row("l1_get_ns", "L1 hit by handle (`tc_cache_get_ns`)",
			"l1_get_baseline", "bare table, malloc and copy")
		row("l1_get", "L1 hit by name (`tc_cache_get`)",
			"l1_get_baseline", "bare table, malloc and copy")
		row("classify_hit", "classify, L1 hit", "l1_get",
			"the library'"'"'s L1 hit by name")
		row("classify_hit", "classify, L1 hit", "l1_get_into",
			"the library'"'"'s L1 hit into a buffer")
		row("classify_miss", "classify, miss", "predict_fresh",
			"`tc_model_predict` alone, the same texts")
	}' "$tmp/rows"
	echo
	awk '
	{ a[$1] = $2; b[$1] = $3 }
	$3 != "-" && $3 > 0 && $2 / $3 > 1.03 { up = up " " $1 }
	END {
		if (("l1_get" in a) && ("l1_get_baseline" in a)) {
			printf "l1_get / l1_get_baseline: %.2f after", \
				a["l1_get"] / a["l1_get_baseline"]
			if (b["l1_get"] != "-") {
				printf ", %.2f before", b["l1_get"] / b["l1_get_baseline"]
			}
			printf "\n"
		}
		if (up != "") {
			printf "\nMore than 3 %% more instructions after:%s " \
				"(callgrind_annotate the files in hotpath-callgrind/).\n", up
		}
	}' "$tmp/rows"
} >"$tmp/md"
cp "$tmp/md" "$build/bench-hotpath.md" || die "$build/bench-hotpath.md: cannot write"
cat "$tmp/md"
