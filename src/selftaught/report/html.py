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
from html import escape

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


def _probed(data: RunData) -> bool:
    """A `selftaught probe` run: its section comes first."""
    return data.meta.get("kind") == "probe" or "probe" in data.meta


def render(data: RunData) -> str:
    """The whole page of `data` (see the module docstring for what it guarantees)."""
    tree = build_lineage(data)
    title = f"selftaught run {data.run_dir.name}"
    body = [
        header.header(data),
        header.summary(data),
        *([section("probe", "Probe of the model", probe.probe(data))] if _probed(data) else []),
        section("meta-utility", "Meta-utility per iteration", meta_utility.meta_utility(data)),
        section("lineage", "Lineage of improvers", lineage.lineage_tree(tree)),
        section("diffs", "Adopted improvers against their parents", lineage.adopted_diffs(tree)),
        section("solutions", "Solutions", solutions.solutions(data)),
        section("lm", "Language-model usage", lm_usage.lm_usage(data)),
        section("safety", "Safety events", safety.safety_events(data)),
        section("config", "Configuration and reproduction", config.configuration(data)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}\n{style_css()}</style></head>"
        f"<body>{''.join(body)}"
        f"<footer>made by selftaught report on {escape(time.strftime('%Y-%m-%d %H:%M:%S'))}"
        f"</footer><script>{PAGER_JS}</script></body></html>"
    )
