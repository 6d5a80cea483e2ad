"""``POST /webhooks/customerio``: Customer.io reporting webhooks, verified, stored once, acted on.

401 for a missing, wrong or stale signature (nothing stored; counted in
``ops.customerio_webhook_counters`` and logged); 400 naming what is wrong for a body that is
not a valid event (kept in ``ops.dead_letters``); 200 otherwise, with a replayed ``event_id``
stored once. Unsubscribed, bounced and spammed events suppress the address. The signing key is
read from ``CUSTOMERIO_WEBHOOK_SIGNING_KEY`` on every request.

Many brands: each brand's workspace posts to ``/webhooks/<brand>/customerio`` (the default
brand's also to ``/webhooks/customerio``); the body is checked with that brand's key only
(``<ID>_CUSTOMERIO_WEBHOOK_SIGNING_KEY``) and stored, counted and acted on in that brand's
warehouse, so a body signed for one brand is refused at every other brand's URL.
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
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings import web as web_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.sources.customerio.signing import check
from marketing_pipeline.sources.customerio.webhook_models import SUPPRESSING, ReportingEvent, parse_event
from marketing_pipeline.untrusted import parse_json
from marketing_pipeline.warehouse import pooled, record_dead_letter

log = logging.getLogger(__name__)
SOURCE = "customerio.webhooks"
KEY_VAR = web_settings.CUSTOMERIO_WEBHOOK_SIGNING_KEY
KEPT_HEADERS = ("content-type", "user-agent", "x-cio-timestamp")


def count(counter: str, brand: Brand | None = None) -> None:
    with pooled(brand=brand) as conn:
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


def store(event: ReportingEvent, payload: dict, brand: Brand | None = None) -> bool:
    """Insert once per event_id and suppress when the metric calls for it, in one transaction."""
    occurred = datetime.fromtimestamp(event.timestamp, UTC)
    ids = event.identifiers
    with pooled(transaction=True, brand=brand) as conn:
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


async def refuse(request: Request, body: bytes, problem: str, brand: Brand | None = None) -> JSONResponse:
    reason = f"malformed Customer.io reporting event: {problem}"
    headers = {k: v for k, v in request.headers.items() if k in KEPT_HEADERS}
    await run_in_threadpool(_dead_letter, reason, body, headers, brand)
    return JSONResponse({"error": reason}, status_code=400)


def _dead_letter(reason: str, body: bytes, headers: dict, brand: Brand | None = None) -> None:
    with pooled(brand=brand) as conn:
        record_dead_letter(SOURCE, reason, body, headers=headers, conn=conn)
    count("malformed", brand)


def _brand(request: Request) -> Brand | None:
    brand = brand_settings.from_path(request.path_params.get("brand"))
    return brand if brand and "customerio" in brand.vendors else None


async def receive(request: Request) -> JSONResponse:
    brand = _brand(request)
    if brand is None:
        return JSONResponse({"error": "no brand with Customer.io at this URL"}, status_code=404)
    key = web_settings.customerio_webhook_signing_key(brand)
    if not key:
        log.error("customerio webhook refused: %s is not set", brand.variable(KEY_VAR))
        return JSONResponse({"error": "webhook signing key not configured"}, status_code=503)
    body = await request.body()
    refused = check(key, request.headers.get("x-cio-timestamp"), request.headers.get("x-cio-signature"), body)
    if refused:
        log.warning("customerio webhook for brand %s refused: %s", brand.id, refused)
        counter = "stale_timestamp" if refused == "stale timestamp" else "bad_signature"
        await run_in_threadpool(count, counter, brand)
        return JSONResponse({"error": f"signature check failed: {refused}"}, status_code=401)
    try:
        payload = parse_json(body)  # refuses NUL, lone surrogates and deep nesting too
        event = parse_event(payload)
    except ValueError as exc:
        return await refuse(request, body, str(exc), brand)
    stored = await run_in_threadpool(store, event, payload, brand)
    return JSONResponse({"ok": True, "stored": stored})


routes = [
    Route("/webhooks/customerio", receive, methods=["POST"]),
    Route("/webhooks/{brand:str}/customerio", receive, methods=["POST"]),
]
