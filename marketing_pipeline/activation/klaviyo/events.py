"""Warehouse orders -> Klaviyo ``Placed Order`` events, each sent once.

The order id is the event's ``unique_id``, so Klaviyo itself drops a repeat for the same profile
and metric. ``ops.klaviyo_sent_events`` remembers what was accepted (and what Klaviyo refused,
with its reason), so a re-run sends only orders not yet sent. A crash between Klaviyo's 202 and
our insert means one resend at most, which the ``unique_id`` makes harmless.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg

from marketing_pipeline.activation import model
from marketing_pipeline.activation.klaviyo.bulk_events import bulk_create_job
from marketing_pipeline.activation.klaviyo.config import PLACED_ORDER
from marketing_pipeline.activation.sync_history import SyncCounts
from marketing_pipeline.http import VendorError
from marketing_pipeline.warehouse import record_dead_letter

# Orders only Klaviyo knows (channel 'klaviyo') came from Klaviyo: they are not sent back.
_ORDERS = f"SELECT * FROM ({model.ORDERS_SQL}) o WHERE o.channel <> 'klaviyo'"

UNSENT_ORDERS_SQL = f"""
SELECT o.order_id, o.email, o.value, o.currency, o.created_at, o.channel,
       coalesce(l.items, '[]'::jsonb) AS items
FROM ({_ORDERS}) o
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'ProductID', product_id, 'SKU', sku, 'ProductName', product_name,
               'Quantity', quantity, 'ItemPrice', unit_price, 'RowTotal', unit_price * quantity))
             ORDER BY sku) AS items
    FROM ({model.LINES_SQL}) l WHERE l.order_key = o.order_key
) l ON true
WHERE NOT EXISTS (SELECT 1 FROM ops.klaviyo_sent_events s WHERE s.metric = %s AND s.unique_id = o.order_id)
  AND o.created_at >= %s
ORDER BY o.created_at, o.order_id
"""


def event_body(
    order_id: str,
    email: str,
    value,
    currency: str,
    created_at: datetime,
    channel: str,
    items: list[dict],
    backfill: bool,
) -> dict:
    return {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {
                    "OrderId": order_id,
                    "Channel": channel,
                    "ItemCount": sum(i.get("Quantity", 0) for i in items),
                    "ItemNames": [i["ProductName"] for i in items if i.get("ProductName")],
                    "Items": items,
                },
                "time": created_at.astimezone(UTC).isoformat(),
                "value": float(value),
                "value_currency": currency,
                "unique_id": order_id,
                "backfill": backfill,
                "metric": {"data": {"type": "metric", "attributes": {"name": PLACED_ORDER}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
            },
        }
    }


MAX_EVENTS_PER_JOB = 1000  # POST /api/event-bulk-create-jobs: "Accepts up to 1,000 events per request"
MAX_JOB_BYTES = 5 * 1024 * 1024  # "The maximum allowed payload size is 5MB"
BULK_PATH = "/api/event-bulk-create-jobs"


def bulk_body(bodies: list[dict]) -> dict:
    """One bulk create job for single-event bodies: their events grouped per profile, in order."""
    by_email: dict[str, list[dict]] = {}
    for body in bodies:
        attributes = dict(body["data"]["attributes"])
        email = attributes.pop("profile")["data"]["attributes"]["email"]
        by_email.setdefault(email, []).append({"type": "event", "attributes": attributes})
    return bulk_create_job(by_email)


def sync_order_events(
    conn: psycopg.Connection,
    client,
    run_id: str | None,
    counts: SyncCounts,
    backfill_after_hours: int = 48,
    since_days: int | None = None,
) -> None:
    """Send every placed order not yet sent (placed within ``since_days``, when given).

    Events go 1,000 to a bulk create job (one call instead of one per order). Klaviyo takes or
    refuses a job whole, so a refused job's events are sent again one by one: the good ones are
    kept and each refused one is recorded with Klaviyo's reason. ``conn`` is autocommit: each
    accepted job (or event) is recorded at once."""
    counts.skipped = conn.execute(
        f"SELECT count(*) FROM ({_ORDERS}) o WHERE EXISTS"
        " (SELECT 1 FROM ops.klaviyo_sent_events s WHERE s.metric = %s AND s.unique_id = o.order_id)",
        (PLACED_ORDER,),
    ).fetchone()[0]
    backfill_before = datetime.now(UTC) - timedelta(hours=backfill_after_hours)

    def record(rows: list[tuple]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ops.klaviyo_sent_events (metric, unique_id, email, value, event_at, run_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(PLACED_ORDER, *row, run_id) for row in rows],
            )
        counts.sent += len(rows)
        counts.created += len(rows)

    def send_one(body: dict, row: tuple) -> None:
        order_id, email, value, created_at = row
        try:
            client.jsonapi("POST", "/api/events", json=body)
        except VendorError as exc:
            if exc.retryable or exc.status in (401, 403):
                raise  # an outage or a bad key: stop, the run is retried; nothing is lost
            # Klaviyo refused this event: keep it with the reason, do not send it again.
            record_dead_letter("klaviyo.events", str(exc), json.dumps(body), run_id=run_id)
            conn.execute(
                "INSERT INTO ops.klaviyo_sent_events (metric, unique_id, email, value, event_at, run_id, status,"
                " error) VALUES (%s, %s, %s, %s, %s, %s, 'rejected', %s)",
                (PLACED_ORDER, order_id, email, value, created_at, run_id, str(exc)[:1000]),
            )
            counts.failed += 1
            counts.error(order_id=order_id, email=email, detail=str(exc)[:500])
            return
        record([row])

    def send(batch: list[tuple[dict, tuple]]) -> None:
        try:
            client.jsonapi("POST", BULK_PATH, json=bulk_body([body for body, _ in batch]))
        except VendorError as exc:
            if exc.retryable or exc.status in (401, 403):
                raise
            for body, row in batch:  # refused whole: find the refused events one by one
                send_one(body, row)
            return
        record([row for _, row in batch])

    model.require_model(conn)
    with conn.cursor(name="klaviyo_unsent_orders", withhold=True) as cur:
        cur.itersize = 500
        since = (
            datetime.min.replace(tzinfo=UTC)
            if since_days is None
            else datetime.now(UTC) - timedelta(days=since_days)
        )
        cur.execute(UNSENT_ORDERS_SQL, (PLACED_ORDER, since))
        batch: list[tuple[dict, tuple]] = []
        size = 0
        for order_id, email, value, currency, created_at, channel, items in cur:
            body = event_body(
                order_id,
                email,
                value,
                currency,
                created_at,
                channel,
                items,
                backfill=created_at < backfill_before,
            )
            n = len(json.dumps(body, separators=(",", ":"))) + 200  # with room for the grouping
            if batch and (len(batch) >= MAX_EVENTS_PER_JOB or size + n > MAX_JOB_BYTES - 1024):
                send(batch)
                batch, size = [], 0
            batch.append((body, (order_id, email, value, created_at)))
            size += n
        if batch:
            send(batch)
