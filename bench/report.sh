#!/bin/sh
# bench/report.sh - what the feedback report costs (BENCHMARKS.md,
# "Feedback report"): N feedback records (corrections and confirmations of
# N distinct texts, eight intents, two models) imported into LMDB, then,
# under callgrind, `tutorcache feedback export` of them (the baseline: the
# same records read and written out) and `tutorcache feedback report`
# (read, tallied, drawn), each a whole process; their instructions and
# the report's over the export's. Without valgrind, wall-clock seconds of
# one run each instead.
#
# Usage: bench/report.sh [-h | --help] [build-dir]
# Environment: REPORT_N (20000 records).
set -u

usage() {
	cat <<'EOF'
Usage: bench/report.sh [-h | --help] [build-dir]

Imports REPORT_N feedback records into a temp LMDB store and counts the
instructions (callgrind) of `tutorcache feedback export` and `tutorcache
feedback report` of them, and their ratio; wall-clock seconds without
valgrind.

Environment: REPORT_N (20000)
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=bench/report
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_help 1 "$@"

build=${1:-build}
n=${REPORT_N:-20000}
bench_counts REPORT_N "$n"
tc=$build/tutorcache
[ -x "$tc" ] || die "$tc: not built (make)"
bench_tmp tcreport
bench_clear_env
export HOME="$tmp" TUTORCACHE_URL="lmdb://$tmp/db"

awk -v n="$n" 'BEGIN {
	split("code_generation explanation debugging translation " \
	      "general_question math writing other", in_, " ")
	srand(7)
	for (i = 0; i < n; i++) {
		a = in_[int(rand() * 8) + 1]; b = in_[int(rand() * 8) + 1]
		printf "{\"text\":\"question %d about things\",", i
		printf "\"original_intent\":\"%s\",\"correct_intent\":\"%s\",", a, b
		printf "\"original_confidence\":0.5,\"feedback_type\":\"%s\",",
			a == b ? "confirmation" : "correction"
		printf "\"model\":\"m%d\"}\n", int(rand() * 2) + 1
	}
}' > "$tmp/records.jsonl" || die "records not written"
"$tc" feedback import "$tmp/records.jsonl" > "$tmp/import.json" ||
	die "the import failed: $(cat "$tmp/import.json")"
progress "$n records imported"

# ir NAME ARGS...: the instructions of `tutorcache ARGS...`, a whole run.
ir() {
	name=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$name" \
		"$tc" "$@" > "$tmp/out.$name" 2> "$tmp/err.$name" ||
		die "$name failed: $(tail -n 3 "$tmp/err.$name")"
	sed -n 's/^summary: //p' "$tmp/cg.$name"
}

if command -v valgrind >/dev/null; then
	e=$(ir export feedback export) || exit 1
	r=$(ir report feedback report -o "$tmp/page.html") || exit 1
	echo "records: $n"
	echo "instructions, feedback export: $e"
	echo "instructions, feedback report: $r"
	awk -v r="$r" -v e="$e" 'BEGIN { printf "report / export: %.2f\n", r / e }'
else
	say "valgrind: not found; wall-clock seconds instead"
	for what in export report; do
		s=$(date +%s.%N)
		"$tc" feedback "$what" > "$tmp/out.$what" || die "$what failed"
		f=$(date +%s.%N)
		awk -v s="$s" -v f="$f" -v w="$what" \
			'BEGIN { printf "seconds, feedback %s: %.3f\n", w, f - s }'
	done
fi
