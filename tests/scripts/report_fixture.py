"""Small synthetic results in Google Benchmark 1.7.1 JSON shape, with every
repetition given by hand (for tests of the report's headline, marks,
statements, floor multiples, canary and run-order checks)."""
from ipcbench_tools.report.blocks import ReportInput
from ipcbench_tools.report.data import parse_results


class Doc:
    """doc.add(name, [ns per repetition], ...) then doc.json()."""

    def __init__(self, pin="none,cross,same", num_cpus=2, busy="shm-ring-spin"):
        self.entries = []
        self.family = 0
        self.context = {"num_cpus": num_cpus, "pin": pin,
                        "date": "2026-12-02T02:00:00+00:00"}
        if busy is not None:
            self.context["busy_polling"] = busy
        self.clock = 0.0

    def add(self, name, values_ns, counters=None, rep_counters=None,
            started=None, rate=None):
        """values_ns: real_time of each repetition (ns). counters: the same
        for every repetition; rep_counters: name -> list per repetition.
        started: started_s per repetition (default: back to back)."""
        run_name = f"{name}/real_time"
        for i, v in enumerate(values_ns):
            if started is None:
                self.clock += 1.0
            e = {"name": run_name, "family_index": self.family,
                 "per_family_instance_index": 0, "run_name": run_name,
                 "run_type": "iteration", "repetitions": len(values_ns),
                 "repetition_index": i, "threads": 1, "iterations": 100,
                 "real_time": float(v), "cpu_time": float(v) / 3,
                 "time_unit": "ns",
                 "started_s": self.clock if started is None else started[i]}
            if rate is not None:
                e["items_per_second"] = rate[i]
            e.update(counters or {})
            for k, vals in (rep_counters or {}).items():
                e[k] = vals[i]
            self.entries.append(e)
        self.family += 1
        return self

    def json(self):
        return {"context": dict(self.context), "benchmarks":
                sorted(self.entries, key=lambda e: e["started_s"])}


def report_input(doc):
    ds = parse_results(doc.json() if isinstance(doc, Doc) else doc,
                       "fixture.json")
    return ReportInput(ds, [ds], 64, [])
