"""Google Benchmark JSON -> Dataset: one Point (median and spread over the
repetitions) per benchmark, keyed by what it measures (scenario, subject,
context, parameter). Scenarios come from the results: one the report has no
section for is parsed generically and listed in Dataset.generic."""
import dataclasses
import math
import re
from pathlib import Path

from ipcbench_tools import gbjson, names, stats
from ipcbench_tools.errors import InputError
from ipcbench_tools.report.fmt import fmt_size

REPO = Path(__file__).resolve().parents[3]
# How a scenario without an entry in SCENARIOS is read: the first positional
# component is the subject, the second the context, every key:value an
# "extra"; the figure is the time per iteration.
GENERIC = (1, None, "latency")

# Scenarios with report sections of their own (sections.py):
# scenario -> (which positional component is the context, numeric parameter,
#              metric). metric: latency (seconds, lower is better), bytes
#              (bytes/s) or a rate unit such as "lookups/s" (higher is better).
SCENARIOS = {
    "roundtrip": (1, "size", "latency"),
    "throughput": (1, "size", "bytes"),
    "dict": (1, "readers", "lookups/s"),
    "connection": (1, "size", "bytes"),
    "connection-roundtrip": (1, "size", "latency"),
    "connection-setup": (1, None, "connections/s"),
    "floor": (1, "size", "latency"),
    "startup": (0, "rss", "latency"),
    "load": (1, "size", "latency"),
    "pool": (1, "workers", "tasks/s"),
    "fanin": (1, "clients", "requests/s"),
}
SCENARIO_TITLES = {
    "roundtrip": "round trip", "throughput": "streaming throughput",
    "dict": "shared dict", "connection": "Listener/Client stream",
    "connection-roundtrip": "Listener/Client round trip",
    "connection-setup": "Listener/Client set-up", "floor": "floor",
    "startup": "start-up", "load": "latency under load",
    "pool": "worker pool", "fanin": "fan-in",
}

CONTEXT_ORDER = ("thread", "process", "spawn")
# Per-repetition counters a Point keeps (their median), besides every *_ns.
# busy_peers: how many threads/processes of the benchmark spin or run at
# once (ipcbench's counter); more than the machine's CPUs = oversubscribed.
COUNTERS_KEPT = ("lookups_per_reader", "cpu_ns_per_msg", "busy_peers",
                 # load/ (report/load.py)
                 "achieved_rate", "target_rate", "closed_loop_rate",
                 "rate_pct", "max_in_flight", "in_flight_end", "late_sends")



@dataclasses.dataclass(frozen=True, order=True)
class Key:
    """What one benchmark measures, parsed from its run_name."""
    scenario: str
    subject: str          # transport, family or kind
    context: str
    param: int = -1       # size / readers / rss; -1 when absent
    extra: str = ""       # any other key:value components, as written

    def label(self):
        parts = [self.subject, self.context]
        if self.param >= 0:
            parts.append(param_text(self))
        if self.extra:
            parts.append(self.extra)
        return " ".join(p for p in parts if p)


@dataclasses.dataclass
class Point:
    """Median and spread of one benchmark's metric."""
    key: Key
    metric: str           # "latency" | "bytes" | "<thing>/s"
    median: float
    lo: float
    hi: float
    n: int
    source: str           # "repetitions" | "median aggregate" | "single run"
    counters: dict = dataclasses.field(default_factory=dict)
    rank: int = 0         # the subject's place in the results' own order
    # Per repetition, in the order they ran (started_s, else file order):
    values: tuple = ()    # the metric of each repetition
    started: tuple = ()   # started_s of each (None where absent)
    order: tuple = ()     # each repetition's position in the whole file
    reps: dict = dataclasses.field(default_factory=dict)  # counter -> list

    @property
    def placement(self):
        """The `pin:` value in the name, or None when it has none."""
        return placement_of(self.key)


def placement_of(key):
    """'cross' for a name with /pin:cross, None without a pin: key."""
    for part in key.extra.split("/"):
        if part.startswith("pin:"):
            return part[4:]
    return None


@dataclasses.dataclass
class Dataset:
    path: str
    label: str
    context: dict
    points: dict          # Key -> Point
    warnings: list
    generic: list         # scenarios without a section of their own
    errored: list = dataclasses.field(default_factory=list)  # (Key, message)
    docs: list = dataclasses.field(default_factory=list)  # (path, document)
    ranks: dict = dataclasses.field(default_factory=dict)  # subject -> int

    def select(self, scenario, **match):
        out = [p for k, p in self.points.items() if k.scenario == scenario
               and all(getattr(k, a) == v for a, v in match.items())]
        return sorted(out, key=point_order)

    def scenarios(self):
        """Scenarios present, in the results' order."""
        return list(dict.fromkeys(p.key.scenario for p in
                                  sorted(self.points.values(),
                                         key=lambda p: p.rank)))


def cpus_of(context):
    """The machine's CPU count from a results context, or None."""
    n = context.get("num_cpus") if isinstance(context, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 \
        else None


def oversubscribed(point, context):
    """THE rule, for tables and charts alike: a benchmark is oversubscribed
    when its busy_peers counter (peers running at once) exceeds the CPUs of
    the machine it ran on (context: the results' "context" object). Without
    the counter or the CPU count nothing is claimed (False)."""
    busy, cpus = point.counters.get("busy_peers"), cpus_of(context)
    return busy is not None and cpus is not None and busy > cpus


PLACEMENTS = ("none", "cross", "same")   # --pin; a /pin:<p> name component


def placement(key):
    """The CPU placement in a Key's extra ("pin:cross" -> "cross"), or None
    for a benchmark measured without one (old files, throughput...)."""
    for part in key.extra.split("/"):
        if part.startswith("pin:"):
            return part[4:]
    return None


def placement_order(pin):
    return order_index(pin or "none", PLACEMENTS)


def point_order(p):
    """Subjects in the order the results list them (registration order:
    Google Benchmark's family_index), then context, parameter, the rest."""
    return (p.key.scenario, p.rank, order_index(p.key.context, CONTEXT_ORDER),
            p.key.param, p.key.extra)


def order_index(name, order):
    return (order.index(name), "") if name in order else (len(order), name)


def param_text(key):
    name = SCENARIOS.get(key.scenario, GENERIC)[1]
    if key.param < 0:       # a benchmark without the parameter (floor/futex)
        return f"no {name}" if name else "-"
    if name == "size":
        return fmt_size(key.param)
    if name in ("readers", "workers", "clients"):
        return f"{key.param} {name[:-1]}" + ("s" if key.param != 1 else "")
    if name == "rss":
        return f"RSS {key.param} MiB"
    return str(key.param)


def load_json(path):
    """Read a results file; raise InputError with a one-line reason."""
    return gbjson.load(path)


def parse_name(run_name):
    """run_name -> Key. A scenario without a section of its own is read as
    GENERIC. Raises ValueError when the name has the wrong shape."""
    name = names.parse(run_name)
    ctx_pos, param_name, _ = SCENARIOS.get(name.scenario, GENERIC)
    positional = list(name.parts)
    param = -1
    if param_name is not None and param_name in name.params:
        param = name.int_param(param_name)
    extra = [f"{k}:{v}" for k, v in name.params.items() if k != param_name]
    if name.scenario not in SCENARIOS:
        extra = positional[2:] + extra
        positional = (positional + ["", ""])[:2]
    if name.scenario == "startup" and len(positional) == 1 and param >= 0:
        # startup/<context>/rss:<MiB> runs over pipes (bench/startup.cpp);
        # the context says how the peer starts (process = fork, spawn)
        positional.append("pipe")
    if len(positional) != 2:
        raise ValueError("expected <scenario>/<name>/<context>")
    context = positional[ctx_pos]
    subject = positional[1 - ctx_pos]
    return Key(name.scenario, subject, context, param, "/".join(extra))


def metric_of(key):
    metric = SCENARIOS.get(key.scenario, GENERIC)[2]
    if key.scenario == "floor" and key.subject == "memcpy":
        return "bytes"
    return metric


def entry_value(entry, key, metric):
    """The metric of one entry (seconds or a rate), or raise ValueError."""
    real = entry.get("real_time")
    try:
        seconds = gbjson.entry_seconds(entry)
    except ValueError:
        if entry.get("time_unit", "ns") not in gbjson.TIME_UNITS:
            raise
        seconds = math.nan
    if metric == "latency":
        value = seconds
    elif metric == "bytes":
        value = entry.get("bytes_per_second")
        if value is None and key.param > 0:
            items = entry.get("items_per_second")
            value = items * key.param if isinstance(items, (int, float)) \
                else key.param / seconds if seconds > 0 else math.nan
    else:
        value = entry.get("items_per_second")
        if value is None:
            value = 1.0 / seconds if seconds > 0 else math.nan
    if not stats.is_number(value) or value <= 0:
        raise ValueError(f"no usable value (real_time={real!r}, "
                         f"value={value!r})")
    return float(value)


# Counters kept per repetition besides *_ns: the canary's age, the
# oversubscription pair (busy_peers > cpus), lookups and CPU per message.
REP_COUNTERS = COUNTERS_KEPT + ("canary_age_s", "cpus")


def _group(doc):
    """Entries by Key, in the results' order; warnings; subject ranks.
    Every entry carries its position in the file as "_pos"."""
    groups, warnings, bad_names, first = {}, [], set(), {}
    for pos, entry in enumerate(doc["benchmarks"]):
        if isinstance(entry, dict):
            entry = dict(entry, _pos=pos)
        run_name = entry.get("run_name")
        if not isinstance(run_name, str):
            run_name = re.sub(r"_(mean|median|stddev|cv)$", "", entry["name"])
        try:
            key = parse_name(run_name)
        except ValueError as e:
            if run_name not in bad_names:
                warnings.append(f"{run_name}: skipped, bad name: {e}")
                bad_names.add(run_name)
            continue
        groups.setdefault(key, (run_name, []))[1].append(entry)
        family = entry.get("family_index")
        where = (family if isinstance(family, int) else pos, pos)
        first[key.subject] = min(first.get(key.subject, where), where)
    ranks = {s: i for i, s in enumerate(sorted(first, key=first.get))}
    return groups, warnings, ranks


def _point(key, run_name, entries, spread, warnings, errors, errored, rank):
    metric = metric_of(key)
    iters = [e for e in entries if gbjson.is_iteration(e)]
    medians = [e for e in entries if gbjson.is_aggregate(e, "median")]
    failed = [e for e in iters if e.get("error_occurred")]
    good = [e for e in iters if not e.get("error_occurred")]
    if failed:
        msg = failed[0].get("error_message", "no message")
        what = f"{len(failed)} of {len(iters)} repetitions errored" \
            if good else "errored"
        warnings.append(f"{run_name}: {what}, left out: {msg}")
        errors.append(f"{run_name}: {msg}")
        if not good:
            errored.append((key, msg))
    values, counters, started, order, reps = [], {}, [], [], []
    good = sorted(good, key=lambda e: (
        (0, e["started_s"]) if stats.is_number(e.get("started_s"))
        else (1, e["_pos"]), e["_pos"]))
    for e in good:
        try:
            values.append(entry_value(e, key, metric))
        except ValueError as err:
            warnings.append(f"{run_name}: repetition left out, {err}")
            continue
        started.append(float(e["started_s"]) if stats.is_number(
            e.get("started_s")) else None)
        order.append(e["_pos"])
        rep = {}
        for name, value in e.items():
            if name.endswith("_ns") or name in REP_COUNTERS:
                if stats.is_number(value):
                    counters.setdefault(name, []).append(float(value))
                    rep[name] = float(value)
        reps.append(rep)
    source = "repetitions" if len(values) > 1 else "single run"
    if not values and medians and not failed:
        try:
            values = [entry_value(medians[0], key, metric)]
            source = "median aggregate"
        except ValueError as err:
            warnings.append(f"{run_name}: median left out, {err}")
    if not values:
        return None
    lo, hi = stats.spread(values, spread)
    n = len(values) if source != "median aggregate" else \
        int(medians[0].get("repetitions", 1) or 1)
    per_rep = {}
    if source == "repetitions" or len(values) == 1 and reps:
        for name in counters:
            per_rep[name] = [r.get(name) for r in reps]
    else:
        started, order = [None], [medians[0].get("_pos", 0)]
    return Point(key, metric, stats.median(values), lo, hi, n, source,
                 {k: stats.median(v) for k, v in counters.items()}, rank,
                 tuple(values), tuple(started), tuple(order), per_rep)


def parse_results(doc, path, label=None, spread="minmax"):
    """Google Benchmark document -> Dataset. Raises InputError when nothing
    in it can be plotted."""
    groups, warnings, ranks = _group(doc)
    if not groups:
        raise InputError(f"{path}: no benchmark with a usable name")
    points, errors, errored = {}, [], []
    for key, (run_name, entries) in groups.items():
        point = _point(key, run_name, entries, spread, warnings, errors,
                       errored, ranks[key.subject])
        if point is not None:
            points[key] = point
    if not points:
        first = errors[0] if errors else "no usable values"
        raise InputError(f"{path}: every benchmark errored (first: {first})")
    context = doc.get("context") if isinstance(doc.get("context"), dict) \
        else {}
    generic = list(dict.fromkeys(k.scenario for k in groups
                                 if k.scenario not in SCENARIOS))
    return Dataset(str(path), label or default_label(path, context), context,
                   points, warnings, generic, errored, [(str(path), doc)],
                   ranks)


def default_label(path, context):
    commit = str(context.get("git_commit", ""))[:10]
    stem = Path(path).stem
    return f"{stem} ({commit})" if commit else stem


def merge_datasets(datasets):
    """Pool several data sets; a benchmark present twice keeps the last.
    Subjects keep the order of the first file that has them."""
    first = datasets[0]
    points, warnings, ranks = {}, [], {}
    for ds in datasets:
        for subject in sorted(ds.ranks, key=ds.ranks.get):
            ranks.setdefault(subject, len(ranks))
    for ds in datasets:
        for key, point in ds.points.items():
            if key in points:
                warnings.append(f"{key.scenario}/{key.label()}: in several "
                                f"files, using {ds.path}")
            points[key] = dataclasses.replace(point,
                                              rank=ranks[key.subject])
    return Dataset(" + ".join(d.path for d in datasets),
                   " + ".join(d.label for d in datasets), first.context,
                   points, warnings,
                   list(dict.fromkeys(s for d in datasets
                                      for s in d.generic)),
                   [e for d in datasets for e in d.errored],
                   [doc for d in datasets for doc in d.docs], ranks)


def display_path(path):
    """How the report names an input: relative to the repository when it
    lies inside it (so a committed report holds no absolute paths)."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except (ValueError, OSError):
        return str(path)
