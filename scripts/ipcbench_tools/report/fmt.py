"""Numbers and units as the report writes them: 3 significant digits,
scaled units (ns, µs, ms, s; B, KiB, MiB; k, M, G), ratios, spreads."""
import math
from pathlib import Path

def fmt_num(value, digits=3):
    """3 significant digits without scientific notation: 9.31, 93.1, 9310."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    value = float(f"{value:.{digits}g}")    # round first: 9.99 -> 10.0 -> 10
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


SECOND_STEPS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
SIZE_STEPS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))
SI_STEPS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
BPS_STEPS = ((1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s"),
             (1.0, "B/s"))


def _step(value, steps, digits=3):
    """The (factor, unit) that shows value with 1-3 digits before the point.
    Decided on the rounded value, so 999.7 ns becomes 1.00 µs."""
    for factor, unit in steps:
        if abs(float(f"{value / factor:.{digits}g}")) >= 1:
            return factor, unit
    return steps[-1]


def _scaled(value, steps, digits, trim):
    factor, unit = _step(value, steps, digits)
    v = value / factor
    text = f"{v:g}" if trim else fmt_num(v, digits)
    return f"{text} {unit}".rstrip()


def fmt_seconds(seconds, digits=3, trim=False):
    return _scaled(seconds, SECOND_STEPS, digits, trim)


def fmt_size(nbytes, trim=True):
    return _scaled(nbytes, SIZE_STEPS, 3, trim)


def fmt_si(value, unit="", digits=3, trim=False):
    text = _scaled(value, SI_STEPS, digits, trim)
    return (text.replace(" ", "") + " " + unit).strip() if unit else \
        text.replace(" ", "")


def fmt_value(point_or_value, metric, digits=3):
    value = getattr(point_or_value, "median", point_or_value)
    if metric == "latency":
        return fmt_seconds(value, digits)
    if metric == "bytes":
        return _bps(value, digits)
    return fmt_si(value, metric, digits)


def _bps(value, digits=3, trim=False):
    return _scaled(value, BPS_STEPS, digits, trim)


def fmt_spread(point):
    if point.n < 2 or point.source == "median aggregate":
        return "-"
    return f"{fmt_value(point.lo, point.metric)} - " \
           f"{fmt_value(point.hi, point.metric)}"


def fmt_ratio(ratio):
    """1.04x, 9.31x, 33.1x, 331x: enough digits to tell a 4% change."""
    return f"{ratio:.2f}x" if ratio < 10 else f"{fmt_num(ratio)}x"


def speedup(a, b):
    """How many times better point b is than point a (>1: b is better)."""
    if a.metric == "latency":
        return a.median / b.median
    return b.median / a.median



def fmt_cell(point):
    """'65.7 µs (63.7-84.1)': median, and the spread in the median's unit."""
    text = fmt_value(point, point.metric)
    if point.n < 2 or point.source == "median aggregate":
        return text
    steps = {"latency": SECOND_STEPS, "bytes": BPS_STEPS}.get(point.metric,
                                                              SI_STEPS)
    factor, _ = _step(point.median, steps)
    lo, hi = (fmt_num(v / factor) for v in (point.lo, point.hi))
    return f"{text} ({lo}-{hi})"



def context_footer(ds):
    c = ds.context
    cpu = c.get("cpu_model") or f"{c.get('num_cpus', '?')} CPUs"
    bits = [f"CPU: {cpu} ({c.get('num_cpus', '?')} vCPU, "
            f"{c.get('mhz_per_cpu', '?')} MHz)"]
    if c.get("kernel"):
        bits.append(f"kernel {c['kernel']}")
    if c.get("date"):
        bits.append(str(c["date"]).replace("T", " ")[:16])
    if c.get("git_commit"):
        bits.append(f"commit {str(c['git_commit'])[:10]}")
    if c.get("build_type"):
        bits.append(f"{c['build_type']} build")
    if c.get("pin"):
        bits.append(f"pin {c['pin']}")
    bits.append(Path(ds.path.split(" + ")[0]).name)
    return " | ".join(bits)
