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
SATURATED_BELOW = 0.9
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


def knee(curve, factor=KNEE_FACTOR, counter="p99_ns"):
    """The first point whose corrected `counter` (p99 by default) exceeds
    `factor` times that of the lowest rate, or None (no knee in the sweep)."""
    if len(curve) < 2:
        return None
    base = curve[0].counters[counter]
    for p in curve[1:]:
        if p.counters[counter] > factor * base:
            return p
    return None


def saturation(curve, share=SATURATED_BELOW):
    """The first point whose achieved rate is below `share` of its target:
    the pair no longer keeps up (or None)."""
    for p in curve:
        if p.counters["achieved_rate"] < share * p.counters["target_rate"]:
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
    def at(p, counter):
        if p is None:
            return None
        return (f"{rate_pct(p)}% ({fmt_si(p.counters['achieved_rate'], '/s')}"
                f" achieved), {counter[:3]} "
                f"{fmt_seconds(p.counters[counter] * 1e-9)}")

    rows = []
    for (ctx, subject), curve in curves(points).items():
        low, last = curve[0], f"none up to {rate_pct(curve[-1])}%"
        sat = saturation(curve)
        rows.append([
            subject, ctx, fmt_si(low.counters["closed_loop_rate"], "/s"),
            f"{fmt_seconds(low.counters['p50_ns'] * 1e-9)} / "
            f"{fmt_seconds(low.counters['p99_ns'] * 1e-9)} at {rate_pct(low)}%",
            at(knee(curve), "p99_ns") or last,
            at(knee(curve, counter="p50_ns"), "p50_ns") or last,
            (f"{rate_pct(sat)}% ({fmt_si(sat.counters['achieved_rate'], '/s')}"
             f" of {fmt_si(sat.counters['target_rate'], '/s')})") if sat
            else last])
    return Table(["transport", "context", "closed loop", "low-rate p50 / p99",
                  "knee (p99)", "knee (p50)", "saturated"], rows,
                 f"The knee: the first rate at which the corrected p99 (or "
                 f"p50) is more than {KNEE_FACTOR}x its value at the lowest "
                 f"rate; saturated: the first rate achieved at less than "
                 f"{SATURATED_BELOW:.0%} of its target (medians over "
                 "repetitions). Rates are percentages of the closed-loop "
                 "round-trip rate measured at start-up. On a noisy machine "
                 "the low-rate p99 is already the scheduler's; the p50 knee "
                 "and the saturation point still show where the pair stops "
                 "keeping up.")


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
