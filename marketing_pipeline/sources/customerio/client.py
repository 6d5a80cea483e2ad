"""Customer.io App API client (Bearer App API key): campaigns, newsletters, broadcasts, metrics, deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
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
from marketing_pipeline.sources.customerio.app_actions import AppActions
from marketing_pipeline.sources.customerio.models import (
    VENDOR,
    CatalogItem,
    Delivery,
    parse_catalog_item,
    parse_delivery,
)

MAX_MESSAGES_LIMIT = 1000
V1_MAX_DAY_STEPS = 45  # version-1 metrics (newsletters, broadcasts) reach back at most 45 days


def error_message(response: httpx.Response) -> str:
    """Customer.io error bodies: ``{"meta": {"error": ..}}`` or ``{"errors": [{"detail": ..}]}``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        meta = body.get("meta") or {}
        if isinstance(meta, dict) and (meta.get("error") or meta.get("errors")):
            return str(meta.get("error") or meta.get("errors"))
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(
                str(e.get("detail") or e.get("message") or e) if isinstance(e, dict) else str(e)
                for e in errors
            )
        if body.get("message"):
            return str(body["message"])
    return response.text[:300] or response.reason_phrase


def customerio_error(response: httpx.Response) -> VendorError:
    kind = AuthError if response.status_code in (401, 403) else VendorError
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if response.status_code == 429 and retry_after is None:
        retry_after = (
            1.0  # no Retry-After documented; the limits are per second, so a second frees the window
        )
    return kind(VENDOR, error_message(response), status=response.status_code, retry_after=retry_after)


class CustomerIoAppClient(AppActions, ApiClient):
    vendor = VENDOR

    def __init__(self, base_url: str, app_api_key: str, **kwargs: Any):
        # The App API allows 10 requests/s; one fewer leaves room for network jitter between our clock and theirs.
        kwargs.setdefault("limiter", RateLimiter((9, 1.0)))
        super().__init__(
            base_url,
            headers={"Authorization": f"Bearer {app_api_key}", "Accept": "application/json"},
            **kwargs,
        )

    def error_from(self, response: httpx.Response) -> VendorError:
        return customerio_error(response)

    def get(self, path: str, **params: Any) -> dict:
        body = self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()
        if not isinstance(body, dict):
            raise VendorError(self.vendor, f"GET {path}: expected a JSON object")
        return body

    # -- catalog ---------------------------------------------------------------------------
    def campaigns(self) -> list[CatalogItem]:
        return [parse_catalog_item(c, "campaign") for c in self.get("/v1/campaigns").get("campaigns") or []]

    def broadcasts(self) -> list[CatalogItem]:
        return [
            parse_catalog_item(b, "broadcast") for b in self.get("/v1/broadcasts").get("broadcasts") or []
        ]

    def newsletters(self, limit: int = 100) -> Iterator[list[CatalogItem]]:
        def fetch(cursor: str | None):
            body = self.get("/v1/newsletters", limit=limit, start=cursor, sort="asc")
            return [parse_catalog_item(n, "newsletter") for n in body.get("newsletters") or []], body.get(
                "next"
            ) or None

        return cursor_pages(fetch, self.stats)

    # -- metrics ---------------------------------------------------------------------------
    def campaign_metrics(
        self, campaign_id: int, start: datetime, end: datetime, tz: str
    ) -> dict[str, list[int]]:
        """Version-2 daily series for [start, end): one entry per day in ``tz``."""
        body = self.get(
            f"/v1/campaigns/{campaign_id}/metrics",
            version="2",
            res="days",
            tz=tz,
            start=int(start.timestamp()),
            end=int(end.timestamp()),
        )
        return _series(body, f"campaign {campaign_id}")

    def v1_metrics(self, kind: str, object_id: int, steps: int) -> dict[str, list[int]]:
        """Version-1 daily series for newsletters and broadcasts: the last ``steps`` days, today last."""
        if not 1 <= steps <= V1_MAX_DAY_STEPS:
            raise ValueError(f"steps must be 1..{V1_MAX_DAY_STEPS}")
        body = self.get(f"/v1/{kind}s/{object_id}/metrics", period="days", steps=steps)
        return _series(body, f"{kind} {object_id}")

    # -- deliveries ------------------------------------------------------------------------
    def deliveries(
        self,
        start: datetime,
        end: datetime,
        *,
        limit: int = MAX_MESSAGES_LIMIT,
        message_type: str | None = None,
    ) -> Iterator[list[Delivery]]:
        """Pages of deliveries created in [start, end), following ``next`` until it is empty."""
        if not 1 <= limit <= MAX_MESSAGES_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_MESSAGES_LIMIT}")

        def fetch(cursor: str | None):
            body = self.get(
                "/v1/messages",
                start_ts=int(start.timestamp()),
                end_ts=int(end.timestamp()),
                limit=limit,
                start=cursor,
                type=message_type,
            )
            return [parse_delivery(m) for m in body.get("messages") or []], body.get("next") or None

        return cursor_pages(fetch, self.stats)


def _series(body: dict, what: str) -> dict[str, list[int]]:
    series = ((body.get("metric") or {}).get("series")) if isinstance(body.get("metric"), dict) else None
    if not isinstance(series, dict):
        raise VendorError(VENDOR, f"metrics for {what}: response has no metric.series object")
    return {k: list(v) for k, v in series.items() if isinstance(v, list)}
