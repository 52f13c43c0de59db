"""Tests for scripts/plot.py: charts, report numbers, errors, comparisons.

Run: /usr/bin/python3 -m unittest discover -s tests/scripts -t .
Fixtures are made by tests/scripts/plot_fixture.py (Google Benchmark 1.7.1
shape) into temporary directories.
"""
import contextlib
import io
import json
import math
import os
import re
import statistics
import subprocess
import tempfile
import unittest
from pathlib import Path

import plot  # noqa: E402  (scripts/ is on sys.path: __init__.py)
from ipcbench_tools.report import (charts, data, fmt, render,  # noqa: E402
                                   style)
from tests.scripts import plot_fixture as fixture  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "plot.py"
PYTHON = "/usr/bin/python3"

FULL_CHARTS = ("roundtrip_latency", "threads_vs_processes", "throughput",
               "dict_lookups", "connection_throughput", "connection_setup",
               "floor", "startup")


def write_json(path, doc):
    Path(path).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return str(path)


def run_main(argv):
    """plot.main in this process; returns (code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = plot.main(argv)
    return code, out.getvalue(), err.getvalue()


def run_script(args, env=None):
    return subprocess.run([PYTHON, str(SCRIPT)] + list(args),
                          capture_output=True, text=True, env=env,
                          timeout=120)


def iteration_median(doc, run_name, field="real_time"):
    """The median the report should show, straight from the fixture."""
    vals = [e[field] for e in doc["benchmarks"]
            if e["run_name"] == run_name and e["run_type"] == "iteration"
            and not e.get("error_occurred")]
    return statistics.median(vals)


class FullReportTest(unittest.TestCase):
    """Every scenario, two contexts, 3 repetitions + aggregates, errors."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        cls.doc = fixture.make_results(seed=3)
        cls.json = write_json(cls.dir / "latest.json", cls.doc)
        cls.out = cls.dir / "reports"
        cls.code, cls.stdout, cls.stderr = run_main(
            [cls.json, "--out", str(cls.out)])
        cls.md = (cls.out / "index.md").read_text(encoding="utf-8")
        cls.html = (cls.out / "index.html").read_text(encoding="utf-8")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_code_and_summary(self):
        self.assertEqual(self.code, 0, self.stderr)
        self.assertIn("wrote 8 charts", self.stdout)

    def test_every_chart_written_as_png_and_svg(self):
        for name in FULL_CHARTS:
            png = (self.out / f"{name}.png").read_bytes()
            self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), name)
            self.assertGreater(len(png), 20000, name)
            svg = (self.out / f"{name}.svg").read_text(encoding="utf-8")
            self.assertIn("<svg", svg[:2000], name)
            self.assertIn(f"![{name}]({name}.png)", self.md)
        # nothing else but the report, the manifest and these charts
        names = {p.name for p in self.out.iterdir()}
        expected = {f"{n}.{e}" for n in FULL_CHARTS for e in ("png", "svg")}
        self.assertEqual(names, expected | {"index.md", "index.html",
                                            render.MANIFEST})

    def test_html_is_self_contained(self):
        self.assertEqual(self.html.count("data:image/svg+xml;base64,"),
                         len(FULL_CHARTS))
        self.assertNotIn('src="roundtrip', self.html)
        self.assertTrue(self.html.rstrip().endswith("</html>"))

    def test_machine_context_in_report(self):
        for text in ("AMD EPYC 7B13 64-Core Processor", "6.1.0-27-cloud-amd64",
                     "3f9c2ab", "g++ 12.2.0"):
            self.assertIn(text, self.md)
            self.assertIn(text, self.html)

    def test_errored_entries_warned_and_left_out(self):
        self.assertIn("plot.py: warning: roundtrip/tcp/process/size:65536/"
                      "manual_time: errored, left out: recv: Connection reset"
                      " by peer", self.stderr)
        self.assertIn("Left out because they errored: recv: Connection "
                      "reset by peer: `tcp process 64 KiB`.", self.md)
        row = next(ln for ln in self.md.splitlines()
                   if ln.startswith("| tcp | process | ") and "µs" in ln)
        self.assertTrue(row.rstrip().endswith("| - |"), row)   # not zero

    def test_sizes_left_out_for_a_limit_are_said_not_errors(self):
        note = ("Not measured (sizes above a transport's limit, left out of the run, not "
                "errors): posix-mq: not measured: 65536-byte messages exceed its limit of "
                "8192 bytes (2 benchmarks).")
        self.assertEqual(self.md.count(note), 2)  # round trips and streams
        self.assertNotIn("| not_measured |", self.md)  # not a machine property

    def test_roundtrip_numbers_match_fixture(self):
        for tr, ctx in (("shm-ring", "process"), ("pipe", "thread")):
            timing = "manual_time" if ctx == "process" else "real_time"
            name = f"roundtrip/{tr}/{ctx}/size:256/{timing}"
            med = iteration_median(self.doc, name) * 1e-6     # us -> s
            vals = [e["real_time"] * 1e-6 for e in self.doc["benchmarks"]
                    if e["run_name"] == name and e["run_type"] ==
                    "iteration"]
            cell = fmt.fmt_seconds(med)
            factor, _ = fmt._step(med, fmt.SECOND_STEPS)
            spread = (f"({fmt.fmt_num(min(vals) / factor)}-"
                      f"{fmt.fmt_num(max(vals) / factor)})")
            self.assertIn(f"{cell} {spread}", self.md)

    def test_headline_ratio_is_computed(self):
        at = {}
        for tr in fixture.TRANSPORTS:
            if tr == "queue":
                continue
            at[tr] = iteration_median(
                self.doc, f"roundtrip/{tr}/process/size:256/manual_time")
        best = min(at, key=at.get)
        worst = max(at, key=at.get)
        ratio = fmt.fmt_ratio(at[worst] / at[best])
        # stated because the fixture's ranges are far apart (evidence.py)
        self.assertIn(f"{best} round trip is {ratio} faster than {worst} "
                      "round trip at 256 B in the process context", self.md)

    def test_threads_vs_processes_ratio(self):
        t = iteration_median(self.doc, "roundtrip/pipe/thread/size:256/"
                             "real_time")
        p = iteration_median(self.doc, "roundtrip/pipe/process/size:256/"
                             "manual_time")
        self.assertRegex(self.md, re.escape(
            f"| pipe | none | {fmt.fmt_seconds(t * 1e-6)} (") + r"[^|]*\| " +
            re.escape(f"{fmt.fmt_seconds(p * 1e-6)} (") + r"[^|]*\| " +
            re.escape(f"{p / t:.2f}x"))

    def test_throughput_fraction_of_memcpy(self):
        bound = iteration_median(self.doc, "throughput/memcpy/thread/"
                                 "size:1048576/real_time", "bytes_per_second")
        best = max((iteration_median(
            self.doc, f"throughput/{tr}/process/size:1048576/manual_time",
            "bytes_per_second"), tr) for tr in fixture.TRANSPORTS
            if tr not in ("queue", "uds-seqpacket"))
        self.assertRegex(self.md, re.escape(
            f"(process context) the highest median is {best[1]}'s, "
            f"{fmt._bps(best[0], 3)} (") + r"[^)]*\), " + re.escape(
            f"{100 * best[0] / bound:.0f}% of the memcpy bound"))

    def test_dict_table_uses_items_per_second(self):
        med = iteration_median(self.doc, "dict/manager-uds/process/readers:2/"
                               "manual_time", "items_per_second")
        self.assertIn(fmt.fmt_si(med, "lookups/s"), self.md)


class ParseTest(unittest.TestCase):

    def test_names(self):
        k = data.parse_name("roundtrip/shm-ring/process/size:256/manual_time")
        self.assertEqual((k.scenario, k.subject, k.context, k.param),
                         ("roundtrip", "shm-ring", "process", 256))
        k = data.parse_name("connection-setup/unix-abstract/thread/real_time")
        self.assertEqual((k.subject, k.context, k.param),
                         ("unix-abstract", "thread", -1))
        k = data.parse_name("startup/spawn/pipe/real_time")
        self.assertEqual((k.subject, k.context), ("pipe", "spawn"))
        k = data.parse_name("startup/process/rss:64/real_time")
        self.assertEqual((k.subject, k.context, k.param),
                         ("pipe", "process", 64))
        # spawn is not fork: the RSS runs are over pipes in both contexts
        k = data.parse_name("startup/spawn/rss:64/real_time")
        self.assertEqual((k.subject, k.context), ("pipe", "spawn"))
        k = data.parse_name("dict/py-manager/process/readers:1/"
                            "iterations:100/repeats:3/real_time")
        self.assertEqual((k.subject, k.param), ("py-manager", 1))
        # a scenario without a section of its own: read generically
        k = data.parse_name("mystery/pipe/process/size:64/pin:same/real_time")
        self.assertEqual((k.scenario, k.subject, k.context, k.param, k.extra),
                         ("mystery", "pipe", "process", -1,
                          "size:64/pin:same"))
        # pools and fan-in: the count is the parameter
        k = data.parse_name("pool/shm-mpmc/thread/workers:4/size:64/real_time")
        self.assertEqual((k.subject, k.context, k.param, k.extra),
                         ("shm-mpmc", "thread", 4, "size:64"))
        self.assertEqual(data.param_text(k), "4 workers")
        k = data.parse_name("fanin/pipe/process/clients:1/size:64/real_time")
        self.assertEqual(data.param_text(k), "1 client")
        k = data.parse_name("BM_Something/8")
        self.assertEqual((k.scenario, k.subject, k.context),
                         ("BM_Something", "8", ""))
        # a known scenario keeps its placement key as an extra
        k = data.parse_name("roundtrip/pipe/process/size:64/pin:same/"
                            "real_time")
        self.assertEqual((k.param, k.extra), (64, "pin:same"))
        with self.assertRaises(ValueError):
            data.parse_name("/real_time")
        with self.assertRaises(ValueError):
            data.parse_name("roundtrip/pipe/thread/size:big/real_time")
        with self.assertRaises(ValueError):
            data.parse_name("roundtrip/pipe/size:16/real_time")

    def test_median_and_spread_from_repetitions(self):
        doc = fixture.make_results(seed=5, scenarios=("roundtrip",))
        ds = data.parse_results(doc, "x.json")
        key = data.parse_name("roundtrip/uds/thread/size:16")
        vals = [e["real_time"] * 1e-6 for e in doc["benchmarks"]
                if e["run_name"] == "roundtrip/uds/thread/size:16/real_time"
                and e["run_type"] == "iteration"]
        p = ds.points[key]
        self.assertAlmostEqual(p.median, statistics.median(vals))
        self.assertAlmostEqual(p.lo, min(vals))
        self.assertAlmostEqual(p.hi, max(vals))
        self.assertEqual((p.n, p.source), (3, "repetitions"))
        iqr = data.parse_results(doc, "x.json", spread="iqr").points[key]
        q = statistics.quantiles(vals, n=4, method="inclusive")
        self.assertAlmostEqual(iqr.lo, q[0])
        self.assertAlmostEqual(iqr.hi, q[2])

    def test_median_aggregate_fallback(self):
        doc = fixture.make_results(seed=5, scenarios=("dict",))
        agg = {"context": doc["context"], "benchmarks": [
            e for e in doc["benchmarks"] if e["run_type"] == "aggregate"]}
        ds = data.parse_results(agg, "agg.json")
        key = data.parse_name("dict/local/thread/readers:2")
        median = next(e["items_per_second"] for e in agg["benchmarks"]
                      if e["run_name"].startswith("dict/local/thread/"
                                                  "readers:2/")
                      and e["aggregate_name"] == "median")
        p = ds.points[key]
        self.assertEqual((p.median, p.source, p.n),
                         (median, "median aggregate", 3))
        self.assertEqual(fmt.fmt_spread(p), "-")

    def test_single_entry_and_units(self):
        doc = fixture.make_results(seed=5, repetitions=1,
                                   scenarios=("connection-roundtrip",))
        e = doc["benchmarks"][0]
        e["real_time"], e["time_unit"] = 0.25, "ms"
        ds = data.parse_results(doc, "one.json")
        p = ds.points[data.parse_name(e["run_name"])]
        self.assertEqual((p.median, p.n, p.source), (0.25e-3, 1, "single run"))

    def test_non_finite_values_are_left_out(self):
        doc = fixture.make_results(seed=5, repetitions=1,
                                   scenarios=("connection-setup",))
        doc["benchmarks"][0]["items_per_second"] = math.inf
        doc["benchmarks"][1]["real_time"] = -1.0
        doc["benchmarks"][1].pop("items_per_second")
        ds = data.parse_results(doc, "x.json")
        self.assertEqual(len(ds.points), len(doc["benchmarks"]) - 2)
        self.assertEqual(sum("no usable value" in w for w in ds.warnings), 2)

    def test_partly_errored_repetitions_keep_the_rest(self):
        doc = fixture.make_results(seed=5, scenarios=("roundtrip",))
        first = doc["benchmarks"][0]
        first.update(error_occurred=True, error_message="boom")
        ds = data.parse_results(doc, "x.json")
        p = ds.points[data.parse_name(first["run_name"])]
        self.assertEqual(p.n, 2)
        self.assertIn("1 of 3 repetitions errored", "\n".join(ds.warnings))

    def test_formatting(self):
        self.assertEqual(fmt.fmt_size(65536), "64 KiB")
        self.assertEqual(fmt.fmt_size(1048576), "1 MiB")
        self.assertEqual(fmt.fmt_seconds(1e-6, trim=True), "1 µs")
        self.assertEqual(fmt.fmt_seconds(9.996e-6), "10.0 µs")
        self.assertEqual(fmt.fmt_seconds(999.7e-9), "1.00 µs")
        self.assertEqual(fmt.fmt_si(9999, digits=2), "10k")
        self.assertEqual(fmt._bps(1.5e9), "1.50 GB/s")
        self.assertEqual(fmt.fmt_ratio(1.04), "1.04x")
        self.assertEqual(fmt.fmt_ratio(9.314), "9.31x")
        self.assertEqual(fmt.fmt_ratio(33.14), "33.1x")
        self.assertEqual(fmt.fmt_ratio(331.4), "331x")

    def test_colours_are_derived_from_the_results_order(self):
        ranks = {"pipe": 0, "tcp": 1, "queue": 2}
        self.assertEqual(style.colour_of(ranks, "pipe"), style.PALETTE[0])
        self.assertEqual(style.colour_of(ranks, "tcp"), style.PALETTE[1])
        self.assertEqual(style.colour_of(ranks, "py-queue"),
                         style.colour_of(ranks, "queue"))
        # a transport nobody listed anywhere: the next colour, not a clash
        c = style.colour_of(ranks, "brand-new-transport")
        self.assertEqual(c, style.PALETTE[3])
        self.assertEqual(style.marker_of(ranks, "brand-new-transport"),
                         style.MARKERS[3])
        self.assertEqual(len(set(style.PALETTE)), len(style.PALETTE))
        many = {f"t{i}": i for i in range(40)}
        pairs = {(style.colour_of(many, t), style.marker_of(many, t))
                 for t in many}
        self.assertEqual(len(pairs), 40)    # still told apart past 30

    def test_log_ticks(self):
        ticks = charts.nice_log_ticks(0.5e-6, 2e-3)
        self.assertIn(1e-6, ticks)
        self.assertIn(1e-5, ticks)
        self.assertTrue(all(0.5e-6 <= t <= 2e-3 for t in ticks))
        ticks = charts.nice_log_ticks(7e3, 4e4)
        self.assertGreaterEqual(len(ticks), 2)
        self.assertLessEqual(len(charts.nice_log_ticks(1, 1e15)), 8)


class BadInputTest(unittest.TestCase):
    """One error line, non-zero exit, no output dir and no temp dir."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.out = self.dir / "reports"

    def tearDown(self):
        self.tmp.cleanup()

    def assert_fails(self, args, phrase, env=None, code=None):
        r = run_script(list(args) + ["--out", str(self.out)], env=env)
        self.assertNotEqual(r.returncode, 0)
        if code is not None:
            self.assertEqual(r.returncode, code)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("plot.py: error: "), lines[0])
        self.assertIn(phrase, lines[0])
        self.assertNotIn("Traceback", r.stderr)
        self.assertFalse(self.out.exists())
        leftovers = [p.name for p in self.dir.iterdir()
                     if p.name.startswith(".reports")]
        self.assertEqual(leftovers, [])
        return lines[0]

    def test_missing_file(self):
        self.assert_fails([str(self.dir / "nope.json")], "nope.json: no such "
                          "file", code=1)

    def test_not_google_benchmark_json(self):
        path = write_json(self.dir / "x.json", {"results": []})
        self.assert_fails([path], 'not Google Benchmark JSON (no "benchmarks"'
                          ' list)')
        path = write_json(self.dir / "y.json", [1, 2, 3])
        self.assert_fails([path], "not Google Benchmark JSON")

    def test_empty_file(self):
        path = self.dir / "empty.json"
        path.write_text("")
        self.assert_fails([str(path)], "empty file")

    def test_truncated_json(self):
        text = json.dumps(fixture.make_results(scenarios=("roundtrip",)),
                          indent=2)
        path = self.dir / "cut.json"
        path.write_text(text[:len(text) // 2])
        self.assert_fails([str(path)], "cut.json: truncated JSON (line ")

    def test_no_usable_name(self):
        doc = fixture.make_results(scenarios=(), unknown=True)
        doc["benchmarks"] = [dict(e, name="//", run_name="//")
                             for e in doc["benchmarks"]]
        path = write_json(self.dir / "other.json", doc)
        self.assert_fails([path], "no benchmark with a usable name")

    def test_every_benchmark_errored(self):
        doc = fixture.make_results(scenarios=("connection-setup",))
        doc["benchmarks"] = [dict(e, error_occurred=True,
                                  error_message="socket: Too many open files")
                             for e in doc["benchmarks"]
                             if e["run_type"] == "iteration"]
        path = write_json(self.dir / "bad.json", doc)
        self.assert_fails([path], "every benchmark errored (first: "
                          "connection-setup/unix/thread/real_time: socket: "
                          "Too many open files)")

    def test_bad_flags(self):
        path = write_json(self.dir / "ok.json", fixture.make_results(
            scenarios=("dict",)))
        self.assert_fails([path, "--size", "-4"], "--size -4", code=2)
        self.assert_fails([path, "--bogus"], "unrecognized arguments: --bogus",
                          code=2)
        self.assert_fails([path, "--size", "big"], "invalid int value",
                          code=2)
        self.assert_fails([path, "--formats", "gif"], "--formats gif",
                          code=2)

    def test_second_file_bad_leaves_nothing(self):
        good = write_json(self.dir / "a.json", fixture.make_results(
            scenarios=("dict",)))
        self.assert_fails([good, str(self.dir / "b.json")], "b.json: no such "
                          "file")

    def test_default_input_missing_says_what_to_do(self):
        if plot.DEFAULT_INPUT.exists():
            self.skipTest("results/latest.json exists in this checkout")
        self.assert_fails([], "results/latest.json: no such file (run "
                          "./run.sh first", code=1)

    def test_missing_matplotlib(self):
        fake = self.dir / "fake"
        (fake / "matplotlib").mkdir(parents=True)
        (fake / "matplotlib" / "__init__.py").write_text(
            "raise ImportError('No module named matplotlib')\n")
        env = dict(os.environ, PYTHONPATH=str(fake))
        path = write_json(self.dir / "ok.json", fixture.make_results(
            scenarios=("dict",)))
        line = self.assert_fails([path], "python3-matplotlib", env=env)
        self.assertIn("apt-get install python3-matplotlib", line)

    def test_failure_keeps_previous_report(self):
        self.out.mkdir()
        (self.out / "index.md").write_text("old report\n")
        r = run_script([str(self.dir / "nope.json"), "--out", str(self.out)])
        self.assertEqual(r.returncode, 1)
        self.assertEqual((self.out / "index.md").read_text(), "old report\n")
        self.assertEqual([p.name for p in self.out.iterdir()], ["index.md"])


class PartialDataTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.out = self.dir / "reports"

    def tearDown(self):
        self.tmp.cleanup()

    def test_missing_scenarios_are_skipped_and_said(self):
        doc = fixture.make_results(scenarios=("roundtrip",), unknown=True,
                                   contexts=("thread",))
        path = write_json(self.dir / "rt.json", doc)
        code, out, err = run_main([path, "--out", str(self.out), "--size",
                                   "300", "--formats", "png"])
        self.assertEqual(code, 0, err)
        self.assertIn("skipped: throughput chart", out)
        self.assertIn("skipped: shared-dict chart", out)
        self.assertIn("plot.py: warning: scenario 'mystery' (1 benchmark(s))"
                      " has no report section of its own; shown as a "
                      "generic table", err)
        md = (self.out / "index.md").read_text(encoding="utf-8")
        self.assertIn("## Scenario `mystery`", md)
        self.assertIn("| widget size:8 | thread |", md)
        self.assertIn("no round trip at 300 B; the threads-vs-processes chart "
                      "uses 256 B", out)
        self.assertTrue((self.out / "roundtrip_latency.png").exists())
        self.assertFalse((self.out / "throughput.png").exists())
        md = (self.out / "index.md").read_text(encoding="utf-8")
        self.assertNotIn("## Streaming throughput", md)

    def test_rerun_removes_charts_no_longer_drawn(self):
        full = write_json(self.dir / "full.json", fixture.make_results(
            scenarios=("dict", "connection-setup")))
        self.assertEqual(run_main([full, "--out", str(self.out),
                                   "--formats", "png"])[0], 0)
        self.assertTrue((self.out / "dict_lookups.png").exists())
        (self.out / "notes.txt").write_text("mine\n")
        part = write_json(self.dir / "part.json", fixture.make_results(
            scenarios=("connection-setup",)))
        self.assertEqual(run_main([part, "--out", str(self.out),
                                   "--formats", "png"])[0], 0)
        self.assertFalse((self.out / "dict_lookups.png").exists())
        self.assertTrue((self.out / "connection_setup.png").exists())
        self.assertTrue((self.out / "notes.txt").exists())  # not ours

    def test_merge_python_reference(self):
        cpp = write_json(self.dir / "cpp.json", fixture.make_results(
            scenarios=("roundtrip",)))
        py_doc = fixture.make_results(scenarios=("roundtrip",),
                                      python_ref=True)
        py_doc["benchmarks"] = [e for e in py_doc["benchmarks"]
                                if "/py-" in e["run_name"]]
        py = write_json(self.dir / "py.json", py_doc)
        code, out, err = run_main([cpp, py, "--merge", "--out",
                                   str(self.out), "--formats", "png"])
        self.assertEqual(code, 0, err)
        md = (self.out / "index.md").read_text(encoding="utf-8")
        self.assertIn("| py-queue | thread |", md)
        self.assertIn("| shm-ring | process |", md)
        self.assertNotIn("## Comparison", md)


class RealOutputTest(unittest.TestCase):
    """An excerpt of a real `build/ipcbench --quick
    --benchmark_repetitions=3` file (tests/data/plot_real_quick.json)."""

    def test_real_file_parses_and_reports(self):
        path = ROOT / "tests" / "data" / "plot_real_quick.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        ds = data.parse_results(doc, str(path))
        self.assertEqual(ds.warnings, [])
        self.assertEqual(len(ds.points), 6)     # 3 transports x 2 contexts
        for p in ds.points.values():
            self.assertEqual((p.n, p.source), (3, "repetitions"))
        with tempfile.TemporaryDirectory() as tmp:
            code, out, err = run_main([str(path), "--out", tmp,
                                       "--formats", "png"])
            self.assertEqual(code, 0, err)
            md = (Path(tmp) / "index.md").read_text(encoding="utf-8")
        self.assertIn(doc["context"]["git_commit"], md)
        key = data.parse_name("roundtrip/tcp/process/size:256/real_time")
        t = ds.points[data.parse_name("roundtrip/tcp/thread/size:256")]
        self.assertRegex(md, re.escape(
            f"| tcp | none | {fmt.fmt_seconds(t.median)} (") + r"[^|]*\| " +
            re.escape(f"{fmt.fmt_seconds(ds.points[key].median)} ("))


class SeedSectionTest(unittest.TestCase):
    """The seed table from scripts/seed.py inside the report (--pyref)."""

    CPP = ROOT / "tests" / "data" / "seed-cpp.json"
    PY = ROOT / "tests" / "data" / "seed-py.json"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = Path(cls.tmp.name) / "reports"
        cls.code, cls.stdout, cls.stderr = run_main(
            [str(cls.CPP), "--pyref", str(cls.PY), "--out", str(cls.out)])
        cls.md = (cls.out / "index.md").read_text(encoding="utf-8")
        cls.html = (cls.out / "index.html").read_text(encoding="utf-8")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def seed_rows(self, md):
        """The seed table's lines in a Markdown text."""
        lines = md.splitlines()
        start = next(i for i, ln in enumerate(lines)
                     if ln.startswith("| scenario | 2008 |"))
        end = next(i for i in range(start, len(lines)) if not lines[i])
        return lines[start:end]

    def test_section_table_chart_and_notes(self):
        self.assertEqual(self.code, 0, self.stderr)
        self.assertIn("## The seed: `processing` (2008), Python today, C++",
                      self.md)
        rows = self.seed_rows(self.md)
        self.assertEqual(len(rows), 2 + 5)      # header, alignment, rows
        self.assertEqual(rows[1], "|---|---:|---:|---:|---:|---:|---:|---:|")
        manager = rows[2]
        # fixture medians: Python 20k/s, manager-uds 40k/s, shm 2M/s
        for cell in ("| Manager dict lookup, from another process |",
                     "| 18,000-20,000 times/s |", "| 20.0k/s", "| 1.0-1.1x |",
                     "| 40.0k/s", "| 2.0x |", "| 2.00M/s", "| 100x |",
                     "<br>`dict/shm/process/readers:1`"):
            self.assertIn(cell, manager)
        self.assertIn("n/a (error: message 7: checksum mismatch)", rows[6])
        self.assertTrue((self.out / "seed.png").read_bytes().startswith(
            b"\x89PNG"))
        self.assertIn("<svg", (self.out / "seed.svg").read_text()[:2000])
        self.assertIn("![seed](seed.png)", self.md)
        self.assertIn("How the rows are matched:", self.md)
        self.assertIn("- Python today: Fixture CPU", self.md)
        self.assertIn("| Python reference run | ", self.md)

    def test_same_cells_as_seed_py(self):
        # One computation, two renderings: plot's rows are seed.md's rows.
        from ipcbench_tools import seedtable as seed
        text, _ = seed.seed_section(json.loads(self.CPP.read_text()),
                                    json.loads(self.PY.read_text()),
                                    json.loads((ROOT / "data" /
                                                "processing-2008.json")
                                               .read_text()))
        self.assertEqual(self.seed_rows(self.md), self.seed_rows(text))

    def test_html_has_a_real_table(self):
        i = self.html.index('<h2 id="sec-the-seed')
        part = self.html[i:self.html.index("<h2", i + 1)]
        self.assertIn("<table><tr><th>scenario</th>"
                      '<th style="text-align:right">2008</th>', part)
        self.assertIn('<td style="text-align:right">20.0k/s ±15%<br>'
                      "<code>dict/py-manager/process/readers:1</code></td>",
                      part)
        self.assertNotIn("| Manager dict", part)         # not raw Markdown
        self.assertNotIn("&lt;br&gt;", part)
        self.assertIn('<a href="https://mail.python.org/pipermail/', part)
        self.assertIn("<ul><li>Manager dict lookup", part)
        self.assertEqual(part.count("data:image/svg+xml;base64,"), 1)

    def test_merge_also_gives_the_section(self):
        with tempfile.TemporaryDirectory() as tmp:
            code, out, err = run_main([str(self.CPP), str(self.PY), "--merge",
                                       "--out", tmp, "--formats", "png"])
            self.assertEqual(code, 0, err)
            md = (Path(tmp) / "index.md").read_text(encoding="utf-8")
        self.assertEqual(self.seed_rows(md), self.seed_rows(self.md))
        self.assertIn("| py-manager | process |", md)    # drawn too

    def test_without_python_no_section(self):
        self.assertIn("skipped: seed table", run_main(
            [str(self.CPP), "--out", str(Path(self.tmp.name) / "x"),
             "--formats", "png"])[1])
        md = (Path(self.tmp.name) / "x" / "index.md").read_text()
        self.assertNotIn("The seed", md)
        self.assertFalse((Path(self.tmp.name) / "x" / "seed.png").exists())

    def test_deterministic_output(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertEqual(run_main([str(self.CPP), "--pyref", str(self.PY),
                                       "--out", tmp])[0], 0)
            for name in ("index.md", "index.html", "seed.svg", "seed.png",
                         "dict_lookups.svg"):
                self.assertEqual((Path(tmp) / name).read_bytes(),
                                 (self.out / name).read_bytes(), name)
        self.assertNotIn(str(ROOT), self.md)       # repo-relative paths
        self.assertIn("| source | tests/data/seed-cpp.json |", self.md)

    def test_defaults_are_what_run_sh_reports(self):
        # no file named: results/latest.json + results/pyref.json -> reports/
        saved = plot.DEFAULT_INPUT, plot.DEFAULT_PYREF, plot.DEFAULT_OUT
        out = Path(self.tmp.name) / "default-reports"
        plot.DEFAULT_INPUT, plot.DEFAULT_PYREF, plot.DEFAULT_OUT = \
            self.CPP, self.PY, out
        try:
            code, _, err = run_main(["--formats", "png"])
        finally:
            plot.DEFAULT_INPUT, plot.DEFAULT_PYREF, plot.DEFAULT_OUT = saved
        self.assertEqual(code, 0, err)
        md = (out / "index.md").read_text(encoding="utf-8")
        self.assertEqual(self.seed_rows(md), self.seed_rows(self.md))

    def test_bad_pyref(self):
        tmp = Path(self.tmp.name)
        write_json(tmp / "shape.json", {"context": {}})
        cases = [
            (tmp / "missing.json", "missing.json: no such file"),
            (tmp / "shape.json", "not Google Benchmark JSON"),
            (self.CPP, "no Python reference benchmarks (py-* names)"),
        ]
        for path, phrase in cases:
            with self.subTest(path=path.name):
                out = tmp / "bad-out"
                r = run_script([str(self.CPP), "--pyref", str(path),
                                "--out", str(out)])
                self.assertEqual(r.returncode, 1, r.stderr)
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertTrue(lines[0].startswith("plot.py: error: "))
                self.assertIn(phrase, lines[0])
                self.assertFalse(out.exists())
                self.assertEqual([p.name for p in tmp.iterdir()
                                  if p.name.startswith(".bad-out")], [])


class CompareTest(unittest.TestCase):

    def test_two_files_side_by_side_with_ratio(self):
        with tempfile.TemporaryDirectory() as tmp:
            scen = ("roundtrip", "dict")
            a = write_json(Path(tmp) / "a.json", fixture.make_results(
                seed=9, scenarios=scen, commit="aaaaaaa",
                contexts=("thread",)))
            b = write_json(Path(tmp) / "b.json", fixture.make_results(
                seed=9, scenarios=scen, commit="bbbbbbb", scale=0.5,
                contexts=("thread",)))
            out = Path(tmp) / "reports"
            code, stdout, err = run_main([a, b, "--out", str(out),
                                          "--label", "old", "--label",
                                          "new", "--formats", "png"])
            self.assertEqual(code, 0, err)
            for name in ("compare_roundtrip", "compare_dict"):
                self.assertTrue((out / f"{name}.png").exists(), name)
            self.assertFalse((out / "compare_roundtrip.svg").exists())
            md = (out / "index.md").read_text(encoding="utf-8")
            self.assertIn("## Comparison", md)
            self.assertIn("| benchmark | old | new | new / old |", md)
            # every time halved / every rate doubled -> exactly 2x better
            self.assertIn("| pipe thread 16 B |", md)
            rows = [ln for ln in md.splitlines()
                    if ln.startswith("| pipe thread 16 B |")
                    or ln.startswith("| local thread 1 reader |")]
            self.assertEqual(len(rows), 2)
            for row in rows:
                self.assertTrue(row.endswith("| 2.00x |"), row)
            self.assertIn("Geometric mean of new over old: 2.00x", md)
            self.assertIn("bbbbbbb", md)

    def test_no_common_benchmarks_is_said(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = write_json(Path(tmp) / "a.json", fixture.make_results(
                scenarios=("dict",)))
            b = write_json(Path(tmp) / "b.json", fixture.make_results(
                scenarios=("connection-setup",)))
            code, out, err = run_main([a, b, "--out", str(Path(tmp) / "r"),
                                       "--formats", "png"])
            self.assertEqual(code, 0, err)
            self.assertIn("skipped: comparison charts", out)


class InstallTest(unittest.TestCase):
    """The report directory changes all at once (render.install), and a Ctrl-C
    at any moment of plot.py is exit 130 with one line, no traceback."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.out = self.dir / "reports"

    def tearDown(self):
        self.tmp.cleanup()

    def tree(self, top):
        return {str(p.relative_to(top)): p.read_text() for p in
                sorted(Path(top).rglob("*")) if p.is_file()}

    def make_old(self):
        self.out.mkdir()
        for name in ("a.png", "index.md", "gone.png"):
            (self.out / name).write_text(f"old {name}\n")
        (self.out / render.MANIFEST).write_text("a.png\nindex.md\ngone.png\n")
        (self.out / "history").mkdir()        # not ours: scripts/history.py's
        (self.out / "history" / "index.html").write_text("trend\n")
        (self.out / "notes.txt").write_text("the user's\n")
        return self.tree(self.out)

    def make_new(self):
        tmp = Path(tempfile.mkdtemp(prefix=".reports.tmp-", dir=self.dir))
        names = ["a.png", "b.png", "index.md"]
        for name in names:
            (tmp / name).write_text(f"new {name}\n")
        return tmp, names

    NEW = {"a.png": "new a.png\n", "b.png": "new b.png\n",
           "index.md": "new index.md\n", render.MANIFEST: "a.png\nb.png\nindex.md\n",
           "history/index.html": "trend\n", "notes.txt": "the user's\n"}

    def test_swaps_in_the_new_report_and_keeps_what_is_not_ours(self):
        self.make_old()
        tmp, names = self.make_new()
        render.install(tmp, self.out, names)
        self.assertEqual(self.tree(self.out), self.NEW)
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["reports"])

    def test_an_interrupt_at_any_step_leaves_the_old_or_the_new_report(self):
        # Ctrl-C (KeyboardInterrupt) at the k-th rename of the install: the
        # directory is then wholly the old report or wholly the new one.
        from unittest import mock
        seen = set()
        for k in range(1, 8):
            with self.subTest(k=k):
                if self.out.exists():
                    import shutil
                    shutil.rmtree(self.out)
                old = self.make_old()
                tmp, names = self.make_new()
                calls = [0]
                real = {"replace": os.replace, "rename": os.rename,
                        "exchange": getattr(render, "_exchange", None)}

                def counted(kind):
                    def call(*a, **kw):
                        calls[0] += 1
                        if calls[0] == k:
                            raise KeyboardInterrupt
                        return real[kind](*a, **kw)
                    return call
                patches = [mock.patch.object(render.os, "replace",
                                             counted("replace")),
                           mock.patch.object(render.os, "rename",
                                             counted("rename"))]
                if real["exchange"] is not None:
                    patches.append(mock.patch.object(render, "_exchange",
                                                     counted("exchange")))
                with contextlib.ExitStack() as stack:
                    for p in patches:
                        stack.enter_context(p)
                    try:
                        render.install(tmp, self.out, names)
                        seen.add("done")
                    except KeyboardInterrupt:
                        import shutil
                        shutil.rmtree(tmp, ignore_errors=True)  # as plot.run
                        seen.add("interrupted")
                got = self.tree(self.out)
                self.assertIn(got, (old, self.NEW), f"a mix after an interrupt at "
                              f"rename {k}")
        self.assertEqual(seen, {"done", "interrupted"})

    def test_ctrl_c_early_or_late_is_exit_130_without_a_traceback(self):
        path = write_json(self.dir / "r.json", fixture.make_results(seed=4))
        for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8):
            with self.subTest(delay=delay):
                p = subprocess.Popen([PYTHON, str(SCRIPT), path, "--out",
                                      str(self.out)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
                import signal
                import time
                time.sleep(delay)
                os.killpg(p.pid, signal.SIGINT)   # Ctrl-C: the group
                _, err = p.communicate(timeout=120)
                if err.startswith("Fatal Python error: init_import_site") or \
                        err.endswith("line 0, in <module>\nKeyboardInterrupt\n") or \
                        re.search(r'plot\.py", line \d+, in <module>\n    import signal\n', err):
                    # the interpreter's own start, or the script's import of signal,
                    # which must come before any handler can be set
                    continue
                self.assertNotIn("Traceback", err)
                if p.returncode == -signal.SIGINT:
                    # before Python ran the script's first line: killed by
                    # SIGINT (130 in a shell), nothing printed
                    self.assertEqual(err, "")
                elif p.returncode != 0:   # it may have finished first
                    self.assertEqual(p.returncode, 130, err)
                    self.assertEqual(err.strip().splitlines()[-1],
                                     "plot.py: interrupted", err)


if __name__ == "__main__":
    unittest.main()
