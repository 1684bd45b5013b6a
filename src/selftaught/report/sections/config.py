"""The configuration section: how to reproduce the run (a command line, and exactly: a config
file), its configuration and its metadata."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from selftaught.config import ConfigError
from selftaught.config_file import dump_config
from selftaught.report.command import reproduce_command
from selftaught.report.data import RunData


def configuration(data: RunData) -> str:
    """The reproducing command line with notes on what it cannot express, the config file
    that reproduces the run exactly, the model's identity, and the recorded configuration and
    metadata as JSON."""
    command, notes = reproduce_command(data.config)
    out = []
    if command:
        out.append(f'<h3>Reproduce</h3><pre class="command" id="command">{escape(command)}</pre>')
    out.extend(f'<p class="note">{escape(n)}</p>' for n in notes)
    if data.config:
        out.append(_config_file(data.config))
    if data.meta.get("model_identity"):
        out.append(
            f"<p>model identity: <code>{escape(str(data.meta['model_identity']))}</code></p>"
        )
    meta = {k: v for k, v in data.meta.items() if k != "config"}
    out.append(
        '<h3>Configuration</h3><pre class="json">'
        + escape(json.dumps(data.config, indent=2, sort_keys=True))
        + "</pre>"
    )
    out.append(
        '<h3>Run metadata</h3><pre class="json">'
        + escape(json.dumps(meta, indent=2, sort_keys=True, default=str))
        + "</pre>"
    )
    return "".join(out)


def _config_file(config: dict[str, Any]) -> str:
    """The recorded config as TOML, to save and run with --config; a note when it cannot be
    written (a config that no longer validates, a value TOML cannot hold)."""
    try:
        text = dump_config(config)
    except ConfigError as exc:
        reason = escape(str(exc))
        return f'<p class="note">the configuration cannot be written as a config file: {reason}</p>'
    return (
        "<p>or exactly: save this as <code>reproduce.toml</code> and run "
        "<code>selftaught run --config reproduce.toml</code></p>"
        f'<pre class="toml" id="reproduce-toml">{escape(text)}</pre>'
    )
