"""Tests for scripts/pyref.py: JSON writer, message checks, errors, quick run."""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "pyref.py")
import pyref  # noqa: E402  (scripts/ is on sys.path: __init__.py)
from ipcbench_tools import gbwrite, pybench  # noqa: E402

# Keys, in order, of Google Benchmark 1.7.1's JSON entries (from a probe
# binary built against Debian's libbenchmark 1.7.1).
GB_ITERATION_KEYS = [
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "repetition_index", "threads", "iterations",
    "real_time", "cpu_time", "time_unit", "bytes_per_second",
    "items_per_second", "lookups_per_reader"]
GB_AGGREGATE_KEYS = [
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "threads", "aggregate_name",
    "aggregate_unit", "iterations", "real_time", "cpu_time", "time_unit",
    "bytes_per_second", "items_per_second", "lookups_per_reader"]
GB_ERROR_KEYS = [
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "repetition_index", "threads",
    "error_occurred", "error_message", "iterations", "real_time",
    "cpu_time", "time_unit"]
CONTEXT_KEYS = {
    "date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "caches",
    "load_avg", "library_build_type", "ipcbench_schema", "kernel",
    "cpu_model", "compiler", "build_type", "git_commit"}


def run_script(*args, timeout=60):
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


class JsonWriterTest(unittest.TestCase):
    RUNS = [{"iterations": 100, "seconds": s, "cpu_seconds": s / 2,
             "bytes_per_item": 64, "counters": ("lookups_per_reader",)}
            for s in (1.0, 2.0, 4.0)]
    NAME = "dict/py-local/thread/readers:1/real_time"

    def test_iteration_entries_have_gb_shape_and_values(self):
        e = gbwrite.benchmark_entries(self.NAME, 7, 3, self.RUNS)
        its = [x for x in e if x["run_type"] == "iteration"]
        self.assertEqual(len(its), 3)
        for i, x in enumerate(its):
            self.assertEqual(list(x), GB_ITERATION_KEYS)
            self.assertEqual(x["repetition_index"], i)
            self.assertEqual(x["family_index"], 7)
            self.assertEqual(x["run_name"], self.NAME)
            self.assertEqual(x["time_unit"], "ns")
        self.assertAlmostEqual(its[1]["real_time"], 2e7)
        self.assertAlmostEqual(its[1]["cpu_time"], 1e7)
        self.assertAlmostEqual(its[1]["items_per_second"], 50.0)
        self.assertAlmostEqual(its[1]["bytes_per_second"], 3200.0)
        self.assertAlmostEqual(its[1]["lookups_per_reader"], 50.0)

    def test_aggregates_match_google_benchmark_statistics(self):
        e = gbwrite.benchmark_entries(self.NAME, 0, 3, self.RUNS)
        aggs = {x["aggregate_name"]: x for x in e
                if x["run_type"] == "aggregate"}
        self.assertEqual(list(aggs), ["mean", "median", "stddev", "cv"])
        for name, x in aggs.items():
            self.assertEqual(list(x), GB_AGGREGATE_KEYS)
            self.assertEqual(x["name"], f"{self.NAME}_{name}")
            self.assertEqual(x["iterations"], 3)
        self.assertEqual(aggs["cv"]["aggregate_unit"], "percentage")
        self.assertEqual(aggs["mean"]["aggregate_unit"], "time")
        rates = [100.0, 50.0, 25.0]
        times = [1e7, 2e7, 4e7]
        self.assertAlmostEqual(aggs["mean"]["items_per_second"],
                               sum(rates) / 3)
        self.assertAlmostEqual(aggs["median"]["items_per_second"], 50.0)
        self.assertAlmostEqual(aggs["median"]["real_time"], 2e7)
        self.assertAlmostEqual(aggs["stddev"]["items_per_second"],
                               statistics.stdev(rates))
        self.assertAlmostEqual(aggs["cv"]["real_time"],
                               statistics.stdev(times) / (7e7 / 3))
        self.assertAlmostEqual(aggs["cv"]["items_per_second"],
                               statistics.stdev(rates) / (175 / 3))

    def test_median_of_two_is_their_mean_and_one_run_has_no_aggregates(self):
        e = gbwrite.benchmark_entries(self.NAME, 0, 2, self.RUNS[:2])
        med = [x for x in e if x.get("aggregate_name") == "median"][0]
        self.assertAlmostEqual(med["items_per_second"], 75.0)
        e = gbwrite.benchmark_entries(self.NAME, 0, 1, self.RUNS[:1])
        self.assertEqual([x["run_type"] for x in e], ["iteration"])

    def test_error_outcome_gives_error_entries_only(self):
        e = gbwrite.benchmark_entries(self.NAME, 2, 3, "message 5: lost")
        self.assertEqual(len(e), 3)
        for x in e:
            self.assertEqual(list(x), GB_ERROR_KEYS)
            self.assertIs(x["error_occurred"], True)
            self.assertEqual(x["error_message"], "message 5: lost")

    def test_names_follow_the_contract(self):
        names = list(pybench.registry())
        self.assertEqual(len(names), len(set(names)))
        rx = re.compile(r"(dict|throughput|roundtrip|connection|"
                        r"connection-roundtrip|pool)/py-[a-z]+(-[a-z]+)*/"
                        r"(thread|process)/"
                        r"((readers|size)|workers:\d+/size):\d+/real_time")
        for n in names:
            self.assertRegex(n, rx)
        for must in ("dict/py-local/thread/readers:1/real_time",
                     "dict/py-manager/process/readers:1/real_time",
                     "dict/py-manager/thread/readers:1/real_time",
                     "throughput/py-queue/thread/size:64/real_time",
                     "throughput/py-mpqueue/process/size:65536/real_time",
                     "throughput/py-pipe/process/size:4096/real_time",
                     "connection/py-unix/process/size:64/real_time",
                     "connection/py-tcp/process/size:64/real_time",
                     "roundtrip/py-pipe/process/size:256/real_time",
                     "throughput/py-zmq-ipc/process/size:65536/real_time",
                     "roundtrip/py-zmq-ipc/process/size:64/real_time",
                     "connection-roundtrip/py-tcp/process/size:64/real_time",
                     "pool/py-threadpool/thread/workers:8/size:64/real_time",
                     "pool/py-pool/process/workers:1/size:64/real_time"):
            self.assertIn(must, names)

    def test_filter_and_negation(self):
        names = ["a/py-x/thread/size:1/real_time",
                 "b/py-y/process/size:1/real_time"]
        self.assertEqual(pyref.select(names, (re.compile("py-x"), False)),
                         names[:1])
        self.assertEqual(pyref.select(names, (re.compile("py-x"), True)),
                         names[1:])

    def test_context_fields(self):
        c = pyref.build_context("scripts/pyref.py")
        self.assertTrue(CONTEXT_KEYS <= set(c))
        self.assertEqual(c["ipcbench_schema"], "1")
        self.assertTrue(c["compiler"].startswith("CPython 3."))
        self.assertIsInstance(c["caches"], list)
        self.assertEqual(len(c["load_avg"]), 3)


class MessageTest(unittest.TestCase):
    def setUp(self):
        self.pay = pybench.Payloads(64)

    def test_good_message_passes(self):
        for seq in range(40):
            pybench.check_message(self.pay.make(seq), seq, 64)

    def test_lost_corrupt_and_wrong_size_messages_fail(self):
        msg = self.pay.make(5)
        with self.assertRaisesRegex(pybench.BenchError, "sequence 5"):
            pybench.check_message(msg, 4, 64)
        bad = bytearray(msg)
        bad[-1] ^= 1
        with self.assertRaisesRegex(pybench.BenchError, "checksum"):
            pybench.check_message(bytes(bad), 5, 64)
        with self.assertRaisesRegex(pybench.BenchError, "expected 64 bytes"):
            pybench.check_message(msg[:-1], 5, 64)
        with self.assertRaisesRegex(pybench.BenchError, "got str"):
            pybench.check_message("x" * 64, 5, 64)


class FakeBench:
    def __init__(self, fail_at):
        self.fail_at, self.calls, self.torn_down = fail_at, 0, None

    def setup(self):
        pass

    def run(self, n):
        self.calls += 1
        if self.calls == self.fail_at:
            raise pybench.BenchError("message 3: checksum mismatch")
        return {"iterations": n, "seconds": n * 1e-3}

    def teardown(self, graceful=True):
        self.torn_down = graceful


class MeasureTest(unittest.TestCase):
    def setUp(self):
        self.old = signal.signal(signal.SIGALRM, pybench._Deadline.handler)

    def tearDown(self):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)

    def test_runs_last_about_min_time(self):
        b = FakeBench(fail_at=0)
        runs = pybench.measure(b, 3, 0.05, 5)
        self.assertEqual(len(runs), 3)
        for r in runs:
            self.assertAlmostEqual(r["seconds"], 0.05, delta=0.002)
        self.assertIs(b.torn_down, True)

    def test_error_makes_an_error_outcome_and_tears_down(self):
        b = FakeBench(fail_at=4)
        self.assertEqual(pybench.measure(b, 3, 0.05, 5),
                         "message 3: checksum mismatch")
        self.assertIs(b.torn_down, False)

    def _dead_peer(self, channel):
        import multiprocessing
        ctx = multiprocessing.get_context("fork")
        with tempfile.TemporaryDirectory() as tmp:
            b = pybench.OneWay("x", ctx, 1.0, tmp, channel, 64)
            b.setup()
            try:
                b.run(10)
                b.peers[0].worker.kill()
                t0 = time.monotonic()
                with self.assertRaises(pybench.BenchError):
                    with pybench._Deadline(1.0):
                        b.run(10)
                self.assertLess(time.monotonic() - t0, 3)
            finally:
                b.teardown(graceful=False)
            self.assertFalse(b.peers)

    def test_dead_peer_on_pipe_is_an_error_not_a_hang(self):
        self._dead_peer("pipe")

    def test_dead_peer_on_mp_queue_times_out(self):
        self._dead_peer("mpqueue")

    def test_dead_peer_on_zmq_times_out(self):
        self._dead_peer("zmq-ipc")


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "sub", "p.json")
        os.mkdir(os.path.dirname(self.out))

    def tearDown(self):
        self.tmp.cleanup()

    def assert_usage_error(self, args, text, out=None):
        r = run_script(*args, "--out", out or self.out)
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("pyref.py: error: "), lines[0])
        self.assertIn(text, lines[0])
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(os.listdir(os.path.dirname(self.out)), [])
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["sub"])

    def test_out_is_checked_before_the_run(self):
        # A missing directory is not made (a typo such as /nonexist/x.json), and a
        # directory as --out fails at once, not after the whole run.
        missing = os.path.join(self.tmp.name, "nonexist", "x.json")
        self.assert_usage_error([], "cannot write in " + os.path.dirname(missing)
                                + " (no such directory)", out=missing)
        self.assertFalse(os.path.exists(os.path.dirname(missing)))
        self.assert_usage_error([], "is a directory",
                                out=os.path.dirname(self.out))

    def test_bad_arguments(self):
        cases = [(["--repetitions", "0"], "--repetitions"),
                 (["--repetitions", "x"], "invalid int"),
                 (["--min-time", "-1"], "--min-time"),
                 (["--min-time", "1e9"], "--min-time"),
                 (["--min-time", "nan"], "--min-time"),
                 (["--timeout", "0"], "--timeout"),
                 (["--filter", "("], "bad regex"),
                 (["--filter", "no-such-benchmark"], "matches no"),
                 (["--bogus"], "unrecognized arguments")]
        for args, text in cases:
            with self.subTest(args=args):
                self.assert_usage_error(args, text)

    def test_quick_run_end_to_end(self):
        t0 = time.monotonic()
        r = run_script("--quick", "--filter",
                       "py-local|throughput/py-pipe/process/size:64|"
                       "roundtrip/py-queue/thread/size:64", "--out",
                       self.out, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - t0, 20)
        with open(self.out) as f:
            doc = json.load(f)
        self.assertTrue(CONTEXT_KEYS <= set(doc["context"]))
        names = {e["run_name"] for e in doc["benchmarks"]}
        self.assertEqual(names, {
            "dict/py-local/thread/readers:1/real_time",
            "throughput/py-pipe/process/size:64/real_time",
            "roundtrip/py-queue/thread/size:64/real_time"})
        for name in names:
            es = [e for e in doc["benchmarks"] if e["run_name"] == name]
            self.assertFalse(any(e.get("error_occurred") for e in es), es)
            self.assertEqual([e["run_type"] for e in es],
                             ["iteration"] * 2 + ["aggregate"] * 4)
            self.assertTrue(all(e["items_per_second"] > 0 for e in es[:2]))
        leftovers = [n for n in os.listdir(os.path.dirname(self.out))
                     if n != "p.json"]
        self.assertEqual(leftovers, [])

    def test_interrupt_leaves_nothing_behind(self):
        p = subprocess.Popen(
            [sys.executable, SCRIPT, "--filter", "py-manager|py-unix",
             "--out", self.out], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(1.5)
        os.killpg(p.pid, signal.SIGINT)  # like Ctrl-C: the whole group
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted", err)
        self.assertFalse(os.path.exists(self.out))
        time.sleep(0.3)
        ps = subprocess.run(["ps", "-o", "pid=", "-g", str(p.pid)],
                            capture_output=True, text=True)
        self.assertEqual(ps.stdout.strip(), "", "children left running")


if __name__ == "__main__":
    unittest.main()
