#!/bin/sh
# bench/sweep.sh - tutorcache's training options tried on every set of
# bench/suite.sh, scored on the dev split (fit -> dev; the test files are
# never read), so that defaults can be chosen for the worst set rather
# than the mean. fastText strong is trained once per set, its results
# kept in a cache for the later settings; no predictions/s are measured.
#
# Prints a Markdown table on stdout: per setting, the accuracy difference
# to fastText strong on each set (points), the worst set's, the mean, and
# the training time summed over the sets; the setting with the best
# worst case is marked.
#
# Usage: bench/sweep.sh SETTINGS [path/to/tutorcache]
# SETTINGS holds one setting per line, options of `tutorcache train`
# ("--lr 0.5 --epochs 10"); "defaults" is none, and empty lines and lines
# starting with # are skipped. Environment: that of bench/suite.sh
# (SUITE_SETS, BENCH_THREADS, BENCH_DATA; SUITE_FT_CACHE to keep the
# fastText results across sweeps).
set -u

[ $# -ge 1 ] || {
	echo "usage: bench/sweep.sh SETTINGS [path/to/tutorcache]" >&2
	exit 2
}
settings=$1
tc=${2:-build/tutorcache}
top=$(cd "$(dirname "$0")/.." && pwd)

bench_name=bench/sweep
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

[ -r "$settings" ] || die "$settings: not readable"
bench_data "the sweep is skipped"
bench_tmp tcsweep
cache=${SUITE_FT_CACHE:-$tmp/fasttext}

n=0
t0=$(date +%s)
while IFS= read -r line || [ -n "$line" ]; do
	case $line in '' | '#'*) continue ;; esac
	opts=$line
	[ "$opts" != defaults ] || opts=""
	n=$((n + 1))
	skip=0
	[ $n -eq 1 ] || skip=1
	progress "setting $n: ${line}"
	printf '%s\n' "$line" >>"$tmp/names"
	SUITE_SPLIT=dev SUITE_FASTTEXT=strong SUITE_RATES=0 \
		SUITE_FT_CACHE=$cache SUITE_SKIP_FASTTEXT=$skip \
		SUITE_TRAIN_OPTS=$opts SUITE_OUT=$tmp/$n.md SUITE_TSV=$tmp/$n.tsv \
		"$top/bench/suite.sh" "$tc" </dev/null ||
		die "setting $n ($line): bench/suite.sh failed"
done <"$settings"
[ $n -gt 0 ] || die "$settings: no setting"

files=""
i=1
while [ $i -le $n ]; do
	files="$files $tmp/$i.tsv"
	i=$((i + 1))
done

# shellcheck disable=SC2016,SC2086 # an awk program; a list of files
awk -v n="$n" '
FILENAME ~ /names$/ { name[FNR] = $0; next }
FNR == 1 { k++ }
{
	if (!($1 in seen)) { seen[$1] = 1; S[++ns] = $1 }
	v[k, $1, $2, $3] = $4
}
END {
	printf "| setting |"
	for (i = 1; i <= ns; i++) printf " %s |", S[i]
	print " worst set | mean | training s (sum) |"
	printf "|---|"
	for (i = 1; i <= ns; i++) printf "---:|"
	print "---|---:|---:|"
	best = 0
	for (k = 1; k <= n; k++) {
		worst[k] = ""; sum = 0; nd = 0; tr = 0
		for (i = 1; i <= ns; i++) {
			s = S[i]
			tr += v[k, s, "tc", "train_s"]
			if (!((k, s, "tc", "accuracy") in v) ||
			    !((k, s, "ft_strong", "accuracy") in v)) {
				cell[k, i] = "failed"; wd[k] = -1e9; worst[k] = s
				continue
			}
			d = 100 * (v[k, s, "tc", "accuracy"] - v[k, s, "ft_strong", "accuracy"])
			cell[k, i] = sprintf("%+.1f", d)
			sum += d; nd++
			if (worst[k] == "" || d < wd[k]) { worst[k] = s; wd[k] = d }
		}
		mean[k] = nd ? sum / nd : 0; train[k] = tr; ndone[k] = nd
		if (best == 0 || wd[k] > wd[best]) best = k
	}
	for (k = 1; k <= n; k++) {
		printf "| %s`%s`%s |", (k == best ? "**best worst case:** " : ""), name[k], ""
		for (i = 1; i <= ns; i++) printf " %s |", cell[k, i]
		printf " %s %s | %s | %.1f |\n", worst[k],
		    (wd[k] <= -1e9 ? "failed" : sprintf("%+.1f", wd[k])),
		    (ndone[k] ? sprintf("%+.1f", mean[k]) : "-"), train[k]
	}
	print ""
	print "Accuracy of tutorcache minus that of fastText strong on the dev split, in points."
}' "$tmp/names" $files
say "$n settings in $(($(date +%s) - t0)) s"
