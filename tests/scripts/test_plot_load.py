"""Tests for the latency-under-load report section (ipcbench_tools/report/load.py)."""
import unittest

import plot  # noqa: F401,E402  (scripts/ is on sys.path: __init__.py)
from ipcbench_tools.report import blocks, data, load  # noqa: E402


def entry(name, p50, p99, achieved, pct, closed=10000.0):
    ns = 1e9 / achieved
    return {"name": name + "/real_time", "run_name": name + "/real_time",
            "run_type": "iteration", "repetitions": 1, "repetition_index": 0,
            "iterations": 1000, "real_time": ns, "cpu_time": ns,
            "time_unit": "ns", "items_per_second": achieved,
            "p50_ns": p50, "p90_ns": p99, "p99_ns": p99, "p999_ns": p99,
            "max_ns": p99 * 2, "uncorrected_p99_ns": p50,
            "achieved_rate": achieved, "target_rate": closed * pct / 100,
            "closed_loop_rate": closed, "rate_pct": pct,
            "max_in_flight": 3, "in_flight_end": 0, "late_sends": 0}


def dataset():
    rows = []
    # pipe: flat, then 12x its low-rate p99 at 120%: the knee
    for pct, p99, achieved in [(10, 20e3, 1e3), (50, 30e3, 5e3),
                               (90, 90e3, 9e3), (120, 240e3, 10e3)]:
        rows.append(entry(f"load/pipe/thread/size:64/rate:{pct}pct",
                          p99 / 2, p99, achieved, pct))
    # shm-ring: never 10x within the sweep
    for pct, p99 in [(10, 5e3), (50, 6e3), (120, 40e3)]:
        rows.append(entry(f"load/shm-ring/thread/size:64/rate:{pct}pct",
                          p99 / 2, p99, pct * 100.0, pct))
    return data.parse_results({"context": {}, "benchmarks": rows}, "t.json")


class LoadSectionTest(unittest.TestCase):
    def test_names_parse_with_rate_and_counters(self):
        pts = load.load_points(dataset())
        self.assertEqual(len(pts), 7)
        p = [p for p in pts if p.key.subject == "pipe"][0]
        self.assertEqual((p.key.context, p.key.param, p.key.extra),
                         ("thread", 64, "rate:10pct"))
        self.assertEqual(load.rate_pct(p), 10)
        self.assertEqual(p.counters["achieved_rate"], 1e3)

    def test_knee_is_the_first_rate_past_ten_times_the_low_rate_p99(self):
        lines = load.curves(load.load_points(dataset()))
        self.assertEqual(load.rate_pct(load.knee(lines[("thread", "pipe")])),
                         120)
        self.assertIsNone(load.knee(lines[("thread", "shm-ring")]))
        # p50 = p99 / 2 here: the same knee by p50
        self.assertEqual(load.rate_pct(load.knee(lines[("thread", "pipe")],
                                                 counter="p50_ns")), 120)

    def test_saturation_is_the_first_rate_achieved_below_90_percent(self):
        lines = load.curves(load.load_points(dataset()))
        # pipe: 10,000/s achieved of 12,000/s asked at 120%
        self.assertEqual(load.rate_pct(load.saturation(lines[("thread", "pipe")])),
                         120)
        self.assertIsNone(load.saturation(lines[("thread", "shm-ring")]))

    def test_section_has_the_curve_and_the_knee_table(self):
        ds = dataset()
        section = load.section_load(blocks.ReportInput(ds, [ds], 64, []))
        self.assertEqual(section.title, "Latency under load")
        fig, knees, detail = section.blocks
        self.assertEqual(fig.name, "load_latency")
        self.assertIsNotNone(fig.figure)
        by = {row[0]: row for row in knees.rows}
        self.assertTrue(by["pipe"][4].startswith("120%"), by["pipe"])
        self.assertEqual(by["shm-ring"][4], "none up to 120%")
        self.assertTrue(by["pipe"][6].startswith("120%"), by["pipe"])
        self.assertEqual(by["shm-ring"][6], "none up to 120%")
        self.assertEqual(len(detail.rows), 7)

    def test_no_load_benchmarks_no_section(self):
        doc = {"context": {}, "benchmarks": [
            entry("load/pipe/thread/size:64/rate:10pct", 1, 2, 3, 10)]}
        for k in ("achieved_rate",):
            del doc["benchmarks"][0][k]
        ds = data.parse_results(doc, "old.json")
        self.assertIsNone(load.section_load(blocks.ReportInput(ds, [ds], 64, [])))


if __name__ == "__main__":
    unittest.main()
