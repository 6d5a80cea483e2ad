"""Pydantic models of the TikTok Shop order records we read. Money arrives as strings: Decimal keeps it exact.

Unknown fields are allowed (``extra="allow"``) and the whole record is stored as ``payload``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from marketing_pipeline.http import MalformedRecord

ZERO = Decimal("0")


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=False)


class Payment(_Record):
    currency: str
    total_amount: Decimal
    sub_total: Decimal | None = None
    shipping_fee: Decimal = ZERO
    seller_discount: Decimal = ZERO
    platform_discount: Decimal = ZERO
    tax: Decimal = ZERO
    original_total_product_price: Decimal | None = None


class LineItem(_Record):
    """One unit of one SKU: TikTok lists a line item per unit, with no quantity field."""

    id: str
    sku_id: str
    product_id: str
    product_name: str | None = None
    sku_name: str | None = None
    seller_sku: str | None = None
    sku_image: str | None = None
    sale_price: Decimal
    original_price: Decimal
    seller_discount: Decimal = ZERO
    platform_discount: Decimal = ZERO
    currency: str | None = None
    display_status: str | None = None


class RecipientAddress(_Record):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None
    region_code: str | None = None
    postal_code: str | None = None
    full_address: str | None = None


class Buyer(BaseModel):
    user_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None


class Order(_Record):
    id: str
    status: str
    create_time: int = Field(ge=0)
    update_time: int = Field(ge=0)
    paid_time: int | None = None
    user_id: str
    buyer_email: str | None = None
    payment: Payment
    line_items: list[LineItem]
    recipient_address: RecipientAddress | None = None
    _raw: dict = PrivateAttr(default_factory=dict)  # the record exactly as received, for ``payload``

    @property
    def raw(self) -> dict:
        return self._raw

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.create_time, UTC)

    @property
    def updated_at(self) -> datetime:
        return datetime.fromtimestamp(self.update_time, UTC)

    @property
    def paid_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.paid_time, UTC) if self.paid_time else None

    @property
    def buyer(self) -> Buyer:
        addr = self.recipient_address or RecipientAddress()
        return Buyer(
            user_id=self.user_id,
            email=self.buyer_email,
            first_name=addr.first_name,
            last_name=addr.last_name,
            phone=addr.phone_number,
        )


def parse_order(raw: dict) -> Order:
    """Validate one order; a bad one raises ``MalformedRecord`` naming the order id and the fields."""
    try:
        order = Order.model_validate(raw)
    except ValidationError as exc:
        order_id = raw.get("id") if isinstance(raw, dict) else None
        raise MalformedRecord.from_validation("TikTok Shop", "order", order_id, exc, raw) from None
    order._raw = raw
    return order
