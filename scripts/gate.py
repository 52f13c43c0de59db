#!/usr/bin/python3
"""gate.py - statistical regression gate for Google Benchmark JSON results.

Compares BASELINE.json with CURRENT.json benchmark by benchmark (matched
by run_name, trailing /real_time or /manual_time ignored), using every
per-repetition real_time (or --metric cpu_time; normalised to ns):

  * the median of each side and the ratio current/baseline;
  * a two-sided Mann-Whitney U test over the repetitions (exact without
    ties for small samples, else normal approximation with tie and
    continuity correction), corrected for the number of benchmarks
    compared (Holm-Bonferroni by default);
  * verdict "slower" when the median slowed down by more than
    --threshold AND the corrected p-value is below --alpha; "faster"
    symmetrically (ratio below 1/(1+threshold)); "not enough data" when
    there are too few repetitions for the test to ever reach --alpha
    (the note says how many are needed); plus new, missing, errored and
    unchanged.

Output: an aligned table on stdout, optionally Markdown (--markdown) and
JSON (--json). Exit status: 0 nothing regressed, 1 regression,
2 bad input (one line on stderr).

Usage:
  scripts/gate.py results/base.json results/new.json --threshold 0.10
  scripts/gate.py base.json new.json --markdown gate.md --json gate.json

The same statistics and report functions serve scripts/ab.py, the paired
A/B mode that builds and alternates two binaries in one run.
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile

PROG = "gate.py"
TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
TIME_SUFFIXES = ("real_time", "manual_time")
# Exact null distributions are used up to this sample size (no ties).
EXACT_MAX_N = 50
CORRECTIONS = ("holm", "bonferroni", "none")
METRICS = ("real_time", "cpu_time")
VERDICTS = ("slower", "faster", "unchanged", "not enough data",
            "new", "missing", "errored")


class GateError(Exception):
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


# --------------------------------------------------------------------------
# Loading

def load(path):
    """Read a Google Benchmark JSON file; raise GateError on bad input."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise GateError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise GateError(f"{path}: not a text file") from None
    if not text.strip():
        raise GateError(f"{path}: empty file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise GateError(f"{path}: not valid JSON (line {e.lineno} "
                        f"column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise GateError(f"{path}: JSON nested too deeply") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"),
                                                   list):
        raise GateError(f'{path}: not Google Benchmark JSON '
                        f'(no "benchmarks" list)')
    return doc


def benchmark_key(entry):
    """Name used for matching: run_name without a trailing time suffix."""
    name = entry.get("run_name")
    if not isinstance(name, str) or not name:
        name = entry["name"]
        agg = entry.get("aggregate_name")
        if (entry.get("run_type") == "aggregate" and isinstance(agg, str)
                and name.endswith("_" + agg)):
            name = name[:-len(agg) - 1]
    parts = name.split("/")
    if len(parts) > 1 and parts[-1] in TIME_SUFFIXES:
        parts = parts[:-1]
    return "/".join(parts)


def _number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def collect(doc, label, metric="real_time"):
    """Map benchmark key -> Sample (values of metric) from a loaded document.

    Uses per-repetition entries (run_type "iteration"); when a benchmark
    has none (e.g. --benchmark_report_aggregates_only) its median
    aggregate is used as a single value. Raises GateError on malformed
    entries or units.
    """
    samples = {}
    medians = {}
    for i, entry in enumerate(doc["benchmarks"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"),
                                                         str):
            raise GateError(f"{label}: benchmarks[{i}] is not a benchmark "
                            f"object with a name")
        key = benchmark_key(entry)
        run_type = entry.get("run_type", "iteration")
        if entry.get("error_occurred"):
            sample = samples.setdefault(key, Sample(key, None))
            msg = entry.get("error_message")
            sample.errors.append(msg if isinstance(msg, str) else "error")
            continue
        if run_type == "aggregate":
            if entry.get("aggregate_name") == "median" and \
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
    if unit not in TIME_UNITS:
        raise GateError(f"{label}: {key}: unknown time_unit {unit!r}")
    value = entry.get(metric)
    if not _number(value) or value < 0:
        raise GateError(f"{label}: benchmarks[{i}] ({key}): {metric} "
                        f"missing or not a non-negative number")
    sample = samples.setdefault(key, Sample(key, unit))
    if sample.unit is None:
        sample.unit = unit
    elif sample.unit != unit:
        raise GateError(f"{label}: {key}: mismatched units within the file "
                        f"({sample.unit} and {unit})")
    sample.values.append(value * TIME_UNITS[unit])
    iterations = entry.get("iterations")
    sample.iterations.append(iterations if _number(iterations) else None)


# --------------------------------------------------------------------------
# Statistics (stdlib only)

def rank(values):
    """Average ranks (1-based) and the sizes of tied groups (>1)."""
    order = sorted(range(len(values)), key=lambda k: values[k])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def norm_sf(z):
    """Survival function of the standard normal distribution."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _two_sided_exact(counts, stat):
    """Two-sided p from integer counts of a symmetric null distribution."""
    total = sum(counts)
    k = int(round(stat))
    low = sum(counts[:k + 1])
    high = sum(counts[k:])
    return min(1.0, 2 * min(low, high) / total)


def mann_whitney_counts(n1, n2):
    """Counts of U = 0..n1*n2 under H0 (q-binomial coefficient)."""
    poly = [1]
    for i in range(1, n1 + 1):
        # multiply by (1 - q^(n2+i)), then divide by (1 - q^i)
        shift = n2 + i
        new = poly + [0] * shift
        for k, c in enumerate(poly):
            new[k + shift] -= c
        for k in range(i, len(new)):
            new[k] += new[k - i]
        poly = new[:n1 * n2 + 1]
    return poly


def mann_whitney(x, y, method="auto"):
    """Two-sided Mann-Whitney U test. Returns (U of x, p-value).

    method: "exact" (no ties only), "asymptotic" (normal approximation
    with tie and continuity correction, as scipy.stats.mannwhitneyu) or
    "auto" (exact when there are no ties and both n <= EXACT_MAX_N).
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("mann_whitney needs two non-empty samples")
    ranks, ties = rank(list(x) + list(y))
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    if method == "auto":
        exact = not ties and max(n1, n2) <= EXACT_MAX_N
        method = "exact" if exact else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError("exact Mann-Whitney needs untied data")
        return u, _two_sided_exact(mann_whitney_counts(n1, n2), u)
    n = n1 + n2
    mu = n1 * n2 / 2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:
        return u, 1.0
    z = max(0.0, abs(u - mu) - 0.5) / math.sqrt(var)
    return u, min(1.0, 2 * norm_sf(z))


def mann_whitney_min_p(n1, n2):
    """Smallest p-value the test can give for these sample sizes."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return mann_whitney(range(n1), range(n1, n1 + n2))[1]


def signed_rank_counts(n):
    """Counts of W+ = 0..n(n+1)/2 under H0."""
    poly = [1]
    for i in range(1, n + 1):
        new = poly + [0] * i
        for k, c in enumerate(poly):
            new[k + i] += c
        poly = new
    return poly


def wilcoxon(d, method="auto"):
    """Two-sided Wilcoxon signed-rank test of differences d against 0.

    Zeros are dropped ("wilcox" rule). Returns (W+, p-value, n used).
    Exact without ties for n <= EXACT_MAX_N, else normal approximation
    with tie and continuity correction.
    """
    d = [v for v in d if v != 0]
    n = len(d)
    if n == 0:
        return 0.0, 1.0, 0
    ranks, ties = rank([abs(v) for v in d])
    w_plus = sum(r for r, v in zip(ranks, d) if v > 0)
    if method == "auto":
        method = "exact" if not ties and n <= EXACT_MAX_N else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError("exact Wilcoxon needs untied data")
        return w_plus, _two_sided_exact(signed_rank_counts(n), w_plus), n
    mu = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24 - sum(t ** 3 - t for t in ties) / 48
    if var <= 0:
        return w_plus, 1.0, n
    z = max(0.0, abs(w_plus - mu) - 0.5) / math.sqrt(var)
    return w_plus, min(1.0, 2 * norm_sf(z)), n


def wilcoxon_min_p(n):
    """Smallest p-value the signed-rank test can give for n pairs."""
    if n == 0:
        return 1.0
    return wilcoxon([float(k) for k in range(1, n + 1)])[1]


def adjust(pvalues, method="holm"):
    """Family-wise corrected p-values (same order as given)."""
    m = len(pvalues)
    if method == "none":
        return list(pvalues)
    if method == "bonferroni":
        return [min(1.0, p * m) for p in pvalues]
    if method != "holm":
        raise ValueError(f"unknown correction {method!r}")
    order = sorted(range(m), key=lambda k: pvalues[k])
    out = [1.0] * m
    running = 0.0
    for step, k in enumerate(order):
        running = max(running, min(1.0, (m - step) * pvalues[k]))
        out[k] = running
    return out


def needed_size(min_p_of, m, alpha, limit=1000):
    """Smallest n for which min_p_of(n) * m < alpha (None if > limit)."""
    for n in range(1, limit + 1):
        if min_p_of(n) * m < alpha:
            return n
    return None


# --------------------------------------------------------------------------
# Decision

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
        if b.errored or c.errored:
            which = "baseline" if b.errored else "current"
            msg = (b.errors or c.errors)[0]
            rows.append(make_row(k, "errored", _median(b), _median(c),
                                 note=f"{which}: {msg}"))
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


def regressed(rows, fail_on=("slower",)):
    return any(r["verdict"] in fail_on for r in rows)


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


def summary_line(rows, settings, fail_on=("slower",)):
    c = counts(rows)
    bad = [r["name"] for r in rows if r["verdict"] in fail_on]
    parts = [f"{v} {c[v]}" for v in VERDICTS if c[v]]
    crit = (f"slower = >{settings['threshold'] * 100:g}% and "
            f"p_adj < {settings['alpha']:g} ({settings['correction']})")
    status = "FAIL" if bad else "pass"
    line = f"gate: {status}: {', '.join(parts)}; {crit}"
    if bad:
        line += "; regressed: " + ", ".join(bad)
    return line


def format_table(rows, settings, headers=HEADERS, fail_on=("slower",)):
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


def format_markdown(rows, settings, headers=HEADERS, fail_on=("slower",),
                    title="Benchmark regression gate", extra=()):
    """Markdown report (for a PR comment or a CI job summary)."""
    bad = regressed(rows, fail_on)
    lines = [f"### {title}: {'FAIL' if bad else 'pass'}", ""]
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


def report_json(rows, settings, fail_on=("slower",), **extra):
    doc = {"tool": "ipcbench-gate", "settings": settings,
           "regressed": regressed(rows, fail_on), "counts": counts(rows),
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


def write_atomic(path, text):
    """Write text to path via a temp file in the same directory."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".gate-",
                                   suffix=".tmp")
    except OSError as e:
        raise GateError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise GateError(f"{path}: cannot write: {e.strerror or e}") from None


def write_outputs(args, rows, settings, fail_on, title, extra_md=(),
                  headers=HEADERS, **extra_json):
    """Render all outputs first, then write the files (no partial set)."""
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
        write_atomic(path, text)


# --------------------------------------------------------------------------
# Command line

def probability(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(
            f"must be between 0 and 10 (0.10 = 10%): {text}")
    return value


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
                             "default: slower)")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write a Markdown report")
    parser.add_argument("--json", metavar="FILE",
                        help="also write a JSON report")


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one error line on stderr, not the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    parser = _Parser(
        prog=PROG, description="Compare two Google Benchmark JSON files "
        "with a Mann-Whitney U test per benchmark; exit 1 on a "
        "significant slowdown larger than the threshold.")
    parser.add_argument("baseline", help="baseline JSON "
                        "(run with --benchmark_repetitions >= 9)")
    parser.add_argument("current", help="current JSON")
    add_decision_args(parser)
    return parser


def settings_of(args):
    return {"threshold": args.threshold, "alpha": args.alpha,
            "correction": args.correction, "metric": args.metric}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    fail_on = tuple(args.fail_on or ("slower",))
    settings = settings_of(args)
    try:
        base = collect(load(args.baseline), args.baseline, args.metric)
        cur = collect(load(args.current), args.current, args.metric)
        rows = compare(base, cur, args.threshold, args.alpha,
                       args.correction)
        write_outputs(args, rows, settings, fail_on,
                      title="Benchmark regression gate",
                      mode="files", baseline=args.baseline,
                      current=args.current)
    except GateError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(format_table(rows, settings, fail_on=fail_on))
    return 1 if regressed(rows, fail_on) else 0


if __name__ == "__main__":
    sys.exit(main())
