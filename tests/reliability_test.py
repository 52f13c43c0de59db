#!/usr/bin/python3
"""End-to-end faults on the real ipcbench binary: a peer killed or hung mid-benchmark,
a corrupted message stream, Ctrl-C/SIGTERM, SIGKILL of ipcbench itself and the stale
names it leaves, two runs at once, too few file descriptors. Each ends as an error entry
or a clean exit, within a timeout, with nothing left behind.

Faults are injected with the test-only IPCBENCH_FAULT=<kind>:<message> variable
(ipc/testing/fault.hpp), limited to benchmarks whose label contains IPCBENCH_FAULT_FILTER.

Usage: reliability_test.py PATH/TO/ipcbench   (CTest passes the built binary)
"""
import ctypes
import fcntl
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binary_test_support as support  # noqa: E402
import leak_check  # noqa: E402

BINARY = None
MARKER = f"reliability-{os.getpid()}-{time.time_ns()}"


def env_with(**extra):
    return support.env_with(MARKER, **extra)


def run(*args, timeout=120, preexec_fn=None, **env):
    start = time.monotonic()
    proc = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout,
                          env=env_with(**env), preexec_fn=preexec_fn)
    proc.elapsed = time.monotonic() - start
    return proc


def entries(proc):
    """{name: error message or None} from --benchmark_format=json output."""
    return support.entries(proc.stdout)


def owned_entries(pid):
    prefix = f"ipcbench-{pid}-"
    return [os.path.join(d, n) for d in leak_check.DIRS if os.path.isdir(d)
            for n in os.listdir(d)
            if n.startswith(prefix)]


class Base(unittest.TestCase):
    def assertNothingLeft(self, deadline=5.0):
        self.assertEqual(support.leftovers(MARKER, deadline), [])


class PeerFaultTest(Base):
    QUICK = ["--quick", "--benchmark_format=json", "--benchmark_filter=size:16/"]

    def test_killed_peer_fails_its_benchmark_and_the_suite_goes_on(self):
        p = run(*self.QUICK, "--transports=pipe,shm-ring", "--timeout=2000",
                IPCBENCH_FAULT="kill:1", IPCBENCH_FAULT_FILTER="pipe/process")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(entries(p), {
            "roundtrip/pipe/thread/size:16/real_time": None,
            "roundtrip/pipe/process/size:16/real_time":
                "pipe/process: peer process killed by signal 9 (Killed)",
            "roundtrip/pipe/spawn/size:16/real_time": None,
            "roundtrip/shm-ring/thread/size:16/real_time": None,
            "roundtrip/shm-ring/process/size:16/real_time": None,
            "roundtrip/shm-ring/spawn/size:16/real_time": None,
        })
        self.assertEqual(p.stderr.strip().splitlines()[-1],
                         "ipcbench: 1 benchmark run(s) failed, the first: "
                         "pipe/process: peer process killed by signal 9 (Killed)")
        self.assertIn("test fault armed", p.stderr)
        self.assertNothingLeft()

    def test_killed_shared_memory_peer_is_noticed_without_end_of_file(self):
        p = run(*self.QUICK, "--transports=shm-ring,shm-boost", "--contexts=process,spawn",
                "--timeout=2000", IPCBENCH_FAULT="kill:1")
        errors = entries(p)
        for name in errors:
            self.assertIn("peer process killed by signal 9", errors[name] or "", name)
        self.assertLess(p.elapsed, 30)
        self.assertNothingLeft()

    def test_hung_peer_is_detected_killed_and_reported(self):
        p = run(*self.QUICK, "--transports=pipe,shm-ring", "--timeout=500",
                IPCBENCH_FAULT="hang:1")
        self.assertEqual(p.returncode, 1, p.stderr)
        got = entries(p)
        self.assertEqual(len(got), 6)  # thread, process, spawn
        for name, error in got.items():
            label = name.split("/")[1] + "/" + name.split("/")[2]
            self.assertIsNotNone(error, name)
            self.assertTrue(error.startswith(f"{label}: "), error)
            self.assertIn("no progress within", error)
        self.assertEqual(got["roundtrip/pipe/process/size:16/real_time"],
                         "pipe/process: no progress within 500 ms: peer hung "
                         "(peer process killed)")
        self.assertEqual(got["roundtrip/pipe/thread/size:16/real_time"],
                         "pipe/thread: no progress within 500 ms: peer hung "
                         "(channel shut down)")
        self.assertEqual(got["roundtrip/pipe/spawn/size:16/real_time"],
                         "pipe/spawn: no progress within 500 ms: peer hung "
                         "(peer process killed)")
        self.assertLess(p.elapsed, 60)  # 6 hangs of 0.5-1 s each, plus the start
        self.assertNothingLeft()

    def test_bad_fault_spec_is_a_usage_error(self):
        p = run("--list", IPCBENCH_FAULT="gremlin:1")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.strip().splitlines(), [
            "ipcbench: error: IPCBENCH_FAULT: unknown fault 'gremlin' (known: kill, hang, stall, "
            "exit, throw, drop, duplicate, reorder, bitflip, truncate) (see --help)"])


class CorruptionTest(Base):
    """Every corruption gives error entries, never a figure."""

    CASES = {
        # The peer's end counts messages: 0 = the first it receives, 1 = its first echo.
        "bitflip:1": "message 0: checksum mismatch (corrupted)",
        "truncate:1": "message 0: size 15, expected 16",
        "duplicate:0": "message 1: out of order or lost: got sequence number 0",
        # In a ping-pong a lost or overtaken message stops the exchange: a hang.
        "drop:1": "no progress",
        "reorder:1": "no progress",
    }

    def test_each_corruption_is_an_error_in_every_transport_and_context(self):
        for spec, expected in self.CASES.items():
            with self.subTest(spec=spec):
                p = run("--quick", "--benchmark_format=json", "--benchmark_filter=size:16/",
                        "--transports=pipe,shm-ring", "--timeout=500", IPCBENCH_FAULT=spec)
                self.assertEqual(p.returncode, 1, p.stderr)
                got = entries(p)
                self.assertEqual(len(got), 6, got)  # thread, process, spawn
                for name, error in got.items():
                    self.assertIsNotNone(error, f"{spec}: {name} gave a figure")
                    self.assertIn(expected, error, name)
        self.assertNothingLeft()

    def test_startup_and_round_trips_read_everything_they_are_sent(self):
        # The peer sends its echo twice (its message 1: the last echo of a start-up,
        # whose main side used to stop without reading on). The main side reads to the
        # peer's answer to its stop, so the duplicate is read and fails the benchmark.
        p = run("--quick", "--benchmark_format=json",
                "--benchmark_filter=^startup/[a-z]+/fifo", "--transports=fifo",
                "--timeout=2000", IPCBENCH_FAULT="duplicate:1")
        self.assertEqual(p.returncode, 1, p.stderr)
        got = entries(p)
        self.assertEqual(len(got), 3, got)  # thread, process, spawn
        for name, error in got.items():
            self.assertIsNotNone(error, f"{name} gave a figure")
            self.assertIn("message 1: out of order or lost: got sequence number 0", error,
                          name)
        self.assertNothingLeft()


class PoolFaultTest(Base):
    """A worker pool (pool/) and a fan-in (fanin/) account for every task and request: a
    task or result lost, a task done twice, a corrupted one, a worker killed or hung, each
    fails the benchmark with its own message, in threads and processes."""
    # fault at the worker's message k (it receives 0, sends 1, receives 2, ...): expected
    POOL = {
        # a task; or, when the other worker took nearly every task (one preempted), this
        # worker's message 2 is its stop, and the pool waits for its answer until the
        # watchdog closes the queue
        "drop:2": ("lost: no result after every worker stopped", "queue closed",
                   "no progress within"),
        "drop:3": "of its results arrived (lost results)",       # a result
        "duplicate:2": "done twice",
        "bitflip:2": "corrupted body",                            # a task, seen by the worker
        "bitflip:3": "check mismatch (corrupted head)",           # a result, seen by main
        "kill:5": "",  # thread: 'peer thread failed', process: 'killed by signal 9'
    }

    def bench(self, name, spec, timeout_ms=1000):
        p = run("--benchmark_format=json", f"--benchmark_filter=^{name}/",
                "--benchmark_min_time=0.01", f"--timeout={timeout_ms}",
                IPCBENCH_FAULT=spec, IPCBENCH_FAULT_FILTER=name)
        self.assertEqual(p.returncode, 1, p.stderr)
        got = entries(p)
        self.assertEqual(len(got), 1, got)
        return next(iter(got.values())) or "", p

    def test_every_lost_duplicated_or_corrupted_task_is_an_error(self):
        for kind, ctx in (("shm-mpmc", "process"), ("pipe", "thread")):
            for spec, expected in self.POOL.items():
                with self.subTest(kind=kind, ctx=ctx, spec=spec):
                    name = f"pool/{kind}/{ctx}/workers:2"
                    error, _ = self.bench(name, spec)
                    self.assertTrue(error.startswith(name + ": "), error)
                    alternatives = expected if isinstance(expected, tuple) else (expected,)
                    self.assertTrue(any(e in error for e in alternatives), error)
        self.assertNothingLeft()

    def test_a_late_worker_is_slow_not_lost(self):
        # One worker thread stops for 300 ms (preempted) while the other does every later
        # task: tens of thousands of tasks overtake the late one, which is not lost. (Thread
        # workers: forked ones would each stall at once, and none overtake.)
        for kind, ctx in (("pipe", "thread"), ("shm-mpmc", "thread")):
            with self.subTest(kind=kind, ctx=ctx):
                name = f"pool/{kind}/{ctx}/workers:2"
                p = run("--benchmark_format=json", f"--benchmark_filter=^{name}/",
                        "--benchmark_min_time=1", "--timeout=5000",
                        IPCBENCH_FAULT="stall:200", IPCBENCH_FAULT_FILTER=name)
                self.assertEqual(p.returncode, 0, p.stderr)
                (b,) = json.loads(p.stdout)["benchmarks"]
                self.assertGreater(b["iterations"], 4096 * 4, b)
                # the late task's latency is in the tail
                self.assertGreater(b["max_ns"], 250e6, b)
        self.assertNothingLeft()

    def test_a_hung_worker_is_detected_within_the_timeout(self):
        for ctx in ("thread", "process"):
            with self.subTest(ctx=ctx):
                error, p = self.bench(f"pool/uds-dgram/{ctx}/workers:2", "hang:5", 500)
                self.assertTrue("no progress within" in error or "hang at message 5" in error,
                                error)
                self.assertLess(p.elapsed, 20)
        self.assertNothingLeft()

    def test_fanin_requests_are_checked_per_client(self):
        cases = {"duplicate:2": "(duplicated)", "bitflip:2": "corrupted body",
                 "kill:3": ""}
        for spec, expected in cases.items():
            for ctx in ("thread", "process"):
                with self.subTest(spec=spec, ctx=ctx):
                    error, _ = self.bench(f"fanin/shm-mpmc/{ctx}/clients:2", spec)
                    self.assertIn(expected, error)
                    self.assertNotEqual(error, "")
        self.assertNothingLeft()


class InterruptTest(Base):
    def start(self, *extra, group=False, contexts="process", transports="pipe,fifo,shm-ring"):
        out = os.path.join(self.tmp.name, "partial.json")
        p = subprocess.Popen(
            [BINARY, f"--transports={transports}", f"--contexts={contexts}",
             "--benchmark_min_time=3", f"--benchmark_out={out}", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=env_with(), start_new_session=group)
        # Wait until a peer process runs: the interrupt comes mid-benchmark. (Peers come
        # and go: Google Benchmark runs each benchmark a few times, each with a new peer.)
        time.sleep(0.3)
        end = time.monotonic() + 30
        while time.monotonic() < end and not self.children(p.pid):
            time.sleep(0.01)
        if time.monotonic() >= end:
            p.kill()
            self.fail("no peer process started: " + p.communicate()[1][-600:])
        return p, out

    @staticmethod
    def children(pid):
        return [q for q, _, _, _, ppid in leak_check.processes() if ppid == pid]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check_interrupted(self, sig, group, contexts="process"):
        p, out = self.start(group=group, contexts=contexts)
        kids = self.children(p.pid)
        if group:
            os.killpg(p.pid, sig)  # as Ctrl-C at a terminal: the peers get it too
        else:
            os.kill(p.pid, sig)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + sig, err)
        self.assertIn(f"ipcbench: interrupted by {signal.Signals(sig).name}", err)
        self.assertFalse(os.path.exists(out), "a half-written result file is left")
        self.assertEqual(os.listdir(self.tmp.name), [], "its partial file is left")
        self.assertEqual(owned_entries(p.pid), [])
        for kid in kids:
            self.assertFalse(leak_check.alive(kid), f"peer {kid} survived")
        self.assertNothingLeft()

    def test_sigint_to_ipcbench_alone(self):
        self.check_interrupted(signal.SIGINT, group=False)

    def test_sigterm_to_ipcbench_alone(self):
        self.check_interrupted(signal.SIGTERM, group=False)

    def test_ctrl_c_to_the_process_group(self):
        self.check_interrupted(signal.SIGINT, group=True)

    def test_sigterm_while_spawned_peers_hold_names(self):
        self.check_interrupted(signal.SIGTERM, group=False, contexts="spawn")

    def test_sigkill_kills_the_peers_and_the_next_run_removes_stale_names(self):
        p, _ = self.start(transports="shm-ring")  # it holds names (and its owner record)
        kids = self.children(p.pid)
        p.kill()
        p.communicate(timeout=30)
        for kid in kids:  # PR_SET_PDEATHSIG
            end = time.monotonic() + 5
            while leak_check.alive(kid) and self.state(kid) != "Z" and time.monotonic() < end:
                time.sleep(0.05)
            self.assertTrue(not leak_check.alive(kid) or self.state(kid) == "Z",
                            f"peer {kid} outlived a SIGKILLed ipcbench")
        # What a run killed while holding names would leave (Listener/Client sockets,
        # shared memory not yet unlinked): names carrying the dead run's pid and run id,
        # beside its owner record. Lookalikes of a user's (and our own earlier
        # --benchmark_out) carry a pid no process has, and are no run's: they stay.
        dead = p.pid
        run_id = self.run_id_of(dead)
        self.wait_unlocked(f"/tmp/ipcbench-{dead}-{run_id}.owner")  # every peer is gone
        shm = f"/dev/shm/ipcbench-{dead}-{run_id}-7"
        sockdir = f"/tmp/ipcbench-{dead}-{run_id}-AbCdEf"
        live = f"/tmp/ipcbench-{os.getpid()}-live"
        notes = f"/tmp/ipcbench-{dead}-notes"
        out = f"/tmp/ipcbench-{20260000 + os.getpid() % 10000}-base.json"
        with open(shm, "w"):
            pass
        os.mkdir(sockdir)
        os.mkfifo(os.path.join(sockdir, "fifo"))
        with open(os.path.join(sockdir, ".manifest"), "w") as f:
            f.write("fifo\n")
        os.mkdir(live)
        os.mkdir(notes)
        for path in (os.path.join(notes, "todo.txt"), out):
            with open(path, "w") as f:
                f.write("a user's\n")
        try:
            r = run("--quick", "--transports=pipe", "--contexts=thread",
                    "--benchmark_filter=size:16/")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("leftover(s) of dead runs", r.stderr)
            self.assertFalse(os.path.exists(shm))
            self.assertFalse(os.path.exists(sockdir))
            self.assertEqual(owned_entries(dead), [notes])
            self.assertTrue(os.path.exists(live), "a live owner's name was removed")
            self.assertTrue(os.path.exists(os.path.join(notes, "todo.txt")),
                            "a user's directory was removed")
            self.assertTrue(os.path.exists(out), "an earlier result file was removed")
        finally:
            for path in (shm, os.path.join(sockdir, "fifo"),
                         os.path.join(sockdir, ".manifest"), os.path.join(notes, "todo.txt"),
                         out):
                if os.path.exists(path):
                    os.unlink(path)
            for path in (sockdir, live, notes):
                if os.path.exists(path):
                    os.rmdir(path)
        self.assertNothingLeft()

    @staticmethod
    def wait_unlocked(record, timeout=10):
        """Until no process holds the run's owner record locked (a peer forked just before
        the SIGKILL may take a moment to die of it)."""
        end = time.monotonic() + timeout
        with open(record) as f:
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > end:
                        raise AssertionError(f"{record} is still locked")
                    time.sleep(0.05)

    @staticmethod
    def run_id_of(pid):
        """The run id in the owner record of ipcbench process `pid`."""
        for name in os.listdir("/tmp"):
            prefix = f"ipcbench-{pid}-"
            if name.startswith(prefix) and name.endswith(".owner"):
                return name[len(prefix):-len(".owner")]
        raise AssertionError(f"no owner record of run {pid} in /tmp")

    def test_sigkill_mid_queue_benchmark_and_the_next_run_reaps_the_queues(self):
        # System V queues live as long as their channel (IPC_RMID would end it), so a run
        # killed mid-benchmark leaves them and their markers; a POSIX queue is left only
        # while a spawned peer opens it, so that one is made here as such a run would.
        p = subprocess.Popen(
            [BINARY, "--transports=sysv-mq", "--contexts=process", "--benchmark_min_time=3",
             "--benchmark_filter=^roundtrip/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env_with())
        end = time.monotonic() + 30
        while time.monotonic() < end and not (self.children(p.pid) and self.queues_of(p.pid)):
            time.sleep(0.01)
        queues = self.queues_of(p.pid)
        p.kill()
        p.communicate(timeout=30)
        self.assertGreaterEqual(len(queues), 2, "no System V queue of the run was seen")
        dead = p.pid
        rt = ctypes.CDLL("librt.so.1", use_errno=True)
        rt.mq_open.restype = ctypes.c_int
        run_id = self.run_id_of(dead)
        name = f"/ipcbench-{dead}-{run_id}-mq-9".encode()
        mqd = rt.mq_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600, None)
        self.assertGreaterEqual(mqd, 0, os.strerror(ctypes.get_errno()))
        os.close(mqd)
        marker = f"/tmp/ipcbench-{dead}-{run_id}-mq-9"
        with open(marker, "w"):
            pass
        try:
            r = run("--quick", "--transports=pipe", "--contexts=thread",
                    "--benchmark_filter=size:16/")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("leftover(s) of dead runs", r.stderr)
            self.assertEqual(self.queues_of(dead), [], "System V queues of the dead run left")
            self.assertLess(rt.mq_open(name, os.O_RDONLY, 0, None), 0, "POSIX queue left")
            self.assertEqual(owned_entries(dead), [])
        finally:
            rt.mq_unlink(name)
            if os.path.exists(marker):
                os.unlink(marker)
        self.assertNothingLeft()

    @staticmethod
    def queues_of(pid):
        return [f"0x{key:08x}" for key, _ in leak_check.sysv_queues(leak_check.SYSV_TABLE)
                if leak_check.sysv_owner(key) == pid]

    @staticmethod
    def state(pid):
        stat = leak_check.read_proc(pid, "stat").decode()
        return stat[stat.rfind(")") + 2:].split()[0] if stat else ""


class ConcurrencyTest(Base):
    def test_two_runs_at_once_do_not_collide(self):
        results = [None, None]

        def one(i):
            # spawn keeps names (FIFOs, listeners, segments) until its peer opens them
            results[i] = run("--quick", "--benchmark_format=json", "--contexts=process,spawn",
                             "--transports=fifo,tcp,shm-boost,shm-ring,uds",
                             "--benchmark_filter=roundtrip/.*size:(16|4096)/")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for p in results:
            self.assertEqual(p.returncode, 0, p.stderr)
            got = entries(p)
            self.assertEqual(len(got), 20)
            self.assertEqual({n: e for n, e in got.items() if e}, {})
        self.assertNothingLeft()


NOBODY = 65534


def become_nobody():
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


class NamespaceTest(Base):
    @unittest.skipUnless(os.geteuid() == 0, "needs root for a pid namespace")
    def test_a_live_run_in_another_pid_namespace_is_not_disturbed(self):
        # The run inside gets a pid that no process has out here (ns_last_pid), so its names
        # look like a dead process's to anyone who trusts the pid alone (as an ipcbench
        # built before the owner records, run meanwhile on a shared machine, still does).
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
        inner = next(p for p in range(pid_max - 1000, pid_max - 5000, -1)
                     if not leak_check.alive(p))
        script = (f"echo {inner - 1} > /proc/sys/kernel/ns_last_pid; "
                  '"$0" "$@"; rc=$?; exit $rc')
        before = set(os.listdir("/tmp"))  # e.g. what a run killed here earlier left
        a = subprocess.Popen(
            ["unshare", "-p", "-f", "--mount-proc", "sh", "-c", script, BINARY,
             "--transports=pipe", "--benchmark_filter=^connection-setup/unix/process",
             "--benchmark_min_time=4", "--benchmark_format=json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_with())
        try:
            end = time.monotonic() + 30
            while time.monotonic() < end and not self.socket_dirs(inner, before):
                time.sleep(0.05)
            self.assertTrue(self.socket_dirs(inner, before), f"the run in the namespace (pid "
                            f"{inner} there) made no socket directory")
            r = run("--quick", "--transports=pipe", "--contexts=thread",
                    "--benchmark_filter=size:16/")
            self.assertEqual(r.returncode, 0, r.stderr)
            # (Its socket directories come and go with each benchmark run; its owner
            # record lives as long as the run.)
            records = [n for n in set(os.listdir("/tmp")) - before
                       if n.startswith(f"ipcbench-{inner}-") and n.endswith(".owner")]
            self.assertEqual(len(records), 1, "the live run's owner record was removed")
            out, err = a.communicate(timeout=120)
        finally:
            if a.poll() is None:
                a.kill()
                a.communicate()
        self.assertEqual(a.returncode, 0, err)
        got = entries(subprocess.CompletedProcess(a.args, a.returncode, out, err))
        self.assertTrue(got)
        self.assertEqual({n: e for n, e in got.items() if e}, {})
        self.assertNothingLeft()

    @staticmethod
    def socket_dirs(pid, before):
        prefix = f"ipcbench-{pid}-"
        return [os.path.join("/tmp", n) for n in set(os.listdir("/tmp")) - before
                if n.startswith(prefix) and os.path.isdir(os.path.join("/tmp", n))]


# Run as another user: connects to each address read from stdin ("unix <name>" for an
# abstract name, "tcp <port>" for 127.0.0.1) and sends 8 zero bytes, which a set-up server
# would read as "stop"; prints "ok" per connection made.
STRANGER = r"""
import socket, sys
for line in sys.stdin:
    kind, where = line.split()
    try:
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\0" + where)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(("127.0.0.1", int(where)))
        s.sendall(bytes(8))
        s.close()
        print("ok", flush=True)
    except OSError:
        pass
"""


class StrangerTest(Base):
    @unittest.skipUnless(os.geteuid() == 0, "needs root to act as another user")
    def test_another_users_connections_are_dropped_and_the_run_succeeds(self):
        p = subprocess.Popen(
            [BINARY, "--transports=pipe", "--contexts=process",
             "--benchmark_filter=^connection-setup/(unix-abstract|tcp)/",
             "--benchmark_min_time=1", "--benchmark_format=json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_with())
        stranger = subprocess.Popen([sys.executable, "-c", STRANGER], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, preexec_fn=become_nobody)
        sent = 0
        try:
            while p.poll() is None and sent < 2000:
                for target in self.listeners(p.pid):
                    stranger.stdin.write(target + "\n")
                    stranger.stdin.flush()
                    sent += 1
                time.sleep(0.02)
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
            made = stranger.communicate(timeout=30)[0].split().count("ok")
        self.assertEqual(p.returncode, 0, err)
        got = entries(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        self.assertEqual({n: e for n, e in got.items() if e}, {})
        self.assertGreater(made, 0, "the stranger never got through to a listener")
        self.assertNothingLeft()

    @staticmethod
    def listeners(pid):
        """The run's listening abstract names and loopback ports: "unix <name>", "tcp <n>"."""
        inodes = set()
        for q in [pid] + [k for k, _, _, _, ppid in leak_check.processes() if ppid == pid]:
            try:
                for fd in os.listdir(f"/proc/{q}/fd"):
                    link = os.readlink(f"/proc/{q}/fd/{fd}")
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
            except OSError:
                pass
        out = []
        with open("/proc/net/unix") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if (len(fields) == 8 and fields[5] == "01" and fields[6] in inodes
                        and fields[7].startswith(f"@ipcbench-{pid}-")):
                    out.append("unix " + fields[7][1:])
        with open("/proc/net/tcp") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    out.append(f"tcp {int(fields[1].split(':')[1], 16)}")
        return out


class IceoryxTest(Base):
    """ipcbench owns iceoryx's RouDi: killing ipcbench mid-benchmark, even with its RouDi
    unable to clean up after itself, leaves nothing once one more run is done."""

    def roudi_of(self, pid, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for kid, comm, _, _, ppid in leak_check.processes():
                if ppid == pid and comm == "iox-roudi":
                    return kid
            time.sleep(0.05)
        self.fail("ipcbench started no iox-roudi")

    def kill_mid_benchmark(self, stop_roudi_first):
        p = subprocess.Popen(
            [BINARY, "--transports=iceoryx-wait", "--contexts=process",
             "--benchmark_filter=throughput/iceoryx-wait/process/size:4096",
             "--benchmark_min_time=60"],
            env=env_with(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            roudi = self.roudi_of(p.pid)
            time.sleep(1.0)  # the benchmark is under way
            if stop_roudi_first:  # it cannot clean up when ipcbench dies (PR_SET_PDEATHSIG)
                os.kill(roudi, signal.SIGSTOP)
            p.kill()
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        r = run("--quick", "--transports=iceoryx-spin", "--contexts=thread",
                "--benchmark_filter=roundtrip/.*size:64/", "--benchmark_format=json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual({n: e for n, e in entries(r).items() if e}, {})
        # Gone, or a zombie of an init that does not reap (then not ours to reap either).
        self.assertFalse(leak_check.alive(roudi) and InterruptTest.state(roudi) != "Z",
                         f"RouDi {roudi} outlived the next run")
        self.assertFalse([k for k, comm, state, _, _ in leak_check.processes()
                          if comm == "iox-roudi" and state != "Z"], "an iox-roudi is left")
        for path in leak_check.ICEORYX_NAMES:
            self.assertFalse(os.path.lexists(path), f"{path} is left")
        self.assertNothingLeft()

    def test_sigkill_mid_benchmark_then_one_more_run_leaves_nothing(self):
        self.kill_mid_benchmark(stop_roudi_first=False)

    def test_a_roudi_that_could_not_clean_up_is_reaped_by_the_next_run(self):
        self.kill_mid_benchmark(stop_roudi_first=True)


class ExhaustionTest(Base):
    def test_too_few_file_descriptors_are_errors_not_a_crash(self):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (8, 8))

        p = run("--quick", "--benchmark_format=json", "--benchmark_filter=size:16/",
                "--transports=pipe,fifo,uds,tcp", preexec_fn=limit)
        self.assertEqual(p.returncode, 1, p.stderr)
        errors = [e for e in entries(p).values() if e]
        self.assertTrue(errors)
        for e in errors:
            self.assertIn("Too many open files", e)
        self.assertIn("benchmark run(s) failed", p.stderr.strip().splitlines()[-1])
        self.assertNothingLeft()

    def test_too_few_descriptors_to_start_is_one_line(self):
        p = run("--quick", preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (4, 4)))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.strip().splitlines(),
                         ["ipcbench: error: cannot start: pipe2: Too many open files"])
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    BINARY = support.binary_from_argv("reliability_test.py")
    unittest.main()
