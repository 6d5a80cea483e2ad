"""The daily refresh: after midnight brand time, re-read the last LOOKBACK_DAYS partitions.

Vendors revise recent days (order statuses, attribution, GA4 processing), so yesterday alone
is not enough. One run per partition keeps each day's status visible in the UI. Assets of a
vendor without credentials are left out of the runs, and the tick says which were skipped.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.automation.conditions import configured
from marketing_pipeline.automation.policy import vendor_of
from marketing_pipeline.partitions import daily_partitions


def lookback_keys(today: date, lookback_days: int) -> list[str]:
    """Yesterday and the days before it, newest first, within the partition range."""
    keys = [(today - timedelta(days=i)).isoformat() for i in range(1, lookback_days + 1)]
    return [k for k in keys if daily_partitions.has_partition_key(k)]


def configured_selection(repo: dg.RepositoryDefinition, job_name: str) -> tuple[list[dg.AssetKey], list[str]]:
    """The job's assets whose vendor is configured, and the vendors left out."""
    keys, skipped = [], set()
    for key in sorted(repo.get_job(job_name).asset_layer.selected_asset_keys):
        vendor = vendor_of(repo.assets_defs_by_key[key])
        if vendor is None or configured(vendor):
            keys.append(key)
        else:
            skipped.add(vendor.vendor)
    return keys, sorted(skipped)


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
        selection, skipped = configured_selection(context.repository_def, job.name)
        if not selection:
            yield dg.SkipReason(f"no vendor configured (skipped: {', '.join(skipped)})")
            return
        if skipped:
            context.log.info(f"not configured, skipped: {', '.join(skipped)}")
        for key in lookback_keys(today, settings.load().lookback_days):
            yield dg.RunRequest(
                run_key=f"{key}@{tick}",
                partition_key=key,
                asset_selection=selection if skipped else None,
                tags={"refresh": "lookback", **({"skipped_vendors": ",".join(skipped)} if skipped else {})},
            )

    return _schedule
