#!/usr/bin/python3
"""Final leak check: nothing of ipcbench's is left after the test suite.

Looks in /dev/shm, /tmp and /dev/mqueue (or the --dir given), at the System V
message queues (/proc/sysvipc/msg, what `ipcs -q` shows) and at every process,
and fails (exit 1, one stderr line per leftover) on:

  * an entry named ipcbench-<pid>-* whose owner process is gone (nobody will
    remove it: a leak), or whose owner is a process of this test session;
    the same for a System V queue whose key is of ipcbench's form for <pid>
    (ipc/os/queue_names.hpp: 0x5 in bits 28-31, the pid in bits 6-27);
  * any other ipcbench-* entry (e.g. ipcbench-pyref-*) changed since --since;
  * a live process of this test session: one whose environment holds
    IPCBENCH_LEAK_MARKER=<--marker> (test.sh exports it, so every ipcbench,
    ipc_tests, peer and script it starts carries it);
  * iceoryx's fixed names (/dev/shm/iceoryx_mgmt, /tmp/roudi, ...) while no
    iox-roudi process runs: what a RouDi killed before it could clean up leaves
    (ipcbench starts its own RouDi for the iceoryx transports);
  * with --strict (a machine of its own, e.g. CI): any ipcbench-* entry and
    any process named ipcbench or ipc_tests, whoever started it.

Without --strict, entries and processes of other live runs on a shared machine
are left alone. Exit status: 0 clean, 1 leftovers found, 2 bad arguments.

    marker=$(date +%s%N); export IPCBENCH_LEAK_MARKER=$marker; start=$(date +%s)
    ...tests...
    tests/leak_check.py --marker "$marker" --since "$start"
"""

import argparse
import os
import re
import sys

MARKER_VAR = "IPCBENCH_LEAK_MARKER"
DIRS = ("/dev/shm", "/tmp", "/dev/mqueue")
SYSV_TABLE = "/proc/sysvipc/msg"
SYSV_KEY_TAG = 0x5
OWNED = re.compile(r"ipcbench-([0-9]+)-.+")
PROCESS_NAMES = ("ipcbench", "ipc_tests")
# What iceoryx 2.0's RouDi creates at fixed names (its data segment is named after the
# user's group: "/dev/shm/<group>", checked only in /dev/shm listings that hold the others).
ICEORYX_NAMES = ("/dev/shm/iceoryx_mgmt", "/tmp/roudi", "/tmp/roudi.lock",
                 "/tmp/iox-unique-roudi.lock")


class UsageError(Exception):
    """A bad command line."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    p = Parser(prog="leak_check.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--marker", default=None,
                   help=f"this session's {MARKER_VAR} value")
    p.add_argument("--since", type=float, default=None, metavar="EPOCH",
                   help="flag ipcbench-* entries without a pid changed since")
    p.add_argument("--strict", action="store_true",
                   help="any ipcbench-* entry or ipcbench process is a leak")
    p.add_argument("--dir", action="append", default=None, metavar="DIR",
                   help="where to look (repeatable; default /dev/shm, /tmp, /dev/mqueue)")
    p.add_argument("--sysv-table", default=SYSV_TABLE, metavar="FILE",
                   help=f"the System V queue table (default {SYSV_TABLE})")
    return p


def alive(pid):
    """True if a process with this pid exists (zombies included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_proc(pid, name):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def processes():
    """Yields (pid, comm, state, environ bytes, ppid) of every process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = read_proc(pid, "stat").decode(errors="replace")
        if not stat:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        state, ppid = fields[0], int(fields[1])
        yield pid, comm, state, read_proc(pid, "environ"), ppid


def ancestors():
    """This process and its ancestors: they carry the marker but are not leaks."""
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        stat = read_proc(pid, "stat").decode(errors="replace")
        if not stat:
            break
        pid = int(stat[stat.rfind(")") + 2:].split()[1])
    return out


def session_pids(marker, procs):
    if not marker:
        return set()
    needle = f"{MARKER_VAR}={marker}".encode()
    return {pid for pid, _, _, env, _ in procs if needle in env.split(b"\0")}


def sysv_queues(path):
    """(key, msqid) of every System V message queue in the table at `path`."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    out = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0].lstrip("-").isdigit() and fields[1].isdigit():
            out.append((int(fields[0]) & 0xFFFFFFFF, int(fields[1])))
    return out


def sysv_owner(key):
    """The pid an ipcbench queue key encodes, or None if the key is not of that form."""
    if key >> 28 != SYSV_KEY_TAG:
        return None
    return (key >> 6) & 0x3FFFFF


def find_leaks(dirs, marker=None, since=None, strict=False, procs=None,
               sysv_table=SYSV_TABLE):
    """Returns one line per leftover (entries, then queues, then processes)."""
    procs = list(processes()) if procs is None else procs
    ours = session_pids(marker, procs) - ancestors()
    leaks = []
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if not name.startswith("ipcbench-"):
                continue
            path = os.path.join(d, name)
            m = OWNED.fullmatch(name)
            if m:
                owner = int(m.group(1))
                if not alive(owner):
                    leaks.append(f"{path}: left behind (owner {owner} is gone)")
                elif owner in ours:
                    leaks.append(f"{path}: still there (owner {owner} is a leftover "
                                 "process of this session)")
                elif strict:
                    leaks.append(f"{path}: still there (owner {owner} is running)")
                continue
            try:
                changed = os.lstat(path).st_ctime
            except OSError:
                continue
            if strict or (since is not None and changed >= since):
                leaks.append(f"{path}: left behind")
    for key, msqid in sysv_queues(sysv_table) if sysv_table else []:
        owner = sysv_owner(key)
        if owner is None:
            continue
        what = f"System V message queue key 0x{key:08x} (msqid {msqid})"
        if not alive(owner):
            leaks.append(f"{what}: left behind (owner {owner} is gone)")
        elif owner in ours:
            leaks.append(f"{what}: still there (owner {owner} is a leftover process "
                         "of this session)")
        elif strict:
            leaks.append(f"{what}: still there (owner {owner} is running)")
    if not any(comm == "iox-roudi" for _, comm, _, _, _ in procs):
        for path in ICEORYX_NAMES:
            if os.path.dirname(path) in dirs and os.path.lexists(path):
                leaks.append(f"{path}: left behind by a RouDi that is gone")
    for pid, comm, state, _, _ in procs:
        if pid in ours:
            leaks.append(f"process {pid} ({comm}, state {state}): still running")
        elif strict and comm in PROCESS_NAMES and pid not in ancestors():
            leaks.append(f"process {pid} ({comm}, state {state}): still running")
    return leaks


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        print(f"leak_check.py: error: {e}", file=sys.stderr)
        return 2
    leaks = find_leaks(args.dir or DIRS, args.marker, args.since, args.strict,
                       sysv_table=args.sysv_table)
    for line in leaks:
        print(f"leak_check.py: leak: {line}", file=sys.stderr)
    if leaks:
        print(f"leak_check.py: {len(leaks)} leftover(s)", file=sys.stderr)
        return 1
    print("leak_check.py: nothing left behind", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
