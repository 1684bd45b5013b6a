"""An API function's keyword arguments, made from the options `launch/options.py` declares.

`@keywords("run")` gives the function the parameters of the command it mirrors (the options
the API has, with the API's types and defaults, positional as `launch.options.MIRRORED` says,
the rest keyword-only); the function receives them as one `Given`, every one present (a
default where not passed). `command_values` turns what a caller passed (a task object, a model
function, a dict of model options, a `Run` where a path goes) into what the command line would
have given, for the launch layer.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selftaught.api.objects import model_spec, task_spec
from selftaught.launch.options import MIRRORED, Given, Option

R = TypeVar("R")


def keywords(command: str) -> Callable[[Callable[[Given], R]], Callable[..., R]]:
    """The function `body(given)` with a parameter for each option the API has of `command`."""
    declared, positional = MIRRORED[command]
    on_api = [option for option in declared if option.on_api]
    first = [next(o for o in on_api if o.name == name) for name in positional]
    rest = [option for option in on_api if option.name not in positional]
    signature = inspect.Signature(
        [_parameter(o, inspect.Parameter.POSITIONAL_OR_KEYWORD) for o in first]
        + [_parameter(o, inspect.Parameter.KEYWORD_ONLY) for o in rest]
    )

    def decorate(body: Callable[[Given], R]) -> Callable[..., R]:
        def function(*args: Any, **kwargs: Any) -> R:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return body(Given(bound.arguments))

        function.__name__, function.__qualname__ = body.__name__, body.__qualname__
        function.__doc__, function.__module__ = body.__doc__, body.__module__
        function.__wrapped__ = body  # type: ignore[attr-defined]  # its module's names
        function.__signature__ = signature.replace(  # type: ignore[attr-defined]
            return_annotation=body.__annotations__.get("return", inspect.Signature.empty)
        )
        function.__annotations__ = {
            **{o.name: o.keyword_type for o in on_api},
            "return": body.__annotations__.get("return"),
        }
        return function

    return decorate


def _parameter(option: Option, kind: Any) -> inspect.Parameter:
    return inspect.Parameter(
        option.name, kind, default=option.keyword_default, annotation=option.keyword_type
    )


def model_pairs(options: list[str] | dict[str, Any] | None) -> tuple[str, ...]:
    """`--model-option KEY=VALUE` pairs; a dict's values are written as JSON."""
    import json

    if options is None:
        return ()
    if isinstance(options, dict):
        return tuple(
            f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in options.items()
        )
    return tuple(options)


def path_text(value: Any) -> str | None:
    """A name or path as text; a `Run` or Path gives its path."""
    import os

    return None if value is None else os.fspath(value) if isinstance(value, os.PathLike) else value


# What the API admits beyond the command line's text, as the command line would give it.
TO_COMMAND: dict[str, Callable[[Any], Any]] = {
    "task": task_spec,
    "tasks": task_spec,
    "model": model_spec,
    "model_option": model_pairs,
    "improver": path_text,
}


def command_values(command: str, given: Given) -> Given:
    """`given` as the command line would have given it: specs for objects, Paths for paths."""
    declared, _ = MIRRORED[command]
    values = {}
    for option in declared:
        value = given.get(option.name)
        if option.name in TO_COMMAND:
            value = TO_COMMAND[option.name](value)
        elif value is not None and Path in typing.get_args(option.type) + (option.type,):
            value = Path(value)
        values[option.name] = value
    return Given(values)
