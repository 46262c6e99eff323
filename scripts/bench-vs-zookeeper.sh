#!/usr/bin/env bash
# Benchmarks gozk against Apache ZooKeeper (Debian's package) on this machine,
# side by side: both standalone, same zoo.cfg settings (fsync on), clean data
# directories, the same workloads run with `gozk bench` against each in turn
# (ZooKeeper, gozk, ZooKeeper, gozk), then the memory each uses holding N
# znodes and the time each takes from start to serving them. It prints one
# table: both figures and gozk / ZooKeeper per row. On a shared machine the
# ratios of one run are what count; absolute figures vary from run to run.
#
# Usage: scripts/bench-vs-zookeeper.sh [-duration 15s] [-clients 16] [-znodes 200000] [-size 100] [-rounds 2]
#
#   -duration D  length of each workload run (default 15s)
#   -clients N   concurrent sessions (default 16)
#   -znodes N    znodes loaded for the memory and start-up rows (default 200000)
#   -size N      bytes of data per znode (default 100)
#   -rounds N    runs of each workload per server, alternating (default 2)
#
# ZooKeeper runs as zkServer.sh runs it: its JVM with -Xmx1000m
# (ZK_SERVER_HEAP's default). Installs the zookeeper package if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=15s
clients=16
znodes=200000
size=100
rounds=2
usage() { sed -n '10,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	-duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
	-clients) [ $# -ge 2 ] || usage; clients=$2; shift 2 ;;
	-znodes) [ $# -ge 2 ] || usage; znodes=$2; shift 2 ;;
	-size) [ $# -ge 2 ] || usage; size=$2; shift 2 ;;
	-rounds) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
	*) usage ;;
	esac
done

if [ ! -f /usr/share/java/zookeeper.jar ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq zookeeper >/dev/null
fi

work=$(mktemp -d /tmp/gozk-vs-zk.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin"
go build -o "$work/bin/gozk" ./cmd/gozk

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# write_cfg DIR PORT: the one zoo.cfg both servers run with.
write_cfg() {
	mkdir -p "$1/data"
	cat >"$1/zoo.cfg" <<EOF
tickTime=2000
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
}

# start NAME: starts the server and prints its pid.
start() {
	local dir=$work/$1
	case $1 in
	zookeeper)
		java -Xmx1000m -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
			-Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=WARN,CONSOLE \
			org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
		;;
	gozk) "$work/bin/gozk" server --config "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 & ;;
	esac
	echo $!
}

# stop PID: stops a server (SIGTERM, then SIGKILL after 10 s) and waits until
# it is gone (it is not this shell's child: start ran in a subshell).
stop() {
	kill "$1" 2>/dev/null || return 0
	for _ in $(seq 1 200); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null || true
	sleep 0.2
}

# serving PORT: whether the server answers srvr with a Mode (it serves).
serving() { printf srvr | nc -N -w1 127.0.0.1 "$1" 2>/dev/null | grep -q '^Mode:'; }

# wait_serving PORT: seconds from now until serving, printed.
wait_serving() {
	local t0 t1
	t0=$(date +%s.%N)
	for _ in $(seq 1 1200); do
		if serving "$1"; then
			t1=$(date +%s.%N)
			echo "$t1 - $t0" | bc -l
			return 0
		fi
		sleep 0.05
	done
	echo "server on port $1 never served; see $work" >&2
	exit 1
}

declare -A port pid
for s in zookeeper gozk; do
	port[$s]=$(free_port)
	write_cfg "$work/$s" "${port[$s]}"
	pid[$s]=$(start $s)
	pids+=("${pid[$s]}")
done
for s in zookeeper gozk; do wait_serving "${port[$s]}" >/dev/null; done

# bench PORT ARGS...: ops/s and p99 of one gozk bench run, as "ops p99".
bench() {
	local p=$1
	shift
	local out
	out=$("$work/bin/gozk" bench -server "127.0.0.1:$p" -clients "$clients" -size "$size" -quiet "$@")
	# "N ops, E errors in T: X ops/s; latency p50 A p99 B p99.9 C max D"
	echo "$out" | tail -1 | sed -E 's/.*: ([0-9.]+) ops\/s; latency p50 [^ ]+ p99 ([^ ]+) .*/\1 \2/'
}

# to_ms DURATION: a Go duration (850µs, 1.2ms, 2s) in milliseconds.
to_ms() {
	local d=$1
	case $d in
	*µs) echo "${d%µs} / 1000" | bc -l ;;
	*us) echo "${d%us} / 1000" | bc -l ;;
	*ms) echo "${d%ms}" ;;
	*ns) echo "${d%ns} / 1000000" | bc -l ;;
	*s) echo "${d%s} * 1000" | bc -l ;;
	*) echo "$d" ;;
	esac
}

rows=()
row() { rows+=("$(printf '%-34s %14s %14s %8s' "$1" "$2" "$3" "$4")"); }
ratio() { printf '%.2f' "$(echo "$2 / $1" | bc -l)"; }

workloads=(
	"get, 8 in flight|-op get -inflight 8"
	"set, 8 in flight|-op set -inflight 8"
	"create, 8 in flight|-op create -inflight 8"
	"mixed 90% get, 8 in flight|-op mixed -reads 90 -inflight 8"
	"get, 1 in flight|-op get -inflight 1"
	"create, 1 in flight|-op create -inflight 1"
)
n=0
for w in "${workloads[@]}"; do
	name=${w%%|*}
	read -r -a args <<<"${w#*|}"
	declare -A sum_ops=([zookeeper]=0 [gozk]=0) sum_p99=([zookeeper]=0 [gozk]=0)
	for _ in $(seq 1 "$rounds"); do
		for s in zookeeper gozk; do
			n=$((n + 1))
			read -r ops p99 < <(bench "${port[$s]}" "${args[@]}" -ops 0 -duration "$duration" -prefix "/bench-$n")
			sum_ops[$s]=$(echo "${sum_ops[$s]} + $ops" | bc -l)
			sum_p99[$s]=$(echo "${sum_p99[$s]} + $(to_ms "$p99")" | bc -l)
			printf '%-28s %-9s %10.0f ops/s  p99 %s\n' "$name" "$s" "$ops" "$p99" >&2
		done
	done
	zo=$(echo "${sum_ops[zookeeper]} / $rounds" | bc -l)
	go=$(echo "${sum_ops[gozk]} / $rounds" | bc -l)
	zp=$(echo "${sum_p99[zookeeper]} / $rounds" | bc -l)
	gp=$(echo "${sum_p99[gozk]} / $rounds" | bc -l)
	row "$name (ops/s)" "$(printf '%.0f' "$zo")" "$(printf '%.0f' "$go")" "$(ratio "$zo" "$go")"
	row "$name (p99 ms)" "$(printf '%.2f' "$zp")" "$(printf '%.2f' "$gp")" "$(ratio "$zp" "$gp")"
done

# Memory holding N znodes, and the time from start to serving them.
for s in zookeeper gozk; do
	"$work/bin/gozk" bench -server "127.0.0.1:${port[$s]}" -clients "$clients" -inflight 8 -size "$size" -quiet \
		-op create -ops "$znodes" -duration 10m -prefix /load >/dev/null
done
declare -A rss start_s
for s in zookeeper gozk; do
	rss[$s]=$(awk '/^VmRSS:/ {print $2 / 1024}' "/proc/${pid[$s]}/status")
	stop "${pid[$s]}"
done
for s in zookeeper gozk; do
	pid[$s]=$(start $s)
	pids+=("${pid[$s]}")
	start_s[$s]=$(wait_serving "${port[$s]}")
	stop "${pid[$s]}"
done
row "RSS with $znodes znodes (MB)" "$(printf '%.0f' "${rss[zookeeper]}")" "$(printf '%.0f' "${rss[gozk]}")" "$(ratio "${rss[zookeeper]}" "${rss[gozk]}")"
row "start to serving them (s)" "$(printf '%.2f' "${start_s[zookeeper]}")" "$(printf '%.2f' "${start_s[gozk]}")" "$(ratio "${start_s[zookeeper]}" "${start_s[gozk]}")"

echo
echo "gozk vs Apache ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "standalone, fsync on, $clients sessions, $size-byte values, $duration per run, $rounds runs each, alternating"
printf '%-34s %14s %14s %8s\n' "workload" "ZooKeeper" "gozk" "ratio"
printf '%s\n' "${rows[@]}"
