"""The Python API's arguments, checked against their annotations before anything starts.

Python itself checks nothing: `run(run_dir=123)` would reach `Path(123)` deep inside and be a
raw TypeError, `compare("seed")` would read the string as four improvers. `checked` makes every
public function refuse a wrong argument with one `SelftaughtError` line naming the argument,
what it must be and what it got; a missing or unknown argument (a typo: `tsak=`) is the same.
A path is a `str` or any `os.PathLike` (a `Run` among them); an int is never a bool.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selftaught.api.errors import SelftaughtError

F = TypeVar("F", bound=Callable[..., Any])

SHOWN = 60  # characters of a refused value quoted in the message


def checked(function: F) -> F:
    """`function`, refusing arguments its annotations do not admit (SelftaughtError)."""
    signature = inspect.signature(function)
    label = "selftaught." + function.__qualname__.removesuffix(".__init__")
    hints: dict[str, Any] = {}

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not hints:  # resolved on first use: annotations are strings until then
            hints.update(typing.get_type_hints(function))
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:  # missing, unknown or too many
            raise SelftaughtError(f"{label}: {exc}") from None
        for name, value in bound.arguments.items():
            annotation = hints.get(name, Any)
            if not admits(annotation, value):
                raise SelftaughtError(
                    f"{label}: {name}={shown(value)} must be {needs(annotation)}"
                    f"{_hint(annotation, value)}"
                )
        return function(*args, **kwargs)

    return typing.cast(F, call)


def at_least(label: str, name: str, value: int, low: int) -> None:
    """SelftaughtError unless `value` >= `low` (a count the annotation cannot bound)."""
    if value < low:
        raise SelftaughtError(f"selftaught.{label}: {name}={value!r} must be at least {low}")


def admits(annotation: Any, value: Any) -> bool:
    """Whether `value` is of the annotated type (containers: their elements too)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(admits(one, value) for one in args)
    if annotation is None or annotation is type(None):
        return value is None
    if origin in (list, tuple):
        return isinstance(value, list | tuple) and all(admits(args[0], v) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if annotation is Path:
        return isinstance(value, str | os.PathLike)
    if annotation in (int, float):
        numbers = int if annotation is int else int | float
        return isinstance(value, numbers) and not isinstance(value, bool)
    return isinstance(value, annotation)


NAMES = {
    int: "an int", float: "a number", str: "a str", bool: "True or False", Path: "a path",
    type(None): "None",
}  # fmt: skip


def needs(annotation: Any) -> str:
    """What the annotation admits, in words."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        words = [needs(one) for one in args if one is not str or Path not in args]
        return " or ".join(dict.fromkeys(words))
    if origin in (list, tuple):
        return "a list" + ("" if args[0] is Any else f" of {_plural(needs(args[0]))}")
    if origin is dict:
        return "a dict with str keys"
    if annotation is Path:
        return "a path (str or os.PathLike)"
    return NAMES.get(annotation, f"a {getattr(annotation, '__name__', annotation)}")


def shown(value: Any) -> str:
    """A value as the message quotes it, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _plural(words: str) -> str:
    words = words.removeprefix("a ").removeprefix("an ").replace(" or a ", " or ")
    return words.replace("path (", "paths (")


def _hint(annotation: Any, value: Any) -> str:
    """How to fix the commonest slip: one name where a list of them goes."""
    if isinstance(value, str) and typing.get_origin(annotation) is list:
        return f", not one str: give [{value!r}]"
    if isinstance(value, list | tuple) and typing.get_origin(annotation) in (list, tuple):
        element = typing.get_args(annotation)[0]
        index, bad = next((i, v) for i, v in enumerate(value) if not admits(element, v))
        return f", but item {index} is {shown(bad)}"
    return f", not {type(value).__name__}"
