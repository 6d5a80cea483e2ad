"""Deterministic ULIDs: 48-bit millisecond time + 80 bits from a hash, in Crockford base32.

Customer.io de-duplicates Track events by a ULID ``id``; deriving it from the order (its time and
a hash of its id) makes every replay of the same order send the same id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def encode(value: int) -> str:
    """A 128-bit integer as 26 Crockford base32 characters (the first carries 3 bits)."""
    if not 0 <= value < 1 << 128:
        raise ValueError("a ULID is 128 bits")
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode(text: str) -> int:
    value = 0
    for ch in text.upper():
        value = value * 32 + CROCKFORD.index(ch)
    return value


def deterministic_ulid(at: datetime, key: str) -> str:
    """The ULID for ``key`` at time ``at``: sortable by time, equal for equal inputs."""
    millis = int(at.timestamp() * 1000)
    if not 0 <= millis < 1 << 48:
        raise ValueError(f"time {at.isoformat()} is outside the ULID range")
    randomness = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    return encode(millis << 80 | randomness)


def timestamp_ms(ulid: str) -> int:
    return decode(ulid) >> 80
