"""Scripted worlds for the library's improvers: a model and a utility with known structure.

Each world has `initial` (a solution), `sample(expertise, messages, temperature) -> list[str]`
(the host side of the language model: one reply per message, each with one python block) and
`score(solution) -> float` (the utility, in the host). Randomness comes from a seeded
`random.Random`, so a world replays identically. `run_improver` runs a library improver in a real
sandboxed child against a world and counts, in the host, every call it made.

`respond_lpn` is a `python:` backend (system, user, n, temperature) for LPN: only a prompt that
asks to start from scratch yields the brute-force solver.
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.handles import LanguageModelHandle, UtilityHandle
from selftaught.improve import Recorder, improve
from selftaught.improvers import load_improver
from selftaught.records import Invocation
from selftaught.sandbox import Limits, Sandbox
from selftaught.store import sha256

DESCRIPTION = '''def utility(solution: str) -> float:
    """A hidden scorer; returns a number in [0, 1], higher is better."""'''


def reply(code: str) -> str:
    return f"Here is my idea.\n```python\n{code}\n```\nThat should do better."


def first_block(message: str) -> str:
    """The program the message asks to improve: its first code block that is not the scoring
    code (improvers put the program before or after `utility.str`)."""
    blocks = re.findall(r"```python\n(.*?)\n```", message, re.S)
    programs = [block for block in blocks if "def utility(" not in block]
    return programs[0] if programs else ""


class World:
    initial = ""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.count = 0

    def sample(self, expertise: str, messages: list[str], temperature: float) -> list[str]:
        return [self.respond(m, temperature) for m in messages]

    def respond(self, message: str, temperature: float) -> str:
        raise NotImplementedError

    def score(self, solution: str | None) -> float:
        raise NotImplementedError

    def variant(self) -> str:
        """A comment that keeps otherwise equal replies distinct, as sampled replies are."""
        self.count += 1
        return f"# variant {self.count}"


class LevelWorld(World):
    """Improvements compound: a reply moves the parent's LEVEL by one of `steps`; utility LEVEL/10.

    With negative steps only, every reply is worse than its parent (a harmful model)."""

    initial = "LEVEL = 2\n\n\ndef algorithm():\n    return LEVEL\n"

    def __init__(self, seed: int = 0, steps: tuple[int, ...] = (-1, 0, 1, 2)):
        super().__init__(seed)
        self.steps = steps

    def respond(self, message: str, temperature: float) -> str:
        levels = [int(x) for x in re.findall(r"^LEVEL = (-?\d+)$", message, re.M)]
        level = max(levels, default=0) + self.rng.choice(self.steps)
        return reply(f"LEVEL = {level}\n{self.variant()}\n\n\ndef algorithm():\n    return LEVEL")

    def score(self, solution: str | None) -> float:
        found = re.search(r"^LEVEL = (-?\d+)$", solution or "", re.M)
        return min(max(int(found.group(1)), 0), 10) / 10 if found else 0.0


class FeatureWorld(World):
    """Only crossover pays: a message with one solution gets one random feature back, a message
    with two or more gets the union of their features; utility = features / 8."""

    initial = "FEATURES = []\n"
    POOL = "abcdefgh"

    def respond(self, message: str, temperature: float) -> str:
        found = [ast.literal_eval(x) for x in re.findall(r"^FEATURES = (\[.*\])$", message, re.M)]
        if len(found) >= 2:
            features = sorted(set().union(*map(set, found)))
        else:
            features = [self.rng.choice(self.POOL)]
        return reply(f"FEATURES = {features!r}\n{self.variant()}")

    def score(self, solution: str | None) -> float:
        found = re.search(r"^FEATURES = (\[.*\])$", solution or "", re.M)
        return len(set(ast.literal_eval(found.group(1)))) / len(self.POOL) if found else 0.0


class QualityWorld(World):
    """Solutions carry QUALITY = q; the utility is q (plus noise when `noise` > 0)."""

    initial = "QUALITY = 0.2\n"

    def __init__(self, seed: int = 0, noise: float = 0.0):
        super().__init__(seed)
        self.noise = noise
        self.noise_rng = random.Random(seed + 1)

    def make(self, quality: float) -> str:
        return reply(f"QUALITY = {quality}\n{self.variant()}")

    def quality(self, solution: str | None) -> float:
        found = re.search(r"^QUALITY = ([\d.]+)$", solution or "", re.M)
        return float(found.group(1)) if found else 0.0

    def score(self, solution: str | None) -> float:
        value = self.quality(solution)
        if self.noise:
            value += self.noise_rng.uniform(-self.noise, self.noise)
        return value


class ColdWorld(QualityWorld):
    """Good answers (0.9) only at a sampling temperature of 0.5 or less; else 0.3."""

    def respond(self, message: str, temperature: float) -> str:
        return self.make(0.9 if temperature <= 0.5 else 0.3)


class KeywordWorld(QualityWorld):
    """Good answers (1.0) only to a message that contains `phrase`; else 0.3."""

    def __init__(self, phrase: str, seed: int = 0):
        super().__init__(seed)
        self.phrase = phrase

    def respond(self, message: str, temperature: float) -> str:
        return self.make(1.0 if self.phrase in message else 0.3)


class NoisyWorld(QualityWorld):
    """One reply in `good_every` has quality 0.6, the rest 0.5; every measurement is noisy."""

    initial = "QUALITY = 0.5\n"

    def __init__(self, seed: int = 0, noise: float = 0.15, good_every: int = 6):
        super().__init__(seed, noise)
        self.good_every = good_every

    def respond(self, message: str, temperature: float) -> str:
        return self.make(0.6 if self.rng.randrange(self.good_every) == 0 else 0.5)


class MenuWorld(QualityWorld):
    """The model only ever offers the same few solutions (one of them better, 0.6 against 0.5);
    every measurement is noisy, so one measurement of each cannot tell which is better."""

    initial = "QUALITY = 0.5\n# option initial\n"

    def __init__(self, seed: int = 0, noise: float = 0.25, options: int = 5):
        super().__init__(seed, noise)
        self.qualities = [0.6] + [0.5] * (options - 1)

    def respond(self, message: str, temperature: float) -> str:
        i = self.rng.randrange(len(self.qualities))
        return reply(f"QUALITY = {self.qualities[i]}\n# option {i}")


class PartsWorld(World):
    """Two parts, `alpha` and `beta`; the utility rewards balance: (3 min + max) / 20. Asked to
    improve only one function (decompose's "Improve only `NAME`"), the model raises just that
    one; asked for the whole program, it raises one part and resets the other to 0."""

    initial = "def alpha():\n    return 0\n\n\ndef beta():\n    return 0\n"

    @staticmethod
    def parts(code: str) -> dict[str, int]:
        return {k: int(v) for k, v in re.findall(r"def (alpha|beta)\(\):\n\s+return (\d+)", code)}

    def program(self, alpha: int, beta: int) -> str:
        return f"def alpha():\n    return {alpha}\n\n\ndef beta():\n    return {beta}\n"

    def respond(self, message: str, temperature: float) -> str:
        values = self.parts(first_block(message))
        only = re.search(r"Improve only `(\w+)`", message)
        if only:
            name = only.group(1)
            return reply(f"def {name}():\n    return {values.get(name, 0) + 1}")
        raised = self.rng.choice(["alpha", "beta"])
        new = {name: values.get(name, 0) + 1 if name == raised else 0 for name in values}
        return reply(self.program(new["alpha"], new["beta"]) + self.variant())

    def score(self, solution: str | None) -> float:
        values = self.parts(solution or "")
        if len(values) < 2:
            return 0.0
        low, high = sorted(values.values())
        return min(3 * low + high, 20) / 20


# ------------------------------------------------------------------------------ harness


class Notes:
    """A stand-in run store for `Recorder`: keeps the invocation outcome and events."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict]] = []

    def put_program(self, source: str, kind: str) -> str:
        return sha256(source)

    def record_event(self, kind: str, program: str | None, detail: dict) -> None:
        self.events.append((kind, detail))

    def record_invocation(
        self, program: str, initial: str, invocation: Invocation, outcome: dict
    ) -> None:
        self.invocations.append(outcome)


@dataclass
class Outcome:
    result: str | None
    status: str
    error: str | None
    lm_calls: int  # counted in the host
    utility_uses: int  # counted in the host
    batches: list[list[str]] = field(default_factory=list)  # messages of each LM call
    temperatures: list[float] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # host-side budget and safety events
    scores: list[float] = field(default_factory=list)  # every utility value handed out


def run_improver(
    sandbox: Sandbox,
    improver: str,
    world: World,
    *,
    lm_calls: int = 4,
    responses: int = 6,
    utility_calls: int = 25,
    seed: int = 0,
) -> Outcome:
    """Run a library improver (name or path) on `world.initial` through the real sandbox."""
    events: list[str] = []
    sink = lambda kind, detail: events.append(kind)  # noqa: E731
    out = Outcome(None, "", None, 0, 0, events=events)

    def sample(expertise: str, messages: list[str], temperature: float) -> list[str]:
        assert len(messages) <= responses
        out.lm_calls += 1
        out.batches.append(list(messages))
        out.temperatures.append(temperature)
        return world.sample(expertise, messages, temperature)

    def score(solution: str | None) -> float:
        out.utility_uses += 1
        value = world.score(solution)
        out.scores.append(value)
        return value

    utility = UtilityHandle(score, utility_calls, DESCRIPTION, sink)
    language_model = LanguageModelHandle(sample, lm_calls, responses, sink)
    notes = Notes()
    out.result = improve(
        load_improver(improver),
        world.initial,
        utility,
        language_model,
        sandbox=sandbox,
        recorder=Recorder(notes),  # type: ignore[arg-type]
        limits=Limits(wall_seconds=60, cpu_seconds=60),
        seed=seed,
        invocation=Invocation("test", task=improver),
    )
    (invocation,) = notes.invocations
    out.status, out.error = invocation["status"], invocation["error"]
    return out


# ---------------------------------------------------------------- python: backend for LPN

BRUTE_FORCE = (Path(__file__).resolve().parent.parent / "solutions" / "brute_force.py").read_text()
GUESS = "import numpy as np\n\n\ndef algorithm(train_samples, train_parity, test_samples):\n"
GUESS += "    return np.random.binomial(1, 0.5, len(test_samples))  # variant {k}\n"


def respond_lpn(system: str, user: str, n: int, temperature: float) -> list[str]:
    """Only a message asking to start "from scratch" gets the brute-force solver."""
    if "from scratch" in user:
        return [reply(BRUTE_FORCE) for _ in range(n)]
    return [reply(GUESS.format(k=k)) for k in range(n)]
