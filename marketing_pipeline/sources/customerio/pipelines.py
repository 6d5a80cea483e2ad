"""Customer.io Pipelines (CDP) API: ``POST /batch`` within its size limits, and the single calls
``identify``, ``track``, ``page``, ``screen``, ``group`` and ``alias``.

A secondary path next to the Track API: Pipelines sets ``messageId`` itself and documents no
de-duplication, so replays are only safe through the Track API's ULID event ids. Limits: 32 KB
per message and 500 KB per batch; an oversize request still gets 200 and is dropped, so they are
enforced here, before sending.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import httpx

from marketing_pipeline.http import ApiClient, RateLimiter, VendorError
from marketing_pipeline.sources.customerio.client import customerio_error
from marketing_pipeline.sources.customerio.track import TrackPayloadError

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
_ENVELOPE = len(b'{"batch":[]}')


def _size(message: dict) -> int:
    return len(json.dumps(message, separators=(",", ":")).encode())


def pack(messages: Iterable[dict]) -> Iterator[list[dict]]:
    """Group messages into batches whose body stays within 500 KB; a message over 32 KB raises."""
    batch: list[dict] = []
    size = _ENVELOPE
    for message in messages:
        n = _size(message)
        if n > MAX_MESSAGE_BYTES:
            who = message.get("userId") or message.get("anonymousId") or "(no id)"
            raise TrackPayloadError(
                f"Pipelines {message.get('type')} for {who}: {n} bytes, over the 32 KB per call"
            )
        if batch and size + n + 1 > MAX_BATCH_BYTES:
            yield batch
            batch, size = [], _ENVELOPE
        batch.append(message)
        size += n + (1 if len(batch) > 1 else 0)
    if batch:
        yield batch


def identify_message(user_id: str, traits: dict[str, Any]) -> dict:
    return {"type": "identify", "userId": user_id, "traits": traits}


def track_message(user_id: str, event: str, properties: dict[str, Any], at: datetime) -> dict:
    return {
        "type": "track",
        "userId": user_id,
        "event": event,
        "properties": properties,
        "timestamp": at.isoformat(),
    }


class PipelinesClient(ApiClient):
    vendor = "Customer.io Pipelines"

    def __init__(self, base_url: str, api_key: str, **kwargs: Any):
        kwargs.setdefault("limiter", RateLimiter((3000, 3.0)))
        super().__init__(base_url, **kwargs)
        self.http.auth = httpx.BasicAuth(api_key, "")  # the source key as user name, empty password

    def error_from(self, response: httpx.Response) -> VendorError:
        error = customerio_error(response)
        error.vendor = self.vendor
        return error

    def batch(self, messages: Iterable[dict]) -> int:
        """Send every message in as few batches as the limits allow; returns the number of calls."""
        calls = 0
        for batch in pack(messages):
            body = json.dumps({"batch": batch}, separators=(",", ":")).encode()
            self.request("POST", "/batch", content=body, headers={"Content-Type": "application/json"})
            calls += 1
        return calls

    def _single(self, kind: str, message: dict) -> None:
        """One call on its own endpoint (the 32 KB per-call limit checked here, as for batches)."""
        message = {"type": kind, **{k: v for k, v in message.items() if v is not None}}
        if _size(message) > MAX_MESSAGE_BYTES:
            who = message.get("userId") or message.get("anonymousId") or "(no id)"
            raise TrackPayloadError(f"Pipelines {kind} for {who}: over the 32 KB per call")
        self.request("POST", f"/{kind}", json=message)

    def identify(self, user_id: str, traits: dict[str, Any], *, anonymous_id: str | None = None) -> None:
        self._single("identify", {"userId": user_id, "anonymousId": anonymous_id, "traits": traits})

    def track(
        self,
        user_id: str,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        at: datetime | None = None,
        message_id: str | None = None,
    ) -> None:
        self._single(
            "track",
            {
                "userId": user_id,
                "event": event,
                "properties": properties or {},
                "timestamp": at.isoformat() if at else None,
                "messageId": message_id,
            },
        )

    def page(self, user_id: str, name: str, properties: dict[str, Any] | None = None) -> None:
        self._single("page", {"userId": user_id, "name": name, "properties": properties or {}})

    def screen(self, user_id: str, name: str, properties: dict[str, Any] | None = None) -> None:
        self._single("screen", {"userId": user_id, "name": name, "properties": properties or {}})

    def group(self, user_id: str, group_id: str, traits: dict[str, Any] | None = None) -> None:
        """Put a person in a group (a company, a household: a Customer.io object)."""
        self._single("group", {"userId": user_id, "groupId": group_id, "traits": traits or {}})

    def alias(self, previous_id: str, user_id: str) -> None:
        """Merge ``previous_id`` (e.g. an anonymous id) into ``user_id``; not a batch call in the spec."""
        self.request("POST", "/alias", json={"type": "alias", "previousId": previous_id, "userId": user_id})
