"""Resource limits a child applies to itself before running untrusted code.

Every rlimit is set with soft == hard, so that going over CPU is an uncatchable SIGKILL
rather than a SIGXCPU the code could ignore. The address-space limit is the child's current
virtual size plus the budget, because numpy/OpenBLAS already reserve hundreds of MB of
address space that are never touched.
"""

from __future__ import annotations

import math
import resource

FILE_BYTES = 64 << 20  # largest file a child may write into its scratch dir
OPEN_FILES = 64
MIN_CPU_SECONDS = 1
MAX_PROCESSES = 32  # tasks (threads count too) in one evaluation, evaluator profile


def vm_size_bytes() -> int:
    """This process's virtual size (VmSize), read from /proc; 0 if unknown."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_rlimit(cpu_seconds: float) -> int:
    """RLIMIT_CPU is whole seconds: round up, never below one."""
    return max(MIN_CPU_SECONDS, math.ceil(cpu_seconds))


def apply(cpu_seconds: float, memory_mb: int, baseline_vm: int | None = None) -> None:
    """Set CPU, AS, FSIZE, NOFILE and CORE with soft == hard. Only lowers limits."""
    baseline = vm_size_bytes() if baseline_vm is None else baseline_vm
    # Add the CPU this process already used (a fresh interpreter spends some on imports;
    # a forked child starts from almost zero, which must not round up to a whole second).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _set(resource.RLIMIT_CPU, cpu_rlimit(cpu_seconds + max(0.0, used - 0.1)))
    if baseline:
        _set(resource.RLIMIT_AS, baseline + int(memory_mb) * (1 << 20))
    _set(resource.RLIMIT_FSIZE, FILE_BYTES)
    _set(resource.RLIMIT_NOFILE, OPEN_FILES)
    _set(resource.RLIMIT_CORE, 0)


def _set(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))
