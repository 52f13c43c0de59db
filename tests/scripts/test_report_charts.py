"""Tests of the report's charts and page (scripts/ipcbench_tools/report:
charts.py, render.py, style.py) and the oversubscription rule (data.py).

Run: /usr/bin/python3 -m unittest tests.scripts.test_report_charts
"""
import unittest

from ipcbench_tools.report import data  # noqa: E402


def entry(run_name, real_ns, rep=0, **counters):
    e = {"name": run_name, "run_name": run_name, "run_type": "iteration",
         "repetitions": 3, "repetition_index": rep, "family_index": 0,
         "per_family_instance_index": 0, "threads": 1, "iterations": 100,
         "real_time": real_ns, "cpu_time": real_ns, "time_unit": "ns"}
    e.update(counters)
    return e


def doc(entries, cpus=2):
    return {"context": {"num_cpus": cpus, "pin": "none,cross,same"},
            "benchmarks": entries}


class OversubscribedTest(unittest.TestCase):
    def points(self, cpus, **counters):
        d = doc([entry("dict/mutex/thread/readers:4/real_time", 100.0 + r,
                       r, items_per_second=1e7, **counters)
                 for r in range(3)], cpus)
        ds = data.parse_results(d, "x.json")
        (p,) = ds.points.values()
        return p, ds.context

    def test_more_busy_peers_than_cpus(self):
        self.assertTrue(data.oversubscribed(*self.points(2, busy_peers=5)))

    def test_as_many_as_cpus_is_not(self):
        self.assertFalse(data.oversubscribed(*self.points(2, busy_peers=2)))
        self.assertFalse(data.oversubscribed(*self.points(8, busy_peers=5)))

    def test_no_counter_claims_nothing(self):
        self.assertFalse(data.oversubscribed(*self.points(2)))
        p, _ = self.points(2, busy_peers=5)
        self.assertFalse(data.oversubscribed(p, {}))


if __name__ == "__main__":
    unittest.main()
