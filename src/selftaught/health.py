"""`selftaught doctor`: what works on this machine, and whether a run directory is healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from selftaught.lm import describe_models
from selftaught.sandbox import doctor_report as sandbox_report
from selftaught.store import RunReader


def doctor_report(
    run_dir: Path | None = None, executor: str | None = None, ray_address: str | None = None
) -> dict[str, Any]:
    """This machine's sandbox and models, a run's health (`run_dir`) and, with
    `executor="ray"`, the sandbox of every node of the cluster, as each node sees it."""
    report: dict[str, Any] = {"sandbox": sandbox_report(), "models": describe_models()}
    if executor not in (None, "local"):
        report["nodes"] = node_reports(executor, ray_address)
    if run_dir is not None:
        report["run"] = run_health(run_dir)
    return report


def node_reports(executor: str, ray_address: str | None) -> dict[str, Any]:
    """The sandbox report of each node of the cluster, by node name."""
    from selftaught.executors import ExecutorError, open_executor

    cluster = open_executor(executor, address=ray_address)
    try:
        doctor = getattr(cluster, "doctor", None)
        if doctor is None:
            raise ExecutorError(f"the {executor} executor has no per-node report")
        return doctor()
    finally:
        cluster.close()


def run_health(run_dir: Path) -> dict[str, Any]:
    """Integrity and contents of a run's database (raises StoreError when unusable)."""
    with RunReader.open(run_dir) as store:
        return {
            "path": str(store.path),
            "integrity": store.integrity(),
            "finished": bool(store.get_meta("finished")),
            "iterations": len(store.iterations()),
            "lm_usage": store.lm_usage(),
            "evaluations": store.count("evaluations"),
            "safety_events": store.count("events"),
        }


def render_report(report: dict[str, Any]) -> Group:
    parts = _sandbox_parts(report["sandbox"], "sandbox")
    for name, node in report.get("nodes", {}).items():
        parts += _sandbox_parts(node, f"sandbox on Ray node {name}")
    models = Table("kind", "available", "detail", title="language models")
    for row in report["models"]:
        models.add_row(str(row.get("kind")), str(row.get("available")), str(row.get("detail", "")))
    parts.append(models)
    if "run" in report:
        run = Table("run", "value", title="run directory")
        for key, value in report["run"].items():
            run.add_row(key, str(value))
        parts.append(run)
    return Group(*parts)


def _readable_line(readable: dict[str, Any]) -> Text:
    roots = ", ".join(str(r) for r in readable.get("roots", []))
    how = "enforced by Landlock" if readable.get("enforced") else "NOT enforced"
    cwd = readable.get("working_directory")
    cwd = {"PermissionError": "unreadable", "allowed": "READABLE"}.get(str(cwd), str(cwd))
    return Text(f"children may read: {roots} ({how}); the working directory: {cwd}")


def _sandbox_parts(sandbox: dict[str, Any], title: str) -> list[Any]:
    parts: list[Any] = []
    layers = Table("isolation layer", "works", "why not", title=title)
    for name, layer in sandbox.get("layers", {}).items():
        layers.add_row(name, "yes" if layer.get("ok") else "no", str(layer.get("why") or ""))
    parts.append(layers)
    profiles = Table("confinement profile", "works", "for", "what it allows", title="profiles")
    for name, profile in sandbox.get("profiles", {}).items():
        about = str(profile.get("about", ""))
        if "process_bound" in profile:
            about += f"; processes bounded by: {profile['process_bound']}"
        if not profile.get("ok") and "probe" in profile:
            about += f"; probe: {profile['probe']}"
        works = "yes" if profile.get("ok") else "no"
        profiles.add_row(name, works, str(profile.get("used_by", "")), about)
    parts.append(profiles)
    if "readable" in sandbox:
        parts.append(_readable_line(sandbox["readable"]))
    extra = {k: v for k, v in sandbox.items() if k not in ("layers", "profiles", "readable")}
    for key, value in extra.items():
        parts.append(f"{key}: {value}")
    return parts
