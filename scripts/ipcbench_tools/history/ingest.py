"""A Google Benchmark JSON document (ipcbench's or scripts/pyref.py's) -> one
Run for the history store.

- machine: a fingerprint of the context (CPU model, CPU count, kernel,
  host type), the same for every run of one machine;
- commit (context "git_commit", "-dirty" kept: a dirty tree is not its
  commit), the commit's time from git when the repository knows it, and
  the run's date (context "date");
- every repetition ("iteration" entry) of every benchmark, with its
  placement: the name's /pin:<p> component (removed from the stored name),
  else the context's single "pin", else "none". A benchmark with no
  repetitions in the file (--benchmark_report_aggregates_only) keeps its
  "median" aggregate as one sample of kind "median". Errored entries are
  counted, not stored.
- digest: sha256 of the context and benchmarks, so adding the same run
  twice (results/latest.json is a copy of the timestamped file) is one run.
"""
import dataclasses
import datetime
import hashlib
import json
import subprocess
from pathlib import Path

from ipcbench_tools import gbjson, names
from ipcbench_tools.errors import InputError
from ipcbench_tools.stats import is_number

REPO = Path(__file__).resolve().parents[3]
# Fields of an entry that are not counters.
STANDARD = {"name", "run_name", "run_type", "family_index",
            "per_family_instance_index", "repetitions", "repetition_index",
            "threads", "iterations", "real_time", "cpu_time", "time_unit",
            "aggregate_name", "aggregate_unit", "error_occurred",
            "error_message", "label"}
UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class Machine:
    """What makes two runs comparable: the same CPU model and count, the
    same kernel (system and release; the architecture word ipcbench adds
    and pyref.py does not is left out) and the same host type (the
    context's host_name unless `history.py add --host` names it, e.g.
    for CI runners whose host names change every job)."""
    cpu_model: str
    num_cpus: int
    kernel: str
    host: str

    @property
    def id(self):
        text = "\x1f".join((self.cpu_model, str(self.num_cpus), self.kernel,
                            self.host))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def label(self):
        return (f"{self.cpu_model}, {self.num_cpus} CPUs, {self.kernel}, "
                f"host {self.host}")


@dataclasses.dataclass
class Sample:
    benchmark: str        # run_name without /pin:<p> and the time suffix
    placement: str        # none | cross | same | ...
    repetition: int       # 0.. in file order, per benchmark and placement
    real_ns: float
    cpu_ns: float         # None when absent
    iterations: int       # None when absent
    kind: str             # "repetition" | "median" (aggregate-only file)
    counters: str         # JSON object of the other numeric fields, or None


@dataclasses.dataclass
class Run:
    digest: str
    machine: Machine
    commit: str
    commit_time: int      # committer time (Unix s) from git, None unknown
    date: str             # the context's date, as written
    timestamp: float      # date as Unix seconds (0 when unknown)
    executable: str
    build_type: str
    compiler: str
    samples: list
    errored: list         # benchmark names whose entries errored
    unusable: int = 0     # repetitions without a usable real_time


def normalize_kernel(text):
    """'Linux 6.1.0 x86_64' and 'Linux 6.1.0' -> 'Linux 6.1.0'."""
    words = str(text).split()
    return " ".join(words[:2]) if words else UNKNOWN


def machine_of(context, host=None):
    cpus = context.get("num_cpus")
    return Machine(
        cpu_model=str(context.get("cpu_model") or UNKNOWN).strip(),
        num_cpus=cpus if isinstance(cpus, int) and not isinstance(cpus, bool)
        else 0,
        kernel=normalize_kernel(context.get("kernel") or UNKNOWN),
        host=str(host or context.get("host_name") or UNKNOWN).strip())


def split_placement(run_name, default):
    """'roundtrip/pipe/process/size:64/pin:cross' -> ('roundtrip/pipe/
    process/size:64', 'cross'); without a pin: component, default."""
    parts = names.strip_config(run_name).split("/")
    pins = [p[4:] for p in parts if p.startswith("pin:")]
    rest = [p for p in parts if not p.startswith("pin:")]
    return "/".join(rest), (pins[-1] if pins else default)


def parse_date(text):
    """ISO 8601 (Google Benchmark's context date) -> Unix seconds, 0.0
    when it cannot be read. A date without a zone is taken as UTC."""
    try:
        when = datetime.datetime.fromisoformat(str(text))
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def digest_of(doc):
    text = json.dumps([doc.get("context"), doc["benchmarks"]],
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def commit_time(commit, repo=REPO):
    """Committer time of commit (a '-dirty' suffix ignored) in the git
    repository repo, or None when git or the commit is not there."""
    rev = commit[:-6] if commit.endswith("-dirty") else commit
    # ipcbench and pyref.py write 12 hex digits; fewer than git's shortest
    # abbreviation (7) could name an unrelated object
    if len(rev) < 7 or not all(c in "0123456789abcdef" for c in rev.lower()):
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "show", "-s", "--format=%ct",
             f"{rev}^{{commit}}"], capture_output=True, text=True,
            timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return int(text) if out.returncode == 0 and text.isdigit() else None


def _ns(entry, field):
    value = entry.get(field)
    unit = entry.get("time_unit", "ns")
    if not is_number(value) or unit not in gbjson.NS_PER_UNIT:
        return None
    return float(value) * gbjson.NS_PER_UNIT[unit]


def _counters(entry):
    kept = {k: v for k, v in entry.items()
            if k not in STANDARD and is_number(v)}
    return json.dumps(kept, sort_keys=True, separators=(",", ":")) \
        if kept else None


def run_of(doc, label, host=None, repo=REPO, resolve=commit_time):
    """A validated Google Benchmark document -> Run; InputError (one line)
    when it holds no usable figure."""
    context = doc.get("context")
    if not isinstance(context, dict):
        raise InputError(f'{label}: not Google Benchmark JSON (no '
                         f'"context")')
    pin = str(context.get("pin") or "none")
    default = pin if "," not in pin else "none"
    samples, errored, medians, counts = [], [], {}, {}
    unusable = 0
    for entry in doc["benchmarks"]:
        bench, placement = split_placement(gbjson.run_name(entry), default)
        key = (bench, placement)
        if entry.get("error_occurred"):
            errored.append(bench if placement == default
                           else f"{bench}/pin:{placement}")
            continue
        if not gbjson.is_iteration(entry):
            if gbjson.is_aggregate(entry, "median") and \
                    entry.get("aggregate_unit", "time") == "time":
                medians[key] = entry
            continue
        real = _ns(entry, "real_time")
        if real is None or real < 0:
            unusable += 1
            continue
        rep = counts.get(key, 0)
        counts[key] = rep + 1
        iters = entry.get("iterations")
        samples.append(Sample(bench, placement, rep, real,
                              _ns(entry, "cpu_time"),
                              int(iters) if is_number(iters) else None,
                              "repetition", _counters(entry)))
    for (bench, placement), entry in medians.items():
        real = _ns(entry, "real_time")
        if (bench, placement) not in counts and real is not None:
            samples.append(Sample(bench, placement, 0, real,
                                  _ns(entry, "cpu_time"), None, "median",
                                  _counters(entry)))
    if not samples:
        why = f"every benchmark errored ({len(errored)})" if errored else \
            "no benchmark repetitions with a real_time"
        raise InputError(f"{label}: nothing to add: {why}")
    commit = str(context.get("git_commit") or UNKNOWN).strip() or UNKNOWN
    date = str(context.get("date") or "")
    return Run(digest=digest_of(doc), machine=machine_of(context, host),
               commit=commit, commit_time=resolve(commit, repo) if resolve
               else None, date=date, timestamp=parse_date(date),
               executable=str(context.get("executable") or ""),
               build_type=str(context.get("build_type") or ""),
               compiler=str(context.get("compiler") or ""),
               samples=samples, errored=sorted(set(errored)),
               unusable=unusable)


def load_run(path, host=None, repo=REPO, resolve=commit_time):
    """Read, validate and convert one results file (InputError on any
    problem: missing, truncated, not Google Benchmark JSON, no figures)."""
    doc = gbjson.load(path, context=True)
    return run_of(doc, str(path), host, repo, resolve)
