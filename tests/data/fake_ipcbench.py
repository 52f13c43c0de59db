#!/usr/bin/python3 -S
"""Stand-in for build/ipcbench in the gate tests (no C++ needed).

Accepts the Google Benchmark flags ab.py passes and writes a
Google Benchmark 1.7.1-shaped JSON file to --benchmark_out. Times are
10 us round trips with a slow drift in wall-clock time (up to 2x, the
same for every process at a given moment) and ~3% noise. Knobs (env):
  FAKE_SLOW_FILTER=<substring>  FAKE_SLOW_FACTOR=<x>  slow benchmarks down
  FAKE_ERROR_FILTER=<substring>  mark benchmarks errored
  FAKE_EXIT=<code>  exit with this status and a message on stderr
  FAKE_BENCHMARKS=name,name  replace the default benchmark list
  (as the real binary, a filter that matches nothing exits 2 with Google
  Benchmark's line and removes --benchmark_out)
  IPCBENCH_INJECT_NS / IPCBENCH_INJECT_FILTER  as the real binary: + ns per
      round trip in benchmarks whose name contains the filter
  IPCBENCH_PLANT_NS  as a -DIPCBENCH_PLANT=ON build: a cost per queue send
      (two per round trip), FAKE_PLANT_EFFECT (default 2) times larger than
      asked, as real system calls add wake-up and preemption time
"""

import json
import math
import os
import random
import re
import sys
import time

DEFAULT = ["roundtrip/queue/thread/size:16", "roundtrip/queue/thread/size:4096",
           "roundtrip/shm-ring/thread/size:16", "roundtrip/pipe/thread/size:16"]


def main():
    opts = {}
    for arg in sys.argv[1:]:
        key, _, value = arg.partition("=")
        opts[key] = value
    if os.environ.get("FAKE_EXIT"):
        print("fake_ipcbench: asked to fail", file=sys.stderr)
        return int(os.environ["FAKE_EXIT"])
    names = os.environ.get("FAKE_BENCHMARKS")
    names = names.split(",") if names else DEFAULT
    pattern = re.compile(opts.get("--benchmark_filter", "."))
    reps = int(opts.get("--benchmark_repetitions", "1"))
    slow = os.environ.get("FAKE_SLOW_FILTER")
    factor = float(os.environ.get("FAKE_SLOW_FACTOR", "1.25"))
    err = os.environ.get("FAKE_ERROR_FILTER")
    drift = 1.5 + 0.5 * math.sin(time.time() / 20.0)
    entries = []
    for base in names:
        name = base + "/real_time"
        if not pattern.search(name):
            continue
        for rep in range(reps):
            entry = {"name": name, "run_name": name, "run_type": "iteration",
                     "repetitions": reps, "repetition_index": rep,
                     "threads": 1, "iterations": 1000, "time_unit": "us"}
            if err and err in name:
                entry.update(error_occurred=True,
                             error_message="fake failure")
            else:
                t = 10.0 * drift * random.lognormvariate(0, 0.03)
                if slow and slow in name:
                    t *= factor
                inject = os.environ.get("IPCBENCH_INJECT_NS")
                if inject and os.environ.get("IPCBENCH_INJECT_FILTER",
                                             "") in base:
                    t += int(inject) / 1000.0
                plant = os.environ.get("IPCBENCH_PLANT_NS")
                if plant and "/queue/" in base:
                    effect = float(os.environ.get("FAKE_PLANT_EFFECT", "2"))
                    t += 2 * int(plant) * effect / 1000.0
                entry.update(real_time=t, cpu_time=t)
            entries.append(entry)
    out = opts.get("--benchmark_out")
    if not entries:
        print(f"Failed to match any benchmarks against regex: "
              f"{opts.get('--benchmark_filter', '.')}", file=sys.stderr)
        if out and os.path.exists(out):
            os.unlink(out)
        return 2
    doc = {"context": {"date": "now", "num_cpus": 2,
                       "library_build_type": "debug"},
           "benchmarks": entries}
    if out:
        with open(out, "w") as f:
            json.dump(doc, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
