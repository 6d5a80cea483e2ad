"""Access tokens for the GA4 Data API: a token given as is, or one minted from a service-account key.

The service-account path uses ``google-auth`` (JWT bearer grant, scope analytics.readonly). The
token endpoint can be overridden (``GA4_TOKEN_URL``) so the sandbox can mint tokens locally.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"


class TokenProvider(Protocol):
    def token(self) -> str: ...

    def invalidate(self) -> None: ...


class StaticToken:
    """A bearer token from the environment (``GA4_ACCESS_TOKEN``); it cannot be refreshed."""

    def __init__(self, value: str):
        self._value = value

    def token(self) -> str:
        return self._value

    def invalidate(self) -> None:
        pass


class ServiceAccountToken:
    """Tokens from a service-account key file, refreshed shortly before they expire."""

    def __init__(self, key_file: str | Path, token_url: str | None = None):
        from google.oauth2 import service_account

        try:
            info = json.loads(Path(key_file).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"GA4_CREDENTIALS_JSON {key_file}: not a readable service-account key ({exc})"
            ) from None
        if token_url:
            info["token_uri"] = token_url
        self.credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        self._lock = threading.Lock()

    def token(self) -> str:
        from google.auth.transport.requests import Request

        with self._lock:
            if not self.credentials.valid:
                self.credentials.refresh(Request())
            return self.credentials.token

    def invalidate(self) -> None:
        with self._lock:
            self.credentials.token = None
