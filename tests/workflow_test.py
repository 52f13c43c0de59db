#!/usr/bin/python3
"""The CI workflow (.github/workflows/bench.yml) run here, step by step: every
`run:` step exactly as written, in the shell GitHub uses for `shell: bash`
(bash --noprofile --norc -eo pipefail), once as a pull request and twice as a
push to main. What changes is only the environment: the workflow's env values
shrunk (two benchmarks, two repetitions; the gate's baseline is this tree's
binary, --a-binary, instead of a build of HEAD~1, with an unreachable
threshold so that noise cannot fail it), a local bare repository as the
history's remote, and GitHub's variables (RUNNER_TEMP, GITHUB_STEP_SUMMARY,
GITHUB_ENV, ...) pointing into a temporary directory. `uses:` steps are
GitHub's own actions (checkout, upload-artifact): they are checked, not run.

Usage: workflow_test.py PATH/TO/ipcbench   (CTest passes the built binary;
the steps use build/ipcbench of this tree, as the workflow does)
"""
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "bench.yml")
BINARY = None
STEP_TIMEOUT = 600
USES = {"actions/checkout@v4", "actions/upload-artifact@v4"}
SHRUNK = {
    "GATE_ARGS": "--a-binary build/ipcbench --filter "
                 "^roundtrip/queue/thread/size:16/ --pairs 10 "
                 "--min-time 0.01 --threshold 10",
    "BENCH_FILTER": "^roundtrip/queue/thread/",
    "BENCH_REPETITIONS": "2",
    "BENCH_ARGS": "--benchmark_min_time=0.005 --pin=none,same --sizes=64",
    "HISTORY_CHECK_FILTER": "^roundtrip/",
}
IF = re.compile(r"^(always\(\) && )?github\.event_name == '(push|pull_request)'$")


def applies(step, event):
    cond = step.get("if")
    if cond is None:
        return True
    m = IF.match(cond.strip())
    if not m:
        raise AssertionError(f"workflow_test.py cannot evaluate if: {cond!r}")
    return m.group(2) == event


def read_env_file(path):
    """KEY=VALUE lines a step appended to $GITHUB_ENV."""
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    key, value = line.rstrip("\n").split("=", 1)
                    out[key] = value
    return out


def expand(text, env):
    """${{ env.NAME }} in a `with:` value."""
    return re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}",
                  lambda m: env.get(m.group(1), ""), str(text))


class WorkflowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(WORKFLOW, encoding="utf-8") as f:
            cls.doc = yaml.safe_load(f)
        cls.tmp = tempfile.TemporaryDirectory(prefix="workflow-test-")
        cls.remote = os.path.join(cls.tmp.name, "remote.git")
        subprocess.run(["git", "init", "-q", "--bare", cls.remote],
                       check=True)
        cls.sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True,
                                 check=True).stdout.strip()
        cls.runs = {}
        cls.runs["pull_request"] = cls.run_workflow("pull_request", "pr")
        cls.runs["push1"] = cls.run_workflow("push", "push1")
        cls.runs["push2"] = cls.run_workflow("push", "push2")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def run_workflow(cls, event, name):
        """Run the job's steps for one event; returns a record."""
        base = os.path.join(cls.tmp.name, name)
        runner_temp = os.path.join(base, "runner-temp")
        os.makedirs(runner_temp)
        summary = os.path.join(base, "summary.md")
        github_env = os.path.join(base, "github-env")
        env = dict(os.environ)
        env.update({k: str(v) for k, v in cls.doc["env"].items()})
        env.update(SHRUNK)
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event, "GITHUB_SHA": cls.sha,
            "GITHUB_WORKSPACE": ROOT, "RUNNER_TEMP": runner_temp,
            "GITHUB_STEP_SUMMARY": summary, "GITHUB_ENV": github_env,
            "HISTORY_REMOTE": "file://" + cls.remote,
            # `git config --global` of the Build step goes here, not ~
            "GIT_CONFIG_GLOBAL": os.path.join(base, "gitconfig"),
            "TMPDIR": base,
        })
        job = cls.doc["jobs"]["bench"]
        shell = job["defaults"]["run"]["shell"]
        assert shell == "bash", shell
        record = {"steps": [], "env": env, "summary": summary}
        for step in job["steps"]:
            if not applies(step, event):
                continue
            if "uses" in step:
                record["steps"].append((step.get("name") or step["uses"],
                                        "uses", step))
                continue
            env.update(read_env_file(github_env))
            t0 = time.monotonic()
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                 step["run"]], cwd=ROOT, env=env, capture_output=True,
                text=True, timeout=STEP_TIMEOUT)
            record["steps"].append((step["name"], proc,
                                    time.monotonic() - t0))
            print(f"workflow_test.py: {name}: {step['name']}: exit "
                  f"{proc.returncode} in {time.monotonic() - t0:.1f} s",
                  file=sys.stderr, flush=True)
        env.update(read_env_file(github_env))
        return record

    def ran(self, run, name):
        for step_name, proc, *rest in self.runs[run]["steps"]:
            if step_name == name:
                return proc
        self.fail(f"{run}: step {name!r} did not run")

    def test_every_run_step_passes(self):
        for run, record in self.runs.items():
            for name, proc, *rest in record["steps"]:
                if proc == "uses":
                    continue
                with self.subTest(run=run, step=name):
                    self.assertEqual(
                        proc.returncode, 0,
                        f"{name}: exit {proc.returncode}\n{proc.stdout[-3000:]}"
                        f"\n{proc.stderr[-3000:]}")

    def test_every_step_is_run_or_a_known_action(self):
        for step in self.doc["jobs"]["bench"]["steps"]:
            self.assertTrue("run" in step or step.get("uses") in USES, step)

    def test_pull_request_runs_the_gate_not_the_history(self):
        names = [s[0] for s in self.runs["pull_request"]["steps"]]
        self.assertIn("A/B gate, base branch against this pull request",
                      names)
        self.assertFalse([n for n in names if n.startswith("History")])
        gate = self.ran("pull_request",
                        "A/B gate, base branch against this pull request")
        self.assertIn("ci_gate.sh: exit 0", gate.stdout)
        with open(self.runs["pull_request"]["summary"], encoding="utf-8") as f:
            text = f.read()
        self.assertIn("A/B regression gate", text)
        self.assertIn("roundtrip/queue/thread/size:16", text)

    def test_main_adds_to_the_history_branch_and_checks_it(self):
        names = [s[0] for s in self.runs["push1"]["steps"]]
        self.assertNotIn("A/B gate, base branch against this pull request",
                         names)
        log = subprocess.run(["git", "--git-dir", self.remote, "log",
                              "--format=%s", "bench-history"],
                             capture_output=True, text=True, check=True)
        self.assertEqual(log.stdout.split("\n")[:2],
                         [f"history: {self.sha}"] * 2)
        files = subprocess.run(["git", "--git-dir", self.remote, "ls-tree",
                                "-r", "--name-only", "bench-history"],
                               capture_output=True, text=True,
                               check=True).stdout.split()
        self.assertIn("history.sqlite", files)
        self.assertIn("trend/index.md", files)
        # the second run pulled the first one's history and added to it
        db = os.path.join(self.runs["push2"]["env"]["RUNNER_TEMP"],
                          "history", "history.sqlite")
        con = sqlite3.connect(db)
        try:
            runs = con.execute("SELECT COUNT(*), COUNT(DISTINCT machine) "
                               "FROM runs").fetchone()
            hosts = con.execute("SELECT DISTINCT host FROM machines") \
                .fetchall()
        finally:
            con.close()
        self.assertEqual(runs, (2, 1))
        self.assertEqual(hosts, [(self.doc["env"]["HISTORY_HOST"],)])
        check = self.ran("push2", "History, check for steps")
        self.assertIn("too little history", check.stdout)
        with open(self.runs["push2"]["summary"], encoding="utf-8") as f:
            self.assertIn("Benchmark history: change points", f.read())

    def test_artifact_path_is_the_history(self):
        record = self.runs["push2"]
        step = [s for s in record["steps"] if s[1] == "uses" and
                s[2]["uses"].startswith("actions/upload-artifact")][0][2]
        path = expand(step["with"]["path"], record["env"])
        self.assertTrue(os.path.isfile(os.path.join(path, "history.sqlite")),
                        path)


def main():
    global BINARY
    if len(sys.argv) > 1:
        BINARY = os.path.abspath(sys.argv.pop(1))
        expected = os.path.join(ROOT, "build", "ipcbench")
        if BINARY != expected:
            print(f"workflow_test.py: skipped: the workflow runs {expected}, "
                  f"not {BINARY}")
            return 0
    return 0 if unittest.main(exit=False).result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
