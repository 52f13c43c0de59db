#!/usr/bin/python3
"""Bad input to every entry point: one clear line on stderr, a non-zero exit, no
traceback, nothing on stdout and no output file left behind.

Table-driven: ENTRY_POINTS says how to run each program and how it takes a results
file and an output place; a new script is one line there. Every program that reads
results files gets the same bad files (missing, a directory, empty, truncated JSON,
JSON of the wrong shape, binary junk, huge and non-finite values); FLAG_CASES holds
the bad flags of each program. Programs not on this branch yet are skipped.

Usage: bad_input_test.py PATH/TO/ipcbench   (CTest passes the built binary)
"""
import concurrent.futures
import json
import re
import os
import subprocess
import sys
import tempfile
import unittest
from dataclasses import dataclass
from typing import Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
BINARY = None


def script(name):
    return [PYTHON, os.path.join(ROOT, "scripts", name)]


@dataclass
class EntryPoint:
    prog: str                       # the name its error lines start with
    command: Callable[[], list]     # argv before the case's arguments
    # Arguments that read results file `f` and write under directory `out`, or None.
    reads: Optional[Callable[[str, str], list]] = None
    # Arguments that name an output under `out` for flag cases, so that none is made.
    writes: Callable[[str], list] = lambda out: []
    exists: Callable[[], bool] = lambda: True


def script_entry(name, reads=None, writes=lambda out: []):
    return EntryPoint(name, lambda: script(name), reads, writes,
                      lambda: os.path.exists(os.path.join(ROOT, "scripts", name)))


ENTRY_POINTS = {
    "ipcbench": EntryPoint("ipcbench", lambda: [BINARY],
                           writes=lambda out: [f"--benchmark_out={out}/r.json"]),
    "pyref.py": script_entry("pyref.py", writes=lambda out: ["--out", f"{out}/p.json"]),
    "seed.py": script_entry("seed.py", reads=lambda f, out: ["--py", f, "--out", out]),
    "seed.py --cpp": script_entry("seed.py", reads=lambda f, out: [
        "--cpp", f, "--py", os.path.join(ROOT, "tests", "data", "seed-py.json"),
        "--out", out]),
    "plot.py": script_entry("plot.py", reads=lambda f, out: [f, "--out", out]),
    "gate.py": script_entry("gate.py", reads=lambda f, out: [f, f, "--json", f"{out}/g.json"]),
    "ab.py": script_entry("ab.py"),
    "gate_experiment.py": script_entry("gate_experiment.py"),
}

# Bad results files: name -> (bytes, what the error line must match).
GOOD_CONTEXT = {"date": "2026-01-01T00:00:00+00:00", "host_name": "h", "num_cpus": 2,
                "library_build_type": "debug"}


def entry(**over):
    e = {"name": "roundtrip/pipe/thread/size:16/real_time",
         "run_name": "roundtrip/pipe/thread/size:16/real_time", "run_type": "iteration",
         "repetitions": 1, "repetition_index": 0, "threads": 1, "iterations": 100,
         "real_time": 1000.0, "cpu_time": 900.0, "time_unit": "ns",
         "items_per_second": 1e6}
    e.update(over)
    return e


def doc(*entries):
    return json.dumps({"context": GOOD_CONTEXT, "benchmarks": list(entries)}).encode()


# Files that cannot be read as results at all: each must be refused.
BAD_FILES = {
    "missing": (None, r"No such file"),
    "directory": ("DIR", r"directory"),
    "empty": (b"", r"empty"),
    "blank": (b"  \n", r"empty"),
    "truncated": (doc(entry())[:-20], r"JSON"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", r"JSON|UTF-8|utf-8|decode"),
    "a JSON list": (b"[1, 2, 3]", r"benchmarks|Google Benchmark|object|shape"),
    "no benchmarks": (json.dumps({"context": GOOD_CONTEXT}).encode(),
                      r"benchmarks"),
    "benchmarks not a list": (json.dumps({"context": GOOD_CONTEXT,
                                          "benchmarks": {"a": 1}}).encode(), r"benchmarks"),
    "entry not an object": (json.dumps({"context": GOOD_CONTEXT,
                                        "benchmarks": ["x"]}).encode(),
                            r"entry|benchmark|object"),
}

# Files with bad values in an entry: a script may refuse them (one line, non-zero) or
# treat the entry as having no figure (exit 0, shown as n/a); never a traceback.
ODD_FILES = {
    "time is a string": doc(entry(real_time="fast", items_per_second="many")),
    "huge values": doc(entry(real_time=1e400, items_per_second=1e400, iterations=10**40)),
    "negative values": doc(entry(real_time=-1.0, items_per_second=-5.0, iterations=-1)),
    "NaN values": doc(entry()).replace(b"1000000.0", b"NaN"),
    "unknown time unit": doc(entry(time_unit="fortnights")),
}

# Bad flags: (entry point, arguments, extra environment, what the line must match[, the
# exit status]). In the arguments, OUT is an empty output directory, FILE a good C++
# results file, PYREF a good Python reference file, FOREIGN results of another program.
FLAG_CASES = [
    # issue 20, item 7
    ("ipcbench", ["--transports=pipe,pipe"], {}, r"--transports names 'pipe' twice", 2),
    ("ipcbench", ["--contexts=thread,process,thread"], {}, r"--contexts names 'thread' twice",
     2),
    ("ipcbench", ["--benchmark_out=OUT"], {}, r"--benchmark_out=\S+: is a directory", 2),
    ("ipcbench", ["--benchmark_out=OUT/"], {}, r"--benchmark_out=\S+: is a directory", 2),
    ("pyref.py", ["--out", "OUT/nonexist/x.json"], {},
     r"--out: cannot write in \S+/nonexist \(no such directory\)", 2),
    ("pyref.py", ["--out", "OUT"], {}, r"--out \S+: is a directory", 2),
    ("seed.py", ["--py", "FILE", "--out", "OUT"], {},
     r"--py \S+good.json: holds ipcbench C\+\+ results, .*swapped", 2),
    ("seed.py", ["--py", "PYREF", "--cpp", "PYREF", "--out", "OUT"], {},
     r"--cpp \S+seed-py.json: holds Python reference .*swapped", 2),
    ("seed.py", ["--py", "FOREIGN", "--out", "OUT"], {},
     r"--py \S+foreign.json: none of the seed table's Python", 2),
    ("seed.py", ["--py", "PYREF", "--cpp", "FOREIGN", "--out", "OUT"], {},
     r"--cpp \S+foreign.json: none of the seed table's ipcbench C\+\+", 2),
    ("ipcbench", ["--frobnicate"], {}, r"unrecognized command-line flag: --frobnicate"),
    ("ipcbench", ["stray"], {}, r"unrecognized command-line flag: stray"),
    ("ipcbench", ["--transports=pipe,carrier-pigeon"], {}, r"unknown transport 'carrier-pigeon'"),
    ("ipcbench", ["--transports="], {}, r"names no transport"),
    ("ipcbench", ["--contexts=fibre"], {}, r"unknown context 'fibre'"),
    ("ipcbench", ["--timeout=0"], {}, r"--timeout wants a whole number"),
    ("ipcbench", ["--timeout=-5"], {}, r"--timeout wants a whole number"),
    ("ipcbench", ["--timeout=99999999999999999999"], {}, r"--timeout wants a whole number"),
    ("ipcbench", ["--benchmark_repetitions=-3"], {}, r"--benchmark_repetitions wants"),
    ("ipcbench", ["--benchmark_repetitions=abc"], {}, r"--benchmark_repetitions wants"),
    ("ipcbench", ["--benchmark_repetitions=99999999999"], {}, r"--benchmark_repetitions wants"),
    ("ipcbench", ["--benchmark_min_time=1e300"], {}, r"--benchmark_min_time wants"),
    ("ipcbench", ["--benchmark_min_time=0.01ms"], {}, r"--benchmark_min_time wants"),
    ("ipcbench", ["--benchmark_min_time=-1"], {}, r"--benchmark_min_time wants"),
    ("ipcbench", ["--sizes=0"], {}, r"--sizes wants a whole number"),
    ("ipcbench", ["--sizes="], {}, r"--sizes wants sizes in bytes"),
    ("ipcbench", ["--benchmark_format=xml"], {}, r"--benchmark_format wants console, json or csv"),
    ("ipcbench", ["--benchmark_out_format=yaml"], {}, r"--benchmark_out_format wants"),
    ("ipcbench", ["--benchmark_counters_tabular=maybe"], {}, r"wants true or false"),
    ("ipcbench", ["--benchmark_filter=("], {}, r"not a regular expression"),
    ("ipcbench", ["--benchmark_filter=no-such-benchmark"], {},
     r"Failed to match any benchmarks"),
    ("ipcbench", ["--benchmark_out=/nonexistent/dir/r.json"], {}, r"cannot write in /nonexistent"),
    ("ipcbench", ["--list"], {"IPCBENCH_FAULT": "gremlin:1"}, r"unknown fault 'gremlin'"),
    ("ipcbench", ["--list"], {"IPCBENCH_FAULT": "kill:x"}, r"must be a whole number"),
    ("pyref.py", ["--frobnicate"], {}, r"unrecognized arguments"),
    ("pyref.py", ["--repetitions", "-1"], {}, r"--repetitions"),
    ("pyref.py", ["--repetitions", "abc"], {}, r"--repetitions"),
    ("pyref.py", ["--repetitions", "99999999999"], {}, r"--repetitions"),
    ("pyref.py", ["--min-time", "1e308"], {}, r"--min-time"),
    ("pyref.py", ["--min-time", "nan"], {}, r"--min-time"),
    ("pyref.py", ["--timeout", "0"], {}, r"--timeout"),
    ("pyref.py", ["--filter", "("], {}, r"--filter"),
    ("pyref.py", ["--filter", "no-such-benchmark"], {}, r"matches no benchmark"),
    ("pyref.py", ["--out", "FILE/dir/p.json"], {}, r"--out: cannot write in .*good.json"),
    ("seed.py", ["--frobnicate"], {}, r"unrecognized arguments|required"),
    ("seed.py", ["--out", "OUT"], {}, r"--py"),
    ("plot.py", ["--frobnicate"], {}, r"unrecognized arguments"),
    ("plot.py", ["--size", "-1", "FILE"], {}, r"--size"),
    ("gate.py", ["--frobnicate"], {}, r"unrecognized arguments|required"),
    ("gate.py", ["FILE", "FILE", "--threshold", "-0.5"], {}, r"--threshold"),
    ("gate.py", ["FILE", "FILE", "--threshold", "1e308"], {}, r"--threshold"),
    ("ab.py", ["--frobnicate"], {}, r"unrecognized arguments"),
    ("ab.py", ["--pairs", "0"], {}, r"--pairs"),
    ("ab.py", ["--pairs", "99999999999999999999999"], {}, r"--pairs"),
    ("ab.py", ["--min-time", "-1"], {}, r"--min-time"),
    ("ab.py", ["--cpus", "banana"], {}, r"--cpus"),
    ("gate_experiment.py", ["--frobnicate"], {}, r"unrecognized arguments"),
    ("gate_experiment.py", ["--runs", "-1"], {}, r"--runs"),
    ("gate_experiment.py", ["--slowdown", "1e308"], {}, r"--slowdown"),
]


class BadInputTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "out")
        os.mkdir(self.out)
        self.good = os.path.join(self.tmp.name, "good.json")
        with open(self.good, "wb") as f:
            f.write(doc(entry()))
        self.foreign = os.path.join(self.tmp.name, "foreign.json")
        with open(self.foreign, "wb") as f:
            f.write(doc(entry(name="BM_memcpy/64", run_name="BM_memcpy/64")))

    def tearDown(self):
        self.tmp.cleanup()

    def fresh_out(self):
        self.out = tempfile.mkdtemp(dir=self.tmp.name, prefix="out-")
        return self.out

    def run_all(self, cases):
        """Runs (ep, argv, env) cases in parallel; returns their CompletedProcesses."""
        def one(case):
            ep, argv, env = case
            return subprocess.run(ep.command() + argv, capture_output=True, text=True,
                                  timeout=120, env=dict(os.environ, **env))
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(one, cases))

    def verify(self, ep, argv, proc, out, pattern, mention=None, code=None):
        where = f"{ep.prog} {' '.join(argv)}"
        if code is not None:
            self.assertEqual(proc.returncode, code, f"{where}\n{proc.stderr}")
        if os.environ.get("BAD_INPUT_REPORT"):
            print(f"| `{where}` | {proc.returncode} | `{proc.stderr.strip()}` |")
        self.assertNotEqual(proc.returncode, 0, f"{where}: exit 0\n{proc.stderr}")
        self.assertGreater(proc.returncode, 0, f"{where}: died by a signal")
        self.assertNotIn("Traceback", proc.stderr, where)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"{where}: not one line:\n{proc.stderr}")
        line = lines[0]
        if not line.startswith("Failed to match"):  # Google Benchmark's own line
            self.assertTrue(line.startswith(f"{ep.prog.split()[0]}: error: "),
                            f"{where}: {line}")
        self.assertRegex(line, re.compile(pattern, re.IGNORECASE), where)
        if mention:
            self.assertIn(mention, line, where)
        self.assertEqual(proc.stdout, "", f"{where}: wrote to stdout")
        self.assertEqual(os.listdir(out), [], f"{where}: left output behind")

    def test_bad_flags(self):
        todo = []
        pyref = os.path.join(ROOT, "tests", "data", "seed-py.json")
        for key, args, env, pattern, *code in FLAG_CASES:
            ep = ENTRY_POINTS[key]
            if not ep.exists():
                continue
            out = self.fresh_out()
            names_output = any(a.startswith(("--out", "--benchmark_out=")) for a in args)
            argv = [a.replace("OUT", out).replace("FILE", self.good).replace("PYREF", pyref)
                    .replace("FOREIGN", self.foreign) for a in args]
            argv += [] if names_output else ep.writes(out)
            todo.append((key, ep, argv, env, pattern, out, code[0] if code else None))
        procs = self.run_all([(ep, argv, env) for _, ep, argv, env, _, _, _ in todo])
        for (key, ep, argv, _, pattern, out, code), proc in zip(todo, procs):
            with self.subTest(entry=key, args=argv):
                self.verify(ep, argv, proc, out, pattern, code=code)

    def test_a_run_that_fails_keeps_an_earlier_output_file(self):
        # ipcbench writes --benchmark_out beside it and renames it into place only
        # after a run that ran something.
        out = self.fresh_out()
        path = os.path.join(out, "r.json")
        with open(path, "w") as f:
            f.write("earlier results\n")
        for args in (["--benchmark_filter=no-such-benchmark"], ["--transports=pipe,pipe"]):
            with self.subTest(args=args):
                proc = subprocess.run([BINARY, *args, f"--benchmark_out={path}"],
                                      capture_output=True, text=True, timeout=120)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                with open(path) as f:
                    self.assertEqual(f.read(), "earlier results\n")
                self.assertEqual(os.listdir(out), ["r.json"])
        proc = subprocess.run([BINARY, "--benchmark_filter=^throughput/memcpy/thread/size:64/",
                               "--benchmark_min_time=0.001", f"--benchmark_out={path}"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(path) as f:
            names = [b["name"] for b in json.load(f)["benchmarks"]]
        self.assertTrue(names and all(n.startswith("throughput/memcpy/thread/size:64")
                                      for n in names), names)
        self.assertEqual(os.listdir(out), ["r.json"])

    def write_case(self, i, content):
        path = os.path.join(self.tmp.name, f"input-{i}.json")
        if content == "DIR":
            os.mkdir(path)
        elif content is not None:
            with open(path, "wb") as f:
                f.write(content)
        return path

    def test_bad_results_files(self):
        todo = []
        for key, ep in ENTRY_POINTS.items():
            if ep.reads is None or not ep.exists():
                continue
            for case, (content, pattern) in BAD_FILES.items():
                path = self.write_case(len(todo), content)
                out = self.fresh_out()
                todo.append((key, case, ep, ep.reads(path, out), pattern, path, out))
        procs = self.run_all([(ep, argv, {}) for _, _, ep, argv, _, _, _ in todo])
        for (key, case, ep, argv, pattern, path, out), proc in zip(todo, procs):
            with self.subTest(entry=key, file=case):
                self.verify(ep, argv, proc, out, pattern, mention=path)

    def test_odd_values_are_refused_or_shown_without_a_figure(self):
        todo = []
        for key, ep in ENTRY_POINTS.items():
            if ep.reads is None or not ep.exists():
                continue
            for case, content in ODD_FILES.items():
                path = self.write_case(len(todo), content)
                out = self.fresh_out()
                todo.append((key, case, ep, ep.reads(path, out), out))
        procs = self.run_all([(ep, argv, {}) for _, _, ep, argv, _ in todo])
        for (key, case, ep, argv, out), proc in zip(todo, procs):
            with self.subTest(entry=key, file=case):
                if os.environ.get("BAD_INPUT_REPORT"):
                    print(f"| `{ep.prog} {' '.join(argv)}` | {proc.returncode} | "
                          f"`{proc.stderr.strip()[-200:]}` |")
                self.assertNotIn("Traceback", proc.stderr)
                self.assertGreaterEqual(proc.returncode, 0)
                if proc.returncode != 0:
                    lines = proc.stderr.strip().splitlines()
                    self.assertEqual(len(lines), 1, proc.stderr)
                    self.assertTrue(lines[0].startswith(f"{ep.prog.split()[0]}: error: "))
                    self.assertEqual(os.listdir(out), [])

    def test_every_entry_point_is_here(self):
        missing = sorted({ep.prog for ep in ENTRY_POINTS.values() if not ep.exists()})
        if missing:
            self.skipTest(f"not on this branch yet: {', '.join(missing)}")

    def test_the_good_file_is_accepted(self):
        # Guards the table: a bad-file case fails for its badness, not for the rest.
        for key in ("seed.py --cpp",):
            ep = ENTRY_POINTS[key]
            proc = subprocess.run(ep.command() + ep.reads(self.good, self.fresh_out()),
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: bad_input_test.py PATH/TO/ipcbench", file=sys.stderr)
        sys.exit(2)
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
