"""Reporting-webhook signatures: hex HMAC-SHA256 of ``v0:{X-CIO-Timestamp}:{raw body}``."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_SKEW_SECONDS = 300


def sign(key: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(key.encode(), b"v0:" + str(timestamp).encode() + b":" + body, hashlib.sha256).hexdigest()


def check(
    key: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> str | None:
    """None when the request is genuine and fresh, else the reason it is refused."""
    if not timestamp or not signature:
        return "missing X-CIO-Timestamp or X-CIO-Signature"
    try:
        ts = int(timestamp)
    except ValueError:
        return "X-CIO-Timestamp is not an integer"
    if not timestamp.strip().isdigit():
        return "X-CIO-Timestamp is not an integer"
    if abs((now if now is not None else time.time()) - ts) > MAX_SKEW_SECONDS:
        return "stale timestamp"
    # bytes, not str: compare_digest refuses a str with non-ASCII characters (TypeError, a 500)
    if not hmac.compare_digest(
        sign(key, timestamp.strip(), body).encode(), signature.strip().lower().encode()
    ):
        return "bad signature"
    return None
