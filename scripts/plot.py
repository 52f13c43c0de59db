#!/usr/bin/python3
"""Regenerate every ipcbench chart and the report from Google Benchmark JSON.

    scripts/plot.py                          # results/latest.json (+ results/
                                             # pyref.json if present) -> reports/
    scripts/plot.py a.json b.json            # charts of a.json + a-vs-b comparison
    scripts/plot.py --merge cpp.json py.json # pool the files into one data set
    scripts/plot.py results/latest.json --pyref results/pyref.json
                                             # + the seed table (what run.sh does)

Reads Google Benchmark 1.7.1 JSON as described in CONTRACT.md. Where a
benchmark has repetitions, the point is the median of the per-repetition
("iteration") entries and the error bar their min-max (or interquartile,
--spread iqr); without them the "median" aggregate or the single entry is used.
Errored entries are left out with a warning, never plotted as zero.

Writes <name>.png and <name>.svg per chart, index.md and a self-contained
index.html into --out (default reports/). Everything is rendered into a
temporary directory first and moved into place only when all of it worked.

When the inputs include a Python reference run (scripts/pyref.py output:
benchmarks named py-*, given with --pyref or among the files), the report
gains the seed section: each scenario of the `processing` package's 2008
figures (data/processing-2008.json) beside Python today and the C++ figure,
with ratios (the table, chart and notes come from scripts/seed.py). --pyref
only feeds that section; --merge also draws the py-* benchmarks in the charts.

The report is a list of sections (SECTION_BUILDERS): each builder takes a
ReportInput and returns a Section (title, blocks: str paragraphs, Table,
FigureBlock) or None when it has no data. To add a section, write a
function of that shape and append it to SECTION_BUILDERS.
"""
import argparse
import base64
import dataclasses
import html
import importlib.util
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import zlib
from pathlib import Path

PROG = "plot.py"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO / "results" / "latest.json"
DEFAULT_PYREF = REPO / "results" / "pyref.json"   # used when no file is named
DEFAULT_OUT = REPO / "reports"
MANIFEST = ".plot-manifest"
SVG_SALT = "ipcbench"   # fixed SVG element ids: reruns give the same file


def _load_seed():
    """scripts/seed.py as a module, also when plot.py is itself loaded from
    its path (tests) rather than run from scripts/."""
    path = Path(__file__).resolve().with_name("seed.py")
    mod = sys.modules.get("seed")
    if mod is not None and Path(getattr(mod, "__file__", "")).resolve() \
            == path:
        return mod
    spec = importlib.util.spec_from_file_location("seed", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("seed", mod)
    spec.loader.exec_module(mod)
    return mod


seed = _load_seed()

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Name components Google Benchmark appends for run configuration.
RUN_CONFIG = ("real_time", "manual_time", "process_time")
RUN_CONFIG_KEYS = ("iterations", "repeats", "threads", "min_time",
                   "min_warmup_time")

# scenario -> (which positional component is the context, numeric parameter,
#              metric). metric: latency (seconds, lower is better), bytes
#              (bytes/s) or a rate unit such as "lookups/s" (higher is better).
SCENARIOS = {
    "roundtrip": (1, "size", "latency"),
    "throughput": (1, "size", "bytes"),
    "dict": (1, "readers", "lookups/s"),
    "connection": (1, "size", "bytes"),
    "connection-roundtrip": (1, "size", "latency"),
    "connection-setup": (1, None, "connections/s"),
    "floor": (1, "size", "latency"),
    "startup": (0, "rss", "latency"),
}
SCENARIO_TITLES = {
    "roundtrip": "round trip", "throughput": "streaming throughput",
    "dict": "shared dict", "connection": "Listener/Client stream",
    "connection-roundtrip": "Listener/Client round trip",
    "connection-setup": "Listener/Client set-up", "floor": "floor",
    "startup": "start-up",
}

# One fixed colour per transport / family / kind, used by every chart.
COLOURS = {
    "pipe": "#1f77b4", "fifo": "#17becf", "uds": "#2ca02c",
    "uds-seqpacket": "#bcbd22", "tcp": "#d62728", "shm-boost": "#9467bd",
    "shm-ring": "#ff7f0e", "shm-ring-spin": "#b85c00",
    "shm-ring-futex": "#ffbb78", "queue": "#e377c2", "memcpy": "#000000",
    "unix": "#2ca02c", "unix-abstract": "#98df8a",
    "local": "#7f7f7f", "mutex": "#8c564b", "shm": "#ff7f0e",
    "manager-uds": "#2ca02c", "manager-tcp": "#d62728",
    "manager-pipe": "#1f77b4",
    "cacheline": "#ff7f0e", "cacheline-msg": "#ffbb78",
    "cacheline-ring": "#e6550d", "futex": "#8c564b",
    "pipe-raw": "#1f77b4", "uds-raw": "#2ca02c", "fifo-raw": "#17becf",
}
FALLBACK_COLOURS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                    "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
MARKERS = {"pipe": "o", "fifo": "v", "uds": "s", "uds-seqpacket": "D",
           "tcp": "^", "shm-boost": "P", "shm-ring": "*", "queue": "X",
           "unix": "s", "unix-abstract": "D"}
ORDER = ("pipe", "fifo", "uds", "uds-seqpacket", "tcp", "shm-boost",
         "shm-ring", "shm-ring-spin", "shm-ring-futex", "queue",
         "unix", "unix-abstract", "local", "mutex", "shm", "manager-pipe",
         "manager-uds", "manager-tcp", "cacheline", "cacheline-msg",
         "cacheline-ring", "futex", "pipe-raw", "fifo-raw", "uds-raw", "memcpy")
CONTEXT_ORDER = ("thread", "process", "spawn")
# Bars: the colour says the transport, the fill says the context.
CONTEXT_BAR = {"thread": {"alpha": 0.5, "hatch": ""},
               "process": {"alpha": 0.95, "hatch": "//"},
               "spawn": {"alpha": 0.95, "hatch": "xx"}}
READER_COLOURS = ("#9ecae1", "#4292c6", "#08519c", "#08306b", "#041a3d")


class InputError(Exception):
    """Bad input: the message is the one line shown to the user."""


class UsageError(Exception):
    """Bad command line."""


# ---------------------------------------------------------------- loading

@dataclasses.dataclass(frozen=True, order=True)
class Key:
    """What one benchmark measures, parsed from its run_name."""
    scenario: str
    subject: str          # transport, family or kind
    context: str
    param: int = -1       # size / readers / rss; -1 when absent
    extra: str = ""       # any other key:value components, as written

    def label(self):
        parts = [self.subject, self.context]
        if self.param >= 0:
            parts.append(param_text(self))
        if self.extra:
            parts.append(self.extra)
        return " ".join(parts)


@dataclasses.dataclass
class Point:
    """Median and spread of one benchmark's metric."""
    key: Key
    metric: str           # "latency" | "bytes" | "<thing>/s"
    median: float
    lo: float
    hi: float
    n: int
    source: str           # "repetitions" | "median aggregate" | "single run"
    counters: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Dataset:
    path: str
    label: str
    context: dict
    points: dict          # Key -> Point
    warnings: list
    ignored: list         # run names of unknown scenarios
    errored: list = dataclasses.field(default_factory=list)  # (Key, message)
    docs: list = dataclasses.field(default_factory=list)  # (path, document)

    def select(self, scenario, **match):
        out = [p for k, p in self.points.items() if k.scenario == scenario
               and all(getattr(k, a) == v for a, v in match.items())]
        return sorted(out, key=lambda p: sort_key(p.key))


def sort_key(key):
    return (key.scenario, order_index(key.subject, ORDER),
            order_index(key.context, CONTEXT_ORDER), key.param, key.extra)


def order_index(name, order):
    return (order.index(name), "") if name in order else (len(order), name)


def param_text(key):
    name = SCENARIOS.get(key.scenario, (0, None, ""))[1]
    if name == "size":
        return fmt_size(key.param)
    if name == "readers":
        return f"{key.param} reader" + ("s" if key.param != 1 else "")
    if name == "rss":
        return f"RSS {key.param} MiB"
    return str(key.param)


def load_json(path):
    """Read a results file; raise InputError with a one-line reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    if not text.strip():
        raise InputError(f"{path}: empty file, not Google Benchmark JSON")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        what = "truncated JSON" if e.pos >= len(text.rstrip()) else \
            "invalid JSON"
        raise InputError(f"{path}: {what} (line {e.lineno}, column {e.colno}:"
                         f" {e.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: invalid JSON (nested too deeply)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"),
                                                   list):
        raise InputError(f'{path}: not Google Benchmark JSON (no "benchmarks"'
                         ' list)')
    return doc


def parse_name(run_name):
    """run_name -> Key, or None for a scenario this script does not know.

    Raises ValueError when a known scenario's name has the wrong shape."""
    parts = [p for p in run_name.split("/") if p]
    while parts and (parts[-1] in RUN_CONFIG or
                     parts[-1].split(":")[0] in RUN_CONFIG_KEYS):
        parts.pop()
    if not parts or parts[0] not in SCENARIOS:
        return None
    scenario = parts[0]
    ctx_pos, param_name, _ = SCENARIOS[scenario]
    positional = [p for p in parts[1:] if ":" not in p]
    params = [p.split(":", 1) for p in parts[1:] if ":" in p]
    param = -1
    extra = []
    for name, value in params:
        if name == param_name:
            try:
                param = int(value)
            except ValueError:
                raise ValueError(f"{name}:{value} is not a whole number") \
                    from None
            if param < 0:
                raise ValueError(f"{name}:{value} is negative")
        elif name not in RUN_CONFIG_KEYS:
            extra.append(f"{name}:{value}")
    if scenario == "startup" and len(positional) == 1 and param >= 0:
        positional.append("fork")          # startup/process/rss:<MiB>
    if len(positional) != 2:
        raise ValueError("expected <scenario>/<name>/<context>")
    context = positional[ctx_pos]
    subject = positional[1 - ctx_pos]
    return Key(scenario, subject, context, param, "/".join(extra))


def metric_of(key):
    metric = SCENARIOS[key.scenario][2]
    if key.scenario == "floor" and key.subject == "memcpy":
        return "bytes"
    return metric


def entry_value(entry, key, metric):
    """The metric of one entry (seconds or a rate), or raise ValueError."""
    unit = entry.get("time_unit", "ns")
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown time_unit {unit!r}")
    real = entry.get("real_time")
    seconds = real * TIME_UNITS[unit] if isinstance(real, (int, float)) \
        else math.nan
    if metric == "latency":
        value = seconds
    elif metric == "bytes":
        value = entry.get("bytes_per_second")
        if value is None and key.param > 0:
            items = entry.get("items_per_second")
            value = items * key.param if isinstance(items, (int, float)) \
                else key.param / seconds if seconds > 0 else math.nan
    else:
        value = entry.get("items_per_second")
        if value is None:
            value = 1.0 / seconds if seconds > 0 else math.nan
    if not isinstance(value, (int, float)) or isinstance(value, bool) or \
            not math.isfinite(value) or value <= 0:
        raise ValueError(f"no usable value (real_time={real!r}, "
                         f"value={value!r})")
    return float(value)


def spread_of(values, spread):
    if len(values) < 2:
        return values[0], values[0]
    if spread == "iqr":
        q = statistics.quantiles(values, n=4, method="inclusive")
        return q[0], q[2]
    return min(values), max(values)


def parse_results(doc, path, label=None, spread="minmax"):
    """Google Benchmark document -> Dataset. Raises InputError when nothing
    in it can be plotted."""
    groups = {}
    warnings = []
    ignored = []
    bad_names = set()
    for entry in doc["benchmarks"]:
        if not isinstance(entry, dict) or not isinstance(
                entry.get("run_name", entry.get("name")), str):
            warnings.append("skipped an entry that is not a benchmark object")
            continue
        run_name = entry.get("run_name")
        if not isinstance(run_name, str):
            run_name = re.sub(r"_(mean|median|stddev|cv)$", "", entry["name"])
        try:
            key = parse_name(run_name)
        except ValueError as e:
            if run_name not in bad_names:
                warnings.append(f"{run_name}: skipped, bad name: {e}")
                bad_names.add(run_name)
            continue
        if key is None:
            if run_name not in ignored:
                ignored.append(run_name)
            continue
        groups.setdefault(key, (run_name, []))[1].append(entry)
    if not groups:
        raise InputError(f"{path}: no benchmark this script knows (scenarios:"
                         f" {', '.join(SCENARIOS)})")
    points = {}
    errors = []
    errored = []
    for key, (run_name, entries) in groups.items():
        metric = metric_of(key)
        iters = [e for e in entries if e.get("run_type", "iteration")
                 == "iteration"]
        medians = [e for e in entries if e.get("run_type") == "aggregate"
                   and e.get("aggregate_name") == "median"]
        failed = [e for e in iters if e.get("error_occurred")]
        good = [e for e in iters if not e.get("error_occurred")]
        if failed:
            msg = failed[0].get("error_message", "no message")
            what = f"{len(failed)} of {len(iters)} repetitions errored" \
                if good else "errored"
            warnings.append(f"{run_name}: {what}, left out: {msg}")
            errors.append(f"{run_name}: {msg}")
            if not good:
                errored.append((key, msg))
        values, counters = [], {}
        for e in good:
            try:
                values.append(entry_value(e, key, metric))
            except ValueError as err:
                warnings.append(f"{run_name}: repetition left out, {err}")
                continue
            for name, value in e.items():
                if name.endswith("_ns") or name in ("lookups_per_reader",
                                                    "cpu_ns_per_msg"):
                    if isinstance(value, (int, float)) and \
                            math.isfinite(value):
                        counters.setdefault(name, []).append(float(value))
        source = "repetitions" if len(values) > 1 else "single run"
        if not values and medians and not failed:
            try:
                values = [entry_value(medians[0], key, metric)]
                source = "median aggregate"
            except ValueError as err:
                warnings.append(f"{run_name}: median left out, {err}")
        if not values:
            continue
        lo, hi = spread_of(values, spread)
        n = len(values) if source != "median aggregate" else \
            int(medians[0].get("repetitions", 1) or 1)
        points[key] = Point(key, metric, statistics.median(values), lo, hi, n,
                            source, {k: statistics.median(v)
                                     for k, v in counters.items()})
    if not points:
        first = errors[0] if errors else "no usable values"
        raise InputError(f"{path}: every benchmark errored (first: {first})")
    context = doc.get("context") if isinstance(doc.get("context"), dict) \
        else {}
    return Dataset(str(path), label or default_label(path, context), context,
                   points, warnings, ignored, errored, [(str(path), doc)])


def default_label(path, context):
    commit = str(context.get("git_commit", ""))[:10]
    stem = Path(path).stem
    return f"{stem} ({commit})" if commit else stem


def merge_datasets(datasets):
    """Pool several data sets; a benchmark present twice keeps the last."""
    first = datasets[0]
    points, warnings = {}, []
    for ds in datasets:
        for key, point in ds.points.items():
            if key in points:
                warnings.append(f"{key.scenario}/{key.label()}: in several "
                                f"files, using {ds.path}")
            points[key] = point
    return Dataset(" + ".join(d.path for d in datasets),
                   " + ".join(d.label for d in datasets), first.context,
                   points, warnings, [], [e for d in datasets
                                          for e in d.errored],
                   [doc for d in datasets for doc in d.docs])


def display_path(path):
    """How the report names an input: relative to the repository when it
    lies inside it (so a committed report holds no absolute paths)."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except (ValueError, OSError):
        return str(path)


# ------------------------------------------------------------ formatting

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


def colour_of(name):
    base = name[3:] if name.startswith("py-") else name
    if base in COLOURS:
        return COLOURS[base]
    return FALLBACK_COLOURS[zlib.crc32(base.encode()) % len(FALLBACK_COLOURS)]


def marker_of(name):
    return MARKERS.get(name[3:] if name.startswith("py-") else name, "o")


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


# ------------------------------------------------------------ chart helpers

def nice_log_ticks(lo, hi, max_ticks=8):
    """Tick positions for a log axis from lo to hi: decades on a long axis,
    1-3, 1-2-5 or finer steps on a short one; at most about 8 ticks."""
    lo, hi = min(lo, hi), max(lo, hi)
    span = math.log10(hi / lo) if lo > 0 else 0
    fine = (1, 1.5, 2, 3, 5, 7)
    mults = (1,) if span > 4 else (1, 3) if span > 1.5 else \
        (1, 2, 5) if span > 0.7 else fine

    def between(ms):
        return [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1,
                                             math.ceil(math.log10(hi)) + 1)
                for m in ms if lo <= m * 10.0 ** e <= hi]
    ticks = between(mults)
    if len(ticks) < 2:
        ticks = between(fine)
    step = math.ceil(len(ticks) / max_ticks)
    return ticks[::step]


def set_log_axis(ax, axis, values, formatter, pad=1.5, max_ticks=8):
    """Log scale with labelled ticks chosen for the data range."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
    lo, hi = min(values) / pad, max(values) * pad
    ticks = nice_log_ticks(lo, hi, max_ticks)
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}lim")(lo, hi)
    a = getattr(ax, f"{axis}axis")
    a.set_major_locator(FixedLocator(ticks))
    a.set_major_formatter(FuncFormatter(lambda v, _: formatter(v)))
    a.set_minor_formatter(NullFormatter())


def size_axis(ax, sizes):
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    ax.set_xscale("log", base=2)
    ax.set_xlim(min(sizes) / 1.6, max(sizes) * 1.6)
    sizes = sorted(set(sizes))
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_size(v)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("message size")


def tick_seconds(v):
    return fmt_seconds(v, trim=True)


def tick_bps(v):
    return _bps(v, trim=True)


def tick_si(v):
    return fmt_si(v, trim=True)


def new_figure(width, height, ncols=1, sharey=False):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, sharey=sharey, squeeze=False)[0]
    return fig, list(axes)


def finish(fig, axes, title, ds, handles=None, labels=None, legend_title=None,
           legend_ax=None):
    """Title, one legend outside the last axes (or inside legend_ax, an
    empty grid cell), and the context footer (ds: one Dataset or a list)."""
    fig.suptitle(title, fontsize=13, fontweight="bold")
    for ax in axes:     # after the axes are set up: set_xscale resets grids
        ax.grid(True, which="major", color="#b0b0b0", alpha=0.35,
                linewidth=0.8)
        ax.grid(False, which="minor")
        ax.set_axisbelow(True)
    if handles and legend_ax is not None:
        legend_ax.legend(handles, labels, loc="center", frameon=False,
                         title=legend_title, fontsize=10)
    elif handles:
        axes[-1].legend(handles, labels, loc="upper left",
                        bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                        frameon=False, title=legend_title, fontsize=9)
    fig.get_layout_engine().set(w_pad=0.12, h_pad=0.1)   # inches of margin
    several = isinstance(ds, list)
    footer = "\n".join(f"{d.label}: {context_footer(d)}" for d in ds) \
        if several else context_footer(ds)
    fig.supxlabel(footer, fontsize=7, color="#555555")
    return fig


def collect_legend(axes):
    seen = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen.keys())


def errbar_args(points):
    med = [p.median for p in points]
    yerr = [[max(0.0, p.median - p.lo) for p in points],
            [max(0.0, p.hi - p.median) for p in points]]
    return med, yerr


def line_panel(ax, points_by_subject, metric):
    """One line with error bars per subject against message size."""
    for subject, pts in points_by_subject.items():
        pts = sorted(pts, key=lambda p: p.key.param)
        med, yerr = errbar_args(pts)
        dashed = subject == "memcpy"
        py = subject.startswith("py-")
        ax.errorbar([p.key.param for p in pts], med, yerr=yerr,
                    label=subject + (" (bound)" if dashed else ""),
                    color=colour_of(subject), marker=None if dashed else
                    marker_of(subject), markersize=6,
                    markerfacecolor="white" if py else None,
                    linestyle="--" if dashed else ":" if py else "-",
                    linewidth=1.6, capsize=3, elinewidth=1)


def by_subject(points):
    out = {}
    for p in sorted(points, key=lambda p: sort_key(p.key)):
        out.setdefault(p.key.subject, []).append(p)
    return out


def contexts_of(points):
    ctxs = {p.key.context for p in points}
    return sorted(ctxs, key=lambda c: order_index(c, CONTEXT_ORDER))


def grouped_bars(ax, groups, members, get, colour, style, fmt):
    """Bars for groups (x) x members (side by side); get(g, m) -> Point|None.

    Returns handles for a legend of members."""
    width = 0.8 / max(1, len(members))
    handles = {}
    for gi, g in enumerate(groups):
        for mi, m in enumerate(members):
            p = get(g, m)
            if p is None:
                continue
            x = gi - 0.4 + width * (mi + 0.5)
            st = style(g, m)
            bar = ax.bar(x, p.median, width * 0.92, color=colour(g, m),
                         alpha=st.get("alpha", 1.0), hatch=st.get("hatch"),
                         edgecolor="#333333", linewidth=0.6,
                         yerr=[[p.median - p.lo], [p.hi - p.median]],
                         capsize=3, error_kw={"elinewidth": 1})
            ax.annotate(fmt(p.median), (x, p.hi), xytext=(0, 6),
                        textcoords="offset points", ha="center",
                        va="bottom", fontsize=7, rotation=90)
            handles.setdefault(m, bar)
    ax.set_xticks(range(len(groups)))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    return handles


def context_legend(contexts):
    from matplotlib.patches import Patch
    return [Patch(facecolor="#888888", edgecolor="#333333",
                  alpha=CONTEXT_BAR.get(c, {}).get("alpha", 1.0),
                  hatch=CONTEXT_BAR.get(c, {}).get("hatch", "..")) for c in
            contexts]


def bar_log_axis(ax, points, formatter):
    """Log y axis for bars, with head room for the rotated value labels."""
    values = [p.lo for p in points] + [p.hi for p in points]
    set_log_axis(ax, "y", values, formatter, pad=1.6)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * (hi / lo) ** 0.12)


# ------------------------------------------------------------ the charts

def plot_roundtrip(ds, scenario="roundtrip", title=None):
    """Latency per round trip against size, one panel per context."""
    pts = ds.select(scenario)
    if not pts:
        return None
    ctxs = contexts_of(pts)
    fig, axes = new_figure(4.6 * len(ctxs) + 1.6, 4.8, len(ctxs), sharey=True)
    for ax, ctx in zip(axes, ctxs):
        line_panel(ax, by_subject(p for p in pts if p.key.context == ctx),
                   "latency")
        size_axis(ax, [p.key.param for p in pts])
        ax.set_title(f"{ctx} context")
    set_log_axis(axes[0], "y", [p.lo for p in pts] + [p.hi for p in pts],
                 tick_seconds)
    axes[0].set_ylabel("round-trip latency (per round trip, log)")
    h, lab = collect_legend(axes)
    return finish(fig, axes, title or "Round-trip latency vs message size "
                  "(median, bars: spread; lower is better)", ds, h, lab,
                  "transport")


def pick_size(sizes, wanted):
    return min(sizes, key=lambda s: (abs(math.log(s / wanted)), s)) \
        if wanted > 0 else min(sizes)


def plot_processing(ds, size):
    """Threads vs processes per transport at one size, grouped bars."""
    pts = [p for p in ds.select("roundtrip") if p.key.param == size]
    if not pts:
        return None
    ctxs = contexts_of(pts)
    subjects = list(by_subject(pts))
    index = {(p.key.subject, p.key.context): p for p in pts}
    fig, axes = new_figure(max(7.0, 1.0 * len(subjects) + 3), 5.0)
    ax = axes[0]
    grouped_bars(ax, subjects, ctxs, lambda g, m: index.get((g, m)),
                 lambda g, m: colour_of(g),
                 lambda g, m: CONTEXT_BAR.get(m, {"hatch": ".."}),
                 lambda v: fmt_seconds(v, 2))
    labels = []
    for s in subjects:
        t, p = index.get((s, "thread")), index.get((s, "process"))
        ratio = f"\nprocess/thread\n{fmt_ratio(p.median / t.median)}" \
            if t and p else ""
        labels.append(s + ratio)
    ax.set_xticklabels(labels, fontsize=8)
    bar_log_axis(ax, pts, tick_seconds)
    ax.set_ylabel("round-trip latency (log)")
    return finish(fig, axes, f"Threads vs processes: round trip of "
                  f"{fmt_size(size)} per transport (lower is better)", ds,
                  context_legend(ctxs), ctxs, "context")


def plot_throughput(ds, scenario="throughput", title=None, legend="transport"):
    """Streaming bytes/s against size per transport; memcpy as the bound."""
    pts = ds.select(scenario)
    bound = [p for p in pts if p.key.subject == "memcpy"]
    body = [p for p in pts if p.key.subject != "memcpy"]
    if not body:
        return None
    ctxs = contexts_of(body)
    fig, axes = new_figure(4.6 * len(ctxs) + 1.6, 4.8, len(ctxs), sharey=True)
    for ax, ctx in zip(axes, ctxs):
        groups = by_subject(p for p in body if p.key.context == ctx)
        if bound:
            groups["memcpy"] = bound
        line_panel(ax, groups, "bytes")
        size_axis(ax, [p.key.param for p in pts])
        ax.set_title(f"{ctx} context")
    set_log_axis(axes[0], "y", [p.lo for p in pts] + [p.hi for p in pts],
                 tick_bps)
    axes[0].set_ylabel("throughput (bytes/s, log)")
    h, lab = collect_legend(axes)
    return finish(fig, axes, title or "Streaming throughput vs message size "
                  "(higher is better)", ds, h, lab, legend)


def plot_dict(ds):
    """Shared-dict lookups/s per kind, bars per reader count, log scale."""
    pts = ds.select("dict")
    if not pts:
        return None
    groups = []
    for p in pts:
        g = (p.key.subject, p.key.context)
        if g not in groups:
            groups.append(g)
    readers = sorted({p.key.param for p in pts})
    index = {(p.key.subject, p.key.context, p.key.param): p for p in pts}
    fig, axes = new_figure(max(7.0, 1.1 * len(groups) + 3), 5.0)
    ax = axes[0]
    handles = grouped_bars(
        ax, groups, readers, lambda g, r: index.get((g[0], g[1], r)),
        lambda g, r: READER_COLOURS[readers.index(r) % len(READER_COLOURS)],
        lambda g, r: {}, lambda v: fmt_si(v, digits=2))
    ax.set_xticklabels([f"{k}\n({c})" for k, c in groups], fontsize=8)
    bar_log_axis(ax, pts, tick_si)
    ax.set_ylabel("lookups/s, all readers together (log)")
    return finish(fig, axes, "Shared dict: lookups per second by kind and "
                  "number of readers (higher is better)", ds,
                  list(handles.values()),
                  [f"{r} reader" + ("s" if r != 1 else "") for r in handles],
                  "readers")


def plot_connection_setup(ds):
    """Listener/Client: connections/s and the 64 B round trip per family."""
    panels = [(s, ds.select(s)) for s in ("connection-setup",
                                          "connection-roundtrip")]
    panels = [(s, pts) for s, pts in panels if pts]
    if not panels:
        return None
    ctxs = sorted({p.key.context for _, pts in panels for p in pts},
                  key=lambda c: order_index(c, CONTEXT_ORDER))
    fig, axes = new_figure(4.4 * len(panels) + 1.6, 4.8, len(panels))
    for ax, (scenario, pts) in zip(axes, panels):
        fams = list(by_subject(pts))
        index = {(p.key.subject, p.key.context): p for p in pts}
        latency = scenario == "connection-roundtrip"
        fmt = (lambda v: fmt_seconds(v, 2)) if latency else \
            (lambda v: fmt_si(v, digits=2))
        grouped_bars(ax, fams, ctxs, lambda g, m: index.get((g, m)),
                     lambda g, m: colour_of(g),
                     lambda g, m: CONTEXT_BAR.get(m, {"hatch": ".."}), fmt)
        ax.set_xticklabels(fams)
        bar_log_axis(ax, pts, tick_seconds if latency else tick_si)
        if latency:
            sizes = sorted({p.key.param for p in pts})
            ax.set_title("round trip of " + ", ".join(map(fmt_size, sizes))
                         + " (lower is better)", fontsize=10)
            ax.set_ylabel("round-trip latency (log)")
        else:
            ax.set_title("connect + accept + close (higher is better)",
                         fontsize=10)
            ax.set_ylabel("connections/s (log)")
    return finish(fig, axes, "Listener/Client: connection set-up and "
                  "round trip per address family", ds,
                  context_legend(ctxs), ctxs, "context")


def plot_floor(ds):
    """The floor: raw round trips per kind, and memcpy bandwidth."""
    pts = [p for p in ds.select("floor") if p.metric == "latency"]
    if not pts:
        return None
    ctxs = contexts_of(pts)
    kinds = list(by_subject(pts))
    index = {(p.key.subject, p.key.context): p for p in pts}
    fig, axes = new_figure(max(6.5, 1.1 * len(kinds) + 3), 4.8)
    ax = axes[0]
    grouped_bars(ax, kinds, ctxs, lambda g, m: index.get((g, m)),
                 lambda g, m: colour_of(g),
                 lambda g, m: CONTEXT_BAR.get(m, {"hatch": ".."}),
                 lambda v: fmt_seconds(v, 2))
    ax.set_xticklabels(kinds)
    bar_log_axis(ax, pts, tick_seconds)
    ax.set_ylabel("round-trip latency (log)")
    return finish(fig, axes, "The floor: smallest possible round trip per "
                  "mechanism (lower is better)", ds, context_legend(ctxs),
                  ctxs, "context")


RSS_LINE = {"process": "#444444", "spawn": "#dd8452"}


def plot_startup(ds):
    """Start-up cost per context/transport, and fork cost against RSS."""
    pts = ds.select("startup")
    plain = [p for p in pts if p.key.param < 0]
    rss = [p for p in pts if p.key.param >= 0]
    if not pts:
        return None
    ncols = (1 if plain else 0) + (1 if rss else 0)
    fig, axes = new_figure(5.0 * ncols + 1.6, 4.8, ncols)
    handles, labels = None, None
    if plain:
        ax = axes[0]
        ctxs = contexts_of(plain)
        trs = list(by_subject(plain))
        index = {(p.key.subject, p.key.context): p for p in plain}
        grouped_bars(ax, trs, ctxs, lambda g, m: index.get((g, m)),
                     lambda g, m: colour_of(g),
                     lambda g, m: CONTEXT_BAR.get(m, {"hatch": ".."}),
                     lambda v: fmt_seconds(v, 2))
        ax.set_xticklabels(trs)
        bar_log_axis(ax, plain, tick_seconds)
        ax.set_ylabel("time to start a peer and connect (log)")
        ax.set_title("per transport (lower is better)", fontsize=10)
        handles, labels = context_legend(ctxs), ctxs
    if rss:
        ax = axes[-1]
        # One line per context: fork (process) grows with the parent, spawn should not.
        rss_ctxs = contexts_of(rss)
        for ctx in rss_ctxs:
            line = sorted((p for p in rss if p.key.context == ctx),
                          key=lambda p: p.key.param)
            med, yerr = errbar_args(line)
            ax.errorbar([p.key.param for p in line], med, yerr=yerr, marker="o",
                        color=RSS_LINE.get(ctx, "#888888"),
                        linestyle="-" if ctx == "process" else "--", capsize=3,
                        label=ctx)
        if len(rss_ctxs) > 1:   # kept as an artist: finish() puts its own legend here
            ax.add_artist(ax.legend(fontsize=8, loc="upper left"))
        ax.set_xlabel("parent RSS (MiB)")
        ax.set_ylabel("time to start a process")
        ax.set_ylim(0, max(p.hi for p in rss) * 1.15)
        from matplotlib.ticker import FuncFormatter
        ax.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: tick_seconds(v) if v > 0 else "0"))
        ax.set_title(" and ".join(rss_ctxs) + " start-up vs parent memory",
                     fontsize=10)
    return finish(fig, axes, "Start-up: cost of creating the peer", ds,
                  handles, labels, "context" if handles else None)


COMPARE_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2")


def compare_panel(ax, datasets, keys, rows, metric):
    """Horizontal bars per row (one per file) with each ratio to file 0."""
    base = datasets[0]
    nfiles = len(datasets)
    height = 0.8 / nfiles
    values = []
    for ri, key in enumerate(keys):
        if key is None:
            ax.annotate("no data (errored or not run)", (0.01, ri),
                        xycoords=("axes fraction", "data"), va="center",
                        fontsize=7, color="#777777")
    for fi, ds in enumerate(datasets):
        ys, meds, errs = [], [], [[], []]
        for ri, key in enumerate(keys):
            p = ds.points.get(key) if key else None
            if p is None:
                continue
            y = ri - 0.4 + height * (fi + 0.5)
            ys.append(y)
            meds.append(p.median)
            errs[0].append(p.median - p.lo)
            errs[1].append(p.hi - p.median)
            values += [p.lo, p.hi]
            if fi > 0:
                b = base.points[key]
                r = speedup(b, p)
                text = f"{fmt_ratio(r)} faster" if r >= 1 else \
                    f"{fmt_ratio(1 / r)} slower"
                # Colour only a difference the spreads do not explain.
                apart = p.lo > b.hi or p.hi < b.lo
                ax.annotate(text, (p.hi, y), xytext=(4, 0),
                            textcoords="offset points", va="center",
                            fontsize=7, color="#555555" if not apart else
                            "#1a7f37" if r > 1 else "#b42318")
        ax.barh(ys, meds, height * 0.9, xerr=errs, capsize=2,
                color=COMPARE_COLOURS[fi % len(COMPARE_COLOURS)],
                label=ds.label, error_kw={"elinewidth": 0.8})
    formatter = {"latency": tick_seconds, "bytes": tick_bps}.get(metric,
                                                                 tick_si)
    set_log_axis(ax, "x", values, formatter, pad=1.3, max_ticks=5)
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo, hi * (hi / lo) ** 0.25)     # room for the ratio text
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel({"latency": "time (lower is better), log",
                   "bytes": "bytes/s (higher is better), log"}.get(
                       metric, f"{metric} (higher is better), log"),
                  fontsize=9)


def plot_compare(datasets, scenario, keys):
    """Side-by-side bars of the same benchmarks from several files, each
    later file's ratio to the first annotated. Many rows with several sizes
    become one panel per size."""
    from matplotlib.figure import Figure
    base = datasets[0]
    metric = base.points[keys[0]].metric
    params = sorted({k.param for k in keys})
    per_row = 0.12 + 0.13 * len(datasets)
    if len(params) > 1 and len(keys) > 12:
        rows = []
        for k in keys:
            r = (k.subject, k.context, k.extra)
            if r not in rows:
                rows.append(r)
        index = {(k.subject, k.context, k.extra, k.param): k for k in keys}
        ncols = 2
        nrows = math.ceil(len(params) / ncols)
        fig = Figure(figsize=(13.0, 1.2 + nrows * (0.9 + len(rows) *
                                                   per_row)),
                     layout="constrained")
        axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
        for ax, q in zip(axes, params):
            compare_panel(ax, datasets, [index.get(r + (q,)) for r in rows],
                          [" ".join(x for x in r if x) for r in rows], metric)
            ax.set_title(param_text(Key(scenario, "", "", q)), fontsize=10)
        spare = axes[len(params):]
        for ax in spare:
            ax.axis("off")
        legend_ax = spare[0] if spare else None
        # no spare cell: the legend goes right of the top-right panel
        axes = axes[:len(params)] if spare else axes[:ncols]
    else:
        fig = Figure(figsize=(10.0, 1.6 + len(keys) * per_row),
                     layout="constrained")
        axes = [fig.subplots()]
        legend_ax = None
        compare_panel(axes[0], datasets, keys, [k.label() for k in keys],
                      metric)
    h, lab = axes[0].get_legend_handles_labels()
    finish(fig, axes, f"Comparison: {SCENARIO_TITLES[scenario]} "
           f"({' vs '.join(d.label for d in datasets)})", datasets, h, lab,
           "file", legend_ax)
    for ax in fig.axes:     # finish() gridded only the axes it was given
        if ax.axison:
            ax.grid(True, which="major", color="#b0b0b0", alpha=0.35,
                    linewidth=0.8)
    return fig


# ------------------------------------------------------------ the report

@dataclasses.dataclass
class Table:
    headers: list
    rows: list            # cells are str; "\n" breaks a line inside a cell
    caption: str = ""
    align: list = None    # "left" | "right" per column (default: left)


@dataclasses.dataclass
class FigureBlock:
    name: str             # file stem, e.g. "roundtrip_latency"
    figure: object        # matplotlib Figure
    caption: str


@dataclasses.dataclass
class Section:
    title: str
    blocks: list          # of str (a paragraph of Markdown), Table, FigureBlock


@dataclasses.dataclass
class ReportInput:
    data: Dataset         # what the single-run charts show
    datasets: list        # every file given, in order (for comparisons)
    size: int             # --size
    notes: list           # "skipped ..." messages for stdout
    pyref: list = dataclasses.field(default_factory=list)  # (path, doc)


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


def point_table(points, param_header="size", counter=None):
    """Rows: subject and context; columns: the parameter (size, readers).

    counter: show that per-repetition counter's median instead of the
    metric (e.g. "p99_ns")."""
    params = sorted({p.key.param for p in points})
    rows = {}
    for p in points:
        rows.setdefault((p.key.subject, p.key.context, p.key.extra), {})[
            p.key.param] = p
    headers = ["benchmark", "context"] + (
        [param_text(Key(points[0].key.scenario, "", "", q)) for q in params]
        if params != [-1] else ["median (min-max)"])
    out = []
    for (subject, context, extra), cells in rows.items():
        row = [subject + (f" {extra}" if extra else ""), context]
        for q in params:
            p = cells.get(q)
            if p is None:
                row.append("-")
            elif counter:
                v = p.counters.get(counter)
                row.append(fmt_seconds(v * 1e-9) if v else "-")
            else:
                row.append(fmt_cell(p))
        out.append(row)
    ns = sorted({p.n for p in points})
    what = f"{counter[:-3]} latency (median over repetitions)" if counter \
        else "Median (min-max over repetitions)" if ns != [1] else "Value"
    if params != [-1]:
        what += f" by {param_header}"
    return Table(headers, out,
                 f"{what}; n = {', '.join(map(str, ns))} per cell.")


def errored_note(ds, scenario):
    bad = [(k, m) for k, m in ds.errored if k.scenario == scenario]
    if not bad:
        return []
    return ["Left out because they errored: " + "; ".join(
        f"`{k.subject} {k.context}" + (f" {param_text(k)}`"
                                       if k.param >= 0 else "`") +
        f" ({m})" for k, m in bad) + "."]


def spread_note(points):
    srcs = {p.source for p in points}
    if srcs == {"repetitions"}:
        return "Median of the repetitions; error bars and spread: " \
               "min-max (or interquartile range with --spread iqr)."
    return "Median of the repetitions where present, else the median " \
           "aggregate or the single run (no spread)."


def extremes_sentence(pts, what, where):
    """'<best> ... is Nx faster than <worst> ...' for comparable points."""
    if len(pts) < 2:
        return None
    best = max(pts, key=lambda p: speedup(pts[0], p))
    worst = min(pts, key=lambda p: speedup(pts[0], p))
    r = speedup(worst, best)
    return (f"{best.key.subject} {what} is {fmt_ratio(r)} "
            f"{'faster' if best.metric == 'latency' else 'higher'} than "
            f"{worst.key.subject} {where}: {fmt_value(best, best.metric)} vs "
            f"{fmt_value(worst, worst.metric)}.")


def section_context(inp):
    ds = inp.data
    c = ds.context
    fields = [("CPU", c.get("cpu_model")), ("CPUs", c.get("num_cpus")),
              ("MHz per CPU", c.get("mhz_per_cpu")),
              ("kernel", c.get("kernel")), ("compiler", c.get("compiler")),
              ("build type", c.get("build_type")),
              ("benchmark library build", c.get("library_build_type")),
              ("git commit", c.get("git_commit")), ("pinning", c.get("pin")),
              ("host", c.get("host_name")), ("date", c.get("date")),
              ("load average", ", ".join(map(str, c.get("load_avg", [])))
               or None),
              ("result schema", c.get("ipcbench_schema")),
              ("source", ds.path)] + [
                  ("Python reference run", path) for path, _ in inp.pyref]
    known = {"cpu_model", "num_cpus", "mhz_per_cpu", "kernel", "compiler",
             "build_type", "library_build_type", "git_commit", "pin",
             "host_name", "date", "load_avg", "ipcbench_schema", "caches",
             "executable", "cpu_scaling_enabled"}
    fields += [(k, v) for k, v in c.items() if k not in known and
               isinstance(v, (str, int, float, bool))]
    fields += [("executable", c.get("executable")),
               ("CPU frequency scaling", c.get("cpu_scaling_enabled"))]
    rows = [[k, str(v)] for k, v in fields if v not in (None, "")]
    blocks = [Table(["", "value"], rows)]
    for other in inp.datasets[1:]:
        if other is not ds and other.path not in ds.path:
            blocks.append(f"Compared with `{other.path}`: "
                          f"{context_footer(other)}.")
    return Section("Machine", blocks)


def section_roundtrip(inp):
    ds = inp.data
    fig = plot_roundtrip(ds)
    if fig is None:
        inp.notes.append("skipped: round-trip latency chart (no roundtrip "
                         "benchmarks)")
        return None
    pts = ds.select("roundtrip")
    size = pick_size(sorted({p.key.param for p in pts}), inp.size)
    lines = []
    for ctx in contexts_of(pts):
        s = extremes_sentence([p for p in pts if p.key.param == size and
                               p.key.context == ctx and not
                               p.key.subject.startswith("py-")],
                              "round trip", f"at {fmt_size(size)} in the "
                              f"{ctx} context")
        if s:
            lines.append("- " + s)
    caption = ("Round-trip latency (one message there and back, in "
               "microseconds on a log scale) against message size, one line "
               "per transport, one panel per context. " + spread_note(pts))
    blocks = [FigureBlock("roundtrip_latency", fig, caption)]
    blocks += ["\n".join(lines)] if lines else []
    blocks += errored_note(ds, "roundtrip") + [point_table(pts)]
    if any("p99_ns" in p.counters for p in pts):
        blocks.append(point_table(pts, counter="p99_ns"))
    return Section("Round-trip latency", blocks)


def section_processing(inp):
    ds = inp.data
    pts = ds.select("roundtrip")
    if not pts:
        inp.notes.append("skipped: threads-vs-processes chart (no roundtrip "
                         "benchmarks)")
        return None
    sizes = sorted({p.key.param for p in pts})
    size = pick_size(sizes, inp.size)
    if size != inp.size:
        inp.notes.append(f"note: no round trip at {fmt_size(inp.size)}; the "
                         f"threads-vs-processes chart uses {fmt_size(size)}")
    fig = plot_processing(ds, size)
    at = [p for p in pts if p.key.param == size]
    index = {(p.key.subject, p.key.context): p for p in at}
    rows, ratios = [], []
    for subject in by_subject(at):
        t, p = index.get((subject, "thread")), index.get((subject, "process"))
        ratio = p.median / t.median if t and p else None
        if ratio:
            ratios.append((ratio, subject))
        rows.append([subject, fmt_value(t, "latency") if t else "-",
                     fmt_value(p, "latency") if p else "-",
                     f"{ratio:.2f}x" if ratio else "-"])
    text = []
    if ratios:
        hi, lo = max(ratios), min(ratios)
        text.append(f"At {fmt_size(size)}, a process round trip costs "
                    f"{lo[0]:.2f}x ({lo[1]}) to {hi[0]:.2f}x ({hi[1]}) the "
                    "thread round trip of the same transport.")
    caption = (f"Round-trip latency at {fmt_size(size)} for each transport "
               "between two threads (light) and two processes (hatched): the "
               "`processing` question of what moving to processes costs. "
               "Under each transport: process latency / thread latency.")
    return Section("Threads vs processes", [FigureBlock(
        "threads_vs_processes", fig, caption)] + text + [Table(
            ["transport", "thread", "process", "process / thread"], rows)])


def section_throughput(inp):
    ds = inp.data
    fig = plot_throughput(ds)
    if fig is None:
        inp.notes.append("skipped: throughput chart (no throughput "
                         "benchmarks)")
        return None
    pts = ds.select("throughput")
    body = [p for p in pts if p.key.subject != "memcpy"]
    bound = {p.key.param: p for p in pts if p.key.subject == "memcpy"}
    lines = []
    for ctx in contexts_of(body):
        here = [p for p in body if p.key.context == ctx]
        size = max(p.key.param for p in here)
        top = [p for p in here if p.key.param == size]
        best = max(top, key=lambda p: p.median)
        s = (f"- At {fmt_size(size)} ({ctx} context) {best.key.subject} "
             f"streams {fmt_value(best, 'bytes')}")
        if size in bound:
            s += (f", {100 * best.median / bound[size].median:.0f}% of the "
                  f"memcpy bound ({fmt_value(bound[size], 'bytes')})")
        worst = min(top, key=lambda p: p.median)
        if worst is not best:
            s += (f"; {worst.key.subject} is slowest at "
                  f"{fmt_value(worst, 'bytes')}")
        lines.append(s + ".")
    caption = ("Streaming throughput (bytes per second, log scale) of one "
               "sender to one receiver against message size, per transport; "
               "the dashed line is memcpy in one thread, the upper bound. "
               + spread_note(pts))
    return Section("Streaming throughput", [
        FigureBlock("throughput", fig, caption), "\n".join(lines)] +
        errored_note(ds, "throughput") + [point_table(pts)])


def section_dict(inp):
    ds = inp.data
    fig = plot_dict(ds)
    if fig is None:
        inp.notes.append("skipped: shared-dict chart (no dict benchmarks)")
        return None
    pts = ds.select("dict")
    lines = []
    one = [p for p in pts if p.key.param == min(q.key.param for q in pts)]
    if len(one) >= 2:
        best = max(one, key=lambda p: p.median)
        worst = min(one, key=lambda p: p.median)
        lines.append(f"With {param_text(best.key)}, {best.key.subject} "
                     f"({best.key.context}) does {fmt_value(best, best.metric)}"
                     f", {fmt_ratio(best.median / worst.median)} the rate of "
                     f"{worst.key.subject} ({worst.key.context}), "
                     f"{fmt_value(worst, worst.metric)}.")
    caption = ("Lookups per second in a shared dictionary, all readers "
               "together, per kind (a plain map, a mutex-guarded map, shared "
               "memory, manager processes over each transport) and number of "
               "readers; the log scale lets a local map and a manager dict "
               "share one chart. " + spread_note(pts))
    return Section("Shared dict", [FigureBlock("dict_lookups", fig, caption)]
                   + lines + errored_note(ds, "dict") +
                   [point_table(pts, "readers")])


def section_connection(inp):
    ds = inp.data
    blocks = []
    fig = plot_throughput(ds, "connection", "Listener/Client: streaming "
                          "throughput per address family (higher is better)",
                          legend="family")
    stream = ds.select("connection")
    lines = []
    if fig is not None:
        blocks.append(FigureBlock(
            "connection_throughput", fig,
            "Throughput of a stream over a Listener/Client connection "
            "(bytes/s, log scale) against message size, per address family. "
            + spread_note(stream)))
        size = max(p.key.param for p in stream)
        for ctx in contexts_of(stream):
            s = extremes_sentence([p for p in stream if p.key.param == size
                                   and p.key.context == ctx], "throughput",
                                  f"at {fmt_size(size)} in the {ctx} "
                                  "context")
            if s:
                lines.append("- " + s)
        blocks.append("\n".join(lines))
        lines = []
        blocks += errored_note(ds, "connection") + [point_table(stream)]
    else:
        inp.notes.append("skipped: Listener/Client throughput chart (no "
                         "connection benchmarks)")
    fig = plot_connection_setup(ds)
    if fig is not None:
        setup = ds.select("connection-setup")
        rt = ds.select("connection-roundtrip")
        blocks.append(FigureBlock(
            "connection_setup", fig,
            "Connections set up per second (connect, accept, close) and the "
            "small-message round trip over an established connection, per "
            "address family and context. " + spread_note(setup + rt)))
        for pts, what in ((setup, "set-up rate"), (rt, "round trip")):
            for ctx in contexts_of(pts):
                s = extremes_sentence([p for p in pts if p.key.context == ctx],
                                      what, f"in the {ctx} context")
                if s:
                    lines.append("- " + s)
        blocks.append("\n".join(lines))
        for scenario, pts in (("connection-setup", setup),
                              ("connection-roundtrip", rt)):
            if pts:
                blocks += errored_note(ds, scenario)
                t = point_table(pts)
                t.caption = SCENARIO_TITLES[scenario] + ". " + t.caption
                blocks.append(t)
    else:
        inp.notes.append("skipped: Listener/Client set-up chart (no "
                         "connection-setup or connection-roundtrip "
                         "benchmarks)")
    return Section("Listener/Client connections", blocks) if blocks else None


def section_floor(inp):
    ds = inp.data
    pts = ds.select("floor")
    if not pts:
        return None     # a later scenario: say nothing while it is absent
    blocks = []
    fig = plot_floor(ds)
    if fig is not None:
        blocks.append(FigureBlock(
            "floor", fig, "The cheapest round trip each mechanism allows "
            "(a cache line bounced between cores, a futex wake, raw pipe and "
            "socket calls), the floor under every transport. "
            + spread_note(pts)))
    return Section("The floor", blocks + errored_note(ds, "floor") +
                   [point_table([p for p in pts if p.metric == m])
                    for m in ("latency", "bytes")
                    if any(p.metric == m for p in pts)])


def section_startup(inp):
    ds = inp.data
    pts = ds.select("startup")
    if not pts:
        return None
    caption = ("Time to create the peer (thread, forked process, spawned "
               "process) and connect it, and how a fork's cost grows with the "
               "parent's memory. " + spread_note(pts))
    return Section("Start-up", [FigureBlock("startup", plot_startup(ds),
                                            caption),
                                point_table([p for p in pts
                                             if p.key.param < 0]) if any(
                                    p.key.param < 0 for p in pts) else "",
                                point_table([p for p in pts
                                             if p.key.param >= 0],
                                            "parent RSS")
                                if any(p.key.param >= 0 for p in pts)
                                else ""])


def section_compare(inp):
    datasets = inp.datasets
    if len(datasets) < 2:
        return None
    base = datasets[0]
    blocks = [f"Each later file against `{base.path}` ({base.label}): "
              "\"faster\" means a lower time or a higher rate. Runs on "
              "different machines or minutes differ by more than noise on "
              "shared vCPUs; see MEASURING.md."]
    for scenario in SCENARIOS:
        keys = sorted((k for k in base.points if k.scenario == scenario and
                       all(k in d.points for d in datasets[1:])),
                      key=sort_key)
        if not keys:
            continue
        fig = plot_compare(datasets, scenario, keys)
        rows = []
        for k in keys:
            row = [k.label()] + [fmt_value(d.points[k], d.points[k].metric)
                                 for d in datasets]
            row += [fmt_ratio(speedup(base.points[k], d.points[k]))
                    for d in datasets[1:]]
            rows.append(row)
        ratios = [speedup(base.points[k], datasets[1].points[k])
                  for k in keys]
        gm = math.exp(statistics.fmean(math.log(r) for r in ratios))
        blocks.append(FigureBlock(
            f"compare_{scenario.replace('-', '_')}", fig,
            f"{SCENARIO_TITLES[scenario].capitalize()}: the same "
            f"{len(keys)} benchmarks in each file, median and spread; the "
            f"text beside a bar is its ratio to the first file, green or red "
            f"only where the min-max ranges do not overlap. Geometric "
            f"mean of {datasets[1].label} over {base.label}: "
            f"{fmt_ratio(gm)} (>1: better)."))
        blocks.append(Table(["benchmark"] + [d.label for d in datasets] +
                            [f"{d.label} / {base.label}"
                             for d in datasets[1:]], rows))
    if len(blocks) == 1:
        inp.notes.append("skipped: comparison charts (the files have no "
                         "benchmark in common)")
        return None
    return Section("Comparison", blocks)


# ----------------------------------------------- tail latency and floor

PERCENTILES = (("p50_ns", "p50"), ("p90_ns", "p90"), ("p99_ns", "p99"),
               ("p999_ns", "p99.9"), ("max_ns", "max"))
# Each transport's own raw syscall loop among the floor kinds.
RAW_FLOOR = {"pipe": "pipe-raw", "fifo": "fifo-raw", "uds": "uds-raw"}


def percentile_points(ds, size):
    """Round trips of `size` that carry every percentile counter."""
    return [p for p in ds.select("roundtrip", param=size)
            if all(k in p.counters for k, _ in PERCENTILES)]


def plot_latency_percentiles(ds, size):
    """p50 ... max per transport, one panel per context, log axis."""
    pts = percentile_points(ds, size)
    if not pts:
        return None
    ctxs = contexts_of(pts)
    fig, axes = new_figure(4.6 * len(ctxs) + 1.6, 4.8, len(ctxs), sharey=True)
    xs = range(len(PERCENTILES))
    values = []
    for ax, ctx in zip(axes, ctxs):
        for subject, sp in by_subject(p for p in pts
                                      if p.key.context == ctx).items():
            ys = [sp[0].counters[k] * 1e-9 for k, _ in PERCENTILES]
            values += ys
            py = subject.startswith("py-")
            ax.plot(xs, ys, label=subject, color=colour_of(subject),
                    marker=marker_of(subject), markersize=6,
                    markerfacecolor="white" if py else None,
                    linestyle=":" if py else "-", linewidth=1.6)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([label for _, label in PERCENTILES])
        ax.set_xlabel("percentile of the round trips")
        ax.set_title(f"{ctx} context")
    set_log_axis(axes[0], "y", values, tick_seconds)
    axes[0].set_ylabel("round-trip latency (log)")
    h, lab = collect_legend(axes)
    return finish(fig, axes, f"Tail latency of {fmt_size(size)} round trips "
                  "(median over repetitions; lower is better)", ds, h, lab,
                  "transport")


def section_tail_latency(inp):
    ds = inp.data
    sizes = sorted({p.key.param for p in ds.select("roundtrip")
                    if all(k in p.counters for k, _ in PERCENTILES)})
    if not sizes:
        return None     # results without percentile counters
    size = pick_size(sizes, 64)
    pts = percentile_points(ds, size)
    rows = [[p.key.subject, p.key.context] +
            [fmt_seconds(p.counters[k] * 1e-9) for k, _ in PERCENTILES] +
            [fmt_seconds(p.counters["cpu_ns_per_msg"] * 1e-9)
             if "cpu_ns_per_msg" in p.counters else "-"]
            for p in pts]
    table = Table(["transport", "context"] +
                  [label for _, label in PERCENTILES] + ["CPU per round trip"],
                  rows, f"Percentiles of every round trip at "
                  f"{fmt_size(size)} (median over repetitions), and the CPU "
                  "time both peers burned per round trip.")
    return Section("Tail latency", [FigureBlock(
        "latency_percentiles", plot_latency_percentiles(ds, size),
        "Every round trip's duration goes into a histogram (rdtsc, 1/128 "
        "resolution); p50 is the typical round trip, p99.9 and max show the "
        "stalls (preemption, the host moving vCPUs) that the mean hides."),
        table])


def floor_multiples(ds, size):
    """Rows: each round trip of `size` as a multiple of the floors measured
    in the same run and context (cache line, the cache line carrying a
    message of the same size, futex, its raw syscall loop)."""
    floors = {(p.key.subject, p.key.context, p.key.param): p
              for p in ds.select("floor") if p.metric == "latency"}
    rows = []
    for p in ds.select("roundtrip", param=size):
        def times(kind, param=-1):  # -1: a floor without a size
            f = floors.get((kind, p.key.context, param))
            return fmt_ratio(p.median / f.median) if f else "-"
        raw = RAW_FLOOR.get(p.key.subject)
        rows.append([p.key.subject, p.key.context,
                     fmt_value(p, p.metric), times("cacheline"),
                     times("cacheline-msg", size), times("futex"),
                     (times(raw, size) + f" ({raw})") if raw else "-"])
    return rows


def section_floor_multiples(inp):
    ds = inp.data
    pts = ds.select("roundtrip")
    if not pts or not ds.select("floor"):
        return None
    size = pick_size(sorted({p.key.param for p in pts}), 64)
    rows = floor_multiples(ds, size)
    pin = ds.context.get("pin", "none")
    return Section("Floor multiples", [
        f"Each {fmt_size(size)} round trip divided by the floor measured in "
        f"the same run and context (CPU placement: `--pin={pin}`). Targets "
        "(scripts/floor_check.py): shm-ring-spin at most 1.5x the cache line "
        "with `--pin cross`; pipe, fifo and uds at most 1.10x their raw "
        "syscall loop with `--pin same`. The message floor is the same "
        "cache-line baton carrying the message's bytes in a line of their own "
        "each way (floor/cacheline-msg): the least a message of that size "
        "costs, since its bytes and a ready mark cannot share one line.",
        Table(["transport", "context", "round trip", "x cache line",
               "x message floor", "x futex", "x raw loop"], rows,
              "Ratios of medians over repetitions.")])


def section_seed(inp):
    """The seed table: the 2008 `processing` figures, Python today (the
    first input with py-* benchmarks) and C++ (the first with others)."""
    docs = [d for ds in inp.datasets for d in ds.docs] + inp.pyref
    py = next((doc for _, doc in docs if "python" in seed.kinds(doc)), None)
    if py is None:
        inp.notes.append("skipped: seed table (no Python reference run: "
                         "add --pyref results/pyref.json)")
        return None
    cpp = next((doc for _, doc in docs if "cpp" in seed.kinds(doc)), None)
    published = seed.load_json(seed.SEED_DEFAULT)
    rows = seed.load_rows(cpp, py, published)
    return Section(seed.TITLE, [
        seed.intro(published),
        Table(list(seed.HEADERS), seed.table_cells(rows),
              align=list(seed.ALIGN)),
        FigureBlock("seed", seed.figure(rows), seed.CHART_CAPTION),
    ] + seed.notes(rows, cpp, py, published))


# Report sections in order; append new builders here.
SECTION_BUILDERS = [section_context, section_seed, section_roundtrip,
                    section_processing,
                    section_throughput, section_dict, section_connection,
                    section_floor, section_tail_latency,
                    section_floor_multiples, section_startup, section_compare]


def build_sections(inp, builders=None):
    out = []
    for builder in builders or SECTION_BUILDERS:
        section = builder(inp)
        if section is not None and section.blocks:
            out.append(section)
    return out


def md_table(t):
    def cell(x):
        return str(x).replace("|", "\\|").replace("\n", "<br>")
    align = t.align or ["left"] * len(t.headers)
    lines = ["| " + " | ".join(cell(h) for h in t.headers) + " |",
             "|" + "|".join("---:" if a == "right" else "---"
                            for a in align) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in t.rows]
    return "\n".join(lines)


def render_markdown(sections, title, svg=True):
    out = [f"# {title}", "",
           "Generated by `scripts/plot.py` from Google Benchmark JSON; do not "
           "edit by hand.", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, FigureBlock):
                out += [f"![{b.name}]({b.name}.png)", "",
                        f"*{b.caption}*" + (f" ([SVG]({b.name}.svg))" if svg
                                            else ""), ""]
            elif isinstance(b, Table):
                out += ([f"**{b.caption}**", ""] if b.caption else []) + \
                    [md_table(b), ""]
            elif b:
                out += [str(b), ""]
    return "\n".join(out)


def md_inline(text):
    """The little Markdown the sections use (`code`, *em*) -> HTML."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"&lt;(https?://[^\s]+?)&gt;", r'<a href="\1">\1</a>',
                  text)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text)


def html_cell(tag, text, align):
    style = ' style="text-align:right"' if align == "right" else ""
    return f"<{tag}{style}>" + "<br>".join(
        md_inline(line) for line in str(text).split("\n")) + f"</{tag}>"


def render_html(sections, title, png_dir):
    css = ("body{font-family:system-ui,sans-serif;max-width:1100px;"
           "margin:2em auto;padding:0 1em;color:#222}"
           "img{max-width:100%;height:auto;border:1px solid #ddd}"
           "figure{margin:1.5em 0}figcaption{color:#444;font-size:.95em}"
           "table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
           "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
           "th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2em}")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{css}</style>",
           "</head><body>", f"<h1>{html.escape(title)}</h1>",
           "<p>Generated by <code>scripts/plot.py</code> from Google "
           "Benchmark JSON.</p>"]
    for s in sections:
        out.append(f"<h2>{md_inline(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, FigureBlock):
                data = base64.b64encode(
                    (Path(png_dir) / f"{b.name}.png").read_bytes()).decode()
                out.append(f'<figure><img alt="{html.escape(b.name)}" '
                           f'src="data:image/png;base64,{data}"><figcaption>'
                           f"{md_inline(b.caption)}</figcaption></figure>")
            elif isinstance(b, Table):
                align = b.align or ["left"] * len(b.headers)
                out.append("<table>" + (f"<caption>{md_inline(b.caption)}"
                                        "</caption>" if b.caption else "") +
                           "<tr>" + "".join(
                    html_cell("th", h, a) for h, a in zip(b.headers, align))
                    + "</tr>")
                out += ["<tr>" + "".join(html_cell("td", c, a)
                                         for c, a in zip(r, align)) + "</tr>"
                        for r in b.rows]
                out.append("</table>")
            elif b:
                items = [ln[2:] for ln in str(b).splitlines()
                         if ln.startswith("- ")]
                if items and len(items) == len(str(b).splitlines()):
                    out.append("<ul>" + "".join(f"<li>{md_inline(i)}</li>"
                                                for i in items) + "</ul>")
                else:
                    out.append(f"<p>{md_inline(str(b))}</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(sections, out_dir, title="ipcbench report",
                 formats=("png", "svg")):
    """Save every figure (PNG, needed by the HTML, and SVG), then index.md
    and index.html."""
    import matplotlib
    names = []
    # No date in the SVG and fixed element ids, so that an unchanged
    # report is an unchanged file (reports/ is committed).
    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):
        for s in sections:
            for b in s.blocks:
                if not isinstance(b, FigureBlock):
                    continue
                for ext, dpi in (("png", 150), ("svg", None)):
                    if ext not in formats and ext != "png":
                        continue
                    path = Path(out_dir) / f"{b.name}.{ext}"
                    b.figure.savefig(path, dpi=dpi, facecolor="white",
                                     metadata={"Date": None}
                                     if ext == "svg" else None)
                    names.append(path.name)
    (Path(out_dir) / "index.md").write_text(
        render_markdown(sections, title, "svg" in formats), encoding="utf-8")
    (Path(out_dir) / "index.html").write_text(
        render_html(sections, title, out_dir), encoding="utf-8")
    return names + ["index.md", "index.html"]


def install(tmp, out, names):
    """Move the finished files from tmp into out; drop files an earlier run
    wrote that this run did not (per the manifest)."""
    out = Path(out)
    if not out.exists():
        (Path(tmp) / MANIFEST).write_text("\n".join(names) + "\n")
        os.replace(tmp, out)
        return
    old = []
    if (out / MANIFEST).is_file():
        old = (out / MANIFEST).read_text().split()
    for name in names:
        os.replace(Path(tmp) / name, out / name)
    for name in set(old) - set(names):
        if "/" not in name and (out / name).is_file():
            (out / name).unlink()
    (out / MANIFEST).write_text("\n".join(names) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------ command line

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    p = _Parser(prog=PROG, description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("files", nargs="*", metavar="JSON",
                   help="Google Benchmark JSON (default: results/latest.json);"
                   " with two or more, later files are compared with the "
                   "first")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory (default: reports/)")
    p.add_argument("--size", type=int, default=256, metavar="BYTES",
                   help="message size for the threads-vs-processes chart "
                   "(default 256)")
    p.add_argument("--spread", choices=("minmax", "iqr"), default="minmax",
                   help="error bars: min-max (default) or interquartile range")
    p.add_argument("--merge", action="store_true",
                   help="pool all files into one data set (e.g. the C++ run "
                   "and the Python reference run) instead of comparing them")
    p.add_argument("--pyref", metavar="JSON", default=None,
                   help="a Python reference run (scripts/pyref.py output, "
                   "e.g. results/pyref.json): adds the seed section, 2008 "
                   "vs Python today vs C++ (not drawn in the other charts;"
                   " use --merge for that). Default: results/pyref.json "
                   "when no JSON file is named and it exists")
    p.add_argument("--label", action="append", default=[], metavar="TEXT",
                   help="name for each file in comparisons (repeat per file)")
    p.add_argument("--formats", default="png,svg", metavar="LIST",
                   help="chart files to write: png,svg (default) or png "
                   "(faster; the HTML always embeds PNG)")
    p.add_argument("--filter", metavar="REGEX", default=None,
                   help="only benchmarks whose run_name matches")
    return p


def run(args):
    """Everything after argument parsing; raises InputError/UsageError."""
    if not 0 < args.size <= 1 << 30:
        raise UsageError(f"--size {args.size}: must be 1 .. 1073741824")
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    if not formats or set(formats) - {"png", "svg"}:
        raise UsageError(f"--formats {args.formats}: use png, svg or png,svg")
    files = args.files or [str(DEFAULT_INPUT)]
    if args.label and len(args.label) != len(files):
        raise UsageError(f"--label given {len(args.label)} times for "
                         f"{len(files)} files")
    pattern = None
    if args.filter is not None:
        try:
            pattern = re.compile(args.filter)
        except re.error as e:
            raise UsageError(f"--filter: bad regular expression: {e}") \
                from None
    datasets = []
    if not args.files and not DEFAULT_INPUT.exists():
        raise InputError(f"{DEFAULT_INPUT}: no such file (run ./run.sh "
                         "first, or name a results file)")

    def load(path):
        doc = load_json(path)
        if pattern:
            doc = dict(doc, benchmarks=[
                e for e in doc["benchmarks"] if isinstance(e, dict) and
                pattern.search(str(e.get("run_name", e.get("name", ""))))])
            if not doc["benchmarks"]:
                raise InputError(f"{path}: no benchmark matches --filter "
                                 f"{args.filter!r}")
        return doc

    pyref = []
    pyref_path = args.pyref
    if pyref_path is None and not args.files and DEFAULT_PYREF.exists():
        pyref_path = str(DEFAULT_PYREF)     # what ./run.sh reports on
    if pyref_path is not None:
        doc = load(pyref_path)
        seed.results(doc, pyref_path)       # the shape seed.py needs
        if "python" not in seed.kinds(doc):
            raise InputError(f"{pyref_path}: no Python reference benchmarks "
                             "(py-* names); make it with scripts/pyref.py")
        pyref.append((display_path(pyref_path), doc))
    for i, path in enumerate(files):
        doc = load(path)
        ds = parse_results(doc, display_path(path),
                           args.label[i] if args.label else None,
                           args.spread)
        for w in ds.warnings:
            print(f"{PROG}: warning: {w}", file=sys.stderr)
        if ds.ignored:
            print(f"ignored {len(ds.ignored)} benchmark(s) of unknown "
                  f"scenarios in {path}: {', '.join(ds.ignored[:3])}"
                  f"{' ...' if len(ds.ignored) > 3 else ''}")
        datasets.append(ds)
    labels = [d.label for d in datasets]
    for i, d in enumerate(datasets):        # comparison labels must differ
        if labels.count(d.label) > 1:
            d.label = f"{d.label} #{i + 1}"
    if args.merge and len(datasets) > 1:
        merged = merge_datasets(datasets)
        for w in merged.warnings:
            print(f"{PROG}: warning: {w}", file=sys.stderr)
        inp = ReportInput(merged, [merged], args.size, [], pyref)
    else:
        inp = ReportInput(datasets[0], datasets, args.size, [], pyref)
    sections = build_sections(inp)
    for note in inp.notes:
        print(note)
    out = Path(args.out) if args.out else DEFAULT_OUT
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)       # mkdtemp makes it 0700
    try:
        names = write_report(sections, tmp, formats=formats)
        install(tmp, out, names)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    charts = sorted({n.rsplit(".", 1)[0] for n in names
                     if n.endswith(".png")})
    print(f"wrote {len(charts)} charts ({', '.join(charts)}) and "
          f"index.md, index.html to {out}")
    return 0


def main(argv=None) -> int:
    try:
        import matplotlib
    except ImportError:
        print(f"{PROG}: error: matplotlib is missing: install the Debian "
              "package python3-matplotlib (apt-get install "
              "python3-matplotlib)", file=sys.stderr)
        return 1
    matplotlib.use("Agg")
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except UsageError as e:
        print(f"{PROG}: error: {e} (see --help)", file=sys.stderr)
        return 2
    except (InputError, seed.InputError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
