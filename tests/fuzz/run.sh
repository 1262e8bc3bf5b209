#!/bin/sh
# Runs the libFuzzer harnesses built in BUILD (make fuzz-build), one after
# another, and prints one line per harness: executions, coverage (cov:,
# libFuzzer's count of covered edges; ft:, its features) and the corpus.
#
#   run.sh replay BUILD NAME...   every file of tests/fuzz/corpus/NAME once
#                                 (no fuzzing); fails on any error
#   run.sh fuzz BUILD NAME...     fuzzes each for FUZZ_SECONDS (default 60)
#                                 on a copy of its corpus in BUILD/corpus;
#                                 FUZZ_MERGE=1 merges the inputs that add
#                                 coverage back into tests/fuzz/corpus
#   run.sh findings BUILD NAME... each reproducer of tests/fuzz/findings/NAME
#                                 once: says which still fail and which
#                                 the code now passes
#
# A harness that fails leaves its log in BUILD/logs/NAME.log and, when
# fuzzing, the input in BUILD/artifacts/NAME/. Extra libFuzzer flags go in
# FUZZ_FLAGS (for example -jobs=2 or -dict=...).
set -u

mode=${1:?usage: run.sh replay|fuzz BUILD NAME...}
build=${2:?usage: run.sh replay|fuzz BUILD NAME...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-60}
merge=${FUZZ_MERGE:-0}
failed=""

# Leaks fail a run (the default on Linux, said here for clarity). UBSan
# stops at its first report, as ASan does, except for the known findings
# that ubsan.supp lists until the code is fixed.
ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS

mkdir -p "$build/logs"

# Known findings: each should fail until its fix lands; then it belongs in
# the corpus, and its ubsan.supp lines go. An ub- finding runs without
# ubsan.supp (which lets it pass), the others with it (so that another
# finding's UB does not hide theirs); FUZZ_ALL_INPUTS makes a harness take
# the inputs it leaves out while fuzzing.
if [ "$mode" = findings ]; then
	FUZZ_ALL_INPUTS=1
	export FUZZ_ALL_INPUTS
	for name in "$@"; do
		for f in "$here/findings/$name"/*; do
			[ -f "$f" ] || continue
			log="$build/logs/finding-$name-$(basename "$f").log"
			case $(basename "$f") in
			ub-*) ub="halt_on_error=1:print_stacktrace=1" ;;
			*) ub=$UBSAN_OPTIONS ;;
			esac
			if UBSAN_OPTIONS=$ub "$build/fuzz_$name" \
				-artifact_prefix="$build/logs/" "$f" >"$log" 2>&1; then
				echo "  fixed:      $f (move it to tests/fuzz/corpus/$name/)"
			else
				what=$(grep -m 1 -E -A1 'FUZZ PROPERTY|runtime error|ERROR: (Address|Leak)Sanitizer|ERROR: libFuzzer' \
					"$log" | sed -n '1{/runtime error\|libFuzzer: out-of-memory/p};2p' |
					head -n 1 | sed 's/^ *//' | cut -c 1-110)
				echo "  reproduces: $f"
				echo "              $what"
			fi
		done
	done
	exit 0
fi

for name in "$@"; do
	bin="$build/fuzz_$name"
	corpus="$here/corpus/$name"
	log="$build/logs/$name.log"
	dict=""
	[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
	start=$(date +%s)
	if [ "$mode" = replay ]; then
		# shellcheck disable=SC2086
		"$bin" -runs=0 -timeout=20 -artifact_prefix="$build/logs/$name-" \
			$dict "$corpus" >"$log" 2>&1
		rc=$?
	else
		work="$build/corpus/$name"
		art="$build/artifacts/$name"
		rm -rf "$work"
		mkdir -p "$work" "$art"
		cp "$corpus"/* "$work"/
		# shellcheck disable=SC2086
		"$bin" -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
			-artifact_prefix="$art/" $dict ${FUZZ_FLAGS:-} "$work" \
			>"$log" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ] && [ "$merge" = 1 ]; then
			# shellcheck disable=SC2086
			"$bin" -merge=1 $dict "$corpus" "$work" >>"$log" 2>&1 || rc=$?
		fi
	fi
	secs=$(($(date +%s) - start))
	# the last status line: "#N DONE cov: X ft: Y corp: Z/Sb ..." (or
	# INITED for a replay, or the last pulse of a run that failed)
	stat=$(grep -E '^#[0-9]+' "$log" | grep -v 'MERGE' | tail -n 1)
	runs=$(echo "$stat" | sed -n 's/^#\([0-9]*\).*/\1/p')
	cov=$(echo "$stat" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$stat" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$stat" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	files=$(find "$corpus" -type f | wc -l)
	if [ "$mode" = replay ]; then
		what="$files inputs"
	else
		what="${runs:-?} executions in ${secs}s"
	fi
	# fork mode (-fork=N -ignore_crashes=1) goes on past failures and
	# counts them on its status line
	found=$(echo "$stat" | sed -n 's|.*oom/timeout/crash: \([0-9/]*\).*|\1|p')
	if [ -n "$found" ] && [ "$found" != 0/0/0 ]; then
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		result=ok
	elif [ -n "$found" ]; then
		result="FAILED ($found oom/timeout/crash; inputs in $build/artifacts/$name/)"
		failed="$failed $name"
	else
		result="FAILED (exit $rc; log $log)"
		failed="$failed $name"
	fi
	printf '  %-20s %-28s cov %-5s ft %-6s corpus %-12s %s\n' "fuzz_$name" \
		"$what" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
	if [ "$rc" -ne 0 ]; then
		# what broke, where, and the input that broke it
		grep -E -A4 'FUZZ PROPERTY|runtime error|ERROR: (Address|Leak)Sanitizer|ERROR: libFuzzer: (timeout|out-of-memory)' \
			"$log" | grep -v -E 'libFuzzer: deadly signal|__sanitizer_print|fuzzer::' |
			head -n 12 | sed 's/^/    /'
		grep 'Test unit written' "$log" | sed 's/^/    /'
	fi
done
if [ -n "$failed" ]; then
	echo "tutorcache: fuzz $mode failed:$failed" >&2
	exit 1
fi
