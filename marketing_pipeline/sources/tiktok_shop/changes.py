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
from zoneinfo import ZoneInfo

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.brand_partitions import DAY, brand_day_key, build_brand_day_partitions
from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.sources.tiktok_shop.assets import tiktok_shop_orders
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource

MAX_WINDOW = timedelta(days=1)  # per tick, so catching up after an outage stays inside the 60 s limit


def now() -> datetime:
    return datetime.now(UTC)


def changed_days(client, start: datetime, end: datetime, today: str, tz: ZoneInfo | None = None) -> Counter:
    """Day -> orders updated in [start, end), by each order's creation day in ``tz`` (the brand's)."""
    tz = tz or settings.load().tz
    partitions = build_brand_day_partitions().get_partitions_def_for_dimension(DAY)
    days: Counter = Counter()
    for page in client.search_orders_updated(start, end):
        for order in page:
            key = order.created_at.astimezone(tz).date().isoformat()
            if key != today and partitions.has_partition_key(key):
                days[key] += 1
    return days


def read_cursor(cursor: str | None, default_brand: str) -> dict[str, str]:
    """Brand id -> the end of its last read. A cursor from before brands (``{"until": …}``) is the
    default brand's."""
    data = json.loads(cursor) if cursor else {}
    if "until" in data:
        data = {default_brand: data.pop("until"), **data}
    return data


@dg.sensor(
    name="tiktok_shop_order_changes",
    target=[tiktok_shop_orders],
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every INTRADAY_INTERVAL_MINUTES, for each brand with TikTok Shop configured: its orders "
    "updated since the last read; re-reads each one's creation day (the brand's calendar).",
)
def tiktok_shop_order_changes(context: dg.SensorEvaluationContext, tiktok_shop: TikTokShopResource):
    cfg = settings.load()
    brands = [b for b in brand_settings.load() if "tiktok_shop" in b.vendors]
    missing = {b.id: b.vendor("tiktok_shop").missing() for b in brands}
    configured = [b for b in brands if not missing[b.id]]
    if not configured:
        why = "; ".join(f"{b}: set {', '.join(m)}" for b, m in missing.items())
        return dg.SkipReason(f"TikTok Shop is not configured ({why})")
    cursor = read_cursor(context.cursor, brand_settings.load().default.id)
    until = now()
    interval = timedelta(minutes=cfg.intraday_interval_minutes)
    requests, waiting = [], []
    for brand in configured:
        start = datetime.fromisoformat(cursor[brand.id]) if brand.id in cursor else until - interval
        if until - start < interval:
            waiting.append(f"{brand.id} after {(start + interval).isoformat(timespec='seconds')}")
            continue
        # whole seconds, as TikTok filters: a change in the current second is read by the next tick
        end = min(until, start + MAX_WINDOW).replace(microsecond=0)
        with for_brand(tiktok_shop, brand, "tiktok_shop").client() as client:
            today = until.astimezone(brand.tz).date().isoformat()
            days = changed_days(client, start, end, today, brand.tz)
        stamp = end.isoformat(timespec="seconds")
        context.log.info(f"{brand.id}: orders updated {start:%Y-%m-%d %H:%M}..{end:%H:%M}: {dict(days)}")
        cursor[brand.id] = end.isoformat()
        requests += [
            dg.RunRequest(
                run_key=f"order_changes:{brand.id}:{day}:{stamp}",
                partition_key=brand_day_key(brand.id, day),
                tags={"refresh": "order_changes", "changed_orders": str(count), "brand": brand.id},
            )
            for day, count in sorted(days.items())
        ]
    if len(waiting) == len(configured):
        return dg.SkipReason(f"next read: {'; '.join(waiting)}")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))
