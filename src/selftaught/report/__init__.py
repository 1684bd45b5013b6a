"""`selftaught report`: one self-contained HTML page about one run.

API:
- `build_report(run_dir) -> str`: the HTML of the report of `run_dir`. It only reads the run
  database (a live run can be reported on). A damaged or unfinished run gives a report of what
  is there, with a "partial" banner; `StoreError` (one line) only when there is no database or
  the file is not SQLite.
- `write_report(run_dir, out=None) -> Path`: writes it to `out` (default `RUN_DIR/report.html`)
  and returns the path written.
"""

from __future__ import annotations

from pathlib import Path

from selftaught.report.data import RunData, load_run
from selftaught.report.html import render

__all__ = ["RunData", "build_report", "load_run", "write_report"]


def build_report(run_dir: Path) -> str:
    return render(load_run(Path(run_dir)))


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    html = build_report(run_dir)
    target = Path(out) if out is not None else Path(run_dir) / "report.html"
    if target.is_dir():  # `-o DIR`, as cp takes it: the report goes in there
        target = target / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never opens a half-written report.
    partial = target.with_name(f".{target.name}.tmp")
    try:
        partial.write_text(html, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        exc.filename = str(target)  # the path the user asked for, not the temporary one
        raise
    return target
