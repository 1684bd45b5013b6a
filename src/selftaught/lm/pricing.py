"""Dollar cost of language-model calls, from a price table the user can extend.

Prices are US dollars per million input (prompt) and output (completion) tokens. The built-in
table holds list prices of a few common models at the time of writing; a user's file adds or
overrides entries. The file is TOML or JSON, one entry per model:

    # prices.toml                               // prices.json
    ["gpt-4o-mini"]                             {"gpt-4o-mini": {"input": 0.15, "output": 0.6},
    input = 0.15                                 "openai:my-finetune": {"input": 0.3,
    output = 0.6                                                        "output": 1.2}}

and is given by path (`load_prices(path)`) or in the SELFTAUGHT_PRICES environment variable.
A key is a model name, optionally with its kind ("anthropic:claude-3-5-haiku"); a model is found
by its exact name first, then by the longest key that is a prefix of it at a "-" boundary, so
that dated versions ("gpt-4o-mini-2024-07-18") take their family's price. Local kinds
(llamacpp, python, replay) cost nothing.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.lm.base import LanguageModelError
from selftaught.user_code import UserFileError, read_text

PRICES_ENV = "SELFTAUGHT_PRICES"
FREE_KINDS = ("llamacpp", "python", "replay")

# $ per 1M tokens (input, output): providers' list prices; override them in a price file.
BUILTIN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),  # the paper's model (gpt-4-0314)
    "gpt-3.5-turbo": (0.50, 1.50),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
}


@dataclass(frozen=True)
class Price:
    input: float  # $ per 1M prompt tokens
    output: float  # $ per 1M completion tokens

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


class PriceTable:
    """Model name -> Price; `price(identity)` finds the entry for a backend identity."""

    def __init__(self, entries: dict[str, Price] | None = None):
        self.entries: dict[str, Price] = {
            name: Price(*pair) for name, pair in BUILTIN_PRICES.items()
        }
        self.entries.update(entries or {})

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """Built-in prices, plus `path` if given, else plus SELFTAUGHT_PRICES if set."""
        source = path if path is not None else os.environ.get(PRICES_ENV) or None
        return cls(load_prices(Path(source)) if source else None)

    def price(self, identity: str) -> Price | None:
        """The price for "kind:model" (an identity, maybe with "@digest" or "|options" after);
        Price(0, 0) for local kinds; None when the table has no entry."""
        kind, _, rest = identity.partition(":")
        if kind in FREE_KINDS:
            return Price(0.0, 0.0)
        model = rest.split("|", 1)[0].split("@", 1)[0]
        for name in (f"{kind}:{model}", model):
            if name in self.entries:
                return self.entries[name]
        best: str | None = None
        for name in self.entries:
            bare = name.partition(":")[2] if name.startswith(f"{kind}:") else name
            if ":" in bare:
                continue  # another kind's entry
            if model.startswith(bare + "-") and (best is None or len(bare) > len(best)):
                best = name
        return self.entries[best] if best else None

    def cost(self, identity: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.price(identity)
        return None if price is None else price.cost(prompt_tokens, completion_tokens)


def load_prices(path: Path) -> dict[str, Price]:
    """Entries of a TOML or JSON price file; a bad file is a one-line LanguageModelError."""
    try:
        text = read_text(path)  # a FIFO or a device is refused, not read
    except UserFileError as exc:
        raise LanguageModelError(f"price file {exc}") from None
    try:
        data: Any = json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise LanguageModelError(f"price file {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise LanguageModelError(f"price file {path} must map model names to prices")
    entries: dict[str, Price] = {}
    for name, value in data.items():
        if not isinstance(value, dict) or not {"input", "output"} <= set(value):
            raise LanguageModelError(
                f"price file {path}: {name!r} needs input and output ($ per 1M tokens)"
            )
        try:
            entries[name] = Price(float(value["input"]), float(value["output"]))
        except (TypeError, ValueError):
            raise LanguageModelError(
                f"price file {path}: {name!r} prices must be numbers"
            ) from None
    return entries
