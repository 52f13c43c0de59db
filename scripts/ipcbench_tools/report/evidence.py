"""What the report may say about its figures: whether a difference between
two benchmarks is supported by their repetitions, and which cells carry a
mark (too noisy, bimodal, oversubscribed, a measurement fault).

Rules (docs/MEASURING.md; the report's legend says the same):

- A difference ("X is 1.4x faster than Y") is stated only when it is
  supported: a two-sided Mann-Whitney U test over the repetitions gives
  p < ALPHA, or, with too few repetitions for the test to reach ALPHA at all
  (fewer than 4 + 4), the min-max ranges do not overlap and each side has
  at least MIN_RANGE_N repetitions. Otherwise the report says "no clear
  difference".
- NOISY: the coefficient of variation (stdev / mean) over the repetitions
  is above CV_LIMIT.
- BIMODAL: at least 3 repetitions, max / min above BIMODAL_RATIO, and the
  widest gap between two neighbouring repetitions (sorted, on a log scale)
  spans more than half of the whole range: two clusters, not a spread.
- OVERSUBSCRIBED: the benchmark's busy_peers counter is above the run's
  CPUs (more threads that want a CPU at once than the machine has;
  data.oversubscribed, the rule the charts use too).
- FAULT: a round trip below FAULT_LIMIT times a floor of the same
  placement: not a figure but a measurement fault (the two were taken at
  different moments of a drifting machine, or the floor was mis-measured).
"""
import dataclasses
import math

from ipcbench_tools import stats, utest
from ipcbench_tools.report import data

ALPHA = 0.01
MIN_RANGE_N = 3
CV_LIMIT = 0.20
BIMODAL_RATIO = 3.0
FAULT_LIMIT = 0.9

NOISY, BIMODAL, OVERSUBSCRIBED, FAULT = "noisy", "bimodal", \
    "oversubscribed", "fault"
SYMBOLS = {NOISY: "~", BIMODAL: "‡", OVERSUBSCRIBED: "§", FAULT: "!"}
MEANINGS = {
    NOISY: f"cv above {CV_LIMIT:.0%} over the repetitions",
    BIMODAL: f"bimodal: repetitions fall in two clusters (max/min above "
             f"{BIMODAL_RATIO:g} with a gap over half the range)",
    OVERSUBSCRIBED: "oversubscribed: more busy threads than CPUs "
                    "(busy_peers > cpus), a property of the machine, not "
                    "of the transport",
    FAULT: f"measurement fault: below {FAULT_LIMIT}x its floor, not printed",
}


def is_bimodal(values):
    values = sorted(v for v in values if v > 0)
    if len(values) < 3 or values[-1] / values[0] <= BIMODAL_RATIO:
        return False
    whole = math.log(values[-1] / values[0])
    gap = max(math.log(b / a) for a, b in zip(values, values[1:]))
    return gap > whole / 2


def is_noisy(values):
    cv = stats.cv(values)
    return cv is not None and cv > CV_LIMIT


def is_oversubscribed(point, num_cpus=None):
    """data.oversubscribed, the one rule for tables and charts (busy_peers
    counter > the run's CPUs)."""
    return data.oversubscribed(point, {"num_cpus": num_cpus})


def marks_of(point, num_cpus=None):
    """The marks of one cell, in SYMBOLS order."""
    out = []
    values = point.values if len(point.values) > 1 else ()
    if values and is_noisy(values):
        out.append(NOISY)
    if values and is_bimodal(values):
        out.append(BIMODAL)
    if is_oversubscribed(point, num_cpus):
        out.append(OVERSUBSCRIBED)
    return out


def symbols(marks):
    return "".join(SYMBOLS[m] for m in SYMBOLS if m in marks)


def legend(marks):
    """'Marks: ~ cv above 20%...; § oversubscribed...' for the marks used."""
    used = [m for m in SYMBOLS if m in set(marks)]
    if not used:
        return ""
    return "Marks: " + "; ".join(f"{SYMBOLS[m]} {MEANINGS[m]}"
                                 for m in used) + "."


@dataclasses.dataclass
class Verdict:
    supported: bool
    ratio: float          # how many times better b is than a (>1: b better)
    p: float              # U test p (nan when it could not run)
    how: str              # the evidence in words


def better_ratio(a, b):
    """How many times better b is than a (lower time or higher rate)."""
    if a.metric == "latency":
        return a.median / b.median
    return b.median / a.median


def compare(a, b, alpha=ALPHA):
    """Is the difference between points a and b supported?"""
    ratio = better_ratio(a, b)
    x = list(a.values) if a.source == "repetitions" else []
    y = list(b.values) if b.source == "repetitions" else []
    if len(x) < 2 or len(y) < 2:
        return Verdict(False, ratio, math.nan,
                       "too few repetitions to test")
    _, p = utest.mann_whitney(x, y)
    apart = max(x) < min(y) or max(y) < min(x)
    test = f"U test p = {p:.2g}, {len(x)}+{len(y)} repetitions"
    if p < alpha:
        return Verdict(True, ratio, p, test)
    if apart and min(len(x), len(y)) >= MIN_RANGE_N and \
            utest.mann_whitney_min_p(len(x), len(y)) >= alpha:
        return Verdict(True, ratio, p, f"ranges do not overlap, "
                       f"{len(x)}+{len(y)} repetitions")
    return Verdict(False, ratio, p, test + (", ranges overlap" if not apart
                                            else ""))
