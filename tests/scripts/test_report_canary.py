"""The drift canary section and scripts/canary.py, the interleaving check
and the thread-vs-process check (report/canary.py, runorder.py)."""
import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

import canary as canary_script  # noqa: E402  (scripts/ on sys.path)
from ipcbench_tools.report import canary, runorder, sections
from ipcbench_tools.report.blocks import Table
from tests.scripts.report_fixture import Doc, report_input

from tests.scripts.test_report_headline import around


def canary_run():
    """pipe follows the futex canary (drift), uds does not; shm-ring-spin
    follows the cache-line canary; the canary jumps 3x mid-run."""
    d = Doc()
    futex = [50e3, 50e3, 150e3, 150e3, 50e3]
    line = [70, 70, 70, 210, 210]
    d.add("roundtrip/pipe/process/size:64/pin:cross",
          [1.1 * f for f in futex],
          rep_counters={"canary_futex_ns": futex,
                        "canary_cacheline_ns": line})
    d.add("roundtrip/uds/process/size:64/pin:cross",
          [90e3, 91e3, 89e3, 90e3, 92e3],
          rep_counters={"canary_futex_ns": [50e3] * 5,
                        "canary_cacheline_ns": line})
    d.add("roundtrip/shm-ring-spin/process/size:64/pin:cross",
          [3 * c for c in line],
          rep_counters={"canary_futex_ns": futex,
                        "canary_cacheline_ns": line})
    return d


class CanaryTest(unittest.TestCase):
    def test_rows_pick_the_canary_by_transport(self):
        rows = {r.point.key.subject: r for r in
                canary.rows(report_input(canary_run()).data)}
        self.assertEqual(rows["pipe"].canary, "futex")
        self.assertEqual(rows["shm-ring-spin"].canary, "cacheline")
        self.assertGreater(rows["pipe"].cv_raw, 0.4)
        self.assertAlmostEqual(rows["pipe"].cv_norm, 0.0, places=9)
        self.assertTrue(rows["pipe"].straddles)         # 150/50 = 3 > 2
        self.assertFalse(rows["uds"].straddles)          # futex steady
        self.assertAlmostEqual(rows["shm-ring-spin"].band_ratio, 3.0)

    def test_summary_and_verdict(self):
        summ = canary.summary(report_input(canary_run()).data)
        self.assertEqual(len(summ.rows), 3)
        self.assertEqual(summ.improved, 2)
        self.assertEqual(summ.straddling, 2)
        self.assertTrue(summ.keep)
        self.assertIn("keep the canary", summ.text())

    def test_verdict_against_when_normalising_spreads_more(self):
        d = Doc()
        d.add("roundtrip/pipe/process/size:64/pin:cross", around(50e3),
              rep_counters={"canary_futex_ns": [50e3, 150e3] * 4 + [50e3]})
        summ = canary.summary(report_input(d).data)
        self.assertFalse(summ.keep)
        self.assertIn("do not spread less", summ.text())

    def test_section(self):
        sec = sections.section_canary(report_input(canary_run()))
        self.assertEqual(sec.title, "Drift canary")
        table = [b for b in sec.blocks if isinstance(b, Table)][0]
        self.assertEqual(len(table.rows), 3)
        pipe = [r for r in table.rows if r[0].startswith("roundtrip/pipe")][0]
        self.assertEqual(pipe[1], "futex")
        self.assertTrue(pipe[3].endswith("(lower)"))
        self.assertTrue(pipe[4].endswith("band change"))
        text = "\n".join(b for b in sec.blocks if isinstance(b, str))
        self.assertIn("Straddling a band change (2)", text)

    def test_no_canary_no_section(self):
        d = Doc().add("roundtrip/pipe/process/size:64", around(5e3))
        self.assertIsNone(sections.section_canary(report_input(d)))

    def test_script(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "run.json"
            path.write_text(json.dumps(canary_run().json()))
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                code = canary_script.main([str(path), "--all"])
            self.assertEqual(code, 0, err.getvalue())
            self.assertIn("3 benchmarks", out.getvalue())
            self.assertIn("keep the canary", out.getvalue())
            self.assertIn("(band change)", out.getvalue())
            plain = Path(tmp) / "plain.json"
            plain.write_text(json.dumps(Doc().add(
                "roundtrip/pipe/process/size:64", around(5e3)).json()))
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(err):
                self.assertEqual(canary_script.main([str(plain)]), 1)
            self.assertIn("no benchmark has canary counters", err.getvalue())


class RunOrderTest(unittest.TestCase):
    def test_back_to_back_is_not_interleaved(self):
        d = Doc()
        d.add("roundtrip/pipe/process/size:64", around(5e3, n=3))
        d.add("roundtrip/fifo/process/size:64", around(6e3, n=3))
        il = runorder.interleaving(report_input(d).data)
        self.assertEqual((il.spread, il.total, il.by), (0, 2, "started_s"))
        self.assertIn("not interleaved", il.sentence())

    def test_interleaved_by_started_s(self):
        d = Doc()
        d.add("roundtrip/pipe/process/size:64", around(5e3, n=3),
              started=[1.0, 3.0, 5.0])
        d.add("roundtrip/fifo/process/size:64", around(6e3, n=3),
              started=[2.0, 4.0, 6.0])
        il = runorder.interleaving(report_input(d).data)
        self.assertTrue(il.interleaved)
        self.assertIn("Repetitions were interleaved", il.sentence())

    def test_partly(self):
        d = Doc()
        d.add("roundtrip/pipe/process/size:64", around(5e3, n=2),
              started=[1.0, 3.0])
        d.add("roundtrip/fifo/process/size:64", around(6e3, n=2),
              started=[2.0, 4.0])
        d.add("roundtrip/uds/process/size:64", around(6e3, n=2),
              started=[5.0, 6.0])
        il = runorder.interleaving(report_input(d).data)
        self.assertEqual((il.spread, il.total), (2, 3))
        self.assertIn("partly", il.sentence())


class ThreadVsProcessCheckTest(unittest.TestCase):
    def test_per_placement_with_u_test(self):
        d = Doc()
        for ctx, ns in (("thread", 118), ("process", 116)):
            d.add(f"roundtrip/shm-ring-spin/{ctx}/size:64/pin:cross",
                  around(ns, 0.05))
        d.add("roundtrip/shm-ring-spin/thread/size:64/pin:none",
              around(540))
        d.add("roundtrip/shm-ring-spin/process/size:64/pin:none",
              around(120))
        sec = sections.section_checks(report_input(d))
        self.assertEqual(sec.title, "Checks on this run")
        lines = sec.blocks[-1].splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("No clear difference between the thread pair and the "
                      "process pair for shm-ring-spin at 64 B (two CPUs",
                      lines[0])
        self.assertIn("U test p = ", lines[0])
        self.assertIn("The process pair is 4.50x faster than the thread "
                      "pair for shm-ring-spin at 64 B (unpinned", lines[1])
        self.assertIn("not interleaved", sec.blocks[0])
        # pinned alike, unpinned apart: placement, not the process boundary
        self.assertIn("Pinned to two CPUs the two pairs do not differ, so the unpinned "
                      "difference comes from where the scheduler put the peers", lines[2])

    def test_no_placement_explanation_when_pinned_pairs_differ(self):
        d = Doc()
        for pin in ("cross", "none"):
            d.add(f"roundtrip/shm-ring-spin/thread/size:64/pin:{pin}", around(540, 0.05))
            d.add(f"roundtrip/shm-ring-spin/process/size:64/pin:{pin}", around(120, 0.05))
        lines = sections.section_checks(report_input(d)).blocks[-1].splitlines()
        self.assertEqual(len(lines), 2)
        self.assertNotIn("scheduler", " ".join(lines))

    def test_checks_come_right_after_the_headline(self):
        self.assertIs(sections.SECTION_BUILDERS[1], sections.section_checks)


class MachineTableTest(unittest.TestCase):
    def test_load_calibration_reads_as_rates(self):
        self.assertEqual(
            sections.calibration_text('{"pipe/thread/size:64": 44800.5, "uds/process/size:64": 1.2e6}'),
            "pipe/thread/size:64 44.8k/s, uds/process/size:64 1.20M/s")
        self.assertEqual(sections.calibration_text("not json"), "not json")


if __name__ == "__main__":
    unittest.main()
