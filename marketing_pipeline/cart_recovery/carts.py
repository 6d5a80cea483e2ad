"""Cart state = the fold of its events in occurrence order, (occurred_at, event_id).

Events are stored once per ``event_id``. A new event later than every event the cart has seen
(the usual case) is applied to the stored state: the same work however long the history. A late
one refolds the cart from all of its events, so late, out-of-order and repeated deliveries all
end in the same state. A per-cart advisory lock serialises concurrent deliveries.

Channels do not mix: a cart belongs to the channel of its first event (website or tiktok_shop)
and events from another channel are refused, so the website's publishable key can never touch a
TikTok Shop cart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb

from marketing_pipeline.cart_recovery.events import BadEvent, CartEvent, CartItem
from marketing_pipeline.consent import normalize_email


@dataclass
class CartState:
    cart_id: str
    channel: str
    created_at: datetime
    last_activity_at: datetime
    email: str | None = None
    customer_id: str | None = None
    currency: str = "USD"
    items: dict[str, CartItem] = field(default_factory=dict)
    checkout_started_at: datetime | None = None
    converted_at: datetime | None = None
    order_id: str | None = None
    order_total: Decimal | None = None
    last_event_id: str | None = None

    @property
    def item_count(self) -> int:
        return sum(i.quantity for i in self.items.values())

    @property
    def subtotal(self) -> Decimal:
        return sum((i.unit_price * i.quantity for i in self.items.values()), Decimal(0))

    @property
    def product_url(self) -> str | None:
        """Of the first item by SKU: the same whichever way the state was reached."""
        return next(
            (self.items[k].product_url for k in sorted(self.items) if self.items[k].product_url), None
        )


def _key(e: CartEvent) -> tuple[datetime, str]:
    return (e.occurred_at, e.event_id)


def fold(cart_id: str, channel: str, events: list[CartEvent]) -> CartState:
    """Apply events oldest first (ties by event id, so the result never depends on arrival order)."""
    events = sorted(events, key=_key)
    state = CartState(cart_id, channel, events[0].occurred_at, events[-1].occurred_at)
    return apply(state, events)


def apply(state: CartState, events: list[CartEvent]) -> CartState:
    """Apply events (sorted, all later than what ``state`` has seen) to ``state``."""
    for e in events:
        state.last_activity_at = e.occurred_at
        if e.email:
            state.email = normalize_email(e.email)
        state.customer_id = e.customer_id or state.customer_id
        state.currency = e.currency
        if e.items is not None:
            state.items = {i.sku_id: i for i in e.items}
        if e.type == "item_added":
            old = state.items.get(e.item.sku_id)
            qty = e.item.quantity + (old.quantity if old else 0)
            state.items[e.item.sku_id] = e.item.model_copy(update={"quantity": qty})
        elif e.type == "item_removed":
            old = state.items.get(e.item.sku_id)
            if old and old.quantity > e.item.quantity:
                state.items[e.item.sku_id] = old.model_copy(
                    update={"quantity": old.quantity - e.item.quantity}
                )
            else:
                state.items.pop(e.item.sku_id, None)
        elif e.type == "checkout_started":
            state.checkout_started_at = state.checkout_started_at or e.occurred_at
        elif e.type == "order_completed" and state.converted_at is None:
            state.converted_at, state.order_id, state.order_total = e.occurred_at, e.order_id, e.order_total
        state.last_event_id = e.event_id
    return state


_ITEM_COLUMNS = (
    "sku_id",
    "product_id",
    "name",
    "variant",
    "image_url",
    "product_url",
    "quantity",
    "unit_price",
)


def _stored(cart_id: str, row: tuple | None, item_rows: list[tuple]) -> CartState | None:
    if row is None:
        return None
    state = CartState(cart_id, *row[:3])
    (
        state.email,
        state.customer_id,
        state.currency,
        state.checkout_started_at,
        state.converted_at,
        state.order_id,
        state.order_total,
        state.last_event_id,
    ) = row[3:]
    for values in item_rows:
        # rows we wrote from validated events: no need to validate again
        state.items[values[0]] = CartItem.model_construct(**dict(zip(_ITEM_COLUMNS, values, strict=True)))
    return state


_HEAD = (
    "SELECT channel, created_at, last_activity_at, email, customer_id, currency, checkout_started_at,"
    " converted_at, order_id, order_total, last_event_id FROM ops.carts WHERE cart_id = %s"
)
_ITEMS = f"SELECT {', '.join(_ITEM_COLUMNS)} FROM ops.cart_items WHERE cart_id = %s"

_UPSERT = """
INSERT INTO ops.carts (cart_id, channel, email, customer_id, currency, item_count, subtotal, product_url, created_at,
                       last_activity_at, checkout_started_at, converted_at, order_id, order_total, last_event_id,
                       updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
ON CONFLICT (cart_id) DO UPDATE SET
  email = EXCLUDED.email, customer_id = EXCLUDED.customer_id, currency = EXCLUDED.currency,
  item_count = EXCLUDED.item_count, subtotal = EXCLUDED.subtotal, product_url = EXCLUDED.product_url,
  created_at = EXCLUDED.created_at, last_activity_at = EXCLUDED.last_activity_at,
  checkout_started_at = EXCLUDED.checkout_started_at, converted_at = EXCLUDED.converted_at,
  order_id = EXCLUDED.order_id, order_total = EXCLUDED.order_total, last_event_id = EXCLUDED.last_event_id,
  updated_at = now()
"""


def _write(conn: psycopg.Connection, s: CartState) -> None:
    with conn.pipeline():  # upsert, delete and insert items: one round trip
        _write_statements(conn, s)


def _write_statements(conn: psycopg.Connection, s: CartState) -> None:
    conn.execute(
        _UPSERT,
        (
            s.cart_id,
            s.channel,
            s.email,
            s.customer_id,
            s.currency,
            s.item_count,
            s.subtotal,
            s.product_url,
            s.created_at,
            s.last_activity_at,
            s.checkout_started_at,
            s.converted_at,
            s.order_id,
            s.order_total,
            s.last_event_id,
        ),
    )
    conn.execute("DELETE FROM ops.cart_items WHERE cart_id = %s", (s.cart_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ops.cart_items (cart_id, sku_id, product_id, name, variant, image_url, product_url,"
            " quantity, unit_price) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    s.cart_id,
                    i.sku_id,
                    i.product_id,
                    i.name,
                    i.variant,
                    i.image_url,
                    i.product_url,
                    i.quantity,
                    i.unit_price,
                )
                for i in s.items.values()
            ],
        )


@dataclass
class Recorded:
    new: int = 0
    duplicates: int = 0
    carts: list[str] = field(default_factory=list)
    new_orders: list[tuple[CartEvent, CartState]] = field(default_factory=list)


def record_events(conn: psycopg.Connection, events: list[CartEvent], source: str) -> Recorded:
    """Store new events and refold the carts they touch, inside the caller's transaction."""
    by_cart: dict[str, list[CartEvent]] = defaultdict(list)
    for e in events:
        by_cart[e.cart_id].append(e)
    out = Recorded()
    for cart_id in sorted(by_cart):  # one lock order: concurrent batches cannot deadlock
        # lock, read the cart, insert the events: one round trip (a pipeline). Inserting before
        # the channel check is safe: a refusal raises and the caller's transaction rolls back.
        with conn.pipeline():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('ops.carts:' || %s))", (cart_id,))
            head = conn.execute(_HEAD, (cart_id,))
            items = conn.execute(_ITEMS, (cart_id,))
            inserted = [
                conn.execute(
                    "INSERT INTO ops.cart_events (event_id, cart_id, type, source, occurred_at, payload)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING RETURNING id",
                    (e.event_id, cart_id, e.type, source, e.occurred_at, Jsonb(e.model_dump(mode="json"))),
                )
                for e in by_cart[cart_id]
            ]
            state = _stored(cart_id, head.fetchone(), items.fetchall())
            fresh = [e for e, cur in zip(by_cart[cart_id], inserted, strict=True) if cur.fetchone()]
        if state is not None and state.channel != source:
            raise BadEvent(
                f"cart {cart_id!r} belongs to the {state.channel} channel; {source} events cannot change it"
            )
        out.duplicates += len(by_cart[cart_id]) - len(fresh)
        if not fresh:
            continue
        out.new += len(fresh)
        out.carts.append(cart_id)
        fresh.sort(key=_key)
        if (
            state is not None
            and state.last_event_id
            and _key(fresh[0])
            > (
                state.last_activity_at,
                state.last_event_id,
            )
        ):
            state = apply(state, fresh)
        else:  # a new cart, or an event older than what the cart has seen: refold its history
            stored = [
                CartEvent.model_validate(p)
                for (p,) in conn.execute(
                    "SELECT payload FROM ops.cart_events WHERE cart_id = %s ORDER BY occurred_at, id",
                    (cart_id,),
                )
            ]
            state = fold(cart_id, source, stored)
        _write(conn, state)
        out.new_orders += [(e, state) for e in fresh if e.type == "order_completed"]
    return out
