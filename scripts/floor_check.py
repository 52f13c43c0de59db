#!/usr/bin/python3
"""Floor check: our transports as multiples of the machine's own floor, in one run.

Runs build/ipcbench twice (or reads the JSON of such runs) and compares 64-byte
round trips between processes with the floor benchmarks measured in the same
run, median of the repetitions (5 by default, randomly interleaved):

  --pin=cross  roundtrip/shm-ring-spin      <= 1.5  x floor/cacheline
  --pin=same   roundtrip/<t>                <= 1.10 x floor/<t>-raw
               for pipe, fifo, uds, uds-seqpacket, tcp at 64 B, 4 KiB, 64 KiB,
               for posix-mq, sysv-mq (64 B, 4 KiB: 8 KiB is their kernel
               limit) and eventfd (64 B, 4 KiB, 64 KiB),
               zmq-ipc (processes) and nng-ipc (threads) at 64 B
               throughput/<t>               <= 1.15 x floor/<t>-raw-stream
               for pipe, uds at 64 B and 4 KiB (time per message)
               roundtrip/shm-ring           <= 1.3  x floor/futex
               roundtrip/iceoryx-wait       <= 1.10 x floor/iceoryx-raw-wait (64 B)
  --pin=cross  roundtrip/shm-ring           <= 1.15 x roundtrip/shm-ring-spin
               roundtrip/shm-ring-spin      <= 1.25 x floor/cacheline-ring
               throughput/shm-ring-spin     <= 1.25 x floor/stream-cross (64 KiB)
               shm-ring-spin                <= 1.0  x peer-boost-spsc (64 B and
               4 KiB round trips, 64 KiB stream)
               roundtrip/iceoryx-spin       <= 1.10 x floor/iceoryx-raw-spin (64 B)

and, without a target, what lies between the cache line and the ring: the
64-byte message floor (floor/cacheline-msg: the baton carrying 64 bytes in a
fixed slot of two lines per side, the least any 64-byte message can cost) and
the ring-of-slots floor (floor/cacheline-ring: the same through 32 slots in
turn, fresh lines every message, nothing else) against the cache line, and
shm-ring-spin against the ring of slots; then shm-ring (spin then futex),
shm-ring-futex and shm-boost against the futex floor. Each row also shows the
CPU both peers burned per round trip (cpu_ns_per_msg). Exit status: 0 if every target passes, 1 if one
is missed or could not be measured, 2 on bad input.

    scripts/floor_check.py                          # run build/ipcbench
    scripts/floor_check.py --keep results/floor     # also keep the JSON
    scripts/floor_check.py --json a.json b.json     # check earlier runs
"""

import os
import subprocess
import sys
import tempfile

from ipcbench_tools import atomic, cli, gbjson, stats
from ipcbench_tools.errors import InputError

PROG = "floor_check.py"
EXIT_CODES = {0: "every floor check passed", 1: "a floor check failed",
              2: "bad input or command line (one line on stderr)",
              130: "interrupted (Ctrl-C)"}
CheckError = InputError


class Target:
    """One comparison: `transport` round trip over `floor`, both under `pin`."""

    def __init__(self, pin, transport, floor, limit, note=""):
        self.pin = pin
        self.transport = transport
        self.floor = floor
        self.limit = limit  # None: shown, no target
        self.note = note


TARGETS = [
    Target("cross", "roundtrip/shm-ring-spin/process/size:64",
           "floor/cacheline/process", 1.5),
] + [
    Target("same", f"roundtrip/{t}/process/size:{n}",
           f"floor/{t}-raw/process/size:{n}", 1.10, f"{n} B")
    for t in ("pipe", "fifo", "uds", "uds-seqpacket", "tcp")
    for n in (64, 4096, 65536)
] + [
    Target("same", f"roundtrip/{t}/process/size:{n}",
           f"floor/{t}-raw/process/size:{n}", 1.10, f"{n} B")
    for t, sizes in (("posix-mq", (64, 4096)), ("sysv-mq", (64, 4096)),
                     ("eventfd", (64, 4096, 65536)))
    for n in sizes
] + [
    # The libraries' own ping-pong loops (floor/<t>-raw: library calls only);
    # nng cannot cross a fork, so its pair is two threads.
    Target("same", f"roundtrip/{t}/{c}/size:{n}",
           f"floor/{t}-raw/{c}/size:{n}", 1.10 if n == 64 else None, f"{n} B")
    for t, c in (("zmq-ipc", "process"), ("nng-ipc", "thread"))
    for n in (64, 65536)
] + [
    Target("same", f"throughput/{t}/process/size:{n}",
           f"floor/{t}-raw-stream/process/size:{n}", 1.15, f"{n} B stream")
    for t in ("pipe", "uds") for n in (64, 4096)
] + [
    Target("cross", "floor/cacheline-msg/process/size:64",
           "floor/cacheline/process", None,
           "64 B need a second line each way"),
    Target("cross", "floor/cacheline-ring/process/size:64",
           "floor/cacheline/process", None,
           "and fresh lines every message"),
    Target("cross", "roundtrip/shm-ring-spin/process/size:64",
           "floor/cacheline-ring/process/size:64", 1.25,
           "against the ring-of-slots floor"),
    Target("same", "roundtrip/shm-ring/process/size:64",
           "floor/futex/process", 1.3, "adaptive: sleeps at once on one CPU"),
    Target("cross", "roundtrip/shm-ring/process/size:64",
           "roundtrip/shm-ring-spin/process/size:64", 1.15,
           "adaptive: spins across CPUs"),
    Target("cross", "throughput/shm-ring-spin/process/size:65536",
           "floor/stream-cross/process/size:65536", 1.25,
           "64 KiB stream, >= 80% of the two-slot copy floor"),
] + [
    Target("cross", f"{kind}/shm-ring-spin/process/size:{n}",
           f"{kind}/peer-boost-spsc/process/size:{n}", 1.0,
           f"{n} B {'round trip' if kind == 'roundtrip' else 'stream'}: "
           "ahead of the peer")
    for kind, n in (("roundtrip", 64), ("roundtrip", 4096),
                    ("throughput", 65536))
] + [
    Target("cross", "roundtrip/shm-ring/process/size:64",
           "floor/cacheline/process", None, "spin, then futex"),
    Target("cross", "roundtrip/shm-ring-futex/process/size:64",
           "floor/futex/process", None),
    Target("same", "roundtrip/shm-ring-futex/process/size:64",
           "floor/futex/process", None),
    Target("same", "roundtrip/shm-boost/process/size:64",
           "floor/futex/process", None, "mutex + condvar per message"),
    Target("cross", "roundtrip/shm-boost/process/size:64",
           "floor/futex/process", None, "mutex + condvar per message"),
    # iceoryx against its own API driven directly (busy-polling across CPUs, WaitSet on one)
    Target("cross", "roundtrip/iceoryx-spin/process/size:64",
           "floor/iceoryx-raw-spin/process/size:64", 1.10, "iceoryx API directly"),
    Target("same", "roundtrip/iceoryx-wait/process/size:64",
           "floor/iceoryx-raw-wait/process/size:64", 1.10, "iceoryx API directly"),
]


def filters(pin):
    """The --benchmark_filter regex selecting every name the `pin` run needs."""
    names = sorted({n for t in TARGETS if t.pin == pin
                    for n in (t.transport, t.floor)})
    return "^(" + "|".join(n.replace("+", r"\+") for n in names) + ")/"


run_name = gbjson.run_name


def load(path):
    """Reads one Google Benchmark JSON file; raises CheckError if unusable."""
    data = gbjson.load(path, context=True)
    if data["context"].get("pin") not in ("none", "cross", "same"):
        raise CheckError(f'{path}: no ipcbench "pin" in the context')
    return data


class Figure:
    """A benchmark's median real time (ns), CPU per round trip and median
    round trip (p50_ns), or its error."""

    def __init__(self, ns=None, cpu_ns=None, reps=0, error=None, p50=None):
        self.ns = ns
        self.cpu_ns = cpu_ns
        self.reps = reps
        self.error = error
        self.p50 = p50


def _number(entry, key):
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value < 0 or value == float("inf"):
        return None
    return float(value)


def figures(data):
    """Maps run name -> Figure: the median aggregate if present, else the
    median of the per-repetition entries; errors win over figures."""
    reps, medians, errors = {}, {}, {}
    for entry in data["benchmarks"]:
        if not isinstance(entry, dict):
            continue
        name = run_name(entry)
        if entry.get("error_occurred"):
            errors[name] = str(entry.get("error_message") or "failed")
            continue
        scale = gbjson.NS_PER_UNIT.get(entry.get("time_unit", "ns"))
        real = _number(entry, "real_time")
        if scale is None or real is None:
            continue
        row = (real * scale, _number(entry, "cpu_ns_per_msg"),
               _number(entry, "p50_ns"))
        kind = entry.get("run_type", "iteration")
        if kind == "aggregate":
            if entry.get("aggregate_name") == "median":
                medians[name] = row
        else:
            reps.setdefault(name, []).append(row)
    out = {}
    for name in set(reps) | set(medians):
        runs = reps.get(name, [])
        if name in medians:
            row = medians[name]
        else:
            row = [_median(r[i] for r in runs) for i in range(3)]
        out[name] = Figure(row[0], row[1], len(runs), p50=row[2])
    for name, message in errors.items():
        out[name] = Figure(error=message)
    return out


def _median(values):
    return stats.median(v for v in values if v is not None)


class Row:
    """The outcome of one Target: ratio and verdict."""

    def __init__(self, target, transport, floor):
        self.target = target
        self.transport = transport
        self.floor = floor
        self.ratio = None
        self.p50_ratio = None
        self.verdict = "INFO"
        self.why = ""
        for label, fig in (("", transport), ("floor: ", floor)):
            if fig is None:
                self.verdict = "MISSING"
                self.why = label + "not in the run"
                break
            if fig.error is not None:
                self.verdict = "ERROR"
                self.why = label + fig.error
                break
        if self.verdict == "INFO":
            if floor.ns <= 0:
                self.verdict, self.why = "ERROR", "floor time is zero"
            else:
                self.ratio = transport.ns / floor.ns
                if transport.p50 and floor.p50:
                    self.p50_ratio = transport.p50 / floor.p50
                if target.limit is not None:
                    self.verdict = ("PASS" if self.ratio <= target.limit
                                    else "MISS")

    @property
    def counts(self):
        """Does this row decide the exit status?"""
        return self.target.limit is not None


def compare(runs):
    """`runs` maps pin -> figures(); returns one Row per Target whose pin was
    run (a target whose pin is absent is MISSING)."""
    rows = []
    for t in TARGETS:
        figs = runs.get(t.pin)
        if figs is None:
            row = Row(t, None, None)
            row.why = f"no run with --pin={t.pin}"
        else:
            row = Row(t, figs.get(t.transport), figs.get(t.floor))
        rows.append(row)
    return rows


def _ns(value):
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e3:
        return f"{value / 1e3:.2f} us"
    return f"{value:.0f} ns"


def short(name):
    """roundtrip/pipe/process/size:64 -> pipe; floor/pipe-raw/... -> pipe-raw."""
    return name.split("/")[1]


def render(rows, loads):
    """The report: one line per row, then the load averages of the runs."""
    header = (f"{'pin':<6} {'transport':<15} {'floor':<14} {'transport':>10} "
              f"{'floor':>10} {'ratio':>7} {'target':>7} {'result':<7} "
              f"{'p50 ratio':>9} {'cpu/rt':>10} {'floor cpu':>10}  note")
    lines = ["round trips (64 B unless noted) and streams between processes, "
             "median of the repetitions "
             "(ratio: of mean round-trip times, the target; p50 ratio: of "
             "median round trips, robust to stalls)",
             header, "-" * len(header)]
    for r in rows:
        t = r.target
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        p50 = f"{r.p50_ratio:.2f}x" if r.p50_ratio is not None else "-"
        limit = f"{t.limit:.2f}x" if t.limit is not None else "-"
        tr_ns = r.transport.ns if r.transport and r.transport.error is None \
            else None
        fl_ns = r.floor.ns if r.floor and r.floor.error is None else None
        tr_cpu = r.transport.cpu_ns if r.transport else None
        fl_cpu = r.floor.cpu_ns if r.floor else None
        note = r.why or t.note
        lines.append(
            f"{t.pin:<6} {short(t.transport):<15} {short(t.floor):<14} "
            f"{_ns(tr_ns):>10} {_ns(fl_ns):>10} {ratio:>7} {limit:>7} "
            f"{r.verdict:<7} {p50:>9} {_ns(tr_cpu):>10} {_ns(fl_cpu):>10}  "
            f"{note}".rstrip())
    for pin, load_avg in loads:
        text = " ".join(f"{x:.2f}" for x in load_avg) if load_avg else "?"
        lines.append(f"load average when the --pin={pin} run started: {text}")
    passed = sum(r.verdict == "PASS" for r in rows if r.counts)
    total = sum(1 for r in rows if r.counts)
    lines.append(f"{passed} of {total} targets met")
    return "\n".join(lines) + "\n"


def build_parser():
    p = cli.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                           exit_codes=EXIT_CODES)
    p.add_argument("--binary", default="build/ipcbench",
                   help="the ipcbench binary to run (default build/ipcbench)")
    p.add_argument("--json", nargs="+", metavar="FILE",
                   help="check these results instead of running (one file "
                        "per --pin, told apart by their context)")
    p.add_argument("--repetitions", type=int, default=5,
                   help="repetitions per benchmark (default 5)")
    p.add_argument("--min-time", type=float, default=0.5,
                   help="--benchmark_min_time per repetition (default 0.5)")
    p.add_argument("--keep", metavar="PREFIX",
                   help="keep the runs as PREFIX-cross.json, PREFIX-same.json")
    return p


def run_binary(binary, pin, repetitions, min_time, out):
    """Runs one pinned run into `out` (JSON); its console goes to stderr."""
    cmd = [binary, f"--pin={pin}", f"--benchmark_filter={filters(pin)}",
           f"--benchmark_repetitions={repetitions}",
           "--benchmark_enable_random_interleaving=true",
           f"--benchmark_min_time={min_time}",
           f"--benchmark_out={out}", "--benchmark_out_format=json"]
    try:
        proc = subprocess.run(cmd, stdout=sys.stderr)
    except OSError as e:
        raise CheckError(f"{binary}: cannot run: {e.strerror}")
    if proc.returncode != 0:
        raise CheckError(f"{binary} --pin={pin} exited with status "
                         f"{proc.returncode}")


def keep(outs, prefix):
    """Copies each pin's JSON to PREFIX-<pin>.json, all or none."""
    directory, stem = os.path.split(os.path.abspath(prefix))
    files = {}
    for pin, path in outs.items():
        with open(path, encoding="utf-8") as src:
            files[f"{stem}-{pin}.json"] = src.read()
    atomic.write_files(directory, files)


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=2)


def _main(argv):
    args = build_parser().parse_args(argv)
    if not 1 <= args.repetitions <= 100:
        raise CheckError("--repetitions wants 1 to 100")
    if not 0 < args.min_time <= 60:
        raise CheckError("--min-time wants a number of seconds in (0, 60]")
    runs, loads = {}, []
    if args.json:
        for path in args.json:
            data = load(path)
            pin = data["context"]["pin"]
            if pin in runs:
                raise CheckError(f"{path}: a second run with --pin={pin}")
            runs[pin] = figures(data)
            loads.append((pin, data["context"].get("load_avg")))
    else:
        with tempfile.TemporaryDirectory(prefix="floor_check-") as tmp:
            outs = {}
            for pin in ("cross", "same"):
                outs[pin] = os.path.join(tmp, f"{pin}.json")
                run_binary(args.binary, pin, args.repetitions,
                           args.min_time, outs[pin])
                data = load(outs[pin])
                runs[pin] = figures(data)
                loads.append((pin, data["context"].get("load_avg")))
            if args.keep:
                keep(outs, args.keep)
    rows = compare(runs)
    sys.stdout.write(render(rows, loads))
    return 0 if all(r.verdict == "PASS" for r in rows if r.counts) else 1


if __name__ == "__main__":
    sys.exit(main())
