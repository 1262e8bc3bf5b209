#!/bin/sh
# Installs into a temp PREFIX under a temp DESTDIR, then builds the example
# with pkg-config as a host service would (C, and the header as C++), and
# runs it on memory:. Part of `make check`.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/tc
make --no-print-directory -s install BUILD="$build" PREFIX="$prefix" DESTDIR="$tmp/root" >/dev/null
root="$tmp/root$prefix"
for f in include/tutorcache.h lib/libtutorcache.a lib/libtutorcache.so \
	lib/pkgconfig/tutorcache.pc bin/tutorcache; do
	[ -e "$root/$f" ] || { echo "install_check: $f not installed" >&2; exit 1; }
done
# The .pc file names the real prefix; point pkg-config at the staged tree.
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags tutorcache)
libs=$(pkg-config --libs tutorcache)
cc -std=c99 -Wall -Wextra -pedantic -Werror $cflags -o "$tmp/demo" \
	examples/cache_demo.c $libs -pthread -Wl,-rpath,"$root/lib"
printf '#include <tutorcache.h>\nint main(){tc_options o; tc_options_init(&o); return o.version != TC_OPTIONS_VERSION;}\n' >"$tmp/hc.cc"
${CXX:-g++} -std=c++11 -Wall -Wextra -pedantic -Werror $cflags -o "$tmp/hc" "$tmp/hc.cc" $libs -Wl,-rpath,"$root/lib"
"$tmp/hc"
out=$("$tmp/demo" memory:)
echo "$out" | grep -q 'store memory' || { echo "install_check: demo failed: $out" >&2; exit 1; }
# Each of the 4 threads asks twice; every second answer comes from L1.
[ "$(echo "$out" | grep -c -E ' (l1|loader) ')" -eq 8 ] &&
	[ "$(echo "$out" | grep -c ' l1 ')" -ge 4 ] ||
	{ echo "install_check: unexpected demo output: $out" >&2; exit 1; }
echo "install_check: 1 passed, 0 failed"
