#!/bin/sh
# bench/model.sh - the built-in classifier against fastText, the yardstick
# of BENCHMARKS.md: accuracy, training wall time, single-thread
# predictions per second, model file size and peak memory, on SNIPS and
# BANKING77 (../shared/data/intents), plus classification through a
# memory: cache (L1 hits and misses) and through `tutorcache classify`.
#
# Both learners see the same tokens: bench/model_bench.c writes the
# fastText files with the library's own normalizer and tokenizer, the
# training file shuffled with a fixed seed (fastText reads in order and
# both sets come grouped by label). fastText runs with its defaults and
# with the strong configuration of the issue, the library with its
# defaults; all train with the same thread count. Every measurement is
# taken BENCH_RUNS times, the runs interleaved so that a slow spell of
# the shared machine falls on every contestant, and the report gives the
# median with min-max. The ratios against the targets are each run's own.
#
# The data are read where they lie and never copied into the repository;
# everything derived goes to a temp dir removed on exit. Without the data
# the script says so and exits 0.
#
# Usage: bench/model.sh [path/to/tutorcache]
# Environment: BENCH_RUNS (3), BENCH_THREADS (2), BENCH_PREDICTIONS (about
# 100000 texts per throughput run), BENCH_HITS (1000000), BENCH_MISSES
# (50000), BENCH_SEED (1, the shuffle), BENCH_DATA
# (../shared/data/intents), BENCH_MODEL_OUT (<build>/bench-model.md).
set -u

tc=${1:-build/tutorcache}
build=$(dirname "$tc")
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-3}
threads=${BENCH_THREADS:-2}
npred=${BENCH_PREDICTIONS:-100000}
nhits=${BENCH_HITS:-1000000}
nmiss=${BENCH_MISSES:-50000}
seed=${BENCH_SEED:-1}
out=${BENCH_MODEL_OUT:-$build/bench-model.md}
sets="snips banking77"

bench_name=bench/model
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
ft_strong=$bench_ft_strong

bench_counts "BENCH_*" "$runs" "$threads" "$npred" "$nhits" "$nmiss" "$seed"
bench_data "the model benchmarks are skipped"
for s in $sets; do
	for f in train test; do
		[ -r "$data/$s/$f.jsonl" ] || die "$data/$s/$f.jsonl: not readable"
	done
done
bench_need_lib

# The answers must not depend on whoever runs this: no config file, no
# store or caching from the environment, no default model.
bench_clear_env

# ---- what it needs ------------------------------------------------------------

bench_need_fasttext

mb=$build/model_bench
bench_build_prog "$mb" "$top/bench/model_bench.c" ||
	die "bench/model_bench.c: does not build"

# The CLI's train and classify, when this build has them.
cli=no
if [ -x "$tc" ] && "$tc" help train >/dev/null 2>&1 &&
	"$tc" help classify >/dev/null 2>&1; then
	cli=yes
else
	say "$tc: no train/classify commands; the CLI columns stay empty"
fi

bench_tmp tcmodel

# ---- measuring ----------------------------------------------------------------

# rec SET SYSTEM METRIC VALUE: one number of one run.
rec() { printf '%s %s %s %s %s\n' "$1" "$2" "$3" "$r" "$4" >>"$tmp/results"; }

# kv KEY FILE: the value of KEY in model_bench's key=value line.
kv() { tr ' ' '\n' <"$2" | sed -n "s/^$1=//p"; }

# accuracy PREDICTED GOLD: the share of equal lines.
accuracy() {
	paste -d ' ' "$1" "$2" |
		awk '{ n++; r += ($1 == $2) } END { if (n) printf "%.4f", r / n }'
}

prepare() {
	s=$1
	d=$tmp/$s
	mkdir -p "$d" || return 1
	"$mb" fasttext --shuffle "$seed" "$data/$s/train.jsonl" >"$d/train.ft" &&
		"$mb" fasttext "$data/$s/test.jsonl" >"$d/test.ft" &&
		"$mb" texts "$data/$s/test.jsonl" >"$d/texts" || return 1
	cut -d ' ' -f 1 "$d/test.ft" >"$d/gold"
	sed 's/^[^ ]* //' "$d/test.ft" >"$d/test.txt"
	ntest=$(wc -l <"$d/gold")
	[ "$ntest" -gt 0 ] && [ "$(wc -l <"$d/texts")" -eq "$ntest" ] || return 1
	copies=$(((npred + ntest - 1) / ntest))
	bench_copies "$d" "$copies"
	echo $((copies * ntest)) >"$d/n"
	printf '%s %s %s %s %s\n' "$s" "$(wc -l <"$data/$s/train.jsonl")" \
		"$ntest" "$(sort -u "$d/gold" | wc -l)" $((copies * ntest)) \
		>>"$tmp/sets"
}

# fastText: train, accuracy, predictions/s, file size, peak memory.
run_fasttext() {
	s=$1 name=$2
	shift 2
	d=$tmp/$s
	n=$(cat "$d/n")
	bench_measure fasttext supervised -input "$d/train.ft" -output "$d/$name" \
		-thread "$threads" -verbose 0 "$@" || return 1
	rec "$s" "$name" train_s "$wall"
	rec "$s" "$name" train_rss "$rss"
	rec "$s" "$name" file_bytes "$(wc -c <"$d/$name.bin")"
	fasttext predict "$d/$name.bin" "$d/test.txt" >"$d/pred" || return 1
	rec "$s" "$name" accuracy "$(accuracy "$d/pred" "$d/gold")"
	bench_measure fasttext predict "$d/$name.bin" "$d/one.txt" >/dev/null || return 1
	w1=$wall
	bench_measure fasttext predict "$d/$name.bin" "$d/many.txt" >/dev/null || return 1
	rec "$s" "$name" predict_per_s "$(bench_rate "$n" "$wall" "$w1")"
	rec "$s" "$name" predict_rss "$rss"
	rm -f "$d/$name.bin" "$d/$name.vec"
}

# The library through model_bench: the same, plus classify through a
# memory: cache.
run_library() {
	s=$1
	d=$tmp/$s
	n=$(cat "$d/n")
	bench_measure "$mb" train --threads "$threads" "$data/$s/train.jsonl" \
		"$d/tc.tcm" >"$d/kv" || return 1
	rec "$s" tc train_s "$wall"
	rec "$s" tc train_rss "$rss"
	rec "$s" tc train_api_s "$(kv train_s "$d/kv")"
	rec "$s" tc file_bytes "$(kv file_bytes "$d/kv")"
	"$mb" eval "$d/tc.tcm" "$data/$s/test.jsonl" >"$d/kv" || return 1
	rec "$s" tc accuracy "$(kv accuracy "$d/kv")"
	bench_measure "$mb" predict -n "$n" "$d/tc.tcm" "$data/$s/test.jsonl" \
		>"$d/kv" || return 1
	rec "$s" tc predict_per_s "$(kv predict_per_s "$d/kv")"
	rec "$s" tc predict_rss "$rss"
	"$mb" classify -n "$nhits" --misses "$nmiss" "$d/tc.tcm" \
		"$data/$s/test.jsonl" >"$d/kv" || return 1
	rec "$s" tc l1_hit_per_s "$(kv l1_hit_per_s "$d/kv")"
	rec "$s" tc miss_per_s "$(kv miss_per_s "$d/kv")"
	rm -f "$d/tc.tcm"
}

# The CLI: `tutorcache train`, then `tutorcache classify` on a file of the
# test texts repeated, with the cache (after the first copy every line is
# an L1 hit) and without (ENABLE_CACHING=false: the model on every line).
run_cli() {
	s=$1
	d=$tmp/$s
	n=$(cat "$d/n")
	bench_measure "$tc" train --threads "$threads" -o "$d/cli.tcm" \
		"$data/$s/train.jsonl" >/dev/null || return 1
	rec "$s" cli train_s "$wall"
	rec "$s" cli train_rss "$rss"
	rec "$s" cli file_bytes "$(wc -c <"$d/cli.tcm")"
	# Once untimed, to check that every line gets its answer.
	"$tc" --store memory: classify --model "$d/cli.tcm" <"$d/texts" \
		>"$d/cli.out" || return 1
	[ "$(grep -c '"intent"' "$d/cli.out")" -eq "$(wc -l <"$d/texts")" ] ||
		{ say "classify: not one answer per line"; return 1; }
	sed 's/^.*"intent":"\([^"]*\)".*$/__label__\1/' "$d/cli.out" >"$d/pred"
	rec "$s" cli accuracy "$(accuracy "$d/pred" "$d/gold")"
	for mode in cached uncached; do
		if [ $mode = cached ]; then
			set -- "$tc"
		else
			set -- env ENABLE_CACHING=false "$tc"
		fi
		bench_measure "$@" --store memory: classify --model "$d/cli.tcm" \
			<"$d/one.texts" >/dev/null || return 1
		w1=$wall
		bench_measure "$@" --store memory: classify --model "$d/cli.tcm" \
			<"$d/many.texts" >/dev/null || return 1
		rec "$s" cli "classify_${mode}_per_s" "$(bench_rate "$n" "$wall" "$w1")"
		rec "$s" cli "classify_${mode}_rss" "$rss"
	done
	rm -f "$d/cli.tcm"
}

# ---- the runs -----------------------------------------------------------------

bench_clock_start
: >"$tmp/results"
: >"$tmp/sets"
for s in $sets; do
	prepare "$s" || die "$s: cannot prepare the data"
done
r=1
while [ "$r" -le "$runs" ]; do
	for s in $sets; do
		progress "run $r of $runs, $s"
		run_fasttext "$s" ft_default || die "$s, run $r: fastText (defaults) failed"
		# shellcheck disable=SC2086
		run_fasttext "$s" ft_strong $ft_strong ||
			die "$s, run $r: fastText (strong) failed"
		run_library "$s" || die "$s, run $r: model_bench failed"
		if [ $cli = yes ]; then
			run_cli "$s" || die "$s, run $r: tutorcache train/classify failed"
		fi
	done
	r=$((r + 1))
done
bench_clock_stop

# ---- the report ---------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.1f GB", $2 * 1024 / 1e9 }' /proc/meminfo)
ccv=$(${CC:-cc} --version 2>/dev/null | head -n 1)
rev=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo unknown)
tcv=$("$tc" --version 2>/dev/null || echo unknown)

# shellcheck disable=SC2016 # an awk program, not shell
report_awk=$bench_awk_range'
function add(k, v) {
	cnt[k]++
	val[k, cnt[k]] = v + 0
}
function has(s, sys, m) { return cnt[s SUBSEP sys SUBSEP m] > 0 }
function key(s, sys, m) { return s SUBSEP sys SUBSEP m }
# A cell: the median and, over several runs, min-max.
function cell(s, sys, m, unit,    k, f) {
	k = key(s, sys, m)
	if (!cnt[k]) {
		return "-"
	}
	if (unit == "acc") {
		f = "%.4f"
	} else if (unit == "s") {
		f = "%.2f"
	} else if (unit == "k") {
		return spread(k, 1e-3, "%.0f", " k/s")
	} else if (unit == "M") {
		return spread(k, 1e-6, "%.2f", " M/s")
	} else if (unit == "MB") {
		return spread(k, 1e-6, "%.1f", " MB")
	} else if (unit == "KiB") {
		return spread(k, 1024e-6, "%.0f", " MB")
	}
	return spread(k, 1, f, (unit == "s" ? " s" : ""))
}
function spread(k, scale, f, suffix) {
	if (sprintf(f, lo(k) * scale) == sprintf(f, hi(k) * scale)) {
		return sprintf(f suffix, med(k) * scale)
	}
	return sprintf(f suffix " (" f "-" f ")", med(k) * scale, lo(k) * scale,
	    hi(k) * scale)
}
# The per-run ratio a / b of two systems on one metric, median and range.
function ratio(s, a, b, m,    i, k) {
	k = "ratio" SUBSEP s SUBSEP a SUBSEP b SUBSEP m
	if (!(k in done)) {
		done[k] = 1
		for (i = 1; i <= runs; i++) {
			if ((s, a, m, i) in one && (s, b, m, i) in one && one[s, b, m, i] > 0) {
				add(k, one[s, a, m, i] / one[s, b, m, i])
			}
		}
	}
	return k
}
function rcell(k) {
	if (!cnt[k]) {
		return "-"
	}
	return cnt[k] == 1 ? sprintf("%.2fx", med(k)) : \
	    sprintf("%.2fx (%.2f-%.2f)", med(k), lo(k), hi(k))
}
function verdict(ok) { return ok ? "**met**" : "**missed**" }
FILENAME ~ /sets$/ {
	ntrain[$1] = $2; ntest[$1] = $3; nlab[$1] = $4; nmany[$1] = $5
	next
}
{
	add(key($1, $2, $3), $5)
	one[$1, $2, $3, $4] = $5
}
END {
	split(sets, S, " ")
	title["snips"] = "SNIPS"; title["banking77"] = "BANKING77"
	for (i = 1; i in S; i++) {
		s = S[i]
		printf "### %s (%d train, %d test, %d intents; throughput over %d texts)\n\n",
		    title[s], ntrain[s], ntest[s], nlab[s], nmany[s]
		print "| | accuracy | training wall | peak RSS, training | model file | predictions/s, 1 thread | peak RSS, predicting |"
		print "|---|---:|---:|---:|---:|---:|---:|"
		n = split("ft_default ft_strong tc cli", Y, " ")
		name["ft_default"] = "fastText, defaults"
		name["ft_strong"] = "fastText, strong"
		name["tc"] = "tutorcache, defaults (library)"
		name["cli"] = "tutorcache, defaults (CLI)"
		for (j = 1; j <= n; j++) {
			y = Y[j]
			if (!has(s, y, "train_s")) {
				continue
			}
			printf "| %s | %s | %s | %s | %s | %s | %s |\n", name[y],
			    cell(s, y, "accuracy", "acc"), cell(s, y, "train_s", "s"),
			    cell(s, y, "train_rss", "KiB"), cell(s, y, "file_bytes", "MB"),
			    (y == "cli" ? cell(s, y, "classify_uncached_per_s", "k") " (classify, no cache)" : cell(s, y, "predict_per_s", "k")),
			    (y == "cli" ? cell(s, y, "classify_uncached_rss", "KiB") : cell(s, y, "predict_rss", "KiB"))
		}
		printf "\nClassification, one thread: `tc_classify` on a memory: cache, L1 hits %s, misses %s",
		    cell(s, "tc", "l1_hit_per_s", "M"), cell(s, "tc", "miss_per_s", "k")
		if (has(s, "cli", "classify_cached_per_s")) {
			printf "; `tutorcache classify` on a file of the test texts repeated, cache on (L1 hits after the first copy) %s, cache off %s",
			    cell(s, "cli", "classify_cached_per_s", "k"),
			    cell(s, "cli", "classify_uncached_per_s", "k")
		}
		print ".\n"
	}

	print "### Targets\n"
	print "Ratios are taken within each run, whose contestants shared the machine in the"
	print "same state, then the median and min-max of the runs; the verdict is on the median.\n"
	printf "| target |"
	for (i = 1; i in S; i++) printf " %s |", title[S[i]]
	printf "\n|---|"
	for (i = 1; i in S; i++) printf "---|"
	print ""
	printf "| accuracy >= fastText\047s best |"
	for (i = 1; i in S; i++) {
		s = S[i]
		best = med(key(s, "ft_default", "accuracy")) > med(key(s, "ft_strong", "accuracy")) ? "ft_default" : "ft_strong"
		a = med(key(s, "tc", "accuracy")); b = med(key(s, best, "accuracy"))
		printf " %.4f vs %.4f (%s), %+.1f points: %s |", a, b,
		    (best == "ft_strong" ? "strong" : "defaults"), 100 * (a - b), verdict(a >= b)
	}
	print ""
	printf "| training wall <= fastText\047s: tutorcache / fastText strong |"
	for (i = 1; i in S; i++) {
		k = ratio(S[i], "tc", "ft_strong", "train_s")
		printf " %s: %s |", rcell(k), verdict(med(k) <= 1)
	}
	printf "\n| ... / fastText defaults |"
	for (i = 1; i in S; i++) {
		k = ratio(S[i], "tc", "ft_default", "train_s")
		printf " %s: %s |", rcell(k), verdict(med(k) <= 1)
	}
	printf "\n| predictions/s >= 2x fastText\047s: tutorcache / fastText strong |"
	for (i = 1; i in S; i++) {
		k = ratio(S[i], "tc", "ft_strong", "predict_per_s")
		printf " %s: %s |", rcell(k), verdict(med(k) >= 2)
	}
	printf "\n| ... / fastText defaults |"
	for (i = 1; i in S; i++) {
		k = ratio(S[i], "tc", "ft_default", "predict_per_s")
		printf " %s: %s |", rcell(k), verdict(med(k) >= 2)
	}
	printf "\n| model file <= 20 MB, defaults |"
	for (i = 1; i in S; i++) {
		k = key(S[i], "tc", "file_bytes")
		printf " %.1f MB: %s |", med(k) / 1e6, verdict(hi(k) <= 20e6)
	}
	printf "\n| classify, L1 hits >= 1 M/s per thread |"
	for (i = 1; i in S; i++) {
		k = key(S[i], "tc", "l1_hit_per_s")
		printf " %.2f M/s: %s |", med(k) / 1e6, verdict(med(k) >= 1e6)
	}
	print "\n"
}'

{
	echo "## The built-in classifier against fastText"
	echo
	echo "Written by \`bench/model.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $rev,"
	echo "$runs runs (interleaved), median (min-max); $elapsed s in all."
	echo "Training with $threads threads for every contestant; predictions on one thread."
	echo "MB are 10^6 bytes."
	echo
	awk -v sets="$sets" -v runs="$runs" "$report_awk" "$tmp/sets" "$tmp/results"
	cat <<EOF
### How it was measured

- Data: \`$data/{snips,banking77}/{train,test}.jsonl\`, read in place. For
  fastText, \`model_bench fasttext\` writes \`__label__INTENT tok tok ...\` with
  the library's normalizer and tokenizer (lowercasing, punctuation split off,
  trailing . ! ? , ; : dropped), the training file shuffled (seed $seed, a
  Fisher-Yates of model_bench's own). The library trains on the original
  JSON Lines and shuffles each epoch itself.
- Training wall: the whole process (reading the data, training, saving; fastText
  also writes its .vec file), by the nanosecond clock; peak RSS by
  \`/usr/bin/time -f %M\`. The library's own training call alone took
EOF
	awk -v sets="$sets" '{ if ($3 == "train_api_s" && $2 == "tc") { n[$1]++; v[$1, n[$1]] = $5 } }
		END { split(sets, S, " "); for (i = 1; i in S; i++) { s = S[i]; m = ""
			for (j = 1; j <= n[s]; j++) m = m (j > 1 ? ", " : "") v[s, j]
			printf "  %s s (%s)%s", m, s, ((i + 1) in S ? ";\n" : ".\n") } }' "$tmp/results"
	cat <<EOF
- Predictions/s: fastText by \`fasttext predict MODEL FILE > /dev/null\` over
  the test texts (already tokenized) repeated to about $npred lines, less the time
  of the same command on one line (start-up and model load), so
  (lines - 1) / (t_many - t_one); the library by \`model_bench predict\`, a loop of
  \`tc_model_predict\` (top 1) over the raw test texts after one untimed pass,
  so it normalizes and tokenizes every text, while fastText only splits the
  pre-tokenized line at spaces but also reads and writes it.
- Accuracy: the share of test texts whose top intent is the gold one (fastText:
  \`fasttext predict\` on the test file; the library: \`model_bench eval\`).
- Classification: \`model_bench classify\` opens a memory: cache (L1 only, no
  environment or config file) and a classifier on the model; L1 hits: every test
  text once, then $nhits calls cycling over them, each checked to come from the
  L1; misses: $nmiss texts made unique by a number in front, each checked to come
  from the model (lookup, prediction, L1 store). The CLI: the test texts
  repeated as above, through \`tutorcache --store memory: classify --model M\`,
  with ENABLE_CACHING unset and =false, less the one-line run.

### Commands

\`\`\`sh
# model_bench is build/model_bench, built from bench/model_bench.c
model_bench fasttext --shuffle $seed train.jsonl > train.ft
model_bench fasttext test.jsonl > test.ft
fasttext supervised -input train.ft -output ft_default -thread $threads -verbose 0
fasttext supervised -input train.ft -output ft_strong -thread $threads -verbose 0 $ft_strong
fasttext predict ft_*.bin test.txt
fasttext predict ft_*.bin many.txt > /dev/null     # and one.txt
model_bench train --threads $threads train.jsonl tc.tcm
model_bench eval tc.tcm test.jsonl
model_bench predict -n N tc.tcm test.jsonl
model_bench classify -n $nhits --misses $nmiss tc.tcm test.jsonl
tutorcache train --threads $threads -o cli.tcm train.jsonl
tutorcache --store memory: classify --model cli.tcm < many.texts > /dev/null
ENABLE_CACHING=false tutorcache --store memory: classify --model cli.tcm < many.texts > /dev/null
\`\`\`

### Machine

- CPU: $cpu, $(nproc) cores online; memory $mem; kernel $(uname -r)
- Load average (1, 5, 15 min) at the start: $load0; at the end: $load1 (a shared VM)
- Compiler: $ccv; CFLAGS ${CFLAGS:--O2 -g}
- fastText: Debian package $ftversion
- tutorcache: ${tcv#tutorcache }
EOF
	[ $cli = yes ] ||
		printf '\nThe CLI was not measured: %s has no train/classify commands.\n' "$tc"
} >"$tmp/report" || die "cannot write the report"
mv "$tmp/report" "$out" 2>/dev/null || cp "$tmp/report" "$out" || die "$out: cannot write"
say "$runs runs in $elapsed s; report in $out"
