#!/usr/bin/python3
"""Every blocking wait has a way out: peers SIGKILLed or SIGSTOPped at random points.

ipcbench runs round trips and streams (roundtrip/, throughput/) of every cross-process
transport but iceoryx (its RouDi is a machine-wide lock) in the process and spawn
contexts, with --timeout=400 and a --benchmark_min_time no benchmark reaches by itself.
A killer thread watches its process tree: it picks each new peer (a forked or spawned
child), waits a random delay (none at times, to land in the peer's start), then sends it
SIGKILL or, one time in six, SIGSTOP. Each signal must end that benchmark, with an error
entry, within 2x the timeout: the peer is reaped by then (a stopped one is found hung by
the watchdog and killed). A peer not reaped 2 s after that is a hang: ipcbench is killed
and the test fails. A peer that ended before its signal arrived only moves the killer on
to the next. Runs go two at a time; they go on until at least 200 kills and 30 stops
have landed. The thread context cannot lose a peer to a signal: there the test-only
fault hooks make a peer thread throw (kill) or stop reading (hang) at a random message.

Prints the counts: kills, stops, error entries, hangs (always 0 when it passes) and the
time from each signal to the end of its benchmark. PEER_KILL_SEED=<n> repeats a run;
PEER_KILL_TRANSPORTS=a,b,... looks at those transports only.

Usage: peer_kill_test.py PATH/TO/ipcbench   (CTest passes the built binary)
"""
import collections
import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binary_test_support as support  # noqa: E402
import leak_check  # noqa: E402

BINARY = None
MARKER = f"peer-kill-{os.getpid()}-{time.time_ns()}"
TIMEOUT_MS = 400
# A signal must end its benchmark within this (the peer is reaped by then).
LIMIT_S = 2 * TIMEOUT_MS / 1000
# Not reaped this long after the signal: ipcbench is stuck.
HANG_S = LIMIT_S + 2.0
MIN_KILLS = 200
MIN_STOPS = 30
STOP_EVERY = 6        # one signal in six is a SIGSTOP
MAX_DELAY_S = 0.08    # the random point: up to this long after the peer appeared
NO_DELAY_SHARE = 0.1  # ... or at once, in its start (fork, exec, connect)
# Cross-process transports (iceoryx left out: RouDi is one per machine), in two halves that
# run side by side.
TRANSPORTS = ["pipe", "fifo", "uds", "uds-seqpacket", "tcp", "shm-boost", "shm-ring",
              "shm-ring-spin", "shm-ring-futex", "peer-boost-spsc", "posix-mq", "sysv-mq",
              "eventfd", "zmq-ipc", "zmq-tcp", "nng-ipc", "nng-tcp"]
THREAD_TRANSPORTS = TRANSPORTS + ["queue", "zmq-inproc", "nng-inproc"]
if os.environ.get("PEER_KILL_TRANSPORTS"):  # to look at some only: a,b,...
    TRANSPORTS = os.environ["PEER_KILL_TRANSPORTS"].split(",")
    THREAD_TRANSPORTS = TRANSPORTS
SIZES = "64,4096,65536"
SCENARIOS = "^(roundtrip|throughput)/"


def env_with(**extra):
    return support.env_with(MARKER, **extra)


def stat_of(pid):
    """(comm, state) of a process, or None once it is reaped."""
    raw = leak_check.read_proc(pid, "stat").decode(errors="replace")
    if not raw:
        return None
    return raw[raw.find("(") + 1:raw.rfind(")")], raw[raw.rfind(")") + 2:].split()[0]


def live_children(pid):
    """The children of `pid` that are running (not zombies), iox-roudi aside."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        for kid in leak_check.read_proc(pid, f"task/{tid}/children").split():
            st = stat_of(int(kid))
            if st and st[1] != "Z" and st[0] != "iox-roudi":
                out.append(int(kid))
    return out


def stuck_where(pid):
    """What ipcbench's threads wait in, for the failure message."""
    lines = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return "gone"
    for tid in tasks:
        wchan = leak_check.read_proc(pid, f"task/{tid}/wchan").decode(errors="replace")
        lines.append(f"{tid}:{wchan or '?'}")
    return " ".join(lines)


class Tally:
    """What every run saw, shared by the runs going on at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kills = self.stops = self.missed = self.errors = 0
        self.hangs = []           # what a hang looked like
        self.late = []            # (seconds, what) for signals that took over LIMIT_S
        self.latencies = []
        self.messages = collections.Counter()
        self.figures = []         # benchmarks that gave a figure despite their signal

    def landed(self):
        with self.lock:
            return self.kills, self.stops


def normalised(error):
    """An error message without its label and numbers' variety, for the summary."""
    text = error.split(": ", 1)[1] if ": " in error else error
    for word in ("signal 9", "signal 19", "did not open its end"):
        if word in text:
            return text[:text.find(word) + len(word)]
    return text[:70]


def execed(pid):
    """Whether a spawned peer has become its program (before that, posix_spawn's child
    runs on ipcbench's memory, and ipcbench waits for its exec in the kernel)."""
    return b"--peer=" in leak_check.read_proc(pid, "cmdline")


def killer(proc, rng, tally, first_stop, spawned):
    """Signals each new peer of `proc` once, at a random point, until `proc` exits."""
    seen = set()
    count = first_stop
    while proc.poll() is None:
        peers = [p for p in live_children(proc.pid) if p not in seen]
        if not peers:
            time.sleep(0.002)
            continue
        peer = peers[0]
        seen.add(peer)
        if rng.random() >= NO_DELAY_SHARE:
            time.sleep(rng.uniform(0, MAX_DELAY_S))
        st = stat_of(peer)
        if st is None or st[1] in ("Z", "X"):
            with tally.lock:
                tally.missed += 1  # that attempt's peer finished first: try the next
            continue
        stop = count % STOP_EVERY == STOP_EVERY - 1
        # A peer stopped before its exec holds ipcbench in posix_spawn (vfork), where no
        # watchdog runs yet: not covered (the README says so); it is killed instead.
        if stop and spawned and not execed(peer):
            stop = False
        try:
            os.kill(peer, signal.SIGSTOP if stop else signal.SIGKILL)
        except ProcessLookupError:
            continue
        start = time.monotonic()
        count += 1
        while stat_of(peer) is not None and time.monotonic() - start < HANG_S:
            time.sleep(0.002)
        took = time.monotonic() - start
        what = f"{'SIGSTOP' if stop else 'SIGKILL'} of peer {peer}"
        with tally.lock:
            if stop:
                tally.stops += 1
            else:
                tally.kills += 1
            tally.latencies.append(took)
            if stat_of(peer) is not None:
                tally.hangs.append(f"{what}: not reaped within {HANG_S:.1f} s; ipcbench "
                                   f"waits in {stuck_where(proc.pid)}")
                proc.kill()
                return
            if took > LIMIT_S:
                tally.late.append((took, what))


def run_under_signals(transports, contexts, seed, tally):
    """One ipcbench run of `transports` whose peers the killer signals; returns its
    entries {name: error or None}."""
    rng = random.Random(seed)
    cmd = [BINARY, f"--transports={','.join(transports)}", f"--contexts={contexts}",
           f"--sizes={SIZES}", f"--benchmark_filter={SCENARIOS}", "--benchmark_min_time=20",
           f"--timeout={TIMEOUT_MS}", "--benchmark_format=json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_with())
    thread = threading.Thread(target=killer, args=(proc, rng, tally, rng.randrange(STOP_EVERY),
                                                   contexts == "spawn"))
    thread.start()
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        thread.join()
        # Nothing stopped may outlive the run (a forked peer dies with it; be sure).
        for kid in live_children(proc.pid):
            os.kill(kid, signal.SIGKILL)
    if proc.returncode not in (0, 1):
        return None, f"{cmd}: exit status {proc.returncode}: {err[-2000:]}"
    return {b["name"]: b.get("error_message") if b.get("error_occurred") else None
            for b in json.loads(out)["benchmarks"]}, None


class PeerKillTest(unittest.TestCase):
    def assertNothingLeft(self, deadline=5.0):
        self.assertEqual(support.leftovers(MARKER, deadline), [])

    def test_killed_or_stopped_peers_end_their_benchmarks_in_time(self):
        seed = int(os.environ.get("PEER_KILL_SEED", time.time_ns() % 1_000_000))
        tally = Tally()
        problems = []
        start = time.monotonic()

        def job(i):
            # Forked and spawned peers in turn, every transport, in a random order.
            transports = TRANSPORTS[:]
            random.Random(seed * 1000 + i).shuffle(transports)
            entries, problem = run_under_signals(transports, ("process", "spawn")[i % 2],
                                                 seed * 1000 + i, tally)
            if problem:
                return [problem]
            out = []
            for name, error in entries.items():
                if error and "not measured" in error:
                    continue  # above the transport's size limit: no peer ran
                with tally.lock:
                    if error:
                        tally.errors += 1
                        tally.messages[normalised(error)] += 1
                    else:
                        tally.figures.append(name)
            return out

        # Two runs at a time until enough signals have landed (the last pair may add more).
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            i = 0
            running = set()
            while True:
                kills, stops = tally.landed()
                if (kills >= MIN_KILLS and stops >= MIN_STOPS) or tally.hangs or \
                        i >= 12:
                    break
                while len(running) < 2:
                    running.add(pool.submit(job, i))
                    i += 1
                done, running = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED)
                for f in done:
                    problems += f.result()
            for f in running:
                problems += f.result()
        elapsed = time.monotonic() - start
        lat = sorted(tally.latencies)
        median = lat[len(lat) // 2] if lat else 0
        print(f"\npeer_kill_test: seed {seed}: {tally.kills} kills, {tally.stops} stops "
              f"(+{tally.missed} peers that ended first), {tally.errors} error entries, "
              f"{len(tally.figures)} figures, {len(tally.hangs)} hangs; signal to end of "
              f"benchmark: median {median * 1000:.0f} ms, max {lat[-1] * 1000 if lat else 0:.0f}"
              f" ms (limit {LIMIT_S * 1000:.0f}); {i} runs in {elapsed:.1f} s",
              file=sys.stderr)
        for message, n in tally.messages.most_common():
            print(f"peer_kill_test:   {n:4d} x {message}", file=sys.stderr)
        self.assertEqual(tally.hangs, [])
        self.assertEqual(problems, [])
        self.assertEqual(tally.late, [])
        # Every benchmark ran until a signal stopped it (min_time is out of reach).
        self.assertEqual(tally.figures, [])
        self.assertGreaterEqual(tally.kills, MIN_KILLS)
        self.assertGreaterEqual(tally.stops, MIN_STOPS)
        self.assertNothingLeft()

    def test_thread_peers_that_fail_or_hang_end_their_benchmarks(self):
        """Thread peers: a throw (what a kill is in a thread) at a random message for
        every transport; a hang at a random message for a random third of them."""
        seed = int(os.environ.get("PEER_KILL_SEED", time.time_ns() % 1_000_000))
        rng = random.Random(seed)
        hung = rng.sample(THREAD_TRANSPORTS, len(THREAD_TRANSPORTS) // 3)
        cases = [("kill", THREAD_TRANSPORTS, "peer thread failed"),
                 ("hang", hung, "no progress within")]
        for kind, transports, expected in cases:
            at = rng.randrange(1, 3000)
            with self.subTest(fault=f"{kind}:{at}"):
                start = time.monotonic()
                # Not throughput/memcpy/, which has no peer (and would run for min_time).
                p = subprocess.run(
                    [BINARY, f"--transports={','.join(transports)}", "--contexts=thread",
                     "--sizes=64", f"--benchmark_filter={SCENARIOS}({'|'.join(transports)})/",
                     "--benchmark_min_time=20", f"--timeout={TIMEOUT_MS}",
                     "--benchmark_format=json"],
                    capture_output=True, text=True, timeout=240,
                    env=env_with(IPCBENCH_FAULT=f"{kind}:{at}"))
                elapsed = time.monotonic() - start
                self.assertEqual(p.returncode, 1, p.stderr[-2000:])
                entries = {b["name"]: b.get("error_message") if b.get("error_occurred")
                           else None for b in json.loads(p.stdout)["benchmarks"]}
                self.assertEqual(len(entries), 2 * len(transports))
                for name, error in entries.items():
                    self.assertIsNotNone(error, f"{name} gave a figure")
                    self.assertIn(expected, error, name)
                # Each hang is found within 1.5x the timeout; a second a run for the rest.
                bound = 1.0 + len(entries) * (LIMIT_S if kind == "hang" else 0.1)
                self.assertLess(elapsed, bound)
                print(f"peer_kill_test: thread {kind}:{at}: {len(entries)} error entries "
                      f"in {elapsed:.1f} s", file=sys.stderr)
        self.assertNothingLeft()


if __name__ == "__main__":
    BINARY = support.binary_from_argv("peer_kill_test.py")
    unittest.main()
