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
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

_state = threading.local()


PREFIX = "selftaught_user_"


def import_file(path: Path, name: str, *, fresh: bool = False) -> ModuleType:
    """The module of the file `path`: the one the user's code imported from it, else (unless
    `fresh`) the one imported before as `name`, else imported now as `name`. Whatever the file
    raises propagates (the caller says which kind of file failed)."""
    loaded = already_imported(path)
    if loaded is not None:
        return loaded
    if not fresh and name in sys.modules:
        return sys.modules[name]
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
