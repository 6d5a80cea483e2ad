"""``POST /webhooks/customerio``: Customer.io reporting webhooks, verified, stored once, acted on.

401 for a missing, wrong or stale signature (nothing stored; counted in
``ops.customerio_webhook_counters`` and logged); 400 naming what is wrong for a body that is
not a valid event (kept in ``ops.dead_letters``); 200 otherwise, with a replayed ``event_id``
stored once. Unsubscribed, bounced and spammed events suppress the address. The signing key is
read from ``CUSTOMERIO_WEBHOOK_SIGNING_KEY`` on every request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marketing_pipeline import consent
from marketing_pipeline.settings import web as web_settings
from marketing_pipeline.sources.customerio.signing import check
from marketing_pipeline.sources.customerio.webhook_models import SUPPRESSING, ReportingEvent, parse_event
from marketing_pipeline.untrusted import parse_json
from marketing_pipeline.warehouse import pooled, record_dead_letter

log = logging.getLogger(__name__)
SOURCE = "customerio.webhooks"
KEY_VAR = web_settings.CUSTOMERIO_WEBHOOK_SIGNING_KEY
KEPT_HEADERS = ("content-type", "user-agent", "x-cio-timestamp")


def count(counter: str) -> None:
    with pooled() as conn:
        conn.execute(
            "INSERT INTO ops.customerio_webhook_counters (day, counter, count) VALUES (current_date, %s, 1)"
            " ON CONFLICT (day, counter) DO UPDATE SET count = ops.customerio_webhook_counters.count + 1",
            (counter,),
        )


def _text(value: object) -> str | None:
    """An id column's value: strings and numbers as text, anything else (objects, lists) left out."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)[:500]


def store(event: ReportingEvent, payload: dict) -> bool:
    """Insert once per event_id and suppress when the metric calls for it, in one transaction."""
    occurred = datetime.fromtimestamp(event.timestamp, UTC)
    ids = event.identifiers
    with pooled(transaction=True) as conn:
        inserted = (
            conn.execute(
                "INSERT INTO raw.customerio_webhook_events (event_id, object_type, metric, occurred_at, delivery_id,"
                " customer_id, email, campaign_id, newsletter_id, broadcast_id, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                (
                    event.event_id,
                    event.object_type,
                    event.metric,
                    occurred,
                    _text(event.data.get("delivery_id")),
                    _text(ids.get("id")) or _text(event.data.get("customer_id")),
                    event.email,
                    event.int_field("campaign_id"),
                    event.int_field("newsletter_id"),
                    event.int_field("broadcast_id"),
                    Jsonb(payload),
                ),
            ).rowcount
            == 1
        )
        if (
            inserted
            and event.metric in SUPPRESSING
            and event.email
            and event.object_type in ("email", "customer")
        ):
            consent.suppress(conn, event.email, "customerio", SUPPRESSING[event.metric], occurred)
    return inserted


async def refuse(request: Request, body: bytes, problem: str) -> JSONResponse:
    reason = f"malformed Customer.io reporting event: {problem}"
    headers = {k: v for k, v in request.headers.items() if k in KEPT_HEADERS}
    await run_in_threadpool(_dead_letter, reason, body, headers)
    return JSONResponse({"error": reason}, status_code=400)


def _dead_letter(reason: str, body: bytes, headers: dict) -> None:
    with pooled() as conn:
        record_dead_letter(SOURCE, reason, body, headers=headers, conn=conn)
    count("malformed")


async def receive(request: Request) -> JSONResponse:
    key = web_settings.customerio_webhook_signing_key()
    if not key:
        log.error("customerio webhook refused: %s is not set", KEY_VAR)
        return JSONResponse({"error": "webhook signing key not configured"}, status_code=503)
    body = await request.body()
    refused = check(key, request.headers.get("x-cio-timestamp"), request.headers.get("x-cio-signature"), body)
    if refused:
        log.warning("customerio webhook refused: %s", refused)
        await run_in_threadpool(count, "stale_timestamp" if refused == "stale timestamp" else "bad_signature")
        return JSONResponse({"error": f"signature check failed: {refused}"}, status_code=401)
    try:
        payload = parse_json(body)  # refuses NUL, lone surrogates and deep nesting too
        event = parse_event(payload)
    except ValueError as exc:
        return await refuse(request, body, str(exc))
    stored = await run_in_threadpool(store, event, payload)
    return JSONResponse({"ok": True, "stored": stored})


routes = [Route("/webhooks/customerio", receive, methods=["POST"])]
