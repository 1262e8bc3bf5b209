#!/bin/sh
# bench/corrections.sh - what corrections do to the built-in classifier,
# on every set of the classifier suite (bench/suite.sh): for N = 10, 100,
# 300 and 1,000 dev texts the model gets wrong, corrected in one
# tc_model_update, the share of the corrected texts now right (target
# >= 0.95), of their paraphrases (by word drops and swaps, and test texts
# of the same intent wrong the same way), the accuracy on the rest of the
# test set before and after (target: at most 0.5 points lost at N = 300)
# and the update's time; beside it a full retrain on fit + corrections.
# Then 5% of the dev texts corrected to a wrong intent: the test accuracy
# before and after. bench/corrections.c (with corrections_data.c)
# measures; this script builds the sets with the suite's own tool and
# writes the report.
#
# The data are read where they lie and never copied into the repository;
# the sets go to a temp dir removed on exit. Without the data the script
# says so and exits 0. A set the driver fails on gets a note, and the run
# goes on.
#
# Usage: bench/corrections.sh [path/to/tutorcache]
# Environment:
#   BENCH_DATA        the data (../shared/data/intents)
#   BENCH_SEED        the pool's shuffle, the paraphrases, the adversarial
#                     draw (1)
#   CORR_SETS         the sets ("snips banking77"; default every set of
#                     the suite)
#   CORR_NS           the numbers of corrections (10,100,300,1000)
#   CORR_ADVERSARIAL  the share of dev texts corrected wrongly (0.05)
#   CORR_RETRAIN      0: no full retrain beside each N (1)
#   CORR_OUT          the report (<build>/bench-corrections.md)
set -u

tc=${1:-build/tutorcache}
build=$(dirname "$tc")
top=$(cd "$(dirname "$0")/.." && pwd)
seed=${BENCH_SEED:-1}
ns=${CORR_NS:-10,100,300,1000}
adv=${CORR_ADVERSARIAL:-0.05}
retrain=${CORR_RETRAIN:-1}
out=${CORR_OUT:-$build/bench-corrections.md}
sets=${CORR_SETS:-}

bench_name=bench/corrections
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

case $seed in '' | *[!0-9]*) die "BENCH_SEED: not a number: $seed" ;; esac
case $ns in '' | *[!0-9,]*) die "CORR_NS: numbers and commas, not $ns" ;; esac
case $retrain in 0 | 1) ;; *) die "CORR_RETRAIN: 0 or 1, not $retrain" ;; esac
bench_data "the corrections benchmark is skipped"
bench_need_lib

# The library reads no environment here, but the run must not depend on
# whoever starts it all the same.
bench_clear_env

bench_tmp tccorr

# The suite's tool, built as bench/suite.sh builds it but into the temp
# dir, so that a concurrent bench/suite.sh keeps its own build/suite; the
# driver next to the library.
drv=$build/corrections
bench_build_suite "$tmp/suite"
bench_build_prog "$drv" "$top/bench/corrections.c" \
	"$top/bench/corrections_data.c" || die "bench/corrections.c: does not build"

# ---- the runs -----------------------------------------------------------------

bench_clock_start
progress "making the sets"
# shellcheck disable=SC2086 # a list of set names
"$tmp/suite" make "$data" "$tmp/sets" $sets >"$tmp/sets.txt" ||
	die "cannot make the sets"
# The suite's own list and order, when no sets were named.
sets=$(sed -n 's/^set=\([^ ]*\).*/\1/p' "$tmp/sets.txt" | tr '\n' ' ')
set -- --seed "$seed" --ns "$ns" --adversarial "$adv"
[ "$retrain" = 1 ] || set -- "$@" --no-retrain
res=$tmp/results
: >"$res"
: >"$tmp/notes"
for s in $sets; do
	progress "$s"
	if "$drv" "$@" --name "$s" "$tmp/sets/$s" >"$tmp/out" 2>"$tmp/err"; then
		cat "$tmp/out" >>"$res"
	else
		msg=$(tail -n 1 "$tmp/err" | tr '\t|' '  ' | cut -c 1-200)
		printf '%s\t%s\n' "$s" "${msg:-no message}" >>"$tmp/notes"
	fi
	rm -rf "${tmp:?}/sets/$s"
done
bench_clock_stop

# ---- the report ---------------------------------------------------------------

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
rev=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo unknown)
cmd="bench/corrections.sh $tc"
for v in BENCH_SEED CORR_SETS CORR_NS CORR_ADVERSARIAL CORR_RETRAIN; do
	eval "val=\${$v:-}"
	[ -z "$val" ] || cmd="$v=\"$val\" $cmd"
done

# shellcheck disable=SC2016 # an awk program, not shell
report_awk='
function f4(x) { return sprintf("%.4f", x) }
function pts(x) { return sprintf("%+.2f", x) }
FILENAME ~ /notes$/ { split($0, f, "\t"); noted[f[1]] = f[2]; next }
{
	delete kv
	for (i = 1; i <= NF; i++) {
		p = index($i, "=")
		kv[substr($i, 1, p - 1)] = substr($i, p + 1)
	}
	s = kv["set"]
	if (kv["kind"] == "set") {
		for (k in kv) info[s, k] = kv[k]
	} else if (kv["kind"] == "row") {
		r = ++nrow[s]
		for (k in kv) row[s, r, k] = kv[k]
	} else if (kv["kind"] == "adversarial") {
		hasadv[s] = 1
		for (k in kv) adv[s, k] = kv[k]
	}
}
END {
	ns = split(sets, S, " ")

	print "### Sets\n"
	print "The model is trained on fit.jsonl (90% of train, default options, one thread);"
	print "the pool is the dev texts (the other 10%) it gets wrong. Texts of an intent"
	print "the model was never taught (the out-of-scope sets) are left out of the pool"
	print "and of every test accuracy.\n"
	print "| set | classes | fit | dev | dev accuracy | pool (wrong dev texts) | test | test accuracy | training |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (!((s, "set") in info)) {
			printf "| %s | %s | | | | | | | |\n", s, (s in noted ? noted[s] : "no result")
			continue
		}
		dev = info[s, "dev"]
		if (info[s, "dev_unknown"] + 0 > 0) dev = dev " (" info[s, "dev_unknown"] " out of scope)"
		test = info[s, "test"]
		if (info[s, "test_unknown"] + 0 > 0) test = test " (" info[s, "test_unknown"] " out of scope)"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %.1f s |\n", s, info[s, "classes"],
		    info[s, "fit"], dev, info[s, "dev_accuracy"], info[s, "pool"], test,
		    info[s, "test_accuracy"], info[s, "train_s"]
	}

	print "\n### Corrections, remembered and retrained\n"
	print "N: the corrections asked for; used: those applied, all the pool when it is"
	print "smaller (marked *; a larger N would be the same row, so it has none). Word"
	print "paraphrases: each corrected text of 3 words or more with one word dropped, and"
	print "with two adjacent words swapped (after the colon: drop / swap). Same-intent:"
	print "the test texts of a corrected intent that the model got wrong the way a"
	print "correction was (the same wrong answer)."
	print "Rest: the other test texts, before -> after, and the change in points. Update:"
	print "the one `tc_model_update` call of all N lines, on a freshly loaded model."
	print "Retrain: `tc_model_train` on fit.jsonl plus the N corrections, default options."
	print "A share is followed by its number of texts in brackets.\n"
	print "| set | N | used | corrected right | word paraphrases right | same-intent right | rest accuracy, before -> after (points) | update | retrain: corrected right | retrain: same-intent right | retrain: rest accuracy (points) | retrain: training |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (!nrow[s]) {
			if ((s, "set") in info) printf "| %s | - | 0 | no wrong dev text | | | | | | | | |\n", s
			continue
		}
		for (r = 1; r <= nrow[s]; r++) {
			used = row[s, r, "used"] (row[s, r, "capped"] + 0 ? "*" : "")
			same = row[s, r, "same_n"] + 0 > 0 ? row[s, r, "same_right"] " (" row[s, r, "same_n"] ")" : "-"
			printf "| %s | %s | %s | %s | %s | %s | %s -> %s (%s) | %.1f ms |", s, row[s, r, "n"], used,
			    row[s, r, "corrected_right"],
			    (row[s, r, "word_n"] + 0 > 0 ? row[s, r, "word_right"] " (" row[s, r, "word_n"] \
			    "): " sprintf("%.2f / %.2f", row[s, r, "drop_right"], row[s, r, "swap_right"]) : "-"),
			    same, row[s, r, "rest_before"], row[s, r, "rest_after"],
			    pts(row[s, r, "rest_diff_points"]), row[s, r, "update_ms"]
			if ((s, r, "retrain_s") in row) {
				rsame = row[s, r, "same_n"] + 0 > 0 ? row[s, r, "retrain_same_right"] : "-"
				printf " %s | %s | %s (%s) | %.1f s |\n", row[s, r, "retrain_corrected_right"], rsame,
				    row[s, r, "retrain_rest"],
				    pts(100 * (row[s, r, "retrain_rest"] - row[s, r, "rest_before"])),
				    row[s, r, "retrain_s"]
			} else {
				print " | | | |"
			}
			# the verdicts
			c = row[s, r, "corrected_right"] + 0
			if (worst_c == "" || c < worst_c) { worst_c = c; worst_cw = s ", N=" row[s, r, "used"] }
			if (row[s, r, "n"] + 0 <= 300) at300[s] = r
		}
	}

	print "\n### Adversarial corrections\n"
	print "A share of the dev texts (of known intents), drawn with the seed, each corrected"
	print "to an intent drawn from the others, all in one `tc_model_update`. Taken: the"
	print "share of those texts now answered with the wrong intent. Test accuracy on every"
	print "test text of a known intent; changed: test answers that are not what they were.\n"
	print "| set | corrections (share of dev) | taken | test accuracy, before -> after (points) | test answers changed | update |"
	print "|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (!hasadv[s]) continue
		printf "| %s | %s (%.0f%% of %s) | %s | %s -> %s (%s) | %s | %.1f ms |\n", s, adv[s, "n"],
		    100 * adv[s, "share"], adv[s, "dev_n"], (adv[s, "n"] + 0 > 0 ? adv[s, "taken"] : "-"), adv[s, "test_before"],
		    adv[s, "test_after"], pts(adv[s, "test_diff_points"]), adv[s, "test_changed"],
		    adv[s, "update_ms"]
		d = adv[s, "test_diff_points"] + 0
		if (worst_a == "" || d < worst_a) { worst_a = d; worst_aw = s }
	}

	print "\n### Verdicts\n"
	if (worst_c == "") {
		print "- Corrected texts right >= 0.95: no row."
	} else {
		printf "- Corrected texts right >= 0.95 in every row: %s (lowest %s, %s).\n",
		    (worst_c >= 0.95 ? "**met**" : "**missed**"), f4(worst_c), worst_cw
	}
	miss = ""; nmet = 0; small = ""
	for (i = 1; i <= ns; i++) {
		s = S[i]
		if (!(s in at300)) continue
		r = at300[s]
		d = row[s, r, "rest_diff_points"] + 0
		if (row[s, r, "used"] + 0 < 300) small = small (small == "" ? "" : ", ") s " (" row[s, r, "used"] ")"
		if (d < -0.5) {
			miss = miss (miss == "" ? "" : ", ") s " " pts(d)
		} else {
			nmet++
		}
	}
	printf "- Rest accuracy lost <= 0.5 points at N = 300, every set: %s (within: %d sets%s).\n",
	    (miss == "" ? "**met**" : "**missed**"), nmet, (miss == "" ? "" : "; over: " miss)
	if (small != "") {
		printf "  Sets whose pool is below 300, measured at the whole pool: %s.\n", small
	}
	if (worst_a != "") {
		printf "- Adversarial: the largest test accuracy change is %s points (%s).\n",
		    pts(worst_a), worst_aw
	}
	first = 1
	for (i = 1; i <= ns; i++) {
		if (S[i] in noted) {
			if (first) { print "\n### Notes\n"; first = 0 }
			printf "- %s: %s\n", S[i], noted[S[i]]
		}
	}
	print ""
}'

{
	echo "## Corrections: remembered against retrained"
	echo
	echo "Written by \`$cmd\`"
	echo "on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $rev; $elapsed s in all."
	echo "CPU: ${cpu:-unknown}, $(nproc) cores; load average $load0 at the start, $load1 at the end."
	echo "Seed $seed; N = $ns; adversarial share $adv."
	echo
	awk -v sets="$sets" "$report_awk" "$tmp/notes" "$res"
	cat <<EOF
### How it was measured

- The sets are built by \`suite make\` (bench/suite.c) from \`$data\`,
  read in place; each set is fit.jsonl, dev.jsonl (a 90/10 split of its
  train.jsonl) and test.jsonl.
- \`build/corrections\` (bench/corrections.c) trains on fit.jsonl, saves the
  model to a temp file and predicts dev and test with it; the dev texts it
  gets wrong, shuffled with the seed, are the pool, and N corrections are its
  first N, each with its gold intent, so every row extends the one before.
  Each N starts from a fresh load of the saved model.
- Word paraphrases: a state from the seed and the correction's place in the
  pool draws the dropped word and the swapped pair, so a correction has the
  same variants at every N; right means the corrected intent.
- The retrain has fit.jsonl and the N corrections as more lines; its time is
  the \`tc_model_train\` call alone (one thread, the defaults). Its rest
  accuracy is on the same texts as the update's, the points against the
  weights' accuracy before.
- Times are wall time on a shared machine, one run each.
EOF
} >"$tmp/report" || die "cannot write the report"
mv "$tmp/report" "$out" 2>/dev/null || cp "$tmp/report" "$out" || die "$out: cannot write"
say "$(echo "$sets" | wc -w) set(s) in $elapsed s; report in $out"
