"""Klaviyo API client: private-key auth, the pinned revision, JSON:API pages and per-tier pacing.

Klaviyo limits each endpoint by a tier with two fixed windows (burst per second, steady per
minute; the reporting endpoints also per day). The spec gives each operation its own limits
(``x-klaviyo-ratelimit``), so the client paces every endpoint on its own: a long read of one
never spends the quota another needs. A 429 is still waited out (``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec

from marketing_pipeline.http import (
    ApiClient,
    AuthError,
    RateLimiter,
    VendorError,
    cursor_pages,
    parse_retry_after,
)

API_BASE_URL = "https://a.klaviyo.com"
# The API revision every request sends (the ``info.version`` of the spec we build against).
# Change it here (or per deployment via the resource's ``revision``), nowhere else.
REVISION = "2026-07-15"
JSONAPI = "application/vnd.api+json"

# Rate-limit tiers: (per second, per minute[, per day]) as published per operation.
TIERS: dict[str, tuple[tuple[int, float], ...]] = {
    "XS": ((1, 1.0), (15, 60.0)),
    "S": ((3, 1.0), (60, 60.0)),
    "M": ((10, 1.0), (150, 60.0)),
    "L": ((75, 1.0), (750, 60.0)),
    "XL": ((350, 1.0), (3500, 60.0)),
    "REPORTS": ((1, 1.0), (2, 60.0), (225, 86_400.0)),
}
# First path segment after /api/ -> tier. Writes that differ from their reads are listed by method.
_TIER_BY_RESOURCE = {
    "events": "XL",
    "event-bulk-create-jobs": "M",
    "campaigns": "M",
    "campaign-messages": "M",
    "metrics": "M",
    "flows": "S",
    "flow-actions": "S",
    "flow-messages": "S",
    "metric-aggregates": "S",
    "profiles": "L",
    "lists": "L",
    "segments": "L",
    "profile-subscription-bulk-create-jobs": "L",
    "profile-subscription-bulk-delete-jobs": "L",
    "profile-import": "L",
    "profile-bulk-import-jobs": "M",
    "campaign-values-reports": "REPORTS",
    "flow-values-reports": "REPORTS",
    "flow-series-reports": "REPORTS",
}

# Largest page each endpoint accepts (``page[size]``); metrics take none.
PAGE_SIZES = {
    "campaigns": 100,
    "flows": 50,
    "flow-actions": 50,
    "profiles": 100,
    "lists": 10,
    "segments": 10,
    "events": 200,
}


def tier_of(method: str, path: str) -> str:
    """The rate-limit tier of a request path (absolute URLs from ``links.next`` too)."""
    segments = urlsplit(path).path.split("/")
    try:
        resource = segments[segments.index("api") + 1]
    except (ValueError, IndexError):
        return "M"
    if resource == "lists" and method.upper() != "GET":
        return "M"  # list writes (create, membership): 10/s, 150/m
    if resource in ("lists", "segments") and "profile_count" in urlsplit(path).query:
        return "XS"  # asking for profile_count drops a list/segment read to 1/s, 15/m
    return _TIER_BY_RESOURCE.get(resource, "M")


def endpoint_of(method: str, path: str) -> str:
    """The endpoint a request counts against: its method and path, the id in place of ``{id}``."""
    segments = urlsplit(path).path.rstrip("/").split("/")
    try:
        rest = segments[segments.index("api") + 1 :]
    except ValueError:
        return f"{method.upper()} {urlsplit(path).path}"
    if len(rest) > 1:
        rest[1] = "{id}"  # /api/<resource>/<id>/...: the second segment is always an id
    return f"{method.upper()} /api/{'/'.join(rest)}"


def scaled_tiers(factor: float) -> dict[str, tuple[tuple[int, float], ...]]:
    """Every tier's counts multiplied by ``factor`` (an account with a raised quota, or a fast sandbox)."""
    return {
        name: tuple((max(1, int(n * factor)), period) for n, period in limits)
        for name, limits in TIERS.items()
    }


def klaviyo_datetime(value: datetime) -> str:
    """A filter datetime in UTC, ISO-8601 without offset ambiguity."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def equals(field: str, value: str) -> str:
    return f"equals({field},'{value}')" if isinstance(value, str) else f"equals({field},{value})"


def greater_or_equal(field: str, value: datetime) -> str:
    return f"greater-or-equal({field},{klaviyo_datetime(value)})"


def less_than(field: str, value: datetime) -> str:
    return f"less-than({field},{klaviyo_datetime(value)})"


def and_(*expressions: str) -> str:
    parts = [e for e in expressions if e]
    return parts[0] if len(parts) == 1 else f"and({','.join(parts)})"


class KlaviyoError(VendorError):
    """An error answer from Klaviyo, with its first error object's code, title, detail and source."""

    def __init__(self, vendor: str, message: str, *, errors: list[dict] | None = None, **kwargs: Any):
        super().__init__(vendor, message, **kwargs)
        self.errors = errors or []
        first = self.errors[0] if self.errors else {}
        self.title: str | None = first.get("title")
        self.detail: str | None = first.get("detail")
        self.source: dict = first.get("source") or {}


class KlaviyoAuthError(AuthError, KlaviyoError):
    """401/403: the key is missing, wrong or lacks a scope. Never retried."""


class KlaviyoClient(ApiClient):
    vendor = "Klaviyo"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        revision: str = REVISION,
        *,
        tiers: dict[str, tuple[tuple[int, float], ...]] | None = None,
        **kwargs: Any,
    ):
        super().__init__(base_url, **kwargs)
        self.tiers = {**TIERS, **(tiers or {})}
        self.revision = revision or REVISION
        self._api_key = api_key
        self._limiters: dict[tuple[str, str], RateLimiter] = {}

    # -- vendor hooks ---------------------------------------------------------------------
    def prepare(self, method: str, path: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Accept": JSONAPI,
            **(kwargs.pop("headers", None) or {}),
            "Authorization": f"Klaviyo-API-Key {self._api_key}",
            "revision": self.revision,
        }
        return {**kwargs, "headers": headers}

    def limiter_for(self, method: str, path: str) -> RateLimiter:
        tier = tier_of(method, path)
        key = (tier, endpoint_of(method, path))  # the tier too: profile_count reads are paced apart
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(*self.tiers[tier], sleep=self._sleep)
        return self._limiters[key]

    def error_from(self, response: httpx.Response) -> VendorError:
        errors: list[dict] = []
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("errors"), list):
                errors = [e for e in body["errors"] if isinstance(e, dict)]
        except ValueError:
            pass
        if errors:
            first = errors[0]
            message = ": ".join(str(p) for p in (first.get("title"), first.get("detail")) if p)
            code = first.get("code")
            request_id = first.get("id")
        else:
            message, code, request_id = response.text[:300] or response.reason_phrase, None, None
        kind = KlaviyoAuthError if response.status_code in (401, 403) else KlaviyoError
        return kind(
            self.vendor,
            message or response.reason_phrase,
            errors=errors,
            status=response.status_code,
            code=code,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    # -- JSON:API -------------------------------------------------------------------------
    def jsonapi(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> dict | None:
        """One JSON:API call; the parsed document, or None when the answer has no body (202/204).

        Some 202s carry a document (bulk import jobs answer with the job), so the body decides."""
        headers = {"Content-Type": JSONAPI} if json is not None else {}
        response = self.request(method, path, params=params, json=json, headers=headers)
        if not response.content:
            return None
        return response.json()

    def pages(self, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every page document of a collection, following ``links.next`` until it is absent."""

        def fetch(nxt: str | None) -> tuple[dict, str | None]:
            # the next link carries every parameter, cursor included
            document = self.jsonapi("GET", nxt or path, params=None if nxt else (params or None)) or {}
            return document, (document.get("links") or {}).get("next")

        return cursor_pages(fetch, self.stats, self.vendor)

    def raw_pages(self, path: str, params: dict | None = None) -> Iterator[bytes]:
        """Every page of a collection as the bytes Klaviyo sent (for callers that parse them
        themselves, faster than a dict per record), following ``links.next`` like ``pages``."""

        def fetch(nxt: str | None) -> tuple[bytes, str | None]:
            body = self.request("GET", nxt or path, params=None if nxt else (params or None)).content
            try:
                return body, (_LINKS.decode(body).links.get("next") if body else None)
            except msgspec.DecodeError as exc:
                raise KlaviyoError(
                    self.vendor, f"a page of {path} is not a JSON:API document: {exc}"
                ) from None

        return cursor_pages(fetch, self.stats, self.vendor)

    def report_pages(self, path: str, body: dict, before_call=None) -> Iterator[dict]:
        """A values/series report: POST the query, then the same body with ``page_cursor`` for more.

        ``before_call(path)`` runs before each call (the reports' daily budget is counted there).
        """

        def fetch(cursor: str | None) -> tuple[dict, str | None]:
            if before_call:
                before_call(path)
            params = {"page_cursor": cursor} if cursor else None
            document = self.jsonapi("POST", path, params=params, json=body) or {}
            return document, report_cursor(document)

        return cursor_pages(fetch, self.stats, self.vendor)


def report_cursor(document: dict) -> str | None:
    """The ``page_cursor`` of a report's next page, from ``links.next``."""
    nxt = (document.get("links") or {}).get("next")
    found = parse_qs(urlsplit(nxt).query).get("page_cursor") if nxt else None
    return found[0] if found else None


class _Links(msgspec.Struct):
    links: dict[str, str | None] = {}


_LINKS = msgspec.json.Decoder(_Links)  # reads only ``links``; the records are skipped, not built
