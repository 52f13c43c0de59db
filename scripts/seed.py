#!/usr/bin/python3
"""The seed table: the `processing` package's 2008 figures, Python today, C++.

For each scenario the 2008 documentation gave a figure for, shows the
published figure (data/processing-2008.json), CPython's multiprocessing on
this machine (scripts/pyref.py output) and ipcbench's C++ figure for the same
scenario plus the fastest C++ transport for it, with ratios. Missing or
failed benchmarks show as "n/a".

    scripts/seed.py --cpp results/latest.json --py results/pyref.json \\
        --out reports/          # writes seed.md, seed.png, seed.svg

The table itself lives in ipcbench_tools/seedtable.py, which the report
(scripts/plot.py) uses for its seed section.
"""

import io
import os
import sys

from ipcbench_tools import atomic, cli, gbjson, seedtable
from ipcbench_tools.errors import InputError, UsageError

PROG = "seed.py"
EXIT_CODES = {0: "seed.md, seed.png and seed.svg written",
              1: "bad input file or cannot write (one line on stderr)",
              2: "bad command line, including a results file given for the "
                 "wrong column (--py and --cpp swapped) or one with none of "
                 "the table's benchmarks", 130: "interrupted (Ctrl-C)"}


def build_parser():
    p = cli.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                           exit_codes=EXIT_CODES)
    p.add_argument("--cpp", metavar="FILE",
                   help="ipcbench C++ results (Google Benchmark JSON); "
                        "without it the C++ columns are n/a")
    p.add_argument("--py", metavar="FILE", required=True,
                   help="scripts/pyref.py results")
    p.add_argument("--seed", metavar="FILE", default=seedtable.SEED_DEFAULT,
                   help="published figures (default: "
                        "data/processing-2008.json)")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="directory for seed.md, seed.png, seed.svg")
    return p


def _main(argv):
    args = build_parser().parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    seed = gbjson.load_plain(args.seed)
    seedtable.check_seed(seed, args.seed)
    py_doc = gbjson.load(args.py)
    seedtable.results(py_doc, args.py)
    cpp_doc = None
    if args.cpp:
        cpp_doc = gbjson.load(args.cpp)
        seedtable.results(cpp_doc, args.cpp)
    # A readable file for the wrong column is a command-line mistake (exit 2),
    # not a table of n/a.
    try:
        seedtable.check_role(py_doc, f"--py {args.py}", "python")
        if cpp_doc is not None:
            seedtable.check_role(cpp_doc, f"--cpp {args.cpp}", "cpp")
    except InputError as e:
        raise UsageError(str(e)) from None
    text, fig = seedtable.seed_section(cpp_doc, py_doc, seed,
                                       image="seed.svg")
    files = {"seed.md": text.encode()}
    for fmt in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=120)
        files[f"seed.{fmt}"] = buf.getvalue()
    atomic.write_files(args.out, files, make_dir=True)
    print(f"wrote {os.path.join(args.out, 'seed.md')} (+ .png, .svg)")
    return 0


def main(argv=None):
    return cli.run_main(PROG, _main, argv, input_code=1)


if __name__ == "__main__":
    sys.exit(main())
