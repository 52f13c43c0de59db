"""Tests for scripts/seed.py: the seed table's numbers, ratios and errors."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "seed.py")
DATA = os.path.join(ROOT, "tests", "data")
CPP = os.path.join(DATA, "seed-cpp.json")
PY = os.path.join(DATA, "seed-py.json")
SEED = os.path.join(ROOT, "data", "processing-2008.json")
from ipcbench_tools import seedtable as seed  # noqa: E402


def load(path):
    with open(path) as f:
        return json.load(f)


class TableTest(unittest.TestCase):
    """Fixture rates: each benchmark's median is the round rate below."""

    @classmethod
    def setUpClass(cls):
        figures = seed.check_seed(load(SEED))
        cls.rows = {r.scenario.id: r for r in seed.build_rows(
            seed.results(load(CPP)), seed.results(load(PY)), figures)}

    def assert_pick(self, pick, name, rate):
        self.assertEqual(pick.name, name)
        self.assertAlmostEqual(pick.result.rate, rate, delta=rate * 1e-9)

    def test_manager_dict_row(self):
        r = self.rows["manager-dict"]
        self.assert_pick(r.python, "dict/py-manager/process/readers:1",
                         20_000)
        self.assert_pick(r.cpp_same, "dict/manager-uds/process/readers:1",
                         40_000)  # fastest manager-* kind
        self.assert_pick(r.cpp_fastest, "dict/shm/process/readers:1",
                         2_000_000)
        lo, hi = r.ratio_2008()
        self.assertAlmostEqual(lo, 1.0)
        self.assertAlmostEqual(hi, 20_000 / 18_000)
        self.assertAlmostEqual(r.ratio(r.cpp_same), 2.0)
        self.assertAlmostEqual(r.ratio(r.cpp_fastest), 100.0)

    def test_plain_dict_row(self):
        r = self.rows["plain-dict"]
        self.assertAlmostEqual(r.ratio_2008()[0], 2.0)
        self.assert_pick(r.cpp_same, "dict/local/thread/readers:1",
                         50_000_000)
        self.assertAlmostEqual(r.ratio(r.cpp_same), 5.0)

    def test_queue_between_processes_uses_throughput(self):
        r = self.rows["queue-process"]
        self.assert_pick(r.python, "throughput/py-mpqueue/process/size:64",
                         75_000)
        self.assertAlmostEqual(r.ratio_2008()[0], 10.0)
        self.assert_pick(r.cpp_same, "throughput/pipe/process/size:64",
                         400_000)
        self.assert_pick(r.cpp_fastest,
                         "throughput/shm-ring/process/size:64", 4_000_000)
        self.assertAlmostEqual(r.ratio(r.cpp_fastest), 4e6 / 75e3)

    def test_queue_between_threads_falls_back_to_round_trips(self):
        r = self.rows["queue-thread"]
        # no throughput/py-queue and no throughput/queue in the fixtures
        self.assert_pick(r.python, "roundtrip/py-queue/thread/size:64",
                         25_000)
        self.assert_pick(r.cpp_same, "roundtrip/queue/thread/size:16",
                         10_000)
        # memcpy is an upper bound, not a transport
        self.assert_pick(r.cpp_fastest,
                         "throughput/shm-ring/thread/size:64", 5_000_000)
        lo, hi = r.ratio_2008()
        self.assertAlmostEqual(lo, 0.5)
        self.assertAlmostEqual(hi, 25_000 / 18_000)
        self.assertAlmostEqual(r.ratio(r.cpp_same), 0.4)

    def test_ratio_compares_one_way_with_one_way_only(self):
        py = seed.results(load(PY))
        py["throughput/py-queue/thread/size:64"] = seed.Result(100_000.0)
        rows = seed.build_rows(seed.results(load(CPP)), py,
                               seed.check_seed(load(SEED)))
        r = [x for x in rows if x.scenario.id == "queue-thread"][0]
        self.assertEqual(r.python.name, "throughput/py-queue/thread/size:64")
        # C++ has only a round trip for `queue`: compared with Python's
        self.assertEqual(r.python_for(r.cpp_same).name,
                         "roundtrip/py-queue/thread/size:64")
        self.assertAlmostEqual(r.ratio(r.cpp_same), 0.4)
        self.assertAlmostEqual(r.ratio(r.cpp_fastest), 50.0)
        self.assertIn("(vs `roundtrip/py-queue/thread/size:64`)",
                      seed._ratio_cell(r, r.cpp_same))

    def test_failed_and_unpublished_entries_are_na(self):
        r = self.rows["listener-client"]
        self.assertIsNone(r.ratio_2008())  # no 2008 figure
        self.assertEqual(r.cpp_same.name, "connection/unix/process/size:64")
        self.assertIsNone(r.cpp_same.result.rate)
        self.assertIn("checksum", r.cpp_same.result.error)
        self.assertIsNone(r.ratio(r.cpp_same))
        self.assert_pick(r.cpp_fastest, "connection/tcp/process/size:64",
                         150_000)
        self.assertAlmostEqual(r.ratio(r.cpp_fastest), 1.5)

    def test_markdown_table(self):
        text, fig = seed.seed_section(load(CPP), load(PY), load(SEED))
        lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
        self.assertEqual(len(lines), 1 + len(seed.SCENARIOS))
        manager = lines[1]
        for cell in ("18,000-20,000 times/s", "20.0k/s", "1.0-1.1x",
                     "40.0k/s", "2.0x", "2.00M/s", "100x"):
            self.assertIn(cell, manager)
        listener = lines[5]
        self.assertIn("n/a (error: message 7: checksum mismatch)", listener)
        self.assertIn("1.5x", listener)
        self.assertIn("seed.svg", text)
        self.assertIn("python-dev", text)
        self.assertEqual(len(fig.axes), 1)
        self.assertEqual(fig.axes[0].get_xscale(), "log")

    def test_without_cpp_everything_cpp_is_na(self):
        text, _ = seed.seed_section(None, load(PY), load(SEED))
        for line in [ln for ln in text.splitlines()
                     if ln.startswith("| ")][1:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            self.assertEqual(cells[4:], ["n/a"] * 4, line)
        self.assertIn("C++: no results given", text)

    def test_single_repetition_results_use_iterations(self):
        doc = {"benchmarks": [
            {"name": "dict/local/thread/readers:1/real_time",
             "run_type": "iteration", "items_per_second": 10.0},
            {"name": "roundtrip/pipe/process/size:16/real_time",
             "run_name": "roundtrip/pipe/process/size:16/real_time",
             "run_type": "iteration", "error_occurred": True,
             "error_message": "boom"}]}
        res = seed.results(doc)
        self.assertEqual(res["dict/local/thread/readers:1"].rate, 10.0)
        self.assertIsNone(res["dict/local/thread/readers:1"].cv)
        self.assertEqual(res["roundtrip/pipe/process/size:16"].error, "boom")

    def test_cells_once_for_both_renderings(self):
        # plot.py renders table_cells() as a Table; seed.md as Markdown.
        cells = seed.table_cells(list(self.rows.values()))
        self.assertEqual([len(c) for c in cells],
                         [len(seed.HEADERS)] * len(seed.SCENARIOS))
        self.assertEqual(len(seed.ALIGN), len(seed.HEADERS))
        manager = cells[0]
        self.assertEqual(manager[2], "20.0k/s ±15%\n"
                         "`dict/py-manager/process/readers:1`")
        self.assertNotIn("<br>", "".join(c for row in cells for c in row))
        text = seed.markdown(list(self.rows.values()), None, {}, load(SEED))
        self.assertIn("| 20.0k/s ±15%<br>`dict/py-manager/process/"
                      "readers:1` |", text)
        paras = seed.notes(list(self.rows.values()), None, {}, load(SEED))
        self.assertEqual(paras[0], "How the rows are matched:")
        self.assertTrue(all(ln.startswith("- ")
                            for ln in paras[3].splitlines()))
        self.assertIn("- C++: no results given.", paras[3])

    def test_kinds(self):
        self.assertEqual(seed.kinds(load(PY)), {"python"})
        self.assertEqual(seed.kinds(load(CPP)), {"cpp"})
        both = {"benchmarks": load(PY)["benchmarks"] +
                load(CPP)["benchmarks"]}
        self.assertEqual(seed.kinds(both), {"python", "cpp"})
        self.assertEqual(seed.kinds({"benchmarks": []}), set())
        self.assertEqual(seed.kinds([1]), set())

    def test_formatting(self):
        self.assertEqual(seed.fmt_rate(18000), "18.0k")
        self.assertEqual(seed.fmt_rate(5e6), "5.00M")
        self.assertEqual(seed.fmt_rate(123456), "123k")
        self.assertEqual(seed.fmt_ratio(None), "n/a")
        self.assertEqual(seed.fmt_ratio(2.0), "2.0x")
        self.assertEqual(seed.fmt_ratio(1234.0), "1,234x")
        self.assertEqual(seed.fmt_ratio(0.004), "0.004x")
        self.assertEqual(seed.fmt_ratio((9.1, 25.3)), "9.1-25x")

    def test_bad_documents(self):
        with self.assertRaisesRegex(seed.InputError, "no \"benchmarks\""):
            seed.results({"context": {}})
        with self.assertRaisesRegex(seed.InputError, "no \"benchmarks\""):
            seed.results([1, 2])
        with self.assertRaisesRegex(seed.InputError, "not a benchmark object with a name"):
            seed.results({"benchmarks": [{"run_type": "iteration"}]})
        good = load(SEED)
        bad = dict(good, figures=good["figures"][1:])
        with self.assertRaisesRegex(seed.InputError, "manager-dict"):
            seed.check_seed(bad)
        broken = json.loads(json.dumps(good))
        broken["figures"][0]["low"] = -5
        with self.assertRaisesRegex(seed.InputError, "bad low/high"):
            seed.check_seed(broken)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "reports")

    def tearDown(self):
        self.tmp.cleanup()

    def run_seed(self, *args):
        return subprocess.run([sys.executable, SCRIPT, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_writes_markdown_png_svg(self):
        r = self.run_seed("--cpp", CPP, "--py", PY, "--out", self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.out)),
                         ["seed.md", "seed.png", "seed.svg"])
        with open(os.path.join(self.out, "seed.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(os.path.join(self.out, "seed.md")) as f:
            self.assertIn("| Manager dict lookup", f.read())

    def test_bad_input_one_line_no_output(self):
        with open(PY) as f:
            trunc = self.write("trunc.json", f.read()[:500])
        empty = self.write("empty.json", "")
        shape = self.write("shape.json", '{"context": {}}')
        badseed = self.write("seed.json", '{"figures": []}')
        foreign = self.write("foreign.json", json.dumps({"benchmarks": [
            {"name": "BM_memcpy/64", "run_type": "iteration",
             "real_time": 5.0, "time_unit": "ns",
             "items_per_second": 2e8}]}))
        cases = [
            # A readable file for the wrong column: one line, not a table of n/a.
            (["--py", CPP], 2, "holds ipcbench C++ results, not Python "
             "reference (scripts/pyref.py, py-* names) ones: --py and --cpp "
             "swapped?"),
            (["--py", PY, "--cpp", PY], 2, "--cpp " + PY + ": holds Python "
             "reference"),
            (["--cpp", PY, "--py", CPP], 2, "swapped?"),
            (["--py", foreign], 2, "none of the seed table's Python"),
            (["--py", PY, "--cpp", foreign], 2, "none of the seed table's "
             "ipcbench C++ benchmarks"),
            (["--py", "missing.json"], 1, "missing.json"),
            (["--py", empty], 1, "empty file"),
            (["--py", trunc], 1, "truncated JSON"),
            (["--py", shape], 1, "not Google Benchmark JSON"),
            (["--py", PY, "--cpp", shape], 1, "not Google Benchmark JSON"),
            (["--py", PY, "--seed", badseed], 1, "missing figures"),
            ([], 2, "--py"),
            (["--py", PY, "--bogus"], 2, "unrecognized"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                r = self.run_seed(*args, "--out", self.out)
                self.assertEqual(r.returncode, code, r.stderr)
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertTrue(lines[0].startswith("seed.py: error: "))
                self.assertIn(text, lines[0])
                self.assertFalse(os.path.exists(self.out))


if __name__ == "__main__":
    unittest.main()
