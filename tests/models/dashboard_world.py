"""The world of the dashboard tests, `python:tests/models/dashboard_world.py:respond`: the STOP
world of stop_world.py, slowed down and hostile to a browser.

DASHBOARD_WORLD=safety_world: that world instead (improvers that try every trick). Each call
sleeps DASHBOARD_SLEEP seconds (default 0.5) first, so that a page can watch the run
as it goes. Every program the model writes carries a comment holding markup that would run
script if a page inserted it as HTML (`</script><script>`, `<img src=x onerror=...>`) and an
ANSI escape: the dashboard must show it as text.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path


def _load(name: str):  # noqa: ANN202 - a module
    """A world of tests/models by path: the model file is loaded on its own, without
    tests/models on sys.path."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stop_world = _load("stop_world")
# DASHBOARD_WORLD=safety_world: the world whose improvers try every trick (safety events).
WORLD = _load(os.environ.get("DASHBOARD_WORLD", "stop_world"))

HOSTILE = (
    "# </script><script>window.__pwned = 1</script>"
    ' <img src=x onerror="window.__pwned = 2"> \x1b[31mred\x1b[0m\n'
)


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    time.sleep(float(os.environ.get("DASHBOARD_SLEEP", "0.5")))
    answers = WORLD.respond(system, user, n, temperature)
    return [a.replace("```python\n", "```python\n" + HOSTILE, 1) for a in answers]


# For `selftaught.run(model=watching, serve=True)` (tests/dashboard): the test points PRINTED
# at what the run prints on stderr; on its first call the model reads the dashboard's runs
# list from the URL printed there, into SEEN, while the run is in progress.
PRINTED: list = []
SEEN: list = []


def watching(system: str, user: str, n: int, temperature: float) -> list[str]:
    if not SEEN and PRINTED:
        import dashboard_runs

        url = PRINTED[0].getvalue().split("dashboard: ", 1)[1].split()[0]
        base, token = url.split("/?token=")
        SEEN.extend(dashboard_runs.first_event(f"{base}/events?token={token}", "runs"))
    return stop_world.respond(system, user, n, temperature)
