"""Brand × day partitions of every daily asset, and brand partitions of the marts.

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

from collections.abc import Mapping
from datetime import date, datetime

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand

BRAND, DAY = "brand", "day"


def brand_ids(vendor: str | None = None) -> list[str]:
    """Every brand of the brands file, or those that use ``vendor``."""
    return [b.id for b in brand_settings.load() if vendor is None or vendor in b.vendors]


def build_brand_partitions(vendor: str | None = None) -> dg.StaticPartitionsDefinition:
    """One partition per brand (per brand that uses ``vendor``): the marts' partitions."""
    return dg.StaticPartitionsDefinition(brand_ids(vendor))


def build_brand_day_partitions(vendor: str | None = None) -> dg.MultiPartitionsDefinition:
    """Every brand of the brands file (that uses ``vendor``) × every day since HISTORY_START_DATE.

    A vendor's assets have partitions only for the brands that use it, so a backfill of all of
    them never fails for a brand without that vendor."""
    return dg.MultiPartitionsDefinition(
        {
            BRAND: build_brand_partitions(vendor),
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


def brand_of(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> Brand:
    """The brand of a run of brand-partitioned assets (or of brand × day ones: its one brand)."""
    ids = {_brand_of_key(k) for k in context.partition_keys}
    if len(ids) != 1:
        raise ValueError(f"a run covers one brand; this one covers {sorted(ids)}")
    return brand_settings.load().get(ids.pop())


def brand_day_key(brand_id: str, day: date | str) -> dg.MultiPartitionKey:
    """The partition key of one brand's day."""
    return dg.MultiPartitionKey({BRAND: brand_id, DAY: str(day)})


def brand_day_bounds(brand: Brand, day: date) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` on the brand's own calendar."""
    return day_bounds(day, brand.tz)


def _brand_of_key(key: str) -> str:
    return str(key).partition("|")[0]


def _split(key: str) -> tuple[str, date]:
    # MultiPartitionKey's string is the dimension values joined by "|" in dimension-name order.
    brand_id, _, day = str(key).partition("|")
    return brand_id, date.fromisoformat(day)


def brand_id_of_tags(tags: Mapping[str, str]) -> str | None:
    """The brand id a run's tags name (its partition, or its one-brand range), or None for a run
    without a partition. The caller checks it is a brand: a day-only key gives the day."""
    if tags.get(f"dagster/partition/{BRAND}"):
        return tags[f"dagster/partition/{BRAND}"]
    key = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_start")
    return _brand_of_key(key) if key else None
