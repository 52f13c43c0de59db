#!/usr/bin/python3
"""Plausible ipcbench results in the exact Google Benchmark 1.7.1 JSON shape.

Used by test_plot.py to make fixtures, and runnable on its own to get a
sample file to look at:  tests/scripts/plot_fixture.py /tmp/sample.json
The figures are modelled on /work/shared/MEASURING.md (2 vCPUs, cross-core
kernel round trips ~80-100 us); they are invented, never measured.
"""
import argparse
import json
import math
import random
import statistics
import sys

TRANSPORTS = ("pipe", "fifo", "uds", "uds-seqpacket", "tcp", "shm-boost",
              "shm-ring", "queue")
# transport -> (per-message overhead in us, copy bandwidth in bytes/s)
_COST = {
    "pipe": (80.0, 1.0e9), "fifo": (85.0, 1.0e9), "uds": (90.0, 1.07e9),
    "uds-seqpacket": (88.0, 0.9e9), "tcp": (180.0, 0.9e9),
    "shm-boost": (40.0, 3.0e9), "shm-ring": (0.4, 6.0e9),
    "queue": (95.0, 8.0e9), "py-queue": (160.0, 0.5e9),
}
RT_SIZES = (16, 256, 4096, 65536)
TP_SIZES = (64, 4096, 65536, 1048576)
DICT_KINDS = {"local": ("thread",), "mutex": ("thread",), "shm": ("process",),
              "manager-uds": ("process",), "manager-tcp": ("process",),
              "manager-pipe": ("process",)}
# kind -> lookups/s of one reader, and how well it scales (1 = linear)
_DICT = {"local": (4.0e7, 1.0), "mutex": (1.0e7, 0.3), "shm": (2.0e7, 0.9),
         "manager-uds": (1.1e4, 0.6), "manager-tcp": (6.0e3, 0.6),
         "manager-pipe": (1.2e4, 0.5)}
FAMILIES = {"unix": (90.0, 1.07e9, 2.5e4), "unix-abstract": (88.0, 1.07e9, 2.8e4),
            "tcp": (180.0, 0.9e9, 1.2e4)}
_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

ALL_SCENARIOS = ("roundtrip", "throughput", "dict", "connection",
                 "connection-roundtrip", "connection-setup", "floor", "startup")


def context_block(commit="3f9c2ab", kernel="6.1.0-27-cloud-amd64",
                  date="2026-11-23T05:53:52+00:00", host="vm"):
    """The "context" object: Google Benchmark's keys plus ipcbench's."""
    return {
        "date": date, "host_name": host, "executable": "build/ipcbench",
        "num_cpus": 2, "mhz_per_cpu": 2596, "cpu_scaling_enabled": False,
        "caches": [
            {"type": "Data", "level": 1, "size": 32768, "num_sharing": 1},
            {"type": "Instruction", "level": 1, "size": 32768,
             "num_sharing": 1},
            {"type": "Unified", "level": 2, "size": 524288, "num_sharing": 1},
            {"type": "Unified", "level": 3, "size": 33554432,
             "num_sharing": 2},
        ],
        "load_avg": [0.71, 0.52, 0.4],
        "library_build_type": "debug",
        "ipcbench_schema": "1", "kernel": kernel,
        "cpu_model": "AMD EPYC 7B13 64-Core Processor",
        "compiler": "g++ 12.2.0", "build_type": "Release",
        "git_commit": commit, "pin": "none",
        "not_measured": "posix-mq: not measured: 65536-byte messages exceed its limit of "
                        "8192 bytes (2 benchmarks)",
    }


class _Builder:
    """Appends entries the way Google Benchmark's JSONReporter orders them."""

    def __init__(self, rng, repetitions, aggregates):
        self.rng = rng
        self.reps = repetitions
        self.aggregates = aggregates
        self.entries = []
        self.family = 0

    def add(self, run_name, seconds, unit="ns", items=1.0, nbytes=None,
            counters=None, error=None, timing="real_time", noise=0.12):
        """One benchmark: per-repetition entries plus aggregates."""
        name = f"{run_name}/{timing}"
        common = {"family_index": self.family, "per_family_instance_index": 0,
                  "run_name": name}
        self.family += 1
        runs = []
        for rep in range(self.reps):
            entry = {"name": name, **common, "run_type": "iteration",
                     "repetitions": self.reps, "repetition_index": rep,
                     "threads": 1}
            if error:
                entry.update({"error_occurred": True, "error_message": error,
                              "iterations": 0, "real_time": 0.0,
                              "cpu_time": 0.0, "time_unit": unit})
                self.entries.append(entry)
                continue
            t = seconds * math.exp(self.rng.gauss(0.0, noise))
            iters = max(1, int(0.5 / t))
            vals = {"real_time": t / _UNIT[unit],
                    "cpu_time": t / _UNIT[unit] * 0.35}
            if nbytes is not None:
                vals["bytes_per_second"] = nbytes / t
            vals["items_per_second"] = items / t
            for key, val in (counters or {}).items():
                vals[key] = val * math.exp(self.rng.gauss(0.0, noise))
            runs.append(vals)
            entry.update({"iterations": iters, "real_time": vals["real_time"],
                          "cpu_time": vals["cpu_time"], "time_unit": unit})
            for key, val in vals.items():
                if key not in ("real_time", "cpu_time"):
                    entry[key] = val
            self.entries.append(entry)
        if error or self.reps < 2 or not self.aggregates:
            return
        keys = list(runs[0])
        for agg in ("mean", "median", "stddev", "cv"):
            entry = {"name": f"{name}_{agg}", **common, "run_type": "aggregate",
                     "repetitions": self.reps, "threads": 1,
                     "aggregate_name": agg,
                     "aggregate_unit": "percentage" if agg == "cv" else "time",
                     "iterations": self.reps}
            for key in keys:
                col = [r[key] for r in runs]
                mean = statistics.fmean(col)
                std = statistics.stdev(col)
                entry[key] = {"mean": mean, "median": statistics.median(col),
                              "stddev": std, "cv": std / mean}[agg]
                if key == "cpu_time":
                    entry["time_unit"] = unit
            # keep GB's key order: iterations, real_time, cpu_time, time_unit
            ordered = {k: entry[k] for k in entry
                       if k not in keys and k != "time_unit"}
            ordered["real_time"] = entry["real_time"]
            ordered["cpu_time"] = entry["cpu_time"]
            ordered["time_unit"] = unit
            ordered.update({k: entry[k] for k in keys
                            if k not in ("real_time", "cpu_time")})
            self.entries.append(ordered)


def make_results(seed=1, repetitions=3, aggregates=True,
                 contexts=("thread", "process"), scenarios=ALL_SCENARIOS,
                 errored=True, python_ref=False, unknown=False, scale=1.0,
                 commit="3f9c2ab", date="2026-11-23T05:53:52+00:00",
                 host="vm"):
    """A whole results document; `scale` multiplies every time."""
    rng = random.Random(seed)
    b = _Builder(rng, repetitions, aggregates)
    timing = {"thread": "real_time", "process": "manual_time",
              "spawn": "manual_time"}
    ctx_cost = {"thread": 0.9, "process": 1.0, "spawn": 1.05}
    if "roundtrip" in scenarios:
        subjects = TRANSPORTS + (("py-queue",) if python_ref else ())
        for tr in subjects:
            for ctx in contexts:
                if tr in ("queue", "py-queue") and ctx != "thread":
                    continue
                over, bw = _COST[tr]
                for size in RT_SIZES:
                    sec = (over * 1e-6 + 2 * size / bw) * ctx_cost[ctx] * scale
                    err = None
                    if errored and (tr, ctx, size) == ("tcp", "process", 65536):
                        err = "recv: Connection reset by peer"
                    b.add(f"roundtrip/{tr}/{ctx}/size:{size}", sec, unit="us",
                          counters={"p50_ns": sec * 0.95e9,
                                    "p99_ns": sec * 2.5e9},
                          error=err, timing=timing[ctx])
    if "throughput" in scenarios:
        for tr in TRANSPORTS:
            for ctx in contexts:
                if tr == "queue" and ctx != "thread":
                    continue
                over, bw = _COST[tr]
                for size in TP_SIZES:
                    sec = (over * 1e-8 + size / bw) * ctx_cost[ctx] * scale
                    err = None
                    if (tr == "uds-seqpacket" and size == 1048576 and errored):
                        err = "send uds-seqpacket: Message too long"
                    b.add(f"throughput/{tr}/{ctx}/size:{size}", sec,
                          nbytes=size, error=err, timing=timing[ctx])
        for size in TP_SIZES:
            sec = (5e-9 + size / 12e9) * scale
            b.add(f"throughput/memcpy/thread/size:{size}", sec, nbytes=size)
    if "dict" in scenarios:
        for kind, ctxs in DICT_KINDS.items():
            one, scaling = _DICT[kind]
            for ctx in ctxs:
                if ctx not in contexts:
                    continue
                for readers in (1, 2, 4):
                    total = one * (1 + scaling * (readers - 1)) / scale
                    b.add(f"dict/{kind}/{ctx}/readers:{readers}", 1.0 / total,
                          counters={"lookups_per_reader": total / readers},
                          timing=timing[ctx])
    if "connection" in scenarios:
        for fam, (over, bw, _) in FAMILIES.items():
            for ctx in contexts:
                for size in TP_SIZES:
                    sec = (over * 1e-8 + size / bw) * ctx_cost[ctx] * scale
                    b.add(f"connection/{fam}/{ctx}/size:{size}", sec,
                          nbytes=size, timing=timing[ctx])
    if "connection-roundtrip" in scenarios:
        for fam, (over, bw, _) in FAMILIES.items():
            for ctx in contexts:
                sec = (over * 1e-6 + 128 / bw) * ctx_cost[ctx] * scale
                b.add(f"connection-roundtrip/{fam}/{ctx}/size:64", sec,
                      unit="us", timing=timing[ctx])
    if "connection-setup" in scenarios:
        for fam, (_, _, rate) in FAMILIES.items():
            for ctx in contexts:
                b.add(f"connection-setup/{fam}/{ctx}",
                      scale / rate / ctx_cost[ctx], unit="us",
                      timing=timing[ctx])
    if "floor" in scenarios:
        floor = {"cacheline": 0.065e-6, "futex": 85e-6, "pipe-raw": 80e-6,
                 "uds-raw": 88e-6}
        for kind, sec in floor.items():
            for ctx in contexts:
                b.add(f"floor/{kind}/{ctx}", sec * scale, timing=timing[ctx])
        for size in TP_SIZES:
            b.add(f"floor/memcpy/thread/size:{size}",
                  (5e-9 + size / 12e9) * scale, nbytes=size)
    if "startup" in scenarios:
        for ctx, base in (("thread", 25e-6), ("process", 180e-6),
                          ("spawn", 900e-6)):
            if ctx not in contexts and ctx != "thread":
                continue
            for tr in ("pipe", "shm-ring"):
                b.add(f"startup/{ctx}/{tr}", base * scale * 1.1, unit="us")
        for rss in (1, 64, 256):
            b.add(f"startup/process/rss:{rss}",
                  (180e-6 + rss * 2.5e-6) * scale, unit="us")
    if unknown:
        b.add("mystery/widget/thread/size:8", 1e-6)
    return {"context": context_block(commit=commit, date=date, host=host),
            "benchmarks": b.entries}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="where to write the JSON")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every time (e.g. 1.2 = 20%% slower)")
    parser.add_argument("--commit", default="3f9c2ab")
    parser.add_argument("--contexts", default="thread,process")
    parser.add_argument("--python-ref", action="store_true")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    doc = make_results(seed=args.seed, repetitions=args.repetitions,
                       scale=args.scale, commit=args.commit,
                       contexts=tuple(args.contexts.split(",")),
                       python_ref=args.python_ref)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
