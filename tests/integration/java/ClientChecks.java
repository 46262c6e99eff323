import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.Watcher.WatcherType;
import org.apache.zookeeper.ZKUtil;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Stat;

/**
 * Drives a ZooKeeper-compatible server with Apache ZooKeeper's own Java client
 * and checks the APIs that kazoo and zkCli.sh do not reach directly.
 *
 * <p>Usage: {@code java -cp ... ClientChecks HOST:PORT[,HOST:PORT...]} (or
 * ZK_ADDR). Prints one PASS/FAIL line per check and then "N passed, N failed";
 * exits 0 only if every check passed. The server must run with
 * extendedTypesEnabled=true and a container check interval of about 1 s.
 *
 * <p>Against an ensemble the argument is the connect string of every member and
 * ZK_ADDRS lists the members (by default the connect string). The first client
 * of a check uses the connect string; the others are pinned to one member each,
 * in turn, so that writes and watches cross members. Every client syncs once
 * connected, so it sees every write acknowledged before it was created; a
 * client that reads what another wrote afterwards syncs first.
 */
public final class ClientChecks {
    private static final long WAIT_MS = 10_000;
    private static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;

    private static String addr;
    private static String[] members;
    private static boolean ensemble;
    private static int nextMember;
    private static String root;
    private static ZooKeeper admin;
    private static int passed;
    private static int failed;
    private static final List<ZooKeeper> opened = new ArrayList<>();

    private interface Body {
        void run(String base) throws Exception;
    }

    /** Collects the events delivered to one watcher, in order. */
    private static final class Recorder implements Watcher {
        final BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();

        @Override
        public void process(WatchedEvent event) {
            events.add(event);
        }

        WatchedEvent next() throws InterruptedException {
            WatchedEvent e = events.poll(WAIT_MS, TimeUnit.MILLISECONDS);
            if (e == null) {
                throw new AssertionError("no watch event within " + WAIT_MS + " ms");
            }
            return e;
        }

        /** Takes the next event that is not a connection-state event. */
        WatchedEvent nextNode() throws InterruptedException {
            while (true) {
                WatchedEvent e = next();
                if (e.getType() != EventType.None) {
                    return e;
                }
            }
        }

        void expect(EventType type, String path) throws InterruptedException {
            WatchedEvent e = nextNode();
            if (e.getType() != type || !path.equals(e.getPath())) {
                throw new AssertionError("event " + e.getType() + " " + e.getPath() + ", want " + type + " " + path);
            }
        }

        void expectState(KeeperState state) throws InterruptedException {
            while (true) {
                WatchedEvent e = next();
                if (e.getType() == EventType.None && e.getState() == state) {
                    return;
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        addr = args.length > 0 ? args[0] : System.getenv().getOrDefault("ZK_ADDR", "127.0.0.1:2181");
        String list = System.getenv("ZK_ADDRS");
        members = (list == null || list.isEmpty() ? addr : list).split(",");
        ensemble = members.length > 1;
        root = "/java-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 1_000_000;
        try {
            admin = connect(new Recorder());
            opened.clear();
            admin.create(root, new byte[0], OPEN, CreateMode.PERSISTENT);
        } catch (Exception e) {
            System.out.println("FAIL setup: " + e);
            System.out.println("0 passed, 1 failed");
            System.exit(1);
            return;
        }

        check("create2_returns_stat", ClientChecks::create2ReturnsStat);
        check("persistent_watch", ClientChecks::persistentWatch);
        check("persistent_recursive_watch", ClientChecks::persistentRecursiveWatch);
        check("persistent_and_one_shot_together", ClientChecks::persistentAndOneShot);
        check("remove_watches_one_watcher", ClientChecks::removeOneWatcher);
        check("remove_all_watches", ClientChecks::removeAllWatches);
        check("remove_persistent_watch", ClientChecks::removePersistentWatch);
        check("multi_success", ClientChecks::multiSuccess);
        check("multi_failure_results", ClientChecks::multiFailure);
        check("multi_read", ClientChecks::multiRead);
        check("get_ephemerals", ClientChecks::getEphemerals);
        check("get_all_children_number", ClientChecks::getAllChildrenNumber);
        check("create_ttl", ClientChecks::createTtl);
        check("create_container", ClientChecks::createContainer);
        check("who_am_i", ClientChecks::whoAmI);
        check("async_replies_in_order", ClientChecks::asyncOrder);
        check("watch_event_before_new_data", ClientChecks::eventBeforeNewData);
        check("session_resumed_by_id_and_password", ClientChecks::sessionResumed);
        check("watches_survive_reconnect", ClientChecks::watchesSurviveReconnect);
        check("get_config", ClientChecks::getConfig);

        try {
            ZKUtil.deleteRecursive(admin, root);
            admin.close(2000);
        } catch (Exception e) {
            System.out.println("cleanup of " + root + " failed: " + e);
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 && passed > 0 ? 0 : 1);
    }

    private static void check(String name, Body body) {
        String base = root + "/" + name;
        long start = System.nanoTime();
        try {
            admin.create(base, new byte[0], OPEN, CreateMode.PERSISTENT);
            body.run(base);
            passed++;
            System.out.printf("PASS %s (%.1fs)%n", name, (System.nanoTime() - start) / 1e9);
        } catch (Throwable t) {
            failed++;
            System.out.printf("FAIL %s (%.1fs): %s%n", name, (System.nanoTime() - start) / 1e9, t);
            for (StackTraceElement el : t.getStackTrace()) {
                if (el.getClassName().startsWith("ClientChecks")) {
                    System.out.println("    at " + el);
                }
            }
        } finally {
            closeAll();
        }
        System.out.flush();
    }

    /** Closes every client the check opened, in parallel: each close waits for a round trip. */
    private static void closeAll() {
        List<Thread> closers = new ArrayList<>();
        for (ZooKeeper zk : opened) {
            Thread t = new Thread(() -> {
                try {
                    zk.close(2000);
                } catch (Exception e) {
                    // best effort: the server ends the session on timeout anyway
                }
            });
            t.start();
            closers.add(t);
        }
        for (Thread t : closers) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        opened.clear();
    }

    private static ZooKeeper connect(Recorder recorder) throws Exception {
        return connect(recorder, 0, null);
    }

    private static ZooKeeper connect(Recorder recorder, long sessionId, byte[] passwd) throws Exception {
        return connect(addr, recorder, sessionId, passwd);
    }

    /** Waits for a sync of path: the client's server has caught up with the leader. */
    private static void sync(ZooKeeper zk, String path) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        int[] rc = {Integer.MIN_VALUE};
        zk.sync(path, (code, p, ctx) -> {
            rc[0] = code;
            done.countDown();
        }, null);
        expect(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "no sync reply within " + WAIT_MS + " ms");
        expectEq(Code.OK, Code.get(rc[0]), "sync result");
    }

    private static ZooKeeper connect(String hosts, Recorder recorder, long sessionId, byte[] passwd) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        Watcher w = event -> {
            if (event.getType() == EventType.None && event.getState() == KeeperState.SyncConnected) {
                connected.countDown();
            }
            recorder.process(event);
        };
        ZooKeeper zk = passwd == null
                ? new ZooKeeper(hosts, 10_000, w)
                : new ZooKeeper(hosts, 10_000, w, sessionId, passwd);
        opened.add(zk);
        if (!connected.await(WAIT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("no SyncConnected within " + WAIT_MS + " ms");
        }
        if (ensemble) {
            sync(zk, "/");
        }
        return zk;
    }

    /**
     * A new client: the first of a check on the connect string, the others
     * (in an ensemble) on one member each, in turn.
     */
    private static ZooKeeper client() throws Exception {
        if (!ensemble || opened.isEmpty()) {
            return connect(new Recorder());
        }
        String member = members[nextMember++ % members.length];
        return connect(member, new Recorder(), 0, null);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void expect(boolean cond, String msg) {
        if (!cond) {
            throw new AssertionError(msg);
        }
    }

    private static void expectEq(Object want, Object got, String what) {
        if (want == null ? got != null : !want.equals(got)) {
            throw new AssertionError(what + ": got " + got + ", want " + want);
        }
    }

    private static Code codeOf(OpResult r) {
        expect(r instanceof OpResult.ErrorResult, "want an ErrorResult, got " + r.getClass().getSimpleName());
        return Code.get(((OpResult.ErrorResult) r).getErr());
    }

    // ---------------------------------------------------------------------

    private static void create2ReturnsStat(String base) throws Exception {
        ZooKeeper zk = client();
        Stat st = new Stat();
        String p = zk.create(base + "/n", b("abc"), OPEN, CreateMode.PERSISTENT, st);
        expectEq(base + "/n", p, "path");
        expectEq(zk.exists(p, false), st, "stat from create2");
        expectEq(3, st.getDataLength(), "dataLength");
        expectEq(st.getCzxid(), st.getMzxid(), "mzxid");
        expectEq(st.getCzxid(), st.getPzxid(), "pzxid");
        Stat seq = new Stat();
        String s = zk.create(base + "/s-", b(""), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL, seq);
        expectEq(base + "/s-0000000001", s, "sequential path");
        expectEq(zk.getSessionId(), seq.getEphemeralOwner(), "ephemeralOwner");
        try {
            zk.create(base + "/n", b(""), OPEN, CreateMode.PERSISTENT, new Stat());
            throw new AssertionError("create2 of an existing node succeeded");
        } catch (KeeperException.NodeExistsException e) {
            expectEq(base + "/n", e.getPath(), "exception path");
        }
    }

    private static void persistentWatch(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        Recorder rec = new Recorder();
        String p = base + "/p";
        zk.addWatch(p, rec, AddWatchMode.PERSISTENT);
        other.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        other.create(p + "/c", b(""), OPEN, CreateMode.PERSISTENT);
        other.setData(p + "/c", b("x"), -1); // not seen: only p itself and its child list
        other.create(p + "/c/g", b(""), OPEN, CreateMode.PERSISTENT); // not seen either
        other.setData(p, b("1"), -1);
        other.setData(p, b("2"), -1);
        other.delete(p + "/c/g", -1);
        other.delete(p + "/c", -1);
        other.delete(p, -1);
        other.create(p, b(""), OPEN, CreateMode.PERSISTENT); // the watch outlives the node
        rec.expect(EventType.NodeCreated, p);
        rec.expect(EventType.NodeChildrenChanged, p);
        rec.expect(EventType.NodeDataChanged, p);
        rec.expect(EventType.NodeDataChanged, p);
        rec.expect(EventType.NodeChildrenChanged, p);
        rec.expect(EventType.NodeDeleted, p);
        rec.expect(EventType.NodeCreated, p);
    }

    private static void persistentRecursiveWatch(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        Recorder rec = new Recorder();
        String r = base + "/r";
        zk.addWatch(r, rec, AddWatchMode.PERSISTENT_RECURSIVE);
        other.create(r, b(""), OPEN, CreateMode.PERSISTENT);
        other.create(r + "/a", b(""), OPEN, CreateMode.PERSISTENT);
        other.create(r + "/a/b", b(""), OPEN, CreateMode.PERSISTENT);
        other.create(base + "/rr", b(""), OPEN, CreateMode.PERSISTENT); // sibling with a shared prefix: not seen
        other.setData(r + "/a/b", b("x"), -1);
        other.multi(Arrays.asList(
                Op.create(r + "/m", b(""), OPEN, CreateMode.PERSISTENT),
                Op.setData(r, b("y"), -1)));
        other.delete(r + "/a/b", -1);
        other.delete(r + "/m", -1);
        other.delete(r + "/a", -1);
        rec.expect(EventType.NodeCreated, r);
        rec.expect(EventType.NodeCreated, r + "/a");
        rec.expect(EventType.NodeCreated, r + "/a/b");
        rec.expect(EventType.NodeDataChanged, r + "/a/b");
        rec.expect(EventType.NodeCreated, r + "/m");
        rec.expect(EventType.NodeDataChanged, r);
        rec.expect(EventType.NodeDeleted, r + "/a/b");
        rec.expect(EventType.NodeDeleted, r + "/m");
        rec.expect(EventType.NodeDeleted, r + "/a");
    }

    private static void persistentAndOneShot(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        String p = base + "/both";
        zk.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        Recorder persistent = new Recorder();
        Recorder once = new Recorder();
        zk.addWatch(p, persistent, AddWatchMode.PERSISTENT);
        zk.getData(p, once, null);
        other.setData(p, b("1"), -1);
        persistent.expect(EventType.NodeDataChanged, p);
        once.expect(EventType.NodeDataChanged, p);
        // ZooKeeper before 3.9.0 keeps one watch mode per path and session, so
        // the spent one-shot watch takes the persistent one with it; 3.9 keeps
        // the persistent watch (ZOOKEEPER-4466).
        if (compareVersion(serverVersion(), new int[] {3, 9, 0}) >= 0) {
            other.setData(p, b("2"), -1);
            persistent.expect(EventType.NodeDataChanged, p);
            zk.exists(p, once); // once is spent: its next event is the delete
            other.delete(p, -1);
            persistent.expect(EventType.NodeDeleted, p);
            once.expect(EventType.NodeDeleted, p);
        }
    }

    /** The server's version, from the srvr four-letter word. */
    private static int[] serverVersion() throws Exception {
        String first = members[0];
        int colon = first.lastIndexOf(':');
        try (java.net.Socket s = new java.net.Socket(first.substring(0, colon), Integer.parseInt(first.substring(colon + 1)))) {
            s.setSoTimeout((int) WAIT_MS);
            s.getOutputStream().write(b("srvr"));
            s.shutdownOutput();
            String out = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("(?m)^Zookeeper version: (\\d+)\\.(\\d+)\\.(\\d+)").matcher(out);
            if (!m.find()) {
                throw new AssertionError("no version in srvr output: " + out);
            }
            return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
        }
    }

    private static int compareVersion(int[] a, int[] b) {
        for (int i = 0; i < 3; i++) {
            if (a[i] != b[i]) {
                return Integer.compare(a[i], b[i]);
            }
        }
        return 0;
    }

    private static void removeOneWatcher(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        String p = base + "/rw";
        zk.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        Recorder w1 = new Recorder();
        Recorder w2 = new Recorder();
        zk.getData(p, w1, null);
        zk.getData(p, w2, null);
        zk.removeWatches(p, w1, WatcherType.Data, false);
        w1.expect(EventType.DataWatchRemoved, p);
        try {
            zk.removeWatches(p, w1, WatcherType.Data, false);
            throw new AssertionError("removing a removed watcher succeeded");
        } catch (KeeperException.NoWatcherException e) {
            expectEq(p, e.getPath(), "exception path");
        }
        other.setData(p, b("x"), -1);
        w2.expect(EventType.NodeDataChanged, p);
        // w1 saw nothing more: re-arm it and its next event is the new one.
        zk.exists(p, w1);
        other.delete(p, -1);
        w1.expect(EventType.NodeDeleted, p);
    }

    private static void removeAllWatches(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        String p = base + "/ra";
        zk.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        Recorder child = new Recorder();
        Recorder data = new Recorder();
        zk.getChildren(p, child);
        zk.getData(p, data, null);
        zk.removeAllWatches(p, WatcherType.Children, false);
        child.expect(EventType.ChildWatchRemoved, p);
        other.create(p + "/c", b(""), OPEN, CreateMode.PERSISTENT);
        other.setData(p, b("x"), -1);
        data.expect(EventType.NodeDataChanged, p);
        zk.getChildren(p, child);
        zk.getData(p, data, null);
        zk.removeAllWatches(p, WatcherType.Any, false);
        child.expect(EventType.ChildWatchRemoved, p);
        data.expect(EventType.DataWatchRemoved, p);
        try {
            zk.removeAllWatches(p, WatcherType.Any, false);
            throw new AssertionError("removing watches from an unwatched path succeeded");
        } catch (KeeperException.NoWatcherException e) {
            // expected
        }
    }

    private static void removePersistentWatch(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        String p = base + "/rp";
        Recorder rec = new Recorder();
        zk.addWatch(p, rec, AddWatchMode.PERSISTENT_RECURSIVE);
        other.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        rec.expect(EventType.NodeCreated, p);
        zk.removeWatches(p, rec, WatcherType.Any, false);
        rec.expect(EventType.PersistentWatchRemoved, p);
        other.create(p + "/after", b(""), OPEN, CreateMode.PERSISTENT);
        sync(zk, p + "/after"); // else, on another member, exists may miss the node and see it created
        expect(zk.exists(p + "/after", rec) != null, "exists of a node created through another client");
        other.delete(p + "/after", -1);
        rec.expect(EventType.NodeDeleted, p + "/after");
    }

    private static void multiSuccess(String base) throws Exception {
        ZooKeeper zk = client();
        zk.create(base + "/set", b("0"), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/del", b(""), OPEN, CreateMode.PERSISTENT);
        List<OpResult> rs = zk.multi(Arrays.asList(
                Op.create(base + "/new", b("n"), OPEN, CreateMode.PERSISTENT),
                Op.create(base + "/seq-", b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
                Op.setData(base + "/set", b("1"), 0),
                Op.check(base + "/set", 1),
                Op.delete(base + "/del", 0)));
        expectEq(5, rs.size(), "result count");
        expectEq(base + "/new", ((OpResult.CreateResult) rs.get(0)).getPath(), "create result");
        expectEq(base + "/seq-0000000003", ((OpResult.CreateResult) rs.get(1)).getPath(), "sequential create result");
        Stat st = ((OpResult.SetDataResult) rs.get(2)).getStat();
        expectEq(1, st.getVersion(), "setData result version");
        expect(rs.get(3) instanceof OpResult.CheckResult, "check result: " + rs.get(3));
        expect(rs.get(4) instanceof OpResult.DeleteResult, "delete result: " + rs.get(4));
        expectEq(null, zk.exists(base + "/del", false), "deleted node");
        expectEq(st.getMzxid(), zk.exists(base + "/new", false).getCzxid(), "one zxid for the whole multi");
        // A multi with a create2-style op returns the Stat.
        List<OpResult> rs2 = zk.multi(Collections.singletonList(
                Op.create(base + "/ttl", b(""), OPEN, CreateMode.PERSISTENT_WITH_TTL, 60_000)));
        OpResult.CreateResult cr = (OpResult.CreateResult) rs2.get(0);
        expectEq(zk.exists(base + "/ttl", false), cr.getStat(), "stat of a TTL create in a multi");
        // An empty multi is fine.
        expectEq(0, zk.multi(Collections.emptyList()).size(), "empty multi");
    }

    private static void multiFailure(String base) throws Exception {
        ZooKeeper zk = client();
        zk.create(base + "/x", b("0"), OPEN, CreateMode.PERSISTENT);
        try {
            zk.multi(Arrays.asList(
                    Op.create(base + "/a", b(""), OPEN, CreateMode.PERSISTENT),
                    Op.setData(base + "/x", b("1"), -1),
                    Op.check(base + "/x", 7),
                    Op.create(base + "/b", b(""), OPEN, CreateMode.PERSISTENT)));
            throw new AssertionError("multi with a failing check succeeded");
        } catch (KeeperException.BadVersionException e) {
            List<OpResult> rs = e.getResults();
            expectEq(4, rs.size(), "result count");
            expectEq(Code.OK, codeOf(rs.get(0)), "result 0");
            expectEq(Code.OK, codeOf(rs.get(1)), "result 1");
            expectEq(Code.BADVERSION, codeOf(rs.get(2)), "result 2");
            expectEq(Code.RUNTIMEINCONSISTENCY, codeOf(rs.get(3)), "result 3");
        }
        expectEq(null, zk.exists(base + "/a", false), "rolled-back create");
        expectEq(0, zk.exists(base + "/x", false).getVersion(), "rolled-back setData");
        try {
            zk.multi(Arrays.asList(
                    Op.delete(base + "/missing", -1),
                    Op.create(base + "/c", b(""), OPEN, CreateMode.PERSISTENT)));
            throw new AssertionError("multi deleting a missing node succeeded");
        } catch (KeeperException.NoNodeException e) {
            List<OpResult> rs = e.getResults();
            expectEq(Code.NONODE, codeOf(rs.get(0)), "result 0");
            expectEq(Code.RUNTIMEINCONSISTENCY, codeOf(rs.get(1)), "result 1");
        }
    }

    private static void multiRead(String base) throws Exception {
        ZooKeeper zk = client();
        zk.create(base + "/d", b("data"), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/d/c1", b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/d/c2", b(""), OPEN, CreateMode.PERSISTENT);
        List<OpResult> rs = zk.multi(Arrays.asList(
                Op.getData(base + "/d"),
                Op.getChildren(base + "/d"),
                Op.getData(base + "/missing"),
                Op.getChildren(base + "/d/c1")));
        expectEq(4, rs.size(), "result count");
        OpResult.GetDataResult gd = (OpResult.GetDataResult) rs.get(0);
        expectEq("data", new String(gd.getData(), StandardCharsets.UTF_8), "getData result");
        expectEq(zk.exists(base + "/d", false), gd.getStat(), "getData stat");
        List<String> children = new ArrayList<>(((OpResult.GetChildrenResult) rs.get(1)).getChildren());
        Collections.sort(children);
        expectEq(Arrays.asList("c1", "c2"), children, "getChildren result");
        // In a read multi each op stands alone: a failure does not spoil the others.
        expectEq(Code.NONODE, codeOf(rs.get(2)), "missing node");
        expectEq(Collections.emptyList(), ((OpResult.GetChildrenResult) rs.get(3)).getChildren(), "leaf children");
    }

    private static void getEphemerals(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        zk.create(base + "/e1", b(""), OPEN, CreateMode.EPHEMERAL);
        zk.create(base + "/sub", b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/sub/e2", b(""), OPEN, CreateMode.EPHEMERAL);
        zk.create(base + "/es-", b(""), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL);
        other.create(base + "/theirs", b(""), OPEN, CreateMode.EPHEMERAL);
        List<String> all = new ArrayList<>(zk.getEphemerals());
        Collections.sort(all);
        expectEq(Arrays.asList(base + "/e1", base + "/es-0000000002", base + "/sub/e2"), all, "getEphemerals()");
        List<String> sub = new ArrayList<>(zk.getEphemerals(base + "/sub"));
        expectEq(Collections.singletonList(base + "/sub/e2"), sub, "getEphemerals(prefix)");
        expectEq(Collections.singletonList(base + "/theirs"), other.getEphemerals(base), "other session");
        expectEq(Collections.emptyList(), zk.getEphemerals(base + "/nothing"), "no match");
    }

    private static void getAllChildrenNumber(String base) throws Exception {
        ZooKeeper zk = client();
        zk.create(base + "/t", b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/t/a", b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/t/a/b", b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/t/c", b(""), OPEN, CreateMode.EPHEMERAL);
        zk.create(base + "/tt", b(""), OPEN, CreateMode.PERSISTENT);
        expectEq(3, zk.getAllChildrenNumber(base + "/t"), "descendants of t");
        expectEq(0, zk.getAllChildrenNumber(base + "/t/c"), "descendants of a leaf");
        expectEq(5, zk.getAllChildrenNumber(base), "descendants of base");
        try {
            zk.getAllChildrenNumber(base + "/missing");
            throw new AssertionError("getAllChildrenNumber of a missing node succeeded");
        } catch (KeeperException.NoNodeException e) {
            // expected
        }
    }

    private static boolean waitGone(ZooKeeper zk, String path, long ms) throws Exception {
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (zk.exists(path, false) == null) {
                return true;
            }
            Thread.sleep(100);
        }
        return zk.exists(path, false) == null;
    }

    private static void createTtl(String base) throws Exception {
        ZooKeeper zk = client();
        Stat st = new Stat();
        String p = zk.create(base + "/ttl", b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 300);
        expectEq(base + "/ttl", p, "path");
        expectEq(0L, st.getEphemeralOwner(), "ephemeralOwner shown for a TTL node");
        expectEq(zk.exists(p, false), st, "stat");
        String s = zk.create(base + "/tseq-", b(""), OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, new Stat(), 300);
        expectEq(base + "/tseq-0000000001", s, "sequential TTL path");
        expect(waitGone(zk, p, 15_000), "TTL node still there 15 s after a 300 ms TTL");
        expect(waitGone(zk, s, 15_000), "sequential TTL node still there 15 s after a 300 ms TTL");
    }

    private static void createContainer(String base) throws Exception {
        ZooKeeper zk = client();
        Stat st = new Stat();
        String c = zk.create(base + "/c", b("x"), OPEN, CreateMode.CONTAINER, st);
        expectEq(base + "/c", c, "path");
        expectEq(0L, st.getEphemeralOwner(), "ephemeralOwner shown for a container");
        zk.create(c + "/child", b(""), OPEN, CreateMode.EPHEMERAL);
        zk.delete(c + "/child", -1);
        expect(waitGone(zk, c, 15_000), "container still there 15 s after its last child went");
        try {
            zk.create(base + "/nochild/x", b(""), OPEN, CreateMode.CONTAINER, new Stat());
            throw new AssertionError("container under a missing parent");
        } catch (KeeperException.NoNodeException e) {
            // expected
        }
    }

    private static List<String> infos(List<ClientInfo> list) {
        List<String> out = new ArrayList<>();
        for (ClientInfo ci : list) {
            out.add(ci.getAuthScheme() + ":" + ci.getUser());
        }
        Collections.sort(out);
        return out;
    }

    private static void whoAmI(String base) throws Exception {
        ZooKeeper zk = client();
        expectEq(Collections.singletonList("ip:127.0.0.1"), infos(zk.whoAmI()), "anonymous");
        zk.addAuthInfo("digest", b("alice:secret"));
        expectEq(Arrays.asList("digest:alice", "ip:127.0.0.1"), infos(zk.whoAmI()), "after digest auth");
        zk.addAuthInfo("digest", b("bob:pw"));
        expectEq(Arrays.asList("digest:alice", "digest:bob", "ip:127.0.0.1"), infos(zk.whoAmI()), "two digests");
    }

    private static void asyncOrder(String base) throws Exception {
        ZooKeeper zk = client();
        int n = 200;
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        List<Integer> codes = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch done = new CountDownLatch(n);
        String p = base + "/o";
        zk.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        for (int i = 0; i < n; i++) {
            final int id = i;
            switch (i % 4) {
                case 0:
                    zk.setData(p, b("v" + i), -1, (rc, path, ctx, stat) -> {
                        order.add(id);
                        codes.add(rc);
                        done.countDown();
                    }, null);
                    break;
                case 1:
                    zk.getData(p, false, (rc, path, ctx, data, stat) -> {
                        order.add(id);
                        codes.add(rc);
                        done.countDown();
                    }, null);
                    break;
                case 2:
                    zk.create(p + "/c" + i, b(""), OPEN, CreateMode.PERSISTENT, (rc, path, ctx, name) -> {
                        order.add(id);
                        codes.add(rc);
                        done.countDown();
                    }, null);
                    break;
                default:
                    zk.exists(p + "/nope", false, (rc, path, ctx, stat) -> {
                        order.add(id);
                        codes.add(rc == Code.NONODE.intValue() ? 0 : rc);
                        done.countDown();
                    }, null);
                    break;
            }
        }
        expect(done.await(WAIT_MS * 2, TimeUnit.MILLISECONDS), "not every async reply arrived");
        List<Integer> want = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            want.add(i);
        }
        expectEq(want, order, "reply order");
        expectEq(Collections.nCopies(n, 0), codes, "result codes");
        // Each read saw the writes sent before it.
        byte[] last = zk.getData(p, false, null);
        expectEq("v196", new String(last, StandardCharsets.UTF_8), "final data");
        AsyncCallback.VoidCallback noop = (rc, path, ctx) -> { };
        zk.sync(p, noop, null);
    }

    /**
     * A client sees the watch event for a change before any read result that
     * shows the change: the Java client hands events and async results to its
     * callbacks in the order the server sent them.
     */
    private static void eventBeforeNewData(String base) throws Exception {
        ZooKeeper zk = client();
        ZooKeeper other = client();
        for (int round = 0; round < 20; round++) {
            String p = base + "/x" + round;
            zk.create(p, b("old"), OPEN, CreateMode.PERSISTENT);
            List<String> log = Collections.synchronizedList(new ArrayList<>());
            zk.getData(p, e -> log.add("event " + e.getType()), null);
            CountDownLatch written = new CountDownLatch(1);
            other.setData(p, b("new"), -1, (rc, path, ctx, stat) -> written.countDown(), null);
            CountDownLatch sawNew = new CountDownLatch(1);
            long deadline = System.nanoTime() + WAIT_MS * 1_000_000;
            while (sawNew.getCount() > 0 && System.nanoTime() < deadline) {
                zk.getData(p, false, (rc, path, ctx, data, stat) -> {
                    String v = data == null ? "null" : new String(data, StandardCharsets.UTF_8);
                    log.add("data " + v);
                    if (v.equals("new")) {
                        sawNew.countDown();
                    }
                }, null);
                sawNew.await(1, TimeUnit.MILLISECONDS);
            }
            expect(sawNew.await(WAIT_MS, TimeUnit.MILLISECONDS), "never read the new data");
            expect(written.await(WAIT_MS, TimeUnit.MILLISECONDS), "setData did not complete");
            List<String> snapshot;
            synchronized (log) {
                snapshot = new ArrayList<>(log);
            }
            int event = snapshot.indexOf("event NodeDataChanged");
            int firstNew = snapshot.indexOf("data new");
            expect(event >= 0 && event < firstNew, "round " + round + ": new data before its watch event: " + snapshot);
        }
    }

    private static void sessionResumed(String base) throws Exception {
        Recorder r1 = new Recorder();
        ZooKeeper first = connect(r1);
        first.create(base + "/e", b(""), OPEN, CreateMode.EPHEMERAL);
        long id = first.getSessionId();
        byte[] pw = first.getSessionPasswd();
        ZooKeeper second = connect(new Recorder(), id, pw);
        expectEq(id, second.getSessionId(), "resumed session id");
        expectEq(id, second.exists(base + "/e", false).getEphemeralOwner(), "ephemeral owner");
        second.create(base + "/e2", b(""), OPEN, CreateMode.EPHEMERAL);
        expectEq(2, second.getEphemerals(base).size(), "ephemerals of the resumed session");
        // Closing through either handle ends the one session.
        second.close();
        ZooKeeper observer = client();
        expectEq(null, observer.exists(base + "/e", false), "ephemeral after close");
        expectEq(null, observer.exists(base + "/e2", false), "second ephemeral after close");
    }

    /** Closes the client's socket the way ZooKeeper's own tests do, without closing the session. */
    private static void dropConnection(ZooKeeper zk) throws Exception {
        Field cnxnField = ZooKeeper.class.getDeclaredField("cnxn");
        cnxnField.setAccessible(true);
        Object cnxn = cnxnField.get(zk);
        Field sendThreadField = cnxn.getClass().getDeclaredField("sendThread");
        sendThreadField.setAccessible(true);
        Object sendThread = sendThreadField.get(cnxn);
        Method close = sendThread.getClass().getDeclaredMethod("testableCloseSocket");
        close.setAccessible(true);
        close.invoke(sendThread);
    }

    private static void watchesSurviveReconnect(String base) throws Exception {
        Recorder session = new Recorder();
        ZooKeeper zk = connect(session);
        ZooKeeper other = client();
        long id = zk.getSessionId();
        String d = base + "/data";
        String c = base + "/kids";
        String x = base + "/later";
        String q = base + "/quiet";
        String p = base + "/persist";
        other.create(d, b("0"), OPEN, CreateMode.PERSISTENT);
        other.create(c, b(""), OPEN, CreateMode.PERSISTENT);
        other.create(q, b(""), OPEN, CreateMode.PERSISTENT);
        zk.create(base + "/eph", b(""), OPEN, CreateMode.EPHEMERAL);
        Recorder dw = new Recorder();
        Recorder cw = new Recorder();
        Recorder xw = new Recorder();
        Recorder qw = new Recorder();
        Recorder pw = new Recorder();
        zk.getData(d, dw, null);
        zk.getChildren(c, cw);
        expectEq(null, zk.exists(x, xw), "exists of a missing node");
        zk.getData(q, qw, null);
        zk.addWatch(p, pw, AddWatchMode.PERSISTENT_RECURSIVE);
        dropConnection(zk);
        session.expectState(KeeperState.Disconnected);
        // Changes made while the client is away (or just back) must still
        // reach it: the client re-sends its watches with the last zxid it saw.
        other.setData(d, b("1"), -1);
        other.create(x, b(""), OPEN, CreateMode.PERSISTENT);
        session.expectState(KeeperState.SyncConnected);
        expectEq(id, zk.getSessionId(), "session id after reconnect");
        sync(other, base + "/eph");
        expectEq(id, other.exists(base + "/eph", false).getEphemeralOwner(), "ephemeral after reconnect");
        dw.expect(EventType.NodeDataChanged, d);
        xw.expect(EventType.NodeCreated, x);
        // Watches that saw no change are still armed after the reconnect.
        other.create(c + "/k", b(""), OPEN, CreateMode.PERSISTENT);
        cw.expect(EventType.NodeChildrenChanged, c);
        other.create(p, b(""), OPEN, CreateMode.PERSISTENT);
        other.create(p + "/deep", b(""), OPEN, CreateMode.PERSISTENT);
        pw.expect(EventType.NodeCreated, p);
        pw.expect(EventType.NodeCreated, p + "/deep");
        other.delete(q, -1);
        qw.expect(EventType.NodeDeleted, q);
    }

    private static void getConfig(String base) throws Exception {
        ZooKeeper zk = client();
        Stat st = new Stat();
        byte[] cfg = zk.getConfig(false, st);
        Stat direct = new Stat();
        byte[] raw = zk.getData("/zookeeper/config", false, direct);
        expect(Arrays.equals(raw, cfg), "getConfig differs from /zookeeper/config");
        expectEq(direct, st, "stat of /zookeeper/config");
    }
}
