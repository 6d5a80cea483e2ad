"""Customer.io Track API v1 client (HTTP Basic ``site_id:api_key``): identify, track, suppress, delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from marketing_pipeline.http import ApiClient, RateLimiter, VendorError
from marketing_pipeline.sources.customerio.client import customerio_error

MAX_ID_BYTES = 150
MAX_VALUE_BYTES = 1000
MAX_ATTRIBUTES = 300


class TrackPayloadError(ValueError):
    """A payload Customer.io would refuse: names the identifier and the attribute."""


def check_identify(identifier: str, attributes: dict[str, Any]) -> None:
    if not identifier or len(identifier.encode()) > MAX_ID_BYTES:
        raise TrackPayloadError(f"identifier {identifier[:40]!r}: must be 1..{MAX_ID_BYTES} bytes")
    if len(attributes) > MAX_ATTRIBUTES:
        raise TrackPayloadError(f"{identifier}: {len(attributes)} attributes, at most {MAX_ATTRIBUTES}")
    for name, value in attributes.items():
        if len(name.encode()) > MAX_ID_BYTES:
            raise TrackPayloadError(
                f"{identifier}: attribute name {name[:40]!r} is over {MAX_ID_BYTES} bytes"
            )
        if isinstance(value, str) and len(value.encode()) > MAX_VALUE_BYTES:
            raise TrackPayloadError(f"{identifier}: attribute {name!r} value is over {MAX_VALUE_BYTES} bytes")


class TrackClient(ApiClient):
    vendor = "Customer.io Track"

    def __init__(self, base_url: str, site_id: str, api_key: str, **kwargs: Any):
        kwargs.setdefault("limiter", RateLimiter((3000, 3.0)))  # the published 3,000 requests per 3 s
        super().__init__(base_url, **kwargs)
        self.http.auth = httpx.BasicAuth(site_id, api_key)

    def error_from(self, response: httpx.Response) -> VendorError:
        error = customerio_error(response)
        error.vendor = self.vendor
        return error

    @staticmethod
    def _person(identifier: str) -> str:
        return "/api/v1/customers/" + quote(str(identifier), safe="")

    def identify(self, identifier: str, attributes: dict[str, Any]) -> None:
        check_identify(identifier, attributes)
        self.request("PUT", self._person(identifier), json=attributes)

    def track(
        self, identifier: str, name: str, *, event_id: str, timestamp: int, data: dict | None = None
    ) -> None:
        body = {"name": name, "id": event_id, "type": "event", "timestamp": timestamp, "data": data or {}}
        self.request("POST", self._person(identifier) + "/events", json=body)

    def suppress(self, identifier: str) -> None:
        self.request("POST", self._person(identifier) + "/suppress")

    def unsuppress(self, identifier: str) -> None:
        self.request("POST", self._person(identifier) + "/unsuppress")

    def delete(self, identifier: str) -> None:
        self.request("DELETE", self._person(identifier))
