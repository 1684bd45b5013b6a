"""Seeds derived from names: `derive_seed("compare", 0, 1)` is the same 31-bit seed on every
machine, process and Python version (no `hash()`, which is salted per process).

The parts are joined with "|" and hashed with SHA-256; the first four bytes, modulo 2**31 - 1,
are the seed. Every seed the run derives this way (an improver child's, a compare repeat's, a
secret instance's) is reproducible from what the run records.
"""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % (2**31 - 1)
