"""The two kinds of execution (see `api.Sandbox`), on top of any `driver.Launcher`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selftaught.sandbox import arrays
from selftaught.sandbox.api import (
    WALL_BACKSTOP,
    HandleError,
    Handler,
    HandleSpec,
    ImproverRun,
    InstanceOutcome,
    Limits,
    Served,
    SolutionRun,
)
from selftaught.sandbox.driver import (
    CHILD_STATUSES,
    STARTUP_SECONDS,
    Ended,
    Launcher,
    Session,
    error_text,
    limits_json,
    now,
)

RUN_DEADLINE = "the run's wall-clock limit passed"
POLL_SECONDS = 0.05  # how often the host reads a busy child's CPU time
# An instance may wait for anything but a CPU (sleep, block, be stopped) for its limit plus
# this: a page fault or a read blocks a computing child too, and the host polls, it is not told.
WAIT_MARGIN = 1.0
IMPROVER_POLL = 0.5  # how often the host reads a quiet improver's clock
# A stopped child cannot continue itself: no sandboxed process may signal it (seccomp, Landlock's
# signal scope), so an improver stopped this long is ended at once instead of at its limit.
STOPPED_GRACE = 2.0


def run_solution(
    launcher: Launcher,
    source: str,
    entry: str,
    inputs: list[list[Any]],
    *,
    instance_seconds: float,
    seed: int,
    array_args: bool,
    limits: Limits,
) -> SolutionRun:
    """One outcome per instance; a child that dies or overruns is replaced for the rest."""
    run = SolutionRun(outcomes=[])
    inputs = [arrays.pack_args(list(args), array_args) for args in inputs]
    job = {"mode": "solution", "source": source, "entry": entry, "seed": int(seed)}
    job |= {"array_args": bool(array_args), "limits": limits_json(limits)}
    run_deadline = now() + limits.wall_seconds
    while len(run.outcomes) < len(inputs):
        start = len(run.outcomes)
        if now() >= run_deadline:  # no new child for what is left
            run.outcomes += [InstanceOutcome("timeout", None, 0.0, RUN_DEADLINE)] * (
                len(inputs) - start
            )
            break
        batch = job | {"inputs": inputs[start:], "offset": start}
        _solution_child(launcher, batch, limits, instance_seconds, (len(inputs), run_deadline), run)
    return run


def _solution_child(
    launcher: Launcher,
    job: dict[str, Any],
    limits: Limits,
    instance_seconds: float,
    end: tuple[int, float],
    run: SolutionRun,
) -> None:
    """Run instances from `job["offset"]` in one child, appending their outcomes to `run`."""
    total, run_deadline = end
    session = Session(launcher, limits, run.audit)
    try:
        try:
            _start(session, job, run, instance_seconds, run_deadline)
        except Ended as end:  # a program that cannot load fails every instance the same way
            run.outcomes += [InstanceOutcome(end.status, error=end.error)] * (total - job["offset"])
            return
        for k in range(job["offset"], total):
            clock = _InstanceClock(session, instance_seconds)
            try:
                message = _read_out(session, k, clock, run_deadline)
            except Ended as end:
                _overran(run, end, total, clock.seconds(), clock.backstop > run_deadline)
                return
            run.outcomes.append(_outcome(message, clock.seconds()))
    finally:
        session.release()


class _InstanceClock:
    """One instance's time, from the arrival of the previous message (when the child began it).

    Two limits. The CPU time the child used, read by the host from the kernel, so that a loaded
    machine does not make the same program slower. And the time it waited for anything but a
    CPU (wall time less CPU time less its wait in the run queue, `schedstat`): a child that
    sleeps, blocks or is stopped spends that without computing, up to the same limit plus
    `WAIT_MARGIN`; a child a busy machine starves spends none. Where the kernel gives no
    run-queue wait, a wall-clock backstop of `WALL_BACKSTOP` times the limit (plus a second)
    stands in for the second limit; it stays as the last resort for a badly starved child."""

    def __init__(self, session: Session, limit: float):
        self.session, self.limit = session, limit
        self.started, self.cpu_started = now(), session.cpu()
        # Read at the first poll, not now: an instance done before it costs no reading, and
        # the wait before it (one poll) is far below WAIT_MARGIN.
        self.split_started: tuple[float, float] | None = None
        self.split_at = self.started
        self.backstop = self.started + limit * WALL_BACKSTOP + 1.0
        self.spent: float | None = None  # the last reading: a child killed is read no more

    def cpu_spent(self) -> float | None:
        cpu = self.session.cpu()
        if cpu is not None and self.cpu_started is not None:
            self.spent = max(0.0, cpu - self.cpu_started)
        return self.spent

    def seconds(self) -> float:
        """CPU seconds if the kernel says, else wall seconds."""
        spent = self.cpu_spent()
        return now() - self.started if spent is None else spent

    def waited(self) -> float | None:
        """Seconds neither on a CPU nor waiting for one (the child and the processes it waits
        for, the evaluator profile's); None if the kernel does not say."""
        split = self.session.split()
        if split is None:
            return None
        if self.split_started is None:
            self.split_started, self.split_at = split, now()
        cpu, queued = (a - b for a, b in zip(split, self.split_started, strict=True))
        return now() - self.split_at - cpu - queued

    def over(self, cpu: bool = True) -> str | None:
        """Why the instance is over a limit (with `cpu`, its CPU limit too), or None."""
        spent = self.cpu_spent()
        if spent is None:
            if cpu and now() - self.started > self.limit:
                return f"over the limit of {self.limit} s per instance (wall clock)"
            return None
        if cpu and spent > self.limit:
            return f"over the CPU limit of {self.limit} s per instance"
        waited = self.waited()
        if waited is not None and waited > self.limit + WAIT_MARGIN:
            how = "stopped" if self.session.stopped() else "waiting, not computing"
            return (
                f"{how}: waited {waited:.1f} s (with {spent:.2f} s of CPU), over the limit of "
                f"{self.limit} s per instance plus {WAIT_MARGIN:g} s"
            )
        return None


def _start(
    session: Session,
    job: dict[str, Any],
    run: SolutionRun,
    instance_seconds: float,
    run_deadline: float,
) -> None:
    """Send the job, take the hello, wait for the program to load."""
    startup = min(now() + STARTUP_SECONDS, run_deadline)
    session.send(job, startup)
    session.hello(startup)
    run.layers = run.layers or session.layers
    # Loading (module-level code) has no CPU limit of its own, only the waiting one.
    message = _next(session, _InstanceClock(session, instance_seconds), run_deadline, cpu=False)
    if message.get("t") == "load_error":
        status = str(message.get("status"))
        status = status if status in CHILD_STATUSES and status != "ok" else "error"
        raise session.fail(status, error_text(message.get("error")))
    if message.get("t") != "ready":
        raise session.fail("error", "bad message from the child: expected ready")


def _read_out(
    session: Session, k: int, clock: _InstanceClock, run_deadline: float
) -> dict[str, Any]:
    """Instance k's output; a timeout once it is over a limit (`_InstanceClock`)."""
    message = _next(session, clock, run_deadline)
    ok = message.get("t") == "out" and message.get("i") == k
    if not ok or message.get("status") not in CHILD_STATUSES:
        raise session.fail("error", f"bad message from the child for instance {k}")
    return message


def _next(
    session: Session, clock: _InstanceClock, run_deadline: float, cpu: bool = True
) -> dict[str, Any]:
    """The child's next message, polling its clock; a timeout once it is over a limit."""
    deadline = min(clock.backstop, run_deadline)
    poll = max(0.01, min(POLL_SECONDS, clock.limit / 4))
    while (message := session.poll(min(now() + poll, deadline))) is None:
        if why := clock.over(cpu):
            raise session.fail("timeout", why)
        if now() >= deadline:
            raise session.fail("timeout", "past the wall-clock backstop (waiting, not computing)")
    return message


def _outcome(message: dict[str, Any], seconds: float) -> InstanceOutcome:
    if message["status"] == "ok":
        return InstanceOutcome("ok", message.get("output"), seconds)
    return InstanceOutcome(message["status"], None, seconds, error_text(message.get("error")))


def _overran(run: SolutionRun, end: Ended, total: int, seconds: float, run_ended: bool) -> None:
    """The current instance failed; past the run's deadline, so do all that remain."""
    if end.status == "timeout" and run_ended:
        left = total - len(run.outcomes)
        run.outcomes += [InstanceOutcome("timeout", None, seconds, RUN_DEADLINE)] * left
        return
    run.outcomes.append(InstanceOutcome(end.status, None, seconds, end.error))


class _Clock:
    """An improver's own time: only while the host waits for the child (not inside the host's
    handler), less what the child waited for a CPU (`schedstat`), so that a loaded machine
    does not use up an improver's time; sleeping, blocked or stopped, the time is its own.
    Its wall time on the same terms meets a backstop of `WALL_BACKSTOP` times the budget, plus
    a second, as a solution's does: threads waiting for a CPU add up to more than the wall."""

    def __init__(self, budget: float, queued: Callable[[], float | None] = lambda: None):
        self.budget = budget
        self.queued = queued
        self.spent = 0.0  # own time
        self.wall = 0.0  # the same, the waits for a CPU included
        self._since: float | None = None
        self._queued_since: float | None = None

    def resume(self) -> float:
        """Count from now (if not already counting); the deadline for the wait that follows,
        were the child to wait for no CPU (a later `over` may find it has time left)."""
        if self._since is None:
            self._since, self._queued_since = now(), self.queued()
        return now() + max(0.0, self.budget - self.current())

    def current(self) -> float:
        if self._since is None:
            return self.spent
        queued = self.queued()
        starved = 0.0
        if queued is not None and self._queued_since is not None:
            starved = max(0.0, queued - self._queued_since)
        return self.spent + max(0.0, now() - self._since - starved)

    def over(self) -> bool:
        wall = self.wall + (0.0 if self._since is None else now() - self._since)
        return self.current() >= self.budget or wall >= self.budget * WALL_BACKSTOP + 1.0

    def pause(self) -> None:
        if self._since is not None:
            self.spent = self.current()
            self.wall += now() - self._since
            self._since = None


def run_improver(
    launcher: Launcher,
    source: str,
    spec: HandleSpec,
    handler: Handler,
    *,
    seed: int,
    limits: Limits,
) -> ImproverRun:
    """Run `improve_algorithm`, serving its calls; see `api.Sandbox.run_improver`."""
    run = ImproverRun(status="error")
    job = {"mode": "improver", "source": source, "spec": spec.to_json(), "seed": int(seed)}
    job["limits"] = limits_json(limits)
    session = Session(launcher, limits, run.audit)
    clock = _Clock(limits.wall_seconds, session.queued)
    try:
        deadline = clock.resume()
        session.send(job, min(deadline, now() + STARTUP_SECONDS))
        session.hello(min(deadline, now() + STARTUP_SECONDS))
        run.layers = session.layers
        _converse(session, handler, clock, run)
    except Ended as end:
        run.status, run.error = end.status, end.error
    finally:
        clock.pause()
        run.seconds = clock.spent
        session.release()
    return run


def _converse(session: Session, handler: Handler, clock: _Clock, run: ImproverRun) -> None:
    while True:
        message = _improver_next(session, clock)
        clock.pause()
        kind = message.get("t")
        if kind == "call":
            started = now()
            reply, budgeted = _serve(session, handler, message)
            if not budgeted:
                clock.spent += now() - started
                clock.wall += now() - started
            session.send(reply, clock.resume())
        elif kind == "result" and message.get("status") in CHILD_STATUSES:
            run.status = message["status"]
            if run.status == "ok":
                run.result = message.get("result")
            else:
                run.error = error_text(message.get("error"))
            return
        else:
            raise session.fail("error", "bad message from the child")


def _improver_next(session: Session, clock: _Clock) -> dict[str, Any]:
    """The improver's next message, or a timeout once its own time is used up."""
    stopped_since: float | None = None
    while (message := session.poll(min(clock.resume(), now() + IMPROVER_POLL))) is None:
        stopped_since = (stopped_since or now()) if session.stopped() else None
        if stopped_since is not None and now() - stopped_since >= STOPPED_GRACE:
            raise session.fail(
                "timeout", f"stopped for {STOPPED_GRACE:g} s (SIGSTOP): no process may continue "
                "a sandboxed child, so it would only wait out its time limit",
            )  # fmt: skip
        if clock.over():
            how = "stopped" if session.stopped() else "its own time"
            raise session.fail(
                "timeout", f"over its time limit of {clock.budget:g} s ({how}; the host's "
                "work on its calls and its waits for a CPU not counted)",
            )  # fmt: skip
    return message


def _serve(
    session: Session, handler: Handler, message: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The reply to one call, and whether it was budgeted work (see `api.Served`)."""
    method, params = message.get("method"), message.get("params")
    try:
        if not isinstance(method, str) or not isinstance(params, dict):
            raise HandleError("ValueError", "a call is a method name and a dict of parameters")
        value = handler(method, params)
    except HandleError as exc:
        return {"t": "reply", "ok": False, "kind": exc.kind, "message": str(exc.message)}, False
    except BaseException:
        session.child.kill()  # a host bug: the caller hears about it
        raise
    if isinstance(value, Served):
        return {"t": "reply", "ok": True, "value": value.value}, value.budgeted
    return {"t": "reply", "ok": True, "value": value}, True


class Runner:
    """`run_solution` and `run_improver` of the `api.Sandbox` interface, for a sandbox that
    provides `spawn(limits)` (the zygote's and the fresh-subprocess fallback alike)."""

    def run_solution(
        self,
        source: str,
        entry: str,
        inputs: list[list[Any]],
        *,
        instance_seconds: float,
        seed: int,
        array_args: bool,
        limits: Limits,
    ) -> SolutionRun:
        return run_solution(
            self,
            source,
            entry,
            inputs,
            instance_seconds=instance_seconds,
            seed=seed,
            array_args=array_args,
            limits=limits,
        )

    def run_improver(
        self, source: str, spec: HandleSpec, handler: Handler, *, seed: int, limits: Limits
    ) -> ImproverRun:
        return run_improver(self, source, spec, handler, seed=seed, limits=limits)
