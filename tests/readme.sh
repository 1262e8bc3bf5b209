#!/bin/sh
# tests/readme.sh - every example in README.md is built or run (make
# check-readme, part of make check), so that the README cannot drift from
# the code. A fenced block must come right after a marker comment (blank
# lines between are allowed) that says how it is checked:
#
#   <!-- example: examples/readme/NAME.c -->   before a ```c block
#       NAME.c holds the block's lines verbatim and contiguously (trailing
#       blanks aside; indentation counts). It is built with -Wall -Wextra
#       -Werror against BUILD/libtutorcache.a and include/ alone (what a
#       user writes), then run once per store: an LMDB directory and, when
#       redis-server is installed, a private redis-server (its URL is
#       argv[1]), in a directory holding intents.tcm trained from
#       examples/intents.jsonl. It exits 0 when what the README shows holds.
#   <!-- run -->                               before a ```sh block
#       Its lines run in a fresh directory, as in a shell at the top of the
#       repository: examples/ and build/ are links there, tutorcache is on
#       PATH, and TUTORCACHE_URL is a private LMDB store (no Redis). Every
#       command must exit 0, and its stdout (or the file its trailing
#       "> FILE" writes) must match its expectations below.
#       "run as=NAME" keeps the directory and store as NAME; "run
#       after=NAME" starts from a copy of them, for a block that goes on
#       from an earlier one; "run needs=PROGRAM" is skipped, with a
#       message, where PROGRAM is not installed (python3 for the exec
#       backend example).
#   <!-- synopsis -->                          before a ```sh block
#       Not run. On a line "tutorcache [global options] CMD [SUB] ...",
#       CMD must be a command and every option must appear in its help
#       ('tutorcache help CMD', and 'tutorcache CMD SUB --help'; global
#       options in 'tutorcache --help'); on a line "make T...", every
#       target T must be one of the Makefile's; a word examples/... must
#       exist.
#   <!-- config -->                            before a ```json block
#       'tutorcache --config FILE config' must accept it as a config file
#       (so it is JSON, and every field in it is one the library knows).
#
# A block without a marker, or with one that does not fit its language,
# fails. So that runs on one machine do not meet, a run block is changed
# in two ways before it runs: a background line's "--port N" becomes
# "--port 0" and later ":N" becomes the port the service's "listening"
# log line names; "lmdb:///tmp/" becomes a directory of the run.
#
# Usage: tests/readme.sh [BUILD]  (default: build). CC, CFLAGS, LDFLAGS
# and TC_LIBS (the library's dependencies) are honoured; TC_VALGRIND=1
# runs the C examples under valgrind. Prints README.md:LINE: what failed;
# exits 0 when every block passed, 1 otherwise, 2 on a usage error.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
readme=$root/README.md
build=${1:-build}
case $build in
/*) ;;
*) build=$root/$build ;;
esac
tc=$build/tutorcache
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g}
LDFLAGS=${LDFLAGS:-}
TC_LIBS=${TC_LIBS:--lhiredis -lssl -lcrypto -lcjson -lxxhash -llmdb -lutf8proc -lsodium -lpthread -lm}
tab=$(printf '\t')

if [ ! -x "$tc" ] || [ ! -f "$build/libtutorcache.a" ]; then
	echo "readme.sh: build first: no $tc or $build/libtutorcache.a" >&2
	exit 2
fi

# What the README promises a run block's command prints: the command as
# the README writes it (its comment dropped), a tab, and an extended
# regular expression its stdout (or the file of its trailing "> FILE")
# must match. An expectation that matches no README line fails, so that
# this table follows the README.
expectations() {
	cat <<'EOF'
tutorcache train examples/intents.jsonl -o intents.tcm	"model":"intents\.tcm"
tutorcache feedback submit --text "Why does this print None?" --original explanation --correct debugging --confidence 0.6	"status":"accepted"
tutorcache feedback import examples/corrections.jsonl	"rejected":0,
tutorcache feedback stats --format table	^queued +10$
tutorcache feedback stats --json	"analytics":\{"intents":.*"confusion":\{"explanation":\{"debugging":1\}
tutorcache feedback learn --model intents.tcm	"refused":false
tutorcache feedback stats --model intents.tcm --format table	^runs +1$
tutorcache feedback learn --model intents.tcm --rollback	"previous":
tutorcache feedback export --consumer trainer --ack > batch.jsonl	"correct_intent":"debugging"
tutorcache --actor dpo@school feedback purge --user-id student-42	^\{"removed":0\}$
tutorcache feedback purge --before 2026-01-01T00:00:00Z	^\{"removed":[0-9]+\}$
tail -n 1 audit.log	"op":"set","ns":"intents","key":"tc:intent:[0-9a-f]{32}","actor":"alice","outcome":"ok"
build/tutorcache train examples/intents.jsonl -o intents.tcm	"model":"intents\.tcm"
curl -s -X POST localhost:8080/api/v1/intents/classify -d '{"text":"How do I reverse a list?"}'	"intent":"code_generation"
curl -s -X POST localhost:8080/api/v1/intents/feedback -d @examples/correction.json	"status":"accepted"
curl -s localhost:8080/api/v1/intents/feedback/stats	"correction":1
curl -s localhost:8080/api/v1/intents/feedback/stats	"cache":\{"ttl":3600,"namespace":"intents","store":"lmdb"
curl -s -X POST localhost:8080/api/v1/intents/warm -d '{"texts":["What is a closure?","Explain recursion"]}'	^\{"texts":2,"computed":2,"already_cached":0,"rejected":0,
curl -s localhost:8080/metrics	^intent_classification_requests_total
curl -s localhost:8080/health	"store_up":true
tutorcache eval intents.tcm examples/intents_test.jsonl --json	"accuracy":(0\.[5-9]|1[,}])
tutorcache model info intents.tcm --format json	"name":"intent"
tutorcache classify --model intents.tcm "How do I fix this segfault?"	"intent":"debugging"
tutorcache classify --model intents.tcm < examples/questions.txt	"intent":"study_planning"
tutorcache warm --model intents.tcm examples/questions.txt	^\{"texts":10,"computed":0,"already_cached":10,"rejected":0,
TUTORCACHE_TRACK_POPULAR=true tutorcache warm --popular 5 --model intents.tcm	^\{"texts":5,"computed":0,"already_cached":5,"rejected":0,
tutorcache classify --backend 'exec:python3 examples/my_model.py' < examples/questions.txt	"model":"fn:exec:python3 examples/my_model\.py"
tutorcache classify --backend 'exec:python3 examples/my_model.py' < examples/questions.txt	"intent":"study_planning","confidence":0\.[0-9]+,"top":\[
tutorcache --config examples/tutorcache.json config --format json	"config_file":"examples/tutorcache\.json"
tutorcache --config examples/tutorcache.json config --format json	"quiz_scores":\{"prefix":"quiz","ttl":600
TUTORCACHE_ENCRYPTION_KEY_FILE=cache.key tutorcache get student_profiles user:42	^\{"level":3\}$
EOF
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tc-readme.XXXXXX")
redis_pid=
cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# What a command may take before it is counted as hung.
has_timeout=
command -v timeout >/dev/null 2>&1 && has_timeout=1
limited() {
	if [ -n "$has_timeout" ]; then
		timeout 300 "$@"
	else
		"$@"
	fi
}

# Neither the caller's store, config nor Redis settings may reach a run.
unset TUTORCACHE_URL TUTORCACHE_CONFIG TUTORCACHE_MODEL TUTORCACHE_SPOOL_DIR \
	TUTORCACHE_ENCRYPTION_KEY_FILE TUTORCACHE_ENCRYPTION_OLD_KEY_FILES \
	TUTORCACHE_KEY_SECRET_FILE REDIS_HOST REDIS_PORT REDIS_DB REDIS_PASSWORD CACHE_TTL ENABLE_CACHING
export XDG_CACHE_HOME="$tmp/xdg-cache" XDG_STATE_HOME="$tmp/xdg-state"

failed=0
checked=0
fail() { # LINE MESSAGE...
	line_=$1
	shift
	printf 'README.md:%s: %s\n' "$line_" "$*" >&2
	failed=$((failed + 1))
}
# Indents a file's first lines under a failure message.
show() {
	awk 'NR <= 40 { print "    " $0 }' "$1" >&2
}
# The README's line N, as the README writes it.
readme_line() {
	sed -n "$1p" "$readme"
}

# ---- the blocks ---------------------------------------------------------
# index: LINE<tab>LANG<tab>MARKER per fenced block (LINE of its opening
# fence; "-" for no language or no marker); blocks/LINE: its lines.
mkdir "$tmp/blocks"
awk -v dir="$tmp/blocks" '
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
!fence && /^```/ {
	lang = trim(substr($0, 4))
	fence = 1
	start = NR
	file = dir "/" NR
	printf "" > file
	print NR "\t" (lang == "" ? "-" : lang) "\t" (marker == "" ? "-" : marker)
	next
}
fence && /^```[ \t]*$/ { fence = 0; close(file); marker = ""; next }
fence { print > file; next }
/^[ \t]*$/ { next }
/^<!--.*-->[ \t]*$/ {
	marker = $0
	sub(/^<!--[ \t]*/, "", marker)
	sub(/[ \t]*-->[ \t]*$/, "", marker)
	next
}
{ marker = "" }
END { if (fence) print start "\tunclosed\t-" }
' "$readme" >"$tmp/index"

# The lines of block LINE as commands: continuation lines joined, blank
# and comment-only lines dropped; each as README-LINE<tab>TEXT.
commands() {
	awk -v first="$1" '
	{ n = first + NR }
	cont != "" { $0 = cont $0; n = cn; cont = "" }
	/\\$/ { cont = substr($0, 1, length($0) - 1); cn = n; next }
	/^[ \t]*(#|$)/ { next }
	{ print n "\t" $0 }
	' "$tmp/blocks/$1"
}
# A command without its trailing comment and outer blanks.
strip_comment() {
	printf '%s\n' "$1" | sed -e 's/[[:space:]]#.*$//' -e 's/^[[:space:]]*//' \
		-e 's/[[:space:]]*$//'
}

# ---- C examples -----------------------------------------------------------
stores=
setup_c() {
	mkdir -p "$tmp/c/bin"
	if ! (cd "$tmp/c" && "$tc" train "$root/examples/intents.jsonl" \
		-o intents.tcm) >"$tmp/c/train.out" 2>&1; then
		echo "readme.sh: cannot train the examples' model:" >&2
		show "$tmp/c/train.out"
		exit 1
	fi
	stores=lmdb
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "readme.sh: no redis-server: the C examples run on LMDB only" >&2
		return 0
	fi
	mkdir "$tmp/redis"
	redis-server --port 0 --unixsocket "$tmp/redis/sock" \
		--unixsocketperm 700 --dir "$tmp/redis" --save '' \
		--appendonly no --logfile "$tmp/redis/log" &
	redis_pid=$!
	i=0
	while [ ! -S "$tmp/redis/sock" ]; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$redis_pid" 2>/dev/null; then
			echo "readme.sh: redis-server did not start:" >&2
			show "$tmp/redis/log"
			exit 1
		fi
		sleep 0.05
	done
	stores="lmdb redis"
}

# Is the block (file $1) in the C file $2, line for line, in a row?
# Prints nothing when it is, else where the best partial match stops.
c_mismatch() {
	awk '
	function rstrip(s) { sub(/[ \t\r]+$/, "", s); return s }
	FNR == NR { b[++nb] = rstrip($0); next }
	{ f[++nf] = rstrip($0) }
	END {
		best = 0
		for (i = 1; i + nb - 1 <= nf || i == 1; i++) {
			for (k = 0; k < nb && i + k <= nf && f[i + k] == b[k + 1]; k++)
				;
			if (k == nb)
				exit
			if (k > best) { best = k; at = i }
		}
		if (best == 0)
			print 1
		else
			print best + 1 "\t" at + best
	}
	' "$1" "$2"
}

c_used=
c_block() { # LINE FILE
	line=$1
	file=$2
	name=$(basename "$file" .c)
	case $file in
	examples/readme/*.c) ;;
	*)
		fail "$line" "the example file must be examples/readme/NAME.c, not $file"
		return
		;;
	esac
	if [ ! -f "$root/$file" ]; then
		fail "$line" "$file does not exist"
		return
	fi
	c_used="$c_used $file"
	miss=$(c_mismatch "$tmp/blocks/$line" "$root/$file")
	if [ -n "$miss" ]; then
		at=$((line + ${miss%%"$tab"*}))
		case $miss in
		*"$tab"*)
			fail "$at" "not in $file after the block's lines before it" \
				"(file line ${miss#*"$tab"}); the block must be there verbatim"
			;;
		*)
			fail "$at" "the block's first line is not in $file" \
				"(verbatim, indentation included)"
			;;
		esac
		readme_line "$at" >"$tmp/c/$name.line"
		show "$tmp/c/$name.line"
		return
	fi
	if grep -n '#include.*lib/' "$root/$file" >"$tmp/c/$name.libinc"; then
		fail "$line" "$file includes the library's internals;" \
			"an example uses include/ alone:"
		show "$tmp/c/$name.libinc"
		return
	fi
	# shellcheck disable=SC2086 # CFLAGS, LDFLAGS and TC_LIBS are lists
	if ! $CC -std=c99 -pedantic -Wall -Wextra -Werror $CFLAGS \
		-I"$root/include" -o "$tmp/c/bin/$name" "$root/$file" \
		"$build/libtutorcache.a" $LDFLAGS $TC_LIBS -pthread \
		>"$tmp/c/$name.cc" 2>&1; then
		fail "$line" "$file does not compile (-Wall -Wextra -Werror):"
		show "$tmp/c/$name.cc"
		return
	fi
	for store in $stores; do
		db=$(($(printf '%s' "$c_used" | wc -w) - 1))
		case $store in
		lmdb) url="lmdb://$tmp/c/$name-lmdb" ;;
		redis) url="unix://$tmp/redis/sock?db=$db" ;;
		esac
		set -- "$tmp/c/bin/$name" "$url"
		if [ "${TC_VALGRIND:-0}" = 1 ]; then
			set -- valgrind -q --error-exitcode=1 --leak-check=full \
				--errors-for-leak-kinds=definite,indirect "$@"
		fi
		if ! (cd "$tmp/c" && limited "$@") >"$tmp/c/$name.out" \
			2>"$tmp/c/$name.err" </dev/null; then
			fail "$line" "$file failed on $store ($url):"
			show "$tmp/c/$name.err"
			return
		fi
	done
}

# ---- run blocks -----------------------------------------------------------
# Sourced by each generated script: its failure report and the background
# processes it started, which are stopped when it ends.
cat >"$tmp/runlib.sh" <<'EOF'
TC_BG=
tc_fail() { # LINE STATUS
	printf 'README.md:%s: exit %s: ' "$1" "$2" >&2
	sed -n "$1p" "$TC_README" >&2
	awk 'NR <= 40 { print "    " $0 }' "$TC_LOG/$1.err" >&2
	exit 1
}
tc_stop() {
	for p in $TC_BG; do
		kill "$p" 2>/dev/null || true
	done
	for p in $TC_BG; do
		wait "$p" 2>/dev/null || true
	done
}
# Waits for the "listening" log line of the background process PID that
# README line LINE started, and takes its port.
tc_listening() { # LINE PID
	i=0
	TC_PORT=
	while [ -z "$TC_PORT" ]; do
		TC_PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' \
			"$TC_LOG/$1.err" | sed -n 1p)
		[ -n "$TC_PORT" ] && return 0
		i=$((i + 1))
		if [ "$i" -gt 200 ] || ! kill -0 "$2" 2>/dev/null; then
			printf 'README.md:%s: no "listening" log line: ' "$1" >&2
			sed -n "$1p" "$TC_README" >&2
			awk 'NR <= 40 { print "    " $0 }' "$TC_LOG/$1.err" >&2
			exit 1
		fi
		sleep 0.05
	done
}
trap tc_stop EXIT
trap 'exit 1' INT TERM
EOF

mkdir -p "$tmp/bin" "$tmp/run"
ln -s "$tc" "$tmp/bin/tutorcache"

# Writes the script of block LINE to stdout; the $ in its text is the
# script's to expand.
# shellcheck disable=SC2016
gen_script() {
	printf '. "$TC_RUNLIB"\n'
	port=
	commands "$1" | while IFS="$tab" read -r n text; do
		cmd=$(strip_comment "$text")
		if [ -n "$port" ]; then
			text=$(printf '%s\n' "$text" |
				sed -e "s/:$port\\([^0-9]\\)/:\${TC_PORT}\\1/g" \
					-e "s/:$port\$/:\${TC_PORT}/")
		fi
		text=$(printf '%s\n' "$text" | sed 's|lmdb:///tmp/|lmdb://$PWD/|g')
		case $cmd in
		*'&&') bg= ;;
		*'&') bg=1 ;;
		*) bg= ;;
		esac
		if [ -z "$bg" ]; then
			printf '{ %s\n} >"$TC_LOG/%s.out" 2>"$TC_LOG/%s.err" || tc_fail %s "$?"\n' \
				"$text" "$n" "$n" "$n"
			continue
		fi
		p=$(printf '%s\n' "$cmd" | sed -n 's/.*--port[ =]\([0-9][0-9]*\).*/\1/p')
		if [ -n "$p" ]; then
			text=$(printf '%s\n' "$text" | sed "s/--port\\([ =]\\)$p/--port\\10/")
		fi
		printf '{ %s\n} >"$TC_LOG/%s.out" 2>"$TC_LOG/%s.err"\n' "$text" "$n" "$n"
		printf 'TC_BG="$TC_BG $!"\n'
		if [ -n "$p" ]; then
			printf 'tc_listening %s "$!"\n' "$n"
			port=$p
		fi
	done
}

# Checks what block LINE's commands printed against the expectations.
check_outputs() { # LINE DIR
	commands "$1" | while IFS="$tab" read -r n text; do
		key=$(strip_comment "$text")
		out=$tmp/log/$1/$n.out
		case $key in
		*'> '*) out=$2/${key##*> } ;;
		esac
		K=$key awk -F "$tab" '$1 == ENVIRON["K"] { print $2 }' \
			"$tmp/expect" >"$tmp/want"
		while IFS= read -r want; do
			if ! grep -Eq -- "$want" "$out" 2>/dev/null; then
				printf 'README.md:%s: output not /%s/ %s: %s\n' "$n" \
					"$want" "(tests/readme.sh expectations)" \
					"$(readme_line "$n")" >&2
				[ -f "$out" ] && show "$out"
				echo x
			fi
		done <"$tmp/want"
	done
}

run_block() { # LINE MARKER
	line=$1
	dir=$tmp/run/$line
	mkdir "$dir" "$tmp/log/$line"
	case $2 in
	"run after="*)
		from=$(sed -n "s/^${2#run after=}$tab//p" "$tmp/states")
		if [ -z "$from" ]; then
			fail "$line" "no block before it is marked <!-- run as=${2#run after=} -->"
			return
		elif [ "$from" = - ]; then
			fail "$line" "not run: the block it goes on from" \
				"(run as=${2#run after=}) failed"
			return
		fi
		cp -R "$from/." "$dir/"
		;;
	*)
		ln -s "$root/examples" "$dir/examples"
		ln -s "$build" "$dir/build"
		;;
	esac
	gen_script "$line" >"$tmp/log/$line/script.sh"
	if (cd "$dir" && HOME=$dir PATH="$tmp/bin:$PATH" \
		TUTORCACHE_URL="lmdb://$dir/.store" \
		TUTORCACHE_SPOOL_DIR="$dir/.spool" TC_README="$readme" \
		TC_RUNLIB="$tmp/runlib.sh" TC_LOG="$tmp/log/$line" \
		limited sh "$tmp/log/$line/script.sh") </dev/null; then
		bad=$(check_outputs "$line" "$dir" | wc -l)
	else
		bad=1
	fi
	failed=$((failed + bad))
	case $2 in
	"run as="*)
		[ "$bad" -eq 0 ] || dir=-
		printf '%s\t%s\n' "${2#run as=}" "$dir" >>"$tmp/states"
		;;
	esac
}

# ---- synopsis blocks --------------------------------------------------------
# Does the help text in file $2 name option $1?
in_help() {
	grep -Eq -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|\$)" "$2"
}

# The Makefile's targets, from make's database: "make -n TARGET" would
# also run the sub-makes of TARGET's recipe, which a fresh checkout fails.
make_targets() {
	[ -f "$tmp/make-targets" ] && return 0
	(unset MAKEFLAGS MFLAGS MAKELEVEL
		make -pqr --no-print-directory -C "$root" .tc-readme-no-goal \
			2>/dev/null </dev/null) |
		awk '/^# Not a target:/ { skip = 1; next }
		/^[^#\t =][^:=]*:([^=]|$)/ {
			if (!skip) { sub(/:.*/, ""); print }
		}
		{ skip = 0 }' >"$tmp/make-targets" || true
}

synopsis_line() { # LINE TEXT
	n=$1
	cmd=$(strip_comment "$2")
	set -f
	# shellcheck disable=SC2086 # split into words on purpose
	set -- $cmd
	set +f
	[ $# -gt 0 ] || return 0
	for w in "$@"; do
		w=${w#[}
		w=${w%]}
		case $w in
		examples/*)
			[ -e "$root/$w" ] || fail "$n" "$w does not exist"
			;;
		esac
	done
	case $1 in
	make)
		shift
		for t in "$@"; do
			case $t in
			-* | *=*) continue ;;
			esac
			make_targets
			if ! grep -Fqx -- "$t" "$tmp/make-targets"; then
				fail "$n" "make has no target $t"
			fi
		done
		return
		;;
	tutorcache | build/tutorcache) shift ;;
	*)
		fail "$n" "a synopsis line starts with tutorcache or make;" \
			"run this block instead (<!-- run -->)"
		return
		;;
	esac
	"$tc" --help >"$tmp/help" 2>&1 </dev/null
	while [ $# -gt 0 ]; do
		case $1 in
		-*) ;;
		*) break ;;
		esac
		if ! in_help "${1%%=*}" "$tmp/help"; then
			fail "$n" "tutorcache has no global option ${1%%=*}"
		fi
		case $1 in
		--log-texts | -h | --help | --version | *=*) shift ;;
		*) if [ $# -ge 2 ]; then shift 2; else shift; fi ;;
		esac
	done
	if [ $# -eq 0 ]; then
		fail "$n" "no command on this tutorcache line"
		return
	fi
	c=$1
	shift
	if ! "$tc" help "$c" >"$tmp/help" 2>&1 </dev/null; then
		fail "$n" "tutorcache has no command $c"
		return
	fi
	sub=
	case ${1:-} in
	*[!a-z]* | '') ;;
	*)
		if "$tc" "$c" "$1" --help >>"$tmp/help" 2>/dev/null </dev/null; then
			sub=" $1"
		fi
		;;
	esac
	for w in "$@"; do
		w=${w#[}
		w=${w%]}
		w=${w%%=*}
		case $w in
		--?* | -[A-Za-z]) ;;
		*) continue ;;
		esac
		if ! in_help "$w" "$tmp/help"; then
			fail "$n" "tutorcache $c$sub has no option $w (not in its help)"
		fi
	done
}

synopsis_block() { # LINE
	commands "$1" >"$tmp/cmds"
	while IFS="$tab" read -r n text; do
		synopsis_line "$n" "$text"
	done <"$tmp/cmds"
}

# ---- config blocks ----------------------------------------------------------
config_block() { # LINE
	if ! "$tc" --config "$tmp/blocks/$1" config --format json \
		>"$tmp/config.out" 2>&1 </dev/null; then
		fail "$1" "tutorcache --config refuses this config file:"
		show "$tmp/config.out"
	elif ! grep -q '"store_source":"config file"' "$tmp/config.out"; then
		fail "$1" "tutorcache --config FILE config does not take" \
			"the store from this file:"
		show "$tmp/config.out"
	fi
}

# ---- main -------------------------------------------------------------------
start=$(date +%s)
expectations >"$tmp/expect"
: >"$tmp/states"
mkdir "$tmp/log"
if grep -q "${tab}c${tab}" "$tmp/index"; then
	setup_c
fi

while IFS="$tab" read -r line lang marker <&3; do
	before=$failed
	case $lang:$marker in
	c:"example: "*) c_block "$line" "${marker#example: }" ;;
	sh:run | sh:"run as="* | sh:"run after="*) run_block "$line" "$marker" ;;
	sh:"run needs="*)
		if command -v "${marker#run needs=}" >/dev/null 2>&1; then
			run_block "$line" run
		else
			printf 'readme: README.md:%s: skipped: %s is not installed\n' \
				"$line" "${marker#run needs=}" >&2
		fi
		;;
	sh:synopsis) synopsis_block "$line" ;;
	json:config) config_block "$line" ;;
	unclosed:*) fail "$line" "this block is never closed" ;;
	*:-)
		fail "$line" "unmarked example (a \`\`\`$lang block needs a" \
			"marker comment: see tests/readme.sh)"
		;;
	*)
		fail "$line" "the marker <!-- $marker --> does not fit a" \
			"\`\`\`$lang block (see tests/readme.sh)"
		;;
	esac
	checked=$((checked + 1))
	if [ "$failed" -eq "$before" ]; then
		printf 'readme: README.md:%s: ok (%s %s)\n' "$line" "$lang" "$marker"
	fi
done 3<"$tmp/index"

for f in "$root"/examples/readme/*.c; do
	[ -e "$f" ] || continue
	case " $c_used " in
	*" ${f#"$root"/} "*) ;;
	*)
		echo "${f#"$root"/}: no README.md block names it" >&2
		failed=$((failed + 1))
		;;
	esac
done
# An expectation whose command the README no longer has is stale.
sed -n "s/^\([0-9]*\)${tab}sh${tab}.*/\1/p" "$tmp/index" >"$tmp/sh-blocks"
while read -r line; do
	commands "$line" | cut -f 2 | while IFS= read -r text; do
		strip_comment "$text"
	done
done <"$tmp/sh-blocks" >"$tmp/readme-commands"
cut -f 1 "$tmp/expect" | while IFS= read -r key; do
	if ! grep -Fqx -- "$key" "$tmp/readme-commands"; then
		printf 'tests/readme.sh: the expectation for "%s" %s\n' "$key" \
			"matches no command of README.md" >&2
		echo x
	fi
done >"$tmp/stale"
failed=$((failed + $(wc -l <"$tmp/stale")))

echo "readme: $checked blocks, $failed failures, $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
