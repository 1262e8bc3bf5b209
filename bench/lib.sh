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
# non-zero when it does not build. With $bench_lib_top set, the header,
# lib/ and TC_LIBS are that checkout's, the one $build was built from
# (another version of the library), and bench/ stays $top's.
bench_build_prog() {
	_out=$1
	shift
	_lt=${bench_lib_top:-$top}
	_libs=$(sed -n 's/^TC_LIBS[[:space:]]*:=[[:space:]]*//p' "$_lt/Makefile")
	# shellcheck disable=SC2086 # lists of flags
	${CC:-cc} -std=c11 -D_GNU_SOURCE -I"$_lt/include" -I"$_lt/lib" \
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

# bench_start_redis DIR: a private redis-server with its files in DIR, on
# loopback at a random port and on DIR/redis.sock, run by $pin when set
# (taskset); a port that is taken makes the server exit, and another is
# tried. Lines in $bench_redis_conf, when set, end the configuration
# (they override the defaults above them: persistence, debug commands).
# Sets redis_pid, redis_port, redis_sock and redis_version, or dies. The
# caller stops it by $redis_pid.
bench_start_redis() {
	_dir=$1
	redis_sock=$_dir/redis.sock
	_tries=0
	until _bench_redis_try "$_dir" \
		$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000)); do
		_tries=$((_tries + 1))
		[ $_tries -lt 5 ] ||
			die "redis-server does not start: $(tail -n 3 "$_dir/redis.log" 2>/dev/null)"
	done
	# shellcheck disable=SC2034 # read by the sourcing script
	redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
}

_bench_redis_try() {
	redis_port=$2
	cat >"$1/redis.conf" <<EOC
bind 127.0.0.1
port $redis_port
protected-mode yes
unixsocket $redis_sock
unixsocketperm 700
dir $1
logfile $1/redis.log
save ""
appendonly no
daemonize no
${bench_redis_conf:-}
EOC
	# shellcheck disable=SC2086,SC2154 # pin: the sourcing script's
	$pin redis-server "$1/redis.conf" &
	redis_pid=$!
	_i=0
	while [ $_i -lt 50 ]; do
		if [ "$(redis-cli -s "$redis_sock" ping 2>/dev/null)" = PONG ]; then
			return 0
		fi
		kill -0 "$redis_pid" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	kill "$redis_pid" 2>/dev/null
	wait "$redis_pid" 2>/dev/null
	redis_pid=""
	return 1
}
