#!/usr/bin/python3
"""Regenerate every ipcbench chart and the report from Google Benchmark JSON.

    scripts/plot.py                          # results/latest.json (+ results/
                                             # pyref.json if present) -> reports/
    scripts/plot.py a.json b.json            # charts of a.json + a-vs-b comparison
    scripts/plot.py --merge cpp.json py.json # pool the files into one data set
    scripts/plot.py results/latest.json --pyref results/pyref.json
                                             # + the seed table (what run.sh does)

Reads Google Benchmark 1.7.1 JSON (names `scenario/subject/context/key:value`,
README.md "Names and figures"). Where a benchmark has repetitions, the point is the median of the per-repetition
("iteration") entries and the error bar their min-max (or interquartile,
--spread iqr); without them the "median" aggregate or the single entry is used.
Errored entries are left out with a warning, never plotted as zero. Names,
order and scenarios come from the results: a scenario the report has no
section for gets a generic table and a warning on stderr. Why figures are
medians of interleaved repetitions: docs/MEASURING.md.

Writes <name>.png and <name>.svg per chart, index.md and a self-contained
index.html into --out (default reports/). Everything is rendered into a
temporary directory first and moved into place only when all of it worked.

When the inputs include a Python reference run (scripts/pyref.py output:
benchmarks named py-*, given with --pyref or among the files), the report
gains the seed section: each scenario of the `processing` package's 2008
figures (data/processing-2008.json) beside Python today and the C++ figure,
with ratios (the table, chart and notes come from scripts/seed.py). --pyref
only feeds that section; --merge also draws the py-* benchmarks in the charts.

With a results history (scripts/history.py; --history, or results/history.sqlite
when no JSON file is named) the report says what it holds and links to its
trend charts when <out>/history/index.html exists (./run.sh draws them there).

The report lives in scripts/ipcbench_tools/report/ (data, fmt, style,
charts, blocks, sections, render). It is a list of sections
(sections.SECTION_BUILDERS): each builder takes a ReportInput and returns a
Section (title, blocks: str paragraphs, Table, FigureBlock), a list of them,
or None when it has no data. To add a section, write a function of that
shape and append it to SECTION_BUILDERS.
"""
import os
import signal


def _early_interrupt(signum, frame):  # see ipcbench_tools/early_interrupt.py
    os.write(2, b"plot.py: interrupted\n")
    os._exit(130)


_early_interrupt.early_interrupt = True
if __name__ == "__main__" and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _early_interrupt)  # before the imports

import re
import sys
from pathlib import Path

from ipcbench_tools import cli, gbjson
from ipcbench_tools import seedtable as seed
from ipcbench_tools.errors import InputError, UsageError
from ipcbench_tools.history import store
from ipcbench_tools.report.blocks import HistoryLink, ReportInput
from ipcbench_tools.report.data import (display_path, merge_datasets,
                                        parse_results)
from ipcbench_tools.report.render import publish
from ipcbench_tools.report.sections import build_sections

PROG = "plot.py"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO / "results" / "latest.json"
DEFAULT_PYREF = REPO / "results" / "pyref.json"   # used when no file is named
DEFAULT_HISTORY = REPO / "results" / "history.sqlite"   # likewise
TREND_DIR = "history"      # <out>/history/: scripts/history.py trend
DEFAULT_OUT = REPO / "reports"
EXIT_CODES = {0: "report written", 1: "bad input file, matplotlib missing or "
              "cannot write (one line on stderr, nothing written)",
              2: "bad command line", 130: "interrupted (Ctrl-C)"}


def build_parser():
    p = cli.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                           epilog=__doc__.split("\n\n", 1)[1],
                           exit_codes=EXIT_CODES)
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
                   "(faster; the HTML then embeds PNG instead of SVG)")
    p.add_argument("--filter", metavar="REGEX", default=None,
                   help="only benchmarks whose run_name matches")
    p.add_argument("--history", metavar="FILE", default=None,
                   help="a results history (scripts/history.py): the report "
                   "says what it holds and links to <out>/history/ when its "
                   "trend charts are there. Default: results/history.sqlite "
                   "when no JSON file is named and it exists")
    return p


def history_link(path, out):
    """HistoryLink for the report, None when path holds no history."""
    counts = store.summary(path)
    if counts is None:
        return None
    trend = f"{TREND_DIR}/index.html" \
        if (Path(out) / TREND_DIR / "index.html").is_file() else None
    return HistoryLink(display_path(path), *counts, trend=trend)


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
        doc = gbjson.load(path)
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
    out = Path(args.out) if args.out else DEFAULT_OUT
    history = args.history
    if history is None and not args.files and DEFAULT_HISTORY.exists():
        history = str(DEFAULT_HISTORY)
    if history is not None:
        inp.history = history_link(history, out)
        if inp.history is None:
            raise InputError(f"--history {history}: no readable history "
                             "(scripts/history.py add creates one)")
    sections = build_sections(inp)
    for w in inp.warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    for note in inp.notes:
        print(note)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    names = publish(sections, out, formats=formats)
    charts = sorted({n.rsplit(".", 1)[0] for n in names
                     if n.endswith(".png")})
    print(f"wrote {len(charts)} charts ({', '.join(charts)}) and "
          f"index.md, index.html to {out}")
    return 0


def main(argv=None) -> int:
    return cli.run_main(PROG, _main, argv, input_code=1)


def _main(argv):
    # Imported here, inside run_main: a Ctrl-C during its ~50 ms is exit 130.
    try:
        import matplotlib
    except ImportError:
        raise InputError("matplotlib is missing: install the Debian package "
                         "python3-matplotlib (apt-get install "
                         "python3-matplotlib)") from None
    matplotlib.use("Agg")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
