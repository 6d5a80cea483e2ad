"""Brand × day partitions, for assets that serve several brands (no asset uses them yet).

The brand dimension is static, read from the brands file when the definitions load: the file is
the one list of brands, so adding one is a configuration change and a code-location reload, with
nothing kept in the Dagster instance that could drift from it (bench/brand_partitions.py measured
static against dynamic; README, "Many brands (in progress)").

A multi-partition has one time zone, and brands live in several. So the day dimension carries
calendar-day labels in UTC, one more day ahead than the single-brand partitions (``end_offset=2``:
no zone is more than a day ahead of UTC), and each brand cuts the labelled day in its own zone
(``brand_day_bounds``). Asset code takes its days from the keys, never from the run's time window,
which would be UTC's.
"""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand

BRAND, DAY = "brand", "day"


def build_brand_partitions() -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(list(brand_settings.load().ids))


def build_brand_day_partitions() -> dg.MultiPartitionsDefinition:
    """Every brand of the brands file × every day since HISTORY_START_DATE, read now."""
    return dg.MultiPartitionsDefinition(
        {
            BRAND: build_brand_partitions(),
            DAY: dg.DailyPartitionsDefinition(
                start_date=settings.load().history_start.isoformat(), timezone="UTC", end_offset=2
            ),
        }
    )


def brand_days(context: dg.AssetExecutionContext) -> tuple[Brand, list[date]]:
    """The brand and the days a run covers: one key, or one brand's range under BackfillPolicy.multi_run.

    Dagster plans multi-run backfills of a multi-partition one brand per run (measured in the
    bench); a run that spans brands is refused rather than half-served.
    """
    ids, days = set(), []
    for key in context.partition_keys:
        brand_id, day = _split(key)
        ids.add(brand_id)
        days.append(day)
    if len(ids) != 1:
        raise ValueError(f"a run covers one brand's days; this one covers {sorted(ids)}")
    return brand_settings.load().get(ids.pop()), sorted(days)


def brand_day_bounds(brand: Brand, day: date) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` on the brand's own calendar."""
    return day_bounds(day, brand.tz)


def _split(key: str) -> tuple[str, date]:
    # MultiPartitionKey's string is the dimension values joined by "|" in dimension-name order.
    brand_id, _, day = str(key).partition("|")
    return brand_id, date.fromisoformat(day)
