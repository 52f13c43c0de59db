#!/usr/bin/python3
"""Smoke test of the ipcbench binary: a quick run with JSON output holds every expected
benchmark with a positive rate and no error, and bad flags fail with one clear line.

Usage: smoke_test.py PATH/TO/ipcbench   (CTest passes the built binary)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

BINARY = None

STARTUP_COUNTERS = ["start_us", "first_message_us", "teardown_us"]
PERCENTILES = ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"]
READERS = [1, 2, 4]
# Benchmarks with no peer to place: one thread copying memory.
UNPLACED = ("floor/memcpy/", "throughput/memcpy/")


def above_limit(name, limits):
    """The size a sized benchmark's transport cannot carry, or None (--list=json's
    max_message: such sizes are not registered; --list=json names them, not_measured)."""
    m = re.match(r"(?:roundtrip|throughput)/([^/]+)/[^/]+/size:([0-9]+)", name)
    if not m or limits.get(m.group(1)) is None:
        return None
    size = int(m.group(2))
    return size if size > limits[m.group(1)] else None


def listing():
    """What the binary says it has (--list=json): the one source of names."""
    proc = run("--list=json", timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"--list=json failed: {proc.stderr}")
    return json.loads(proc.stdout)


def run(*args, timeout=240):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout)


class QuickRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        out = os.path.join(cls.tmp.name, "quick.json")
        cls.proc = run("--quick", "--benchmark_format=json", f"--benchmark_out={out}",
                       "--benchmark_out_format=json")
        with open(out) as f:
            cls.data = json.load(f)
        cls.stdout_data = json.loads(cls.proc.stdout)
        cls.listing_names = listing()["benchmarks"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exits_zero(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)

    def test_every_listed_benchmark_ran_with_a_positive_rate(self):
        by_name = {b["name"]: b for b in self.data["benchmarks"]}
        listed = listing()
        self.assertEqual(set(by_name), set(listed["benchmarks"]))
        limits = {t["name"]: t["max_message"] for t in listed["transports"]}
        for name, b in by_name.items():
            self.assertIsNone(above_limit(name, limits),
                              f"{name}: a size above its transport's limit ran")
            self.assertFalse(b.get("error_occurred"), f"{name}: {b.get('error_message')}")
            self.assertGreater(b["items_per_second"], 0, name)
            self.assertGreater(b["iterations"], 0, name)
            if name.startswith(("roundtrip/", "throughput/", "connection/",
                                "connection-roundtrip/")):
                self.assertGreater(b["bytes_per_second"], 0, name)
            if name.startswith("startup/"):
                for counter in STARTUP_COUNTERS:
                    self.assertGreater(b[counter], 0, f"{name}: {counter}")

    def test_sizes_above_a_limit_are_left_out_and_said(self):
        # Not registered, so never an error entry: named with the limit in --list=json,
        # on stderr once per reason, and in the run's context.
        listed = listing()
        limits = {t["name"]: t["max_message"] for t in listed["transports"]}
        left_out = listed["not_measured"]
        if any(limits.values()):
            self.assertTrue(left_out, "no size above a transport's limit was left out")
        reasons = set()
        for n in left_out:
            self.assertIsNotNone(above_limit(n["name"], limits), n)
            self.assertNotIn(n["name"], listed["benchmarks"])
            self.assertRegex(n["why"], r"^[a-z0-9-]+: not measured: [0-9]+-byte messages "
                                       r"exceed its limit of [0-9]+ bytes$")
            reasons.add(n["why"])
        for why in reasons:
            self.assertIn(why, self.data["context"]["not_measured"])
            self.assertEqual(sum(why + " (" in line for line in self.proc.stderr.splitlines()),
                             1, why)

    def test_round_trips_report_percentiles_and_cpu(self):
        for b in self.data["benchmarks"]:
            name = b["name"]
            if b.get("error_occurred"):
                continue  # an error fails test_every_listed_benchmark_ran_with_a_positive_rate
            # A stream (floor/*-stream, floor/stream-cross) has no round trip
            # to take percentiles of.
            if name.startswith("roundtrip/") or (
                    name.startswith("floor/") and "memcpy" not in name
                    and "stream" not in name.split("/")[1]):
                values = [b[k] for k in PERCENTILES]
                self.assertGreater(values[0], 0, name)
                self.assertEqual(values, sorted(values), name)
            if name.startswith(("roundtrip/", "floor/", "throughput/")) and \
                    "memcpy" not in name:
                self.assertGreater(b["cpu_ns_per_msg"], 0, name)

    def test_load_reports_corrected_and_uncorrected_latency(self):
        loads = [b for b in self.data["benchmarks"] if b["name"].startswith("load/")]
        self.assertTrue(loads)
        for b in loads:
            name = b["name"]
            corrected = [b[k] for k in PERCENTILES]
            uncorrected = [b["uncorrected_" + k] for k in PERCENTILES]
            self.assertEqual(corrected, sorted(corrected), name)
            self.assertEqual(uncorrected, sorted(uncorrected), name)
            for c, u in zip(corrected, uncorrected):  # from the due time, never less
                self.assertGreaterEqual(c, u, name)
            self.assertGreater(b["closed_loop_rate"], 0, name)
            pct = int(re.search(r"/rate:(\d+)pct", name).group(1))
            self.assertAlmostEqual(b["target_rate"], b["closed_loop_rate"] * pct / 100,
                                   delta=1e-6 * b["target_rate"])
            self.assertGreater(b["achieved_rate"], 0, name)
            for counter in ["max_in_flight", "in_flight_end", "late_sends"]:
                self.assertGreaterEqual(b[counter], 0, name)
        self.assertIn("load_calibration", self.data["context"])

    def test_pool_and_fanin_report_latency_spread_and_oversubscription(self):
        seen = 0
        for b in self.data["benchmarks"]:
            name = b["name"]
            if not name.startswith(("pool/", "fanin/")) or b.get("error_occurred"):
                continue  # an error fails test_every_listed_benchmark_ran_with_a_positive_rate
            seen += 1
            n = int(name.split("/")[3].split(":")[1])
            values = [b[k] for k in PERCENTILES]
            self.assertGreater(values[0], 0, name)
            self.assertEqual(values, sorted(values), name)
            self.assertEqual(b["busy_peers"], n + 1, name)
            self.assertGreaterEqual(b["cpus"], 1, name)
            self.assertEqual(b["oversubscribed"], 1 if n + 1 > b["cpus"] else 0, name)
            self.assertLessEqual(b["share_min"], 1 / n + 1e-9, name)
            self.assertGreaterEqual(b["share_max"], 1 / n - 1e-9, name)
            if name.startswith("pool/"):
                self.assertGreater(b["work_loops"], 0, name)
                self.assertTrue(300 < b["work_ns"] < 3000, f"{name}: work_ns {b['work_ns']}")
        self.assertGreater(seen, 0)

    def test_every_shared_queue_has_a_pool_and_a_fanin_in_each_context(self):
        names = set(self.listing_names)
        for q in listing()["shared_queues"]:
            for ctx in q["contexts"]:
                self.assertIn(f"pool/{q['name']}/{ctx}/workers:1/size:64/real_time", names)
                self.assertIn(f"fanin/{q['name']}/{ctx}/clients:8/size:64/real_time", names)

    def test_dict_reports_lookups_per_reader(self):
        for b in self.data["benchmarks"]:
            if not b["name"].startswith("dict/"):
                continue
            readers = int(b["name"].split("readers:")[1].split("/")[0])
            self.assertAlmostEqual(b["lookups_per_reader"] * readers, b["items_per_second"],
                                   delta=b["items_per_second"] * 1e-6, msg=b["name"])

    def test_context_names_machine_and_build(self):
        ctx = self.data["context"]
        for key in ["ipcbench_schema", "kernel", "cpu_model", "compiler", "build_type",
                    "git_commit", "pin"]:
            self.assertTrue(ctx.get(key), key)

    def test_stdout_json_matches_file(self):
        self.assertEqual({b["name"] for b in self.stdout_data["benchmarks"]},
                         {b["name"] for b in self.data["benchmarks"]})


def parse_hgrm(text):
    """The data lines of an HdrHistogram percentile distribution: (value, percentile,
    total count, 1/(1-percentile) or None on the 100% line), and the footer's count."""
    lines = text.splitlines()
    assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"], lines[0]
    assert lines[1] == ""
    rows, total = [], None
    for line in lines[2:]:
        if line.startswith("#[Max"):
            total = int(line.split("Total count    =")[1].strip(" ]"))
        if line.startswith("#"):
            continue
        f = line.split()
        rows.append((float(f[0]), float(f[1]), int(f[2]), float(f[3]) if len(f) > 3 else None))
    return rows, total


class HistogramExportTest(unittest.TestCase):
    """--histograms: one .hgrm per latency-recording benchmark, the exact sum of its
    repetitions (the first repetition's trial runs left out), in HdrHistogram's format."""

    def test_histograms_merge_repetitions_exactly(self):
        with tempfile.TemporaryDirectory() as tmp:
            hist = os.path.join(tmp, "h")
            proc = run("--benchmark_filter=^(roundtrip/pipe/thread/size:64|floor/futex/thread|"
                       "load/pipe/thread/size:64/rate:50pct)/",
                       "--benchmark_repetitions=3", "--benchmark_min_time=0.01",
                       f"--histograms={hist}", "--benchmark_format=json", timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            runs = [b for b in json.loads(proc.stdout)["benchmarks"]
                    if b.get("run_type") == "iteration"]
            with open(os.path.join(hist, "index.json")) as f:
                index = json.load(f)
            self.assertEqual(index["unit"], "us")
            entries = {(h["benchmark"], h["series"]): h for h in index["histograms"]}
            self.assertEqual(set(entries), {
                ("roundtrip/pipe/thread/size:64", "main"), ("floor/futex/thread", "main"),
                ("load/pipe/thread/size:64/rate:50pct", "main"),
                ("load/pipe/thread/size:64/rate:50pct", "uncorrected")})
            for (name, series), h in entries.items():
                reps = [b for b in runs if b["name"] == name + "/real_time"]
                self.assertEqual(len(reps), 3, name)
                self.assertEqual(h["repetitions"], 3, name)
                # n iterations give n samples, so the merged count is exact
                self.assertEqual(h["count"], sum(b["iterations"] for b in reps), name)
                with open(os.path.join(hist, h["file"])) as f:
                    rows, total = parse_hgrm(f.read())
                self.assertEqual(total, h["count"])
                self.assertEqual(rows[0][1], 0.0)
                self.assertEqual(rows[-1][1:], (1.0, h["count"], None))
                for a, b in zip(rows, rows[1:]):
                    self.assertLessEqual(a[0], b[0], name)
                    self.assertLess(a[1], b[1], name)
                    self.assertLessEqual(a[2], b[2], name)
                for value, pct, _, inverse in rows[:-1]:
                    self.assertAlmostEqual(inverse, 1 / (1 - pct), delta=0.01)
                # the max agrees with the largest repetition's max_ns
                key = "uncorrected_max_ns" if series == "uncorrected" else "max_ns"
                self.assertAlmostEqual(rows[-1][0] * 1000, max(b[key] for b in reps),
                                       delta=0.01 * rows[-1][0] * 1000 + 1)

    def test_histograms_refuse_a_used_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "old.hgrm"), "w") as f:
                f.write("x")
            proc = run("--benchmark_filter=^floor/futex/thread/", "--quick",
                       f"--histograms={tmp}")
            self.assertEqual(proc.returncode, 2)
            self.assertIn("already holds histograms", proc.stderr)


class BadInputTest(unittest.TestCase):
    def check_usage_error(self, args, message):
        proc = run(*args, timeout=30)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn(message, lines[0])
        self.assertEqual(proc.stdout, "")

    def test_unknown_flag(self):
        self.check_usage_error(["--frobnicate"], "unrecognized command-line flag: --frobnicate")

    def test_unknown_transport(self):
        self.check_usage_error(["--transports=pipe,carrier-pigeon"],
                               "unknown transport 'carrier-pigeon' (known: pipe, fifo")

    def test_unknown_context(self):
        self.check_usage_error(["--contexts=fibre"], "unknown context 'fibre'")

    def test_bad_pin(self):
        self.check_usage_error(["--pin=both"], "unknown --pin 'both' (known: none, cross, same)")

    def test_bad_peer_command_line(self):
        proc = run("--peer=roundtrip-echo", "--peer-frobnicate=1", timeout=30)
        self.assertEqual(proc.returncode, 64, proc.stderr)
        self.assertIn("unknown flag '--peer-frobnicate'", proc.stderr)

    def test_bad_timeout(self):
        for value in ["0", "-5", "abc", "99999999999"]:
            self.check_usage_error([f"--timeout={value}"], "--timeout wants a whole number")

    def test_list_shows_every_transport(self):
        proc = run("--list", timeout=30)
        self.assertEqual(proc.returncode, 0)
        for t in listing()["transports"]:
            self.assertIn(t["name"], proc.stdout)
        self.assertIn("spawn", proc.stdout)

    def test_bad_list_format(self):
        self.check_usage_error(["--list=xml"], "unknown --list format 'xml' (known: text, json)")


class ListJsonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.listing = listing()

    def test_names_are_exactly_those_google_benchmark_lists(self):
        proc = run("--benchmark_list_tests", timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.listing["benchmarks"], proc.stdout.split())

    def test_every_benchmark_belongs_to_exactly_one_scenario(self):
        members = [n for s in self.listing["scenarios"] for n in s["benchmarks"]]
        self.assertEqual(sorted(members), sorted(self.listing["benchmarks"]))
        for s in self.listing["scenarios"]:
            self.assertTrue(s["benchmarks"], f"scenario {s['name']} registers nothing")
            self.assertTrue(s["format"].startswith(s["name"]), s)

    def test_every_transport_has_round_trips_and_streams_in_its_contexts(self):
        names = set(self.listing["benchmarks"])
        known = {c["name"] for c in self.listing["contexts"]}
        for t in self.listing["transports"]:
            self.assertLessEqual(set(t["contexts"]), known, t)
            for ctx in t["contexts"]:
                self.assertIn(f"roundtrip/{t['name']}/{ctx}/size:64/real_time", names)
                if ctx != "spawn":
                    self.assertIn(f"throughput/{t['name']}/{ctx}/size:4096/real_time", names)
                    self.assertIn(f"dict/manager-{t['name']}/{ctx}/readers:1/real_time", names)
            if t["startup"]:
                self.assertIn(f"startup/thread/{t['name']}/real_time", names)


class PinTest(unittest.TestCase):
    def test_pin_is_in_the_context_and_spinners_are_skipped_on_one_cpu(self):
        proc = run("--quick", "--pin", "same", "--contexts=process",
                   "--benchmark_filter=^roundtrip/(shm-ring-spin|pipe)/process/size:64/|^floor/cacheline",
                   "--benchmark_format=json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        data = json.loads(proc.stdout)
        self.assertEqual(data["context"]["pin"], "same")
        by_name = {b["name"]: b for b in data["benchmarks"]}
        spinners = ["roundtrip/shm-ring-spin/process/size:64/real_time",
                    "floor/cacheline/process/real_time",
                    "floor/cacheline-msg/process/size:64/real_time",
                    "floor/cacheline-ring/process/size:64/real_time"]
        self.assertEqual(set(by_name), {"roundtrip/pipe/process/size:64/real_time", *spinners})
        self.assertFalse(by_name["roundtrip/pipe/process/size:64/real_time"]
                         .get("error_occurred"))
        for name in spinners:
            self.assertTrue(by_name[name].get("error_occurred"), name)
            self.assertIn("not measured with --pin same", by_name[name]["error_message"])


class PinEverywhereTest(unittest.TestCase):
    """--pin reaches every scenario: asked for two CPUs while only one is allowed, every
    benchmark with a peer must fail saying so (one that ignored the pin would run)."""

    def test_an_impossible_pin_fails_one_benchmark_of_every_scenario(self):
        picks = []
        for s in listing()["scenarios"]:
            placed = [n for n in s["benchmarks"]
                      if not n.startswith(UNPLACED) and ("/thread/" in n or "/process/" in n)]
            self.assertTrue(placed, s["name"])
            picks.append(placed[0])
        pattern = "^(" + "|".join(re.escape(n) for n in picks) + ")$"
        proc = subprocess.run(
            [BINARY, "--quick", "--pin=cross", f"--benchmark_filter={pattern}",
             "--benchmark_format=json"], capture_output=True, text=True, timeout=120,
            preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        by_name = {b["name"]: b for b in json.loads(proc.stdout)["benchmarks"]}
        self.assertEqual(set(by_name), set(picks))
        for name, b in by_name.items():
            self.assertTrue(b.get("error_occurred"), f"{name} ignored --pin")
            self.assertIn("--pin cross needs two CPUs", b["error_message"], name)


class RunShapeTest(unittest.TestCase):
    """What ./run.sh asks for: placements in the names, interleaved repetitions, the drift
    canary, progress on stderr, and Google Benchmark 1.8's --benchmark_min_time forms."""

    def run_json(self, *args):
        proc = run(*args, "--benchmark_format=json", timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout), proc.stderr

    def test_several_placements_name_round_trips_and_floors(self):
        data, _ = self.run_json("--quick", "--pin=none,cross,same", "--contexts=thread",
                                "--benchmark_filter=^roundtrip/(pipe|shm-ring-spin)/thread/"
                                "size:64/|^floor/(futex|cacheline)/|^throughput/pipe/thread/"
                                "size:64/")
        self.assertEqual(data["context"]["pin"], "none,cross,same")
        names = {b["name"] for b in data["benchmarks"]}
        self.assertEqual(names, {
            *[f"roundtrip/pipe/thread/size:64/pin:{p}/real_time"
              for p in ["none", "cross", "same"]],
            *[f"floor/futex/thread/pin:{p}/real_time" for p in ["none", "cross", "same"]],
            # busy-polling pairs are not measured on one CPU
            *[f"roundtrip/shm-ring-spin/thread/size:64/pin:{p}/real_time"
              for p in ["none", "cross"]],
            *[f"floor/cacheline/thread/pin:{p}/real_time" for p in ["none", "cross"]],
            # other scenarios run in the first placement, unnamed
            "throughput/pipe/thread/size:64/real_time"})
        for b in data["benchmarks"]:
            self.assertFalse(b.get("error_occurred"), b)

    def test_sizes_and_spawn_placement(self):
        # --sizes picks the sizes of size-swept scenarios; spawn runs in the first placement
        proc = run("--list=json", "--pin=same,cross", "--sizes=4096", "--transports=pipe",
                   timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = [n for n in json.loads(proc.stdout)["benchmarks"]
                 if n.startswith("roundtrip/")]
        self.assertEqual(sorted(names), sorted([
            "roundtrip/pipe/thread/size:4096/pin:same/real_time",
            "roundtrip/pipe/thread/size:4096/pin:cross/real_time",
            "roundtrip/pipe/process/size:4096/pin:same/real_time",
            "roundtrip/pipe/process/size:4096/pin:cross/real_time",
            "roundtrip/pipe/spawn/size:4096/pin:same/real_time"]))

    def test_duplicate_placement_is_refused(self):
        proc = run("--pin=same,same", timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--pin names 'same' twice", proc.stderr)

    def test_interleaved_repetitions_carry_canary_and_start_time(self):
        data, err = self.run_json(
            "--canary", "--benchmark_min_time=0.01s", "--benchmark_repetitions=3",
            "--benchmark_enable_random_interleaving=true", "--contexts=thread",
            "--benchmark_filter=^roundtrip/(pipe|uds)/thread/size:64/")
        reps = [b for b in data["benchmarks"] if b["run_type"] == "iteration"]
        self.assertEqual(len(reps), 6)
        for b in reps:
            self.assertGreater(b["canary_cacheline_ns"], 0, b["name"])
            self.assertGreater(b["canary_futex_ns"], b["canary_cacheline_ns"], b["name"])
            self.assertGreaterEqual(b["canary_age_s"], 0)
        self.assertRegex(err, r"\[6/6\] done in")

    def test_results_file_holds_repetitions_in_run_order(self):
        # Google Benchmark 1.7.1 reports interleaved repetitions grouped per benchmark;
        # the file must show the order they ran in (12 runs: grouped order would be sorted
        # by start time about once in 15,000 runs).
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.json")
            proc = run("--benchmark_min_time=1x", "--benchmark_repetitions=3",
                       "--benchmark_enable_random_interleaving=true", "--contexts=thread",
                       "--benchmark_filter=^roundtrip/(pipe|uds|fifo|tcp)/thread/size:64/",
                       f"--benchmark_out={out}", timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(out) as f:
                benchmarks = json.load(f)["benchmarks"]
        reps = [b for b in benchmarks if b["run_type"] == "iteration"]
        self.assertEqual(len(reps), 12)
        starts = [b["started_s"] for b in reps]
        self.assertEqual(starts, sorted(starts))
        # the aggregates follow, four per benchmark
        self.assertEqual(benchmarks[12:], [b for b in benchmarks if b["run_type"] == "aggregate"])
        self.assertEqual(len(benchmarks), 12 + 4 * 4)

    def test_min_time_in_iterations(self):
        data, _ = self.run_json("--benchmark_min_time=7x",
                                "--benchmark_filter=^roundtrip/pipe/thread/size:64/")
        self.assertEqual([b["iterations"] for b in data["benchmarks"]], [7])

    def test_bad_min_time(self):
        for value in ["0x", "-3x", "abcs", "1.5x"]:
            proc = run(f"--benchmark_min_time={value}", timeout=30)
            self.assertEqual(proc.returncode, 2, value)
            self.assertIn("--benchmark_min_time", proc.stderr)


class FilterTest(unittest.TestCase):
    def test_transport_and_context_selection(self):
        proc = run("--quick", "--transports=pipe", "--contexts=process",
                   "--benchmark_filter=size:16/", "--benchmark_format=json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = [b["name"] for b in json.loads(proc.stdout)["benchmarks"]]
        self.assertEqual(names, ["roundtrip/pipe/process/size:16/real_time"])

    def test_manager_kinds_follow_the_transport_selection(self):
        proc = run("--quick", "--transports=uds", "--contexts=thread",
                   "--benchmark_filter=^dict/manager", "--benchmark_format=json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = [b["name"] for b in json.loads(proc.stdout)["benchmarks"]]
        self.assertEqual(names, [f"dict/manager-uds/thread/readers:{n}/real_time"
                                 for n in READERS])

    def test_spawn_context_selection(self):
        proc = run("--quick", "--transports=fifo,shm-ring", "--contexts=spawn",
                   "--benchmark_filter=size:16/|startup", "--benchmark_format=json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = [b["name"] for b in json.loads(proc.stdout)["benchmarks"]]
        self.assertEqual(names, ["roundtrip/fifo/spawn/size:16/real_time",
                                 "roundtrip/shm-ring/spawn/size:16/real_time",
                                 "startup/spawn/fifo/real_time",
                                 "startup/spawn/shm-ring/real_time"])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: smoke_test.py PATH/TO/ipcbench", file=sys.stderr)
        sys.exit(2)
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
