"""The Python reference benchmarks of scripts/pyref.py: CPython's
multiprocessing (fork) channels, each message checked (sequence number and
CRC-32), measured Google-Benchmark style (warm-up, then repetitions of about
min_time each). registry() names them; run_all() runs them into Google
Benchmark JSON entries (ipcbench_tools.gbwrite)."""
import ctypes
import itertools
import multiprocessing
import multiprocessing.connection
import multiprocessing.managers
import os
import queue
import random
import shutil
import signal
import struct
import tempfile
import threading
import time
import zlib

from ipcbench_tools.gbwrite import benchmark_entries

NUM_KEYS = 10_000
VALUE_SIZE = 64
KEY_SEED = 20080101
KEY_SEQUENCE = 1 << 16
THROUGHPUT_SIZES = (64, 4096, 65536)
ROUNDTRIP_SIZES = (64, 256)
CONNECTION_ROUNDTRIP_SIZES = (64,)
HEADER = struct.Struct("<QI")  # sequence number, CRC-32 of the body
QUEUE_BYTES = 8 << 20  # bound on bytes buffered in a queue (backpressure)
PR_SET_PDEATHSIG = 1


class BenchError(Exception):
    """A benchmark failed: lost/corrupt message, dead peer, timeout."""


class Interrupted(BaseException):
    """SIGINT/SIGTERM: stop, clean up, write nothing."""


# --------------------------------------------------------------- messages

class Payloads:
    """Messages of `size` bytes: header (seq, crc32(body)) + body.

    Sixteen precomputed random bodies, so building a message costs one
    concatenation and the checksum still differs between neighbours.
    """

    def __init__(self, size, seed=1):
        if size < HEADER.size:
            raise ValueError(f"size {size} < header {HEADER.size}")
        rng = random.Random(seed)
        self.bodies = [rng.randbytes(size - HEADER.size) for _ in range(16)]
        self.crcs = [zlib.crc32(b) for b in self.bodies]

    def make(self, seq):
        i = seq & 15
        return HEADER.pack(seq, self.crcs[i]) + self.bodies[i]


def check_message(msg, seq, size):
    """Raise BenchError unless msg is message `seq` of `size` bytes, intact."""
    if type(msg) is not bytes or len(msg) != size:
        got = len(msg) if isinstance(msg, bytes) else type(msg).__name__
        raise BenchError(f"message {seq}: expected {size} bytes, got {got}")
    got_seq, crc = HEADER.unpack_from(msg)
    if got_seq != seq:
        raise BenchError(f"message {seq}: got sequence {got_seq} "
                         f"(lost, duplicated or reordered)")
    if zlib.crc32(memoryview(msg)[HEADER.size:]) != crc:
        raise BenchError(f"message {seq}: checksum mismatch")


def dict_data():
    """The shared dict's content and a fixed random lookup sequence."""
    data = {}
    for i in range(NUM_KEYS):
        data[f"key-{i:05d}"] = (f"value-{i:05d}-" * 8).encode()[:VALUE_SIZE]
    rng = random.Random(KEY_SEED)
    keys = list(data)
    pairs = []
    for _ in range(KEY_SEQUENCE):
        k = keys[rng.randrange(NUM_KEYS)]
        pairs.append((k, data[k]))
    return data, pairs


# ------------------------------------------------------------- deadlines

class _Deadline:
    """SIGALRM-based deadline for blocking calls in the main thread."""

    armed = False

    @classmethod
    def handler(cls, signum, frame):
        if cls.armed:
            cls.armed = False
            raise BenchError("timed out (peer hung or died)")

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        _Deadline.armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        _Deadline.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        return False


def _child_guard():
    """In every child: die with the parent; leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------ peers

def _peer_main(guard, ctrl, other_end, body, args):
    if guard:
        _child_guard()
    if other_end is not None:
        other_end.close()
    try:
        body(ctrl, *args)
    except Exception as e:  # report, never raise into multiprocessing
        try:
            ctrl.send(("error", f"peer: {type(e).__name__}: {e}"))
        except OSError:
            pass


class Peer:
    """A thread or forked process running body(ctrl, *args).

    ctrl is one end of a Pipe used for commands and replies (never on the
    measured path of one-way benchmarks). The owner reaps it in close().
    """

    def __init__(self, ctx, context, body, *args, close_in_parent=()):
        self.ctrl, child = ctx.Pipe()
        self.context = context
        if context == "process":
            self.worker = ctx.Process(
                target=_peer_main, args=(True, child, self.ctrl, body, args),
                daemon=True)
        else:
            self.worker = threading.Thread(
                target=_peer_main, args=(False, child, None, body, args),
                daemon=True)
        self.worker.start()
        if context == "process":
            child.close()
            for c in close_in_parent:
                c.close()
        self._child = child

    def request(self, message, timeout):
        try:
            self.ctrl.send(message)
        except OSError as e:
            raise BenchError(f"peer gone: {e.strerror or e}")
        return self.reply(timeout)

    def reply(self, timeout):
        if not self.ctrl.poll(timeout):
            raise BenchError("timed out waiting for the peer")
        try:
            r = self.ctrl.recv()
        except (EOFError, OSError):
            raise BenchError("peer exited unexpectedly")
        if r[0] == "error":
            raise BenchError(r[1])
        return r

    def close(self, timeout=5.0):
        try:
            self.ctrl.send(("stop",))
        except (OSError, ValueError):
            pass
        self.worker.join(timeout)
        if self.context == "process":
            if self.worker.is_alive():
                self.worker.kill()
                self.worker.join(timeout)
            self.worker.close()
        else:
            self._child.close()
        self.ctrl.close()


# ------------------------------------------------------------ peer bodies

def _dict_reader(ctrl, mapping, pairs):
    """Answers ("run", start, n) with ("ok", seconds, cpu_seconds)."""
    while True:
        cmd = ctrl.recv()
        if cmd[0] == "stop":
            return
        _, start, n = cmd
        seq = pairs[start:] + pairs[:start]
        lookups = itertools.islice(itertools.cycle(seq), n)
        c0, t0 = time.thread_time(), time.perf_counter()
        for key, value in lookups:
            if mapping[key] != value:
                ctrl.send(("error", f"wrong value for {key}"))
                break
        else:
            t1, c1 = time.perf_counter(), time.thread_time()
            ctrl.send(("ok", t1 - t0, c1 - c0))


def _sender(ctrl, send, size, connect=None):
    """Answers ("send", first_seq, n) by sending n messages, then "done"."""
    if connect is not None:
        send = connect()
    ctrl.send(("ready",))
    pay = Payloads(size)
    while True:
        cmd = ctrl.recv()
        if cmd[0] == "stop":
            return
        _, first, n = cmd
        for seq in range(first, first + n):
            send(pay.make(seq))
        ctrl.send(("done",))


def _echo(ctrl, recv, send, connect=None):
    """Sends back every message until it receives None."""
    if connect is not None:
        recv, send = connect()
    ctrl.send(("ready",))
    while True:
        msg = recv()
        if msg is None:
            return
        send(msg)


WORK_NS = 1000  # the pool's unit of work per task, as ipcbench's (about 1 us)
POOL_WORKERS = (1, 2, 4, 8)
POOL_SIZE = 64


def _pool_worker(ctrl, index, tasks, results, size):
    """Takes (seq, message) tasks until None; checks each, spins WORK_NS, and
    puts (seq, index, crc) as its result; answers the stop with ("stopped",
    index, tasks done)."""
    ctrl.send(("ready",))
    done = 0
    clock = time.perf_counter_ns
    while True:
        task = tasks.get()
        if task is None:
            results.put(("stopped", index, done))
            return
        seq, msg = task
        check_message(msg, seq, size)
        end = clock() + WORK_NS
        while clock() < end:
            pass
        results.put((seq, index, HEADER.unpack_from(msg)[1]))
        done += 1


def _connect_client(address, family):
    def connect():
        conn = multiprocessing.connection.Client(address, family=family)
        return conn.send
    return connect


def _connect_echo(address, family):
    def connect():
        conn = multiprocessing.connection.Client(address, family=family)
        return conn.recv, conn.send
    return connect


class _ZmqEnd:
    """A pyzmq PAIR socket with its own context: bytes in and out, None as
    the empty message that stops an echo, a timeout as BenchError."""

    def __init__(self, address, bind, timeout):
        import zmq  # only when measured: the other benchmarks start as before
        self.zmq = zmq
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.PAIR)
        ms = int(timeout * 1000)
        for opt, value in ((zmq.RCVTIMEO, ms), (zmq.SNDTIMEO, ms),
                           (zmq.LINGER, ms)):
            self.socket.setsockopt(opt, value)
        (self.socket.bind if bind else self.socket.connect)(address)

    def send(self, msg):
        try:
            self.socket.send(b"" if msg is None else msg, copy=False)
        except self.zmq.Again:
            raise BenchError("zmq: send timed out")

    def recv(self):
        try:
            msg = self.socket.recv()
        except self.zmq.Again:
            raise BenchError("zmq: receive timed out")
        return msg or None

    def close(self):
        self.socket.close()
        self.context.term()


def _connect_zmq(address, timeout, send_only=False):
    # In the forked peer: a context of its own (a parent's is unusable).
    def connect():
        end = _ZmqEnd(address, False, timeout)
        return end.send if send_only else (end.recv, end.send)
    return connect


def _zmq_address(tmpdir):
    return "ipc://" + os.path.join(tmpdir, f"zmq-{os.getpid()}.sock")


# ------------------------------------------------------------- benchmarks

class Bench:
    """One benchmark: setup(), run(n) -> run dict, teardown().

    run() blocks only in the main thread, under the caller's deadline.
    """

    bytes_per_item = 0
    counters = ()

    def __init__(self, name, ctx, timeout, tmpdir):
        self.name, self.ctx, self.timeout = name, ctx, timeout
        self.tmpdir = tmpdir
        self.peers = []
        self.closers = []

    def setup(self):
        pass

    def run(self, n):
        raise NotImplementedError

    def teardown(self, graceful=True):
        # After an error or Ctrl-C the peers may be busy or stuck: do not
        # wait for them, kill them.
        for p in reversed(self.peers):
            try:
                p.close(5.0 if graceful else 0.1)
            except Exception:
                pass
        for c in reversed(self.closers):
            try:
                c()
            except Exception:
                pass
        self.peers, self.closers = [], []
        self.__dict__.pop("shared", None)
        self.__dict__.pop("mgr", None)

    def result(self, n, seconds, cpu):
        return {"iterations": n, "seconds": max(seconds, 1e-9),
                "cpu_seconds": cpu, "bytes_per_item": self.bytes_per_item,
                "counters": self.counters}


class LocalDict(Bench):
    counters = ("lookups_per_reader",)

    def setup(self):
        self.data, self.pairs = dict_data()
        self.pos = 0

    def run(self, n):
        d = self.data
        seq = self.pairs[self.pos:] + self.pairs[:self.pos]
        lookups = itertools.islice(itertools.cycle(seq), n)
        c0, t0 = time.thread_time(), time.perf_counter()
        for key, value in lookups:
            if d[key] != value:
                raise BenchError(f"wrong value for {key}")
        t1, c1 = time.perf_counter(), time.thread_time()
        self.pos = (self.pos + n) % len(self.pairs)
        return self.result(n, t1 - t0, c1 - c0)


class ManagerDict(Bench):
    counters = ("lookups_per_reader",)

    def __init__(self, name, ctx, timeout, tmpdir, context):
        super().__init__(name, ctx, timeout, tmpdir)
        self.context = context

    def setup(self):
        data, pairs = dict_data()
        self.npairs = len(pairs)
        self.pos = 0
        # Keep the manager referenced: its shutdown finalizer fires when
        # the SyncManager object is collected.
        self.mgr = multiprocessing.managers.SyncManager(ctx=self.ctx)
        self.mgr.start(_child_guard)
        self.closers.append(self.mgr.shutdown)
        self.shared = self.mgr.dict(data)
        self.peers.append(Peer(self.ctx, self.context, _dict_reader,
                               self.shared, pairs))

    def run(self, n):
        r = self.peers[0].request(("run", self.pos, n), self.timeout)
        self.pos = (self.pos + n) % self.npairs
        return self.result(n, r[1], r[2])


class OneWay(Bench):
    """Peer sends, main thread receives and checks: messages/s."""

    def __init__(self, name, ctx, timeout, tmpdir, channel, size):
        super().__init__(name, ctx, timeout, tmpdir)
        self.channel, self.size = channel, size
        self.bytes_per_item = size
        self.seq = 0

    def setup(self):
        ctx, ch = self.ctx, self.channel
        bound = max(16, min(1000, QUEUE_BYTES // self.size))
        if ch == "queue":
            q = queue.Queue(bound)
            self.recv = q.get
            peer = Peer(ctx, "thread", _sender, q.put, self.size)
        elif ch == "mpqueue":
            q = ctx.Queue(bound)
            self.closers.append(lambda: (q.cancel_join_thread(), q.close()))
            self.recv = q.get
            peer = Peer(ctx, "process", _sender, q.put, self.size)
        elif ch == "pipe":
            mine, theirs = ctx.Pipe()
            self.closers.append(mine.close)
            self.recv = mine.recv
            peer = Peer(ctx, "process", _sender, theirs.send, self.size,
                        close_in_parent=(theirs,))
        elif ch == "zmq-ipc":
            address = _zmq_address(self.tmpdir)
            end = _ZmqEnd(address, True, self.timeout)
            self.closers.append(end.close)
            self.recv = end.recv
            peer = Peer(ctx, "process", _sender, None, self.size,
                        _connect_zmq(address, self.timeout, send_only=True))
        else:
            listener, address, family = _listen(ch, self.tmpdir)
            self.closers.append(listener.close)
            peer = Peer(ctx, "process", _sender, None, self.size,
                        _connect_client(address, family))
            with _Deadline(self.timeout):
                conn = listener.accept()
            self.closers.append(conn.close)
            self.recv = conn.recv
        self.peers.append(peer)
        peer.reply(self.timeout)  # "ready"

    def run(self, n):
        peer, recv, size, first = self.peers[0], self.recv, self.size, self.seq
        try:
            peer.ctrl.send(("send", first, n))
            c0, t0 = time.thread_time(), time.perf_counter()
            for seq in range(first, first + n):
                check_message(recv(), seq, size)
        except (EOFError, OSError) as e:
            raise BenchError(f"channel closed: {type(e).__name__}")
        t1, c1 = time.perf_counter(), time.thread_time()
        self.seq = first + n
        peer.reply(self.timeout)  # "done"
        return self.result(n, t1 - t0, c1 - c0)


class RoundTrip(Bench):
    """Main thread sends, peer echoes, main thread checks: round trips/s."""

    def __init__(self, name, ctx, timeout, tmpdir, channel, size):
        super().__init__(name, ctx, timeout, tmpdir)
        self.channel, self.size = channel, size
        self.seq = 0

    def setup(self):
        ctx, ch = self.ctx, self.channel
        self.pay = Payloads(self.size)
        if ch == "queue":
            ping, pong = queue.Queue(), queue.Queue()
            self.send, self.recv = ping.put, pong.get
            peer = Peer(ctx, "thread", _echo, ping.get, pong.put)
        elif ch == "mpqueue":
            ping, pong = ctx.Queue(), ctx.Queue()
            for q in (ping, pong):
                self.closers.append(
                    lambda q=q: (q.cancel_join_thread(), q.close()))
            self.send, self.recv = ping.put, pong.get
            peer = Peer(ctx, "process", _echo, ping.get, pong.put)
        elif ch == "pipe":
            mine, theirs = ctx.Pipe()
            self.closers.append(mine.close)
            self.send, self.recv = mine.send, mine.recv
            peer = Peer(ctx, "process", _echo, theirs.recv, theirs.send,
                        close_in_parent=(theirs,))
        elif ch == "zmq-ipc":
            address = _zmq_address(self.tmpdir)
            end = _ZmqEnd(address, True, self.timeout)
            self.closers.append(end.close)
            self.send, self.recv = end.send, end.recv
            peer = Peer(ctx, "process", _echo, None, None,
                        _connect_zmq(address, self.timeout))
        else:
            listener, address, family = _listen(ch, self.tmpdir)
            self.closers.append(listener.close)
            peer = Peer(ctx, "process", _echo, None, None,
                        _connect_echo(address, family))
            with _Deadline(self.timeout):
                conn = listener.accept()
            self.closers.append(conn.close)
            self.send, self.recv = conn.send, conn.recv
        self.peers.append(peer)
        peer.reply(self.timeout)  # "ready"

    def teardown(self, graceful=True):
        # The echo peer leaves on None; Peer.close() kills it otherwise.
        if graceful:
            try:
                with _Deadline(2.0):
                    self.send(None)
            except Exception:
                pass
        super().teardown(graceful)

    def run(self, n):
        send, recv, size, make = self.send, self.recv, self.size, self.pay.make
        first = self.seq
        c0, t0 = time.thread_time(), time.perf_counter()
        try:
            for seq in range(first, first + n):
                send(make(seq))
                check_message(recv(), seq, size)
        except (EOFError, OSError) as e:
            raise BenchError(f"channel closed: {type(e).__name__}")
        t1, c1 = time.perf_counter(), time.thread_time()
        self.seq = first + n
        return self.result(n, t1 - t0, c1 - c0)


class Pool(Bench):
    """One producer, n workers on one shared task queue (queue.Queue with
    threads, multiprocessing.Queue with processes), one result queue; 2n tasks
    in flight, every task accounted for: tasks/s."""

    def __init__(self, name, ctx, timeout, tmpdir, context, workers):
        super().__init__(name, ctx, timeout, tmpdir)
        self.context, self.workers = context, workers
        self.seq = 0

    def setup(self):
        self.pay = Payloads(POOL_SIZE)
        if self.context == "thread":
            self.tasks, self.results = queue.Queue(), queue.Queue()
        else:
            self.tasks, self.results = self.ctx.Queue(), self.ctx.Queue()
            for q in (self.tasks, self.results):
                self.closers.append(lambda q=q: (q.cancel_join_thread(), q.close()))
        self.done = [0] * self.workers
        for i in range(self.workers):
            peer = Peer(self.ctx, self.context, _pool_worker, i, self.tasks,
                        self.results, POOL_SIZE)
            self.peers.append(peer)
            peer.reply(self.timeout)

    def _take(self, out):
        r = self.results.get()
        if r[0] == "stopped":
            raise BenchError(f"worker {r[1]} stopped early")
        seq, worker, crc = r
        if seq not in out:
            raise BenchError(f"task {seq} done twice or never put")
        if out.pop(seq) != crc:
            raise BenchError(f"task {seq}: result does not match (corrupted)")
        self.done[worker] += 1

    def run(self, n):
        put, make, window = self.tasks.put, self.pay.make, 2 * self.workers
        first, end = self.seq, self.seq + n
        out = {}
        c0, t0 = time.thread_time(), time.perf_counter()
        seq = first
        while seq < end or out:
            if seq < end and len(out) < window:
                msg = make(seq)
                out[seq] = HEADER.unpack_from(msg)[1]
                put((seq, msg))
                seq += 1
            else:
                self._take(out)
        t1, c1 = time.perf_counter(), time.thread_time()
        self.seq = end
        return self.result(n, t1 - t0, c1 - c0)

    def teardown(self, graceful=True):
        if graceful:
            try:
                with _Deadline(5.0):
                    for _ in range(self.workers):
                        self.tasks.put(None)
                    stopped = {}
                    while len(stopped) < self.workers:
                        r = self.results.get()
                        if r[0] != "stopped":
                            raise BenchError("a result after the last task")
                        stopped[r[1]] = r[2]
                    for i, count in stopped.items():
                        if count != self.done[i]:
                            raise BenchError(f"worker {i}: {count} tasks done, "
                                             f"{self.done[i]} results")
            except Exception:
                pass
        super().teardown(graceful)


def _listen(channel, tmpdir):
    if channel == "unix":
        address = os.path.join(tmpdir, f"conn-{os.getpid()}.sock")
        family = "AF_UNIX"
    else:
        address, family = ("127.0.0.1", 0), "AF_INET"
    listener = multiprocessing.connection.Listener(address, family)
    return listener, listener.address, family


def registry():
    """name -> factory(ctx, timeout, tmpdir) -> Bench, in run order."""
    reg = {}

    def add(name, cls, *args):
        full = name + "/real_time"
        reg[full] = lambda ctx, to, tmp: cls(full, ctx, to, tmp, *args)

    add("dict/py-local/thread/readers:1", LocalDict)
    add("dict/py-manager/process/readers:1", ManagerDict, "process")
    add("dict/py-manager/thread/readers:1", ManagerDict, "thread")
    streams = (("throughput", "py-queue", "thread", "queue"),
               ("throughput", "py-mpqueue", "process", "mpqueue"),
               ("throughput", "py-pipe", "process", "pipe"),
               ("throughput", "py-zmq-ipc", "process", "zmq-ipc"),
               ("connection", "py-unix", "process", "unix"),
               ("connection", "py-tcp", "process", "tcp"))
    for scenario, transport, context, channel in streams:
        for size in THROUGHPUT_SIZES:
            add(f"{scenario}/{transport}/{context}/size:{size}", OneWay,
                channel, size)
    trips = (("roundtrip", "py-queue", "thread", "queue"),
             ("roundtrip", "py-mpqueue", "process", "mpqueue"),
             ("roundtrip", "py-pipe", "process", "pipe"),
             ("roundtrip", "py-zmq-ipc", "process", "zmq-ipc"),
             ("connection-roundtrip", "py-unix", "process", "unix"),
             ("connection-roundtrip", "py-tcp", "process", "tcp"))
    for scenario, transport, context, channel in trips:
        sizes = (CONNECTION_ROUNDTRIP_SIZES if scenario.startswith("conn")
                 else ROUNDTRIP_SIZES)
        for size in sizes:
            add(f"{scenario}/{transport}/{context}/size:{size}", RoundTrip,
                channel, size)
    for transport, context in (("py-threadpool", "thread"), ("py-pool", "process")):
        for workers in POOL_WORKERS:
            add(f"pool/{transport}/{context}/workers:{workers}/size:{POOL_SIZE}", Pool,
                context, workers)
    return reg


# ----------------------------------------------------------------- driver

def measure(bench, repetitions, min_time, timeout):
    """Runs of about min_time each, after a Google-Benchmark-like warm-up.

    Returns a list of run dicts, or an error message.
    """
    graceful = False
    try:
        with _Deadline(timeout):
            bench.setup()
        n = 1
        while True:  # find n so that one run lasts about min_time
            with _Deadline(timeout):
                r = bench.run(n)
            if r["seconds"] >= min_time or n >= 1 << 40:
                break
            grow = min_time * 1.4 / max(r["seconds"], 1e-9)
            n = max(n + 1, int(n * min(grow, 10.0)))
        runs = []
        for _ in range(repetitions):
            rate = r["iterations"] / r["seconds"]
            n = max(1, int(rate * min_time))
            with _Deadline(timeout):
                r = bench.run(n)
            runs.append(r)
        graceful = True
        return runs
    except BenchError as e:
        return str(e)
    except (OSError, EOFError) as e:  # a channel broke outside run()'s checks
        return f"{type(e).__name__}: {e}"
    finally:
        bench.teardown(graceful)


def run_all(names, factories, repetitions, min_time, timeout, report=None):
    """Run the named benchmarks; returns the list of JSON entries."""
    ctx = multiprocessing.get_context("fork")
    entries = []
    tmpdir = tempfile.mkdtemp(prefix="ipcbench-pyref-")
    try:
        for family, name in enumerate(names):
            bench = factories[name](ctx, timeout, tmpdir)
            outcome = measure(bench, repetitions, min_time, timeout)
            got = benchmark_entries(name, family, repetitions, outcome)
            entries.extend(got)
            if report:
                report(name, outcome, got)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return entries
