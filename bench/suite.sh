#!/bin/sh
# bench/suite.sh - the built-in classifier against fastText on many
# shapes of intent set, so that its defaults can be chosen for the worst
# set rather than the mean: SNIPS, BANKING77 and TREC-50 as given, a
# 2-class pair, the three merged (134 classes), the merged classes split
# into about 500, 1000 and 2000 sub-intents, low-resource versions (10
# texts per class) and an out-of-scope set. bench/suite.c builds the sets
# (see its `make`) and scores the predictions (`score`).
#
# Each set is run once, every system in turn with the same thread count:
# tutorcache (`tutorcache train`, then `tutorcache classify` on a memory:
# store without caching), fastText with its defaults and fastText strong.
# Both learners see the same tokens: build/model_bench writes the fastText
# files with the library's normalizer and tokenizer, the training file
# shuffled with a fixed seed.
#
# The data are read where they lie and never copied into the repository;
# the sets go to a temp dir removed on exit. Without the data the script
# says so and exits 0. A system that fails on a set gets a note in its
# row, and the run goes on.
#
# Usage: bench/suite.sh [path/to/tutorcache]
# Environment:
#   BENCH_DATA          the data (../shared/data/intents)
#   BENCH_THREADS       training threads of every system (1: deterministic)
#   BENCH_SEED          the shuffle of the fastText training files (1)
#   SUITE_SETS          the sets to run ("snips banking77"; default all)
#   SUITE_SPLIT         test (train -> test) or dev (fit -> dev; the test
#                       files are then never read)
#   SUITE_TRAIN_OPTS    extra options of `tutorcache train` ("--dim 64")
#   SUITE_FASTTEXT      the fastText configurations ("default strong")
#   SUITE_RATES         0: no predictions/s measurements (1)
#   SUITE_PREDICTIONS   texts per throughput measurement (about 50000)
#   SUITE_FT_CACHE      a directory keeping fastText's results per set
#   SUITE_SKIP_FASTTEXT 1: take fastText's results from SUITE_FT_CACHE
#                       only, never train it
#   SUITE_OUT           the report (<build>/bench-suite.md)
#   SUITE_TSV           the raw results (the report's name, .tsv)
set -u

tc=${1:-build/tutorcache}
build=$(dirname "$tc")
top=$(cd "$(dirname "$0")/.." && pwd)
threads=${BENCH_THREADS:-1}
seed=${BENCH_SEED:-1}
npred=${SUITE_PREDICTIONS:-50000}
split=${SUITE_SPLIT:-test}
train_opts=${SUITE_TRAIN_OPTS:-}
ft_systems=${SUITE_FASTTEXT:-default strong}
rates=${SUITE_RATES:-1}
ft_cache=${SUITE_FT_CACHE:-}
skip_ft=${SUITE_SKIP_FASTTEXT:-0}
out=${SUITE_OUT:-$build/bench-suite.md}
tsv=${SUITE_TSV:-${out%.md}.tsv}
all_sets="snips banking77 trec50 snips2 merge134 split500 split1000 split2000
snips-10 banking77-10 trec50-10 merge134-10 banking77-oos banking77-oos-taught"
sets=${SUITE_SETS:-$all_sets}

bench_name=bench/suite
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
ft_strong=$bench_ft_strong

bench_counts "BENCH_THREADS, BENCH_SEED, SUITE_PREDICTIONS" "$threads" "$seed" "$npred"
case $split in
test) fitname=train evalname=test ;;
dev) fitname=fit evalname=dev ;;
*) die "SUITE_SPLIT: test or dev, not $split" ;;
esac
for f in $ft_systems; do
	case $f in default | strong) ;; *) die "SUITE_FASTTEXT: $f?" ;; esac
done
if [ "$skip_ft" = 1 ] && [ -z "$ft_cache" ]; then
	die "SUITE_SKIP_FASTTEXT=1 needs SUITE_FT_CACHE"
fi
bench_data "the suite is skipped"
bench_need_lib
[ -x "$tc" ] || die "$tc: not built (run make first)"

# The answers must not depend on whoever runs this: no config file, no
# store or caching from the environment, no default model.
bench_clear_env

bench_need_fasttext

bench_tmp tcsuite

# Built next to the library, through a temp name, so that a concurrent
# `make bench` never runs a half-written binary.
suite=$build/suite
mb=$build/model_bench
bench_build_suite "$tmp/suite"
mv -f "$tmp/suite" "$suite" || die "$suite: cannot write"
# model_bench as bench/model.sh builds it; the one already built serves
# when the library is caught halfway through a change.
if ! bench_build_prog "$mb" "$top/bench/model_bench.c"; then
	[ -x "$mb" ] || die "bench/model_bench.c: does not build"
	say "bench/model_bench.c: does not build; using the $mb already built"
fi

# The whole run uses the CLI as it was at the start, next to a model_bench
# built from the same library: a `make` by someone else halfway through
# would otherwise swap the binary (or the model format) between rows.
tcname=$tc
cp "$tc" "$tmp/tutorcache" || die "$tc: cannot copy"
tc=$tmp/tutorcache

oos_label=no
"$tc" train --help 2>&1 | grep -q -- '--oos-label' && oos_label=yes

# ---- measuring ----------------------------------------------------------------

# rec SYSTEM METRIC VALUE: one number of the current set.
rec() { printf '%s %s %s %s\n' "$s" "$1" "$2" "$3" >>"$res"; }

# note SYSTEM WHAT FILE: a failure, with the last message line of FILE.
note() {
	msg=$(grep -v '^Command exited with' "$3" 2>/dev/null | tail -n 1 |
		tr '\t|' '  ' | cut -c 1-200)
	printf '%s\t%s\t%s: %s\n' "$s" "$1" "$2" "${msg:-no message}" >>"$tmp/notes"
}

# kv SYSTEM FILE: the numbers of the key=value line in FILE, for SYSTEM.
kv() {
	tr ' ' '\n' <"$2" | while IFS='=' read -r k v; do
		case $k in n | n_oos | accuracy | ece | ece_floor | ece_floor_p95 | \
			accuracy_all | oos_auroc | \
			oos_recall_at_90 | threshold_at_90 | predict_per_s)
			rec "$1" "$k" "$v" ;;
		esac
	done
}

# score PRED: suite score of PRED against the current set's gold file.
score() {
	case $s in
	*-oos*) "$suite" score --oos oos "$gold" "$1" ;;
	*) "$suite" score "$gold" "$1" ;;
	esac
}

prepare() {
	d=$tmp/run/$s
	mkdir -p "$d" || return 1
	"$mb" fasttext --shuffle "$seed" "$train" >"$d/train.ft" &&
		"$mb" fasttext "$gold" >"$d/test.ft" &&
		"$suite" texts "$gold" >"$d/texts" || return 1
	sed 's/^[^ ]* //' "$d/test.ft" >"$d/test.txt"
	ntest=$(wc -l <"$d/texts")
	[ "$ntest" -gt 0 ] || return 1
	copies=$(((npred + ntest - 1) / ntest))
	# without the rates, the long run is not made
	if [ "$rates" = 1 ]; then
		bench_copies "$d" "$copies"
	else
		bench_copies "$d" 0
	fi
	nmany=$((copies * ntest))
}

# fastText with the configuration $1 (default or strong).
run_fasttext() {
	sys=ft_$1
	if [ "$1" = strong ]; then
		# shellcheck disable=SC2086 # a list of flags
		set -- $ft_strong
	else
		set --
	fi
	bench_measure fasttext supervised -input "$d/train.ft" -output "$d/$sys" \
		-thread "$threads" -verbose 0 "$@" 2>"$d/err" ||
		{ note "$sys" "train failed" "$d/err"; return 0; }
	rec "$sys" train_s "$wall"
	rec "$sys" train_rss "$rss"
	rec "$sys" file_bytes "$(wc -c <"$d/$sys.bin")"
	fasttext predict-prob "$d/$sys.bin" "$d/test.txt" 1 >"$d/pred" \
		2>"$d/err" || { note "$sys" "predict failed" "$d/err"; return 0; }
	score "$d/pred" >"$d/kv" 2>"$d/err" ||
		{ note "$sys" "score failed" "$d/err"; return 0; }
	kv "$sys" "$d/kv"
	if [ "$rates" = 1 ]; then
		bench_measure fasttext predict "$d/$sys.bin" "$d/one.txt" >/dev/null &&
			w1=$wall &&
			bench_measure fasttext predict "$d/$sys.bin" "$d/many.txt" >/dev/null &&
			rec "$sys" predict_per_s "$(bench_rate "$nmany" "$wall" "$w1")"
	fi
	rm -f "$d/$sys.bin" "$d/$sys.vec"
}

# fastText through SUITE_FT_CACHE: a result is reused when the files it
# was trained and scored on, the flags, the threads and the version agree,
# and it has predictions/s if this run measures them.
fasttext_cached() {
	key=$({
		printf '%s|%s|%s|%s\n' "$1" "$ft_strong" "$threads" "$ftversion"
		cat "$d/train.ft" "$d/test.ft"
	} | sha256sum | cut -c 1-64)
	f=$ft_cache/$s.$1.$split
	if [ -r "$f" ] && [ "$(head -n 1 "$f")" = "$key" ] &&
		{ [ "$rates" = 0 ] || grep -q ' predict_per_s ' "$f"; }; then
		tail -n +2 "$f" | sed "s/^[^ ]* /$s /" >>"$res"
		return 0
	fi
	if [ "$skip_ft" = 1 ]; then
		printf '%s\tft_%s\tnot run: SUITE_SKIP_FASTTEXT=1, nothing cached in %s\n' \
			"$s" "$1" "$ft_cache" >>"$tmp/notes"
		return 0
	fi
	n0=$(wc -l <"$res")
	run_fasttext "$1"
	if [ -n "$ft_cache" ] && mkdir -p "$ft_cache"; then
		{
			echo "$key"
			tail -n +$((n0 + 1)) "$res"
		} >"$f.tmp" && mv -f "$f.tmp" "$f"
	fi
}

run_tutorcache() {
	sys=tc
	case $s in
	*-oos-taught)
		if [ $oos_label = no ]; then
			printf '%s\ttc\tskipped: this tutorcache train has no --oos-label\n' \
				"$s" >>"$tmp/notes"
			return 0
		fi
		set -- --oos-label oos
		;;
	*) set -- ;;
	esac
	# shellcheck disable=SC2086 # SUITE_TRAIN_OPTS is a list of options
	bench_measure "$tc" train --threads "$threads" $train_opts "$@" \
		-o "$d/tc.tcm" "$train" >"$d/out" 2>"$d/err" ||
		{ note tc "train failed" "$d/err"; return 0; }
	rec tc train_s "$wall"
	rec tc train_rss "$rss"
	rec tc file_bytes "$(wc -c <"$d/tc.tcm")"
	ENABLE_CACHING=false "$tc" --store memory: classify --model "$d/tc.tcm" \
		-k 1 <"$d/texts" >"$d/pred" 2>"$d/err" ||
		{ note tc "classify failed" "$d/err"; return 0; }
	score "$d/pred" >"$d/kv" 2>"$d/err" ||
		{ note tc "score failed" "$d/err"; return 0; }
	kv tc "$d/kv"
	[ "$rates" = 1 ] || return 0
	if "$mb" predict -n "$npred" "$d/tc.tcm" "$gold" >"$d/kv" 2>"$d/err"; then
		kv tc "$d/kv"
	else
		note tc "model_bench predict failed" "$d/err"
	fi
	set -- env ENABLE_CACHING=false "$tc" --store memory: classify \
		--model "$d/tc.tcm" -k 1
	bench_measure "$@" <"$d/one.texts" >/dev/null 2>&1 && w1=$wall &&
		bench_measure "$@" <"$d/many.texts" >/dev/null 2>&1 &&
		rec tc cli_per_s "$(bench_rate "$nmany" "$wall" "$w1")"
	rm -f "$d/tc.tcm"
}

# ---- the runs -----------------------------------------------------------------

bench_clock_start
res=$tmp/results
: >"$res"
: >"$tmp/notes"
make_opts=""
[ "$split" = test ] || make_opts=--train-only
progress "making the sets"
# shellcheck disable=SC2086
"$suite" make $make_opts "$data" "$tmp/sets" $sets >"$tmp/sets.txt" ||
	die "cannot make the sets"
for s in $sets; do
	train=$tmp/sets/$s/$fitname.jsonl
	gold=$tmp/sets/$s/$evalname.jsonl
	prepare || die "$s: cannot prepare the data"
	for f in $ft_systems; do
		progress "$s: fastText $f"
		if [ -n "$ft_cache" ]; then
			fasttext_cached "$f"
		else
			run_fasttext "$f"
		fi
	done
	progress "$s: tutorcache"
	run_tutorcache
	rm -rf "$d"
done
bench_clock_stop
cp "$res" "$tsv" 2>/dev/null || say "$tsv: cannot write"

# ---- the report ---------------------------------------------------------------

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
rev=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo unknown)
tcv=$("$tc" --version 2>/dev/null || echo unknown)
cmd="bench/suite.sh $tcname"
for v in BENCH_THREADS SUITE_SPLIT SUITE_SETS SUITE_TRAIN_OPTS SUITE_FASTTEXT \
	SUITE_RATES SUITE_PREDICTIONS SUITE_SKIP_FASTTEXT; do
	eval "val=\${$v:-}"
	[ -z "$val" ] || cmd="$v=\"$val\" $cmd"
done

# shellcheck disable=SC2016 # an awk program, not shell
report_awk='
function has(s, y, m) { return (s SUBSEP y SUBSEP m) in v }
function get(s, y, m) { return v[s, y, m] }
function num(s, y, m, f, scale) {
	if (!has(s, y, m) || get(s, y, m) ~ /nan/) return "-"
	return sprintf(f, get(s, y, m) * scale)
}
FILENAME ~ /sets.txt$/ {
	sub(/^set=/, "", $1)
	for (i = 2; i <= NF; i++) { split($i, kv, "="); info[$1, kv[1]] = kv[2] }
	next
}
FILENAME ~ /notes$/ {
	split($0, f, "\t"); noted[f[1], f[2]] = f[3]; next
}
{ v[$1, $2, $3] = $4 }
END {
	ns = split(sets, S, " ")
	ny = split("tc ft_strong ft_default", Y, " ")
	name["tc"] = "tutorcache"; name["ft_strong"] = "fastText strong"
	name["ft_default"] = "fastText defaults"
	fitn = split_ == "dev" ? "fit" : "train"; evn = split_ == "dev" ? "dev" : "test"

	print "### Sets\n"
	printf "| set | classes | %s texts | %s texts | %s classes | smallest class (train) |\n", fitn, evn, evn
	print "|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		printf "| %s | %s | %s | %s | %s | %s |\n", s, info[s, "classes"], info[s, fitn],
		    (split_ == "dev" ? info[s, "dev"] : info[s, "test"]),
		    (split_ == "dev" ? "-" : info[s, "test_classes"]), info[s, "smallest_class"]
	}

	print "\n### Results\n"
	print "Accuracy and ECE of the out-of-scope sets are those of the in-scope texts."
	print "Predictions/s: tutorcache through the library (`tc_model_predict`) / through"
	print "`tutorcache classify` without cache; fastText through `fasttext predict`.\n"
	print "| set | system | classes | train | accuracy | ECE | training | peak RSS, training | model | predictions/s |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		for (j = 1; j <= ny; j++) {
			y = Y[j]
			if (!has(s, y, "accuracy") && !((s, y) in noted)) continue
			if (!has(s, y, "accuracy")) {
				printf "| %s | %s | %s | %s | %s | | | | | |\n", s, name[y],
				    info[s, "classes"], info[s, fitn], noted[s, y]
				continue
			}
			rate = num(s, y, "predict_per_s", "%.0f k", 1e-3)
			if (y == "tc") rate = rate " / " num(s, y, "cli_per_s", "%.0f k", 1e-3)
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, name[y],
			    info[s, "classes"], info[s, fitn], num(s, y, "accuracy", "%.4f", 1),
			    num(s, y, "ece", "%.4f", 1), num(s, y, "train_s", "%.2f s", 1),
			    num(s, y, "train_rss", "%.0f MB", 1024e-6),
			    num(s, y, "file_bytes", "%.1f MB", 1e-6), rate
		}
	}

	print "\n### tutorcache / fastText strong\n"
	print "| set | accuracy, difference | training time | predictions/s, library | predictions/s, CLI |"
	print "|---|---:|---:|---:|---:|"
	worst = ""; nd = 0; sum = 0
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (!has(s, "tc", "accuracy") || !has(s, "ft_strong", "accuracy")) {
			printf "| %s | - | - | - | - |\n", s
			continue
		}
		d = 100 * (get(s, "tc", "accuracy") - get(s, "ft_strong", "accuracy"))
		nd++; sum += d
		if (worst == "" || d < wd) { worst = s; wd = d }
		printf "| %s | %+.1f points | %s | %s | %s |\n", s, d,
		    ratio(s, "train_s", "train_s"), ratio(s, "predict_per_s", "predict_per_s"),
		    ratio(s, "cli_per_s", "predict_per_s")
	}
	if (worst != "") {
		printf "\n**Worst set: %s**, %+.1f points against fastText strong (mean over %d sets: %+.1f points).\n",
		    worst, wd, nd, sum / nd
	}

	floor_table()
	hasoos = 0
	for (i = 1; i <= ns; i++) hasoos += S[i] ~ /-oos/
	if (hasoos) oos_table()
	first = 1
	for (i = 1; i <= ns; i++) {
		for (j = 1; j <= ny; j++) {
			if ((S[i], Y[j]) in noted) {
				if (first) { print "\n### Notes\n"; first = 0 }
				printf "- %s, %s: %s\n", S[i], name[Y[j]], noted[S[i], Y[j]]
			}
		}
	}
	print ""
}
function ratio(s, ma, mb,    a, b) {
	if (!has(s, "tc", ma) || !has(s, "ft_strong", mb)) return "-"
	a = get(s, "tc", ma); b = get(s, "ft_strong", mb)
	return b > 0 ? sprintf("%.2fx", a / b) : "-"
}
function floor_table(    i, s) {
	print "\n### ECE against sampling noise\n\n" \
	    "The ECE a perfectly calibrated classifier with the confidences of tutorcache\n" \
	    "would show on as many texts (`suite score`: each answer drawn right with\n" \
	    "the probability of its confidence, 1000 draws): its mean and 95th\n" \
	    "percentile. An ECE under the percentile is not evidence of a bad link.\n\n" \
	    "| set | tutorcache ECE | floor, mean | floor, 95th percentile |\n|---|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (!has(s, "tc", "ece_floor")) continue
		printf "| %s | %s | %s | %s |\n", s, num(s, "tc", "ece", "%.4f", 1),
		    num(s, "tc", "ece_floor", "%.4f", 1), num(s, "tc", "ece_floor_p95", "%.4f", 1)
	}
}
function oos_table(    i, j, s, y) {
	print "\n### Out of scope\n"
	print "recall@90: the share of out-of-scope texts rejected (top confidence below the"
	print "threshold, or the label `oos` itself) at the highest threshold that keeps the"
	print "in-scope accuracy at 0.90, rejected in-scope texts counted wrong; - when the"
	print "in-scope accuracy is below 0.90 even without a threshold. AUROC: in-scope"
	print "against out-of-scope by the top confidence (an `oos` answer ranks lowest).\n"
	print "| set | system | in-scope accuracy | accuracy, all texts | AUROC | recall@90 | threshold |"
	print "|---|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (s !~ /-oos/) continue
		for (j = 1; j <= ny; j++) {
			y = Y[j]
			if (!has(s, y, "oos_auroc")) {
				if ((s, y) in noted) printf "| %s | %s | %s | | | | |\n", s, name[y], noted[s, y]
				continue
			}
			printf "| %s | %s | %s | %s | %s | %s | %s |\n", s, name[y],
			    num(s, y, "accuracy", "%.4f", 1), num(s, y, "accuracy_all", "%.4f", 1),
			    num(s, y, "oos_auroc", "%.4f", 1), num(s, y, "oos_recall_at_90", "%.4f", 1),
			    num(s, y, "threshold_at_90", "%.4f", 1)
		}
	}
}
'

{
	echo "## The built-in classifier against fastText, set by set"
	echo
	echo "Written by \`$cmd\`"
	echo "on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $rev; $elapsed s in all."
	if [ "$split" = dev ]; then
		echo "Split: dev (trained on fit.jsonl, scored on dev.jsonl; no test file read)."
	else
		echo "Split: test (trained on train.jsonl, scored on test.jsonl)."
	fi
	echo "CPU: ${cpu:-unknown}, $(nproc) cores; load average $load0 at the start, $load1 at the end."
	echo "Training with $threads thread(s) for every system, one run each; predictions on"
	echo "one thread. MB are 10^6 bytes."
	echo
	echo "- tutorcache ${tcv#tutorcache }: \`tutorcache train --threads $threads${train_opts:+ $train_opts}\`"
	echo "  (\`--oos-label oos\` on banking77-oos-taught: $oos_label)"
	echo "- fastText $ftversion, defaults: \`fasttext supervised -thread $threads -verbose 0\`"
	echo "- fastText strong: the same plus \`$ft_strong\`"
	echo
	awk -v sets="$sets" -v split_="$split" "$report_awk" \
		"$tmp/sets.txt" "$tmp/notes" "$res"
	cat <<EOF
### How it was measured

- The sets are built by \`suite make\` from \`$data\`
  (bench/suite.c says how); fastText's files by \`model_bench fasttext\` with
  the library's tokenizer, the training file shuffled (seed $seed).
- Accuracy and ECE (15 equal-width bins of the top confidence) by \`suite score\`
  from \`fasttext predict-prob MODEL FILE 1\` and from
  \`ENABLE_CACHING=false tutorcache --store memory: classify --model M -k 1\`.
- Training: the whole process, by the nanosecond clock; peak RSS by
  \`/usr/bin/time -f %M\`.
- Predictions/s, one thread: \`model_bench predict -n $npred\` (the library's
  \`tc_model_predict\` in a loop); \`tutorcache classify\` and \`fasttext predict\`
  on the evaluation texts repeated to about $npred lines, less the same command
  on one line: (lines - 1) / (t_many - t_one).
EOF
} >"$tmp/report" || die "cannot write the report"
mv "$tmp/report" "$out" 2>/dev/null || cp "$tmp/report" "$out" || die "$out: cannot write"
say "$(echo "$sets" | wc -w) set(s) in $elapsed s; report in $out"
