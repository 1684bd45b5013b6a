"""An echo language model for the `python:` backend, used by tests/test_lm_*.py.

Each response names the request and a running number, so that a response produced by a second
call can never equal one read back from the cache. CALLS records every call for the tests.
"""

CALLS: list[tuple[str, str, int, float]] = []


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    CALLS.append((system, user, n, temperature))
    return [f"{user}#{len(CALLS)}.{k}" for k in range(n)]


def wrong_count(system: str, user: str, n: int, temperature: float) -> list[str]:
    return ["only one"]


def not_strings(system: str, user: str, n: int, temperature: float) -> list[int]:
    return list(range(n))


def broken(system: str, user: str, n: int, temperature: float) -> list[str]:
    raise RuntimeError("the scripted model\nfailed on purpose")


def slow(system: str, user: str, n: int, temperature: float) -> list[str]:
    """`respond`, a second late: a model call that takes time the improver does not spend."""
    import time

    time.sleep(1.0)
    return respond(system, user, n, temperature)
