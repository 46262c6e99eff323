#!/usr/bin/python3
"""Integration tests that drive a ZooKeeper-compatible server with kazoo 2.8.

Usage: /usr/bin/python3 tests/integration/kazoo_test.py [HOST:PORT[,HOST:PORT...]]
(or ZK_ADDR=...). The server must run with tickTime=2000,
extendedTypesEnabled=true and a container check interval of about 1 s.

Against an ensemble, the argument is the connect string of every member and
ZK_ADDRS lists the members (HOST:PORT,...; by default the connect string).
Each test's main client uses the connect string; the other clients and the
raw sessions are pinned to one member each, in turn, so that data and watches
cross members. A read through one client of what another wrote is preceded
by a sync, as ZooKeeper only promises that a member has caught up after one.

Every test works below its own fresh path, so the suite can share a server
with other suites. Output: one PASS/FAIL line per test, then
"N passed, N failed"; the exit code is 0 only if every test passed.
"""

import faulthandler
import itertools
import os
import queue
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
import unittest
from collections import namedtuple

from kazoo.client import KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    BadArgumentsError,
    BadVersionError,
    InvalidACLError,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.serialization import (
    int_struct,
    read_string,
    stat_struct,
    write_buffer,
    write_string,
)
from kazoo.protocol.states import EventType, KazooState, ZnodeStat
from kazoo.security import (
    ACL,
    ANYONE_ID_UNSAFE,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    Id,
    Permissions,
    make_digest_acl,
    make_digest_acl_credential,
)

ADDR = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ZK_ADDR", "127.0.0.1:2181"))


def _split_members(text):
    out = []
    for hp in text.split(","):
        host, port = hp.strip().rsplit(":", 1)
        out.append((host, int(port)))
    return out


MEMBERS = _split_members(os.environ.get("ZK_ADDRS") or ADDR)
ENSEMBLE = len(MEMBERS) > 1
_next_member = itertools.count()


def pick_member():
    """The next member in turn (always the one server when standalone)."""
    return MEMBERS[next(_next_member) % len(MEMBERS)]
ROOT = "/kazoo-it-%d-%06d" % (os.getpid(), random.randrange(10**6))

NO_NODE, NODE_EXISTS, BAD_ARGUMENTS, INVALID_ACL, UNIMPLEMENTED = -101, -110, -8, -114, -6

WAIT = 10.0  # seconds to wait for any single expected asynchronous effect


def wait_until(pred, timeout=WAIT, interval=0.05):
    """Polls pred until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def server_version(client):
    """The server's (major, minor, patch), from the srvr four-letter word."""
    m = re.search(r"(?m)^Zookeeper version: (\d+)\.(\d+)\.(\d+)", client.command(b"srvr"))
    if not m:
        raise AssertionError("no version in srvr output")
    return tuple(int(g) for g in m.groups())


def exists_checks_read(version):
    return version >= (3, 9, 2) or (3, 8, 4) <= version < (3, 9, 0)


def parse_blocks(text):
    """Parses listings of key lines, each followed by tab-indented values
    (wchc, wchp, dump) into {key: [values]}."""
    blocks, key = {}, None
    for line in text.splitlines():
        if line.startswith("\t"):
            if key is not None:
                blocks[key].append(line[1:])
        elif line.strip():
            key = line.strip().rstrip(":")
            blocks.setdefault(key, [])
    return blocks


def new_client(hosts=ADDR, **kwargs):
    kwargs.setdefault("timeout", 10.0)
    c = KazooClient(hosts=hosts, **kwargs)
    c.start(timeout=15)
    return c


def peer_of(client):
    """The (host, port) of the server the client is connected to."""
    return client._connection._socket.getpeername()[:2]


def stop_client(c):
    try:
        c.stop()
    finally:
        c.close()


def remove_tree(c, path):
    """Deletes path and everything below it, also below nodes whose ACL
    forbids reading their children (those are taken to be leaves)."""
    try:
        children = c.get_children(path)
    except NoNodeError:
        return
    except NoAuthError:
        children = []
    for child in children:
        remove_tree(c, path + "/" + child)
    try:
        c.delete(path)
    except NoNodeError:
        pass


# ---------------------------------------------------------------------------
# Requests kazoo 2.8 has no API for, sent through its own connection.


def _acl_bytes(acls):
    b = bytearray(int_struct.pack(len(acls)))
    for a in acls:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
    return b


def _read_create2_response(buf, offset):
    path, offset = read_string(buf, offset)
    stat = ZnodeStat._make(stat_struct.unpack_from(buf, offset))
    return path, stat


class CreateContainer(namedtuple("CreateContainer", "path data acl flags")):
    """createContainer (opcode 19): a CreateRequest, answered by a Create2Response."""

    type = 19

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_acl_bytes(self.acl))
        b.extend(int_struct.pack(self.flags))
        return b

    @classmethod
    def deserialize(cls, buf, offset):
        return _read_create2_response(buf, offset)


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    """createTTL (opcode 21): CreateTTLRequest, answered by a Create2Response."""

    type = 21

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_acl_bytes(self.acl))
        b.extend(int_struct.pack(self.flags))
        b.extend(struct.pack("!q", self.ttl))
        return b

    @classmethod
    def deserialize(cls, buf, offset):
        return _read_create2_response(buf, offset)


def raw_call(client, request):
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=WAIT)


def create_container(client, path, data=b""):
    return raw_call(client, CreateContainer(path, data, OPEN_ACL_UNSAFE, 4))


def create_ttl(client, path, ttl_ms, data=b"", flags=5):
    return raw_call(client, CreateTTL(path, data, OPEN_ACL_UNSAFE, flags, ttl_ms))


# ---------------------------------------------------------------------------
# A hand-rolled session on a raw socket, for tests that need a client which
# goes silent (no pings) or presents chosen credentials.


class RawSession:
    def __init__(self, timeout_ms=4000, session_id=0, passwd=b"\0" * 16, last_zxid=0, member=None):
        self.member = member or pick_member()
        self.sock = socket.create_connection(self.member, timeout=WAIT)
        body = struct.pack("!iqiq", 0, last_zxid, timeout_ms, session_id)
        body += write_buffer(passwd) + b"\0"
        self._send(body)
        resp = self._recv()
        self.proto_version, self.timeout, self.session_id = struct.unpack_from("!iiq", resp, 0)
        (n,) = struct.unpack_from("!i", resp, 16)
        self.passwd = resp[20:20 + n]
        self.xid = 0
        if ENSEMBLE and self.timeout > 0:
            # The member has seen every write acknowledged before this.
            err, _ = self.call(9, write_string("/"))
            if err != 0:
                raise AssertionError("sync on a fresh raw session: error %d" % err)

    def _send(self, body):
        self.sock.sendall(struct.pack("!i", len(body)) + body)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed by server")
            buf += chunk
        return buf

    def _recv(self):
        (n,) = struct.unpack("!i", self._recv_exact(4))
        return self._recv_exact(n)

    def create(self, path, data=b"", flags=0, acls=OPEN_ACL_UNSAFE):
        """Sends a create request and returns (err, created path)."""
        self.xid += 1
        body = struct.pack("!ii", self.xid, 1) + write_string(path) + write_buffer(data)
        body += _acl_bytes(acls) + int_struct.pack(flags)
        self._send(body)
        while True:
            resp = self._recv()
            xid, _zxid, err = struct.unpack_from("!iqi", resp, 0)
            if xid == self.xid:
                break
        if err != 0:
            return err, None
        return err, read_string(resp, 16)[0]

    def call(self, opcode, body=b""):
        """Sends a request and returns (err, response body)."""
        self.xid += 1
        self._send(struct.pack("!ii", self.xid, opcode) + body)
        while True:
            resp = self._recv()
            xid, _zxid, err = struct.unpack_from("!iqi", resp, 0)
            if xid == self.xid:
                return err, resp[16:]

    def closed_by_server(self, timeout):
        """Waits up to timeout seconds for the server to close the socket."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(4096):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def abandon(self):
        """Closes the TCP connection without closing the session."""
        self.sock.close()


# ---------------------------------------------------------------------------


class Base(unittest.TestCase):
    def setUp(self):
        self.clients = []
        self.zk = self.client()
        self.path = "%s/%s" % (ROOT, self._testMethodName)
        self.zk.ensure_path(self.path)

    def tearDown(self):
        for c in self.clients[1:]:
            try:
                stop_client(c)
            except Exception:
                pass
        try:
            if self.zk.connected:
                remove_tree(self.zk, self.path)
        finally:
            stop_client(self.zk)

    def client(self, **kwargs):
        """A new client. The first one of a test (self.zk) uses the connect
        string; in an ensemble the others are pinned to one member each, in
        turn, and sync once connected, so that they see every write
        acknowledged before they were created."""
        if ENSEMBLE and self.clients and "hosts" not in kwargs:
            kwargs["hosts"] = "%s:%d" % pick_member()
        c = new_client(**kwargs)
        self.clients.append(c)
        if ENSEMBLE:
            c.sync("/")
        return c

    def p(self, *names):
        return "/".join((self.path,) + names)


class CrudTest(Base):
    def test_create_get_set_delete_versions(self):
        zk = self.zk
        a = self.p("a")
        self.assertEqual(zk.create(a, b"one"), a)
        data, st = zk.get(a)
        self.assertEqual(data, b"one")
        self.assertEqual((st.version, st.cversion, st.aversion), (0, 0, 0))
        self.assertEqual(st.dataLength, 3)
        self.assertEqual(st.numChildren, 0)
        self.assertEqual(st.ephemeralOwner, 0)
        self.assertEqual(st.czxid, st.mzxid)
        self.assertEqual(st.czxid, st.pzxid)
        self.assertEqual(st.ctime, st.mtime)
        self.assertGreater(st.ctime, 1_000_000_000_000)  # milliseconds since the epoch

        st2 = zk.set(a, b"two", version=0)
        self.assertEqual(st2.version, 1)
        self.assertGreater(st2.mzxid, st.mzxid)
        self.assertEqual(st2.czxid, st.czxid)
        self.assertEqual(st2.pzxid, st.pzxid)
        self.assertGreaterEqual(st2.mtime, st.mtime)
        self.assertEqual(st2.dataLength, 3)
        self.assertEqual(zk.get(a)[0], b"two")
        self.assertEqual(zk.exists(a), st2)

        with self.assertRaises(BadVersionError):
            zk.set(a, b"three", version=0)
        self.assertEqual(zk.set(a, b"three", version=-1).version, 2)
        with self.assertRaises(BadVersionError):
            zk.delete(a, version=1)
        zk.delete(a, version=2)
        self.assertIsNone(zk.exists(a))

    def test_errors(self):
        zk = self.zk
        with self.assertRaises(NoNodeError):
            zk.create(self.p("missing", "child"))
        zk.create(self.p("x"))
        with self.assertRaises(NodeExistsError):
            zk.create(self.p("x"))
        with self.assertRaises(NoNodeError):
            zk.get(self.p("nope"))
        with self.assertRaises(NoNodeError):
            zk.set(self.p("nope"), b"")
        with self.assertRaises(NoNodeError):
            zk.delete(self.p("nope"))
        with self.assertRaises(NoNodeError):
            zk.get_children(self.p("nope"))
        self.assertIsNone(zk.exists(self.p("nope")))
        zk.create(self.p("x", "y"))
        with self.assertRaises(NotEmptyError):
            zk.delete(self.p("x"))

    def test_invalid_paths(self):
        # kazoo normalises paths before sending them, so these go raw.
        raw = RawSession(timeout_ms=10000)
        try:
            # The parent (everything before the last slash) is looked up
            # first: a missing parent wins over a malformed name.
            self.assertEqual(raw.create(self.p("x") + "/"), (NO_NODE, None))
            self.assertEqual(raw.create(self.p("y") + "//z"), (NO_NODE, None))
            self.assertEqual(raw.create(self.path + "/"), (BAD_ARGUMENTS, None))
            self.assertEqual(raw.create(self.p(".")), (BAD_ARGUMENTS, None))
            self.assertEqual(raw.create(self.p("..")), (BAD_ARGUMENTS, None))
            self.assertEqual(raw.create(self.p("nul\0char")), (BAD_ARGUMENTS, None))
            self.assertEqual(raw.create("relative"), (BAD_ARGUMENTS, None))
            self.assertEqual(raw.create("/"), (NODE_EXISTS, None))
            # Unknown create mode, and a TTL mode through plain create.
            self.assertEqual(raw.create(self.p("m"), flags=7), (BAD_ARGUMENTS, None))
            self.assertEqual(raw.create(self.p("m"), flags=5), (BAD_ARGUMENTS, None))
            self.assertIsNone(self.zk.exists(self.p("m")))
        finally:
            raw.abandon()

    def test_empty_and_large_data(self):
        zk = self.zk
        zk.create(self.p("empty"))
        data, st = zk.get(self.p("empty"))
        self.assertEqual(data, b"")
        self.assertEqual(st.dataLength, 0)
        big = bytes(random.getrandbits(8) for _ in range(512 * 1024))
        zk.create(self.p("big"), big)
        data, st = zk.get(self.p("big"))
        self.assertEqual(data, big)
        self.assertEqual(st.dataLength, len(big))

    def test_parent_stat_tracks_children(self):
        zk = self.zk
        parent = self.p("parent")
        zk.create(parent, b"pp")
        before = zk.exists(parent)
        _, child_stat = zk.create(self.p("parent", "c1"), include_data=True)
        after = zk.exists(parent)
        self.assertEqual(after.cversion, 1)
        self.assertEqual(after.numChildren, 1)
        self.assertEqual(after.pzxid, child_stat.czxid)
        self.assertEqual(after.mzxid, before.mzxid)
        self.assertEqual(after.version, 0)
        zk.delete(self.p("parent", "c1"))
        gone = zk.exists(parent)
        self.assertEqual(gone.cversion, 2)
        self.assertEqual(gone.numChildren, 0)
        self.assertGreater(gone.pzxid, child_stat.czxid)
        # Data changes of a child do not touch the parent.
        zk.create(self.p("parent", "c2"))
        mid = zk.exists(parent)
        zk.set(self.p("parent", "c2"), b"new")
        self.assertEqual(zk.exists(parent), mid)

    def test_create_include_data(self):
        path, st = self.zk.create(self.p("withstat"), b"abc", include_data=True)
        self.assertEqual(path, self.p("withstat"))
        self.assertEqual(st.dataLength, 3)
        self.assertEqual(st, self.zk.exists(path))

    def test_sequential(self):
        zk = self.zk
        base = self.p("seq")
        zk.create(base)
        first = zk.create(base + "/n-", b"1", sequence=True)
        second = zk.create(base + "/n-", b"2", sequence=True)
        self.assertEqual(first, base + "/n-0000000000")
        self.assertEqual(second, base + "/n-0000000001")
        # The suffix counts the children ever created under the parent;
        # deletes do not advance it, although they do advance the cversion
        # that clients see (creates + deletes).
        zk.create(base + "/plain")
        zk.delete(base + "/plain")
        self.assertEqual(zk.exists(base).cversion, 4)
        third = zk.create(base + "/", sequence=True)
        self.assertEqual(third, base + "/0000000003")
        self.assertEqual(zk.exists(base).cversion, 5)
        zk.delete(first)
        zk.delete(second)
        fourth = zk.create(base + "/n-", sequence=True)
        self.assertEqual(fourth, base + "/n-0000000004")
        self.assertEqual(zk.exists(base).cversion, 8)
        self.assertEqual(sorted(zk.get_children(base)), ["0000000003", "n-0000000004"])

    def test_ensure_path(self):
        zk = self.zk
        deep = self.p("a", "b", "c")
        self.assertTrue(zk.ensure_path(deep))
        self.assertIsNotNone(zk.exists(deep))
        zk.ensure_path(deep)  # idempotent
        self.assertEqual(zk.get_children(self.p("a")), ["b"])

    def test_get_children_with_stat(self):
        zk = self.zk
        for name in ("c", "a", "b"):
            zk.create(self.p(name))
        children, st = zk.get_children(self.path, include_data=True)
        self.assertEqual(sorted(children), ["a", "b", "c"])
        self.assertEqual(st.numChildren, 3)
        self.assertEqual(st.cversion, 3)
        self.assertEqual(st, zk.exists(self.path))
        self.assertEqual(zk.get_children(self.p("a")), [])

    def test_delete_recursive(self):
        zk = self.zk
        zk.ensure_path(self.p("r", "x", "y"))
        zk.create(self.p("r", "z"))
        zk.delete(self.p("r"), recursive=True)
        self.assertIsNone(zk.exists(self.p("r")))

    def test_sync(self):
        self.zk.create(self.p("s"))
        self.assertEqual(self.zk.sync(self.p("s")), self.p("s"))

    def test_root_and_zookeeper_node(self):
        zk = self.zk
        self.assertIn("zookeeper", zk.get_children("/"))
        self.assertIsNotNone(zk.exists("/"))
        self.assertIsNotNone(zk.exists("/zookeeper"))
        with self.assertRaises(BadArgumentsError):
            zk.delete("/")


class EphemeralTest(Base):
    def test_ephemeral_owner_and_close(self):
        other = self.client()
        e = self.p("eph")
        other.create(e, b"x", ephemeral=True)
        self.zk.sync(e)
        st = self.zk.exists(e)
        self.assertEqual(st.ephemeralOwner, other.client_id[0])
        with self.assertRaises(NoChildrenForEphemeralsError):
            self.zk.create(e + "/child")
        seq = other.create(self.p("eseq-"), ephemeral=True, sequence=True)
        self.assertTrue(seq.endswith("0000000001"), seq)
        gone = threading.Event()

        def watcher(event):
            if event.type == EventType.DELETED and event.path == e:
                gone.set()

        self.assertIsNotNone(self.zk.exists(e, watch=watcher))
        other.stop()
        self.assertTrue(gone.wait(WAIT), "no NodeDeleted event after the owner closed its session")
        self.assertIsNone(self.zk.exists(e))
        self.assertIsNone(self.zk.exists(seq))

    def test_session_expiry_removes_ephemerals(self):
        raw = RawSession(timeout_ms=4000)
        self.assertNotEqual(raw.session_id, 0)
        self.assertEqual(raw.timeout, 4000)
        e = self.p("expiring")
        err, created = raw.create(e, b"raw", flags=1)
        self.assertEqual((err, created), (0, e))
        self.zk.sync(e)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, raw.session_id)
        deleted = threading.Event()
        self.zk.exists(e, watch=lambda ev: ev.type == EventType.DELETED and deleted.set())
        # The raw session now goes silent: no pings, no requests.
        self.assertTrue(deleted.wait(20), "ephemeral of a silent 4 s session still there after 20 s")
        self.assertIsNone(self.zk.exists(e))
        self.assertTrue(raw.closed_by_server(10), "server kept the expired session's socket open")
        # Resuming the expired session is refused: timeout 0, session id 0.
        again = RawSession(timeout_ms=4000, session_id=raw.session_id, passwd=raw.passwd)
        self.assertEqual((again.timeout, again.session_id), (0, 0))
        self.assertTrue(again.closed_by_server(10))

    def test_timeout_negotiation(self):
        low = RawSession(timeout_ms=1000)
        high = RawSession(timeout_ms=1_000_000)
        try:
            self.assertEqual(low.timeout, 4000)  # 2 x tickTime
            self.assertEqual(high.timeout, 40000)  # 20 x tickTime
            self.assertEqual(len(low.passwd), 16)
            self.assertNotEqual(low.session_id, high.session_id)
        finally:
            low.abandon()
            high.abandon()

    def test_reconnect_resumes_session(self):
        raw = RawSession(timeout_ms=10000)
        e = self.p("kept")
        self.assertEqual(raw.create(e, flags=1), (0, e))
        raw.abandon()  # TCP gone, session alive
        resumed = self.client(client_id=(raw.session_id, raw.passwd))
        self.assertEqual(resumed.client_id[0], raw.session_id)
        self.zk.sync(e)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, raw.session_id)
        # The resumed session owns the node: it may delete and recreate it.
        resumed.delete(e)
        resumed.create(e, ephemeral=True)
        self.zk.sync(e)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, raw.session_id)
        resumed.stop()
        self.assertTrue(wait_until(lambda: self.zk.exists(e) is None))

    def test_close_session_is_answered(self):
        # Every closeSession gets its reply before the server closes the
        # connection; clients (kazoo's stop(), the Java client's close())
        # wait for it. Many rounds, as a lost reply is a race.
        lost = 0
        for i in range(200):
            raw = RawSession(timeout_ms=10000)
            try:
                if i % 2:
                    self.assertEqual(raw.call(3, write_string(self.path) + b"\0")[0], 0)  # exists
                self.assertEqual(raw.call(-11), (0, b""))
                self.assertTrue(raw.closed_by_server(10))
            except EOFError:
                lost += 1
            finally:
                raw.sock.close()
        self.assertEqual(lost, 0, "connection closed before the closeSession reply in %d of 200 rounds" % lost)

    def test_unknown_opcode(self):
        raw = RawSession(timeout_ms=10000)
        e = self.p("still-here")
        self.assertEqual(raw.create(e, flags=1), (0, e))
        # Unimplemented, then the server drops the connection (not the session).
        self.assertEqual(raw.call(999), (UNIMPLEMENTED, b""))
        self.assertTrue(raw.closed_by_server(10))
        self.zk.sync(e)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, raw.session_id)
        again = RawSession(timeout_ms=10000, session_id=raw.session_id, passwd=raw.passwd)
        self.assertEqual(again.session_id, raw.session_id)
        again.abandon()

    def test_resume_closes_old_connection(self):
        # Both connections on one member: what happens to the old connection
        # when the session moves to another member is checked apart.
        first = RawSession(timeout_ms=10000)
        second = RawSession(timeout_ms=10000, session_id=first.session_id, passwd=first.passwd, member=first.member)
        try:
            self.assertEqual(second.session_id, first.session_id)
            self.assertEqual(second.passwd, first.passwd)
            self.assertTrue(first.closed_by_server(10), "the old connection of a resumed session stays open")
            e = self.p("second")
            self.assertEqual(second.create(e, flags=1), (0, e))
            self.zk.sync(e)
            self.assertEqual(self.zk.exists(e).ephemeralOwner, first.session_id)
        finally:
            first.sock.close()
            second.abandon()

    def test_wrong_password_refused(self):
        live = RawSession(timeout_ms=10000)
        try:
            bad = bytes(b ^ 0xFF for b in live.passwd)
            wrong = RawSession(timeout_ms=10000, session_id=live.session_id, passwd=bad)
            self.assertEqual((wrong.timeout, wrong.session_id), (0, 0))
            self.assertTrue(wrong.closed_by_server(10))
        finally:
            live.abandon()

    def test_broken_connection_keeps_session(self):
        zk = self.client()
        sid = zk.client_id[0]
        e = self.p("survivor")
        w = self.p("watched")
        zk.create(e, ephemeral=True)
        self.zk.create(w, b"0")
        states = queue.Queue()
        zk.add_listener(states.put)
        events = queue.Queue()
        zk.sync(w)
        zk.get(w, watch=events.put)
        zk._connection._socket.shutdown(socket.SHUT_RDWR)
        self.assertEqual(states.get(timeout=WAIT), KazooState.SUSPENDED)
        self.assertEqual(states.get(timeout=WAIT), KazooState.CONNECTED)
        self.assertEqual(zk.client_id[0], sid)
        self.zk.sync(e)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, sid)
        # kazoo 2.8 drops its watches on a disconnection (it has no
        # setWatches) and tells them so with a NONE event.
        ev = events.get(timeout=WAIT)
        self.assertEqual(ev.type, EventType.NONE)
        zk.get(w, watch=events.put)
        self.zk.set(w, b"1")
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.CHANGED, w))


class WatchTest(Base):
    def test_data_watch_fires_once(self):
        zk, other = self.zk, self.client()
        a = self.p("a")
        zk.create(a, b"0")
        events = queue.Queue()
        zk.get(a, watch=events.put)
        other.set(a, b"1")
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path, ev.state), (EventType.CHANGED, a, "CONNECTED"))
        other.set(a, b"2")
        other.sync(a)
        zk.sync(a)
        self.assertTrue(events.empty(), "a one-shot watch fired twice")

    def test_exists_watch_created_and_deleted(self):
        zk, other = self.zk, self.client()
        a = self.p("later")
        events = queue.Queue()
        self.assertIsNone(zk.exists(a, watch=events.put))
        other.create(a)
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.CREATED, a))
        zk.exists(a, watch=events.put)
        other.delete(a)
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.DELETED, a))

    def test_get_watch_on_delete(self):
        zk, other = self.zk, self.client()
        a = self.p("a")
        zk.create(a)
        events = queue.Queue()
        zk.get(a, watch=events.put)
        other.delete(a)
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.DELETED, a))

    def test_child_watch(self):
        zk, other = self.zk, self.client()
        events = queue.Queue()
        self.assertEqual(zk.get_children(self.path, watch=events.put), [])
        other.create(self.p("c1"))
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.CHILD, self.path))
        # A data change on the parent does not fire a child watch.
        zk.get_children(self.path, watch=events.put)
        other.set(self.path, b"data")
        other.sync(self.path)
        zk.sync(self.path)
        self.assertTrue(events.empty())
        other.delete(self.p("c1"))
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.CHILD, self.path))
        # Deleting the watched node itself fires NodeDeleted at the child watch.
        zk.create(self.p("gone"))
        zk.get_children(self.p("gone"), watch=events.put)
        other.delete(self.p("gone"))
        ev = events.get(timeout=WAIT)
        self.assertEqual((ev.type, ev.path), (EventType.DELETED, self.p("gone")))

    def test_child_data_change_does_not_fire_parent_watches(self):
        zk, other = self.zk, self.client()
        zk.create(self.p("c"))
        events = queue.Queue()
        zk.get(self.path, watch=events.put)
        zk.get_children(self.path, watch=events.put)
        other.set(self.p("c"), b"x")
        other.sync(self.path)
        zk.sync(self.path)
        self.assertTrue(events.empty())

    def test_watches_fire_in_order(self):
        zk, other = self.zk, self.client()
        events = queue.Queue()
        for name in ("a", "b", "c"):
            zk.create(self.p(name))
            zk.get(self.p(name), watch=events.put)
        other.set(self.p("b"), b"1")
        other.delete(self.p("c"))
        other.set(self.p("a"), b"1")
        got = [events.get(timeout=WAIT) for _ in range(3)]
        self.assertEqual(
            [(e.type, e.path) for e in got],
            [(EventType.CHANGED, self.p("b")), (EventType.DELETED, self.p("c")), (EventType.CHANGED, self.p("a"))],
        )

    def test_data_watch_recipe(self):
        zk, other = self.zk, self.client()
        a = self.p("dw")
        zk.create(a, b"v0")
        calls = queue.Queue()

        @zk.DataWatch(a)
        def watcher(data, stat, event):
            calls.put((data, stat.version if stat else None, event.type if event else None))

        self.assertEqual(calls.get(timeout=WAIT), (b"v0", 0, None))
        other.set(a, b"v1")
        self.assertEqual(calls.get(timeout=WAIT), (b"v1", 1, EventType.CHANGED))
        other.delete(a)
        self.assertEqual(calls.get(timeout=WAIT), (None, None, EventType.DELETED))
        other.create(a, b"again")
        self.assertEqual(calls.get(timeout=WAIT), (b"again", 0, EventType.CREATED))

    def test_children_watch_recipe(self):
        zk, other = self.zk, self.client()
        calls = queue.Queue()

        @zk.ChildrenWatch(self.path, send_event=True)
        def watcher(children, event):
            calls.put((sorted(children), event.type if event else None))

        self.assertEqual(calls.get(timeout=WAIT), ([], None))
        other.create(self.p("x"))
        self.assertEqual(calls.get(timeout=WAIT), (["x"], EventType.CHILD))
        other.create(self.p("y"))
        self.assertEqual(calls.get(timeout=WAIT), (["x", "y"], EventType.CHILD))
        other.delete(self.p("x"))
        self.assertEqual(calls.get(timeout=WAIT), (["y"], EventType.CHILD))


class TransactionTest(Base):
    def test_committed(self):
        zk = self.zk
        zk.create(self.p("set"), b"0")
        zk.create(self.p("check"))
        zk.create(self.p("del"))
        t = zk.transaction()
        t.create(self.p("new"), b"n")
        t.set_data(self.p("set"), b"1", version=0)
        t.check(self.p("check"), 0)
        t.delete(self.p("del"))
        t.create(self.p("seq-"), sequence=True)
        results = t.commit()
        self.assertEqual(len(results), 5)
        self.assertEqual(results[0], self.p("new"))
        self.assertIsInstance(results[1], ZnodeStat)
        self.assertEqual(results[1].version, 1)
        self.assertEqual(results[2:4], [True, True])
        # three creates before, one in this multi: the delete does not count
        self.assertEqual(results[4], self.p("seq-0000000004"))
        self.assertEqual(zk.get(self.p("set"))[0], b"1")
        self.assertIsNone(zk.exists(self.p("del")))
        # All ops of a multi share one zxid.
        new_stat = zk.exists(self.p("new"))
        self.assertEqual(new_stat.czxid, results[1].mzxid)

    def test_failed_rolls_back(self):
        zk = self.zk
        zk.create(self.p("x"), b"0")
        t = zk.transaction()
        t.create(self.p("a"))
        t.set_data(self.p("x"), b"1")
        t.check(self.p("x"), 7)
        t.create(self.p("b"))
        results = t.commit()
        self.assertEqual(len(results), 4)
        self.assertIsInstance(results[0], RolledBackError)
        self.assertIsInstance(results[1], RolledBackError)
        self.assertIsInstance(results[2], BadVersionError)
        self.assertIsInstance(results[3], RuntimeInconsistency)
        self.assertIsNone(zk.exists(self.p("a")))
        self.assertIsNone(zk.exists(self.p("b")))
        self.assertEqual(zk.get(self.p("x")), (b"0", zk.exists(self.p("x"))))
        self.assertEqual(zk.exists(self.p("x")).version, 0)

    def test_failed_first_op(self):
        zk = self.zk
        zk.create(self.p("exists"))
        t = zk.transaction()
        t.create(self.p("exists"))
        t.delete(self.p("missing"))
        results = t.commit()
        self.assertEqual(len(results), 2)
        self.assertIsInstance(results[0], NodeExistsError)
        self.assertIsInstance(results[1], RuntimeInconsistency)

    def test_ops_see_earlier_ops(self):
        zk = self.zk
        t = zk.transaction()
        t.create(self.p("p"))
        t.create(self.p("p", "c"), b"c")
        t.set_data(self.p("p", "c"), b"d", version=0)
        t.check(self.p("p", "c"), 1)
        t.delete(self.p("p", "c"))
        results = t.commit()
        self.assertEqual(results[0:2], [self.p("p"), self.p("p", "c")])
        self.assertEqual(results[2].version, 1)
        self.assertEqual(results[3:], [True, True])
        self.assertEqual(zk.get_children(self.p("p")), [])
        # A failed op later in the batch undoes the visible earlier ones.
        t = zk.transaction()
        t.create(self.p("p", "c2"))
        t.delete(self.p("p"))
        results = t.commit()
        self.assertIsInstance(results[0], RolledBackError)
        self.assertIsInstance(results[1], NotEmptyError)
        self.assertEqual(zk.get_children(self.p("p")), [])

    def test_watch_events_after_commit(self):
        zk, other = self.zk, self.client()
        zk.create(self.p("w"))
        events = queue.Queue()
        zk.get(self.p("w"), watch=events.put)
        zk.get_children(self.path, watch=events.put)
        t = other.transaction()
        t.set_data(self.p("w"), b"x")
        t.create(self.p("n"))
        t.commit()
        got = sorted((e.type, e.path) for e in (events.get(timeout=WAIT), events.get(timeout=WAIT)))
        self.assertEqual(got, sorted([(EventType.CHANGED, self.p("w")), (EventType.CHILD, self.path)]))


class AclTest(Base):
    def test_digest(self):
        acl = make_digest_acl("alice", "secret", all=True)
        self.assertEqual(acl.id.id, make_digest_acl_credential("alice", "secret"))
        self.zk.create(self.p("d"), b"private", acl=[acl])
        anon = self.client()
        with self.assertRaises(NoAuthError):
            anon.get(self.p("d"))
        with self.assertRaises(NoAuthError):
            anon.set(self.p("d"), b"x")
        with self.assertRaises(NoAuthError):
            anon.get_children(self.p("d"))
        with self.assertRaises(NoAuthError):
            anon.create(self.p("d", "c"))
        # exists needs READ since ZooKeeper 3.8.4 and 3.9.2 (ZOOKEEPER-2590);
        # before, it was not ACL-checked at all. A missing node is never
        # refused.
        if exists_checks_read(server_version(anon)):
            with self.assertRaises(NoAuthError):
                anon.exists(self.p("d"))
        else:
            self.assertIsNotNone(anon.exists(self.p("d")))
        self.assertIsNone(anon.exists(self.p("d", "missing")))
        with self.assertRaises(NoAuthError):  # getACL needs READ or ADMIN
            anon.get_acls(self.p("d"))
        wrong = self.client()
        wrong.add_auth("digest", "alice:wrong")  # digest auth itself succeeds...
        with self.assertRaises(NoAuthError):  # ...but grants nothing
            wrong.get(self.p("d"))
        alice = self.client()
        alice.add_auth("digest", "alice:secret")
        self.assertEqual(alice.get(self.p("d"))[0], b"private")
        acls, st = alice.get_acls(self.p("d"))
        self.assertEqual(acls, [acl])
        self.assertEqual(st.aversion, 0)
        alice.set(self.p("d"), b"changed")
        self.assertEqual(alice.get(self.p("d"))[0], b"changed")
        # auth_data at connection time works as well
        early = self.client(auth_data=[("digest", "alice:secret")])
        self.assertEqual(early.get(self.p("d"))[0], b"changed")

    def test_set_acls_versions(self):
        zk = self.zk
        zk.create(self.p("n"))
        acls, st = zk.get_acls(self.p("n"))
        self.assertEqual(acls, OPEN_ACL_UNSAFE)
        self.assertEqual(st.aversion, 0)
        with self.assertRaises(BadVersionError):
            zk.set_acls(self.p("n"), OPEN_ACL_UNSAFE, version=3)
        read_only = [ACL(Permissions.READ, ANYONE_ID_UNSAFE)]
        st = zk.set_acls(self.p("n"), read_only, version=0)
        self.assertEqual(st.aversion, 1)
        self.assertEqual(st.version, 0)
        self.assertEqual(zk.get_acls(self.p("n")), (read_only, zk.exists(self.p("n"))))
        with self.assertRaises(NoAuthError):
            zk.set(self.p("n"), b"x")
        # The permission check comes before the version check.
        with self.assertRaises(NoAuthError):
            zk.set(self.p("n"), b"x", version=42)
        with self.assertRaises(NoAuthError):
            zk.set_acls(self.p("n"), OPEN_ACL_UNSAFE)  # needs ADMIN
        with self.assertRaises(NoAuthError):
            zk.set_acls(self.p("n"), OPEN_ACL_UNSAFE, version=42)
        self.assertEqual(zk.get(self.p("n"))[0], b"")
        self.assertEqual(zk.exists(self.p("n")).aversion, 1)

    def test_create_and_delete_permissions_are_on_the_parent(self):
        zk = self.zk
        no_delete = [ACL(Permissions.READ | Permissions.CREATE | Permissions.ADMIN, ANYONE_ID_UNSAFE)]
        zk.create(self.p("p"), acl=no_delete)
        zk.create(self.p("p", "c"))
        with self.assertRaises(NoAuthError):
            zk.delete(self.p("p", "c"))
        no_create = [ACL(Permissions.ALL & ~Permissions.CREATE, ANYONE_ID_UNSAFE)]
        zk.create(self.p("q"), acl=no_create)
        with self.assertRaises(NoAuthError):
            zk.create(self.p("q", "c"))
        zk.delete(self.p("q"))  # our own delete is governed by the parent's ACL
        zk.set_acls(self.p("p"), OPEN_ACL_UNSAFE)  # so tearDown can clean up

    def test_get_acl_redacts_digests_without_admin(self):
        acl = make_digest_acl("carol", "pw", all=True)
        self.zk.create(self.p("r"), acl=[acl, ACL(Permissions.READ, ANYONE_ID_UNSAFE)])
        self.zk.create(self.p("a"), acl=[acl, ACL(Permissions.ADMIN, ANYONE_ID_UNSAFE)])
        self.zk.create(self.p("w"), acl=[acl, ACL(Permissions.WRITE, ANYONE_ID_UNSAFE)])
        acls, _ = self.zk.get_acls(self.p("r"))
        self.assertEqual(acls, [ACL(Permissions.ALL, Id("digest", "carol:x")), ACL(Permissions.READ, ANYONE_ID_UNSAFE)])
        acls, _ = self.zk.get_acls(self.p("a"))
        self.assertEqual(acls, [acl, ACL(Permissions.ADMIN, ANYONE_ID_UNSAFE)])
        with self.assertRaises(NoAuthError):
            self.zk.get_acls(self.p("w"))
        carol = self.client(auth_data=[("digest", "carol:pw")])
        self.assertEqual(carol.get_acls(self.p("r"))[0][0], acl)

    def test_auth_scheme(self):
        anon = self.client()
        with self.assertRaises(InvalidACLError):
            anon.create(self.p("creator"), acl=CREATOR_ALL_ACL)
        bob = self.client()
        bob.add_auth("digest", "bob:pw")
        bob.create(self.p("creator"), acl=CREATOR_ALL_ACL)
        acls, _ = bob.get_acls(self.p("creator"))
        self.assertEqual(acls, [ACL(Permissions.ALL, Id("digest", make_digest_acl_credential("bob", "pw")))])
        anon.sync(self.p("creator"))
        with self.assertRaises(NoAuthError):
            anon.get(self.p("creator"))
        bob.get(self.p("creator"))
        with self.assertRaises(InvalidACLError):
            anon.create(self.p("bad"), acl=[ACL(Permissions.ALL, Id("digest", "nocolon"))])
        with self.assertRaises(InvalidACLError):
            anon.create(self.p("bad"), acl=[ACL(Permissions.ALL, Id("nosuchscheme", "x"))])
        self.assertIsNone(anon.exists(self.p("bad")))
        # kazoo replaces an empty ACL list by its default, so send it raw.
        raw = RawSession(timeout_ms=10000)
        try:
            self.assertEqual(raw.create(self.p("bad"), acls=[]), (INVALID_ACL, None))
        finally:
            raw.abandon()

    def test_auth_failure(self):
        c = self.client()
        states = queue.Queue()
        c.add_listener(states.put)
        # Digest accepts any credential, even one without a colon...
        self.assertTrue(c.add_auth("digest", "nocolon"))
        # ...but an unknown scheme fails the session.
        with self.assertRaises(AuthFailedError):
            c.add_auth("nosuchscheme", "secret")
        self.assertEqual(states.get(timeout=WAIT), KazooState.LOST)

    def test_ip_scheme(self):
        zk = self.zk
        zk.create(self.p("local"), b"l", acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.1"))])
        zk.create(self.p("net"), b"n", acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.0/8"))])
        zk.create(self.p("far"), b"f", acl=[ACL(Permissions.ALL, Id("ip", "10.1.2.3"))])
        self.assertEqual(zk.get(self.p("local"))[0], b"l")
        self.assertEqual(zk.get(self.p("net"))[0], b"n")
        with self.assertRaises(NoAuthError):
            zk.get(self.p("far"))


class ExtendedTypesTest(Base):
    def test_container_removed_after_last_child(self):
        zk = self.zk
        c = self.p("container")
        path, st = create_container(zk, c, b"cdata")
        self.assertEqual(path, c)
        # The container marker stays inside the server: clients see 0.
        self.assertEqual(st.ephemeralOwner, 0)
        self.assertEqual(st, zk.exists(c))
        self.assertEqual(zk.get(c)[0], b"cdata")
        zk.create(c + "/child")
        time.sleep(2.5)  # more than two check intervals: a container with a child stays
        self.assertIsNotNone(zk.exists(c))
        deleted = threading.Event()
        zk.exists(c, watch=lambda ev: ev.type == EventType.DELETED and deleted.set())
        zk.delete(c + "/child")
        self.assertTrue(deleted.wait(15), "container still there 15 s after its last child went")
        self.assertIsNone(zk.exists(c))

    def test_never_used_container_stays(self):
        zk = self.zk
        c = self.p("unused")
        create_container(zk, c)
        time.sleep(3.5)
        self.assertIsNotNone(zk.exists(c))
        with self.assertRaises(NodeExistsError):
            create_container(zk, c)

    def test_container_needs_parent(self):
        with self.assertRaises(NoNodeError):
            create_container(self.zk, self.p("no", "parent"))

    def test_ttl_node_expires(self):
        zk = self.zk
        t = self.p("ttl")
        path, st = create_ttl(zk, t, 500, b"t")
        self.assertEqual(path, t)
        self.assertEqual(st.ephemeralOwner, 0)  # the TTL is not shown to clients
        self.assertEqual(st, zk.exists(t))
        self.assertEqual(zk.get(t)[0], b"t")
        self.assertTrue(wait_until(lambda: zk.exists(t) is None, timeout=15),
                        "TTL node still there 15 s after a 500 ms TTL")

    def test_ttl_node_with_children_stays(self):
        zk = self.zk
        t = self.p("ttlparent")
        create_ttl(zk, t, 200)
        zk.create(t + "/child")
        time.sleep(3)
        self.assertIsNotNone(zk.exists(t))
        zk.delete(t + "/child")
        self.assertTrue(wait_until(lambda: zk.exists(t) is None, timeout=15))

    def test_ttl_sequential(self):
        path, st = create_ttl(self.zk, self.p("tseq-"), 60000, flags=6)
        self.assertEqual(path, self.p("tseq-0000000000"))
        self.assertEqual(st.ephemeralOwner, 0)

    def test_ttl_bad_arguments(self):
        with self.assertRaises(BadArgumentsError):
            create_ttl(self.zk, self.p("zero"), 0)
        with self.assertRaises(BadArgumentsError):
            create_ttl(self.zk, self.p("negative"), -5)
        with self.assertRaises(BadArgumentsError):
            create_ttl(self.zk, self.p("notttlmode"), 1000, flags=0)
        self.assertIsNone(self.zk.exists(self.p("zero")))


class RecipeTest(Base):
    def test_lock(self):
        a, b = self.client(), self.client()
        la = a.Lock(self.p("lock"), "a")
        lb = b.Lock(self.p("lock"), "b")
        self.assertTrue(la.acquire(timeout=WAIT))
        self.assertFalse(lb.acquire(blocking=False))
        # b removed its node through its own server; a reads from another
        # member of an ensemble, which may not have applied that yet.
        a.sync(self.p("lock"))
        self.assertEqual(la.contenders(), ["a"])
        got = threading.Event()

        def take():
            if lb.acquire(timeout=WAIT):
                got.set()

        t = threading.Thread(target=take)
        t.start()
        self.assertTrue(wait_until(lambda: len(la.contenders()) == 2))
        self.assertEqual(la.contenders(), ["a", "b"])
        self.assertFalse(got.is_set())
        la.release()
        t.join(WAIT)
        self.assertTrue(got.is_set())
        self.assertEqual(lb.contenders(), ["b"])
        # The holder's session ending frees the lock too.
        b.stop()
        self.assertTrue(la.acquire(timeout=WAIT))
        la.release()

    def test_election(self):
        a, b = self.client(), self.client()
        ea = a.Election(self.p("election"), "a")
        eb = b.Election(self.p("election"), "b")
        leaders = queue.Queue()
        release_a = threading.Event()

        def lead(name, until):
            leaders.put(name)
            until.wait(WAIT)

        ta = threading.Thread(target=ea.run, args=(lead, "a", release_a))
        ta.start()
        self.assertEqual(leaders.get(timeout=WAIT), "a")
        release_b = threading.Event()
        tb = threading.Thread(target=eb.run, args=(lead, "b", release_b))
        tb.start()
        self.assertTrue(wait_until(lambda: ea.contenders() == ["a", "b"]))
        self.assertTrue(leaders.empty())
        release_a.set()
        ta.join(WAIT)
        self.assertEqual(leaders.get(timeout=WAIT), "b")
        self.assertEqual(eb.contenders(), ["b"])
        release_b.set()
        tb.join(WAIT)
        self.assertFalse(tb.is_alive())
        a.sync(self.p("election"))
        self.assertEqual(ea.contenders(), [])

    def test_barrier(self):
        a, b = self.client(), self.client()
        barrier = a.Barrier(self.p("barrier"))
        barrier.create()
        b.sync(self.p("barrier"))
        self.assertFalse(b.Barrier(self.p("barrier")).wait(0.5))
        result = queue.Queue()
        t = threading.Thread(target=lambda: result.put(b.Barrier(self.p("barrier")).wait(WAIT)))
        t.start()
        time.sleep(0.3)
        barrier.remove()
        self.assertTrue(result.get(timeout=WAIT))
        t.join(WAIT)

    def test_double_barrier(self):
        clients = [self.client() for _ in range(3)]
        log = queue.Queue()

        def member(i, c):
            db = c.DoubleBarrier(self.p("dbarrier"), 3, identifier="m%d" % i)
            db.enter()
            log.put(("in", i))
            db.leave()
            log.put(("out", i))

        threads = [threading.Thread(target=member, args=(i, c)) for i, c in enumerate(clients[:2])]
        for t in threads:
            t.start()
        time.sleep(0.5)
        self.assertTrue(log.empty(), "entered the double barrier before everyone arrived")
        last = threading.Thread(target=member, args=(2, clients[2]))
        last.start()
        threads.append(last)
        for t in threads:
            t.join(WAIT)
        entries = [log.get(timeout=1) for _ in range(6)]
        self.assertEqual(sorted(entries), sorted([("in", i) for i in range(3)] + [("out", i) for i in range(3)]))
        self.zk.sync(self.p("dbarrier"))
        self.assertEqual(self.zk.get_children(self.p("dbarrier")), [])

    def test_counter(self):
        a, b = self.client(), self.client()
        counter = a.Counter(self.p("counter"))
        self.assertEqual(counter.value, 0)
        counter += 5
        counter -= 2
        self.assertEqual(counter.value, 3)

        def bump(c):
            k = c.Counter(self.p("counter"))
            for _ in range(20):
                k += 1

        threads = [threading.Thread(target=bump, args=(c,)) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 3)
        a.sync(self.p("counter"))
        self.assertEqual(counter.value, 43)
        fc = a.Counter(self.p("float"), default=0.5)
        fc += 0.25
        self.assertEqual(fc.value, 0.75)

    def test_queue(self):
        a, b = self.client(), self.client()
        qa = a.Queue(self.p("queue"))
        qb = b.Queue(self.p("queue"))
        qa.put(b"one")
        qa.put(b"two")
        qa.put(b"urgent", priority=1)
        b.sync(self.p("queue"))
        self.assertEqual(len(qb), 3)
        self.assertEqual([qb.get(), qb.get(), qb.get()], [b"urgent", b"one", b"two"])
        self.assertIsNone(qb.get())
        a.sync(self.p("queue"))
        self.assertEqual(len(qa), 0)

    def test_locking_queue(self):
        a, b = self.client(), self.client()
        qa = a.LockingQueue(self.p("lqueue"))
        qb = b.LockingQueue(self.p("lqueue"))
        qa.put_all([b"x", b"y"])
        b.sync(self.p("lqueue"))
        self.assertEqual(len(qb), 2)
        self.assertEqual(qb.get(timeout=WAIT), b"x")
        self.assertTrue(qb.holds_lock())
        # The locked item is invisible to the other consumer.
        self.assertEqual(qa.get(timeout=WAIT), b"y")
        self.assertTrue(qa.release())
        self.assertTrue(qb.consume())
        a.sync(self.p("lqueue"))
        self.assertEqual(len(qa), 1)
        self.assertEqual(qa.get(timeout=WAIT), b"y")
        self.assertTrue(qa.consume())
        b.sync(self.p("lqueue"))
        self.assertEqual(len(qb), 0)
        self.assertIsNone(qb.get(timeout=0.5))
        got = queue.Queue()
        t = threading.Thread(target=lambda: got.put(qb.get(timeout=WAIT)))
        t.start()
        time.sleep(0.3)
        qa.put(b"late")
        self.assertEqual(got.get(timeout=WAIT), b"late")
        t.join(WAIT)
        self.assertTrue(qb.consume())

    def test_semaphore(self):
        a, b, c = self.client(), self.client(), self.client()
        sa = a.Semaphore(self.p("sem"), "a", max_leases=2)
        sb = b.Semaphore(self.p("sem"), "b", max_leases=2)
        sc = c.Semaphore(self.p("sem"), "c", max_leases=2)
        self.assertTrue(sa.acquire(timeout=WAIT))
        self.assertTrue(sb.acquire(timeout=WAIT))
        self.assertFalse(sc.acquire(blocking=False))
        self.assertEqual(sorted(sc.lease_holders()), ["a", "b"])
        done = threading.Event()
        t = threading.Thread(target=lambda: sc.acquire(timeout=WAIT) and done.set())
        t.start()
        time.sleep(0.3)
        self.assertFalse(done.is_set())
        sa.release()
        self.assertTrue(done.wait(WAIT))
        t.join(WAIT)
        a.sync(self.p("sem"))
        self.assertEqual(sorted(sa.lease_holders()), ["b", "c"])
        sb.release()
        sc.release()
        a.sync(self.p("sem"))
        self.assertEqual(sa.lease_holders(), [])


class ServerInfoTest(Base):
    def test_four_letter_words(self):
        zk = self.zk
        # The words go to the member the client is connected to.
        mode = "(leader|follower)" if ENSEMBLE else "standalone"
        self.assertEqual(zk.command(b"ruok"), "imok")
        srvr = zk.command(b"srvr")
        self.assertRegex(srvr, r"(?m)^Zookeeper version: 3\.\d+\.\d+")
        self.assertRegex(srvr, r"(?m)^Mode: %s$" % mode)
        self.assertRegex(srvr, r"(?m)^Zxid: 0x[0-9a-f]+$")
        self.assertRegex(srvr, r"(?m)^Node count: \d+$")
        stat = zk.command(b"stat")
        self.assertRegex(stat, r"(?m)^Clients:$")
        self.assertRegex(stat, r"(?m)^Mode: %s$" % mode)
        self.assertEqual(zk.command(b"isro"), "rw")
        mntr = zk.command(b"mntr")
        self.assertRegex(mntr, r"(?m)^zk_server_state\t%s$" % mode)
        self.assertRegex(mntr, r"(?m)^zk_znode_count\t\d+$")
        conf = zk.command(b"conf")
        self.assertRegex(conf, r"(?m)^clientPort=%d$" % peer_of(zk)[1])
        self.assertRegex(conf, r"(?m)^tickTime=2000$")

    def test_dump_lists_ephemerals_by_session(self):
        c = self.client()
        c.create(self.p("e1"), ephemeral=True)
        c.create(self.p("e2"), ephemeral=True)
        sid = "0x%x" % c.client_id[0]
        self.zk.sync(self.p("e2"))
        blocks = parse_blocks(self.zk.command(b"dump").split("Sessions with Ephemerals")[1])
        self.assertEqual(sorted(blocks.get(sid, [])), [self.p("e1"), self.p("e2")])

    def test_watch_listings(self):
        c = self.client()
        c.create(self.p("d"))
        c.create(self.p("k"))
        c.get(self.p("d"), watch=lambda e: None)
        c.exists(self.p("missing"), watch=lambda e: None)
        c.get_children(self.p("k"), watch=lambda e: None)  # a child watch: not listed
        sid = "0x%x" % c.client_id[0]
        # wchc: session -> paths; wchp: path -> sessions; both over data
        # and exists watches only.
        by_session = parse_blocks(c.command(b"wchc"))
        self.assertEqual(sorted(by_session.get(sid, [])), [self.p("d"), self.p("missing")])
        by_path = parse_blocks(c.command(b"wchp"))
        self.assertEqual(by_path.get(self.p("d")), [sid])
        self.assertEqual(by_path.get(self.p("missing")), [sid])
        self.assertNotIn(self.p("k"), by_path)
        self.assertRegex(c.command(b"wchs"), r"^\d+ connections watching \d+ paths\nTotal watches:\d+\n")

    def test_srvr_zxid_tracks_writes(self):
        zk = self.zk
        st = zk.create(self.p("z"), include_data=True)[1]
        srvr = zk.command(b"srvr")
        zxid = int(srvr.split("Zxid: ")[1].split()[0], 16)
        self.assertGreaterEqual(zxid, st.czxid)

    def test_server_version(self):
        version = self.zk.server_version()
        self.assertGreaterEqual(len(version), 3)
        self.assertEqual(version[0], 3)
        self.assertGreaterEqual(version[1], 6)


class EnsembleTest(Base):
    """Checks that only make sense with several members; skipped otherwise."""

    def setUp(self):
        if not ENSEMBLE:
            self.skipTest("standalone server: no other member to cross to")
        super().setUp()

    def pinned(self):
        """One client per member, each connected to that member only."""
        return [self.client(hosts="%s:%d" % m) for m in MEMBERS]

    def test_roles(self):
        modes = []
        for host, port in MEMBERS:
            c = self.client(hosts="%s:%d" % (host, port))
            self.assertEqual(peer_of(c), (host, port))
            modes.append(re.search(r"(?m)^Mode: (\S+)$", c.command(b"srvr")).group(1))
            self.assertRegex(c.command(b"mntr"), r"(?m)^zk_server_state\t%s$" % modes[-1])
        self.assertEqual(sorted(modes), ["follower"] * (len(MEMBERS) - 1) + ["leader"], modes)

    def test_writes_seen_through_every_member(self):
        clients = self.pinned()
        for i, c in enumerate(clients):
            c.create(self.p("w%d" % i), b"from %d" % i)
        for i, c in enumerate(clients):
            c.sync(self.path)
            children, parent = c.get_children(self.path, include_data=True)
            self.assertEqual(sorted(children), ["w%d" % j for j in range(len(clients))])
            for j in range(len(clients)):
                data, st = c.get(self.p("w%d" % j))
                self.assertEqual(data, b"from %d" % j)
        # Every member holds the same Stats.
        stats = [c.exists(self.p("w0")) for c in clients]
        self.assertEqual(stats, [stats[0]] * len(stats))
        parents = [c.exists(self.path) for c in clients]
        self.assertEqual(parents, [parents[0]] * len(parents))

    def test_watches_fire_on_every_member(self):
        clients = self.pinned()
        a = self.p("a")
        clients[0].create(a, b"0")
        queues = []
        for c in clients:
            q = queue.Queue()
            c.sync(a)
            c.get(a, watch=q.put)
            c.get_children(self.path, watch=q.put)
            queues.append(q)
        writer = clients[-1]
        writer.set(a, b"1")
        writer.create(self.p("b"))
        for i, q in enumerate(queues):
            got = sorted((e.type, e.path) for e in (q.get(timeout=WAIT), q.get(timeout=WAIT)))
            self.assertEqual(got, sorted([(EventType.CHANGED, a), (EventType.CHILD, self.path)]), "member %d" % i)
            self.assertTrue(q.empty())

    def test_session_resumed_on_another_member(self):
        m0, m1 = MEMBERS[0], MEMBERS[1]
        raw = RawSession(timeout_ms=10000, member=m0)
        e = self.p("moved")
        self.assertEqual(raw.create(e, flags=1), (0, e))
        raw.abandon()
        moved = self.client(hosts="%s:%d" % m1, client_id=(raw.session_id, raw.passwd))
        self.assertEqual(moved.client_id[0], raw.session_id)
        self.assertEqual(peer_of(moved), m1)
        self.assertEqual(moved.exists(e).ephemeralOwner, raw.session_id)
        moved.delete(e)
        moved.create(e, ephemeral=True)
        moved.stop()
        watcher = self.client(hosts="%s:%d" % m0)
        self.assertTrue(wait_until(lambda: watcher.exists(e) is None), "ephemeral of a closed moved session")

    def test_wrong_password_refused_on_another_member(self):
        live = RawSession(timeout_ms=10000, member=MEMBERS[0])
        try:
            bad = bytes(b ^ 0xFF for b in live.passwd)
            wrong = RawSession(timeout_ms=10000, session_id=live.session_id, passwd=bad, member=MEMBERS[1])
            self.assertEqual((wrong.timeout, wrong.session_id), (0, 0))
            self.assertTrue(wrong.closed_by_server(10))
        finally:
            live.abandon()


# ---------------------------------------------------------------------------


class LineResult(unittest.TestResult):
    """Prints one PASS/FAIL line per test."""

    def __init__(self):
        super().__init__()
        self.passed = 0
        self.failed_names = []

    def _name(self, test):
        return "%s.%s" % (type(test).__name__, test._testMethodName)

    def startTest(self, test):
        super().startTest(test)
        self._start = time.monotonic()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        print("PASS %s (%.1fs)" % (self._name(test), time.monotonic() - self._start), flush=True)

    def _fail(self, test, err, kind):
        self.failed_names.append(self._name(test))
        text = "".join(traceback.format_exception(*err)).rstrip()
        print("FAIL %s (%s)" % (self._name(test), kind), flush=True)
        print("    " + text.replace("\n", "\n    "), flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, "assertion")

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, "error")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("SKIP %s: %s" % (self._name(test), reason), flush=True)


def main():
    # A hung test must not hang the run: dump the stacks and exit.
    faulthandler.dump_traceback_later(140, exit=True)
    loader = unittest.TestLoader()
    names = [a for a in sys.argv[2:]]
    if names:
        suite = unittest.TestSuite(loader.loadTestsFromName(n, sys.modules[__name__]) for n in names)
    else:
        suite = loader.loadTestsFromModule(sys.modules[__name__])
    result = LineResult()
    try:
        suite.run(result)
    finally:
        try:
            c = new_client()
            remove_tree(c, ROOT)
            stop_client(c)
        except Exception as exc:
            print("cleanup of %s failed: %r" % (ROOT, exc), flush=True)
    failed = len(result.failed_names)
    skipped = len(result.skipped)
    print("%d passed, %d failed%s" % (result.passed, failed, ", %d skipped" % skipped if skipped else ""), flush=True)
    sys.exit(0 if failed == 0 and result.passed > 0 else 1)


if __name__ == "__main__":
    main()
