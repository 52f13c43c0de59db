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


# ------------------------------------------------------------ the page

import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import plot  # noqa: E402
from ipcbench_tools.report import charts, style  # noqa: E402
from tests.scripts import plot_fixture as fixture  # noqa: E402

PAGE_PX = int(style.PAGE_WIDTH_IN * style.PNG_DPI)


def png_size(path):
    head = Path(path).read_bytes()[:24]
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24],
                                                              "big")


def pinned_doc():
    """Round trips and floors in three placements, dict with busy_peers."""
    out = []
    for pin, base in (("none", 80e3), ("cross", 60e3), ("same", 6e3)):
        for tr, k in (("pipe", 1.0), ("shm-ring", 0.01)):
            for ctx in ("thread", "process"):
                for size in (64, 4096):
                    out += [entry(f"roundtrip/{tr}/{ctx}/size:{size}/"
                                  f"pin:{pin}/real_time",
                                  base * k * (1 + size / 65536) + r, r,
                                  p50_ns=base * k, p90_ns=base * k,
                                  p99_ns=2 * base * k, p999_ns=3 * base * k,
                                  max_ns=9 * base * k) for r in range(3)]
        for ctx in ("thread", "process"):
            out += [entry(f"floor/futex/{ctx}/pin:{pin}/real_time",
                          base * 0.9 + r, r) for r in range(3)]
            if pin != "same":
                out += [entry(f"floor/cacheline/{ctx}/pin:{pin}/real_time",
                              70.0 + r, r) for r in range(3)]
            out += [entry(f"floor/pipe-raw/{ctx}/size:64/pin:{pin}/"
                          "real_time", base * 0.95 + r, r)
                    for r in range(3)]
    for readers in (1, 2, 4):
        out += [entry(f"dict/mutex/thread/readers:{readers}/real_time",
                      100.0 + r, r, items_per_second=1e7 / readers,
                      busy_peers=readers + 1) for r in range(3)]
    return doc(out)


class PinnedChartsTest(unittest.TestCase):
    def setUp(self):
        import matplotlib
        matplotlib.use("Agg")
        self.ds = data.parse_results(pinned_doc(), "pinned.json")

    def test_latency_chart_shows_pinned_placements_with_floors(self):
        fig = charts.plot_roundtrip(self.ds)
        titles = [ax.get_title() for ax in fig.axes]
        self.assertEqual(len(titles), 4, titles)    # 2 placements x 2 ctx
        self.assertFalse([t for t in titles if "unpinned" in t], titles)
        for ax in fig.axes:
            floors = [ln for ln in ax.get_lines()
                      if ln.get_linestyle() in ("--", ":")
                      and len(set(ln.get_ydata())) == 1]
            want = 1 if "one CPU" in ax.get_title() else 2
            self.assertEqual(len(floors), want, ax.get_title())
        same = next(ax for ax in fig.axes
                    if ax.get_title().startswith("thread, pinned to one"))
        futex = [ln for ln in same.get_lines()
                 if ln.get_linestyle() == "--"][0]
        # the futex floor of the same placement (6 us), not another's
        self.assertAlmostEqual(futex.get_ydata()[0], 5.4e-6, delta=1e-8)
        self.assertLessEqual(fig.get_figwidth(), style.PAGE_WIDTH_IN)

    def test_no_bars_on_log_axes(self):
        from matplotlib.patches import Rectangle
        for fig in (charts.plot_roundtrip(self.ds), charts.plot_dict(self.ds),
                    charts.plot_floor(self.ds),
                    charts.plot_processing(self.ds, 64),
                    charts.plot_latency_percentiles(self.ds, 64)):
            for ax in fig.axes:
                if "log" not in (ax.get_xscale(), ax.get_yscale()):
                    continue
                bars = [p for p in ax.patches if isinstance(p, Rectangle)
                        and p.get_width() > 0 and p.get_height() > 0]
                self.assertEqual(bars, [], fig.texts)

    def test_oversubscribed_dots_are_hollow_and_in_the_legend(self):
        fig = charts.plot_dict(self.ds)
        hollow = [ln for ax in fig.axes for ln in ax.get_lines()
                  if ln.get_markerfacecolor() in ("white", (1, 1, 1, 1))]
        self.assertEqual(len(hollow), 2)    # readers 2 and 4: 3, 5 > 2 CPUs
        labels = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
        self.assertIn(style.OVERSUB_LABEL, labels)

    def test_shm_ring_variants_have_distinct_hues(self):
        import colorsys
        from matplotlib.colors import to_rgb
        ranks = {s: i for i, s in enumerate(
            ("pipe", "fifo", "uds", "uds-seqpacket", "tcp", "shm-boost",
             "shm-ring", "shm-ring-spin", "shm-ring-futex", "queue"))}
        hues = [colorsys.rgb_to_hsv(*to_rgb(style.colour_of(ranks, s)))
                for s in ("shm-ring", "shm-ring-spin", "shm-ring-futex")]
        for i, a in enumerate(hues):
            for b in hues[i + 1:]:
                apart = min(abs(a[0] - b[0]), 1 - abs(a[0] - b[0]))
                self.assertTrue(apart > 0.08 or abs(a[1] - b[1]) > 0.5,
                                (a, b))


class PageTest(unittest.TestCase):
    """The whole report of a fixture with every scenario."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = Path(cls.tmp.name) / "r.json"
        path.write_text(json.dumps(fixture.make_results(
            contexts=("thread", "process", "spawn"))))
        cls.out = Path(cls.tmp.name) / "reports"
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            code = plot.main([str(path), "--out", str(cls.out)])
        assert code == 0
        cls.html = (cls.out / "index.html").read_text()
        cls.md = (cls.out / "index.md").read_text()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_chart_fits_the_page(self):
        pngs = sorted(self.out.glob("*.png"))
        self.assertGreaterEqual(len(pngs), 8)
        for png in pngs:
            self.assertLessEqual(png_size(png)[0], PAGE_PX, png.name)

    def test_svg_embedded(self):
        figures = re.findall(r'<figure id="fig-([^"]+)"><img[^>]+src="'
                             r'data:image/([a-z+]+);base64,', self.html)
        self.assertGreaterEqual(len(figures), 8)
        self.assertEqual({kind for _, kind in figures}, {"svg+xml"})
        self.assertNotIn("data:image/png", self.html)

    def test_toc_links_resolve(self):
        toc = re.search(r'<nav class="toc".*?</nav>', self.html, re.S)
        self.assertIsNotNone(toc)
        links = re.findall(r'href="#([^"]+)"', toc.group(0))
        ids = re.findall(r'<h2 id="([^"]+)"', self.html)
        self.assertEqual(links, ids)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertIn("Start-up", toc.group(0))

    def test_no_negative_parameter_column(self):
        self.assertNotIn("-1 B", self.md)
        self.assertNotIn("-1 B", self.html)

    def test_spawn_is_not_called_fork(self):
        rows = [ln for ln in self.md.splitlines()
                if ln.startswith("| ") and "spawn" in ln and "RSS" not in ln]
        self.assertTrue(rows)
        self.assertFalse([r for r in rows if "fork" in r], rows)


# ------------------------------------------------------------ the seed

from ipcbench_tools import seedtable as seed  # noqa: E402

SEED_FILE = Path(__file__).resolve().parents[2] / "data" / \
    "processing-2008.json"


def rate_doc(rates):
    return {"context": {"num_cpus": 2}, "benchmarks": [
        {"name": f"{n}/real_time", "run_name": f"{n}/real_time",
         "run_type": "iteration", "repetitions": 3, "repetition_index": r,
         "items_per_second": v * (1 + 0.01 * r), "real_time": 1.0,
         "time_unit": "ns", "iterations": 10}
        for n, v in rates.items() for r in range(3)]}


class SeedTest(unittest.TestCase):
    def setUp(self):
        self.published = json.loads(SEED_FILE.read_text())
        self.py = rate_doc({"dict/py-local/thread/readers:1": 12e6})
        self.cpp = rate_doc({"dict/local/thread/readers:1": 10e6,
                             "dict/local-prehashed/thread/readers:1": 30e6,
                             "dict/mutex/thread/readers:1": 8e6})
        self.rows = seed.load_rows(self.cpp, self.py, self.published)
        self.row = next(r for r in self.rows
                        if r.scenario.id == "plain-dict")

    def test_plain_dict_compares_python_with_the_prehashed_lookup(self):
        self.assertEqual(self.row.cpp_same.name,
                         "dict/local-prehashed/thread/readers:1")
        self.assertAlmostEqual(self.row.ratio(self.row.cpp_same),
                               30 / 12, places=2)
        self.assertEqual(self.row.cpp_also.name,
                         "dict/local/thread/readers:1")

    def test_the_hashing_lookup_is_shown_too_and_what_differs_said(self):
        cells = seed.table_cells(self.rows)
        row = next(c for c in cells if c[0].startswith("Plain dict"))
        self.assertIn("`dict/local-prehashed/thread/readers:1`", row[4])
        self.assertIn("hashing each lookup: 10.1M/s", row[4])
        self.assertIn("`dict/local/thread/readers:1`", row[4])
        self.assertIn("2.5x", row[5])
        self.assertIn("hashing each lookup: 0.8x", row[5])
        text = "\n".join(seed.notes(self.rows, self.cpp, self.py,
                                    self.published))
        self.assertIn("identity", text)
        self.assertIn("bytes", text)

    def test_without_the_prehashed_benchmark_the_hashing_one_stands(self):
        cpp = rate_doc({"dict/local/thread/readers:1": 10e6})
        row = next(r for r in seed.load_rows(cpp, self.py, self.published)
                   if r.scenario.id == "plain-dict")
        self.assertEqual(row.cpp_same.name, "dict/local/thread/readers:1")
        self.assertIsNone(row.cpp_also.name)

    def test_2008_source_is_the_processing_documentation(self):
        sources = self.published["sources"]
        text = json.dumps(sources).lower()
        self.assertNotIn("issue", text)
        self.assertIn("documentation of the `processing` package",
                      sources[0]["name"])
        doc_text = "18,000-20,000 times/sec"
        self.assertIn(doc_text, sources[0]["quote"])
        notes = "\n".join(seed.notes(self.rows, self.cpp, self.py,
                                     self.published)).lower()
        self.assertNotIn("ipcbench issue", notes)
        self.assertNotIn("issue 6", notes)

    def test_chart_draws_dots_not_bars(self):
        import matplotlib
        matplotlib.use("Agg")
        fig = seed.figure(self.rows)
        (ax,) = fig.axes
        self.assertEqual(ax.get_xscale(), "log")
        from matplotlib.patches import Rectangle
        self.assertFalse([p for p in ax.patches if isinstance(p, Rectangle)
                          and p.get_width() > 0 and p.get_height() > 0])
