"""Pydantic models of the Klaviyo records we read (JSON:API resource objects and report rows).

Unknown fields are allowed and the record exactly as received is kept for ``payload``: nothing
Klaviyo adds is dropped. ``parse`` raises ``MalformedRecord`` naming the record and its bad fields.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from marketing_pipeline.http import MalformedRecord

ZERO = Decimal("0")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Linkage(_Model):
    type: str
    id: str


class Relationship(_Model):
    data: Linkage | list[Linkage] | None = None


class Resource(_Model):
    """A JSON:API resource object."""

    type: str
    id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    relationships: dict[str, Relationship] = Field(default_factory=dict)


# -- events --------------------------------------------------------------------------------
# Events come by the hundred thousand a day: their envelope is decoded from the page bytes with
# msgspec (typed, strict about the shape, several times faster than building pydantic models);
# the order inside a Placed Order event, a few in a hundred, is a pydantic model below.
class EventLinkage(msgspec.Struct):
    type: str
    id: str


class EventRelationship(msgspec.Struct):
    data: EventLinkage | list[EventLinkage] | None = None


class EventAttributes(msgspec.Struct):
    datetime: datetime
    event_properties: dict[str, Any] = {}
    timestamp: int | None = None
    uuid: str | None = None


class Event(msgspec.Struct):
    type: str
    id: str
    attributes: EventAttributes
    relationships: dict[str, EventRelationship] = {}

    def related_id(self, name: str) -> str | None:
        rel = self.relationships.get(name)
        return rel.data.id if rel is not None and isinstance(rel.data, EventLinkage) else None


_EVENT = msgspec.json.Decoder(Event)


def parse_event(raw: bytes) -> Event:
    """One event from its JSON text; a bad one raises ``MalformedRecord`` naming it and the field."""
    try:
        event = _EVENT.decode(raw)
    except msgspec.ValidationError as exc:
        record = json.loads(raw)  # for the message and ops.dead_letters; only on the failure path
        record_id = record.get("id") if isinstance(record, dict) else None
        problem, _, path = str(exc).partition(" - at `$")
        where = path.rstrip("`").lstrip(".") or "(record)"
        raise MalformedRecord("Klaviyo", "event", record_id, f"{where}: {problem}", record) from None
    if event.type != "event":
        raise MalformedRecord(
            "Klaviyo", "event", event.id, f"type: expected 'event', got {event.type!r}", json.loads(raw)
        )
    return event


class OrderItem(_Model):
    product_id: str = Field(validation_alias=AliasChoices("ProductID", "product_id"))
    sku: str | None = Field(default=None, validation_alias=AliasChoices("SKU", "sku"))
    product_name: str | None = Field(
        default=None, validation_alias=AliasChoices("ProductName", "product_name")
    )
    quantity: int = Field(gt=0, validation_alias=AliasChoices("Quantity", "quantity"))
    item_price: Decimal = Field(validation_alias=AliasChoices("ItemPrice", "item_price"))
    row_total: Decimal = Field(validation_alias=AliasChoices("RowTotal", "row_total"))
    discount: Decimal = Field(default=ZERO, validation_alias=AliasChoices("Discount", "discount"))
    categories: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("Categories", "categories")
    )
    brand: str | None = Field(default=None, validation_alias=AliasChoices("Brand", "brand"))


class PlacedOrder(_Model):
    """The properties of a Placed Order event."""

    order_id: str = Field(validation_alias=AliasChoices("OrderId", "$event_id"))
    value: Decimal = Field(validation_alias=AliasChoices("$value", "value"))
    currency: str = Field(default="USD", validation_alias=AliasChoices("Currency", "currency"))
    items: list[OrderItem] = Field(default_factory=list, validation_alias=AliasChoices("Items", "items"))
    categories: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("Categories", "categories")
    )
    brands: list[str] = Field(default_factory=list, validation_alias=AliasChoices("Brands", "brands"))
    discount_code: str | None = Field(
        default=None, validation_alias=AliasChoices("DiscountCode", "discount_code")
    )
    discount_value: Decimal = Field(
        default=ZERO, validation_alias=AliasChoices("DiscountValue", "discount_value")
    )
    subtotal: Decimal | None = Field(default=None, validation_alias=AliasChoices("Subtotal", "subtotal"))
    shipping: Decimal = Field(default=ZERO, validation_alias=AliasChoices("Shipping", "shipping"))
    tax: Decimal = Field(default=ZERO, validation_alias=AliasChoices("Tax", "tax"))
    source: str | None = Field(default=None, validation_alias=AliasChoices("Source", "source"))
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


# -- profiles ------------------------------------------------------------------------------
class Suppression(_Model):
    reason: str
    timestamp: datetime | None = None


class EmailMarketing(_Model):
    can_receive_email_marketing: bool | None = None
    consent: str | None = None
    consent_timestamp: datetime | None = None
    suppression: list[Suppression] = Field(default_factory=list)


class ProfileAttributes(_Model):
    email: str | None = None
    phone_number: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    created: datetime | None = None
    updated: datetime
    subscriptions: dict[str, Any] | None = None

    @property
    def email_marketing(self) -> EmailMarketing:
        raw = ((self.subscriptions or {}).get("email") or {}).get("marketing") or {}
        return EmailMarketing.model_validate(raw)


class Profile(_Model):
    type: str
    id: str
    attributes: ProfileAttributes


# -- reports -------------------------------------------------------------------------------
class ReportRow(_Model):
    groupings: dict[str, Any]
    statistics: dict[str, Any]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw: Any, kind: str) -> M:
    """Validate one record; a bad one raises ``MalformedRecord`` naming it and the fields."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        record_id = raw.get("id") if isinstance(raw, dict) else None
        raise MalformedRecord.from_validation("Klaviyo", kind, record_id, exc, raw) from None


def placed_order(event: Event, raw: dict) -> PlacedOrder:
    """The order inside a Placed Order event; a bad one is named by the event id and property path."""
    try:
        return PlacedOrder.model_validate(event.attributes.event_properties)
    except ValidationError as exc:
        problems = "; ".join(
            f"attributes.event_properties.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors()
        )
        raise MalformedRecord("Klaviyo", "Placed Order event", event.id, problems, raw) from None
