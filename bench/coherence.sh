#!/bin/sh
# bench/coherence.sh - L1 coherence across processes, measured on a
# private redis-server (BENCHMARKS.md, "L1 coherence"): the time from a
# set in one process to another process serving the new value (p50, p99,
# max), seconds per L1 hit, L2 read and set with tracking on and off,
# the GETs the server runs per set kept in L1, and, when valgrind is
# there, the instructions of an L1 hit with
# tracking on and off (callgrind, N and 2N calls, the difference over N,
# as bench/hotpath.sh does). Then the same latency on a private Redis
# Cluster of three masters, and, with valgrind, the instructions per L2
# get and per L2 set of the calling thread (its loop) and of the whole
# client process (every thread: the tracking threads' reading of each
# invalidation included), tracking on and ?tracking=off, on the single
# server and on the cluster, with the ratio on/off.
#
# Usage: bench/coherence.sh [build-dir]
# Environment: COHERENCE_ROUNDS (1000 latency rounds), COHERENCE_N (10000
# hits under callgrind), COHERENCE_L2_N (2000 L2 calls under callgrind),
# CC, CFLAGS, LDFLAGS for the driver.
set -u

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${COHERENCE_ROUNDS:-1000}
n=${COHERENCE_N:-10000}
l2n=${COHERENCE_L2_N:-2000}

bench_name=bench/coherence
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

bench_counts "COHERENCE_ROUNDS, COHERENCE_N, COHERENCE_L2_N" "$rounds" "$n" "$l2n"
# The single server by bench_redis_driver (unpinned: both processes and
# the server share the CPUs); the cluster's three nodes below, stopped by
# bench_tmp's trap with it.
bench_redis_driver coherence
# shellcheck disable=SC2034 # the cluster's nodes, stopped on exit
m1_pid='' m2_pid='' m3_pid=''
bench_tmp_also m1_pid m2_pid m3_pid
url=redis://127.0.0.1:$redis_port

"$prog" "$url" -n "$rounds" || die "the driver failed"

# Three masters, no replicas: each its own dir, port and cluster bus.
single_pid=$redis_pid
nodes=""
for m in 1 2 3; do
	mkdir -p "$tmp/m$m"
	bench_redis_conf="cluster-enabled yes
cluster-config-file nodes.conf
cluster-port $(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	bench_start_redis "$tmp/m$m"
	eval "m${m}_pid=\$redis_pid"
	nodes="$nodes 127.0.0.1:$redis_port"
done
redis_pid=$single_pid
# shellcheck disable=SC2086 # the nodes, one argument each
redis-cli --cluster create $nodes --cluster-yes >/dev/null 2>&1 ||
	die "redis-cli --cluster create failed"
until redis-cli -p "$redis_port" cluster info | grep -q cluster_state:ok; do
	sleep 0.1
done
curl=redis-cluster://$(echo "$nodes" | sed 's/^ //; s/ /,/g')
say "cluster of three masters:$nodes"
"$prog" "$curl" -n "$rounds" --only latency | sed 's/^/cluster /' ||
	die "the driver failed on the cluster"

if ! command -v valgrind >/dev/null; then
	say "valgrind: not found; no instruction counts"
	exit 0
fi
for where in single cluster; do
	u=$url
	[ $where = single ] || u=$curl
	for op in get set; do
		# the calling thread alone (its loop), then the whole process
		f=bench_get_loop
		[ $op = get ] || f=bench_set_loop
		for scope in $f -; do
			on=$(bench_ir_per_call "$tmp" "$scope" "$l2n" "$prog" "$u" \
				--only "l2$op-on")
			off=$(bench_ir_per_call "$tmp" "$scope" "$l2n" "$prog" "$u" \
				--only "l2$op-off")
			awk -v w="$where" -v o="$op" -v a="$on" -v b="$off" \
				-v s="$([ "$scope" = - ] && echo process || echo caller)" 'BEGIN {
				printf "instructions %s L2 %s, %s: %d on, %d off, ratio %.3f\n",
					w, o, s, a, b, a / b }'
		done
	done
done
for mode in hit-on hit-off; do
	ir=$(bench_ir_per_call "$tmp" hit_loop "$n" "$prog" "$url" \
		--only "$mode") || exit 1
	echo "instructions $mode: $ir per L1 hit"
done
