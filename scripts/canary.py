#!/usr/bin/python3
"""Does the drift canary help? Print, for a run made with --canary, the cv
across repetitions of the raw figures and of the figures divided by the
canary of the same repetition, and whether to keep the canary.

    scripts/canary.py results/latest.json
    scripts/canary.py results/latest.json --all     # one line per benchmark

Keep the canary only if normalised figures spread less (median cv lower).
The same summary is the report's "Drift canary" section
(scripts/ipcbench_tools/report/canary.py says how it is computed).
"""
import sys

from ipcbench_tools import cli, gbjson
from ipcbench_tools.errors import InputError
from ipcbench_tools.report import canary
from ipcbench_tools.report.data import parse_results

PROG = "canary.py"
EXIT_CODES = {0: "summary printed (whatever the verdict)",
              1: "bad input file, or no benchmark with canary counters and "
                 "two or more repetitions",
              2: "bad command line", 130: "interrupted (Ctrl-C)"}


def build_parser():
    p = cli.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                           epilog=__doc__.split("\n\n", 1)[1],
                           exit_codes=EXIT_CODES)
    p.add_argument("file", metavar="JSON", help="a run made with --canary")
    p.add_argument("--all", action="store_true",
                   help="also one line per benchmark")
    return p


def run(argv):
    args = build_parser().parse_args(argv)
    ds = parse_results(gbjson.load(args.file), args.file)
    summ = canary.summary(ds)
    if not summ.rows:
        raise InputError(f"{args.file}: no benchmark has canary counters "
                         "with two or more repetitions (run ipcbench with "
                         "--canary and --benchmark_repetitions >= 2)")
    if args.all:
        for r in summ.rows:
            print(f"{r.point.key.scenario}/{r.point.key.label()}: "
                  f"{r.canary} canary, cv raw {r.cv_raw:.1%}, normalised "
                  f"{r.cv_norm:.1%}, canary max/min {r.band_ratio:.2f}"
                  + (" (band change)" if r.straddles else ""))
    print(summ.text())
    return 0


def main(argv=None):
    return cli.run_main(PROG, run, argv, input_code=1)


if __name__ == "__main__":
    sys.exit(main())
