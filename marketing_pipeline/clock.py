"""The one clock of the product's "what day is it" decisions, so tests can set the day."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo


def now() -> datetime:
    return datetime.now(UTC)


def today(tz: tzinfo) -> date:
    return now().astimezone(tz).date()
