"""Cart event intake: ``POST /intake/cart-events`` (website, publishable write key) and
``POST /webhooks/tiktok-shop`` (TikTok Shop, HMAC signature). Refused bodies get a 4xx
naming the problem and are kept in ``ops.dead_letters``; unauthenticated ones are not stored.

Many brands: the write key says whose cart it is. Each brand has its own (``WEBSITE_WRITE_KEY``,
``<ID>_WEBSITE_WRITE_KEY``), the presented key is compared with every brand's, and the events go
to that brand's warehouse; events that name no currency take the brand's. A TikTok Shop webhook
is posted to its brand's own URL, ``/webhooks/<brand>/tiktok-shop`` (the default brand's also
answers at ``/webhooks/tiktok-shop``), and verified with that brand's app secret only: one TikTok
Shop app may serve several shops, so a signature alone could not tell their brands apart, and a
body signed for one brand fails the check at another brand's URL.

The website's key is publishable (it ships in the storefront's JavaScript), so what it may do is
narrow: website carts only. Ids in TikTok Shop's namespace (``tts:``) are refused here, and a
cart's channel never changes (``carts.record_events``).
"""

from __future__ import annotations

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
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings import web as web_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.sources.tiktok_shop.signing import verify_webhook
from marketing_pipeline.untrusted import BadBody, parse_json
from marketing_pipeline.warehouse import apooled, pooled, record_dead_letter

log = logging.getLogger(__name__)
MAX_FUTURE = timedelta(hours=1)  # storefront clocks drift; a later time is a bug, not a skew


def write_key(brand: Brand | None = None) -> str:
    return web_settings.website_write_key(brand)


def _presented_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-write-key", "").strip()


def _refuse(
    source: str, status: int, reason: str, body: bytes, content_type: str, brand: Brand | None
) -> JSONResponse:
    with pooled(brand=brand) as conn:
        record_dead_letter(source, reason, body, headers={"content-type": content_type}, conn=conn)
    return JSONResponse({"error": reason}, status_code=status)


async def refuse(
    source: str, status: int, reason: str, body: bytes, request: Request, brand: Brand | None = None
) -> JSONResponse:
    """A 4xx for an authenticated body, kept in the dead letters of the brand it came for."""
    ctype = request.headers.get("content-type", "")
    return await run_in_threadpool(_refuse, source, status, reason, body, ctype, brand)


def store(events: list[CartEvent], source: str, brand: Brand | None = None) -> dict:
    # A lone event is one statement, so its own transaction (one round trip, no BEGIN/COMMIT);
    # several events, or an order that also writes the order tables, need one transaction.
    atomic = len(events) > 1 or any(e.type == "order_completed" for e in events)
    with pooled(transaction=atomic, brand=brand) as conn:
        result = record_events(conn, events, source)
        if source == "website" and result.new_orders:
            record_website_orders(conn, result.new_orders, brand.timezone if brand else None)
    return counts(result)


def counts(result: Recorded) -> dict:
    return {"accepted": result.new, "duplicates": result.duplicates, "carts": len(result.carts)}


def website_events(body: bytes, now: datetime, currency: str | None = None) -> list[CartEvent]:
    """The events of a website body; ``BadBody``/``BadEvent`` name what is wrong. An event that
    names no currency takes ``currency`` (the brand's) when given."""
    events = parse_events(parse_json(body))
    if currency:
        events = [
            e if "currency" in e.model_fields_set else e.model_copy(update={"currency": currency})
            for e in events
        ]
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
    try:
        match = web_settings.brand_for_write_key(_presented_key(request))
    except SettingsError as exc:  # two brands share a key: no post may land in either
        log.error("cart intake refused: %s", exc)
        return JSONResponse(
            {"error": "cart intake is misconfigured (a write key is shared)"}, status_code=503
        )
    if not match.configured:
        return JSONResponse({"error": "cart intake is not configured (WEBSITE_WRITE_KEY)"}, status_code=503)
    if match.brand is None:
        return JSONResponse(
            {"error": "missing or wrong write key (Authorization: Bearer <key> or X-Write-Key)"},
            status_code=401,
        )
    brand = match.brand
    body = await request.body()
    try:
        events = website_events(body, datetime.now(UTC), brand.currency)
        if len(events) == 1 and events[0].type != "order_completed":  # the usual post: one statement
            async with apooled(brand=brand) as conn:
                result = await record_event(conn, events[0], "website")
            return JSONResponse(counts(result), status_code=202)
        return JSONResponse(await run_in_threadpool(store, events, "website", brand), status_code=202)
    except (BadBody, BadEvent) as exc:  # BadEvent from store: another channel's cart, an unrecordable order
        return await refuse("web.cart_events", 400, str(exc), body, request, brand)


def _tiktok_order(order_id: str, brand: Brand):
    from marketing_pipeline.sources.tiktok_shop.models import parse_order
    from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource

    # the brand's credentials, read per request, like the Dagster resource's EnvVars are per run
    resource = TikTokShopResource(**brand.vendor("tiktok_shop").values())
    with resource.client(max_attempts=3) as client:
        orders = client.call("GET", "/order/202309/orders", params={"ids": order_id}).get("orders") or []
    if not orders:
        raise VendorError("TikTok Shop", f"order {order_id} not found")
    return parse_order(orders[0])


def _seen(envelope: tiktok.Envelope, body: bytes, brand: Brand) -> bool:
    with pooled(brand=brand) as conn:
        return tiktok.already_recorded(conn, envelope, body)


def brand_of_path(request: Request) -> Brand | None:
    """The brand a per-brand URL names (``{brand}``), the default brand for the URL without one,
    None for an id that is no brand's."""
    return brand_settings.from_path(request.path_params.get("brand"))


async def tiktok_shop_webhook(request: Request) -> JSONResponse:
    brand = brand_of_path(request)
    if brand is None:
        return JSONResponse({"error": "no such brand"}, status_code=404)
    body = await request.body()
    key, secret = web_settings.tiktok_app(brand)
    if not key or not secret or not verify_webhook(key, secret, body, request.headers.get("authorization")):
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    source = "web.tiktok_shop_webhooks"
    try:
        envelope = tiktok.parse_envelope(parse_json(body))
        if envelope.type != tiktok.ORDER_STATUS_CHANGE:
            return JSONResponse({"ignored": f"type {envelope.type}"})
        order_id = tiktok.parse_status_change(envelope).order_id
    except ValueError as exc:
        return await refuse(source, 400, f"bad webhook body: {exc}", body, request, brand)
    if await run_in_threadpool(_seen, envelope, body, brand):  # a redelivery: nothing to fetch or store
        return JSONResponse({"accepted": 0, "duplicates": 1})
    try:
        order = await run_in_threadpool(_tiktok_order, order_id, brand)
    except (VendorError, MalformedRecord, MissingCredentials) as exc:
        log.warning("TikTok Shop order %s could not be read: %s", order_id, exc)
        return JSONResponse({"error": f"order {order_id} could not be read; retry later"}, status_code=503)
    try:
        events = tiktok.events_for(envelope, body, order)
        answer = await run_in_threadpool(store, events, "tiktok_shop", brand) if events else {"accepted": 0}
    except (BadEvent, ValidationError) as exc:  # an order detail that makes no valid cart event
        return await refuse(
            source, 400, f"order {order_id} gives no valid cart events: {exc}", body, request, brand
        )
    return JSONResponse(answer)


routes = [
    Route("/intake/cart-events", cart_events, methods=["POST"]),
    Route("/webhooks/tiktok-shop", tiktok_shop_webhook, methods=["POST"]),
    Route("/webhooks/{brand:str}/tiktok-shop", tiktok_shop_webhook, methods=["POST"]),
]
