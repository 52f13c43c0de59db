"""The report's charts: each plot_* function takes a Dataset and returns a
matplotlib Figure (or None when it has nothing to draw). No pyplot state."""
import math

from ipcbench_tools.report.data import (CONTEXT_ORDER, SCENARIO_TITLES, Key,
                                        order_index, param_text, point_order)
from ipcbench_tools.report.style import (COMPARE_COLOURS, CONTEXT_BAR,
                                         READER_COLOURS, RSS_LINE, colour_of,
                                         context_bar, marker_of)
from ipcbench_tools.report.fmt import (context_footer, fmt_ratio, fmt_seconds,
                                       fmt_si, fmt_size, speedup, _bps)

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


def line_panel(ax, points_by_subject, metric, ranks):
    """One line with error bars per subject against message size."""
    for subject, pts in points_by_subject.items():
        pts = sorted(pts, key=lambda p: p.key.param)
        med, yerr = errbar_args(pts)
        dashed = subject == "memcpy"
        py = subject.startswith("py-")
        ax.errorbar([p.key.param for p in pts], med, yerr=yerr,
                    label=subject + (" (bound)" if dashed else ""),
                    color=colour_of(ranks, subject), marker=None if dashed else
                    marker_of(ranks, subject), markersize=6,
                    markerfacecolor="white" if py else None,
                    linestyle="--" if dashed else ":" if py else "-",
                    linewidth=1.6, capsize=3, elinewidth=1)


def by_subject(points):
    out = {}
    for p in sorted(points, key=point_order):
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


def subject_bars(ax, ds, pts, ctxs, fmt):
    """Bars per subject (x) and context (side by side, by fill); the
    subjects' labels set. Returns the subjects and the (subject, context)
    -> Point index."""
    subjects = list(by_subject(pts))
    index = {(p.key.subject, p.key.context): p for p in pts}
    grouped_bars(ax, subjects, ctxs, lambda g, m: index.get((g, m)),
                 lambda g, m: colour_of(ds.ranks, g),
                 lambda g, m: context_bar(m), fmt)
    ax.set_xticklabels(subjects)
    return subjects, index


def context_legend(contexts):
    from matplotlib.patches import Patch
    return [Patch(facecolor="#888888", edgecolor="#333333",
                  alpha=CONTEXT_BAR.get(c, {}).get("alpha", 1.0),
                  hatch=context_bar(c)["hatch"]) for c in
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
                   "latency", ds.ranks)
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
    fig, axes = new_figure(max(7.0, 1.0 * len(by_subject(pts)) + 3), 5.0)
    ax = axes[0]
    subjects, index = subject_bars(ax, ds, pts, ctxs,
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
        line_panel(ax, groups, "bytes", ds.ranks)
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
        latency = scenario == "connection-roundtrip"
        fmt = (lambda v: fmt_seconds(v, 2)) if latency else \
            (lambda v: fmt_si(v, digits=2))
        subject_bars(ax, ds, pts, ctxs, fmt)
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
    fig, axes = new_figure(max(6.5, 1.1 * len(by_subject(pts)) + 3), 4.8)
    ax = axes[0]
    subject_bars(ax, ds, pts, ctxs, lambda v: fmt_seconds(v, 2))
    bar_log_axis(ax, pts, tick_seconds)
    ax.set_ylabel("round-trip latency (log)")
    return finish(fig, axes, "The floor: smallest possible round trip per "
                  "mechanism (lower is better)", ds, context_legend(ctxs),
                  ctxs, "context")


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
        subject_bars(ax, ds, plain, ctxs, lambda v: fmt_seconds(v, 2))
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
    finish(fig, axes, f"Comparison: {SCENARIO_TITLES.get(scenario, scenario)} "
           f"({' vs '.join(d.label for d in datasets)})", datasets, h, lab,
           "file", legend_ax)
    for ax in fig.axes:     # finish() gridded only the axes it was given
        if ax.axison:
            ax.grid(True, which="major", color="#b0b0b0", alpha=0.35,
                    linewidth=0.8)
    return fig



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
            ax.plot(xs, ys, label=subject, color=colour_of(ds.ranks, subject),
                    marker=marker_of(ds.ranks, subject), markersize=6,
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
