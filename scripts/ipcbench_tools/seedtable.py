"""The seed table: the `processing` package's 2008 figures, Python today
(scripts/pyref.py output) and ipcbench's C++ figure per scenario, with
ratios. Used by scripts/seed.py (seed.md) and by the report's seed section:
load_rows() -> rows, then TITLE, intro(), HEADERS/table_cells(), figure()
and notes(); markdown() renders those pieces for seed.md.
"""
import math
import os
import re
from dataclasses import dataclass

from ipcbench_tools import gbjson, stats
from ipcbench_tools.errors import InputError

SEED_DEFAULT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "data", "processing-2008.json")
NOT_TRANSPORTS = ("memcpy",)  # upper bounds, not ways to talk


@dataclass(frozen=True)
class Scenario:
    """One row: which benchmarks stand for a 2008 figure.

    Each field is a list of regexes tried in order (full match on the run
    name without /real_time); the first that matches a usable result wins,
    and among its matches the fastest (median items/s) is taken.
    """
    id: str
    label: str
    python: tuple
    cpp_same: tuple
    cpp_fastest: tuple
    note: str = ""
    cpp_also: tuple = ()   # a second C++ figure shown beside cpp_same
    also_label: str = ""


_RT = "size:(16|64|256)"
SCENARIOS = (
    Scenario(
        "manager-dict", "Manager dict lookup, from another process",
        python=("dict/py-manager/process/readers:1",),
        cpp_same=(r"dict/manager-[^/]+/process/readers:1",),
        cpp_fastest=(r"dict/[^/]+/process/readers:1",),
        note="C++ same: the fastest `manager-*` kind (a server process "
             "answering lookups, like multiprocessing's Manager); fastest: "
             "any kind of shared dict read from a forked process."),
    Scenario(
        "plain-dict", "Plain dict lookup, same thread",
        python=("dict/py-local/thread/readers:1",),
        # CPython's str caches its hash, and the Python loop reuses its key
        # objects: the like-for-like C++ figure hashes each key once too.
        cpp_same=("dict/local-prehashed/thread/readers:1",
                  "dict/local/thread/readers:1"),
        cpp_fastest=(r"dict/[^/]+/thread/readers:1",),
        cpp_also=("dict/local/thread/readers:1",),
        also_label="hashing each lookup",
        note="C++ same: `dict/local-prehashed`, whose keys' hashes are "
             "computed once, as CPython's `str` caches its hash and the "
             "Python loop reuses its key objects; `dict/local` (the key "
             "hashed on every lookup) is shown beside it. What still "
             "differs: CPython compares a key's identity first, so finding "
             "the very object it stored costs no byte comparison, while the "
             "C++ lookup compares the key's bytes; and each Python lookup "
             "also pays the interpreter's dispatch."),
    Scenario(
        "queue-process", "Queue between processes, one way",
        python=("throughput/py-mpqueue/process/size:64",
                "roundtrip/py-mpqueue/process/" + _RT),
        cpp_same=("throughput/pipe/process/size:64",
                  "roundtrip/pipe/process/" + _RT),
        cpp_fastest=(r"throughput/[^/]+/process/size:64",
                     r"roundtrip/[^/]+/process/" + _RT),
        note="The 2008 figure is objects/s sent one way through a Queue, so "
             "this row uses the one-way `throughput` benchmarks at 64 B, and "
             "falls back to round trips (a lower bound: one round trip is "
             "two messages) only when no throughput figure exists. "
             "multiprocessing.Queue is a pipe plus locks and pickling, so "
             "the C++ counterpart is `pipe`."),
    Scenario(
        "queue-thread", "Queue between threads, one way",
        python=("throughput/py-queue/thread/size:64",
                "roundtrip/py-queue/thread/" + _RT),
        cpp_same=("throughput/queue/thread/size:64",
                  "roundtrip/queue/thread/" + _RT),
        cpp_fastest=(r"throughput/[^/]+/thread/size:64",
                     r"roundtrip/[^/]+/thread/" + _RT)),
    Scenario(
        "listener-client", "Listener/Client between processes, one way",
        python=("connection/py-unix/process/size:64",
                "connection/py-tcp/process/size:64"),
        cpp_same=("connection/unix/process/size:64",),
        cpp_fastest=(r"connection/[^/]+/process/size:64",),
        note="AF_UNIX, the default family of multiprocessing.connection "
             "on Linux."),
)


# ------------------------------------------------------------------ input

@dataclass(frozen=True)
class Result:
    """A benchmark's median items/s and spread, or its error."""
    rate: float = None
    cv: float = None
    repetitions: int = 0
    error: str = None


def results(doc, label="input"):
    """run name (without /real_time) -> Result, from a GB JSON document."""
    gbjson.validate(doc, label)
    runs, medians, cvs, errors = {}, {}, {}, {}
    for e in doc["benchmarks"]:
        run = gbjson.run_name(e)
        if e.get("error_occurred"):
            errors.setdefault(run, str(e.get("error_message", "error")))
            continue
        rate = e.get("items_per_second")
        if gbjson.is_aggregate(e, "median") and stats.is_number(rate):
            medians[run] = rate
        elif gbjson.is_aggregate(e, "cv") and stats.is_number(rate):
            cvs[run] = rate
        elif gbjson.is_iteration(e) and stats.is_number(rate) and rate > 0:
            runs.setdefault(run, []).append(rate)
    out = {}
    for run in set(runs) | set(medians) | set(errors):
        vals = runs.get(run, [])
        if run in medians and medians[run] > 0:
            out[run] = Result(medians[run], cvs.get(run), len(vals))
        elif vals:
            out[run] = Result(stats.median(vals), stats.cv(vals), len(vals))
        else:
            out[run] = Result(error=errors.get(run, "no figure"))
    return out


def kinds(doc):
    """Which runs a document holds: a subset of {"python", "cpp"}
    (Python reference benchmarks have a `py-` transport/kind)."""
    out = set()
    for e in doc.get("benchmarks", ()) if isinstance(doc, dict) else ():
        name = e.get("name") if isinstance(e, dict) else None
        if isinstance(name, str):
            parts = name.split("/")
            out.add("python" if len(parts) > 1 and
                    parts[1].startswith("py-") else "cpp")
    return out


def holds(doc, role):
    """True if doc has a benchmark that some row of the table takes as its
    `role` figure: "python" (the python patterns) or "cpp" (the others)."""
    pats = []
    for s in SCENARIOS:
        pats += s.python if role == "python" else (
            s.cpp_same + s.cpp_fastest + s.cpp_also)
    rxs = [re.compile(p) for p in pats]
    for e in doc.get("benchmarks", ()) if isinstance(doc, dict) else ():
        if isinstance(e, dict) and isinstance(e.get("name"), str):
            run = gbjson.run_name(e)
            parts = run.split("/")
            python = len(parts) > 1 and parts[1].startswith("py-")
            if python == (role == "python") and \
                    any(rx.fullmatch(run) for rx in rxs):
                return True
    return False


def check_role(doc, label, role):
    """InputError unless doc holds figures for the table's `role` column
    (see holds()): a file given for the other column (the two swapped) or
    some other program's results would only fill the table with n/a."""
    if holds(doc, role):
        return
    other = "cpp" if role == "python" else "python"
    what = {"python": "Python reference (scripts/pyref.py, py-* names)",
            "cpp": "ipcbench C++"}
    if holds(doc, other):
        raise InputError(f"{label}: holds {what[other]} results, not "
                         f"{what[role]} ones: --py and --cpp swapped?")
    raise InputError(f"{label}: none of the seed table's {what[role]} "
                     f"benchmarks in it (results of another program?)")


def check_seed(seed, label="seed"):
    """Validate the published-figures document; returns id -> figure."""
    figs = seed.get("figures") if isinstance(seed, dict) else None
    if not isinstance(figs, list):
        raise InputError(f"{label}: no \"figures\" list")
    out = {}
    for f in figs:
        if not isinstance(f, dict) or not isinstance(f.get("id"), str) \
                or not isinstance(f.get("published"), str):
            raise InputError(f"{label}: figure without \"id\"/\"published\"")
        lo, hi = f.get("low"), f.get("high")
        if (lo is None) != (hi is None) or (
                lo is not None and not (stats.is_number(lo) and stats.is_number(hi)
                                        and 0 < lo <= hi)):
            raise InputError(f"{label}: {f['id']}: bad low/high")
        out[f["id"]] = f
    missing = [s.id for s in SCENARIOS if s.id not in out]
    if missing:
        raise InputError(f"{label}: missing figures: {', '.join(missing)}")
    return out


# ------------------------------------------------------------------ table

@dataclass(frozen=True)
class Pick:
    name: str = None
    result: Result = None


def pick(res, patterns, exclude_prefix=None):
    """First pattern with a usable match; the fastest of its matches.

    With no usable match, returns the first failed match (to show its
    error) or an empty Pick.
    """
    failed = None
    for pat in patterns:
        rx = re.compile(pat)
        hits = []
        for name, r in res.items():
            parts = name.split("/")
            if not rx.fullmatch(name):
                continue
            if len(parts) > 1 and (parts[1] in NOT_TRANSPORTS or (
                    exclude_prefix and parts[1].startswith(exclude_prefix))):
                continue
            if r.rate is None:
                failed = failed or Pick(name, r)
            else:
                hits.append((r.rate, name, r))
        if hits:
            rate, name, r = max(hits)
            return Pick(name, r)
    return failed or Pick()


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    figure: dict
    python: Pick
    cpp_same: Pick
    cpp_fastest: Pick
    python_by_kind: dict  # "roundtrip" -> Pick: Python's fallback figures
    cpp_also: Pick = Pick()   # Scenario.cpp_also's figure, if another one

    def ratio_2008(self):
        """(low, high) of Python today / 2008, or None."""
        lo, hi = self.figure.get("low"), self.figure.get("high")
        r = self.python.result
        if lo is None or r is None or r.rate is None:
            return None
        return (r.rate / hi, r.rate / lo)

    def python_for(self, pick_):
        """The Python figure of the same kind (one-way or round trip)."""
        if pick_.name is None or self.python.name is None:
            return self.python
        kind = pick_.name.split("/")[0]
        if self.python.name.split("/")[0] == kind:
            return self.python
        return self.python_by_kind.get(kind, Pick())

    def ratio(self, pick_):
        """C++ / Python, both one-way or both round trips, or None."""
        p, c = self.python_for(pick_).result, pick_.result
        if p is None or c is None or p.rate is None or c.rate is None:
            return None
        return c.rate / p.rate


def build_rows(cpp_res, py_res, figures):
    rows = []
    for s in SCENARIOS:
        kinds = {p.split("/")[0] for p in s.python}
        by_kind = {k: pick(py_res, [p for p in s.python
                                    if p.split("/")[0] == k])
                   for k in kinds}
        same = pick(cpp_res, s.cpp_same, exclude_prefix="py-")
        also = pick(cpp_res, s.cpp_also, exclude_prefix="py-") \
            if s.cpp_also else Pick()
        if also.name == same.name:      # cpp_same fell back to it
            also = Pick()
        rows.append(Row(s, figures[s.id],
                        pick(py_res, s.python), same,
                        pick(cpp_res, s.cpp_fastest, exclude_prefix="py-"),
                        by_kind, also))
    return rows


def fmt_rate(x):
    """3 significant digits with k/M/G: 18000 -> '18.0k'."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            v = x / div
            break
    else:
        v, suffix = x, ""
    digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return f"{v:.{digits}f}{suffix}"


def fmt_ratio(x):
    if x is None:
        return "n/a"
    if isinstance(x, tuple):
        lo, hi = x
        if fmt_ratio(lo) == fmt_ratio(hi):
            return fmt_ratio(lo)
        return f"{fmt_ratio(lo)[:-1]}-{fmt_ratio(hi)}"
    if x >= 10:
        return f"{x:,.0f}x"
    return f"{x:.1f}x" if x >= 0.1 else f"{x:.2g}x"


def fmt_cell(p):
    """A rate cell: the figure, then the benchmark on a second line.

    Lines in a cell are separated by "\n"; markdown() turns them into
    <br>, plot.py's HTML too.
    """
    if p.result is None:
        return "n/a"
    if p.result.rate is None:
        msg = p.result.error.replace("|", "/")[:60]
        return f"n/a (error: {msg})\n`{p.name}`"
    cv = ("" if p.result.cv is None
          else f" ±{p.result.cv * 100:.0f}%")
    return f"{fmt_rate(p.result.rate)}/s{cv}\n`{p.name}`"


def _ratio_cell(row, pick_):
    text = fmt_ratio(row.ratio(pick_))
    py = row.python_for(pick_)
    if text != "n/a" and py is not row.python:
        text += f"\n(vs `{py.name}`)"
    return text


def _context_line(doc, label):
    c = doc.get("context") if isinstance(doc, dict) else None
    if not isinstance(c, dict):
        return f"- {label}: no context recorded."
    bits = [str(c[k]) for k in ("cpu_model", "compiler", "kernel")
            if c.get(k)]
    if c.get("num_cpus"):
        bits.append(f"{c['num_cpus']} CPUs")
    if c.get("date"):
        bits.append(f"run {c['date']}")
    if c.get("git_commit"):
        bits.append(f"commit {c['git_commit']}")
    return f"- {label}: " + ", ".join(bits) + "."


TITLE = "The seed: `processing` (2008), Python today, C++"
HEADERS = ("scenario", "2008", "Python today", "today ÷ 2008",
           "C++, same scenario", "÷ Python", "fastest C++", "÷ Python")
ALIGN = ("left",) + ("right",) * 7
CHART_ALT = "2008 vs Python today vs C++ (log scale)"
CHART_CAPTION = (
    "Operations per second on a log scale for each seed scenario: the 2008 "
    "figure as published (grey; the whisker spans a published range), "
    "Python today, the C++ benchmark of the same scenario (for the plain "
    "dict also the C++ lookup that hashes its key each time) and the "
    "fastest C++ transport for it. Hollow dots are round trips/s, used "
    "where no one-way figure exists; \"n/a\" marks a figure that is missing "
    "or errored.")


def intro(seed):
    """The paragraph before the table."""
    return (
        "The `processing` package, which became Python's `multiprocessing`, "
        f"published these figures measured on a {seed.get('machine', '?')}. "
        "Below, each is set beside the same scenario measured today with "
        "CPython (`scripts/pyref.py`) and with ipcbench's C++ benchmarks on "
        "this machine. Rates are medians over repetitions (± is the "
        "coefficient of variation); ratios divide medians.")


def table_cells(rows):
    """The table body: one list of cells (str) per row, as HEADERS. A row
    with a second C++ figure (Row.cpp_also) shows it under the first."""
    out = []
    for r in rows:
        same, ratio = fmt_cell(r.cpp_same), _ratio_cell(r, r.cpp_same)
        if r.cpp_also.name:
            same += f"\n{r.scenario.also_label}: {fmt_cell(r.cpp_also)}"
            ratio += f"\n{r.scenario.also_label}: " \
                f"{_ratio_cell(r, r.cpp_also)}"
        out.append([r.scenario.label, r.figure["published"],
                    fmt_cell(r.python), fmt_ratio(r.ratio_2008()), same,
                    ratio, fmt_cell(r.cpp_fastest),
                    _ratio_cell(r, r.cpp_fastest)])
    return out


def notes(rows, cpp_doc, py_doc, seed):
    """The paragraphs after the table and chart: how rows are matched,
    where the figures come from, the caveat. A paragraph whose lines all
    start with "- " is a list."""
    matched = [f"- {r.scenario.label}: {r.scenario.note}"
               for r in rows if r.scenario.note]
    matched.append(
        "- Python sends `bytes` objects of the stated size (sequence "
        "number + CRC-32 checked on receipt) through the standard "
        "API (`put`/`get`, `send`/`recv`, pickled); C++ sends raw "
        "bytes. A `roundtrip` benchmark counts round trips/s; a ratio "
        "always compares like with like (one-way with one-way, round "
        "trips with round trips) and names the Python benchmark "
        "when it is not the one shown in the row.")
    sources = []
    for s in seed.get("sources", []):
        text = s.get("name", "")
        if s.get("url"):
            text += f" <{s['url']}>"
        if s.get("quote"):
            text += f": \"{s['quote']}\""
        if s.get("note"):
            text += f" ({s['note']})"
        sources.append(f"- {text}")
    sources.append(_context_line(py_doc, "Python today"))
    sources.append("- C++: no results given." if cpp_doc is None
                   else _context_line(cpp_doc, "C++"))
    return ["How the rows are matched:", "\n".join(matched),
            "Where the figures come from:", "\n".join(sources),
            "These are indications, not precise figures: the machine "
            "has 2 shared vCPUs, other jobs run at the same time, and "
            "the Python and C++ runs were taken at different times "
            "(absolute figures from separate runs can differ several-"
            "fold here, see docs/MEASURING.md). The 2008 figures come from "
            "another machine, another Python and another kernel."]


def _md_row(cells):
    return "| " + " | ".join(c.replace("\n", "<br>") for c in cells) + " |"


def markdown(rows, cpp_doc, py_doc, seed, image=None):
    """The section's Markdown text (the seed.py CLI's seed.md)."""
    out = [f"## {TITLE}", "", intro(seed), "", _md_row(HEADERS),
           "|" + "|".join("---:" if a == "right" else "---"
                          for a in ALIGN) + "|"]
    out += [_md_row(cells) for cells in table_cells(rows)]
    out.append("")
    if image:
        out += [f"![{CHART_ALT}]({image})", ""]
    for para in notes(rows, cpp_doc, py_doc, seed):
        out += [para, ""]
    return "\n".join(out)


# ------------------------------------------------------------------ chart

SERIES = (("2008 (published)", "#7f7f7f", "D"),
          ("Python today", "#3572A5", "o"),
          ("C++, same scenario", "#f34b7d", "s"),
          ("C++, hashing each lookup", "#8c564b", "v"),
          ("fastest C++", "#b5172e", "^"))


def figure(rows):
    """A dot per figure on a log axis (no bars: a bar on a log axis starts
    at an arbitrary value), one row per scenario: 2008 (its published
    range as a whisker), Python today, C++ same, the hashing C++ lookup
    where a row has one, fastest C++. Hollow: round trips/s."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(10, 1.4 + 0.9 * len(rows)), layout="constrained")
    ax = fig.subplots()
    used, values, trips_seen = set(), [], False
    n = len(SERIES)
    for j, r in enumerate(rows):
        picks = (None, r.python, r.cpp_same, r.cpp_also, r.cpp_fastest)
        for i, (label, colour, marker) in enumerate(SERIES):
            y = j + (i - (n - 1) / 2) * 0.16
            if i == 0:
                lo, hi = r.figure.get("low"), r.figure.get("high")
                if lo is None:
                    ax.annotate("2008: no figure given", (0.005, y),
                                xycoords=("axes fraction", "data"),
                                va="center", fontsize=7, color="#555555")
                    continue
                v, text = math.sqrt(lo * hi), (
                    fmt_rate(lo) if lo == hi else
                    f"{fmt_rate(lo)}-{fmt_rate(hi)}")
                ax.errorbar([v], [y], xerr=[[v - lo], [hi - v]], fmt=marker,
                            color=colour, capsize=3, markersize=6)
                values += [lo, hi]
                top = hi
            else:
                p = picks[i]
                if p is None or p.name is None:
                    continue
                if p.result is None or p.result.rate is None:
                    ax.annotate(f"{label}: n/a", (0.005, y),
                                xycoords=("axes fraction", "data"),
                                va="center", fontsize=7, color="#555555")
                    continue
                v = top = p.result.rate
                trip = p.name.startswith("roundtrip/")
                trips_seen |= trip
                ax.plot([v], [y], marker=marker, color=colour,
                        markersize=6, linestyle="none",
                        markerfacecolor="white" if trip else colour)
                text = fmt_rate(v)
                values.append(v)
            used.add(i)
            ax.annotate(text, (top, y), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7)
    handles = [Line2D([], [], linestyle="none", marker=m, color=c, label=lb)
               for i, (lb, c, m) in enumerate(SERIES) if i in used]
    if trips_seen:
        handles.append(Line2D([], [], linestyle="none", marker="o",
                              color="#333333", markerfacecolor="white",
                              label="hollow: round trips/s (no one-way "
                              "figure)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=8, frameon=False)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_rate(v)))
    if values:
        lo, hi = min(values), max(values)
        ax.set_xlim(lo / 3, hi * 8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([_wrap(r.scenario.label) for r in rows], fontsize=8)
    for j in range(1, len(rows), 2):
        ax.axhspan(j - 0.5, j + 0.5, color="#f4f4f4", zorder=0)
    ax.set_xlabel("operations per second (log scale; higher is better)")
    ax.set_title("processing (2008, Pentium 4 2.5 GHz) vs Python today "
                 "vs C++ on this machine", fontsize=10)
    ax.grid(axis="x", which="major", alpha=0.3)
    return fig


def _wrap(text, width=22):
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "\n".join(lines)


def load_rows(cpp_data, py_data, seed):
    """Validated documents -> the table's rows (Row), computed once for
    both renderings (markdown() here, a Table in plot.py).

    cpp_data may be None (C++ columns n/a). Raises InputError on bad data.
    """
    figures = check_seed(seed)
    py_res = results(py_data, "Python results")
    cpp_res = {} if cpp_data is None else results(cpp_data, "C++ results")
    return build_rows(cpp_res, py_res, figures)


def seed_section(cpp_data, py_data, seed, image="seed.svg"):
    """(Markdown text, matplotlib Figure) for the seed section.

    cpp_data may be None (C++ columns n/a). Raises InputError on bad data.
    """
    rows = load_rows(cpp_data, py_data, seed)
    return markdown(rows, cpp_data, py_data, seed, image), figure(rows)
