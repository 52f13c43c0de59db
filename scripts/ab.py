#!/usr/bin/python3
"""ab.py - paired A/B regression gate: baseline and working tree in one run.

Comparing against a JSON recorded earlier measures the machine, not the
change: here a benchmark's median drifts several-fold between minutes.
ab.py therefore

  1. builds the baseline revision (default HEAD~1; git archive into
     build-ab/rev-<sha>/) and the working tree (build-ab/work/), Release,
     target ipcbench only (build directories are reused);
  2. alternates short invocations of the two binaries, A B / B A in
     random order inside each pair, on the selected benchmarks;
  3. decides per benchmark on the paired figures: the log ratio B/A of
     each pair (each B against the A next to it in time, so drift
     cancels), a two-sided Wilcoxon signed-rank test against 0 corrected
     for the number of benchmarks (Holm), and --threshold on the median
     ratio;
  4. re-runs the benchmarks flagged "slower" once (alone, twice as many
     pairs) and fails only if they are flagged again.

Both binaries are pinned to one CPU by default (--cpus): both peers then
share a core, which is steady here (cross-core round trips drift up to
4.6x between minutes).

It records the load average, warns when pairs are too noisy to resolve
the threshold, prints progress on stderr and the table on stdout.
Exit status as verdict.py: 0 no regression, 1 regression, 2 bad input or
build failure, including a --base that names no commit and a --filter that
matches nothing on either side (with --skip-if-base-fails, a baseline that
exists but does not build or run exits 0 with "gate skipped: ..."), 130
interrupted (Ctrl-C).

Usage:
  scripts/ab.py                         # HEAD~1 vs working tree
  scripts/ab.py --base main --filter '^roundtrip/queue/thread/'
  scripts/ab.py --a-binary build/ipcbench --b-binary build/ipcbench \\
      --b-env IPCBENCH_INJECT_NS=20000 \\
      --b-env IPCBENCH_INJECT_FILTER=roundtrip/queue/      # planted slowdown
"""

import os
import signal


def _early_interrupt(signum, frame):  # see ipcbench_tools/early_interrupt.py
    os.write(2, b"ab.py: interrupted\n")
    os._exit(130)


_early_interrupt.early_interrupt = True
if __name__ == "__main__" and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _early_interrupt)  # before the imports

import argparse
import contextlib
import math
import random
import subprocess
import sys
import tempfile
import time

from ipcbench_tools import cli, stats, utest, verdict
from ipcbench_tools.build import (SkipGate, build_revision, build_tree,
                                  resolve_rev)

PROG = "ab.py"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Round trips between threads that were steady on the project machine
# (2 shared vCPUs): in-process queue and our shared-memory ring.
DEFAULT_FILTER = "^roundtrip/(queue|shm-ring)/thread/size:(16|4096)/"
DEFAULT_PAIRS = 24
DEFAULT_MIN_TIME = 0.02
RUN_TIMEOUT = 300
# An invocation whose benchmark ran fewer iterations timed little more than
# the peer's start-up (Google Benchmark stops growing the iteration count
# once one trial exceeds min_time): its pair is dropped.
MIN_ITERATIONS = 10
AB_HEADERS = ("benchmark", "A (base)", "B (new)", "change", "p_adj",
              "pairs", "verdict", "note")


def ere_escape(text):
    """Escape text for a POSIX extended regex (Google Benchmark filter)."""
    return "".join("\\" + ch if ch in ".[]()*+?{}|^$\\" else ch
                   for ch in text)


def exact_filter(keys):
    """--benchmark_filter matching exactly these benchmark keys."""
    alts = "|".join(ere_escape(k) for k in sorted(keys))
    return f"^({alts})(/real_time|/manual_time)?$"


class NoMatch(verdict.GateError):
    """The filter matched no benchmark of a binary: bad input on either side,
    never a reason to skip the gate."""


class BinaryRunner:
    """Runs one ipcbench binary once; returns {key: verdict.Sample}."""

    def __init__(self, binary, env=None, args=(), min_time=DEFAULT_MIN_TIME,
                 repetitions=1, label="?", cpus=None, metric="real_time"):
        self.binary = binary
        self.metric = metric
        self.cpus = set(cpus) if cpus else None
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.args = list(args)
        self.min_time = min_time
        self.repetitions = repetitions
        self.label = label

    def command(self, bench_filter, out_path):
        cmd = [self.binary, f"--benchmark_filter={bench_filter}",
               f"--benchmark_min_time={self.min_time:g}",
               f"--benchmark_out={out_path}",
               "--benchmark_out_format=json"]
        if self.repetitions > 1:
            cmd.append(f"--benchmark_repetitions={self.repetitions}")
        return cmd + self.args

    def __call__(self, bench_filter):
        fd, out_path = tempfile.mkstemp(prefix="ab-", suffix=".json")
        os.close(fd)
        try:
            cmd = self.command(bench_filter, out_path)
            try:
                with self._pinned():
                    proc = subprocess.run(
                        cmd, env=self.env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, text=True, errors="replace",
                        timeout=RUN_TIMEOUT)
            except OSError as e:
                raise verdict.GateError(f"{self.label}: cannot run "
                                     f"{self.binary}: {e}") from None
            except subprocess.TimeoutExpired:
                raise verdict.GateError(f"{self.label}: {self.binary} timed "
                                     f"out after {RUN_TIMEOUT} s") from None
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["no stderr"])
                if proc.returncode == 2 and any(
                        ln.startswith("Failed to match any benchmarks")
                        for ln in tail):
                    raise NoMatch(f"{self.label}: no benchmark matches "
                                  f"{bench_filter!r}")
                raise verdict.GateError(
                    f"{self.label}: {os.path.basename(self.binary)} exited "
                    f"with {proc.returncode}: {tail[-1][:200]}")
            return verdict.collect(verdict.load(out_path), self.label,
                                self.metric)
        finally:
            # ipcbench may have removed it (nothing matched, interrupted).
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out_path)

    @contextlib.contextmanager
    def _pinned(self):
        """This process pinned while it starts the binary, which inherits it.
        (Not a preexec_fn: Python code in the forked child would print a
        traceback on a Ctrl-C that reaches it before exec.)"""
        if not self.cpus:
            yield
            return
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.cpus)
        try:
            yield
        finally:
            os.sched_setaffinity(0, before)


def run_pairs(runners, bench_filter, pairs, rng, progress=None):
    """Alternate A and B (random order in each pair) pairs times.

    runners: {"A": callable, "B": callable}, each taking the filter and
    returning {key: verdict.Sample}. Returns {"A": [..], "B": [..]}: one
    {key: Sample} per pair and side, in pair order.
    """
    out = {"A": [], "B": []}
    t0 = time.monotonic()
    for i in range(pairs):
        order = ["A", "B"]
        rng.shuffle(order)
        for side in order:
            out[side].append(runners[side](bench_filter))
        if progress and ((i + 1) % 4 == 0 or i + 1 == pairs):
            progress(f"pair {i + 1}/{pairs} ({time.monotonic() - t0:.1f} s)")
    return out


def value_of(sample):
    return stats.median(sample.values) if sample.values else None


def decide_pairs(runs, threshold=0.10, alpha=0.01, correction="holm"):
    """Rows with paired verdicts from run_pairs output.

    A benchmark seen on one side only is new/missing; one that errored in
    any B run is errored, one that errored in A only is new. Others get the
    per-pair log ratios log(B/A).
    """
    names = []
    for side in ("A", "B"):
        for run in runs[side]:
            names += [k for k in run if k not in names]
    rows, tested, min_ps = [], [], {}
    for name in names:
        in_a = [r.get(name) for r in runs["A"]]
        in_b = [r.get(name) for r in runs["B"]]
        seen_a = [s for s in in_a if s is not None]
        seen_b = [s for s in in_b if s is not None]
        errs_b = [s.errors[0] for s in seen_b if s.errored]
        if errs_b:
            rows.append(verdict.make_row(name, "errored",
                                         note=f"B: {errs_b[0]}"))
            continue
        errs_a = [s.errors[0] for s in seen_a if s.errored]
        if errs_a:   # works in B: nothing to compare it with
            rows.append(verdict.make_row(
                name, "new", cur_ns=stats.median(value_of(s) for s in seen_b)
                if seen_b else None, note=f"A: {errs_a[0]}"))
            continue
        if not seen_a or not seen_b:
            kind = "new" if not seen_a else "missing"
            med = stats.median(value_of(s) for s in seen_a or seen_b)
            rows.append(verdict.make_row(
                name, kind, base_ns=med if seen_a else None,
                cur_ns=None if seen_a else med))
            continue
        logs, dropped = [], 0
        for a, b in zip(in_a, in_b):
            if a is None or b is None:
                continue
            if not (enough_iterations(a) and enough_iterations(b)):
                dropped += 1
                continue
            va, vb = value_of(a), value_of(b)
            if va and vb and va > 0 and vb > 0:
                logs.append(math.log(vb / va))
        a_med = stats.median(value_of(s) for s in seen_a)
        b_med = stats.median(value_of(s) for s in seen_b)
        row = verdict.make_row(name, "unchanged", a_med, b_med,
                            n=str(len(logs)))
        row["dropped"] = dropped
        rows.append(row)
        if len(logs) < 1:
            row["verdict"] = "not enough data"
            continue
        row["ratio"] = math.exp(stats.median(logs))
        row["p"] = utest.wilcoxon(logs)[1]
        row["spread"] = robust_sd(logs)
        min_ps[len(rows) - 1] = utest.wilcoxon_min_p(len(logs))
        tested.append(len(rows) - 1)

    def needed(m):
        n = utest.needed_size(utest.wilcoxon_min_p, m, alpha)
        return f"need >= {n} pairs for alpha {alpha:g} over {m} benchmark(s)"

    verdict.classify(rows, tested, min_ps, threshold, alpha, correction, needed)
    for row in rows:
        if row.get("dropped"):
            row["note"] = _join(row["note"], f"{row['dropped']} pair(s) "
                                f"dropped (< {MIN_ITERATIONS} iterations)")
    for k in tested:
        row = rows[k]
        half = median_ci_halfwidth(row["spread"], int(row["n"]))
        row["ci"] = half
        if half > threshold / 2:
            row["noisy"] = True
            note = f"noisy: median known to +-{half * 100:.0f}%"
            row["note"] = f"{row['note']}; {note}" if row["note"] else note
    return rows


def enough_iterations(sample):
    counts = [i for i in sample.iterations if i is not None]
    return not counts or min(counts) >= MIN_ITERATIONS


def robust_sd(values):
    """1.4826 * median absolute deviation (a standard deviation if normal)."""
    return stats.robust_sd(values) if len(values) > 1 else math.inf


def median_ci_halfwidth(spread, n):
    """Approximate 95% half-width of the median ratio, as a fraction."""
    if n < 2 or math.isinf(spread):
        return math.inf
    return math.expm1(1.96 * 1.2533 * spread / math.sqrt(n))


def ab_gate(runners, bench_filter, pairs, rng, threshold=0.10, alpha=0.01,
            correction="holm", confirm=True, progress=None,
            confirm_pairs=None):
    """Paired A/B gate with one confirmation re-run of flagged benchmarks.

    The re-run covers only the flagged benchmarks, with confirm_pairs
    pairs (default 2 * pairs: cheap, as it runs fewer benchmarks) and is
    judged on its own data.

    Returns a dict: rows (final verdicts), first (rows of the first
    round), confirm (rows of the re-run or None), flagged (names flagged
    in the first round), confirmed (names flagged twice).
    """
    first = decide_pairs(run_pairs(runners, bench_filter, pairs, rng,
                                   progress), threshold, alpha, correction)
    verdicts = {r["verdict"] for r in first}
    if not first or verdicts == {"missing"}:
        raise verdict.GateError(f"no benchmark matches {bench_filter!r} in B")
    if verdicts == {"new"}:
        raise SkipGate(f"baseline has none of the benchmarks matching "
                       f"{bench_filter!r}")
    if verdicts <= {"new", "missing"}:
        raise SkipGate(f"baseline and new share none of the benchmarks "
                       f"matching {bench_filter!r}")
    flagged = [r["name"] for r in first if r["verdict"] == "slower"]
    result = {"rows": first, "first": first, "confirm": None,
              "flagged": flagged, "confirmed": flagged}
    if not flagged or not confirm:
        return result
    if progress:
        progress(f"re-running {len(flagged)} flagged benchmark(s) to "
                 f"confirm: {', '.join(flagged)}")
    again = decide_pairs(run_pairs(runners, exact_filter(flagged),
                                   confirm_pairs or 2 * pairs, rng,
                                   progress),
                         threshold, alpha, correction)
    by_name = {r["name"]: r for r in again}
    confirmed = [n for n in flagged
                 if by_name.get(n, {}).get("verdict") == "slower"]
    rows = []
    for r in first:
        if r["name"] in flagged:
            r2 = by_name.get(r["name"])
            if r["name"] in confirmed:
                r = dict(r2, note=_join(r2["note"], "confirmed by re-run "
                                        f"({verdict.fmt_change(r['ratio'])} "
                                        f"first)"))
            else:
                r = dict(r, verdict="unchanged",
                         note=_join(r["note"], "flagged, not confirmed by "
                                    "re-run"))
        rows.append(r)
    result.update(rows=rows, confirm=again, confirmed=confirmed)
    return result


def _join(a, b):
    return f"{a}; {b}" if a else b


# --------------------------------------------------------------------------
# Command line

def cpu_list(text):
    """--cpus: "auto" (one CPU: the last allowed), "all", or "0,2-3"."""
    allowed = sorted(os.sched_getaffinity(0))
    if text == "all":
        return set()
    if text == "auto":
        return {allowed[-1]}
    cpus = set()
    try:
        for part in text.split(","):
            lo, sep, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi if sep else lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected auto, all or a CPU list like 1 or 0,2-3: {text!r}") \
            from None
    if not cpus or not cpus <= set(allowed):
        raise argparse.ArgumentTypeError(
            f"CPUs {text} not all available (allowed: "
            f"{','.join(map(str, allowed))})")
    return cpus


def default_cpus(cpus, extra_args):
    """Resolve an unset --cpus: ipcbench's own --pin wins over ours."""
    if cpus is not None:
        return cpus or None
    if any(a.startswith("--pin") for a in extra_args):
        return None
    return cpu_list("auto")


def env_pair(text):
    key, sep, value = text.partition("=")
    if not sep or not key or not key.replace("_", "a").isalnum():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE: {text!r}")
    return key, value


positive_int = cli.bounded(int, lambda v: 1 <= v <= 10000, "must be 1..10000")
min_time = cli.bounded(float, lambda v: 0 < v <= 60, "must be in (0, 60] s")


def build_parser():
    codes = dict(verdict.EXIT_CODES)
    codes[0] += ("; also a skipped gate (--skip-if-base-fails and a "
                 "baseline that does not build or run: 'gate skipped: ...')")
    codes[2] += ("; also a build or run failure, a --base that is no "
                 "commit, a --filter matching nothing on either side")
    codes[3] = codes[3].replace("repetitions", "pairs")
    parser = cli.ArgumentParser(
        prog=PROG, description="Build a baseline revision and the working "
        "tree, alternate their ipcbench binaries in pairs, and fail on a "
        "significant slowdown larger than the threshold.", exit_codes=codes)
    parser.add_argument("--base", default="HEAD~1", metavar="REV",
                        help="baseline revision (default HEAD~1)")
    parser.add_argument("--filter", default=DEFAULT_FILTER, metavar="REGEX",
                        help="--benchmark_filter regex (default "
                             f"{DEFAULT_FILTER!r})")
    parser.add_argument("--pairs", type=positive_int, default=DEFAULT_PAIRS,
                        help=f"A/B pairs (default {DEFAULT_PAIRS})")
    parser.add_argument("--min-time", type=min_time,
                        default=DEFAULT_MIN_TIME, metavar="SEC",
                        help="--benchmark_min_time per invocation "
                             f"(default {DEFAULT_MIN_TIME:g})")
    parser.add_argument("--repetitions", type=positive_int, default=1,
                        help="repetitions inside one invocation; their "
                             "median is the invocation's figure")
    parser.add_argument("--arg", action="append", default=[],
                        metavar="ARG", dest="extra",
                        help="extra ipcbench argument for both sides "
                             "(repeatable), e.g. --arg=--pin=same")
    parser.add_argument("--cpus", type=cpu_list, metavar="LIST",
                        help="CPU affinity of both binaries: auto (the "
                             "default: one CPU, so both peers share a "
                             "core, which is steady here; all when an "
                             "--arg=--pin... is given), all (no pinning) "
                             "or a list such as 0 or 0-1")
    parser.add_argument("--a-env", action="append", type=env_pair,
                        default=[], metavar="NAME=VALUE",
                        help="environment for the A (baseline) side only")
    parser.add_argument("--b-env", action="append", type=env_pair,
                        default=[], metavar="NAME=VALUE",
                        help="environment for the B (new) side only")
    parser.add_argument("--a-binary", metavar="PATH",
                        help="use this baseline binary, do not build")
    parser.add_argument("--b-binary", metavar="PATH",
                        help="use this new binary, do not build")
    parser.add_argument("--build-root", default=os.path.join(REPO,
                                                             "build-ab"),
                        metavar="DIR", help="build directories "
                        "(default build-ab/ in the repository)")
    parser.add_argument("--jobs", type=positive_int,
                        default=os.cpu_count() or 2)
    parser.add_argument("--no-confirm", action="store_true",
                        help="do not re-run flagged benchmarks")
    parser.add_argument("--skip-if-base-fails", action="store_true",
                        help="exit 0 with 'gate skipped: ...' when the "
                             "baseline revision does not build or run (a "
                             "revision that does not exist is still an "
                             "error)")
    parser.add_argument("--seed", type=int,
                        help="seed for the order inside pairs")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress on stderr")
    verdict.add_decision_args(parser)
    return parser


def prepare_binaries(args, progress):
    """(A binary, B binary, A text, B text) from flags or builds.

    The baseline comes first so that a missing or broken baseline is
    known before the working tree is built.
    """
    for path in (args.a_binary, args.b_binary):
        if path is not None and not os.access(path, os.X_OK):
            raise verdict.GateError(f"{path}: not an executable")
    if args.a_binary is not None:
        a_bin, a_desc = args.a_binary, args.a_binary
    else:
        sha = resolve_rev(REPO, args.base)
        a_bin = build_revision(REPO, sha, args.build_root, args.jobs,
                               progress)
        a_desc = f"{args.base} ({sha[:12]})"
    b_bin = args.b_binary
    if b_bin is None:
        b_bin = build_tree(REPO, args.build_root, args.jobs, progress)
        return a_bin, b_bin, a_desc, f"working tree ({b_bin})"
    return a_bin, b_bin, a_desc, b_bin


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=verdict.EXIT_BAD_INPUT)


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    fail_on = tuple(args.fail_on or verdict.DEFAULT_FAIL_ON)
    args.cpus = default_cpus(args.cpus, args.extra)
    settings = verdict.settings_of(args)
    settings.update(pairs=args.pairs, min_time=args.min_time,
                    filter=args.filter, extra_args=args.extra,
                    cpus=sorted(args.cpus) if args.cpus else "all",
                    a_env=dict(args.a_env), b_env=dict(args.b_env))

    def progress(msg):
        if not args.quiet:
            print(f"{PROG}: {msg}", file=sys.stderr, flush=True)

    t_start = time.monotonic()
    load_start = os.getloadavg()
    try:
        a_bin, b_bin, a_desc, b_desc = prepare_binaries(args, progress)
        t_built = time.monotonic()
        common = dict(args=args.extra, min_time=args.min_time,
                      repetitions=args.repetitions, cpus=args.cpus,
                      metric=args.metric)
        runners = {"A": BaselineRunner(a_bin, env=dict(args.a_env),
                                       label="A (baseline)", **common),
                   "B": BinaryRunner(b_bin, env=dict(args.b_env),
                                     label="B (new)", **common)}
        progress(f"A = {a_desc}, B = {b_desc}; {args.pairs} pairs on "
                 f"{args.filter!r}; load average "
                 f"{' '.join(f'{x:.2f}' for x in load_start)}")
        rng = random.Random(args.seed)
        result = ab_gate(runners, args.filter, args.pairs, rng,
                         args.threshold, args.alpha, args.correction,
                         confirm=not args.no_confirm, progress=progress)
        load_end = os.getloadavg()
        t_end = time.monotonic()
        rows = result["rows"]
        noisy = [r["name"] for r in rows if r.get("noisy")]
        info = [f"A: {a_desc}; B: {b_desc}",
                f"load average at start {_load(load_start)}, at end "
                f"{_load(load_end)}; build {t_built - t_start:.0f} s, "
                f"runs {t_end - t_built:.0f} s"]
        if noisy:
            info.append(f"WARNING: machine too noisy to resolve "
                        f"{args.threshold * 100:g}% for: "
                        f"{', '.join(noisy)}")
        if result["flagged"]:
            info.append(f"flagged in the first round: "
                        f"{', '.join(result['flagged'])}; confirmed: "
                        f"{', '.join(result['confirmed']) or 'none'}")
        verdict.write_outputs(
            args, rows, settings, fail_on, title="A/B regression gate",
            extra_md=[f"- {x}" for x in info], headers=AB_HEADERS,
            mode="ab", a=a_desc,
            b=b_desc, loadavg_start=load_start, loadavg_end=load_end,
            seconds_build=t_built - t_start, seconds_runs=t_end - t_built,
            noisy=noisy, flagged=result["flagged"],
            confirmed=result["confirmed"],
            first_round=result["first"], confirm_round=result["confirm"])
    except SkipGate as e:
        if args.skip_if_base_fails:
            print(f"gate skipped: {e}")
            return 0
        raise
    for line in info:
        if line.startswith("WARNING"):
            print(f"{PROG}: {line}", file=sys.stderr)
    sys.stdout.write(verdict.format_table(rows, settings, headers=AB_HEADERS,
                                       fail_on=fail_on))
    print("\n".join(info))
    status = verdict.exit_status(rows, fail_on)
    if status == verdict.EXIT_UNDECIDED:
        print(f"{PROG}: error: undecided: {verdict.undecided(rows)}",
              file=sys.stderr)
    return status


def _load(values):
    return " ".join(f"{x:.2f}" for x in values)


class BaselineRunner(BinaryRunner):
    """The A side: a failure to run means the baseline is unusable."""

    def __call__(self, bench_filter):
        try:
            return super().__call__(bench_filter)
        except (SkipGate, NoMatch):
            raise
        except verdict.GateError as e:
            raise SkipGate(f"baseline binary does not run: {e}") from None


if __name__ == "__main__":
    sys.exit(main())
