"""Tests for scripts/ipcbench_tools: the loader, name parser, statistics,
atomic writer and command-line base every script shares."""
import contextlib
import io
import json
import os
import stat
import subprocess
import tempfile
import unittest

from ipcbench_tools import atomic, cli, gbjson, names, stats  # noqa: E402
from ipcbench_tools.errors import InputError, ToolError, UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")


class TempDir(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path


class LoaderTest(TempDir):
    GOOD = {"context": {"pin": "none"}, "benchmarks": [
        {"name": "roundtrip/pipe/thread/size:64/real_time",
         "run_name": "roundtrip/pipe/thread/size:64/real_time",
         "run_type": "iteration", "real_time": 1500.0, "time_unit": "us"}]}

    def assert_bad(self, text, phrase, **kw):
        path = self.write("x.json", text)
        with self.assertRaises(InputError) as cm:
            gbjson.load(path, **kw)
        self.assertIn(phrase, str(cm.exception))
        self.assertNotIn("\n", str(cm.exception))
        self.assertTrue(str(cm.exception).startswith(path))

    def test_good(self):
        doc = gbjson.load(self.write("g.json", json.dumps(self.GOOD)),
                          context=True)
        entry = doc["benchmarks"][0]
        self.assertAlmostEqual(gbjson.entry_seconds(entry), 1.5e-3)
        self.assertEqual(gbjson.run_name(entry),
                         "roundtrip/pipe/thread/size:64")

    def test_errors(self):
        self.assert_bad("", "empty file")
        self.assert_bad("  \n", "empty file")
        self.assert_bad('{"benchmarks": [', "truncated JSON (line 1")
        self.assert_bad('{"benchmarks": "x" ]', "not valid JSON")
        self.assert_bad("[1, 2]", 'not Google Benchmark JSON (no '
                        '"benchmarks" list)')
        self.assert_bad('{"benchmarks": [3]}',
                        "benchmarks[0] is not a benchmark object")
        self.assert_bad('{"benchmarks": []}', 'no "context"', context=True)
        self.assert_bad("[" * 100000, "nested too deeply")
        with self.assertRaisesRegex(InputError, "nope.json: no such file"):
            gbjson.load(os.path.join(self.dir, "nope.json"))
        with self.assertRaisesRegex(InputError, "is a directory"):
            gbjson.load(self.dir)
        with open(os.path.join(self.dir, "bin.json"), "wb") as f:
            f.write(b"\xff\xfe\x00")
        with self.assertRaisesRegex(InputError, "not a text file"):
            gbjson.load(os.path.join(self.dir, "bin.json"))

    def test_run_name_of_aggregates(self):
        self.assertEqual(gbjson.run_name(
            {"name": "floor/futex/process/real_time_median",
             "run_type": "aggregate", "aggregate_name": "median"}),
            "floor/futex/process")
        self.assertEqual(gbjson.run_name({"name": "a/b/manual_time"}), "a/b")

    def test_entry_seconds_errors(self):
        with self.assertRaisesRegex(ValueError, "unknown time_unit"):
            gbjson.entry_seconds({"real_time": 1, "time_unit": "fortnight"})
        with self.assertRaisesRegex(ValueError, "real_time missing"):
            gbjson.entry_seconds({"real_time": "x"})
        with self.assertRaisesRegex(ValueError, "real_time missing"):
            gbjson.entry_seconds({"real_time": float("nan")})


class NamesTest(unittest.TestCase):
    def test_placement_key(self):
        n = names.parse("roundtrip/pipe/process/size:64/pin:same/real_time")
        self.assertEqual(n.scenario, "roundtrip")
        self.assertEqual(n.parts, ("pipe", "process"))
        self.assertEqual(n.params, {"size": "64", "pin": "same"})
        self.assertEqual(n.int_param("size"), 64)
        self.assertIsNone(n.int_param("readers"))

    def test_run_configuration_dropped(self):
        n = names.parse("dict/py-manager/process/readers:1/iterations:100/"
                        "repeats:3/manual_time")
        self.assertEqual(n.params, {"readers": "1"})
        self.assertEqual(names.strip_config("a/b/min_time:0.5/real_time"),
                         "a/b")

    def test_bad(self):
        with self.assertRaises(ValueError):
            names.parse("/real_time")
        with self.assertRaisesRegex(ValueError, "not a whole number"):
            names.parse("roundtrip/pipe/thread/size:big").int_param("size")
        with self.assertRaisesRegex(ValueError, "negative"):
            names.parse("roundtrip/pipe/thread/size:-1").int_param("size")


class StatsTest(unittest.TestCase):
    def test_median_and_spread(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertIsNone(stats.median([]))
        self.assertEqual(stats.spread([5, 1, 3]), (1, 5))
        self.assertEqual(stats.spread([4]), (4, 4))
        self.assertEqual(stats.spread([1, 2, 3, 4, 5], "iqr"), (2, 4))

    def test_cv_and_robust_sd(self):
        self.assertIsNone(stats.cv([1.0]))
        self.assertAlmostEqual(stats.cv([1.0, 3.0]), 2 ** 0.5 / 2)
        self.assertEqual(stats.stdev([7.0]), 0.0)
        self.assertAlmostEqual(stats.robust_sd([1, 2, 3, 4, 100]), 1.4826)
        self.assertFalse(stats.is_number(True))
        self.assertFalse(stats.is_number(float("inf")))


class AtomicTest(TempDir):
    def test_all_or_nothing(self):
        atomic.write_files(self.dir, {"a.txt": "A", "b.bin": b"B"})
        with open(os.path.join(self.dir, "a.txt")) as f:
            self.assertEqual(f.read(), "A")
        os.mkdir(os.path.join(self.dir, "c"))
        with self.assertRaisesRegex(InputError, "c: is a directory"):
            atomic.write_files(self.dir, {"a.txt": "new", "c": "x"})
        with open(os.path.join(self.dir, "a.txt")) as f:
            self.assertEqual(f.read(), "A")     # untouched: nothing renamed
        self.assertEqual(sorted(os.listdir(self.dir)), ["a.txt", "b.bin",
                                                        "c"])

    def test_mode_follows_umask(self):
        path = os.path.join(self.dir, "m.txt")
        atomic.write_file(path, "x")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode),
                         0o666 & ~atomic.umask())

    def test_missing_directory_is_one_line(self):
        path = os.path.join(self.dir, "no", "such", "f.txt")
        with self.assertRaisesRegex(InputError, "cannot write"):
            atomic.write_file(path, "x")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "no")))
        atomic.write_files(os.path.join(self.dir, "made"), {"f": "x"},
                           make_dir=True)
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "made", "f")))


class CliTest(unittest.TestCase):
    def run_main(self, body, **kw):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = cli.run_main("t.py", body, [], **kw)
        return code, err.getvalue()

    def test_codes_and_one_line(self):
        def raiser(exc):
            def body(argv):
                raise exc
            return body
        cases = [(UsageError("bad flag"), 2, "t.py: error: bad flag (see "
                  "--help)\n"),
                 (InputError("x.json: empty file"), 5,
                  "t.py: error: x.json: empty file\n"),
                 (ToolError("plain"), 5, "t.py: error: plain\n"),
                 (FileNotFoundError(2, "No such file or directory", "f"), 5,
                  "t.py: error: f: No such file or directory\n"),
                 (KeyboardInterrupt(), 130, "t.py: interrupted\n")]
        for exc, code, text in cases:
            with self.subTest(exc=exc):
                self.assertEqual(self.run_main(raiser(exc), input_code=5),
                                 (code, text))
        self.assertEqual(self.run_main(lambda argv: 7), (7, ""))

    def test_parser_errors_raise(self):
        p = cli.ArgumentParser(prog="t.py", exit_codes={0: "fine",
                                                        3: "undecided"})
        p.add_argument("--n", type=int)
        with self.assertRaisesRegex(UsageError, "invalid int value"):
            p.parse_args(["--n", "x"])
        self.assertIn("exit status:\n  0  fine\n  3  undecided",
                      p.format_help())

    def test_every_script_has_help_and_one_line_errors(self):
        for script in ("ab.py", "floor_check.py", "gate.py",
                       "gate_experiment.py", "plot.py", "pyref.py",
                       "seed.py"):
            with self.subTest(script=script):
                path = os.path.join(SCRIPTS, script)
                proc = subprocess.run(["/usr/bin/python3", path, "--help"],
                                      capture_output=True, text=True,
                                      timeout=60)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("exit status:", proc.stdout)
                proc = subprocess.run(["/usr/bin/python3", path,
                                       "--no-such-flag"],
                                      capture_output=True, text=True,
                                      timeout=60)
                self.assertEqual(proc.returncode, 2)
                self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
                self.assertIn(f"{script}: error: ", proc.stderr)
                self.assertEqual(proc.stdout, "")


class NoPathTricksTest(unittest.TestCase):
    def test_scripts_do_not_touch_sys_path(self):
        for name in sorted(os.listdir(SCRIPTS)):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(SCRIPTS, name), encoding="utf-8") as f:
                text = f.read()
            with self.subTest(script=name):
                self.assertNotIn("sys.path", text)
                self.assertNotIn("importlib", text)


if __name__ == "__main__":
    unittest.main()
