"""Cart event intake: ``POST /intake/cart-events`` (website, publishable write key) and
``POST /webhooks/tiktok-shop`` (TikTok Shop, HMAC signature). Refused bodies get a 4xx
naming the problem and are kept in ``ops.dead_letters``; unauthenticated ones are not stored.

The website's key is publishable (it ships in the storefront's JavaScript), so what it may do is
narrow: website carts only. Ids in TikTok Shop's namespace (``tts:``) are refused here, and a
cart's channel never changes (``carts.record_events``).
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marketing_pipeline.cart_recovery import tiktok
from marketing_pipeline.cart_recovery.carts import Recorded, record_event, record_events
from marketing_pipeline.cart_recovery.events import BadEvent, CartEvent, parse_events
from marketing_pipeline.cart_recovery.orders import record_website_orders
from marketing_pipeline.http import MalformedRecord, MissingCredentials, VendorError
from marketing_pipeline.settings import web as web_settings
from marketing_pipeline.sources.tiktok_shop.signing import verify_webhook
from marketing_pipeline.untrusted import BadBody, parse_json
from marketing_pipeline.warehouse import apooled, pooled, record_dead_letter

log = logging.getLogger(__name__)
MAX_FUTURE = timedelta(hours=1)  # storefront clocks drift; a later time is a bug, not a skew


def write_key() -> str:
    return web_settings.website_write_key()


def _presented_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-write-key", "").strip()


def _refuse(source: str, status: int, reason: str, body: bytes, content_type: str) -> JSONResponse:
    with pooled() as conn:
        record_dead_letter(source, reason, body, headers={"content-type": content_type}, conn=conn)
    return JSONResponse({"error": reason}, status_code=status)


async def refuse(source: str, status: int, reason: str, body: bytes, request: Request) -> JSONResponse:
    ctype = request.headers.get("content-type", "")
    return await run_in_threadpool(_refuse, source, status, reason, body, ctype)


def store(events: list[CartEvent], source: str) -> dict:
    # A lone event is one statement, so its own transaction (one round trip, no BEGIN/COMMIT);
    # several events, or an order that also writes the order tables, need one transaction.
    atomic = len(events) > 1 or any(e.type == "order_completed" for e in events)
    with pooled(transaction=atomic) as conn:
        result = record_events(conn, events, source)
        if source == "website" and result.new_orders:
            record_website_orders(conn, result.new_orders)
    return counts(result)


def counts(result: Recorded) -> dict:
    return {"accepted": result.new, "duplicates": result.duplicates, "carts": len(result.carts)}


def website_events(body: bytes, now: datetime) -> list[CartEvent]:
    """The events of a website body; ``BadBody``/``BadEvent`` name what is wrong."""
    events = parse_events(parse_json(body))
    foreign = [
        e.event_id
        for e in events
        if e.cart_id.startswith(tiktok.PREFIX) or e.event_id.startswith(tiktok.PREFIX)
    ]
    if foreign:
        raise BadEvent(
            f"ids starting {tiktok.PREFIX!r} belong to TikTok Shop; refused for events {foreign[:5]}"
        )
    late = [e.event_id for e in events if e.occurred_at > now + MAX_FUTURE]
    if late:
        raise BadEvent(f"occurred_at is in the future for events {late[:5]}")
    return events


async def cart_events(request: Request) -> JSONResponse:
    expected = write_key()
    if not expected:
        return JSONResponse({"error": "cart intake is not configured (WEBSITE_WRITE_KEY)"}, status_code=503)
    if not hmac.compare_digest(_presented_key(request).encode(), expected.encode()):
        return JSONResponse(
            {"error": "missing or wrong write key (Authorization: Bearer <key> or X-Write-Key)"},
            status_code=401,
        )
    body = await request.body()
    try:
        events = website_events(body, datetime.now(UTC))
        if len(events) == 1 and events[0].type != "order_completed":  # the usual post: one statement
            async with apooled() as conn:
                result = await record_event(conn, events[0], "website")
            return JSONResponse(counts(result), status_code=202)
        return JSONResponse(await run_in_threadpool(store, events, "website"), status_code=202)
    except (BadBody, BadEvent) as exc:  # BadEvent from store: another channel's cart, an unrecordable order
        return await refuse("web.cart_events", 400, str(exc), body, request)


def _tiktok_order(order_id: str):
    from marketing_pipeline.sources.tiktok_shop.models import parse_order
    from marketing_pipeline.sources.tiktok_shop.resource import VENDOR, TikTokShopResource

    # read per request, like the Dagster resource's EnvVars are per run
    resource = TikTokShopResource(**VENDOR.values())
    with resource.client(max_attempts=3) as client:
        orders = client.call("GET", "/order/202309/orders", params={"ids": order_id}).get("orders") or []
    if not orders:
        raise VendorError("TikTok Shop", f"order {order_id} not found")
    return parse_order(orders[0])


def _seen(envelope: tiktok.Envelope, body: bytes) -> bool:
    with pooled() as conn:
        return tiktok.already_recorded(conn, envelope, body)


async def tiktok_shop_webhook(request: Request) -> JSONResponse:
    body = await request.body()
    key, secret = web_settings.tiktok_app()
    if not key or not secret or not verify_webhook(key, secret, body, request.headers.get("authorization")):
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    source = "web.tiktok_shop_webhooks"
    try:
        envelope = tiktok.parse_envelope(parse_json(body))
        if envelope.type != tiktok.ORDER_STATUS_CHANGE:
            return JSONResponse({"ignored": f"type {envelope.type}"})
        order_id = tiktok.parse_status_change(envelope).order_id
    except ValueError as exc:
        return await refuse(source, 400, f"bad webhook body: {exc}", body, request)
    if await run_in_threadpool(_seen, envelope, body):  # a redelivery: nothing to fetch or store
        return JSONResponse({"accepted": 0, "duplicates": 1})
    try:
        order = await run_in_threadpool(_tiktok_order, order_id)
    except (VendorError, MalformedRecord, MissingCredentials) as exc:
        log.warning("TikTok Shop order %s could not be read: %s", order_id, exc)
        return JSONResponse({"error": f"order {order_id} could not be read; retry later"}, status_code=503)
    try:
        events = tiktok.events_for(envelope, body, order)
        answer = await run_in_threadpool(store, events, "tiktok_shop") if events else {"accepted": 0}
    except (BadEvent, ValidationError) as exc:  # an order detail that makes no valid cart event
        return await refuse(source, 400, f"order {order_id} gives no valid cart events: {exc}", body, request)
    return JSONResponse(answer)


routes = [
    Route("/intake/cart-events", cart_events, methods=["POST"]),
    Route("/webhooks/tiktok-shop", tiktok_shop_webhook, methods=["POST"]),
]
