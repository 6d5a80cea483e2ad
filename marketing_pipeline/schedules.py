"""The daily refresh: after midnight brand time, re-read the last LOOKBACK_DAYS partitions.

Vendors revise recent days (order statuses, attribution, GA4 processing), so yesterday alone
is not enough. One run per partition keeps each day's status visible in the UI.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.partitions import daily_partitions


def lookback_keys(today: date, lookback_days: int) -> list[str]:
    """Yesterday and the days before it, newest first, within the partition range."""
    keys = [(today - timedelta(days=i)).isoformat() for i in range(1, lookback_days + 1)]
    return [k for k in keys if daily_partitions.has_partition_key(k)]


def build_lookback_schedule(
    job: dg.UnresolvedAssetJobDefinition, cron: str = "15 0 * * *"
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone=daily_partitions.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily refresh of the last LOOKBACK_DAYS partitions (default 7).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        today = context.scheduled_execution_time.astimezone(settings.load().tz).date()
        tick = today.isoformat()
        for key in lookback_keys(today, settings.load().lookback_days):
            yield dg.RunRequest(run_key=f"{key}@{tick}", partition_key=key, tags={"refresh": "lookback"})

    return _schedule
