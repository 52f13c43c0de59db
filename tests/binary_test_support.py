"""What the Python tests of the ipcbench binary share (reliability_test.py,
peer_kill_test.py, no_crash_test.py): the environment of a run they start, its
entries, the leak assertion, and the command line that names the binary."""
import json
import os
import sys
import time

import leak_check

# Test-only variables a run must not inherit from the shell that started the test.
INHERITED_FAULTS = ("IPCBENCH_FAULT", "IPCBENCH_FAULT_FILTER", "IPCBENCH_INJECT_NS")


def env_with(marker, **extra):
    """os.environ marked for the leak check, no test fault inherited, plus `extra`."""
    env = dict(os.environ, IPCBENCH_LEAK_MARKER=marker)
    for key in INHERITED_FAULTS:
        env.pop(key, None)
    env.update(extra)
    return env


def entries(stdout):
    """{name: error message or None} from --benchmark_format=json output."""
    return {b["name"]: (b.get("error_message") if b.get("error_occurred") else None)
            for b in json.loads(stdout)["benchmarks"]}


def leftovers(marker, deadline=5.0):
    """Processes and named entries of runs marked `marker` still there after up to
    `deadline` seconds (a SIGKILLed process takes a moment to go)."""
    end = time.monotonic() + deadline
    while (left := leak_check.find_leaks(leak_check.DIRS, marker)) and \
            time.monotonic() < end:
        time.sleep(0.05)
    return left


def binary_from_argv(prog):
    """The ipcbench binary named by the first argument (CTest passes it), taken off
    sys.argv so that unittest sees the rest; usage and exit 2 without it."""
    if len(sys.argv) < 2:
        print(f"usage: {prog} PATH/TO/ipcbench", file=sys.stderr)
        sys.exit(2)
    return os.path.abspath(sys.argv.pop(1))
