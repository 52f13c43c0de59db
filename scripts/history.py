#!/usr/bin/python3
"""history.py - the results history: every run in one SQLite file, keyed by
machine and commit; trend charts; change points over the commits.

    scripts/history.py add results/*.json           # results/history.sqlite
    scripts/history.py trend --out reports/history  # charts, index.md/.html
    scripts/history.py check --last 5               # exit 1: a recent step
    scripts/history.py export --format csv > history.csv
    scripts/history.py --db ci/history.sqlite check --machine 3f2a

add: Google Benchmark JSON from ipcbench or scripts/pyref.py. A run is
keyed by its machine (a fingerprint of the context: CPU model, CPU count,
kernel, host type = the host name unless --host names it), its commit
(context git_commit; "-dirty" kept apart) and its date; every repetition
of every benchmark is kept, with its placement (the /pin:<p> of the name).
Adding the same run twice changes nothing (runs are identified by their
content). A file that is not Google Benchmark JSON, or is truncated, stops
the whole add with one line on stderr and exit 2, and the store is left as
it was. Adds are transactions: several at once are safe.

trend: one chart per scenario group (roundtrip, throughput, ...) and
machine, a panel per benchmark: median and min-max of each commit's
repetitions, commits in order, the steps check reports marked; plus
index.md and index.html (written all-or-nothing).

check: E-Divisive means with a permutation test over each benchmark's
per-commit medians on each machine (ipcbench_tools/history/detect.py says
how and why; scripts/history_experiment.py measures its false alarms and
detection rate). It reports every step above --threshold with its size,
p-value and the commits around it. A benchmark needs --min-segment commits
on each side of a step, and at least 11 commits in all with the defaults,
before anything can be said about it.

Commit order: the commit's time in git (looked up when the run is added,
in this repository), else the date of its first run.
"""
import csv
import io
import json
import re
import sys
from pathlib import Path

from ipcbench_tools import atomic, cli
from ipcbench_tools.errors import InputError, UsageError
from ipcbench_tools.history import detect, ingest, store
from ipcbench_tools.report.data import display_path

PROG = "history.py"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_DB = REPO / "results" / "history.sqlite"
EXIT_OK, EXIT_STEP, EXIT_BAD, EXIT_TOO_LITTLE = 0, 1, 2, 3
EXIT_CODES = {
    EXIT_OK: "done; check: no step above the threshold within the last N "
    "commits",
    EXIT_STEP: "check: a step above the threshold within the last N commits "
    "(see --fail-on)",
    EXIT_BAD: "bad input or command line: a file that is not Google "
    "Benchmark JSON or is truncated (add then stores nothing), a missing "
    "or unreadable history (one line on stderr)",
    EXIT_TOO_LITTLE: "check: too little history to decide (no benchmark has "
    "enough commits on any machine)",
    cli.INTERRUPTED_CODE: "interrupted (Ctrl-C)",
}


def positive_int(text):
    return cli.bounded(int, lambda v: v > 0, "must be at least 1")(text)


def build_parser():
    doc = __doc__.split("\n\n")
    p = cli.ArgumentParser(prog=PROG, description=doc[0],
                           epilog="\n\n".join(doc[1:]),
                           exit_codes=EXIT_CODES)
    p.add_argument("--db", metavar="FILE", default=None,
                   help="the history (default results/history.sqlite)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    a = sub.add_parser("add", help="add results files to the history")
    a.add_argument("files", nargs="+", metavar="JSON",
                   help="Google Benchmark JSON (ipcbench, scripts/pyref.py)")
    a.add_argument("--host", metavar="NAME",
                   help="host type for the machine fingerprint instead of "
                   "the context's host_name (e.g. a CI runner label)")

    t = sub.add_parser("trend", help="trend charts and their index")
    t.add_argument("--out", metavar="DIR", required=True,
                   help="output directory (index.md, index.html, charts)")
    t.add_argument("--formats", default="png", metavar="LIST",
                   help="png (default) or png,svg (the HTML then embeds "
                   "SVG)")
    select_args(t)
    detect_args(t)

    c = sub.add_parser(
        "check", help="change points over the commits",
        description="Change points (E-Divisive means, permutation test) in "
        "each benchmark's per-commit medians on each machine. Every "
        "benchmark checked is a chance of a false alarm (about 1% of "
        "step-free histories show a step somewhere, 0.2% within the last 5 "
        "commits, on this project's machine: scripts/history_experiment.py)"
        ": in CI, --filter the steady ones.")
    c.add_argument("--last", type=positive_int, default=5, metavar="N",
                   help="exit 1 when a step lies within the machine's last "
                   "N commits (default 5; a step is seen once "
                   "--min-segment commits follow it)")
    c.add_argument("--fail-on", choices=("any", "slower"), default="any",
                   help="which recent steps exit 1: any (default) or only "
                   "slowdowns")
    c.add_argument("--markdown", metavar="FILE",
                   help="also write the report as Markdown (e.g. for "
                   "$GITHUB_STEP_SUMMARY)")
    select_args(c)
    detect_args(c)

    e = sub.add_parser("export", help="every sample as CSV or JSON")
    e.add_argument("--format", choices=("csv", "json"), default="csv")
    e.add_argument("--out", metavar="FILE",
                   help="write to FILE (atomically) instead of stdout")
    select_args(e)
    return p


def select_args(p):
    p.add_argument("--filter", metavar="REGEX",
                   help="only benchmarks whose name (with /pin:<p> when "
                   "pinned) matches")
    p.add_argument("--machine", metavar="M",
                   help="only this machine: an id prefix or a piece of its "
                   "description (default: every machine)")


def detect_args(p):
    p.add_argument("--threshold", type=cli.bounded(
        float, lambda v: 0 <= v < 10, "must be 0 .. 10"),
        default=detect.DEFAULT_THRESHOLD, metavar="FRACTION",
        help="a step counts when the median moved by more than this "
        f"(default {detect.DEFAULT_THRESHOLD:g} = "
        f"{detect.DEFAULT_THRESHOLD * 100:g}%%)")
    p.add_argument("--alpha", type=cli.bounded(
        float, lambda v: 0 < v < 1, "must be between 0 and 1"),
        default=detect.DEFAULT_ALPHA,
        help="significance of each change point (permutation test; "
        f"default {detect.DEFAULT_ALPHA:g})")
    p.add_argument("--min-segment", type=cli.bounded(
        int, lambda v: v >= 2, "must be at least 2"),
        default=detect.DEFAULT_MIN_SEGMENT, metavar="N",
        help="commits needed on each side of a step (default "
        f"{detect.DEFAULT_MIN_SEGMENT})")
    p.add_argument("--permutations", type=cli.bounded(
        int, lambda v: 99 <= v <= 100000, "must be 99 .. 100000"),
        default=detect.DEFAULT_PERMUTATIONS, metavar="N",
        help=f"shuffles per test (default {detect.DEFAULT_PERMUTATIONS})")


def settings_of(args):
    s = detect.Settings(args.threshold, args.alpha, args.min_segment,
                        args.permutations)
    if 1 / (s.permutations + 1) >= s.alpha:
        raise UsageError(f"--permutations {s.permutations}: too few for "
                         f"--alpha {s.alpha:g} (need at least "
                         f"{int(1 / s.alpha)})")
    return s


def pattern_of(args):
    if args.filter is None:
        return None
    try:
        return re.compile(args.filter)
    except re.error as e:
        raise UsageError(f"--filter: bad regular expression: {e}") from None


def db_of(args):
    return args.db if args.db is not None else str(DEFAULT_DB)


# -- add ---------------------------------------------------------------------

def cmd_add(args):
    db = db_of(args)
    # Every file is read and checked before the store is opened: one bad
    # file and nothing is written.
    runs = [ingest.load_run(path, host=args.host) for path in args.files]
    for (source, run, what) in store.add(db, runs, args.files):
        benchmarks = len({(s.benchmark, s.placement) for s in run.samples})
        if what == "present":
            print(f"{source}: already in the history (same run), nothing "
                  "added")
            continue
        notes = []
        if run.errored:
            notes.append(f"{len(run.errored)} errored benchmarks left out")
        if run.unusable:
            notes.append(f"{run.unusable} repetitions without a usable "
                         "real_time left out")
        if run.commit_time is None:
            notes.append("commit not found in git: ordered by run date")
        print(f"{source}: added {benchmarks} benchmarks, "
              f"{len(run.samples)} repetitions; machine {run.machine.id} "
              f"({run.machine.label()}), commit {run.commit}" +
              (f" ({'; '.join(notes)})" if notes else ""))
    print(f"history: {db}")
    return EXIT_OK


# -- shared by trend and check -------------------------------------------------

def histories_of(args, con, db):
    pattern = pattern_of(args)
    out = []
    for m in store.pick_machines(con, db, args.machine):
        h = store.load(con, m, pattern)
        if h.series:
            out.append(h)
    if not out:
        raise InputError(f"{db}: no benchmark matches --filter "
                         f"{args.filter!r}" if args.filter else
                         f"{db}: no benchmark figures")
    return out


def analyse_all(histories, settings):
    """{(machine id, series name): detect.Result}"""
    results = {}
    for h in histories:
        for s in h.series:
            results[(h.machine.id, s.name)] = detect.analyse(
                s.name, s.commits, s.values, settings, salt=h.machine.id)
    return results


# -- trend -------------------------------------------------------------------

def cmd_trend(args):
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    if not formats or set(formats) - {"png", "svg"}:
        raise UsageError(f"--formats {args.formats}: use png or png,svg")
    try:
        import matplotlib
    except ImportError:
        raise InputError("matplotlib is missing: install the Debian package "
                         "python3-matplotlib") from None
    matplotlib.use("Agg")
    from ipcbench_tools.history import trend
    from ipcbench_tools.report.render import publish
    settings, db, histories, results = analysed(args)
    # the index names the store relative to the repository: a committed
    # report holds no absolute paths (as plot.py's)
    sections = trend.sections(histories, results, settings,
                              display_path(db))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    names = publish(sections, out, title="ipcbench history", formats=formats,
                    generator="scripts/history.py")
    charts = sorted({n.rsplit(".", 1)[0] for n in names
                     if n.endswith(".png")})
    print(f"wrote {len(charts)} charts and index.md, index.html to {out}")
    return EXIT_OK


# -- check -------------------------------------------------------------------

def fmt_pct(ratio):
    return f"{(ratio - 1) * 100:+.1f}%"


def check_rows(histories, results, settings, last):
    """[(history, series result, step, recent)] for every counted step."""
    rows = []
    for h in histories:
        order = {c.name: i for i, c in enumerate(h.commits)}
        n = len(h.commits)
        for s in h.series:
            r = results[(h.machine.id, s.name)]
            for step in r.counted(settings.threshold):
                rows.append((h, r, step, order[step.after] >= n - last))
    return rows


def check_text(histories, results, settings, args, rows):
    from ipcbench_tools.report.fmt import fmt_seconds
    lines = []
    need = settings.min_commits()
    for h in histories:
        m = h.machine
        rs = [results[(m.id, s.name)] for s in h.series]
        decided = [r for r in rs if r.decided]
        most = max(len(r.commits) for r in rs)
        lines.append(f"machine {m.id} ({m.label()}): {len(h.commits)} "
                     f"commits, {m.runs} runs, {len(rs)} benchmarks")
        if len(decided) < len(rs):
            lines.append(f"  {len(rs) - len(decided)} benchmarks with too "
                         f"little history (fewer than {need} commits; the "
                         f"most any has: {most})")
        if decided:
            found = [x for x in rows if x[0] is h]
            lines.append(f"  {len(decided)} benchmarks checked: "
                         f"{len(found)} steps above "
                         f"{settings.threshold * 100:g}% "
                         f"({sum(x[3] for x in found)} within the last "
                         f"{args.last} commits)")
    table = []
    for h, r, step, recent in rows:
        order = [c.name for c in h.commits]
        table.append([r.name, f"#{order.index(step.after) + 1} of "
                      f"{len(order)}",
                      f"{step.before} -> {step.after}",
                      f"{fmt_seconds(step.old_ns * 1e-9)} -> "
                      f"{fmt_seconds(step.new_ns * 1e-9)}",
                      f"{fmt_pct(step.ratio)} "
                      f"{step.direction(settings.threshold)}",
                      f"{step.p:.3f}", "yes" if recent else "no",
                      h.machine.id])
    return lines, table


TABLE_HEADERS = ["benchmark", "step at", "commits", "median", "change", "p",
                 "recent", "machine"]


def format_table(table):
    if not table:
        return ""
    widths = [max(len(str(x)) for x in col)
              for col in zip(TABLE_HEADERS, *table)]
    out = ["  ".join(h.ljust(w) for h, w in zip(TABLE_HEADERS, widths))]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths))
            for row in table]
    return "\n".join(line.rstrip() for line in out) + "\n"


def check_markdown(status_line, lines, table, settings, args):
    out = ["## Benchmark history: change points", "", f"**{status_line}**",
           ""]
    out += [f"- {ln.strip()}" for ln in lines] + [""]
    if table:
        out.append("| " + " | ".join(TABLE_HEADERS) + " |")
        out.append("|" + "|".join("---" for _ in TABLE_HEADERS) + "|")
        out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row)
                + " |" for row in table]
        out.append("")
    out.append(f"E-Divisive means, permutation test (alpha "
               f"{settings.alpha:g}, {settings.permutations} shuffles), "
               f"at least {settings.min_segment} commits each side, "
               f"threshold {settings.threshold * 100:g}%, last "
               f"{args.last} commits (scripts/history.py check).")
    return "\n".join(out) + "\n"


def analysed(args):
    """The selected histories of the store and their change points:
    (settings, db path, histories, results)."""
    settings = settings_of(args)
    db = db_of(args)
    con = store.open_read(db)
    try:
        histories = histories_of(args, con, db)
    finally:
        con.close()
    return settings, db, histories, analyse_all(histories, settings)


def cmd_check(args):
    settings, _, histories, results = analysed(args)
    rows = check_rows(histories, results, settings, args.last)
    lines, table = check_text(histories, results, settings, args, rows)
    recent = [x for x in rows if x[3] and (
        args.fail_on == "any" or
        x[2].direction(settings.threshold) == "slower")]
    decided = any(r.decided for r in results.values())
    if recent:
        status = EXIT_STEP
        status_line = (f"FAIL: {len(recent)} steps above "
                       f"{settings.threshold * 100:g}% within the last "
                       f"{args.last} commits")
    elif decided:
        status = EXIT_OK
        status_line = (f"PASS: no step above {settings.threshold * 100:g}% "
                       f"within the last {args.last} commits")
    else:
        status = EXIT_TOO_LITTLE
        status_line = (f"UNDECIDED: too little history (a benchmark needs "
                       f"{settings.min_commits()} commits on one machine)")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.write(format_table(table))
    print(status_line)
    if args.markdown:
        atomic.write_file(args.markdown, check_markdown(
            status_line, lines, table, settings, args))
    if status == EXIT_TOO_LITTLE:
        cli.fail(PROG, "undecided: too little history: no benchmark has "
                 f"{settings.min_commits()} commits on one machine")
    return status


# -- export ------------------------------------------------------------------

def cmd_export(args):
    db = db_of(args)
    pattern = pattern_of(args)
    con = store.open_read(db)
    try:
        ids = [m.id for m in store.pick_machines(con, db, args.machine)]
        rows = list(store.export_rows(con, ids, pattern))
        machines = [m for m in store.machines(con) if m.id in ids]
    finally:
        con.close()
    if not rows:
        raise InputError(f"{db}: nothing to export" +
                         (f" (--filter {args.filter!r})" if args.filter
                          else ""))
    if args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]),
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue()
    else:
        runs = {}
        for r in rows:
            run = runs.setdefault(r["run"], {
                k: r[k] for k in ("run", "machine", "commit", "commit_time",
                                  "date", "source")})
            run.setdefault("samples", []).append({
                k: r[k] for k in ("benchmark", "placement", "repetition",
                                  "kind", "real_ns", "cpu_ns", "iterations")}
                | {"counters": json.loads(r["counters"]) if r["counters"]
                   else {}})
        text = json.dumps({"schema": store.SCHEMA_VERSION,
                           "machines": [vars(m) for m in machines],
                           "runs": list(runs.values())}, indent=1) + "\n"
    if args.out:
        atomic.write_file(args.out, text)
        print(f"wrote {len(rows)} samples to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


COMMANDS = {"add": cmd_add, "trend": cmd_trend, "check": cmd_check,
            "export": cmd_export}


def run(argv):
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


def main(argv=None):
    return cli.run_main(PROG, run, argv, input_code=EXIT_BAD)


if __name__ == "__main__":
    sys.exit(main())
