"""A command's parameters, made from the options `launch/options.py` declares.

`@options(RUN)` under `@app.command()` gives the command one typer parameter per option the
command line has, in the declared order, with the declared flags, default and help; the
function it decorates receives them as one `Given`. `parameter(OPTION)` is one option's
annotation, for a command that declares the rest of its parameters itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from selftaught.launch.options import Given, Option


def parameter(option: Option) -> Any:
    """`Annotated[type, typer.Option(...)]` (or `typer.Argument`) of one option."""
    if option.argument:
        return Annotated[option.type, typer.Argument(help=option.help)]
    shown = {"metavar": option.metavar} if option.metavar else {}
    return Annotated[
        option.type, typer.Option(*option.flags, help=option.help, **shown, **option.limits)
    ]


def options(declared: Sequence[Option]) -> Callable[[Callable[[Given], None]], Callable[..., None]]:
    """The command `body(given)` with a parameter for each declared option of the command line."""
    on_cli = [option for option in declared if option.on_cli]
    signature = inspect.Signature(
        [
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option.default,
                annotation=parameter(option),
            )
            for option in on_cli
        ]
    )

    def decorate(body: Callable[[Given], None]) -> Callable[..., None]:
        def command(**values: Any) -> None:
            body(Given(values))

        command.__name__, command.__qualname__ = body.__name__, body.__qualname__
        command.__doc__, command.__module__ = body.__doc__, body.__module__
        command.__signature__ = signature  # type: ignore[attr-defined]  # what typer reads
        command.__annotations__ = {o.name: parameter(o) for o in on_cli}
        return command

    return decorate
