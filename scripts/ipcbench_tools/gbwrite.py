"""THE writer of Google Benchmark 1.7.1-shaped JSON for runs measured in
Python (scripts/pyref.py): per-repetition entries, the mean / median /
stddev / cv aggregates computed as Google Benchmark does, and the host part
of the "context" object."""
import datetime
import os
import platform
import re
import socket
import subprocess

from ipcbench_tools import stats


def _mean(v):
    return sum(v) / len(v)


def _median(v):
    # Google Benchmark's StatisticsMedian: the mean below three values.
    return _mean(v) if len(v) < 3 else stats.median(v)


def _cv(v):
    # Google Benchmark reports 0, not "unknown", below two values.
    return stats.cv(v) or 0.0


AGGREGATES = (("mean", _mean, "time"), ("median", _median, "time"),
              ("stddev", stats.stdev, "time"), ("cv", _cv, "percentage"))


def iteration_entry(name, family, reps, index, run):
    """One run_type "iteration" entry from a run dict.

    run: iterations, seconds (real), cpu_seconds, and optional
    bytes_per_item plus counters (name -> per-second rate).
    """
    n, secs = run["iterations"], run["seconds"]
    e = {
        "name": name, "family_index": family,
        "per_family_instance_index": 0, "run_name": name,
        "run_type": "iteration", "repetitions": reps,
        "repetition_index": index, "threads": 1,
        "iterations": n,
        "real_time": secs * 1e9 / n,
        "cpu_time": run.get("cpu_seconds", 0.0) * 1e9 / n,
        "time_unit": "ns",
    }
    if run.get("bytes_per_item"):
        e["bytes_per_second"] = n * run["bytes_per_item"] / secs
    e["items_per_second"] = n / secs
    for key in run.get("counters", ()):
        e[key] = n / secs
    return e


def error_entry(name, family, reps, index, message):
    return {
        "name": name, "family_index": family,
        "per_family_instance_index": 0, "run_name": name,
        "run_type": "iteration", "repetitions": reps,
        "repetition_index": index, "threads": 1,
        "error_occurred": True, "error_message": message,
        "iterations": 1, "real_time": 0.0, "cpu_time": 0.0,
        "time_unit": "ns",
    }


def aggregate_entries(iterations):
    """mean/median/stddev/cv entries over successful iteration entries.

    Like Google Benchmark: nothing below two successful runs; every
    numeric field (times, rates, counters) is aggregated on its own.
    """
    ok = [e for e in iterations if not e.get("error_occurred")]
    if len(ok) < 2:
        return []
    first = ok[0]
    fields = ["real_time", "cpu_time"] + [
        k for k in first if k.endswith("_per_second") or k not in
        _FIXED_KEYS]
    out = []
    for agg, fn, unit in AGGREGATES:
        e = {
            "name": f"{first['run_name']}_{agg}",
            "family_index": first["family_index"],
            "per_family_instance_index": 0,
            "run_name": first["run_name"], "run_type": "aggregate",
            "repetitions": first["repetitions"], "threads": 1,
            "aggregate_name": agg, "aggregate_unit": unit,
            "iterations": len(ok),
        }
        for f in fields:
            e[f] = fn([x[f] for x in ok])
            if f == "cpu_time":
                e["time_unit"] = first["time_unit"]
        out.append(e)
    return out


_FIXED_KEYS = {"name", "family_index", "per_family_instance_index",
               "run_name", "run_type", "repetitions", "repetition_index",
               "threads", "iterations", "real_time", "cpu_time",
               "time_unit", "error_occurred", "error_message"}


def benchmark_entries(name, family, reps, outcome):
    """All entries of one benchmark: runs (list of run dicts) or an error."""
    if isinstance(outcome, str):
        return [error_entry(name, family, reps, i, outcome)
                for i in range(reps)]
    its = [iteration_entry(name, family, reps, i, r)
           for i, r in enumerate(outcome)]
    return its + aggregate_entries(its)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _caches():
    out = []
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        dirs = sorted(d for d in os.listdir(base) if d.startswith("index"))
    except OSError:
        return []
    for d in dirs:
        p = os.path.join(base, d)
        size = _read(os.path.join(p, "size")).strip()
        m = re.fullmatch(r"(\d+)([KMG]?)", size)
        if not m:
            continue
        mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m[2]]
        shared = _read(os.path.join(p, "shared_cpu_list")).strip()
        sharing = 0
        for part in filter(None, shared.split(",")):
            lo, _, hi = part.partition("-")
            sharing += int(hi or lo) - int(lo) + 1
        try:
            level = int(_read(os.path.join(p, "level")))
        except ValueError:
            continue
        out.append({"type": _read(os.path.join(p, "type")).strip(),
                    "level": level, "size": int(m[1]) * mult,
                    "num_sharing": sharing or 1})
    return out


def _cpuinfo(key):
    for line in _read("/proc/cpuinfo").splitlines():
        k, _, v = line.partition(":")
        if k.strip() == key:
            return v.strip()
    return ""


def _git_commit(repo):
    """The commit as ipcbench names it (cmake/git_commit.cmake): 12 hex
    digits, "-dirty" when tracked files changed, "unknown" without git;
    the history keys runs by it, so both must agree."""
    try:
        r = subprocess.run(["git", "-C", repo, "rev-parse", "--short=12",
                            "HEAD"], capture_output=True, text=True,
                           timeout=5)
        if r.returncode != 0 or not r.stdout.strip():
            return "unknown"
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    suffix = "-dirty" if dirty.returncode == 0 and dirty.stdout.strip() \
        else ""
    return r.stdout.strip() + suffix


def host_context(executable, repo):
    """Google Benchmark's context fields for this host, plus ipcbench's
    kernel, cpu_model and git_commit."""
    mhz = _cpuinfo("cpu MHz")
    governor = _read(
        "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").strip()
    uname = platform.uname()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": executable,
        "num_cpus": os.cpu_count() or 1,
        "mhz_per_cpu": int(float(mhz)) if mhz else 0,
        "cpu_scaling_enabled": bool(governor) and governor != "performance",
        "caches": _caches(),
        "load_avg": list(os.getloadavg()),
        "library_build_type": "release",
        "kernel": f"{uname.system} {uname.release}",
        "cpu_model": _cpuinfo("model name") or uname.machine,
        "git_commit": _git_commit(repo),
    }
