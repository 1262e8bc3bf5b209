# shellcheck shell=sh
# bench/lib.sh - what the benchmark scripts share; sourced, not run.
# Expects $top (the checkout), $build (the build directory) and a die()
# of the sourcing script.
# shellcheck disable=SC2154 # top and build are the sourcing script's

# The warnings every benchmark program is built with: the library's own.
bench_warn="-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wformat=2"

# bench_build_suite OUT: builds bench/suite (the sets of intents and their
# scoring, which shares cli/eval_metrics.c with `tutorcache eval`) as OUT.
bench_build_suite() {
	# shellcheck disable=SC2086 # lists of flags
	${CC:-cc} -std=c11 -D_GNU_SOURCE $bench_warn ${CFLAGS:--O2 -g} \
		${LDFLAGS:-} -I"$top/cli" -o "$1" "$top/bench/suite.c" \
		"$top/bench/suite_score.c" "$top/bench/suite_cluster.c" \
		"$top/bench/bench_util.c" "$top/cli/eval_metrics.c" -lcjson -lm ||
		die "bench/suite.c: does not build"
}

# bench_build_prog OUT SOURCE...: builds a benchmark program from its
# SOURCEs and bench/bench_util.c (what every benchmark program shares)
# against the static library in $build, with the libraries the Makefile
# links the library with, into OUT through a temp name beside it (so
# that a concurrent run never starts a half-written binary). Returns
# non-zero when it does not build.
bench_build_prog() {
	_out=$1
	shift
	_libs=$(sed -n 's/^TC_LIBS[[:space:]]*:=[[:space:]]*//p' "$top/Makefile")
	# shellcheck disable=SC2086 # lists of flags
	${CC:-cc} -std=c11 -D_GNU_SOURCE -I"$top/include" -I"$top/lib" \
		$bench_warn -pthread ${CFLAGS:--O2 -g} ${LDFLAGS:-} \
		-o "$_out.tmp$$" "$@" "$top/bench/bench_util.c" \
		"$build/libtutorcache.a" \
		${_libs:--lhiredis -lcjson -lxxhash -llmdb -lutf8proc -lpthread -lm} ||
		{
			rm -f "$_out.tmp$$"
			return 1
		}
	mv -f "$_out.tmp$$" "$_out"
}

# bench_need_fasttext: installs fastText and GNU time through
# scripts/deps.sh when either is missing; sets $ftversion.
bench_need_fasttext() {
	if ! command -v fasttext >/dev/null || [ ! -x /usr/bin/time ]; then
		"$top/scripts/deps.sh" bench || die "cannot install fasttext and time"
	fi
	command -v fasttext >/dev/null || die "fasttext: not found"
	# shellcheck disable=SC2034 # read by the sourcing script
	ftversion=$(dpkg-query -W -f '${Version}' fasttext 2>/dev/null || echo unknown)
}
