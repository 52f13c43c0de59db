#!/usr/bin/python3
"""Python reference runs: the `processing` package's scenarios, measured today.

Measures, with CPython's own multiprocessing (fork start method), the
scenarios whose 2008 figures inspired ipcbench (see data/processing-2008.json):

  dict lookups        plain dict; Manager().dict() from a forked process and
                      from a thread (10,000 keys, 64-byte values, random keys
                      from a fixed seed, every value checked)
  objects one way     queue.Queue (threads), multiprocessing.Queue, Pipe,
                      connection Listener/Client over AF_UNIX and AF_INET,
                      and pyzmq PAIR sockets over ipc:// (py-zmq-ipc), for
                      what ZeroMQ costs from Python next to zmq-ipc in C++
  round trips         the same channels, echoed by the peer

Every message carries a sequence number and a CRC-32 of its body and is
checked on receipt; a lost or corrupt message turns the benchmark into an
error entry. The result is Google Benchmark 1.7.1 JSON (per-repetition
entries plus mean/median/stddev/cv aggregates), with names in ipcbench's
format and a `py-` prefix on the kind or transport, e.g.
`dict/py-manager/process/readers:1/real_time`.

    scripts/pyref.py                      # full run -> results/pyref.json
    scripts/pyref.py --quick --out /tmp/p.json --filter 'py-pipe'
"""

import math
import os
import re
import signal
import sys
import sysconfig
import platform
import json

from ipcbench_tools import atomic, cli, gbwrite
from ipcbench_tools.errors import UsageError
from ipcbench_tools.pybench import (Interrupted, _Deadline, registry,
                                    run_all)

PROG = "pyref.py"
SCHEMA = "1"
EXIT_CODES = {0: "results written (failed benchmarks are error entries)",
              1: "cannot write the results",
              2: "bad command line, or --filter matches nothing",
              130: "interrupted (SIGINT/SIGTERM); nothing written"}


def build_parser():
    p = cli.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                           exit_codes=EXIT_CODES)
    p.add_argument("--out", default="results/pyref.json",
                   help="output JSON file (default: %(default)s)")
    p.add_argument("--repetitions", type=int, default=None,
                   help="repetitions per benchmark (default 5; quick: 2)")
    p.add_argument("--min-time", type=float, default=None,
                   help="seconds per repetition (default 0.3; quick: 0.01)")
    p.add_argument("--filter", default=None, metavar="REGEX",
                   help="run only names matching REGEX (re.search); "
                        "a leading '-' negates, as in Google Benchmark")
    p.add_argument("--quick", action="store_true",
                   help="smoke mode: 2 repetitions, tiny min-time")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds before one repetition counts as hung "
                        "(default: %(default)s)")
    p.add_argument("--list", action="store_true",
                   help="print the benchmark names and exit")
    return p


# --------------------------------------------------------------- settings

def resolve_settings(args):
    """Validate parsed arguments; returns (repetitions, min_time, pattern)."""
    reps = args.repetitions
    if reps is None:
        reps = 2 if args.quick else 5
    if not 1 <= reps <= 1000:
        raise UsageError(f"--repetitions must be 1..1000, got {reps}")
    min_time = args.min_time
    if min_time is None:
        min_time = 0.01 if args.quick else 0.3
    if not (math.isfinite(min_time) and 0 < min_time <= 60):
        raise UsageError(f"--min-time must be in (0, 60] seconds, "
                         f"got {args.min_time}")
    if not (math.isfinite(args.timeout) and 1 <= args.timeout <= 3600):
        raise UsageError(f"--timeout must be in [1, 3600] seconds, "
                         f"got {args.timeout}")
    pattern = None
    if args.filter is not None:
        negate = args.filter.startswith("-")
        text = args.filter[1:] if negate else args.filter
        try:
            regex = re.compile(text)
        except re.error as e:
            raise UsageError(f"--filter: bad regex {args.filter!r}: {e}")
        pattern = (regex, negate)
    if not args.out or args.out.endswith(os.sep):
        raise UsageError(f"--out: not a file name: {args.out!r}")
    # Found now, not after the whole run: the directory must exist (a typo must
    # not make directories) and be writable, and the name must not be one.
    if os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: is a directory")
    base = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(base):
        raise UsageError(f"--out: cannot write in {base} (no such "
                         "directory)")
    if not os.access(base, os.W_OK):
        raise UsageError(f"--out: cannot write in {base}")
    return reps, min_time, pattern


def select(names, pattern):
    """Names kept by a (regex, negate) filter, in order."""
    if pattern is None:
        return list(names)
    regex, negate = pattern
    return [n for n in names if bool(regex.search(n)) != negate]

def build_context(executable):
    """The `context` object: Google Benchmark's fields plus ipcbench's."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    context = gbwrite.host_context(executable, repo)
    context.update({
        "ipcbench_schema": SCHEMA,
        "compiler": f"{platform.python_implementation()} "
                    f"{platform.python_version()}",
        "build_type": ("Debug" if sysconfig.get_config_var("Py_DEBUG")
                       else "Release"),
        "pin": "none",
        "python_start_method": "fork",
    })
    return context


def _print_progress(name, outcome, entries):
    if isinstance(outcome, str):
        print(f"{name:<48} ERROR {outcome}", flush=True)
        return
    med = [e for e in entries if e.get("aggregate_name") == "median"]
    cv = [e for e in entries if e.get("aggregate_name") == "cv"]
    src = med[0] if med else entries[0]
    spread = f" cv {cv[0]['items_per_second'] * 100:4.1f}%" if cv else ""
    print(f"{name:<48} {src['items_per_second']:>14,.0f} /s{spread}",
          flush=True)

def write_json(path, document):
    """Write atomically, into a directory that exists (resolve_settings)."""
    directory, name = os.path.split(os.path.abspath(path))
    atomic.write_files(directory, {name: json.dumps(document, indent=2)
                                   + "\n"})


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=1)


def _main(argv):
    prog = PROG
    args = build_parser().parse_args(argv)
    reps, min_time, pattern = resolve_settings(args)
    factories = registry()
    names = select(factories, pattern)
    if args.list:
        print("\n".join(names))
        return 0
    if not names:
        raise UsageError(f"--filter {args.filter!r} matches no benchmark; "
                         "--list shows them")
    old = {s: signal.getsignal(s) for s in
           (signal.SIGALRM, signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGALRM, _Deadline.handler)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        context = build_context(sys.argv[0] if argv is None else prog)
        entries = run_all(names, factories, reps, min_time, args.timeout,
                          report=_print_progress)
        write_json(args.out, {"context": context, "benchmarks": entries})
    except Interrupted as e:
        print(f"{prog}: error: interrupted ({e}); nothing written",
              file=sys.stderr)
        return 130
    finally:
        _Deadline.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, h in old.items():
            signal.signal(s, h)
    failed = sum(1 for e in entries if e.get("error_occurred")
                 and e["repetition_index"] == 0)
    print(f"wrote {args.out}: {len(names)} benchmarks, {failed} failed",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
