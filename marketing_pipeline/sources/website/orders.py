"""Website orders: the pydantic model of one storefront order and ``upsert_orders`` to store it.

``upsert_orders(conn, orders, source)`` is the stable entry point for pushed orders (the web
intake calls it for ``order_completed`` events). It is idempotent on ``order_id``: pushing the
same order again replaces it and its lines. Marketing consent given at checkout
(``accepts_marketing``) is recorded in ``ops.consent`` with source ``website.checkout``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Literal

import psycopg
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from marketing_pipeline import settings
from marketing_pipeline.consent import record_consent
from marketing_pipeline.http import MalformedRecord
from marketing_pipeline.sources.website import staging

CONSENT_SOURCE = "website.checkout"
ZERO = Decimal("0")


class WebsiteOrderLine(BaseModel):
    model_config = ConfigDict(extra="allow")

    sku: str = Field(min_length=1)
    product_id: str | None = None
    name: str | None = None
    variant: str | None = None
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0)
    discount: Decimal = Field(default=ZERO, ge=0)  # total discount on this line, not per unit
    image_url: str | None = None


class WebsiteOrder(BaseModel):
    """One completed storefront order. Money is exact (Decimal); ``created_at`` must carry a zone.

    ``subtotal`` (before discounts) and ``discount`` default to the sums over the lines;
    ``total`` defaults to subtotal - discount + shipping + tax.
    """

    model_config = ConfigDict(extra="allow")

    order_id: str = Field(min_length=1)
    email: str
    created_at: AwareDatetime
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    lines: list[WebsiteOrderLine] = Field(min_length=1)
    subtotal: Decimal | None = Field(default=None, ge=0)
    discount: Decimal | None = Field(default=None, ge=0)
    shipping: Decimal = Field(default=ZERO, ge=0)
    tax: Decimal = Field(default=ZERO, ge=0)
    total: Decimal | None = None
    discount_code: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    accepts_marketing: bool | None = None  # None: the checkout did not ask; no consent is recorded
    channel: Literal["website"] = "website"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        local, at, domain = value.partition("@")
        if not (local and at and domain) or " " in value:
            raise ValueError(f"{value!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _totals(self) -> WebsiteOrder:
        if self.subtotal is None:
            self.subtotal = sum((ln.unit_price * ln.quantity for ln in self.lines), ZERO)
        if self.discount is None:
            self.discount = sum((ln.discount for ln in self.lines), ZERO)
        if self.total is None:
            self.total = self.subtotal - self.discount + self.shipping + self.tax
        self.currency = self.currency.upper()
        return self


def parse_website_order(raw: dict) -> WebsiteOrder:
    """Validate one pushed order; a bad one raises ``MalformedRecord`` naming the order and fields."""
    try:
        return WebsiteOrder.model_validate(raw)
    except ValidationError as exc:
        order_id = raw.get("order_id") if isinstance(raw, dict) else None
        raise MalformedRecord.from_validation("website", "order", order_id, exc, raw) from None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def stage_rows(orders: Iterable[WebsiteOrder], first_line: int = 1) -> Iterator[tuple]:
    """An order as staging rows: one per line, order fields repeated, payload on the first."""
    n = first_line
    for o in orders:
        created = o.created_at.isoformat()
        payload = json.dumps(o.model_dump(mode="json"))
        for i, ln in enumerate(o.lines):
            values = {
                "order_id": o.order_id,
                "email": o.email,
                "created_at": created,
                "currency": o.currency,
                "sku": ln.sku,
                "product_id": ln.product_id,
                "product_name": ln.name,
                "variant": ln.variant,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "line_discount": ln.discount,
                "image_url": ln.image_url,
                "subtotal": o.subtotal,
                "discount": o.discount,
                "shipping": o.shipping,
                "tax": o.tax,
                "total": o.total,
                "discount_code": o.discount_code,
                "utm_source": o.utm_source,
                "utm_medium": o.utm_medium,
                "utm_campaign": o.utm_campaign,
                "utm_content": o.utm_content,
                "utm_term": o.utm_term,
                "accepts_marketing": None
                if o.accepts_marketing is None
                else str(o.accepts_marketing).lower(),
            }
            yield (n, *(_text(values[f]) for f in staging.FIELDS), None, payload if i == 0 else None)
            n += 1


def upsert_orders(
    conn: psycopg.Connection,
    orders: Iterable[WebsiteOrder],
    source: str,
    run_id: str | None = None,
    tz: str | None = None,
) -> int:
    """Insert or replace orders (and their lines) by ``order_id``; returns how many orders were written.

    ``source`` says where they came from (e.g. ``"checkout"``). Runs in one transaction (a
    savepoint when the caller already has one open): on any error nothing is written.
    Consent from ``accepts_marketing`` goes through ``consent.record_consent``. ``tz`` is the
    brand's time zone (default ``BRAND_TIMEZONE``).
    """
    orders = list(orders)
    if not orders:
        return 0
    with conn.transaction():
        staging.create_stage(conn)
        staging.stage_rows(conn, stage_rows(orders))
        problems = staging.find_problems(
            conn, source=source, tz=tz or settings.load().brand_timezone, run_id=run_id
        )
        if problems:
            raise staging.RejectedInput("website orders", problems)
        written, _ = staging.merge(conn, consent_in_sql=False)
        for o in orders:
            if o.accepts_marketing is not None:
                record_consent(
                    conn,
                    o.email,
                    o.accepts_marketing,
                    CONSENT_SOURCE,
                    o.created_at,
                    evidence={"order_id": o.order_id, "via": source},
                )
    return written


__all__ = ["CONSENT_SOURCE", "WebsiteOrder", "WebsiteOrderLine", "parse_website_order", "upsert_orders"]
