"""Run-wide caps on what the language model may spend: paid calls, tokens, dollars, wall time.

The broker checks the caps before every request that needs the backend (a cache hit is always
served) and raises RunCapReached instead of sending it. The run then stops like on any language
model error, with everything paid for stored, and resumes later under a larger cap: what earlier
sessions of the run spent is read back from its store (`spent_in_store`), so a cap holds for the
run as a whole. A cap stops the next request once reached. Requests in flight count against the
calls cap. The dollars cap counts a request's worst case before sending it (`worst_case`: its
prompt tokens estimated at one per `CHARS_PER_TOKEN` characters, plus `max_tokens` for every
sample asked, at the model's price), with the worst cases of the requests in flight; what it
really cost replaces the estimate once it returns. The tokens cap is known only when a request
returns, so the requests in flight when it was crossed may overshoot it (by at most the
backend's concurrency in requests).

Wall time is the time the run's brokers were open, summed over sessions and kept in the run's
meta under "lm_elapsed_seconds".
"""

from __future__ import annotations

from dataclasses import dataclass

from selftaught.lm.base import LanguageModelError
from selftaught.lm.pricing import Price
from selftaught.store import RunStore

ELAPSED_KEY = "lm_elapsed_seconds"
RESUME_HINT = (
    "stopped before paying for another request; everything paid for is kept, and the run"
    " resumes with a larger cap"
)


class RunCapReached(LanguageModelError):
    """A run-wide cap is reached; the run stops cleanly and can resume under a larger cap."""


@dataclass(frozen=True)
class SpendingCaps:
    """Limits for a whole run; None means no limit."""

    calls: int | None = None  # requests that needed the backend
    tokens: int | None = None  # prompt + completion tokens paid for
    dollars: float | None = None  # cost by the price table
    seconds: float | None = None  # wall time of the run's sessions

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.calls, self.tokens, self.dollars, self.seconds))


@dataclass
class Spent:
    """What the run has paid for so far (earlier sessions included)."""

    calls: int = 0
    tokens: int = 0
    dollars: float = 0.0
    seconds: float = 0.0

    def reached(self, caps: SpendingCaps, calls_wanted: int = 1) -> str | None:
        """A one-line reason if a cap is reached (or `calls_wanted` more paid calls would pass
        the calls cap), else None."""
        if caps.calls is not None and self.calls + calls_wanted > caps.calls:
            return (
                f"run cap reached: {self.calls} paid calls spent of the calls cap {caps.calls}"
                f" ({calls_wanted} more wanted); {RESUME_HINT}"
            )
        checks = (
            ("tokens", caps.tokens, self.tokens, "tokens", "{:d}"),
            ("dollars", caps.dollars, self.dollars, "dollars", "{:.4f}"),
            ("seconds", caps.seconds, self.seconds, "seconds of wall time", "{:.0f}"),
        )
        for name, cap, spent, what, form in checks:
            if cap is not None and spent >= cap:
                return (
                    f"run cap reached: {form.format(spent)} {what} spent of the {name} cap"
                    f" {cap}; {RESUME_HINT}"
                )
        return None


# A prompt's tokens, estimated before sending: English and code run 3.5 to 4.5 characters per
# token in the common tokenizers; 3 errs towards counting more, so the cap is not passed.
CHARS_PER_TOKEN = 3


def worst_case(price: Price, prompt_chars: int, samples: int, max_tokens: int) -> float:
    """The most a request may cost: estimated prompt tokens, and every sample at max_tokens."""
    return price.cost(-(-prompt_chars // CHARS_PER_TOKEN), samples * max_tokens)


def passes_dollars(caps: SpendingCaps, spent: float, in_flight: float, worst: float) -> str | None:
    """A one-line reason if a request whose worst case is `worst` could pass the dollars cap,
    with `spent` paid and `in_flight` the worst cases of the requests not yet returned."""
    if caps.dollars is None or spent + in_flight + worst <= caps.dollars:
        return None
    return (
        f"run cap reached: {spent:.4f} dollars spent, {in_flight:.4f} in flight, and the next "
        f"request's worst case is {worst:.4f} (its prompt, and max tokens for every sample), "
        f"which could pass the dollars cap {caps.dollars}; {RESUME_HINT}"
    )


def spent_in_store(store: RunStore | None) -> Spent:
    """What earlier sessions recorded as paid in `store`'s lm_calls (`RunQueries.spent`) and
    elapsed in its meta."""
    if store is None:
        return Spent()
    calls, tokens, dollars = store.spent()
    seconds = store.get_meta(ELAPSED_KEY)
    return Spent(
        calls=int(calls),
        tokens=int(tokens),
        dollars=float(dollars),
        seconds=float(seconds) if isinstance(seconds, int | float) else 0.0,
    )
