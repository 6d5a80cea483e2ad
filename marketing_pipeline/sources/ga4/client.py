"""GA4 Data API client: ``runReport`` over HTTP with bearer auth, offset paging and quota errors.

Errors arrive as ``{"error": <google.rpc.Status>}``; ``RESOURCE_EXHAUSTED`` (HTTP 429) means a
property quota ran out and becomes ``GA4QuotaExhausted``, which the client retries with backoff
(GA4 sends no Retry-After) and, if quota stays exhausted, the asset's retry policy tries later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from marketing_pipeline.http import (
    ApiClient,
    AuthError,
    RateLimiter,
    VendorError,
    cursor_pages,
    parse_retry_after,
)
from marketing_pipeline.sources.ga4.auth import TokenProvider
from marketing_pipeline.sources.ga4.models import ReportPage, parse_page

API_BASE_URL = "https://analyticsdata.googleapis.com"
MAX_LIMIT = 250_000  # rows per request (discovery doc: RunReportRequest.limit)


class GA4QuotaExhausted(VendorError):
    """``RESOURCE_EXHAUSTED``: a property or project quota is used up. Retryable later."""

    @property
    def retryable(self) -> bool:
        return True


class GA4Client(ApiClient):
    vendor = "GA4"

    def __init__(self, base_url: str, property_id: str, token: TokenProvider, **kwargs: Any):
        kwargs.setdefault("limiter", RateLimiter((10, 1.0)))  # standard properties: 10 concurrent requests
        super().__init__(base_url, **kwargs)
        pid = str(property_id).strip()
        self.property = pid if pid.startswith("properties/") else f"properties/{pid}"
        self._token = token
        self.last_quota: dict | None = None

    def prepare(self, method: str, path: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = {**(kwargs.pop("headers", None) or {}), "Authorization": f"Bearer {self._token.token()}"}
        return {**kwargs, "headers": headers}

    def error_from(self, response: httpx.Response) -> VendorError:
        try:
            status = response.json().get("error") or {}
        except ValueError:
            status = {}
        if not isinstance(status, dict):
            status = {}
        message = status.get("message") or response.text[:300] or response.reason_phrase
        code = status.get("status") or status.get("code")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if response.status_code in (401, 403):
            if response.status_code == 401:
                self._token.invalidate()  # a fresh key-file token on the next run
            return AuthError(self.vendor, message, status=response.status_code, code=code)
        kind = (
            GA4QuotaExhausted if code == "RESOURCE_EXHAUSTED" or response.status_code == 429 else VendorError
        )
        return kind(self.vendor, message, status=response.status_code, code=code, retry_after=retry_after)

    def run_report(self, body: dict, *, page_size: int = 10_000) -> Iterator[ReportPage]:
        """Every page of a report: ``offset`` steps by ``limit`` until ``rowCount`` rows are read."""
        if not 1 <= page_size <= MAX_LIMIT:
            raise ValueError(f"page_size must be 1..{MAX_LIMIT}")
        first_count: dict[str, int] = {}  # rowCount of the first page: every page must agree

        def fetch(offset: int | None) -> tuple[ReportPage, int | None]:
            offset = offset or 0
            request = {**body, "limit": str(page_size), "offset": str(offset), "returnPropertyQuota": True}
            response = self.request("POST", f"/v1beta/{self.property}:runReport", json=request)
            page = parse_page(response.json())
            self.last_quota = page.property_quota or self.last_quota
            total = first_count.setdefault("rows", page.row_count)
            if page.row_count != total:
                raise VendorError(
                    self.vendor, f"rowCount changed while paging ({total} -> {page.row_count}); re-run"
                )
            read = offset + len(page.rows)
            if read >= total or not page.rows:
                if read < total:
                    raise VendorError(self.vendor, f"report ended at row {read} of {total}")
                return page, None
            return page, read

        return cursor_pages(fetch, self.stats, self.vendor)
