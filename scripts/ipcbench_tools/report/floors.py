"""Which floor a round trip is divided by, and placements.

A round trip is only ever divided by a floor of the same placement (the
`pin:` key of both names; a name without one ran in the first placement of
the run's `pin` list) and the same context, from the same run:

- its own raw system-call loop (floor/<transport>-raw, same size) where the
  run has one;
- else, for a busy-polling transport, and for one that spins before it
  sleeps when its peers are not on one CPU (it is often served while
  spinning), the ring-of-slots floor (floor/cacheline-ring, same size), else
  the cache line carrying the message (floor/cacheline-msg), else the bare
  cache line;
- else the futex wake-up (floor/futex).

Which transports busy-poll comes from the run's context (`busy_polling`,
written by ipcbench; `spins_first` for the ones that spin, then sleep); for an older file without it, a transport the run
measured across CPUs but never on one CPU while others were (ipcbench skips
busy-polling pairs in `same`).
"""
from ipcbench_tools.report.data import placement_of

PLACEMENTS = ("cross", "same", "none")     # the order the report shows
PLACEMENT_TEXT = {"cross": "two CPUs (--pin=cross)",
                  "same": "one CPU (--pin=same)",
                  "none": "unpinned (--pin=none)"}
BUSY_FLOORS = ("cacheline-ring", "cacheline-msg", "cacheline")
FLOOR_NAMES = {"futex": "futex", "cacheline": "cache line",
               "cacheline-msg": "message floor",
               "cacheline-ring": "ring floor"}


def run_placements(ds):
    """The run's placements in the order it ran them (context `pin`)."""
    pins = [p.strip() for p in str(ds.context.get("pin") or "none")
            .split(",") if p.strip()]
    return pins or ["none"]


def placement(ds, point_or_key):
    key = getattr(point_or_key, "key", point_or_key)
    return placement_of(key) or run_placements(ds)[0]


def present(ds, points):
    """The placements of these points, in the report's order."""
    pins = {placement(ds, p) for p in points}
    return [p for p in PLACEMENTS if p in pins] + \
        sorted(pins - set(PLACEMENTS))


def _listed(ds, key):
    listed = ds.context.get(key)
    if isinstance(listed, str):
        return {t.strip() for t in listed.split(",") if t.strip()}
    return None


# Files written before ipcbench recorded `spins_first` (ae250b5): shm-ring was
# then, as now, the one transport that spins, then sleeps.
SPINS_FIRST_BEFORE_RECORDED = frozenset({"shm-ring"})


def spins_first(ds):
    """The transports of this run that spin before they sleep."""
    listed = _listed(ds, "spins_first")
    return SPINS_FIRST_BEFORE_RECORDED if listed is None else listed


def busy_polling(ds):
    """The set of busy-polling transports of this run."""
    listed = _listed(ds, "busy_polling")
    if listed is not None:
        return listed
    rts = ds.select("roundtrip")
    where = {}
    for p in rts:
        where.setdefault(p.key.subject, set()).add(placement(ds, p))
    if not any("same" in w for w in where.values()):
        return set()
    return {s for s, w in where.items() if "cross" in w and "same" not in w}


def floor_index(ds):
    """(kind, context, size or -1, placement) -> Point for latency floors."""
    return {(p.key.subject, p.key.context, p.key.param, placement(ds, p)): p
            for p in ds.select("floor") if p.metric == "latency"}


def floor_of(ds, point, index=None, busy=None):
    """(floor Point, what it is) for a round trip, or (None, reason)."""
    index = floor_index(ds) if index is None else index
    busy = busy_polling(ds) if busy is None else busy
    pin = placement(ds, point)
    ctx, size, subject = point.key.context, point.key.param, \
        point.key.subject

    def get(kind, param=-1):
        return index.get((kind, ctx, param, pin))
    raw = get(f"{subject}-raw", size)
    if raw is not None:
        return raw, f"{subject}-raw loop"
    if subject in busy or (pin != "same" and subject in spins_first(ds)):
        for kind in BUSY_FLOORS:
            f = get(kind, size if kind != "cacheline" else -1)
            if f is not None:
                return f, FLOOR_NAMES[kind]
        return None, f"no cache-line floor in {pin}"
    f = get("futex")
    if f is not None:
        return f, "futex"
    return None, f"no futex floor in {pin}"

