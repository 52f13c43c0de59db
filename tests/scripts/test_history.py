"""Tests for scripts/history.py (the results history), its package
ipcbench_tools/history/ and scripts/history_experiment.py.

Run: /usr/bin/python3 -m unittest discover -s tests/scripts -t .
"""
import contextlib
import csv
import hashlib
import io
import json
import glob
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from tests.scripts import SCRIPTS

import history  # noqa: E402
from ipcbench_tools.history import detect, ingest, store  # noqa: E402

ROOT = os.path.dirname(SCRIPTS)
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable
# Every results file in the repository, timestamped runs first (latest.json is
# a copy of the newest one, which ./run.sh wrote).
COMMITTED = sorted(glob.glob(os.path.join(ROOT, "results", "*.json")))


def gbench_doc(commit, date, series, host="vm", kernel="Linux 6.1.0 x86_64",
               pin="none"):
    """Google Benchmark 1.7.1-shaped JSON: {run_name: [real_time ns]}."""
    entries = []
    for name, times in series.items():
        full = name + "/real_time"
        for i, t in enumerate(times):
            entries.append({"name": full, "run_name": full,
                            "run_type": "iteration",
                            "repetitions": len(times), "repetition_index": i,
                            "threads": 1, "iterations": 1000, "real_time": t,
                            "cpu_time": t / 2, "time_unit": "ns",
                            "p99_ns": t * 3})
        entries.append({"name": full + "_median", "run_name": full,
                        "run_type": "aggregate", "aggregate_name": "median",
                        "aggregate_unit": "time", "repetitions": len(times),
                        "threads": 1, "iterations": len(times),
                        "real_time": sorted(times)[len(times) // 2],
                        "cpu_time": 0, "time_unit": "ns"})
    return {"context": {"date": date, "host_name": host,
                        "executable": "build/ipcbench", "num_cpus": 2,
                        "cpu_model": "Test CPU", "kernel": kernel,
                        "git_commit": commit, "pin": pin,
                        "build_type": "Release"},
            "benchmarks": entries}


def history_docs(n, step_at=None, ratio=1.4, seed=1, names=None):
    """n commits (v000...; not in git, so ordered by date) of a benchmark
    with 5 repetitions each, ~2% noise; from commit step_at on, times
    ratio."""
    rng = random.Random(seed)
    names = names or ["roundtrip/pipe/thread/size:64"]
    docs = []
    for i in range(n):
        factor = ratio if step_at is not None and i >= step_at else 1.0
        series = {name: [10000 * factor * rng.lognormvariate(0, 0.02)
                         for _ in range(5)] for name in names}
        docs.append(gbench_doc(f"v{i:03d}", f"2026-01-{i + 1:02d}T00:00:00"
                               "+00:00", series))
    return docs


def run_main(argv):
    """history.main in-process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = history.main(argv)
    return status, out.getvalue(), err.getvalue()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TempCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name
        self.db = os.path.join(self.tmp, "h.sqlite")

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, doc):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    def add_docs(self, docs, prefix="run"):
        paths = [self.write(f"{prefix}{i:03d}.json", d)
                 for i, d in enumerate(docs)]
        status, out, err = run_main(["--db", self.db, "add"] + paths)
        self.assertEqual(status, 0, err)
        return paths

    def count(self, sql):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()


class CommittedResultsTest(TempCase):
    """history.py add results/*.json, then trend and check, on the files in
    the repository."""

    def test_add_trend_check_on_committed_results(self):
        status, out, err = run_main(["--db", self.db, "add"] + COMMITTED)
        self.assertEqual(status, 0, err)
        # latest.json is a copy of the newest timestamped run: one run
        self.assertIn("latest.json: already in the history", out)
        self.assertEqual(self.count("SELECT COUNT(*) FROM runs"),
                         len(COMMITTED) - 1)
        # ipcbench writes "Linux <release> x86_64", pyref.py "Linux <release>":
        # one machine per kernel release, not two
        kernels = self.count("SELECT COUNT(DISTINCT kernel) FROM machines")
        self.assertEqual(self.count("SELECT COUNT(*) FROM machines"), kernels)
        self.assertEqual(self.count(
            "SELECT COUNT(*) FROM samples s JOIN runs r ON r.id = s.run "
            "WHERE r.source LIKE '%floor-cross.json' AND placement <> "
            "'cross'"), 0)
        self.assertGreaterEqual(self.count(
            "SELECT COUNT(DISTINCT git_commit) FROM runs"), 2)
        # a few commits: too little history to decide (exit 3, one line)
        status, out, err = run_main(["--db", self.db, "check"])
        self.assertEqual(status, history.EXIT_TOO_LITTLE)
        self.assertIn("too little history", out)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        status, out, err = run_main(
            ["--db", self.db, "trend", "--filter", "^floor/", "--out",
             os.path.join(self.tmp, "trend")])
        self.assertEqual(status, 0, err)
        files = os.listdir(os.path.join(self.tmp, "trend"))
        self.assertIn("index.html", files)
        self.assertTrue([f for f in files if f.startswith("trend-")
                         and f.endswith("-floor.png")], files)

    def test_truncated_file_exits_2_and_changes_nothing(self):
        with open(COMMITTED[3]) as f:
            text = f.read()
        cut = self.write("cut.json", text[:len(text) // 2])
        good = self.write("good.json", history_docs(1)[0])
        # a new store is not even created
        status, out, err = run_main(["--db", self.db, "add", good, cut])
        self.assertEqual(status, 2)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("cut.json: truncated JSON", err)
        self.assertFalse(os.path.exists(self.db))
        # an existing one keeps every byte
        run_main(["--db", self.db, "add", COMMITTED[4]])
        before = sha(self.db)
        status, out, err = run_main(["--db", self.db, "add", good, cut])
        self.assertEqual(status, 2)
        self.assertEqual(sha(self.db), before)


class AddTest(TempCase):
    def test_adding_twice_changes_nothing(self):
        path = self.add_docs(history_docs(2))[0]
        before = sha(self.db)
        status, out, err = run_main(["--db", self.db, "add", path])
        self.assertEqual(status, 0, err)
        self.assertIn("already in the history", out)
        self.assertEqual(sha(self.db), before)

    def test_not_google_benchmark_json(self):
        for name, text in (("a.json", '{"results": []}'), ("b.json", ""),
                           ("c.json", "[1, 2"), ("d.json", '{"benchmarks": '
                                                           '[], "context": {}}')):
            with self.subTest(name=name):
                path = self.write(name, text)
                status, out, err = run_main(["--db", self.db, "add", path])
                self.assertEqual(status, 2)
                self.assertEqual(err.count("\n"), 1, err)
                self.assertNotIn("Traceback", err)
                self.assertFalse(os.path.exists(self.db))

    def test_every_repetition_and_placement_kept(self):
        doc = gbench_doc("abc", "2026-01-01T00:00:00+00:00", {
            "roundtrip/pipe/process/size:64/pin:cross": [1.0, 2.0, 3.0],
            "roundtrip/pipe/process/size:64/pin:same": [4.0, 5.0],
            "throughput/pipe/thread/size:64": [6.0]})
        self.add_docs([doc])
        con = sqlite3.connect(self.db)
        rows = con.execute("SELECT benchmark, placement, repetition, real_ns,"
                           " counters FROM samples ORDER BY real_ns").fetchall()
        con.close()
        self.assertEqual([r[:4] for r in rows], [
            ("roundtrip/pipe/process/size:64", "cross", 0, 1.0),
            ("roundtrip/pipe/process/size:64", "cross", 1, 2.0),
            ("roundtrip/pipe/process/size:64", "cross", 2, 3.0),
            ("roundtrip/pipe/process/size:64", "same", 0, 4.0),
            ("roundtrip/pipe/process/size:64", "same", 1, 5.0),
            ("throughput/pipe/thread/size:64", "none", 0, 6.0)])
        self.assertEqual(json.loads(rows[0][4]), {"p99_ns": 3.0})

    def test_machine_fingerprint(self):
        a = gbench_doc("x", "2026-01-01", {"floor/futex/thread": [1.0]})
        b = gbench_doc("x", "2026-01-02", {"floor/futex/thread": [1.0]},
                       kernel="Linux 6.1.0")   # pyref.py's kernel string
        c = gbench_doc("x", "2026-01-03", {"floor/futex/thread": [1.0]},
                       host="other")
        m = [ingest.machine_of(d["context"]) for d in (a, b, c)]
        self.assertEqual(m[0].id, m[1].id)
        self.assertNotEqual(m[0].id, m[2].id)
        self.assertEqual(ingest.machine_of(c["context"], host="vm").id,
                         m[0].id)

    def test_concurrent_adds(self):
        """Six processes add at once (each its own run and one shared
        run): every run is stored once, nothing is corrupted."""
        shared = self.write("shared.json", history_docs(1, seed=99)[0])
        own = [self.write(f"own{i}.json", d) for i, d in
               enumerate(history_docs(6, names=[
                   f"roundtrip/pipe/thread/size:{s}" for s in
                   (16, 64, 256, 4096, 65536, 1048576)]))]
        procs = [subprocess.Popen(
            [PYTHON, os.path.join(SCRIPTS, "history.py"), "--db", self.db,
             "add", path, shared], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for path in own]
        results = [p.communicate(timeout=120) + (p.returncode,)
                   for p in procs]
        for out, err, code in results:
            self.assertEqual(code, 0, err)
        self.assertEqual(sum("shared.json: added" in out
                             for out, _, _ in results), 1)
        con = sqlite3.connect(self.db)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
            self.assertEqual(con.execute("SELECT COUNT(*) FROM runs")
                             .fetchone()[0], 7)
            self.assertEqual(con.execute("SELECT COUNT(*) FROM samples")
                             .fetchone()[0], 6 * 6 * 5 + 5)
        finally:
            con.close()


class CheckTest(TempCase):
    def check(self, *args):
        return run_main(["--db", self.db, "check"] + list(args))

    def test_recent_step_exits_1_with_its_commits(self):
        self.add_docs(history_docs(14, step_at=10, ratio=1.4))
        status, out, err = self.check("--last", "5")
        self.assertEqual(status, history.EXIT_STEP, out + err)
        self.assertIn("v009 -> v010", out)
        self.assertRegex(out, r"\+(3[5-9]|4[0-5])\.\d% slower")
        self.assertIn("FAIL: 1 steps", out)

    def test_old_step_is_reported_but_passes(self):
        self.add_docs(history_docs(16, step_at=5, ratio=1.4))
        status, out, err = self.check("--last", "5",
                                      "--markdown",
                                      os.path.join(self.tmp, "c.md"))
        self.assertEqual(status, history.EXIT_OK, out + err)
        self.assertIn("v004 -> v005", out)
        with open(os.path.join(self.tmp, "c.md")) as f:
            md = f.read()
        self.assertIn("**PASS: no step above 10% within the last 5 commits**",
                      md)
        self.assertIn("| roundtrip/pipe/thread/size:64 |", md)

    def test_no_step_passes(self):
        self.add_docs(history_docs(14))
        status, out, err = self.check()
        self.assertEqual(status, history.EXIT_OK, out + err)
        self.assertIn("0 steps above 10%", out)

    def test_step_below_threshold_does_not_count(self):
        self.add_docs(history_docs(14, step_at=10, ratio=1.06))
        status, out, err = self.check()
        self.assertEqual(status, history.EXIT_OK, out + err)
        self.assertEqual(self.check("--threshold", "0.03")[0],
                         history.EXIT_STEP)

    def test_faster_and_fail_on(self):
        self.add_docs(history_docs(14, step_at=10, ratio=0.6))
        status, out, err = self.check()
        self.assertEqual(status, history.EXIT_STEP)
        self.assertIn("faster", out)
        self.assertEqual(self.check("--fail-on", "slower")[0],
                         history.EXIT_OK)

    def test_too_little_history(self):
        self.add_docs(history_docs(10, step_at=5))
        status, out, err = self.check()
        self.assertEqual(status, history.EXIT_TOO_LITTLE)
        self.assertEqual(err.strip().splitlines(), [
            "history.py: error: undecided: too little history: no benchmark "
            "has 11 commits on one machine"])

    def test_bad_input(self):
        status, out, err = self.check()
        self.assertEqual(status, 2)
        self.assertIn("no history yet", err)
        not_db = self.write("x.sqlite", "hello")
        status, out, err = run_main(["--db", not_db, "check"])
        self.assertEqual((status, err.count("\n")), (2, 1))
        self.assertIn("not a history database", err)
        self.add_docs(history_docs(2))
        for args in (["--filter", "("], ["--machine", "nosuch"],
                     ["--filter", "nomatch"], ["--alpha", "2"],
                     ["--permutations", "99", "--alpha", "0.001"]):
            with self.subTest(args=args):
                status, out, err = self.check(*args)
                self.assertEqual((status, err.count("\n")), (2, 1), err)

    def test_machines_are_checked_apart(self):
        docs = history_docs(14, step_at=10)
        for d in docs[::2]:
            d["context"]["host_name"] = "other"
        self.add_docs(docs)
        status, out, err = self.check()
        self.assertEqual(status, history.EXIT_TOO_LITTLE)   # 7 commits each
        self.assertEqual(out.count("machine "), 2)


class TrendExportTest(TempCase):
    @classmethod
    def setUpClass(cls):
        import matplotlib
        matplotlib.use("Agg")

    def test_trend_charts_and_index(self):
        names = ["roundtrip/pipe/thread/size:64",
                 "roundtrip/pipe/thread/size:64/pin:same",
                 "throughput/pipe/thread/size:4096"]
        self.add_docs(history_docs(14, step_at=10, names=names))
        out = os.path.join(self.tmp, "trend")
        status, stdout, err = run_main(["--db", self.db, "trend", "--out",
                                        out, "--formats", "png,svg"])
        self.assertEqual(status, 0, err)
        machine = ingest.machine_of(history_docs(1)[0]["context"]).id
        for stem in ("roundtrip", "throughput"):
            with open(os.path.join(out, f"trend-{machine}-{stem}.png"),
                      "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(os.path.join(out, "index.md")) as f:
            md = f.read()
        self.assertIn("Generated by `scripts/history.py`", md)
        self.assertIn(f"![trend-{machine}-roundtrip](trend-{machine}-"
                      "roundtrip.png)", md)
        self.assertIn("| roundtrip/pipe/thread/size:64/pin:same | 14 |", md)
        self.assertRegex(md, r"\| \+(3[5-9]|4[0-5])% at #11 v010 \(p 0\.0")
        with open(os.path.join(out, "index.html")) as f:
            self.assertIn("data:image/svg+xml;base64,", f.read())

    def test_export_csv_and_json(self):
        self.add_docs(history_docs(3))
        status, out, err = run_main(["--db", self.db, "export", "--format",
                                     "csv"])
        self.assertEqual(status, 0, err)
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(len(rows), 15)
        self.assertEqual(rows[0]["commit"], "v000")
        self.assertEqual(rows[0]["benchmark"], "roundtrip/pipe/thread/size:64")
        path = os.path.join(self.tmp, "e.json")
        status, out, err = run_main(["--db", self.db, "export", "--format",
                                     "json", "--out", path])
        self.assertEqual(status, 0, err)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual([r["commit"] for r in doc["runs"]],
                         ["v000", "v001", "v002"])
        self.assertEqual(doc["runs"][0]["samples"][0]["counters"],
                         {"p99_ns": doc["runs"][0]["samples"][0]["real_ns"]
                          * 3})

    def test_plot_report_links_to_the_history(self):
        from tests.scripts import plot_fixture
        import plot
        self.add_docs(history_docs(2))
        results = self.write("r.json", plot_fixture.make_results(
            scenarios=("roundtrip",), errored=False))
        reports = os.path.join(self.tmp, "reports")
        os.makedirs(os.path.join(reports, "history"))
        with open(os.path.join(reports, "history", "index.html"), "w") as f:
            f.write("<html></html>")
        with contextlib.redirect_stdout(io.StringIO()):
            status = plot.main([results, "--history", self.db, "--out",
                                reports, "--formats", "png"])
        self.assertEqual(status, 0)
        with open(os.path.join(reports, "index.md")) as f:
            md = f.read()
        self.assertIn("holds 2 runs of 2 commits on 1 machine", md)
        self.assertIn("[history/index.html](history/index.html)", md)
        with open(os.path.join(reports, "index.html")) as f:
            self.assertIn('<a href="history/index.html">history/index.html'
                          '</a>', f.read())
        # no history: no section; a bad one: one line, exit 1
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            status = plot.main([results, "--history", results, "--out",
                                reports, "--formats", "png"])
        self.assertEqual(status, 1)
        self.assertIn("no readable history", err.getvalue())


class DetectTest(unittest.TestCase):
    def test_energy_matches_the_definition(self):
        rng = np.random.default_rng(4)
        x = rng.normal(size=13)
        taus, q = detect.energy(x[None, :], 3)

        def mean_dist(a, b, same):
            pairs = [(i, j) for i in range(len(a)) for j in range(len(b))
                     if not same or i < j]
            return sum(abs(a[i] - b[j]) ** detect.EXPONENT
                       for i, j in pairs) / len(pairs)
        for tau, got in zip(taus, q[0]):
            left, right = x[:tau], x[tau:]
            want = len(left) * len(right) / len(x) * (
                2 * mean_dist(left, right, False) -
                mean_dist(left, left, True) - mean_dist(right, right, True))
            self.assertAlmostEqual(got, want)

    def test_change_points(self):
        rng = np.random.default_rng(5)
        x = np.r_[rng.normal(0, 0.05, 12), rng.normal(0.3, 0.05, 12)]
        cps = detect.change_points(x, detect.Settings(), seed=1)
        self.assertEqual([i for i, _ in cps], [12])
        self.assertLess(cps[0][1], 0.01)
        self.assertEqual(detect.change_points(np.zeros(20),
                                              detect.Settings()), [])
        self.assertEqual(detect.change_points(
            rng.normal(0, 0.05, 30), detect.Settings(), seed=2), [])
        # deterministic: same seed, same answer
        self.assertEqual(detect.change_points(x, detect.Settings(), seed=1),
                         cps)

    def test_min_commits(self):
        self.assertEqual(detect.Settings().min_commits(), 11)
        self.assertEqual(detect.Settings(alpha=0.05).min_commits(), 9)

    def test_commit_order(self):
        c = store.Commit
        commits = [c("b-dirty", 100, 5.0), c("a", None, 50.0),
                   c("b", 100, 7.0), c("z", 10, 90.0)]
        self.assertEqual([x.name for x in store.commit_order(commits)],
                         ["z", "a", "b", "b-dirty"])


class ExperimentTest(unittest.TestCase):
    def test_experiment_runs_on_the_committed_results(self):
        import history_experiment
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = history_experiment.main(
                ["--histories", "3", "--commits", "14", "--steps",
                 "0,0.5", "--filter", "^floor/", "--seed", "3"])
        self.assertEqual(status, 0, err.getvalue())
        text = out.getvalue()
        self.assertRegex(text, r"no step: false alarm in \d/3 histories")
        self.assertRegex(text, r"step 50%: detected at the planted commit "
                               r"\+-1 in \d/3 histories")


if __name__ == "__main__":
    unittest.main()
