"""Pydantic models of the video analytics records. Counts are integers; ratios and money arrive as strings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from marketing_pipeline.http import MalformedRecord


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class Money(_Record):
    amount: Decimal
    currency: str | None = None


class Product(_Record):
    id: str
    name: str | None = None


class VideoSummary(_Record):
    id: str
    title: str | None = None
    username: str | None = None
    video_post_time: datetime | None = None
    views: int = Field(default=0, ge=0)
    click_through_rate: Decimal | None = None
    gmv: Money | None = None
    sku_orders: int | None = None
    units_sold: int | None = None
    products: list[Product] = Field(default_factory=list)
    _raw: dict = PrivateAttr(default_factory=dict)

    @field_validator("video_post_time", mode="before")
    @classmethod
    def _post_time(cls, value):
        """ISO 8601 per the docs; public clients also see ``YYYY-MM-DD HH:MM:SS`` (read as UTC)."""
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return value or None

    @property
    def raw(self) -> dict:
        return self._raw


class Traffic(_Record):
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None  # assumed name; no public source lists it
    new_followers: int | None = None


class SalesOverall(_Record):
    gmv: Money | None = None
    items_sold: int | None = None
    customers: int | None = None
    product_impressions: int | None = None
    product_clicks: int | None = None
    ctr: Decimal | None = None


class Sales(_Record):
    overall: SalesOverall = Field(default_factory=SalesOverall)


class Interval(_Record):
    start_date: date
    end_date: date
    views: int | None = None
    click_through_rate: Decimal | None = None
    gmv: Money | None = None
    traffic: Traffic = Field(default_factory=Traffic)
    sales: Sales = Field(default_factory=Sales)

    @property
    def product_clicks(self) -> int | None:
        if self.sales.overall.product_clicks is not None:
            return self.sales.overall.product_clicks
        views = self.traffic.views if self.traffic.views is not None else self.views
        if views is None or self.click_through_rate is None:
            return None
        return int((views * self.click_through_rate).to_integral_value())


class Performance(_Record):
    intervals: list[Interval] = Field(default_factory=list)


class VideoDetail(_Record):
    latest_available_date: date | None = None
    performance: Performance = Field(default_factory=Performance)
    engagement_data: dict | None = None
    _raw: dict = PrivateAttr(default_factory=dict)


def parse_summary(raw: dict) -> VideoSummary:
    try:
        video = VideoSummary.model_validate(raw)
    except (ValidationError, ValueError) as exc:
        vid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(exc, ValidationError):
            raise MalformedRecord.from_validation("TikTok Shop", "video", vid, exc, raw) from None
        raise MalformedRecord("TikTok Shop", "video", vid, str(exc), raw) from None
    video._raw = raw
    return video


def parse_detail(video_id: str, raw: dict) -> VideoDetail:
    try:
        detail = VideoDetail.model_validate(raw)
    except ValidationError as exc:
        raise MalformedRecord.from_validation(
            "TikTok Shop", "video performance", video_id, exc, raw
        ) from None
    detail._raw = raw
    return detail
