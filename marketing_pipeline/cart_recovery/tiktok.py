"""TikTok Shop ORDER_STATUS_CHANGE webhooks as cart events.

An UNPAID order is an abandoned checkout: a cart ``tts:<order_id>`` holding the order's items
and the buyer's email. A paid status completes the cart, which ends its recovery. The webhook
carries only the order id and status, so the items and buyer email come from the order
detail (``GET /order/202309/orders``), fetched with the TikTok Shop client.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from marketing_pipeline.cart_recovery.events import EARLIEST, LATEST, CartEvent, CartItem
from marketing_pipeline.sources.tiktok_shop.models import Order

ORDER_STATUS_CHANGE = 1
PAID_STATUSES = {
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
}
PRODUCT_URL = "https://shop.tiktok.com/view/product/{product_id}"
PREFIX = "tts:"  # TikTok Shop's cart and event ids; refused from any other channel
_SECONDS = Field(default=None, ge=int(EARLIEST.timestamp()), lt=int(LATEST.timestamp()))


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="allow")

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    order_status: str | None = Field(default=None, max_length=64)
    update_time: StrictInt | None = _SECONDS


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictInt
    tts_notification_id: str | None = Field(default=None, max_length=128)
    timestamp: StrictInt | None = _SECONDS
    data: dict | None = None


def parse_envelope(value: object) -> Envelope:
    """The webhook envelope; raises ``ValueError`` naming each wrong field."""
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    try:
        return Envelope.model_validate(value)
    except ValidationError as exc:
        raise ValueError(_problems(exc)) from None


def parse_status_change(envelope: Envelope) -> StatusChange:
    try:
        return StatusChange.model_validate(envelope.data if envelope.data is not None else {})
    except ValidationError as exc:
        raise ValueError(_problems(exc, "data")) from None


def _problems(exc: ValidationError, prefix: str = "") -> str:
    return "; ".join(
        f"{'.'.join([prefix] * bool(prefix) + [str(p) for p in e['loc']]) or '(body)'}: {e['msg']}"
        for e in exc.errors()
    )


def cart_id_for(order_id: str) -> str:
    return f"{PREFIX}{order_id}"


def notification_id(envelope: Envelope, raw_body: bytes) -> str:
    return envelope.tts_notification_id or hashlib.sha256(raw_body).hexdigest()[:32]


_SUFFIXES = (":cart", ":checkout", ":order")


def already_recorded(conn: psycopg.Connection, envelope: Envelope, raw_body: bytes) -> bool:
    """A redelivered notification: its events are stored, so the order need not be fetched again."""
    base = f"{PREFIX}{notification_id(envelope, raw_body)}"
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM ops.cart_events WHERE event_id = ANY(%s))",
        ([base + s for s in _SUFFIXES],),
    ).fetchone()[0]


def items_of(order: Order) -> list[CartItem]:
    """TikTok lists one line item per unit: group them back into quantities per SKU."""
    grouped: dict[str, list] = defaultdict(list)
    for li in order.line_items:
        grouped[li.sku_id].append(li)
    return [
        CartItem(
            sku_id=sku,
            product_id=lines[0].product_id,
            name=lines[0].product_name or sku,
            variant=lines[0].sku_name,
            image_url=lines[0].sku_image,
            product_url=PRODUCT_URL.format(product_id=lines[0].product_id),
            quantity=len(lines),
            unit_price=lines[0].sale_price,
        )
        for sku, lines in grouped.items()
    ]


def events_for(envelope: Envelope, raw_body: bytes, order: Order) -> list[CartEvent]:
    """Cart events for one ORDER_STATUS_CHANGE notification and the order it names."""
    change = parse_status_change(envelope)
    status = change.order_status or order.status
    at_raw = change.update_time or envelope.timestamp or order.update_time
    at = datetime.fromtimestamp(min(max(at_raw, int(EARLIEST.timestamp())), int(LATEST.timestamp()) - 1), UTC)
    base = f"{PREFIX}{notification_id(envelope, raw_body)}"
    cart_id = cart_id_for(order.id)
    if status == "UNPAID":
        return [
            CartEvent(
                event_id=f"{base}:cart",
                type="cart_updated",
                cart_id=cart_id,
                occurred_at=at,
                items=items_of(order),
                email=order.buyer_email or None,
                customer_id=order.user_id,
                currency=order.payment.currency,
            ),
            CartEvent(event_id=f"{base}:checkout", type="checkout_started", cart_id=cart_id, occurred_at=at),
        ]
    if status in PAID_STATUSES:
        paid = order.paid_at or at
        return [
            CartEvent(
                event_id=f"{base}:order",
                type="order_completed",
                cart_id=cart_id,
                occurred_at=paid,
                order_id=order.id,
                order_total=Decimal(order.payment.total_amount),
                email=order.buyer_email or None,
                customer_id=order.user_id,
                currency=order.payment.currency,
                items=items_of(order),
            )
        ]
    return []  # CANCELLED and others change nothing: recovery follows the unpaid cart's own rules
