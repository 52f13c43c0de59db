"""THE atomic writers: a file appears complete or not at all (written to a
temporary file in the same directory, then renamed)."""
import os
import tempfile

from ipcbench_tools.errors import InputError


def umask():
    """The process umask (read without changing it for long)."""
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_files(directory, files, make_dir=False):
    """Write {name: str | bytes} into directory all-or-nothing: every file
    goes to a temporary name first and is renamed only when all were
    written (make_dir: create the directory first). Raises InputError with
    one line on failure."""
    temps = {}
    try:
        if make_dir:
            os.makedirs(directory, exist_ok=True)
        for name, data in files.items():
            target = os.path.join(directory, name)
            if os.path.isdir(target):
                raise InputError(f"{target}: is a directory")
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp",
                                       prefix=f".{os.path.basename(name)}.")
            temps[target] = tmp
            mode = "wb" if isinstance(data, bytes) else "w"
            with os.fdopen(fd, mode, **({} if mode == "wb" else
                                        {"encoding": "utf-8"})) as f:
                f.write(data)
            os.chmod(tmp, 0o666 & ~umask())
        for target, tmp in temps.items():
            os.replace(tmp, target)
    except OSError as e:
        where = e.filename or directory
        raise InputError(f"{where}: cannot write: {e.strerror or e}") \
            from None
    finally:
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)


def write_file(path, data):
    """Write one file (str or bytes) atomically."""
    directory, name = os.path.split(os.path.abspath(path))
    write_files(directory, {name: data})
