"""The daily refresh: after midnight in each brand's own time zone, re-read its last LOOKBACK_DAYS days.

Vendors revise recent days (order statuses, attribution, GA4 processing), so yesterday alone
is not enough. One run per brand and day keeps each day's status visible in the UI.

One schedule per brand (``daily_ingest_<brand>_schedule``; a deployment without a brands file keeps
``daily_ingest_schedule``; brands that use different vendors also get one per other ingestion job,
``daily_ingest_for_<brands>_<brand>_schedule``, as a Dagster schedule runs one job): each ticks at 00:15 on its brand's clock, so a brand's day is re-read
when it has ended there, and the UI shows per brand when it last ran, what it skipped and why, and
lets one brand's refresh be stopped alone. Each requests only the vendors that brand uses and has
configured (its own variables).
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.brand_partitions import DAY, brand_day_key, build_brand_day_partitions
from marketing_pipeline.ingest import JOB_BRANDS_KEY, brands_of
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.settings.vendors import vendor_of

LOOKBACK_CRON = "15 0 * * *"


def lookback_days(today: date, lookback_days: int) -> list[date]:
    """Yesterday and the days before it, newest first, within the partition range."""
    days = build_brand_day_partitions().get_partitions_def_for_dimension(DAY)
    wanted = [today - timedelta(days=i) for i in range(1, lookback_days + 1)]
    return [d for d in wanted if days.has_partition_key(d.isoformat())]


def lookback_keys(brand: Brand, today: date, lookback: int) -> list[dg.MultiPartitionKey]:
    """The brand's partitions of its last ``lookback`` days before ``today`` (its local date)."""
    return [brand_day_key(brand.id, d) for d in lookback_days(today, lookback)]


def brand_selection(
    graph, selection: dg.AssetSelection, brand: Brand
) -> tuple[list[dg.AssetKey], dict[str, list[str]]]:
    """The assets of ``selection`` the brand uses whose vendor it has configured, and the vendors it
    uses but has not configured, with their missing variables (the brand's own names)."""
    keys, skipped = [], {}
    for key in selection.resolve(graph):
        assets_def = graph.get(key).assets_def
        vendor = vendor_of(assets_def)
        if brand.id not in brands_of(assets_def.partitions_def):
            continue  # a vendor the brand does not use: it has no partitions there
        if vendor is not None and (missing := brand.vendor(vendor.key).missing()):
            skipped[vendor.key] = missing
            continue
        keys.append(key)
    return sorted(keys), skipped


def schedule_name(job_name: str, brand: Brand, brands: brand_settings.Brands) -> str:
    return f"{job_name}_schedule" if brands.source is None else f"{job_name}_{brand.id}_schedule"


def build_lookback_schedules(jobs: list[dg.UnresolvedAssetJobDefinition]) -> list[dg.ScheduleDefinition]:
    """A lookback schedule per brand and ingestion job that has the brand's partitions
    (``ingest.ingest_jobs``: one job unless brands use different vendors)."""
    brands = brand_settings.load()
    return [
        build_lookback_schedule(job, brand, schedule_name(job.name, brand, brands))
        for job in jobs
        for brand in brands
        if brand.id in job_brands(job)
    ]


def job_brands(job: dg.UnresolvedAssetJobDefinition) -> tuple[str, ...]:
    return tuple(job.metadata.get(JOB_BRANDS_KEY, {}).get("brands", ()))


def build_lookback_schedule(
    job: dg.UnresolvedAssetJobDefinition, brand: Brand, name: str, cron: str = LOOKBACK_CRON
) -> dg.ScheduleDefinition:
    brand_id = brand.id

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=brand.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags={"brand": brand_id},
        description=f"{brand.name or brand_id}: daily refresh of the last LOOKBACK_DAYS days (default 7) "
        f"at 00:15 {brand.timezone}, of the vendors the brand uses and has configured.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        brand = brand_settings.load().get(brand_id)
        keys, skipped = brand_selection(context.repository_def.asset_graph, job.selection, brand)
        reason = "; ".join(f"{v} not configured (set {', '.join(m)})" for v, m in sorted(skipped.items()))
        if not keys:
            return dg.SkipReason(f"{brand_id}: no source is configured" + (f": {reason}" if reason else ""))
        if reason:
            context.log.info(f"{brand_id}: left out: {reason}")
        today = context.scheduled_execution_time.astimezone(brand.tz).date()
        tick = today.isoformat()
        tags = {"refresh": "lookback", "brand": brand_id}
        tags |= {"unconfigured": ", ".join(sorted(skipped))} if skipped else {}
        return [
            dg.RunRequest(run_key=f"{key}@{tick}", partition_key=key, tags=tags, asset_selection=keys)
            for key in lookback_keys(brand, today, settings.load().lookback_days)
        ]

    return _schedule
