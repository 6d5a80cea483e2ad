"""The daily refresh: after midnight brand time, re-read the last LOOKBACK_DAYS partitions.

Vendors revise recent days (order statuses, attribution, GA4 processing), so yesterday alone
is not enough. One run per partition keeps each day's status visible in the UI.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.partitions import daily_partitions
from marketing_pipeline.settings import vendors


def lookback_keys(today: date, lookback_days: int) -> list[str]:
    """Yesterday and the days before it, newest first, within the partition range."""
    keys = [(today - timedelta(days=i)).isoformat() for i in range(1, lookback_days + 1)]
    return [k for k in keys if daily_partitions.has_partition_key(k)]


def configured_selection(
    context: dg.ScheduleEvaluationContext, selection: dg.AssetSelection
) -> tuple[list[dg.AssetKey] | None, dict[str, list[str]]]:
    """The assets of ``selection`` whose vendor is configured (None: all of them), and the vendors
    left out with their missing variables."""
    unconfigured = vendors.unconfigured()
    if not unconfigured:
        return None, {}
    graph = context.repository_def.asset_graph
    keys = [
        key
        for key in selection.resolve(graph)
        if (vendor := vendors.vendor_of(graph.get(key).assets_def)) is None or vendor.key not in unconfigured
    ]
    return sorted(keys), unconfigured


def build_lookback_schedule(
    job: dg.UnresolvedAssetJobDefinition, cron: str = "15 0 * * *"
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone=daily_partitions.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily refresh of the last LOOKBACK_DAYS partitions (default 7), of the vendors "
        "that are configured.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        keys, skipped = configured_selection(context, job.selection)
        reason = "; ".join(f"{v} not configured (set {', '.join(m)})" for v, m in sorted(skipped.items()))
        if keys == []:
            return dg.SkipReason(f"no source is configured: {reason}")
        if reason:
            context.log.info(f"left out: {reason}")
        today = context.scheduled_execution_time.astimezone(settings.load().tz).date()
        tick = today.isoformat()
        tags = {"refresh": "lookback"} | ({"unconfigured": ", ".join(sorted(skipped))} if skipped else {})
        return [
            dg.RunRequest(run_key=f"{key}@{tick}", partition_key=key, tags=tags, asset_selection=keys)
            for key in lookback_keys(today, settings.load().lookback_days)
        ]

    return _schedule
