#!/usr/bin/env bash
# Runs the integration suites (kazoo, zkCli.sh, the Java client) against a
# freshly started gozk server, or against Apache ZooKeeper with
# --against-zookeeper to check the suites themselves.
#
# Usage: scripts/integration.sh [--against-zookeeper] [--serial] [--keep] [suite ...]
#   suite is one of: kazoo zkcli java (default: all of them)
#   The suites work below paths of their own and run at the same time;
#   --serial runs them one after the other, printing as they go.
#   --keep keeps the temporary directory (server log, zoo.cfg) for inspection.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
itdir="$repo/tests/integration"
python=/usr/bin/python3
zkjar=/usr/share/java/zookeeper.jar

against_zookeeper=0
keep=0
serial=0
suites=()
for arg in "$@"; do
	case "$arg" in
	--against-zookeeper) against_zookeeper=1 ;;
	--keep) keep=1 ;;
	--serial) serial=1 ;;
	kazoo | zkcli | java) suites+=("$arg") ;;
	-h | --help)
		sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gozk-it.XXXXXX")"
server_pid=""
suite_pids=()

cleanup() {
	for p in "${suite_pids[@]}"; do
		kill -- "-$p" 2>/dev/null
	done
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ "$keep" -eq 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*"; }

free_port() {
	"$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# four_letter WORD prints the server's answer to a four-letter word.
four_letter() {
	printf '%s' "$1" | nc -N -w1 127.0.0.1 "$port" 2>/dev/null
}

port="$(free_port)"
addr="127.0.0.1:$port"
mkdir -p "$tmp/data"
cat >"$tmp/zoo.cfg" <<EOF
tickTime=2000
dataDir=$tmp/data
clientPort=$port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
extendedTypesEnabled=true
znode.container.checkIntervalMs=1000
admin.enableServer=false
EOF

if [ "$against_zookeeper" -eq 1 ]; then
	target="Apache ZooKeeper"
	log "starting Apache ZooKeeper on $addr"
	java -Dzookeeper.extendedTypesEnabled=true \
		-Dznode.container.checkIntervalMs=1000 \
		-Dzookeeper.admin.enableServer=false \
		-cp "/etc/zookeeper/conf:$zkjar" \
		org.apache.zookeeper.server.ZooKeeperServerMain "$tmp/zoo.cfg" \
		>"$tmp/server.log" 2>&1 &
	server_pid=$!
else
	target="gozk"
	log "building gozk"
	if ! (cd "$repo" && go build -o "$tmp/gozk" ./cmd/gozk); then
		echo "integration.sh: go build ./cmd/gozk failed" >&2
		exit 1
	fi
	log "starting gozk on $addr"
	"$tmp/gozk" server --config "$tmp/zoo.cfg" >"$tmp/server.log" 2>&1 &
	server_pid=$!
fi

ready=0
for _ in $(seq 150); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		break
	fi
	if [ "$(four_letter ruok)" = "imok" ] && four_letter srvr | grep -q '^Mode:'; then
		ready=1
		break
	fi
	sleep 0.2
done
if [ "$ready" -ne 1 ]; then
	echo "integration.sh: $target did not become ready on $addr; last lines of its log:" >&2
	tail -n 40 "$tmp/server.log" >&2
	exit 1
fi
log "$target is serving: $(four_letter srvr | grep '^Mode:')"

# The Java client and the classes it needs: the ZooKeeper client, its Jute
# records and the SLF4J API (no binding: the client logs nothing). The NIO
# client socket is the default, so Netty is not needed.
java_cp="$zkjar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar"

run_suite() {
	local name="$1"
	case "$name" in
	kazoo)
		ZK_ADDR="$addr" timeout --foreground 170 "$python" "$itdir/kazoo_test.py" "$addr"
		;;
	zkcli)
		ZK_ADDR="$addr" timeout --foreground 170 bash "$itdir/zkcli_test.sh" "$addr"
		;;
	java)
		mkdir -p "$tmp/classes"
		if ! javac -nowarn -Xlint:-path -d "$tmp/classes" -cp "$java_cp" "$itdir"/java/*.java; then
			echo "javac failed"
			return 1
		fi
		ZK_ADDR="$addr" timeout --foreground 170 java -cp "$tmp/classes:$java_cp" ClientChecks "$addr" 2>&1 |
			grep -v '^SLF4J:'
		return "${PIPESTATUS[0]}"
		;;
	esac
}

declare -A result
declare -A counts
failed=0
# Each suite runs in a process group of its own (job control on), so that
# cleanup can stop it with everything it started.
set -m
for s in "${suites[@]}"; do
	if [ "$serial" -eq 1 ]; then
		log "suite $s against $target"
		(
			run_suite "$s" 2>&1 | tee "$tmp/$s.out"
			echo "${PIPESTATUS[0]}" >"$tmp/$s.rc"
		) </dev/null &
		suite_pids=($!)
		wait "$!"
	else
		(
			run_suite "$s" >"$tmp/$s.out" 2>&1
			echo $? >"$tmp/$s.rc"
		) </dev/null &
		suite_pids+=($!)
	fi
done
set +m
if [ "$serial" -ne 1 ]; then
	log "running ${suites[*]} against $target at the same time"
	for p in "${suite_pids[@]}"; do
		wait "$p"
	done
	for s in "${suites[@]}"; do
		log "suite $s"
		cat "$tmp/$s.out"
	done
fi
suite_pids=()
for s in "${suites[@]}"; do
	rc="$(cat "$tmp/$s.rc" 2>/dev/null || echo 255)"
	counts[$s]="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/$s.out" | tail -n 1)"
	if [ "$rc" -eq 0 ]; then
		result[$s]=PASS
	else
		result[$s]="FAIL (exit $rc)"
		failed=1
	fi
done
if ! kill -0 "$server_pid" 2>/dev/null; then
	echo "integration.sh: the server exited during the run; last lines of its log:" >&2
	tail -n 40 "$tmp/server.log" >&2
	server_pid=""
	failed=1
fi

echo
log "summary against $target ($addr)"
for s in "${suites[@]}"; do
	printf '%-6s %-16s %s\n' "$s" "${result[$s]:-NOT RUN}" "${counts[$s]:-}"
done
if [ "$failed" -ne 0 ]; then
	if [ -s "$tmp/server.log" ]; then
		echo "(server log: last 20 lines)"
		tail -n 20 "$tmp/server.log"
	fi
	exit 1
fi
exit 0
