#!/bin/sh
# scripts/lua2c.sh FILE.lua - the script as a C header, on stdout:
#   static const char NAME_lua[] = "...";
# where NAME is the file's base name. The Makefile runs it for each
# lib/store/redis/lua/*.lua, which lib/store/redis/redis_script.c includes.
#
# Comment lines (their first non-blank characters are "--") and blank
# lines stay in the .lua file and are left out: what Redis is sent, and
# what its SCRIPT LOAD digest is of, is the code alone. Every other line
# is kept byte for byte, with its newline. Long comments ("--[[") are
# refused, since their inner lines would read as code, and so are control
# bytes other than tab. POSIX sh and sed only (no xxd).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: lua2c.sh FILE.lua" >&2
	exit 2
fi
lua=$1
name=$(basename "$lua" .lua)
case $name in
'' | [!A-Za-z_]* | *[!A-Za-z0-9_]*)
	echo "lua2c.sh: $lua: the name must be a C identifier" >&2
	exit 1
	;;
esac
[ -r "$lua" ] || {
	echo "lua2c.sh: $lua: cannot read it" >&2
	exit 1
}
export LC_ALL=C
if grep -n '^[[:space:]]*--\[' "$lua" >&2; then
	echo "lua2c.sh: $lua: a long comment; use -- lines" >&2
	exit 1
fi
if grep -n "$(printf '[\001-\010\013-\037\177]')" "$lua" >&2; then
	echo "lua2c.sh: $lua: a control byte other than tab" >&2
	exit 1
fi
if ! sed -e '/^[[:space:]]*--/d' -e '/^[[:space:]]*$/d' "$lua" | grep -q .; then
	echo "lua2c.sh: $lua: no code" >&2
	exit 1
fi

tab=$(printf '\t')
printf '/* %s, by scripts/lua2c.sh: edit the .lua file, not this. */\n' "$lua"
printf 'static const char %s_lua[] =\n' "$name"
# Backslashes, quotes, tabs and question marks (no trigraph can form)
# escaped; each line a literal of its own, the last one ending the
# declaration.
sed -e '/^[[:space:]]*--/d' -e '/^[[:space:]]*$/d' "$lua" |
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
		-e "s/$tab/\\\\t/g" -e 's/^/    "/' -e 's/$/\\n"/' -e '$s/$/;/'
