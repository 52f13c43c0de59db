#!/usr/bin/python3
"""history_experiment.py - measure history.py check's false alarms and
detection rate on synthetic histories made of this machine's repetitions.

Each history is one benchmark on one machine, --commits commits long. Each
commit's run is --reps repetitions resampled (with replacement) from real
repetitions of that benchmark in the results files (default: the committed
results/*.json, a run present twice counted once):

  --model runs    (default) a commit takes one of the benchmark's real runs
                  at random and resamples within it: the run-to-run shifts
                  of this machine stay in the history;
  --model pooled  every repetition drawn from all runs pooled (gentler).

For each --steps size (default none, 10%, 25%, 50%), --histories
histories: a benchmark drawn at random (--filter restricts them), and from
a random commit on (at least --min-segment commits from either end) every
repetition multiplied by 1 + step. The detector is check's own
(ipcbench_tools/history/detect.py, with the same settings and defaults).

  false alarm: a step-free history in which check reports any step (and,
               apart, one within its last --last commits: what makes
               check exit 1);
  detected:    a slower step reported at the planted commit +-1.

Rates are given for all histories and by the benchmark's noise: the 90th
over the 10th percentile of a commit's median under the model, with no
step (a benchmark whose commits wander by 2x hides a 25% step from any
honest detector). --noise-max keeps only benchmarks at most that noisy.

Usage:
  scripts/history_experiment.py                       # 20 histories each
  scripts/history_experiment.py --histories 50 --model pooled --seed 7
  scripts/history_experiment.py --filter '^roundtrip/(queue|shm-ring)/thread/'
  scripts/history_experiment.py --noise-max 1.10     # steady benchmarks only
"""
import glob
import json
import random
import re
import sys
import time

import history
from ipcbench_tools import atomic, cli, stats
from ipcbench_tools.errors import InputError, UsageError
from ipcbench_tools.history import detect, ingest, store

PROG = "history_experiment.py"
DEFAULT_RESULTS = sorted(glob.glob(str(history.REPO / "results" / "*.json")))
EXIT_CODES = {0: "every history done (rates on stdout)",
              2: "bad input or command line (one line on stderr)",
              130: "interrupted (Ctrl-C)"}


def steps_arg(text):
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--steps {text}: not a list of fractions") \
            from None
    if not values or any(not 0 <= v < 10 for v in values):
        raise UsageError(f"--steps {text}: fractions 0 .. 10, e.g. "
                         "0,0.1,0.25,0.5")
    return values


def build_parser():
    doc = __doc__.split("\n\n")
    p = cli.ArgumentParser(prog=PROG, description=doc[0],
                           epilog="\n\n".join(doc[1:]),
                           exit_codes=EXIT_CODES)
    p.add_argument("--results", nargs="+", metavar="JSON",
                   default=DEFAULT_RESULTS,
                   help="Google Benchmark JSON with repetitions (default: "
                   "results/*.json)")
    p.add_argument("--histories", type=history.positive_int, default=20,
                   help="histories per step size (default 20)")
    p.add_argument("--commits", type=cli.bounded(
        int, lambda v: v >= 4, "must be at least 4"), default=30,
        help="commits per history (default 30)")
    p.add_argument("--reps", type=history.positive_int, default=9,
                   help="repetitions per commit (default 9, as ./run.sh)")
    p.add_argument("--model", choices=("runs", "pooled"), default="runs")
    p.add_argument("--steps", type=str, default="0,0.10,0.25,0.50",
                   help="planted step sizes (default 0,0.10,0.25,0.50; 0 "
                   "= none)")
    p.add_argument("--filter", metavar="REGEX",
                   help="only benchmarks whose name matches")
    p.add_argument("--noise-max", type=cli.bounded(
        float, lambda v: v >= 1, "must be at least 1"), metavar="RATIO",
        help="only benchmarks whose commit medians spread at most this "
        "much (90th / 10th percentile, e.g. 1.10)")
    p.add_argument("--last", type=history.positive_int, default=5,
                   metavar="N", help="as check --last (default 5)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE",
                   help="write every history's record as JSON")
    history.detect_args(p)
    return p


def pool_of(paths, pattern):
    """{series name: [runs: [repetition ns]]} from the results files."""
    pool, seen = {}, set()
    for path in paths:
        run = ingest.load_run(path, resolve=None)
        if run.digest in seen:
            continue
        seen.add(run.digest)
        per = {}
        for s in run.samples:
            if s.kind == "repetition" and s.real_ns > 0:
                name = store.display_name(s.benchmark, s.placement)
                per.setdefault(name, []).append(s.real_ns)
        for name, values in per.items():
            if pattern is None or pattern.search(name):
                pool.setdefault(name, []).append(values)
    # At least three repetitions in all, so that resampling has something
    # to draw from.
    return {k: v for k, v in sorted(pool.items())
            if sum(len(r) for r in v) >= 3}


NOISE_CLASSES = ((1.10, "noise <= 1.10"), (1.50, "noise 1.10-1.50"),
                 (float("inf"), "noise > 1.50"))
NOISE_DRAWS = 400


def noise_of(name, runs, reps, model):
    """90th / 10th percentile of a step-free commit's median under the
    model (its own seeded draws, so the same for every history)."""
    rng = random.Random(name)
    meds = sorted(stats.median(v) for v in synthetic(
        rng, runs, NOISE_DRAWS, reps, model, 0, 0))
    lo, hi = meds[NOISE_DRAWS // 10], meds[NOISE_DRAWS * 9 // 10]
    return hi / lo if lo > 0 else float("inf")


def noise_class(noise):
    return next(label for top, label in NOISE_CLASSES if noise <= top)


def synthetic(rng, runs, commits, reps, model, step, at):
    flat = [v for r in runs for v in r]
    values = []
    for i in range(commits):
        source = rng.choice(runs) if model == "runs" else flat
        factor = 1 + step if step and i >= at else 1.0
        values.append([rng.choice(source) * factor for _ in range(reps)])
    return values


def one_history(rng, pool, names, args, settings, step, noise):
    name = rng.choice(names)
    m = settings.min_segment
    at = rng.randint(m, args.commits - m)
    values = synthetic(rng, pool[name], args.commits, args.reps, args.model,
                       step, at)
    commits = [f"c{i:03d}" for i in range(args.commits)]
    result = detect.analyse(name, commits, values, settings,
                            salt=str(rng.random()))
    counted = result.counted(settings.threshold)
    rec = {"step": step, "benchmark": name, "planted_at": at if step else None,
           "noise": noise[name], "decided": result.decided,
           "found": [{"at": s.index, "ratio": s.ratio, "p": s.p,
                      "direction": s.direction(settings.threshold)}
                     for s in counted]}
    if step:
        hits = [s for s in counted if abs(s.index - at) <= 1 and
                s.direction(settings.threshold) == "slower"]
        rec["detected"] = bool(hits)
        rec["others"] = len(counted) - len(hits)
    else:
        rec["alarm"] = bool(counted)
        rec["recent_alarm"] = any(s.index >= args.commits - args.last
                                  for s in counted)
    return rec


def describe(rec):
    found = ", ".join(f"{(f['ratio'] - 1) * 100:+.0f}% at {f['at']}"
                      for f in rec["found"]) or "nothing"
    if rec["step"]:
        verdict = "DETECTED" if rec["detected"] else "missed"
        return (f"step {rec['step'] * 100:3.0f}% at {rec['planted_at']:2d}: "
                f"{verdict:8s} found {found}  [{rec['benchmark']}, noise "
                f"{rec['noise']:.2f}]")
    verdict = "FALSE ALARM" if rec["alarm"] else "quiet"
    return (f"no step       : {verdict:8s} found {found}  "
            f"[{rec['benchmark']}, noise {rec['noise']:.2f}]")


def rate(rs):
    if rs[0]["step"]:
        return f"{sum(r['detected'] for r in rs)}/{len(rs)}"
    return f"{sum(r['alarm'] for r in rs)}/{len(rs)}"


def summarize(records, args):
    lines = []
    for step in dict.fromkeys(r["step"] for r in records):
        rs = [r for r in records if r["step"] == step]
        by_class = []
        for _, label in NOISE_CLASSES:
            cls = [r for r in rs if noise_class(r["noise"]) == label]
            if cls:
                by_class.append(f"{label}: {rate(cls)}")
        if step:
            extra = sum(r["others"] > 0 for r in rs)
            lines.append(f"step {step * 100:g}%: detected at the planted "
                         f"commit +-1 in {rate(rs)} histories "
                         f"({'; '.join(by_class)}); {extra} also reported "
                         "another step")
        else:
            recent = sum(r["recent_alarm"] for r in rs)
            lines.append(f"no step: false alarm in {rate(rs)} histories "
                         f"({'; '.join(by_class)}); within the last "
                         f"{args.last} commits (check exits 1): "
                         f"{recent}/{len(rs)}")
    return lines


def _main(argv):
    args = build_parser().parse_args(argv)
    settings = history.settings_of(args)
    steps = steps_arg(args.steps)
    if args.commits < settings.min_commits():
        raise UsageError(f"--commits {args.commits}: check needs at least "
                         f"{settings.min_commits()} with these settings")
    pattern = history.pattern_of(args)
    pool = pool_of(args.results, pattern)
    if not pool:
        raise InputError("no benchmark with 3 or more repetitions in "
                         f"{len(args.results)} files" +
                         (f" matching --filter {args.filter!r}"
                          if args.filter else ""))
    noise = {name: noise_of(name, runs, args.reps, args.model)
             for name, runs in pool.items()}
    if args.noise_max is not None:
        pool = {k: v for k, v in pool.items() if noise[k] <= args.noise_max}
        if not pool:
            raise InputError(f"no benchmark with noise at most "
                             f"{args.noise_max:g}")
    names = list(pool)
    runs_per = [len(v) for v in pool.values()]
    rng = random.Random(args.seed)
    records = []
    t0 = time.monotonic()
    try:
        for step in steps:
            for _ in range(args.histories):
                rec = one_history(rng, pool, names, args, settings, step,
                                  noise)
                records.append(rec)
                print(describe(rec), flush=True)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted after {len(records)} histories",
              file=sys.stderr)
    seconds = time.monotonic() - t0
    lines = summarize(records, args)
    lines.append(
        f"{len(records)} histories in {seconds:.1f} s: {len(names)} "
        f"benchmarks ({stats.median(runs_per):g} real runs each, median) "
        f"from {len(args.results)} files, model {args.model}, "
        f"{args.commits} commits x {args.reps} repetitions, threshold "
        f"{settings.threshold:g}, alpha {settings.alpha:g}, min segment "
        f"{settings.min_segment}, {settings.permutations} shuffles, seed "
        f"{args.seed}")
    print("\n".join(lines))
    if args.json:
        doc = {"settings": {k: v for k, v in vars(args).items()},
               "summary": lines, "histories": records}
        atomic.write_file(args.json, json.dumps(doc, indent=1) + "\n")
    return 0


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=2)


if __name__ == "__main__":
    sys.exit(main())
