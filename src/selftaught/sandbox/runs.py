"""The two kinds of execution (see `api.Sandbox`), on top of any `driver.Launcher`."""

from __future__ import annotations

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
    """One instance's time, from the arrival of the previous message (when the child began it):
    the CPU time the child used, read by the host from the kernel, so that a loaded machine
    does not make the same program slower; with a wall-clock backstop of `WALL_BACKSTOP`
    times the limit (plus a second), for a child that waits rather than computes."""

    def __init__(self, session: Session, limit: float):
        self.session, self.limit = session, limit
        self.started, self.cpu_started = now(), session.cpu()
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

    def over(self) -> bool:
        spent = self.cpu_spent()
        return now() - self.started > self.limit if spent is None else spent > self.limit


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
    message = session.read(min(now() + instance_seconds * WALL_BACKSTOP + 1.0, run_deadline))
    if message.get("t") == "load_error":
        status = str(message.get("status"))
        status = status if status in CHILD_STATUSES and status != "ok" else "error"
        raise session.fail(status, error_text(message.get("error")))
    if message.get("t") != "ready":
        raise session.fail("error", "bad message from the child: expected ready")


def _read_out(
    session: Session, k: int, clock: _InstanceClock, run_deadline: float
) -> dict[str, Any]:
    """Instance k's output; a timeout once its CPU limit or its wall backstop is passed."""
    deadline = min(clock.backstop, run_deadline)
    poll = max(0.01, min(POLL_SECONDS, clock.limit / 4))
    while (message := session.poll(min(now() + poll, deadline))) is None:
        if clock.over():
            raise session.fail("timeout", f"over the CPU limit of {clock.limit} s per instance")
        if now() >= deadline:
            raise session.fail("timeout", "past the wall-clock backstop (waiting, not computing)")
    ok = message.get("t") == "out" and message.get("i") == k
    if not ok or message.get("status") not in CHILD_STATUSES:
        raise session.fail("error", f"bad message from the child for instance {k}")
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
    """Counts only the time spent waiting for the child, not inside the host's handler."""

    def __init__(self, budget: float):
        self.budget = budget
        self.spent = 0.0
        self._since: float | None = None

    def resume(self) -> float:
        """Count from now (if not already counting); the deadline for the wait that follows."""
        if self._since is None:
            self._since = now()
        return self._since + max(0.0, self.budget - self.spent)

    def pause(self) -> None:
        if self._since is not None:
            self.spent += now() - self._since
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
    clock = _Clock(limits.wall_seconds)
    job = {"mode": "improver", "source": source, "spec": spec.to_json(), "seed": int(seed)}
    job["limits"] = limits_json(limits)
    session = Session(launcher, limits, run.audit)
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
        message = session.read(clock.resume())
        clock.pause()
        kind = message.get("t")
        if kind == "call":
            started = now()
            reply, budgeted = _serve(session, handler, message)
            if not budgeted:
                clock.spent += now() - started
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
