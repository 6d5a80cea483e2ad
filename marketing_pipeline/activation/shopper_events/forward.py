"""Forward queued shopper events to one destination: queue, claim a chunk, send it in batches, record.

Failures: a request the platform refused (4xx) marks its events ``failed`` and keeps the body in
``ops.dead_letters``. An outage (5xx after retries, a dropped connection) stops the run: Klaviyo's
events go back to ``pending`` (its ``unique_id`` drops a second copy), Customer.io's become
``unknown`` (Pipelines documents no de-duplication, so they are never sent twice). A refused key
sends nothing, so its events go back to ``pending``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import psycopg

from marketing_pipeline import clock
from marketing_pipeline.activation.shopper_events import customerio, events, klaviyo, outbox
from marketing_pipeline.activation.sync_history import SyncCounts, recorded_sync
from marketing_pipeline.http import AuthError, VendorError
from marketing_pipeline.warehouse import record_dead_letter

DESTINATIONS = ("klaviyo", "customerio")
TYPES = {"klaviyo": tuple(klaviyo.METRICS), "customerio": customerio.TYPES}
CHUNK = 1000  # rows claimed at a time (one Klaviyo request at most)


class ForwardingStopped(Exception):
    """An outage or a refused key stopped forwarding; what was claimed is recorded as described above."""


def _refused(conn, ids: list[int], destination: str, exc: VendorError, body: object, run_id, counts) -> None:
    record_dead_letter(
        f"{destination}.shopper_events", str(exc), json.dumps(body, default=str), run_id=run_id
    )
    outbox.finish(conn, ids, "failed", str(exc))
    counts.failed += len(ids)
    counts.error(destination=destination, detail=str(exc)[:500])


def _send_klaviyo(conn, client, batch: list[events.ShopperEvent], store_url, run_id, counts) -> None:
    ids = [e.outbox_id for e in batch]
    body = klaviyo.bulk_body(batch, store_url)
    try:
        client.jsonapi("POST", klaviyo.PATH, json=body)
    except AuthError as exc:
        outbox.release(conn, ids)
        raise ForwardingStopped(str(exc)) from exc
    except VendorError as exc:
        if exc.retryable:
            outbox.release(conn, ids)  # Klaviyo drops a repeated unique_id: resending is safe
            raise ForwardingStopped(str(exc)) from exc
        _refused(conn, ids, "klaviyo", exc, body, run_id, counts)
        return
    except httpx.TransportError as exc:
        outbox.release(conn, ids)
        raise ForwardingStopped(f"{type(exc).__name__}: {exc}") from exc
    outbox.finish(conn, ids, "sent")
    counts.sent += len(ids)
    counts.extra["klaviyo_requests"] = counts.extra.get("klaviyo_requests", 0) + 1


def _send_customerio(conn, client, chunk: list[events.ShopperEvent], store_url, run_id, counts) -> None:
    ids = [e.outbox_id for e in chunk]
    batch, aliases = [], []
    for e in chunk:
        msgs, alias = customerio.messages(e, store_url)
        batch += msgs
        if alias:
            aliases.append((e.outbox_id, alias))
    try:
        counts.extra["customerio_batches"] = counts.extra.get("customerio_batches", 0) + client.batch(batch)
    except AuthError as exc:
        outbox.release(conn, ids)
        raise ForwardingStopped(str(exc)) from exc
    except VendorError as exc:
        if exc.retryable:
            outbox.finish(conn, ids, "unknown", str(exc))
            raise ForwardingStopped(str(exc)) from exc
        _refused(conn, ids, "customerio", exc, {"batch": batch}, run_id, counts)
        return
    except httpx.TransportError as exc:
        outbox.finish(conn, ids, "unknown", f"{type(exc).__name__}: {exc}")
        raise ForwardingStopped(f"{type(exc).__name__}: {exc}") from exc
    failed = 0
    for outbox_id, alias in aliases:
        try:
            client.alias(alias["previousId"], alias["userId"])
        except VendorError as exc:
            outbox.finish(conn, [outbox_id], "failed" if not exc.retryable else "unknown", f"alias: {exc}")
            counts.fail(str(outbox_id), f"alias: {exc}")
            failed += 1
    outbox.finish(conn, ids, "sent")
    counts.sent += len(ids) - failed


def forward(
    conn: psycopg.Connection,
    destination: str,
    client,
    store_url: str = "",
    lookback: timedelta = timedelta(days=7),
    run_id: str | None = None,
) -> SyncCounts:
    """Queue and send every event of the last ``lookback`` not yet sent to ``destination``.

    ``conn`` must be autocommit: every claim and outcome is recorded as it happens.
    """
    send = {"klaviyo": _send_klaviyo, "customerio": _send_customerio}[destination]
    with recorded_sync(conn, destination, "shopper_events", run_id) as counts:
        queued = outbox.enqueue(
            conn,
            destination,
            TYPES[destination],
            clock.now() - lookback,
            needs_email=destination == "klaviyo",
        )
        counts.extra["queued"] = queued
        while ids := outbox.claim(conn, destination, run_id, CHUNK):
            chunk = events.load(conn, ids)
            if destination == "klaviyo":
                for batch in klaviyo.batches(chunk, store_url):
                    send(conn, client, batch, store_url, run_id, counts)
            else:
                send(conn, client, chunk, store_url, run_id, counts)
        counts.skipped = conn.execute(
            "SELECT count(*) FROM ops.shopper_event_outbox WHERE destination = %s AND status = 'skipped'",
            (destination,),
        ).fetchone()[0]
    return counts
