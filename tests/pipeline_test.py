#!/usr/bin/python3
"""Pipeline smoke test: what ./run.sh does, in miniature, into a temp dir.

A quick filtered C++ run, a quick filtered Python reference run
(scripts/pyref.py), both added to a results history with its trend charts
(scripts/history.py add, trend), then scripts/plot.py --pyref --history over
them. Checks that the report and its charts exist, that it links to the
trend charts, and that the seed table's numbers are the ones in the two JSON
files (recomputed here from the files, not with seed.py).

Usage: pipeline_test.py PATH/TO/ipcbench   (CTest passes the built binary)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

BINARY = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
SCRIPTS = os.path.join(ROOT, "scripts")
CPP_FILTER = "roundtrip/(pipe|queue)/.*/size:(16|256)/"
PY_FILTER = ("dict/py-local|/py-queue/thread/size:64|"
             "roundtrip/py-mpqueue/process/size:64")
PNG = b"\x89PNG\r\n\x1a\n"


def run(args, timeout):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def median_rate(doc, name):
    """items_per_second of the "median" aggregate of one benchmark."""
    for e in doc["benchmarks"]:
        if e.get("run_name") == name and e.get("aggregate_name") == "median":
            return e["items_per_second"]
    raise AssertionError(f"no median aggregate for {name}")


def shown(text, unit):
    """(value, half a unit of its last digit) of e.g. '5.69M/s' or '12x'."""
    if unit == "/s":
        m = re.match(r"([\d.]+)([kMG]?)/s", text)
        scale = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
    else:
        m = re.match(r"([\d,.]+)x", text)
        scale = 1
    digits = m.group(1).replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits) * scale, 0.5 * 10 ** -decimals * scale * 1.0001


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cpp = os.path.join(cls.tmp.name, "cpp.json")
        cls.py = os.path.join(cls.tmp.name, "pyref.json")
        cls.out = os.path.join(cls.tmp.name, "reports")
        cls.db = os.path.join(cls.tmp.name, "history.sqlite")
        history = [PYTHON, os.path.join(SCRIPTS, "history.py"), "--db", cls.db]
        cls.steps = [
            ("ipcbench", run([BINARY, "--quick", "--benchmark_repetitions=2",
                              f"--benchmark_filter={CPP_FILTER}",
                              f"--benchmark_out={cls.cpp}",
                              "--benchmark_out_format=json"], 60)),
            ("pyref.py", run([PYTHON, os.path.join(SCRIPTS, "pyref.py"),
                              "--quick", "--filter", PY_FILTER,
                              "--out", cls.py], 60)),
        ]
        cls.steps.append(("history.py add", run(
            history + ["add", cls.cpp, cls.py], 60)))
        cls.steps.append(("history.py trend", run(
            history + ["trend", "--out", os.path.join(cls.out, "history")],
            120)))
        cls.steps.append(("plot.py", run(
            [PYTHON, os.path.join(SCRIPTS, "plot.py"), cls.cpp,
             "--pyref", cls.py, "--history", cls.db, "--out", cls.out], 120)))
        cls.docs = {}
        for name, path in (("cpp", cls.cpp), ("py", cls.py)):
            if os.path.exists(path):
                with open(path) as f:
                    cls.docs[name] = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def read(self, name):
        with open(os.path.join(self.out, name), encoding="utf-8") as f:
            return f.read()

    def seed_row(self, label):
        """The cells of one seed-table row in index.md."""
        for line in self.read("index.md").splitlines():
            if line.startswith(f"| {label} |"):
                return [c.strip() for c in line.strip("|").split(" | ")]
        self.fail(f"no seed-table row {label!r} in index.md")

    def assert_shown(self, cell, value, unit):
        got, tol = shown(cell, unit)
        self.assertAlmostEqual(got, value, delta=tol,
                               msg=f"{cell!r} shows {got}, files say {value}")

    def test_every_step_succeeds(self):
        for name, proc in self.steps:
            self.assertEqual(proc.returncode, 0,
                             f"{name} failed:\n{proc.stderr[-2000:]}")

    def test_report_and_charts_exist(self):
        for name in ("index.md", "index.html"):
            self.assertTrue(os.path.isfile(os.path.join(self.out, name)),
                            name)
        for chart in ("seed", "roundtrip_latency", "threads_vs_processes",
                      "latency_percentiles"):
            with open(os.path.join(self.out, f"{chart}.png"), "rb") as f:
                self.assertEqual(f.read(8), PNG, chart)
            self.assertIn("<svg", self.read(f"{chart}.svg")[:2000], chart)
        html = self.read("index.html")
        self.assertIn("<td>Plain dict lookup, same thread</td>", html)
        # the charts are embedded as SVG (sharp at any width), not PNG
        self.assertEqual(html.count("data:image/svg+xml;base64,"), 4)
        self.assertNotIn("data:image/png", html)

    def test_report_links_to_the_history(self):
        self.assertIn("[history/index.html](history/index.html)",
                      self.read("index.md"))
        self.assertIn('<a href="history/index.html">', self.read("index.html"))
        self.assertTrue(os.path.isfile(os.path.join(self.out, "history",
                                                    "index.html")))
        # both runs, one machine (pyref.py's kernel string lacks the
        # architecture ipcbench's has: the fingerprint reads past it)
        self.assertIn("holds 2 runs of 1 commit on 1 machine",
                      self.read("index.md"))

    def test_plain_dict_row_matches_pyref_json(self):
        rate = median_rate(self.docs["py"],
                           "dict/py-local/thread/readers:1/real_time")
        cells = self.seed_row("Plain dict lookup, same thread")
        self.assertIn("`dict/py-local/thread/readers:1`", cells[2])
        self.assert_shown(cells[2], rate, "/s")
        self.assert_shown(cells[3], rate / 5e6, "x")    # 2008: 5 million/s
        self.assertEqual(cells[4:], ["n/a"] * 4)        # no C++ dict here

    def test_queue_between_threads_row_matches_both_files(self):
        cpp, py = self.docs["cpp"], self.docs["py"]
        cpp_rate = max(median_rate(cpp, f"roundtrip/queue/thread/size:{s}"
                                        "/real_time") for s in (16, 256))
        py_rt = median_rate(py, "roundtrip/py-queue/thread/size:64/real_time")
        py_oneway = median_rate(py,
                                "throughput/py-queue/thread/size:64/real_time")
        cells = self.seed_row("Queue between threads, one way")
        self.assertIn("`throughput/py-queue/thread/size:64`", cells[2])
        self.assert_shown(cells[2], py_oneway, "/s")
        self.assertIn("`roundtrip/queue/thread/size:", cells[4])
        self.assert_shown(cells[4], cpp_rate, "/s")
        # C++ has only round trips here: compared with Python's round trip
        self.assertIn("(vs `roundtrip/py-queue/thread/size:64`)", cells[5])
        self.assert_shown(cells[5], cpp_rate / py_rt, "x")

    def test_missing_pyref_is_one_line_and_writes_nothing(self):
        out = os.path.join(self.tmp.name, "bad")
        proc = run([PYTHON, os.path.join(SCRIPTS, "plot.py"), self.cpp,
                    "--pyref", os.path.join(self.tmp.name, "nope.json"),
                    "--out", out], 60)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr.splitlines(),
                         [f"plot.py: error: "
                          f"{os.path.join(self.tmp.name, 'nope.json')}: "
                          "no such file"])
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: pipeline_test.py PATH/TO/ipcbench", file=sys.stderr)
        sys.exit(2)
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
