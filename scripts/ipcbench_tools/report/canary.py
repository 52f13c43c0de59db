"""The drift canary (ipcbench --canary): does dividing each repetition by
the floor measured nearest to it in time make the repetitions agree better?

For every benchmark with at least two repetitions carrying canary counters:
the coefficient of variation across its repetitions of the raw time, and of
the time divided by the canary of that repetition (the futex canary for a
blocking transport, the cache-line canary for a busy-polling one and for
the cache-line floors). A benchmark straddles a band change when the canary
values of its repetitions differ by more than BAND_RATIO (max/min): the
machine moved between bands (docs/MEASURING.md) while it was measured.

The canary is worth keeping only if the normalised figures spread less:
summary() says so, scripts/canary.py prints it.
"""
import dataclasses
import statistics

from ipcbench_tools import stats
from ipcbench_tools.report import floors

BAND_RATIO = 2.0
COUNTERS = {"futex": "canary_futex_ns", "cacheline": "canary_cacheline_ns"}


@dataclasses.dataclass
class Row:
    point: object
    canary: str           # "futex" | "cacheline"
    cv_raw: float
    cv_norm: float
    band_ratio: float     # max / min of the canary over the repetitions

    @property
    def straddles(self):
        return self.band_ratio > BAND_RATIO

    @property
    def improves(self):
        return self.cv_norm < self.cv_raw * (1 - 1e-9)   # not float noise


@dataclasses.dataclass
class Summary:
    rows: list
    median_cv_raw: float
    median_cv_norm: float
    improved: int
    straddling: int

    @property
    def keep(self):
        """Keep the canary only if normalised figures spread less."""
        return bool(self.rows) and self.median_cv_norm < self.median_cv_raw

    def text(self):
        if not self.rows:
            return ("drift canary: no benchmark has canary counters with "
                    "two or more repetitions (run with --canary)")
        n = len(self.rows)
        return (f"drift canary: {n} benchmarks; median cv across "
                f"repetitions {self.median_cv_raw:.1%} raw, "
                f"{self.median_cv_norm:.1%} normalised by the canary; "
                f"normalising lowers the cv of {self.improved} of {n}; "
                f"{self.straddling} straddle a band change (canary max/min "
                f"> {BAND_RATIO:g}). Verdict: " +
                ("normalised figures spread less: keep the canary." if
                 self.keep else "normalised figures do not spread less: "
                 "the canary does not help on this run.") +
                self.by_kind())

    def by_kind(self):
        out = []
        for kind in ("futex", "cacheline"):
            rs = [r for r in self.rows if r.canary == kind]
            if rs:
                out.append(
                    f"{kind} canary: {len(rs)} benchmarks, median cv "
                    f"{statistics.median(r.cv_raw for r in rs):.1%} raw, "
                    f"{statistics.median(r.cv_norm for r in rs):.1%} "
                    f"normalised, lower for {sum(r.improves for r in rs)}")
        return " (" + "; ".join(out) + ")" if out else ""


def canary_kind(ds, point, busy=None):
    busy = floors.busy_polling(ds) if busy is None else busy
    if point.key.subject in busy or (point.key.scenario == "floor" and
                                     point.key.subject.startswith(
                                         "cacheline")):
        return "cacheline"
    return "futex"


def times(point):
    """Per repetition, something proportional to the time it took."""
    if point.metric == "latency":
        return list(point.values)
    return [1.0 / v for v in point.values]


def rows(ds):
    busy = floors.busy_polling(ds)
    out = []
    for p in sorted(ds.points.values(), key=lambda q: q.rank):
        if p.source != "repetitions" or len(p.values) < 2:
            continue
        kind = canary_kind(ds, p, busy)
        canary = p.reps.get(COUNTERS[kind])
        if not canary or any(not stats.is_number(c) or c <= 0
                             for c in canary):
            continue
        t = times(p)
        norm = [v / c for v, c in zip(t, canary)]
        cv_raw, cv_norm = stats.cv(t), stats.cv(norm)
        if cv_raw is None or cv_norm is None:
            continue
        out.append(Row(p, kind, cv_raw, cv_norm, max(canary) / min(canary)))
    return out


def summary(ds):
    rs = rows(ds)
    if not rs:
        return Summary([], float("nan"), float("nan"), 0, 0)
    return Summary(rs, statistics.median(r.cv_raw for r in rs),
                   statistics.median(r.cv_norm for r in rs),
                   sum(r.improves for r in rs), sum(r.straddles for r in rs))
