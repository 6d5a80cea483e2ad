"""Cart events as the storefront sends them, validated at the door."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from marketing_pipeline.consent import normalize_email

EventType = Literal[
    "cart_created",
    "cart_updated",
    "product_viewed",
    "item_added",
    "item_removed",
    "checkout_started",
    "contact_identified",
    "order_completed",
]
# Earlier than this is a broken clock (or an attack: year 1 at +14:00 is a BC date in UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # the intake also refuses anything over an hour ahead


def web_url(value: str | None) -> str | None:
    """Only http(s) URLs with a host reach an email's ``<img src>`` or a link (no ``javascript:``)."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL")
    return value.strip()


class CartItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    sku_id: str = Field(min_length=1, max_length=100)
    product_id: str | None = Field(default=None, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    variant: str | None = Field(default=None, max_length=200)
    image_url: str | None = Field(default=None, max_length=2000)
    product_url: str | None = Field(default=None, max_length=2000)
    quantity: int = Field(default=1, ge=1, le=999)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)

    _urls = field_validator("image_url", "product_url")(web_url)


class CartEvent(BaseModel):
    """One thing that happened to a cart. ``occurred_at`` orders events; ``event_id`` dedupes them."""

    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=8, max_length=200)
    type: EventType
    cart_id: str = Field(min_length=1, max_length=200)
    occurred_at: AwareDatetime
    email: str | None = Field(default=None, max_length=320)
    customer_id: str | None = Field(default=None, max_length=200)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    item: CartItem | None = None  # item_added / item_removed / product_viewed (the product)
    items: list[CartItem] | None = None  # cart_updated: the whole cart
    order_id: str | None = Field(default=None, max_length=200)
    order_total: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)

    @field_validator("occurred_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not EARLIEST <= value < LATEST:
            raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()}")
        return value

    @model_validator(mode="after")
    def _needs(self) -> CartEvent:
        if self.email is not None:
            normalized = normalize_email(self.email)
            if normalized is None:
                raise ValueError(f"email {self.email!r} is not an email address")
            self.email = normalized  # stored normalised: the fold in SQL takes it as it is
        if self.type in ("item_added", "item_removed", "product_viewed") and self.item is None:
            raise ValueError(f"{self.type} needs 'item'")
        if self.type == "cart_updated" and self.items is None and self.email is None:
            raise ValueError("cart_updated needs 'items' or 'email'")
        if self.type == "contact_identified" and self.email is None:
            raise ValueError("contact_identified needs 'email'")
        if self.type == "order_completed" and (self.order_id is None or self.order_total is None):
            raise ValueError("order_completed needs 'order_id' and 'order_total'")
        return self


class BadEvent(ValueError):
    """An event body that cannot be accepted; the message names the fields that are wrong."""


def parse_events(body: object) -> list[CartEvent]:
    """One event object, a list of them, or ``{"events": [...]}``. All valid or none accepted."""
    raw = body.get("events") if isinstance(body, dict) and "events" in body else body
    raw = raw if isinstance(raw, list) else [raw]
    if not raw:
        raise BadEvent("no events in the body")
    if len(raw) > 500:
        raise BadEvent(f"{len(raw)} events in one body; at most 500")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(CartEvent.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(event)'}: {e['msg']}" for e in exc.errors()
            )
            where = f"event {i}" + (
                f" ({item.get('event_id')})" if isinstance(item, dict) and item.get("event_id") else ""
            )
            raise BadEvent(f"{where}: {problems}") from None
    return out
