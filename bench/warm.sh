#!/bin/sh
# bench/warm.sh - `tutorcache warm` throughput in texts per second (issue
# 16, BENCHMARKS.md "Cache warming"), on a private redis-server over
# loopback TCP and on a fresh LMDB directory, for three files:
#
#   cold     the distinct texts of a set (every one computed and stored)
#   cached   the same file again (every one found in the L2)
#   dups     as many lines, BENCH_DUP of each of a tenth as many texts,
#            shuffled (each distinct text computed once)
#
# Each beside two baselines of the same run, as ratios taken run by run:
# `tutorcache classify` of the same file through the same store (the way
# to warm a cache before warm: batched lookups too, but a line at a time
# through the model and its answer printed), and the model alone, the
# same `classify` with ENABLE_CACHING=false on a memory: store: every
# line normalized, predicted and printed, no store. For distinct texts
# the model alone is the floor warm cannot beat, since warm computes
# them all and stores them too; with a warm cache or duplicates warm
# computes fewer texts than lines, and the ratio says what that saves.
#
# Timing: each command whole (start-up and the model's load included:
# about what a deploy script waits for), wall clock by the nanosecond
# clock, and CPU time, the command's user + system (/usr/bin/time) plus,
# on Redis, what the server spent meanwhile (INFO cpu), which a loaded
# machine disturbs less than the wall clock; on Redis also the commands
# per text. BENCH_RUNS runs, the commands of a run interleaved, the
# median and min-max of the runs. Then, with valgrind, the instructions
# per text of the command (callgrind, user space only), which do not
# depend on the machine's load at all.
#
# Texts: the train and test texts of ../shared/data/intents/$BENCH_SET,
# read in place (never copied into the repository); without them the
# script says so and exits 0. Everything it writes goes to a temp dir
# removed on exit, and the report to BENCH_WARM_OUT.
#
# Usage: bench/warm.sh [-h | --help] [path/to/tutorcache]
# Environment: BENCH_RUNS (5), BENCH_SET (banking77), BENCH_DUP (10),
# BENCH_DATA (../shared/data/intents), BENCH_CPU (0: client and
# redis-server pinned there), BENCH_CG_N (1000 texts under callgrind, and
# twice as many; 0: none), BENCH_WARM_OUT (<build>/bench-warm.md),
# CC, CFLAGS, LDFLAGS (for bench/model_bench.c, which lists the texts).
set -u

usage() {
	cat <<'EOF'
Usage: bench/warm.sh [-h | --help] [path/to/tutorcache]

Measures `tutorcache warm` in texts/s on a private redis-server (loopback)
and on LMDB: distinct texts (cold), the same again (cached) and a file of
duplicates, each beside `classify` of the same file and the model alone
(classify with ENABLE_CACHING=false), as ratios of the same run.
The texts come from $BENCH_DATA/$BENCH_SET (skipped, exit 0, when absent).

Environment: BENCH_RUNS (5), BENCH_SET (banking77), BENCH_DUP (10),
BENCH_DATA (../shared/data/intents), BENCH_CPU (0), BENCH_CG_N (1000),
BENCH_WARM_OUT (<build>/bench-warm.md)
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=bench/warm
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_help 1 "$@"

tc=${1:-build/tutorcache}
build=$(dirname "$tc")
runs=${BENCH_RUNS:-5}
set_name=${BENCH_SET:-banking77}
dup=${BENCH_DUP:-10}
data=${BENCH_DATA:-$top/../shared/data/intents}
out=${BENCH_WARM_OUT:-$build/bench-warm.md}
seed=1

bench_clear_env

bench_counts "BENCH_*" "$runs" "$dup"
src=$data/$set_name
if [ ! -r "$src/train.jsonl" ] || [ ! -r "$src/test.jsonl" ]; then
	say "$src/{train,test}.jsonl: absent; the warm benchmark is skipped"
	exit 0
fi
[ -x "$tc" ] || die "$tc: not built (run make first)"
"$tc" help warm >/dev/null 2>&1 || die "$tc: no warm command"
bench_need_lib
"$top/scripts/deps.sh" check || die "cannot install what the benchmark needs"
command -v redis-server >/dev/null || die "redis-server: not found"
[ -x /usr/bin/time ] || die "/usr/bin/time: not found (scripts/deps.sh bench)"

bench_pin
mb=$build/model_bench
bench_build_prog "$mb" "$top/bench/model_bench.c" ||
	die "bench/model_bench.c: does not build"

cpid=""
redis_pid=""
bench_tmp tcwarm cpid redis_pid
# A spool or a default LMDB directory, should one be made, stays in $tmp.
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"

bench_start_redis "$tmp"
redis_url=redis://127.0.0.1:$redis_port
say "redis-server $redis_version pid $redis_pid, 127.0.0.1:$redis_port${pin:+, $pin}"

# ---- the texts and the model ----------------------------------------------------

"$tc" train --seed 1 -o "$tmp/model.tcm" "$src/train.jsonl" \
	>/dev/null 2>"$tmp/train.err" || die "train: $(tail -n 3 "$tmp/train.err")"
{ "$mb" texts "$src/train.jsonl" && "$mb" texts "$src/test.jsonl"; } |
	awk 'NF && !seen[$0]++' >"$tmp/cold" || die "cannot list the texts"
lines=$(wc -l <"$tmp/cold")
[ "$lines" -ge 100 ] || die "$src: only $lines distinct texts"
# The duplicates: the first tenth of the texts, BENCH_DUP lines each, in
# an order of a fixed seed; as many lines as the cold file has, or near.
awk -v d="$dup" -v k=$((lines / dup)) -v s=$seed '
	BEGIN { srand(s) }
	NR <= k { for (i = 0; i < d; i++) printf "%.9f\t%s\n", rand(), $0 }' \
	"$tmp/cold" | sort -t "$(printf '\t')" -k 1,1 | cut -f 2- >"$tmp/dups"
dlines=$(wc -l <"$tmp/dups")

# ---- measuring -------------------------------------------------------------------

: >"$tmp/results"
# rec STORE CASE SYSTEM METRIC VALUE: one figure of run $r.
rec() { printf '%s %s %s %s %s %s\n' "$1" "$2" "$3" "$4" "$r" "$5" >>"$tmp/results"; }

# redis_use: the seconds of CPU the redis-server has used, user + system,
# the commands it has run and the reads of its clients' sockets that
# brought it commands (about one a round trip, however many commands a
# pipeline holds), "SECONDS COMMANDS READS".
redis_use() {
	redis-cli -p "$redis_port" info |
		awk -F: '/^used_cpu_(user|sys):/ { s += $2 }
			/^total_commands_processed:/ { c = $2 + 0 }
			/^total_reads_processed:/ { r = $2 + 0 }
			END { printf "%.6f %d %d", s, c, r }'
}

# timed STORE CASE SYSTEM N IN OUT CMD...: runs CMD pinned, its stdin IN,
# its stdout OUT and its stderr $tmp/err, in the background under a
# timeout as bench_run does (an interrupt ends `wait` at once), and
# records N texts over its wall time, and the CPU microseconds per text
# of CMD and, on Redis, of the server meanwhile. bench_run itself cannot
# serve: a command started in the background reads /dev/null unless
# its own redirection says otherwise.
timed() {
	_s=$1 _c=$2 _y=$3 _n=$4 _in=$5 _out=$6
	shift 6
	_r0="0 0 0"
	[ "$_s" != redis ] || _r0=$(redis_use)
	_t0=$(date +%s%N)
	# shellcheck disable=SC2086 # pin: a command and its arguments
	timeout 300 $pin /usr/bin/time -f '%U %S' -o "$tmp/cpu" "$@" \
		<"$_in" >"$_out" 2>"$tmp/err" &
	cpid=$!
	wait "$cpid" || die "run $r, $_y $_c on $_s: failed: $(tail -n 3 "$tmp/err")"
	cpid=""
	_t1=$(date +%s%N)
	_r1="0 0 0"
	[ "$_s" != redis ] || _r1=$(redis_use)
	rec "$_s" "$_c" "$_y" rate \
		"$(awk -v n="$_n" -v ns=$((_t1 - _t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }')"
	# shellcheck disable=SC2086 # _r0, _r1: three numbers each
	set -- $_r0 $_r1
	rec "$_s" "$_c" "$_y" cpu_us "$(tail -n 1 "$tmp/cpu" | awk -v n="$_n" \
		-v r="$4" -v q="$1" '{ printf "%.2f", ($1 + $2 + r - q) * 1e6 / n }')"
	if [ "$_s" = redis ]; then
		rec "$_s" "$_c" "$_y" cmds "$(awk -v n="$_n" -v a="$2" -v b="$5" \
			'BEGIN { printf "%.2f", (b - a) / n }')"
		rec "$_s" "$_c" "$_y" reads "$(awk -v n="$_n" -v a="$3" -v b="$6" \
			'BEGIN { printf "%.3f", (b - a) / n }')"
		rec "$_s" "$_c" "$_y" srv_us "$(awk -v n="$_n" -v a="$1" -v b="$4" \
			'BEGIN { printf "%.2f", (b - a) * 1e6 / n }')"
	fi
}

# fresh STORE: an empty store, its URL in $url.
fresh() {
	if [ "$1" = redis ]; then
		redis-cli -p "$redis_port" flushall >/dev/null || die "FLUSHALL failed"
		url=$redis_url
	else
		rm -rf "$tmp/lmdb"
		url=lmdb://$tmp/lmdb
	fi
}

# json KEY: the number KEY of warm's summary in $tmp/out.
json() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$tmp/out"; }

# warm STORE CASE FILE COMPUTED CACHED: warm of FILE, its summary checked:
# COMPUTED texts computed, CACHED found cached, no line rejected.
warm() {
	timed "$1" "$2" warm "$(wc -l <"$3")" /dev/null "$tmp/out" \
		"$tc" --store "$url" warm --model "$tmp/model.tcm" "$3"
	if [ "$(json computed)" != "$4" ] || [ "$(json already_cached)" != "$5" ] ||
		[ "$(json rejected)" != 0 ]; then
		die "run $r, warm $2 on $1: $(tail -n 1 "$tmp/out"), not $4 computed and $5 cached"
	fi
}

# distinct FILE: how many texts of FILE are distinct as the cache keys
# them (normalized), from an untimed warm of a memory: store.
distinct() {
	"$tc" --store memory: warm --model "$tmp/model.tcm" "$1" >"$tmp/out" \
		2>"$tmp/err" || die "warm $1: $(tail -n 3 "$tmp/err")"
	json computed
}

# classify STORE CASE SYSTEM FILE [NAME=VALUE...]: classify of FILE, one
# answer a line, recorded as SYSTEM's, with the environment NAME=VALUE.
classify() {
	_n=$(wc -l <"$4")
	_s=$1 _c=$2 _y=$3 _f=$4
	shift 4
	timed "$_s" "$_c" "$_y" "$_n" "$_f" "$tmp/out" \
		env "$@" "$tc" --store "$url" classify --model "$tmp/model.tcm"
	[ "$(grep -c '"intent"' "$tmp/out")" = "$_n" ] ||
		die "run $r, classify $_c on $_s: not one answer a line: $(tail -n 3 "$tmp/err")"
}

bench_clock_start
distinct=$(distinct "$tmp/cold")
ddistinct=$(distinct "$tmp/dups")
r=1
while [ $r -le "$runs" ]; do
	progress "run $r of $runs"
	for s in redis lmdb; do
		fresh $s
		warm $s cold "$tmp/cold" "$distinct" 0
		warm $s cached "$tmp/cold" 0 "$distinct"
		fresh $s
		classify $s cold classify "$tmp/cold"
		classify $s cached classify "$tmp/cold"
		fresh $s
		warm $s dups "$tmp/dups" "$ddistinct" 0
		fresh $s
		classify $s dups classify "$tmp/dups"
	done
	url=memory:
	classify none cold model "$tmp/cold" ENABLE_CACHING=false
	classify none dups model "$tmp/dups" ENABLE_CACHING=false
	r=$((r + 1))
done
rm -rf "$tmp/lmdb"

# ---- instructions (callgrind) ---------------------------------------------------

# ir IN CMD...: the instructions callgrind counts in CMD, every thread of
# it, its stdin IN.
ir() {
	_in=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" \
		<"$_in" >/dev/null 2>"$tmp/cg.err" ||
		die "callgrind $*: $(tail -n 3 "$tmp/cg.err")"
	sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/cg.err"
}

# cg STORE CASE SYSTEM: SYSTEM's instructions per text, from a run on the
# first $cg_n texts of the cold file and one on the first 2 x $cg_n (the
# difference over $cg_n: start-up and the model's load cancel out), each
# on a fresh store (cached: one warmed with the 2 x $cg_n texts first).
# Only the client is counted, not the redis-server; the store's timeout
# is long, as a client under callgrind runs some 50 times slower.
cg() {
	_a=""
	for _k in 1 2; do
		if [ "$1" = none ]; then
			url=memory:
		else
			fresh "$1"
		fi
		if [ "$2" = cached ]; then
			"$tc" --store "$url" warm --model "$tmp/model.tcm" "$tmp/cg2" \
				>/dev/null 2>"$tmp/err" || die "warm: $(tail -n 3 "$tmp/err")"
		fi
		if [ "$3" = warm ]; then
			_ir=$(ir /dev/null "$tc" --timeout 60000 --store "$url" warm \
				--model "$tmp/model.tcm" "$tmp/cg$_k")
		else
			_ir=$(
				[ "$3" != model ] || export ENABLE_CACHING=false
				ir "$tmp/cg$_k" "$tc" --timeout 60000 --store "$url" \
					classify --model "$tmp/model.tcm"
			)
		fi
		[ -n "$_ir" ] || exit 1 # ir said why
		[ -n "$_a" ] || _a=$_ir
	done
	rec "$1" "$2" "$3" ir "$(awk -v a="$_a" -v b="$_ir" -v n="$cg_n" \
		'BEGIN { printf "%.0f", (b - a) / n }')"
}

cg_n=${BENCH_CG_N:-1000}
case $cg_n in *[!0-9]* | "") die "BENCH_CG_N: not a count: $cg_n" ;; esac
if [ "$cg_n" -gt 0 ] && [ $((2 * cg_n)) -gt "$lines" ]; then
	die "BENCH_CG_N: $cg_n, over half of the $lines texts"
fi
if [ "$cg_n" = 0 ]; then
	cg_n=""
elif ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts (scripts/deps.sh valgrind)"
	cg_n=""
else
	head -n "$cg_n" "$tmp/cold" >"$tmp/cg1"
	head -n $((2 * cg_n)) "$tmp/cold" >"$tmp/cg2"
	r=1
	progress "instructions, $cg_n and $((2 * cg_n)) texts under callgrind"
	for s in redis lmdb; do
		for c in cold cached; do
			cg $s $c warm
			cg $s $c classify
		done
	done
	cg none cold model
	rm -rf "$tmp/lmdb"
fi
bench_clock_stop

# ---- the report ---------------------------------------------------------------

# shellcheck disable=SC2016 # an awk program, not shell
report_awk=$bench_awk_range'
function add(k, v) { cnt[k]++; val[k, cnt[k]] = v + 0 }
function cell(k, f,    a, b) {
	if (!cnt[k]) return "-"
	a = sprintf(f, lo(k)); b = sprintf(f, hi(k))
	return a == b ? sprintf(f, med(k)) : sprintf(f " (%s-%s)", med(k), a, b)
}
# The rate of warm on st over that of y2 on st2, run by run, median
# (min-max); the baseline of file c is measured on file c2 (the model
# alone: the cold file for the cached one, the same texts).
function ratio(st, c, y, st2, y2, c2,    i, k) {
	if (st2 == st) {
		c2 = c
	}
	k = "r" SUBSEP st SUBSEP c SUBSEP y SUBSEP st2 SUBSEP y2
	if (!(k in done)) {
		done[k] = 1
		for (i = 1; i <= runs; i++) {
			if ((st, c, y, "rate", i) in one && (st2, c2, y2, "rate", i) in one &&
			    one[st2, c2, y2, "rate", i] > 0) {
				add(k, one[st, c, y, "rate", i] / one[st2, c2, y2, "rate", i])
			}
		}
	}
	return cell(k, "%.2fx")
}
{
	add($1 SUBSEP $2 SUBSEP $3 SUBSEP $4, $6)
	one[$1, $2, $3, $4, $5] = $6
}
function key(st, c, y, metric) { return st SUBSEP c SUBSEP y SUBSEP metric }
# The rows of METRIC (printf format f) of every file on each store of
# STORES: warm, classify, with MODEL the model alone, and for the rates
# the ratios.
function rows(metric, f, stores, model, cases,    i, j, n, c, m, st, S, C) {
	n = split(stores, S, " ")
	split(cases ? cases : "cold cached dups", C, " ")
	for (i = 1; i in C; i++) {
		c = C[i]
		m = c in mc ? mc[c] : c
		for (j = 1; j <= n; j++) {
			st = S[j]
			printf "| %s | %s | %s | %s |", title[c], name[st],
			    cell(key(st, c, "warm", metric), f),
			    cell(key(st, c, "classify", metric), f)
			if (model) {
				printf " %s |", cell(key("none", m, "model", metric), f)
			}
			if (metric == "rate") {
				printf " %s | %s |", ratio(st, c, "warm", st, "classify", m),
				    ratio(st, c, "warm", "none", "model", m)
			} else if (metric == "ir") {
				printf " %.2fx |", med(key(st, c, "warm", "ir")) / med(key("none", m, "model", "ir"))
			}
			print ""
		}
	}
}
END {
	title["cold"] = sprintf("%d distinct texts, cold", lines)
	title["cached"] = sprintf("the same again, cached")
	title["dups"] = sprintf("%d lines of %d texts (%d times each), cold", dlines, ddistinct, dup)
	name["redis"] = "Redis (TCP)"; name["lmdb"] = "LMDB"
	# the model alone has no cache: its figures for the cached file are
	# those of the cold one
	mc["cached"] = "cold"
	print "| file | store | warm, texts/s | classify, texts/s | model alone, texts/s | warm / classify | warm / model alone |"
	print "|---|---|---:|---:|---:|---:|---:|"
	rows("rate", "%.0f", "redis lmdb", 1)
	print ""
	print "CPU time per text, microseconds (the command, plus the redis-server on Redis):"
	print ""
	print "| file | store | warm | classify | model alone |"
	print "|---|---|---:|---:|---:|"
	rows("cpu_us", "%.1f", "redis lmdb", 1)
	print ""
	print "Redis commands per line of the file (INFO total_commands_processed):"
	print ""
	print "| file | store | warm | classify |"
	print "|---|---|---:|---:|"
	rows("cmds", "%.2f", "redis", 0)
	print ""
	print "Reads of a client\047s socket that brought the redis-server commands, per line of the file (INFO total_reads_processed: about one a round trip, whatever a pipeline holds):"
	print ""
	print "| file | store | warm | classify |"
	print "|---|---|---:|---:|"
	rows("reads", "%.3f", "redis", 0)
	print ""
	print "Of the CPU time per text above, the redis-server\047s, microseconds:"
	print ""
	print "| file | store | warm | classify |"
	print "|---|---|---:|---:|"
	rows("srv_us", "%.1f", "redis", 0)
	if (cg_n) {
		print ""
		printf "Instructions per text (callgrind, the command only: every thread of it, not the redis-server; runs on the first %d and %d texts of the cold file, the difference over %d):\n", cg_n, 2 * cg_n, cg_n
		print ""
		print "| file | store | warm | classify | model alone | warm / model alone (instructions) |"
		print "|---|---|---:|---:|---:|---:|"
		rows("ir", "%.0f", "redis lmdb", 1, "cold cached")
	}
}'

cpuname=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
rev=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo unknown)
tcv=$("$tc" --version 2>/dev/null || echo unknown)
{
	echo "## Cache warming: \`tutorcache warm\` in texts/s"
	echo
	echo "Written by \`bench/warm.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $rev,"
	echo "$runs runs (interleaved), median (min-max); $elapsed s in all."
	echo "Texts: $set_name train and test, $lines distinct lines ($distinct distinct"
	echo "after normalization); the model trained on $set_name train."
	echo
	awk -v runs="$runs" -v lines="$lines" -v dlines="$dlines" -v dup="$dup" \
		-v ddistinct="$ddistinct" -v cg_n="$cg_n" \
		"$report_awk" "$tmp/results"
	cat <<EOF

- CPU: $cpuname, $(nproc) online; client and redis-server ${pin:-not pinned}
- Load average (1, 5, 15 min) at the start: $load0; at the end: $load1
- redis-server $redis_version, no persistence; LMDB in ${TMPDIR:-/tmp}
- tutorcache: ${tcv#tutorcache }
EOF
} >"$tmp/report" || die "cannot write the report"
mv "$tmp/report" "$out" 2>/dev/null || cp "$tmp/report" "$out" || die "$out: cannot write"
cat "$out"
say "$runs runs in $elapsed s; report in $out"
