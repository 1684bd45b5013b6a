"""The machine a benchmark ran on, described once for every benchmark that prints it.

`machine()` is what each benchmark's JSON carries under "machine": the platform, the CPU's
model, its cores, the load average when it was taken (the machine is shared, so a figure means
little without it), the Python, and the version of llama-cpp-python and of any other package
named (None where it is not installed). Benchmarks run as scripts (`python benchmarks/x.py`),
whose directory is first on the path: they import it as `from machine import machine`.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine(*packages: str, load: str = "load_average_at_start") -> dict[str, Any]:
    """The machine, with the load average under `load` (a benchmark that reads runs made
    earlier says `load_average_now`) and the versions of llama-cpp-python and `packages`."""
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        load: os.getloadavg(),
        "python": platform.python_version(),
        **{name: installed(name) for name in ("llama_cpp_python", *packages)},
    }
