"""TikTok Shop request and webhook signatures (see shared specs README, "Signing")."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

UNSIGNED_PARAMS = frozenset({"sign", "access_token", "x-tts-access-token"})


def sign_request(
    app_secret: str,
    path: str,
    params: Mapping[str, object],
    body: bytes = b"",
    content_type: str = "application/json",
) -> str:
    """hex(HMAC-SHA256(secret, secret + path + sorted(key+value) + body + secret))."""
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in UNSIGNED_PARAMS)
    message = path + pairs
    if body and not content_type.startswith("multipart/form-data"):
        message += body.decode()
    wrapped = f"{app_secret}{message}{app_secret}"
    return hmac.new(app_secret.encode(), wrapped.encode(), hashlib.sha256).hexdigest()


def sign_webhook(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """The ``Authorization`` header TikTok Shop puts on webhook calls."""
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def verify_webhook(app_key: str, app_secret: str, raw_body: bytes, header: str | None) -> bool:
    # bytes, not str: compare_digest refuses a str with non-ASCII characters (TypeError, a 500)
    return bool(header) and hmac.compare_digest(
        sign_webhook(app_key, app_secret, raw_body).encode(), header.strip().encode()
    )
