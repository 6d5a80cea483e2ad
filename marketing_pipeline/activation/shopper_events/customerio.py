"""Cart events as Customer.io Pipelines calls: semantic ecommerce ``track`` events (``Order Completed``
too, so a journey the brand built on ``Checkout Started`` can exit on it), ``page``,
``identify`` and ``alias`` (when an anonymous cart gets an email).

A person is their email (``userId``, as the Track API sync identifies them); before the cart has
one, the storefront's ``anonymous_id`` or ``cart:<cart_id>``. ``messageId`` is derived from the
cart event id, so a message always carries the same id. ``alias`` is not a batch call in the spec,
so it goes to ``POST /alias`` on its own.
"""

from __future__ import annotations

from datetime import UTC

from marketing_pipeline.activation.shopper_events.events import ShopperEvent, checkout_url, product_url

TRACKED = {
    "product_viewed": "Product Viewed",
    "item_added": "Product Added",
    "item_removed": "Product Removed",
    "checkout_started": "Checkout Started",
    "order_completed": "Order Completed",  # also what ends the platform's abandoned-cart journey
}
TYPES = (*TRACKED, "contact_identified")


def _product(item: dict, store_url: str) -> dict:
    product = {
        "product_id": item.get("product_id"),
        "sku": item.get("sku_id"),
        "name": item.get("name"),
        "variant": item.get("variant"),
        "price": round(float(item.get("unit_price") or 0), 2),
        "quantity": int(item.get("quantity") or 1),
        "url": product_url(item, store_url),
        "image_url": item.get("image_url"),
    }
    return {k: v for k, v in product.items() if v is not None}


def _who(event: ShopperEvent) -> dict:
    who = {"anonymousId": event.anonymous_id}
    if event.email:
        who["userId"] = event.email
    return who


def _base(event: ShopperEvent, kind: str) -> dict:
    return {
        "type": kind,
        **_who(event),
        "messageId": f"{event.event_id}:{kind}",
        "timestamp": event.occurred_at.astimezone(UTC).isoformat(),
    }


def messages(event: ShopperEvent, store_url: str) -> tuple[list[dict], dict | None]:
    """The batch messages of one cart event, and the alias call it needs (or None)."""
    if event.type == "contact_identified":
        identify = {**_base(event, "identify"), "userId": event.email, "traits": {"email": event.email}}
        alias = {"userId": event.email, "previousId": event.anonymous_id}
        return [identify], alias
    out = []
    if event.type in ("product_viewed", "item_added", "item_removed"):
        props = {**_product(event.item, store_url), "cart_id": event.cart_id, "currency": event.currency}
        if event.type == "product_viewed":
            out.append(
                {
                    **_base(event, "page"),
                    "name": event.item.get("name"),
                    "properties": {
                        "url": props.get("url"),
                        "title": event.item.get("name"),
                        "category": "product",
                    },
                }
            )
    elif event.type == "order_completed":
        value = round(float(event.payload.get("order_total") or event.cart_value), 2)
        props = {
            "order_id": event.payload.get("order_id"),
            "checkout_id": event.cart_id,
            "cart_id": event.cart_id,
            "total": value,
            "revenue": value,
            "currency": event.currency,
            "products": [_product(i, store_url) for i in event.cart_items],
        }
    else:  # checkout_started
        value = round(float(event.cart_value), 2)
        props = {
            "checkout_id": event.cart_id,
            "cart_id": event.cart_id,
            "value": value,
            "revenue": value,
            "currency": event.currency,
            "products": [_product(i, store_url) for i in event.cart_items],
            "checkout_url": checkout_url(event, store_url),
        }
    track = {**_base(event, "track"), "event": TRACKED[event.type], "properties": props}
    out.append({k: v for k, v in track.items() if v is not None})
    return out, None
