"""Tests for scripts/floor_check.py: medians, ratios, verdicts, the runs it makes,
and its errors (one line, exit 2, nothing left behind)."""

import json
import os
import stat
import subprocess
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "floor_check.py")
DATA = os.path.join(ROOT, "tests", "data")
CROSS = os.path.join(DATA, "floor-cross.json")
SAME = os.path.join(DATA, "floor-same.json")

import floor_check  # noqa: E402  (scripts/ is on sys.path: __init__.py)


# The targets that decide the exit status; the fixtures' runs meet 5 of them.
COUNTED = sum(1 for t in floor_check.TARGETS if t.limit is not None)


def load(path):
    with open(path) as f:
        return json.load(f)


def run(*args, cwd=None):
    return subprocess.run(["/usr/bin/python3", SCRIPT, *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


class FiguresTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cross = floor_check.figures(load(CROSS))
        cls.same = floor_check.figures(load(SAME))

    def test_median_aggregate_is_used(self):
        # repetitions 310 290 300 500 280: median 300, mean would be 336
        fig = self.cross["roundtrip/shm-ring-spin/process/size:64"]
        self.assertAlmostEqual(fig.ns, 300.0)
        self.assertAlmostEqual(fig.cpu_ns, 600.0)
        self.assertEqual(fig.reps, 5)

    def test_time_units_become_nanoseconds(self):
        self.assertAlmostEqual(self.cross["floor/futex/process"].ns, 80_000.0)
        self.assertAlmostEqual(
            self.same["roundtrip/fifo/process/size:64"].ns, 7_100.0)

    def test_median_of_repetitions_without_aggregates(self):
        fig = self.same["floor/uds-raw/process/size:64"]
        self.assertAlmostEqual(fig.ns, 15_000.0)
        self.assertIsNone(fig.cpu_ns)
        self.assertIsNone(fig.p50)

    def test_error_entries_carry_their_message(self):
        fig = self.same["roundtrip/shm-ring-futex/process/size:64"]
        self.assertIsNone(fig.ns)
        self.assertIn("killed by signal 9", fig.error)

    def test_run_name_drops_real_time(self):
        self.assertEqual(floor_check.run_name(
            {"name": "floor/cacheline/process/real_time_median",
             "run_name": "floor/cacheline/process/real_time"}),
            "floor/cacheline/process")


class CompareTest(unittest.TestCase):
    def rows(self, runs):
        return {(r.target.pin, r.target.transport, r.target.floor): r
                for r in floor_check.compare(runs)}

    def test_ratios_and_verdicts(self):
        rows = self.rows({"cross": floor_check.figures(load(CROSS)),
                          "same": floor_check.figures(load(SAME))})
        spin = rows[("cross", "roundtrip/shm-ring-spin/process/size:64",
                     "floor/cacheline/process")]
        self.assertAlmostEqual(spin.ratio, 1.2)
        self.assertAlmostEqual(spin.p50_ratio, 1.5)
        self.assertEqual(spin.verdict, "PASS")
        # The 64-byte message floor: against the cache line, and the ring
        # against it; shown, no target.
        msg = rows[("cross", "floor/cacheline-msg/process/size:64",
                    "floor/cacheline/process")]
        self.assertAlmostEqual(msg.ratio, 1.6)
        self.assertEqual(msg.verdict, "INFO")
        slots = rows[("cross", "floor/cacheline-ring/process/size:64",
                      "floor/cacheline/process")]
        self.assertAlmostEqual(slots.ratio, 2.4)
        ring = rows[("cross", "roundtrip/shm-ring-spin/process/size:64",
                     "floor/cacheline-ring/process/size:64")]
        self.assertAlmostEqual(ring.ratio, 0.5)
        self.assertEqual(ring.verdict, "PASS")
        # A target whose figures the run lacks is missing, not passed.
        stream = rows[("same", "throughput/pipe/process/size:64",
                       "floor/pipe-raw-stream/process/size:64")]
        self.assertEqual(stream.verdict, "MISSING")
        pipe = rows[("same", "roundtrip/pipe/process/size:64",
                     "floor/pipe-raw/process/size:64")]
        self.assertAlmostEqual(pipe.ratio, 7000 / 6500)
        self.assertEqual(pipe.verdict, "PASS")
        uds = rows[("same", "roundtrip/uds/process/size:64",
                    "floor/uds-raw/process/size:64")]
        self.assertAlmostEqual(uds.ratio, 1.2)
        self.assertEqual(uds.verdict, "MISS")
        fifo = rows[("same", "roundtrip/fifo/process/size:64",
                     "floor/fifo-raw/process/size:64")]
        self.assertEqual(fifo.target.floor, "floor/fifo-raw/process/size:64")
        self.assertAlmostEqual(fifo.ratio, 7100 / 6600)
        self.assertEqual(fifo.verdict, "PASS")
        boost = rows[("same", "roundtrip/shm-boost/process/size:64",
                      "floor/futex/process")]
        self.assertEqual(boost.verdict, "INFO")
        self.assertFalse(boost.counts)
        failed = rows[("same", "roundtrip/shm-ring-futex/process/size:64",
                       "floor/futex/process")]
        self.assertEqual(failed.verdict, "ERROR")

    def test_a_missing_pin_run_is_missing(self):
        rows = self.rows({"cross": floor_check.figures(load(CROSS))})
        pipe = rows[("same", "roundtrip/pipe/process/size:64",
                     "floor/pipe-raw/process/size:64")]
        self.assertEqual(pipe.verdict, "MISSING")
        self.assertIn("--pin=same", pipe.why)

    def test_a_target_exactly_at_its_limit_passes(self):
        fig = floor_check.Figure
        row = floor_check.Row(floor_check.TARGETS[1], fig(110.0), fig(100.0))
        self.assertEqual(row.verdict, "PASS")
        row = floor_check.Row(floor_check.TARGETS[1], fig(111.0), fig(100.0))
        self.assertEqual(row.verdict, "MISS")

    def test_filters_select_exactly_the_needed_names(self):
        import re
        cross = re.compile(floor_check.filters("cross"))
        self.assertTrue(cross.search("roundtrip/shm-ring-spin/process/size:64/"
                                     "real_time"))
        self.assertTrue(cross.search("floor/cacheline/process/real_time"))
        self.assertFalse(cross.search("roundtrip/shm-ring-spin/process/"
                                      "size:640/real_time"))
        self.assertFalse(cross.search("roundtrip/pipe/process/size:64/"
                                      "real_time"))
        same = re.compile(floor_check.filters("same"))
        self.assertTrue(same.search("floor/uds-raw/process/size:64/real_time"))
        self.assertFalse(same.search("floor/cacheline/process/real_time"))


class CommandLineTest(unittest.TestCase):
    def test_report_and_exit_status_one_on_a_miss(self):
        proc = run("--json", CROSS, SAME)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(proc.stderr, "")
        lines = proc.stdout.splitlines()
        spin = [ln for ln in lines
                if ln.startswith("cross  shm-ring-spin   cacheline      ")]
        self.assertEqual(len(spin), 1)
        self.assertIn("1.20x", spin[0])
        self.assertIn("1.50x", spin[0])
        self.assertIn("PASS", spin[0])
        uds = [ln for ln in lines if ln.startswith("same   uds ")][0]
        self.assertIn("MISS", uds)
        self.assertIn(f"5 of {COUNTED} targets met", proc.stdout)
        self.assertIn("load average when the --pin=same run started: "
                      "0.60 0.50 0.40", proc.stdout)

    def test_exit_zero_when_every_target_passes(self):
        # Every name the targets need, each at the same time: every ratio is
        # 1.0, within every limit.
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for pin in ("cross", "same"):
                names = sorted({n for t in floor_check.TARGETS if t.pin == pin
                                for n in (t.transport, t.floor)})
                data = {"context": {"pin": pin},
                        "benchmarks": [{"name": n + "/real_time",
                                        "run_name": n + "/real_time",
                                        "run_type": "iteration",
                                        "real_time": 100.0,
                                        "time_unit": "ns"} for n in names]}
                paths.append(os.path.join(tmp, pin + ".json"))
                with open(paths[-1], "w") as f:
                    json.dump(data, f)
            proc = run("--json", *paths)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertIn(f"{COUNTED} of {COUNTED} targets met", proc.stdout)

    def check_error(self, args, message, cwd=None):
        proc = run(*args, cwd=cwd)
        self.assertEqual(proc.returncode, 2, proc.stdout)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("floor_check.py: error: "),
                        lines[0])
        self.assertIn(message, lines[0])
        self.assertNotIn("Traceback", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_bad_inputs(self):
        with tempfile.TemporaryDirectory() as tmp:
            def write(name, text):
                path = os.path.join(tmp, name)
                with open(path, "w") as f:
                    f.write(text)
                return path
            self.check_error(["--json", os.path.join(tmp, "nope.json")],
                             "nope.json: no such file")
            self.check_error(["--json", write("empty.json", "")],
                             "empty.json: empty file")
            with open(SAME) as f:
                truncated = f.read()[:500]
            self.check_error(["--json", write("cut.json", truncated)],
                             "cut.json: truncated JSON")
            self.check_error(["--json", write("list.json", "[1, 2]")],
                             'not Google Benchmark JSON (no "benchmarks" list)')
            data = load(SAME)
            del data["context"]["pin"]
            self.check_error(["--json", write("nopin.json", json.dumps(data))],
                             'no ipcbench "pin" in the context')
            self.check_error(["--json", SAME, SAME],
                             "a second run with --pin=same")
            self.check_error(["--repetitions", "0"], "--repetitions wants")
            self.check_error(["--repetitions", "x"], "invalid int value")
            self.check_error(["--min-time", "-1"], "--min-time wants")
            self.check_error(["--frobnicate"], "unrecognized arguments")
            self.check_error(["--binary", os.path.join(tmp, "missing")],
                             "cannot run")
            self.assertEqual(sorted(os.listdir(tmp)),
                             ["cut.json", "empty.json", "list.json",
                              "nopin.json"])

    def test_garbage_values_are_ignored_not_crashed_on(self):
        data = load(CROSS)
        for b in data["benchmarks"]:
            if b["run_name"].startswith("floor/cacheline/"):
                b["real_time"] = "fast"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cross.json")
            with open(path, "w") as f:
                json.dump(data, f)
            proc = run("--json", path, SAME)
        self.assertEqual(proc.returncode, 1)
        self.assertNotIn("Traceback", proc.stderr)
        row = [ln for ln in proc.stdout.splitlines()
               if ln.startswith("cross  shm-ring-spin   cacheline      ")][0]
        self.assertIn("MISSING", row)


FAKE_BINARY = textwrap.dedent("""\
    #!/usr/bin/python3
    import shutil, sys
    args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
    with open(sys.argv[0] + ".log", "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\\n")
    if args["--pin"] == "same" and "{fail}" == "yes":
        sys.exit(3)
    shutil.copy({data!r} + "/floor-" + args["--pin"] + ".json",
                args["--benchmark_out"])
    print("console output")
    """)


class RunTest(unittest.TestCase):
    def fake(self, tmp, fail=False):
        path = os.path.join(tmp, "ipcbench")
        with open(path, "w") as f:
            f.write(FAKE_BINARY.format(data=DATA, fail="yes" if fail else "no"))
        os.chmod(path, stat.S_IRWXU)
        return path

    def test_runs_both_pins_with_the_right_flags_and_keeps_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            binary = self.fake(tmp)
            prefix = os.path.join(tmp, "kept")
            proc = run("--binary", binary, "--keep", prefix)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn(f"5 of {COUNTED} targets met", proc.stdout)
            self.assertIn("console output", proc.stderr)  # not on stdout
            self.assertNotIn("console output", proc.stdout)
            with open(binary + ".log") as f:
                calls = f.read().splitlines()
            self.assertEqual(len(calls), 2)
            self.assertIn("--pin=cross", calls[0])
            self.assertIn("--pin=same", calls[1])
            for call in calls:
                self.assertIn("--benchmark_repetitions=5", call)
                self.assertIn("--benchmark_enable_random_interleaving=true",
                              call)
                self.assertIn("--benchmark_out_format=json", call)
            self.assertEqual(load(prefix + "-cross.json"), load(CROSS))
            self.assertEqual(load(prefix + "-same.json"), load(SAME))
            self.assertFalse([n for n in os.listdir(tmp)
                              if n.endswith(".part")])

    def test_a_failing_binary_is_one_error_and_keeps_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            binary = self.fake(tmp, fail=True)
            proc = run("--binary", binary, "--keep",
                       os.path.join(tmp, "kept"))
            self.assertEqual(proc.returncode, 2)
            self.assertIn("floor_check.py: error: ", proc.stderr)
            self.assertIn("--pin=same exited with status 3", proc.stderr)
            self.assertEqual(proc.stdout, "")
            self.assertFalse([n for n in os.listdir(tmp)
                              if n.startswith("kept")])


if __name__ == "__main__":
    unittest.main()
