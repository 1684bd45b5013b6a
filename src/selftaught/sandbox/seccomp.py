"""The seccomp filter every child loads: no new processes, programs, sockets or limits.

`build()` compiles the filter once (in the zygote) with pyseccomp and returns the raw BPF;
`load(bpf)` installs it in the calling process with one prctl, so a child pays no compile
cost. Refused calls fail with EPERM (clone3 with ENOSYS so that glibc falls back to clone,
which is allowed for threads only). Calls from other architectures kill the process.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_CLONE_THREAD = 0x00010000

# Refused outright. Killing another process is Landlock's job (signal scoping).
REFUSED = (
    "fork", "vfork", "execve", "execveat",
    "socket", "socketpair",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount",
    "fsconfig", "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
    "unshare", "setns", "bpf", "perf_event_open", "userfaultfd", "seccomp",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "setrlimit",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "syslog", "add_key", "request_key", "keyctl",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "iopl", "ioperm", "personality", "mknod", "mknodat", "vhangup",
    "fanotify_init", "process_madvise", "memfd_secret",
    # A root child could take a core for good with a real-time policy.
    "sched_setscheduler", "sched_setparam", "sched_setattr", "setpriority", "ioprio_set",
    # SysV IPC and POSIX queues outlive the process and are shared between children.
    "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semctl", "semtimedop",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
)  # fmt: skip
_PR_SET_PDEATHSIG = 1
_PR_SET_MM = 35

# The "evaluator" profile (api.PROFILES) lets these through, so that an evaluator can run the
# interpreter in a child (Landlock still allows executing nothing else), and refuses leaving
# the process group instead, so that killing the group kills every process it started.
PROCESSES = ("fork", "vfork", "execve", "execveat", "socketpair")
GROUP = ("setsid", "setpgid")


def build(profile: str = "strict") -> bytes:
    """The compiled filter as raw BPF (struct sock_filter[]). Raises if pyseccomp is missing."""
    import pyseccomp as sc  # imported here: optional, and only the zygote needs it

    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    processes = profile == "evaluator"
    refused = [n for n in REFUSED if n not in PROCESSES] + list(GROUP) if processes else REFUSED
    for name in refused:
        try:
            flt.add_rule(eperm, name)
        except Exception:  # a syscall this architecture does not have  # noqa: BLE001
            continue
    # Threads are clone(CLONE_THREAD|...); anything else is a new process.
    if not processes:
        flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    # getrlimit is prlimit64(pid, res, NULL, old) in glibc: refuse only a new limit.
    flt.add_rule(eperm, "prlimit64", sc.Arg(2, sc.NE, 0))
    # Outliving the zygote, and rewriting one's own memory map, are not for candidates.
    for option in (_PR_SET_PDEATHSIG, _PR_SET_MM):
        flt.add_rule(eperm, "prctl", sc.Arg(0, sc.EQ, option))
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        return out.read()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


class Prepared:
    """A filter ready to load with a single prctl (buffers built before the fork)."""

    def __init__(self, bpf: bytes):
        if not bpf or len(bpf) % 8:
            raise ValueError("not a BPF program")
        self._buf = ctypes.create_string_buffer(bpf, len(bpf))
        self._prog = _SockFprog(len(bpf) // 8, ctypes.addressof(self._buf))

    def load(self) -> None:
        """Install the filter in this process for good (sets no_new_privs first)."""
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        mode = ctypes.c_ulong(_SECCOMP_MODE_FILTER)
        if _libc.prctl(_PR_SET_SECCOMP, mode, ctypes.byref(self._prog), 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")
