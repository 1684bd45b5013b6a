"""The console everything a person is shown is printed on, by either face."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from selftaught.inert import visible


class InertConsole(Console):
    """A console on which everything printed is inert text (docs/reliability.md, "What a person
    sees"): every string it renders (a line, a table cell, a title) has its control characters
    visibly escaped (`inert.visible`), and no markup is read unless a line of ours asks for it
    (`markup=True`, with what it quotes passed through `shown`). A task name, an error or a
    flagged source line is model-written or came from a run directory: in a table cell, rich
    markup would style it ("[green]") or raise ("[/]" with nothing to close)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text, newlines=True), **options)
