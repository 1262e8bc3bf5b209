#!/bin/sh
# tests/install_docs.sh - part of `make check`: what an operator gets
# beside the binary. `make install DESTDIR=...` puts the man pages
# tutorcache(1) and libtutorcache(3) and the bash completion under PREFIX;
# the pages render without a warning; every command and feedback
# subcommand of 'tutorcache help' is in the man page and the completion;
# the completion sources in bash and completes; the example of
# libtutorcache(3) builds and runs; examples/tutorcache.json is the
# README's config block and each of its keys is explained in README.md;
# examples/my_model.py speaks the exec backend's protocol.
#
# Usage: tests/install_docs.sh [BUILD]  (default: build). Prints what
# failed; exits 0 when all held, 1 otherwise.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in
/*) ;;
*) build=$root/$build ;;
esac
tc=$build/tutorcache
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tc-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "install_docs: $*" >&2
	failed=$((failed + 1))
}
skip() {
	echo "install_docs: skipped: $*" >&2
}
cd "$root"

# 1. The staged install.
make --no-print-directory -s install BUILD="$build" PREFIX=/usr/local \
	DESTDIR="$tmp/stage" >/dev/null
stage=$tmp/stage/usr/local
for f in share/man/man1/tutorcache.1 share/man/man3/libtutorcache.3 \
	share/bash-completion/completions/tutorcache; do
	[ -f "$stage/$f" ] || fail "make install: $f not under DESTDIR/PREFIX"
done
make --no-print-directory -s install BUILD="$build" PREFIX=/opt/x \
	MANDIR=/opt/man BASHCOMPDIR=/opt/bc DESTDIR="$tmp/stage2" >/dev/null
[ -f "$tmp/stage2/opt/man/man1/tutorcache.1" ] &&
	[ -f "$tmp/stage2/opt/bc/tutorcache" ] ||
	fail "make install: MANDIR or BASHCOMPDIR not honoured"
make --no-print-directory -s uninstall PREFIX=/usr/local \
	DESTDIR="$tmp/stage" >/dev/null
for f in share/man/man1/tutorcache.1 share/man/man3/libtutorcache.3 \
	share/bash-completion/completions/tutorcache; do
	[ ! -e "$stage/$f" ] || fail "make uninstall: $f left behind"
done

# 2. The pages render without a warning (groff at its strictest, or
# mandoc's linter), and through man(1) itself where it is installed.
for page in man/tutorcache.1 man/libtutorcache.3; do
	if command -v groff >/dev/null 2>&1; then
		if ! groff -man -ww -z "$page" >"$tmp/groff.err" 2>&1 ||
			[ -s "$tmp/groff.err" ]; then
			fail "$page: groff -man -ww warns:"
			sed 's/^/    /' "$tmp/groff.err" >&2
		fi
	elif command -v mandoc >/dev/null 2>&1; then
		mandoc -T lint -W warning "$page" >"$tmp/lint.err" 2>&1 ||
			{ fail "$page: mandoc -T lint:"; sed 's/^/    /' "$tmp/lint.err" >&2; }
	else
		skip "$page: neither groff nor mandoc is installed"
	fi
	if command -v man >/dev/null 2>&1; then
		if ! MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$page" \
			>"$tmp/man.out" 2>"$tmp/man.err" || [ -s "$tmp/man.err" ]; then
			fail "$page: man -l fails or warns:"
			sed 's/^/    /' "$tmp/man.err" >&2
		elif ! grep -q 'SYNOPSIS' "$tmp/man.out"; then
			fail "$page: man -l renders no SYNOPSIS"
		fi
	else
		skip "$page: man is not installed"
	fi
done

# 3. Every command of 'tutorcache help' and every feedback subcommand in
# the man page and the completion; the man page's exit codes are the
# CLI's.
"$tc" help >"$tmp/help"
sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$tmp/help" \
	>"$tmp/commands"
[ "$(wc -l <"$tmp/commands")" -ge 10 ] ||
	fail "tutorcache help lists $(wc -l <"$tmp/commands") commands; parsed wrong?"
"$tc" help feedback |
	sed -n '/^Subcommands/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' | sort -u \
	>"$tmp/subcommands"
[ "$(wc -l <"$tmp/subcommands")" -ge 5 ] ||
	fail "tutorcache help feedback lists too few subcommands"
comp=completion/tutorcache.bash
while read -r c; do
	grep -Eq "^\.(B|BR|BI|TP) \"?$c( |\"|$)" man/tutorcache.1 ||
		fail "man/tutorcache.1: no entry for the command $c"
	grep -q "^_tutorcache_commands=\".*\\b$c\\b" "$comp" ||
		fail "$comp: the command $c is not completed"
done <"$tmp/commands"
while read -r c; do
	grep -Eq "^\.BR? $c( |,|$)" man/tutorcache.1 ||
		fail "man/tutorcache.1: no feedback subcommand $c"
	grep -q "\"submit import stats export learn purge report\"" "$comp" &&
		grep -q "\\b$c\\b" "$comp" ||
		fail "$comp: the feedback subcommand $c is not completed"
done <"$tmp/subcommands"
sed -n '/^Exit codes:$/,$s/^  \([0-9]\)  .*/\1/p' "$tmp/help" >"$tmp/codes"
sed -n '/^\.SH EXIT STATUS/,/^\.SH /s/^\.B \([0-9]\)$/\1/p' man/tutorcache.1 \
	>"$tmp/mancodes"
cmp -s "$tmp/codes" "$tmp/mancodes" ||
	fail "man/tutorcache.1: EXIT STATUS lists $(tr '\n' ' ' <"$tmp/mancodes")but tutorcache help $(tr '\n' ' ' <"$tmp/codes")"

# 4. The completion as installed, as bash loads it: registered for
# tutorcache, and
# "tutorcache fe<TAB>" is feedback (driven through COMP_WORDS).
if command -v bash >/dev/null 2>&1; then
	got=$(bash --norc --noprofile -c '
		. "$1" || exit 9
		complete -p tutorcache
		COMP_WORDS=("$2" fe); COMP_CWORD=1; _tutorcache
		echo "fe: ${COMPREPLY[*]}"
		COMP_WORDS=("$2" --store memory: feedback l); COMP_CWORD=4; _tutorcache
		echo "feedback l: ${COMPREPLY[*]}"
		COMP_WORDS=("$2" loadtest --allow); COMP_CWORD=2; _tutorcache
		echo "loadtest --allow: ${COMPREPLY[*]}"
		COMP_WORDS=("$2" --log-level w); COMP_CWORD=2; _tutorcache
		echo "--log-level w: ${COMPREPLY[*]}"
	' sh "$tmp/stage2/opt/bc/tutorcache" "$tc" 2>&1) || true
	for want in "complete -F _tutorcache tutorcache" "fe: feedback" \
		"feedback l: learn" "loadtest --allow: --allow-remote" \
		"--log-level w: warn"; do
		printf '%s\n' "$got" | grep -Fqx -- "$want" ||
			fail "bash completion: no \"$want\" in:$(printf '\n%s' "$got" | sed 's/^/    /')"
	done
else
	skip "bash is not installed: the completion is not tried"
fi

# 5. The example of libtutorcache(3) builds against the library and runs.
awk '/^\.SH EXAMPLES/ { p = 1; next } p && /^\.nf/ { q = 1; next }
	q && /^\.fi/ { exit } q { print }' man/libtutorcache.3 |
	sed 's/\\e/\\/g' >"$tmp/example.c"
sed -i "s|lmdb:///tmp/tc|lmdb://$tmp/lmdb|" "$tmp/example.c"
# shellcheck disable=SC2086 # lists of flags
if ! ${CC:-cc} -std=c99 -Wall -Wextra -Werror -Iinclude -o "$tmp/example" \
	"$tmp/example.c" "$build/libtutorcache.a" ${TC_LIBS:--lhiredis -lssl -lcrypto -lcjson -lxxhash -llmdb -lutf8proc -lsodium -lpthread -lm} \
	-pthread >"$tmp/cc.err" 2>&1; then
	fail "man/libtutorcache.3: the example does not build:"
	sed 's/^/    /' "$tmp/cc.err" >&2
elif [ "$(env -u TUTORCACHE_CONFIG "$tmp/example")" != "{} from l1" ]; then
	fail "man/libtutorcache.3: the example does not print \"{} from l1\""
fi
# Every function its SYNOPSIS declares is in the header.
sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' man/libtutorcache.3 |
	grep -o 'tc_[a-z_]*(' | sort -u | while read -r fn; do
	grep -q "TC_API .*\\b$fn" include/tutorcache.h ||
		echo "man/libtutorcache.3: $fn) is not in include/tutorcache.h"
done >"$tmp/syn"
[ ! -s "$tmp/syn" ] || { fail "$(cat "$tmp/syn")"; }

# 6. examples/tutorcache.json: the README's config block, loaded by the
# CLI, every key explained in README.md.
awk '/^<!-- config -->$/ { m = 1; next } m && /^```json/ { p = 1; next }
	p && /^```/ { exit } p { print }' README.md >"$tmp/readme.json"
cmp -s "$tmp/readme.json" examples/tutorcache.json ||
	fail "README.md's config block is not examples/tutorcache.json"
if ! TUTORCACHE_URL=memory: "$tc" --config examples/tutorcache.json config \
	--format json >"$tmp/config.out" 2>&1; then
	fail "tutorcache --config examples/tutorcache.json config fails:"
	sed 's/^/    /' "$tmp/config.out" >&2
fi
grep -o '"[a-z_0-9]*":' examples/tutorcache.json | tr -d '":' | sort -u |
	while read -r k; do
		grep -q "\`$k\`" README.md || echo "$k"
	done >"$tmp/undocumented"
[ ! -s "$tmp/undocumented" ] ||
	fail "README.md does not explain these keys of examples/tutorcache.json: $(tr '\n' ' ' <"$tmp/undocumented")"

# 7. examples/my_model.py answers the exec backend's lines: a request
# with an intent, a malformed one with an error (see cli/exec_backend.c).
if command -v python3 >/dev/null 2>&1; then
	printf '%s\n' '{"text":"fix this crash"}' 'not json' '{"txt":1}' |
		python3 examples/my_model.py >"$tmp/model.out" 2>&1 ||
		fail "examples/my_model.py exits $?"
	sed -n 1p "$tmp/model.out" | grep -q '^{"intent": "debugging", "confidence": 0\.[0-9]*, "top": \[' ||
		fail "examples/my_model.py: not an answer: $(sed -n 1p "$tmp/model.out")"
	[ "$(grep -c '^{"error": "bad request' "$tmp/model.out")" -eq 2 ] ||
		fail "examples/my_model.py: bad requests not refused: $(cat "$tmp/model.out")"
else
	skip "python3 is not installed: examples/my_model.py is not tried"
fi

if [ "$failed" -gt 0 ]; then
	echo "install_docs: $failed failed" >&2
	exit 1
fi
echo "install_docs: passed"
