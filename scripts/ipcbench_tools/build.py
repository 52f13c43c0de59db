"""Building ipcbench for the A/B gate: a revision (git archive into
build-ab/rev-<sha>/) or the working tree (build-ab/work/), Release, target
ipcbench only, output logged to a file. A baseline that cannot be had
raises SkipGate (ab.py --skip-if-base-fails passes on it) when it does not
build; a revision that does not exist is an error (GateError), never a skip:
a typo must not turn the gate off."""
import os
import shutil
import subprocess

from ipcbench_tools import verdict


class SkipGate(verdict.GateError):
    """The baseline is unavailable (no revision, no build, no run)."""


def run_logged(cmd, log_path, cwd=None, timeout=1800, env=None):
    """Run cmd with output appended to log_path; return the exit status."""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=log, env=env,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            log.write(f"{e}\n")
            return 127
    return proc.returncode


def last_error_line(log_path):
    """The most telling line of a build log (first 'error', else last)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return "no log"
    for ln in lines:
        if "error" in ln.lower() and not ln.startswith("$ "):
            return ln[:200]
    return lines[-1][:200] if lines else "no output"


def resolve_rev(repo, rev):
    """Full commit sha of rev in repo; GateError if it does not exist."""
    try:
        proc = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--verify", "--quiet",
             rev + "^{commit}"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise verdict.GateError(f"cannot run git: {e}") from None
    if proc.returncode != 0:
        raise verdict.GateError(f"unknown baseline revision {rev!r}: no such "
                                f"commit here (a typo, or a shallow clone "
                                f"without it)")
    return proc.stdout.strip()


def cmake_build(source, build_dir, jobs, log_path, env=None):
    """Configure (Release) and build target ipcbench; return the binary."""
    os.makedirs(build_dir, exist_ok=True)
    if not os.path.exists(os.path.join(source, "CMakeLists.txt")):
        raise verdict.GateError(f"{source}: no CMakeLists.txt")
    configure = ["cmake", "-S", source, "-B", build_dir,
                 "-DCMAKE_BUILD_TYPE=Release", "-DIPCBENCH_BUILD_TESTS=OFF"]
    if run_logged(configure, log_path, env=env) != 0:
        raise verdict.GateError(f"cmake configure failed: "
                             f"{last_error_line(log_path)} (log {log_path})")
    build = ["cmake", "--build", build_dir, "--target", "ipcbench",
             "-j", str(jobs)]
    if run_logged(build, log_path) != 0:
        raise verdict.GateError(f"build failed: {last_error_line(log_path)} "
                             f"(log {log_path})")
    binary = os.path.join(build_dir, "ipcbench")
    if not os.access(binary, os.X_OK):
        raise verdict.GateError(f"build produced no {binary}")
    return binary


def build_revision(repo, sha, root, jobs, progress):
    """Export commit sha with git archive and build it; return binary."""
    top = os.path.join(root, "rev-" + sha[:12])
    src = os.path.join(top, "src")
    stamp = os.path.join(top, "extracted")
    log_path = os.path.join(top, "build.log")
    if not os.path.exists(stamp):
        shutil.rmtree(top, ignore_errors=True)
        os.makedirs(src)
        progress(f"exporting {sha[:12]} to {src}")
        archive = subprocess.Popen(["git", "-C", repo, "archive", sha],
                                   stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "-C", src],
                               stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0 or untar.returncode != 0:
            raise verdict.GateError(f"git archive {sha[:12]} failed")
        open(stamp, "w").close()
    progress(f"building baseline {sha[:12]} (log {log_path})")
    # An exported tree has no .git: keep git (CMake asks it for the commit)
    # from finding the enclosing repository and reporting its HEAD.
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=os.path.abspath(top))
    # The build directory sits inside the exported tree as build/ does in the
    # checkout, so that with ccache (test.sh) every file the two revisions share
    # compiles to the same command line and comes from the cache.
    try:
        return cmake_build(src, os.path.join(src, "build"), jobs, log_path,
                           env)
    except verdict.GateError as e:
        raise SkipGate(f"baseline {sha[:12]} does not build: {e}") from None


def build_tree(repo, root, jobs, progress):
    """Build the working tree in root/work; return the binary."""
    build_dir = os.path.join(root, "work")
    log_path = os.path.join(root, "work.log")
    os.makedirs(root, exist_ok=True)
    progress(f"building working tree (log {log_path})")
    try:
        return cmake_build(repo, build_dir, jobs, log_path)
    except verdict.GateError as e:
        raise verdict.GateError(f"working tree does not build: {e}") from None


# --------------------------------------------------------------------------
# Running
