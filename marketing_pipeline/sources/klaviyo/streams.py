"""What the assets read from Klaviyo, as generators of pages or records (memory stays bounded)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec

from marketing_pipeline.sources.klaviyo.client import (
    PAGE_SIZES,
    KlaviyoClient,
    KlaviyoError,
    and_,
    equals,
    greater_or_equal,
    less_than,
)

# The metrics the pipeline reads events of (names as Klaviyo and its integrations create them).
METRICS = (
    "Placed Order",
    "Ordered Product",
    "Started Checkout",
    "Received Email",
    "Opened Email",
    "Clicked Email",
    "Bounced Email",
    "Unsubscribed",
    "Subscribed to List",
    "Active on Site",
    "Viewed Product",
    "Refunded Order",
    "Cancelled Order",
)


def metrics(client: KlaviyoClient) -> Iterator[dict]:
    for page in client.pages("/api/metrics"):
        yield from page.get("data") or []


def event_pages(client: KlaviyoClient, start: datetime, end: datetime) -> Iterator[list[dict]]:
    """Pages of events with ``start <= datetime < end``, oldest first.

    One stream for every metric: the events filter allows a single ``equals(metric_id,...)``,
    so reading thirteen metrics one by one would cost thirteen streams per day; the metric of
    each event is in its relationships and the unwanted ones are dropped on arrival.
    """
    params = {
        "filter": and_(greater_or_equal("datetime", start), less_than("datetime", end)),
        "page[size]": PAGE_SIZES["events"],
        "sort": "datetime",
    }
    for page in client.pages("/api/events", params):
        yield page.get("data") or []


class _Records(msgspec.Struct):
    data: list[msgspec.Raw] = []


_RECORDS = msgspec.json.Decoder(_Records)


def raw_event_pages(client: KlaviyoClient, start: datetime, end: datetime) -> Iterator[list[bytes]]:
    """The same pages as ``event_pages``, each event as its own JSON text (bytes): validated from
    bytes by the caller and stored as sent, never turned into dicts and back into text."""
    params = {
        "filter": and_(greater_or_equal("datetime", start), less_than("datetime", end)),
        "page[size]": PAGE_SIZES["events"],
        "sort": "datetime",
    }
    for body in client.raw_pages("/api/events", params):
        try:
            yield [bytes(r) for r in _RECORDS.decode(body).data]
        except msgspec.DecodeError as exc:
            raise KlaviyoError(client.vendor, f"an events page is not a JSON:API document: {exc}") from None


def campaigns(client: KlaviyoClient, channel: str = "email") -> Iterator[tuple[dict, list[dict]]]:
    """(campaign, its messages) for one channel; the channel filter is required by the API."""
    params = {
        "filter": equals("messages.channel", channel),
        "include": "campaign-messages",
        "page[size]": PAGE_SIZES["campaigns"],
    }
    for page in client.pages("/api/campaigns", params):
        included = {(i["type"], i["id"]): i for i in page.get("included") or []}
        for c in page.get("data") or []:
            links = ((c.get("relationships") or {}).get("campaign-messages") or {}).get("data") or []
            messages = [
                included[("campaign-message", m["id"])]
                for m in links
                if ("campaign-message", m["id"]) in included
            ]
            if len(messages) < len(links):  # not included (older revisions): ask for them
                messages = (client.jsonapi("GET", f"/api/campaigns/{c['id']}/campaign-messages") or {}).get(
                    "data"
                ) or []
            yield c, messages


def flows(client: KlaviyoClient) -> Iterator[tuple[dict, list[tuple[dict, list[dict]]]]]:
    """(flow, [(action, its messages)]): actions come included with the flows page."""
    for page in client.pages("/api/flows", {"include": "flow-actions", "page[size]": PAGE_SIZES["flows"]}):
        included = {(i["type"], i["id"]): i for i in page.get("included") or []}
        for f in page.get("data") or []:
            links = ((f.get("relationships") or {}).get("flow-actions") or {}).get("data") or []
            actions = [included.get(("flow-action", a["id"])) for a in links]
            if None in actions:
                actions = [
                    a
                    for p in client.pages(
                        f"/api/flows/{f['id']}/flow-actions", {"page[size]": PAGE_SIZES["flow-actions"]}
                    )
                    for a in p.get("data") or []
                ]
            out = []
            for action in actions:
                messages: list[dict] = []
                if (action.get("attributes") or {}).get("action_type") in (
                    "SEND_EMAIL",
                    "SEND_SMS",
                    "SEND_PUSH_NOTIFICATION",
                ):
                    messages = [
                        m
                        for p in client.pages(f"/api/flow-actions/{action['id']}/flow-messages")
                        for m in p.get("data") or []
                    ]
                out.append((action, messages))
            yield f, out


def groups(client: KlaviyoClient, kind: str, with_counts: bool) -> Iterator[dict]:
    """Lists or segments; with their ``profile_count`` (one call each, at the 1/s, 15/m tier)."""
    plural = f"{kind}s"
    for page in client.pages(f"/api/{plural}", {"page[size]": PAGE_SIZES[plural]}):
        for g in page.get("data") or []:
            if with_counts:
                # the query sits in the path so the client paces it in the profile_count tier
                one = (
                    client.jsonapi("GET", f"/api/{plural}/{g['id']}?additional-fields[{kind}]=profile_count")
                    or {}
                )
                g = one.get("data") or g
            yield g


def profile_pages(client: KlaviyoClient, start: datetime, end: datetime) -> Iterator[list[dict]]:
    """Profiles updated in ``[start, end)``, with their subscription and suppression state."""
    params = {
        "filter": and_(greater_or_equal("updated", start), less_than("updated", end)),
        "additional-fields[profile]": "subscriptions",
        "page[size]": PAGE_SIZES["profiles"],
        "sort": "updated",
    }
    for page in client.pages("/api/profiles", params):
        yield page.get("data") or []
