"""Tests for plot.py's tail-latency and floor-multiples sections."""
import json
import tempfile
import unittest
from pathlib import Path

import plot  # noqa: E402  (scripts/ is on sys.path: __init__.py)
from ipcbench_tools.report import blocks, data, fmt, sections  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def entry(name, ns, **counters):
    e = {"name": name + "/real_time", "run_name": name + "/real_time",
         "run_type": "iteration", "repetitions": 1, "repetition_index": 0,
         "iterations": 1000, "real_time": ns, "cpu_time": ns,
         "time_unit": "ns", "items_per_second": 1e9 / ns}
    e.update(counters)
    return e


def dataset():
    pct = {"p50_ns": 900.0, "p90_ns": 1000.0, "p99_ns": 2000.0,
           "p999_ns": 5000.0, "max_ns": 90000.0, "cpu_ns_per_msg": 1800.0}
    doc = {"context": {"pin": "cross", "load_avg": [0.1, 0.1, 0.1],
                       "busy_polling": "shm-ring-spin"},
           "benchmarks": [
               entry("roundtrip/shm-ring-spin/process/size:64", 1000.0,
                     **pct),
               entry("roundtrip/pipe/process/size:64", 7000.0, **pct),
               entry("roundtrip/pipe/process/size:16", 6900.0),
               entry("floor/cacheline/process", 400.0),
               entry("floor/cacheline-msg/process/size:64", 800.0),
               entry("floor/futex/process", 5000.0),
               entry("floor/pipe-raw/process/size:64", 6500.0)]}
    return data.parse_results(doc, "test.json")


class TailLatencyTest(unittest.TestCase):
    def test_percentile_table_and_chart(self):
        ds = dataset()
        inp = blocks.ReportInput(ds, [ds], 256, [])
        section = sections.section_tail_latency(inp)
        self.assertEqual(section.title, "Tail latency")
        fig, table = section.blocks
        self.assertEqual(fig.name, "latency_percentiles")
        self.assertEqual(table.headers[2:],
                         ["p50", "p90", "p99", "p99.9", "max",
                          "CPU per round trip"])
        by = {row[0]: row for row in table.rows}
        self.assertEqual(set(by), {"shm-ring-spin", "pipe"})  # 64 B only
        self.assertEqual(by["pipe"][2], fmt.fmt_seconds(900e-9))
        self.assertEqual(by["pipe"][6], fmt.fmt_seconds(90000e-9))
        self.assertEqual(by["pipe"][7], fmt.fmt_seconds(1800e-9))

    def test_no_percentiles_no_section(self):
        doc = {"context": {}, "benchmarks": [
            entry("roundtrip/pipe/process/size:64", 7000.0)]}
        ds = data.parse_results(doc, "old.json")
        self.assertIsNone(sections.section_tail_latency(
            blocks.ReportInput(ds, [ds], 256, [])))


class FloorMultiplesTest(unittest.TestCase):
    def test_ratios_against_same_context_floors(self):
        rows = {r[0]: r for r in sections.floor_multiples(dataset(), 64)[0]}
        spin = rows["shm-ring-spin (busy-polls)"]
        self.assertEqual(spin[2], "cross")                      # placement
        self.assertEqual(spin[4], "2.50x")                      # 1000/400
        self.assertEqual(spin[5], "1.25x")                      # 1000/800
        self.assertEqual(spin[7], "n/a")            # futex: not its floor
        self.assertEqual(spin[8], "-")                          # no raw loop
        self.assertEqual(rows["pipe"][7], "1.40x")              # 7000/5000
        self.assertEqual(rows["pipe"][8], "1.08x (pipe-raw)")   # 7000/6500

    def test_message_floor_only_for_its_own_size(self):
        rows = {r[0]: r for r in sections.floor_multiples(dataset(), 16)[0]}
        self.assertEqual(rows["pipe"][4], "17.2x")              # 6900/400
        self.assertEqual(rows["pipe"][5], "-")                  # 64 B floor

    def test_report_has_both_sections(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in.json"
            doc = {"context": {"pin": "cross"}, "benchmarks": []}
            doc["benchmarks"] = [entry("roundtrip/pipe/process/size:64",
                                       7000.0, p50_ns=1.0, p90_ns=2.0,
                                       p99_ns=3.0, p999_ns=4.0, max_ns=5.0),
                                 entry("floor/pipe-raw/process/size:64",
                                       6500.0)]
            src.write_text(json.dumps(doc))
            self.assertEqual(plot.main([str(src), "--out",
                                        str(Path(tmp) / "rep")]), 0)
            text = (Path(tmp) / "rep" / "index.md").read_text()
            self.assertIn("## Tail latency", text)
            self.assertIn("## Floor multiples", text)
            self.assertIn("1.08x (pipe-raw)", text)
            self.assertTrue((Path(tmp) / "rep" /
                             "latency_percentiles.png").exists())


if __name__ == "__main__":
    unittest.main()
