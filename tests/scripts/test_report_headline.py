"""The report's headline table, floor multiples by placement, marks and
measurement faults (scripts/ipcbench_tools/report: sections, floors,
evidence), on small synthetic results with every repetition given."""
import unittest

from ipcbench_tools.report import evidence, floors, sections
from ipcbench_tools.report.blocks import Table
from tests.scripts.report_fixture import Doc, report_input

REPS = 9


def around(ns, spread=0.02, n=REPS):
    """n repetitions within +-spread of ns."""
    return [ns * (1 + spread * (2 * i / (n - 1) - 1)) for i in range(n)]


def placed_run():
    """Round trips and floors in cross and same; pipe and fifo blocking,
    shm-ring-spin busy-polling (absent from same, as ipcbench runs it)."""
    d = Doc()
    for pin, futex, pipe, fifo, uds in (("cross", 50e3, 55e3, 60e3, 90e3),
                                        ("same", 5e3, 6e3, 6.5e3, 11e3)):
        for ctx in ("thread", "process"):
            d.add(f"roundtrip/pipe/{ctx}/size:64/pin:{pin}", around(pipe))
            d.add(f"roundtrip/fifo/{ctx}/size:64/pin:{pin}", around(fifo))
            d.add(f"roundtrip/uds/{ctx}/size:64/pin:{pin}", around(uds))
            d.add(f"floor/futex/{ctx}/pin:{pin}", around(futex))
            d.add(f"floor/pipe-raw/{ctx}/size:64/pin:{pin}",
                  around(pipe / 1.05))
    for ctx in ("thread", "process"):
        d.add(f"roundtrip/shm-ring-spin/{ctx}/size:64/pin:cross",
              around(200))
        d.add(f"floor/cacheline/{ctx}/pin:cross", around(70))
        d.add(f"floor/cacheline-ring/{ctx}/size:64/pin:cross", around(150))
    return d


def cells_text(table):
    return "\n".join("\n".join(map(str, r)) for r in table.rows)


class HeadlineTest(unittest.TestCase):
    def setUp(self):
        self.inp = report_input(placed_run())
        self.section = sections.section_headline(self.inp)

    def test_headline_is_the_first_section(self):
        built = sections.build_sections(self.inp, [
            sections.section_headline, sections.section_context])
        self.assertTrue(built[0].title.startswith("Headline"))
        self.assertIs(sections.SECTION_BUILDERS[0], sections.section_headline)

    def test_one_table_per_placement_cross_first(self):
        tables = [b for b in self.section.blocks if isinstance(b, Table)]
        self.assertEqual(len(tables), 2)
        self.assertIn("Two CPUs", tables[0].caption)
        self.assertIn("One CPU", tables[1].caption)

    def test_fastest_first_with_floor_of_the_same_placement(self):
        cross, same = [b for b in self.section.blocks if isinstance(b, Table)]
        first = cross.rows[0][1].split("\n")
        self.assertEqual(first[0], "shm-ring-spin")
        self.assertTrue(first[1].startswith("200 ns (196-204)"), first)
        # 200 / 150: the ring floor of cross, never a same-placement floor
        self.assertEqual(first[2], "1.33x ring floor")
        same_first = same.rows[0][1].split("\n")
        self.assertEqual(same_first[0], "pipe")
        self.assertEqual(same_first[2], "1.05x pipe-raw loop")
        # fifo has no raw loop here: its futex floor of the same placement
        self.assertEqual(same.rows[0][2].split("\n")[2], "1.30x futex")
        self.assertNotIn("shm-ring-spin", cells_text(same))

    def test_order_without_support_is_marked(self):
        d = Doc()
        d.add("roundtrip/pipe/process/size:64/pin:same", around(6e3, 0.2))
        d.add("roundtrip/fifo/process/size:64/pin:same", around(6.1e3, 0.2))
        d.add("roundtrip/uds/process/size:64/pin:same", around(11e3))
        sec = sections.section_headline(report_input(d))
        row = [b for b in sec.blocks if isinstance(b, Table)][0].rows[0]
        self.assertTrue(row[2].startswith("≈ fifo"), row)
        self.assertTrue(row[3].startswith("uds"), row)   # clearly slower


class FloorMultipleTest(unittest.TestCase):
    def test_pairs_by_placement(self):
        ds = report_input(placed_run()).data
        rows, faults, _ = sections.floor_multiples(ds, 64)
        by = {(r[0], r[1], r[2]): r for r in rows}
        # pipe same: 6000 / 5000 futex of same, not 6000 / 50000 of cross
        self.assertEqual(by[("pipe", "process", "same")][7], "1.20x")
        self.assertEqual(by[("pipe", "process", "cross")][7], "1.10x")
        self.assertEqual(by[("shm-ring-spin (busy-polls)", "process",
                             "cross")][4], "2.86x")
        self.assertEqual(faults, [])
        self.assertEqual(by[("shm-ring-spin (busy-polls)", "process",
                             "cross")][7], "n/a")

    def test_spin_first_ring_has_no_futex_multiple_across_cpus(self):
        d = Doc()
        for pin, ns in (("cross", 900), ("same", 13e3)):
            d.add(f"roundtrip/shm-ring/process/size:64/pin:{pin}", around(ns))
            d.add(f"floor/futex/process/pin:{pin}", around(15e3))
        d.context["spins_first"] = "shm-ring"
        rows, faults, _ = sections.floor_multiples(report_input(d).data, 64)
        by = {r[2]: r for r in rows}
        self.assertEqual(by["cross"][7], "n/a")  # it spins there: no futex floor, no fault
        self.assertEqual(by["same"][7], "measurement fault !")  # sleeps there: 0.87x
        self.assertEqual([floors.placement(report_input(d).data, f[0]) for f in faults],
                         ["same"])

    def test_below_point_nine_is_a_fault_never_a_figure(self):
        d = Doc()
        d.add("roundtrip/shm-ring/process/size:64/pin:cross", around(100))
        d.add("floor/cacheline/process/pin:cross", around(139))
        inp = report_input(d)
        rows, faults, used = sections.floor_multiples(inp.data, 64)
        self.assertEqual(rows[0][4], "measurement fault !")
        self.assertEqual(len(faults), 1)
        self.assertIn(evidence.FAULT, used)
        sec = sections.section_floor_multiples(inp)
        text = "\n".join(b if isinstance(b, str) else cells_text(b)
                         for b in sec.blocks)
        self.assertNotIn("0.72x", cells_text(sec.blocks[1]))
        self.assertIn("0.72x, below 0.9x", text)     # the reason, stated
        self.assertIn("measurement fault", sec.blocks[1].caption)
        # the headline: pipe below its own raw loop
        d = Doc()
        d.add("roundtrip/pipe/process/size:64/pin:same", around(5e3))
        d.add("floor/pipe-raw/process/size:64/pin:same", around(7e3))
        head = sections.section_headline(report_input(d))
        cell = [b for b in head.blocks if isinstance(b, Table)][0].rows[0][1]
        self.assertIn("measurement fault ! (pipe-raw loop: 7.00 µs)", cell)
        self.assertNotIn("0.71", cell)
        self.assertIn("! measurement fault", head.blocks[-1])   # legend

    def test_busy_polling_inferred_without_context_key(self):
        d = placed_run()
        del d.context["busy_polling"]
        ds = report_input(d).data
        self.assertEqual(floors.busy_polling(ds), {"shm-ring-spin"})

    def test_name_without_pin_is_the_first_placement(self):
        d = Doc(pin="same")
        d.add("roundtrip/pipe/process/size:64", around(6e3))
        d.add("floor/futex/process", around(5e3))
        ds = report_input(d).data
        rows, _, _ = sections.floor_multiples(ds, 64)
        self.assertEqual(rows[0][2], "same")
        self.assertEqual(rows[0][7], "1.20x")


class MarksTest(unittest.TestCase):
    def test_bimodal(self):
        self.assertTrue(evidence.is_bimodal([14.9e3, 158, 14.6e3]))
        self.assertTrue(evidence.is_bimodal([100, 101, 99, 400, 410]))
        self.assertFalse(evidence.is_bimodal([100, 150, 200, 250, 320]))
        self.assertFalse(evidence.is_bimodal([100, 250]))       # too few
        self.assertFalse(evidence.is_bimodal([100, 110, 120]))

    def test_noisy_and_bimodal_cells_are_marked(self):
        d = Doc()
        d.add("roundtrip/shm-ring/process/size:64/pin:cross",
              [14.9e3, 158, 14.6e3])
        d.add("roundtrip/pipe/process/size:64/pin:cross",
              [50e3, 80e3, 60e3, 40e3])
        d.add("roundtrip/fifo/process/size:64/pin:cross", around(60e3))
        inp = report_input(d)
        t = sections.point_table(inp.data.select("roundtrip"))
        cells = {r[0]: r[2] for r in t.rows}
        self.assertTrue(cells["shm-ring pin:cross"].endswith(" ~‡"))
        self.assertTrue(cells["pipe pin:cross"].endswith(" ~"))
        self.assertFalse(cells["fifo pin:cross"].endswith(("~", "‡")))
        self.assertIn("~ cv above 20%", t.caption)
        self.assertIn("‡ bimodal", t.caption)

    def test_oversubscribed_from_busy_peers_counter(self):
        d = Doc()
        d.add("dict/manager-pipe/process/readers:1", around(1e3),
              counters={"busy_peers": 2})
        d.add("dict/manager-pipe/process/readers:4", around(9e3),
              counters={"busy_peers": 5})
        d.add("dict/local/thread/readers:4", around(9))   # no counter
        inp = report_input(d)
        sec = sections.section_dict(inp)
        t = [b for b in sec.blocks if isinstance(b, Table)][0]
        cells = {r[0] + " " + r[1]: r[2:] for r in t.rows}
        one, four = cells["manager-pipe process"]
        self.assertFalse(one.endswith("§"), one)
        self.assertTrue(four.endswith("§"), four)
        self.assertFalse(cells["local thread"][1].endswith("§"))
        self.assertIn("§ oversubscribed", t.caption)
        # the same rule in any other table (e.g. a generic scenario)
        d = Doc()
        d.add("widgets/pipe/process/workers:3", around(9e3),
              counters={"busy_peers": 4})
        inp = report_input(d)
        table = sections.section_generic(inp)[0].blocks[-1]
        self.assertTrue(table.rows[0][-1].endswith("§"), table.rows)


class PoolSectionTest(unittest.TestCase):
    def test_kinds_compared_only_where_the_cpus_hold_every_thread(self):
        d = Doc()
        for kind, tasks in (("shm-mpmc", 7e5), ("pipe", 1e5)):
            for n in (1, 4):
                ns = around(1e9 / tasks, 0.01)
                d.add(f"pool/{kind}/thread/workers:{n}/size:64", ns,
                      counters={"busy_peers": n + 1, "cpus": 2, "p99_ns": 5e4},
                      rate=[1e9 / v for v in ns])
        sec = sections.section_pool(report_input(d))
        self.assertEqual(sec.title, "Worker pools")
        text = "\n".join(b for b in sec.blocks if isinstance(b, str))
        self.assertIn("`shm-mpmc` is 7.00x higher than `pipe` with 1 worker (thread context)",
                      text)
        self.assertNotIn("with 4 workers (thread", text)   # oversubscribed: not compared
        self.assertIn("§ 2 of these benchmarks run more busy threads", text)
        tables = [b for b in sec.blocks if isinstance(b, Table)]
        self.assertEqual(tables[0].headers[2:], ["1 worker", "4 workers"])
        self.assertEqual(len(tables), 2)  # rates, then p99
        self.assertIn("50.0 µs", tables[1].rows[0][2])


if __name__ == "__main__":
    unittest.main()
