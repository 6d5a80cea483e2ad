"""A claimed cart event with what its destination needs: the cart's email, currency and contents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

# The claimed rows of one destination, with the cart as it stands (items as Klaviyo-style dicts).
CLAIMED_SQL = """
SELECT o.id, e.event_id, e.cart_id, e.type, e.source, e.occurred_at, e.payload,
       c.email, c.currency, c.subtotal, coalesce(i.items, '[]'::jsonb)
FROM ops.shopper_event_outbox o
JOIN ops.cart_events e USING (event_id)
LEFT JOIN ops.carts c ON c.cart_id = e.cart_id
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'sku_id', sku_id, 'product_id', product_id, 'name', name, 'variant', variant,
               'image_url', image_url, 'product_url', product_url, 'quantity', quantity,
               'unit_price', unit_price)) ORDER BY sku_id) AS items
    FROM ops.cart_items ci WHERE ci.cart_id = e.cart_id
) i ON true
WHERE o.id = ANY(%s)
ORDER BY e.occurred_at, e.event_id
"""


@dataclass(frozen=True)
class ShopperEvent:
    outbox_id: int
    event_id: str
    cart_id: str
    type: str
    source: str
    occurred_at: datetime
    payload: dict
    email: str | None  # the cart's email now (events before identification are attributed to it)
    currency: str
    cart_value: Decimal
    cart_items: list[dict]

    @property
    def item(self) -> dict:
        return self.payload.get("item") or {}

    @property
    def anonymous_id(self) -> str:
        """The storefront's anonymous id when it sends one, else one per cart."""
        return str(self.payload.get("anonymous_id") or f"cart:{self.cart_id}")


def load(conn: psycopg.Connection, outbox_ids: list[int]) -> list[ShopperEvent]:
    rows = conn.execute(CLAIMED_SQL, (outbox_ids,)).fetchall()
    return [
        ShopperEvent(*r[:8], r[8] or "USD", Decimal(r[9] or 0), r[10])  # type: ignore[arg-type]
        for r in rows
    ]


def product_url(item: dict, store_url: str) -> str | None:
    if item.get("product_url"):
        return item["product_url"]
    if store_url and item.get("product_id"):
        return f"{store_url.rstrip('/')}/products/{item['product_id']}"
    return None


def checkout_url(event: ShopperEvent, store_url: str) -> str | None:
    return f"{store_url.rstrip('/')}/cart/restore/{event.cart_id}" if store_url else None
