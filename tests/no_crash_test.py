#!/usr/bin/python3
"""No crash without a message: what used to kill ipcbench with a signal and no word
(SIGSEGV, SIGBUS, std::terminate) is one clear error line, or error entries, and leaves
nothing behind.

  * a --benchmark_filter too long or too deeply nested for std::regex's recursion;
  * a /dev/shm too small for the shared-memory objects (a private 64 KiB tmpfs, in a
    mount namespace of its own: needs root and unshare; skipped otherwise);
  * too little address space for a thread (RLIMIT_AS, as `ulimit -v`).

Usage: no_crash_test.py PATH/TO/ipcbench   (CTest passes the built binary)
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binary_test_support as support  # noqa: E402
from binary_test_support import entries  # noqa: E402

BINARY = None
MARKER = f"no-crash-{os.getpid()}-{time.time_ns()}"


def env_with(**extra):
    return support.env_with(MARKER, **extra)


def run(args, timeout=120, preexec_fn=None, prefix=()):
    return subprocess.run([*prefix, BINARY, *args], capture_output=True, text=True,
                          timeout=timeout, env=env_with(), preexec_fn=preexec_fn)


class Base(unittest.TestCase):
    def assertNothingLeft(self, deadline=5.0):
        self.assertEqual(support.leftovers(MARKER, deadline), [])

    def assertOneErrorLine(self, p, needle):
        self.assertEqual(p.returncode, 2, p.stderr[-500:])
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("ipcbench: error: "), lines[0][:300])
        self.assertIn(needle, lines[0])
        self.assertLess(len(lines[0]), 600, "the filter is not echoed whole")
        self.assertEqual(p.stdout, "")


class HugeFilterTest(Base):
    def test_long_filters_are_refused_before_the_regex(self):
        for what, pattern in [
                ("one long branch", "a" * 20000),
                ("100k characters", "roundtrip/" * 10000),
                ("many alternatives", "|".join(f"x{i}" for i in range(20000))),
                ("deep nesting", "(" * 5000 + "a" + ")" * 5000)]:
            with self.subTest(what=what):
                p = run([f"--benchmark_filter={pattern}", "--benchmark_list_tests=true"])
                self.assertOneErrorLine(p, "--benchmark_filter")

    def test_a_long_filter_of_real_names_still_works(self):
        # What scripts/ab.py builds: ^(name|name|...)(/real_time|/manual_time)?$
        listed = run(["--list=json"])
        self.assertEqual(listed.returncode, 0, listed.stderr)
        names = json.loads(listed.stdout)["benchmarks"]
        keys = sorted({n.rsplit("/real_time", 1)[0] for n in names})[:100]
        esc = [''.join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in k) for k in keys]
        pattern = f"^({'|'.join(esc)})(/real_time|/manual_time)?$"
        p = run([f"--benchmark_filter={pattern}", "--benchmark_list_tests=true"])
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertEqual(len(p.stdout.split()), len(keys))


class TinyShmTest(Base):
    """A 64 KiB /dev/shm: the shared-memory objects do not fit."""

    FILTER = "^(roundtrip|throughput)/shm-boost/(process|thread|spawn)/size:64/|^dict/shm/"

    def setUp(self):
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            self.skipTest("needs root and unshare(1) for a private /dev/shm")

    def run_in_tiny_shm(self, args):
        # The run's own mount namespace with a 64 KiB tmpfs on /dev/shm; what is left in it
        # afterwards is listed on stderr's last line.
        script = ('mount -t tmpfs -o size=64k tmpfs /dev/shm || exit 97; "$@"; rc=$?; '
                  'echo "left in /dev/shm: [$(ls -A /dev/shm)]" >&2; exit $rc')
        p = run(args, prefix=("unshare", "-m", "sh", "-c", script, "sh"))
        if p.returncode == 97 or "unshare failed" in p.stderr:
            self.skipTest(f"no private mount namespace here: {p.stderr.strip()[-200:]}")
        return p

    def test_full_dev_shm_is_an_error_entry_not_sigbus(self):
        p = self.run_in_tiny_shm(["--quick", "--benchmark_format=json",
                                  f"--benchmark_filter={self.FILTER}",
                                  "--contexts=thread,process,spawn"])
        self.assertEqual(p.returncode, 1, p.stderr[-1500:])
        self.assertEqual(p.stderr.strip().splitlines()[-1], "left in /dev/shm: []")
        got = entries(p.stdout)
        self.assertTrue(any(n.startswith("dict/shm/process") for n in got), got)
        for name, error in got.items():
            if name.startswith(("roundtrip/shm-boost", "throughput/shm-boost", "dict/shm/")):
                self.assertIsNotNone(error, name)
                self.assertIn("No space left on device", error, name)
        self.assertNothingLeft()


class AddressSpaceTest(Base):
    """Too little address space for a thread (ulimit -v): errors, never std::terminate.
    A range of limits, so that one falls between the threads a benchmark starts (a
    reader pool's second or third, a watchdog after its peer)."""

    FILTER = ("^dict/(mutex|manager-pipe|shm)/thread/readers:4/|"
              "^throughput/shm-boost/thread/size:1048576/")

    def test_thread_creation_failures_are_error_entries(self):
        failed = 0
        for kib in range(30000, 130001, 10000):
            def limit(kib=kib):
                resource.setrlimit(resource.RLIMIT_AS, (kib * 1024, kib * 1024))

            with self.subTest(ulimit_v=kib):
                p = run(["--benchmark_format=json", "--benchmark_min_time=0.01",
                         f"--benchmark_filter={self.FILTER}"], preexec_fn=limit)
                self.assertNotIn("terminate called", p.stderr)
                self.assertIn(p.returncode, (0, 1), p.stderr[-1500:])
                if p.returncode == 1 and p.stdout.strip():
                    failed += sum(1 for e in entries(p.stdout).values() if e)
        self.assertGreater(failed, 0, "no limit made a thread fail: the test tests nothing")
        self.assertNothingLeft()


if __name__ == "__main__":
    BINARY = support.binary_from_argv("no_crash_test.py")
    unittest.main()
