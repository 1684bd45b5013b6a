"""Main of a fresh-subprocess child (the fallback when there is no zygote).

Started by `subprocess_sandbox` as `python -s -S -P -c BOOT paths plan fd scratch` in a new session
with a clean environment. It confines itself with the same steps as a zygote child (its
layers are whatever of the plan works here), then reads its job from fd and runs it.
Raising a limit is refused by seccomp where available; otherwise, as for the zygote in
rlimits-only mode, the limits are only as strong as the lack of CAP_SYS_RESOURCE.
"""

from __future__ import annotations

import json
import os
import socket


def main(argv: list[str]) -> None:
    plan, fd, scratch = json.loads(argv[0]), int(argv[1]), argv[2]
    code = 0
    try:
        _run(plan, fd, scratch)
    except BaseException:  # noqa: BLE001
        code = 1
    finally:
        os._exit(code)  # the host made the scratch dir and removes it after reaping us


def _run(plan: dict, fd: int, scratch: str) -> None:
    from selftaught.sandbox import confine

    confine.die_with_parent(os.getppid())
    layers = ["subprocess", "setsid"]
    if plan.get("netns") and confine.enter_netns() is None:
        layers.append("netns")
    if plan.get("tmpfs") and confine.private_tmpfs(scratch) is None:
        layers.append("tmpfs")
    import numpy.random  # noqa: F401 - before the limits, as in the zygote

    from selftaught.sandbox import cgroup, child, limits, protocol, seccomp

    filters = {}
    if plan.get("seccomp"):
        try:
            filters = {p: seccomp.Prepared(seccomp.build(p)) for p in ("strict", "evaluator")}
        except Exception:  # noqa: BLE001 - then the layer is simply not listed
            filters = {}
    confine.close_fds_except(fd)
    baseline = limits.vm_size_bytes()
    sock = socket.socket(fileno=fd)
    job = protocol.recv(sock)  # data only: nothing of it runs before the layers are in place
    spec = dict(job.get("limits", {}))
    if cgroup.member():  # the host put us in a pids cgroup (evaluator profile)
        spec["pids_cgroup"] = True
    layers += confine.before_job(plan, scratch)  # Landlock: /proc is unreadable from here on
    more, audit = confine.with_limits(plan, spec, baseline, filters, scratch)
    child.run_job(sock, job, layers + more, audit)
