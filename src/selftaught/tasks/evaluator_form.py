"""Adapter for the evaluator forms of OpenEvolve and ShinkaEvolve (see docs/tasks.md).

- OpenEvolve: a directory with `evaluator.py` defining `evaluate(program_path)` (a dict or an
  `EvaluationResult`, optionally `evaluate_stage1..3` for cascade evaluation),
  `initial_program.py` and optionally `config.yaml`.
- ShinkaEvolve: a directory with `evaluate.py`, run as `--program_path P --results_dir D`,
  which writes `metrics.json` (with `combined_score`) and `correct.json`, and `initial.py`.

The evaluator imports and runs the program itself, so it cannot be split into "child computes
outputs, host scores them" the way native tasks are. Instead the *child* loads a harness
(`wrap_solution`, running `selftaught.interop.harness`) holding the evaluator's and the
candidate's source, and returns the evaluator's metrics and artifacts as plain JSON; the
*host* turns them into the utility here, as the tool itself would: `combined_score` (or
`score_key`) on the evaluator's own scale, else (OpenEvolve) the mean of the numeric metrics,
which the record says; Shinka's `correct: false` is a failed evaluation with its error.
With `score_range=(low, high)` the score is mapped to [0, 1] and checked instead.

Host-side checks before anything runs (`refuse`): a candidate longer than config.yaml's
`max_code_length` scores 0 with the reason. A candidate that drops the EVOLVE-BLOCK markers or
changes code outside them is read forgivingly (`splice`, tasks/splicing.py): its definitions of
the blocks' names go into the initial program's blocks, the fixed code stays as it was, and the
evaluation records that it was spliced; it scores 0 with the reason only when that cannot be
done or would change what a fixed name does. The model sees a description (`utility.str`),
never the evaluator's source unless `show_evaluator` is set: the source may hold the answer.

Trust: the evaluator runs in the same sandboxed process as the candidate, so the candidate can
patch it; the score is only as tamper-proof as the evaluator. Evaluators may start child
Python processes (OpenEvolve's circle_packing does), so these tasks run under the sandbox's
"evaluator" confinement profile (`profile`); see docs/tasks.md for what it still forbids.

Instances carry no inputs: each of a split's instances is one more run of the evaluator (the
child seeds `random` and `numpy.random` differently per instance), `val_runs` and `test_runs`
of them (default 1 each).
"""

from __future__ import annotations

import ast
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught import sizes
from selftaught.scores import finite, mean
from selftaught.tasks import evolve_blocks, splicing
from selftaught.tasks.base import Instance, TaskError, one_line, paper_splits
from selftaught.user_code import UserFileError, file_problem, read_source, read_text

HARNESS_ENTRY = "__selftaught_evaluate__"
PROFILE = "evaluator"  # the sandbox's confinement profile for these tasks

HARNESS = '''"""selftaught harness: runs the task's evaluator on the candidate, in this child."""

_EVALUATOR_SOURCE = {evaluator!r}
_PROGRAM_SOURCE = {program!r}
_OPTIONS = {options!r}


def {entry}():
    from selftaught.interop.harness import run

    return run(_EVALUATOR_SOURCE, _PROGRAM_SOURCE, _OPTIONS)
'''

# The files of each form: (evaluator, initial program).
FORMS = {
    "openevolve": ("evaluator.py", "initial_program.py"),
    "shinka": ("evaluate.py", "initial.py"),
}
MAX_CONFIG_BYTES = 1 << 20  # OpenEvolve's own configs are a few kB
GENERIC = "Improve the program: it is scored by the task's evaluator, higher is better."


@dataclass(frozen=True)
class Settings:
    """What we honour of OpenEvolve's config.yaml (docs/tasks.md lists every key, and why
    the others are ignored), with OpenEvolve's defaults."""

    system_message: str | None = None
    timeout: float | None = None
    cascade: bool = True
    thresholds: tuple[float, ...] = (0.5, 0.75, 0.9)
    feature_dimensions: tuple[str, ...] = ("complexity", "diversity")
    max_code_length: int | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str = "config.yaml") -> Settings:
        evaluator, prompt = _section(config, "evaluator"), _section(config, "prompt")
        message = prompt.get("system_message")
        if message is not None and not isinstance(message, str):
            raise TaskError(f"{where}: prompt.system_message must be text, not {_kind(message)}")
        try:
            timeout = _number(evaluator.get("timeout"), "evaluator.timeout")
            if timeout is not None and not timeout > 0:
                raise ValueError(f"evaluator.timeout is {timeout!r}")
            length = _number(config.get("max_code_length"), "max_code_length")
            thresholds = evaluator.get("cascade_thresholds", cls.thresholds)
            if not isinstance(thresholds, list | tuple):
                raise ValueError(f"evaluator.cascade_thresholds is {_kind(thresholds)}")
            database = _section(config, "database")
            features = database.get("feature_dimensions", cls.feature_dimensions)
            names = isinstance(features, list | tuple) and all(isinstance(f, str) for f in features)
            if not names:
                raise TaskError(
                    f"{where}: database.feature_dimensions must be a list of metric names"
                )
            return cls(
                system_message=message if message and message.strip() else None,
                timeout=timeout,
                cascade=bool(evaluator.get("cascade_evaluation", True)),
                thresholds=tuple(_number(t, "a cascade threshold") for t in thresholds),
                feature_dimensions=tuple(features),
                max_code_length=None if length is None else int(length),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise TaskError(
                f"{where}: {one_line(exc, 200)}; evaluator.timeout (> 0), "
                "evaluator.cascade_thresholds (a list) and max_code_length must be numbers"
            ) from None


def _number(value: Any, name: str) -> Any:
    """`value` as a float, checked to be a number first (a list or mapping is never turned
    into text to be parsed); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} is {_kind(value)}")
    return float(value)


def _kind(value: Any) -> str:
    return f"a {type(value).__name__}" if isinstance(value, list | dict) else repr(value)[:60]


def describe(evaluator_source: str, settings: Settings, score_key: str, blocks: bool) -> str:
    """What the model is shown: the task's own prompt, else the evaluator's docstring, else a
    generic sentence; then how it is scored and, with blocks, what may change."""
    text = settings.system_message
    if text is None:
        try:
            text = ast.get_docstring(ast.parse(evaluator_source)) or GENERIC
        except SyntaxError:
            text = GENERIC
    how = (
        f"\n\nYour program is saved to a file and run by the task's evaluator; the utility is "
        f"its {score_key!r} (higher is better)."
    )
    if blocks:
        how += (
            f"\nOnly the code between `# {evolve_blocks.START}` and `# {evolve_blocks.END}` may "
            "change. Everything outside the blocks runs exactly as it is: if you rewrite the "
            "whole file, only your definitions of the names the blocks define (with what they "
            "use) are kept, and a program that changes what the code outside the blocks "
            "defines scores 0."
        )
    return text.strip() + how


class EvaluatorTask:
    """A task in an evaluator form; see the module docstring for how it runs and its trust."""

    entry = HARNESS_ENTRY
    array_args = False
    profile = PROFILE

    def __init__(
        self,
        evaluator_path: str | Path,
        initial_program_path: str | Path,
        *,
        form: str = "openevolve",
        config: dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        instance_seconds: float | None = None,
        val_runs: int = 1,
        test_runs: int = 1,
        score_key: str = "combined_score",
        score_range: tuple[float, float] | None = None,
        show_evaluator: bool = False,
    ):
        evaluator_path, initial_program_path = Path(evaluator_path), Path(initial_program_path)
        for what, path in (("evaluator", evaluator_path), ("seed", initial_program_path)):
            if (problem := file_problem(path)) is not None:
                raise TaskError(f"{what} {path} {problem}")
        if form not in FORMS:
            raise TaskError(f"unknown evaluator form {form!r}; use one of {', '.join(FORMS)}")
        if score_range is not None:
            low, high = score_range
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise TaskError(
                    f"score_range {score_range!r} must be two finite numbers, low < high"
                )
            score_range = (float(low), float(high))
        self.form = form
        self.config = config or {}
        where = str(evaluator_path.parent / "config.yaml")
        self.settings = settings = Settings.from_config(self.config, where)
        self.evaluator_path = evaluator_path
        self.evaluator_source = _source(evaluator_path)
        self.name = name or evaluator_path.resolve().parent.name
        self.seed_solution = _source(initial_program_path)
        self.blocks = evolve_blocks.has_blocks(self.seed_solution)
        self.description = description or describe(
            self.evaluator_source, settings, score_key, self.blocks
        )
        if show_evaluator:
            self.description += "\n\n# The evaluator's source:\n\n" + self.evaluator_source
        self.instance_seconds = float(instance_seconds or settings.timeout or 60.0)
        self.splits = paper_splits(int(val_runs), int(test_runs))
        self.score_key = score_key
        self.score_range = score_range
        self.own_scale = score_range is None  # scores are the evaluator's, not [0, 1]
        self.summary = f"{form} evaluator form: {evaluator_path}"
        # What the harness in the child needs (plain data: it is written into its source).
        self.options = {
            "form": form, "cascade": settings.cascade, "thresholds": list(settings.thresholds),
        }  # fmt: skip

    @classmethod
    def from_directory(cls, directory: str | Path, **options: Any) -> EvaluatorTask:
        """OpenEvolve's or ShinkaEvolve's layout, with OpenEvolve's config.yaml if there."""
        directory = Path(directory)
        for form, (evaluator, initial) in FORMS.items():
            if (directory / evaluator).is_file():
                options.setdefault("form", form)
                options.setdefault("config", read_config(directory / "config.yaml"))
                return cls(directory / evaluator, directory / initial, **options)
        raise TaskError(f"{directory} holds neither evaluator.py nor evaluate.py")

    def wrap_solution(self, solution: str) -> str:
        """The harness the child loads (see `selftaught.tasks.base.child_program`)."""
        return HARNESS.format(
            evaluator=self.evaluator_source, program=solution, options=self.options,
            entry=HARNESS_ENTRY,
        )  # fmt: skip

    def refuse(self, solution: str) -> str | None:
        """Why `solution` scores 0 without being run, or None."""
        limit = self.settings.max_code_length
        if limit is not None and len(solution) > limit:
            return (
                f"the program is {len(solution)} characters, over config.yaml's max_code_length "
                f"{limit}"
            )
        if self.blocks and evolve_blocks.outside_change(self.seed_solution, solution):
            return splicing.splice(self.seed_solution, solution).refusal
        return None

    def splice(self, solution: str) -> splicing.Spliced | None:
        """A whole-program rewrite read into the initial program's blocks (tasks/splicing.py),
        or None when `solution` runs as written (it kept the markers and the fixed code)."""
        if not self.blocks or evolve_blocks.outside_change(self.seed_solution, solution) is None:
            return None
        return splicing.splice(self.seed_solution, solution)

    def instance(self, seed: int) -> Instance:
        return Instance(inputs=[], answer=None)

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        metrics, problem = self._metrics(output)
        if problem:
            return 0.0, problem
        value, _how = self.fitness(metrics)
        if isinstance(value, str):
            return 0.0, value
        if self.score_range is None:
            return value, None
        low, high = self.score_range
        scaled = (value - low) / (high - low)
        if not 0.0 <= scaled <= 1.0:
            return 0.0, f"{self.score_key} = {value!r} is outside score_range [{low}, {high}]"
        return float(scaled), None

    def _metrics(self, output: Any) -> tuple[dict[str, Any], str | None]:
        if not isinstance(output, dict) or not isinstance(output.get("metrics"), dict):
            return {}, f"the evaluator returned {type(output).__name__}, not metrics"
        if self.form == "shinka" and output.get("correct") is not True:
            return {}, "incorrect: " + str(output.get("error") or "correct.json says false")[:300]
        return output["metrics"], None

    def fitness(self, metrics: dict[str, Any]) -> tuple[float | str, str]:
        """(the score or why there is none, how it was found)."""
        if self.score_key in metrics:
            value = metrics[self.score_key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{self.score_key} is {_shown(value)}, not a number", self.score_key
            number = finite(value)
            if number is None:  # nan, inf, or an integer past float range
                return f"{self.score_key} is {_shown(value)}, not a finite float", self.score_key
            return number, self.score_key
        if self.form == "shinka" or self.score_range is not None:
            return f"the evaluator's result has no {self.score_key!r}", self.score_key
        # OpenEvolve's fitness without combined_score: the mean of the numeric metrics,
        # flags and MAP-Elites feature dimensions left out (0 when there are none).
        numeric = [v for k, v in metrics.items() if k not in self.settings.feature_dimensions
                   and isinstance(v, int | float) and not isinstance(v, bool)]  # fmt: skip
        how = f"no {self.score_key!r}: the mean of {len(numeric)} numeric metrics"
        values = [finite(v) for v in numeric]
        if None in values:
            return "a numeric metric is not a finite float (nan, inf or past float range)", how
        return mean(values), how  # type: ignore[arg-type]

    def record(self, output: Any) -> dict[str, Any]:
        """What an evaluation records beyond its score: metrics, artifacts, stage, how scored."""
        if not isinstance(output, dict):
            return {}
        metrics = output.get("metrics") if isinstance(output.get("metrics"), dict) else {}
        row: dict[str, Any] = {"metrics": metrics}
        for key in ("artifacts", "private"):  # Shinka's private metrics: recorded, not shown
            if output.get(key):
                row[key] = output[key]
        if output.get("stage"):
            row["stage"] = output["stage"]
        _value, how = self.fitness(metrics)
        if how != self.score_key:
            row["scored_by"] = how
        return _capped(row)


def _capped(row: dict[str, Any]) -> dict[str, Any]:
    """`row` if its JSON fits `sizes.RECORD_CHARS`; else without its artifacts and private
    metrics (and its metrics too if they alone are past half the cap), saying so: every
    instance of every evaluation is stored, so an evaluator's 1 MB of artifacts would be."""
    size = len(json.dumps(row, default=str))
    if size <= sizes.RECORD_CHARS:
        return row
    kept = {k: v for k, v in row.items() if k not in ("artifacts", "private")}
    if len(json.dumps(kept, default=str)) > sizes.RECORD_CHARS // 2:
        kept["metrics"] = {}
    kept["cut"] = f"{size:,} characters of metrics and artifacts, past the record cap"
    return kept


def _shown(value: Any) -> str:
    """A candidate's value in a reason: short, and never a 4,300-digit int's repr (which raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and finite(value) is None:
        return f"an integer of {value.bit_length()} bits"
    return one_line(repr(value), 200)


def _loader() -> type:
    """yaml's safe loader, refusing aliases as it meets them (nothing is expanded first)."""
    import yaml

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"alias *{event.anchor}", event.start_mark
                )
            return super().compose_node(parent, index)

    return NoAliases


def _source(path: Path) -> str:
    try:
        return read_source(path)
    except UserFileError as exc:
        raise TaskError(str(exc)) from None


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def read_config(path: Path) -> dict[str, Any]:
    """config.yaml as a dict ({} when absent); a TaskError when it is not YAML, is not a
    regular file, is over `MAX_CONFIG_BYTES` or uses an alias (`*name`, `<<: *name`): a few
    hundred bytes of nested aliases stand for billions of values once anything walks them."""
    if not os.path.lexists(path):
        return {}
    import yaml

    try:
        data = yaml.load(read_text(path, MAX_CONFIG_BYTES), Loader=_loader())  # noqa: S506
    except UserFileError as exc:
        raise TaskError(str(exc)) from None
    except RecursionError:  # yaml composes nested values recursively
        raise TaskError(f"{path} nests values too deeply to read; fix or remove it") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        problem = str(getattr(exc, "problem", None) or "")
        if problem.startswith("alias"):
            raise TaskError(
                f"{path} uses a YAML {problem}{line}; selftaught refuses aliases (they can "
                "expand without bound): write the value out"
            ) from None
        raise TaskError(f"{path} is not valid YAML{line}; fix or remove it") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TaskError(f"{path} must be a YAML mapping of settings, got {type(data).__name__}")
    return data
