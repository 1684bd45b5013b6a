"""The user's own Python files (task files, scripted models), imported into the host once.

A file the user's own code has imported already (the script being run, `__main__`, or a module
it imported) is used as it is, whatever its name: a task or model defined in a script and
handed to the Python API (`selftaught.run(task=...)`) is then the very object the run uses, and
the script is not run a second time when the run loads it. Files only selftaught imported (as
`selftaught_user_*`) are imported afresh on each load (`fresh=True`, task files: an edited file
is read again) or once under their name (scripted models).

`importing()` names the file being imported now in this thread, so that the API can refuse a
run started from a file's top level while that file is being loaded (a script without an
`if __name__ == "__main__":` guard, resumed from the command line).

Every file of the user's that selftaught reads as text is read by `read_source` (Python: a
task file, an evaluator and its seed, an improver, a solution) or `read_text` (config.yaml, a
TOML config, a price file), and every file it imports is checked by `file_problem` first: only
a regular file is read (a FIFO would block the read forever, a device would never end), never
more than `MAX_FILE_BYTES`, and decoded as Python decodes it (source: by its coding declaration,
else UTF-8; a leading byte-order mark dropped). What is wrong is a `UserFileError` of one
line, which the caller words as its own kind of error.
"""

from __future__ import annotations

import errno
import importlib.util
import io
import os
import stat
import sys
import threading
import tokenize
from pathlib import Path
from types import ModuleType

_state = threading.local()


PREFIX = "selftaught_user_"
MAX_FILE_BYTES = 16 * 2**20  # far past any real task, improver or config; a bound on memory
KINDS = {
    stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
}  # fmt: skip


class UserFileError(ValueError):
    """A user's file that cannot be read: one line naming the file and what is wrong."""


def file_problem(path: str | os.PathLike) -> str | None:
    """What keeps `path` from being read as a user's file ("not found; check the path", "is a
    FIFO, not a regular file; ...", ...), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _os_problem(exc)
    return _kind_problem(mode)


def read_text(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> str:
    """The text of the regular file `path` (at most `limit` bytes): UTF-8, a leading BOM
    dropped. UserFileError otherwise."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserFileError(
            f"{os.fspath(path)} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def read_source(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> str:
    """The Python source in the regular file `path`, decoded as Python decodes it: by its
    coding declaration (PEP 263), else UTF-8, a leading BOM dropped. UserFileError otherwise."""
    data = read_bytes(path, limit)
    try:
        encoding, _lines = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding).removeprefix("\ufeff")
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise UserFileError(f"{os.fspath(path)} is not Python source text: {exc}") from None


def read_bytes(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file `path`, at most `limit`; UserFileError otherwise. It is
    opened without blocking and checked once open (a FIFO swapped in after a check is caught)."""
    where = os.fspath(path)
    try:
        fd = os.open(where, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UserFileError(f"{where} {_os_problem(exc)}") from None
    with os.fdopen(fd, "rb") as handle:
        problem = _kind_problem(os.fstat(fd).st_mode)
        if problem is not None:
            raise UserFileError(f"{where} {problem}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UserFileError(f"{where} is over {limit:,} bytes; selftaught reads no larger file")
    return data


def _kind_problem(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kind = KINDS.get(stat.S_IFMT(mode), "a special file")
    return f"is {kind}, not a regular file; give the path of a file"


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link loop; give the path of a file"
    if exc.errno == errno.ENOENT:
        return "not found; check the path"
    return f"cannot be read: {exc.strerror or exc}"


def import_file(path: Path, name: str, *, fresh: bool = False) -> ModuleType:
    """The module of the file `path`: the one the user's code imported from it, else (unless
    `fresh`) the one imported before as `name`, else imported now as `name`. Whatever the file
    raises propagates (the caller says which kind of file failed)."""
    loaded = already_imported(path)
    if loaded is not None:
        return loaded
    if not fresh and name in sys.modules:
        return sys.modules[name]
    problem = file_problem(path)
    if problem is not None:  # Python's own import would wait on a FIFO forever
        raise UserFileError(f"{path} {problem}")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}; is it a Python file?")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up
    outer = getattr(_state, "path", None)
    _state.path = Path(path)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        _state.path = outer
    return module


def already_imported(path: Path) -> ModuleType | None:
    """A module the user's code imported from the file `path`, if any."""
    target = os.path.realpath(path)
    base = os.path.basename(target)
    for name, module in list(sys.modules.items()):
        if name.startswith(PREFIX):
            continue
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.basename(file) == base:
            if os.path.realpath(file) == target:
                return module
    return None


def importing() -> Path | None:
    """The user file being imported in this thread now, if any."""
    return getattr(_state, "path", None)

