"""THE history store: one SQLite file (Python's sqlite3, no server),
results/history.sqlite by default.

Tables: machines (fingerprint -> CPU model, CPUs, kernel, host), runs (one
per results file, unique by content digest; machine, commit, the commit's
time from git, date, source file) and samples (every repetition: run,
benchmark, placement, repetition, real and CPU time in ns, iterations,
counters as JSON).

add() writes all its runs in ONE transaction taken with BEGIN IMMEDIATE
(SQLite's write lock; other writers wait up to LOCK_TIMEOUT_S): concurrent
adds are serialised, a run already present (same digest) is skipped, and a
failure rolls everything back. Readers open the file read-only.
"""
import contextlib
import dataclasses
import datetime
import json
import os
import re
import sqlite3

from ipcbench_tools.errors import InputError

SCHEMA_VERSION = "1"
LOCK_TIMEOUT_S = 120
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines (
  id TEXT PRIMARY KEY, cpu_model TEXT NOT NULL, num_cpus INTEGER NOT NULL,
  kernel TEXT NOT NULL, host TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  digest TEXT NOT NULL UNIQUE,
  machine TEXT NOT NULL REFERENCES machines(id),
  git_commit TEXT NOT NULL,
  commit_time INTEGER,
  date TEXT NOT NULL,
  timestamp REAL NOT NULL,
  source TEXT NOT NULL,
  executable TEXT NOT NULL, build_type TEXT NOT NULL, compiler TEXT NOT NULL,
  errored TEXT NOT NULL,
  added TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_machine ON runs(machine);
CREATE TABLE IF NOT EXISTS samples (
  run INTEGER NOT NULL REFERENCES runs(id),
  benchmark TEXT NOT NULL,
  placement TEXT NOT NULL,
  repetition INTEGER NOT NULL,
  real_ns REAL NOT NULL,
  cpu_ns REAL,
  iterations INTEGER,
  kind TEXT NOT NULL,
  counters TEXT,
  PRIMARY KEY (run, benchmark, placement, repetition)) WITHOUT ROWID;
"""


@contextlib.contextmanager
def _errors(path):
    """sqlite3 errors -> one-line InputError naming the file."""
    try:
        yield
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise InputError(f"{path}: locked by another writer for more "
                             f"than {LOCK_TIMEOUT_S} s") from None
        raise InputError(f"{path}: {e}") from None
    except sqlite3.DatabaseError as e:
        raise InputError(f"{path}: not a history database ({e})") from None


def _connect(path, readonly):
    if readonly:
        if not os.path.exists(path):
            raise InputError(f"{path}: no history yet (scripts/history.py "
                             "add FILE... creates it)")
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory, not a history file")
        uri = "file:" + os.path.abspath(path).replace("?", "%3f").replace(
            "#", "%23") + "?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT_S,
                              isolation_level=None)
    else:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory, not a history file")
        con = sqlite3.connect(path, timeout=LOCK_TIMEOUT_S,
                              isolation_level=None)
    con.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_S * 1000}")
    return con


def _check_schema(con, path):
    row = con.execute("SELECT value FROM meta WHERE key = 'schema'") \
        .fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        found = "none" if row is None else row[0]
        raise InputError(f"{path}: history schema {found}, this "
                         f"history.py reads {SCHEMA_VERSION}")


def open_read(path):
    """A read-only connection to an existing history (InputError when it
    is missing or not one)."""
    with _errors(path):
        con = _connect(path, readonly=True)
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                raise InputError(f"{path}: not a history database (no meta "
                                 "table)")
            _check_schema(con, path)
        except BaseException:
            con.close()
            raise
    return con


def add(path, runs, sources):
    """Store runs (ingest.Run, with sources[i] the file each came from) in
    one transaction. Returns [(source, run, "added" | "present")]."""
    with _errors(path):
        con = _connect(path, readonly=False)
    out = []
    try:
        with _errors(path):
            con.execute("BEGIN IMMEDIATE")
            try:
                # One statement at a time: executescript() would commit.
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute("INSERT OR IGNORE INTO meta VALUES "
                            "('schema', ?)", (SCHEMA_VERSION,))
                _check_schema(con, path)
                for run, source in zip(runs, sources):
                    out.append((source, run, _add_run(con, run, source)))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    finally:
        con.close()
    return out


def _add_run(con, run, source):
    if con.execute("SELECT 1 FROM runs WHERE digest = ?",
                   (run.digest,)).fetchone():
        return "present"
    m = run.machine
    con.execute("INSERT OR IGNORE INTO machines VALUES (?, ?, ?, ?, ?)",
                (m.id, m.cpu_model, m.num_cpus, m.kernel, m.host))
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    cur = con.execute(
        "INSERT INTO runs (digest, machine, git_commit, commit_time, date, "
        "timestamp, source, executable, build_type, compiler, errored, "
        "added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run.digest, m.id, run.commit, run.commit_time, run.date,
         run.timestamp, str(source), run.executable, run.build_type,
         run.compiler, json.dumps(run.errored), now))
    run_id = cur.lastrowid
    con.executemany(
        "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, s.benchmark, s.placement, s.repetition, s.real_ns,
          s.cpu_ns, s.iterations, s.kind, s.counters)
         for s in run.samples])
    return "added"


@dataclasses.dataclass
class MachineInfo:
    id: str
    cpu_model: str
    num_cpus: int
    kernel: str
    host: str
    runs: int = 0
    commits: int = 0

    def label(self):
        return (f"{self.cpu_model}, {self.num_cpus} CPUs, {self.kernel}, "
                f"host {self.host}")


def machines(con):
    """Every machine with its number of runs and commits, most runs first."""
    rows = con.execute(
        "SELECT m.id, m.cpu_model, m.num_cpus, m.kernel, m.host, "
        "COUNT(r.id), COUNT(DISTINCT r.git_commit) FROM machines m "
        "LEFT JOIN runs r ON r.machine = m.id GROUP BY m.id "
        "ORDER BY COUNT(r.id) DESC, m.id").fetchall()
    return [MachineInfo(*r) for r in rows]


def pick_machines(con, path, selector=None):
    """The machines a command works on: all, or the one whose id starts
    with selector or whose description contains it (case-insensitive).
    InputError when none or several match."""
    every = [m for m in machines(con) if m.runs]
    if not every:
        raise InputError(f"{path}: the history holds no runs")
    if selector is None:
        return every
    sel = selector.lower()
    hits = [m for m in every if m.id.startswith(sel)] or \
        [m for m in every if sel in m.label().lower()]
    if not hits:
        raise InputError(f"--machine {selector}: no such machine in {path} "
                         f"(have: {', '.join(m.id for m in every)})")
    if len(hits) > 1:
        raise InputError(f"--machine {selector}: matches "
                         f"{len(hits)} machines ({', '.join(m.id for m in hits)})"
                         f"; give more of an id")
    return hits


def display_name(benchmark, placement):
    """The name as ipcbench writes it: /pin:<p> unless the placement is
    none (the default, which old runs and unpinned scenarios leave out)."""
    return benchmark if placement == "none" else \
        f"{benchmark}/pin:{placement}"


PLACEMENTS = ("none", "cross", "same")


def name_order(benchmark, placement):
    """Benchmarks as a reader scans them: numbers as numbers (size:64
    before size:4096), then the placement (none, cross, same)."""
    parts = tuple((0, int(t), "") if t.isdigit() else (1, 0, t)
                  for t in re.split(r"(\d+)", benchmark) if t)
    pin = PLACEMENTS.index(placement) if placement in PLACEMENTS else \
        len(PLACEMENTS)
    return parts, pin, placement


@dataclasses.dataclass
class Commit:
    name: str             # as in the runs' context ("-dirty" kept)
    time: int             # committer time from git, None when unknown
    first_run: float      # earliest run date (Unix s)
    runs: int = 0


@dataclasses.dataclass
class Series:
    """One benchmark in one placement on one machine: the repetitions of
    every commit that measured it, in commit order."""
    benchmark: str
    placement: str
    commits: list         # commit names, in order
    values: list          # per commit: list of real_ns

    @property
    def name(self):
        return display_name(self.benchmark, self.placement)


@dataclasses.dataclass
class MachineHistory:
    machine: MachineInfo
    commits: list         # Commit, in commit order
    series: list          # Series, by name


def commit_order(commits):
    """Commits sorted as they were made: by committer time (git, when the
    repository knew the commit when it was added), else by the date of
    their first run; a '-dirty' tree right after its commit."""
    def key(c):
        when = c.time if c.time is not None else c.first_run
        return (when, c.name.endswith("-dirty"), c.first_run, c.name)
    return sorted(commits, key=key)


def load(con, machine, pattern=None):
    """MachineHistory of one machine (MachineInfo); pattern: a compiled
    regex matched (search) against each series' display name."""
    commits = {}
    for name, ctime, first, n in con.execute(
            "SELECT git_commit, MAX(commit_time), MIN(timestamp), COUNT(*) "
            "FROM runs WHERE machine = ? GROUP BY git_commit",
            (machine.id,)):
        commits[name] = Commit(name, ctime, first, n)
    ordered = commit_order(commits.values())
    index = {c.name: i for i, c in enumerate(ordered)}
    values = {}
    for commit, bench, placement, real in con.execute(
            "SELECT r.git_commit, s.benchmark, s.placement, s.real_ns "
            "FROM samples s JOIN runs r ON r.id = s.run "
            "WHERE r.machine = ? ORDER BY r.timestamp, r.id, s.repetition",
            (machine.id,)):
        if pattern is not None and not pattern.search(
                display_name(bench, placement)):
            continue
        per = values.setdefault((bench, placement), {})
        per.setdefault(commit, []).append(real)
    series = []
    for (bench, placement), per in sorted(
            values.items(), key=lambda kv: name_order(*kv[0])):
        names = sorted(per, key=index.get)
        series.append(Series(bench, placement, names,
                             [per[c] for c in names]))
    return MachineHistory(machine, ordered, series)


def export_rows(con, machine_ids, pattern=None):
    """Every sample of the given machines as flat dicts, in run order."""
    marks = ",".join("?" * len(machine_ids))
    cols = ("machine", "cpu_model", "num_cpus", "kernel", "host", "run",
            "commit", "commit_time", "date", "source", "benchmark",
            "placement", "repetition", "kind", "real_ns", "cpu_ns",
            "iterations", "counters")
    for row in con.execute(
            "SELECT m.id, m.cpu_model, m.num_cpus, m.kernel, m.host, r.id, "
            "r.git_commit, r.commit_time, r.date, r.source, s.benchmark, "
            "s.placement, s.repetition, s.kind, s.real_ns, s.cpu_ns, "
            "s.iterations, s.counters FROM samples s "
            "JOIN runs r ON r.id = s.run JOIN machines m ON m.id = r.machine "
            f"WHERE m.id IN ({marks}) "
            "ORDER BY r.timestamp, r.id, s.benchmark, s.placement, "
            "s.repetition", list(machine_ids)):
        rec = dict(zip(cols, row))
        if pattern is not None and not pattern.search(
                display_name(rec["benchmark"], rec["placement"])):
            continue
        yield rec


def summary(path):
    """(runs, commits, machines) of a history file, or None when there is
    none or it cannot be read (for plot.py's report)."""
    try:
        con = open_read(path)
    except InputError:
        return None
    try:
        with _errors(path):
            runs, commits, machines_ = con.execute(
                "SELECT COUNT(*), COUNT(DISTINCT git_commit), "
                "COUNT(DISTINCT machine) FROM runs").fetchone()
    except InputError:
        return None
    finally:
        con.close()
    return runs, commits, machines_
