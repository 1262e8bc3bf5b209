#!/bin/sh
# bench/histogram.sh - a latency histogram as text, and as a PNG when
# gnuplot is installed (Debian: gnuplot-nox; never required).
#
#   histogram.sh values [options] FILE|-
#       FILE holds one latency a line (in --unit, default us), such as
#       `feedback_bench submit --raw` writes. Bins: 10 per decade, log
#       spaced (1, 1.26, 1.58, 2, 2.51, 3.16, 3.98, 5.01, 6.31, 7.94, 10,
#       ...), from the smallest value's bin to the largest's.
#   histogram.sh prom [options] AFTER
#   histogram.sh prom [options] BEFORE AFTER [BEFORE AFTER ...]
#       The buckets of a Prometheus histogram (default
#       intent_classification_duration_seconds) in AFTER, less those in
#       BEFORE: two scrapes of /metrics around a load test give the
#       latencies of that run alone; several pairs are summed. Bins are
#       the histogram's own.
#
# Options:
#   --unit us|ms     values: the unit of the values (default us)
#   --metric NAME    prom: the histogram's name
#   --title TEXT     a title line
#   --png FILE       also write a PNG plot of the histogram, when gnuplot
#                    is installed; otherwise say so on stderr and go on
#   --width N        the longest bar, in characters (default 50)
#
# The text goes to stdout: per bin its range, count, share, cumulative
# share and a bar; then count, and for values the exact p50, p90, p99,
# p99.9 and max (for prom, the bins that hold them).
# Exit status: 0, or 1 for bad input or usage.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=bench/histogram
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

usage() {
	sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
	exit 1
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in values | prom) ;; -h | --help) usage ;; *) die "$mode: not values or prom" ;; esac
unit=us metric=intent_classification_duration_seconds title="" png="" width=50
while [ $# -gt 0 ]; do
	case $1 in
	--unit) [ $# -ge 2 ] || usage; unit=$2; shift 2 ;;
	--metric) [ $# -ge 2 ] || usage; metric=$2; shift 2 ;;
	--title) [ $# -ge 2 ] || usage; title=$2; shift 2 ;;
	--png) [ $# -ge 2 ] || usage; png=$2; shift 2 ;;
	--width) [ $# -ge 2 ] || usage; width=$2; shift 2 ;;
	--) shift; break ;;
	-?*) die "$1: unknown option" ;;
	*) break ;;
	esac
done
case $unit in us | ms) ;; *) die "--unit: $unit is not us or ms" ;; esac
case $width in '' | *[!0-9]* | 0) die "--width: not a count: $width" ;; esac

bench_tmp tchist

# Bins as lines "LO HI COUNT" (HI "inf" for the last of prom), in the
# display unit, into $tmp/bins; quantiles as "NAME VALUE" into $tmp/q.
if [ "$mode" = values ]; then
	[ $# -eq 1 ] || usage
	in=$1
	[ "$in" = - ] || [ -r "$in" ] || die "$in: not readable"
	# sort -g: the exact quantiles by rank ceil(q n)
	grep -E '^[0-9.eE+-]+$' "$in" | sort -g >"$tmp/sorted" || true
	[ -s "$tmp/sorted" ] || die "$in: no values"
	awk -v qf="$tmp/q" '
	function edge(k) { return 10 ^ (k / 10) }
	function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : sprintf("%.3g", v) }
	function binof(v,    k) {
		k = int(10 * log(v) / log(10) + 1e-9)
		if (10 * log(v) / log(10) < k - 1e-9) k--
		return k
	}
	{ v[++n] = $1 + 0 }
	END {
		split("0.5 0.9 0.99 0.999 1", Q, " ")
		split("p50 p90 p99 p99.9 max", QN, " ")
		for (i = 1; i in Q; i++) {
			r = int(Q[i] * n); if (r < Q[i] * n) r++
			if (r < 1) r = 1
			printf "%s %g\n", QN[i], v[r] > qf
		}
		lo = v[1] > 0 ? binof(v[1]) : binof(1e-3)
		hi = v[n] > 0 ? binof(v[n]) : lo
		for (i = 1; i <= n; i++) {
			k = v[i] > 0 ? binof(v[i]) : lo
			c[k]++
		}
		for (k = lo; k <= hi; k++) printf "%s %s %d\n", fmt(edge(k)), fmt(edge(k + 1)), c[k] + 0
	}' "$tmp/sorted" >"$tmp/bins" || die "awk failed"
	total=$(wc -l <"$tmp/sorted")
	label=$unit
else
	# AFTER alone, or pairs BEFORE AFTER [BEFORE AFTER ...], summed
	[ $# -ge 1 ] || usage
	if [ $# -gt 1 ] && [ $(($# % 2)) -ne 0 ]; then
		die "prom: AFTER, or pairs of BEFORE AFTER"
	fi
	for f in "$@"; do [ -r "$f" ] || die "$f: not readable"; done
	# le="..." buckets are cumulative; the difference of neighbours is the
	# count of a bin. Values in seconds, shown in us. Series of one le
	# with other labels too are summed (a single-handle service has one).
	# shellcheck disable=SC2016 # an awk program, not shell
	bucket_awk='
	function grab(line,    le) {
		if (index(line, m "_bucket{") != 1) return ""
		le = line; sub(/.*le="/, "", le); sub(/".*/, "", le)
		return le
	}
	{
		le = grab($0); if (le == "") next
		if (!(le in cum)) ord[++n] = le
		cum[le] += sign * $NF
	}
	END {
		if (!n) exit 1
		for (i = 1; i <= n; i++) print ord[i], cum[ord[i]]
	}'
	: >"$tmp/deltas"
	if [ $# -eq 1 ]; then
		awk -v m="$metric" -v sign=1 "$bucket_awk" "$1" >>"$tmp/deltas" ||
			die "$1: no buckets of $metric"
	else
		while [ $# -ge 2 ]; do
			awk -v m="$metric" -v sign=-1 "$bucket_awk" "$1" >>"$tmp/deltas" ||
				die "$1: no buckets of $metric"
			awk -v m="$metric" -v sign=1 "$bucket_awk" "$2" >>"$tmp/deltas" ||
				die "$2: no buckets of $metric"
			shift 2
		done
	fi
	awk '{ if (!($1 in c)) o[++n] = $1; c[$1] += $2 }
	END { lo = 0; last = 0
		for (i = 1; i <= n; i++) {
			printf "%s %s %d\n", lo, o[i], c[o[i]] - last
			last = c[o[i]]; lo = o[i]
		}
	}' "$tmp/deltas" >"$tmp/raw"
	# seconds -> us, "+Inf" kept
	awk '{ lo = $1 * 1e6; hi = ($2 == "+Inf") ? "inf" : $2 * 1e6
		printf "%g %s %d\n", lo, hi, $3 }' "$tmp/raw" >"$tmp/bins"
	total=$(awk '{ s += $3 } END { print s + 0 }' "$tmp/bins")
	[ "$total" -gt 0 ] || die "$metric counted nothing"
	# the bins that hold each quantile
	awk -v total="$total" '
	BEGIN { split("0.5 0.9 0.99 0.999 1", Q, " "); split("p50 p90 p99 p99.9 max", QN, " ") }
	{ lo[NR] = $1; hi[NR] = $2; c[NR] = $3 }
	END {
		for (i = 1; i in Q; i++) {
			r = int(Q[i] * total); if (r < Q[i] * total) r++
			s = 0
			for (j = 1; j <= NR; j++) { s += c[j]; if (s >= r) break }
			printf "%s %s..%s\n", QN[i], lo[j], hi[j]
		}
	}' "$tmp/bins" >"$tmp/q"
	# trim empty bins at both ends
	awk '{ l[NR] = $0; c[NR] = $3 } END {
		a = 1; while (a < NR && !c[a]) a++
		b = NR; while (b > a && !c[b]) b--
		for (i = a; i <= b; i++) print l[i] }' "$tmp/bins" >"$tmp/b2" &&
		mv "$tmp/b2" "$tmp/bins"
	label=us
fi

# ---- text -------------------------------------------------------------------
[ -z "$title" ] || printf '%s\n' "$title"
awk -v total="$total" -v width="$width" -v unit="$label" '
{ lo[NR] = $1; hi[NR] = $2; c[NR] = $3; if ($3 > max) max = $3 }
END {
	printf "%21s %9s %7s %7s\n", "latency, " unit, "count", "share", "cum."
	for (i = 1; i <= NR; i++) {
		cum += c[i]
		bar = ""
		nb = max ? int(width * c[i] / max + 0.5) : 0
		if (c[i] && !nb) nb = 1
		for (j = 0; j < nb; j++) bar = bar "#"
		printf "%9s - %-9s %9d %6.2f%% %6.2f%% %s\n", lo[i],
		    (hi[i] == "inf" ? "+Inf" : hi[i]), c[i], 100 * c[i] / total,
		    100 * cum / total, bar
	}
}' "$tmp/bins"
printf 'count %s' "$total"
while read -r k v; do printf '; %s %s' "$k" "$v"; done <"$tmp/q"
printf ' (%s)\n' "$label"

# ---- PNG ----------------------------------------------------------------------
if [ -n "$png" ]; then
	if command -v gnuplot >/dev/null 2>&1; then
		# one box per bin, on a log x axis; the last open bin of prom drawn
		# as wide as the one before
		awk '{ hi = $2 == "inf" ? 2 * $1 : $2; lo = $1 > 0 ? $1 : hi / 2
			print lo, hi, sqrt(lo * hi), $3 }' "$tmp/bins" >"$tmp/plot.dat"
		if gnuplot >"$tmp/gp.out" 2>&1 <<EOF; then
set terminal pngcairo size 900,500 noenhanced
set output "$png"
set title "${title:-latency histogram} (n = $total)"
set logscale x 10
set xlabel "latency, $label"
set ylabel "count"
set style fill solid 0.6 border -1
set grid ytics
plot "$tmp/plot.dat" using 3:(\$4/2):1:2:(0):4 with boxxyerror notitle lc rgb "#3070b0"
EOF
			say "PNG written: $png"
		else
			say "gnuplot failed, no PNG: $(tail -n 2 "$tmp/gp.out")"
		fi
	else
		say "gnuplot is not installed (Debian package gnuplot-nox): no PNG"
	fi
fi
exit 0
