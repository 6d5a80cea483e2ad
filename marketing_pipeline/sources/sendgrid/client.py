"""SendGrid v3 client: mail send (never retried once it may have reached SendGrid) and suppression lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from marketing_pipeline.http import (
    ApiClient,
    AuthError,
    RateLimiter,
    SendOutcomeUnknown,
    VendorError,
    parse_retry_after,
)

__all__ = ["SendGridClient", "SendOutcomeUnknown"]

API_BASE_URL = "https://api.sendgrid.com"
SUPPRESSION_LISTS = {"unsubscribes": "unsubscribed", "bounces": "bounced", "spam_reports": "spam"}
MAX_PAGE = 500
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # the request never left this machine


class SendGridClient(ApiClient):
    vendor = "SendGrid"

    def __init__(self, base_url: str, api_key: str, **kwargs: Any):
        kwargs.setdefault("limiter", RateLimiter((100, 1.0)))  # no published limit in the spec; stay polite
        super().__init__(base_url, headers={"Authorization": f"Bearer {api_key}"}, **kwargs)
        self._sending = False

    def error_from(self, response: httpx.Response) -> VendorError:
        try:
            errors = response.json().get("errors") or []
            message = (
                "; ".join(f"{e.get('field') or '(body)'}: {e.get('message')}" for e in errors)
                or response.text
            )
        except (ValueError, AttributeError):
            message = response.text[:300] or response.reason_phrase
        kind = AuthError if response.status_code in (401, 403) else VendorError
        return kind(
            self.vendor,
            message,
            status=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _is_retryable(self, exc: BaseException) -> bool:
        if not self._sending:
            return ApiClient._is_retryable(exc)
        # A mail send is retried only when SendGrid certainly did not take it.
        if isinstance(exc, VendorError):
            return exc.status == 429
        return isinstance(exc, _NOT_SENT)

    def send_mail(self, message: dict) -> str | None:
        """POST /v3/mail/send; returns the X-Message-Id when SendGrid gives one.

        Raises ``VendorError`` when SendGrid refused the message (it was not sent) and
        ``SendOutcomeUnknown`` when it may have been sent.
        """
        self._sending = True
        try:
            response = self.request("POST", "/v3/mail/send", json=message)
        except VendorError as exc:
            if exc.status is not None and exc.status >= 500:
                raise SendOutcomeUnknown(str(exc)) from exc
            raise
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            if isinstance(exc, _NOT_SENT):
                raise VendorError(self.vendor, f"could not connect: {type(exc).__name__}") from exc
            raise SendOutcomeUnknown(f"{type(exc).__name__} after the request was sent") from exc
        finally:
            self._sending = False
        if response.status_code != 202:
            raise SendOutcomeUnknown(f"unexpected HTTP {response.status_code} from mail send")
        return response.headers.get("X-Message-Id")

    def suppression_pages(
        self, kind: str, *, start_time: int | None = None, end_time: int | None = None, limit: int = MAX_PAGE
    ) -> Iterator[list[dict]]:
        """Pages of one suppression list (limit/offset) until a short page."""
        if kind not in SUPPRESSION_LISTS:
            raise ValueError(f"unknown suppression list {kind!r}; one of {sorted(SUPPRESSION_LISTS)}")
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be 1..{MAX_PAGE}")
        offset = 0
        while True:
            params = {"limit": limit, "offset": offset}
            if start_time is not None:
                params["start_time"] = start_time
            if end_time is not None:
                params["end_time"] = end_time
            page = self.request("GET", f"/v3/suppression/{kind}", params=params).json()
            if not isinstance(page, list):
                raise VendorError(self.vendor, f"/v3/suppression/{kind} did not return a list")
            self.stats.pages += 1
            yield page
            if len(page) < limit:
                return
            offset += limit

    def add_global_unsubscribes(self, emails: list[str]) -> list[str]:
        """POST /v3/asm/suppressions/global: the addresses will get no mail from this account (201)."""
        if not emails:
            return []
        body = self.request("POST", "/v3/asm/suppressions/global", json={"recipient_emails": emails}).json()
        return list(body.get("recipient_emails") or [])
