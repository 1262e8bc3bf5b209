# shellcheck shell=sh
# bench/lib.sh - what the benchmark scripts share; sourced, not run.
# Expects $top (the checkout), $build (the build directory) and
# $bench_name (the script's name in its diagnostics, bench/NAME), set
# before it is sourced.
# shellcheck disable=SC2154 # top, build and bench_name are the sourcing script's

# say MSG...: a diagnostic on stderr, prefixed by the script's name.
say() { printf '%s: %s\n' "$bench_name" "$*" >&2; }
# progress MSG...: says MSG only when stderr is a terminal, so that the
# logs of `make bench` stay short.
progress() { [ ! -t 2 ] || say "$*"; }
# die MSG...: says MSG and exits 1, the scripts' one failure status.
die() {
	say "$*"
	exit 1
}

# bench_help MAX ARG...: the arguments of a script that defines usage():
# -h or --help prints it and exits 0; another option, or more than MAX
# arguments, prints it on stderr and exits 2.
bench_help() {
	_max=$1
	shift
	case ${1:-} in
	-h | --help)
		usage
		exit 0
		;;
	-*) set -- 1 2 3 4 5 6 7 8 9 ;;
	esac
	if [ $# -gt "$_max" ]; then
		usage >&2
		exit 2
	fi
}

# bench_clear_env: unsets every variable through which the caller's
# configuration reaches tutorcache, so that the bench measures the
# built-in defaults against its own stores (no TTL, caching switch, store,
# model or spool of the caller's).
bench_clear_env() {
	unset TUTORCACHE_URL TUTORCACHE_CONFIG TUTORCACHE_MODEL \
		TUTORCACHE_SPOOL_DIR REDIS_HOST REDIS_PORT REDIS_DB \
		REDIS_PASSWORD CACHE_TTL ENABLE_CACHING \
		TUTORCACHE_ENCRYPTION_KEY_FILE TUTORCACHE_ENCRYPTION_OLD_KEY_FILES \
		TUTORCACHE_KEY_SECRET_FILE
}

# bench_pin: sets $cpu to BENCH_CPU (0 when unset; dies unless a whole
# number) and $pin to the command that runs a program on that CPU
# (taskset -c CPU), or to nothing, said, where that cannot be done.
# Client and server on one CPU: on a small VM a request that wakes a
# process on another CPU pays an inter-processor wake-up each way.
bench_pin() {
	cpu=${BENCH_CPU:-0}
	case $cpu in '' | *[!0-9]*) die "BENCH_CPU: not a CPU number: $cpu" ;; esac
	pin=""
	if command -v taskset >/dev/null && taskset -c "$cpu" true 2>/dev/null; then
		pin="taskset -c $cpu"
	else
		say "taskset -c $cpu unavailable: client and server not pinned"
	fi
}

# bench_traps ACTION: runs ACTION (the script's clean-up) on exit, and
# turns an interrupt or a termination into an exit with the status a
# shell gives a process killed by that signal (130, 143), so that ACTION
# runs then too.
bench_traps() {
	# shellcheck disable=SC2064 # ACTION is the caller's, run as given
	trap "$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# bench_tmp NAME VAR...: makes the run's temp dir, $tmp
# (${TMPDIR:-/tmp}/NAME.XXXXXX), or dies; on exit, interrupt or
# termination it stops the processes whose pids the variables named VAR
# hold then (bench_kill, in that order; unset or empty ones are skipped)
# and removes the dir.
bench_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || die "mktemp failed"
	shift
	_bench_tmp_vars=$*
	bench_traps _bench_tmp_cleanup
}

# bench_tmp_also VAR...: more variables whose pids bench_tmp's cleanup
# stops (servers started after bench_tmp).
bench_tmp_also() { _bench_tmp_vars="$_bench_tmp_vars $*"; }

# shellcheck disable=SC2317 # called by the trap
_bench_tmp_cleanup() {
	_pids=""
	for _v in $_bench_tmp_vars; do
		eval "_pids=\"\$_pids \${$_v:-}\""
	done
	# shellcheck disable=SC2086 # the pids that are set
	bench_kill $_pids
	rm -rf "$tmp"
}

# bench_rand_port: a random port number in 20000-59999.
bench_rand_port() { echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000)); }

# bench_wait_up PID CMD...: runs CMD every 0.1 s, for 5 s at most, until
# it succeeds, and returns 0; when PID exits first, or the time runs out,
# stops PID and returns 1. How a server that was just started is awaited.
bench_wait_up() {
	_wpid=$1
	shift
	_i=0
	while [ $_i -lt 50 ]; do
		if "$@"; then
			return 0
		fi
		kill -0 "$_wpid" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	bench_kill "$_wpid"
	return 1
}

# bench_run PINNED CMD...: runs CMD, by $pin (bench_pin) when PINNED is
# yes, in the background so that an interrupt ends `wait` at once and the
# trap cleans up, and under a timeout of 300 s so that a hung run cannot
# hold the whole bench (and its servers) forever. $cpid is its pid while
# it runs; returns its status.
bench_run() {
	_p=$1
	shift
	if [ "$_p" = yes ]; then
		# shellcheck disable=SC2086 # pin: a command and its arguments
		set -- $pin "$@"
	fi
	timeout 300 "$@" &
	cpid=$!
	wait "$cpid"
	_st=$?
	cpid=""
	return $_st
}

# bench_kill PID...: stops each PID (SIGTERM) and waits for it; an empty
# argument list does nothing, so the callers pass unset pids unquoted.
bench_kill() {
	for _q in "$@"; do
		kill "$_q" 2>/dev/null
		wait "$_q" 2>/dev/null
	done
}

# The median and the range of the values a report's awk program adds
# (cnt[k], val[k, i]), for the report programs to begin with: sorted(k)
# sorts k's values in place (insertion sort: a few runs each), med(k),
# lo(k) and hi(k) read them.
# shellcheck disable=SC2016,SC2034 # an awk program; the scripts' to use
bench_awk_range='
function sorted(k,    i, j, t) {
	for (i = 2; i <= cnt[k]; i++) {
		for (j = i; j > 1 && val[k, j - 1] > val[k, j]; j--) {
			t = val[k, j]; val[k, j] = val[k, j - 1]; val[k, j - 1] = t
		}
	}
}
function med(k,    m) {
	sorted(k)
	m = cnt[k]
	return m % 2 ? val[k, (m + 1) / 2] : (val[k, m / 2] + val[k, m / 2 + 1]) / 2
}
function lo(k) { sorted(k); return val[k, 1] }
function hi(k) { sorted(k); return val[k, cnt[k]] }
'

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
		${_libs:--lhiredis -lssl -lcrypto -lcjson -lxxhash -llmdb -lutf8proc -lsodium -lpthread -lm} ||
		{
			rm -f "$_out.tmp$$"
			return 1
		}
	mv -f "$_out.tmp$$" "$_out"
}

# fastText's strong configuration, the one the model and suite benchmarks
# compare against (its defaults are the other).
# shellcheck disable=SC2034 # read by the sourcing script
bench_ft_strong="-epoch 25 -lr 1.0 -wordNgrams 2 -dim 50 -bucket 200000 -minn 3 -maxn 6 -loss ova"

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

# bench_data WHAT: $data, the intent sets (BENCH_DATA, else
# ../shared/data/intents beside the checkout), as an absolute path; when
# it is absent, says "$data: absent; WHAT" and exits 0: a machine without
# the data skips the benchmark, it does not fail it.
bench_data() {
	data=${BENCH_DATA:-$top/../shared/data/intents}
	if [ ! -d "$data" ]; then
		say "$data: absent; $1"
		exit 0
	fi
	data=$(cd "$data" && pwd) || die "$data: not a directory"
}

# bench_need_lib: dies unless the static library is built in $build.
bench_need_lib() {
	[ -r "$build/libtutorcache.a" ] ||
		die "$build/libtutorcache.a: not built (run make first)"
}

# bench_clock_start, bench_clock_stop: around the runs, set load0 and
# load1 (the load average, 1, 5 and 15 min, at the start and at the end:
# the machine is shared) and elapsed (whole seconds), for the report.
# shellcheck disable=SC2034 # read by the sourcing script
bench_clock_start() {
	_bench_t0=$(date +%s)
	load0=$(cut -d ' ' -f 1-3 /proc/loadavg)
}
# shellcheck disable=SC2034 # read by the sourcing script
bench_clock_stop() {
	elapsed=$(($(date +%s) - _bench_t0))
	load1=$(cut -d ' ' -f 1-3 /proc/loadavg)
}

# bench_measure CMD...: runs CMD (with the caller's redirections) and sets
# wall (seconds, from the nanosecond clock) and rss (peak KiB, by
# /usr/bin/time, through $tmp/rss).
# shellcheck disable=SC2034 # read by the sourcing script
bench_measure() {
	_m0=$(date +%s%N)
	/usr/bin/time -f %M -o "$tmp/rss" "$@" || return 1
	_m1=$(date +%s%N)
	wall=$(awk -v ns=$((_m1 - _m0)) 'BEGIN { printf "%.4f", ns / 1e9 }')
	rss=$(tail -n 1 "$tmp/rss")
}

# bench_rate N T_N T_1: N texts per (T_N - T_1) seconds, the second run
# having had one text: start-up and the model's load cancel out.
bench_rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", (n - 1) / (a - b) }'; }

# bench_copies DIR COPIES: DIR/many.txt and DIR/many.texts, COPIES copies
# of DIR/test.txt and DIR/texts (the same texts for fastText and for
# tutorcache), and DIR/one.txt and DIR/one.texts, their first lines: the
# long and the one-text runs of a throughput measurement (bench_rate).
bench_copies() {
	: >"$1/many.txt"
	: >"$1/many.texts"
	_i=0
	while [ $_i -lt "$2" ]; do
		cat "$1/test.txt" >>"$1/many.txt"
		cat "$1/texts" >>"$1/many.texts"
		_i=$((_i + 1))
	done
	head -n 1 "$1/test.txt" >"$1/one.txt"
	head -n 1 "$1/texts" >"$1/one.texts"
}

# bench_redis_alive PID: dies, with the end of $tmp/redis.log, when the
# redis-server PID has exited (checked between runs).
bench_redis_alive() {
	kill -0 "$1" 2>/dev/null || die "redis-server exited: $(tail -n 3 "$tmp/redis.log")"
}

# bench_counts WHAT N...: dies, naming WHAT (the variables), unless every
# N is a whole number above 0.
bench_counts() {
	_what=$1
	shift
	for _c in "$@"; do
		case $_c in '' | *[!0-9]* | 0) die "$_what: not a count: $_c" ;; esac
	done
}

# bench_redis_driver NAME: what a driver that runs against its own
# redis-server needs, for scripts that run client and server unpinned:
# the caller's configuration cleared (bench_clear_env), the temp dir $tmp
# (bench_tmp tcNAME, which stops the server on exit), bench/NAME.c built
# as $prog ($build/NAME_bench), and a private redis-server started in
# $tmp (bench_start_redis, its version said); or dies. NAME.c is linked
# with bench/bench_cache.c, the cache loops such drivers share.
bench_redis_driver() {
	redis_pid=
	bench_tmp "tc$1" redis_pid
	pin=""
	bench_clear_env
	prog=$build/$1_bench
	bench_build_prog "$prog" "$top/bench/$1.c" \
		"$top/bench/bench_cache.c" ||
		die "bench/$1.c: does not build"
	bench_start_redis "$tmp"
	say "redis $redis_version on port $redis_port"
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
	until _bench_redis_try "$_dir" "$(bench_rand_port)"; do
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
	bench_wait_up "$redis_pid" _bench_redis_pong && return 0
	redis_pid=""
	return 1
}

# bench_ir_per_call TMP FUNC N PROG ARGS...: the instructions callgrind
# counts in FUNC per call, from a run of PROG ARGS -n N and one of -n 2N
# (the difference over N: start-up and the first calls cancel out). FUNC
# "-" counts the whole process, every thread of it.
bench_ir_per_call() {
	_t=$1 _f=$2 _n=$3
	shift 3
	_collect="--collect-atstart=no --toggle-collect=$_f"
	[ "$_f" != - ] || _collect=--collect-atstart=yes
	for _k in 1 2; do
		# shellcheck disable=SC2086 # _collect: one or two options
		valgrind --tool=callgrind --callgrind-out-file="$_t/cg" $_collect \
			"$@" -n $((_n * _k)) >/dev/null 2>"$_t/err" ||
			die "callgrind $*: $(tail -n 3 "$_t/err")"
		eval "_ir$_k=\$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' \"\$_t/err\")"
	done
	# shellcheck disable=SC2154 # _ir1, _ir2 set by eval
	awk -v a="$_ir1" -v b="$_ir2" -v n="$_n" 'BEGIN { printf "%.0f", (b - a) / n }'
}

_bench_redis_pong() {
	[ "$(redis-cli -s "$redis_sock" ping 2>/dev/null)" = PONG ]
}
