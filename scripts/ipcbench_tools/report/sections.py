"""The report's sections: each builder takes a ReportInput and returns a
Section or None (no data). SECTION_BUILDERS is the order; a scenario without
a builder of its own gets section_generic (a table and a warning)."""
import json
import math
import statistics

from ipcbench_tools import gbjson
from ipcbench_tools import seedtable as seed
from ipcbench_tools.report import canary, evidence, floors, runorder
from ipcbench_tools.report.blocks import FigureBlock, Section, Table
from ipcbench_tools.report.charts import (PERCENTILES, by_subject,
                                          contexts_of, percentile_points,
                                          pick_size, plot_compare,
                                          plot_connection_setup, plot_dict,
                                          plot_rate_dots,
                                          plot_floor,
                                          plot_latency_percentiles,
                                          plot_processing, plot_roundtrip,
                                          plot_startup, plot_throughput)
from ipcbench_tools.report.load import section_load
from ipcbench_tools.report.data import (SCENARIO_TITLES, Key,
                                        param_text, point_order)
from ipcbench_tools.report.fmt import (context_footer, fmt_cell, fmt_ratio,
                                       fmt_seconds, fmt_si, fmt_size, fmt_value,
                                       speedup)

def marked_cell(point, used, num_cpus=None):
    """fmt_cell plus the point's marks (evidence.SYMBOLS); the marks are
    added to `used` for the table's legend."""
    marks = evidence.marks_of(point, num_cpus)
    used.extend(marks)
    sym = evidence.symbols(marks)
    return fmt_cell(point) + (f" {sym}" if sym else "")


def with_legend(caption, used):
    text = evidence.legend(used)
    return f"{caption} {text}".strip() if text else caption


def point_table(points, param_header="size", counter=None, num_cpus=None,
                ds=None):
    """Rows: subject and context; columns: the parameter (size, readers).

    counter: show that per-repetition counter's median instead of the
    metric (e.g. "p99_ns"). Cells carry their marks (evidence.py), the
    caption their legend."""
    params = sorted({p.key.param for p in points})
    used = []
    if num_cpus is None and ds is not None:
        num_cpus = ds.context.get("num_cpus")
    rows = {}
    for p in points:
        rows.setdefault((p.key.subject, p.key.context, p.key.extra), {})[
            p.key.param] = p
    headers = ["benchmark", "context"] + (
        [param_text(Key(points[0].key.scenario, "", "", q)) for q in params]
        if params != [-1] else ["median (min-max)"])
    out = []
    for (subject, context, extra), cells in rows.items():
        row = [subject + (f" {extra}" if extra else ""), context]
        for q in params:
            p = cells.get(q)
            if p is None:
                row.append("-")
            elif counter:
                v = p.counters.get(counter)
                row.append(fmt_seconds(v * 1e-9) if v else "-")
            else:
                row.append(marked_cell(p, used, num_cpus))
        out.append(row)
    ns = sorted({p.n for p in points})
    what = f"{counter[:-3]} latency (median over repetitions)" if counter \
        else "Median (min-max over repetitions)" if ns != [1] else "Value"
    if params != [-1]:
        what += f" by {param_header}"
    return Table(headers, out, with_legend(
        f"{what}; n = {', '.join(map(str, ns))} per cell.", used))


def errored_note(ds, scenario):
    """One sentence per error message, naming the benchmarks it left out."""
    bad = [(k, m) for k, m in ds.errored if k.scenario == scenario]
    if not bad:
        return []
    by_message = {}
    for k, m in bad:
        name = f"{k.subject} {k.context}" + (f" {param_text(k)}"
                                             if k.param >= 0 else "")
        names = by_message.setdefault(m, [])
        if name not in names:
            names.append(name)
    return ["Left out because they errored: " + "; ".join(
        f"{m}: " + ", ".join(f"`{n}`" for n in names)
        for m, names in by_message.items()) + "."]


def not_measured_note(ds):
    """The sizes the run left out because a transport cannot carry them (context
    not_measured, one reason per transport and size)."""
    listed = ds.context.get("not_measured")
    if not isinstance(listed, str) or not listed.strip():
        return []
    reasons = [r.strip() for r in listed.split(";") if r.strip()]
    return ["Not measured (sizes above a transport's limit, left out of the run, "
            "not errors): " + "; ".join(reasons) + "."]


def spread_note(points):
    srcs = {p.source for p in points}
    if srcs == {"repetitions"}:
        return "Median of the repetitions; error bars and spread: " \
               "min-max (or interquartile range with --spread iqr)."
    return "Median of the repetitions where present, else the median " \
           "aggregate or the single run (no spread)."


def difference_sentence(a, b, name_a, name_b, where=""):
    """A difference between points a and b stated only when the
    repetitions support it (evidence.compare: U test p < ALPHA, or ranges
    apart); otherwise "no clear difference", with the figures either way."""
    v = evidence.compare(a, b)
    where = f" {where}" if where else ""
    if v.supported:
        (win, nw), (lose, nl) = ((b, name_b), (a, name_a)) if v.ratio >= 1 \
            else ((a, name_a), (b, name_b))
        r = max(v.ratio, 1 / v.ratio)
        word = "faster" if win.metric == "latency" else "higher"
        return (f"{nw} is {fmt_ratio(r)} {word} than {nl}{where}: "
                f"{fmt_cell(win)} vs {fmt_cell(lose)} ({v.how}).")
    return (f"No clear difference between {name_a} and {name_b}{where}: "
            f"{fmt_cell(a)} vs {fmt_cell(b)} ({v.how}).")


def extremes_sentence(pts, what, where):
    """The best against the worst of comparable points, stated only when
    supported (difference_sentence)."""
    if len(pts) < 2:
        return None
    best = max(pts, key=lambda p: speedup(pts[0], p))
    worst = min(pts, key=lambda p: speedup(pts[0], p))
    if best is worst:
        return None
    return difference_sentence(worst, best, f"{worst.key.subject} {what}",
                               f"{best.key.subject} {what}", where)


HEADLINE_TOP = 4


def headline_rows(ds, pin, top=HEADLINE_TOP):
    """For one placement: per message size, the `top` fastest transports
    between two processes (threads where a run has no process context),
    as (size, [(point, floor, floor name, verdict vs the one before)])."""
    pts = [p for p in ds.select("roundtrip")
           if floors.placement(ds, p) == pin and
           not p.key.subject.startswith("py-")]
    ctxs = contexts_of(pts)
    ctx = "process" if "process" in ctxs else (ctxs[0] if ctxs else None)
    index, busy = floors.floor_index(ds), floors.busy_polling(ds)
    out = []
    for size in sorted({p.key.param for p in pts}):
        here = sorted((p for p in pts if p.key.param == size and
                       p.key.context == ctx), key=lambda p: p.median)[:top]
        cells, prev = [], None
        for p in here:
            f, what = floors.floor_of(ds, p, index, busy)
            cells.append((p, f, what, evidence.compare(prev, p)
                          if prev is not None else None))
            prev = p
        out.append((size, cells))
    return ctx, out


def upper_first(text):
    return text[:1].upper() + text[1:]


def headline_cell(p, f, what, verdict, used, num_cpus, has_floors=True):
    lines = [("≈ " if verdict is not None and not verdict.supported else "")
             + p.key.subject, marked_cell(p, used, num_cpus)]
    if f is None:
        lines.append(f"x floor: - ({what})" if has_floors else "")
    elif p.median / f.median < evidence.FAULT_LIMIT:
        used.append(evidence.FAULT)
        lines.append(f"measurement fault {evidence.SYMBOLS[evidence.FAULT]}"
                     f" ({what}: {fmt_value(f, f.metric)})")
    else:
        lines.append(f"{fmt_ratio(p.median / f.median)} {what}")
    return "\n".join(line for line in lines if line)


def section_headline(inp):
    """The answer first: per placement and message size, the fastest
    transports with median, spread and multiple of the floor of the same
    placement from the same run."""
    ds = inp.data
    rts = ds.select("roundtrip")
    if not rts:
        return None
    present = {floors.placement(ds, p) for p in rts}
    pins = [p for p in floors.PLACEMENTS if p in present] + \
        sorted(present - set(floors.PLACEMENTS))
    blocks = [
        "The fastest transports for each message size and CPU placement, "
        "from this run: median round trip over the repetitions, its min-max "
        "spread, and its multiple of the floor measured in the same run and "
        "placement (its own raw system-call loop where there is one, else "
        "the cache-line floor for a busy-polling transport, the futex "
        "wake-up for the others; see Floor multiples). Pinned figures come "
        "first: unpinned, every blocking transport pays the cross-CPU "
        "wake-up and they look alike (docs/MEASURING.md). "
        "≈ before a name: no clear difference from the transport to its "
        f"left (U test p ≥ {evidence.ALPHA:g} and overlapping ranges), so "
        "their order is not a finding. Each cell: transport, median "
        "(min-max) over the repetitions, multiple of the floor."]
    top = 0
    num_cpus = ds.context.get("num_cpus")
    has_floors = bool(ds.select("floor"))
    all_used = []
    for pin in pins:
        ctx, rows = headline_rows(ds, pin)
        if not rows:
            continue
        used, table_rows = [], []
        for size, cells in rows:
            top = max(top, len(cells))
            table_rows.append([fmt_size(size)] + [
                headline_cell(*c, used, num_cpus, has_floors)
                for c in cells])
        width = max(len(r) for r in table_rows)
        table_rows = [r + [""] * (width - len(r)) for r in table_rows]
        headers = ["size"] + ["fastest"] + [f"#{i}" for i in
                                            range(2, width)]
        all_used += used
        blocks.append(Table(headers, table_rows,
            f"{upper_first(floors.PLACEMENT_TEXT.get(pin, pin))}: round trip "
            f"between two {'threads' if ctx == 'thread' else ctx + 'es'}."))
    if top == 0:
        return None
    if all_used:
        blocks.append(evidence.legend(all_used))
    return Section("Headline: the fastest transports", blocks)


TVP_SUBJECT, TVP_SIZE = "shm-ring-spin", 64


def thread_vs_process_lines(ds, subject=TVP_SUBJECT, size=TVP_SIZE):
    """For each placement: does `subject` between threads differ from
    between processes beyond their spread (U test)? With the figures."""
    pts = [p for p in ds.select("roundtrip", subject=subject, param=size)]
    pins = {floors.placement(ds, p) for p in pts}
    out, differ = [], {}
    for pin in [q for q in floors.PLACEMENTS if q in pins] + \
            sorted(pins - set(floors.PLACEMENTS)):
        here = {p.key.context: p for p in pts
                if floors.placement(ds, p) == pin}
        t, p = here.get("thread"), here.get("process")
        where = f"({floors.PLACEMENT_TEXT.get(pin, pin)})"
        if t is None or p is None:
            out.append(f"- {where}: only {', '.join(sorted(here))} measured.")
            continue
        differ[pin] = evidence.compare(t, p).supported
        out.append("- " + upper_first(difference_sentence(
            t, p, "the thread pair", "the process pair",
            f"for {subject} at {fmt_size(size)} {where}")))
    if differ.get("none") and differ.get("cross") is False:
        out.append("- Pinned to two CPUs the two pairs do not differ, so the unpinned "
                   "difference comes from where the scheduler put the peers in this "
                   "run, not from the process boundary.")
    return out


def section_checks(inp):
    """Checks on this run: were repetitions interleaved, and does the
    spinning ring between threads differ from between processes."""
    ds = inp.data
    blocks = []
    il = runorder.interleaving(ds)
    if il.sentence():
        blocks.append(il.sentence())
    lines = thread_vs_process_lines(ds)
    if lines:
        blocks.append(f"Threads vs processes, `roundtrip/{TVP_SUBJECT}/"
                      f"{{thread,process}}/size:{TVP_SIZE}`: the same "
                      "spinning ring, so a difference beyond the spread "
                      "would be the cost of a process boundary (or drift, "
                      "if the run was not interleaved).")
        blocks.append("\n".join(lines))
    return Section("Checks on this run", blocks) if blocks else None


def calibration_text(value):
    """load/'s closed-loop calibration (a JSON object of round trips per second
    by benchmark) as "pipe/thread/size:64 40.7k/s, ..."; else as it came."""
    try:
        rates = json.loads(value)
        return ", ".join(f"{name} {fmt_si(float(r))}/s" for name, r in rates.items())
    except (TypeError, ValueError, AttributeError):
        return value


def section_context(inp):
    ds = inp.data
    c = ds.context
    fields = [("CPU", c.get("cpu_model")), ("CPUs", c.get("num_cpus")),
              ("MHz per CPU", c.get("mhz_per_cpu")),
              ("kernel", c.get("kernel")), ("compiler", c.get("compiler")),
              ("build type", c.get("build_type")),
              ("benchmark library build", c.get("library_build_type")),
              ("git commit", c.get("git_commit")), ("pinning", c.get("pin")),
              ("host", c.get("host_name")), ("date", c.get("date")),
              ("load average", ", ".join(map(str, c.get("load_avg", [])))
               or None),
              ("result schema", c.get("ipcbench_schema")),
              ("source", ds.path)] + [
                  ("Python reference run", path) for path, _ in inp.pyref]
    known = {"cpu_model", "num_cpus", "mhz_per_cpu", "kernel", "compiler",
             "build_type", "library_build_type", "git_commit", "pin",
             "host_name", "date", "load_avg", "ipcbench_schema", "caches",
             "executable", "cpu_scaling_enabled", "not_measured"}
    fields += [(k, v) for k, v in c.items() if k not in known and
               isinstance(v, (str, int, float, bool))]
    fields = [(k, calibration_text(v) if k == "load_calibration" else v)
              for k, v in fields]
    fields += [("executable", c.get("executable")),
               ("CPU frequency scaling", c.get("cpu_scaling_enabled"))]
    rows = [[k, str(v)] for k, v in fields if v not in (None, "")]
    blocks = [Table(["", "value"], rows)]
    for other in inp.datasets[1:]:
        if other is not ds and other.path not in ds.path:
            blocks.append(f"Compared with `{other.path}`: "
                          f"{context_footer(other)}.")
    return Section("Machine", blocks)


def section_history(inp):
    """Where this run's history is: scripts/history.py's store and, when
    drawn, its trend charts."""
    h = inp.history
    if h is None:
        return None
    def n(count, what):
        return f"{count} {what}{'s' if count != 1 else ''}"
    text = (f"`{h.path}` holds {n(h.runs, 'run')} of "
            f"{n(h.commits, 'commit')} on {n(h.machines, 'machine')} "
            "(`scripts/history.py`).")
    if h.trend:
        text += (f" Trend per benchmark and the steps found in it: "
                 f"[{h.trend}]({h.trend}).")
    else:
        text += (" Trend charts: `scripts/history.py trend --out "
                 "reports/history` (`./run.sh` draws them).")
    return Section("History", [text])


def section_roundtrip(inp):
    ds = inp.data
    fig = plot_roundtrip(ds)
    if fig is None:
        inp.notes.append("skipped: round-trip latency chart (no roundtrip "
                         "benchmarks)")
        return None
    pts = ds.select("roundtrip")
    size = pick_size(sorted({p.key.param for p in pts}), inp.size)
    lines = []
    pins = floors.present(ds, pts)
    for pin in pins:
        for ctx in contexts_of(pts):
            where = f"at {fmt_size(size)} in the {ctx} context" + (
                f", {floors.PLACEMENT_TEXT.get(pin, pin)}" if len(pins) > 1
                else "")
            s = extremes_sentence([p for p in pts if p.key.param == size and
                                   p.key.context == ctx and
                                   floors.placement(ds, p) == pin and not
                                   p.key.subject.startswith("py-")],
                                  "round trip", where)
            if s:
                lines.append("- " + s)
    caption = ("Round-trip latency (one message there and back, in "
               "microseconds on a log scale) against message size, one line "
               "per transport, one panel per context. " + spread_note(pts))
    blocks = [FigureBlock("roundtrip_latency", fig, caption)]
    blocks += ["\n".join(lines)] if lines else []
    blocks += errored_note(ds, "roundtrip") + not_measured_note(ds)
    blocks.append(point_table(pts, ds=ds))
    if any("p99_ns" in p.counters for p in pts):
        blocks.append(point_table(pts, counter="p99_ns", ds=ds))
    return Section("Round-trip latency", blocks)


def section_processing(inp):
    ds = inp.data
    pts = ds.select("roundtrip")
    if not pts:
        inp.notes.append("skipped: threads-vs-processes chart (no roundtrip "
                         "benchmarks)")
        return None
    sizes = sorted({p.key.param for p in pts})
    size = pick_size(sizes, inp.size)
    if size != inp.size:
        inp.notes.append(f"note: no round trip at {fmt_size(inp.size)}; the "
                         f"threads-vs-processes chart uses {fmt_size(size)}")
    fig = plot_processing(ds, size)
    at = [p for p in pts if p.key.param == size]
    pins = floors.present(ds, at)
    index = {(p.key.subject, p.key.context, floors.placement(ds, p)): p
             for p in at}
    rows, text = [], []
    for pin in pins:
        apart, alike = [], []
        for subject in by_subject(at):
            t, p = index.get((subject, "thread", pin)), \
                index.get((subject, "process", pin))
            if t is None and p is None:
                continue
            verdict = evidence.compare(t, p) if t and p else None
            if verdict is not None:
                (apart if verdict.supported else alike).append(
                    (p.median / t.median, subject, verdict))
            rows.append([subject, pin, fmt_cell(t) if t else "-",
                         fmt_cell(p) if p else "-",
                         (f"{p.median / t.median:.2f}x" +
                          ("" if verdict.supported else
                           " (no clear difference)")) if verdict else "-"])
        where = f"At {fmt_size(size)}" + (
            f", {floors.PLACEMENT_TEXT.get(pin, pin)}" if len(pins) > 1
            else "")
        if apart:
            text.append(f"{where}, where the repetitions support a "
                        "difference, a process round trip costs " +
                        ", ".join(f"{r:.2f}x ({s})"
                                  for r, s, _ in sorted(apart)) +
                        " the thread round trip of the same transport.")
        if alike:
            text.append(f"{where}: no clear difference between thread and "
                        "process for " + ", ".join(s for _, s, _ in alike) +
                        f" (U test p ≥ {evidence.ALPHA:g} and overlapping "
                        "ranges).")
    caption = (f"Round-trip latency at {fmt_size(size)} for each transport "
               "between two threads (light) and two processes (hatched): the "
               "`processing` question of what moving to processes costs. "
               "Under each transport: process latency / thread latency.")
    return Section("Threads vs processes", [FigureBlock(
        "threads_vs_processes", fig, caption)] + text + [Table(
            ["transport", "placement", "thread", "process",
             "process / thread"], rows,
            "Median (min-max) over the repetitions; the ratio of medians is "
            "a finding only where the repetitions support it.")])


def section_throughput(inp):
    ds = inp.data
    fig = plot_throughput(ds)
    if fig is None:
        inp.notes.append("skipped: throughput chart (no throughput "
                         "benchmarks)")
        return None
    pts = ds.select("throughput")
    body = [p for p in pts if p.key.subject != "memcpy"]
    bound = {p.key.param: p for p in pts if p.key.subject == "memcpy"}
    lines = []
    for ctx in contexts_of(body):
        here = [p for p in body if p.key.context == ctx]
        size = max(p.key.param for p in here)
        top = [p for p in here if p.key.param == size]
        best = max(top, key=lambda p: p.median)
        s = (f"- At {fmt_size(size)} ({ctx} context) the highest median is "
             f"{best.key.subject}'s, {fmt_cell(best)}")
        if size in bound:
            s += (f", {100 * best.median / bound[size].median:.0f}% of the "
                  f"memcpy bound ({fmt_value(bound[size], 'bytes')})")
        lines.append(s + ".")
        worst = min(top, key=lambda p: p.median)
        if worst is not best:
            lines.append("- " + difference_sentence(
                worst, best, worst.key.subject, best.key.subject,
                f"at {fmt_size(size)} ({ctx} context)"))
    caption = ("Streaming throughput (bytes per second, log scale) of one "
               "sender to one receiver against message size, per transport; "
               "the dashed line is memcpy in one thread, the upper bound. "
               + spread_note(pts))
    return Section("Streaming throughput", [
        FigureBlock("throughput", fig, caption), "\n".join(lines)] +
        errored_note(ds, "throughput") + not_measured_note(ds) +
        [point_table(pts, ds=ds)])


def oversubscribed_lines(ds, pts, counted):
    """A sentence naming the benchmarks with more busy threads than CPUs."""
    num_cpus = ds.context.get("num_cpus")
    over = [p for p in pts if evidence.is_oversubscribed(p, num_cpus)]
    if not over:
        return []
    return [f"{evidence.SYMBOLS[evidence.OVERSUBSCRIBED]} {len(over)} of "
            f"these benchmarks run more busy threads than the machine has "
            f"CPUs ({num_cpus or '?'}): " + ", ".join(
                sorted({f"{p.key.subject} {p.key.context} {param_text(p.key)}"
                        for p in over})) + ". Their rates measure the "
            "machine's oversubscription (threads waiting for a CPU), not "
            f"the transport; compare kinds only at {counted} the CPUs can "
            "hold."]


def section_rates(inp, scenario, member, chart, xlabel, title, caption, heading):
    """Pool and fan-in: a rate by kind and count, with per-task latency."""
    ds = inp.data
    pts = ds.select(scenario)
    if not pts:
        inp.notes.append(f"skipped: {SCENARIO_TITLES[scenario]} chart (no {scenario} "
                         "benchmarks)")
        return None
    fig = plot_rate_dots(ds, scenario, member, xlabel, title)
    # Kinds compared only where the CPUs hold every busy thread: elsewhere the
    # rates are the machine's oversubscription.
    num_cpus, lines = ds.context.get("num_cpus"), []
    for ctx in contexts_of(pts):
        here = [p for p in pts if p.key.context == ctx
                and not evidence.is_oversubscribed(p, num_cpus)]
        for n in sorted({p.key.param for p in here}):
            at = [p for p in here if p.key.param == n]
            if len(at) >= 2:
                best = max(at, key=lambda p: p.median)
                worst = min(at, key=lambda p: p.median)
                lines.append("- " + difference_sentence(
                    worst, best, f"`{worst.key.subject}`", f"`{best.key.subject}`",
                    f"with {param_text(best.key)} ({ctx} context)"))
    lines = ["\n".join(lines)] if lines else []
    lines += oversubscribed_lines(ds, pts, member + "s")
    blocks = [FigureBlock(chart, fig, caption + " " + spread_note(pts))] + lines
    blocks += errored_note(ds, scenario) + [point_table(pts, member + "s", ds=ds)]
    if any("p99_ns" in p.counters for p in pts):
        blocks.append(point_table(pts, member + "s", counter="p99_ns", ds=ds))
    return Section(heading, blocks)


def section_pool(inp):
    return section_rates(
        inp, "pool", "worker", "pool_tasks", "tasks/s, all workers together (log)",
        "Worker pool: tasks per second by queue kind and number of workers "
        "(higher is better)",
        "Tasks per second through a pool of workers on one shared task queue (each "
        "task verified, about 1 µs of work, a verified result back on one result "
        "queue), per queue kind and number of workers; the producer keeps 2 tasks "
        "per worker in flight. The second table is each task's p99 from its put to "
        "its result, which includes its wait behind the others in flight.",
        "Worker pools")


def section_fanin(inp):
    return section_rates(
        inp, "fanin", "client", "fanin_requests", "requests/s, all clients together (log)",
        "Fan-in: requests per second to one server by queue kind and number of "
        "clients (higher is better)",
        "Requests per second from n clients to one dedicated server thread (the "
        "seed's resource thread) through one shared request queue, each answered "
        "on the client's own reply queue, per queue kind and number of clients. "
        "The second table is each request's p99 as its client saw it.",
        "Fan-in to one server")


def section_dict(inp):
    ds = inp.data
    fig = plot_dict(ds)
    if fig is None:
        inp.notes.append("skipped: shared-dict chart (no dict benchmarks)")
        return None
    pts = ds.select("dict")
    lines = []
    one = [p for p in pts if p.key.param == min(q.key.param for q in pts)]
    if len(one) >= 2:
        best = max(one, key=lambda p: p.median)
        worst = min(one, key=lambda p: p.median)
        lines.append(difference_sentence(
            worst, best, f"{worst.key.subject} ({worst.key.context})",
            f"{best.key.subject} ({best.key.context})",
            f"with {param_text(best.key)}"))
    lines += oversubscribed_lines(ds, pts, "readers")
    caption = ("Lookups per second in a shared dictionary, all readers "
               "together, per kind (a plain map, a mutex-guarded map, shared "
               "memory, manager processes over each transport) and number of "
               "readers; the log scale lets a local map and a manager dict "
               "share one chart. " + spread_note(pts))
    return Section("Shared dict", [FigureBlock("dict_lookups", fig, caption)]
                   + lines + errored_note(ds, "dict") +
                   [point_table(pts, "readers",
                                num_cpus=ds.context.get("num_cpus"))])


def section_connection(inp):
    ds = inp.data
    blocks = []
    fig = plot_throughput(ds, "connection", "Listener/Client: streaming "
                          "throughput per address family (higher is better)",
                          legend="family")
    stream = ds.select("connection")
    lines = []
    if fig is not None:
        blocks.append(FigureBlock(
            "connection_throughput", fig,
            "Throughput of a stream over a Listener/Client connection "
            "(bytes/s, log scale) against message size, per address family. "
            + spread_note(stream)))
        size = max(p.key.param for p in stream)
        for ctx in contexts_of(stream):
            s = extremes_sentence([p for p in stream if p.key.param == size
                                   and p.key.context == ctx], "throughput",
                                  f"at {fmt_size(size)} in the {ctx} "
                                  "context")
            if s:
                lines.append("- " + s)
        blocks.append("\n".join(lines))
        lines = []
        blocks += errored_note(ds, "connection") + [point_table(stream, ds=ds)]
    else:
        inp.notes.append("skipped: Listener/Client throughput chart (no "
                         "connection benchmarks)")
    fig = plot_connection_setup(ds)
    if fig is not None:
        setup = ds.select("connection-setup")
        rt = ds.select("connection-roundtrip")
        blocks.append(FigureBlock(
            "connection_setup", fig,
            "Connections set up per second (connect, accept, close) and the "
            "small-message round trip over an established connection, per "
            "address family and context. " + spread_note(setup + rt)))
        for pts, what in ((setup, "set-up rate"), (rt, "round trip")):
            for ctx in contexts_of(pts):
                s = extremes_sentence([p for p in pts if p.key.context == ctx],
                                      what, f"in the {ctx} context")
                if s:
                    lines.append("- " + s)
        blocks.append("\n".join(lines))
        for scenario, pts in (("connection-setup", setup),
                              ("connection-roundtrip", rt)):
            if pts:
                blocks += errored_note(ds, scenario)
                t = point_table(pts, ds=ds)
                t.caption = SCENARIO_TITLES[scenario] + ". " + t.caption
                blocks.append(t)
    else:
        inp.notes.append("skipped: Listener/Client set-up chart (no "
                         "connection-setup or connection-roundtrip "
                         "benchmarks)")
    return Section("Listener/Client connections", blocks) if blocks else None


def section_floor(inp):
    ds = inp.data
    pts = ds.select("floor")
    if not pts:
        return None     # a later scenario: say nothing while it is absent
    blocks = []
    fig = plot_floor(ds)
    if fig is not None:
        blocks.append(FigureBlock(
            "floor", fig, "The cheapest round trip each mechanism allows "
            "(a cache line bounced between cores, a futex wake, raw pipe and "
            "socket calls), the floor under every transport. "
            + spread_note(pts)))
    return Section("The floor", blocks + errored_note(ds, "floor") +
                   [point_table([p for p in pts if p.metric == m], ds=ds)
                    for m in ("latency", "bytes")
                    if any(p.metric == m for p in pts)])


def section_startup(inp):
    ds = inp.data
    pts = ds.select("startup")
    if not pts:
        return None
    caption = ("Time to create the peer (thread, forked process, spawned "
               "process) and connect it, and how a fork's cost grows with the "
               "parent's memory. " + spread_note(pts))
    return Section("Start-up", [FigureBlock("startup", plot_startup(ds),
                                            caption),
                                point_table([p for p in pts
                                             if p.key.param < 0], ds=ds)
                                if any(
                                    p.key.param < 0 for p in pts) else "",
                                point_table([p for p in pts
                                             if p.key.param >= 0],
                                            "parent RSS", ds=ds)
                                if any(p.key.param >= 0 for p in pts)
                                else ""])


def section_compare(inp):
    datasets = inp.datasets
    if len(datasets) < 2:
        return None
    base = datasets[0]
    blocks = [f"Each later file against `{base.path}` ({base.label}): "
              "\"faster\" means a lower time or a higher rate. Runs on "
              "different machines or minutes differ by more than noise on "
              "shared vCPUs; see docs/MEASURING.md."]
    for scenario in base.scenarios():
        keys = sorted((k for k in base.points if k.scenario == scenario and
                       all(k in d.points for d in datasets[1:])),
                      key=lambda k: point_order(base.points[k]))
        if not keys:
            continue
        fig = plot_compare(datasets, scenario, keys)
        rows = []
        for k in keys:
            row = [k.label()] + [fmt_value(d.points[k], d.points[k].metric)
                                 for d in datasets]
            for d in datasets[1:]:
                v = evidence.compare(base.points[k], d.points[k])
                row.append(fmt_ratio(v.ratio) + (
                    "" if v.supported else " (no clear difference)"))
            rows.append(row)
        ratios = [speedup(base.points[k], datasets[1].points[k])
                  for k in keys]
        gm = math.exp(statistics.fmean(math.log(r) for r in ratios))
        held = sum(evidence.compare(base.points[k],
                                    datasets[1].points[k]).supported
                   for k in keys)
        blocks.append(FigureBlock(
            f"compare_{scenario.replace('-', '_')}", fig,
            f"{title_of(scenario).capitalize()}: the same "
            f"{len(keys)} benchmarks in each file, median and spread; the "
            f"text beside a bar is its ratio to the first file, green or red "
            f"only where the min-max ranges do not overlap. Geometric "
            f"mean of {datasets[1].label} over {base.label}: "
            f"{fmt_ratio(gm)} (>1: better); {held} of {len(keys)} "
            "differences are supported by the repetitions (U test p < "
            f"{evidence.ALPHA:g}, or ranges apart), the others are marked "
            "\"no clear difference\" in the table."))
        blocks.append(Table(["benchmark"] + [d.label for d in datasets] +
                            [f"{d.label} / {base.label}"
                             for d in datasets[1:]], rows))
    if len(blocks) == 1:
        inp.notes.append("skipped: comparison charts (the files have no "
                         "benchmark in common)")
        return None
    return Section("Comparison", blocks)



def section_tail_latency(inp):
    ds = inp.data
    sizes = sorted({p.key.param for p in ds.select("roundtrip")
                    if all(k in p.counters for k, _ in PERCENTILES)})
    if not sizes:
        return None     # results without percentile counters
    size = pick_size(sizes, 64)
    pts = percentile_points(ds, size)
    rows = [[p.key.subject, p.key.context] +
            [fmt_seconds(p.counters[k] * 1e-9) for k, _ in PERCENTILES] +
            [fmt_seconds(p.counters["cpu_ns_per_msg"] * 1e-9)
             if "cpu_ns_per_msg" in p.counters else "-"]
            for p in pts]
    table = Table(["transport", "context"] +
                  [label for _, label in PERCENTILES] + ["CPU per round trip"],
                  rows, f"Percentiles of every round trip at "
                  f"{fmt_size(size)} (median over repetitions), and the CPU "
                  "time both peers burned per round trip.")
    return Section("Tail latency", [FigureBlock(
        "latency_percentiles", plot_latency_percentiles(ds, size),
        "Every round trip's duration goes into a histogram (rdtsc, 1/128 "
        "resolution); p50 is the typical round trip, p99.9 and max show the "
        "stalls (preemption, the host moving vCPUs) that the mean hides."),
        table])


def multiple_text(point, floor, what):
    """'2.31x futex', or the measurement fault (never a figure below
    evidence.FAULT_LIMIT) with its reason."""
    if floor is None:
        return "-"
    ratio = point.median / floor.median
    if ratio >= evidence.FAULT_LIMIT:
        return f"{fmt_ratio(ratio)} {what}".strip()
    return (f"measurement fault {evidence.SYMBOLS[evidence.FAULT]} "
            f"({what} {fmt_cell(floor)} above the round trip's median "
            f"{fmt_value(point, point.metric)})")


def floor_multiples(ds, size):
    """Rows: each round trip of `size` as a multiple of the floors measured
    in the same run, context and placement (cache line, the cache line
    carrying a message of the same size, the ring of slots, futex, its raw
    syscall loop: the floor kind named <transport>-raw, when the run has
    one). Returns (rows, faults, marks used)."""
    index = floors.floor_index(ds)
    busy, spin_first = floors.busy_polling(ds), floors.spins_first(ds)
    rows, faults, used = [], [], []
    pts = [p for p in ds.select("roundtrip", param=size)
           if not p.key.subject.startswith("py-")]
    pts.sort(key=lambda p: order_key(ds, p))
    for p in pts:
        pin = floors.placement(ds, p)

        def times(kind, param=-1):  # -1: a floor without a size
            f = index.get((kind, p.key.context, param, pin))
            if f is None:
                return "-"
            ratio = p.median / f.median
            if ratio < evidence.FAULT_LIMIT:
                faults.append((p, f, kind, ratio))
                used.append(evidence.FAULT)
                return ("measurement fault "
                        f"{evidence.SYMBOLS[evidence.FAULT]}")
            return fmt_ratio(ratio)
        raw = f"{p.key.subject}-raw"
        has_raw = (raw, p.key.context, size, pin) in index
        polls = p.key.subject in busy
        # A ring that spins before it sleeps does not sleep across CPUs: the futex
        # floor does not bound it there (only on one CPU, where it sleeps at once).
        no_futex = polls or (p.key.subject in spin_first and pin != "same")
        rows.append([p.key.subject + (" (busy-polls)" if polls else ""),
                     p.key.context, pin,
                     marked_cell(p, used, ds.context.get("num_cpus")),
                     times("cacheline"), times("cacheline-msg", size),
                     times("cacheline-ring", size),
                     "n/a" if no_futex else times("futex"),
                     f"{times(raw, size)} ({raw})" if has_raw else "-"])
    return rows, faults, used


def order_key(ds, p):
    pin = floors.placement(ds, p)
    return (floors.PLACEMENTS.index(pin) if pin in floors.PLACEMENTS
            else len(floors.PLACEMENTS), pin, point_order(p))


def fault_lines(ds, faults):
    """One line per measurement fault: the figures and the reason."""
    out = []
    for p, f, kind, ratio in faults:
        pin = floors.placement(ds, p)
        overlap = not (p.hi < f.lo or f.hi < p.lo)
        why = ("the two ranges overlap: the floor and the round trip are "
               "the same within noise" if overlap else
               "the floor was measured slower than the transport over it: "
               "taken at other moments of a drifting machine (see the "
               "drift canary)")
        if kind == "futex":
            why += ("; or the transport does not sleep on every message "
                    "(a spin phase), so the futex does not bound it")
        out.append(f"- `{p.key.subject} {p.key.context} "
                   f"pin:{pin}`: round trip "
                   f"{fmt_cell(p)} vs {kind} floor {fmt_cell(f)} "
                   f"({ratio:.2f}x, below {evidence.FAULT_LIMIT}x): {why}.")
    return out


def section_floor_multiples(inp):
    ds = inp.data
    pts = ds.select("roundtrip")
    if not pts or not ds.select("floor"):
        return None
    size = pick_size(sorted({p.key.param for p in pts}), 64)
    rows, faults, used = floor_multiples(ds, size)
    blocks = [
        f"Each {fmt_size(size)} round trip divided by the floor measured in "
        "the same run, context and placement (a round trip pinned to two "
        "CPUs only ever by a floor pinned to two CPUs). Targets "
        "(scripts/floor_check.py): shm-ring-spin at most 1.5x the cache line "
        "with `--pin cross`; pipe, fifo and uds at most 1.10x their raw "
        "syscall loop with `--pin same`. The message floor is the same "
        "cache-line baton carrying the message's bytes in a line of their own "
        "each way (floor/cacheline-msg): the least a message of that size "
        "costs, since its bytes and a ready mark cannot share one line; the "
        "ring floor passes it through a ring of slots (floor/cacheline-ring)."
        " There is no cache-line floor on one CPU (spinning there is "
        "pathological); a busy-polling transport never sleeps, so the futex "
        "is not its floor (n/a), nor is it across CPUs for one that spins "
        "before it sleeps (shm-ring).",
        Table(["transport", "context", "placement", "round trip",
               "x cache line", "x message floor", "x ring floor", "x futex",
               "x raw loop"], rows,
              with_legend("Ratios of medians over repetitions. A ratio "
                          f"below {evidence.FAULT_LIMIT}x is never printed.",
                          used))]
    if faults:
        blocks.append(f"Measurement faults ({len(faults)}): a round trip "
                      "cannot be faster than its floor.")
        blocks.append("\n".join(fault_lines(ds, faults)))
    return Section("Floor multiples", blocks)


def section_canary(inp):
    """The drift canary: cv of raw vs canary-normalised repetitions per
    benchmark, the summary and the band-change flags (report/canary.py)."""
    ds = inp.data
    summ = canary.summary(ds)
    if not summ.rows:
        return None
    flag = "band change"
    rows = [[r.point.key.scenario + "/" + r.point.key.label(),
             "futex" if r.canary == "futex" else "cache line",
             f"{r.cv_raw:.1%}", f"{r.cv_norm:.1%}" +
             (" (lower)" if r.improves else ""),
             f"{r.band_ratio:.2f}" + (f" {flag}" if r.straddles else "")]
            for r in summ.rows]
    straddling = [r for r in summ.rows if r.straddles]
    blocks = [
        "With `--canary`, ipcbench measures a short cache-line and futex "
        "ping-pong through the run and records with every repetition the "
        "one measured nearest to it in time. Each repetition divided by "
        "its canary (the futex canary for blocking transports, the "
        "cache-line canary for busy-polling ones and the cache-line floors) "
        "should spread less than the raw figures if the spread is the "
        "machine's drift. A benchmark straddles a band change when the "
        "canary values of its repetitions differ by more than "
        f"{canary.BAND_RATIO:g}x (max/min): its spread is the machine's, "
        "not the transport's.",
        "**Summary.** " + summ.text()[len("drift canary: "):]]
    if straddling:
        blocks.append(f"Straddling a band change ({len(straddling)}): " +
                      ", ".join(f"`{r.point.key.scenario}/"
                                f"{r.point.key.label()}`"
                                for r in straddling[:40]) +
                      (" and more (see the table)." if len(straddling) > 40
                       else "."))
    blocks.append(Table(["benchmark", "canary", "cv raw", "cv normalised",
                         "canary max/min"], rows,
                        "Coefficient of variation across repetitions, "
                        "raw time and time divided by the canary of the "
                        "same repetition."))
    return Section("Drift canary", blocks)


def section_seed(inp):
    """The seed table: the 2008 `processing` figures, Python today (the
    first input with py-* benchmarks) and C++ (the first with others)."""
    docs = [d for ds in inp.datasets for d in ds.docs] + inp.pyref
    py = next((doc for _, doc in docs if "python" in seed.kinds(doc)), None)
    if py is None:
        inp.notes.append("skipped: seed table (no Python reference run: "
                         "add --pyref results/pyref.json)")
        return None
    cpp = next((doc for _, doc in docs if "cpp" in seed.kinds(doc)), None)
    published = gbjson.load_plain(seed.SEED_DEFAULT)
    rows = seed.load_rows(cpp, py, published)
    return Section(seed.TITLE, [
        seed.intro(published),
        Table(list(seed.HEADERS), seed.table_cells(rows),
              align=list(seed.ALIGN)),
        FigureBlock("seed", seed.figure(rows), seed.CHART_CAPTION),
    ] + seed.notes(rows, cpp, py, published))


def title_of(scenario):
    return SCENARIO_TITLES.get(scenario, scenario)


def section_generic(inp):
    """One section per scenario the report has no section of its own for
    (e.g. one added to bench/scenarios.cpp since): its table, and a warning
    on stderr, so that no result is silently left out."""
    ds = inp.data
    out = []
    for scenario in ds.generic:
        pts = ds.select(scenario)
        if not pts and not any(k.scenario == scenario for k, _ in
                               ds.errored):
            continue
        inp.warnings.append(
            f"scenario {scenario!r} ({len(pts)} benchmark(s)) has no report "
            "section of its own; shown as a generic table (add a builder to "
            "ipcbench_tools/report/sections.py)")
        blocks = [f"Benchmarks of the `{scenario}` scenario, which this "
                  "report has no section of its own for: the time per "
                  "iteration (lower is better). " + spread_note(pts)
                  if pts else ""]
        blocks += errored_note(ds, scenario)
        if pts:
            blocks.append(point_table(pts, ds=ds))
        out.append(Section(f"Scenario `{scenario}`", [b for b in blocks
                                                      if b]))
    return out


# Report sections in order; append new builders here. A builder returns a
# Section, a list of them, or None.
SECTION_BUILDERS = [section_headline, section_checks, section_context,
                    section_history, section_seed, section_roundtrip,
                    section_processing,
                    section_throughput, section_dict, section_pool, section_fanin,
                    section_connection,
                    section_floor, section_tail_latency,
                    section_floor_multiples, section_canary,
                    section_startup, section_load, section_generic,
                    section_compare]


def build_sections(inp, builders=None):
    out = []
    for builder in builders or SECTION_BUILDERS:
        built = builder(inp)
        for section in built if isinstance(built, list) else [built]:
            if section is not None and section.blocks:
                out.append(section)
    return out
