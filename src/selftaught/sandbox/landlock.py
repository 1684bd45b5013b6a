"""A small ctypes binding to Landlock: files, TCP and signal/abstract-socket scoping.

`confine(read_only, read_write)` restricts the calling process (and its future threads and
children) for good: read access only beneath `read_only`, full access only beneath
`read_write`, no TCP bind or connect at all (ABI >= 4), and no signals or abstract unix
sockets across the domain boundary (ABI >= 6). Everything a newer ABI adds is used when the
kernel has it; `abi()` says which.
"""

from __future__ import annotations

import ctypes
import os
import platform

# x86_64, aarch64 and the generic table share these numbers.
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights by the ABI that introduced them.
_FS_V1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_FS_EXECUTE = 1 << 0
_FS_READ = (1 << 2) | (1 << 3)  # READ_FILE | READ_DIR
_FS_READ_FILE = 1 << 2
_NET_TCP = (1 << 0) | (1 << 1)  # BIND_TCP | CONNECT_TCP, ABI 4
_SCOPE_ALL = (1 << 0) | (1 << 1)  # ABSTRACT_UNIX_SOCKET | SIGNAL, ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number: int, *args: object) -> int:
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    if platform.system() != "Linux":
        return 0
    try:
        return _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _fs_rights(version: int) -> int:
    rights = _FS_V1
    if version >= 2:
        rights |= _FS_REFER
    if version >= 3:
        rights |= _FS_TRUNCATE
    if version >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def _ruleset(version: int) -> int:
    # Older kernels accept the larger struct as long as the fields they do not know are zero.
    attr = _RulesetAttr(
        _fs_rights(version),
        _NET_TCP if version >= 4 else 0,
        _SCOPE_ALL if version >= 6 else 0,
    )
    size = ctypes.c_size_t(ctypes.sizeof(_RulesetAttr))
    return _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)


def _allow(ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):  # directory-only rights are invalid on a file
            access &= _FS_READ_FILE | (1 << 1) | _FS_TRUNCATE | _FS_IOCTL_DEV | _FS_EXECUTE
        rule = _PathBeneath(access, fd)
        _syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)


def confine(
    read_only: list[str],
    read_write: list[str],
    version: int | None = None,
    executables: list[str] = (),  # type: ignore[assignment]
) -> int:
    """Restrict this process for good; returns the ABI used. Raises OSError if unavailable.

    `executables` are files that may also be executed (the interpreter and its loader);
    `deny_execute()` takes that back where a child must start no program at all.
    Paths that do not exist are skipped. Sets no_new_privs, which Landlock requires.
    """
    version = abi() if version is None else version
    if version < 1:
        raise OSError("Landlock is not available")
    ruleset = _ruleset(version)
    try:
        rights = _fs_rights(version)
        for path in read_only:
            if os.path.exists(path):
                _allow(ruleset, path, _FS_READ)
        for path in executables:
            if os.path.isfile(path):
                _allow(ruleset, path, _FS_READ_FILE | _FS_EXECUTE)
        for path in read_write:
            _allow(ruleset, path, rights & ~_FS_EXECUTE)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        _syscall(_SYS_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
    return version


def deny_execute() -> None:
    """Stack a domain that executes nothing: no rules, so no file keeps the right. Cheap (two
    system calls, no paths), so it is done per child once its profile is known."""
    attr = _RulesetAttr(_FS_EXECUTE, 0, 0)
    size = ctypes.c_size_t(ctypes.sizeof(_RulesetAttr))
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
    try:
        _syscall(_SYS_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
