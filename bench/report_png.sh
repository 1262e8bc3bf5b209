#!/bin/sh
# bench/report_png.sh - a picture of `tutorcache feedback report` for the
# README (issue 16): a temp LMDB store gets a small feedback history that
# comes out the same on every run, `tutorcache feedback report -o
# page.html` draws it, and headless Chromium (Debian's chromium) takes a
# screenshot of the page as a PNG.
#
# The history: the 96 held-out texts of examples/intents_test.jsonl,
# classified through the store by two models trained on
# examples/intents.jsonl, the control (seed 1) and a weaker candidate
# (seed 2, 2 epochs), so that the store counts their answers per intent
# (count_intents) for the rate per classification; then once more by the
# control with --shadow-rate 1, every answer a cache hit checked against
# a fresh one, for the shadow checks per model (a check still waiting 2 s
# after the run ends is dropped, so a starved machine may count fewer).
# A text in three's record is about the candidate's answer. Where a
# model's intent is not the labelled one
# the user corrects it; where it is, one user in two confirms it. Each
# record is timestamped on one of the 14 days before today (submit's
# "timestamp"), so only the dates move from run to run; then
# examples/corrections.jsonl, as of now. Only the CLI is used, so that
# the script follows the report wherever its code lives.
#
# Usage: bench/report_png.sh [-h | --help] [path/to/tutorcache [OUT.png]]
# OUT.png defaults to docs/feedback-report.png in the checkout.
# Environment: CHROMIUM (chromium), REPORT_SIZE (the window, 1000,1800),
# REPORT_MAX_BYTES (200000: a larger PNG is said, not refused).
set -u

usage() {
	cat <<'EOF'
Usage: bench/report_png.sh [-h | --help] [path/to/tutorcache [OUT.png]]

Fills a temp LMDB store with a small feedback history made from examples/,
writes `tutorcache feedback report -o page.html` and renders the page with
headless Chromium to OUT.png (default: docs/feedback-report.png).
Exits 1 when chromium is missing (scripts/deps.sh report installs it) or
the PNG comes out empty.

Environment: CHROMIUM (chromium), REPORT_SIZE (1000,1800),
REPORT_MAX_BYTES (200000)
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=bench/report_png
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_help 2 "$@"
bench_clear_env

tc=${1:-build/tutorcache}
png=${2:-$top/docs/feedback-report.png}
build=$(dirname "$tc")
chromium=${CHROMIUM:-chromium}
size=${REPORT_SIZE:-1000,1800}
max=${REPORT_MAX_BYTES:-200000}

case $size in
*[!0-9,]* | *,*,*) size=bad ;;
[1-9]*,[1-9]*) ;;
*) size=bad ;;
esac
[ "$size" != bad ] || die "REPORT_SIZE: WIDTH,HEIGHT in pixels, not ${REPORT_SIZE:-}"
bench_counts REPORT_MAX_BYTES "$max"
command -v "$chromium" >/dev/null ||
	die "$chromium: not found; scripts/deps.sh report installs Debian's chromium (or set CHROMIUM)"
[ -x "$tc" ] || die "$tc: not built (run make first)"
"$tc" help feedback >/dev/null 2>&1 || die "$tc: no feedback command"

cpid=""
bench_tmp tcreport cpid
export HOME="$tmp" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache" \
	XDG_CONFIG_HOME="$tmp/config"
store=lmdb://$tmp/db
ex=$top/examples

# ---- the models and their answers ----------------------------------------------

# model NAME TRAIN-OPTIONS...: $tmp/NAME.tcm, its answers to the held-out
# texts in $tmp/NAME.out, one JSON line each, counted in the store.
model() {
	_m=$1
	shift
	"$tc" train "$@" -o "$tmp/$_m.tcm" "$ex/intents.jsonl" >/dev/null \
		2>"$tmp/err" || die "train $_m: $(tail -n 3 "$tmp/err")"
	"$tc" --store "$store" classify --model "$tmp/$_m.tcm" \
		<"$ex/intents_test.jsonl" >"$tmp/$_m.out" 2>"$tmp/err" ||
		die "classify $_m: $(tail -n 3 "$tmp/err")"
}
model control --seed 1
model candidate --seed 2 --epochs 2
"$tc" --store "$store" classify --model "$tmp/control.tcm" --shadow-rate 1 \
	<"$ex/intents_test.jsonl" >/dev/null 2>"$tmp/err" ||
	die "classify control --shadow-rate 1: $(tail -n 3 "$tmp/err")"

# ---- the history ----------------------------------------------------------------

today=$(date -u +%Y-%m-%d)
days=""
d=1
while [ $d -le 14 ]; do
	days="$days $(date -u -d "$today -$d days" +%Y-%m-%d)" ||
		die "date: cannot count days back (GNU date needed)"
	d=$((d + 1))
done

# One record per held-out text (see the head of this file); a text's
# JSON string is taken from its line as it is, escapes and all.
awk -v days="$days" -v ctl="$tmp/control.out" -v cand="$tmp/candidate.out" '
function field(s, name,    re) {
	re = "\"" name "\": *\"[^\"]*\""
	if (!match(s, re)) return ""
	s = substr(s, RSTART, RLENGTH)
	sub(/^"[^"]*": *"/, "", s)
	return substr(s, 1, length(s) - 1)
}
function number(s, name) {
	if (!match(s, "\"" name "\": *[0-9.]+")) return ""
	s = substr(s, RSTART, RLENGTH)
	sub(/^"[^"]*": */, "", s)
	return s
}
BEGIN { nd = split(days, D, " ") }
{
	i = NR
	if ((getline a < ctl) <= 0 || (getline b < cand) <= 0) {
		print "fewer answers than texts" > "/dev/stderr"
		exit 1
	}
	ans = i % 3 == 0 ? b : a
	if (!match($0, /^\{"text": *"([^"\\]|\\.)*"/)) {
		printf "line %d: no text first\n", i > "/dev/stderr"
		exit 1
	}
	text = substr($0, RSTART, RLENGTH)
	sub(/^\{"text": */, "", text)
	gold = field($0, "intent")
	got = field(ans, "intent")
	if (got == gold && i % 2) {
		next
	}
	printf "{\"text\":%s,\"original_intent\":\"%s\",\"correct_intent\":\"%s\",", text, got, gold
	printf "\"original_confidence\":%s,\"feedback_type\":\"%s\",", number(ans, "confidence"),
	    got == gold ? "confirmation" : "correction"
	printf "\"user_id\":\"student-%d\",\"model\":\"%s\",", i % 23, field(ans, "model")
	printf "\"timestamp\":\"%sT%02d:%02d:00Z\"}\n", D[1 + (i * 5) % nd], 8 + i % 10, (i * 7) % 60
}' "$ex/intents_test.jsonl" >"$tmp/history.jsonl" ||
	die "cannot make the history"

for f in "$tmp/history.jsonl" "$ex/corrections.jsonl"; do
	"$tc" --store "$store" feedback import "$f" >"$tmp/import.json" \
		2>"$tmp/err" || die "import $f: $(tail -n 3 "$tmp/err")"
	grep -q '"rejected":0,"spooled":0' "$tmp/import.json" ||
		die "import $f: $(cat "$tmp/import.json")"
done
"$tc" --store "$store" feedback report -o "$tmp/page.html" \
	--model "$tmp/control.tcm" --candidate "$tmp/candidate.tcm" \
	2>"$tmp/err" || die "feedback report: $(tail -n 3 "$tmp/err")"

# ---- the picture ----------------------------------------------------------------

# --no-sandbox: Chromium refuses to start as root with its sandbox, and
# the page is our own, with no script and nothing fetched.
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
	--hide-scrollbars --force-device-scale-factor=1 \
	--user-data-dir="$tmp/chromium" --window-size="$size" \
	--screenshot="$tmp/page.png" "file://$tmp/page.html" \
	>"$tmp/chromium.log" 2>&1 </dev/null &
cpid=$!
wait "$cpid" || say "$chromium exited with $? (the PNG is checked next)"
cpid=""
[ -s "$tmp/page.png" ] ||
	die "$chromium wrote no PNG: $(grep -v '^$' "$tmp/chromium.log" | tail -n 3)"
[ "$(od -An -tx1 -N8 "$tmp/page.png" | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	die "$chromium wrote something that is not a PNG"
bytes=$(wc -c <"$tmp/page.png")
if ! mkdir -p "$(dirname "$png")" || ! cp "$tmp/page.png" "$png"; then
	die "$png: cannot write"
fi
[ "$bytes" -le "$max" ] ||
	say "$png: $bytes bytes, over $max; a smaller REPORT_SIZE keeps it small"
say "$png: $bytes bytes, $size pixels; $(wc -l <"$tmp/history.jsonl") records of the history"
