"""THE loader and validator of Google Benchmark 1.7.1 JSON result files.

load() reads and checks a file (one-line InputError on anything unusable);
run_name() gives the benchmark an entry belongs to (aggregate suffixes and
the trailing /real_time or /manual_time removed); entry_seconds() converts
an entry's time to seconds.
"""
import json
from pathlib import Path

from ipcbench_tools.errors import InputError
from ipcbench_tools.stats import is_number

# Seconds per Google Benchmark time_unit.
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# What Google Benchmark appends to a name for how time is measured.
TIME_SUFFIXES = ("real_time", "manual_time", "process_time")
AGGREGATES = ("mean", "median", "stddev", "cv")


def parse(text, label):
    """Text of a results file -> document; raises InputError."""
    if not text.strip():
        raise InputError(f"{label}: empty file, not Google Benchmark JSON")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        cut = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated")
        what = "truncated JSON" if cut else "not valid JSON"
        raise InputError(f"{label}: {what} (line {e.lineno}, column "
                         f"{e.colno}: {e.msg})") from None
    except RecursionError:
        raise InputError(f"{label}: not valid JSON (nested too deeply)") \
            from None
    return validate(doc, label)


def validate(doc, label, context=False):
    """Check the shape of a document: a "benchmarks" list of objects with a
    name (and, with context=True, a "context" object). Returns doc."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"),
                                                   list):
        raise InputError(f'{label}: not Google Benchmark JSON (no '
                         f'"benchmarks" list)')
    for i, entry in enumerate(doc["benchmarks"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"),
                                                         str):
            raise InputError(f"{label}: benchmarks[{i}] is not a benchmark "
                             f"object with a name")
    if context and not isinstance(doc.get("context"), dict):
        raise InputError(f'{label}: not Google Benchmark JSON (no '
                         f'"context")')
    return doc


def load(path, context=False):
    """Read and validate a Google Benchmark JSON file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a JSON file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    doc = parse(text, path)
    return validate(doc, path, context)


def load_plain(path):
    """Read any JSON file (e.g. data/processing-2008.json)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: "
                         f"{getattr(e, 'strerror', None) or e}") from None
    if not text.strip():
        raise InputError(f"{path}: empty file")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None


def run_name(entry):
    """The benchmark an entry belongs to, without the time suffix: the
    run_name, or the name less its _<aggregate> suffix."""
    name = entry.get("run_name")
    if not isinstance(name, str) or not name:
        name = entry["name"]
        agg = entry.get("aggregate_name")
        if entry.get("run_type") == "aggregate":
            for suffix in ([agg] if isinstance(agg, str) else []) + \
                    list(AGGREGATES):
                if name.endswith("_" + suffix):
                    name = name[:-len(suffix) - 1]
                    break
    parts = name.split("/")
    if len(parts) > 1 and parts[-1] in TIME_SUFFIXES:
        parts = parts[:-1]
    return "/".join(parts)


def is_iteration(entry):
    return entry.get("run_type", "iteration") == "iteration"


def is_aggregate(entry, name):
    return entry.get("run_type") == "aggregate" and \
        entry.get("aggregate_name") == name


def entry_seconds(entry, field="real_time"):
    """An entry's time field in seconds; raises ValueError (unknown unit, or
    not a finite number)."""
    unit = entry.get("time_unit", "ns")
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown time_unit {unit!r}")
    value = entry.get(field)
    if not is_number(value):
        raise ValueError(f"{field} missing or not a number")
    return value * TIME_UNITS[unit]
