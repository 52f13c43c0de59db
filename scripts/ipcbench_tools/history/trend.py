"""Trend charts of the history and their index (history.py trend): per
machine, one chart per scenario group (the first name component:
roundtrip, throughput, floor, ...) with one small panel per benchmark and
placement: the median of each commit's repetitions (dot) and their min-max
(bar), in commit order, and the steps detect.py finds (dashed red line).
The index (index.md, index.html) is rendered and written all-or-nothing
by plot.py's report machinery (report/render.py)."""
import datetime
import math
import re
import statistics

from ipcbench_tools.history import detect
from ipcbench_tools.report.blocks import FigureBlock, Section, Table
from ipcbench_tools.report.charts import set_log_axis, tick_seconds
from ipcbench_tools.report.fmt import fmt_seconds
from ipcbench_tools.report.style import PAGE_WIDTH_IN

DOT = "#1f77b4"
STEP = "#d62728"
PANEL_H_IN = 1.75
MAX_COLS = 4


def scenario_of(name):
    return name.split("/", 1)[0]


def short(commit):
    """A commit as the charts name it: 8 hex digits (+ '-dirty')."""
    dirty = commit.endswith("-dirty")
    base = commit[:-6] if dirty else commit
    return base[:8] + ("-dirty" if dirty else "")


def fmt_change(ratio):
    return f"{(ratio - 1) * 100:+.0f}%" if math.isfinite(ratio) else "inf"


def panel(ax, series, positions, result, threshold, n_commits):
    from matplotlib.ticker import MaxNLocator, NullLocator
    xs = [positions[c] + 1 for c in series.commits]
    med = [statistics.median(v) * 1e-9 for v in series.values]
    lo = [min(v) * 1e-9 for v in series.values]
    hi = [max(v) * 1e-9 for v in series.values]
    ax.vlines(xs, lo, hi, color=DOT, linewidth=0.8)
    ax.plot(xs, med, "o-", color=DOT, markersize=3, linewidth=0.8)
    # The y range follows the medians; a wild repetition (several-fold on a
    # shared machine) is clipped rather than flattening every other point.
    span_lo, span_hi = min(med), max(med)
    shown = [max(v, span_lo / 3) for v in lo] + \
        [min(v, span_hi * 3) for v in hi]
    set_log_axis(ax, "y", shown, tick_seconds, pad=1.12, max_ticks=4)
    ax.yaxis.set_minor_locator(NullLocator())   # minor ticks: slow, unread
    ax.set_xlim(0.5, n_commits + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.tick_params(labelsize=6.5, length=2, pad=1.5)
    ax.grid(True, color="#b0b0b0", alpha=0.35, linewidth=0.6)
    ax.set_axisbelow(True)
    title = series.name.split("/", 1)[1] if "/" in series.name else \
        series.name
    ax.set_title(title, fontsize=7, pad=2.5)
    if result is None or not result.decided:
        return
    for step in result.counted(threshold):
        x = positions[step.after] + 0.5
        ax.axvline(x, color=STEP, linestyle="--", linewidth=1.1)
        ax.annotate(f"{fmt_change(step.ratio)} at #{positions[step.after] + 1}",
                    (x, 1.0), xycoords=("data", "axes fraction"),
                    # on the side of the line with more room
                    xytext=(2 if x < (n_commits + 1) / 2 else -2, -2),
                    textcoords="offset points", va="top",
                    ha="left" if x < (n_commits + 1) / 2 else "right",
                    fontsize=6.5, color=STEP, fontweight="bold")


def chart(machine, scenario, series, positions, results, threshold,
          n_commits):
    """One figure: a panel per series of the scenario group. Laid out by
    hand (fixed margins in inches): a layout engine takes minutes over a
    hundred panels."""
    from matplotlib.figure import Figure
    ncols = min(MAX_COLS, len(series))
    nrows = math.ceil(len(series) / ncols)
    width = PAGE_WIDTH_IN if ncols > 1 else 5.0
    top_in, bottom_in, left_in, right_in = 0.45, 0.4, 0.62, 0.12
    gap_w, gap_h = 0.72, 0.42
    height = top_in + bottom_in + PANEL_H_IN * nrows
    fig = Figure(figsize=(width, height))
    panel_w = (width - left_in - right_in - gap_w * (ncols - 1)) / ncols
    panel_h = PANEL_H_IN - gap_h
    grid = fig.add_gridspec(
        nrows, ncols, left=left_in / width, right=1 - right_in / width,
        top=1 - top_in / height, bottom=bottom_in / height,
        wspace=gap_w / panel_w, hspace=gap_h / panel_h)
    for i, s in enumerate(series):
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        panel(ax, s, positions, results.get(s.name), threshold, n_commits)
    fig.suptitle(f"{scenario}: median per commit (bar: min-max of the "
                 f"repetitions), commits #1-#{n_commits} in order",
                 fontsize=10, fontweight="bold", y=1 - 0.08 / height,
                 va="top")
    fig.text(0.5, 0.06 / height,
             f"machine {machine.id}: {machine.label()}; red dashes: a step "
             f"found by history.py check (above {threshold * 100:g}%)",
             ha="center", va="bottom", fontsize=7, color="#555555")
    return fig


def file_stem(machine, scenario):
    return "trend-" + machine.id + "-" + re.sub(r"[^A-Za-z0-9_-]+", "_",
                                                 scenario)


def step_text(result, positions, threshold):
    if result is None:
        return ""
    if not result.decided:
        return "too little history"
    counted = result.counted(threshold)
    if not counted:
        return "none"
    return "; ".join(f"{fmt_change(s.ratio)} at #{positions[s.after] + 1} "
                     f"{short(s.after)} (p {s.p:.3f})" for s in counted)


def sections(histories, results, settings, db_label):
    """Report sections for every machine's history. results: {(machine
    id, series name): detect.Result}."""
    out = []
    for h in histories:
        m = h.machine
        positions = {c.name: i for i, c in enumerate(h.commits)}
        rows = [[f"#{i + 1}", f"`{c.name}`", _date(c.first_run), str(c.runs)]
                for i, c in enumerate(h.commits)]
        blocks = [f"{m.label()}: {m.runs} runs of {m.commits} commits "
                  f"in `{db_label}`. Commit order: the commit's time in "
                  "git when it was added, else the date of its first run.",
                  Table(["#", "commit", "first run", "runs"], rows,
                        "Commits", ["right", "left", "left", "right"])]
        out.append(Section(f"Machine {m.id}", blocks))
        groups = {}
        for s in h.series:
            groups.setdefault(scenario_of(s.benchmark), []).append(s)
        for scenario, series in groups.items():
            res = {s.name: results.get((m.id, s.name)) for s in series}
            fig = chart(m, scenario, series, positions, res,
                        settings.threshold, len(h.commits))
            table = Table(
                ["benchmark", "commits", "first", "last", "last/first",
                 "steps (check)"],
                [[s.name, str(len(s.commits)),
                  fmt_seconds(statistics.median(s.values[0]) * 1e-9),
                  fmt_seconds(statistics.median(s.values[-1]) * 1e-9),
                  fmt_change(statistics.median(s.values[-1]) /
                             statistics.median(s.values[0]))
                  if statistics.median(s.values[0]) > 0 else "-",
                  step_text(res[s.name], positions, settings.threshold)]
                 for s in series],
                align=["left", "right", "right", "right", "right", "left"])
            out.append(Section(
                f"{scenario} on {m.id}",
                [FigureBlock(file_stem(m, scenario), fig,
                             f"{scenario} on machine {m.id}: one panel per "
                             "benchmark and placement; dot: median of the "
                             "commit's repetitions, bar: their min-max "
                             "(clipped at 3x the medians' range); x: commit "
                             "number (table above); red dashes: a step "
                             f"history.py check reports (p < "
                             f"{settings.alpha:g}, above "
                             f"{settings.threshold * 100:g}%)."),
                 table]))
    return out


def _date(timestamp):
    if not timestamp:
        return "-"
    return datetime.datetime.fromtimestamp(
        timestamp, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

