"""How the command's own help reads (`selftaught --help`, `selftaught COMMAND --help`).

typer renders help with rich, and three things read badly in what it makes of our docstrings
and option help: a docstring's line breaks stay where they are in the command list and in every
paragraph after the first (so a sentence breaks mid-line: "finished work is" / "read back"), the
text is read as rich markup (`selftaught[ray]` loses its `[ray]`), and a flag is shown as
taking a `<bool>`, an argument that takes several values a Python `<list[Path]>`. The command
classes here fix these where the commands are built, so each command's help is written once, as
plain text, and rewraps at the terminal's width (COLUMNS). An option that takes a list says
what one value looks like where it is declared (`launch/options.Option.metavar`).
"""

from __future__ import annotations

import inspect
from typing import Any, get_args, get_origin

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup


def reflowed(text: str | None) -> str | None:
    """Help text with each paragraph (blank-line separated) on one line, for the terminal to
    wrap, and its brackets shown as written rather than read as markup."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(escape(" ".join(p.split())) for p in paragraphs)


# typer carries its own copy of click (`typer._click`), so its commands and parameters are
# told apart here by what they have, not by click's classes.


def _no_value_shown(param: Any) -> None:
    if getattr(param, "is_flag", False) and not getattr(param, "count", False):
        param.metavar = ""  # a flag takes no value: no `<bool>` beside it


def _one_value_shown(param: Any) -> None:
    """A list argument's name already ends in `...`: its type is one value's (`<path>`)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if getattr(param, "param_type_name", "") == "argument" and get_origin(annotation) is list:
        label = f"<{get_args(annotation)[0].__name__.lower()}>"
        param.display_type_rich = lambda ctx: label  # typer reads an argument's type here only


def _tidy(command: Any) -> None:
    command.help = reflowed(command.help)
    command.short_help = reflowed(command.short_help)
    for param in command.params:
        _no_value_shown(param)
        _one_value_shown(param)
        if getattr(param, "help", None):
            param.help = reflowed(param.help)


class _Tidied:
    """Tidies its help once, when built; the help option click makes later, when asked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _tidy(self)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _no_value_shown(option)
        return option


class HelpCommand(_Tidied, TyperCommand):
    """A command whose help reads as prose at any width."""


class HelpGroup(_Tidied, TyperGroup):
    """The `selftaught` group, whose own help and option list read as its commands' do."""


class HelpTyper(typer.Typer):
    """A typer app whose group and commands are built as HelpGroup and HelpCommand."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=HelpGroup, **kwargs)

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or HelpCommand, **kwargs)
