"""Run settings from a TOML file: the `file` layer of `config.build_config`.

    task = "lpn"
    repetitions = 2
    [model_options]
    timeout = 60
    extra_body = { top_k = 40 }

Keys are RunConfig's fields with the budgets flat (as on the command line) and the tables
[caps], [limits] and [model_options]. Every key and the type of its value are checked here, so
that a bad file is one line naming the key; relative paths are made relative to the file.

`dump_config(config)` writes such a file (stdlib reads TOML but does not write it; the few value
types a config holds are written here).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError

from selftaught.config import (
    Budgets,
    Caps,
    ConfigError,
    RunConfig,
    RunLimits,
    parse_config,
    split_tasks,
)
from selftaught.lm.base import LanguageModelError
from selftaught.lm.options import ModelOptions
from selftaught.user_code import UserFileError, read_text

TABLES: dict[str, type[BaseModel]] = {"caps": Caps, "limits": RunLimits}


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
        return tomllib.loads(read_text(path))  # a FIFO or /dev/zero is refused, not read
    except UserFileError as exc:
        raise ConfigError(f"cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {_at_line(exc, path)}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError(f"{where} nests arrays or tables too deeply to read") from None


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
    embedded_name = kind == "llamacpp" and not rest.lower().endswith(".gguf")
    if kind in ("llamacpp", "replay") and rest and not embedded_name:
        return f"{kind}:{(base / Path(rest).expanduser()).resolve()}"
    if kind == "python" and sep and module.endswith(".py"):
        return f"python:{(base / Path(module).expanduser()).resolve()}:{function}"
    return spec


# ------------------------------------------------------------------------------ writing

HEADER = "# A selftaught run configuration: selftaught run --config THIS_FILE"
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def dump_config(config: RunConfig | dict[str, Any]) -> str:
    """TOML text holding every field of `config` (a RunConfig, or one recorded as JSON).

    Contract: for a file `path` holding this text, `build_config(file=load_config_file(path))
    == config`, provided the config's paths are absolute, as a recorded config's are (the
    loader reads relative paths relative to the file). Fields at their defaults are written
    too, so that the file does not depend on defaults that may change; None is left out (TOML
    has no null, and None is the default of every field that may hold it). [model_options]
    holds each KEY=VALUE pair's VALUE as the JSON it is, so the pairs read back equal to those
    recorded when they are in json.dumps form, as a config file's and most command lines' are
    (`{"a":1}` comes back as `{"a": 1}`: the same options). A ConfigError says why when
    `config` is not a valid configuration or holds what TOML cannot (a null in extra_body).
    """
    if not isinstance(config, RunConfig):
        config = _recorded(config)
    values = config.model_dump()
    nested = ("budgets", *TABLES, "model_options")
    lines = [HEADER, *_assignments({k: v for k, v in values.items() if k not in nested})]
    lines += ["", "# budgets of one improver invocation (flat, as on the command line)"]
    lines += _assignments(values["budgets"])
    tables = {name: values[name] for name in TABLES}
    tables["model_options"] = _option_values(config.model_options)
    for name, table in tables.items():
        body = _assignments(table, f"{name}.")
        if body:
            lines += ["", f"[{name}]", *body]
    return "\n".join(lines) + "\n"


def _recorded(values: dict[str, Any]) -> RunConfig:
    """A recorded config, checked as any other except its task: resolving a task file imports
    it, and the file may be gone or on another machine; the TOML needs only the spec."""
    task = values.get("task", RunConfig.model_fields["task"].default)
    if not isinstance(task, str):
        raise ConfigError(f"invalid task: {task!r} is not a task name or path")
    builtin = RunConfig.model_fields["task"].default
    return parse_config({**values, "task": builtin}).model_copy(update={"task": task})


def _assignments(table: dict[str, Any], where: str = "") -> list[str]:
    """`key = value` lines for the values of `table` that are not None."""
    return [
        f"{_toml_key(key)} = {_toml_value(value, where + key)}"
        for key, value in table.items()
        if value is not None
    ]


def _option_values(pairs: tuple[str, ...]) -> dict[str, Any]:
    """[model_options] from KEY=VALUE pairs: each VALUE as the JSON it is (what from_pairs
    reads), or, when the loader would refuse that as is (".5" is text, not a float; 1 is not
    a bool), the value the option took, as the option's type."""
    types = get_type_hints(ModelOptions)
    try:
        options = ModelOptions.from_pairs(list(pairs))
    except LanguageModelError as exc:
        raise ConfigError(f"model_options: {exc}") from None
    values: dict[str, Any] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        adapter = TypeAdapter(types[name.strip()])
        try:
            value: Any = json.loads(text)
            adapter.validate_python(value, strict=True)
        except (json.JSONDecodeError, ValidationError):
            try:
                value = adapter.validate_python(getattr(options, name.strip()))
            except ValidationError as exc:
                reason = exc.errors()[0]["msg"].lower()
                raise ConfigError(f"model_options.{name.strip()}: {reason}") from None
        values[name.strip()] = value
    return values


def _toml_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else _toml_string(key, key)


def _toml_value(value: Any, where: str) -> str:
    """One TOML value: lists as arrays and dicts as inline tables, at any depth."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # valid TOML for every float: 0.5, 1e-05, 1e+16, inf, -inf, nan
    if isinstance(value, str):
        return _toml_string(value, where)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, dict):
        items = [
            f"{_toml_key(str(k))} = {_toml_value(v, f'{where}.{k}')}" for k, v in value.items()
        ]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    what = "null" if value is None else type(value).__name__
    raise ConfigError(f"{where} = {value!r}: TOML cannot hold a {what}")


def _toml_string(text: str, where: str) -> str:
    """A basic string: quote, backslash and control characters escaped, the rest as is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{where}: {text!r} is not Unicode text (a lone surrogate)") from None
    out = []
    for char in text:
        if char in ESCAPES:
            out.append(ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
