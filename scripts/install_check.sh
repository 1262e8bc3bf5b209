#!/bin/sh
# Part of `make check`: `make install` honours DESTDIR and PREFIX, and a
# host program builds against the installed library with pkg-config, as
# C99 and (the header) as C++, then runs on memory:.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_check: $*" >&2; exit 1; }

# 1. A staged install: every file under DESTDIR, the .pc naming PREFIX.
make --no-print-directory -s install BUILD="$build" PREFIX=/opt/tc \
	DESTDIR="$tmp/stage" >/dev/null
for f in include/tutorcache.h lib/libtutorcache.a lib/libtutorcache.so \
	lib/libtutorcache.so.0 lib/pkgconfig/tutorcache.pc bin/tutorcache; do
	[ -e "$tmp/stage/opt/tc/$f" ] || fail "$f not installed under DESTDIR"
done
grep -q '^libdir=/opt/tc/lib$' "$tmp/stage/opt/tc/lib/pkgconfig/tutorcache.pc" ||
	fail "the staged tutorcache.pc does not name PREFIX /opt/tc"

# 2. A real install into a temp PREFIX, used through pkg-config.
root="$tmp/root"
make --no-print-directory -s install BUILD="$build" PREFIX="$root" >/dev/null
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
cflags=$(pkg-config --cflags tutorcache)
libs=$(pkg-config --libs tutorcache)
# The public header needs its own directory and nothing else.
[ "$(printf '%s' "$cflags" | sed 's/ *$//')" = "-I$root/include" ] ||
	fail "pkg-config --cflags gives more than the header needs: $cflags"
cc -std=c99 -Wall -Wextra -pedantic -Werror $cflags -o "$tmp/demo" \
	examples/cache_demo.c $libs -pthread -Wl,-rpath,"$root/lib"
printf '#include <tutorcache.h>\nint main(){tc_options o; tc_options_init(&o); return o.version != TC_OPTIONS_VERSION;}\n' >"$tmp/hc.cc"
${CXX:-g++} -std=c++11 -Wall -Wextra -pedantic -Werror $cflags -o "$tmp/hc" \
	"$tmp/hc.cc" $libs -Wl,-rpath,"$root/lib"
"$tmp/hc" || fail "the C++ program failed"
out=$("$tmp/demo" memory:) || fail "the demo failed: $out"
echo "$out" | grep -q 'store memory' || fail "unexpected demo output: $out"
# Each of the 4 threads asks twice; every second answer comes from L1.
[ "$(echo "$out" | grep -c -E ' (l1|loader) ')" -eq 8 ] &&
	[ "$(echo "$out" | grep -c ' l1 ')" -ge 4 ] ||
	fail "unexpected demo output: $out"
"$root/bin/tutorcache" --version >/dev/null || fail "installed CLI does not run"
# A static link takes the private libraries from pkg-config --static.
slibs=$(pkg-config --static --libs-only-l tutorcache | sed 's/-ltutorcache//')
# shellcheck disable=SC2086 # lists of flags
cc -std=c99 -Wall -Wextra -pedantic -Werror $cflags -o "$tmp/demo_static" \
	examples/cache_demo.c "$root/lib/libtutorcache.a" $slibs -pthread ||
	fail "a static link with pkg-config --static fails"
"$tmp/demo_static" memory: >/dev/null || fail "the static demo failed"
echo "install_check: 1 passed, 0 failed"
