"""Which errors are the user's: bad input, one line saying what is wrong and how to fix it.

The command prints such an error's line and exits 2; the API raises it as `SelftaughtError`.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from selftaught.config import ConfigError
from selftaught.executors import ExecutorError
from selftaught.improvers import ImproverError
from selftaught.lm import LanguageModelError
from selftaught.lm.spec import ModelSpecError
from selftaught.store import StoreError
from selftaught.tasks import TaskError

USER_ERRORS = (
    ConfigError,
    ModelSpecError,
    LanguageModelError,
    StoreError,
    TaskError,
    ImproverError,
    ExecutorError,
)
