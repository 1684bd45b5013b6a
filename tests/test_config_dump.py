"""dump_config: a run's whole configuration as TOML that `selftaught run --config` reads back
equal, written by our own writer (stdlib has none)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import report_runs as support
from conftest import SCRIPTED, last_json, run_cli

from selftaught.config import ConfigError, RunConfig, build_config, parse_config
from selftaught.config_file import dump_config, file_keys, load_config_file
from selftaught.lm.options import ModelOptions
from selftaught.report import load_run

finished_run = support.finished_run

# Every kind of value extra_body may hold, and strings that need each escape TOML has.
EXTRA_BODY = {
    "chat_template_kwargs": {"enable_thinking": False, "deep": {"n": [1, 2.5, "x", True, [], {}]}},
    "system": 'say "hi" \\ C:\\dir\nnext line\ttab\r ünïcødé ✓ 𝄞 \x01 \x7f end',
    "a.b c": -3,
    "": "an empty key",
    "big": 1e300,
}


def _paths(tmp: Path) -> RunConfig:
    improver = tmp / "my impr ü.py"
    improver.write_text("def improve_algorithm(s, u, l):\n    return s\n", encoding="utf-8")
    return build_config(
        task="lpn,maxcut",
        model=SCRIPTED,
        base_url="http://localhost:8080/v1",
        improver=str(improver),
        cache_from=str(tmp / 'other run "q" \\ é'),
        concurrency=3,
    )


CONFIGS: dict[str, Callable[[Path], RunConfig]] = {
    "defaults": lambda tmp: build_config(),
    "paper with every budget changed": lambda tmp: build_config(
        "paper",
        iterations=7,
        responses_per_call=3,
        lm_calls=5,
        utility_calls=11,
        meta_utility_calls=13,
        repetitions=4,
        temperature=0.35,
        max_tokens=777,
    ),
    "caps and limits": lambda tmp: build_config(
        caps={"calls": 10, "tokens": 5000, "dollars": 2.5, "seconds": float("inf")},
        limits={"improver_seconds": 30.5, "improver_memory_mb": 512, "solution_memory_mb": 256},
    ),
    "model options": lambda tmp: build_config(
        model_options=(
            "timeout=60",
            f"extra_body={json.dumps(EXTRA_BODY)}",
            "send_seed=false",
            "temperature=1",
            "retries=0",
        )
    ),
    "sandbox flag and secret seeds": lambda tmp: build_config(
        sandbox_flag=True,
        sandbox_warning=True,
        secret_seeds=True,
        sandbox="subprocess",
        gate="paper",
        seed=2**31 - 1,
    ),
    "paths, cache_from and concurrency": _paths,
}


def _load(text: str, path: Path) -> RunConfig:
    path.write_text(text, encoding="utf-8")
    return build_config(file=load_config_file(path))


@pytest.mark.parametrize("name", CONFIGS)
def test_a_dumped_config_reads_back_equal(name: str, tmp_path: Path) -> None:
    tmp = tmp_path.resolve()  # the loader resolves paths: compare with resolved ones
    config = CONFIGS[name](tmp)
    text = dump_config(config)
    assert _load(text, tmp / "reproduce.toml") == config
    # A recorded config is its JSON form: it dumps to the same text.
    assert dump_config(config.model_dump(mode="json")) == text


def test_every_field_is_written_and_none_is_left_out(tmp_path: Path) -> None:
    config = CONFIGS["caps and limits"](tmp_path)
    values = tomllib.loads(dump_config(config))
    # None or empty
    unset = {"base_url", "cache_from", "concurrency", "model_options", "ray_address"}
    assert set(values) == set(file_keys()) - unset
    assert values["caps"] == {"calls": 10, "tokens": 5000, "dollars": 2.5, "seconds": float("inf")}
    assert values["limits"]["solution_memory_mb"] == 256 and values["preset"] == "quick"


def test_strings_and_nested_tables_are_written_as_toml(tmp_path: Path) -> None:
    text = dump_config(CONFIGS["model options"](tmp_path))
    options = tomllib.loads(text)["model_options"]
    assert options["extra_body"] == EXTRA_BODY
    assert (options["timeout"], options["send_seed"], options["temperature"]) == (60, False, 1)
    assert "\\u0001" in text and "\\u007F" in text and "ünïcødé ✓ 𝄞" in text
    assert '"a.b c" = -3' in text and '"" = "an empty key"' in text


def test_option_values_that_are_not_json_are_written_as_what_they_set(tmp_path: Path) -> None:
    pairs = ("temperature=.5", 'timeout="90"', "send_seed=0", "extra_body={}")
    config = build_config(model_options=pairs)
    text = dump_config(config)
    assert "temperature = 0.5\n" in text and "timeout = 90.0\n" in text
    back = _load(text, tmp_path / "r.toml").model_options
    assert ModelOptions.from_pairs(list(back)) == ModelOptions.from_pairs(list(pairs))


def test_a_recorded_task_file_is_not_imported_or_required(tmp_path: Path) -> None:
    recorded = build_config().model_dump(mode="json")
    recorded["task"] = str(tmp_path / "gone" / "task.py")  # deleted since, or another machine
    assert f'task = "{tmp_path}/gone/task.py"' in dump_config(recorded)


def test_what_toml_cannot_hold_is_a_one_line_config_error() -> None:
    config = build_config(model_options=('extra_body={"stop": null}',))
    with pytest.raises(ConfigError, match=r"model_options\.extra_body\.stop = None: .*null"):
        dump_config(config)
    with pytest.raises(ConfigError, match="budgets"):
        dump_config({"task": "lpn", "iterations": 3})  # a damaged record


def test_the_recorded_config_of_a_real_run_reruns_exactly(
    finished_run: Path, tmp_path: Path
) -> None:
    recorded = load_run(finished_run).config
    path = tmp_path / "reproduce.toml"
    assert _load(dump_config(recorded), path) == parse_config(recorded)
    rerun = tmp_path / "rerun"
    result = run_cli("run", "--config", str(path), "--run-dir", str(rerun), "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    assert load_run(rerun).config == recorded
    first = [r.meta_utility_val for r in load_run(finished_run).iterations]
    assert [r["meta_utility_val"] for r in last_json(result.stdout)["iterations"]] == first
