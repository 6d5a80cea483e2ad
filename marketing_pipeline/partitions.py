"""The one daily partitioning shared by every source and mart: the brand's local calendar day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache

import dagster as dg

from marketing_pipeline import settings


@cache
def _build(start: str, timezone: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=start,
        timezone=timezone,
        end_offset=1,  # today is a partition too: intraday refreshes see the running day
    )


def build_daily_partitions() -> dg.DailyPartitionsDefinition:
    """From HISTORY_START_DATE and BRAND_TIMEZONE as they are now (the definitions read it when they
    load, not when this module is imported)."""
    cfg = settings.load()
    return _build(cfg.history_start.isoformat(), cfg.brand_timezone)


def __getattr__(name: str):
    # ``from marketing_pipeline.partitions import daily_partitions`` reads the settings then.
    if name == "daily_partitions":
        return build_daily_partitions()
    raise AttributeError(name)


def day_bounds(day: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a brand-local calendar day as aware datetimes."""
    tz = tz or settings.load().tz
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """Every day a run covers: one partition, or a range when a backfill batches days."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def check_partition_key(key: str) -> date:
    """Parse a partition key, refusing one outside the defined range with a clear message."""
    try:
        day = date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"partition key {key!r} is not a date (YYYY-MM-DD)") from None
    partitions = build_daily_partitions()
    first = date.fromisoformat(partitions.start.strftime("%Y-%m-%d"))
    if day < first:
        raise ValueError(f"partition {key} is before the first partition {first} (HISTORY_START_DATE)")
    if not partitions.has_partition_key(key):
        raise ValueError(f"partition {key} is outside the defined range {first}..today")
    return day
