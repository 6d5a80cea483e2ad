"""Orders completed on the website, recorded through the website source's ``upsert_orders``."""

from __future__ import annotations

import psycopg

from marketing_pipeline.cart_recovery.carts import CartState
from marketing_pipeline.cart_recovery.events import BadEvent, CartEvent
from marketing_pipeline.http import MalformedRecord
from marketing_pipeline.sources.website.orders import WebsiteOrder, parse_website_order, upsert_orders

ORDER_SOURCE = "checkout"


def website_order(event: CartEvent, cart: CartState) -> WebsiteOrder:
    """The order an ``order_completed`` event announces: its own items, else the cart's."""
    items = event.items if event.items is not None else list(cart.items.values())
    extra = {k: v for k, v in (event.model_extra or {}).items() if k in WebsiteOrder.model_fields}
    raw = {
        **extra,
        "order_id": event.order_id,
        "email": event.email or cart.email,
        "created_at": event.occurred_at.isoformat(),
        "currency": event.currency,
        "total": str(event.order_total),
        "lines": [
            {
                "sku": i.sku_id,
                "product_id": i.product_id,
                "name": i.name,
                "variant": i.variant,
                "quantity": i.quantity,
                "unit_price": str(i.unit_price),
                "image_url": i.image_url,
                "discount": (i.model_extra or {}).get("discount") or "0",
            }
            for i in items
        ],
    }
    if not raw["email"]:
        raise BadEvent(
            f"order_completed {event.event_id}: the order needs an email (on the event or the cart)"
        )
    try:
        return parse_website_order(raw)
    except MalformedRecord as exc:
        raise BadEvent(f"order_completed {event.event_id}: {exc}") from None


def record_website_orders(
    conn: psycopg.Connection, completed: list[tuple[CartEvent, CartState]], tz: str | None = None
) -> int:
    """The completed carts' orders; ``tz``, the brand's time zone, cuts their days."""
    return upsert_orders(conn, [website_order(e, cart) for e, cart in completed], ORDER_SOURCE, tz=tz)
