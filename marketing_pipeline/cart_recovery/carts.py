"""Cart state = the fold of its events in occurrence order, (occurred_at, event_id).

Events are stored once per ``event_id``. The fold runs inside PostgreSQL
(``ops.record_cart_events``, ``sql/migrations/100_cart_fold_in_sql.sql``): a new event later than
every event the cart has seen (the usual case) is applied to the stored state, the same work
however long the history; a late one refolds the cart from all of its events, so late,
out-of-order and repeated deliveries all end in the same state. A per-cart advisory lock
serialises concurrent deliveries.

``fold``/``apply`` below are the same rules in Python: the specification the SQL is tested
against (``test_cart_fold_sql.py``), and ``CartState`` is what order recording reads.

Channels do not mix: a cart belongs to the channel of its first event (website or tiktok_shop)
and events from another channel are refused, so the website's publishable key can never touch a
TikTok Shop cart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import psycopg

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
_RECORD = "SELECT ops.record_cart_events(%s, %s::jsonb)"


def stored_state(conn: psycopg.Connection, cart_id: str) -> CartState | None:
    """The cart as ``ops.carts`` and ``ops.cart_items`` hold it."""
    return _stored(
        cart_id, conn.execute(_HEAD, (cart_id,)).fetchone(), conn.execute(_ITEMS, (cart_id,)).fetchall()
    )


@dataclass
class Recorded:
    new: int = 0
    duplicates: int = 0
    carts: list[str] = field(default_factory=list)
    new_orders: list[tuple[CartEvent, CartState]] = field(default_factory=list)


def record_events(conn: psycopg.Connection, events: list[CartEvent], source: str) -> Recorded:
    """Store new events and fold them into their carts, inside the caller's transaction (one
    cart's events may run in autocommit: their one statement is their transaction).

    The fold runs in PostgreSQL (``ops.record_cart_events``, migration 100): one statement per
    cart, all sent in one round trip. Carts go in one order (concurrent batches cannot
    deadlock), each cart's events oldest first, so a batch is applied to the stored state
    instead of refolding the history."""
    ordered = sorted(events, key=lambda e: (e.cart_id, *_key(e)))
    by_cart: dict[str, list[CartEvent]] = {}
    for e in ordered:
        by_cart.setdefault(e.cart_id, []).append(e)
    params = [record_params(cart_events, source) for cart_events in by_cart.values()]
    if len(params) == 1:
        statuses = conn.execute(_RECORD, params[0]).fetchone()[0]
    else:
        with conn.pipeline():
            cursors = [conn.execute(_RECORD, p) for p in params]
            statuses = [status for cur in cursors for status in cur.fetchone()[0]]
    out = outcome(ordered, statuses, source)
    completed = [
        e
        for e, status in zip(ordered, statuses, strict=True)
        if status == "new" and e.type == "order_completed"
    ]
    states = {cart_id: stored_state(conn, cart_id) for cart_id in {e.cart_id for e in completed}}
    out.new_orders = [(e, states[e.cart_id]) for e in completed]
    return out


async def record_event(conn: psycopg.AsyncConnection, event: CartEvent, source: str) -> Recorded:
    """One event that is not an order, in autocommit: the intake's hot path, no thread hop."""
    if event.type == "order_completed":
        raise ValueError("an order_completed event also writes the order: use record_events")
    cur = await conn.execute(_RECORD, record_params([event], source))
    return outcome([event], (await cur.fetchone())[0], source)


def record_params(cart_events: list[CartEvent], source: str) -> tuple[str, str]:
    # pydantic's own JSON (what model_dump(mode="json") holds) sent as text: cheaper than Jsonb
    return source, "[" + ",".join(e.model_dump_json() for e in cart_events) + "]"


def outcome(ordered: list[CartEvent], statuses: list[str], source: str) -> Recorded:
    """Counts from ``ops.record_cart_events``'s answers; another channel's cart is refused (nothing
    of that event was stored, and the caller's transaction rolls back the rest)."""
    out = Recorded()
    for e, status in zip(ordered, statuses, strict=True):
        if status.startswith("foreign:"):
            raise BadEvent(
                f"cart {e.cart_id!r} belongs to the {status.split(':', 1)[1]} channel;"
                f" {source} events cannot change it"
            )
        if status == "duplicate":
            out.duplicates += 1
            continue
        out.new += 1
        if not out.carts or out.carts[-1] != e.cart_id:
            out.carts.append(e.cart_id)
    return out
