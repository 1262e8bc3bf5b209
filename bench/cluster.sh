#!/bin/sh
# bench/cluster.sh - L2 reads through the library on a single Redis
# server, a one-master cluster and a three-master cluster, beside raw
# hiredis to one node, all in one run (bench/cluster_bench.c): gets and
# batches of 16 keys per second, one thread, L1 off. Servers run from temp
# dirs on free loopback ports and are stopped by pid at the end.
#
# Usage: bench/cluster.sh [build-dir]    (CLUSTER_BENCH_SECONDS, default 3)
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${CLUSTER_BENCH_SECONDS:-3}
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME [cluster]: a redis-server on a free port; prints the port
start() {
	port=$(free_port)
	mkdir -p "$tmp/$1"
	extra=""
	[ "${2:-}" = cluster ] && extra="--cluster-enabled yes --cluster-config-file nodes.conf --cluster-port $(free_port)"
	# shellcheck disable=SC2086
	redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/$1" --save '' \
		--appendonly no --daemonize no --loglevel warning $extra \
		>"$tmp/$1.log" 2>&1 &
	pids="$pids $!"
	until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
	echo "$port"
}

wait_ok() {
	until redis-cli -p "$1" cluster info 2>/dev/null | grep -q cluster_state:ok; do
		sleep 0.1
	done
}

cc -O2 -I"$top/include" -o "$tmp/cluster_bench" "$top/bench/cluster_bench.c" \
	"$top/$build/libtutorcache.a" -lhiredis -lssl -lcrypto -lcjson -lxxhash -llmdb \
	-lutf8proc -lsodium -lpthread -lm || exit 1

single=$(start single)
one=$(start one cluster)
redis-cli -p "$one" cluster addslotsrange 0 16383 >/dev/null
wait_ok "$one"
a=$(start a cluster)
b=$(start b cluster)
c=$(start c cluster)
redis-cli --cluster create "127.0.0.1:$a" "127.0.0.1:$b" "127.0.0.1:$c" \
	--cluster-yes >/dev/null || exit 1
wait_ok "$a"

row() {
	out=$("$tmp/cluster_bench" "$@") || exit 1
	get=$(echo "$out" | sed -n 's/^get //p')
	mget=$(echo "$out" | sed -n 's/^mget16 //p')
	printf '| %s | %s | %s |\n' "$label" "$get" "$mget"
}

echo "| L2 reads, one thread, ${secs} s each | gets/s | keys/s in batches of 16 |"
echo "| --- | ---: | ---: |"
label="raw hiredis, one node (GET+PTTL)"; row --raw 127.0.0.1 "$single" "$secs"
label="redis:// single server"; row "redis://127.0.0.1:$single" "$secs"
label="redis-cluster://, 1 master"; row "redis-cluster://127.0.0.1:$one" "$secs"
label="redis-cluster://, 3 masters"; row "redis-cluster://127.0.0.1:$a" "$secs"
