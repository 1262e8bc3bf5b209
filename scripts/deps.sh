#!/bin/sh
# Installs the Debian packages tutorcache needs to build, test and benchmark,
# skipping the ones already present.
# Usage: scripts/deps.sh [build|examples|check|bench|valgrind|report]
# (report: what bench/report_png.sh needs, Debian's chromium)
set -eu

build="make gcc pkg-config libhiredis-dev libssl-dev libcjson-dev libxxhash-dev liblmdb-dev libutf8proc-dev libsodium-dev"
examples="$build libmicrohttpd-dev"
check="$build check clang-format redis-server redis-tools openssl prometheus libmicrohttpd-dev curl clang libclang-rt-14-dev groff-base libxml2-utils"
bench="$check fasttext time"
valgrind="$check valgrind"
report="$build chromium"

case "${1:-build}" in
build) want=$build ;;
examples) want=$examples ;;
check) want=$check ;;
bench) want=$bench ;;
valgrind) want=$valgrind ;;
report) want=$report ;;
*) echo "usage: $0 [build|examples|check|bench|valgrind|report]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "tutorcache: installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
