"""Orders changed after their day was read (cancelled, refunded, delivered weeks later).

Each intraday interval the sensor asks TikTok Shop for orders *updated* since its last read and
re-materializes the creation day of each: the order lands in its own partition. Chosen over
patching rows in place because a day then has one writer and one way to be written: the re-read
is atomic and idempotent, replaces the line items too, and the partition's materialization in the
UI (rows, run, tag ``refresh=order_changes``) stays true. It costs a day's pages per changed day.
Today is left to the intraday refresh.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.partitions import daily_partitions
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.resource import VENDOR, TikTokShopResource

MAX_WINDOW = timedelta(days=1)  # per tick, so catching up after an outage stays inside the 60 s limit


def now() -> datetime:
    return datetime.now(UTC)


def changed_days(client, start: datetime, end: datetime, today: str) -> Counter:
    """Partition key -> orders updated in [start, end), by each order's brand-local creation day."""
    tz = settings.load().tz
    days: Counter = Counter()
    for page in client.search_orders_updated(start, end):
        for order in page:
            key = order.created_at.astimezone(tz).date().isoformat()
            if key != today and daily_partitions.has_partition_key(key):
                days[key] += 1
    return days


@dg.sensor(
    name="tiktok_shop_order_changes",
    target=[tiktok_shop_orders],
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every INTRADAY_INTERVAL_MINUTES: TikTok Shop orders updated since the last read; "
    "re-reads each one's creation day.",
)
def tiktok_shop_order_changes(context: dg.SensorEvaluationContext, tiktok_shop: TikTokShopResource):
    if not VENDOR.configured():
        return dg.SkipReason(f"TikTok Shop is not configured (set {', '.join(VENDOR.missing())})")
    cfg = settings.load()
    until = now()
    interval = timedelta(minutes=cfg.intraday_interval_minutes)
    start = (
        datetime.fromisoformat(json.loads(context.cursor)["until"]) if context.cursor else until - interval
    )
    if until - start < interval:
        return dg.SkipReason(f"next read after {(start + interval).isoformat(timespec='seconds')}")
    # whole seconds, as TikTok filters: a change in the current second is read by the next tick
    end = min(until, start + MAX_WINDOW).replace(microsecond=0)
    with tiktok_shop.client() as client:
        days = changed_days(client, start, end, until.astimezone(cfg.tz).date().isoformat())
    stamp = end.isoformat(timespec="seconds")
    context.log.info(f"orders updated {start:%Y-%m-%d %H:%M}..{end:%H:%M}: {dict(days)}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"order_changes:{day}:{stamp}",
                partition_key=day,
                tags={"refresh": "order_changes", "changed_orders": str(count)},
            )
            for day, count in sorted(days.items())
        ],
        cursor=json.dumps({"until": end.isoformat()}),
    )
