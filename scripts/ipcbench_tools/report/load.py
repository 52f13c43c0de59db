"""The latency-under-load section (load/ benchmarks, open loop): corrected
latency against the achieved rate, one line per transport and a panel per
context, with the knee of each curve (the first rate whose corrected p99 is
more than KNEE_FACTOR times the lowest rate's)."""
import re

from ipcbench_tools.report.blocks import FigureBlock, Section, Table
from ipcbench_tools.report.charts import (by_subject, collect_legend,
                                          contexts_of, finish, new_figure,
                                          pick_size, set_log_axis,
                                          tick_seconds, tick_si)
from ipcbench_tools.report.fmt import fmt_seconds, fmt_si, fmt_size
from ipcbench_tools.report.style import colour_of, marker_of

KNEE_FACTOR = 10
# Counters every load/ repetition carries besides the percentiles.
LOAD_COUNTERS = ("achieved_rate", "target_rate", "closed_loop_rate",
                 "rate_pct", "max_in_flight", "in_flight_end", "late_sends",
                 "max_send_lag_ns")


def rate_pct(point):
    """The rate's percentage of the closed-loop figure, from the name."""
    m = re.search(r"rate:(\d+)pct", point.key.extra)
    return int(m.group(1)) if m else -1


def load_points(ds, size=None):
    """load/ points that carry the rate and the corrected percentiles."""
    pts = [p for p in ds.select("load")
           if "achieved_rate" in p.counters and "p99_ns" in p.counters
           and rate_pct(p) >= 0]
    if size is not None:
        pts = [p for p in pts if p.key.param == size]
    return pts


def curves(points):
    """{(context, subject): [points by rising rate]}."""
    out = {}
    for ctx in contexts_of(points):
        for subject, sp in by_subject(p for p in points
                                      if p.key.context == ctx).items():
            out[(ctx, subject)] = sorted(sp, key=rate_pct)
    return out


def knee(curve, factor=KNEE_FACTOR):
    """The first point whose corrected p99 exceeds `factor` times that of
    the lowest rate, or None (no knee within the sweep)."""
    if len(curve) < 2:
        return None
    base = curve[0].counters["p99_ns"]
    for p in curve[1:]:
        if p.counters["p99_ns"] > factor * base:
            return p
    return None


def plot_load(ds, size):
    """Corrected p50 (dashed) and p99 (solid) against the achieved rate,
    one line per transport, one panel per context; log-log."""
    pts = load_points(ds, size)
    if not pts:
        return None
    ctxs = contexts_of(pts)
    fig, axes = new_figure(4.8 * len(ctxs) + 1.8, 4.8, len(ctxs), sharey=True)
    xs_all, ys_all = [], []
    lines = curves(pts)
    for ax, ctx in zip(axes, ctxs):
        for (c, subject), curve in lines.items():
            if c != ctx:
                continue
            xs = [p.counters["achieved_rate"] for p in curve]
            colour = colour_of(ds.ranks, subject)
            for key, style, label in (("p99_ns", "-", subject),
                                      ("p50_ns", "--", None)):
                ys = [p.counters[key] * 1e-9 for p in curve]
                ax.plot(xs, ys, linestyle=style, color=colour, label=label,
                        marker=marker_of(ds.ranks, subject), markersize=5,
                        linewidth=1.6 if style == "-" else 1.0,
                        alpha=1.0 if style == "-" else 0.7)
                ys_all += ys
            xs_all += xs
            k = knee(curve)
            if k is not None:
                ax.plot([k.counters["achieved_rate"]],
                        [k.counters["p99_ns"] * 1e-9], marker="o",
                        markersize=13, markerfacecolor="none",
                        markeredgecolor=colour, linewidth=0)
        ax.set_xlabel("achieved rate (messages/s, log)")
        ax.set_title(f"{ctx} context")
    for ax in axes:
        set_log_axis(ax, "x", xs_all, tick_si)
    set_log_axis(axes[0], "y", ys_all, tick_seconds)
    axes[0].set_ylabel("latency from the due time (log)")
    h, lab = collect_legend(axes)
    return finish(fig, axes, f"Latency under load, {fmt_size(size)} messages, "
                  "open loop (solid p99, dashed p50; circled: the knee)", ds,
                  h, lab, "transport")


def knee_table(points):
    rows = []
    for (ctx, subject), curve in curves(points).items():
        k = knee(curve)
        low = curve[0]
        rows.append([
            subject, ctx, fmt_si(low.counters["closed_loop_rate"], "/s"),
            fmt_seconds(low.counters["p99_ns"] * 1e-9) +
            f" at {rate_pct(low)}%",
            (f"{rate_pct(k)}% ({fmt_si(k.counters['achieved_rate'], '/s')} "
             f"achieved), p99 {fmt_seconds(k.counters['p99_ns'] * 1e-9)}")
            if k else f"none up to {rate_pct(curve[-1])}%"])
    return Table(["transport", "context", "closed loop", "low-rate p99",
                  "knee"], rows,
                 f"The knee: the first rate at which the corrected p99 is "
                 f"more than {KNEE_FACTOR}x its value at the lowest rate "
                 "(medians over repetitions). Rates are percentages of the "
                 "closed-loop round-trip rate measured at start-up.")


def detail_table(points):
    rows = []
    for (ctx, subject), curve in curves(points).items():
        for p in curve:
            c = p.counters
            rows.append([
                subject, ctx, f"{rate_pct(p)}%", fmt_si(c["target_rate"], "/s"),
                fmt_si(c["achieved_rate"], "/s"),
                fmt_seconds(c["p50_ns"] * 1e-9), fmt_seconds(c["p99_ns"] * 1e-9),
                fmt_seconds(c.get("uncorrected_p99_ns", 0) * 1e-9),
                fmt_seconds(c["max_ns"] * 1e-9),
                f"{c.get('max_in_flight', 0):.0f} / {c.get('in_flight_end', 0):.0f}"])
    return Table(["transport", "context", "rate", "target", "achieved",
                  "p50", "p99", "p99 uncorrected", "max",
                  "in flight max / at end"], rows,
                 "Every rate (medians over repetitions). Corrected latency "
                 "runs from each message's due time, uncorrected from its "
                 "actual send; the difference is what a closed-loop or "
                 "uncorrected tool would hide.")


def section_load(inp):
    ds = inp.data
    all_pts = load_points(ds)
    if not all_pts:
        return None
    size = pick_size(sorted({p.key.param for p in all_pts}), 64)
    pts = load_points(ds, size)
    fig = plot_load(ds, size)
    caption = ("Open loop: the sender keeps a fixed schedule (a late message "
               "goes at once, none is skipped) while a receive thread takes "
               "the echoes; latency runs from each message's due time to its "
               "echo (corrected for coordinated omission). x is the rate "
               "achieved, so a saturated transport's points bunch up at its "
               "ceiling while the latency climbs.")
    return Section("Latency under load", [
        FigureBlock("load_latency", fig, caption), knee_table(pts),
        detail_table(pts)])
