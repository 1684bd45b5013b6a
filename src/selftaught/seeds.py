"""Seeds derived from names: `derive_seed("compare", 0, 1)` is the same 31-bit seed on every
machine, process and Python version (no `hash()`, which is salted per process).

The parts are joined with "|" and hashed with SHA-256; the first four bytes, modulo 2**31 - 1
(or the `modulus` given), are the seed. Every seed the run derives (an improver child's, a
solution child's, a compare repeat's, a secret instance's, a language-model sample's) comes
from `seed_of`, so each is reproducible from what the run records.
"""

from __future__ import annotations

import hashlib


def seed_of(text: str, modulus: int = 2**31 - 1) -> int:
    """The seed named by `text`: its SHA-256's first four bytes modulo `modulus`."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % modulus


def derive_seed(*parts: object, modulus: int = 2**31 - 1) -> int:
    """The seed named by `parts`, joined with "|"."""
    return seed_of("|".join(str(part) for part in parts), modulus)
