#!/usr/bin/python3
"""gate.py - statistical regression gate for Google Benchmark JSON results.

Compares BASELINE.json with CURRENT.json benchmark by benchmark (matched
by run_name, trailing /real_time or /manual_time ignored), using every
per-repetition real_time (or --metric cpu_time; normalised to ns):

  * the median of each side and the ratio current/baseline;
  * a two-sided Mann-Whitney U test over the repetitions (exact without
    ties for small samples, else normal approximation with tie and
    continuity correction), corrected for the number of benchmarks
    compared (Holm-Bonferroni by default);
  * verdict "slower" when the median slowed down by more than
    --threshold AND the corrected p-value is below --alpha; "faster"
    symmetrically (ratio below 1/(1+threshold)); "not enough data" when
    there are too few repetitions for the test to ever reach --alpha
    (the note says how many are needed); plus new, missing, errored and
    unchanged.

Output: an aligned table on stdout, optionally Markdown (--markdown) and
JSON (--json). The gate never passes blind: when no benchmark could be
decided (e.g. 3 repetitions, where the U test can never reach --alpha) it
exits 3 with one line saying how many repetitions are needed.

Usage:
  scripts/gate.py results/base.json results/new.json --threshold 0.10
  scripts/gate.py base.json new.json --markdown gate.md --json gate.json

The statistics (ipcbench_tools/utest.py) and verdicts and reports
(ipcbench_tools/verdict.py) also serve scripts/ab.py, the paired A/B mode
that builds and alternates two binaries in one run. See docs/MEASURING.md
for why repetitions must be interleaved.
"""

import sys

from ipcbench_tools import cli, verdict

PROG = "gate.py"


def build_parser():
    parser = cli.ArgumentParser(
        prog=PROG, description="Compare two Google Benchmark JSON files "
        "with a Mann-Whitney U test per benchmark; exit 1 on a "
        "significant slowdown larger than the threshold, 3 when nothing "
        "could be decided.", exit_codes=verdict.EXIT_CODES)
    parser.add_argument("baseline", help="baseline JSON "
                        "(run with --benchmark_repetitions >= 9)")
    parser.add_argument("current", help="current JSON")
    verdict.add_decision_args(parser)
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    fail_on = tuple(args.fail_on or verdict.DEFAULT_FAIL_ON)
    settings = verdict.settings_of(args)
    base = verdict.collect(verdict.load(args.baseline), args.baseline,
                           args.metric)
    cur = verdict.collect(verdict.load(args.current), args.current,
                          args.metric)
    rows = verdict.compare(base, cur, args.threshold, args.alpha,
                           args.correction)
    verdict.write_outputs(args, rows, settings, fail_on,
                          title="Benchmark regression gate", mode="files",
                          baseline=args.baseline, current=args.current)
    sys.stdout.write(verdict.format_table(rows, settings, fail_on=fail_on))
    status = verdict.exit_status(rows, fail_on)
    if status == verdict.EXIT_UNDECIDED:
        print(f"{PROG}: error: undecided: {verdict.undecided(rows)}",
              file=sys.stderr)
    return status


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=verdict.EXIT_BAD_INPUT)


if __name__ == "__main__":
    sys.exit(main())
