"""Send signed Customer.io reporting webhooks to a URL, as Customer.io would (sandbox, tests, demo).

Events are derived from the sandbox workspace's deliveries of one day: one email event per
metric each delivery reached, with a ULID ``event_id`` derived from the delivery and metric.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

import httpx

from marketing_pipeline.sandbox.customerio.data import CustomerIoWorkspace, SandboxDelivery
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.customerio.signing import sign
from marketing_pipeline.sources.customerio.ulid import deterministic_ulid

EVENT_METRICS = ("sent", "delivered", "opened", "clicked", "converted", "bounced", "spammed", "unsubscribed")


def delivery_data(d: SandboxDelivery) -> dict:
    c = d.customer
    data = {
        "delivery_id": d.id,
        "identifiers": {"id": str(c.customer_id), "email": c.email, "cio_id": f"{c.customer_id:08x}"},
        "recipient": c.email,
        "subject": d.subject,
    }
    if d.newsletter_id is not None:
        return {**data, "newsletter_id": d.newsletter_id, "content_id": d.newsletter_id * 10}
    if d.broadcast_id is not None:
        return {**data, "broadcast_id": d.broadcast_id, "trigger_id": 1, "action_id": d.action_id}
    return {**data, "campaign_id": d.campaign_id, "action_id": d.action_id}


def reporting_events(world: World, day: date, limit: int | None = None) -> Iterator[dict]:
    """Email reporting events for the deliveries created on ``day`` (UTC), oldest delivery first."""
    deliveries = CustomerIoWorkspace(world).deliveries_on(day)
    for d in deliveries[:limit] if limit else deliveries:
        for metric in EVENT_METRICS:
            if metric in d.metrics:
                at = d.metrics[metric]
                data = delivery_data(d)
                if metric == "clicked":
                    data.update(href=f"{world.store_url}/?utm_source=customerio", link_id=1, machine=False)
                elif metric == "bounced":
                    data["failure_message"] = "550 5.1.1 mailbox unavailable"
                yield {
                    "event_id": deterministic_ulid(datetime.fromtimestamp(at, UTC), f"{d.id}:{metric}"),
                    "object_type": "email",
                    "metric": metric,
                    "timestamp": at,
                    "data": data,
                }


def signed_headers(key: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": "application/json", "X-CIO-Timestamp": ts, "X-CIO-Signature": sign(key, ts, body)}


def send_events(
    url: str,
    events: Iterable[dict],
    key: str,
    *,
    client: httpx.Client | None = None,
    timestamp: int | None = None,
) -> list[int]:
    """POST each event signed with ``key``; returns the status codes in order."""
    own = client is None
    client = client or httpx.Client(timeout=10.0)
    try:
        statuses = []
        for event in events:
            body = json.dumps(event, separators=(",", ":")).encode()
            statuses.append(
                client.post(url, content=body, headers=signed_headers(key, body, timestamp)).status_code
            )
        return statuses
    finally:
        if own:
            client.close()
