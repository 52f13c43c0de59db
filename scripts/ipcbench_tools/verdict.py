"""The regression gates' shared core: per-benchmark samples from Google
Benchmark JSON, verdicts (slower / faster / unchanged / not enough data /
new / missing / errored), the exit status, and the reports (table,
Markdown, JSON). gate.py compares two files, ab.py paired runs."""
import json
import math
import os
import statistics

from ipcbench_tools import atomic, cli, gbjson
from ipcbench_tools.errors import InputError
from ipcbench_tools.stats import is_number
from ipcbench_tools.utest import (CORRECTIONS, adjust, mann_whitney,
                                  mann_whitney_min_p, needed_size)

METRICS = ("real_time", "cpu_time")
VERDICTS = ("slower", "faster", "unchanged", "not enough data",
            "new", "missing", "errored")
DECIDED = ("slower", "faster", "unchanged")
# What fails a gate unless --fail-on says otherwise: a slowdown, and a benchmark
# that errors in the current run or is not in it any more (a gate must not pass
# because the benchmark it guards stopped producing figures). A benchmark that
# errored only in the baseline counts as new.
DEFAULT_FAIL_ON = ("slower", "errored", "missing")
# Exit status of both gates.
EXIT_PASS, EXIT_REGRESSION, EXIT_BAD_INPUT, EXIT_UNDECIDED = 0, 1, 2, 3
EXIT_CODES = {
    EXIT_PASS: "pass: benchmarks were decided and none regressed",
    EXIT_REGRESSION: "regression: a benchmark got slower, errors now or is "
                     "missing now (see --fail-on)",
    EXIT_BAD_INPUT: "bad input or command line (one line on stderr)",
    EXIT_UNDECIDED: "undecided: no benchmark could be decided (too few "
                    "repetitions, or all new/missing/errored); the line on "
                    "stderr says how many repetitions are needed (no "
                    "--markdown or --json file is written)",
    130: "interrupted (Ctrl-C)",
}


class GateError(InputError):
    """Bad input or environment; str(error) is the one line for the user."""


class Sample:
    """Per-repetition times (ns) of one benchmark in one result file."""

    def __init__(self, name, unit):
        self.name = name
        self.unit = unit
        self.values = []
        self.iterations = []
        self.errors = []
        self.from_aggregate = False

    @property
    def errored(self):
        return bool(self.errors)


def load(path):
    """Read a Google Benchmark JSON file; raise GateError on bad input."""
    try:
        return gbjson.load(path)
    except InputError as e:
        raise GateError(str(e)) from None


benchmark_key = gbjson.run_name


def collect(doc, label, metric="real_time"):
    """Map benchmark key -> Sample (values of metric) from a loaded document.

    Uses per-repetition entries (run_type "iteration"); when a benchmark
    has none (e.g. --benchmark_report_aggregates_only) its median
    aggregate is used as a single value. Raises GateError on malformed
    entries or units.
    """
    try:
        gbjson.validate(doc, label)
    except InputError as e:
        raise GateError(str(e)) from None
    samples = {}
    medians = {}
    for i, entry in enumerate(doc["benchmarks"]):
        key = benchmark_key(entry)
        if entry.get("error_occurred"):
            sample = samples.setdefault(key, Sample(key, None))
            msg = entry.get("error_message")
            sample.errors.append(msg if isinstance(msg, str) else "error")
            continue
        if not gbjson.is_iteration(entry):
            if gbjson.is_aggregate(entry, "median") and \
                    entry.get("aggregate_unit", "time") == "time":
                medians[key] = (i, entry)
            continue
        _add_value(samples, key, i, entry, label, metric)
    for key, (i, entry) in medians.items():
        if key not in samples or (not samples[key].values
                                  and not samples[key].errored):
            _add_value(samples, key, i, entry, label, metric)
            samples[key].from_aggregate = True
    return samples


def _add_value(samples, key, i, entry, label, metric):
    unit = entry.get("time_unit", "ns")
    if unit not in gbjson.TIME_UNITS:
        raise GateError(f"{label}: {key}: unknown time_unit {unit!r}")
    value = entry.get(metric)
    if not is_number(value) or value <= 0:
        # Zero is no time at all: nothing was measured (and a ratio to it is
        # infinite); plot.py refuses it too.
        raise GateError(f"{label}: benchmarks[{i}] ({key}): {metric} "
                        f"{value!r} is not a positive finite time")
    sample = samples.setdefault(key, Sample(key, unit))
    if sample.unit is None:
        sample.unit = unit
    elif sample.unit != unit:
        raise GateError(f"{label}: {key}: mismatched units within the file "
                        f"({sample.unit} and {unit})")
    sample.values.append(value * gbjson.NS_PER_UNIT[unit])
    iterations = entry.get("iterations")
    sample.iterations.append(iterations if is_number(iterations) else None)


def make_row(name, verdict, base_ns=None, cur_ns=None, ratio=None, p=None,
             n="", note=""):
    """One result row; shared by the file gate and the A/B gate."""
    return {"name": name, "verdict": verdict, "base_ns": base_ns,
            "cur_ns": cur_ns, "ratio": ratio, "p": p, "p_adj": None,
            "n": n, "note": note}


def ratio_of(base, cur):
    if base == 0:
        return 1.0 if cur == 0 else math.inf
    return cur / base


def classify(rows, tested, min_ps, threshold, alpha, correction, needed):
    """Correct p-values of rows[k] for k in tested; set their verdicts.

    min_ps[k]: smallest p the test can reach for that row's sizes;
    needed(m): text saying how much data would be enough.
    """
    m = len(tested)
    factor = 1 if correction == "none" else m
    adjusted = adjust([rows[k]["p"] for k in tested], correction)
    for k, p_adj in zip(tested, adjusted):
        row = rows[k]
        row["p_adj"] = p_adj
        if min_ps[k] * factor >= alpha:
            row["verdict"] = "not enough data"
            row["note"] = needed(factor)
        elif p_adj < alpha and row["ratio"] > 1 + threshold:
            row["verdict"] = "slower"
        elif p_adj < alpha and row["ratio"] < 1 / (1 + threshold):
            row["verdict"] = "faster"
        else:
            row["verdict"] = "unchanged"
            if p_adj < alpha:
                row["note"] = "significant, below threshold"


def compare(base, cur, threshold=0.10, alpha=0.01, correction="holm"):
    """Compare two {key: Sample} maps; return rows in baseline order.

    Raises GateError when nothing is in common or units differ.
    """
    names = list(base) + [k for k in cur if k not in base]
    common = [k for k in names if k in base and k in cur]
    if not common:
        raise GateError("no benchmark in common between baseline and "
                        "current")
    for k in common:
        b, c = base[k], cur[k]
        if b.unit and c.unit and b.unit != c.unit:
            raise GateError(f"{k}: mismatched units (baseline {b.unit}, "
                            f"current {c.unit})")
    rows, tested, min_ps = [], [], {}
    for k in names:
        b, c = base.get(k), cur.get(k)
        if b is None:
            rows.append(make_row(k, "new", cur_ns=_median(c)))
            continue
        if c is None:
            rows.append(make_row(k, "missing", base_ns=_median(b)))
            continue
        if c.errored:
            rows.append(make_row(k, "errored", _median(b), _median(c),
                                 note=f"current: {c.errors[0]}"))
            continue
        if b.errored:   # works now: nothing to compare it with
            rows.append(make_row(k, "new", cur_ns=_median(c),
                                 note=f"baseline: {b.errors[0]}"))
            continue
        n = f"{len(b.values)}/{len(c.values)}"
        bm, cm = statistics.median(b.values), statistics.median(c.values)
        row = make_row(k, "unchanged", bm, cm, ratio_of(bm, cm), n=n)
        rows.append(row)
        if len(b.values) < 2 or len(c.values) < 2:
            row["verdict"] = "not enough data"
            row["note"] = "need repetitions (--benchmark_repetitions)"
            continue
        row["p"] = mann_whitney(b.values, c.values)[1]
        min_ps[len(rows) - 1] = mann_whitney_min_p(len(b.values),
                                                   len(c.values))
        tested.append(len(rows) - 1)

    def needed(m):
        reps = needed_size(lambda r: mann_whitney_min_p(r, r), m, alpha)
        return (f"need >= {reps} repetitions per side for alpha {alpha:g}"
                f" over {m} benchmark(s)")

    min_p_list = {k: min_ps[k] for k in tested}
    classify(rows, tested, min_p_list, threshold, alpha, correction, needed)
    # Single-repetition rows still need a count in the note.
    factor = 1 if correction == "none" else max(1, len(tested))
    for row in rows:
        if row["note"].startswith("need repetitions"):
            row["note"] = needed(factor)
    return rows


def _median(sample):
    if sample is None or not sample.values:
        return None
    return statistics.median(sample.values)


def regressed(rows, fail_on=DEFAULT_FAIL_ON):
    return any(r["verdict"] in fail_on for r in rows)


def undecided(rows):
    """None when some benchmark was decided, else the one line saying why
    nothing was (and how many repetitions would be needed)."""
    if any(r["verdict"] in DECIDED for r in rows):
        return None
    short = [r for r in rows if r["verdict"] == "not enough data"]
    c = counts(rows)
    what = ", ".join(f"{c[v]} {v}" for v in VERDICTS if c[v])
    line = f"none of {len(rows)} benchmark(s) could be decided ({what})"
    if short and short[0]["note"]:
        line += f": {short[0]['note']}"
    return line


def exit_status(rows, fail_on=DEFAULT_FAIL_ON):
    if regressed(rows, fail_on):
        return EXIT_REGRESSION
    return EXIT_UNDECIDED if undecided(rows) else EXIT_PASS


def counts(rows):
    out = {v: 0 for v in VERDICTS}
    for r in rows:
        out[r["verdict"]] += 1
    return out


# --------------------------------------------------------------------------
# Reports

def fmt_ns(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_change(ratio):
    if ratio is None:
        return "-"
    if math.isinf(ratio):
        return "+inf"
    return f"{(ratio - 1) * 100:+.1f}%"


def fmt_p(p):
    if p is None:
        return "-"
    return "<1e-6" if p < 1e-6 else f"{p:.2g}"


HEADERS = ("benchmark", "baseline", "current", "change", "p_adj", "n",
           "verdict", "note")


def table_cells(row):
    return (row["name"], fmt_ns(row["base_ns"]), fmt_ns(row["cur_ns"]),
            fmt_change(row["ratio"]), fmt_p(row["p_adj"]), str(row["n"]),
            row["verdict"], row["note"])


def summary_line(rows, settings, fail_on=DEFAULT_FAIL_ON):
    c = counts(rows)
    bad = [r["name"] for r in rows if r["verdict"] in fail_on]
    parts = [f"{v} {c[v]}" for v in VERDICTS if c[v]]
    crit = (f"slower = >{settings['threshold'] * 100:g}% and "
            f"p_adj < {settings['alpha']:g} ({settings['correction']})")
    status = "FAIL" if bad else "UNDECIDED" if undecided(rows) else "pass"
    line = f"gate: {status}: {', '.join(parts)}; {crit}"
    if bad:
        line += "; regressed: " + ", ".join(bad)
    return line


def format_table(rows, settings, headers=HEADERS, fail_on=DEFAULT_FAIL_ON):
    """Aligned plain-text table plus a summary line."""
    cells = [headers] + [table_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
    right = {1, 2, 3, 4, 5}
    lines = []
    for c in cells:
        out = [c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i])
               for i in range(len(c))]
        lines.append("  ".join(out).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(summary_line(rows, settings, fail_on))
    return "\n".join(lines) + "\n"


def _md(text):
    return text.replace("|", "\\|")


def format_markdown(rows, settings, headers=HEADERS, fail_on=DEFAULT_FAIL_ON,
                    title="Benchmark regression gate", extra=()):
    """Markdown report (for a PR comment or a CI job summary)."""
    status = {EXIT_REGRESSION: "FAIL", EXIT_UNDECIDED: "UNDECIDED"}.get(
        exit_status(rows, fail_on), "pass")
    lines = [f"### {title}: {status}", ""]
    lines += list(extra)
    if extra:
        lines.append("")
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join(
        "---:" if i in (1, 2, 3, 4, 5) else "---"
        for i in range(len(headers))) + "|")
    for r in rows:
        cells = list(table_cells(r))
        if r["verdict"] in fail_on:
            cells[6] = f"**{cells[6]}**"
        cells[0] = f"`{cells[0]}`"
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    lines.append("")
    lines.append(summary_line(rows, settings, fail_on))
    return "\n".join(lines) + "\n"


def report_json(rows, settings, fail_on=DEFAULT_FAIL_ON, **extra):
    doc = {"tool": "ipcbench-gate", "settings": settings,
           "regressed": regressed(rows, fail_on),
           "undecided": undecided(rows) is not None, "counts": counts(rows),
           "benchmarks": rows}
    doc.update(extra)
    return json.dumps(finite(doc), indent=2) + "\n"


def finite(obj):
    """Copy of obj with infinite or NaN floats replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def write_outputs(args, rows, settings, fail_on, title, extra_md=(),
                  headers=HEADERS, **extra_json):
    """Render all outputs first, then write the files (no partial set).
    An undecided gate writes none: it failed to judge, like bad input."""
    if exit_status(rows, fail_on) == EXIT_UNDECIDED:
        return
    outputs = []
    if args.markdown:
        outputs.append((args.markdown, format_markdown(
            rows, settings, headers=headers, fail_on=fail_on, title=title,
            extra=extra_md)))
    if args.json:
        outputs.append((args.json, report_json(rows, settings, fail_on,
                                               **extra_json)))
    for path, _ in outputs:
        if os.path.isdir(path):
            raise GateError(f"{path}: is a directory")
    for path, text in outputs:
        try:
            atomic.write_file(path, text)
        except InputError as e:
            raise GateError(str(e)) from None


# --------------------------------------------------------------------------
# Command line

probability = cli.bounded(float, lambda v: 0 < v < 1,
                          "must be between 0 and 1")
fraction = cli.bounded(float, lambda v: 0 <= v <= 10,
                       "must be between 0 and 10 (0.10 = 10%)")


def add_decision_args(parser):
    """Options shared with ab.py."""
    parser.add_argument("--threshold", type=fraction, default=0.10,
                        help="smallest slowdown that counts, as a fraction "
                             "(default 0.10 = 10%%)")
    parser.add_argument("--alpha", type=probability, default=0.01,
                        help="family-wise significance level "
                             "(default 0.01)")
    parser.add_argument("--correction", choices=CORRECTIONS, default="holm",
                        help="multiple-comparison correction "
                             "(default holm)")
    parser.add_argument("--metric", choices=METRICS, default="real_time",
                        help="figure compared (default real_time, the "
                             "latency; cpu_time is the benchmark thread's "
                             "CPU only, steadier on a loaded machine but "
                             "blind to the peer)")
    parser.add_argument("--fail-on", action="append", choices=VERDICTS,
                        metavar="VERDICT",
                        help="verdict that fails the gate (repeatable; "
                             "default: slower, errored, missing: a "
                             "benchmark that errors or disappears in the "
                             "current run fails the gate). Naming any "
                             "replaces the default: --fail-on slower lets "
                             "errors and disappearances pass")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write a Markdown report")
    parser.add_argument("--json", metavar="FILE",
                        help="also write a JSON report")


def settings_of(args):
    return {"threshold": args.threshold, "alpha": args.alpha,
            "correction": args.correction, "metric": args.metric}

