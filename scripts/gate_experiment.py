#!/usr/bin/python3
"""gate_experiment.py - measure the A/B gate's false-alarm and detection rates.

Two experiments with one ipcbench binary on both sides (so any difference
is noise or the planted slowdown), interleaved so both see the same
machine:

  * A/A: the plain gate (scripts/ab.py logic, with its confirmation
    re-run); a run that flags anything is a false alarm.
  * detection: the B side gets IPCBENCH_INJECT_NS / IPCBENCH_INJECT_FILTER
    so that --target is slowed down by --slowdown (default 25%) of its
    round trip, measured on A just before each run (one injected
    busy-wait per round trip: the main side's send). A run detects when
    the target is confirmed slower and nothing else is flagged.
    With --b-binary (a build configured with -DIPCBENCH_PLANT=ON), the
    slowdown is a real cost instead: B makes extra getppid system calls
    in every queue send, IPCBENCH_PLANT_NS = slowdown x round trip / 2
    per send (a round trip is two sends); --target must then be a queue
    benchmark.

Prints each run, then the rates and the wall time per gate run; --json
keeps every run's figures.

Usage:
  scripts/gate_experiment.py --runs 20
  scripts/gate_experiment.py --binary build/ipcbench --runs 5 --json x.json
  scripts/gate_experiment.py --binary build/ipcbench \
      --b-binary build-plant/ipcbench --slowdown 0.10 --runs 20
"""

import os
import signal


def _early_interrupt(signum, frame):  # see ipcbench_tools/early_interrupt.py
    os.write(2, b"gate_experiment.py: interrupted\n")
    os._exit(130)


_early_interrupt.early_interrupt = True
if __name__ == "__main__" and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _early_interrupt)  # before the imports

import json
import random
import sys
import time

import ab
from ipcbench_tools import atomic, cli, stats, utest, verdict
from ipcbench_tools.build import build_tree

PROG = "gate_experiment.py"
DEFAULT_TARGET = "roundtrip/queue/thread/size:16"


def calibrate(runner, bench_filter, target, times=3):
    """Median real time (ns) of target over a few A invocations (with the
    gate's filter, so the figure is taken in the gate's conditions)."""
    values = []
    for _ in range(times):
        sample = runner(bench_filter).get(target)
        if sample is None or sample.errored or not sample.values:
            raise verdict.GateError(f"cannot measure {target} on A")
        values.append(stats.median(sample.values))
    return stats.median(values)


def one_run(kind, binary, args, target, rng, log):
    """One gate run; returns a record dict."""
    common = dict(args=args.extra, min_time=args.min_time,
                  repetitions=args.repetitions, cpus=args.cpus,
                  metric=args.metric)
    a = ab.BinaryRunner(binary, label="A", **common)
    b_env = {}
    record = {"kind": kind}
    b_binary = binary
    if kind == "detect":
        rt = calibrate(a, args.filter, target)
        if args.b_binary:  # a real cost: system calls in every queue send
            b_binary = args.b_binary
            inject = max(1, round(args.slowdown * rt / 2))
            # The calls' CPU time is counted at start-up; what they add to a round
            # trip (wake-ups, preemption) is measured once and the plant scaled to it.
            probe = ab.BinaryRunner(b_binary, env={"IPCBENCH_PLANT_NS": str(inject)},
                                    label="B", **common)
            achieved = calibrate(probe, args.filter, target) / rt - 1
            if achieved > 0:
                inject = max(1, round(inject * min(4.0, max(0.25, args.slowdown / achieved))))
            b_env = {"IPCBENCH_PLANT_NS": str(inject)}
        else:
            inject = max(1, round(args.slowdown * rt))
            b_env = {"IPCBENCH_INJECT_NS": str(inject),
                     "IPCBENCH_INJECT_FILTER": target}
        record.update(a_roundtrip_ns=rt, inject_ns=inject,
                      planted=bool(args.b_binary))
    b = ab.BinaryRunner(b_binary, env=b_env, label="B", **common)
    load = os.getloadavg()
    t0 = time.monotonic()
    res = ab.ab_gate({"A": a, "B": b}, args.filter, args.pairs, rng,
                     args.threshold, args.alpha, args.correction)
    record.update(seconds=time.monotonic() - t0, loadavg=load,
                  flagged=res["flagged"], confirmed=res["confirmed"],
                  noisy=[r["name"] for r in res["rows"] if r.get("noisy")],
                  rows=res["rows"])
    ratios = {r["name"]: r["ratio"] for r in res["first"]}
    if kind == "detect":
        # With --b-binary every queue benchmark carries the plant: flagging them is right.
        planted = "/queue/" if args.b_binary else target
        others = [n for n in res["confirmed"] if n != target and planted not in n]
        record["detected"] = target in res["confirmed"] and not others
        record["others_flagged"] = others
        record["target_ratio"] = ratios.get(target)
    else:
        record["alarm"] = bool(res["confirmed"])
    record["max_ratio"] = max((v for v in ratios.values() if v), default=None)
    return record


def describe(i, rec):
    base = (f"{rec['kind']:6s} #{i:<2d} {rec['seconds']:5.1f} s  load "
            f"{rec['loadavg'][0]:.2f}  ")
    if rec["kind"] == "detect":
        ratio = rec["target_ratio"]
        ratio_text = "-" if ratio is None else f"{ratio:.3f}"
        per = "per send" if rec.get("planted") else "per round trip"
        base += (f"plant {rec['inject_ns']} ns {per} on A round trip "
                 f"{rec['a_roundtrip_ns']:.0f} ns, target ratio "
                 f"{ratio_text}: "
                 f"{'DETECTED' if rec['detected'] else 'missed'}")
        if rec["others_flagged"]:
            base += f" (also flagged: {', '.join(rec['others_flagged'])})"
    else:
        ratio = rec["max_ratio"]
        ratio_text = "-" if ratio is None else f"{ratio:.3f}"
        base += (f"max ratio {ratio_text}: "
                 f"{'FALSE ALARM ' + ', '.join(rec['confirmed']) if rec['alarm'] else 'quiet'}")
    if rec["flagged"] and rec["flagged"] != rec["confirmed"]:
        base += f" [first round flagged {', '.join(rec['flagged'])}]"
    if rec["noisy"]:
        base += f" [noisy: {len(rec['noisy'])}]"
    return base


def summarize(records):
    aa = [r for r in records if r["kind"] == "aa"]
    det = [r for r in records if r["kind"] == "detect"]
    secs = [r["seconds"] for r in records]
    lines = []
    if aa:
        alarms = sum(r["alarm"] for r in aa)
        first = sum(bool(r["flagged"]) for r in aa)
        lines.append(f"false alarms (A/A): {alarms}/{len(aa)} runs raised an "
                     f"alarm ({first}/{len(aa)} flagged before the "
                     f"confirmation re-run)")
    if det:
        hits = sum(r["detected"] for r in det)
        others = sum(bool(r["others_flagged"]) for r in det)
        ratios = [r["target_ratio"] for r in det if r["target_ratio"]]
        lines.append(f"detection: {hits}/{len(det)} runs detected the "
                     f"planted slowdown with nothing else flagged "
                     f"({others} runs flagged another benchmark)")
        if ratios:
            lines.append(f"achieved target ratio B/A: median "
                         f"{stats.median(ratios):.3f} (min "
                         f"{min(ratios):.3f}, max {max(ratios):.3f})")
    if secs:
        lines.append(f"wall time per gate run: median "
                     f"{stats.median(secs):.1f} s (min {min(secs):.1f}, "
                     f"max {max(secs):.1f}) over {len(secs)} runs")
    return lines


def build_parser():
    parser = cli.ArgumentParser(
        prog=PROG, description="Run the A/B gate repeatedly: A/A for false "
        "alarms, planted slowdown for detection.",
        exit_codes={0: "every run done (rates on stdout)",
                    2: "bad input or command line, the binary does not "
                    "build or run, or --filter matches nothing (one line "
                    "on stderr)",
                    130: "interrupted (Ctrl-C): the rates of the runs so "
                    "far on stdout"})
    parser.add_argument("--binary", metavar="PATH",
                        help="ipcbench binary (default: build the working "
                             "tree into build-ab/work)")
    parser.add_argument("--b-binary", metavar="PATH",
                        help="B side of the detection runs: an ipcbench built "
                             "with -DIPCBENCH_PLANT=ON, slowed by real system "
                             "calls in the queue transport (default: --binary "
                             "with a busy-wait, IPCBENCH_INJECT_NS)")
    parser.add_argument("--runs", type=ab.positive_int, default=20,
                        help="runs of each experiment (default 20)")
    parser.add_argument("--target", default=DEFAULT_TARGET,
                        help=f"benchmark to slow down (default "
                             f"{DEFAULT_TARGET})")
    parser.add_argument("--slowdown", type=verdict.fraction, default=0.25,
                        help="planted slowdown as a fraction of the A "
                             "round trip (default 0.25)")
    parser.add_argument("--only", choices=("aa", "detect"),
                        help="run one experiment only")
    parser.add_argument("--filter", default=ab.DEFAULT_FILTER)
    parser.add_argument("--pairs", type=ab.positive_int,
                        default=ab.DEFAULT_PAIRS)
    parser.add_argument("--min-time", type=ab.min_time,
                        default=ab.DEFAULT_MIN_TIME)
    parser.add_argument("--repetitions", type=ab.positive_int, default=1)
    parser.add_argument("--cpus", type=ab.cpu_list, metavar="LIST",
                        help="as ab.py --cpus")
    parser.add_argument("--arg", action="append", default=[], dest="extra",
                        metavar="ARG", help="extra ipcbench argument")
    parser.add_argument("--threshold", type=verdict.fraction, default=0.10)
    parser.add_argument("--alpha", type=verdict.probability, default=0.01)
    parser.add_argument("--correction", choices=utest.CORRECTIONS,
                        default="holm")
    parser.add_argument("--metric", choices=verdict.METRICS,
                        default="real_time", help="as ab.py --metric")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--json", metavar="FILE",
                        help="write every run's record as JSON")
    return parser


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=verdict.EXIT_BAD_INPUT)


def _main(argv):
    args = build_parser().parse_args(argv)
    args.cpus = ab.default_cpus(args.cpus, args.extra)

    def progress(msg):
        print(f"{PROG}: {msg}", file=sys.stderr, flush=True)

    rng = random.Random(args.seed)
    kinds = [args.only] if args.only else ["aa", "detect"]
    records = []
    status = 0
    try:
        binary = args.binary
        if binary is None:
            binary = build_tree(ab.REPO, os.path.join(ab.REPO, "build-ab"),
                                   os.cpu_count() or 2, progress)
        for path in (binary, args.b_binary):
            if path is not None and not os.access(path, os.X_OK):
                raise verdict.GateError(f"{path}: not an executable")
        if args.b_binary and "/queue/" not in args.target:
            raise verdict.GateError(
                f"--b-binary plants its cost in the queue transport; "
                f"--target {args.target} is not a queue benchmark")
        t0 = time.monotonic()
        for i in range(args.runs):
            for kind in kinds:
                rec = one_run(kind, binary, args, args.target, rng, progress)
                records.append(rec)
                print(describe(i + 1, rec), flush=True)
        total = time.monotonic() - t0
        lines = summarize(records)
        cpus = ",".join(map(str, sorted(args.cpus))) if args.cpus else "all"
        lines.append(f"total {total:.0f} s; filter {args.filter!r}, "
                     f"{args.pairs} pairs, min_time {args.min_time:g}, "
                     f"cpus {cpus}, metric {args.metric}, "
                     f"threshold {args.threshold:g}, alpha {args.alpha:g}")
        if args.json:
            settings = dict(vars(args))
            settings["cpus"] = sorted(args.cpus) if args.cpus else "all"
            doc = {"settings": settings,
                   "binary": binary, "summary": lines, "runs": records}
            atomic.write_file(args.json, json.dumps(
                verdict.finite(doc), indent=1) + "\n")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted after {len(records)} runs",
              file=sys.stderr)
        lines = summarize(records)
        status = cli.INTERRUPTED_CODE
    if lines:
        print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
