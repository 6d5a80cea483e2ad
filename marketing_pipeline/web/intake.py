"""Cart event intake: ``POST /intake/cart-events`` (website, publishable write key) and
``POST /webhooks/tiktok-shop`` (TikTok Shop, HMAC signature). Refused bodies get a 4xx
naming the problem and are kept in ``ops.dead_letters``; unauthenticated ones are not stored.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marketing_pipeline.cart_recovery import tiktok
from marketing_pipeline.cart_recovery.carts import record_events
from marketing_pipeline.cart_recovery.events import BadEvent, CartEvent, parse_events
from marketing_pipeline.cart_recovery.orders import record_website_orders
from marketing_pipeline.http import MalformedRecord, MissingCredentials, VendorError
from marketing_pipeline.settings import web as web_settings
from marketing_pipeline.sources.tiktok_shop.signing import verify_webhook
from marketing_pipeline.warehouse import connect, record_dead_letter

log = logging.getLogger(__name__)
MAX_FUTURE = timedelta(hours=1)  # storefront clocks drift; a later time is a bug, not a skew


def write_key() -> str:
    return web_settings.website_write_key()


def _presented_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-write-key", "").strip()


def refuse(source: str, status: int, reason: str, body: bytes, request: Request) -> JSONResponse:
    record_dead_letter(
        source, reason, body, headers={"content-type": request.headers.get("content-type", "")}
    )
    return JSONResponse({"error": reason}, status_code=status)


def store(events: list[CartEvent], source: str) -> dict:
    with connect() as conn:
        result = record_events(conn, events, source)
        if source == "website" and result.new_orders:
            record_website_orders(conn, result.new_orders)
    return {"accepted": result.new, "duplicates": result.duplicates, "carts": len(result.carts)}


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
        events = parse_events(json.loads(body))
    except ValueError as exc:  # JSONDecodeError and BadEvent
        reason = str(exc) if isinstance(exc, BadEvent) else f"body is not JSON: {exc}"
        return await run_in_threadpool(refuse, "web.cart_events", 400, reason, body, request)
    limit = datetime.now(UTC) + MAX_FUTURE
    late = [e.event_id for e in events if e.occurred_at > limit]
    if late:
        return await run_in_threadpool(
            refuse,
            "web.cart_events",
            400,
            f"occurred_at is in the future for events {late[:5]}",
            body,
            request,
        )
    try:
        counts = await run_in_threadpool(store, events, "website")
    except BadEvent as exc:  # e.g. an order_completed that cannot be recorded as an order
        return await run_in_threadpool(refuse, "web.cart_events", 400, str(exc), body, request)
    return JSONResponse(counts, status_code=202)


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


async def tiktok_shop_webhook(request: Request) -> JSONResponse:
    body = await request.body()
    key, secret = web_settings.tiktok_app()
    if not key or not secret or not verify_webhook(key, secret, body, request.headers.get("authorization")):
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    try:
        envelope = json.loads(body)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), int):
            raise ValueError("envelope needs an integer 'type'")
    except ValueError as exc:
        return await run_in_threadpool(
            refuse, "web.tiktok_shop_webhooks", 400, f"bad webhook body: {exc}", body, request
        )
    if envelope["type"] != tiktok.ORDER_STATUS_CHANGE:
        return JSONResponse({"ignored": f"type {envelope['type']}"})
    order_id = str((envelope.get("data") or {}).get("order_id") or "")
    if not order_id:
        return await run_in_threadpool(
            refuse, "web.tiktok_shop_webhooks", 400, "data.order_id is missing", body, request
        )
    try:
        order = await run_in_threadpool(_tiktok_order, order_id)
        events = tiktok.events_for(envelope, body, order)
    except (VendorError, MalformedRecord, MissingCredentials) as exc:
        log.warning("TikTok Shop order %s could not be read: %s", order_id, exc)
        return JSONResponse({"error": f"order {order_id} could not be read; retry later"}, status_code=503)
    counts = await run_in_threadpool(store, events, "tiktok_shop") if events else {"accepted": 0}
    return JSONResponse(counts)


routes = [
    Route("/intake/cart-events", cart_events, methods=["POST"]),
    Route("/webhooks/tiktok-shop", tiktok_shop_webhook, methods=["POST"]),
]
