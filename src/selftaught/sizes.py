"""The size caps: how much of what a model or a program produced the host holds, sends and
stores (docs/reliability.md, "Size caps"). One place, so that the docs, the run's meta
(`size_caps`) and the code agree.

What a child sends is already bounded by its message cap (`sandbox.api.Limits.output_bytes`,
1 MB): a program it returns, a prompt it asks for, an output. What a language model sends is
bounded here: a reply is cut to `REPLY_CHARS` before it is stored or handed to anyone, and an
HTTP backend stops reading a response body past `REPLY_BODY_BYTES` (the host never holds more).
"""

from __future__ import annotations

# One model reply (one sample), in characters: 8 characters per token of the largest
# `max_tokens` (32,768) a run accepts, so an honest reply is never cut.
REPLY_CHARS = 262_144
# One HTTP response body of a model server (all n samples of a request, JSON-encoded).
REPLY_BODY_BYTES = 32 << 20
# One prompt (the expertise and the message of one request), in characters: about 25k tokens.
# An improver's call with a longer message is refused before anything is sent or spent.
PROMPT_CHARS = 100_000
# What an evaluator-form instance records beyond its score (its metrics, artifacts), as JSON.
RECORD_CHARS = 20_000


def as_dict() -> dict[str, int]:
    """The caps as a run records them in its meta (`size_caps`)."""
    return {
        "reply_chars": REPLY_CHARS,
        "reply_body_bytes": REPLY_BODY_BYTES,
        "prompt_chars": PROMPT_CHARS,
        "record_chars": RECORD_CHARS,
    }
