"""The SDK loader: the import and the client are built in a thread; `get()` gives the result or
the one-line error, however the build failed."""

from __future__ import annotations

import threading

import pytest

from selftaught.lm.base import LanguageModelError
from selftaught.lm.openai_backend import OpenAIBackend
from selftaught.lm.sdk_loader import SdkLoader, import_sdk


def test_the_build_runs_in_another_thread_and_get_waits_for_it():
    started = threading.Event()
    release = threading.Event()

    def build() -> str:
        started.set()
        release.wait(10)
        return threading.current_thread().name

    loader = SdkLoader("x:m", build)
    assert started.wait(10)  # running before anyone asked for it
    release.set()
    assert loader.get() == "selftaught-x:m"
    assert loader.get() == "selftaught-x:m"  # built once


def test_a_failed_build_is_one_line_every_time_it_is_asked():
    loader = SdkLoader("x:m", lambda: import_sdk("no_such_sdk_module", "x:m", ": pip install it"))
    for _ in range(2):
        with pytest.raises(LanguageModelError, match=r"x:m needs the no_such_sdk_module package"):
            loader.get()
    broken = SdkLoader("x:m", lambda: 1 / 0)
    with pytest.raises(LanguageModelError, match=r"^x:m: ZeroDivisionError: division by zero$"):
        broken.get()


def test_an_unusable_base_url_is_reported_by_ready_and_close_still_works():
    backend = OpenAIBackend("m", base_url="http://999.1.1.1:8000/v1")  # no error yet: loading
    with pytest.raises(LanguageModelError, match="is not a usable URL"):
        backend.ready()
    backend.close()  # nothing was opened; nothing to close, and no error
