"""What a sandbox process is started with (command line, import paths, environment, plan),
and how its process group is ended.

Sandbox processes run `sys.executable -s -S -P`: no user site, no site processing, no
script dir on the path. That is `-I` without its `-E`, because the environment is built here
from nothing anyway and must carry PYTHONHASHSEED=0: string hashing, and so the iteration
order of sets, is then the same in every child of every run, which replays rely on. Their
import path is given explicitly: the directory that holds the installed `selftaught` package
(an editable install's src dir included) and the interpreter's site-packages. Their
environment holds PATH, the hash seed and thread settings only, so no API key or token of the
host ever reaches them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import sysconfig
from typing import Any

BOOT = (
    "import sys,json;sys.path[:0]=json.loads(sys.argv[1]);"
    "from selftaught.sandbox.{module} import main;main(sys.argv[2:])"
)
LAYERS = ("netns", "tmpfs", "landlock", "seccomp", "audit_hook")


def import_paths() -> list[str]:
    """Where `selftaught`, numpy and pyseccomp are importable from, in the host."""
    # This file is selftaught/sandbox/environment.py: three levels up holds `selftaught`.
    paths = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))]
    for key in ("purelib", "platlib"):
        paths.append(sysconfig.get_paths()[key])
    for name in ("numpy", "pyseccomp"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            paths.append(os.path.dirname(os.path.dirname(module.__file__)))
    return _unique(p for p in paths if os.path.isdir(p))


def read_only_paths() -> list[str]:
    """What a child may read, and nothing more: the standard library, the import paths'
    packages (site-packages, the `selftaught` package, numpy), the shared libraries this
    process has loaded and the system library directory they come from. Never a whole prefix
    such as /usr: a project under it (Docker's /usr/src/app) holds a .env and run directories
    whose database holds the run's secret."""
    paths = [os.path.dirname(os.__file__), _dynload(), _package_dir()]
    paths += [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    paths += _module_files(("numpy", "pyseccomp"))
    paths += [os.path.join(sys.prefix, "pyvenv.cfg")]  # a child interpreter reads it to start
    paths += _libraries()
    paths += ["/etc/ld.so.cache", "/dev/null", "/dev/urandom"]
    paths = _unique(os.path.realpath(p) for p in paths if p and os.path.exists(p))
    # One rule per tree: every rule costs an open and a syscall in every child.
    return [p for p in paths if not any(_beneath(p, q) for q in paths if q != p)]


def readable_root(path: str) -> str | None:
    """The read-only root of a child that `path` lies beneath (or is), if any: a run
    directory there would let children read its database, and the run's secret in it."""
    target = os.path.realpath(path)
    for root in read_only_paths():
        if target == root or _beneath(target, root):
            return root
    return None


def _package_dir() -> str:
    """The `selftaught` package itself, not the directory that holds it: in a source checkout
    that directory is the project, with its .env and its run directories."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _module_files(names: tuple[str, ...]) -> list[str]:
    """Where the host imported these from: the whole site- or dist-packages directory that
    holds one (children import its neighbours, as a child's import path lists it), else only
    the package's directory or the module's file."""
    found = []
    for name in names:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        own = os.path.dirname(path) if path.endswith("__init__.py") else path
        holder = os.path.dirname(own)
        found.append(holder if holder.endswith(("site-packages", "dist-packages")) else own)
    return found


def _dynload() -> str:
    """Where the standard library's extension modules live (lib-dynload)."""
    import math

    return os.path.dirname(getattr(math, "__file__", "") or "")


def _libraries() -> list[str]:
    """The shared objects this process has mapped (the interpreter's, numpy's, the C
    library's), the directory of the C library (for modules a child imports later), and the
    locale files. Only shared objects: the host also maps its run database's -shm file."""
    found = []
    for path in _mapped_files():
        name = os.path.basename(path)
        if ".so" in name or path.startswith("/usr/lib/locale/"):
            found.append(path)
        if name.startswith(("libc.so", "libc-", "libc.musl", "ld-musl")):
            found.append(os.path.dirname(path))
    return found + ["/usr/lib/locale"]


def _mapped_files() -> list[str]:
    try:
        with open("/proc/self/maps") as maps:
            paths = [line.split(None, 5)[-1].strip() for line in maps if line.count("/")]
    except OSError:
        return []
    return _unique(p for p in paths if p.startswith("/") and not p.endswith(" (deleted)"))


def executables() -> list[str]:
    """What a child under the "evaluator" profile may execute: the interpreter and the dynamic
    loader it runs under (read from this process's own memory map)."""
    found = [os.path.realpath(sys.executable)]
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if line.count("/") else ""
                if "/ld-linux" in path or "/ld-musl" in path or path.endswith("/ld.so"):
                    found.append(os.path.realpath(path))
    except OSError:
        pass
    return _unique(p for p in found if os.path.isfile(p))


def _beneath(path: str, parent: str) -> bool:
    return path.startswith(parent.rstrip("/") + "/")


def clean_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        # One BLAS thread, and few malloc arenas: threads must fit the address-space limit.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def command(module: str, *args: str) -> list[str]:
    """`python -s -S -P -c BOOT` running `selftaught.sandbox.<module>.main(args)`."""
    boot = BOOT.format(module=module)
    return [sys.executable, "-s", "-S", "-P", "-c", boot, json.dumps(import_paths()), *args]


def plan(layers: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The plan a sandbox process follows (see `confine`)."""
    chosen = {name: name in layers for name in LAYERS}
    return chosen | {"read_only": read_only_paths(), "executables": executables()}


def _unique(items: Any) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (a child and whatever it forked); gone is fine."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
