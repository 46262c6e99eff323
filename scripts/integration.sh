#!/usr/bin/env bash
# Runs the integration suites (kazoo, zkCli.sh, the Java client) against
# freshly started gozk servers, or against Apache ZooKeeper with
# --against-zookeeper to check the suites themselves.
#
# Usage: scripts/integration.sh [--against-zookeeper] [--standalone|--ensemble]
#                               [--serial] [--keep] [suite ...]
#   suite is one of: kazoo zkcli java (default: all of them)
#   Two passes, each with every chosen suite:
#     standalone  one server;
#     ensemble    3 servers (myid 1..3, a leader and two followers) on
#                 127.0.0.31-33, or on distinct ports of 127.0.0.1 when those
#                 addresses cannot be bound. The suites get the connect string
#                 of all three (ZK_ADDR) and the list of members (ZK_ADDRS),
#                 from which they pin some of their clients to one member.
#   gozk runs both passes (the ensemble pass runs the full suites); --standalone
#   or --ensemble runs one. Against ZooKeeper only the standalone pass runs
#   unless --ensemble is given (then a ZooKeeper 3-server ensemble).
#   The suites work below paths of their own and run at the same time;
#   --serial runs them one after the other, printing as they go.
#   --keep keeps the temporary directory (server logs, zoo.cfg) for inspection.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
itdir="$repo/tests/integration"
python=/usr/bin/python3
zkjar=/usr/share/java/zookeeper.jar

against_zookeeper=0
keep=0
serial=0
only=""
suites=()
for arg in "$@"; do
	case "$arg" in
	--against-zookeeper) against_zookeeper=1 ;;
	--keep) keep=1 ;;
	--serial) serial=1 ;;
	--standalone) only=standalone ;;
	--ensemble) only=ensemble ;;
	kazoo | zkcli | java) suites+=("$arg") ;;
	-h | --help)
		sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "integration.sh: unknown argument: $arg" >&2
		exit 2
		;;
	esac
done
if [ "${#suites[@]}" -eq 0 ]; then
	suites=(kazoo zkcli java)
fi
if [ -n "$only" ]; then
	passes=("$only")
elif [ "$against_zookeeper" -eq 1 ]; then
	passes=(standalone)
else
	passes=(standalone ensemble)
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gozk-it.XXXXXX")"
server_pids=()
suite_pids=()

stop_servers() {
	local p
	for p in "${server_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${server_pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	server_pids=()
}

cleanup() {
	local p
	for p in "${suite_pids[@]}"; do
		kill -- "-$p" 2>/dev/null
	done
	stop_servers
	if [ "$keep" -eq 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*"; }

# free_port HOST prints a port that was free on HOST a moment ago.
free_port() {
	"$python" -c 'import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()' "$1"
}

can_bind() {
	"$python" -c 'import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.close()' "$1" 2>/dev/null
}

# four_letter HOST:PORT WORD prints the server's answer to a four-letter word.
four_letter() {
	printf '%s' "$2" | nc -N -w1 "${1%:*}" "${1##*:}" 2>/dev/null
}

if [ "$against_zookeeper" -eq 1 ]; then
	target="Apache ZooKeeper"
else
	target="gozk"
	log "building gozk"
	if ! (cd "$repo" && go build -o "$tmp/gozk" ./cmd/gozk); then
		echo "integration.sh: go build ./cmd/gozk failed" >&2
		exit 1
	fi
fi

# start_server CFG LOG [quorum] starts one server (gozk, or ZooKeeper's
# standalone or quorum main class) and records its pid.
start_server() {
	if [ "$against_zookeeper" -eq 1 ]; then
		local main=org.apache.zookeeper.server.ZooKeeperServerMain
		if [ "${3:-}" = quorum ]; then
			main=org.apache.zookeeper.server.quorum.QuorumPeerMain
		fi
		java -Xmx256m -Dzookeeper.extendedTypesEnabled=true \
			-Dznode.container.checkIntervalMs=1000 \
			-Dzookeeper.admin.enableServer=false \
			-cp "/etc/zookeeper/conf:$zkjar" "$main" "$1" >"$2" 2>&1 &
	else
		"$tmp/gozk" server --config "$1" >"$2" 2>&1 &
	fi
	server_pids+=($!)
}

# Settings every server gets, standalone or not.
common_cfg() {
	cat <<-EOF
		tickTime=2000
		4lw.commands.whitelist=*
		extendedTypesEnabled=true
		znode.container.checkIntervalMs=1000
		admin.enableServer=false
	EOF
}

# start_standalone sets addr and addrs and starts one server.
start_standalone() {
	local dir="$tmp/standalone" port
	port="$(free_port 127.0.0.1)"
	addr="127.0.0.1:$port"
	addrs="$addr"
	members=("$addr")
	logs=("$dir/server.log")
	mkdir -p "$dir/data"
	{
		common_cfg
		echo "dataDir=$dir/data"
		echo "clientPort=$port"
		echo "clientPortAddress=127.0.0.1"
	} >"$dir/zoo.cfg"
	log "starting $target on $addr"
	start_server "$dir/zoo.cfg" "${logs[0]}"
}

# start_ensemble starts three servers from one zoo.cfg template (the
# @DATADIR@, @HOST@ and @PORT@ of each member filled in) and sets members
# (HOST:PORT of each), addrs (their comma-separated list) and addr (the
# connect string, the same list).
start_ensemble() {
	local dir="$tmp/ensemble" i hosts=() ports=() servers=""
	for i in 1 2 3; do
		hosts+=("127.0.0.$((30 + i))")
	done
	for i in 0 1 2; do
		if ! can_bind "${hosts[$i]}"; then
			log "cannot bind ${hosts[$i]}: every member on 127.0.0.1, on distinct ports"
			hosts=(127.0.0.1 127.0.0.1 127.0.0.1)
			break
		fi
	done
	members=()
	logs=()
	mkdir -p "$dir"
	for i in 0 1 2; do
		local cport qport eport
		cport="$(free_port "${hosts[$i]}")"
		qport="$(free_port "${hosts[$i]}")"
		eport="$(free_port "${hosts[$i]}")"
		# Ports picked one after the other on one address may repeat.
		while [ "$qport" = "$cport" ]; do qport="$(free_port "${hosts[$i]}")"; done
		while [ "$eport" = "$cport" ] || [ "$eport" = "$qport" ]; do eport="$(free_port "${hosts[$i]}")"; done
		ports+=("$cport")
		members+=("${hosts[$i]}:$cport")
		servers+="server.$((i + 1))=${hosts[$i]}:$qport:$eport"$'\n'
	done
	{
		common_cfg
		echo "initLimit=10"
		echo "syncLimit=5"
		echo "dataDir=@DATADIR@"
		echo "clientPortAddress=@HOST@"
		echo "clientPort=@PORT@"
		printf '%s' "$servers"
	} >"$dir/zoo.cfg.template"
	for i in 0 1 2; do
		local m="$dir/server$((i + 1))"
		mkdir -p "$m/data"
		echo "$((i + 1))" >"$m/data/myid"
		sed -e "s|@DATADIR@|$m/data|" -e "s|@HOST@|${hosts[$i]}|" -e "s|@PORT@|${ports[$i]}|" \
			"$dir/zoo.cfg.template" >"$m/zoo.cfg"
		logs+=("$m/server.log")
	done
	addrs="$(IFS=,; echo "${members[*]}")"
	addr="$addrs"
	log "starting a $target ensemble on $addrs"
	for i in 0 1 2; do
		start_server "$dir/server$((i + 1))/zoo.cfg" "${logs[$i]}" quorum
	done
}

# mode_of HOST:PORT prints the server's srvr Mode, or nothing.
mode_of() {
	four_letter "$1" srvr | sed -n 's/^Mode: //p'
}

# wait_ready waits until every server answers srvr with a Mode and, in an
# ensemble, one is the leader and the others followers.
wait_ready() {
	local want="$1" modes m p
	for _ in $(seq 300); do
		for p in "${server_pids[@]}"; do
			kill -0 "$p" 2>/dev/null || return 1
		done
		modes=""
		for m in "${members[@]}"; do
			modes+="$(mode_of "$m")"$'\n'
		done
		if [ "$(printf '%s' "$modes" | LC_ALL=C sort | tr '\n' ' ')" = "$want" ]; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

show_logs() {
	local l
	for l in "${logs[@]}"; do
		echo "-- last lines of $l" >&2
		tail -n "${1:-40}" "$l" >&2
	done
}

# The Java client and the classes it needs: the ZooKeeper client, its Jute
# records and the SLF4J API (no binding: the client logs nothing). The NIO
# client socket is the default, so Netty is not needed.
java_cp="$zkjar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar"

run_suite() {
	local name="$1"
	export ZK_ADDR="$addr" ZK_ADDRS="$addrs"
	case "$name" in
	kazoo)
		timeout --foreground 170 "$python" "$itdir/kazoo_test.py" "$addr"
		;;
	zkcli)
		timeout --foreground 170 bash "$itdir/zkcli_test.sh" "$addr"
		;;
	java)
		mkdir -p "$tmp/classes"
		if ! javac -nowarn -Xlint:-path -d "$tmp/classes" -cp "$java_cp" "$itdir"/java/*.java; then
			echo "javac failed"
			return 1
		fi
		timeout --foreground 170 java -cp "$tmp/classes:$java_cp" ClientChecks "$addr" 2>&1 |
			grep -v '^SLF4J:'
		return "${PIPESTATUS[0]}"
		;;
	esac
}

declare -A result
declare -A counts
declare -A where
failed=0

# run_pass PASS starts the servers of PASS, runs the suites and stops them.
run_pass() {
	local pass="$1" out="$tmp/$1" s p rc want
	mkdir -p "$out"
	if [ "$pass" = standalone ]; then
		start_standalone
		want="standalone "
	else
		start_ensemble
		want="follower follower leader "
	fi
	where[$pass]="$addrs"
	if ! wait_ready "$want"; then
		echo "integration.sh: $target ($pass) did not become ready on $addrs (want Modes: $want)" >&2
		for m in "${members[@]}"; do
			echo "  $m: $(mode_of "$m")" >&2
		done
		show_logs
		for s in "${suites[@]}"; do
			result[$pass.$s]="NOT RUN (servers not ready)"
		done
		failed=1
		stop_servers
		return
	fi
	for m in "${members[@]}"; do
		log "$m: Mode: $(mode_of "$m")"
	done
	# Each suite runs in a process group of its own (job control on), so that
	# cleanup can stop it with everything it started.
	set -m
	for s in "${suites[@]}"; do
		if [ "$serial" -eq 1 ]; then
			log "suite $s against $target ($pass)"
			(
				run_suite "$s" 2>&1 | tee "$out/$s.out"
				echo "${PIPESTATUS[0]}" >"$out/$s.rc"
			) </dev/null &
			suite_pids=($!)
			wait "$!"
		else
			(
				run_suite "$s" >"$out/$s.out" 2>&1
				echo $? >"$out/$s.rc"
			) </dev/null &
			suite_pids+=($!)
		fi
	done
	set +m
	if [ "$serial" -ne 1 ]; then
		log "running ${suites[*]} against $target ($pass) at the same time"
		for p in "${suite_pids[@]}"; do
			wait "$p"
		done
		for s in "${suites[@]}"; do
			log "suite $s ($pass)"
			cat "$out/$s.out"
		done
	fi
	suite_pids=()
	for s in "${suites[@]}"; do
		rc="$(cat "$out/$s.rc" 2>/dev/null || echo 255)"
		counts[$pass.$s]="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/$s.out" | tail -n 1)"
		if [ "$rc" -eq 0 ]; then
			result[$pass.$s]=PASS
		else
			result[$pass.$s]="FAIL (exit $rc)"
			failed=1
		fi
	done
	local i=0 dead=0
	for p in "${server_pids[@]}"; do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "integration.sh: server ${members[$i]} exited during the $pass run" >&2
			dead=1
		fi
		i=$((i + 1))
	done
	if [ "$dead" -eq 1 ] || [ "$failed" -ne 0 ]; then
		[ "$dead" -eq 1 ] && failed=1
		show_logs 20
	fi
	stop_servers
}

for pass in "${passes[@]}"; do
	run_pass "$pass"
done

echo
for pass in "${passes[@]}"; do
	log "summary against $target, $pass (${where[$pass]:-})"
	for s in "${suites[@]}"; do
		printf '%-6s %-28s %s\n' "$s" "${result[$pass.$s]:-NOT RUN}" "${counts[$pass.$s]:-}"
	done
done
exit "$failed"
