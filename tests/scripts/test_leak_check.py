"""tests/leak_check.py fails when something is left behind, and only then."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "tests", "leak_check.py")
sys.path.insert(0, os.path.join(ROOT, "tests"))
import leak_check  # noqa: E402


def dead_pid():
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    return p.pid


def run(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                          text=True, timeout=60, env=env)


class LeakCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.marker = f"test-{os.getpid()}-{time.time_ns()}"

    def tearDown(self):
        self.tmp.cleanup()

    def touch(self, name):
        path = os.path.join(self.dir, name)
        with open(path, "w"):
            pass
        return path

    def test_clean_directory_passes(self):
        self.touch("unrelated-file")
        r = run("--dir", self.dir, "--marker", self.marker)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing left behind", r.stderr)

    def test_entry_of_a_dead_owner_fails(self):
        pid = dead_pid()
        path = self.touch(f"ipcbench-{pid}-0")
        os.mkfifo(os.path.join(self.dir, f"ipcbench-{pid}-fifo"))
        r = run("--dir", self.dir)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"leak_check.py: leak: {path}: left behind (owner {pid} is gone)",
                      r.stderr.splitlines())
        self.assertIn("2 leftover(s)", r.stderr)

    def test_system_v_queue_of_a_dead_owner_fails(self):
        pid = dead_pid()
        live = os.getpid()
        table = self.touch("msg")
        with open(table, "w") as f:
            f.write("       key      msqid perms cbytes qnum\n")
            for key, msqid in [((0x5 << 28) | (pid << 6) | 3, 7),  # ours, owner dead
                               ((0x5 << 28) | (live << 6), 8),     # ours, owner alive
                               (0x41000001, 9)]:                   # someone else's
                f.write(f"{key - (1 << 32) if key >= 1 << 31 else key} {msqid} 600 0 0\n")
        r = run("--dir", self.dir, "--sysv-table", table)
        self.assertEqual(r.returncode, 1, r.stderr)
        key = f"0x{(0x5 << 28) | (pid << 6) | 3:08x}"
        self.assertIn(f"leak_check.py: leak: System V message queue key {key} (msqid 7): "
                      f"left behind (owner {pid} is gone)", r.stderr.splitlines())
        self.assertIn("1 leftover(s)", r.stderr)
        r = run("--dir", self.dir, "--sysv-table", table, "--strict")
        self.assertIn("(msqid 8): still there", r.stderr)
        self.assertNotIn("msqid 9", r.stderr)

    def test_entry_of_another_live_run_is_left_alone_unless_strict(self):
        self.touch(f"ipcbench-{os.getpid()}-0")
        self.assertEqual(run("--dir", self.dir).returncode, 0)
        r = run("--dir", self.dir, "--strict")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is running", r.stderr)

    def test_entry_without_pid_counts_when_changed_since(self):
        self.touch("ipcbench-pyref-abc")
        r = run("--dir", self.dir, "--since", str(time.time() - 60))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("ipcbench-pyref-abc: left behind", r.stderr)
        r = run("--dir", self.dir, "--since", str(time.time() + 60))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_leftover_process_of_the_session_fails(self):
        env = dict(os.environ, IPCBENCH_LEAK_MARKER=self.marker)
        sleeper = subprocess.Popen(["sleep", "60"], env=env)
        try:
            path = self.touch(f"ipcbench-{sleeper.pid}-0")
            r = run("--dir", self.dir, "--marker", self.marker)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(f"process {sleeper.pid} (sleep, state", r.stderr)
            self.assertIn(f"{path}: still there (owner {sleeper.pid} is a leftover", r.stderr)
        finally:
            sleeper.kill()
            sleeper.wait()
        os.unlink(path)
        self.assertEqual(run("--dir", self.dir, "--marker", self.marker).returncode, 0)

    def test_the_checker_and_its_parents_are_not_leftovers(self):
        env = dict(os.environ, IPCBENCH_LEAK_MARKER=self.marker)
        r = run("--dir", self.dir, "--marker", self.marker, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_find_leaks_is_pure_given_processes(self):
        procs = [(4242, "ipcbench", "S", b"IPCBENCH_LEAK_MARKER=m\0", 1)]
        self.assertEqual(leak_check.find_leaks([self.dir], "m", procs=procs),
                         ["process 4242 (ipcbench, state S): still running"])
        self.assertEqual(leak_check.find_leaks([self.dir], "other", procs=procs), [])
        self.assertEqual(leak_check.find_leaks([self.dir], None, strict=True, procs=procs),
                         ["process 4242 (ipcbench, state S): still running"])

    def test_bad_arguments(self):
        for args in (["--since", "yesterday"], ["--frobnicate"]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, r.stderr)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertTrue(lines[0].startswith("leak_check.py: error: "), lines[0])


if __name__ == "__main__":
    unittest.main()
