"""Stale sources, per brand: a freshness check per intraday source, run every ten minutes.

A source is stale for a brand when its last load for that brand is older than three intraday
intervals (at least three hours). A brand's loads are the materializations of its partitions
(``<brand>|<day>`` keys of a brand × day source; every load of a source still partitioned by day
only belongs to the default brand, whose warehouse it fills). Only brands that use the source's
vendor and whose own variables configure it are checked, so a brand without Customer.io or with
Klaviyo not yet set up is never called stale. One evaluation per source names every stale brand;
a failing check is posted by ``alert_on_failed_checks``.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from marketing_pipeline import clock, settings
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand

SOURCES = ["tiktok_shop_orders", "klaviyo_events", "customerio_deliveries"]
VENDOR = {
    "tiktok_shop_orders": "tiktok_shop",
    "klaviyo_events": "klaviyo",
    "customerio_deliveries": "customerio",
}
RECENT_DAYS = 3  # a brand's partitions looked at: the intraday refresh writes today's
CHECK_NAME = "freshness_check"


def bound() -> timedelta:
    return max(timedelta(hours=3), timedelta(minutes=3 * settings.load().intraday_interval_minutes))


def last_load(instance: dg.DagsterInstance, key: dg.AssetKey, brand: Brand, now: datetime) -> datetime | None:
    """When the source was last loaded for ``brand``, from Dagster's materializations."""
    today = now.date()
    days = [(today - timedelta(days=d)).isoformat() for d in range(-1, RECENT_DAYS)]
    own = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[f"{brand.id}|{d}" for d in days])
    times = [r.timestamp for r in instance.fetch_materializations(own, limit=1).records]
    if brand.is_default:
        # a source partitioned by day only (or not at all) loads the default brand's warehouse
        recent = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=50).records
        times += [next((r.timestamp for r in recent if "|" not in (r.partition_key or "")), 0.0)]
    latest = max(times, default=0.0)
    return datetime.fromtimestamp(latest, UTC) if latest else None


def _check(source: str) -> dg.AssetChecksDefinition:
    vendor = VENDOR[source]

    spec = dg.AssetCheckSpec(
        CHECK_NAME,
        asset=dg.AssetKey(source),
        blocking=False,
        description=f"Each brand that uses {vendor} loaded {source} within the last three intraday "
        "intervals (at least three hours).",
    )

    # one op per check, named as Dagster names its freshness checks' (freshness_check_…)
    @dg.multi_asset_check(name=f"freshness_check_{source}", specs=[spec])
    def _freshness(context: dg.AssetCheckExecutionContext):
        now, limit = clock.now(), bound()
        stale, fresh, unconfigured = {}, [], []
        for brand in brand_settings.load():
            if vendor not in brand.vendors:
                continue
            if not brand.vendor(vendor).configured():
                unconfigured.append(brand.id)
                continue
            last = last_load(context.instance, dg.AssetKey(source), brand, now)
            if last is None or now - last > limit:
                stale[brand.id] = last.isoformat(timespec="minutes") if last else "never"
            else:
                fresh.append(brand.id)
        names = ", ".join(f"{b} (last load {t})" for b, t in sorted(stale.items()))
        yield dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=CHECK_NAME,
            passed=not stale,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"stale for {names}" if stale else None,
            metadata={
                "stale_brands": dg.MetadataValue.text(",".join(sorted(stale)) or "-"),
                "fresh_brands": dg.MetadataValue.text(",".join(sorted(fresh)) or "-"),
                "not_configured": dg.MetadataValue.text(",".join(sorted(unconfigured)) or "-"),
                "lower_bound_minutes": dg.MetadataValue.int(int(limit.total_seconds() // 60)),
            },
        )

    return _freshness


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    return [_check(source) for source in SOURCES]


def freshness_schedule(checks: list[dg.AssetChecksDefinition]) -> dg.ScheduleDefinition:
    job = dg.define_asset_job(
        "freshness_checks_job",
        selection=dg.AssetSelection.checks(*checks),
        description="Every brand's intraday sources checked for staleness.",
    )
    return dg.ScheduleDefinition(
        name="freshness_checks_schedule",
        job=job,
        cron_schedule="*/10 * * * *",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every ten minutes: the freshness checks of every brand's intraday sources.",
    )
