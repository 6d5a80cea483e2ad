"""Pydantic models of the Customer.io App API records we read; the raw record is kept for ``payload``."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from marketing_pipeline.consent import normalize_email
from marketing_pipeline.http import MalformedRecord

# The App API's per-day metric series (campaigns, newsletters, broadcasts), in its order.
DAILY_METRICS = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "spammed",
    "unsubscribed",
    "failed",
)

VENDOR = "Customer.io"
# How far a delivery got, furthest last; its state is the last metric it reached in this order.
STATE_ORDER = (
    "drafted",
    "created",
    "attempted",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "dropped",
    "undeliverable",
    "failed",
    "bounced",
    "unsubscribed",
    "spammed",
)
SUPPRESSING_STATES = {"unsubscribed": "unsubscribed", "bounced": "bounced", "spammed": "spam"}


def ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")
    _raw: dict = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict:
        return self._raw


class CatalogItem(_Record):
    """A campaign, newsletter or broadcast as listed."""

    id: int
    name: str | None = None
    state: str | None = None
    type: str | None = None
    created: int | None = None
    updated: int | None = None


class Identifiers(BaseModel):
    model_config = ConfigDict(extra="allow")
    email: str | None = None
    id: str | None = None
    cio_id: str | None = None


class Delivery(_Record):
    id: str
    created: int
    customer_id: str | None = None
    customer_identifiers: Identifiers | None = None
    recipient: str | None = None
    subject: str | None = None
    type: str | None = None
    campaign_id: int | None = None
    newsletter_id: int | None = None
    broadcast_id: int | None = None
    action_id: int | None = None
    failure_message: str | None = None
    metrics: dict[str, int] = {}

    @property
    def state(self) -> str:
        reached = [m for m in STATE_ORDER if self.metrics.get(m)]
        return reached[-1] if reached else "created"

    @property
    def email(self) -> str | None:
        ids = self.customer_identifiers
        email = (ids.email if ids else None) or (self.recipient if self.type == "email" else None)
        return normalize_email(email)

    @property
    def person_id(self) -> str | None:
        return (self.customer_identifiers.id if self.customer_identifiers else None) or self.customer_id

    def at(self, metric: str) -> datetime | None:
        return ts(self.metrics.get(metric))


def _parse(cls, raw: dict, kind: str):
    try:
        record = cls.model_validate(raw)
    except ValidationError as exc:
        record_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else None
        raise MalformedRecord.from_validation(VENDOR, kind, record_id, exc, raw) from None
    record._raw = raw
    return record


def parse_catalog_item(raw: dict, kind: str) -> CatalogItem:
    return _parse(CatalogItem, raw, kind)


def parse_delivery(raw: dict) -> Delivery:
    return _parse(Delivery, raw, "delivery")
