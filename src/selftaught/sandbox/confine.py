"""Confinement steps shared by zygote children and fresh-subprocess children.

A `plan` (a JSON dict built by the host) says which layers to use:
`{"netns": bool, "tmpfs": bool, "landlock": bool, "seccomp": bool, "audit_hook": bool,
"read_only": [...]}`.
Each step returns the names of the layers it actually put in place; a layer that fails is
left out of the list (and so out of the result's `layers`), never silently claimed.

Order matters: the network namespace and imports come first (once per zygote); then, per
child, setsid and fd hygiene, Landlock (before the job arrives), and after the job arrives
the rlimits, the seccomp filter (which forbids changing them again) and the audit hook.
A zygote child learns its limits when the host asks for it (often ahead of need, for the
host's pool), so that all of this is done before its job arrives; a fresh subprocess learns
them from its job.
"""

from __future__ import annotations

import ctypes
import os
import signal
import tempfile
from typing import Any

from selftaught.sandbox import landlock, limits
from selftaught.sandbox.audit import PROCESS_EVENTS, AuditLog

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MS_REC, _MS_PRIVATE = 0x4000, 1 << 18
SCRATCH_SIZE = "256m"  # all of the zygote's children together
CHILD_SCRATCH_SIZE = "64m"  # each child


def enter_netns() -> str | None:
    """Move this (single-threaded) process into a new, empty network namespace.

    Returns None on success or the reason it failed. As root a plain CLONE_NEWNET works;
    otherwise a user namespace is needed too, with our uid mapped to itself.
    """
    if _libc.unshare(_CLONE_NEWNET) == 0:
        return None
    first = os.strerror(ctypes.get_errno())
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        return f"unshare: {first}; with a user namespace: {os.strerror(ctypes.get_errno())}"
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as exc:
        return f"user namespace maps: {exc}"
    return None


def private_tmpfs(path: str, size: str = SCRATCH_SIZE) -> str | None:
    """Mount a size-capped tmpfs on `path`, seen only by this process and its children.

    Scratch dirs then cannot fill the host's disk (RLIMIT_FSIZE caps one file, not how
    many). Returns None on success or the reason it failed.
    """
    if _libc.unshare(_CLONE_NEWNS) != 0:
        return f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}"
    if _libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return f"making mounts private: {os.strerror(ctypes.get_errno())}"
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    options = f"size={size},mode=0700".encode()
    if _libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", flags, options) != 0:
        return f"mount tmpfs: {os.strerror(ctypes.get_errno())}"
    return None


def own_scratch(scratch: str) -> bool:
    """Give this child a tmpfs of its own on its scratch dir (in a mount namespace of its own,
    which dies with it): what it writes counts against its quota alone, so a child that fills
    its scratch cannot make the next child, or one alive beside it, fail with ENOSPC. False if
    the kernel refused (the zygote's shared tmpfs still caps the total)."""
    return private_tmpfs(scratch, CHILD_SCRATCH_SIZE) is None


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies; exit now if that already happened."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def close_fds_except(keep: int) -> None:
    """Close every inherited fd but `keep`; stdio goes to /dev/null."""
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 20)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def scrub_environment(scratch: str) -> None:
    """Only PATH and thread settings stay; temp files go to the scratch dir."""
    keep = {"PATH", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "MALLOC_ARENA_MAX", "LANG", "PYTHONHASHSEED"}  # fmt: skip
    for name in list(os.environ):
        if name not in keep:
            del os.environ[name]
    for name in ("TMPDIR", "HOME"):
        os.environ[name] = scratch
    tempfile.tempdir = scratch  # the zygote may have cached /tmp already


def before_job(plan: dict[str, Any], scratch: str) -> list[str]:
    """Per child, before the job is known: scratch dir as cwd, then Landlock."""
    os.chdir(scratch)
    scrub_environment(scratch)
    if not plan.get("landlock"):
        return []
    try:
        executables = plan.get("executables", [])  # refused again per profile in with_limits
        landlock.confine(plan.get("read_only", []), [scratch], executables=executables)
    except OSError:
        return []
    return ["landlock"]


def with_limits(
    plan: dict[str, Any], spec: dict[str, Any], baseline_vm: int, filters: Any, scratch: str
) -> tuple[list[str], AuditLog | None]:
    """Per child, once its limits are known: the profile's Landlock and process steps,
    rlimits, then seccomp (which forbids raising them again), then the audit hook. `spec` is
    `driver.limits_json(limits)`; `filters` maps a profile to its prepared seccomp filter."""
    layers = []
    profile = "evaluator" if spec.get("profile") == "evaluator" else "strict"
    if profile == "evaluator":
        layers.append("profile:evaluator")
        layers += _bound_processes(spec)
    elif plan.get("landlock"):
        try:
            landlock.deny_execute()  # before_job let the interpreter be executed
        except OSError:
            pass
    limits.apply(float(spec.get("cpu_seconds", 60)), int(spec.get("memory_mb", 1024)), baseline_vm)
    layers.append("rlimits")
    bpf = (filters or {}).get(profile)
    if bpf is not None:
        try:
            bpf.load()
            layers.append("seccomp")
        except OSError:
            pass
    audit = None
    if plan.get("audit_hook"):
        audit = AuditLog(scratch, PROCESS_EVENTS if profile == "evaluator" else frozenset())
        audit.install()
        layers.append("audit_hook")
    return layers, audit


def _bound_processes(spec: dict[str, Any]) -> list[str]:
    """The evaluator profile's bound on processes, as a layer name: a pids cgroup the zygote
    put this child in (root), else RLIMIT_NPROC (which binds only a non-root uid); none
    when neither is possible, and then the layer is missing from the record."""
    if spec.get("pids_cgroup"):
        return ["pids_cgroup"]
    if os.geteuid() != 0:
        import resource

        count = int(spec.get("max_processes", limits.MAX_PROCESSES))
        resource.setrlimit(resource.RLIMIT_NPROC, (count, count))
        return ["nproc"]
    return []
