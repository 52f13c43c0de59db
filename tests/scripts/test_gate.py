"""Tests for scripts/gate.py (file gate) and scripts/ab.py (paired A/B gate).

Run: /usr/bin/python3 -m unittest discover -s tests/scripts -t .
No C++ is built: the A/B tests use fake runners and tests/data/fake_ipcbench.py.
"""

import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
DATA = os.path.join(ROOT, "tests", "data")
FAKE = os.path.join(DATA, "fake_ipcbench.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable
sys.path.insert(0, SCRIPTS)

import ab  # noqa: E402
from ipcbench_tools import utest, verdict  # noqa: E402

NAMES = ["roundtrip/pipe/thread/size:16", "roundtrip/queue/thread/size:16",
         "roundtrip/uds/process/size:4096"]


def gbench_doc(series, unit="ns", aggregates=True, errors=()):
    """Google Benchmark 1.7.1-shaped JSON from {name: [times]}."""
    entries = []
    for name, times in series.items():
        full = name + "/real_time"
        if name in errors:
            entries.append({"name": full, "run_name": full,
                            "run_type": "iteration", "repetitions": 1,
                            "repetition_index": 0, "threads": 1,
                            "error_occurred": True,
                            "error_message": "shm_open: Permission denied"})
            continue
        for i, t in enumerate(times):
            entries.append({"name": full, "run_name": full,
                            "run_type": "iteration",
                            "repetitions": len(times),
                            "repetition_index": i, "threads": 1,
                            "iterations": 1000, "real_time": t,
                            "cpu_time": t, "time_unit": unit})
        if aggregates and len(times) > 1:
            for agg, value in (("mean", sum(times) / len(times)),
                               ("median", sorted(times)[len(times) // 2])):
                entries.append({"name": f"{full}_{agg}", "run_name": full,
                                "run_type": "aggregate",
                                "aggregate_name": agg,
                                "aggregate_unit": "time",
                                "repetitions": len(times), "threads": 1,
                                "iterations": len(times), "real_time": value,
                                "cpu_time": value, "time_unit": unit})
    return {"context": {"date": "2024-01-01T00:00:00", "num_cpus": 2,
                        "ipcbench_schema": "1"}, "benchmarks": entries}


def noisy(center, n, rng, spread=0.05):
    return [center * rng.lognormvariate(0, spread) for _ in range(n)]


def samples(series, **kw):
    return verdict.collect(gbench_doc(series, **kw), "test")


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, doc_or_text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            if isinstance(doc_or_text, str):
                f.write(doc_or_text)
            else:
                json.dump(doc_or_text, f)
        return path

    def run_script(self, script, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([PYTHON, os.path.join(SCRIPTS, script)]
                              + list(args), capture_output=True, text=True,
                              env=full_env, timeout=120)


# --------------------------------------------------------------------------
class TestStatistics(unittest.TestCase):
    def test_mann_whitney_scipy_doc_example(self):
        # scipy.stats.mannwhitneyu docs: males vs females, U1 = 17,
        # exact p = 0.1111..., asymptotic p = 0.11134688653314041.
        males, females = [19, 22, 16, 29, 24], [20, 11, 17, 12]
        u, p = utest.mann_whitney(males, females)
        self.assertEqual(u, 17)
        self.assertAlmostEqual(p, 0.1111111111111111, places=12)
        u, p = utest.mann_whitney(males, females, method="asymptotic")
        self.assertAlmostEqual(p, 0.11134688653314041, places=12)

    def test_mann_whitney_chromium_pinpoint_values(self):
        # catapult dashboard/pinpoint mann_whitney_u_test.py testBasic
        # (normal approximation; the second case has ties).
        _, p = utest.mann_whitney(range(10), range(20, 30),
                                 method="asymptotic")
        self.assertAlmostEqual(p, 0.00018267179110955002, places=12)
        _, p = utest.mann_whitney(range(5), range(10))
        self.assertAlmostEqual(p, 0.13986357686781267, places=12)

    def test_mann_whitney_equal_medians_gives_one(self):
        # compare.py's test3 BM_Two ([9, 8] vs [10, 7]): U equals its mean.
        # Old scipy printed 0.6985 there; the continuity-corrected normal
        # approximation (scipy >= 1.7) and the exact test give 1.
        self.assertEqual(utest.mann_whitney([9, 8], [10, 7],
                                           method="asymptotic")[1], 1.0)
        self.assertEqual(utest.mann_whitney([9, 8], [10, 7])[1], 1.0)

    def test_mann_whitney_all_tied(self):
        self.assertEqual(utest.mann_whitney([5] * 6, [5] * 6)[1], 1.0)

    def test_mann_whitney_counts_are_a_distribution(self):
        for n1, n2 in ((1, 1), (3, 5), (9, 9), (12, 7)):
            counts = utest.mann_whitney_counts(n1, n2)
            self.assertEqual(len(counts), n1 * n2 + 1)
            self.assertEqual(sum(counts), math.comb(n1 + n2, n1))
            self.assertEqual(counts, counts[::-1])
            self.assertTrue(all(c > 0 for c in counts))

    def test_mann_whitney_min_p(self):
        for n in range(2, 10):
            self.assertAlmostEqual(utest.mann_whitney_min_p(n, n),
                                   2 / math.comb(2 * n, n))
        # exact and normal approximation agree roughly for larger n
        x, y = list(range(0, 60, 2)), list(range(1, 61, 2))
        pe = utest.mann_whitney(x, y, method="exact")[1]
        pa = utest.mann_whitney(x, y, method="asymptotic")[1]
        self.assertAlmostEqual(pe, pa, delta=0.02)

    def test_wilcoxon_scipy_doc_example(self):
        # scipy.stats.wilcoxon docs (Darwin's plant heights, differences):
        # two-sided exact p = 0.041259765625, statistic min(W+, W-) = 24.
        d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
        w_plus, p, n = utest.wilcoxon(d)
        self.assertEqual(n, 15)
        self.assertEqual(min(w_plus, n * (n + 1) / 2 - w_plus), 24)
        self.assertAlmostEqual(p, 0.041259765625, places=12)

    def test_wilcoxon_drops_zeros_and_handles_ties(self):
        w_plus, p, n = utest.wilcoxon([0, 0, 1, 1, 2, -2, 3])
        self.assertEqual(n, 5)
        self.assertTrue(0 < p <= 1)
        self.assertEqual(utest.wilcoxon([0, 0])[1:], (1.0, 0))

    def test_wilcoxon_min_p(self):
        for n in (1, 5, 10, 16):
            self.assertAlmostEqual(utest.wilcoxon_min_p(n), min(1, 2 / 2 ** n))

    def test_holm_and_bonferroni(self):
        p = [0.01, 0.04, 0.03, 0.005]
        self.assertEqual(utest.adjust(p, "holm"), [0.03, 0.06, 0.06, 0.02])
        self.assertEqual(utest.adjust(p, "bonferroni"),
                         [0.04, 0.16, 0.12, 0.02])
        self.assertEqual(utest.adjust(p, "none"), p)
        self.assertEqual(utest.adjust([], "holm"), [])

    def test_needed_size(self):
        n = utest.needed_size(lambda r: utest.mann_whitney_min_p(r, r), 1,
                             0.01)
        self.assertEqual(n, 5)       # 2/252 < 0.01 <= 2/70
        n = utest.needed_size(utest.wilcoxon_min_p, 4, 0.01)
        self.assertEqual(n, 10)      # 4 * 2/1024 < 0.01 <= 4 * 2/512


# --------------------------------------------------------------------------
class TestCollect(unittest.TestCase):
    def test_names_units_and_aggregates(self):
        s = samples({NAMES[0]: [1.0, 2.0, 3.0]}, unit="us")
        self.assertEqual(list(s), [NAMES[0]])
        self.assertEqual(s[NAMES[0]].values, [1000.0, 2000.0, 3000.0])

    def test_aggregates_only_uses_median(self):
        doc = gbench_doc({NAMES[0]: [1.0, 2.0, 3.0]})
        doc["benchmarks"] = [e for e in doc["benchmarks"]
                             if e["run_type"] == "aggregate"]
        s = verdict.collect(doc, "test")
        self.assertEqual(s[NAMES[0]].values, [2.0])
        self.assertTrue(s[NAMES[0]].from_aggregate)

    def test_key_without_run_name(self):
        self.assertEqual(verdict.benchmark_key(
            {"name": "a/b/manual_time_median", "run_type": "aggregate",
             "aggregate_name": "median"}), "a/b")
        self.assertEqual(verdict.benchmark_key({"name": "x/size:16"}),
                         "x/size:16")

    def test_errored_entry(self):
        s = samples({NAMES[0]: [1.0]}, errors={NAMES[0]})
        self.assertTrue(s[NAMES[0]].errored)

    def test_bad_entries(self):
        for bad in ([1], [{"no": "name"}],
                    [{"name": "a", "run_type": "iteration",
                      "real_time": "fast", "time_unit": "ns"}],
                    [{"name": "a", "real_time": -1, "time_unit": "ns"}],
                    [{"name": "a", "real_time": 1, "time_unit": "fortnight"}],
                    [{"name": "a", "real_time": 1, "time_unit": "ns"},
                     {"name": "a", "real_time": 1, "time_unit": "ms"}]):
            with self.assertRaises(verdict.GateError):
                verdict.collect({"benchmarks": bad}, "x")


# --------------------------------------------------------------------------
class TestCompare(unittest.TestCase):
    def verdicts(self, rows):
        return {r["name"]: r["verdict"] for r in rows}

    def test_identical_runs(self):
        rng = random.Random(1)
        series = {n: noisy(10000, 10, rng) for n in NAMES}
        rows = verdict.compare(samples(series), samples(series))
        self.assertEqual(set(self.verdicts(rows).values()), {"unchanged"})
        self.assertFalse(verdict.regressed(rows))
        for r in rows:
            self.assertEqual(r["ratio"], 1.0)

    def test_clear_30_percent_regression(self):
        rng = random.Random(2)
        base = {n: noisy(10000, 10, rng) for n in NAMES}
        cur = {n: noisy(10000, 10, rng) for n in NAMES}
        cur[NAMES[1]] = noisy(13000, 10, rng)
        rows = verdict.compare(samples(base), samples(cur))
        v = self.verdicts(rows)
        self.assertEqual(v[NAMES[1]], "slower")
        self.assertEqual(v[NAMES[0]], "unchanged")
        self.assertEqual(v[NAMES[2]], "unchanged")
        self.assertTrue(verdict.regressed(rows))
        row = rows[1]
        self.assertGreater(row["ratio"], 1.2)
        self.assertLess(row["p_adj"], 0.01)
        # a 30% slowdown is below a 50% threshold
        rows = verdict.compare(samples(base), samples(cur), threshold=0.5)
        self.assertEqual(self.verdicts(rows)[NAMES[1]], "unchanged")

    def test_faster(self):
        rng = random.Random(3)
        base = {NAMES[0]: noisy(10000, 10, rng)}
        cur = {NAMES[0]: noisy(7000, 10, rng)}
        rows = verdict.compare(samples(base), samples(cur))
        self.assertEqual(rows[0]["verdict"], "faster")
        self.assertFalse(verdict.regressed(rows))

    def test_noise_only_never_alarms(self):
        # 50 comparisons of 10 benchmarks with 10% noise: no false alarm.
        rng = random.Random(4)
        names = [f"roundtrip/t{i}/thread/size:16" for i in range(10)]
        alarms = 0
        for _ in range(50):
            base = {n: noisy(10000, 10, rng, 0.10) for n in names}
            cur = {n: noisy(10000, 10, rng, 0.10) for n in names}
            rows = verdict.compare(samples(base), samples(cur))
            alarms += verdict.regressed(rows)
        self.assertEqual(alarms, 0)

    def test_significant_but_small(self):
        base = {NAMES[0]: [100.0 + i * 0.01 for i in range(12)]}
        cur = {NAMES[0]: [105.0 + i * 0.01 for i in range(12)]}
        rows = verdict.compare(samples(base), samples(cur))
        self.assertEqual(rows[0]["verdict"], "unchanged")
        self.assertIn("below threshold", rows[0]["note"])

    def test_missing_new_errored(self):
        rng = random.Random(5)
        base = {n: noisy(10000, 10, rng) for n in NAMES}
        cur = {n: noisy(10000, 10, rng) for n in NAMES[1:]}
        cur["roundtrip/tcp/thread/size:16"] = noisy(10000, 10, rng)
        rows = verdict.compare(samples(base),
                            samples(cur, errors={NAMES[2]}))
        v = self.verdicts(rows)
        self.assertEqual(v[NAMES[0]], "missing")
        self.assertEqual(v["roundtrip/tcp/thread/size:16"], "new")
        self.assertEqual(v[NAMES[2]], "errored")
        self.assertIn("Permission denied", rows[2]["note"])
        self.assertEqual(v[NAMES[1]], "unchanged")
        # Errored and missing now fail by default; --fail-on slower opts out.
        self.assertTrue(verdict.regressed(rows))
        self.assertFalse(verdict.regressed(rows, fail_on=("slower",)))
        self.assertTrue(verdict.regressed(rows, fail_on=("errored",)))
        self.assertTrue(verdict.regressed(rows, fail_on=("missing",)))

    def test_an_error_in_the_baseline_only_is_new_not_a_failure(self):
        rng = random.Random(6)
        base = {n: noisy(10000, 10, rng) for n in NAMES}
        cur = {n: noisy(10000, 10, rng) for n in NAMES}
        rows = verdict.compare(samples(base, errors={NAMES[0]}),
                               samples(cur))
        self.assertEqual(rows[0]["verdict"], "new")
        self.assertIn("baseline: shm_open: Permission denied", rows[0]["note"])
        self.assertFalse(verdict.regressed(rows))

    def test_too_few_repetitions(self):
        base = {NAMES[0]: [100.0, 101.0, 102.0]}
        cur = {NAMES[0]: [200.0, 201.0, 202.0]}
        rows = verdict.compare(samples(base), samples(cur))
        self.assertEqual(rows[0]["verdict"], "not enough data")
        self.assertIn("need >= 5 repetitions", rows[0]["note"])
        self.assertFalse(verdict.regressed(rows))
        # one repetition per side: no test at all
        rows = verdict.compare(samples({NAMES[0]: [100.0]}),
                            samples({NAMES[0]: [200.0]}))
        self.assertEqual(rows[0]["verdict"], "not enough data")
        self.assertIn("need >= 5", rows[0]["note"])

    def test_needed_repetitions_grow_with_benchmarks(self):
        names = [f"b{i}" for i in range(20)]
        base = {n: [100.0 + i for i in range(6)] for n in names}
        cur = {n: [300.0 + i for i in range(6)] for n in names}
        rows = verdict.compare(samples(base), samples(cur))
        self.assertEqual({r["verdict"] for r in rows}, {"not enough data"})
        # 20 * 2/C(14,7) = 0.0117 >= 0.01 > 20 * 2/C(16,8)
        self.assertIn("need >= 8 repetitions", rows[0]["note"])
        rows = verdict.compare(samples(base), samples(cur), correction="none")
        self.assertEqual({r["verdict"] for r in rows}, {"slower"})

    def test_correction_reduces_false_alarms(self):
        # 40 benchmarks, one of which has p just under 0.01 by chance.
        names = [f"b{i}" for i in range(40)]
        base = {n: [100.0 + i for i in range(10)] for n in names}
        cur = {n: [100.5 + i for i in range(10)] for n in names}
        cur["b0"] = [112.0 + i * 0.2 for i in range(10)]   # p ~ 0.0002
        cur["b1"] = [104.0 + i * 1.3 for i in range(10)]
        rows = verdict.compare(samples(base), samples(cur), correction="none")
        raw = {r["name"]: r for r in rows}
        self.assertLess(raw["b0"]["p"], 0.01)
        rows = verdict.compare(samples(base), samples(cur))
        adj = {r["name"]: r for r in rows}
        self.assertGreater(adj["b0"]["p_adj"], raw["b0"]["p"])

    def test_cpu_time_metric(self):
        base = gbench_doc({NAMES[0]: [100.0 + i for i in range(10)]})
        cur = gbench_doc({NAMES[0]: [130.0 + i for i in range(10)]})
        for e in cur["benchmarks"]:
            e["cpu_time"] = e["cpu_time"] - 30.0
        rows = verdict.compare(verdict.collect(base, "b"), verdict.collect(cur, "c"))
        self.assertEqual(rows[0]["verdict"], "slower")
        rows = verdict.compare(verdict.collect(base, "b", "cpu_time"),
                            verdict.collect(cur, "c", "cpu_time"))
        self.assertEqual(rows[0]["verdict"], "unchanged")

    def test_mismatched_units(self):
        with self.assertRaisesRegex(verdict.GateError, "mismatched units"):
            verdict.compare(samples({NAMES[0]: [1.0, 2.0]}, unit="us"),
                         samples({NAMES[0]: [1.0, 2.0]}, unit="ns"))

    def test_nothing_in_common(self):
        with self.assertRaisesRegex(verdict.GateError, "no benchmark in common"):
            verdict.compare(samples({"a": [1.0, 2.0]}),
                         samples({"b": [1.0, 2.0]}))


# --------------------------------------------------------------------------
class TestGateUndecided(TempDirCase):
    """The gate never passes blind: nothing decided -> exit 3, one line."""

    def test_three_repetitions_exit_3(self):
        rng = random.Random(3)
        docs = [gbench_doc({n: noisy(10000, 3, rng) for n in NAMES})
                for _ in range(2)]
        b, c = (self.write(f"{i}.json", d) for i, d in enumerate(docs))
        md = os.path.join(self.tmp, "out.md")
        proc = self.run_script("gate.py", b, c, "--markdown", md)
        self.assertEqual(proc.returncode, verdict.EXIT_UNDECIDED,
                         proc.stdout)
        self.assertEqual(proc.returncode, 3)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertRegex(lines[0], r"^gate.py: error: undecided: none of 3 "
                         r"benchmark\(s\) could be decided .*need >= \d+ "
                         r"repetitions per side")
        self.assertIn("gate: UNDECIDED", proc.stdout)
        self.assertFalse(os.path.exists(md))    # no report of a non-verdict

    def test_one_decided_is_enough(self):
        rng = random.Random(4)
        base = {n: noisy(10000, 3, rng) for n in NAMES}
        cur = {n: noisy(10000, 3, rng) for n in NAMES}
        base["x"], cur["x"] = noisy(1000, 12, rng), noisy(1000, 12, rng)
        proc = self.run_script("gate.py", self.write("b.json", gbench_doc(
            base)), self.write("c.json", gbench_doc(cur)))
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_all_new_or_errored_is_undecided(self):
        rows = [verdict.make_row("a", "new"), verdict.make_row("b", "errored")]
        # An error now fails by default; with --fail-on slower nothing was decided.
        self.assertEqual(verdict.exit_status(rows), verdict.EXIT_REGRESSION)
        self.assertEqual(verdict.exit_status(rows, ("slower",)),
                         verdict.EXIT_UNDECIDED)
        self.assertIn("none of 2", verdict.undecided(rows))
        rows = [verdict.make_row("a", "new"), verdict.make_row("b", "new")]
        self.assertEqual(verdict.exit_status(rows), verdict.EXIT_UNDECIDED)

    def test_help_states_every_exit_code(self):
        for script in ("gate.py", "ab.py"):
            proc = self.run_script(script, "--help")
            self.assertEqual(proc.returncode, 0)
            self.assertIn("exit status:", proc.stdout)
            for code in verdict.EXIT_CODES:
                self.assertRegex(proc.stdout, rf"\n +{code}  \w", script)


class TestGateCli(TempDirCase):
    def make_pair(self, slow=1.3):
        rng = random.Random(7)
        base = {n: noisy(10000, 10, rng) for n in NAMES}
        cur = {n: noisy(10000, 10, rng) for n in NAMES}
        cur[NAMES[1]] = noisy(10000 * slow, 10, rng)
        return (self.write("base.json", gbench_doc(base)),
                self.write("cur.json", gbench_doc(cur)))

    def test_pass_exit_0(self):
        b, _ = self.make_pair()
        proc = self.run_script("gate.py", b, b)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("gate: pass", proc.stdout)
        self.assertEqual(proc.stderr, "")

    def test_regression_exit_1_and_reports(self):
        b, c = self.make_pair()
        md = os.path.join(self.tmp, "gate.md")
        js = os.path.join(self.tmp, "gate.json")
        proc = self.run_script("gate.py", b, c, "--markdown", md,
                               "--json", js)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertTrue(lines[0].startswith("benchmark"))
        # aligned: every table row starts columns at the same offsets
        col = lines[0].index("verdict")
        self.assertEqual(lines[3][col:col + 6], "slower")
        self.assertIn("gate: FAIL", proc.stdout)
        with open(md) as f:
            text = f.read()
        self.assertIn("### Benchmark regression gate: FAIL", text)
        self.assertIn("| `roundtrip/queue/thread/size:16` |", text)
        self.assertIn("**slower**", text)
        with open(js) as f:
            doc = json.load(f)
        self.assertTrue(doc["regressed"])
        self.assertEqual(doc["counts"]["slower"], 1)
        self.assertEqual(doc["settings"]["threshold"], 0.10)
        row = doc["benchmarks"][1]
        self.assertEqual(row["verdict"], "slower")
        self.assertGreater(row["ratio"], 1.2)

    def test_committed_fixtures(self):
        base = os.path.join(DATA, "gate_baseline.json")
        cur = os.path.join(DATA, "gate_regressed.json")
        proc = self.run_script("gate.py", base, cur)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stdout,
                         r"roundtrip/queue/thread/size:16 .* slower")
        self.assertEqual(self.run_script("gate.py", base, base).returncode, 0)

    def test_threshold_flag(self):
        b, c = self.make_pair()
        proc = self.run_script("gate.py", b, c, "--threshold", "0.5")
        self.assertEqual(proc.returncode, 0)

    def test_fail_on_missing(self):
        b = self.write("b.json", gbench_doc({"a": [1.0] * 9, "b": [1.0] * 9}))
        c = self.write("c.json", gbench_doc({"a": [1.0] * 9}))
        proc = self.run_script("gate.py", b, c)
        self.assertEqual(proc.returncode, 1, proc.stdout)   # the default
        self.assertIn("regressed: b", proc.stdout)
        proc = self.run_script("gate.py", b, c, "--fail-on", "missing")
        self.assertEqual(proc.returncode, 1)
        proc = self.run_script("gate.py", b, c, "--fail-on", "slower")
        self.assertEqual(proc.returncode, 0, proc.stdout)  # the opt-out

    def test_a_benchmark_erroring_now_fails_by_default(self):
        rng = random.Random(8)
        base = {n: noisy(10000, 10, rng) for n in NAMES}
        b = self.write("b.json", gbench_doc(base))
        c = self.write("c.json", gbench_doc(base, errors={NAMES[1]}))
        proc = self.run_script("gate.py", b, c)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, NAMES[1] + r" .*errored.*current: "
                         r"shm_open: Permission denied")
        self.assertIn("gate: FAIL", proc.stdout)
        proc = self.run_script("gate.py", b, c, "--fail-on", "slower")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        # An error in the baseline only is not the current run's failure.
        proc = self.run_script("gate.py", c, b)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_zero_or_non_finite_times_are_refused(self):
        good = {n: [1000.0 + i for i in range(9)] for n in NAMES}
        b = self.write("b.json", gbench_doc(good))
        zero = dict(good, **{NAMES[0]: [0.0] * 9})
        for name, text in (
                ("zero.json", json.dumps(gbench_doc(zero))),
                ("inf.json", json.dumps(gbench_doc(dict(
                    good, **{NAMES[0]: [math.inf] * 9})))),
                ("nan.json", json.dumps(gbench_doc(dict(
                    good, **{NAMES[0]: [math.nan] * 9}))))):
            with self.subTest(name):
                path = self.write(name, text)
                for args in ((b, path), (path, b)):
                    self.assert_bad_input(
                        args, r".*" + NAMES[0] + r".*real_time .* is not a "
                        r"positive finite time")

    def assert_bad_input(self, args, pattern):
        md = os.path.join(self.tmp, "out.md")
        js = os.path.join(self.tmp, "out.json")
        proc = self.run_script("gate.py", *args, "--markdown", md,
                               "--json", js)
        self.assertEqual(proc.returncode, 2, proc.stdout)
        lines = proc.stderr.splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertRegex(lines[0], "^gate.py: error: " + pattern)
        self.assertNotIn("Traceback", proc.stderr)
        self.assertFalse(os.path.exists(md))
        self.assertFalse(os.path.exists(js))
        self.assertEqual([f for f in os.listdir(self.tmp)
                          if f.startswith(".gate-")], [])

    def test_missing_file(self):
        b, _ = self.make_pair()
        self.assert_bad_input([b, os.path.join(self.tmp, "nope.json")],
                              ".*nope.json: no such file")

    def test_truncated_json(self):
        b, c = self.make_pair()
        with open(c) as f:
            text = f.read()
        t = self.write("trunc.json", text[:len(text) // 2])
        self.assert_bad_input([b, t], ".*trunc.json: truncated JSON")

    def test_empty_file(self):
        b, _ = self.make_pair()
        self.assert_bad_input([b, self.write("e.json", "")],
                              ".*e.json: empty file")

    def test_wrong_shape(self):
        b, _ = self.make_pair()
        for i, doc in enumerate(([1, 2], {"benchmarks": 3}, {"context": {}})):
            self.assert_bad_input([b, self.write(f"w{i}.json", doc)],
                                  '.*not Google Benchmark JSON '
                                  r'\(no "benchmarks" list\)')
        self.assert_bad_input(
            [b, self.write("w.json", {"benchmarks": ["x"]})],
            r".*benchmarks\[0\] is not a benchmark object")

    def test_mismatched_units(self):
        b = self.write("b.json", gbench_doc({"a": [1.0, 2.0]}, unit="us"))
        c = self.write("c.json", gbench_doc({"a": [1.0, 2.0]}, unit="ms"))
        self.assert_bad_input([b, c], "a: mismatched units")

    def test_no_benchmark_in_common(self):
        b = self.write("b.json", gbench_doc({"a": [1.0, 2.0]}))
        c = self.write("c.json", gbench_doc({"b": [1.0, 2.0]}))
        self.assert_bad_input([b, c], "no benchmark in common")

    def test_empty_benchmarks(self):
        b = self.write("b.json", gbench_doc({"a": [1.0, 2.0]}))
        c = self.write("c.json", {"benchmarks": []})
        self.assert_bad_input([b, c], "no benchmark in common")

    def test_bad_flags(self):
        b, c = self.make_pair()
        for flag in (["--threshold", "-1"], ["--alpha", "2"],
                     ["--alpha", "x"], ["--correction", "magic"]):
            proc = self.run_script("gate.py", b, c, *flag)
            self.assertEqual(proc.returncode, 2)
            self.assertNotIn("Traceback", proc.stderr)

    def test_output_into_missing_directory(self):
        b, c = self.make_pair()
        md = os.path.join(self.tmp, "no", "such", "dir.md")
        proc = self.run_script("gate.py", b, c, "--markdown", md)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stderr.splitlines()), 1)
        self.assertIn("cannot write", proc.stderr)


# --------------------------------------------------------------------------
class FakeRunner:
    """Synthetic side for run_pairs: drifting machine, planted slowdowns."""

    def __init__(self, clock, factors=None, noise=0.03, errors=(),
                 names=NAMES, slow_rounds=None):
        self.clock = clock          # shared list [t]; advanced per call
        self.factors = factors or {}
        self.noise = noise
        self.errors = set(errors)
        self.names = names
        self.slow_rounds = slow_rounds
        self.rng = random.Random(len(clock) + 11 * len(self.factors))
        self.calls = 0

    def __call__(self, bench_filter):
        import re
        self.calls += 1
        self.clock[0] += 1
        # the machine drifts up to 4x over time, identically for A and B
        drift = 2.5 + 1.5 * math.sin(self.clock[0] / 7.0)
        pattern = re.compile(bench_filter)
        out = {}
        for name in self.names:
            if not pattern.search(name + "/real_time"):
                continue
            s = verdict.Sample(name, "ns")
            if name in self.errors:
                s.errors.append("boom")
            else:
                f = self.factors.get(name, 1.0)
                if self.slow_rounds is not None and \
                        self.calls > self.slow_rounds:
                    f = 1.0
                s.values.append(10000 * drift * f *
                                self.rng.lognormvariate(0, self.noise))
            out[name] = s
        return out


class TestPaired(unittest.TestCase):
    def gate_once(self, seed, b_factors=None, pairs=16, **kw):
        clock = [seed * 1000]
        runners = {"A": FakeRunner(clock), "B": FakeRunner(clock, b_factors,
                                                           **kw)}
        runners["A"].rng.seed(seed)
        runners["B"].rng.seed(seed + 1)
        return ab.ab_gate(runners, ".", pairs, random.Random(seed))

    def test_a_vs_a_no_false_alarm_despite_drift(self):
        alarms = sum(verdict.regressed(self.gate_once(s)["rows"])
                     for s in range(30))
        self.assertEqual(alarms, 0)

    def test_detects_25_percent_under_drift(self):
        for seed in range(10):
            res = self.gate_once(seed, {NAMES[1]: 1.25})
            v = {r["name"]: r["verdict"] for r in res["rows"]}
            self.assertEqual(v[NAMES[1]], "slower", seed)
            self.assertEqual([n for n in v if v[n] == "slower"], [NAMES[1]])
            self.assertEqual(res["confirmed"], [NAMES[1]])
            ratio = res["rows"][1]["ratio"]
            self.assertAlmostEqual(ratio, 1.25, delta=0.1)

    def test_unconfirmed_flag_passes(self):
        # slow only during the first round (a noisy burst): the re-run
        # clears it
        clock = [0]
        runners = {"A": FakeRunner(clock),
                   "B": FakeRunner(clock, {NAMES[0]: 1.5}, slow_rounds=16)}
        res = ab.ab_gate(runners, ".", 16, random.Random(1))
        self.assertEqual(res["flagged"], [NAMES[0]])
        self.assertEqual(res["confirmed"], [])
        self.assertFalse(verdict.regressed(res["rows"]))
        self.assertIn("not confirmed", res["rows"][0]["note"])
        # the re-run only ran the flagged benchmark
        self.assertEqual([r["name"] for r in res["confirm"]], [NAMES[0]])

    def test_no_confirm(self):
        clock = [0]
        runners = {"A": FakeRunner(clock),
                   "B": FakeRunner(clock, {NAMES[0]: 1.5}, slow_rounds=16)}
        res = ab.ab_gate(runners, ".", 16, random.Random(1), confirm=False)
        self.assertTrue(verdict.regressed(res["rows"]))

    def test_not_enough_pairs(self):
        res = self.gate_once(1, {NAMES[1]: 2.0}, pairs=6)
        row = res["rows"][1]
        self.assertEqual(row["verdict"], "not enough data")
        self.assertIn("need >= 10 pairs", row["note"])

    def test_noisy_warning(self):
        res = self.gate_once(2, noise=0.5)
        self.assertTrue(any(r.get("noisy") for r in res["rows"]))
        self.assertTrue(any("noisy" in r["note"] for r in res["rows"]))

    def test_pairs_with_too_few_iterations_are_dropped(self):
        clock = [0]
        a, b = FakeRunner(clock), FakeRunner(clock, {NAMES[0]: 3.0})
        runs = ab.run_pairs({"A": a, "B": b}, ".", 14, random.Random(2))
        for k, run in enumerate(runs["B"]):
            for s in run.values():
                s.iterations = [1 if k < 3 else 5000]
        rows = ab.decide_pairs(runs)
        self.assertEqual(rows[0]["n"], "11")
        self.assertIn("3 pair(s) dropped", rows[0]["note"])
        self.assertEqual(rows[0]["verdict"], "slower")

    def test_errored_new_missing(self):
        clock = [0]
        runners = {"A": FakeRunner(clock, names=NAMES[:2]),
                   "B": FakeRunner(clock, errors={NAMES[0]},
                                   names=NAMES[:1] + NAMES[2:])}
        res = ab.ab_gate(runners, ".", 12, random.Random(3))
        v = {r["name"]: r["verdict"] for r in res["rows"]}
        self.assertEqual(v, {NAMES[0]: "errored", NAMES[1]: "missing",
                             NAMES[2]: "new"})

    def test_nothing_in_common(self):
        clock = [0]
        runners = {"A": FakeRunner(clock, names=NAMES[:1]),
                   "B": FakeRunner(clock, names=NAMES[1:2])}
        with self.assertRaises(verdict.GateError):
            ab.ab_gate(runners, ".", 12, random.Random(3))
        runners = {"A": FakeRunner(clock, names=NAMES[:1]),
                   "B": FakeRunner(clock, names=NAMES[:1])}
        with self.assertRaisesRegex(verdict.GateError, "no benchmark matches"):
            ab.ab_gate(runners, "nothing-matches", 12, random.Random(3))

    def test_order_is_randomised_within_pairs(self):
        order = []
        clock = [0]

        def side(name):
            runner = FakeRunner(clock)

            def call(flt):
                order.append(name)
                return runner(flt)
            return call
        ab.run_pairs({"A": side("A"), "B": side("B")}, ".", 40,
                     random.Random(5))
        firsts = order[0::2]
        self.assertEqual(len(order), 80)
        self.assertTrue(10 < firsts.count("A") < 30)
        for i in range(0, 80, 2):
            self.assertEqual(set(order[i:i + 2]), {"A", "B"})

    def test_exact_filter(self):
        import re
        flt = ab.exact_filter(["roundtrip/shm-ring/thread/size:16",
                               "a.b(c)"])
        rx = re.compile(flt)
        self.assertTrue(rx.search("roundtrip/shm-ring/thread/size:16"
                                  "/real_time"))
        self.assertFalse(rx.search("roundtrip/shm-ring/thread/size:16384"
                                   "/real_time"))
        self.assertTrue(rx.search("a.b(c)/manual_time"))
        self.assertFalse(rx.search("aXb(c)"))


class TestAbCli(TempDirCase):
    def test_planted_slowdown_with_fake_binary(self):
        js = os.path.join(self.tmp, "ab.json")
        md = os.path.join(self.tmp, "ab.md")
        proc = self.run_script(
            "ab.py", "--a-binary", FAKE, "--b-binary", FAKE, "--filter", ".",
            "--cpus", "all",
            "--seed", "1", "--pairs", "10", "--b-env", "FAKE_SLOW_FILTER=queue/thread/size:16/",
            "--b-env", "FAKE_SLOW_FACTOR=1.3", "--json", js, "--markdown", md)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stdout, r"roundtrip/queue/thread/size:16 .* "
                                      r"slower")
        self.assertIn("load average", proc.stdout)
        self.assertIn("pair 10/10", proc.stderr)
        self.assertIn("pair 20/20", proc.stderr)     # confirmation
        with open(js) as f:
            doc = json.load(f)
        self.assertEqual(doc["mode"], "ab")
        self.assertEqual(doc["confirmed"], ["roundtrip/queue/thread/size:16"])
        self.assertEqual(len(doc["loadavg_start"]), 3)
        self.assertEqual(doc["settings"]["b_env"]["FAKE_SLOW_FACTOR"], "1.3")
        with open(md) as f:
            self.assertIn("| benchmark | A (base) | B (new) |", f.read())

    def test_a_vs_a_passes(self):
        proc = self.run_script("ab.py", "--a-binary", FAKE, "--b-binary",
                               FAKE, "--filter", ".", "--quiet",
                               "--pairs", "12", "--cpus", "all")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("gate: pass", proc.stdout)
        self.assertNotIn("pair 1/", proc.stderr)     # --quiet

    def test_b_failure_is_an_error(self):
        proc = self.run_script("ab.py", "--a-binary", FAKE, "--b-binary",
                               FAKE, "--quiet", "--skip-if-base-fails",
                               "--b-env", "FAKE_EXIT=3")
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        self.assertIn("B (new): fake_ipcbench.py exited with 3", proc.stderr)

    def test_baseline_failure_skips_when_asked(self):
        args = ["--a-binary", FAKE, "--b-binary", FAKE, "--quiet",
                "--a-env", "FAKE_EXIT=1"]
        proc = self.run_script("ab.py", *args)
        self.assertEqual(proc.returncode, 2)
        proc = self.run_script("ab.py", *args, "--skip-if-base-fails")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith("gate skipped: baseline "
                                               "binary does not run"))

    def assert_one_line_error(self, proc, code, text):
        self.assertEqual(proc.returncode, code, proc.stdout + proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        self.assertIn(text, proc.stderr)

    def test_unknown_base_revision_is_an_error_even_when_skipping(self):
        # A typo in --base (GATE_BASE) must not turn the gate off.
        args = ["--base", "no-such-revision-xyz", "--b-binary", FAKE,
                "--quiet", "--build-root", os.path.join(self.tmp, "b")]
        for extra in ([], ["--skip-if-base-fails"]):
            with self.subTest(extra=extra):
                proc = self.run_script("ab.py", *args, *extra)
                self.assert_one_line_error(
                    proc, 2, "ab.py: error: unknown baseline revision "
                    "'no-such-revision-xyz'")
                self.assertNotIn("gate skipped", proc.stdout)

    def test_a_filter_matching_nothing_on_one_side_is_an_error(self):
        # The fake, as ipcbench, exits 2 and removes --benchmark_out then.
        common = ["--a-binary", FAKE, "--b-binary", FAKE, "--quiet",
                  "--skip-if-base-fails", "--pairs", "12", "--cpus", "all"]
        for side, extra in (("A (baseline)", ["--a-env",
                                              "FAKE_BENCHMARKS=other/bench"]),
                            ("B (new)", ["--b-env",
                                         "FAKE_BENCHMARKS=other/bench"]),
                            ("", ["--filter", "nomatchxyz"])):
            with self.subTest(side=side or "both"):
                proc = self.run_script("ab.py", *common, *extra)
                self.assert_one_line_error(proc, 2, f"{side}: no benchmark "
                                           "matches")
                self.assertNotIn("gate skipped", proc.stdout)
        self.assertEqual([f for f in os.listdir(tempfile.gettempdir())
                          if f.startswith("ab-") and f.endswith(".json")
                          and os.path.getmtime(os.path.join(
                              tempfile.gettempdir(), f)) > self.started], [])

    def setUp(self):
        super().setUp()
        self.started = time.time() - 1

    def test_ctrl_c_exits_130_without_a_traceback(self):
        # Ctrl-C once the script runs (its first line of output): right away and
        # mid-run, while ipcbench runs (the group gets it too).
        for script, args, stream in (
                ("ab.py", ["--a-binary", FAKE, "--b-binary", FAKE,
                           "--pairs", "500", "--cpus", "all"], "stderr"),
                ("gate_experiment.py", ["--binary", FAKE, "--runs", "50",
                                        "--pairs", "4", "--cpus", "all"],
                 "stdout")):
            for delay in (0.0, 0.5):
                with self.subTest(script=script, delay=delay):
                    p = subprocess.Popen(
                        [PYTHON, os.path.join(SCRIPTS, script), *args],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, start_new_session=True)
                    self.assertTrue(getattr(p, stream).readline())
                    time.sleep(delay)
                    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C: the group
                    out, err = p.communicate(timeout=60)
                    self.assertNotIn("Traceback", err)
                    self.assertEqual(p.returncode, 130, err)
                    self.assertTrue(err.splitlines()[-1].startswith(
                        f"{script}: interrupted"), err)

    def test_cpu_list(self):
        allowed = sorted(os.sched_getaffinity(0))
        self.assertEqual(ab.cpu_list("auto"), {allowed[-1]})
        self.assertEqual(ab.cpu_list("all"), set())
        self.assertEqual(ab.cpu_list(str(allowed[0])), {allowed[0]})
        for bad in ("x", "1-", "99999"):
            with self.assertRaises(Exception):
                ab.cpu_list(bad)
        self.assertIsNone(ab.default_cpus(None, ["--pin=same"]))
        self.assertEqual(ab.default_cpus(None, []), {allowed[-1]})
        self.assertIsNone(ab.default_cpus(set(), []))

    def test_pinned_child_inherits_affinity(self):
        cpu = sorted(os.sched_getaffinity(0))[-1]
        runner = ab.BinaryRunner(PYTHON, cpus={cpu})
        # writes an empty result only if its affinity is {cpu}
        runner.command = lambda flt, out: [
            PYTHON, "-c", "import os, sys\n"
            f"if os.sched_getaffinity(0) != {{{cpu}}}: sys.exit(1)\n"
            f"open(sys.argv[1], 'w').write('{{\"benchmarks\": []}}')",
            out]
        self.assertEqual(runner("."), {})

    def test_bad_flags(self):
        for args in (["--b-env", "NOEQUALS"], ["--pairs", "0"],
                     ["--cpus", "nonsense"],
                     ["--min-time", "-1"],
                     ["--a-binary", "/nonexistent/ipcbench"]):
            proc = self.run_script("ab.py", *args, "--b-binary", FAKE)
            self.assertEqual(proc.returncode, 2, args)
            self.assertNotIn("Traceback", proc.stderr)


class TestExperimentCli(TempDirCase):
    def test_one_run_each_with_fake_binary(self):
        js = os.path.join(self.tmp, "exp.json")
        proc = self.run_script("gate_experiment.py", "--binary", FAKE,
                               "--runs", "1", "--filter", "queue", "--seed",
                               "3", "--pairs", "10", "--cpus", "all",
                               "--json", js)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("false alarms (A/A): 0/1", proc.stdout)
        self.assertIn("detection: 1/1", proc.stdout)
        self.assertIn("wall time per gate run", proc.stdout)
        with open(js) as f:
            doc = json.load(f)
        det = [r for r in doc["runs"] if r["kind"] == "detect"][0]
        self.assertAlmostEqual(det["target_ratio"], 1.25, delta=0.1)
        self.assertEqual(det["confirmed"], ["roundtrip/queue/thread/size:16"])

    def test_planted_cost_is_scaled_to_the_slowdown_asked(self):
        # --b-binary: the plant's cost per send is calibrated against what it adds
        # (the fake adds twice what it is asked); every queue benchmark carries it
        js = os.path.join(self.tmp, "exp.json")
        proc = self.run_script("gate_experiment.py", "--binary", FAKE,
                               "--b-binary", FAKE, "--only", "detect",
                               "--runs", "1", "--filter", "queue", "--seed",
                               "3", "--pairs", "10", "--cpus", "all",
                               "--json", js)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("detection: 1/1", proc.stdout)
        with open(js) as f:
            det = json.load(f)["runs"][0]
        self.assertTrue(det["planted"])
        self.assertAlmostEqual(det["target_ratio"], 1.25, delta=0.1)
        self.assertEqual(det["others_flagged"], [])

    def test_planted_cost_needs_a_queue_target(self):
        proc = self.run_script("gate_experiment.py", "--binary", FAKE,
                               "--b-binary", FAKE, "--target",
                               "roundtrip/pipe/thread/size:16")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not a queue benchmark", proc.stderr)
        self.assertEqual(len(proc.stderr.splitlines()), 1)

    def test_a_run_with_no_ratio_is_described(self):
        # every benchmark undecided or errored: no ratio, "-", not a traceback
        import gate_experiment
        line = gate_experiment.describe(3, {
            "kind": "aa", "seconds": 1.0, "loadavg": (0.5, 0, 0),
            "max_ratio": None, "alarm": False, "confirmed": [], "flagged": [],
            "noisy": []})
        self.assertIn("max ratio -: quiet", line)

    def test_bad_binary(self):
        proc = self.run_script("gate_experiment.py", "--binary",
                               os.path.join(self.tmp, "nope"))
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stderr.splitlines()), 1)


class TestCiGate(TempDirCase):
    """scripts/ci_gate.sh in a throwaway repository holding scripts/: with no
    parent commit the gate is NOT RUN and says so (exit 0: test.sh goes on in a
    single-commit or shallow clone); a GATE_BASE that names no commit is an
    error (exit 2), not a skip. Both end before anything is built."""

    def make_repo(self, name, commits):
        repo = os.path.join(self.tmp, name)
        shutil.copytree(SCRIPTS, os.path.join(repo, "scripts"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        git = ["git", "-C", repo, "-c", "user.name=t",
               "-c", "user.email=t@example.com"]
        subprocess.run(["git", "init", "-q", repo], check=True)
        for i in range(commits):
            with open(os.path.join(repo, "f.txt"), "w") as f:
                f.write(f"{i}\n")
            subprocess.run(git + ["add", "-A"], check=True)
            subprocess.run(git + ["commit", "-q", "-m", f"c{i}"], check=True)
        return repo

    def ci_gate(self, repo, args=(), **env):
        full = {k: v for k, v in os.environ.items()
                if k not in ("GATE_BASE", "GATE_B_BINARY",
                             "GITHUB_STEP_SUMMARY")}
        full.update(env)
        return subprocess.run(["bash", os.path.join(repo, "scripts",
                                                    "ci_gate.sh"), *args],
                              capture_output=True, text=True, env=full,
                              timeout=120)

    def test_single_commit_clone_says_not_run_and_passes(self):
        repo = self.make_repo("one", 1)
        p = self.ci_gate(repo)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("A/B gate NOT RUN: no parent commit (HEAD~1): a "
                      "single-commit history", p.stdout)
        self.assertFalse(os.path.exists(os.path.join(repo, "build-ab")))

    def test_a_given_baseline_binary_needs_no_parent(self):
        repo = self.make_repo("given", 1)
        p = self.ci_gate(repo, GATE_B_BINARY=FAKE, args=[
            "--a-binary", FAKE, "--filter", "^roundtrip/queue/thread/size:16/",
            "--pairs", "10", "--threshold", "10", "--cpus", "all"])
        self.assertNotIn("NOT RUN", p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("gate: pass", p.stdout)

    def test_shallow_clone_says_not_run_and_passes(self):
        repo = self.make_repo("two", 2)
        clone = os.path.join(self.tmp, "clone")
        subprocess.run(["git", "clone", "-q", "--depth", "1",
                        "file://" + repo, clone], check=True)
        p = self.ci_gate(clone)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("A/B gate NOT RUN: no parent commit (HEAD~1): a "
                      "shallow clone", p.stdout)

    def test_an_unknown_gate_base_is_an_error_not_a_skip(self):
        for commits in (1, 2):
            with self.subTest(commits=commits):
                repo = self.make_repo(f"repo{commits}", commits)
                p = self.ci_gate(repo, GATE_BASE="no-such-rev")
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertNotIn("Traceback", p.stderr)
                self.assertEqual(p.stderr.strip().splitlines(), [
                    "ab.py: error: unknown baseline revision 'no-such-rev': "
                    "no such commit here (a typo, or a shallow clone without "
                    "it)"])
                self.assertNotIn("skipped", p.stdout)
                self.assertNotIn("NOT RUN", p.stdout)


if __name__ == "__main__":
    unittest.main()
