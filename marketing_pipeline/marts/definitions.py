"""Dagster definitions of the core model and marts: assets, checks, jobs and their schedules.

``marts_refresh`` rebuilds the unpartitioned core and marts after the daily ingest (00:15 brand
time); ``customer_segments_daily`` then writes yesterday's segment snapshot.
"""

import dagster as dg

from marketing_pipeline.marts import assets, checks, predictions_assets
from marketing_pipeline.partitions import daily_partitions

marts_refresh = dg.define_asset_job(
    "marts_refresh",
    selection=dg.AssetSelection.assets(*assets.UNPARTITIONED),
    description="Rebuild core.* and marts.* (except the daily segment snapshots) with their checks.",
)

segments_job = dg.define_asset_job(
    "customer_segments_daily",
    selection=dg.AssetSelection.assets(assets.customer_segments),
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
    assets=[*assets.UNPARTITIONED, assets.customer_segments, predictions_assets.customer_predictions],
    asset_checks=[*checks.CHECKS, predictions_assets.customer_predictions_fit_ok],
    jobs=[marts_refresh, segments_job, predictions_assets.predictions_job],
    schedules=[marts_schedule, segments_schedule, predictions_assets.predictions_schedule],
)
