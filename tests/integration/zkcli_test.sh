#!/usr/bin/env bash
# Drives Apache ZooKeeper's own shell, zkCli.sh, against a server and checks
# what it prints.
#
# Usage: tests/integration/zkcli_test.sh [HOST:PORT[,HOST:PORT...]]   (or ZK_ADDR=...)
# The server must run with extendedTypesEnabled=true and a container check
# interval of about 1 s. Every test works below its own fresh root path.
#
# Against an ensemble the argument is the connect string of every member and
# ZK_ADDRS lists the members (by default the connect string). Batches use the
# connect string (zkCli.sh picks a member at random) and start with
# "sync /", so that they see what earlier batches wrote through other
# members; single commands go to one member after the other, each after a
# sync on that member.
# Output: one PASS/FAIL line per test, then "N passed, N failed"; the exit
# code is 0 only if every test passed.
#
# zkCli.sh reads commands from stdin when stdin is not a terminal, one JVM
# per batch; its exit code is that of the last command. The banner, blank
# lines and "WATCHER::" lines are dropped before comparing; WatchedEvent
# lines are compared separately (they arrive asynchronously).
set -u

ADDR="${1:-${ZK_ADDR:-127.0.0.1:2181}}"
IFS=, read -r -a MEMBERS <<<"${ZK_ADDRS:-$ADDR}"
ENSEMBLE=0
if [ "${#MEMBERS[@]}" -gt 1 ]; then
	ENSEMBLE=1
fi
next_member=0
ZKCLI=/usr/share/zookeeper/bin/zkCli.sh
R="/zkcli-it-$$-$RANDOM"

passed=0
failed=0
OUT=""    # filtered output of the last batch
EVENTS="" # its WatchedEvent lines other than the initial SyncConnected
RC=0      # its exit code
test_failed=0
test_name=""

# zk runs one zkCli.sh JVM with the given command line (no stdin). In an
# ensemble it goes to the next member in turn, which first syncs (in a JVM
# of its own: a sync catches the member up for every session on it).
zk() {
	local raw server="$ADDR"
	if [ "$ENSEMBLE" -eq 1 ]; then
		server="${MEMBERS[$((next_member % ${#MEMBERS[@]}))]}"
		next_member=$((next_member + 1))
		raw="$(printf '%s\n' "sync /" | "$ZKCLI" -server "$server" 2>&1)"
		if ! printf '%s\n' "$raw" | grep -q -x 'Sync is OK'; then
			fail "sync on $server before '$*' failed:" "$raw"
		fi
	fi
	raw="$("$ZKCLI" -server "$server" "$@" </dev/null 2>&1)"
	RC=$?
	split_output "$raw"
}

# batch runs one zkCli.sh JVM and feeds it the arguments as command lines
# (after a sync in an ensemble, whose "Sync is OK" is dropped from OUT).
batch() {
	local raw
	if [ "$ENSEMBLE" -eq 1 ]; then
		raw="$(printf '%s\n' "sync /" "$@" | "$ZKCLI" -server "$ADDR" 2>&1)"
		RC=$?
		split_output "$raw"
		if [ "$(printf '%s\n' "$OUT" | head -n 1)" != "Sync is OK" ]; then
			fail "the batch's first sync failed:" "$OUT"
		fi
		OUT="$(printf '%s\n' "$OUT" | tail -n +2)"
		return
	fi
	raw="$(printf '%s\n' "$@" | "$ZKCLI" -server "$ADDR" 2>&1)"
	RC=$?
	split_output "$raw"
}

split_output() {
	OUT="$(printf '%s\n' "$1" | grep -v -E \
		-e '^SLF4J:' -e '^Connecting to ' -e '^Welcome to ZooKeeper!$' \
		-e '^JLine support is ' -e '^WATCHER::$' -e '^$' -e '^WatchedEvent ')"
	EVENTS="$(printf '%s\n' "$1" | grep -E '^WatchedEvent ' |
		grep -v -x 'WatchedEvent state:SyncConnected type:None path:null')"
}

fail() {
	test_failed=1
	printf '    %s\n' "$@"
}

# expect_lines WHAT TEXT: compares TEXT line by line with the expected lines
# read from stdin. An expected line starting with "~" is an extended regular
# expression that must match the whole line; any other line must be equal.
expect_lines() {
	local what="$1" text="$2" expected i ok=1
	local -a want got
	expected="$(cat)"
	mapfile -t want <<<"$expected"
	mapfile -t got <<<"$text"
	if [ -z "$text" ]; then got=(); fi
	if [ -z "$expected" ]; then want=(); fi
	if [ "${#want[@]}" -ne "${#got[@]}" ]; then
		ok=0
	else
		for i in "${!want[@]}"; do
			if [[ "${want[$i]}" == "~"* ]]; then
				[[ "${got[$i]}" =~ ^${want[$i]:1}$ ]] || ok=0
			else
				[ "${want[$i]}" = "${got[$i]}" ] || ok=0
			fi
		done
	fi
	if [ "$ok" -ne 1 ]; then
		fail "$what: output differs; want:"
		printf '      | %s\n' "${want[@]}"
		printf '    got:\n'
		printf '      | %s\n' "${got[@]}"
	fi
}

expect_out() { expect_lines "output" "$OUT"; }

# whoami lists the identities in no fixed order: sort_whoami sorts each run
# of its lines in OUT.
sort_whoami() {
	OUT="$(printf '%s\n' "$OUT" | awk '
		/^(ip|digest|super|sasl|x509|world): / { held[n++] = $0; next }
		{ flush(); print }
		END { flush() }
		function flush(  i, j, t) {
			for (i = 0; i < n; i++)
				for (j = i + 1; j < n; j++)
					if (held[j] < held[i]) { t = held[i]; held[i] = held[j]; held[j] = t }
			for (i = 0; i < n; i++) print held[i]
			n = 0
		}')"
}
expect_events() { expect_lines "watch events" "$EVENTS"; }

expect_rc() {
	if [ "$RC" -ne "$1" ]; then
		fail "exit code $RC, want $1"
	fi
}

# stat_lines CVERSION DATAVERSION ACLVERSION OWNER DATALENGTH NUMCHILDREN prints
# the expected lines of a Stat as zkCli prints it; "*" matches any value.
stat_lines() {
	local num='[0-9]+' hex='0x[0-9a-f]+'
	local date='[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [A-Za-z0-9+:_/-]+ [0-9]{4}'
	v() { if [ "$1" = "*" ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
	printf '%s\n' \
		"~cZxid = $hex" \
		"~ctime = $date" \
		"~mZxid = $hex" \
		"~mtime = $date" \
		"~pZxid = $hex" \
		"~cversion = $(v "$1" "$num")" \
		"~dataVersion = $(v "$2" "$num")" \
		"~aclVersion = $(v "$3" "$num")" \
		"~ephemeralOwner = $(v "$4" "$hex")" \
		"~dataLength = $(v "$5" "$num")" \
		"~numChildren = $(v "$6" "$num")"
}

# field NAME prints the value of Stat field NAME in OUT (first occurrence).
field() {
	printf '%s\n' "$OUT" | sed -n "s/^$1 = //p" | head -n 1
}

expect_eq() {
	if [ "$2" != "$3" ]; then
		fail "$1: got '$2', want '$3'"
	fi
}

expect_ne() {
	if [ "$2" = "$3" ]; then
		fail "$1: got '$2', want anything else"
	fi
}

# sorted_list "[a, b]" prints the elements one per line, sorted.
sorted_list() {
	printf '%s\n' "$1" | sed -e 's/^\[//' -e 's/\]$//' | tr ',' '\n' | sed 's/^ //' | grep -v '^$' | LC_ALL=C sort
}

digest_of() {
	printf '%s' "$1" | openssl dgst -binary -sha1 | openssl base64 -A
}

run_test() {
	test_name="$1"
	test_failed=0
	local start=$SECONDS
	"t_$1"
	if [ "$test_failed" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $1 ($((SECONDS - start))s)"
	else
		failed=$((failed + 1))
		echo "FAIL $1 ($((SECONDS - start))s)"
	fi
}

# ---------------------------------------------------------------------------

t_create_get_and_errors() {
	batch "create $R/a data1" "create $R/a again" "create $R/nope/child x" "get $R/a" \
		"get $R/nope" "set $R/nope x" "delete $R/nope" "ls $R/nope" "stat $R/nope" \
		"getAcl $R/nope" "create $R/nodata" "get $R/nodata" "sync $R"
	expect_out <<-EOF
		Created $R/a
		Node already exists: $R/a
		Node does not exist: $R/nope/child
		data1
		Node does not exist: $R/nope
		Node does not exist: $R/nope
		Node does not exist: $R/nope
		Node does not exist: $R/nope
		Node does not exist: $R/nope
		Node does not exist: $R/nope
		Created $R/nodata
		null
		Sync is OK
	EOF
}

t_exit_codes() {
	# One command on the command line; the exit code reports its outcome.
	zk get "$R/does-not-exist"
	expect_rc 1
	expect_out <<<"Node does not exist: $R/does-not-exist"
	zk ls "$R/a"
	expect_rc 0
	expect_out <<<"[]"
	# In a batch the exit code is that of the last command.
	batch "create $R/rc" "create $R/rc"
	expect_rc 1
	expect_out <<-EOF
		Created $R/rc
		Node already exists: $R/rc
	EOF
}

t_stat_format_and_versions() {
	batch "create $R/s hello" "get -s $R/s" "set $R/s two" "set -v 5 $R/s x" "set -v 1 $R/s three" \
		"get -s $R/s" "set -s $R/s four" "stat $R/s"
	local out="$OUT" first second third
	expect_lines "head" "$(printf '%s\n' "$out" | head -n 2)" <<-EOF
		Created $R/s
		hello
	EOF
	OUT="$(printf '%s\n' "$out" | sed -n 3,13p)"
	expect_lines "get -s" "$OUT" <<<"$(stat_lines 0 0 0 0x0 5 0)"
	expect_eq "mZxid of a new node" "$(field mZxid)" "$(field cZxid)"
	expect_eq "pZxid of a new node" "$(field pZxid)" "$(field cZxid)"
	expect_eq "mtime of a new node" "$(field mtime)" "$(field ctime)"
	first="$(field cZxid)"
	expect_lines "set -v with a wrong version" "$(printf '%s\n' "$out" | sed -n 14,15p)" <<-EOF
		version No is not valid : $R/s
		three
	EOF
	OUT="$(printf '%s\n' "$out" | sed -n 16,26p)"
	expect_lines "get -s after two sets" "$OUT" <<<"$(stat_lines 0 2 0 0x0 5 0)"
	expect_eq "cZxid after set" "$(field cZxid)" "$first"
	expect_ne "mZxid after set" "$(field mZxid)" "$first"
	expect_eq "pZxid after set" "$(field pZxid)" "$first"
	# set -s prints the new Stat; stat prints the same one.
	second="$(printf '%s\n' "$out" | sed -n 27,37p)"
	third="$(printf '%s\n' "$out" | sed -n 38,48p)"
	expect_lines "set -s" "$second" <<<"$(stat_lines 0 3 0 0x0 4 0)"
	expect_eq "stat after set -s" "$third" "$second"
	expect_eq "line count" "$(printf '%s\n' "$out" | wc -l)" 48
}

t_sequential_and_ephemeral() {
	batch "create $R/q" "create -s $R/q/n- x" "create -s $R/q/n- y" "create -e $R/q/eph e" \
		"create -s -e $R/q/es- z" "create $R/q/eph/child" "stat $R/q/eph" "getEphemerals $R/q" \
		"ls $R/q" "quit"
	local owner
	owner="$(field ephemeralOwner)"
	expect_out <<-EOF
		Created $R/q
		Created $R/q/n-0000000000
		Created $R/q/n-0000000001
		Created $R/q/eph
		Created $R/q/es-0000000003
		Ephemerals cannot have children: $R/q/eph/child
		$(stat_lines 0 0 0 '*' 1 0)
		~\[.*\]
		[eph, es-0000000003, n-0000000000, n-0000000001]
	EOF
	expect_ne "ephemeralOwner of an ephemeral" "$owner" "0x0"
	local eph
	eph="$(printf '%s\n' "$OUT" | grep -E '^\[/' | head -n 1)"
	expect_eq "getEphemerals" "$(sorted_list "$eph")" "$(printf '%s\n' "$R/q/eph" "$R/q/es-0000000003")"
	# quit closed the session: its ephemerals are gone.
	zk ls "$R/q"
	expect_out <<<"[n-0000000000, n-0000000001]"
}

# Containers and TTL nodes are created here and checked for removal by
# t_container_and_ttl_removed, the last test, so that the wait overlaps
# with the other tests.
t_container_and_ttl_created() {
	batch "create -c $R/cont" "create $R/cont/child" "create -c $R/unused" "create -t 500 $R/ttl" \
		"create -t 500 $R/ttlparent" "create $R/ttlparent/child" "stat $R/cont" "stat $R/ttl" \
		"delete $R/cont/child"
	expect_out <<-EOF
		Created $R/cont
		Created $R/cont/child
		Created $R/unused
		Created $R/ttl
		Created $R/ttlparent
		Created $R/ttlparent/child
		$(stat_lines 1 0 0 0x0 0 1)
		$(stat_lines 0 0 0 0x0 0 0)
	EOF
}

t_ls_variants() {
	batch "create $R/l" "create $R/l/b" "create $R/l/a" "create $R/l/a/x" "create $R/l/c" "delete $R/l/c" \
		"ls $R/l" "ls -s $R/l" "ls -R $R/l" "ls $R/l/a/x"
	expect_out <<-EOF
		Created $R/l
		Created $R/l/b
		Created $R/l/a
		Created $R/l/a/x
		Created $R/l/c
		[a, b]
		[a, b]
		$(stat_lines 4 0 0 0x0 0 2)
		$R/l
		$R/l/a
		$R/l/b
		$R/l/a/x
		[]
	EOF
}

t_delete_variants() {
	batch "create $R/d x" "delete -v 3 $R/d" "delete -v 0 $R/d" "stat $R/d" \
		"create $R/tree" "create $R/tree/a" "create $R/tree/a/b" "create $R/tree/c" \
		"delete $R/tree" "deleteall $R/tree" "ls $R/tree"
	expect_out <<-EOF
		Created $R/d
		version No is not valid : $R/d
		Node does not exist: $R/d
		Created $R/tree
		Created $R/tree/a
		Created $R/tree/a/b
		Created $R/tree/c
		Node not empty: $R/tree
		Node does not exist: $R/tree
	EOF
}

t_acl_world_and_ip() {
	batch "create $R/acl x" "getAcl $R/acl" "setAcl $R/acl world:anyone:r" "getAcl -s $R/acl" \
		"set $R/acl y" "setAcl -v 0 $R/acl world:anyone:cdrwa" "create $R/acl/child" "get $R/acl" \
		"create $R/ip x ip:127.0.0.1:cdrwa" "get $R/ip" "create $R/far x ip:10.1.2.3:cdrwa" "get $R/far" \
		"create $R/badacl x digest:nocolon:cdrwa" "delete $R/far" \
		"create $R/acl2" "setAcl -v 4 $R/acl2 world:anyone:cdr" "setAcl -v 0 $R/acl2 world:anyone:cdr" \
		"getAcl -s $R/acl2"
	expect_out <<-EOF
		Created $R/acl
		'world,'anyone
		: cdrwa
		'world,'anyone
		: r
		$(stat_lines 0 0 1 0x0 1 0)
		Insufficient permission : $R/acl
		Insufficient permission : $R/acl
		Insufficient permission : $R/acl/child
		x
		Created $R/ip
		x
		Created $R/far
		Insufficient permission : $R/far
		KeeperErrorCode = InvalidACL for $R/badacl
		Acl is not valid : $R/badacl
		Created $R/acl2
		version No is not valid : $R/acl2
		'world,'anyone
		: cdr
		$(stat_lines 0 0 1 0x0 0 0)
	EOF
}

t_digest_auth() {
	local hash
	hash="$(digest_of "user1:pw1")"
	batch "addauth digest user1:pw1" "create $R/dg secret" "setAcl $R/dg auth:user1:pw1:cdrwa" "getAcl $R/dg" \
		"get $R/dg" "whoami" "create $R/dg2 other digest:user1:$hash:r"
	sort_whoami
	expect_out <<-EOF
		Created $R/dg
		'digest,'user1:$hash
		: cdrwa
		secret
		Auth scheme: User
		digest: user1
		ip: 127.0.0.1
		Created $R/dg2
	EOF
	batch "get $R/dg" "getAcl $R/dg" "addauth digest user1:wrong" "get $R/dg" "get $R/dg2" "whoami"
	sort_whoami
	expect_out <<-EOF
		Insufficient permission : $R/dg
		Insufficient permission : $R/dg
		Insufficient permission : $R/dg
		Insufficient permission : $R/dg2
		Auth scheme: User
		digest: user1
		ip: 127.0.0.1
	EOF
	batch "addauth digest user1:pw1" "get $R/dg" "get $R/dg2" "set $R/dg2 nope" "delete $R/dg2" "delete $R/dg"
	expect_out <<-EOF
		secret
		other
		Insufficient permission : $R/dg2
	EOF
}

t_whoami_and_auth_failure() {
	# Digest auth accepts any credential, even one without a colon...
	batch "whoami" "addauth digest nocolon" "ls $R/x" "whoami"
	sort_whoami
	expect_out <<-EOF
		Auth scheme: User
		ip: 127.0.0.1
		Node does not exist: $R/x
		Auth scheme: User
		digest: nocolon
		ip: 127.0.0.1
	EOF
	# ...but an unknown scheme fails the session: AuthFailed, then the
	# connection is gone.
	batch "addauth nosuchscheme secret" "ls $R" "ls $R"
	expect_events <<<"WatchedEvent state:AuthFailed type:None path:null"
	expect_out <<-EOF
		KeeperErrorCode = AuthFailed for $R
		Not connected
	EOF
}

t_children_number_and_ephemerals() {
	batch "create $R/n" "create $R/n/a" "create $R/n/a/b" "create $R/n/a/b/c" "create $R/n/d" \
		"getAllChildrenNumber $R/n" "getAllChildrenNumber $R/n/d" "getAllChildrenNumber $R/missing" \
		"create -e $R/n/e1" "create -e $R/n/a/e2" "create -e $R/ne" \
		"getEphemerals $R/n" "getEphemerals" "getEphemerals $R/nothing" "quit"
	expect_lines "creates" "$(printf '%s\n' "$OUT" | head -n 11)" <<-EOF
		Created $R/n
		Created $R/n/a
		Created $R/n/a/b
		Created $R/n/a/b/c
		Created $R/n/d
		4
		0
		Node does not exist: $R/missing
		Created $R/n/e1
		Created $R/n/a/e2
		Created $R/ne
	EOF
	local lists
	mapfile -t lists < <(printf '%s\n' "$OUT" | tail -n +12)
	expect_eq "number of getEphemerals lines" "${#lists[@]}" 3
	# The path is a string prefix, not a subtree: $R/ne matches $R/n.
	expect_eq "getEphemerals $R/n" "$(sorted_list "${lists[0]:-}")" "$(printf '%s\n' "$R/n/a/e2" "$R/n/e1" "$R/ne")"
	# Without a path: every ephemeral of the session.
	expect_eq "getEphemerals" "$(sorted_list "${lists[1]:-}")" "$(printf '%s\n' "$R/n/a/e2" "$R/n/e1" "$R/ne")"
	expect_eq "getEphemerals of a prefix without any" "${lists[2]:-}" "[]"
}

# All watch tests share one zkCli session; each looks at the events of its
# own paths.
watch_batch_done=0
watch_out=""
watch_events=""
run_watch_batch() {
	if [ "$watch_batch_done" -eq 1 ]; then
		return
	fi
	watch_batch_done=1
	batch "create $R/w x" "get -w $R/w" "set $R/w y" "set $R/w z" \
		"create $R/cw" "ls -w $R/cw" "create $R/cw/c1" "create $R/cw/c2" \
		"stat -w $R/later" "create $R/later" "set $R/later l" \
		"addWatch $R/rw" "create $R/rw" "create $R/rw/x" "create $R/rw/x/y" "set $R/rw/x d" \
		"delete $R/rw/x/y" "delete $R/rw/x" "set $R/rw e" \
		"addWatch -m PERSISTENT $R/pw" "create $R/pw" "create $R/pw/c" "set $R/pw/c d" "set $R/pw d" \
		"set $R/pw e" "delete $R/pw/c" "delete $R/pw" "create $R/pw" \
		"create $R/rm" "get -w $R/rm" "removewatches $R/rm -d" "removewatches $R/rm -d" "set $R/rm x" \
		"sync $R" "ls $R/rm"
	watch_out="$OUT"
	watch_events="$EVENTS"
}

# events_for PATH... prints the watch events whose path is one of PATH.
events_for() {
	printf '%s\n' "$watch_events" | awk -v list="$*" '
		BEGIN { n = split(list, want, " "); for (i = 1; i <= n; i++) ok["path:" want[i]] = 1 }
		{ if ($NF in ok) print }'
}

t_one_shot_watches() {
	run_watch_batch
	expect_lines "events" "$(events_for "$R/w" "$R/cw" "$R/later")" <<-EOF
		WatchedEvent state:SyncConnected type:NodeDataChanged path:$R/w
		WatchedEvent state:SyncConnected type:NodeChildrenChanged path:$R/cw
		WatchedEvent state:SyncConnected type:NodeCreated path:$R/later
	EOF
}

t_add_watch_recursive() {
	run_watch_batch
	expect_lines "events" "$(events_for "$R/rw" "$R/rw/x" "$R/rw/x/y")" <<-EOF
		WatchedEvent state:SyncConnected type:NodeCreated path:$R/rw
		WatchedEvent state:SyncConnected type:NodeCreated path:$R/rw/x
		WatchedEvent state:SyncConnected type:NodeCreated path:$R/rw/x/y
		WatchedEvent state:SyncConnected type:NodeDataChanged path:$R/rw/x
		WatchedEvent state:SyncConnected type:NodeDeleted path:$R/rw/x/y
		WatchedEvent state:SyncConnected type:NodeDeleted path:$R/rw/x
		WatchedEvent state:SyncConnected type:NodeDataChanged path:$R/rw
	EOF
}

t_add_watch_persistent() {
	run_watch_batch
	expect_lines "events" "$(events_for "$R/pw" "$R/pw/c")" <<-EOF
		WatchedEvent state:SyncConnected type:NodeCreated path:$R/pw
		WatchedEvent state:SyncConnected type:NodeChildrenChanged path:$R/pw
		WatchedEvent state:SyncConnected type:NodeDataChanged path:$R/pw
		WatchedEvent state:SyncConnected type:NodeDataChanged path:$R/pw
		WatchedEvent state:SyncConnected type:NodeChildrenChanged path:$R/pw
		WatchedEvent state:SyncConnected type:NodeDeleted path:$R/pw
		WatchedEvent state:SyncConnected type:NodeCreated path:$R/pw
	EOF
}

t_remove_watches() {
	run_watch_batch
	expect_lines "events" "$(events_for "$R/rm")" <<<"WatchedEvent state:SyncConnected type:DataWatchRemoved path:$R/rm"
	expect_lines "output" "$(printf '%s\n' "$watch_out" | grep -v '^Created ' | tail -n 4)" <<-EOF
		null
		KeeperErrorCode = No such watcher for $R/rm
		Sync is OK
		[]
	EOF
}

t_quota() {
	batch "create $R/quota" "create $R/quota/a" "create $R/quota/b data" "setquota -n 10 $R/quota" \
		"listquota $R/quota" "create $R/quota/c xyz" "delete $R/quota/a" "listquota $R/quota" \
		"delquota $R/quota" "listquota $R/quota"
	expect_out <<-EOF
		Created $R/quota
		Created $R/quota/a
		Created $R/quota/b
		absolute path is /zookeeper/quota$R/quota/zookeeper_limits
		Output quota for $R/quota count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1
		Output stat for $R/quota count=3,bytes=4
		Created $R/quota/c
		absolute path is /zookeeper/quota$R/quota/zookeeper_limits
		Output quota for $R/quota count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1
		Output stat for $R/quota count=3,bytes=7
		absolute path is /zookeeper/quota$R/quota/zookeeper_limits
		quota for $R/quota does not exist.
	EOF
}

t_container_and_ttl_removed() {
	local deadline=$((SECONDS + 20))
	while :; do
		batch "stat $R/cont" "stat $R/ttl" "ls $R/ttlparent" "ls $R/unused"
		if [ "$OUT" = "$(printf '%s\n' "Node does not exist: $R/cont" "Node does not exist: $R/ttl" "[child]" "[]")" ] ||
			[ "$SECONDS" -ge "$deadline" ]; then
			break
		fi
		sleep 1
	done
	# The container that lost its child and the expired TTL node are gone;
	# a container that never had a child and a TTL node with a child stay.
	expect_out <<-EOF
		Node does not exist: $R/cont
		Node does not exist: $R/ttl
		[child]
		[]
	EOF
}

# ---------------------------------------------------------------------------

cleanup() {
	printf '%s\n' "deleteall $R" "deleteall /zookeeper/quota$R" "quit" | "$ZKCLI" -server "$ADDR" >/dev/null 2>&1
}
trap cleanup EXIT

zk create "$R"
if [ "$OUT" != "Created $R" ]; then
	echo "FAIL setup: could not create $R:"
	printf '    %s\n' "$OUT"
	echo "0 passed, 1 failed"
	exit 1
fi

for t in create_get_and_errors container_and_ttl_created exit_codes stat_format_and_versions \
	sequential_and_ephemeral ls_variants delete_variants acl_world_and_ip digest_auth \
	whoami_and_auth_failure children_number_and_ephemerals one_shot_watches \
	add_watch_recursive add_watch_persistent remove_watches quota container_and_ttl_removed; do
	run_test "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
