"""Order events to Customer.io: identify each buyer, then track ``order_placed`` with a ULID id.

Rules, in order: a suppressed email (any source) gets nothing; subscription attributes
(``unsubscribed: false``) only for emails whose consent allows it (``consent.may_subscribe``);
an event already accepted (``ops.customerio_sent_events``) is not sent again, and its id is a
ULID derived from the order so Customer.io drops a replay that slips past the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from marketing_pipeline import consent
from marketing_pipeline.activation import model
from marketing_pipeline.activation.sync_history import SyncCounts, close_sync, open_sync
from marketing_pipeline.http import VendorError
from marketing_pipeline.sources.customerio.track import TrackClient, TrackPayloadError
from marketing_pipeline.sources.customerio.ulid import deterministic_ulid

EVENT_NAME = "order_placed"


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    channel: str
    email: str
    first_name: str | None
    last_name: str | None
    value: Decimal
    currency: str
    created_at: datetime

    @property
    def event_id(self) -> str:
        return order_event_id(self.order_id, self.created_at)


def order_event_id(order_id: str, created_at: datetime) -> str:
    return deterministic_ulid(created_at, f"{EVENT_NAME}:{order_id}")


def placed_orders(conn: psycopg.Connection, start: datetime, end: datetime) -> list[OrderRow]:
    """Orders (not cancelled, every channel of ``core.orders``) placed in [start, end)."""
    model.require_model(conn)
    rows = conn.execute(
        "SELECT order_id, channel, email, first_name, last_name, value, currency, created_at"
        f" FROM ({model.ORDERS_SQL}) o"
        " WHERE created_at >= %s AND created_at < %s ORDER BY created_at, order_id",
        (start, end),
    ).fetchall()
    return [OrderRow(*r) for r in rows]


def identify_attributes(order: OrderRow, subscribable: bool) -> dict:
    attrs = {
        "email": order.email,
        "last_order_at": int(order.created_at.timestamp()),
        "last_order_channel": order.channel,
    }
    if order.first_name:
        attrs["first_name"] = order.first_name
    if order.last_name:
        attrs["last_name"] = order.last_name
    if subscribable:
        attrs["unsubscribed"] = False  # a subscription attribute: only with consent
    return attrs


def sync_order_events(
    conn: psycopg.Connection, client: TrackClient, start: datetime, end: datetime, run_id: str | None = None
) -> tuple[SyncCounts, str]:
    """Send the window's orders; ``conn`` must be autocommit (the ledger records each accepted event)."""
    history_id = open_sync(conn, "customerio", "order_events", run_id)
    counts = SyncCounts()
    try:
        orders = placed_orders(conn, start, end)
        emails = {o.email for o in orders}
        blocked = consent.suppressed(conn, emails)
        subscribable = consent.may_subscribe(conn, emails)
        ids = [o.event_id for o in orders]
        sent_before = {
            r[0]
            for r in conn.execute(
                "SELECT event_id FROM ops.customerio_sent_events WHERE event_id = ANY(%s)", (ids,)
            )
        }
        latest = {o.email: o for o in orders}  # ordered by time: the last order per buyer wins
        identified: set[str] = set()
        for order in orders:
            if order.email in blocked or order.event_id in sent_before:
                counts.skipped += 1
                continue
            try:
                if order.email not in identified:
                    client.identify(
                        order.email, identify_attributes(latest[order.email], order.email in subscribable)
                    )
                    identified.add(order.email)
                    counts.updated += 1
                client.track(
                    order.email,
                    EVENT_NAME,
                    event_id=order.event_id,
                    timestamp=int(order.created_at.timestamp()),
                    data={
                        "order_id": order.order_id,
                        "channel": order.channel,
                        "value": float(order.value),
                        "currency": order.currency,
                    },
                )
            except (VendorError, TrackPayloadError) as exc:
                counts.fail(order.order_id, str(exc))
                continue
            conn.execute(
                "INSERT INTO ops.customerio_sent_events (event_id, order_id, customer_id, name, run_id)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (order.event_id, order.order_id, order.email, EVENT_NAME, run_id),
            )
            counts.sent += 1
    except Exception as exc:
        counts.fail("(sync)", f"{type(exc).__name__}: {exc}")
        close_sync(conn, history_id, counts, "failed")
        raise
    return counts, close_sync(conn, history_id, counts)
