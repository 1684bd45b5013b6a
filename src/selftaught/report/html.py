"""The report page: one self-contained HTML document built from a `RunData`.

Contract of `render(data)`:
- no external resource of any kind (styles, the pager script and the SVG plots are inline),
  so the file opens offline and from any directory;
- every value that came from the run (sources, prompts, event details, task names) is escaped:
  the run's programs were written by a language model and are untrusted text;
- long tables hold at most the rows `data.py` kept and are paged in the browser by a few
  lines of script (without script every row is shown);
- a partial run gets a banner listing what is missing; every section renders from what is there.

Each section of the page is built in a module of `report/sections/` from the cells of
`report/cells.py`; this module puts them in order on the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape
from typing import TypeVar

from selftaught.report.assets import CSS, PAGER_JS
from selftaught.report.cells import section
from selftaught.report.data import RunData
from selftaught.report.diff import style_css
from selftaught.report.lineage import build_lineage
from selftaught.report.sections import (
    config,
    header,
    lineage,
    lm_usage,
    meta_utility,
    probe,
    safety,
    solutions,
)

UNREADABLE = '<p class="note">not shown: the run directory holds values of the wrong type</p>'
T = TypeVar("T")


def _shown(data: RunData, what: str, build: Callable[[], T], instead: T) -> T:
    """`build()`, or `instead` with a line in the partial banner: a run directory altered by
    hand (or received from someone else) can hold any value of any type in any field, and
    one odd value must cost its section, not the whole report."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - any stored value may be of any type
        data.partial.append(
            f"{what}: not shown ({type(exc).__name__}: a stored value of the wrong type)"
        )
        return instead


def sections(data: RunData) -> dict[str, str]:
    """Each section of the page by its anchor, in page order: the report and the live
    dashboard (selftaught.dashboard) render them with this one function. A section that meets
    a stored value of the wrong type is a line in the partial banner, not a traceback."""
    tree = _shown(data, "the lineage", lambda: build_lineage(data), None)
    parts = [
        *([("probe", "Probe of the model", lambda: probe.probe(data))] if _probed(data) else []),
        ("meta-utility", "Meta-utility per iteration", lambda: meta_utility.meta_utility(data)),
        ("lineage", "Lineage of improvers",
         lambda: lineage.lineage_tree(tree, data.downstream)),  # fmt: skip
        ("diffs", "Adopted improvers against their parents", lambda: lineage.adopted_diffs(tree)),
        ("solutions", "Solutions", lambda: solutions.solutions(data)),
        ("lm", "Language-model usage", lambda: lm_usage.lm_usage(data)),
        ("safety", "Safety events", lambda: safety.safety_events(data)),
        ("config", "Configuration and reproduction", lambda: config.configuration(data)),
    ]
    return {
        anchor: section(anchor, heading, _shown(data, f"section {heading!r}", build, UNREADABLE))
        for anchor, heading, build in parts
    }


def _probed(data: RunData) -> bool:
    """A `selftaught probe` run: its section comes first."""
    return data.meta.get("kind") == "probe" or "probe" in data.meta


def render(data: RunData) -> str:
    """The whole page of `data` (see the module docstring for what it guarantees)."""
    title = f"selftaught run {data.run_dir.name}"
    body_sections = list(sections(data).values())
    summary = _shown(data, "the summary cards", lambda: header.summary(data), "")
    body = [header.header(data), summary, *body_sections]  # the header last: it lists what failed
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}\n{style_css()}</style></head>"
        f"<body>{''.join(body)}"
        f"<footer>made by selftaught report on {escape(time.strftime('%Y-%m-%d %H:%M:%S'))}"
        f"</footer><script>{PAGER_JS}</script></body></html>"
    )
