"""Run settings from a TOML file: the `file` layer of `config.build_config`.

    task = "lpn"
    repetitions = 2
    [model_options]
    timeout = 60
    extra_body = { top_k = 40 }

Keys are RunConfig's fields with the budgets flat (as on the command line) and the tables
[caps], [limits] and [model_options]. Every key and the type of its value are checked here, so
that a bad file is one line naming the key; relative paths are made relative to the file.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError

from selftaught.config import Budgets, Caps, ConfigError, Limits, RunConfig, split_tasks
from selftaught.lm.base import LanguageModelError
from selftaught.lm.options import ModelOptions

TABLES: dict[str, type[BaseModel]] = {"caps": Caps, "limits": Limits}


def file_keys() -> dict[str, Any]:
    """The top-level keys of a config file and their types: RunConfig's fields with the
    budgets flat (as on the command line), and the tables [caps], [limits], [model_options]."""
    nested = ("budgets", *TABLES, "model_options")
    keys = {name: f.annotation for name, f in RunConfig.model_fields.items() if name not in nested}
    keys.update({name: f.annotation for name, f in Budgets.model_fields.items()})
    return {**keys, **dict.fromkeys((*TABLES, "model_options"), dict)}


def load_config_file(path: Path | str) -> dict[str, Any]:
    """The settings a TOML config file holds, checked, as build_config's `file` layer.

    Unknown keys and values of the wrong type are a ConfigError naming the key. Paths are
    relative to the file's directory. `[model_options]` becomes KEY=VALUE pairs, each VALUE
    JSON-encoded so that ModelOptions.from_pairs reads back exactly what the file says.
    """
    path = Path(path)
    where = f"config file {path}"
    raw = _read_toml(path, where)
    _check_table(raw, file_keys(), where)
    for name, model in TABLES.items():
        types = {key: field.annotation for key, field in model.model_fields.items()}
        _check_table(raw.get(name, {}), types, f"{where} [{name}]")
    if "model_options" in raw:
        raw["model_options"] = _option_pairs(raw["model_options"], where)
    return _resolve_paths(raw, path.parent)


def _read_toml(path: Path, where: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {_at_line(exc, path)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not UTF-8 text: {exc.reason}") from None


def _at_line(exc: tomllib.TOMLDecodeError, path: Path) -> str:
    """tomllib's message, which says the line except at the end of the document."""
    message = str(exc)
    if "(at end of document)" in message:
        last = len(path.read_bytes().splitlines()) or 1
        message = message.replace("(at end of document)", f"(at end of document, line {last})")
    return message


def _check_table(
    table: dict[str, Any], types: dict[str, Any], where: str, what: str = "key"
) -> None:
    """Every key of `table` is one of `types`, and its value is of that type exactly."""
    for key, value in table.items():
        if key not in types:
            raise ConfigError(f"{where}: unknown {what} {key!r}; known: {', '.join(types)}")
        try:
            TypeAdapter(types[key]).validate_python(value, strict=True)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].lower()
            raise ConfigError(f"{where}: {key} = {value!r}: {reason}") from None


def _option_pairs(options: dict[str, Any], where: str) -> tuple[str, ...]:
    """[model_options] as KEY=VALUE pairs that ModelOptions.from_pairs accepts."""
    types = get_type_hints(ModelOptions)
    _check_table(options, types, f"{where} [model_options]", what="model option")
    pairs = tuple(f"{key}={json.dumps(value, default=str)}" for key, value in options.items())
    try:
        ModelOptions.from_pairs(list(pairs))
    except LanguageModelError as exc:
        raise ConfigError(f"{where} [model_options]: {exc}") from None
    return pairs


def _resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """Task and improver files, the model's file and cache_from, relative to `base`."""
    resolved = dict(values)
    if values.get("task", "").strip():
        resolved["task"] = ",".join(_near(base, spec) for spec in split_tasks(values["task"]))
    if "improver" in values:
        resolved["improver"] = _near(base, values["improver"])
    if "model" in values:
        resolved["model"] = _model_near(base, values["model"])
    if "cache_from" in values:
        resolved["cache_from"] = str((base / Path(values["cache_from"]).expanduser()).resolve())
    return resolved


def _near(base: Path, spec: str) -> str:
    """`spec` resolved against `base` if it names a file or directory, not a built-in name."""
    path = Path(spec).expanduser()
    if spec.endswith(".py") or "/" in spec or (base / path).exists():
        return str((base / path).resolve())
    return spec


def _model_near(base: Path, spec: str) -> str:
    """A model spec's file or run directory (llamacpp:, python:FILE.py:, replay:) near `base`."""
    kind, _, rest = spec.partition(":")
    module, sep, function = rest.rpartition(":")
    if kind in ("llamacpp", "replay") and rest:
        return f"{kind}:{(base / Path(rest).expanduser()).resolve()}"
    if kind == "python" and sep and module.endswith(".py"):
        return f"python:{(base / Path(module).expanduser()).resolve()}:{function}"
    return spec
