"""Cart events as Klaviyo's own ecommerce metrics, sent with ``POST /api/event-bulk-create-jobs``.

Metric names and property names are the ones Klaviyo's browse and abandoned-cart flows and their
templates read (``Viewed Product``, ``Added to Cart``, ``Started Checkout``; ``Items``,
``ItemNames``, ``CheckoutURL``, ``AddedItem*``). The cart event id is the ``unique_id``, so
Klaviyo also drops a repeat. Limits (spec): 1,000 events and 5 MB per request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from marketing_pipeline.activation.klaviyo.bulk_events import bulk_create_job
from marketing_pipeline.activation.shopper_events.events import ShopperEvent, checkout_url, product_url

METRICS = {
    "product_viewed": "Viewed Product",
    "item_added": "Added to Cart",
    "checkout_started": "Started Checkout",
}
MAX_EVENTS = 1000
MAX_BYTES = 5 * 1024 * 1024
PATH = "/api/event-bulk-create-jobs"


def _money(value) -> float:
    return round(float(value or 0), 2)


def _line(item: dict, store_url: str) -> dict:
    quantity = int(item.get("quantity") or 1)
    line = {
        "ProductID": item.get("product_id"),
        "SKU": item.get("sku_id"),
        "ProductName": item.get("name"),
        "Variant": item.get("variant"),
        "Quantity": quantity,
        "ItemPrice": _money(item.get("unit_price")),
        "RowTotal": _money(float(item.get("unit_price") or 0) * quantity),
        "ProductURL": product_url(item, store_url),
        "ImageURL": item.get("image_url"),
    }
    return {k: v for k, v in line.items() if v is not None}


def properties(event: ShopperEvent, store_url: str) -> tuple[dict, float]:
    """The event's properties and its value."""
    item = event.item
    if event.type == "product_viewed":
        price = _money(item.get("unit_price"))
        props = {
            "ProductName": item.get("name"),
            "ProductID": item.get("product_id"),
            "SKU": item.get("sku_id"),
            "ImageURL": item.get("image_url"),
            "URL": product_url(item, store_url),
            "Price": price,
        }
        return {k: v for k, v in props.items() if v is not None}, price
    items = [_line(i, store_url) for i in event.cart_items]
    value = _money(event.cart_value)
    props = {
        "$value": value,
        "ItemNames": [i["ProductName"] for i in items if i.get("ProductName")],
        "Items": items,
        "CheckoutURL": checkout_url(event, store_url),
        "CartID": event.cart_id,
        "Source": event.source,
    }
    if event.type == "item_added":
        added = _line(item, store_url)
        props.update({f"AddedItem{k}": added[v] for k, v in _ADDED.items() if v in added})
    else:
        props["$event_id"] = event.event_id
    return {k: v for k, v in props.items() if v is not None}, value


_ADDED = {
    "ProductName": "ProductName",
    "ProductID": "ProductID",
    "SKU": "SKU",
    "ImageURL": "ImageURL",
    "URL": "ProductURL",
    "Price": "ItemPrice",
    "Quantity": "Quantity",
}


def event_entry(event: ShopperEvent, store_url: str) -> dict:
    props, value = properties(event, store_url)
    return {
        "type": "event",
        "attributes": {
            "properties": props,
            "time": event.occurred_at.astimezone(UTC).isoformat(),
            "value": value,
            "value_currency": event.currency,
            "unique_id": event.event_id,
            "metric": {"data": {"type": "metric", "attributes": {"name": METRICS[event.type]}}},
        },
    }


def bulk_body(events: list[ShopperEvent], store_url: str) -> dict:
    """One bulk job: events grouped per profile (email), in time order."""
    by_email: dict[str, list[dict]] = {}
    for e in events:
        by_email.setdefault(e.email, []).append(event_entry(e, store_url))
    return bulk_create_job(by_email)


def batches(events: Iterable[ShopperEvent], store_url: str) -> Iterator[list[ShopperEvent]]:
    """Groups of at most 1,000 events whose request body stays under 5 MB (with room for the envelope)."""
    batch: list[ShopperEvent] = []
    size = 0
    for e in events:
        n = len(json.dumps(event_entry(e, store_url), separators=(",", ":")).encode()) + 200
        if batch and (len(batch) >= MAX_EVENTS or size + n > MAX_BYTES - 1024):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += n
    if batch:
        yield batch
