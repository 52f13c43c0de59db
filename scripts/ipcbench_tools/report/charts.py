"""The report's charts: each plot_* function takes a Dataset and returns a
matplotlib Figure (or None when it has nothing to draw). No pyplot state."""
import math

from ipcbench_tools.report.data import (CONTEXT_ORDER, SCENARIO_TITLES, Key,
                                        order_index, oversubscribed,
                                        param_text, placement,
                                        placement_order, point_order)
from ipcbench_tools.report.style import (COMPARE_COLOURS, CONTEXT_DOT,
                                         CONTEXT_NAMES, FLOOR_COLOUR,
                                         MARKERS, OTHER_DOT, OVERSUB_LABEL,
                                         PAGE_WIDTH_IN, PIN_DOT,
                                         READER_COLOURS, colour_of,
                                         marker_of)
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
    if len(ticks) < 2:      # narrower than the finest steps: 3 ticks inside
        ticks = sorted({float(f"{lo * (hi / lo) ** f:.3g}")
                        for f in (0.2, 0.5, 0.8)})
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
    """A figure of one row of panels; never wider than the page."""
    fig, grid = new_grid(width, height, 1, ncols, sharey)
    return fig, grid[0]


def new_grid(width, height, nrows, ncols, sharey=True):
    """nrows x ncols panels (a list of rows), at most PAGE_WIDTH_IN wide."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(min(width, PAGE_WIDTH_IN), height),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=sharey, squeeze=False)
    return fig, [list(row) for row in axes]


def finish(fig, axes, title, ds, handles=None, labels=None, legend_title=None,
           legend_ax=None, below=False):
    """Title, one legend outside the last axes (below the panels with
    below=True, or inside legend_ax, an empty grid cell), and the context
    footer (ds: one Dataset or a list)."""
    fig.suptitle(title, fontsize=12, fontweight="bold")
    for ax in axes:     # after the axes are set up: set_xscale resets grids
        ax.grid(True, which="major", color="#b0b0b0", alpha=0.35,
                linewidth=0.8)
        ax.grid(False, which="minor")
        ax.set_axisbelow(True)
    several = isinstance(ds, list)
    footer = "\n".join(f"{d.label}: {context_footer(d)}" for d in ds) \
        if several else context_footer(ds)
    engine = fig.get_layout_engine()
    if handles and legend_ax is not None:
        legend_ax.legend(handles, labels, loc="center", frameon=False,
                         title=legend_title, fontsize=10)
    elif handles and below:
        # matplotlib 3.6 lays out no figure legend: keep a strip of the
        # figure for the legend and the footer, under the panels.
        ncols = min(len(labels), 4 if max(map(len, labels)) > 22 else 6)
        rows = math.ceil(len(labels) / ncols)
        foot_in = 0.16 * (footer.count("\n") + 1) + 0.05
        strip_in = 0.2 * rows + (0.3 if legend_title else 0.12) + foot_in
        height = fig.get_figheight() + strip_in
        fig.set_figheight(height)
        frac = strip_in / height
        engine.set(rect=(0, frac, 1, 1 - frac))
        fig.legend(handles, labels, loc="upper center",
                   bbox_to_anchor=(0.5, frac), ncols=ncols, frameon=False,
                   title=legend_title, fontsize=8, title_fontsize=8,
                   handletextpad=0.4, columnspacing=1.2, borderaxespad=0.1)
        fig.text(0.5, 0.04 / height, footer, ha="center", va="bottom",
                 fontsize=7, color="#555555")
        engine.set(w_pad=0.12, h_pad=0.1)
        return fig
    elif handles:
        axes[-1].legend(handles, labels, loc="upper left",
                        bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                        frameon=False, title=legend_title, fontsize=9)
    engine.set(w_pad=0.12, h_pad=0.1)   # inches of margin
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


def pinned_points(points):
    """The points a headline chart shows: the pinned placements (cross,
    same) when the run has them, else all (a run without /pin: names, or
    only unpinned). Returns (points, placements shown, unpinned left out).
    Unpinned, a blocking transport measures the cross-core wake-up, not
    itself (docs/MEASURING.md), so it is left out when pinned figures exist.
    """
    pins = sorted({placement(p.key) for p in points}, key=placement_order)
    pinned = [q for q in pins if q not in (None, "none")]
    if not pinned:
        return list(points), pins, False
    return [p for p in points if placement(p.key) in pinned], pinned, True


def pin_title(pin):
    return {"cross": "pinned to two CPUs (--pin=cross)",
            "same": "pinned to one CPU (--pin=same)",
            "none": "unpinned (--pin=none)"}.get(pin, "placement not recorded"
                                                  if pin is None else pin)


def floor_lines(ax, ds, context, pin):
    """Dashed reference lines at the cache-line and futex floors of the
    same placement and context, measured in the same run (a spawned peer
    is a process: it gets the process floors)."""
    floors = {(p.key.subject, p.key.context, placement(p.key)): p
              for p in ds.select("floor") if p.metric == "latency"}
    drawn = []
    for kind, label, style in (("cacheline", "cache-line floor", ":"),
                               ("futex", "futex floor", "--")):
        f = floors.get((kind, context, pin)) or \
            floors.get((kind, "process" if context == "spawn" else context,
                        pin))
        if f is None:
            continue
        ax.axhline(f.median, color=FLOOR_COLOUR, linestyle=style,
                   linewidth=1.2, zorder=1)
        ax.annotate(f"{label} {fmt_seconds(f.median, 2)}", (0.01, f.median),
                    xycoords=("axes fraction", "data"), xytext=(0, 2),
                    textcoords="offset points", fontsize=7, va="bottom",
                    color=FLOOR_COLOUR)
        drawn.append(f.median)
    return drawn


def dot_rows(ax, rows, members, get, look, fmt, marked=None):
    """A horizontal dot plot (no bars: a bar on a log axis starts at an
    arbitrary baseline): one row per entry of rows (y), one dot per member
    in the row, offset a little; whiskers: the spread; the median's value
    beside the whisker. get(row, member) -> Point|None; look(member) ->
    (colour, marker); marked(point) -> True draws the dot hollow (e.g.
    oversubscribed). Returns the values drawn and {member: handle}."""
    n = max(1, len(members))
    step = min(0.22, 0.8 / n)
    values, handles = [], {}
    for ri, row in enumerate(rows):
        for mi, m in enumerate(members):
            p = get(row, m)
            if p is None:
                continue
            y = ri + (mi - (n - 1) / 2) * step
            colour, marker = look(m)
            hollow = bool(marked and marked(p))
            h = ax.errorbar([p.median], [y], xerr=[[max(0.0, p.median - p.lo)],
                                                   [max(0.0, p.hi - p.median)]],
                            fmt=marker, color=colour, markersize=6,
                            markerfacecolor="white" if hollow else colour,
                            markeredgewidth=1.4 if hollow else 1.0,
                            elinewidth=1, capsize=2, linestyle="none")
            ax.annotate(fmt(p.median), (p.hi, y), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7,
                        color="#333333")
            values += [p.lo, p.hi]
            handles.setdefault(m, h)
    ax.set_yticks(range(len(rows)))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    for ri in range(len(rows)):           # a light band per row
        if ri % 2:
            ax.axhspan(ri - 0.5, ri + 0.5, color="#f4f4f4", zorder=0)
    return values, handles


def dot_log_axis(ax, values, formatter, room=0.3):
    """Log x axis for a dot plot, with room on the right for the labels."""
    set_log_axis(ax, "x", values, formatter, pad=1.3, max_ticks=6)
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo, hi * (hi / lo) ** room)


def member_legend(members, look, titles=None):
    from matplotlib.lines import Line2D
    return [Line2D([], [], linestyle="none", marker=look(m)[1],
                   color=look(m)[0], markersize=6) for m in members], \
        [(titles or {}).get(m, m) for m in members]


def oversub_legend(handles, labels, points, ds):
    """Adds the hollow-marker entry when any point is oversubscribed."""
    from matplotlib.lines import Line2D
    if any(oversubscribed(p, ds.context) for p in points):
        handles = list(handles) + [Line2D([], [], linestyle="none",
                                          marker="o", color="#333333",
                                          markerfacecolor="white")]
        labels = list(labels) + [OVERSUB_LABEL]
    return handles, labels


def context_look(ctx):
    return CONTEXT_DOT.get(ctx, OTHER_DOT)


def pin_look(pin):
    return PIN_DOT.get(pin or "none", OTHER_DOT)


def context_legend(contexts):
    """Legend handles of the contexts' dots (for callers of the old name)."""
    return member_legend(contexts, context_look)[0]


# ------------------------------------------------------------ the charts

def plot_roundtrip(ds, scenario="roundtrip", title=None):
    """Latency per round trip against size: one row of panels per pinned
    placement, one column per context, with the floors of that placement
    as reference lines. Unpinned figures are left out when pinned ones
    exist (they measure the wake-up, not the transport)."""
    pts, pins, dropped = pinned_points(ds.select(scenario))
    if not pts:
        return None
    ctxs = contexts_of(pts)
    nrows, ncols = len(pins), len(ctxs)
    fig, grid = new_grid(PAGE_WIDTH_IN, 1.9 + 3.0 * nrows, nrows, ncols)
    values = [p.lo for p in pts] + [p.hi for p in pts]
    for r, pin in enumerate(pins):
        for c, ctx in enumerate(ctxs):
            ax = grid[r][c]
            here = [p for p in pts if p.key.context == ctx and
                    placement(p.key) == pin]
            line_panel(ax, by_subject(here), "latency", ds.ranks)
            values += floor_lines(ax, ds, ctx, pin)
            size_axis(ax, [p.key.param for p in pts])
            ax.set_title(f"{ctx}, {pin_title(pin)}" if pin else
                         f"{ctx} context", fontsize=9)
            if not here:
                ax.annotate("not measured in this placement", (0.5, 0.5),
                            xycoords="axes fraction", ha="center",
                            fontsize=8, color="#777777")
            if c == 0:
                ax.set_ylabel("round trip (log)")
            if r < nrows - 1:
                ax.set_xlabel("")
    set_log_axis(grid[0][0], "y", values, tick_seconds)
    axes = [ax for row in grid for ax in row]
    h, lab = collect_legend(axes)
    from matplotlib.lines import Line2D
    h += [Line2D([], [], color=FLOOR_COLOUR, linestyle=":"),
          Line2D([], [], color=FLOOR_COLOUR, linestyle="--")]
    lab += ["cache-line floor (same placement)", "futex floor (same "
            "placement)"]
    sub = " — pinned runs only" if dropped else ""
    return finish(fig, axes, title or "Round-trip latency vs message size"
                  f"{sub} (lower is better)", ds, h, lab, "transport",
                  below=True)


def pick_size(sizes, wanted):
    return min(sizes, key=lambda s: (abs(math.log(s / wanted)), s)) \
        if wanted > 0 else min(sizes)


def plot_processing(ds, size):
    """Threads vs processes per transport at one size: dots per context,
    one panel per pinned placement."""
    pts, pins, dropped = pinned_points(
        [p for p in ds.select("roundtrip") if p.key.param == size])
    if not pts:
        return None
    ctxs = contexts_of(pts)
    subjects = list(by_subject(pts))
    fig, axes = new_figure(PAGE_WIDTH_IN, 1.6 + 0.45 * len(subjects),
                           len(pins), sharey=True)
    index = {(p.key.subject, p.key.context, placement(p.key)): p
             for p in pts}
    values = []
    for ax, pin in zip(axes, pins):
        v, _ = dot_rows(ax, subjects, ctxs,
                        lambda s, c, pin=pin: index.get((s, c, pin)),
                        context_look, lambda v: fmt_seconds(v, 2))
        values += v
        labels = []
        for s in subjects:
            t, p = index.get((s, "thread", pin)), \
                index.get((s, "process", pin))
            labels.append(s + (f"\nprocess/thread {fmt_ratio(p.median / t.median)}"
                               if t and p else ""))
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_title(pin_title(pin) if pin else "", fontsize=9)
        ax.set_xlabel("round trip (log; lower is better)")
    for ax in axes:
        dot_log_axis(ax, values, tick_seconds)
    h, lab = member_legend(ctxs, context_look)
    return finish(fig, axes, f"Threads vs processes: {fmt_size(size)} round "
                  "trip per transport" + (" (pinned runs)" if dropped else ""),
                  ds, h, lab, "context")


def plot_throughput(ds, scenario="throughput", title=None, legend="transport"):
    """Streaming bytes/s against size per transport; memcpy as the bound."""
    pts = ds.select(scenario)
    bound = [p for p in pts if p.key.subject == "memcpy"]
    body = [p for p in pts if p.key.subject != "memcpy"]
    if not body:
        return None
    ctxs = contexts_of(body)
    fig, axes = new_figure(PAGE_WIDTH_IN, 4.6, len(ctxs), sharey=True)
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
                  "(higher is better)", ds, h, lab, legend, below=True)


def plot_dict(ds):
    """Shared-dict lookups/s: one panel per context, one row per kind
    (fastest first), a dot per reader count; hollow: oversubscribed."""
    return plot_rate_dots(ds, "dict", "reader", "lookups/s, all readers together (log)",
                          "Shared dict: lookups per second by kind and number of readers "
                          "(higher is better)")


def plot_rate_dots(ds, scenario, member, xlabel, title):
    """A rate by kind and a count (readers, workers, clients): one panel per
    context, one row per kind (fastest first), a dot per count; hollow:
    oversubscribed."""
    pts = ds.select(scenario)
    if not pts:
        return None
    ctxs = contexts_of(pts)
    counts = sorted({p.key.param for p in pts})
    index = {(p.key.subject, p.key.context, p.key.param): p for p in pts}
    rows = {}
    for ctx in ctxs:
        here = [p for p in pts if p.key.context == ctx]
        best = {}
        for p in here:
            best[p.key.subject] = max(best.get(p.key.subject, 0), p.median)
        rows[ctx] = sorted(best, key=lambda s: -best[s])
    height = 1.7 + 0.3 * max(len(r) for r in rows.values())
    fig, axes = new_figure(PAGE_WIDTH_IN, height, len(ctxs))

    def look(r):
        return (READER_COLOURS[counts.index(r) % len(READER_COLOURS)],
                MARKERS[counts.index(r) % len(MARKERS)])
    values = []
    for ax, ctx in zip(axes, ctxs):
        v, _ = dot_rows(ax, rows[ctx], counts,
                        lambda s, r, ctx=ctx: index.get((s, ctx, r)), look,
                        lambda v: fmt_si(v, digits=2),
                        lambda p: oversubscribed(p, ds.context))
        values += v
        ax.set_yticklabels(rows[ctx], fontsize=8)
        ax.set_title(f"{ctx} context", fontsize=10)
        ax.set_xlabel(xlabel)
    for ax in axes:
        dot_log_axis(ax, values, tick_si)
    h, lab = member_legend(counts, look, {
        r: f"{r} {member}" + ("s" if r != 1 else "") for r in counts})
    h, lab = oversub_legend(h, lab, pts, ds)
    return finish(fig, axes, title, ds, h, lab, member + "s", below=True)


def plot_connection_setup(ds):
    """Listener/Client: connections/s and the 64 B round trip per family."""
    panels = [(s, ds.select(s)) for s in ("connection-setup",
                                          "connection-roundtrip")]
    panels = [(s, pts) for s, pts in panels if pts]
    if not panels:
        return None
    ctxs = sorted({p.key.context for _, pts in panels for p in pts},
                  key=lambda c: order_index(c, CONTEXT_ORDER))
    nrows = max(len(by_subject(pts)) for _, pts in panels)
    fig, axes = new_figure(PAGE_WIDTH_IN, 1.8 + 0.45 * nrows, len(panels))
    for ax, (scenario, pts) in zip(axes, panels):
        latency = scenario == "connection-roundtrip"
        fmt = (lambda v: fmt_seconds(v, 2)) if latency else \
            (lambda v: fmt_si(v, digits=2))
        subjects = list(by_subject(pts))
        index = {(p.key.subject, p.key.context): p for p in pts}
        values, _ = dot_rows(ax, subjects, ctxs,
                             lambda s, c: index.get((s, c)), context_look,
                             fmt)
        ax.set_yticklabels(subjects, fontsize=9)
        dot_log_axis(ax, values, tick_seconds if latency else tick_si)
        if latency:
            sizes = sorted({p.key.param for p in pts})
            ax.set_title("round trip of " + ", ".join(map(fmt_size, sizes))
                         + " (lower is better)", fontsize=10)
            ax.set_xlabel("round-trip latency (log)")
        else:
            ax.set_title("connect + accept + close (higher is better)",
                         fontsize=10)
            ax.set_xlabel("connections/s (log)")
    h, lab = member_legend(ctxs, context_look)
    return finish(fig, axes, "Listener/Client: connection set-up and "
                  "round trip per address family", ds, h, lab, "context")


def plot_floor(ds):
    """The floor: raw round trips per kind, one panel per context, a dot
    per placement (none, cross, same)."""
    pts = [p for p in ds.select("floor") if p.metric == "latency"]
    if not pts:
        return None
    ctxs = contexts_of(pts)
    pins = sorted({placement(p.key) for p in pts}, key=placement_order)
    rows = []
    for p in pts:
        r = (p.key.subject, p.key.param)
        if r not in rows:
            rows.append(r)
    index = {(p.key.subject, p.key.param, p.key.context, placement(p.key)): p
             for p in pts}
    fig, axes = new_figure(PAGE_WIDTH_IN, 1.8 + 0.36 * len(rows), len(ctxs),
                           sharey=True)
    values = []
    for ax, ctx in zip(axes, ctxs):
        v, _ = dot_rows(ax, rows, pins,
                        lambda r, pin, ctx=ctx: index.get((r[0], r[1], ctx,
                                                           pin)),
                        pin_look, lambda v: fmt_seconds(v, 2))
        values += v
        ax.set_yticklabels([s + (f" {fmt_size(q)}" if q >= 0 else "")
                            for s, q in rows], fontsize=8)
        ax.set_title(f"{ctx} context", fontsize=10)
        ax.set_xlabel("round trip (log; lower is better)")
    for ax in axes:
        dot_log_axis(ax, values, tick_seconds)
    h, lab = member_legend(pins, pin_look,
                           {p: pin_title(p) for p in pins})
    return finish(fig, axes, "The floor: smallest possible round trip per "
                  "mechanism and CPU placement", ds, h, lab, "placement",
                  below=True)


def plot_startup(ds):
    """Start-up cost per context/transport, and start-up against RSS."""
    pts = ds.select("startup")
    plain = [p for p in pts if p.key.param < 0]
    rss = [p for p in pts if p.key.param >= 0]
    if not pts:
        return None
    ncols = (1 if plain else 0) + (1 if rss else 0)
    fig, axes = new_figure(PAGE_WIDTH_IN, 4.6, ncols)
    handles, labels = None, None
    if plain:
        ax = axes[0]
        ctxs = contexts_of(plain)
        subjects = list(by_subject(plain))
        index = {(p.key.subject, p.key.context): p for p in plain}
        values, _ = dot_rows(ax, subjects, ctxs,
                             lambda s, c: index.get((s, c)), context_look,
                             lambda v: fmt_seconds(v, 2))
        ax.set_yticklabels(subjects, fontsize=9)
        dot_log_axis(ax, values, tick_seconds)
        ax.set_xlabel("time to start a peer and connect (log)")
        ax.set_title("per transport (lower is better)", fontsize=10)
        handles, labels = member_legend(ctxs, context_look, CONTEXT_NAMES)
    if rss:
        ax = axes[-1]
        # One line per context: fork (process) grows with the parent's
        # memory, spawn should not. Linear axes: no baseline to invent.
        rss_ctxs = contexts_of(rss)
        for ctx in rss_ctxs:
            line = sorted((p for p in rss if p.key.context == ctx),
                          key=lambda p: p.key.param)
            med, yerr = errbar_args(line)
            colour, marker = context_look(ctx)
            ax.errorbar([p.key.param for p in line], med, yerr=yerr,
                        marker=marker, color=colour, linestyle="-",
                        capsize=3, label=CONTEXT_NAMES.get(ctx, ctx))
        ax.set_xlabel("parent RSS (MiB)")
        ax.set_ylabel("time to start the peer (pipe)")
        ax.set_ylim(0, max(p.hi for p in rss) * 1.15)
        from matplotlib.ticker import FuncFormatter
        ax.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: tick_seconds(v) if v > 0 else "0"))
        ax.set_title("start-up vs the parent's memory", fontsize=10)
        if handles is None:
            handles, labels = collect_legend([ax])
        else:
            for ctx in rss_ctxs:
                if ctx not in [c for c in contexts_of(plain)]:
                    handles += member_legend([ctx], context_look)[0]
                    labels.append(CONTEXT_NAMES.get(ctx, ctx))
    return finish(fig, axes, "Start-up: cost of creating the peer", ds,
                  handles, labels, "context", below=True)


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
        # dots, not bars: a bar on a log axis starts at an arbitrary value
        ax.errorbar(meds, ys, xerr=errs, capsize=2, fmt="o", markersize=5,
                    color=COMPARE_COLOURS[fi % len(COMPARE_COLOURS)],
                    label=ds.label, elinewidth=0.8, linestyle="none")
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
    """p50 ... max per transport: one row of panels per pinned placement
    (unpinned left out when pinned figures exist), one column per context,
    log axis."""
    pts, pins, dropped = pinned_points(percentile_points(ds, size))
    if not pts:
        return None
    ctxs = contexts_of(pts)
    fig, grid = new_grid(PAGE_WIDTH_IN, 1.9 + 3.0 * len(pins), len(pins),
                         len(ctxs))
    xs = range(len(PERCENTILES))
    values = []
    for r, pin in enumerate(pins):
        for c, ctx in enumerate(ctxs):
            ax = grid[r][c]
            here = [p for p in pts if p.key.context == ctx and
                    placement(p.key) == pin]
            for subject, sp in by_subject(here).items():
                ys = [sp[0].counters[k] * 1e-9 for k, _ in PERCENTILES]
                values += ys
                py = subject.startswith("py-")
                ax.plot(xs, ys, label=subject,
                        color=colour_of(ds.ranks, subject),
                        marker=marker_of(ds.ranks, subject), markersize=5,
                        markerfacecolor="white" if py else None,
                        linestyle=":" if py else "-", linewidth=1.4)
            ax.set_xticks(list(xs))
            ax.set_xticklabels([label for _, label in PERCENTILES],
                               fontsize=8)
            if r == len(pins) - 1:
                ax.set_xlabel("percentile of the round trips")
            if c == 0:
                ax.set_ylabel("round trip (log)")
            ax.set_title(f"{ctx}, {pin_title(pin)}" if pin else
                         f"{ctx} context", fontsize=9)
    set_log_axis(grid[0][0], "y", values, tick_seconds)
    axes = [ax for row in grid for ax in row]
    h, lab = collect_legend(axes)
    return finish(fig, axes, f"Tail latency of {fmt_size(size)} round trips"
                  + (" — pinned runs only" if dropped else "") +
                  " (lower is better)", ds, h, lab, "transport", below=True)
