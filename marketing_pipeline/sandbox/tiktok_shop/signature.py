"""The emulator's own check of TikTok Shop request signatures, written from the published recipe.

Deliberately independent of the pipeline's client (``sources/tiktok_shop/signing.py``), so a wrong
recipe there is refused here. Recipe (shared specs README, TikTok Shop "Signing": the official
Node.js SDK ``utils/generate-sign.ts``, matching EcomPHP ``Client::prepareSignature``):

1. every query parameter except ``sign`` and ``access_token`` (EcomPHP also drops
   ``x-tts-access-token``), keys sorted alphabetically, each written as ``key + value``;
2. the request path (no host, no query string) in front;
3. the body exactly as sent appended, unless the content type is ``multipart/form-data``;
4. ``app_secret`` on both ends;
5. ``sign = hex(HMAC-SHA256(key=app_secret, message))``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EXCLUDED = ("sign", "access_token", "x-tts-access-token")


def string_to_sign(path: str, query: Mapping[str, str], body: bytes, content_type: str) -> bytes:
    """Steps 1-3, as bytes (the body is taken byte for byte, never re-encoded)."""
    signed = sorted((key, value) for key, value in query.items() if key not in EXCLUDED)
    out = path.encode() + b"".join(key.encode() + str(value).encode() for key, value in signed)
    if body and "multipart/form-data" not in content_type.lower():
        out += body
    return out


def expected_sign(
    app_secret: str, path: str, query: Mapping[str, str], body: bytes = b"", content_type: str = ""
) -> str:
    """Steps 4-5: the ``sign`` a request with this path, query and body must carry."""
    secret = app_secret.encode()
    message = secret + string_to_sign(path, query, body, content_type) + secret
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def valid(app_secret: str, path: str, query: Mapping[str, str], body: bytes, content_type: str) -> bool:
    """Whether the request's ``sign`` query parameter is the one the recipe gives (constant-time)."""
    sign = query.get("sign")
    if not sign:
        return False
    expected = expected_sign(app_secret, path, query, body, content_type)
    return hmac.compare_digest(expected.encode(), sign.encode())
