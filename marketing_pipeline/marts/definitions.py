"""Dagster definitions of the core model and marts: assets, checks, jobs and their schedules.

``marts_refresh`` rebuilds the unpartitioned core and marts after the daily ingest (00:15 brand
time); ``customer_segments_daily`` then writes yesterday's segment snapshot.

Both run in process: their steps are SQL statements that PostgreSQL executes one after another
(each step depends on the previous ones), so a process per step would only add start-up time (most
of the wall time on a small machine) without adding parallelism.
"""

import dagster as dg

from marketing_pipeline.marts import assets, checks
from marketing_pipeline.partitions import daily_partitions

marts_refresh = dg.define_asset_job(
    "marts_refresh",
    selection=dg.AssetSelection.assets(*assets.UNPARTITIONED),
    executor_def=dg.in_process_executor,
    description="Rebuild core.* and marts.* (except the daily segment snapshots) with their checks.",
)

segments_job = dg.define_asset_job(
    "customer_segments_daily",
    selection=dg.AssetSelection.assets(assets.customer_segments),
    executor_def=dg.in_process_executor,
    description="Segment snapshot as of the partition's day.",
)

marts_schedule = dg.ScheduleDefinition(
    name="marts_refresh_schedule",
    job=marts_refresh,
    cron_schedule="0 2 * * *",
    execution_timezone=daily_partitions.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="After the daily ingest (00:15) has had time to finish its lookback days.",
)

segments_schedule = dg.build_schedule_from_partitioned_job(
    segments_job,
    hour_of_day=3,
    name="customer_segments_daily_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[*assets.UNPARTITIONED, assets.customer_segments],
    asset_checks=checks.CHECKS,
    jobs=[marts_refresh, segments_job],
    schedules=[marts_schedule, segments_schedule],
)
