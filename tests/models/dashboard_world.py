"""The world of the dashboard tests, `python:tests/models/dashboard_world.py:respond`: the STOP
world of stop_world.py, slowed down and hostile to a browser.

Each call sleeps DASHBOARD_SLEEP seconds (default 0.5) first, so that a page can watch the run
as it goes. Every program the model writes carries a comment holding markup that would run
script if a page inserted it as HTML (`</script><script>`, `<img src=x onerror=...>`) and an
ANSI escape: the dashboard must show it as text.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

# By path: the model file is loaded on its own, without tests/models on sys.path.
_spec = importlib.util.spec_from_file_location(
    "stop_world", Path(__file__).with_name("stop_world.py")
)
stop_world = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stop_world)

HOSTILE = (
    "# </script><script>window.__pwned = 1</script>"
    ' <img src=x onerror="window.__pwned = 2"> \x1b[31mred\x1b[0m\n'
)


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    time.sleep(float(os.environ.get("DASHBOARD_SLEEP", "0.5")))
    answers = stop_world.respond(system, user, n, temperature)
    return [a.replace("```python\n", "```python\n" + HOSTILE, 1) for a in answers]
