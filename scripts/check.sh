#!/usr/bin/env bash
# Runs every gozk test: formatting, vet, unit and end-to-end Go tests, and the
# integration suites with real ZooKeeper clients (zkCli.sh, the Java client,
# kazoo). On a fresh Debian machine it first installs what the tests need.
#
# Usage: scripts/check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

install_deps() {
	local need=()
	[ -f /usr/share/java/zookeeper.jar ] && [ -x /usr/share/zookeeper/bin/zkCli.sh ] || need+=(zookeeper)
	/usr/bin/python3 -c 'import kazoo' 2>/dev/null || need+=(python3-kazoo)
	nc -h 2>&1 | grep -q -- '-N' || need+=(netcat-openbsd)
	command -v javac >/dev/null || need+=(default-jdk-headless)
	# The robustness harness partitions members with iptables (as root).
	command -v iptables >/dev/null || need+=(iptables)
	if [ "${#need[@]}" -gt 0 ]; then
		step "installing Debian packages: ${need[*]}"
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
	fi
}

install_deps

step "go mod download"
go mod download

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"
	echo "$unformatted"
	exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
GOBIN="$PWD/.bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
.bin/staticcheck ./...

step "unit tests, with the race detector"
go test -race -count=1 -timeout 20m ./internal/... ./cmd/...

step "end-to-end, differential, crash and ensemble tests (real server processes)"
go test -count=1 -timeout 30m ./tests/...

step "integration suites (zkCli.sh, Java client, kazoo)"
scripts/integration.sh
