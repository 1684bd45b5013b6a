"""The launch layer's options (launch/options.py) against the two faces made from them: every
option of a command the API mirrors is a keyword of its API function and back, with the same
default, except where the declaration says why not; and the same options given to either face
make the same configuration.

The faces are read as a user meets them: the command's options from the click command typer
builds, the API's keywords from `inspect.signature` of `selftaught.run`, `transfer`, ...
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer.main

import selftaught
from selftaught.api.keywords import command_values
from selftaught.cli import app
from selftaught.launch.options import MIRRORED, SAME, Given, Option
from selftaught.launch.settings import compare_settings, run_settings, transfer_settings

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _command_options(command: str) -> dict[str, object]:
    """The command's flag (or argument name) -> its default, as click parses it."""
    return {param.opts[0]: param.default for param in COMMANDS[command].params}


def _api_keywords(command: str) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(getattr(selftaught, command)).parameters)


def _declared(command: str) -> dict[str, Option]:
    return {option.name: option for option in MIRRORED[command][0]}


@pytest.mark.parametrize("command", sorted(MIRRORED))
def test_every_command_option_has_its_api_keyword_and_back(command: str) -> None:
    declared = _declared(command)
    by_flag = {option.flag: option for option in declared.values()}
    # A KeyError here: an option or keyword declared outside launch/options.py.
    on_cli = {by_flag[flag].name for flag in _command_options(command)}
    on_api = {declared[name].name for name in _api_keywords(command)}
    assert on_cli & on_api, command
    for name in on_cli ^ on_api:  # on one face only: declared so, with the reason
        option = declared[name]
        assert option.face == ("cli" if name in on_cli else "api"), (command, name)
        assert option.why, f"{command}: {option.flag} ({name}=) on one face only, and no reason"


@pytest.mark.parametrize("command", sorted(MIRRORED))
def test_an_option_on_both_faces_has_one_default(command: str) -> None:
    params = {param.opts[0]: param for param in COMMANDS[command].params}
    for name, keyword in _api_keywords(command).items():
        option = _declared(command)[name]
        if not option.on_cli or option.api_default is not SAME:
            continue  # evaluate's solution: the command needs a file, the API takes source
        param = params[option.flag]
        if keyword.default is inspect.Parameter.empty:
            assert param.required, (command, name)
        else:
            assert not param.required and param.default == keyword.default, (command, name)


def test_the_drifted_options_reach_both_faces() -> None:
    """`selftaught run --show-evaluator` had no `selftaught.run(show_evaluator=)` (issue 29)."""
    assert "--show-evaluator" in _command_options("run")
    assert _api_keywords("run")["show_evaluator"].default is False
    assert "serve_port" in _api_keywords("run")


def _cli_settings(command: str, *args: str):  # noqa: ANN202
    """The configuration the command makes of `args`, parsed by click, nothing run."""
    context = COMMANDS[command].make_context(command, list(args))
    return {"run": run_settings, "transfer": transfer_settings, "compare": compare_settings}[
        command
    ](Given(context.params))


def _api_settings(command: str, *args: object, **kwargs: object):  # noqa: ANN202
    """The configuration the API function makes of its arguments, nothing run."""
    bound = inspect.signature(getattr(selftaught, command)).bind(*args, **kwargs)
    bound.apply_defaults()
    values = command_values(command, Given(bound.arguments))
    return {"run": run_settings, "transfer": transfer_settings, "compare": compare_settings}[
        command
    ](values)


def test_run_options_make_the_same_configuration_on_both_faces(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cli = _cli_settings(
        "run", "--task", "parity", "--iterations", "2", "--seed", "7", "--show-evaluator",
        "--secret-seeds", "--max-dollars", "1.5", "--max-lm-calls", "9",
        "--model-option", "timeout=5", "--ray-address", "host:1", "--cache-from", str(cache),
        "--start-from", "beam_search", "--preset", "paper",
    )  # fmt: skip
    api = _api_settings(
        "run", "parity", iterations=2, seed=7, show_evaluator=True, secret_seeds=True,
        max_dollars=1.5, max_lm_calls=9, model_option={"timeout": 5}, ray_address="host:1",
        cache_from=cache, improver=Path("beam_search"), preset="paper",
    )  # fmt: skip
    assert api == cli
    assert cli.show_evaluator and cli.secret_seeds and cli.executor == "ray"
    assert (cli.caps.dollars, cli.caps.calls, cli.iterations) == (1.5, 9, 2)
    assert cli.cache_from == str(cache.resolve()) and cli.improver == "beam_search"


def test_the_studies_make_the_same_configuration_on_both_faces() -> None:
    cli = _cli_settings("transfer", "--improver", "seed", "--tasks", "lpn", "--repeats", "2")
    api = _api_settings("transfer", "seed", "lpn", repeats=2)
    assert api == cli and (cli.iterations, cli.budgets.repetitions) == (0, 2)
    cli = _cli_settings("compare", "--improvers", "seed,ucb", "--max-tokens", "64")
    api = _api_settings("compare", ["seed", "ucb"], max_tokens=64)
    assert api == cli and cli.budgets.max_tokens == 64
